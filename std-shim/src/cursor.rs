//! `std::io::Cursor`: an in-memory buffer with a position, readable, seekable and (over a
//! `Vec<u8>` or a mutable slice) writable.

use alloc::vec::Vec;

use crate::io::{BufRead, Error, ErrorKind, Read, Result, Seek, SeekFrom, Write};

/// A buffer and a position in it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cursor<T> {
    inner: T,
    pos: u64,
}

impl<T> Cursor<T> {
    pub const fn new(inner: T) -> Cursor<T> {
        Cursor { inner, pos: 0 }
    }
    pub fn into_inner(self) -> T {
        self.inner
    }
    pub const fn get_ref(&self) -> &T {
        &self.inner
    }
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
    pub const fn position(&self) -> u64 {
        self.pos
    }
    pub fn set_position(&mut self, pos: u64) {
        self.pos = pos;
    }
}

impl<T: AsRef<[u8]>> Cursor<T> {
    /// What is left from the position on.
    fn remaining(&self) -> &[u8] {
        let data = self.inner.as_ref();
        let start = usize::try_from(self.pos)
            .unwrap_or(usize::MAX)
            .min(data.len());
        &data[start..]
    }
}

impl<T: AsRef<[u8]>> Read for Cursor<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let rest = self.remaining();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<T: AsRef<[u8]>> BufRead for Cursor<T> {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        Ok(self.remaining())
    }
    fn consume(&mut self, amt: usize) {
        self.pos += amt as u64;
    }
}

impl<T: AsRef<[u8]>> Seek for Cursor<T> {
    fn seek(&mut self, from: SeekFrom) -> Result<u64> {
        let (base, off) = match from {
            SeekFrom::Start(n) => {
                self.pos = n;
                return Ok(n);
            }
            SeekFrom::End(n) => (self.inner.as_ref().len() as u64, n),
            SeekFrom::Current(n) => (self.pos, n),
        };
        match base.checked_add_signed(off) {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                "invalid seek to a negative or overflowing position",
            )),
        }
    }
}

/// Writes `buf` at `pos` into a growable vector (zero-filling a gap), as std does.
fn vec_write(v: &mut Vec<u8>, pos: &mut u64, buf: &[u8]) -> Result<usize> {
    let at = usize::try_from(*pos).map_err(|_| Error::from(ErrorKind::InvalidInput))?;
    if v.len() < at {
        v.resize(at, 0);
    }
    let overlap = (v.len() - at).min(buf.len());
    v[at..at + overlap].copy_from_slice(&buf[..overlap]);
    v.extend_from_slice(&buf[overlap..]);
    *pos += buf.len() as u64;
    Ok(buf.len())
}

impl Write for Cursor<Vec<u8>> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        vec_write(&mut self.inner, &mut self.pos, buf)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Write for Cursor<&mut Vec<u8>> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        vec_write(self.inner, &mut self.pos, buf)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Write for Cursor<&mut [u8]> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        let len = self.inner.len();
        let at = usize::try_from(self.pos).unwrap_or(usize::MAX).min(len);
        let n = (len - at).min(buf.len());
        self.inner[at..at + n].copy_from_slice(&buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}
