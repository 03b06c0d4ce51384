//! Arithmetic expansion `$((…))`: signed 64-bit integers with C's operators as POSIX lists
//! them: `( )`, unary `+ - ! ~`, `* / %`, `+ -`, `<< >>`, `< <= > >=`, `== !=`, `&`, `^`, `|`,
//! `&&`, `||`, `?:` and the assignments `= *= /= %= += -= <<= >>= &= ^= |=`; besides, as bash
//! and ksh have them, `++`/`--` before or after a name and the comma operator. Names are
//! variables: unset or empty is 0, otherwise the value must be an integer constant (decimal,
//! `0x` hex or `0` octal, blanks around it allowed; as dash, it is not evaluated as an
//! expression). `$x` and `$(…)` have already been expanded by the caller. Overflow wraps;
//! division by zero is an error. `&&`, `||` and `?:` evaluate only what they need: what they
//! skip assigns nothing and cannot divide by zero. Recursion is bounded.

const MAX_DEPTH: usize = 64;

/// The variables an expression reads and assigns.
pub trait Vars {
    fn get(&self, name: &str) -> Option<String>;
    fn set(&mut self, name: &str, value: &str);
}

/// Evaluates `expr`. An error is a message without the expression (the caller adds it).
pub fn eval(expr: &str, vars: &mut dyn Vars) -> Result<i64, String> {
    let toks = lex(expr)?;
    if toks.is_empty() {
        return Err("expecting primary".into());
    }
    let mut p = P {
        t: &toks,
        i: 0,
        vars,
        depth: 0,
        skip: 0,
    };
    let v = p.comma()?;
    if p.i < toks.len() {
        return Err(format!("syntax error near `{}'", toks[p.i].text()));
    }
    Ok(v)
}

/// An integer constant as C reads one: decimal, `0x` hex or `0` octal.
pub fn number(s: &str) -> Result<i64, String> {
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8)
    } else {
        s.parse()
    };
    match r {
        Ok(v) if !s.contains(['+', '-']) => Ok(v),
        _ => Err(format!("invalid number `{s}'")),
    }
}

/// A variable's value as a number: empty is 0; blanks around it and a sign are allowed.
fn value_of(v: &str) -> Result<i64, String> {
    let t = v.trim_matches([' ', '\t', '\n']);
    if t.is_empty() {
        return Ok(0);
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let bad = || format!("Illegal number: {v}");
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n = number(body).map_err(|_| bad())?;
    Ok(if neg { n.wrapping_neg() } else { n })
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i64),
    Name(String),
    Op(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Num(n) => n.to_string(),
            Tok::Name(s) => s.clone(),
            Tok::Op(o) => o.to_string(),
        }
    }
}

/// Operators, longest first (the lexer takes the first that matches).
const OPS: [&str; 38] = [
    "<<=", ">>=", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=", "+=", "-=",
    "&=", "^=", "|=", "++", "--", "(", ")", "+", "-", "*", "/", "%", "<", ">", "!", "~", "&", "^",
    "|", "?", ":", "=", ",",
];

const ASSIGN_OPS: [&str; 11] = [
    "=", "*=", "/=", "%=", "+=", "-=", "<<=", ">>=", "&=", "^=", "|=",
];

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let n = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            let text = &s[i..i + n];
            out.push(Tok::Num(
                number(text).map_err(|_| format!("invalid number `{text}'"))?,
            ));
            i += n;
        } else if c == b'_' || c.is_ascii_alphabetic() {
            let n = b[i..]
                .iter()
                .take_while(|c| **c == b'_' || c.is_ascii_alphanumeric())
                .count();
            out.push(Tok::Name(s[i..i + n].to_string()));
            i += n;
        } else if let Some(op) = OPS.iter().find(|o| s[i..].starts_with(**o)) {
            if matches!(*op, "++" | "--") && !increments(out.last(), &b[i + 2..]) {
                // `1++2`, `- -x`: two signs.
                let one = if *op == "++" { "+" } else { "-" };
                out.push(Tok::Op(one));
                i += 1;
                continue;
            }
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("syntax error near `{}'", &s[i..]));
        }
    }
    Ok(out)
}

/// Whether `++`/`--` after `prev` and before `rest` is an increment: after a name, or before
/// one where no operand precedes.
fn increments(prev: Option<&Tok>, rest: &[u8]) -> bool {
    match prev {
        Some(Tok::Name(_)) => true,
        Some(Tok::Num(_)) | Some(Tok::Op(")")) => false,
        _ => rest
            .iter()
            .find(|c| !c.is_ascii_whitespace())
            .is_some_and(|c| *c == b'_' || c.is_ascii_alphabetic()),
    }
}

struct P<'a> {
    t: &'a [Tok],
    i: usize,
    vars: &'a mut dyn Vars,
    depth: usize,
    /// Inside a branch `&&`, `||` or `?:` does not take: evaluated for its syntax only.
    skip: usize,
}

