//! `tar`: POSIX ustar archives: create (`-c`), list (`-t`), extract (`-x`).
//!
//! Archives are streamed, 512-byte blocks at a time, and end with two zero blocks padded to
//! GNU's 10 240-byte record, so GNU tar reads ours and we read GNU's (its default `gnu` format
//! too: `L` long names and pax `x` headers' `path` are understood). eurali keeps no file
//! times, owners or modes: members are stamped with the time the archive is made, the
//! creator's name and number, mode 0644 for files and 0755 for directories; on
//! extraction those fields are ignored. Links, devices and FIFOs cannot be extracted (eurali
//! has none): they are skipped with a message and status 2.

use std::fs;
use std::io::{self, Read, Write, describe};
use std::path::PathBuf;

use crate::Io;
use crate::args::parse;

const BLOCK: usize = 512;
/// GNU tar's record: an archive's length is a multiple of it.
const RECORD: u64 = 20 * BLOCK as u64;

pub(crate) const HELP: &str = "\
Usage: tar -c [-v] [-f ARCHIVE] [-C DIR] FILE...
       tar -t|-x [-v] [-f ARCHIVE] [-C DIR] [MEMBER...]
POSIX ustar archives; ARCHIVE '-' (the default) is stdin/stdout.
  -c      create an archive of FILEs (directories with all they hold)
  -t      list the members      -x  extract the members (or only MEMBERs)
  -f F    the archive file      -C DIR  work in DIR (read from, extract to)
  -v      name each member as it goes (-tv: a long listing)
  --help  show this help and exit
";

struct Tar<'a, 'b> {
    io: &'a mut Io<'b>,
    verbose: bool,
    /// Where members come from or go: `-C DIR`, or the working directory.
    base: PathBuf,
    /// The archive file; `None`: stdin or stdout.
    file: Option<fs::File>,
    /// Bytes of archive written so far.
    written: u64,
    /// Whether `-v` names go to stderr (the archive is stdout).
    names_to_stderr: bool,
    status: i32,
}

impl Tar<'_, '_> {
    fn warn(&mut self, msg: &str) {
        let _ = writeln!(self.io.stderr, "tar: {msg}");
        self.status = 2;
    }

    /// A member's name for `-v`: to stdout, or to stderr when the archive is stdout.
    fn say(&mut self, line: &str) {
        let _ = if self.names_to_stderr {
            writeln!(self.io.stderr, "{line}")
        } else {
            writeln!(self.io.stdout, "{line}")
        };
    }

