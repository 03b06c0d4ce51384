//! libeurali: the Merriwig kernel's ABI for eurali programs.
//!
//! Layers, bottom up:
//! - [`abi`]: the register file, call numbers, message control bits and memory layout — plain data
//!   and pure functions, shared with `kernel-stub`, tested to the bit.
//! - [`elf`]: the kernel's ELF loader rules (§4.5), shared by every loader and checker.
//! - [`params`]: the byte formats the kernel reads (exec parameter string, args/env blocks) and
//!   writes (`list_mounts`).
//! - [`raw`]: the one seam that runs a register file — `asm!` `syscall` on the real kernel
//!   (`target_os = "none"`), the in-process kernel stub everywhere else.
//! - [`object`], [`message`], [`syscall`]: the safe API — owned [`Handle`] and [`MemoryChunk`],
//!   typed [`Message`]s, every call, and the retrying [`rcall`].
//! - [`msgtype`]: protocol message types.
//! - [`sync`]: the one lock (spin, then yield), shared by vfs and std-shim.
//! - [`timeout`]: calls bounded by a watchdog (dead peers, deadlines), which std-shim provides;
//!   [`clock`]: the runtime's clock, for waits bounded by time.
//!
//! Errors are [`Error`], equal to the kernel's numeric codes.
#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(any(feature = "alloc", test))]
extern crate alloc;

pub mod abi;
pub mod clock;
pub mod elf;
pub mod error;
pub mod idle;
#[cfg(feature = "alloc")]
pub mod keys;
#[cfg(feature = "alloc")]
pub mod kill;
pub mod message;
pub mod msgtype;
pub mod object;
pub mod params;
pub mod pool;
pub mod proto;
pub mod raw;
pub mod sfx;
pub mod sync;
pub mod syscall;
#[cfg(feature = "alloc")]
pub mod text;
pub mod timeout;
#[cfg(feature = "alloc")]
pub mod tty;

pub use error::{Error, Result};
pub use message::{
    Busy, Message, SendError, Word, call_send, idle, rcall, receive, retry_busy_for, send,
    send_receive, yield_now,
};
pub use object::{Handle, MemoryChunk, new_rendezvous};
pub use syscall::*;
