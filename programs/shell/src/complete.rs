//! Tab completion for the interactive shell: which word the cursor is in, what kind of word it
//! is, and the candidates, quoted the way the word is.
//!
//! The line before the cursor is scanned as the shell's lexer would (quotes, backslashes,
//! operators) to find the word being typed and whether it is in command position (the first
//! word, or after `;` `|` `&` `&&` `||` `(` a newline or a keyword such as `then`, skipping
//! assignments), or the file of a redirection (after `<` `>`). Then:
//!
//! - `$NAME` or `${NAME` (not in single quotes) completes variable names;
//! - `~NAME` (no `/` yet) completes user names to `~NAME/`;
//! - a word in command position without `/` completes builtins, functions and programs in
//!   `$PATH`;
//! - anything else completes a path (`~/` and `~NAME/` first expanded), directories with a `/`
//!   after them, dot files only when the name typed starts with a dot; after `cd` only
//!   directories.
//!
//! A name is inserted quoted as the word is at the cursor: after an open `'` or `"` in that
//! quote (closed after a file, left open after a directory), else with backslashes before
//! the characters the shell would take for syntax (`my\ file`). What the user typed before the
//! last `/` stays as typed. Everything the shell knows comes through [`World`], so this is
//! tested without a file system.

use crate::line::{Candidate, Completion};

/// What completion needs to know.
pub trait World {
    /// A variable's value.
    fn var(&self, name: &str) -> Option<String>;
    /// The names of the variables set.
    fn var_names(&self) -> Vec<String>;
    /// The commands: builtins, functions and the programs in `$PATH`, starting with `prefix`.
    fn commands(&self, prefix: &str) -> Vec<String>;
    /// A directory's entries: name and whether it is a directory; `None` if it cannot be read.
    fn read_dir(&self, dir: &str) -> Option<Vec<(String, bool)>>;
    /// The users: name and home directory.
    fn users(&self) -> Vec<(String, String)>;
}

/// Quoting in effect at a place in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// One character of the word being completed, as the shell reads it.
#[derive(Clone, Copy, Debug)]
struct Char {
    c: char,
    /// The byte offset in the line just after the character as typed.
    end: usize,
    /// Quoted (by a backslash or quotes): not special.
    quoted: bool,
    /// The quote open after it.
    quote: Quote,
}

/// The word the cursor is at the end of.
#[derive(Debug)]
struct Word {
    /// Its first byte in the line.
    start: usize,
    chars: Vec<Char>,
    /// The quote open at the cursor.
    quote: Quote,
    command: bool,
    /// The command the word is an argument of, if one came before it.
    of: Option<String>,
    /// The word names a redirection's file.
    redirect: bool,
}

/// Words after which the next one is a command again.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "exec",
];

