//! POSIX regular expressions (basic and extended, as GNU grep and sed read them) for grep, sed
//! and expr: one engine.
//!
//! A pattern is compiled (without recursion: groups are kept on an explicit stack) into a small
//! program of instructions, run by a Pike VM: every thread of the NFA advances one character at
//! a time, so matching takes time linear in the text times the program and never recurses. A
//! match is the leftmost and, among those, the longest (POSIX); groups take what the thread of
//! highest priority (greedy, first alternative) gave them. Not supported: back-references in a
//! pattern (`\1` there is an error; sed's replacement takes them), collating elements `[.x.]`
//! and equivalence classes `[=x=]`.
//!
//! Why not the `regex-lite` crate: it requires the platform `std` (`extern crate std`, its
//! `std` feature may not be turned off), which the freestanding target does not have (our `std`
//! is the std-shim package), and its size would have pushed `sh`, which links the coreutils in,
//! past its budget.

/// Longest pattern accepted, and most instructions a compiled one may have (`{m,n}` copies).
const MAX_PATTERN: usize = 4096;
const MAX_PROGRAM: usize = 20_000;

#[derive(Clone, Debug)]
enum Inst {
    Char(char),
    Any,
    Class(usize),
    Bol,
    Eol,
    /// `\b` (true) or `\B` (false).
    Boundary(bool),
    /// `\<` (true) or `\>` (false).
    WordEdge(bool),
    /// No word character before (true) or after (false): grep -w.
    NoWord(bool),
    Save(usize),
    /// Try the first target, then the second (relative to the fragment until placed).
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// A bracket expression.
#[derive(Clone, Debug, Default)]
struct Class {
    negate: bool,
    ranges: Vec<(char, char)>,
    /// Named classes (`[:alpha:]`...), by [`NAMES`] index.
    named: Vec<usize>,
}

const NAMES: [&str; 12] = [
    "alpha", "digit", "alnum", "upper", "lower", "space", "blank", "punct", "print", "graph",
    "cntrl", "xdigit",
];

/// A letter: an ASCII one, or any character past ASCII that is neither a control nor a space
/// (Unicode's letter tables would add kilobytes to every program that links the coreutils,
/// the shell among them; letters are what scripts meet past ASCII).
fn letter(c: char) -> bool {
    c.is_ascii_alphabetic() || (!c.is_ascii() && !c.is_control() && !space(c))
}

fn space(c: char) -> bool {
    matches!(c, ' ' | '\t'..='\r' | '\u{85}' | '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{3000}')
}

/// Whether `c` is in class `n` of [`NAMES`]. Upper and lower case are ASCII's.
fn in_named(n: usize, c: char) -> bool {
    match n {
        0 => letter(c),
        1 => c.is_ascii_digit(),
        2 => letter(c) || c.is_ascii_digit(),
        3 => c.is_ascii_uppercase(),
        4 => c.is_ascii_lowercase(),
        5 => space(c),
        6 => c == ' ' || c == '\t',
        7 => c.is_ascii_punctuation(),
        8 => !c.is_control(),
        9 => !c.is_control() && c != ' ',
        10 => c.is_control(),
        _ => c.is_ascii_hexdigit(),
    }
}

impl Class {
    fn has(&self, c: char, fold: bool) -> bool {
        let one = |c: char| {
            self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
                || self.named.iter().any(|&n| in_named(n, c))
        };
        let hit = one(c) || (fold && (one(c.to_ascii_lowercase()) || one(c.to_ascii_uppercase())));
        hit != self.negate
    }
}

fn is_word(c: Option<&char>) -> bool {
    c.is_some_and(|c| letter(*c) || c.is_ascii_digit() || *c == '_')
}

/// A compiled regular expression.
#[derive(Debug)]
pub struct Regex {
    prog: Vec<Inst>,
    classes: Vec<Class>,
    /// Groups, not counting the whole match.
    groups: usize,
    fold: bool,
}

/// Which syntax a pattern is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    Basic,
    Extended,
}

/// A piece of program whose jumps are relative to its own start until it is placed.
type Frag = Vec<Inst>;

fn shift(f: &mut Frag, by: usize) {
    for i in f.iter_mut() {
        match i {
            Inst::Split(a, b) => {
                *a += by;
                *b += by;
            }
            Inst::Jmp(a) => *a += by,
            _ => {}
        }
    }
}

