//! The block device under the file system, and the write-back cache in front of it.
//!
//! [`Disk`] is what the server needs of a block device: 512-byte sectors read and written in
//! ranges, and a flush. [`Cache`] keeps up to a fixed number of 4 KiB blocks (8 sectors) of it
//! in memory: reads fill a block once, writes only mark it dirty, and [`Cache::flush`] (the file
//! protocol's `sync`, and unmount) writes every dirty block, in block order, then flushes the
//! device. When the cache is full the least recently used block leaves it, written first if
//! dirty. A block a write covers whole is never read.
//!
//! [`DiskIo`] is the byte stream lamfat reads and writes through (its `Read + Write + Seek`):
//! a position over the shared cache, so that the server can unmount the FAT engine (which takes
//! its stream) and mount it again over the same cache at every `sync`.

use std::boxed::Box;
use std::sync::Arc;
use std::vec::Vec;

use hashbrown::HashMap;
use libeurali::proto::block::{BlockDevice, BlockError};
use libeurali::sync::Lock;

/// Bytes in a sector.
pub const SECTOR: usize = libeurali::proto::block::SECTOR_SIZE;
/// Bytes in a cache block.
pub const BLOCK: usize = 4096;
const SECTORS_PER_BLOCK: u64 = (BLOCK / SECTOR) as u64;
/// Blocks the cache holds by default: 1 MiB of the server's 4 MiB heap.
pub const DEFAULT_BLOCKS: usize = 256;

/// A device error, as lamfat's I/O error type (a trait of lamfat's for a type of libeurali's
/// needs this crate's own type between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskError(pub BlockError);

impl lamfat::IoError for DiskError {
    fn is_interrupted(&self) -> bool {
        false
    }
    fn new_unexpected_eof_error() -> Self {
        DiskError(BlockError::OutOfRange)
    }
    fn new_write_zero_error() -> Self {
        DiskError(BlockError::OutOfRange)
    }
}

/// What the server needs of a block device: the block protocol's [`BlockDevice`] (the client
/// `Disk` of `/dev/disk0`, or a `MemDisk` in tests), owned by the server's threads in turn.
pub trait Disk: BlockDevice + Send + 'static {}
impl<D: BlockDevice + Send + 'static> Disk for D {}

struct Slot {
    block: u64,
    data: Box<[u8]>,
    dirty: bool,
    used: u64,
}

/// The write-back block cache over a [`Disk`] (see the module doc).
pub struct Cache<D> {
    disk: D,
    slots: Vec<Slot>,
    index: HashMap<u64, usize>,
    capacity: usize,
    clock: u64,
    len: u64,
}

impl<D: Disk> Cache<D> {
    /// A cache of at most `blocks` 4 KiB blocks (at least 4) over `disk`.
    pub fn new(disk: D, blocks: usize) -> Cache<D> {
        let len = disk.info().bytes();
        Cache {
            disk,
            slots: Vec::new(),
            index: HashMap::new(),
            capacity: blocks.max(4),
            clock: 0,
            len,
        }
    }

    /// The device's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks written to the cache and not yet to the device.
    pub fn dirty(&self) -> usize {
        self.slots.iter().filter(|s| s.dirty).count()
    }

    /// The device, for a test to look at (the cache's dirty blocks are not in it).
    pub fn disk(&self) -> &D {
        &self.disk
    }

    /// The device's sectors of `block` (the last block may be short).
    fn sectors_of(&self, block: u64) -> usize {
        let total = self.len / SECTOR as u64;
        total
            .saturating_sub(block * SECTORS_PER_BLOCK)
            .min(SECTORS_PER_BLOCK) as usize
    }

    fn write_back(&mut self, i: usize) -> Result<(), DiskError> {
        let n = self.sectors_of(self.slots[i].block);
        let s = &mut self.slots[i];
        if s.dirty {
            self.disk
                .write(s.block * SECTORS_PER_BLOCK, &s.data[..n * SECTOR])
                .map_err(DiskError)?;
            s.dirty = false;
        }
        Ok(())
    }

