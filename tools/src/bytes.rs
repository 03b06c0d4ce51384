//! Tools over the bytes of a line: tr, cut (both byte-wise, as GNU's are), od.

use std::io::Write;

use crate::Io;
use crate::args::parse;
use crate::input::open;
use crate::output::{Tracked, write_error};
use std::io::describe;

fn fail(io: &mut Io, tool: &str, msg: &str) -> i32 {
    let _ = writeln!(io.stderr, "{tool}: {msg}");
    1
}

/// A tr set's element before expansion.
enum Elem {
    Byte(u8),
    /// `[c*n]` (n = 0: as many as needed, SET2 only).
    Repeat(u8, usize),
    Class(&'static str),
}

/// Reads `\` escapes: `\\ \a \b \f \n \r \t \v \NNN`; the byte and how many were read.
fn escape(s: &[u8], i: usize) -> (u8, usize) {
    if s[i] != b'\\' || i + 1 >= s.len() {
        return (s[i], 1);
    }
    let c = s[i + 1];
    let b = match c {
        b'a' => 7,
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 11,
        b'0'..=b'7' => {
            let mut v: u32 = 0;
            let mut k = i + 1;
            while k < s.len()
                && k < i + 4
                && (b'0'..=b'7').contains(&s[k])
                && v * 8 + ((s[k] - b'0') as u32) < 256
            {
                v = v * 8 + (s[k] - b'0') as u32;
                k += 1;
            }
            return (v as u8, k - i);
        }
        c => c,
    };
    (b, 2)
}

const CLASSES: [&str; 12] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

fn in_class(name: &str, b: u8) -> bool {
    match name {
        "alnum" => b.is_ascii_alphanumeric(),
        "alpha" => b.is_ascii_alphabetic(),
        "blank" => b == b' ' || b == b'\t',
        "cntrl" => b.is_ascii_control(),
        "digit" => b.is_ascii_digit(),
        "graph" => b.is_ascii_graphic(),
        "lower" => b.is_ascii_lowercase(),
        "print" => b.is_ascii_graphic() || b == b' ',
        "punct" => b.is_ascii_punctuation(),
        "space" => b.is_ascii_whitespace() || b == 11,
        "upper" => b.is_ascii_uppercase(),
        _ => b.is_ascii_hexdigit(),
    }
}

fn parse_set(s: &str) -> Result<Vec<Elem>, String> {
    let s = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'['
            && s.get(i + 1) == Some(&b':')
            && let Some(end) =
                (i + 2..s.len().saturating_sub(1)).find(|&j| s[j] == b':' && s[j + 1] == b']')
        {
            let name = std::str::from_utf8(&s[i + 2..end]).unwrap_or("");
            let Some(c) = CLASSES.iter().find(|c| **c == name) else {
                return Err(format!("invalid character class '{name}'"));
            };
            out.push(Elem::Class(c));
            i = end + 2;
            continue;
        }
        if s[i] == b'['
            && s.get(i + 1) == Some(&b'=')
            && s.get(i + 3) == Some(&b'=')
            && s.get(i + 4) == Some(&b']')
        {
            out.push(Elem::Byte(s[i + 2]));
            i += 5;
            continue;
        }
        if s[i] == b'[' && i + 2 < s.len() {
            let (c, n) = escape(s, i + 1);
            if s.get(i + 1 + n) == Some(&b'*')
                && let Some(end) = (i + 2 + n..s.len()).find(|&j| s[j] == b']')
            {
                let count = std::str::from_utf8(&s[i + 2 + n..end]).unwrap_or("x");
                let num = if count.is_empty() {
                    Some(0)
                } else if count.starts_with('0') {
                    usize::from_str_radix(count, 8).ok()
                } else {
                    count.parse().ok()
                };
                let Some(num) = num else {
                    return Err(format!("invalid repeat count '{count}' in [c*n] construct"));
                };
                out.push(Elem::Repeat(c, num));
                i = end + 1;
                continue;
            }
        }
        let (c, n) = escape(s, i);
        i += n;
        if s.get(i) == Some(&b'-') && i + 1 < s.len() {
            let (hi, m) = escape(s, i + 1);
            if hi < c {
                return Err(format!(
                    "range-endpoints of '{}-{}' are in reverse collating sequence order",
                    c as char, hi as char
                ));
            }
            for b in c..=hi {
                out.push(Elem::Byte(b));
            }
            i += 1 + m;
            continue;
        }
        out.push(Elem::Byte(c));
    }
    Ok(out)
}

