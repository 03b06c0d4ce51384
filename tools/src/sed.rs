//! sed: the POSIX stream editor with GNU's common extensions.
//!
//! Options: `-n`, `-e SCRIPT`, `-f FILE`, `-E`/`-r`, `-s`, `-i[SUFFIX]` (each file edited in
//! place, its output replacing it). Commands: `{ } = a i c d D g G h H l n N p P q Q r s t T
//! b : w x y z #` (not `W`, `R`, `e`, `F`). Addresses: `N`, `$`, `/RE/` (`\cREc`, `I`),
//! `first~step`, `0,/RE/`, ranges `A,B`, `A,+N`, `A,~N`, and `!`. `s` flags: `g p N i I w` (not
//! `e`, `m`). Replacements: `&`, `\1`..`\9`, `\n`, and GNU's `\u \l \U \L \E`.
//! The script is compiled first, then run a line at a time (with one line read ahead for `$`),
//! so `yes | sed 3q` ends. Exit status as GNU's: 1 for a bad script, 2 when an input could not
//! be read, 4 for an output error, or `q`'s code.

use std::io::{BufRead, Write};

use crate::Io;
use crate::output::write_error;
use crate::regex::{Regex, Syntax};
use std::io::describe;

#[derive(Debug, Clone, PartialEq)]
enum Addr {
    Line(u64),
    Last,
    /// A regex by index; None: the last regex used.
    Re(Option<usize>),
    Step(u64, u64),
    /// `0` in `0,/re/`.
    Zero,
    /// `+N` and `~N` (second address only).
    Plus(u64),
    Mult(u64),
}

#[derive(Debug)]
struct Subst {
    re: Option<usize>,
    repl: Vec<Piece>,
    global: bool,
    nth: usize,
    print: bool,
    /// `w FILE`: the file (an index in [`Script::files`]) a changed line is also written to.
    write: Option<usize>,
}

#[derive(Debug)]
enum Piece {
    Lit(String),
    Group(usize),
    /// GNU's `\u \l` (the next character) and `\U \L \E` (until `\E`).
    Case(char),
}

#[derive(Debug)]
enum Kind {
    /// `{`, with the index of its `}`.
    Block(usize),
    End,
    LineNo,
    Append(String),
    Insert(String),
    Change(String),
    Delete,
    DeleteFirst,
    Get,
    GetAppend,
    Hold,
    HoldAppend,
    List,
    Next,
    NextAppend,
    Print,
    PrintFirst,
    Quit(i32, bool),
    Read(String),
    /// `w FILE`, by index in [`Script::files`].
    Write(usize),
    Subst(Box<Subst>),
    /// `b`, `t`, `T` with the label's index (None: the end of the script).
    Branch(Option<usize>),
    IfSubst(Option<usize>, bool),
    Label,
    Trans(Vec<(char, char)>),
    Exchange,
    Zap,
}

#[derive(Debug)]
struct Cmd {
    a1: Option<Addr>,
    a2: Option<Addr>,
    negate: bool,
    kind: Kind,
    /// A range in progress, and where a `+N` one ends.
    active: bool,
    end: u64,
}

struct Script {
    cmds: Vec<Cmd>,
    res: Vec<Regex>,
    /// The files of `w` commands and flags, by name; opened (emptied) before the input is read,
    /// as GNU does. `/dev/stdout` is the output.
    files: Vec<(String, Option<std::fs::File>)>,
}

