//! What the system and the file protocol tell about themselves: uname, stat, du.

use std::fs;
use std::io::{self, Write};

use crate::Io;
use crate::args::parse;
use crate::output::{help, human, wants_help, write_error};
use std::io::describe;

pub(crate) const UNAME_HELP: &str = "Usage: uname [-asnrvm]
Print system information (-s when no option is given).
  -a  all of the below, in this order
  -s  the kernel's name (Merriwig)
  -n  the machine's name (/etc/hostname)
  -r  the release: eurali's version
  -v  the version: the kernel's own, as eurali names it
  -m  the machine's hardware (x86_64)
";

/// `uname [-asnrvm]`: the kernel is Merriwig on x86_64; the release is eurali's version.
#[inline(never)]
pub fn uname(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, UNAME_HELP);
    }
    let p = match parse(args, "asnrvmpio", "") {
        Ok(p) if p.operands.is_empty() => p,
        Ok(p) => {
            let _ = writeln!(io.stderr, "uname: extra operand '{}'", p.operands[0]);
            return 1;
        }
        Err(m) => {
            let _ = writeln!(
                io.stderr,
                "uname: {m}\n{}",
                UNAME_HELP.lines().next().unwrap_or("")
            );
            return 1;
        }
    };
    let all = p.has('a');
    let node = crate::who::host_name();
    let fields = [
        ('s', "Merriwig"),
        ('n', node.as_str()),
        ('r', env!("CARGO_PKG_VERSION")),
        ('v', "eurali"),
        ('m', "x86_64"),
    ];
    let none = !fields.iter().any(|(c, _)| p.has(*c)) && !all;
    let out: Vec<&str> = fields
        .iter()
        .filter(|(c, _)| all || p.has(*c) || (none && *c == 's'))
        .map(|(_, v)| *v)
        .collect();
    match writeln!(io.stdout, "{}", out.join(" ")) {
        Ok(()) => 0,
        Err(e) => write_error(io.stderr, "uname", &e),
    }
}

pub(crate) const STAT_HELP: &str = "Usage: stat [-c FORMAT] FILE...
Show what the file server says of each FILE: its size, type and access
(eurali's file systems keep no owners, modes or times).
  -c FORMAT  print FORMAT per file: %n name, %s size, %F type,
             %A access (as ls -l), %% a percent sign
";

/// A file's type as GNU's stat words it.
fn type_name(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_device() {
        "character special file"
    } else if m.is_empty() {
        "regular empty file"
    } else {
        "regular file"
    }
}

/// The access `ls -l` shows: the type letter, then `rw-` or `r--` (read-only).
fn access(m: &fs::Metadata) -> String {
    let kind = if m.is_dir() {
        'd'
    } else if m.file_type().is_device() {
        'c'
    } else {
        '-'
    };
    let rw = if m.permissions().readonly() {
        "r--"
    } else {
        "rw-"
    };
    format!("{kind}{rw}")
}

/// `stat [-c FORMAT] FILE...`.
#[inline(never)]
pub fn stat(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, STAT_HELP);
    }
    let p = match parse(args, "", "c") {
        Ok(p) if !p.operands.is_empty() => p,
        Ok(_) => {
            let _ = writeln!(io.stderr, "stat: missing operand");
            return 1;
        }
        Err(m) => {
            let _ = writeln!(io.stderr, "stat: {m}");
            return 1;
        }
    };
    let mut status = 0;
    for name in &p.operands {
        let m = match fs::metadata(io.at(name)) {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(io.stderr, "stat: cannot stat '{name}': {}", describe(&e));
                status = 1;
                continue;
            }
        };
        let text = match p.value('c') {
            Some(f) => {
                let mut s = String::new();
                let mut chars = f.chars();
                while let Some(c) = chars.next() {
                    if c != '%' {
                        s.push(c);
                        continue;
                    }
                    match chars.next() {
                        Some('n') => s.push_str(name),
                        Some('s') => s.push_str(&m.len().to_string()),
                        Some('F') => s.push_str(type_name(&m)),
                        Some('A') => s.push_str(&access(&m)),
                        Some('%') => s.push('%'),
                        Some(x) => {
                            s.push('?');
                            let _ = x;
                        }
                        None => s.push('%'),
                    }
                }
                s
            }
            None => format!(
                "  File: {name}\n  Size: {:<15} {}\nAccess: {} ({})",
                m.len(),
                type_name(&m),
                access(&m),
                if m.permissions().readonly() {
                    "read-only"
                } else {
                    "read-write"
                }
            ),
        };
        if let Err(e) = writeln!(io.stdout, "{text}") {
            return write_error(io.stderr, "stat", &e);
        }
    }
    status
}

