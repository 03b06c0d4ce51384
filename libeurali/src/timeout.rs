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

/// The watchdog's entry point: runs the call with the bound (`limit_us` microseconds from now;
/// `None`: only the dead-peer check). A plain `send` answers `Message::Short(0, 0, 0)`.
pub type Hook = fn(&Handle, Message, Kind, Option<u64>) -> Result<Message, CallError>;

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
    hook(h, m, kind, limit_us)
}
