//! `less` (also `more`), the pager, and `man`, which shows a manual page through it.
//!
//! The pager is a tool, run inside the shell like the others: there the command's stdin may be
//! a pipe (`man ls | less`), but the shell process's own stdin is the terminal, and that is
//! where the keys come from (the stream protocol's terminal control switches it to raw mode,
//! `libeurali::proto::stream`). Its output is the terminal only when the command's stdout is
//! the shell's own and that is a terminal ([`crate::Tty`]); anything else gets the text copied
//! through, as less does. The text is read whole first (at most [`MAX_TEXT`] bytes), then shown
//! a screen at a time, long lines wrapped.

use std::io::{BufRead, Write};

use libeurali::keys::{Key, KeyDecoder};
use libeurali::proto::stream;

use crate::Io;
use crate::input::open;
use crate::output::write_error;
use crate::regex::{Regex, Syntax};

/// The most the pager holds (the heap is 4 MiB): the rest of a longer input is left out, and
/// the status line says so.
pub const MAX_TEXT: usize = 1 << 20;

/// `less [FILE...]` / `more [FILE...]`.
#[inline(never)]
pub fn less(tool: &str, args: &[String], io: &mut Io) -> i32 {
    if let Some(bad) = args.iter().find(|a| a.len() > 1 && a.starts_with('-')) {
        let _ = writeln!(
            io.stderr,
            "{tool}: unknown option '{bad}'\nusage: {tool} [FILE...]"
        );
        return 2;
    }
    let files = crate::input::inputs(args);
    if !io.tty.stdout {
        // Not a terminal: copy through, as less and more do.
        return crate::text::cat(args, io);
    }
    if files == ["-"] && io.tty.stdin {
        let _ = writeln!(
            io.stderr,
            "{tool}: missing filename (\"{tool} --help\" for help)"
        );
        return 1;
    }
    let mut text = Vec::new();
    let mut status = 0;
    for f in &files {
        let mut input = match open(f, io.cwd, io.stdin) {
            Ok(i) => i,
            Err(e) => {
                let _ = writeln!(io.stderr, "{tool}: {f}: {}", std::io::describe(&e));
                status = 1;
                continue;
            }
        };
        if let Err(e) = read_some(input.reader(), &mut text) {
            let _ = writeln!(io.stderr, "{tool}: {f}: {}", std::io::describe(&e));
            status = 1;
        }
    }
    if text.is_empty() && status != 0 {
        return status;
    }
    let name = if files == ["-"] { "" } else { files[0] };
    match page(name, &text, io) {
        Ok(()) => status,
        Err(e) => write_error(io.stderr, tool, &e),
    }
}

/// Reads `r` onto `text` until its end or until `text` holds more than [`MAX_TEXT`] bytes.
fn read_some(r: &mut dyn BufRead, text: &mut Vec<u8>) -> std::io::Result<()> {
    while text.len() <= MAX_TEXT {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(MAX_TEXT + 1 - text.len());
        text.extend_from_slice(&buf[..n]);
        r.consume(n);
    }
    Ok(())
}

/// The text cut into screen rows: `(start, end)` byte ranges of `text`, each at most `cols`
/// characters, lines wrapped; and the line each row starts.
struct Rows {
    rows: Vec<(usize, usize)>,
}

impl Rows {
    fn new(text: &str, cols: usize) -> Rows {
        let mut rows = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let mut row = start;
            let mut n = 0;
            for (k, c) in body.char_indices() {
                let w = if c == '\t' { 8 - n % 8 } else { 1 };
                if n + w > cols {
                    rows.push((row, start + k));
                    row = start + k;
                    n = 0;
                }
                n += if c == '\t' { 8 - n % 8 } else { 1 };
            }
            rows.push((row, start + body.len()));
            start += line.len();
        }
        Rows { rows }
    }
}

/// Appends a row as the terminal should show it: tabs to the next stop of 8 (as [`Rows`]
/// counts them, so a row never takes more than its columns and wraps on the terminal, which
/// would push the screen, and a header, up), other control characters as `?`.
fn push_row(s: &mut String, row: &str) {
    let mut n = 0;
    for c in row.chars() {
        if c == '\t' {
            let w = 8 - n % 8;
            s.extend(core::iter::repeat_n(' ', w));
            n += w;
        } else {
            s.push(if c.is_control() { '?' } else { c });
            n += 1;
        }
    }
}

/// What the pager does next, after a key.
enum Next {
    Stay,
    Quit,
    Search,
}

