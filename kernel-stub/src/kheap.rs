//! A model of the real kernel's own heap: 1 MiB, first fit (`linked_list_allocator` 0.10:
//! blocks rounded up to 8 bytes, 16 at least; a hole is used whole or split with 16 bytes or
//! more left; freed blocks merge with their neighbours), holding what decides whether exec can
//! copy a program through it (ABI §4.5; docs/design.md, "The kernel's heap"):
//!
//! - every thread's 8 KiB kernel stack, from its start to its end (host threads run as
//!   processes, which stand for the boot loader, are left out);
//! - exec's copy of the ELF, taken after the parameter string is read and before the new
//!   thread's stack, freed once the process is made (the file's real length: in-process
//!   programs are named by a descriptor, so their length is that of the freestanding build's
//!   ELF, `target/eurali/bin`, or [`DEFAULT_ELF`] without one);
//! - a mount path of [`LONG_PATH`] bytes or more (the heap fence): exec gathers it into a
//!   vector that doubles, keeps an exact copy in the mount table and frees the vector; the copy
//!   goes with the mount.
//!
//! By default the model only records: the stub's own boot (its init, devices and servers) is
//! not the real kernel's, and some tests go past what the real kernel could hold on purpose (a
//! fork bomb, 120 `passwd` at once). [`KernelHeap::enforce`] (`Kernel::enforce_kernel_heap`, or
//! `EURALI_KERNEL_HEAP=enforce` in the stub's environment) makes exec refuse as the kernel does;
//! `tests/metal.rs`, which boots init's real-kernel path, does so.
//!
//! Left out: the kernel's small objects (thread and process records, rendezvous, handle tables,
//! short mount paths, args and env), charged as one block of [`KERNEL_OWN`] at the bottom. The
//! figure that matters is the largest free piece at each exec against the file it copies; the
//! stub counts execs refused for it (error 9, as the kernel) and stacks it could not place (the
//! kernel panics).

use std::collections::{BTreeMap, HashMap};

/// The heap's size.
pub const HEAP: u64 = 1 << 20;
/// A kernel stack.
pub const KERNEL_STACK: u64 = 8192;
/// What the model charges for the kernel's own objects. Calibrated on the stock kernel: at
/// eurali's login prompt, 585 KiB free with 52 threads (gdb on the allocator's free list).
pub const KERNEL_OWN: u64 = 32 * 1024;
/// Mount paths this long or longer are modelled.
pub const LONG_PATH: usize = 4096;
/// The length charged for a program whose freestanding ELF is not built.
pub const DEFAULT_ELF: u64 = 64 * 1024;

/// The file length exec would copy for program `name`: its freestanding ELF's
/// (`EURALI_ELF_DIR`, else the workspace's `target/eurali/bin`; the shell's file is `shell`,
/// its program `sh`; a packed one's head), or [`DEFAULT_ELF`].
pub fn built_len(name: &str) -> u64 {
    static LENS: std::sync::OnceLock<HashMap<String, u64>> = std::sync::OnceLock::new();
    let lens = LENS.get_or_init(|| {
        let dir = std::env::var_os("EURALI_ELF_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/eurali/bin")
            });
        let mut m = HashMap::new();
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            // A packed program is exec'd as its head, the payload sent after it
            // (`libeurali::sfx::split`): the copy is the head's.
            if let (Some(n), Ok(bytes)) = (
                e.file_name().to_str().map(str::to_string),
                std::fs::read(e.path()),
            ) {
                let len = libeurali::sfx::split(&bytes).map_or(bytes.len(), |(head, _)| head.len());
                m.insert(n, len as u64);
            }
        }
        m
    });
    lens.get(name).copied().unwrap_or(DEFAULT_ELF)
}

/// What the model has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    pub free: u64,
    pub largest_free: u64,
    /// Execs refused because no free piece held the copy.
    pub exec_refused: u64,
    /// Kernel stacks that found no room (the real kernel panics).
    pub stack_failures: u64,
    /// The smallest `largest free piece - file length` any exec saw (`i64::MAX` before one).
    pub least_room: i64,
    pub execs: u64,
}

