//! `cargo run`: boot the userland on the in-process kernel stub.
//!
//! - `cargo run`: the whole system: init fills the root file system and starts login on this
//!   terminal (accounts `root`/`root` and `user`/`user`).
//! - `cargo run -- -c 'COMMANDS' [--user NAME]`: no login; COMMANDS run in NAME's shell (default
//!   root) in NAME's namespace; prints what they print and exits with their status.
//!   `--user NAME` alone: NAME's interactive shell, no login.
//! - `cargo run -- PROGRAM [ARGS...]`: PROGRAM alone, in an empty namespace (a coreutils tool
//!   by its own name too: `cargo run -- echo hi`, `cargo run -- ls`).
//!
//! `eurali --hosted BIN_DIR [same as above]` (what `cargo xtask run` starts): the same, with the
//! freestanding ELFs of BIN_DIR in hosted mode (kernel-stub's `hosted` module; needs
//! `eurali-guest` next to this binary or in `$EURALI_GUEST`).
//!
//! Arguments may be any bytes: those that are not UTF-8 are replaced (U+FFFD), as the
//! userland's arguments are text. A `-c` script longer than [`session::LONG_SCRIPT`] bytes does not
//! fit exec's argument page (ABI §4.2): it goes to init as the file `/boot/.script`
//! (`init --script FILE`), and on to the shell as a file too (see [`session::run_script`]).

use std::ffi::OsString;

fn usage() -> ! {
    eprintln!(
        "usage: eurali [--hosted BIN_DIR] [-c COMMANDS] [--user NAME] | eurali [--hosted BIN_DIR] PROGRAM [ARGS...]"
    );
    std::process::exit(2);
}

/// Where init finds a long `-c` script: a file of the boot file system (a `.` name, which init
/// does not install as a program).
const SCRIPT_FILE: &str = ".script";

/// `-c SCRIPT` with a script too long for exec's argument page becomes `--script
/// /boot/.script`; returns that file (its raw bytes) for /boot.
fn long_script_to_file(args: &mut [String], raw: &[OsString]) -> Vec<(String, Vec<u8>)> {
    let Some(i) = args.iter().position(|a| a == "-c") else {
        return Vec::new();
    };
    let Some(script) = args.get(i + 1) else {
        return Vec::new();
    };
    if script.len() <= session::LONG_SCRIPT {
        return Vec::new();
    }
    // The bytes as given (init replaces what is not UTF-8, as here).
    let bytes = raw
        .get(i + 1)
        .map(|s| s.as_encoded_bytes().to_vec())
        .unwrap_or_else(|| script.as_bytes().to_vec());
    args[i] = "--script".to_string();
    args[i + 1] = format!("{}/{SCRIPT_FILE}", eurali_host::boot::BOOT_PATH);
    vec![(SCRIPT_FILE.to_string(), bytes)]
}

fn main() {
    let raw: Vec<OsString> = std::env::args_os().skip(1).collect();
    // Any bytes, as the userland takes them (`std::ffi::text_from_bytes`, docs/design.md).
    let mut args: Vec<String> = raw
        .iter()
        .map(|a| eurali_std::ffi::text_from_bytes(a.as_encoded_bytes()))
        .collect();
    // `--hosted DIR` comes off both lists alike, so that their positions stay in step.
    let raw: &[OsString] = if args.first().map(String::as_str) == Some("--hosted") {
        raw.get(2..).unwrap_or(&[])
    } else {
        &raw
    };
    let hosted = if args.first().map(String::as_str) == Some("--hosted") {
        if args.len() < 2 {
            usage();
        }
        let dir = args.remove(1);
        args.remove(0);
        Some(std::path::PathBuf::from(dir))
    } else {
        None
    };
    let system = matches!(
        args.first().map(String::as_str),
        None | Some("-c") | Some("--user")
    );
    if !system && args[0].starts_with('-') {
        usage();
    }
    // The system's options: `-c COMMANDS` and `--user NAME`, each once, each with its value.
    if system {
        let mut seen = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let ok = matches!(a.as_str(), "-c" | "--user")
                && !seen.contains(a)
                && it.next().is_some_and(|v| a == "-c" || !v.starts_with('-'));
            if !ok {
                usage();
            }
            seen.push(a.clone());
        }
    }
    let boot_extra = if system {
        long_script_to_file(&mut args, raw)
    } else {
        Vec::new()
    };
    if let Some(dir) = hosted {
        let Some(loader) = kernel_stub::hosted::guest_loader() else {
            eprintln!(
                "eurali: no eurali-guest next to this binary (build it: cargo build -p kernel-stub --bin eurali-guest)"
            );
            std::process::exit(127);
        };
        let code = if system {
            eurali_host::boot::run_hosted_system(&loader, &dir, &args, boot_extra)
        } else {
            // A coreutils tool by its own name, as in /bin.
            let tool =
                !dir.join(&args[0]).is_file() && tools::TOOLS.iter().any(|(t, _)| *t == args[0]);
            let (program, rest) = if tool {
                ("coreutils", &args[..])
            } else {
                (args[0].as_str(), &args[1..])
            };
            if !dir.join(program).is_file() {
                let mut names: Vec<String> = std::fs::read_dir(&dir)
                    .map(|rd| {
                        rd.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                names.sort();
                no_such_program(program, &names);
            }
            eurali_host::boot::run_hosted(
                &loader,
                &dir,
                program,
                rest,
                eurali_host::boot::Console::terminal(),
            )
        };
        std::process::exit(code);
    }
    let programs = eurali::programs();
    let code = if system {
        eurali_host::boot::run_system(&programs, &args, boot_extra)
    } else {
        let first = args[0].as_str();
        // A coreutils tool by its own name, as /bin has it: `cargo run -- ls /`.
        if !programs.iter().any(|(name, _)| *name == first)
            && tools::TOOLS.iter().any(|(tool, _)| *tool == first)
        {
            std::process::exit(eurali_host::boot::run(&programs, "coreutils", &args));
        }
        if !programs.iter().any(|(name, _)| *name == first) {
            let names: Vec<String> = programs.iter().map(|(n, _)| n.to_string()).collect();
            no_such_program(first, &names);
        }
        eurali_host::boot::run(&programs, first, &args[1..])
    };
    std::process::exit(code);
}

/// A program that is not there: what there is, and 127, the shell's status for a command not
/// found, on every backend.
fn no_such_program(name: &str, there: &[String]) -> ! {
    eprintln!(
        "eurali: no program named {name:?} (there are: {})",
        there.join(", ")
    );
    std::process::exit(127);
}
