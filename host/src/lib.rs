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
//! - [`host_main`]: a program's own `main` on the host (`std::program!`), booting it as init;
//!   [`testing`]: `#[test]` of eurali-test-macros, a test body as a process on a fresh stub.
//! - [`devices`]: the servers (console and its line discipline, the host terminal's raw mode,
//!   the debug log, the wall clock, a TAP nic), written against libeurali's safe API over the
//!   same protocols as the real kernel's drivers.
//!
//! Layers (docs/design.md, "kernel-stub and eurali-host"): libeurali ← kernel-stub ← eurali-host
//! ← a program's `main` and `#[test]`s on the host, the root package and the tests. eurali-std
//! reaches the kernel only through libeurali's raw seam: it does not know this crate.

pub mod boot;
pub mod devices;
pub mod testing;

/// `cargo run -p PROGRAM` on the host, what `std::program!` expands to there: boots the stub with
/// this one program as init on the terminal, and exits with its status.
pub fn host_main(name: &'static str, entry: kernel_stub::ProgramEntry) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = boot::run(&[(name, entry)], name, &args);
    std::process::exit(code)
}
