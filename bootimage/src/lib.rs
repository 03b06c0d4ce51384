//! The program image that init carries on the real kernel (Merriwig embeds one ELF, init, and
//! has no disk: every other program travels inside it).
//!
//! Format (little-endian):
//!
//! ```text
//! "EURALIMG"  u32 count
//! count x { u8 name_len, name (UTF-8), u32 size, u32 packed_len, packed (zlib) }
//! ```
//!
//! `packed` is the program compressed with deflate in a zlib stream (its Adler-32 checks the
//! bytes on the way out); `size` is the program's own length. `cargo xtask image` writes it with
//! [`encode`]; init reads it with [`entries`] and [`Entry::unpack`].
#![forbid(unsafe_code)]
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

pub const MAGIC: &[u8; 8] = b"EURALIMG";

/// One program in an image, still packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub size: usize,
    pub packed: &'a [u8],
}

/// Why an image or an entry could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not an image (wrong magic).
    Magic,
    /// Cut short, or a field points past the end.
    Truncated,
    /// A name that is not UTF-8, empty, or holds `/`.
    Name,
    /// The packed bytes do not inflate to `size` bytes with a good checksum.
    Corrupt(String),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Magic => write!(f, "not a program image"),
            Error::Truncated => write!(f, "program image cut short"),
            Error::Name => write!(f, "bad program name in the image"),
            Error::Corrupt(name) => write!(f, "{name}: corrupt in the image"),
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.b.len() < n {
            return Err(Error::Truncated);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u32(&mut self) -> Result<usize, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

/// The entries of `image`, checked for shape (not yet inflated).
pub fn entries(image: &[u8]) -> Result<Vec<Entry<'_>>, Error> {
    let mut r = Reader { b: image };
    if r.take(8)? != MAGIC {
        return Err(Error::Magic);
    }
    let count = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..count {
        let n = r.take(1)?[0] as usize;
        let name = core::str::from_utf8(r.take(n)?).map_err(|_| Error::Name)?;
        if name.is_empty() || name.contains('/') {
            return Err(Error::Name);
        }
        let size = r.u32()?;
        let packed_len = r.u32()?;
        let packed = r.take(packed_len)?;
        out.push(Entry { name, size, packed });
    }
    if !r.b.is_empty() {
        return Err(Error::Truncated);
    }
    Ok(out)
}

impl Entry<'_> {
    /// The program's bytes.
    pub fn unpack(&self) -> Result<Vec<u8>, Error> {
        match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(self.packed, self.size) {
            Ok(v) if v.len() == self.size => Ok(v),
            _ => Err(Error::Corrupt(self.name.into())),
        }
    }
}

/// Writes an image of `programs` (name, bytes), compressed at the best level. Names must be
/// 1..=255 bytes without `/`, programs under 4 GiB.
pub fn encode(programs: &[(&str, &[u8])]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(programs.len() as u32).to_le_bytes());
    for (name, bytes) in programs {
        if name.is_empty() || name.len() > 255 || name.contains('/') {
            return Err(Error::Name);
        }
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(bytes, 10);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        out.extend_from_slice(&packed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let img = encode(&[
            ("sh", b"\x7fELF shell"),
            ("coreutils", &big),
            ("empty", b""),
        ])
        .unwrap();
        assert!(img.len() < big.len() / 10, "compressed: {}", img.len());
        let e = entries(&img).unwrap();
        let names: Vec<&str> = e.iter().map(|e| e.name).collect();
        assert_eq!(names, ["sh", "coreutils", "empty"]);
        assert_eq!(e[0].unpack().unwrap(), b"\x7fELF shell");
        assert_eq!(e[1].unpack().unwrap(), big);
        assert_eq!(e[2].unpack().unwrap(), b"");
    }

    #[test]
    fn bad_images_are_refused() {
        assert_eq!(entries(b"nope"), Err(Error::Truncated));
        assert_eq!(entries(b"NOTANIMG\0\0\0\0"), Err(Error::Magic));
        let img = encode(&[("a", b"hello")]).unwrap();
        assert_eq!(entries(&img[..img.len() - 1]), Err(Error::Truncated));
        let mut long = img.clone();
        long.push(0);
        assert_eq!(entries(&long), Err(Error::Truncated));
        // A flipped byte in the packed data: the checksum (or the inflater) notices.
        let mut bad = img.clone();
        let n = bad.len();
        bad[n - 3] ^= 0x40;
        let e = entries(&bad).unwrap();
        assert_eq!(e[0].unpack(), Err(Error::Corrupt("a".into())));
        // A size that lies.
        let mut lie = img.clone();
        lie[8 + 4 + 1 + 1] = 9;
        assert!(entries(&lie).unwrap()[0].unpack().is_err());
        assert_eq!(encode(&[("a/b", b"")]), Err(Error::Name));
        assert_eq!(encode(&[("", b"")]), Err(Error::Name));
    }
}
