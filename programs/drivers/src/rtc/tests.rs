//! The CMOS clock against a register-level model: BCD and binary, 12- and 24-hour, updates in
//! progress, a second that ticks between two reads.

use super::*;

/// An MC146818's time registers behind ports 0x70/0x71.
struct Cmos {
    regs: [u8; 128],
    index: u8,
    /// Status A reads that still report an update in progress.
    updating: usize,
    /// After this many reads of the seconds register, the clock ticks to `next` (as if an
    /// update ran in between).
    tick_after: Option<(usize, [u8; 128])>,
    second_reads: usize,
}

impl Cmos {
    /// A clock holding `t` as (year, month, day, hour, minute, second), kept per `status_b`.
    fn new(t: (u16, u8, u8, u8, u8, u8), status_b: u8) -> Cmos {
        Cmos {
            regs: encode(t, status_b),
            index: 0,
            updating: 0,
            tick_after: None,
            second_reads: 0,
        }
    }
}

fn to_bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

fn encode((year, month, day, hour, minute, second): (u16, u8, u8, u8, u8, u8), b: u8) -> [u8; 128] {
    let enc = |v: u8| if b & BINARY != 0 { v } else { to_bcd(v) };
    let mut r = [0u8; 128];
    r[reg::SECONDS as usize] = enc(second);
    r[reg::MINUTES as usize] = enc(minute);
    r[reg::HOURS as usize] = if b & HOURS_24 != 0 {
        enc(hour)
    } else {
        let h12 = if hour % 12 == 0 { 12 } else { hour % 12 };
        enc(h12) | if hour >= 12 { PM } else { 0 }
    };
    r[reg::DAY as usize] = enc(day);
    r[reg::MONTH as usize] = enc(month);
    r[reg::YEAR as usize] = enc((year % 100) as u8);
    r[reg::CENTURY as usize] = enc((year / 100) as u8);
    r[reg::STATUS_B as usize] = b;
    r
}

impl PortIo for Cmos {
    fn inb(&mut self, port: u16) -> u8 {
        assert_eq!(port, DATA);
        match self.index {
            reg::STATUS_A if self.updating > 0 => {
                self.updating -= 1;
                UPDATE_IN_PROGRESS
            }
            reg::SECONDS => {
                self.second_reads += 1;
                let v = self.regs[0];
                if let Some((n, next)) = self.tick_after
                    && self.second_reads == n
                {
                    self.regs = next;
                    self.tick_after = None;
                }
                v
            }
            i => self.regs[i as usize],
        }
    }
    fn outb(&mut self, port: u16, v: u8) {
        assert_eq!(port, INDEX);
        assert_eq!(v & 0x80, 0, "NMIs stay enabled");
        self.index = v;
    }
}

/// 2026-12-06 21:39:58 UTC (GNU `date -u -d @1796593198`).
const T: (u16, u8, u8, u8, u8, u8) = (2026, 12, 6, 21, 39, 58);
const SECS: u64 = 1_796_593_198;

#[test]
fn every_mode_reads_the_same_time() {
    for b in [0, HOURS_24, BINARY, BINARY | HOURS_24] {
        let mut c = Cmos::new(T, b);
        assert_eq!(now(&mut c), Ok((SECS, 0)), "status B {b:#x}");
    }
}

#[test]
fn twelve_hour_mode_midnight_and_noon() {
    for (hour, b) in [
        (0, 0),
        (12, 0),
        (0, BINARY),
        (12, BINARY),
        (23, 0),
        (1, BINARY),
    ] {
        let mut c = Cmos::new((2024, 2, 29, hour, 0, 0), b);
        assert_eq!(read(&mut c).map(|d| d.hour), Ok(hour), "{hour} in {b:#x}");
    }
}

#[test]
fn waits_for_an_update_to_end() {
    let mut c = Cmos::new(T, HOURS_24);
    c.updating = 500;
    assert_eq!(now(&mut c), Ok((SECS, 0)));
    assert_eq!(c.updating, 0);
    // An update that never ends: no time rather than a hang.
    let mut stuck = Cmos::new(T, HOURS_24);
    stuck.updating = usize::MAX;
    assert_eq!(read(&mut stuck), Err(Error::NoData));
}

#[test]
fn a_tick_between_reads_is_read_again() {
    // 2026-12-31 23:59:59 ticks to 2027-01-01 00:00:00 after the first read's seconds: the
    // first read has the old seconds and the new everything else (2027-01-01 00:00:59).
    let mut c = Cmos::new((2026, 12, 31, 23, 59, 59), 0);
    c.tick_after = Some((1, encode((2027, 1, 1, 0, 0, 0), 0)));
    let d = read(&mut c).unwrap();
    assert_eq!(d.to_unix(), Some(1_798_761_600));
    assert_eq!((d.year, d.month, d.day, d.second), (2027, 1, 1, 0));
}

#[test]
fn no_century_register_means_this_century_and_garbage_is_no_time() {
    let mut c = Cmos::new(T, HOURS_24);
    c.regs[reg::CENTURY as usize] = 0;
    assert_eq!(now(&mut c), Ok((SECS, 0)));
    // A clock that was never set (or no clock: every port reads 0xFF).
    let mut blank = Cmos::new(T, HOURS_24);
    blank.regs = [0xFF; 128];
    blank.regs[reg::STATUS_A as usize] = 0x26;
    assert_eq!(read(&mut blank), Err(Error::NoData));
    let mut zero = Cmos::new(T, HOURS_24);
    zero.regs[reg::MONTH as usize] = 0;
    assert_eq!(now(&mut zero), Err(Error::NoData));
}
