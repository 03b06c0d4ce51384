//! `gopher`: a Gopher client (RFC 1436) over eurali's TCP stack (std's `net`).
//!
//! ```text
//! gopher [--line] [--timeout SECS] [URL]        browse (without a URL: from the bookmarks)
//! gopher --print [-o FILE] [--timeout SECS] URL fetch once: menus numbered, text as text,
//!                                               binaries to FILE (or standard output)
//! gopher --raw [--timeout SECS] URL             fetch once: the bytes as the server sent them
//! ```
//! With `--stats`, a one-shot fetch ends with a line on stderr giving the connect time, the
//! whole fetch's time and the byte count (what `cargo xtask bench net` reads).
//! URLs follow RFC 4266 (`gopher://host[:port]/Tselector`, `%09` before a search string).
//!
//! Browsing at a terminal is full screen ([`screen`]: a selection moved over the links, a page
//! cache, history, bookmarks, `?` for the keys). With `--line`, or when standard input is not a
//! terminal, it is the line mode: a menu shows its links numbered with their type (`[DIR]`, `[TXT]`, `[ASK]`,
//! `[BIN]`, …); type a number to follow one. Text is paged. Search items (7) ask for a query.
//! Binary items (4, 5, 6, 9, g, I and unknown types) are saved to a file in the current
//! directory (the name is asked, the selector's last part offered). Web links (`h`, `URL:…`)
//! are shown; telnet, tn3270 and CSO items are listed but not opened. `b`/`f` go back and
//! forward, `a` adds a bookmark, `B` lists them (kept in `$HOME/.gopher_bookmarks`), `g URL`
//! goes anywhere, `?` shows all commands. A server that is slow or dead gives a timeout
//! message, and a bad answer is shown as well as it can be: the client never panics on input.
//!
//! `--timeout SECS` bounds the whole fetch (connect, request and every byte); without it a
//! fetch waits up to 20 s for each next byte, however long it runs in all. A menu ends at its
//! lone `.` line, even when the server keeps the connection open; so does a text that ends with
//! one. What arrived before a fetch failed (a reset, a timeout) is shown or kept, and the
//! failure said after it; a menu that ends without its `.` line is shown with a word that it
//! may be incomplete.
//!
//! Saving a binary item shows its progress, asks before replacing a file, and writes what
//! arrived out at least every half second ([`KEEP_EVERY`]): Ctrl-C ends the program at once,
//! and leaves what came until then.
//!
//! Exit status in the one-shot modes: 0 fetched, 1 the fetch failed (the reason on stderr,
//! after what arrived), 2 bad usage.
#![forbid(unsafe_code)]

pub mod menu;
pub mod screen;
pub mod url;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use menu::{Class, Item};
use url::Url;

/// Largest menu or text body kept in memory (a longer one is cut, and says so).
pub const MAX_BODY: usize = 2 << 20;
/// Default time to wait for a connection or for the next bytes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a fetch may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For the connection, and for each next piece of the body.
    pub idle: Duration,
    /// For the whole fetch (`--timeout`), if bounded.
    pub whole: Option<Duration>,
}

impl Timeouts {
    /// Without `--timeout`: each wait is bounded, the whole fetch is not.
    pub const DEFAULT: Timeouts = Timeouts {
        idle: DEFAULT_TIMEOUT,
        whole: None,
    };

    /// `--timeout SECS`: the whole fetch ends after `t`.
    pub fn whole(t: Duration) -> Timeouts {
        Timeouts {
            idle: t.min(DEFAULT_TIMEOUT),
            whole: Some(t),
        }
    }

    /// How long the next wait may be, `started` being when the fetch began; `None` once the
    /// whole fetch's time is up.
    fn next_wait(&self, started: std::time::Instant) -> Option<Duration> {
        match self.whole {
            None => Some(self.idle),
            Some(w) => w
                .checked_sub(started.elapsed())
                .filter(|left| !left.is_zero())
                .map(|left| left.min(self.idle)),
        }
    }

    fn expired(&self) -> String {
        match self.whole {
            Some(w) => format!(
                "timed out: the whole fetch may take {} s (--timeout)",
                w.as_secs()
            ),
            None => "timed out".into(),
        }
    }
}

/// How a fetch failed, in words for the user.
fn describe(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut => "timed out (the server is slow or gone)".into(),
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset by the server".into(),
        K::StorageFull => "No space left on device".into(),
        K::FileTooLarge => "File too large".into(),
        _ => e.to_string(),
    }
}

