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
//! Options (`set -e` and the rest) are in `interp/options.rs`, `trap` in `interp/traps.rs`,
//! the POSIX builtins about variables and commands (`export`, `readonly`, `local`, `eval`,
//! `command`, `getopts`, `alias`, `umask`…) in `interp/builtins.rs`.
//!
//! Limitation: the working directory is the process's (`std::env::set_current_dir`), so a `cd`
//! inside a pipeline stage or `( … )` is seen by the rest of the shell.

use std::fs::{File, OpenOptions};
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

mod builtins;
mod options;
mod traps;

use crate::expand::{self, Context};
use crate::jobs::{JobCtl, Jobs};
use crate::names::NameMap;
use crate::parse::{
    self, AndOr, Command, Compound, Connector, List, Pipeline, Redirect, RedirectOp, Simple,
};

/// A child's environment.
type Env = Vec<(String, String)>;

/// Deepest nesting of function calls and `source`.
pub const MAX_CALL_DEPTH: usize = 100;
/// Stack that must be left (`std::thread::stack_remaining`, 28 KiB thread stacks on the kernel)
/// before a function call or `.` goes one level deeper: what running any one command from there
/// may need (measured with `cargo xtask bench budgets`). Past it the call fails like one past
/// [`MAX_CALL_DEPTH`], instead of overflowing into the guard page (which halts the machine).
pub const STACK_RESERVE: usize = 14 * 1024;

/// Whether one more level of function call or `.` would leave too little stack.
fn too_deep(depth: usize) -> bool {
    depth >= MAX_CALL_DEPTH || std::thread::stack_remaining().is_some_and(|r| r < STACK_RESERVE)
}

/// A file named by redirections, shared by those that name it (one offset, as a Unix dup
/// shares it).
pub struct Target {
    file: Mutex<File>,
    /// The path as the redirection named it, for messages.
    path: String,
    /// Why a program's write into it failed first, if one did and the shell has not said so yet
    /// (see [`Job::wait`]).
    failed: Mutex<Option<String>>,
}

impl Target {
    fn new(file: File, path: &str) -> Shared {
        Arc::new(Target {
            file: Mutex::new(file),
            path: path.to_string(),
            failed: Mutex::new(None),
        })
    }

    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, File>> {
        self.file.lock().map_err(|_| io::Error::other("lock"))
    }

    /// An error of this file's, with its path in the message. A file's broken pipe (its file
    /// server ended) is an input/output error: no reader of a pipe went away.
    fn named(&self, e: io::Error) -> io::Error {
        let kind = match e.kind() {
            io::ErrorKind::BrokenPipe => io::ErrorKind::Other,
            k => k,
        };
        io::Error::new(kind, format!("{}: {}", self.path, file_words(&e)))
    }
}

/// A redirection's file served to a program as its stream (std-shim's stream server, a thread
/// of the shell): each WRITE reaches the file before it is answered (so a program learns of a
/// full disk at the write that did not fit, and what it wrote is in the file at once), and a
/// failed one is answered with its error (a full disk reads as such in the program) and kept
/// for the shell's own message ([`Job::wait`]).
struct TargetStream(Shared);

impl Target {
    /// Keeps the first failure of a program's writes, in words, for [`Job::wait`].
    fn note<T>(&self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed.get_or_insert_with(|| file_words(e));
        }
        r
    }
}

impl std::stream::StreamIo for TargetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(&mut *self.0.lock()?, buf)
    }
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let r = self
            .0
            .lock()
            .and_then(|mut f| f.write_all(data).and_then(|()| f.flush()));
        self.0.note(r).map(|()| data.len())
    }
}

/// A file shared by the redirections that name it.
pub type Shared = Arc<Target>;

/// Where a command reads.
pub enum In {
    /// The shell's own stdin.
    Inherit,
    File(Shared),
    Pipe(PipeReader),
    /// Nothing (EOF at once).
    Null,
}

/// Where a command writes, and the first write there that failed (for the builtin that wrote
/// it to report, [`Out::take_failure`]).
pub struct Out {
    to: To,
    /// (Boxed: an `Out` is in every frame of a recursion through commands.)
    failed: Option<Box<io::Error>>,
}

impl Out {
    /// Whether this is the shell's own stdout or stderr (the console, usually).
    pub fn is_inherited(&self) -> bool {
        matches!(self.to, To::Inherit(_))
    }

    /// Whether this is a redirection's file.
    pub fn is_file(&self) -> bool {
        matches!(self.to, To::File(_))
    }

    /// The redirection's path, if this is a redirection's file.
    pub fn file_path(&self) -> Option<&str> {
        match &self.to {
            To::File(t) => Some(&t.path),
            _ => None,
        }
    }
}

