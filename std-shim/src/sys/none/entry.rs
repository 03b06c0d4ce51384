//! Process and thread entry: the code that runs before any compiled code may (ABI §4.2, §4.3).
//!
//! Stack slots are 32 KiB apart: a guard page at the slot base, then seven stack pages. The top
//! page is mapped (the kernel writes the args/env blocks into it, `call` writes a thread's first
//! return address); the six below it are on-demand pages that freeze the machine if read before
//! their first write. Compiled code may read a stack slot it never wrote (a spill of an
//! uninitialised value, a large frame), so both entries write one byte in each of those six
//! pages first, in asm that touches no stack below the top page.

use super::{heap, panic};
use libeurali::EntryRegisters;
use libeurali::raw::ThreadEntry;

// Safety: the signature matches the `pub fn __eurali_main()` that `std::program!` emits.
unsafe extern "Rust" {
    /// The program's main, emitted by `std::program!` as `#[unsafe(no_mangle)] pub fn`.
    fn __eurali_main();
}

// Safety: both symbols are defined by the linker script, start <= end, 8-byte aligned; only
// their addresses are used.
unsafe extern "C" {
    /// First byte of `.bss` (defined by `xtask/eurali.ld`).
    static __eurali_bss_start: u8;
    /// One past the last byte of `.bss` (defined by `xtask/eurali.ld`).
    static __eurali_bss_end: u8;
}

/// The ELF entry point. The kernel passes the heap start in RAX, the heap size in RCX, the args
/// block in RDX and the env block in RDI (0 when absent); RSP sits just below the blocks and may
/// be odd; every other register is garbage (§4.2). DF is clear (RFLAGS = 0x200 or 0x3200).
// Safety: naked, so no prologue touches the stack before the asm below prepares it; the symbol
// `_start` is the ELF entry (eurali.ld) and exists once per program (only std-shim defines it).
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        // Keep the four entry values in registers that the code below leaves alone.
        "mov r12, rax",
        "mov r13, rcx",
        "mov r14, rdx",
        "mov r15, rdi",
        // Align down: moves away from the blocks above RSP, never over them.
        "and rsp, -16",
        "call {prefault}",
        // Zero .bss (the kernel copies p_filesz bytes and leaves the rest as the frames were).
        "lea rdi, [rip + {bss_start}]",
        "lea rcx, [rip + {bss_end}]",
        "sub rcx, rdi",
        "xor eax, eax",
        "cld",
        "rep stosb",
        // rust_start(heap_start, heap_size, args, env), with RSP 16-byte aligned at the call.
        "mov rdi, r12",
        "mov rsi, r13",
        "mov rdx, r14",
        "mov rcx, r15",
        "call {rust_start}",
        // Not reached: rust_start never returns. Should it, end the thread (exit_thread = 1)
        // rather than fall into whatever follows.
        "2:",
        "mov eax, 1",
        "syscall",
        "jmp 2b",
        prefault = sym prefault_stack,
        bss_start = sym __eurali_bss_start,
        bss_end = sym __eurali_bss_end,
        rust_start = sym rust_start,
    )
}

/// The entry of every thread made by `libeurali::spawn_thread` (fork_thread). libeurali's
/// fork_thread has already written the six on-demand pages of the new stack before calling it
/// (one pre-fault for every thread, whoever starts it), so this is ordinary compiled code.
pub const THREAD_ENTRY: ThreadEntry = thread_start;

/// Writes one byte in each of the six on-demand pages of the calling thread's stack slot.
///
/// Called from `_start` with RSP inside the slot's top page (at most one
/// return address below the entry RSP). Touches only R8, R9, R10 and flags, and no stack beyond
/// its own return address.
// Safety: naked: the asm is the whole function, with its own `ret`.
#[unsafe(naked)]
extern "C" fn prefault_stack() {
    core::arch::naked_asm!(
        // Slot base (the guard page): the slots are 32 KiB aligned (STACKS_START is).
        "mov r8, rsp",
        "and r8, -0x8000",
        // The top page, already mapped, ends the loop.
        "lea r9, [r8 + 0x7000]",
        // The lowest stack page is the one above the guard.
        "lea r10, [r8 + 0x1000]",
        "2:",
        "mov byte ptr [r10], 0",
        "add r10, 0x1000",
        "cmp r10, r9",
        "jb 2b",
        "ret",
    )
}

/// The first compiled code of the process: the stack is ready and `.bss` is zero.
extern "C" fn rust_start(heap_start: u64, heap_size: u64, args: u64, env: u64) -> ! {
    panic::thread_started();
    heap::init(heap_start, heap_size);
    let regs = EntryRegisters {
        heap_start,
        heap_size,
        args,
        env,
    };
    crate::rt::start(regs, program_main)
}

/// The first compiled code of a thread made with fork_thread.
extern "C-unwind" fn thread_start(arg: u64) -> ! {
    panic::thread_started();
    crate::rt::thread_main(arg)
}

fn program_main() {
    // Safety: `std::program!` defines `__eurali_main` as a plain `fn()` in every program.
    unsafe { __eurali_main() }
}
