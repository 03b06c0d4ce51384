//! diff: the lines two files differ by, from a shortest edit script (Myers' O(ND) algorithm in
//! linear space: the middle snake, divide and conquer with an explicit stack), printed in the
//! normal or unified format.

use std::io::{self, Write};

use crate::Io;
use crate::output::{help, wants_help, write_error};
use std::io::describe;

pub(crate) const HELP: &str = "Usage: diff [-q] [-u | -U N] FILE1 FILE2
Compare two files line by line (- for standard input). Status 0: the same,
1: different, 2: trouble.
  -q      only say whether the files differ
  -u      unified format with 3 lines of context
  -U N    unified format with N lines of context
";

/// Marks in `a_keep`/`b_keep` the lines of a longest common subsequence of `a` and `b`.
fn lcs(a: &[&[u8]], b: &[&[u8]], a_keep: &mut [bool], b_keep: &mut [bool]) {
    let mut work = vec![(0, a.len(), 0, b.len())];
    let mut vf: Vec<isize> = Vec::new();
    let mut vb: Vec<isize> = Vec::new();
    while let Some((mut a0, mut a1, mut b0, mut b1)) = work.pop() {
        // The common head and tail are kept as they are.
        while a0 < a1 && b0 < b1 && a[a0] == b[b0] {
            (a_keep[a0], b_keep[b0]) = (true, true);
            a0 += 1;
            b0 += 1;
        }
        while a0 < a1 && b0 < b1 && a[a1 - 1] == b[b1 - 1] {
            (a_keep[a1 - 1], b_keep[b1 - 1]) = (true, true);
            a1 -= 1;
            b1 -= 1;
        }
        if a0 == a1 || b0 == b1 {
            continue;
        }
        if let Some((x, y)) = middle(&a[a0..a1], &b[b0..b1], &mut vf, &mut vb) {
            work.push((a0 + x, a1, b0 + y, b1));
            work.push((a0, a0 + x, b0, b0 + y));
        }
    }
}

/// Where the middle snake of an edit script from `a` to `b` meets (both non-empty, with no
/// common head or tail): a point to split the problem at.
fn middle(
    a: &[&[u8]],
    b: &[&[u8]],
    v1: &mut Vec<isize>,
    v2: &mut Vec<isize>,
) -> Option<(usize, usize)> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max_d = (n + m + 1) / 2;
    let off = max_d;
    let len = (2 * max_d + 2) as usize;
    v1.clear();
    v1.resize(len, -1);
    v2.clear();
    v2.resize(len, -1);
    v1[off as usize + 1] = 0;
    v2[off as usize + 1] = 0;
    let delta = n - m;
    let front = delta % 2 != 0;
    let (mut k1s, mut k1e, mut k2s, mut k2e) = (0, 0, 0, 0);
    for d in 0..max_d {
        let mut k1 = -d + k1s;
        while k1 <= d - k1e {
            let i = (off + k1) as usize;
            let mut x1 = if k1 == -d || (k1 != d && v1[i - 1] < v1[i + 1]) {
                v1[i + 1]
            } else {
                v1[i - 1] + 1
            };
            let mut y1 = x1 - k1;
            while x1 < n && y1 < m && a[x1 as usize] == b[y1 as usize] {
                x1 += 1;
                y1 += 1;
            }
            v1[i] = x1;
            if x1 > n {
                k1e += 2;
            } else if y1 > m {
                k1s += 2;
            } else if front {
                let j = off + delta - k1;
                if j >= 0 && (j as usize) < len && v2[j as usize] != -1 && x1 >= n - v2[j as usize]
                {
                    return Some((x1 as usize, y1 as usize));
                }
            }
            k1 += 2;
        }
        let mut k2 = -d + k2s;
        while k2 <= d - k2e {
            let i = (off + k2) as usize;
            let mut x2 = if k2 == -d || (k2 != d && v2[i - 1] < v2[i + 1]) {
                v2[i + 1]
            } else {
                v2[i - 1] + 1
            };
            let mut y2 = x2 - k2;
            while x2 < n && y2 < m && a[(n - x2 - 1) as usize] == b[(m - y2 - 1) as usize] {
                x2 += 1;
                y2 += 1;
            }
            v2[i] = x2;
            if x2 > n {
                k2e += 2;
            } else if y2 > m {
                k2s += 2;
            } else if !front {
                let j = off + delta - k2;
                if j >= 0 && (j as usize) < len && v1[j as usize] != -1 {
                    let x1 = v1[j as usize];
                    let y1 = off + x1 - j;
                    if x1 >= n - x2 {
                        return Some((x1 as usize, y1 as usize));
                    }
                }
            }
            k2 += 2;
        }
    }
    None
}

/// The lines of `text`, each with its newline (the last may have none).
fn lines(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&b| b == b'\n').collect()
}

/// Writes one line with its mark; a last line without a newline says so, as GNU's diff does.
fn put(out: &mut dyn Write, mark: &str, line: &[u8]) -> io::Result<()> {
    out.write_all(mark.as_bytes())?;
    out.write_all(line)?;
    if !line.ends_with(b"\n") {
        out.write_all(b"\n\\ No newline at end of file\n")?;
    }
    Ok(())
}

