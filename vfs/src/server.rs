//! The file-server framework: a server is a [`FileSystem`] and one call to [`serve`].
//!
//! Threads: the thread that calls [`serve`] receives on the mount handle and only receives (see
//! [`crate::proto`]): for each `FS_OPEN` it starts one session thread, which does the open and
//! then answers that session's requests until the client closes it. A `Serve` open (for `bind`)
//! turns its session thread into another receive-only loop for the subtree.
//!
//! How a session ends:
//! - the client sends `FS_CLOSE` (what the client library does), or drops its handle while the
//!   session thread waits in receive (close wakes a waiter when exactly two references remain,
//!   ABI §3.5), or a reply fails with CLOSED;
//! - a client that died (process death drops handles without waking anyone), or that closed while
//!   the thread was busy, leaves the thread blocked in receive or in its reply. A **sweep** finds
//!   those: for each live session it copies the session's handle and closes the copy at once.
//!   With a live client there are three references and nothing happens; with the client gone the
//!   close leaves exactly the thread's own reference, which wakes it with CLOSED (a blocked reply
//!   gets its message back the same way). The server sweeps before starting a session whenever
//!   [`SWEEP_AT`] sessions are live, so dead clients cost at most a bounded number of threads.
//!
//! Malformed messages: on the mount handle they are dropped (and a `send_receive` among them gets
//! `FS_ERR Invalid`, detected by the next receive failing with RECV_BLOCKING); on a session they
//! get `FS_ERR Invalid` and the session goes on. A session beyond [`MAX_SESSIONS`], or beyond
//! its client's share, is refused by closing its handle (the client reads that as `Busy`).
//!
//! # Clients and their shares
//!
//! The kernel names no sender, and the processes of a session share their mount handles, so
//! the finest client a server can tell apart is the subtree session ([`Op::Serve`]) an open
//! comes through. A subtree opened with [`Op::ServeAs`] (login does so for an ordinary user's
//! binds) charges every session through it, and through subtrees opened inside it, to that
//! account; the server's own mount (root, init, login, the password service) is the system's.
//! Sessions charged to an account: at most [`SCOPE_SESSIONS`] through one subtree, at most
//! [`ACCOUNT_SESSIONS`] per account, and all accounts together leave [`RESERVED_SESSIONS`] of
//! the [`MAX_SESSIONS`] to the system. The account is also handed to the file system
//! ([`FileSystem::open_as`], [`FileSystem::mkdir_as`]), which owns what it creates to it
//! (the ramdisk's quotas), and answers [`Request::Usage`] for it.
//!
//! The root of a session's scope (the server's root, or a `Serve` subtree's) is a mount point of
//! its client's namespace: removing or renaming it, or renaming onto it, is refused with
//! `MountPoint` before the file system sees it, so no client removes the mount it stands in (a
//! user their own home).
//!
//! A session thread whose session ended waits for the next one (at most [`MAX_IDLE`] do), since
//! waking a thread costs much less than starting one; they end when the server does.
//!
//! # Memory one client can make a server hold
//!
//! On the real kernel a server's heap is 4 MiB and a failed allocation halts the machine; the
//! kernel cannot tell clients apart, so the bounds are per session, and sessions are at most
//! [`MAX_SESSIONS`]:
//!
//! - an open's request is at most [`MAX_NAME_MSG`] bytes (its path, decoded, and the path's
//!   components: a few KiB while the open runs; a `Serve` session keeps its root path);
//!   components longer than [`MAX_NAME`] are refused (`NameTooLong`) before the file system
//!   sees them;
//! - writes are served from the client's own chunk, and `FS_READ_INTO` fills the client's chunk:
//!   no server memory; an `FS_READ` gets a chunk of at most [`MAX_SERVER_READ`] bytes (frames,
//!   not heap), which a client that never takes its reply leaves with the server;
//! - every reply is encoded straight into its chunk (no heap copy); a directory listing is the
//!   one reply built on the heap first (the [`FileSystem::read_dir`] vector), so listings are
//!   built one at a time per server, and a listing longer than [`MAX_REPLY`] is `TooBig`;
//! - what a file system keeps for its clients (files, names, table entries) is bounded by the
//!   file system: see [`crate::ramdisk::Limits`] and [`crate::procfs::MAX_PROCS`];
//! - proxies that deny an open ([`crate::view`]) answer it on a thread of their own, at most
//!   [`MAX_REFUSING`] at once per proxy ([`Refusals`]).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libeurali::{Error, Handle, MemoryChunk, Message, Word, receive, send};

use crate::proto::*;
use libeurali::spawn_pooled as spawn;
use libeurali::sync::Lock;

