//! The guest: a small loader and runtime that the supervisor starts (as `eurali-guest`) for each
//! Merriwig process, so that every ELF sits at its own link address in a Linux process of its own.
//!
//! Layout, as the kernel makes it (ABI §4.2, §4.3): PT_LOAD segments at their addresses (all
//! pages read-write-execute, file bytes copied, the rest garbage); stack slots of 32 KiB from
//! `0x280_0000_0000` (guard page, six on-demand pages, the top page mapped); the 4 MiB heap at
//! `0x280_0060_0000` (first page mapped, the rest on demand); the chunk slots reserved
//! inaccessible until the supervisor has the agent map a chunk there; the KernelInfo page
//! read-only at `0x04FF_F000`. Fresh memory holds [`GARBAGE`], never zeros.
//!
//! Syscalls: every guest thread runs with Syscall User Dispatch switched on for everything below
//! `0x300_0000_0000` (where the ELF window and the Merriwig areas lie; the loader, libc and the
//! vDSO all live above), so each `syscall` of guest code raises SIGSYS. The handler runs on the
//! thread's own alternate stack, ships the register file to the thread's proxy in the supervisor
//! and applies the answer. Handlers and guest threads use raw system calls only: guest threads are
//! bare `clone`s sharing the loader thread's TLS.
//!
//! On-demand pages: a write fault on a never-written heap or stack page maps it (filled with
//! garbage) and resumes; a read fault on one is the kernel's freeze (§4.3) and ends the process
//! with a report. Lazy chunks (malloc with max_physaddr 0) follow the same rule page by page: the
//! agent maps their never-written pages inaccessible, with the page states that travel in the
//! chunk's memfd (`crate::memory::lazy_memfd_len`), and the first write to a page fills it with
//! garbage through the memfd before making it read-write. Any other fault ends the process with a
//! report as does any other fault (guard page, null pointer, `ud2`, `int3`, `hlt`, port
//! I/O, a divide error) and a `syscall` outside the ELF window.
//!
//! The loader's first thread becomes the agent: it maps and unmaps chunk memory on the
//! supervisor's instruction and keeps the KernelInfo clock going.

use super::sys::{self, mmap, mprotect};
use super::wire::*;
use core::arch::asm;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU64, Ordering};
use libeurali::abi::layout::{
    CHUNK_SLOT_SIZE, CHUNK_SLOTS, ELF_WINDOW_END, ELF_WINDOW_START, HEAP_SIZE, HEAP_START,
    KERNEL_INFO, MAX_THREADS, PAGE_SIZE, STACK_SLOT_SIZE, STACKS_START, chunk_slot_base,
    chunk_slot_of,
};

/// The Merriwig part of the address space: stacks, heap, chunk slots.
const AREA_START: u64 = STACKS_START;
const AREA_END: u64 = 0x0000_0300_0000_0000;
/// Syscalls from at or above this address run natively (loader, libc, vDSO).
const NATIVE_START: u64 = AREA_END;
const NATIVE_END: u64 = 0x0000_7FFF_FFFF_F000;
/// Per-thread alternate stacks, one region per stack slot: a state page, then the stack.
const ALT_BASE: u64 = 0x0000_3000_0000_0000;
const ALT_SIZE: u64 = 0x1_0000;
const SLOTS: usize = MAX_THREADS;
const PAGE: u64 = PAGE_SIZE;

const PROT_RW: i32 = libc::PROT_READ | libc::PROT_WRITE;
const PROT_RWX: i32 = PROT_RW | libc::PROT_EXEC;
const ANON_FIXED: i32 =
    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE;

/// Register file indexes of [`ThreadState::boot`].
mod r {
    pub const RAX: usize = 0;
    pub const RBX: usize = 1;
    pub const RCX: usize = 2;
    pub const RDX: usize = 3;
    pub const RSI: usize = 4;
    pub const RDI: usize = 5;
    pub const RBP: usize = 6;
    pub const R8: usize = 7;
    pub const RSP: usize = 15;
    pub const RIP: usize = 16;
    pub const RFLAGS: usize = 17;
}

/// One guest thread's state, at the bottom of its alternate-stack region.
#[repr(C)]
struct ThreadState {
    chan: i32,
    slot: u32,
    /// The registers the thread starts with: RAX RBX RCX RDX RSI RDI RBP R8..R15 RSP RIP RFLAGS.
    boot: [u64; 18],
}

