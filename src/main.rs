//! `cargo run [-- PROGRAM [ARGS...]]`: boot the userland on the in-process kernel stub and run
//! PROGRAM on this terminal; exit with its status.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let programs = eurali::programs();
    let (init, rest) = match args.split_first() {
        Some((first, rest)) if !first.starts_with('-') => (first.as_str(), rest),
        _ => (eurali::DEFAULT, &args[..]),
    };
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
