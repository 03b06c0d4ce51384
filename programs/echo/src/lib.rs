//! `echo`: writes its arguments, separated by spaces, and a newline.
//!
//! ```text
//! echo [-n] [-e] [--] [STRING...]
//! ```
//! `-n` leaves out the newline; `-e` reads the backslash escapes `\n \t \\ \a \b \r \0NNN \c`
//! (`\c` ends all output). Exits 1 if the output could not be written.
#![forbid(unsafe_code)]

use std::io::Write;

/// What `echo` writes for `args` (without the program name).
pub fn render(args: &[String]) -> Vec<u8> {
    let mut newline = true;
    let mut escapes = false;
    let mut words = args;
    while let Some(first) = words.first() {
        let flag = first.len() > 1
            && first.starts_with('-')
            && first[1..].chars().all(|c| matches!(c, 'n' | 'e' | 'E'));
        if !flag {
            break;
        }
        for c in first[1..].chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        words = &words[1..];
    }
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if escapes {
            if unescape(w, &mut out) {
                return out;
            }
        } else {
            out.extend_from_slice(w.as_bytes());
        }
    }
    if newline {
        out.push(b'\n');
    }
    out
}

/// Appends `w` with escapes read; true if `\c` asked to stop all output.
fn unescape(w: &str, out: &mut Vec<u8>) -> bool {
    let b = w.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'\\' => out.push(b'\\'),
            b'c' => return true,
            b'0' => {
                let digits = b[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count();
                let v = b[i + 1..i + 1 + digits]
                    .iter()
                    .fold(0u32, |n, d| n * 8 + (d - b'0') as u32);
                out.push(v as u8);
                i += digits;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
        i += 1;
    }
    false
}

/// `echo --help`.
const HELP: &str = "Usage: echo [-n] [-e] [--] [STRING...]\n\
Write the STRINGs, separated by spaces, and a newline.\n\
  -n      no newline\n\
  -e      read backslash escapes (\\n \\t \\\\ \\a \\b \\r \\0NNN \\c)\n\
  --help  show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = render(&args);
    let mut stdout = std::io::stdout();
    if let Err(e) = stdout.write_all(&out).and_then(|_| stdout.flush()) {
        eprintln!("echo: write error: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    fn r(args: &[&str]) -> String {
        String::from_utf8(render(
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
        .unwrap()
    }

    #[test]
    fn renders_like_gnu_echo() {
        assert_eq!(r(&[]), "\n");
        assert_eq!(r(&["a", "b  c"]), "a b  c\n");
        assert_eq!(r(&["-n", "x"]), "x");
        assert_eq!(r(&["-e", "a\\tb\\n"]), "a\tb\n\n");
        assert_eq!(r(&["-e", "x\\cy", "z"]), "x");
        assert_eq!(r(&["-e", "\\0101"]), "A\n");
        assert_eq!(r(&["-x"]), "-x\n");
        assert_eq!(r(&["-", "a"]), "- a\n");
        assert_eq!(r(&["a\\tb"]), "a\\tb\n");
        assert_eq!(r(&["-ne", "q\\n"]), "q\n");
    }
}
