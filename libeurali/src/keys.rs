//! Keys from a terminal's input bytes: the one decoder of escape sequences, for the shell's
//! line editor ([`KeyDecoder`]: bytes to [`Key`]s), the full-screen programs (`gopher`'s
//! screen and the pager, [`KeyDecoder::plain`]: control keys as they were typed) and the
//! consoles' line discipline ([`crate::tty`], which drops the sequences in cooked mode:
//! [`Escapes`]).
//!
//! Sequences are read as a VT100/xterm terminal sends them (`ESC [ A`, `ESC [ 1 ; 5 D`,
//! `ESC [ 3 ~`, `ESC O H`, Alt as `ESC` before the key) and as Merriwig's PS/2 driver does
//! (`ESC 0x9B A`, ABI §6.3). The byte after `ESC` is looked at here: `[`, `O` (SS3) and 0x9B
//! open a control sequence, any other printable byte is that key with Alt. (A terminal
//! *emulator*'s grammar, `vte`'s, reads `ESC ]`, `ESC P` and `ESC SP` as the start of strings
//! and intermediates; from a keyboard they are Alt-], Alt-P, Alt-Space.) The control sequence
//! itself (parameters, intermediates, final byte) is parsed by [`vte::Parser`], whose
//! [`vte::Perform`] here turns the final byte and its parameters into a key. A control byte or
//! a byte that is not ASCII inside a sequence ends it unfinished and is read as itself (a
//! Ctrl-C is never swallowed); an `ESC` there starts a new one.

use alloc::vec::Vec;

/// A decoded key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    Tab,
    /// Ctrl-Left (also Alt-Left, `ESC O d`): a word back.
    WordLeft,
    /// Ctrl-Right (also Alt-Right, `ESC O c`): a word forward.
    WordRight,
    /// Alt (meta, `ESC` first) + a printable ASCII character; Ctrl-Delete is `Alt('d')`.
    Alt(char),
    /// Alt-Backspace.
    AltBackspace,
    /// The Esc key alone.
    Escape,
    /// Ctrl + a letter (lower case), other than the ones mapped above.
    Ctrl(char),
}

/// What [`Escapes::step`] made of a byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Not part of an escape sequence: the byte as it was typed.
    Byte(u8),
    /// Taken: a sequence began or goes on.
    Pending,
    /// A sequence ended: the key it stands for.
    Key(Key),
    /// A sequence ended that stands for no key known here (dropped).
    Unknown,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    /// After an `ESC`.
    Esc,
    /// Inside a control sequence (`ss3`: opened by `ESC O`).
    Seq { ss3: bool },
}

/// Escape sequences, a byte at a time; a sequence split across reads goes on at the next byte.
#[derive(Default)]
pub struct Escapes {
    state: State,
    /// No OSC strings reach it (only `ESC [` and what follows), so no OSC buffer.
    parser: vte::Parser<0>,
}

impl core::fmt::Debug for Escapes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Escapes")
            .field("state", &self.state)
            .finish()
    }
}

/// The [`vte::Perform`]: the key a control sequence's final byte and parameters stand for.
struct Final {
    ss3: bool,
    /// Set when the sequence was dispatched (`None` inside: no key known).
    key: Option<Option<Key>>,
}

impl vte::Perform for Final {
    fn csi_dispatch(&mut self, params: &vte::Params, intermediates: &[u8], ignore: bool, c: char) {
        self.key = Some(if ignore || !intermediates.is_empty() {
            None
        } else {
            csi_key(params, c, self.ss3)
        });
    }
}

