//! The console driver's control protocol: how init hands the VGA memory to the console driver
//! (`drivers console`) and gets the streams of each virtual terminal.
//!
//! The control handle is the driver's stdin; init keeps the other handle. Requests are made with
//! `send_receive` ([`crate::rcall`]); each gets one reply.
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Long(VIDEO_MEMORY, 0x20000, chunk)`: the chunk the kernel gave init (ABI §4.1); first, once | `Short(OK, vga, serial)`: terminals `0..vga` are on the screen (Alt+F1..), `vga..vga + serial` on serial lines (0 or 1: COM1); `Short(ERROR, code, 0)` (5 PARAM: not a 128 KiB VGA window) | no |
//! | `Short(CONSOLE_OPEN, n, 0)` | `Long(CONSOLE_STREAMS, input, output)`: two stream handles ([`crate::proto::stream`]) of terminal `n` (0-based; 0 is the system console, for the log, whose output also goes to COM1 until the serial terminal first writes); `Short(ERROR, 7, 0)` (NOT_FOUND) for no such terminal | yes (new handles each time) |
//! | anything else | `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)` | |
//!
//! Clients use [`give_video_memory`] and [`open`]; the driver classifies what it receives with
//! [`parse_request`] and answers with [`ready_reply`], [`streams_reply`] or the shared
//! [`super::error_reply`]/[`super::unknown_reply`].
//!
//! The input stream answers READ and the terminal requests (`TERM_GET`: 25 rows, 80 columns;
//! `TERM_SET`); the output stream answers WRITE. Each is served by its own thread, so a reader
//! waiting for a key never holds up output.

/// Ask for terminal `n`'s streams.
pub const CONSOLE_OPEN: u64 = 0x1200;
/// The reply to [`CONSOLE_OPEN`].
pub const CONSOLE_STREAMS: u64 = 0x1201;
/// The size of the VIDEO_MEMORY chunk (physical 0xA0000..0xBFFFF).
pub const VIDEO_MEMORY_SIZE: u64 = 0x20000;

use crate::error::Error;
use crate::message::{Message, Word, rcall};
use crate::msgtype;
use crate::object::{Handle, MemoryChunk};

/// A request as the console driver sees it, checked against the protocol.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// The VGA window: a chunk of [`VIDEO_MEMORY_SIZE`] bytes (the kernel's message to init has
    /// this shape too, ABI §4.1).
    VideoMemory(MemoryChunk),
    /// Terminal `n`'s streams.
    Open(usize),
    /// Anything else: answer [`super::unknown_reply`] (or, before the video memory, refuse).
    Unknown(Message),
}

/// Server side (and init, for the kernel's message): classifies a received message. Never
/// panics.
pub fn parse_request(m: Message) -> Request {
    match m {
        Message::Long(msgtype::VIDEO_MEMORY, Word::Value(VIDEO_MEMORY_SIZE), Word::Chunk(c)) => {
            Request::VideoMemory(c)
        }
        Message::Short(CONSOLE_OPEN, n, _) => Request::Open(n as usize),
        other => Request::Unknown(other),
    }
}

/// The VIDEO_MEMORY message carrying `chunk` (the kernel sends it to init; init passes it on).
pub fn video_memory_message(chunk: MemoryChunk) -> Message {
    Message::Long(
        msgtype::VIDEO_MEMORY,
        Word::Value(VIDEO_MEMORY_SIZE),
        Word::Chunk(chunk),
    )
}

/// Server side: the reply to VIDEO_MEMORY: `vga` terminals on the screen, then `serial` on
/// serial lines.
pub const fn ready_reply(vga: usize, serial: usize) -> Message {
    Message::Short(msgtype::OK, vga as u64, serial as u64)
}

/// Server side: the reply to [`CONSOLE_OPEN`]: a terminal's input and output streams.
pub fn streams_reply(input: Handle, output: Handle) -> Message {
    Message::Long(CONSOLE_STREAMS, Word::Handle(input), Word::Handle(output))
}

fn error_from(code: u64) -> Error {
    Error::from_code(code.min(255) as u8).unwrap_or(Error::Other(0))
}

/// Client side: hands the console driver behind `control` the video memory; the number of
/// terminals on the screen and on serial lines (`(vga, serial)`).
///
/// # Errors
/// The call's error, the driver's `ERROR` code, or [`Error::Param`] for any other reply.
pub fn give_video_memory(control: &Handle, chunk: MemoryChunk) -> Result<(usize, usize), Error> {
    match rcall(control, video_memory_message(chunk))?.values() {
        (msgtype::OK, vga, serial) => Ok((vga as usize, serial as usize)),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// Client side: terminal `n`'s (input, output) streams.
///
/// # Errors
/// The call's error, the driver's `ERROR` code (7 NOT_FOUND: no such terminal), or
/// [`Error::Param`] for any other reply.
pub fn open(control: &Handle, n: usize) -> Result<(Handle, Handle), Error> {
    match rcall(control, Message::Short(CONSOLE_OPEN, n as u64, 0))? {
        Message::Long(CONSOLE_STREAMS, Word::Handle(i), Word::Handle(o)) => Ok((i, o)),
        Message::Short(msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(
            parse_request(Message::Short(CONSOLE_OPEN, 3, 0)),
            Request::Open(3)
        );
        assert_eq!(ready_reply(2, 1).values(), (msgtype::OK, 2, 1));
        assert!(matches!(
            parse_request(ready_reply(2, 1)),
            Request::Unknown(_)
        ));
        // VIDEO_MEMORY of another size, or without its chunk, is not VIDEO_MEMORY.
        assert!(matches!(
            parse_request(Message::Short(msgtype::VIDEO_MEMORY, VIDEO_MEMORY_SIZE, 0)),
            Request::Unknown(_)
        ));
    }
}
