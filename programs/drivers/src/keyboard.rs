//! The PS/2 keyboard: scancode set 1 (what the BIOS leaves the controller translating to, ABI §7)
//! decoded by `pc-keyboard` (US 104-key layout), turned into the bytes a VT100/xterm program
//! reads from its terminal.
//!
//! | Key | Bytes |
//! |---|---|
//! | characters (Shift, Caps Lock) | UTF-8 |
//! | Ctrl + `@`, `a`..`z`, `[`, `\`, `]`, `^`, `_`, Space, `/`, `?` | the control code (Ctrl-A = 0x01, Ctrl-Space = 0x00, Ctrl-? = 0x7F) |
//! | Alt + a key | ESC, then the key's bytes (meta sends escape) |
//! | Enter, keypad Enter / Tab / Shift-Tab / Backspace / Esc | `\r` / `\t` / `ESC [ Z` / 0x7F / 0x1B |
//! | Up, Down, Right, Left | `ESC [ A`..`D`; with modifiers `ESC [ 1 ; m A` (m = 1 + Shift 1 + Alt 2 + Ctrl 4) |
//! | Home, End | `ESC [ H`, `ESC [ F` (modified likewise) |
//! | Insert, Delete, Page Up, Page Down | `ESC [ 2 ~`, `ESC [ 3 ~`, `ESC [ 5 ~`, `ESC [ 6 ~` (`ESC [ 3 ; m ~` with modifiers) |
//! | F1..F4 | `ESC O P`..`S` |
//! | F5..F12 | `ESC [ 15 ~`, 17, 18, 19, 20, 21, 23, 24 |
//! | Alt + F1..F12 (also Ctrl-Alt) | no bytes: switch to virtual console 1..12 ([`Input::Switch`]) |
//!
//! Key releases, lone modifiers and keys with no terminal meaning (Print Screen, the Windows keys)
//! give nothing.

use alloc::vec::Vec;

use pc_keyboard::{
    DecodedKey, HandleControl, KeyCode, KeyState, PS2Keyboard, ScancodeSet1, layouts::Us104Key,
};

/// What a scancode byte completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes for the active console's input.
    Bytes(Vec<u8>),
    /// Alt + F`n`: make virtual console `n` (0-based) the active one.
    Switch(usize),
}

/// Scancode bytes in, [`Input`] out; keeps the modifier state between bytes.
pub struct Decoder {
    kb: PS2Keyboard<Us104Key, ScancodeSet1>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            // Control is handled here (for more than letters), so pc-keyboard leaves letters be.
            kb: PS2Keyboard::new(ScancodeSet1::new(), Us104Key, HandleControl::Ignore),
        }
    }

    /// Feeds one byte read from port 0x60; returns what the key press it completed means.
    /// A byte that is not valid here (a controller's ACK, a garbled sequence) resets the
    /// decoder and gives nothing.
    pub fn feed(&mut self, byte: u8) -> Option<Input> {
        let event = match self.kb.add_byte(byte) {
            Ok(Some(e)) => e,
            Ok(None) => return None,
            Err(_) => {
                self.kb.clear();
                return None;
            }
        };
        let (code, state) = (event.code, event.state);
        let decoded = self.kb.process_keyevent(event);
        if state == KeyState::Up {
            return None;
        }
        let m = self.kb.get_modifiers();
        let shift = m.lshift || m.rshift;
        let ctrl = m.lctrl || m.rctrl;
        let alt = m.lalt || m.ralt;
        let modifier = 1 + shift as u8 + 2 * alt as u8 + 4 * ctrl as u8;
        if let Some(n) = function_key(code) {
            if alt {
                return Some(Input::Switch(usize::from(n - 1)));
            }
            return Some(Input::Bytes(function_key_bytes(n, modifier)));
        }
        let csi_letter = |c: u8| {
            if modifier == 1 {
                alloc::vec![0x1B, b'[', c]
            } else {
                alloc::vec![0x1B, b'[', b'1', b';', b'0' + modifier, c]
            }
        };
        let csi_tilde = |n: u8| {
            if modifier == 1 {
                alloc::vec![0x1B, b'[', n, b'~']
            } else {
                alloc::vec![0x1B, b'[', n, b';', b'0' + modifier, b'~']
            }
        };
        let bytes = match code {
            KeyCode::ArrowUp => csi_letter(b'A'),
            KeyCode::ArrowDown => csi_letter(b'B'),
            KeyCode::ArrowRight => csi_letter(b'C'),
            KeyCode::ArrowLeft => csi_letter(b'D'),
            KeyCode::Home => csi_letter(b'H'),
            KeyCode::End => csi_letter(b'F'),
            KeyCode::Insert => csi_tilde(b'2'),
            KeyCode::Delete => csi_tilde(b'3'),
            KeyCode::PageUp => csi_tilde(b'5'),
            KeyCode::PageDown => csi_tilde(b'6'),
            KeyCode::Return | KeyCode::NumpadEnter => meta(alt, alloc::vec![b'\r']),
            KeyCode::Backspace => meta(alt, alloc::vec![0x7F]),
            KeyCode::Tab if shift => alloc::vec![0x1B, b'[', b'Z'],
            KeyCode::Tab => meta(alt, alloc::vec![b'\t']),
            KeyCode::Escape => meta(alt, alloc::vec![0x1B]),
            _ => match decoded {
                Some(DecodedKey::Unicode(c)) => {
                    let mut buf = [0u8; 4];
                    let b = if ctrl {
                        match control(c) {
                            Some(b) => alloc::vec![b],
                            None => c.encode_utf8(&mut buf).as_bytes().to_vec(),
                        }
                    } else {
                        c.encode_utf8(&mut buf).as_bytes().to_vec()
                    };
                    meta(alt, b)
                }
                _ => return None,
            },
        };
        Some(Input::Bytes(bytes))
    }
}

