//! The stream protocol: stdin, stdout, stderr, consoles and pipes.
//!
//! A stream handle is a rendezvous served by one server thread (a console, a pipe, a file
//! session). Requests are made with `send_receive` (see [`crate::rcall`]); each gets one reply.
//! Clients make them with [`crate::timeout::rcall_watched`]: no deadline (a pipe writer may wait
//! for a slow reader, a console read for its user), but a client holding the only handle to a
//! stream whose server died is woken with `CLOSED` instead of waiting for ever.
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Long(WRITE, n, chunk)`: the first `n` bytes of the chunk | `Long(OK, accepted, the same chunk)` (or `Short(OK, accepted, 0)`), or `Short(ERROR, code, 0)` | no |
//! | `Short(READ, 0, max)`: up to `max` bytes; or `Long(READ, max \| pages << 32, chunk)`, lending a chunk of `pages` pages (at least `max` bytes) for the data | `Long(DATA, n \| pages << 32, chunk)` with `1 <= n <= max` bytes at offset 0 of a chunk of `pages` pages (0: just `n` bytes' worth); `Short(EOF, 0, 0)` at the end of the stream; `Short(ERROR, code, 0)` | no |
//!
//! Terminal control (served by consoles; every other stream answers `ERROR_UNKNOWN_MESSAGE`,
//! which is how a client learns it is not talking to a terminal):
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Short(TERM_GET, 0, 0)` | `Short(TERM_INFO, flags, rows << 16 \| cols)`; flags bit 0 = raw mode | yes |
//! | `Short(TERM_SET, raw (0/1), 0)` | `Short(OK, 0, 0)` | yes |
//! | `Long(TERM_NOTIFY, handle, 0)`: subscribe `handle` to interrupts | `Short(OK, 0, 0)` | no |
//!
//! Interrupts (eurali's Ctrl-C; the kernel has no signals): in cooked mode, Ctrl-C discards the
//! line being typed, echoes `^C`, answers every READ waiting at that moment with
//! `Short(INTERRUPTED, 0, 0)` (the reader retries, or ends if it was killed meanwhile), and sends
//! `Short(TERM_INTERRUPT, 0, 0)` to the newest subscriber only. A shell subscribes once and, on
//! that message, ends its foreground job through the job's control channels (std-shim's
//! `process::Child::kill`). The subscribers are a stack, as a terminal's foreground process
//! group is on Unix: a shell started from another (`sh`, `su`) subscribes after it, so Ctrl-C
//! ends the newer shell's job and never the older shell's (which is the newer shell itself, or
//! `su`). A subscriber that is gone (the send fails: its process ended or it closed its end) is
//! dropped and the next newest is told instead, so when the newer shell ends the older one gets
//! the interrupts again ([`interrupt_newest`]). In raw mode Ctrl-C is just the byte 0x03. A
//! terminal keeps at most [`MAX_SUBSCRIBERS`] handles: a new subscription beyond them drops the
//! oldest (the kernel never says a subscriber died, so old ones are the likeliest to be gone
//! shells; refusing new ones instead would let gone shells, or a client subscribing in a loop,
//! lock every later shell out).
//!
//! A console starts cooked: it echoes what is typed, lets the line be edited (Backspace, Ctrl-U)
//! and answers READ with whole lines; Ctrl-D on an empty line is EOF. Raw: every key's bytes as
//! they come, no echo (full-screen programs and the shell's line editor).
//!
//! Chunks go back and forth instead of being made and freed per message (a free returns frames
//! to the kernel, which Merriwig's frame allocator mishandles, ABI §9.23; see
//! [`crate::pool`]): a WRITE's chunk comes back with its reply, and a reader lends a chunk from
//! its pool with each READ, which the server keeps in its own pool, where its DATA reply takes
//! one from. A chunk's pages travel beside it (the kernel does not tell them), so that each
//! side knows how much of it it may reuse.
//!
//! Rules:
//! - `n` in WRITE and DATA never exceeds the chunk's pages: a receiver checks `n` against
//!   [`MAX_TRANSFER`] before trusting it (the kernel does not convey chunk sizes); the same holds
//!   for a stated page count, checked against [`MAX_TRANSFER`]'s pages.
//! - A server answers an unknown request with `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)` and keeps
//!   serving.
//! - EOF is a message, because the kernel never tells a receiver that its peers are gone.
//! - `ERROR` codes are [`crate::Error`] codes (12 CLOSED: the stream's other end is gone; 17
//!   NO_SPACE, 18 TOO_BIG and 19 IO: a stream into a file could not write it).

