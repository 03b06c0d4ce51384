//! Memory chunks (ABI §2.3; malloc and free in §1.4), with real host mappings.
//!
//! All stub processes share one host address space, so a stub process cannot have the kernel's
//! fixed chunk area. Instead each of its slots `k` (1..=511) is a 1 GiB reservation (`PROT_NONE`,
//! `MAP_NORESERVE`) made the first time the process needs slot `k` and kept until it dies, so a
//! slot keeps its address as on the kernel while only the slots a process uses cost address
//! space. A chunk is an anonymous read-write mapping at a slot's base. A chunk of at most
//! [`KEEP_LIMIT`] bytes moves as a copy: its bytes go into the message ([`Pages`]) and the
//! sender's slot becomes `PROT_NONE`, then the receiver's lowest free slot is made read-write and
//! gets the bytes. A larger one moves its pages themselves (`mremap`): out of the sender's slot
//! into a private staging mapping while the message is in flight, then into the receiver's slot.
//! Either way the emptied slot is inaccessible again, so touching a chunk after sending it
//! faults, like the kernel's unmapped slot.
//!
//! Small chunks are copied because it is cheaper here: all stub processes are threads of one
//! host process, so every unmap or move of pages it has touched is a TLB shoot-down across CPUs
//! (an interrupt to each CPU running one of its threads, dear in a VM), and fresh pages cost a
//! fault each. A slot that held a small chunk keeps its pages when the chunk leaves or is freed
//! (`PROT_NONE`, which is one shoot-down), and the next small chunk there makes them read-write
//! again (which needs none) and overwrites them, with garbage or the bytes it carries.
//!
//! The kernel never zeroes memory: new chunks are filled with [`GARBAGE`] (lazy chunks only up to
//! [`FILL_LIMIT`], so that a large lazy chunk costs what it costs on the kernel: nothing until
//! touched). Contiguous chunks get a fake but stable "physical address" from [`PhysAlloc`].
//!
//! Hosted processes ([`ChunkArea::hosted`]) have the kernel's fixed chunk area in their own Linux
//! process: a chunk is a memfd, which a [`Mapper`] (the guest's agent) maps at the slot address
//! and unmaps again; moving a chunk moves the memfd. A chunk crossing between the two kinds of
//! process changes form on the way: anonymous pages are copied into a memfd for a guest, and a
//! memfd is mapped shared into an in-process slot.
//!
//! Lazy chunks in hosted processes keep the kernel's on-demand rule (§4.3): the memfd holds, after
//! the chunk's bytes, one state byte per page ([`lazy_memfd_len`]; 0 = never written). The guest
//! maps a lazy chunk's unwritten pages inaccessible; its fault handler makes a page read-write
//! (filled with garbage) on the first write and reports a read of an unwritten page as the
//! kernel's freeze. The state bytes travel with the memfd, so a receiving guest can read what the
//! sender wrote and still faults on what nobody wrote. In-process processes do not track writes:
//! a chunk mapped into one counts as written throughout from then on, wherever it goes next.
//!
//! Divergence (in-process only): the kernel tells an address outside its fixed chunk area (error 5) from one inside
//! it (9 before the process ever had a chunk, 10 for an empty slot). A stub process knows only the
//! slots it has used: before its first chunk every address gets 9; after it, an address in none of
//! its slots gets 5, even one that would lie in an unused slot of the kernel's area (which no
//! call ever handed out).

use libeurali::Error;
use libeurali::abi::layout::{CHUNK_SLOT_SIZE, CHUNK_SLOTS, PAGE_SIZE};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// Maps chunk memory into another address space (a hosted guest's): both calls are done when
/// they return. `false` if the guest is gone or refused.
pub trait Mapper: Send + Sync + std::fmt::Debug {
    /// Maps `fd` (a memfd of at least `len` bytes) read-write and shared at `addr`; if `lazy`,
    /// the memfd is [`lazy_memfd_len`] bytes long and only the pages its state bytes mark written
    /// are accessible (the rest on demand).
    fn map(&self, addr: u64, len: u64, fd: RawFd, lazy: bool) -> bool;
    /// Makes `[addr, addr + len)` an inaccessible reservation again.
    fn unmap(&self, addr: u64, len: u64) -> bool;
}

/// The byte new chunk memory is filled with (the kernel hands out frames as they were; a freed
/// chunk's 0xAB pattern was observed in a fresh one).
pub const GARBAGE: u8 = 0xAB;

