//! The emulator against escape streams, checked cell by cell.

use super::*;

fn term() -> Terminal {
    Terminal::new(25, 80)
}

/// Every row's text, trailing blank rows cut.
fn text(t: &Terminal) -> Vec<String> {
    let mut rows: Vec<String> = (0..t.screen.rows()).map(|r| t.screen.row_text(r)).collect();
    while rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    rows
}

#[test]
fn text_newlines_and_carriage_return() {
    let mut t = term();
    t.write(b"hello\nworld\rW\tx\x08y");
    assert_eq!(text(&t), ["hello", "World   y"]);
    assert_eq!(t.screen.cursor(), (1, 9));
    t.screen.onlcr = false;
    t.write(b"\nz");
    assert_eq!(t.screen.row_text(2), "         z");
}

#[test]
fn wrap_is_deferred_at_the_last_column() {
    let mut t = Terminal::new(3, 5);
    t.write(b"abcde");
    assert_eq!(t.screen.cursor(), (0, 4));
    t.write(b"f");
    assert_eq!(text(&t), ["abcde", "f"]);
    // CR in the pending state stays on the line.
    t.write(b"ghij\rX");
    assert_eq!(text(&t), ["abcde", "Xghij"]);
}

#[test]
fn scrolling_at_the_bottom() {
    let mut t = Terminal::new(3, 10);
    t.write(b"1\n2\n3\n4");
    assert_eq!(text(&t), ["2", "3", "4"]);
    // Reverse index at the top scrolls down.
    t.write(b"\x1b[H\x1bM0");
    assert_eq!(text(&t), ["0", "2", "3"]);
    // A scrolling region: only rows 2..3 move.
    t.write(b"\x1b[2;3r\x1b[3;1Hx\ny");
    assert_eq!(text(&t), ["0", "x", "y"]);
    t.write(b"\x1b[1S");
    assert_eq!(text(&t), ["0", "y"]);
}

#[test]
fn cursor_positioning_and_erasing() {
    let mut t = term();
    t.write(b"aaaaaaaaaa\nbbbbbbbbbb\ncccccccccc");
    t.write(b"\x1b[2;5H\x1b[K");
    assert_eq!(text(&t), ["aaaaaaaaaa", "bbbb", "cccccccccc"]);
    t.write(b"\x1b[1;3H\x1b[1K");
    assert_eq!(t.screen.row_text(0), "   aaaaaaa");
    t.write(b"\x1b[3;6H\x1b[2K");
    assert_eq!(t.screen.row_text(2), "");
    t.write(b"\x1b[1;1Hx\x1b[J");
    assert_eq!(text(&t), ["x"]);
    t.write(b"\x1b[10;20Hq\x1b[2J");
    assert_eq!(text(&t), Vec::<String>::new());
    assert_eq!(t.screen.cursor(), (9, 20));
    // Moves are clamped to the screen.
    t.write(b"\x1b[99;99H");
    assert_eq!(t.screen.cursor(), (24, 79));
    t.write(b"\x1b[5A\x1b[3D\x1b[2B\x1b[C");
    assert_eq!(t.screen.cursor(), (21, 77));
    t.write(b"\x1b[7G\x1b[4d");
    assert_eq!(t.screen.cursor(), (3, 6));
}

#[test]
fn insert_and_delete_characters_and_lines() {
    let mut t = term();
    t.write(b"abcdef\x1b[1;3H\x1b[2@XY");
    assert_eq!(t.screen.row_text(0), "abXYcdef");
    t.write(b"\x1b[1;2H\x1b[3P");
    assert_eq!(t.screen.row_text(0), "acdef");
    t.write(b"\x1b[1;2H\x1b[2X");
    assert_eq!(t.screen.row_text(0), "a  ef");
    t.write(b"\x1b[H\x1b[2J1\n2\n3\x1b[2;1H\x1b[L");
    assert_eq!(text(&t)[..4], ["1", "", "2", "3"]);
    t.write(b"\x1b[M\x1b[M");
    assert_eq!(text(&t)[..2], ["1", "3"]);
}

