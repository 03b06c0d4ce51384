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

use crate::ProgramEntry;
use crate::fault::{Fault, Stopped};
use crate::frames::FrameModel;
use crate::handles::HandleTable;
use crate::hosted::GuestProc;
use crate::log::{Injections, SyscallLog};
use crate::memory::{ChunkArea, Pages, PhysAlloc};
use crate::mounts::MountTable;
use crate::rendezvous::{CloseOutcome, ReceiveOutcome, Rendezvous, SendOutcome};
use crate::threads::{Slot, Wake, WakeList};
use libeurali::abi::layout::{MAX_CHUNK_PAGES, MAX_THREADS, PAGE_SIZE};
use libeurali::abi::{Call, RawMessage, RawWord, Registers, WordKind};
use libeurali::{EntryRegisters, Error};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

fn set_regs_message(regs: &mut Registers, m: &RawMessage, err: Option<Error>) {
    m.deliver(regs, err);
}

fn message_words(m: &RawMessage, err: Option<Error>) -> Wake {
    let mut r = Registers::default();
    m.deliver(&mut r, err);
    Wake::Message([r.rax, r.rdi, r.rsi, r.rdx])
}

/// Bytes the stub accepts as an exec image for an exec (the kernel's heap is 1 MiB; exec copies
/// the whole file into it, §4.5).
pub const KERNEL_HEAP: u64 = 1 << 20;

impl System {
    pub fn new() -> Self {
        Self::default()
    }

    // ----- objects and references -------------------------------------------------------------

    fn new_object(&mut self, refs: usize) -> ObjId {
        self.objects.insert(Object {
            refs,
            state: Rendezvous::Empty,
        })
    }

    fn add_ref(&mut self, obj: ObjId) {
        if let Some(o) = self.objects.get_mut(obj) {
            o.refs += 1;
        }
    }

    fn refs(&self, obj: ObjId) -> usize {
        self.objects.get(obj).map_or(0, |o| o.refs)
    }

    /// Drops one reference, without close processing. An object that loses its last reference
    /// is destroyed with its blocked thread and its pending message (§3.5).
    fn release(&mut self, obj: ObjId) {
        let Some(o) = self.objects.get_mut(obj) else {
            return;
        };
        o.refs -= 1;
        if o.refs > 0 {
            return;
        }
        let mut dead = vec![obj];
        while let Some(id) = dead.pop() {
            let Some(o) = self.objects.remove(id) else {
                continue;
            };
            let (thread, msg) = o.state.destroy();
            if let Some(t) = thread {
                self.wake(t, Wake::Stop(Stopped::Destroyed));
            }
            if let Some(m) = msg {
                for item in [m.data2, m.data3] {
                    match item {
                        Item::Handle(h) => {
                            if let Some(o) = self.objects.get_mut(h) {
                                o.refs -= 1;
                                if o.refs == 0 {
                                    dead.push(h);
                                }
                            }
                        }
                        Item::Chunk(p) => self.drop_pages(p),
                        Item::Value(_) => {}
                    }
                }
            }
        }
    }

    fn drop_pages(&mut self, p: Pages) {
        if let Some(phys) = p.phys {
            self.phys.release(phys);
        }
    }

    fn drop_message(&mut self, m: Msg) {
        for item in [m.data2, m.data3] {
            match item {
                Item::Handle(h) => self.release(h),
                Item::Chunk(p) => self.drop_pages(p),
                Item::Value(_) => {}
            }
        }
    }

    fn new_vfs(&mut self, table: MountTable<ObjId>) -> VfsId {
        self.vfs.insert(Vfs { refs: 1, table })
    }

    pub(crate) fn release_vfs(&mut self, id: VfsId) {
        let Some(v) = self.vfs.get_mut(id) else {
            return;
        };
        v.refs -= 1;
        if v.refs == 0
            && let Some(mut v) = self.vfs.remove(id)
        {
            for p in v.table.paths() {
                self.kheap.path_removed(p);
            }
            let objs: Vec<_> = v.table.drain().collect();
            for o in objs {
                self.release(o);
            }
        }
    }

