//! The coreutils' tools run inside the shell, as busybox's shell runs its NOFORK applets.
//!
//! On Merriwig a process's end gives all its frames back to the kernel at once, and returns
//! past the frame allocator's 32-entry stack corrupt kernel memory (ABI §9.23): a process per
//! `ls` would put the machine at risk with every command, and exec copies the whole ELF through
//! the kernel's heap besides. So a command that names a coreutils tool (any of
//! [`tools::TOOLS`]), when `PATH` finds it as
//! `/bin/TOOL` (the file the system image installs there), runs on a thread of the shell
//! (taken from the process's thread pool) with the command's own streams, environment and
//! status. Nothing of the shell's state is in its reach: a tool gets its arguments, its streams
//! and a copy of the command's environment, and works on files through paths like any program
//! (relative to the working directory of the shell or subshell that runs it, passed as
//! [`tools::Io::cwd`], as a child would have inherited it).
//!
//! What a process would have had for free is done here:
//! - Ctrl-C and `kill`: the job's interrupted flag, which the streams and `sleep` check; an
//!   interrupted tool's output stops, and its status is `128 + signal`.
//! - a reader gone: a write to a pipe nobody reads fails, the tool stops, status 141 (SIGPIPE's).
//! - a panic: on the real kernel a panicking thread ends alone (std-shim never aborts); the
//!   shell reports the command's status as 101 and goes on.
//! - `ps`: a tool that runs longer than [`std::rt::REGISTER_DELAY_MS`] (a `sleep`, a `cat`
//!   waiting for the console) puts an entry in `/proc`, as a program's runtime does, and takes
//!   it away at its end.
//!
//! `EURALI_NOFORK=0` in the command's environment runs the tools as processes again (for
//! comparison; the `frames` benchmark uses it as its baseline).

use std::io::{self, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use libeurali::proto::stream;

use crate::interp::{In, Out, Streams};
use crate::jobs::JobCtl;

/// Where the system image installs the coreutils, one file per tool.
pub const BIN: &str = "/bin";

/// Whether commands may run inside the shell (`EURALI_NOFORK=0` in `env` says no).
pub fn allowed(env: &[(String, String)]) -> bool {
    env.iter()
        .rev()
        .find(|(k, _)| k == "EURALI_NOFORK")
        .map(|(_, v)| v.as_str())
        != Some("0")
}

/// The tool `name` names, if it is one to run inside the shell: a coreutils tool that `PATH`
/// (from `env`) finds as `/bin/TOOL`, or the path `/bin/TOOL` itself.
pub fn find(name: &str, env: &[(String, String)]) -> Option<&'static str> {
    let var = |k: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    if var("EURALI_NOFORK") == Some("0") {
        return None;
    }
    let (dir, base) = match name.rsplit_once('/') {
        Some((d, b)) => (Some(d), b),
        None => (None, name),
    };
    let tool = tools::tool_name(base)?;
    let installed =
        |dir: &str| std::fs::metadata(format!("{dir}/{tool}")).is_ok_and(|m| m.is_file());
    match dir {
        Some(d) => (d == BIN && installed(BIN)).then_some(tool),
        None => {
            // The first directory of PATH that holds the name decides, as for a program.
            let path = var("PATH").unwrap_or(BIN);
            for d in path.split(':').filter(|d| !d.is_empty()) {
                if installed(d) {
                    return (d.trim_end_matches('/') == BIN).then_some(tool);
                }
            }
            None
        }
    }
}

/// A tool running on a thread of the shell.
pub struct Running {
    thread: JoinHandle<i32>,
}

impl Running {
    /// Runs `f` on a thread of the shell (from its pool) as a command.
    pub fn start(name: &str, f: impl FnOnce() -> i32 + Send + 'static) -> io::Result<Running> {
        let thread = std::thread::Builder::new().name(name.into()).spawn(f)?;
        Ok(Running { thread })
    }

