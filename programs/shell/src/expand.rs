//! Word expansion (POSIX XCU 2.6): tilde, parameters, command substitution, arithmetic, field
//! splitting and pathname expansion, in that order. What the shell knows at run time (variables,
//! the output of a command, the files in a directory, users' homes) comes from a [`Context`], so
//! all of this is tested without a kernel.
//!
//! Field splitting follows POSIX 2.6.5: IFS white space (space, tab, newline in IFS) at the ends
//! of an expansion is dropped and a run of it separates fields; every other IFS character
//! separates one field, with the IFS white space around it, so `a::b` with `IFS=:` is three
//! fields. An empty IFS splits nothing; an unset one is `" \t\n"`.

use crate::ast::{List, ParamOp, Word, WordPart};
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
    /// Whether `path` is a directory (a pattern ending in `/` matches only those).
    fn is_dir(&mut self, path: &str) -> bool {
        self.read_dir(path).is_some()
    }
    /// `~user`: that user's home directory, `None` for an unknown user (the word stays as it is).
    fn home_of(&mut self, _user: &str) -> Option<String> {
        None
    }
    /// `${name=word}`: sets a variable.
    fn assign(&mut self, name: &str, value: &str);
    /// `${name?word}` found `name` unset: report `message` and fail the command.
    fn param_error(&mut self, name: &str, message: &str);
    /// An expansion failed (`$((1/0))`): report `message` and fail the command (the shell
    /// decides whether the script goes on).
    fn expansion_error(&mut self, message: &str) {
        eprintln!("sh: {message}");
    }
    /// `$name` or `${#name}` found `name` unset (an error under `set -u`).
    fn unset_param(&mut self, _name: &str) {}
}

/// Text with the quotedness of each character, as expansion builds it.
type Field = Vec<(char, bool)>;

/// IFS white space: what IFS may hold that separates fields the way blanks do.
fn ifs_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n')
}

struct Fields<'i> {
    done: Vec<Field>,
    current: Field,
    /// Whether `current` exists (a quoted empty string makes an empty field exist).
    live: bool,
    /// The last field was ended by IFS white space: an IFS character that is not white space
    /// next (`a : b`) belongs to the same separator.
    white_ended: bool,
    ifs: &'i str,
}

impl Fields<'_> {
    fn push(&mut self, s: &str, quoted: bool) {
        self.current.extend(s.chars().map(|c| (c, quoted)));
        self.live = true;
        self.white_ended = false;
    }

    fn end_field(&mut self) {
        if self.live {
            self.done.push(core::mem::take(&mut self.current));
        }
        self.live = false;
        self.white_ended = false;
    }

    /// Appends an unquoted expansion result, splitting it at IFS characters.
    fn push_split(&mut self, s: &str) {
        for c in s.chars() {
            if !self.ifs.contains(c) {
                self.current.push((c, false));
                self.live = true;
                self.white_ended = false;
            } else if ifs_white(c) {
                if self.live {
                    self.end_field();
                    self.white_ended = true;
                }
            } else if self.live {
                self.end_field();
            } else if self.white_ended {
                self.white_ended = false;
            } else {
                // Two separators in a row (`a::b`), or one at the start: an empty field.
                self.done.push(Vec::new());
            }
        }
    }

    /// Appends an expansion's result: split (unquoted, in a word that splits) or not.
    fn push_value(&mut self, s: &str, quoted: bool, split: bool) {
        if quoted || !split {
            self.push(s, quoted);
        } else {
            self.push_split(s);
        }
    }
}

fn ifs(ctx: &dyn Context) -> String {
    ctx.var("IFS").unwrap_or_else(|| " \t\n".to_string())
}

/// How a word is expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A command word: split into fields (and globbed by the caller).
    Split,
    /// One string: no splitting (redirection targets, `case` words, patterns).
    Single,
    /// The value of an assignment: one string, and a tilde also after each unquoted `:`.
    Assignment,
}