/// The replies every protocol shares, here too for this protocol's servers.
pub use super::{error_reply, unknown_reply};
use crate::error::Error;
use crate::message::{Message, Word};
use crate::msgtype;
use crate::object::{Handle, MemoryChunk};
use crate::timeout::rcall_watched;

/// End of stream, as a reply to READ.
pub const EOF: u64 = 0x1001;

/// Terminal control: ask for [`TermInfo`].
pub const TERM_GET: u64 = 0x1002;
/// Terminal control: the reply to [`TERM_GET`].
pub const TERM_INFO: u64 = 0x1003;
/// Terminal control: raw (1) or cooked (0).
pub const TERM_SET: u64 = 0x1004;
/// A READ was interrupted by Ctrl-C (a reply to READ; the reader may retry).
pub const INTERRUPTED: u64 = 0x1005;
/// Terminal control: subscribe the handle in the message to interrupts.
pub const TERM_NOTIFY: u64 = 0x1006;
/// Most interrupt subscribers a terminal keeps (each is a handle, which costs the kernel's
/// 1 MiB heap too); the oldest goes first.
pub const MAX_SUBSCRIBERS: usize = 32;

/// Adds `h` to a terminal's subscribers as the newest, dropping the oldest beyond
/// [`MAX_SUBSCRIBERS`].
#[cfg(feature = "alloc")]
pub fn add_subscriber(subscribers: &mut alloc::vec::Vec<Handle>, h: Handle) {
    while subscribers.len() >= MAX_SUBSCRIBERS {
        subscribers.remove(0);
    }
    subscribers.push(h);
}

/// Tells the newest subscriber still there of an interrupt (`TERM_INTERRUPT`), given a
/// terminal's subscribers taken out of it, oldest first: the newest is told; if the send fails
/// (the subscriber is gone) it is dropped and the next newest is told instead. Returns the
/// subscribers still to keep (the one told and all older ones, in order) and whether anyone was
/// told. The send may block (a subscriber slow to receive), so it is made outside the
/// terminal's lock; give the rest back with [`resubscribe`].
#[cfg(feature = "alloc")]
pub fn interrupt_newest(
    mut subscribers: alloc::vec::Vec<Handle>,
) -> (alloc::vec::Vec<Handle>, bool) {
    while let Some(newest) = subscribers.pop() {
        let m = Message::Short(TERM_INTERRUPT, 0, 0);
        if crate::message::call_send(&newest, m).is_ok() {
            subscribers.push(newest);
            return (subscribers, true);
        }
    }
    (subscribers, false)
}

/// Gives `kept` (from [`interrupt_newest`]) back to a terminal's `subscribers`, below any that
/// subscribed meanwhile (they are newer), keeping at most [`MAX_SUBSCRIBERS`] (the newest).
#[cfg(feature = "alloc")]
pub fn resubscribe(subscribers: &mut alloc::vec::Vec<Handle>, mut kept: alloc::vec::Vec<Handle>) {
    kept.append(subscribers);
    let extra = kept.len().saturating_sub(MAX_SUBSCRIBERS);
    kept.drain(..extra);
    *subscribers = kept;
}
/// Sent by a terminal to its newest subscriber when Ctrl-C is typed in cooked mode.
pub const TERM_INTERRUPT: u64 = 0x1007;

