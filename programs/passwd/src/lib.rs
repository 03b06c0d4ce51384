//! `passwd [USER]`: changes a password in `/etc/users`, always through the session's password
//! service at `/dev/passwd` ([`vfs::users::Service`]), which hands the change to the one writer
//! of the users file (the keeper): passwd never writes the file itself, so parallel changes
//! are serialised and none is lost.
//!
//! - Your own (`$USER`'s): asks for the current password (checked at once) and the new one
//!   twice.
//! - Another user's: only `root` may; no current password is asked.
//!
//! Passwords are read a line at a time from stdin, without echo at a terminal
//! (`std::term::read_password_bounded`), at most [`users::MAX_PASSWORD`] bytes of text.
//!
//! It is `su` too: `su [-c COMMAND] [USER]` asks for USER's password (root is not asked) and
//! hands it to the session's password service, whose server (login) checks it and runs USER's
//! shell in USER's namespace on the console, answering with its status when it ends
//! (`vfs::users::Request::Switch`).
//!
//! The same program is `useradd` and `userdel` (by the name it runs under, as the coreutils
//! are their tools): root's requests to the password service to add an account (no password
//! yet: `passwd NAME` sets one, as on Linux) or remove one (`-r`: its home too). The keeper
//! does the work: the users file, the home, the namespace spec (`vfs::users`).
#![forbid(unsafe_code)]

use vfs::users::{self, Request};

fn ask(prompt: &str) -> String {
    print!("{prompt}");
    match std::term::read_password_bounded(users::MAX_PASSWORD) {
        Ok(Some(line)) if line.len() > users::MAX_PASSWORD => fail(&format!(
            "a password is at most {} bytes; password unchanged",
            users::MAX_PASSWORD
        )),
        Ok(Some(line)) => match String::from_utf8(line) {
            Ok(p) => p,
            Err(_) => fail("a password must be text (UTF-8); password unchanged"),
        },
        Ok(None) => {
            println!();
            fail("no input")
        }
        Err(e) => {
            println!();
            fail(&format!("password unchanged: {e}"))
        }
    }
}

/// The name this program runs under (`passwd`, `useradd`, `userdel`), for its messages (no
/// static: on the in-process stub every program shares one).
fn name() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    match argv0.rsplit('/').next() {
        Some(n @ ("useradd" | "userdel" | "su")) => n.to_string(),
        _ => String::from("passwd"),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("{}: {msg}", name());
    std::process::exit(1)
}

/// Asks for the new password twice.
fn ask_new() -> String {
    let new = ask("New password: ");
    if ask("Retype new password: ") != new {
        fail("passwords do not match; password unchanged");
    }
    if new.is_empty() {
        fail("empty password; password unchanged");
    }
    new
}

/// How long passwd keeps asking a busy password service (many changes at once wait their
/// turn at the one writer).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether a change lasts: [`Lasts::UntilReboot`] when no disk keeps the users file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lasts {
    Always,
    UntilReboot,
}

/// What a user is told after a change that lasts only until reboot.
const UNTIL_REBOOT: &str =
    "note: this system has no disk to keep accounts on: the change lasts until reboot";

/// Sends `request` to the session's password service; fails with its message (after `what`)
/// unless it is done; whether what it changed outlives a reboot.
fn send(request: &Request<'_>, what: &str) -> Lasts {
    let start = std::time::Instant::now();
    let mut pause = 10;
    loop {
        match users::exchange(users::SERVICE_PATH, &request.encode()) {
            Ok(r) if r == users::OK => return Lasts::Always,
            Ok(r) if r == users::OK_UNTIL_REBOOT => return Lasts::UntilReboot,
            Ok(r) if r == users::BUSY => {}
            Err(vfs::proto::FsError::Busy) => {}
            Ok(r) => fail(&format!(
                "{what}{}",
                r.trim_start_matches("error: ").trim_end()
            )),
            Err(vfs::proto::FsError::NotFound) => fail(&format!(
                "no password service at {} in this namespace",
                users::SERVICE_PATH
            )),
            Err(e) => fail(&format!("{}: {e}", users::SERVICE_PATH)),
        }
        if start.elapsed() > PATIENCE {
            fail("the password service stayed busy; password unchanged");
        }
        std::thread::sleep(std::time::Duration::from_millis(pause));
        pause = (pause * 2).min(500);
    }
}

