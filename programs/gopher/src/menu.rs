//! Gopher bodies (RFC 1436): menus, text, and the rules servers bend.
//!
//! A menu line is `T display TAB selector TAB host TAB port` ending in CR LF; the body may end
//! with a line holding a single `.` or simply with the close of the connection. What real
//! servers send besides, and what is accepted here: bare LF or bare CR line ends, info lines
//! without tabs (shown as text), missing selector/host/port fields (the selector is then empty,
//! host and port those of the menu itself), bytes that are not UTF-8 (shown lossily, while the
//! selector keeps its bytes), trailing gopher+ fields (ignored), `+` items (another server for
//! the item before: shown as a mirror of it). A port that is not a number from 1 to 65535 makes
//! the item one that is shown, with what is wrong, and never followed. Text bodies end at a `.` line if
//! there is one; lines starting with `..` lose one dot. Nothing here panics.

use crate::url::{DEFAULT_PORT, Url};

/// One line of a menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: char,
    pub display: String,
    /// The selector's bytes, sent as they are.
    pub selector: Vec<u8>,
    pub host: String,
    pub port: u16,
    /// Why the item cannot be followed (a bad port), shown beside it.
    pub problem: Option<String>,
    /// A `+` line: another server for the item before it.
    pub mirror: bool,
}

/// What kind of thing an item is, for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Text to page through (`0`).
    Text,
    /// A menu (`1`).
    Menu,
    /// A search: ask for a query, get a menu (`7`).
    Search,
    /// Not a link: info (`i`) and error (`3`) lines.
    Info,
    /// A web link (`h`, usually `URL:…`): shown, not opened.
    Html,
    /// Telnet, tn3270 and CSO phone-book items: listed, not opened.
    Session,
    /// Everything else (4, 5, 6, 9, g, I, s, d, unknown types): saved to a file.
    Binary,
}

impl Item {
    pub fn class(&self) -> Class {
        class_of(self.kind)
    }

    /// The item as a URL.
    pub fn url(&self) -> Url {
        Url::new(&self.host, self.port, self.kind, &self.selector)
    }

    /// For `h` items: the web address, when the selector is `URL:…`.
    pub fn web_url(&self) -> Option<&str> {
        let s = core::str::from_utf8(&self.selector).ok()?;
        s.strip_prefix("URL:").or_else(|| s.strip_prefix("/URL:"))
    }
}

/// The class of an item type.
pub fn class_of(kind: char) -> Class {
    match kind {
        '0' => Class::Text,
        '1' => Class::Menu,
        '7' => Class::Search,
        'i' | '3' => Class::Info,
        'h' => Class::Html,
        '8' | 'T' | '2' => Class::Session,
        _ => Class::Binary,
    }
}

/// A short label for an item type.
pub fn label(kind: char) -> String {
    match kind {
        '0' => "TXT".into(),
        '1' => "DIR".into(),
        '2' => "CSO".into(),
        '3' => "ERR".into(),
        '4' => "HQX".into(),
        '5' => "DOS".into(),
        '6' => "UUE".into(),
        '7' => "ASK".into(),
        '8' => "TEL".into(),
        '9' => "BIN".into(),
        '+' => "MIR".into(),
        'T' => "TN3".into(),
        'g' => "GIF".into(),
        'I' => "IMG".into(),
        'h' => "WWW".into(),
        's' => "SND".into(),
        'd' => "DOC".into(),
        'p' => "PNG".into(),
        ':' => "BMP".into(),
        ';' => "MOV".into(),
        '<' => "SND".into(),
        'i' => "".into(),
        c if c.is_control() => "?".into(),
        c => format!("?{c}"),
    }
}