    // ----- threads ------------------------------------------------------------------------------

    /// Posts `wake` to thread `t` (if it still exists) and queues it for unparking.
    fn wake(&mut self, t: Tid, wake: Wake) {
        if let Some(rec) = self.threads.get_mut(&t) {
            rec.blocked = false;
            rec.slot.post(wake);
            self.wakes.push(rec.slot.clone());
        }
    }

    fn block(&mut self, t: Tid) -> Outcome {
        if let Some(rec) = self.threads.get_mut(&t) {
            rec.blocked = true;
            rec.slot.arm();
        }
        Outcome::Block
    }

    /// Registers a thread of process `pid` (counted against its 64).
    pub fn add_thread(&mut self, pid: Pid, slot: Arc<Slot>, stub_started: bool) -> Tid {
        let tid = next_id();
        if let Some(p) = self.procs.get_mut(&pid) {
            p.threads += 1;
        }
        self.frames.thread_started(pid, tid);
        if stub_started {
            self.live_stub_threads += 1;
            // (Host threads run as processes, `run_as_process`, stand for the boot loader.)
            self.kheap.thread_started(tid);
        }
        self.threads.insert(
            tid,
            ThreadRec {
                pid,
                slot,
                blocked: false,
                stub_started,
            },
        );
        tid
    }

    /// A thread has ended (returned, exited, was ended by the stub, or never started). The last
    /// thread of a process takes the process with it (§4.8): its handles are dropped without
    /// close processing, its chunks freed, its VFS reference dropped.
    pub fn thread_ended(&mut self, tid: Tid) {
        let Some(rec) = self.threads.remove(&tid) else {
            return;
        };
        if rec.stub_started {
            self.live_stub_threads -= 1;
        }
        self.kheap.thread_ended(tid);
        self.irq_waiters.retain(|&t| t != tid);
        let last = match self.procs.get_mut(&rec.pid) {
            Some(p) => {
                p.threads -= 1;
                p.threads == 0
            }
            None => false,
        };
        if last {
            self.frames.process_ended(rec.pid, tid);
            self.process_died(rec.pid);
        } else {
            self.frames.thread_ended(tid);
        }
    }

    /// Reads user memory of process `pid`: its own address space in-process, the guest's in
    /// hosted mode.
    pub fn read_user(
        &self,
        pid: Pid,
        ptr: u64,
        len: u64,
    ) -> Result<Vec<u8>, crate::uaccess::BadRange> {
        match self.procs.get(&pid).and_then(|p| p.guest.as_ref()) {
            Some(g) => crate::uaccess::read_from(g.pid(), ptr, len),
            None => crate::uaccess::read(ptr, len),
        }
    }

    fn process_died(&mut self, pid: Pid) {
        let Some(mut p) = self.procs.remove(&pid) else {
            return;
        };
        if let Some(g) = &p.guest {
            g.end();
        }
        let objs: Vec<_> = p.handles.drain().collect();
        for o in objs {
            self.release(o);
        }
        let phys: Vec<_> = p.chunks.phys_ranges().map(|(start, _)| start).collect();
        for start in phys {
            self.phys.release(start);
        }
        self.release_vfs(p.vfs);
        // `p.chunks` unmaps the whole area as it drops.
    }

    /// The guest of a hosted process.
    pub fn guest_of(&self, pid: Pid) -> Option<Arc<GuestProc>> {
        self.procs.get(&pid).and_then(|p| p.guest.clone())
    }

    /// The process a thread belongs to.
    pub fn pid_of(&self, tid: Tid) -> Option<Pid> {
        self.threads.get(&tid).map(|t| t.pid)
    }

    #[cfg(test)]
    pub fn process(&self, pid: Pid) -> Option<&Process> {
        self.procs.get(&pid)
    }

    pub fn process_count(&self) -> usize {
        self.procs.len()
    }

    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// Whether `tid` is a live thread the stub started on a host thread of its own.
    pub fn is_stub_thread(&self, tid: Tid) -> bool {
        self.threads.get(&tid).is_some_and(|t| t.stub_started)
    }

