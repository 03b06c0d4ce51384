//! `printf FORMAT [ARG...]` as POSIX describes it: the format is reused while arguments remain;
//! conversions `%s %b %c %d %i %u %o %x %X %f %e %g %%` with flags `-+ 0#`, width and
//! precision (`*` takes them from the arguments); escapes `\n \t \\ \a \b \f \r \v \" \NNN`
//! (octal) and `\xHH`. A numeric argument that is not a number is reported and counts as 0
//! (status 1); `'c` gives the character's code, as POSIX says.

use crate::Io;

#[inline(never)]
pub fn printf(args: &[String], io: &mut Io) -> i32 {
    let Some(format) = args.first() else {
        let _ = writeln!(io.stderr, "printf: missing operand");
        return 1;
    };
    let mut p = Printer {
        args: &args[1..],
        next: 0,
        status: 0,
        out: Vec::new(),
        errors: Vec::new(),
    };
    loop {
        let before = p.next;
        if p.run(format.as_bytes()) {
            break; // `\c`: stop everything
        }
        if p.next >= p.args.len() || p.next == before {
            break;
        }
    }
    let written = io.stdout.write_all(&p.out);
    for e in &p.errors {
        let _ = writeln!(io.stderr, "printf: {e}");
    }
    match written {
        Ok(()) => p.status,
        Err(e) => crate::util::write_error(io.stderr, "printf", &e),
    }
}

