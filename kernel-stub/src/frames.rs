//! A model of Merriwig's frame accounting, to count what the real kernel's frame allocator would
//! do (ABI §9.23): which system calls and process events take frames, which give them back, and
//! how many of those returns would take the allocator's broken overflow path.
//!
//! The real allocator (`kernel/src/memory/frame_allocator.rs`, `MultilevelBitmapFrameAllocator`)
//! keeps free frames in a bitmap (1 = free, 32 frames per word) and a stack of up to 32 frame
//! numbers. An allocation pops the stack; an empty stack is first refilled with *every* free frame
//! of the lowest bitmap word that has one (so it usually holds 31 after the pop). A return pushes
//! onto the stack while it holds fewer than 32; otherwise it sets a bit in the bitmap, but at word
//! `frame_number` instead of `frame_number >> 5`: a bit flipped in kernel memory. [`FrameModel`]
//! runs the same allocator (bitmap words, stack and refill order) over the frame numbers of a
//! 128 MiB machine and counts every return that finds the stack full; the frame is then lost to
//! the model (on the kernel it is marked free in the wrong word, which is the corruption).
//!
//! What takes frames, in the kernel's order (`process.rs`, `memory.rs`):
//! - a new process (exec, and init): a copy of the kernel's page tables
//!   ([`Costs::kernel_tables`]), a page table for the KernelInfo page, the heap's on-demand
//!   mapping (its one frame plus the L3, L2 and two L1 tables of its 4 MiB), every page of every
//!   ELF segment with the L1 tables they need, and the L1 table of the stack area;
//! - a thread (the first one and each fork_thread): its stack's one frame;
//! - touched on-demand pages: [`Costs::heap_pages`] heap pages per process and
//!   [`Costs::stack_pages`] - 1 more stack pages per thread, charged when the process or thread
//!   starts (the stub cannot see a write to the heap or the stack);
//! - malloc: a lazy chunk's one frame, its L2 table and one L1 table per 512 pages, plus its
//!   other pages as if all were written at once (every eurali chunk carries data it was sized
//!   for, but for a ramdisk's arena chunks, filled block by block as its files grow: the model
//!   counts up to one of them, a sixteenth of the ramdisk or 1 MiB, more than there is); a
//!   contiguous chunk takes its pages from the bitmap directly (not the stack), then its
//!   tables.
//!
//! What gives them back: free of a chunk (its pages and tables), a thread's exit (its stack
//! frames), and a process's end (everything above, plus every chunk it holds, in one burst).
//! A chunk moved in a message keeps its frames; a chunk lost on delivery (no free slot) or
//! dropped with an undelivered message is never freed by the kernel and never returned here.
//!
//! The model also counts stack slots: the kernel's `free_user_stack` leaves a dead thread's
//! page-table entries non-zero, so `allocate_user_stack` (which looks for `is_unused` entries)
//! never gives a slot out again: a process can create 64 threads in its whole life.

use std::collections::HashMap;

/// Frames of the region the allocator manages on a 128 MiB QEMU machine (the second usable
/// region of the BIOS map, from just above the kernel to 0x7FE_0000; ABI §7).
pub const MODEL_FRAMES: u32 = 30_000;
/// The allocator's stack (`FRAME_ALLOCATOR_STACK_SIZE`).
pub const STACK_SIZE: usize = 32;

/// Estimates the model needs where the stub cannot see the kernel's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Page-table frames a new process's copy of the kernel's tables takes
    /// (`copy_pagetables`: the L4 and every non-leaf table below it).
    pub kernel_tables: u64,
    /// Heap pages a process writes (charged at its start).
    pub heap_pages: u64,
    /// Stack pages a thread writes, its first one included (charged at its start).
    pub stack_pages: u64,
    /// ELF pages of a program whose image the stub does not have (in-process programs whose
    /// freestanding ELF was not built).
    pub default_image_pages: u64,
}

impl Default for Costs {
    fn default() -> Self {
        Costs {
            kernel_tables: 12,
            heap_pages: 24,
            stack_pages: 3,
            default_image_pages: 64,
        }
    }
}

/// Why frames went back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    ChunkFree,
    ThreadExit,
    ProcessExit,
}

/// One process's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    pub name: String,
    pub returned: u64,
    pub overflow: u64,
}

