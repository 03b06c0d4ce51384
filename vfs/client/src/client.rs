//! The client side of the file protocol: opens through the kernel's mount table, sessions with
//! one method per request. Paths given here must be resolved already ([`crate::path::resolve`]);
//! std-shim's `fs` does that with the working directory.
//!
//! Retries: opens are retried while the mount rendezvous is busy (another client's open is being
//! picked up); requests on a session are never retried (a session has one client).
//!
//! Bounds: every session request is a bounded call (`libeurali::timeout`): a server that dies is
//! noticed within a sweep (`Kernel(Closed)`), and one that does not answer within
//! [`CALL_LIMIT_MS`] (device reads: no limit) gives [`FsError::TimedOut`], after which the session
//! is dead (every later request gets `TimedOut` at once). The `FS_OPEN` send on the mount is
//! bounded too, by the same limit, but differently: the kernel's mount tables hold references to
//! the server's rendezvous, so no close of ours can wake a sender there (ABI §3.5). Past the
//! deadline the watchdog's rescue ([`rescue_open`]) receives the waiting `FS_OPEN` itself (the
//! caller's own, recognised by its [`OpenRequest::token`]; another client's is sent on) and the
//! open fails with `TimedOut`: an open on a dead server's mount does not block for ever.

use alloc::string::String;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicBool, Ordering};
use libeurali::timeout::{self, CallError};
use libeurali::{Error, Handle, MemoryChunk, Message, Word, new_rendezvous, send};

use crate::proto::*;
use libeurali::sync::Lock;

/// `send` that retries a busy rendezvous for up to the session limit; `Busy` if it stays busy.
pub fn send_retrying(h: &Handle, m: Message) -> Result<(), FsError> {
    libeurali::retry_busy_for(h, m, limit_us(), send).map_err(|e| {
        if e.error.is_transient() {
            FsError::Busy
        } else {
            e.into()
        }
    })
}

/// The session limit in microseconds.
fn limit_us() -> u64 {
    call_limit_ms().saturating_mul(1000)
}

/// Sends `FS_OPEN` with the session handle `a` and `req` on a mount, retrying while the mount is
/// busy (for up to [`CALL_LIMIT_MS`]: a file server answers opens one at a time, and one being
/// started again takes none meanwhile), each try bounded by [`CALL_LIMIT_MS`] and rescued past
/// it by [`rescue_open`] (see the module documentation): `TimedOut` when the server does not
/// take it in time, `Busy` when the mount stays busy.
pub fn send_open(mount: &Handle, a: Handle, req: &OpenRequest) -> Result<(), FsError> {
    let (c, _) = crate::proto::encode_open(req)?;
    let limit_us = limit_us();
    let m = Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(c));
    libeurali::retry_busy_for(mount, m, limit_us, |h, m| {
        timeout::send_rescued(h, m, limit_us, rescue_open, req.token)
    })
    .map_err(|e| match e {
        CallError::TimedOut => FsError::TimedOut,
        CallError::Send(e) if e.error.is_transient() => FsError::Busy,
        CallError::Send(e) => e.into(),
    })
}

/// The deadline rescue of an `FS_OPEN` (a `libeurali::timeout::Rescue`): receives on a copy of
/// the mount handle. The message waiting there is the caller's own while the caller still
/// waits; it is dropped (closing the session handle it carries) and the open times out. Any
/// other message (the caller's was taken by the server an instant before) is sent on, as its
/// sender sent it.
pub fn rescue_open(mount: Handle, token: u64) -> bool {
    match libeurali::receive(&mount) {
        Ok(Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(mut c))) => {
            let ours = chunk_bytes(&mut c, MAX_NAME_MSG as u64, MAX_NAME_MSG)
                .and_then(decode::<OpenRequest>)
                .is_ok_and(|r| r.token == token);
            if ours {
                return true;
            }
            let _ = send_retrying(
                &mount,
                Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(c)),
            );
            false
        }
        Ok(other) => {
            let _ = send_retrying(&mount, other);
            false
        }
        Err(_) => false,
    }
}

// An open's request fits one page, which is all a client claims of the chunk it gets back.
const _: () = assert!(MAX_NAME_MSG <= libeurali::abi::layout::PAGE_SIZE as usize);