/// Bytes of a lazy chunk filled with [`GARBAGE`]; the rest stays as the host gives it.
pub const FILL_LIMIT: usize = 16 << 20;

const SLOT: usize = CHUNK_SLOT_SIZE as usize;

/// Largest chunk (in-process) that moves as a copy and whose slot keeps its pages afterwards;
/// so at most this much memory per used slot stays with a process after its chunks are gone.
pub const KEEP_LIMIT: usize = 256 << 10;

/// The length of a lazy chunk's memfd in hosted mode: the chunk's `len` bytes, then one state
/// byte per page (0 = never written, 1 = written), rounded up to whole pages.
pub fn lazy_memfd_len(len: u64) -> u64 {
    len + (len / PAGE_SIZE).div_ceil(PAGE_SIZE) * PAGE_SIZE
}

#[derive(Debug)]
struct SlotInfo {
    len: usize,
    phys: Option<u64>,
    /// The memfd behind the slot (hosted slots; in-process slots that received one).
    fd: Option<OwnedFd>,
    /// The memfd is a lazy chunk's, with page states after the bytes ([`lazy_memfd_len`]).
    lazy: bool,
}

/// One process's chunk slots.
#[derive(Debug)]
pub struct ChunkArea {
    /// Base of each slot's reservation (index 0 unused), 0 while the slot was never used.
    bases: Vec<usize>,
    /// The chunk in each slot.
    slots: Vec<Option<SlotInfo>>,
    /// In-process: how many bytes from each slot's base may hold pages kept from earlier small
    /// chunks (inaccessible while no chunk uses them; at most [`KEEP_LIMIT`]).
    kept: Vec<usize>,
    /// Slot bases, for finding the slot of an address.
    by_base: BTreeMap<usize, usize>,
    /// Set for a hosted process: slots at the kernel's addresses in the guest.
    mapper: Option<Arc<dyn Mapper>>,
}

/// A chunk in flight: its pages in a private staging mapping (`ptr`), a memfd (`fd`), or its
/// bytes (`bytes`, a small in-process chunk), owned by a message.
pub struct Pages {
    ptr: usize,
    len: usize,
    fd: Option<OwnedFd>,
    /// The chunk's bytes (`len` of them), for a chunk moved as a copy; `ptr` is then unused.
    bytes: Option<Vec<u8>>,
    /// `fd` is a lazy chunk's memfd with page states ([`lazy_memfd_len`]).
    lazy: bool,
    /// The fake physical base of a contiguous chunk.
    pub phys: Option<u64>,
    /// The frames the real kernel's chunk would hold ([`crate::frames`]).
    pub frames: Vec<u32>,
}

impl std::fmt::Debug for Pages {
    /// The form and size, not the bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .field("fd", &self.fd)
            .field("copied", &self.bytes.is_some())
            .field("lazy", &self.lazy)
            .field("phys", &self.phys)
            .finish()
    }
}

// Safety: `Pages` owns its mapping exclusively; the address is only a number until mapped again.
unsafe impl Send for Pages {}

impl Drop for Pages {
    fn drop(&mut self) {
        if self.fd.is_none() && self.bytes.is_none() {
            // Safety: the mapping [ptr, ptr+len) belongs to this value alone.
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
        }
    }
}

impl Pages {
    /// The bytes (for tests and for the kernel's own use).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Sets the protection of `[addr, addr + len)`, a part of a slot's reservation; `false` if the
/// host refuses.
fn protect(addr: usize, len: usize, prot: libc::c_int) -> bool {
    // Safety: the range lies in a slot reservation this module owns.
    unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot) == 0 }
}

fn reserve(addr: usize, len: usize) -> Result<usize, Error> {
    let fixed = if addr == 0 { 0 } else { libc::MAP_FIXED };
    // Safety: a fresh anonymous inaccessible mapping; with MAP_FIXED it replaces only memory of
    // the area this module owns.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | fixed,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(Error::Memory)
    } else {
        Ok(p as usize)
    }
}

impl Default for ChunkArea {
    fn default() -> Self {
        ChunkArea {
            bases: vec![0; CHUNK_SLOTS + 1],
            slots: (0..=CHUNK_SLOTS).map(|_| None).collect(),
            kept: vec![0; CHUNK_SLOTS + 1],
            by_base: BTreeMap::new(),
            mapper: None,
        }
    }
}

impl ChunkArea {
    pub fn new() -> Self {
        Self::default()
    }

