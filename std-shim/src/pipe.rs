//! Pipes: a byte stream from writers to a reader, with EOF when the last writer is gone.
//!
//! A pipe is a bounded buffer ([`CAPACITY`]; a writer waits while it is full: flow control) in
//! the process that made it. Its ends in that process ([`PipeReader`], [`PipeWriter`]) use the
//! buffer directly. For ends given to other processes it has two stream-protocol rendezvous:
//! writers send `WRITE` on one, the reader sends `READ` on the other, each served by a thread of
//! this process, started when an end of that side first leaves the process (so a pipeline of
//! the shell's own stages, or a `$( )`, costs no thread for its pipe).
//!
//! EOF: the kernel tells nobody that a process died, but a `close` that leaves exactly two
//! references wakes a receiver with CLOSED (ABI §3.5). The writer side's server thread waits in
//! `receive`; the process's liveness watcher ([`crate::rt`]) holds one spare copy of the server's
//! handle and, every [`crate::rt::WATCH_INTERVAL_MS`], closes it and takes a fresh one. While any
//! writer handle exists anywhere (in any process, in flight, mounted) that close leaves three or
//! more references and does nothing; once the last writer handle is gone it leaves two and wakes
//! the server: EOF, with Unix's "all writers closed" meaning, whether the writers closed their
//! handles or their processes simply ended. The reader side works the same way: when the reader is
//! gone, writers get `BrokenPipe`.
//!
//! That costs up to a watch interval per pipe, which in a pipeline of the shell's own stages
//! (threads of one process, each pipe's ends never leaving it) would add up stage by stage. So
//! a pipe counts the [`PipeWriter`]s and [`PipeReader`]s of its own process, and remembers
//! whether a handle of that side ever left it ([`PipeWriter::into_handle`]): when the last local
//! writer goes and none ever left, the reader sees EOF at once (and the same for the reader's
//! end and BrokenPipe). A side that was handed out keeps the watcher's meaning.

use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libeurali::proto::stream::{self, Request};
use libeurali::{Error as KernelError, Handle};

use crate::io::{self, Read, Write};
use crate::sync::{Arc, Mutex, Notify};

/// Bytes buffered between writers and the reader.
pub const CAPACITY: usize = 64 * 1024;

struct State {
    buf: VecDeque<u8>,
    writers_gone: bool,
    reader_gone: bool,
    /// Ended by a [`PipeCut`]: writes are refused.
    cut: bool,
}

struct Shared {
    state: Mutex<State>,
    /// The reader-side server waits here for data (or EOF).
    data: Notify,
    /// A [`PipeReader`] of this process waits here for data (or EOF); one at a time, the one
    /// holding `local_reader` (the others ask the server).
    local_data: Notify,
    local_reader: Mutex<()>,
    /// The writer-side server waits here for room (or a gone reader).
    room: Notify,
    /// A [`PipeWriter`] of this process waits here for room (or a gone reader); one at a time,
    /// the one holding `local_writer` (the others ask the server).
    local_room: Notify,
    local_writer: Mutex<()>,
    /// [`PipeWriter`]s and [`PipeReader`]s alive in this process.
    writers: AtomicUsize,
    readers: AtomicUsize,
    /// A writer's or reader's handle left this process (`into_handle`): only the watcher can
    /// tell when that side is gone.
    writer_left: AtomicBool,
    reader_left: AtomicBool,
    /// The servers of the writers' and the reader's rendezvous.
    writer_side: Mutex<Side>,
    reader_side: Mutex<Side>,
}

/// The server of one side's rendezvous: its handle until a thread serves it, then the watch
/// that wakes that thread when every client is gone.
struct Side {
    srv: Option<Handle>,
    watch: Option<crate::rt::Watch>,
}

