//! `std::process::Command`: starting programs as child processes and waiting for them.
//!
//! What the kernel gives: `exec` of an ELF image with two handles (the child's stdin and stdout)
//! and a parameter string (namespace, mounts, args, env; ABI §4.6), and a thread id. Everything
//! else is built here, std-shaped:
//!
//! - **Finding the program.** A name without `/` is looked up in each directory of `PATH`
//!   (default `/bin`); a path is resolved against the working directory. Its bytes are read with
//!   [`crate::fs`] and handed to exec: the ELF on the real kernel, a program descriptor on the
//!   in-process stub (`kernel_stub::Kernel::program_image`).
//! - **Standard streams.** stdin and stdout are exec's two handles; stderr is mounted at
//!   [`crate::rt::STDERR_PATH`] in the child's namespace. [`Stdio::inherit`] passes a copy of ours,
//!   [`Stdio::piped`] a [`crate::pipe`], [`Stdio::null`] a [`crate::stream::Null`] server; a
//!   [`File`] becomes a stream server thread forwarding to the file; pipe ends and other
//!   children's pipe ends pass as they are (pipelines).
//! - **Namespace** (eurali's own): a copy of ours (the default), ours shared, or a new empty one
//!   ([`NamespaceMode`]), plus mounts of handles ([`Command::mount`], [`Command::namespace`]).
//! - **Exit status.** A rendezvous per child, one end mounted at [`crate::rt::STATUS_PATH`] in
//!   the child's namespace, the other kept in [`Child`]. The child's runtime sends
//!   `Short(EXIT_STATUS, code, 0)` there as it exits; the send waits until [`Child::wait`] takes
//!   it (or until the `Child` is dropped). A child that vanishes without a status (a fault on the
//!   stub, a thread that called `exit_thread` directly) is noticed by the liveness watcher
//!   ([`crate::rt::watch`]): `wait` gets CLOSED and returns an [`ExitStatus`] without a code. So
//!   `wait` never hangs on a dead child.
//!
//! - **Kill.** The kernel has none. A second rendezvous per child, mounted at
//!   [`crate::rt::CONTROL_PATH`], is served by the child's runtime: [`Child::kill`] (and a
//!   [`Killer`] taken from the child, for another thread such as a shell's Ctrl-C handler) sends
//!   a signal number there, and the child reports `128 + signo` and ends (cooperatively: see
//!   [`crate::rt`]). A killed child reads as status `128 + signo`, as in Unix shells.
//!
//! What is missing: process ids ([`Child::id`] is the id of the child's first thread).
//!
//! Here: [`Command`], the builder, and the spawn; `command/stdio.rs`: what a child's streams
//! are connected to ([`Stdio`]); `command/child.rs`: the started child ([`Child`]: wait, kill,
//! output).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use libeurali::abi::layout::ARGS_ENV_LIMIT;
use libeurali::params::{ARGS_MAX, ExecParams};
use libeurali::{Handle, Message, Word, msgtype};

use crate::io;
use crate::pipe::{PipeCut, PipeReader, PipeWriter};
use crate::rt::{ARGS_PATH, CONTROL_PATH, STATUS_PATH, STDERR_PATH};
use crate::sync::{Arc, Mutex};

mod child;
mod stdio;

use child::WaitState;
pub use child::{Child, ExitStatus, Killer};
use stdio::StdioInner;
pub use stdio::{ChildStderr, ChildStdin, ChildStdout, Stdio};

/// Where a child's namespace comes from (eurali's addition to std's `Command`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NamespaceMode {
    /// A copy of this process's mount list, made at spawn: later mounts on either side are not
    /// seen by the other (exec's `C`). The default.
    #[default]
    Copy,
    /// This process's own mount table, shared: mounts by either side are seen by both (`S`).
    Share,
    /// An empty namespace holding only the mounts given to the command (`N`).
    New,
}