/// Per stack slot: 1 while a thread owns it; the kernel clears it (CLONE_CHILD_CLEARTID) once
/// the thread has really gone.
static BUSY: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Lazy chunks mapped in this process, by chunk slot: the address of the page states (one byte
/// per page: [`UNWRITTEN`], [`FILLING`], [`WRITTEN`]), 0 while the slot holds no lazy chunk; the
/// memfd (kept open to fill pages through it); the number of pages. Written by the agent, read
/// by the fault handler.
static LAZY_STATES: [AtomicU64; CHUNK_SLOTS + 1] = [const { AtomicU64::new(0) }; CHUNK_SLOTS + 1];
static LAZY_FD: [AtomicI32; CHUNK_SLOTS + 1] = [const { AtomicI32::new(-1) }; CHUNK_SLOTS + 1];
static LAZY_PAGES: [AtomicU64; CHUNK_SLOTS + 1] = [const { AtomicU64::new(0) }; CHUNK_SLOTS + 1];
const UNWRITTEN: u8 = 0;
const WRITTEN: u8 = 1;
/// A thread is filling the page with garbage before making it read-write.
const FILLING: u8 = 2;

static GARBAGE_PAGE: [u8; PAGE_SIZE as usize] = [GARBAGE; PAGE_SIZE as usize];

fn alt_region(slot: usize) -> u64 {
    ALT_BASE + slot as u64 * ALT_SIZE
}

fn state_of(slot: usize) -> &'static mut ThreadState {
    // Safety: the state page of each alt region is mapped for the process's life, and only the
    // thread owning the slot (or its creator, before it runs) touches it.
    unsafe { &mut *(alt_region(slot) as *mut ThreadState) }
}

/// The calling guest thread's state, found from the alternate stack it runs on (no TLS).
fn current_state() -> Option<&'static mut ThreadState> {
    let sp: u64;
    // Safety: reads RSP.
    unsafe { asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack)) };
    if sp < ALT_BASE || sp >= ALT_BASE + SLOTS as u64 * ALT_SIZE {
        return None;
    }
    Some(state_of(((sp - ALT_BASE) / ALT_SIZE) as usize))
}

fn slot_base(slot: usize) -> u64 {
    STACKS_START + slot as u64 * STACK_SLOT_SIZE
}

fn fill_garbage(addr: u64, len: u64) {
    // Safety: callers pass memory they just mapped read-write.
    unsafe { core::ptr::write_bytes(addr as *mut u8, GARBAGE, len as usize) };
}

/// A fresh stack slot: guard and on-demand pages inaccessible, the top page mapped with garbage.
fn prepare_slot(slot: usize) {
    // Not while the agent measures the slot's old stack (its pages are about to go).
    while SCANNING[slot]
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    SLOT_PEAK[slot].store(0, Ordering::Release);
    remap_slot(slot);
    SCANNING[slot].store(0, Ordering::Release);
}

fn remap_slot(slot: usize) {
    let base = slot_base(slot);
    mmap(base, STACK_SLOT_SIZE, libc::PROT_NONE, ANON_FIXED, -1, 0);
    let top_page = base + STACK_SLOT_SIZE - PAGE;
    mmap(top_page, PAGE, PROT_RW, ANON_FIXED, -1, 0);
    fill_garbage(top_page, PAGE);
}

/// Where stack high-water marks go (`EURALI_STACK_REPORT`, opened for appending), or -1.
static REPORT_FD: AtomicI32 = AtomicI32::new(-1);
/// The program's name for those reports (what follows `eurali-guest:` in argv[0]), NUL-free.
static REPORT_NAME: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Opens the stack report file named by `EURALI_STACK_REPORT`, if any (the loader thread, at
/// start).
fn open_stack_report(arg0: &str) {
    let Some(path) = std::env::var_os("EURALI_STACK_REPORT") else {
        return;
    };
    let Ok(path) = std::ffi::CString::new(path.into_encoded_bytes()) else {
        return;
    };
    let name = arg0.strip_prefix("eurali-guest:").unwrap_or(arg0);
    let name = name.rsplit('/').next().unwrap_or(name);
    let _ = REPORT_NAME.set(name.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
    // Safety: opens a NUL-terminated path.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
            0o644,
        )
    };
    REPORT_FD.store(fd, Ordering::Release);
}

/// Bytes of `slot`'s stack ever used: stack pages are mapped on first write and filled with
/// [`GARBAGE`] (the paint), so the deepest byte that is no longer garbage marks the high-water. Raw system calls only (runs in signal handlers too).
fn stack_used(slot: usize, own: bool) -> u64 {
    let base = slot_base(slot);
    let pages = (STACK_SLOT_SIZE / PAGE) as usize;
    let mut resident = [0u8; (STACK_SLOT_SIZE / PAGE_SIZE) as usize];
    // Safety: mincore of the slot's own (mapped) range into a local vector of one byte a page.
    let r = unsafe {
        sys::syscall3(
            libc::SYS_mincore,
            base,
            STACK_SLOT_SIZE,
            resident.as_mut_ptr() as u64,
        )
    };
    if r != 0 {
        return 0;
    }
    // The guard page (0) is never mapped; a resident page above it was written, so readable.
    let Some(first) = (1..pages).find(|&i| resident[i] & 1 != 0) else {
        return 0;
    };
    let start = base + first as u64 * PAGE;
    let top = base + STACK_SLOT_SIZE;
    let len = (top - start) as usize;
    let bytes: &[u8] = if own {
        // Safety: our own stack's written pages, read-write while we run on the slot.
        unsafe { core::slice::from_raw_parts(start as *const u8, len) }
    } else {
        // Another thread's stack may change under us (a new thread remapping the slot): copy
        // it with process_vm_readv, which fails instead of faulting. The agent's buffer.
        static COPY: std::sync::Mutex<[u8; STACK_SLOT_SIZE as usize]> =
            std::sync::Mutex::new([0; STACK_SLOT_SIZE as usize]);
        let mut copy = COPY.lock().unwrap_or_else(|e| e.into_inner());
        let local = libc::iovec {
            iov_base: copy.as_mut_ptr() as *mut libc::c_void,
            iov_len: len,
        };
        let remote = libc::iovec {
            iov_base: start as *mut libc::c_void,
            iov_len: len,
        };
        // Safety: reads our own process's memory into the local buffer of `len` bytes.
        let n = unsafe {
            sys::syscall6(
                libc::SYS_process_vm_readv,
                [
                    libc::getpid() as u64,
                    &local as *const _ as u64,
                    1,
                    &remote as *const _ as u64,
                    1,
                    0,
                ],
            )
        };
        if n != len as i64 {
            return 0;
        }
        return measure(&copy[..len], start, top);
    };
    measure(bytes, start, top)
}

