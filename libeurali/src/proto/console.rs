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
//! The input stream answers READ and the terminal requests (`TERM_GET`: 25 rows, 80 columns;
//! `TERM_SET`); the output stream answers WRITE. Each is served by its own thread, so a reader
//! waiting for a key never holds up output.

/// Ask for terminal `n`'s streams.
pub const CONSOLE_OPEN: u64 = 0x1200;
/// The reply to [`CONSOLE_OPEN`].
pub const CONSOLE_STREAMS: u64 = 0x1201;
/// The size of the VIDEO_MEMORY chunk (physical 0xA0000..0xBFFFF).
pub const VIDEO_MEMORY_SIZE: u64 = 0x20000;
