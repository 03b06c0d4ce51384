//! The shell's options (`set -e`, `set -o noglob`, `sh -x`, `$-`) and what they change in the
//! interpreter: `errexit` ([`Shell::errexit`]), `xtrace` ([`Shell::trace`]), `noexec`, `verbose`,
//! `noclobber`, `allexport`, `nounset` and `noglob` (answered through expansion's `Context`).
//!
//! `set` is a special builtin: a bad option is an error that ends a non-interactive shell
//! (status 2), as in dash.

use std::io::Write;

use super::{Flow, Shell, Streams};
use crate::ast::{Command, Compound, Pipeline};

/// `set -o` names and their letters, in dash's order (`set -o` lists them so; `$-` gives the
/// letters of those set in the reverse order, as dash does). Options the shell accepts but that
/// change nothing here (`ignoreeof`, `monitor`, `vi`, `emacs`, `notify`) are kept for scripts
/// that set them.
const OPTIONS: &[(char, &str)] = &[
    ('e', "errexit"),
    ('f', "noglob"),
    ('I', "ignoreeof"),
    ('m', "monitor"),
    ('n', "noexec"),
    ('x', "xtrace"),
    ('v', "verbose"),
    ('V', "vi"),
    ('E', "emacs"),
    ('C', "noclobber"),
    ('a', "allexport"),
    ('b', "notify"),
    ('u', "nounset"),
];

/// The options set, one bit per [`OPTIONS`] entry.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Options(u16);

impl Options {
    fn index(letter: char) -> Option<usize> {
        OPTIONS.iter().position(|(l, _)| *l == letter)
    }

    /// Whether the option with this letter is on.
    pub fn get(&self, letter: char) -> bool {
        Self::index(letter).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// Sets an option by letter; false if there is no such option.
    pub fn set(&mut self, letter: char, on: bool) -> bool {
        let Some(i) = Self::index(letter) else {
            return false;
        };
        if on {
            self.0 |= 1 << i;
        } else {
            self.0 &= !(1 << i);
        }
        true
    }

    /// Sets an option by its `-o` name; false if there is no such option.
    pub fn set_named(&mut self, name: &str, on: bool) -> bool {
        match OPTIONS.iter().find(|(_, n)| *n == name) {
            Some((l, _)) => self.set(*l, on),
            None => false,
        }
    }

    /// The letters of the options set, as `$-` shows them.
    pub fn letters(&self) -> String {
        OPTIONS
            .iter()
            .rev()
            .filter(|(l, _)| self.get(*l))
            .map(|(l, _)| *l)
            .collect()
    }
}

impl Shell {
    /// Turns an option on or off by letter (for `sh -e`); false if there is none.
    pub fn set_option(&mut self, letter: char, on: bool) -> bool {
        self.x.opts.set(letter, on)
    }

    /// Turns an option on or off by `-o` name (for `sh -o errexit`); false if there is none.
    pub fn set_named_option(&mut self, name: &str, on: bool) -> bool {
        self.x.opts.set_named(name, on)
    }

    /// `$-`.
    pub(super) fn dash_flags(&self) -> String {
        let mut s = self.x.opts.letters();
        if self.interactive {
            s.insert(0, 'i');
        }
        s
    }

    /// After the last pipeline of an and-or list ran (not negated, not followed by `&&`/`||`):
    /// with `set -e`, a failure ends the shell, unless it ran where a failure is tested (an
    /// `if`/`while`/`until` condition, a left side of `&&`/`||`, after `!`, or inside any
    /// function or subshell called from there). As in dash, the failure of a simple command
    /// (a function call too), a pipeline or a `( … )` counts; that of `{ … }`, `if`, a loop or
    /// `case` does not by itself (what failed inside was checked there, or was tested).
    pub(super) fn errexit(&self, p: &Pipeline) -> Flow {
        let compound = matches!(
            p.commands.as_slice(),
            [Command::Compound(c, _)] if !matches!(c, Compound::Subshell(_))
        );
        if compound {
            Flow::Next
        } else {
            self.errexit_now()
        }
    }

    /// With `set -e`, outside a tested place, a failure (`$?` not 0) ends the shell.
    pub(super) fn errexit_now(&self) -> Flow {
        if self.status != 0 && self.x.cond == 0 && self.x.opts.get('e') {
            Flow::Exit(self.status)
        } else {
            Flow::Next
        }
    }

    /// `set -n` in a script: commands are read but not run.
    pub(super) fn noexec(&self) -> bool {
        self.x.opts.get('n') && !self.interactive
    }