fn append(to: &mut Frag, mut f: Frag) {
    shift(&mut f, to.len());
    to.extend(f);
}

/// `f` repeated `min` to `max` (None: unbounded) times.
fn repeat(f: Frag, min: u32, max: Option<u32>) -> Result<Frag, String> {
    let copies = max.unwrap_or(min).max(min) as usize + 1;
    if f.len().saturating_mul(copies) > MAX_PROGRAM {
        return Err("Regular expression too big".into());
    }
    let mut out = Frag::new();
    for _ in 0..min {
        append(&mut out, f.clone());
    }
    match max {
        None => {
            // L: split(body, end); body; jmp L; end:
            let n = f.len();
            let mut star = vec![Inst::Split(1, n + 2)];
            append(&mut star, f);
            star.push(Inst::Jmp(0));
            append(&mut out, star);
        }
        Some(max) => {
            for _ in min..max {
                let n = f.len();
                let mut opt = vec![Inst::Split(1, n + 1)];
                append(&mut opt, f.clone());
                append(&mut out, opt);
            }
        }
    }
    Ok(out)
}

/// A group being read: its alternatives so far, the current one's pieces, its number.
struct Level {
    alts: Vec<Frag>,
    cur: Frag,
    /// Where the last piece (the one a `*` applies to) starts in `cur`; None if there is none.
    last: Option<usize>,
    group: usize,
}

impl Level {
    fn new(group: usize) -> Level {
        Level {
            alts: Vec::new(),
            cur: Frag::new(),
            last: None,
            group,
        }
    }

    fn push(&mut self, f: Frag) {
        self.last = Some(self.cur.len());
        append(&mut self.cur, f);
    }

    /// The alternatives as one fragment.
    fn finish(mut self) -> Frag {
        self.alts.push(self.cur);
        let mut alts = self.alts;
        let mut out = alts.pop().unwrap_or_default();
        while let Some(a) = alts.pop() {
            // split(a, b); a; jmp end; b
            let mut f = vec![Inst::Split(1, a.len() + 2)];
            append(&mut f, a);
            f.push(Inst::Jmp(f.len() + 1 + out.len()));
            append(&mut f, out);
            out = f;
        }
        out
    }
}

/// What a match must span: any part of the text, whole words (grep -w), the whole line (-x).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Span {
    Any,
    Word,
    Line,
}

impl Regex {
    pub fn new(pattern: &str, syntax: Syntax, fold: bool) -> Result<Regex, String> {
        Regex::spanning(pattern, syntax, fold, Span::Any)
    }

    /// A fixed string (grep -F), as a pattern.
    pub fn literal(s: &str, fold: bool, span: Span) -> Result<Regex, String> {
        let mut pat = String::new();
        for c in s.chars() {
            if matches!(c, '.' | '[' | '\\' | '*' | '^' | '$') {
                pat.push('\\');
            }
            pat.push(c);
        }
        Regex::spanning(&pat, Syntax::Basic, fold, span)
    }

