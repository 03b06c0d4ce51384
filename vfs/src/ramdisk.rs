//! The ramdisk: an in-memory tree served with the file protocol.
//!
//! Nodes live in a hashbrown map from inode number to node; a directory maps names to inode
//! numbers in a `BTreeMap`, so listings come out sorted (deterministic). One lock guards the
//! tree; every operation holds it briefly (a 1 MiB read copies under it). Writes land at their
//! offset (a write past the end fills the gap with zeros).
//!
//! An open file is named by its inode number: removing or renaming it under an open session is
//! allowed; after a remove the session's requests fail with `NotFound` (the data is freed at once,
//! unlike Unix, which keeps it until the last close).
//!
//! # Memory
//!
//! File data is not kept in the heap (on the real kernel a process's heap is a fixed 4 MiB) but
//! in an [`Arena`]: memory chunks of the process, each allocated unwritten when the data first
//! needs it (so on the real kernel a page costs a frame only once written, ABI §4.3), carved
//! into blocks of [`BLOCK`] bytes. A file is a list of block numbers. A block freed (a file
//! cut or removed) goes on a free list and is reused before fresh memory is touched; chunks are
//! never given back to the kernel (returning many frames at once corrupts the real kernel's
//! memory, ABI §9.23): a dropped ramdisk's chunks are kept for the process's next ramdisk
//! (`SPARE`; on the in-process stub, which shares statics between processes, they are freed).
//! A block is always written before it is read: a fresh one is filled as it is handed to a
//! file, a freed one holds the free list's link, and reads never go past a file's length.
//!
//! Everything a client can make the ramdisk hold is bounded ([`Limits`]), and going over a
//! bound is an error to that client that changes nothing:
//!
//! | Bound | Error |
//! |---|---|
//! | file data in all files, [`Limits::bytes`], and the blocks holding it, [`Limits::blocks`] | `NoSpace` |
//! | one file's length, [`Limits::file`] | `TooBig` (checked after `NoSpace`) |
//! | files and directories, [`Limits::nodes`] | `NoSpace` |
//! | entries of one directory, [`Limits::dir_entries`], and their names' bytes, [`Limits::dir_names`] | `NoSpace` |
//! | a name, [`crate::proto::MAX_NAME`] bytes (the server framework) | `NameTooLong` |
//! | one account's data, [`Limits::account_bytes`], and nodes, [`Limits::account_nodes`] | `Quota` |
//! | all accounts' together: all but [`Limits::reserve_bytes`] and [`Limits::reserve_nodes`] | `NoSpace` |
//!
//! The blocks are bounded as well as the bytes, so that the memory the data takes is what the
//! size says (a file's last block is partly used: many small files fill the blocks before the
//! bytes). The heap holds the tree alone: names, map slots and block lists, at most
//! [`Limits::heap`]. Allocation failures on the way are `NoSpace` too (`try_reserve`), never an
//! abort.
//!
//! # Quotas
//!
//! A node made through a session charged to an account ([`crate::proto::Op::ServeAs`]: what
//! login asks for an ordinary user's binds) belongs to that account for good (a rename keeps
//! it); its data counts against its account whoever writes it, in whole blocks (a 1-byte file
//! takes 4 KiB of the quota, as it takes a block of memory). The system's own sessions (root
//! and the services) are charged to no account and have no quota, and the reserve is theirs
//! alone: accounts together never hold more than the ramdisk's limits less the reserve, so
//! root can always write, make directories and change a password.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use hashbrown::HashMap;

use crate::proto::{Entry, FsError, Kind, MAX_NAME, Meta, Space, Usage, flags};
use crate::server::FileSystem;
use libeurali::sync::Lock;

/// Bytes per block of file data (a page).
pub const BLOCK: usize = 4096;

/// Most files and directories in a ramdisk, whatever its size (see [`Limits::for_bytes`]).
pub const MAX_NODES: usize = 8192;
/// Fewest nodes a small ramdisk still allows.
pub const MIN_NODES: usize = 64;
/// Bytes of data per node allowed by [`Limits::for_bytes`]: a 2 MiB ramdisk holds 1024 files
/// and directories.
pub const BYTES_PER_NODE: usize = 2048;
/// Most entries in one directory.
pub const MAX_DIR_ENTRIES: usize = 4096;
/// Most bytes of names in one directory. With [`MAX_DIR_ENTRIES`] this bounds the one listing
/// a server builds at a time (see [`crate::server`]): under 128 KiB of names and 4096 x 56
/// bytes of entries, about 350 KiB of heap, and about 180 KiB encoded in its reply chunk (well
/// under [`crate::proto::MAX_REPLY`]).
pub const MAX_DIR_NAMES: usize = 128 * 1024;
/// Heap one node costs at most besides its block list: its name (at most [`MAX_NAME`] bytes),
/// the `String` and `BTreeMap` slot in its directory, its hashbrown slot (twice, for the load
/// factor), a directory's own map and a file's block list's minimum.
/// And its slot in the map of nodes owned by accounts (twice, for the load factor).
pub const NODE_HEAP: usize = MAX_NAME + 192 + 48;
/// Most accounts one ramdisk keeps figures for (as many as a server tells apart).
pub const MAX_ACCOUNTS: usize = crate::server::MAX_ACCOUNTS;
/// Most chunks an [`Arena`] takes: its memory comes in this many equal parts (or fewer, of at
/// least [`MIN_REGION`] bytes), each allocated when the data first reaches it.
pub const REGIONS: usize = 16;
/// Smallest arena chunk (unless the whole ramdisk is smaller).
pub const MIN_REGION: usize = 1 << 20;

/// What one ramdisk may hold (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of file data in all files together; also the memory for it, in [`BLOCK`]s
    /// ([`Limits::blocks`]).
    pub bytes: usize,
    /// Longest file (at most `bytes` matters).
    pub file: u64,
    /// Files and directories, the root included.
    pub nodes: usize,
    /// Entries in one directory.
    pub dir_entries: usize,
    /// Bytes of the names in one directory.
    pub dir_names: usize,
    /// Bytes of data (in whole blocks) one account's files may hold (see the module doc).
    pub account_bytes: usize,
    /// Files and directories one account may own.
    pub account_nodes: usize,
    /// Bytes of data that accounts together leave to the system (root and the services).
    pub reserve_bytes: usize,
    /// Nodes that accounts together leave to the system.
    pub reserve_nodes: usize,
}

