//! The console on the host: stream servers bound to the host's stdin, stdout and stderr.
//!
//! Output: each `WRITE` is written to the host sink and flushed, then answered `OK`.
//! Input: each `READ` reads once from the host source (a line at a time from a terminal in its
//! normal mode; whatever is there from a pipe) and answers `DATA`; at the end of the host input
//! every later `READ` is answered `EOF`. A request of the wrong direction or of an unknown type
//! gets an error reply and the server goes on. A server ends when its rendezvous fails (the
//! system shuts down).

use std::io::{Read, Write};

use libeurali::proto::stream::{self, Request};
use libeurali::{Error, Handle, receive, send};

/// Serves writes on `h` into `sink` until the rendezvous fails.
pub fn serve_output(h: &Handle, mut sink: impl Write) {
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::parse_request(m) {
            Request::Write(chunk) => {
                let data = chunk.as_slice();
                match sink.write_all(data).and_then(|_| sink.flush()) {
                    Ok(()) => stream::ok_reply(data.len()),
                    Err(_) => stream::error_reply(Error::Closed),
                }
            }
            Request::Read(_) => stream::error_reply(Error::NotImplemented),
            Request::Unknown(_) => stream::unknown_reply(),
        };
        if send(h, reply).is_err() {
            // The requester is gone (it was woken by a close); nothing to do but go on.
        }
    }
}

/// Serves reads on `h` from `source` until the rendezvous fails.
pub fn serve_input(h: &Handle, mut source: impl Read) {
    let mut at_end = false;
    let mut buf = vec![0u8; stream::MAX_TRANSFER];
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::parse_request(m) {
            Request::Read(max) => {
                let n = if at_end {
                    0
                } else {
                    loop {
                        match source.read(&mut buf[..max]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(_) => break 0,
                        }
                    }
                };
                if n == 0 {
                    at_end = true;
                    Ok(stream::eof_reply())
                } else {
                    stream::data_reply(&buf[..n])
                }
            }
            Request::Write(_) => Ok(stream::error_reply(Error::NotImplemented)),
            Request::Unknown(_) => Ok(stream::unknown_reply()),
        };
        let reply = reply.unwrap_or_else(stream::error_reply);
        let _ = send(h, reply);
    }
}
