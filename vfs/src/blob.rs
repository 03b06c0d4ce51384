//! A one-file server: a read-only regular file of fixed bytes at its mount point.
//!
//! What init uses to hand a shell a script too long for exec's argument page (ABI §4.2): it
//! serves the script with [`start`], mounts the handle at a path of the shell's namespace and
//! runs `sh -c '. PATH'`. Reads honour the offset, so the file can be read any number of times;
//! everything that would change it is refused.

use alloc::vec::Vec;

use libeurali::{Error, Handle};

use crate::proto::{Entry, FsError, Kind, Meta, flags};
use crate::server::FileSystem;

/// The file's bytes, as a [`FileSystem`] of one node (the mount point itself).
pub struct Blob(pub Vec<u8>);

impl FileSystem for Blob {
    type Node = ();

    fn open(&self, path: &[&str], fl: u32) -> Result<(), FsError> {
        if !path.is_empty() {
            return Err(FsError::NotFound);
        }
        if fl & flags::DIRECTORY != 0 {
            return Err(FsError::NotDir);
        }
        if fl & flags::MUTATING != 0 {
            return Err(FsError::Denied);
        }
        Ok(())
    }

    fn stat(&self, _: &()) -> Result<Meta, FsError> {
        Ok(Meta {
            kind: Kind::File,
            len: self.0.len() as u64,
            readonly: true,
            mount_readonly: true,
        })
    }

    fn read(&self, _: &(), offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let at = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let n = buf.len().min(self.0.len() - at);
        buf[..n].copy_from_slice(&self.0[at..at + n]);
        Ok(n)
    }

    fn write(&self, _: &(), _: Option<u64>, _: &[u8]) -> Result<u64, FsError> {
        Err(FsError::Denied)
    }

    fn set_len(&self, _: &(), _: u64) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn read_dir(&self, _: &()) -> Result<Vec<Entry>, FsError> {
        Err(FsError::NotDir)
    }

    fn mkdir(&self, _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn remove(&self, _: &[&str], _: bool) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn rename(&self, _: &[&str], _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
}

/// Serves `bytes` as a read-only file on a new thread; returns the handle to mount. The server
/// ends once every other reference to that handle is gone.
pub fn start(bytes: Vec<u8>) -> Result<Handle, Error> {
    crate::server::start(Blob(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_offsets_and_refuses_changes() {
        let b = Blob(b"hello".to_vec());
        let mut buf = [0u8; 3];
        assert_eq!(b.read(&(), 0, &mut buf), Ok(3));
        assert_eq!(&buf, b"hel");
        assert_eq!(b.read(&(), 3, &mut buf), Ok(2));
        assert_eq!(b.read(&(), 9, &mut buf), Ok(0));
        assert_eq!(b.stat(&()).map(|m| m.len), Ok(5));
        assert_eq!(b.open(&[], flags::READ), Ok(()));
        assert_eq!(b.open(&[], flags::WRITE), Err(FsError::Denied));
        assert_eq!(b.open(&["x"], flags::READ), Err(FsError::NotFound));
        assert_eq!(b.write(&(), None, b"x"), Err(FsError::Denied));
    }
}