/// Starts the server of the writers' side (`writers`) or the reader's, if it is not running.
fn serve_side(shared: &Arc<Shared>, writers: bool) -> io::Result<()> {
    let mut side = shared.side(writers);
    if side.watch.is_some() {
        return Ok(());
    }
    let srv = Arc::new(side.srv.take().ok_or(KernelError::Closed)?);
    let watch = match crate::rt::watch(srv.clone()) {
        Ok(w) => w,
        Err(e) => {
            side.srv = Arc::try_unwrap(srv).ok();
            return Err(e);
        }
    };
    let (s, stop) = (shared.clone(), watch.clone());
    crate::thread::Builder::new()
        .name(
            if writers {
                "pipe-writer-side"
            } else {
                "pipe-reader-side"
            }
            .into(),
        )
        .spawn(move || {
            if writers {
                serve_writers(&srv, &s);
            } else {
                serve_reader(&srv, &s);
            }
            stop.stop();
        })
        .inspect_err(|_| watch.stop())?;
    side.watch = Some(watch);
    Ok(())
}

impl Shared {
    fn lock(&self) -> crate::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes whoever waits for data: there is some, or the writers are gone.
    fn data_ready(&self) {
        self.data.notify();
        self.local_data.notify();
    }

    fn side(&self, writers: bool) -> crate::sync::MutexGuard<'_, Side> {
        let side = if writers {
            &self.writer_side
        } else {
            &self.reader_side
        };
        side.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Has the watcher look at one side's server now, if it runs (its last handle here just
    /// closed): its thread ends now rather than at the watcher's next round.
    fn check_now(&self, writers: bool) {
        if let Some(w) = self.side(writers).watch.as_ref() {
            w.check_now();
        }
    }

    /// Wakes whoever waits for room: there is some, or the reader is gone.
    fn room_ready(&self) {
        self.room.notify();
        self.local_room.notify();
    }
}

/// The read end of a pipe: a stream handle (give it to a child as stdin with
/// [`PipeReader::into_handle`], or read from it here).
///
/// Read here, in the process that serves the pipe, it takes what the pipe holds straight from
/// the buffer (one copy, no message), and waits for data on a wake-up of that process's own;
/// only a second reader of this process waiting at the same time asks the reader-side server
/// with a READ. [`PipeWriter`] does the same the other way, waiting for room.
#[derive(Debug)]
pub struct PipeReader(Option<Handle>, Arc<Shared>);

/// The write end of a pipe (a child's stdout or stderr, or written here).
#[derive(Debug)]
pub struct PipeWriter(Option<Handle>, Arc<Shared>);

impl PipeReader {
    fn new(h: Handle, shared: Arc<Shared>) -> PipeReader {
        shared.readers.fetch_add(1, Ordering::AcqRel);
        PipeReader(Some(h), shared)
    }
    fn handle(&self) -> io::Result<&Handle> {
        self.0.as_ref().ok_or_else(|| KernelError::Closed.into())
    }
    /// The stream handle, to give away (a child's stdin), its server started: from now on
    /// only the watcher can tell when the reader is gone.
    pub fn into_handle(mut self) -> io::Result<Handle> {
        serve_side(&self.1, false)?;
        self.1.reader_left.store(true, Ordering::Release);
        self.0.take().ok_or_else(|| KernelError::Closed.into())
    }
    pub fn try_clone(&self) -> io::Result<PipeReader> {
        Ok(PipeReader::new(self.handle()?.try_clone()?, self.1.clone()))
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        drop(self.0.take());
        let last = self.1.readers.fetch_sub(1, Ordering::AcqRel) == 1;
        if last && !self.1.reader_left.load(Ordering::Acquire) {
            // The only reader there ever was is gone: writers get BrokenPipe now.
            {
                let mut st = self.1.lock();
                st.reader_gone = true;
                st.buf.clear();
            }
            self.1.room_ready();
            self.1.check_now(false);
        }
    }
}

