//! The program runtime: what runs before `main` and after it, per process.
//!
//! [`start`] is the one entry every program goes through, on both backends: the real kernel's
//! `_start` (in `sys::none`) and the host stub (which calls a program's entry with the same
//! [`EntryRegisters`]). It reads args and env from the kernel's blocks, takes stdin/stdout (handles
//! 0 and 1), finds the optional stderr and status handles the parent mounted (see
//! [`STATUS_PATH`]), runs `main`, and exits with status 0.
//!
//! Exit status (the kernel has none): [`exit`] flushes stdout and sends `Short(EXIT_STATUS, code,
//! 0)` on the status handle, then ends the thread. The send blocks until the parent takes it, as a
//! Unix zombie waits to be reaped; with no parent left it fails at once with CLOSED.
//!
//! Output that could not be written fails the program, as GNU's `close_stdout` makes it: if a
//! write to stdout failed (a full disk behind a redirection), or a file's last writes failed as
//! it was closed, a status of 0 becomes 1 at [`exit`], with `PROGRAM: write error: REASON` on
//! stderr if the program may not have seen the error itself.
//!
//! Broken pipes (Unix's SIGPIPE): a write to stdout or stderr whose reader is gone ends the
//! process with status 141 (128 + 13), every thread at its next checkpoint, unless the program
//! chose [`BrokenPipe::Error`] with [`set_broken_pipe`] (then the write fails with
//! `ErrorKind::BrokenPipe`, as with SIGPIPE ignored). Output is never sent to the kernel's debug
//! line because its reader is gone or its stream refused it; only bytes that never reached a
//! stream (no handle, no memory for the message) go there.
//!
//! Kill (the kernel has none): a parent mounts a control rendezvous at [`CONTROL_PATH`]; the
//! child's runtime serves it on a control thread. `Short(SIGNAL, signo, 0)` there ends the
//! process cooperatively: its own children are signalled first, the status `128 + signo` is
//! reported at once (so the parent's `wait` returns), and the process is marked doomed: every
//! thread ends at its next checkpoint ([`checkpoint`]: stdio, file I/O, sleep, yield, spawn,
//! wait). A thread that computes without touching any of those runs on until it does; its
//! output is refused meanwhile. On a normal exit the main thread sends `CONTROL_END` to its own
//! control thread, so that the process can end with its last thread.
//!
//! Per-process state lives in one [`Runtime`]: a static on the real kernel (one process per
//! address space); on the host, where stub processes share an address space, each thread carries
//! its process's `Arc<Runtime>` in a host thread-local, handed on by [`crate::thread::spawn`].

use alloc::string::String;
use alloc::vec::Vec;

use libeurali::params::{block_at, env_record, fields};
use libeurali::{Handle, Message, msgtype, proto::stream};

pub use libeurali::EntryRegisters;

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use crate::io;
use crate::sync::{Arc, Mutex};

/// Where a parent mounts the handle on which the child reports its exit status.
pub const STATUS_PATH: &str = "/.eurali/status";
/// Where a parent mounts the child's standard error stream.
pub const STDERR_PATH: &str = "/.eurali/stderr";
/// Where a parent mounts the channel on which it sends the child's arguments and environment
/// when exec's page cannot hold them (`libeurali::msgtype::EXEC_ARGS`; the page then has no
/// args and no environment).
pub const ARGS_PATH: &str = "/.eurali/args";
/// The variable that, alone in exec's page with no args, tells the child its args and env come
/// on [`ARGS_PATH`] (value `1`).
pub(crate) const ARGS_VAR: &str = "EURALI_ARGS_CHANNEL";
/// Where a parent mounts the child's control channel (kill; see the module documentation).
pub const CONTROL_PATH: &str = "/.eurali/control";

/// Exit status of a thread that panicked in `main` (as Rust's std uses).
pub const PANIC_STATUS: i32 = 101;

/// One process's runtime state.
pub struct Runtime {
    pub(crate) args: Vec<String>,
    pub(crate) env: Mutex<Vec<(String, String)>>,
    stdin: Mutex<StdinState>,
    stdout: Mutex<StdoutState>,
    stderr: Mutex<Option<Handle>>,
    status: Mutex<Option<Handle>>,
    /// A spare copy of the control channel, to end the control thread with (`CONTROL_END`).
    control: Mutex<Option<Handle>>,
    /// Set when the process was killed: every thread ends at its next checkpoint.
    doomed: AtomicBool,
    /// Our pid in `/proc` (0: not registered).
    pid: AtomicU32,
    /// Registration in `/proc`: [`REG_PENDING`], [`REG_DONE`] or [`REG_EXITING`].
    reg: AtomicU8,
    /// Control channels of the children this process started and has not waited for yet.
    children: Mutex<Vec<(u64, Arc<Handle>)>>,
    watcher: Mutex<Watcher>,
    spawn: Mutex<()>,
    /// Bounded calls in flight (`libeurali::timeout`, see [`crate::watchdog`]).
    pub(crate) watchdog: crate::watchdog::Shared,
    /// What a kill runs to wake threads waiting in `receive` (`libeurali::kill`).
    kill_hooks: Mutex<Vec<(u64, libeurali::kill::Hook)>>,
    /// The user this process counts against in `/proc` (its parent's, given with the pid, or
    /// the `USER` it registered itself with): [`limit_user`].
    limit_user: Mutex<Option<String>>,
    /// Finished threads waiting for the next spawn ([`crate::thread::Pool`]).
    pub(crate) pool: Arc<crate::thread::Pool>,
    /// Chunks kept for reuse instead of being freed (`libeurali::pool`).
    chunks: Mutex<libeurali::pool::Kept>,
    /// `EURALI_NOPOOL=1` in the environment: no thread or chunk is kept for reuse (to compare
    /// with; see docs/design.md, "Frames").
    pub(crate) no_pool: AtomicBool,
    /// [`BrokenPipe`] as chosen (`true`: Error).
    broken_pipe_errors: AtomicBool,
    /// A file's last writes failed as it was closed (a status of 0 becomes 1 at exit).
    lost_writes: AtomicBool,
    /// Our arguments were to come on [`ARGS_PATH`] and did not: `main` must not run.
    args_lost: bool,
    /// The heap's size as the kernel gave it at entry (0: the host's, not bounded).
    heap_size: u64,
    /// The heap in use at the last report to `/proc` (`u64::MAX`: none yet), its time (or the
    /// process's start) and whether a report is being written ([`report_heap_if_due`]).
    heap_reported: AtomicU64,
    heap_reported_at: AtomicU64,
    heap_reporting: AtomicBool,
}

#[derive(Default)]
struct Watcher {
    entries: Vec<Arc<WatchEntry>>,
    running: bool,
    /// Rounds to run at [`WATCH_SLICE_MS`] rather than [`WATCH_INTERVAL_MS`] ([`hurry_watcher`]).
    hurry: u32,
    /// Rounds still to run at [`WATCH_INTERVAL_MS`] before the watcher slows down to
    /// [`WATCH_IDLE_INTERVAL_MS`] (see [`watcher_main`]).
    quick: u32,
}

struct WatchEntry {
    target: Arc<Handle>,
    spare: Mutex<Option<Handle>>,
    done: AtomicBool,
}

