//! `cargo run`: boot the userland on the in-process kernel stub.
//!
//! - `cargo run`: the whole system: init fills the root file system and starts login on this
//!   terminal (accounts `root`/`root` and `user`/`user`).
//! - `cargo run -- -c 'COMMANDS' [--user NAME]`: no login; COMMANDS run in NAME's shell (default
//!   root) in NAME's namespace; prints what they print and exits with their status.
//! - `cargo run -- PROGRAM [ARGS...]`: PROGRAM alone, in an empty namespace.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let programs = eurali::programs();
    let code = match args.first().map(String::as_str) {
        None | Some("-c") | Some("--user") => kernel_stub::boot::run_system(&programs, &args),
        Some(first) if !first.starts_with('-') => {
            if !programs.iter().any(|(name, _)| *name == first) {
                let names: Vec<&str> = programs.iter().map(|(n, _)| *n).collect();
                eprintln!(
                    "eurali: no program named {first:?} (there are: {})",
                    names.join(", ")
                );
                std::process::exit(127);
            }
            kernel_stub::boot::run(&programs, first, &args[1..])
        }
        Some(other) => {
            eprintln!(
                "eurali: unknown option {other:?}; usage: eurali [-c COMMANDS [--user NAME] | PROGRAM [ARGS...]]"
            );
            2
        }
    };
    std::process::exit(code);
}
