//! ATA (IDE) disks by polled PIO: the real kernel's `/dev/disk0` ([`libeurali::proto::block`]).
//!
//! Port I/O only, on the two legacy channels: primary (task file 0x1F0..=0x1F7, control
//! 0x3F6) and secondary (0x170..=0x177, 0x376). No interrupts (the kernel lets only IRQ 1 be
//! awaited): `nIEN` is set and every wait polls the status register, spinning a little, then
//! yielding between looks, up to a time limit ([`Waiter`]). A drive that never comes ready or
//! never asks for data is a [`AtaError::Timeout`], never a hang; a drive that sets ERR or DF is
//! an [`AtaError::Device`] error; after either, the channel is reset (SRST) so that the next
//! command starts clean.
//!
//! The boot disk (QEMU's `index=0`, the primary master) is never touched: only the three other
//! positions are probed and served ([`SERVED`]). QEMU attaches a data disk as the primary slave
//! with `-drive file=disk.img,format=raw,if=ide,index=1`; its default CD-ROM (secondary
//! master) answers IDENTIFY as ATAPI and is skipped ([`AtaError::NotAta`]).
//!
//! IDENTIFY DEVICE gives the size: words 60..61 (LBA28) or, where word 83 bit 10 says LBA48 is
//! supported, words 100..103. Transfers use READ/WRITE SECTORS (LBA28) while they end below
//! 2^28 sectors, the EXT commands (LBA48) above; at most 256 sectors per command, which is the
//! block protocol's [`MAX_SECTORS`]. FLUSH is CACHE FLUSH (EXT).

use alloc::string::String;
use alloc::vec::Vec;

use libeurali::proto::block::{BlockDevice, BlockError, Info, MAX_SECTORS, SECTOR_SIZE};

use crate::port::PortIo;

/// Task-file register offsets from a channel's base port.
pub mod reg {
    pub const DATA: u16 = 0;
    /// Read: error; write: features.
    pub const ERROR: u16 = 1;
    pub const COUNT: u16 = 2;
    pub const LBA_LO: u16 = 3;
    pub const LBA_MID: u16 = 4;
    pub const LBA_HI: u16 = 5;
    pub const DRIVE: u16 = 6;
    /// Read: status; write: command.
    pub const STATUS: u16 = 7;
}

/// Status register bits.
pub mod status {
    pub const ERR: u8 = 0x01;
    pub const DRQ: u8 = 0x08;
    pub const DF: u8 = 0x20;
    pub const RDY: u8 = 0x40;
    pub const BSY: u8 = 0x80;
}

/// Device control register bits (the control port; reading it is the alternate status).
pub mod control {
    /// No interrupts: this driver polls.
    pub const NIEN: u8 = 0x02;
    /// Software reset of both drives of the channel.
    pub const SRST: u8 = 0x04;
}

/// Commands.
pub mod cmd {
    pub const READ_SECTORS: u8 = 0x20;
    pub const READ_SECTORS_EXT: u8 = 0x24;
    pub const WRITE_SECTORS: u8 = 0x30;
    pub const WRITE_SECTORS_EXT: u8 = 0x34;
    pub const CACHE_FLUSH: u8 = 0xE7;
    pub const CACHE_FLUSH_EXT: u8 = 0xEA;
    pub const IDENTIFY: u8 = 0xEC;
}

/// One of the two legacy channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    /// The task file's first port.
    pub base: u16,
    /// The device control / alternate status port.
    pub ctrl: u16,
}

pub const PRIMARY: Channel = Channel {
    base: 0x1F0,
    ctrl: 0x3F6,
};
pub const SECONDARY: Channel = Channel {
    base: 0x170,
    ctrl: 0x376,
};

/// Where a drive sits: QEMU's `index=` (0 primary master .. 3 secondary slave).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position(pub u8);

impl Position {
    pub const fn channel(self) -> Channel {
        if self.0 < 2 { PRIMARY } else { SECONDARY }
    }
    pub const fn slave(self) -> bool {
        self.0 & 1 == 1
    }
}

impl core::fmt::Display for Position {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ch = if self.0 < 2 { "primary" } else { "secondary" };
        let d = if self.slave() { "slave" } else { "master" };
        write!(f, "{ch} {d} (index {})", self.0)
    }
}

/// The positions probed and served, in order: every one but the boot disk's (index 0).
pub const SERVED: [Position; 3] = [Position(1), Position(2), Position(3)];