#[test]
fn sgr_colours_bold_and_inverse() {
    let mut t = term();
    t.write(b"a\x1b[31mb\x1b[1;44mc\x1b[7md\x1b[0me\x1b[92;100mf\x1b[39;49mg\x1b[38;5;12mh\x1b[mi");
    let attrs: Vec<u8> = (0..9).map(|c| t.screen.cell(0, c).attr).collect();
    assert_eq!(
        attrs,
        [
            0x07, // default
            0x04, // red
            0x1C, // bold red (light red) on blue
            0x41, // inverse: blue text on red (a light background is cut to 3 bits: bit 7 blinks)
            0x07, // reset
            0x0A, // bright green on black (background 100, bright black, cut to black)
            0x07, 0x09, // 256-colour 12 = bright blue
            0x07,
        ]
    );
    assert_eq!(t.screen.row_text(0), "abcdefghi");
}

#[test]
fn erase_uses_the_background_colour() {
    let mut t = Terminal::new(2, 4);
    t.write(b"\x1b[44m\x1b[2J");
    assert!(t.screen.cells().iter().all(|c| *c
        == Cell {
            ch: b' ',
            attr: 0x17
        }));
}

#[test]
fn device_status_reports_are_answered() {
    let mut t = term();
    t.write(b"\x1b[5;10H\x1b[6n");
    assert_eq!(t.screen.take_responses(), b"\x1b[5;10R");
    assert_eq!(t.screen.take_responses(), b"");
    // kibi's window-size probe when it has no other way: far right and down, then ask.
    t.write(b"\x1b[999C\x1b[999B\x1b[6n\x1b[5n\x1b[c");
    assert_eq!(t.screen.take_responses(), b"\x1b[25;80R\x1b[0n\x1b[?6c");
}

#[test]
fn cursor_visibility_save_restore_and_reset() {
    let mut t = term();
    t.write(b"\x1b[?25l");
    assert!(!t.screen.cursor_visible());
    t.write(b"\x1b[?25h\x1b[3;4H\x1b7\x1b[31m\x1b[H\x1b8x");
    assert!(t.screen.cursor_visible());
    assert_eq!(
        t.screen.cell(2, 3),
        Cell {
            ch: b'x',
            attr: 0x07
        }
    );
    t.write(b"\x1b[s\x1b[H\x1b[uy");
    assert_eq!(t.screen.cell(2, 4).ch, b'y');
    t.write(b"\x1bc");
    assert_eq!(text(&t), Vec::<String>::new());
    assert_eq!(t.screen.cursor(), (0, 0));
}

#[test]
fn alternate_screen_keeps_the_main_one() {
    let mut t = term();
    t.write(b"shell$ kibi f\n");
    t.write(b"\x1b[?1049h\x1b[H\x1b[2Jeditor");
    assert_eq!(text(&t), ["editor"]);
    t.write(b"\x1b[?1049l");
    assert_eq!(text(&t), ["shell$ kibi f"]);
    assert_eq!(t.screen.cursor(), (1, 0));
}

#[test]
fn utf8_is_drawn_in_code_page_437() {
    let mut t = term();
    t.write("é─│█€".as_bytes());
    let chs: Vec<u8> = (0..5).map(|c| t.screen.cell(0, c).ch).collect();
    assert_eq!(chs, [0x82, 0xC4, 0xB3, 0xDB, b'?']);
}

#[test]
fn any_split_of_a_stream_draws_the_same() {
    let stream: &[u8] = b"ab\x1b[31;1mc\x1b[2;3Hd\x1b[K\xc3\xa9\x1b[6n\x1b[?25l";
    let mut whole = term();
    whole.write(stream);
    for cut in 0..stream.len() {
        let mut t = term();
        t.write(&stream[..cut]);
        t.write(&stream[cut..]);
        assert_eq!(t.screen.cells(), whole.screen.cells(), "cut at {cut}");
        assert_eq!(t.screen.cursor(), whole.screen.cursor());
        assert_eq!(t.screen.take_responses(), b"\x1b[2;5R");
    }
}

struct Recorder {
    cells: Vec<u16>,
    cursor: Option<usize>,
    writes: usize,
}

