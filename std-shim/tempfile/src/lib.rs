//! Temporary directories, shaped like the `tempfile` crate's (`TempDir::new`, `tempdir`,
//! `TempDir::path`, removal on drop), for code written against std-shim: kibi's unit tests use
//! `tempfile::TempDir`, and the `tempfile` crate itself is built on the host's std, whose paths
//! and files are not eurali's.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A directory under [`std::env::temp_dir`] that is removed, with its contents, on drop.
pub struct TempDir {
    path: Option<PathBuf>,
}

/// How many names to try before giving up (each is random, so a clash is rare).
const ATTEMPTS: usize = 64;

impl TempDir {
    /// Creates a new, empty directory `.tmpXXXXXXXX` under the temporary directory.
    pub fn new() -> io::Result<TempDir> {
        TempDir::new_in(std::env::temp_dir())
    }

    /// Creates a new, empty directory `.tmpXXXXXXXX` under `dir`.
    pub fn new_in<P: AsRef<Path>>(dir: P) -> io::Result<TempDir> {
        for _ in 0..ATTEMPTS {
            let mut bytes = [0u8; 6];
            std::random::fill(&mut bytes);
            let mut name = String::from(".tmp");
            for b in bytes {
                name.push(char::from(
                    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        [usize::from(b) % 62],
                ));
            }
            let path = dir.as_ref().join(&name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path: Some(path) }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "too many temporary directories already exist",
        ))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new("/"))
    }

    /// Keeps the directory (no removal on drop) and returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.path.take().unwrap_or_default()
    }

    /// Removes the directory now, reporting failure.
    pub fn close(mut self) -> io::Result<()> {
        match self.path.take() {
            Some(p) => std::fs::remove_dir_all(p),
            None => Ok(()),
        }
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl fmt::Debug for TempDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempDir")
            .field("path", &self.path())
            .finish()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Creates a new temporary directory ([`TempDir::new`]).
pub fn tempdir() -> io::Result<TempDir> {
    TempDir::new()
}
