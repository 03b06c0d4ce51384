//! Shell patterns (POSIX XCU 2.13): `*`, `?`, bracket expressions `[a-z]`, `[!x]` / `[^x]`,
//! `[]x]`, character classes `[[:alpha:]]` (the twelve of the POSIX locale, ASCII), and literal
//! characters; quoted text matches only itself. Used by `case` and by globbing.
//!
//! Matching is iterative with one backtrack point per `*` (the classic two-pointer method), so it
//! runs in O(pattern × text) time at worst and never recurses: no input can exhaust the stack.

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `[...]`: ranges (single characters are `(c, c)`) and named classes.
    Class {
        negate: bool,
        ranges: Vec<(char, char)>,
        classes: Vec<Named>,
    },
}

/// A character class `[:name:]` of a bracket expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Named {
    Alnum,
    Alpha,
    Blank,
    Cntrl,
    Digit,
    Graph,
    Lower,
    Print,
    Punct,
    Space,
    Upper,
    Xdigit,
    /// An unknown name: matches nothing, as in dash.
    Unknown,
}

impl Named {
    fn parse(name: &str) -> Named {
        match name {
            "alnum" => Named::Alnum,
            "alpha" => Named::Alpha,
            "blank" => Named::Blank,
            "cntrl" => Named::Cntrl,
            "digit" => Named::Digit,
            "graph" => Named::Graph,
            "lower" => Named::Lower,
            "print" => Named::Print,
            "punct" => Named::Punct,
            "space" => Named::Space,
            "upper" => Named::Upper,
            "xdigit" => Named::Xdigit,
            _ => Named::Unknown,
        }
    }

