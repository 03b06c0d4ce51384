//! `std::time`: a monotonic clock and the wall clock.
//!
//! [`Instant`] is the kernel's clock since boot: on the real kernel it comes from the
//! KernelInfo page (PIT ticks refined by the TSC). [`SystemTime`] is the date and time in UTC,
//! asked of the clock device at `/dev/rtc` ([`libeurali::proto::rtc`]: the CMOS clock on the real
//! kernel, the host's clock on the stub) at every reading. A process without `/dev/rtc` in its
//! namespace has no wall clock: [`SystemTime::wall_clock`] says so, and [`SystemTime::now`] (which
//! std's signature does not let fail) counts from the Unix epoch at boot instead.

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

/// A point on the wall clock: a time since the Unix epoch, 1970-01-01 00:00:00 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime(Duration);

/// 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime(Duration::ZERO);

/// How far the later time of a [`SystemTime::duration_since`] was after the earlier.
#[derive(Clone, Debug)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl core::fmt::Display for SystemTimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("second time provided was later than self")
    }
}

impl core::error::Error for SystemTimeError {}

impl SystemTime {
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// The wall clock's time; where there is none, the Unix epoch plus the time since boot
    /// (so that durations between readings still hold). Use [`SystemTime::wall_clock`] to tell.
    pub fn now() -> SystemTime {
        SystemTime::wall_clock().unwrap_or(SystemTime(uptime()))
    }

    /// The wall clock's time (eurali extension): `NotFound` when this process has no
    /// `/dev/rtc`, the device's error when its clock holds no valid time.
    pub fn wall_clock() -> crate::io::Result<SystemTime> {
        use libeurali::proto::rtc;
        let h = match libeurali::open(rtc::PATH) {
            Ok((h, matched)) if matched == rtc::PATH.len() => h,
            _ => {
                return Err(crate::io::Error::const_msg(
                    crate::io::ErrorKind::NotFound,
                    "no wall clock here (no /dev/rtc)",
                ));
            }
        };
        let (secs, nanos) = rtc::read(&h)?;
        Ok(SystemTime(Duration::new(secs, nanos)))
    }

    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        self.0
            .checked_sub(earlier.0)
            .ok_or_else(|| SystemTimeError(earlier.0 - self.0))
    }

    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        SystemTime::now().duration_since(*self)
    }

    pub fn checked_add(&self, d: Duration) -> Option<SystemTime> {
        self.0.checked_add(d).map(SystemTime)
    }

    /// (Times before the epoch are not represented: `None`.)
    pub fn checked_sub(&self, d: Duration) -> Option<SystemTime> {
        self.0.checked_sub(d).map(SystemTime)
    }
}

impl Add<Duration> for SystemTime {
    type Output = SystemTime;
    fn add(self, d: Duration) -> SystemTime {
        self.checked_add(d)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for SystemTime {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for SystemTime {
    type Output = SystemTime;
    fn sub(self, d: Duration) -> SystemTime {
        self.checked_sub(d)
            .expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for SystemTime {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
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

    #[test]
    fn system_time_arithmetic() {
        let t = UNIX_EPOCH + Duration::from_secs(90);
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_secs(90)
        );
        let e = UNIX_EPOCH.duration_since(t).unwrap_err();
        assert_eq!(e.duration(), Duration::from_secs(90));
        assert_eq!(UNIX_EPOCH.checked_sub(Duration::from_secs(1)), None);
        assert_eq!(t - Duration::from_secs(90), SystemTime::UNIX_EPOCH);
    }
}