/// What [`Command::output`] collects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A program to start, std-shaped (see the module doc).
pub struct Command {
    program: String,
    args: Vec<String>,
    env_clear: bool,
    /// Changes to the inherited environment, in order: `None` removes.
    env: Vec<(String, Option<String>)>,
    cwd: Option<String>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    mode: NamespaceMode,
    mounts: Vec<(String, Handle)>,
    perm_io: bool,
    /// No control channel for the child ([`Command::killable`]).
    unkillable: bool,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.program)?;
        for a in &self.args {
            write!(f, " {a:?}")?;
        }
        Ok(())
    }
}

/// Which of the three streams (for defaults and messages).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Stdin,
    Stdout,
    Stderr,
}

/// The parent's end of a piped stream.
enum ParentEnd {
    Writer(PipeWriter, PipeCut),
    Reader(PipeReader, PipeCut),
}

impl Command {
    /// A command for `program`: a name searched in `PATH`, or a path.
    pub fn new<S: AsRef<str>>(program: S) -> Command {
        Command {
            program: String::from(program.as_ref()),
            args: Vec::new(),
            env_clear: false,
            env: Vec::new(),
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            mode: NamespaceMode::Copy,
            mounts: Vec::new(),
            perm_io: false,
            unkillable: false,
        }
    }

    pub fn arg<S: AsRef<str>>(&mut self, arg: S) -> &mut Command {
        self.args.push(String::from(arg.as_ref()));
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Sets a variable in the child's environment (which is this process's by default).
    pub fn env<K: AsRef<str>, V: AsRef<str>>(&mut self, key: K, val: V) -> &mut Command {
        self.env
            .push((String::from(key.as_ref()), Some(String::from(val.as_ref()))));
        self
    }

    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    pub fn env_remove<K: AsRef<str>>(&mut self, key: K) -> &mut Command {
        self.env.push((String::from(key.as_ref()), None));
        self
    }

