//! Tools that rearrange lines: tac, rev, nl, paste, fold, expand, comm, cmp, yes.

use crate::Io;
use crate::args::parse;
use crate::input::open;
use crate::output::write_error;
use std::io::describe;

fn fail(io: &mut Io, tool: &str, msg: &str, code: i32) -> i32 {
    let _ = writeln!(io.stderr, "{tool}: {msg}");
    code
}

/// The lines of each operand (stdin when there are none), each with its newline if it had
/// one; unreadable operands are reported and make the status 1.
fn read_all(tool: &str, operands: &[String], io: &mut Io) -> (Vec<Vec<Vec<u8>>>, i32) {
    let names = crate::input::inputs(operands);
    let mut files = Vec::new();
    let mut status = 0;
    for name in names {
        let r = open(name, io.cwd, io.stdin).and_then(|mut input| {
            let mut lines = Vec::new();
            loop {
                let mut line = Vec::new();
                if input.reader().read_until(b'\n', &mut line)? == 0 {
                    return Ok(lines);
                }
                lines.push(line);
            }
        });
        match r {
            Ok(l) => files.push(l),
            Err(e) => {
                let _ = writeln!(io.stderr, "{tool}: {name}: {}", describe(&e));
                files.push(Vec::new());
                status = 1;
            }
        }
    }
    (files, status)
}

fn emit(io: &mut Io, tool: &str, data: &[u8], status: i32) -> i32 {
    match io.stdout.write_all(data) {
        Ok(()) => status,
        Err(e) => write_error(io.stderr, tool, &e),
    }
}

#[inline(never)]
pub fn tac(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "", "") {
        Ok(p) => p,
        Err(m) => return fail(io, "tac", &m, 1),
    };
    let (files, status) = read_all("tac", &p.operands, io);
    let mut out = Vec::new();
    for lines in files {
        // A last line without its newline is joined to the one printed after it (GNU).
        for l in lines.iter().rev() {
            out.extend_from_slice(l);
        }
    }
    emit(io, "tac", &out, status)
}

#[inline(never)]
pub fn rev(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "", "") {
        Ok(p) => p,
        Err(m) => return fail(io, "rev", &m, 1),
    };
    let (files, status) = read_all("rev", &p.operands, io);
    let mut out = String::new();
    for l in files.iter().flatten() {
        let s = String::from_utf8_lossy(l);
        let (body, nl) = match s.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (&s[..], ""),
        };
        out.extend(body.chars().rev());
        out.push_str(nl);
    }
    emit(io, "rev", out.as_bytes(), status)
}

#[inline(never)]
pub fn yes(args: &[String], io: &mut Io) -> i32 {
    let text = if args.is_empty() {
        "y".to_string()
    } else {
        args.join(" ")
    };
    let line = format!("{text}\n");
    let block = line.repeat((4096 / line.len()).max(1));
    loop {
        if (io.interrupted)() {
            return 130;
        }
        if let Err(e) = io.stdout.write_all(block.as_bytes()) {
            return write_error(io.stderr, "yes", &e);
        }
    }
}

#[inline(never)]
pub fn nl(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "", "bws") {
        Ok(p) => p,
        Err(m) => return fail(io, "nl", &m, 1),
    };
    let style = p.value('b').unwrap_or("t");
    if !matches!(style, "a" | "t" | "n") {
        return fail(
            io,
            "nl",
            &format!("invalid body numbering style: '{style}'"),
            1,
        );
    }
    let width = match p.value('w').map(str::parse::<usize>) {
        None => 6,
        Some(Ok(w)) if w > 0 => w,
        _ => return fail(io, "nl", "invalid line number field width", 1),
    };
    let mut n = 1;
    let sep = p.value('s').unwrap_or("\t");
    let (files, status) = read_all("nl", &p.operands, io);
    let mut out = Vec::new();
    for l in files.iter().flatten() {
        let empty = l == b"\n";
        let numbered = match style {
            "a" => true,
            "t" => !empty,
            _ => false,
        };
        if numbered {
            out.extend_from_slice(format!("{n:>width$}{sep}").as_bytes());
            n += 1;
        } else {
            out.extend(std::iter::repeat_n(b' ', width + sep.len()));
        }
        out.extend_from_slice(l);
    }
    emit(io, "nl", &out, status)
}

/// `\n \t \\ \0` in paste's delimiter list.
fn paste_delims(s: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        let d = match c {
            '\\' => match it.next() {
                Some('n') => "\n".to_string(),
                Some('t') => "\t".to_string(),
                Some('0') | None => String::new(),
                Some(c) => c.to_string(),
            },
            c => c.to_string(),
        };
        out.push(d.into_bytes());
    }
    out
}

