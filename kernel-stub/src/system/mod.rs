//! The kernel's objects and every system call, as single-threaded logic.
//!
//! [`System`] holds all state of one stub kernel: rendezvous objects with their reference counts,
//! VFS objects, processes (handle table, chunk area, VFS, IOPL), threads, and the captured
//! output. [`System::syscall`] runs one decoded call for one thread and says what must happen
//! next ([`Outcome`]): return, block, start a host thread, end the thread, or halt the machine.
//! Threads it wakes get their result posted to their [`Slot`] and are collected in
//! [`System::wakes`] so that the caller can unpark them after releasing the lock. Nothing here
//! starts, blocks or unparks a host thread; [`crate::threads`] does that, which is why this
//! module's tests can drive the rendezvous rules call by call.
//!
//! Reference counts (§3.5) include handles in every process, VFS mount entries, handles inside
//! in-flight messages and the kernel's own reference to each init-like process's handle 1.
//!
//! This file holds the types and the dispatch ([`System::syscall`]); the rest of `impl System`
//! is split by ABI section: `objects` (reference counts, §3.1, §3.5), `messages` (payloads,
//! receive, send, close; §2, §3), `threads` (§4.8, fork_thread, stopping), `processes` (§4.1,
//! §4.8), `mounts` (VFS objects, open, mount, umount, list_mounts; §5.1), `memory` (malloc),
//! `interrupts` (§4.10), `exec` (the helpers [`crate::exec`] uses; §4.6, §5.2) and `dump`.

use crate::ProgramEntry;
use crate::fault::{Fault, Stopped};
use crate::frames::FrameModel;
use crate::handles::HandleTable;
use crate::hosted::GuestProc;
use crate::log::{Injections, SyscallLog};
use crate::memory::{ChunkArea, Pages, PhysAlloc};
use crate::mounts::MountTable;
use crate::rendezvous::Rendezvous;
use crate::threads::{Slot, WakeList};
use libeurali::abi::{Call, Registers};
use libeurali::{EntryRegisters, Error};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

mod dump;
mod exec;
mod interrupts;
mod memory;
mod messages;
mod mounts;
mod objects;
mod processes;
mod threads;

pub type Pid = u64;
pub type Tid = u64;
/// Index of a rendezvous object.
pub type ObjId = usize;
/// Index of a VFS object.
pub type VfsId = usize;

/// Thread and process ids: one global counter, as on the kernel (unique and increasing).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Multiplicative hashing for the u64 ids (they are sequential).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// A vector of optional entries with a free list: indices are reused.
#[derive(Debug)]
struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    fn insert(&mut self, t: T) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.items[i] = Some(t);
                i
            }
            None => {
                self.items.push(Some(t));
                self.items.len() - 1
            }
        }
    }
    fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i).and_then(Option::as_ref)
    }
    fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.items.get_mut(i).and_then(Option::as_mut)
    }
    fn remove(&mut self, i: usize) -> Option<T> {
        let t = self.items.get_mut(i)?.take()?;
        self.free.push(i);
        Some(t)
    }
    fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

/// One word of an in-flight message: what the kernel holds between send and receive.
#[derive(Debug)]
pub enum Item {
    Value(u64),
    /// A reference to a rendezvous (counted).
    Handle(ObjId),
    /// The pages of a chunk.
    Chunk(Pages),
}

/// An in-flight message.
#[derive(Debug)]
pub struct Msg {
    pub data1: u64,
    pub data2: Item,
    pub data3: Item,
}

#[derive(Debug)]
struct Object {
    refs: usize,
    state: Rendezvous<Msg>,
}

#[derive(Debug)]
struct Vfs {
    /// Processes using this VFS.
    refs: usize,
    table: MountTable<ObjId>,
}

/// One process.
#[derive(Debug)]
pub struct Process {
    pub name: Arc<str>,
    pub handles: HandleTable<ObjId>,
    pub chunks: ChunkArea,
    pub vfs: VfsId,
    /// Live threads (including ones being started).
    pub threads: usize,
    pub iopl: bool,
    /// The page holding the args/env blocks of an exec'd program.
    pub blocks: Option<Box<[u64; 512]>>,
    /// Set for a hosted process: its guest Linux process.
    pub guest: Option<Arc<GuestProc>>,
}