enum To {
    /// The shell's own stdout (for fd 1) or stderr (for fd 2).
    Inherit(u32),
    File(Shared),
    Pipe(PipeWriter),
}

/// A command's three streams.
pub struct Streams {
    pub stdin: In,
    pub stdout: Out,
    pub stderr: Out,
}

impl Streams {
    pub fn inherit() -> Streams {
        Streams {
            stdin: In::Inherit,
            stdout: Out::inherit(1),
            stderr: Out::inherit(2),
        }
    }

    fn try_clone(&self) -> io::Result<Streams> {
        Ok(Streams {
            stdin: self.stdin.try_clone()?,
            stdout: self.stdout.try_clone()?,
            stderr: self.stderr.try_clone()?,
        })
    }
}

impl In {
    fn try_clone(&self) -> io::Result<In> {
        Ok(match self {
            In::Inherit => In::Inherit,
            In::Null => In::Null,
            In::File(f) => In::File(f.clone()),
            In::Pipe(p) => In::Pipe(p.try_clone()?),
        })
    }

    /// The child's end; a file is fed through a pipe by a pump thread (joined after the child).
    fn stdio(self, pumps: &mut Vec<JoinHandle<()>>) -> io::Result<Stdio> {
        Ok(match self {
            In::Inherit => Stdio::inherit(),
            In::Null => Stdio::null(),
            In::Pipe(p) => Stdio::from(p),
            In::File(f) => {
                let (r, mut w) = io::pipe()?;
                pumps.push(std::thread::Builder::new().spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match f.lock().map(|mut f| f.read(&mut buf)) {
                            Ok(Ok(n)) if n > 0 => n,
                            _ => return,
                        };
                        if w.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                })?);
                Stdio::from(r)
            }
        })
    }
}

impl Out {
    /// The shell's own stdout (`fd` 1) or stderr (2).
    pub fn inherit(fd: u32) -> Out {
        Out::to(To::Inherit(fd))
    }

    fn file(t: Shared) -> Out {
        Out::to(To::File(t))
    }

    fn pipe(w: PipeWriter) -> Out {
        Out::to(To::Pipe(w))
    }

    fn to(to: To) -> Out {
        Out { to, failed: None }
    }

    fn try_clone(&self) -> io::Result<Out> {
        Ok(Out::to(match &self.to {
            To::Inherit(fd) => To::Inherit(*fd),
            To::File(f) => To::File(f.clone()),
            To::Pipe(p) => To::Pipe(p.try_clone()?),
        }))
    }

    /// The first write (or flush) that failed since the last call, and forgets it.
    pub fn take_failure(&mut self) -> Option<io::Error> {
        self.failed.take().map(|e| *e)
    }

    /// Whether this is a stream whose reader may go (a pipe, the shell's own output), not a
    /// file.
    fn is_stream(&self) -> bool {
        !matches!(self.to, To::File(_))
    }

    /// The child's end: a file is served by a stream server of the shell's (its failures kept
    /// in `targets` for [`Job::wait`] to report).
    fn stdio(self, targets: &mut Vec<Shared>) -> io::Result<Stdio> {
        Ok(match self.to {
            To::Inherit(_) => Stdio::inherit(),
            To::Pipe(p) => Stdio::from(p),
            To::File(f) => {
                let h = std::stream::serve(TargetStream(f.clone()), "redirect")?;
                targets.push(f);
                Stdio::from(h)
            }
        })
    }

    /// Keeps the first failure, in words for a message (a file's with its path).
    fn record<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        let r = r.map_err(|e| match &self.to {
            To::File(t) => t.named(e),
            _ => io::Error::new(e.kind(), describe(&e)),
        });
        if let Err(e) = &r
            && self.failed.is_none()
        {
            self.failed = Some(Box::new(io::Error::new(e.kind(), e.to_string())));
        }
        r
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match &mut self.to {
            To::Inherit(2) => io::stderr().write(buf),
            To::Inherit(_) => io::stdout().write(buf),
            To::File(f) => f.lock().and_then(|mut f| f.write(buf)),
            To::Pipe(p) => p.write(buf),
        };
        self.record(r)
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.to {
            To::Inherit(2) => Ok(()),
            To::Inherit(_) => io::stdout().flush(),
            To::File(f) => f.lock().and_then(|mut f| f.flush()),
            To::Pipe(p) => p.flush(),
        };
        self.record(r)
    }
}

impl Read for In {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            In::Inherit => io::stdin().read(buf),
            In::Null => Ok(0),
            In::File(f) => f.lock()?.read(buf),
            In::Pipe(p) => p.read(buf),
        }
    }
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
    /// Lines entered interactively (for the `history` builtin).
    pub history: Vec<String>,
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
    /// Options, traps, aliases, read-only and local variables ([`builtins`]).
    x: builtins::State,
}

