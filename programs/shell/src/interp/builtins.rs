//! Builtins about variables, functions and commands: `export`, `readonly`, `unset`, `local`,
//! `shift`, `eval`, `command`, `type`, `getopts`, `alias`/`unalias`, `hash`, `umask`, `ulimit`,
//! `times`; and what they keep in the shell ([`State`]), with the rules for assignments before a
//! command (`V=x cmd`).
//!
//! Each builtin returns its status and how control goes on ([`Flow`]): a special builtin's error
//! (`export 1x=y`, `shift 5` with two parameters, an assignment to a read-only variable) ends a
//! non-interactive shell with status 2, as POSIX 2.8.1 and dash have it.
//!
//! Limitations (eurali has no such kernel features): `umask` is kept and reported but files
//! are created without modes; `ulimit` reports "unlimited" and cannot set a limit; `times`
//! reports zero times (the kernel keeps no CPU times).

use std::io::Write;

use super::options::{Options, quote};
use super::{Flow, Shell, Streams, is_builtin};
use crate::ast::{List, Word};
use crate::names::NameMap;
use crate::parse;

/// What the shell keeps for its options and these builtins (one field of [`Shell`]).
#[derive(Clone)]
pub struct State {
    pub(super) opts: Options,
    /// Nesting of places where a failure is tested (`if` conditions, left sides of `&&`/`||`,
    /// `!`): `set -e` does not apply there.
    pub(super) cond: usize,
    /// Running under `command`: a special builtin's error does not end the shell.
    pub(super) soft_special: bool,
    /// A command substitution ran in the command being expanded (its status is the status of
    /// a command of assignments only).
    pub(super) readonly: NameMap<()>,
    /// Per function call, the variables `local` saved (restored at the return), and the
    /// caller's `getopts` state.
    pub(super) locals: Vec<(Vec<Saved>, Getopts)>,
    /// `trap`: condition number (0 for EXIT) and action ("" ignores).
    pub(super) traps: Vec<(u32, String)>,
    pub(super) aliases: NameMap<String>,
    pub(super) umask: u32,
    pub(super) getopts: Getopts,
}

impl Default for State {
    fn default() -> Self {
        State {
            opts: Options::default(),
            cond: 0,
            soft_special: false,
            readonly: NameMap::new(),
            locals: Vec::new(),
            traps: Vec::new(),
            aliases: NameMap::new(),
            umask: 0o022,
            getopts: Getopts::default(),
        }
    }
}

/// Where `getopts` is, as dash keeps it: the index (from 1) of the next argument, the offset
/// of the next option letter in the argument before it (for `-abc`), and the `OPTIND` value
/// it last saw (another value was assigned: start again from there).
#[derive(Clone, Debug, Default)]
pub struct Getopts {
    optind: usize,
    offset: Option<usize>,
    seen: Option<String>,
}

/// A variable as it was before `local` or a command's assignment changed it.
#[derive(Clone)]
pub struct Saved {
    name: String,
    value: Option<String>,
    exported: bool,
}

/// The reserved words (`type while`: a shell keyword).
const KEYWORDS: &[&str] = &[
    "!", "{", "}", "case", "do", "done", "elif", "else", "esac", "fi", "for", "if", "in", "then",
    "time", "until", "while",
];

/// POSIX's special builtins: found before functions, their assignments stay, and their errors
/// end a non-interactive shell.
const SPECIAL: &[&str] = &[
    ":", ".", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return", "set",
    "shift", "source", "times", "trap", "unset",
];

pub fn is_special(name: &str) -> bool {
    SPECIAL.contains(&name) && is_builtin(name)
}

impl Shell {
    fn say(&self, io: &mut Streams, msg: std::fmt::Arguments) {
        let _ = writeln!(io.stderr, "{}: {msg}", self.name);
    }

    fn save(&self, name: &str) -> Saved {
        Saved {
            name: name.to_string(),
            value: self.vars.get(name).cloned(),
            exported: self.exported.contains_key(name),
        }
    }

