//! The runtime's monotonic clock, for code below std-shim that must bound a wait by time rather
//! than by a count of tries (a count lasts as long as the machine is fast: a busy mount retried
//! 100 000 times with a yield in between gave up within a tenth of a second on a fast host while
//! its server was being started again).
//!
//! std-shim installs its clock here (the KernelInfo page on the real kernel, the host's
//! monotonic clock on the stub). Without a runtime (code running below std-shim, such as
//! kernel-stub's own tests) there is no clock, and [`get`] is `None`.

use core::sync::atomic::{AtomicPtr, Ordering};

/// The runtime's clock.
pub struct Clock {
    /// Microseconds on a monotonic clock.
    pub now_us: fn() -> u64,
    /// Waits at least this many microseconds.
    pub sleep_us: fn(u64),
}

static CLOCK: AtomicPtr<Clock> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `c` the clock (std-shim does, once).
pub fn install(c: &'static Clock) {
    CLOCK.store(c as *const Clock as *mut Clock, Ordering::Release);
}

/// The installed clock, if a runtime installed one.
pub fn get() -> Option<&'static Clock> {
    // Safety: only ever set from a `&'static Clock`.
    unsafe { CLOCK.load(Ordering::Acquire).as_ref() }
}
