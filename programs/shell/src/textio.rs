//! The builtins that work on words and lines, as dash has them: `echo`, `printf` (the
//! coreutils' code, run on the command's streams), `read` and `test` / `[`; and `~user`'s home
//! directory. The interpreter hands each its arguments and streams.

use std::io::{Read, Write};

use crate::test_expr::{self, FileQuery};

/// `echo [-n] [STRING...]`: the strings separated by spaces, with `%b`'s escapes (`\n`, `\t`,
/// `\\`, `\0NNN`, ...; `\c` ends the output there, newline included). `-n` (only as the first
/// argument, exactly) leaves out the newline.
#[inline(never)]
pub fn echo(args: &[String]) -> Vec<u8> {
    let (newline, words) = match args.first() {
        Some(a) if a == "-n" => (false, &args[1..]),
        _ => (true, args),
    };
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        let (bytes, stop) = tools::printf::backslash_escapes(&std::ffi::bytes_from_text(w));
        out.extend_from_slice(&bytes);
        if stop {
            return out;
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}

/// `printf FORMAT [ARG...]` on the builtin's streams; its status.
#[inline(never)]
pub fn printf(args: &[String], stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let mut stdin: &[u8] = b"";
    let mut err = Vec::new();
    let code = tools::printf::printf(
        args,
        &mut tools::Io::new(&mut stdin, &mut *stdout, &mut err),
    );
    // The shell's own messages name the builtin as dash's do (`sh: printf: ...`). A failed
    // write of the output is the interpreter's to report (with the file's path), as for every
    // builtin.
    for line in std::ffi::text_from_bytes(&err).lines() {
        if !line.starts_with("printf: write error:") {
            let _ = writeln!(stderr, "sh: {line}");
        }
    }
    code
}

/// What `read` needs from the shell.
pub struct ReadIo<'a> {
    pub stdin: &'a mut dyn Read,
    pub stderr: &'a mut dyn Write,
    /// `$IFS` (`None`: unset).
    pub ifs: Option<&'a str>,
}

/// `read [-r] [-p PROMPT] NAME...`: one line of stdin, split at IFS into the names (the last
/// takes the rest of the line); without `-r` a backslash quotes the next character and a
/// backslash-newline continues the line. Status 1 at the end of input (the names are still set
/// from what there was), 2 for a usage error. Reads byte by byte, so that what follows the line
/// stays for the next reader. Returns the status and the assignments to make.
#[inline(never)]
pub fn read(args: &[String], io: ReadIo) -> (i32, Vec<(String, String)>) {
    let mut raw = false;
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| a.starts_with('-') && a.len() > 1) {
        i += 1;
        if a == "--" {
            break;
        }
        for (k, c) in a.char_indices().skip(1) {
            match c {
                'r' => raw = true,
                'p' => {
                    // `-p PROMPT`: dash shows it only when reading a terminal, and this
                    // builtin cannot tell whether its stdin is one: it is not shown.
                    if k + 1 == a.len() {
                        i += 1;
                    }
                    break;
                }
                _ => {
                    let _ = writeln!(io.stderr, "sh: read: Illegal option -{c}");
                    return (2, Vec::new());
                }
            }
        }
    }
    let names = &args[i..];
    if names.is_empty() {
        let _ = writeln!(io.stderr, "sh: read: arg count");
        return (2, Vec::new());
    }
    if let Some(bad) = names.iter().find(|n| !crate::parse::is_name(n)) {
        let _ = writeln!(io.stderr, "sh: read: {bad}: bad variable name");
        return (2, Vec::new());
    }
    // The line, each byte marked if a backslash quoted it.
    let mut line: Vec<(u8, bool)> = Vec::new();
    let mut b = [0u8; 1];
    let mut escaped = false;
    let complete = loop {
        match io.stdin.read(&mut b) {
            Ok(0) | Err(_) => break false,
            Ok(_) => {}
        }
        match b[0] {
            b'\n' if escaped => escaped = false,
            b'\n' => break true,
            b'\\' if !raw && !escaped => escaped = true,
            c => {
                line.push((c, escaped));
                escaped = false;
            }
        }
    };
    let values = split_line(&line, io.ifs.unwrap_or(" \t\n").as_bytes(), names.len());
    let sets = names.iter().cloned().zip(values).collect();
    (if complete { 0 } else { 1 }, sets)
}