/// The script's text with what the parser needs for messages.
struct Parser<'a> {
    s: Vec<char>,
    i: usize,
    syntax: Syntax,
    res: &'a mut Vec<Regex>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
    }
    fn err(&self, msg: &str) -> String {
        format!("-e expression #1, char {}: {msg}", self.i.min(self.s.len()))
    }
    fn number(&mut self) -> Option<u64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let t: String = self.s[start..self.i].iter().collect();
        t.parse().ok()
    }

    /// Text up to an unescaped `delim` (brackets kept whole in a regex): `\delim` gives
    /// `delim`, `\n` a newline when `newline`, other escapes are kept for the regex.
    fn delimited(&mut self, delim: char, regex: bool) -> Result<String, String> {
        let mut out = String::new();
        loop {
            let Some(c) = self.next() else {
                return Err(self.err("unterminated address regex"));
            };
            if c == delim {
                return Ok(out);
            }
            if c == '\n' && !regex {
                return Err(self.err("unterminated `s' command"));
            }
            if c == '\\' {
                match self.next() {
                    None => return Err(self.err("unterminated `s' command")),
                    Some(d) if d == delim => out.push(d),
                    Some('n') if regex => out.push_str("\\n"),
                    Some(d) => {
                        out.push('\\');
                        out.push(d);
                    }
                }
                continue;
            }
            out.push(c);
            if c == '[' && regex {
                // A bracket expression: the delimiter is literal inside.
                let mut first = true;
                if self.peek() == Some('^') {
                    out.push('^');
                    self.i += 1;
                }
                loop {
                    let Some(b) = self.next() else {
                        return Err(self.err("unterminated address regex"));
                    };
                    out.push(b);
                    if b == '[' && matches!(self.peek(), Some(':' | '.' | '=')) {
                        let k = self.next().unwrap_or(':');
                        out.push(k);
                        while let Some(x) = self.next() {
                            out.push(x);
                            if x == k && self.peek() == Some(']') {
                                out.push(']');
                                self.i += 1;
                                break;
                            }
                        }
                    } else if b == ']' && !first {
                        break;
                    }
                    first = false;
                }
            }
        }
    }

    fn regex(&mut self, pat: String, fold: bool) -> Result<Option<usize>, String> {
        if pat.is_empty() {
            return Ok(None);
        }
        let r = Regex::new(&pat, self.syntax, fold).map_err(|e| self.err(&e))?;
        self.res.push(r);
        Ok(Some(self.res.len() - 1))
    }

    fn address(&mut self, second: bool) -> Result<Option<Addr>, String> {
        let a = match self.peek() {
            Some('0'..='9') => {
                let n = self
                    .number()
                    .ok_or_else(|| self.err("invalid line number"))?;
                if self.peek() == Some('~') {
                    self.i += 1;
                    let step = self.number().unwrap_or(0);
                    Addr::Step(n, step)
                } else if n == 0 {
                    Addr::Zero
                } else {
                    Addr::Line(n)
                }
            }
            Some('$') => {
                self.i += 1;
                Addr::Last
            }
            Some('+' | '~') if second => {
                let c = self.next();
                let n = self.number().ok_or_else(|| self.err("expected number"))?;
                if c == Some('+') {
                    Addr::Plus(n)
                } else {
                    Addr::Mult(n)
                }
            }
            Some(c @ ('/' | '\\')) => {
                self.i += 1;
                let delim = if c == '\\' {
                    self.next()
                        .ok_or_else(|| self.err("unexpected end of script"))?
                } else {
                    '/'
                };
                let pat = self.delimited(delim, true)?;
                let mut fold = false;
                while matches!(self.peek(), Some('I' | 'M')) {
                    fold |= self.next() == Some('I');
                }
                Addr::Re(self.regex(pat, fold)?)
            }
            _ => return Ok(None),
        };
        Ok(Some(a))
    }

    /// A label or file name: to the end of the line (labels end at `;` too).
    fn word(&mut self, label: bool) -> String {
        self.blanks();
        let mut w = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' || (label && c == ';') {
                break;
            }
            w.push(c);
            self.i += 1;
        }
        if label {
            w.truncate(w.trim_end().len());
        }
        w
    }

    /// The text of `a`, `i`, `c`: `a\` and lines, or GNU's one-liner `a text`.
    fn text(&mut self) -> String {
        self.blanks();
        if self.peek() == Some('\\') {
            self.i += 1;
            if self.peek() == Some('\n') {
                self.i += 1;
            }
        }
        let mut t = String::new();
        while let Some(c) = self.next() {
            match c {
                '\n' => break,
                '\\' => match self.next() {
                    Some(d) => t.push(d),
                    None => break,
                },
                c => t.push(c),
            }
        }
        t
    }

    /// The end of a command: blanks, then `;`, a newline, `}`, `#` or the end.
    fn end_of_command(&mut self) -> Result<(), String> {
        self.blanks();
        match self.peek() {
            None | Some('\n' | ';') => {
                self.i += 1;
                Ok(())
            }
            Some('}' | '#') => Ok(()),
            Some(_) => Err(self.err("extra characters after command")),
        }
    }
}

#[inline(never)]
fn compile(script: &str, syntax: Syntax) -> Result<Script, String> {
    let mut res = Vec::new();
    let mut cmds: Vec<Cmd> = Vec::new();
    let mut labels: Vec<(String, usize)> = Vec::new();
    let mut jumps: Vec<(usize, String)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut files: Vec<(String, Option<std::fs::File>)> = Vec::new();
    let mut p = Parser {
        s: script.chars().collect(),
        i: 0,
        syntax,
        res: &mut res,
    };
    loop {
        while matches!(p.peek(), Some(' ' | '\t' | '\n' | ';')) {
            p.i += 1;
        }
        let Some(c) = p.peek() else { break };
        if c == '#' {
            while !matches!(p.next(), Some('\n') | None) {}
            continue;
        }
        let a1 = p.address(false)?;
        let mut a2 = None;
        if a1.is_some() && p.peek() == Some(',') {
            p.i += 1;
            p.blanks();
            a2 = Some(p.address(true)?.ok_or_else(|| p.err("unexpected `,'"))?);
        }
        if matches!(a1, Some(Addr::Zero)) && !matches!(a2, Some(Addr::Re(_))) {
            return Err(p.err("invalid usage of line address 0"));
        }
        p.blanks();
        let mut negate = false;
        while p.peek() == Some('!') {
            negate = true;
            p.i += 1;
            p.blanks();
        }
        let Some(c) = p.next() else {
            return Err(p.err("missing command"));
        };
        let one_address = |p: &Parser| {
            if a2.is_some() {
                Err(p.err(&format!("command only uses one address ({c})")))
            } else {
                Ok(())
            }
        };
        let kind = match c {
            '{' => {
                open.push(cmds.len());
                Kind::Block(0)
            }
            '}' => {
                if a1.is_some() {
                    return Err(p.err("} doesn't want any addresses"));
                }
                let Some(b) = open.pop() else {
                    return Err(p.err("unexpected `}'"));
                };
                cmds[b].kind = Kind::Block(cmds.len());
                Kind::End
            }
            '=' => Kind::LineNo,
            'a' => Kind::Append(p.text()),
            'i' => Kind::Insert(p.text()),
            'c' => Kind::Change(p.text()),
            'd' => Kind::Delete,
            'D' => Kind::DeleteFirst,
            'g' => Kind::Get,
            'G' => Kind::GetAppend,
            'h' => Kind::Hold,
            'H' => Kind::HoldAppend,
            'l' => Kind::List,
            'n' => Kind::Next,
            'N' => Kind::NextAppend,
            'p' => Kind::Print,
            'P' => Kind::PrintFirst,
            'x' => Kind::Exchange,
            'z' => Kind::Zap,
            'q' | 'Q' => {
                one_address(&p)?;
                p.blanks();
                let code = p.number().unwrap_or(0) as i32;
                Kind::Quit(code, c == 'q')
            }
            'r' => Kind::Read(p.word(false)),
            'w' => Kind::Write(file_index(&mut files, p.word(false))),
            ':' => {
                if a1.is_some() {
                    return Err(p.err(": doesn't want any addresses"));
                }
                let l = p.word(true);
                if l.is_empty() {
                    return Err(p.err("\":\" lacks a label"));
                }
                labels.push((l, cmds.len()));
                Kind::Label
            }
            'b' | 't' | 'T' => {
                let l = p.word(true);
                if !l.is_empty() {
                    jumps.push((cmds.len(), l));
                }
                match c {
                    'b' => Kind::Branch(None),
                    _ => Kind::IfSubst(None, c == 't'),
                }
            }
            's' => {
                let delim = p.next().ok_or_else(|| p.err("unterminated `s' command"))?;
                if delim == '\n' || delim == '\\' {
                    return Err(p.err("unterminated `s' command"));
                }
                let pat = p.delimited(delim, true)?;
                let repl = replacement(&mut p, delim)?;
                let (mut global, mut nth, mut print, mut fold) = (false, 1, false, false);
                let mut write = None;
                loop {
                    match p.peek() {
                        Some('w') => {
                            p.i += 1;
                            write = Some(file_index(&mut files, p.word(false)));
                            break;
                        }
                        Some('g') => global = true,
                        Some('p') => print = true,
                        Some('i' | 'I') => fold = true,
                        Some('0'..='9') => {
                            nth = p.number().unwrap_or(0) as usize;
                            if nth == 0 {
                                return Err(p.err("number option to `s' command may not be zero"));
                            }
                            continue;
                        }
                        _ => break,
                    }
                    p.i += 1;
                }
                let re = p.regex(pat, fold)?;
                if let Some(r) = re {
                    let most = p.res[r].groups();
                    if repl
                        .iter()
                        .any(|x| matches!(x, Piece::Group(g) if *g > most))
                    {
                        return Err(p.err("invalid reference on `s' command's RHS"));
                    }
                }
                Kind::Subst(Box::new(Subst {
                    re,
                    repl,
                    global,
                    nth,
                    print,
                    write,
                }))
            }
            'y' => {
                let delim = p.next().ok_or_else(|| p.err("unterminated `y' command"))?;
                let from = unescape(&p.delimited(delim, false)?);
                let to = unescape(&p.delimited(delim, false)?);
                let (f, t): (Vec<char>, Vec<char>) = (from.chars().collect(), to.chars().collect());
                if f.len() != t.len() {
                    return Err(p.err("strings for `y' command are different lengths"));
                }
                Kind::Trans(f.into_iter().zip(t).collect())
            }
            c => return Err(p.err(&format!("unknown command: `{c}'"))),
        };
        let takes_text = matches!(
            kind,
            Kind::Append(_)
                | Kind::Insert(_)
                | Kind::Change(_)
                | Kind::Read(_)
                | Kind::Write(_)
                | Kind::Label
        ) || matches!(kind, Kind::Branch(_) | Kind::IfSubst(..));
        cmds.push(Cmd {
            a1,
            a2,
            negate,
            kind,
            active: false,
            end: 0,
        });
        if !takes_text && c != '{' {
            p.end_of_command()?;
        }
    }
    if !open.is_empty() {
        return Err(p.err("unmatched `{'"));
    }
    for (at, label) in jumps {
        let Some(&(_, to)) = labels.iter().find(|(l, _)| *l == label) else {
            return Err(format!(
                "-e expression #1, char 0: can't find label for jump to `{label}'"
            ));
        };
        match &mut cmds[at].kind {
            Kind::Branch(t) | Kind::IfSubst(t, _) => *t = Some(to),
            _ => {}
        }
    }
    Ok(Script { cmds, res, files })
}