/// The key of `ESC [ NUMBER ; MODIFIER FINAL` (or `ESC O ...`).
fn csi_key(params: &vte::Params, c: char, ss3: bool) -> Option<Key> {
    let mut it = params.iter();
    let mut next = || it.next().and_then(|p| p.first().copied()).unwrap_or(0);
    let (number, modifier) = (next(), next());
    // xterm's modifier parameter (`1;5D`): 1 + Shift 1 + Alt 2 + Ctrl 4.
    let by_word = matches!(modifier, 3 | 5 | 7);
    Some(match (c, number) {
        ('A', _) => Key::Up,
        ('B', _) => Key::Down,
        ('C', _) if by_word => Key::WordRight,
        ('D', _) if by_word => Key::WordLeft,
        ('C', _) => Key::Right,
        ('D', _) => Key::Left,
        // rxvt's Ctrl-Right / Ctrl-Left.
        ('c', _) if ss3 => Key::WordRight,
        ('d', _) if ss3 => Key::WordLeft,
        ('H', _) => Key::Home,
        ('F', _) => Key::End,
        ('~', 1 | 7) => Key::Home,
        ('~', 4 | 8) => Key::End,
        ('~', 5) => Key::PageUp,
        ('~', 6) => Key::PageDown,
        ('~', 3) if by_word => Key::Alt('d'),
        ('~', 3) => Key::Delete,
        _ => return None,
    })
}

impl Escapes {
    /// Whether a lone `ESC` is all that is pending (what follows it has not come yet).
    pub fn after_esc(&self) -> bool {
        self.state == State::Esc
    }

    /// Drops what is pending of a sequence.
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    /// Takes the next input byte.
    pub fn step(&mut self, b: u8) -> Step {
        match self.state {
            State::Idle if b == 0x1B => {
                self.state = State::Esc;
                Step::Pending
            }
            State::Idle => Step::Byte(b),
            State::Esc => match b {
                b'[' | b'O' | 0x9B => {
                    self.state = State::Seq { ss3: b == b'O' };
                    // Opens a control sequence in the parser, whatever state it was left in.
                    self.parser.advance(
                        &mut Final {
                            ss3: false,
                            key: None,
                        },
                        b"\x1b[",
                    );
                    Step::Pending
                }
                // Esc, then a sequence or another key.
                0x1B => Step::Key(Key::Escape),
                0x7F | 0x08 => {
                    self.state = State::Idle;
                    Step::Key(Key::AltBackspace)
                }
                0x20..=0x7E => {
                    self.state = State::Idle;
                    Step::Key(Key::Alt(b as char))
                }
                // Alt with anything else: the key without Alt.
                _ => {
                    self.state = State::Idle;
                    Step::Byte(b)
                }
            },
            State::Seq { .. } if b == 0x1B => {
                self.state = State::Esc;
                Step::Pending
            }
            State::Seq { ss3 } if (0x20..=0x7F).contains(&b) => {
                let mut perform = Final { ss3, key: None };
                self.parser.advance(&mut perform, &[b]);
                match perform.key {
                    Some(key) => {
                        self.state = State::Idle;
                        key.map_or(Step::Unknown, Step::Key)
                    }
                    // A final byte the parser took without a dispatch (a malformed sequence
                    // it ignores) ends the sequence all the same.
                    None if (0x40..=0x7E).contains(&b) => {
                        self.state = State::Idle;
                        Step::Unknown
                    }
                    None => Step::Pending,
                }
            }
            State::Seq { .. } => {
                self.state = State::Idle;
                Step::Byte(b)
            }
        }
    }
}

/// Turns input bytes into keys, across reads (an escape sequence or a UTF-8 character may be
/// split). An ESC that ends what was fed is the Esc key: terminals send a key's sequence in one
/// piece, and Esc has no other way to be told apart (readline waits a while instead; the editor
/// has no clock). A byte that is not UTF-8 is typed as itself (the character that stands for
/// it, [`crate::text::text_from_bytes`]), at once when what follows shows it.
#[derive(Debug)]
pub struct KeyDecoder {
    escapes: Escapes,
    /// The first bytes of a UTF-8 character.
    partial: Vec<u8>,
    /// Whether Ctrl-A, -E, -B, -F, -P and -N are read as Home, End and the arrows (readline's
    /// keys, for the line editor), or as `Ctrl` keys (the full-screen programs' own).
    emacs: bool,
}

impl Default for KeyDecoder {
    /// The line editor's decoder: readline's control keys are the editing keys.
    fn default() -> KeyDecoder {
        KeyDecoder {
            escapes: Escapes::default(),
            partial: Vec::new(),
            emacs: true,
        }
    }
}

impl KeyDecoder {
    /// A decoder for a full-screen program: every control byte but Enter, Backspace and Tab is
    /// its `Ctrl` key (Ctrl-B is `Ctrl('b')`, not Left), the escape sequences as for the line
    /// editor.
    pub fn plain() -> KeyDecoder {
        KeyDecoder {
            emacs: false,
            ..KeyDecoder::default()
        }
    }

