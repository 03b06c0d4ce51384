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

fn fail(msg: &str) -> ! {
    eprintln!("passwd: {msg}");
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

/// Sends `request` to the session's password service; fails with its message (after `what`)
/// unless it is done.
fn send(request: &Request<'_>, what: &str) {
    let start = std::time::Instant::now();
    let mut pause = 10;
    loop {
        match users::exchange(users::SERVICE_PATH, &request.encode()) {
            Ok(r) if r == "ok\n" => return,
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

/// `passwd --help`.
const HELP: &str = "Usage: passwd [USER]\n\
Change your password (the current one first, then the new one twice), or, as\n\
root, USER's.\n\
  --help  show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let args: Vec<String> = std::env::args().collect();
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
        send(
            &Request::Set {
                name: &target,
                new: &new,
            },
            &format!("{target}: "),
        );
        println!("passwd: password updated for {target}");
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
    send(
        &Request::Change {
            name: &me,
            old: &old,
            new: &new,
        },
        "",
    );
    println!("passwd: password updated successfully");
}
