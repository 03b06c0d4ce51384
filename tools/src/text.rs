//! Tools over text and bytes: cat, head, tail, wc, sort, uniq, tee, hexdump/xxd, sleep.

use std::cmp::Ordering;
use std::io::{self, BufRead, Write};

use crate::Io;
use crate::args::parse;
use crate::input::open;
use crate::output::{Tracked, write_error};
use std::io::describe;

/// Reports a usage error: `tool: message` and status `code`.
fn usage(io: &mut Io, tool: &str, msg: &str, code: i32) -> i32 {
    let _ = writeln!(io.stderr, "{tool}: {msg}");
    code
}

/// Runs `f` on each input operand (stdin when there are none); errors reading an operand are
/// reported with its name and make the status 1; an error writing the output ends the tool at
/// once (`TOOL: write error: …`, status 1), as GNU's tools do.
fn each(
    tool: &str,
    operands: &[String],
    io: &mut Io,
    f: impl FnMut(&mut dyn BufRead, &str, &mut dyn Write) -> io::Result<()>,
) -> i32 {
    each_until_output_fails(tool, operands, io, f).0
}

/// [`each`], and whether the output failed (the tool then ended, having said so).
fn each_until_output_fails(
    tool: &str,
    operands: &[String],
    io: &mut Io,
    mut f: impl FnMut(&mut dyn BufRead, &str, &mut dyn Write) -> io::Result<()>,
) -> (i32, bool) {
    let names = crate::input::inputs(operands);
    let mut status = 0;
    let mut out = Tracked::new(io.stdout);
    for name in names {
        let result =
            open(name, io.cwd, io.stdin).and_then(|mut input| f(input.reader(), name, &mut out));
        if let Err(e) = result {
            if out.failed {
                return (write_error(io.stderr, tool, &e), true);
            }
            let _ = writeln!(io.stderr, "{tool}: {name}: {}", describe(&e));
            status = 1;
        }
    }
    (status, false)
}

#[inline(never)]
pub fn cat(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "n", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "cat", &m, 1),
    };
    let number = p.has('n');
    let mut line_no = 0u64;
    each("cat", &p.operands, io, |r, _, out| {
        if !number {
            // Straight from the reader's buffer: no copy of our own, and as much per write
            // as the reader holds (a pipe's message, a file's read).
            loop {
                let n = match r.fill_buf() {
                    Ok([]) => return Ok(()),
                    Ok(b) => {
                        out.write_all(b)?;
                        b.len()
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                r.consume(n);
            }
        }
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            line_no += 1;
            write!(out, "{line_no:6}\t")?;
            out.write_all(&line)?;
        }
    })
}

/// How many lines or bytes head and tail take: `N`, `+N` (tail: from the Nth on), `-N` (head:
/// all but the last N).
#[derive(Clone, Copy)]
enum Count {
    First(usize),
    FromNth(usize),
    AllBut(usize),
}

fn count_value(v: &str, tail: bool, bytes: bool) -> Result<Count, String> {
    let what = if bytes { "bytes" } else { "lines" };
    let bad = || format!("invalid number of {what}: '{v}'");
    let (kind, digits): (fn(usize) -> Count, &str) = match v.as_bytes().first() {
        Some(b'+') if tail => (Count::FromNth, &v[1..]),
        Some(b'-') if !tail => (Count::AllBut, &v[1..]),
        Some(b'-' | b'+') => (Count::First, &v[1..]),
        _ => (Count::First, v),
    };
    let n: usize = digits.parse().map_err(|_| bad())?;
    Ok(kind(n))
}