    /// Waits for the tool; its status (101 if it panicked).
    pub fn wait(self) -> i32 {
        self.thread.join().unwrap_or(101)
    }
}

/// What a tool runs with besides its streams: its environment, its working directory (the
/// shell's or subshell's, against which its relative paths resolve), its job, and the shell's
/// name (for messages).
pub struct Context {
    pub env: Vec<(String, String)>,
    pub cwd: String,
    pub job: Arc<JobCtl>,
    pub shell: String,
}

/// Starts the tool of `argv` (named by `tool`) on `streams`.
pub fn start(
    tool: &'static str,
    argv: Vec<String>,
    streams: Streams,
    cx: Context,
) -> io::Result<Running> {
    let thread = std::thread::Builder::new()
        .name(tool.into())
        .spawn(move || run(tool, argv, streams, cx))?;
    Ok(Running { thread })
}

/// A tool's place in `/proc`, made once it has run a while (as a program's runtime does).
struct Presence {
    start: std::time::Instant,
    user: String,
    command: String,
    entry: std::sync::Mutex<Option<Option<std::process::ProcEntry>>>,
}

impl Presence {
    fn new(argv: &[String], env: &[(String, String)]) -> Arc<Presence> {
        let user = env
            .iter()
            .rev()
            .find(|(k, _)| k == "USER")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Arc::new(Presence {
            start: std::time::Instant::now(),
            user,
            command: argv.join(" "),
            entry: std::sync::Mutex::new(None),
        })
    }

    /// Registers the tool if it has run long enough (or `now`, before a long wait).
    fn check(&self, now: bool) {
        let due = now
            || self.start.elapsed() >= std::time::Duration::from_millis(std::rt::REGISTER_DELAY_MS);
        if !due {
            return;
        }
        let mut e = self.entry.lock().unwrap_or_else(|e| e.into_inner());
        if e.is_none() {
            *e = Some(std::process::ProcEntry::register(&self.user, &self.command));
        }
    }
}

fn run(tool: &str, argv: Vec<String>, streams: Streams, cx: Context) -> i32 {
    let (job, shell) = (&cx.job, &cx.shell);
    let presence = Presence::new(&argv, &cx.env);
    let args = &argv[1..];
    let env = &cx.env[..];
    // (Descriptors 3 to 9 are the shell's: a tool has only the three.)
    let Streams {
        stdin,
        stdout,
        stderr,
        ..
    } = streams;
    let stdin_inherited = matches!(stdin, In::Inherit);
    let broken = Arc::new(AtomicBool::new(false));
    // A redirection's file the tool could not write is named by the shell too (the tool's own
    // message does not know the path), as for a program: see interp's `Job::wait`.
    let target = stdout.file_path().map(String::from);
    let failed: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let mut input = BufReader::with_capacity(
        tools::READ_BUF,
        Input {
            from: Source::of(stdin),
            job: job.clone(),
            presence: presence.clone(),
        },
    );
    // Full buffering into a pipe or file, as a process's stdout has: a message (and on the
    // real kernel a chunk) per write would make `seq 1 1000 | wc` a thousand of them.
    // Into a file, each batch of whole lines is sent (flushed) on its own: a file server takes
    // a write whole or not at all, so when a full disk refuses one, `Lines` sends that batch
    // again a line at a time and the file keeps every whole line that fit, as it would from a
    // tool's own process writing line by line (std-shim's File gathers small writes and loses
    // a refused batch: hence the flush per batch).
    let terminal = std::term::stdin_terminal().is_some();
    let tty = tools::Tty {
        stdin: terminal && stdin_inherited,
        stdout: terminal && stdout.is_inherited(),
    };
    let mode = if stdout.is_inherited() {
        Mode::Unbuffered
    } else if stdout.is_file() {
        Mode::FileBatches
    } else {
        Mode::Buffered
    };
    let out = Output {
        to: stdout,
        job: job.clone(),
        broken: Some(broken.clone()),
        failed: Some(failed.clone()),
        presence: presence.clone(),
    };
    let mut out = Lines::new(out, mode);
    let mut err = Output {
        to: stderr,
        job: job.clone(),
        broken: None,
        failed: None,
        presence: presence.clone(),
    };
    let interrupted = || {
        presence.check(false);
        job.interrupted().is_some()
    };
    // (`find` admits only tools.)
    let code = tools::run_in_shell(
        tool,
        args,
        &mut tools::Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
            env: Some(env),
            interrupted: &interrupted,
            cwd: Some(&cx.cwd),
            tty,
        },
    )
    .unwrap_or(127);
    // Whether a write failed while the tool ran (it then said so itself).
    let seen = failed.lock().unwrap_or_else(|e| e.into_inner()).is_some();
    let flushed = out.flush();
    if let Some(sig) = job.interrupted() {
        let _ = err.flush();
        return 128 + sig as i32;
    }
    if broken.load(Ordering::Acquire) {
        let _ = err.flush();
        return 128 + 13;
    }
    let mut code = code;
    if let Err(e) = &flushed
        && !seen
    {
        // The tool's last buffered output failed after it returned: said in its name, as a
        // process's runtime says it when it flushes stdout at exit.
        let _ = writeln!(err, "{tool}: write error: {}", std::io::describe(e));
        if code == 0 {
            code = 1;
        }
    }
    let why = failed.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let (Some(why), Some(path)) = (why, target) {
        let _ = writeln!(err, "{shell}: {path}: write error: {why}");
        if code == 0 {
            code = 1;
        }
    }
    let _ = err.flush();
    code
}