/// A file system a server exposes. Paths are lists of validated components (no `.`, `..` or
/// empty ones) from the server's root. Implementations lock as they need; every method may be
/// called from several session threads at once.
pub trait FileSystem: Send + Sync + 'static {
    /// What an open names (an inode number, say).
    type Node: Clone + Send + 'static;

    /// Opens (and per `flags` creates or truncates) the file or directory at `path`.
    fn open(&self, path: &[&str], flags: u32) -> Result<Self::Node, FsError>;
    /// Metadata (`readonly` is filled in by the framework).
    fn stat(&self, node: &Self::Node) -> Result<Meta, FsError>;
    /// Reads at `offset` into `buf`; 0 at or past the end.
    fn read(&self, node: &Self::Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError>;
    /// Writes `data` at `offset`, or at the end when `offset` is `None`; returns the end offset.
    fn write(&self, node: &Self::Node, offset: Option<u64>, data: &[u8]) -> Result<u64, FsError>;
    fn set_len(&self, node: &Self::Node, len: u64) -> Result<(), FsError>;
    /// Entries sorted by name. Called under the server's listing lock (one listing at a time,
    /// see the module doc), so it should answer from memory, not wait on anything.
    fn read_dir(&self, node: &Self::Node) -> Result<Vec<Entry>, FsError>;
    fn mkdir(&self, path: &[&str]) -> Result<(), FsError>;
    /// Removes a file (`dir` false) or an empty directory (`dir` true).
    fn remove(&self, path: &[&str], dir: bool) -> Result<(), FsError>;
    fn rename(&self, from: &[&str], to: &[&str]) -> Result<(), FsError>;

    /// [`FileSystem::open`] for a session charged to `account` (`None`: the system's, see
    /// [`Op::ServeAs`]): a file system with quotas makes a created file that account's.
    fn open_as(
        &self,
        account: Option<&str>,
        path: &[&str],
        flags: u32,
    ) -> Result<Self::Node, FsError> {
        let _ = account;
        self.open(path, flags)
    }
    /// [`FileSystem::mkdir`] for a session charged to `account` (as [`FileSystem::open_as`]).
    fn mkdir_as(&self, account: Option<&str>, path: &[&str]) -> Result<(), FsError> {
        let _ = account;
        self.mkdir(path)
    }
    /// Makes every write so far durable ([`Request::Sync`]): a file system with a write cache
    /// writes it out and flushes its device. Nothing to do for one in memory.
    fn sync(&self) -> Result<(), FsError> {
        Ok(())
    }
    /// Space used and allowed, on the whole and by `account` ([`Request::Usage`]); `Invalid`
    /// where the file system keeps no figures.
    fn usage(&self, account: Option<&str>) -> Result<Usage, FsError> {
        let _ = account;
        Err(FsError::Invalid)
    }
}

/// Live sessions before a sweep for dead clients.
pub const SWEEP_AT: usize = 24;
/// Most sessions at once (the kernel allows 64 threads per process).
pub const MAX_SESSIONS: usize = 56;
/// Sessions only the system's own clients can have: sessions charged to accounts
/// ([`Op::ServeAs`]) are together at most `MAX_SESSIONS - RESERVED_SESSIONS`.
pub const RESERVED_SESSIONS: usize = 16;
/// Most live sessions of one account (all its subtrees, and the subtree sessions themselves).
pub const ACCOUNT_SESSIONS: usize = 24;
/// Most live sessions opened through one subtree session (one `bind` of a login, say): the
/// finest client the server can tell apart, since the kernel names no sender (ABI §5).
pub const SCOPE_SESSIONS: usize = 16;

/// Splits a server-relative path (`""` or `/a/b`) into components, refusing anything that is not
/// in normal form.
pub fn split_path(path: &str) -> Result<Vec<&str>, FsError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path.strip_prefix('/').ok_or(FsError::Invalid)?;
    let mut out = Vec::new();
    for c in rest.split('/') {
        if c.is_empty() || c == "." || c == ".." || c.contains('\0') {
            return Err(FsError::Invalid);
        }
        if c.len() > MAX_NAME {
            return Err(FsError::NameTooLong);
        }
        out.push(c);
    }
    Ok(out)
}

/// The part of a server a session sees: a subtree, perhaps read-only, perhaps charged to an
/// account.
struct Scope {
    root: Vec<String>,
    readonly: bool,
    /// The account its sessions are charged to (`None`: the system's).
    account: Option<Arc<Account>>,
    /// Live sessions opened through it (changed under [`Ctx::live`]'s lock).
    sessions: AtomicUsize,
}

impl Scope {
    fn new(root: Vec<String>, readonly: bool, account: Option<Arc<Account>>) -> Scope {
        Scope {
            root,
            readonly,
            account,
            sessions: AtomicUsize::new(0),
        }
    }

    fn account_name(&self) -> Option<&str> {
        self.account.as_ref().map(|a| a.name.as_str())
    }
}

/// An account sessions are charged to ([`Op::ServeAs`]); one per name per server.
struct Account {
    name: String,
    /// Its live sessions (changed under [`Ctx::live`]'s lock).
    sessions: AtomicUsize,
}

