//! kernel-stub: the Merriwig microkernel re-implemented on the host, in-process.
//!
//! Programs run as host threads grouped into stub processes. They make system calls through
//! libeurali exactly as on the real kernel; libeurali's host backend hands the register file to
//! this crate, which decodes it with [`libeurali::abi::Call::decode`] and answers with the
//! kernel's semantics and error codes (the ABI document is the reference: §1–§5).
//!
//! Modules, from the rules to the machinery:
//! - [`rendezvous`]: the rendezvous state machine of §3.2 as pure logic (send, send_receive,
//!   receive, close, destruction).
//! - [`handles`]: a process's handle table (lowest free slot reused, §2.2).
//! - [`mounts`]: the kernel mount table (§5.1: trimming, longest prefix, umount, list_mounts).
//! - [`memory`]: chunk slots as real host mappings moved between processes with `mremap` (§2.3),
//!   and fake physical addresses for contiguous chunks.
//! - [`uaccess`]: reading user pointers without trusting them (a bad one halts the machine).
//! - `system`: all kernel state and every system call, single-threaded: reference counting,
//!   message transfer, close, open/mount/umount, malloc/free, threads and process death.
//! - [`exec`]: exec (§4.6) and the in-process program images.
//! - [`log`]: the syscall log and fault injection (after libtock-rs's fake kernel);
//!   [`debug_log`]: the bytes of the host's debug log device, kept for tests.
//! - [`fault`]: [`Fault`] (what would halt the real machine) and why threads end ([`Stopped`]).
//! - `threads`: host threads as kernel threads: the syscall dispatcher, blocking and waking,
//!   thread start and end.
//! - [`kernel`]: [`Kernel`], the handle tests and `cargo run` hold.
//! - [`hosted`]: hosted mode: the real ELFs in Linux processes of their own, their syscalls
//!   trapped (Syscall User Dispatch) and run by the same kernel.
//!
//! A program's bad system call gets the kernel's error code. Where the real kernel would halt the
//! machine instead (it checks no pointer), the stub records a [`Fault`], reports it loudly and
//! stops every thread of that system; a test that never looks at the fault fails when its
//! `Kernel` is dropped. A panic inside the stub itself is a stub bug.
//!
//! This crate is the kernel alone. Booting a userland on it and the host devices its programs
//! talk to (console, debug log, wall clock, TAP nic) are the `eurali-host` crate (`host/`), a
//! client of this one like any test: it starts processes with [`Kernel::run_as_process`] and
//! [`Kernel::register_program`] and serves devices through libeurali's system calls.

pub mod debug_log;
pub mod exec;
pub mod fault;
pub mod frames;
pub mod handles;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod hosted;
pub mod kernel;
pub mod kheap;
pub mod log;
pub mod memory;
pub mod mounts;
pub mod rendezvous;
mod system;
mod threads;
pub mod uaccess;

pub use debug_log::DebugLog;
pub use fault::{Fault, Stopped};
pub use kernel::{
    Kernel, clear_injections_in_this_thread, inject_in_this_thread,
    injections_pending_in_this_thread,
};
pub use log::LogEntry;

/// A program: a Rust function called on the new process's first thread with the registers the
/// kernel sets at entry (§4.2; the heap fields are 0 on the host, where the host allocator serves).
pub type ProgramEntry = fn(libeurali::EntryRegisters);