/// Why a download failed: the fetch (the server, the network), or writing what arrived.
#[derive(Debug)]
pub enum DownloadError {
    /// The fetch failed (what arrived before is written out).
    Fetch(String),
    /// Writing failed (what was written before stays).
    Write(std::io::Error),
    /// The progress callback stopped it, after this many bytes (written out).
    Cancelled(u64),
}

impl DownloadError {
    /// In words, naming `dest` (a file, or `None` for standard output) for a write error.
    pub fn describe(&self, dest: Option<&str>) -> String {
        match (self, dest) {
            (DownloadError::Fetch(e), _) => e.clone(),
            (DownloadError::Write(e), Some(path)) => {
                format!("{path}: write error: {}", describe(e))
            }
            (DownloadError::Write(e), None) => format!("write error: {}", describe(e)),
            (DownloadError::Cancelled(n), _) => format!("stopped after {n} bytes"),
        }
    }
}

/// Connects to the item's server and sends the request; the time the fetch began, and how long
/// the connection took (for `--stats`: figures travel with each fetch, never in a static, which
/// the in-process stub's programs would share).
fn open(u: &Url, t: &Timeouts) -> Result<(TcpStream, std::time::Instant, Duration), String> {
    let started = std::time::Instant::now();
    let place = format!("{}:{}", u.host, u.port);
    // The resolver's error does not name the host: it is said here, once.
    let addrs: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(u.host.as_str(), u.port))
            .map_err(|e| format!("{}: {}", u.host, describe(&e)))?
            .collect();
    let addr = addrs
        .first()
        .ok_or_else(|| format!("{}: no address", u.host))?;
    let wait = t
        .next_wait(started)
        .ok_or_else(|| format!("{place}: {}", t.expired()))?;
    let t0 = std::time::Instant::now();
    let mut s =
        TcpStream::connect_timeout(addr, wait).map_err(|e| format!("{place}: {}", describe(&e)))?;
    let connect = t0.elapsed();
    s.write_all(&u.request())
        .map_err(|e| format!("{place}: {}", describe(&e)))?;
    Ok((s, started, connect))
}

/// One read of the body, waiting no longer than `t` allows.
fn read_some(
    s: &mut TcpStream,
    buf: &mut [u8],
    started: std::time::Instant,
    t: &Timeouts,
) -> std::io::Result<usize> {
    loop {
        let Some(wait) = t.next_wait(started) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                t.expired(),
            ));
        };
        s.set_read_timeout(Some(wait))?;
        match s.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::TimedOut && t.next_wait(started).is_none() =>
            {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    t.expired(),
                ));
            }
            r => return r,
        }
    }
}

/// How a fetch into memory ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The server closed the connection, or the body ended at its lone `.` line.
    Whole,
    /// More than [`MAX_BODY`] bytes: the rest was not read.
    Cut,
    /// The fetch failed after what arrived (a reset, a timeout): why.
    Failed(String),
}

/// What a fetch into memory brought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub end: End,
    /// How long the connection took.
    pub connect: Duration,
}

/// Whether `body` ends with a lone `.` line (the end of a menu, or of a dot-terminated text).
pub fn ends_with_dot_line(body: &[u8]) -> bool {
    let body = body
        .strip_suffix(b"\r\n")
        .or_else(|| body.strip_suffix(b"\n"))
        .unwrap_or(&[]);
    body == b"." || body.ends_with(b"\n.") || body.ends_with(b"\r.")
}

/// After a text's `.` line, how long more may come before the text is taken as ended (a `.`
/// line inside a text that is not dot-terminated is just text).
const AFTER_DOT: Duration = Duration::from_millis(500);

/// Fetches `u`'s body into memory (at most [`MAX_BODY`] bytes). A menu ends at its `.` line
/// at once; a text whose last line so far is `.` ends when nothing more comes for a moment. An
/// error before any byte arrived is `Err`; one after is [`End::Failed`], with the bytes.
pub fn fetch(u: &Url, t: &Timeouts) -> Result<Fetched, String> {
    let (mut s, started, connect) = open(u, t)?;
    let menu = matches!(menu::class_of(u.kind), Class::Menu | Class::Search);
    let mut body = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let dotted = ends_with_dot_line(&body);
        if dotted && menu {
            return Ok(Fetched {
                body,
                end: End::Whole,
                connect,
            });
        }
        let read = if dotted {
            let quick = Timeouts {
                idle: AFTER_DOT.min(t.idle),
                whole: t.whole,
            };
            match read_some(&mut s, &mut buf, started, &quick) {
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Ok(Fetched {
                        body,
                        end: End::Whole,
                        connect,
                    });
                }
                r => r,
            }
        } else {
            read_some(&mut s, &mut buf, started, t)
        };
        match read {
            Ok(0) => {
                return Ok(Fetched {
                    body,
                    end: End::Whole,
                    connect,
                });
            }
            Ok(n) => {
                let room = MAX_BODY - body.len();
                body.extend_from_slice(&buf[..n.min(room)]);
                if n >= room {
                    return Ok(Fetched {
                        body,
                        end: End::Cut,
                        connect,
                    });
                }
            }
            Err(e) => {
                let why = format!("{}:{}: {}", u.host, u.port, describe(&e));
                if body.is_empty() {
                    return Err(why);
                }
                return Ok(Fetched {
                    body,
                    end: End::Failed(why),
                    connect,
                });
            }
        }
    }
}

