//! `gopherd`: a Gopher server (RFC 1436) on eurali's own TCP/IP, serving one directory tree,
//! by default the user's `~/public_gopher`.
//!
//! ```text
//! gopherd [--port PORT] [DIR]
//! ```
//!
//! A selector names a path under DIR (`/docs/a.txt`; `..`, NUL bytes and other escapes are
//! refused). A directory is served as its `gophermap` if it has one (lines with a TAB are items,
//! their missing host and port filled in with ours and relative selectors made absolute; lines
//! without one are info lines), else as a listing of its entries, each typed by what it is (a
//! directory `1`, text `0` by its name or by its bytes, GIF `g`, other images `I`, HTML `h`,
//! anything else `9`). A file is sent as it is, 64 KiB at a time. Each connection has its own thread; a client
//! gets 10 s to send its selector. Errors are type-3 items.
//!
//! Search items (type 7): a program (a `#!` script, a shell script or a program) in the tree that
//! the gophermap of its own directory names as a type-7 item is run for each request of its
//! selector, never sent: the query (what follows the request's TAB) is its one argument (`$1`) and
//! is in `QUERY_STRING` and `SEARCHREQUEST` too, as gophernicus gives it; it goes to the program as
//! it is (no shell reads it, so it cannot inject anything). Its standard output is read as a
//! gophermap (lines with a TAB are items, others info lines) and served as the menu. It gets
//! [`SEARCH_TIME`] and [`SEARCH_OUTPUT`] bytes of output; past either it is ended and the menu
//! says so, as it says a failure (a non-zero status).

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// How long a client may take to send its selector.
const REQUEST_WAIT: Duration = Duration::from_secs(10);
/// The longest selector line taken.
const MAX_REQUEST: usize = 1024;

const USAGE: &str = "usage: gopherd [--port PORT] [DIR]";

const HELP: &str = "Usage: gopherd [--port PORT] [DIR]\n\
Serve DIR (default ~/public_gopher) over Gopher on PORT (default 70).\n\
A directory's gophermap file, if any, is its menu; otherwise its entries are listed.\n\
A file its directory's gophermap names as a type 7 item is run for a search: the query is its\n\
one argument; its output (a gophermap) is the menu; 10 s and 64 KiB at most.\n\
  --port PORT  the TCP port to listen on\n\
  --help       show this help and exit\n";

pub fn main() {
    std::process::exit(run(std::env::args().skip(1).collect()));
}

/// The whole program; its exit status.
pub fn run(args: Vec<String>) -> i32 {
    let mut port: u16 = 70;
    let mut dir: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--help" => {
                print!("{HELP}");
                return 0;
            }
            "--port" | "-p" => match it.next().and_then(|p| p.parse::<u16>().ok()) {
                Some(p) if p > 0 => port = p,
                _ => {
                    eprintln!("gopherd: --port wants a port from 1 to 65535\n{USAGE}");
                    return 2;
                }
            },
            o if o.starts_with('-') && o.len() > 1 => {
                eprintln!("gopherd: unknown option '{o}'\n{USAGE}");
                return 2;
            }
            _ if dir.is_some() => {
                eprintln!("gopherd: one directory only\n{USAGE}");
                return 2;
            }
            _ => dir = Some(a),
        }
    }
    let root = match dir {
        Some(d) => d,
        None => match std::env::var("HOME") {
            Ok(h) if !h.is_empty() => format!("{}/public_gopher", h.trim_end_matches('/')),
            _ => {
                eprintln!("gopherd: no HOME: name the directory to serve\n{USAGE}");
                return 2;
            }
        },
    };
    let root = root.trim_end_matches('/').to_string();
    // Absolute, so that a search program runs in its own directory by a path that still holds.
    let root = std::fs::canonicalize(&root)
        .ok()
        .and_then(|p| p.to_str().map(String::from))
        .unwrap_or(root);
    match std::fs::metadata(&root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            eprintln!("gopherd: {root}: not a directory");
            return 1;
        }
        Err(e) => {
            eprintln!("gopherd: {root}: {e}");
            return 1;
        }
    }
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gopherd: port {port}: {e}");
            return 1;
        }
    };
    eprintln!("gopherd: serving {root} on port {port}");
    loop {
        let (s, _) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("gopherd: accept: {e}");
                return 1;
            }
        };
        let root = root.clone();
        // A thread per client; if none can be had, this one serves it.
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(s)));
        let theirs = slot.clone();
        let started = std::thread::Builder::new().spawn({
            let root = root.clone();
            move || {
                let taken = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(s) = taken {
                    serve(s, &root);
                }
            }
        });
        if started.is_err() {
            let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(s) = taken {
                serve(s, &root);
            }
        }
    }
}