impl Limits {
    /// `bytes` of data; any one file may take all of it; nodes in proportion
    /// ([`BYTES_PER_NODE`], between [`MIN_NODES`] and [`MAX_NODES`]); [`MAX_DIR_ENTRIES`] and
    /// [`MAX_DIR_NAMES`] per directory; quotas ([`Limits::with_quotas`]) of half the bytes and
    /// half the nodes per account, and an eighth of each reserved for the system.
    pub const fn for_bytes(bytes: usize) -> Limits {
        let mut nodes = bytes / BYTES_PER_NODE;
        if nodes < MIN_NODES {
            nodes = MIN_NODES;
        }
        if nodes > MAX_NODES {
            nodes = MAX_NODES;
        }
        Limits {
            bytes,
            file: bytes as u64,
            nodes,
            dir_entries: MAX_DIR_ENTRIES,
            dir_names: MAX_DIR_NAMES,
            account_bytes: 0,
            account_nodes: 0,
            reserve_bytes: 0,
            reserve_nodes: 0,
        }
        .with_quotas(bytes / 2, nodes / 2)
    }

    /// These limits with `bytes` and `nodes` per account, and an eighth of the ramdisk's
    /// bytes and nodes reserved for the system.
    pub const fn with_quotas(mut self, bytes: usize, nodes: usize) -> Limits {
        self.account_bytes = bytes;
        self.account_nodes = nodes;
        self.reserve_bytes = self.bytes / 8;
        self.reserve_nodes = self.nodes / 8;
        self
    }

    /// Blocks of file data: `bytes` in [`BLOCK`]s, rounded up.
    pub const fn blocks(&self) -> usize {
        self.bytes.div_ceil(BLOCK)
    }

    /// The memory the file data takes at most, outside the heap: [`Limits::blocks`] blocks.
    pub const fn data_memory(&self) -> usize {
        self.blocks() * BLOCK
    }

    /// The most heap one directory listing takes (the vector of entries and their names; a
    /// server builds one at a time): 64 bytes an entry (the `Entry` and the allocator's
    /// slack) and the names.
    pub const fn listing_heap(&self) -> usize {
        self.dir_entries * 64 + self.dir_names
    }

    /// The most heap the tree can hold under these limits: the nodes, and the block lists (a
    /// `u32` a block, with an eighth more room as they grow, and while one grows the old list
    /// and the new at once), and the arena's list of chunks.
    pub const fn heap(&self) -> usize {
        let lists = self.blocks() * 4 * 9 / 8;
        lists + lists / 8 + 4 * 16 + self.nodes * NODE_HEAP + REGIONS * 32
    }
}

/// Memory the arena carves into blocks: a chunk of the process's (see [`MemoryChunk`]); in
/// this crate's unit tests, which run without a kernel, heap memory.
#[cfg(not(test))]
type Region = libeurali::MemoryChunk;

#[cfg(not(test))]
fn new_region(bytes: usize) -> Result<Region, FsError> {
    #[cfg(target_os = "none")]
    {
        // The smallest spare chunk that is large enough (its first `bytes` are used).
        let mut spare = SPARE.lock();
        let best = spare
            .iter()
            .enumerate()
            .filter(|(_, c)| c.len() >= bytes)
            .min_by_key(|(_, c)| c.len())
            .map(|(i, _)| i);
        if let Some(i) = best {
            return Ok(spare.swap_remove(i));
        }
    }
    // Safety: the arena reads a block only after writing it (see `Arena`), and never sends or
    // hands its chunks to the kernel; a chunk kept in `SPARE` goes to another arena, which
    // keeps the same rule.
    unsafe { libeurali::MemoryChunk::alloc_unwritten(bytes) }.map_err(|_| FsError::NoSpace)
}

/// Chunks of ramdisks that were dropped, kept for the next ramdisk of this process rather than
/// freed: freeing them would give their written pages back to the kernel, which does that
/// wrong (ABI §9.23); a session's `/tmp` ends at every logout, in login's process. Only where
/// statics belong to one process (the real kernel, and hosted mode): the in-process stub's
/// processes share them, and free their chunks instead. A chunk taken again holds what its
/// last ramdisk wrote; the arena never reads a block it has not written (see [`Arena`]).
#[cfg(all(not(test), target_os = "none"))]
static SPARE: Lock<Vec<libeurali::MemoryChunk>> = Lock::new(Vec::new());

#[cfg(test)]
struct Region(Vec<u8>);

#[cfg(test)]
impl Region {
    fn as_slice(&self) -> &[u8] {
        &self.0
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

#[cfg(test)]
fn new_region(bytes: usize) -> Result<Region, FsError> {
    // Not zeroed on the kernel either: a pattern, so that a read of unwritten bytes shows.
    Ok(Region(alloc::vec![0xA5; bytes]))
}

/// No next block (the end of the free list).
const NONE: u32 = u32::MAX;

/// Where file data lives: up to [`REGIONS`] chunks of `region` bytes, allocated as the data
/// first needs them, carved into [`BLOCK`]-byte blocks numbered from 0.
///
/// Blocks are handed out from a free list (blocks given back, each holding the number of the
/// next in its first four bytes) before fresh memory: fresh blocks are taken in order, so the
/// pages written are a prefix of the memory plus what was freed. A block is only read after it
/// was written (the caller writes a block it is given before anything reads it; the free
/// list's links are written as blocks are freed), as the real kernel requires of lazily mapped
/// memory (ABI §4.3). Chunks are kept until the arena is dropped.
struct Arena {
    regions: Vec<Region>,
    /// Bytes in each region (a multiple of [`BLOCK`]).
    region: usize,
    /// Blocks the arena may hand out in all.
    capacity: usize,
    /// Blocks handed out from fresh memory so far: the next fresh block's number.
    fresh: usize,
    /// First block of the free list, or [`NONE`].
    free: u32,
    /// Blocks on the free list.
    free_count: usize,
}

impl Drop for Arena {
    fn drop(&mut self) {
        #[cfg(all(not(test), target_os = "none"))]
        {
            let mut spare = SPARE.lock();
            if spare.try_reserve(self.regions.len()).is_ok() {
                spare.append(&mut self.regions);
            } else {
                // No heap for the list: kept by nobody rather than given back.
                for c in self.regions.drain(..) {
                    core::mem::forget(c);
                }
            }
        }
    }
}

impl Arena {
    fn new(capacity: usize) -> Arena {
        let total = capacity * BLOCK;
        let mut region = total.div_ceil(REGIONS).div_ceil(BLOCK) * BLOCK;
        region = region.max(MIN_REGION).min(total.max(BLOCK));
        Arena {
            regions: Vec::new(),
            region,
            capacity,
            fresh: 0,
            free: NONE,
            free_count: 0,
        }
    }

    /// Blocks handed out now.
    fn used(&self) -> usize {
        self.fresh - self.free_count
    }

    /// Blocks that may still be handed out.
    fn available(&self) -> usize {
        self.capacity - self.used()
    }

    /// Where block `b` is: its region and the offset in it.
    fn place(&self, b: u32) -> (usize, usize) {
        let at = b as usize * BLOCK;
        (at / self.region, at % self.region)
    }

    /// Block `b`, which must have been written.
    fn block(&self, b: u32) -> &[u8] {
        let (r, off) = self.place(b);
        &self.regions[r].as_slice()[off..off + BLOCK]
    }

    fn block_mut(&mut self, b: u32) -> &mut [u8] {
        let (r, off) = self.place(b);
        &mut self.regions[r].as_mut_slice()[off..off + BLOCK]
    }

    /// A block for the caller to write before anything reads it; `NoSpace` when the capacity
    /// is used up or no chunk can be had.
    fn alloc(&mut self) -> Result<u32, FsError> {
        if self.free != NONE {
            let b = self.free;
            let link = &self.block(b)[..4];
            self.free = u32::from_le_bytes([link[0], link[1], link[2], link[3]]);
            self.free_count -= 1;
            return Ok(b);
        }
        if self.fresh >= self.capacity || self.fresh >= u32::MAX as usize {
            return Err(FsError::NoSpace);
        }
        let (r, _) = self.place(self.fresh as u32);
        while self.regions.len() <= r {
            self.regions.try_reserve(1).map_err(|_| FsError::NoSpace)?;
            self.regions.push(new_region(self.region)?);
        }
        self.fresh += 1;
        Ok(self.fresh as u32 - 1)
    }

    /// Gives block `b` back (writing the free list's link into it).
    fn release(&mut self, b: u32) {
        let next = self.free;
        self.block_mut(b)[..4].copy_from_slice(&next.to_le_bytes());
        self.free = b;
        self.free_count += 1;
    }
}

/// A file's bytes: the arena blocks that hold them, in order, all full but the last.
#[derive(Default)]
struct Data {
    blocks: Vec<u32>,
    len: usize,
}

impl Data {
    /// Copies out from `offset`; how many bytes.
    fn read(&self, arena: &Arena, offset: usize, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.len.saturating_sub(offset));
        let mut done = 0;
        while done < n {
            let at = offset + done;
            let b = arena.block(self.blocks[at / BLOCK]);
            let k = (n - done).min(BLOCK - at % BLOCK);
            buf[done..done + k].copy_from_slice(&b[at % BLOCK..at % BLOCK + k]);
            done += k;
        }
        n
    }

    /// Overwrites bytes that exist (`offset + data.len() <= len`).
    fn overwrite(&self, arena: &mut Arena, offset: usize, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let at = offset + done;
            let b = arena.block_mut(self.blocks[at / BLOCK]);
            let k = (data.len() - done).min(BLOCK - at % BLOCK);
            b[at % BLOCK..at % BLOCK + k].copy_from_slice(&data[done..done + k]);
            done += k;
        }
    }