struct StdinState {
    handle: Option<Handle>,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

struct StdoutState {
    handle: Option<Handle>,
    buf: Vec<u8>,
    /// The reader is gone (CLOSED): later writes fail at once.
    broken: bool,
    /// The first write that failed otherwise (say a full disk behind a redirection), for
    /// [`exit`] to report; a later write may succeed (room was made).
    failed: Option<io::Error>,
}

impl Runtime {
    #[inline(never)] // (the freestanding sh is 0.6 KB smaller so: measured)
    fn new(regs: &EntryRegisters, stdin: Option<Handle>, stdout: Option<Handle>) -> Runtime {
        // Safety: the kernel (or stub) laid these blocks out for us; they live as long as the
        // process's first stack, and we copy them out at once.
        let (args, env) = unsafe { (block_at(regs.args), block_at(regs.env)) };
        // The parent's heap fence (`libeurali::params::heap_fence_path`) has done its work
        // once exec returned: its mount only holds 16 KiB of the kernel's heap now.
        let _ = libeurali::umount(&libeurali::params::heap_fence_path());
        // Args and env too long for exec's page come on a channel, which the parent says with
        // no args and [`ARGS_VAR`] alone in the page's environment. Every mount is taken before
        // that channel is read: a parent sharing our namespace waits for them to go before it
        // sends. (Inferring it from an empty page made init, which the kernel starts with
        // nothing, probe for the mount; that moved the real kernel's heap about enough that
        // login could not exec the shell, "MEMORY": see `libeurali::params::heap_fence_path`.)
        let marked = args.is_empty()
            && fields(env)
                .map(env_record)
                .any(|(k, v)| k == ARGS_VAR.as_bytes() && v == b"1");
        let channel = if marked { take_mount(ARGS_PATH) } else { None };
        let stderr = take_mount(STDERR_PATH);
        let status = take_mount(STATUS_PATH);
        let control = take_mount(CONTROL_PATH);
        let sent = channel.map(|h| receive_args(&h));
        let args_lost = matches!(sent, Some(None));
        let sent = sent.flatten();
        let (args, env) = match &sent {
            Some(c) => libeurali::params::args_and_env(c.as_slice()).unwrap_or_default(),
            None => (args, env),
        };
        // Any bytes, losslessly (what is not UTF-8 as `ffi::text_from_bytes` maps it).
        let args = fields(args).map(crate::ffi::text_from_bytes).collect();
        let env: Vec<(String, String)> = fields(env)
            .map(env_record)
            .map(|(k, v)| {
                (
                    crate::ffi::text_from_bytes(k),
                    crate::ffi::text_from_bytes(v),
                )
            })
            .collect();
        drop(sent);
        let no_pool = env.iter().any(|(k, v)| k == "EURALI_NOPOOL" && v == "1");
        // Registered by the parent already (`PID:USER`, see `try_register_entry`): ours to
        // remove at the end, and the user we count against, whatever our `USER` says.
        let mut env = env;
        let given = env
            .iter()
            .position(|(k, _)| k == PROC_PID_VAR)
            .map(|i| env.remove(i).1);
        let (given_pid, limit_user) = match given.as_deref().and_then(|v| v.split_once(':')) {
            Some((pid, user)) => (pid.parse::<u32>().unwrap_or(0), Some(String::from(user))),
            None => (0, None),
        };
        Runtime {
            args,
            env: Mutex::new(env),
            stdin: Mutex::new(StdinState {
                handle: stdin,
                buf: Vec::new(),
                pos: 0,
                eof: false,
            }),
            stdout: Mutex::new(StdoutState {
                handle: stdout,
                buf: Vec::new(),
                broken: false,
                failed: None,
            }),
            stderr: Mutex::new(stderr),
            status: Mutex::new(status),
            control: Mutex::new(control),
            args_lost,
            heap_size: regs.heap_size,
            doomed: AtomicBool::new(false),
            pid: AtomicU32::new(given_pid),
            reg: AtomicU8::new(if given_pid != 0 {
                REG_DONE
            } else {
                REG_PENDING
            }),
            children: Mutex::new(Vec::new()),
            watcher: Mutex::new(Watcher::default()),
            spawn: Mutex::new(()),
            watchdog: Default::default(),
            pool: Default::default(),
            chunks: Mutex::new(Default::default()),
            no_pool: AtomicBool::new(no_pool),
            kill_hooks: Mutex::new(Vec::new()),
            limit_user: Mutex::new(limit_user),
            broken_pipe_errors: AtomicBool::new(false),
            lost_writes: AtomicBool::new(false),
            heap_reported: AtomicU64::new(u64::MAX),
            heap_reported_at: AtomicU64::new(crate::sys::now_micros()),
            heap_reporting: AtomicBool::new(false),
        }
    }
}

/// The args and env a parent sent on [`ARGS_PATH`]: `Long(EXEC_ARGS, len, chunk)` whose first
/// `len` bytes (at most [`libeurali::params::ARGS_MAX`]) are an exec parameter string of `A` and
/// `E` items. `None` if the channel closed first or brought anything else.
#[inline(never)]
fn receive_args(h: &Handle) -> Option<libeurali::MemoryChunk> {
    use libeurali::Word;
    match libeurali::receive(h) {
        Ok(Message::Long(msgtype::EXEC_ARGS, Word::Value(len), Word::Chunk(mut c)))
            if len as usize <= libeurali::params::ARGS_MAX =>
        {
            // Safety: at most ARGS_MAX, and the parent's chunk holds `len` written bytes (the
            // protocol of EXEC_ARGS; a parent that lies can only read us its own garbage).
            unsafe { c.set_len(len as usize) };
            libeurali::params::args_and_env(c.as_slice())?;
            Some(c)
        }
        _ => None,
    }
}

/// Opens the handle mounted at exactly `path`, then removes that mount so that the handle is ours
/// alone (and not inherited by our children).
fn take_mount(path: &str) -> Option<Handle> {
    let (h, prefix) = libeurali::open(path).ok()?;
    if prefix != path.len() {
        return None; // a shorter mount (say the root) matched: nothing mounted here.
    }
    let _ = libeurali::umount(path);
    Some(h)
}

/// The process entry shared by both backends: set up, run `main`, exit 0.
pub fn start(regs: EntryRegisters, main: fn()) -> ! {
    // Safety: handles 0 and 1 are the stdin/stdout the kernel gave this new process.
    let (stdin, stdout) = unsafe { (Handle::from_raw(0), Handle::from_raw(1)) };
    let rt = Runtime::new(&regs, Some(stdin), Some(stdout));
    crate::sys::set_runtime(rt);
    libeurali::timeout::install(crate::watchdog::bounded_call);
    libeurali::kill::install(&KILL_REGISTRY);
    libeurali::clock::install(&CLOCK);
    libeurali::idle::install(&IDLE);
    libeurali::pool::install(&CHUNK_POOL);
    libeurali::install_thread_pool(&THREAD_POOL);
    start_control_thread();
    if crate::sys::runtime().is_some_and(|rt| rt.args_lost) {
        // (Our name came with the arguments.)
        let _ = stderr_write(b"arguments lost: the parent started us but sent none\n");
        exit(126);
    }
    match crate::sys::run_main(main) {
        Ok(()) => exit(0),
        Err(()) => exit_all(PANIC_STATUS),
    }
}

/// Ends the process's part in this thread with `code` reported to the parent: flushes stdout,
/// closes stdio, sends the status, ends the thread. Other threads of the process run on until
/// they end (the kernel cannot stop them): a child may leave a server it started serving a
/// mount it shared (`NamespaceMode::Share`). [`exit_all`] ends them too.
///
/// Stdio is closed *before* the status is sent: the send blocks until the parent takes it (a
/// zombie waiting to be reaped), and a child of a pipeline whose parent waits for a later stage
/// first must not keep that stage's input open meanwhile (the reader would never see EOF).
pub fn exit(code: i32) -> ! {
    exit_with(code, false)
}

/// [`exit`], and every other thread of the process ends too, as after a kill: each at its next
/// [`checkpoint`], those waiting in a server's receive woken by the kill hooks (a file server's
/// device wrapper refuses writes at once, `libeurali::kill::doomed`). A panic of the main thread
/// ends the process so: a file server whose main thread failed must not serve on beside the one
/// its parent starts again (two writers of one disk).
pub fn exit_all(code: i32) -> ! {
    exit_with(code, true)
}

fn exit_with(code: i32, all: bool) -> ! {
    checkpoint();
    let code = close_output(code);
    if let Some(rt) = crate::sys::runtime() {
        if all {
            // After the flush above: a doomed process's output is refused.
            rt.doomed.store(true, Ordering::Release);
        }
        rt.pool.close();
        end_control_thread(&rt);
        unregister_process(&rt);
        crate::watchdog::process_ending(&rt.watchdog);
        // Close our stdio now, so that readers of our output see EOF even on the real kernel,
        // where a dying process's handles vanish without the close that wakes a server (§3.5).
        let stdio = (
            rt.stdin.lock().ok().and_then(|mut s| s.handle.take()),
            rt.stdout.lock().ok().and_then(|mut s| s.handle.take()),
            rt.stderr.lock().ok().and_then(|mut s| s.take()),
        );
        drop(stdio);
        let status = rt.status.lock().ok().and_then(|mut s| s.take());
        if let Some(h) = status {
            let _ = libeurali::call_send(&h, exit_message(&rt, code));
        }
        if all {
            run_kill_hooks(&rt);
        }
    }
    crate::sys::leave_thread();
    libeurali::exit_thread()
}

/// The status report: `Short(EXIT_STATUS, code, 0)`, or `Long(EXIT_STATUS, code | pages << 32,
/// chunk)` giving the parent the biggest chunk this process kept (`libeurali::pool`): a
/// process's end gives all its frames back to the kernel at once, which Merriwig's frame
/// allocator mishandles (ABI §9.23); a chunk handed on is that many frames fewer.
fn exit_message(rt: &Runtime, code: i32) -> Message {
    let code = code as u32 as u64;
    let biggest = rt.chunks.try_lock().and_then(|mut k| k.take_biggest());
    match biggest {
        Some((base, pages)) if pages < 1 << 31 => Message::Long(
            msgtype::EXIT_STATUS,
            libeurali::Word::Value(code | pages << 32),
            // Safety: a kept chunk is this process's, and nothing else holds it.
            libeurali::Word::Chunk(unsafe { libeurali::MemoryChunk::from_raw(base) }),
        ),
        _ => Message::Short(msgtype::EXIT_STATUS, code, 0),
    }
}

/// Turns this process's thread and chunk pools off for good, as `EURALI_NOPOOL=1` does at start
/// (eurali extension): kept chunks are freed, waiting threads end. For a program that probes
/// the kernel's own limits (abi-probe), which the pools would hide.
pub fn disable_pools() {
    if let Some(rt) = crate::sys::runtime() {
        rt.no_pool.store(true, Ordering::Relaxed);
        rt.pool.close();
        let kept: Vec<(u64, u64)> = rt
            .chunks
            .lock()
            .map(|mut k| k.drain().collect())
            .unwrap_or_default();
        for (base, _) in kept {
            // Safety: a kept chunk is this process's and nothing else holds it.
            drop(unsafe { libeurali::MemoryChunk::from_raw(base) });
        }
    }
}

/// What a write to standard output or standard error does once nobody reads that stream any
/// more (Unix's SIGPIPE; see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokenPipe {
    /// The process ends with status 141 (128 + [`crate::process::SIGPIPE`]), every thread at
    /// its next checkpoint: what a Unix process killed by SIGPIPE does. The default.
    Die,
    /// The write fails with `ErrorKind::BrokenPipe`; the program decides what to do (a shell,
    /// whose builtins report it as a status).
    Error,
}

