//! Word expansion (POSIX XCU 2.6): tilde, parameters, command substitution, field splitting and
//! pathname expansion, in that order. What the shell knows at run time (variables, the output of
//! a command, the files in a directory) comes from a [`Context`], so all of this is tested
//! without a kernel.
//!
//! Simplification: every IFS character separates fields the way white space does (runs collapse,
//! no empty fields), which is exact for the default IFS.

use crate::parse::{List, ParamOp, Word, WordPart};
use crate::pattern::Pattern;

/// What expansion needs from the running shell.
pub trait Context {
    /// A variable or special parameter (`?`, `#`, `$`, `0`..`9`, `!`, `-`, a name).
    fn var(&self, name: &str) -> Option<String>;
    /// The positional parameters `$1`... (for `$@` and `$*`).
    fn positional(&self) -> Vec<String>;
    /// Runs a command substitution and returns its standard output.
    fn command_output(&mut self, script: &List) -> String;
    /// The names in a directory (for pathname expansion); `None` if it cannot be read.
    fn read_dir(&mut self, dir: &str) -> Option<Vec<String>>;
    /// `${name=word}`: sets a variable.
    fn assign(&mut self, name: &str, value: &str);
    /// `${name?word}` found `name` unset: report `message` and fail the command.
    fn param_error(&mut self, name: &str, message: &str);
    /// `$name` or `${#name}` found `name` unset (an error under `set -u`).
    fn unset_param(&mut self, _name: &str) {}
}

/// Text with the quotedness of each character, as expansion builds it.
type Field = Vec<(char, bool)>;

struct Fields {
    done: Vec<Field>,
    current: Field,
    /// Whether `current` exists (a quoted empty string makes an empty field exist).
    live: bool,
}

impl Fields {
    fn push(&mut self, s: &str, quoted: bool) {
        self.current.extend(s.chars().map(|c| (c, quoted)));
        self.live = true;
    }

    fn end_field(&mut self) {
        if self.live {
            self.done.push(core::mem::take(&mut self.current));
        }
        self.live = false;
    }

    /// Appends an unquoted expansion result, splitting it at IFS characters.
    fn push_split(&mut self, s: &str, ifs: &str) {
        let mut first = true;
        for piece in s.split(|c| ifs.contains(c)) {
            if !first {
                self.end_field();
            }
            first = false;
            if !piece.is_empty() {
                self.push(piece, false);
            }
        }
    }
}

fn ifs(ctx: &dyn Context) -> String {
    ctx.var("IFS").unwrap_or_else(|| " \t\n".to_string())
}

