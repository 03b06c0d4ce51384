//! The tools' output: GNU's report of a failed write, and a writer that tells a failed write
//! from a failed read.

use std::io::{self, ErrorKind, Write, describe};

/// GNU's report of a failed write to standard output, `TOOL: write error: REASON`, and the
/// status it gives (1). A broken pipe is not reported: its reader ended (on eurali the runtime
/// ends the tool then, as SIGPIPE does, before it sees the error).
pub fn write_error(stderr: &mut dyn Write, tool: &str, e: &io::Error) -> i32 {
    if e.kind() != ErrorKind::BrokenPipe {
        let _ = writeln!(stderr, "{tool}: write error: {}", describe(e));
    }
    1
}

/// A writer that remembers whether one of its own writes failed, to tell a failed write of
/// the output from a failed read of an input when an error comes back.
pub struct Tracked<'a> {
    inner: &'a mut dyn Write,
    pub failed: bool,
}

impl<'a> Tracked<'a> {
    pub fn new(inner: &'a mut dyn Write) -> Tracked<'a> {
        Tracked {
            inner,
            failed: false,
        }
    }
}

impl Write for Tracked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.failed |= r.is_err();
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.failed |= r.is_err();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_errors() {
        let mut err = Vec::new();
        let full = io::Error::from(ErrorKind::StorageFull);
        assert_eq!(write_error(&mut err, "cat", &full), 1);
        assert_eq!(err, b"cat: write error: No space left on device\n");
        err.clear();
        assert_eq!(
            write_error(&mut err, "cat", &ErrorKind::BrokenPipe.into()),
            1
        );
        assert!(err.is_empty());
    }
}