    /// The chunk area of a hosted process: the kernel's slot addresses, mapped by `mapper`.
    pub fn hosted(mapper: Arc<dyn Mapper>) -> Self {
        let mut a = Self::default();
        a.mapper = Some(mapper);
        a
    }

    /// A memfd of `len` bytes, the first `fill` of them garbage.
    fn new_memfd(len: usize, fill: usize) -> Result<OwnedFd, Error> {
        let fd = crate::hosted::memfd(c"eurali-chunk", len as u64).map_err(|_| Error::Memory)?;
        let garbage = vec![GARBAGE; fill.min(1 << 20)];
        let mut off = 0;
        while off < fill {
            let n = (fill - off).min(garbage.len());
            if !crate::hosted::pwrite_all(fd.as_raw_fd(), &garbage[..n], off as u64) {
                return Err(Error::Memory);
            }
            off += n;
        }
        Ok(fd)
    }

    /// Whether the process ever had a chunk.
    pub fn had_chunks(&self) -> bool {
        !self.by_base.is_empty()
    }

    /// Base address of slot `k`, reserving it on first use.
    fn reserve_slot(&mut self, k: usize) -> Result<usize, Error> {
        if self.bases[k] == 0 {
            let base = if self.mapper.is_some() {
                libeurali::abi::layout::chunk_slot_base(k) as usize
            } else {
                reserve(0, SLOT)?
            };
            self.bases[k] = base;
            self.by_base.insert(base, k);
        }
        Ok(self.bases[k])
    }

    /// Base address of slot `k` (1..=511), if the process ever used it.
    pub fn slot_base(&self, k: usize) -> Option<u64> {
        self.bases.get(k).filter(|&&b| b != 0).map(|&b| b as u64)
    }

    fn lowest_free(&self) -> Option<usize> {
        (1..=CHUNK_SLOTS).find(|&k| self.slots[k].is_none())
    }

    /// Number of occupied slots.
    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// malloc: maps `pages` pages (1..=262144, checked by the caller) at the lowest free slot and
    /// fills them with garbage. `phys` marks a contiguous chunk (filled entirely). 9 when no slot
    /// is free.
    pub fn alloc(&mut self, pages: u64, phys: Option<u64>) -> Result<u64, Error> {
        self.alloc_with(pages, phys, &[])
    }

    /// [`Self::alloc`], with `init` written at the start by the kernel (those pages count as
    /// written; at most the chunk's length is used).
    pub fn alloc_with(&mut self, pages: u64, phys: Option<u64>, init: &[u8]) -> Result<u64, Error> {
        let k = self.lowest_free().ok_or(Error::Memory)?;
        let len = (pages * PAGE_SIZE) as usize;
        let init = &init[..init.len().min(len)];
        if let Some(m) = self.mapper.clone() {
            // Contiguous chunks are mapped eagerly (filled with garbage); lazy ones get page
            // states, all unwritten (the guest fills a page with garbage on its first write).
            let lazy = phys.is_none();
            let fd = if lazy {
                let fd = crate::hosted::memfd(c"eurali-chunk", lazy_memfd_len(len as u64))
                    .map_err(|_| Error::Memory)?;
                let written = vec![1u8; init.len().div_ceil(PAGE_SIZE as usize)];
                if !crate::hosted::pwrite_all(fd.as_raw_fd(), &written, len as u64) {
                    return Err(Error::Memory);
                }
                fd
            } else {
                Self::new_memfd(len, len)?
            };
            if !crate::hosted::pwrite_all(fd.as_raw_fd(), init, 0) {
                return Err(Error::Memory);
            }
            let addr = self.reserve_slot(k)?;
            if !m.map(addr as u64, len as u64, fd.as_raw_fd(), lazy) {
                return Err(Error::Memory);
            }
            self.slots[k] = Some(SlotInfo {
                len,
                phys,
                fd: Some(fd),
                lazy,
            });
            return Ok(addr as u64);
        }
        let addr = self.reserve_slot(k)?;
        self.map_rw(k, addr, len)?;
        let fill = if phys.is_some() {
            len
        } else {
            len.min(FILL_LIMIT)
        };
        // Safety: just mapped read-write, `len` >= `init.len()` bytes.
        unsafe {
            std::ptr::write_bytes(addr as *mut u8, GARBAGE, fill);
            std::ptr::copy_nonoverlapping(init.as_ptr(), addr as *mut u8, init.len());
        }
        self.slots[k] = Some(SlotInfo {
            len,
            phys,
            fd: None,
            lazy: false,
        });
        Ok(addr as u64)
    }