/// The limit in force for session requests (milliseconds; see [`set_call_limit_ms`]).
static CALL_LIMIT: core::sync::atomic::AtomicU64 =
    core::sync::atomic::AtomicU64::new(CALL_LIMIT_MS);

/// Changes how long session requests may take ([`CALL_LIMIT_MS`] by default), for the whole
/// host process on the stub or the whole program on the kernel (tests, impatient tools).
pub fn set_call_limit_ms(ms: u64) {
    CALL_LIMIT.store(ms.max(1), Ordering::Relaxed);
}

/// The limit in force for session requests, in milliseconds (also how long an open waits for
/// a busy mount, and std-shim's `/net` for its server).
pub fn call_limit_ms() -> u64 {
    CALL_LIMIT.load(Ordering::Relaxed)
}

fn limit() -> Option<u64> {
    Some(call_limit_ms())
}

/// A bounded `send_receive` (`limit_ms`: `None` for no deadline).
fn call(h: &Handle, m: Message, limit_ms: Option<u64>) -> Result<Message, FsError> {
    let limit_us = limit_ms.map(|ms| ms.saturating_mul(1000));
    let reply = timeout::call(h, m, timeout::Kind::SendReceive, limit_us).map(|m| {
        // A session's first reply brings back the open's chunk, for our pool.
        let (m, back) = without_open_chunk(m);
        if let Some(mut c) = back {
            // Safety: the open's request went in a chunk of ours (MAX_NAME_MSG fits its first
            // page, which alloc_with wrote), and the server returns the one it was sent.
            unsafe { c.set_pages(1) };
        }
        m
    });
    match reply {
        Ok(Message::Short(FS_ERR, code, _)) => Err(FsError::from_code(code)),
        Ok(m) => Ok(m),
        Err(CallError::TimedOut) => Err(FsError::TimedOut),
        Err(CallError::Send(e)) => Err(e.into()),
    }
}

fn reply_of(m: Message) -> Result<Reply, FsError> {
    match m {
        Message::Long(FS_REPLY, Word::Value(len), Word::Chunk(mut c)) => {
            decode(chunk_bytes(&mut c, len, MAX_REPLY)?)
        }
        _ => Err(FsError::Invalid),
    }
}

/// An open session: one file, directory or operation on one server.
#[derive(Debug)]
pub struct Session {
    /// Dropped by hand: after a timeout its number is closed already (see [`Session::call`]).
    h: ManuallyDrop<Handle>,
    /// A request timed out: the handle's number is gone, the session is dead.
    dead: AtomicBool,
    /// A device session: reads may wait without limit.
    device: AtomicBool,
    /// A chunk that came back from the server, kept for the next read or write, with the
    /// bytes it holds (see the protocol's note on chunks coming back).
    spare: Lock<Option<(MemoryChunk, usize)>>,
}

/// Reads and writes of at least this many bytes use a chunk of [`SPARE_SIZE`] bytes, which is
/// then kept for the session's next ones; smaller ones use a chunk of their own size.
const BIG_IO: usize = 64 * 1024;
/// The most one request of this client moves (below the protocol's [`MAX_IO`]): so that its
/// reusable chunk fits a process's chunk pool (`libeurali::pool::MAX_KEPT_PAGES`) and is kept
/// when the session ends, instead of being freed (its frames going back to the kernel at once,
/// which Merriwig's frame allocator mishandles, ABI §9.23). Callers loop over bigger I/O anyway.
pub const CLIENT_IO: usize = 256 * 1024;
/// The size of a reusable chunk: a whole [`CLIENT_IO`] write with its 8-byte header.
const SPARE_SIZE: usize = CLIENT_IO + 4096;
const _: () = assert!(
    SPARE_SIZE.div_ceil(4096) as u64 <= libeurali::pool::MAX_KEPT_PAGES / 2 + 1,
    "a spare must fit a chunk pool with room to spare"
);

/// Where a resolved path lives: the mount handle, and the path the server sees.
pub fn locate(path: &str) -> Result<(Handle, String, usize), FsError> {
    let (m, prefix) = libeurali::open(path).map_err(|e| match e {
        Error::NotFound | Error::Param => FsError::NotFound,
        e => FsError::Kernel(e),
    })?;
    let rest = path.get(prefix..).ok_or(FsError::Invalid)?;
    let rest = if rest == "/" { "" } else { rest };
    Ok((m, String::from(rest), prefix))
}

