//! `hello`: prints its arguments and environment, one per line, and says hello.
//!
//! ```text
//! hello [--exit CODE] [--panic] [ARGS...]
//! ```
//! `--exit CODE` ends with that status after printing; `--panic` panics (status 101). Both exist
//! so that the runtime's exit path can be seen working from the outside.
#![forbid(unsafe_code)]

use std::io::Write;

/// `hello --help`.
const HELP: &str = "Usage: hello [--exit CODE] [--panic] [ARG...]\n\
Print the arguments and the environment, and say hello.\n\
  --exit CODE  end with status CODE\n\
  --panic      panic (status 101)\n\
  --help       show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let args: Vec<String> = std::env::args().collect();
    println!("Hello from eurali!");
    for (i, a) in args.iter().enumerate() {
        println!("arg[{i}] = {a}");
    }
    for (k, v) in std::env::vars() {
        println!("env {k}={v}");
    }
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--panic" => panic!("asked to panic"),
            "--exit" => {
                let code = match it.next().map(|c| c.parse::<i32>()) {
                    Some(Ok(c)) => c,
                    _ => {
                        eprintln!("hello: --exit needs a number");
                        std::process::exit(2);
                    }
                };
                let _ = std::io::stdout().flush();
                std::process::exit(code);
            }
            _ => {}
        }
    }
}
