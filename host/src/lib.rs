//! eurali-host: booting a eurali userland on the in-process kernel stub, and the host devices
//! its programs talk to there.
//!
//! On a real machine a boot loader starts init and ring-3 drivers serve the devices. On the host
//! [`kernel_stub`] is the kernel alone; this crate plays the rest, as a client of the kernel like
//! any test:
//! - [`boot`]: what `cargo run`, the system tests and std-shim's `#[test]` do: make a
//!   [`kernel_stub::Kernel`], register the programs, and run a `boot` process that serves the
//!   devices, fills `/boot` (a ramdisk, `vfs`) and execs init; then wait for its status and shut
//!   the system down.
//! - [`devices`]: the servers (console and its line discipline, the host terminal's raw mode,
//!   the debug log, the wall clock, a TAP nic), written against libeurali's safe API over the
//!   same protocols as the real kernel's drivers.
//!
//! Layers (docs/design.md, "kernel-stub and eurali-host"): libeurali ← kernel-stub ← eurali-host
//! ← eurali-std's host side (its program `main` and `#[test]`s), the root package and the tests.

pub mod boot;
pub mod devices;
