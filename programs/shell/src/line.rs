//! The interactive line editor: keys in, edits and redraws out. No I/O of its own, so every key
//! is unit-tested; the shell feeds it bytes from a raw-mode console and writes what it returns.
//!
//! Keys: printable text; Left/Right, Home/End (also Ctrl-A/Ctrl-E), Backspace, Delete, Ctrl-K
//! (kill to end), Ctrl-U (kill to start), Ctrl-W (kill the word before), Ctrl-Y (yank), Up/Down
//! (history), Tab (completion, through a callback), Enter, Ctrl-C (drop the line), Ctrl-D (end of
//! input on an empty line, else delete), Ctrl-L (redraw). Escape sequences are read both as a
//! VT100 terminal sends them (`ESC [ A`, `ESC [ 3 ~`, `ESC O H`) and as Merriwig's PS/2 driver
//! does (`ESC 0x9B A`, ABI §6.3).
//!
//! A line longer than the terminal is wide wraps onto the rows below. The editor knows the
//! width ([`Editor::set_width`], from the console's `TERM_GET`) and which row of the line the
//! terminal's cursor is on, so a redraw goes back up to the prompt's row, erases from there to
//! the end of the screen (rows a shorter line no longer uses included) and writes the line again.
//! Each character takes one column (as on the VGA console). A line that ends exactly at the
//! right margin is followed by CR LF, so that the cursor is never left in a terminal's pending
//! wrap, where terminals disagree about what comes next.

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
    Tab,
    /// Ctrl + a letter (lower case), other than the ones mapped above.
    Ctrl(char),
}

/// Turns input bytes into keys, across reads (an escape sequence may be split).
#[derive(Default, Debug)]
pub struct KeyDecoder {
    pending: Vec<u8>,
}

impl KeyDecoder {
    /// Feeds bytes; returns the keys completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        self.pending.extend_from_slice(bytes);
        let mut keys = Vec::new();
        loop {
            match decode(&self.pending) {
                Decoded::Key(k, used) => {
                    keys.push(k);
                    self.pending.drain(..used);
                }
                Decoded::Skip(used) => {
                    self.pending.drain(..used);
                }
                Decoded::NeedMore => return keys,
            }
        }
    }
}

enum Decoded {
    Key(Key, usize),
    Skip(usize),
    NeedMore,
}

fn decode(b: &[u8]) -> Decoded {
    let Some(&first) = b.first() else {
        return Decoded::NeedMore;
    };
    match first {
        b'\r' | b'\n' => Decoded::Key(Key::Enter, 1),
        0x7F | 0x08 => Decoded::Key(Key::Backspace, 1),
        b'\t' => Decoded::Key(Key::Tab, 1),
        0x01 => Decoded::Key(Key::Home, 1),
        0x05 => Decoded::Key(Key::End, 1),
        0x02 => Decoded::Key(Key::Left, 1),
        0x06 => Decoded::Key(Key::Right, 1),
        0x10 => Decoded::Key(Key::Up, 1),
        0x0E => Decoded::Key(Key::Down, 1),
        0x1B => escape(b),
        c if c < 0x20 => Decoded::Key(Key::Ctrl((c + b'a' - 1) as char), 1),
        _ => {
            // A UTF-8 character: wait for all its bytes; skip an invalid one.
            let len = match first {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                0x80..=0xBF | 0xF8..=0xFF => return Decoded::Skip(1),
                _ => 1,
            };
            if b.len() < len {
                return Decoded::NeedMore;
            }
            match core::str::from_utf8(&b[..len])
                .ok()
                .and_then(|s| s.chars().next())
            {
                Some(c) => Decoded::Key(Key::Char(c), len),
                None => Decoded::Skip(1),
            }
        }
    }
}

fn escape(b: &[u8]) -> Decoded {
    let Some(&intro) = b.get(1) else {
        return Decoded::NeedMore;
    };
    if !matches!(intro, b'[' | b'O' | 0x9B) {
        // A lone ESC followed by something else: drop the ESC.
        return Decoded::Skip(1);
    }
    // Parameters (digits, ';') then a final byte 0x40..=0x7E.
    let mut i = 2;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() || c == b';' {
            i += 1;
            continue;
        }
        if !(0x40..=0x7E).contains(&c) {
            return Decoded::Skip(i);
        }
        let param = &b[2..i];
        let key = match (c, param) {
            (b'A', _) => Some(Key::Up),
            (b'B', _) => Some(Key::Down),
            (b'C', _) => Some(Key::Right),
            (b'D', _) => Some(Key::Left),
            (b'H', _) => Some(Key::Home),
            (b'F', _) => Some(Key::End),
            (b'~', b"1" | b"7") => Some(Key::Home),
            (b'~', b"4" | b"8") => Some(Key::End),
            (b'~', b"3") => Some(Key::Delete),
            _ => None,
        };
        return match key {
            Some(k) => Decoded::Key(k, i + 1),
            None => Decoded::Skip(i + 1),
        };
    }
    if i > 16 {
        Decoded::Skip(i)
    } else {
        Decoded::NeedMore
    }
}