/// The bytes of a set; `fill` is how long a SET2 should be for its `[c*]` to take up.
fn expand(set: &[Elem], fill: usize) -> Vec<u8> {
    let fixed: usize = set
        .iter()
        .map(|e| match e {
            Elem::Byte(_) => 1,
            Elem::Repeat(_, n) => *n,
            Elem::Class(c) => (0..=255u8).filter(|b| in_class(c, *b)).count(),
        })
        .sum();
    let mut out = Vec::new();
    for e in set {
        match e {
            Elem::Byte(b) => out.push(*b),
            Elem::Repeat(b, 0) => out.extend(std::iter::repeat_n(*b, fill.saturating_sub(fixed))),
            Elem::Repeat(b, n) => out.extend(std::iter::repeat_n(*b, *n)),
            Elem::Class(c) => out.extend((0..=255u8).filter(|b| in_class(c, *b))),
        }
    }
    out
}

#[inline(never)]
pub fn tr(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "cdstC", "") {
        Ok(p) => p,
        Err(m) => return fail(io, "tr", &m),
    };
    let (complement, delete, squeeze, truncate) =
        (p.has('c') || p.has('C'), p.has('d'), p.has('s'), p.has('t'));
    let ops = &p.operands;
    let need = if delete && !squeeze || squeeze && !delete && ops.len() < 2 {
        1
    } else {
        2
    };
    if ops.len() < need {
        let m = if ops.is_empty() {
            "missing operand".to_string()
        } else {
            format!("missing operand after '{}'", ops[ops.len() - 1])
        };
        return fail(io, "tr", &m);
    }
    if ops.len() > need {
        return fail(io, "tr", &format!("extra operand '{}'", ops[need]));
    }
    let set1 = match parse_set(&ops[0]) {
        Ok(s) => expand(&s, 0),
        Err(m) => return fail(io, "tr", &m),
    };
    let mut in1 = vec![false; 256];
    for &b in &set1 {
        in1[b as usize] = true;
    }
    if complement {
        for x in in1.iter_mut() {
            *x = !*x;
        }
    }
    // The first set's bytes in order (a complement in ascending order).
    let list1: Vec<u8> = if complement {
        (0..=255u8).filter(|b| in1[*b as usize]).collect()
    } else {
        set1
    };
    let set2 = match ops.get(1).map(|s| parse_set(s)) {
        None => None,
        Some(Ok(s)) => Some(expand(&s, list1.len())),
        Some(Err(m)) => return fail(io, "tr", &m),
    };
    let translating = !delete && set2.is_some();
    let mut map: Vec<u8> = (0..=255).collect();
    if translating {
        let mut s2 = set2.clone().unwrap_or_default();
        if s2.is_empty() && !list1.is_empty() && !truncate {
            return fail(
                io,
                "tr",
                "when not truncating set1, string2 must be non-empty",
            );
        }
        let list1 = if truncate {
            &list1[..list1.len().min(s2.len())]
        } else {
            &list1[..]
        };
        if let Some(&last) = s2.last() {
            while s2.len() < list1.len() {
                s2.push(last);
            }
        }
        for (a, b) in list1.iter().zip(&s2) {
            map[*a as usize] = *b;
        }
    }
    // Squeezing applies to the last set given.
    let mut sq = vec![false; 256];
    if squeeze {
        match (&set2, translating || delete) {
            (Some(s2), true) => s2.iter().for_each(|b| sq[*b as usize] = true),
            _ => sq.clone_from(&in1),
        }
    }
    // On the heap: a tool run inside the shell has a thread's small stack.
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::with_capacity(4096);
    let mut last: Option<u8> = None;
    loop {
        let n = match io.stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return fail(io, "tr", &format!("read error: {}", describe(&e))),
        };
        out.clear();
        for &b in &buf[..n] {
            if delete && in1[b as usize] {
                continue;
            }
            let c = map[b as usize];
            if squeeze && sq[c as usize] && last == Some(c) {
                continue;
            }
            last = Some(c);
            out.push(c);
        }
        if let Err(e) = io.stdout.write_all(&out) {
            return write_error(io.stderr, "tr", &e);
        }
    }
    0
}

