//! The interactive line editor: keys in, edits and redraws out. No I/O of its own, so every key
//! is unit-tested; the shell feeds it bytes from a raw-mode console and writes what it returns.
//!
//! Keys: printable text; Left/Right, Home/End (also Ctrl-A/Ctrl-E), Backspace, Delete, Ctrl-K
//! (kill to end), Ctrl-U (kill to start), Ctrl-W (kill back to white space), Alt-Backspace and
//! Alt-d (kill the word before / after), Alt-b / Alt-f and Ctrl-Left / Ctrl-Right (a word back /
//! forward), Ctrl-Y (yank), Up/Down (history), Ctrl-R (reverse incremental history search, see
//! [`Editor::key`]), Tab (completion, through a callback), Enter, Ctrl-C (drop the line), Ctrl-D
//! (end of input on an empty line, else delete), Ctrl-L (redraw). Bytes become keys in
//! [`libeurali::keys`] (the consoles' line discipline uses the same decoder), which reads escape
//! sequences both as a VT100/xterm terminal sends them and as Merriwig's PS/2 driver does.
//! A word, for the Alt keys and Ctrl-arrows, is a run of letters and digits (as in readline).
//!
//! A line longer than the terminal is wide wraps onto the rows below. The editor knows the
//! width ([`Editor::set_width`], from the console's `TERM_GET`) and which row of the line the
//! terminal's cursor is on, so a redraw goes back up to the prompt's row, erases from there to
//! the end of the screen (rows a shorter line no longer uses included) and writes the line again.
//! Each character takes one column (as on the VGA console), an ASCII control two (drawn as
//! `^J`: a here-document's newlines in a recalled command); escape sequences in the prompt take
//! none ([`visible_width`]). A line that ends exactly at the right margin is followed by CR LF,
//! so that the cursor is never left in a terminal's pending wrap, where terminals disagree about
//! what comes next.
//!
//! Tab asks a completer ([`Completion`]): one candidate replaces the word, several are first
//! cut to their common prefix and then listed in columns fitting the width. Before a prompt,
//! [`Editor::fresh_line`] keeps output that did not end its line instead of drawing over it.

pub use libeurali::keys::{Key, KeyDecoder};

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

/// What a completer offers for the word before the cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// Where the word starts: a byte offset in the line, at most the cursor's.
    pub start: usize,
    pub candidates: Vec<Candidate>,
}

/// One way to complete a word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// What replaces the line from [`Completion::start`] to the cursor, quoted as the line
    /// needs it (`my\ file`). A unique candidate gets a space after it unless it ends in `/`.
    pub text: String,
    /// What a list of candidates shows (a file's name without its directory).
    pub show: String,
}

impl Candidate {
    /// A candidate shown as it is inserted.
    pub fn plain(text: &str) -> Candidate {
        Candidate {
            text: text.to_string(),
            show: text.to_string(),
        }
    }
}

/// The completion callback: `(line, cursor as a byte offset) -> completions`.
pub type Completer<'a> = dyn FnMut(&str, usize) -> Completion + 'a;

/// A reverse incremental search in progress (Ctrl-R).
#[derive(Debug, Default)]
struct Search {
    query: Vec<char>,
    /// The history entry shown; `None`: the line as it was when the search began.
    at: Option<usize>,
    /// Nothing (older) matches the query.
    failed: bool,
    /// The line and cursor when the search began.
    orig: Vec<char>,
    orig_cursor: usize,
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
    /// The prompt's last row (what [`Editor::start`] got after its last newline).
    prompt: String,
    /// The terminal's width in columns (0: not known yet, [`DEFAULT_WIDTH`]).
    cols: usize,
    /// The row of the line (0: the prompt's) the terminal's cursor is on.
    row: usize,
    search: Option<Box<Search>>,
    /// What the last search looked for (Ctrl-R Ctrl-R looks for it again).
    last_search: Vec<char>,
}

/// The width assumed when the terminal does not say.
pub const DEFAULT_WIDTH: usize = 80;

/// How many history entries are kept.
pub const HISTORY_MAX: usize = 1000;