/// Binary operators by precedence, loosest first (below the ternary).
const LEVELS: [&[&str]; 10] = [
    &["||"],
    &["&&"],
    &["|"],
    &["^"],
    &["&"],
    &["==", "!="],
    &["<", "<=", ">", ">="],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

fn apply(op: &str, v: i64, r: i64) -> Result<i64, String> {
    Ok(match op {
        "|" => v | r,
        "^" => v ^ r,
        "&" => v & r,
        "==" => (v == r) as i64,
        "!=" => (v != r) as i64,
        "<" => (v < r) as i64,
        "<=" => (v <= r) as i64,
        ">" => (v > r) as i64,
        ">=" => (v >= r) as i64,
        "<<" => v.wrapping_shl(r as u32),
        ">>" => v.wrapping_shr(r as u32),
        "+" => v.wrapping_add(r),
        "-" => v.wrapping_sub(r),
        "*" => v.wrapping_mul(r),
        "/" | "%" if r == 0 => return Err("division by zero".into()),
        "/" => v.wrapping_div(r),
        _ => v.wrapping_rem(r),
    })
}

impl P<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.t.get(self.i) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.peek_op() != Some(op) {
            return Err(match self.t.get(self.i) {
                Some(t) => format!("`{op}' expected before `{}'", t.text()),
                None => format!("`{op}' expected"),
            });
        }
        self.i += 1;
        Ok(())
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH || crate::stack_low(crate::PARSE_STACK_RESERVE) {
            return Err("nested too deeply".into());
        }
        Ok(())
    }

    /// A variable's value as a number (0 in a skipped branch, whatever it holds).
    fn read(&self, name: &str) -> Result<i64, String> {
        match self.vars.get(name) {
            Some(v) if self.skip == 0 => value_of(&v),
            _ => Ok(0),
        }
    }

    fn write(&mut self, name: &str, v: i64) {
        if self.skip == 0 {
            self.vars.set(name, &v.to_string());
        }
    }

    /// `a , b`: both evaluated, the value is the last.
    fn comma(&mut self) -> Result<i64, String> {
        let mut v = self.assign()?;
        while self.peek_op() == Some(",") {
            self.i += 1;
            v = self.assign()?;
        }
        Ok(v)
    }

    /// `name OP= value` (right associative), or a conditional expression.
    fn assign(&mut self) -> Result<i64, String> {
        self.deeper()?;
        let r = match (self.t.get(self.i), self.t.get(self.i + 1)) {
            (Some(Tok::Name(name)), Some(Tok::Op(op))) if ASSIGN_OPS.contains(op) => {
                let (name, op) = (name.clone(), *op);
                self.i += 2;
                let r = self.assign()?;
                let v = if op == "=" {
                    r
                } else {
                    let old = self.read(&name)?;
                    let bin = &op[..op.len() - 1];
                    if self.skip > 0 && matches!(bin, "/" | "%") && r == 0 {
                        0
                    } else {
                        apply(bin, old, r)?
                    }
                };
                self.write(&name, v);
                Ok(v)
            }
            _ => self.ternary(),
        };
        self.depth -= 1;
        r
    }

    fn ternary(&mut self) -> Result<i64, String> {
        let c = self.binary(0)?;
        if self.peek_op() != Some("?") {
            return Ok(c);
        }
        self.i += 1;
        self.skip += usize::from(c == 0);
        let a = self.comma();
        self.skip -= usize::from(c == 0);
        let a = a?;
        self.expect(":")?;
        self.skip += usize::from(c != 0);
        let b = self.assign();
        self.skip -= usize::from(c != 0);
        let b = b?;
        Ok(if c != 0 { a } else { b })
    }

    /// The binary operators of `LEVELS[level..]`, by precedence climbing: one frame per
    /// operator that binds tighter than the one before it, not one per level of precedence
    /// (every `(` starts over, and the stack is 28 KiB).
    fn binary(&mut self, level: usize) -> Result<i64, String> {
        let mut v = self.unary()?;
        while let Some((op, at)) = self.peek_op().and_then(|o| {
            LEVELS
                .iter()
                .position(|ops| ops.contains(&o))
                .filter(|at| *at >= level)
                .map(|at| (o, at))
        }) {
            self.i += 1;
            // `&&` and `||` skip their right side once the left decides.
            let skips = match op {
                "&&" => v == 0,
                "||" => v != 0,
                _ => false,
            };
            self.skip += usize::from(skips);
            // (Left associative: the right operand is what binds tighter than `op`.)
            let r = self.binary(at + 1);
            self.skip -= usize::from(skips);
            let r = r?;
            v = match op {
                "||" => (v != 0 || r != 0) as i64,
                "&&" => (v != 0 && r != 0) as i64,
                "/" | "%" if r == 0 && self.skip > 0 => 0,
                _ => apply(op, v, r)?,
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<i64, String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Op(op @ ("++" | "--"))) => {
                let Some(Tok::Name(name)) = self.t.get(self.i + 1).cloned() else {
                    return Err(format!("`{op}' needs a variable"));
                };
                self.i += 2;
                let v = self.read(&name)?;
                let v = if op == "++" {
                    v.wrapping_add(1)
                } else {
                    v.wrapping_sub(1)
                };
                self.write(&name, v);
                Ok(v)
            }
            Some(Tok::Op(op @ ("-" | "+" | "!" | "~"))) => {
                self.i += 1;
                self.deeper()?;
                let v = self.unary();
                self.depth -= 1;
                let v = v?;
                Ok(match op {
                    "-" => v.wrapping_neg(),
                    "+" => v,
                    "!" => (v == 0) as i64,
                    _ => !v,
                })
            }
            Some(Tok::Op("(")) => {
                self.i += 1;
                let v = self.comma()?;
                self.expect(")")?;
                Ok(v)
            }
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(n)
            }
            Some(Tok::Name(name)) => {
                self.i += 1;
                let v = self.read(&name)?;
                match self.peek_op() {
                    Some(op @ ("++" | "--")) => {
                        self.i += 1;
                        let new = if op == "++" {
                            v.wrapping_add(1)
                        } else {
                            v.wrapping_sub(1)
                        };
                        self.write(&name, new);
                    }
                    Some(op) if ASSIGN_OPS.contains(&op) => {
                        return Err(format!("`{op}' after an expression that is not a name"));
                    }
                    _ => {}
                }
                Ok(v)
            }
            Some(t) => Err(format!("expecting primary before `{}'", t.text())),
            None => Err("expecting primary".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Vars, eval};
    use std::collections::BTreeMap;

    struct V(BTreeMap<String, String>);

    impl Vars for V {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
        fn set(&mut self, name: &str, value: &str) {
            self.0.insert(name.into(), value.into());
        }
    }

    fn vars() -> V {
        let mut m = BTreeMap::new();
        m.insert("x".into(), "5".into());
        m.insert("e".into(), String::new());
        m.insert("bad".into(), "zz".into());
        m.insert("sp".into(), " -3 ".into());
        V(m)
    }

    fn e(s: &str) -> Result<i64, String> {
        eval(s, &mut vars())
    }

    #[test]
    fn operators_and_precedence() {
        assert_eq!(e("1 + 2 * 3"), Ok(7));
        assert_eq!(e("(1 + 2) * 3"), Ok(9));
        assert_eq!(e("x * 2 - -1"), Ok(11));
        assert_eq!(e("7 / 2 + 7 % 2"), Ok(4));
        assert_eq!(e("1 << 4 | 1"), Ok(17));
        assert_eq!(e("x > 3 && x < 10"), Ok(1));
        assert_eq!(e("!x || e"), Ok(0));
        assert_eq!(e("x == 5 ? 10 : 20"), Ok(10));
        assert_eq!(e("unset + e + 0x10 + 010"), Ok(24));
        assert_eq!(e("~0"), Ok(-1));
        assert_eq!(e("sp + 1"), Ok(-2));
        assert_eq!(e("1 / 0"), Err("division by zero".into()));
        assert_eq!(e("0 && 1 / 0"), Ok(0));
        assert_eq!(e("1 ? 2 : 1 % 0"), Ok(2));
        assert!(e("1 +").is_err());
        assert!(e("").is_err());
        assert!(e("(1").is_err());
        assert!(e("bad + 1").is_err());
        assert!(e("08").is_err());
        assert!(e("1 $ 2").is_err());
        assert!(e(&"(".repeat(500)).is_err());
        assert!(e(&"-".repeat(500)).is_err());
        assert!(e(&"x=".repeat(500)).is_err());
        assert_eq!(e("9223372036854775807 + 1"), Ok(i64::MIN));
        assert_eq!(e("1+++2"), Ok(3));
        assert_eq!(e("- -x"), Ok(5));
    }

    #[test]
    fn assignments() {
        let mut v = vars();
        assert_eq!(eval("y = x += 2", &mut v), Ok(7));
        assert_eq!(v.get("x").as_deref(), Some("7"));
        assert_eq!(v.get("y").as_deref(), Some("7"));
        assert_eq!(eval("x <<= 2, x", &mut v), Ok(28));
        assert_eq!(eval("x++ + ++x", &mut v), Ok(58));
        assert_eq!(v.get("x").as_deref(), Some("30"));
        assert_eq!(eval("0 && (x = 1)", &mut v), Ok(0));
        assert_eq!(eval("1 ? x : (x = 1)", &mut v), Ok(30));
        assert_eq!(v.get("x").as_deref(), Some("30"));
        assert!(eval("1 = 2", &mut v).is_err());
        assert!(eval("x /= 0", &mut v).is_err());
    }
}