/// Splits a body into lines at CR LF, LF or CR (each a single line end).
pub fn lines(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\n' => {
                out.push(&body[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(&body[start..i]);
                i += if body.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < body.len() {
        out.push(&body[start..]);
    }
    out
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses a menu fetched from `host:port` (the defaults for missing fields).
pub fn parse_menu(body: &[u8], host: &str, port: u16) -> Vec<Item> {
    let mut items = Vec::new();
    for line in lines(body) {
        if line == b"." {
            break;
        }
        if line.is_empty() {
            items.push(info(String::new(), host, port));
            continue;
        }
        if !line.contains(&b'\t') {
            // Not a menu line: show it as it is (minus a leading `i`, which is an info marker).
            let text = text_of(line);
            let shown = text.strip_prefix('i').unwrap_or(&text).to_string();
            items.push(info(shown, host, port));
            continue;
        }
        let mut fields = line.split(|b| *b == b'\t');
        let first = text_of(fields.next().unwrap_or_default());
        let mut cs = first.chars();
        let mut kind = cs.next().unwrap_or('i');
        let mut display = cs.as_str().to_string();
        let selector = fields.next().unwrap_or_default().to_vec();
        let h = text_of(fields.next().unwrap_or_default());
        let h = h.trim();
        let p = text_of(fields.next().unwrap_or_default());
        let p = p.trim();
        let item_host = if h.is_empty() { host } else { h };
        let (item_port, problem) = if p.is_empty() && h.is_empty() {
            (port, None)
        } else if p.is_empty() {
            (DEFAULT_PORT, None)
        } else {
            match p.parse::<u16>() {
                Ok(n) if n != 0 => (n, None),
                _ => (0, Some(format!("bad port {:?}", sanitize(p)))),
            }
        };
        // `+`: the same item on another server; it takes the type (and, if it has none, the
        // name) of the item it mirrors.
        let mirror = kind == '+';
        if mirror {
            match items
                .iter()
                .rev()
                .find(|i: &&Item| i.class() != Class::Info)
            {
                Some(prev) => {
                    kind = prev.kind;
                    if display.is_empty() {
                        display = prev.display.clone();
                    }
                }
                None => kind = 'i',
            }
        }
        items.push(Item {
            kind,
            display,
            selector,
            host: item_host.to_string(),
            port: item_port,
            problem,
            mirror,
        });
    }
    items
}

fn info(display: String, host: &str, port: u16) -> Item {
    Item {
        kind: 'i',
        display,
        selector: Vec::new(),
        host: host.to_string(),
        port,
        problem: None,
        mirror: false,
    }
}

/// A text body as lines, lossy UTF-8. A body whose last line is a lone `.` is dot-terminated
/// (RFC 1436): it ends there and lines starting with `..` lose a dot. Otherwise it ended with
/// the connection and is taken as it is (many servers send files unstuffed and unterminated, so
/// a `.` line elsewhere is just text).
pub fn parse_text(body: &[u8]) -> Vec<String> {
    let all = lines(body);
    let end = all
        .iter()
        .rposition(|l| !l.iter().all(|b| b.is_ascii_whitespace()));
    let dotted = end.is_some_and(|i| all[i] == b".");
    let mut out = Vec::new();
    for line in all {
        if dotted {
            if line == b"." {
                break;
            }
            let line = if line.starts_with(b"..") {
                &line[1..]
            } else {
                line
            };
            out.push(text_of(line));
        } else {
            out.push(text_of(line));
        }
    }
    out
}

/// Strips control characters (escape sequences from a server must not drive our terminal);
/// tabs become spaces.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

/// A menu as numbered lines: links get numbers from 1, with their type's label; info lines are
/// indented to line up. Returns the lines and the items the numbers stand for.
pub fn render(items: &[Item]) -> (Vec<String>, Vec<usize>) {
    let links = items.iter().filter(|i| i.class() != Class::Info).count();
    let width = links.to_string().len();
    let mut out = Vec::new();
    let mut map = Vec::new();
    if items.is_empty() {
        out.push("(an empty menu: the server listed nothing here)".to_string());
    }
    for (idx, it) in items.iter().enumerate() {
        let d = sanitize(&it.display);
        match it.class() {
            Class::Info if it.kind == '3' => {
                out.push(format!("{:w$}  [ERR] {d}", "", w = width));
            }
            Class::Info => out.push(format!("{:w$}        {d}", "", w = width)),
            c => {
                map.push(idx);
                let n = map.len();
                let extra = match c {
                    Class::Html => it
                        .web_url()
                        .map(|u| format!("  <{}>", sanitize(u)))
                        .unwrap_or_default(),
                    Class::Session => format!(
                        "  ({} {}:{}, not opened)",
                        if it.kind == '2' { "CSO" } else { "telnet" },
                        sanitize(&it.host),
                        it.port
                    ),
                    _ => String::new(),
                };
                let mirror = if it.mirror { " (mirror)" } else { "" };
                let problem = it
                    .problem
                    .as_ref()
                    .map(|p| format!("  ({p}: not opened)"))
                    .unwrap_or_default();
                out.push(format!(
                    "{n:>width$}. [{}] {d}{mirror}{extra}{problem}",
                    label(it.kind)
                ));
            }
        }
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MENU: &[u8] = b"iWelcome\tfake\t(NULL)\t0\r\n\
1Docs\t/docs\tgopher.example\t70\r\n\
0About\t/about.txt\tgopher.example\t7070\r\n\
7Search\t/find\tgopher.example\t70\r\n\
hWeb\tURL:http://example.org/\tgopher.example\t70\r\n\
8Chat\t\tbbs.example\t23\r\n\
3Oops\t\terror.host\t1\r\n\
.\r\n\
1After the end\t/x\th\t70\r\n";

    #[test]
    fn parses_a_proper_menu() {
        let items = parse_menu(MENU, "here", 70);
        assert_eq!(items.len(), 7);
        assert_eq!(items[0].kind, 'i');
        assert_eq!(items[0].display, "Welcome");
        assert_eq!(
            items[1],
            Item {
                kind: '1',
                display: "Docs".into(),
                selector: b"/docs".to_vec(),
                host: "gopher.example".into(),
                port: 70,
                problem: None,
                mirror: false,
            }
        );
        assert_eq!(items[2].port, 7070);
        assert_eq!(items[3].class(), Class::Search);
        assert_eq!(items[4].web_url(), Some("http://example.org/"));
        assert_eq!(items[5].class(), Class::Session);
        assert_eq!(items[6].class(), Class::Info);
    }

    #[test]
    fn bends_with_sloppy_servers() {
        let body = b"just text, no tabs\n0Missing fields\t/sel\n1Bad port\t/x\thost\tseventy\r\r\n\n9\t\t\t\n\xff\xfeodd\tsel\th\t71";
        let items = parse_menu(body, "home", 7000);
        assert_eq!(items[0].kind, 'i');
        assert_eq!(items[0].display, "just text, no tabs");
        assert_eq!((items[1].host.as_str(), items[1].port), ("home", 7000));
        assert_eq!(items[1].selector, b"/sel");
        // A port that is not a number is an item that is shown, never followed (issue 19: it
        // went to port 70).
        assert_eq!(items[2].problem.as_deref(), Some("bad port \"seventy\""));
        // The lone CR ends a line, the LF after it another (empty): shown as blank info.
        assert_eq!(items[3].kind, 'i');
        assert!(items.iter().any(|i| i.kind == '9' && i.host == "home"));
        let last = items.last().unwrap();
        assert_eq!(last.port, 71);
        assert!(last.display.contains('\u{fffd}') || last.kind == '\u{fffd}');
    }

    #[test]
    fn text_unstuffs_and_stops_at_the_dot() {
        let t = parse_text(b"one\r\n..two\r\n.\r\n");
        assert_eq!(t, vec!["one", ".two"]);
        // Not dot-terminated: taken as it is.
        let t = parse_text(b"one\r\n..two\r\n.\r\nthree\r\n");
        assert_eq!(t, vec!["one", "..two", ".", "three"]);
        let t = parse_text(b"no terminator\nlast line");
        assert_eq!(t, vec!["no terminator", "last line"]);
        assert_eq!(parse_text(b""), Vec::<String>::new());
    }

    #[test]
    fn renders_numbers_for_links_only() {
        let items = parse_menu(MENU, "here", 70);
        let (lines, map) = render(&items);
        assert_eq!(map, vec![1, 2, 3, 4, 5]);
        assert!(lines[1].starts_with("1. [DIR] Docs"), "{:?}", lines[1]);
        assert!(lines[4].contains("<http://example.org/>"));
        assert!(lines[5].contains("not opened"));
        assert!(lines[6].contains("[ERR] Oops"));
    }

    /// Issue 19: selectors keep their bytes; a port past 65535 is shown as wrong, not sent to
    /// port 70; `+` mirrors the item before; an empty menu says so.
    #[test]
    fn bytes_ports_mirrors_and_empty_menus() {
        let body = b"0Caf\xe9\t/caf\xe9.txt\th\t70\r\n\
1Far\t/far\th\t99999\r\n\
+\t/far\tmirror.h\t7070\r\n\
.\r\n";
        let items = parse_menu(body, "h", 70);
        assert_eq!(items[0].selector, b"/caf\xe9.txt");
        assert_eq!(items[0].url().request(), b"/caf\xe9.txt\r\n");
        assert_eq!(items[0].display, "Caf\u{fffd}");
        assert_eq!(items[1].problem.as_deref(), Some("bad port \"99999\""));
        assert_eq!(
            (items[2].kind, items[2].mirror, items[2].display.as_str()),
            ('1', true, "Far")
        );
        assert_eq!((items[2].host.as_str(), items[2].port), ("mirror.h", 7070));
        let (lines, _) = render(&items);
        assert!(
            lines[1].ends_with("(bad port \"99999\": not opened)"),
            "{lines:?}"
        );
        assert!(lines[2].contains("[DIR] Far (mirror)"), "{lines:?}");
        let (lines, map) = render(&parse_menu(b".\r\n", "h", 70));
        assert!(map.is_empty());
        assert_eq!(lines, ["(an empty menu: the server listed nothing here)"]);
    }

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(sanitize("a\x1b[2Jb\tc"), "a[2Jb c");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_parse_without_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let items = parse_menu(&body, "h", 70);
                let _ = render(&items);
                let _ = parse_text(&body);
                for it in &items {
                    prop_assert!(it.port != 0 || it.problem.is_some());
                }
            }

            #[test]
            fn well_formed_lines_round_trip(
                entries in proptest::collection::vec(
                    ("[0179ghI]", "[^\t\r\n]{0,30}", "[^\t\r\n]{0,30}", "[a-z][a-z0-9.]{0,20}", 1u16..),
                    0..50),
                crlf in any::<bool>(),
                dot in any::<bool>(),
            ) {
                let nl = if crlf { "\r\n" } else { "\n" };
                let mut body = String::new();
                for (k, d, s, h, p) in &entries {
                    body.push_str(&format!("{k}{d}\t{s}\t{h}\t{p}{nl}"));
                }
                if dot {
                    body.push_str(&format!(".{nl}"));
                }
                let items = parse_menu(body.as_bytes(), "x", 70);
                prop_assert_eq!(items.len(), entries.len());
                for (it, (k, d, s, h, p)) in items.iter().zip(&entries) {
                    prop_assert_eq!(it.kind.to_string(), k.clone());
                    prop_assert_eq!(&it.display, d);
                    prop_assert_eq!(&it.selector, s.as_bytes());
                    prop_assert_eq!(&it.host, h);
                    prop_assert_eq!(it.port, *p);
                }
            }

            #[test]
            fn text_unstuffing_inverts_stuffing(
                text in proptest::collection::vec("[^\r\n]{0,40}", 0..40)
            ) {
                let mut body = String::new();
                for l in &text {
                    if l.starts_with('.') {
                        body.push('.');
                    }
                    body.push_str(l);
                    body.push_str("\r\n");
                }
                body.push_str(".\r\n");
                prop_assert_eq!(parse_text(body.as_bytes()), text);
            }
        }
    }
}