/// A cut list: ranges of 1-based positions, `None` for an open end.
fn ranges(list: &str) -> Result<Vec<(usize, usize)>, String> {
    let mut out = Vec::new();
    for part in list.split([',', ' ']) {
        let num = |s: &str| -> Result<usize, String> {
            match s.parse::<usize>() {
                Ok(0) => Err("fields and positions are numbered from 1".into()),
                Ok(n) => Ok(n),
                Err(_) => Err(format!("invalid field value '{s}'")),
            }
        };
        let r = match part.split_once('-') {
            None if part.is_empty() => return Err("invalid byte, character or field list".into()),
            None => (num(part)?, num(part)?),
            Some(("", "")) => return Err("invalid range with no endpoint: -".into()),
            Some(("", b)) => (1, num(b)?),
            Some((a, "")) => (num(a)?, usize::MAX),
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a {
                    return Err("invalid decreasing range".into());
                }
                (a, b)
            }
        };
        out.push(r);
    }
    Ok(out)
}

#[inline(never)]
pub fn cut(args: &[String], io: &mut Io) -> i32 {
    let mut out_delim: Option<String> = None;
    let mut complement = false;
    let args: Vec<String> = args
        .iter()
        .filter(|a| {
            if let Some(d) = a.strip_prefix("--output-delimiter=") {
                out_delim = Some(d.to_string());
                false
            } else if *a == "--complement" {
                complement = true;
                false
            } else {
                true
            }
        })
        .cloned()
        .collect();
    let p = match parse(&args, "nsz", "bcfd") {
        Ok(p) => p,
        Err(m) => {
            return fail(io, "cut", &m);
        }
    };
    let modes: Vec<char> = ['b', 'c', 'f']
        .into_iter()
        .filter(|m| p.value(*m).is_some())
        .collect();
    let mode = match modes[..] {
        [m] => m,
        [] => {
            return fail(
                io,
                "cut",
                "you must specify a list of bytes, characters, or fields",
            );
        }
        _ => {
            return fail(io, "cut", "only one list may be specified");
        }
    };
    let list = match ranges(p.value(mode).unwrap_or("")) {
        Ok(l) => l,
        Err(m) => {
            return fail(io, "cut", &m);
        }
    };
    let delim = match p.value('d') {
        Some(_) if mode != 'f' => {
            return fail(
                io,
                "cut",
                "an input delimiter may be specified only when operating on fields",
            );
        }
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        Some("") => b'\n',
        Some(_) => {
            return fail(io, "cut", "the delimiter must be a single character");
        }
        None => b'\t',
    };
    if p.has('s') && mode != 'f' {
        return fail(
            io,
            "cut",
            "suppressing non-delimited lines makes sense\n\tonly when operating on fields",
        );
    }
    let only_delimited = p.has('s');
    let wanted = |i: usize| list.iter().any(|&(a, b)| a <= i && i <= b) != complement;
    let out_delim: Vec<u8> = match &out_delim {
        Some(d) => d.as_bytes().to_vec(),
        None if mode == 'f' => vec![delim],
        None => Vec::new(),
    };
    let mut status = 0;
    let names = crate::input::inputs(&p.operands);
    let mut out = Tracked::new(io.stdout);
    for name in names {
        let r = open(name, io.cwd, io.stdin).and_then(|mut input| {
            let r = input.reader();
            let mut line = Vec::new();
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                let nl = line.last() == Some(&b'\n');
                if nl {
                    line.pop();
                }
                let mut res: Vec<u8> = Vec::new();
                if mode == 'f' {
                    if !line.contains(&delim) {
                        if only_delimited {
                            continue;
                        }
                        res.extend_from_slice(&line);
                    } else {
                        let mut first = true;
                        for (i, f) in line.split(|b| *b == delim).enumerate() {
                            if wanted(i + 1) {
                                if !first {
                                    res.extend_from_slice(&out_delim);
                                }
                                res.extend_from_slice(f);
                                first = false;
                            }
                        }
                    }
                } else {
                    let mut prev = false;
                    for (i, b) in line.iter().enumerate() {
                        let w = wanted(i + 1);
                        if w && !prev && !res.is_empty() {
                            res.extend_from_slice(&out_delim);
                        }
                        if w {
                            res.push(*b);
                        }
                        prev = w;
                    }
                }
                res.push(b'\n');
                out.write_all(&res)?;
            }
        });
        if let Err(e) = r {
            if out.failed {
                return write_error(io.stderr, "cut", &e);
            }
            let _ = writeln!(io.stderr, "cut: {name}: {}", describe(&e));
            status = 1;
        }
    }
    status
}

