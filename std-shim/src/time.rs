//! `std::time`: a monotonic clock. On the real kernel it comes from the KernelInfo page (PIT
//! ticks refined by the TSC); there is no wall clock.

use core::ops::{Add, AddAssign, Sub, SubAssign};

pub use core::time::Duration;

/// Time since boot (eurali extension: the kernel's clock starts at boot; on the host stub it
/// starts at the host process's first reading).
pub fn uptime() -> Duration {
    Duration::from_micros(crate::sys::now_micros())
}

/// A point on the monotonic clock, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    pub fn now() -> Instant {
        Instant(crate::sys::now_micros())
    }

    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_micros)
    }

    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        u64::try_from(d.as_micros())
            .ok()
            .and_then(|us| self.0.checked_add(us))
            .map(Instant)
    }

    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        u64::try_from(d.as_micros())
            .ok()
            .and_then(|us| self.0.checked_sub(us))
            .map(Instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d)
            .expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.saturating_duration_since(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let a = Instant(1_000);
        let b = a + Duration::from_millis(2);
        assert_eq!(b - a, Duration::from_micros(2_000));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(a.checked_duration_since(b), None);
        assert!(Instant::now() >= Instant::now() - Duration::from_micros(0));
    }
}