/// One thread.
#[derive(Debug)]
pub struct ThreadRec {
    pub pid: Pid,
    pub slot: Arc<Slot>,
    /// Blocked in the kernel (waiting for a wake).
    pub blocked: bool,
    /// Started by the stub on a host thread of its own (not a `run_as_process` caller).
    pub stub_started: bool,
}

/// How a new thread starts.
#[derive(Debug)]
pub enum Start {
    /// fork_thread: call the entry point in R8 with the argument in R9.
    Thread { entry: u64, arg: u64 },
    /// exec / init: call a registered program's entry.
    Program {
        entry: ProgramEntry,
        regs: EntryRegisters,
    },
    /// exec of an ELF in hosted mode: launch the guest; its first thread talks on `chan`.
    Guest {
        guest: Arc<GuestProc>,
        chan: OwnedFd,
    },
    /// fork_thread in a hosted process: a proxy for `chan`; `child` goes to the guest in the
    /// parent's reply.
    GuestThread { chan: OwnedFd, child: OwnedFd },
}

/// What exec starts: a registered program (in-process) or ELF bytes (hosted).
pub enum ExecImage {
    Program(ProgramEntry),
    Elf(Vec<u8>),
}

/// A thread to start on a new host thread.
#[derive(Debug)]
pub struct Spawn {
    pub pid: Pid,
    pub tid: Tid,
    pub program: Arc<str>,
    pub slot: Arc<Slot>,
    pub start: Start,
}

/// What happens after a call.
#[derive(Debug)]
pub enum Outcome {
    /// Return to the caller with the registers as set.
    Done,
    /// The caller blocks until its slot is posted.
    Block,
    /// Start a thread (the caller's registers already hold its success result).
    Spawn(Spawn),
    /// End the calling thread (exit_thread).
    Exit,
    /// The real machine would halt: what happens (the report adds "the real machine would halt").
    Halt(String),
}

/// The args/env page of a process and the entry registers pointing into it (§4.2).
pub fn entry_blocks(args: &[u8], env: &[u8]) -> (Box<[u64; 512]>, EntryRegisters) {
    let mut page = Box::new([0u64; 512]);
    let base = page.as_mut_ptr() as u64;
    let top = base + 4096;
    let (a, e, _sp) = libeurali::params::block_layout(top, args.len(), env.len());
    let bytes: &mut [u8; 4096] = bytemuck_page(&mut page);
    for (addr, data) in [(a, args), (e, env)] {
        if addr != 0 {
            let off = (addr - base) as usize;
            bytes[off..off + 4].copy_from_slice(&(data.len() as i32).to_le_bytes());
            bytes[off + 4..off + 4 + data.len()].copy_from_slice(data);
        }
    }
    (
        page,
        EntryRegisters {
            heap_start: 0,
            heap_size: 0,
            args: a,
            env: e,
        },
    )
}

fn bytemuck_page(page: &mut [u64; 512]) -> &mut [u8; 4096] {
    bytemuck::cast_mut(page)
}

/// All state of one stub kernel.
#[derive(Debug, Default)]
pub struct System {
    objects: Slab<Object>,
    vfs: Slab<Vfs>,
    procs: IdMap<Process>,
    threads: IdMap<ThreadRec>,
    irq_waiters: Vec<Tid>,
    pub programs: HashMap<String, ProgramEntry>,
    phys: PhysAlloc,
    /// Everything debug_write wrote.
    pub debug: String,
    /// Echo debug_write to stderr.
    pub echo_debug: bool,
    pub log: SyscallLog,
    pub injections: Injections,
    /// Threads posted a wake during the current call, to unpark once the lock is released.
    pub wakes: WakeList,
    /// Set once the system halted or was shut down.
    pub stopped: Option<Stopped>,
    /// The fault that halted the system.
    pub fault: Option<Fault>,
    /// Whether a test looked at the fault.
    pub fault_seen: bool,
    pub panics: Vec<String>,
    /// Host threads started by the stub that have not finished.
    pub live_stub_threads: usize,
    /// Hosted mode: the guest loader that exec of an ELF starts (`None`: ELFs are refused).
    pub guest_loader: Option<PathBuf>,
    /// The model of the real kernel's frame allocator ([`crate::frames`]).
    pub frames: FrameModel,
    /// The model of the real kernel's own heap ([`crate::kheap`]).
    pub kheap: crate::kheap::KernelHeap,
    /// Variables the boot loader adds to init's environment ([`crate::Kernel::set_boot_env`]).
    pub boot_env: Vec<(String, String)>,
}