/// The index of file `name` among the `w` files, added if new.
fn file_index(files: &mut Vec<(String, Option<std::fs::File>)>, name: String) -> usize {
    match files.iter().position(|(n, _)| *n == name) {
        Some(i) => i,
        None => {
            files.push((name, None));
            files.len() - 1
        }
    }
}

/// `\n` and `\\` in y's strings.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(d) => out.push(d),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[inline(never)]
fn replacement(p: &mut Parser, delim: char) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    loop {
        let Some(c) = p.next() else {
            return Err(p.err("unterminated `s' command"));
        };
        match c {
            c if c == delim => break,
            '&' => {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                pieces.push(Piece::Group(0));
            }
            '\\' => match p.next() {
                None => return Err(p.err("unterminated `s' command")),
                Some(d @ '0'..='9') => {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    pieces.push(Piece::Group(d as usize - '0' as usize));
                }
                Some('n') => lit.push('\n'),
                Some('t') => lit.push('\t'),
                Some(d @ ('u' | 'l' | 'U' | 'L' | 'E')) => {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    pieces.push(Piece::Case(d));
                }
                Some(d) => lit.push(d),
            },
            c => lit.push(c),
        }
    }
    pieces.push(Piece::Lit(lit));
    Ok(pieces)
}

/// An open input: stdin or a file.
enum Source {
    Stdin,
    File(std::io::BufReader<std::fs::File>),
}

/// The input: the operands one after another, a line read ahead to know the last.
struct Input<'a> {
    names: Vec<String>,
    next_name: usize,
    stdin: &'a mut dyn BufRead,
    current: Option<Source>,
    ahead: Option<(String, bool)>,
    /// Messages about inputs that could not be read (written by the caller).
    errors: Vec<String>,
    /// The directory relative names are in (see [`Run::cwd`]).
    cwd: Option<String>,
}