/// Chooses what a write to a stream nobody reads does, for the whole process.
pub fn set_broken_pipe(how: BrokenPipe) {
    if let Some(rt) = crate::sys::runtime() {
        rt.broken_pipe_errors
            .store(how == BrokenPipe::Error, Ordering::Release);
    }
}

/// Whether a broken pipe ends this process (see [`set_broken_pipe`]).
fn dies_of_broken_pipe(rt: &Runtime) -> bool {
    !rt.broken_pipe_errors.load(Ordering::Acquire)
}

/// After a write to stdout or stderr: if it found the reader gone and this process dies of
/// that ([`BrokenPipe::Die`]), ends the process (status 141) here; else hands the result on.
pub(crate) fn after_write<T>(r: io::Result<T>) -> io::Result<T> {
    // (The runtime is not held across the end: on the host it must not outlive the thread.)
    let dies = matches!(&r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe)
        && crate::sys::runtime().is_some_and(|rt| dies_of_broken_pipe(&rt));
    if dies {
        died_of_broken_pipe();
    }
    r
}

/// The end a broken pipe brings (as SIGPIPE's): status 141 reported at once, the process's
/// threads doomed. Its children are left alone (Unix's SIGPIPE does not reach them).
fn died_of_broken_pipe() -> ! {
    wait_for_pending_kill();
    if let Some(rt) = crate::sys::runtime() {
        // The control thread would keep the process alive in its `receive`.
        end_control_thread(&rt);
        drop(rt.stdin.lock().ok().and_then(|mut s| s.handle.take()));
    }
    end_process(libeurali::msgtype::SIGPIPE as i32, false)
}

/// How long [`wait_for_pending_kill`] waits.
const PENDING_KILL_WAIT_US: u64 = 20_000;

/// A write found its reader gone, which may be a kill's doing: a parent that kills a child
/// cuts the pipes it gave it just after the signal reached the child's control thread. If so,
/// the process ends here, in a moment, with the kill's status (not SIGPIPE's, nor whatever the
/// program would make of the error); otherwise this returns after [`PENDING_KILL_WAIT_US`]
/// (at once for a process nobody can kill: no control channel).
pub fn wait_for_pending_kill() {
    let killable = crate::sys::runtime().is_some_and(|rt| {
        let c = rt.control.lock().unwrap_or_else(|e| e.into_inner());
        c.is_some()
    });
    if !killable {
        return;
    }
    let start = crate::sys::now_micros();
    while crate::sys::now_micros().saturating_sub(start) < PENDING_KILL_WAIT_US {
        checkpoint();
        crate::sys::sleep_micros(1_000);
    }
    checkpoint();
}

/// Forgets a failed write to stdout that the program has reported itself (C's `clearerr`):
/// [`exit`] then neither reports it again nor fails the status for it.
pub fn clear_stdout_error() {
    if let Some(rt) = crate::sys::runtime() {
        rt.stdout.lock().unwrap_or_else(|e| e.into_inner()).failed = None;
    }
}

/// This program's name for messages: the last part of `args[0]`.
pub(crate) fn program_name() -> String {
    let name = crate::sys::runtime()
        .and_then(|rt| rt.args.first().cloned())
        .unwrap_or_default();
    match name.rsplit('/').next() {
        Some(n) if !n.is_empty() => String::from(n),
        _ => String::from("program"),
    }
}

/// A file's gathered writes failed as it was closed (reported on stderr by the file): the
/// process's status 0 becomes 1 at [`exit`].
pub(crate) fn note_lost_write() {
    if let Some(rt) = crate::sys::runtime() {
        rt.lost_writes.store(true, Ordering::Release);
    }
}

