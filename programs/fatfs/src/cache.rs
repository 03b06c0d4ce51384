//! The block device under the file system, and the write-back cache in front of it.
//!
//! [`Disk`] is what the server needs of a block device: 512-byte sectors read and written in
//! ranges, and a flush. [`Cache`] keeps up to a fixed number of 4 KiB blocks (8 sectors) of it
//! in memory: reads fill a block once, writes only mark it dirty, and [`Cache::flush`] (the file
//! protocol's `sync`, and unmount) writes every dirty block, in block order, then flushes the
//! device. When the cache is full the least recently used block leaves it, written first if
//! dirty. A block a write covers whole is never read. With the journal, a dirty block is a
//! file's data (home when it leaves, before the commit) or metadata (into a journal slot when
//! it leaves, home only after the commit): see [`crate::journal`]. A read of more than a block
//! takes the sectors no cached block holds straight from the device.
//!
//! [`DiskIo`] is the byte stream lamfat reads and writes through (its `Read + Write + Seek`):
//! a position over the shared cache, so that the server can unmount the FAT engine (which takes
//! its stream) and mount it again over the same cache at every `sync`.

use std::boxed::Box;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::vec::Vec;

use hashbrown::HashMap;
use libeurali::proto::block::{BlockDevice, BlockError};
use libeurali::sync::Lock;

use crate::journal::Journal;

/// Bytes in a sector.
pub const SECTOR: usize = libeurali::proto::block::SECTOR_SIZE;
/// Bytes in a cache block.
pub const BLOCK: usize = 4096;
const SECTORS_PER_BLOCK: u64 = (BLOCK / SECTOR) as u64;
/// Blocks the cache holds by default: 1 MiB of the server's 4 MiB heap.
pub const DEFAULT_BLOCKS: usize = 256;
/// Journal slots kept for one request's blocks (a 1 MiB write, its FAT and directory blocks):
/// past them the server writes out before the next request.
const OP_ROOM: u64 = 320;
/// Most blocks one device request moves (64 KiB; see [`Cache::run_len`]).
const RUN: u64 = 16;

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
    /// Dirty with metadata (or with data that must go through the journal): see
    /// [`Cache::set_data_writes`]. Only meaningful while `dirty`.
    meta: bool,
    used: u64,
}

/// Where a FAT volume's tables and data are, in bytes of the device: what the cache needs to
/// tell a file's data from metadata, and a cluster freed since the last write-out.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// The first FAT's first byte, and the bytes of one FAT.
    pub fat_start: u64,
    pub fat_bytes: u64,
    /// FATs on the volume (their copies follow one another).
    pub fats: u64,
    /// Bytes of a FAT entry: 2 (FAT16) or 4 (FAT32).
    pub width: u64,
    /// The data area's first byte (cluster 2's) and a cluster's bytes.
    pub data_start: u64,
    pub cluster_bytes: u64,
    /// Clusters in the data area (numbered from 2).
    pub clusters: u64,
}

impl Layout {
    /// The cluster after `c` in its chain, read from the FAT through `cache`: `Ok(None)` at the
    /// chain's end, `Err(None)` for an entry no chain may hold (a damaged volume).
    pub fn next<D: Disk>(
        &self,
        cache: &mut Cache<D>,
        c: u32,
    ) -> Result<Option<u32>, Option<DiskError>> {
        if !self.holds(c) {
            return Err(None);
        }
        let mut b = [0u8; 4];
        let w = self.width as usize;
        let at = self.fat_start + c as u64 * self.width;
        if cache.read_at(at, &mut b[..w]).map_err(Some)? != w {
            return Err(None);
        }
        let v = u32::from_le_bytes(b) & 0x0fff_ffff;
        let end = if w == 4 { 0x0fff_fff8 } else { 0xfff8 };
        match v {
            v if v >= end => Ok(None),
            v if self.holds(v) => Ok(Some(v)),
            _ => Err(None),
        }
    }

    /// Whether `c` is a data cluster's number.
    pub fn holds(&self, c: u32) -> bool {
        (2..self.clusters + 2).contains(&(c as u64))
    }