#[inline(never)]
pub fn head_tail(args: &[String], io: &mut Io, tail: bool) -> i32 {
    let tool = if tail { "tail" } else { "head" };
    // `-N` (old style) is `-n N`.
    let args: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let value_of_option = i > 0 && matches!(args[i - 1].as_str(), "-n" | "-c");
            if !value_of_option
                && a.len() > 1
                && a.starts_with('-')
                && a[1..].bytes().all(|b| b.is_ascii_digit())
            {
                format!("-n{}", &a[1..])
            } else {
                a.clone()
            }
        })
        .collect();
    let p = match parse(&args, if tail { "qvf" } else { "qv" }, "nc") {
        Ok(p) => p,
        Err(m) => return usage(io, tool, &m, 1),
    };
    // tail -f: where each file's reading ended, to go on from there.
    let follow = tail && p.has('f');
    let mut followed: Vec<(String, u64)> = Vec::new();
    // The last of -n and -c given decides.
    let last = p.values.iter().rev().find(|(c, _)| *c == 'n' || *c == 'c');
    let (bytes, count) = match last {
        None => (false, Ok(Count::First(10))),
        Some((c, v)) => (*c == 'c', count_value(v, tail, *c == 'c')),
    };
    let count = match count {
        Ok(c) => c,
        Err(m) => return usage(io, tool, &m, 1),
    };
    let many = (p.operands.len() > 1 || p.has('v')) && !p.has('q');
    let mut first = true;
    let status = each(tool, &p.operands, io, |r, name, out| {
        if many {
            let shown = if name == "-" { "standard input" } else { name };
            writeln!(out, "{}==> {shown} <==", if first { "" } else { "\n" })?;
        }
        first = false;
        // Units: lines (with their newlines) or single bytes.
        let mut read = 0u64;
        let mut next = |r: &mut dyn BufRead| -> io::Result<Option<Vec<u8>>> {
            let mut unit = Vec::new();
            if bytes {
                let mut b = [0u8; 1];
                let got = r.read(&mut b)? == 1;
                read += u64::from(got);
                return Ok(got.then(|| b.to_vec()));
            }
            let n = r.read_until(b'\n', &mut unit)?;
            read += n as u64;
            Ok((n > 0).then_some(unit))
        };
        match (tail, count) {
            (false, Count::First(n)) | (false, Count::FromNth(n)) => {
                for _ in 0..n {
                    let Some(u) = next(r)? else { break };
                    out.write_all(&u)?;
                }
            }
            (true, Count::FromNth(n)) => {
                let mut k = 1;
                while let Some(u) = next(r)? {
                    if k >= n {
                        out.write_all(&u)?;
                    }
                    k += 1;
                }
            }
            (false, Count::AllBut(n)) | (true, Count::First(n)) | (true, Count::AllBut(n)) => {
                let mut last: std::collections::VecDeque<Vec<u8>> =
                    std::collections::VecDeque::new();
                while let Some(u) = next(r)? {
                    last.push_back(u);
                    if last.len() > n {
                        let front = last.pop_front().unwrap_or_default();
                        if !tail {
                            out.write_all(&front)?;
                        }
                    }
                }
                if tail {
                    for l in last {
                        out.write_all(&l)?;
                    }
                }
            }
        }
        // (Every way of tail reads its input to the end.)
        if follow && name != "-" {
            followed.push((name.to_string(), read));
        }
        Ok(())
    });
    if !follow || followed.is_empty() {
        return status;
    }
    let last = followed.len() - 1;
    follow_files(io, followed, many, last).max(status)
}

/// `tail -f`: prints what is added to each file from `at` on, until interrupted (Ctrl-C,
/// `kill`), polling every 200 ms as GNU's tail does without inotify; a file cut shorter is
/// read again from its start ("file truncated"). With several files, a header names the file
/// each new piece comes from, when it is not the one before.
fn follow_files(io: &mut Io, files: Vec<(String, u64)>, many: bool, mut shown: usize) -> i32 {
    use std::io::{Read, Seek, SeekFrom};
    let mut open = Vec::new();
    for (name, at) in files {
        match std::fs::File::open(io.at(&name)) {
            Ok(mut f) => match f.seek(SeekFrom::Start(at)) {
                Ok(_) => open.push((name, f, at)),
                Err(e) => {
                    let _ = writeln!(io.stderr, "tail: {name}: {}", describe(&e));
                }
            },
            Err(e) => {
                let _ = writeln!(io.stderr, "tail: {name}: {}", describe(&e));
            }
        }
    }
    if open.is_empty() {
        return 1;
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut quiet = true;
        for (i, (name, f, at)) in open.iter_mut().enumerate() {
            let n = match f.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = writeln!(io.stderr, "tail: {name}: {}", describe(&e));
                    continue;
                }
            };
            if n == 0 {
                if f.metadata().is_ok_and(|m| m.len() < *at) && f.seek(SeekFrom::Start(0)).is_ok() {
                    let _ = writeln!(io.stderr, "tail: {name}: file truncated");
                    *at = 0;
                }
                continue;
            }
            quiet = false;
            *at += n as u64;
            let header = many && i != shown;
            shown = i;
            let r = (|| {
                if header {
                    writeln!(io.stdout, "\n==> {name} <==")?;
                }
                io.stdout.write_all(&buf[..n])?;
                io.stdout.flush()
            })();
            if let Err(e) = r {
                return write_error(io.stderr, "tail", &e);
            }
        }
        if quiet {
            for _ in 0..4 {
                if (io.interrupted)() {
                    return 130;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        } else if (io.interrupted)() {
            return 130;
        }
    }
}