/// Streams `u`'s body into `out`; the number of bytes, once all of them are written (and
/// `out` flushed). Writes go out in pieces of up to [`WRITE_BATCH`] bytes (one request each to
/// a file server, rather than one per read); the first that fails ends the download.
///
/// What arrived is written out at least every [`KEEP_EVERY`] too, so that a download ended from
/// outside (Ctrl-C kills the process) leaves what came until then in the file; `progress` is
/// told the bytes so far and the time since the start as often, and stops the download (what
/// came is written out) by answering `false`.
pub fn download(
    u: &Url,
    t: &Timeouts,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Duration) -> bool,
) -> Result<Downloaded, DownloadError> {
    let (mut s, started, connect) = open(u, t).map_err(DownloadError::Fetch)?;
    let mut kept_at = std::time::Instant::now();
    // Reads land straight in the batch being gathered; it is written out once it has less room
    // than a read may bring.
    let mut pending = vec![0u8; WRITE_BATCH];
    let mut filled = 0;
    let mut total = 0u64;
    let flush = |data: &[u8], out: &mut dyn Write| -> Result<(), DownloadError> {
        out.write_all(data)
            .and_then(|()| out.flush())
            .map_err(DownloadError::Write)
    };
    loop {
        let due = kept_at.elapsed() >= KEEP_EVERY;
        if WRITE_BATCH - filled < READ_ROOM || (due && filled > 0) {
            flush(&pending[..filled], out)?;
            filled = 0;
        }
        if due {
            kept_at = std::time::Instant::now();
            if !progress(total, started.elapsed()) {
                flush(&pending[..filled], out)?;
                return Err(DownloadError::Cancelled(total));
            }
        }
        match read_some(&mut s, &mut pending[filled..], started, t) {
            Ok(0) => {
                flush(&pending[..filled], out)?;
                return Ok(Downloaded {
                    bytes: total,
                    connect,
                });
            }
            Ok(n) => {
                filled += n;
                total += n as u64;
            }
            Err(e) => {
                // Keep what arrived (a write error then is the one to report).
                flush(&pending[..filled], out)?;
                return Err(DownloadError::Fetch(format!(
                    "{}:{}: {}",
                    u.host,
                    u.port,
                    describe(&e)
                )));
            }
        }
    }
}

/// How often [`download`] writes out what arrived (whatever the batch holds) and reports its
/// progress.
pub const KEEP_EVERY: Duration = Duration::from_millis(500);

/// What a whole download brought.
#[derive(Clone, Copy, Debug)]
pub struct Downloaded {
    pub bytes: u64,
    /// How long the connection took.
    pub connect: Duration,
}

/// Room kept for the next read of [`download`] (a read brings at most this much at once).
const READ_ROOM: usize = 64 * 1024;

/// Largest piece [`download`] writes at once.
pub const WRITE_BATCH: usize = 256 * 1024;

/// A fetched page.
enum Page {
    Menu(Vec<Item>),
    Text(Vec<String>),
}

/// A fetched page, and how its fetch ended (a menu that ended without its `.` line is
/// `End::Whole` with `true`: it may be incomplete).
fn page_for(u: &Url, t: &Timeouts) -> Result<(Page, End, bool, Stats), String> {
    let f = fetch(u, t)?;
    let (page, dotless) = match menu::class_of(u.kind) {
        Class::Menu | Class::Search => (
            Page::Menu(menu::parse_menu(&f.body, &u.host, u.port)),
            f.end == End::Whole && !ends_with_dot_line(&f.body),
        ),
        _ => (Page::Text(menu::parse_text(&f.body)), false),
    };
    let stats = Stats {
        connect: f.connect,
        bytes: f.body.len() as u64,
    };
    Ok((page, f.end, dotless, stats))
}