    fn restore(&mut self, saved: Vec<Saved>) {
        for s in saved.into_iter().rev() {
            match s.value {
                Some(v) => self.vars.insert(&s.name, v),
                None => self.vars.remove(&s.name),
            };
            if s.exported {
                self.exported.insert(&s.name, ());
            } else {
                self.exported.remove(&s.name);
            }
        }
    }

    /// A command's assignments, expanded in turn: each sees those before it (`A=1 B=$A cmd`),
    /// as in dash; the shell's variables are as they were afterwards.
    #[inline(never)]
    pub(super) fn expand_assigns(
        &mut self,
        assigns: &[(String, Word)],
        io: &Streams,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::with_capacity(assigns.len());
        let mut saved = Vec::new();
        for (k, w) in assigns {
            let v = {
                let mut ctx = super::Ctx {
                    sh: &mut *self,
                    io: Some(io),
                };
                crate::expand::expand_assignment(w, &mut ctx)
            };
            if assigns.len() > 1 {
                saved.push(self.save(k));
                self.vars.insert(k, v.clone());
            }
            out.push((k.clone(), v));
        }
        self.restore(saved);
        out
    }

    /// `V=x cmd` for a function or a regular builtin: the variables are set (and exported, so
    /// its programs see them) until [`Shell::pop_assigns`].
    #[inline(never)]
    pub(super) fn push_assigns(&mut self, assigns: &[(String, String)]) -> Vec<Saved> {
        let saved = assigns.iter().map(|(k, _)| self.save(k)).collect();
        for (k, v) in assigns {
            self.set_var(k, v);
            self.exported.insert(k, ());
        }
        saved
    }

    #[inline(never)]
    pub(super) fn pop_assigns(&mut self, saved: Vec<Saved>) {
        self.restore(saved);
    }

    /// A function named as a special builtin (`eval() { … }`): an error that ends a script, as
    /// in dash (the builtin would be found first anyway).
    #[inline(never)]
    pub(super) fn bad_function_name(&mut self, name: &str, io: &mut Streams) -> Flow {
        self.say(io, format_args!("{name}: Bad function name"));
        self.status = 2;
        self.special_error()
    }

    /// A command's assignments to read-only variables: an error (`sh: r: is read only`, status
    /// 2) that ends a non-interactive shell.
    #[inline(never)]
    pub(super) fn check_assigns(
        &mut self,
        assigns: &[(String, String)],
        io: &mut Streams,
    ) -> Option<Flow> {
        let (k, _) = assigns
            .iter()
            .find(|(k, _)| self.x.readonly.contains_key(k))?;
        self.say(io, format_args!("{k}: is read only"));
        self.status = 2;
        Some(self.special_error())
    }

    /// A function call begins: a frame for its `local` variables.
    pub(super) fn enter_function(&mut self) {
        let fresh = self.getopts_reset();
        let caller = std::mem::replace(&mut self.x.getopts, fresh);
        self.x.locals.push((Vec::new(), caller));
    }

    /// `getopts` from the first argument again (a function call, `set` of the parameters).
    pub(super) fn getopts_reset(&self) -> Getopts {
        Getopts {
            optind: 1,
            offset: None,
            seen: self.var("OPTIND").map(str::to_string),
        }
    }

    /// A function call ends: its `local` variables get their values back.
    pub(super) fn leave_function(&mut self) {
        if let Some((frame, getopts)) = self.x.locals.pop() {
            self.restore(frame);
            self.x.getopts = getopts;
        }
    }