    /// Appends `n` bytes: `data` if given (of length `n`), else zeros. On a failure (no block,
    /// no heap for the list) what was appended so far stays (the caller cuts it back).
    fn append(&mut self, arena: &mut Arena, n: usize, data: Option<&[u8]>) -> Result<(), FsError> {
        let mut done = 0;
        while done < n {
            if self.len.is_multiple_of(BLOCK) {
                if self.blocks.len() == self.blocks.capacity() {
                    // An eighth more room (see `Limits::heap`), not twice as much.
                    let more = (self.blocks.len() / 8).max(4);
                    self.blocks
                        .try_reserve_exact(more)
                        .map_err(|_| FsError::NoSpace)?;
                }
                let b = arena.alloc()?;
                self.blocks.push(b);
            }
            let at = self.len % BLOCK;
            let k = (n - done).min(BLOCK - at);
            let tail = arena.block_mut(*self.blocks.last().expect("a block was pushed"));
            match data {
                Some(d) => tail[at..at + k].copy_from_slice(&d[done..done + k]),
                None => tail[at..at + k].fill(0),
            }
            self.len += k;
            done += k;
        }
        Ok(())
    }

    /// Cuts to `len` (no longer than now), giving the blocks past it back to the arena.
    fn truncate(&mut self, arena: &mut Arena, len: usize) {
        if len > self.len {
            return;
        }
        let keep = len.div_ceil(BLOCK);
        for &b in &self.blocks[keep..] {
            arena.release(b);
        }
        self.blocks.truncate(keep);
        if self.blocks.len() * 2 < self.blocks.capacity() {
            self.blocks.shrink_to_fit();
        }
        self.len = len;
    }

    /// Gives every block back.
    fn free(&mut self, arena: &mut Arena) {
        self.truncate(arena, 0);
    }
}

/// A directory: names to inode numbers, and the bytes of those names.
#[derive(Default)]
struct Dir {
    map: BTreeMap<String, u64>,
    names: usize,
}

impl Dir {
    fn insert(&mut self, name: String, id: u64) {
        let n = name.len();
        if self.map.insert(name, id).is_none() {
            self.names += n;
        }
    }

    fn remove(&mut self, name: &str) {
        if self.map.remove(name).is_some() {
            self.names -= name.len();
        }
    }
}

impl core::ops::Deref for Dir {
    type Target = BTreeMap<String, u64>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

enum Node {
    File(Data),
    Dir(Dir),
}

struct Tree {
    nodes: HashMap<u64, Node>,
    next: u64,
    /// Bytes of file data (the files' lengths together).
    used: usize,
    arena: Arena,
    /// The nodes that belong to accounts: their account's number (1-based in `accounts`).
    owners: HashMap<u64, u16>,
    /// Each account's name and use; and all of theirs together (`charged`).
    accounts: Vec<(String, Use)>,
    charged: Use,
}

/// What an account holds: bytes of data in whole blocks, and nodes.
#[derive(Clone, Copy, Default)]
struct Use {
    bytes: usize,
    nodes: usize,
}

/// `len` bytes in whole blocks.
const fn in_blocks(len: usize) -> usize {
    len.div_ceil(BLOCK) * BLOCK
}

/// An in-memory file system.
pub struct Ramdisk {
    tree: Lock<Tree>,
    limits: Limits,
}

const ROOT: u64 = 1;

impl Ramdisk {
    /// An empty ramdisk holding at most `limit` bytes of file data ([`Limits::for_bytes`]).
    pub fn new(limit: usize) -> Ramdisk {
        Ramdisk::with_limits(Limits::for_bytes(limit))
    }

    /// An empty ramdisk within `limits`.
    pub fn with_limits(limits: Limits) -> Ramdisk {
        let mut nodes = HashMap::new();
        nodes.insert(ROOT, Node::Dir(Dir::default()));
        Ramdisk {
            tree: Lock::new(Tree {
                nodes,
                next: ROOT + 1,
                used: 0,
                arena: Arena::new(limits.blocks()),
                owners: HashMap::new(),
                accounts: Vec::new(),
                charged: Use::default(),
            }),
            limits,
        }
    }

    /// Bytes of file data held.
    pub fn used(&self) -> usize {
        self.tree.lock().used
    }

    /// Blocks of file data held (at most [`Limits::blocks`]).
    pub fn blocks(&self) -> usize {
        self.tree.lock().arena.used()
    }

