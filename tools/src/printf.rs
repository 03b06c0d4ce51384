//! `printf FORMAT [ARG...]` as POSIX describes it and dash does it (the shell's `printf`
//! builtin is this same code): the format is reused while arguments remain; conversions
//! `%s %b %c %d %i %u %o %x %X %f %e %g %%` with flags `-+ 0#`, width and precision (`*` takes
//! them from the arguments); escapes `\n \t \\ \a \b \e \f \r \v \NNN` (octal; no `\xHH`, as in dash).
//! A numeric argument is read as C's `strtoimax` reads it: what it could read is used, and one
//! that is not wholly a number is reported (status 1); `'c` gives the character's code. A usage
//! error (no format, an option, a bad conversion) is status 2.

use crate::Io;

#[inline(never)]
pub fn printf(args: &[String], io: &mut Io) -> i32 {
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        Some(a) if a.len() > 1 && a.starts_with('-') => {
            let _ = writeln!(io.stderr, "printf: Illegal option {a}");
            return 2;
        }
        _ => args,
    };
    let Some(format) = args.first() else {
        let _ = writeln!(io.stderr, "printf: usage: printf format [arg ...]");
        return 2;
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
        if p.run(&std::ffi::bytes_from_text(format)) {
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
        Err(e) => crate::output::write_error(io.stderr, "printf", &e),
    }
}

/// `%b`'s and `echo`'s escapes in `s` (`\0NNN` or `\NNN` octal, no `\x`): the bytes, and whether
/// `\c` ended them (then nothing more is to be written).
pub fn backslash_escapes(s: &[u8]) -> (Vec<u8>, bool) {
    let mut v = Vec::new();
    let mut j = 0;
    while j < s.len() {
        if s[j] == b'\\' {
            let (bytes, used, stop) = escape(&s[j + 1..], true);
            v.extend_from_slice(&bytes);
            j += 1 + used;
            if stop {
                return (v, true);
            }
        } else {
            v.push(s[j]);
            j += 1;
        }
    }
    (v, false)
}

struct Printer<'a> {
    args: &'a [String],
    next: usize,
    status: i32,
    out: Vec<u8>,
    errors: Vec<String>,
}

