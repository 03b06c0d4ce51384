//! A register-level model of the two legacy ATA channels, for the driver's tests: the task file
//! (with the LBA48 "previous" bytes of each register), status BSY/RDY/DRQ/ERR/DF, IDENTIFY
//! data, PIO sector transfers through the data port, SRST, and drives that misbehave: one that
//! never comes ready, one that reports ERR for a command, one with a device fault, an ATAPI
//! device, a floating bus. A driver access the real hardware would not make sense of (data port
//! use without DRQ, a register write while BSY) fails the test.

use super::{Channel, PRIMARY, SECONDARY, Waiter, cmd, control, reg, status};
use crate::port::PortIo;

/// What kind of device sits at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An ATA disk of `data.len() / 512` sectors.
    Disk { lba48: bool },
    /// A CD-ROM: IDENTIFY aborted with the ATAPI signature.
    Atapi,
}

/// One modelled drive.
#[derive(Clone, Debug)]
pub struct Drive {
    pub kind: Kind,
    pub data: Vec<u8>,
    /// Status reads that show BSY after each command and each sector.
    pub busy_polls: usize,
    /// Busy for ever (after reset too): a hung drive.
    pub hung: bool,
    /// Answer this command with ERR and ABRT.
    pub fail: Option<u8>,
    /// Answer every command after the first `fault_after` with DF.
    pub fault_after: Option<usize>,
    /// Commands received (after IDENTIFY).
    pub commands: Vec<u8>,
    /// Flushes received.
    pub flushes: usize,
    /// Sectors written (LBAs), in order.
    pub written: Vec<u64>,
    /// The last transfer command as the drive decoded it: command, LBA, sector count.
    pub last: Option<(u8, u64, u64)>,
}

impl Drive {
    pub fn disk(sectors: usize, lba48: bool) -> Drive {
        Drive {
            kind: Kind::Disk { lba48 },
            data: (0..sectors * 512)
                .map(|i| (i / 512 * 7 + i) as u8)
                .collect(),
            busy_polls: 2,
            hung: false,
            fail: None,
            fault_after: None,
            commands: Vec::new(),
            flushes: 0,
            written: Vec::new(),
            last: None,
        }
    }

    pub fn atapi() -> Drive {
        Drive {
            kind: Kind::Atapi,
            ..Drive::disk(0, false)
        }
    }

    /// IDENTIFY DEVICE's words.
    fn identify(&self) -> [u16; 256] {
        let mut id = [0u16; 256];
        let sectors = (self.data.len() / 512) as u64;
        id[0] = 0x0040;
        id[49] = 1 << 9;
        let lba28 = sectors.min(0x0FFF_FFFF);
        id[60] = lba28 as u16;
        id[61] = (lba28 >> 16) as u16;
        if let Kind::Disk { lba48: true } = self.kind {
            id[83] = 1 << 10;
            for i in 0..4 {
                id[100 + i] = (sectors >> (16 * i)) as u16;
            }
        }
        let name = b"EURALI MODEL DISK";
        for (i, pair) in name.chunks(2).enumerate() {
            let hi = pair[0] as u16;
            let lo = *pair.get(1).unwrap_or(&b' ') as u16;
            id[27 + i] = hi << 8 | lo;
        }
        for v in id.iter_mut().take(47).skip(27 + name.len().div_ceil(2)) {
            *v = 0x2020;
        }
        id
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Data out to the host: the sector buffer, then `left` more sectors from `lba`.
    ReadOut {
        lba: u64,
        left: u64,
    },
    /// IDENTIFY's words going out.
    IdentifyOut,
    /// Data in from the host: filling the buffer for `lba`, then `left` more.
    WriteIn {
        lba: u64,
        left: u64,
    },
}

/// One channel: two positions and the task file.
#[derive(Debug)]
pub struct ChannelModel {
    pub drives: [Option<Drive>; 2],
    selected: usize,
    /// Each register's current and previous byte (LBA48's "HOB").
    count: [u8; 2],
    lba: [[u8; 2]; 3],
    drive_reg: u8,
    error: u8,
    status: u8,
    busy_left: usize,
    state: State,
    buf: Vec<u8>,
    pos: usize,
    pub control: u8,
    pub resets: usize,
}

impl ChannelModel {
    pub fn new(master: Option<Drive>, slave: Option<Drive>) -> ChannelModel {
        ChannelModel {
            drives: [master, slave],
            selected: 0,
            count: [0; 2],
            lba: [[0; 2]; 3],
            drive_reg: 0,
            error: 0,
            status: status::RDY,
            busy_left: 0,
            state: State::Idle,
            buf: Vec::new(),
            pos: 0,
            control: 0,
            resets: 0,
        }
    }

    fn drive(&mut self) -> Option<&mut Drive> {
        self.drives[self.selected].as_mut()
    }

    fn floating(&self) -> bool {
        self.drives.iter().all(Option::is_none)
    }

    fn read_status(&mut self) -> u8 {
        if self.floating() {
            return 0xFF;
        }
        let Some(d) = self.drives[self.selected].as_ref() else {
            return 0;
        };
        if d.hung {
            return status::BSY;
        }
        if self.busy_left > 0 {
            self.busy_left -= 1;
            return status::BSY;
        }
        self.status
    }