/// Sends an `FS_OPEN` on `mount` and waits for its first reply (a `Stat`, or `Done` for
/// operations, or the open's error).
pub fn open_at(mount: &Handle, req: &OpenRequest) -> Result<(Session, Reply), FsError> {
    let mut slept_us = 0;
    let mut pause_us = REFUSED_FIRST_PAUSE_US;
    loop {
        if let Some(opened) = open_once(mount, req)? {
            return Ok(opened);
        }
        // Refused. Each try costs the server an admission (and a sweep of its sessions), so
        // the tries back off rather than crowd it; without a clock (no runtime) one yield.
        match libeurali::clock::get() {
            Some(c) if slept_us < REFUSED_RETRY_US => {
                (c.sleep_us)(pause_us);
                slept_us += pause_us;
                pause_us = (pause_us * 2).min(REFUSED_RETRY_US / 4);
            }
            None if slept_us < REFUSED_RETRY_US => {
                libeurali::yield_now();
                slept_us += REFUSED_RETRY_US / 16;
            }
            _ => return Err(FsError::Busy),
        }
    }
}

/// How long [`open_at`] tries again when the server refuses a session (all its session threads
/// in use, or the account's share of them): such a refusal is mostly a moment of load (a burst
/// of short opens, such as forty programs started at once, each `stat`ing its way in), over as
/// soon as a few of them end. A share held for good (a client hoarding sessions) is still
/// `Busy` after this, a fraction of a second later.
pub const REFUSED_RETRY_US: u64 = 300_000;

/// The first pause after a refusal; each later one is twice as long.
const REFUSED_FIRST_PAUSE_US: u64 = 2_000;

/// One try of [`open_at`]: `None` when the server refused the session.
fn open_once(mount: &Handle, req: &OpenRequest) -> Result<Option<(Session, Reply)>, FsError> {
    let (a, b) = new_rendezvous()?;
    let req = OpenRequest {
        token: timeout::fresh_token(),
        ..req.clone()
    };
    send_open(mount, a, &req)?;
    let s = Session {
        h: ManuallyDrop::new(b),
        dead: AtomicBool::new(false),
        device: AtomicBool::new(false),
        spare: Lock::new(None),
    };
    let first = match s.call(Message::Short(FS_STAT, 0, 0), limit()) {
        // The server closed our session unopened: out of session threads.
        Err(FsError::Kernel(Error::Closed)) => return Ok(None),
        Ok(Message::Short(FS_META, kind, len)) => {
            let meta = Meta::from_words(kind, len)?;
            s.device.store(meta.kind == Kind::Device, Ordering::Relaxed);
            Reply::Stat(meta)
        }
        Ok(Message::Short(FS_OK, _, _)) => Reply::Done,
        Ok(_) => return Err(FsError::Invalid),
        Err(e) => return Err(e),
    };
    Ok(Some((s, first)))
}

/// Opens the resolved `path` with `flags`; returns the session and the file's metadata.
pub fn open(path: &str, flags: u32) -> Result<(Session, Meta), FsError> {
    let (m, rest, _) = locate(path).map_err(|e| {
        if flags & flags::CREATE != 0 {
            creating_in_mount_dir(path, e)
        } else {
            e
        }
    })?;
    let (s, r) = open_at(
        &m,
        &OpenRequest {
            path: rest,
            flags,
            op: Op::Open,
            token: 0,
        },
    )?;
    match r {
        Reply::Stat(meta) => Ok((s, meta)),
        _ => Err(FsError::Invalid),
    }
}

/// Runs a one-shot operation on the resolved `path`.
fn op(path: &str, op: Op) -> Result<(), FsError> {
    let (m, rest, _) = locate(path)?;
    let (s, r) = open_at(
        &m,
        &OpenRequest {
            path: rest,
            flags: 0,
            op,
            token: 0,
        },
    )?;
    // The server ends the session after answering: no FS_CLOSE needed.
    drop(s.into_handle());
    match r {
        Reply::Done => Ok(()),
        _ => Err(FsError::Invalid),
    }
}

