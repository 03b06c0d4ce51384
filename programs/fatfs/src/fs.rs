//! A FAT volume as a [`vfs::server::FileSystem`]: lamfat over the [`Cache`], one request at a
//! time.
//!
//! lamfat's files and directories borrow its `FileSystem`, so a session's node is its path,
//! looked up again at each request (names compare without case, as FAT's do). The paths of the
//! nodes open now are kept, so that a rename moves them with it (an open file renamed is still
//! the same file to its sessions); a removed file's sessions read `NotFound`.
//!
//! `sync` (and [`FatFs::unmount`]) unmounts lamfat, which writes the FS information sector and
//! clears the volume's dirty flag, writes the cache out and flushes the device, then mounts
//! again: after a `sync` the image is a clean volume that Linux's fsck.fat accepts.

use std::string::{String, ToString};
use std::sync::{Arc, Weak};
use std::vec::Vec;

use libeurali::sync::Lock;
use vfs::proto::{Entry, FsError, Kind, Meta, Space, Usage, flags};

use crate::cache::{BLOCK, Cache, DEFAULT_BLOCKS, Disk, DiskError, DiskIo, Layout};
use crate::journal;
use libeurali::proto::block::BlockError;

type Fat<D> = lamfat::FileSystem<DiskIo<D>, Clock, lamfat::LossyOemCpConverter>;
type FatDir<'a, D> = lamfat::Dir<'a, DiskIo<D>, Clock, lamfat::LossyOemCpConverter>;
type FatEntry<'a, D> = lamfat::DirEntry<'a, DiskIo<D>, Clock, lamfat::LossyOemCpConverter>;
type FatFile<'a, D> = lamfat::File<'a, DiskIo<D>, Clock, lamfat::LossyOemCpConverter>;

/// FAT's largest file: 4 GiB less a byte.
pub const MAX_FILE: u64 = u32::MAX as u64;

/// Why a volume was not mounted.
#[derive(Debug, PartialEq, Eq)]
pub enum MountError {
    /// The device could not be read.
    Io,
    /// The boot sector is not a FAT one (all zero, another file system, or damaged).
    NotFat(&'static str),
}

impl core::fmt::Display for MountError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MountError::Io => f.write_str("the device could not be read"),
            MountError::NotFat(why) => write!(f, "no FAT file system on it ({why})"),
        }
    }
}

/// Dates for lamfat's directory entries: the wall clock read once at mount, plus the time since
/// (`None`: no wall clock, entries get FAT's 1980-01-01).
#[derive(Clone, Copy, Debug)]
pub struct Clock(Option<(u64, std::time::Instant)>);

impl Clock {
    /// The system's wall clock (`/dev/rtc`), if the namespace has one.
    pub fn wall() -> Clock {
        let base = std::time::SystemTime::wall_clock()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        Clock(base.map(|b| (b, std::time::Instant::now())))
    }

    /// No clock: every entry is dated 1980-01-01.
    pub const fn none() -> Clock {
        Clock(None)
    }

    fn now(&self) -> lamfat::DateTime {
        let none =
            lamfat::DateTime::new(lamfat::Date::new(1980, 1, 1), lamfat::Time::new(0, 0, 0, 0));
        let Some(secs) = self.0.map(|(b, since)| b + since.elapsed().as_secs()) else {
            return none;
        };
        let Some((year, month, day)) = Self::date(secs / 86_400) else {
            return none;
        };
        let sod = secs % 86_400;
        lamfat::DateTime::new(
            lamfat::Date::new(year, month, day),
            lamfat::Time::new(
                (sod / 3600) as u16,
                (sod % 3600 / 60) as u16,
                (sod % 60) as u16,
                0,
            ),
        )
    }

    /// The calendar date of day `days` since 1970 (`None` outside FAT's 1980–2107). lamfat asks
    /// the time at each cluster a file write fills (its entry's modified time): the last day's
    /// date is kept (day << 32 | year << 16 | month << 8 | day of month, 0: none yet), so most
    /// asks skip the calendar arithmetic.
    fn date(days: u64) -> Option<(u16, u16, u16)> {
        use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
        static LAST: AtomicU64 = AtomicU64::new(0);
        let last = LAST.load(Relaxed);
        if last != 0 && last >> 32 == days {
            return Some((
                (last >> 16) as u16,
                (last >> 8) as u8 as u16,
                last as u8 as u16,
            ));
        }
        let d = libeurali::proto::rtc::DateTime::from_unix(days * 86_400);
        if !(1980..2108).contains(&d.year) {
            return None;
        }
        let (y, m, dd) = (d.year as u16, d.month as u16, d.day as u16);
        LAST.store(
            days << 32 | (y as u64) << 16 | (m as u64) << 8 | dd as u64,
            Relaxed,
        );
        Some((y, m, dd))
    }
}

