//! The full-screen browser: what `gopher [URL]` is at a terminal (`--line` keeps the line mode).
//!
//! The screen is a title row (the page's name and URL), the page, and a status row (the selected
//! link's URL, where the view is, messages and prompts). A menu is one row per line, cut to the
//! screen's width (never wrapped, so the rows stay where they are drawn); a text is wrapped. Up
//! and Down (j, k) move the selection over the links, Enter or Right follows it, Left or
//! Backspace goes back (`f` forward), Space/PgDn and PgUp/`b` page, digits select link N, `/`
//! searches the page (`n`, `N`), `g` goes to a URL, `R` reloads, `a` bookmarks the page, `B` shows
//! the bookmarks (`d` deletes the selected one), `H` the pages visited, `?` the keys, `q` quits.
//!
//! Pages come from a cache of the last [`CACHE_PAGES`] fetched, at most [`CACHE_BYTES`] of bodies,
//! so back and forward do not fetch again (`R` does). A fetch runs on a thread of its own while
//! the keys are watched: Esc, `q` or Ctrl-C abandons it. So does a download (saving a binary
//! item), whose progress is drawn on the status row.

use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Mutex, Notify};
use std::time::Duration;

use libeurali::Handle;
use libeurali::proto::stream;
use unicode_width::UnicodeWidthChar;

use crate::menu::{self, Class, Item};
use crate::url::Url;
use crate::{Bookmarks, DownloadError, Page, Timeouts, download, end_note, human, page_for};

/// Pages the cache keeps.
pub const CACHE_PAGES: usize = 24;
/// Body bytes the cache keeps (the heap is 4 MiB; the page in view is held besides).
pub const CACHE_BYTES: usize = 1 << 20;
/// Pages the history page lists.
const HISTORY_MAX: usize = 200;

/// A key, as the terminal sent it: libeurali's one decoder of terminal input
/// ([`KeyDecoder::plain`]: control keys as typed), which the pager and the shell use too.
pub use libeurali::keys::{Key, KeyDecoder};

/// What the key reader has gathered.
struct Queue {
    bytes: VecDeque<u8>,
    ended: bool,
    /// A fetch or download finished (its thread tells the waiting loop).
    woken: bool,
    /// A read of the terminal is asked for, or under way.
    reading: bool,
    /// The terminal's size (rows, columns) as it was after the last read.
    size: (usize, usize),
    /// The keys in the bytes read (a sequence split across reads goes on in the next).
    decoder: KeyDecoder,
}

/// The queue, the main loop's wake-up and the reader's.
type Shared = (Mutex<Queue>, Notify, Notify);

/// The terminal's keys, read by a thread of their own so that the browser can watch for them
/// while it fetches. The terminal's server answers one request at a time and a pending read
/// holds it, so the reader makes every request: one read when asked for ([`Input::wait`],
/// [`Input::poll`]), then a question for the size (kept for [`Input::size`]). Nothing else talks
/// to the terminal while the reader runs, except to set its mode when no read is under way.
struct Input {
    shared: Arc<Shared>,
}

/// The size of the terminal's answer `info`; 24x80 if it does not say.
fn size_of(info: Option<stream::TermInfo>) -> (usize, usize) {
    match info {
        Some(t) if t.rows >= 3 && t.cols >= 10 => (usize::from(t.rows), usize::from(t.cols)),
        _ => (24, 80),
    }
}

impl Input {
    /// Starts reading the keys of the terminal `term` (a handle of the reader's own: std's
    /// stdin is not used), whose size is `size` now.
    fn start(term: Handle, size: (usize, usize)) -> std::io::Result<Input> {
        let queue = Queue {
            bytes: VecDeque::new(),
            ended: false,
            woken: false,
            reading: false,
            size,
            decoder: KeyDecoder::plain(),
        };
        let shared: Arc<Shared> = Arc::new((Mutex::new(queue), Notify::new()?, Notify::new()?));
        let theirs = shared.clone();
        std::thread::Builder::new()
            .name("keys".into())
            .spawn(move || {
                let lock = || theirs.0.lock().unwrap_or_else(|e| e.into_inner());
                let mut buf = [0u8; 256];
                loop {
                    while !lock().reading {
                        theirs.2.wait();
                    }
                    let n = loop {
                        match stream::read(&term, &mut buf) {
                            Ok(stream::ReadReply::Data(n)) => break n,
                            Ok(stream::ReadReply::Interrupted) => {}
                            Ok(stream::ReadReply::Eof) | Err(_) => break 0,
                        }
                    };
                    // The size now, for the screen drawn after these keys (a resized terminal
                    // is drawn anew at the next key).
                    let size = size_of(stream::term_info(&term));
                    let mut q = lock();
                    q.size = size;
                    q.reading = false;
                    if n == 0 {
                        q.ended = true;
                    } else {
                        q.bytes.extend(&buf[..n]);
                    }
                    drop(q);
                    theirs.1.notify();
                    if n == 0 {
                        return;
                    }
                }
            })?;
        Ok(Input { shared })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the reader for a read, unless one is under way.
    fn ask(&self) {
        let mut q = self.lock();
        if !q.reading && !q.ended {
            q.reading = true;
            drop(q);
            self.shared.2.notify();
        }
    }

    /// The terminal's size (rows, columns), as of the last read.
    fn size(&self) -> (usize, usize) {
        self.lock().size
    }

    /// Whether a read is under way (the terminal's server is then busy with it).
    fn reading(&self) -> bool {
        self.lock().reading
    }

    /// The keys typed so far, without waiting; `None` once the input has ended.
    fn poll(&self) -> Option<Vec<Key>> {
        self.ask();
        let mut q = self.lock();
        if q.bytes.is_empty() && q.ended {
            return None;
        }
        let b: Vec<u8> = q.bytes.drain(..).collect();
        Some(q.decoder.feed(&b))
    }

    /// Waits for keys (or for [`Input::waker`]'s call); `None` once the input has ended.
    fn wait(&self) -> Option<Vec<Key>> {
        loop {
            {
                let mut q = self.lock();
                if !q.bytes.is_empty() || q.woken {
                    q.woken = false;
                    let b: Vec<u8> = q.bytes.drain(..).collect();
                    return Some(q.decoder.feed(&b));
                }
                if q.ended {
                    return None;
                }
            }
            self.ask();
            self.shared.1.wait();
        }
    }

    /// Something another thread calls to end a [`Input::wait`].
    fn waker(&self) -> impl Fn() + Send + 'static {
        let shared = self.shared.clone();
        move || {
            shared.0.lock().unwrap_or_else(|e| e.into_inner()).woken = true;
            shared.1.notify();
        }
    }
}

