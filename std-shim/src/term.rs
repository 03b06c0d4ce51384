//! The terminal behind standard input (eurali extension; std has no equivalent): whether there
//! is one, its size, and raw/cooked mode (see `libeurali::proto::stream`'s terminal control).

use libeurali::proto::stream;

pub use stream::TermInfo;

use crate::io;

/// The terminal standard input reads from, or `None` if it is a pipe, a file or nothing.
pub fn stdin_terminal() -> Option<TermInfo> {
    let h = crate::rt::stdin_handle()?;
    stream::term_info(&h)
}

/// Switches the terminal behind standard input to raw (keys as they come, no echo) or cooked
/// (echoed, edited lines) mode.
pub fn set_stdin_raw(raw: bool) -> io::Result<()> {
    let h = crate::rt::stdin_handle().ok_or(io::Error::const_msg(
        io::ErrorKind::Unsupported,
        "no standard input",
    ))?;
    stream::set_raw(&h, raw).map_err(io::Error::from)
}

/// Interrupts (Ctrl-C) typed at the terminal behind standard input, as a receiver (eurali's
/// stand-in for SIGINT; see `libeurali::proto::stream`).
pub struct Interrupts {
    rx: libeurali::Handle,
    /// A second reference, kept so that [`Interrupts::wake`] can end a blocked [`Interrupts::wait`].
    spare: libeurali::Handle,
}

impl Interrupts {
    /// Subscribes to the terminal's interrupts; `Err` if standard input is not a terminal.
    pub fn subscribe() -> io::Result<Interrupts> {
        let h = crate::rt::stdin_handle().ok_or(io::Error::const_msg(
            io::ErrorKind::Unsupported,
            "no standard input",
        ))?;
        let (rx, tx) = libeurali::new_rendezvous()?;
        let spare = rx.try_clone()?;
        stream::subscribe_interrupts(&h, tx).map_err(io::Error::from)?;
        Ok(Interrupts { rx, spare })
    }

    /// Blocks until Ctrl-C is typed (`true`) or [`Interrupts::wake`] is called or the terminal
    /// is gone (`false`).
    pub fn wait(&self) -> bool {
        loop {
            match libeurali::receive(&self.rx) {
                Ok(libeurali::Message::Short(stream::TERM_INTERRUPT, _, _)) => return true,
                Ok(libeurali::Message::Short(libeurali::msgtype::CONTROL_END, _, _)) => {
                    return false;
                }
                Ok(_) => {}
                Err(libeurali::Error::RecvBlocking) => {
                    let _ = libeurali::send(
                        &self.rx,
                        libeurali::Message::Short(libeurali::msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0),
                    );
                }
                Err(_) => return false,
            }
        }
    }

    /// Ends a [`Interrupts::wait`] blocked on another thread (it returns `false`).
    pub fn wake(&self) {
        let _ = libeurali::call_send(
            &self.spare,
            libeurali::Message::Short(libeurali::msgtype::CONTROL_END, 0, 0),
        );
    }
}

/// Reads a line without showing it (a password): at a terminal, in raw mode for the time of
/// the line, with Backspace and Ctrl-U editing it, Enter ending it, Ctrl-D on an empty line
/// ending the input and Ctrl-C abandoning the line (an `Interrupted` error); the terminal's mode
/// is restored and a line end printed. Without a terminal (a pipe, a script), one line as
/// [`crate::io::Stdin::read_line_unbuffered`] reads it. Never reads past the line. `None` at the
/// end of the input; the line comes without its line end.
pub fn read_password() -> io::Result<Option<alloc::string::String>> {
    match read_password_bounded(usize::MAX - 1)? {
        None => Ok(None),
        Some(line) => Ok(Some(alloc::string::String::from_utf8(line)?)),
    }
}

/// [`read_password`] for any bytes, keeping at most `max + 1` of a longer line (as
/// [`crate::io::Stdin::read_line_bounded`]: `len() > max` tells the line was too long).
pub fn read_password_bounded(max: usize) -> io::Result<Option<alloc::vec::Vec<u8>>> {
    let Some(info) = stdin_terminal() else {
        return crate::io::stdin().read_line_bounded(max);
    };
    let _ = crate::rt::stdout_flush();
    if !info.raw {
        set_stdin_raw(true)?;
    }
    let mut line = alloc::vec::Vec::new();
    let result = loop {
        match crate::rt::stdin_byte_unbuffered() {
            Ok(None) => break Ok(None),
            Ok(Some(b'\r' | b'\n')) => break Ok(Some(())),
            Ok(Some(0x7F | 0x08)) => {
                // One character back (UTF-8: its continuation bytes too).
                while let Some(b) = line.pop() {
                    if b & 0xC0 != 0x80 {
                        break;
                    }
                }
            }
            Ok(Some(0x15)) => line.clear(),
            Ok(Some(0x03)) => {
                break Err(io::Error::const_msg(
                    io::ErrorKind::Interrupted,
                    "interrupted",
                ));
            }
            Ok(Some(0x04)) if line.is_empty() => break Ok(None),
            Ok(Some(b)) if b >= 0x20 || b == b'\t' => {
                if line.len() <= max {
                    line.push(b);
                }
            }
            Ok(Some(_)) => {}
            Err(e) => break Err(e),
        }
    };
    if !info.raw {
        let _ = set_stdin_raw(false);
    }
    let _ = crate::rt::stdout_write(b"\n");
    let _ = crate::rt::stdout_flush();
    Ok(result?.map(|()| line))
}
