//! The console on the host: stream servers bound to the host's stdin, stdout and stderr.
//!
//! Output: each `WRITE` is written to the host sink and flushed, then answered `OK`.
//! Input: each `READ` reads once from the host source (a line at a time from a terminal in its
//! normal mode; whatever is there from a pipe) and answers `DATA`; at the end of the host input
//! every later `READ` is answered `EOF`. A request of the wrong direction or of an unknown type
//! gets an error reply and the server goes on. A server ends when its rendezvous fails (the
//! system shuts down).

use std::io::{Read, Write};

use libeurali::proto::stream::{self, Request};
use libeurali::{Error, Handle, receive, send};

/// Serves writes on `h` into `sink` until the rendezvous fails.
pub fn serve_output(h: &Handle, mut sink: impl Write) {
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::parse_request(m) {
            Request::Write(chunk) => {
                let data = chunk.as_slice();
                match sink.write_all(data).and_then(|_| sink.flush()) {
                    Ok(()) => stream::written_reply(data.len(), chunk),
                    Err(_) => stream::error_reply(Error::Closed),
                }
            }
            Request::Read(_) => stream::error_reply(Error::NotImplemented),
            Request::Unknown(_) => stream::unknown_reply(),
        };
        if send(h, reply).is_err() {
            // The requester is gone (it was woken by a close); nothing to do but go on.
        }
    }
}

/// Serves reads on `h` from `source` until the rendezvous fails.
pub fn serve_input(h: &Handle, mut source: impl Read) {
    let mut at_end = false;
    let mut buf = vec![0u8; stream::MAX_TRANSFER];
    loop {
        let Ok(m) = receive(h) else { return };
        // No process pool here (a host device has no runtime): a READ's lent chunk carries the
        // reply, as a real driver's pool would have it do.
        let (request, lent) = stream::parse_request_lent(m);
        let reply = match request {
            Request::Read(max) => {
                let n = if at_end {
                    0
                } else {
                    loop {
                        match source.read(&mut buf[..max]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(_) => break 0,
                        }
                    }
                };
                if n == 0 {
                    at_end = true;
                    Ok(stream::eof_reply())
                } else {
                    stream::data_reply_in(lent, &buf[..n])
                }
            }
            Request::Write(_) => Ok(stream::error_reply(Error::NotImplemented)),
            Request::Unknown(_) => Ok(stream::unknown_reply()),
        };
        let reply = reply.unwrap_or_else(stream::error_reply);
        let _ = send(h, reply);
    }
}

/// A writer shared by the console's output server and its echo.
#[derive(Clone)]
pub struct SharedSink(pub std::sync::Arc<std::sync::Mutex<Box<dyn Write + Send>>>);

impl SharedSink {
    pub fn new(w: Box<dyn Write + Send>) -> SharedSink {
        SharedSink(std::sync::Arc::new(std::sync::Mutex::new(w)))
    }
}

impl Write for SharedSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// The console's line discipline, the same as the real kernel's console driver has.
pub use libeurali::tty::LineDiscipline;

/// The host terminal's size (rows, cols), or 24x80.
fn window_size() -> (u16, u16) {
    // Safety: TIOCGWINSZ fills a local winsize.
    unsafe {
        let mut w: libc::winsize = std::mem::zeroed();
        if libc::ioctl(1, libc::TIOCGWINSZ, &mut w) == 0 && w.ws_row > 0 && w.ws_col > 0 {
            return (w.ws_row, w.ws_col);
        }
    }
    (24, 80)
}

/// What the terminal's key reader and its server share.
#[derive(Default)]
struct TermState {
    ld: LineDiscipline,
    /// The host input ended.
    at_end: bool,
    /// Counts Ctrl-C interrupts: a READ waiting when it changes is answered INTERRUPTED.
    interrupts: u64,
    /// Handles subscribed to interrupts (TERM_NOTIFY), at most `stream::MAX_SUBSCRIBERS`.
    subscribers: Vec<Handle>,
    /// READs waiting for input now.
    readers: usize,
    /// Counts changes to the input (keys taken, the end): what a waiting READ waits for.
    changes: u64,
}