/// The used part of a stack's bytes `[start, top)`: everything above the deepest non-paint byte.
fn measure(bytes: &[u8], start: u64, top: u64) -> u64 {
    // std-shim pre-faults every stack page by writing its first byte (reads of unwritten
    // on-demand pages freeze the real machine): those bytes are not use.
    let untouched = bytes
        .iter()
        .enumerate()
        .take_while(|&(i, &b)| b == GARBAGE || (start + i as u64).is_multiple_of(PAGE))
        .count() as u64;
    top - start - untouched
}

/// Held while the agent measures a slot or [`prepare_slot`] remaps it.
static SCANNING: [AtomicU8; SLOTS] = [const { AtomicU8::new(0) }; SLOTS];

/// The deepest use reported so far per slot (reset when the slot gets a new thread).
static SLOT_PEAK: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// Appends `NAME SLOT BYTES` to the stack report when `slot`'s thread went deeper than reported.
fn note_stack(slot: usize, own: bool) {
    let fd = REPORT_FD.load(Ordering::Acquire);
    if fd < 0 {
        return;
    }
    let used = stack_used(slot, own);
    if SLOT_PEAK[slot].fetch_max(used, Ordering::AcqRel) >= used {
        return;
    }
    let mut line = [0u8; 128];
    let mut n = 0;
    let mut put = |b: &[u8]| {
        let k = b.len().min(line.len() - n);
        line[n..n + k].copy_from_slice(&b[..k]);
        n += k;
    };
    put(REPORT_NAME.get().map_or(&b"?"[..], |v| &v[..]));
    let num = |mut v: u64, put: &mut dyn FnMut(&[u8])| {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        put(&digits[i..]);
    };
    put(b" ");
    num(slot as u64, &mut put);
    put(b" ");
    num(used, &mut put);
    put(b"\n");
    // One small append: not interleaved with other writers.
    sys::write(fd, &line[..n]);
}