fn expand_fields(word: &Word, ctx: &mut dyn Context, split: bool) -> Vec<Field> {
    let ifs = ifs(ctx);
    let mut f = Fields {
        done: Vec::new(),
        current: Vec::new(),
        live: false,
    };
    for part in &word.0 {
        match part {
            WordPart::Literal(s) => f.push(s, false),
            WordPart::Quoted(s) => f.push(s, true),
            WordPart::Arith { expr, quoted } => {
                let value = arith(expr, ctx);
                if *quoted || !split {
                    f.push(&value, *quoted);
                } else {
                    f.push_split(&value, &ifs);
                }
            }
            WordPart::Tilde => {
                let home = ctx.var("HOME").unwrap_or_else(|| "~".to_string());
                f.push(&home, true);
            }
            WordPart::Param { name, quoted } if name == "@" && *quoted && split => {
                // "$@": one field per parameter, joined to the text around it.
                let params = ctx.positional();
                for (i, p) in params.iter().enumerate() {
                    if i > 0 {
                        f.end_field();
                    }
                    f.push(p, true);
                }
            }
            WordPart::Param { name, quoted } => {
                let value = match name.as_str() {
                    "@" | "*" => ctx
                        .positional()
                        .join(&ifs.chars().next().map(String::from).unwrap_or_default()),
                    _ => ctx.var(name).unwrap_or_else(|| {
                        ctx.unset_param(name);
                        String::new()
                    }),
                };
                if *quoted || !split {
                    f.push(&value, *quoted);
                } else {
                    f.push_split(&value, &ifs);
                }
            }
            WordPart::Length { name, quoted: _ } => {
                let n = param_value(name, ctx, &ifs)
                    .unwrap_or_else(|| {
                        ctx.unset_param(name);
                        String::new()
                    })
                    .chars()
                    .count();
                f.push(&n.to_string(), false);
            }
            WordPart::ParamOp {
                name,
                op,
                colon,
                word,
                quoted,
            } => {
                let value = param_value(name, ctx, &ifs);
                let set = value.as_ref().is_some_and(|v| !(*colon && v.is_empty()));
                let result = match op {
                    ParamOp::Default | ParamOp::Alternative
                        if set == (*op == ParamOp::Alternative) =>
                    {
                        // The word itself, expanded in place; unquoted, its result is split at
                        // IFS like any expansion (quoted characters inside it are not).
                        let field: Field = expand_fields(word, ctx, false)
                            .into_iter()
                            .flatten()
                            .collect();
                        if *quoted {
                            f.live = true;
                        }
                        for (c, q) in field {
                            if split && !*quoted && !q && ifs.contains(c) {
                                f.end_field();
                            } else {
                                f.current.push((c, q || *quoted));
                                f.live = true;
                            }
                        }
                        continue;
                    }
                    ParamOp::Default => value.unwrap_or_default(),
                    ParamOp::Alternative => String::new(),
                    ParamOp::Assign if !set => {
                        let v = expand_single(word, ctx);
                        ctx.assign(name, &v);
                        v
                    }
                    ParamOp::Error if !set => {
                        let mut msg = expand_single(word, ctx);
                        if msg.is_empty() {
                            msg = if *colon {
                                "parameter null or not set".to_string()
                            } else {
                                "parameter not set".to_string()
                            };
                        }
                        ctx.param_error(name, &msg);
                        String::new()
                    }
                    ParamOp::Assign | ParamOp::Error => value.unwrap_or_default(),
                    ParamOp::RemovePrefix { longest } => {
                        let pat = expand_pattern(word, ctx);
                        remove_prefix(&value.unwrap_or_default(), &pat, *longest)
                    }
                    ParamOp::RemoveSuffix { longest } => {
                        let pat = expand_pattern(word, ctx);
                        remove_suffix(&value.unwrap_or_default(), &pat, *longest)
                    }
                };
                if *quoted || !split {
                    f.push(&result, *quoted);
                } else {
                    f.push_split(&result, &ifs);
                }
            }
            WordPart::Command { script, quoted } => {
                let mut out = ctx.command_output(script);
                while out.ends_with('\n') {
                    out.pop();
                }
                if *quoted || !split {
                    f.push(&out, *quoted);
                } else {
                    f.push_split(&out, &ifs);
                }
            }
        }
    }
    f.end_field();
    f.done
}

/// A parameter's value, `None` if it is unset (`$@`/`$*`: unset when there are none).
fn param_value(name: &str, ctx: &mut dyn Context, ifs: &str) -> Option<String> {
    match name {
        "@" | "*" => {
            let p = ctx.positional();
            (!p.is_empty())
                .then(|| p.join(&ifs.chars().next().map(String::from).unwrap_or_default()))
        }
        _ => ctx.var(name),
    }
}

/// `${v#p}` / `${v##p}`: `v` without its shortest / longest prefix matching `p`.
fn remove_prefix(v: &str, p: &Pattern, longest: bool) -> String {
    let mut cuts: Vec<usize> = v.char_indices().map(|(i, _)| i).chain([v.len()]).collect();
    if longest {
        cuts.reverse();
    }
    match cuts.into_iter().find(|&i| p.matches(&v[..i])) {
        Some(i) => v[i..].to_string(),
        None => v.to_string(),
    }
}

/// `${v%p}` / `${v%%p}`: `v` without its shortest / longest suffix matching `p`.
fn remove_suffix(v: &str, p: &Pattern, longest: bool) -> String {
    let mut cuts: Vec<usize> = v.char_indices().map(|(i, _)| i).chain([v.len()]).collect();
    if !longest {
        cuts.reverse();
    }
    match cuts.into_iter().find(|&i| p.matches(&v[i..])) {
        Some(i) => v[..i].to_string(),
        None => v.to_string(),
    }
}

