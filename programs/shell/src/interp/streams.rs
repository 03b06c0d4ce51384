//! Where a command reads and writes: [`Streams`] (descriptors 0, 1, 2 and those of 3 to 9
//! that are open), [`In`] and [`Out`] (the shell's own, a pipe, a redirection's file, nothing),
//! and a redirection's file, [`Target`], served to a program as its stream.

use std::fs::File;
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::fds::{self, Fd};
use super::file_words;

/// A file named by redirections, shared by those that name it (one offset, as a Unix dup
/// shares it).
pub struct Target {
    pub(super) file: Mutex<File>,
    /// The path as the redirection named it, for messages.
    pub(super) path: String,
    /// Why a program's write into it failed first, if one did and the shell has not said so yet
    /// (see [`super::Job::wait`]).
    pub(super) failed: Mutex<Option<String>>,
}

impl Target {
    pub(super) fn new(file: File, path: &str) -> Shared {
        Arc::new(Target {
            file: Mutex::new(file),
            path: path.to_string(),
            failed: Mutex::new(None),
        })
    }

    pub(super) fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, File>> {
        self.file.lock().map_err(|_| io::Error::other("lock"))
    }

    /// An error of this file's, with its path in the message. A file's broken pipe (its file
    /// server ended) is an input/output error: no reader of a pipe went away.
    pub(super) fn named(&self, e: io::Error) -> io::Error {
        let kind = match e.kind() {
            io::ErrorKind::BrokenPipe => io::ErrorKind::Other,
            k => k,
        };
        io::Error::new(kind, format!("{}: {}", self.path, file_words(&e)))
    }
}

/// A redirection's file served to a program as its stream (std-shim's stream server, a thread
/// of the shell): each WRITE reaches the file before it is answered (so a program learns of a
/// full disk at the write that did not fit, and what it wrote is in the file at once), and a
/// failed one is answered with its error (a full disk reads as such in the program) and kept
/// for the shell's own message ([`super::Job::wait`]).
pub(super) struct TargetStream(pub(super) Shared);

impl Target {
    /// Keeps the first failure of a program's writes, in words, for [`super::Job::wait`].
    pub(super) fn note<T>(&self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed.get_or_insert_with(|| file_words(e));
        }
        r
    }
}

impl std::stream::StreamIo for TargetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(&mut *self.0.lock()?, buf)
    }
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let r = self
            .0
            .lock()
            .and_then(|mut f| f.write_all(data).and_then(|()| f.flush()));
        self.0.note(r).map(|()| data.len())
    }
}

/// A file shared by the redirections that name it.
pub type Shared = Arc<Target>;

/// Where a command reads.
pub enum In {
    /// The shell's own stdin.
    Inherit,
    File(Shared),
    Pipe(PipeReader),
    /// Nothing (EOF at once).
    Null,
}

/// Where a command writes, and the first write there that failed (for the builtin that wrote
/// it to report, [`Out::take_failure`]).
pub struct Out {
    pub(super) to: To,
    /// (Boxed: an `Out` is in every frame of a recursion through commands.)
    pub(super) failed: Option<Box<io::Error>>,
}

impl Out {
    /// Whether this is the shell's own stdout or stderr (the console, usually).
    pub fn is_inherited(&self) -> bool {
        matches!(self.to, To::Inherit(_))
    }

    /// Whether this is a redirection's file.
    pub fn is_file(&self) -> bool {
        matches!(self.to, To::File(_))
    }

    /// The redirection's path, if this is a redirection's file.
    pub fn file_path(&self) -> Option<&str> {
        match &self.to {
            To::File(t) => Some(&t.path),
            _ => None,
        }
    }
}

pub(super) enum To {
    /// The shell's own stdout (for fd 1) or stderr (for fd 2).
    Inherit(u32),
    File(Shared),
    Pipe(PipeWriter),
    /// Closed (`>&-`): writes fail with "Bad file descriptor".
    Closed,
}

/// A command's streams: descriptors 0, 1 and 2 by name, and those of 3 to 9 that are open.
pub struct Streams {
    pub stdin: In,
    pub stdout: Out,
    pub stderr: Out,
    /// Open descriptors 3 to 9, by number (see [`fds`]).
    pub more: Vec<(u32, Fd)>,
}

impl Streams {
    pub fn inherit() -> Streams {
        Streams::new(In::Inherit, Out::inherit(1), Out::inherit(2))
    }

    /// The three standard streams, no other descriptor open.
    pub fn new(stdin: In, stdout: Out, stderr: Out) -> Streams {
        Streams {
            stdin,
            stdout,
            stderr,
            more: Vec::new(),
        }
    }

    pub(super) fn try_clone(&self) -> io::Result<Streams> {
        Ok(Streams {
            stdin: self.stdin.try_clone()?,
            stdout: self.stdout.try_clone()?,
            stderr: self.stderr.try_clone()?,
            more: self.more_clone()?,
        })
    }
}