/// Scans `line` up to `cursor` (a byte offset) for the word at its end.
fn current_word(line: &str, cursor: usize) -> Word {
    let before = line.get(..cursor).unwrap_or(line);
    let mut command = true;
    let mut redirect = false;
    let mut word: Option<Word> = None;
    let mut quote = Quote::None;
    let mut escaped = false;
    // A word ends: what comes next is a command if this one was a keyword or an assignment.
    let mut of: Option<String> = None;
    let end_word = |word: &mut Option<Word>, command: &mut bool, redirect: &mut bool| {
        let w = word.take()?;
        if *redirect {
            *redirect = false;
        } else if *command {
            let text: String = w.chars.iter().map(|c| c.c).collect();
            let assignment = text.split_once('=').is_some_and(|(n, _)| is_name(n));
            *command = KEYWORDS.contains(&text.as_str()) || assignment;
            if !*command {
                return Some(text);
            }
        }
        None
    };
    for (i, c) in before.char_indices() {
        let end = i + c.len_utf8();
        let quoted = escaped || quote == Quote::Single || (quote == Quote::Double && c != '$');
        let mut literal = true;
        if escaped {
            escaped = false;
        } else {
            match (quote, c) {
                (Quote::Single, '\'') | (Quote::Double, '"') => {
                    quote = Quote::None;
                    literal = false;
                }
                (Quote::Double, '\\') => {
                    escaped = true;
                    literal = false;
                }
                (Quote::None, '\'') => {
                    quote = Quote::Single;
                    literal = false;
                }
                (Quote::None, '"') => {
                    quote = Quote::Double;
                    literal = false;
                }
                (Quote::None, '\\') => {
                    escaped = true;
                    literal = false;
                }
                (Quote::None, ' ' | '\t') => {
                    if let Some(name) = end_word(&mut word, &mut command, &mut redirect) {
                        of = Some(name);
                    }
                    continue;
                }
                (Quote::None, ';' | '&' | '|' | '(' | ')' | '\n') => {
                    // `>&` and `>|` go on with the redirection.
                    if !(redirect && word.is_none() && matches!(c, '&' | '|')) {
                        end_word(&mut word, &mut command, &mut redirect);
                        command = true;
                        redirect = false;
                        of = None;
                    }
                    continue;
                }
                (Quote::None, '<' | '>') => {
                    // A file descriptor's number before it is no command.
                    if word.is_some() {
                        let was = command;
                        if let Some(name) = end_word(&mut word, &mut command, &mut redirect)
                            && !name.chars().all(|c| c.is_ascii_digit())
                        {
                            of = Some(name);
                        }
                        command = was && of.is_none();
                    }
                    redirect = true;
                    continue;
                }
                _ => {}
            }
        }
        let w = word.get_or_insert_with(|| Word {
            start: i,
            chars: Vec::new(),
            quote: Quote::None,
            command: command && !redirect,
            of: None,
            redirect,
        });
        if literal {
            w.chars.push(Char {
                c,
                end,
                quoted,
                quote,
            });
        }
        w.quote = quote;
    }
    let mut w = word.unwrap_or(Word {
        start: before.len(),
        chars: Vec::new(),
        quote: Quote::None,
        command: command && !redirect,
        of: None,
        redirect,
    });
    w.of = of;
    w
}