/// The mark [`Editor::fresh_line`] leaves after output that did not end its line: `%` in
/// reverse video, as zsh and fish show it.
pub const NO_NEWLINE_MARK: &str = "\x1b[7m%\x1b[0m";

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

    /// Before a prompt: moves to the start of a fresh row without erasing what the last
    /// command wrote when its output did not end with a newline. Writes [`NO_NEWLINE_MARK`],
    /// then spaces up to the right margin, then CR: when the cursor was in column 0 that fills
    /// the row and leaves the cursor in its pending wrap, which CR ends on the same row (the
    /// prompt then draws over the mark); from any other column the spaces wrap onto the next
    /// row and CR goes to its start, leaving the output and the mark above. This needs no
    /// answer from the terminal (a cursor position query), so it works on any VT100-like one,
    /// the VGA console's included; it does nothing while the width is not known.
    pub fn fresh_line(&mut self) {
        if self.cols == 0 {
            return;
        }
        self.out.push_str(NO_NEWLINE_MARK);
        self.out.extend(core::iter::repeat_n(' ', self.cols - 1));
        self.out.push('\r');
    }

    /// Starts a new line with `prompt` and draws it (at the start of the terminal's row). A
    /// prompt of several rows is drawn whole here; the editor redraws only its last row.
    pub fn start(&mut self, prompt: &str) {
        let (head, last) = match prompt.rfind('\n') {
            Some(i) => (&prompt[..=i], &prompt[i + 1..]),
            None => ("", prompt),
        };
        self.prompt = last.to_string();
        self.buf.clear();
        self.cursor = 0;
        self.browse = self.history.len();
        self.row = 0;
        self.search = None;
        if !head.is_empty() {
            self.out.push_str("\r\x1b[J");
            self.out.push_str(&head.replace('\n', "\r\n"));
        }
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

    /// Replaces the history (the oldest entries past [`HISTORY_MAX`] are dropped).
    pub fn set_history(&mut self, lines: Vec<String>) {
        self.history = lines;
        if self.history.len() > HISTORY_MAX {
            let extra = self.history.len() - HISTORY_MAX;
            self.history.drain(..extra);
        }
        self.browse = self.history.len();
    }

    /// Takes the history out of the editor (to lend it to the `history` builtin).
    pub fn take_history(&mut self) -> Vec<String> {
        self.browse = 0;
        core::mem::take(&mut self.history)
    }

    /// Adds a line to the history (see [`push_history`]); whether it did.
    pub fn add_history(&mut self, line: &str) -> bool {
        let added = push_history(&mut self.history, line);
        self.browse = self.history.len();
        added
    }

    /// What to write to the terminal since the last call.
    pub fn take_output(&mut self) -> String {
        core::mem::take(&mut self.out)
    }

    /// Whether a Ctrl-R search is going on.
    pub fn searching(&self) -> bool {
        self.search.is_some()
    }

    /// Handles one key. `complete` is asked for completions of the word before the cursor.
    ///
    /// Ctrl-R starts a reverse incremental search, as readline's: the prompt becomes
    /// ``(reverse-i-search)`TEXT': `` and the line the newest history entry holding TEXT (the
    /// cursor on it); typed characters add to TEXT, Backspace takes one off (and searches again
    /// from the newest), Ctrl-R finds the next older entry (on an empty TEXT, the last search's
    /// again). Enter runs the line; Esc and Ctrl-G end the search keeping it; Ctrl-C drops it;
    /// any other key ends the search and then does what it does (an arrow moves from there, Up
    /// recalls the entry before the one found).
    pub fn key(&mut self, key: Key, complete: &mut Completer<'_>) -> Event {
        if self.search.is_some() && self.search_key(key) {
            return Event::Continue;
        }
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
            Key::WordLeft | Key::Alt('b') => self.cursor = self.word_left(),
            Key::WordRight | Key::Alt('f') => self.cursor = self.word_right(),
            Key::Alt('d') => {
                let end = self.word_right();
                self.kill = self.buf.drain(self.cursor..end).collect();
            }
            Key::AltBackspace => {
                let start = self.word_left();
                self.kill = self.buf.drain(start..self.cursor).collect();
                self.cursor = start;
            }
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
            Key::Ctrl('r') => {
                self.search = Some(Box::new(Search {
                    orig: self.buf.clone(),
                    orig_cursor: self.cursor,
                    ..Search::default()
                }));
            }
            Key::Tab => self.complete(complete),
            Key::Ctrl('k') => self.kill = self.buf.split_off(self.cursor),
            Key::Ctrl('u') => {
                self.kill = self.buf.drain(..self.cursor).collect();
                self.cursor = 0;
            }
            Key::Ctrl('w') => {
                let mut start = self.cursor;
                while start > 0 && self.buf[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.buf[start - 1].is_whitespace() {
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

    /// A key during a search: `true` if it was the search's; `false` if it ended the search
    /// and is to be handled as usual.
    fn search_key(&mut self, key: Key) -> bool {
        let Some(s) = self.search.as_mut() else {
            return false;
        };
        match key {
            Key::Char(c) => {
                s.query.push(c);
                // The entry shown may still match.
                let from = s.at.map_or(self.history.len(), |a| a + 1);
                self.search_older(from, false);
            }
            Key::Backspace => {
                s.query.pop();
                if s.query.is_empty() {
                    s.at = None;
                    s.failed = false;
                    self.buf = s.orig.clone();
                    self.cursor = s.orig_cursor;
                } else {
                    self.search_older(self.history.len(), false);
                }
            }
            Key::Ctrl('r') => {
                if s.query.is_empty() {
                    s.query = self.last_search.clone();
                }
                let from = s.at.unwrap_or(self.history.len());
                if !s.query.is_empty() {
                    self.search_older(from, true);
                }
            }
            Key::Escape | Key::Ctrl('g') => {
                self.end_search();
                self.redraw();
            }
            _ => {
                // The usual prompt back before the key does its work.
                self.end_search();
                self.redraw();
                return false;
            }
        }
        if self.search.as_ref().is_some_and(|s| s.failed) {
            self.out.push('\x07');
        }
        self.redraw();
        true
    }

    /// Looks for the search's text in the history entries before `from`, newest first
    /// (skipping ones equal to the line shown if `skip_same`); shows the first found, with
    /// the cursor at the text's last place in it, or marks the search failed.
    fn search_older(&mut self, from: usize, skip_same: bool) {
        let Some(s) = self.search.as_mut() else {
            return;
        };
        let query: String = s.query.iter().collect();
        let shown: String = self.buf.iter().collect();
        for i in (0..from.min(self.history.len())).rev() {
            let entry = &self.history[i];
            if skip_same && *entry == shown {
                continue;
            }
            if let Some(at) = entry.rfind(&query) {
                s.at = Some(i);
                s.failed = false;
                self.buf = entry.chars().collect();
                self.cursor = entry[..at].chars().count();
                return;
            }
        }
        s.failed = true;
    }

    /// Ends the search, keeping the line found; Up and Down go on from its entry.
    fn end_search(&mut self) {
        let Some(s) = self.search.take() else {
            return;
        };
        if let Some(at) = s.at {
            self.browse = at;
            self.stash = s.orig;
        }
        if !s.query.is_empty() {
            self.last_search = s.query;
        }
    }

    /// Where a word back from the cursor starts (Alt-b).
    fn word_left(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && !self.buf[i - 1].is_alphanumeric() {
            i -= 1;
        }
        while i > 0 && self.buf[i - 1].is_alphanumeric() {
            i -= 1;
        }
        i
    }

    /// Where the word at or after the cursor ends (Alt-f).
    fn word_right(&self) -> usize {
        let mut i = self.cursor;
        while i < self.buf.len() && !self.buf[i].is_alphanumeric() {
            i += 1;
        }
        while i < self.buf.len() && self.buf[i].is_alphanumeric() {
            i += 1;
        }
        i
    }

    /// Tab: one candidate replaces the word; several extend it to their longest common
    /// prefix, or, when that adds nothing, are listed in columns below the line; none rings
    /// the bell.
    fn complete(&mut self, complete: &mut Completer<'_>) {
        let line = self.line();
        let byte_cursor: usize = self.buf[..self.cursor].iter().map(|c| c.len_utf8()).sum();
        let Completion {
            start,
            mut candidates,
        } = complete(&line, byte_cursor);
        let start = line
            .get(..start.min(byte_cursor))
            .map_or(self.cursor, |s| s.chars().count());
        candidates.sort_by(|a, b| a.text.cmp(&b.text));
        candidates.dedup_by(|a, b| a.text == b.text);
        let current: String = self.buf[start..self.cursor].iter().collect();
        let word = match candidates.as_slice() {
            [] => {
                self.out.push('\x07');
                return;
            }
            [one] => {
                let mut w = one.text.clone();
                if !w.ends_with('/') {
                    w.push(' ');
                }
                w
            }
            many => {
                let mut prefix = common_prefix(many.iter().map(|c| c.text.as_str()));
                // Not half of a backslash escape.
                if prefix.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1 {
                    prefix.pop();
                }
                if prefix.chars().count() <= current.chars().count() || prefix == current {
                    let shows: Vec<&str> = many.iter().map(|c| c.show.as_str()).collect();
                    self.list(&shows);
                    return self.redraw();
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

    /// Lists `items` below the line in columns (sorted down the columns, as `ls` does) as
    /// many as fit the terminal's width; the line is drawn again below them.
    fn list(&mut self, items: &[&str]) {
        self.leave_line();
        let width = self.width();
        let widest = items.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        let column = widest + 2;
        // The last column needs no gap after it.
        let ncols = ((width + 2) / column).max(1);
        let nrows = items.len().div_ceil(ncols);
        for r in 0..nrows {
            let mut row = String::new();
            for c in 0..ncols {
                let Some(item) = items.get(c * nrows + r) else {
                    break;
                };
                row.push_str(item);
                if items.get((c + 1) * nrows + r).is_some() {
                    let pad = column - item.chars().count();
                    row.extend(core::iter::repeat_n(' ', pad));
                }
            }
            self.out.push_str(&row);
            self.out.push_str("\r\n");
        }
        self.row = 0;
    }

    /// The prompt as shown now (the search's while searching).
    fn shown_prompt(&self) -> String {
        match &self.search {
            Some(s) => {
                let failed = if s.failed { "failed " } else { "" };
                let query: String = s.query.iter().collect();
                format!("({failed}reverse-i-search)`{query}': ")
            }
            None => self.prompt.clone(),
        }
    }

    /// Where the end of the line and the cursor are drawn: (row, column) of each, rows counted
    /// from the prompt's.
    fn layout(&self) -> ((usize, usize), (usize, usize)) {
        let cols = self.width();
        let start = visible_width(&self.shown_prompt());
        let at = |n: usize| (n / cols, n % cols);
        let end = columns(&self.buf);
        let cursor = columns(&self.buf[..self.cursor]);
        (at(start + end), at(start + cursor))
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
        let prompt = self.shown_prompt();
        self.out.push_str(&prompt);
        for &c in &self.buf {
            match c {
                // A newline of a command recalled from history (a here-document) and other
                // controls, as `^J`.
                '\0'..='\x1f' | '\x7f' => {
                    self.out.push('^');
                    self.out.push(((c as u8) ^ 0x40) as char);
                }
                c if c.is_control() => self.out.push('?'),
                c => self.out.push(c),
            }
        }
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

/// The columns the line's characters take: two for an ASCII control (drawn as `^J`), one for
/// any other.
fn columns(chars: &[char]) -> usize {
    chars
        .iter()
        .map(|&c| if c < ' ' || c == '\x7f' { 2 } else { 1 })
        .sum()
}

/// Adds `line` to a history list, skipping blanks and immediate repeats and dropping the
/// oldest entries past [`HISTORY_MAX`]; whether it did.
pub fn push_history(history: &mut Vec<String>, line: &str) -> bool {
    if line.trim().is_empty() || history.last().map(String::as_str) == Some(line) {
        return false;
    }
    history.push(line.to_string());
    if history.len() > HISTORY_MAX {
        let extra = history.len() - HISTORY_MAX;
        history.drain(..extra);
    }
    true
}

/// The columns `text` takes on a terminal: escape sequences (`ESC [ … final`, `ESC` and one
/// more) and other control characters take none, every other character one.
pub fn visible_width(text: &str) -> usize {
    let mut n = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                }
            }
            c if c.is_control() => {}
            _ => n += 1,
        }
    }
    n
}

fn common_prefix<'a>(mut words: impl Iterator<Item = &'a str>) -> String {
    let Some(first) = words.next() else {
        return String::new();
    };
    let mut prefix: Vec<char> = first.chars().collect();
    for w in words {
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

    fn no_completion(_: &str, _: usize) -> Completion {
        Completion::default()
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
        let mut files = |line: &str, cursor: usize| -> Completion {
            // The last space not escaped.
            let b = &line.as_bytes()[..cursor];
            let start = (0..b.len())
                .rev()
                .find(|&i| b[i] == b' ' && (i == 0 || b[i - 1] != b'\\'))
                .map_or(0, |i| i + 1);
            let word = &line[start..cursor];
            let candidates = ["notes.txt", "novel.md", "bin/", "my\\ file", "my\\ fine"]
                .iter()
                .filter(|c| c.starts_with(word))
                .map(|c| Candidate::plain(c))
                .collect();
            Completion { start, candidates }
        };
        for k in dec.feed(b"cat no") {
            ed.key(k, &mut files);
        }
        ed.take_output();
        ed.key(Key::Tab, &mut files);
        // Both candidates share only "no": they are listed.
        assert_eq!(ed.line(), "cat no");
        assert!(ed.take_output().contains("notes.txt  novel.md\r\n"));
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
        // The common prefix first, never half an escape.
        for k in dec.feed(b"\x15m") {
            ed.key(k, &mut files);
        }
        ed.key(Key::Tab, &mut files);
        assert_eq!(ed.line(), "my\\ fi");
        ed.key(Key::Char('l'), &mut files);
        ed.key(Key::Tab, &mut files);
        assert_eq!(ed.line(), "my\\ file ");
    }

    #[test]
    fn candidates_are_listed_in_columns_that_fit() {
        let mut ed = Editor::new();
        ed.set_width(Some(30));
        ed.start("$ ");
        let names: Vec<String> = (0..7)
            .map(|i| format!("{}-file", (b'a' + i) as char))
            .collect();
        let mut many = |_: &str, c: usize| Completion {
            start: c,
            candidates: names.iter().map(|n| Candidate::plain(n)).collect(),
        };
        ed.take_output();
        ed.key(Key::Tab, &mut many);
        let out = ed.take_output();
        // 8 columns each (6 and a gap of 2): 4 fit in 30; sorted down the columns.
        let listed: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(listed[1], "a-file  c-file  e-file  g-file");
        assert_eq!(listed[2], "b-file  d-file  f-file");
        assert!(listed[3].ends_with("$ "));
    }

    #[test]
    fn word_keys() {
        let mut ed = Editor::new();
        ed.start("$ ");
        type_keys(&mut ed, b"cp some/file.txt other");
        // Alt-b twice, Ctrl-Left: before "file".
        type_keys(&mut ed, b"\x1bb\x1bb\x1b[1;5D");
        assert_eq!(ed.cursor(), 8);
        // Alt-f, Ctrl-Right (rxvt), Alt-Right.
        type_keys(&mut ed, b"\x1bf");
        assert_eq!(ed.cursor(), 12);
        type_keys(&mut ed, b"\x1bOc\x1b[1;3D\x1b[1;3C");
        assert_eq!(ed.cursor(), 16);
        // Alt-d kills " other" up to its end; Alt-Backspace "txt"; Ctrl-W the rest of the word.
        type_keys(&mut ed, b"\x1bd");
        assert_eq!(ed.line(), "cp some/file.txt");
        type_keys(&mut ed, b"\x1b\x7f");
        assert_eq!(ed.line(), "cp some/file.");
        type_keys(&mut ed, b"\x17");
        assert_eq!(ed.line(), "cp ");
        type_keys(&mut ed, b"\x19");
        assert_eq!(ed.line(), "cp some/file.");
        // Home and End as terminals send them.
        for home in [&b"\x1b[H"[..], b"\x1b[1~", b"\x1bOH", b"\x1b[7~", b"\x01"] {
            type_keys(&mut ed, b"\x05");
            type_keys(&mut ed, home);
            assert_eq!(ed.cursor(), 0, "{home:?}");
        }
        for end in [&b"\x1b[F"[..], b"\x1b[4~", b"\x1bOF", b"\x1b[8~", b"\x05"] {
            type_keys(&mut ed, b"\x01");
            type_keys(&mut ed, end);
            assert_eq!(ed.cursor(), 13, "{end:?}");
        }
    }

    fn search_history() -> Editor {
        let mut ed = Editor::new();
        for l in ["make test", "echo one", "make all", "ls", "echo two"] {
            ed.add_history(l);
        }
        ed.start("$ ");
        ed.take_output();
        ed
    }

    #[test]
    fn reverse_search_finds_older_and_runs() {
        let mut ed = search_history();
        type_keys(&mut ed, b"draft\x12ma");
        assert!(ed.searching());
        assert_eq!(ed.line(), "make all");
        assert!(
            ed.take_output()
                .ends_with("(reverse-i-search)`ma': make all\x1b[8D")
        );
        type_keys(&mut ed, b"\x12");
        assert_eq!(ed.line(), "make test");
        // No older match: failed, the line stays.
        type_keys(&mut ed, b"\x12");
        assert_eq!(ed.line(), "make test");
        assert!(
            ed.take_output()
                .contains("(failed reverse-i-search)`ma': make test")
        );
        // Backspace: searched again from the newest.
        type_keys(&mut ed, b"\x7f");
        assert_eq!(ed.line(), "make all");
        assert_eq!(ed.cursor(), 0);
        assert_eq!(type_keys(&mut ed, b"\r"), [Event::Line("make all".into())]);
        let out = ed.take_output();
        assert!(out.contains("\r\x1b[J$ make all"), "{out:?}");
        assert!(!ed.searching());
        // Ctrl-R Ctrl-R: the last search again.
        ed.start("$ ");
        type_keys(&mut ed, b"\x12\x12");
        assert_eq!(ed.line(), "make all");
    }

    #[test]
    fn reverse_search_ends_with_esc_arrows_and_ctrl_c() {
        let mut ed = search_history();
        // Esc keeps the line and the cursor; the usual prompt is back.
        type_keys(&mut ed, b"\x12one");
        type_keys(&mut ed, b"\x1b");
        assert!(!ed.searching());
        assert_eq!((ed.line().as_str(), ed.cursor()), ("echo one", 5));
        assert!(ed.take_output().ends_with("\r\x1b[J$ echo one\x1b[3D"));
        type_keys(&mut ed, b"X");
        assert_eq!(ed.line(), "echo Xone");
        // Ctrl-G the same; Right moves on from the match; Up recalls the entry before it.
        type_keys(&mut ed, b"\x15\x12all\x07");
        assert_eq!(ed.line(), "make all");
        type_keys(&mut ed, b"\x12two\x1b[C");
        assert_eq!((ed.line().as_str(), ed.cursor()), ("echo two", 6));
        type_keys(&mut ed, b"\x12ls\x1b[A");
        assert_eq!(ed.line(), "make all");
        // Down past the newest entry: the line from before the search.
        type_keys(&mut ed, b"\x1b[B\x1b[B\x1b[B");
        assert_eq!(ed.line(), "echo two");
        // Ctrl-C drops it all.
        assert_eq!(type_keys(&mut ed, b"\x12make\x03"), [Event::Interrupted]);
        assert_eq!(ed.line(), "");
        assert!(!ed.searching());
    }

    #[test]
    fn controls_in_a_recalled_line_are_shown_as_caret_letters() {
        let mut ed = Editor::new();
        ed.add_history("cat <<E\nhi\nE");
        ed.start("$ ");
        type_keys(&mut ed, b"\x1b[A");
        assert!(ed.take_output().ends_with("$ cat <<E^Jhi^JE"));
        type_keys(&mut ed, b"\x1b[D\x1b[D");
        assert_eq!(ed.layout(), ((0, 16), (0, 13)));
        assert_eq!(
            type_keys(&mut ed, b"\r"),
            [Event::Line("cat <<E\nhi\nE".into())]
        );
    }

    #[test]
    fn missing_newline_mark_and_prompt_width() {
        let mut ed = Editor::new();
        ed.fresh_line();
        assert_eq!(ed.take_output(), "", "no width: nothing");
        ed.set_width(Some(10));
        ed.fresh_line();
        assert_eq!(ed.take_output(), format!("{NO_NEWLINE_MARK}         \r"));
        assert_eq!(visible_width("\x1b[1;32muser\x1b[0m$ "), 6);
        ed.start("line one\n\x1b[1mtwo\x1b[0m$ ");
        type_keys(&mut ed, b"abcdefgh");
        // 5 + 8 = 13 columns: the cursor on the second row, column 3.
        assert!(ed.take_output().contains("two\x1b[0m$ abcdefgh"));
        type_keys(&mut ed, b"\x1b[D");
        assert_eq!(ed.layout(), ((1, 3), (1, 2)));
    }
}
