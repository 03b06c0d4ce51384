//! The interpreter: runs parsed scripts.
//!
//! Execution model (eurali has no fork): builtins, functions and compound commands run inside
//! the shell's process; external programs are started with `std::process::Command` in the
//! shell's namespace. A pipeline connects its stages with std-shim pipes; a stage that is not an
//! external program runs on a thread of the shell with a copy of the shell's state (a subshell,
//! as POSIX has it). A command substitution runs like a subshell whose stdout is a pipe read to
//! the end by a helper thread.
//!
//! Redirections: a file a program writes is served to it by a stream server of the shell (each
//! WRITE reaches the file before it is answered, and a failure is answered as such); a file a
//! program reads is fed through a pipe. A write that fails fails the command: a builtin says
//! `NAME: write error: PATH: REASON` with status 1, and a program's redirection the shell could
//! not write is named once the program ended (`sh: PATH: write error: REASON`; a status of 0
//! becomes 1). A builtin whose output nobody reads any more (a pipe whose reader ended) ends a
//! subshell or a script with 141, as SIGPIPE would end a forked one; the interactive shell goes
//! on with status 1. The shell itself never dies of a broken pipe.
//!
//! Scripts run one complete command (a line) at a time ([`Shell::run_script`]), so the lines
//! before a syntax error run. A syntax error, a failed expansion (`$((1/0))`, `${x?}`) or a
//! special builtin's error (`shift 5`, `. missing`) ends a non-interactive shell with status 2
//! (POSIX 2.8.1); an interactive shell drops the rest of the line.
//!
//! The working directory is the shell's own ([`Shell::cwd`]), not the process's: a subshell has
//! its copy, so a `cd` inside `( … )`, `$( … )` or a pipeline stage leaves the rest of the shell
//! where it was. Every path the shell opens (redirections, globs, `test -f`, `.`, `cd`) is
//! resolved against it, a program is started with it as its working directory, and a tool run
//! inside the shell gets it ([`crate::applet`]). `PWD` is a variable like any other that `cd`
//! sets (assigning it moves nothing), as in dash.
//!
//! Descriptors: 0, 1 and 2 are [`Streams`]' `stdin`, `stdout` and `stderr`; 3 to 9 are kept
//! beside them ([`Fd`], see [`fds`]): `exec 3>f`, `>&3`, `4<f`, `<>`, `>&-`, with redirections
//! applied left to right as dup2 would (`>f 2>&1` and `2>&1 >f` differ as in dash). A program
//! gets the three standard ones only (std-shim passes no others), the right ones even when
//! crossed (`2>&1` reaches its stderr). `exec` without a command keeps its redirections in the
//! shell; with one, there being no fork, it runs the command and then ends the shell (or the
//! subshell) with its status.
//!
//! A non-interactive shell waits for its background jobs that run on its threads before it
//! exits ([`Shell::finish_jobs`]); a job that is only waiting for a program is left running.
//!
//! The streams a command reads and writes ([`Streams`]) are in `interp/streams.rs`. Which
//! builtin a name runs, and the small builtins, are in `interp/dispatch.rs`; options
//! (`set -e` and the rest) in `interp/options.rs`, `trap` in `interp/traps.rs`, the job control
//! builtins in `interp/jobctl.rs`, the POSIX builtins about variables and commands (`export`,
//! `readonly`, `local`, `eval`, `command`, `getopts`, `alias`, `umask`…) in
//! `interp/builtins.rs`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

mod builtins;
mod cwd;
mod dispatch;
mod fds;
mod jobctl;
mod options;
mod streams;
mod traps;

pub use dispatch::{BUILTINS, is_builtin, is_special};
pub use fds::Fd;
use streams::To;
pub use streams::{In, Out, Shared, Streams, Target};

use crate::ast::{AndOr, Command, Compound, Connector, List, Pipeline, Redirect, Simple, Word};
use crate::expand::{self, Context};
use crate::jobs::{JobCtl, Jobs};
use crate::names::NameMap;
use crate::parse;

/// A child's environment.
type Env = Vec<(String, String)>;

/// Deepest nesting of function calls and `source`.
pub const MAX_CALL_DEPTH: usize = 100;
/// Stack that must be left (`std::thread::stack_remaining`, 28 KiB thread stacks on the kernel)
/// before a function call or `.` goes one level deeper: what running any one command from there
/// may need (measured with `cargo xtask bench budgets`) and a quarter of the stack kept unused
/// besides, as a margin. Past it a function call goes on on a fresh thread's stack
/// ([`crate::on_fresh_stack`]) and a `.` fails like one past [`MAX_CALL_DEPTH`], instead of
/// overflowing into the guard page (which halts the machine).
pub const STACK_RESERVE: usize = 18 * 1024;

/// Whether one more level of function call or `.` would leave too little stack.
fn too_deep(depth: usize) -> bool {
    depth >= MAX_CALL_DEPTH || std::thread::stack_remaining().is_some_and(|r| r < STACK_RESERVE)
}

/// How control leaves a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Next,
    Break(usize),
    Continue(usize),
    Return,
    Exit(i32),
    /// The job was interrupted (Ctrl-C): everything up to the command line stops.
    Interrupt,
}

