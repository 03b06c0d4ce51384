//! The one lock of eurali's userland: a mutual-exclusion lock that spins briefly, then gives the
//! processor away while another thread holds it (the kernel has no futex and no timeouts), as a
//! [`lock_api::RawMutex`] so that the guard types and their rules are lock_api's.
//!
//! How a waiter gives the processor away is a [`Relax`]: [`Yield`] asks the kernel (`yield`);
//! std-shim's locks use its runtime's own, which on the host also serves threads outside any
//! stub process.

use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};

/// How a waiter leaves the processor to the lock's holder.
pub trait Relax {
    fn relax();
}

/// [`Relax`] by the kernel's `yield`.
pub struct Yield;

impl Relax for Yield {
    fn relax() {
        crate::yield_now();
    }
}

/// Spins this many times before it relaxes: a holder on another processor is usually done by
/// then.
const SPINS: u32 = 64;

/// One wait of a spin-then-relax loop: the first [`SPINS`] spin, later ones relax. For locks and
/// one-time cells alike.
pub fn backoff<R: Relax>(spins: &mut u32) {
    if *spins < SPINS {
        *spins += 1;
        core::hint::spin_loop();
    } else {
        R::relax();
    }
}

/// The raw lock: a flag, taken by compare-and-swap.
pub struct RawSpinLock<R> {
    locked: AtomicBool,
    relax: PhantomData<fn() -> R>,
}

// SAFETY: `lock` returns only once this thread set the flag from false to true (Acquire), so
// one holder at a time; `unlock` clears it (Release), publishing the holder's writes.
unsafe impl<R: Relax> lock_api::RawMutex for RawSpinLock<R> {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's pattern: each use is a new lock
    const INIT: Self = RawSpinLock {
        locked: AtomicBool::new(false),
        relax: PhantomData,
    };
    type GuardMarker = lock_api::GuardSend;

    fn lock(&self) {
        let mut spins = 0;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            backoff::<R>(&mut spins);
        }
    }

    fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    unsafe fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

/// A lock whose waiters yield to the kernel.
pub type Lock<T> = lock_api::Mutex<RawSpinLock<Yield>, T>;
/// Access to a locked [`Lock`]; unlocks on drop.
pub type Guard<'a, T> = lock_api::MutexGuard<'a, RawSpinLock<Yield>, T>;

#[cfg(test)]
mod tests {
    use super::*;

    struct Spin;
    impl Relax for Spin {
        fn relax() {
            std::thread::yield_now();
        }
    }

    #[test]
    fn one_holder_at_a_time() {
        static L: lock_api::Mutex<RawSpinLock<Spin>, u64> =
            lock_api::Mutex::const_new(<RawSpinLock<Spin> as lock_api::RawMutex>::INIT, 0);
        let threads: std::vec::Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..10_000 {
                        *L.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*L.lock(), 40_000);
        let g = L.lock();
        assert!(L.try_lock().is_none());
        drop(g);
        assert!(L.try_lock().is_some());
    }
}