impl Default for Shell {
    fn default() -> Self {
        Shell::new()
    }
}

impl Shell {
    /// A shell whose variables start as the process's environment (all exported).
    pub fn new() -> Shell {
        let mut s = Shell {
            vars: NameMap::new(),
            exported: NameMap::new(),
            name: "sh".into(),
            positional: Vec::new(),
            status: 0,
            functions: NameMap::new(),
            depth: 0,
            loops: 0,
            history: Vec::new(),
            interactive: false,
            expand_failed: false,
            job: JobCtl::new(),
            jobs: Jobs::new(),
            foreground: Arc::new(Mutex::new(JobCtl::new())),
            subshell: false,
            x: builtins::State::default(),
        };
        *s.foreground.lock().unwrap_or_else(|e| e.into_inner()) = s.job.clone();
        for (k, v) in std::env::vars() {
            s.exported.insert(&k, ());
            s.vars.insert(&k, v);
        }
        s.vars.insert("OPTIND", "1".into());
        if !s.vars.contains_key("PATH") {
            s.vars.insert("PATH", "/bin".into());
        }
        if let Ok(cwd) = std::env::current_dir() {
            s.vars.insert("PWD", cwd.to_string_lossy().into_owned());
        }
        s
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
        if name == "PWD" || self.exported.contains_key(name) {
            // The environment children inherit is rebuilt from `exported` at each spawn; PWD
            // also drives std-shim's idea of the working directory.
            if name == "PWD" {
                // Safety (std 2024 signature): the shell is single-threaded here.
                unsafe { std::env::set_var("PWD", value) };
            }
        }
    }

