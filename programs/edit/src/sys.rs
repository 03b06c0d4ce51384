//! # sys (eurali)
//!
//! kibi keeps all of its access to the operating system in one `sys` module per system (`unix.rs`,
//! `windows.rs`, `wasi.rs` in its source); this is eurali's, written for this port. The terminal
//! is the console behind standard input, driven with the stream protocol's terminal control
//! (`TERM_GET` answers raw/cooked and the size, `TERM_SET` switches raw mode; see
//! `libeurali::proto::stream` and `std::term`).
//!
//! - Window size: the console's `TERM_INFO` rows and columns.
//! - Raw mode: `TERM_SET 1`; the mode to restore is the one `TERM_INFO` reported before.
//! - Resize: eurali has no signals, so the "signal handler" records the size and
//!   [`has_window_size_changed`] asks the console again (kibi calls it before reading each key).
//! - Configuration and data directories: kibi's XDG rules, with eurali's system-wide places as
//!   defaults: `/etc/kibi` and `/etc/public/kibi` (what an ordinary user sees as `/etc/kibi`).

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Error;
pub use crate::xdg::xdg_dirs;

/// The terminal mode to restore: whether the console was in raw mode.
#[derive(Clone, Copy, Debug)]
pub struct TermMode {
    raw: bool,
}

/// Configuration directories: `$XDG_CONFIG_HOME/kibi` (or `$HOME/.config/kibi`), then
/// `$XDG_CONFIG_DIRS` or `/etc/kibi:/etc/public/kibi`.
pub fn conf_dirs() -> Vec<String> {
    xdg_dirs("CONFIG", "/.config", "/etc:/etc/public")
}

/// Data directories (where `syntax.d` is looked for): `$XDG_DATA_HOME/kibi` (or
/// `$HOME/.local/share/kibi`), then `$XDG_DATA_DIRS` or `/etc/kibi:/etc/public/kibi`.
pub fn data_dirs() -> Vec<String> {
    xdg_dirs("DATA", "/.local/share", "/etc:/etc/public")
}

fn not_a_terminal() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "standard input is not a terminal",
    )
}

/// Return the current window size as (rows, columns), from the console.
pub fn get_window_size() -> Result<(usize, usize), Error> {
    match std::term::stdin_terminal() {
        Some(t) if t.rows != 0 && t.cols != 0 => Ok((usize::from(t.rows), usize::from(t.cols))),
        _ => Err(Error::InvalidWindowSize),
    }
}

/// The last window size seen, `rows << 16 | cols` (0: none yet).
static LAST_SIZE: AtomicU32 = AtomicU32::new(0);

fn current_size() -> u32 {
    std::term::stdin_terminal().map_or(0, |t| (u32::from(t.rows) << 16) | u32::from(t.cols))
}

/// Start watching the window size: remember the current one.
pub fn register_winsize_change_signal_handler() -> io::Result<()> {
    LAST_SIZE.store(current_size(), Relaxed);
    Ok(())
}

/// Whether the window size has changed since the last call (or since
/// [`register_winsize_change_signal_handler`]).
pub fn has_window_size_changed() -> bool {
    let now = current_size();
    now != 0 && LAST_SIZE.swap(now, Relaxed) != now
}

/// Set the terminal mode (raw or not).
pub fn set_term_mode(term: &TermMode) -> io::Result<()> {
    std::term::set_stdin_raw(term.raw)
}

/// Switch the console to raw mode and return the mode it was in. Fails when standard input is
/// no terminal (as `tcgetattr` does on Unix).
pub fn enable_raw_mode() -> io::Result<TermMode> {
    let info = std::term::stdin_terminal().ok_or_else(not_a_terminal)?;
    std::term::set_stdin_raw(true)?;
    Ok(TermMode { raw: info.raw })
}

/// Construct and lock a new handle to the standard input of the current process.
///
/// eurali's reads block until a key comes (there is no `VTIME`), so the only empty read is the
/// end of the console's input. kibi would ask again forever; here it is an error instead, which
/// ends kibi (terminal restored, message, status 1).
///
/// kibi tells a lone Esc from the start of an escape sequence by an empty read after the Esc
/// (Unix kibi sets `VTIME` to 0.1 s). [`Keys`] gives that empty read itself: when a read of
/// the console ends with Esc, it waits up to [`ESC_WAIT`] for the rest of a sequence (on a
/// thread of its own, so that the key that comes later is not lost), then reports the Esc as
/// a key. Two Escs in one read (Esc, then an arrow key, sent together) are split likewise.
///
/// # Errors
///
/// This function always returns Ok(...). The return type is a Result for compatibility with
/// other platforms.
pub fn stdin() -> io::Result<impl BufRead> {
    Ok(Keys {
        buf: Vec::new(),
        pos: 0,
        brk: None,
        pending: None,
    })
}

