//! `sh`: eurali's shell: [`parse`] reads POSIX sh syntax, [`expand`] and [`pattern`] expand
//! words, [`interp`] runs scripts, [`line`] edits lines interactively, [`test_expr`] is `test`.

pub mod expand;
pub mod interp;
pub mod line;
pub mod parse;
pub mod pattern;
pub mod test_expr;

use std::io::{BufRead, Write};

/// `sh [-c COMMANDS [NAME [ARGS...]] | FILE [ARGS...]]`; with neither, commands from stdin
/// (the prompt goes to stderr, as POSIX says).
pub fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut sh = interp::Shell::new();
    let mut io = interp::Streams::inherit();
    let code = match args.get(1).map(String::as_str) {
        Some("-c") => {
            let Some(src) = args.get(2) else {
                eprintln!("sh: -c: option requires an argument");
                std::process::exit(2);
            };
            if let Some(n) = args.get(3) {
                sh.name = n.clone();
            }
            sh.set_positional(args.iter().skip(4).cloned().collect());
            sh.run_script(src, &mut io).0
        }
        Some(file) => {
            let src = match std::fs::read_to_string(file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("sh: {file}: {}", interp::describe(&e));
                    std::process::exit(127);
                }
            };
            sh.name = file.to_string();
            sh.set_positional(args.iter().skip(2).cloned().collect());
            sh.run_script(&src, &mut io).0
        }
        None => repl(&mut sh, &mut io),
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn prompt(sh: &interp::Shell) -> String {
    let user = sh.var("USER").unwrap_or("root");
    let cwd = sh.var("PWD").unwrap_or("/");
    let home = sh.var("HOME").unwrap_or("");
    let shown = match cwd.strip_prefix(home) {
        Some(rest)
            if !home.is_empty() && home != "/" && (rest.is_empty() || rest.starts_with('/')) =>
        {
            format!("~{rest}")
        }
        _ => cwd.to_string(),
    };
    format!("{user}:{shown}$ ")
}

/// Reads commands line by line until the end of input or `exit`.
fn repl(sh: &mut interp::Shell, io: &mut interp::Streams) -> i32 {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut pending = String::new();
    loop {
        eprint!(
            "{}",
            if pending.is_empty() {
                prompt(sh)
            } else {
                "> ".to_string()
            }
        );
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                if !pending.is_empty() {
                    eprintln!("sh: syntax error: unexpected end of input");
                    return 2;
                }
                return sh.status;
            }
            Ok(_) => {}
        }
        pending.push_str(&line);
        match parse::parse(&pending) {
            Err(e) if e.is_incomplete() => continue,
            _ => {}
        }
        let src = std::mem::take(&mut pending);
        let trimmed = src.trim_end_matches('\n');
        if !trimmed.trim().is_empty() {
            sh.history.push(trimmed.to_string());
        }
        let (code, exited) = sh.run_script(&src, io);
        if exited {
            return code;
        }
    }
}