    fn put(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(data)?,
            None => self.io.stdout.write_all(data)?,
        }
        self.written += data.len() as u64;
        Ok(())
    }

    fn get(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => read_full(f, buf),
            None => read_full(self.io.stdin, buf),
        }
    }

    /// Writes `operands` and what they hold, and the archive's end.
    fn create(&mut self, operands: &[String]) -> io::Result<()> {
        let me = self.io.user().unwrap_or_default();
        let uid = crate::who::uid_of(&me).unwrap_or(0);
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut told = false;
        let mut buf = vec![0u8; 64 * 1024];
        for op in operands {
            let mut name = op.trim_start_matches('/').to_string();
            if name.len() != op.len() && !told {
                told = true;
                let _ = writeln!(
                    self.io.stderr,
                    "tar: Removing leading '/' from member names"
                );
            }
            if name.is_empty() {
                name = String::from(".");
            }
            // Depth first, without recursion: (path to read, member name).
            let mut pending = vec![(self.base.join(op), name)];
            while let Some((path, name)) = pending.pop() {
                let meta = match fs::metadata(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        self.warn(&format!("{name}: Cannot stat: {}", describe(&e)));
                        continue;
                    }
                };
                let owner = (me.as_str(), u64::from(uid));
                if meta.is_dir() {
                    let entries = match crate::input::sorted_names(&path) {
                        Ok(names) => names,
                        Err(e) => {
                            self.warn(&format!("{name}: Cannot open: {}", describe(&e)));
                            continue;
                        }
                    };
                    let dir = format!("{}/", name.trim_end_matches('/'));
                    match header(&dir, 0, b'5', 0o755, mtime, owner) {
                        Ok(h) => self.put(&h)?,
                        Err(()) => {
                            self.warn(&format!("{dir}: file name is too long for ustar"));
                            continue;
                        }
                    }
                    if self.verbose {
                        self.say(&dir);
                    }
                    for e in entries.into_iter().rev() {
                        pending.push((path.join(&e), format!("{dir}{e}")));
                    }
                    continue;
                }
                if !meta.is_file() {
                    self.warn(&format!(
                        "{name}: not a regular file or directory; not dumped"
                    ));
                    continue;
                }
                let mut f = match fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        self.warn(&format!("{name}: Cannot open: {}", describe(&e)));
                        continue;
                    }
                };
                let size = meta.len();
                let mode = if meta.permissions().readonly() {
                    0o444
                } else {
                    0o644
                };
                match header(&name, size, b'0', mode, mtime, owner) {
                    Ok(h) => self.put(&h)?,
                    Err(()) => {
                        self.warn(&format!("{name}: file name is too long for ustar"));
                        continue;
                    }
                }
                if self.verbose {
                    self.say(&name);
                }
                // Exactly `size` bytes: a file that shrank meanwhile is padded with zeros.
                let mut left = size;
                while left > 0 {
                    let want = buf.len().min(left as usize);
                    let n = match read_full(&mut f, &mut buf[..want]) {
                        Ok(n) => n,
                        Err(e) => {
                            self.warn(&format!("{name}: Read error: {}", describe(&e)));
                            0
                        }
                    };
                    if n < want {
                        buf[n..want].fill(0);
                        if n == 0 || self.status == 0 {
                            self.warn(&format!("{name}: File shrank; padding with zeros"));
                        }
                    }
                    let chunk = buf[..want].to_vec();
                    self.put(&chunk)?;
                    left -= want as u64;
                }
                let pad = (BLOCK - (size as usize % BLOCK)) % BLOCK;
                self.put(&vec![0u8; pad])?;
            }
        }
        self.put(&[0u8; 2 * BLOCK])?;
        let pad = (RECORD - self.written % RECORD) % RECORD;
        self.put(&vec![0u8; pad as usize])?;
        match &mut self.file {
            Some(f) => f.flush(),
            None => self.io.stdout.flush(),
        }
    }

    /// Lists or extracts the archive's members (only `wanted` ones and what is under them, if
    /// any are given).
    fn read(&mut self, extract: bool, wanted: &[String]) -> io::Result<()> {
        let mut found = vec![false; wanted.len()];
        let mut h = vec![0u8; BLOCK];
        let mut long_name: Option<String> = None;
        let mut first = true;
        let mut width = 19;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.get(&mut h)?;
            if n == 0 && !first {
                break;
            }
            if n < BLOCK {
                self.warn(if first {
                    "this does not look like a tar archive"
                } else {
                    "unexpected end of archive"
                });
                break;
            }
            if h.iter().all(|&b| b == 0) {
                break;
            }
            let stored = parse_octal(&h[148..156]);
            if stored != Some(checksum(&h)) {
                self.warn(if first {
                    "this does not look like a tar archive"
                } else {
                    "damaged header (bad checksum); giving up"
                });
                break;
            }
            first = false;
            let Some(size) = parse_octal(&h[124..136]) else {
                self.warn("a member's size is not a number; giving up");
                break;
            };
            let kind = h[156];
            let mut name = text(&h[..100]);
            if &h[257..262] == b"ustar" && h[345] != 0 {
                name = format!("{}/{name}", text(&h[345..500]));
            }
            if let Some(n) = long_name.take() {
                name = n;
            }
            // GNU's long names and pax headers: their data is about the next member.
            if matches!(kind, b'L' | b'x' | b'g') {
                if size > 64 * 1024 {
                    self.warn("an extended header is too large; giving up");
                    break;
                }
                let len = size.div_ceil(BLOCK as u64) as usize * BLOCK;
                let mut data = vec![0u8; len];
                if self.get(&mut data)? < len {
                    self.warn("unexpected end of archive");
                    break;
                }
                data.truncate(size as usize);
                if kind == b'L' {
                    long_name = Some(text(&data));
                } else if kind == b'x' {
                    long_name = pax_path(&data);
                }
                continue;
            }
            let chosen = wanted.is_empty()
                || wanted.iter().enumerate().any(|(i, w)| {
                    let w = w.trim_end_matches('/');
                    let hit = name.trim_end_matches('/') == w
                        || name.strip_prefix(w).is_some_and(|r| r.starts_with('/'));
                    if hit {
                        found[i] = true;
                    }
                    hit
                });
            let data_kind = matches!(kind, b'0' | 0 | b'7');
            // What to do with the member's data: write it to a file, or skip it.
            let mut out: Option<fs::File> = None;
            if chosen && !extract {
                let line = if self.verbose {
                    let t = match kind {
                        b'5' => 'd',
                        b'2' => 'l',
                        b'1' => 'h',
                        b'3' => 'c',
                        b'4' => 'b',
                        b'6' => 'p',
                        _ => '-',
                    };
                    let mode = parse_octal(&h[100..108]).unwrap_or(0);
                    let mut m = String::from(t);
                    for shift in [6, 3, 0] {
                        let bits = (mode >> shift) & 7;
                        m.push(if bits & 4 != 0 { 'r' } else { '-' });
                        m.push(if bits & 2 != 0 { 'w' } else { '-' });
                        m.push(if bits & 1 != 0 { 'x' } else { '-' });
                    }
                    let owner = match (text(&h[265..297]), text(&h[297..329])) {
                        (u, g) if !u.is_empty() => format!("{u}/{g}"),
                        _ => format!(
                            "{}/{}",
                            parse_octal(&h[108..116]).unwrap_or(0),
                            parse_octal(&h[116..124]).unwrap_or(0)
                        ),
                    };
                    let size_text = size.to_string();
                    width = width.max(owner.len() + 1 + size_text.len());
                    let when = crate::date::format_time(
                        parse_octal(&h[136..148]).unwrap_or(0),
                        "%Y-%m-%d %H:%M",
                    );
                    let pad = width - owner.len();
                    let link = if kind == b'2' || kind == b'1' {
                        format!(" -> {}", text(&h[157..257]))
                    } else {
                        String::new()
                    };
                    format!("{m} {owner}{size_text:>pad$} {when} {name}{link}")
                } else {
                    name.clone()
                };
                writeln!(self.io.stdout, "{line}")?;
            } else if chosen {
                if self.verbose {
                    self.say(&name);
                }
                out = self.extract(&name, kind)?;
            }
            let len = if data_kind || !matches!(kind, b'5' | b'1' | b'2' | b'3' | b'4' | b'6') {
                size.div_ceil(BLOCK as u64) * BLOCK as u64
            } else {
                0
            };
            let mut left = len;
            let mut useful = size.min(len);
            while left > 0 {
                let want = buf.len().min(left as usize);
                if self.get(&mut buf[..want])? < want {
                    self.warn("unexpected end of archive");
                    return Ok(());
                }
                let keep = useful.min(want as u64) as usize;
                if let Some(f) = &mut out
                    && let Err(e) = f.write_all(&buf[..keep])
                {
                    out = None;
                    self.warn(&format!("{name}: Cannot write: {}", describe(&e)));
                }
                useful -= keep as u64;
                left -= want as u64;
            }
        }
        for (w, f) in wanted.iter().zip(found) {
            if !f {
                self.warn(&format!("{w}: Not found in archive"));
            }
        }
        Ok(())
    }

    /// Makes the member `name` of type `kind` under the base directory: the file to write its
    /// data to, if it has data to keep.
    fn extract(&mut self, name: &str, kind: u8) -> io::Result<Option<fs::File>> {
        let parts: Vec<&str> = name
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.contains(&"..") {
            self.warn(&format!("{name}: member name contains '..'; not extracted"));
            return Ok(None);
        }
        if parts.is_empty() {
            return Ok(None);
        }
        let mut path = self.base.clone();
        for p in &parts {
            path.push(p);
        }
        match kind {
            b'5' => {
                if let Err(e) = fs::create_dir_all(&path) {
                    self.warn(&format!("{name}: Cannot mkdir: {}", describe(&e)));
                }
                Ok(None)
            }
            b'0' | 0 | b'7' => {
                if let Some(parent) = path.parent()
                    && let Err(e) = fs::create_dir_all(parent)
                {
                    self.warn(&format!("{name}: Cannot mkdir: {}", describe(&e)));
                    return Ok(None);
                }
                match fs::File::create(&path) {
                    Ok(f) => Ok(Some(f)),
                    Err(e) => {
                        self.warn(&format!("{name}: Cannot open: {}", describe(&e)));
                        Ok(None)
                    }
                }
            }
            b'1' | b'2' => {
                self.warn(&format!(
                    "{name}: cannot extract a link (eurali has none); skipped"
                ));
                Ok(None)
            }
            b'3' | b'4' | b'6' => {
                self.warn(&format!(
                    "{name}: cannot extract a device or FIFO (eurali has none); skipped"
                ));
                Ok(None)
            }
            k => {
                self.warn(&format!(
                    "{name}: unknown member type '{}'; skipped",
                    (k as char).escape_default()
                ));
                Ok(None)
            }
        }
    }
}

