//! The shell's line editor (`shell::line`) drawing on the console's terminal emulator
//! (`drivers::vt`, what the VGA console shows) at 40 columns: lines that wrap onto two, three
//! rows are typed, edited with the arrows, Backspace and Delete, cut with Ctrl-U/Ctrl-W/Ctrl-K,
//! recalled from history, near the bottom of the screen where every wrap scrolls; after every
//! key the screen must show the prompt and the line once, wrapped at 40 columns, nothing below
//! it, and the cursor where the editor's cursor is.

use drivers::vt::Terminal;
use shell::line::{Completion, Editor, Event, Key, KeyDecoder, NO_NEWLINE_MARK};

const ROWS: usize = 25;
const COLS: usize = 40;
const PROMPT: &str = "root:~$ ";

struct Rig {
    term: Terminal,
    ed: Editor,
    /// The screen row of the prompt (it moves up when the screen scrolls).
    top: usize,
    /// What the screen showed above the prompt when the line started.
    above: Vec<String>,
    keys: Vec<String>,
}

impl Rig {
    /// A terminal with `before` rows of output, then a prompt.
    fn new(before: usize) -> Rig {
        let mut term = Terminal::new(ROWS, COLS);
        for i in 0..before {
            term.write(format!("output line {i}\n").as_bytes());
        }
        let mut rig = Rig {
            term,
            ed: Editor::new(),
            top: 0,
            above: Vec::new(),
            keys: Vec::new(),
        };
        rig.ed.set_width(Some(COLS));
        rig.start();
        rig
    }

    fn start(&mut self) {
        self.top = self.term.screen.cursor().0;
        self.above = (0..self.top)
            .map(|r| self.term.screen.row_text(r))
            .collect();
        self.ed.start(PROMPT);
        self.flush();
        self.check("start");
    }

    fn flush(&mut self) {
        let out = self.ed.take_output();
        self.term.write(out.as_bytes());
    }

    fn rows(&self) -> Vec<String> {
        (0..ROWS).map(|r| self.term.screen.row_text(r)).collect()
    }

    /// Sends `key`; checks the screen afterwards (unless it ended the line).
    fn key(&mut self, key: Key) -> Event {
        self.keys.push(format!("{key:?}"));
        let ev = self.ed.key(key, &mut |_, _| Completion::default());
        self.flush();
        if ev == Event::Continue {
            self.check(&format!("after {key:?}"));
        }
        ev
    }

    fn keys(&mut self, bytes: &[u8]) {
        for k in KeyDecoder::default().feed(bytes) {
            self.key(k);
        }
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(Key::Char(c));
        }
    }

    /// The screen shows the prompt and the line wrapped at `COLS`, from row `top` (less what
    /// scrolled), nothing below, what was above still above, and the cursor in its place.
    fn check(&mut self, when: &str) {
        self.check_with(PROMPT, when);
    }

    /// [`Rig::check`] with the prompt shown now (a search's).
    fn check_with(&mut self, prompt: &str, when: &str) {
        let text: Vec<char> = prompt.chars().chain(self.ed.line().chars()).collect();
        let end_row = text.len() / COLS;
        // Writing below the last row scrolls the screen up.
        let scrolled = (self.top + end_row + 1).saturating_sub(ROWS);
        if scrolled > 0 {
            self.top -= scrolled;
            self.above.drain(..scrolled.min(self.above.len()));
        }
        let rows = self.rows();
        let fail = |what: String| -> ! {
            panic!(
                "{when}: {what}\nline {:?} cursor {}\nscreen:\n{}\nkeys: {:?}",
                self.ed.line(),
                self.ed.cursor(),
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| format!("{i:2}|{r}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.keys
            )
        };
        for (r, want) in self.above.iter().enumerate() {
            if rows[r] != *want {
                fail(format!("row {r} above the prompt changed"));
            }
        }
        let wrapped: Vec<String> = text
            .chunks(COLS)
            .map(|c| c.iter().collect::<String>().trim_end().to_string())
            .collect();
        for (i, want) in wrapped.iter().enumerate() {
            if rows[self.top + i] != *want {
                fail(format!("row {} should be {want:?}", self.top + i));
            }
        }
        for (r, row) in rows.iter().enumerate().skip(self.top + wrapped.len()) {
            if !row.is_empty() {
                fail(format!("row {r} below the line is not blank"));
            }
        }
        let at = prompt.chars().count() + self.ed.cursor();
        let want = (self.top + at / COLS, at % COLS);
        if self.term.screen.cursor() != want {
            fail(format!(
                "cursor at {:?}, not {want:?}",
                self.term.screen.cursor()
            ));
        }
    }
}

fn letters(n: usize, from: u8) -> String {
    (0..n).map(|i| (from + (i % 26) as u8) as char).collect()
}

#[test]
fn typing_and_editing_across_the_wrap() {
    let mut rig = Rig::new(3);
    // Up to the right margin exactly (8 + 32 = 40), then onto a second and a third row.
    rig.type_text(&letters(32, b'a'));
    rig.type_text(&letters(50, b'A'));
    // Back across both wraps and some more, deleting and inserting on the way.
    for _ in 0..45 {
        rig.key(Key::Left);
    }
    for _ in 0..6 {
        rig.key(Key::Backspace);
    }
    rig.type_text("inserted ");
    rig.keys(b"\x1b[3~\x1b[3~");
    rig.keys(b"\x1b[H");
    rig.keys(b"\x1b[F");
    for _ in 0..30 {
        rig.key(Key::Right);
    }
    for _ in 0..50 {
        rig.key(Key::Left);
    }
    // Ctrl-U across the wrap: the rest moves up, the rows it left are blank.
    rig.key(Key::Ctrl('u'));
    rig.keys(b"\x1b[F");
    // Backspace back across the wrap, one row at a time.
    while !rig.ed.line().is_empty() {
        rig.key(Key::Backspace);
    }
    // Ctrl-Y yanks what Ctrl-U cut; Ctrl-W and Ctrl-K cut again.
    rig.key(Key::Ctrl('y'));
    rig.type_text(" one two three");
    rig.key(Key::Ctrl('w'));
    rig.key(Key::Home);
    rig.key(Key::Right);
    rig.key(Key::Ctrl('k'));
    rig.key(Key::Ctrl('d'));
    rig.type_text(&letters(31, b'a'));
}

