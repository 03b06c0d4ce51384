//! What a child's standard streams are connected to ([`Stdio`]), and the parent's ends of the
//! piped ones ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]).

use core::fmt;

use libeurali::Handle;

use crate::fs::File;
use crate::io::{self, Read, Write};
use crate::pipe::{PipeReader, PipeWriter};

/// What a child's standard stream is connected to.
pub struct Stdio(pub(super) StdioInner);

pub(super) enum StdioInner {
    Inherit,
    Piped,
    Null,
    /// A stream handle given by the caller; moved into the first child spawned with it.
    Handle(Handle),
    /// A file behind a forwarding stream server; moved into the first child spawned with it.
    File(File),
    /// An end of a pipe of this process; its handle goes to the first child spawned with it.
    PipeReader(PipeReader),
    PipeWriter(PipeWriter),
    /// A handle or file already given to an earlier child of the same command.
    Used,
}

impl Stdio {
    /// The same stream as this process's.
    pub fn inherit() -> Stdio {
        Stdio(StdioInner::Inherit)
    }
    /// A new pipe; the parent's end appears in [`Child`]'s `stdin`/`stdout`/`stderr`.
    pub fn piped() -> Stdio {
        Stdio(StdioInner::Piped)
    }
    /// A stream where reads end at once and writes vanish.
    pub fn null() -> Stdio {
        Stdio(StdioInner::Null)
    }
}

impl fmt::Debug for Stdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            StdioInner::Inherit => "Stdio::inherit()",
            StdioInner::Piped => "Stdio::piped()",
            StdioInner::Null => "Stdio::null()",
            StdioInner::Handle(_) => "Stdio(handle)",
            StdioInner::File(_) => "Stdio(file)",
            StdioInner::PipeReader(_) | StdioInner::PipeWriter(_) => "Stdio(pipe)",
            StdioInner::Used => "Stdio(used)",
        })
    }
}

/// A stream handle (eurali: a rendezvous whose server speaks the stream protocol).
impl From<Handle> for Stdio {
    fn from(h: Handle) -> Stdio {
        Stdio(StdioInner::Handle(h))
    }
}

/// A redirection: the child reads or writes the file (through a forwarding thread here).
impl From<File> for Stdio {
    fn from(f: File) -> Stdio {
        Stdio(StdioInner::File(f))
    }
}

impl From<PipeReader> for Stdio {
    fn from(p: PipeReader) -> Stdio {
        Stdio(StdioInner::PipeReader(p))
    }
}

impl From<PipeWriter> for Stdio {
    fn from(p: PipeWriter) -> Stdio {
        Stdio(StdioInner::PipeWriter(p))
    }
}

impl From<ChildStdin> for Stdio {
    fn from(c: ChildStdin) -> Stdio {
        Stdio::from(c.0)
    }
}

/// A pipeline: one child's output as the next one's input.
impl From<ChildStdout> for Stdio {
    fn from(c: ChildStdout) -> Stdio {
        Stdio::from(c.0)
    }
}

impl From<ChildStderr> for Stdio {
    fn from(c: ChildStderr) -> Stdio {
        Stdio::from(c.0)
    }
}

/// The writing end of a child's piped stdin. Dropping it is the child's EOF.
#[derive(Debug)]
pub struct ChildStdin(pub(super) PipeWriter);
/// The reading end of a child's piped stdout.
#[derive(Debug)]
pub struct ChildStdout(pub(super) PipeReader);
/// The reading end of a child's piped stderr.
#[derive(Debug)]
pub struct ChildStderr(pub(super) PipeReader);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
