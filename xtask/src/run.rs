//! `cargo xtask run [-c COMMANDS [--user NAME] | PROGRAM [ARGS...]]`: build the freestanding ELFs
//! and boot them in kernel-stub's hosted mode on this terminal — the whole system (init, login,
//! sh) by default, or one PROGRAM alone; exit with its status.
//!
//! The build's report is shown only when it fails, and on stderr, so that stdout carries only
//! what the system prints:
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
    // The build's report (toolchain, sizes, checks) is for `cargo xtask build`: a run keeps it
    // in target/eurali/build.log and shows it only when the build fails, so that an unchanged
    // tree starts the system at once; a build that takes a while says so once.
    let log_path = root.join("target/eurali/build.log");
    std::fs::create_dir_all(root.join("target/eurali"))
        .map_err(|e| format!("cannot create target/eurali: {e}"))?;
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let mut build = Command::new(me)
        .arg("build")
        .current_dir(&root)
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("cannot run cargo xtask build: {e}"))?;
    let started = std::time::Instant::now();
    let mut said = false;
    let status = loop {
        if let Some(status) = build
            .try_wait()
            .map_err(|e| format!("waiting for cargo xtask build: {e}"))?
        {
            break status;
        }
        if !said && started.elapsed() > std::time::Duration::from_secs(2) {
            eprintln!(
                "building the programs (cargo xtask build; its report: target/eurali/build.log)"
            );
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if !status.success() {
        let report = std::fs::read(&log_path).unwrap_or_default();
        let _ = std::io::Write::write_all(&mut std::io::stderr(), &report);
        return Err(format!("cargo xtask build failed ({status})"));
    }
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