/// The `path` record of a pax header's data (`LEN path=VALUE\n` records).
fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&b| b == b' ')?;
        let len: usize = core::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if len <= sp || len > rest.len() {
            return None;
        }
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(v) = record.strip_prefix(b"path=") {
            return Some(String::from_utf8_lossy(v).into_owned());
        }
        rest = &rest[len..];
    }
    None
}

/// `v` as `width - 1` octal digits and a NUL, into `field`.
fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0w$o}", w = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = core::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn checksum(h: &[u8]) -> u64 {
    h.iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u64
            }
        })
        .sum()
}

/// A ustar header; `Err` if the name fits neither the name field nor prefix + name.
fn header(
    name: &str,
    size: u64,
    kind: u8,
    mode: u64,
    mtime: u64,
    owner: (&str, u64),
) -> Result<Vec<u8>, ()> {
    let mut h = vec![0u8; BLOCK];
    let (prefix, rest) = if name.len() <= 100 {
        ("", name)
    } else {
        let cut = name
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && name.len() - i - 1 <= 100 && i > 0)
            .map(|(i, _)| i)
            .next()
            .ok_or(())?;
        (&name[..cut], &name[cut + 1..])
    };
    if rest.is_empty() || owner.0.len() > 31 {
        return Err(());
    }
    h[..rest.len()].copy_from_slice(rest.as_bytes());
    octal(&mut h[100..108], mode);
    octal(&mut h[108..116], owner.1);
    octal(&mut h[116..124], owner.1);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..265 + owner.0.len()].copy_from_slice(owner.0.as_bytes());
    h[297..297 + owner.0.len()].copy_from_slice(owner.0.as_bytes());
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    let sum = checksum(&h);
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

