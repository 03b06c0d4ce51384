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

/// How long [`wake`] waits for its wake-up to be taken before it lets go of it.
const WAKE_WAIT_US: u64 = 200_000;

/// Wakes a thread of this process that waits in `receive` on (another handle to) `h`, a copy
/// that the caller gives up. The wake-up is sent on a thread of its own, and taken back if
/// nobody receives it within [`WAKE_WAIT_US`].
///
/// A busy or reserved rendezvous means the thread is answering someone: it is not waiting, and
/// a loop that looks at the kill before each `receive` sees it then; so is a gone peer. Both
/// end the send at once. Nobody receiving means the thread is on its way to `receive` (it takes
/// the wake-up within microseconds), or has just left for good: then the send would wait for
/// ever, leave the session busy for its client (whose last `CLOSE` then found it busy for as
/// long as it retried) and keep the client's close from waking anyone. So past the wait the copy
/// is closed: with the client's end the only other reference, that wakes the sender with
/// CLOSED and empties the rendezvous; with the thread's end still there the wake-up stays for
/// the thread to take (or for the thread's own close to return it).
pub fn wake(h: Handle) {
    use core::sync::atomic::AtomicU8;
    const SENDING: u8 = 0;
    const SENT: u8 = 1;
    const LET_GO: u8 = 2;
    let raw = h.into_raw();
    let state = Arc::new(AtomicU8::new(SENDING));
    let sender_state = state.clone();
    let sender = move || {
        // Safety: `raw` stays open until one side closes it: the sender if its send ended first
        // (SENT), else the waker (LET_GO); the other side never touches it after that.
        let h = core::mem::ManuallyDrop::new(unsafe { Handle::from_raw(raw) });
        let _ = send(&h, Message::Short(msgtype::KILL_WAKE, 0, 0));
        if sender_state
            .compare_exchange(SENDING, SENT, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            drop(core::mem::ManuallyDrop::into_inner(h));
        }
    };
    if crate::spawn_fn(sender).is_err() {
        // No thread to spare: send here (the box with the closure was dropped, `raw` is ours).
        // Safety: as above; nobody else has the number.
        let h = unsafe { Handle::from_raw(raw) };
        let _ = send(&h, Message::Short(msgtype::KILL_WAKE, 0, 0));
        return;
    }
    let mut wait = crate::clock::Wait::new(WAKE_WAIT_US, 100_000);
    while state.load(Ordering::Acquire) == SENDING && !wait.over() {
        wait.pause();
    }
    if state
        .compare_exchange(SENDING, LET_GO, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // Safety: the sender has not closed it (its exchange would have come first).
        drop(unsafe { Handle::from_raw(raw) });
    }
}