/// Bytes the stub accepts as an exec image for an exec (the kernel's heap is 1 MiB; exec copies
/// the whole file into it, §4.5).
pub const KERNEL_HEAP: u64 = 1 << 20;

impl System {
    pub fn new() -> Self {
        Self::default()
    }

    // ----- system calls -------------------------------------------------------------------------

    /// Runs `call` (decoded from `regs`) for thread `tid`, writing results into `regs`.
    pub fn syscall(&mut self, tid: Tid, regs: &mut Registers, call: &Call) -> Outcome {
        let Some(pid) = self.pid_of(tid) else {
            regs.set_error(Error::Thread);
            return Outcome::Done;
        };
        match *call {
            Call::ForkThread { r8, r9 } => self.fork_thread(pid, r8, r9, regs),
            Call::ExitThread => Outcome::Exit,
            Call::DebugWrite(s) => {
                if s.len > 0 {
                    match self.read_user(pid, s.ptr, s.len) {
                        Err(bad) => return Outcome::Halt(bad.to_string()),
                        Ok(bytes) => {
                            if let Ok(text) = std::str::from_utf8(&bytes) {
                                if self.echo_debug {
                                    eprint!("{text}");
                                }
                                self.debug.push_str(text);
                            }
                        }
                    }
                }
                Outcome::Done
            }
            Call::Receive { handle } => self.receive(tid, pid, handle, regs),
            Call::Send { handle, msg } => self.send(tid, pid, handle as u64, &msg, false, regs),
            Call::SendReceive { handle, msg } => {
                self.send(tid, pid, handle as u64, &msg, true, regs)
            }
            Call::Open(s) => self.open(pid, s.ptr, s.len, regs),
            Call::Malloc {
                pages,
                max_physaddr,
            } => self.malloc(pid, pages, max_physaddr, regs),
            Call::Free { addr } => {
                let slot = self
                    .procs
                    .get(&pid)
                    .and_then(|p| p.chunks.locate(addr).ok());
                let r = self.procs.get_mut(&pid).map(|p| p.chunks.free(addr));
                if let (Some(Ok(_)), Some(k)) = (&r, slot) {
                    self.frames.chunk_freed(pid, k);
                }
                match r {
                    Some(Ok(phys)) => {
                        if let Some(start) = phys {
                            self.phys.release(start);
                        }
                        regs.set_ok();
                    }
                    Some(Err(e)) => regs.set_error(e),
                    None => regs.set_error(Error::Memory),
                }
                Outcome::Done
            }
            Call::Yield { .. } => Outcome::Done,
            Call::NewRendezvous => {
                let obj = self.new_object(2);
                if let Some(p) = self.procs.get_mut(&pid) {
                    regs.rdi = p.handles.insert(obj);
                    regs.rsi = p.handles.insert(obj);
                    regs.set_ok();
                }
                Outcome::Done
            }
            Call::CopyRendezvous { handle } => {
                match self.procs.get(&pid).and_then(|p| p.handles.get(handle)) {
                    None => regs.set_error(Error::InvalidHandle),
                    Some(obj) => {
                        self.add_ref(obj);
                        if let Some(p) = self.procs.get_mut(&pid) {
                            regs.rdi = p.handles.insert(obj);
                        }
                        regs.set_ok();
                    }
                }
                Outcome::Done
            }
            Call::Exec(e) => self.exec(tid, pid, &e, regs),
            Call::Mount { handle, path } => {
                self.mount(pid, handle as u64, path.ptr, path.len, regs)
            }
            Call::ListMounts => self.list_mounts(pid, regs),
            Call::Umount(s) => self.umount(pid, s.ptr, s.len, regs),
            Call::Close { handle } => {
                self.close(pid, handle);
                Outcome::Done
            }
            Call::AwaitInterrupt => {
                self.irq_waiters.push(tid);
                self.block(tid)
            }
            Call::Unknown { rax } => {
                eprintln!("kernel-stub: Unknown syscall {rax:#x} from pid {pid} thread {tid}");
                Outcome::Done
            }
        }
    }
}

#[cfg(test)]
mod tests;
