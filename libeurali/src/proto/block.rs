//! The block-device protocol of `/dev/disk0`, `/dev/disk1`, …: a disk's size, and reads and
//! writes of whole 512-byte sectors, and a flush.
//!
//! Served by the ATA PIO driver on the real kernel (`drivers ata`) and by eurali-host's disk
//! image device (`EURALI_DISK`) on the host, both through the one server loop [`serve`] over a
//! [`BlockDevice`]; spoken by the FAT file-system server through the client [`Disk`]. The device
//! handle is the rendezvous mounted at [`PATH`]; every request is a `send_receive`
//! ([`crate::timeout::rcall_watched`]: a dead server wakes the client with CLOSED) and gets
//! exactly one reply. `where` below is `lba | count << 48` ([`pack_where`]): the first sector
//! (below 2^48, as ATA's LBA48) and the number of sectors, `1 <= count <= MAX_SECTORS`.
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Short(BLOCK_INFO, 0, 0)` | `Short(BLOCK_GEOMETRY, sectors, sector_size \| flags << 32)`: `sector_size` is 512; flag bit 0 ([`FLAG_READ_ONLY`]): writes are refused | yes |
//! | `Short(BLOCK_READ, lba, count)` | `Long(DATA, count * 512, chunk)`: the sectors at offset 0; `Short(ERROR, code, 0)` | yes |
//! | `Long(BLOCK_READ, where, chunk)`: as above, into the client's chunk of at least `count * 512` bytes, every byte of it written once (a chunk from the pool) | `Long(DATA, count * 512, chunk)`, normally in the lent chunk; `Short(ERROR, code, 0)` | yes |
//! | `Long(BLOCK_WRITE, where, chunk)`: write the first `count * 512` bytes of the chunk | `Long(OK, count, chunk)` (the client's chunk back, for its pool) or `Short(OK, count, 0)`; `Short(ERROR, code, 0)` | yes |
//! | `Short(BLOCK_FLUSH, 0, 0)`: everything written so far is on the medium when the reply comes | `Short(OK, 0, 0)`; `Short(ERROR, code, 0)` | yes |
//! | a message with a handle in its first word (a file-protocol open: `ls /dev` opens every mount) | none: it is dropped, which closes the handle | |
//! | anything else | `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)`; the server goes on serving | |
//!
//! Rules:
//! - Errors are [`BlockError`] codes: 5 (PARAM) for a malformed request (a count of 0 or above
//!   [`MAX_SECTORS`], an LBA of 2^48 or more), 80 for sectors past the device's end (nothing is
//!   read or written), 81 for a write to a read-only device, 19 (IO) when the device failed (the
//!   drive reported an error or did not answer in time: some of a write's sectors may have
//!   been written), other kernel codes as they come.
//! - **[`MAX_SECTORS`] = 256 sectors (128 KiB) per request.** The kernel itself limits a message
//!   to one chunk per word, a chunk to one 1 GiB slot (262 144 pages, ABI §1.4, §2.3) and a
//!   process to 511 chunk slots; what bounds a request is the memory a server holds for a
//!   client: one request's chunk, 32 pages, outside the 4 MiB heap. 256 is also what one
//!   LBA28 ATA command moves. Larger transfers are several requests ([`Disk`] splits them).
//! - A chunk's size does not travel with it (ABI §2.3): a server trusts the client's chunk to
//!   hold `count * 512` bytes (bounded by `MAX_SECTORS`), as every chunk protocol does; a client
//!   checks that a `DATA` reply's length is what it asked for.
//! - Every request is idempotent (a write puts the same bytes in the same place again), so a
//!   client may send one again after a transient error. A write is not atomic across its
//!   sectors on a failing device; a file system that needs ordering sends `BLOCK_FLUSH` between
//!   writes that must reach the medium in order.
//! - Message types are eurali's (0x1600..).

/// The replies every protocol shares, here too for this protocol's servers.
pub use super::{error_reply, unknown_reply};
use crate::error::Error;
use crate::message::{Message, Word};
use crate::msgtype;
use crate::object::{Handle, MemoryChunk};
use crate::timeout::rcall_watched;
use core::fmt;

/// Where init mounts the first disk (the stub's boot does the same for `EURALI_DISK`).
pub const PATH: &str = "/dev/disk0";

/// The disk's geometry.
pub const BLOCK_INFO: u64 = 0x1600;
/// The reply to `BLOCK_INFO`.
pub const BLOCK_GEOMETRY: u64 = 0x1601;
/// Read sectors.
pub const BLOCK_READ: u64 = 0x1602;
/// Write sectors.
pub const BLOCK_WRITE: u64 = 0x1603;
/// Put everything written on the medium.
pub const BLOCK_FLUSH: u64 = 0x1604;

/// The one sector size of the protocol.
pub const SECTOR_SIZE: usize = 512;
/// Most sectors in one request (128 KiB; see the module documentation).
pub const MAX_SECTORS: usize = 256;
/// Most bytes in one request.
pub const MAX_BYTES: usize = MAX_SECTORS * SECTOR_SIZE;
/// LBAs are below `2^LBA_BITS` (ATA's LBA48); the count sits above them in a `where` word.
pub const LBA_BITS: u32 = 48;
/// `BLOCK_GEOMETRY` flag: the device refuses writes.
pub const FLAG_READ_ONLY: u64 = 1;

/// A `where` word: `lba` in bits 0..48, `count` in bits 48..64; `None` if either does not fit
/// (the LBA at or past 2^48, the count 0 or above [`MAX_SECTORS`]).
pub const fn pack_where(lba: u64, count: usize) -> Option<u64> {
    if lba >> LBA_BITS != 0 || count == 0 || count > MAX_SECTORS {
        return None;
    }
    Some(lba | (count as u64) << LBA_BITS)
}

/// The `(lba, count)` of a `where` word, `None` if the count is 0 or above [`MAX_SECTORS`].
pub const fn unpack_where(w: u64) -> Option<(u64, usize)> {
    let count = (w >> LBA_BITS) as usize;
    if count == 0 || count > MAX_SECTORS {
        return None;
    }
    Some((w & ((1 << LBA_BITS) - 1), count))
}

/// What a disk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Its size in [`SECTOR_SIZE`]-byte sectors.
    pub sectors: u64,
    /// Whether it refuses writes.
    pub read_only: bool,
}

impl Info {
    /// Its size in bytes.
    pub const fn bytes(&self) -> u64 {
        self.sectors.saturating_mul(SECTOR_SIZE as u64)
    }

    /// Whether `count` sectors from `lba` lie on the disk.
    pub const fn contains(&self, lba: u64, count: u64) -> bool {
        match lba.checked_add(count) {
            Some(end) => end <= self.sectors,
            None => false,
        }
    }
}

/// Errors of the block protocol, as `Short(ERROR, code, 0)` carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// 5 (PARAM): the request breaks the protocol (count 0 or above [`MAX_SECTORS`], an LBA
    /// past 2^48, a buffer that is not whole sectors), or a reply did.
    Malformed,
    /// 80: sectors past the end of the device; nothing was read or written.
    OutOfRange,
    /// 81: a write to a read-only device; nothing was written.
    ReadOnly,
    /// 19 (IO): the device failed: the drive reported an error, or never became ready.
    Io,
    /// Another kernel error (12 CLOSED: the server is gone).
    Kernel(Error),
}

impl BlockError {
    /// The code an `ERROR` reply carries.
    pub const fn code(self) -> u64 {
        match self {
            BlockError::Malformed => Error::Param.code() as u64,
            BlockError::OutOfRange => 80,
            BlockError::ReadOnly => 81,
            BlockError::Io => Error::Io.code() as u64,
            BlockError::Kernel(e) => e.code() as u64,
        }
    }

    /// The error an `ERROR` reply's code names.
    pub fn from_code(code: u64) -> BlockError {
        match code {
            80 => BlockError::OutOfRange,
            81 => BlockError::ReadOnly,
            5 => BlockError::Malformed,
            19 => BlockError::Io,
            c => BlockError::Kernel(Error::from_code(c.min(255) as u8).unwrap_or(Error::Other(0))),
        }
    }
}

impl From<Error> for BlockError {
    fn from(e: Error) -> BlockError {
        match e {
            Error::Param => BlockError::Malformed,
            Error::Io => BlockError::Io,
            e => BlockError::Kernel(e),
        }
    }
}

impl From<crate::message::SendError> for BlockError {
    fn from(e: crate::message::SendError) -> BlockError {
        BlockError::Kernel(e.error)
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Malformed => f.write_str("malformed block request"),
            BlockError::OutOfRange => f.write_str("sector out of range"),
            BlockError::ReadOnly => f.write_str("read-only device"),
            BlockError::Io => f.write_str("I/O error"),
            BlockError::Kernel(Error::Closed) => f.write_str("the disk's server is gone"),
            BlockError::Kernel(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for BlockError {}

/// A disk as [`serve`] drives it: the ATA driver's drive on the real kernel, an image file on the
/// host, a `Vec` in tests ([`MemDisk`]); and the client [`Disk`] too, so that a file system can
/// be written once over any of them. [`serve`] checks every request against [`BlockDevice::info`]
/// (range, read-only) before it calls `read` or `write`.
pub trait BlockDevice {
    /// Its size and whether it refuses writes.
    fn info(&self) -> Info;
    /// Reads `buf.len() / 512` sectors from `lba` into `buf` (whole sectors).
    ///
    /// # Errors
    /// What to answer: [`BlockError::Io`] when the device failed.
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Writes `data` (whole sectors) from `lba` on.
    ///
    /// # Errors
    /// As [`BlockDevice::read`].
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError>;
    /// Puts every sector written so far on the medium (the drive's cache flushed).
    ///
    /// # Errors
    /// As [`BlockDevice::read`].
    fn flush(&mut self) -> Result<(), BlockError>;
}

/// Checks a transfer of `len` bytes from `lba` against `info`: whole sectors, on the disk.
pub fn check_range(info: &Info, lba: u64, len: usize) -> Result<(), BlockError> {
    if !len.is_multiple_of(SECTOR_SIZE) {
        return Err(BlockError::Malformed);
    }
    if !info.contains(lba, (len / SECTOR_SIZE) as u64) {
        return Err(BlockError::OutOfRange);
    }
    Ok(())
}

/// A request as a block server sees it, checked against the protocol (not yet against the
/// device's size: [`serve`] does that).
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// The geometry.
    Info,
    /// Read `count` sectors from `lba`, into `lent` (its length set to `count * 512`) if the
    /// client lent a chunk.
    Read {
        lba: u64,
        count: usize,
        lent: Option<MemoryChunk>,
    },
    /// Write the chunk's bytes (its length set to `count * 512`) from `lba` on.
    Write { lba: u64, data: MemoryChunk },
    /// Flush.
    Flush,
    /// A request with a bad count or LBA: answer `error_reply(Error::Param)`.
    Malformed,
    /// A message carrying a handle (a file-protocol open): drop it, answer nothing.
    Drop(Message),
    /// Anything else: answer [`unknown_reply`].
    Unknown(Message),
}

/// Server side: classifies a received message. Never panics.
pub fn parse_request(m: Message) -> Request {
    match m {
        Message::Short(BLOCK_INFO, _, _) => Request::Info,
        Message::Short(BLOCK_FLUSH, _, _) => Request::Flush,
        Message::Short(BLOCK_READ, lba, count) => {
            match pack_where(lba, count.min(u32::MAX as u64) as usize) {
                Some(_) => Request::Read {
                    lba,
                    count: count as usize,
                    lent: None,
                },
                None => Request::Malformed,
            }
        }
        Message::Long(BLOCK_READ, Word::Value(w), Word::Chunk(mut c)) => match unpack_where(w) {
            Some((lba, count)) => {
                // Safety: bounded by MAX_BYTES; the client lent at least `count * 512`
                // written bytes (protocol rule).
                unsafe { c.set_len(count * SECTOR_SIZE) };
                Request::Read {
                    lba,
                    count,
                    lent: Some(c),
                }
            }
            None => Request::Malformed,
        },
        Message::Long(BLOCK_WRITE, Word::Value(w), Word::Chunk(mut c)) => match unpack_where(w) {
            Some((lba, count)) => {
                // Safety: bounded by MAX_BYTES; the client sent at least `count * 512` bytes
                // (protocol rule).
                unsafe { c.set_len(count * SECTOR_SIZE) };
                Request::Write { lba, data: c }
            }
            None => Request::Malformed,
        },
        // A READ or WRITE whose words are not a value and a chunk.
        Message::Long(BLOCK_READ | BLOCK_WRITE, Word::Value(_), Word::Value(_)) => {
            Request::Malformed
        }
        m @ Message::Long(_, Word::Handle(_), _) => Request::Drop(m),
        other => Request::Unknown(other),
    }
}

/// Server side: the geometry reply.
pub const fn info_reply(info: Info) -> Message {
    let flags = if info.read_only { FLAG_READ_ONLY } else { 0 };
    Message::Short(
        BLOCK_GEOMETRY,
        info.sectors,
        SECTOR_SIZE as u64 | flags << 32,
    )
}

/// Server side: an error reply.
pub const fn block_error_reply(e: BlockError) -> Message {
    Message::Short(msgtype::ERROR, e.code(), 0)
}

/// Server side: answers one parsed request from `dev`; `None` for a message to drop unanswered.
pub fn handle(dev: &mut impl BlockDevice, r: Request) -> Option<Message> {
    Some(match r {
        Request::Info => info_reply(dev.info()),
        Request::Flush => match dev.flush() {
            Ok(()) => Message::Short(msgtype::OK, 0, 0),
            Err(e) => block_error_reply(e),
        },
        Request::Read { lba, count, lent } => read_reply(dev, lba, count, lent),
        Request::Write { lba, data } => {
            let info = dev.info();
            let r = check_range(&info, lba, data.len()).and_then(|()| {
                if info.read_only {
                    Err(BlockError::ReadOnly)
                } else {
                    dev.write(lba, data.as_slice())
                }
            });
            match r {
                Ok(()) => Message::Long(
                    msgtype::OK,
                    Word::Value((data.len() / SECTOR_SIZE) as u64),
                    Word::Chunk(data),
                ),
                Err(e) => block_error_reply(e),
            }
        }
        Request::Malformed => block_error_reply(BlockError::Malformed),
        Request::Drop(_) => return None,
        Request::Unknown(_) => unknown_reply(),
    })
}

/// The reply to a read: the sectors straight into the lent chunk, or into a new one.
fn read_reply(
    dev: &mut impl BlockDevice,
    lba: u64,
    count: usize,
    lent: Option<MemoryChunk>,
) -> Message {
    let n = count * SECTOR_SIZE;
    if let Err(e) = check_range(&dev.info(), lba, n) {
        return block_error_reply(e);
    }
    let chunk = match lent {
        Some(mut c) => match dev.read(lba, &mut c.as_mut_slice()[..n]) {
            Ok(()) => c,
            Err(e) => return block_error_reply(e),
        },
        None => match MemoryChunk::alloc_with(n, |buf| dev.read(lba, buf).map(|()| n)) {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return block_error_reply(e),
            Err(e) => return error_reply(e),
        },
    };
    Message::Long(msgtype::DATA, Word::Value(n as u64), Word::Chunk(chunk))
}

/// Server side: serves this protocol on `h` from `dev` until the handle fails (the one loop of
/// every block server). A malformed request gets an error and the loop goes on.
pub fn serve(h: &Handle, dev: &mut impl BlockDevice) {
    loop {
        let Ok(m) = crate::message::receive(h) else {
            return;
        };
        if let Some(reply) = handle(dev, parse_request(m)) {
            let _ = crate::message::send(h, reply);
        }
    }
}

/// Client side: the geometry of the disk on `h`.
pub fn info(h: &Handle) -> Result<Info, BlockError> {
    match rcall_watched(h, Message::Short(BLOCK_INFO, 0, 0))?.values() {
        (BLOCK_GEOMETRY, sectors, v) if v as u32 as usize == SECTOR_SIZE => Ok(Info {
            sectors,
            read_only: (v >> 32) & FLAG_READ_ONLY != 0,
        }),
        (msgtype::ERROR, code, _) => Err(BlockError::from_code(code)),
        _ => Err(BlockError::Malformed),
    }
}

/// One request's sector count and `where` word for `n` bytes at `lba` (`None`: nothing to move);
/// `Malformed` unless `n` is whole sectors, at most [`MAX_BYTES`], and `lba` fits.
fn transfer(lba: u64, n: usize) -> Result<Option<(usize, u64)>, BlockError> {
    if n == 0 {
        return Ok(None);
    }
    if !n.is_multiple_of(SECTOR_SIZE) || n > MAX_BYTES {
        return Err(BlockError::Malformed);
    }
    let count = n / SECTOR_SIZE;
    let w = pack_where(lba, count).ok_or(BlockError::Malformed)?;
    Ok(Some((count, w)))
}

/// Client side: reads whole sectors from `lba` into `buf` (`buf.len()` a multiple of 512, at
/// most [`MAX_BYTES`]; [`Disk::read`] takes any length).
pub fn read(h: &Handle, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
    let n = buf.len();
    let Some((count, w)) = transfer(lba, n)? else {
        return Ok(());
    };
    // Lend a kept chunk for the sectors if the process has one (no malloc, no free).
    let request = match MemoryChunk::from_pool(n) {
        Some(c) => Message::Long(BLOCK_READ, Word::Value(w), Word::Chunk(c)),
        None => Message::Short(BLOCK_READ, lba, count as u64),
    };
    match rcall_watched(h, request)? {
        Message::Long(msgtype::DATA, Word::Value(k), Word::Chunk(mut c)) if k as usize == n => {
            // Safety: the server wrote `n` bytes at the start of this chunk and every byte of
            // its pages (a lent chunk was ours, all written; a new one is zeroed past the data).
            unsafe {
                c.set_len(n);
                c.set_pages((n as u64).div_ceil(crate::abi::layout::PAGE_SIZE));
            }
            buf.copy_from_slice(c.as_slice());
            Ok(())
        }
        m => Err(reply_error(&m)),
    }
}

/// Client side: writes `data` (whole sectors, at most [`MAX_BYTES`]) from `lba` on.
pub fn write(h: &Handle, lba: u64, data: &[u8]) -> Result<(), BlockError> {
    let n = data.len();
    let Some((count, w)) = transfer(lba, n)? else {
        return Ok(());
    };
    let chunk = MemoryChunk::from_bytes(data)?;
    let pages = chunk.pages();
    match rcall_watched(
        h,
        Message::Long(BLOCK_WRITE, Word::Value(w), Word::Chunk(chunk)),
    )? {
        Message::Long(msgtype::OK, Word::Value(k), Word::Chunk(mut c)) if k as usize == count => {
            // Our chunk back, for the pool. Safety: we wrote its `pages` pages before sending.
            unsafe { c.set_pages(pages) };
            Ok(())
        }
        Message::Short(msgtype::OK, k, _) if k as usize == count => Ok(()),
        m => Err(reply_error(&m)),
    }
}

/// Client side: flushes the disk's cache.
pub fn flush(h: &Handle) -> Result<(), BlockError> {
    match rcall_watched(h, Message::Short(BLOCK_FLUSH, 0, 0))?.values() {
        (msgtype::OK, _, _) => Ok(()),
        (msgtype::ERROR, code, _) => Err(BlockError::from_code(code)),
        _ => Err(BlockError::Malformed),
    }
}

/// What an unexpected reply says: its error, or a broken protocol.
fn reply_error(m: &Message) -> BlockError {
    match m {
        Message::Short(msgtype::ERROR, code, _) => BlockError::from_code(*code),
        _ => BlockError::Malformed,
    }
}

/// Client side: a disk served on a handle, its geometry asked once.
#[derive(Debug)]
pub struct Disk {
    h: Handle,
    info: Info,
}

impl Disk {
    /// Opens the disk mounted at `path` (such as [`PATH`]): a whole mount, not a directory
    /// above it.
    pub fn open(path: &str) -> Result<Disk, BlockError> {
        let (h, matched) = crate::syscall::open(path)?;
        if matched != path.trim_end_matches('/').len() {
            return Err(BlockError::Kernel(Error::NotFound));
        }
        Disk::new(h)
    }

    /// The disk served on `h`.
    pub fn new(h: Handle) -> Result<Disk, BlockError> {
        let info = info(&h)?;
        Ok(Disk { h, info })
    }

    /// Its geometry (as it was at [`Disk::new`]).
    pub fn info(&self) -> Info {
        self.info
    }

    /// The handle the disk is served on.
    pub fn handle(&self) -> &Handle {
        &self.h
    }

    /// Gives the handle back.
    pub fn into_handle(self) -> Handle {
        self.h
    }

    /// Reads whole sectors from `lba` into `buf` (any multiple of 512 bytes: as many requests
    /// as it takes).
    pub fn read(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        check_range(&self.info, lba, buf.len())?;
        for (i, part) in buf.chunks_mut(MAX_BYTES).enumerate() {
            read(&self.h, lba + (i * MAX_SECTORS) as u64, part)?;
        }
        Ok(())
    }

    /// Writes `data` (any multiple of 512 bytes) from `lba` on, in as many requests as it takes.
    pub fn write(&self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        check_range(&self.info, lba, data.len())?;
        if self.info.read_only {
            return Err(BlockError::ReadOnly);
        }
        for (i, part) in data.chunks(MAX_BYTES).enumerate() {
            write(&self.h, lba + (i * MAX_SECTORS) as u64, part)?;
        }
        Ok(())
    }

    /// Flushes the disk's cache.
    pub fn flush(&self) -> Result<(), BlockError> {
        flush(&self.h)
    }
}

impl BlockDevice for Disk {
    fn info(&self) -> Info {
        self.info
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        Disk::read(self, lba, buf)
    }
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        Disk::write(self, lba, data)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        Disk::flush(self)
    }
}

/// A disk in memory: for tests (of servers and file systems) and a RAM-backed device.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemDisk {
    /// The sectors, back to back.
    pub data: alloc::vec::Vec<u8>,
    /// Whether it refuses writes.
    pub read_only: bool,
    /// Flushes so far.
    pub flushes: u64,
    /// When set, every read, write and flush fails with [`BlockError::Io`] (a dead drive).
    pub failing: bool,
}

#[cfg(feature = "alloc")]
impl MemDisk {
    /// A zeroed disk of `sectors` sectors.
    pub fn new(sectors: usize) -> MemDisk {
        MemDisk {
            data: alloc::vec![0; sectors * SECTOR_SIZE],
            ..MemDisk::default()
        }
    }

    fn range(&self, lba: u64, len: usize) -> Result<core::ops::Range<usize>, BlockError> {
        if self.failing {
            return Err(BlockError::Io);
        }
        check_range(&BlockDevice::info(self), lba, len)?;
        let at = lba as usize * SECTOR_SIZE;
        Ok(at..at + len)
    }
}

#[cfg(feature = "alloc")]
impl BlockDevice for MemDisk {
    fn info(&self) -> Info {
        Info {
            sectors: (self.data.len() / SECTOR_SIZE) as u64,
            read_only: self.read_only,
        }
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let r = self.range(lba, buf.len())?;
        buf.copy_from_slice(&self.data[r]);
        Ok(())
    }
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        let r = self.range(lba, data.len())?;
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        self.data[r].copy_from_slice(data);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        if self.failing {
            return Err(BlockError::Io);
        }
        self.flushes += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_words_round_trip_and_refuse_what_does_not_fit() {
        let w = pack_where(0x1234_5678_9abc, 7).unwrap();
        assert_eq!(unpack_where(w), Some((0x1234_5678_9abc, 7)));
        assert_eq!(
            unpack_where(pack_where(0, MAX_SECTORS).unwrap()),
            Some((0, MAX_SECTORS))
        );
        assert_eq!(pack_where(1 << 48, 1), None);
        assert_eq!(pack_where(0, 0), None);
        assert_eq!(pack_where(0, MAX_SECTORS + 1), None);
        assert_eq!(unpack_where(5), None, "count 0");
        assert_eq!(unpack_where(u64::MAX), None, "count 65535");
    }

    #[test]
    fn error_codes_round_trip() {
        for e in [
            BlockError::Malformed,
            BlockError::OutOfRange,
            BlockError::ReadOnly,
            BlockError::Io,
            BlockError::Kernel(Error::Closed),
            BlockError::Kernel(Error::Memory),
        ] {
            assert_eq!(BlockError::from_code(e.code()), e);
            assert_eq!(block_error_reply(e).values(), (msgtype::ERROR, e.code(), 0));
        }
        assert_eq!(BlockError::from(Error::Param), BlockError::Malformed);
        assert_eq!(
            alloc::format!("{}", BlockError::OutOfRange),
            "sector out of range"
        );
    }

    #[test]
    fn geometry_encodes_size_and_flags() {
        let info = Info {
            sectors: 131_072,
            read_only: true,
        };
        assert_eq!(
            info_reply(info).values(),
            (BLOCK_GEOMETRY, 131_072, 512 | 1 << 32)
        );
        assert_eq!(info.bytes(), 64 << 20);
        assert!(info.contains(131_071, 1));
        assert!(!info.contains(131_071, 2));
        assert!(!info.contains(u64::MAX, 2), "no overflow");
    }

    #[test]
    fn short_requests_parse() {
        assert_eq!(
            parse_request(Message::Short(BLOCK_INFO, 0, 0)),
            Request::Info
        );
        assert_eq!(
            parse_request(Message::Short(BLOCK_FLUSH, 0, 0)),
            Request::Flush
        );
        assert_eq!(
            parse_request(Message::Short(BLOCK_READ, 9, 3)),
            Request::Read {
                lba: 9,
                count: 3,
                lent: None
            }
        );
        for (lba, count) in [
            (0, 0),
            (0, MAX_SECTORS as u64 + 1),
            (1 << 48, 1),
            (0, u64::MAX),
        ] {
            assert_eq!(
                parse_request(Message::Short(BLOCK_READ, lba, count)),
                Request::Malformed,
                "{lba} {count}"
            );
        }
        // A WRITE without a chunk is not a write; an unknown type is unknown.
        assert_eq!(
            parse_request(Message::Short(BLOCK_WRITE, 0, 1)),
            Request::Unknown(Message::Short(BLOCK_WRITE, 0, 1))
        );
        assert!(matches!(
            parse_request(Message::Short(0x16ff, 0, 0)),
            Request::Unknown(_)
        ));
    }

    #[test]
    fn the_handler_checks_range_and_read_only_before_the_device() {
        let mut d = MemDisk::new(8);
        assert_eq!(
            handle(&mut d, Request::Info).unwrap().values(),
            (BLOCK_GEOMETRY, 8, 512)
        );
        // Past the end: refused, the device never asked (it would say the same, but a driver
        // would send the drive a bad LBA).
        d.failing = true;
        let r = handle(
            &mut d,
            Request::Read {
                lba: 7,
                count: 2,
                lent: None,
            },
        );
        assert_eq!(r.unwrap().values(), (msgtype::ERROR, 80, 0));
        assert_eq!(
            handle(&mut d, Request::Flush).unwrap().values(),
            (msgtype::ERROR, 19, 0)
        );
        d.failing = false;
        assert_eq!(
            handle(&mut d, Request::Flush).unwrap().values(),
            (msgtype::OK, 0, 0)
        );
        assert_eq!(d.flushes, 1);
        assert_eq!(
            handle(&mut d, Request::Malformed).unwrap().values(),
            (msgtype::ERROR, 5, 0)
        );
        assert_eq!(
            handle(&mut d, Request::Unknown(Message::Short(1, 2, 3)))
                .unwrap()
                .values(),
            (msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0)
        );
    }

    #[test]
    fn the_memory_disk_reads_what_was_written() {
        let mut d = MemDisk::new(4);
        let data: alloc::vec::Vec<u8> = (0..1024).map(|i| i as u8).collect();
        d.write(1, &data).unwrap();
        let mut back = [0u8; 1024];
        d.read(1, &mut back).unwrap();
        assert_eq!(&back[..], &data[..]);
        assert_eq!(d.write(3, &data), Err(BlockError::OutOfRange));
        assert_eq!(d.read(0, &mut back[..100]), Err(BlockError::Malformed));
        d.read_only = true;
        assert_eq!(d.write(0, &data), Err(BlockError::ReadOnly));
    }
}