/// Flushes stdout at exit and turns output that could not be written into a failure, as GNU's
/// `close_stdout`: a failed write to stdout (or a file's failed last writes) makes a status of
/// 0 into 1. `PROGRAM: write error: REASON` goes to stderr unless the program, ending with a
/// failure already, has seen the error itself (a write that failed only now, at the flush, is
/// always reported). A reader gone at the flush is SIGPIPE's status 141 (or, with
/// [`BrokenPipe::Error`], nothing).
fn close_output(code: i32) -> i32 {
    let flushed = stdout_flush();
    let Some((dies, failed, lost)) = crate::sys::runtime().map(|rt| {
        let failed = rt
            .stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed
            .take();
        (
            dies_of_broken_pipe(&rt),
            failed,
            rt.lost_writes.load(Ordering::Acquire),
        )
    }) else {
        return code;
    };
    if let Err(e) = &flushed
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        return if dies {
            128 + libeurali::msgtype::SIGPIPE as i32
        } else {
            code
        };
    }
    let Some(e) = failed else {
        return if code == 0 && lost { 1 } else { code };
    };
    // (An error of the flush itself is in `failed` too: write_out keeps the first.)
    if code == 0 || flushed.is_err() {
        let msg = alloc::format!("{}: write error: {e}\n", program_name());
        let _ = stderr_write(msg.as_bytes());
    }
    if code == 0 { 1 } else { code }
}

/// Where the process table is served (see `vfs::procfs`).
pub const PROC_PATH: &str = "/proc";

/// The path `path` under `/proc`, if `/proc` itself is a mount here (and not a directory of
/// some other server, where a registration would create files).
fn proc_session(path: &str, flags: u32) -> Option<vfs_client::client::Session> {
    let (_, _, prefix) = vfs_client::client::locate(path).ok()?;
    if prefix != PROC_PATH.len() {
        return None;
    }
    vfs_client::client::open(path, flags).ok().map(|(s, _)| s)
}

/// The most processes `/proc` lets one user have, and all users but root together if it limits
/// them (its `/limit`), if it says.
pub(crate) fn user_process_limit() -> Option<(usize, Option<usize>)> {
    let s = proc_session("/proc/limit", vfs_client::proto::flags::READ)?;
    let mut buf = [0u8; 32];
    let n = s.read_at(0, &mut buf).ok()?;
    let mut words = core::str::from_utf8(&buf[..n]).ok()?.split_whitespace();
    let one = words.next()?.parse().ok()?;
    Some((one, words.next().and_then(|w| w.parse().ok())))
}

/// Not registered in `/proc` yet.
const REG_PENDING: u8 = 0;
/// Registered (or tried to, where there is no `/proc`).
const REG_DONE: u8 = 1;
/// Ended before registering: never will.
const REG_EXITING: u8 = 2;

/// How long a program runs before its control thread registers it in `/proc`: the many
/// programs that end sooner (a shell's `true`, `echo`, `cat` in a pipeline) then cost `/proc`
/// nothing, and `ps` could hardly have shown them anyway. [`pid`] registers at once.
pub const REGISTER_DELAY_MS: u64 = 10;

/// Registers this process in `/proc` now, if it is not yet and there is a `/proc`:
/// `USER\tcommand line`. The control thread does this [`REGISTER_DELAY_MS`] after the start; a
/// program that mounts `/proc` itself (init) calls it then.
pub fn register_process() {
    register_process_as("");
}

/// As [`register_process`], with `name` as the command line if the process was given none
/// (init on the real kernel: the kernel starts it without arguments, ABI §4.1).
pub fn register_process_as(name: &str) {
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    if rt
        .reg
        .compare_exchange(REG_PENDING, REG_DONE, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        write_registration(&rt, name);
    }
}

fn write_registration(rt: &Runtime, unnamed: &str) {
    let user = crate::env::var("USER").unwrap_or_default();
    rt.limit_user
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(|| user.clone());
    let command = if rt.args.is_empty() {
        String::from(unnamed)
    } else {
        rt.args.join(" ")
    };
    if let Some(pid) = register_entry(&user, &command) {
        rt.pid.store(pid, Ordering::Release);
    }
}

/// Writes an entry `USER\tcommand line` into `/proc`; its pid, if there is a `/proc`.
pub(crate) fn register_entry(user: &str, command: &str) -> Option<u32> {
    try_register_entry(user, command).ok().flatten()
}

/// [`register_entry`], telling a refusal apart: `Err(Again)` when `user` has as many processes
/// as `/proc` takes of one user ([`user_process_limit`]); `Ok(None)` with no `/proc`
/// (or none that answered).
pub(crate) fn try_register_entry(
    user: &str,
    command: &str,
) -> Result<Option<u32>, vfs_client::proto::FsError> {
    use vfs_client::proto::FsError;
    use vfs_client::proto::flags;
    let Some(s) = proc_session("/proc/new", flags::READ | flags::WRITE | flags::CREATE) else {
        return Ok(None);
    };
    let mut line = String::from(user);
    line.push('\t');
    line.push_str(command);
    match s.write_at(0, line.as_bytes()) {
        Err(FsError::Again) => return Err(FsError::Again),
        Err(_) => return Ok(None),
        Ok(_) => {}
    }
    let mut buf = [0u8; 16];
    let Ok(n) = s.read_at(0, &mut buf) else {
        return Ok(None);
    };
    Ok(core::str::from_utf8(&buf[..n])
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|&pid| pid != 0))
}

/// The variable in which a parent that registered its child in `/proc` (std-shim's `Command`)
/// gives it `PID:USER`; the child's runtime takes it out of its environment.
pub(crate) const PROC_PID_VAR: &str = "EURALI_PROC_PID";

/// The user this process counts against in `/proc` (registering it now if it is not yet):
/// the one its parent registered it as, else its `USER` at registration; `None` with no runtime.
pub(crate) fn limit_user() -> Option<String> {
    // (Only where there is a `/proc` already: init starts programs before it serves its `/proc`,
    // and registering then would leave init, pid 1, out of it for good.)
    if vfs_client::client::locate(PROC_PATH).is_ok_and(|(_, _, prefix)| prefix == PROC_PATH.len()) {
        register_process();
    }
    let rt = crate::sys::runtime()?;
    rt.limit_user
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// Least time between two heap reports of a process, and from its start to the first (a
/// short-lived program reports nothing).
pub const HEAP_REPORT_US: u64 = 250_000;
/// Least change of the heap in use worth a report: this, or an eighth of the last figure.
const HEAP_REPORT_STEP: u64 = 64 * 1024;

/// Reports this process's heap to its `/proc` entry (`heap USED CLAIMED`, see `vfs::procfs`)
/// if it is due: registered, [`HEAP_REPORT_US`] since the last report (or the start), and the
/// heap in use moved by [`HEAP_REPORT_STEP`] (or an eighth) since, or never reported. Called
/// at the blocking points (sleep, stdin reads; not stdout writes, which may come deep in a
/// program's stack, where the report's file I/O would eat into its 28 KiB): a timestamp
/// comparison when not due, no thread and no system call per allocation. Nothing where the heap has no
/// figures (a host build: stub processes share the host's allocator).
#[inline(never)]
pub(crate) fn report_heap_if_due() {
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    let pid = rt.pid.load(Ordering::Acquire);
    if pid == 0 {
        return;
    }
    let now = crate::sys::now_micros();
    if now.saturating_sub(rt.heap_reported_at.load(Ordering::Relaxed)) < HEAP_REPORT_US {
        return;
    }
    let Some((used, _)) = crate::sys::heap_stats() else {
        return;
    };
    let last = rt.heap_reported.load(Ordering::Relaxed);
    if last != u64::MAX && used.abs_diff(last) < HEAP_REPORT_STEP.max(last / 8) {
        return;
    }
    send_heap_report(&rt, pid, now);
}

/// What a server's thread runs between sessions (`libeurali::idle`): the heap report.
static IDLE: libeurali::idle::Hook = libeurali::idle::Hook {
    run: report_heap_if_due,
};

/// Reports this process's heap to `/proc` now, due or not (`ps` and `free` do, so that the
/// process running them shows its present figure); registers the process first.
pub fn report_heap() {
    register_process();
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    let pid = rt.pid.load(Ordering::Acquire);
    if pid != 0 {
        send_heap_report(&rt, pid, crate::sys::now_micros());
    }
}

#[inline(never)]
fn send_heap_report(rt: &Runtime, pid: u32, now: u64) {
    // One at a time (the report's own I/O passes the blocking points too).
    if rt.heap_reporting.swap(true, Ordering::AcqRel) {
        return;
    }
    if let Some((used, claimed)) = crate::sys::heap_stats() {
        rt.heap_reported_at.store(now, Ordering::Relaxed);
        rt.heap_reported.store(used, Ordering::Relaxed);
        // (Put together by hand: `format!` costs every program more code, init's budget too.)
        let mut path = String::from("/proc/");
        push_decimal(&mut path, pid as u64);
        if let Some(s) = proc_session(&path, vfs_client::proto::flags::WRITE) {
            let mut text = String::from("heap ");
            push_decimal(&mut text, used);
            text.push(' ');
            push_decimal(&mut text, claimed);
            let _ = s.write_at(0, text.as_bytes());
        }
    }
    rt.heap_reporting.store(false, Ordering::Release);
}

/// Appends `n` in decimal.
fn push_decimal(s: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(d as char);
    }
}

