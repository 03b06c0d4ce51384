//! sha256sum: SHA-256 checksums of files, and checking a list of them (sha2, which vfs's
//! password hashing links already).

use std::io::{self, BufRead};

use sha2::{Digest, Sha256};

use crate::Io;
use crate::args::parse;
use crate::input::{inputs, open};
use crate::output::{help, wants_help, write_error};
use std::io::describe;

pub(crate) const HELP: &str = "Usage: sha256sum [-c] [--quiet] [--status] [FILE...]
Print or check SHA-256 checksums (FILE - or none: standard input).
  -c        read 'HASH  NAME' lines from the FILEs and check each NAME
  --quiet   with -c: do not print OK for each file that matches
  --status  with -c: print nothing; the status says it all
";

/// The SHA-256 of everything `r` holds, in lowercase hex.
fn digest(r: &mut dyn BufRead) -> io::Result<String> {
    let mut h = Sha256::new();
    loop {
        let n = match r.fill_buf() {
            Ok([]) => break,
            Ok(b) => {
                h.update(b);
                b.len()
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        r.consume(n);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `sha256sum [-c] [FILE...]`: lines `HASH  NAME`, as GNU's; `-c` checks such lines.
#[inline(never)]
pub fn sha256sum(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, HELP);
    }
    let (mut quiet, mut silent) = (false, false);
    let args: Vec<String> = args
        .iter()
        .filter(|a| match a.as_str() {
            "--quiet" => {
                quiet = true;
                false
            }
            "--status" => {
                silent = true;
                false
            }
            "--check" => true,
            _ => true,
        })
        .map(|a| {
            if a == "--check" {
                "-c".into()
            } else {
                a.clone()
            }
        })
        .collect();
    let p = match parse(&args, "cbt", "") {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(
                io.stderr,
                "sha256sum: {m}\n{}",
                HELP.lines().next().unwrap_or("")
            );
            return 1;
        }
    };
    let mut status = 0;
    if !p.has('c') {
        for name in inputs(&p.operands) {
            match open(name, io.cwd, io.stdin).and_then(|mut i| digest(i.reader())) {
                Ok(h) => {
                    if let Err(e) = writeln!(io.stdout, "{h}  {name}") {
                        return write_error(io.stderr, "sha256sum", &e);
                    }
                }
                Err(e) => {
                    let _ = writeln!(io.stderr, "sha256sum: {name}: {}", describe(&e));
                    status = 1;
                }
            }
        }
        return status;
    }
    for list in inputs(&p.operands) {
        let mut lines = Vec::new();
        let read = open(list, io.cwd, io.stdin).and_then(|mut i| {
            let mut s = String::new();
            while i.reader().read_line(&mut s)? > 0 {
                lines.push(std::mem::take(&mut s));
            }
            Ok(())
        });
        if let Err(e) = read {
            let _ = writeln!(io.stderr, "sha256sum: {list}: {}", describe(&e));
            status = 1;
            continue;
        }
        let (mut bad_lines, mut good_lines, mut failed, mut unread) = (0, 0, 0, 0);
        for line in &lines {
            let line = line.trim_end_matches(['\n', '\r']);
            let parsed = line.split_once(' ').and_then(|(h, rest)| {
                let name = rest.strip_prefix([' ', '*'])?;
                (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) && !name.is_empty())
                    .then_some((h, name))
            });
            let Some((want, name)) = parsed else {
                bad_lines += 1;
                continue;
            };
            good_lines += 1;
            let mut none: &[u8] = b"";
            let stdin: &mut dyn BufRead = if name == "-" { io.stdin } else { &mut none };
            let verdict = match open(name, io.cwd, stdin).and_then(|mut i| digest(i.reader())) {
                Ok(h) if h.eq_ignore_ascii_case(want) => "OK",
                Ok(_) => {
                    failed += 1;
                    "FAILED"
                }
                Err(e) => {
                    let _ = writeln!(io.stderr, "sha256sum: {name}: {}", describe(&e));
                    unread += 1;
                    "FAILED open or read"
                }
            };
            let shown = !(silent || quiet && verdict == "OK");
            if shown && let Err(e) = writeln!(io.stdout, "{name}: {verdict}") {
                return write_error(io.stderr, "sha256sum", &e);
            }
        }
        let shown = if list == "-" { "standard input" } else { list };
        if good_lines == 0 {
            let _ = writeln!(
                io.stderr,
                "sha256sum: {shown}: no properly formatted checksum lines found"
            );
            status = 1;
            continue;
        }
        let plural = |n: u32, one: &str, many: &str| {
            if n == 1 {
                one.to_string()
            } else {
                many.to_string()
            }
        };
        if !silent {
            if bad_lines > 0 {
                let _ = writeln!(
                    io.stderr,
                    "sha256sum: WARNING: {bad_lines} {} improperly formatted",
                    plural(bad_lines, "line is", "lines are")
                );
            }
            if unread > 0 {
                let _ = writeln!(
                    io.stderr,
                    "sha256sum: WARNING: {unread} listed {} could not be read",
                    plural(unread, "file", "files")
                );
            }
            if failed > 0 {
                let _ = writeln!(
                    io.stderr,
                    "sha256sum: WARNING: {failed} computed {} did NOT match",
                    plural(failed, "checksum", "checksums")
                );
            }
        }
        if failed > 0 || unread > 0 {
            status = 1;
        }
    }
    status
}