/// `n` bytes for people: `812 B`, `3.4 KiB`, `12.0 MiB` (integers only: no float formatting
/// in a freestanding program).
fn human(n: u64) -> String {
    let tenths = |unit: u64| {
        let t = n.saturating_mul(10) / unit;
        format!("{}.{}", t / 10, t % 10)
    };
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{} KiB", tenths(1024))
    } else {
        format!("{} MiB", tenths(1024 * 1024))
    }
}

/// What to say after a page whose fetch did not end well (nothing if it did).
fn end_note(end: &End, dotless: bool, bytes: Option<usize>) -> Option<String> {
    match end {
        End::Whole if dotless => {
            Some("[the menu ended without its closing \".\" line: it may be incomplete]".into())
        }
        End::Whole => None,
        End::Cut => Some(CUT_NOTE.into()),
        End::Failed(why) => Some(match bytes {
            Some(n) => format!("[cut short: {why}, after {n} bytes; what arrived is above]"),
            None => format!("[cut short: {why}; what arrived is above]"),
        }),
    }
}

fn page_lines(p: &Page) -> (Vec<String>, Vec<usize>) {
    match p {
        Page::Menu(items) => menu::render(items),
        Page::Text(lines) => (
            lines.iter().map(|l| menu::sanitize(l)).collect(),
            Vec::new(),
        ),
    }
}

const CUT_NOTE: &str = "[the rest was cut: more than 2 MiB]";

/// `--stats`' figures of one fetch.
#[derive(Clone, Copy, Debug)]
struct Stats {
    connect: Duration,
    bytes: u64,
}

/// `--print` and `--raw`.
fn one_shot(u: &Url, raw: bool, output: Option<&str>, timeout: &Timeouts, stats: bool) -> i32 {
    let t0 = std::time::Instant::now();
    let (code, figures) = one_shot_inner(u, raw, output, timeout);
    if let (true, 0, Some(f)) = (stats, code, figures) {
        eprintln!(
            "gopher: stats: connect {} us, total {} us, {} bytes",
            f.connect.as_micros(),
            t0.elapsed().as_micros(),
            f.bytes
        );
    }
    code
}

fn one_shot_inner(
    u: &Url,
    raw: bool,
    output: Option<&str>,
    timeout: &Timeouts,
) -> (i32, Option<Stats>) {
    let class = menu::class_of(u.kind);
    if class == Class::Session || class == Class::Html {
        eprintln!("gopher: {u}: type {} items are not fetched", u.kind);
        return (1, None);
    }
    if class == Class::Search && u.query.is_none() {
        eprintln!("gopher: {u}: a search needs a query (add %09 and the query to the URL)");
        return (2, None);
    }
    let as_stats = |d: Downloaded| Stats {
        connect: d.connect,
        bytes: d.bytes,
    };
    let result = if raw || class == Class::Binary || output.is_some() {
        match output {
            Some(path) => match std::fs::File::create(path) {
                Ok(mut f) => download(u, timeout, &mut f, &mut |_, _| true)
                    .map(|d| {
                        eprintln!("gopher: saved {} bytes to {path}", d.bytes);
                        as_stats(d)
                    })
                    .map_err(|e| e.describe(Some(path))),
                Err(e) => Err(format!("{path}: {}", describe(&e))),
            },
            None => {
                let mut out = std::io::stdout().lock();
                download(u, timeout, &mut out, &mut |_, _| true)
                    .map(as_stats)
                    .map_err(|e| e.describe(None))
            }
        }
    } else {
        page_for(u, timeout).and_then(|(page, end, dotless, stats)| {
            let (lines, _) = page_lines(&page);
            let mut out = std::io::stdout().lock();
            let mut written = Ok(());
            for l in lines {
                written = written.and_then(|()| writeln!(out, "{l}"));
            }
            if end == End::Cut {
                written = written.and_then(|()| writeln!(out, "{CUT_NOTE}"));
            }
            written
                .and_then(|()| out.flush())
                .map_err(|e| format!("write error: {}", describe(&e)))?;
            match end {
                // What arrived is printed; the failure is this fetch's.
                End::Failed(why) => Err(format!("{why} (what arrived is printed)")),
                _ => {
                    if dotless {
                        eprintln!(
                            "gopher: {u}: the menu ended without its closing \".\" line: it may be incomplete"
                        );
                    }
                    Ok(stats)
                }
            }
        })
    };
    match result {
        Ok(stats) => (0, Some(stats)),
        Err(e) => {
            eprintln!("gopher: {e}");
            (1, None)
        }
    }
}

/// The command line's forms.
const USAGE: &str = "gopher [--line] [--timeout SECS] [URL]\n       gopher --print [-o FILE] [--timeout SECS] [--stats] URL\n       gopher --raw [--timeout SECS] [--stats] URL";

