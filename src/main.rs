//! `cargo run`: boot the userland on the in-process kernel stub.
//!
//! - `cargo run`: the whole system: init fills the root file system and starts login on this
//!   terminal (accounts `root`/`root` and `user`/`user`).
//! - `cargo run -- -c 'COMMANDS' [--user NAME]`: no login; COMMANDS run in NAME's shell (default
//!   root) in NAME's namespace; prints what they print and exits with their status.
//! - `cargo run -- PROGRAM [ARGS...]`: PROGRAM alone, in an empty namespace.
//!
//! `eurali --hosted BIN_DIR [same as above]` (what `cargo xtask run` starts): the same, with the
//! freestanding ELFs of BIN_DIR in hosted mode (kernel-stub's `hosted` module; needs
//! `eurali-guest` next to this binary or in `$EURALI_GUEST`).

fn usage() -> ! {
    eprintln!("usage: eurali [--hosted BIN_DIR] [-c COMMANDS [--user NAME] | PROGRAM [ARGS...]]");
    std::process::exit(2);
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
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
    if let Some(dir) = hosted {
        let Some(loader) = kernel_stub::hosted::guest_loader() else {
            eprintln!(
                "eurali: no eurali-guest next to this binary (build it: cargo build -p kernel-stub --bin eurali-guest)"
            );
            std::process::exit(127);
        };
        let code = if system {
            kernel_stub::boot::run_hosted_system(&loader, &dir, &args)
        } else {
            kernel_stub::boot::run_hosted(
                &loader,
                &dir,
                &args[0],
                &args[1..],
                kernel_stub::boot::Console::terminal(),
            )
        };
        std::process::exit(code);
    }
    let programs = eurali::programs();
    let code = if system {
        kernel_stub::boot::run_system(&programs, &args)
    } else {
        let first = args[0].as_str();
        if !programs.iter().any(|(name, _)| *name == first) {
            let names: Vec<&str> = programs.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "eurali: no program named {first:?} (there are: {})",
                names.join(", ")
            );
            std::process::exit(127);
        }
        kernel_stub::boot::run(&programs, first, &args[1..])
    };
    std::process::exit(code);
}
