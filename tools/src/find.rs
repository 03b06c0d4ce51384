//! find and xargs: walking the tree, and running commands with what it finds. A command that
//! names a coreutils tool runs here, in this process (as the shell runs its applets: no
//! process per `rm`); any other starts as a child process (std::process), its output copied
//! to the tool's own.

use std::fs;
use std::io::Read;

use crate::Io;
use crate::output::{help, wants_help, write_error};
use std::io::describe;

/// Runs `argv` with no input; its status (127 not found, 126 not runnable).
pub fn run_command(tool: &str, argv: &[String], io: &mut Io) -> i32 {
    let Some(prog) = argv.first() else { return 0 };
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let builtin =
        crate::tool_name(base).filter(|_| !prog.contains('/') || prog == &format!("/bin/{base}"));
    if let Some(t) = builtin {
        let mut none: &[u8] = b"";
        return crate::run_tool(
            t,
            &argv[1..],
            &mut Io {
                stdin: &mut none,
                stdout: &mut *io.stdout,
                stderr: &mut *io.stderr,
                env: io.env,
                interrupted: io.interrupted,
                cwd: io.cwd,
                tty: crate::Tty {
                    stdin: false,
                    stdout: io.tty.stdout,
                },
            },
        );
    }
    let mut cmd = std::process::Command::new(prog);
    cmd.args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(env) = io.env {
        cmd.env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    if let Some(d) = io.cwd {
        cmd.current_dir(d);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io.stderr, "{tool}: {prog}: {}", describe(&e));
            return if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
        }
    };
    // Its errors on a thread of their own, so that neither pipe fills while the other is read.
    let errs = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = e.read_to_end(&mut v);
            v
        })
    });
    if let Some(mut out) = child.stdout.take() {
        let mut buf = vec![0u8; 4096];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if io.stdout.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
            if (io.interrupted)() {
                let _ = child.kill();
                break;
            }
        }
    }
    if let Some(Ok(v)) = errs.map(|t| t.join()) {
        let _ = io.stderr.write_all(&v);
    }
    match child.wait() {
        Ok(s) => s.code().unwrap_or(125),
        Err(e) => {
            let _ = writeln!(io.stderr, "{tool}: {prog}: {}", describe(&e));
            125
        }
    }
}