    /// The device byte where cluster `c` starts.
    pub fn cluster_at(&self, c: u32) -> u64 {
        self.data_start + (c as u64 - 2) * self.cluster_bytes
    }

    /// The cluster a device byte of the data area is in (0, which no chain holds, for a byte
    /// before it).
    pub fn cluster_of(&self, pos: u64) -> u32 {
        match pos.checked_sub(self.data_start) {
            Some(at) => u32::try_from(at / self.cluster_bytes.max(1) + 2).unwrap_or(0),
            None => 0,
        }
    }
}

/// Which dirty blocks a run gathers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Runs {
    /// Every dirty block.
    Any,
    /// Dirty blocks of file data only (they go home before the commit).
    Data,
    /// Dirty blocks of metadata only (they go through the journal).
    Meta,
}

/// Most runs of freed clusters kept for one epoch: past them every data write of the epoch
/// goes through the journal (correct, only slower).
const MAX_FREED: usize = 4096;

/// The write-back block cache over a [`Disk`] (see the module doc).
pub struct Cache<D> {
    disk: D,
    slots: Vec<Slot>,
    index: HashMap<u64, usize>,
    capacity: usize,
    /// A run's bytes on their way to or from the device.
    scratch: Vec<u8>,
    /// The slot used last.
    last: usize,
    clock: u64,
    len: u64,
    /// The redo journal ([`crate::journal`]), when the volume has one.
    journal: Option<Journal>,
    /// Blocks let go of while dirty since the last write-out: their journal slot, and the
    /// checksum of what the slot holds.
    spilled: HashMap<u64, (u64, u64)>,
    /// Journal slots used since the last write-out.
    next_slot: u64,
    /// Dirty blocks written home outside a write-out (no journal, or no slot left for them).
    pub unjournaled: u64,
    /// The last write-out's descriptor was cleared but not flushed yet.
    clear_pending: bool,
    /// Write-outs so far.
    pub write_outs: u64,
    /// The volume's layout (set with the journal): ordered mode needs it.
    layout: Option<Layout>,
    /// Whether writes now are a file's data (see [`Cache::set_data_writes`]).
    data_writes: bool,
    /// Clusters freed since the last write-out (their FAT entry went from used to 0), as runs
    /// `start -> end` (exclusive): a data write into one goes through the journal, since the
    /// committed metadata may still give the cluster to another file.
    freed: BTreeMap<u32, u32>,
    /// More freed runs than [`MAX_FREED`] this epoch: every data write is journaled.
    freed_overflow: bool,
    /// File data was written home since the last device flush (a commit must flush it first).
    data_unflushed: bool,
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
            scratch: Vec::new(),
            last: usize::MAX,
            clock: 0,
            len,
            journal: None,
            spilled: HashMap::new(),
            next_slot: 0,
            unjournaled: 0,
            clear_pending: false,
            write_outs: 0,
            layout: None,
            data_writes: false,
            freed: BTreeMap::new(),
            freed_overflow: false,
            data_unflushed: false,
        }
    }

    /// Uses `journal` for every write-out from now on (the cache holds nothing dirty), on a
    /// volume of `layout`: the journal then holds only metadata, and file data goes home before
    /// the commit (ordered mode, see [`crate::journal`]). Without a layout every block is
    /// journaled.
    pub fn set_journal(&mut self, journal: Option<Journal>, layout: Option<Layout>) {
        self.journal = journal;
        self.layout = layout;
    }

    /// Whether the writes from now on are a file's data (lamfat's `File::write` of a request):
    /// their blocks in the data area then go home before the next commit instead of through
    /// the journal, unless the cluster was freed since the last write-out. Everything else
    /// (FAT, directories, the boot and FS information sectors) is metadata.
    pub fn set_data_writes(&mut self, on: bool) {
        self.data_writes = on;
    }

    /// Notes the FAT entries a write of `new` at byte `pos` (inside one block, over `old`)
    /// changes from used to free.
    fn note_freed(&mut self, pos: u64, old: &[u8], new: &[u8]) {
        let Some(l) = self.layout else {
            return;
        };
        let end = l.fat_start + l.fat_bytes * l.fats;
        if pos + new.len() as u64 <= l.fat_start || pos >= end || l.width == 0 {
            return;
        }
        let w = l.width as usize;
        let mut at = pos.max(l.fat_start);
        // The first whole entry at or after `at`.
        at += (l.width - (at - l.fat_start) % l.width) % l.width;
        while at + l.width <= (pos + new.len() as u64).min(end) {
            let k = (at - pos) as usize;
            let word = |b: &[u8]| {
                let mut v = [0u8; 4];
                v[..w].copy_from_slice(&b[k..k + w]);
                u32::from_le_bytes(v) & 0x0fff_ffff
            };
            if word(old) != 0 && word(new) == 0 {
                let c = ((at - l.fat_start) % l.fat_bytes / l.width) as u32;
                self.add_freed(c);
            }
            at += l.width;
        }
    }

    fn add_freed(&mut self, c: u32) {
        if self.freed_overflow || self.is_freed(c, c) {
            return;
        }
        let before = self
            .freed
            .range(..=c)
            .next_back()
            .map(|(&s, &e)| (s, e))
            .filter(|&(_, e)| e == c);
        let after = self.freed.get(&(c + 1)).copied();
        match (before, after) {
            (Some((s, _)), Some(e)) => {
                self.freed.remove(&(c + 1));
                self.freed.insert(s, e);
            }
            (Some((s, _)), None) => {
                self.freed.insert(s, c + 1);
            }
            (None, Some(e)) => {
                self.freed.remove(&(c + 1));
                self.freed.insert(c, e);
            }
            (None, None) => {
                if self.freed.len() >= MAX_FREED {
                    self.freed_overflow = true;
                    self.freed.clear();
                    return;
                }
                self.freed.insert(c, c + 1);
            }
        }
    }

    /// Whether a cluster of `first..=last` was freed this epoch.
    fn is_freed(&self, first: u32, last: u32) -> bool {
        self.freed_overflow
            || self
                .freed
                .range(..=last)
                .next_back()
                .is_some_and(|(_, &e)| e > first)
    }

    /// Whether a write of `n` bytes at `pos` (in `block`) is file data that may go home before
    /// the commit.
    fn is_data(&self, block: u64, pos: u64, n: usize) -> bool {
        let Some(l) = self.layout else {
            return false;
        };
        if !self.data_writes || pos < l.data_start || self.spilled.contains_key(&block) {
            return false;
        }
        !self.is_freed(l.cluster_of(pos), l.cluster_of(pos + n as u64 - 1))
    }

    /// The journal in use.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Whether the journal is half used: the server then writes out at the end of the request
    /// (the volume is consistent there), so that a write-out always finds a slot for every
    /// dirty block (see [`Cache::flush`]).
    pub fn pressed(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| {
            let room = OP_ROOM.min(j.slots / 4);
            self.next_slot + self.dirty_meta() as u64 + self.capacity as u64 + room >= j.slots
        })
    }

    /// The device, to write to it directly (the cache must hold nothing of what is written).
    pub fn disk_mut(&mut self) -> &mut D {
        &mut self.disk
    }

    /// Blocks it holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
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

    /// Dirty blocks that go through the journal.
    fn dirty_meta(&self) -> usize {
        self.slots.iter().filter(|s| s.dirty && s.meta).count()
    }

    /// Whether slot `i` is dirty and gathered by `which`.
    fn gathers(&self, i: usize, which: Runs) -> bool {
        let s = &self.slots[i];
        s.dirty
            && match which {
                Runs::Any => true,
                Runs::Data => !s.meta,
                Runs::Meta => s.meta,
            }
    }

    /// Blocks written and not yet in their place on the device: dirty in the cache, or in the
    /// journal's slots awaiting the next write-out.
    pub fn pending(&self) -> usize {
        let spilled_only = self
            .spilled
            .keys()
            .filter(|b| !self.index.get(*b).is_some_and(|&i| self.slots[i].dirty))
            .count();
        self.dirty() + spilled_only
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

    /// Most blocks one device request moves: a read-ahead, or a run of dirty blocks written back
    /// (at most half the cache, so that a run never pushes out its own first block).
    fn run_len(&self) -> u64 {
        RUN.min(self.capacity as u64 / 2).max(1)
    }

    /// Lets go of the dirty block `block` and the dirty blocks right after it (a run): into
    /// journal slots when the volume has a journal and slots are left (the volume's own sectors
    /// are written only by a write-out), otherwise home.
    fn spill_run(&mut self, block: u64) -> Result<(), DiskError> {
        let Some(j) = self.journal.clone() else {
            self.unjournaled += 1;
            return self.write_run(block, Runs::Any);
        };
        let mut run = Vec::new();
        let mut b = block;
        while (run.len() as u64) < self.run_len() {
            match self.index.get(&b) {
                Some(&i) if self.gathers(i, Runs::Meta) => run.push((b, i)),
                _ => break,
            }
            b += 1;
        }
        let fresh = run
            .iter()
            .filter(|(b, _)| !self.spilled.contains_key(b))
            .count() as u64;
        if self.next_slot + fresh + self.capacity as u64 > j.slots {
            // No room (the slots a write-out needs for a cache of dirty blocks are kept): the
            // run goes home, the one case a kill can leave a mixed volume; the server writes
            // out long before this, see `pressed`.
            self.unjournaled += 1;
            return self.write_run(block, Runs::Any);
        }
        for (b, i) in run {
            let sum = crate::journal::block_sum(&self.slots[i].data);
            let slot = match self.spilled.get(&b) {
                Some(&(s, _)) => s,
                None => {
                    let s = self.next_slot;
                    self.next_slot += 1;
                    s
                }
            };
            self.spilled.insert(b, (slot, sum));
            let mut data = core::mem::take(&mut self.slots[i].data);
            let r = j.write_slots(&mut self.disk, slot, &mut data);
            self.slots[i].data = data;
            r.map_err(DiskError)?;
            self.slots[i].dirty = false;
        }
        Ok(())
    }

    /// Writes the dirty block `block` and the dirty blocks of `which` right after it (a run, one
    /// request).
    fn write_run(&mut self, block: u64, which: Runs) -> Result<(), DiskError> {
        if self.clear_pending {
            // Home is written outside a write-out: the last descriptor must not be replayed
            // over it.
            self.disk.flush().map_err(DiskError)?;
            self.clear_pending = false;
        }
        let mut run = Vec::new();
        let mut b = block;
        while (run.len() as u64) < self.run_len() {
            match self.index.get(&b) {
                Some(&i) if self.gathers(i, which) => run.push(i),
                _ => break,
            }
            b += 1;
        }
        if run.is_empty() {
            return Ok(());
        }
        let mut scratch = core::mem::take(&mut self.scratch);
        scratch.clear();
        for &i in &run {
            let n = self.sectors_of(self.slots[i].block);
            scratch.extend_from_slice(&self.slots[i].data[..n * SECTOR]);
        }
        let r = self.disk.write(block * SECTORS_PER_BLOCK, &scratch);
        self.scratch = scratch;
        r.map_err(DiskError)?;
        if self.journal.is_some() {
            self.data_unflushed = true;
        }
        for i in run {
            self.slots[i].dirty = false;
            // Home is newer than a slot the block had: it must not be read back from there.
            self.spilled.remove(&self.slots[i].block);
        }
        Ok(())
    }

    /// A slot for a new block: an unused one, or the least recently used (written back first
    /// if dirty, with the dirty blocks after it).
    fn free_slot(&mut self) -> Result<usize, DiskError> {
        if self.slots.len() < self.capacity {
            self.slots.push(Slot {
                block: u64::MAX,
                data: std::vec![0; BLOCK].into_boxed_slice(),
                dirty: false,
                meta: false,
                used: 0,
            });
            return Ok(self.slots.len() - 1);
        }
        let (i, _) = self
            .slots
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.used)
            .ok_or(DiskError(BlockError::Io))?;
        if self.slots[i].dirty {
            // Metadata into the journal's slots; a file's data home (ordered mode).
            match self.slots[i].meta || self.layout.is_none() {
                true => self.spill_run(self.slots[i].block)?,
                false => self.write_run(self.slots[i].block, Runs::Data)?,
            }
        }
        self.index.remove(&self.slots[i].block);
        self.slots[i].block = u64::MAX;
        self.slots[i].used = 0;
        Ok(i)
    }

    /// The slot holding `block`, reading it unless `whole` (the caller overwrites all of it).
    /// A read brings the blocks after it that are not cached too (up to [`Cache::run_len`]),
    /// in the same request: files and tables are mostly read in order.
    fn slot(&mut self, block: u64, whole: bool) -> Result<usize, DiskError> {
        self.clock += 1;
        // Most accesses are to the block of the one before (a FAT entry after another).
        if let Some(s) = self.slots.get_mut(self.last)
            && s.block == block
        {
            s.used = self.clock;
            return Ok(self.last);
        }
        if let Some(&i) = self.index.get(&block) {
            self.slots[i].used = self.clock;
            self.last = i;
            return Ok(i);
        }
        let i = self.fill(block, whole)?;
        self.last = i;
        Ok(i)
    }

    /// Makes free slot `i` hold `block`, clean, used now.
    fn place(&mut self, i: usize, block: u64) {
        let s = &mut self.slots[i];
        s.block = block;
        s.used = self.clock;
        s.dirty = false;
        s.meta = false;
        self.index.insert(block, i);
    }

    /// [`Cache::slot`] for a block that is not cached.
    fn fill(&mut self, block: u64, whole: bool) -> Result<usize, DiskError> {
        if whole {
            let i = self.free_slot()?;
            self.place(i, block);
            return Ok(i);
        }
        if let Some(&(slot, _)) = self.spilled.get(&block) {
            let j = self.journal.clone().ok_or(DiskError(BlockError::Io))?;
            let i = self.free_slot()?;
            let mut data = core::mem::take(&mut self.slots[i].data);
            let r = j.read_slot(&mut self.disk, slot, &mut data);
            self.slots[i].data = data;
            r.map_err(DiskError)?;
            self.place(i, block);
            return Ok(i);
        }
        let blocks = self.len.div_ceil(BLOCK as u64);
        let mut end = block + 1;
        while end < blocks
            && end - block < self.run_len()
            && !self.index.contains_key(&end)
            && !self.spilled.contains_key(&end)
        {
            end += 1;
        }
        let sectors: usize = (block..end).map(|b| self.sectors_of(b)).sum();
        let mut scratch = core::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.resize(sectors * SECTOR, 0);
        let r = self
            .disk
            .read(block * SECTORS_PER_BLOCK, &mut scratch)
            .map_err(DiskError);
        let mut placed = Ok(usize::MAX);
        if let Err(e) = r {
            placed = Err(e);
        } else {
            for (k, b) in (block..end).enumerate() {
                let i = match self.free_slot() {
                    Ok(i) => i,
                    Err(e) => {
                        placed = placed.and(Err(e));
                        break;
                    }
                };
                let n = self.sectors_of(b);
                let s = &mut self.slots[i];
                s.data.fill(0);
                s.data[..n * SECTOR].copy_from_slice(&scratch[k * BLOCK..k * BLOCK + n * SECTOR]);
                self.place(i, b);
                if b == block {
                    placed = Ok(i);
                }
            }
        }
        self.scratch = scratch;
        placed
    }

    /// Bytes from `pos` (a sector's start), at most `want`, whole sectors, whose blocks are
    /// neither cached nor in a journal slot: a read of them goes straight from the device into
    /// the caller's buffer.
    fn uncached(&self, pos: u64, want: usize) -> usize {
        let want = (want as u64).min(self.len - pos);
        let mut b = pos / BLOCK as u64;
        let mut covered = 0;
        while covered < want && !self.index.contains_key(&b) && !self.spilled.contains_key(&b) {
            b += 1;
            covered = b * BLOCK as u64 - pos;
        }
        (covered.min(want) / SECTOR as u64 * SECTOR as u64) as usize
    }

    /// Reads at byte `pos`; fewer bytes than asked only at the device's end. A read of more
    /// than a block goes straight to the device for the sectors no block of the cache holds
    /// (one request, no copy through the cache, and a file read does not push the volume's
    /// tables out of the cache); the rest through the cache.
    pub fn read_at(&mut self, mut pos: u64, mut buf: &mut [u8]) -> Result<usize, DiskError> {
        let mut done = 0;
        while !buf.is_empty() && pos < self.len {
            if buf.len() > BLOCK && pos.is_multiple_of(SECTOR as u64) {
                let n = self.uncached(pos, buf.len());
                if n > 0 {
                    self.disk
                        .read(pos / SECTOR as u64, &mut buf[..n])
                        .map_err(DiskError)?;
                    buf = &mut buf[n..];
                    pos += n as u64;
                    done += n;
                    continue;
                }
            }
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
            let data = self.is_data(block, pos, n);
            if !data && self.layout.is_some() {
                let old = core::mem::take(&mut self.slots[i].data);
                self.note_freed(pos, &old[off..off + n], &buf[..n]);
                self.slots[i].data = old;
            }
            let s = &mut self.slots[i];
            s.data[off..off + n].copy_from_slice(&buf[..n]);
            s.meta = (s.dirty && s.meta) || !data;
            s.dirty = true;
            buf = &buf[n..];
            pos += n as u64;
            done += n;
        }
        Ok(done)
    }

    /// The write-out: every block written since the last one reaches its place on the device,
    /// all or nothing across a kill (through the journal, see [`crate::journal`]; without one,
    /// in block order).
    pub fn flush(&mut self) -> Result<(), DiskError> {
        self.write_out(false)
    }

    /// [`Cache::flush`] whose descriptor's clearing waits for the next flush (one flush fewer:
    /// for the write-outs the server makes between requests; a `sync` leaves it on the medium,
    /// so that Linux may change the volume after it).
    pub fn flush_lazy(&mut self) -> Result<(), DiskError> {
        self.write_out(true)
    }

    fn write_out(&mut self, lazy: bool) -> Result<(), DiskError> {
        self.write_outs += 1;
        let Some(j) = self.journal.clone() else {
            return self.flush_home();
        };
        // 0. A file's data home, in block order, and flushed: the metadata the commit makes
        //    durable never points at clusters whose data is not on the medium (ordered mode).
        let mut data: Vec<u64> = self
            .slots
            .iter()
            .filter(|s| s.dirty && !s.meta)
            .map(|s| s.block)
            .collect();
        data.sort_unstable();
        for b in data {
            self.write_run(b, Runs::Data)?;
        }
        if self.data_unflushed {
            self.disk.flush().map_err(DiskError)?;
            self.data_unflushed = false;
        }
        let mut dirty: Vec<(u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.dirty)
            .map(|(i, s)| (s.block, i))
            .collect();
        if dirty.is_empty() && self.spilled.is_empty() {
            if lazy {
                return Ok(());
            }
            self.clear_pending = false;
            return self.disk.flush().map_err(DiskError);
        }
        dirty.sort_unstable();
        let fresh = dirty
            .iter()
            .filter(|(b, _)| !self.spilled.contains_key(b))
            .count() as u64;
        if self.next_slot + fresh > j.slots {
            return self.flush_home();
        }
        // 1. Every dirty block into a slot (consecutive new slots in one request).
        let mut homes = std::vec![(crate::journal::EMPTY, 0); (self.next_slot + fresh) as usize];
        for (&b, &(s, sum)) in &self.spilled {
            homes[s as usize] = (b, sum);
        }
        let mut k = 0;
        while k < dirty.len() {
            let (b, i) = dirty[k];
            if let Some(&(s, _)) = self.spilled.get(&b) {
                homes[s as usize] = (b, crate::journal::block_sum(&self.slots[i].data));
                let mut data = core::mem::take(&mut self.slots[i].data);
                let r = j.write_slots(&mut self.disk, s, &mut data);
                self.slots[i].data = data;
                r.map_err(DiskError)?;
                k += 1;
                continue;
            }
            let first = self.next_slot;
            let mut scratch = core::mem::take(&mut self.scratch);
            scratch.clear();
            while k < dirty.len()
                && !self.spilled.contains_key(&dirty[k].0)
                && scratch.len() < self.run_len() as usize * BLOCK
            {
                let (b, i) = dirty[k];
                scratch.extend_from_slice(&self.slots[i].data);
                let sum = crate::journal::block_sum(&self.slots[i].data);
                homes[self.next_slot as usize] = (b, sum);
                self.spilled.insert(b, (self.next_slot, sum));
                self.next_slot += 1;
                k += 1;
            }
            let r = j.write_slots(&mut self.disk, first, &mut scratch);
            self.scratch = scratch;
            r.map_err(DiskError)?;
        }
        // 2. The descriptor that makes them the write-out (its slots' checksums tell whether
        //    they all reached the medium with it), and the flush that makes it so.
        j.commit(&mut self.disk, &homes).map_err(DiskError)?;
        self.disk.flush().map_err(DiskError)?;
        // 3. Home: the cache's blocks from memory, the others from their slots (a run of
        //    blocks in a run of slots, as a sequential write spills them, in one read and one
        //    write).
        let mut spilled: Vec<(u64, u64)> = self
            .spilled
            .iter()
            .filter(|(b, _)| !self.index.contains_key(*b))
            .map(|(&b, &(s, _))| (b, s))
            .collect();
        spilled.sort_unstable();
        let mut back = core::mem::take(&mut self.scratch);
        let mut k = 0;
        while k < spilled.len() {
            let (b, s) = spilled[k];
            let mut n = 1;
            while k + n < spilled.len()
                && (n as u64) < self.run_len()
                && spilled[k + n] == (b + n as u64, s + n as u64)
            {
                n += 1;
            }
            back.clear();
            back.resize(n * BLOCK, 0);
            // The device's last block may be short: only its sectors go home.
            let sectors: usize = (0..n as u64).map(|i| self.sectors_of(b + i)).sum();
            let r = j.read_slot(&mut self.disk, s, &mut back).and_then(|()| {
                self.disk
                    .write(b * SECTORS_PER_BLOCK, &back[..sectors * SECTOR])
            });
            if let Err(e) = r {
                self.scratch = back;
                return Err(DiskError(e));
            }
            k += n;
        }
        self.scratch = back;
        // Clean ones too (read back from their slot): written in runs with the others.
        let mut cached: Vec<u64> = Vec::new();
        for b in self.spilled.keys() {
            if let Some(&i) = self.index.get(b) {
                self.slots[i].dirty = true;
                cached.push(*b);
            }
        }
        cached.sort_unstable();
        for b in cached {
            self.write_run(b, Runs::Any)?;
        }
        self.disk.flush().map_err(DiskError)?;
        self.data_unflushed = false;
        // 4. The descriptor cleared (on the medium with the next flush; until then a replay
        //    of it writes what is home already, or finds its slots reused and stops).
        j.clear(&mut self.disk).map_err(DiskError)?;
        self.clear_pending = lazy;
        if !lazy {
            self.disk.flush().map_err(DiskError)?;
        }
        self.freed.clear();
        self.freed_overflow = false;
        self.spilled.clear();
        self.next_slot = 0;
        Ok(())
    }

    /// Writes every dirty block (and every block in the journal's slots) home, in block order,
    /// and flushes: a write-out without the journal.
    fn flush_home(&mut self) -> Result<(), DiskError> {
        if self.clear_pending {
            self.disk.flush().map_err(DiskError)?;
            self.clear_pending = false;
        }
        if let Some(j) = self.journal.clone() {
            let mut back = std::vec![0u8; BLOCK];
            let mut spilled: Vec<(u64, u64)> =
                self.spilled.iter().map(|(&b, &(s, _))| (b, s)).collect();
            spilled.sort_unstable();
            for (b, s) in spilled {
                if self.index.get(&b).is_some_and(|&i| self.slots[i].dirty) {
                    continue;
                }
                if let Some(&i) = self.index.get(&b) {
                    self.slots[i].dirty = true;
                    continue;
                }
                j.read_slot(&mut self.disk, s, &mut back)
                    .map_err(DiskError)?;
                let n = self.sectors_of(b);
                self.disk
                    .write(b * SECTORS_PER_BLOCK, &back[..n * SECTOR])
                    .map_err(DiskError)?;
            }
            self.unjournaled += 1;
        }
        let mut dirty: Vec<u64> = self
            .slots
            .iter()
            .filter(|s| s.dirty)
            .map(|s| s.block)
            .collect();
        dirty.sort_unstable();
        for b in dirty {
            self.write_run(b, Runs::Any)?;
        }
        self.disk.flush().map_err(DiskError)?;
        self.data_unflushed = false;
        self.freed.clear();
        self.freed_overflow = false;
        self.spilled.clear();
        self.next_slot = 0;
        Ok(())
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
    /// The device's size (fixed): a seek, which lamfat makes before every FAT entry it reads,
    /// needs no lock.
    len: u64,
}