/// Whether `text` ends inside quotes.
pub fn in_quotes(text: &str) -> bool {
    current_word(text, text.len()).quote != Quote::None
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Quotes `name` for a word whose quote after what stays typed is `from` and at the cursor is
/// `to`; `done` (a file, not a directory) closes an open quote after it.
fn quote_name(name: &str, from: Quote, to: Quote, done: bool) -> String {
    let mut out = String::new();
    if from != to {
        match from {
            Quote::Single => out.push('\''),
            Quote::Double => out.push('"'),
            Quote::None => {}
        }
        match to {
            Quote::Single => out.push('\''),
            Quote::Double => out.push('"'),
            Quote::None => {}
        }
    }
    for c in name.chars() {
        match to {
            Quote::None => {
                if " \t\n'\"\\$`&|;<>()*?[]#!{}~=%^".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Quote::Single if c == '\'' => out.push_str("'\\''"),
            Quote::Double if "\"\\$`".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if done {
        match to {
            Quote::Single => out.push('\''),
            Quote::Double => out.push('"'),
            Quote::None => {}
        }
    }
    out
}

/// The completions at `cursor` (a byte offset in `line`).
pub fn complete(world: &dyn World, line: &str, cursor: usize) -> Completion {
    let word = current_word(line, cursor);
    let text: String = word.chars.iter().map(|c| c.c).collect();
    let mut out = Completion {
        start: word.start,
        candidates: Vec::new(),
    };
    let typed = |upto: usize| line[word.start..upto].to_string();

    // `$NAME` / `${NAME`: the last unquoted `$`, with only a name after it.
    if let Some(d) = word.chars.iter().rposition(|c| c.c == '$' && !c.quoted) {
        let mut rest = &word.chars[d + 1..];
        let brace = rest.first().is_some_and(|c| c.c == '{');
        if brace {
            rest = &rest[1..];
        }
        let prefix: String = rest.iter().map(|c| c.c).collect();
        if prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let kept = typed(word.chars[d + usize::from(brace)].end);
            let mut names = world.var_names();
            names.retain(|n| n.starts_with(&prefix));
            out.candidates = names
                .into_iter()
                .map(|n| {
                    let brace = if brace { "}" } else { "" };
                    // A word in double quotes is closed after the name, as after a file.
                    let quote = if word.quote == Quote::Double {
                        "\""
                    } else {
                        ""
                    };
                    Candidate {
                        text: format!("{kept}{n}{brace}{quote}"),
                        show: format!("${n}"),
                    }
                })
                .collect();
            return out;
        }
    }

    // `~NAME`.
    let tilde = word.chars.first().is_some_and(|c| c.c == '~' && !c.quoted);
    if tilde && !text.contains('/') {
        let prefix = &text[1..];
        out.candidates = world
            .users()
            .into_iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(n, _)| Candidate {
                text: format!("~{}/", quote_name(&n, Quote::None, Quote::None, false)),
                show: format!("~{n}"),
            })
            .collect();
        return out;
    }

    if word.command && !text.contains('/') {
        let mut names = world.commands(&text);
        names.sort();
        names.dedup();
        out.candidates = names
            .into_iter()
            .map(|n| Candidate {
                text: quote_name(&n, Quote::None, word.quote, true),
                show: n,
            })
            .collect();
        return out;
    }

    // A path: the directory part stays as typed.
    let cut = word.chars.iter().rposition(|c| c.c == '/');
    let (dir, prefix, kept, from) = match cut {
        Some(i) => (
            &text[..text.char_indices().nth(i).map_or(0, |(b, _)| b) + 1],
            word.chars[i + 1..].iter().map(|c| c.c).collect::<String>(),
            typed(word.chars[i].end),
            word.chars[i].quote,
        ),
        None => ("", text.clone(), String::new(), Quote::None),
    };
    let mut list_dir = if dir.is_empty() {
        ".".to_string()
    } else {
        dir.to_string()
    };
    if tilde {
        let (user, rest) = list_dir[1..]
            .split_once('/')
            .unwrap_or((&list_dir[1..], ""));
        let home = if user.is_empty() {
            world.var("HOME")
        } else {
            world
                .users()
                .into_iter()
                .find(|(n, _)| n == user)
                .map(|(_, h)| h)
        };
        if let Some(home) = home {
            list_dir = format!("{}/{rest}", home.trim_end_matches('/'));
        }
    }
    let Some(entries) = world.read_dir(&list_dir) else {
        return out;
    };
    // `cd DIR`: only directories.
    let dirs_only = word.of.as_deref() == Some("cd") && !word.redirect;
    for (name, is_dir) in entries {
        if !name.starts_with(&prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
            continue;
        }
        if dirs_only && !is_dir {
            continue;
        }
        let mut quoted = quote_name(&name, from, word.quote, !is_dir);
        let mut show = name;
        if is_dir {
            quoted.push('/');
            show.push('/');
        }
        out.candidates.push(Candidate {
            text: format!("{kept}{quoted}"),
            show,
        });
    }
    out.candidates.sort_by(|a, b| a.text.cmp(&b.text));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;

    impl World for Fake {
        fn var(&self, name: &str) -> Option<String> {
            (name == "HOME").then(|| "/home/user".to_string())
        }
        fn var_names(&self) -> Vec<String> {
            ["HOME", "HOSTNAME", "PATH", "PS1"]
                .map(String::from)
                .to_vec()
        }
        fn commands(&self, prefix: &str) -> Vec<String> {
            ["cat", "cd", "echo", "ls"]
                .iter()
                .filter(|c| c.starts_with(prefix))
                .map(|c| c.to_string())
                .collect()
        }
        fn read_dir(&self, dir: &str) -> Option<Vec<(String, bool)>> {
            let entries: &[(&str, bool)] = match dir {
                "." => &[
                    ("my file", false),
                    ("my dir", true),
                    ("it's", false),
                    ("notes.txt", false),
                    (".hidden", false),
                ],
                "my dir/" => &[("inner", false), ("sub", true)],
                "/home/user/" => &[("docs", true), ("a&b", false)],
                "/home/other/" => &[("shared", true)],
                _ => return None,
            };
            Some(entries.iter().map(|(n, d)| (n.to_string(), *d)).collect())
        }
        fn users(&self) -> Vec<(String, String)> {
            vec![
                ("user".into(), "/home/user".into()),
                ("other".into(), "/home/other".into()),
                ("root".into(), "/".into()),
            ]
        }
    }

    fn texts(line: &str) -> Vec<String> {
        let c = complete(&Fake, line, line.len());
        c.candidates
            .iter()
            .map(|k| format!("{}{}", &line[..c.start], k.text))
            .collect()
    }

    #[test]
    fn names_are_quoted_as_the_word_is() {
        assert_eq!(texts("cat my"), ["cat my\\ dir/", "cat my\\ file"]);
        assert_eq!(texts("cat my\\ f"), ["cat my\\ file"]);
        assert_eq!(texts("cat 'my f"), ["cat 'my file'"]);
        assert_eq!(texts("cat \"my d"), ["cat \"my dir/"]);
        assert_eq!(texts("cat \"my dir/i"), ["cat \"my dir/inner\""]);
        assert_eq!(
            texts("cat my\\ dir/"),
            ["cat my\\ dir/inner", "cat my\\ dir/sub/"]
        );
        assert_eq!(texts("cat 'my dir'/'i"), ["cat 'my dir'/'inner'"]);
        assert_eq!(texts("cat 'my dir/'i"), ["cat 'my dir/'inner"]);
        assert_eq!(texts("cat it"), ["cat it\\'s"]);
        assert_eq!(texts("cat 'it"), ["cat 'it'\\''s'"]);
        // Dot files only for a dot.
        assert_eq!(texts("cat .h"), ["cat .hidden"]);
        assert_eq!(texts("cat n").len(), 1);
        assert_eq!(texts("cat zz").len(), 0);
    }

    #[test]
    fn commands_after_operators_files_after_redirections() {
        assert_eq!(texts("c"), ["cat", "cd"]);
        assert_eq!(texts("ls; e"), ["ls; echo"]);
        assert_eq!(texts("ls | c"), ["ls | cat", "ls | cd"]);
        assert_eq!(texts("true && l"), ["true && ls"]);
        assert_eq!(texts("if e"), ["if echo"]);
        assert_eq!(texts("X=1 e"), ["X=1 echo"]);
        assert_eq!(texts("(l"), ["(ls"]);
        assert_eq!(texts("echo hi >n"), ["echo hi >notes.txt"]);
        assert_eq!(texts("echo hi 2> n"), ["echo hi 2> notes.txt"]);
        assert_eq!(texts("< n"), ["< notes.txt"]);
        assert_eq!(texts("echo c"), Vec::<String>::new());
        // `cd` takes directories only.
        assert_eq!(texts("cd my"), ["cd my\\ dir/"]);
        assert_eq!(texts("cd ~/"), ["cd ~/docs/"]);
        assert_eq!(texts("echo; cd x; cat my").len(), 2);
        assert_eq!(texts("cd>my").len(), 2);
        // After a quoted `;` still the same command.
        assert_eq!(texts("echo ';' n"), ["echo ';' notes.txt"]);
    }

    #[test]
    fn variables_tildes_and_users() {
        assert_eq!(texts("echo $HO"), ["echo $HOME", "echo $HOSTNAME"]);
        assert_eq!(texts("echo \"${P"), ["echo \"${PATH}\"", "echo \"${PS1}\""]);
        assert_eq!(texts("echo \"a b $HOM"), ["echo \"a b $HOME\""]);
        assert_eq!(texts("echo x$PA"), ["echo x$PATH"]);
        assert_eq!(texts("echo '$PA").len(), 0);
        assert_eq!(texts("ls ~/"), ["ls ~/a\\&b", "ls ~/docs/"]);
        assert_eq!(texts("ls ~/d"), ["ls ~/docs/"]);
        assert_eq!(texts("ls ~ot"), ["ls ~other/"]);
        assert_eq!(texts("ls ~other/s"), ["ls ~other/shared/"]);
        let c = complete(&Fake, "echo $HO", 8);
        assert_eq!(c.candidates[0].show, "$HOME");
    }
}