    fn has(self, c: char) -> bool {
        match self {
            Named::Alnum => c.is_ascii_alphanumeric(),
            Named::Alpha => c.is_ascii_alphabetic(),
            Named::Blank => c == ' ' || c == '\t',
            Named::Cntrl => c.is_ascii_control(),
            Named::Digit => c.is_ascii_digit(),
            Named::Graph => c.is_ascii_graphic(),
            Named::Lower => c.is_ascii_lowercase(),
            Named::Print => c.is_ascii_graphic() || c == ' ',
            Named::Punct => c.is_ascii_punctuation(),
            Named::Space => c.is_ascii_whitespace() || c == '\x0b',
            Named::Upper => c.is_ascii_uppercase(),
            Named::Xdigit => c.is_ascii_hexdigit(),
            Named::Unknown => false,
        }
    }
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Pattern {
    toks: Vec<Tok>,
}

impl Pattern {
    /// Compiles pattern text made of pieces, each either quoted (matches literally) or not.
    pub fn new<'a>(pieces: impl IntoIterator<Item = (&'a str, bool)>) -> Pattern {
        let chars: Vec<(char, bool)> = pieces
            .into_iter()
            .flat_map(|(text, q)| text.chars().map(move |c| (c, q)))
            .collect();
        Pattern::from_chars(&chars)
    }

    /// Compiles pattern text given character by character with its quotedness (a bracket
    /// expression may hold quoted characters: `[\]z]`, `["$x"a]`).
    pub fn from_chars(chars: &[(char, bool)]) -> Pattern {
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                (c, true) => toks.push(Tok::Char(c)),
                ('*', _) => {
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                ('?', _) => toks.push(Tok::One),
                ('[', _) => match class(&chars[i + 1..]) {
                    Some((tok, used)) => {
                        toks.push(tok);
                        i += used;
                    }
                    None => toks.push(Tok::Char('[')),
                },
                ('\\', _) if i + 1 < chars.len() => {
                    i += 1;
                    toks.push(Tok::Char(chars[i].0));
                }
                (c, _) => toks.push(Tok::Char(c)),
            }
            i += 1;
        }
        Pattern { toks }
    }

    /// Compiles one unquoted pattern string.
    pub fn parse(text: &str) -> Pattern {
        Pattern::new([(text, false)])
    }

    /// Whether the pattern has any special element (otherwise globbing leaves the word alone).
    pub fn has_magic(&self) -> bool {
        self.toks.iter().any(|t| !matches!(t, Tok::Char(_)))
    }

    /// Whether the pattern's first element is a literal `.` (globbing shows dot files only then).
    pub fn starts_with_dot(&self) -> bool {
        self.toks.first() == Some(&Tok::Char('.'))
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        // Where to resume after the last `*`: (pattern index after it, text index it took up to).
        let mut star: Option<(usize, usize)> = None;
        while t < s.len() {
            let step = match self.toks.get(p) {
                Some(Tok::Star) => {
                    star = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Some(Tok::One) => true,
                Some(Tok::Char(c)) => *c == s[t],
                Some(Tok::Class {
                    negate,
                    ranges,
                    classes,
                }) => {
                    let c = s[t];
                    (ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
                        || classes.iter().any(|n| n.has(c)))
                        != *negate
                }
                None => false,
            };
            if step {
                p += 1;
                t += 1;
            } else if let Some((sp, st)) = star {
                // Let the last `*` take one more character and try again from there.
                p = sp;
                t = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        self.toks[p.min(self.toks.len())..]
            .iter()
            .all(|t| *t == Tok::Star)
    }
}

/// Parses a bracket expression after its `[`; returns the token and how many chars it used
/// (including the closing `]`), or `None` if it is not closed (then `[` is literal).
fn class(chars: &[(char, bool)]) -> Option<(Tok, usize)> {
    // Unquoted `c`.
    let is = |k: usize, c: char| chars.get(k) == Some(&(c, false));
    let mut i = 0;
    let negate = is(0, '!') || is(0, '^');
    if negate {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut classes = Vec::new();
    let mut first = true;
    while i < chars.len() {
        if is(i, ']') && !first {
            let tok = Tok::Class {
                negate,
                ranges,
                classes,
            };
            return Some((tok, i + 1));
        }
        first = false;
        if is(i, '[') && is(i + 1, ':') {
            // `[:name:]`.
            let name_end =
                (i + 2..chars.len().saturating_sub(1)).find(|&k| is(k, ':') && is(k + 1, ']'));
            if let Some(end) = name_end {
                let name: String = chars[i + 2..end].iter().map(|&(c, _)| c).collect();
                classes.push(Named::parse(&name));
                i = end + 2;
                continue;
            }
        }
        // A backslash quotes the next character here too.
        let (c, used) = if is(i, '\\') && i + 1 < chars.len() {
            (chars[i + 1].0, 2)
        } else {
            (chars[i].0, 1)
        };
        let j = i + used;
        if is(j, '-') && j + 1 < chars.len() && !is(j + 1, ']') {
            let hi = chars[j + 1].0;
            if c <= hi {
                ranges.push((c, hi));
            }
            i = j + 2;
        } else {
            ranges.push((c, c));
            i = j;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn m(p: &str, t: &str) -> bool {
        Pattern::parse(p).matches(t)
    }

    #[test]
    fn posix_examples() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*b", "ab"));
        assert!(m("a*b", "axxxb"));
        assert!(!m("a*b", "axxxbc"));
        assert!(m("*.txt", "notes.txt"));
        assert!(!m("*.txt", "notes.txt.bak"));
        assert!(m("?", "x"));
        assert!(!m("?", ""));
        assert!(!m("?", "xy"));
        assert!(m("[abc]x", "bx"));
        assert!(!m("[abc]x", "dx"));
        assert!(m("[a-c][0-9]", "c7"));
        assert!(m("[!a-c]", "d"));
        assert!(!m("[^a-c]", "b"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m("[", "["));
        assert!(m("a[", "a["));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "x"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(m("é*", "été"));
        assert!(m("[[:alpha:]]", "q"));
        assert!(!m("[[:alpha:]]", "1"));
        assert!(m("[[:digit:]x]*", "x9"));
        assert!(m("[![:space:]]", "a"));
        assert!(!m("[![:space:][:punct:]]", "."));
        assert!(m("[[:upper:][:lower:]][[:xdigit:]]", "aF"));
        assert!(!m("[[:bogus:]]", "b"));
        assert!(m("[]a]", "]"));
        assert!(m("[\\]z]", "]"));
        assert!(Pattern::new([("[", false), ("[", true), ("z]", false)]).matches("["));
        assert!(Pattern::new([("[a", false), ("]", true), ("]", false)]).matches("]"));
        assert!(!Pattern::new([("[", false), ("!", true), ("a]", false)]).matches("b"));
    }

    #[test]
    fn quoted_pieces_are_literal() {
        let p = Pattern::new([("*", true), ("*", false)]);
        assert!(p.matches("*anything"));
        assert!(!p.matches("anything"));
        assert!(p.has_magic());
        assert!(!Pattern::new([("a*b", true)]).has_magic());
        assert!(Pattern::parse(".*").starts_with_dot());
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        // A recursive matcher takes 2^40 steps here; the two-pointer one takes ~40 x 40.
        let p = Pattern::parse(&"*a".repeat(40));
        assert!(!p.matches(&("a".repeat(39) + "b")));
        assert!(p.matches(&"a".repeat(40)));
    }
}