    /// `export [-p] [name[=value]...]` and `readonly [-p] [name[=value]...]`.
    #[inline(never)]
    pub(super) fn export_builtin(
        &mut self,
        cmd: &str,
        args: &[String],
        io: &mut Streams,
    ) -> (i32, Flow) {
        let args = match args.first().map(String::as_str) {
            Some("-p") => &args[1..],
            _ => args,
        };
        if args.is_empty() {
            let mut names: Vec<&String> = if cmd == "export" {
                self.exported.keys().collect()
            } else {
                self.x.readonly.keys().collect()
            };
            names.sort();
            for k in names {
                let _ = match self.vars.get(k) {
                    Some(v) => writeln!(io.stdout, "{cmd} {k}={}", quote(v)),
                    None => writeln!(io.stdout, "{cmd} {k}"),
                };
            }
            return (0, Flow::Next);
        }
        for a in args {
            let (k, v) = match a.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (a.as_str(), None),
            };
            if !parse::is_name(k) {
                self.say(io, format_args!("{cmd}: {k}: bad variable name"));
                return (2, self.special_error());
            }
            if v.is_some() && self.x.readonly.contains_key(k) {
                self.say(io, format_args!("{cmd}: {k}: is read only"));
                return (2, self.special_error());
            }
            if let Some(v) = v {
                self.set_var(k, v);
            }
            if cmd == "export" {
                self.exported.insert(k, ());
            } else {
                self.x.readonly.insert(k, ());
            }
        }
        (0, Flow::Next)
    }

    /// `unset [-v | -f] name...`: variables (the default) or functions.
    #[inline(never)]
    pub(super) fn unset_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        let mut functions = false;
        let mut i = 0;
        while let Some(a) = args.get(i).filter(|a| a.starts_with('-') && a.len() > 1) {
            i += 1;
            if a == "--" {
                break;
            }
            for c in a[1..].chars() {
                match c {
                    'f' => functions = true,
                    'v' => functions = false,
                    _ => {
                        self.say(io, format_args!("unset: Illegal option -{c}"));
                        return (2, self.special_error());
                    }
                }
            }
        }
        for a in &args[i..] {
            if functions {
                self.functions.remove(a);
            } else if !parse::is_name(a) {
                self.say(io, format_args!("unset: {a}: bad variable name"));
                return (2, self.special_error());
            } else if self.x.readonly.contains_key(a) {
                self.say(io, format_args!("unset: {a}: is read only"));
                return (2, self.special_error());
            } else {
                self.vars.remove(a);
                self.exported.remove(a);
            }
        }
        (0, Flow::Next)
    }

    /// `local name[=value]...`: the variable gets its value back when the function returns
    /// (dynamic scope: functions it calls see the local one). Without a value it keeps the one
    /// it has, as in dash. Its errors end a script, as in dash.
    #[inline(never)]
    pub(super) fn local_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        if self.x.locals.is_empty() {
            // An error that ends a script, as in dash.
            self.say(io, format_args!("local: not in a function"));
            return (2, self.special_error());
        }
        for a in args {
            let (k, v) = match a.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (a.as_str(), None),
            };
            if !parse::is_name(k) {
                self.say(io, format_args!("local: {k}: bad variable name"));
                return (2, self.special_error());
            }
            if self.x.readonly.contains_key(k) {
                self.say(io, format_args!("local: {k}: is read only"));
                return (2, self.special_error());
            }
            let saved = self.save(k);
            if let Some((frame, _)) = self.x.locals.last_mut()
                && !frame.iter().any(|s| s.name == k)
            {
                frame.push(saved);
            }
            if let Some(v) = v {
                self.set_var(k, v);
            }
        }
        (0, Flow::Next)
    }

    /// `shift [n]`.
    #[inline(never)]
    pub(super) fn shift_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        let n = match args.first() {
            None => 1,
            Some(a) => match a.parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    self.say(io, format_args!("shift: Illegal number: {a}"));
                    return (2, self.special_error());
                }
            },
        };
        if n > self.positional.len() {
            self.say(io, format_args!("shift: can't shift that many"));
            return (2, self.special_error());
        }
        self.positional.drain(..n);
        (0, Flow::Next)
    }

    /// Parses a script, with the shell's aliases.
    pub(super) fn parse_script(&self, src: &str) -> Result<List, parse::Error> {
        if self.x.aliases.keys().len() == 0 {
            return parse::parse(src);
        }
        let aliases = &self.x.aliases;
        parse::parse_with_aliases(src, &|n: &str| aliases.get(n).cloned())
    }

    /// The next complete command of `script`, with the shell's aliases of the moment.
    pub(super) fn next_command(
        &self,
        script: &mut parse::Script,
    ) -> Result<Option<List>, parse::Error> {
        let aliases = &self.x.aliases;
        if aliases.keys().len() == 0 {
            script.next_command(&|_: &str| None)
        } else {
            script.next_command(&|n: &str| aliases.get(n).cloned())
        }
    }

    /// `eval [arg...]`: the arguments joined by spaces, run as a script here a command at a
    /// time (an alias it defines applies to its next lines; a `return` or `break` in it acts on
    /// the function or loop around the `eval`).
    #[inline(never)]
    pub(super) fn eval_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        let src = args.join(" ");
        let mut script = parse::Script::new(&src, 1);
        let mut ran = false;
        let flow = loop {
            let list = match self.next_command(&mut script) {
                Ok(Some(list)) => list,
                Ok(None) => break Flow::Next,
                Err(e) => {
                    self.say(io, format_args!("eval: {e}"));
                    return (2, self.special_error());
                }
            };
            // `x='eval "$x"'; eval "$x"` must fail, not run off the stack.
            if super::too_deep(self.depth) {
                self.say(io, format_args!("eval: nested too deeply"));
                return (2, self.special_error());
            }
            ran = true;
            self.depth += 1;
            let f = self.list(&list, io);
            self.depth -= 1;
            if !matches!(f, Flow::Next) {
                break f;
            }
        };
        (if ran { self.status } else { 0 }, flow)
    }

    /// What a command name is, as `type` says it (and `command -V`).
    fn kind(&self, name: &str) -> Option<String> {
        if let Some(a) = self.x.aliases.get(name) {
            Some(format!("{name} is an alias for {a}"))
        } else if KEYWORDS.contains(&name) {
            Some(format!("{name} is a shell keyword"))
        } else if self.functions.contains_key(name) {
            Some(format!("{name} is a shell function"))
        } else if is_special(name) {
            Some(format!("{name} is a special shell builtin"))
        } else if is_builtin(name) {
            Some(format!("{name} is a shell builtin"))
        } else {
            self.lookup(name).map(|p| format!("{name} is {p}"))
        }
    }

    /// `type name...`.
    #[inline(never)]
    pub(super) fn type_builtin(&mut self, args: &[String], io: &mut Streams) -> i32 {
        let mut status = 0;
        for a in args {
            match self.kind(a) {
                Some(k) => {
                    let _ = writeln!(io.stdout, "{k}");
                }
                None => {
                    // On stdout, as dash has it.
                    let _ = writeln!(io.stdout, "{a}: not found");
                    status = 127;
                }
            }
        }
        status
    }

    /// `command [-p] [-v | -V] name [arg...]`: says what `name` is, or runs it as a builtin or
    /// program (never as a function).
    #[inline(never)]
    pub(super) fn command_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        let mut mode = ' ';
        let mut i = 0;
        while let Some(a) = args.get(i).filter(|a| a.starts_with('-') && a.len() > 1) {
            i += 1;
            if a == "--" {
                break;
            }
            for c in a[1..].chars() {
                match c {
                    'p' => {}
                    'v' | 'V' => mode = c,
                    _ => {
                        self.say(io, format_args!("command: Illegal option -{c}"));
                        return (2, Flow::Next);
                    }
                }
            }
        }
        let args = &args[i..];
        let Some(name) = args.first() else {
            return (0, Flow::Next);
        };
        match mode {
            'V' => {
                let status = self.type_builtin(args, io);
                (status, Flow::Next)
            }
            'v' => {
                let mut status = 0;
                for a in args {
                    let found = if let Some(v) = self.x.aliases.get(a) {
                        Some(format!("alias {a}={}", quote(v)))
                    } else if KEYWORDS.contains(&a.as_str())
                        || self.functions.contains_key(a)
                        || is_builtin(a)
                    {
                        Some(a.clone())
                    } else {
                        self.lookup(a)
                    };
                    match found {
                        Some(f) => {
                            let _ = writeln!(io.stdout, "{f}");
                        }
                        None => status = 127,
                    }
                }
                (status, Flow::Next)
            }
            _ if is_builtin(name) => {
                // A special builtin's error does not end the shell under `command`.
                let soft = std::mem::replace(&mut self.x.soft_special, true);
                let f = self.builtin(name, &args[1..], io);
                self.x.soft_special = soft;
                (self.status, f)
            }
            _ => {
                let env = self.child_env(&[]);
                let taken = std::mem::replace(io, Streams::inherit());
                let keep = taken.try_clone();
                let status = match self.spawn(args, &env, taken) {
                    Ok(j) => j.wait(),
                    Err(code) => code,
                };
                if let Ok(k) = keep {
                    *io = k;
                }
                (status, Flow::Next)
            }
        }
    }

    /// `getopts optstring name [arg...]`: the next option of the arguments (or of `$@`) into
    /// `name`, its argument into `OPTARG`, the index of the next argument in `OPTIND`; status 1
    /// at the end of the options. An `optstring` starting with `:` is silent: an unknown option
    /// sets `name` to `?` and `OPTARG` to the letter, a missing argument sets `name` to `:`.
    #[inline(never)]
    pub(super) fn getopts_builtin(&mut self, args: &[String], io: &mut Streams) -> i32 {
        let [spec, name, rest @ ..] = args else {
            self.say(
                io,
                format_args!("getopts: usage: getopts optstring var [arg...]"),
            );
            return 2;
        };
        let argv: Vec<String> = if rest.is_empty() {
            self.positional.clone()
        } else {
            rest.to_vec()
        };
        let mut st = self.x.getopts.clone();
        let var = self.var("OPTIND").map(str::to_string);
        if var != st.seen || st.optind == 0 {
            st.optind = var.as_deref().and_then(|v| v.parse().ok()).unwrap_or(1);
            st.offset = None;
        }
        let silent = spec.starts_with(':');
        // The next argument (from 0), and where in the one before it the next letter is.
        let mut next = st.optind.max(1) - 1;
        let mut at = match st.offset {
            Some(off) if st.optind > 1 && argv.get(next - 1).is_some_and(|a| off < a.len()) => {
                Some(off)
            }
            _ => None,
        };
        let mut optarg: Option<Option<String>> = None;
        let letter = 'out: {
            if at.is_none() {
                match argv.get(next) {
                    Some(a) if a.starts_with('-') && a != "-" => {
                        next += 1;
                        if a == "--" {
                            break 'out None;
                        }
                        at = Some(1);
                    }
                    _ => break 'out None,
                }
            }
            let arg = &argv[next - 1];
            let off = at.unwrap_or(1);
            let Some(c) = arg.get(off..).and_then(|s| s.chars().next()) else {
                break 'out None;
            };
            let after = off + c.len_utf8();
            at = (after < arg.len()).then_some(after);
            let Some(i) = spec.find(c).filter(|_| c != ':') else {
                if silent {
                    optarg = Some(Some(c.to_string()));
                } else {
                    let _ = writeln!(io.stderr, "Illegal option -{c}");
                    optarg = Some(None);
                }
                break 'out Some('?');
            };
            if !spec[i + c.len_utf8()..].starts_with(':') {
                optarg = Some(Some(String::new()));
                break 'out Some(c);
            }
            let value = match at.take() {
                Some(off) => arg[off..].to_string(),
                None => match argv.get(next) {
                    Some(a) => {
                        next += 1;
                        a.clone()
                    }
                    None if silent => {
                        optarg = Some(Some(c.to_string()));
                        break 'out Some(':');
                    }
                    None => {
                        let _ = writeln!(io.stderr, "No arg for -{c} option");
                        optarg = Some(None);
                        break 'out Some('?');
                    }
                },
            };
            optarg = Some(Some(value));
            Some(c)
        };
        st.optind = next + 1;
        st.offset = at;
        st.seen = Some(st.optind.to_string());
        self.x.getopts = st;
        self.set_var("OPTIND", &(next + 1).to_string());
        match optarg {
            Some(Some(a)) => self.set_var("OPTARG", &a),
            Some(None) => {
                self.vars.remove("OPTARG");
            }
            None => {}
        }
        if !parse::is_name(name) {
            self.say(io, format_args!("getopts: {name}: bad variable name"));
            return 2;
        }
        self.set_var(name, &letter.unwrap_or('?').to_string());
        if letter.is_some() { 0 } else { 1 }
    }

    /// `alias [name[=value]...]` and `unalias [-a] name...`. An alias replaces the first word of
    /// a command when the command is read (not when it runs), as POSIX has it.
    #[inline(never)]
    pub(super) fn alias_builtin(&mut self, cmd: &str, args: &[String], io: &mut Streams) -> i32 {
        let mut status = 0;
        if cmd == "unalias" {
            // (No operand is no work: status 0, as in dash.)
            for a in args {
                if a == "-a" {
                    self.x.aliases = NameMap::new();
                } else if self.x.aliases.remove(a).is_none() {
                    self.say(io, format_args!("unalias: {a} not found"));
                    status = 1;
                }
            }
            return status;
        }
        if args.is_empty() {
            let mut all: Vec<(&String, &String)> = self.x.aliases.iter().collect();
            all.sort();
            for (k, v) in all {
                let _ = writeln!(io.stdout, "{k}={}", quote(v));
            }
        }
        for a in args {
            match a.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    self.x.aliases.insert(k, v.to_string());
                }
                _ => match self.x.aliases.get(a) {
                    Some(v) => {
                        let _ = writeln!(io.stdout, "{a}={}", quote(v));
                    }
                    None => {
                        self.say(io, format_args!("alias: {a} not found"));
                        status = 1;
                    }
                },
            }
        }
        status
    }

    /// `hash [-r] [name...]`: there is no table of paths to keep (each command is looked up in
    /// `$PATH` when it runs), so this only checks that the names are found.
    #[inline(never)]
    pub(super) fn hash_builtin(&mut self, args: &[String], io: &mut Streams) -> i32 {
        let mut status = 0;
        for a in args.iter().filter(|a| a.as_str() != "-r") {
            if !is_builtin(a) && !self.functions.contains_key(a) && self.lookup(a).is_none() {
                self.say(io, format_args!("hash: {a}: not found"));
                status = 1;
            }
        }
        status
    }

    /// `umask [-S] [mode]`: the mask is kept by the shell and reported (octal, or `-S`
    /// symbolic); eurali's files have no modes, so it does not change what files get.
    #[inline(never)]
    pub(super) fn umask_builtin(&mut self, args: &[String], io: &mut Streams) -> i32 {
        let (symbolic, args) = match args.first().map(String::as_str) {
            Some("-S") => (true, &args[1..]),
            _ => (false, args),
        };
        let Some(mode) = args.first() else {
            let m = self.x.umask;
            let _ = if symbolic {
                let perm = !m & 0o777;
                let part = |shift: u32| {
                    let p = (perm >> shift) & 7;
                    [(4, 'r'), (2, 'w'), (1, 'x')]
                        .iter()
                        .filter(|(b, _)| p & b != 0)
                        .map(|(_, c)| *c)
                        .collect::<String>()
                };
                writeln!(io.stdout, "u={},g={},o={}", part(6), part(3), part(0))
            } else {
                writeln!(io.stdout, "{m:04o}")
            };
            return 0;
        };
        let octal = !mode.is_empty() && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
        let parsed = if octal {
            // Only the permission bits count (dash takes `1234567` as `0567`).
            u64::from_str_radix(mode, 8)
                .ok()
                .map(|m| (m & 0o777) as u32)
        } else {
            symbolic_umask(self.x.umask, mode)
        };
        match parsed {
            Some(m) => {
                self.x.umask = m & 0o777;
                0
            }
            None => {
                self.say(io, format_args!("umask: Illegal mode: {mode}"));
                2
            }
        }
    }

    /// `ulimit [-a | -OPTION] [limit]`: eurali has no resource limits, so every one reads
    /// "unlimited" and none can be set lower.
    #[inline(never)]
    pub(super) fn ulimit_builtin(&mut self, args: &[String], io: &mut Streams) -> i32 {
        const NAMES: &[&str] = &[
            "time(seconds)",
            "file(blocks)",
            "data(kbytes)",
            "stack(kbytes)",
            "coredump(blocks)",
            "memory(kbytes)",
            "nofiles",
            "processes",
        ];
        let value = args.iter().find(|a| !a.starts_with('-'));
        if args.iter().any(|a| a == "-a") {
            for n in NAMES {
                let _ = writeln!(io.stdout, "{n:<21}unlimited");
            }
            return 0;
        }
        match value.map(String::as_str) {
            None => {
                let _ = writeln!(io.stdout, "unlimited");
                0
            }
            Some("unlimited") => 0,
            Some(v) => {
                self.say(
                    io,
                    format_args!("ulimit: {v}: cannot set a limit (eurali has none)"),
                );
                1
            }
        }
    }

    /// `times`: the shell's and its children's user and system times; eurali's kernel keeps
    /// none, so they read zero.
    pub(super) fn times_builtin(&mut self, io: &mut Streams) -> i32 {
        for _ in 0..2 {
            let _ = writeln!(io.stdout, "0m0.000000s 0m0.000000s");
        }
        0
    }
}

