//! What the tools share: option parsing, error wording, opening inputs.

use std::io::{self, BufRead, BufReader, ErrorKind, Write};

pub use std::io::describe;

/// Options and operands of a command line: single-letter flags may be grouped (`-la`), flags in
/// `with_value` take a value (`-n 5`, `-n5`), `--` ends the options, a lone `-` is an operand.
pub struct Parsed {
    pub flags: Vec<char>,
    pub values: Vec<(char, String)>,
    pub operands: Vec<String>,
}

impl Parsed {
    pub fn has(&self, f: char) -> bool {
        self.flags.contains(&f)
    }
    pub fn value(&self, f: char) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(c, _)| *c == f)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `args`; `Err` names the problem (an unknown option, a missing value).
pub fn parse(args: &[String], known: &str, with_value: &str) -> Result<Parsed, String> {
    let mut p = Parsed {
        flags: Vec::new(),
        values: Vec::new(),
        operands: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            p.operands.extend(it.cloned());
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            p.operands.push(a.clone());
            continue;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if with_value.contains(c) {
                let rest: String = chars[i + 1..].iter().collect();
                let v = if !rest.is_empty() {
                    rest
                } else {
                    it.next()
                        .cloned()
                        .ok_or(format!("option requires an argument -- '{c}'"))?
                };
                p.values.push((c, v));
                break;
            } else if known.contains(c) {
                p.flags.push(c);
            } else {
                return Err(format!("invalid option -- '{c}'"));
            }
            i += 1;
        }
    }
    Ok(p)
}

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

/// An input operand: `-` is stdin; anything else a file, refused if it is a directory.
pub enum Input<'a> {
    Stdin(&'a mut dyn BufRead),
    File(BufReader<std::fs::File>),
}

impl Input<'_> {
    pub fn reader(&mut self) -> &mut dyn BufRead {
        match self {
            Input::Stdin(r) => *r,
            Input::File(f) => f,
        }
    }
}

/// `path` resolved against `cwd` (see [`crate::Io::at`]); as it is when there is no `cwd`, when
/// it is absolute, or empty (an error to report as such, not the directory itself).
pub fn at(cwd: Option<&str>, path: &str) -> std::path::PathBuf {
    match cwd {
        Some(dir) if !path.is_empty() && !path.starts_with('/') => {
            std::path::PathBuf::from(format!("{}/{path}", dir.trim_end_matches('/')))
        }
        _ => std::path::PathBuf::from(path),
    }
}

/// The input operands; `-` (stdin) when there are none.
pub fn inputs(operands: &[String]) -> Vec<&str> {
    if operands.is_empty() {
        vec!["-"]
    } else {
        operands.iter().map(String::as_str).collect()
    }
}

/// Opens input operand `name` (`cwd` as for [`at`]).
pub fn open<'a>(
    name: &str,
    cwd: Option<&str>,
    stdin: &'a mut dyn BufRead,
) -> io::Result<Input<'a>> {
    if name == "-" {
        return Ok(Input::Stdin(stdin));
    }
    let f = std::fs::File::open(at(cwd, name))?;
    if f.metadata()?.is_dir() {
        return Err(io::Error::from(ErrorKind::IsADirectory));
    }
    Ok(Input::File(BufReader::with_capacity(
        crate::FILE_READ_BUF,
        f,
    )))
}

/// Seconds since boot.
pub fn uptime_secs() -> u64 {
    std::time::uptime().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        let p = parse(&s(&["-la", "x", "-n5", "--", "-r"]), "la", "n").unwrap();
        assert!(p.has('l') && p.has('a') && !p.has('r'));
        assert_eq!(p.value('n'), Some("5"));
        assert_eq!(p.operands, ["x", "-r"]);
        let p = parse(&s(&["-n", "3", "-"]), "", "n").unwrap();
        assert_eq!(
            (p.value('n'), p.operands.as_slice()),
            (Some("3"), &["-".to_string()][..])
        );
        assert_eq!(
            parse(&s(&["-z"]), "a", "").err().unwrap(),
            "invalid option -- 'z'"
        );
        assert!(parse(&s(&["-n"]), "", "n").is_err());
    }

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
