//! The host terminal for the console device: raw mode while the system runs, restored on every
//! way out (normal exit, panic, Ctrl-C).
//!
//! In raw mode the terminal neither echoes nor edits lines nor turns Ctrl-C into a signal: every
//! key reaches the console's READ replies as bytes, as a keyboard driver delivers them on a real
//! machine; programs echo and edit themselves. Output processing stays on (`\n` still starts a new
//! line). Ctrl-C (byte 0x03) at the host terminal shuts the whole system down: the stub restores
//! the terminal and exits with status 130; the guests, which die with their supervisor, go too.
//! When stdin is no terminal (a pipe, a file) nothing changes and the end of the input is EOF.

use std::io::Read;
use std::sync::Mutex;

/// The terminal settings to restore, while raw mode is on.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Raw mode on stdin while this lives (if stdin is a terminal).
pub struct RawMode {
    _private: (),
}

impl RawMode {
    /// Switches the terminal on stdin to raw mode, if it is one, and arranges for a panic to
    /// restore it.
    pub fn enable() -> RawMode {
        // Safety: isatty/tcgetattr/tcsetattr on fd 0 with a local termios.
        unsafe {
            if libc::isatty(0) == 1 {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut t) == 0 {
                    let saved = t;
                    t.c_iflag &= !(libc::IGNBRK
                        | libc::BRKINT
                        | libc::PARMRK
                        | libc::ISTRIP
                        | libc::INLCR
                        | libc::IGNCR
                        | libc::ICRNL
                        | libc::IXON);
                    t.c_lflag &=
                        !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
                    t.c_cflag |= libc::CS8;
                    t.c_cc[libc::VMIN] = 1;
                    t.c_cc[libc::VTIME] = 0;
                    if libc::tcsetattr(0, libc::TCSAFLUSH, &t) == 0 {
                        *SAVED.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved);
                        let previous = std::panic::take_hook();
                        std::panic::set_hook(Box::new(move |info| {
                            restore();
                            previous(info)
                        }));
                    }
                }
            }
        }
        RawMode { _private: () }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was (idempotent).
pub fn restore() {
    if let Some(t) = SAVED.lock().unwrap_or_else(|e| e.into_inner()).take() {
        // Safety: restores settings read from the same descriptor.
        unsafe { libc::tcsetattr(0, libc::TCSAFLUSH, &t) };
    }
}

/// The byte Ctrl-C sends in raw mode.
pub const CTRL_C: u8 = 0x03;

/// Stdin for the console: in raw mode, Ctrl-C ends the whole system (terminal restored, status
/// 130).
pub struct Keyboard<R> {
    inner: R,
}

impl<R: Read> Keyboard<R> {
    pub fn new(inner: R) -> Self {
        Keyboard { inner }
    }
}

impl<R: Read> Read for Keyboard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let raw = SAVED.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        if raw && buf[..n].contains(&CTRL_C) {
            restore();
            eprintln!("\r\neurali: Ctrl-C: system shut down");
            std::process::exit(130);
        }
        Ok(n)
    }
}

/// The host's stdin for a console's key reader: a read waits for input a twentieth of a second
/// at a time and makes a `yield` between the waits, so that a system shutting down ends the
/// reader there (the stub ends a thread at its next system call) instead of waiting for a key
/// that never comes: `eurali -c 'echo hi'` at a terminal exits at once, not after the stub's
/// ten seconds of waiting for a thread blocked in a host read.
pub struct HostStdin;

impl Read for HostStdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut fd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd on the stack, for the call.
            let n = unsafe { libc::poll(&mut fd, 1, 50) };
            if n > 0
                || (n < 0
                    && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted)
            {
                // Input, its end or an error: the read says which.
                return std::io::stdin().read(buf);
            }
            libeurali::yield_now();
        }
    }
}