impl Input<'_> {
    /// The next line and whether it ended with a newline.
    fn raw(&mut self) -> Option<(String, bool)> {
        loop {
            if let Some(cur) = &mut self.current {
                let mut buf = Vec::new();
                let r = match cur {
                    Source::Stdin => self.stdin.read_until(b'\n', &mut buf),
                    Source::File(f) => f.read_until(b'\n', &mut buf),
                };
                match r {
                    Ok(0) => self.current = None,
                    Ok(_) => {
                        let nl = buf.last() == Some(&b'\n');
                        if nl {
                            buf.pop();
                        }
                        return Some((String::from_utf8_lossy(&buf).into_owned(), nl));
                    }
                    Err(e) => {
                        let name = &self.names[self.next_name - 1];
                        self.errors
                            .push(format!("sed: read error on {name}: {}", describe(&e)));
                        self.current = None;
                    }
                }
                continue;
            }
            let name = self.names.get(self.next_name)?.clone();
            self.next_name += 1;
            if name == "-" {
                self.current = Some(Source::Stdin);
                continue;
            }
            let opened = std::fs::File::open(crate::input::at(self.cwd.as_deref(), &name))
                .and_then(|f| {
                    if f.metadata()?.is_dir() {
                        return Err(std::io::ErrorKind::IsADirectory.into());
                    }
                    Ok(f)
                });
            match opened {
                Ok(f) => self.current = Some(Source::File(std::io::BufReader::new(f))),
                Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => self
                    .errors
                    .push(format!("sed: couldn't edit {name}: not a regular file")),
                Err(e) => self
                    .errors
                    .push(format!("sed: can't read {name}: {}", describe(&e))),
            }
        }
    }

    fn line(&mut self) -> Option<(String, bool)> {
        match self.ahead.take() {
            Some(l) => Some(l),
            None => self.raw(),
        }
    }

    fn at_last(&mut self) -> bool {
        if self.ahead.is_none() {
            self.ahead = self.raw();
        }
        self.ahead.is_none()
    }
}

/// The editor's state while it runs.
struct Run<'s> {
    script: &'s mut Script,
    /// Whether the command was interrupted: a script that loops (`:a;ba`) run inside the shell
    /// ends then.
    interrupted: &'s dyn Fn() -> bool,
    quiet: bool,
    line_no: u64,
    hold: String,
    /// What `a` and `r` queued for the end of the cycle.
    queue: Vec<Queued>,
    last_re: Option<usize>,
    /// Whether a substitution was made since the last line was read or `t` taken.
    substituted: bool,
    /// The directory relative file names are in (the shell's, when run inside it).
    cwd: Option<String>,
}

enum Queued {
    Text(String),
    File(String),
}

/// How a cycle ended.
enum Flow {
    Next,
    /// `D` with a newline left: start again without reading.
    Again,
    /// `q`, `Q`, or `n`/`N` with no next line: the exit status, and whether the pattern
    /// space is printed (unless -n) first.
    Quit(i32, bool),
}

/// A failure while running: a message (status 1, a regex reused when there is none) or the
/// output failing (status 4).
enum Error {
    Script(String),
    Output(std::io::Error),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Output(e)
    }
}

impl From<String> for Error {
    fn from(e: String) -> Error {
        Error::Script(e)
    }
}