/// How long a read that ended with Esc waits for the rest of an escape sequence (Unix kibi's
/// `VTIME` of one tenth of a second).
pub const ESC_WAIT: Duration = Duration::from_millis(100);

const ESC: u8 = 0x1b;

/// Standard input for kibi: its end is an error (see [`stdin`]), a lone Esc is followed by one
/// empty read.
struct Keys {
    buf: Vec<u8>,
    pos: usize,
    /// Where in `buf` kibi gets one empty read (right after a lone Esc).
    brk: Option<usize>,
    /// The console read that went on after a lone Esc, or its result.
    pending: Option<Pending>,
}

enum Pending {
    Reading(JoinHandle<io::Result<Vec<u8>>>),
    Done(io::Result<Vec<u8>>),
}

fn end_of_input() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "end of the terminal's input")
}

/// One read of the console (what is there, or the next keys).
fn read_console() -> io::Result<Vec<u8>> {
    let mut b = vec![0; 256];
    let n = io::stdin().read(&mut b)?;
    b.truncate(n);
    Ok(b)
}

fn joined(h: JoinHandle<io::Result<Vec<u8>>>) -> io::Result<Vec<u8>> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other("the key reader ended")))
}

impl Keys {
    /// Reads the next keys into `buf` (the read that went on after a lone Esc first).
    fn refill(&mut self) -> io::Result<()> {
        let keys = match self.pending.take() {
            Some(Pending::Reading(h)) => joined(h)?,
            Some(Pending::Done(r)) => r?,
            None => read_console()?,
        };
        if keys.is_empty() {
            return Err(end_of_input());
        }
        self.buf = keys;
        self.pos = 0;
        if self.buf.last() == Some(&ESC) {
            self.wait_after_esc()?;
        }
        Ok(())
    }

    /// `buf` ends with Esc: the rest of a sequence joins it if it comes within [`ESC_WAIT`];
    /// otherwise the Esc is a key and the read goes on, for the next refill.
    fn wait_after_esc(&mut self) -> io::Result<()> {
        let Ok(h) = std::thread::Builder::new()
            .name("keys".into())
            .spawn(read_console)
        else {
            // No thread to spare: wait for the next keys, as without the timeout.
            let more = read_console()?;
            self.buf.extend_from_slice(&more);
            return Ok(());
        };
        let start = Instant::now();
        while !h.is_finished() && start.elapsed() < ESC_WAIT {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !h.is_finished() {
            self.pending = Some(Pending::Reading(h));
            self.brk = Some(self.buf.len());
            return Ok(());
        }
        match joined(h) {
            Ok(more) if !more.is_empty() => self.buf.extend_from_slice(&more),
            r => {
                self.pending = Some(Pending::Done(r));
                self.brk = Some(self.buf.len());
            }
        }
        Ok(())
    }
}

impl io::Read for Keys {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let n = {
            let keys = self.fill_buf()?;
            let n = keys.len().min(out.len());
            out[..n].copy_from_slice(&keys[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Keys {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.brk == Some(self.pos) {
            // Right after a lone Esc: kibi's "no more bytes".
            self.brk = None;
            return Ok(&[]);
        }
        if self.pos >= self.buf.len() {
            self.refill()?;
            if self.brk == Some(self.pos) {
                self.brk = None;
                return Ok(&[]);
            }
        }
        let rest = &self.buf[self.pos..];
        // Esc Esc: the first is a key of its own (Esc, then an arrow key, read together).
        let end = match rest.windows(2).position(|w| w == [ESC, ESC]) {
            Some(i) => {
                let at = self.pos + i + 1;
                if self.brk.is_none_or(|b| b > at) {
                    self.brk = Some(at);
                }
                at
            }
            None => self.brk.unwrap_or(self.buf.len()),
        };
        Ok(&self.buf[self.pos..end.max(self.pos)])
    }
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.buf.len());
    }
}

/// The path of a file named on the command line (relative names are resolved by the file system
/// against the working directory).
pub fn path(filename: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(filename)
}