/// What the shell should do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Keep reading keys.
    Continue,
    /// A finished line (without the newline).
    Line(String),
    /// Ctrl-C: the line was dropped.
    Interrupted,
    /// Ctrl-D on an empty line.
    Eof,
}

/// The editor's state: one line being edited, the history, the kill buffer.
#[derive(Default, Debug)]
pub struct Editor {
    buf: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// Index into history while browsing (== history.len() when on the new line).
    browse: usize,
    /// The new line, kept while browsing history.
    stash: Vec<char>,
    kill: Vec<char>,
    /// Bytes for the terminal, taken with [`Editor::take_output`].
    out: String,
    prompt: String,
    /// The terminal's width in columns (0: not known yet, [`DEFAULT_WIDTH`]).
    cols: usize,
    /// The row of the line (0: the prompt's) the terminal's cursor is on.
    row: usize,
}

/// The width assumed when the terminal does not say.
pub const DEFAULT_WIDTH: usize = 80;

/// How many history entries are kept.
pub const HISTORY_MAX: usize = 1000;

impl Editor {
    pub fn new() -> Editor {
        Editor::default()
    }

    /// Sets the terminal's width in columns (`None` or 0: [`DEFAULT_WIDTH`]), for the next
    /// line: the shell asks the console before each prompt.
    pub fn set_width(&mut self, cols: Option<usize>) {
        self.cols = cols.unwrap_or(0);
    }

    fn width(&self) -> usize {
        if self.cols == 0 {
            DEFAULT_WIDTH
        } else {
            self.cols
        }
    }

    /// Starts a new line with `prompt` and draws it (at the start of the terminal's row).
    pub fn start(&mut self, prompt: &str) {
        self.prompt = prompt.to_string();
        self.buf.clear();
        self.cursor = 0;
        self.browse = self.history.len();
        self.row = 0;
        self.redraw();
    }