fn rdtsc() -> u64 {
    // Safety: rdtsc has no preconditions.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Reports a fault to the supervisor on the thread's channel and ends the whole process (the real
/// machine would halt).
fn fault(kind: u64, addr: u64, rip: u64, sig: u64, code: u64, extra: u64) -> ! {
    let up = Up {
        kind: UP_FAULT,
        regs: [kind, addr, rip, sig, code, extra, 0],
    };
    match current_state() {
        Some(st) => {
            sys::send_packet(st.chan, bytes_of(&up), -1);
        }
        None => {
            let msg = b"eurali-guest: fault in the loader itself\n";
            sys::write(2, msg);
        }
    }
    sys::exit_group(70)
}

/// SIGSYS from Syscall User Dispatch: one trapped `syscall` of guest code.
extern "C" fn on_sigsys(_sig: i32, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // Safety: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let uc = unsafe { &mut *(ctx as *mut libc::ucontext_t) };
    let g = &mut uc.uc_mcontext.gregs;
    let rip = g[libc::REG_RIP as usize] as u64;
    let rax = g[libc::REG_RAX as usize] as u64;
    let Some(st) = current_state() else {
        fault(FAULT_LOADER, rip, rip, libc::SIGSYS as u64, 0, rax)
    };
    if !(ELF_WINDOW_START..ELF_WINDOW_END).contains(&rip.wrapping_sub(2)) {
        fault(
            FAULT_SYSCALL_OUTSIDE_WINDOW,
            rip.wrapping_sub(2),
            rip,
            0,
            0,
            rax,
        );
    }
    if rax & 0xFF == libeurali::abi::nr::EXIT_THREAD as u64 {
        // Before the supervisor hears of it: the last thread's exit ends the process at once.
        note_stack(st.slot as usize, true);
    }
    if rax & 0xFF > 17 {
        fault(FAULT_UNKNOWN_SYSCALL, rip.wrapping_sub(2), rip, 0, 0, rax);
    }
    let up = Up {
        kind: UP_SYSCALL,
        regs: [
            rax,
            g[libc::REG_RDI as usize] as u64,
            g[libc::REG_RSI as usize] as u64,
            g[libc::REG_RDX as usize] as u64,
            g[libc::REG_R8 as usize] as u64,
            g[libc::REG_R9 as usize] as u64,
            rip,
        ],
    };
    // A closed channel means the stub ended this thread (the kernel destroys a thread blocked on
    // an object whose last reference another thread closed, §3.5) or the whole process (then
    // the supervisor kills it anyway): end this thread only, never its siblings.
    if sys::send_packet(st.chan, bytes_of(&up), -1) < 0 {
        sys::exit_thread(0);
    }
    let mut buf = [0u8; core::mem::size_of::<Down>()];
    // A yield with an idle hint (a sleep) is answered only after the stub has slept for it:
    // polling meanwhile would burn a core's time for nothing (an idle system's watchers and
    // sleepers made hosted mode cost more than 1 % of a core). Block at once.
    let sleeps = rax & 0xFF == libeurali::abi::nr::YIELD as u64 && g[libc::REG_RDI as usize] != 0;
    let spins = if sleeps { 0 } else { SPINS };
    let (n, fd) = sys::recv_packet_spin(st.chan, &mut buf, spins);
    if n <= 0 {
        sys::exit_thread(0);
    }
    let d: Down = from_bytes(&buf[..n as usize]);
    match d.kind {
        DOWN_EXIT => {
            sys::close(st.chan);
            sys::exit_thread(0)
        }
        DOWN_FORK => start_child(g, fd),
        _ => {}
    }
    g[libc::REG_RAX as usize] = d.regs[0] as i64;
    g[libc::REG_RDI as usize] = d.regs[1] as i64;
    g[libc::REG_RSI as usize] = d.regs[2] as i64;
    g[libc::REG_RDX as usize] = d.regs[3] as i64;
    // What `syscall` itself leaves (§1.1): RCX = return RIP, R11 = RFLAGS.
    g[libc::REG_RCX as usize] = rip as i64;
    g[libc::REG_R11 as usize] = g[libc::REG_EFL as usize];
}

/// fork_thread's child: a real thread on a free stack slot with the parent's registers except
/// RAX = RDI = 0 and RSP = the top of its stack, resuming after the `syscall` (§1.4).
fn start_child(g: &[libc::greg_t; 23], chan: i32) {
    let slot = loop {
        // The stub counts threads, so a slot is free or about to be (an exiting thread).
        if let Some(s) = (0..SLOTS).find(|&s| {
            BUSY[s]
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        }) {
            break s;
        }
        sys::sched_yield();
    };
    prepare_slot(slot);
    let st = state_of(slot);
    st.chan = chan;
    st.slot = slot as u32;
    let reg = |i: i32| g[i as usize] as u64;
    let rip = reg(libc::REG_RIP);
    st.boot = [
        0,
        reg(libc::REG_RBX),
        rip,
        reg(libc::REG_RDX),
        reg(libc::REG_RSI),
        0,
        reg(libc::REG_RBP),
        reg(libc::REG_R8),
        reg(libc::REG_R9),
        reg(libc::REG_R10),
        reg(libc::REG_EFL),
        reg(libc::REG_R12),
        reg(libc::REG_R13),
        reg(libc::REG_R14),
        reg(libc::REG_R15),
        slot_base(slot) + STACK_SLOT_SIZE,
        rip,
        reg(libc::REG_EFL),
    ];
    spawn_thread(slot);
}

/// Clones a thread that runs [`thread_boot`] for `slot` on the slot's alternate stack.
fn spawn_thread(slot: usize) {
    let flags = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_CHILD_CLEARTID) as u64;
    let top = alt_region(slot) + ALT_SIZE - 64;
    let sp = top & !15;
    // Safety: the alt region is mapped and owned by the slot; the child pops these two words.
    unsafe {
        (sp as *mut u64).write(thread_boot as *const () as u64);
        ((sp + 8) as *mut u64).write(slot as u64);
    }
    let ctid = BUSY[slot].as_ptr() as u64;
    let ret: i64;
    // Safety: a bare clone; the child runs only the asm below and `thread_boot`, which never
    // returns, on its own stack.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "pop rax",
            "pop rdi",
            "call rax",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone => ret,
            in("rdi") flags,
            in("rsi") sp,
            in("rdx") 0u64,
            in("r10") ctid,
            in("r8") 0u64,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    if ret < 0 {
        BUSY[slot].store(0, Ordering::Release);
        fault(FAULT_LOADER, 0, 0, 0, 0, (-ret) as u64);
    }
}