#[inline(never)]
pub fn wc(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "lwcm", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "wc", &m, 1),
    };
    let (mut l, mut w, mut c, m) = (p.has('l'), p.has('w'), p.has('c'), p.has('m'));
    if !(l || w || c || m) {
        (l, w, c) = (true, true, true);
    }
    // Counts: lines, words, characters (UTF-8: every byte but continuation bytes), bytes.
    let mut total = [0u64; 4];
    let named = !p.operands.is_empty();
    // GNU's column width: 1 for a single count of a single input; else 7 with stdin among the
    // inputs, or the digits of the files' total size.
    let columns = [l, w, m, c].iter().filter(|x| **x).count();
    let width = if columns == 1 && p.operands.len() <= 1 {
        1
    } else if !named || p.operands.iter().any(|o| o == "-") {
        7
    } else {
        let bytes: u64 = p
            .operands
            .iter()
            .filter_map(|o| std::fs::metadata(io.at(o)).ok())
            .map(|m| m.len())
            .sum();
        bytes.max(1).to_string().len()
    };
    let show = |out: &mut dyn Write, n: [u64; 4], name: &str| -> io::Result<()> {
        let mut fields = Vec::new();
        for (on, v) in [(l, n[0]), (w, n[1]), (m, n[2]), (c, n[3])] {
            if on {
                fields.push(format!("{v:width$}"));
            }
        }
        if name.is_empty() {
            writeln!(out, "{}", fields.join(" "))
        } else {
            writeln!(out, "{} {name}", fields.join(" "))
        }
    };
    let (status, failed) = each_until_output_fails("wc", &p.operands, io, |r, name, out| {
        let mut n = [0u64; 4];
        let mut words = Words::default();
        loop {
            let k = match r.fill_buf() {
                Ok([]) => break,
                Ok(buf) => {
                    n[3] += buf.len() as u64;
                    if m {
                        n[2] += buf.iter().filter(|&&b| b & 0xc0 != 0x80).count() as u64;
                    }
                    if l {
                        n[0] += buf.iter().filter(|&&b| b == b'\n').count() as u64;
                    }
                    if w {
                        for &b in buf {
                            n[1] += words.feed(b) as u64;
                        }
                    }
                    buf.len()
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            r.consume(k);
        }
        for i in 0..4 {
            total[i] += n[i];
        }
        show(out, n, if named { name } else { "" })
    });
    if !failed
        && p.operands.len() > 1
        && let Err(e) = show(io.stdout, total, "total")
    {
        return write_error(io.stderr, "wc", &e);
    }
    status
}

/// wc's word count, as GNU wc counts in a UTF-8 locale: a word is a run of printable
/// characters between blanks. Blanks are space, `\t`, `\n`, `\v`, `\f`, `\r` and the Unicode
/// spaces (no-break ones included, as GNU wc 9 has them); characters that are neither blank nor
/// printable (controls, bytes that are not UTF-8) are transparent: they neither start nor end a
/// word, so `a\x01b` is one word and `\x01` none.
#[derive(Default)]
struct Words {
    in_word: bool,
    /// The bytes of a UTF-8 character seen so far, and how many it has.
    seq: [u8; 4],
    have: usize,
    need: usize,
}

impl Words {
    /// Takes the next byte; whether it started a word.
    fn feed(&mut self, b: u8) -> bool {
        if self.need > 0 {
            if b & 0xC0 == 0x80 {
                self.seq[self.have] = b;
                self.have += 1;
                if self.have < self.need {
                    return false;
                }
                self.need = 0;
                return match core::str::from_utf8(&self.seq[..self.have]) {
                    Ok(s) => self.class(s.chars().next().unwrap_or('\0')),
                    Err(_) => false, // overlong, a surrogate, past U+10FFFF: transparent
                };
            }
            // Cut short: what came so far is transparent; this byte starts afresh.
            self.need = 0;
        }
        let need = match b {
            0x00..=0x7F => return self.class(b as char),
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return false, // a stray continuation or a byte never in UTF-8
        };
        (self.seq[0], self.have, self.need) = (b, 1, need);
        false
    }

    fn class(&mut self, c: char) -> bool {
        let blank = matches!(
            c,
            ' ' | '\t'..='\r'
                | '\u{a0}'
                | '\u{1680}'
                | '\u{2000}'..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{2060}'
                | '\u{3000}'
        );
        if blank {
            self.in_word = false;
            return false;
        }
        if c.is_control() {
            return false;
        }
        let started = !self.in_word;
        self.in_word = true;
        started
    }
}

/// The leading number of a line for `sort -n` (like GNU: optional blanks, sign, digits,
/// fraction; no number sorts as zero).
fn numeric_key(s: &str) -> (i8, u128, u128) {
    let t = s.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let b = t.as_bytes();
    let digit = |c: &&u8| c.is_ascii_digit();
    let int = b.iter().take_while(digit).count();
    let iv: u128 = b[..int]
        .iter()
        .take(30)
        .fold(0, |a, c| a * 10 + (c - b'0') as u128);
    // The fraction's first 18 digits, as if padded with zeros to 18.
    let mut fv: u128 = 0;
    let mut places = 0;
    if b.get(int) == Some(&b'.') {
        for c in b[int + 1..].iter().take_while(digit).take(18) {
            fv = fv * 10 + (c - b'0') as u128;
            places += 1;
        }
    }
    for _ in places..18 {
        fv *= 10;
    }
    if iv == 0 && fv == 0 {
        return (0, 0, 0);
    }
    if neg {
        (-1, u128::MAX - iv, u128::MAX - fv)
    } else {
        (1, iv, fv)
    }
}

fn read_lines(tool: &str, operands: &[String], io: &mut Io, lines: &mut Vec<String>) -> i32 {
    each(tool, operands, io, |r, _, _| {
        let mut raw = Vec::new();
        loop {
            raw.clear();
            if r.read_until(b'\n', &mut raw)? == 0 {
                return Ok(());
            }
            let s = String::from_utf8_lossy(&raw);
            lines.push(s.strip_suffix('\n').unwrap_or(&s).to_string());
        }
    })
}

/// `sort -h`'s key: the number's sign, then its SI suffix (none, K, M, G, T, P, E), then the
/// number, as GNU compares human sizes (`2K` after `1000`, `1M` after `900K`).
fn human_key(s: &str) -> (i8, i8, (i8, u128, u128)) {
    let n = numeric_key(s);
    let t = s.trim_start();
    let t = t.strip_prefix('-').unwrap_or(t);
    let end = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let rank = t[end..]
        .bytes()
        .next()
        .and_then(|b| b"kKMGTPE".iter().position(|&u| u == b))
        .map_or(0, |i| i.max(1) as i8);
    (n.0, rank * n.0, n)
}

/// One `-k` key: from field `f1` (1-based), character `c1` (1-based) to field `f2`'s character
/// `c2` (0: the field's end; no `f2`: the line's end), with its own ordering options.
#[derive(Clone, Default)]
struct Key {
    f1: usize,
    c1: usize,
    f2: Option<usize>,
    c2: usize,
    opts: String,
}

/// Parses `F[.C][OPTS][,F[.C][OPTS]]`.
fn parse_key(spec: &str) -> Option<Key> {
    let mut k = Key::default();
    let (start, end) = match spec.split_once(',') {
        Some((s, e)) => (s, Some(e)),
        None => (spec, None),
    };
    let pos = |p: &str, opts: &mut String| -> Option<(usize, usize)> {
        let digits = |x: &str| x.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(p);
        let f: usize = p[..n].parse().ok()?;
        let mut rest = &p[n..];
        let mut c = 0;
        if let Some(r) = rest.strip_prefix('.') {
            let m = digits(r);
            c = r[..m].parse().ok()?;
            rest = &r[m..];
        }
        if !rest.bytes().all(|b| b"bdfghinrR".contains(&b)) {
            return None;
        }
        opts.push_str(rest);
        Some((f, c))
    };
    let (f1, c1) = pos(start, &mut k.opts)?;
    if f1 == 0 || (c1 == 0 && start.contains('.')) {
        return None;
    }
    (k.f1, k.c1) = (f1, c1.max(1));
    if let Some(e) = end {
        let (f2, c2) = pos(e, &mut k.opts)?;
        if f2 == 0 {
            return None;
        }
        (k.f2, k.c2) = (Some(f2), c2);
    }
    Some(k)
}

/// Where field `f` (1-based) of `line` starts and ends: fields are separated by `sep`, or
/// without one each is a run of blanks and the non-blanks after it (as GNU sort splits them).
fn field(line: &str, sep: Option<char>, f: usize) -> (usize, usize) {
    let b = line.as_bytes();
    let blank = |i: usize| b[i] == b' ' || b[i] == b'\t';
    let mut start = 0;
    for _ in 1..f {
        match sep {
            Some(c) => match line[start..].find(c) {
                Some(i) => start += i + c.len_utf8(),
                None => return (line.len(), line.len()),
            },
            None => {
                while start < b.len() && blank(start) {
                    start += 1;
                }
                while start < b.len() && !blank(start) {
                    start += 1;
                }
            }
        }
    }
    let end = match sep {
        Some(c) => line[start..].find(c).map_or(line.len(), |i| start + i),
        None => {
            let mut e = start;
            while e < b.len() && blank(e) {
                e += 1;
            }
            while e < b.len() && !blank(e) {
                e += 1;
            }
            e
        }
    };
    (start, end)
}

/// The part of `line` that key `k` selects.
fn key_text<'a>(line: &'a str, k: &Key, sep: Option<char>) -> &'a str {
    let skip_blanks = |s: usize| {
        if k.opts.contains('b') {
            s + line[s..].len() - line[s..].trim_start_matches([' ', '\t']).len()
        } else {
            s
        }
    };
    // `n` characters on from byte `at`, but not past `limit`.
    let chars_on = |at: usize, n: usize, limit: usize| {
        line[at..limit]
            .char_indices()
            .nth(n)
            .map_or(limit, |(i, _)| at + i)
    };
    let (fs, fe) = field(line, sep, k.f1);
    let start = chars_on(skip_blanks(fs), k.c1 - 1, line.len().max(fe));
    let end = match k.f2 {
        None => line.len(),
        Some(f2) => {
            let (s2, e2) = field(line, sep, f2);
            if k.c2 == 0 {
                e2
            } else {
                chars_on(skip_blanks(s2), k.c2, e2)
            }
        }
    };
    &line[start..end.max(start)]
}