/// Counts since the model started (or since [`FrameModel::reset_counts`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub allocs: u64,
    pub returns: u64,
    /// Returns that found the stack full: the kernel's bad path.
    pub overflow: u64,
    pub returns_chunk_free: u64,
    pub returns_thread_exit: u64,
    pub returns_process_exit: u64,
    pub overflow_chunk_free: u64,
    pub overflow_thread_exit: u64,
    pub overflow_process_exit: u64,
    /// Allocations that found no frame (the kernel fails the call, or panics for a table).
    pub out_of_frames: u64,
    /// fork_thread calls the kernel would refuse because the process has used all 64 stack
    /// slots in its life (the stub allows them while threads are alive and fewer than 64).
    pub slot_refusals: u64,
    /// Processes that ended, with what each returned.
    pub exits: Vec<Exit>,
    /// Chunk frees by process name: how many, and the frames they returned.
    pub frees_by_process: std::collections::BTreeMap<String, (u64, u64)>,
    /// Thread ends (not a process's last) by process name: how many, and the frames returned.
    pub thread_exits_by_process: std::collections::BTreeMap<String, (u64, u64)>,
    pub processes_started: u64,
    pub threads_started: u64,
}

impl FrameStats {
    /// Frames returned by everything but the process named `process` (its chunk frees and
    /// thread ends left out; tests leave out the stub's own boot process, which stands for the
    /// boot loader and the host's devices).
    pub fn returned_except(&self, process: &str) -> u64 {
        let theirs: u64 = [&self.frees_by_process, &self.thread_exits_by_process]
            .iter()
            .filter_map(|m| m.get(process))
            .map(|&(_, frames)| frames)
            .sum();
        self.returns - theirs
    }

    /// One line for the system log and test failures.
    pub fn summary(&self) -> String {
        format!(
            "frames: {} taken, {} returned ({} by chunk free, {} by thread exit, {} by process exit), \
             {} overflow returns ({} chunk free, {} thread exit, {} process exit); {} processes ended; \
             {} thread starts refused for used-up stack slots",
            self.allocs,
            self.returns,
            self.returns_chunk_free,
            self.returns_thread_exit,
            self.returns_process_exit,
            self.overflow,
            self.overflow_chunk_free,
            self.overflow_thread_exit,
            self.overflow_process_exit,
            self.exits.len(),
            self.slot_refusals
        )
    }
}

#[derive(Debug, Default)]
struct ProcFrames {
    name: String,
    /// Frames of the process itself: tables, ELF pages, heap (not stacks, not chunks).
    own: Vec<u32>,
    /// Stack slots used so far (never given back by the kernel).
    slots_used: u64,
}

/// The allocator and who holds which frame.
#[derive(Debug)]
pub struct FrameModel {
    costs: Costs,
    /// Level-0 bitmap: bit set = free.
    bitmap: Vec<u32>,
    stack: Vec<u32>,
    procs: HashMap<u64, ProcFrames>,
    /// Stack frames by thread.
    threads: HashMap<u64, (u64, Vec<u32>)>,
    /// Chunk frames by (process, slot).
    chunks: HashMap<(u64, usize), Vec<u32>>,
    /// ELF pages (with their L1 tables) by program name.
    images: HashMap<String, u64>,
    stats: FrameStats,
}

impl Default for FrameModel {
    fn default() -> Self {
        FrameModel::new(Costs::default())
    }
}

/// Pages and L1 tables of an ELF's PT_LOAD segments, as `allocate_pages` maps them.
pub fn image_frames(elf: &[u8]) -> Option<u64> {
    let image = libeurali::elf::parse(elf).ok()?;
    let mut pages = std::collections::BTreeSet::new();
    for l in image.loads() {
        if let Some((first, last)) = l.pages() {
            pages.extend(first..=last);
        }
    }
    let tables: std::collections::BTreeSet<u64> = pages.iter().map(|p| p / 512).collect();
    Some(pages.len() as u64 + tables.len() as u64)
}

/// The ELF costs of the freestanding build's programs (`EURALI_ELF_DIR`, else the workspace's
/// `target/eurali/bin`), read once: in-process programs run host code, but the real kernel would
/// map these ELFs. Empty when the freestanding build was not made (each program then costs
/// [`Costs::default_image_pages`]).
pub fn built_images() -> &'static [(String, u64)] {
    static IMAGES: std::sync::OnceLock<Vec<(String, u64)>> = std::sync::OnceLock::new();
    IMAGES.get_or_init(|| {
        let dir = std::env::var_os("EURALI_ELF_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/eurali/bin")
            });
        let mut v = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if let Ok(bytes) = std::fs::read(e.path())
                    && let Some(f) = image_frames(&bytes)
                {
                    v.push((name, f));
                }
            }
        }
        v
    })
}