    /// Feeds bytes; returns the keys completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        let mut keys = Vec::new();
        for &b in bytes {
            if !self.partial.is_empty() {
                if b & 0xC0 == 0x80 {
                    self.partial.push(b);
                    if self.partial.len() == utf8_len(self.partial[0]) {
                        self.flush_partial(&mut keys);
                    }
                    continue;
                }
                self.flush_partial(&mut keys);
            }
            match self.escapes.step(b) {
                Step::Byte(b) => self.byte(b, &mut keys),
                Step::Key(k) => keys.push(k),
                Step::Pending | Step::Unknown => {}
            }
        }
        if self.escapes.after_esc() {
            self.escapes.reset();
            keys.push(Key::Escape);
        }
        keys
    }

    /// A byte outside any escape sequence.
    fn byte(&mut self, b: u8, keys: &mut Vec<Key>) {
        keys.push(match b {
            b'\r' | b'\n' => Key::Enter,
            0x7F | 0x08 => Key::Backspace,
            b'\t' => Key::Tab,
            0x01 if self.emacs => Key::Home,
            0x05 if self.emacs => Key::End,
            0x02 if self.emacs => Key::Left,
            0x06 if self.emacs => Key::Right,
            0x10 if self.emacs => Key::Up,
            0x0E if self.emacs => Key::Down,
            c if c < 0x20 => Key::Ctrl((c + b'a' - 1) as char),
            c if c < 0x80 => Key::Char(c as char),
            c if utf8_len(c) > 1 => {
                // The first byte of a character: wait for the rest.
                self.partial.push(c);
                return;
            }
            c => {
                self.partial.push(c);
                return self.flush_partial(keys);
            }
        });
    }

    /// The bytes gathered as a character: a character if they are one, else each byte's own.
    fn flush_partial(&mut self, keys: &mut Vec<Key>) {
        keys.extend(
            crate::text::text_from_bytes(&self.partial)
                .chars()
                .map(Key::Char),
        );
        self.partial.clear();
    }
}