impl Display for Recorder {
    fn put(&mut self, i: usize, cell: u16) {
        self.cells[i] = cell;
        self.writes += 1;
    }
    fn cursor(&mut self, at: Option<usize>) {
        self.cursor = at;
    }
}

#[test]
fn drawing_writes_only_changed_cells() {
    let mut t = Terminal::new(2, 3);
    let mut d = Recorder {
        cells: vec![0; 6],
        cursor: None,
        writes: 0,
    };
    let mut shown = Vec::new();
    t.write(b"ab");
    draw(&t.screen, &mut shown, &mut d, false);
    assert_eq!(d.writes, 6);
    assert_eq!(d.cells[0], 0x0761);
    assert_eq!(d.cursor, Some(2));
    d.writes = 0;
    t.write(b"\x1b[?25lc");
    draw(&t.screen, &mut shown, &mut d, false);
    assert_eq!(d.writes, 1);
    assert_eq!(d.cursor, None);
    draw(&t.screen, &mut shown, &mut d, true);
    assert_eq!(d.writes, 7);
}

#[test]
fn crtc_cursor_programs_the_controller() {
    struct Crtc {
        index: u8,
        regs: [u8; 0x10],
    }
    impl crate::port::PortIo for Crtc {
        fn inb(&mut self, port: u16) -> u8 {
            assert_eq!(port, CRTC_DATA);
            self.regs[self.index as usize]
        }
        fn outb(&mut self, port: u16, v: u8) {
            match port {
                CRTC_INDEX => self.index = v,
                CRTC_DATA => self.regs[self.index as usize] = v,
                _ => panic!("port {port:#x}"),
            }
        }
    }
    let mut c = Crtc {
        index: 0,
        regs: [0; 0x10],
    };
    c.regs[0x0A] = 0x0D;
    crtc_cursor(&mut c, Some(24 * 80 + 79));
    assert_eq!(
        (c.regs[0x0E], c.regs[0x0F], c.regs[0x0A]),
        (0x07, 0xCF, 0x0D)
    );
    crtc_cursor(&mut c, None);
    assert_eq!(c.regs[0x0A], 0x2D);
}

/// Output recorded from the system in this repository (`cargo run` at a terminal, stdout to a
/// file): login, then the shell's line editor — typing, Left, Backspace, End, history (Up),
/// Home (Ctrl-A), Tab completion, Ctrl-U, Ctrl-L — and `exit`.
const SHELL_SESSION: &[u8] = include_bytes!("../../tests/data/shell-session.out");
/// Output recorded from kibi (the kibi branch's `edit`) on the same console: `edit
/// /tmp/hello.rs`, three lines typed (syntax colours, line numbers), saved, quit, `cat`.
const KIBI_SESSION: &[u8] = include_bytes!("../../tests/data/kibi-session.out");

fn split_at<'a>(stream: &'a [u8], marker: &[u8]) -> (&'a [u8], &'a [u8]) {
    let at = stream
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("marker in the recording");
    stream.split_at(at)
}

/// Rows of the screen, every one of the 25 (trailing blanks cut per row).
fn all_rows(t: &Terminal) -> Vec<String> {
    (0..t.screen.rows()).map(|r| t.screen.row_text(r)).collect()
}

fn expect_rows(t: &Terminal, top: &[&str]) {
    let rows = all_rows(t);
    for (r, want) in top.iter().enumerate() {
        assert_eq!(rows[r], *want, "row {r}");
    }
    for (r, got) in rows.iter().enumerate().skip(top.len()) {
        assert_eq!(got, "", "row {r} should be blank");
    }
}