struct Printer<'a> {
    args: &'a [String],
    next: usize,
    status: i32,
    out: Vec<u8>,
    errors: Vec<String>,
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Printer<'_> {
    fn arg(&mut self) -> Option<&str> {
        let a = self.args.get(self.next).map(String::as_str);
        if a.is_some() {
            self.next += 1;
        }
        a
    }

    /// Runs the format once; `true` if `\c` ended the output.
    fn run(&mut self, f: &[u8]) -> bool {
        let mut i = 0;
        while i < f.len() {
            match f[i] {
                b'\\' => {
                    let (bytes, used, stop) = escape(&f[i + 1..], false);
                    self.out.extend_from_slice(&bytes);
                    if stop {
                        return true;
                    }
                    i += 1 + used;
                }
                b'%' => {
                    i += 1;
                    if f.get(i) == Some(&b'%') {
                        self.out.push(b'%');
                        i += 1;
                        continue;
                    }
                    let mut spec = Spec::default();
                    while let Some(&c) = f.get(i) {
                        match c {
                            b'-' => spec.left = true,
                            b'+' => spec.plus = true,
                            b' ' => spec.space = true,
                            b'0' => spec.zero = true,
                            b'#' => spec.alt = true,
                            _ => break,
                        }
                        i += 1;
                    }
                    spec.width = self.number_at(f, &mut i);
                    if f.get(i) == Some(&b'.') {
                        i += 1;
                        spec.precision = Some(self.number_at(f, &mut i).unwrap_or(0));
                    }
                    let Some(&conv) = f.get(i) else {
                        self.errors
                            .push("missing conversion at the end of the format".into());
                        self.status = 1;
                        return true;
                    };
                    i += 1;
                    if self.convert(conv, &spec) {
                        return true;
                    }
                }
                c => {
                    self.out.push(c);
                    i += 1;
                }
            }
        }
        false
    }

    /// A width or precision: digits, or `*` (the next argument).
    fn number_at(&mut self, f: &[u8], i: &mut usize) -> Option<usize> {
        if f.get(*i) == Some(&b'*') {
            *i += 1;
            let a = self.arg().unwrap_or("0").to_string();
            return Some(self.integer(&a).unsigned_abs() as usize);
        }
        let start = *i;
        while f.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        std::str::from_utf8(&f[start..*i]).ok()?.parse().ok()
    }

    /// One conversion; `true` if `%b` met `\c`.
    fn convert(&mut self, conv: u8, spec: &Spec) -> bool {
        let text: Vec<u8> = match conv {
            b's' => {
                let s = self.arg().unwrap_or("").as_bytes();
                let s = match spec.precision {
                    Some(p) => &s[..p.min(s.len())],
                    None => s,
                };
                s.to_vec()
            }
            b'b' => {
                let s = self.arg().unwrap_or("").as_bytes().to_vec();
                let mut v = Vec::new();
                let mut j = 0;
                let mut stop = false;
                while j < s.len() {
                    if s[j] == b'\\' {
                        let (bytes, used, c) = escape(&s[j + 1..], true);
                        v.extend_from_slice(&bytes);
                        j += 1 + used;
                        if c {
                            stop = true;
                            break;
                        }
                    } else {
                        v.push(s[j]);
                        j += 1;
                    }
                }
                self.pad(&v, spec, false);
                return stop;
            }
            b'c' => self
                .arg()
                .and_then(|s| s.chars().next())
                .map(|c| c.to_string().into_bytes())
                .unwrap_or_default(),
            b'd' | b'i' => {
                let a = self.arg().unwrap_or("0").to_string();
                let v = self.integer(&a);
                let mut digits = v.unsigned_abs().to_string();
                if let Some(p) = spec.precision {
                    while digits.len() < p {
                        digits.insert(0, '0');
                    }
                }
                let sign = if v < 0 {
                    "-"
                } else if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                };
                self.pad_number(sign, &digits, spec);
                return false;
            }
            b'u' | b'o' | b'x' | b'X' => {
                let a = self.arg().unwrap_or("0").to_string();
                let v = self.integer(&a) as u64;
                let mut digits = match conv {
                    b'o' => format!("{v:o}"),
                    b'x' => format!("{v:x}"),
                    b'X' => format!("{v:X}"),
                    _ => v.to_string(),
                };
                if let Some(p) = spec.precision {
                    while digits.len() < p {
                        digits.insert(0, '0');
                    }
                }
                let prefix = match (spec.alt && v != 0, conv) {
                    (true, b'o') if !digits.starts_with('0') => "0",
                    (true, b'x') => "0x",
                    (true, b'X') => "0X",
                    _ => "",
                };
                self.pad_number(prefix, &digits, spec);
                return false;
            }
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => {
                let a = self.arg().unwrap_or("0").to_string();
                let v = self.float(&a);
                let p = spec.precision.unwrap_or(6);
                let body = match conv {
                    b'f' | b'F' => format!("{:.*}", p, v.abs()),
                    b'e' | b'E' => c_exponent(v.abs(), p, conv == b'E'),
                    _ => {
                        // %g: %e if the exponent is < -4 or >= precision, else %f; trailing
                        // zeros dropped.
                        let p = p.max(1);
                        // The decimal exponent after rounding to p digits (no libm here).
                        let e = format!("{:.*e}", p - 1, v.abs());
                        let exp: i32 = e
                            .split_once('e')
                            .and_then(|(_, x)| x.parse().ok())
                            .unwrap_or(0);
                        let s = if exp < -4 || exp >= p as i32 {
                            c_exponent(v.abs(), p - 1, conv == b'G')
                        } else {
                            format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, v.abs())
                        };
                        trim_g(&s)
                    }
                };
                let sign = if v.is_sign_negative() && v != 0.0 {
                    "-"
                } else if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                };
                self.pad_number(sign, &body, spec);
                return false;
            }
            other => {
                self.errors
                    .push(format!("%{}: invalid conversion", other as char));
                self.status = 1;
                return true;
            }
        };
        self.pad(&text, spec, false);
        false
    }

    fn pad(&mut self, text: &[u8], spec: &Spec, _numeric: bool) {
        let width = spec.width.unwrap_or(0);
        let len = String::from_utf8_lossy(text).chars().count();
        let fill = width.saturating_sub(len);
        if !spec.left {
            self.out.extend(std::iter::repeat_n(b' ', fill));
        }
        self.out.extend_from_slice(text);
        if spec.left {
            self.out.extend(std::iter::repeat_n(b' ', fill));
        }
    }

    fn pad_number(&mut self, sign: &str, digits: &str, spec: &Spec) {
        let width = spec.width.unwrap_or(0);
        let len = sign.len() + digits.len();
        let fill = width.saturating_sub(len);
        if spec.left {
            self.out.extend_from_slice(sign.as_bytes());
            self.out.extend_from_slice(digits.as_bytes());
            self.out.extend(std::iter::repeat_n(b' ', fill));
        } else if spec.zero && spec.precision.is_none() {
            self.out.extend_from_slice(sign.as_bytes());
            self.out.extend(std::iter::repeat_n(b'0', fill));
            self.out.extend_from_slice(digits.as_bytes());
        } else {
            self.out.extend(std::iter::repeat_n(b' ', fill));
            self.out.extend_from_slice(sign.as_bytes());
            self.out.extend_from_slice(digits.as_bytes());
        }
    }

    /// An integer argument: decimal, 0x hex, 0 octal, or 'c / "c for a character's code.
    fn integer(&mut self, a: &str) -> i64 {
        let t = a.trim();
        if let Some(rest) = t.strip_prefix(['\'', '"']) {
            return rest.chars().next().map(|c| c as i64).unwrap_or(0);
        }
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let parsed = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            i64::from_str_radix(h, 16)
        } else if body.len() > 1 && body.starts_with('0') {
            i64::from_str_radix(&body[1..], 8)
        } else {
            body.parse()
        };
        match parsed {
            Ok(v) => {
                if neg {
                    -v
                } else {
                    v
                }
            }
            Err(_) => {
                self.errors.push(format!("{a}: invalid number"));
                self.status = 1;
                0
            }
        }
    }

    fn float(&mut self, a: &str) -> f64 {
        let t = a.trim();
        if let Some(rest) = t.strip_prefix(['\'', '"']) {
            return rest.chars().next().map(|c| c as u32 as f64).unwrap_or(0.0);
        }
        match t.parse::<f64>() {
            Ok(v) => v,
            Err(_) => {
                self.errors.push(format!("{a}: invalid number"));
                self.status = 1;
                0.0
            }
        }
    }
}