impl FrameModel {
    pub fn new(costs: Costs) -> FrameModel {
        let words = MODEL_FRAMES.div_ceil(32) as usize;
        let mut bitmap = vec![u32::MAX; words];
        let extra = MODEL_FRAMES % 32;
        if extra != 0 {
            bitmap[words - 1] = u32::MAX >> (32 - extra);
        }
        // The bitmap's own frame is taken at init.
        bitmap[0] &= !1;
        FrameModel {
            costs,
            bitmap,
            stack: Vec::with_capacity(STACK_SIZE),
            procs: HashMap::new(),
            threads: HashMap::new(),
            chunks: HashMap::new(),
            images: HashMap::new(),
            stats: FrameStats::default(),
        }
    }

    /// Records the ELF cost of a program by name (for in-process programs, whose exec carries
    /// only a name).
    pub fn set_image(&mut self, name: &str, frames: u64) {
        self.images.insert(name.to_string(), frames);
    }

    pub fn stats(&self) -> &FrameStats {
        &self.stats
    }

    /// Starts the counts afresh (the allocator's state stays).
    pub fn reset_counts(&mut self) {
        self.stats = FrameStats::default();
    }

    /// Frames on the allocator's stack now.
    pub fn stack_level(&self) -> usize {
        self.stack.len()
    }

    // ----- the allocator --------------------------------------------------------------------------

    fn alloc(&mut self) -> Option<u32> {
        if self.stack.is_empty() {
            let w = self.bitmap.iter().position(|&w| w != 0)?;
            let mut bits = self.bitmap[w];
            while bits != 0 {
                let i = bits.trailing_zeros();
                bits &= !(1 << i);
                self.stack.push(w as u32 * 32 + i);
            }
            self.bitmap[w] = 0;
        }
        let f = self.stack.pop();
        if f.is_some() {
            self.stats.allocs += 1;
        } else {
            self.stats.out_of_frames += 1;
        }
        f
    }

    fn alloc_n(&mut self, n: u64, into: &mut Vec<u32>) {
        for _ in 0..n {
            if let Some(f) = self.alloc() {
                into.push(f);
            }
        }
    }

    /// `consecutive_frames`: the first run of `n` free bits in the bitmap (the stack is not
    /// looked at).
    fn alloc_consecutive(&mut self, n: u64, into: &mut Vec<u32>) -> bool {
        let n = n as u32;
        let total = self.bitmap.len() as u32 * 32;
        let mut run = 0;
        for f in 0..total {
            if self.bitmap[(f / 32) as usize] & (1 << (f % 32)) != 0 {
                run += 1;
                if run == n {
                    let start = f + 1 - n;
                    for g in start..=f {
                        self.bitmap[(g / 32) as usize] &= !(1 << (g % 32));
                        into.push(g);
                    }
                    self.stats.allocs += n as u64;
                    return true;
                }
            } else {
                run = 0;
            }
        }
        self.stats.out_of_frames += 1;
        false
    }

    /// Counts a chunk free or a thread end of `pid` returning `frames`, by process name.
    fn tally(&mut self, pid: u64, frames: usize, cause: Cause) {
        let name = self
            .procs
            .get(&pid)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let by = match cause {
            Cause::ThreadExit => &mut self.stats.thread_exits_by_process,
            _ => &mut self.stats.frees_by_process,
        };
        let e = by.entry(name).or_default();
        e.0 += 1;
        e.1 += frames as u64;
    }

    /// Gives frames back one by one; returns how many took the overflow path.
    fn give_back(&mut self, frames: Vec<u32>, cause: Cause) -> u64 {
        let mut overflow = 0;
        let n = frames.len() as u64;
        for f in frames {
            if self.stack.len() < STACK_SIZE {
                self.stack.push(f);
            } else {
                overflow += 1;
            }
        }
        let s = &mut self.stats;
        s.returns += n;
        s.overflow += overflow;
        match cause {
            Cause::ChunkFree => {
                s.returns_chunk_free += n;
                s.overflow_chunk_free += overflow;
            }
            Cause::ThreadExit => {
                s.returns_thread_exit += n;
                s.overflow_thread_exit += overflow;
            }
            Cause::ProcessExit => {
                s.returns_process_exit += n;
                s.overflow_process_exit += overflow;
            }
        }
        overflow
    }

    // ----- events ---------------------------------------------------------------------------------

