//! The `test` / `[` builtin (POSIX XCU `test`): string, integer and file tests, `!`, `-a`, `-o`
//! and parentheses, with POSIX's rules for one to four arguments and a recursive-descent parser
//! beyond (depth-bounded). Operators and messages are dash's (no `==`; `Illegal number`). File
//! questions go to a callback, so this is pure.

/// What `test` may ask about a path (the second path is for `-nt`, `-ot` and `-ef` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileQuery {
    /// `-e`
    Exists,
    /// `-f`
    File,
    /// `-d`
    Dir,
    /// `-s`: exists and is not empty.
    NonEmpty,
    /// `-r`
    Readable,
    /// `-w`
    Writable,
    /// `-x`
    Executable,
    /// `-b`
    BlockDevice,
    /// `-c`
    CharDevice,
    /// `-h`, `-L`
    Symlink,
    /// `-p`
    Fifo,
    /// `-S`
    Socket,
    /// `-k`
    Sticky,
    /// `-u`
    SetUid,
    /// `-g`
    SetGid,
    /// `-O`
    Owned,
    /// `-G`
    GroupOwned,
    /// `-t FD`: the path is the descriptor's number.
    Terminal,
    /// `A -nt B`
    NewerThan,
    /// `A -ot B`
    OlderThan,
    /// `A -ef B`
    SameFile,
}

/// The callback that answers [`FileQuery`]s: query, path, second path (or "").
pub type Files<'a> = dyn FnMut(FileQuery, &str, &str) -> bool + 'a;

/// Evaluates `args` (without the command name and without a `[`'s closing `]`). `Ok(true)` is
/// status 0, `Ok(false)` status 1, `Err(message)` status 2.
pub fn eval(args: &[String], file: &mut Files) -> Result<bool, String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    // POSIX's fixed forms for up to four arguments.
    match a.len() {
        0 => return Ok(false),
        1 => return Ok(!a[0].is_empty()),
        2 if a[0] == "!" => return Ok(a[1].is_empty()),
        2 => return unary(a[0], a[1], file),
        3 if is_binary(a[1]) => return binary(a[0], a[1], a[2], file),
        3 if a[0] == "!" => return eval(&args[1..], file).map(|v| !v),
        3 if a[0] == "(" && a[2] == ")" => return Ok(!a[1].is_empty()),
        4 if a[0] == "!" => return eval(&args[1..], file).map(|v| !v),
        4 if a[0] == "(" && a[3] == ")" => return eval(&args[1..3], file),
        _ => {}
    }
    let mut p = Parser {
        a: &a,
        pos: 0,
        file,
        depth: 0,
    };
    let v = p.or()?;
    if p.pos < a.len() {
        return Err(format!("{}: unexpected operator", a[p.pos]));
    }
    Ok(v)
}

fn is_binary(op: &str) -> bool {
    matches!(
        op,
        "=" | "!="
            | "-eq"
            | "-ne"
            | "-lt"
            | "-le"
            | "-gt"
            | "-ge"
            | "<"
            | ">"
            | "-nt"
            | "-ot"
            | "-ef"
    )
}

/// An integer operand: decimal, with blanks around it and a sign allowed.
fn int(s: &str) -> Result<i64, String> {
    let t = s.trim_matches([' ', '\t', '\n']);
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Illegal number: {s}"));
    }
    t.strip_prefix('+')
        .unwrap_or(t)
        .parse()
        .map_err(|_| format!("Illegal number: {s}"))
}

fn binary(l: &str, op: &str, r: &str, file: &mut Files) -> Result<bool, String> {
    Ok(match op {
        "-nt" => file(FileQuery::NewerThan, l, r),
        "-ot" => file(FileQuery::OlderThan, l, r),
        "-ef" => file(FileQuery::SameFile, l, r),
        "=" => l == r,
        "!=" => l != r,
        "<" => l < r,
        ">" => l > r,
        "-eq" => int(l)? == int(r)?,
        "-ne" => int(l)? != int(r)?,
        "-lt" => int(l)? < int(r)?,
        "-le" => int(l)? <= int(r)?,
        "-gt" => int(l)? > int(r)?,
        "-ge" => int(l)? >= int(r)?,
        _ => return Err(format!("{op}: binary operator expected")),
    })
}

fn unary_query(op: &str) -> Option<FileQuery> {
    use FileQuery as Q;
    Some(match op {
        "-e" => Q::Exists,
        "-f" => Q::File,
        "-d" => Q::Dir,
        "-s" => Q::NonEmpty,
        "-r" => Q::Readable,
        "-w" => Q::Writable,
        "-x" => Q::Executable,
        "-b" => Q::BlockDevice,
        "-c" => Q::CharDevice,
        "-h" | "-L" => Q::Symlink,
        "-p" => Q::Fifo,
        "-S" => Q::Socket,
        "-k" => Q::Sticky,
        "-u" => Q::SetUid,
        "-g" => Q::SetGid,
        "-O" => Q::Owned,
        "-G" => Q::GroupOwned,
        "-t" => Q::Terminal,
        _ => return None,
    })
}

fn is_unary(op: &str) -> bool {
    matches!(op, "-z" | "-n") || unary_query(op).is_some()
}