impl In {
    pub(super) fn try_clone(&self) -> io::Result<In> {
        Ok(match self {
            In::Inherit => In::Inherit,
            In::Null => In::Null,
            In::File(f) => In::File(f.clone()),
            In::Pipe(p) => In::Pipe(p.try_clone()?),
        })
    }

    /// The child's end; a file is fed through a pipe by a pump thread (joined after the child).
    pub(super) fn stdio(self, pumps: &mut Vec<JoinHandle<()>>) -> io::Result<Stdio> {
        Ok(match self {
            In::Inherit => Stdio::inherit(),
            In::Null => Stdio::null(),
            In::Pipe(p) => Stdio::from(p),
            In::File(f) => {
                let (r, mut w) = io::pipe()?;
                pumps.push(std::thread::Builder::new().spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match f.lock().map(|mut f| f.read(&mut buf)) {
                            Ok(Ok(n)) if n > 0 => n,
                            _ => return,
                        };
                        if w.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                })?);
                Stdio::from(r)
            }
        })
    }
}

impl Out {
    /// The shell's own stdout (`fd` 1) or stderr (2).
    pub fn inherit(fd: u32) -> Out {
        Out::to(To::Inherit(fd))
    }

    pub(super) fn file(t: Shared) -> Out {
        Out::to(To::File(t))
    }

    pub(super) fn pipe(w: PipeWriter) -> Out {
        Out::to(To::Pipe(w))
    }

    pub(super) fn to(to: To) -> Out {
        Out { to, failed: None }
    }

    pub(super) fn try_clone(&self) -> io::Result<Out> {
        Ok(Out::to(match &self.to {
            To::Inherit(fd) => To::Inherit(*fd),
            To::File(f) => To::File(f.clone()),
            To::Pipe(p) => To::Pipe(p.try_clone()?),
            To::Closed => To::Closed,
        }))
    }

    /// The first write (or flush) that failed since the last call, and forgets it.
    pub fn take_failure(&mut self) -> Option<io::Error> {
        self.failed.take().map(|e| *e)
    }

    /// Whether this is a stream whose reader may go (a pipe, the shell's own output), not a
    /// file.
    pub(super) fn is_stream(&self) -> bool {
        !matches!(self.to, To::File(_))
    }

    /// The child's end as its descriptor `slot` (1 or 2): a file is served by a stream server
    /// of the shell's (its failures kept in `targets` for [`super::Job::wait`] to report); the shell's
    /// own stdout or stderr is passed as itself, also in the other's slot (`2>&1`).
    pub(super) fn stdio(self, slot: u32, targets: &mut Vec<Shared>) -> io::Result<Stdio> {
        Ok(match self.to {
            To::Inherit(fd) if fd == slot => Stdio::inherit(),
            To::Inherit(fd) => {
                let h = match fd {
                    2 => std::rt::stderr_handle(),
                    _ => std::rt::stdout_handle(),
                };
                h.map_or_else(Stdio::null, Stdio::from)
            }
            To::Closed => Stdio::from(std::stream::serve(fds::Closed, "closed")?),
            To::Pipe(p) => Stdio::from(p),
            To::File(f) => {
                let h = std::stream::serve(TargetStream(f.clone()), "redirect")?;
                targets.push(f);
                Stdio::from(h)
            }
        })
    }

    /// Keeps the first failure, in words for a message (a file's with its path).
    pub(super) fn record<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        let r = r.map_err(|e| match &self.to {
            To::File(t) => t.named(e),
            _ => io::Error::new(e.kind(), io::describe(&e)),
        });
        if let Err(e) = &r
            && self.failed.is_none()
        {
            self.failed = Some(Box::new(io::Error::new(e.kind(), e.to_string())));
        }
        r
    }
}

impl Write for Out {
    /// A message whole, in one write: the error lines of jobs running at once (threads of this
    /// shell or other processes on one terminal) do not interleave mid-line. Text goes out as
    /// the bytes it stands for (`std::ffi::bytes_from_text`), as std-shim's `write_fmt` does.
    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.write_all(&std::ffi::bytes_from_text(&std::fmt::format(args)))
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match &mut self.to {
            To::Inherit(2) => io::stderr().write(buf),
            To::Inherit(_) => io::stdout().write(buf),
            To::File(f) => f.lock().and_then(|mut f| f.write(buf)),
            To::Pipe(p) => p.write(buf),
            To::Closed => Err(fds::bad_fd()),
        };
        self.record(r)
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.to {
            To::Inherit(2) => Ok(()),
            To::Inherit(_) => io::stdout().flush(),
            To::File(f) => f.lock().and_then(|mut f| f.flush()),
            To::Pipe(p) => p.flush(),
            To::Closed => Ok(()),
        };
        self.record(r)
    }
}

impl Read for In {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            In::Inherit => io::stdin().read(buf),
            In::Null => Ok(0),
            In::File(f) => f.lock()?.read(buf),
            In::Pipe(p) => p.read(buf),
        }
    }
}