#[derive(Default, Clone, Copy)]
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
                        self.errors.push("missing format character".into());
                        self.status = 2;
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
                let s = std::ffi::bytes_from_text(self.arg().unwrap_or(""));
                let s = match spec.precision {
                    Some(p) => &s[..p.min(s.len())],
                    None => &s[..],
                };
                s.to_vec()
            }
            b'b' => {
                let (v, stop) =
                    backslash_escapes(&std::ffi::bytes_from_text(self.arg().unwrap_or("")));
                self.pad(&v, spec, false);
                return stop;
            }
            b'c' => self
                .arg()
                .and_then(|s| s.chars().next())
                .map(|c| std::ffi::bytes_from_text(c.encode_utf8(&mut [0; 4])).into_owned())
                .unwrap_or_default(),
            b'd' | b'i' => {
                let a = self.arg().unwrap_or("0").to_string();
                let v = self.integer(&a);
                let mut digits = v.unsigned_abs().to_string();
                if v == 0 && spec.precision == Some(0) {
                    digits.clear();
                }
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
                let v = self.unsigned(&a);
                let mut digits = match conv {
                    b'o' => format!("{v:o}"),
                    b'x' => format!("{v:x}"),
                    b'X' => format!("{v:X}"),
                    _ => v.to_string(),
                };
                if v == 0 && spec.precision == Some(0) {
                    digits.clear();
                }
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
                    // `#`: the point even with no digits after it.
                    b'f' | b'F' if spec.alt && p == 0 => format!("{:.0}.", v.abs()),
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
                        // `#`: trailing zeros (and the point) stay.
                        if spec.alt {
                            if s.contains('.') { s } else { format!("{s}.") }
                        } else {
                            trim_g(&s)
                        }
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
                // Zeros pad a float also with a precision (it is not a digit count here).
                let spec = Spec {
                    precision: None,
                    ..*spec
                };
                self.pad_number(sign, &body, &spec);
                return false;
            }
            other => {
                self.errors
                    .push(format!("%{}: invalid directive", other as char));
                self.status = 2;
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

    /// An integer argument as `strtoimax` reads it (blanks, a sign, `0x` hex, `0` octal or
    /// decimal digits), or `'c` / `"c` for a character's code. What is not wholly a number is
    /// reported: its number as far as it goes counts (0 if none); one out of range is clamped.
    fn integer(&mut self, a: &str) -> i64 {
        let Some((neg, magnitude, complete)) = self.digits_of(a) else {
            return 0;
        };
        let v = if neg {
            -(magnitude.min(1 << 64) as i128)
        } else {
            magnitude.min(1 << 64) as i128
        };
        let clamped = v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        self.check(a, clamped as i128 == v, complete);
        clamped
    }

    /// An argument of `%u %o %x %X`, as `strtoumax` reads it: a negative number is taken
    /// modulo 2^64 (`-1` is the largest), one out of range is clamped.
    fn unsigned(&mut self, a: &str) -> u64 {
        let Some((neg, magnitude, complete)) = self.digits_of(a) else {
            return 0;
        };
        let in_range = magnitude <= u64::MAX as u128;
        let v = if !in_range {
            u64::MAX
        } else if neg {
            (magnitude as u64).wrapping_neg()
        } else {
            magnitude as u64
        };
        self.check(a, in_range, complete);
        v
    }

    /// An integer argument's sign, magnitude (`u128::MAX` if past that), and whether the whole
    /// argument was read; `None` (reported, unless empty) if it has no digits.
    fn digits_of(&mut self, a: &str) -> Option<(bool, u128, bool)> {
        let t = a.trim_start_matches([' ', '\t', '\n']);
        if let Some(rest) = t.strip_prefix(['\'', '"']) {
            // A byte that is not UTF-8 (`std::ffi::text_from_bytes`) is its own code.
            let code = |c: char| match std::ffi::is_escaped_byte(c) {
                true => u128::from(std::ffi::bytes_from_text(c.encode_utf8(&mut [0; 4]))[0]),
                false => c as u128,
            };
            return Some((false, rest.chars().next().map_or(0, code), true));
        }
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (radix, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(h) if h.starts_with(|c: char| c.is_ascii_hexdigit()) => (16, h),
            _ if body.starts_with('0') => (8, body),
            _ => (10, body),
        };
        let n = digits
            .bytes()
            .take_while(|b| (*b as char).is_digit(radix))
            .count();
        if n == 0 {
            if !a.is_empty() {
                self.errors.push(format!("{a}: expected numeric value"));
                self.status = 1;
            }
            return None;
        }
        let magnitude = u128::from_str_radix(&digits[..n], radix).unwrap_or(u128::MAX);
        Some((neg, magnitude, n == digits.len()))
    }

    /// Reports a number out of range, or one with more after it.
    fn check(&mut self, a: &str, in_range: bool, complete: bool) {
        if !in_range {
            self.errors
                .push(format!("{a}: Numerical result out of range"));
            self.status = 1;
        } else if !complete {
            self.errors.push(format!("{a}: not completely converted"));
            self.status = 1;
        }
    }

    fn float(&mut self, a: &str) -> f64 {
        let t = a.trim();
        if let Some(rest) = t.strip_prefix(['\'', '"']) {
            return rest.chars().next().map(|c| c as u32 as f64).unwrap_or(0.0);
        }
        match decimal_f64(t) {
            Some(v) => v,
            None => {
                self.errors.push(format!("{a}: invalid number"));
                self.status = 1;
                0.0
            }
        }
    }
}