    fn alt_status(&self) -> u8 {
        if self.floating() {
            return 0xFF;
        }
        match self.drives[self.selected].as_ref() {
            None => 0,
            Some(d) if d.hung => status::BSY,
            Some(_) if self.busy_left > 0 => status::BSY,
            Some(_) => self.status,
        }
    }

    fn busy_check(&self, what: &str) {
        if let Some(d) = self.drives[self.selected].as_ref() {
            assert!(
                d.hung || self.busy_left == 0,
                "{what} while the drive is busy"
            );
        }
    }

    fn write_reg(&mut self, r: u16, v: u8) {
        match r {
            reg::ERROR => {}
            reg::COUNT => self.count = [v, self.count[0]],
            reg::LBA_LO | reg::LBA_MID | reg::LBA_HI => {
                let i = (r - reg::LBA_LO) as usize;
                self.lba[i] = [v, self.lba[i][0]];
            }
            reg::DRIVE => {
                self.drive_reg = v;
                self.selected = ((v >> 4) & 1) as usize;
            }
            reg::STATUS => self.command(v),
            _ => panic!("write of ATA register {r}"),
        }
    }

    fn read_reg(&mut self, r: u16) -> u8 {
        if self.floating() {
            return 0xFF;
        }
        match r {
            reg::ERROR => self.error,
            reg::COUNT => self.count[0],
            reg::LBA_LO | reg::LBA_MID | reg::LBA_HI => self.lba[(r - reg::LBA_LO) as usize][0],
            reg::DRIVE => self.drive_reg,
            reg::STATUS => self.read_status(),
            _ => panic!("read of ATA register {r}"),
        }
    }

    fn fail(&mut self, error: u8, extra: u8) {
        self.status = status::RDY | status::ERR | extra;
        self.error = error;
        self.state = State::Idle;
    }

    fn command(&mut self, c: u8) {
        self.busy_check("a command");
        let Some(d) = self.drives[self.selected].as_mut() else {
            return; // nobody there: ignored
        };
        if d.hung {
            return;
        }
        let busy = d.busy_polls;
        let kind = d.kind.clone();
        d.commands.push(c);
        let faulty = d.fault_after.is_some_and(|n| d.commands.len() > n);
        let failing = d.fail == Some(c);
        let sectors = (d.data.len() / 512) as u64;
        self.busy_left = busy;
        self.error = 0;
        if kind == Kind::Atapi {
            // Aborted, with the packet device's signature.
            self.lba[1][0] = 0x14;
            self.lba[2][0] = 0xEB;
            return self.fail(0x04, 0);
        }
        if faulty {
            return self.fail(0x04, status::DF);
        }
        if failing {
            return self.fail(0x04, 0);
        }
        let ext = matches!(
            c,
            cmd::READ_SECTORS_EXT | cmd::WRITE_SECTORS_EXT | cmd::CACHE_FLUSH_EXT
        );
        let lba48 = kind == Kind::Disk { lba48: true };
        if ext && !lba48 {
            return self.fail(0x04, 0);
        }
        let (lba, count) = if ext {
            let b = |i: usize, h: usize| self.lba[i][h] as u64;
            let lba = b(0, 0) | b(1, 0) << 8 | b(2, 0) << 16 | b(0, 1) << 24 | b(1, 1) << 32;
            let lba = lba | b(2, 1) << 40;
            let n = (self.count[1] as u64) << 8 | self.count[0] as u64;
            (lba, if n == 0 { 65536 } else { n })
        } else {
            let lba = self.lba[0][0] as u64
                | (self.lba[1][0] as u64) << 8
                | (self.lba[2][0] as u64) << 16
                | ((self.drive_reg & 0x0F) as u64) << 24;
            let n = self.count[0] as u64;
            (lba, if n == 0 { 256 } else { n })
        };
        match c {
            cmd::IDENTIFY => {
                self.lba[1][0] = 0;
                self.lba[2][0] = 0;
                let id = self.drives[self.selected].as_ref().unwrap().identify();
                self.buf = id.iter().flat_map(|v| v.to_le_bytes()).collect();
                self.pos = 0;
                self.state = State::IdentifyOut;
                self.status = status::RDY | status::DRQ;
            }
            cmd::READ_SECTORS
            | cmd::READ_SECTORS_EXT
            | cmd::WRITE_SECTORS
            | cmd::WRITE_SECTORS_EXT => {
                assert_ne!(
                    self.drive_reg & 0x40,
                    0,
                    "a transfer without the LBA bit in the drive register"
                );
                self.drives[self.selected].as_mut().unwrap().last = Some((c, lba, count));
                if lba + count > sectors {
                    // ID not found.
                    return self.fail(0x10, 0);
                }
                if matches!(c, cmd::READ_SECTORS | cmd::READ_SECTORS_EXT) {
                    self.state = State::ReadOut {
                        lba,
                        left: count - 1,
                    };
                    self.load(lba);
                } else {
                    self.state = State::WriteIn {
                        lba,
                        left: count - 1,
                    };
                    self.buf.clear();
                    self.pos = 0;
                }
                self.status = status::RDY | status::DRQ;
            }
            cmd::CACHE_FLUSH | cmd::CACHE_FLUSH_EXT => {
                self.drives[self.selected].as_mut().unwrap().flushes += 1;
                self.state = State::Idle;
                self.status = status::RDY;
            }
            _ => self.fail(0x04, 0),
        }
    }