pub fn mkdir(path: &str) -> Result<(), FsError> {
    op(path, Op::Mkdir).map_err(|e| creating_in_mount_dir(path, e))
}

/// What a new name's `NotFound` means: in a directory that no server holds but mounts below it
/// make (`/` and `/home` of a user's namespace), nothing can be created, which Unix says as
/// `Denied` (a directory one may not write); elsewhere the parent is missing: `NotFound`.
fn creating_in_mount_dir(path: &str, e: FsError) -> FsError {
    if e != FsError::NotFound {
        return e;
    }
    let parent = match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => return e,
    };
    if !mount_children(parent).is_empty() && !path.ends_with('/') {
        FsError::Denied
    } else {
        e
    }
}

pub fn remove_file(path: &str) -> Result<(), FsError> {
    op(path, Op::Remove)
}

pub fn remove_dir(path: &str) -> Result<(), FsError> {
    op(path, Op::Rmdir)
}

/// Renames within one server: both paths must fall under the same mount entry.
pub fn rename(from: &str, to: &str) -> Result<(), FsError> {
    let (m, rest_from, p1) = locate(from)?;
    let (_, rest_to, p2) = locate(to)?;
    if p1 != p2 || from[..p1] != to[..p2] {
        return Err(FsError::CrossesDevices);
    }
    let (s, r) = open_at(
        &m,
        &OpenRequest {
            path: rest_from,
            flags: 0,
            op: Op::Rename(rest_to),
            token: 0,
        },
    )?;
    drop(s.into_handle());
    match r {
        Reply::Done => Ok(()),
        _ => Err(FsError::Invalid),
    }
}

/// Metadata of the resolved `path` (opens it for reading and closes it). A path above mount
/// points that no server holds (`/` or `/home` of a user's namespace that mounts only
/// `/home/user`, `/bin`...) is a read-only directory, as the mount table implies.
pub fn stat(path: &str) -> Result<Meta, FsError> {
    match open(path, flags::READ) {
        Err(FsError::NotFound) if !mount_children(path).is_empty() => Ok(Meta {
            kind: Kind::Dir,
            len: 0,
            readonly: true,
            mount_readonly: true,
        }),
        r => r.map(|(_, m)| m),
    }
}

