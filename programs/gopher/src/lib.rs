//! `gopher`: a Gopher client (RFC 1436) over eurali's TCP stack (std's `net`).
//!
//! ```text
//! gopher [--timeout SECS] [URL]                 browse (without a URL: from the bookmarks)
//! gopher --print [-o FILE] [--timeout SECS] URL fetch once: menus numbered, text as text,
//!                                               binaries to FILE (or standard output)
//! gopher --raw [--timeout SECS] URL             fetch once: the bytes as the server sent them
//! ```
//! With `--stats`, a one-shot fetch ends with a line on stderr giving the connect time, the
//! whole fetch's time and the byte count (what `cargo xtask bench net` reads).
//! URLs follow RFC 4266 (`gopher://host[:port]/Tselector`, `%09` before a search string).
//!
//! Browsing: a menu shows its links numbered with their type (`[DIR]`, `[TXT]`, `[ASK]`,
//! `[BIN]`, …); type a number to follow one. Text is paged. Search items (7) ask for a query.
//! Binary items (4, 5, 6, 9, g, I and unknown types) are saved to a file in the current
//! directory (the name is asked, the selector's last part offered). Web links (`h`, `URL:…`)
//! are shown; telnet, tn3270 and CSO items are listed but not opened. `b`/`f` go back and
//! forward, `a` adds a bookmark, `B` lists them (kept in `$HOME/.gopher_bookmarks`), `g URL`
//! goes anywhere, `?` shows all commands. A server that is slow or dead gives a timeout
//! message, and a bad answer is shown as well as it can be: the client never panics on input.
//!
//! Exit status in the one-shot modes: 0 fetched, 1 the fetch failed (the reason on stderr),
//! 2 bad usage.
#![forbid(unsafe_code)]

pub mod menu;
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
        }
    }
}

/// Timing of the last fetch, for `--stats`: (connect, whole fetch) in microseconds.
static CONNECT_US: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Connects to the item's server and sends the request.
fn open(u: &Url, timeout: Duration) -> Result<TcpStream, String> {
    let place = format!("{}:{}", u.host, u.port);
    let addrs: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(u.host.as_str(), u.port))
            .map_err(|e| format!("{}: {}", u.host, describe(&e)))?
            .collect();
    let addr = addrs
        .first()
        .ok_or_else(|| format!("{}: no address", u.host))?;
    let t0 = std::time::Instant::now();
    let mut s = TcpStream::connect_timeout(addr, timeout)
        .map_err(|e| format!("{place}: {}", describe(&e)))?;
    CONNECT_US.store(
        t0.elapsed().as_micros() as u64,
        core::sync::atomic::Ordering::Relaxed,
    );
    s.set_read_timeout(Some(timeout))
        .map_err(|e| format!("{place}: {e}"))?;
    s.write_all(&u.request())
        .map_err(|e| format!("{place}: {}", describe(&e)))?;
    Ok(s)
}

/// Fetches `u`'s body into memory (at most [`MAX_BODY`] bytes); the bytes and whether they
/// were cut.
pub fn fetch(u: &Url, timeout: Duration) -> Result<(Vec<u8>, bool), String> {
    let mut s = open(u, timeout)?;
    let mut body = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok((body, false)),
            Ok(n) => {
                let room = MAX_BODY - body.len();
                body.extend_from_slice(&buf[..n.min(room)]);
                if n >= room {
                    return Ok((body, true));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(format!("{}:{}: {}", u.host, u.port, describe(&e)));
            }
        }
    }
}