    pub fn spanning(
        pattern: &str,
        syntax: Syntax,
        fold: bool,
        span: Span,
    ) -> Result<Regex, String> {
        if pattern.len() > MAX_PATTERN {
            return Err(format!("pattern longer than {MAX_PATTERN} bytes"));
        }
        let ere = syntax == Syntax::Extended;
        let p: Vec<char> = pattern.chars().collect();
        let mut classes = Vec::new();
        let mut stack = vec![Level::new(0)];
        let mut groups = 0;
        let mut i = 0;
        let fc = |c: char| if fold { c.to_ascii_lowercase() } else { c };
        while i < p.len() {
            let c = p[i];
            i += 1;
            let lvl = stack.last_mut().ok_or("internal")?;
            // Where a piece may start: `*` there is literal (BRE), `^` an anchor.
            let at_start = lvl.cur.is_empty();
            let (open, close, alt, brace, plus, quest) = if ere {
                (
                    c == '(',
                    c == ')' && stack.len() > 1,
                    c == '|',
                    c == '{',
                    c == '+',
                    c == '?',
                )
            } else {
                let e = |x| c == '\\' && p.get(i) == Some(&x);
                (e('('), e(')'), e('|'), e('{'), e('+'), e('?'))
            };
            if !ere && (open || close || alt || brace || plus || quest) {
                i += 1;
            }
            if close && stack.len() == 1 {
                return Err("Unmatched ) or \\)".into());
            }
            if open {
                groups += 1;
                stack.push(Level::new(groups));
                continue;
            }
            if close {
                let done = stack.pop().ok_or("internal")?;
                let g = done.group;
                let mut f = vec![Inst::Save(2 * g)];
                append(&mut f, done.finish());
                f.push(Inst::Save(2 * g + 1));
                stack.last_mut().ok_or("internal")?.push(f);
                continue;
            }
            if alt {
                let lvl = stack.last_mut().ok_or("internal")?;
                let cur = std::mem::take(&mut lvl.cur);
                lvl.alts.push(cur);
                lvl.last = None;
                continue;
            }
            let rep = if c == '*' && (ere || !at_start) {
                Some((0, None))
            } else if plus {
                Some((1, None))
            } else if quest {
                Some((0, Some(1)))
            } else if brace {
                let nothing_before = stack.last().is_some_and(|l| l.last.is_none());
                match if ere && nothing_before {
                    None
                } else {
                    interval(&p, i, ere)?
                } {
                    Some((min, max, next)) => {
                        i = next;
                        Some((min, max))
                    }
                    None => {
                        // ERE: a `{` that starts no interval is itself.
                        stack
                            .last_mut()
                            .ok_or("internal")?
                            .push(vec![Inst::Char('{')]);
                        continue;
                    }
                }
            } else {
                None
            };
            let lvl = stack.last_mut().ok_or("internal")?;
            if let Some((min, max)) = rep {
                match lvl.last {
                    Some(start) => {
                        let piece = lvl.cur.split_off(start);
                        let mut piece = piece;
                        shift_back(&mut piece, start);
                        let r = repeat(piece, min, max)?;
                        append(&mut lvl.cur, r);
                    }
                    // A repetition with nothing before it: `*` literal; ERE's `+ ? {` too.
                    None if c == '*' || ere => lvl.push(vec![Inst::Char(c)]),
                    None => return Err("Invalid preceding regular expression".into()),
                }
                continue;
            }
            let inst = match c {
                '.' => Inst::Any,
                '^' if ere || at_start => Inst::Bol,
                '$' if ere
                    || i == p.len()
                    || (p[i] == '\\' && matches!(p.get(i + 1), Some(')') | Some('|'))) =>
                {
                    Inst::Eol
                }
                '[' => {
                    let (class, next) = bracket(&p, i, fold)?;
                    i = next;
                    classes.push(class);
                    Inst::Class(classes.len() - 1)
                }
                '\\' => {
                    let Some(&e) = p.get(i) else {
                        return Err("Trailing backslash".into());
                    };
                    i += 1;
                    match e {
                        '1'..='9' => {
                            return Err("Back-references in a pattern are not supported".into());
                        }
                        'b' => Inst::Boundary(true),
                        'B' => Inst::Boundary(false),
                        '<' => Inst::WordEdge(true),
                        '>' => Inst::WordEdge(false),
                        'w' | 'W' | 's' | 'S' => {
                            let named = if e.eq_ignore_ascii_case(&'w') {
                                vec![2]
                            } else {
                                vec![5]
                            };
                            let mut class = Class {
                                negate: e.is_ascii_uppercase(),
                                named,
                                ranges: Vec::new(),
                            };
                            if e.eq_ignore_ascii_case(&'w') {
                                class.ranges.push(('_', '_'));
                            }
                            classes.push(class);
                            Inst::Class(classes.len() - 1)
                        }
                        'n' => Inst::Char('\n'),
                        't' => Inst::Char('\t'),
                        e => Inst::Char(fc(e)),
                    }
                }
                c => Inst::Char(fc(c)),
            };
            lvl.push(vec![inst]);
            if lvl.cur.len() > MAX_PROGRAM {
                return Err("Regular expression too big".into());
            }
        }
        if stack.len() > 1 {
            return Err("Unmatched ( or \\(".into());
        }
        let top = stack.pop().ok_or("internal")?;
        let (before, after) = match span {
            Span::Any => (None, None),
            Span::Word => (Some(Inst::NoWord(true)), Some(Inst::NoWord(false))),
            Span::Line => (Some(Inst::Bol), Some(Inst::Eol)),
        };
        let mut prog = vec![Inst::Save(0)];
        prog.extend(before);
        append(&mut prog, top.finish());
        prog.extend(after);
        prog.push(Inst::Save(1));
        prog.push(Inst::Match);
        Ok(Regex {
            prog,
            classes,
            groups,
            fold,
        })
    }