/// A new guest thread: signals unblocked, its alternate stack, syscall dispatch on, then the
/// Merriwig register file.
extern "C" fn thread_boot(slot: u64) -> ! {
    let slot = slot as usize;
    let empty: u64 = 0;
    let ss = libc::stack_t {
        ss_sp: (alt_region(slot) + PAGE) as *mut libc::c_void,
        ss_flags: 0,
        ss_size: (ALT_SIZE - PAGE) as usize,
    };
    // Safety: plain system calls on live locals.
    unsafe {
        sys::syscall6(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as u64,
                &empty as *const u64 as u64,
                0,
                8,
                0,
                0,
            ],
        );
        sys::syscall3(
            libc::SYS_sigaltstack,
            &ss as *const libc::stack_t as u64,
            0,
            0,
        );
        let r = sys::syscall6(
            libc::SYS_prctl,
            [
                PR_SET_SYSCALL_USER_DISPATCH,
                PR_SYS_DISPATCH_ON,
                NATIVE_START,
                NATIVE_END - NATIVE_START,
                0,
                0,
            ],
        );
        if r != 0 {
            fault(FAULT_LOADER, 0, 0, 0, 0, (-r) as u64);
        }
    }
    let boot = state_of(slot).boot.as_ptr();
    // Safety: loads the Merriwig entry registers and jumps; the two words pushed below the new
    // RSP (return address and flags) are popped again by `popfq` / `ret`.
    unsafe {
        asm!(
            "mov rsp, [rax + 15*8]",
            "push qword ptr [rax + 16*8]",
            "push qword ptr [rax + 17*8]",
            "mov rbx, [rax + 1*8]",
            "mov rcx, [rax + 2*8]",
            "mov rdx, [rax + 3*8]",
            "mov rsi, [rax + 4*8]",
            "mov rdi, [rax + 5*8]",
            "mov rbp, [rax + 6*8]",
            "mov r8, [rax + 7*8]",
            "mov r9, [rax + 8*8]",
            "mov r10, [rax + 9*8]",
            "mov r11, [rax + 10*8]",
            "mov r12, [rax + 11*8]",
            "mov r13, [rax + 12*8]",
            "mov r14, [rax + 13*8]",
            "mov r15, [rax + 14*8]",
            "mov rax, [rax]",
            "popfq",
            "ret",
            in("rax") boot,
            options(noreturn),
        );
    }
}

const PR_SET_SYSCALL_USER_DISPATCH: u64 = 59;
/// Non-blocking polls for the supervisor's answer before blocking (see `recv_packet_spin`).
const SPINS: u32 = 200;
const PR_SYS_DISPATCH_ON: u64 = 1;

enum Region {
    OnDemand,
    Guard,
    /// Page `index` of the lazy chunk in slot `slot`, whose page states are at `states`.
    LazyChunk {
        slot: usize,
        states: u64,
        index: u64,
    },
    Other,
}

fn classify(page: u64) -> Region {
    if (HEAP_START + PAGE..HEAP_START + HEAP_SIZE).contains(&page) {
        return Region::OnDemand;
    }
    if let Some(slot) = chunk_slot_of(page) {
        let states = LAZY_STATES[slot].load(Ordering::Acquire);
        let index = (page - chunk_slot_base(slot)) / PAGE;
        if states != 0 && index < LAZY_PAGES[slot].load(Ordering::Acquire) {
            return Region::LazyChunk {
                slot,
                states,
                index,
            };
        }
        return Region::Other;
    }
    let stacks_end = STACKS_START + SLOTS as u64 * STACK_SLOT_SIZE;
    if (STACKS_START..stacks_end).contains(&page) {
        let slot = ((page - STACKS_START) / STACK_SLOT_SIZE) as usize;
        let off = (page - STACKS_START) % STACK_SLOT_SIZE;
        if BUSY[slot].load(Ordering::Acquire) == 0 {
            return Region::Other;
        }
        return if off == 0 {
            Region::Guard
        } else {
            Region::OnDemand
        };
    }
    Region::Other
}

/// SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP.
extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // Safety: the kernel passes valid siginfo and ucontext to an SA_SIGINFO handler.
    let (uc, info) = unsafe { (&mut *(ctx as *mut libc::ucontext_t), &*info) };
    let g = &uc.uc_mcontext.gregs;
    let rip = g[libc::REG_RIP as usize] as u64;
    let err = g[libc::REG_ERR as usize] as u64;
    let trapno = g[libc::REG_TRAPNO as usize] as u64;
    // Safety: si_addr is valid for SIGSEGV/SIGBUS/SIGILL/SIGFPE.
    let addr = unsafe { info.si_addr() } as u64;
    let code = info.si_code as u64;
    if sig == libc::SIGSEGV && trapno == 14 {
        let page = addr & !(PAGE - 1);
        match classify(page) {
            Region::OnDemand if err & 2 != 0 => {
                if mprotect(page, PAGE, PROT_RW) == 0 {
                    fill_garbage(page, PAGE);
                    return;
                }
                fault(FAULT_PAGE, addr, rip, sig as u64, code, err)
            }
            Region::OnDemand => fault(FAULT_READ_BEFORE_WRITE, addr, rip, sig as u64, code, err),
            Region::LazyChunk {
                slot,
                states,
                index,
            } => {
                // Safety: the agent keeps the state bytes mapped while LAZY_STATES names them.
                let state = unsafe { &*((states + index) as *const AtomicU8) };
                if err & 2 != 0
                    && state
                        .compare_exchange(UNWRITTEN, FILLING, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                {
                    // Garbage through the memfd first: no thread may see the page writable
                    // before it holds its garbage.
                    let fd = LAZY_FD[slot].load(Ordering::Acquire);
                    let n = sys::pwrite(fd, &GARBAGE_PAGE, index * PAGE);
                    if n != PAGE as i64 || mprotect(page, PAGE, PROT_RW) != 0 {
                        fault(FAULT_PAGE, addr, rip, sig as u64, code, err)
                    }
                    state.store(WRITTEN, Ordering::Release);
                    return;
                }
                if state.load(Ordering::Acquire) == UNWRITTEN {
                    fault(FAULT_READ_BEFORE_WRITE, addr, rip, sig as u64, code, err)
                }
                // Written, or being made writable by another thread: retry once it is.
                while state.load(Ordering::Acquire) != WRITTEN {
                    sys::sched_yield();
                }
                return;
            }
            Region::Guard => fault(FAULT_GUARD_PAGE, addr, rip, sig as u64, code, err),
            Region::Other => fault(FAULT_PAGE, addr, rip, sig as u64, code, err),
        }
    }
    fault(FAULT_SIGNAL, addr, rip, sig as u64, code, trapno)
}

fn install(sig: i32, handler: usize) {
    // Safety: a zeroed sigaction with the fields we need set is valid; handlers are
    // async-signal-safe (raw system calls only).
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, core::ptr::null_mut());
    }
}

fn die(msg: &str) -> ! {
    eprintln!("eurali-guest: {msg}");
    sys::exit_group(71)
}