    /// A new process (exec or init) whose ELF maps `image` frames (pages and L1 tables), or the
    /// recorded cost of program `name`.
    pub fn process_started(&mut self, pid: u64, name: &str, image: Option<u64>) {
        let image = image
            .or_else(|| self.images.get(name).copied())
            .unwrap_or(self.costs.default_image_pages);
        let mut own = Vec::new();
        // copy_pagetables, then the KernelInfo page's L1 table.
        self.alloc_n(self.costs.kernel_tables + 1, &mut own);
        // The heap: one frame, then its L3, L2 and two L1 tables.
        self.alloc_n(5, &mut own);
        self.alloc_n(image, &mut own);
        // allocate_user_stack's L1 table for the stack area.
        self.alloc_n(1, &mut own);
        // Heap pages written (the first one is the frame above).
        self.alloc_n(self.costs.heap_pages.saturating_sub(1), &mut own);
        self.stats.processes_started += 1;
        self.procs.insert(
            pid,
            ProcFrames {
                name: name.to_string(),
                own,
                slots_used: 0,
            },
        );
    }

    /// A thread of `pid` starts (the first one too). `false` if the kernel would refuse it
    /// because the process has used all 64 stack slots.
    pub fn thread_started(&mut self, pid: u64, tid: u64) -> bool {
        let refused = match self.procs.get_mut(&pid) {
            Some(p) => {
                p.slots_used += 1;
                p.slots_used > libeurali::abi::layout::MAX_THREADS as u64
            }
            None => false,
        };
        if refused {
            self.stats.slot_refusals += 1;
        }
        let mut frames = Vec::new();
        self.alloc_n(self.costs.stack_pages.max(1), &mut frames);
        self.stats.threads_started += 1;
        self.threads.insert(tid, (pid, frames));
        !refused
    }

    /// A thread that is not its process's last ends: its stack frames go back.
    pub fn thread_ended(&mut self, tid: u64) {
        if let Some((pid, frames)) = self.threads.remove(&tid) {
            self.tally(pid, frames.len(), Cause::ThreadExit);
            self.give_back(frames, Cause::ThreadExit);
        }
    }

    /// A process ends with its last thread `tid`: that thread's stack, then every frame of the
    /// process and of every chunk it holds, in one burst.
    pub fn process_ended(&mut self, pid: u64, tid: u64) {
        let mut frames = self.threads.remove(&tid).map(|t| t.1).unwrap_or_default();
        // Threads of the process the stub never saw end (a stopped system).
        let stale: Vec<u64> = self
            .threads
            .iter()
            .filter(|(_, (p, _))| *p == pid)
            .map(|(&t, _)| t)
            .collect();
        for t in stale {
            if let Some((_, f)) = self.threads.remove(&t) {
                frames.extend(f);
            }
        }
        let p = self.procs.remove(&pid).unwrap_or_default();
        frames.extend(p.own);
        let slots: Vec<(u64, usize)> = self
            .chunks
            .keys()
            .filter(|(q, _)| *q == pid)
            .copied()
            .collect();
        for k in slots {
            if let Some(f) = self.chunks.remove(&k) {
                frames.extend(f);
            }
        }
        let returned = frames.len() as u64;
        let overflow = self.give_back(frames, Cause::ProcessExit);
        self.stats.exits.push(Exit {
            name: p.name,
            returned,
            overflow,
        });
    }

    /// malloc of `pages` in slot `slot` of `pid`, lazy or contiguous.
    pub fn chunk_allocated(&mut self, pid: u64, slot: usize, pages: u64, contiguous: bool) {
        let mut frames = Vec::new();
        let tables = 1 + pages.div_ceil(512);
        if contiguous {
            self.alloc_consecutive(pages, &mut frames);
            self.alloc_n(tables, &mut frames);
        } else {
            // The owner frame, the tables map_to makes, then the pages written.
            self.alloc_n(1, &mut frames);
            self.alloc_n(tables, &mut frames);
            self.alloc_n(pages - 1, &mut frames);
        }
        self.chunks.insert((pid, slot), frames);
    }

    /// free of the chunk in `slot` of `pid`.
    pub fn chunk_freed(&mut self, pid: u64, slot: usize) {
        if let Some(frames) = self.chunks.remove(&(pid, slot)) {
            self.tally(pid, frames.len(), Cause::ChunkFree);
            self.give_back(frames, Cause::ChunkFree);
        }
    }

    /// A chunk leaves `pid`'s slot in a message: its frames travel with it.
    pub fn chunk_taken(&mut self, pid: u64, slot: usize) -> Vec<u32> {
        self.chunks.remove(&(pid, slot)).unwrap_or_default()
    }