    /// Starts the child with an empty environment (plus what is set after this call).
    pub fn env_clear(&mut self) -> &mut Command {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// The child's working directory (its `PWD`), resolved against ours.
    pub fn current_dir<P: AsRef<crate::path::Path>>(&mut self, dir: P) -> &mut Command {
        self.cwd = Some(String::from(dir.as_ref().as_str()));
        self
    }

    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stdin = Some(cfg.into());
        self
    }

    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stdout = Some(cfg.into());
        self
    }

    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stderr = Some(cfg.into());
        self
    }

    /// Where the child's namespace comes from (default: a copy of ours).
    pub fn namespace_mode(&mut self, mode: NamespaceMode) -> &mut Command {
        self.mode = mode;
        self
    }

    /// Mounts `h` at `path` in the child's namespace (in ours too with
    /// [`NamespaceMode::Share`]). A copied mount at the same path is replaced. The handle goes to
    /// the first child spawned.
    pub fn mount<P: AsRef<str>>(&mut self, path: P, h: Handle) -> &mut Command {
        let p = vfs_client::path::resolve("/", path.as_ref()).unwrap_or_else(|_| String::from("/"));
        self.mounts.push((p, h));
        self
    }

    /// Starts the child in a new namespace holding `ns`'s mounts (and those given with
    /// [`Command::mount`]): what login does with a user's namespace spec.
    pub fn namespace(&mut self, ns: vfs_client::ns::Namespace) -> &mut Command {
        self.mode = NamespaceMode::New;
        self.mounts.extend(ns.into_mounts());
        self
    }

    /// Asks for I/O privilege for the child (granted only if this process has it; drivers).
    pub fn perm_io(&mut self, on: bool) -> &mut Command {
        self.perm_io = on;
        self
    }

    /// Whether the child can be killed ([`Child::kill`]; the default). A child that cannot gets
    /// no control channel, so its runtime runs no thread to serve one: for servers and drivers
    /// that are never killed (eurali extension). Each thread costs the kernel 8 KiB of its
    /// 1 MiB heap, which also takes every exec's copy of its ELF. A kill of such a child fails.
    pub fn killable(&mut self, on: bool) -> &mut Command {
        self.unkillable = !on;
        self
    }

    pub fn get_program(&self) -> &str {
        &self.program
    }

    pub fn get_args(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(String::as_str)
    }

    /// Starts the child; by default its streams are ours.
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.spawn_with(Defaults::Inherit)
    }

    /// Starts the child and waits for it; its streams are ours by default.
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        child.wait()
    }

    /// Starts the child with stdout and stderr captured (and stdin null) unless set otherwise,
    /// reads both to the end concurrently, and waits for it.
    pub fn output(&mut self) -> io::Result<Output> {
        let child = self.spawn_with(Defaults::Capture)?;
        child.wait_with_output()
    }

    fn spawn_with(&mut self, default: Defaults) -> io::Result<Child> {
        crate::rt::checkpoint();
        let path = self.find_program()?;
        let image = crate::fs::read(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{}: cannot read {path}: {e}", self.program),
            )
        })?;
        match classify(&image) {
            Image::Program => {}
            Image::Script { interpreter, arg } => {
                return self.spawn_script(default, &path, &interpreter, arg.as_deref());
            }
            Image::Text => return self.spawn_script(default, &path, "/bin/sh", None),
            Image::Other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {path}: cannot execute: not a program", self.program),
                ));
            }
        }
        // In `/proc` before it starts: a user with as many processes as `/proc/limit` says gets
        // EAGAIN here instead of a process (the child takes the entry over, or it goes when the
        // start fails: `Registration`'s drop).
        let mut entry = self.register()?;
        let (params, overflow) = self.base_params(entry.0)?;
        let (stdin, stdin_end) = self.child_stream(Which::Stdin, default)?;
        let (stdout, stdout_end) = self.child_stream(Which::Stdout, default)?;
        let (stderr, stderr_end) = self.child_stream(Which::Stderr, default)?;
        let (status, status_child) = libeurali::new_rendezvous()?;
        let (control, control_child) = libeurali::new_rendezvous()?;
        let status = Arc::new(status);
        let control = Arc::new(control);
        let watch = crate::rt::watch(status.clone())?;
        let args_parent = match overflow {
            Some(_) => {
                let (parent, child) = libeurali::new_rendezvous()?;
                self.mounts.push((String::from(ARGS_PATH), child));
                Some(parent)
            }
            None => None,
        };
        if self.unkillable {
            // Nobody serves it: a kill's send finds only our end and fails at once.
            drop(control_child);
        } else {
            self.mounts
                .push((String::from(CONTROL_PATH), control_child));
        }
        let cuts: Arc<[PipeCut]> = [&stdin_end, &stdout_end, &stderr_end]
            .into_iter()
            .flatten()
            .map(ParentEnd::cut)
            .collect();

        let child = crate::rt::with_spawn_lock(|| {
            self.exec_locked(&path, &image, params, [stdin, stdout, stderr], status_child)
        })
        .inspect(|_| {
            if let (Some(h), Some(bytes)) = (args_parent, overflow) {
                send_args(h, &bytes);
            }
        })
        .map(|tid| Child {
            stdin: stdin_end.and_then(ParentEnd::writer).map(ChildStdin),
            stdout: stdout_end.and_then(ParentEnd::reader).map(ChildStdout),
            stderr: stderr_end.and_then(ParentEnd::reader).map(ChildStderr),
            tid,
            control: control.clone(),
            cuts,
            wait: Mutex::new(WaitState::Channel(status, watch)),
        })?;
        crate::rt::add_child(child.tid, control);
        entry.0 = 0;
        Ok(child)
    }

    /// Registers the child in `/proc` (`USER\tcommand line`) when we are a user's (not root's
    /// nor the system's, whose children are not limited and register themselves), so that the
    /// per-user limit applies before it exists; [`Registration`] 0 where nothing was made. The
    /// user is the one we count against (`rt::limit_user`), inherited down the tree: neither a
    /// shell's `unset USER` nor `USER=root cmd` takes a command out of its user's count.
    fn register(&self) -> io::Result<Registration> {
        let user = crate::rt::limit_user()
            .or_else(|| crate::env::var("USER").ok())
            .unwrap_or_default();
        if self.mode == NamespaceMode::New || user.is_empty() || user == "root" {
            // (In a new namespace its `/proc`, if any, is not ours.)
            return Ok(Registration(0));
        }
        let mut command = self.program.clone();
        for a in &self.args {
            command.push(' ');
            command.push_str(a);
        }
        match crate::rt::try_register_entry(&user, &command) {
            Ok(pid) => Ok(Registration(pid.unwrap_or(0))),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                match crate::rt::user_process_limit() {
                    Some((n, None)) => format!("resource temporarily unavailable: {n} processes"),
                    Some((n, Some(all))) => format!(
                        "resource temporarily unavailable: {n} processes, {all} of all users"
                    ),
                    None => String::from("resource temporarily unavailable: too many processes"),
                },
            )),
        }
    }

    /// Runs the script at `path` with its interpreter: `interpreter [arg] path args...`, as Unix's
    /// exec does for `#!` (and execvp for other text files, with /bin/sh). The interpreter
    /// itself must be a program, not another script.
    fn spawn_script(
        &mut self,
        default: Defaults,
        path: &str,
        interpreter: &str,
        arg: Option<&str>,
    ) -> io::Result<Child> {
        // A missing interpreter is the script's fault, not "command not found" (status 126 in
        // a shell, as for any file that cannot be executed).
        let bytes = crate::fs::read(interpreter).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: bad interpreter {interpreter}: {e}", self.program),
            )
        })?;
        if !matches!(classify(&bytes), Image::Program) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: bad interpreter {interpreter}: not a program",
                    self.program
                ),
            ));
        }
        let mut args: Vec<String> = arg.map(String::from).into_iter().collect();
        args.push(String::from(path));
        args.extend(self.args.iter().cloned());
        let saved = core::mem::replace(&mut self.program, String::from(interpreter));
        let saved_args = core::mem::replace(&mut self.args, args);
        let r = self.spawn_with(default);
        self.program = saved;
        self.args = saved_args;
        r
    }

    /// The namespace items and exec itself, under the process's spawn lock (see
    /// [`crate::rt::with_spawn_lock`]: a shared-namespace spawn puts the child's status and
    /// stderr mounts into our own table until the child takes them, and no other child may copy
    /// or take them meanwhile).
    fn exec_locked(
        &mut self,
        path: &str,
        image: &[u8],
        params: ExecParams,
        [stdin, stdout, stderr]: [Handle; 3],
        status_child: Handle,
    ) -> io::Result<u64> {
        let mut params = match self.mode {
            NamespaceMode::Copy => self.copy_selector(params)?,
            NamespaceMode::Share => params.share(),
            NamespaceMode::New => params.new_namespace(),
        };
        let mut mounts = core::mem::take(&mut self.mounts);
        mounts.push((String::from(STATUS_PATH), status_child));
        mounts.push((String::from(STDERR_PATH), stderr));
        // A packed program goes as its head, its payload after it in a chunk (libeurali::sfx,
        // "Exec without the payload"): the kernel's heap copies 12 KB instead of the file.
        let split = libeurali::sfx::split(image);
        let payload = match split {
            Some(_) => {
                let (ours, child) = libeurali::new_rendezvous()?;
                mounts.push((String::from(libeurali::sfx::PAYLOAD_PATH), child));
                Some(ours)
            }
            None => None,
        };
        for (p, h) in &mounts {
            params = params.mount(h.raw(), p).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: cannot mount at {p:?}", self.program),
                )
            })?;
        }
        // The heap fence, last (libeurali::params::heap_fence_path): both ends of a fresh
        // rendezvous that nobody serves go to the child, which removes the mount left at once.
        let fence = libeurali::new_rendezvous().ok();
        if let Some((ref a, ref b)) = fence {
            params = params.heap_fence([a.raw(), b.raw()]).map_err(|_| {
                io::Error::const_msg(io::ErrorKind::InvalidInput, "exec parameters")
            })?;
        }
        let params = params.finish().map_err(|_| {
            io::Error::const_msg(
                io::ErrorKind::InvalidInput,
                "exec parameters longer than the kernel takes (64 KiB)",
            )
        })?;
        // From here the kernel owns the mounted handles by number, whether exec works or not
        // (§4.6: it loses them on failure).
        for (_, h) in mounts {
            h.into_raw();
        }
        if let Some((a, b)) = fence {
            a.into_raw();
            b.into_raw();
        }
        let file = split.as_ref().map_or(image, |(head, _)| head.as_slice());
        let tid = libeurali::exec(file, stdin, stdout, &params, self.perm_io).map_err(|e| {
            match e {
                // The real kernel's 1 MiB heap has no piece for the copy of the file (threads'
                // kernel stacks fill it): a moment's shortage, as EAGAIN, not this process's
                // memory.
                libeurali::Error::Memory => io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{}: cannot start {path}: resource temporarily unavailable: \
                         the kernel's memory is full",
                        self.program
                    ),
                ),
                e => io::Error::new(
                    io::Error::from(e).kind(),
                    format!("{}: cannot start {path}: {}", self.program, e.name()),
                ),
            }
        })?;
        if let (Some(ours), Some((_, bytes))) = (payload, &split) {
            // The child's unpacker waits for it before anything of the program runs; a child
            // that died first closes its end (CLOSED here).
            let sent = libeurali::MemoryChunk::from_bytes(bytes).and_then(|c| {
                libeurali::call_send(
                    &ours,
                    Message::Long(
                        libeurali::msgtype::SFX_PAYLOAD,
                        Word::Value(bytes.len() as u64),
                        Word::Chunk(c),
                    ),
                )
                .map_err(|e| e.error)
            });
            if let Err(e) = sent {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!(
                        "{}: cannot start {path}: its payload: {}",
                        self.program,
                        e.name()
                    ),
                ));
            }
        }
        if self.mode == NamespaceMode::Share {
            wait_for_take();
        }
        Ok(tid)
    }

    /// The program's path: a name searched in `PATH` (the child's, if set here), or a path
    /// resolved against the working directory.
    fn find_program(&self) -> io::Result<String> {
        let not_found = |msg: String| io::Error::new(io::ErrorKind::NotFound, msg);
        if self.program.is_empty() {
            return Err(not_found(String::from("empty program name")));
        }
        if self.program.contains('/') {
            let p = crate::fs::resolve(crate::path::Path::new(&self.program))?;
            return match crate::fs::metadata(&p) {
                Ok(m) if m.is_file() => Ok(p),
                Ok(_) => Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{}: not a file", self.program),
                )),
                Err(e) if could_not_look(&e) => Err(e),
                Err(_) => Err(not_found(format!("{}: no such file", self.program))),
            };
        }
        let path = match self.env.iter().rev().find(|(k, _)| k == "PATH") {
            Some((_, v)) => v.clone(),
            None if self.env_clear => None,
            None => crate::env::var("PATH").ok(),
        }
        .unwrap_or_else(|| String::from("/bin"));
        let cwd = crate::env::cwd_string();
        // A directory whose server refused to look (busy: the client's share of its sessions
        // is taken) is not a directory without the program: say so rather than "not found".
        let mut refused = None;
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let Ok(p) = vfs_client::path::resolve(&cwd, &format!("{dir}/{}", self.program)) else {
                continue;
            };
            match crate::fs::metadata(&p) {
                Ok(m) if m.is_file() => return Ok(p),
                Err(e) if refused.is_none() && could_not_look(&e) => {
                    refused = Some(io::Error::new(e.kind(), format!("{e} (looking in {dir})")));
                }
                _ => {}
            }
        }
        if let Some(e) = refused {
            return Err(e);
        }
        Err(not_found(format!(
            "{}: program not found (searched PATH={path})",
            self.program
        )))
    }

    /// The child's environment: ours (unless cleared) with this command's changes, `PWD` last.
    fn child_env(&self) -> io::Result<Vec<(String, String)>> {
        let mut vars: Vec<(String, String)> = if self.env_clear {
            Vec::new()
        } else {
            crate::env::vars().collect()
        };
        for (k, v) in &self.env {
            vars.retain(|(key, _)| key != k);
            if let Some(v) = v {
                vars.push((k.clone(), v.clone()));
            }
        }
        if let Some(dir) = &self.cwd {
            let p = vfs_client::path::resolve(&crate::env::cwd_string(), dir).map_err(|_| {
                io::Error::const_msg(io::ErrorKind::InvalidInput, "invalid working directory")
            })?;
            if self.mode != NamespaceMode::New {
                // The child sees our tree: a missing directory is an error now, as in std.
                match crate::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotADirectory,
                            format!("current_dir {dir}: not a directory"),
                        ));
                    }
                    Err(e) => {
                        return Err(io::Error::new(e.kind(), format!("current_dir {dir}: {e}")));
                    }
                }
            }
            vars.retain(|(k, _)| k != "PWD");
            vars.push((String::from("PWD"), p));
        }
        Ok(vars)
    }

    /// Args and env, checked against [`ARGS_MAX`]: the exec parameters, and the args and env
    /// (an exec parameter string of `A` and `E` items) to send after exec when they do not fit
    /// exec's page ([`ARGS_ENV_LIMIT`]); then the page carries only `rt::ARGS_VAR`. `pid` (not 0) is the
    /// child's entry in `/proc`, made by [`Command::register`], passed in its environment.
    fn base_params(&self, pid: u32) -> io::Result<(ExecParams, Option<Vec<u8>>)> {
        let mut argv = Vec::with_capacity(self.args.len() + 1);
        argv.push(self.program.as_str());
        argv.extend(self.args.iter().map(String::as_str));
        let mut env = self.child_env()?;
        if pid != 0 {
            let user = crate::rt::limit_user().unwrap_or_default();
            env.push((
                String::from(crate::rt::PROC_PID_VAR),
                format!("{pid}:{user}"),
            ));
        }
        let invalid = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: {what} holds a NUL or 0x03 byte", self.program),
            )
        };
        let args_len: usize = argv.iter().map(|a| a.len() + 1).sum();
        let env_len: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        if args_len + env_len > ARGS_MAX {
            return Err(io::Error::const_msg(
                io::ErrorKind::ArgumentListTooLong,
                "argument list too long (arguments and environment past 128 KiB)",
            ));
        }
        let all = ExecParams::new()
            .args(&argv)
            .map_err(|_| invalid("an argument"))?
            .env(&env)
            .map_err(|_| invalid("the environment"))?;
        if args_len + env_len <= ARGS_ENV_LIMIT {
            return Ok((all, None));
        }
        // The page would overflow (the real kernel halts): no args and only `ARGS_VAR=1`, which
        // tells the child's runtime to take them from the channel.
        let marker = ExecParams::new()
            .env(&[(crate::rt::ARGS_VAR, "1")])
            .map_err(|_| invalid("the environment"))?;
        Ok((marker, Some(all.as_bytes().to_vec())))
    }

    /// `C`, then the removal of copied mounts that must not reach the child: a leftover
    /// status/stderr mount, and those this command mounts anew (an earlier mount of equal
    /// length would win the kernel's match).
    fn copy_selector(&self, params: ExecParams) -> io::Result<ExecParams> {
        let mut params = params.copy();
        let ours = libeurali::list_mounts().unwrap_or_default();
        let stored = |p: &str| {
            if p == "/" {
                String::new()
            } else {
                p.to_owned()
            }
        };
        let mut drop: Vec<String> = self.mounts.iter().map(|(p, _)| stored(p)).collect();
        drop.push(String::from(STATUS_PATH));
        drop.push(String::from(STDERR_PATH));
        drop.push(String::from(ARGS_PATH));
        for m in ours.iter().filter(|m| drop.contains(m)) {
            params = params
                .umount(m)
                .map_err(|_| io::Error::const_msg(io::ErrorKind::InvalidInput, "bad mount"))?;
        }
        Ok(params)
    }

    /// The handle the child gets for one stream, and what the parent keeps of a pipe.
    fn child_stream(
        &mut self,
        which: Which,
        default: Defaults,
    ) -> io::Result<(Handle, Option<ParentEnd>)> {
        let slot = match which {
            Which::Stdin => &mut self.stdin,
            Which::Stdout => &mut self.stdout,
            Which::Stderr => &mut self.stderr,
        };
        let mut fallback = match (default, which) {
            (Defaults::Inherit, _) => StdioInner::Inherit,
            (Defaults::Capture, Which::Stdin) => StdioInner::Null,
            (Defaults::Capture, _) => StdioInner::Piped,
        };
        let inner = match slot {
            Some(Stdio(inner)) => inner,
            None => &mut fallback,
        };
        match inner {
            StdioInner::Inherit => {
                let h = match which {
                    Which::Stdin => crate::rt::stdin_handle(),
                    Which::Stdout => crate::rt::stdout_handle(),
                    Which::Stderr => crate::rt::stderr_handle(),
                };
                match h {
                    Some(h) => Ok((h, None)),
                    None => Ok((crate::stream::null()?, None)),
                }
            }
            StdioInner::Null => Ok((crate::stream::null()?, None)),
            StdioInner::Piped => {
                let (r, w, cut) = crate::pipe::pipe_with_cut()?;
                Ok(match which {
                    Which::Stdin => (r.into_handle()?, Some(ParentEnd::Writer(w, cut))),
                    _ => (w.into_handle()?, Some(ParentEnd::Reader(r, cut))),
                })
            }
            StdioInner::Handle(_)
            | StdioInner::File(_)
            | StdioInner::PipeReader(_)
            | StdioInner::PipeWriter(_) => match core::mem::replace(inner, StdioInner::Used) {
                StdioInner::Handle(h) => Ok((h, None)),
                StdioInner::File(f) => Ok((crate::stream::serve(f, "redirect")?, None)),
                StdioInner::PipeReader(p) => Ok((p.into_handle()?, None)),
                StdioInner::PipeWriter(p) => Ok((p.into_handle()?, None)),
                _ => unreachable!("matched above"),
            },
            StdioInner::Used => Err(io::Error::const_msg(
                io::ErrorKind::InvalidInput,
                "this stdio was given to an earlier child of the command",
            )),
        }
    }
}