impl Run<'_> {
    fn regex(&mut self, r: Option<usize>) -> Result<usize, String> {
        let i = r
            .or(self.last_re)
            .ok_or_else(|| "no previous regular expression".to_string())?;
        self.last_re = Some(i);
        Ok(i)
    }

    fn one(&mut self, a: &Addr, ps: &str, input: &mut Input) -> Result<bool, String> {
        Ok(match a {
            Addr::Line(n) => self.line_no == *n,
            Addr::Last => input.at_last(),
            Addr::Re(r) => {
                let i = self.regex(*r)?;
                let text: Vec<char> = ps.chars().collect();
                self.script.res[i].is_match(&text)
            }
            Addr::Step(first, step) => {
                if *step == 0 {
                    self.line_no == *first
                } else {
                    self.line_no >= *first && (self.line_no - first).is_multiple_of(*step)
                }
            }
            Addr::Zero | Addr::Plus(_) | Addr::Mult(_) => false,
        })
    }

    fn selected(&mut self, k: usize, ps: &str, input: &mut Input) -> Result<bool, String> {
        let (a1, a2, negate) = {
            let c = &self.script.cmds[k];
            (c.a1.clone(), c.a2.clone(), c.negate)
        };
        let Some(a1) = a1 else { return Ok(!negate) };
        let Some(a2) = a2 else {
            return Ok(self.one(&a1, ps, input)? != negate);
        };
        let n = self.line_no;
        let hit = if self.script.cmds[k].active {
            // A line number already passed ends the range before this line.
            if let Addr::Line(e) = a2
                && n > e
            {
                self.script.cmds[k].active = false;
                return Ok(negate);
            }
            let done = match &a2 {
                Addr::Line(e) => n >= *e,
                Addr::Plus(_) => n >= self.script.cmds[k].end,
                Addr::Mult(m) => *m == 0 || n.is_multiple_of(*m),
                other => self.one(other, ps, input)?,
            };
            if done {
                self.script.cmds[k].active = false;
            }
            true
        } else if (a1 == Addr::Zero && n == 1) || self.one(&a1, ps, input)? {
            let on = match &a2 {
                Addr::Line(e) => *e > n,
                Addr::Plus(p) => {
                    self.script.cmds[k].end = n + p;
                    *p > 0
                }
                Addr::Mult(m) => *m > 0 && !n.is_multiple_of(*m),
                Addr::Re(_) if a1 == Addr::Zero => !self.one(&a2, ps, input)?,
                _ => true,
            };
            self.script.cmds[k].active = on;
            true
        } else {
            false
        };
        Ok(hit != negate)
    }

    /// Writes the pattern space, and its newline if its line had one: a line without one
    /// (the input's last) gets it only when more output follows (GNU).
    fn print(&self, ps: &str, nl: bool, out: &mut Out) -> std::io::Result<()> {
        out.write_all(ps.as_bytes())?;
        if nl {
            out.write_all(b"\n")?;
        } else {
            out.missing = true;
        }
        Ok(())
    }

    /// `w`: the pattern space and a newline to file `f` (`/dev/stdout`: the output).
    fn write(&mut self, f: usize, ps: &str, out: &mut Out) -> std::io::Result<()> {
        match &mut self.script.files[f].1 {
            Some(file) => {
                file.write_all(ps.as_bytes())?;
                file.write_all(b"\n")
            }
            None => {
                out.write_all(ps.as_bytes())?;
                out.write_all(b"\n")
            }
        }
    }

    /// Writes what `a` and `r` queued.
    fn end_of_cycle(&mut self, out: &mut Out) -> std::io::Result<()> {
        for q in std::mem::take(&mut self.queue) {
            match q {
                Queued::Text(t) => writeln!(out, "{t}")?,
                // A file that cannot be read is left out, silently (POSIX).
                Queued::File(f) => {
                    if let Ok(data) = std::fs::read(crate::input::at(self.cwd.as_deref(), &f)) {
                        out.write_all(&data)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `s` command `k` on `ps`: whether it replaced anything.
    fn substitute(&mut self, k: usize, ps: &mut String) -> Result<bool, String> {
        let Kind::Subst(s) = &self.script.cmds[k].kind else {
            return Ok(false);
        };
        let re_i = s.re;
        let i = self.regex(re_i)?;
        let Kind::Subst(s) = &self.script.cmds[k].kind else {
            return Ok(false);
        };
        let re = &self.script.res[i];
        let text: Vec<char> = ps.chars().collect();
        let mut out = String::new();
        let mut copied = 0;
        let mut at = 0;
        let mut count = 0;
        let mut last_end: Option<usize> = None;
        let mut did = false;
        while at <= text.len() {
            let Some(m) = re.find_at(&text, at) else {
                break;
            };
            let (Some(start), Some(end)) = (m[0], m[1]) else {
                break;
            };
            if start == end && last_end == Some(start) {
                // No empty match right after a match.
                at = start + 1;
                continue;
            }
            count += 1;
            if count >= s.nth {
                out.extend(&text[copied..start]);
                let (mut once, mut all) = (None, None);
                for piece in &s.repl {
                    let part: &[char] = match piece {
                        Piece::Lit(l) => &l.chars().collect::<Vec<char>>(),
                        Piece::Group(g) => match (m.get(2 * g), m.get(2 * g + 1)) {
                            (Some(Some(a)), Some(Some(b))) => &text[*a..*b],
                            _ => &[],
                        },
                        Piece::Case(c @ ('u' | 'l')) => {
                            once = Some(*c);
                            continue;
                        }
                        Piece::Case(c) => {
                            all = (*c != 'E').then_some(*c);
                            once = None;
                            continue;
                        }
                    };
                    for &ch in part {
                        let how = once.take().or(all);
                        match how {
                            // ASCII's cases (Unicode's tables cost kilobytes; see regex.rs).
                            Some('u' | 'U') => out.push(ch.to_ascii_uppercase()),
                            Some('l' | 'L') => out.push(ch.to_ascii_lowercase()),
                            _ => out.push(ch),
                        }
                    }
                }
                copied = end;
                did = true;
                if !s.global {
                    break;
                }
            }
            last_end = Some(end);
            at = if end > start { end } else { end + 1 };
        }
        if did {
            out.extend(&text[copied..]);
            *ps = out;
        }
        Ok(did)
    }

    /// Runs the script over the pattern space `ps` once.
    fn cycle(
        &mut self,
        ps: &mut String,
        nl: &mut bool,
        input: &mut Input,
        out: &mut Out,
    ) -> Result<Flow, Error> {
        let mut pc = 0;
        while pc < self.script.cmds.len() {
            if !self.selected(pc, ps, input)? {
                pc = match self.script.cmds[pc].kind {
                    Kind::Block(end) => end + 1,
                    _ => pc + 1,
                };
                continue;
            }
            let mut next = pc + 1;
            match &self.script.cmds[pc].kind {
                Kind::Block(_) | Kind::End | Kind::Label => {}
                Kind::LineNo => writeln!(out, "{}", self.line_no)?,
                Kind::Append(t) => self.queue.push(Queued::Text(t.clone())),
                Kind::Read(f) => self.queue.push(Queued::File(f.clone())),
                Kind::Insert(t) => writeln!(out, "{t}")?,
                Kind::Change(t) => {
                    // In a range, the text goes once, at its end.
                    let c = &self.script.cmds[pc];
                    if c.a2.is_none() || c.negate || !c.active {
                        writeln!(out, "{t}")?;
                    }
                    return Ok(Flow::Next);
                }
                Kind::Delete => return Ok(Flow::Next),
                Kind::DeleteFirst => {
                    let Some(i) = ps.find('\n') else {
                        return Ok(Flow::Next);
                    };
                    ps.drain(..=i);
                    return Ok(Flow::Again);
                }
                Kind::Get => ps.clone_from(&self.hold),
                Kind::GetAppend => {
                    ps.push('\n');
                    ps.push_str(&self.hold);
                }
                Kind::Hold => self.hold.clone_from(ps),
                Kind::HoldAppend => {
                    self.hold.push('\n');
                    self.hold.push_str(ps);
                }
                Kind::List => list(ps, out)?,
                Kind::Next | Kind::NextAppend => {
                    let append = matches!(self.script.cmds[pc].kind, Kind::NextAppend);
                    if input.at_last() {
                        // GNU: with no next line the script ends, printing the pattern space.
                        return Ok(Flow::Quit(0, true));
                    }
                    if !append && !self.quiet {
                        self.print(ps, *nl, out)?;
                    }
                    self.end_of_cycle(out)?;
                    let Some((l, n)) = input.line() else {
                        return Ok(Flow::Quit(0, true));
                    };
                    self.line_no += 1;
                    self.substituted &= append;
                    if append {
                        ps.push('\n');
                        ps.push_str(&l);
                    } else {
                        *ps = l;
                    }
                    *nl = n;
                }
                Kind::Print => self.print(ps, *nl, out)?,
                Kind::PrintFirst => {
                    let first = ps.split('\n').next().unwrap_or("");
                    writeln!(out, "{first}")?;
                }
                Kind::Quit(code, print) => return Ok(Flow::Quit(*code, *print)),
                Kind::Subst(s) => {
                    let (print, write) = (s.print, s.write);
                    if self.substitute(pc, ps)? {
                        self.substituted = true;
                        if print {
                            self.print(ps, *nl, out)?;
                        }
                        if let Some(f) = write {
                            self.write(f, ps, out)?;
                        }
                    }
                }
                Kind::Write(f) => self.write(*f, ps, out)?,
                Kind::Branch(to) => next = to.unwrap_or(usize::MAX),
                Kind::IfSubst(to, when) => {
                    if self.substituted == *when {
                        next = to.unwrap_or(usize::MAX);
                    }
                    self.substituted = false;
                }
                Kind::Trans(map) => {
                    *ps = ps
                        .chars()
                        .map(|c| map.iter().find(|(f, _)| *f == c).map_or(c, |(_, t)| *t))
                        .collect();
                }
                Kind::Exchange => std::mem::swap(ps, &mut self.hold),
                Kind::Zap => ps.clear(),
            }
            if next <= pc && (self.interrupted)() {
                return Ok(Flow::Quit(130, false));
            }
            pc = next;
        }
        if !self.quiet {
            self.print(ps, *nl, out)?;
        }
        Ok(Flow::Next)
    }

    /// Runs the script over all of `input`: the status `q` gave, if it did.
    fn all(&mut self, input: &mut Input, w: &mut dyn Write) -> Result<Option<i32>, Error> {
        let out = &mut Out { w, missing: false };
        let mut ps = String::new();
        let mut nl = true;
        let mut again = false;
        loop {
            if !again {
                let Some((l, n)) = input.line() else {
                    return Ok(None);
                };
                self.line_no += 1;
                ps = l;
                nl = n;
                self.substituted = false;
            }
            again = false;
            match self.cycle(&mut ps, &mut nl, input, out)? {
                Flow::Next => {}
                Flow::Again => {
                    if !self.quiet {
                        // D printed nothing: the cycle's end still writes the queue.
                    }
                    again = true;
                }
                Flow::Quit(code, print) => {
                    if print && !self.quiet {
                        self.print(&ps, nl, out)?;
                    }
                    if print {
                        self.end_of_cycle(out)?;
                    }
                    return Ok(Some(code));
                }
            }
            self.end_of_cycle(out)?;
        }
    }
}

/// The output: a line written without its newline gets it before anything else is written.
struct Out<'a> {
    w: &'a mut dyn Write,
    missing: bool,
}

impl Write for Out<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.missing && !buf.is_empty() {
            self.w.write_all(b"\n")?;
            self.missing = false;
        }
        self.w.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// `l`: the pattern space unambiguously, `\` escapes, lines of 69 characters and a `$`.
fn list(ps: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let mut line = String::new();
    let mut pieces = Vec::new();
    for b in ps.bytes() {
        let piece = match b {
            b'\\' => "\\\\".to_string(),
            0x07 => "\\a".into(),
            0x08 => "\\b".into(),
            0x0c => "\\f".into(),
            b'\n' => "\\n".into(),
            b'\r' => "\\r".into(),
            b'\t' => "\\t".into(),
            0x0b => "\\v".into(),
            0x20..=0x7e => (b as char).to_string(),
            b => format!("\\{b:03o}"),
        };
        pieces.push(piece);
    }
    for p in pieces {
        if line.len() + p.len() > 69 {
            writeln!(out, "{line}\\")?;
            line.clear();
        }
        line.push_str(&p);
    }
    writeln!(out, "{line}$")
}

const USAGE: &str = "usage: sed [-nEs] [-i[SUFFIX]] [-e SCRIPT]... [-f FILE]... [SCRIPT] [FILE...]";

#[inline(never)]
pub fn sed(args: &[String], io: &mut Io) -> i32 {
    let mut quiet = false;
    let mut syntax = Syntax::Basic;
    let mut in_place: Option<String> = None;
    let mut separate = false;
    let mut script: Option<String> = None;
    let mut operands = Vec::new();
    let add = |script: &mut Option<String>, s: &str| match script {
        Some(t) => {
            t.push('\n');
            t.push_str(s);
        }
        None => *script = Some(s.to_string()),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            operands.extend(it.by_ref().cloned());
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            operands.push(a.clone());
            continue;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        for (k, &c) in chars.iter().enumerate() {
            let rest: String = chars[k + 1..].iter().collect();
            match c {
                'n' => quiet = true,
                'E' | 'r' => syntax = Syntax::Extended,
                's' => separate = true,
                'u' => {}
                'i' => {
                    in_place = Some(rest);
                    break;
                }
                'e' | 'f' => {
                    let v = if !rest.is_empty() {
                        rest
                    } else if let Some(v) = it.next() {
                        v.clone()
                    } else {
                        let _ = writeln!(
                            io.stderr,
                            "sed: option requires an argument -- '{c}'\n{USAGE}"
                        );
                        return 1;
                    };
                    if c == 'e' {
                        add(&mut script, &v);
                    } else {
                        match std::fs::read_to_string(io.at(&v)) {
                            Ok(t) => add(&mut script, t.strip_suffix('\n').unwrap_or(&t)),
                            Err(e) => {
                                let _ = writeln!(
                                    io.stderr,
                                    "sed: couldn't open file {v}: {}",
                                    describe(&e)
                                );
                                return 1;
                            }
                        }
                    }
                    break;
                }
                c => {
                    let _ = writeln!(io.stderr, "sed: invalid option -- '{c}'\n{USAGE}");
                    return 1;
                }
            }
        }
    }
    let script = match script {
        Some(s) => s,
        None if !operands.is_empty() => operands.remove(0),
        None => {
            let _ = writeln!(io.stderr, "{USAGE}");
            return 1;
        }
    };
    let mut compiled = match compile(&script, syntax) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io.stderr, "sed: {e}");
            // GNU sed 4.9 ends with 4 for a missing label, 1 for the rest.
            return if e.contains("can't find label") { 4 } else { 1 };
        }
    };
    for (name, file) in compiled.files.iter_mut() {
        if name == "/dev/stdout" {
            continue;
        }
        match std::fs::File::create(io.at(name)) {
            Ok(f) => *file = Some(f),
            Err(e) => {
                let _ = writeln!(
                    io.stderr,
                    "sed: couldn't open file {name}: {}",
                    describe(&e)
                );
                return 4;
            }
        }
    }
    if in_place.is_some() && operands.is_empty() {
        let _ = writeln!(io.stderr, "sed: no input files");
        return 1;
    }
    let mut run = Run {
        script: &mut compiled,
        quiet,
        line_no: 0,
        hold: String::new(),
        queue: Vec::new(),
        last_re: None,
        substituted: false,
        interrupted: io.interrupted,
        cwd: io.cwd.map(str::to_string),
    };
    // The inputs as one stream, or (-s, -i) each file on its own: line numbers and `$` start
    // again, and with -i its output replaces it.
    let groups: Vec<Vec<String>> = if operands.is_empty() {
        vec![vec!["-".to_string()]]
    } else if separate || in_place.is_some() {
        operands.into_iter().map(|o| vec![o]).collect()
    } else {
        vec![operands]
    };
    let mut read_failed = false;
    let mut result = Ok(None);
    for names in groups {
        run.line_no = 0;
        run.queue.clear();
        let name = names[0].clone();
        let mut input = Input {
            names,
            next_name: 0,
            stdin: io.stdin,
            current: None,
            ahead: None,
            errors: Vec::new(),
            cwd: io.cwd.map(str::to_string),
        };
        let mut edited = Vec::new();
        result = match in_place {
            Some(_) => run.all(&mut input, &mut edited),
            None => run.all(&mut input, io.stdout),
        };
        for e in &input.errors {
            let _ = writeln!(io.stderr, "{e}");
        }
        if !input.errors.is_empty() {
            read_failed = true;
            continue;
        }
        if let Some(suffix) = &in_place {
            if !suffix.is_empty() {
                let _ = std::fs::copy(io.at(&name), io.at(&format!("{name}{suffix}")));
            }
            if let Err(e) = std::fs::write(io.at(&name), &edited) {
                let _ = writeln!(io.stderr, "sed: couldn't write {name}: {}", describe(&e));
                return 4;
            }
        }
        if !matches!(result, Ok(None)) {
            break;
        }
    }
    match result {
        Ok(Some(code)) => code,
        Ok(None) => {
            if read_failed {
                2
            } else {
                0
            }
        }
        Err(Error::Script(m)) => {
            let _ = writeln!(io.stderr, "sed: {m}");
            1
        }
        Err(Error::Output(e)) => {
            write_error(io.stderr, "sed", &e);
            4
        }
    }
}