fn expand_fields(word: &Word, ctx: &mut dyn Context, mode: Mode) -> Vec<Field> {
    let ifs = ifs(ctx);
    let split = mode == Mode::Split;
    let mut f = Fields {
        done: Vec::new(),
        current: Vec::new(),
        live: false,
        white_ended: false,
        ifs: &ifs,
    };
    // `"$@"` with no parameters is no field at all (the quotes around it make none).
    let no_params = word
        .0
        .iter()
        .any(|p| matches!(p, WordPart::Param { name, quoted: true } if name == "@"))
        && word.0.iter().all(|p| match p {
            WordPart::Param { name, .. } => name == "@",
            WordPart::Quoted(s) => s.is_empty(),
            _ => false,
        })
        && ctx.positional().is_empty();
    if no_params {
        return Vec::new();
    }
    for (i, part) in word.0.iter().enumerate() {
        match part {
            WordPart::Literal(s) => {
                let more = i + 1 < word.0.len();
                if (i == 0 && s.starts_with('~')) || (mode == Mode::Assignment && s.contains(":~"))
                {
                    tildes(&mut f, s, i == 0, more, mode == Mode::Assignment, ctx);
                } else {
                    f.push(s, false);
                }
            }
            WordPart::Quoted(s) => f.push(s, true),
            WordPart::Arith { expr, quoted } => {
                let value = arith(expr, ctx);
                f.push_value(&value, *quoted, split);
            }
            WordPart::Tilde => {
                let home = ctx.var("HOME").unwrap_or_else(|| "~".to_string());
                f.push(&home, true);
            }
            WordPart::Param { name, quoted } if (name == "@" || name == "*") && split => {
                let params = ctx.positional();
                if *quoted && name == "*" {
                    let sep = ifs.chars().next().map(String::from).unwrap_or_default();
                    f.push(&params.join(&sep), true);
                    continue;
                }
                // "$@": one field per parameter, joined to the text around it; unquoted, each
                // parameter is split on its own (an empty one is no field).
                for (i, p) in params.iter().enumerate() {
                    if i > 0 {
                        f.end_field();
                    }
                    f.push_value(p, *quoted, true);
                }
            }
            WordPart::Param { name, quoted } => {
                let value = match param_value(name, ctx, &ifs) {
                    Some(v) => v,
                    None => {
                        if !matches!(name.as_str(), "@" | "*") {
                            ctx.unset_param(name);
                        }
                        String::new()
                    }
                };
                f.push_value(&value, *quoted, split);
            }
            WordPart::BadSubstitution(text) => {
                ctx.expansion_error(&format!("{text}: bad substitution"));
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
                        // In an assignment, tildes after colons in it expand too, as in dash.
                        let inner = match mode {
                            Mode::Assignment => Mode::Assignment,
                            _ => Mode::Single,
                        };
                        let field: Field = expand_fields(word, ctx, inner)
                            .into_iter()
                            .flatten()
                            .collect();
                        if *quoted {
                            f.live = true;
                        }
                        for (c, q) in field {
                            if split && !*quoted && !q {
                                let mut b = [0u8; 4];
                                f.push_split(c.encode_utf8(&mut b));
                            } else {
                                f.current.push((c, q || *quoted));
                                f.live = true;
                                f.white_ended = false;
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
                f.push_value(&result, *quoted, split);
            }
            WordPart::Command { script, quoted } => {
                let mut out = ctx.command_output(script);
                while out.ends_with('\n') {
                    out.pop();
                }
                f.push_value(&out, *quoted, split);
            }
        }
    }
    f.end_field();
    f.done
}

/// An unquoted literal with tilde prefixes: at the start of a word (`first`), and in an
/// assignment after each `:`. A prefix runs to the next `/` (or `:` in an assignment); one that
/// runs on into a quoted or expanded part (`more`, `~"root"`, `~$x`) is not expanded, nor is one
/// naming an unknown user. What a prefix expands to is quoted (never split or globbed).
#[inline(never)]
fn tildes(
    f: &mut Fields,
    s: &str,
    first: bool,
    more: bool,
    assignment: bool,
    ctx: &mut dyn Context,
) {
    let mut rest = s;
    let mut at_start = first;
    loop {
        if at_start && let Some(after) = rest.strip_prefix('~') {
            let end = after
                .find(|c| c == '/' || (assignment && c == ':'))
                .unwrap_or(after.len());
            let user = &after[..end];
            let home = if end == after.len() && more {
                None
            } else if user.is_empty() {
                ctx.var("HOME")
            } else {
                ctx.home_of(user)
            };
            if let Some(h) = home {
                f.push(&h, true);
                rest = &after[end..];
            }
        }
        if !assignment {
            f.push(rest, false);
            return;
        }
        match rest.find(':') {
            Some(i) => {
                f.push(&rest[..=i], false);
                rest = &rest[i + 1..];
                at_start = true;
            }
            None => {
                f.push(rest, false);
                return;
            }
        }
    }
}

/// A parameter's value, `None` if it is unset (`$@`/`$*`: joined by the first character of
/// IFS, and set even when there are none, as in dash: `${@-w}` is then empty, `${@:-w}` `w`).
fn param_value(name: &str, ctx: &mut dyn Context, ifs: &str) -> Option<String> {
    match name {
        "@" | "*" => {
            let p = ctx.positional();
            Some(p.join(&ifs.chars().next().map(String::from).unwrap_or_default()))
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

/// The variables of an arithmetic expression are the shell's.
struct ArithVars<'c>(&'c mut dyn Context);

impl crate::arith::Vars for ArithVars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.var(name)
    }
    fn set(&mut self, name: &str, value: &str) {
        self.0.assign(name, value);
    }
}

/// `$((expr))`: the text is expanded (parameters, command substitutions, nested arithmetic),
/// then evaluated. An error is reported through [`Context::expansion_error`] (which fails the
/// command) and expands to nothing.
#[inline(never)]
fn arith(expr: &str, ctx: &mut dyn Context) -> String {
    if crate::stack_low(crate::PARSE_STACK_RESERVE) {
        ctx.expansion_error("arithmetic expression: nested too deeply");
        return String::new();
    }
    let text = match crate::parse::parse_expanding_text(expr) {
        Ok(w) => expand_single(&w, ctx),
        Err(e) => {
            ctx.expansion_error(&format!("arithmetic expression: {e}: \"{expr}\""));
            return String::new();
        }
    };
    match crate::arith::eval(&text, &mut ArithVars(ctx)) {
        Ok(v) => v.to_string(),
        Err(e) => {
            ctx.expansion_error(&format!("arithmetic expression: {e}: \"{text}\""));
            String::new()
        }
    }
}

/// Expands command words: every expansion, field splitting and pathname expansion.
pub fn expand_words(words: &[Word], ctx: &mut dyn Context) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        for field in expand_fields(w, ctx, Mode::Split) {
            glob_field(&field, ctx, &mut out);
        }
    }
    out
}