/// Shell-style wildcard match (`*`, `?`, `[...]` with ranges and `!`/`^`), as find -name
/// matches a file's name; `fold` ignores ASCII case (-iname).
pub fn wildcard(pat: &[char], name: &[char], fold: bool) -> bool {
    let eq = |a: char, b: char| a == b || (fold && a.eq_ignore_ascii_case(&b));
    // Iterative, with one backtrack point: the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(p + 1),
            Some('[') => class(pat, p, name[n], fold),
            Some('\\') if p + 1 < pat.len() => eq(pat[p + 1], name[n]).then_some(p + 2),
            Some(&c) => eq(c, name[n]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pat[p..].iter().all(|&c| c == '*')
}

/// A bracket expression at `pat[p]` against `c`: the index after it if `c` is in it.
fn class(pat: &[char], p: usize, c: char, fold: bool) -> Option<usize> {
    let mut i = p + 1;
    let negate = matches!(pat.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut hit = false;
    let lc = c.to_ascii_lowercase();
    while i < pat.len() && (pat[i] != ']' || i == start) {
        let lo = pat[i];
        if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = pat[i + 2];
            hit |= (lo..=hi).contains(&c) || (fold && (lo..=hi).contains(&lc));
            i += 3;
        } else {
            hit |= lo == c || (fold && lo.eq_ignore_ascii_case(&c));
            i += 1;
        }
    }
    if i >= pat.len() {
        // No closing bracket: a literal `[`.
        return (c == '[').then_some(p + 1);
    }
    (hit != negate).then_some(i + 1)
}

pub(crate) const FIND_HELP: &str = "Usage: find [PATH...] [EXPRESSION]
Walk each PATH (.) and evaluate EXPRESSION for every file under it (-print
when it has no action). Tests and actions, joined by -a (implied), -o, !, ( ):
  -name PAT, -iname PAT   the name matches the wildcard PAT (-iname: any case)
  -type f|d               a file, a directory (c: a device)
  -size [+-]N[ckMG]       size in 512-byte blocks (c: bytes, k: KiB, ...)
  -empty                  an empty file or directory
  -maxdepth N, -mindepth N  go at most N levels down; act from level N
  -print                  print the path
  -exec CMD {} ;          run CMD with {} as the path; true if it exits 0
  -exec CMD {} +          run CMD with many paths at once
";

/// One node of a find expression.
enum Expr {
    Name(Vec<char>, bool),
    Type(char),
    Size(std::cmp::Ordering, u64, u64),
    Empty,
    True,
    Print,
    Exec(Vec<String>, bool),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// The expression parser: `-o` binds loosest, then `-a`, then `!`; parentheses group.
struct Parser<'a> {
    words: &'a [String],
    at: usize,
    maxdepth: Option<usize>,
    mindepth: usize,
    action: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.words.get(self.at).map(String::as_str)
    }
    fn value(&mut self, what: &str) -> Result<String, String> {
        self.at += 1;
        self.words
            .get(self.at - 1)
            .cloned()
            .ok_or(format!("missing argument to '{what}'"))
    }
    fn or(&mut self, depth: usize) -> Result<Expr, String> {
        let mut e = self.and(depth)?;
        while matches!(self.peek(), Some("-o" | "-or")) {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and(depth)?));
        }
        Ok(e)
    }
    fn and(&mut self, depth: usize) -> Result<Expr, String> {
        let mut e = self.unary(depth)?;
        loop {
            match self.peek() {
                None | Some("-o" | "-or" | ")") => return Ok(e),
                Some("-a" | "-and") => self.at += 1,
                _ => {}
            }
            e = Expr::And(Box::new(e), Box::new(self.unary(depth)?));
        }
    }
    fn unary(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > 64 {
            return Err("expression nested too deeply".into());
        }
        let Some(w) = self.peek().map(String::from) else {
            return Err("expected an expression".into());
        };
        self.at += 1;
        Ok(match w.as_str() {
            "!" | "-not" => Expr::Not(Box::new(self.unary(depth + 1)?)),
            "(" => {
                let e = self.or(depth + 1)?;
                if self.peek() != Some(")") {
                    return Err("missing ')'".into());
                }
                self.at += 1;
                e
            }
            "-name" | "-iname" => Expr::Name(self.value(&w)?.chars().collect(), w == "-iname"),
            "-type" => match self.value(&w)?.as_str() {
                t @ ("f" | "d" | "c") => Expr::Type(t.chars().next().unwrap_or('f')),
                t => return Err(format!("unknown argument to -type: {t}")),
            },
            "-size" => {
                let v = self.value(&w)?;
                let (ord, rest) = match v.as_bytes().first() {
                    Some(b'+') => (std::cmp::Ordering::Greater, &v[1..]),
                    Some(b'-') => (std::cmp::Ordering::Less, &v[1..]),
                    _ => (std::cmp::Ordering::Equal, v.as_str()),
                };
                let (digits, unit) = match rest.char_indices().last() {
                    Some((i, c)) if c.is_ascii_alphabetic() => (&rest[..i], c),
                    _ => (rest, 'b'),
                };
                let unit = match unit {
                    'b' => 512,
                    'c' => 1,
                    'w' => 2,
                    'k' => 1024,
                    'M' => 1 << 20,
                    'G' => 1 << 30,
                    _ => return Err(format!("invalid -size '{v}'")),
                };
                match digits.parse() {
                    Ok(n) => Expr::Size(ord, n, unit),
                    Err(_) => return Err(format!("invalid -size '{v}'")),
                }
            }
            "-empty" => Expr::Empty,
            "-true" => Expr::True,
            "-false" => Expr::Not(Box::new(Expr::True)),
            "-print" => {
                self.action = true;
                Expr::Print
            }
            "-exec" => {
                self.action = true;
                let mut cmd = Vec::new();
                loop {
                    let Some(a) = self.words.get(self.at) else {
                        return Err("missing argument to '-exec'".into());
                    };
                    self.at += 1;
                    if a == ";" {
                        break Expr::Exec(cmd, false);
                    }
                    if a == "+" && cmd.last().is_some_and(|l: &String| l == "{}") {
                        cmd.pop();
                        break Expr::Exec(cmd, true);
                    }
                    cmd.push(a.clone());
                }
            }
            "-maxdepth" | "-mindepth" => {
                let v = self.value(&w)?;
                let n: usize = v
                    .parse()
                    .map_err(|_| format!("invalid argument '{v}' to '{w}'"))?;
                if w == "-maxdepth" {
                    self.maxdepth = Some(n);
                } else {
                    self.mindepth = n;
                }
                Expr::True
            }
            "-newer" | "-mtime" | "-mmin" | "-user" | "-perm" => {
                return Err(format!(
                    "{w}: eurali's file servers keep no times, owners or modes"
                ));
            }
            _ => return Err(format!("unknown predicate '{w}'")),
        })
    }
}

