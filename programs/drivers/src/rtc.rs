//! The CMOS real-time clock (MC146818-compatible, ports 0x70/0x71): the date and time the
//! machine kept while it was off, served as `/dev/rtc` ([`libeurali::proto::rtc`]).
//!
//! A read follows the chip's rules: wait until no update is in progress (status A bit 7),
//! read every register, and do it again until two reads in a row agree (an update may start
//! between the look and the reads). Status register B says how the values are kept: BCD or
//! binary (bit 2), 12- or 24-hour (bit 1; in 12-hour mode bit 7 of the hour is PM). The
//! century comes from register 0x32 where the machine keeps it there (QEMU, most PCs' ACPI
//! century register), else the years are taken as 2000..2099. The clock is taken to run in UTC,
//! as QEMU's does by default (`-rtc base=utc`).

use libeurali::Error;
use libeurali::proto::rtc::DateTime;

use crate::port::PortIo;

/// The CMOS index port (bit 7 of what is written there masks NMIs: left clear).
pub const INDEX: u16 = 0x70;
/// The CMOS data port.
pub const DATA: u16 = 0x71;

/// CMOS registers.
pub mod reg {
    pub const SECONDS: u8 = 0x00;
    pub const MINUTES: u8 = 0x02;
    pub const HOURS: u8 = 0x04;
    pub const DAY: u8 = 0x07;
    pub const MONTH: u8 = 0x08;
    pub const YEAR: u8 = 0x09;
    pub const STATUS_A: u8 = 0x0A;
    pub const STATUS_B: u8 = 0x0B;
    pub const CENTURY: u8 = 0x32;
}

/// Status A: an update of the time registers is in progress (or begins within 244 µs).
pub const UPDATE_IN_PROGRESS: u8 = 0x80;
/// Status B: 24-hour mode.
pub const HOURS_24: u8 = 0x02;
/// Status B: binary values (else BCD).
pub const BINARY: u8 = 0x04;
/// The hour's PM bit in 12-hour mode.
pub const PM: u8 = 0x80;

/// Polls of status A while an update is in progress (an update takes under 2 ms; a poll of a
/// real port about 1 µs) before a read gives up.
const UPDATE_SPINS: usize = 100_000;
/// Pairs of reads that may disagree before a read gives up.
const TRIES: usize = 8;

fn cmos(io: &mut impl PortIo, r: u8) -> u8 {
    io.outb(INDEX, r);
    io.inb(DATA)
}

/// The time registers as the chip holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Raw {
    second: u8,
    minute: u8,
    hour: u8,
    day: u8,
    month: u8,
    year: u8,
    century: u8,
    status_b: u8,
}

/// One read of every register once no update is in progress; `None` if one never ends.
fn read_raw(io: &mut impl PortIo) -> Option<Raw> {
    (0..UPDATE_SPINS).find(|_| cmos(io, reg::STATUS_A) & UPDATE_IN_PROGRESS == 0)?;
    Some(Raw {
        second: cmos(io, reg::SECONDS),
        minute: cmos(io, reg::MINUTES),
        hour: cmos(io, reg::HOURS),
        day: cmos(io, reg::DAY),
        month: cmos(io, reg::MONTH),
        year: cmos(io, reg::YEAR),
        century: cmos(io, reg::CENTURY),
        status_b: cmos(io, reg::STATUS_B),
    })
}

fn from_bcd(v: u8) -> u8 {
    (v >> 4) * 10 + (v & 0x0F)
}

impl Raw {
    fn decode(&self) -> Option<DateTime> {
        let bin = |v: u8| {
            if self.status_b & BINARY != 0 {
                v
            } else {
                from_bcd(v)
            }
        };
        let mut hour = bin(self.hour & !PM);
        if self.status_b & HOURS_24 == 0 {
            // 12 AM is 0, 12 PM is 12.
            hour %= 12;
            if self.hour & PM != 0 {
                hour += 12;
            }
        }
        let century = match bin(self.century) {
            c @ 19..=21 => c as u32,
            _ => 20,
        };
        let d = DateTime {
            year: century * 100 + bin(self.year) as u32,
            month: bin(self.month),
            day: bin(self.day),
            hour,
            minute: bin(self.minute),
            second: bin(self.second),
        };
        d.is_valid().then_some(d)
    }
}

/// The date and time on the clock. `NoData` if it holds no valid date (never set, no clock)
/// or never reads the same twice.
pub fn read(io: &mut impl PortIo) -> Result<DateTime, Error> {
    let mut last = read_raw(io).ok_or(Error::NoData)?;
    for _ in 0..TRIES {
        let now = read_raw(io).ok_or(Error::NoData)?;
        if now == last {
            return now.decode().ok_or(Error::NoData);
        }
        last = now;
    }
    Err(Error::NoData)
}

/// The clock as `/dev/rtc` answers: seconds since the Unix epoch, no fraction.
pub fn now(io: &mut impl PortIo) -> Result<(u64, u32), Error> {
    let d = read(io)?;
    Ok((d.to_unix().ok_or(Error::NoData)?, 0))
}

#[cfg(test)]
mod tests;
