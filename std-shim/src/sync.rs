//! `std::sync`: locks that need no kernel support beyond `yield`.
//!
//! The kernel has no futex and no timeouts, so a contended lock spins briefly and then yields.
//! There is no poisoning: on the real kernel a panic ends only the panicking thread and never
//! unwinds through a guard; `lock()` keeps std's `LockResult` shape and always returns `Ok`.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU8, Ordering};

pub use alloc::sync::{Arc, Weak};
pub use core::sync::atomic;

/// std's lock result; never an error here (no poisoning).
pub type LockResult<T> = Result<T, PoisonError<T>>;

/// Never constructed by this crate; kept so that `lock().unwrap()` and `match` arms port.
pub struct PoisonError<T>(T);

impl<T> core::fmt::Debug for PoisonError<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PoisonError { .. }")
    }
}

impl<T> core::fmt::Display for PoisonError<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("poisoned lock: another task failed inside")
    }
}

impl<T> PoisonError<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// std-shim's way of leaving the processor to a lock's holder: its runtime's `relax` (the
/// kernel's `yield`; on the host, also for threads outside any stub process).
pub struct Relax;

impl libeurali::sync::Relax for Relax {
    fn relax() {
        crate::sys::relax();
    }
}

type Raw = libeurali::sync::RawSpinLock<Relax>;

/// A mutual-exclusion lock (libeurali's one lock, in std's shape).
pub struct Mutex<T: ?Sized>(lock_api::Mutex<Raw, T>);

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex(lock_api::Mutex::new(value))
    }

    pub fn into_inner(self) -> LockResult<T> {
        Ok(self.0.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks (spinning, then yielding) until the lock is free.
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        Ok(MutexGuard(self.0.lock()))
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock().map(MutexGuard)
    }

    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        Ok(self.0.get_mut())
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + core::fmt::Debug> core::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.write_str("Mutex { <locked> }"),
        }
    }
}

/// Access to a locked [`Mutex`]; unlocks on drop.
pub struct MutexGuard<'a, T: ?Sized>(lock_api::MutexGuard<'a, Raw, T>);

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

const UNINIT: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;

/// A cell written once, read many times.
pub struct OnceLock<T> {
    state: AtomicU8,
    value: UnsafeCell<Option<T>>,
}

// Safety: the value is written once, before `state` says DONE with release ordering.
unsafe impl<T: Send + Sync> Sync for OnceLock<T> {}
// SAFETY: the value moves with the cell, and T is Send.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> OnceLock<T> {
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            state: AtomicU8::new(UNINIT),
            value: UnsafeCell::new(None),
        }
    }

    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == DONE {
            // Safety: DONE means written and never written again.
            unsafe { (*self.value.get()).as_ref() }
        } else {
            None
        }
    }

    /// The value, initialising it with `f` if no one has yet.
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        let mut spins = 0;
        loop {
            match self
                .state
                .compare_exchange(UNINIT, RUNNING, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => {
                    // Safety: RUNNING gives us exclusive write access.
                    unsafe { *self.value.get() = Some(f()) };
                    self.state.store(DONE, Ordering::Release);
                }
                Err(DONE) => {}
                Err(_) => {
                    libeurali::sync::backoff::<Relax>(&mut spins);
                    continue;
                }
            }
            return self.get().expect("initialised");
        }
    }

    /// Sets the value if unset; gives `value` back otherwise.
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut v = Some(value);
        self.get_or_init(|| v.take().expect("taken once"));
        match v {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs a closure once.
pub struct Once(OnceLock<()>);

impl Once {
    pub const fn new() -> Once {
        Once(OnceLock::new())
    }
    pub fn call_once(&self, f: impl FnOnce()) {
        self.0.get_or_init(f);
    }
    pub fn is_completed(&self) -> bool {
        self.0.get().is_some()
    }
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

/// A value initialised on first use.
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    init: Mutex<Option<F>>,
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock {
            cell: OnceLock::new(),
            init: Mutex::new(Some(f)),
        }
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        self.cell.get_or_init(|| {
            let f = self.init.lock().ok().and_then(|mut g| g.take());
            match f {
                Some(f) => f(),
                None => crate::rt::fatal("LazyLock initialiser ran twice"),
            }
        })
    }
}

/// A wake-up for one waiting thread, over a rendezvous (the kernel has no futex).
///
/// [`Notify::wait`] returns after a [`Notify::notify`] that came after the previous wait
/// returned, possibly at once; like a condition variable it may also return early, so callers
/// re-check their condition in a loop. Only one thread may wait at a time.
pub struct Notify {
    state: AtomicU8,
    wake: libeurali::Handle,
    sleep: libeurali::Handle,
}

const EMPTY: u8 = 0;
const NOTIFIED: u8 = 1;
const WAITING: u8 = 2;

impl Notify {
    pub fn new() -> crate::io::Result<Notify> {
        let (wake, sleep) = libeurali::new_rendezvous()?;
        Ok(Notify {
            state: AtomicU8::new(EMPTY),
            wake,
            sleep,
        })
    }

    /// Blocks until notified.
    pub fn wait(&self) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
        if self
            .state
            .compare_exchange(EMPTY, WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // The notifier saw WAITING and sends exactly once.
            let _ = libeurali::receive(&self.sleep);
        }
        self.state.store(EMPTY, Ordering::Release);
    }

    /// Wakes the waiter, or makes the next `wait` return at once.
    pub fn notify(&self) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == WAITING {
            let _ = libeurali::call_send(&self.wake, libeurali::Message::Short(0, 0, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutex_and_once() {
        let m = Mutex::new(1);
        *m.lock().unwrap() += 1;
        assert_eq!(*m.lock().unwrap(), 2);
        assert!(m.try_lock().is_some());
        let g = m.lock().unwrap();
        assert!(m.try_lock().is_none());
        drop(g);
        let o = OnceLock::new();
        assert_eq!(o.get(), None);
        assert_eq!(*o.get_or_init(|| 5), 5);
        assert_eq!(o.set(6), Err(6));
        static L: LazyLock<u32> = LazyLock::new(|| 7);
        assert_eq!(*L, 7);
    }
}