impl lamfat::TimeProvider for Clock {
    fn get_current_date(&self) -> lamfat::Date {
        self.now().date
    }
    fn get_current_date_time(&self) -> lamfat::DateTime {
        self.now()
    }
}

/// What a session has open: a path, moved by renames, and whether it was removed.
#[derive(Debug)]
pub struct NodeInner {
    path: Lock<Vec<String>>,
    gone: core::sync::atomic::AtomicBool,
    /// How it was opened: [`READER`], [`WRITER`] or [`REPLACER`] (see [`FatFs::open`]).
    mode: u8,
    /// Where its last read ended: (the volume's [`FatFs`] chain generation, a cluster's index
    /// in the file, that cluster), so that a sequential read does not walk the cluster chain
    /// from the file's start at each request.
    at: Lock<Option<(u64, u64, u32)>>,
}

/// A node opened without `WRITE`.
const READER: u8 = 0;
/// A node opened for writing, without `TRUNCATE`.
const WRITER: u8 = 1;
/// A node opened for writing with `TRUNCATE`: the file's new content, which no other session
/// may write into while it is open.
const REPLACER: u8 = 2;

pub type Node = Arc<NodeInner>;

struct Inner<D: Disk> {
    fat: Option<Fat<D>>,
    /// The nodes open now (pruned as they close).
    open: Vec<Weak<NodeInner>>,
    prune_at: usize,
}

/// The FAT file server's file system (see the module doc).
pub struct FatFs<D: Disk> {
    /// A listing's bounds: [`LIST_ENTRIES`], [`LIST_NAMES`].
    list: (usize, usize),
    inner: Lock<Inner<D>>,
    cache: Arc<Lock<Cache<D>>>,
    clock: Clock,
    /// The volume's layout (FAT16 and FAT32): reads follow cluster chains themselves.
    layout: Option<Layout>,
    /// Bumped by every request that may free or move a file's clusters (truncation, removal,
    /// rename, a failed write cut back): a node's remembered read position ([`NodeInner`])
    /// from an older generation is not used.
    chains: core::sync::atomic::AtomicU64,
}

fn fat_err(e: lamfat::Error<DiskError>) -> FsError {
    match e {
        lamfat::Error::NotFound => FsError::NotFound,
        lamfat::Error::AlreadyExists => FsError::Exists,
        lamfat::Error::DirectoryIsNotEmpty => FsError::NotEmpty,
        lamfat::Error::NotEnoughSpace | lamfat::Error::WriteZero => FsError::NoSpace,
        lamfat::Error::InvalidFileNameLength => FsError::NameTooLong,
        lamfat::Error::Io(e) => io_err(e),
        _ => FsError::Invalid,
    }
}

fn io_err(DiskError(e): DiskError) -> FsError {
    match e {
        BlockError::ReadOnly => FsError::Denied,
        BlockError::OutOfRange | BlockError::Malformed => FsError::Invalid,
        BlockError::Io | BlockError::Kernel(_) => FsError::Kernel(libeurali::Error::Io),
    }
}

/// FAT's comparison of names: without case.
fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}

fn starts_with(path: &[String], prefix: &[&str]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| same_name(a, b))
}

fn mount<D: Disk>(cache: &Arc<Lock<Cache<D>>>, clock: Clock) -> Result<Fat<D>, MountError> {
    // lamfat trusts the boot sector's size; a volume cut short (a truncated image) would only
    // fail later, at the first access past the device's end.
    {
        let mut c = cache.lock();
        let mut boot = [0u8; 512];
        let n = c.read_at(0, &mut boot).map_err(|DiskError(e)| match e {
            BlockError::OutOfRange => MountError::NotFat("a device smaller than a sector"),
            _ => MountError::Io,
        })?;
        if n < boot.len() {
            return Err(MountError::NotFat("a device smaller than a sector"));
        }
        if boot[510..512] != [0x55, 0xaa] {
            return Err(MountError::NotFat("no boot sector signature"));
        }
        let word = |at: usize| u16::from_le_bytes([boot[at], boot[at + 1]]) as u64;
        let sector = word(11);
        let total = match word(19) {
            0 => u32::from_le_bytes([boot[32], boot[33], boot[34], boot[35]]) as u64,
            t => t,
        };
        if sector != 0 && total.saturating_mul(sector) > c.len() {
            return Err(MountError::NotFat("the volume is larger than the device"));
        }
    }
    let opts = lamfat::FsOptions::new()
        .time_provider(clock)
        .update_accessed_date(false);
    lamfat::FileSystem::new(DiskIo::new(cache.clone()), opts).map_err(|e| match e {
        lamfat::Error::Io(DiskError(BlockError::Io | BlockError::Kernel(_))) => MountError::Io,
        lamfat::Error::CorruptedFileSystem => MountError::NotFat("a corrupt boot sector"),
        lamfat::Error::Io(_) | lamfat::Error::UnexpectedEof => {
            MountError::NotFat("the volume is larger than the device")
        }
        _ => MountError::NotFat("an unreadable boot sector"),
    })
}

