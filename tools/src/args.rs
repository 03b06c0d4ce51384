//! Command lines: single-letter options, their values and the operands.

/// Options and operands of a command line: single-letter flags may be grouped (`-la`), flags in
/// `with_value` take a value (`-n 5`, `-n5`), `--` ends the options, a lone `-` is an operand.
pub struct Parsed {
    pub flags: Vec<char>,
    pub values: Vec<(char, String)>,
    pub operands: Vec<String>,
}

impl Parsed {
    pub fn has(&self, f: char) -> bool {
        self.flags.contains(&f)
    }
    pub fn value(&self, f: char) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(c, _)| *c == f)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `args`; `Err` names the problem (an unknown option, a missing value).
pub fn parse(args: &[String], known: &str, with_value: &str) -> Result<Parsed, String> {
    let mut p = Parsed {
        flags: Vec::new(),
        values: Vec::new(),
        operands: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            p.operands.extend(it.cloned());
            break;
        }
        if a.len() < 2 || !a.starts_with('-') {
            p.operands.push(a.clone());
            continue;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if with_value.contains(c) {
                let rest: String = chars[i + 1..].iter().collect();
                let v = if !rest.is_empty() {
                    rest
                } else {
                    it.next()
                        .cloned()
                        .ok_or(format!("option requires an argument -- '{c}'"))?
                };
                p.values.push((c, v));
                break;
            } else if known.contains(c) {
                p.flags.push(c);
            } else {
                return Err(format!("invalid option -- '{c}'"));
            }
            i += 1;
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        let p = parse(&s(&["-la", "x", "-n5", "--", "-r"]), "la", "n").unwrap();
        assert!(p.has('l') && p.has('a') && !p.has('r'));
        assert_eq!(p.value('n'), Some("5"));
        assert_eq!(p.operands, ["x", "-r"]);
        let p = parse(&s(&["-n", "3", "-"]), "", "n").unwrap();
        assert_eq!(
            (p.value('n'), p.operands.as_slice()),
            (Some("3"), &["-".to_string()][..])
        );
        assert_eq!(
            parse(&s(&["-z"]), "a", "").err().unwrap(),
            "invalid option -- 'z'"
        );
        assert!(parse(&s(&["-n"]), "", "n").is_err());
    }
}
