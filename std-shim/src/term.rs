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