    /// The line as it is now.
    pub fn line(&self) -> String {
        self.buf.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Adds a line to the history (skipping blanks and immediate repeats).
    pub fn add_history(&mut self, line: &str) {
        if line.trim().is_empty() || self.history.last().map(String::as_str) == Some(line) {
            return;
        }
        self.history.push(line.to_string());
        if self.history.len() > HISTORY_MAX {
            let extra = self.history.len() - HISTORY_MAX;
            self.history.drain(..extra);
        }
        self.browse = self.history.len();
    }

    /// What to write to the terminal since the last call.
    pub fn take_output(&mut self) -> String {
        core::mem::take(&mut self.out)
    }

    /// Handles one key. `complete` is asked for completions of the word before the cursor
    /// (`(line, cursor) -> candidates`, each a full replacement of that word).
    pub fn key(&mut self, key: Key, complete: &mut dyn FnMut(&str, usize) -> Vec<String>) -> Event {
        match key {
            Key::Char(c) => {
                self.buf.insert(self.cursor, c);
                self.cursor += 1;
            }
            Key::Enter => {
                let line = self.line();
                self.leave_line();
                self.buf.clear();
                self.cursor = 0;
                return Event::Line(line);
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.buf.remove(self.cursor);
            }
            Key::Delete if self.cursor < self.buf.len() => {
                self.buf.remove(self.cursor);
            }
            Key::Left if self.cursor > 0 => self.cursor -= 1,
            Key::Right if self.cursor < self.buf.len() => self.cursor += 1,
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.buf.len(),
            Key::Up if self.browse > 0 => {
                if self.browse == self.history.len() {
                    self.stash = self.buf.clone();
                }
                self.browse -= 1;
                self.buf = self.history[self.browse].chars().collect();
                self.cursor = self.buf.len();
            }
            Key::Down if self.browse < self.history.len() => {
                self.browse += 1;
                self.buf = if self.browse == self.history.len() {
                    core::mem::take(&mut self.stash)
                } else {
                    self.history[self.browse].chars().collect()
                };
                self.cursor = self.buf.len();
            }
            Key::Tab => self.complete(complete),
            Key::Ctrl('k') => self.kill = self.buf.split_off(self.cursor),
            Key::Ctrl('u') => {
                self.kill = self.buf.drain(..self.cursor).collect();
                self.cursor = 0;
            }
            Key::Ctrl('w') => {
                let mut start = self.cursor;
                while start > 0 && self.buf[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.buf[start - 1] != ' ' {
                    start -= 1;
                }
                self.kill = self.buf.drain(start..self.cursor).collect();
                self.cursor = start;
            }
            Key::Ctrl('y') => {
                let k = self.kill.clone();
                for (i, c) in k.iter().enumerate() {
                    self.buf.insert(self.cursor + i, *c);
                }
                self.cursor += k.len();
            }
            Key::Ctrl('c') => {
                self.cursor_to_end();
                self.out.push_str("^C\r\n");
                self.buf.clear();
                self.cursor = 0;
                return Event::Interrupted;
            }
            Key::Ctrl('d') if self.buf.is_empty() => {
                self.leave_line();
                return Event::Eof;
            }
            Key::Ctrl('d') if self.cursor < self.buf.len() => {
                self.buf.remove(self.cursor);
            }
            Key::Ctrl('l') => {
                self.out.push_str("\x1b[H\x1b[2J");
                self.row = 0;
            }
            _ => return Event::Continue,
        }
        self.redraw();
        Event::Continue
    }

    fn complete(&mut self, complete: &mut dyn FnMut(&str, usize) -> Vec<String>) {
        let line = self.line();
        let byte_cursor: usize = self.buf[..self.cursor].iter().map(|c| c.len_utf8()).sum();
        let mut start = self.cursor;
        while start > 0 && self.buf[start - 1] != ' ' {
            start -= 1;
        }
        let candidates = complete(&line, byte_cursor);
        let word = match candidates.as_slice() {
            [] => {
                self.out.push('\x07');
                return;
            }
            [one] => {
                let mut w = one.clone();
                if !w.ends_with('/') {
                    w.push(' ');
                }
                w
            }
            many => {
                // Extend to the longest common prefix; list them when that adds nothing.
                let prefix = common_prefix(many);
                let current: String = self.buf[start..self.cursor].iter().collect();
                if prefix.chars().count() <= current.chars().count() {
                    self.leave_line();
                    self.out.push_str(&many.join("  "));
                    self.out.push_str("\r\n");
                    self.row = 0;
                }
                prefix
            }
        };
        let tail = self.buf.split_off(self.cursor);
        self.buf.truncate(start);
        self.buf.extend(word.chars());
        self.cursor = self.buf.len();
        self.buf.extend(tail);
    }

    /// Where the end of the line and the cursor are drawn: (row, column) of each, rows counted
    /// from the prompt's.
    fn layout(&self) -> ((usize, usize), (usize, usize)) {
        let cols = self.width();
        let start = self.prompt.chars().count();
        let at = |n: usize| (n / cols, n % cols);
        (at(start + self.buf.len()), at(start + self.cursor))
    }

    /// Moves the terminal's cursor from row [`Editor::row`] (column unknown) to `(row, col)`
    /// of the line.
    fn move_to(&mut self, (row, col): (usize, usize)) {
        use core::fmt::Write;
        if row < self.row {
            let _ = write!(self.out, "\x1b[{}A", self.row - row);
        } else if row > self.row {
            let _ = write!(self.out, "\x1b[{}B", row - self.row);
        }
        self.out.push('\r');
        if col > 0 {
            let _ = write!(self.out, "\x1b[{col}C");
        }
        self.row = row;
    }

    /// Puts the terminal's cursor after the end of the line.
    fn cursor_to_end(&mut self) {
        let (end, cursor) = self.layout();
        if cursor != end {
            self.move_to(end);
        }
    }

    /// Leaves the line for the output below it: the cursor goes to the start of the next row
    /// (where it already is when the line ends at the right margin, see [`Editor::redraw`]).
    fn leave_line(&mut self) {
        let (end, _) = self.layout();
        self.cursor_to_end();
        if end.1 != 0 || end.0 == 0 {
            self.out.push_str("\r\n");
        }
        self.row = 0;
    }

    /// Redraws the whole line: back to the prompt's row, erase to the end of the screen, the
    /// prompt and the text, then the cursor to its place.
    fn redraw(&mut self) {
        use core::fmt::Write;
        if self.row > 0 {
            let _ = write!(self.out, "\x1b[{}A", self.row);
        }
        self.out.push_str("\r\x1b[J");
        self.out.push_str(&self.prompt);
        self.out.extend(self.buf.iter());
        let (end, cursor) = self.layout();
        if end.1 == 0 && end.0 > 0 {
            // At the right margin: out of the pending wrap, onto the next row.
            self.out.push_str("\r\n");
        }
        self.row = end.0;
        if cursor != end {
            if cursor.0 == end.0 {
                let _ = write!(self.out, "\x1b[{}D", end.1 - cursor.1);
            } else {
                self.move_to(cursor);
            }
        }
    }
}

fn common_prefix(words: &[String]) -> String {
    let mut prefix: Vec<char> = words[0].chars().collect();
    for w in &words[1..] {
        let n = prefix
            .iter()
            .zip(w.chars())
            .take_while(|(a, b)| **a == *b)
            .count();
        prefix.truncate(n);
    }
    prefix.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_completion(_: &str, _: usize) -> Vec<String> {
        Vec::new()
    }

    fn type_keys(ed: &mut Editor, bytes: &[u8]) -> Vec<Event> {
        let mut dec = KeyDecoder::default();
        dec.feed(bytes)
            .into_iter()
            .map(|k| ed.key(k, &mut no_completion))
            .filter(|e| *e != Event::Continue)
            .collect()
    }

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
        assert_eq!(d.feed("é".as_bytes()), [Key::Char('é')]);
        assert_eq!(d.feed(&[0xC3]), []);
        assert_eq!(d.feed(&[0xA9, 0x17]), [Key::Char('é'), Key::Ctrl('w')]);
        // Unknown sequences and junk are dropped.
        assert_eq!(d.feed(b"\x1b[99zq\xffr"), [Key::Char('q'), Key::Char('r')]);
    }

    #[test]
    fn editing_keys() {
        let mut ed = Editor::new();
        ed.start("$ ");
        // Type, go home, insert, end, backspace.
        assert_eq!(type_keys(&mut ed, b"world\x01hello \x05\x7f"), []);
        assert_eq!(ed.line(), "hello worl");
        // Ctrl-W kills the last word, Ctrl-Y yanks it back twice.
        type_keys(&mut ed, b"\x17");
        assert_eq!(ed.line(), "hello ");
        type_keys(&mut ed, b"\x19\x19");
        assert_eq!(ed.line(), "hello worlworl");
        // Left twice, Ctrl-K, Ctrl-U.
        type_keys(&mut ed, b"\x1b[D\x1b[D\x0b");
        assert_eq!(ed.line(), "hello worlwo");
        type_keys(&mut ed, b"\x1b[D\x15");
        assert_eq!(ed.line(), "o");
        assert_eq!(ed.cursor(), 0);
        assert_eq!(type_keys(&mut ed, b"\x1b[3~x\r"), [Event::Line("x".into())]);
    }

    #[test]
    fn history_browsing_keeps_the_new_line() {
        let mut ed = Editor::new();
        ed.add_history("first");
        ed.add_history("second");
        ed.add_history("second");
        ed.add_history("   ");
        assert_eq!(ed.history(), ["first", "second"]);
        ed.start("> ");
        type_keys(&mut ed, b"draft\x1b[A");
        assert_eq!(ed.line(), "second");
        type_keys(&mut ed, b"\x1b[A\x1b[A");
        assert_eq!(ed.line(), "first");
        type_keys(&mut ed, b"\x1b[B\x1b[B");
        assert_eq!(ed.line(), "draft");
    }

    #[test]
    fn ctrl_c_ctrl_d_and_redraw_output() {
        let mut ed = Editor::new();
        ed.start("$ ");
        assert_eq!(ed.take_output(), "\r\x1b[J$ ");
        type_keys(&mut ed, b"ab\x1b[D");
        assert!(ed.take_output().ends_with("\r\x1b[J$ ab\x1b[1D"));
        assert_eq!(type_keys(&mut ed, b"\x03"), [Event::Interrupted]);
        assert_eq!(ed.line(), "");
        assert_eq!(type_keys(&mut ed, b"x\x01\x04"), []);
        assert_eq!(ed.line(), "");
        assert_eq!(type_keys(&mut ed, b"\x04"), [Event::Eof]);
    }

    #[test]
    fn tab_completion() {
        let mut ed = Editor::new();
        ed.start("$ ");
        let mut dec = KeyDecoder::default();
        let mut files = |line: &str, cursor: usize| -> Vec<String> {
            let word = line[..cursor].rsplit(' ').next().unwrap_or("");
            ["notes.txt", "novel.md", "bin/"]
                .iter()
                .filter(|c| c.starts_with(word))
                .map(|c| c.to_string())
                .collect()
        };
        for k in dec.feed(b"cat no") {
            ed.key(k, &mut files);
        }
        ed.take_output();
        ed.key(Key::Tab, &mut files);
        // Both candidates share only "no": they are listed.
        assert_eq!(ed.line(), "cat no");
        assert!(ed.take_output().contains("notes.txt  novel.md"));
        ed.key(Key::Char('t'), &mut files);
        ed.key(Key::Tab, &mut files);
        assert_eq!(ed.line(), "cat notes.txt ");
        for k in dec.feed(b"b") {
            ed.key(k, &mut files);
        }
        ed.key(Key::Tab, &mut files);
        assert_eq!(ed.line(), "cat notes.txt bin/");
        ed.key(Key::Char('q'), &mut files);
        ed.key(Key::Tab, &mut files);
        assert!(ed.take_output().contains('\x07'));
    }
}
