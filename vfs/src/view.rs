//! The read-only view: wraps any mount handle and serves the mount protocol in front of it.
//! Opens that could change anything (write, create, truncate, append, mkdir, remove, rmdir,
//! rename) are refused with `Denied`; the others, and `Serve` with write stripped, are forwarded
//! with the client's own session handle, so the client then talks to the wrapped server directly
//! (no copy, no extra hop) on a session that the server opened read-only. Forwarded opens carry
//! `flags::VIEWED`, so that the server reports their files as `Meta::mount_readonly` (`ls -l`
//! shows `r--` through the view, whatever the file is on the server).
//!
//! The subtree view ([`spawn_subtree`]) forwards every open to the same server with the path
//! put under a fixed directory of it: what init mounts at `/etc` and `/home` over the disk's
//! `/disk/etc` and `/disk/home`. Unlike a `Serve` session of the server (a bind), it holds
//! nothing of the server's: a file server started again on the same mount rendezvous (init's
//! fatfs after a failure) serves it on, and every namespace that copied the mount keeps working.

use alloc::string::String;
use libeurali::{Error, Handle, Message, Word, receive, send};

use crate::proto::*;
use crate::server::{Refusals, forward_open};

/// Serves the read-only view of `inner` on `outer` until every other reference to `outer` is
/// gone. Like the server framework's mount loop, it never replies on `outer` (except to a
/// malformed `send_receive`), so no client can block it.
pub fn serve_readonly(inner: &Handle, outer: &Handle) {
    serve_readonly_with(inner, outer, &Refusals::new())
}

/// [`serve_readonly`], refusing through `refusals` (which a caller may watch).
pub fn serve_readonly_with(inner: &Handle, outer: &Handle, refusals: &Refusals) {
    serve_view(inner, outer, refusals, |mut r| {
        if r.op.mutates(r.flags) && !matches!(r.op, Op::Serve | Op::ServeAs(_)) {
            return Err(FsError::Denied);
        }
        r.flags = (r.flags & !flags::MUTATING) | flags::VIEWED;
        Ok(r)
    })
}

/// Serves the subtree view of `inner` under `dir` (a server-relative path, `/a/b`) on `outer`
/// until every other reference to `outer` is gone: an open of `P` is forwarded as an open of
/// `dir` + `P`. Paths not in normal form are refused (`Invalid`) before the prefix is put on,
/// so nothing reaches past `dir`; the view's root cannot be removed or renamed (`MountPoint`),
/// as a bind's cannot.
pub fn serve_subtree(inner: &Handle, dir: &str, outer: &Handle) {
    serve_view(inner, outer, &Refusals::new(), |mut r| {
        crate::server::split_path(&r.path)?;
        if r.path.is_empty() && matches!(r.op, Op::Remove | Op::Rmdir | Op::Rename(_)) {
            return Err(FsError::MountPoint);
        }
        if let Op::Rename(to) = &mut r.op {
            if crate::server::split_path(to)?.is_empty() {
                return Err(FsError::MountPoint);
            }
            *to = under(dir, to)?;
        }
        r.path = under(dir, &r.path)?;
        Ok(r)
    })
}

/// `path` (server-relative, normal) under `dir`.
fn under(dir: &str, path: &str) -> Result<String, FsError> {
    let mut p = String::with_capacity(dir.len() + path.len());
    p.push_str(dir);
    p.push_str(path);
    // Both paths of a rename, and the rest of the request, fit in one open's message.
    if p.len() > MAX_NAME_MSG / 2 - 64 {
        return Err(FsError::NameTooLong);
    }
    Ok(p)
}

/// Starts a subtree view of `inner` under `dir` on a new thread ([`serve_subtree`]); returns
/// the handle to mount.
pub fn spawn_subtree(inner: Handle, dir: String) -> Result<Handle, Error> {
    let (outer, client) = libeurali::new_rendezvous()?;
    libeurali::spawn_pooled(move || serve_subtree(&inner, &dir, &outer))?;
    Ok(client)
}

/// The mount loop of a view: each open on `outer` goes through `admit` and, admitted (perhaps
/// changed), on to `inner` with the client's own session handle; refused, the client gets the
/// error through `refusals`. Like the server framework's mount loop, it never replies on
/// `outer` (except to a malformed `send_receive`), so no client can block it.
fn serve_view(
    inner: &Handle,
    outer: &Handle,
    refusals: &Refusals,
    admit: impl Fn(OpenRequest) -> Result<OpenRequest, FsError>,
) {
    loop {
        match receive(outer) {
            Ok(Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(mut c))) => {
                let req = chunk_bytes(&mut c, MAX_NAME_MSG as u64, MAX_NAME_MSG)
                    .and_then(decode::<OpenRequest>)
                    .and_then(&admit);
                drop(c);
                match req {
                    Ok(r) => {
                        if forward_open(inner, a, &r).is_err() {
                            // The wrapped server is gone: the client sees CLOSED.
                        }
                    }
                    Err(e) => refusals.refuse(a, e),
                }
            }
            Ok(other) => drop(other),
            Err(Error::RecvBlocking) => {
                let _ = send(outer, err_msg(FsError::Invalid));
            }
            Err(Error::Closed) | Err(Error::InvalidHandle) => return,
            Err(_) => libeurali::yield_now(),
        }
    }
}

/// Starts a read-only view of `inner` on a new thread; returns the handle to mount.
pub fn spawn_readonly(inner: Handle) -> Result<Handle, Error> {
    let (outer, client) = libeurali::new_rendezvous()?;
    libeurali::spawn_pooled(move || serve_readonly(&inner, &outer))?;
    Ok(client)
}
