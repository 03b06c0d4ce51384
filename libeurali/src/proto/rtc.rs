//! The wall clock, `/dev/rtc`: what time it is (UTC), for std's `SystemTime`.
//!
//! Served on the real kernel by `drivers rtc` (it reads the CMOS real-time clock, which needs
//! I/O privilege) and on the host by kernel-stub's clock device (the host's clock); init mounts
//! it at [`PATH`] and login puts it in every session. The device handle is the rendezvous
//! mounted there; a request is a `send_receive` ([`crate::rcall`]) and gets one reply.
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Short(RTC_READ, 0, 0)` | `Short(RTC_TIME, seconds, nanoseconds)`: seconds since 1970-01-01 00:00:00 UTC (leap seconds not counted, as Unix time), `nanoseconds < 10^9`; `Short(ERROR, code, 0)` | yes |
//! | a message carrying a handle in its first word (a file-protocol open, which is a `send`) | none: the message is dropped, which closes the handle (the opener's session fails at once) | |
//! | anything else | `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)`; the server goes on serving | |
//!
//! - ERROR codes are [`crate::Error`] codes: 16 NO_DATA (the clock holds no valid time: a CMOS
//!   clock that was never set, or reads garbage).
//! - The CMOS clock counts whole seconds: the real kernel's server answers `nanoseconds = 0`.
//! - A client must open [`PATH`] as a whole mount (`open`'s matched length equal to the path's),
//!   or it would ask whatever serves a directory above it.
//! - Message types are eurali's (0x1500..).
//!
//! [`DateTime`] turns seconds into a calendar date and back (proleptic Gregorian calendar, UTC),
//! for the clock's server and for programs that print dates.

use crate::error::Error;
use crate::message::{Message, rcall, receive, send};
use crate::msgtype;
use crate::object::Handle;

use super::stream::{error_from, error_reply, unknown_reply};

/// Where init mounts the clock.
pub const PATH: &str = "/dev/rtc";
/// What time is it?
pub const RTC_READ: u64 = 0x1500;
/// The reply to [`RTC_READ`].
pub const RTC_TIME: u64 = 0x1501;

/// Client side: the time on the clock behind `h`, as (seconds, nanoseconds) since the Unix epoch.
pub fn read(h: &Handle) -> Result<(u64, u32), Error> {
    match rcall(h, Message::Short(RTC_READ, 0, 0))?.values() {
        (RTC_TIME, secs, nanos) if nanos < 1_000_000_000 => Ok((secs, nanos as u32)),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// Server side: the reply carrying a time.
pub const fn time_reply(secs: u64, nanos: u32) -> Message {
    Message::Short(RTC_TIME, secs, nanos as u64)
}

/// Server side: answers [`RTC_READ`] on `h` with `now()` until the handle fails.
pub fn serve(h: &Handle, mut now: impl FnMut() -> Result<(u64, u32), Error>) {
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match m {
            Message::Short(RTC_READ, _, _) => match now() {
                Ok((secs, nanos)) => time_reply(secs, nanos.min(999_999_999)),
                Err(e) => error_reply(e),
            },
            // A file-protocol open (`ls /dev` opens every mount point in it) is a send, not a
            // call: a reply would wait for a receiver that never comes, and every reader of
            // the clock after it with it. Dropping it closes the session handle it carries.
            Message::Long(_, crate::Word::Handle(_), _) => continue,
            _ => unknown_reply(),
        };
        // A requester that is gone changes nothing.
        let _ = send(h, reply);
    }
}

/// A date and time of day in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: u32,
    /// 1..=12
    pub month: u8,
    /// 1..=31
    pub day: u8,
    /// 0..=23
    pub hour: u8,
    /// 0..=59
    pub minute: u8,
    /// 0..=59
    pub second: u8,
}

const SECS_PER_DAY: u64 = 86_400;

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl DateTime {
    /// Whether every field is in range (the day for its month and year).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// Days since 1970-01-01; `None` before it or for an invalid date.
    pub fn days(&self) -> Option<u64> {
        if !self.is_valid() || self.year < 1970 {
            return None;
        }
        // Days before this year's first of January, then this year's.
        let y = self.year as u64 - 1;
        let before = 365 * y + y / 4 - y / 100 + y / 400 - 719_162;
        Some(before + self.day_of_year() as u64 - 1)
    }

    /// Seconds since the Unix epoch; `None` before 1970 or for an invalid date.
    pub fn to_unix(&self) -> Option<u64> {
        let secs = self.hour as u64 * 3600 + self.minute as u64 * 60 + self.second as u64;
        Some(self.days()? * SECS_PER_DAY + secs)
    }

    /// The date and time `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: u64) -> DateTime {
        let (mut days, rem) = (secs / SECS_PER_DAY, secs % SECS_PER_DAY);
        // Whole 400-year cycles (146 097 days each) first, then years one by one (at most 400).
        let mut year = 1970 + 400 * (days / 146_097) as u32;
        days %= 146_097;
        loop {
            let len = if is_leap(year) { 366 } else { 365 };
            if days < len {
                break;
            }
            days -= len;
            year += 1;
        }
        let mut month = 1;
        loop {
            let len = days_in_month(year, month) as u64;
            if days < len {
                break;
            }
            days -= len;
            month += 1;
        }
        DateTime {
            year,
            month,
            day: days as u8 + 1,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// 1..=366.
    pub fn day_of_year(&self) -> u16 {
        let before: u16 = (1..self.month)
            .map(|m| days_in_month(self.year, m) as u16)
            .sum();
        before + self.day as u16
    }

    /// 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday).
    pub fn weekday(&self) -> u8 {
        self.days().map_or(0, |d| ((d + 4) % 7) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(year: u32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn known_dates() {
        // From GNU `date -u -d @SECONDS`.
        for (secs, when, weekday, yday) in [
            (0, dt(1970, 1, 1, 0, 0, 0), 4, 1),
            (951_782_400, dt(2000, 2, 29, 0, 0, 0), 2, 60),
            (1_709_251_199, dt(2024, 2, 29, 23, 59, 59), 4, 60),
            (1_796_593_198, dt(2026, 12, 6, 21, 39, 58), 0, 340),
            (1_798_761_599, dt(2026, 12, 31, 23, 59, 59), 4, 365),
            (4_107_542_400, dt(2100, 3, 1, 0, 0, 0), 1, 60),
            (253_402_300_799, dt(9999, 12, 31, 23, 59, 59), 5, 365),
        ] {
            assert_eq!(DateTime::from_unix(secs), when, "{secs}");
            assert_eq!(when.to_unix(), Some(secs), "{when:?}");
            assert_eq!(when.weekday(), weekday, "{when:?}");
            assert_eq!(when.day_of_year(), yday, "{when:?}");
        }
    }

    #[test]
    fn every_day_round_trips() {
        let mut last = None;
        for day in 0..(200 * 366) {
            let secs = day * SECS_PER_DAY + 43_210;
            let d = DateTime::from_unix(secs);
            assert!(d.is_valid(), "{d:?}");
            assert_eq!(d.to_unix(), Some(secs));
            if let Some(prev) = last {
                assert_eq!(d.weekday(), (prev + 1) % 7);
            }
            last = Some(d.weekday());
        }
    }

    #[test]
    fn invalid_dates_have_no_time() {
        assert_eq!(dt(2023, 2, 29, 0, 0, 0).to_unix(), None);
        assert_eq!(dt(1900, 2, 29, 0, 0, 0).to_unix(), None);
        assert_eq!(dt(2024, 13, 1, 0, 0, 0).to_unix(), None);
        assert_eq!(dt(2024, 4, 31, 0, 0, 0).to_unix(), None);
        assert_eq!(dt(2024, 4, 30, 24, 0, 0).to_unix(), None);
        assert_eq!(dt(1969, 12, 31, 23, 59, 59).to_unix(), None);
        assert_eq!(dt(2024, 0, 1, 0, 0, 0).to_unix(), None);
    }
}