    /// Makes `[addr, addr + len)` at the base of in-process slot `k` read-write: the slot's kept
    /// pages where it has enough of them (small chunks), else fresh pages (which, for a large
    /// chunk, replace any kept ones).
    fn map_rw(&mut self, k: usize, addr: usize, len: usize) -> Result<(), Error> {
        if len <= KEEP_LIMIT {
            // The reservation is private anonymous memory: its kept pages keep their old bytes
            // (the caller overwrites them), the rest are faulted in fresh.
            if !protect(addr, len, libc::PROT_READ | libc::PROT_WRITE) {
                return Err(Error::Memory);
            }
            self.kept[k] = self.kept[k].max(len);
            return Ok(());
        }
        // Safety: [addr, addr+len) lies inside slot k's reservation (len <= one slot).
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::Memory);
        }
        // len > KEEP_LIMIT >= kept: the kept pages are gone.
        self.kept[k] = 0;
        Ok(())
    }

    /// Ends in-process slot `k`'s chunk of `len` bytes: a small one's pages are kept, made
    /// inaccessible; a large one's are dropped.
    fn unmap_slot(&mut self, k: usize, len: usize) {
        let base = self.bases[k];
        if len <= KEEP_LIMIT && protect(base, len, libc::PROT_NONE) {
            return;
        }
        // Back to an inaccessible reservation (this drops the pages). On failure the old pages
        // simply stay mapped; the slot is free either way.
        let _ = reserve(base, len.max(self.kept[k]));
        self.kept[k] = 0;
    }

    /// The full slot an address names: 9 if the process never had chunks, 5 if the address lies
    /// in none of its slots, 10 if the slot is empty.
    pub fn locate(&self, addr: u64) -> Result<usize, Error> {
        if self.mapper.is_some() {
            // The kernel's fixed area: outside it 5, never had chunks 9, empty slot 10.
            let k = libeurali::abi::layout::chunk_slot_of(addr).ok_or(Error::Param)?;
            if !self.had_chunks() {
                return Err(Error::Memory);
            }
            return match self.slots[k] {
                Some(_) => Ok(k),
                None => Err(Error::DoubleFree),
            };
        }
        if !self.had_chunks() {
            return Err(Error::Memory);
        }
        let addr = usize::try_from(addr).map_err(|_| Error::Param)?;
        let (&base, &k) = self
            .by_base
            .range(..=addr)
            .next_back()
            .ok_or(Error::Param)?;
        if addr - base >= SLOT {
            return Err(Error::Param);
        }
        if self.slots[k].is_none() {
            return Err(Error::DoubleFree);
        }
        Ok(k)
    }

    /// free: unmaps the chunk `addr` lies in; returns its fake physical base, if any.
    pub fn free(&mut self, addr: u64) -> Result<Option<u64>, Error> {
        let k = self.locate(addr)?;
        let info = self.slots[k].take().ok_or(Error::DoubleFree)?;
        if let Some(m) = &self.mapper {
            m.unmap(self.bases[k] as u64, info.len as u64);
            return Ok(info.phys);
        }
        if info.fd.is_some() {
            // A memfd mapped here: back to an inaccessible reservation.
            let _ = reserve(self.bases[k], info.len);
            return Ok(info.phys);
        }
        self.unmap_slot(k, info.len);
        Ok(info.phys)
    }

    /// Takes the chunk `addr` lies in out of its slot for sending (same errors as [`Self::locate`];
    /// 9 if the host refuses the move).
    pub fn take(&mut self, addr: u64) -> Result<Pages, Error> {
        let k = self.locate(addr)?;
        let from = self.bases[k];
        let info = self.slots[k].as_ref().ok_or(Error::DoubleFree)?;
        let (len, phys, lazy) = (info.len, info.phys, info.lazy);
        if info.fd.is_some() {
            // A memfd slot: unmap it here (or in the guest) and send the memfd on.
            let info = self.slots[k].take().ok_or(Error::DoubleFree)?;
            match &self.mapper {
                Some(m) => {
                    m.unmap(from as u64, len as u64);
                }
                None => {
                    let _ = reserve(from, len);
                }
            }
            return Ok(Pages {
                ptr: 0,
                len,
                fd: info.fd,
                bytes: None,
                lazy,
                phys,
                frames: Vec::new(),
            });
        }
        if len <= KEEP_LIMIT {
            // Safety: slot k's chunk is mapped read-write for `len` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(from as *const u8, len) }.to_vec();
            self.slots[k] = None;
            self.unmap_slot(k, len);
            return Ok(Pages {
                ptr: 0,
                len,
                fd: None,
                bytes: Some(bytes),
                lazy: false,
                phys,
                frames: Vec::new(),
            });
        }
        let info = SlotInfo {
            len,
            phys,
            fd: None,
            lazy: false,
        };
        let staging = reserve(0, info.len)?;
        // Safety: moves our own mapping [from, from+len) over our own fresh staging mapping.
        // MREMAP_DONTUNMAP leaves [from, from+len) mapped (empty) instead of unmapped: the host
        // address space is shared with every other kernel in this process, and a hole here could
        // be taken by another thread's mmap before the MAP_FIXED `reserve` below refills it —
        // which would then clobber that thread's memory.
        let p = unsafe {
            libc::mremap(
                from as *mut libc::c_void,
                info.len,
                info.len,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP,
                staging as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            // Safety: the staging mapping is ours and unused.
            unsafe { libc::munmap(staging as *mut libc::c_void, info.len) };
            return Err(Error::Memory);
        }
        self.slots[k] = None;
        // Fill the hole the move left so that nothing else lands in the area and a stale access
        // faults. If this fails the hole stays unmapped, which faults just the same.
        let _ = reserve(from, info.len);
        self.kept[k] = 0;
        Ok(Pages {
            ptr: staging,
            len: info.len,
            fd: None,
            bytes: None,
            lazy: false,
            phys: info.phys,
            frames: Vec::new(),
        })
    }

    /// Maps an in-flight chunk at the lowest free slot and returns the slot base; gives the pages
    /// back if no slot is free (the caller turns that into NOMEMSLOTS, §2.1).
    pub fn put(&mut self, pages: Pages) -> Result<u64, Pages> {
        let Some(k) = self.lowest_free() else {
            return Err(pages);
        };
        let Ok(to) = self.reserve_slot(k) else {
            return Err(pages);
        };
        if pages.fd.is_some() || self.mapper.is_some() {
            return self.put_memfd(k, to, pages);
        }
        if let Some(bytes) = &pages.bytes {
            if self.map_rw(k, to, pages.len).is_err() {
                return Err(pages);
            }
            // Safety: just made read-write, `len` bytes at the slot's base.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), to as *mut u8, pages.len) };
            self.slots[k] = Some(SlotInfo {
                len: pages.len,
                phys: pages.phys,
                fd: None,
                lazy: false,
            });
            return Ok(to as u64);
        }
        // Safety: moves the staging mapping `pages` owns into a slot of our own reservation.
        let p = unsafe {
            libc::mremap(
                pages.ptr as *mut libc::c_void,
                pages.len,
                pages.len,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                to as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(pages);
        }
        // A large chunk (len > KEEP_LIMIT >= kept) replaced whatever pages the slot kept.
        self.kept[k] = 0;
        self.slots[k] = Some(SlotInfo {
            len: pages.len,
            phys: pages.phys,
            fd: None,
            lazy: false,
        });
        // The staging mapping is gone (moved); don't unmap it again.
        std::mem::forget(pages);
        Ok(to as u64)
    }

    /// [`Self::put`] for memfd pages, or for anonymous pages going to a guest (copied into a
    /// memfd first).
    fn put_memfd(&mut self, k: usize, to: usize, mut pages: Pages) -> Result<u64, Pages> {
        let mut lazy = pages.lazy;
        let fd = match pages.fd.take() {
            Some(fd) => fd,
            None => {
                let Ok(fd) = crate::hosted::memfd(c"eurali-chunk", pages.len as u64) else {
                    return Err(pages);
                };
                let bytes = match &pages.bytes {
                    Some(b) => &b[..],
                    // Safety: the staging mapping holds `len` readable bytes.
                    None => unsafe {
                        std::slice::from_raw_parts(pages.ptr as *const u8, pages.len)
                    },
                };
                if !crate::hosted::pwrite_all(fd.as_raw_fd(), bytes, 0) {
                    return Err(pages);
                }
                if pages.bytes.take().is_none() {
                    // The anonymous staging pages are no longer needed.
                    // Safety: the mapping belongs to `pages`, which forgets it below.
                    unsafe { libc::munmap(pages.ptr as *mut libc::c_void, pages.len) };
                }
                fd
            }
        };
        let len = pages.len;
        let ok = match &self.mapper {
            Some(m) => m.map(to as u64, len as u64, fd.as_raw_fd(), lazy),
            None => {
                // Writes here are not tracked: from now on the chunk counts as written, and the
                // pages nobody wrote get their garbage now.
                if lazy && !fill_unwritten(fd.as_raw_fd(), len) {
                    pages.fd = Some(fd);
                    return Err(pages);
                }
                lazy = false;
                // Safety: maps our own memfd over slot k's own reservation.
                let p = unsafe {
                    libc::mmap(
                        to as *mut libc::c_void,
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_SHARED | libc::MAP_FIXED,
                        fd.as_raw_fd(),
                        0,
                    )
                };
                p != libc::MAP_FAILED
            }
        };
        if !ok {
            pages.fd = Some(fd);
            return Err(pages);
        }
        self.slots[k] = Some(SlotInfo {
            len,
            phys: pages.phys,
            fd: Some(fd),
            lazy,
        });
        std::mem::forget(pages);
        Ok(to as u64)
    }

    /// The fake physical ranges of the contiguous chunks held (to release them when the process
    /// dies).
    pub fn phys_ranges(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.slots
            .iter()
            .flatten()
            .filter_map(|s| s.phys.map(|p| (p, s.len)))
    }
}

/// Fills the never-written pages of a lazy chunk's memfd (`len` bytes, then page states) with
/// [`GARBAGE`]. `false` if the memfd cannot be read or written.
fn fill_unwritten(fd: RawFd, len: usize) -> bool {
    let mut states = vec![0u8; len / PAGE_SIZE as usize];
    // Safety: reads into a local buffer of its own length.
    let n = unsafe { libc::pread(fd, states.as_mut_ptr().cast(), states.len(), len as i64) };
    if n != states.len() as isize {
        return false;
    }
    let garbage = [GARBAGE; PAGE_SIZE as usize];
    states
        .iter()
        .enumerate()
        .all(|(i, &s)| s != 0 || crate::hosted::pwrite_all(fd, &garbage, i as u64 * PAGE_SIZE))
}

impl Drop for ChunkArea {
    fn drop(&mut self) {
        if self.mapper.is_some() {
            // The guest's address space goes with the guest.
            return;
        }
        for &base in self.by_base.keys() {
            // Safety: each slot reservation is this process's own; no thread of the process is
            // left to touch it.
            unsafe { libc::munmap(base as *mut libc::c_void, SLOT) };
        }
    }
}

/// Fake physical memory for contiguous chunks: first-fit ranges in the region the observed
/// machine's frame allocator used (§7, 128 MiB), so a driver sees plausible, stable addresses and
/// runs out where the machine would.
#[derive(Debug, Default)]
pub struct PhysAlloc {
    used: BTreeMap<u64, u64>,
}

/// Start of the fake frame region.
pub const PHYS_START: u64 = 0x44_C000;
/// End of the fake frame region.
pub const PHYS_END: u64 = 0x7FE_0000;

impl PhysAlloc {
    /// A range of `len` bytes ending at or below `max` (the limit itself is the highest address
    /// allowed), or `None`.
    pub fn alloc(&mut self, len: u64, max: u64) -> Option<u64> {
        let limit = PHYS_END.min(max.saturating_add(1));
        let mut at = PHYS_START;
        for (&start, &l) in &self.used {
            if at + len <= start {
                break;
            }
            at = at.max(start + l);
        }
        if at.checked_add(len)? > limit {
            return None;
        }
        self.used.insert(at, len);
        Some(at)
    }

    pub fn release(&mut self, start: u64) {
        self.used.remove(&start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_fills_garbage_and_free_reuses_lowest_slot() {
        let mut a = ChunkArea::new();
        assert!(!a.had_chunks());
        assert_eq!(a.free(0x1234), Err(Error::Memory));
        let c1 = a.alloc(2, None).unwrap();
        let c2 = a.alloc(1, None).unwrap();
        assert_eq!(Some(c1), a.slot_base(1));
        assert_eq!(Some(c2), a.slot_base(2));
        // Safety: two pages mapped at c1.
        let bytes = unsafe { std::slice::from_raw_parts(c1 as *const u8, 8192) };
        assert!(bytes.iter().all(|&b| b == GARBAGE));
        assert_eq!(a.free(c1 + 4097), Ok(None));
        assert_eq!(a.free(c1), Err(Error::DoubleFree));
        assert_eq!(a.free(0x1000), Err(Error::Param));
        assert_eq!(a.free(u64::MAX), Err(Error::Param));
        assert_eq!(a.slot_base(3), None);
        assert_eq!(a.alloc(1, None).unwrap(), c1);
    }

    #[test]
    fn pages_move_between_areas() {
        let mut a = ChunkArea::new();
        let mut b = ChunkArea::new();
        let _ = b.alloc(1, None).unwrap();
        let c = a.alloc(1, None).unwrap();
        // Safety: one page mapped at c.
        unsafe { (c as *mut u64).write(0x1122_3344) };
        let pages = a.take(c).unwrap();
        assert_eq!(a.locate(c), Err(Error::DoubleFree));
        let d = b.put(pages).unwrap();
        assert_eq!(Some(d), b.slot_base(2));
        // Safety: the page now lives at d.
        assert_eq!(unsafe { (d as *const u64).read() }, 0x1122_3344);
        assert_eq!(a.used(), 0);
        assert_eq!(b.used(), 2);
    }

    #[test]
    fn small_chunks_move_as_copies_and_reused_pages_show_garbage() {
        let mut a = ChunkArea::new();
        let mut b = ChunkArea::new();
        let c = a.alloc(2, None).unwrap();
        // Safety: two pages mapped at c.
        unsafe { std::ptr::write_bytes(c as *mut u8, 0x5A, 8192) };
        let pages = a.take(c).unwrap();
        assert!(pages.bytes.is_some());
        assert_eq!(a.locate(c), Err(Error::DoubleFree));
        // Slot 1 kept its pages: a new chunk there shows garbage, not the old bytes.
        assert_eq!(a.alloc(2, None).unwrap(), c);
        // Safety: two pages mapped at c.
        let fresh = unsafe { std::slice::from_raw_parts(c as *const u8, 8192) };
        assert!(fresh.iter().all(|&x| x == GARBAGE));
        // The receiver's slot, kept from an earlier chunk, gets exactly the bytes sent.
        let old = b.alloc(3, None).unwrap();
        // Safety: three pages mapped at old.
        unsafe { std::ptr::write_bytes(old as *mut u8, 0x11, 3 * 4096) };
        assert_eq!(b.free(old), Ok(None));
        let d = b.put(pages).unwrap();
        assert_eq!(d, old);
        // Safety: two pages mapped at d.
        let got = unsafe { std::slice::from_raw_parts(d as *const u8, 8192) };
        assert!(got.iter().all(|&x| x == 0x5A));
        assert_eq!(b.free(d), Ok(None));
    }

    #[test]
    fn large_chunks_move_their_pages() {
        let pages_n = (KEEP_LIMIT / 4096 + 1) as u64;
        let len = pages_n as usize * 4096;
        let mut a = ChunkArea::new();
        let mut b = ChunkArea::new();
        // Slot 1 of `a` first holds a small chunk (kept pages), then a large one over them.
        let s = a.alloc(1, None).unwrap();
        assert_eq!(a.free(s), Ok(None));
        let c = a.alloc(pages_n, None).unwrap();
        assert_eq!(c, s);
        // Safety: `len` bytes mapped at c.
        unsafe {
            (c as *mut u64).write(0xABCD);
            ((c as usize + len - 8) as *mut u64).write(0x1234);
        }
        let p = a.take(c).unwrap();
        assert!(p.bytes.is_none());
        let d = b.put(p).unwrap();
        // Safety: the pages now live at d.
        unsafe {
            assert_eq!((d as *const u64).read(), 0xABCD);
            assert_eq!(((d as usize + len - 8) as *const u64).read(), 0x1234);
        }
        // Small chunks work in both slots afterwards.
        let e = a.alloc(1, None).unwrap();
        assert_eq!(e, c);
        assert_eq!(b.free(d), Ok(None));
        assert_eq!(b.alloc(1, None).unwrap(), d);
    }

    #[test]
    fn a_small_in_process_chunk_reaches_a_guest_as_a_memfd() {
        /// Keeps what the memfd held when mapped.
        #[derive(Debug, Default)]
        struct Reader(std::sync::Mutex<Vec<u8>>);
        impl Mapper for Reader {
            fn map(&self, _: u64, len: u64, fd: RawFd, _: bool) -> bool {
                let mut v = vec![0u8; len as usize];
                // Safety: reads into a local buffer of its own length.
                let n = unsafe { libc::pread(fd, v.as_mut_ptr().cast(), v.len(), 0) };
                assert_eq!(n, v.len() as isize);
                *self.0.lock().unwrap() = v;
                true
            }
            fn unmap(&self, _: u64, _: u64) -> bool {
                true
            }
        }
        let rec = Arc::new(Reader::default());
        let mut guest = ChunkArea::hosted(rec.clone());
        let mut local = ChunkArea::new();
        let c = local.alloc(1, None).unwrap();
        // Safety: one page mapped at c.
        unsafe { std::ptr::write_bytes(c as *mut u8, 0x77, 4096) };
        guest.put(local.take(c).unwrap()).unwrap();
        assert!(rec.0.lock().unwrap().iter().all(|&x| x == 0x77));
    }

    #[test]
    fn area_holds_511_chunks() {
        let mut a = ChunkArea::new();
        for k in 1..=511 {
            let c = a.alloc(1, None).unwrap();
            assert_eq!(Some(c), a.slot_base(k));
        }
        assert_eq!(a.alloc(1, None), Err(Error::Memory));
        let mut other = ChunkArea::new();
        let p = other.alloc(1, None).unwrap();
        let pages = other.take(p).unwrap();
        assert!(a.put(pages).is_err());
    }

    /// Records what a guest's agent would be asked to map.
    #[derive(Debug, Default)]
    struct Recorder(std::sync::Mutex<Vec<Mapped>>);

    /// One map call: address, length, lazy, the page states the memfd held.
    type Mapped = (u64, u64, bool, Vec<u8>);

    impl Mapper for Recorder {
        fn map(&self, addr: u64, len: u64, fd: RawFd, lazy: bool) -> bool {
            let total = if lazy { lazy_memfd_len(len) } else { len };
            let mut states = vec![0u8; (total - len) as usize];
            // Safety: reads into a local buffer from a memfd of at least `total` bytes.
            let n =
                unsafe { libc::pread(fd, states.as_mut_ptr().cast(), states.len(), len as i64) };
            assert_eq!(n, states.len() as isize);
            self.0.lock().unwrap().push((addr, len, lazy, states));
            true
        }
        fn unmap(&self, _: u64, _: u64) -> bool {
            true
        }
    }

    #[test]
    fn lazy_chunk_page_states_travel_with_the_memfd() {
        assert_eq!(lazy_memfd_len(4096), 8192);
        assert_eq!(lazy_memfd_len(4097 * 4096), 4097 * 4096 + 8192);
        let rec = Arc::new(Recorder::default());
        let mut guest = ChunkArea::hosted(rec.clone());
        // The kernel wrote 5000 bytes (two pages) of a three-page lazy chunk.
        let c = guest.alloc_with(3, None, &[7u8; 5000]).unwrap();
        // A contiguous chunk is not lazy.
        guest.alloc(1, Some(PHYS_START)).unwrap();
        {
            let calls = rec.0.lock().unwrap();
            assert_eq!(calls[0].0, c);
            assert!(calls[0].2);
            assert_eq!(&calls[0].3[..4], &[1, 1, 0, 0]);
            assert!(!calls[1].2);
        }
        // To another guest: still lazy, same states.
        let mut other = ChunkArea::hosted(rec.clone());
        let pages = guest.take(c).unwrap();
        let d = other.put(pages).unwrap();
        {
            let calls = rec.0.lock().unwrap();
            assert_eq!(calls[2].0, d);
            assert!(calls[2].2);
            assert_eq!(&calls[2].3[..4], &[1, 1, 0, 0]);
        }
        // Through an in-process process (which does not track writes): written throughout.
        let mut local = ChunkArea::new();
        let e = local.put(other.take(d).unwrap()).unwrap();
        // Safety: the memfd's three pages are mapped at `e`.
        unsafe {
            assert_eq!((e as *const u8).add(4999).read(), 7);
            assert_eq!((e as *const u8).add(8192).read(), GARBAGE);
        }
        guest.put(local.take(e).unwrap()).unwrap();
        assert!(!rec.0.lock().unwrap()[3].2);
    }

    #[test]
    fn phys_is_first_fit_below_the_limit() {
        let mut p = PhysAlloc::default();
        let a = p.alloc(0x2000, 0xFFFF_FFFF).unwrap();
        let b = p.alloc(0x1000, 0xFFFF_FFFF).unwrap();
        assert_eq!(a, PHYS_START);
        assert_eq!(b, PHYS_START + 0x2000);
        p.release(a);
        assert_eq!(p.alloc(0x1000, 0xFFFF_FFFF), Some(PHYS_START));
        assert_eq!(p.alloc(0x1000, PHYS_START), None);
        assert_eq!(p.alloc(PHYS_END, u64::MAX), None);
    }
}
