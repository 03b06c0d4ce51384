//! `passwd [USER]`: changes a password in `/etc/users`.
//!
//! - Your own (`$USER`'s): asks for the current password and the new one twice. In a login
//!   session the change goes through the session's password service at `/dev/passwd`
//!   ([`vfs::users::Service`]): an ordinary user's namespace has no `/etc/users` to write.
//!   Without that service (root's own shell, say) the file is changed directly.
//! - Another user's: only `root` may, and only where `/etc/users` is in reach; no current
//!   password is asked.
//!
//! Passwords are read a line at a time from stdin, without echo at a terminal
//! (`std::term::read_password`).

use std::io::{Read, Seek, Write};

use vfs::users::{self, ChangeError};

const USERS: &str = "/etc/users";

fn ask(prompt: &str) -> String {
    print!("{prompt}");
    match std::term::read_password() {
        Ok(Some(line)) => line,
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

fn new_salt() -> [u8; 16] {
    let mut s = [0u8; 16];
    std::random::fill(&mut s);
    s
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

/// Sends one request to the password service; its reply line.
fn through_service(old: &str, new: &str) -> Result<String, std::io::Error> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(users::SERVICE_PATH)?;
    f.write_all(&users::change_request(old, new))?;
    f.rewind()?;
    let mut reply = String::new();
    f.read_to_string(&mut reply)?;
    Ok(reply)
}

pub fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Ok(me) = std::env::var("USER") else {
        fail("USER is not set: who are you?");
    };
    let target = args.get(1).cloned().unwrap_or_else(|| me.clone());
    if args.len() > 2 {
        eprintln!("usage: passwd [USER]");
        std::process::exit(2);
    }
    if target != me {
        if me != "root" {
            fail("only root may change another user's password");
        }
        if !std::path::Path::new(USERS).exists() {
            fail("no /etc/users in this namespace");
        }
        let new = ask_new();
        match users::change_password(USERS, &target, None, &new, &new_salt()) {
            Ok(()) => println!("passwd: password updated for {target}"),
            Err(e) => fail(&format!("{target}: {e}")),
        }
        return;
    }
    println!("Changing password for {me}.");
    let old = ask("Current password: ");
    let new = ask_new();
    if std::path::Path::new(users::SERVICE_PATH).exists() {
        match through_service(&old, &new) {
            Ok(r) if r == "ok\n" => println!("passwd: password updated successfully"),
            Ok(r) => fail(r.trim_start_matches("error: ").trim_end()),
            Err(e) => fail(&format!("{}: {e}", users::SERVICE_PATH)),
        }
    } else {
        match users::change_password(USERS, &me, Some(&old), &new, &new_salt()) {
            Ok(()) => println!("passwd: password updated successfully"),
            Err(ChangeError::File(e)) => fail(&format!("{USERS}: {e}")),
            Err(e) => fail(&e.to_string()),
        }
    }
}
