//! Typed messages and the calls that move them: send, receive, send_receive, and the retrying
//! `call`/`rcall` helpers.
//!
//! Ownership follows the kernel (§2.2–2.4): a sent handle or chunk is consumed when the kernel
//! accepts the message; a send that fails before transfer hands the message back untouched; a send
//! that fails after the enqueue attempt hands back the message the kernel re-inserted (handles and
//! chunks possibly at new numbers).

use crate::abi::{Call, RawMessage, RawWord, WordKind};
use crate::error::{Error, Result};
use crate::object::{Handle, MemoryChunk, call};

/// One data word of a Long message.
#[derive(Debug, PartialEq, Eq)]
pub enum Word {
    Value(u64),
    Handle(Handle),
    Chunk(MemoryChunk),
    /// Received only: the kernel could not map a chunk for us (the code, usually 11 NOMEMSLOTS).
    Error(u64),
}

impl Word {
    fn raw(&self) -> RawWord {
        match self {
            Word::Value(v) => RawWord::value(*v),
            Word::Handle(h) => RawWord::handle(h.raw() as u64),
            Word::Chunk(c) => RawWord::chunk(c.base()),
            Word::Error(e) => RawWord::err(*e),
        }
    }

    /// Takes ownership of what a received raw word names.
    ///
    /// # Safety
    /// The word must come from the kernel for this process, once.
    unsafe fn from_raw(w: RawWord) -> Word {
        match w.kind {
            WordKind::Value => Word::Value(w.bits),
            // Safety: the kernel just put these objects into our tables.
            WordKind::Handle => Word::Handle(unsafe { Handle::from_raw(w.bits as u32) }),
            // SAFETY: as for a handle: the kernel just put this chunk into our table.
            WordKind::Chunk => Word::Chunk(unsafe { MemoryChunk::from_raw(w.bits) }),
            WordKind::Err => Word::Error(w.bits),
        }
    }

    /// The plain value, if this is one.
    pub fn value(&self) -> Option<u64> {
        match self {
            Word::Value(v) => Some(*v),
            _ => None,
        }
    }
}

/// A message: three plain words, or a type word and two data words that may carry objects.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Short(u64, u64, u64),
    Long(u64, Word, Word),
}

impl Message {
    /// The type word (data1).
    pub fn tag(&self) -> u64 {
        match self {
            Message::Short(t, _, _) | Message::Long(t, _, _) => *t,
        }
    }

    /// The register form, without giving up ownership.
    pub fn raw(&self) -> RawMessage {
        match self {
            Message::Short(a, b, c) => RawMessage::short(*a, *b, *c),
            Message::Long(a, b, c) => RawMessage {
                data1: *a,
                data2: b.raw(),
                data3: c.raw(),
            },
        }
    }

    /// Takes ownership of what a raw message names: Long when the kernel marked it so.
    ///
    /// # Safety
    /// The message must come from the kernel for this process, once.
    pub unsafe fn from_raw(m: RawMessage) -> Message {
        if !m.carries_objects() {
            Message::Short(m.data1, m.data2.bits, m.data3.bits)
        } else {
            // Safety: forwarded contract.
            unsafe { Message::Long(m.data1, Word::from_raw(m.data2), Word::from_raw(m.data3)) }
        }
    }

    /// The words as plain values, whatever their kind (for matching on Short replies).
    pub fn values(&self) -> (u64, u64, u64) {
        let r = self.raw();
        (r.data1, r.data2.bits, r.data3.bits)
    }
}

/// A failed send: the error, and the message if it is still ours.
///
/// `message` is `None` only when the kernel consumed it: a `send_receive` woken by a close after
/// delivery (12 without a message). The kernel reports a CLOSED target the same way; there the
/// objects are still in our table but cannot be told apart from reused numbers, so they are left
/// unclosed (leaked) rather than risk closing someone else's handle.
#[derive(Debug, PartialEq, Eq)]
pub struct SendError {
    pub error: Error,
    pub message: Option<Message>,
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        e.error
    }
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "send failed: {}", self.error)
    }
}

fn transfer(
    handle: &Handle,
    msg: Message,
    with_reply: bool,
) -> core::result::Result<Option<Message>, SendError> {
    let raw = msg.raw();
    let c = if with_reply {
        Call::SendReceive {
            handle: handle.raw(),
            msg: raw,
        }
    } else {
        Call::Send {
            handle: handle.raw(),
            msg: raw,
        }
    };
    let r = call(c);
    match r.error() {
        None => {
            core::mem::forget(msg);
            // Safety: a successful send_receive returns the reply in received form.
            Ok(with_reply.then(|| unsafe { Message::from_raw(RawMessage::from_received(&r)) }))
        }
        Some(error) if r.contains_message() => {
            core::mem::forget(msg);
            // Safety: the kernel re-inserted our message's objects and names them here.
            let back = unsafe { Message::from_raw(RawMessage::from_received(&r)) };
            Err(SendError {
                error,
                message: Some(back),
            })
        }
        Some(Error::Closed) if with_reply => {
            core::mem::forget(msg);
            Err(SendError {
                error: Error::Closed,
                message: None,
            })
        }
        Some(error) => Err(SendError {
            error,
            message: Some(msg),
        }),
    }
}