#[inline(never)]
pub fn paste(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "s", "d") {
        Ok(p) => p,
        Err(m) => return fail(io, "paste", &m, 1),
    };
    let delims = paste_delims(p.value('d').unwrap_or("\t"));
    if delims.is_empty() {
        return fail(
            io,
            "paste",
            "delimiter list ends with an unescaped backslash: ",
            1,
        );
    }
    // The files' lines; stdin, named any number of times, is read once and its lines dealt
    // out to each `-` in turn (as GNU does: `paste - -` pairs lines).
    let operands = if p.operands.is_empty() {
        vec!["-".to_string()]
    } else {
        p.operands.clone()
    };
    let dashes = operands.iter().filter(|o| *o == "-").count();
    let mut stdin_lines: Option<Vec<Vec<u8>>> = None;
    let mut status = 0;
    let mut files = Vec::new();
    for o in &operands {
        let (mut read, st) = match (o.as_str(), &stdin_lines) {
            ("-", Some(_)) => (Vec::new(), 0),
            ("-", None) => read_all("paste", &[], io),
            _ => read_all("paste", core::slice::from_ref(o), io),
        };
        status |= st;
        if o != "-" {
            files.push(read.pop().unwrap_or_default());
            continue;
        }
        let all = stdin_lines.get_or_insert_with(|| read.pop().unwrap_or_default());
        let k = files
            .iter()
            .zip(&operands)
            .filter(|(_, o)| *o == "-")
            .count();
        files.push(all.iter().skip(k).step_by(dashes).cloned().collect());
    }
    let strip = |l: &[u8]| l.strip_suffix(b"\n").unwrap_or(l).to_vec();
    let mut out = Vec::new();
    if p.has('s') {
        for lines in &files {
            for (k, l) in lines.iter().enumerate() {
                if k > 0 {
                    out.extend_from_slice(&delims[(k - 1) % delims.len()]);
                }
                out.extend(strip(l));
            }
            out.push(b'\n');
        }
    } else {
        let rows = files.iter().map(Vec::len).max().unwrap_or(0);
        for r in 0..rows {
            for (k, lines) in files.iter().enumerate() {
                if k > 0 {
                    out.extend_from_slice(&delims[(k - 1) % delims.len()]);
                }
                if let Some(l) = lines.get(r) {
                    out.extend(strip(l));
                }
            }
            out.push(b'\n');
        }
    }
    emit(io, "paste", &out, status)
}

#[inline(never)]
pub fn fold(args: &[String], io: &mut Io) -> i32 {
    let (old, rest): (Vec<String>, Vec<String>) = args.iter().cloned().partition(|a| {
        a.len() > 1 && a.starts_with('-') && a[1..].bytes().all(|b| b.is_ascii_digit())
    });
    let p = match parse(&rest, "bs", "w") {
        Ok(p) => p,
        Err(m) => return fail(io, "fold", &m, 1),
    };
    let w = p
        .value('w')
        .map(String::from)
        .or(old.last().map(|o| o[1..].to_string()));
    let width: usize = match w.as_deref().map(str::parse) {
        None => 80,
        Some(Ok(w)) if w > 0 => w,
        _ => {
            return fail(
                io,
                "fold",
                &format!("invalid number of columns: '{}'", w.unwrap_or_default()),
                1,
            );
        }
    };
    let (files, status) = read_all("fold", &p.operands, io);
    let mut out = Vec::new();
    for l in files.iter().flatten() {
        let (body, nl) = match l.strip_suffix(b"\n") {
            Some(b) => (b, true),
            None => (&l[..], false),
        };
        let mut line: Vec<u8> = Vec::new();
        let mut col = 0;
        for &b in body {
            let adv = |col: usize| match b {
                b'\t' if !p.has('b') => col + 8 - col % 8,
                0x08 if !p.has('b') => col.saturating_sub(1),
                b'\r' if !p.has('b') => 0,
                _ => col + 1,
            };
            if adv(col) > width && !line.is_empty() {
                // Break at the last blank when -s, else here.
                let cut = if p.has('s') {
                    line.iter()
                        .rposition(|c| *c == b' ' || *c == b'\t')
                        .map(|i| i + 1)
                } else {
                    None
                };
                let at = cut.unwrap_or(line.len());
                out.extend_from_slice(&line[..at]);
                out.push(b'\n');
                line.drain(..at);
                col = line.iter().fold(0, |c, &x| {
                    if x == b'\t' && !p.has('b') {
                        c + 8 - c % 8
                    } else {
                        c + 1
                    }
                });
            }
            col = adv(col);
            line.push(b);
        }
        out.extend_from_slice(&line);
        if nl {
            out.push(b'\n');
        }
    }
    emit(io, "fold", &out, status)
}