/// The shell's state.
#[derive(Clone)]
pub struct Shell {
    vars: NameMap<String>,
    exported: NameMap<()>,
    /// `$0`.
    pub name: String,
    positional: Vec<String>,
    /// `$?`.
    pub status: i32,
    functions: NameMap<Command>,
    depth: usize,
    loops: usize,
    /// The command history: what the line editor recalls, earlier sessions' included (for the
    /// `history` builtin; the interactive loop lends it to the editor while a line is read).
    /// Shared, so that a subshell's copy of the shell does not copy it.
    pub history: Arc<Vec<String>>,
    /// Reading commands from a terminal (errors do not end the shell).
    pub interactive: bool,
    /// A `${name?word}` expansion failed in the command being expanded.
    expand_failed: bool,
    /// The job this shell (or copy of it) runs for: its programs and interrupted flag.
    pub job: Arc<JobCtl>,
    /// Background jobs.
    pub jobs: Arc<Mutex<Jobs>>,
    /// The job Ctrl-C interrupts (normally `job`; the job brought back by `fg`).
    pub foreground: Arc<Mutex<Arc<JobCtl>>>,
    /// This is a subshell (a pipeline stage, a background job, `( … )`, `$( … )`): a builtin
    /// whose output nobody reads any more ends it, as SIGPIPE ends a forked one.
    subshell: bool,
    /// The working directory: absolute and normal (see the module doc).
    cwd: String,
    /// A command substitution ran since the current simple command began (its status is then
    /// the status of a command that is only assignments).
    substituted: bool,
    /// Options, traps, aliases, read-only and local variables ([`builtins`]).
    x: builtins::State,
    /// This runs a background job: an `sh` it starts is a process of its own (parallel shells
    /// inside one process would share its 64 threads and its heap, and `kill -9` ends a process).
    in_background: bool,
}

impl Default for Shell {
    fn default() -> Self {
        Shell::new()
    }
}