/// Expands a simple command's words. The arguments of the declaration utilities `export`,
/// `readonly` and `local` that have the form of an assignment (`name=word`) are expanded as an
/// assignment's value is, as dash does: one field (no splitting or globbing), with tildes after
/// the `=` and after colons (`export PATH=~/bin:$PATH`).
pub fn expand_command(words: &[Word], ctx: &mut dyn Context) -> Vec<String> {
    let declares = words
        .first()
        .and_then(Word::as_literal)
        .is_some_and(|w| matches!(w, "export" | "readonly" | "local"));
    if !declares {
        return expand_words(words, ctx);
    }
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        match declaration(w).filter(|_| i > 0) {
            Some((name, value)) => {
                let v = expand_assignment(&value, ctx);
                out.push(format!("{name}{v}"));
            }
            None => out.extend(expand_words(core::slice::from_ref(w), ctx)),
        }
    }
    out
}

/// `name=word` as a declaration utility's argument: `name=` and the word after it.
fn declaration(w: &Word) -> Option<(String, Word)> {
    let WordPart::Literal(s) = w.0.first()? else {
        return None;
    };
    let eq = s.find('=')?;
    if !crate::parse::is_name(&s[..eq]) {
        return None;
    }
    let mut parts = Vec::new();
    if eq + 1 < s.len() {
        parts.push(WordPart::Literal(s[eq + 1..].to_string()));
    }
    parts.extend(w.0[1..].iter().cloned());
    Some((s[..=eq].to_string(), Word(parts)))
}

/// Expands a word to one string with no field splitting or globbing (redirection targets, the
/// word of `case`).
pub fn expand_single(word: &Word, ctx: &mut dyn Context) -> String {
    flat(expand_fields(word, ctx, Mode::Single))
}

/// Expands the value of an assignment `name=word`: as [`expand_single`], with a tilde expanded
/// after each unquoted `:` too (`PATH=~/bin:~root/bin`).
pub fn expand_assignment(word: &Word, ctx: &mut dyn Context) -> String {
    flat(expand_fields(word, ctx, Mode::Assignment))
}

fn flat(fields: Vec<Field>) -> String {
    fields.into_iter().flatten().map(|(c, _)| c).collect()
}

/// Expands a `case` pattern: expansions happen, quoted characters stay literal.
pub fn expand_pattern(word: &Word, ctx: &mut dyn Context) -> Pattern {
    let field: Field = expand_fields(word, ctx, Mode::Single)
        .into_iter()
        .flatten()
        .collect();
    pattern_of(&field)
}

fn pattern_of(field: &[(char, bool)]) -> Pattern {
    Pattern::from_chars(field)
}