/// What a file under the walk is to the expression.
struct Found<'a> {
    path: &'a str,
    name: &'a str,
    meta: &'a fs::Metadata,
}

struct Walk<'a, 'b> {
    io: &'a mut Io<'b>,
    /// `-exec ... {} +`: the paths gathered for each such command.
    batches: Vec<Vec<String>>,
    status: i32,
}

impl Walk<'_, '_> {
    fn eval(&mut self, e: &Expr, f: &Found, batch: &mut usize) -> bool {
        match e {
            Expr::Name(p, fold) => {
                let n: Vec<char> = f.name.chars().collect();
                wildcard(p, &n, *fold)
            }
            Expr::Type(t) => match t {
                'd' => f.meta.is_dir(),
                'c' => f.meta.file_type().is_device(),
                _ => f.meta.is_file(),
            },
            Expr::Size(ord, n, unit) => f.meta.len().div_ceil(*unit).cmp(n) == *ord,
            Expr::Empty => {
                if f.meta.is_dir() {
                    fs::read_dir(self.io.at(f.path)).is_ok_and(|mut d| d.next().is_none())
                } else {
                    f.meta.is_empty()
                }
            }
            Expr::True => true,
            Expr::Print => {
                if let Err(e) = writeln!(self.io.stdout, "{}", f.path) {
                    write_error(self.io.stderr, "find", &e);
                    self.status = 1;
                }
                true
            }
            Expr::Exec(cmd, many) => {
                if *many {
                    let i = *batch;
                    *batch += 1;
                    if self.batches.len() <= i {
                        self.batches.resize(i + 1, Vec::new());
                    }
                    self.batches[i].push(f.path.to_string());
                    return true;
                }
                let argv: Vec<String> = cmd.iter().map(|a| a.replace("{}", f.path)).collect();
                run_command("find", &argv, self.io) == 0
            }
            Expr::Not(x) => !self.eval(x, f, batch),
            Expr::And(a, b) => self.eval(a, f, batch) && self.eval(b, f, batch),
            Expr::Or(a, b) => self.eval(a, f, batch) || self.eval(b, f, batch),
        }
    }
}

/// The `-exec ... {} +` commands of `e`, in order.
fn batch_commands<'e>(e: &'e Expr, out: &mut Vec<&'e [String]>) {
    match e {
        Expr::Exec(c, true) => out.push(c),
        Expr::Not(x) => batch_commands(x, out),
        Expr::And(a, b) | Expr::Or(a, b) => {
            batch_commands(a, out);
            batch_commands(b, out);
        }
        _ => {}
    }
}

