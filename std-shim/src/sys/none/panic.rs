//! The panic handler of real-kernel programs.
//!
//! A panic goes to [`crate::rt::on_panic`], which reports `panicked at FILE:LINE:COL: MESSAGE`
//! on stderr (formatted on the stack, no allocation; on the kernel's screen line if stderr fails)
//! and the status channel, and ends the thread. Nothing here aborts: a
//! `ud2` halts the whole machine (ABI §4.9). Allocation failure arrives here too (alloc's
//! default error handler panics, through `core::panicking::panic_nounwind_fmt` when it cannot
//! unwind), so an out-of-memory thread prints and ends like any other panic.

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};
use libeurali::abi::layout;

/// Per stack slot (= per live thread): whether that thread is inside the panic handler. There
/// is no thread-local storage on this kernel, but a thread's stack slot identifies it.
static PANICKING: [AtomicBool; layout::MAX_THREADS] =
    [const { AtomicBool::new(false) }; layout::MAX_THREADS];

/// Clears the panic flag of the calling thread's slot (a slot is reused by later threads).
pub(super) fn thread_started() {
    if let Some(slot) = super::current_stack_slot() {
        PANICKING[slot].store(false, Ordering::Relaxed);
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let nested = match super::current_stack_slot() {
        Some(slot) => PANICKING[slot].swap(true, Ordering::Relaxed),
        None => false,
    };
    if nested {
        // The report itself panicked: do not recurse into it again.
        super::abort_process("panicked while panicking; thread ended\n");
    }
    crate::rt::on_panic(info)
}