/// The model.
#[derive(Debug)]
pub struct KernelHeap {
    /// Free pieces: start -> length.
    holes: BTreeMap<u64, u64>,
    stacks: HashMap<u64, (u64, u64)>,
    /// Long mount paths by their text: where each copy lies.
    paths: HashMap<String, Vec<(u64, u64)>>,
    stats: HeapStats,
    /// Exec fails when the copy finds no room (else it is only counted).
    pub enforce: bool,
}

impl Default for KernelHeap {
    fn default() -> Self {
        Self::new()
    }
}

fn block(size: u64) -> u64 {
    size.max(16).div_ceil(8) * 8
}

impl KernelHeap {
    pub fn new() -> KernelHeap {
        let mut h = KernelHeap {
            holes: BTreeMap::from([(0, HEAP)]),
            stacks: HashMap::new(),
            paths: HashMap::new(),
            stats: HeapStats {
                least_room: i64::MAX,
                ..HeapStats::default()
            },
            enforce: std::env::var("EURALI_KERNEL_HEAP").is_ok_and(|v| v == "enforce"),
        };
        h.alloc(KERNEL_OWN);
        h
    }

    /// First fit; the block's start, or `None`.
    fn alloc(&mut self, size: u64) -> Option<(u64, u64)> {
        let size = block(size);
        let (&at, &len) = self
            .holes
            .iter()
            .find(|&(_, &len)| len == size || len >= size + 16)?;
        self.holes.remove(&at);
        if len > size {
            self.holes.insert(at + size, len - size);
        }
        Some((at, size))
    }

    fn free(&mut self, (mut at, mut size): (u64, u64)) {
        if let Some((&next, &len)) = self.holes.range(at + size..).next()
            && next == at + size
        {
            self.holes.remove(&next);
            size += len;
        }
        if let Some((&prev, &len)) = self.holes.range(..at).next_back()
            && prev + len == at
        {
            self.holes.remove(&prev);
            at = prev;
            size += len;
        }
        self.holes.insert(at, size);
    }

    pub fn largest_free(&self) -> u64 {
        self.holes.values().copied().max().unwrap_or(0)
    }

    pub fn stats(&self) -> HeapStats {
        HeapStats {
            free: self.holes.values().sum(),
            largest_free: self.largest_free(),
            ..self.stats
        }
    }

    /// A thread starts: its kernel stack.
    pub fn thread_started(&mut self, tid: u64) {
        match self.alloc(KERNEL_STACK) {
            Some(b) => {
                self.stacks.insert(tid, b);
            }
            None => self.stats.stack_failures += 1,
        }
    }

    /// A thread ends: its stack is freed.
    pub fn thread_ended(&mut self, tid: u64) {
        if let Some(b) = self.stacks.remove(&tid) {
            self.free(b);
        }
    }

    /// The vector exec gathers a path of `len` bytes into: capacity doubling from 8, each step
    /// freeing the one before.
    fn gather(&mut self, len: usize) -> Option<(u64, u64)> {
        let mut cap = 8u64;
        let mut v = self.alloc(cap);
        while cap < len as u64 {
            cap *= 2;
            let next = self.alloc(cap);
            if let Some(b) = v {
                self.free(b);
            }
            v = next;
        }
        v
    }

    /// Exec reads a mount path into the mount table it is building (as trimmed).
    pub fn path_mounted(&mut self, path: &str) {
        if path.len() < LONG_PATH {
            return;
        }
        let v = self.gather(path.len());
        let kept = self.alloc(path.len() as u64);
        if let Some(b) = v {
            self.free(b);
        }
        if let Some(b) = kept {
            self.paths.entry(path.to_string()).or_default().push(b);
        }
    }

    /// Exec reads a `-` item's path (gathered as a mount path is) and removes that mount.
    pub fn path_unmounted_by_exec(&mut self, path: &str) {
        if path.len() < LONG_PATH {
            return;
        }
        let v = self.gather(path.len());
        self.path_removed(path);
        if let Some(b) = v {
            self.free(b);
        }
    }