/// `find [PATH...] [EXPRESSION]`: depth first, each directory before what is in it, names in
/// order (GNU's follows the directory's own order).
#[inline(never)]
pub fn find(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, FIND_HELP);
    }
    let starts_at = args
        .iter()
        .position(|a| a.starts_with('-') && a.len() > 1 || a == "!" || a == "(")
        .unwrap_or(args.len());
    let mut roots: Vec<String> = args[..starts_at].to_vec();
    if roots.is_empty() {
        roots.push(".".into());
    }
    let mut parser = Parser {
        words: &args[starts_at..],
        at: 0,
        maxdepth: None,
        mindepth: 0,
        action: false,
    };
    let expr = if parser.words.is_empty() {
        Ok(Expr::True)
    } else {
        parser.or(0).and_then(|e| match parser.peek() {
            None => Ok(e),
            Some(w) => Err(format!("unexpected '{w}'")),
        })
    };
    let expr = match expr {
        Ok(e) if parser.action => e,
        Ok(e) => Expr::And(Box::new(e), Box::new(Expr::Print)),
        Err(m) => {
            let _ = writeln!(io.stderr, "find: {m}");
            return 1;
        }
    };
    let (maxdepth, mindepth) = (parser.maxdepth, parser.mindepth);
    let mut w = Walk {
        io,
        batches: Vec::new(),
        status: 0,
    };
    for root in roots {
        let mut stack = vec![(root.clone(), 0usize)];
        while let Some((path, depth)) = stack.pop() {
            if (w.io.interrupted)() {
                return 130;
            }
            let meta = match fs::metadata(w.io.at(&path)) {
                Ok(m) => m,
                Err(e) => {
                    let _ = writeln!(w.io.stderr, "find: '{path}': {}", describe(&e));
                    w.status = 1;
                    continue;
                }
            };
            let name = if depth == 0 {
                path.as_str()
            } else {
                path.rsplit('/').next().unwrap_or(&path)
            };
            if depth >= mindepth {
                let mut batch = 0;
                w.eval(
                    &expr,
                    &Found {
                        path: &path,
                        name,
                        meta: &meta,
                    },
                    &mut batch,
                );
            }
            if !meta.is_dir() || maxdepth.is_some_and(|m| depth >= m) {
                continue;
            }
            match crate::input::sorted_names(w.io.at(&path)) {
                Ok(names) => {
                    let base = if path.ends_with('/') {
                        path.clone()
                    } else {
                        format!("{path}/")
                    };
                    stack.extend(
                        names
                            .into_iter()
                            .rev()
                            .map(|n| (format!("{base}{n}"), depth + 1)),
                    );
                }
                Err(e) => {
                    let _ = writeln!(w.io.stderr, "find: '{path}': {}", describe(&e));
                    w.status = 1;
                }
            }
        }
    }
    let mut cmds = Vec::new();
    batch_commands(&expr, &mut cmds);
    let batches = std::mem::take(&mut w.batches);
    for (cmd, paths) in cmds.into_iter().zip(batches) {
        if paths.is_empty() {
            continue;
        }
        let argv: Vec<String> = cmd.iter().cloned().chain(paths).collect();
        if run_command("find", &argv, w.io) != 0 {
            w.status = 1;
        }
    }
    w.status
}

pub(crate) const XARGS_HELP: &str = "Usage: xargs [-0rt] [-n N] [-I STR] [COMMAND [ARG...]]
Run COMMAND (echo) with the words read from standard input as arguments.
Words are separated by blanks and newlines; quotes and backslash protect them.
  -0      words end with a NUL byte instead (as find -print0 makes them)
  -n N    at most N words per command
  -I STR  one command per input line, STR in the arguments replaced by it
  -r      run nothing when the input holds no word
  -t      print each command on standard error before running it
";

/// The words of xargs' input: blank-separated with quotes and backslashes (`zero`: NUL-ended;
/// `lines`: one per line, leading blanks dropped).
fn words(input: &[u8], zero: bool, lines: bool) -> Result<Vec<String>, String> {
    let text = String::from_utf8_lossy(input);
    if zero {
        return Ok(text
            .split('\0')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect());
    }
    if lines {
        return Ok(text
            .lines()
            .map(|l| l.trim_start_matches([' ', '\t']))
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect());
    }
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => out.extend(cur.take()),
            '\'' | '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\n') | None => {
                            let kind = if c == '\'' { "single" } else { "double" };
                            return Err(format!(
                                "unmatched {kind} quote; by default quotes are special to xargs unless you use the -0 option"
                            ));
                        }
                        Some(x) => w.push(x),
                    }
                }
            }
            '\\' => {
                if let Some(x) = chars.next() {
                    cur.get_or_insert_with(String::new).push(x);
                }
            }
            _ => cur.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(cur);
    Ok(out)
}

