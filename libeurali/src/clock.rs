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

/// Tries that only yield before a [`Wait`] sleeps between them.
const YIELDS_BEFORE_SLEEP: usize = 64;
/// How long a [`Wait`] sleeps between later tries.
const SLEEP_US: u64 = 1_000;

/// A wait for something another thread does, in tries: up to `limit_us` on the runtime's clock
/// (from the first [`Wait::over`]), or `max_tries` tries where there is no clock. Between tries
/// ([`Wait::pause`]) it yields 64 times, then sleeps a millisecond, so that the waiter leaves the
/// processor to whoever it waits for.
pub struct Wait {
    limit_us: u64,
    max_tries: usize,
    start: Option<u64>,
    tries: usize,
}

impl Wait {
    pub const fn new(limit_us: u64, max_tries: usize) -> Wait {
        Wait {
            limit_us,
            max_tries,
            start: None,
            tries: 0,
        }
    }

    /// Whether the wait is over (the clock is read from the first call on, not before).
    pub fn over(&mut self) -> bool {
        match get() {
            Some(c) => {
                let now = (c.now_us)();
                now.saturating_sub(*self.start.get_or_insert(now)) >= self.limit_us
            }
            None => self.tries >= self.max_tries,
        }
    }

    /// Waits before the next try.
    pub fn pause(&mut self) {
        self.tries += 1;
        match get() {
            Some(c) if self.tries >= YIELDS_BEFORE_SLEEP => (c.sleep_us)(SLEEP_US),
            _ => crate::message::yield_now(),
        }
    }
}
