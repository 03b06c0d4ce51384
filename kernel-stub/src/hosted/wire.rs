//! What the supervisor and a guest process say to each other (both sides are in this crate).
//!
//! Per guest thread one SOCK_SEQPACKET pair: the guest's SIGSYS handler sends an [`Up`] (a trapped
//! `syscall` with its register file, or a fault report) and waits for a [`Down`] (the kernel's
//! registers, "you are a new thread's parent" with the child's channel attached, or "exit").
//! Per guest process one more pair to its agent thread, which maps and unmaps chunk memory on the
//! supervisor's instruction ([`Op`], answered by an 8-byte ack) and keeps the KernelInfo page
//! ticking. Everything is native-endian `repr(C)` words (`bytemuck::Pod`: any bytes are a
//! value, so a short or hostile message cannot make an invalid one).

use bytemuck::{Pod, Zeroable};

/// Up: a trapped `syscall`; `regs` = RAX, RDI, RSI, RDX, R8, R9 and the RIP after the instruction.
pub const UP_SYSCALL: u64 = 1;
/// Up: the thread hit something that halts the real machine; `regs[0]` is a `FAULT_*` kind.
pub const UP_FAULT: u64 = 2;

/// Fault kinds (`Up.regs[0]` of [`UP_FAULT`]); `regs[1]` = address, `regs[2]` = RIP,
/// `regs[3]` = signal, `regs[4]` = si_code, `regs[5]` = page-fault error code / syscall number.
pub const FAULT_READ_BEFORE_WRITE: u64 = 1;
pub const FAULT_GUARD_PAGE: u64 = 2;
pub const FAULT_PAGE: u64 = 3;
pub const FAULT_SIGNAL: u64 = 4;
pub const FAULT_SYSCALL_OUTSIDE_WINDOW: u64 = 5;
pub const FAULT_UNKNOWN_SYSCALL: u64 = 6;
pub const FAULT_LOADER: u64 = 7;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Up {
    pub kind: u64,
    pub regs: [u64; 7],
}

/// Down: resume with RAX, RDI, RSI, RDX = `regs`.
pub const DOWN_RESUME: u64 = 1;
/// Down: fork_thread succeeded: start a child with the attached channel, then resume as
/// [`DOWN_RESUME`] (`regs` hold the parent's results, RDI = the child's thread id).
pub const DOWN_FORK: u64 = 2;
/// Down: the thread ends (exit_thread, or the stub ended it).
pub const DOWN_EXIT: u64 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Down {
    pub kind: u64,
    pub regs: [u64; 4],
}

/// Op: map the attached memfd read-write (shared) at `addr` for `len` bytes.
pub const OP_MAP: u64 = 1;
/// Op: make `[addr, addr + len)` an inaccessible reservation again.
pub const OP_UNMAP: u64 = 2;
/// Op: map the attached memfd of a lazy chunk at `addr` for `len` bytes: its page states follow
/// the bytes (`crate::memory::lazy_memfd_len`); written pages read-write, the rest inaccessible
/// until the guest's first write to them.
pub const OP_MAP_LAZY: u64 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Op {
    pub kind: u64,
    pub addr: u64,
    pub len: u64,
}

/// The boot block (a memfd): this header, then args, env and the ELF file bytes.
pub const BOOT_MAGIC: u64 = 0x6575_7261_6c69_6231; // "euralib1"

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BootHeader {
    pub magic: u64,
    pub args_len: u64,
    pub env_len: u64,
    pub elf_len: u64,
    /// TSC ticks per PIT tick, and the TSC at boot (PIT count 0), for the KernelInfo page.
    pub tsc_per_pit: u64,
    pub boot_tsc: u64,
    /// RFLAGS IOPL bits to report (the host cannot grant port I/O).
    pub iopl: u64,
}

/// Views a `repr(C)` value of plain words as bytes.
pub fn bytes_of<T: Pod>(t: &T) -> &[u8] {
    bytemuck::bytes_of(t)
}

/// Reads a value of plain words from the start of `b` (missing bytes are zero).
pub fn from_bytes<T: Pod>(b: &[u8]) -> T {
    let mut t = T::zeroed();
    let n = b.len().min(core::mem::size_of::<T>());
    bytemuck::bytes_of_mut(&mut t)[..n].copy_from_slice(&b[..n]);
    t
}

/// Garbage for fresh memory: what the kernel's recycled frames hold (never zeros).
pub const GARBAGE: u8 = 0xAB;