/// The error a tool's stream gives once its command was interrupted. Not `Interrupted`: readers
/// retry on that.
fn stopped() -> io::Error {
    io::Error::other("interrupted")
}

/// Where a tool reads.
enum Source {
    /// The console (the shell's stdin): read through a copy of its handle, so that a Ctrl-C
    /// ends the read.
    Console(Option<libeurali::Handle>),
    Other(In),
}

impl Source {
    fn of(i: In) -> Source {
        match i {
            In::Inherit => Source::Console(std::rt::stdin_handle()),
            other => Source::Other(other),
        }
    }
}

struct Input {
    from: Source,
    job: Arc<JobCtl>,
    presence: Arc<Presence>,
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.job.interrupted().is_some() {
            return Err(stopped());
        }
        self.presence
            .check(matches!(self.from, Source::Console(Some(_))));
        match &mut self.from {
            Source::Other(i) => i.read(buf),
            Source::Console(None) => Ok(0),
            Source::Console(Some(h)) => loop {
                match stream::read(h, buf)? {
                    stream::ReadReply::Data(n) => return Ok(n),
                    stream::ReadReply::Eof => return Ok(0),
                    stream::ReadReply::Interrupted => {
                        // The console answers the read first, then tells the shell, which
                        // marks the job: give that a moment before reading again.
                        for _ in 0..50 {
                            if self.job.interrupted().is_some() {
                                return Err(stopped());
                            }
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                    }
                }
            },
        }
    }
}

struct Output {
    to: Out,
    job: Arc<JobCtl>,
    /// Set when a write found no reader (stdout only).
    broken: Option<Arc<AtomicBool>>,
    /// The first other write failure, in words (stdout only).
    failed: Option<Arc<std::sync::Mutex<Option<String>>>>,
    presence: Arc<Presence>,
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.job.interrupted().is_some() {
            return Err(stopped());
        }
        self.presence.check(false);
        let r = self.to.write(buf);
        self.note(&r);
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.to.flush();
        self.note(&r);
        r
    }
}

impl Output {
    /// Keeps what a failed write says: a reader gone, or else the first failure's words.
    fn note<T>(&self, r: &io::Result<T>) {
        let Err(e) = r else { return };
        if e.kind() == io::ErrorKind::BrokenPipe {
            if let Some(b) = &self.broken {
                b.store(true, Ordering::Release);
            }
        } else if let Some(f) = &self.failed {
            f.lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| crate::interp::file_words(e));
        }
    }
}

