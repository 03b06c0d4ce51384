//! Chunk reuse: where a dropped [`MemoryChunk`](crate::MemoryChunk) goes, and where a new one
//! is looked for first.
//!
//! Freeing a chunk gives its frames back to the kernel, and Merriwig's frame allocator corrupts
//! kernel memory when frames come back faster than they were taken since its 32-entry stack
//! was last refilled (ABI §9.23). So a chunk whose pages are known (mapped, and each written
//! once, so that reading them is allowed, §4.3) is kept by the process's runtime when dropped,
//! and [`MemoryChunk::alloc`](crate::MemoryChunk::alloc) takes one of those before it asks the
//! kernel. The protocols hand chunks back and forth (a write's chunk returns with its reply, a
//! read lends one for its data), so that each process's pool stays about as full as it was.
//!
//! The pool lives in the runtime (std-shim installs it, one per process); without one chunks
//! are freed as before.

use core::sync::atomic::{AtomicPtr, Ordering};

/// The runtime's pool (std-shim's, per process).
pub struct Pool {
    /// A kept chunk of at least `pages` pages: `(base, its pages)`.
    pub take: fn(pages: u64) -> Option<(u64, u64)>,
    /// Keeps the chunk at `base` of `pages` known pages; `false` if the pool has no room (the
    /// caller frees it).
    pub give: fn(base: u64, pages: u64) -> bool,
}

static POOL: AtomicPtr<Pool> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `p` the pool (std-shim does, once).
pub fn install(p: &'static Pool) {
    POOL.store(p as *const Pool as *mut Pool, Ordering::Release);
}

fn pool() -> Option<&'static Pool> {
    // Safety: only ever set from a `&'static Pool`.
    unsafe { POOL.load(Ordering::Acquire).as_ref() }
}

pub(crate) fn take(pages: u64) -> Option<(u64, u64)> {
    pool().and_then(|p| (p.take)(pages))
}

pub(crate) fn give(base: u64, pages: u64) -> bool {
    pool().is_some_and(|p| (p.give)(base, pages))
}

/// What a process's pool keeps, and how it chooses: the logic behind [`Pool`], for the
/// runtime to hold in its per-process state.
#[derive(Debug, Default)]
pub struct Kept {
    chunks: heapless::Vec<(u64, u64), MAX_KEPT>,
    pages: u64,
}

/// Most chunks a process keeps.
pub const MAX_KEPT: usize = 16;
/// Most pages a process keeps in them (512 KiB).
pub const MAX_KEPT_PAGES: u64 = 128;

impl Kept {
    /// The smallest kept chunk of at least `pages` pages.
    pub fn take(&mut self, pages: u64) -> Option<(u64, u64)> {
        let i = self
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.1 >= pages)
            .min_by_key(|(_, c)| c.1)
            .map(|(i, _)| i)?;
        let c = self.chunks.swap_remove(i);
        self.pages -= c.1;
        Some(c)
    }

    /// The biggest kept chunk.
    pub fn take_biggest(&mut self) -> Option<(u64, u64)> {
        let i = self
            .chunks
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| c.1)
            .map(|(i, _)| i)?;
        let c = self.chunks.swap_remove(i);
        self.pages -= c.1;
        Some(c)
    }

    /// Keeps a chunk if there is room; a big one may push out smaller ones (it serves more).
    pub fn give(&mut self, base: u64, pages: u64) -> bool {
        if pages == 0 || pages > MAX_KEPT_PAGES {
            return false;
        }
        if self.chunks.is_full() || self.pages + pages > MAX_KEPT_PAGES {
            return false;
        }
        if self.chunks.push((base, pages)).is_err() {
            return false;
        }
        self.pages += pages;
        true
    }

    /// Chunks kept now.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Takes every kept chunk (a process ending or tearing its pool down frees them).
    pub fn drain(&mut self) -> impl Iterator<Item = (u64, u64)> {
        self.pages = 0;
        core::mem::take(&mut self.chunks).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_fit_and_limits() {
        let mut k = Kept::default();
        assert!(k.give(0x1000, 4));
        assert!(k.give(0x2000, 1));
        assert!(k.give(0x3000, 2));
        assert_eq!(k.take(2), Some((0x3000, 2)));
        assert_eq!(k.take(5), None);
        assert_eq!(k.take(1), Some((0x2000, 1)));
        assert!(!k.give(0x4000, 0), "unknown size: freed");
        assert!(!k.give(0x4000, MAX_KEPT_PAGES + 1));
        assert!(k.give(0x4000, MAX_KEPT_PAGES - 4));
        assert!(!k.give(0x5000, 1), "pages full");
        assert_eq!(k.drain().count(), 2);
        for i in 0..MAX_KEPT as u64 {
            assert!(k.give(i << 30, 1));
        }
        assert!(!k.give(0x9 << 40, 1), "count full");
    }
}