/// Removes the `/proc` entry `pid`.
pub(crate) fn remove_entry(pid: u32) {
    let path = alloc::format!("{PROC_PATH}/{pid}");
    if let Ok((_, _, prefix)) = vfs_client::client::locate(&path)
        && prefix == PROC_PATH.len()
    {
        let _ = vfs_client::client::remove_file(&path);
    }
}

/// Removes this process's `/proc` entry.
fn unregister_process(rt: &Runtime) {
    let pid = rt.pid.swap(0, Ordering::AcqRel);
    if pid != 0 {
        remove_entry(pid);
    }
}

/// This process's pid in `/proc` (registering now if the control thread has not yet), or 0
/// where there is no `/proc`.
pub fn pid() -> u32 {
    register_process();
    crate::sys::runtime().map_or(0, |rt| rt.pid.load(Ordering::Acquire))
}

/// Starts the thread that serves the control channel, if the parent mounted one.
fn start_control_thread() {
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    let serve = {
        let c = rt.control.lock().unwrap_or_else(|e| e.into_inner());
        c.as_ref().and_then(|h| h.try_clone().ok())
    };
    let Some(h) = serve else { return };
    let t = crate::thread::Builder::new()
        .name(String::from("control"))
        .spawn(move || control_main(h));
    if t.is_err() {
        // No thread: the process cannot be killed, but runs; drop the channel so that a kill
        // fails (CLOSED once the parent's end is the last) instead of waiting.
        drop(rt.control.lock().ok().and_then(|mut c| c.take()));
    }
}

/// Ends the control thread (a normal exit): it must not keep the process alive. If it is still
/// in its registration delay, marking the process as exiting is enough (it then ends by itself);
/// otherwise it is told with `CONTROL_END`.
fn end_control_thread(rt: &Runtime) {
    let spare = rt.control.lock().ok().and_then(|mut c| c.take());
    let early = rt
        .reg
        .compare_exchange(
            REG_PENDING,
            REG_EXITING,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_ok();
    if let Some(h) = spare
        && !early
    {
        let _ = libeurali::call_send(&h, Message::Short(msgtype::CONTROL_END, 0, 0));
    }
}

fn control_main(h: Handle) {
    // The registration delay (not a checkpointed sleep: this thread must get to serve a kill).
    crate::sys::sleep_micros(REGISTER_DELAY_MS * 1000);
    if let Some(rt) = crate::sys::runtime() {
        match rt
            .reg
            .compare_exchange(REG_PENDING, REG_DONE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => write_registration(&rt, ""),
            Err(REG_EXITING) => return, // main ended first and sends nothing
            Err(_) => {}                // registered already (pid() asked)
        }
    }
    loop {
        match libeurali::receive(&h) {
            Ok(Message::Short(msgtype::SIGNAL, sig, _)) => killed(sig.min(127) as i32),
            Ok(Message::Short(msgtype::CONTROL_END, _, _)) => return,
            Ok(_) => {}
            Err(libeurali::Error::RecvBlocking) => {
                // A send_receive we do not serve now waits for a reply.
                let _ = libeurali::send(&h, Message::Short(msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0));
            }
            Err(_) => return,
        }
    }
}

/// The process was killed with `sig`: signal our children, report `128 + sig`, doom every
/// thread, end this one.
fn killed(sig: i32) -> ! {
    end_process(sig, true)
}

/// Ends the process as signal `sig` ends it: signal our children (if `children`), report
/// `128 + sig`, doom every thread, end this one. Locks that a doomed thread may hold forever
/// are only tried.
fn end_process(sig: i32, children: bool) -> ! {
    if let Some(rt) = crate::sys::runtime() {
        rt.doomed.store(true, Ordering::Release);
        rt.pool.close();
        if children {
            let children = rt
                .children
                .try_lock()
                .map(|mut c| core::mem::take(&mut *c))
                .unwrap_or_default();
            for (_, c) in children {
                signal_handle(&c, sig as u64);
            }
        }
        // Our output ends here: readers of it see EOF once the handles go. A thread may be
        // writing just now (the lock is held across the write): wait a little for it, but not
        // for good — a doomed thread may hold it forever (a reader that never reads).
        if let Some(mut out) = lock_soon(&rt.stdout) {
            out.buf.clear();
            drop(out.handle.take());
        }
        if let Some(mut err) = lock_soon(&rt.stderr) {
            drop(err.take());
        }
        let status = rt.status.lock().ok().and_then(|mut s| s.take());
        if let Some(h) = status {
            let _ = libeurali::call_send(
                &h,
                Message::Short(msgtype::EXIT_STATUS, (128 + sig) as u32 as u64, 0),
            );
        }
        drop(rt.control.lock().ok().and_then(|mut c| c.take()));
        run_kill_hooks(&rt);
        unregister_process(&rt);
        crate::watchdog::process_ending(&rt.watchdog);
    }
    die()
}

/// This runtime's clock for libeurali's waits bounded by time. Its sleep is no checkpoint: those
/// waits run inside calls (a kill's own exit-status send among them) that must not end halfway.
static CLOCK: libeurali::clock::Clock = libeurali::clock::Clock {
    now_us: crate::sys::now_micros,
    sleep_us: crate::sys::sleep_micros,
};

/// This runtime's threads for libeurali's `spawn_pooled` (servers below std-shim).
static THREAD_POOL: libeurali::ThreadPool = libeurali::ThreadPool {
    available: || crate::sys::runtime().is_some(),
    spawn: |f| {
        crate::thread::Builder::new()
            .spawn(f)
            .map(|_| ())
            .map_err(|e| crate::io::kernel_code(&e))
    },
};

/// This runtime's chunk pool: per process, in its [`Runtime`].
static CHUNK_POOL: libeurali::pool::Pool = libeurali::pool::Pool {
    take: |pages| {
        let rt = crate::sys::runtime()?;
        if rt.no_pool.load(Ordering::Relaxed) {
            return None;
        }
        // Held for a moment only (no allocation, no panic inside): waiting is safe.
        let mut k = rt.chunks.lock().unwrap_or_else(|e| e.into_inner());
        k.take(pages)
    },
    give: |base, pages| {
        let Some(rt) = crate::sys::runtime() else {
            return false;
        };
        if rt.no_pool.load(Ordering::Relaxed) {
            return false;
        }
        // Held for a moment only (no allocation, no panic inside): waiting is safe, and a
        // chunk freed because another thread held the pool is frames given back for nothing.
        rt.chunks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .give(base, pages)
    },
};

/// This runtime's side of `libeurali::kill`: hooks per process.
static KILL_REGISTRY: libeurali::kill::Registry = libeurali::kill::Registry {
    register: register_kill_hook,
    forget: forget_kill_hook,
    doomed,
};

fn register_kill_hook(hook: libeurali::kill::Hook) -> u64 {
    static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
    let Some(rt) = crate::sys::runtime() else {
        return 0;
    };
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    rt.kill_hooks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, hook));
    id
}