/// Default streams: `spawn`/`status` inherit all three; `output` captures stdout and stderr.
#[derive(Clone, Copy)]
enum Defaults {
    Inherit,
    Capture,
}

impl ParentEnd {
    fn writer(self) -> Option<PipeWriter> {
        match self {
            ParentEnd::Writer(w, _) => Some(w),
            ParentEnd::Reader(..) => None,
        }
    }
    fn reader(self) -> Option<PipeReader> {
        match self {
            ParentEnd::Reader(r, _) => Some(r),
            ParentEnd::Writer(..) => None,
        }
    }
    fn cut(&self) -> PipeCut {
        match self {
            ParentEnd::Reader(_, c) | ParentEnd::Writer(_, c) => c.clone(),
        }
    }
}

/// What a file given to `spawn` is.
#[derive(Debug, PartialEq, Eq)]
enum Image {
    /// Something for exec: an ELF, or the in-process stub's program descriptor (whose `#!` line
    /// names no absolute interpreter).
    Program,
    /// `#!/path/to/interpreter [one argument]`.
    Script {
        interpreter: String,
        arg: Option<String>,
    },
    /// Text with no `#!` line: a shell script, as execvp treats it.
    Text,
    /// Anything else: refused (the kernel would refuse it, or worse; ABI §4.5).
    Other,
}