    /// Bytes of memory chunks taken for file data so far (they are kept, and reused, once
    /// taken); on the real kernel only the pages written cost frames.
    pub fn chunk_memory(&self) -> usize {
        let t = self.tree.lock();
        t.arena.regions.len() * t.arena.region
    }

    /// Files and directories, the root included.
    pub fn nodes(&self) -> usize {
        self.tree.lock().nodes.len()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl Tree {
    fn lookup(&self, path: &[&str]) -> Result<u64, FsError> {
        let mut id = ROOT;
        for c in path {
            match self.nodes.get(&id) {
                Some(Node::Dir(d)) => id = *d.get(*c).ok_or(FsError::NotFound)?,
                Some(Node::File(_)) => return Err(FsError::NotDir),
                None => return Err(FsError::NotFound),
            }
        }
        Ok(id)
    }

    /// The parent directory's id and the last name.
    fn parent<'p>(&self, path: &[&'p str]) -> Result<(u64, &'p str), FsError> {
        let (last, dir) = path.split_last().ok_or(FsError::Invalid)?;
        let id = self.lookup(dir)?;
        match self.nodes.get(&id) {
            Some(Node::Dir(_)) => Ok((id, last)),
            Some(Node::File(_)) => Err(FsError::NotDir),
            None => Err(FsError::NotFound),
        }
    }

    fn dir_mut(&mut self, id: u64) -> &mut Dir {
        match self.nodes.get_mut(&id) {
            Some(Node::Dir(d)) => d,
            _ => unreachable!("checked by parent()"),
        }
    }

    /// Whether directory `id` has room for one more entry named `name`.
    fn room_in(&self, id: u64, name: &str, limits: &Limits) -> Result<(), FsError> {
        match self.nodes.get(&id) {
            Some(Node::Dir(d))
                if d.len() >= limits.dir_entries || d.names + name.len() > limits.dir_names =>
            {
                Err(FsError::NoSpace)
            }
            _ => Ok(()),
        }
    }

    /// Adds a node named `name` (at most [`MAX_NAME`] bytes) in `parent`, within the limits.
    fn add(
        &mut self,
        parent: u64,
        name: &str,
        node: Node,
        limits: &Limits,
        account: u16,
    ) -> Result<u64, FsError> {
        if name.len() > MAX_NAME {
            return Err(FsError::NameTooLong);
        }
        if account != 0 {
            if self.accounts[account as usize - 1].1.nodes >= limits.account_nodes {
                return Err(FsError::Quota);
            }
            if self.charged.nodes + limits.reserve_nodes >= limits.nodes {
                return Err(FsError::NoSpace);
            }
            self.owners.try_reserve(1).map_err(|_| FsError::NoSpace)?;
        }
        if self.nodes.len() >= limits.nodes {
            return Err(FsError::NoSpace);
        }
        self.room_in(parent, name, limits)?;
        self.nodes.try_reserve(1).map_err(|_| FsError::NoSpace)?;
        let mut owned = String::new();
        owned
            .try_reserve_exact(name.len())
            .map_err(|_| FsError::NoSpace)?;
        owned.push_str(name);
        let id = self.next;
        self.next += 1;
        self.nodes.insert(id, node);
        self.dir_mut(parent).insert(owned, id);
        if account != 0 {
            self.owners.insert(id, account);
            self.accounts[account as usize - 1].1.nodes += 1;
            self.charged.nodes += 1;
        }
        Ok(id)
    }

    fn free(&mut self, id: u64) {
        let len = match self.nodes.remove(&id) {
            Some(Node::File(mut d)) => {
                let len = d.len;
                self.used -= len;
                d.free(&mut self.arena);
                len
            }
            _ => 0,
        };
        if let Some(a) = self.owners.remove(&id) {
            let u = &mut self.accounts[a as usize - 1].1;
            u.nodes -= 1;
            u.bytes -= in_blocks(len);
            self.charged.nodes -= 1;
            self.charged.bytes -= in_blocks(len);
        }
    }

    /// The number of the account named `name` (0 for `None`, the system), made if new.
    fn account(&mut self, name: Option<&str>) -> Result<u16, FsError> {
        let Some(name) = name else { return Ok(0) };
        if let Some(i) = self.accounts.iter().position(|(n, _)| n == name) {
            return Ok(i as u16 + 1);
        }
        if self.accounts.len() >= MAX_ACCOUNTS {
            return Err(FsError::NoSpace);
        }
        let mut owned = String::new();
        owned
            .try_reserve_exact(name.len())
            .map_err(|_| FsError::NoSpace)?;
        owned.push_str(name);
        self.accounts.try_reserve(1).map_err(|_| FsError::NoSpace)?;
        self.accounts.push((owned, Use::default()));
        Ok(self.accounts.len() as u16)
    }

    /// Checks that file `id` may grow from `cur` to `end` bytes within its account's quota
    /// (`Quota`) and the accounts' share (`NoSpace`); nothing to check for the system's.
    fn may_charge(&self, id: u64, cur: usize, end: usize, limits: &Limits) -> Result<(), FsError> {
        let Some(&a) = self.owners.get(&id) else {
            return Ok(());
        };
        let more = in_blocks(end).saturating_sub(in_blocks(cur));
        if more == 0 {
            return Ok(());
        }
        let u = self.accounts[a as usize - 1].1;
        if u.bytes + more > limits.account_bytes {
            return Err(FsError::Quota);
        }
        if self.charged.bytes + more + limits.reserve_bytes > limits.bytes {
            return Err(FsError::NoSpace);
        }
        Ok(())
    }

    /// Charges (or refunds) file `id`'s account for its change from `cur` to `len` bytes.
    fn charge(&mut self, id: u64, cur: usize, len: usize) {
        if let Some(&a) = self.owners.get(&id) {
            let (old, new) = (in_blocks(cur), in_blocks(len));
            let u = &mut self.accounts[a as usize - 1].1;
            u.bytes = u.bytes + new - old;
            self.charged.bytes = self.charged.bytes + new - old;
        }
    }

    /// Checks that file `id` may grow from `cur` to `end` bytes: `NoSpace` past the ramdisk's
    /// data limit or with too few blocks left, `TooBig` past its file limit.
    fn may_grow(&self, cur: usize, end: usize, limits: &Limits) -> Result<(), FsError> {
        if end <= cur {
            return Ok(());
        }
        let grow = end - cur;
        if self.used.checked_add(grow).is_none_or(|u| u > limits.bytes) {
            return Err(FsError::NoSpace);
        }
        if end.div_ceil(BLOCK) - cur.div_ceil(BLOCK) > self.arena.available() {
            return Err(FsError::NoSpace);
        }
        if end as u64 > limits.file {
            return Err(FsError::TooBig);
        }
        Ok(())
    }