    /// What every process and thread is doing, for a test whose system hung: each process with
    /// its threads, each blocked thread with the rendezvous it waits in, and who else holds that
    /// rendezvous (handles by process, mount entries) — the picture one needs to see why a peer
    /// never answers.
    pub fn dump(&self) -> String {
        use std::fmt::Write as _;
        let mut waits: HashMap<Tid, (ObjId, &'static str)> = HashMap::new();
        for (id, o) in self.objects.items.iter().enumerate() {
            let Some(o) = o else { continue };
            let (t, what) = match &o.state {
                Rendezvous::Empty => continue,
                Rendezvous::Sending { sender, .. } => match sender {
                    Some(t) => (*t, "send"),
                    None => continue,
                },
                Rendezvous::SendRecv { sender, .. } => (*sender, "send_receive (not yet taken)"),
                Rendezvous::Receiving { waiter, from: None } => (*waiter, "receive"),
                Rendezvous::Receiving {
                    waiter,
                    from: Some(_),
                } => (*waiter, "send_receive (awaiting the reply)"),
            };
            waits.insert(t, (id, what));
        }
        let holders = |obj: ObjId| -> String {
            let mut h = Vec::new();
            for (pid, p) in &self.procs {
                for (n, o) in p.handles.iter() {
                    if o == obj {
                        h.push(format!("{}[{pid}] h{n}", p.name));
                    }
                }
            }
            for (vid, v) in self.vfs.items.iter().enumerate() {
                let Some(v) = v else { continue };
                for (path, o) in v.table.entries() {
                    if *o == obj {
                        h.push(format!("vfs{vid}:{path}"));
                    }
                }
            }
            h.join(", ")
        };
        let mut out = String::new();
        let mut pids: Vec<_> = self.procs.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            let p = &self.procs[&pid];
            let _ = writeln!(
                out,
                "process {pid} {:?}: {} threads, {} handles, vfs{}",
                p.name,
                p.threads,
                p.handles.count(),
                p.vfs
            );
            let mut tids: Vec<_> = self
                .threads
                .iter()
                .filter(|(_, r)| r.pid == pid)
                .map(|(t, r)| (*t, r.blocked))
                .collect();
            tids.sort_unstable();
            for (t, blocked) in tids {
                match waits.get(&t) {
                    Some(&(obj, what)) => {
                        let refs = self.refs(obj);
                        let _ = writeln!(
                            out,
                            "  thread {t}: {what} in rendezvous #{obj} ({refs} refs: {})",
                            holders(obj)
                        );
                    }
                    None if self.irq_waiters.contains(&t) => {
                        let _ = writeln!(out, "  thread {t}: await_interrupt");
                    }
                    None if blocked => {
                        let _ = writeln!(out, "  thread {t}: blocked");
                    }
                    None => {
                        let _ = writeln!(out, "  thread {t}: running (not in a call)");
                    }
                }
            }
        }
        out
    }

    /// Threads blocked in a system call.
    pub fn blocked_count(&self) -> usize {
        self.threads.values().filter(|t| t.blocked).count()
    }

    /// Threads waiting in await_interrupt.
    pub fn irq_waiter_count(&self) -> usize {
        self.irq_waiters.len()
    }

    // ----- processes ----------------------------------------------------------------------------

    /// A process as the kernel starts init (§4.1): handle 0 a fresh rendezvous nobody else
    /// references, handle 1 a rendezvous the kernel references forever, an empty VFS.
    pub fn new_init_process(&mut self, name: &str, iopl: bool) -> Pid {
        let mut handles = HandleTable::new();
        let null = self.new_object(1);
        let kernel = self.new_object(2);
        handles.insert(null);
        handles.insert(kernel);
        let vfs = self.new_vfs(MountTable::new());
        self.new_process(name, handles, vfs, iopl, None, None)
    }