/// Whether a failed look for a program in a `PATH` directory says nothing of the program:
/// the server was busy or gone, rather than the name missing or the directory not one.
fn could_not_look(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidFilename
    )
}

fn classify(image: &[u8]) -> Image {
    if image.starts_with(b"\x7fELF") {
        return Image::Program;
    }
    if let Some(rest) = image.strip_prefix(b"#!") {
        let line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
        let line = core::str::from_utf8(line).unwrap_or("").trim();
        if line.starts_with('/') {
            let (interpreter, arg) = match line.split_once([' ', '\t']) {
                Some((i, a)) => (i, Some(a.trim()).filter(|a| !a.is_empty())),
                None => (line, None),
            };
            return Image::Script {
                interpreter: String::from(interpreter),
                arg: arg.map(String::from),
            };
        }
        return if image.len() >= 4 {
            Image::Program
        } else {
            Image::Other
        };
    }
    let head = &image[..image.len().min(512)];
    let utf8 = match core::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(), // only cut short at the end of the sample
    };
    if !head.is_empty() && !head.contains(&0) && utf8 {
        Image::Text
    } else {
        Image::Other
    }
}

/// How long a shared-namespace spawn waits for the child to take its mounts before removing
/// them itself (a child that is not an eurali program never takes them).
const TAKE_WAIT_MS: u64 = 5000;

