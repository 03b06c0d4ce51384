//! eurali on the host: the programs of the userland, registered for the in-process kernel stub.
//!
//! `cargo run [-- PROGRAM [ARGS...]]` boots the stub and runs PROGRAM (default: [`DEFAULT`]) on
//! your terminal; `tests/` boots the same way and checks what a user would see.

use kernel_stub::ProgramEntry;

/// The program `cargo run` starts when given none.
pub const DEFAULT: &str = "hello";

/// Every program of the userland, by the name exec knows it under.
pub fn programs() -> Vec<(&'static str, ProgramEntry)> {
    vec![
        eurali_std::program_entry!("hello", hello::main),
        eurali_std::program_entry!("echo", echo::main),
        eurali_std::program_entry!("abi-probe", abi_probe::main),
        eurali_std::program_entry!("coreutils", coreutils::main),
        eurali_std::program_entry!("sh", shell::main),
    ]
}