/// A decimal number (`[+-]digits[.digits][e[+-]digits]`, `inf`, `nan`) as `f64`, without
/// core's exact parser: its tables are 14 KiB of every program that links printf, the shell
/// among them. Correctly rounded when the digits fit 2^53 and the power of ten is at most 22
/// (Clinger's fast path: one exact conversion and one rounding), as arguments to printf nearly
/// always are; otherwise within a unit or two in the last place.
fn decimal_f64(t: &str) -> Option<f64> {
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if t.eq_ignore_ascii_case("inf") || t.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if t.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        let (mant, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], Some(&t[i + 1..])),
            None => (t, None),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = || int.bytes().chain(frac.bytes());
        if (int.is_empty() && frac.is_empty()) || !digits().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut e10: i64 = match exp {
            None => 0,
            Some(e) => {
                let d = e.strip_prefix(['+', '-']).unwrap_or(e);
                if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n = d.parse::<i64>().unwrap_or(i64::MAX / 2).min(100_000);
                if e.starts_with('-') { -n } else { n }
            }
        };
        // Up to 19 digits exactly; the rest only move the decimal point.
        let mut m: u64 = 0;
        for b in digits() {
            if m < 1_000_000_000_000_000_000 {
                m = m * 10 + u64::from(b - b'0');
            } else {
                e10 += 1;
            }
        }
        e10 -= frac.len() as i64;
        let mut v = m as f64;
        // 10^k is exact in f64 for k <= 22: scale in steps of at most that.
        while e10 != 0 && v != 0.0 && v.is_finite() {
            let k = e10.unsigned_abs().min(22);
            let p = (0..k).fold(1.0f64, |p, _| p * 10.0);
            if e10 > 0 {
                v *= p;
                e10 -= k as i64;
            } else {
                v /= p;
                e10 += k as i64;
            }
        }
        v
    };
    Some(if neg { -v } else { v })
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
        b'e' => simple(27),
        b'c' => (Vec::new(), 1, true),
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
        assert_eq!(run(&["\\101\\x42\\t|"]).1, "A\\x42\t|");
        assert_eq!(
            run(&[
                "%u %x %o|%08.3f|%#.0f|%#g",
                "-1",
                "-42",
                "8",
                "3.14159",
                "3",
                "3"
            ])
            .1,
            "18446744073709551615 ffffffffffffffd6 10|0003.142|3.|3.00000"
        );
        let (code, out, _) = run(&["%u|%u", "18446744073709551615", "18446744073709551616"]);
        assert_eq!(
            (code, out.as_str()),
            (1, "18446744073709551615|18446744073709551615")
        );
        assert_eq!(run(&["%b|", "x\\ty\\0101\\101\\x41"]).1, "x\tyAA\\x41|");
        assert_eq!(
            run(&["[%.0d][%.0x][%5.2d]", "0", "0", "3"]).1,
            "[][][   03]"
        );
        assert_eq!(run(&["%b", "stop\\cnot", "more"]).1, "stop");
    }

    #[test]
    fn errors() {
        let (code, out, err) = run(&["%d\\n", "12abc"]);
        assert_eq!((code, out.as_str()), (1, "12\n"));
        assert!(err.contains("12abc: not completely converted"), "{err}");
        let (code, out, err) = run(&["%d|%d|%d", "x", "", "99999999999999999999"]);
        assert_eq!((code, out.as_str()), (1, "0|0|9223372036854775807"));
        assert!(err.contains("x: expected numeric value"), "{err}");
        assert!(err.contains("out of range"), "{err}");
        assert_eq!(run(&[]).0, 2);
        assert_eq!(run(&["-x"]).0, 2);
        assert_eq!(run(&["--", "-%s", "x"]).1, "-x");
        let (code, _, err) = run(&["%q"]);
        assert_eq!(code, 2);
        assert!(err.contains("%q: invalid directive"), "{err}");
        assert_eq!(run(&["%"]).0, 2);
    }
}

#[cfg(test)]
mod decimal_tests {
    use super::decimal_f64;

    #[test]
    fn decimals_read_as_core_reads_them() {
        // Clinger's fast path: correctly rounded.
        for t in [
            "0",
            "1",
            "-1",
            "+2.5",
            "3.14159",
            ".5",
            "5.",
            "1e3",
            "1E-3",
            "2.675",
            "0.1",
            "1e22",
            "1e-22",
            "-0",
            "123456.789e-10",
        ] {
            let want: f64 = t.parse().unwrap();
            assert_eq!(
                decimal_f64(t).map(f64::to_bits),
                Some(want.to_bits()),
                "{t}"
            );
        }
        // Past it: close.
        for t in [
            "123456789012345678901",
            "1.7976931348623157e308",
            "4.9e-300",
            "1e-30",
        ] {
            let want: f64 = t.parse().unwrap();
            let got = decimal_f64(t).unwrap();
            assert!(((got - want) / want).abs() < 1e-14, "{t}: {got} vs {want}");
        }
        assert_eq!(decimal_f64("2.5"), Some(2.5));
        assert_eq!(decimal_f64("0.1"), Some(0.1));
        assert_eq!(decimal_f64("inf"), Some(f64::INFINITY));
        assert!(decimal_f64("nan").is_some_and(f64::is_nan));
        for bad in ["", ".", "1x", "e5", "1e", "1e+", "--1", "0x10"] {
            assert_eq!(decimal_f64(bad), None, "{bad}");
        }
    }
}