/// Waits until the child of a shared-namespace spawn has taken its status and stderr mounts out
/// of our (shared) table; past [`TAKE_WAIT_MS`], removes them.
fn wait_for_take() {
    let start = crate::time::Instant::now();
    let pending = || {
        libeurali::list_mounts()
            .map(|l| {
                l.iter().any(|m| {
                    [STATUS_PATH, STDERR_PATH, CONTROL_PATH, ARGS_PATH].contains(&m.as_str())
                })
            })
            .unwrap_or(false)
    };
    while pending() {
        if start.elapsed().as_millis() as u64 > TAKE_WAIT_MS {
            while libeurali::umount(STATUS_PATH).is_ok() {}
            while libeurali::umount(STDERR_PATH).is_ok() {}
            while libeurali::umount(CONTROL_PATH).is_ok() {}
            while libeurali::umount(ARGS_PATH).is_ok() {}
            let _ = libeurali::umount(&libeurali::params::heap_fence_path());
            return;
        }
        crate::thread::sleep(core::time::Duration::from_millis(1));
    }
}

// The E2BIG message names the limit.
const _: () = assert!(ARGS_MAX == 128 * 1024);

/// How long a child may take to start and take its arguments ([`send_args`]).
const ARGS_WAIT_US: u64 = 60_000_000;