/// Reads until `buf` is full or the input ends; how much was read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}

#[inline(never)]
pub fn tar(args: &[String], io: &mut Io) -> i32 {
    if args.first().is_some_and(|a| a == "--help") {
        return match io.stdout.write_all(HELP.as_bytes()) {
            Ok(()) => 0,
            Err(e) => crate::output::write_error(io.stderr, "tar", &e),
        };
    }
    // The old form, `tar cvf ARCHIVE ...`: the first word's letters are options.
    let mut args = args.to_vec();
    if let Some(first) = args.first_mut()
        && !first.starts_with('-')
    {
        first.insert(0, '-');
    }
    let p = match parse(&args, "ctxv", "fC") {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(
                io.stderr,
                "tar: {m}\nTry 'tar --help' for more information."
            );
            return 2;
        }
    };
    let modes: Vec<char> = ['c', 't', 'x'].into_iter().filter(|c| p.has(*c)).collect();
    let [mode] = modes[..] else {
        let _ = writeln!(
            io.stderr,
            "tar: you must give one of the options -c, -t, -x\nTry 'tar --help' for more information."
        );
        return 2;
    };
    let base = match p.value('C') {
        Some(dir) => {
            let b = io.at(dir);
            if !fs::metadata(&b).is_ok_and(|m| m.is_dir()) {
                let _ = writeln!(
                    io.stderr,
                    "tar: {dir}: Cannot open: not a directory or missing"
                );
                return 2;
            }
            b
        }
        None => io.at("."),
    };
    let archive = p
        .value('f')
        .filter(|f| *f != "-")
        .map(|f| (f.to_string(), io.at(f)));
    let verbose = p.has('v');
    let file = match &archive {
        None => None,
        Some((name, path)) => {
            let f = if mode == 'c' {
                fs::File::create(path)
            } else {
                fs::File::open(path)
            };
            match f {
                Ok(f) => Some(f),
                Err(e) => {
                    let _ = writeln!(io.stderr, "tar: {name}: Cannot open: {}", describe(&e));
                    return 2;
                }
            }
        }
    };
    let mut t = Tar {
        io,
        verbose,
        base,
        file,
        written: 0,
        names_to_stderr: mode == 'c' && archive.is_none(),
        status: 0,
    };
    let r = if mode == 'c' {
        if p.operands.is_empty() {
            let _ = writeln!(
                t.io.stderr,
                "tar: cowardly refusing to create an empty archive"
            );
            return 2;
        }
        t.create(&p.operands)
    } else {
        t.read(mode == 'x', &p.operands)
    };
    if let Err(e) = r {
        let _ = writeln!(t.io.stderr, "tar: {}", describe(&e));
        return 2;
    }
    if t.status != 0 {
        let _ = writeln!(
            t.io.stderr,
            "tar: Exiting with failure status due to previous errors"
        );
    }
    t.status
}