/// Reads the selector line (up to CR LF or LF); `None` if the client sent none in time.
fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let started = std::time::Instant::now();
    let mut req = Vec::new();
    let mut b = [0u8; 256];
    loop {
        if let Some(i) = req.iter().position(|&c| c == b'\n') {
            req.truncate(i);
            if req.last() == Some(&b'\r') {
                req.pop();
            }
            return Some(req);
        }
        if req.len() > MAX_REQUEST {
            return None;
        }
        let left = REQUEST_WAIT.checked_sub(started.elapsed())?;
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match s.read(&mut b) {
            // A client that ends its request without a line end: what it sent is the selector.
            Ok(0) => return (!req.is_empty()).then_some(req),
            Ok(n) => req.extend_from_slice(&b[..n]),
            Err(_) => return None,
        }
    }
}

/// Serves one connection.
fn serve(mut s: TcpStream, root: &str) {
    let Some(req) = read_request(&mut s) else {
        return;
    };
    // `selector TAB query [TAB gopher+ data]`.
    let mut fields = req.split(|&c| c == b'\t');
    let selector = fields.next().unwrap_or_default();
    let query = fields.next().unwrap_or_default();
    let (host, port) = match s.local_addr() {
        Ok(a) => (a.ip().to_string(), a.port()),
        Err(_) => ("0.0.0.0".to_string(), 70),
    };
    match answer(root, selector, &host, port) {
        Answer::Menu(reply) => {
            let _ = s.write_all(&reply);
        }
        Answer::File(path) => send_file(&mut s, &path),
        Answer::Search { program, dir_sel } => {
            let reply = search(&program, query, &dir_sel, &host, port, &Limits::DEFAULT);
            let _ = s.write_all(&reply);
        }
    }
    let _ = s.flush();
}

/// How long a search program may run.
pub const SEARCH_TIME: Duration = Duration::from_secs(10);
/// How much of a search program's output is served.
pub const SEARCH_OUTPUT: usize = 64 * 1024;

/// A search program's bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub time: Duration,
    pub output: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        time: SEARCH_TIME,
        output: SEARCH_OUTPUT,
    };
}