/// `umask u=rwx,g-w,o=`: the new mask from the old one, `None` if `mode` is not a symbolic
/// mode. Clauses apply in turn; a clause without `ugoa` applies to all; `X` is `x` if any `x`
/// is allowed, `s` changes nothing a mask holds, and `u`, `g` or `o` after the operator copy
/// that class's permissions as they were before the command (all as dash has it).
fn symbolic_umask(mask: u32, mode: &str) -> Option<u32> {
    let before = !mask & 0o777;
    let mut perm = before;
    for clause in mode.split(',') {
        if clause.is_empty() {
            continue;
        }
        let who_len = clause.bytes().take_while(|b| b"ugoa".contains(b)).count();
        let mut who = 0;
        for b in clause[..who_len].bytes() {
            who |= match b {
                b'u' => 0o700,
                b'g' => 0o070,
                b'o' => 0o007,
                _ => 0o777,
            };
        }
        if who == 0 {
            who = 0o777;
        }
        let mut rest = &clause[who_len..];
        if rest.is_empty() {
            return None;
        }
        while let Some(op) = rest.chars().next() {
            if !"+-=".contains(op) {
                return None;
            }
            rest = &rest[1..];
            let n = rest.bytes().take_while(|b| b"rwxXsugo".contains(b)).count();
            let mut bits = 0;
            for b in rest[..n].bytes() {
                let class = |shift: u32| ((before >> shift) & 7) * 0o111;
                bits |= match b {
                    b'r' => 0o444,
                    b'w' => 0o222,
                    b'x' => 0o111,
                    b'X' if perm & 0o111 != 0 => 0o111,
                    b'u' => class(6),
                    b'g' => class(3),
                    b'o' => class(0),
                    _ => 0,
                };
            }
            bits &= who;
            rest = &rest[n..];
            match op {
                '+' => perm |= bits,
                '-' => perm &= !bits,
                _ => perm = (perm & !who) | bits,
            }
        }
    }
    Some(!perm & 0o777)
}