#[inline(never)]
pub fn expand(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "", "t") {
        Ok(p) => p,
        Err(m) => return fail(io, "expand", &m, 1),
    };
    let stop: usize = match p.value('t').map(str::parse) {
        None => 8,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            let t = p.value('t').unwrap_or_default();
            return fail(io, "expand", &format!("invalid tab size: '{t}'"), 1);
        }
    };
    let (files, status) = read_all("expand", &p.operands, io);
    let mut out = Vec::new();
    for l in files.iter().flatten() {
        let mut col = 0;
        for &b in l {
            match b {
                b'\t' => {
                    let to = col + stop - col % stop;
                    out.extend(std::iter::repeat_n(b' ', to - col));
                    col = to;
                }
                b'\n' => {
                    out.push(b);
                    col = 0;
                }
                0x08 => {
                    out.push(b);
                    col = col.saturating_sub(1);
                }
                _ => {
                    out.push(b);
                    // A UTF-8 continuation byte takes no column.
                    if b & 0xC0 != 0x80 {
                        col += 1;
                    }
                }
            }
        }
    }
    emit(io, "expand", &out, status)
}

#[inline(never)]
pub fn comm(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "123", "") {
        Ok(p) => p,
        Err(m) => return fail(io, "comm", &m, 1),
    };
    if p.operands.len() != 2 {
        let m = match p.operands.len() {
            0 => "missing operand".to_string(),
            1 => format!("missing operand after '{}'", p.operands[0]),
            _ => format!("extra operand '{}'", p.operands[2]),
        };
        return fail(io, "comm", &m, 1);
    }
    let (files, status) = read_all("comm", &p.operands, io);
    if status != 0 {
        return status;
    }
    let strip = |l: &Vec<u8>| l.strip_suffix(b"\n").unwrap_or(l).to_vec();
    let a: Vec<Vec<u8>> = files[0].iter().map(strip).collect();
    let b: Vec<Vec<u8>> = files[1].iter().map(strip).collect();
    let show = [!p.has('1'), !p.has('2'), !p.has('3')];
    let mut out = Vec::new();
    let mut put = |col: usize, l: &[u8]| {
        if show[col] {
            let tabs = show[..col].iter().filter(|s| **s).count();
            out.extend(std::iter::repeat_n(b'\t', tabs));
            out.extend_from_slice(l);
            out.push(b'\n');
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                put(2, x);
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                put(0, x);
                i += 1;
            }
            (Some(x), None) => {
                put(0, x);
                i += 1;
            }
            (_, Some(y)) => {
                put(1, y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    emit(io, "comm", &out, 0)
}

#[inline(never)]
pub fn cmp(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "s", "") {
        Ok(p) => p,
        Err(m) => return fail(io, "cmp", &m, 2),
    };
    let ops = &p.operands;
    if ops.is_empty() || ops.len() > 2 {
        let m = if ops.is_empty() {
            "missing operand".to_string()
        } else {
            format!("invalid --ignore-initial value '{}'", ops[2])
        };
        return fail(io, "cmp", &m, 2);
    }
    let names = [
        ops[0].clone(),
        ops.get(1).cloned().unwrap_or_else(|| "-".into()),
    ];
    let mut data = Vec::new();
    for name in &names {
        let r = open(name, io.cwd, io.stdin).and_then(|mut i| {
            let mut v = Vec::new();
            i.reader().read_to_end(&mut v)?;
            Ok(v)
        });
        match r {
            Ok(v) => data.push(v),
            Err(e) => return fail(io, "cmp", &format!("{name}: {}", describe(&e)), 2),
        }
    }
    let (a, b) = (&data[0], &data[1]);
    let common = a.len().min(b.len());
    let mut differ = false;
    let mut out = String::new();
    for k in 0..common {
        if a[k] != b[k] {
            differ = true;
            if p.has('s') {
                break;
            }
            let line = 1 + a[..k].iter().filter(|c| **c == b'\n').count();
            out.push_str(&format!(
                "{} {} differ: byte {}, line {line}\n",
                names[0],
                names[1],
                k + 1
            ));
            break;
        }
    }
    if emit(io, "cmp", out.as_bytes(), 0) != 0 {
        return 2;
    }
    if a.len() == b.len() || differ {
        return i32::from(differ);
    }
    // One is a prefix of the other: GNU says where the shorter one ended.
    let short = usize::from(b.len() < a.len());
    if !p.has('s') {
        let d = &data[short];
        let name = &names[short];
        let lines = d.iter().filter(|c| **c == b'\n').count() + usize::from(!d.ends_with(b"\n"));
        let _ = if d.is_empty() {
            writeln!(io.stderr, "cmp: EOF on {name} which is empty")
        } else {
            writeln!(
                io.stderr,
                "cmp: EOF on {name} after byte {}, line {lines}",
                d.len()
            )
        };
    }
    1
}
