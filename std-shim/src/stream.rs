//! Stream servers run by this process: a handle that speaks libeurali's stream protocol
//! ([`libeurali::proto::stream`]) in front of any reader/writer, for a child's stdin, stdout or
//! stderr (see [`crate::process::Stdio`]).
//!
//! [`serve`] starts one thread per server. The thread ends when every client handle is gone,
//! also when the clients' processes died without closing them: the process's liveness watcher
//! ([`crate::rt::watch`]) wakes it, as it wakes a pipe's server threads. Each request is answered
//! once; a READ asks the backend for at most [`stream::MAX_TRANSFER`] bytes, so a client cannot
//! make the server hold more than that.

use alloc::string::String;
use alloc::vec::Vec;

use libeurali::proto::stream::{self, Request};
use libeurali::{Handle, receive, send};

use crate::io::{self, Read, Write};
use crate::sync::Arc;

/// What a stream server serves: reads (0 = end of stream) and writes.
pub trait StreamIo: Send + 'static {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn write(&mut self, data: &[u8]) -> io::Result<usize>;
}

/// Reads end at once, writes are accepted and dropped: the null stream.
pub struct Null;

impl StreamIo for Null {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        Ok(data.len())
    }
}

/// A file behind a stream (a redirection): reads and writes at the file's position.
impl StreamIo for crate::fs::File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Each WRITE reaches the file before it is answered (File gathers small writes).
        self.write_all(data)
            .and_then(|_| self.flush())
            .map(|_| data.len())
    }
}

/// Starts a stream server for `io` on a new thread of this process; returns a client handle
/// (copy it for more clients).
pub fn serve<S: StreamIo>(io: S, name: &str) -> io::Result<Handle> {
    let (srv, cli) = libeurali::new_rendezvous()?;
    let srv = Arc::new(srv);
    let watch = crate::rt::watch(srv.clone())?;
    crate::thread::Builder::new()
        .name(String::from(name))
        .spawn(move || {
            serve_on(&srv, io);
            watch.stop();
        })?;
    Ok(cli)
}

/// A server for [`Null`].
pub fn null() -> io::Result<Handle> {
    serve(Null, "null")
}

/// The code a failed write of the backend's travels as. A broken pipe there (a file whose
/// server ended) is not this stream's reader going away: it goes as an I/O error (code 19),
/// so that the client does not end as SIGPIPE ends a writer.
fn backend_code(e: &io::Error) -> libeurali::Error {
    match io::kernel_code(e) {
        libeurali::Error::Closed => libeurali::Error::Io,
        code => code,
    }
}

/// Serves `io` on `h` until every other reference to `h` is gone.
pub fn serve_on<S: StreamIo>(h: &Handle, mut io: S) {
    let mut buf = Vec::new();
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::parse_request(m) {
            Request::Write(chunk) => match io.write(chunk.as_slice()) {
                Ok(n) => stream::written_reply(n, chunk),
                Err(e) => stream::error_reply(backend_code(&e)),
            },
            Request::Read(max) => {
                buf.resize(max, 0);
                match io.read(&mut buf[..max]) {
                    Ok(0) => stream::eof_reply(),
                    Ok(n) => {
                        stream::data_reply(&buf[..n.min(max)]).unwrap_or_else(stream::error_reply)
                    }
                    Err(e) => stream::error_reply(io::kernel_code(&e)),
                }
            }
            Request::Unknown(_) => stream::unknown_reply(),
        };
        // A client woken away from its request (a close) leaves this reply pending; the watcher
        // frees us once the last client is gone.
        let _ = send(h, reply);
    }
}