#[test]
fn enter_leaves_the_whole_line_and_history_recalls_it() {
    let mut rig = Rig::new(1);
    let long = letters(75, b'a');
    rig.type_text(&long);
    for _ in 0..40 {
        rig.key(Key::Left);
    }
    // Enter with the cursor on the first row: the output goes below the whole line.
    assert_eq!(rig.key(Key::Enter), Event::Line(long.clone()));
    let rows = rig.rows();
    let top = rig.top;
    assert_eq!(rows[top], format!("{PROMPT}{}", &long[..32]));
    assert_eq!(rows[top + 1], &long[32..72]);
    assert_eq!(rows[top + 2], &long[72..]);
    assert_eq!(rig.term.screen.cursor(), (top + 3, 0));
    rig.ed.add_history(&long);
    rig.term.write(b"the command's output\n");
    // A line that ends at the right margin: Enter adds no blank row.
    rig.start();
    let exact = letters(32, b'A');
    rig.type_text(&exact);
    assert_eq!(rig.key(Key::Enter), Event::Line(exact.clone()));
    assert_eq!(rig.term.screen.cursor(), (rig.top + 1, 0));
    rig.ed.add_history(&exact);
    rig.term.write(b"more output\n");
    assert_eq!(rig.rows()[rig.top + 1], "more output");
    // Up, Up, Down: a one-row line, a three-row one, a one-row one again.
    rig.start();
    rig.type_text("draft");
    rig.keys(b"\x1b[A");
    assert_eq!(rig.ed.line(), exact);
    rig.keys(b"\x1b[A");
    assert_eq!(rig.ed.line(), long);
    rig.keys(b"\x1b[B\x1b[B");
    assert_eq!(rig.ed.line(), "draft");
    rig.keys(b"\x1b[A\x1b[A\x1b[D\x1b[D");
    // Ctrl-C on a wrapped line: ^C after its end, then a fresh prompt.
    assert_eq!(rig.key(Key::Ctrl('c')), Event::Interrupted);
    assert_eq!(rig.rows()[rig.top + 2], format!("{}^C", &long[72..]));
    assert_eq!(rig.term.screen.cursor(), (rig.top + 3, 0));
    rig.start();
}

#[test]
fn wrapping_at_the_bottom_scrolls_and_stays_in_place() {
    // The prompt on the last row: every wrap scrolls the screen.
    let mut rig = Rig::new(ROWS - 1);
    rig.type_text(&letters(100, b'a'));
    for _ in 0..70 {
        rig.key(Key::Left);
    }
    rig.type_text("xyz");
    rig.key(Key::Ctrl('u'));
    rig.keys(b"\x1b[F");
    while !rig.ed.line().is_empty() {
        rig.key(Key::Backspace);
    }
    assert_eq!(rig.key(Key::Enter), Event::Line(String::new()));
}

/// Output that did not end its line stays on the screen: the editor marks it and starts the
/// prompt on the next row; after output that did end its line the mark is drawn over.
#[test]
fn output_without_a_final_newline_is_kept() {
    for (output, cursor_col) in [
        ("no newline", 10),
        ("", 0),
        (&"x".repeat(COLS)[..], COLS - 1),
    ] {
        let mut rig = Rig::new(2);
        rig.term.write(b"\r\n");
        rig.term.write(output.as_bytes());
        let row = rig.term.screen.cursor().0;
        assert_eq!(rig.term.screen.cursor().1, cursor_col);
        rig.ed.fresh_line();
        rig.flush();
        rig.start();
        let rows = rig.rows();
        if output.is_empty() {
            assert_eq!(rig.top, row, "{rows:#?}");
        } else {
            assert_eq!(rig.top, row + 1, "{rows:#?}");
            let shown = if output.len() == COLS {
                output.to_string()
            } else {
                format!("{output}%")
            };
            assert_eq!(rows[row], shown);
        }
        assert_eq!(rows[rig.top], PROMPT.trim_end());
        rig.type_text("ls");
        assert!(NO_NEWLINE_MARK.contains('%'));
    }
}

/// Ctrl-R draws its own prompt over the line, the match after it, and gives the usual prompt
/// back in place when it ends, on one row or several.
#[test]
fn reverse_search_draws_in_place() {
    let mut rig = Rig::new(3);
    let long = format!("echo {}", letters(70, b'a'));
    rig.ed.add_history(&long);
    rig.ed.add_history("ls -l");
    rig.start();
    rig.type_text("draft");
    for k in KeyDecoder::default().feed(b"\x12ech") {
        rig.keys.push(format!("{k:?}"));
        rig.ed.key(k, &mut |_, _| Completion::default());
        rig.flush();
    }
    rig.check_with("(reverse-i-search)`ech': ", "searching");
    assert_eq!(rig.ed.line(), long);
    rig.keys(b"\x1b[D");
    assert_eq!(rig.ed.cursor(), 0, "Left from the match's start");
    rig.keys(b"\x05 x");
    assert_eq!(rig.key(Key::Enter), Event::Line(format!("{long} x")));
}
