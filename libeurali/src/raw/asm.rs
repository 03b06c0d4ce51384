//! The real kernel: the `syscall` instruction (ABI document §1.1).

use super::ThreadEntry;
use crate::abi::{Registers, nr};

/// Runs one system call with the given register file and stores the kernel's results in it.
///
/// # Safety
/// The call's pointers and handles are handed to the kernel unchecked: they must be valid for the
/// call (the real kernel checks no pointer; a bad one halts the machine).
#[inline(always)]
pub unsafe fn syscall(r: &mut Registers) {
    // Safety: the kernel reads RAX/RDI/RSI/RDX, writes them back, and clobbers only RCX and R11
    // (§1.1). DF is clear by the Rust ABI. The stack is not touched by the kernel.
    unsafe {
        core::arch::asm!(
            "syscall",
            inout("rax") r.rax,
            inout("rdi") r.rdi,
            inout("rsi") r.rsi,
            inout("rdx") r.rdx,
            in("r8") r.r8,
            in("r9") r.r9,
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
}

/// fork_thread with our contract: the child calls `entry(arg)` on its fresh stack (RDI = arg),
/// entry and arg travelling in R8/R9, which the kernel copies to the child (§1.4). The child
/// first writes the lower pages of its stack, so every thread, however started, is safe from
/// the read-before-write freeze.
/// Returns the child's thread id, or the kernel's status word on failure.
///
/// # Safety
/// `entry` must be sound to run on a fresh 28 KiB stack with `arg`, concurrently with the caller.
pub unsafe fn spawn_thread(entry: ThreadEntry, arg: u64) -> Result<u64, u64> {
    let rax: u64;
    let rdi: u64;
    // Safety: in the parent this is an ordinary syscall. The child resumes after `syscall` with
    // RAX = RDI = 0 on a new, 16-byte aligned stack: it never returns into this frame, but calls
    // `entry` (which never returns); `ud2` only guards a broken entry.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "test rdi, rdi",
            "jnz 2f",
            // Child: write one byte in each of the six on-demand pages below the top page of
            // this stack slot before any compiled code may read them (ABI §4.3). RSP is the
            // slot's top (32 KiB aligned), so RSP - 1 lies in the slot.
            "lea rax, [rsp - 1]",
            "and rax, -0x8000",
            "lea rdx, [rax + 0x7000]",
            "add rax, 0x1000",
            "3:",
            "mov byte ptr [rax], 0",
            "add rax, 0x1000",
            "cmp rax, rdx",
            "jb 3b",
            "mov rdi, r9",
            "call r8",
            "ud2",
            "2:",
            inout("rax") nr::FORK_THREAD as u64 => rax,
            inout("rdi") 1u64 => rdi,
            in("r8") entry as usize as u64,
            in("r9") arg,
            out("rcx") _,
            out("r11") _,
            out("rsi") _,
            out("rdx") _,
        );
    }
    if rax & 0x7F == 0 { Ok(rdi) } else { Err(rax) }
}