/// `send`: blocks until a receiver takes the message.
pub fn send(handle: &Handle, msg: Message) -> core::result::Result<(), SendError> {
    transfer(handle, msg, false).map(|_| ())
}

/// `send_receive`: sends and blocks until the receiving thread replies.
pub fn send_receive(handle: &Handle, msg: Message) -> core::result::Result<Message, SendError> {
    transfer(handle, msg, true).map(|m| m.expect("send_receive returns a reply"))
}

/// `receive`: blocks until a message arrives.
pub fn receive(handle: &Handle) -> Result<Message> {
    let r = call(Call::Receive {
        handle: handle.raw() as u64,
    });
    match r.error() {
        // Safety: a successful receive delivers a message into our tables.
        None => Ok(unsafe { Message::from_raw(RawMessage::from_received(&r)) }),
        Some(e) => Err(e),
    }
}

/// How long [`call_send`]/[`rcall`] (and `timeout::rcall_watched`) wait for a busy rendezvous
/// (upstream tries 100 times). A turn can take long: a pipe's writer side holds one writer's
/// `WRITE` while the pipe is full, and every other writer of that pipe (stdout and stderr of
/// one command, a background job) finds it reserved until the reader makes room. 100 tries
/// lasted microseconds on the host, and those writes were lost. The bound still ends a wait on a
/// server that died holding the rendezvous.
pub const BUSY_LIMIT_US: u64 = 60_000_000;

/// A failed send that may only have found its rendezvous busy (§3.3: SEND_BLOCKING, or
/// RECV_BLOCKING while reserved for another thread's reply), with the message given back.
pub trait Busy: Sized {
    /// The message to send again if the rendezvous was only busy; the error itself otherwise.
    fn busy_message(self) -> core::result::Result<Message, Self>;
}

impl Busy for SendError {
    fn busy_message(self) -> core::result::Result<Message, SendError> {
        match self {
            SendError {
                error,
                message: Some(m),
            } if error.is_transient() => Ok(m),
            e => Err(e),
        }
    }
}

/// What [`retry_busy_for`] falls back to without a clock: tries, each after a yield.
pub const BUSY_RETRIES_WITHOUT_CLOCK: usize = 100_000;

/// Runs the send `f`, again while the rendezvous is busy, for up to `limit_us` microseconds on
/// the runtime's [`clock`](crate::clock): the wait on a rendezvous that many clients share (a
/// mount), whose server may be busy with others or being started again. The first tries
/// yield; later ones sleep a millisecond, so that waiting clients leave the processor to the
/// server they wait for. The last error when it stays busy that long. Without a clock,
/// [`BUSY_RETRIES_WITHOUT_CLOCK`] tries with a yield in between.
pub fn retry_busy_for<T, E: Busy>(
    handle: &Handle,
    mut msg: Message,
    limit_us: u64,
    mut f: impl FnMut(&Handle, Message) -> core::result::Result<T, E>,
) -> core::result::Result<T, E> {
    // The clock is read only once the rendezvous was found busy: most calls never are, and
    // every stream request comes through here.
    let mut wait = crate::clock::Wait::new(limit_us, BUSY_RETRIES_WITHOUT_CLOCK);
    loop {
        match f(handle, msg) {
            Err(e) => {
                if wait.over() {
                    return Err(e);
                }
                msg = e.busy_message()?;
                wait.pause();
            }
            ok => return ok,
        }
    }
}

/// `send` that retries SEND_BLOCKING / RECV_BLOCKING (a busy single-slot rendezvous, §3.3) for
/// up to [`BUSY_LIMIT_US`] ([`retry_busy_for`]).
pub fn call_send(handle: &Handle, msg: Message) -> core::result::Result<(), SendError> {
    retry_busy_for(handle, msg, BUSY_LIMIT_US, send)
}

/// `send_receive` that retries SEND_BLOCKING / RECV_BLOCKING like [`call_send`]: the usual way to
/// make a request of a server.
pub fn rcall(handle: &Handle, msg: Message) -> core::result::Result<Message, SendError> {
    retry_busy_for(handle, msg, BUSY_LIMIT_US, send_receive)
}

/// `yield`: go to the back of the run queue.
pub fn yield_now() {
    call(Call::Yield { idle_us: 0 });
}

/// `yield` from a thread that has nothing to do for `us` microseconds (it sleeps until a
/// deadline). The real kernel, without timers, treats it as a plain yield (the caller loops
/// until its deadline); kernel-stub blocks the thread for up to that long instead of running it
/// again at once, so that a sleeping thread does not spin a host processor.
pub fn idle(us: u64) {
    call(Call::Yield { idle_us: us });
}
