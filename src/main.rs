//! `cargo run [-- PROGRAM [ARGS...]]`: boot the userland on the in-process kernel stub and run
//! PROGRAM on this terminal; exit with its status.
//!
//! `eurali --hosted BIN_DIR [PROGRAM [ARGS...]]` (what `cargo xtask run` starts): boot the
//! freestanding ELF `BIN_DIR/PROGRAM` in hosted mode instead (kernel-stub's `hosted` module;
//! needs `eurali-guest` next to this binary or in `$EURALI_GUEST`).

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let hosted = if args.first().map(String::as_str) == Some("--hosted") {
        if args.len() < 2 {
            eprintln!("usage: eurali --hosted BIN_DIR [PROGRAM [ARGS...]]");
            std::process::exit(2);
        }
        let dir = args.remove(1);
        args.remove(0);
        Some(std::path::PathBuf::from(dir))
    } else {
        None
    };
    let programs = eurali::programs();
    let (init, rest) = match args.split_first() {
        Some((first, rest)) if !first.starts_with('-') => (first.as_str(), rest),
        _ => (eurali::DEFAULT, &args[..]),
    };
    if let Some(dir) = hosted {
        let Some(loader) = kernel_stub::hosted::guest_loader() else {
            eprintln!(
                "eurali: no eurali-guest next to this binary (build it: cargo build -p kernel-stub --bin eurali-guest)"
            );
            std::process::exit(127);
        };
        let code = kernel_stub::boot::run_hosted(
            &loader,
            &dir,
            init,
            rest,
            kernel_stub::boot::Console::terminal(),
        );
        std::process::exit(code);
    }
    if !programs.iter().any(|(name, _)| *name == init) {
        let names: Vec<&str> = programs.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "eurali: no program named {init:?} (there are: {})",
            names.join(", ")
        );
        std::process::exit(127);
    }
    let code = kernel_stub::boot::run(&programs, init, rest);
    std::process::exit(code);
}
