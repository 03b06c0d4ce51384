//! The read-only view: wraps any mount handle and serves the mount protocol in front of it.
//! Opens that could change anything (write, create, truncate, append, mkdir, remove, rmdir,
//! rename) are refused with `Denied`; the others, and `Serve` with write stripped, are forwarded
//! with the client's own session handle, so the client then talks to the wrapped server directly
//! (no copy, no extra hop) on a session that the server opened read-only. Forwarded opens carry
//! `flags::VIEWED`, so that the server reports their files as `Meta::mount_readonly` (`ls -l`
//! shows `r--` through the view, whatever the file is on the server).

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
    loop {
        match receive(outer) {
            Ok(Message::Long(FS_OPEN, Word::Handle(a), Word::Chunk(mut c))) => {
                let req = chunk_bytes(&mut c, MAX_NAME_MSG as u64, MAX_NAME_MSG)
                    .and_then(decode::<OpenRequest>);
                drop(c);
                match req {
                    Ok(mut r)
                        if !r.op.mutates(r.flags) || matches!(r.op, Op::Serve | Op::ServeAs(_)) =>
                    {
                        r.flags = (r.flags & !flags::MUTATING) | flags::VIEWED;
                        if forward_open(inner, a, &r).is_err() {
                            // The wrapped server is gone: the client sees CLOSED.
                        }
                    }
                    Ok(_) => refusals.refuse(a, FsError::Denied),
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