/// Most accounts one server tells apart; a `ServeAs` for another is `Busy`.
pub const MAX_ACCOUNTS: usize = 64;

struct Ctx<F> {
    fs: F,
    /// Handle numbers of the live session threads (see the module doc's sweep), and how many
    /// of them are charged to accounts.
    live: Lock<(Vec<u32>, usize)>,
    /// The accounts seen so far ([`MAX_ACCOUNTS`]).
    accounts: Lock<Vec<Arc<Account>>>,
    /// Session threads waiting for their next session, and whether the server has stopped.
    idle: Lock<(Vec<Arc<Worker>>, bool)>,
    /// Held while a directory listing is built and encoded: the listing ([`FileSystem::read_dir`]'s
    /// vector) is the one per-request heap allocation whose size a client chooses (by filling a
    /// directory), so at most one exists at a time, whatever the number of sessions asking. The
    /// reply itself is encoded straight into its chunk (no heap) and sent after the lock is
    /// released, so a client that never receives its reply holds no heap.
    listing: Lock<()>,
    /// Handle numbers the server's mount loops receive on (for a kill to wake them).
    mounts: Lock<Vec<u32>>,
    /// Set when the server's process was killed: every thread of the server ends.
    killed: AtomicBool,
    /// The kill hook (`libeurali::kill`), forgotten with the server.
    _on_kill: libeurali::kill::Registration,
}

/// A session to serve: the session handle, the scope, the account it is charged to, and the
/// open request.
type Job = (Handle, Arc<Scope>, Option<Arc<Account>>, Opening);
/// An open's request, and its chunk, which goes back to the client with the first reply.
type Opening = (Result<OpenRequest, FsError>, Option<MemoryChunk>);

/// An idle session thread: it waits in `receive` on `wake_rx` for a message on `wake_tx`, and
/// then takes its next session from `job` (or ends, when there is none).
struct Worker {
    job: Lock<Option<Job>>,
    wake_tx: Handle,
    wake_rx: Handle,
}

/// A running server, shareable with the threads that serve it.
pub struct Server<F: FileSystem> {
    ctx: Arc<Ctx<F>>,
}

impl<F: FileSystem> Clone for Server<F> {
    fn clone(&self) -> Self {
        Server {
            ctx: self.ctx.clone(),
        }
    }
}

impl<F: FileSystem> Server<F> {
    pub fn new(fs: F) -> Server<F> {
        Server {
            ctx: Arc::new_cyclic(|me: &alloc::sync::Weak<Ctx<F>>| {
                let me = me.clone();
                Ctx {
                    fs,
                    live: Lock::new((Vec::new(), 0)),
                    accounts: Lock::new(Vec::new()),
                    idle: Lock::new((Vec::new(), false)),
                    listing: Lock::new(()),
                    mounts: Lock::new(Vec::new()),
                    killed: AtomicBool::new(false),
                    _on_kill: libeurali::kill::on_kill(Arc::new(move || {
                        if let Some(ctx) = me.upgrade() {
                            killed(&ctx);
                        }
                    })),
                }
            }),
        }
    }

    /// The file system.
    pub fn fs(&self) -> &F {
        &self.ctx.fs
    }

    /// Serves the mount protocol on `mount` until every other reference to it is gone; then
    /// wakes the sessions whose clients are gone too, so that they end (see [`Server::sweep`]).
    pub fn serve(&self, mount: &Handle) {
        self.ctx.mounts.lock().push(mount.raw());
        mount_loop(
            &self.ctx,
            mount,
            &Arc::new(Scope::new(Vec::new(), false, None)),
        );
        {
            let mut m = self.ctx.mounts.lock();
            if let Some(i) = m.iter().position(|&n| n == mount.raw()) {
                m.swap_remove(i);
            }
        }
        sweep(&self.ctx);
        stop_workers(&self.ctx);
    }

    /// Starts [`Server::serve`] on a new thread of this process.
    pub fn spawn(&self, mount: Handle) -> Result<(), Error> {
        let s = self.clone();
        spawn(move || s.serve(&mount))
    }

    /// Live sessions.
    pub fn sessions(&self) -> usize {
        self.ctx.live.lock().0.len()
    }

    /// Session threads waiting for their next session (at most [`MAX_IDLE`]).
    pub fn idle_threads(&self) -> usize {
        self.ctx.idle.lock().0.len()
    }

    /// Wakes every session whose client is gone (see the module doc).
    pub fn sweep(&self) {
        sweep(&self.ctx)
    }
}

/// Starts a server for `fs` on a new thread of this process; returns the handle to mount. The
/// server ends once every other reference to that handle is gone.
pub fn start<F: FileSystem>(fs: F) -> Result<Handle, Error> {
    let (m, c) = libeurali::new_rendezvous()?;
    Server::new(fs).spawn(m)?;
    Ok(c)
}