#[cfg(test)]
mod tests {
    use super::symbolic_umask;

    #[test]
    fn symbolic_modes() {
        assert_eq!(symbolic_umask(0o077, "u=rwx,g=rx"), Some(0o027));
        assert_eq!(symbolic_umask(0o027, "g+w"), Some(0o007));
        assert_eq!(symbolic_umask(0o007, "a-w"), Some(0o227));
        assert_eq!(symbolic_umask(0o022, "o="), Some(0o027));
        assert_eq!(symbolic_umask(0o022, "+x"), Some(0o022));
        assert_eq!(symbolic_umask(0o022, "u"), None);
        assert_eq!(symbolic_umask(0o022, "u*r"), None);
        assert_eq!(symbolic_umask(0o124, "a+t"), None);
        assert_eq!(symbolic_umask(0o124, "a=X"), Some(0o666));
        assert_eq!(symbolic_umask(0o124, "a=s"), Some(0o777));
        assert_eq!(symbolic_umask(0o124, "a=,a=u"), Some(0o111));
        assert_eq!(symbolic_umask(0o124, "a+x+wr-r"), Some(0o444));
        assert_eq!(symbolic_umask(0o111, "u=,"), Some(0o711));
        assert_eq!(symbolic_umask(0o124, "=+="), Some(0o777));
        assert_eq!(symbolic_umask(0o124, ""), Some(0o124));
    }
}
