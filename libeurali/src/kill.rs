//! Kill that reaches server threads.
//!
//! The kernel has no kill; std-shim's runtime has a cooperative one: a killed process's threads
//! end at their next checkpoint (stdio, sleep, spawn, ...). A server thread waiting in `receive`
//! reaches none, so a killed server would go on serving. Code that waits in `receive` for
//! others (the file-server framework, say) registers a hook here; when its process is killed
//! the runtime runs every hook (each on a thread of its own: a hook may block), and the hook
//! wakes its threads by sending [`KILL_WAKE`](crate::msgtype::KILL_WAKE) on the rendezvous they
//! wait in ([`wake`]). A woken thread sees [`doomed`] and ends.
//!
//! The registry is per process and lives in the runtime (std-shim installs it); without one,
//! [`on_kill`] registers nothing and [`doomed`] is false.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::{Error, Handle, Message, msgtype, send};

/// What a killed process runs.
pub type Hook = Arc<dyn Fn() + Send + Sync>;

/// The runtime's registry (std-shim's, per process).
pub struct Registry {
    /// Keeps `hook` until [`Registry::forget`]; returns its id.
    pub register: fn(Hook) -> u64,
    pub forget: fn(u64),
    /// Whether the calling thread's process was killed.
    pub doomed: fn() -> bool,
}

static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `r` the registry (std-shim does, once).
pub fn install(r: &'static Registry) {
    REGISTRY.store(r as *const Registry as *mut Registry, Ordering::Release);
}

fn registry() -> Option<&'static Registry> {
    // Safety: only ever set from a `&'static Registry`.
    unsafe { REGISTRY.load(Ordering::Acquire).as_ref() }
}

/// A registration; dropping it forgets the hook.
#[must_use = "the hook is forgotten when this is dropped"]
pub struct Registration(Option<u64>);

impl Drop for Registration {
    fn drop(&mut self) {
        if let (Some(id), Some(r)) = (self.0, registry()) {
            (r.forget)(id);
        }
    }
}

/// Runs `hook` if this process is killed while the registration lives.
pub fn on_kill(hook: Hook) -> Registration {
    Registration(registry().map(|r| (r.register)(hook)))
}

/// Whether this process was killed (its threads are to end).
pub fn doomed() -> bool {
    registry().is_some_and(|r| (r.doomed)())
}

/// Tries this many times while the rendezvous is busy or reserved (the thread waiting in it is
/// answering someone and will receive again, or will see the kill before it does).
const WAKE_TRIES: u32 = 200;

/// Wakes a thread of this process that waits in `receive` on (another handle to) `h`. Blocks
/// until the message is taken if nobody is receiving just now; gives up on a busy rendezvous
/// after a while, and at once when the peer is gone.
pub fn wake(h: &Handle) {
    for _ in 0..WAKE_TRIES {
        match send(h, Message::Short(msgtype::KILL_WAKE, 0, 0)) {
            Ok(()) => return,
            Err(e) if matches!(e.error, Error::SendBlocking | Error::RecvBlocking) => {
                crate::yield_now()
            }
            Err(_) => return,
        }
    }
}