fn usage() -> i32 {
    eprintln!("usage: {USAGE}");
    2
}

pub fn main() {
    let code = run(std::env::args().skip(1).collect());
    std::process::exit(code);
}

fn run(args: Vec<String>) -> i32 {
    let mut print = false;
    let mut line = false;
    let mut stats = false;
    let mut raw = false;
    let mut output = None;
    let mut timeout = Timeouts::DEFAULT;
    let mut target = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--print" | "-p" => print = true,
            "--raw" | "-r" => raw = true,
            "--line" | "-l" => line = true,
            "--stats" => stats = true,
            "-o" | "--output" => match it.next() {
                Some(f) => output = Some(f),
                None => return usage(),
            },
            "--timeout" | "-t" => match it.next().and_then(|s| s.parse::<u64>().ok()) {
                Some(s) if s > 0 => timeout = Timeouts::whole(Duration::from_secs(s)),
                _ => return usage(),
            },
            "-h" | "--help" => {
                println!(
                    "Usage: {USAGE}\nA Gopher client (RFC 1436): browse, or fetch one URL (--print, --raw).\n\
At a terminal it browses full screen: Up/Down select a link, Enter follows it, Left goes back,\n\
/ searches the page, g goes to a URL, a/B bookmarks, H history, ? all the keys, q quits.\n\
With --line (or when standard input is not a terminal), the line mode:\n{HELP}"
                );
                return 0;
            }
            s if s.starts_with('-') && s.len() > 1 => return usage(),
            _ if target.is_some() => return usage(),
            _ => target = Some(a),
        }
    }
    let start = match &target {
        Some(t) => match Url::parse(t) {
            Ok(u) => Some(u),
            Err(e) => {
                eprintln!("gopher: {e}");
                return 2;
            }
        },
        None => None,
    };
    if print || raw {
        return match start {
            Some(u) => one_shot(&u, raw, output.as_deref(), &timeout, stats),
            None => usage(),
        };
    }
    // At a terminal, full screen (unless `--line`); otherwise (a script, a pipe) the line mode.
    // Without a URL, both start at the bookmarks.
    if !line && std::term::stdin_terminal().is_some() {
        return screen::run(timeout, start);
    }
    Browser::new(timeout).run(start)
}