/// Compares two keys' texts by the ordering options in `opts` (`n`, `h`, `f`, `r`).
fn compare_by(a: &str, b: &str, opts: &str) -> Ordering {
    let o = if opts.contains('h') {
        human_key(a).cmp(&human_key(b))
    } else if opts.contains('n') {
        numeric_key(a).cmp(&numeric_key(b))
    } else if opts.contains('f') {
        a.bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
    } else {
        a.cmp(b)
    };
    if opts.contains('r') { o.reverse() } else { o }
}

/// `sort [-bfhnru] [-t SEP] [-k KEY]... [FILE...]`: lines in byte order (as `LC_ALL=C sort`),
/// by keys when given, the whole line breaking ties (not with `-u`, which keeps the first
/// line of each run of equal keys).
#[inline(never)]
pub fn sort(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "bfhnrus", "kt") {
        Ok(p) => p,
        Err(m) => return usage(io, "sort", &m, 2),
    };
    let sep = match p.value('t') {
        None => None,
        Some(t) if t.chars().count() == 1 => t.chars().next(),
        Some(t) => return usage(io, "sort", &format!("multi-character tab '{t}'"), 2),
    };
    let global: String = p.flags.iter().filter(|c| "bfhnr".contains(**c)).collect();
    let mut keys = Vec::new();
    for (c, v) in &p.values {
        if *c != 'k' {
            continue;
        }
        match parse_key(v) {
            // A key without ordering options of its own takes the global ones.
            Some(mut k) => {
                if !k.opts.bytes().any(|b| b"dfghinrR".contains(&b)) {
                    k.opts.push_str(&global);
                }
                keys.push(k);
            }
            None => {
                return usage(io, "sort", &format!("invalid field specification '{v}'"), 2);
            }
        }
    }
    if keys.is_empty() {
        keys.push(Key {
            f1: 1,
            c1: 1,
            opts: global.clone(),
            ..Key::default()
        });
    }
    let by_keys = |a: &String, b: &String| {
        keys.iter()
            .map(|k| compare_by(key_text(a, k, sep), key_text(b, k, sep), &k.opts))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let (unique, stable, reverse) = (p.has('u'), p.has('s'), p.has('r'));
    let mut lines = Vec::new();
    let status = read_lines("sort", &p.operands, io, &mut lines);
    lines.sort_by(|a, b| {
        by_keys(a, b).then_with(|| {
            if unique || stable {
                Ordering::Equal
            } else if reverse {
                b.cmp(a)
            } else {
                a.cmp(b)
            }
        })
    });
    if unique {
        lines.dedup_by(|a, b| by_keys(a, b).is_eq());
    }
    for l in lines {
        if let Err(e) = writeln!(io.stdout, "{l}") {
            write_error(io.stderr, "sort", &e);
            return 2;
        }
    }
    if status != 0 { 2 } else { 0 }
}

