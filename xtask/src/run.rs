//! `cargo xtask run [-c COMMANDS [--user NAME] | PROGRAM [ARGS...]]`: build the freestanding ELFs
//! and boot them in kernel-stub's hosted mode on this terminal — the whole system (init, login,
//! sh) by default, or one PROGRAM alone; exit with its status.
//!
//! Build output goes to stderr, so that stdout carries only what the system prints:
//! `printf '…' | cargo xtask run PROGRAM` is scriptable exactly like `cargo run`.

use crate::{Result, process};
use std::process::{Command, Stdio};

pub fn run(args: &[String]) -> Result<()> {
    // `cargo xtask run -- -c '…'`, as `cargo run -- -c '…'` takes it: the `--` only ends
    // cargo's options.
    let args = match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    };
    let root = crate::workspace_root();
    let me = std::env::current_exe().map_err(|e| format!("cannot find xtask itself: {e}"))?;
    process::run(
        Command::new(me)
            .arg("build")
            .current_dir(&root)
            .stdout(Stdio::from(std::io::stderr())),
    )?;
    process::run(
        process::host_cargo()
            .args([
                "build",
                "--quiet",
                "-p",
                "eurali",
                "-p",
                "kernel-stub",
                "--bins",
            ])
            .current_dir(&root)
            .stdout(Stdio::from(std::io::stderr())),
    )?;
    let target = root.join("target/debug");
    let status = Command::new(target.join("eurali"))
        .arg("--hosted")
        .arg(root.join(crate::build::BIN_DIR))
        .args(args)
        .env("EURALI_GUEST", target.join("eurali-guest"))
        .status()
        .map_err(|e| format!("cannot start eurali: {e}"))?;
    std::process::exit(status.code().unwrap_or(130));
}