/// A range for a hunk header: `start,count` (count 1: `start`; count 0: the line before).
fn range(start: usize, count: usize, unified: bool) -> String {
    match (count, unified) {
        (1, true) => format!("{}", start + 1),
        (0, true) => format!("{start},0"),
        (_, true) => format!("{},{count}", start + 1),
        (0, false) => format!("{start}"),
        (1, false) => format!("{}", start + 1),
        (_, false) => format!("{},{}", start + 1, start + count),
    }
}

/// `diff [-q] [-u | -U N] FILE1 FILE2`.
#[inline(never)]
pub fn diff(args: &[String], io: &mut Io) -> i32 {
    if wants_help(args) {
        return help(io, HELP);
    }
    let p = match crate::args::parse(args, "qu", "U") {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(
                io.stderr,
                "diff: {m}\n{}",
                HELP.lines().next().unwrap_or("")
            );
            return 2;
        }
    };
    let context = match p.value('U') {
        Some(v) => match v.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                let _ = writeln!(io.stderr, "diff: invalid context length '{v}'");
                return 2;
            }
        },
        None => p.has('u').then_some(3),
    };
    let [f1, f2] = p.operands.as_slice() else {
        let m = if p.operands.len() < 2 {
            "missing operand after"
        } else {
            "extra operand after"
        };
        let last = p.operands.last().map_or("diff", String::as_str);
        let _ = writeln!(
            io.stderr,
            "diff: {m} '{last}'\n{}",
            HELP.lines().next().unwrap_or("")
        );
        return 2;
    };
    let mut texts = Vec::new();
    for f in [f1, f2] {
        let mut v = Vec::new();
        let r = crate::input::open(f, io.cwd, io.stdin)
            .and_then(|mut i| i.reader().read_to_end(&mut v));
        if let Err(e) = r {
            let _ = writeln!(io.stderr, "diff: {f}: {}", describe(&e));
            return 2;
        }
        texts.push(v);
    }
    if texts[0] == texts[1] {
        return 0;
    }
    if p.has('q') {
        return match writeln!(io.stdout, "Files {f1} and {f2} differ") {
            Ok(()) => 1,
            Err(e) => write_error(io.stderr, "diff", &e).max(2),
        };
    }
    let (a, b) = (lines(&texts[0]), lines(&texts[1]));
    let (mut ak, mut bk) = (vec![false; a.len()], vec![false; b.len()]);
    lcs(&a, &b, &mut ak, &mut bk);
    // The changes: (a start, a end, b start, b end) of each run of lines not kept.
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && ak[i] && bk[j] {
            i += 1;
            j += 1;
            continue;
        }
        let (si, sj) = (i, j);
        while i < a.len() && !ak[i] {
            i += 1;
        }
        while j < b.len() && !bk[j] {
            j += 1;
        }
        changes.push((si, i, sj, j));
    }
    match print(io.stdout, &a, &b, &changes, context, f1, f2) {
        Ok(()) => 1,
        Err(e) => write_error(io.stderr, "diff", &e).max(2),
    }
}

fn print(
    out: &mut dyn Write,
    a: &[&[u8]],
    b: &[&[u8]],
    changes: &[(usize, usize, usize, usize)],
    context: Option<usize>,
    f1: &str,
    f2: &str,
) -> io::Result<()> {
    let Some(c) = context else {
        for &(a0, a1, b0, b1) in changes {
            let op = match (a1 > a0, b1 > b0) {
                (true, true) => 'c',
                (true, false) => 'd',
                _ => 'a',
            };
            writeln!(
                out,
                "{}{op}{}",
                range(a0, a1 - a0, false),
                range(b0, b1 - b0, false)
            )?;
            for l in &a[a0..a1] {
                put(out, "< ", l)?;
            }
            if op == 'c' {
                writeln!(out, "---")?;
            }
            for l in &b[b0..b1] {
                put(out, "> ", l)?;
            }
        }
        return Ok(());
    };
    // (eurali's file servers keep no times: the headers name the files only.)
    writeln!(out, "--- {f1}\n+++ {f2}")?;
    let mut k = 0;
    while k < changes.len() {
        // A hunk: changes whose gaps are at most 2*c lines, with c lines of context around.
        let mut last = k;
        while last + 1 < changes.len() && changes[last + 1].0 - changes[last].1 <= 2 * c {
            last += 1;
        }
        let (a0, b0) = (
            changes[k].0.saturating_sub(c),
            changes[k].2.saturating_sub(c),
        );
        let a1 = (changes[last].1 + c).min(a.len());
        let b1 = (changes[last].3 + c).min(b.len());
        writeln!(
            out,
            "@@ -{} +{} @@",
            range(a0, a1 - a0, true),
            range(b0, b1 - b0, true)
        )?;
        let mut i = a0;
        for &(ca0, ca1, cb0, cb1) in &changes[k..=last] {
            for l in &a[i..ca0] {
                put(out, " ", l)?;
            }
            for l in &a[ca0..ca1] {
                put(out, "-", l)?;
            }
            for l in &b[cb0..cb1] {
                put(out, "+", l)?;
            }
            i = ca1;
        }
        for l in &a[i..a1] {
            put(out, " ", l)?;
        }
        k = last + 1;
    }
    Ok(())
}