/// A fetched page, as the cache holds it.
struct Loaded {
    page: Page,
    /// What to say about how its fetch ended (cut short, ...).
    note: Option<String>,
    bytes: usize,
}

/// The pages fetched last, the least recently seen dropped first: at most [`CACHE_PAGES`] of
/// them and [`CACHE_BYTES`] of bodies.
#[derive(Default)]
struct Cache {
    pages: VecDeque<(Url, Rc<Loaded>)>,
}

impl Cache {
    /// The page of `u`, if kept (it becomes the newest).
    fn get(&mut self, u: &Url) -> Option<Rc<Loaded>> {
        let i = self.pages.iter().position(|(c, _)| c == u)?;
        let e = self.pages.remove(i)?;
        let l = e.1.clone();
        self.pages.push_back(e);
        Some(l)
    }

    /// Keeps `l` as the page of `u` (one larger than the whole cache is not kept).
    fn put(&mut self, u: &Url, l: Rc<Loaded>) {
        self.pages.retain(|(c, _)| c != u);
        if l.bytes > CACHE_BYTES {
            return;
        }
        self.pages.push_back((u.clone(), l));
        while self.pages.len() > CACHE_PAGES || self.bytes() > CACHE_BYTES {
            self.pages.pop_front();
        }
    }

    fn bytes(&self) -> usize {
        self.pages.iter().map(|(_, l)| l.bytes).sum()
    }
}

/// What is in view.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Url(Url),
    Help,
    History,
    Bookmarks,
}

/// A place to go back (or forward) to.
#[derive(Clone, Debug)]
struct Place {
    target: Target,
    title: String,
    top: usize,
    sel: Option<usize>,
}

/// The page in view, laid out.
struct Doc {
    target: Target,
    title: String,
    /// The page's lines (a menu's as `menu::render` numbers them).
    lines: Vec<String>,
    /// The line each link is on, and the item.
    links: Vec<(usize, Item)>,
    /// For a list of pages (history, bookmarks): each link's whole URL (a search's query too).
    urls: Vec<Url>,
    /// Text is wrapped; a menu's lines are cut.
    wrap: bool,
    note: Option<String>,
    /// Screen rows at `cols`: (line, the byte range of its text on the row); ranges, not
    /// copies, so that a long page is held once.
    rows: Vec<(usize, usize, usize)>,
    cols: usize,
    top: usize,
    /// The selected link (an index of `links`).
    sel: Option<usize>,
}

/// The width of `c` on a terminal (0 for what takes none).
fn width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// `s` cut to `cols` columns.
pub fn fit(s: &str, cols: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    for c in s.chars() {
        let w = width(c);
        if n + w > cols {
            break;
        }
        n += w;
        out.push(c);
    }
    out
}

/// `s` in rows of at most `cols` columns (at least one row): their byte ranges.
fn wrap(s: &str, cols: usize) -> Vec<(usize, usize)> {
    let mut rows = Vec::new();
    let mut start = 0;
    let mut n = 0;
    for (i, c) in s.char_indices() {
        let w = width(c);
        if n + w > cols && i > start {
            rows.push((start, i));
            start = i;
            n = 0;
        }
        n += w;
    }
    rows.push((start, s.len()));
    rows
}

impl Doc {
    fn new(target: Target, title: String, lines: Vec<String>, links: Vec<(usize, Item)>) -> Doc {
        Doc {
            target,
            title,
            lines,
            links,
            urls: Vec::new(),
            wrap: false,
            note: None,
            rows: Vec::new(),
            cols: 0,
            top: 0,
            sel: None,
        }
    }

    fn from_page(target: Target, title: String, l: &Loaded) -> Doc {
        let mut d = match &l.page {
            Page::Menu(items) => {
                let (lines, map) = menu::render(items);
                let links = map
                    .iter()
                    .map(|&i| (i, items[i].clone()))
                    .collect::<Vec<_>>();
                let mut d = Doc::new(target, title, lines, links);
                d.sel = (!d.links.is_empty()).then_some(0);
                d
            }
            Page::Text(lines) => {
                let mut d = Doc::new(
                    target,
                    title,
                    lines.iter().map(|l| menu::sanitize(l)).collect(),
                    Vec::new(),
                );
                d.wrap = true;
                d
            }
        };
        d.note = l.note.clone();
        if let Some(n) = &d.note {
            d.lines.push(String::new());
            d.lines.push(n.clone());
        }
        d
    }

    /// Lays the page out for `cols` columns (again only if they changed).
    fn layout(&mut self, cols: usize) {
        if cols == self.cols && !self.rows.is_empty() {
            return;
        }
        self.cols = cols;
        self.rows.clear();
        for (i, l) in self.lines.iter().enumerate() {
            if self.wrap {
                self.rows
                    .extend(wrap(l, cols).into_iter().map(|(a, b)| (i, a, b)));
            } else {
                self.rows.push((i, 0, fit(l, cols).len()));
            }
        }
    }

    /// The first row of line `line`.
    fn row_of(&self, line: usize) -> usize {
        self.rows.partition_point(|(l, _, _)| *l < line)
    }

    /// Where link `k` goes.
    fn link_url(&self, k: usize) -> Option<Url> {
        self.urls
            .get(k)
            .cloned()
            .or_else(|| self.links.get(k).map(|(_, it)| it.url()))
    }