/// How a tool's stdout goes out (see [`Lines`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Whole lines as they are complete (the console).
    Unbuffered,
    /// Gathered up to [`BATCH`] bytes (a pipe).
    Buffered,
    /// Gathered up to [`BATCH`], each batch of whole lines flushed to the file on its own.
    FileBatches,
}

/// How much a buffered tool's stdout gathers before it writes.
const BATCH: usize = 32 * 1024;

/// A tool's buffered stdout into a pipe or file: whole lines gather and go out together; if
/// such a write fails (a full disk refuses what does not fit), they go again one line at a time,
/// so that the file keeps every whole line that fit, as when the tool wrote line by line (its
/// own process did, through the runtime's stdout).
struct Lines<W: Write> {
    inner: W,
    pending: Vec<u8>,
    mode: Mode,
}

impl<W: Write> Lines<W> {
    fn new(inner: W, mode: Mode) -> Lines<W> {
        Lines {
            inner,
            pending: Vec::with_capacity(if mode == Mode::Unbuffered { 0 } else { BATCH }),
            mode,
        }
    }

    /// Writes `data`, all of it or as many whole lines as go through; the first error.
    fn put(&mut self, mut data: &[u8]) -> io::Result<()> {
        if self.mode == Mode::FileBatches {
            // Batches of at most BATCH bytes (whole lines where there is a newline), each one
            // gathered by the File and sent as one message by the flush.
            while !data.is_empty() {
                let mut end = data.len().min(BATCH);
                if end < data.len()
                    && let Some(i) = data[..end].iter().rposition(|&b| b == b'\n')
                {
                    end = i + 1;
                }
                let (batch, rest) = data.split_at(end);
                if self
                    .inner
                    .write_all(batch)
                    .and_then(|()| self.inner.flush())
                    .is_err()
                {
                    // The file server refused the batch whole: again a line at a time.
                    self.line_by_line(batch)?;
                }
                data = rest;
            }
            return Ok(());
        }
        let mut done = 0;
        while done < data.len() {
            match self.inner.write(&data[done..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.line_by_line(&data[done..]),
            }
        }
        Ok(())
    }

    /// Writes `data` a line at a time, each reaching its target before the next: what fits
    /// goes, the first line that does not is the error.
    fn line_by_line(&mut self, data: &[u8]) -> io::Result<()> {
        for line in data.split_inclusive(|&b| b == b'\n') {
            self.inner.write_all(line)?;
            self.inner.flush()?;
        }
        Ok(())
    }

    /// Passes on the whole lines gathered (everything if `all`).
    fn drain(&mut self, all: bool) -> io::Result<()> {
        let end = if all {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None if self.pending.len() >= BATCH => self.pending.len(),
                None => return Ok(()),
            }
        };
        let rest = self.pending.split_off(end);
        let data = std::mem::replace(&mut self.pending, rest);
        let r = self.put(&data);
        // Keep the larger allocation for the next batch.
        if self.pending.is_empty() {
            self.pending = data;
            self.pending.clear();
        }
        r
    }
}

impl<W: Write> Write for Lines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.mode == Mode::Unbuffered {
            // Whole lines reach the target as they are complete.
            self.pending.extend_from_slice(buf);
            if let Some(i) = self.pending.iter().rposition(|&b| b == b'\n') {
                let lines: Vec<u8> = self.pending.drain(..=i).collect();
                self.line_by_line(&lines)?;
            }
            return Ok(buf.len());
        }
        if self.pending.is_empty() && buf.len() >= BATCH && self.mode == Mode::Buffered {
            // A big write into a pipe (cat's copy): straight through, no copy.
            self.put(buf)?;
            return Ok(buf.len());
        }
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= BATCH {
            self.drain(false)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.drain(true)?;
        self.inner.flush()
    }
}