const USERADD_HELP: &str = "\
usage: useradd NAME
Add the account NAME (root only): the next free user number, home /home/NAME,
namespace /etc/ns/NAME as an ordinary user's. It has no password: nobody can
log in as NAME until root sets one with 'passwd NAME'.
  --help  show this help and exit
";

const USERDEL_HELP: &str = "\
usage: userdel [-r] NAME
Remove the account NAME and its namespace spec (root only; never root).
  -r      remove NAME's home directory and all in it too
  --help  show this help and exit
";

fn usage(text: &str) -> ! {
    eprint!("{text}");
    std::process::exit(2)
}

/// `useradd NAME` and `userdel [-r] NAME`.
fn account(args: &[String]) {
    let add = name() == "useradd";
    let help = if add { USERADD_HELP } else { USERDEL_HELP };
    if args.first().map(String::as_str) == Some("--help") {
        print!("{help}");
        return;
    }
    let mut purge = false;
    let mut operands = Vec::new();
    let mut options = true;
    for a in args {
        match a.as_str() {
            "--" if options => options = false,
            "-r" | "--remove" if options && !add => purge = true,
            o if options && o.starts_with('-') && o.len() > 1 => {
                eprintln!("{}: invalid option '{o}'", name());
                usage(help)
            }
            _ => operands.push(a.as_str()),
        }
    }
    let [user] = operands[..] else {
        eprintln!(
            "{}: {}",
            name(),
            if operands.is_empty() {
                "missing user name"
            } else {
                "one user name only"
            }
        );
        usage(help)
    };
    if user.contains('\n') || user.contains(' ') || user.is_empty() {
        fail(&format!("invalid user name '{}'", user.escape_default()));
    }
    let request = if add {
        Request::Add { name: user }
    } else {
        Request::Delete {
            name: user,
            home: purge,
        }
    };
    // Silent on success, as Unix's are (the account's password, set next with `passwd NAME`,
    // says whether the change outlives a reboot).
    send(&request, "");
}

const SU_HELP: &str = "\
usage: su [-] [-c COMMAND] [USER]
Start USER's shell (root's by default) in USER's own namespace, home and
environment, on this console; when it ends, su ends with its status and your
shell goes on. Anyone but root is asked for USER's password.
  -c COMMAND  run COMMAND in USER's shell (sh -c COMMAND) instead
  -, -l, --login  accepted: su always starts a fresh session
  --help      show this help and exit
";