#[inline(never)]
pub fn uniq(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "cdu", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "uniq", &m, 1),
    };
    if p.operands.len() > 1 {
        return usage(
            io,
            "uniq",
            "writing to an output file is not supported; use > FILE",
            1,
        );
    }
    let mut lines = Vec::new();
    let status = read_lines("uniq", &p.operands, io, &mut lines);
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        while j < lines.len() && lines[j] == lines[i] {
            j += 1;
        }
        let n = j - i;
        let show = (!p.has('d') || n > 1) && (!p.has('u') || n == 1);
        if show {
            let r = if p.has('c') {
                writeln!(io.stdout, "{n:7} {}", lines[i])
            } else {
                writeln!(io.stdout, "{}", lines[i])
            };
            if let Err(e) = r {
                return write_error(io.stderr, "uniq", &e);
            }
        }
        i = j;
    }
    status
}

#[inline(never)]
pub fn tee(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "a", "") {
        Ok(p) => p,
        Err(m) => return usage(io, "tee", &m, 1),
    };
    let mut status = 0;
    let mut files = Vec::new();
    for name in &p.operands {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .append(p.has('a'))
            .truncate(!p.has('a'))
            .open(io.at(name));
        match f {
            Ok(f) => files.push((name.clone(), Some(f))),
            Err(e) => {
                let _ = writeln!(io.stderr, "tee: {name}: {}", describe(&e));
                status = 1;
            }
        }
    }
    let mut buf = [0u8; 4096];
    let mut to_stdout = true;
    loop {
        let n = match io.stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = writeln!(io.stderr, "tee: -: {}", describe(&e));
                return 1;
            }
        };
        // A failed output is reported once and left; the others go on (GNU's tee).
        if to_stdout && let Err(e) = io.stdout.write_all(&buf[..n]) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                let _ = writeln!(io.stderr, "tee: standard output: {}", describe(&e));
            }
            to_stdout = false;
            status = 1;
        }
        for (name, f) in files.iter_mut() {
            if let Some(file) = f
                && let Err(e) = file.write_all(&buf[..n])
            {
                let _ = writeln!(io.stderr, "tee: {name}: {}", describe(&e));
                *f = None;
                status = 1;
            }
        }
    }
    status
}