/// `$((expr))`: `$name`s inside are expanded first, then the expression is evaluated; an error
/// is reported on stderr and expands to nothing.
fn arith(expr: &str, ctx: &mut dyn Context) -> String {
    let mut text = String::new();
    let mut rest = expr;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, used) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            (&inner[..end], end + 2)
        } else {
            let n = after
                .bytes()
                .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
                .count()
                .max(usize::from(after.starts_with(['?', '#'])));
            (&after[..n], n)
        };
        text.push_str(&ctx.var(name).unwrap_or_default());
        rest = &after[used.min(after.len())..];
    }
    text.push_str(rest);
    let lookup = |n: &str| ctx.var(n);
    match crate::arith::eval(&text, &lookup) {
        Ok(v) => v.to_string(),
        Err(e) => {
            eprintln!("sh: {e}");
            String::new()
        }
    }
}

/// Expands command words: every expansion, field splitting and pathname expansion.
pub fn expand_words(words: &[Word], ctx: &mut dyn Context) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        for field in expand_fields(w, ctx, true) {
            glob_field(&field, ctx, &mut out);
        }
    }
    out
}

/// Expands a word to one string with no field splitting or globbing (assignments, redirection
/// targets, the word of `case`).
pub fn expand_single(word: &Word, ctx: &mut dyn Context) -> String {
    expand_fields(word, ctx, false)
        .into_iter()
        .flatten()
        .map(|(c, _)| c)
        .collect()
}

/// Expands a `case` pattern: expansions happen, quoted characters stay literal.
pub fn expand_pattern(word: &Word, ctx: &mut dyn Context) -> Pattern {
    let field: Field = expand_fields(word, ctx, false)
        .into_iter()
        .flatten()
        .collect();
    pattern_of(&field)
}

fn pattern_of(field: &[(char, bool)]) -> Pattern {
    // Runs of equal quotedness, so that a bracket expression stays in one piece.
    let mut pieces: Vec<(String, bool)> = Vec::new();
    for &(c, q) in field {
        match pieces.last_mut() {
            Some((s, lq)) if *lq == q => s.push(c),
            _ => pieces.push((c.to_string(), q)),
        }
    }
    Pattern::new(pieces.iter().map(|(s, q)| (s.as_str(), *q)))
}