fn forget_kill_hook(id: u64) {
    if let Some(rt) = crate::sys::runtime() {
        rt.kill_hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _)| *i != id);
    }
}

/// Runs the kill hooks, each on a thread of its own (a hook may block until the thread it
/// wakes receives).
fn run_kill_hooks(rt: &Runtime) {
    let hooks = lock_soon(&rt.kill_hooks)
        .map(|mut h| core::mem::take(&mut *h))
        .unwrap_or_default();
    for (_, hook) in hooks {
        // Not crate::thread: a doomed process's new std threads end at once.
        let _ = libeurali::spawn_fn(move || hook());
    }
}

/// The lock, if it comes free within [`KILL_LOCK_WAIT_MS`].
fn lock_soon<T>(m: &Mutex<T>) -> Option<crate::sync::MutexGuard<'_, T>> {
    let start = crate::sys::now_micros();
    loop {
        if let Some(g) = m.try_lock() {
            return Some(g);
        }
        if crate::sys::now_micros().saturating_sub(start) > KILL_LOCK_WAIT_MS * 1000 {
            return None;
        }
        crate::sys::sleep_micros(1_000);
    }
}

/// How long a kill waits for a lock that another thread of the process holds.
const KILL_LOCK_WAIT_MS: u64 = 1_000;

/// Ends the calling thread of a doomed process (telling its joiner first).
fn die() -> ! {
    crate::sys::leave_thread(); // tells a joiner, on both backends

    libeurali::exit_thread()
}

/// Where a killed process's threads end: a no-op unless the process was killed.
pub fn checkpoint() {
    if let Some(rt) = crate::sys::runtime()
        && rt.doomed.load(Ordering::Acquire)
    {
        #[allow(clippy::drop_non_drop, dropping_references)]
        drop(rt); // the host's Arc must not outlive this thread's stub context
        die();
    }
}

/// The size of this process's heap as the kernel gave it (4 MiB on the real kernel and in the
/// hosted ELFs); `None` where it is not bounded so (a host build of the program), or before the
/// runtime is set up. For a program that sizes its buffers by what it has, not by its backend.
pub fn heap_size() -> Option<u64> {
    crate::sys::runtime()
        .map(|rt| rt.heap_size)
        .filter(|&n| n != 0)
}

/// Whether this process was killed (its threads end at their next [`checkpoint`]).
pub fn doomed() -> bool {
    crate::sys::runtime().is_some_and(|rt| rt.doomed.load(Ordering::Acquire))
}

/// Sends `SIGNAL sig` on a child's control channel without ever waiting on a child that does
/// not serve it: the send runs on a short-lived thread if the child is not receiving right now.
pub(crate) fn signal_handle(h: &Arc<Handle>, sig: u64) {
    signal_handle_then(h, sig, || {});
}

/// [`signal_handle`], then `then` once the child has the signal (or the send failed): at once
/// if no thread can be started for the send.
pub(crate) fn signal_handle_then(h: &Arc<Handle>, sig: u64, then: impl FnOnce() + Send + 'static) {
    let h = h.clone();
    let msg = Message::Short(msgtype::SIGNAL, sig, 0);
    let then = Arc::new(Mutex::new(Some(then)));
    let run = then.clone();
    let spawned = crate::thread::Builder::new()
        .name(String::from("kill"))
        .spawn(move || {
            let _ = libeurali::call_send(&h, msg);
            if let Some(f) = run.lock().ok().and_then(|mut f| f.take()) {
                f();
            }
        });
    if spawned.is_err()
        && let Some(f) = then.lock().ok().and_then(|mut f| f.take())
    {
        f();
    }
}

/// Remembers a child's control channel (so that a kill of this process reaches it too).
pub(crate) fn add_child(id: u64, control: Arc<Handle>) {
    if let Some(rt) = crate::sys::runtime() {
        let mut c = rt.children.lock().unwrap_or_else(|e| e.into_inner());
        c.push((id, control));
    }
}

/// Forgets a child (it was waited for).
pub(crate) fn remove_child(id: u64) {
    if let Some(rt) = crate::sys::runtime() {
        let mut c = rt.children.lock().unwrap_or_else(|e| e.into_inner());
        c.retain(|(i, _)| *i != id);
    }
}

/// Sleeps `us` microseconds in slices, ending the thread if the process is killed meanwhile.
pub(crate) fn sleep(us: u64) {
    const SLICE: u64 = 20_000;
    let start = crate::sys::now_micros();
    loop {
        checkpoint();
        report_heap_if_due();
        let done = crate::sys::now_micros().saturating_sub(start);
        if done >= us {
            return;
        }
        crate::sys::sleep_micros((us - done).min(SLICE));
    }
}

/// A READ of a terminal came back interrupted (Ctrl-C): if a kill of this process follows (the
/// shell ends its foreground job), end here; otherwise the caller reads again. Waits up to
/// half a second for the kill, so that a killed reader does not queue a new read at the
/// terminal and take the next line typed for the shell.
fn after_interrupt() {
    let start = crate::sys::now_micros();
    while crate::sys::now_micros().saturating_sub(start) < 500_000 {
        checkpoint();
        crate::sys::sleep_micros(5_000);
    }
    checkpoint();
}

/// A new handle to this process's standard input stream (`copy_rendezvous`), for a child to
/// inherit or a device to forward to; `None` if there is none. Bytes this process has already
/// buffered from it are not seen through the copy.
pub fn stdin_handle() -> Option<Handle> {
    let rt = crate::sys::runtime()?;
    let st = rt.stdin.lock().unwrap_or_else(|e| e.into_inner());
    st.handle.as_ref().and_then(|h| h.try_clone().ok())
}

/// A new handle to this process's standard output stream, after flushing what is buffered (so a
/// child's output follows ours); `None` if there is none or nobody takes it any more.
pub fn stdout_handle() -> Option<Handle> {
    let _ = stdout_flush();
    let rt = crate::sys::runtime()?;
    let out = rt.stdout.lock().unwrap_or_else(|e| e.into_inner());
    match (&out.handle, out.broken) {
        (Some(h), false) => h.try_clone().ok(),
        _ => None,
    }
}

/// A new handle to this process's standard error stream: its own, or standard output's when
/// stderr shares it (no `/.eurali/stderr` was mounted).
pub fn stderr_handle() -> Option<Handle> {
    let rt = crate::sys::runtime()?;
    let own = {
        let err = rt.stderr.lock().unwrap_or_else(|e| e.into_inner());
        err.as_ref().map(|h| h.try_clone().ok())
    };
    match own {
        Some(h) => h,
        None => stdout_handle(),
    }
}