/// Alt as meta: ESC before the key.
fn meta(alt: bool, mut bytes: Vec<u8>) -> Vec<u8> {
    if alt {
        bytes.insert(0, 0x1B);
    }
    bytes
}

/// The control code Ctrl + `c` types, as a VT100 keyboard makes it.
fn control(c: char) -> Option<u8> {
    match c {
        'a'..='z' => Some(c as u8 - b'a' + 1),
        '@' | '[' | '\\' | ']' | '^' | '_' | 'A'..='Z' => Some(c as u8 & 0x1F),
        ' ' | '2' => Some(0),
        '/' | '-' => Some(0x1F),
        '?' => Some(0x7F),
        _ => None,
    }
}

fn function_key(code: KeyCode) -> Option<u8> {
    Some(match code {
        KeyCode::F1 => 1,
        KeyCode::F2 => 2,
        KeyCode::F3 => 3,
        KeyCode::F4 => 4,
        KeyCode::F5 => 5,
        KeyCode::F6 => 6,
        KeyCode::F7 => 7,
        KeyCode::F8 => 8,
        KeyCode::F9 => 9,
        KeyCode::F10 => 10,
        KeyCode::F11 => 11,
        KeyCode::F12 => 12,
        _ => return None,
    })
}

/// xterm's bytes for F`n` with modifier parameter `m` (1 = none).
fn function_key_bytes(n: u8, m: u8) -> Vec<u8> {
    let mut v = alloc::vec![0x1B];
    if n <= 4 {
        if m == 1 {
            v.extend_from_slice(&[b'O', b'P' + n - 1]);
        } else {
            v.extend_from_slice(&[b'[', b'1', b';', b'0' + m, b'P' + n - 1]);
        }
        return v;
    }
    let code: u8 = [15, 17, 18, 19, 20, 21, 23, 24][(n - 5) as usize];
    v.push(b'[');
    v.push(b'0' + code / 10);
    v.push(b'0' + code % 10);
    if m != 1 {
        v.extend_from_slice(&[b';', b'0' + m]);
    }
    v.push(b'~');
    v
}

/// The i8042 controller's status and data ports.
pub const DATA_PORT: u16 = 0x60;
pub const STATUS_PORT: u16 = 0x64;
/// Status bit 0: a byte waits in the output buffer.
pub const OUTPUT_FULL: u8 = 1;
/// Status bit 5: that byte came from the auxiliary device (a PS/2 mouse), not the keyboard.
pub const AUX_DATA: u8 = 0x20;