    fn file_mut(&mut self, id: u64) -> Result<(&mut Data, &mut Arena), FsError> {
        match self.nodes.get_mut(&id) {
            Some(Node::File(d)) => Ok((d, &mut self.arena)),
            Some(Node::Dir(_)) => Err(FsError::IsDir),
            None => Err(FsError::NotFound),
        }
    }

    /// Writes `data` at `at`; zeros fill a gap past the end. All or nothing.
    fn write(
        &mut self,
        id: u64,
        at: usize,
        data: &[u8],
        limits: &Limits,
    ) -> Result<usize, FsError> {
        let cur = self.file_mut(id)?.0.len;
        let end = at.checked_add(data.len()).ok_or(FsError::TooBig)?;
        self.may_charge(id, cur, end, limits)?;
        self.may_grow(cur, end, limits)?;
        let (d, arena) = self.file_mut(id)?;
        let inside = end.min(cur).saturating_sub(at);
        let grown = if at > cur {
            d.append(arena, at - cur, None)
                .and_then(|()| d.append(arena, data.len(), Some(data)))
        } else {
            d.append(arena, data.len() - inside, Some(&data[inside..]))
        };
        if let Err(e) = grown {
            d.truncate(arena, cur);
            return Err(e);
        }
        if inside > 0 {
            d.overwrite(arena, at, &data[..inside]);
        }
        let len = d.len;
        self.used = self.used + len - cur;
        self.charge(id, cur, len);
        Ok(end)
    }

    fn set_len(&mut self, id: u64, len: usize, limits: &Limits) -> Result<(), FsError> {
        let cur = self.file_mut(id)?.0.len;
        self.may_charge(id, cur, len, limits)?;
        self.may_grow(cur, len, limits)?;
        let (d, arena) = self.file_mut(id)?;
        if len < cur {
            d.truncate(arena, len);
            self.used -= cur - len;
        } else if let Err(e) = d.append(arena, len - cur, None) {
            d.truncate(arena, cur);
            return Err(e);
        } else {
            self.used += len - cur;
        }
        self.charge(id, cur, len);
        Ok(())
    }
}

impl FileSystem for Ramdisk {
    type Node = u64;

    fn open(&self, path: &[&str], fl: u32) -> Result<u64, FsError> {
        self.open_as(None, path, fl)
    }

    fn open_as(&self, account: Option<&str>, path: &[&str], fl: u32) -> Result<u64, FsError> {
        let mut t = self.tree.lock();
        let id = match t.lookup(path) {
            Ok(id) => {
                if fl & flags::CREATE != 0 && fl & flags::EXCLUSIVE != 0 {
                    return Err(FsError::Exists);
                }
                id
            }
            Err(FsError::NotFound) if fl & flags::CREATE != 0 && !path.is_empty() => {
                let (parent, name) = t.parent(path)?;
                let a = t.account(account)?;
                t.add(parent, name, Node::File(Data::default()), &self.limits, a)?
            }
            Err(e) => return Err(e),
        };
        let is_dir = matches!(t.nodes.get(&id), Some(Node::Dir(_)));
        if is_dir && fl & flags::WRITE != 0 {
            return Err(FsError::IsDir);
        }
        if !is_dir && fl & flags::DIRECTORY != 0 {
            return Err(FsError::NotDir);
        }
        if !is_dir && fl & flags::TRUNCATE != 0 {
            t.set_len(id, 0, &self.limits)?;
        }
        Ok(id)
    }

    fn stat(&self, id: &u64) -> Result<Meta, FsError> {
        let t = self.tree.lock();
        match t.nodes.get(id) {
            Some(Node::File(d)) => Ok(Meta {
                kind: Kind::File,
                len: d.len as u64,
                readonly: false,
                mount_readonly: false,
            }),
            Some(Node::Dir(d)) => Ok(Meta {
                kind: Kind::Dir,
                len: d.len() as u64,
                readonly: false,
                mount_readonly: false,
            }),
            None => Err(FsError::NotFound),
        }
    }

    fn read(&self, id: &u64, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let t = self.tree.lock();
        match t.nodes.get(id) {
            Some(Node::File(d)) => {
                let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                Ok(d.read(&t.arena, offset, buf))
            }
            Some(Node::Dir(_)) => Err(FsError::IsDir),
            None => Err(FsError::NotFound),
        }
    }

    fn write(&self, id: &u64, offset: Option<u64>, data: &[u8]) -> Result<u64, FsError> {
        let mut t = self.tree.lock();
        let at = match offset {
            Some(o) => usize::try_from(o).map_err(|_| FsError::TooBig)?,
            None => t.file_mut(*id)?.0.len,
        };
        t.write(*id, at, data, &self.limits).map(|end| end as u64)
    }

    fn set_len(&self, id: &u64, len: u64) -> Result<(), FsError> {
        let len = usize::try_from(len).map_err(|_| FsError::TooBig)?;
        self.tree.lock().set_len(*id, len, &self.limits)
    }

    fn read_dir(&self, id: &u64) -> Result<Vec<Entry>, FsError> {
        let t = self.tree.lock();
        match t.nodes.get(id) {
            Some(Node::Dir(d)) => {
                let mut out = Vec::new();
                out.try_reserve_exact(d.len())
                    .map_err(|_| FsError::NoSpace)?;
                for (name, c) in d.iter() {
                    let (kind, len) = match t.nodes.get(c) {
                        Some(Node::File(f)) => (Kind::File, f.len as u64),
                        _ => (Kind::Dir, 0),
                    };
                    out.push(Entry {
                        name: name.clone(),
                        kind,
                        len,
                    });
                }
                Ok(out)
            }
            Some(Node::File(_)) => Err(FsError::NotDir),
            None => Err(FsError::NotFound),
        }
    }

    fn mkdir(&self, path: &[&str]) -> Result<(), FsError> {
        self.mkdir_as(None, path)
    }

    fn mkdir_as(&self, account: Option<&str>, path: &[&str]) -> Result<(), FsError> {
        let mut t = self.tree.lock();
        if path.is_empty() || t.lookup(path).is_ok() {
            return Err(FsError::Exists);
        }
        let (parent, name) = t.parent(path)?;
        let a = t.account(account)?;
        t.add(parent, name, Node::Dir(Dir::default()), &self.limits, a)?;
        Ok(())
    }