/// Runs `f` holding the process's spawn lock (`process::Command` serialises its execs with it).
pub(crate) fn with_spawn_lock<R>(f: impl FnOnce() -> R) -> R {
    match crate::sys::runtime() {
        Some(rt) => {
            let _g = rt.spawn.lock().unwrap_or_else(|e| e.into_inner());
            f()
        }
        None => f(),
    }
}

/// Takes this process's standard input handle for good (a server that serves a protocol on its
/// stdin, as upstream's servers do); later reads of stdin see EOF.
pub fn take_stdin_handle() -> Option<Handle> {
    let rt = crate::sys::runtime()?;
    let mut st = rt.stdin.lock().unwrap_or_else(|e| e.into_inner());
    st.eof = true;
    st.buf.clear();
    st.pos = 0;
    st.handle.take()
}

/// Writes a message about an unrecoverable runtime error and ends the thread.
pub fn fatal(msg: &str) -> ! {
    let _ = stderr_write(msg.as_bytes());
    let _ = stderr_write(b"\n");
    crate::sys::abort_process(msg)
}

/// A panic reached the top of a thread: report it on stderr. Formats on the stack (no
/// allocation, so an exhausted heap can still be reported); cut at 512 bytes.
pub fn panic_message(info: &core::panic::PanicInfo<'_>) {
    use core::fmt::Write as _;
    let mut line = FixedBuf::new();
    let _ = match known_location(info.location()) {
        Some(l) => write!(
            line,
            "panicked at {}:{}:{}:\n{}\n",
            l.file(),
            l.line(),
            l.column(),
            info.message()
        ),
        None => write!(line, "panicked:\n{}\n", info.message()),
    };
    let _ = stdout_flush();
    let _ = stderr_write(line.as_bytes());
}

/// A panic's location, unless the build left it out: the real-kernel build has
/// `-Zlocation-detail=none`, where every location reads `<redacted>:0:0` (no real one has line 0).
pub(crate) fn known_location<'a>(
    l: Option<&'a core::panic::Location<'a>>,
) -> Option<&'a core::panic::Location<'a>> {
    l.filter(|l| l.line() != 0)
}

/// Text formatted into a fixed buffer on the stack; what does not fit is cut at a char boundary.
pub(crate) struct FixedBuf {
    buf: [u8; 512],
    len: usize,
}

impl FixedBuf {
    pub(crate) const fn new() -> FixedBuf {
        FixedBuf {
            buf: [0; 512],
            len: 0,
        }
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl core::fmt::Write for FixedBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

pub(crate) fn stdout_write(buf: &[u8]) -> io::Result<usize> {
    checkpoint();
    let Some(rt) = crate::sys::runtime() else {
        return crate::sys::fallback_stdout(buf);
    };
    let mut out = rt.stdout.lock().unwrap_or_else(|e| e.into_inner());
    out.buf.extend_from_slice(buf);
    if let Some(nl) = out.buf.iter().rposition(|&b| b == b'\n') {
        write_out(&mut out, nl + 1)?;
    } else if out.buf.len() >= stream::MAX_TRANSFER {
        let n = out.buf.len();
        write_out(&mut out, n)?;
    }
    Ok(buf.len())
}

pub(crate) fn stdout_flush() -> io::Result<()> {
    let Some(rt) = crate::sys::runtime() else {
        return Ok(());
    };
    let mut out = rt.stdout.lock().unwrap_or_else(|e| e.into_inner());
    let n = out.buf.len();
    write_out(&mut out, n)
}

/// Sends the first `n` buffered bytes; on failure the bytes are dropped. A gone reader
/// (CLOSED) marks the stream broken, so later prints fail fast; any other failure is kept for
/// [`exit`] (the first one) and later writes try again.
fn write_out(out: &mut StdoutState, n: usize) -> io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let result = match (&out.handle, out.broken) {
        (_, true) => Err(io::Error::from(libeurali::Error::Closed)),
        (None, _) => Ok(()),
        (Some(h), false) => write_all_handle(h, &out.buf[..n]),
    };
    if let Err(e) = &result {
        if e.kind() == io::ErrorKind::BrokenPipe {
            out.broken = true;
        } else if out.failed.is_none() {
            out.failed = Some(e.duplicate());
        }
        if undelivered(e) {
            libeurali::debug_write(&String::from_utf8_lossy(&out.buf[..n]));
        }
    }
    out.buf.drain(..n);
    result
}

/// Whether a failed stream write never reached a server (no handle, no memory for the
/// message): its bytes then go to the kernel's debug line rather than nowhere. A reader that
/// is gone (CLOSED) or a server that refused the bytes (a full disk behind a redirection) is
/// the program's error to report, never a reason to paint the screen.
fn undelivered(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(c) if c != libeurali::Error::Closed.code() as i32 && c <= 12)
}

fn write_all_handle(h: &Handle, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let k = stream::write(h, data)?;
        if k == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[k..];
    }
    Ok(())
}

pub(crate) fn stderr_write(buf: &[u8]) -> io::Result<usize> {
    checkpoint();
    let Some(rt) = crate::sys::runtime() else {
        return crate::sys::fallback_stderr(buf);
    };
    let _ = stdout_flush();
    let err = rt.stderr.lock().unwrap_or_else(|e| e.into_inner());
    let result = match &*err {
        Some(h) => write_all_handle(h, buf),
        None => {
            drop(err);
            let out = rt.stdout.lock().unwrap_or_else(|e| e.into_inner());
            match (&out.handle, out.broken) {
                (Some(h), false) => write_all_handle(h, buf),
                (Some(_), true) => Err(io::Error::from(libeurali::Error::Closed)),
                (None, _) => Err(io::Error::from(libeurali::Error::InvalidHandle)),
            }
        }
    };
    if let Err(e) = &result
        && undelivered(e)
    {
        // Errors matter most when nobody reads them: with no stream to take them, keep them
        // on the kernel's debug line.
        libeurali::debug_write(&String::from_utf8_lossy(buf));
    }
    result.map(|()| buf.len())
}

fn stdin_refill(st: &mut StdinState) -> io::Result<()> {
    if st.pos < st.buf.len() || st.eof {
        return Ok(());
    }
    let Some(h) = &st.handle else {
        st.eof = true;
        return Ok(());
    };
    st.buf.resize(4096, 0);
    st.pos = 0;
    report_heap_if_due();
    loop {
        match stream::read(h, &mut st.buf) {
            Ok(stream::ReadReply::Data(n)) => st.buf.truncate(n),
            Ok(stream::ReadReply::Eof) => {
                st.buf.clear();
                st.eof = true;
            }
            Ok(stream::ReadReply::Interrupted) => {
                after_interrupt();
                continue;
            }
            Err(e) => {
                st.buf.clear();
                checkpoint();
                return Err(e.into());
            }
        }
        checkpoint();
        return Ok(());
    }
}

pub(crate) fn stdin_read(out: &mut [u8]) -> io::Result<usize> {
    let Some(rt) = crate::sys::runtime() else {
        return Ok(0);
    };
    let _ = stdout_flush();
    let mut st = rt.stdin.lock().unwrap_or_else(|e| e.into_inner());
    stdin_refill(&mut st)?;
    let avail = &st.buf[st.pos..];
    let n = avail.len().min(out.len());
    out[..n].copy_from_slice(&avail[..n]);
    st.pos += n;
    Ok(n)
}