impl PipeWriter {
    fn new(h: Handle, shared: Arc<Shared>) -> PipeWriter {
        shared.writers.fetch_add(1, Ordering::AcqRel);
        PipeWriter(Some(h), shared)
    }
    fn handle(&self) -> io::Result<&Handle> {
        self.0.as_ref().ok_or_else(|| KernelError::Closed.into())
    }
    /// The stream handle, to give away (a child's stdout), its server started: from now on
    /// only the watcher can tell when the last writer is gone.
    pub fn into_handle(mut self) -> io::Result<Handle> {
        serve_side(&self.1, true)?;
        self.1.writer_left.store(true, Ordering::Release);
        self.0.take().ok_or_else(|| KernelError::Closed.into())
    }
    /// Another writer: the reader sees EOF only when every writer is gone.
    pub fn try_clone(&self) -> io::Result<PipeWriter> {
        Ok(PipeWriter::new(self.handle()?.try_clone()?, self.1.clone()))
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        drop(self.0.take());
        let last = self.1.writers.fetch_sub(1, Ordering::AcqRel) == 1;
        if last && !self.1.writer_left.load(Ordering::Acquire) {
            // Every writer there ever was is gone: EOF now, not at the watcher's next look.
            self.1.lock().writers_gone = true;
            self.1.data_ready();
            self.1.check_now(true);
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut waiter = None;
        loop {
            {
                let mut st = self.1.lock();
                if !st.buf.is_empty() {
                    let n = buf.len().min(st.buf.len());
                    let (a, b) = st.buf.as_slices();
                    let from_a = n.min(a.len());
                    buf[..from_a].copy_from_slice(&a[..from_a]);
                    buf[from_a..n].copy_from_slice(&b[..n - from_a]);
                    st.buf.drain(..n);
                    drop(st);
                    self.1.room_ready();
                    return Ok(n);
                }
                if st.writers_gone {
                    return Ok(0);
                }
            }
            if waiter.is_none() {
                waiter = self.1.local_reader.try_lock();
                if waiter.is_none() {
                    // Another reader of this process waits here: ask the server instead.
                    break;
                }
                // Holding it, look again before waiting (a notification may have gone to the
                // previous waiter).
                continue;
            }
            self.1.local_data.wait();
        }
        // The server waits for data or the writers' end.
        serve_side(&self.1, false)?;
        match stream::read(self.handle()?, buf)? {
            stream::ReadReply::Data(n) => Ok(n),
            stream::ReadReply::Eof => Ok(0),
            stream::ReadReply::Interrupted => Err(io::ErrorKind::Interrupted.into()),
        }
    }
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut waiter = None;
        loop {
            {
                let mut st = self.1.lock();
                if st.reader_gone || st.cut {
                    return Err(KernelError::Closed.into());
                }
                let room = CAPACITY - st.buf.len();
                if room > 0 {
                    let n = room.min(buf.len());
                    st.buf.extend(&buf[..n]);
                    drop(st);
                    self.1.data_ready();
                    return Ok(n);
                }
            }
            if waiter.is_none() {
                waiter = self.1.local_writer.try_lock();
                if waiter.is_none() {
                    // Another writer of this process waits here: ask the server instead.
                    break;
                }
                // Holding it, look again before waiting.
                continue;
            }
            self.1.local_room.wait();
        }
        // The server waits for room (or the reader's end).
        serve_side(&self.1, true)?;
        Ok(stream::write(self.handle()?, buf)?)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Makes a pipe (served by threads of this process once its ends leave it; see the module).
pub fn pipe() -> io::Result<(PipeReader, PipeWriter)> {
    pipe_with_cut().map(|(r, w, _)| (r, w))
}

/// A hold on a pipe that ends it at once for both sides, whoever still holds ends of it: what
/// a parent keeps of the pipes it gave a child, to cut them when it kills the child. Unix
/// closes a killed process's descriptors at once; here a killed child's handles go only when
/// its last thread has ended, and a copy of the pipe's end that a thread of the child held
/// when it died stays with the child until then — a parent reading the child's output to the
/// end before waiting would wait for good.
#[derive(Clone, Debug)]
pub(crate) struct PipeCut(crate::sync::Weak<Shared>);

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("pipe")
    }
}