#[cfg(test)]
mod tests {
    /// What GNU sed 4.9 gave for the same arguments and input (C.UTF-8).
    #[test]
    fn as_gnu_sed() {
        let cases: &[(&[&str], &str, i32, &str)] = &[
            (&["sed", "-n", "p"], "a\nb\n", 0, "a\nb\n"),
            (&["sed", "2d"], "a\nb\nc\n", 0, "a\nc\n"),
            (&["sed", "$d"], "a\nb\nc\n", 0, "a\nb\n"),
            (&["sed", "-n", "$p"], "a\nb\nc", 0, "c"),
            (&["sed", "s/b/X/"], "abcb\nbb\n", 0, "aXcb\nXb\n"),
            (&["sed", "s/b/X/g"], "abcb\nbb\n", 0, "aXcX\nXX\n"),
            (&["sed", "s/b/X/2"], "abcbb\n", 0, "abcXb\n"),
            (&["sed", "s/b/X/2g"], "abcbb\n", 0, "abcXX\n"),
            (&["sed", "-n", "s/b/X/p"], "abc\nxyz\n", 0, "aXc\n"),
            (&["sed", "s/B/x/I"], "abc\n", 0, "axc\n"),
            (&["sed", "s/x*/-/g"], "abc\n", 0, "-a-b-c-\n"),
            (&["sed", "s/b*/-/g"], "abc\n", 0, "-a-c-\n"),
            (&["sed", "s/\\(a\\)\\(b\\)/\\2\\1/"], "abc\n", 0, "bac\n"),
            (&["sed", "-E", "s/(a|b)+/<&>/"], "xabbac\n", 0, "x<abba>c\n"),
            (&["sed", "s/a/\\n/"], "bab\n", 0, "b\nb\n"),
            (&["sed", "s|/|_|g"], "/usr/bin\n", 0, "_usr_bin\n"),
            (&["sed", "s/[/]/X/"], "a/b\n", 0, "aXb\n"),
            (
                &["sed", "-e", "1d", "-e", "3d"],
                "1\n2\n3\n4\n",
                0,
                "2\n4\n",
            ),
            (&["sed", "2,3d"], "1\n2\n3\n4\n", 0, "1\n4\n"),
            (&["sed", "/2/,/3/d"], "1\n2\n3\n4\n", 0, "1\n4\n"),
            (&["sed", "2,+1d"], "1\n2\n3\n4\n", 0, "1\n4\n"),
            (&["sed", "1~2d"], "1\n2\n3\n4\n5\n", 0, "2\n4\n"),
            (&["sed", "0,/x/d"], "x\ny\nx\n", 0, "y\nx\n"),
            (&["sed", "1,/x/d"], "x\ny\nx\nz\n", 0, "z\n"),
            (&["sed", "3,1d"], "1\n2\n3\n4\n", 0, "1\n2\n4\n"),
            (&["sed", "2!d"], "1\n2\n3\n", 0, "2\n"),
            (&["sed", "-n", "/b/="], "a\nb\nc\nb\n", 0, "2\n4\n"),
            (&["sed", "="], "a\nb\n", 0, "1\na\n2\nb\n"),
            (
                &["sed", "-e", "1a\\", "-e", "hello"],
                "x\ny\n",
                0,
                "x\nhello\ny\n",
            ),
            (&["sed", "1a hello"], "x\ny\n", 0, "x\nhello\ny\n"),
            (&["sed", "2i\\  hi"], "x\ny\n", 0, "x\n  hi\ny\n"),
            (&["sed", "$a end"], "x\ny", 0, "x\ny\nend\n"),
            (&["sed", "c\\changed"], "x\ny\n", 0, "changed\nchanged\n"),
            (
                &["sed", "2,3c\\changed"],
                "1\n2\n3\n4\n",
                0,
                "1\nchanged\n4\n",
            ),
            (&["sed", "-n", "h;n;G;p"], "1\n2\n3\n4\n", 0, "2\n1\n4\n3\n"),
            (&["sed", "N;P;D"], "1\n2\n3\n", 0, "1\n2\n3\n"),
            (&["sed", "$!N;s/\\n/ /"], "1\n2\n3\n", 0, "1 2\n3\n"),
            (&["sed", "N"], "1\n2\n3\n", 0, "1\n2\n3\n"),
            (&["sed", "n"], "1\n2\n3\n", 0, "1\n2\n3\n"),
            (&["sed", "-n", "n;p"], "1\n2\n3\n", 0, "2\n"),
            (&["sed", "2q"], "1\n2\n3\n", 0, "1\n2\n"),
            (&["sed", "2q5"], "1\n2\n3\n", 5, "1\n2\n"),
            (&["sed", "2Q"], "1\n2\n3\n", 0, "1\n"),
            (&["sed", "-n", "1!G;h;$p"], "1\n2\n3\n", 0, "3\n2\n1\n"),
            (&["sed", ":a;N;$!ba;s/\\n/,/g"], "1\n2\n3\n", 0, "1,2,3\n"),
            (
                &["sed", "-e", ":a", "-e", "$!N;s/\\n//;ta"],
                "1\n2\n3\n",
                0,
                "123\n",
            ),
            (&["sed", "s/a/b/;T;s/$/!/"], "a\nc\n", 0, "b!\nc\n"),
            (&["sed", "s/a/b/;t;s/$/!/"], "a\nc\n", 0, "b\nc!\n"),
            (&["sed", "y/abc/xyz/"], "aabbcc\n", 0, "xxyyzz\n"),
            (
                &["sed", "-n", "l"],
                "a\tb\\c\u{0001}\n",
                0,
                "a\\tb\\\\c\\001$\n",
            ),
            (&["sed", "/a/{s/a/b/;s/b/c/}"], "a\nx\n", 0, "c\nx\n"),
            (&["sed", "/a/!{s/$/!/}"], "a\nx\n", 0, "a\nx!\n"),
            (
                &["sed", "-n", "/start/,/end/{/start/!{/end/!p}}"],
                "x\nstart\n1\n2\nend\ny\n",
                0,
                "1\n2\n",
            ),
            (
                &["sed", "s/[[:digit:]]\\+/N/g"],
                "a1b22c333\n",
                0,
                "aNbNcN\n",
            ),
            (
                &["sed", "-E", "s/[0-9]{2,}/N/g"],
                "a1b22c333\n",
                0,
                "a1bNcN\n",
            ),
            (&["sed", "s/\\<./\\u&/g"], "hi there\n", 0, "Hi There\n"),
            (&["sed", "s/^[ \\t]*//"], "   x  \n", 0, "x  \n"),
            (&["sed", "s/.*/\"&\"/"], "abc\n", 0, "\"abc\"\n"),
            (&["sed", "s/a/\\&/"], "abc\n", 0, "&bc\n"),
            (&["sed", "-n", "2{p;q}"], "1\n2\n3\n", 0, "2\n"),
            (&["sed", "="], "", 0, ""),
            (&["sed", "p"], "x", 0, "x\nx"),
            (&["sed", "-s", "-n", "$p"], "1\n2\n", 0, "2\n"),
            (&["sed", "s/x/y/;# comment"], "x\n", 0, "y\n"),
            (&["sed", ""], "a\nb\n", 0, "a\nb\n"),
            (&["sed", "z;s/^$/empty/"], "abc\n", 0, "empty\n"),
            (&["sed", "s/b/X/3"], "bbb bbb\n", 0, "bbX bbb\n"),
            (&["sed", "-n", "/[0-9]$/p"], "ab1\nx\n", 0, "ab1\n"),
            (&["sed", "s/a.c/X/"], "abc\n", 0, "X\n"),
            (&["sed", "--expression=s/a/b/"], "a\n", 1, ""),
            (&["sed", "k"], "a\n", 1, ""),
            (&["sed", "s/a/b"], "a\n", 1, ""),
            (&["sed", "s/\\(a/b/"], "a\n", 1, ""),
            (&["sed", "b nowhere"], "a\n", 4, ""),
            (&["sed", "{p"], "a\n", 1, ""),
            (&["sed", "p}"], "a\n", 1, ""),
            (&["sed", "-x", "p"], "a\n", 1, ""),
            (&["sed"], "a\n", 1, ""),
            (&["sed", "s/a/\\1/"], "a\n", 1, ""),
            (&["sed", "//p"], "a\n", 1, ""),
            (&["sed", "1,2p;//d"], "a\n", 1, "a\n"),
            (&["sed", "-n", "x;p"], "1\n2\n3\n", 0, "\n1\n2\n"),
            (&["sed", "1!x;$!d"], "1\n2\n3\n", 0, "2\n"),
            (&["sed", "-n", "$!{h;d};x;G;p"], "1\n2\n3\n", 0, "2\n3\n"),
            (&["sed", "-n", "s/a/b/w /dev/stdout"], "a\nc\n", 0, "b\n"),
            (&["sed", "/c/w /dev/stdout"], "a\nc\n", 0, "a\nc\nc\n"),
            (
                &["sed", "-n", "-e", "/a/w /dev/stdout", "-e", "p"],
                "a\nc\n",
                0,
                "a\na\nc\n",
            ),
        ];
        let wrong = crate::gnu_tests::differences(cases);
        assert!(wrong.is_empty(), "{wrong}");
    }
}
