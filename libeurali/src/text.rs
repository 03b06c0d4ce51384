//! Any bytes as text, losslessly: eurali's names, arguments, environment and the shell's words
//! are UTF-8 text, but a console, a pipe or a file may give any bytes. Each byte (0x80..=0xFF)
//! of input that is not UTF-8 becomes one reserved code point, and back (docs/design.md, "Bytes
//! that are not UTF-8"). Exec parameters carry the bytes: [`crate::params::ExecParams`] writes
//! an argument's [`bytes_from_text`], and a program's runtime makes [`text_from_bytes`] of them.

use alloc::borrow::Cow;
use alloc::string::String;

/// The first of the 128 code points (U+10FF80..=U+10FFFF, the end of plane 16's private use
/// area) that stand for the bytes 0x80..=0xFF in text made from bytes that are not UTF-8: byte
/// `b` is `ESCAPE_BASE + b - 0x80`. eurali's names, arguments and the shell's words are text;
/// [`text_from_bytes`] and [`bytes_from_text`] carry any byte sequence through them losslessly
/// (docs/design.md).
const ESCAPE_BASE: u32 = 0x10_FF80;

/// The code point that stands for byte `b` (0x80..=0xFF) of input that is not UTF-8.
fn escaped(b: u8) -> char {
    char::from_u32(ESCAPE_BASE + u32::from(b & 0x7F)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Whether `c` stands for a byte (see [`text_from_bytes`]).
pub fn is_escaped_byte(c: char) -> bool {
    u32::from(c) >= ESCAPE_BASE
}

/// Any bytes as text, losslessly: UTF-8 stays as it is, each byte of what is not UTF-8 (and of
/// a character in the reserved range itself, so that the mapping is one to one) becomes its
/// reserved code point; [`bytes_from_text`] gives the bytes back.
#[inline(never)] // one copy, wherever text is made (programs' size)
pub fn text_from_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (good, bad) = match core::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => (
                core::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
                e.error_len().unwrap_or(rest.len() - e.valid_up_to()),
            ),
        };
        for c in good.chars() {
            if is_escaped_byte(c) {
                let mut utf8 = [0u8; 4];
                out.extend(c.encode_utf8(&mut utf8).bytes().map(escaped));
            } else {
                out.push(c);
            }
        }
        let bad_at = good.len();
        out.extend(rest[bad_at..bad_at + bad].iter().copied().map(escaped));
        rest = &rest[bad_at + bad..];
    }
    out
}

/// The bytes that `text` (made by [`text_from_bytes`], or any text) stands for: its UTF-8 with
/// each reserved code point turned back into its byte.
#[inline(never)] // one copy for every `write_fmt` (programs' size)
pub fn bytes_from_text(text: &str) -> Cow<'_, [u8]> {
    if !text.chars().any(is_escaped_byte) {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = alloc::vec::Vec::with_capacity(text.len());
    let mut utf8 = [0u8; 4];
    for c in text.chars() {
        if is_escaped_byte(c) {
            out.push((u32::from(c) - ESCAPE_BASE) as u8 | 0x80);
        } else {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_round_trip_through_text() {
        let cases: &[&[u8]] = &[
            b"",
            b"plain",
            "caf\u{e9}".as_bytes(),
            b"caf\xe9",
            b"\xff\xfe\x80",
            b"\xe9\n",
            b"\xc3",
            b"a\xf0\x9f\x98",
            // A reserved character given as UTF-8 stays those four bytes.
            "x\u{10ffe9}y".as_bytes(),
        ];
        for &bytes in cases {
            let text = text_from_bytes(bytes);
            assert_eq!(&*bytes_from_text(&text), bytes, "{bytes:x?}");
        }
        assert_eq!(text_from_bytes(b"caf\xe9"), "caf\u{10ffe9}");
        assert_eq!(text_from_bytes("é".as_bytes()), "é");
        // Every pair of bytes.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let bytes = [a, b, b'z'];
                assert_eq!(&*bytes_from_text(&text_from_bytes(&bytes)), &bytes);
            }
        }
    }
}
