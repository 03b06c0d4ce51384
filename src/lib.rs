//! eurali on the host: the programs of the userland, registered for the in-process kernel stub.
//!
//! `cargo run` boots the system (init, login, the shell) on the stub; `cargo run -- -c 'CMDS'
//! [--user NAME]` runs commands in it; `cargo run -- PROGRAM [ARGS...]` runs one program alone; `tests/` boots the same way and checks what a user would see.

use kernel_stub::ProgramEntry;

/// The program `cargo run` boots when given none: the whole system.
pub const DEFAULT: &str = "init";

/// Every program of the userland, by the name exec knows it under.
pub fn programs() -> Vec<(&'static str, ProgramEntry)> {
    vec![
        eurali_std::program_entry!("hello", hello::main),
        eurali_std::program_entry!("echo", echo::main),
        eurali_std::program_entry!("abi-probe", abi_probe::main),
        eurali_std::program_entry!("coreutils", tools::main),
        eurali_std::program_entry!("sh", shell::main),
        eurali_std::program_entry!("init", init::main),
        eurali_std::program_entry!("login", session::main),
        eurali_std::program_entry!("passwd", passwd::main),
        eurali_std::program_entry!("ramdisk", ramdisk::main),
        eurali_std::program_entry!("fatfs", fatfs::main),
        eurali_std::program_entry!("edit", edit::main),
        eurali_std::program_entry!("kibi", edit::main),
        eurali_std::program_entry!("drivers", drivers::main),
        eurali_std::program_entry!("tcp", tcp::main),
        eurali_std::program_entry!("gopher", gopher::main),
        eurali_std::program_entry!("gopherd", gopherd::main),
    ]
}
