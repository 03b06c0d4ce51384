//! The client side of the file protocol: opens through the kernel's mount table, sessions with
//! one method per request. Paths given here must be resolved already ([`crate::path::resolve`]);
//! std-shim's `fs` does that with the working directory.
//!
//! Retries: opens are retried while the mount rendezvous is busy (another client's open is being
//! picked up); requests on a session are never retried (a session has one client).

use alloc::string::String;
use alloc::vec::Vec;
use libeurali::{Error, Handle, MemoryChunk, Message, Word, new_rendezvous, send, send_receive};

use crate::proto::*;

/// How often a send to a busy rendezvous is retried (with a yield in between).
const BUSY_RETRIES: usize = 100_000;

/// `send` that retries a busy rendezvous.
pub fn send_retrying(h: &Handle, mut m: Message) -> Result<(), FsError> {
    for _ in 0..BUSY_RETRIES {
        match send(h, m) {
            Ok(()) => return Ok(()),
            Err(libeurali::SendError {
                error,
                message: Some(back),
            }) if error.is_transient() => {
                m = back;
                libeurali::yield_now();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(FsError::Busy)
}

fn call(h: &Handle, m: Message) -> Result<Message, FsError> {
    match send_receive(h, m) {
        Ok(Message::Short(FS_ERR, code, _)) => Err(FsError::from_code(code)),
        Ok(m) => Ok(m),
        Err(e) => Err(e.into()),
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
    h: Handle,
}

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
    let (a, b) = new_rendezvous()?;
    let (c, _) = encode_chunk(req, MAX_NAME_MSG)?;
    send_retrying(
        mount,
        Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(c)),
    )?;
    let s = Session { h: b };
    let first = match call(&s.h, request_msg(&Request::Stat)?) {
        // The server closed our session unopened: out of session threads.
        Err(FsError::Kernel(Error::Closed)) => return Err(FsError::Busy),
        r => reply_of(r?)?,
    };
    Ok((s, first))
}

/// Opens the resolved `path` with `flags`; returns the session and the file's metadata.
pub fn open(path: &str, flags: u32) -> Result<(Session, Meta), FsError> {
    let (m, rest, _) = locate(path)?;
    let (s, r) = open_at(
        &m,
        &OpenRequest {
            path: rest,
            flags,
            op: Op::Open,
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
    op(path, Op::Mkdir)
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
        },
    )?;
    drop(s.into_handle());
    match r {
        Reply::Done => Ok(()),
        _ => Err(FsError::Invalid),
    }
}

/// Metadata of the resolved `path` (opens it for reading and closes it).
pub fn stat(path: &str) -> Result<Meta, FsError> {
    open(path, flags::READ).map(|(_, m)| m)
}

/// Opens the subtree at the resolved `path` as a mount-protocol handle (what `bind` mounts).
pub fn serve_subtree(path: &str, writable: bool) -> Result<Handle, FsError> {
    let (m, rest, _) = locate(path)?;
    let (s, _) = open_at(
        &m,
        &OpenRequest {
            path: rest,
            flags: if writable { flags::WRITE } else { 0 },
            op: Op::Serve,
        },
    )?;
    Ok(s.into_handle())
}

impl Session {
    /// Gives up the session handle (a `Serve` session becomes a mount handle).
    pub fn into_handle(self) -> Handle {
        let s = core::mem::ManuallyDrop::new(self);
        // Safety: `s` is never dropped, so the handle is moved out exactly once.
        unsafe { core::ptr::read(&s.h) }
    }

    /// Reads at `offset` into `buf` (at most [`MAX_IO`] bytes in one request); 0 at the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let max = buf.len().min(MAX_IO);
        if max == 0 {
            return Ok(0);
        }
        match call(&self.h, Message::Short(FS_READ, offset, max as u64))? {
            Message::Short(FS_OK, _, _) => Ok(0),
            Message::Long(FS_DATA, Word::Value(n), Word::Chunk(mut c)) if n as usize <= max => {
                let data = chunk_bytes(&mut c, n, max)?;
                buf[..data.len()].copy_from_slice(data);
                Ok(data.len())
            }
            _ => Err(FsError::Invalid),
        }
    }

    /// Writes `data` (at most [`MAX_IO`] bytes of it) at `offset` (ignored in append mode);
    /// returns (bytes written, offset after them).
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<(usize, u64), FsError> {
        let n = data.len().min(MAX_IO);
        let mut c = MemoryChunk::alloc(8 + n)?;
        let s = c.as_mut_slice();
        s[..8].copy_from_slice(&(n as u64).to_le_bytes());
        s[8..8 + n].copy_from_slice(&data[..n]);
        match call(
            &self.h,
            Message::Long(FS_WRITE, Word::Value(offset), Word::Chunk(c)),
        )? {
            Message::Short(FS_OK, k, end) if k as usize <= n => Ok((k as usize, end)),
            _ => Err(FsError::Invalid),
        }
    }

    fn request(&self, r: &Request) -> Result<Reply, FsError> {
        reply_of(call(&self.h, request_msg(r)?)?)
    }

    pub fn stat(&self) -> Result<Meta, FsError> {
        match self.request(&Request::Stat)? {
            Reply::Stat(m) => Ok(m),
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
        // Tell the server; the handle itself is closed right after by the field's drop.
        let _ = send(&self.h, Message::Short(FS_CLOSE, 0, 0));
    }
}