/// Runs the search program `program` (a path) for `query`, in its directory: the menu to serve.
/// The query is its one argument and in its environment, never read by a shell; its output is a
/// gophermap; it is ended past `limits`, and the menu says so.
pub fn search(
    program: &str,
    query: &[u8],
    dir_sel: &str,
    host: &str,
    port: u16,
    limits: &Limits,
) -> Vec<u8> {
    use std::process::{Command, Stdio};
    let Ok(q) = core::str::from_utf8(query) else {
        return error_menu("the query is not UTF-8 text");
    };
    if q.contains('\0') {
        return error_menu("a NUL byte in the query");
    }
    let dir = program.rsplit_once('/').map_or(".", |(d, _)| d);
    let mut cmd = Command::new(program);
    cmd.arg(q)
        .env("QUERY_STRING", q)
        .env("SEARCHREQUEST", q)
        .current_dir(if dir.is_empty() { "/" } else { dir })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gopherd: {program}: {e}");
            return error_menu("the search could not be started");
        }
    };
    let Some(mut out) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return error_menu("the search could not be started");
    };
    // The output is read on a thread of its own, so that this one can end a program that runs
    // too long (a read has no timeout).
    let cap = limits.output;
    let reader = std::thread::Builder::new().spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() <= cap {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    });
    let Ok(reader) = reader else {
        let _ = child.kill();
        let _ = child.wait();
        return error_menu("the server is busy: try again");
    };
    let started = std::time::Instant::now();
    let mut timed_out = false;
    while !reader.is_finished() {
        if started.elapsed() >= limits.time {
            timed_out = true;
            // Ends the program and cuts its output pipe: the reader sees the end.
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut got = reader.join().unwrap_or_default();
    let cut = got.len() > cap;
    if cut {
        got.truncate(cap);
        // Cut at the last whole line.
        if let Some(i) = got.iter().rposition(|&b| b == b'\n') {
            got.truncate(i + 1);
        }
    }
    if cut && !timed_out {
        let _ = child.kill();
    }
    // Its status, within the rest of its time (a program may close its output and run on).
    let status = loop {
        if timed_out || cut {
            break child.wait().ok();
        }
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if started.elapsed() >= limits.time {
            timed_out = true;
            let _ = child.kill();
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let mut reply = gophermap_items(&got, dir_sel, host, port);
    let mut note = |why: &str| {
        reply
            .extend_from_slice(format!("3{}\t\terror.host\t1\r\n", show(why.as_bytes())).as_bytes())
    };
    if timed_out {
        note(&format!(
            "the search took too long: ended after {} s",
            limits.time.as_secs()
        ));
    } else if cut {
        note(&format!("the search's output was cut at {} bytes", cap));
    } else if let Some(st) = status.filter(|s| !s.success()) {
        match st.code() {
            Some(c) => note(&format!("the search failed (exit status {c})")),
            None => note("the search failed"),
        }
    }
    reply.extend_from_slice(b".\r\n");
    reply
}

/// A file's bytes to the client, a piece at a time (a file may be larger than the heap).
fn send_file(s: &mut TcpStream, path: &str) {
    let Ok(mut f) = std::fs::File::open(path) else {
        let _ = s.write_all(&error_menu("cannot open the file"));
        return;
    };
    let mut buf = vec![0u8; FILE_PIECE];
    loop {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// How much of a file is read and sent at once.
const FILE_PIECE: usize = 64 * 1024;

/// What a selector gets: a menu (or error) built here, or a file to send as it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Menu(Vec<u8>),
    File(String),
    /// A search item's program (its path), to run with the query; its directory's selector.
    Search {
        program: String,
        dir_sel: String,
    },
}

/// The reply to `selector` (bytes) for a server at `host:port` serving `root`.
pub fn answer(root: &str, selector: &[u8], host: &str, port: u16) -> Answer {
    let Some(rel) = safe_path(selector) else {
        return Answer::Menu(error_menu("bad selector"));
    };
    let path = if rel.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{rel}")
    };
    let sel = if rel.is_empty() {
        String::new()
    } else {
        format!("/{rel}")
    };
    Answer::Menu(match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => match std::fs::read(format!("{path}/gophermap")) {
            Ok(map) => gophermap(&map, &sel, host, port),
            Err(_) => listing(&path, &sel, host, port),
        },
        Ok(_) => {
            let (dir_rel, _) = rel.rsplit_once('/').unwrap_or(("", &rel));
            let dir_path = if dir_rel.is_empty() {
                root.to_string()
            } else {
                format!("{root}/{dir_rel}")
            };
            let dir_sel = if dir_rel.is_empty() {
                String::new()
            } else {
                format!("/{dir_rel}")
            };
            let declared = std::fs::read(format!("{dir_path}/gophermap"))
                .is_ok_and(|map| search_items(&map, &dir_sel).contains(&sel));
            if declared {
                return Answer::Search {
                    program: path,
                    dir_sel,
                };
            }
            return Answer::File(path);
        }
        Err(_) => error_menu(&format!("{}: not found", show(selector))),
    })
}

/// The selectors (absolute, as [`safe_path`] makes them, with a leading `/`) of the type-7
/// items of this server in a gophermap of the directory `dir_sel`: the search programs it names.
pub fn search_items(map: &[u8], dir_sel: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in String::from_utf8_lossy(map).lines() {
        let line = raw.trim_end_matches('\r');
        if line == "." {
            break;
        }
        let mut f = line.split('\t');
        let (Some(display), Some(sel)) = (f.next(), f.next()) else {
            continue;
        };
        // Another server's item is not ours to run.
        if !display.starts_with('7') || f.next().is_some_and(|h| !h.is_empty()) {
            continue;
        }
        let abs = if sel.starts_with('/') {
            sel.to_string()
        } else {
            format!("{dir_sel}/{sel}")
        };
        if let Some(p) = safe_path(abs.as_bytes()).filter(|p| !p.is_empty()) {
            out.push(format!("/{p}"));
        }
    }
    out
}

/// A selector as a path under the root: its components joined by `/`, empty for the root;
/// `None` for `..`, NUL, a backslash or what is not UTF-8 (names here are UTF-8).
pub fn safe_path(selector: &[u8]) -> Option<String> {
    let s = core::str::from_utf8(selector).ok()?;
    if s.contains(['\0', '\\']) {
        return None;
    }
    let mut parts = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// `s` for a message: control characters and TABs as `?`.
fn show(s: &[u8]) -> String {
    String::from_utf8_lossy(s)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A menu of one error item.
fn error_menu(why: &str) -> Vec<u8> {
    format!("3{}\t\terror.host\t1\r\n.\r\n", show(why.as_bytes())).into_bytes()
}

/// An info line.
fn info(text: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"i");
    out.extend_from_slice(show(text.as_bytes()).as_bytes());
    out.extend_from_slice(b"\tfake\t(NULL)\t0\r\n");
}

/// A gophermap as a menu: items get our host and port where they have none, relative
/// selectors are taken from `dir_sel`; lines without a TAB are info lines.
pub fn gophermap(map: &[u8], dir_sel: &str, host: &str, port: u16) -> Vec<u8> {
    let mut out = gophermap_items(map, dir_sel, host, port);
    out.extend_from_slice(b".\r\n");
    out
}

/// [`gophermap`] without the closing `.` line.
fn gophermap_items(map: &[u8], dir_sel: &str, host: &str, port: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for raw in String::from_utf8_lossy(map).lines() {
        let line = raw.trim_end_matches('\r');
        if line == "." {
            break;
        }
        if !line.contains('\t') {
            info(line, &mut out);
            continue;
        }
        let mut f = line.splitn(4, '\t');
        let display = f.next().unwrap_or("");
        let mut selector = f.next().unwrap_or("").to_string();
        let item_host = f.next().filter(|h| !h.is_empty()).unwrap_or(host);
        let item_port = f
            .next()
            .map(|p| p.split('\t').next().unwrap_or("").trim().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| port.to_string());
        let external = selector.starts_with("URL:") || item_host != host;
        if !external && !selector.starts_with('/') {
            selector = format!("{dir_sel}/{selector}");
        }
        out.extend_from_slice(
            format!("{display}\t{selector}\t{item_host}\t{item_port}\r\n").as_bytes(),
        );
    }
    out
}

/// The item type of a file called `name` whose first bytes are `head`.
pub fn type_of(name: &str, head: &[u8]) -> char {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt" | "md" | "text" | "csv" | "rs" | "c" | "h" | "sh" | "conf") => '0',
        Some("gif") => 'g',
        Some("png" | "jpg" | "jpeg" | "bmp" | "webp") => 'I',
        Some("html" | "htm") => 'h',
        _ if !head.is_empty()
            && core::str::from_utf8(head).is_ok_and(|t| {
                t.chars()
                    .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            }) =>
        {
            '0'
        }
        _ => '9',
    }
}

/// A directory without a gophermap: its entries, sorted, each typed.
fn listing(path: &str, dir_sel: &str, host: &str, port: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut names: Vec<(String, bool)> = match std::fs::read_dir(path) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let dir = e.metadata().map(|m| m.is_dir()).unwrap_or(false);
                Some((name, dir))
            })
            .filter(|(n, _)| !n.starts_with('.') && n != "gophermap")
            .collect(),
        Err(e) => return error_menu(&format!("{dir_sel}: {e}")),
    };
    names.sort();
    if names.is_empty() {
        info("(nothing here yet)", &mut out);
    }
    for (name, dir) in names {
        let kind = if dir {
            '1'
        } else {
            let mut head = [0u8; 512];
            let n = std::fs::File::open(format!("{path}/{name}"))
                .and_then(|mut f| f.read(&mut head))
                .unwrap_or(0);
            type_of(&name, &head[..n])
        };
        out.extend_from_slice(
            format!(
                "{kind}{}\t{dir_sel}/{name}\t{host}\t{port}\r\n",
                show(name.as_bytes())
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_stay_under_the_root() {
        assert_eq!(safe_path(b"").as_deref(), Some(""));
        assert_eq!(safe_path(b"/").as_deref(), Some(""));
        assert_eq!(safe_path(b"/docs//a.txt").as_deref(), Some("docs/a.txt"));
        assert_eq!(safe_path(b"docs/./b").as_deref(), Some("docs/b"));
        assert_eq!(safe_path(b"/../etc/passwd"), None);
        assert_eq!(safe_path(b"/a/../../x"), None);
        assert_eq!(safe_path(b"/a\0b"), None);
        assert_eq!(safe_path(b"/caf\xe9"), None);
    }

    #[test]
    fn gophermaps_get_our_host_and_absolute_selectors() {
        let map = b"Welcome\n0About\tabout.txt\n1Docs\t/docs\n1Far\t/x\tfar.example\t7070\nhWeb\tURL:http://e.org/\n.\nignored\n";
        let out = String::from_utf8(gophermap(map, "/sub", "10.0.0.2", 7000)).unwrap();
        assert_eq!(
            out,
            "iWelcome\tfake\t(NULL)\t0\r\n\
             0About\t/sub/about.txt\t10.0.0.2\t7000\r\n\
             1Docs\t/docs\t10.0.0.2\t7000\r\n\
             1Far\t/x\tfar.example\t7070\r\n\
             hWeb\tURL:http://e.org/\t10.0.0.2\t7000\r\n\
             .\r\n"
        );
    }

    /// Search items: only a type-7 item of this server that its own directory's gophermap
    /// names is a program to run.
    #[test]
    fn search_items_are_what_the_gophermap_names() {
        let map = b"Find things\n7Search\tfind.sh\n7Abs\t/sub/abs\n0Text\tfind.txt\n7Far\t/x\tfar.example\t70\n7Up\t../../etc/x\n.\n7After\tlate\n";
        assert_eq!(search_items(map, "/sub"), ["/sub/find.sh", "/sub/abs"]);
        assert_eq!(search_items(b"7S\ts\n", ""), ["/s"]);
    }

    #[test]
    fn types_by_name_and_bytes() {
        assert_eq!(type_of("a.txt", b"\x00\x01"), '0');
        assert_eq!(type_of("README", b"plain words\n"), '0');
        assert_eq!(type_of("blob", b"\x00\x01\x02"), '9');
        assert_eq!(type_of("p.GIF", b""), 'g');
        assert_eq!(type_of("p.png", b""), 'I');
        assert_eq!(type_of("i.html", b""), 'h');
        assert_eq!(type_of("empty", b""), '9');
    }
}
