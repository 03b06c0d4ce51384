//! What a thread that has finished a piece of work does before it waits again: the runtime's
//! hook, which reports the process's heap to `/proc` when that is due (std-shim's
//! `rt::report_heap_if_due`; `vfs::procfs`, "Memory"). A file server's threads wait in
//! `receive`, never in the runtime's blocking points (sleep, stdin reads), so the server
//! framework calls [`point`] as each session ends. Without a runtime (code below std-shim) there
//! is no hook and [`point`] does nothing.

use core::sync::atomic::{AtomicPtr, Ordering};

/// The runtime's hook.
pub struct Hook {
    /// Run at each [`point`]; cheap when there is nothing to do.
    pub run: fn(),
}

static HOOK: AtomicPtr<Hook> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `h` the hook (std-shim does, once).
pub fn install(h: &'static Hook) {
    HOOK.store(h as *const Hook as *mut Hook, Ordering::Release);
}

/// A thread finished a piece of work and is about to wait: runs the hook, if there is one.
pub fn point() {
    // SAFETY: only ever set from a `&'static Hook`.
    if let Some(h) = unsafe { HOOK.load(Ordering::Acquire).as_ref() } {
        (h.run)();
    }
}