    /// Parses and runs `src`; returns the exit status, and whether `exit` was called.
    pub fn run_script(&mut self, src: &str, io: &mut Streams) -> (i32, bool) {
        match self.parse_script(src) {
            Ok(list) => {
                let flow = self.list(&list, io);
                match flow {
                    Flow::Exit(code) => (code, true),
                    Flow::Interrupt => (self.status, false),
                    _ => (self.status, false),
                }
            }
            Err(e) => {
                let _ = writeln!(io.stderr, "{}: {e}", self.name);
                self.status = 2;
                (2, false)
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
        let tested = !last || p.negate;
        self.x.cond += tested as usize;
        let flow = if p.commands.len() == 1 {
            self.command(&p.commands[0], io)
        } else {
            self.status = self.run_pipeline(&p.commands, io);
            Flow::Next
        };
        self.x.cond -= tested as usize;
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
        sub.job = JobCtl::new();
        sub.job.set_ignored(sub.ignored_signals());
        sub.interactive = false;
        let ctl = sub.job.clone();
        let mut fg = a.clone();
        fg.background = false;
        let text = format!("{} &", crate::jobs_text::and_or(&fg));
        let streams = (|| -> io::Result<Streams> {
            Ok(Streams {
                stdin: In::Null,
                stdout: io.stdout.try_clone()?,
                stderr: io.stderr.try_clone()?,
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
            let mut streams = Streams {
                stdin,
                stdout,
                stderr,
            };
            // An external simple command without redirections of its own runs as a process;
            // everything else on a thread with a copy of the shell.
            match self.external(cmd) {
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
    fn external(&mut self, cmd: &Command) -> Option<(Vec<String>, Env)> {
        let Command::Simple(s) = cmd else { return None };
        if !s.redirects.is_empty() || !s.assignments.is_empty() {
            return None;
        }
        let first = s.words.first()?.as_literal()?;
        if is_builtin(first) || self.functions.contains_key(first) {
            return None;
        }
        let argv = self.expand_words(&s.words);
        let env = self.child_env(&[]);
        Some((argv, env))
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
                match self.redirect(redirects, io) {
                    Ok(mut streams) => {
                        let f = self.compound(c, &mut streams);
                        let _ = streams.stdout.flush();
                        f
                    }
                    Err(msg) => {
                        let _ = writeln!(io.stderr, "{}: {msg}", self.name);
                        self.status = 1;
                        // Under `set -e` this failure is the compound command's own.
                        self.errexit_now()
                    }
                }
            }
        }
    }

    fn compound(&mut self, c: &Compound, io: &mut Streams) -> Flow {
        match c {
            Compound::Group(l) => self.list(l, io),
            Compound::Subshell(l) => {
                let mut sub = self.subshell_copy();
                let f = sub.list(l, io);
                let code = match f {
                    Flow::Exit(code) => code,
                    _ => sub.status,
                };
                self.status = sub.run_exit_trap(code, io);
                self.restore_ignored();
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
                    self.x.cond += 1;
                    let f = self.list(condition, io);
                    self.x.cond -= 1;
                    if f != Flow::Next {
                        break f;
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
                self.status = status;
                flow
            }
            Compound::For { name, words, body } => {
                let items = match words {
                    Some(ws) => self.expand_words(ws),
                    None => self.positional.clone(),
                };
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
                let value = self.expand_single(word);
                self.status = 0;
                for arm in arms {
                    for p in &arm.patterns {
                        let pat = {
                            let mut ctx = Ctx { sh: self };
                            expand::expand_pattern(p, &mut ctx)
                        };
                        if pat.matches(&value) {
                            return self.list(&arm.body, io);
                        }
                    }
                }
                Flow::Next
            }
        }
    }

    fn expand_words(&mut self, words: &[parse::Word]) -> Vec<String> {
        let mut ctx = Ctx { sh: self };
        expand::expand_words(words, &mut ctx)
    }

    fn expand_single(&mut self, word: &parse::Word) -> String {
        let mut ctx = Ctx { sh: self };
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

    /// Opens a command's redirections on top of `io`.
    #[inline(never)]
    fn redirect(&mut self, redirects: &[Redirect], io: &Streams) -> Result<Streams, String> {
        let mut s = io.try_clone().map_err(|e| e.to_string())?;
        for r in redirects {
            let target = self.expand_single(&r.target);
            let opened = match r.op {
                RedirectOp::Read => File::open(&target)
                    .map(|f| Some(Endpoint::In(In::File(Target::new(f, &target))))),
                RedirectOp::Write if self.noclobber(&target) => {
                    return Err(format!("cannot create {target}: File exists"));
                }
                RedirectOp::Write | RedirectOp::Clobber => File::create(&target)
                    .map(|f| Some(Endpoint::Out(Out::file(Target::new(f, &target))))),
                RedirectOp::Append => OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&target)
                    .map(|f| Some(Endpoint::Out(Out::file(Target::new(f, &target))))),
                RedirectOp::Dup => {
                    let from = match target.as_str() {
                        "0" => Endpoint::In(s.stdin.try_clone().map_err(|e| e.to_string())?),
                        "1" => Endpoint::Out(s.stdout.try_clone().map_err(|e| e.to_string())?),
                        "2" => Endpoint::Out(s.stderr.try_clone().map_err(|e| e.to_string())?),
                        "-" => Endpoint::Closed,
                        other => return Err(format!("{other}: bad file descriptor")),
                    };
                    Ok(Some(from))
                }
            };
            let endpoint = opened.map_err(|e| format!("{target}: {}", describe(&e)))?;
            match (r.fd, endpoint) {
                (0, Some(Endpoint::In(i))) => s.stdin = i,
                (0, Some(Endpoint::Closed)) => s.stdin = In::Null,
                (1, Some(Endpoint::Out(o))) => s.stdout = o,
                (2, Some(Endpoint::Out(o))) => s.stderr = o,
                (1 | 2, Some(Endpoint::Closed)) => {
                    let null =
                        File::create("/dev/null").map(|f| Out::file(Target::new(f, "/dev/null")));
                    match (r.fd, null) {
                        (1, Ok(o)) => s.stdout = o,
                        (_, Ok(o)) => s.stderr = o,
                        (_, Err(e)) => {
                            return Err(format!("cannot close fd {}: {}", r.fd, describe(&e)));
                        }
                    }
                }
                (fd, _) if fd > 2 => {
                    return Err(format!("{fd}: only descriptors 0, 1 and 2 exist"));
                }
                (fd, _) => return Err(format!("{fd}: bad redirection")),
            }
        }
        Ok(s)
    }

    // Not inlined (nor are `run_pipeline`, `background`, `builtin`, `spawn` and `redirect`):
    // their locals would be in the frames of `command`, `pipeline` and `and_or`, which nest at
    // every level of a script's nesting (28 KiB thread stacks; the shell's deepest stack is
    // close to that, see `cargo xtask bench budgets`).
    #[inline(never)]
    fn simple(&mut self, s: &Simple, io: &mut Streams) -> Flow {
        self.x.substituted = false;
        let argv = self.expand_words(&s.words);
        let assigns = self.expand_assigns(&s.assignments);
        if std::mem::take(&mut self.expand_failed) {
            // `${x?msg}`: the command is not run; a script ends (POSIX 2.8.1).
            self.status = 2;
            return if self.interactive {
                Flow::Next
            } else {
                Flow::Exit(2)
            };
        }
        if let Some(f) = self.check_assigns(&assigns, io) {
            return f;
        }
        self.trace(&assigns, &argv, io);
        let mut streams = if s.redirects.is_empty() {
            None
        } else {
            match self.redirect(&s.redirects, io) {
                Ok(st) => Some(st),
                Err(msg) => {
                    let _ = writeln!(io.stderr, "{}: {msg}", self.name);
                    self.status = 1;
                    return Flow::Next;
                }
            }
        };
        let io: &mut Streams = match &mut streams {
            Some(st) => st,
            None => io,
        };
        let Some(name) = argv.first().cloned() else {
            // Only assignments (and redirections): they stay in the shell. The status is the
            // last command substitution's, or 0.
            for (k, v) in &assigns {
                self.set_var(k, v);
            }
            if !self.x.substituted {
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
        if let Some(tool) = crate::applet::find(&argv[0], env) {
            return match crate::applet::start(
                tool,
                argv.to_vec(),
                env.to_vec(),
                io,
                self.job.clone(),
                self.name.clone(),
            ) {
                Ok(r) => Ok(Job::InShell(r)),
                Err(e) => {
                    let _ = writeln!(io::stderr(), "{}: {}: {}", self.name, argv[0], describe(&e));
                    Err(126)
                }
            };
        }
        let Streams {
            stdin,
            stdout,
            mut stderr,
        } = io;
        let name = &argv[0];
        let mut cmd = Process::new(name);
        cmd.args(&argv[1..])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let err = match stderr.try_clone() {
            Ok(e) => e,
            Err(_) => Out::inherit(2),
        };
        let mut pumps = Vec::new();
        let mut targets = Vec::new();
        let stdio = (|| -> io::Result<(Stdio, Stdio, Stdio)> {
            Ok((
                stdin.stdio(&mut pumps)?,
                stdout.stdio(&mut targets)?,
                err.stdio(&mut targets)?,
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
                let _ = writeln!(stderr, "{}: {name}: {}", self.name, describe(&e));
                Err(126)
            }
        }
    }

    #[inline(never)]
    fn builtin(&mut self, name: &str, args: &[String], io: &mut Streams) -> Flow {
        let mut status = 0;
        let mut flow = Flow::Next;
        let err = |io: &mut Streams, msg: String| {
            let _ = writeln!(io.stderr, "{msg}");
        };
        // A failure of an earlier command's is not this builtin's (see the end).
        let _ = io.stdout.take_failure();
        match name {
            ":" | "true" => {}
            "false" => status = 1,
            "echo" => {
                // A failure is reported at the end, as every builtin's.
                let _ = io.stdout.write_all(&echo::render(args));
            }
            "pwd" => {
                let cwd = std::env::current_dir()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "/".into());
                let _ = writeln!(io.stdout, "{cwd}");
            }
            "cd" => {
                let target = match args.first().map(String::as_str) {
                    None => self.var("HOME").unwrap_or("/").to_string(),
                    Some("-") => self.var("OLDPWD").unwrap_or("/").to_string(),
                    Some(d) => d.to_string(),
                };
                let old = self.var("PWD").unwrap_or("/").to_string();
                match std::fs::metadata(&target) {
                    Ok(m) if m.is_dir() => match std::env::set_current_dir(&target) {
                        Ok(()) => {
                            let new = std::env::current_dir()
                                .map(|p| p.to_string_lossy().into_owned())
                                .unwrap_or(target);
                            self.set_var("OLDPWD", &old);
                            self.set_var("PWD", &new);
                        }
                        Err(e) => {
                            err(io, format!("cd: {target}: {}", describe(&e)));
                            status = 1;
                        }
                    },
                    Ok(_) => {
                        err(io, format!("cd: {target}: Not a directory"));
                        status = 1;
                    }
                    Err(e) => {
                        err(io, format!("cd: {target}: {}", describe(&e)));
                        status = 1;
                    }
                }
            }
            "export" | "readonly" => (status, flow) = self.export_builtin(name, args, io),
            "unset" => (status, flow) = self.unset_builtin(args, io),
            "local" => (status, flow) = self.local_builtin(args, io),
            "eval" => (status, flow) = self.eval_builtin(args, io),
            "command" => (status, flow) = self.command_builtin(args, io),
            "trap" => (status, flow) = self.trap_builtin(args, io),
            "getopts" => status = self.getopts_builtin(args, io),
            "alias" | "unalias" => status = self.alias_builtin(name, args, io),
            "hash" => status = self.hash_builtin(args, io),
            "umask" => status = self.umask_builtin(args, io),
            "ulimit" => status = self.ulimit_builtin(args, io),
            "times" => status = self.times_builtin(io),
            "type" => status = self.type_builtin(args, io),
            "exit" => {
                let code = match args.first() {
                    None => self.status,
                    Some(c) => c.parse::<i32>().unwrap_or_else(|_| {
                        err(io, format!("exit: {c}: numeric argument required"));
                        2
                    }),
                };
                flow = Flow::Exit(code & 0xFF);
                status = code & 0xFF;
            }
            "return" => {
                status = args
                    .first()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(self.status);
                flow = Flow::Return;
            }
            "break" | "continue" => {
                let n = args
                    .first()
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(1)
                    .max(1);
                if self.loops == 0 {
                    err(io, format!("{name}: only meaningful in a loop"));
                } else {
                    let n = n.min(self.loops);
                    flow = if name == "break" {
                        Flow::Break(n)
                    } else {
                        Flow::Continue(n)
                    };
                }
            }
            "shift" => (status, flow) = self.shift_builtin(args, io),
            "set" => (status, flow) = self.set_builtin(args, io),
            "test" | "[" => {
                let mut a = args.to_vec();
                if name == "[" {
                    if a.last().map(String::as_str) != Some("]") {
                        err(io, "[: missing ]".to_string());
                        self.status = 2;
                        return Flow::Next;
                    }
                    a.pop();
                }
                status = match crate::test_expr::eval(&a, &mut file_query) {
                    Ok(true) => 0,
                    Ok(false) => 1,
                    Err(e) => {
                        err(io, format!("{name}: {e}"));
                        2
                    }
                };
            }
            "read" => {
                let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                let mut line = Vec::new();
                let mut b = [0u8; 1];
                // Byte by byte, so that what follows the line stays for the next reader.
                let got = loop {
                    match io.stdin.read(&mut b) {
                        Ok(0) => break !line.is_empty(),
                        Ok(_) if b[0] == b'\n' => break true,
                        Ok(_) => line.push(b[0]),
                        Err(_) => break false,
                    }
                };
                let text = String::from_utf8_lossy(&line).into_owned();
                let mut fields: Vec<&str> = text.split_whitespace().collect();
                let names: Vec<String> = if names.is_empty() {
                    vec!["REPLY".into()]
                } else {
                    names.into_iter().cloned().collect()
                };
                for (i, n) in names.iter().enumerate() {
                    let v = if i + 1 == names.len() {
                        fields.join(" ")
                    } else if fields.is_empty() {
                        String::new()
                    } else {
                        fields.remove(0).to_string()
                    };
                    self.set_var(n, &v);
                }
                status = if got { 0 } else { 1 };
            }
            "source" | "." => match args.first() {
                None => {
                    err(io, format!("{name}: filename argument required"));
                    status = 2;
                }
                Some(f) => match std::fs::read_to_string(f) {
                    Ok(src) if !too_deep(self.depth) => {
                        self.depth += 1;
                        let (code, exited) = self.run_script(&src, io);
                        self.depth -= 1;
                        status = code;
                        if exited {
                            flow = Flow::Exit(code);
                        }
                    }
                    Ok(_) => {
                        err(io, format!("{name}: nested too deeply"));
                        status = 2;
                    }
                    Err(e) => {
                        // A special builtin's error: a script ends (POSIX 2.8.1).
                        err(io, format!("{name}: {f}: {}", describe(&e)));
                        status = 2;
                        flow = self.special_error();
                    }
                },
            },
            "which" => {
                for a in args {
                    let what = if self.functions.contains_key(a) {
                        Some(format!("{a} is a function"))
                    } else if is_builtin(a) {
                        Some(format!("{a} is a shell builtin"))
                    } else {
                        self.lookup(a).map(|p| {
                            if name == "which" {
                                p
                            } else {
                                format!("{a} is {p}")
                            }
                        })
                    };
                    match what {
                        Some(w) => {
                            let _ = writeln!(io.stdout, "{w}");
                        }
                        None => {
                            err(io, format!("{name}: {a}: not found"));
                            status = 1;
                        }
                    }
                }
            }
            "history" => {
                for (i, h) in self.history.iter().enumerate() {
                    let _ = writeln!(io.stdout, "{:5}  {h}", i + 1);
                }
            }
            "jobs" | "wait" | "fg" | "bg" | "kill" => {
                status = self.job_builtin(name, args, io);
            }
            "ns" | "mount" | "umount" | "bind" => {
                let cwd = self.var("PWD").unwrap_or("/").to_string();
                let mut out = Vec::new();
                let mut errs = Vec::new();
                status = crate::nsbuiltins::run(name, args, &cwd, &mut out, &mut errs);
                let _ = io.stdout.write_all(&out);
                let _ = io.stderr.write_all(&errs);
            }
            "help" => {
                let _ = writeln!(
                    io.stdout,
                    "eurali sh: POSIX-style shell. Builtins: {}",
                    BUILTINS.join(" ")
                );
            }
            _ => {
                err(io, format!("{}: {name}: builtin not handled", self.name));
                status = 2;
            }
        }
        // What the builtin wrote goes out now; a write of it that failed fails the builtin.
        let _ = io.stdout.flush();
        if let Some(e) = io.stdout.take_failure() {
            // Said here, not again as the shell exits (std-shim's close_stdout).
            std::rt::clear_stdout_error();
            if e.kind() == io::ErrorKind::BrokenPipe && io.stdout.is_stream() {
                // Nobody reads any more. A subshell or a script ends, as SIGPIPE ends them
                // (`while :; do echo y; done | head -n 1` must end); the interactive shell
                // goes on, with a failed status.
                if self.subshell || !self.interactive {
                    // A kill of this shell cuts its output too: then the kill's status it is.
                    std::rt::wait_for_pending_kill();
                    self.status = 128 + std::process::SIGPIPE as i32;
                    return Flow::Exit(self.status);
                }
            } else {
                err(io, format!("{name}: write error: {e}"));
            }
            if status == 0 {
                status = 1;
            }
        }
        self.status = status;
        flow
    }

    /// `jobs`, `wait`, `fg`, `bg`, `kill`.
    fn job_builtin(&mut self, name: &str, args: &[String], io: &mut Streams) -> i32 {
        let jobs = self.jobs.clone();
        let mut table = jobs.lock().unwrap_or_else(|e| e.into_inner());
        match name {
            "jobs" => {
                for l in table.report_all() {
                    let _ = writeln!(io.stdout, "{l}");
                }
                0
            }
            "bg" => {
                let spec = args.first().map(String::as_str).unwrap_or("%%");
                match table.find(spec) {
                    Some(j) => {
                        let _ = writeln!(
                            io.stderr,
                            "{}: job {} already in background",
                            self.name, j.n
                        );
                        0
                    }
                    None => {
                        let _ = writeln!(io.stderr, "{}: bg: {spec}: no such job", self.name);
                        1
                    }
                }
            }
            "wait" => {
                let specs: Vec<String> = if args.is_empty() {
                    table.numbers().iter().map(|n| format!("%{n}")).collect()
                } else {
                    args.to_vec()
                };
                let mut status = 0;
                for spec in specs {
                    let Some(n) = table.find(&spec).map(|j| j.n) else {
                        // POSIX: an unknown process waits for nothing and gives 127.
                        status = 127;
                        continue;
                    };
                    let Some(mut job) = table.take(n) else {
                        continue;
                    };
                    // Waiting must not hold the table (the job may start jobs of its own).
                    drop(table);
                    *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = job.ctl.clone();
                    status = job.wait();
                    *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = self.job.clone();
                    table = jobs.lock().unwrap_or_else(|e| e.into_inner());
                }
                status
            }
            "fg" => {
                let spec = args.first().map(String::as_str).unwrap_or("%%");
                let Some(n) = table.find(spec).map(|j| j.n) else {
                    let _ = writeln!(io.stderr, "{}: fg: {spec}: no such job", self.name);
                    return 1;
                };
                let Some(mut job) = table.take(n) else {
                    return 1;
                };
                drop(table);
                let _ = writeln!(io.stdout, "{}", job.text.trim_end_matches(" &"));
                let _ = io.stdout.flush();
                *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = job.ctl.clone();
                let status = job.wait();
                *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = self.job.clone();
                status
            }
            _ => {
                // kill [-s SIG | -SIG] target...
                let mut sig = std::process::SIGTERM;
                let mut rest = args;
                match rest.first().map(String::as_str) {
                    Some("-l") => {
                        let names: Vec<&str> =
                            crate::jobs::SIGNALS.iter().map(|(n, _)| *n).collect();
                        let _ = writeln!(io.stdout, "{}", names.join(" "));
                        return 0;
                    }
                    Some("-s") => match rest.get(1).and_then(|s| crate::jobs::parse_signal(s)) {
                        Some(s) => {
                            sig = s;
                            rest = &rest[2..];
                        }
                        None => {
                            let _ = writeln!(io.stderr, "{}: kill: bad signal", self.name);
                            return 2;
                        }
                    },
                    Some(s) if s.starts_with('-') && s.len() > 1 => {
                        match crate::jobs::parse_signal(&s[1..]) {
                            Some(v) => {
                                sig = v;
                                rest = &rest[1..];
                            }
                            None => {
                                let _ = writeln!(io.stderr, "{}: kill: {s}: bad signal", self.name);
                                return 2;
                            }
                        }
                    }
                    _ => {}
                }
                if rest.is_empty() {
                    let _ = writeln!(
                        io.stderr,
                        "{}: kill: usage: kill [-s SIGNAL | -SIGNAL] %JOB | ID ...",
                        self.name
                    );
                    return 2;
                }
                let mut status = 0;
                for spec in rest {
                    match table.find(spec) {
                        Some(j) => j.ctl.signal(sig),
                        None => {
                            let _ = writeln!(
                                io.stderr,
                                "{}: kill: {spec}: no such job (eurali's kill reaches the shell's own jobs)",
                                self.name
                            );
                            status = 1;
                        }
                    }
                }
                status
            }
        }
    }

    /// Reports background jobs that ended (an interactive shell does, before its prompt).
    pub fn notify_jobs(&mut self) {
        let lines = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report_done();
        for l in lines {
            eprintln!("{l}");
        }
    }

    /// The path `$PATH` gives for a command name.
    pub fn lookup(&self, name: &str) -> Option<String> {
        if name.contains('/') {
            return std::fs::metadata(name)
                .ok()
                .filter(|m| m.is_file())
                .map(|_| name.to_string());
        }
        let path = self.var("PATH").unwrap_or("/bin");
        path.split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{name}", d.trim_end_matches('/')))
            .find(|p| std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(false))
    }

    /// Runs a command substitution: the list with stdout into a pipe that a helper thread reads.
    fn substitute(&mut self, script: &List) -> String {
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
        let mut io = Streams {
            stdin: In::Inherit,
            stdout: Out::pipe(w),
            stderr: Out::inherit(2),
        };
        let code = match sub.list(script, &mut io) {
            Flow::Exit(c) => c,
            _ => sub.status,
        };
        let code = sub.run_exit_trap(code, &mut io);
        let _ = io.stdout.flush();
        drop(io);
        self.status = code;
        self.x.substituted = true;
        self.restore_ignored();
        String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
    }
}

enum Endpoint {
    In(In),
    Out(Out),
    Closed,
}

fn file_query(q: crate::test_expr::FileQuery, p: &str) -> bool {
    use crate::test_expr::FileQuery as Q;
    match std::fs::metadata(p) {
        Err(_) => false,
        Ok(m) => match q {
            Q::Exists | Q::Readable => true,
            Q::File => m.is_file(),
            Q::Dir => m.is_dir(),
            Q::NonEmpty => !m.is_empty(),
            Q::Writable => !m.permissions().readonly(),
        },
    }
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

/// [`describe`] for an error of a file's: its server gone reads as an I/O error.
pub(crate) fn file_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::BrokenPipe => "Input/output error (its file server ended)".into(),
        _ => describe(e),
    }
}

/// GNU-ish wording for an error.
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "No such file or directory".into(),
        io::ErrorKind::PermissionDenied => "Permission denied".into(),
        io::ErrorKind::IsADirectory => "Is a directory".into(),
        io::ErrorKind::NotADirectory => "Not a directory".into(),
        io::ErrorKind::AlreadyExists => "File exists".into(),
        io::ErrorKind::StorageFull => "No space left on device".into(),
        io::ErrorKind::FileTooLarge => "File too large".into(),
        _ => e.to_string(),
    }
}

/// The builtins.
pub const BUILTINS: &[&str] = &[
    ":", ".", "[", "alias", "bg", "bind", "break", "cd", "command", "continue", "echo", "eval",
    "exit", "export", "false", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "local",
    "mount", "ns", "pwd", "read", "readonly", "return", "set", "shift", "source", "test", "times",
    "trap", "true", "type", "ulimit", "umask", "umount", "unalias", "unset", "wait", "which",
];

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// What expansion needs, answered by the shell.
struct Ctx<'a> {
    sh: &'a mut Shell,
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
        self.sh.substitute(script)
    }
    fn assign(&mut self, name: &str, value: &str) {
        if parse::is_name(name) {
            self.sh.set_var(name, value);
        } else {
            self.param_error(name, "cannot assign in this way");
        }
    }
    fn param_error(&mut self, name: &str, message: &str) {
        eprintln!("{}: {name}: {message}", self.sh.name);
        self.sh.expand_failed = true;
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
        let rd = std::fs::read_dir(dir).ok()?;
        Some(
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
        )
    }
}

/// `echo` as the builtin prints it (same rules as /bin/echo).
mod echo {
    pub fn render(args: &[String]) -> Vec<u8> {
        let mut newline = true;
        let mut words = args;
        while let Some(first) = words.first() {
            if first.len() > 1 && first.starts_with('-') && first[1..].chars().all(|c| c == 'n') {
                newline = false;
                words = &words[1..];
            } else {
                break;
            }
        }
        let mut out = words.join(" ").into_bytes();
        if newline {
            out.push(b'\n');
        }
        out
    }
}