type Shared = std::sync::Arc<(std::sync::Mutex<TermState>, std::sync::Condvar)>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, TermState> {
    s.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// The host terminal as the stream protocol's terminal loop drives it.
struct HostTerminal {
    shared: Shared,
    /// `TermState::changes` at the last look.
    seen: u64,
}

impl stream::TerminalInput for HostTerminal {
    fn info(&mut self) -> stream::TermInfo {
        let (rows, cols) = window_size();
        stream::TermInfo {
            raw: lock(&self.shared).ld.raw(),
            rows,
            cols,
        }
    }

    fn set_raw(&mut self, raw: bool) {
        lock(&self.shared).ld.set_raw(raw);
        self.shared.1.notify_all();
    }

    fn subscribe(&mut self, h: Handle) {
        stream::add_subscriber(&mut lock(&self.shared).subscribers, h);
        self.shared.1.notify_all();
    }

    fn begin_read(&mut self) -> u64 {
        let mut st = lock(&self.shared);
        st.readers += 1;
        self.shared.1.notify_all();
        st.interrupts
    }

    fn end_read(&mut self) {
        lock(&self.shared).readers -= 1;
    }

    fn look<R>(&mut self, f: impl FnOnce(stream::InputState<'_>) -> R) -> R {
        let mut st = lock(&self.shared);
        self.seen = st.changes;
        let st = &mut *st;
        f(stream::InputState {
            ld: &mut st.ld,
            interrupts: st.interrupts,
            at_end: st.at_end,
        })
    }

    fn wait(&mut self) {
        let mut st = lock(&self.shared);
        while st.changes == self.seen {
            st = self.shared.1.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Serves a terminal's input on `h`: the host terminal is in raw mode and `echo` is its output;
/// cooked or raw as programs ask (see [`LineDiscipline`]). Keys are read all the time by a
/// reader thread (so that Ctrl-C is seen while nobody reads); in cooked mode Ctrl-C answers the
/// waiting READ with INTERRUPTED and notifies the newest subscriber (`TERM_NOTIFY`, the shell
/// started last: `stream::interrupt_newest`). With
/// no subscriber left, Ctrl-C shuts the system down if `orphan_stops` (a program started
/// alone, `cargo run -- PROGRAM`: what else could stop it?); a whole system (init, login)
/// stays up, as on the real kernel, where no key stops the machine. The protocol is
/// `libeurali::proto::stream`'s terminal loop.
pub fn serve_terminal_input(
    h: &Handle,
    source: impl Read + Send + 'static,
    echo: impl Write + Send + 'static,
    orphan_stops: bool,
) {
    let shared: Shared = Default::default();
    let reader = shared.clone();
    let keys = move || read_keys(reader, source, echo, orphan_stops);
    if crate::boot::spawn_stub_thread(keys).is_err() {
        return;
    }
    stream::serve_terminal_input(h, &mut HostTerminal { shared, seen: 0 });
}

/// The key reader: feeds the line discipline, echoes, and delivers interrupts. It reads the
/// host while a READ waits or someone (a shell) listens for Ctrl-C: keys typed ahead with
/// nobody at the terminal are left for the program that reads next, in the mode it chooses
/// (a password typed before the prompt switched to raw mode is not echoed).
fn read_keys(shared: Shared, mut source: impl Read, mut echo: impl Write, orphan_stops: bool) {
    let mut buf = vec![0u8; 4096];
    loop {
        {
            let mut st = lock(&shared);
            while st.readers == 0 && st.subscribers.is_empty() {
                // A while at a time, with a `yield` between: a system shutting down ends this
                // thread at its next system call rather than waiting for it.
                st = shared
                    .1
                    .wait_timeout(st, std::time::Duration::from_millis(50))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                drop(st);
                libeurali::yield_now();
                st = lock(&shared);
            }
        }
        let n = match source.read(&mut buf) {
            Ok(0) | Err(_) => {
                let mut st = lock(&shared);
                st.at_end = true;
                st.ld.flush_partial();
                st.changes += 1;
                shared.1.notify_all();
                return;
            }
            Ok(n) => n,
        };
        let subscribers = {
            let mut st = lock(&shared);
            let e = st.ld.input(&buf[..n]);
            st.changes += 1;
            // The echo goes out before a reader can take the line (still under the lock), so
            // that it always precedes what the program prints in answer.
            if !e.is_empty() {
                let _ = echo.write_all(&e).and_then(|_| echo.flush());
            }
            if st.ld.take_interrupted() {
                st.interrupts += 1;
                Some(std::mem::take(&mut st.subscribers))
            } else {
                None
            }
        };
        shared.1.notify_all();
        let Some(subs) = subscribers else { continue };
        // Tell the newest subscriber still there (a shell started from another shell gets the
        // interrupt, not the one that started it); keep it and the older ones.
        let (kept, told) = stream::interrupt_newest(subs);
        if !told && orphan_stops {
            crate::devices::terminal::restore();
            eprintln!("\r\neurali: Ctrl-C with no shell to interrupt a job: system shut down");
            std::process::exit(130);
        }
        stream::resubscribe(&mut lock(&shared).subscribers, kept);
    }
}