/// `hexdump -C` (canonical) or `xxd` format.
#[inline(never)]
pub fn hexdump(args: &[String], io: &mut Io, xxd: bool) -> i32 {
    let tool = if xxd { "xxd" } else { "hexdump" };
    let p = match parse(args, "C", "") {
        Ok(p) => p,
        Err(m) => return usage(io, tool, &m, 1),
    };
    let mut data = Vec::new();
    let status = each(tool, &p.operands, io, |r, _, _| {
        r.read_to_end(&mut data).map(|_| ())
    });
    let printable = |b: u8| {
        if (0x20..0x7F).contains(&b) {
            b as char
        } else {
            '.'
        }
    };
    let mut out = String::new();
    for (i, row) in data.chunks(16).enumerate() {
        let off = i * 16;
        if xxd {
            out.push_str(&format!("{off:08x}: "));
            for k in 0..16 {
                match row.get(k) {
                    Some(b) => out.push_str(&format!("{b:02x}")),
                    None => out.push_str("  "),
                }
                if k % 2 == 1 {
                    out.push(' ');
                }
            }
            out.push(' ');
            out.extend(row.iter().map(|&b| printable(b)));
        } else {
            out.push_str(&format!("{off:08x}  "));
            for k in 0..16 {
                match row.get(k) {
                    Some(b) => out.push_str(&format!("{b:02x} ")),
                    None => out.push_str("   "),
                }
                if k == 7 {
                    out.push(' ');
                }
            }
            out.push_str(" |");
            out.extend(row.iter().map(|&b| printable(b)));
            out.push('|');
        }
        out.push('\n');
    }
    if !xxd && !data.is_empty() {
        out.push_str(&format!("{:08x}\n", data.len()));
    }
    if let Err(e) = io.stdout.write_all(out.as_bytes()) {
        return write_error(io.stderr, tool, &e);
    }
    status
}