/// Why a drive could not be used or a command failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtaError {
    /// Nothing there (a floating bus, or a status of 0 after IDENTIFY).
    NoDevice,
    /// A device, but not an ATA disk (ATAPI: a CD-ROM; SATA in legacy mode answering PATAPI).
    NotAta,
    /// An ATA disk without LBA addressing, or one that reports no sectors.
    Unsupported,
    /// The drive stayed busy, or never asked for data, past the time limit.
    Timeout,
    /// The drive reported an error (ERR, with its error register) or a device fault (DF).
    Device { status: u8, error: u8 },
    /// A transfer past the drive's end (refused before anything is sent to the drive).
    OutOfRange,
}

impl core::fmt::Display for AtaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AtaError::NoDevice => f.write_str("no drive"),
            AtaError::NotAta => f.write_str("not an ATA disk (ATAPI or SATA)"),
            AtaError::Unsupported => f.write_str("an ATA disk without LBA or without sectors"),
            AtaError::Timeout => f.write_str("the drive did not answer in time"),
            AtaError::Device { status, error } if status & status::DF != 0 => {
                write!(f, "device fault (status {status:#04x}, error {error:#04x})")
            }
            AtaError::Device { status, error } => {
                write!(f, "drive error (status {status:#04x}, error {error:#04x})")
            }
            AtaError::OutOfRange => f.write_str("sectors past the end of the drive"),
        }
    }
}

impl From<AtaError> for BlockError {
    fn from(e: AtaError) -> BlockError {
        match e {
            AtaError::OutOfRange => BlockError::OutOfRange,
            _ => BlockError::Io,
        }
    }
}

/// Time for the driver's waits: the real kernel's clock and `yield` ([`KernelWaiter`]), or a
/// test's clock that moves only when the driver pauses.
pub trait Waiter {
    /// Microseconds since any fixed moment.
    fn now_us(&mut self) -> u64;
    /// Lets other threads run between polls (after [`SPINS`] polls of one wait).
    fn pause(&mut self);
}

/// Polls of one wait before the driver starts pausing between them. QEMU finishes a sector
/// in microseconds (its block layer runs beside the vCPU), but a yield on an idle machine costs
/// a timer tick (~55 ms, ABI §9.4): yielding at once would make a 256-sector read take seconds.
/// A port read costs about a microsecond, so this spins some 10 ms before yielding.
pub const SPINS: u32 = 10_000;
/// How long one wait may last: a real drive spinning up takes seconds.
pub const WAIT_LIMIT_US: u64 = 5_000_000;

/// The real kernel's time: std's monotonic clock, and `yield`.
pub struct KernelWaiter(std::time::Instant);

impl KernelWaiter {
    pub fn new() -> KernelWaiter {
        KernelWaiter(std::time::Instant::now())
    }
}

impl Default for KernelWaiter {
    fn default() -> KernelWaiter {
        KernelWaiter::new()
    }
}

impl Waiter for KernelWaiter {
    fn now_us(&mut self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
    fn pause(&mut self) {
        libeurali::yield_now();
    }
}

/// An ATA disk found by IDENTIFY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drive {
    pub pos: Position,
    /// Its size in 512-byte sectors.
    pub sectors: u64,
    /// Whether it takes the EXT (LBA48) commands.
    pub lba48: bool,
    /// Its model name (IDENTIFY words 27..46), trimmed.
    pub model: String,
}

/// Polls `ch`'s status until `done` says so, BSY being clear; a timeout after
/// [`WAIT_LIMIT_US`]. Returns the last status.
fn wait(
    io: &mut impl PortIo,
    w: &mut impl Waiter,
    ch: Channel,
    done: impl Fn(u8) -> bool,
) -> Result<u8, AtaError> {
    let start = w.now_us();
    let mut polls = 0u32;
    loop {
        let s = io.inb(ch.base + reg::STATUS);
        if s & status::BSY == 0 && done(s) {
            return Ok(s);
        }
        polls = polls.saturating_add(1);
        if polls > SPINS {
            if w.now_us().saturating_sub(start) > WAIT_LIMIT_US {
                return Err(AtaError::Timeout);
            }
            w.pause();
        }
    }
}

