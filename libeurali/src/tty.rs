//! A console's line discipline, one for every console (docs/protocols.md, "Console"): the
//! stub's host console and the real kernel's console driver both use it. Cooked until a program
//! asks for raw mode — typed characters are echoed, Backspace and Ctrl-U edit the line, Enter
//! makes it readable, Ctrl-D on an empty line is an end of file (once), escape sequences (cursor
//! keys, decoded by [`crate::keys::Escapes`]) are dropped but for Alt's `ESC` before a key, which
//! types the key, Ctrl-C drops the typed line and unread input and raises an interrupt (`libeurali::proto::stream`: the waiting READ is answered
//! INTERRUPTED, subscribers are told) — and in raw mode every byte is readable as it comes,
//! unechoed (Ctrl-C included).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::keys::{Escapes, Key, Step};

#[derive(Default)]
pub struct LineDiscipline {
    raw: bool,
    line: Vec<u8>,
    ready: VecDeque<u8>,
    eof: bool,
    /// An escape sequence being dropped (cooked mode).
    escapes: Escapes,
    /// Ctrl-C typed in cooked mode, not yet taken.
    interrupted: bool,
}

/// Most bytes kept waiting for a reader; typing beyond is dropped (a stuck reader must not eat
/// the driver's heap).
pub const MAX_PENDING: usize = 16 * 1024;

