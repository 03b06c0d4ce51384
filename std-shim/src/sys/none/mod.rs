//! The real Merriwig kernel (`target_os = "none"`): entry, allocator, panics, clock.
//!
//! This is the only place above libeurali that knows it runs on the real kernel, and the only
//! home of `asm!` outside libeurali's `raw/asm.rs`. It gives the rest of std-shim:
//!
//! - `_start` (in [`entry`]): the ELF entry point. Before any compiled code runs it aligns the
//!   stack, writes every lower page of the 28 KiB stack (ABI §4.3: reading an on-demand page
//!   before its first write freezes the machine) and zeroes `.bss` (memory is never zeroed);
//!   then it starts the allocator and calls [`crate::rt::start`] with the program's
//!   `__eurali_main` (emitted by `std::program!`).
//! - [`THREAD_ENTRY`]: the same stack preparation for threads made with fork_thread, then
//!   [`crate::rt::thread_main`].
//! - the global allocator ([`heap`]): talc over the 4 MiB heap, handed to talc in pre-faulted
//!   pieces as it grows, then over memory chunks once the heap is used up.
//! - the panic handler ([`panic`]): prints through debug_write and ends the thread through
//!   [`crate::rt::on_panic`]; never aborts (an abort's `ud2` halts the whole machine).
//! - [`now_micros`] / [`sleep_micros`] from the KernelInfo page ([`clock`] holds the arithmetic).
//! - [`abort_process`].
//!
//! The runtime's per-process and per-thread state on this kernel (no TLS: found by stack slot)
//! lives in [`rt`], including the `on_panic` the panic handler ends in.

// `clock` is pure arithmetic; xtask's tests compile this very file on the host.
mod clock;
mod entry;
mod heap;
mod panic;
mod rt;

pub use entry::THREAD_ENTRY;
pub use rt::*;

use core::sync::atomic::{AtomicU64, Ordering};
use libeurali::abi::layout;

/// The largest time ever returned, so that [`now_micros`] never goes back, whatever the
/// interleaving of threads and timer interrupts.
static LAST_MICROS: AtomicU64 = AtomicU64::new(0);

/// Microseconds since boot, from the kernel's PIT tick count refined by the TSC (ABI §4.4).
/// Monotonic: never smaller than an earlier result in any thread of this process.
pub fn now_micros() -> u64 {
    let now = clock::micros(clock::fine_ticks(read_kernel_info()));
    LAST_MICROS.fetch_max(now, Ordering::Relaxed).max(now)
}

/// This process's heap: bytes in use and bytes claimed by the allocator (see [`heap`]).
pub fn heap_stats() -> Option<(u64, u64)> {
    Some(heap::stats())
}

/// Blocks the calling thread for at least `us` microseconds by yielding until the deadline
/// (the kernel has no timers; each idle yield may take a whole ~55 ms timer tick). Each yield
/// carries the time left as an idle hint (`libeurali::idle`), which kernel-stub's hosted mode
/// turns into a real sleep of the thread.
pub fn sleep_micros(us: u64) {
    let deadline = now_micros().saturating_add(us);
    loop {
        let now = now_micros();
        if now >= deadline {
            return;
        }
        libeurali::idle(deadline - now);
    }
}

/// Ends the calling thread after printing `msg` on the kernel's screen line. The kernel cannot
/// end a process from inside; the other threads (if any) go on.
pub fn abort_process(msg: &str) -> ! {
    libeurali::debug_write(msg);
    if !msg.ends_with('\n') {
        libeurali::debug_write("\n");
    }
    libeurali::exit_thread()
}

/// The calling thread's stack slot (0..64), from the address of one of its locals: there is no
/// thread-local storage on this kernel, but a live thread owns its slot.
fn current_stack_slot() -> Option<usize> {
    let marker = 0u8;
    layout::stack_slot_of(core::hint::black_box(&marker) as *const u8 as u64)
}

/// A consistent snapshot of the KernelInfo page with the TSC read after it.
///
/// The timer interrupt updates the page atomically as far as this thread can tell (one CPU,
/// interrupts off in the handler), so re-reading the tick count tells whether an interrupt came
/// between the reads.
fn read_kernel_info() -> clock::Snapshot {
    let info = layout::KERNEL_INFO as *const u64;
    loop {
        // Safety: the KernelInfo page is mapped read-only into every process (§4.4); the three
        // words are aligned u64 at offsets 0, 8 and 16. Volatile: the kernel changes them.
        let (pit_ticks, last_tsc, tsc_per_pit) = unsafe {
            (
                info.read_volatile(),
                info.add(1).read_volatile(),
                info.add(2).read_volatile(),
            )
        };
        let tsc = rdtsc();
        // Safety: as above.
        if unsafe { info.read_volatile() } == pit_ticks {
            return clock::Snapshot {
                pit_ticks,
                last_tsc,
                tsc_per_pit,
                tsc,
            };
        }
    }
}

/// Fills `buf` with random bytes; `true` if they came from the CPU's generator (RDRAND, which
/// works in ring 3), `false` if it has none (or it kept failing) and the bytes are a mix of
/// time-stamp counter readings taken around yields instead: unpredictable enough for a salt,
/// which needs to be unique rather than secret, but guessable by someone who knows roughly when
/// it was made.
pub fn fill_random(buf: &mut [u8]) -> bool {
    // cpuid leaf 1 exists on every x86-64 CPU (and is a safe intrinsic on this toolchain).
    let has_rdrand = core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0;
    if has_rdrand {
        let ok = buf.chunks_mut(8).all(|chunk| match rdrand() {
            Some(v) => {
                chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
                true
            }
            None => false,
        });
        if ok {
            return true;
        }
    }
    let mut x = 0x9e37_79b9_7f4a_7c15 ^ rdtsc();
    for chunk in buf.chunks_mut(8) {
        for _ in 0..2 {
            libeurali::yield_now(); // scheduling jitter between readings
            x = splitmix64(x ^ rdtsc());
        }
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    false
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One RDRAND value; `None` after ten underflows (the generator is out of entropy for now).
fn rdrand() -> Option<u64> {
    for _ in 0..10 {
        let v: u64;
        let ok: u8;
        // Safety: rdrand writes a register and the carry flag only; the caller checked CPUID.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok,
                options(nomem, nostack));
        }
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// The time-stamp counter (`rdtsc` works in ring 3).
fn rdtsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // Safety: rdtsc only reads the counter into EDX:EAX. No `nomem`: the compiler must keep it
    // between the volatile reads of the KernelInfo page around it.
    unsafe {
        core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}