/// The 400 ns a drive needs after a select or a command before its status means anything:
/// four reads of the alternate status (each at least 100 ns).
fn settle(io: &mut impl PortIo, ch: Channel) {
    for _ in 0..4 {
        io.inb(ch.ctrl);
    }
}

/// The error a status with ERR or DF set means (reading the error register).
fn check(io: &mut impl PortIo, ch: Channel, s: u8) -> Result<u8, AtaError> {
    if s & (status::ERR | status::DF) != 0 {
        return Err(AtaError::Device {
            status: s,
            error: io.inb(ch.base + reg::ERROR),
        });
    }
    Ok(s)
}

/// Resets both drives of `ch` (SRST), leaving interrupts off; a drive still busy afterwards
/// is left to the next command's wait.
pub fn reset(io: &mut impl PortIo, w: &mut impl Waiter, ch: Channel) {
    io.outb(ch.ctrl, control::SRST | control::NIEN);
    settle(io, ch);
    io.outb(ch.ctrl, control::NIEN);
    settle(io, ch);
    let _ = wait(io, w, ch, |_| true);
}

/// IDENTIFY DEVICE at `pos`: the drive, if an ATA disk with LBA sits there.
pub fn identify(
    io: &mut impl PortIo,
    w: &mut impl Waiter,
    pos: Position,
) -> Result<Drive, AtaError> {
    let ch = pos.channel();
    // Nobody drives a bus without drives: it floats to 0xFF.
    if io.inb(ch.base + reg::STATUS) == 0xFF {
        return Err(AtaError::NoDevice);
    }
    io.outb(ch.ctrl, control::NIEN);
    io.outb(ch.base + reg::DRIVE, 0xA0 | (pos.slave() as u8) << 4);
    settle(io, ch);
    for r in [reg::COUNT, reg::LBA_LO, reg::LBA_MID, reg::LBA_HI] {
        io.outb(ch.base + r, 0);
    }
    io.outb(ch.base + reg::STATUS, cmd::IDENTIFY);
    settle(io, ch);
    if io.inb(ch.base + reg::STATUS) == 0 {
        return Err(AtaError::NoDevice);
    }
    let r = identify_data(io, w, ch);
    if matches!(r, Err(AtaError::Timeout)) {
        reset(io, w, ch);
    }
    parse_identify(pos, &r?)
}

/// The 256 words of an IDENTIFY the drive at the selected position answers.
fn identify_data(
    io: &mut impl PortIo,
    w: &mut impl Waiter,
    ch: Channel,
) -> Result<[u16; 256], AtaError> {
    wait(io, w, ch, |_| true)?;
    // An ATAPI or SATA device puts its signature here and aborts the command.
    if io.inb(ch.base + reg::LBA_MID) != 0 || io.inb(ch.base + reg::LBA_HI) != 0 {
        return Err(AtaError::NotAta);
    }
    let s = wait(io, w, ch, |s| {
        s & (status::DRQ | status::ERR | status::DF) != 0
    })?;
    check(io, ch, s)?;
    let mut words = [0u16; 256];
    for v in words.iter_mut() {
        *v = io.inw(ch.base + reg::DATA);
    }
    Ok(words)
}

/// The drive IDENTIFY's words describe.
pub fn parse_identify(pos: Position, id: &[u16; 256]) -> Result<Drive, AtaError> {
    // Word 0 bit 15: not an ATA device.
    if id[0] & 0x8000 != 0 {
        return Err(AtaError::NotAta);
    }
    // Word 49 bit 9: LBA supported.
    if id[49] & (1 << 9) == 0 {
        return Err(AtaError::Unsupported);
    }
    let lba28 = id[60] as u64 | (id[61] as u64) << 16;
    let lba48 = id[83] & (1 << 10) != 0;
    let big = (0..4).fold(0u64, |v, i| v | (id[100 + i] as u64) << (16 * i));
    let sectors = if lba48 && big > 0 { big } else { lba28 };
    if sectors == 0 {
        return Err(AtaError::Unsupported);
    }
    // The model string: two characters a word, the first in the high byte.
    let mut model = String::new();
    for v in &id[27..47] {
        for b in [(v >> 8) as u8, *v as u8] {
            model.push(if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            });
        }
    }
    Ok(Drive {
        pos,
        sectors,
        lba48,
        model: String::from(model.trim()),
    })
}