    fn link_row(&self, k: usize) -> usize {
        self.links.get(k).map_or(0, |(line, _)| self.row_of(*line))
    }

    /// The text of row `r`.
    fn row_text(&self, r: usize) -> &str {
        let (l, a, b) = self.rows[r];
        self.lines[l].get(a..b).unwrap_or("")
    }

    fn last_top(&self, height: usize) -> usize {
        self.rows.len().saturating_sub(height)
    }

    /// Scrolls so that row `r` is on the screen.
    fn show_row(&mut self, r: usize, height: usize) {
        if r < self.top {
            self.top = r;
        } else if r >= self.top + height {
            self.top = r + 1 - height;
        }
        self.top = self.top.min(self.last_top(height));
    }

    fn visible(&self, r: usize, height: usize) -> bool {
        r >= self.top && r < self.top + height
    }

    /// Selects the first link on the screen if the selection is off it.
    fn select_on_screen(&mut self, height: usize) {
        if self
            .sel
            .is_some_and(|k| self.visible(self.link_row(k), height))
        {
            return;
        }
        self.sel = (0..self.links.len()).find(|&k| self.visible(self.link_row(k), height));
    }

    fn down(&mut self, height: usize) {
        let next = match self.sel {
            Some(k) if self.visible(self.link_row(k), height) => Some(k + 1),
            _ => (0..self.links.len()).find(|&k| self.link_row(k) >= self.top),
        }
        .filter(|&k| k < self.links.len());
        match next {
            // The next link, if it is no more than a screen away: otherwise the page scrolls
            // (the text between is not skipped unseen).
            Some(k) if self.link_row(k) < self.top + 2 * height => {
                self.sel = Some(k);
                let r = self.link_row(k);
                self.show_row(r, height);
            }
            _ => {
                self.top = (self.top + height.max(1) / 2)
                    .max(self.top + 1)
                    .min(self.last_top(height));
                self.select_on_screen(height);
            }
        }
    }

    fn up(&mut self, height: usize) {
        let prev = match self.sel {
            Some(k) if self.visible(self.link_row(k), height) => k.checked_sub(1),
            _ => (0..self.links.len())
                .rev()
                .find(|&k| self.link_row(k) < self.top + height),
        };
        match prev {
            Some(k) if self.link_row(k) + height >= self.top => {
                self.sel = Some(k);
                let r = self.link_row(k);
                self.show_row(r, height);
            }
            _ => {
                self.top = self.top.saturating_sub((height / 2).max(1));
                self.select_on_screen(height);
            }
        }
    }
}