/// What a console says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermInfo {
    pub raw: bool,
    pub rows: u16,
    pub cols: u16,
}

impl TermInfo {
    /// The reply message for this state.
    pub const fn reply(&self) -> Message {
        Message::Short(
            TERM_INFO,
            self.raw as u64,
            ((self.rows as u64) << 16) | self.cols as u64,
        )
    }
}

/// Client side: the terminal behind `h`, or `None` if it is not a terminal (or is gone).
pub fn term_info(h: &Handle) -> Option<TermInfo> {
    match rcall_watched(h, Message::Short(TERM_GET, 0, 0))
        .ok()?
        .values()
    {
        (TERM_INFO, flags, size) => Some(TermInfo {
            raw: flags & 1 != 0,
            rows: (size >> 16) as u16,
            cols: size as u16,
        }),
        _ => None,
    }
}

/// Client side: switches the terminal behind `h` to raw or cooked mode.
pub fn set_raw(h: &Handle, raw: bool) -> Result<(), Error> {
    match rcall_watched(h, Message::Short(TERM_SET, raw as u64, 0))?.values() {
        (msgtype::OK, _, _) => Ok(()),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::NotImplemented),
    }
}

/// Client side: subscribes `notify` to the interrupts of the terminal behind `h` (see the
/// module documentation); the terminal keeps the handle.
pub fn subscribe_interrupts(h: &Handle, notify: Handle) -> Result<(), Error> {
    match rcall_watched(
        h,
        Message::Long(TERM_NOTIFY, Word::Handle(notify), Word::Value(0)),
    )?
    .values()
    {
        (msgtype::OK, _, _) => Ok(()),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::NotImplemented),
    }
}

/// A terminal-control request, for servers that are terminals (check before [`parse_request`]).
#[derive(Debug, PartialEq, Eq)]
pub enum TermRequest {
    Get,
    SetRaw(bool),
    /// Subscribe this handle to interrupts.
    Notify(Handle),
}

/// Server side: the terminal-control request `m` is, or `m` back if it is none.
pub fn term_request(m: Message) -> core::result::Result<TermRequest, Message> {
    match m {
        Message::Short(TERM_GET, _, _) => Ok(TermRequest::Get),
        Message::Short(TERM_SET, raw, _) => Ok(TermRequest::SetRaw(raw != 0)),
        Message::Long(TERM_NOTIFY, Word::Handle(h), _) => Ok(TermRequest::Notify(h)),
        other => Err(other),
    }
}

/// A terminal's input as a waiting READ sees it (see [`TerminalInput::look`]).
#[cfg(feature = "alloc")]
pub struct InputState<'a> {
    /// What was typed, in the terminal's mode.
    pub ld: &'a mut crate::tty::LineDiscipline,
    /// Ctrl-C interrupts so far: a READ that began at another count is answered INTERRUPTED.
    pub interrupts: u64,
    /// The input has ended for good (a stub console's host input): a READ gets EOF.
    pub at_end: bool,
}