#[test]
fn recorded_shell_session() {
    let (before_clear, after) = split_at(SHELL_SESSION, b"\x1b[H\x1b[2J");
    let mut t = term();
    t.write(before_clear);
    expect_rows(
        &t,
        &[
            "login: root",
            "password:",
            "Welcome to eurali.",
            "root:~$ echo hello",
            "hello",
            "root:~$ ls /",
            "bin",
            "etc",
            "home",
            "tmp",
            "root:~$ echo worold!",
            "worold!",
            "root:~$ # echo worold!",
            "root:~$",
        ],
    );
    // Ctrl-U emptied the line after Tab completed `/bin/`; the cursor is after the prompt.
    assert_eq!(t.screen.cursor(), (13, 8));
    assert!(t.screen.cells().iter().all(|c| c.attr == DEFAULT_ATTR));
    // Ctrl-L clears and redraws the prompt at the top; `exit` ends the shell, login asks again.
    t.write(after);
    expect_rows(&t, &["root:~$ exit", "login:"]);
    assert_eq!(t.screen.cursor(), (1, 7));
    // The same stream fed in small pieces draws the same screen.
    let mut pieces = term();
    for c in SHELL_SESSION.chunks(7) {
        pieces.write(c);
    }
    assert_eq!(pieces.screen.cells(), t.screen.cells());
    assert_eq!(pieces.screen.cursor(), t.screen.cursor());
}

#[test]
fn recorded_kibi_session() {
    let (editing, after) = split_at(KIBI_SESSION, b"\x1b[?1049l");
    let mut t = term();
    t.write(editing);
    let rows = all_rows(&t);
    // kibi asked for 24 rows (the stub's console size when stdout is no terminal): the text
    // area, the status bar and the message bar; row 24 of our 25 stays blank.
    assert_eq!(rows[0], "1 ?fn main() {");
    assert_eq!(rows[1], "2 ?    println!(\"hi\");");
    assert_eq!(rows[2], "3 ?}");
    for (r, row) in rows.iter().enumerate().take(22).skip(3) {
        assert_eq!(row, "~ ?", "row {r}");
    }
    assert!(rows[22].starts_with("/tmp/hello.rs "), "{}", rows[22]);
    assert!(rows[22].ends_with("Rust | 33B | 1:2"), "{}", rows[22]);
    assert_eq!(rows[23], "33B written to /tmp/hello.rs");
    assert_eq!(rows[24], "");
    assert_eq!(t.screen.cursor(), (0, 4));
    assert!(t.screen.cursor_visible());
    // Cell by cell: the gutter in kibi's grey 240 (VGA dark grey), its bar drawn as CP437's
    // vertical line, `fn` in yellow (VGA brown), the string in green, the status bar inverse.
    let cell = |r, c| t.screen.cell(r, c);
    assert_eq!(
        cell(0, 0),
        Cell {
            ch: b'1',
            attr: 0x08
        }
    );
    assert_eq!(
        cell(0, 2),
        Cell {
            ch: 0xB3,
            attr: 0x08
        }
    );
    assert_eq!(
        cell(0, 3),
        Cell {
            ch: b'f',
            attr: 0x06
        }
    );
    assert_eq!(
        cell(0, 4),
        Cell {
            ch: b'n',
            attr: 0x06
        }
    );
    assert_eq!(
        cell(0, 6),
        Cell {
            ch: b'm',
            attr: 0x07
        }
    );
    assert_eq!(
        cell(1, 16),
        Cell {
            ch: b'"',
            attr: 0x02
        }
    );
    assert_eq!(
        cell(1, 17),
        Cell {
            ch: b'h',
            attr: 0x02
        }
    );
    assert_eq!(
        cell(1, 19),
        Cell {
            ch: b'"',
            attr: 0x02
        }
    );
    assert_eq!(
        cell(1, 20),
        Cell {
            ch: b')',
            attr: 0x07
        }
    );
    for c in 0..80 {
        assert_eq!(cell(22, c).attr, 0x70, "status bar column {c}");
    }
    assert_eq!(cell(23, 0).attr, 0x07);
    // Leaving the alternate screen brings the shell's screen back; then `cat` and `exit`.
    t.write(after);
    let rows = all_rows(&t);
    assert_eq!(
        &rows[..5],
        [
            "login: root",
            "password:",
            "Welcome to eurali.",
            "root:~$ edit /tmp/hello.rs",
            "root:~$ cat /tmp/hello.rs",
        ]
    );
    // The file has no final newline: the prompt's redraw (CR, prompt, erase to the end) lands
    // on the line of its `}`, as on any VT100.
    assert_eq!(
        &rows[5..10],
        [
            "fn main() {",
            "    println!(\"hi\");",
            "root:~$ exit",
            "login:",
            "",
        ]
    );
    assert_eq!(t.screen.cursor(), (8, 7));
}