impl LineDiscipline {
    /// Takes typed bytes; returns what to echo.
    pub fn input(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        if self.raw {
            let room = MAX_PENDING.saturating_sub(self.ready.len());
            self.ready.extend(bytes.iter().take(room));
            return echo;
        }
        for &b in bytes {
            let b = match self.escapes.step(b) {
                Step::Byte(b) => b,
                // Alt with a key: the key.
                Step::Key(Key::Alt(c)) => c as u8,
                Step::Key(Key::AltBackspace) => 0x7F,
                Step::Key(_) | Step::Unknown | Step::Pending => continue,
            };
            match b {
                b'\r' | b'\n' => {
                    self.line.push(b'\n');
                    self.ready.extend(self.line.drain(..));
                    echo.push(b'\n');
                }
                0x7F | 0x08 if self.pop_char() => echo.extend_from_slice(b"\x08 \x08"),
                0x7F | 0x08 => {}
                0x15 => {
                    while self.pop_char() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                0x03 => {
                    self.line.clear();
                    self.ready.clear();
                    self.interrupted = true;
                    echo.extend_from_slice(b"^C\n");
                }
                0x04 => {
                    if self.line.is_empty() {
                        self.eof = true;
                    } else {
                        self.ready.extend(self.line.drain(..));
                    }
                }
                b'\t' | 0x20.. if self.line.len() + self.ready.len() < MAX_PENDING => {
                    self.line.push(b);
                    echo.push(b);
                }
                _ => {}
            }
        }
        echo
    }

    /// Bytes the terminal itself answers with (device status reports): readable at once, in
    /// either mode, never echoed. Answers that would take the bytes waiting past
    /// [`MAX_PENDING`] are dropped whole (a program asking in a loop and never reading must not
    /// eat the driver's heap; a cut answer would read as garbage).
    pub fn answer(&mut self, bytes: &[u8]) {
        if self.ready.len() + bytes.len() <= MAX_PENDING {
            self.ready.extend(bytes);
        }
    }

    fn pop_char(&mut self) -> bool {
        if self.line.is_empty() {
            return false;
        }
        while let Some(b) = self.line.pop() {
            if b & 0xC0 != 0x80 {
                break;
            }
        }
        true
    }

    /// Up to `max` ready bytes, or `None` if nothing is ready.
    pub fn take(&mut self, max: usize) -> Option<Vec<u8>> {
        if self.ready.is_empty() || max == 0 {
            return None;
        }
        let n = max.min(self.ready.len());
        Some(self.ready.drain(..n).collect())
    }

    /// Whether Ctrl-C was typed (in cooked mode) since the last call.
    pub fn take_interrupted(&mut self) -> bool {
        core::mem::take(&mut self.interrupted)
    }

    /// Whether a READ now gets EOF (consumes the Ctrl-D).
    pub fn take_eof(&mut self) -> bool {
        core::mem::take(&mut self.eof)
    }

    /// What is typed so far becomes readable (the end of a console's input; raw mode).
    pub fn flush_partial(&mut self) {
        self.ready.extend(self.line.drain(..));
    }

    pub fn set_raw(&mut self, raw: bool) {
        self.raw = raw;
        if raw {
            self.flush_partial();
        }
    }

    pub fn raw(&self) -> bool {
        self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::LineDiscipline;
    use alloc::vec;

    #[test]
    fn cooked_lines_echo_and_editing() {
        let mut ld = LineDiscipline::default();
        assert_eq!(ld.input(b"lx\x7fs"), b"lx\x08 \x08s");
        assert_eq!(ld.take(100), None);
        assert_eq!(ld.input(b" -l\x1b[A\x1bOP\r"), b" -l\n");
        assert_eq!(ld.take(3).unwrap(), b"ls ");
        assert_eq!(ld.take(100).unwrap(), b"-l\n");
        ld.input("é\x7f\x15abc\x15".as_bytes());
        assert_eq!(ld.take(100), None);
        ld.input(b"\x04");
        assert!(ld.take_eof());
        assert!(!ld.take_eof());
        ld.input(b"part\x04");
        assert_eq!(ld.take(100).unwrap(), b"part");
        assert!(!ld.take_interrupted());
        ld.input(b"unread\r");
        assert_eq!(ld.input(b"oops\x03"), b"oops^C\n");
        assert!(ld.take_interrupted());
        assert!(!ld.take_interrupted());
        assert_eq!(
            ld.take(100),
            None,
            "the typed line and unread input are dropped"
        );
    }

    #[test]
    fn cooked_mode_drops_sequences_as_the_editor_decodes_them() {
        let mut ld = LineDiscipline::default();
        // PS/2's cursor keys and a private sequence are dropped; Alt types the key; a control
        // byte inside a sequence is not swallowed.
        assert_eq!(
            ld.input(b"a\x1b\x9bA\x1b[?1;2c\x1bb\x1b\x7fc"),
            b"ab\x08 \x08c"
        );
        assert_eq!(ld.input(b"\x1b[1\x03"), b"^C\n");
        assert!(ld.take_interrupted());
    }

    #[test]
    fn raw_mode_passes_keys_through_and_answers_are_readable() {
        let mut ld = LineDiscipline::default();
        ld.input(b"ab");
        ld.set_raw(true);
        assert_eq!(ld.take(100).unwrap(), b"ab");
        assert_eq!(ld.input(b"\x1b[A\x7f\x03"), b"");
        assert_eq!(ld.take(100).unwrap(), b"\x1b[A\x7f\x03");
        assert!(
            !ld.take_interrupted(),
            "raw Ctrl-C is a byte for the program"
        );
        ld.answer(b"\x1b[1;1R");
        assert_eq!(ld.take(100).unwrap(), b"\x1b[1;1R");
    }

    #[test]
    fn typing_ahead_is_bounded() {
        let mut ld = LineDiscipline::default();
        ld.set_raw(true);
        ld.input(&vec![b'x'; super::MAX_PENDING + 10]);
        assert_eq!(ld.take(usize::MAX).unwrap().len(), super::MAX_PENDING);
        // Status-report answers nobody reads are bounded too, and never cut.
        for _ in 0..super::MAX_PENDING {
            ld.answer(b"\x1b[12;34R");
        }
        let all = ld.take(usize::MAX).unwrap();
        assert!(
            all.len() <= super::MAX_PENDING && all.len() % 8 == 0,
            "{}",
            all.len()
        );
        assert!(all.ends_with(b"\x1b[12;34R"));
    }
}