/// The names directly below the resolved directory `dir` that are mount points or lead to
/// them (`/dev` has `console` if `/dev/console` is mounted), sorted.
pub fn mount_children(dir: &str) -> Vec<String> {
    let Ok(mounts) = libeurali::list_mounts() else {
        return Vec::new();
    };
    let base = dir.trim_end_matches('/');
    let mut names: Vec<String> = mounts
        .iter()
        .filter_map(|m| {
            let rest = m.strip_prefix(base)?.strip_prefix('/')?;
            let name = rest.split('/').next()?;
            (!name.is_empty()).then(|| String::from(name))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The listing of the resolved directory `dir`: what its server holds, with the mount points
/// below it added (a mount hides a server's entry of the same name, as it does for opens).
/// `None` when no server holds `dir` and no mount lies below it.
pub fn list_with_mounts(
    dir: &str,
    served: Result<Vec<Entry>, FsError>,
) -> Result<Vec<Entry>, FsError> {
    let extra = mount_children(dir);
    let mut entries = match served {
        Ok(e) => e,
        Err(FsError::NotFound) if !extra.is_empty() => Vec::new(),
        Err(e) => return Err(e),
    };
    let base = dir.trim_end_matches('/');
    for name in extra {
        let child = alloc::format!("{base}/{name}");
        let (kind, len) = match open(&child, flags::READ) {
            Ok((_, m)) => (m.kind, m.len),
            Err(_) => (Kind::Dir, 0),
        };
        entries.retain(|e| e.name != name);
        entries.push(Entry { name, kind, len });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Opens the subtree at the resolved `path` as a mount-protocol handle (what `bind` mounts).
pub fn serve_subtree(path: &str, writable: bool) -> Result<Handle, FsError> {
    serve_subtree_as(path, writable, None)
}

/// [`serve_subtree`], with the sessions opened through it charged to `account` when given
/// ([`Op::ServeAs`]: their share of the server's sessions, and quotas).
pub fn serve_subtree_as(
    path: &str,
    writable: bool,
    account: Option<&str>,
) -> Result<Handle, FsError> {
    let (m, rest, _) = locate(path)?;
    let (s, _) = open_at(
        &m,
        &OpenRequest {
            path: rest,
            flags: if writable { flags::WRITE } else { 0 },
            op: match account {
                Some(a) => Op::ServeAs(String::from(a)),
                None => Op::Serve,
            },
            token: 0,
        },
    )?;
    Ok(s.into_handle())
}

/// The space used and allowed on the server holding the resolved `path`, and the asking
/// account's part ([`Request::Usage`]).
pub fn usage(path: &str) -> Result<Usage, FsError> {
    let (s, _) = open(path, flags::READ)?;
    match s.request(&Request::Usage)? {
        Reply::Usage(u) => Ok(u),
        _ => Err(FsError::Invalid),
    }
}

/// Asks the server holding the resolved `path` to make every write so far durable
/// ([`Request::Sync`]: a disk's server writes its cache out).
pub fn sync(path: &str) -> Result<(), FsError> {
    let (s, _) = open(path, flags::READ)?;
    s.sync()
}

impl Session {
    /// Gives up the session handle (a `Serve` session becomes a mount handle).
    /// A dead session (timed out) gives a fresh handle nobody serves: its calls fail with CLOSED.
    pub fn into_handle(self) -> Handle {
        let s = core::mem::ManuallyDrop::new(self);
        // Safety: `s` is never dropped, so each field is moved out exactly once.
        drop(unsafe { core::ptr::read(&s.spare) });
        // SAFETY: as above: `s` is never dropped, each field is read once.
        let h = ManuallyDrop::into_inner(unsafe { core::ptr::read(&s.h) });
        if s.dead.load(Ordering::Acquire) {
            let _ = h.into_raw();
            return dead_handle();
        }
        h
    }

    /// One bounded request on the session (see the module documentation); a timeout kills the
    /// session.
    fn call(&self, m: Message, limit_ms: Option<u64>) -> Result<Message, FsError> {
        if self.dead.load(Ordering::Acquire) {
            return Err(FsError::TimedOut);
        }
        let r = call(&self.h, m, limit_ms);
        if r == Err(FsError::TimedOut) {
            self.dead.store(true, Ordering::Release);
        }
        r
    }

    /// The limit for a read: none on a device.
    fn read_limit(&self) -> Option<u64> {
        if self.device.load(Ordering::Relaxed) {
            None
        } else {
            limit()
        }
    }

    /// A chunk of at least `need` bytes whose first `head.len()` bytes are `head` followed by
    /// `body`: the spare if it is big enough, else a new one (of [`SPARE_SIZE`] for big I/O, so
    /// that it can be kept). Returns the chunk and its size.
    fn chunk_for(
        &self,
        need: usize,
        head: &[u8],
        body: &[u8],
    ) -> Result<(MemoryChunk, usize), FsError> {
        let spare = self.spare.lock().take();
        if let Some((mut c, size)) = spare
            && size >= need
        {
            let s = c.as_mut_slice();
            s[..head.len()].copy_from_slice(head);
            s[head.len()..head.len() + body.len()].copy_from_slice(body);
            return Ok((c, size));
        }
        let size = if need >= BIG_IO { SPARE_SIZE } else { need };
        let c = MemoryChunk::alloc_with(size, |s| {
            s[..head.len()].copy_from_slice(head);
            s[head.len()..head.len() + body.len()].copy_from_slice(body);
            Ok::<usize, FsError>(head.len() + body.len())
        })??;
        Ok((c, size))
    }

    /// Keeps a chunk that came back (its size as we sent it) for the next request.
    fn keep(&self, mut c: MemoryChunk, size: usize) {
        // Safety: the protocol makes the server give back the chunk we sent, `size` bytes long.
        unsafe { c.set_len(size) };
        *self.spare.lock() = Some((c, size));
    }

    /// Reads at most `max` bytes (and [`MAX_IO`]) at `offset` and gives them to `take`; returns
    /// how many, 0 at the end.
    fn read_with(
        &self,
        offset: u64,
        max: usize,
        take: impl FnOnce(&[u8]) -> Result<(), FsError>,
    ) -> Result<usize, FsError> {
        let max = max.min(MAX_IO).min(CLIENT_IO);
        if max == 0 {
            return Ok(0);
        }
        let (c, size) = self.chunk_for(max.max(8), &(max as u64).to_le_bytes(), &[])?;
        match self.call(
            Message::Long(FS_READ_INTO, Word::Value(offset), Word::Chunk(c)),
            self.read_limit(),
        )? {
            Message::Long(FS_DATA, Word::Value(n), Word::Chunk(mut c)) if n as usize <= max => {
                let data = chunk_bytes(&mut c, n, max)?;
                take(data)?;
                let n = data.len();
                self.keep(c, size);
                Ok(n)
            }
            _ => Err(FsError::Invalid),
        }
    }

    /// Reads at `offset` into `buf` (at most [`MAX_IO`] bytes in one request); 0 at the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        self.read_with(offset, buf.len(), |data| {
            buf[..data.len()].copy_from_slice(data);
            Ok(())
        })
    }

    /// Reads at most `max` bytes (and [`MAX_IO`]) at `offset` and appends them to `out`; returns
    /// how many, 0 at the end. Copies once, where [`Session::read_at`] into a zeroed buffer
    /// writes the bytes twice.
    pub fn read_append(
        &self,
        offset: u64,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, FsError> {
        self.read_with(offset, max, |data| {
            out.try_reserve(data.len()).map_err(|_| FsError::NoSpace)?;
            out.extend_from_slice(data);
            Ok(())
        })
    }

    /// Writes `data` (at most [`MAX_IO`] bytes of it) at `offset` (ignored in append mode);
    /// returns (bytes written, offset after them).
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<(usize, u64), FsError> {
        let n = data.len().min(MAX_IO).min(CLIENT_IO);
        let (c, size) = self.chunk_for(8 + n, &(n as u64).to_le_bytes(), &data[..n])?;
        match self.call(
            Message::Long(FS_WRITE, Word::Value(offset), Word::Chunk(c)),
            limit(),
        )? {
            Message::Long(FS_WRITTEN, Word::Value(end), Word::Chunk(c)) => {
                self.keep(c, size);
                Ok((n, end))
            }
            _ => Err(FsError::Invalid),
        }
    }

    fn request(&self, r: &Request) -> Result<Reply, FsError> {
        reply_of(self.call(request_msg(r)?, limit())?)
    }

    pub fn stat(&self) -> Result<Meta, FsError> {
        match self.call(Message::Short(FS_STAT, 0, 0), limit())? {
            Message::Short(FS_META, kind, len) => Meta::from_words(kind, len),
            _ => Err(FsError::Invalid),
        }
    }

    pub fn read_dir(&self) -> Result<Vec<Entry>, FsError> {
        match self.request(&Request::ReadDir)? {
            Reply::Entries(e) => Ok(e),
            _ => Err(FsError::Invalid),
        }
    }

    pub fn set_len(&self, len: u64) -> Result<(), FsError> {
        self.request(&Request::SetLen(len)).map(|_| ())
    }

    pub fn sync(&self) -> Result<(), FsError> {
        self.request(&Request::Sync).map(|_| ())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Safety: dropped here only, once.
        let h = unsafe { ManuallyDrop::take(&mut self.h) };
        if self.dead.load(Ordering::Acquire) {
            // Closed by the watchdog: the number may name another object by now.
            let _ = h.into_raw();
            return;
        }
        // Tell the server (its session thread waits in receive; if it is gone, our handle is
        // the only reference and the send fails at once), then close.
        let _ = send(&h, Message::Short(FS_CLOSE, 0, 0));
        drop(h);
    }
}

/// A handle to a rendezvous nobody serves (the other end is closed at once).
fn dead_handle() -> Handle {
    match new_rendezvous() {
        Ok((a, b)) => {
            drop(b);
            a
        }
        // Out of handles: a number no table holds (every call on it fails with 3).
        // Safety: u32::MAX never names a handle (tables are far smaller); closing it is an error.
        Err(_) => unsafe { Handle::from_raw(u32::MAX) },
    }
}