    /// A chunk arrives in `slot` of `pid`.
    pub fn chunk_placed(&mut self, pid: u64, slot: usize, frames: Vec<u32>) {
        if !frames.is_empty() {
            self.chunks.insert((pid, slot), frames);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> FrameModel {
        FrameModel::new(Costs {
            kernel_tables: 12,
            heap_pages: 1,
            stack_pages: 1,
            default_image_pages: 10,
        })
    }

    #[test]
    fn an_empty_stack_is_refilled_with_a_whole_word() {
        let mut m = model();
        // Word 0 lost its first frame to the bitmap: 31 go on the stack, one is popped.
        let mut v = Vec::new();
        m.alloc_n(1, &mut v);
        assert_eq!(m.stack_level(), 30);
        m.alloc_n(30, &mut v);
        assert_eq!(m.stack_level(), 0);
        m.alloc_n(1, &mut v);
        assert_eq!(m.stack_level(), 31, "a full word refills 32, one is taken");
        assert_eq!(v[31], 63, "a refill is popped highest-numbered first");
    }

    #[test]
    fn returns_past_32_take_the_overflow_path() {
        let mut m = model();
        let mut v = Vec::new();
        m.alloc_n(32, &mut v); // 31 from word 0, then a refill from word 1: stack 31
        assert_eq!(m.stack_level(), 31);
        let first: Vec<u32> = v.drain(..3).collect();
        assert_eq!(m.give_back(first, Cause::ChunkFree), 2);
        assert_eq!(m.stats().overflow, 2);
        assert_eq!(m.stats().overflow_chunk_free, 2);
    }

    #[test]
    fn malloc_and_free_of_one_page_overflow_when_a_refill_falls_between() {
        // A one-page chunk is three frames (its page, its L2 and L1 tables). Alone, the churn
        // settles with the stack full and costs nothing more...
        let mut m = model();
        for _ in 0..1000 {
            m.chunk_allocated(1, 1, 1, false);
            m.chunk_freed(1, 1);
        }
        assert!(m.stats().overflow <= 2, "{:?}", m.stats());
        // ...but other allocations in between (a heap growing, a thread starting) bring a refill
        // inside the three allocations, and the three returns then find only one place.
        let mut m = model();
        for i in 0..1000 {
            m.chunk_allocated(1, 1, 1, false);
            m.chunk_freed(1, 1);
            if i % 7 == 0 {
                let mut v = Vec::new();
                m.alloc_n(5, &mut v);
            }
        }
        assert!(m.stats().overflow > 20, "{:?}", m.stats());
    }

    #[test]
    fn a_process_end_returns_everything_in_one_burst() {
        let mut m = model();
        m.process_started(7, "p", Some(40));
        assert!(m.thread_started(7, 70));
        assert!(m.thread_started(7, 71));
        m.chunk_allocated(7, 1, 4, false);
        m.thread_ended(71);
        let before = m.stats().returns;
        m.process_ended(7, 70);
        let s = m.stats();
        // 13 + 5 + 40 + 1 tables and pages, 1 stack frame, 4 + 2 chunk frames.
        assert_eq!(s.returns - before, 13 + 5 + 40 + 1 + 1 + 6);
        assert_eq!(s.exits.len(), 1);
        assert!(s.exits[0].overflow > 0, "{s:?}");
    }

    #[test]
    fn chunks_keep_their_frames_across_processes() {
        let mut m = model();
        m.chunk_allocated(1, 1, 3, false);
        let f = m.chunk_taken(1, 1);
        assert_eq!(f.len(), 3 + 2);
        m.chunk_placed(2, 5, f);
        m.chunk_freed(1, 1);
        assert_eq!(m.stats().returns, 0);
        m.chunk_freed(2, 5);
        assert_eq!(m.stats().returns, 5);
    }

    #[test]
    fn stack_slots_are_never_given_out_twice() {
        let mut m = model();
        m.process_started(1, "p", None);
        for t in 0..64 {
            assert!(m.thread_started(1, t));
            m.thread_ended(t);
        }
        assert!(!m.thread_started(1, 99));
        assert_eq!(m.stats().slot_refusals, 1);
    }

    #[test]
    fn contiguous_chunks_come_from_the_bitmap() {
        let mut m = model();
        let mut v = Vec::new();
        m.alloc_n(1, &mut v);
        let level = m.stack_level();
        m.chunk_allocated(1, 1, 4, true);
        // The pages come from the bitmap; the 2 tables from the stack.
        assert_eq!(m.stack_level(), level - 2);
    }
}