/// [`start`], with a [`Probe`] of the server's mount: for a starter that must learn when every
/// other reference to the mount is gone (login, at the end of a session: see
/// `session::wait_for_namespace_end`).
pub fn start_probed<F: FileSystem>(fs: F) -> Result<(Handle, Probe), Error> {
    let (m, c) = libeurali::new_rendezvous()?;
    let raw = m.raw();
    Server::new(fs).spawn(m)?;
    Ok((c, Probe { raw, ended: false }))
}

/// What [`Probe::unreferenced`] sends: no request of the protocol, so the mount loop drops it.
pub const PROBE: u64 = 0x11FF;

/// The number of a server's own mount handle ([`start_probed`]), kept by the process that
/// started it (the server runs in the same process). Hold no other reference to the mount in
/// this process: a spare would keep [`Probe::unreferenced`] from ever answering true.
#[derive(Debug)]
pub struct Probe {
    raw: u32,
    ended: bool,
}

impl Probe {
    /// Whether the server's own handle is now the only reference to its mount (every client
    /// handle and every namespace that mounted it is gone). If so, wakes the server to end (a
    /// copy of its handle closed at once, as [`Server::sweep`] does; ABI §3.5) and answers true
    /// from then on without touching the number again. If not, the probe's message (a `Short`
    /// the mount loop drops) reached the server, or another sender's message was pending.
    ///
    /// Never blocks for long: the mount loop is back in `receive` as soon as it has handled an
    /// open, and the kernel fails a send with CLOSED at once when only the sender's own handle
    /// is left (§3.5).
    pub fn unreferenced(&mut self) -> bool {
        if self.ended {
            return true;
        }
        // The mount loop ends only when a close wakes it, and no close can while a client still
        // references the mount besides its own handle (two references left over the closed one);
        // once only its own handle is left, only our copy below closes anything. So the number
        // names the server's handle until we wake it. `ManuallyDrop`: never closed here.
        // Safety: as just said, the number is open and stays so during the send.
        let h = core::mem::ManuallyDrop::new(unsafe { Handle::from_raw(self.raw) });
        match send(&h, Message::Short(PROBE, 0, 0)) {
            Err(e) if e.error == Error::Closed => {
                // Safety: the same; the server still waits on the number.
                drop(unsafe { Handle::copy_raw(self.raw) });
                self.ended = true;
                true
            }
            _ => false,
        }
    }
}

/// Serves `fs` on `mount` on the calling thread (the usual body of a server's `main`).
pub fn serve<F: FileSystem>(fs: F, mount: &Handle) {
    Server::new(fs).serve(mount)
}

fn sweep<F>(ctx: &Ctx<F>) {
    let live = ctx.live.lock();
    for &raw in live.0.iter() {
        // Safety: a live session's handle stays open while it is listed (the thread removes it
        // under this lock before closing it).
        drop(unsafe { Handle::copy_raw(raw) });
    }
}

/// The server's process was killed: every thread of the server is woken and ends (a session's
/// client then sees its session closed, as when a server dies). The mount loops and sessions
/// wait in `receive` on their handles: a [`KILL_WAKE`](libeurali::msgtype::KILL_WAKE) there
/// wakes them (copies are taken under the lists' locks, so no number is reused meanwhile).
fn killed<F>(ctx: &Ctx<F>) {
    ctx.killed.store(true, Ordering::Release);
    stop_workers(ctx);
    let copies: Vec<Handle> = {
        let mounts = ctx.mounts.lock();
        let live = ctx.live.lock();
        mounts
            .iter()
            .chain(live.0.iter())
            // Safety: listed numbers stay open while listed (closed under these locks).
            .filter_map(|&raw| unsafe { Handle::copy_raw(raw) }.ok())
            .collect()
    };
    for h in copies {
        libeurali::kill::wake(h);
    }
}

fn mount_loop<F: FileSystem>(ctx: &Arc<Ctx<F>>, h: &Handle, scope: &Arc<Scope>) {
    loop {
        if ctx.killed.load(Ordering::Acquire) {
            return;
        }
        match receive(h) {
            Ok(Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(mut c))) => {
                let req = chunk_bytes(&mut c, MAX_NAME_MSG as u64, MAX_NAME_MSG)
                    .and_then(decode::<OpenRequest>);
                start_session(ctx, a, scope.clone(), (req, Some(c)));
            }
            Ok(other) => drop(other),
            Err(Error::RecvBlocking) => {
                // The message we dropped was a send_receive: its sender waits for our reply.
                let _ = send(h, err_msg(FsError::Invalid));
            }
            Err(Error::Closed) | Err(Error::InvalidHandle) => return,
            Err(_) => libeurali::yield_now(),
        }
    }
}

