//! `edit` (also `kibi`): the kibi text editor, ported to eurali.
//!
//! ```text
//! edit [--version] [FILE]
//! ```
//!
//! kibi's own modules are compiled here from the published crate's source, pinned at 0.3.3 and
//! unmodified (`build.rs` finds it in cargo's registry and includes each file by path); `std`
//! is eurali's std-shim. What this crate adds is what kibi leaves to each system: [`sys`]
//! (eurali's terminal, resize and directories), this crate root (kibi's `lib.rs` would name its
//! Unix/Windows/WASI `sys` instead), [`main`] (what kibi's `main.rs` does; where kibi returns its
//! error for Rust's runtime to print, this prints it the same way and exits 1). The syntax files
//! in `syntax.d/` (kibi's INI format) go into the system image (`vfs::image::SYNTAX_FILES`,
//! installed at `/etc/public/kibi/syntax.d`).

// kibi `#[expect]`s clippy lints that fire on std's own types (`Read::bytes` on an unbuffered
// std reader, std's `MutexGuard`); on std-shim's types they do not, so those expectations stay
// unfulfilled. Only clippy sees them.
#![cfg_attr(clippy, allow(unfulfilled_lint_expectations))]

// kibi's unit tests run each test as a process on the in-process stub: this `#[test]` takes the
// place of the prelude's for the whole crate (and for the tests rstest generates).
#[cfg(test)]
#[macro_use]
extern crate eurali_test_macros;

pub use crate::{config::Config, editor::run, error::Error, sys::stdin};

// kibi's modules: `ansi_escape`, `config`, `editor`, `error`, `row`, `syntax`, `terminal`, `xdg`.
include!(concat!(env!("OUT_DIR"), "/kibi.rs"));

pub mod sys;

/// `edit --help`.
const HELP: &str = "Usage: edit [--version] [FILE]\n\
The kibi text editor. Ctrl-S save, Ctrl-Q quit, Ctrl-F find, Ctrl-G go to line.\n\
  --version  print the version and exit\n\
  --help     show this help and exit\n\
";

/// kibi's command line, as its `main.rs` reads it: `--version`, or at most one file name
/// (`--` ends the options).
pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let mut args = std::env::args();
    let result = match (args.nth(1).as_deref(), args.next().as_deref(), args.len()) {
        (Some("--version"), None | Some("--"), 0) => {
            println!("kibi {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        (Some(o), ..) if o.starts_with('-') && o != "--" => Err(Error::BadOption(o.into())),
        (Some("--"), p, 0) | (p, Some("--") | None, 0) => stdin()
            .map_err(Error::from)
            .and_then(|mut input| run(p, &mut input)),
        _ => Err(Error::TooManyArguments(std::env::args().collect())),
    };
    if let Err(e) = result {
        eprintln!("edit: {}", message(&e, std::env::args().nth(1).as_deref()));
        std::process::exit(1);
    }
}

/// What went wrong, for a person (kibi's `main` prints its error's `Debug`): the file named
/// where the error is the file's, and a usage line for a wrong command line.
fn message(e: &Error, file: Option<&str>) -> String {
    const USAGE: &str = "usage: edit [--version] [FILE]";
    let file = file.filter(|f| *f != "--");
    match e {
        Error::Io(io) => match file {
            // kibi's own refusal of what is not a regular file.
            Some(f)
                if io.kind() == std::io::ErrorKind::InvalidInput
                    && std::fs::metadata(f).is_ok_and(|m| m.is_dir()) =>
            {
                format!("{f}: Is a directory")
            }
            Some(f)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::PermissionDenied
                        | std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::InvalidFilename
                        | std::io::ErrorKind::FileTooLarge
                ) =>
            {
                format!("{f}: {}", std::io::describe(io))
            }
            _ => std::io::describe(io),
        },
        Error::BadOption(o) => format!("unrecognized option '{o}'\n{USAGE}"),
        Error::TooManyArguments(_) => format!("too many arguments\n{USAGE}"),
        Error::InvalidWindowSize => String::from("cannot read the terminal's size"),
        Error::CursorPosition => String::from("cannot read the cursor position"),
        Error::Fmt(_) => String::from("cannot format the screen"),
    }
}