    /// `set -v`: input the shell reads (a script file, its stdin; not a `-c` string, as in
    /// dash) is written to stderr as it is read.
    #[inline(never)]
    pub fn verbose(&self, src: &str, io: &mut Streams) {
        if self.x.opts.get('v') {
            let _ = io.stderr.write_all(src.as_bytes());
            if !src.ends_with('\n') {
                let _ = writeln!(io.stderr);
            }
        }
    }

    /// `set -x`: a command is written to stderr after expansion, after `$PS4` (`+ `), as dash
    /// writes it (its words joined by spaces, unquoted).
    #[inline(never)]
    pub(super) fn trace(&self, assigns: &[(String, String)], argv: &[String], io: &mut Streams) {
        if !self.x.opts.get('x') {
            return;
        }
        let mut line = self.var("PS4").unwrap_or("+ ").to_string();
        let words = assigns
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(argv.iter().cloned());
        for (i, w) in words.enumerate() {
            if i > 0 {
                line.push(' ');
            }
            line.push_str(&w);
        }
        let _ = writeln!(io.stderr, "{line}");
    }

    /// `set -C`: whether `>` must not open `path` (an existing file that is not a device).
    pub(super) fn noclobber(&self, path: &str) -> bool {
        self.x.opts.get('C') && std::fs::metadata(path).is_ok_and(|m| m.is_file() || m.is_dir())
    }

    /// `set [-+options] [-o name] [--] [args...]`.
    #[inline(never)]
    pub(super) fn set_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        if args.is_empty() {
            let mut vars: Vec<(&String, &String)> = self.vars.iter().collect();
            vars.sort();
            for (k, v) in vars {
                let _ = writeln!(io.stdout, "{k}={}", quote(v));
            }
            return (0, Flow::Next);
        }
        let mut i = 0;
        let mut positional = false;
        while let Some(a) = args.get(i) {
            let on = a.starts_with('-');
            if a == "+" {
                // A lone `+` is ignored, as dash has it.
                i += 1;
                continue;
            }
            if !(on || a.starts_with('+')) || a.len() < 2 {
                if a == "-" {
                    // `set -`: -x and -v off, the end of the options.
                    self.x.opts.set('x', false);
                    self.x.opts.set('v', false);
                    i += 1;
                    positional = i < args.len();
                }
                break;
            }
            if a == "--" {
                i += 1;
                positional = true;
                break;
            }
            i += 1;
            for c in a[1..].chars() {
                if c == 'o' {
                    match args.get(i) {
                        Some(name) => {
                            i += 1;
                            if !self.x.opts.set_named(name, on) {
                                let _ = writeln!(
                                    io.stderr,
                                    "{}: set: Illegal option {}o {name}",
                                    self.name,
                                    if on { '-' } else { '+' }
                                );
                                return (2, self.special_error());
                            }
                        }
                        None => self.list_options(on, io),
                    }
                } else if !self.x.opts.set(c, on) {
                    let _ = writeln!(io.stderr, "{}: set: Illegal option -{c}", self.name);
                    return (2, self.special_error());
                }
            }
        }
        if positional || i < args.len() {
            self.positional = args[i..].to_vec();
            self.x.getopts = self.getopts_reset();
        }
        (0, Flow::Next)
    }

    /// `set -o` (a table) or `set +o` (commands that set the options again).
    fn list_options(&self, table: bool, io: &mut Streams) {
        if table {
            let _ = writeln!(io.stdout, "Current option settings");
        }
        for (l, name) in OPTIONS {
            let on = self.x.opts.get(*l);
            let _ = if table {
                writeln!(io.stdout, "{name:<16}{}", if on { "on" } else { "off" })
            } else {
                writeln!(io.stdout, "set {}o {name}", if on { '-' } else { '+' })
            };
        }
    }

    /// What a special builtin's error does (POSIX 2.8.1): it ends a non-interactive shell.
    pub(super) fn special_error(&self) -> Flow {
        if self.x.soft_special {
            Flow::Next
        } else if self.interactive {
            // The rest of the command line is dropped (as with [`Shell::fatal`]).
            Flow::Interrupt
        } else {
            Flow::Exit(2)
        }
    }
}

/// `value` in single quotes as dash writes it (`set`, `alias`, `trap`, `export -p`): a `'`
/// inside as `'"'"'`.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r#"'"'"'"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_names() {
        let mut o = Options::default();
        assert!(o.set('e', true));
        assert!(o.set_named("nounset", true));
        assert!(o.set('f', true));
        assert!(!o.set('Q', true));
        assert!(!o.set_named("bogus", true));
        assert_eq!(o.letters(), "ufe");
        assert!(o.set('e', false));
        assert_eq!(o.letters(), "uf");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(quote(""), "''");
    }
}