const HELP: &str = "\
Commands (then Enter):
  NUMBER        follow that link of the menu
  b / f         back / forward in the history
  g URL         go to a URL (gopher://host[:port]/Tselector)
  r             reload this page
  u             show this page's URL
  a             bookmark this page        B   show the bookmarks
  d NUMBER      delete bookmark NUMBER (in the bookmark list)
  s FILE        save this page's text to FILE
  l             list this page again
  ? / help      this help                 q   quit
A page taller than the screen is paged under its title: Space/b or arrows to scroll,
/RE to search (n, N), g/G top/end, q back to the prompt.";

/// What the interactive browser shows.
enum View {
    Page(Url, Page),
    Bookmarks,
}

struct Browser {
    timeout: Timeouts,
    back: Vec<Url>,
    forward: Vec<Url>,
    view: Option<View>,
    /// What the numbers on screen stand for.
    links: Vec<Item>,
    input: std::io::Stdin,
}

fn bookmarks_path() -> Option<String> {
    std::env::var("HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .map(|h| format!("{}/.gopher_bookmarks", h.trim_end_matches('/')))
}

/// The bookmark file, `$HOME/.gopher_bookmarks`: a line per bookmark, its URL, a TAB and its
/// title (plain text, to edit by hand as well). Lines that are not bookmarks are kept as they
/// are when the file is written again, and said; a file that is not text is never written over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bookmarks {
    pub entries: Vec<(Url, String)>,
    /// Lines that are not bookmarks, kept.
    pub bad: Vec<String>,
}

impl Bookmarks {
    /// Parses the file's text (bad lines go to `bad`; blank lines are dropped).
    pub fn parse(text: &str) -> Bookmarks {
        let mut b = Bookmarks::default();
        for l in text.lines() {
            if l.trim().is_empty() {
                continue;
            }
            let (u, t) = l.split_once('\t').unwrap_or((l, ""));
            match Url::parse(u) {
                Ok(u) => b.entries.push((u, t.to_string())),
                Err(_) => b.bad.push(l.to_string()),
            }
        }
        b
    }

    /// The file's bookmarks (none if there is no file or no `HOME`); `Err` with what to say
    /// when it cannot be read or is not text (it is then left alone).
    pub fn load() -> Result<Bookmarks, String> {
        let Some(p) = bookmarks_path() else {
            return Ok(Bookmarks::default());
        };
        match std::fs::read(&p) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => Ok(Bookmarks::parse(&t)),
                Err(_) => Err(format!(
                    "{p} is not text: the bookmarks are not read, and it is left as it is"
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Bookmarks::default()),
            Err(e) => Err(format!("{p}: {e}: the bookmarks cannot be read")),
        }
    }

    /// What to say about lines that are not bookmarks, if there are any.
    pub fn warning(&self) -> Option<String> {
        match self.bad.len() {
            0 => None,
            1 => Some("1 line of ~/.gopher_bookmarks is not a bookmark (it is kept)".into()),
            n => Some(format!(
                "{n} lines of ~/.gopher_bookmarks are not bookmarks (they are kept)"
            )),
        }
    }

    /// Writes the file: the bookmarks, then the lines that were not.
    pub fn save(&self) -> Result<(), String> {
        let p = bookmarks_path().ok_or("no HOME for the bookmarks")?;
        let mut text: String = self
            .entries
            .iter()
            .map(|(u, t)| format!("{u}\t{}\n", t.replace(['\t', '\n', '\r'], " ")))
            .collect();
        for l in &self.bad {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(&p, text).map_err(|e| format!("{p}: {e}"))
    }
}

impl Browser {
    fn new(timeout: Timeouts) -> Browser {
        Browser {
            timeout,
            back: Vec::new(),
            forward: Vec::new(),
            view: None,
            links: Vec::new(),
            input: std::io::stdin(),
        }
    }

    /// A line from the user; `None` at the end of the input.
    fn ask(&self, prompt: &str) -> Option<String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match self.input.lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }

    /// Shows a page: its title, then `lines`. At a terminal a page taller than the screen goes
    /// through the shared pager (`tools::pager`, as `less`): screen rows, not lines, so a long
    /// line never pushes the title away; Space/b, arrows, `/` search, `q` back to the prompt,
    /// with the last screen left in view. Otherwise (or if it fits) it is printed whole.
    /// `false` if the input ended.
    fn pager(&self, title: &str, lines: &[String]) -> bool {
        let header = format!("== {title} ==");
        let size = std::term::stdin_terminal().filter(|t| t.rows >= 4 && t.cols >= 8);
        if let Some(t) = size {
            let (height, cols) = (usize::from(t.rows), usize::from(t.cols));
            // Screen rows the page takes (each line at least one).
            let rows: usize = lines
                .iter()
                .map(|l| l.chars().count().div_ceil(cols).max(1))
                .sum();
            if rows + 2 > height {
                let mut text = lines.join("\n");
                text.push('\n');
                let look = tools::pager::Look {
                    name: "",
                    header: Some(&header),
                    alternate: false,
                };
                let mut out = std::io::stdout();
                return match tools::pager::show(&look, text.as_bytes(), &mut out, &|| false) {
                    Ok(()) => true,
                    Err(e) => {
                        println!("gopher: the pager failed: {e}");
                        true
                    }
                };
            }
        }
        println!("{header}");
        for l in lines {
            println!("{l}");
        }
        true
    }

    fn show(&mut self) -> bool {
        let (lines, links, title) = match &self.view {
            None => return true,
            Some(View::Page(u, p)) => {
                let (lines, map) = page_lines(p);
                let links = match p {
                    Page::Menu(items) => map.iter().map(|i| items[*i].clone()).collect(),
                    Page::Text(_) => Vec::new(),
                };
                (lines, links, u.to_string())
            }
            Some(View::Bookmarks) => {
                let b = match Bookmarks::load() {
                    Ok(b) => {
                        if let Some(w) = b.warning() {
                            println!("{w}");
                        }
                        b.entries
                    }
                    Err(e) => {
                        println!("{e}");
                        Vec::new()
                    }
                };
                let mut lines = Vec::new();
                let mut links = Vec::new();
                if b.is_empty() {
                    lines.push("(no bookmarks yet: `a` adds the page you are on)".to_string());
                }
                for (i, (u, t)) in b.iter().enumerate() {
                    let title = if t.is_empty() {
                        u.to_string()
                    } else {
                        t.clone()
                    };
                    lines.push(format!(
                        "{:>2}. [{}] {}  <{u}>",
                        i + 1,
                        menu::label(u.kind),
                        menu::sanitize(&title)
                    ));
                    links.push(Item {
                        kind: u.kind,
                        display: title,
                        selector: u.selector.clone(),
                        host: u.host.clone(),
                        port: u.port,
                        problem: None,
                        mirror: false,
                    });
                }
                (lines, links, "bookmarks".to_string())
            }
        };
        self.links = links;
        self.pager(&title, &lines)
    }

    /// Fetches and shows `u`, keeping history; errors are shown and the page stays.
    fn visit(&mut self, mut u: Url, record: bool) -> bool {
        match menu::class_of(u.kind) {
            Class::Info => {
                println!("(not a link)");
                return true;
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
                match it.web_url() {
                    Some(w) => {
                        println!("web link (open it in a web browser): {}", menu::sanitize(w))
                    }
                    None => println!("HTML item {u}: not opened (no web browser here)"),
                }
                return true;
            }
            Class::Session => {
                println!(
                    "{} session at {}:{}: not opened (no such client here)",
                    if u.kind == '2' { "CSO" } else { "telnet" },
                    menu::sanitize(&u.host),
                    u.port
                );
                return true;
            }
            Class::Binary => return self.save_binary(&u),
            Class::Search if u.query.is_none() => match self.ask("search for: ") {
                None => return false,
                Some(q) if q.trim().is_empty() => {
                    println!("(search cancelled)");
                    return true;
                }
                Some(q) => u.query = Some(q.into_bytes()),
            },
            _ => {}
        }
        println!("fetching {u} ...");
        match page_for(&u, &self.timeout) {
            Ok((page, end, dotless, _)) => {
                if record && let Some(View::Page(cur, _)) = &self.view {
                    self.back.push(cur.clone());
                    self.forward.clear();
                }
                self.view = Some(View::Page(u, page));
                let more = self.show();
                if let Some(note) = end_note(&end, dotless, None) {
                    println!("{note}");
                }
                more
            }
            Err(e) => {
                println!("error: {e}");
                true
            }
        }
    }

    fn save_binary(&mut self, u: &Url) -> bool {
        let suggested = String::from_utf8_lossy(&u.selector)
            .rsplit('/')
            .find(|s| !s.is_empty())
            .map(|s| s.replace(|c: char| c.is_control() || c == '\\', "_"))
            .unwrap_or_else(|| "download".to_string());
        let Some(name) = self.ask(&format!("save {u} to file [{suggested}]: ")) else {
            return false;
        };
        let name = if name.trim().is_empty() {
            suggested
        } else {
            name.trim().to_string()
        };
        if std::fs::metadata(&name).is_ok() {
            match self.ask(&format!("{name} exists: replace it? [y/N] ")) {
                None => return false,
                Some(a) if a.trim().eq_ignore_ascii_case("y") => {}
                Some(_) => {
                    println!("not saved");
                    return true;
                }
            }
        }
        // Progress on the line being written over: bytes so far and the rate (Gopher gives no
        // size, so no percentage).
        let mut shown = false;
        let mut progress = |n: u64, d: Duration| {
            let rate = n.saturating_mul(1000) / (d.as_millis() as u64).max(1);
            print!("\r{} so far, {}/s   ", human(n), human(rate));
            let _ = std::io::stdout().flush();
            shown = true;
            true
        };
        let result = match std::fs::File::create(&name) {
            Ok(mut f) => Some(download(u, &self.timeout, &mut f, &mut progress)),
            Err(e) => {
                println!("error: {name}: {e}");
                None
            }
        };
        if shown {
            println!();
        }
        match result {
            Some(Ok(d)) => println!("saved {} bytes to {name}", d.bytes),
            Some(Err(e @ DownloadError::Fetch(_))) => {
                println!(
                    "error: {} (what arrived is in {name}: it is partial)",
                    e.describe(Some(&name))
                )
            }
            Some(Err(e)) => println!(
                "error: {} (what fitted is in {name}: it is partial)",
                e.describe(Some(&name))
            ),
            None => {}
        }
        true
    }

    fn current_url(&self) -> Option<Url> {
        match &self.view {
            Some(View::Page(u, _)) => Some(u.clone()),
            _ => None,
        }
    }

    fn run(mut self, start: Option<Url>) -> i32 {
        println!("gopher: `?` for help, `g URL` to go somewhere, `q` to quit");
        let more = match start {
            Some(u) => self.visit(u, true),
            None => {
                self.view = Some(View::Bookmarks);
                self.show()
            }
        };
        if !more {
            return 0;
        }
        loop {
            let Some(line) = self.ask("gopher> ") else {
                println!();
                return 0;
            };
            let line = line.trim();
            let (cmd, arg) = match line.split_once(char::is_whitespace) {
                Some((c, a)) => (c, a.trim()),
                None => (line, ""),
            };
            let go_on = match cmd {
                "" => true,
                "q" | "quit" | "exit" => return 0,
                "?" | "h" | "help" => {
                    println!("{HELP}");
                    true
                }
                "b" | "back" => match self.back.pop() {
                    Some(u) => {
                        if let Some(cur) = self.current_url() {
                            self.forward.push(cur);
                        }
                        self.visit(u, false)
                    }
                    None => {
                        println!("(nothing to go back to)");
                        true
                    }
                },
                "f" | "forward" => match self.forward.pop() {
                    Some(u) => {
                        if let Some(cur) = self.current_url() {
                            self.back.push(cur);
                        }
                        self.visit(u, false)
                    }
                    None => {
                        println!("(nothing to go forward to)");
                        true
                    }
                },
                "g" | "go" => match Url::parse(arg) {
                    Ok(u) => self.visit(u, true),
                    Err(e) => {
                        println!("error: {e}");
                        true
                    }
                },
                "r" | "reload" => match self.current_url() {
                    Some(u) => self.visit(u, false),
                    None => true,
                },
                "l" | "list" => self.show(),
                "u" | "url" => {
                    match self.current_url() {
                        Some(u) => println!("{u}"),
                        None => println!("(bookmarks)"),
                    }
                    true
                }
                "a" | "add" => {
                    match self.current_url() {
                        Some(u) => match Bookmarks::load() {
                            Err(e) => println!("{e}"),
                            Ok(b) if b.entries.iter().any(|(x, _)| *x == u) => {
                                println!("already bookmarked: {u}")
                            }
                            Ok(mut b) => {
                                let title = if arg.is_empty() {
                                    u.to_string()
                                } else {
                                    arg.to_string()
                                };
                                b.entries.push((u.clone(), title));
                                match b.save() {
                                    Ok(()) => println!("bookmarked {u}"),
                                    Err(e) => println!("error: {e}"),
                                }
                            }
                        },
                        None => println!("(nothing to bookmark here)"),
                    }
                    true
                }
                "B" | "bookmarks" => {
                    if let Some(u) = self.current_url() {
                        self.back.push(u);
                        self.forward.clear();
                    }
                    self.view = Some(View::Bookmarks);
                    self.show()
                }
                "d" | "delete" => {
                    match Bookmarks::load() {
                        Err(e) => println!("{e}"),
                        Ok(mut b) => match arg.parse::<usize>() {
                            Ok(n) if n >= 1 && n <= b.entries.len() => {
                                let (u, _) = b.entries.remove(n - 1);
                                match b.save() {
                                    Ok(()) => println!("deleted bookmark {u}"),
                                    Err(e) => println!("error: {e}"),
                                }
                            }
                            _ => println!("no bookmark {arg:?} (B lists them)"),
                        },
                    }
                    true
                }
                "s" | "save" => {
                    match &self.view {
                        Some(View::Page(_, p)) if !arg.is_empty() => {
                            let (lines, _) = page_lines(p);
                            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                            match std::fs::write(arg, text) {
                                Ok(()) => println!("saved to {arg}"),
                                Err(e) => println!("error: {arg}: {e}"),
                            }
                        }
                        _ => println!("usage: s FILE (on a page)"),
                    }
                    true
                }
                n if n.parse::<usize>().is_ok() => {
                    let k = n.parse::<usize>().unwrap_or(0);
                    match k.checked_sub(1).and_then(|i| self.links.get(i)).cloned() {
                        Some(Item {
                            problem: Some(p), ..
                        }) => {
                            println!("link {k} cannot be followed: {p}");
                            true
                        }
                        Some(it) => self.visit(it.url(), true),
                        None => {
                            println!("no link {k} here");
                            true
                        }
                    }
                }
                other => {
                    println!("unknown command {other:?} (? for help)");
                    true
                }
            };
            if !go_on {
                println!();
                return 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_parse_and_skip_junk() {
        let b = Bookmarks::parse("gopher://h/1\tHome\nnot a url\t\n\ngopher://h:71/0/x\n");
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].1, "Home");
        assert_eq!(b.entries[1].0.port, 71);
        assert_eq!(b.bad, ["not a url\t"]);
        assert!(b.warning().is_some_and(|w| w.contains("1 line")));
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human(812), "812 B");
        assert_eq!(human(3 * 1024 + 410), "3.4 KiB");
        assert_eq!(human(12 * 1024 * 1024), "12.0 MiB");
    }

    #[test]
    fn usage_errors() {
        assert_eq!(run(vec!["--print".into()]), 2);
        assert_eq!(run(vec!["--bogus".into()]), 2);
        assert_eq!(run(vec!["--timeout".into(), "x".into(), "h".into()]), 2);
    }
}