/// The loader: `eurali-guest AGENT_FD CHANNEL_FD BOOT_FD` (descriptors inherited from the
/// supervisor).
pub fn main() -> ! {
    let args: Vec<String> = std::env::args().collect();
    let fd = |i: usize| -> i32 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
            die("usage: eurali-guest AGENT_FD CHANNEL_FD BOOT_FD (started by kernel-stub)")
        })
    };
    let (agent, chan, boot_fd) = (fd(1), fd(2), fd(3));
    open_stack_report(args.first().map_or("?", String::as_str));
    // Safety: plain calls.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    if (main as *const () as u64) < NATIVE_START {
        die("the loader itself lies below 0x300_0000_0000 (built without PIE?)");
    }
    // The boot block.
    // SAFETY: `stat` is plain data, for which all zeros is a valid value.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // Safety: fstat into a local.
    if unsafe { libc::fstat(boot_fd, &mut st) } != 0 {
        die("cannot stat the boot block");
    }
    let size = st.st_size as u64;
    let p = mmap(
        0,
        size.max(1),
        libc::PROT_READ,
        libc::MAP_PRIVATE,
        boot_fd,
        0,
    );
    if p < 0 {
        die("cannot map the boot block");
    }
    // Safety: just mapped, `size` bytes.
    let block = unsafe { core::slice::from_raw_parts(p as *const u8, size as usize) };
    let h: BootHeader = from_bytes(block);
    let hl = core::mem::size_of::<BootHeader>();
    if h.magic != BOOT_MAGIC || (hl as u64 + h.args_len + h.env_len + h.elf_len) > size {
        die("bad boot block");
    }
    let args_b = &block[hl..hl + h.args_len as usize];
    let env_b = &block[hl + h.args_len as usize..][..h.env_len as usize];
    let elf = &block[hl + (h.args_len + h.env_len) as usize..][..h.elf_len as usize];
    let image = libeurali::elf::parse(elf).unwrap_or_else(|e| die(&format!("ELF refused: {e}")));

    // The Merriwig areas, reserved before anything else can land there.
    let noreplace =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
    if mmap(
        AREA_START,
        AREA_END - AREA_START,
        libc::PROT_NONE,
        noreplace,
        -1,
        0,
    ) != AREA_START as i64
    {
        die("cannot reserve the stack/heap/chunk area");
    }
    let alt_len = SLOTS as u64 * ALT_SIZE;
    if mmap(ALT_BASE, alt_len, PROT_RW, noreplace, -1, 0) != ALT_BASE as i64 {
        die("cannot map the alternate stacks");
    }
    // Segments: every page read-write-execute (§4.3), garbage, then the file bytes.
    for l in image.loads() {
        let start = l.vaddr & !(PAGE - 1);
        let end = (l.vaddr + l.memsz).div_ceil(PAGE) * PAGE;
        if mmap(start, end - start, PROT_RWX, noreplace, -1, 0) != start as i64 {
            die(&format!("cannot map the segment at {:#x}", l.vaddr));
        }
        fill_garbage(start, end - start);
        let bytes = &elf[l.offset as usize..(l.offset + l.filesz) as usize];
        // Safety: [vaddr, vaddr + filesz) was just mapped writable.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), l.vaddr as *mut u8, bytes.len()) };
    }
    // KernelInfo: read-only for the program, written by the agent through a second mapping.
    // SAFETY: a C string literal; the call reads nothing else of ours.
    let kfd = unsafe { libc::memfd_create(c"kernel-info".as_ptr(), libc::MFD_CLOEXEC) };
    // SAFETY: `kfd` is the descriptor just made; ftruncate touches no memory of ours.
    if kfd < 0 || unsafe { libc::ftruncate(kfd, PAGE as i64) } != 0 {
        die("cannot make the KernelInfo page");
    }
    let shared_fixed = libc::MAP_SHARED | libc::MAP_FIXED_NOREPLACE;
    if mmap(KERNEL_INFO, PAGE, libc::PROT_READ, shared_fixed, kfd, 0) != KERNEL_INFO as i64 {
        die("cannot map the KernelInfo page");
    }
    let kinfo = mmap(0, PAGE, PROT_RW, libc::MAP_SHARED, kfd, 0);
    if kinfo < 0 {
        die("cannot map the KernelInfo page for writing");
    }
    let kinfo = kinfo as u64;
    update_kinfo(kinfo, &h);
    // The heap: the first page is the writable owner, the rest on demand.
    mmap(HEAP_START, PAGE, PROT_RW, ANON_FIXED, -1, 0);
    fill_garbage(HEAP_START, PAGE);

    // The first thread: slot 0, args and env blocks at the stack top (§4.2).
    BUSY[0].store(1, Ordering::Release);
    prepare_slot(0);
    let top = slot_base(0) + STACK_SLOT_SIZE;
    let (a, e, sp) = libeurali::params::block_layout(top, args_b.len(), env_b.len());
    for (addr, data) in [(a, args_b), (e, env_b)] {
        if addr != 0 {
            // Safety: the blocks lie in the top page (args + env <= one page minus 8, checked by
            // the supervisor) or, at most, just below it in the on-demand page, where the first
            // write maps it.
            unsafe {
                (addr as *mut i32).write_unaligned(data.len() as i32);
                core::ptr::copy_nonoverlapping(data.as_ptr(), (addr + 4) as *mut u8, data.len());
            }
        }
    }
    for sig in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
    ] {
        install(sig, on_fault as *const () as usize);
    }
    install(libc::SIGSYS, on_sigsys as *const () as usize);
    let st0 = state_of(0);
    st0.chan = chan;
    st0.slot = 0;
    // Other registers are undefined on the kernel (uninitialised kernel memory).
    let mut boot = [0u64; 18];
    for (i, w) in boot.iter_mut().enumerate() {
        *w = 0xDEAD_BEEF_0000_0000 | (i as u64) << 8 | 0x5A;
    }
    boot[r::RAX] = HEAP_START;
    boot[r::RCX] = HEAP_SIZE;
    boot[r::RDX] = a;
    boot[r::RDI] = e;
    boot[r::RSP] = sp;
    boot[r::RIP] = image.entry;
    boot[r::RFLAGS] = 0x202 | h.iopl;
    let _ = (r::RBX, r::RSI, r::RBP, r::R8);
    st0.boot = boot;
    spawn_thread(0);
    agent_loop(agent, kinfo, &h)
}

/// Milliseconds until the next timer interrupt (65536 PIT ticks, ~55 ms), when the KernelInfo
/// words change next: the agent sleeps that long (at least 1 ms) rather than waking every few
/// milliseconds for a clock that has not moved, which an idle system would pay for.
fn ms_to_next_interrupt(h: &BootHeader) -> i32 {
    let per = h.tsc_per_pit.max(1);
    let ticks = rdtsc().saturating_sub(h.boot_tsc) / per;
    let left = 65536 - ticks % 65536;
    // PIT: 3 579 545 / 3 Hz.
    (left * 3000 / 3_579_545 + 1).min(60) as i32
}

/// The KernelInfo words (§4.4): PIT ticks in whole timer interrupts, the TSC at the last one,
/// TSC ticks per PIT tick.
fn update_kinfo(kinfo: u64, h: &BootHeader) {
    let per = h.tsc_per_pit.max(1);
    let ticks = rdtsc().saturating_sub(h.boot_tsc) / per;
    let pit = ticks / 65536 * 65536;
    let last = h.boot_tsc + pit * per;
    // Safety: the agent's writable view of the KernelInfo page.
    unsafe {
        let w = kinfo as *mut u64;
        w.add(1).write_volatile(last);
        w.add(2).write_volatile(h.tsc_per_pit);
        w.write_volatile(pit);
    }
}

