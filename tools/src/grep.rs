//! grep (and egrep, fgrep): lines that match patterns, with GNU grep's common options.

use std::io::{BufRead, Write};

use crate::Io;
use crate::args::parse;
use crate::input::open;
use crate::output::{Tracked, write_error};
use crate::regex::{Regex, Span, Syntax};
use std::io::describe;

const USAGE: &str = "usage: grep [-EFGHLRcefhilnoqrsvwx] [-m NUM] PATTERN [FILE...]";

/// `tool` is grep, egrep (`-E`) or fgrep (`-F`).
/// GNU's long options for the short ones grep has (`--color` is accepted and ignored: the
/// output is never colored).
fn long_options(args: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (k, a) in args.iter().enumerate() {
        if a == "--" {
            out.extend(args[k..].iter().cloned());
            break;
        }
        let Some(long) = a.strip_prefix("--") else {
            out.push(a.clone());
            continue;
        };
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (long, None),
        };
        let short = match name {
            "extended-regexp" => "-E",
            "fixed-strings" => "-F",
            "basic-regexp" => "-G",
            "with-filename" => "-H",
            "no-filename" => "-h",
            "files-without-match" => "-L",
            "files-with-matches" => "-l",
            "count" => "-c",
            "ignore-case" => "-i",
            "line-number" => "-n",
            "only-matching" => "-o",
            "quiet" | "silent" => "-q",
            "no-messages" => "-s",
            "invert-match" => "-v",
            "word-regexp" => "-w",
            "line-regexp" => "-x",
            "regexp" => "-e",
            "file" => "-f",
            "max-count" => "-m",
            "recursive" => "-r",
            "dereference-recursive" => "-R",
            "color" | "colour" => continue,
            _ => return Err(format!("unrecognized option '{a}'")),
        };
        out.push(short.to_string());
        if let Some(v) = value {
            if !matches!(short, "-e" | "-f" | "-m") {
                return Err(format!("option '--{name}' doesn't allow an argument"));
            }
            out.push(v.to_string());
        }
    }
    Ok(out)
}

#[inline(never)]
pub fn grep(tool: &str, args: &[String], io: &mut Io) -> i32 {
    let parsed = long_options(args).and_then(|a| parse(&a, "EFGHLRchilnoqrsvwx", "efm"));
    let p = match parsed {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(io.stderr, "{tool}: {m}\n{USAGE}");
            return 2;
        }
    };
    let mut operands = p.operands.clone();
    let mut patterns: Vec<String> = Vec::new();
    let mut given = false;
    for (c, v) in &p.values {
        match c {
            'e' => {
                patterns.extend(v.split('\n').map(String::from));
                given = true;
            }
            'f' => {
                given = true;
                match std::fs::read_to_string(io.at(v)) {
                    Ok(t) => patterns.extend(t.lines().map(String::from)),
                    Err(e) => {
                        let _ = writeln!(io.stderr, "{tool}: {v}: {}", describe(&e));
                        return 2;
                    }
                }
            }
            _ => {}
        }
    }
    if !given {
        if operands.is_empty() {
            let _ = writeln!(io.stderr, "{USAGE}");
            return 2;
        }
        patterns.extend(operands.remove(0).split('\n').map(String::from));
    }
    let max: Option<u64> = match p.value('m') {
        None => None,
        Some(m) => match m.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                let _ = writeln!(io.stderr, "{tool}: invalid max count");
                return 2;
            }
        },
    };
    // The last of -E -F -G given wins.
    let mode = p
        .flags
        .iter()
        .rev()
        .find(|f| matches!(f, 'E' | 'F' | 'G'))
        .copied()
        .unwrap_or(match tool {
            "egrep" => 'E',
            "fgrep" => 'F',
            _ => 'G',
        });
    let span = if p.has('x') {
        Span::Line
    } else if p.has('w') {
        Span::Word
    } else {
        Span::Any
    };
    let fold = p.has('i');
    let mut res = Vec::new();
    for pat in &patterns {
        let r = match mode {
            'F' => Regex::literal(pat, fold, span),
            'E' => Regex::spanning(pat, Syntax::Extended, fold, span),
            _ => Regex::spanning(pat, Syntax::Basic, fold, span),
        };
        match r {
            Ok(r) => res.push(r),
            Err(e) => {
                let _ = writeln!(io.stderr, "{tool}: {e}");
                return 2;
            }
        }
    }
    let o = Opts {
        invert: p.has('v'),
        number: p.has('n'),
        count: p.has('c'),
        only: p.has('o'),
        quiet: p.has('q'),
        list: if p.has('l') {
            Some(true)
        } else if p.has('L') {
            Some(false)
        } else {
            None
        },
        names: false,
        max,
    };
    let mut o = o;
    // -r: the files under each directory operand (`.` when there is none), in name order.
    let recursive = p.has('r') || p.has('R');
    let mut files: Vec<String> = Vec::new();
    let mut trouble = false;
    let mut dirs_seen = false;
    if recursive && operands.is_empty() {
        dirs_seen = true;
        trouble |= walk(io, ".", "", &mut files, tool, p.has('s'));
    }
    for op in &operands {
        if recursive && op != "-" && std::fs::metadata(io.at(op)).is_ok_and(|m| m.is_dir()) {
            dirs_seen = true;
            trouble |= walk(io, op, op, &mut files, tool, p.has('s'));
        } else {
            files.push(op.clone());
        }
    }
    o.names = (files.len() > 1 || dirs_seen || p.has('H')) && !p.has('h');
    let names: Vec<&str> = if files.is_empty() && !dirs_seen {
        vec!["-"]
    } else {
        files.iter().map(String::as_str).collect()
    };
    let mut found = false;
    let mut out = Tracked::new(io.stdout);
    for name in names {
        let shown = if name == "-" {
            "(standard input)"
        } else {
            name
        };
        let r = open(name, io.cwd, io.stdin)
            .and_then(|mut input| search(&res, &o, input.reader(), shown, &mut out));
        match r {
            Ok(hit) => {
                found |= hit;
                if hit && o.quiet {
                    return 0;
                }
            }
            Err(e) if out.failed => {
                write_error(io.stderr, tool, &e);
                return 2;
            }
            Err(e) => {
                if !p.has('s') {
                    let _ = writeln!(io.stderr, "{tool}: {name}: {}", describe(&e));
                }
                trouble = true;
            }
        }
    }
    if trouble {
        2
    } else if found {
        0
    } else {
        1
    }
}