/// Reads every byte waiting in the controller (ABI §4.10: the IRQ stays unacknowledged until the
/// next `await_interrupt`, so a byte left behind might never raise another) and feeds the
/// keyboard's bytes to `decoder`, handing each [`Input`] to `out`. Returns how many bytes it read.
pub fn drain(
    io: &mut impl crate::port::PortIo,
    decoder: &mut Decoder,
    mut out: impl FnMut(Input),
) -> usize {
    let mut n = 0;
    // Bounded: a controller stuck with its bit set must not hold the driver forever.
    while n < 64 {
        let status = io.inb(STATUS_PORT);
        if status & OUTPUT_FULL == 0 {
            break;
        }
        let byte = io.inb(DATA_PORT);
        n += 1;
        if status & AUX_DATA != 0 {
            continue;
        }
        if let Some(i) = decoder.feed(byte) {
            out(i);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Make (press) and break (release) codes of scancode set 1.
    const LSHIFT: u8 = 0x2A;
    const LCTRL: u8 = 0x1D;
    const LALT: u8 = 0x38;
    const CAPS: u8 = 0x3A;
    const BREAK: u8 = 0x80;

    fn run(codes: &[u8]) -> Vec<Input> {
        let mut d = Decoder::new();
        codes.iter().filter_map(|&c| d.feed(c)).collect()
    }

    /// Everything typed, as one byte string (panics on a console switch).
    fn typed(codes: &[u8]) -> Vec<u8> {
        run(codes)
            .into_iter()
            .flat_map(|i| match i {
                Input::Bytes(b) => b,
                Input::Switch(n) => panic!("unexpected switch to {n}"),
            })
            .collect()
    }

    /// Press and release of a plain key.
    fn tap(code: u8) -> [u8; 2] {
        [code, code | BREAK]
    }

    /// Press and release of an extended (0xE0-prefixed) key.
    fn ext(code: u8) -> [u8; 4] {
        [0xE0, code, 0xE0, code | BREAK]
    }

    #[test]
    fn letters_digits_and_shift() {
        // h i space 1 ; Shift+a Shift+1
        let mut codes = Vec::new();
        for c in [0x23, 0x17, 0x39, 0x02, 0x27] {
            codes.extend(tap(c));
        }
        codes.extend([
            LSHIFT,
            0x1E,
            0x1E | BREAK,
            0x02,
            0x02 | BREAK,
            LSHIFT | BREAK,
        ]);
        codes.extend(tap(0x1E)); // a again, shift released
        assert_eq!(typed(&codes), b"hi 1;A!a");
    }

    #[test]
    fn caps_lock_toggles_letters_only() {
        let mut codes = Vec::new();
        codes.extend(tap(CAPS));
        codes.extend(tap(0x1E)); // a -> A
        codes.extend(tap(0x02)); // 1 stays 1
        codes.extend([LSHIFT, 0x1E, 0x1E | BREAK, LSHIFT | BREAK]); // shift+a under caps -> a
        codes.extend(tap(CAPS));
        codes.extend(tap(0x1E));
        assert_eq!(typed(&codes), b"A1aa");
    }

    #[test]
    fn control_codes() {
        let mut codes = vec![LCTRL];
        for c in [0x1E, 0x2E, 0x20, 0x1A, 0x39] {
            // a c d [ space
            codes.extend(tap(c));
        }
        codes.push(LCTRL | BREAK);
        codes.extend(tap(0x2E)); // c, ctrl released
        assert_eq!(typed(&codes), b"\x01\x03\x04\x1b\x00c");
        // Right Ctrl (E0 1D) works too.
        let mut codes = vec![0xE0, 0x1D];
        codes.extend(tap(0x26)); // l
        codes.extend([0xE0, 0x9D]);
        assert_eq!(typed(&codes), b"\x0c");
    }

    #[test]
    fn special_keys_as_vt100_sequences() {
        let mut codes = Vec::new();
        for c in [0x48, 0x50, 0x4D, 0x4B, 0x47, 0x4F, 0x52, 0x53, 0x49, 0x51] {
            // up down right left home end insert delete pgup pgdn
            codes.extend(ext(c));
        }
        assert_eq!(
            typed(&codes),
            b"\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1b[2~\x1b[3~\x1b[5~\x1b[6~"
        );
        let mut codes = Vec::new();
        for c in [0x1C, 0x0E, 0x0F, 0x01] {
            // enter backspace tab esc
            codes.extend(tap(c));
        }
        codes.extend(ext(0x1C)); // keypad enter
        codes.extend([LSHIFT, 0x0F, 0x0F | BREAK, LSHIFT | BREAK]);
        assert_eq!(typed(&codes), b"\r\x7f\t\x1b\r\x1b[Z");
    }

    #[test]
    fn modified_cursor_keys() {
        let mut codes = vec![LCTRL];
        codes.extend(ext(0x4D)); // ctrl+right
        codes.push(LCTRL | BREAK);
        codes.push(LSHIFT);
        codes.extend(ext(0x48)); // shift+up
        codes.extend(ext(0x53)); // shift+delete
        codes.push(LSHIFT | BREAK);
        assert_eq!(typed(&codes), b"\x1b[1;5C\x1b[1;2A\x1b[3;2~");
    }

    #[test]
    fn function_keys() {
        let mut codes = Vec::new();
        for c in [
            0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58,
        ] {
            codes.extend(tap(c));
        }
        assert_eq!(
            typed(&codes),
            b"\x1bOP\x1bOQ\x1bOR\x1bOS\x1b[15~\x1b[17~\x1b[18~\x1b[19~\x1b[20~\x1b[21~\x1b[23~\x1b[24~"
        );
        let mut codes = vec![LSHIFT];
        codes.extend(tap(0x3B));
        codes.extend(tap(0x3F));
        assert_eq!(typed(&codes), b"\x1b[1;2P\x1b[15;2~");
    }

    #[test]
    fn alt_is_meta_and_alt_f_keys_switch_consoles() {
        let mut codes = vec![LALT];
        codes.extend(tap(0x30)); // alt+b
        codes.extend(tap(0x3C)); // alt+F2
        codes.extend(tap(0x3B)); // alt+F1
        codes.push(LALT | BREAK);
        codes.extend([LCTRL, LALT]);
        codes.extend(tap(0x3D)); // ctrl+alt+F3
        codes.extend([LALT | BREAK, LCTRL | BREAK]);
        codes.extend(tap(0x30)); // b
        assert_eq!(
            run(&codes),
            vec![
                Input::Bytes(b"\x1bb".to_vec()),
                Input::Switch(1),
                Input::Switch(0),
                Input::Switch(2),
                Input::Bytes(b"b".to_vec()),
            ]
        );
    }

    #[test]
    fn releases_lone_modifiers_and_garbage_give_nothing() {
        assert_eq!(run(&[LSHIFT, LSHIFT | BREAK, 0x9E, 0xE0, 0xAA]), vec![]);
        // An ACK (0xFA) from the controller does not break the next key.
        let mut codes = vec![0xFA];
        codes.extend(tap(0x1E));
        assert_eq!(typed(&codes), b"a");
    }

    /// A controller model: a queue of (status, data) bytes.
    struct Controller {
        queue: std::collections::VecDeque<(u8, u8)>,
        reads: usize,
    }

    impl crate::port::PortIo for Controller {
        fn inb(&mut self, port: u16) -> u8 {
            self.reads += 1;
            match port {
                STATUS_PORT => self.queue.front().map_or(0x1C, |(s, _)| *s),
                DATA_PORT => self.queue.pop_front().map_or(0, |(_, d)| d),
                _ => panic!("read of port {port:#x}"),
            }
        }
        // Writes and wider reads: the trait's panics (the driver only reads).
    }

    #[test]
    fn drain_reads_every_waiting_byte_and_skips_mouse_bytes() {
        let mut c = Controller {
            queue: [(1, 0x23), (0x21, 0x08), (1, 0xA3), (1, 0x17), (1, 0x97)]
                .into_iter()
                .collect(),
            reads: 0,
        };
        let mut d = Decoder::new();
        let mut got = Vec::new();
        assert_eq!(drain(&mut c, &mut d, |i| got.push(i)), 5);
        assert_eq!(
            got,
            vec![Input::Bytes(b"h".to_vec()), Input::Bytes(b"i".to_vec())]
        );
        assert!(c.queue.is_empty());
        assert_eq!(drain(&mut c, &mut d, |_| panic!()), 0);
    }
}