/// `xargs [-0rt] [-n N] [-I STR] [COMMAND [ARG...]]`: status 123 if a command failed (1-125),
/// 124 if one exited 255, 126/127 if it could not run, as GNU's.
#[inline(never)]
pub fn xargs(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, XARGS_HELP);
    }
    // Options end at the first word that is not one (the command).
    let (mut zero, mut no_empty, mut trace) = (false, false, false);
    let (mut per, mut replace): (Option<usize>, Option<String>) = (None, None);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a.len() < 2 {
            break;
        }
        for (k, c) in a[1..].char_indices() {
            match c {
                '0' => zero = true,
                'r' => no_empty = true,
                't' => trace = true,
                'n' | 'I' => {
                    let rest = &a[1 + k + 1..];
                    let v = if !rest.is_empty() {
                        rest.to_string()
                    } else {
                        i += 1;
                        match args.get(i) {
                            Some(v) => v.clone(),
                            None => {
                                let _ = writeln!(
                                    io.stderr,
                                    "xargs: option requires an argument -- '{c}'\n{}",
                                    XARGS_HELP.lines().next().unwrap_or("")
                                );
                                return 1;
                            }
                        }
                    };
                    if c == 'I' {
                        replace = Some(v);
                    } else {
                        match v.parse::<usize>() {
                            Ok(n) if n > 0 => per = Some(n),
                            _ => {
                                let _ = writeln!(
                                    io.stderr,
                                    "xargs: invalid number \"{v}\" for -n option"
                                );
                                return 1;
                            }
                        }
                    }
                    break;
                }
                _ => {
                    let _ = writeln!(
                        io.stderr,
                        "xargs: invalid option -- '{c}'\n{}",
                        XARGS_HELP.lines().next().unwrap_or("")
                    );
                    return 1;
                }
            }
        }
        i += 1;
    }
    let cmd: Vec<String> = if i < args.len() {
        args[i..].to_vec()
    } else {
        vec!["echo".into()]
    };
    let mut input = Vec::new();
    if let Err(e) = io.stdin.read_to_end(&mut input) {
        let _ = writeln!(io.stderr, "xargs: {}", describe(&e));
        return 1;
    }
    let words = match words(&input, zero, replace.is_some()) {
        Ok(w) => w,
        Err(m) => {
            let _ = writeln!(io.stderr, "xargs: {m}");
            return 1;
        }
    };
    // The command lines to run.
    let mut runs: Vec<Vec<String>> = Vec::new();
    if let Some(r) = &replace {
        for w in &words {
            runs.push(cmd.iter().map(|a| a.replace(r.as_str(), w)).collect());
        }
    } else if words.is_empty() {
        if !no_empty {
            runs.push(cmd.clone());
        }
    } else {
        // At most -n words, and about 128 KiB of arguments, per command (as GNU's limit).
        let mut cur: Vec<String> = Vec::new();
        let mut size = 0;
        for w in words {
            if !cur.is_empty()
                && (per.is_some_and(|n| cur.len() >= n) || size + w.len() > 128 * 1024)
            {
                runs.push(cmd.iter().cloned().chain(cur.drain(..)).collect());
                size = 0;
            }
            size += w.len() + 1;
            cur.push(w);
        }
        runs.push(cmd.iter().cloned().chain(cur).collect());
    }
    let mut status = 0;
    for argv in runs {
        if (io.interrupted)() {
            return 130;
        }
        if trace {
            let _ = writeln!(io.stderr, "{}", argv.join(" "));
        }
        match run_command("xargs", &argv, io) {
            0 => {}
            255 => {
                let _ = writeln!(
                    io.stderr,
                    "xargs: {}: exited with status 255; aborting",
                    argv[0]
                );
                return 124;
            }
            c @ (126 | 127) => return c,
            c if c > 128 => return 125,
            _ => status = 123,
        }
    }
    status
}