/// One of od's output types: `c` (characters) or an integer (`d o u x`) of 1, 2, 4 or 8 bytes.
#[derive(Clone, Copy)]
struct OdType {
    kind: u8,
    size: usize,
}

fn od_types(spec: &str) -> Result<Vec<OdType>, String> {
    let mut out = Vec::new();
    let s = spec.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let kind = s[i];
        i += 1;
        match kind {
            b'c' => out.push(OdType { kind, size: 1 }),
            b'd' | b'o' | b'u' | b'x' => {
                let start = i;
                while i < s.len() && s[i].is_ascii_digit() {
                    i += 1;
                }
                let size = match (&spec[start..i], s.get(i)) {
                    ("", Some(b'C')) => {
                        i += 1;
                        1
                    }
                    ("", Some(b'S')) => {
                        i += 1;
                        2
                    }
                    ("", Some(b'I')) => {
                        i += 1;
                        4
                    }
                    ("", Some(b'L')) => {
                        i += 1;
                        8
                    }
                    ("", _) => 4,
                    (n, _) => match n.parse() {
                        Ok(n @ (1 | 2 | 4 | 8)) => n,
                        _ => {
                            return Err(format!(
                                "invalid type string '{spec}';\nthis system doesn't provide a {n}-byte integral type"
                            ));
                        }
                    },
                };
                out.push(OdType { kind, size });
            }
            b'f' => {
                return Err(
                    "floating-point types are not supported here (no floating point)".into(),
                );
            }
            _ => {
                return Err(format!(
                    "invalid character '{}' in type string '{spec}'",
                    kind as char
                ));
            }
        }
    }
    Ok(out)
}

/// The digits an item of `t` takes (a character: 3).
fn od_width(t: OdType) -> usize {
    match (t.kind, t.size) {
        (b'c', _) => 3,
        (b'x', n) => 2 * n,
        (b'o', 1) => 3,
        (b'o', 2) => 6,
        (b'o', 4) => 11,
        (b'o', _) => 22,
        (b'u', 1) => 3,
        (b'u', 2) => 5,
        (b'u', 4) => 10,
        (b'd', 1) => 4,
        (b'd', 2) => 6,
        (b'd', 4) => 11,
        _ => 20,
    }
}

/// One row of `t` over `row` (zero-padded to whole items), each item after `pad` more spaces
/// (so that the rows of several types line up, as GNU od aligns them).
fn od_row(t: OdType, row: &[u8], pad: usize, out: &mut String) {
    use core::fmt::Write as _;
    let gap = " ".repeat(pad + 1);
    if t.kind == b'c' {
        for &b in row {
            let s = match b {
                0 => "\\0".into(),
                7 => "\\a".into(),
                8 => "\\b".into(),
                12 => "\\f".into(),
                b'\n' => "\\n".into(),
                b'\r' => "\\r".into(),
                b'\t' => "\\t".into(),
                11 => "\\v".into(),
                0x20..=0x7e => (b as char).to_string(),
                b => format!("{b:03o}"),
            };
            let _ = write!(out, "{gap}{s:>3}");
        }
        return;
    }
    let size = t.size;
    let width = od_width(t);
    for chunk in row.chunks(size) {
        let mut le = [0u8; 8];
        le[..chunk.len()].copy_from_slice(chunk);
        let v = u64::from_le_bytes(le);
        let _ = match t.kind {
            b'x' => write!(out, "{gap}{v:0width$x}"),
            b'o' => write!(out, "{gap}{v:0width$o}"),
            b'u' => write!(out, "{gap}{v:width$}"),
            _ => {
                let shift = 64 - 8 * size as u32;
                let signed = ((v << shift) as i64) >> shift;
                write!(out, "{gap}{signed:width$}")
            }
        };
    }
}

