//! Owned kernel objects: [`Handle`] (a slot in the process's rendezvous table) and [`MemoryChunk`]
//! (a 1 GiB chunk slot). Neither is `Copy`: sending one moves it, dropping one closes or frees it.

use crate::abi::{Call, Registers, layout};
use crate::error::{Error, Result};
use crate::raw;

/// Runs a decoded call on the default backend and returns the kernel's registers.
pub(crate) fn call(c: Call) -> Registers {
    let mut r = c.encode();
    // Safety: every caller in this crate builds `c` from live, valid buffers and handles.
    unsafe { raw::syscall(&mut r) };
    r
}

/// Runs a call and turns its status into a `Result` of the returned registers.
pub(crate) fn checked(c: Call) -> Result<Registers> {
    let r = call(c);
    match r.error() {
        None => Ok(r),
        Some(e) => Err(e),
    }
}

/// An owned communication handle. Dropping it closes it (§3.5); [`Handle::try_clone`] makes a
/// second reference with `copy_rendezvous`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Handle(u32);

impl Handle {
    /// Takes ownership of a handle number.
    ///
    /// # Safety
    /// The number must be a live handle of this process that nothing else will close.
    pub const unsafe fn from_raw(n: u32) -> Handle {
        Handle(n)
    }

    /// The handle's number in this process's table.
    pub const fn raw(&self) -> u32 {
        self.0
    }

    /// Gives up ownership without closing.
    pub fn into_raw(self) -> u32 {
        let n = self.0;
        core::mem::forget(self);
        n
    }

    /// A second handle to the same rendezvous (`copy_rendezvous`).
    pub fn try_clone(&self) -> Result<Handle> {
        // Safety: we own the number, open for as long as `self` lives.
        unsafe { Handle::copy_raw(self.0) }
    }

    /// A new handle to the rendezvous that handle number `n` names, without taking `n` over
    /// (`copy_rendezvous`): for a server that lists the numbers its threads receive on and
    /// copies them to sweep or wake those threads.
    ///
    /// # Safety
    /// `n` must stay open during the call (its owner closes it only under the lock the caller
    /// holds), or the copy may name whatever object the number names by then.
    pub unsafe fn copy_raw(n: u32) -> Result<Handle> {
        let r = checked(Call::CopyRendezvous { handle: n as u64 })?;
        Ok(Handle(r.rdi as u32))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        call(Call::Close {
            handle: self.0 as u64,
        });
    }
}

/// Two handles to one new rendezvous (`new_rendezvous`).
pub fn new_rendezvous() -> Result<(Handle, Handle)> {
    let r = checked(Call::NewRendezvous)?;
    Ok((Handle(r.rdi as u32), Handle(r.rsi as u32)))
}

/// An owned memory chunk: one chunk slot of this process.
///
/// The kernel does not record a chunk's length. `len` is what this side knows to be mapped: the
/// allocation size for a chunk from [`MemoryChunk::alloc`], or what the sender's message said for
/// a received one (see [`MemoryChunk::set_len`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MemoryChunk {
    base: u64,
    len: usize,
    /// Pages from the base known to be mapped and written once (0: unknown). A dropped chunk
    /// with known pages goes to the process's pool ([`crate::pool`]) instead of being freed.
    pages: u64,
}

/// The pages a chunk of `len` bytes takes (at least one); `Memory` past a chunk slot.
fn chunk_pages(len: usize) -> Result<u64> {
    let pages = (len as u64).div_ceil(layout::PAGE_SIZE).max(1);
    if pages > layout::MAX_CHUNK_PAGES {
        return Err(Error::Memory);
    }
    Ok(pages)
}

impl MemoryChunk {
    /// Allocates `len` bytes (rounded up to pages, at least one) with `malloc`, and writes every
    /// byte (to zero) before handing it out: on the real kernel a read of an on-demand page before
    /// its first write freezes the machine (§4.3), and memory comes unzeroed.
    /// A chunk from the process's pool ([`crate::pool`]) is taken first; only then `malloc`.
    pub fn alloc(len: usize) -> Result<MemoryChunk> {
        let mut c = MemoryChunk::new_unfilled(len)?;
        c.as_mut_slice().fill(0);
        Ok(c)
    }

    /// A chunk of at least `len` bytes (rounded up to pages, at least one), from the pool or
    /// `malloc`; [`MemoryChunk::len`] is the rounded length. A fresh chunk's pages are not
    /// written yet: the caller writes every byte before reading any (§4.3), and so counts them
    /// known (its `pages`) for the pool.
    fn new_unfilled(len: usize) -> Result<MemoryChunk> {
        let pages = chunk_pages(len)?;
        if let Some((base, have)) = crate::pool::take(pages) {
            return Ok(MemoryChunk {
                base,
                len: (pages * layout::PAGE_SIZE) as usize,
                pages: have,
            });
        }
        let mut c = MemoryChunk::malloc(pages)?;
        c.pages = pages;
        Ok(c)
    }

    /// A lazy chunk of `pages` pages straight from `malloc`, no page known written.
    fn malloc(pages: u64) -> Result<MemoryChunk> {
        let r = checked(Call::Malloc {
            pages,
            max_physaddr: 0,
        })?;
        Ok(MemoryChunk {
            base: r.rdi,
            len: (pages * layout::PAGE_SIZE) as usize,
            pages: 0,
        })
    }

    /// A chunk of at least `len` bytes from the process's pool, if it keeps one (no `malloc`):
    /// its bytes are what they were (written once, so readable). For lending to a server that
    /// fills it (a stream READ).
    pub fn from_pool(len: usize) -> Option<MemoryChunk> {
        let pages = (len as u64).div_ceil(layout::PAGE_SIZE).max(1);
        let (base, have) = crate::pool::take(pages)?;
        Some(MemoryChunk {
            base,
            len: (have * layout::PAGE_SIZE) as usize,
            pages: have,
        })
    }

