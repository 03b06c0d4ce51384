//! expr: evaluates its arguments as an expression (POSIX, with GNU's `match`, `substr`,
//! `index`, `length` and `+ TOKEN`). Status 0 when the result is neither empty nor 0, 1 when it
//! is, 2 for a bad expression, 3 for an error while evaluating (division by zero).

use crate::Io;
use crate::regex::{Regex, Syntax};

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Int(i64),
    Str(String),
}

impl Val {
    fn text(&self) -> String {
        match self {
            Val::Int(i) => i.to_string(),
            Val::Str(s) => s.clone(),
        }
    }
    /// An integer, if this reads as one (`-5`, `+5` is not).
    fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Str(s) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                s.parse().ok()
            }
        }
    }
    fn null(&self) -> bool {
        match self {
            Val::Int(i) => *i == 0,
            Val::Str(s) => s.is_empty() || s.parse::<i64>() == Ok(0) && !s.starts_with('+'),
        }
    }
}

/// Why evaluation stopped: a syntax error (status 2) or another error (status 2 or 3).
struct Fail(i32, String);

/// Deepest nesting of parentheses, keyword operands and operators of rising precedence
/// accepted: the parser recurses (a few small frames a level) and a tool inside the shell runs
/// on a thread with 28 KiB of stack.
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    args: &'a [String],
    i: usize,
    depth: usize,
}

fn syntax(msg: String) -> Fail {
    Fail(2, format!("syntax error: {msg}"))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.args.get(self.i).map(String::as_str)
    }

    /// Operators of level `min` and tighter, by precedence climbing (one frame per level of
    /// the operators actually met, not per level there is).
    fn binary(&mut self, min: usize) -> Result<Val, Fail> {
        const LEVELS: [&[&str]; 6] = [
            &["|"],
            &["&"],
            &["<", "<=", "=", "==", "!=", ">=", ">"],
            &["+", "-"],
            &["*", "/", "%"],
            &[":"],
        ];
        let mut left = self.primary()?;
        while let Some(op) = self.peek() {
            let Some(level) = LEVELS.iter().position(|l| l.contains(&op)) else {
                break;
            };
            if level < min {
                break;
            }
            let op = op.to_string();
            self.i += 1;
            if self.peek().is_none() {
                return Err(syntax(format!("missing argument after '{op}'")));
            }
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(Fail(2, "expression nested too deeply".into()));
            }
            let right = self.binary(level + 1);
            self.depth -= 1;
            left = apply(&op, left, right?)?;
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Val, Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fail(2, "expression nested too deeply".into()));
        }
        let r = self.primary_inner();
        self.depth -= 1;
        r
    }

    fn primary_inner(&mut self) -> Result<Val, Fail> {
        let Some(t) = self.peek().map(String::from) else {
            return Err(syntax("missing argument".into()));
        };
        self.i += 1;
        let operand = |p: &mut Self| -> Result<Val, Fail> {
            match p.peek() {
                None => Err(syntax(format!("missing argument after '{t}'"))),
                Some(_) => p.primary(),
            }
        };
        match t.as_str() {
            "(" => {
                let v = self.binary(0)?;
                match self.peek() {
                    Some(")") => {
                        self.i += 1;
                        Ok(v)
                    }
                    Some(x) => Err(syntax(format!("expecting ')' instead of '{x}'"))),
                    None => Err(syntax("expecting ')' after '('".into())),
                }
            }
            ")" => Err(syntax("unexpected ')'".into())),
            "+" => match self.peek() {
                Some(x) => {
                    let v = Val::Str(x.to_string());
                    self.i += 1;
                    Ok(v)
                }
                None => Err(syntax("missing argument after '+'".into())),
            },
            "length" => {
                let s = operand(self)?.text();
                Ok(Val::Int(s.chars().count() as i64))
            }
            "match" => {
                let s = operand(self)?;
                let r = operand(self)?;
                apply(":", s, r)
            }
            "index" => {
                let s = operand(self)?.text();
                let set = operand(self)?.text();
                let at = s.chars().position(|c| set.contains(c)).map_or(0, |i| i + 1);
                Ok(Val::Int(at as i64))
            }
            "substr" => {
                let s = operand(self)?.text();
                let pos = operand(self)?.int();
                let len = operand(self)?.int();
                let (Some(pos), Some(len)) = (pos, len) else {
                    return Ok(Val::Str(String::new()));
                };
                if pos < 1 || len < 1 {
                    return Ok(Val::Str(String::new()));
                }
                Ok(Val::Str(
                    s.chars()
                        .skip(pos as usize - 1)
                        .take(len as usize)
                        .collect(),
                ))
            }
            _ => Ok(Val::Str(t)),
        }
    }
}