impl Shell {
    /// A shell whose variables start as the process's environment (all exported).
    pub fn new() -> Shell {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let cwd = std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into());
        Shell::with_env(&env, &cwd)
    }

    /// A shell whose variables start as `env` (all exported), in directory `cwd`.
    pub fn with_env(env: &[(String, String)], cwd: &str) -> Shell {
        let mut s = Shell {
            vars: NameMap::new(),
            exported: NameMap::new(),
            name: "sh".into(),
            positional: Vec::new(),
            status: 0,
            functions: NameMap::new(),
            depth: 0,
            loops: 0,
            history: Arc::default(),
            interactive: false,
            expand_failed: false,
            job: JobCtl::new(),
            jobs: Jobs::new(),
            foreground: Arc::new(Mutex::new(JobCtl::new())),
            subshell: false,
            substituted: false,
            cwd: cwd.to_string(),
            x: builtins::State::default(),
            in_background: false,
        };
        *s.foreground.lock().unwrap_or_else(|e| e.into_inner()) = s.job.clone();
        for (k, v) in env {
            s.exported.insert(k, ());
            s.vars.insert(k, v.clone());
        }
        s.vars.insert("OPTIND", "1".into());
        if !s.vars.contains_key("PATH") {
            s.vars.insert("PATH", "/bin".into());
        }
        // POSIX's defaults (PS1 unset: the interactive loop's own prompt).
        for (name, value) in [("PS2", "> "), ("PS4", "+ ")] {
            if !s.vars.contains_key(name) {
                s.vars.insert(name, value.into());
            }
        }
        let cwd = s.cwd.clone();
        s.vars.insert("PWD", cwd);
        s
    }

    /// The names of the variables set (for completion).
    pub fn var_names(&self) -> Vec<String> {
        self.vars.keys().cloned().collect()
    }

    /// The names of the functions defined (for completion).
    pub fn function_names(&self) -> Vec<String> {
        self.functions.keys().cloned().collect()
    }

    pub fn set_positional(&mut self, args: Vec<String>) {
        self.positional = args;
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Sets a variable (exported too under `set -a`); a read-only one keeps its value (the
    /// commands that assign check that first and say so).
    pub fn set_var(&mut self, name: &str, value: &str) {
        if self.x.readonly.contains_key(name) {
            return;
        }
        if self.x.opts.get('a') {
            self.exported.insert(name, ());
        }
        self.vars.insert(name, value.to_string());
    }

    /// Parses and runs `src` one complete command (a line) at a time, as POSIX shells do: the
    /// lines before a syntax error run. Returns the exit status, and whether the shell is to
    /// end (`exit`, or a syntax error in a non-interactive shell).
    pub fn run_script(&mut self, src: &str, io: &mut Streams) -> (i32, bool) {
        self.run_script_at(src, 1, io)
    }

    /// [`Shell::run_script`] for text whose first line is line `first_line` of its input (in
    /// syntax errors' messages).
    pub fn run_script_at(&mut self, src: &str, first_line: usize, io: &mut Streams) -> (i32, bool) {
        match self.run_text(src, first_line, io) {
            Flow::Exit(code) => (code, true),
            _ => (self.status, false),
        }
    }

    /// Runs a script's text a command at a time: `Exit` if the shell is to end (`exit`, or a
    /// syntax error in a non-interactive shell), `Interrupt` if the command line is to be
    /// abandoned (an interrupt, or an error that ends a script in an interactive shell), `Next`
    /// at the end of the text or after a `return`.
    #[inline(never)]
    fn run_text(&mut self, src: &str, first_line: usize, io: &mut Streams) -> Flow {
        // A command at a time, with the aliases of the moment: one defined by a command
        // applies from the next line on, as in dash.
        let mut script = parse::Script::new(src, first_line);
        loop {
            let next = self.next_command(&mut script);
            for w in script.take_warnings() {
                let _ = writeln!(io.stderr, "{}: {}: warning: {w}", self.name, script.line());
            }
            let list = match next {
                Ok(Some(list)) => list,
                Ok(None) => return Flow::Next,
                Err(e) => {
                    let line = script.line_of(e.at);
                    let _ = writeln!(io.stderr, "{}: {line}: {e}", self.name);
                    return self.fatal();
                }
            };
            match self.list(&list, io) {
                Flow::Next => {}
                Flow::Return => return Flow::Next,
                // `exit`, an interrupted or abandoned line; `break` or `continue` out of a
                // `.` file end it.
                Flow::Break(_) | Flow::Continue(_) => return Flow::Next,
                other => return other,
            }
        }
    }

    fn list(&mut self, list: &List, io: &mut Streams) -> Flow {
        for item in &list.0 {
            if let Some(sig) = self.job.interrupted() {
                match self.run_signal_trap(sig, io) {
                    Some(Flow::Next) => {}
                    Some(f) => return f,
                    None => {
                        self.status = 128 + sig as i32;
                        return Flow::Interrupt;
                    }
                }
            }
            if self.noexec() {
                return Flow::Next;
            }
            let f = self.and_or(item, io);
            if f != Flow::Next {
                return f;
            }
        }
        Flow::Next
    }

    fn and_or(&mut self, a: &AndOr, io: &mut Streams) -> Flow {
        if a.background {
            self.background(a, io);
            return Flow::Next;
        }
        let f = self.pipeline(&a.first, io, a.rest.is_empty());
        if f != Flow::Next {
            return f;
        }
        for (i, (c, p)) in a.rest.iter().enumerate() {
            let run = match c {
                Connector::And => self.status == 0,
                Connector::Or => self.status != 0,
            };
            if run {
                let f = self.pipeline(p, io, i + 1 == a.rest.len());
                if f != Flow::Next {
                    return f;
                }
            }
        }
        Flow::Next
    }

    /// A pipeline; `last`: the last of its and-or list (where `set -e` applies, unless it is
    /// negated).
    fn pipeline(&mut self, p: &Pipeline, io: &mut Streams, last: bool) -> Flow {
        let start = p.time.map(|_| std::time::Instant::now());
        let tested = !last || p.negate;
        self.x.cond += tested as usize;
        let flow = if p.commands.is_empty() {
            // `time` alone.
            self.status = 0;
            Flow::Next
        } else if p.commands.len() == 1 {
            self.command(&p.commands[0], io)
        } else {
            self.status = self.run_pipeline(&p.commands, io);
            Flow::Next
        };
        self.x.cond -= tested as usize;
        if let (Some(posix), Some(start)) = (p.time, start) {
            report_time(io, start.elapsed(), posix);
        }
        if p.negate {
            self.status = (self.status == 0) as i32;
        }
        if flow == Flow::Next && !tested {
            return self.errexit(p);
        }
        flow
    }

    /// `… &`: runs the and-or list on a thread with a copy of the shell, its stdin null, as a
    /// job of its own; `$!` names it.
    #[inline(never)]
    fn background(&mut self, a: &AndOr, io: &mut Streams) {
        let mut sub = self.subshell_copy();
        sub.in_background = true;
        sub.job = JobCtl::new();
        sub.job.set_ignored(sub.ignored_signals());
        sub.interactive = false;
        let ctl = sub.job.clone();
        let mut fg = a.clone();
        fg.background = false;
        let text = format!("{} &", crate::unparse::and_or(&fg));
        let streams = (|| -> io::Result<Streams> {
            Ok(Streams {
                stdin: In::Null,
                stdout: io.stdout.try_clone()?,
                stderr: io.stderr.try_clone()?,
                more: io.more_clone()?,
            })
        })();
        let started = streams.and_then(|mut streams| {
            std::thread::Builder::new()
                .name("job".into())
                .spawn(move || {
                    let f = sub.and_or(&fg, &mut streams);
                    let code = match f {
                        Flow::Exit(c) => c,
                        _ => sub.status,
                    };
                    let code = sub.run_exit_trap(code, &mut streams);
                    let _ = streams.stdout.flush();
                    code
                })
        });
        match started {
            Ok(t) => {
                let (n, id) = self
                    .jobs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .add(text, ctl, t);
                self.vars.insert("!", id.to_string());
                if self.interactive {
                    let _ = writeln!(io.stderr, "[{n}] {id}");
                }
                self.status = 0;
            }
            Err(e) => {
                let _ = writeln!(
                    io.stderr,
                    "{}: cannot start a background job: {e}",
                    self.name
                );
                self.status = 1;
            }
        }
    }

    /// Runs the stages of a pipeline concurrently; returns the last stage's status.
    #[inline(never)]
    fn run_pipeline(&mut self, cmds: &[Command], io: &mut Streams) -> i32 {
        enum Running {
            Child(Job),
            Thread(std::thread::JoinHandle<i32>),
            Done(i32),
        }
        let mut running = Vec::new();
        let mut next_in: Option<In> = None;
        for (i, cmd) in cmds.iter().enumerate() {
            let last = i + 1 == cmds.len();
            let stdin = match next_in.take() {
                Some(s) => s,
                None => match io.stdin.try_clone() {
                    Ok(s) => s,
                    Err(e) => return self.fail(io, "pipe", &e),
                },
            };
            let stdout = if last {
                match io.stdout.try_clone() {
                    Ok(o) => o,
                    Err(e) => return self.fail(io, "pipe", &e),
                }
            } else {
                match io::pipe() {
                    Ok((r, w)) => {
                        next_in = Some(In::Pipe(r));
                        Out::pipe(w)
                    }
                    Err(e) => return self.fail(io, "pipe", &e),
                }
            };
            let stderr = match io.stderr.try_clone() {
                Ok(e) => e,
                Err(e) => return self.fail(io, "pipe", &e),
            };
            let more = match io.more_clone() {
                Ok(m) => m,
                Err(e) => return self.fail(io, "pipe", &e),
            };
            let mut streams = Streams {
                stdin,
                stdout,
                stderr,
                more,
            };
            // An external simple command without redirections of its own runs as a process;
            // everything else on a thread with a copy of the shell.
            match self.external(cmd, io) {
                Some((argv, env)) => match self.spawn(&argv, &env, streams) {
                    Ok(c) => running.push(Running::Child(c)),
                    Err(code) => running.push(Running::Done(code)),
                },
                None => {
                    let mut sub = self.subshell_copy();
                    let cmd = cmd.clone();
                    let t = std::thread::Builder::new().spawn(move || {
                        let code = match sub.command(&cmd, &mut streams) {
                            Flow::Exit(c) => c,
                            _ => sub.status,
                        };
                        let code = sub.run_exit_trap(code, &mut streams);
                        let _ = streams.stdout.flush();
                        code
                    });
                    match t {
                        Ok(t) => running.push(Running::Thread(t)),
                        Err(e) => {
                            let _ = writeln!(
                                io.stderr,
                                "{}: cannot start a pipeline stage: {e}",
                                self.name
                            );
                            running.push(Running::Done(1));
                        }
                    }
                }
            }
        }
        let mut status = 0;
        for r in running {
            status = match r {
                Running::Child(j) => j.wait(),
                Running::Thread(t) => t.join().unwrap_or(1),
                Running::Done(code) => code,
            };
        }
        // A stage's `trap '' INT` was its own (the stages share the job).
        self.restore_ignored();
        status
    }

    /// If `cmd` is a plain external command (no function or builtin of that name, no
    /// redirections, no assignments), its expanded argv and environment.
    fn external(&mut self, cmd: &Command, io: &Streams) -> Option<(Vec<String>, Env)> {
        let Command::Simple(s) = cmd else { return None };
        if !s.redirects.is_empty() || !s.assignments.is_empty() {
            return None;
        }
        let first = s.words.first()?.as_literal()?;
        if is_builtin(first) || self.functions.contains_key(first) {
            return None;
        }
        let argv = self.expand_words_in(&s.words, Some(io));
        let env = self.child_env(&[]);
        Some((argv, env))
    }

    /// An error that ends a non-interactive shell with status 2 (POSIX 2.8.1: a special
    /// builtin's error, a failed expansion); an interactive one abandons the command line.
    fn fatal(&mut self) -> Flow {
        self.status = 2;
        if self.interactive {
            Flow::Interrupt
        } else {
            Flow::Exit(2)
        }
    }

    /// After an expansion: if it failed, the [`Shell::fatal`] flow.
    fn expansion_failed(&mut self) -> Option<Flow> {
        std::mem::take(&mut self.expand_failed).then(|| self.fatal())
    }

    fn fail(&mut self, io: &mut Streams, what: &str, e: &io::Error) -> i32 {
        let _ = writeln!(io.stderr, "{}: {what}: {e}", self.name);
        1
    }

    fn command(&mut self, cmd: &Command, io: &mut Streams) -> Flow {
        match cmd {
            Command::Simple(s) => self.simple(s, io),
            Command::Function { name, body } => {
                if builtins::is_special(name) {
                    return self.bad_function_name(name, io);
                }
                self.functions.insert(name, (**body).clone());
                self.status = 0;
                Flow::Next
            }
            Command::Compound(c, redirects) => {
                if redirects.is_empty() {
                    return self.compound(c, io);
                }
                let r = self.redirect(redirects, io);
                if let Some(f) = self.expansion_failed() {
                    return f;
                }
                match r {
                    Ok(mut streams) => {
                        let f = self.compound(c, &mut streams);
                        let _ = streams.stdout.flush();
                        f
                    }
                    Err(msg) => {
                        let _ = writeln!(io.stderr, "{}: {msg}", self.name);
                        self.status = 2;
                        // Under `set -e` this failure is the compound command's own.
                        self.errexit_now()
                    }
                }
            }
        }
    }

    /// A compound command; nested deep enough that less than [`STACK_RESERVE`] is left of this
    /// thread's stack, it goes on on a fresh one ([`crate::on_fresh_stack`]), as a function
    /// call does: each level of `{ … }`, `if`, loop or `case` costs a few frames of the
    /// interpreter's recursion.
    fn compound(&mut self, c: &Compound, io: &mut Streams) -> Flow {
        if std::thread::stack_remaining().is_some_and(|r| r < STACK_RESERVE) {
            let sh = &mut *self;
            let io2 = &mut *io;
            if let Some(f) = crate::on_fresh_stack(move || sh.compound_here(c, io2)) {
                return f;
            }
            let _ = writeln!(
                io.stderr,
                "{}: commands nested too deeply (no thread left for a fresh stack)",
                self.name
            );
            self.status = 2;
            return Flow::Next;
        }
        self.compound_here(c, io)
    }

    fn compound_here(&mut self, c: &Compound, io: &mut Streams) -> Flow {
        match c {
            Compound::Group(l) => self.list(l, io),
            Compound::Subshell(l) => {
                self.subshell(l, io);
                Flow::Next
            }
            Compound::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    self.x.cond += 1;
                    let f = self.list(cond, io);
                    self.x.cond -= 1;
                    if f != Flow::Next {
                        return f;
                    }
                    if self.status == 0 {
                        return self.list(body, io);
                    }
                }
                self.status = 0;
                match otherwise {
                    Some(body) => self.list(body, io),
                    None => Flow::Next,
                }
            }
            Compound::Loop {
                until,
                condition,
                body,
            } => {
                self.loops += 1;
                let mut status = 0;
                let flow = loop {
                    // `break` and `continue` in the condition work as in the body.
                    self.x.cond += 1;
                    let f = self.list(condition, io);
                    self.x.cond -= 1;
                    match f {
                        Flow::Next => {}
                        Flow::Break(n) if n > 1 => break Flow::Break(n - 1),
                        Flow::Break(_) => {
                            status = self.status;
                            break Flow::Next;
                        }
                        Flow::Continue(n) if n > 1 => break Flow::Continue(n - 1),
                        Flow::Continue(_) => continue,
                        other => break other,
                    }
                    if (self.status == 0) == *until {
                        break Flow::Next;
                    }
                    match self.list(body, io) {
                        Flow::Break(n) if n > 1 => break Flow::Break(n - 1),
                        Flow::Break(_) => {
                            status = self.status;
                            break Flow::Next;
                        }
                        Flow::Continue(n) if n > 1 => break Flow::Continue(n - 1),
                        Flow::Next | Flow::Continue(_) => status = self.status,
                        other => break other,
                    }
                };
                self.loops -= 1;
                // A loop ended by its condition, `break` or `continue` has the last body's
                // status; one left by an interrupt, `return` or `exit` keeps what that set
                // (Ctrl-C: 130).
                if matches!(flow, Flow::Next | Flow::Break(_) | Flow::Continue(_)) {
                    self.status = status;
                }
                flow
            }
            Compound::For { name, words, body } => {
                let items = match words {
                    Some(ws) => self.expand_words_in(ws, Some(io)),
                    None => self.positional.clone(),
                };
                if let Some(f) = self.expansion_failed() {
                    return f;
                }
                self.loops += 1;
                self.status = 0;
                let mut flow = Flow::Next;
                for item in items {
                    self.set_var(name, &item);
                    match self.list(body, io) {
                        Flow::Break(n) if n > 1 => {
                            flow = Flow::Break(n - 1);
                            break;
                        }
                        Flow::Break(_) => break,
                        Flow::Continue(n) if n > 1 => {
                            flow = Flow::Continue(n - 1);
                            break;
                        }
                        Flow::Next | Flow::Continue(_) => {}
                        other => {
                            flow = other;
                            break;
                        }
                    }
                }
                self.loops -= 1;
                flow
            }
            Compound::Case { word, arms } => {
                let value = self.expand_single_in(word, Some(io));
                if let Some(f) = self.expansion_failed() {
                    return f;
                }
                self.status = 0;
                for arm in arms {
                    for p in &arm.patterns {
                        let pat = {
                            let mut ctx = Ctx {
                                sh: self,
                                io: Some(io),
                            };
                            expand::expand_pattern(p, &mut ctx)
                        };
                        if let Some(f) = self.expansion_failed() {
                            return f;
                        }
                        if pat.matches(&value) {
                            return self.list(&arm.body, io);
                        }
                    }
                }
                Flow::Next
            }
        }
    }

    /// The values of a command's assignments, expanded for a command run on `io`.
    fn assignments(
        &mut self,
        assignments: &[(String, Word)],
        io: &Streams,
    ) -> Vec<(String, String)> {
        self.expand_assigns(assignments, io)
    }

    /// `( … )`: the list runs with a copy of the shell and of its descriptors (`exec` inside
    /// changes only the subshell's). (Not inlined: the copy would be in `compound`'s frame,
    /// which is on the recursion path.)
    #[inline(never)]
    fn subshell(&mut self, l: &List, io: &mut Streams) {
        let mut sub = self.subshell_copy();
        let mut own = match io.try_clone() {
            Ok(s) => s,
            Err(e) => {
                self.status = self.fail(io, "subshell", &e);
                return;
            }
        };
        let f = sub.list(l, &mut own);
        let code = match f {
            Flow::Exit(code) => code,
            _ => sub.status,
        };
        let code = sub.run_exit_trap(code, &mut own);
        let _ = own.stdout.flush();
        self.status = code & 0xFF; // (a subshell's status is a process's, as in dash)
        self.restore_ignored();
    }

    /// Expands words for a command run on `io`: a command substitution gets its stdin, stderr
    /// and descriptors past 2 (`f 2>e` keeps the errors of `$(…)` inside `f` in `e`); with
    /// `None`, the shell's own.
    fn expand_words_in(&mut self, words: &[Word], io: Option<&Streams>) -> Vec<String> {
        let mut ctx = Ctx { sh: self, io };
        expand::expand_words(words, &mut ctx)
    }

    /// One word, for a command run on `io` (see [`Shell::expand_words_in`]).
    fn expand_single_in(&mut self, word: &Word, io: Option<&Streams>) -> String {
        let mut ctx = Ctx { sh: self, io };
        expand::expand_single(word, &mut ctx)
    }

    /// The environment for a child: exported variables plus the command's own assignments.
    fn child_env(&self, extra: &[(String, String)]) -> Vec<(String, String)> {
        let mut env = NameMap::new();
        for k in self.exported.keys() {
            if let Some(v) = self.vars.get(k) {
                env.insert(k, v.clone());
            }
        }
        for (k, v) in extra {
            env.insert(k, v.clone());
        }
        env.into_vec()
    }

    /// A here-document's body as input: expanded now, then fed through a pipe (by a thread of
    /// its own if it may not fit in the pipe at once, so that the shell never waits for the
    /// reader).
    #[inline(never)]
    fn here_doc(&mut self, r: &Redirect, io: &Streams) -> io::Result<In> {
        /// What a pipe surely holds without a reader.
        const AT_ONCE: usize = 4096;
        let text = match r.here.as_ref().and_then(|h| h.get()) {
            Some(w) => self.expand_single_in(w, Some(io)),
            None => String::new(),
        };
        let (rd, mut w) = io::pipe()?;
        if text.len() <= AT_ONCE {
            w.write_all(&std::ffi::bytes_from_text(&text))?;
        } else {
            std::thread::Builder::new()
                .name("here-doc".into())
                .spawn(move || {
                    let _ = w.write_all(&std::ffi::bytes_from_text(&text));
                })?;
        }
        Ok(In::Pipe(rd))
    }

    // Not inlined (nor are `run_pipeline`, `background`, `builtin`, `spawn` and `redirect`):
    // their locals would be in the frames of `command`, `pipeline` and `and_or`, which nest at
    // every level of a script's nesting (28 KiB thread stacks; the shell's deepest stack is
    // close to that, see `cargo xtask bench budgets`).
    #[inline(never)]
    fn simple(&mut self, s: &Simple, io: &mut Streams) -> Flow {
        self.substituted = false;
        // POSIX 2.9.1's order: the words, the redirections, then the assignments' values (a
        // `$( … )` in those writes where the command's redirections say).
        let argv = {
            // (`export`/`readonly`/`local`'s `name=word` arguments expand as assignments.)
            let mut ctx = Ctx {
                sh: self,
                io: Some(io),
            };
            expand::expand_command(&s.words, &mut ctx)
        };
        if let Some(f) = self.expansion_failed() {
            return f;
        }
        if argv.first().is_some_and(|a| a == "exec") && argv.get(1).is_none_or(|a| a != "--help") {
            return self.exec(&argv[1..], &s.assignments, &s.redirects, io);
        }
        let mut streams = if s.redirects.is_empty() {
            None
        } else {
            let r = self.redirect(&s.redirects, io);
            if let Some(f) = self.expansion_failed() {
                return f;
            }
            match r {
                Ok(st) => Some(st),
                Err(msg) => {
                    let _ = writeln!(io.stderr, "{}: {msg}", self.name);
                    // A special builtin's redirection that fails ends a script (POSIX 2.8.1);
                    // any other command's fails with 2, as in dash.
                    if argv.first().is_some_and(|n| is_special(n)) {
                        return self.fatal();
                    }
                    self.status = 2;
                    return Flow::Next;
                }
            }
        };
        let assigns = {
            let io: &mut Streams = match &mut streams {
                Some(st) => st,
                None => &mut *io,
            };
            let assigns = self.assignments(&s.assignments, io);
            if let Some(f) = self.expansion_failed() {
                return f;
            }
            if let Some(f) = self.check_assigns(&assigns, io) {
                return f;
            }
            assigns
        };
        // The trace goes where stderr was before the command's own redirections, as in dash.
        self.trace(&assigns, &argv, io);
        let io: &mut Streams = match &mut streams {
            Some(st) => st,
            None => io,
        };
        let Some(name) = argv.first().cloned() else {
            // Only assignments (and redirections): they stay in the shell. The status is the
            // last command substitution's, or 0 (POSIX 2.9.1).
            for (k, v) in &assigns {
                self.set_var(k, v);
            }
            if !self.substituted {
                self.status = 0;
            }
            return Flow::Next;
        };
        let flow = if builtins::is_special(&name) {
            // A special builtin's assignments stay (POSIX 2.14).
            for (k, v) in &assigns {
                self.set_var(k, v);
            }
            self.builtin(&name, &argv[1..], io)
        } else if let Some(body) = self.functions.get(&name).cloned() {
            let saved = self.push_assigns(&assigns);
            let f = self.call_function(&body, argv[1..].to_vec(), io);
            self.pop_assigns(saved);
            f
        } else if is_builtin(&name) {
            let saved = self.push_assigns(&assigns);
            let f = self.builtin(&name, &argv[1..], io);
            self.pop_assigns(saved);
            f
        } else {
            let env = self.child_env(&assigns);
            let taken = std::mem::replace(io, Streams::inherit());
            let keep = taken.try_clone();
            self.status = match self.spawn(&argv, &env, taken) {
                Ok(j) => j.wait(),
                Err(code) => code,
            };
            if let Ok(k) = keep {
                *io = k;
            }
            Flow::Next
        };
        if let Some(st) = &mut streams {
            let _ = st.stdout.flush();
        }
        flow
    }

    fn call_function(&mut self, body: &Command, args: Vec<String>, io: &mut Streams) -> Flow {
        if self.depth < MAX_CALL_DEPTH
            && std::thread::stack_remaining().is_some_and(|r| r < STACK_RESERVE)
        {
            // Out of this thread's stack: go on on a fresh one.
            let body = body.clone();
            let mut args = Some(args);
            let sh = &mut *self;
            let io2 = &mut *io;
            if let Some(f) = crate::on_fresh_stack(move || {
                sh.call_function_here(&body, args.take().unwrap_or_default(), io2)
            }) {
                return f;
            }
            let _ = writeln!(
                io.stderr,
                "{}: function calls nested too deeply (no thread left for a fresh stack)",
                self.name
            );
            self.status = 2;
            return Flow::Next;
        }
        self.call_function_here(body, args, io)
    }

    /// The call itself; the stack was checked by [`Shell::call_function`] (checked again here,
    /// one frame deeper, a call just at the limit failed instead of going on on a fresh stack).
    fn call_function_here(&mut self, body: &Command, args: Vec<String>, io: &mut Streams) -> Flow {
        if self.depth >= MAX_CALL_DEPTH {
            let _ = writeln!(
                io.stderr,
                "{}: function calls nested too deeply (limit {MAX_CALL_DEPTH}, or the stack)",
                self.name
            );
            self.status = 2;
            return Flow::Next;
        }
        self.depth += 1;
        self.enter_function();
        let saved = std::mem::replace(&mut self.positional, args);
        let saved_loops = std::mem::take(&mut self.loops);
        let f = self.command(body, io);
        self.loops = saved_loops;
        self.positional = saved;
        self.leave_function();
        self.depth -= 1;
        match f {
            Flow::Return => Flow::Next,
            other => other,
        }
    }

    /// Starts an external program; `Err(status)` after reporting why it could not start.
    #[inline(never)]
    fn spawn(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        io: Streams,
    ) -> Result<Job, i32> {
        let found = self.lookup(&argv[0]);
        // A script for /bin/sh (`#!/bin/sh`, or text with no `#!` line, as execvp runs it) is
        // run as `sh SCRIPT` would be.
        let script = found
            .as_deref()
            .filter(|p| !p.starts_with("/bin/") && is_sh_script(&self.path(p)));
        let sh_argv: Vec<String>;
        let argv = match script {
            Some(p) => {
                sh_argv = ["sh".to_string(), p.to_string()]
                    .into_iter()
                    .chain(argv[1..].iter().cloned())
                    .collect();
                &sh_argv[..]
            }
            None => argv,
        };
        if (script.is_some() || found.as_deref() == Some("/bin/sh"))
            && !self.in_background
            && crate::applet::allowed(env)
        {
            // `sh -c …` and `sh FILE`: a new shell on a thread of this one (see lib.rs).
            return match crate::embedded(argv, env, &self.cwd, self.job.clone(), io) {
                Ok(r) => Ok(Job::InShell(r)),
                Err(Some(back)) => self.spawn_process(argv, env, back),
                Err(None) => {
                    let _ = writeln!(
                        io::stderr(),
                        "{}: sh: resource temporarily unavailable: {} threads",
                        self.name,
                        libeurali::abi::layout::MAX_THREADS
                    );
                    Err(126)
                }
            };
        }
        self.spawn_process(argv, env, io)
    }

    /// [`Shell::spawn`] of a tool or a program.
    fn spawn_process(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        io: Streams,
    ) -> Result<Job, i32> {
        if let Some(tool) = crate::applet::find(&argv[0], env) {
            let cx = crate::applet::Context {
                env: env.to_vec(),
                cwd: self.cwd.clone(),
                job: self.job.clone(),
                shell: self.name.clone(),
            };
            return match crate::applet::start(tool, argv.to_vec(), io, cx) {
                Ok(r) => Ok(Job::InShell(r)),
                Err(e) => {
                    let _ = writeln!(
                        io::stderr(),
                        "{}: {}: {}",
                        self.name,
                        argv[0],
                        io::describe(&e)
                    );
                    Err(126)
                }
            };
        }
        // (A program gets no descriptor past 2: std-shim passes none.)
        let Streams {
            stdin,
            stdout,
            mut stderr,
            ..
        } = io;
        let name = &argv[0];
        let mut cmd = Process::new(self.program(name, env));
        cmd.args(&argv[1..])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PWD", &self.cwd);
        let err = match stderr.try_clone() {
            Ok(e) => e,
            Err(_) => Out::inherit(2),
        };
        let mut pumps = Vec::new();
        let mut targets = Vec::new();
        let stdio = (|| -> io::Result<(Stdio, Stdio, Stdio)> {
            Ok((
                stdin.stdio(&mut pumps)?,
                stdout.stdio(1, &mut targets)?,
                err.stdio(2, &mut targets)?,
            ))
        })();
        let (i, o, e) = match stdio {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(stderr, "{}: {name}: {e}", self.name);
                return Err(126);
            }
        };
        cmd.stdin(i).stdout(o).stderr(e);
        match cmd.spawn() {
            Ok(child) => {
                self.job.add(child.killer());
                // Where to say that a redirection's file could not be written.
                let report = match targets.is_empty() {
                    true => None,
                    false => Some((self.name.clone(), stderr)),
                };
                Ok(Job::Process {
                    child,
                    pumps,
                    targets,
                    report,
                    ctl: self.job.clone(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _ = writeln!(stderr, "{}: {name}: not found", self.name);
                Err(127)
            }
            Err(e) => {
                let _ = writeln!(stderr, "{}: {name}: {}", self.name, io::describe(&e));
                Err(126)
            }
        }
    }

    /// What to start for command `name` run with environment `env`: a path, or a directory of
    /// a relative `PATH` entry (`.`), is the shell's working directory's, not the process's,
    /// and an unexported `PATH` is searched too (std-shim searches the child's, else `/bin`,
    /// and is left that when it is the same and absolute, so that `argv[0]` stays the name).
    fn program(&self, name: &str, env: &[(String, String)]) -> String {
        if name.contains('/') {
            return self.path(name);
        }
        let given = env.iter().rev().find(|(k, _)| k == "PATH");
        let path = match given {
            Some((_, v)) => v.as_str(),
            None => self.var("PATH").unwrap_or("/bin"),
        };
        let absolute = path.split(':').all(|d| d.is_empty() || d.starts_with('/'));
        if absolute && (given.is_some() || path == "/bin") {
            return name.to_string();
        }
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| self.path(&format!("{d}/{name}")))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
            .unwrap_or_else(|| name.to_string())
    }

    /// The path `$PATH` gives for a command name.
    pub fn lookup(&self, name: &str) -> Option<String> {
        if name.contains('/') {
            return std::fs::metadata(self.path(name))
                .ok()
                .filter(|m| m.is_file())
                .map(|_| name.to_string());
        }
        let path = self.var("PATH").unwrap_or("/bin");
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{name}", d.trim_end_matches('/')))
            .find(|p| {
                std::fs::metadata(self.path(p))
                    .map(|m| m.is_file())
                    .unwrap_or(false)
            })
    }

    /// Runs a command substitution: the list with stdout into a pipe that a helper thread
    /// reads, its other streams those of `io` (the shell's own if `None`).
    fn substitute(&mut self, script: &List, io: Option<&Streams>) -> String {
        let (r, w) = match io::pipe() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{}: command substitution: {e}", self.name);
                return String::new();
            }
        };
        let reader = std::thread::spawn(move || {
            let mut r = r;
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        });
        let mut sub = self.subshell_copy();
        let base = io.and_then(|io| {
            let stdin = io.stdin.try_clone().ok()?;
            let stderr = io.stderr.try_clone().ok()?;
            Some((stdin, stderr, io.more_clone().ok()?))
        });
        let mut io = match base {
            Some((stdin, stderr, more)) => Streams {
                stdin,
                stdout: Out::pipe(w),
                stderr,
                more,
            },
            None => Streams::new(In::Inherit, Out::pipe(w), Out::inherit(2)),
        };
        let code = match sub.list(script, &mut io) {
            Flow::Exit(c) => c,
            _ => sub.status,
        };
        let code = sub.run_exit_trap(code, &mut io);
        let _ = io.stdout.flush();
        drop(io);
        self.status = code & 0xFF;
        self.substituted = true;
        self.restore_ignored();
        std::ffi::text_from_bytes(&reader.join().unwrap_or_default())
    }
}