    /// A mount path leaves a table (umount, or the table is dropped).
    pub fn path_removed(&mut self, path: &str) {
        if path.len() < LONG_PATH {
            return;
        }
        if let Some(v) = self.paths.get_mut(path)
            && let Some(b) = v.pop()
        {
            self.free(b);
        }
    }

    /// Exec's copy of the file: the block to hand back to [`KernelHeap::copy_done`] (`None`
    /// if it found no room and the model only records), or `Err` when exec must fail (error 9).
    #[allow(clippy::result_unit_err)]
    pub fn copy_taken(&mut self, len: u64) -> Result<Option<(u64, u64)>, ()> {
        self.stats.execs += 1;
        let room = self.largest_free() as i64 - block(len) as i64;
        self.stats.least_room = self.stats.least_room.min(room);
        let b = self.alloc(len);
        if b.is_none() {
            self.stats.exec_refused += 1;
            if self.enforce {
                return Err(());
            }
        }
        Ok(b)
    }

    pub fn copy_done(&mut self, b: Option<(u64, u64)>) {
        if let Some(b) = b {
            self.free(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_splits_and_merges() {
        let mut h = KernelHeap::new();
        let all = h.largest_free();
        assert_eq!(all, HEAP - KERNEL_OWN);
        h.thread_started(1);
        h.thread_started(2);
        assert_eq!(h.largest_free(), all - 2 * KERNEL_STACK);
        h.thread_ended(1);
        // A hole of one stack below the second: the next stack goes there.
        assert_eq!(h.stats().free, all - KERNEL_STACK);
        h.thread_started(3);
        assert_eq!(h.largest_free(), all - 2 * KERNEL_STACK);
        h.thread_ended(2);
        h.thread_ended(3);
        assert_eq!(h.largest_free(), all);
    }

    /// What broke login on the real kernel: a stack taken while the copy is held lands above
    /// it and splits the heap once the copy is freed. One long mount path does not help in a
    /// heap without small holes (its copy takes the hole its vector's growth left); the heap
    /// fence's two, the first removed again, put the stack below the copy.
    #[test]
    fn a_stack_taken_during_exec_splits_the_heap_unless_fenced() {
        let path = |c: char| format!("/.eurali/fence-{c}") + &"f".repeat(8192 - 16);
        let exec = |h: &mut KernelHeap, fence: usize| {
            let (a, b) = (path('a'), path('b'));
            if fence >= 1 {
                h.path_mounted(&a);
            }
            if fence == 2 {
                h.path_mounted(&b);
                h.path_unmounted_by_exec(&a);
            }
            let copy = h.copy_taken(200 * 1024).unwrap();
            assert!(copy.is_some());
            h.thread_started(1);
            h.copy_done(copy);
            h.path_removed(&a);
            h.path_removed(&b);
        };
        for (fence, split) in [(0, true), (1, true), (2, false)] {
            let mut h = KernelHeap::new();
            let all = h.largest_free();
            exec(&mut h, fence);
            let whole = h.largest_free() == all - KERNEL_STACK;
            assert_eq!(whole, !split, "fence items {fence}: {:?}", h.holes);
        }
        // Small holes low in the heap, none of 8 KiB: the fence still works.
        let mut h = KernelHeap::new();
        let small: Vec<_> = (0..300)
            .map(|i| h.alloc(16 + 8 * (i % 13)).unwrap())
            .collect();
        for b in small.iter().step_by(2) {
            h.free(*b);
        }
        let before = h.largest_free();
        exec(&mut h, 2);
        assert_eq!(h.largest_free(), before - KERNEL_STACK);

        assert_eq!(h.stats().exec_refused, 0);
        assert_eq!(h.copy_taken(HEAP), Ok(None));
        h.enforce = true;
        assert_eq!(h.copy_taken(HEAP), Err(()));
        assert_eq!(h.stats().exec_refused, 2);
        assert!(h.stats().least_room < 0);
    }
}
