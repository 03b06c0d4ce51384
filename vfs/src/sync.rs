//! The little concurrency vfs needs below std-shim: a yielding lock and thread start.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion lock that yields while another thread holds it (the kernel has no futex).
pub struct Lock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// Safety: access to `value` is serialised by `held`.
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: the value moves with the lock, and T is Send.
unsafe impl<T: Send> Send for Lock<T> {}

impl<T> Lock<T> {
    pub const fn new(value: T) -> Lock<T> {
        Lock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    pub fn lock(&self) -> Guard<'_, T> {
        let mut spins = 0u32;
        while self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else {
                libeurali::yield_now();
            }
        }
        Guard { lock: self }
    }
}

impl<T> core::fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Lock { .. }")
    }
}

pub struct Guard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Safety: we hold the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // Safety: we hold the lock exclusively.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.held.store(false, Ordering::Release);
    }
}

/// Runs `f` on a thread of this process: a pooled one where the runtime has a pool
/// (`libeurali::spawn_pooled`), else a new kernel thread that ends with `f`.
pub fn spawn(f: impl FnOnce() + Send + 'static) -> Result<(), libeurali::Error> {
    libeurali::spawn_pooled(f)
}