/// Splits a line read into `n` values: fields at IFS as field splitting makes them, the last
/// value the rest of the line (IFS white space trimmed; a single IFS delimiter that ends it
/// dropped, as dash does).
fn split_line(line: &[(u8, bool)], ifs: &[u8], n: usize) -> Vec<String> {
    let is_ifs = |&(c, q): &(u8, bool)| !q && ifs.contains(&c);
    let is_white = |x: &(u8, bool)| is_ifs(x) && matches!(x.0, b' ' | b'\t' | b'\n');
    let text = |s: &[(u8, bool)]| {
        std::ffi::text_from_bytes(&s.iter().map(|&(c, _)| c).collect::<Vec<u8>>())
    };
    let mut values = Vec::with_capacity(n);
    let mut i = 0;
    let skip_white = |i: &mut usize| {
        while line.get(*i).is_some_and(is_white) {
            *i += 1;
        }
    };
    skip_white(&mut i);
    for _ in 1..n {
        let start = i;
        while line.get(i).is_some_and(|x| !is_ifs(x)) {
            i += 1;
        }
        values.push(text(&line[start..i]));
        // The delimiter: white space, at most one other IFS character, white space.
        skip_white(&mut i);
        if line.get(i).is_some_and(|x| is_ifs(x) && !is_white(x)) {
            i += 1;
            skip_white(&mut i);
        }
    }
    let mut rest = &line[i.min(line.len())..];
    while rest.last().is_some_and(is_white) {
        rest = &rest[..rest.len() - 1];
    }
    if let Some((last, body)) = rest.split_last()
        && is_ifs(last)
    {
        let mut body = body;
        while body.last().is_some_and(is_white) {
            body = &body[..body.len() - 1];
        }
        if !body.iter().any(is_ifs) {
            rest = body;
        }
    }
    values.push(text(rest));
    values
}

/// `test ARGS` / `[ ARGS ]` (`name` says which); its status, messages on `stderr`.
#[inline(never)]
/// (`resolve` makes a relative path the shell's: its working directory is its own.)
pub fn test(
    name: &str,
    args: &[String],
    stderr: &mut dyn Write,
    resolve: &dyn Fn(&str) -> String,
) -> i32 {
    let mut a = args;
    if name == "[" {
        match a.split_last() {
            Some((last, rest)) if last == "]" => a = rest,
            _ => {
                let _ = writeln!(stderr, "sh: [: missing ]");
                return 2;
            }
        }
    }
    match test_expr::eval(a, &mut |q, p: &str, o: &str| file_query(q, p, o, resolve)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            let _ = writeln!(stderr, "sh: {name}: {e}");
            2
        }
    }
}