/// Streams `u`'s body into `out`; the number of bytes, once all of them are written (and
/// `out` flushed). Writes go out in pieces of up to [`WRITE_BATCH`] bytes (one request each to
/// a file server, rather than one per read); the first that fails ends the download.
pub fn download(u: &Url, timeout: Duration, out: &mut dyn Write) -> Result<u64, DownloadError> {
    let mut s = open(u, timeout).map_err(DownloadError::Fetch)?;
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
        if WRITE_BATCH - filled < READ_ROOM {
            flush(&pending[..filled], out)?;
            filled = 0;
        }
        match s.read(&mut pending[filled..]) {
            Ok(0) => {
                flush(&pending[..filled], out)?;
                return Ok(total);
            }
            Ok(n) => {
                filled += n;
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
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

/// Room kept for the next read of [`download`] (a read brings at most this much at once).
const READ_ROOM: usize = 64 * 1024;

/// Largest piece [`download`] writes at once.
pub const WRITE_BATCH: usize = 256 * 1024;

/// A fetched page.
enum Page {
    Menu(Vec<Item>),
    Text(Vec<String>),
}

fn page_for(u: &Url, timeout: Duration) -> Result<(Page, bool), String> {
    let (body, cut) = fetch(u, timeout)?;
    let page = match menu::class_of(u.kind) {
        Class::Menu | Class::Search => Page::Menu(menu::parse_menu(&body, &u.host, u.port)),
        _ => Page::Text(menu::parse_text(&body)),
    };
    Ok((page, cut))
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

/// `--print` and `--raw`.
fn one_shot(u: &Url, raw: bool, output: Option<&str>, timeout: Duration, stats: bool) -> i32 {
    let t0 = std::time::Instant::now();
    let code = one_shot_inner(u, raw, output, timeout);
    if stats && code == 0 {
        let total = t0.elapsed().as_micros() as u64;
        eprintln!(
            "gopher: stats: connect {} us, total {} us, {} bytes",
            CONNECT_US.load(core::sync::atomic::Ordering::Relaxed),
            total,
            BYTES.load(core::sync::atomic::Ordering::Relaxed)
        );
    }
    code
}

/// Bytes of the last one-shot fetch, for `--stats`.
static BYTES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn one_shot_inner(u: &Url, raw: bool, output: Option<&str>, timeout: Duration) -> i32 {
    let class = menu::class_of(u.kind);
    if class == Class::Session || class == Class::Html {
        eprintln!("gopher: {u}: type {} items are not fetched", u.kind);
        return 1;
    }
    if class == Class::Search && u.query.is_none() {
        eprintln!("gopher: {u}: a search needs a query (add %09 and the query to the URL)");
        return 2;
    }
    let result = if raw || class == Class::Binary || output.is_some() {
        match output {
            Some(path) => match std::fs::File::create(path) {
                Ok(mut f) => download(u, timeout, &mut f)
                    .map(|n| {
                        BYTES.store(n, core::sync::atomic::Ordering::Relaxed);
                        eprintln!("gopher: saved {n} bytes to {path}");
                    })
                    .map_err(|e| e.describe(Some(path))),
                Err(e) => Err(format!("{path}: {}", describe(&e))),
            },
            None => {
                let mut out = std::io::stdout().lock();
                download(u, timeout, &mut out)
                    .map(|n| BYTES.store(n, core::sync::atomic::Ordering::Relaxed))
                    .map_err(|e| e.describe(None))
            }
        }
    } else {
        page_for(u, timeout).and_then(|(page, cut)| {
            let (lines, _) = page_lines(&page);
            let mut out = std::io::stdout().lock();
            let mut written = Ok(());
            for l in lines {
                written = written.and_then(|()| writeln!(out, "{l}"));
            }
            if cut {
                written = written.and_then(|()| writeln!(out, "{CUT_NOTE}"));
            }
            written
                .and_then(|()| out.flush())
                .map_err(|e| format!("write error: {}", describe(&e)))
        })
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("gopher: {e}");
            1
        }
    }
}

/// The command line's forms.
const USAGE: &str = "gopher [--timeout SECS] [URL]\n       gopher --print [-o FILE] [--timeout SECS] [--stats] URL\n       gopher --raw [--timeout SECS] [--stats] URL";

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
    let mut stats = false;
    let mut raw = false;
    let mut output = None;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut target = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--print" | "-p" => print = true,
            "--raw" | "-r" => raw = true,
            "--stats" => stats = true,
            "-o" | "--output" => match it.next() {
                Some(f) => output = Some(f),
                None => return usage(),
            },
            "--timeout" | "-t" => match it.next().and_then(|s| s.parse::<u64>().ok()) {
                Some(s) if s > 0 => timeout = Duration::from_secs(s),
                _ => return usage(),
            },
            "-h" | "--help" => {
                println!(
                    "Usage: {USAGE}\nA Gopher client (RFC 1436): browse, or fetch one URL (--print, --raw).\n{HELP}"
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
            Ok(u) => u,
            Err(e) => {
                eprintln!("gopher: {e}");
                return 2;
            }
        },
        None if print || raw => return usage(),
        None => {
            // No URL: start at the bookmarks.
            return Browser::new(timeout).run(None);
        }
    };
    if print || raw {
        return one_shot(&start, raw, output.as_deref(), timeout, stats);
    }
    Browser::new(timeout).run(Some(start))
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
While a page is shown: Enter for the next screenful, q to stop.";

/// What the interactive browser shows.
enum View {
    Page(Url, Page),
    Bookmarks,
}

struct Browser {
    timeout: Duration,
    back: Vec<Url>,
    forward: Vec<Url>,
    view: Option<View>,
    /// What the numbers on screen stand for.
    links: Vec<Item>,
    rows: usize,
    input: std::io::Stdin,
}

fn bookmarks_path() -> Option<String> {
    std::env::var("HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .map(|h| format!("{}/.gopher_bookmarks", h.trim_end_matches('/')))
}

/// `(url, title)` pairs of the bookmark file (bad lines skipped).
pub fn parse_bookmarks(text: &str) -> Vec<(Url, String)> {
    text.lines()
        .filter_map(|l| {
            let (u, t) = l.split_once('\t').unwrap_or((l, ""));
            Url::parse(u).ok().map(|u| (u, t.to_string()))
        })
        .collect()
}

fn load_bookmarks() -> Vec<(Url, String)> {
    bookmarks_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| parse_bookmarks(&t))
        .unwrap_or_default()
}

fn save_bookmarks(b: &[(Url, String)]) -> Result<(), String> {
    let p = bookmarks_path().ok_or("no HOME for the bookmarks")?;
    let text: String = b
        .iter()
        .map(|(u, t)| format!("{u}\t{}\n", t.replace(['\t', '\n', '\r'], " ")))
        .collect();
    std::fs::write(&p, text).map_err(|e| format!("{p}: {e}"))
}

impl Browser {
    fn new(timeout: Duration) -> Browser {
        let rows = std::term::stdin_terminal()
            .map(|t| t.rows as usize)
            .filter(|r| *r >= 4)
            .unwrap_or(24);
        Browser {
            timeout,
            back: Vec::new(),
            forward: Vec::new(),
            view: None,
            links: Vec::new(),
            rows,
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

    /// Shows `lines` a screenful at a time; `false` if the input ended.
    fn pager(&self, lines: &[String]) -> bool {
        let per = self.rows.saturating_sub(2).max(1);
        let mut at = 0;
        while at < lines.len() {
            let end = (at + per).min(lines.len());
            for l in &lines[at..end] {
                println!("{l}");
            }
            at = end;
            if at < lines.len() {
                match self.ask(&format!(
                    "-- {}/{} lines; Enter: more, q: stop -- ",
                    at,
                    lines.len()
                )) {
                    None => return false,
                    Some(a) if a.trim() == "q" => break,
                    Some(_) => {}
                }
            }
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
                let b = load_bookmarks();
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
                    });
                }
                (lines, links, "bookmarks".to_string())
            }
        };
        self.links = links;
        println!("== {title} ==");
        self.pager(&lines)
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
                Some(q) => u.query = Some(q),
            },
            _ => {}
        }
        println!("fetching {u} ...");
        match page_for(&u, self.timeout) {
            Ok((page, cut)) => {
                if record && let Some(View::Page(cur, _)) = &self.view {
                    self.back.push(cur.clone());
                    self.forward.clear();
                }
                self.view = Some(View::Page(u, page));
                let more = self.show();
                if cut {
                    println!("{CUT_NOTE}");
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
        let suggested = u
            .selector
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
        match std::fs::File::create(&name) {
            Ok(mut f) => match download(u, self.timeout, &mut f) {
                Ok(n) => println!("saved {n} bytes to {name}"),
                Err(e @ DownloadError::Fetch(_)) => {
                    println!(
                        "error: {} (what arrived is in {name})",
                        e.describe(Some(&name))
                    )
                }
                Err(e) => println!(
                    "error: {} (what fitted is in {name})",
                    e.describe(Some(&name))
                ),
            },
            Err(e) => println!("error: {name}: {e}"),
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
                        Some(u) => {
                            let mut b = load_bookmarks();
                            if b.iter().any(|(x, _)| *x == u) {
                                println!("already bookmarked: {u}");
                            } else {
                                let title = if arg.is_empty() {
                                    u.to_string()
                                } else {
                                    arg.to_string()
                                };
                                b.push((u.clone(), title));
                                match save_bookmarks(&b) {
                                    Ok(()) => println!("bookmarked {u}"),
                                    Err(e) => println!("error: {e}"),
                                }
                            }
                        }
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
                    let mut b = load_bookmarks();
                    match arg.parse::<usize>() {
                        Ok(n) if n >= 1 && n <= b.len() => {
                            let (u, _) = b.remove(n - 1);
                            match save_bookmarks(&b) {
                                Ok(()) => println!("deleted bookmark {u}"),
                                Err(e) => println!("error: {e}"),
                            }
                        }
                        _ => println!("no bookmark {arg:?} (B lists them)"),
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
        let b = parse_bookmarks("gopher://h/1\tHome\nnot a url\t\ngopher://h:71/0/x\n");
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].1, "Home");
        assert_eq!(b[1].0.port, 71);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(run(vec!["--print".into()]), 2);
        assert_eq!(run(vec!["--bogus".into()]), 2);
        assert_eq!(run(vec!["--timeout".into(), "x".into(), "h".into()]), 2);
    }
}