/// The ATA disks at the [`SERVED`] positions, and what was found where there was none.
pub fn probe(
    io: &mut impl PortIo,
    w: &mut impl Waiter,
) -> Vec<(Position, Result<Drive, AtaError>)> {
    SERVED.iter().map(|&p| (p, identify(io, w, p))).collect()
}

/// Whether a transfer of `count` sectors from `lba` needs the EXT commands.
fn needs_lba48(lba: u64, count: usize) -> bool {
    lba + count as u64 > 1 << 28
}

impl Drive {
    /// Sends a command with its LBA and count (`1..=256` sectors) to the drive.
    fn command(
        &self,
        io: &mut impl PortIo,
        w: &mut impl Waiter,
        lba: u64,
        count: usize,
        c28: u8,
        c48: u8,
    ) -> Result<(), AtaError> {
        let ch = self.pos.channel();
        let slave = (self.pos.slave() as u8) << 4;
        let ext = needs_lba48(lba, count);
        if ext && !self.lba48 {
            return Err(AtaError::OutOfRange);
        }
        // Select the drive (with LBA28's top four bits), then it must be idle before its
        // registers are written.
        let select = if ext {
            0x40 | slave
        } else {
            0xE0 | slave | ((lba >> 24) as u8 & 0x0F)
        };
        io.outb(ch.base + reg::DRIVE, select);
        settle(io, ch);
        wait(io, w, ch, |_| true)?;
        if ext {
            // High bytes first ("previous" of each register), then low; 256 is 0x0100.
            let n = count as u16;
            io.outb(ch.base + reg::COUNT, (n >> 8) as u8);
            io.outb(ch.base + reg::LBA_LO, (lba >> 24) as u8);
            io.outb(ch.base + reg::LBA_MID, (lba >> 32) as u8);
            io.outb(ch.base + reg::LBA_HI, (lba >> 40) as u8);
        }
        // 256 sectors is a count of 0 for LBA28.
        io.outb(ch.base + reg::COUNT, count as u8);
        io.outb(ch.base + reg::LBA_LO, lba as u8);
        io.outb(ch.base + reg::LBA_MID, (lba >> 8) as u8);
        io.outb(ch.base + reg::LBA_HI, (lba >> 16) as u8);
        io.outb(ch.base + reg::STATUS, if ext { c48 } else { c28 });
        settle(io, ch);
        Ok(())
    }

    fn range(&self, lba: u64, len: usize) -> Result<usize, AtaError> {
        let count = len / SECTOR_SIZE;
        if !len.is_multiple_of(SECTOR_SIZE) || count > MAX_SECTORS {
            return Err(AtaError::OutOfRange);
        }
        match lba.checked_add(count as u64) {
            Some(end) if end <= self.sectors => Ok(count),
            _ => Err(AtaError::OutOfRange),
        }
    }

    /// After a failed command: the channel reset, the error passed on.
    fn recover<T>(
        &self,
        io: &mut impl PortIo,
        w: &mut impl Waiter,
        r: Result<T, AtaError>,
    ) -> Result<T, AtaError> {
        if matches!(r, Err(AtaError::Timeout | AtaError::Device { .. })) {
            reset(io, w, self.pos.channel());
        }
        r
    }

    /// Reads `buf.len() / 512` sectors (at most 256) from `lba`.
    pub fn read(
        &self,
        io: &mut impl PortIo,
        w: &mut impl Waiter,
        lba: u64,
        buf: &mut [u8],
    ) -> Result<(), AtaError> {
        let count = self.range(lba, buf.len())?;
        if count == 0 {
            return Ok(());
        }
        let r = self.read_pio(io, w, lba, count, buf);
        self.recover(io, w, r)
    }

    fn read_pio(
        &self,
        io: &mut impl PortIo,
        w: &mut impl Waiter,
        lba: u64,
        count: usize,
        buf: &mut [u8],
    ) -> Result<(), AtaError> {
        let ch = self.pos.channel();
        self.command(io, w, lba, count, cmd::READ_SECTORS, cmd::READ_SECTORS_EXT)?;
        for sector in buf.chunks_exact_mut(SECTOR_SIZE) {
            let s = wait(io, w, ch, |s| {
                s & (status::DRQ | status::ERR | status::DF) != 0
            })?;
            check(io, ch, s)?;
            for pair in sector.chunks_exact_mut(2) {
                pair.copy_from_slice(&io.inw(ch.base + reg::DATA).to_le_bytes());
            }
            settle(io, ch);
        }
        Ok(())
    }