#[inline(never)]
pub fn sleep(args: &[String], io: &mut Io) -> i32 {
    let Some(arg) = args.first() else {
        return usage(io, "sleep", "missing operand", 1);
    };
    // Seconds with an optional fraction, read without floating point.
    let (int, frac) = arg.split_once('.').unwrap_or((arg, ""));
    let ok = !(int.is_empty() && frac.is_empty())
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    let secs: Option<u64> = if int.is_empty() {
        Some(0)
    } else {
        int.parse().ok()
    };
    let (true, Some(secs)) = (ok, secs) else {
        return usage(io, "sleep", &format!("invalid time interval '{arg}'"), 1);
    };
    let micros: u64 = format!("{:0<6}", &frac[..frac.len().min(6)])
        .parse()
        .unwrap_or(0);
    // In slices, so that a sleep run inside the shell stops when the command is interrupted.
    let end = std::time::Instant::now()
        + std::time::Duration::from_secs(secs)
        + std::time::Duration::from_micros(micros);
    loop {
        if (io.interrupted)() {
            return 130;
        }
        let now = std::time::Instant::now();
        if now >= end {
            return 0;
        }
        std::thread::sleep((end - now).min(std::time::Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(tool: &str, args: &[&str], input: impl AsRef<[u8]>) -> (i32, String, String) {
        let mut stdin = input.as_ref();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let code = crate::run(tool, &args, &mut Io::new(&mut stdin, &mut out, &mut err));
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn cat_head_tail() {
        assert_eq!(run("cat", &[], "a\nb\n").1, "a\nb\n");
        assert_eq!(run("cat", &["-n"], "a\nb").1, "     1\ta\n     2\tb");
        let ten: String = (1..=12).map(|i| format!("{i}\n")).collect();
        assert_eq!(run("head", &["-n", "2"], &ten).1, "1\n2\n");
        assert_eq!(run("head", &["-3"], &ten).1, "1\n2\n3\n");
        assert_eq!(run("head", &[], &ten).1.lines().count(), 10);
        assert_eq!(run("tail", &["-n2"], &ten).1, "11\n12\n");
        assert_eq!(run("tail", &["-1"], "x\ny").1, "y");
        assert_eq!(run("head", &["-n", "x"], "").0, 1);
    }

    #[test]
    fn wc_counts() {
        assert_eq!(
            run("wc", &[], "one two\nthree\n").1,
            "      2       3      14\n"
        );
        assert_eq!(run("wc", &["-l"], "a\nb\nc").1, "2\n");
        assert_eq!(run("wc", &["-wc"], " x  y ").1, "      2       6\n");
    }

    /// `printf INPUT | wc` against what GNU wc 9.1 printed for the same bytes (C.UTF-8).
    #[test]
    fn wc_counts_as_gnu_wc() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "      0       0       0\n"),
            (b"a", "      0       1       1\n"),
            (b"a b\x0bc", "      0       3       5\n"),
            (b"a\x0cb\rc\n", "      1       3       6\n"),
            (b"  a   b  ", "      0       2       9\n"),
            (b"x\n\n", "      2       1       3\n"),
            (b"a\x01b c", "      0       2       5\n"),
            (b"\x01", "      0       0       1\n"),
            (b"a \x7f b", "      0       2       5\n"),
            ("\u{e9} \u{fc}".as_bytes(), "      0       2       5\n"),
            (b"a\xa0b", "      0       1       3\n"),
            (b"\xff \xfe", "      0       0       3\n"),
            (b"a\xc2\xa0b", "      0       2       4\n"),
            (b"a\xc2\x85b c", "      0       2       6\n"),
            (b"a\xe2\x80\x83b", "      0       2       5\n"),
            (b"\xe2\x80\x8b", "      0       1       3\n"),
            (b"x\xc3", "      0       1       2\n"),
            (b"a\xe2\x82 b", "      0       2       5\n"),
            (b"\xed\xa0\x80", "      0       0       3\n"),
            (b"\xf4\x90\x80\x80", "      0       0       4\n"),
        ];
        for (input, gnu) in cases {
            assert_eq!(run("wc", &[], input).1, *gnu, "input {input:?}");
        }
    }

    #[test]
    fn sort_uniq_tee_hexdump() {
        assert_eq!(run("sort", &[], "b\na\nc\na\n").1, "a\na\nb\nc\n");
        assert_eq!(run("sort", &["-r", "-u"], "b\na\nc\na\n").1, "c\nb\na\n");
        assert_eq!(
            run("sort", &["-n"], "10\n9\n-1\n2.5\nx\n").1,
            "-1\nx\n2.5\n9\n10\n"
        );
        assert_eq!(run("uniq", &[], "a\na\nb\na\n").1, "a\nb\na\n");
        assert_eq!(
            run("uniq", &["-c"], "a\na\nb\n").1,
            "      2 a\n      1 b\n"
        );
        assert_eq!(run("uniq", &["-d"], "a\na\nb\n").1, "a\n");
        assert_eq!(run("tee", &[], "through\n").1, "through\n");
        assert_eq!(
            run("hexdump", &[], "Hello, eurali!\n\x01").1,
            "00000000  48 65 6c 6c 6f 2c 20 65  75 72 61 6c 69 21 0a 01  |Hello, eurali!..|\n00000010\n"
        );
        assert_eq!(
            run("xxd", &[], "hi\n").1,
            "00000000: 6869 0a                                  hi.\n"
        );
    }

    /// An output that takes `room` bytes, then answers a full disk.
    struct Full {
        room: usize,
        got: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.got.len() + buf.len() > self.room {
                return Err(io::ErrorKind::StorageFull.into());
            }
            self.got.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// `tool args` with stdin `input` into an output of `room` bytes: (status, what was
    /// written, stderr).
    fn into_full(tool: &str, args: &[&str], input: &str, room: usize) -> (i32, String, String) {
        let mut stdin = input.as_bytes();
        let mut out = Full {
            room,
            got: Vec::new(),
        };
        let mut err = Vec::new();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let code = crate::run(tool, &args, &mut Io::new(&mut stdin, &mut out, &mut err));
        (
            code,
            String::from_utf8(out.got).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn a_full_output_is_a_write_error_that_ends_the_tool() {
        let lines: String = (1..=100).map(|i| format!("{i}\n")).collect();
        let full = |tool: &str| format!("{tool}: write error: No space left on device\n");
        // What fitted is there, and nothing after the failure.
        for (tool, args) in [
            ("cat", &[][..]),
            ("head", &["-n", "50"][..]),
            ("tail", &["-n", "50"][..]),
            ("grep", &["1"][..]),
            ("sort", &[][..]),
            ("uniq", &[][..]),
        ] {
            let (code, out, err) = into_full(tool, args, &lines, 10);
            assert_eq!(err, full(tool), "{tool}");
            assert_eq!(
                code,
                if matches!(tool, "grep" | "sort") {
                    2
                } else {
                    1
                },
                "{tool}"
            );
            let whole = run(tool, args, &lines).1;
            assert!(out.len() <= 10 && whole.starts_with(&out), "{tool} {out:?}");
        }
        assert_eq!(
            into_full("seq", &["1000"], "", 10),
            (1, "1\n2\n3\n4\n5\n".into(), full("seq"))
        );
        for (tool, args) in [
            ("wc", &[][..]),
            ("xxd", &[][..]),
            ("printf", &["%s", "x"][..]),
        ] {
            let (code, _, err) = into_full(tool, args, &lines, 0);
            assert_eq!((code, err), (1, full(tool)), "{tool}");
        }
        // tee goes on with its files; only the output is given up, and said so once.
        let (code, _, err) = into_full("tee", &[], &lines.repeat(100), 10);
        assert_eq!(
            (code, err.as_str()),
            (1, "tee: standard output: No space left on device\n")
        );
    }

    #[test]
    fn errors_and_misc() {
        assert_eq!(run("sleep", &["0.01"], "").0, 0);
        assert_eq!(
            run("sleep", &["x"], "").2,
            "sleep: invalid time interval 'x'\n"
        );
        assert_eq!(run("true", &[], "").0, 0);
        assert_eq!(run("false", &[], "").0, 1);
        assert_eq!(run("nope", &[], "").0, 127);
        assert_eq!(run("cat", &["-z"], "").2, "cat: invalid option -- 'z'\n");
    }
}