/// A script file's text: any bytes (what is not UTF-8 as `std::ffi::text_from_bytes` maps it,
/// the shell's words being bytes).
pub(crate) fn read_script(path: &str) -> io::Result<String> {
    Ok(std::ffi::text_from_bytes(&std::fs::read(path)?))
}

/// A started command: a program with the pumps feeding its redirected input files and the
/// files its output is redirected to, or a tool running inside the shell ([`crate::applet`]).
enum Job {
    Process {
        child: std::process::Child,
        pumps: Vec<JoinHandle<()>>,
        /// Files the program writes through the shell's stream servers.
        targets: Vec<Shared>,
        /// The shell's name and the command's stderr, to report a file that could not be
        /// written.
        report: Option<(String, Out)>,
        /// The job it belongs to (which forgets it once waited for).
        ctl: Arc<JobCtl>,
    },
    InShell(crate::applet::Running),
}

impl Job {
    /// Waits for the command (a program, then its pumps); the exit status (128 + 9 if a
    /// program died without one, as a killed process reads in Unix shells). A redirection's
    /// file that the program could not write (a full disk) is named on the command's stderr,
    /// once, and fails a status of 0: the program may not know where its output went, or say
    /// so.
    fn wait(self) -> i32 {
        match self {
            Job::Process {
                mut child,
                pumps,
                targets,
                mut report,
                ctl,
            } => {
                let mut code = match child.wait() {
                    Ok(s) => s.code().unwrap_or(128 + 9),
                    Err(_) => 1,
                };
                ctl.remove(child.id());
                drop(child);
                for p in pumps {
                    let _ = p.join();
                }
                for t in &targets {
                    let failed = t.failed.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(why) = failed {
                        if let Some((name, err)) = &mut report {
                            let _ = writeln!(err, "{name}: {}: write error: {why}", t.path);
                        }
                        if code == 0 {
                            code = 1;
                        }
                    }
                }
                code
            }
            Job::InShell(r) => r.wait(),
        }
    }
}