/// `su [-] [-c COMMAND] [USER]`: asks login, through the session's password service, to run
/// USER's shell on this console (see `vfs::users::Request::Switch`).
fn su(args: &[String]) {
    let mut command = None;
    let mut operands = Vec::new();
    let mut options = true;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--help" if options => {
                print!("{SU_HELP}");
                return;
            }
            "--" if options => options = false,
            "-" | "-l" | "--login" if options => {}
            "-c" | "--command" if options => {
                i += 1;
                match args.get(i) {
                    Some(c) => command = Some(c.clone()),
                    None => {
                        eprintln!("su: option '{a}' requires an argument");
                        usage(SU_HELP)
                    }
                }
            }
            o if options && o.starts_with("--command=") => {
                command = Some(o["--command=".len()..].to_string());
            }
            o if options && o.starts_with('-') => {
                eprintln!("su: invalid option '{o}'");
                usage(SU_HELP)
            }
            _ => operands.push(a),
        }
        i += 1;
    }
    let target = match operands[..] {
        [] => "root",
        [u] => u,
        _ => {
            eprintln!("su: one user name only");
            usage(SU_HELP)
        }
    };
    if target.is_empty() || target.contains(['\n', ' ']) || target.len() > users::MAX_NAME {
        fail(&format!(
            "user '{}' does not exist",
            target.escape_default()
        ));
    }
    if command
        .as_deref()
        .is_some_and(|c| c.len() > users::MAX_REQUEST / 2)
    {
        fail("the command is too long (write it to a file and run that)");
    }
    // Like Linux's su: an unknown user is said before any password is asked.
    match users::exchange(
        users::SERVICE_PATH,
        &Request::Lookup { name: target }.encode(),
    ) {
        Ok(r) if r.starts_with("user ") => {}
        Ok(r) if r.contains("no such user") => fail(&format!("user '{target}' does not exist")),
        Ok(r) => fail(r.trim_start_matches("error: ").trim_end()),
        Err(vfs::proto::FsError::NotFound) => fail(&format!(
            "no password service at {} in this namespace",
            users::SERVICE_PATH
        )),
        Err(e) => fail(&format!("{}: {e}", users::SERVICE_PATH)),
    }
    let me = std::env::var("USER").unwrap_or_default();
    let password = if me == "root" {
        String::new()
    } else {
        print!("Password: ");
        match std::term::read_password_bounded(users::MAX_PASSWORD) {
            // Too long or not text: no password can be it, but the answer (and its delay)
            // is the same as for a wrong one.
            Ok(Some(p)) => String::from_utf8(p)
                .ok()
                .filter(|p| p.len() <= users::MAX_PASSWORD && !p.contains('\n'))
                .unwrap_or_else(|| String::from("\u{0}")),
            Ok(None) => {
                println!();
                fail("authentication failure")
            }
            Err(e) => {
                println!();
                fail(&format!("cannot read the password: {e}"))
            }
        }
    };
    let request = Request::Switch {
        name: target,
        password: &password,
        command: command.as_deref(),
    };
    match users::exchange(users::SERVICE_PATH, &request.encode()) {
        Ok(r) => match r
            .strip_prefix("status ")
            .and_then(|n| n.trim_end().parse().ok())
        {
            Some(status) => std::process::exit(status),
            None => fail(r.trim_start_matches("error: ").trim_end()),
        },
        Err(e) => fail(&format!("{}: {e}", users::SERVICE_PATH)),
    }
}

/// `passwd --help`.
const HELP: &str = "Usage: passwd [USER]\n\
Change your password (the current one first, then the new one twice), or, as\n\
root, USER's.\n\
  --help  show this help and exit\n\
";

pub fn main() {
    let args: Vec<String> = std::env::args().collect();
    if name() == "su" {
        su(&args[1..]);
        return;
    }
    // useradd and userdel answer --help with their own text.
    if name() != "passwd" {
        account(&args[1..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let Ok(me) = std::env::var("USER") else {
        fail("USER is not set: who are you?");
    };
    let target = args.get(1).cloned().unwrap_or_else(|| me.clone());
    if args.len() > 2 {
        eprintln!("usage: passwd [USER]");
        std::process::exit(2);
    }
    if target != me && me != "root" {
        fail("only root may change another user's password");
    }
    if target != me {
        let new = ask_new();
        let lasts = send(
            &Request::Set {
                name: &target,
                new: &new,
            },
            &format!("{target}: "),
        );
        println!("passwd: password updated for {target}");
        if lasts == Lasts::UntilReboot {
            println!("passwd: {UNTIL_REBOOT}");
        }
        return;
    }
    println!("Changing password for {me}.");
    let old = ask("Current password: ");
    // A wrong current password fails here, before the new one is asked for (twice).
    send(
        &Request::Check {
            name: &me,
            password: &old,
        },
        "",
    );
    let new = ask_new();
    let lasts = send(
        &Request::Change {
            name: &me,
            old: &old,
            new: &new,
        },
        "",
    );
    println!("passwd: password updated successfully");
    if lasts == Lasts::UntilReboot {
        println!("passwd: {UNTIL_REBOOT}");
    }
}