/// What the file system says of a path (`other`: the second path of `-nt`, `-ot`, `-ef`).
/// eurali's files have no owners, modes, times or links: the questions about those answer as
/// for a file owned by the user, with no special bits, that is no link, socket or FIFO.
fn file_query(q: FileQuery, p: &str, other: &str, resolve: &dyn Fn(&str) -> String) -> bool {
    use FileQuery as Q;
    if let Q::Terminal = q {
        return p.trim() == "0" && std::term::stdin_terminal().is_some();
    }
    let (p, other) = (&resolve(p)[..], &resolve(other)[..]);
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    match q {
        Q::Exists | Q::Readable | Q::Executable | Q::Owned | Q::GroupOwned => true,
        Q::File => m.is_file(),
        Q::Dir => m.is_dir(),
        Q::CharDevice => m.file_type().is_device(),
        Q::NonEmpty => !m.is_empty(),
        // A stat's session is a reading one (its `readonly` says so): opening to write asks.
        Q::Writable => m.is_dir() || std::fs::OpenOptions::new().write(true).open(p).is_ok(),
        Q::SameFile => match (std::fs::canonicalize(p), std::fs::canonicalize(other)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
        // No modification times: neither is newer unless one does not exist.
        Q::NewerThan | Q::OlderThan => false,
        Q::BlockDevice
        | Q::Symlink
        | Q::Fifo
        | Q::Socket
        | Q::Sticky
        | Q::SetUid
        | Q::SetGid
        | Q::Terminal => false,
    }
}

/// `~user`: the home directory the users file (`/etc/users`) gives `user`; the shell's own
/// user's is `$HOME` when the file cannot be read (an ordinary session's namespace has none).
pub fn home_of(user: &str, me: Option<&str>, my_home: Option<&str>) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string("/etc/users")
        && let Some(u) = vfs::users::parse(&text)
            .into_iter()
            .find(|u| u.name == user)
    {
        return Some(u.home);
    }
    if me == Some(user) {
        my_home.map(str::to_string)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn echo_escapes_and_n() {
        assert_eq!(echo(&s(&["a\\tb", "c\\n"])), b"a\tb c\n\n");
        assert_eq!(echo(&s(&["-n", "x"])), b"x");
        assert_eq!(echo(&s(&["-n", "-n", "x"])), b"-n x");
        assert_eq!(echo(&s(&["-nn", "x"])), b"-nn x\n");
        assert_eq!(echo(&s(&["a\\cb", "c"])), b"a");
        assert_eq!(echo(&s(&["\\0101\\101\\\\"])), b"AA\\\n");
    }

    fn rd(input: &str, ifs: Option<&str>, args: &[&str]) -> (i32, Vec<(String, String)>) {
        let mut stdin = input.as_bytes();
        let mut err = Vec::new();
        read(
            &s(args),
            ReadIo {
                stdin: &mut stdin,
                stderr: &mut err,
                ifs,
            },
        )
    }

    fn vals(r: (i32, Vec<(String, String)>)) -> (i32, Vec<String>) {
        (r.0, r.1.into_iter().map(|(_, v)| v).collect())
    }

    #[test]
    fn read_splits_like_dash() {
        assert_eq!(
            vals(rd("  a  b  c  \n", None, &["x", "y"])),
            (0, s(&["a", "b  c"]))
        );
        assert_eq!(
            vals(rd("a:b:\n", Some(":"), &["x", "y"])),
            (0, s(&["a", "b"]))
        );
        assert_eq!(
            vals(rd("a:b::\n", Some(":"), &["x", "y"])),
            (0, s(&["a", "b::"]))
        );
        assert_eq!(
            vals(rd(" a : b : c \n", Some(" :"), &["x", "y"])),
            (0, s(&["a", "b : c"]))
        );
        assert_eq!(
            vals(rd("a:b\n", Some(":"), &["x", "y", "z"])),
            (0, s(&["a", "b", ""]))
        );
        assert_eq!(
            vals(rd("a\\ b c\\\nd\n", None, &["x", "y"])),
            (0, s(&["a b", "cd"]))
        );
        assert_eq!(
            vals(rd("a\\ b c\n", None, &["-r", "x", "y"])),
            (0, s(&["a\\", "b c"]))
        );
        assert_eq!(vals(rd("abc", None, &["x"])), (1, s(&["abc"])));
        assert_eq!(vals(rd(" a ", Some(""), &["x"])), (1, s(&[" a "])));
        assert_eq!(rd("x\n", None, &[]).0, 2);
        assert_eq!(rd("x\n", None, &["-q", "x"]).0, 2);
        assert_eq!(rd("x\n", None, &["1x"]).0, 2);
    }
}
