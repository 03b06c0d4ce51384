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

use std::io::{self, BufRead};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

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
/// # Errors
///
/// This function always returns Ok(...). The return type is a Result for compatibility with
/// other platforms.
pub fn stdin() -> io::Result<impl BufRead> {
    Ok(Keys(io::stdin().lock()))
}

/// Standard input for kibi: its end is an error (see [`stdin`]).
struct Keys(io::StdinLock<'static>);

fn end_of_input() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "end of the terminal's input")
}

impl io::Read for Keys {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 if !buf.is_empty() => Err(end_of_input()),
            n => Ok(n),
        }
    }
}

impl BufRead for Keys {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let available = self.0.fill_buf()?;
        if available.is_empty() {
            Err(end_of_input())
        } else {
            Ok(available)
        }
    }
    fn consume(&mut self, amt: usize) {
        self.0.consume(amt)
    }
}

/// The path of a file named on the command line (relative names are resolved by the file system
/// against the working directory).
pub fn path(filename: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(filename)
}