/// The agent: chunk mapping instructions from the supervisor, and the clock.
fn agent_loop(agent: i32, kinfo: u64, h: &BootHeader) -> ! {
    loop {
        let mut p = libc::pollfd {
            fd: agent,
            events: libc::POLLIN,
            revents: 0,
        };
        // Safety: polls one live pollfd.
        let n = unsafe { libc::poll(&mut p, 1, ms_to_next_interrupt(h)) };
        update_kinfo(kinfo, h);
        if REPORT_FD.load(Ordering::Relaxed) >= 0 {
            // Threads that never exit (servers in receive) are measured as they run.
            for slot in 0..SLOTS {
                if SCANNING[slot]
                    .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    if BUSY[slot].load(Ordering::Acquire) != 0 {
                        note_stack(slot, false);
                    }
                    SCANNING[slot].store(0, Ordering::Release);
                }
            }
        }
        if n <= 0 {
            continue;
        }
        let mut buf = [0u8; core::mem::size_of::<Op>()];
        let (got, fd) = sys::recv_packet(agent, &mut buf, false);
        if got <= 0 {
            // The supervisor ended this process.
            sys::exit_group(0);
        }
        let op: Op = from_bytes(&buf[..got as usize]);
        let ok = (AREA_START..AREA_END).contains(&op.addr)
            && op.len <= AREA_END - op.addr
            && op.addr.is_multiple_of(PAGE);
        let r = if !ok {
            -(libc::EINVAL as i64)
        } else if op.kind == OP_MAP && fd >= 0 {
            forget_lazy(op.addr);
            mmap(
                op.addr,
                op.len,
                PROT_RW,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                0,
            )
        } else if op.kind == OP_MAP_LAZY && fd >= 0 {
            forget_lazy(op.addr);
            map_lazy(op.addr, op.len, fd)
        } else if op.kind == OP_UNMAP {
            forget_lazy(op.addr);
            mmap(op.addr, op.len, libc::PROT_NONE, ANON_FIXED, -1, 0)
        } else {
            -(libc::EINVAL as i64)
        };
        // A lazy chunk's memfd stays open (its pages are filled through it).
        if fd >= 0 && !(op.kind == OP_MAP_LAZY && r >= 0) {
            sys::close(fd);
        }
        let ack: u64 = if r < 0 { (-r) as u64 } else { 0 };
        sys::send_packet(agent, &ack.to_ne_bytes(), -1);
    }
}

/// Maps a lazy chunk's memfd at `addr` (a chunk slot base): its page states somewhere of the
/// agent's choosing, the written pages read-write, the rest inaccessible. Keeps `fd` on success.
fn map_lazy(addr: u64, len: u64, fd: i32) -> i64 {
    let Some(slot) = chunk_slot_of(addr) else {
        return -(libc::EINVAL as i64);
    };
    if addr != chunk_slot_base(slot)
        || len == 0
        || len > CHUNK_SLOT_SIZE
        || !len.is_multiple_of(PAGE)
    {
        return -(libc::EINVAL as i64);
    }
    let pages = len / PAGE;
    let states_len = crate::memory::lazy_memfd_len(len) - len;
    let r = mmap(
        addr,
        len,
        libc::PROT_NONE,
        libc::MAP_SHARED | libc::MAP_FIXED,
        fd,
        0,
    );
    if r < 0 {
        return r;
    }
    let states = mmap(0, states_len, PROT_RW, libc::MAP_SHARED, fd, len);
    if states < 0 {
        mmap(addr, len, libc::PROT_NONE, ANON_FIXED, -1, 0);
        return states;
    }
    let states = states as u64;
    // Safety: `pages` state bytes were just mapped at `states`.
    let written = |i: u64| unsafe { ((states + i) as *const u8).read_volatile() } != UNWRITTEN;
    let mut i = 0;
    while i < pages {
        if !written(i) {
            i += 1;
            continue;
        }
        let run = i;
        while i < pages && written(i) {
            i += 1;
        }
        if mprotect(addr + run * PAGE, (i - run) * PAGE, PROT_RW) != 0 {
            // The state bytes mapped above.
            sys::munmap(states, states_len);
            mmap(addr, len, libc::PROT_NONE, ANON_FIXED, -1, 0);
            return -(libc::ENOMEM as i64);
        }
    }
    LAZY_FD[slot].store(fd, Ordering::Release);
    LAZY_PAGES[slot].store(pages, Ordering::Release);
    LAZY_STATES[slot].store(states, Ordering::Release);
    0
}

/// Drops what the agent keeps for a lazy chunk in the slot at `addr`, if any (before the slot is
/// unmapped or remapped).
fn forget_lazy(addr: u64) {
    let Some(slot) = chunk_slot_of(addr) else {
        return;
    };
    let states = LAZY_STATES[slot].swap(0, Ordering::AcqRel);
    if states == 0 {
        return;
    }
    let len = LAZY_PAGES[slot].load(Ordering::Acquire) * PAGE;
    let states_len = crate::memory::lazy_memfd_len(len) - len;
    // The state bytes `map_lazy` mapped for this slot.
    sys::munmap(states, states_len);
    sys::close(LAZY_FD[slot].swap(-1, Ordering::AcqRel));
}
