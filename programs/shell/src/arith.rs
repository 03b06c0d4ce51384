//! Arithmetic expansion `$((…))`: signed 64-bit integers with C's operators as POSIX lists
//! them (no assignment operators): `( )`, unary `+ - ! ~`, `* / %`, `+ -`, `<< >>`,
//! `< <= > >=`, `== !=`, `&`, `^`, `|`, `&&`, `||`, `?:`. Names are variables (empty or unset is
//! 0); `$x` has already been expanded. Overflow wraps; division by zero is an error. Recursion is
//! bounded.

const MAX_DEPTH: usize = 64;

/// Evaluates `expr`, looking variables up with `var`.
pub fn eval(expr: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<i64, String> {
    let toks = lex(expr)?;
    let mut p = P {
        t: &toks,
        i: 0,
        var,
        depth: 0,
    };
    let v = p.ternary()?;
    if p.i < toks.len() {
        return Err(format!(
            "arithmetic syntax error near `{}'",
            toks[p.i].text()
        ));
    }
    Ok(v)
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

const OPS: [&str; 24] = [
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "(", ")", "+", "-", "*", "/", "%", "<", ">",
    "!", "~", "&", "^", "|", "?", ":",
];

fn number(s: &str) -> Result<i64, String> {
    let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8)
    } else {
        s.parse()
    };
    r.map_err(|_| format!("invalid number `{s}'"))
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let n = b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            out.push(Tok::Num(number(&s[i..i + n])?));
            i += n;
        } else if c == b'_' || c.is_ascii_alphabetic() {
            let n = b[i..]
                .iter()
                .take_while(|c| **c == b'_' || c.is_ascii_alphanumeric())
                .count();
            out.push(Tok::Name(s[i..i + n].to_string()));
            i += n;
        } else if let Some(op) = OPS.iter().find(|o| s[i..].starts_with(**o)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("arithmetic syntax error near `{}'", &s[i..]));
        }
    }
    Ok(out)
}

struct P<'a> {
    t: &'a [Tok],
    i: usize,
    var: &'a dyn Fn(&str) -> Option<String>,
    depth: usize,
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

impl P<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.t.get(self.i) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn ternary(&mut self) -> Result<i64, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH || crate::stack_low(crate::PARSE_STACK_RESERVE) {
            return Err("arithmetic expression nested too deeply".into());
        }
        let c = self.binary(0)?;
        let r = if self.peek_op() == Some("?") {
            self.i += 1;
            let a = self.ternary()?;
            if self.peek_op() != Some(":") {
                return Err("arithmetic syntax error: `:' expected".into());
            }
            self.i += 1;
            let b = self.ternary()?;
            if c != 0 { a } else { b }
        } else {
            c
        };
        self.depth -= 1;
        Ok(r)
    }

    fn binary(&mut self, level: usize) -> Result<i64, String> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut v = self.binary(level + 1)?;
        while let Some(op) = self.peek_op().filter(|o| LEVELS[level].contains(o)) {
            self.i += 1;
            let r = self.binary(level + 1)?;
            v = match op {
                "||" => (v != 0 || r != 0) as i64,
                "&&" => (v != 0 && r != 0) as i64,
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
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<i64, String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Op(op @ ("-" | "+" | "!" | "~"))) => {
                self.i += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH || crate::stack_low(crate::PARSE_STACK_RESERVE) {
                    return Err("arithmetic expression nested too deeply".into());
                }
                let v = self.unary()?;
                self.depth -= 1;
                Ok(match op {
                    "-" => v.wrapping_neg(),
                    "+" => v,
                    "!" => (v == 0) as i64,
                    _ => !v,
                })
            }
            Some(Tok::Op("(")) => {
                self.i += 1;
                let v = self.ternary()?;
                if self.peek_op() != Some(")") {
                    return Err("arithmetic syntax error: `)' expected".into());
                }
                self.i += 1;
                Ok(v)
            }
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(n)
            }
            Some(Tok::Name(name)) => {
                self.i += 1;
                match (self.var)(&name) {
                    None => Ok(0),
                    Some(v) if v.trim().is_empty() => Ok(0),
                    Some(v) => {
                        number(v.trim()).map_err(|_| format!("{name}: `{v}' is not a number"))
                    }
                }
            }
            Some(t) => Err(format!("arithmetic syntax error near `{}'", t.text())),
            None => Err("arithmetic syntax error: operand expected".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::eval;

    fn e(s: &str) -> Result<i64, String> {
        eval(s, &|n| match n {
            "x" => Some("5".into()),
            "e" => Some(String::new()),
            "bad" => Some("zz".into()),
            _ => None,
        })
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
        assert_eq!(e("1 / 0"), Err("division by zero".into()));
        assert!(e("1 +").is_err());
        assert!(e("(1").is_err());
        assert!(e("bad + 1").is_err());
        assert!(e("1 $ 2").is_err());
        assert!(e(&"(".repeat(500)).is_err());
        assert!(e(&"-".repeat(500)).is_err());
        assert_eq!(e("9223372036854775807 + 1"), Ok(i64::MIN));
    }
}
