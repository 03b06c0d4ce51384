//! The debug log device: a write-only stream server (`libeurali::proto::stream`) whose bytes are
//! appended to the log a [`kernel_stub::Kernel`] keeps ([`DebugLog`], read with
//! [`kernel_stub::Kernel::debug_log`]) and, with
//! `EURALI_DEBUG=1`, echoed to host stderr as they arrive. `boot` mounts it at `/dev/log` for the
//! program it starts. It is the device counterpart of the kernel's debug_write line: any bytes,
//! any number per WRITE, and it never touches the console.
//!
//! `WRITE` → appended, `OK n`; `READ` → `ERROR 14` (not implemented: the log is write-only);
//! anything else → `ERROR_UNKNOWN_MESSAGE`. The server ends when its rendezvous fails.

use libeurali::proto::stream::{self, Request};
use libeurali::{Error, Handle, receive, send};

pub use kernel_stub::DebugLog;

/// Serves the log on `h` until the rendezvous fails.
pub fn serve(h: &Handle, log: DebugLog) {
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::parse_request(m) {
            Request::Write(chunk) => {
                let data = chunk.as_slice();
                log.append(data);
                stream::written_reply(data.len(), chunk)
            }
            Request::Read(_) => stream::error_reply(Error::NotImplemented),
            Request::Unknown(_) => stream::unknown_reply(),
        };
        // A requester that is gone (woken by a close) changes nothing.
        let _ = send(h, reply);
    }
}
