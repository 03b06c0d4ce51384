//! Bounded calls. The kernel has no timeouts (ABI §3.6) and a receive never notices that its
//! peers are gone (§3.5), so a client blocked on a server that died or hangs would wait forever.
//! [`call`] bounds a `send_receive` (or a plain `send`) on a handle:
//!
//! - **Dead peer**: a watchdog thread of the caller's process periodically takes a spare copy of
//!   the handle and closes it again (as `vfs::server`'s sweep does). While the peer holds a
//!   reference that close does nothing; once every other reference is gone it leaves exactly two
//!   and so wakes the waiter with CLOSED (`Err(CallError::Send(..))` with error 12), within one
//!   sweep interval of the peer's death.
//! - **Deadline** (optional): when it passes, the watchdog sweeps once more, then closes the
//!   caller's handle number itself. With the peer's reference the only other one left, that
//!   close wakes the waiter; the call returns [`CallError::TimedOut`] and the handle's number is
//!   gone: the caller must give the `Handle` up with [`Handle::into_raw`] (never drop it, which
//!   would close a number that may name another object by then) and treat the session as dead.
//!   A deadline cannot wake a waiter whose rendezvous has further references besides the peer's
//!   (a stream shared by several processes): choose deadlines only for one-to-one sessions.
//! - **Rescue** ([`send_rescued`], for a plain `send` on a shared rendezvous such as a file
//!   server's mount, which every namespace that mounts it references): past the deadline the
//!   watchdog does not close anything. It runs the caller's [`Rescue`] on a thread of its own
//!   with a copy of the handle; the rescue *receives* on it. A message still waiting there is
//!   the caller's own if the caller is still blocked (a rendezvous holds one pending message),
//!   which ends the caller's `send`; the rescue recognises it by the token the caller put in it,
//!   and reports whether it took it. A message of another sender (the caller's own was taken by
//!   the server an instant before) is sent on again. So an open on a dead server's mount ends
//!   with [`CallError::TimedOut`] instead of blocking for ever.
//!
//! The watchdog lives in std-shim's per-process runtime, which installs itself here with
//! [`install`]. Without it (code running below std-shim, such as kernel-stub's own tests)
//! [`call`] is a plain `send_receive`/`send`, unbounded.

use crate::error::Error;
use crate::message::{Message, SendError, send, send_receive};
use crate::object::Handle;
use core::sync::atomic::{AtomicPtr, Ordering};

/// Why a bounded call failed.
#[derive(Debug, PartialEq, Eq)]
pub enum CallError {
    /// The kernel's error (12 CLOSED: the peer is gone), and the message if it came back.
    Send(SendError),
    /// The deadline passed and the handle's number was closed to wake the caller: give the
    /// `Handle` up with [`Handle::into_raw`].
    TimedOut,
}

impl CallError {
    /// The kernel error, or `None` for a timeout.
    pub fn error(&self) -> Option<Error> {
        match self {
            CallError::Send(e) => Some(e.error),
            CallError::TimedOut => None,
        }
    }
}

impl crate::message::Busy for CallError {
    fn busy_message(self) -> Result<Message, CallError> {
        match self {
            CallError::Send(e) => e.busy_message().map_err(CallError::Send),
            CallError::TimedOut => Err(CallError::TimedOut),
        }
    }
}

impl From<SendError> for CallError {
    fn from(e: SendError) -> CallError {
        CallError::Send(e)
    }
}

/// What kind of call: `send_receive` (wait for the reply) or a plain `send`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    SendReceive,
    Send,
}

/// What to do at the deadline of a plain `send` on a shared rendezvous (see the module
/// documentation): called on a thread of its own with a copy of the handle and the caller's
/// token; receives on the handle and returns whether the message it took was the caller's (and
/// was disposed of), sending any other sender's message on again.
pub type Rescue = fn(Handle, u64) -> bool;