    fn new_process(
        &mut self,
        name: &str,
        handles: HandleTable<ObjId>,
        vfs: VfsId,
        iopl: bool,
        blocks: Option<Box<[u64; 512]>>,
        image_frames: Option<u64>,
    ) -> Pid {
        let pid = next_id();
        self.frames.process_started(pid, name, image_frames);
        let p = Process {
            name: name.into(),
            handles,
            chunks: ChunkArea::new(),
            vfs,
            threads: 0,
            iopl,
            blocks,
            guest: None,
        };
        self.procs.insert(pid, p);
        pid
    }

    /// Gives a process's args/env page to it (for init started by the harness).
    pub fn set_blocks(&mut self, pid: Pid, page: Box<[u64; 512]>) {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.blocks = Some(page);
        }
    }

    // ----- stopping -----------------------------------------------------------------------------

    /// Halts or shuts down: every blocked thread is woken to end. The first reason sticks.
    pub fn stop(&mut self, why: Stopped) {
        if self.stopped.is_some() {
            return;
        }
        self.stopped = Some(why.clone());
        let blocked: Vec<Tid> = self
            .threads
            .iter()
            .filter(|(_, r)| r.blocked)
            .map(|(&t, _)| t)
            .collect();
        for t in blocked {
            self.wake(t, Wake::Stop(why.clone()));
        }
        self.irq_waiters.clear();
        // Guests running code are not blocked here: end their Linux processes.
        for p in self.procs.values() {
            if let Some(g) = &p.guest {
                g.end();
            }
        }
    }

    /// Wakes every thread in await_interrupt (§4.10); returns how many.
    pub fn raise_irq(&mut self) -> usize {
        let waiters = std::mem::take(&mut self.irq_waiters);
        let n = waiters.len();
        for t in waiters {
            self.wake(t, Wake::Unchanged);
        }
        n
    }

    // ----- messages -----------------------------------------------------------------------------

    /// Takes a message's payload out of the sender's tables: all words are checked before
    /// anything moves (3 for a bad handle, 5/9/10 for a bad chunk address, in word order).
    fn take_payload(&mut self, pid: Pid, raw: &RawMessage) -> Result<Msg, Error> {
        let p = self.procs.get_mut(&pid).ok_or(Error::InvalidHandle)?;
        let words = [raw.data2, raw.data3];
        let mut slots = [None, None];
        for (i, w) in words.iter().enumerate() {
            match w.kind {
                WordKind::Handle => {
                    p.handles.get(w.bits).ok_or(Error::InvalidHandle)?;
                }
                WordKind::Chunk => {
                    let k = p.chunks.locate(w.bits)?;
                    if slots[0] == Some(k) {
                        // The same chunk twice: the second word finds the slot already taken.
                        return Err(Error::DoubleFree);
                    }
                    slots[i] = Some(k);
                }
                WordKind::Value | WordKind::Err => {}
            }
        }
        // Handles: one counted reference per word, then the slots are emptied (a number named
        // twice gives the receiver two handles, §2.2).
        let mut items = [Item::Value(0), Item::Value(0)];
        let mut taken = [None, None];
        for (i, w) in words.iter().enumerate() {
            items[i] = match w.kind {
                WordKind::Value | WordKind::Err => Item::Value(w.bits),
                WordKind::Handle => {
                    let obj = p.handles.get(w.bits).ok_or(Error::InvalidHandle)?;
                    taken[i] = Some(w.bits);
                    Item::Handle(obj)
                }
                WordKind::Chunk => match p.chunks.take(w.bits) {
                    Ok(mut pages) => {
                        if let Some(k) = slots[i] {
                            pages.frames = self.frames.chunk_taken(pid, k);
                        }
                        Item::Chunk(pages)
                    }
                    Err(e) => {
                        // Only a host failure gets here: put back what was taken.
                        if let Item::Chunk(pages) = std::mem::replace(&mut items[0], Item::Value(0))
                        {
                            // With no slot free the pages are simply unmapped.
                            let _ = p.chunks.put(pages);
                        }
                        return Err(e);
                    }
                },
            };
        }
        let objs: Vec<ObjId> = items
            .iter()
            .filter_map(|it| {
                if let Item::Handle(o) = it {
                    Some(*o)
                } else {
                    None
                }
            })
            .collect();
        for o in objs {
            self.add_ref(o);
        }
        let p = self.procs.get_mut(&pid).ok_or(Error::InvalidHandle)?;
        let mut removed = Vec::new();
        for n in taken.into_iter().flatten() {
            if let Some(o) = p.handles.take(n) {
                removed.push(o);
            }
        }
        for o in removed {
            self.release(o);
        }
        let [data2, data3] = items;
        Ok(Msg {
            data1: raw.data1,
            data2,
            data3,
        })
    }

    /// Puts a message's objects into process `pid`'s tables (lowest free slots) and returns it
    /// as the registers will show it. A chunk that finds no free slot becomes an ERR word
    /// holding 11 (NOMEMSLOTS) and its memory is gone (§2.1).
    fn deliver_to(&mut self, pid: Pid, m: Msg) -> RawMessage {
        let Some(p) = self.procs.get_mut(&pid) else {
            self.drop_message(m);
            return RawMessage::short(0, 0, 0);
        };
        let mut lost = Vec::new();
        let frames = &mut self.frames;
        let mut word = |item: Item| match item {
            Item::Value(v) => RawWord::value(v),
            Item::Handle(o) => RawWord::handle(p.handles.insert(o)),
            Item::Chunk(mut pages) => {
                let f = std::mem::take(&mut pages.frames);
                match p.chunks.put(pages) {
                    Ok(addr) => {
                        if let Ok(k) = p.chunks.locate(addr) {
                            frames.chunk_placed(pid, k, f);
                        }
                        RawWord::chunk(addr)
                    }
                    Err(pages) => {
                        lost.push(pages);
                        RawWord::err(Error::NoMemSlots.code() as u64)
                    }
                }
            }
        };
        let data2 = word(m.data2);
        let data3 = word(m.data3);
        for pages in lost {
            self.drop_pages(pages);
        }
        RawMessage {
            data1: m.data1,
            data2,
            data3,
        }
    }

    /// Delivers `m` to a blocked thread with status `err` (none for a received message) and wakes
    /// it.
    fn deliver_and_wake(&mut self, t: Tid, m: Msg, err: Option<Error>) {
        match self.pid_of(t) {
            Some(pid) => {
                let raw = self.deliver_to(pid, m);
                self.wake(t, message_words(&raw, err));
            }
            None => self.drop_message(m),
        }
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
            Call::Yield => Outcome::Done,
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

    fn fork_thread(&mut self, pid: Pid, r8: u64, r9: u64, regs: &mut Registers) -> Outcome {
        let Some(p) = self.procs.get(&pid) else {
            return Outcome::Done;
        };
        if p.threads >= MAX_THREADS {
            regs.set_error(Error::MemAlloc);
            return Outcome::Done;
        }
        if p.guest.is_some() {
            let Ok((chan, child)) = crate::hosted::socket_pair() else {
                regs.set_error(Error::MemAlloc);
                return Outcome::Done;
            };
            let program = p.name.clone();
            let slot = Arc::new(Slot::new());
            let tid = self.add_thread(pid, slot.clone(), true);
            regs.set_ok();
            regs.rdi = tid;
            return Outcome::Spawn(Spawn {
                pid,
                tid,
                program,
                slot,
                start: Start::GuestThread { chan, child },
            });
        }
        if r8 == 0 {
            return Outcome::Halt(
                "fork_thread with entry point 0 in R8: the child thread jumps to address 0 and page-faults"
                    .into(),
            );
        }
        let program = p.name.clone();
        let slot = Arc::new(Slot::new());
        let tid = self.add_thread(pid, slot.clone(), true);
        regs.set_ok();
        regs.rdi = tid;
        Outcome::Spawn(Spawn {
            pid,
            tid,
            program,
            slot,
            start: Start::Thread { entry: r8, arg: r9 },
        })
    }

    fn receive(&mut self, tid: Tid, pid: Pid, handle: u64, regs: &mut Registers) -> Outcome {
        let Some(obj) = self.procs.get(&pid).and_then(|p| p.handles.get(handle)) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        let Some(o) = self.objects.get_mut(obj) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        match o.state.receive(tid) {
            ReceiveOutcome::Waiting => self.block(tid),
            ReceiveOutcome::Busy => {
                regs.set_error(Error::RecvBlocking);
                Outcome::Done
            }
            ReceiveOutcome::Take { msg, release } => {
                let raw = self.deliver_to(pid, msg);
                set_regs_message(regs, &raw, None);
                if let Some(s) = release {
                    self.wake(s, Wake::Status(0));
                }
                Outcome::Done
            }
        }
    }

    fn send(
        &mut self,
        tid: Tid,
        pid: Pid,
        handle: u64,
        raw: &RawMessage,
        reply: bool,
        regs: &mut Registers,
    ) -> Outcome {
        let Some(obj) = self.procs.get(&pid).and_then(|p| p.handles.get(handle)) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        if self.refs(obj) <= 1 {
            regs.set_error(Error::Closed);
            return Outcome::Done;
        }
        let msg = match self.take_payload(pid, raw) {
            Ok(m) => m,
            Err(e) => {
                regs.set_error(e);
                return Outcome::Done;
            }
        };
        let Some(o) = self.objects.get_mut(obj) else {
            // Sending a handle to itself cannot free the target (the message holds a reference).
            self.drop_message(msg);
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        match o.state.send(tid, msg, reply) {
            SendOutcome::Queued => self.block(tid),
            SendOutcome::Deliver { receiver, msg } => {
                self.deliver_and_wake(receiver, msg, None);
                if reply {
                    self.block(tid)
                } else {
                    regs.set_ok();
                    Outcome::Done
                }
            }
            SendOutcome::Refused { error, msg } => {
                let back = self.deliver_to(pid, msg);
                set_regs_message(regs, &back, Some(error));
                Outcome::Done
            }
        }
    }

    /// close (§3.5): with exactly two references before the close, whoever waits is woken with
    /// 12 (a blocked sender with its message back); then the reference goes.
    pub fn close(&mut self, pid: Pid, handle: u64) {
        let Some(obj) = self
            .procs
            .get_mut(&pid)
            .and_then(|p| p.handles.take(handle))
        else {
            return;
        };
        if self.refs(obj) == 2 {
            let outcome = match self.objects.get_mut(obj) {
                Some(o) => o.state.close(),
                None => CloseOutcome::Nothing,
            };
            match outcome {
                CloseOutcome::Nothing => {}
                CloseOutcome::WakeWaiter(w) => {
                    self.wake(w, Wake::Status(Error::Closed.code() as u64))
                }
                CloseOutcome::ReturnToSender {
                    sender: Some(s),
                    msg,
                } => {
                    self.deliver_and_wake(s, msg, Some(Error::Closed));
                }
                CloseOutcome::ReturnToSender { sender: None, msg } => self.drop_message(msg),
            }
        }
        self.release(obj);
    }

    /// Reads a path argument: `Err(Outcome::Halt)` for a bad pointer, `Ok(Err(6))` for bytes that
    /// are not UTF-8.
    fn read_path(&self, pid: Pid, ptr: u64, len: u64) -> Result<Result<String, Error>, Outcome> {
        let bytes = self
            .read_user(pid, ptr, len)
            .map_err(|bad| Outcome::Halt(bad.to_string()))?;
        Ok(String::from_utf8(bytes).map_err(|_| Error::Utf8))
    }

    fn open(&mut self, pid: Pid, ptr: u64, len: u64, regs: &mut Registers) -> Outcome {
        if len == 0 {
            regs.set_error(Error::Param);
            return Outcome::Done;
        }
        let path = match self.read_path(pid, ptr, len) {
            Err(halt) => return halt,
            Ok(Err(e)) => {
                regs.set_error(e);
                return Outcome::Done;
            }
            Ok(Ok(p)) => p,
        };
        let Some(p) = self.procs.get(&pid) else {
            return Outcome::Done;
        };
        let found = self
            .vfs
            .get(p.vfs)
            .and_then(|v| v.table.lookup(&path))
            .map(|(&o, n)| (o, n));
        match found {
            None => regs.set_error(Error::NotFound),
            Some((obj, prefix)) => {
                self.add_ref(obj);
                if let Some(p) = self.procs.get_mut(&pid) {
                    regs.rdi = p.handles.insert(obj);
                }
                regs.rsi = prefix as u64;
                regs.set_ok();
            }
        }
        Outcome::Done
    }

    fn mount(
        &mut self,
        pid: Pid,
        handle: u64,
        ptr: u64,
        len: u64,
        regs: &mut Registers,
    ) -> Outcome {
        let path = match self.read_path(pid, ptr, len) {
            Err(halt) => return halt,
            Ok(Err(e)) => {
                regs.set_error(e);
                return Outcome::Done;
            }
            Ok(Ok(p)) => p,
        };
        let Some(p) = self.procs.get_mut(&pid) else {
            return Outcome::Done;
        };
        let Some(obj) = p.handles.take(handle) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        let vfs = p.vfs;
        if let Some(v) = self.vfs.get_mut(vfs) {
            v.table.mount(&path, obj);
        }
        regs.set_ok();
        Outcome::Done
    }

    fn umount(&mut self, pid: Pid, ptr: u64, len: u64, regs: &mut Registers) -> Outcome {
        let path = match self.read_path(pid, ptr, len) {
            Err(halt) => return halt,
            Ok(Err(e)) => {
                regs.set_error(e);
                return Outcome::Done;
            }
            Ok(Ok(p)) => p,
        };
        let Some(vfs) = self.procs.get(&pid).map(|p| p.vfs) else {
            return Outcome::Done;
        };
        match self.vfs.get_mut(vfs).and_then(|v| v.table.umount(&path)) {
            Some(obj) => {
                self.kheap.path_removed(&path);
                self.release(obj);
                regs.set_ok();
            }
            None => regs.set_error(Error::NotFound),
        }
        Outcome::Done
    }

    fn list_mounts(&mut self, pid: Pid, regs: &mut Registers) -> Outcome {
        let Some(vfs) = self.procs.get(&pid).map(|p| p.vfs) else {
            return Outcome::Done;
        };
        let text = self
            .vfs
            .get(vfs)
            .map(|v| v.table.list_text())
            .unwrap_or_else(|| "[]".into());
        let pages = (text.len() as u64).div_ceil(PAGE_SIZE).max(1);
        let Some(p) = self.procs.get_mut(&pid) else {
            return Outcome::Done;
        };
        match p.chunks.alloc_with(pages, None, text.as_bytes()) {
            Ok(addr) => {
                regs.set_ok();
                regs.rdi = addr;
                regs.rsi = text.len() as u64;
            }
            Err(e) => regs.set_error(e),
        }
        Outcome::Done
    }

    fn malloc(&mut self, pid: Pid, pages: u64, max_physaddr: u64, regs: &mut Registers) -> Outcome {
        let fail = |regs: &mut Registers| {
            regs.set_error(Error::Memory);
            regs.rdi = 0;
            regs.rsi = 0;
            regs.rdx = 0;
            Outcome::Done
        };
        if pages == 0 || pages > MAX_CHUNK_PAGES {
            return fail(regs);
        }
        let phys = if max_physaddr != 0 {
            match self.phys.alloc(pages * PAGE_SIZE, max_physaddr) {
                Some(p) => Some(p),
                None => return fail(regs),
            }
        } else {
            None
        };
        let Some(p) = self.procs.get_mut(&pid) else {
            return fail(regs);
        };
        match p.chunks.alloc(pages, phys) {
            Ok(addr) => {
                if let Ok(k) = p.chunks.locate(addr) {
                    self.frames.chunk_allocated(pid, k, pages, phys.is_some());
                }
                regs.set_ok();
                regs.rdi = addr;
                regs.rsi = phys.unwrap_or(0);
                Outcome::Done
            }
            Err(_) => {
                if let Some(start) = phys {
                    self.phys.release(start);
                }
                fail(regs)
            }
        }
    }

    // ----- helpers for exec (exec.rs) -----------------------------------------------------------

    pub(crate) fn take_handle(&mut self, pid: Pid, n: u64) -> Option<ObjId> {
        self.procs.get_mut(&pid).and_then(|p| p.handles.take(n))
    }

    pub(crate) fn drop_ref(&mut self, obj: ObjId) {
        self.release(obj);
    }

    pub(crate) fn vfs_of(&self, pid: Pid) -> Option<VfsId> {
        self.procs.get(&pid).map(|p| p.vfs)
    }

    pub(crate) fn vfs_table_mut(&mut self, id: VfsId) -> Option<&mut MountTable<ObjId>> {
        self.vfs.get_mut(id).map(|v| &mut v.table)
    }

    /// A copy of a VFS's mount list, each entry holding a new reference.
    pub(crate) fn copy_vfs_table(&mut self, id: VfsId) -> MountTable<ObjId> {
        let table = self
            .vfs
            .get(id)
            .map(|v| v.table.clone())
            .unwrap_or_default();
        let objs: Vec<_> = table.objects().copied().collect();
        for o in objs {
            self.add_ref(o);
        }
        for p in table.paths() {
            self.kheap.path_mounted(p);
        }
        table
    }

    /// Drops a mount list that never became a VFS object.
    pub(crate) fn drop_table(&mut self, mut table: MountTable<ObjId>) {
        for p in table.paths() {
            self.kheap.path_removed(p);
        }
        let objs: Vec<_> = table.drain().collect();
        for o in objs {
            self.release(o);
        }
    }

    pub(crate) fn share_vfs(&mut self, id: VfsId) -> VfsId {
        if let Some(v) = self.vfs.get_mut(id) {
            v.refs += 1;
        }
        id
    }

    pub(crate) fn install_vfs(&mut self, table: MountTable<ObjId>) -> VfsId {
        self.new_vfs(table)
    }

    /// A new process with handles 0 and 1, its args/env blocks and a first thread to start.
    pub(crate) fn spawn_process(
        &mut self,
        name: &str,
        handles: [ObjId; 2],
        vfs: VfsId,
        iopl: bool,
        (args, env): (&[u8], &[u8]),
        image: ExecImage,
    ) -> Result<Spawn, Error> {
        let mut table = HandleTable::new();
        table.insert(handles[0]);
        table.insert(handles[1]);
        let (pid, start) = match image {
            ExecImage::Program(entry) => {
                let (page, regs) = entry_blocks(args, env);
                let pid = self.new_process(name, table, vfs, iopl, Some(page), None);
                (pid, Start::Program { entry, regs })
            }
            ExecImage::Elf(bytes) => {
                let loader = self.guest_loader.clone().ok_or(Error::Thread)?;
                let (guest, chan) =
                    GuestProc::new(&loader, name, &bytes, args, env).map_err(|_| Error::Memory)?;
                let guest = Arc::new(guest);
                let image_frames = crate::frames::image_frames(&bytes);
                let pid = self.new_process(name, table, vfs, iopl, None, image_frames);
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.chunks = ChunkArea::hosted(guest.clone());
                    p.guest = Some(guest.clone());
                }
                (pid, Start::Guest { guest, chan })
            }
        };
        let slot = Arc::new(Slot::new());
        let tid = self.add_thread(pid, slot.clone(), true);
        Ok(Spawn {
            pid,
            tid,
            program: name.into(),
            slot,
            start,
        })
    }

    /// Undoes a spawn whose host thread could not be started.
    pub fn abort_spawn(&mut self, tid: Tid) {
        self.thread_ended(tid);
    }

    pub(crate) fn iopl(&self, pid: Pid) -> bool {
        self.procs.get(&pid).is_some_and(|p| p.iopl)
    }

    /// Test hook: the reference count of the object a handle names.
    #[cfg(test)]
    pub(crate) fn refs_of(&self, pid: Pid, handle: u64) -> Option<usize> {
        let obj = self.procs.get(&pid)?.handles.get(handle)?;
        Some(self.refs(obj))
    }
}

#[cfg(test)]
#[path = "system_tests.rs"]
mod tests;