/// Pathname expansion of one field: the sorted matches, or the field as it is if it has no
/// pattern characters or matches nothing.
fn glob_field(field: &Field, ctx: &mut dyn Context, out: &mut Vec<String>) {
    let text: String = field.iter().map(|&(c, _)| c).collect();
    if !pattern_of(field).has_magic() {
        out.push(text);
        return;
    }
    let absolute = field.first().map(|&(c, _)| c) == Some('/');
    let components: Vec<&[(char, bool)]> = field
        .split(|&(c, _)| c == '/')
        .filter(|c| !c.is_empty())
        .collect();
    let mut paths = vec![if absolute {
        "/".to_string()
    } else {
        String::new()
    }];
    for comp in &components {
        let pat = pattern_of(comp);
        let mut next = Vec::new();
        for base in &paths {
            let dir = if base.is_empty() { "." } else { base.as_str() };
            let Some(mut names) = ctx.read_dir(dir) else {
                continue;
            };
            if !pat.has_magic() {
                // A plain component must exist too, or the path matches nothing.
                let name: String = comp.iter().map(|&(c, _)| c).collect();
                if names.contains(&name) {
                    next.push(join(base, &name));
                }
                continue;
            }
            names.sort();
            for n in names {
                if n.starts_with('.') && !pat.starts_with_dot() {
                    continue;
                }
                if pat.matches(&n) {
                    next.push(join(base, &n));
                }
            }
        }
        paths = next;
        if paths.is_empty() {
            break;
        }
    }
    if paths.is_empty() {
        out.push(text);
    } else {
        paths.sort();
        out.extend(paths);
    }
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Command, parse};
    use std::collections::BTreeMap;

    struct Ctx {
        vars: BTreeMap<String, String>,
        args: Vec<String>,
        dirs: BTreeMap<String, Vec<String>>,
    }

    impl Context for Ctx {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn positional(&self) -> Vec<String> {
            self.args.clone()
        }
        fn command_output(&mut self, script: &List) -> String {
            // A stand-in for running the command: echo its words.
            let Command::Simple(s) = &script.0[0].first.commands[0] else {
                return String::new();
            };
            let words: Vec<String> = s
                .words
                .iter()
                .skip(1)
                .map(|w| expand_single(w, self))
                .collect();
            format!("{}\n\n", words.join(" "))
        }
        fn read_dir(&mut self, dir: &str) -> Option<Vec<String>> {
            self.dirs.get(dir).cloned()
        }
        fn assign(&mut self, name: &str, value: &str) {
            self.vars.insert(name.to_string(), value.to_string());
        }
        fn param_error(&mut self, name: &str, message: &str) {
            self.vars
                .insert("ERROR".to_string(), format!("{name}: {message}"));
        }
    }

    fn ctx() -> Ctx {
        let mut vars = BTreeMap::new();
        vars.insert("X".to_string(), "a  b".to_string());
        vars.insert("E".to_string(), String::new());
        vars.insert("HOME".to_string(), "/home/user".to_string());
        vars.insert("?".to_string(), "3".to_string());
        vars.insert("#".to_string(), "2".to_string());
        let mut dirs = BTreeMap::new();
        dirs.insert(
            ".".to_string(),
            vec![
                "b.txt".into(),
                "a.txt".into(),
                ".hidden.txt".into(),
                "src".into(),
                "c.md".into(),
            ],
        );
        dirs.insert(
            "src".to_string(),
            vec!["main.rs".into(), "lib.rs".into(), "x.txt".into()],
        );
        dirs.insert("/".to_string(), vec!["bin".into(), "etc".into()]);
        Ctx {
            vars,
            args: vec!["one".into(), "two words".into()],
            dirs,
        }
    }

    fn words(src: &str) -> Vec<String> {
        let l = parse(src).unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        expand_words(&s.words, &mut ctx())
    }

    #[test]
    fn parameters_and_splitting() {
        assert_eq!(
            words("echo $X \"$X\" x$E y \"$E\" $E"),
            ["echo", "a", "b", "a  b", "x", "y", ""]
        );
        assert_eq!(
            words("echo $? ${HOME}/x ~ ~/d"),
            ["echo", "3", "/home/user/x", "/home/user", "/home/user/d"]
        );
        assert_eq!(
            words("echo \"$@\" $# pre\"$@\"post"),
            ["echo", "one", "two words", "2", "preone", "two wordspost"]
        );
        assert_eq!(words("echo $@"), ["echo", "one", "two", "words"]);
        assert_eq!(words("echo \"$*\""), ["echo", "one two words"]);
        assert_eq!(words("echo '$X' \\$X"), ["echo", "$X", "$X"]);
    }

    #[test]
    fn command_substitution_drops_trailing_newlines_and_splits_unquoted() {
        assert_eq!(
            words("echo $(echo a   b) \"$(echo a   b)\""),
            ["echo", "a", "b", "a b"]
        );
    }

    #[test]
    fn pathname_expansion() {
        assert_eq!(words("ls *.txt"), ["ls", "a.txt", "b.txt"]);
        assert_eq!(words("ls .*.txt"), ["ls", ".hidden.txt"]);
        assert_eq!(words("ls src/*.rs"), ["ls", "src/lib.rs", "src/main.rs"]);
        assert_eq!(words("ls */x.txt"), ["ls", "src/x.txt"]);
        assert_eq!(words("ls /*"), ["ls", "/bin", "/etc"]);
        assert_eq!(
            words("ls *.none '*.txt' \"*\".txt"),
            ["ls", "*.none", "*.txt", "*.txt"]
        );
        assert_eq!(words("ls [ab].txt ?.md"), ["ls", "a.txt", "b.txt", "c.md"]);
    }

    #[test]
    fn single_and_pattern() {
        let l = parse("x=$X*").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        assert_eq!(expand_single(&s.assignments[0].1, &mut ctx()), "a  b*");
        let l = parse("case y in \"*\"|$X*) ;; esac").unwrap();
        let Command::Compound(crate::parse::Compound::Case { arms, .. }, _) =
            &l.0[0].first.commands[0]
        else {
            panic!()
        };
        let quoted_star = expand_pattern(&arms[0].patterns[0], &mut ctx());
        assert!(quoted_star.matches("*") && !quoted_star.matches("y"));
        let var_star = expand_pattern(&arms[0].patterns[1], &mut ctx());
        assert!(var_star.matches("a  bcd"));
    }
}