/// The files under directory `dir` (named `shown`, `""` for `.` given by no operand, whose
/// files are named without `./` as GNU's grep names them), depth first in name order, onto
/// `files`; whether a directory could not be read (said unless `quiet`).
fn walk(
    io: &mut Io,
    dir: &str,
    shown: &str,
    files: &mut Vec<String>,
    tool: &str,
    quiet: bool,
) -> bool {
    let mut trouble = false;
    let mut stack = vec![(dir.to_string(), shown.to_string())];
    while let Some((d, name)) = stack.pop() {
        let entries = match std::fs::read_dir(io.at(&d)) {
            Ok(e) => e,
            Err(e) => {
                if !quiet {
                    let _ = writeln!(
                        io.stderr,
                        "{tool}: {}: {}",
                        if name.is_empty() { "." } else { &name },
                        describe(&e)
                    );
                }
                trouble = true;
                continue;
            }
        };
        let mut here: Vec<(String, bool)> = entries
            .filter_map(|e| e.ok())
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.file_type().is_ok_and(|t| t.is_dir()),
                )
            })
            .collect();
        here.sort();
        let join = |base: &str, n: &str| {
            if base.is_empty() {
                n.to_string()
            } else {
                format!("{}/{n}", base.trim_end_matches('/'))
            }
        };
        let mut subdirs = Vec::new();
        for (n, is_dir) in here {
            if is_dir {
                subdirs.push((join(&d, &n), join(&name, &n)));
            } else {
                files.push(join(&name, &n));
            }
        }
        // Files of a directory before its subdirectories' (the stack pops the first first).
        stack.extend(subdirs.into_iter().rev());
    }
    trouble
}

struct Opts {
    invert: bool,
    number: bool,
    count: bool,
    only: bool,
    quiet: bool,
    /// -l (Some(true)): names of files with a selected line; -L (Some(false)): without.
    list: Option<bool>,
    names: bool,
    max: Option<u64>,
}