/// Shows `text` on the terminal a screen at a time until the user quits (`less`, `man`).
fn page(name: &str, text: &[u8], io: &mut Io) -> std::io::Result<()> {
    let look = Look {
        name,
        header: None,
        alternate: true,
    };
    show(&look, text, io.stdout, io.interrupted)
}

/// How [`show`] shows a text.
#[derive(Clone, Copy, Debug)]
pub struct Look<'a> {
    /// Named on the status line (empty: nothing).
    pub name: &'a str,
    /// A fixed first row that never scrolls away (a page's title), cut to the screen's width.
    pub header: Option<&'a str>,
    /// On the alternate screen, so that what was on the terminal comes back at the end (as
    /// `less` does); otherwise the last screen stays, its status line cleared and the cursor at
    /// its start, for the caller's prompt (a browser whose page should stay in view).
    pub alternate: bool,
}

/// Shows `text` (at most [`MAX_TEXT`] bytes of it; not UTF-8 is shown replaced) on the terminal
/// of this process's stdin, a screen of rows at a time, until the user quits: long lines are
/// wrapped, and scrolling, `/` search, `n`/`N` and the status line count screen rows, so no
/// line of any length scrolls the header away. Keys come from the terminal in raw mode (its
/// mode is restored after); the screen goes to `out`. Without a terminal the header and the
/// text are written to `out` whole.
///
/// # Errors
/// Writing to `out`, or reading the terminal, failed.
pub fn show(
    look: &Look<'_>,
    text: &[u8],
    out: &mut dyn Write,
    interrupted: &dyn Fn() -> bool,
) -> std::io::Result<()> {
    let truncated = text.len() > MAX_TEXT;
    let text = String::from_utf8_lossy(&text[..text.len().min(MAX_TEXT)]);
    let plain = |out: &mut dyn Write| {
        if let Some(h) = look.header {
            writeln!(out, "{h}")?;
        }
        out.write_all(text.as_bytes())
    };
    let Some(term) = std::rt::stdin_handle() else {
        return plain(out);
    };
    let Some(info) = stream::term_info(&term) else {
        return plain(out);
    };
    let header_rows = usize::from(look.header.is_some());
    let (rows, cols) = match (info.rows, info.cols) {
        (r, c) if usize::from(r) > 1 + header_rows && c > 0 => (usize::from(r), usize::from(c)),
        _ => (24, 80),
    };
    let was_raw = info.raw;
    stream::set_raw(&term, true).map_err(std::io::Error::from)?;
    if look.alternate {
        // The alternate screen: what was on the terminal comes back at the end.
        let _ = out.write_all(b"\x1b[?1049h");
    }
    let header = look.header.map(|h| {
        let mut h = one_row(h, cols);
        h.insert_str(0, "\x1b[1m");
        h.push_str("\x1b[0m\r\n");
        h
    });
    let r = Pager {
        text: &text,
        rows: Rows::new(&text, cols),
        height: rows - 1 - header_rows,
        cols,
        top: 0,
        name: look.name,
        header,
        truncated,
        pattern: None,
        hit: None,
        note: String::new(),
    }
    .run(&term, out, interrupted);
    if look.alternate {
        let _ = out.write_all(b"\x1b[?1049l");
    } else {
        // The last screen stays; its status line goes.
        let _ = out.write_all(b"\r\x1b[2K");
    }
    let _ = out.flush();
    let _ = stream::set_raw(&term, was_raw);
    r
}

/// `s` cut to `cols` characters, control characters shown as `?`.
fn one_row(s: &str, cols: usize) -> String {
    s.chars()
        .take(cols)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

struct Pager<'t> {
    text: &'t str,
    rows: Rows,
    /// Rows of text on a screen (the last row is the status line).
    height: usize,
    cols: usize,
    top: usize,
    name: &'t str,
    /// The fixed first row, ready to draw (escape sequences and line end included).
    header: Option<String>,
    truncated: bool,
    pattern: Option<Regex>,
    /// The row of the last match (where `n` goes on from).
    hit: Option<usize>,
    /// A message for the status line (a pattern not found, ...), shown once.
    note: String,
}