/// How many bytes a UTF-8 character starting with `first` takes (1 for a byte that starts
/// none).
fn utf8_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_vt100_and_merriwig_sequences() {
        let mut d = KeyDecoder::default();
        assert_eq!(
            d.feed(b"a\x1b[A\x1b[3~\x1bOH\x1b\x9bD\r"),
            [
                Key::Char('a'),
                Key::Up,
                Key::Delete,
                Key::Home,
                Key::Left,
                Key::Enter
            ]
        );
        // Split across reads.
        assert_eq!(d.feed(b"\x1b["), []);
        assert_eq!(d.feed(b"1~"), [Key::Home]);
        assert_eq!(d.feed(b"\x1b[1;"), []);
        assert_eq!(d.feed(b"5D"), [Key::WordLeft]);
        assert_eq!(d.feed("é".as_bytes()), [Key::Char('é')]);
        assert_eq!(d.feed(&[0xC3]), []);
        assert_eq!(d.feed(&[0xA9, 0x17]), [Key::Char('é'), Key::Ctrl('w')]);
        // Unknown sequences are dropped, a private one (`?`) and a mouse report included; a
        // byte that is not UTF-8 is typed as itself, at once when what follows shows it.
        assert_eq!(
            d.feed(b"\x1b[99zq\xffr\x1b[?1;2c\x1b[<0;3;4M"),
            [Key::Char('q'), Key::Char('\u{10ffff}'), Key::Char('r')]
        );
        assert_eq!(d.feed(b"\xe9x"), [Key::Char('\u{10ffe9}'), Key::Char('x')]);
        assert_eq!(
            d.feed(b"\xe2\x82\x1b[C"),
            [Key::Char('\u{10ffe2}'), Key::Char('\u{10ff82}'), Key::Right]
        );
    }

    #[test]
    fn esc_alone_alt_keys_and_broken_sequences() {
        let mut d = KeyDecoder::default();
        assert_eq!(d.feed(b"\x1b"), [Key::Escape]);
        assert_eq!(d.feed(b"\x1bb\x1b\x7f"), [Key::Alt('b'), Key::AltBackspace]);
        assert_eq!(d.feed(b"\x1b\x1b[A"), [Key::Escape, Key::Up]);
        assert_eq!(d.feed(b"\x1b\x1b"), [Key::Escape, Key::Escape]);
        assert_eq!(
            d.feed(b"\x1b[1;5C\x1b[3;5~\x1b[1;2D\x1bOc\x1bOd"),
            [
                Key::WordRight,
                Key::Alt('d'),
                Key::Left,
                Key::WordRight,
                Key::WordLeft
            ]
        );
        // Alt with a key that is not printable ASCII: the key alone.
        assert_eq!(d.feed(b"\x1b\x01"), [Key::Home]);
        // A control byte ends a sequence unfinished and is read; an ESC starts another.
        assert_eq!(d.feed(b"\x1b[1\x03"), [Key::Ctrl('c')]);
        assert_eq!(d.feed(b"\x1b[1\x1b[B"), [Key::Down]);
        // Alt-] and Alt-P are keys, not the start of strings.
        assert_eq!(d.feed(b"\x1b]\x1bP"), [Key::Alt(']'), Key::Alt('P')]);
    }

    #[test]
    fn page_keys_and_the_plain_decoder() {
        // PageUp and PageDown as xterm sends them (and through Merriwig's PS/2 driver).
        let mut d = KeyDecoder::default();
        assert_eq!(
            d.feed(b"\x1b[5~\x1b[6~\x1b\x9b5~\x1b[6;5~"),
            [Key::PageUp, Key::PageDown, Key::PageUp, Key::PageDown]
        );
        // The line editor's decoder reads readline's control keys as editing keys; the plain
        // one gives them as typed, and the rest alike.
        assert_eq!(
            d.feed(b"\x01\x02\x05\x06\x0e\x10\x03"),
            [
                Key::Home,
                Key::Left,
                Key::End,
                Key::Right,
                Key::Down,
                Key::Up,
                Key::Ctrl('c')
            ]
        );
        let mut p = KeyDecoder::plain();
        assert_eq!(
            p.feed(b"\x01\x02\x05\x06\x0e\x10\x03\x0c\x12\x15"),
            [
                Key::Ctrl('a'),
                Key::Ctrl('b'),
                Key::Ctrl('e'),
                Key::Ctrl('f'),
                Key::Ctrl('n'),
                Key::Ctrl('p'),
                Key::Ctrl('c'),
                Key::Ctrl('l'),
                Key::Ctrl('r'),
                Key::Ctrl('u')
            ]
        );
        assert_eq!(
            p.feed(b"j\x1b[A\x1b[C\x1bOD\x1b[6~\r\n\x7f\x08\t\x1b[H\x1b[4~\xc3\xa9"),
            [
                Key::Char('j'),
                Key::Up,
                Key::Right,
                Key::Left,
                Key::PageDown,
                Key::Enter,
                Key::Enter,
                Key::Backspace,
                Key::Backspace,
                Key::Tab,
                Key::Home,
                Key::End,
                Key::Char('é')
            ]
        );
        // Esc alone at the end of a read, and a sequence split across reads.
        assert_eq!(p.feed(b"q\x1b"), [Key::Char('q'), Key::Escape]);
        assert_eq!(p.feed(b"\x1b[5"), []);
        assert_eq!(p.feed(b"~"), [Key::PageUp]);
    }

    #[test]
    fn escapes_step_by_step() {
        let mut e = Escapes::default();
        assert_eq!(e.step(b'x'), Step::Byte(b'x'));
        assert_eq!(e.step(0x1B), Step::Pending);
        assert!(e.after_esc());
        assert_eq!(e.step(b'['), Step::Pending);
        assert_eq!(e.step(b'2'), Step::Pending);
        assert_eq!(e.step(b'~'), Step::Unknown);
        assert_eq!(e.step(0x1B), Step::Pending);
        assert_eq!(e.step(b'O'), Step::Pending);
        assert_eq!(e.step(b'P'), Step::Unknown);
        assert_eq!(e.step(0x1B), Step::Pending);
        assert_eq!(e.step(b'q'), Step::Key(Key::Alt('q')));
        assert_eq!(e.step(b'\r'), Step::Byte(b'\r'));
    }
}
