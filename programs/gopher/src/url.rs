//! Gopher URLs (RFC 4266): `gopher://host[:port]/[T[selector[%09search[%09gopher+]]]]`.
//!
//! The selector and search string are percent-decoded; a URL without a type is a menu (`1`)
//! with the empty selector. Bare `host[:port][/T…]` is accepted too, as users type it.

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
    pub selector: String,
    /// For type 7: the query, sent after a tab.
    pub query: Option<String>,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` (invalid escapes are kept as they are; bytes that are not UTF-8 shown
/// lossily).
pub fn percent_decode(s: &str) -> String {
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
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes what cannot stand in a URL's path as it is.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
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
    pub fn new(host: &str, port: u16, kind: char, selector: &str) -> Url {
        Url {
            host: host.to_string(),
            port,
            kind,
            selector: selector.to_string(),
            query: None,
        }
    }

    /// Parses a URL. Errors say what is wrong.
    pub fn parse(text: &str) -> Result<Url, String> {
        let t = text.trim();
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
        let (selector, query) = match decoded.split_once('\t') {
            Some((s, q)) => {
                let q = q.split('\t').next().unwrap_or("");
                (s.to_string(), Some(q.to_string()))
            }
            None => (decoded, None),
        };
        // A selector or query is one field of a one-line request: a CR or LF in it would
        // smuggle more lines to the server (found by fuzzing).
        if selector.contains(['\r', '\n'])
            || query.as_deref().is_some_and(|q| q.contains(['\r', '\n']))
        {
            return Err(format!("{t}: line breaks in the selector"));
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
        let one_line = |s: &str| s.replace(['\r', '\n'], " ");
        let mut r = one_line(&self.selector).into_bytes();
        if let Some(q) = &self.query {
            r.push(b'\t');
            r.extend_from_slice(one_line(q).as_bytes());
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
        assert_eq!(u, Url::new("example.org", 70, '1', ""));
        let u = Url::parse("gopher://example.org:7070/0/docs/a%20b.txt").unwrap();
        assert_eq!(u, Url::new("example.org", 7070, '0', "/docs/a b.txt"));
        let u = Url::parse("gopher://h/7/search%09cats%20dogs").unwrap();
        assert_eq!(u.selector, "/search");
        assert_eq!(u.query.as_deref(), Some("cats dogs"));
        assert_eq!(u.request(), b"/search\tcats dogs\r\n");
        let u = Url::parse("h/1/").unwrap();
        assert_eq!(u, Url::new("h", 70, '1', "/"));
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
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
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
        let u = Url::new("h", 70, '0', "evil\r\nSECOND LINE");
        let req = u.request();
        assert_eq!(req, b"evil  SECOND LINE\r\n");
    }
}