    fn usage(&self, account: Option<&str>) -> Result<Usage, FsError> {
        let t = self.tree.lock();
        let l = &self.limits;
        let disk = Space {
            bytes: (t.arena.used() * BLOCK) as u64,
            bytes_max: l.bytes as u64,
            nodes: t.nodes.len() as u64,
            nodes_max: l.nodes as u64,
        };
        let account = account.map(|name| {
            let u = t
                .accounts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, u)| *u)
                .unwrap_or_default();
            let space = Space {
                bytes: u.bytes as u64,
                bytes_max: l.account_bytes.min(l.bytes - l.reserve_bytes) as u64,
                nodes: u.nodes as u64,
                nodes_max: l.account_nodes.min(l.nodes - l.reserve_nodes) as u64,
            };
            (String::from(name), space)
        });
        Ok(Usage { disk, account })
    }

    fn remove(&self, path: &[&str], dir: bool) -> Result<(), FsError> {
        let mut t = self.tree.lock();
        if path.is_empty() {
            return Err(FsError::Denied);
        }
        let (parent, name) = t.parent(path)?;
        let id = t.lookup(path)?;
        match (t.nodes.get(&id), dir) {
            (Some(Node::File(_)), true) => return Err(FsError::NotDir),
            (Some(Node::Dir(_)), false) => return Err(FsError::IsDir),
            (Some(Node::Dir(d)), true) if !d.is_empty() => return Err(FsError::NotEmpty),
            _ => {}
        }
        t.dir_mut(parent).remove(name);
        t.free(id);
        Ok(())
    }

    fn rename(&self, from: &[&str], to: &[&str]) -> Result<(), FsError> {
        let mut t = self.tree.lock();
        if from.is_empty() || to.is_empty() {
            return Err(FsError::Denied);
        }
        // A directory cannot move below itself.
        if to.len() > from.len() && to[..from.len()] == *from {
            return Err(FsError::Invalid);
        }
        let (fp, fname) = t.parent(from)?;
        let id = t.lookup(from)?;
        let (tp, tname) = t.parent(to)?;
        if from == to {
            return Ok(());
        }
        if tname.len() > MAX_NAME {
            return Err(FsError::NameTooLong);
        }
        let src_dir = matches!(t.nodes.get(&id), Some(Node::Dir(_)));
        let old = t.lookup(to).ok();
        if tp == fp && old.is_none() {
            // A new name in the same directory: only its bytes count.
            let d = t.dir_mut(tp);
            if d.names - fname.len() + tname.len() > self.limits.dir_names {
                return Err(FsError::NoSpace);
            }
        }
        if let Some(old) = old {
            match (t.nodes.get(&old), src_dir) {
                (Some(Node::Dir(_)), false) => return Err(FsError::IsDir),
                (Some(Node::File(_)), true) => return Err(FsError::NotDir),
                (Some(Node::Dir(d)), true) if !d.is_empty() => return Err(FsError::NotEmpty),
                _ => {}
            }
        } else if tp != fp {
            // A new entry in another directory.
            t.room_in(tp, tname, &self.limits)?;
        }
        let mut owned = String::new();
        owned
            .try_reserve_exact(tname.len())
            .map_err(|_| FsError::NoSpace)?;
        owned.push_str(tname);
        if let Some(old) = old {
            t.free(old);
        }
        t.dir_mut(fp).remove(fname);
        t.dir_mut(tp).insert(owned, id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{format, vec};

    #[test]
    fn tree_operations_without_a_kernel() {
        let r = Ramdisk::new(100);
        let w = flags::WRITE | flags::CREATE;
        r.mkdir(&["d"]).unwrap();
        assert_eq!(r.mkdir(&["d"]), Err(FsError::Exists));
        let f = r.open(&["d", "f"], w).unwrap();
        assert_eq!(r.write(&f, Some(5), b"abc").unwrap(), 8);
        let mut b = [9u8; 10];
        assert_eq!(r.read(&f, 0, &mut b).unwrap(), 8);
        assert_eq!(&b[..8], b"\0\0\0\0\0abc");
        assert_eq!(r.write(&f, Some(1), b"X").unwrap(), 2);
        assert_eq!(r.stat(&f).unwrap().len, 8);
        assert_eq!(r.write(&f, None, b"Z").unwrap(), 9);
        assert_eq!(r.write(&f, Some(0), &[0; 200]), Err(FsError::NoSpace));
        assert_eq!(r.write(&f, Some(u64::MAX), b"x"), Err(FsError::TooBig));
        assert_eq!(r.used(), 9);
        assert_eq!(
            r.open(&["d", "f"], w | flags::EXCLUSIVE),
            Err(FsError::Exists)
        );
        assert_eq!(r.open(&["d", "f", "x"], 0), Err(FsError::NotDir));
        assert_eq!(r.open(&["d"], flags::WRITE), Err(FsError::IsDir));
        assert_eq!(r.remove(&["d"], true), Err(FsError::NotEmpty));
        assert_eq!(r.remove(&["d"], false), Err(FsError::IsDir));
        r.rename(&["d", "f"], &["g"]).unwrap();
        assert_eq!(r.rename(&["d"], &["d", "e"]), Err(FsError::Invalid));
        let names: Vec<String> = r
            .read_dir(&ROOT)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["d", "g"]);
        r.remove(&["d"], true).unwrap();
        r.remove(&["g"], false).unwrap();
        assert_eq!(r.used(), 0);
    }

    /// Blocks behave as one flat byte vector: random writes, cuts and extensions compared
    /// with a `Vec` model.
    #[test]
    fn blocks_match_a_flat_model() {
        let r = Ramdisk::new(1 << 20);
        let f = r.open(&["f"], flags::WRITE | flags::CREATE).unwrap();
        let mut model: Vec<u8> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n.max(1)
        };
        for step in 0..400u32 {
            match rnd(4) {
                0 | 1 => {
                    let at = rnd(3 * BLOCK as u64 + 100) as usize;
                    let len = rnd(2 * BLOCK as u64 + 10) as usize;
                    let data: Vec<u8> = (0..len).map(|i| (i as u32 ^ step) as u8).collect();
                    let end = r.write(&f, Some(at as u64), &data).unwrap();
                    assert_eq!(end as usize, at + len);
                    if model.len() < at + len {
                        model.resize(at + len, 0);
                    }
                    model[at..at + len].copy_from_slice(&data);
                }
                2 => {
                    let len = rnd(4 * BLOCK as u64) as usize;
                    r.set_len(&f, len as u64).unwrap();
                    model.resize(len, 0);
                }
                _ => {
                    let data = [step as u8; 7];
                    r.write(&f, None, &data).unwrap();
                    model.extend_from_slice(&data);
                }
            }
            assert_eq!(r.stat(&f).unwrap().len as usize, model.len());
            assert_eq!(r.used(), model.len());
            let mut back = vec![0xAAu8; model.len() + 10];
            let at = rnd(model.len() as u64 + 1) as usize;
            let n = r.read(&f, at as u64, &mut back).unwrap();
            assert_eq!(&back[..n], &model[at..], "step {step}");
            // One block per started BLOCK of the file; the arena holds what the files hold.
            let t = r.tree.lock();
            let Some(Node::File(d)) = t.nodes.get(&f) else {
                panic!()
            };
            assert_eq!(d.blocks.len(), d.len.div_ceil(BLOCK));
            assert_eq!(t.arena.used(), d.blocks.len());
        }
    }

    #[test]
    fn every_limit_is_a_clear_error_that_changes_nothing() {
        let limits = Limits {
            bytes: 10 * BLOCK,
            file: 4 * BLOCK as u64,
            nodes: 8,
            dir_entries: 3,
            dir_names: 110,
            account_bytes: 0,
            account_nodes: 0,
            reserve_bytes: 0,
            reserve_nodes: 0,
        };
        let r = Ramdisk::with_limits(limits);
        let w = flags::WRITE | flags::CREATE;
        // One file: at most `file` bytes (TooBig), by write or set_len, nothing written.
        let f = r.open(&["f"], w).unwrap();
        let big = vec![7u8; 4 * BLOCK + 1];
        assert_eq!(r.write(&f, Some(0), &big), Err(FsError::TooBig));
        assert_eq!(r.set_len(&f, 4 * BLOCK as u64 + 1), Err(FsError::TooBig));
        assert_eq!(r.used(), 0);
        assert_eq!(r.write(&f, Some(0), &big[1..]).unwrap(), 4 * BLOCK as u64);
        // All files: at most `bytes` (NoSpace), checked before the file limit.
        let g = r.open(&["g"], w).unwrap();
        r.set_len(&g, 4 * BLOCK as u64).unwrap();
        let h = r.open(&["h"], w).unwrap();
        assert_eq!(r.write(&h, None, &big[..3 * BLOCK]), Err(FsError::NoSpace));
        assert_eq!(r.stat(&h).unwrap().len, 0);
        assert_eq!(r.used(), 8 * BLOCK);
        // A directory holds at most `dir_entries` entries.
        assert_eq!(r.open(&["i"], w), Err(FsError::NoSpace));
        assert_eq!(r.mkdir(&["d"]), Err(FsError::NoSpace));
        r.remove(&["h"], false).unwrap();
        r.mkdir(&["d"]).unwrap();
        // At most `nodes` nodes (the root is one).
        for i in 0..3 {
            r.open(&["d", &format!("{i}")], w).unwrap();
        }
        r.mkdir(&["e"]).unwrap_err();
        r.rename(&["d", "0"], &["d", "renamed"]).unwrap();
        assert_eq!(r.open(&["d", "x"], w), Err(FsError::NoSpace));
        r.remove(&["d", "1"], false).unwrap();
        r.mkdir(&["d", "sub"]).unwrap();
        r.open(&["d", "sub", "a"], w).unwrap();
        assert_eq!(r.nodes(), 8);
        assert_eq!(r.open(&["d", "sub", "x"], w), Err(FsError::NoSpace));
        assert_eq!(r.mkdir(&["d", "sub", "x"]), Err(FsError::NoSpace));
        // A move into a full directory is refused; within one, allowed.
        assert_eq!(r.rename(&["d", "2"], &["x"]), Err(FsError::NoSpace));
        // Names are at most MAX_NAME bytes (the framework refuses longer paths earlier).
        let long = "n".repeat(MAX_NAME + 1);
        r.remove(&["d", "sub", "a"], false).unwrap();
        r.remove(&["d", "2"], false).unwrap();
        assert_eq!(r.open(&["d", &long], w), Err(FsError::NameTooLong));
        assert_eq!(
            r.rename(&["d", "renamed"], &["d", &long]),
            Err(FsError::NameTooLong)
        );
        // A directory's names take at most `dir_names` bytes ("sub" and "renamed" are there).
        r.open(&["d", &"n".repeat(100)], w).unwrap();
        r.remove(&["d", &"n".repeat(100)], false).unwrap();
        assert_eq!(r.open(&["d", &"n".repeat(101)], w), Err(FsError::NoSpace));
        assert_eq!(
            r.rename(&["d", "sub"], &["d", &"n".repeat(104)]),
            Err(FsError::NoSpace)
        );
        r.rename(&["d", "sub"], &["d", &"n".repeat(103)]).unwrap();
        // Everything freed gives its room back.
        r.set_len(&f, 0).unwrap();
        r.set_len(&g, 1).unwrap();
        assert_eq!(r.used(), 1);
    }

    #[test]
    fn limits_scale_and_bound_the_heap() {
        let small = Limits::for_bytes(100);
        assert_eq!((small.nodes, small.file), (MIN_NODES, 100));
        let two = Limits::for_bytes(2 << 20);
        assert_eq!(two.nodes, 1024);
        assert_eq!(two.dir_entries, MAX_DIR_ENTRIES);
        assert!(two.listing_heap() <= 400 * 1024, "{}", two.listing_heap());
        // A listing at its limits, encoded, fits a reply.
        let names = MAX_DIR_NAMES / MAX_DIR_ENTRIES;
        let full: Vec<Entry> = (0..MAX_DIR_ENTRIES)
            .map(|i| Entry {
                name: format!("{i:0>w$}", w = names),
                kind: Kind::File,
                len: u64::MAX,
            })
            .collect();
        let reply = crate::proto::Reply::Entries(full);
        assert!(crate::proto::reply_msg_size(&reply) < crate::proto::MAX_REPLY / 4);
        // A 2 MiB ramdisk holds under 0.5 MiB of heap however it is filled (its data is
        // outside the heap).
        assert!(two.heap() < (1 << 20) / 2, "{}", two.heap());
        assert_eq!(two.data_memory(), 2 << 20);
        assert_eq!(Limits::for_bytes(1 << 30).nodes, MAX_NODES);
    }

    /// An append that runs out of blocks half way is cut back whole, and its blocks go back.
    #[test]
    fn a_failed_append_is_cut_back_whole() {
        let mut arena = Arena::new(3);
        let mut d = Data::default();
        d.append(&mut arena, BLOCK, Some(&vec![1u8; BLOCK]))
            .unwrap();
        let e = d.append(&mut arena, 3 * BLOCK, Some(&vec![2u8; 3 * BLOCK]));
        assert_eq!(e, Err(FsError::NoSpace));
        assert_eq!((d.len, arena.used()), (3 * BLOCK, 3));
        d.truncate(&mut arena, BLOCK);
        assert_eq!((d.blocks.len(), arena.used()), (1, 1));
        d.append(&mut arena, 3, Some(b"abc")).unwrap();
        let mut b = [0u8; 3];
        assert_eq!(d.read(&arena, BLOCK, &mut b), 3);
        assert_eq!(&b, b"abc");
    }

    /// Blocks freed are reused before fresh memory, last freed first; chunks are taken one
    /// region at a time as fresh blocks reach them, and kept.
    #[test]
    fn the_arena_reuses_freed_blocks_and_grows_by_regions() {
        let blocks = 2 * MIN_REGION / BLOCK + 1;
        let mut arena = Arena::new(blocks);
        assert_eq!(arena.region, MIN_REGION);
        assert!(arena.regions.is_empty());
        let a = arena.alloc().unwrap();
        let b = arena.alloc().unwrap();
        assert_eq!((a, b, arena.regions.len()), (0, 1, 1));
        arena.block_mut(a).fill(1);
        arena.block_mut(b).fill(2);
        arena.release(a);
        arena.release(b);
        assert_eq!((arena.alloc().unwrap(), arena.alloc().unwrap()), (b, a));
        let mut last = b;
        while let Ok(n) = arena.alloc() {
            last = n;
        }
        assert_eq!(last as usize, blocks - 1);
        assert_eq!(arena.regions.len(), 3);
        assert_eq!(arena.available(), 0);
        arena.block_mut(last).fill(3);
        arena.release(last);
        assert_eq!(arena.alloc(), Ok(last));
        // A ramdisk smaller than a region takes just its own size.
        assert_eq!(Arena::new(3).region, 3 * BLOCK);
        // A large one comes in REGIONS parts.
        assert_eq!(Arena::new(64 << 20 >> 12).region, 4 << 20);
    }

    /// The blocks bound the memory: small files fill them before the bytes are used up.
    #[test]
    fn small_files_are_bounded_by_blocks() {
        let r = Ramdisk::new(4 * BLOCK);
        let w = flags::WRITE | flags::CREATE;
        for i in 0..4 {
            let f = r.open(&[&format!("{i}")], w).unwrap();
            r.write(&f, None, b"x").unwrap();
        }
        let f = r.open(&["full"], w).unwrap();
        assert_eq!(r.write(&f, None, b"x"), Err(FsError::NoSpace));
        assert_eq!((r.used(), r.blocks()), (4, 4));
        // Bytes inside a block already held still fit.
        let g = r.open(&["0"], w).unwrap();
        r.write(&g, None, &[7u8; 100]).unwrap();
        r.remove(&["1"], false).unwrap();
        r.write(&f, None, b"now").unwrap();
        assert_eq!(r.blocks(), 4);
    }

    #[test]
    fn an_account_is_held_to_its_quota_and_root_writes_on() {
        let l = Limits::for_bytes(64 * BLOCK).with_quotas(8 * BLOCK, 10);
        let r = Ramdisk::with_limits(l);
        let w = flags::WRITE | flags::CREATE;
        let u = Some("u");
        r.mkdir(&["home"]).unwrap();
        // Nodes: the home and nine files are ten; the eleventh is refused, file or directory.
        r.mkdir_as(u, &["home", "u"]).unwrap();
        for i in 0..9 {
            r.open_as(u, &["home", "u", &format!("f{i}")], w).unwrap();
        }
        assert_eq!(r.open_as(u, &["home", "u", "x"], w), Err(FsError::Quota));
        assert_eq!(r.mkdir_as(u, &["home", "u", "d"]), Err(FsError::Quota));
        // Opening what exists is no new node.
        let f = r.open_as(u, &["home", "u", "f0"], flags::WRITE).unwrap();
        // root (the system: no account) still creates, even in u's home.
        r.open(&["home", "u", "by-root"], w).unwrap();
        r.mkdir(&["etc"]).unwrap();
        // Bytes, in whole blocks, whoever writes: eight blocks; a write past them changes
        // nothing.
        assert_eq!(
            r.write(&f, Some(0), &vec![1; 8 * BLOCK + 1]),
            Err(FsError::Quota)
        );
        assert_eq!(r.stat(&f).unwrap().len, 0);
        r.write(&f, Some(0), &vec![1; 7 * BLOCK]).unwrap();
        let g = r.open(&["home", "u", "f1"], flags::WRITE).unwrap();
        r.write(&g, Some(0), b"x").unwrap();
        assert_eq!(r.write(&g, Some(BLOCK as u64), b"y"), Err(FsError::Quota));
        assert_eq!(r.set_len(&g, BLOCK as u64 + 1), Err(FsError::Quota));
        r.write(&g, Some(1), b"within its block").unwrap();
        let mine = |r: &Ramdisk| r.usage(u).unwrap().account.unwrap();
        let (name, s) = mine(&r);
        assert_eq!(name, "u");
        assert_eq!((s.bytes, s.nodes), (8 * BLOCK as u64, 10));
        assert_eq!((s.bytes_max, s.nodes_max), (8 * BLOCK as u64, 10));
        // A system file takes what it needs (no quota).
        let big = r.open(&["etc", "big"], w).unwrap();
        r.write(&big, Some(0), &vec![2; 20 * BLOCK]).unwrap();
        assert_eq!(r.usage(None).unwrap().account, None);
        // Freed space is given back: a cut, a remove, a rename over a file.
        r.set_len(&f, 0).unwrap();
        assert_eq!(mine(&r).1.bytes, BLOCK as u64);
        r.remove(&["home", "u", "f1"], false).unwrap();
        assert_eq!((mine(&r).1.bytes, mine(&r).1.nodes), (0, 9));
        r.rename(&["home", "u", "by-root"], &["home", "u", "f2"])
            .unwrap();
        assert_eq!(mine(&r).1.nodes, 8);
        r.open_as(u, &["home", "u", "again"], w).unwrap();
    }

    #[test]
    fn accounts_together_leave_the_reserve_to_the_system() {
        // 64 nodes: 8 reserved; each account may have them all but the reserve.
        let mut l = Limits::for_bytes(64 * BLOCK);
        l.nodes = 64;
        let l = l.with_quotas(64 * BLOCK, 64);
        assert_eq!(
            (l.nodes, l.reserve_nodes, l.reserve_bytes),
            (64, 8, 8 * BLOCK)
        );
        let r = Ramdisk::with_limits(l);
        let w = flags::WRITE | flags::CREATE;
        let mut made = 0;
        for i in 0.. {
            let who = if i % 2 == 0 { "a" } else { "b" };
            match r.open_as(Some(who), &[&format!("{who}{i}")], w) {
                Ok(_) => made += 1,
                Err(e) => {
                    assert_eq!(e, FsError::NoSpace);
                    break;
                }
            }
        }
        assert_eq!(made, 64 - 8);
        let (_, a) = r.usage(Some("a")).unwrap().account.unwrap();
        assert_eq!(a.nodes_max, 56);
        // The system has the rest (the root is one node).
        for i in 0..7 {
            r.open(&[&format!("sys{i}")], w).unwrap();
        }
        assert_eq!(r.open(&["sys7"], w), Err(FsError::NoSpace));
        // Bytes likewise: the accounts' files stop 8 blocks short of the disk.
        r.remove(&["sys0"], false).unwrap();
        let fa = r.open(&["a0"], flags::WRITE).unwrap();
        assert_eq!(
            r.write(&fa, Some(0), &vec![1; 56 * BLOCK + 1]),
            Err(FsError::NoSpace)
        );
        r.write(&fa, Some(0), &vec![1; 56 * BLOCK]).unwrap();
        let s = r.open(&["sys0"], w).unwrap();
        r.write(&s, Some(0), &vec![3; 8 * BLOCK]).unwrap();
    }
}
