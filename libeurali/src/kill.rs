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

use crate::{Handle, Message, msgtype, send};

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

/// Wakes a thread of this process that waits in `receive` on (another handle to) `h`. Blocks
/// until the message is taken if nobody is receiving just now (the thread is on its way there).
/// A busy or reserved rendezvous means the thread is answering someone: it is not waiting, and
/// a loop that looks at the kill before each `receive` sees it then; so is a gone peer. Both
/// return at once (retrying would only hold a copy of the handle, and so keep the close that
/// ends the session from waking its client).
pub fn wake(h: &Handle) {
    let _ = send(h, Message::Short(msgtype::KILL_WAKE, 0, 0));
}