    /// Groups in the pattern (without the whole match).
    pub fn groups(&self) -> usize {
        self.groups
    }

    pub fn is_match(&self, text: &[char]) -> bool {
        self.find_at(text, 0).is_some()
    }

    /// The leftmost-longest match starting at or after `from` (anchors see all of `text`):
    /// the start and end of the whole match and of each group (None: the group took no part).
    pub fn find_at(&self, text: &[char], from: usize) -> Option<Vec<Option<usize>>> {
        let slots = 2 * (self.groups + 1);
        let n = self.prog.len();
        let mut clist = Threads::new(n, slots);
        let mut nlist = Threads::new(n, slots);
        let mut best: Option<Vec<Option<usize>>> = None;
        let mut stack = Vec::new();
        let fresh = vec![None; slots];
        // Scratch copies of a thread's captures, kept across steps.
        let (mut caps, mut scratch) = (fresh.clone(), fresh.clone());
        let mut pos = from;
        loop {
            if best.is_none() {
                self.add(&mut clist, 0, &fresh, text, pos, &mut stack, &mut scratch);
            }
            if clist.dense.is_empty() {
                break;
            }
            let c = text.get(pos).copied();
            for k in 0..clist.dense.len() {
                let pc = clist.dense[k];
                caps.copy_from_slice(clist.caps(pc));
                if let Some(b) = &best
                    && caps[0] != b[0]
                {
                    continue;
                }
                let ok = match (&self.prog[pc], c) {
                    (Inst::Match, _) => {
                        let longer = match &best {
                            None => true,
                            Some(b) => caps[1] > b[1],
                        };
                        if longer {
                            best = Some(caps.clone());
                        }
                        continue;
                    }
                    (_, None) => false,
                    (Inst::Char(x), Some(c)) => {
                        *x == c || (self.fold && *x == c.to_ascii_lowercase())
                    }
                    (Inst::Any, _) => true,
                    (Inst::Class(i), Some(c)) => self.classes[*i].has(c, self.fold),
                    _ => false,
                };
                if ok {
                    self.add(
                        &mut nlist,
                        pc + 1,
                        &caps,
                        text,
                        pos + 1,
                        &mut stack,
                        &mut scratch,
                    );
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
            nlist.clear();
            if pos >= text.len() {
                break;
            }
            pos += 1;
        }
        best
    }

    /// Adds a thread at `pc` (following jumps, splits, saves and assertions) to `list`.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        list: &mut Threads,
        pc: usize,
        from: &[Option<usize>],
        text: &[char],
        pos: usize,
        stack: &mut Vec<Job>,
        caps: &mut [Option<usize>],
    ) {
        caps.copy_from_slice(from);
        stack.push(Job::Explore(pc));
        while let Some(job) = stack.pop() {
            let pc = match job {
                Job::Restore(slot, old) => {
                    caps[slot] = old;
                    continue;
                }
                Job::Explore(pc) => pc,
            };
            if list.contains(pc) {
                continue;
            }
            list.insert(pc, caps);
            let before = if pos == 0 { None } else { text.get(pos - 1) };
            let after = text.get(pos);
            let go = match &self.prog[pc] {
                Inst::Jmp(t) => Some(*t),
                Inst::Split(a, b) => {
                    stack.push(Job::Explore(*b));
                    Some(*a)
                }
                Inst::Save(s) => {
                    stack.push(Job::Restore(*s, caps[*s]));
                    caps[*s] = Some(pos);
                    Some(pc + 1)
                }
                Inst::Bol => (pos == 0).then_some(pc + 1),
                Inst::Eol => (pos == text.len()).then_some(pc + 1),
                Inst::Boundary(want) => {
                    ((is_word(before) != is_word(after)) == *want).then_some(pc + 1)
                }
                Inst::WordEdge(start) => {
                    let edge = if *start {
                        !is_word(before) && is_word(after)
                    } else {
                        is_word(before) && !is_word(after)
                    };
                    edge.then_some(pc + 1)
                }
                Inst::NoWord(b) => (!is_word(if *b { before } else { after })).then_some(pc + 1),
                _ => None,
            };
            if let Some(next) = go {
                stack.push(Job::Explore(next));
            }
        }
    }
}

/// Reads an interval `{m}`, `{m,}`, `{m,n}` (`\\{...\\}` in a BRE) whose `{` is just before
/// `i`: its bounds and where it ends. In an ERE, `{` that starts no interval is `None` (a
/// literal, as GNU has it); in a BRE that is an error.
fn interval(p: &[char], i: usize, ere: bool) -> Result<Option<(u32, Option<u32>, usize)>, String> {
    let bad = |why: &str| if ere { Ok(None) } else { Err(why.to_string()) };
    let Some(end) = (i..p.len()).find(|&j| p[j] == '}') else {
        return bad("Unmatched \\{");
    };
    let body: String = p[i..end].iter().collect();
    let body = if ere {
        &body[..]
    } else {
        match body.strip_suffix('\\') {
            Some(b) => b,
            None => return bad("Unmatched \\{"),
        }
    };
    let num = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (min, max) = match body.split_once(',') {
        None => (num(body), num(body)),
        Some((a, "")) => (if a.is_empty() { Some(0) } else { num(a) }, None),
        Some((a, b)) => match num(b) {
            Some(b) => (if a.is_empty() { Some(0) } else { num(a) }, Some(b)),
            None => (None, None),
        },
    };
    let Some(min) = min else {
        return bad("Invalid content of \\{\\}");
    };
    if body.contains(',') && max.is_none() && !body.ends_with(',') {
        return bad("Invalid content of \\{\\}");
    }
    if max.is_some_and(|m| m < min) || min > 255 || max.is_some_and(|m| m > 255) {
        return Err("Invalid content of \\{\\}".into());
    }
    Ok(Some((min, max, end + 1)))
}

/// Undoes [`shift`] for a piece cut out of a fragment at `by`.
fn shift_back(f: &mut Frag, by: usize) {
    for i in f.iter_mut() {
        match i {
            Inst::Split(a, b) => {
                *a -= by;
                *b -= by;
            }
            Inst::Jmp(a) => *a -= by,
            _ => {}
        }
    }
}

enum Job {
    Explore(usize),
    Restore(usize, Option<usize>),
}

/// A sparse set of program counters, each with its thread's captures.
struct Threads {
    dense: Vec<usize>,
    sparse: Vec<usize>,
    caps: Vec<Option<usize>>,
    slots: usize,
}

impl Threads {
    fn new(n: usize, slots: usize) -> Threads {
        Threads {
            dense: Vec::with_capacity(n),
            sparse: vec![0; n],
            caps: vec![None; n * slots],
            slots,
        }
    }
    fn contains(&self, pc: usize) -> bool {
        let i = self.sparse[pc];
        i < self.dense.len() && self.dense[i] == pc
    }
    fn insert(&mut self, pc: usize, caps: &[Option<usize>]) {
        self.sparse[pc] = self.dense.len();
        self.dense.push(pc);
        self.caps[pc * self.slots..(pc + 1) * self.slots].copy_from_slice(caps);
    }
    fn caps(&self, pc: usize) -> &[Option<usize>] {
        &self.caps[pc * self.slots..(pc + 1) * self.slots]
    }
    fn clear(&mut self) {
        self.dense.clear();
    }
}

/// Reads a bracket expression whose `[` is just before `i`: the class and where it ends.
fn bracket(p: &[char], mut i: usize, fold: bool) -> Result<(Class, usize), String> {
    let mut class = Class::default();
    if p.get(i) == Some(&'^') {
        class.negate = true;
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = p.get(i) else {
            return Err("Unmatched [, [^, [:, [., or [=".into());
        };
        if c == ']' && !first {
            return Ok((class, i + 1));
        }
        first = false;
        if c == '[' && matches!(p.get(i + 1), Some(':') | Some('.') | Some('=')) {
            let kind = p[i + 1];
            let end = (i + 2..p.len().saturating_sub(1))
                .find(|&j| p[j] == kind && p[j + 1] == ']')
                .ok_or("Unmatched [, [^, [:, [., or [=")?;
            let name: String = p[i + 2..end].iter().collect();
            i = end + 2;
            if kind != ':' {
                // [.x.] and [=x=] of a single character: that character.
                let mut cs = name.chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => class.ranges.push((c, c)),
                    _ => return Err("Invalid collation character".into()),
                }
                continue;
            }
            let n = NAMES
                .iter()
                .position(|x| *x == name)
                .ok_or("Invalid character class name")?;
            // Folding: upper and lower match letters of either case.
            class
                .named
                .push(if fold && (n == 3 || n == 4) { 0 } else { n });
            continue;
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let hi = p[i + 2];
            if hi < c {
                return Err("Invalid range end".into());
            }
            class.ranges.push((c, hi));
            i += 3;
        } else {
            class.ranges.push((c, c));
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pat: &str, ere: bool, text: &str) -> Option<String> {
        let syntax = if ere { Syntax::Extended } else { Syntax::Basic };
        let r = Regex::new(pat, syntax, false).unwrap();
        let t: Vec<char> = text.chars().collect();
        let m = r.find_at(&t, 0)?;
        Some(t[m[0]?..m[1]?].iter().collect())
    }

    #[test]
    fn basic_and_extended() {
        assert_eq!(find("a*b", false, "xaab").as_deref(), Some("aab"));
        assert_eq!(find("*a", false, "x*a").as_deref(), Some("*a"));
        assert_eq!(find("a\\{2\\}", false, "aaaa").as_deref(), Some("aa"));
        assert_eq!(find("a{2,3}", true, "aaaa").as_deref(), Some("aaa"));
        assert_eq!(find("a{2}", false, "a{2}").as_deref(), Some("a{2}"));
        assert_eq!(find("\\(ab\\)*c", false, "ababc").as_deref(), Some("ababc"));
        assert_eq!(find("(ab)+c", true, "xababc").as_deref(), Some("ababc"));
        assert_eq!(find("a|ab", true, "abc").as_deref(), Some("ab"));
        assert_eq!(find("cat\\|dog", false, "hotdog").as_deref(), Some("dog"));
        assert_eq!(find("^ab$", false, "ab").as_deref(), Some("ab"));
        assert_eq!(find("^b", false, "ab"), None);
        assert_eq!(find("a^b", false, "a^b").as_deref(), Some("a^b"));
        assert_eq!(find("a$b", false, "a$b").as_deref(), Some("a$b"));
        assert_eq!(find("[[:digit:]]+", true, "ab123c").as_deref(), Some("123"));
        assert_eq!(find("[^a-c]", false, "abcd").as_deref(), Some("d"));
        assert_eq!(find("[]x]", false, "a]").as_deref(), Some("]"));
        assert_eq!(find("\\<is\\>", false, "this is").as_deref(), Some("is"));
        assert_eq!(find("x*", false, "abc").as_deref(), Some(""));
        assert_eq!(find("(a*)*b", true, "aab").as_deref(), Some("aab"));
        assert_eq!(find("a.c", true, "abc").as_deref(), Some("abc"));
        assert_eq!(find("a+?", false, "a+?").as_deref(), Some("a+?"));
    }

    /// Patterns that make a backtracking matcher take exponential time are linear here.
    #[test]
    fn no_blowup() {
        let long: String = "a".repeat(3000);
        assert_eq!(find("(a*)*b", true, &long), None);
        assert_eq!(find("(a|aa)+$", true, &long).map(|m| m.len()), Some(3000));
        assert_eq!(find("\\(a*\\)*c", false, &long), None);
    }

    #[test]
    fn groups_and_errors() {
        let r = Regex::new("\\([a-z]*\\)=\\([0-9]*\\)", Syntax::Basic, false).unwrap();
        let t: Vec<char> = "key=42".chars().collect();
        let m = r.find_at(&t, 0).unwrap();
        assert_eq!(
            (m[2], m[3], m[4], m[5]),
            (Some(0), Some(3), Some(4), Some(6))
        );
        for bad in ["[abc", "\\(", "a\\)", "a\\{1", "\\1", "[[:nope:]]", "a\\"] {
            assert!(Regex::new(bad, Syntax::Basic, false).is_err(), "{bad}");
        }
        assert!(Regex::new("(", Syntax::Extended, false).is_err());
        assert!(Regex::new("a{1,2}{3,4}{5,6}{100}", Syntax::Extended, false).is_ok());
        assert!(Regex::new("(((a{200}){200}){200})", Syntax::Extended, false).is_err());
        let r = Regex::new("HeLLo", Syntax::Basic, true).unwrap();
        assert!(r.is_match(&"say hello".chars().collect::<Vec<_>>()));
    }
}