fn start_session<F: FileSystem>(ctx: &Arc<Ctx<F>>, a: Handle, scope: Arc<Scope>, req: Opening) {
    if ctx.live.lock().0.len() >= SWEEP_AT {
        sweep(ctx);
    }
    let raw = a.raw();
    // A subtree opened for an account is that account's session (login's binds for a user
    // take from the user's share, not from the system's reserve); else the scope's account.
    let account = match &req.0 {
        Ok(OpenRequest {
            op: Op::ServeAs(name),
            ..
        }) => account_for(ctx, &scope, name).ok(),
        _ => None,
    }
    .or_else(|| scope.account.clone());
    if !admit(ctx, raw, &scope, account.as_ref()) {
        // Sessions of clients that died may hold the share: wake them, give them a moment to
        // end, and look again.
        sweep(ctx);
        for _ in 0..8 {
            libeurali::yield_now();
        }
        if !admit(ctx, raw, &scope, account.as_ref()) {
            drop(a); // the client reads CLOSED on its fresh session as `Busy`
            return;
        }
    }
    // An idle session thread if there is one (starting a thread costs more than waking one).
    let worker = ctx.idle.lock().0.pop();
    if let Some(w) = worker {
        *w.job.lock() = Some((a, scope, account, req));
        // The worker is in (or on its way to) its receive: this send waits for it.
        if send(&w.wake_tx, Message::Short(0, 0, 0)).is_ok() {
            return;
        }
        // Not reachable while the worker lives; serve the job on a new thread instead.
        let Some(job) = w.job.lock().take() else {
            return;
        };
        return start_thread(ctx, raw, job);
    }
    start_thread(ctx, raw, (a, scope, account, req))
}

/// Counts a new session (handle number `raw`) through `scope`, charged to `account`, if the
/// limits allow it: at most [`MAX_SESSIONS`] in all; charged to an account, at most
/// [`SCOPE_SESSIONS`] through an account's scope, [`ACCOUNT_SESSIONS`] of the account, and
/// [`RESERVED_SESSIONS`] left to the system.
fn admit<F>(ctx: &Ctx<F>, raw: u32, scope: &Scope, account: Option<&Arc<Account>>) -> bool {
    let mut live = ctx.live.lock();
    if live.0.len() >= MAX_SESSIONS || live.0.try_reserve(1).is_err() {
        return false;
    }
    if let Some(acct) = account {
        if live.1 >= MAX_SESSIONS - RESERVED_SESSIONS
            || acct.sessions.load(Ordering::Relaxed) >= ACCOUNT_SESSIONS
            || (scope.account.is_some() && scope.sessions.load(Ordering::Relaxed) >= SCOPE_SESSIONS)
        {
            return false;
        }
        acct.sessions.fetch_add(1, Ordering::Relaxed);
        live.1 += 1;
    }
    scope.sessions.fetch_add(1, Ordering::Relaxed);
    live.0.push(raw);
    true
}

/// Uncounts the session `raw` through `scope` charged to `account` (under the live lock).
fn release(live: &mut (Vec<u32>, usize), raw: u32, scope: &Scope, account: Option<&Arc<Account>>) {
    if let Some(i) = live.0.iter().position(|&n| n == raw) {
        live.0.swap_remove(i);
        scope.sessions.fetch_sub(1, Ordering::Relaxed);
        if let Some(acct) = account {
            acct.sessions.fetch_sub(1, Ordering::Relaxed);
            live.1 -= 1;
        }
    }
}

/// Idle session threads kept for later sessions.
pub const MAX_IDLE: usize = 2;

fn start_thread<F: FileSystem>(ctx: &Arc<Ctx<F>>, raw: u32, job: Job) {
    let c = ctx.clone();
    let (scope, account) = (job.1.clone(), job.2.clone());
    // If no thread starts, the closure (and the handle in it) is dropped: take the number out.
    let started = spawn(move || worker_loop(&c, job));
    if started.is_err() {
        release(&mut ctx.live.lock(), raw, &scope, account.as_ref());
    }
}

/// A session thread: serves its session, then waits (up to [`MAX_IDLE`] threads do) for the
/// next one.
fn worker_loop<F: FileSystem>(ctx: &Arc<Ctx<F>>, first: Job) {
    let mut job = Some(first);
    let mut me: Option<Arc<Worker>> = None;
    while let Some((a, scope, account, req)) = job.take() {
        session(ctx, &a, scope.clone(), req);
        {
            let mut live = ctx.live.lock();
            release(&mut live, a.raw(), &scope, account.as_ref());
            drop(a); // closed under the lock: a sweep never copies a reused number
        }
        // Between sessions: the runtime's heap report, if due (a server's threads never pass
        // the runtime's own blocking points).
        libeurali::idle::point();
        if me.is_none() {
            me = libeurali::new_rendezvous().ok().map(|(wake_tx, wake_rx)| {
                Arc::new(Worker {
                    job: Lock::new(None),
                    wake_tx,
                    wake_rx,
                })
            });
        }
        let Some(w) = &me else { return };
        {
            let mut idle = ctx.idle.lock();
            if idle.1 || idle.0.len() >= MAX_IDLE {
                return;
            }
            idle.0.push(w.clone());
        }
        if receive(&w.wake_rx).is_err() {
            return;
        }
        job = w.job.lock().take();
    }
}