/// A terminal's input stream as [`serve_terminal_input`] drives it: the console driver's
/// virtual terminals on the real kernel, kernel-stub's host terminal. The device keeps its
/// state behind its own lock; each method takes it once. A Ctrl-C typed in cooked mode must
/// count an interrupt and wake [`TerminalInput::wait`] (telling the subscribers is the
/// device's business: a send may block, so it happens outside this loop).
#[cfg(feature = "alloc")]
pub trait TerminalInput {
    /// The terminal as `TERM_GET` reports it.
    fn info(&mut self) -> TermInfo;
    /// `TERM_SET`: raw or cooked.
    fn set_raw(&mut self, raw: bool);
    /// `TERM_NOTIFY`: subscribes `h` to interrupts ([`add_subscriber`]).
    fn subscribe(&mut self, h: Handle);
    /// A READ starts waiting (keys typed from now on are taken at once); the interrupts so far.
    fn begin_read(&mut self) -> u64;
    /// The READ that began last was answered.
    fn end_read(&mut self);
    /// Runs `f` on the input as it is now, under the device's lock, keys typed ahead taken
    /// into the line discipline first.
    fn look<R>(&mut self, f: impl FnOnce(InputState<'_>) -> R) -> R;
    /// Blocks until the input may have changed since the last [`TerminalInput::look`] (a change
    /// in between is not missed).
    fn wait(&mut self);
}

/// Server side: serves a terminal's input stream on `h` from `t` until the handle fails (the
/// one loop of every terminal): the terminal requests, and READ answered with the typed
/// data, EOF (Ctrl-D, or the input's end) or INTERRUPTED (a Ctrl-C while it waited), waiting
/// as long as none of them is there. A READ's lent chunk carries the data when it is big
/// enough (with a process pool, an unused one goes to the pool).
#[cfg(feature = "alloc")]
pub fn serve_terminal_input(h: &Handle, t: &mut impl TerminalInput) {
    loop {
        let Ok(m) = crate::message::receive(h) else {
            return;
        };
        let reply = match term_request(m) {
            Ok(TermRequest::Get) => t.info().reply(),
            Ok(TermRequest::SetRaw(raw)) => {
                t.set_raw(raw);
                Message::Short(msgtype::OK, 0, 0)
            }
            Ok(TermRequest::Notify(sub)) => {
                t.subscribe(sub);
                Message::Short(msgtype::OK, 0, 0)
            }
            Err(m) => match parse_request_lent(m) {
                (Request::Read(max), lent) => terminal_read(t, max, lent),
                (Request::Write(_), _) => error_reply(Error::NotImplemented),
                (Request::Unknown(_), _) => unknown_reply(),
            },
        };
        let _ = crate::message::send(h, reply);
    }
}

/// What a READ on a terminal found.
#[cfg(feature = "alloc")]
enum TermRead {
    Data(alloc::vec::Vec<u8>),
    Eof,
    Interrupted,
}

/// Answers a READ of at most `max` bytes on `t`, waiting until there is an answer.
#[cfg(feature = "alloc")]
fn terminal_read(t: &mut impl TerminalInput, max: usize, lent: Option<MemoryChunk>) -> Message {
    let seen = t.begin_read();
    let got = loop {
        let got = t.look(|st| {
            if st.interrupts != seen {
                Some(TermRead::Interrupted)
            } else if st.ld.take_eof() {
                Some(TermRead::Eof)
            } else if let Some(data) = st.ld.take(max) {
                Some(TermRead::Data(data))
            } else if st.at_end {
                Some(TermRead::Eof)
            } else {
                None
            }
        });
        match got {
            Some(got) => break got,
            None => t.wait(),
        }
    };
    t.end_read();
    match got {
        TermRead::Data(data) => data_reply_in(lent, &data).unwrap_or_else(error_reply),
        TermRead::Eof => eof_reply(),
        TermRead::Interrupted => interrupted_reply(),
    }
}

/// Largest WRITE or DATA payload in one message (a receiver refuses larger claims).
pub const MAX_TRANSFER: usize = 64 * 1024;

/// What a READ returned.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadReply {
    Data(usize),
    Eof,
    /// Ctrl-C at a terminal: nothing was read; the reader may retry.
    Interrupted,
}

/// Client side: writes up to [`MAX_TRANSFER`] bytes of `buf` in one request; returns how many
/// the server accepted.
pub fn write(h: &Handle, buf: &[u8]) -> Result<usize, Error> {
    let n = buf.len().min(MAX_TRANSFER);
    if n == 0 {
        return Ok(0);
    }
    let mut chunk = MemoryChunk::alloc(n)?;
    chunk.as_mut_slice()[..n].copy_from_slice(&buf[..n]);
    let pages = chunk.pages();
    let reply = rcall_watched(
        h,
        Message::Long(msgtype::WRITE, Word::Value(n as u64), Word::Chunk(chunk)),
    )?;
    match reply {
        Message::Long(msgtype::OK, Word::Value(k), Word::Chunk(mut c)) if k as usize <= n => {
            // Our chunk, back for the pool (the server returns the one it was sent).
            // Safety: we allocated and wrote its `pages` pages before sending it.
            unsafe { c.set_pages(pages) };
            Ok(k as usize)
        }
        other => match other.values() {
            (msgtype::OK, k, _) if k as usize <= n => Ok(k as usize),
            (msgtype::ERROR, code, _) => Err(error_from(code)),
            _ => Err(Error::Param),
        },
    }
}

/// Client side: reads up to `buf.len()` bytes (at most [`MAX_TRANSFER`]).
pub fn read(h: &Handle, buf: &mut [u8]) -> Result<ReadReply, Error> {
    let max = buf.len().min(MAX_TRANSFER);
    if max == 0 {
        return Ok(ReadReply::Data(0));
    }
    // Lend a kept chunk for the data, if we have one (see the module documentation).
    let request = match MemoryChunk::from_pool(max) {
        Some(c) => {
            let max = max.min(c.len());
            Message::Long(
                msgtype::READ,
                Word::Value(max as u64 | c.pages() << 32),
                Word::Chunk(c),
            )
        }
        None => Message::Short(msgtype::READ, 0, max as u64),
    };
    let reply = rcall_watched(h, request)?;
    match reply {
        Message::Long(msgtype::DATA, Word::Value(v), Word::Chunk(mut c))
            if (v as u32 as usize) <= max && v as u32 > 0 =>
        {
            let (n, pages) = sized(v);
            // Safety: the server promised `n` bytes written at the start of this chunk and
            // `pages` pages of it written (protocol rule; bounded by our own `max` and by
            // MAX_TRANSFER's pages).
            unsafe {
                c.set_len(n);
                c.set_pages(pages);
            }
            buf[..n].copy_from_slice(c.as_slice());
            Ok(ReadReply::Data(n))
        }
        Message::Short(EOF, _, _) => Ok(ReadReply::Eof),
        Message::Short(INTERRUPTED, _, _) => Ok(ReadReply::Interrupted),
        Message::Short(msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// Most pages a chunk's stated size may claim: what [`MAX_TRANSFER`] needs.
const MAX_PAGES: u64 = (MAX_TRANSFER as u64).div_ceil(crate::abi::layout::PAGE_SIZE);

/// `n | pages << 32` (a READ's lent chunk, a DATA reply): the byte count and the chunk's pages,
/// the pages at least what `n` bytes need and at most [`MAX_PAGES`].
fn sized(v: u64) -> (usize, u64) {
    let n = v as u32 as usize;
    let need = (n as u64).div_ceil(crate::abi::layout::PAGE_SIZE);
    (n, (v >> 32).clamp(need, MAX_PAGES.max(need)))
}

/// The error a reply's code names (an unknown code as `Other`).
pub(crate) fn error_from(code: u64) -> Error {
    Error::from_code(code.min(255) as u8).unwrap_or(Error::Other(0))
}

/// A request as a stream server sees it, checked against the protocol.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// Bytes to write (the chunk, with its claimed length already checked).
    Write(MemoryChunk),
    /// A read of at most this many bytes.
    Read(usize),
    /// Anything else: answer with [`unknown_reply`].
    Unknown(Message),
}

/// Server side: classifies a received message. Never panics. A READ's lent chunk goes to the
/// process's pool (where [`data_reply`] finds it).
pub fn parse_request(m: Message) -> Request {
    parse_request_lent(m).0
}

/// Server side, for a server without a process pool (the stub's host devices): as
/// [`parse_request`], but a READ's lent chunk is handed over, for [`data_reply_in`].
pub fn parse_request_lent(m: Message) -> (Request, Option<MemoryChunk>) {
    let r = match m {
        Message::Long(msgtype::WRITE, Word::Value(n), Word::Chunk(mut c))
            if (n as usize) <= MAX_TRANSFER =>
        {
            // Safety: bounded by MAX_TRANSFER; the client allocated at least `n` bytes (protocol).
            unsafe { c.set_len(n as usize) };
            Request::Write(c)
        }
        Message::Short(msgtype::READ, _, max) if max > 0 => {
            Request::Read((max as usize).min(MAX_TRANSFER))
        }
        Message::Long(msgtype::READ, Word::Value(v), Word::Chunk(mut c))
            if v as u32 > 0 && v as u32 as usize <= MAX_TRANSFER =>
        {
            let (max, pages) = sized(v);
            // Safety: the client promised `pages` pages written (protocol rule, bounded).
            unsafe { c.set_len((pages * crate::abi::layout::PAGE_SIZE) as usize) };
            return (Request::Read(max), Some(c));
        }
        other => Request::Unknown(other),
    };
    (r, None)
}

/// Server side: as [`data_reply`], in `lent` (a READ's lent chunk) if it is big enough.
pub fn data_reply_in(lent: Option<MemoryChunk>, data: &[u8]) -> Result<Message, Error> {
    let n = data.len().min(MAX_TRANSFER);
    let c = match lent {
        Some(c) if c.len() >= n => c,
        _ => MemoryChunk::alloc(n)?,
    };
    Ok(data_message(c, &data[..n]))
}

/// Server side: the reply carrying `data` (1..=MAX_TRANSFER bytes) for a READ, in a chunk from
/// the pool (where a client's lent chunk went) if there is one.
pub fn data_reply(data: &[u8]) -> Result<Message, Error> {
    data_reply_in(None, data)
}

/// Server side: as [`data_reply`] for the bytes of `first` then `second` (a ring buffer's two
/// halves), at most [`MAX_TRANSFER`] of them, copied straight into the reply's chunk.
pub fn data_reply_parts(first: &[u8], second: &[u8]) -> Result<Message, Error> {
    let a = first.len().min(MAX_TRANSFER);
    let b = second.len().min(MAX_TRANSFER - a);
    let mut c = MemoryChunk::alloc(a + b)?;
    let s = c.as_mut_slice();
    s[..a].copy_from_slice(&first[..a]);
    s[a..a + b].copy_from_slice(&second[..b]);
    Ok(data_message_written(c, a + b))
}

/// `Long(DATA, n | pages << 32, c)` with `data` (at most `c.len()` bytes) written at its start.
fn data_message(mut c: MemoryChunk, data: &[u8]) -> Message {
    let n = data.len();
    c.as_mut_slice()[..n].copy_from_slice(data);
    data_message_written(c, n)
}

/// `Long(DATA, n | pages << 32, c)` for a chunk whose first `n` bytes are written.
fn data_message_written(c: MemoryChunk, n: usize) -> Message {
    let pages = c.pages().min(MAX_PAGES);
    Message::Long(
        msgtype::DATA,
        Word::Value(n as u64 | pages << 32),
        Word::Chunk(c),
    )
}

/// Server side: EOF reply.
pub const fn eof_reply() -> Message {
    Message::Short(EOF, 0, 0)
}

/// Server side: a READ interrupted by Ctrl-C.
pub const fn interrupted_reply() -> Message {
    Message::Short(INTERRUPTED, 0, 0)
}

/// Server side: the reply to an accepted WRITE when the chunk is not at hand (prefer
/// [`written_reply`]).
pub const fn ok_reply(accepted: usize) -> Message {
    Message::Short(msgtype::OK, accepted as u64, 0)
}

/// Server side: the reply to an accepted WRITE, giving the client its chunk back.
pub fn written_reply(accepted: usize, chunk: MemoryChunk) -> Message {
    Message::Long(
        msgtype::OK,
        Word::Value(accepted as u64),
        Word::Chunk(chunk),
    )
}
