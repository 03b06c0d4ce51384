//! The interactive prompts: `$PS1` before a command, `$PS2` before each further line of one.
//!
//! Without `PS1` the prompt is `USER:DIR$ ` (DIR with `~` for the home directory). A prompt
//! set by the user is expanded in one pass (what an expansion gives is not expanded again):
//!
//! - bash's escapes `\u` (user), `\h` / `\H` (host name, short / whole), `\w` (working
//!   directory, `~` for home), `\W` (its last part), `\$` (`#` for root, else `$`), `\n`, `\e`
//!   (ESC), `\a` (BEL), `\\`, `\[` and `\]` (dropped: the editor finds the width of colour
//!   sequences itself); any other backslash stays;
//! - parameters `$NAME`, `${NAME}` and the special `$?` `$$` `$#` `$0`..`$9`; not command
//!   substitution (`$(…)` stays as it is).

/// Variables (and special parameters, by their names: `?`, `$`) as the shell has them.
pub type Vars<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `$PS1` expanded, or the default prompt.
pub fn primary(vars: &Vars<'_>) -> String {
    match vars("PS1") {
        Some(ps1) => expand(&ps1, vars),
        None => {
            let user = vars("USER").unwrap_or_else(|| "root".into());
            format!("{user}:{}$ ", short_dir(vars))
        }
    }
}

/// `$PS2` expanded (empty when it is unset, as in bash).
pub fn continuation(vars: &Vars<'_>) -> String {
    expand(&vars("PS2").unwrap_or_default(), vars)
}

/// `$PWD` with `~` for `$HOME`.
fn short_dir(vars: &Vars<'_>) -> String {
    let cwd = vars("PWD").unwrap_or_else(|| "/".into());
    let home = vars("HOME").unwrap_or_default();
    match cwd.strip_prefix(home.as_str()) {
        Some(rest)
            if !home.is_empty() && home != "/" && (rest.is_empty() || rest.starts_with('/')) =>
        {
            format!("~{rest}")
        }
        _ => cwd,
    }
}

fn host(vars: &Vars<'_>) -> String {
    vars("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .and_then(|s| s.lines().next().map(str::to_string))
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "eurali".into())
}

/// Expands a prompt string (see the module's doc).
pub fn expand(ps: &str, vars: &Vars<'_>) -> String {
    let mut out = String::new();
    let mut chars = ps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('u') => out.push_str(&vars("USER").unwrap_or_default()),
                Some('h') => {
                    let h = host(vars);
                    out.push_str(h.split('.').next().unwrap_or(""));
                }
                Some('H') => out.push_str(&host(vars)),
                Some('w') => out.push_str(&short_dir(vars)),
                Some('W') => {
                    let dir = short_dir(vars);
                    let last = match dir.trim_end_matches('/').rsplit('/').next() {
                        Some("") | None => "/",
                        Some(l) => l,
                    };
                    out.push_str(last);
                }
                Some('$') => {
                    let root = vars("USER").as_deref() == Some("root");
                    out.push(if root { '#' } else { '$' });
                }
                Some('n') => out.push('\n'),
                Some('e') => out.push('\x1b'),
                Some('a') => out.push('\x07'),
                Some('\\') => out.push('\\'),
                Some('[' | ']') => {}
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '$' => match chars.peek() {
                Some('{') => {
                    let mut name = String::new();
                    let mut closed = false;
                    let mut look = chars.clone();
                    look.next();
                    for c in look.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if closed && is_param(&name) {
                        chars = look;
                        out.push_str(&vars(&name).unwrap_or_default());
                    } else {
                        out.push('$');
                    }
                }
                Some(&s) if "?$#".contains(s) || s.is_ascii_digit() => {
                    chars.next();
                    out.push_str(&vars(&s.to_string()).unwrap_or_default());
                }
                Some(&s) if s.is_ascii_alphabetic() || s == '_' => {
                    let mut name = String::new();
                    while let Some(&c) = chars.peek() {
                        if !(c.is_ascii_alphanumeric() || c == '_') {
                            break;
                        }
                        name.push(c);
                        chars.next();
                    }
                    out.push_str(&vars(&name).unwrap_or_default());
                }
                _ => out.push('$'),
            },
            _ => out.push(c),
        }
    }
    out
}

fn is_param(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        Some(c) if "?$#".contains(c) || c.is_ascii_digit() => name.len() == 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        Some(
            match name {
                "USER" => "ann",
                "HOME" => "/home/ann",
                "PWD" => "/home/ann/src/eurali",
                "HOSTNAME" => "box.example",
                "?" => "1",
                "X" => "$Y",
                _ => return None,
            }
            .to_string(),
        )
    }

    #[test]
    fn escapes_and_parameters() {
        assert_eq!(expand("\\u@\\h:\\w\\$ ", &vars), "ann@box:~/src/eurali$ ");
        assert_eq!(expand("[\\W] \\H", &vars), "[eurali] box.example");
        assert_eq!(
            expand("\\[\\e[1m\\]$PWD ${?} $X $NOPE$ \\q\\", &vars),
            "\x1b[1m/home/ann/src/eurali 1 $Y $ \\q\\"
        );
        assert_eq!(expand("${bad name} $(date)", &vars), "${bad name} $(date)");
    }

    #[test]
    fn defaults() {
        assert_eq!(primary(&vars), "ann:~/src/eurali$ ");
        assert_eq!(continuation(&vars), "");
        let root = |n: &str| match n {
            "USER" => Some("root".to_string()),
            "PS1" => Some("\\W\\$ ".to_string()),
            "PWD" => Some("/".to_string()),
            "PS2" => Some("more> ".to_string()),
            _ => None,
        };
        assert_eq!(primary(&root), "/# ");
        assert_eq!(continuation(&root), "more> ");
    }
}