#[inline(never)]
pub fn od(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "bcdiloxsv", "AtNj") {
        Ok(p) => p,
        Err(m) => {
            return fail(io, "od", &m);
        }
    };
    let mut types = Vec::new();
    for f in &p.flags {
        let t = match f {
            'b' => "o1",
            'c' => "c",
            'd' => "u2",
            'o' => "o2",
            'x' => "x2",
            's' => "d2",
            'i' => "d4",
            'l' => "d8",
            _ => continue,
        };
        types.extend(od_types(t).unwrap_or_default());
    }
    for (c, v) in &p.values {
        if *c == 't' {
            match od_types(v) {
                Ok(t) => types.extend(t),
                Err(m) => return fail(io, "od", &m),
            }
        }
    }
    if types.is_empty() {
        types.push(OdType {
            kind: b'o',
            size: 2,
        });
    }
    let radix = p.value('A').unwrap_or("o");
    if !matches!(radix, "o" | "d" | "x" | "n") {
        return fail(
            io,
            "od",
            &format!(
                "invalid output address radix '{radix}'; it must be one character from [doxn]"
            ),
        );
    }
    let number = |c: char| -> Result<Option<usize>, String> {
        match p.value(c) {
            None => Ok(None),
            Some(v) => {
                let parsed = if let Some(h) = v.strip_prefix("0x") {
                    usize::from_str_radix(h, 16).ok()
                } else if v.len() > 1 && v.starts_with('0') {
                    usize::from_str_radix(&v[1..], 8).ok()
                } else {
                    v.parse().ok()
                };
                parsed.map(Some).ok_or(format!("invalid argument '{v}'"))
            }
        }
    };
    let (skip, limit) = match (number('j'), number('N')) {
        (Ok(j), Ok(n)) => (j.unwrap_or(0), n),
        (Err(m), _) | (_, Err(m)) => return fail(io, "od", &m),
    };
    // Bytes a line shows.
    let width = 16;
    let mut data = Vec::new();
    let mut status = 0;
    let names = crate::input::inputs(&p.operands);
    for name in names {
        let r = open(name, io.cwd, io.stdin).and_then(|mut i| i.reader().read_to_end(&mut data));
        if let Err(e) = r {
            let _ = writeln!(io.stderr, "od: {name}: {}", describe(&e));
            status = 1;
        }
    }
    let data = &data[skip.min(data.len())..];
    let data = &data[..limit.unwrap_or(usize::MAX).min(data.len())];
    let address = |off: usize| match radix {
        "o" => format!("{:07o}", off + skip),
        "d" => format!("{:07}", off + skip),
        "x" => format!("{:06x}", off + skip),
        _ => String::new(),
    };
    // Each type's items widened so that a row of every type is as wide as the widest.
    let row_width = |t: &OdType| (width / t.size) * (od_width(*t) + 1);
    let widest = types.iter().map(row_width).max().unwrap_or(0);
    let pads: Vec<usize> = types
        .iter()
        .map(|t| (widest - row_width(t)) / (width / t.size))
        .collect();
    let mut out = String::new();
    let mut previous: Option<&[u8]> = None;
    let mut starred = false;
    for (k, row) in data.chunks(width).enumerate() {
        if !p.has('v') && previous == Some(row) && row.len() == width {
            if !starred {
                out.push_str("*\n");
                starred = true;
            }
            continue;
        }
        starred = false;
        previous = Some(row);
        for (n, t) in types.iter().enumerate() {
            if n == 0 {
                out.push_str(&address(k * width));
            } else {
                out.push_str(&" ".repeat(address(0).len()));
            }
            od_row(*t, row, pads[n], &mut out);
            out.push('\n');
        }
    }
    if radix != "n" {
        out.push_str(&address(data.len()));
        out.push('\n');
    }
    if let Err(e) = io.stdout.write_all(out.as_bytes()) {
        return write_error(io.stderr, "od", &e);
    }
    status
}