    /// Writes `data` (whole sectors, at most 256) from `lba` on.
    pub fn write(
        &self,
        io: &mut impl PortIo,
        w: &mut impl Waiter,
        lba: u64,
        data: &[u8],
    ) -> Result<(), AtaError> {
        let count = self.range(lba, data.len())?;
        if count == 0 {
            return Ok(());
        }
        let r = self.write_pio(io, w, lba, count, data);
        self.recover(io, w, r)
    }

    fn write_pio(
        &self,
        io: &mut impl PortIo,
        w: &mut impl Waiter,
        lba: u64,
        count: usize,
        data: &[u8],
    ) -> Result<(), AtaError> {
        let ch = self.pos.channel();
        self.command(
            io,
            w,
            lba,
            count,
            cmd::WRITE_SECTORS,
            cmd::WRITE_SECTORS_EXT,
        )?;
        for sector in data.chunks_exact(SECTOR_SIZE) {
            let s = wait(io, w, ch, |s| {
                s & (status::DRQ | status::ERR | status::DF) != 0
            })?;
            check(io, ch, s)?;
            for pair in sector.chunks_exact(2) {
                io.outw(ch.base + reg::DATA, u16::from_le_bytes([pair[0], pair[1]]));
            }
            settle(io, ch);
        }
        // The last sector is taken once the drive is no longer busy with it.
        let s = wait(io, w, ch, |_| true)?;
        check(io, ch, s)?;
        Ok(())
    }

    /// CACHE FLUSH (EXT): what was written is on the medium.
    pub fn flush(&self, io: &mut impl PortIo, w: &mut impl Waiter) -> Result<(), AtaError> {
        let r = self.flush_cache(io, w);
        self.recover(io, w, r)
    }

    fn flush_cache(&self, io: &mut impl PortIo, w: &mut impl Waiter) -> Result<(), AtaError> {
        let ch = self.pos.channel();
        io.outb(ch.base + reg::DRIVE, 0xE0 | (self.pos.slave() as u8) << 4);
        settle(io, ch);
        wait(io, w, ch, |_| true)?;
        let c = if self.lba48 {
            cmd::CACHE_FLUSH_EXT
        } else {
            cmd::CACHE_FLUSH
        };
        io.outb(ch.base + reg::STATUS, c);
        settle(io, ch);
        let s = wait(io, w, ch, |_| true)?;
        check(io, ch, s)?;
        Ok(())
    }
}

/// A drive with its ports and clock: the [`BlockDevice`] that `block::serve` drives. A failed
/// command is said on stderr (the boot log), and answered IO.
pub struct AtaDisk<'a, P: PortIo, W: Waiter> {
    pub io: &'a mut P,
    pub waiter: W,
    pub drive: Drive,
}

impl<P: PortIo, W: Waiter> AtaDisk<'_, P, W> {
    fn said<T>(&self, what: &str, lba: u64, r: Result<T, AtaError>) -> Result<T, BlockError> {
        r.map_err(|e| {
            if e != AtaError::OutOfRange {
                eprintln!(
                    "drivers ata: {} {what} at sector {lba}: {e}",
                    self.drive.pos
                );
            }
            e.into()
        })
    }
}

impl<P: PortIo, W: Waiter> BlockDevice for AtaDisk<'_, P, W> {
    fn info(&self) -> Info {
        Info {
            sectors: self.drive.sectors,
            read_only: false,
        }
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let mut r = Ok(());
        for (i, part) in buf.chunks_mut(MAX_SECTORS * SECTOR_SIZE).enumerate() {
            r = self.drive.read(
                self.io,
                &mut self.waiter,
                lba + (i * MAX_SECTORS) as u64,
                part,
            );
            if r.is_err() {
                break;
            }
        }
        self.said("read", lba, r)
    }

    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        let mut r = Ok(());
        for (i, part) in data.chunks(MAX_SECTORS * SECTOR_SIZE).enumerate() {
            r = self.drive.write(
                self.io,
                &mut self.waiter,
                lba + (i * MAX_SECTORS) as u64,
                part,
            );
            if r.is_err() {
                break;
            }
        }
        self.said("write", lba, r)
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        let r = self.drive.flush(self.io, &mut self.waiter);
        self.said("flush", 0, r)
    }
}

#[cfg(test)]
pub mod model;

#[cfg(test)]
mod tests;