impl<D: Disk> DiskIo<D> {
    pub fn new(cache: Arc<Lock<Cache<D>>>) -> DiskIo<D> {
        let len = cache.lock().len();
        DiskIo { cache, pos: 0, len }
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
        let to = match pos {
            lamfat::SeekFrom::Start(p) => Some(p),
            lamfat::SeekFrom::End(d) => self.len.checked_add_signed(d),
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

    /// A device that counts its requests.
    struct Counting(MemDisk, usize, usize);

    impl BlockDevice for Counting {
        fn info(&self) -> libeurali::proto::block::Info {
            self.0.info()
        }
        fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
            self.1 += 1;
            self.0.read(lba, buf)
        }
        fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
            self.2 += 1;
            self.0.write(lba, data)
        }
        fn flush(&mut self) -> Result<(), BlockError> {
            self.0.flush()
        }
    }

    #[test]
    fn sequential_runs_move_many_blocks_per_request() {
        let mut c = Cache::new(Counting(mem(1 << 20), 0, 0), 64);
        let data: std::vec::Vec<u8> = (0..512 * 1024u32).map(|i| (i % 253) as u8).collect();
        // Written whole blocks are never read; a full cache writes back runs of 16 blocks.
        assert_eq!(c.write_at(0, &data).unwrap(), data.len());
        c.flush().unwrap();
        assert_eq!(c.disk().1, 0);
        assert_eq!(c.disk().2, 128 / 16);
        assert_eq!(&c.disk().0.data[..data.len()], &data[..]);
        // A large read from a cold cache: one request, straight into the buffer.
        let mut c = Cache::new(c.into_disk(), 64);
        let mut back = std::vec![0u8; data.len()];
        assert_eq!(c.read_at(0, &mut back).unwrap(), data.len());
        assert_eq!(back, data);
        assert_eq!(c.disk().1, 1);
        assert_eq!(c.dirty(), 0);
        // Small reads in order: 16 blocks per request (read-ahead).
        let mut c = Cache::new(c.into_disk(), 64);
        let mut small = [0u8; 512];
        for k in 0..data.len() / 512 {
            c.read_at(k as u64 * 512, &mut small).unwrap();
            assert_eq!(small[..], data[k * 512..k * 512 + 512]);
        }
        assert_eq!(c.disk().1, 1 + 128 / 16);
        // A large read over dirty cached blocks sees them.
        c.write_at(5000, b"new").unwrap();
        let mut back = std::vec![0u8; data.len()];
        assert_eq!(c.read_at(0, &mut back).unwrap(), data.len());
        assert_eq!(&back[5000..5003], b"new");
        assert_eq!(back[..5000], data[..5000]);
        assert_eq!(back[5003..], data[5003..]);
    }
}
