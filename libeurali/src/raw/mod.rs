//! The one seam between safe code and a kernel: "here is a register file, run the syscall".
//!
//! Two backends, chosen once by `target_os`:
//! - `target_os = "none"` (the real kernel): `asm.rs`, the only home of `asm!` in the userland.
//! - anything else (the host): `stub.rs`, which hands the very same [`Registers`] to a kernel
//!   installed at run time by `kernel-stub` (libeurali cannot depend on the stub, so the stub
//!   registers itself with [`install_stub`]).
//!
//! Everything above this module ([`crate::syscall`], the owned types, std-shim) is written once.

use crate::abi::Registers;

#[cfg(target_os = "none")]
mod asm;
#[cfg(target_os = "none")]
pub use asm::{spawn_thread, syscall};

#[cfg(not(target_os = "none"))]
mod stub;
#[cfg(not(target_os = "none"))]
pub use stub::{StubKernel, install_stub, spawn_thread, syscall};

/// The entry point of a thread started with [`spawn_thread`]: called with the argument in RDI on a
/// fresh stack. It must never return (it ends with `exit_thread`). `C-unwind` so that the host
/// stub may end a thread by unwinding through it.
pub type ThreadEntry = extern "C-unwind" fn(u64) -> !;

/// Registers a backend must keep intact across every call except fork_thread's child.
#[allow(dead_code)]
pub(crate) fn preserved(r: &Registers) -> (u64, u64) {
    (r.r8, r.r9)
}
