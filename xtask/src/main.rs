//! `cargo xtask`: the project's build, check and benchmark tasks.
//!
//! - `build`: builds every program under `programs/` for the real Merriwig kernel (freestanding
//!   soft-float ELF, `-Zbuild-std`, Debian's `rustc-web` toolchain), copies each binary to
//!   `target/eurali/bin/NAME`, prints their sizes and checks them as `check-elf` does.
//! - `image`: `build`, then packs every program into init for the real kernel
//!   (`target/eurali/image/init`, [`image`]), printing each size and checking the result.
//! - `check-elf [FILES]`: checks ELF files against the kernel's loader (ABI document §4.5) and
//!   for SSE/AVX/MMX/x87 instructions (the kernel never enables them); default: every file in
//!   `target/eurali/bin`.
//! - `bench NAME`: runs one benchmark from a table ([`bench::BENCHES`]).
//! - `run [PROGRAM [ARGS]]`: `build`, then boot PROGRAM's ELF in kernel-stub's hosted mode on
//!   this terminal ([`run`]).
//! - `fuzz [--list | --long] [TARGET] [SECONDS]`: runs the cargo-fuzz targets in `fuzz/`
//!   (nightly) and reports their exec counts; `--list` names them, `--long` runs each for 10 M
//!   execs or 10 min ([`fuzz`]).
//! - `ci`: what CI runs: `image` (which runs `build`, so that the hosted tests find the ELFs,
//!   and checks the real kernel's init with every program in it), then
//!   `cargo test --workspace` with `CI=true`.
#![forbid(unsafe_code)]

mod bench;
mod build;
mod elfcheck;
mod fuzz;
mod image;
mod pipebench;
mod process;
mod run;
mod toolchain;

#[cfg(test)]
mod clock_tests;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Errors are messages for the person at the terminal.
pub type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  build              build programs/* for the real kernel into target/eurali/bin, check them
  image              build, then init for the real kernel carrying every program
                     (target/eurali/image/init; README: booting it)
  check-elf [FILES]  check ELF files for the kernel's loader (default: target/eurali/bin/*)
  run [-c CMDS | PROG [ARGS]]  build, then boot the system (or PROG) in hosted mode on this terminal
  bench NAME         run a benchmark (`cargo xtask bench` lists them)
  fuzz [TARGET] [SECONDS]  run the cargo-fuzz targets in fuzz/ (all; 10 s each), report exec counts
  fuzz --list        name the fuzz targets
  fuzz --long [TARGET] [SECONDS]  each target for 10 M execs or 10 min (or SECONDS), report execs
                     and crashes per target (a weekly run)
  ci                 image (so build), cargo test --workspace (CI=true: hosted tests need the ELFs),
                     then fuzz 10 (every fuzz target for 10 s)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build::build(&workspace_root()),
        Some("image") => image::image(&workspace_root()),
        Some("check-elf") => check_elf(&args[1..]),
        Some("bench") => bench::run(args.get(1).map(String::as_str)),
        Some("run") => run::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("ci") => ci(),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Prints a section header, so that long logs are easy to scan.
pub fn section(title: &str) {
    println!("\n==== {title} ====");
}

fn check_elf(files: &[String]) -> Result<()> {
    let files: Vec<PathBuf> = if files.is_empty() {
        build::built_binaries(&workspace_root())?
    } else {
        files.iter().map(PathBuf::from).collect()
    };
    if files.is_empty() {
        return Err("no ELF files to check (run `cargo xtask build` first, or name files)".into());
    }
    elfcheck::check_files(&files)
}

fn ci() -> Result<()> {
    let root = workspace_root();
    section("cargo xtask image (real-kernel ELFs, Debian rustc-web toolchain; init carrying them)");
    image::image(&root)?;
    section("cargo test --workspace (host, rustup toolchain; hosted tests run the ELFs)");
    process::run(
        process::host_cargo()
            .args(["test", "--workspace"])
            .env("CI", "true")
            .current_dir(&root),
    )?;
    section("cargo xtask fuzz 10 (every cargo-fuzz target, a smoke run; rustup's nightly)");
    fuzz::run(&["10".to_string()])?;
    section(
        "cargo fmt --check and cargo clippy -D warnings (the house rules; libeurali also without alloc)",
    );
    process::run(
        process::host_cargo()
            .args(["fmt", "--all", "--check"])
            .current_dir(&root),
    )?;
    process::run(
        process::host_cargo()
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(&root),
    )?;
    // The kernel ABI without `alloc` (what a program with no heap, like the unpacker of packed
    // programs, may use), as smoltcp builds its feature combinations.
    process::run(
        process::host_cargo()
            .args([
                "clippy",
                "-p",
                "libeurali",
                "--no-default-features",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(&root),
    )?;
    section("ci: all passed");
    Ok(())
}