    /// The slot holding `block`, reading it unless `whole` (the caller overwrites all of it).
    fn slot(&mut self, block: u64, whole: bool) -> Result<usize, DiskError> {
        self.clock += 1;
        if let Some(&i) = self.index.get(&block) {
            self.slots[i].used = self.clock;
            return Ok(i);
        }
        let i = if self.slots.len() < self.capacity {
            self.slots.push(Slot {
                block,
                data: std::vec![0; BLOCK].into_boxed_slice(),
                dirty: false,
                used: 0,
            });
            self.slots.len() - 1
        } else {
            let (i, _) = self
                .slots
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.used)
                .ok_or(DiskError(BlockError::Io))?;
            self.write_back(i)?;
            self.index.remove(&self.slots[i].block);
            self.slots[i].block = block;
            i
        };
        let n = self.sectors_of(block);
        let s = &mut self.slots[i];
        s.used = self.clock;
        s.dirty = false;
        if !whole {
            s.data.fill(0);
            if let Err(e) = self
                .disk
                .read(block * SECTORS_PER_BLOCK, &mut s.data[..n * SECTOR])
                .map_err(DiskError)
            {
                // Leave the slot unused rather than holding wrong data.
                s.used = 0;
                s.block = u64::MAX;
                return Err(e);
            }
        }
        self.index.insert(block, i);
        Ok(i)
    }

    /// Reads at byte `pos`; fewer bytes than asked only at the device's end.
    pub fn read_at(&mut self, mut pos: u64, mut buf: &mut [u8]) -> Result<usize, DiskError> {
        let mut done = 0;
        while !buf.is_empty() && pos < self.len {
            let block = pos / BLOCK as u64;
            let off = (pos % BLOCK as u64) as usize;
            let n = buf.len().min(BLOCK - off).min((self.len - pos) as usize);
            let i = self.slot(block, false)?;
            buf[..n].copy_from_slice(&self.slots[i].data[off..off + n]);
            buf = &mut buf[n..];
            pos += n as u64;
            done += n;
        }
        Ok(done)
    }

    /// Writes at byte `pos` (into the cache); fewer bytes than given only at the device's end.
    pub fn write_at(&mut self, mut pos: u64, mut buf: &[u8]) -> Result<usize, DiskError> {
        let mut done = 0;
        while !buf.is_empty() && pos < self.len {
            let block = pos / BLOCK as u64;
            let off = (pos % BLOCK as u64) as usize;
            let n = buf.len().min(BLOCK - off).min((self.len - pos) as usize);
            let whole = off == 0 && n == self.sectors_of(block) * SECTOR;
            let i = self.slot(block, whole)?;
            let s = &mut self.slots[i];
            s.data[off..off + n].copy_from_slice(&buf[..n]);
            s.dirty = true;
            buf = &buf[n..];
            pos += n as u64;
            done += n;
        }
        Ok(done)
    }

    /// Writes every dirty block to the device, in block order, and flushes it.
    pub fn flush(&mut self) -> Result<(), DiskError> {
        let mut dirty: Vec<(u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.dirty)
            .map(|(i, s)| (s.block, i))
            .collect();
        dirty.sort_unstable();
        for (_, i) in dirty {
            self.write_back(i)?;
        }
        self.disk.flush().map_err(DiskError)
    }

    /// The device back (after a [`Cache::flush`]: dirty blocks are dropped).
    pub fn into_disk(self) -> D {
        self.disk
    }
}

/// The cache as lamfat's byte stream: a position over a shared [`Cache`].
pub struct DiskIo<D> {
    cache: Arc<Lock<Cache<D>>>,
    pos: u64,
}

impl<D> DiskIo<D> {
    pub fn new(cache: Arc<Lock<Cache<D>>>) -> DiskIo<D> {
        DiskIo { cache, pos: 0 }
    }
}

impl<D> lamfat::IoBase for DiskIo<D> {
    type Error = DiskError;
}

impl<D: Disk> lamfat::Read for DiskIo<D> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DiskError> {
        let n = self.cache.lock().read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<D: Disk> lamfat::Write for DiskIo<D> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, DiskError> {
        let n = self.cache.lock().write_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), DiskError> {
        // lamfat flushes after each file's directory entry; the device is flushed at `sync`.
        Ok(())
    }
}

impl<D: Disk> lamfat::Seek for DiskIo<D> {
    fn seek(&mut self, pos: lamfat::SeekFrom) -> Result<u64, DiskError> {
        let len = self.cache.lock().len();
        let to = match pos {
            lamfat::SeekFrom::Start(p) => Some(p),
            lamfat::SeekFrom::End(d) => len.checked_add_signed(d),
            lamfat::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = to.ok_or(DiskError(BlockError::OutOfRange))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libeurali::proto::block::MemDisk;

    fn mem(bytes: usize) -> MemDisk {
        MemDisk::new(bytes / SECTOR)
    }

    #[test]
    fn writes_stay_in_the_cache_until_flush() {
        let mut c = Cache::new(mem(64 * 1024), 4);
        assert_eq!(c.write_at(100, b"hello").unwrap(), 5);
        assert_eq!(c.disk().data[100..105], [0; 5]);
        let mut b = [0; 5];
        c.read_at(100, &mut b).unwrap();
        assert_eq!(&b, b"hello");
        assert_eq!(c.dirty(), 1);
        c.flush().unwrap();
        assert_eq!(&c.disk().data[100..105], b"hello");
        assert_eq!(c.dirty(), 0);
    }

    #[test]
    fn a_full_cache_writes_back_what_it_evicts() {
        let mut c = Cache::new(mem(64 * 1024), 4);
        for i in 0..16u64 {
            c.write_at(i * BLOCK as u64 + 1, &[i as u8 + 1]).unwrap();
        }
        assert!(c.dirty() <= 4);
        for i in 0..12u64 {
            assert_eq!(c.disk().data[(i * BLOCK as u64 + 1) as usize], i as u8 + 1);
        }
        let mut b = [0];
        for i in 0..16u64 {
            c.read_at(i * BLOCK as u64 + 1, &mut b).unwrap();
            assert_eq!(b[0], i as u8 + 1);
        }
    }

    #[test]
    fn a_short_last_block_and_the_end() {
        // 9 sectors: one whole block and one of a single sector.
        let mut c = Cache::new(mem(9 * SECTOR), 4);
        assert_eq!(c.write_at(4096 + 500, &[7; 100]).unwrap(), 12);
        assert_eq!(c.write_at(9 * 512, &[1]).unwrap(), 0);
        c.flush().unwrap();
        assert_eq!(c.disk().data[4096 + 511], 7);
        let mut b = [0; 64];
        assert_eq!(c.read_at(9 * 512 - 10, &mut b).unwrap(), 10);
    }
}