    /// Allocates `len` bytes (rounded up to pages, at least one) and writes none of them: on the
    /// real kernel the chunk costs its page tables and one frame, and each other page a frame
    /// only once it is written (§4.3). For memory that fills up over time (a ramdisk's file
    /// data); [`MemoryChunk::alloc`] is the one for messages.
    ///
    /// # Safety
    /// No byte of a page may be read before a byte of that page was written: not by this
    /// program (through [`MemoryChunk::as_slice`] or otherwise) and not by the kernel (sending
    /// the chunk, handing it to `debug_write` or `exec`). On the real kernel such a read makes
    /// the page's first write halt the machine; what an unwritten page reads as is unspecified.
    pub unsafe fn alloc_unwritten(len: usize) -> Result<MemoryChunk> {
        // Its pages are not known written: never pooled (pages 0).
        MemoryChunk::malloc(chunk_pages(len)?)
    }

    /// Allocates a chunk holding a copy of `data` at its start, the rest of its pages zeroed:
    /// one pass over the memory where [`MemoryChunk::alloc`] and a copy make two.
    pub fn from_bytes(data: &[u8]) -> Result<MemoryChunk> {
        MemoryChunk::alloc_with(data.len(), |buf| {
            buf.copy_from_slice(data);
            Ok::<usize, Error>(data.len())
        })?
    }

    /// Allocates `len` bytes (rounded up to pages, at least one) and lets `fill` write them:
    /// `fill` gets the first `len` bytes and returns how many it wrote from the start; every
    /// other byte of the chunk's pages is then zeroed, so the chunk carries only what `fill`
    /// wrote, and zeros. The chunk's [`MemoryChunk::len`] is the count `fill` returned.
    ///
    /// Before `fill` runs, one byte of each page is written, so reading the buffer is allowed
    /// (§4.3), but what `fill` has not written is unspecified: it must not rely on it, and must
    /// write every byte it reports. An `Err` from `fill` frees the chunk and comes back inside
    /// the `Ok`.
    pub fn alloc_with<E>(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> core::result::Result<usize, E>,
    ) -> Result<core::result::Result<MemoryChunk, E>> {
        let mut c = MemoryChunk::new_unfilled(len)?;
        let all = c.as_mut_slice();
        for page in all.chunks_mut(layout::PAGE_SIZE as usize) {
            page[0] = 0;
        }
        match fill(&mut all[..len]) {
            Ok(n) => {
                let n = n.min(len);
                all[n..].fill(0);
                c.len = n;
                Ok(Ok(c))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Allocates physically contiguous pages below `max_physaddr` (for DMA); returns the chunk and
    /// its physical base. These are mapped eagerly; they are zeroed here too.
    pub fn alloc_contiguous(len: usize, max_physaddr: u64) -> Result<(MemoryChunk, u64)> {
        let pages = (len as u64).div_ceil(layout::PAGE_SIZE).max(1);
        if pages > layout::MAX_CHUNK_PAGES || max_physaddr == 0 {
            return Err(Error::Param);
        }
        let r = checked(Call::Malloc {
            pages,
            max_physaddr,
        })?;
        // Never pooled (pages 0): DMA memory is freed when dropped.
        let mut c = MemoryChunk {
            base: r.rdi,
            len: (pages * layout::PAGE_SIZE) as usize,
            pages: 0,
        };
        c.as_mut_slice().fill(0);
        Ok((c, r.rsi))
    }

    /// Takes ownership of a chunk slot named by `base`, with no known length.
    ///
    /// # Safety
    /// `base` must be a chunk of this process that nothing else frees.
    pub const unsafe fn from_raw(base: u64) -> MemoryChunk {
        MemoryChunk {
            base,
            len: 0,
            pages: 0,
        }
    }

    /// Declares how many bytes from the base are mapped (the pages they touch then count as
    /// known, for the pool).
    ///
    /// # Safety
    /// Those bytes must be mapped in this chunk, and written at least once (§4.3). A receiver can
    /// only trust its sender for this: the kernel does not convey a chunk's size.
    pub unsafe fn set_len(&mut self, len: usize) {
        self.len = len;
        self.pages = self.pages.max((len as u64).div_ceil(layout::PAGE_SIZE));
    }

    /// Declares that `pages` pages from the base are mapped and were each written once (a chunk
    /// that comes back to the process that sent it, which knows its size).
    ///
    /// # Safety
    /// As [`MemoryChunk::set_len`], for `pages` whole pages.
    pub unsafe fn set_pages(&mut self, pages: u64) {
        self.pages = self.pages.max(pages);
    }

    /// Pages known to be mapped and written (0: unknown).
    pub const fn pages(&self) -> u64 {
        self.pages
    }

    /// The chunk's base address.
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// The bytes known to be mapped.
    pub const fn len(&self) -> usize {
        self.len
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        // Safety: `len` bytes from `base` are mapped and owned by this value (constructor and
        // `set_len` contracts).
        unsafe { core::slice::from_raw_parts(self.base as *const u8, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // Safety: as above, and `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.base as *mut u8, self.len) }
    }

    /// Gives up ownership without freeing; returns the base.
    pub fn into_raw(self) -> u64 {
        let b = self.base;
        core::mem::forget(self);
        b
    }
}

impl Drop for MemoryChunk {
    /// A chunk of known pages goes to the process's pool if it has room; else it is freed.
    fn drop(&mut self) {
        if self.pages > 0 && crate::pool::give(self.base, self.pages) {
            return;
        }
        call(Call::Free { addr: self.base });
    }
}
