//! The shell's working directory: `cd`, and paths resolved against it (see the module doc of
//! [`crate::interp`]).

use std::io::Write;

use super::{Shell, Streams};
use std::io::describe;

/// `path` as seen from directory `cwd`: absolute and normal (`.` and `..` taken away, as
/// [`vfs::path::resolve`] does); an empty path stays empty (an error to report as such, not
/// the directory itself).
pub(super) fn resolve(cwd: &str, path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    vfs::path::resolve(cwd, path).unwrap_or_else(|_| path.to_string())
}

impl Shell {
    /// The working directory (absolute, normal).
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// `path` resolved against the shell's working directory, for opening it.
    pub fn path(&self, path: &str) -> String {
        resolve(&self.cwd, path)
    }

    /// `cd [-L|-P] [DIR|-]`: `DIR` relative to the working directory or, when it does not begin
    /// with `/`, `.` or `..`, to a directory of `CDPATH`; `-` is `$OLDPWD`. No `DIR` is `$HOME`
    /// (nothing if unset). Logical, as dash's: `..` takes away the last component of the path
    /// as written. Sets and exports `PWD` and `OLDPWD`; prints the new directory after `cd -` or a `CDPATH`
    /// find. Fails with 2, as dash.
    #[inline(never)]
    pub(super) fn cd(&mut self, args: &[String], io: &mut Streams) -> i32 {
        let mut args = args;
        while let Some(a) = args.first()
            && (a == "-L" || a == "-P")
        {
            args = &args[1..];
        }
        if args.first().is_some_and(|a| a == "--") {
            args = &args[1..];
        }
        let (target, mut print) = match args.first().map(String::as_str) {
            None => match self.var("HOME") {
                Some(h) if !h.is_empty() => (h.to_string(), false),
                _ => return 0,
            },
            Some("") => return 0,
            Some("-") => (self.var("OLDPWD").unwrap_or(&self.cwd).to_string(), true),
            Some(d) => (d.to_string(), false),
        };
        let mut found = None;
        let plain = !(target.starts_with('/')
            || target == "."
            || target == ".."
            || target.starts_with("./")
            || target.starts_with("../"));
        if plain && let Some(cdpath) = self.var("CDPATH") {
            for dir in cdpath.split(':') {
                let base = if dir.is_empty() { "." } else { dir };
                let p = resolve(&self.path(base), &target);
                if is_dir(&p) {
                    print |= !dir.is_empty();
                    found = Some(p);
                    break;
                }
            }
        }
        let new = match found {
            Some(p) => p,
            None => {
                let p = self.path(&target);
                if let Err(why) = std::fs::metadata(&p).and_then(|m| match m.is_dir() {
                    true => Ok(()),
                    false => Err(std::io::ErrorKind::NotADirectory.into()),
                }) {
                    let _ = writeln!(
                        io.stderr,
                        "{}: cd: can't cd to {target}: {}",
                        self.name,
                        describe(&why)
                    );
                    return 2;
                }
                p
            }
        };
        let old = std::mem::replace(&mut self.cwd, new.clone());
        // Both exported, as dash does.
        for (k, v) in [("OLDPWD", &old), ("PWD", &new)] {
            self.set_var(k, v);
            self.exported.insert(k, ());
        }
        if print {
            let _ = writeln!(io.stdout, "{new}");
        }
        0
    }
}

fn is_dir(p: &str) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_dir())
}