/// Searches one input; whether a line was selected.
fn search(
    res: &[Regex],
    o: &Opts,
    r: &mut dyn BufRead,
    name: &str,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut n = 0u64;
    let mut line_no = 0u64;
    let mut raw = Vec::new();
    let silent = o.quiet || o.list.is_some() || o.count;
    while o.max.is_none_or(|m| n < m) {
        raw.clear();
        if r.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        line_no += 1;
        let body = raw.strip_suffix(b"\n").unwrap_or(&raw);
        let text: Vec<char> = String::from_utf8_lossy(body).chars().collect();
        let hit = res.iter().any(|re| re.is_match(&text));
        if hit == o.invert {
            continue;
        }
        n += 1;
        if o.quiet || o.list.is_some() {
            break;
        }
        if silent {
            continue;
        }
        let prefix = |out: &mut dyn Write| -> std::io::Result<()> {
            if o.names {
                write!(out, "{name}:")?;
            }
            if o.number {
                write!(out, "{line_no}:")?;
            }
            Ok(())
        };
        if o.only {
            if o.invert {
                continue;
            }
            for (s, e) in matches(res, &text) {
                prefix(out)?;
                let m: String = text[s..e].iter().collect();
                writeln!(out, "{m}")?;
            }
            continue;
        }
        prefix(out)?;
        out.write_all(body)?;
        out.write_all(b"\n")?;
    }
    match o.list {
        Some(with) if (n > 0) == with => writeln!(out, "{name}")?,
        _ => {}
    }
    if o.count && o.list.is_none() && !o.quiet {
        if o.names {
            write!(out, "{name}:")?;
        }
        writeln!(out, "{n}")?;
    }
    Ok(n > 0)
}

/// The non-empty matches of any of `res` in `text`, left to right (grep -o).
fn matches(res: &[Regex], text: &[char]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    while at <= text.len() {
        // The leftmost match of any pattern, the longest at that place.
        let mut best: Option<(usize, usize)> = None;
        for re in res {
            if let Some(m) = re.find_at(text, at)
                && let (Some(s), Some(e)) = (m[0], m[1])
                && best.is_none_or(|(bs, be)| s < bs || (s == bs && e > be))
            {
                best = Some((s, e));
            }
        }
        let Some((s, e)) = best else { break };
        if e > s {
            found.push((s, e));
            at = e;
        } else {
            at = s + 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    fn run(tool: &str, args: &[&str], input: &str) -> (i32, String, String) {
        let mut stdin = input.as_bytes();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let code = crate::run(
            tool,
            &args,
            &mut crate::Io::new(&mut stdin, &mut out, &mut err),
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn options() {
        let t = "apple pie\nbanana\ncherry tart\napricot\n";
        assert_eq!(run("grep", &["-o", "a[a-z]"], t).1, "ap\nan\nan\nar\nap\n");
        assert_eq!(run("grep", &["-q", "cherry"], t), (0, "".into(), "".into()));
        assert_eq!(run("grep", &["-q", "zz"], t).0, 1);
        assert_eq!(run("grep", &["-x", "banana"], t).1, "banana\n");
        assert_eq!(run("grep", &["-x", "banan"], t).0, 1);
        assert_eq!(run("grep", &["-w", "pie"], t).1, "apple pie\n");
        assert_eq!(run("grep", &["-w", "pi"], t).0, 1);
        assert_eq!(
            run("grep", &["-E", "^(ba|ch)"], t).1,
            "banana\ncherry tart\n"
        );
        assert_eq!(run("egrep", &["an+a$"], t).1, "banana\n");
        assert_eq!(run("fgrep", &["e p"], t).1, "apple pie\n");
        assert_eq!(
            run("grep", &["-e", "tart", "-e", "pie"], t).1,
            "apple pie\ncherry tart\n"
        );
        assert_eq!(run("grep", &["-l", "a"], t).1, "(standard input)\n");
        assert_eq!(run("grep", &["-c", "-v", "a"], t).1, "0\n");
        assert_eq!(run("grep", &["-m", "1", "ap"], t).1, "apple pie\n");
        assert_eq!(run("grep", &["-n", "-o", "rr"], t).1, "3:rr\n");
        assert_eq!(run("grep", &["-i", "APRI"], t).1, "apricot\n");
        assert_eq!(run("grep", &["a\\|b"], "xb\n").1, "xb\n");
        assert_eq!(run("grep", &["-Z", "a"], t).0, 2);
        assert_eq!(run("grep", &["--count", "--regexp=an"], t).1, "1\n");
        assert_eq!(
            run("grep", &["--color=never", "-x", "banana"], t).1,
            "banana\n"
        );
        assert_eq!(run("grep", &["--nope", "a"], t).0, 2);
        assert_eq!(run("grep", &["-E", "a{1"], "a{1\n").1, "a{1\n");
        assert_eq!(run("grep", &["a\\{1"], t).2, "grep: Unmatched \\{\n");
    }
}