/// Ends the idle session threads; later ones end instead of idling.
fn stop_workers<F>(ctx: &Ctx<F>) {
    let idle = {
        let mut idle = ctx.idle.lock();
        idle.1 = true;
        core::mem::take(&mut idle.0)
    };
    for w in idle {
        // No job: the worker ends.
        let _ = send(&w.wake_tx, Message::Short(0, 0, 0));
    }
}

/// What a session serves after its open.
enum State<N> {
    Node {
        node: N,
        flags: u32,
        /// This session may not write.
        readonly: bool,
        /// No session of this scope or view may write (`Meta::mount_readonly`).
        mount_readonly: bool,
    },
    /// An operation that is answered once.
    Done(Result<(), FsError>),
    /// A subtree to serve with the mount protocol after the first reply.
    Serve(Arc<Scope>, Meta),
}

fn full_path<'a>(scope: &'a Scope, path: &'a str) -> Result<Vec<&'a str>, FsError> {
    let mut v: Vec<&str> = scope.root.iter().map(|s| s.as_str()).collect();
    v.extend(split_path(path)?);
    Ok(v)
}

/// The account a `ServeAs` opened through `scope` names (see [`Op::ServeAs`]).
fn account_for<F>(ctx: &Ctx<F>, scope: &Scope, name: &str) -> Result<Arc<Account>, FsError> {
    if let Some(a) = &scope.account {
        return match a.name == name {
            true => Ok(a.clone()),
            false => Err(FsError::Denied),
        };
    }
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(FsError::Invalid);
    }
    let mut all = ctx.accounts.lock();
    if let Some(a) = all.iter().find(|a| a.name == name) {
        return Ok(a.clone());
    }
    if all.len() >= MAX_ACCOUNTS || all.try_reserve(1).is_err() {
        return Err(FsError::Busy);
    }
    let a = Arc::new(Account {
        name: String::from(name),
        sessions: AtomicUsize::new(0),
    });
    all.push(a.clone());
    Ok(a)
}

fn open_state<F: FileSystem>(
    ctx: &Ctx<F>,
    scope: &Arc<Scope>,
    req: &OpenRequest,
) -> Result<State<F::Node>, FsError> {
    let fs = &ctx.fs;
    if scope.readonly && req.op.mutates(req.flags) {
        return Err(FsError::Denied);
    }
    // The scope's root is a mount point of the client's namespace (or the root of a bound
    // subtree): it stays, whatever is done inside it.
    let at_root = |p: &str| p.is_empty();
    match &req.op {
        Op::Remove | Op::Rmdir if at_root(&req.path) => return Err(FsError::MountPoint),
        Op::Rename(to) if at_root(&req.path) || at_root(to) => return Err(FsError::MountPoint),
        _ => {}
    }
    let who = scope.account_name();
    let path = full_path(scope, &req.path)?;
    let done = |r: Result<(), FsError>| Ok(State::Done(r));
    match &req.op {
        Op::Open => {
            let mut flags = req.flags;
            if flags & flags::APPEND != 0 {
                flags |= flags::WRITE;
            }
            if flags & (flags::CREATE | flags::TRUNCATE) != 0 && flags & flags::WRITE == 0 {
                return Err(FsError::Invalid);
            }
            let node = fs.open_as(who, &path, flags)?;
            Ok(State::Node {
                node,
                flags,
                readonly: scope.readonly || flags & flags::WRITE == 0,
                mount_readonly: scope.readonly || req.flags & flags::VIEWED != 0,
            })
        }
        Op::Mkdir => done(fs.mkdir_as(who, &path)),
        Op::Remove => done(fs.remove(&path, false)),
        Op::Rmdir => done(fs.remove(&path, true)),
        Op::Rename(to) => {
            let to = full_path(scope, to)?;
            done(fs.rename(&path, &to))
        }
        Op::Serve | Op::ServeAs(_) => {
            let account = match &req.op {
                Op::ServeAs(name) => Some(account_for(ctx, scope, name)?),
                _ => scope.account.clone(),
            };
            let node = fs.open_as(who, &path, flags::DIRECTORY)?;
            let mut meta = fs.stat(&node)?;
            if meta.kind != Kind::Dir {
                return Err(FsError::NotDir);
            }
            let readonly = scope.readonly || req.flags & flags::WRITE == 0;
            meta.readonly = readonly;
            meta.mount_readonly |= readonly;
            let root = path.iter().map(|s| String::from(*s)).collect();
            Ok(State::Serve(
                Arc::new(Scope::new(root, readonly, account)),
                meta,
            ))
        }
    }
}