/// `1.500000e+00` (C's form: at least two exponent digits, with a sign).
fn c_exponent(v: f64, precision: usize, upper: bool) -> String {
    let s = format!("{:.*e}", precision, v);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}{e}{sign}{:02}", exp.abs())
}

/// %g drops trailing zeros of the fraction (and a bare point).
fn trim_g(s: &str) -> String {
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    format!("{mant}{exp}")
}

/// One escape after a backslash: its bytes, how many input bytes it used, and whether it was
/// `\c`. In `%b` arguments octal is `\0NNN`; in the format it is `\NNN`.
fn escape(s: &[u8], in_b: bool) -> (Vec<u8>, usize, bool) {
    let Some(&c) = s.first() else {
        return (vec![b'\\'], 0, false);
    };
    let simple = |b: u8| (vec![b], 1, false);
    match c {
        b'n' => simple(b'\n'),
        b't' => simple(b'\t'),
        b'\\' => simple(b'\\'),
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'r' => simple(b'\r'),
        b'v' => simple(11),
        b'"' => simple(b'"'),
        b'\'' => simple(b'\''),
        b'c' => (Vec::new(), 1, true),
        b'x' => {
            let n = s[1..]
                .iter()
                .take(2)
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if n == 0 {
                return (b"\\x".to_vec(), 1, false);
            }
            let v = u8::from_str_radix(std::str::from_utf8(&s[1..1 + n]).unwrap_or("0"), 16)
                .unwrap_or(0);
            (vec![v], 1 + n, false)
        }
        b'0'..=b'7' => {
            let (start, max) = if in_b && c == b'0' { (1, 3) } else { (0, 3) };
            let n = s[start..]
                .iter()
                .take(max)
                .take_while(|b| (b'0'..=b'7').contains(b))
                .count();
            let digits = std::str::from_utf8(&s[start..start + n]).unwrap_or("0");
            let v =
                u32::from_str_radix(if digits.is_empty() { "0" } else { digits }, 8).unwrap_or(0);
            (vec![v as u8], start + n, false)
        }
        _ => (vec![b'\\', c], 1, false),
    }
}

#[cfg(test)]
mod tests {
    fn run(args: &[&str]) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut stdin: &[u8] = b"";
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = super::printf(&args, &mut crate::Io::new(&mut stdin, &mut out, &mut err));
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn conversions_as_in_c() {
        assert_eq!(run(&["%s-%d\\n", "a", "42"]).1, "a-42\n");
        assert_eq!(
            run(&["[%5s][%-5s][%.2s]", "ab", "cd", "xyz"]).1,
            "[   ab][cd   ][xy]"
        );
        assert_eq!(
            run(&[
                "%05d|%+d|% d|%x|%X|%o|%#x",
                "42",
                "7",
                "7",
                "255",
                "255",
                "8",
                "255"
            ])
            .1,
            "00042|+7| 7|ff|FF|10|0xff"
        );
        assert_eq!(run(&["%d %d", "-3", "'A"]).1, "-3 65");
        assert_eq!(
            run(&["%.3f %e %g %g", "3.14159", "1500", "0.0001", "100000"]).1,
            "3.142 1.500000e+03 0.0001 100000"
        );
        assert_eq!(run(&["%c%c", "hello", "w"]).1, "hw");
        assert_eq!(run(&["%*d|%-*d|", "4", "1", "3", "2"]).1, "   1|2  |");
        assert_eq!(run(&["100%%\\n"]).1, "100%\n");
    }

    #[test]
    fn format_reused_and_escapes() {
        assert_eq!(run(&["%s\\n", "a", "b", "c"]).1, "a\nb\nc\n");
        assert_eq!(run(&["%s=%s;", "k"]).1, "k=;");
        assert_eq!(run(&["\\101\\x42\\t|"]).1, "AB\t|");
        assert_eq!(run(&["%b|", "x\\ty\\0101"]).1, "x\tyA|");
        assert_eq!(run(&["%b", "stop\\cnot", "more"]).1, "stop");
    }

    #[test]
    fn errors() {
        let (code, out, err) = run(&["%d\\n", "12abc"]);
        assert_eq!((code, out.as_str()), (1, "0\n"));
        assert!(err.contains("12abc: invalid number"), "{err}");
        assert_eq!(run(&[]).0, 1);
        let (code, _, err) = run(&["%q"]);
        assert_eq!(code, 1);
        assert!(err.contains("%q: invalid conversion"), "{err}");
    }
}