/// Sends a child the arguments and environment its exec page could not hold
/// (`Long(EXEC_ARGS, len, chunk)`, see `libeurali::msgtype::EXEC_ARGS`) on the rendezvous
/// mounted at [`ARGS_PATH`] in its namespace; its runtime receives them before `main`. Waits
/// until it has (a child that died meanwhile wakes us with CLOSED, see `libeurali::timeout`).
/// A child that gets nothing ends with status 126 and a message (see [`crate::rt`]).
fn send_args(h: Handle, bytes: &[u8]) {
    let Ok(c) = libeurali::MemoryChunk::from_bytes(bytes) else {
        return; // dropping `h` closes the channel: the child ends with its message.
    };
    let m = Message::Long(
        msgtype::EXEC_ARGS,
        Word::Value(bytes.len() as u64),
        Word::Chunk(c),
    );
    let kind = libeurali::timeout::Kind::Send;
    if let Err(libeurali::timeout::CallError::TimedOut) =
        libeurali::timeout::call(&h, m, kind, Some(ARGS_WAIT_US))
    {
        // The deadline closed the handle's number already.
        h.into_raw();
    }
}

/// A child's `/proc` entry made before the child starts; removed when dropped unless the start
/// went through (the pid set to 0: the child's runtime owns the entry then).
struct Registration(u32);

impl Drop for Registration {
    fn drop(&mut self) {
        if self.0 != 0 {
            crate::rt::remove_entry(self.0);
        }
    }
}