pub(crate) fn stdin_fill_buf() -> io::Result<&'static [u8]> {
    let Some(rt) = crate::sys::runtime() else {
        return Ok(&[]);
    };
    let _ = stdout_flush();
    let mut st = rt.stdin.lock().unwrap_or_else(|e| e.into_inner());
    stdin_refill(&mut st)?;
    let avail: &[u8] = &st.buf[st.pos..];
    // Safety: the buffer lives in the process's Runtime, which outlives every thread of the
    // process, and is only refilled by `stdin_fill_buf`/`stdin_read` after `consume` emptied it;
    // std's StdinLock makes the same promise through its lock.
    Ok(unsafe { core::slice::from_raw_parts(avail.as_ptr(), avail.len()) })
}

/// One byte of standard input without reading ahead: from what this process has buffered,
/// else one byte requested from the stream; `None` at the end of the stream.
pub(crate) fn stdin_byte_unbuffered() -> io::Result<Option<u8>> {
    let Some(rt) = crate::sys::runtime() else {
        return Ok(None);
    };
    let mut st = rt.stdin.lock().unwrap_or_else(|e| e.into_inner());
    if st.pos < st.buf.len() {
        st.pos += 1;
        return Ok(Some(st.buf[st.pos - 1]));
    }
    if st.eof {
        return Ok(None);
    }
    let Some(h) = &st.handle else {
        return Ok(None);
    };
    let mut byte = [0u8];
    report_heap_if_due();
    loop {
        let r = stream::read(h, &mut byte);
        checkpoint();
        return match r? {
            stream::ReadReply::Data(_) => Ok(Some(byte[0])),
            stream::ReadReply::Eof => {
                st.eof = true;
                Ok(None)
            }
            stream::ReadReply::Interrupted => {
                after_interrupt();
                continue;
            }
        };
    }
}

/// Reads one line (through its `\n`) from standard input without reading past it (see
/// [`stdin_byte_unbuffered`]): what follows the line stays in the stream for whoever reads next
/// (a child started afterwards). Appends to `out`; returns the bytes read, 0 at the end.
pub(crate) fn stdin_read_line_unbuffered(out: &mut Vec<u8>) -> io::Result<usize> {
    let _ = stdout_flush();
    let start = out.len();
    while let Some(b) = stdin_byte_unbuffered()? {
        out.push(b);
        if b == b'\n' {
            break;
        }
    }
    Ok(out.len() - start)
}

pub(crate) fn stdin_consume(amt: usize) {
    if let Some(rt) = crate::sys::runtime() {
        let mut st = rt.stdin.lock().unwrap_or_else(|e| e.into_inner());
        st.pos = (st.pos + amt).min(st.buf.len());
    }
}

/// The body of every thread made by [`crate::thread::spawn`] (see `sys::THREAD_ENTRY`).
pub extern "C-unwind" fn thread_main(arg: u64) -> ! {
    crate::thread::run_spawned(arg)
}

#[cfg(target_os = "none")]
pub use crate::sys::on_panic;

/// How often the liveness watcher cycles its spare handles (see [`watch`]).
pub const WATCH_INTERVAL_MS: u64 = 50;

/// The watcher's sleeps are this long, so that [`hurry_watcher`] is heard soon.
const WATCH_SLICE_MS: u64 = 5;

/// Rounds the watcher runs every [`WATCH_SLICE_MS`] after [`hurry_watcher`].
const HURRIED_ROUNDS: u32 = 4;

/// How often the watcher cycles once nothing happened for [`QUICK_ROUNDS`] rounds: a process
/// that sits waiting (init, login, a shell at its prompt) should cost the machine nothing, and
/// every wake-up of a sleeping thread is a system call (hosted mode: a trapped one).
pub const WATCH_IDLE_INTERVAL_MS: u64 = 250;

/// Rounds at [`WATCH_INTERVAL_MS`] after a new watch or a hurry (two seconds' worth).
const QUICK_ROUNDS: u32 = 40;

/// A peer process has just ended (a child's status came): its handles go when its last thread
/// has, so the watcher's next few rounds come every few milliseconds rather than at its usual
/// interval — the pipes the child wrote see EOF at once, not up to 50 ms later (what a loop of
/// `x=$(program)` would wait each time).
pub fn hurry_watcher() {
    if let Some(rt) = crate::sys::runtime() {
        let mut w = rt.watcher.lock().unwrap_or_else(|e| e.into_inner());
        if w.running {
            w.hurry = HURRIED_ROUNDS;
            if w.quick == 0 {
                // The watcher sleeps its long idle sleep and hears this only after it: one
                // round now (the peer's handles may be gone already), quick ones from its
                // next wake-up.
                for e in &w.entries {
                    e.cycle();
                }
            }
            w.quick = QUICK_ROUNDS;
        }
    }
}

/// A registration with the process's liveness watcher; [`Watch::stop`] ends it.
#[derive(Clone)]
pub struct Watch(Arc<WatchEntry>);

impl Watch {
    pub fn stop(&self) {
        self.0.done.store(true, Ordering::Release);
    }

    /// Looks now rather than at the watcher's next round: when this process knows the last
    /// peer handle has just gone, the server is woken with CLOSED at once.
    pub fn check_now(&self) {
        self.0.cycle();
    }
}

impl WatchEntry {
    /// Closes the spare (which wakes the server if nobody else holds the rendezvous) and takes
    /// a new one.
    fn cycle(&self) {
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        drop(spare.take());
        *spare = self.target.try_clone().ok();
    }
}

/// Watches `target`, a handle on which a server thread waits in `receive`, so that the thread is
/// woken with CLOSED once every other reference to the rendezvous is gone — also when the peers'
/// processes died without closing anything (the kernel's receive never notices that, §3.5).
///
/// The process's watcher thread holds a spare copy of `target` and every
/// [`WATCH_INTERVAL_MS`] closes it and takes a new one: that close leaves exactly two references
/// (and so wakes the waiter) only when nobody else holds the rendezvous any more.
pub fn watch(target: Arc<Handle>) -> io::Result<Watch> {
    let rt = crate::sys::runtime().ok_or(io::Error::const_msg(
        io::ErrorKind::Unsupported,
        "no process runtime",
    ))?;
    let spare = target.try_clone()?;
    let entry = Arc::new(WatchEntry {
        target,
        spare: Mutex::new(Some(spare)),
        done: AtomicBool::new(false),
    });
    let mut w = rt.watcher.lock().unwrap_or_else(|e| e.into_inner());
    w.entries.push(entry.clone());
    w.quick = QUICK_ROUNDS;
    if !w.running {
        crate::thread::Builder::new()
            .name("watcher".into())
            .spawn(watcher_main)?;
        w.running = true;
    }
    Ok(Watch(entry))
}

fn watcher_main() {
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    loop {
        let quick = {
            let mut w = rt.watcher.lock().unwrap_or_else(|e| e.into_inner());
            w.quick = w.quick.saturating_sub(1);
            w.quick > 0 || w.hurry > 0
        };
        if !quick {
            // Idle: one long sleep (a hurry meanwhile ran a round itself).
            crate::sys::sleep_micros(WATCH_IDLE_INTERVAL_MS * 1000);
        }
        let mut slept = if quick { 0 } else { WATCH_INTERVAL_MS };
        while slept < WATCH_INTERVAL_MS {
            crate::sys::sleep_micros(WATCH_SLICE_MS * 1000);
            slept += WATCH_SLICE_MS;
            let mut w = rt.watcher.lock().unwrap_or_else(|e| e.into_inner());
            if w.hurry > 0 {
                w.hurry -= 1;
                break;
            }
        }
        let entries = {
            let mut w = rt.watcher.lock().unwrap_or_else(|e| e.into_inner());
            w.entries.retain(|e| !e.done.load(Ordering::Acquire));
            if w.entries.is_empty() {
                w.running = false;
                return;
            }
            w.entries.clone()
        };
        for e in entries {
            e.cycle();
        }
    }
}