fn session<F: FileSystem>(
    ctx: &Arc<Ctx<F>>,
    a: &Handle,
    scope: Arc<Scope>,
    (req, mut chunk): Opening,
) {
    let fs = &ctx.fs;
    let mut state = req.and_then(|r| open_state(ctx, &scope, &r));
    loop {
        if ctx.killed.load(Ordering::Acquire) {
            return;
        }
        let m = match receive(a) {
            Ok(m) => m,
            Err(Error::RecvBlocking) => {
                let _ = send(a, err_msg(FsError::Invalid));
                continue;
            }
            Err(_) => return,
        };
        if ctx.killed.load(Ordering::Acquire) {
            return; // the client's request goes unanswered: its session closes with us
        }
        if let Message::Short(FS_CLOSE, _, _) = m {
            return;
        }
        let (reply, end) = match &mut state {
            Err(e) => (err_msg(*e), true),
            Ok(State::Done(r)) => (
                match r {
                    Ok(()) => Message::Short(FS_OK, 0, 0),
                    Err(e) => err_msg(*e),
                },
                true,
            ),
            Ok(State::Serve(_, meta)) => (meta_msg(meta), false),
            Ok(State::Node {
                node,
                flags,
                readonly,
                mount_readonly,
            }) => (
                node_request(
                    fs,
                    &ctx.listing,
                    &scope,
                    node,
                    *flags,
                    (*readonly, *mount_readonly),
                    m,
                )
                .unwrap_or_else(err_msg),
                false,
            ),
        };
        // The open's chunk goes back with the first reply (see proto's "Chunks come back").
        let reply = match chunk.take() {
            Some(c) => with_open_chunk(reply, c),
            None => reply,
        };
        if send(a, reply).is_err() || end {
            return;
        }
        if let Ok(State::Serve(sub, _)) = &state {
            let sub = sub.clone();
            return mount_loop(ctx, a, &sub);
        }
    }
}

fn meta_msg(m: &Meta) -> Message {
    let (a, b) = m.to_words();
    Message::Short(FS_META, a, b)
}

/// How many bytes a read of at most `max` at `offset` asks of the file system.
fn read_size<F: FileSystem>(
    fs: &F,
    node: &F::Node,
    flags: u32,
    offset: u64,
    max: u64,
) -> Result<usize, FsError> {
    if flags & flags::READ == 0 && flags & flags::WRITE != 0 {
        return Err(FsError::Denied);
    }
    let meta = fs.stat(node)?;
    Ok(match meta.kind {
        Kind::Dir => return Err(FsError::IsDir),
        Kind::Device => (max as usize).min(MAX_DEVICE_IO),
        Kind::File => (max as usize)
            .min(MAX_IO)
            .min(meta.len.saturating_sub(offset) as usize),
    })
}

fn node_request<F: FileSystem>(
    fs: &F,
    listing: &Lock<()>,
    scope: &Scope,
    node: &F::Node,
    flags: u32,
    (readonly, mount_readonly): (bool, bool),
    m: Message,
) -> Result<Message, FsError> {
    let stat = || {
        fs.stat(node).map(|mut meta| {
            meta.mount_readonly |= mount_readonly;
            meta.readonly = readonly;
            meta
        })
    };
    match m {
        Message::Short(FS_STAT, _, _) => {
            let meta = stat()?;
            Ok(meta_msg(&meta))
        }
        Message::Long(FS_READ_INTO, Word::Value(offset), Word::Chunk(mut c)) => {
            let max = {
                let head = chunk_bytes(&mut c, 8, 8)?;
                u64::from_le_bytes(head.try_into().map_err(|_| FsError::Invalid)?)
            };
            if max > MAX_IO as u64 {
                return Err(FsError::Invalid);
            }
            let want = read_size(fs, node, flags, offset, max)?;
            let buf = chunk_bytes_mut(&mut c, want.max(8) as u64, MAX_IO)?;
            let n = if want == 0 {
                0
            } else {
                fs.read(node, offset, &mut buf[..want])?.min(want)
            };
            Ok(Message::Long(
                FS_DATA,
                Word::Value(n as u64),
                Word::Chunk(c),
            ))
        }
        Message::Short(FS_READ, offset, max) => {
            let want = read_size(fs, node, flags, offset, max)?.min(MAX_SERVER_READ);
            if want == 0 {
                return Ok(Message::Short(FS_OK, 0, 0));
            }
            let c = MemoryChunk::alloc_with(want, |buf| fs.read(node, offset, buf))??;
            let n = c.len();
            if n == 0 {
                return Ok(Message::Short(FS_OK, 0, 0));
            }
            Ok(Message::Long(
                FS_DATA,
                Word::Value(n as u64),
                Word::Chunk(c),
            ))
        }
        Message::Long(FS_WRITE, Word::Value(offset), Word::Chunk(mut c)) => {
            if readonly {
                return Err(FsError::Denied);
            }
            let len = {
                let head = chunk_bytes(&mut c, 8, 8)?;
                u64::from_le_bytes(head.try_into().map_err(|_| FsError::Invalid)?)
            };
            if len > MAX_IO as u64 {
                return Err(FsError::Invalid);
            }
            let data = &chunk_bytes(&mut c, 8 + len, MAX_IO + 8)?[8..];
            let at = (flags & flags::APPEND == 0).then_some(offset);
            let end = fs.write(node, at, data)?;
            Ok(Message::Long(FS_WRITTEN, Word::Value(end), Word::Chunk(c)))
        }
        Message::Long(FS_REQ, Word::Value(len), Word::Chunk(mut c)) => {
            let req: Request = decode(chunk_bytes(&mut c, len, MAX_NAME_MSG)?)?;
            let reply = match req {
                Request::Stat => Reply::Stat(stat()?),
                Request::ReadDir => {
                    let _one_at_a_time = listing.lock();
                    return reply_msg(&Reply::Entries(fs.read_dir(node)?));
                }
                Request::SetLen(n) => {
                    if readonly {
                        return Err(FsError::Denied);
                    }
                    fs.set_len(node, n)?;
                    Reply::Done
                }
                Request::Sync => {
                    fs.sync()?;
                    Reply::Done
                }
                Request::Usage => Reply::Usage(fs.usage(scope.account_name())?),
            };
            reply_msg(&reply)
        }
        _ => Err(FsError::Invalid),
    }
}

