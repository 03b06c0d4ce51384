//! The debug log device: a write-only stream server (`libeurali::proto::stream`) whose bytes are
//! appended to a log the [`crate::Kernel`] keeps ([`crate::Kernel::debug_log`]) and, with
//! `EURALI_DEBUG=1`, echoed to host stderr as they arrive. `boot` mounts it at `/dev/log` for the
//! program it starts. It is the device counterpart of the kernel's debug_write line: any bytes,
//! any number per WRITE, and it never touches the console.
//!
//! `WRITE` → appended, `OK n`; `READ` → `ERROR 14` (not implemented: the log is write-only);
//! anything else → `ERROR_UNKNOWN_MESSAGE`. The server ends when its rendezvous fails.

use std::io::Write;
use std::sync::{Arc, Mutex};

use libeurali::proto::stream::{self, Request};
use libeurali::{Error, Handle, receive, send};

/// The log's bytes, shared by the kernel and every server serving it.
#[derive(Clone, Debug, Default)]
pub struct DebugLog {
    bytes: Arc<Mutex<Vec<u8>>>,
    echo: bool,
}

impl DebugLog {
    /// An empty log; `echo` copies every write to host stderr.
    pub fn new(echo: bool) -> DebugLog {
        DebugLog {
            bytes: Arc::default(),
            echo,
        }
    }

    /// Appends `data` (and echoes it if asked to).
    pub fn append(&self, data: &[u8]) {
        self.bytes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        if self.echo {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(data).and_then(|_| err.flush());
        }
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

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
