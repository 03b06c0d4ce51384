//! The tools' inputs: operands resolved against the working directory, `-` for stdin, opened
//! as buffered readers.

use std::io::{self, BufRead, BufReader, ErrorKind};

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

/// The names in directory `dir`, sorted (what `find`, `du`, `tar -c` and `man -k` walk).
pub fn sorted_names(dir: impl AsRef<std::path::Path>) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
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