impl Pager<'_> {
    fn last_top(&self) -> usize {
        self.rows.rows.len().saturating_sub(self.height)
    }

    fn draw(&mut self, out: &mut dyn Write, prompt: Option<&str>) -> std::io::Result<()> {
        let mut s = String::from("\x1b[H\x1b[2J");
        if let Some(h) = &self.header {
            s.push_str(h);
        }
        let end = (self.top + self.height).min(self.rows.rows.len());
        for &(a, b) in &self.rows.rows[self.top..end] {
            push_row(&mut s, &self.text[a..b]);
            s.push_str("\r\n");
        }
        for _ in end - self.top..self.height {
            s.push_str("~\r\n");
        }
        match prompt {
            Some(p) => {
                s.push('/');
                s.push_str(p);
            }
            None => {
                let mut status = String::new();
                if !self.note.is_empty() {
                    status = core::mem::take(&mut self.note);
                } else {
                    if !self.name.is_empty() {
                        status.push_str(self.name);
                        status.push(' ');
                    }
                    status.push_str(&format!(
                        "lines {}-{}/{}",
                        self.top + 1,
                        end,
                        self.rows.rows.len()
                    ));
                    if self.truncated {
                        status.push_str(" (input cut at 1 MiB)");
                    }
                    if end >= self.rows.rows.len() {
                        status.push_str(" (END)");
                    }
                    status.push_str(" q to quit");
                }
                status.truncate(self.cols.saturating_sub(1));
                s.push_str("\x1b[7m");
                s.push_str(&status);
                s.push_str("\x1b[0m");
            }
        }
        out.write_all(s.as_bytes())?;
        out.flush()
    }

    /// The row after `from` (or before it, `back`) that starts a line holding the pattern.
    fn find(&self, from: usize, back: bool) -> Option<usize> {
        let re = self.pattern.as_ref()?;
        let hit = |r: usize| {
            let (a, b) = self.rows.rows[r];
            let chars: Vec<char> = self.text[a..b].chars().collect();
            re.is_match(&chars)
        };
        if back {
            (0..from).rev().find(|&r| hit(r))
        } else {
            (from.wrapping_add(1)..self.rows.rows.len()).find(|&r| hit(r))
        }
    }

    fn search(&mut self, back: bool) {
        if self.pattern.is_none() {
            self.note = String::from("No previous search pattern");
            return;
        }
        let from = match self.hit {
            Some(h) if h >= self.top && h < self.top + self.height => h,
            _ if back => self.top,
            // A new search starts on the first row shown, as less's does.
            _ => self.top.wrapping_sub(1),
        };
        match self.find(from, back) {
            Some(r) => {
                self.hit = Some(r);
                self.top = r.min(self.last_top());
            }
            None => self.note = String::from("Pattern not found"),
        }
    }

    fn key(&mut self, k: Key) -> Next {
        let page = self.height.max(1);
        match k {
            Key::Char('q' | 'Q') | Key::Ctrl('c') => return Next::Quit,
            Key::Char(' ' | 'f') | Key::Ctrl('f') | Key::PageDown => {
                self.top = (self.top + page).min(self.last_top())
            }
            Key::Char('b') | Key::Ctrl('b') | Key::PageUp => {
                self.top = self.top.saturating_sub(page)
            }
            Key::Char('d') => self.top = (self.top + page / 2).min(self.last_top()),
            Key::Char('u') => self.top = self.top.saturating_sub(page / 2),
            Key::Char('j' | 'e') | Key::Enter | Key::Down => {
                self.top = (self.top + 1).min(self.last_top())
            }
            Key::Char('k' | 'y') | Key::Up => self.top = self.top.saturating_sub(1),
            Key::Char('g' | '<') | Key::Home => self.top = 0,
            Key::Char('G' | '>') | Key::End => self.top = self.last_top(),
            Key::Char('/') => return Next::Search,
            Key::Char('n') => self.search(false),
            Key::Char('N') => self.search(true),
            Key::Char('h') => {
                self.note = String::from(
                    "SPACE f: page down  b: up  j k: line  g G: top end  /RE n N: search  q: quit",
                )
            }
            _ => {}
        }
        Next::Stay
    }

    fn run(
        mut self,
        term: &libeurali::Handle,
        out: &mut dyn Write,
        interrupted: &dyn Fn() -> bool,
    ) -> std::io::Result<()> {
        let mut buf = [0u8; 64];
        let mut typing: Option<String> = None;
        // The keys in what is read (libeurali's decoder, shared with gopher's screen and the
        // shell); a sequence split across reads goes on in the next.
        let mut decoder = KeyDecoder::plain();
        self.draw(out, None)?;
        loop {
            let n = match stream::read(term, &mut buf) {
                Ok(stream::ReadReply::Data(n)) => n,
                Ok(stream::ReadReply::Interrupted) => continue,
                // The terminal's input ended: nothing more to page through.
                Ok(stream::ReadReply::Eof) => return Ok(()),
                Err(e) => return Err(std::io::Error::from(e)),
            };
            if interrupted() {
                return Ok(());
            }
            for k in decoder.feed(&buf[..n]) {
                if let Some(p) = typing.as_mut() {
                    match k {
                        Key::Enter => {
                            let p = typing.take().unwrap_or_default();
                            if !p.is_empty() {
                                match Regex::new(&p, Syntax::Extended, false) {
                                    Ok(re) => {
                                        self.pattern = Some(re);
                                        self.hit = None;
                                    }
                                    Err(e) => {
                                        self.note = format!("Bad pattern: {e}");
                                        continue;
                                    }
                                }
                            }
                            self.search(false);
                        }
                        // Backspace: the pattern's last character, or the search itself.
                        Key::Backspace if p.pop().is_none() => typing = None,
                        Key::Backspace => {}
                        Key::Ctrl('c') | Key::Escape => typing = None,
                        Key::Char(c) => p.push(c),
                        _ => {}
                    }
                    continue;
                }
                match self.key(k) {
                    Next::Quit => return Ok(()),
                    Next::Search => typing = Some(String::new()),
                    Next::Stay => {}
                }
            }
            let prompt = typing.clone();
            self.draw(out, prompt.as_deref())?;
        }
    }
}