/// The help page's text.
const KEYS_HELP: &str = "\
Keys of the full-screen browser (gopher --line for the line mode)

  Up / k, Down / j     select the previous / next link (a text scrolls)
  Enter, Right, l      follow the selected link
  Left, Backspace, h   back to the page before (kept: nothing is fetched again)
  f                    forward again
  Space, PgDn, Ctrl-F  next screen           PgUp, b, Ctrl-B   screen before
  Home / End           top / end of the page
  1 2 3 ...            select link number N (then Enter follows it)
  / TEXT               search this page for TEXT (any case); n / N next / previous
  g                    go to a URL (gopher://host[:port]/Tselector)
  R                    reload this page from its server
  a                    bookmark this page   B   the bookmarks (d deletes the selected one)
  H                    the pages visited this session
  s                    save this page's text to a file
  ?                    this help            q   quit (also Ctrl-C)

While a page or a download comes, Esc, q or Ctrl-C stops it.
Search items ask for their query; binary items are saved to a file (the name is asked).
Bookmarks are kept in ~/.gopher_bookmarks, one URL and a TAB and a title a line.";

/// The browser.
struct Screen {
    timeout: Timeouts,
    input: Input,
    doc: Doc,
    back: Vec<Place>,
    forward: Vec<Place>,
    cache: Cache,
    history: Vec<(Url, String)>,
    message: String,
    /// The pattern of the last `/`, and the row of its last match.
    pattern: Option<String>,
    hit: Option<usize>,
    /// Digits typed so far (a link number).
    number: Option<usize>,
    out: std::io::Stdout,
    /// The terminal (a handle of our own).
    term: Handle,
}

/// Browses full screen from `start` (the bookmarks without it) until the user quits; the exit
/// status.
pub fn run(timeout: Timeouts, start: Option<Url>) -> i32 {
    let handles = std::rt::stdin_handle().and_then(|t| t.try_clone().ok().map(|k| (t, k)));
    let Some((term, keys_term)) = handles else {
        eprintln!("gopher: no terminal");
        return 1;
    };
    let info = stream::term_info(&term);
    let was_raw = info.is_some_and(|t| t.raw);
    if let Err(e) = stream::set_raw(&term, true) {
        eprintln!("gopher: the terminal: {}", std::io::Error::from(e));
        return 1;
    }
    let input = match Input::start(keys_term, size_of(info)) {
        Ok(i) => i,
        Err(e) => {
            let _ = stream::set_raw(&term, was_raw);
            eprintln!("gopher: cannot read the keys: {e}");
            return 1;
        }
    };
    let mut s = Screen {
        timeout,
        input,
        doc: Doc::new(Target::Help, String::new(), Vec::new(), Vec::new()),
        back: Vec::new(),
        forward: Vec::new(),
        cache: Cache::default(),
        history: Vec::new(),
        message: String::new(),
        pattern: None,
        hit: None,
        number: None,
        out: std::io::stdout(),
        term,
    };
    // The alternate screen: what was on the terminal comes back at the end.
    let _ = s.out.write_all(b"\x1b[?1049h\x1b[?25l");
    s.open(Target::Bookmarks, "bookmarks".into(), false);
    if let Some(u) = start {
        let title = u.to_string();
        if !s.go(u, title, false) {
            s.end(was_raw);
            return 0;
        }
    }
    if s.message.is_empty() {
        s.message = "? for the keys, q to quit".into();
    }
    s.run();
    s.end(was_raw);
    0
}

impl Screen {
    fn end(&mut self, was_raw: bool) {
        let _ = self.out.write_all(b"\x1b[?25h\x1b[?1049l");
        let _ = self.out.flush();
        // Only when no read is under way (the terminal would answer after the next key): the
        // browser ends on a key it read, or at the input's end, so none is.
        if !self.input.reading() {
            let _ = stream::set_raw(&self.term, was_raw);
        }
    }

    /// Rows for the page (the title and status rows take two).
    fn height(&self) -> usize {
        self.size().0 - 2
    }

    fn size(&self) -> (usize, usize) {
        self.input.size()
    }

    fn draw(&mut self, prompt: Option<(&str, &str)>) {
        let (rows, cols) = self.size();
        let height = rows - 2;
        self.doc.layout(cols);
        self.doc.top = self.doc.top.min(self.doc.last_top(height));
        let mut s = String::from("\x1b[H");
        // The title row.
        let title = match &self.doc.target {
            Target::Url(u) if self.doc.title != u.to_string() => {
                format!(" {}  <{u}>", menu::sanitize(&self.doc.title))
            }
            _ => format!(" {}", menu::sanitize(&self.doc.title)),
        };
        let title = fit(&title, cols);
        let pad = cols - title.chars().map(width).sum::<usize>();
        s.push_str("\x1b[7m");
        s.push_str(&title);
        s.extend(core::iter::repeat_n(' ', pad));
        s.push_str("\x1b[0m\r\n");
        let sel_line = self
            .doc
            .sel
            .and_then(|k| self.doc.links.get(k))
            .map(|(l, _)| *l);
        let end = (self.doc.top + height).min(self.doc.rows.len());
        for r in self.doc.top..end {
            let (line, text) = (self.doc.rows[r].0, self.doc.row_text(r));
            // Cleared first: a row as wide as the screen leaves the cursor past its edge, where
            // a clear would take its last character.
            s.push_str("\x1b[K");
            if Some(line) == sel_line {
                s.push_str("\x1b[7m");
                s.push_str(text);
                s.push_str("\x1b[0m");
            } else {
                s.push_str(text);
            }
            s.push_str("\r\n");
        }
        for _ in end - self.doc.top..height {
            s.push_str("\x1b[K\r\n");
        }
        // The status row.
        match prompt {
            Some((p, typed)) => {
                let line = format!("{p}{typed}");
                // The end of what is typed stays in view.
                let skip = line.chars().count().saturating_sub(cols - 1);
                let line: String = line.chars().skip(skip).collect();
                s.push_str("\x1b[K");
                s.push_str(&fit(&line, cols - 1));
                s.push_str("\x1b[?25h");
            }
            None => {
                let mut place = if self.doc.rows.len() <= height {
                    "all".to_string()
                } else {
                    format!("{}-{}/{}", self.doc.top + 1, end, self.doc.rows.len())
                };
                let left = if !self.message.is_empty() {
                    core::mem::take(&mut self.message)
                } else if let Some((_, it)) = self.doc.sel.and_then(|k| self.doc.links.get(k)) {
                    let k = self.doc.sel.unwrap_or(0);
                    match (it.web_url(), self.doc.link_url(k)) {
                        (Some(w), _) => format!("{}: {}", k + 1, menu::sanitize(w)),
                        (None, Some(u)) => format!("{}: {u}", k + 1),
                        (None, None) => String::new(),
                    }
                } else {
                    "? help  q quit".to_string()
                };
                if place.len() + 2 > cols {
                    place.clear();
                }
                let room = cols.saturating_sub(place.len() + 2);
                let left = fit(&menu::sanitize(&left), room);
                let pad = cols - 1 - left.chars().map(width).sum::<usize>() - place.len();
                s.push_str("\x1b[K\x1b[7m");
                s.push_str(&left);
                s.extend(core::iter::repeat_n(' ', pad));
                s.push_str(&place);
                s.push_str("\x1b[0m\x1b[?25l");
            }
        }
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    /// Asks for a line on the status row, `initial` already typed; `None` if cancelled (Esc,
    /// Ctrl-C) or the input ended.
    fn prompt(&mut self, p: &str, initial: &str) -> Option<String> {
        let mut typed = initial.to_string();
        loop {
            self.draw(Some((p, &typed)));
            for k in self.input.wait()? {
                match k {
                    Key::Enter => return Some(typed),
                    Key::Escape | Key::Ctrl('c') => return None,
                    Key::Backspace => {
                        typed.pop();
                    }
                    Key::Ctrl('u') => typed.clear(),
                    Key::Char(c) => typed.push(c),
                    _ => {}
                }
            }
        }
    }

    /// Runs `work` on a thread while the keys are watched: `None` if the user stopped it (Esc,
    /// `q`, Ctrl-C) or the input ended; the thread is then left to end by its own timeout.
    fn wait_for<T: Send + 'static>(
        &mut self,
        what: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let theirs = slot.clone();
        let wake = self.input.waker();
        self.message = format!("{what} (Esc stops)");
        self.draw(None);
        let started = std::thread::Builder::new()
            .name("fetch".into())
            .spawn(move || {
                let r = work();
                *theirs.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                wake();
            });
        if started.is_err() {
            self.message = "no thread to fetch on: try again".into();
            return None;
        }
        loop {
            if let Some(r) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Some(r);
            }
            let keys = self.input.wait()?;
            if keys
                .iter()
                .any(|k| matches!(k, Key::Escape | Key::Ctrl('c') | Key::Char('q')))
            {
                self.message = "stopped".into();
                return None;
            }
        }
    }

    /// Fetches `u` (or takes it from the cache unless `fresh`); `None` if that failed (said in
    /// the message) or was stopped.
    fn load(&mut self, u: &Url, fresh: bool) -> Option<Rc<Loaded>> {
        if !fresh && let Some(l) = self.cache.get(u) {
            return Some(l);
        }
        let (uu, t) = (u.clone(), self.timeout);
        let r = self.wait_for(&format!("fetching {u} ..."), move || page_for(&uu, &t))?;
        match r {
            Ok((page, end, dotless, stats)) => {
                let note = end_note(&end, dotless, None);
                let l = Rc::new(Loaded {
                    page,
                    note,
                    bytes: usize::try_from(stats.bytes).unwrap_or(usize::MAX),
                });
                self.cache.put(u, l.clone());
                Some(l)
            }
            Err(e) => {
                self.message = format!("error: {e}");
                None
            }
        }
    }

    fn place(&self) -> Place {
        Place {
            target: self.doc.target.clone(),
            title: self.doc.title.clone(),
            top: self.doc.top,
            sel: self.doc.sel,
        }
    }

    /// Shows `target` (fetching a page if need be); the page in view goes on the back stack
    /// when `record`. `false` only if the input ended.
    fn open(&mut self, target: Target, title: String, record: bool) -> bool {
        self.open_fresh(target, title, record, false).is_some()
    }

    /// [`Screen::open`]; `Some(true)` if the page is in view, `Some(false)` if not (the old one
    /// stays, the reason in the message).
    fn open_fresh(
        &mut self,
        target: Target,
        title: String,
        record: bool,
        fresh: bool,
    ) -> Option<bool> {
        let doc = match &target {
            Target::Url(u) => {
                let Some(l) = self.load(u, fresh) else {
                    return self.alive().then_some(false);
                };
                if record || self.history.is_empty() {
                    self.visited(u, &title);
                }
                Doc::from_page(target.clone(), title, &l)
            }
            Target::Help => {
                let lines = KEYS_HELP.lines().map(String::from).collect();
                let mut d = Doc::new(Target::Help, "help".into(), lines, Vec::new());
                d.wrap = true;
                d
            }
            Target::History => self.history_doc(),
            Target::Bookmarks => self.bookmarks_doc(),
        };
        if record && !self.doc.title.is_empty() {
            let p = self.place();
            self.back.push(p);
            self.forward.clear();
        }
        self.doc = doc;
        self.hit = None;
        Some(true)
    }

    /// Whether keys may still come (the input has not ended).
    fn alive(&self) -> bool {
        let q = self.input.lock();
        !q.ended || !q.bytes.is_empty()
    }

    fn visited(&mut self, u: &Url, title: &str) {
        self.history.retain(|(h, _)| h != u);
        self.history.push((u.clone(), title.to_string()));
        if self.history.len() > HISTORY_MAX {
            self.history.remove(0);
        }
    }

    /// A list page of `(url, title)`s, the newest first if `rev`.
    fn list_doc(target: Target, title: &str, entries: &[(Url, String)], empty: &str) -> Doc {
        let mut lines = Vec::new();
        let mut links = Vec::new();
        if entries.is_empty() {
            lines.push(empty.to_string());
        }
        let w = entries.len().to_string().len();
        for (i, (u, t)) in entries.iter().enumerate() {
            let name = if t.is_empty() {
                u.to_string()
            } else {
                t.clone()
            };
            let shown = if name == u.to_string() {
                String::new()
            } else {
                format!("  <{u}>")
            };
            lines.push(format!(
                "{:>w$}. [{}] {}{shown}",
                i + 1,
                menu::label(u.kind),
                menu::sanitize(&name)
            ));
            links.push((
                i,
                Item {
                    kind: u.kind,
                    display: name,
                    selector: u.selector.clone(),
                    host: u.host.clone(),
                    port: u.port,
                    problem: None,
                    mirror: false,
                },
            ));
        }
        let mut d = Doc::new(target, title.to_string(), lines, links);
        d.urls = entries.iter().map(|(u, _)| u.clone()).collect();
        d.sel = (!d.links.is_empty()).then_some(0);
        d
    }

    fn history_doc(&self) -> Doc {
        let newest_first: Vec<(Url, String)> = self.history.iter().rev().cloned().collect();
        Screen::list_doc(
            Target::History,
            "history: the pages visited this session",
            &newest_first,
            "(no pages visited yet)",
        )
    }

    fn bookmarks_doc(&mut self) -> Doc {
        match Bookmarks::load() {
            Ok(b) => {
                if let Some(w) = b.warning() {
                    self.message = w;
                }
                Screen::list_doc(
                    Target::Bookmarks,
                    "bookmarks",
                    &b.entries,
                    "(no bookmarks yet: a adds the page in view, g goes to a URL, ? shows the keys)",
                )
            }
            Err(e) => {
                self.message = e.clone();
                let mut d = Doc::new(Target::Bookmarks, "bookmarks".into(), vec![e], Vec::new());
                d.wrap = true;
                d
            }
        }
    }

    /// Follows `u` (from a link titled `title`): pages are shown, searches ask their query,
    /// binaries are saved, what is not opened says so. `false` only if the input ended.
    fn go(&mut self, mut u: Url, title: String, record: bool) -> bool {
        match menu::class_of(u.kind) {
            Class::Info => {
                self.message = "not a link".into();
                true
            }
            Class::Html => {
                let it = Item {
                    kind: 'h',
                    display: String::new(),
                    selector: u.selector.clone(),
                    host: u.host.clone(),
                    port: u.port,
                    problem: None,
                    mirror: false,
                };
                self.message = match it.web_url() {
                    Some(w) => format!("web link (open it in a web browser): {w}"),
                    None => format!("HTML item {u}: not opened (no web browser here)"),
                };
                true
            }
            Class::Session => {
                self.message = format!(
                    "{} session at {}:{}: not opened (no such client here)",
                    if u.kind == '2' { "CSO" } else { "telnet" },
                    u.host,
                    u.port
                );
                true
            }
            Class::Binary => self.save(&u),
            Class::Search if u.query.is_none() => {
                match self.prompt(&format!("search {}: ", menu::sanitize(&title)), "") {
                    None => {
                        self.message = "search cancelled".into();
                        true
                    }
                    Some(q) if q.trim().is_empty() => {
                        self.message = "search cancelled".into();
                        true
                    }
                    Some(q) => {
                        let title = format!("{title}: {q}");
                        u.query = Some(q.into_bytes());
                        self.open(Target::Url(u), title, record)
                    }
                }
            }
            _ => self.open(Target::Url(u), title, record),
        }
    }

    /// Saves a binary item to a file the user names; progress on the status row.
    fn save(&mut self, u: &Url) -> bool {
        let suggested = String::from_utf8_lossy(&u.selector)
            .rsplit('/')
            .find(|s| !s.is_empty())
            .map(|s| s.replace(|c: char| c.is_control() || c == '\\', "_"))
            .unwrap_or_else(|| "download".to_string());
        let Some(name) = self.prompt(&format!("save {u} to file: "), &suggested) else {
            self.message = "not saved".into();
            return true;
        };
        let name = name.trim().to_string();
        if name.is_empty() {
            self.message = "not saved".into();
            return true;
        }
        if std::fs::metadata(&name).is_ok() {
            match self.prompt(&format!("{name} exists: replace it? [y/N] "), "") {
                Some(a) if a.trim().eq_ignore_ascii_case("y") => {}
                _ => {
                    self.message = "not saved".into();
                    return true;
                }
            }
        }
        let mut f = match std::fs::File::create(&name) {
            Ok(f) => f,
            Err(e) => {
                self.message = format!("error: {name}: {e}");
                return true;
            }
        };
        let mut stopped = false;
        let (rows, cols) = self.size();
        let result = {
            let input = &self.input;
            let out = &mut self.out;
            let mut tick = 0usize;
            let mut progress = |n: u64, d: Duration| {
                if let Some(keys) = input.poll()
                    && keys
                        .iter()
                        .any(|k| matches!(k, Key::Escape | Key::Ctrl('c') | Key::Char('q')))
                {
                    stopped = true;
                    return false;
                }
                let rate = n.saturating_mul(1000) / (d.as_millis() as u64).max(1);
                // Gopher gives no size: the bar shows that bytes come, not how many are left.
                tick += 1;
                let mut bar = [b' '; 10];
                bar[tick % 10] = b'#';
                let line = format!(
                    "saving {name}: [{}] {} so far, {}/s  (Esc stops)",
                    String::from_utf8_lossy(&bar),
                    human(n),
                    human(rate)
                );
                let _ = write!(
                    out,
                    "\x1b[{rows};1H\x1b[7m{}\x1b[0m\x1b[K",
                    fit(&line, cols - 1)
                );
                let _ = out.flush();
                true
            };
            download(u, &self.timeout, &mut f, &mut progress)
        };
        self.message = match result {
            Ok(d) => format!("saved {} bytes to {name}", d.bytes),
            Err(DownloadError::Cancelled(n)) if stopped => {
                format!("stopped: the {n} bytes that came are in {name} (it is partial)")
            }
            Err(e @ DownloadError::Fetch(_)) => format!(
                "error: {} (what arrived is in {name}: it is partial)",
                e.describe(Some(&name))
            ),
            Err(e) => format!(
                "error: {} (what fitted is in {name}: it is partial)",
                e.describe(Some(&name))
            ),
        };
        true
    }

    fn back(&mut self) -> bool {
        let Some(p) = self.back.pop() else {
            self.message = "nothing to go back to".into();
            return true;
        };
        let here = self.place();
        self.restore(p, here, true)
    }

    fn forward(&mut self) -> bool {
        let Some(p) = self.forward.pop() else {
            self.message = "nothing to go forward to".into();
            return true;
        };
        let here = self.place();
        self.restore(p, here, false)
    }

    /// Shows the place `p` again, where it was scrolled to; `here` goes forward (or back).
    fn restore(&mut self, p: Place, here: Place, going_back: bool) -> bool {
        let Some(shown) = self.open_fresh(p.target.clone(), p.title.clone(), false, false) else {
            return false;
        };
        if !shown {
            // Not reached again: it stays where it was.
            if going_back {
                self.back.push(p);
            } else {
                self.forward.push(p);
            }
            return true;
        }
        if going_back {
            self.forward.push(here);
        } else {
            self.back.push(here);
        }
        self.doc.top = p.top;
        self.doc.sel = p.sel.filter(|&k| k < self.doc.links.len());
        true
    }

    fn follow(&mut self) -> bool {
        let height = self.height();
        let Some(k) = self.doc.sel else {
            self.message = if self.doc.links.is_empty() {
                "no links on this page".into()
            } else {
                "no link selected: Up/Down select one".into()
            };
            return true;
        };
        let Some((_, it)) = self.doc.links.get(k).cloned() else {
            return true;
        };
        if !self.doc.visible(self.doc.link_row(k), height) {
            let r = self.doc.link_row(k);
            self.doc.show_row(r, height);
        }
        if let Some(p) = &it.problem {
            self.message = format!("link {} cannot be followed: {p}", k + 1);
            return true;
        }
        let Some(u) = self.doc.link_url(k) else {
            return true;
        };
        let title = if it.display.is_empty() {
            u.to_string()
        } else {
            it.display.clone()
        };
        self.go(u, title, true)
    }

    fn find(&mut self, back: bool) {
        let Some(p) = self.pattern.clone() else {
            self.message = "no search yet: / searches".into();
            return;
        };
        let height = self.height();
        let p = p.to_lowercase();
        let n = self.doc.rows.len();
        if n == 0 {
            self.message = format!("not found: {p}");
            return;
        }
        let from = self.hit.unwrap_or(if back {
            self.doc.top
        } else {
            self.doc.top.wrapping_sub(1)
        });
        let hit = |r: usize| self.doc.row_text(r).to_lowercase().contains(&p);
        let order: Vec<usize> = if back {
            (0..n).map(|i| (from + n - 1 - i % n) % n).collect()
        } else {
            (1..=n).map(|i| from.wrapping_add(i) % n).collect()
        };
        match order.into_iter().find(|&r| hit(r)) {
            Some(r) => {
                let wrapped = if back {
                    r >= from
                } else {
                    r <= from && self.hit.is_some()
                };
                self.hit = Some(r);
                self.doc.show_row(r, height);
                let line = self.doc.rows[r].0;
                if let Some(k) = self.doc.links.iter().position(|(l, _)| *l == line) {
                    self.doc.sel = Some(k);
                }
                self.message = format!(
                    "/{p}: line {}{}",
                    line + 1,
                    if wrapped { " (search wrapped)" } else { "" }
                );
            }
            None => self.message = format!("not found: {p}"),
        }
    }

    fn bookmark(&mut self) {
        let Target::Url(u) = &self.doc.target else {
            self.message = "only a page of a server can be bookmarked".into();
            return;
        };
        let u = u.clone();
        let title = self.doc.title.clone();
        self.message = match Bookmarks::load() {
            Err(e) => e,
            Ok(b) if b.entries.iter().any(|(x, _)| *x == u) => format!("already bookmarked: {u}"),
            Ok(mut b) => {
                b.entries.push((u.clone(), title));
                match b.save() {
                    Ok(()) => format!("bookmarked {u}"),
                    Err(e) => format!("error: {e}"),
                }
            }
        };
    }

    fn delete_bookmark(&mut self) {
        let Some(u) = self.doc.sel.and_then(|k| self.doc.link_url(k)) else {
            self.message = "no bookmark selected".into();
            return;
        };
        self.message = match Bookmarks::load() {
            Err(e) => e,
            Ok(mut b) => {
                let before = b.entries.len();
                b.entries.retain(|(x, _)| *x != u);
                if b.entries.len() == before {
                    format!("not a bookmark: {u}")
                } else {
                    match b.save() {
                        Ok(()) => format!("deleted bookmark {u}"),
                        Err(e) => format!("error: {e}"),
                    }
                }
            }
        };
        let (top, sel) = (self.doc.top, self.doc.sel);
        let msg = core::mem::take(&mut self.message);
        self.doc = self.bookmarks_doc();
        if self.message.is_empty() {
            self.message = msg;
        }
        self.doc.top = top;
        self.doc.sel = sel
            .map(|k| k.min(self.doc.links.len().saturating_sub(1)))
            .filter(|_| !self.doc.links.is_empty());
    }

    fn save_text(&mut self) {
        if !matches!(self.doc.target, Target::Url(_)) {
            self.message = "only a page of a server is saved".into();
            return;
        }
        let Some(name) = self.prompt("save this page's text to file: ", "") else {
            self.message = "not saved".into();
            return;
        };
        let name = name.trim().to_string();
        if name.is_empty() {
            self.message = "not saved".into();
            return;
        }
        let text: String = self.doc.lines.iter().map(|l| format!("{l}\n")).collect();
        self.message = match std::fs::write(&name, text) {
            Ok(()) => format!("saved to {name}"),
            Err(e) => format!("error: {name}: {e}"),
        };
    }

    /// A key; `false` to quit.
    fn key(&mut self, k: Key) -> bool {
        let height = self.height();
        let digit = match k {
            Key::Char(c) => c.to_digit(10),
            _ => None,
        };
        if let Some(d) = digit {
            let d = d as usize;
            // Digits add up to a link number while it stays one of this page's.
            let n = match self.number {
                Some(n) if n * 10 + d <= self.doc.links.len() => n * 10 + d,
                _ => d,
            };
            self.number = Some(n);
            if (1..=self.doc.links.len()).contains(&n) {
                self.doc.sel = Some(n - 1);
                let r = self.doc.link_row(n - 1);
                self.doc.show_row(r, height);
            } else {
                self.message = format!("no link {n} here");
            }
            return true;
        }
        self.number = None;
        match k {
            Key::Char('q' | 'Q') | Key::Ctrl('c') => return false,
            Key::Down | Key::Char('j') | Key::Ctrl('n') => {
                if self.doc.links.is_empty() {
                    self.doc.top = (self.doc.top + 1).min(self.doc.last_top(height));
                } else {
                    self.doc.down(height);
                }
            }
            Key::Up | Key::Char('k') | Key::Ctrl('p') => {
                if self.doc.links.is_empty() {
                    self.doc.top = self.doc.top.saturating_sub(1);
                } else {
                    self.doc.up(height);
                }
            }
            Key::PageDown | Key::Char(' ' | '+') | Key::Ctrl('f') => {
                self.doc.top = (self.doc.top + height).min(self.doc.last_top(height));
                self.doc.select_on_screen(height);
            }
            Key::PageUp | Key::Char('b' | '-') | Key::Ctrl('b') => {
                self.doc.top = self.doc.top.saturating_sub(height);
                self.doc.select_on_screen(height);
            }
            Key::Home | Key::Char('<') => {
                self.doc.top = 0;
                self.doc.select_on_screen(height);
            }
            Key::End | Key::Char('>') => {
                self.doc.top = self.doc.last_top(height);
                self.doc.select_on_screen(height);
            }
            Key::Enter | Key::Right | Key::Char('l') => return self.follow(),
            Key::Left | Key::Backspace | Key::Char('h') => return self.back(),
            Key::Char('f') => return self.forward(),
            Key::Char('/') => {
                if let Some(p) = self.prompt("/", "") {
                    if !p.is_empty() {
                        self.pattern = Some(p);
                        self.hit = None;
                    }
                    self.find(false);
                }
            }
            Key::Char('n') => self.find(false),
            Key::Char('N') => self.find(true),
            Key::Char('g') => {
                if let Some(t) = self.prompt("go to: gopher://", "") {
                    let t = t.trim();
                    if !t.is_empty() {
                        let t = if t.contains("://") {
                            t.to_string()
                        } else {
                            format!("gopher://{t}")
                        };
                        match Url::parse(&t) {
                            Ok(u) => {
                                let title = u.to_string();
                                return self.go(u, title, true);
                            }
                            Err(e) => self.message = format!("error: {e}"),
                        }
                    }
                }
            }
            Key::Char('R') | Key::Ctrl('r') => {
                let (top, sel) = (self.doc.top, self.doc.sel);
                let (target, title) = (self.doc.target.clone(), self.doc.title.clone());
                match self.open_fresh(target, title, false, true) {
                    None => return false,
                    Some(true) => {
                        self.doc.top = top;
                        self.doc.sel = sel.filter(|&k| k < self.doc.links.len());
                        if self.message.is_empty() {
                            self.message = "reloaded".into();
                        }
                    }
                    Some(false) => {}
                }
            }
            Key::Char('a') => self.bookmark(),
            Key::Char('B') => {
                if self.doc.target != Target::Bookmarks {
                    return self.open(Target::Bookmarks, "bookmarks".into(), true);
                }
            }
            Key::Char('d') if self.doc.target == Target::Bookmarks => self.delete_bookmark(),
            Key::Char('H') => {
                if self.doc.target != Target::History {
                    return self.open(Target::History, "history".into(), true);
                }
            }
            Key::Char('?') => {
                if self.doc.target != Target::Help {
                    return self.open(Target::Help, "help".into(), true);
                }
            }
            Key::Char('s') => self.save_text(),
            Key::Char('u') => {
                self.message = match &self.doc.target {
                    Target::Url(u) => u.to_string(),
                    _ => self.doc.title.clone(),
                }
            }
            Key::Ctrl('l') => {
                let _ = self.out.write_all(b"\x1b[2J");
            }
            _ => self.message = "? shows the keys".into(),
        }
        true
    }

    fn run(&mut self) {
        loop {
            self.draw(None);
            let Some(keys) = self.input.wait() else {
                return;
            };
            for k in keys {
                if !self.key(k) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_terminal() {
        // The browser's keys through the shared decoder: control keys as typed (Ctrl-B pages
        // up here, it is not Left), Esc alone at the end of a read.
        assert_eq!(
            KeyDecoder::plain().feed(b"j\x1b[A\x1b[C\x1bOD\x1b[6~\r\x7f\x03\x02\xc3\xa9\x1b"),
            [
                Key::Char('j'),
                Key::Up,
                Key::Right,
                Key::Left,
                Key::PageDown,
                Key::Enter,
                Key::Backspace,
                Key::Ctrl('c'),
                Key::Ctrl('b'),
                Key::Char('é'),
                Key::Escape,
            ]
        );
    }

    /// The page cache keeps the pages seen last, within its bounds.
    #[test]
    fn the_cache_is_bounded() {
        let page = |bytes: usize| {
            Rc::new(Loaded {
                page: Page::Text(Vec::new()),
                note: None,
                bytes,
            })
        };
        let url = |i: usize| Url::new("h", 70, '0', format!("/{i}").as_bytes());
        let mut c = Cache::default();
        for i in 0..CACHE_PAGES + 5 {
            c.put(&url(i), page(10));
        }
        assert_eq!(c.pages.len(), CACHE_PAGES);
        assert!(c.get(&url(0)).is_none());
        // Seen again, a page is the newest: the next one put drops another.
        assert!(c.get(&url(5)).is_some());
        c.put(&url(100), page(10));
        assert!(c.get(&url(5)).is_some());
        assert!(c.get(&url(6)).is_none());
        // Bytes: big pages push the old ones out; one past the whole budget is not kept.
        c.put(&url(200), page(CACHE_BYTES / 2));
        c.put(&url(201), page(CACHE_BYTES / 2));
        assert!(c.bytes() <= CACHE_BYTES);
        assert!(c.get(&url(200)).is_some() && c.get(&url(201)).is_some());
        c.put(&url(202), page(CACHE_BYTES + 1));
        assert!(c.get(&url(202)).is_none());
        assert!(c.bytes() <= CACHE_BYTES);
    }

    #[test]
    fn rows_are_cut_or_wrapped_by_columns() {
        assert_eq!(fit("abcdef", 4), "abcd");
        // Wide characters take two columns: one more would pass the edge.
        assert_eq!(fit("日本語", 5), "日本");
        assert_eq!(wrap("abcdefg", 3), [(0, 3), (3, 6), (6, 7)]);
        assert_eq!(wrap("", 3), [(0, 0)]);
        assert_eq!(wrap("é日x", 2), [(0, 2), (2, 5), (5, 6)]);
    }

    fn menu_doc(n: usize, info_between: usize) -> Doc {
        let mut body = String::new();
        for i in 0..n {
            for j in 0..info_between {
                body.push_str(&format!("iinfo {i}.{j}\tf\th\t1\r\n"));
            }
            body.push_str(&format!("0Item {i}\t/{i}\th\t70\r\n"));
        }
        let l = Loaded {
            page: Page::Menu(menu::parse_menu(body.as_bytes(), "h", 70)),
            note: None,
            bytes: body.len(),
        };
        let mut d = Doc::from_page(Target::Help, "t".into(), &l);
        d.layout(40);
        d
    }

    #[test]
    fn the_selection_moves_over_links_and_the_page_follows() {
        let mut d = menu_doc(30, 0);
        assert_eq!(d.sel, Some(0));
        for _ in 0..12 {
            d.down(10);
        }
        assert_eq!(d.sel, Some(12));
        assert!(d.visible(d.link_row(12), 10));
        d.up(10);
        assert_eq!(d.sel, Some(11));
        // Links far apart: Down scrolls before it jumps past what lies between.
        let mut d = menu_doc(3, 40);
        d.down(10);
        assert_eq!((d.top, d.sel), (5, None));
        for _ in 0..6 {
            d.down(10);
        }
        assert_eq!(d.sel, Some(0));
        assert!(d.visible(d.link_row(0), 10));
    }
}