fn unary(op: &str, arg: &str, file: &mut Files) -> Result<bool, String> {
    match op {
        "-z" => Ok(arg.is_empty()),
        "-n" => Ok(!arg.is_empty()),
        "-t" => int(arg).map(|_| file(FileQuery::Terminal, arg, "")),
        _ => match unary_query(op) {
            Some(q) => Ok(file(q, arg, "")),
            None => Err(format!("{op}: unexpected operator")),
        },
    }
}

const MAX_DEPTH: usize = 64;

struct Parser<'a, 'f> {
    a: &'a [&'a str],
    pos: usize,
    file: &'f mut Files<'f>,
    depth: usize,
}

impl<'a> Parser<'a, '_> {
    fn peek(&self, k: usize) -> Option<&'a str> {
        self.a.get(self.pos + k).copied()
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut v = self.and()?;
        while self.peek(0) == Some("-o") {
            self.pos += 1;
            let r = self.and()?;
            v = v || r;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut v = self.not()?;
        while self.peek(0) == Some("-a") {
            self.pos += 1;
            let r = self.not()?;
            v = v && r;
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<bool, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH || crate::stack_low(crate::PARSE_STACK_RESERVE) {
            return Err("expression nested too deeply".to_string());
        }
        let r = if self.peek(0) == Some("!") {
            self.pos += 1;
            self.not().map(|v| !v)
        } else {
            self.primary()
        };
        self.depth -= 1;
        r
    }

    fn primary(&mut self) -> Result<bool, String> {
        let Some(t) = self.peek(0) else {
            return Err("argument expected".to_string());
        };
        if t == "(" {
            self.pos += 1;
            let v = self.or()?;
            if self.peek(0) != Some(")") {
                return Err("')' expected".to_string());
            }
            self.pos += 1;
            return Ok(v);
        }
        if let (Some(op), Some(r)) = (self.peek(1), self.peek(2))
            && is_binary(op)
        {
            self.pos += 3;
            return binary(t, op, r, self.file);
        }
        if is_unary(t) && self.peek(1).is_some() {
            let arg = self.peek(1).unwrap_or_default();
            self.pos += 2;
            return unary(t, arg, self.file);
        }
        self.pos += 1;
        Ok(!t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(args: &[&str]) -> Result<bool, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        eval(&args, &mut |q, p, _| match q {
            FileQuery::Exists => matches!(p, "/etc" | "/etc/motd" | "/empty"),
            FileQuery::File => matches!(p, "/etc/motd" | "/empty"),
            FileQuery::Dir => p == "/etc",
            FileQuery::NonEmpty => p == "/etc/motd",
            _ => false,
        })
    }

    #[test]
    fn posix_forms() {
        assert_eq!(t(&[]), Ok(false));
        assert_eq!(t(&["x"]), Ok(true));
        assert_eq!(t(&[""]), Ok(false));
        assert_eq!(t(&["-n"]), Ok(true)); // one argument: non-empty string
        assert_eq!(t(&["!", ""]), Ok(true));
        assert_eq!(t(&["-z", ""]), Ok(true));
        assert_eq!(t(&["-n", ""]), Ok(false));
        assert_eq!(t(&["a", "=", "a"]), Ok(true));
        assert_eq!(t(&["a", "!=", "a"]), Ok(false));
        assert_eq!(t(&["!", "a", "=", "b"]), Ok(true));
        assert_eq!(t(&["(", "x", ")"]), Ok(true));
        assert_eq!(t(&["=", "=", "="]), Ok(true));
        assert!(t(&["a", "==", "a"]).is_err());
        assert!(t(&["a", "=", "a", "=", "a"]).is_err());
        assert_eq!(t(&[" 1 ", "-eq", "+1"]), Ok(true));
        assert!(t(&["1", "-eq", "1x"]).is_err());
        assert!(t(&["99999999999999999999", "-gt", "1"]).is_err());
    }

    #[test]
    fn integers_files_and_connectives() {
        assert_eq!(t(&["10", "-gt", "9"]), Ok(true));
        assert_eq!(t(&["-3", "-lt", "2"]), Ok(true));
        assert_eq!(t(&["x", "-eq", "1"]), Err("Illegal number: x".into()));
        assert_eq!(t(&["-d", "/etc"]), Ok(true));
        assert_eq!(t(&["-f", "/etc"]), Ok(false));
        assert_eq!(t(&["-s", "/empty"]), Ok(false));
        assert_eq!(t(&["-e", "/nope", "-o", "-d", "/etc"]), Ok(true));
        assert_eq!(t(&["-e", "/etc", "-a", "!", "-f", "/etc"]), Ok(true));
        assert_eq!(
            t(&[
                "(",
                "1",
                "-eq",
                "2",
                "-o",
                "a",
                "=",
                "a",
                ")",
                "-a",
                "-f",
                "/etc/motd"
            ]),
            Ok(true)
        );
        assert!(t(&["(", "a"]).is_err());
        assert!(t(&["-q", "x"]).is_err());
        assert!(t(&["-t", "invalid"]).is_err());
        assert!(t(&["a", "b", "c", "d", "e"]).is_err());
        let deep: Vec<&str> = std::iter::repeat_n("!", 200).chain(["x", "y"]).collect();
        assert!(t(&deep).is_err());
    }
}