/// The watchdog's entry point: runs the call with the bound (`limit_us` microseconds from now;
/// `None`: only the dead-peer check), rescued past the deadline by the given [`Rescue`] and
/// token instead of a close of the caller's handle. A plain `send` answers
/// `Message::Short(0, 0, 0)`.
pub type Hook =
    fn(&Handle, Message, Kind, Option<u64>, Option<(Rescue, u64)>) -> Result<Message, CallError>;

static HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `hook` the implementation of [`call`] (std-shim, once per host process or program).
pub fn install(hook: Hook) {
    HOOK.store(hook as *mut (), Ordering::Release);
}

/// Runs the call unbounded, as the kernel does.
pub fn unbounded(h: &Handle, m: Message, kind: Kind) -> Result<Message, CallError> {
    match kind {
        Kind::SendReceive => Ok(send_receive(h, m)?),
        Kind::Send => send(h, m)
            .map(|()| Message::Short(0, 0, 0))
            .map_err(CallError::Send),
    }
}

/// A bounded call (see the module documentation): `limit_us` microseconds at most (`None`: no
/// deadline, but a dead peer still wakes the caller).
pub fn call(
    h: &Handle,
    m: Message,
    kind: Kind,
    limit_us: Option<u64>,
) -> Result<Message, CallError> {
    let p = HOOK.load(Ordering::Acquire);
    if p.is_null() {
        return unbounded(h, m, kind);
    }
    // Safety: only `install` stores here, always a `Hook`.
    let hook: Hook = unsafe { core::mem::transmute::<*mut (), Hook>(p) };
    hook(h, m, kind, limit_us, None)
}

/// [`crate::rcall`] with the dead-peer check of [`call`] (no deadline): a request to a server that
/// may die without answering, on a handle the caller may hold alone (a pipe, a redirection's
/// stream). Busy and reserved rendezvous are retried as `rcall` does.
pub fn rcall_watched(h: &Handle, m: Message) -> Result<Message, SendError> {
    crate::message::retry_busy_for(h, m, crate::message::BUSY_LIMIT_US, |h, m| {
        match call(h, m, Kind::SendReceive, None) {
            Ok(reply) => Ok(reply),
            Err(CallError::Send(e)) => Err(e),
            // Only a deadline times out, and there is none.
            Err(CallError::TimedOut) => Err(SendError {
                error: Error::Closed,
                message: None,
            }),
        }
    })
}
/// A plain `send` on a rendezvous that others reference too (a mount), bounded by `limit_us`:
/// past it, `rescue` takes the message back out (see the module documentation) and the call
/// returns [`CallError::TimedOut`]; the handle stays the caller's. `token` must be in `m` where
/// `rescue` can read it, and unique enough that no other sender's message carries it.
pub fn send_rescued(
    h: &Handle,
    m: Message,
    limit_us: u64,
    rescue: Rescue,
    token: u64,
) -> Result<(), CallError> {
    let p = HOOK.load(Ordering::Acquire);
    if p.is_null() {
        return unbounded(h, m, Kind::Send).map(|_| ());
    }
    // Safety: as in `call`.
    let hook: Hook = unsafe { core::mem::transmute::<*mut (), Hook>(p) };
    hook(h, m, Kind::Send, Some(limit_us), Some((rescue, token))).map(|_| ())
}

/// A token for [`send_rescued`]: the time-stamp counter mixed with a per-call count and the
/// caller's stack address (tokens only need to differ between senders on one rendezvous).
pub fn fresh_token() -> u64 {
    static COUNT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let here = &n as *const u64 as u64;
    #[cfg(target_arch = "x86_64")]
    // Safety: rdtsc has no preconditions, and works in ring 3 on Merriwig (ABI §4.4).
    let tsc = unsafe { core::arch::x86_64::_rdtsc() };
    #[cfg(not(target_arch = "x86_64"))]
    let tsc = 0u64;
    let mut x = tsc ^ n.rotate_left(40) ^ here.rotate_left(17);
    // splitmix64's finaliser: nearby inputs give unrelated tokens.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
