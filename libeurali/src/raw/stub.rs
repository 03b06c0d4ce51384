//! The host: the same register file, handed to the kernel stub that runs in this process.

use super::ThreadEntry;
use crate::abi::{Call, Registers};
use core::sync::atomic::{AtomicPtr, Ordering};

/// A kernel that takes a register file and runs the call for the current host thread: what
/// `kernel-stub` installs.
pub type StubKernel = fn(&mut Registers);

static STUB: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Makes `kernel` the receiver of every syscall made in this process. Installing the same
/// function again is harmless; the stub itself tells its kernels apart per thread.
pub fn install_stub(kernel: StubKernel) {
    STUB.store(kernel as *mut (), Ordering::Release);
}

/// Runs one system call on the installed stub.
///
/// # Safety
/// As for the real kernel: pointers must be valid for the call (the stub checks what it can and
/// reports the rest as a fault that would halt the real machine).
pub unsafe fn syscall(r: &mut Registers) {
    let p = STUB.load(Ordering::Acquire);
    if p.is_null() {
        panic!(
            "eurali: `{}` called with no kernel stub installed: run this code inside kernel-stub",
            Call::decode(r).name()
        );
    }
    // Safety: only `install_stub` stores here, always a `StubKernel`.
    let kernel: StubKernel = unsafe { core::mem::transmute::<*mut (), StubKernel>(p) };
    kernel(r);
}

/// fork_thread with the shared contract: entry and argument in R8/R9; the stub starts a host
/// thread that calls `entry(arg)`.
///
/// # Safety
/// As on the real kernel.
pub unsafe fn spawn_thread(entry: ThreadEntry, arg: u64) -> Result<u64, u64> {
    let mut r = Call::ForkThread {
        r8: entry as usize as u64,
        r9: arg,
    }
    .encode();
    // SAFETY: the caller keeps fork_thread's contract (this function's).
    unsafe { syscall(&mut r) };
    if r.rax & 0x7F == 0 {
        Ok(r.rdi)
    } else {
        Err(r.rax)
    }
}
