//! The global allocator: talc over the kernel's heap, then over memory chunks.
//!
//! The kernel gives each process a 4 MiB heap of on-demand pages (ABI §4.3): a page read before
//! its first write freezes the machine, and nothing is zeroed. Allocated memory is read before it
//! is written in ordinary code (a `realloc` copies a vector's unused capacity; talc reads its
//! own boundary tags), so every page talc may touch or hand out is written once first.
//!
//! Growth policy, chosen for memory rather than speed: talc starts with one [`PIECE`] of the
//! heap; when it runs out, its OOM handler writes the next piece (at least the request) and
//! extends the heap over it. Pre-faulting the whole 4 MiB at start would cost every process 1023
//! page faults and 4 MiB of frames, kept until it exits, although small programs use one piece
//! (`hello` touches 15 heap pages and 6 stack pages in all); a dozen processes would pin 48 MiB
//! of a 128 MiB machine. Once the 4 MiB are used up, the handler claims memory chunks
//! (`malloc`, at least [`MIN_CHUNK`] bytes each; libeurali writes every byte of a new chunk
//! before handing it out).
//!
//! The lock yields to the scheduler while another thread holds it: there is one CPU, so
//! spinning would only burn the holder's time slice. A thread that re-enters the allocator while
//! holding it (an allocation from inside an allocation) is ended with a message instead of
//! waiting for itself forever.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use libeurali::MemoryChunk;
use libeurali::abi::layout::PAGE_SIZE;
use talc::{OomHandler, Span, Talc};

/// How much of the heap is written and given to talc at a time.
const PIECE: usize = 64 * 1024;
/// The smallest memory chunk taken once the heap is used up.
const MIN_CHUNK: usize = 1024 * 1024;
/// Room for talc's boundary tags around one allocation.
const SLACK: usize = 64;

const PAGE: usize = PAGE_SIZE as usize;

#[global_allocator]
static HEAP: Heap = Heap::new();

/// Hands the kernel's heap `[start, start + size)` to the allocator. Called once, from
/// `rust_start`, before anything allocates.
pub(super) fn init(start: u64, size: u64) {
    HEAP.with(|talc| {
        let start = start as usize;
        let size = size as usize;
        talc.oom_handler.limit = start.saturating_add(size);
        if start == 0 || size < PAGE {
            // No usable heap: everything will come from chunks.
            talc.oom_handler.limit = 0;
            return;
        }
        let first = PIECE.min(size);
        let base = start as *mut u8;
        // Safety: the kernel maps [start, start + size) as this process's heap; nothing else uses
        // it, and `first <= size`.
        unsafe { prefault(base, first) };
        // Safety: the span lies in the heap, is written, and no other talc heap overlaps it.
        if let Ok(span) = unsafe { talc.claim(Span::from_base_size(base, first)) } {
            talc.oom_handler.heap = span;
        }
    });
}

/// The heap's figures: bytes handed out and not yet freed, and bytes given to talc (the heap's
/// written pieces and any chunks past it), as [`Heap`] and [`Grower`] count them (talc's own
/// `counters` feature counts much more, in every allocation, for more code in every program).
pub(super) fn stats() -> (u64, u64) {
    HEAP.with(|talc| {
        let g = &talc.oom_handler;
        (g.allocated as u64, (g.heap.size() + g.chunks) as u64)
    })
}

/// Writes one byte in each page of `[base, base + len)`, so that later reads are safe.
///
/// # Safety
/// The range must be memory of this process that nothing is using (its contents are lost).
unsafe fn prefault(base: *mut u8, len: usize) {
    let mut off = 0;
    while off < len {
        // Safety: inside the range (caller's contract). Volatile: the write is the point, even
        // though nothing reads the byte back.
        unsafe { base.add(off).write_volatile(0) };
        off += PAGE;
    }
}

/// talc's OOM handler: grows the heap piece by piece, then claims chunks.
struct Grower {
    /// The heap span talc manages (empty until `init` claims the first piece).
    heap: Span,
    /// The end of the kernel's heap region (0 when there is none).
    limit: usize,
    /// Bytes of the chunks claimed past the heap.
    chunks: usize,
    /// Bytes handed out and not freed (the requested sizes: [`stats`]).
    allocated: usize,
}