impl PipeCut {
    /// Ends the pipe: what is buffered can still be read, then the reader sees EOF; writes fail
    /// with BrokenPipe.
    pub(crate) fn cut(&self) {
        if let Some(s) = self.0.upgrade() {
            {
                let mut st = s.lock();
                st.writers_gone = true;
                st.cut = true;
            }
            s.data_ready();
            s.room_ready();
        }
    }
}

/// [`pipe`], and a [`PipeCut`] for it.
pub(crate) fn pipe_with_cut() -> io::Result<(PipeReader, PipeWriter, PipeCut)> {
    let (w_srv, w_cli) = libeurali::new_rendezvous()?;
    let (r_srv, r_cli) = libeurali::new_rendezvous()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            writers_gone: false,
            reader_gone: false,
            cut: false,
        }),
        data: Notify::new()?,
        local_data: Notify::new()?,
        local_reader: Mutex::new(()),
        room: Notify::new()?,
        local_room: Notify::new()?,
        local_writer: Mutex::new(()),
        writers: AtomicUsize::new(0),
        readers: AtomicUsize::new(0),
        writer_left: AtomicBool::new(false),
        reader_left: AtomicBool::new(false),
        writer_side: Mutex::new(Side {
            srv: Some(w_srv),
            watch: None,
        }),
        reader_side: Mutex::new(Side {
            srv: Some(r_srv),
            watch: None,
        }),
    });
    let cut = PipeCut(crate::sync::Arc::downgrade(&shared));
    Ok((
        PipeReader::new(r_cli, shared.clone()),
        PipeWriter::new(w_cli, shared),
        cut,
    ))
}

fn serve_writers(h: &Handle, shared: &Shared) {
    loop {
        let Ok(m) = libeurali::receive(h) else {
            // CLOSED: every writer is gone.
            shared.lock().writers_gone = true;
            shared.data_ready();
            return;
        };
        let reply = match stream::parse_request(m) {
            Request::Write(chunk) => accept(shared, chunk),
            Request::Read(_) => stream::error_reply(KernelError::NotImplemented),
            Request::Unknown(_) => stream::unknown_reply(),
        };
        let _ = libeurali::send(h, reply);
    }
}

/// Waits for room, takes what fits, and answers the WRITE (giving the chunk back).
fn accept(shared: &Shared, chunk: libeurali::MemoryChunk) -> libeurali::Message {
    let data = chunk.as_slice();
    loop {
        {
            let mut st = shared.lock();
            if st.reader_gone || st.cut {
                return stream::error_reply(KernelError::Closed);
            }
            let room = CAPACITY - st.buf.len();
            if room > 0 || data.is_empty() {
                let n = room.min(data.len());
                // (A slice's `extend` copies it whole.)
                st.buf.extend(&data[..n]);
                drop(st);
                shared.data_ready();
                return stream::written_reply(n, chunk);
            }
        }
        shared.room.wait();
    }
}

fn serve_reader(h: &Handle, shared: &Shared) {
    loop {
        let Ok(m) = libeurali::receive(h) else {
            {
                let mut st = shared.lock();
                st.reader_gone = true;
                st.buf.clear();
            }
            shared.room_ready();
            return;
        };
        let reply = match stream::parse_request(m) {
            Request::Read(max) => loop {
                {
                    let mut st = shared.lock();
                    if !st.buf.is_empty() {
                        let n = max.min(st.buf.len());
                        // Straight from the ring's two halves into the reply's chunk.
                        let (a, b) = st.buf.as_slices();
                        let from_a = n.min(a.len());
                        let reply = stream::data_reply_parts(&a[..from_a], &b[..n - from_a]);
                        if reply.is_ok() {
                            st.buf.drain(..n);
                        }
                        drop(st);
                        shared.room_ready();
                        break reply.unwrap_or_else(stream::error_reply);
                    }
                    if st.writers_gone {
                        break stream::eof_reply();
                    }
                }
                shared.data.wait();
            },
            Request::Write(_) => stream::error_reply(KernelError::NotImplemented),
            Request::Unknown(_) => stream::unknown_reply(),
        };
        let _ = libeurali::send(h, reply);
    }
}