/// `man [-k WORD] NAME...`: the manual pages in `vfs::image::MAN_DIR`.
#[inline(never)]
pub fn man(args: &[String], io: &mut Io) -> i32 {
    const NO_ENTRY: i32 = 16;
    let dir = vfs::image::MAN_DIR;
    match args {
        [] => {
            let _ = writeln!(
                io.stderr,
                "What manual page do you want?\nFor example, try 'man man'."
            );
            return 1;
        }
        [k, word] if k == "-k" => return apropos(dir, word, io),
        [k, ..] if k == "-k" => {
            let _ = writeln!(io.stderr, "man: usage: man -k WORD");
            return 1;
        }
        [o, ..] if o.len() > 1 && o.starts_with('-') => {
            let _ = writeln!(
                io.stderr,
                "man: unknown option '{o}'\nusage: man NAME... | man -k WORD"
            );
            return 1;
        }
        _ => {}
    }
    let mut status = 0;
    let mut text = Vec::new();
    for name in args {
        let found = !name.contains('/') && !name.starts_with('.') && !name.is_empty();
        match std::fs::read(format!("{dir}/{name}"))
            .ok()
            .filter(|_| found)
        {
            Some(t) => {
                if !text.is_empty() {
                    text.push(b'\n');
                }
                text.extend(t);
            }
            None => {
                let _ = writeln!(io.stderr, "No manual entry for {name}");
                status = NO_ENTRY;
            }
        }
    }
    if text.is_empty() {
        return status;
    }
    let shown = if io.tty.stdout {
        let title = if args.len() == 1 {
            format!("Manual page {}", args[0])
        } else {
            String::from("Manual pages")
        };
        page(&title, &text, io)
    } else {
        io.stdout.write_all(&text)
    };
    match shown {
        Ok(()) => status,
        Err(e) => write_error(io.stderr, "man", &e),
    }
}

/// `man -k WORD`: the NAME line of each page that holds WORD (any case).
fn apropos(dir: &str, word: &str, io: &mut Io) -> i32 {
    let names = match crate::input::sorted_names(dir) {
        Ok(n) => n,
        Err(e) => {
            let _ = writeln!(io.stderr, "man: {dir}: {}", std::io::describe(&e));
            return 1;
        }
    };
    let want = word.to_ascii_lowercase();
    let mut found = false;
    for n in names {
        let Ok(t) = std::fs::read_to_string(format!("{dir}/{n}")) else {
            continue;
        };
        let mut lines = t.lines().skip_while(|l| l.trim_end() != "NAME").skip(1);
        let Some(line) = lines.next().map(str::trim) else {
            continue;
        };
        if line.to_ascii_lowercase().contains(&want) {
            found = true;
            if let Err(e) = writeln!(io.stdout, "{line}") {
                return write_error(io.stderr, "man", &e);
            }
        }
    }
    if found {
        0
    } else {
        let _ = writeln!(io.stderr, "{word}: nothing appropriate.");
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_rows() {
        assert_eq!(
            KeyDecoder::plain().feed(b"q\x1b[6~\x1b[A\x1bOB\x1b[5~ \x06\x1b"),
            [
                Key::Char('q'),
                Key::PageDown,
                Key::Up,
                Key::Down,
                Key::PageUp,
                Key::Char(' '),
                Key::Ctrl('f'),
                Key::Escape
            ]
        );
        let r = Rows::new("abcdef\n\nxy", 4);
        assert_eq!(r.rows, [(0, 4), (4, 6), (7, 7), (8, 10)]);
    }
}