impl Grower {
    /// Extends the heap by up to `step` bytes (at most to `limit`). Returns the bytes added.
    fn extend_heap(talc: &mut Talc<Grower>, step: usize) -> usize {
        let g = &talc.oom_handler;
        let Some((base, acme)) = g.heap.get_base_acme() else {
            return 0;
        };
        let room = g.limit.saturating_sub(acme as usize);
        let step = step.min(room);
        if step < PAGE {
            return 0;
        }
        // Safety: [acme, acme + step) is the unused rest of the kernel's heap, below `limit`.
        unsafe { prefault(acme, step) };
        let old = g.heap;
        // Safety: `old` is what talc returned for this heap; the wider span is written memory of
        // this process that nothing else uses.
        let new = unsafe { talc.extend(old, Span::new(base, acme.add(step))) };
        talc.oom_handler.heap = new;
        new.size() - old.size()
    }
}

impl OomHandler for Grower {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let want = layout
            .size()
            .checked_add(layout.align())
            .and_then(|n| n.checked_add(SLACK))
            .ok_or(())?;
        let step = want.max(PIECE).checked_next_multiple_of(PAGE).ok_or(())?;
        let room = talc.oom_handler.limit.saturating_sub(
            talc.oom_handler
                .heap
                .get_base_acme()
                .map_or(0, |(_, a)| a as usize),
        );
        if room >= want {
            if Grower::extend_heap(talc, step) > 0 {
                return Ok(());
            }
        } else if room >= PAGE {
            // Too little heap left for this request: still take the rest for later ones.
            Grower::extend_heap(talc, room);
        }
        let size = want
            .max(MIN_CHUNK)
            .checked_next_multiple_of(PAGE)
            .ok_or(())?;
        let chunk = MemoryChunk::alloc(size).map_err(|_| ())?;
        let len = chunk.len();
        let base = chunk.into_raw() as *mut u8;
        talc.oom_handler.chunks += len;
        // Safety: the chunk is ours for good (into_raw), mapped for `len` bytes, all written.
        unsafe { talc.claim(Span::from_base_size(base, len)) }.map(|_| ())
    }
}

/// talc behind a lock that yields while contended.
struct Heap {
    /// 0 when free, else the holder's stack slot + 1 (`usize::MAX` outside any slot).
    owner: AtomicUsize,
    talc: UnsafeCell<Talc<Grower>>,
}

// Safety: `talc` is only reached through `with`, which holds `owner` exclusively.
unsafe impl Sync for Heap {}

impl Heap {
    const fn new() -> Heap {
        Heap {
            owner: AtomicUsize::new(0),
            talc: UnsafeCell::new(Talc::new(Grower {
                heap: Span::empty(),
                limit: 0,
                chunks: 0,
                allocated: 0,
            })),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Talc<Grower>) -> R) -> R {
        let me = super::current_stack_slot().map_or(usize::MAX, |s| s + 1);
        loop {
            match self
                .owner
                .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(holder) if holder == me && me != usize::MAX => super::abort_process(
                    "allocator re-entered by the thread holding it; thread ended\n",
                ),
                Err(_) => libeurali::yield_now(),
            }
        }
        // Safety: the compare-exchange above made this thread the only holder.
        let r = f(unsafe { &mut *self.talc.get() });
        self.owner.store(0, Ordering::Release);
        r
    }
}

// Safety: talc returns blocks of at least the requested size and alignment that no other live
// block overlaps; the lock serialises every call.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.with(|t| {
            // Safety: GlobalAlloc is never called with a zero size.
            let p = unsafe { t.malloc(layout) }.ok()?;
            t.oom_handler.allocated += layout.size();
            Some(p.as_ptr())
        })
        .unwrap_or(ptr::null_mut())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.with(|t| {
            t.oom_handler.allocated -= layout.size();
            // Safety: the caller passes a block this allocator gave out with this layout.
            unsafe { t.free(NonNull::new_unchecked(ptr), layout) }
        })
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Safety: as for dealloc; a block is never null.
        let block = unsafe { NonNull::new_unchecked(ptr) };
        if new_size <= layout.size() {
            if new_size < layout.size() {
                self.with(|t| {
                    t.oom_handler.allocated -= layout.size() - new_size;
                    // Safety: `new_size` is non-zero (GlobalAlloc contract) and smaller.
                    unsafe { t.shrink(block, layout, new_size) }
                });
            }
            return ptr;
        }
        self.with(|t| {
            // Safety: the block is ours with this layout and `new_size` is larger.
            let p = unsafe { t.grow(block, layout, new_size) }.ok()?;
            t.oom_handler.allocated += new_size - layout.size();
            Some(p.as_ptr())
        })
        .unwrap_or(ptr::null_mut())
    }
}