    fn load(&mut self, lba: u64) {
        let d = self.drives[self.selected].as_ref().unwrap();
        let at = lba as usize * 512;
        self.buf = d.data[at..at + 512].to_vec();
        self.pos = 0;
    }

    fn data_in(&mut self) -> u16 {
        self.busy_check("a data read");
        assert_ne!(self.status & status::DRQ, 0, "a data read without DRQ");
        let v = u16::from_le_bytes([self.buf[self.pos], self.buf[self.pos + 1]]);
        self.pos += 2;
        if self.pos == self.buf.len() {
            match self.state.clone() {
                State::ReadOut { lba, left } if left > 0 => {
                    self.state = State::ReadOut {
                        lba: lba + 1,
                        left: left - 1,
                    };
                    self.load(lba + 1);
                    self.busy_left = self.drive().map_or(0, |d| d.busy_polls);
                }
                _ => {
                    self.state = State::Idle;
                    self.status = status::RDY;
                }
            }
        }
        v
    }

    fn data_out(&mut self, v: u16) {
        self.busy_check("a data write");
        assert_ne!(self.status & status::DRQ, 0, "a data write without DRQ");
        let State::WriteIn { lba, left } = self.state.clone() else {
            panic!("a data write with no write command");
        };
        self.buf.extend_from_slice(&v.to_le_bytes());
        if self.buf.len() == 512 {
            let buf = core::mem::take(&mut self.buf);
            let d = self.drive().unwrap();
            let at = lba as usize * 512;
            d.data[at..at + 512].copy_from_slice(&buf);
            d.written.push(lba);
            self.busy_left = d.busy_polls;
            if left > 0 {
                self.state = State::WriteIn {
                    lba: lba + 1,
                    left: left - 1,
                };
            } else {
                self.state = State::Idle;
                self.status = status::RDY;
            }
        }
    }

    fn write_control(&mut self, v: u8) {
        if v & control::SRST != 0 && self.control & control::SRST == 0 {
            self.resets += 1;
            self.state = State::Idle;
            self.status = status::RDY;
            self.error = 0;
            self.busy_left = 0;
            self.selected = 0;
        }
        self.control = v;
    }
}

/// Both channels, at their ports.
#[derive(Debug)]
pub struct Bus {
    pub primary: ChannelModel,
    pub secondary: ChannelModel,
    /// Port accesses so far (a bound on the driver's work).
    pub accesses: usize,
}

impl Bus {
    pub fn new(primary: ChannelModel, secondary: ChannelModel) -> Bus {
        Bus {
            primary,
            secondary,
            accesses: 0,
        }
    }

    fn at(&mut self, port: u16) -> (&mut ChannelModel, Option<u16>) {
        self.accesses += 1;
        let on = |ch: Channel| port == ch.ctrl || (ch.base..ch.base + 8).contains(&port);
        let (m, ch) = if on(PRIMARY) {
            (&mut self.primary, PRIMARY)
        } else if on(SECONDARY) {
            (&mut self.secondary, SECONDARY)
        } else {
            panic!("port {port:#x} is no ATA port");
        };
        (m, (port != ch.ctrl).then(|| port - ch.base))
    }

    pub fn channel(&mut self, ch: Channel) -> &mut ChannelModel {
        if ch == PRIMARY {
            &mut self.primary
        } else {
            &mut self.secondary
        }
    }
}

impl PortIo for Bus {
    fn inb(&mut self, port: u16) -> u8 {
        match self.at(port) {
            (m, None) => m.alt_status(),
            (m, Some(r)) => m.read_reg(r),
        }
    }
    fn outb(&mut self, port: u16, v: u8) {
        match self.at(port) {
            (m, None) => m.write_control(v),
            (m, Some(r)) => m.write_reg(r, v),
        }
    }
    fn inw(&mut self, port: u16) -> u16 {
        match self.at(port) {
            (m, Some(reg::DATA)) => m.data_in(),
            _ => panic!("16-bit read of port {port:#x}"),
        }
    }
    fn outw(&mut self, port: u16, v: u16) {
        match self.at(port) {
            (m, Some(reg::DATA)) => m.data_out(v),
            _ => panic!("16-bit write of port {port:#x}"),
        }
    }
}

/// A test's clock: it moves 1 ms at each pause, so a wait's limit passes after a bounded
/// number of polls, without waiting for real.
#[derive(Debug, Default)]
pub struct TestClock {
    pub us: u64,
    pub pauses: usize,
}

impl Waiter for TestClock {
    fn now_us(&mut self) -> u64 {
        self.us
    }
    fn pause(&mut self) {
        self.us += 1000;
        self.pauses += 1;
    }
}