pub(crate) const DU_HELP: &str = "Usage: du [-ahs] [PATH...]
Disk usage of each PATH (.) and the directories under it, in KiB. eurali's
file servers keep no blocks: a file counts its length, rounded up to KiB at
the end; a directory, everything under it.
  -a  list files too, not only directories
  -s  only a total for each PATH
  -h  sizes in K, M, G (of 1024)
";

/// `du [-ahs] [PATH...]`: sizes from the files' lengths (no blocks exist), depth first, each
/// directory after what is under it, as GNU's du lists them.
#[inline(never)]
pub fn du(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, DU_HELP);
    }
    let p = match parse(args, "ahsk", "") {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(io.stderr, "du: {m}");
            return 1;
        }
    };
    let (all, summary, hum) = (p.has('a'), p.has('s'), p.has('h'));
    if all && summary {
        let _ = writeln!(io.stderr, "du: cannot both summarize and show all entries");
        return 1;
    }
    let roots = if p.operands.is_empty() {
        vec![".".to_string()]
    } else {
        p.operands.clone()
    };
    let show = |out: &mut dyn Write, bytes: u64, name: &str| -> io::Result<()> {
        let size = if hum {
            human(bytes)
        } else {
            bytes.div_ceil(1024).to_string()
        };
        writeln!(out, "{size}\t{name}")
    };
    let mut status = 0;
    for root in roots {
        // Depth first with an explicit stack: (path, entered); a directory's total is known
        // once everything under it is counted (`sums` holds one running total per open level).
        let mut stack = vec![(root.clone(), false, 0usize)];
        let mut sums: Vec<u64> = Vec::new();
        while let Some((path, entered, depth)) = stack.pop() {
            if entered {
                let total = sums.pop().unwrap_or(0);
                if let Some(up) = sums.last_mut() {
                    *up += total;
                }
                if (!summary || depth == 0)
                    && let Err(e) = show(io.stdout, total, &path)
                {
                    return write_error(io.stderr, "du", &e);
                }
                continue;
            }
            let m = match fs::metadata(io.at(&path)) {
                Ok(m) => m,
                Err(e) => {
                    let _ = writeln!(io.stderr, "du: cannot access '{path}': {}", describe(&e));
                    status = 1;
                    continue;
                }
            };
            if !m.is_dir() {
                if let Some(up) = sums.last_mut() {
                    *up += m.len();
                }
                if (depth == 0 || (all && !summary))
                    && let Err(e) = show(io.stdout, m.len(), &path)
                {
                    return write_error(io.stderr, "du", &e);
                }
                continue;
            }
            sums.push(0);
            stack.push((path.clone(), true, depth));
            match crate::input::sorted_names(io.at(&path)) {
                Ok(names) => {
                    let base = path.trim_end_matches('/');
                    for n in names.into_iter().rev() {
                        stack.push((format!("{base}/{n}"), false, depth + 1));
                    }
                }
                Err(e) => {
                    let _ = writeln!(
                        io.stderr,
                        "du: cannot read directory '{path}': {}",
                        describe(&e)
                    );
                    status = 1;
                }
            }
        }
    }
    status
}
