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

/// A size as GNU's `-h` options print it (ls, du, df): bytes below 1024, else K, M, G, T, P, E
/// of 1024, with one decimal below 10, rounded up.
pub fn human(n: u64) -> String {
    if n < 1024 {
        return n.to_string();
    }
    let (n, mut div, mut u) = (n as u128, 1024u128, 0);
    while n >= div * 1024 && u < 5 {
        div *= 1024;
        u += 1;
    }
    let unit = |u: usize| b"KMGTPE"[u] as char;
    let tenths = (n * 10).div_ceil(div);
    if tenths < 100 {
        return format!("{}.{}{}", tenths / 10, tenths % 10, unit(u));
    }
    match n.div_ceil(div) {
        1024 if u < 5 => format!("1.0{}", unit(u + 1)),
        whole => format!("{whole}{}", unit(u)),
    }
}

/// A tool's `--help`: its text to stdout, status 0 (1 if that write failed).
pub fn help(io: &mut crate::Io, text: &str) -> i32 {
    match io.stdout.write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => write_error(io.stderr, "help", &e),
    }
}

/// Whether a command line asks for help (`--help` first).
pub fn wants_help(args: &[String]) -> bool {
    args.first().is_some_and(|a| a == "--help")
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

    #[test]
    fn human_sizes_as_gnu() {
        for (n, h) in [
            (0, "0"),
            (1023, "1023"),
            (1024, "1.0K"),
            (1025, "1.1K"),
            (1536, "1.5K"),
            (10239, "10K"),
            (10240, "10K"),
            (10241, "11K"),
            (1048575, "1.0M"),
            (5 << 30, "5.0G"),
        ] {
            assert_eq!(human(n), h, "{n}");
        }
    }
}