fn apply(op: &str, l: Val, r: Val) -> Result<Val, Fail> {
    let num = |v: &Val| {
        v.int()
            .ok_or_else(|| Fail(2, "non-integer argument".into()))
    };
    let arith = |f: fn(i64, i64) -> Option<i64>, l: &Val, r: &Val| -> Result<Val, Fail> {
        let (a, b) = (num(l)?, num(r)?);
        f(a, b)
            .map(Val::Int)
            .ok_or_else(|| Fail(2, "result out of range".into()))
    };
    let cmp = |l: &Val, r: &Val| match (l.int(), r.int()) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => l.text().cmp(&r.text()),
    };
    let truth = |b: bool| Ok(Val::Int(b as i64));
    match op {
        "|" => Ok(if l.null() {
            if r.null() { Val::Int(0) } else { r }
        } else {
            l
        }),
        "&" => Ok(if l.null() || r.null() { Val::Int(0) } else { l }),
        "<" => truth(cmp(&l, &r).is_lt()),
        "<=" => truth(cmp(&l, &r).is_le()),
        "=" | "==" => truth(cmp(&l, &r).is_eq()),
        "!=" => truth(cmp(&l, &r).is_ne()),
        ">=" => truth(cmp(&l, &r).is_ge()),
        ">" => truth(cmp(&l, &r).is_gt()),
        "+" => arith(i64::checked_add, &l, &r),
        "-" => arith(i64::checked_sub, &l, &r),
        "*" => arith(i64::checked_mul, &l, &r),
        "/" | "%" => {
            if num(&r)? == 0 && num(&l).is_ok() {
                return Err(Fail(2, "division by zero".into()));
            }
            if op == "/" {
                arith(i64::checked_div, &l, &r)
            } else {
                arith(i64::checked_rem, &l, &r)
            }
        }
        _ => {
            // `:`: an anchored BRE; the first group's text, or the length matched.
            let pattern = match r.text() {
                p if p.starts_with('^') => p,
                p => format!("^{p}"),
            };
            let re = Regex::new(&pattern, Syntax::Basic, false).map_err(|e| Fail(2, e))?;
            let text: Vec<char> = l.text().chars().collect();
            let Some(m) = re.find_at(&text, 0) else {
                return Ok(if re.groups() > 0 {
                    Val::Str(String::new())
                } else {
                    Val::Int(0)
                });
            };
            if re.groups() > 0 {
                let g = match (m[2], m[3]) {
                    (Some(a), Some(b)) => text[a..b].iter().collect(),
                    _ => String::new(),
                };
                return Ok(Val::Str(g));
            }
            Ok(Val::Int(m[1].unwrap_or(0) as i64))
        }
    }
}

#[inline(never)]
pub fn expr(args: &[String], io: &mut Io) -> i32 {
    if args.is_empty() {
        let _ = writeln!(io.stderr, "expr: missing operand");
        return 2;
    }
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    let mut p = Parser {
        args,
        i: 0,
        depth: 0,
    };
    let r = p.binary(0).and_then(|v| match p.peek() {
        None => Ok(v),
        Some(x) => Err(syntax(format!("unexpected argument '{x}'"))),
    });
    match r {
        Ok(v) => {
            if let Err(e) = writeln!(io.stdout, "{}", v.text()) {
                return crate::output::write_error(io.stderr, "expr", &e) + 2;
            }
            i32::from(v.null())
        }
        Err(Fail(code, m)) => {
            let _ = writeln!(io.stderr, "expr: {m}");
            code
        }
    }
}

#[cfg(test)]
mod tests {
    fn expr(args: &[&str]) -> (i32, String, String) {
        let mut stdin: &[u8] = b"";
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let code = super::expr(&args, &mut crate::Io::new(&mut stdin, &mut out, &mut err));
        let s = |v: Vec<u8>| String::from_utf8(v).unwrap();
        (code, s(out), s(err))
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| {
            let mut v = vec!["("; n];
            v.push("1");
            v.extend(vec![")"; n]);
            v
        };
        assert_eq!(expr(&deep(5)), (0, "1\n".into(), String::new()));
        let (code, _, err) = expr(&deep(40));
        assert_eq!(
            (code, err.as_str()),
            (2, "expr: expression nested too deeply\n")
        );
        assert_eq!(expr(&["9223372036854775807", "+", "1"]).0, 2);
        assert_eq!(expr(&["--", "-1", "+", "2"]).1, "1\n");
    }
}