/// Pathname expansion of one field: the sorted matches, or the field as it is if it has no
/// pattern characters or matches nothing. A pattern ending in `/` matches directories only,
/// and the slash stays.
fn glob_field(field: &Field, ctx: &mut dyn Context, out: &mut Vec<String>) {
    let text: String = field.iter().map(|&(c, _)| c).collect();
    if !pattern_of(field).has_magic() {
        out.push(text);
        return;
    }
    let absolute = field.first().map(|&(c, _)| c) == Some('/');
    let dirs_only = field.len() > 1 && field.last().map(|&(c, _)| c) == Some('/');
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
    if dirs_only {
        paths.retain(|p| ctx.is_dir(p));
        for p in &mut paths {
            p.push('/');
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
    use crate::ast::Command;
    use crate::parse::parse;
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
        fn expansion_error(&mut self, message: &str) {
            self.vars.insert("ERROR".to_string(), message.to_string());
        }
        fn home_of(&mut self, user: &str) -> Option<String> {
            (user == "root").then(|| "/root".to_string())
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

    fn words_with(src: &str, set: &[(&str, &str)], args: &[&str]) -> Vec<String> {
        let l = parse(src).unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        let mut c = ctx();
        for (k, v) in set {
            c.vars.insert(k.to_string(), v.to_string());
        }
        c.args = args.iter().map(|a| a.to_string()).collect();
        expand_words(&s.words, &mut c)
    }

    #[test]
    fn field_splitting_as_posix_says() {
        let ifs = |v: &str, x: &str| words_with("echo $x", &[("IFS", v), ("x", x)], &[]);
        assert_eq!(ifs(":", "a::b"), ["echo", "a", "", "b"]);
        assert_eq!(ifs(":", ":a:"), ["echo", "", "a"]);
        assert_eq!(ifs(" :", " a : b  ::c "), ["echo", "a", "b", "", "c"]);
        assert_eq!(ifs("", "a b"), ["echo", "a b"]);
        assert_eq!(
            words_with("echo x${x}y", &[("x", " a b ")], &[]),
            ["echo", "x", "a", "b", "y"]
        );
        // "$@" with no parameters is no word; unquoted $@ drops empty parameters.
        assert_eq!(words_with("echo \"$@\"", &[], &[]), ["echo"]);
        assert_eq!(words_with("echo \"x$@\"", &[], &[]), ["echo", "x"]);
        assert_eq!(
            words_with("echo $@", &[("IFS", "")], &["", "a b", ""]),
            ["echo", "a b"]
        );
        assert_eq!(
            words_with("echo \"$*\"", &[("IFS", ":")], &["a", "b"]),
            ["echo", "a:b"]
        );
    }

    #[test]
    fn tildes() {
        assert_eq!(
            words("echo ~root/x ~nobody/x ~\"root\" a~"),
            ["echo", "/root/x", "~nobody/x", "~root", "a~"]
        );
        let l = parse("x=a:~/b:~root").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        assert_eq!(
            expand_assignment(&s.assignments[0].1, &mut ctx()),
            "a:/home/user/b:/root"
        );
        assert_eq!(words("echo a:~/b"), ["echo", "a:~/b"]);
        let l = parse("export a=~/x:~ b=$X c \"d=$X\" 1=$X").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        assert_eq!(
            expand_command(&s.words, &mut ctx()),
            [
                "export",
                "a=/home/user/x:/home/user",
                "b=a  b",
                "c",
                "d=a  b",
                "1=a",
                "b"
            ]
        );
    }

    #[test]
    fn arithmetic_expands_and_assigns() {
        let l = parse("echo $((X2 = $(echo 3) + ${N:-4})) $((1/0))").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        let mut c = ctx();
        assert_eq!(expand_words(&s.words, &mut c), ["echo", "7"]);
        assert_eq!(c.vars.get("X2").map(String::as_str), Some("7"));
        assert!(c.vars["ERROR"].contains("division by zero"), "{:?}", c.vars);
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
        assert_eq!(words("ls */ [[:alpha:]]*.md"), ["ls", "src/", "c.md"]);
    }

    #[test]
    fn single_and_pattern() {
        let l = parse("x=$X*").unwrap();
        let Command::Simple(s) = &l.0[0].first.commands[0] else {
            panic!()
        };
        assert_eq!(expand_single(&s.assignments[0].1, &mut ctx()), "a  b*");
        let l = parse("case y in \"*\"|$X*) ;; esac").unwrap();
        let Command::Compound(crate::ast::Compound::Case { arms, .. }, _) =
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