/// Most entries a FAT directory holds (2^16 slots of 32 bytes): a walk past it is on a damaged
/// volume (a cluster chain that loops), and stops with `Invalid` instead of going round.
const MAX_DIR_ENTRIES: usize = 1 << 16;

/// Most entries, and bytes of names, one listing holds (a ramdisk directory's bounds); a larger
/// directory (one Linux filled) is `TooBig` to list, its files still open by name.
pub const LIST_ENTRIES: usize = vfs::ramdisk::MAX_DIR_ENTRIES;
pub const LIST_NAMES: usize = vfs::ramdisk::MAX_DIR_NAMES;

/// The entry named `name` in `dir` (without case).
fn find_in<'a, D: Disk>(dir: &FatDir<'a, D>, name: &str) -> Result<FatEntry<'a, D>, FsError> {
    for (i, e) in dir.iter().enumerate() {
        if i >= MAX_DIR_ENTRIES {
            return Err(FsError::Invalid);
        }
        let e = e.map_err(fat_err)?;
        let n = e.file_name();
        if n != "." && n != ".." && same_name(&n, name) {
            return Ok(e);
        }
    }
    Err(FsError::NotFound)
}

/// Whether `path` is the journal's ([`crate::journal`]), which no client sees.
fn hidden(path: &[&str]) -> bool {
    path.len() == 1 && same_name(path[0], journal::NAME)
}

/// The directory at `path`.
fn dir_at<'a, D: Disk>(fat: &'a Fat<D>, path: &[&str]) -> Result<FatDir<'a, D>, FsError> {
    let mut dir = fat.root_dir();
    if path.first().is_some_and(|c| hidden(&[c])) {
        return Err(FsError::NotFound);
    }
    for c in path {
        let e = find_in(&dir, c)?;
        if !e.is_dir() {
            return Err(FsError::NotDir);
        }
        dir = e.to_dir();
    }
    Ok(dir)
}

/// An entry and the directory holding it.
type Found<'a, D> = (FatDir<'a, D>, FatEntry<'a, D>);

/// The entry at `path` (`None`: the root), and its parent directory.
fn lookup<'a, D: Disk>(fat: &'a Fat<D>, path: &[&str]) -> Result<Option<Found<'a, D>>, FsError> {
    let Some((last, parent)) = path.split_last() else {
        return Ok(None);
    };
    if hidden(path) {
        return Err(FsError::NotFound);
    }
    let dir = dir_at(fat, parent)?;
    let e = find_in(&dir, last)?;
    Ok(Some((dir, e)))
}

/// Reads until `buf` is full or the file ends.
fn read_full<D: Disk>(f: &mut FatFile<'_, D>, mut buf: &mut [u8]) -> Result<usize, FsError> {
    let mut done = 0;
    while !buf.is_empty() {
        let n = lamfat::Read::read(f, buf).map_err(fat_err)?;
        if n == 0 {
            break;
        }
        buf = &mut buf[n..];
        done += n;
    }
    Ok(done)
}

fn write_all<D: Disk>(f: &mut FatFile<'_, D>, mut data: &[u8]) -> Result<(), FsError> {
    while !data.is_empty() {
        let n = lamfat::Write::write(f, data).map_err(fat_err)?;
        if n == 0 {
            return Err(FsError::NoSpace);
        }
        data = &data[n..];
    }
    Ok(())
}

fn seek<D: Disk>(f: &mut FatFile<'_, D>, to: u64) -> Result<(), FsError> {
    lamfat::Seek::seek(f, lamfat::SeekFrom::Start(to)).map_err(fat_err)?;
    Ok(())
}

