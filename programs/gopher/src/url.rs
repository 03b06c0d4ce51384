//! Gopher URLs (RFC 4266): `gopher://host[:port]/[T[selector[%09search[%09gopher+]]]]`.
//!
//! The selector and search string are percent-decoded to bytes, and sent as those bytes: a
//! selector is whatever bytes a menu gave (not necessarily UTF-8), and only display replaces
//! what is not text. A URL without a type is a menu (`1`) with the empty selector; a `#fragment`
//! is not part of the selector. Bare `host[:port][/T…]` is accepted too, as users type it.

use std::fmt;

/// The default Gopher port.
pub const DEFAULT_PORT: u16 = 70;

/// One place in gopherspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// The item type (`1` menu, `0` text, `7` search, …).
    pub kind: char,
    /// The selector's bytes, exactly as the menu or URL gave them.
    pub selector: Vec<u8>,
    /// For type 7: the query, sent after a tab.
    pub query: Option<Vec<u8>>,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` to bytes (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Percent-encodes what cannot stand in a URL's path as it is (`#` and `%` included, and every
/// byte that is not ASCII).
pub fn percent_encode(s: &[u8]) -> String {
    let mut out = String::new();
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Url {
    /// A menu at `host:port` with `selector`.
    pub fn new(host: &str, port: u16, kind: char, selector: &[u8]) -> Url {
        Url {
            host: host.to_string(),
            port,
            kind,
            selector: selector.to_vec(),
            query: None,
        }
    }

    /// Parses a URL. Errors say what is wrong.
    pub fn parse(text: &str) -> Result<Url, String> {
        let t = text.trim();
        // A fragment names a place in what is fetched, and is never sent (`%23` is a `#` of
        // the selector).
        let t = t.split_once('#').map_or(t, |(before, _)| before);
        let rest = if let Some((scheme, rest)) = t.split_once("://") {
            if !scheme.eq_ignore_ascii_case("gopher") {
                return Err(format!("{t}: not a gopher URL (scheme {scheme:?})"));
            }
            rest
        } else {
            t
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [v6]:port: kept as written; the stack will refuse it.
            match h.split_once(']') {
                Some((h, p)) => (h.to_string(), p.strip_prefix(':').unwrap_or("")),
                None => return Err(format!("{t}: bad host")),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (hostport.to_string(), ""),
            }
        };
        if host.is_empty() {
            return Err(format!("{t}: no host"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{t}: bad host"));
        }
        let port = if port.is_empty() {
            DEFAULT_PORT
        } else {
            match port.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return Err(format!("{t}: bad port {port:?}")),
            }
        };
        let mut chars = path.chars();
        let (kind, rest) = match chars.next() {
            None => ('1', ""),
            Some(c) => (c, chars.as_str()),
        };
        // `%09` separates the selector from the search string (and gopher+ string).
        let decoded = percent_decode(rest);
        let mut fields = decoded.split(|b| *b == b'\t');
        let selector = fields.next().unwrap_or_default().to_vec();
        let query = fields.next().map(<[u8]>::to_vec);
        // A selector or query is one field of a one-line request: a CR or LF in it would
        // smuggle more lines to the server (found by fuzzing), and a NUL is no part of a
        // selector a server could have given.
        let bad = |f: &[u8], what: &[u8]| f.iter().any(|b| what.contains(b));
        let fields = [Some(&selector), query.as_ref()];
        if fields.iter().flatten().any(|f| bad(f, b"\r\n")) {
            return Err(format!("{t}: line breaks in the selector"));
        }
        if fields.iter().flatten().any(|f| bad(f, b"\0")) {
            return Err(format!("{t}: a NUL byte (%00) in the selector"));
        }
        Ok(Url {
            host,
            port,
            kind,
            selector,
            query,
        })
    }

    /// What is sent to the server: the selector, a tab and the query for a search, CR LF. Line
    /// breaks inside (a selector from a hostile menu) become spaces: the request stays one line.
    pub fn request(&self) -> Vec<u8> {
        let one_line = |s: &[u8]| {
            s.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect::<Vec<u8>>()
        };
        let mut r = one_line(&self.selector);
        if let Some(q) = &self.query {
            r.push(b'\t');
            r.extend_from_slice(&one_line(q));
        }
        r.extend_from_slice(b"\r\n");
        r
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gopher://{}", self.host)?;
        if self.port != DEFAULT_PORT {
            write!(f, ":{}", self.port)?;
        }
        write!(f, "/{}{}", self.kind, percent_encode(&self.selector))?;
        if let Some(q) = &self.query {
            write!(f, "%09{}", percent_encode(q))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc4266_forms() {
        let u = Url::parse("gopher://example.org").unwrap();
        assert_eq!(u, Url::new("example.org", 70, '1', b""));
        let u = Url::parse("gopher://example.org:7070/0/docs/a%20b.txt").unwrap();
        assert_eq!(u, Url::new("example.org", 7070, '0', b"/docs/a b.txt"));
        let u = Url::parse("gopher://h/7/search%09cats%20dogs").unwrap();
        assert_eq!(u.selector, b"/search");
        assert_eq!(u.query.as_deref(), Some(&b"cats dogs"[..]));
        assert_eq!(u.request(), b"/search\tcats dogs\r\n");
        let u = Url::parse("h/1/").unwrap();
        assert_eq!(u, Url::new("h", 70, '1', b"/"));
        let u = Url::parse("GOPHER://h/").unwrap();
        assert_eq!(u.kind, '1');
    }

    #[test]
    fn refuses_bad_urls() {
        assert!(Url::parse("http://example.org/").is_err());
        assert!(Url::parse("gopher://").is_err());
        assert!(Url::parse("gopher://h:0/").is_err());
        assert!(Url::parse("gopher://h:99999/").is_err());
        assert!(Url::parse("gopher://h:x/").is_err());
        assert!(Url::parse("").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "gopher://h/1",
            "gopher://h:71/0/a%20b",
            "gopher://h/7/s%09q%20r",
        ] {
            let u = Url::parse(s).unwrap();
            assert_eq!(Url::parse(&u.to_string()).unwrap(), u, "{s}");
        }
    }

    #[test]
    fn odd_escapes_are_kept() {
        assert_eq!(percent_decode("%"), b"%");
        assert_eq!(percent_decode("%4"), b"%4");
        assert_eq!(percent_decode("%zz%41"), b"%zzA");
        assert_eq!(percent_decode("%ff"), b"\xff");
    }

    /// Issue 19: a selector is bytes, sent as the URL or menu gave them; `%00` and a fragment
    /// never reach the request.
    #[test]
    fn selectors_are_bytes() {
        let u = Url::parse("gopher://h/0/caf%E9.txt").unwrap();
        assert_eq!(u.request(), b"/caf\xe9.txt\r\n");
        assert_eq!(u.to_string(), "gopher://h/0/caf%E9.txt");
        let u = Url::parse("gopher://h/0/%FF%FE").unwrap();
        assert_eq!(u.request(), b"/\xff\xfe\r\n");
        assert_eq!(Url::parse(&u.to_string()).unwrap(), u);
        assert!(Url::parse("gopher://h/0/a%00b").is_err());
        assert!(Url::parse("gopher://h/7/s%09q%00").is_err());
        let u = Url::parse("gopher://h/0/page.txt#section").unwrap();
        assert_eq!(u.request(), b"/page.txt\r\n");
        let u = Url::parse("gopher://h/0/a%23b").unwrap();
        assert_eq!(u.request(), b"/a#b\r\n");
        assert_eq!(u.to_string(), "gopher://h/0/a%23b");
        let u = Url::new("h", 70, '0', b"/caf\xe9.txt");
        assert_eq!(u.request(), b"/caf\xe9.txt\r\n");
    }
}

#[cfg(test)]
mod fuzz_findings {
    use super::*;

    /// Found by `cargo xtask fuzz gopher_url`: a CR/LF in a selector smuggled extra request lines.
    #[test]
    fn line_breaks_never_reach_the_request() {
        assert!(Url::parse("gopher://h/0a%0D%0Ab").is_err());
        assert!(Url::parse("gopher://h/7s%09q%0Ax").is_err());
        assert!(Url::parse("\u{fffd}/\u{fffd}\0\n\n$]").is_err());
        let u = Url::new("h", 70, '0', b"evil\r\nSECOND LINE");
        let req = u.request();
        assert_eq!(req, b"evil  SECOND LINE\r\n");
    }
}