/// Opens a session on a mount handle whose server is known to reply (helper for servers that
/// proxy, such as [`crate::view`]): forwards the client's handle and request untouched.
/// Bounded as a client's own open is ([`crate::client::send_open`]): a proxy thread does not
/// block for ever on a dead server's mount (its client then reads its session as closed).
pub fn forward_open(mount: &Handle, a: Handle, req: &OpenRequest) -> Result<(), FsError> {
    crate::client::send_open(mount, a, req)
}

/// Most sessions one proxy refuses at once ([`Refusals`]): each is a thread (a 28 KiB stack
/// and one of the kernel's 64 threads per process) waiting for its client's first request, which
/// a client that never sends one, or died, would hold forever. Beyond them a refused session is
/// closed at once (the client reads CLOSED on a fresh session as `Busy`), so that clients
/// opening what a read-only view denies, in a loop, cannot take the threads of the process's
/// other servers.
pub const MAX_REFUSING: usize = 8;

/// The sessions a proxy is refusing now (see [`MAX_REFUSING`]): their handle numbers, for the
/// sweep. One per proxy (a process-wide list would mix up the processes of the in-process stub,
/// which share statics).
#[derive(Clone)]
pub struct Refusals(Arc<Lock<Vec<u32>>>);

impl Default for Refusals {
    fn default() -> Refusals {
        Refusals(Arc::new(Lock::new(Vec::new())))
    }
}

impl Refusals {
    pub fn new() -> Refusals {
        Refusals::default()
    }

    /// Sessions being refused now (at most [`MAX_REFUSING`]).
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answers the first request on `a` with `e` (nothing for `FS_CLOSE`), on a new thread,
    /// then ends the session. When [`MAX_REFUSING`] are under way, the sessions whose clients
    /// are gone are woken first (the sweep of the module doc); if none was, `a` is closed
    /// instead.
    pub fn refuse(&self, a: Handle, e: FsError) {
        let mut list = self.0.lock();
        if list.len() >= MAX_REFUSING {
            for &raw in list.iter() {
                // Safety: a listed number stays open while listed (its thread unlists it under
                // this lock before closing it).
                drop(unsafe { Handle::copy_raw(raw) });
            }
            drop(list);
            for _ in 0..8 {
                libeurali::yield_now();
            }
            list = self.0.lock();
            if list.len() >= MAX_REFUSING {
                drop(list);
                drop(a);
                return;
            }
        }
        let raw = a.raw();
        list.push(raw);
        let me = self.0.clone();
        // Still under the lock: if no thread starts, `a` is closed (with the closure) before
        // its number leaves the list, and no sweep can copy it in between.
        let started = spawn(move || {
            if let Ok(m) = receive(&a)
                && !matches!(m, Message::Short(FS_CLOSE, _, _))
            {
                let _ = send(&a, err_msg(e));
            }
            let mut list = me.lock();
            if let Some(i) = list.iter().position(|&n| n == a.raw()) {
                list.swap_remove(i);
            }
            drop(a);
        });
        if started.is_err()
            && let Some(i) = list.iter().position(|&n| n == raw)
        {
            list.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn paths_must_be_normal() {
        assert_eq!(split_path("").unwrap(), Vec::<&str>::new());
        assert_eq!(split_path("/a/b").unwrap(), vec!["a", "b"]);
        for bad in ["a", "/", "/a/", "//a", "/a/../b", "/.", "/a/./b", "/a\0"] {
            assert_eq!(split_path(bad), Err(FsError::Invalid), "{bad:?}");
        }
    }
}