/// [`io::describe`] for an error of a file's: its server gone reads as an I/O error.
pub(crate) fn file_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::BrokenPipe => "Input/output error (its file server ended)".into(),
        _ => io::describe(e),
    }
}

/// Whether the file at `path` is a script for `/bin/sh`: `#!/bin/sh` (then a blank or the line's
/// end), or text with no `#!` line (neither an ELF nor empty).
fn is_sh_script(path: &str) -> bool {
    let mut head = [0u8; 10];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    match head.strip_prefix(b"#!") {
        Some(rest) => {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            rest.strip_prefix(b"/bin/sh")
                .is_some_and(|r| r.first().is_none_or(|b| b.is_ascii_whitespace()))
        }
        None => n > 0 && !head.starts_with(b"\x7fELF"),
    }
}

/// What expansion needs, answered by the shell.
struct Ctx<'a> {
    sh: &'a mut Shell,
    /// The streams of the command being expanded, for its command substitutions.
    io: Option<&'a Streams>,
}

impl Context for Ctx<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            "?" => Some(self.sh.status.to_string()),
            "#" => Some(self.sh.positional.len().to_string()),
            "0" => Some(self.sh.name.clone()),
            "-" => Some(self.sh.dash_flags()),
            // The shell's pid in /proc (1 where there is none, as a first process would be).
            "$" => Some(std::process::id().max(1).to_string()),
            n if n.bytes().all(|b| b.is_ascii_digit()) => n
                .parse::<usize>()
                .ok()
                .and_then(|i| self.sh.positional.get(i - 1).cloned()),
            n => self.sh.vars.get(n).cloned(),
        }
    }
    fn positional(&self) -> Vec<String> {
        self.sh.positional.clone()
    }
    fn command_output(&mut self, script: &List) -> String {
        self.sh.substitute(script, self.io)
    }
    fn assign(&mut self, name: &str, value: &str) {
        if parse::is_name(name) {
            self.sh.set_var(name, value);
        } else {
            self.param_error(name, "cannot assign in this way");
        }
    }
    fn param_error(&mut self, name: &str, message: &str) {
        self.expansion_error(&format!("{name}: {message}"));
    }
    fn expansion_error(&mut self, message: &str) {
        let msg = format!("{}: {message}", self.sh.name);
        // On the stderr of the command being expanded (`f 2>e` and a `${x?}` inside `f`).
        match self.io.and_then(|io| io.stderr.try_clone().ok()) {
            Some(mut err) => {
                let _ = writeln!(err, "{msg}");
                let _ = err.flush();
            }
            None => eprintln!("{msg}"),
        }
        self.sh.expand_failed = true;
    }
    fn home_of(&mut self, user: &str) -> Option<String> {
        crate::textio::home_of(user, self.sh.var("USER"), self.sh.var("HOME"))
    }
    fn unset_param(&mut self, name: &str) {
        if self.sh.x.opts.get('u') && !matches!(name, "@" | "*" | "!") {
            self.param_error(name, "parameter not set");
        }
    }
    fn read_dir(&mut self, dir: &str) -> Option<Vec<String>> {
        if self.sh.x.opts.get('f') {
            // `set -f`: no pathname expansion.
            return None;
        }
        let rd = std::fs::read_dir(self.sh.path(dir)).ok()?;
        Some(
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
        )
    }
}

/// `time`'s report on stderr, in bash's format (`-p`: POSIX's). Only the real (wall-clock)
/// time: eurali's kernel counts no CPU time per process, so the user and sys lines, which
/// would be made up, are left out (the man page says so).
fn report_time(io: &mut Streams, real: std::time::Duration, posix: bool) {
    let ms = real.as_millis();
    let line = if posix {
        format!("real {}.{:02}\n", ms / 1000, ms % 1000 / 10)
    } else {
        format!(
            "\nreal\t{}m{}.{:03}s\n",
            ms / 60_000,
            ms % 60_000 / 1000,
            ms % 1000
        )
    };
    let _ = io.stderr.write_all(line.as_bytes());
}