/// Grows `f` (of `len` bytes) with zeros to `to` bytes.
fn zero_fill<D: Disk>(f: &mut FatFile<'_, D>, len: u64, to: u64) -> Result<(), FsError> {
    static ZEROS: [u8; 4096] = [0; 4096];
    seek(f, len)?;
    let mut left = to - len;
    while left > 0 {
        let n = left.min(ZEROS.len() as u64) as usize;
        write_all(f, &ZEROS[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Cuts `f` to `len` bytes.
fn cut<D: Disk>(f: &mut FatFile<'_, D>, len: u64) -> Result<(), FsError> {
    seek(f, len)?;
    f.truncate().map_err(fat_err)
}

impl<D: Disk> FatFs<D> {
    /// Mounts the FAT volume on `disk` (FAT12 and FAT16 too), with a cache of `blocks` 4 KiB
    /// blocks, dating entries by `clock`.
    pub fn mount_with(mut disk: D, blocks: usize, clock: Clock) -> Result<FatFs<D>, MountError> {
        // A write-out a kill cut short is finished first, before anything reads the volume.
        let found = journal::recover(&mut disk).map_err(|_| MountError::Io)?;
        let layout = journal::Geometry::of(&mut disk).map(|g| g.layout());
        let read_only = disk.info().read_only;
        let cache = Arc::new(Lock::new(Cache::new(disk, blocks)));
        let have = found.is_some();
        let ordered = found.as_ref().and(layout);
        cache.lock().set_journal(found, ordered);
        let mut fat = mount(&cache, clock)?;
        if !have && !read_only {
            fat = make_journal(&cache, fat, clock)?;
        }
        Ok(FatFs {
            list: (LIST_ENTRIES, LIST_NAMES),
            inner: Lock::new(Inner {
                fat: Some(fat),
                open: Vec::new(),
                prune_at: 64,
            }),
            cache,
            clock,
            layout,
            chains: core::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Mounts with the default cache ([`DEFAULT_BLOCKS`]) and the wall clock.
    pub fn mount(disk: D) -> Result<FatFs<D>, MountError> {
        FatFs::mount_with(disk, DEFAULT_BLOCKS, Clock::wall())
    }

    /// Writes everything out (see the module doc) and hands the device back.
    pub fn unmount(self) -> Result<D, FsError>
    where
        D: Clone,
    {
        let r = self.checkpoint(false);
        let disk = self.cache.lock().disk().clone();
        r.map(|()| disk)
    }

    /// Other bounds for a listing (tests: a directory past them is quicker to make).
    pub fn with_list_limits(mut self, entries: usize, names: usize) -> FatFs<D> {
        self.list = (entries, names);
        self
    }

    /// Blocks written and not yet in their place on the device.
    pub fn dirty_blocks(&self) -> usize {
        self.cache.lock().pending()
    }

    /// Whether the volume has a journal (a write-out is then all or nothing across a kill).
    pub fn journaled(&self) -> bool {
        self.cache.lock().journal().is_some()
    }

    /// Write-outs that went without the journal (none on a volume that has one, unless one
    /// request wrote more than the journal holds).
    pub fn unjournaled(&self) -> u64 {
        self.cache.lock().unjournaled
    }

    /// Write-outs made so far (through the journal or not).
    pub fn write_outs(&self) -> u64 {
        self.cache.lock().write_outs
    }

    /// Unmounts lamfat, flushes the cache and the device, and (when `again`) mounts again.
    fn checkpoint(&self, again: bool) -> Result<(), FsError> {
        let mut inner = self.inner.lock();
        self.checkpoint_locked(&mut inner, again, false)
    }

    /// [`FatFs::checkpoint`] under the lock; `lazy`: the journal's clearing may wait for the
    /// next flush ([`Cache::flush_lazy`]).
    fn checkpoint_locked(
        &self,
        inner: &mut Inner<D>,
        again: bool,
        lazy: bool,
    ) -> Result<(), FsError> {
        let unmounted = match inner.fat.take() {
            Some(fat) => fat.unmount().map_err(fat_err),
            None => Ok(()),
        };
        let flushed = match lazy {
            true => self.cache.lock().flush_lazy(),
            false => self.cache.lock().flush(),
        }
        .map_err(io_err);
        if again {
            inner.fat = mount(&self.cache, self.clock).ok();
        }
        unmounted.and(flushed)
    }

    /// Runs `f` over the mounted volume; `Io` if the last remount failed.
    fn with<R>(
        &self,
        f: impl FnOnce(&Fat<D>, &mut Inner<D>) -> Result<R, FsError>,
    ) -> Result<R, FsError> {
        let mut inner = self.inner.lock();
        let fat = inner
            .fat
            .take()
            .ok_or(FsError::Kernel(libeurali::Error::Io))?;
        let r = f(&fat, &mut inner);
        inner.fat = Some(fat);
        // Between requests the volume is consistent: a write-out there when the journal is
        // filling up keeps room in it for the next request's blocks.
        if self.cache.lock().pressed() {
            let _ = self.checkpoint_locked(&mut inner, true, true);
        }
        r
    }

    fn node_path(node: &Node) -> Result<Vec<String>, FsError> {
        if node.gone.load(core::sync::atomic::Ordering::Relaxed) {
            return Err(FsError::NotFound);
        }
        Ok(node.path.lock().clone())
    }

    /// Reads `buf.len()` bytes (all inside the file) at `offset` of the file whose chain starts
    /// at cluster `first`: from the node's last position when it is at or before `offset`, and
    /// each run of contiguous clusters in one read of the cache (a device request of up to 64
    /// KiB per cache miss).
    fn read_chain(
        &self,
        l: &Layout,
        node: &Node,
        first: u32,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FsError> {
        use core::sync::atomic::Ordering::Relaxed;
        let bad = |e: Option<DiskError>| e.map_or(FsError::Invalid, io_err);
        let cb = l.cluster_bytes.max(1);
        let epoch = self.chains.load(Relaxed);
        let want = offset / cb;
        let (mut ci, mut c) = match *node.at.lock() {
            Some((g, i, c)) if g == epoch && i <= want => (i, c),
            _ => (0, first),
        };
        let mut cache = self.cache.lock();
        while ci < want {
            c = l
                .next(&mut cache, c)
                .map_err(bad)?
                .ok_or(FsError::Invalid)?;
            ci += 1;
        }
        if !l.holds(c) {
            return Err(FsError::Invalid);
        }
        let mut done = 0;
        let mut pos = offset;
        while done < buf.len() {
            let left = (buf.len() - done) as u64;
            let start = c;
            let mut avail = cb - pos % cb;
            let mut next = None;
            while avail < left {
                let n = l
                    .next(&mut cache, c)
                    .map_err(bad)?
                    .ok_or(FsError::Invalid)?;
                ci += 1;
                if n != c + 1 {
                    next = Some(n);
                    break;
                }
                c = n;
                avail += cb;
            }
            let n = avail.min(left) as usize;
            let at = l.cluster_at(start) + pos % cb;
            if cache
                .read_at(at, &mut buf[done..done + n])
                .map_err(io_err)?
                != n
            {
                return Err(FsError::Invalid);
            }
            done += n;
            pos += n as u64;
            if let Some(n) = next {
                c = n;
            }
        }
        *node.at.lock() = Some((epoch, ci, c));
        Ok(done)
    }

    /// A request that may free or move clusters: remembered read positions are dropped.
    fn chains_changed(&self) {
        self.chains
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    /// Runs `f`, lamfat's writes of a file's data (and the FAT entries, directory entries and
    /// boot sector it writes on the way, which the cache tells by where they are): the cache
    /// sends these data blocks home before the next commit instead of through the journal.
    fn data_writes<R>(&self, f: impl FnOnce() -> R) -> R {
        self.cache.lock().set_data_writes(true);
        let r = f();
        self.cache.lock().set_data_writes(false);
        r
    }

    /// The file at `node`'s path, as a lamfat file at offset 0 (under the volume's lock), and
    /// its length from its directory entry: a seek walks the cluster chain from the start, so
    /// each request seeks once, to where it reads or writes.
    fn file<'a>(fat: &'a Fat<D>, node: &Node) -> Result<(FatFile<'a, D>, u64), FsError> {
        let path = Self::node_path(node)?;
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match lookup(fat, &p)? {
            None => Err(FsError::IsDir),
            Some((_, e)) if e.is_dir() => Err(FsError::IsDir),
            Some((_, e)) => Ok((e.to_file(), e.len())),
        }
    }
}

impl<D: Disk> Inner<D> {
    /// Whether a session opening `path` as `mode` would write into a file another session is
    /// writing: a replacer (a truncating open) is alone with the file's writers.
    fn clashes(&self, path: &[&str], mode: u8) -> bool {
        if mode == READER {
            return false;
        }
        self.open.iter().filter_map(Weak::upgrade).any(|n| {
            let p = n.path.lock();
            !n.gone.load(core::sync::atomic::Ordering::Relaxed)
                && p.len() == path.len()
                && starts_with(&p, path)
                && (n.mode == REPLACER || (mode == REPLACER && n.mode == WRITER))
        })
    }

    fn track(&mut self, path: &[&str], mode: u8) -> Node {
        if self.open.len() >= self.prune_at {
            self.open.retain(|w| w.strong_count() > 0);
            self.prune_at = (self.open.len() * 2).max(64);
        }
        let node = Arc::new(NodeInner {
            path: Lock::new(path.iter().map(|s| s.to_string()).collect()),
            gone: core::sync::atomic::AtomicBool::new(false),
            mode,
            at: Lock::new(None),
        });
        self.open.push(Arc::downgrade(&node));
        node
    }

    fn each_below(&self, prefix: &[&str], mut f: impl FnMut(&NodeInner)) {
        for n in self.open.iter().filter_map(Weak::upgrade) {
            if starts_with(&n.path.lock(), prefix) {
                f(&n);
            }
        }
    }
}

impl<D: Disk> vfs::server::FileSystem for FatFs<D> {
    type Node = Node;

    fn open(&self, path: &[&str], fl: u32) -> Result<Node, FsError> {
        if hidden(path) {
            return Err(FsError::Denied);
        }
        let mode = match (fl & flags::WRITE != 0, fl & flags::TRUNCATE != 0) {
            (false, _) => READER,
            (true, false) => WRITER,
            (true, true) => REPLACER,
        };
        self.with(|fat, inner| {
            // Two sessions replacing one file (`cat a > f` and `cat b > f` at once) would end
            // with a mix of their writes: the second is refused (EAGAIN, "resource temporarily
            // unavailable") until the first closes.
            if inner.clashes(path, mode) {
                return Err(FsError::Again);
            }
            let found = match lookup(fat, path) {
                Ok(None) => None,
                Ok(Some((_, e))) => {
                    if fl & flags::CREATE != 0 && fl & flags::EXCLUSIVE != 0 {
                        return Err(FsError::Exists);
                    }
                    Some(e.is_dir())
                }
                Err(FsError::NotFound) if fl & flags::CREATE != 0 && !path.is_empty() => {
                    let (name, parent) = path.split_last().ok_or(FsError::Invalid)?;
                    let dir = dir_at(fat, parent)?;
                    let mut f = dir.create_file(name).map_err(fat_err)?;
                    lamfat::Write::flush(&mut f).map_err(fat_err)?;
                    Some(false)
                }
                Err(e) => return Err(e),
            };
            let is_dir = found.unwrap_or(true);
            if is_dir && fl & flags::WRITE != 0 {
                return Err(FsError::IsDir);
            }
            if !is_dir && fl & flags::DIRECTORY != 0 {
                return Err(FsError::NotDir);
            }
            let node = inner.track(path, mode);
            if !is_dir && fl & flags::TRUNCATE != 0 {
                self.chains_changed();
                let (mut f, _) = Self::file(fat, &node)?;
                f.truncate().map_err(fat_err)?;
                lamfat::Write::flush(&mut f).map_err(fat_err)?;
            }
            Ok(node)
        })
    }

    fn stat(&self, node: &Node) -> Result<Meta, FsError> {
        self.with(|fat, _| {
            let path = Self::node_path(node)?;
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let (kind, len) = match lookup(fat, &p)? {
                None => (Kind::Dir, 0),
                Some((_, e)) if e.is_dir() => (Kind::Dir, 0),
                Some((_, e)) => (Kind::File, e.len()),
            };
            Ok(Meta {
                kind,
                len,
                readonly: false,
                mount_readonly: false,
            })
        })
    }

    fn read(&self, node: &Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        self.with(|fat, _| {
            let (mut f, len) = Self::file(fat, node)?;
            if offset >= len {
                return Ok(0);
            }
            let want = buf.len().min((len - offset) as usize);
            if let Some(l) = self.layout {
                let first = match f.extents().next() {
                    Some(e) => l.cluster_of(e.map_err(fat_err)?.offset),
                    None => return Err(FsError::Invalid),
                };
                return self.read_chain(&l, node, first, offset, &mut buf[..want]);
            }
            seek(&mut f, offset)?;
            read_full(&mut f, &mut buf[..want])
        })
    }

    fn write(&self, node: &Node, offset: Option<u64>, data: &[u8]) -> Result<u64, FsError> {
        self.with(|fat, _| {
            let (mut f, len) = Self::file(fat, node)?;
            let at = offset.unwrap_or(len);
            let end = at
                .checked_add(data.len() as u64)
                .filter(|&e| e <= MAX_FILE)
                .ok_or(FsError::TooBig)?;
            let r = self.data_writes(|| {
                if at > len {
                    zero_fill(&mut f, len, at)?;
                }
                seek(&mut f, at)?;
                write_all(&mut f, data)
            });
            if let Err(e) = r {
                // Nothing of a failed write stays: the file keeps its old length (bytes it
                // overwrote below that length are not restored).
                self.chains_changed();
                let _ = cut(&mut f, len);
                let _ = lamfat::Write::flush(&mut f);
                return Err(e);
            }
            lamfat::Write::flush(&mut f).map_err(fat_err)?;
            Ok(end)
        })
    }

    fn set_len(&self, node: &Node, to: u64) -> Result<(), FsError> {
        if to > MAX_FILE {
            return Err(FsError::TooBig);
        }
        self.with(|fat, _| {
            self.chains_changed();
            let (mut f, len) = Self::file(fat, node)?;
            if to < len {
                cut(&mut f, to)?;
            } else if to > len
                && let Err(e) = self.data_writes(|| zero_fill(&mut f, len, to))
            {
                let _ = cut(&mut f, len);
                let _ = lamfat::Write::flush(&mut f);
                return Err(e);
            }
            lamfat::Write::flush(&mut f).map_err(fat_err)
        })
    }

    fn read_dir(&self, node: &Node) -> Result<Vec<Entry>, FsError> {
        self.with(|fat, _| {
            let path = Self::node_path(node)?;
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let dir = dir_at(fat, &p)?;
            let mut out = Vec::new();
            let mut names = 0;
            for (i, e) in dir.iter().enumerate() {
                if i >= MAX_DIR_ENTRIES {
                    return Err(FsError::Invalid);
                }
                let e = e.map_err(fat_err)?;
                let name = e.file_name();
                if name == "." || name == ".." || (p.is_empty() && hidden(&[&name])) {
                    continue;
                }
                // The listing is built on the heap: bounded as a ramdisk's directory is, so
                // that a directory Linux filled cannot make the server's heap overflow.
                names += name.len();
                if out.len() >= self.list.0 || names > self.list.1 {
                    return Err(FsError::TooBig);
                }
                out.try_reserve(1).map_err(|_| FsError::NoSpace)?;
                let (kind, len) = match e.is_dir() {
                    true => (Kind::Dir, 0),
                    false => (Kind::File, e.len()),
                };
                out.push(Entry { name, kind, len });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    fn mkdir(&self, path: &[&str]) -> Result<(), FsError> {
        if hidden(path) {
            return Err(FsError::Denied);
        }
        let (name, parent) = path.split_last().ok_or(FsError::Exists)?;
        self.with(|fat, _| {
            let dir = dir_at(fat, parent)?;
            match find_in(&dir, name) {
                Ok(_) => return Err(FsError::Exists),
                Err(FsError::NotFound) => {}
                Err(e) => return Err(e),
            }
            dir.create_dir(name).map_err(fat_err)?;
            Ok(())
        })
    }

    fn remove(&self, path: &[&str], want_dir: bool) -> Result<(), FsError> {
        self.with(|fat, inner| {
            self.chains_changed();
            let (dir, e) = lookup(fat, path)?.ok_or(FsError::Denied)?;
            match (e.is_dir(), want_dir) {
                (false, true) => return Err(FsError::NotDir),
                (true, false) => return Err(FsError::IsDir),
                _ => {}
            }
            dir.remove(&e.file_name()).map_err(fat_err)?;
            inner.each_below(path, |n| {
                n.gone.store(true, core::sync::atomic::Ordering::Relaxed);
            });
            Ok(())
        })
    }

    fn rename(&self, from: &[&str], to: &[&str]) -> Result<(), FsError> {
        if from.is_empty() || to.is_empty() || hidden(to) {
            return Err(FsError::Denied);
        }
        if from.len() == to.len() && from.iter().zip(to).all(|(a, b)| a == b) {
            return Ok(());
        }
        // A directory cannot move below itself.
        if to.len() > from.len() && to.iter().zip(from).all(|(a, b)| same_name(a, b)) {
            return Err(FsError::Invalid);
        }
        self.with(|fat, inner| {
            self.chains_changed();
            let (src_dir, src) = lookup(fat, from)?.ok_or(FsError::Denied)?;
            let (tname, tparent) = to.split_last().ok_or(FsError::Denied)?;
            let dst_dir = dir_at(fat, tparent)?;
            let same_entry =
                from.len() == to.len() && from.iter().zip(to).all(|(a, b)| same_name(a, b));
            if !same_entry {
                match find_in(&dst_dir, tname) {
                    Ok(old) => {
                        match (old.is_dir(), src.is_dir()) {
                            (true, false) => return Err(FsError::IsDir),
                            (false, true) => return Err(FsError::NotDir),
                            _ => {}
                        }
                        // Replaced, as Unix's rename does (an empty directory only: lamfat
                        // refuses the others with NotEmpty).
                        dst_dir.remove(&old.file_name()).map_err(fat_err)?;
                        inner.each_below(to, |n| {
                            n.gone.store(true, core::sync::atomic::Ordering::Relaxed);
                        });
                    }
                    Err(FsError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            src_dir
                .rename(&src.file_name(), &dst_dir, tname)
                .map_err(fat_err)?;
            inner.each_below(from, |n| {
                let mut p = n.path.lock();
                let rest: Vec<String> = p.drain(from.len()..).collect();
                p.clear();
                p.extend(to.iter().map(|s| s.to_string()));
                p.extend(rest);
            });
            Ok(())
        })
    }

    fn usage(&self, _account: Option<&str>) -> Result<Usage, FsError> {
        self.with(|fat, _| {
            let s = fat.stats().map_err(fat_err)?;
            let cluster = s.cluster_size() as u64;
            let total = s.total_clusters() as u64;
            // More free clusters than clusters: a damaged FS information sector.
            let used = total
                .checked_sub(s.free_clusters() as u64)
                .ok_or(FsError::Invalid)?;
            Ok(Usage {
                disk: Space {
                    bytes: used * cluster,
                    bytes_max: total * cluster,
                    nodes: 0,
                    nodes_max: 0,
                },
                account: None,
            })
        })
    }

    fn sync(&self) -> Result<(), FsError> {
        self.checkpoint(true)
    }
}

/// Makes the journal file on a volume that has none ([`crate::journal`]): 4 caches' worth of
/// slots and room for a request's blocks, at most a twelfth of the volume and half its free
/// space (a volume too small or too full goes without, as before). This first write-out is the
/// one made in place, once per volume. `fat` is unmounted and mounted again.
fn make_journal<D: Disk>(
    cache: &Arc<Lock<Cache<D>>>,
    fat: Fat<D>,
    clock: Clock,
) -> Result<Fat<D>, MountError> {
    let (geo, capacity) = {
        let mut c = cache.lock();
        (journal::Geometry::of(c.disk_mut()), c.capacity() as u64)
    };
    let Some(geo) = geo else {
        return Ok(fat);
    };
    let slots = (4 * capacity + 320).min(geo.data_bytes() / 12 / BLOCK as u64);
    let bytes = journal::file_bytes(slots);
    let free = match fat.stats() {
        Ok(s) => s.free_clusters() as u64 * s.cluster_size() as u64,
        Err(_) => return Ok(fat),
    };
    if slots < journal::MIN_SLOTS || bytes > free / 2 {
        return Ok(fat);
    }
    let made = (|| {
        let root = fat.root_dir();
        if find_in(&root, journal::NAME).is_ok() {
            // One of an unusable size (or damaged): left as it is.
            return Err(FsError::Exists);
        }
        let mut f = root.create_file(journal::NAME).map_err(fat_err)?;
        static ZEROS: [u8; BLOCK] = [0; BLOCK];
        let mut left = bytes;
        let r = (|| {
            while left > 0 {
                let n = left.min(BLOCK as u64) as usize;
                write_all(&mut f, &ZEROS[..n])?;
                left -= n as u64;
            }
            lamfat::Write::flush(&mut f).map_err(fat_err)
        })();
        drop(f);
        if r.is_err() {
            let _ = root.remove(journal::NAME);
        }
        r
    })();
    if made.is_err() {
        return Ok(fat);
    }
    fat.unmount().map_err(|_| MountError::Io)?;
    let mut c = cache.lock();
    c.flush().map_err(|_| MountError::Io)?;
    let found = journal::Geometry::of(c.disk_mut()).and_then(|g| g.find(c.disk_mut()));
    if let Some(j) = &found {
        // Hidden and system, as Windows keeps its own: `mdir` lists it with -a only.
        c.write_at(j.entry + 11, &[j.attr | journal::ATTR_HIDDEN_SYSTEM])
            .map_err(|_| MountError::Io)?;
        c.flush().map_err(|_| MountError::Io)?;
    }
    let layout = found.as_ref().map(|_| geo.layout());
    c.set_journal(found, layout);
    drop(c);
    mount(cache, clock)
}

/// Formats `disk` as one FAT32 volume (no partition table), labelled `label`; a disk too small
/// for FAT32 (under about 33 MiB) gets the FAT type lamfat picks for its size (FAT12 or 16).
pub fn format<D: Disk>(disk: D, label: &str) -> Result<D, FsError> {
    let cache = Arc::new(Lock::new(Cache::new(disk, DEFAULT_BLOCKS)));
    let mut name = [b' '; 11];
    for (d, s) in name.iter_mut().zip(label.bytes()) {
        *d = s.to_ascii_uppercase();
    }
    let opts = || lamfat::FormatVolumeOptions::new().volume_label(name);
    let r = lamfat::format_volume(
        &mut DiskIo::new(cache.clone()),
        opts().fat_type(lamfat::FatType::Fat32),
    );
    match r {
        Err(lamfat::Error::InvalidInput) => {
            lamfat::format_volume(&mut DiskIo::new(cache.clone()), opts()).map_err(fat_err)?
        }
        r => r.map_err(fat_err)?,
    }
    let cache = Arc::try_unwrap(cache).map_err(|_| FsError::Invalid)?;
    let mut cache = cache.into_inner();
    cache.flush().map_err(io_err)?;
    Ok(cache.into_disk())
}

#[cfg(test)]
mod clock_tests {
    use super::Clock;
    use libeurali::proto::rtc::DateTime;

    /// The kept day gives the calendar's date, for days in order (the kept one) and out of it.
    #[test]
    fn dates_match_the_calendar() {
        for days in (3652..50_000u64)
            .step_by(97)
            .chain([10_957, 10_957, 3651, 50_540, 50_539])
        {
            let d = DateTime::from_unix(days * 86_400);
            let want = (1980..2108).contains(&d.year).then_some((
                d.year as u16,
                d.month as u16,
                d.day as u16,
            ));
            assert_eq!(Clock::date(days), want, "day {days}");
            assert_eq!(Clock::date(days), want, "day {days}, kept");
        }
    }
}
