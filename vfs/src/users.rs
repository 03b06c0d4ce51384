//! The users file (`/etc/users`): one user per line,
//!
//! ```text
//! name:$pbkdf2-sha256$i=ROUNDS,l=32$SALT$HASH:home:shell
//! name:$pbkdf2-sha256$i=ROUNDS,l=32$SALT$HASH:UID:home:shell
//! ```
//!
//! with the user's number where the entry gives one (see [`uids`] for the rest), and `!`
//! ([`LOCKED`]) for the password of an account that has none yet.
//!
//! The password field is a PHC string (the format of the `password-hash` crate, RustCrypto's
//! `pbkdf2` with its `simple` feature): PBKDF2-HMAC-SHA256 of the password under a 16-byte salt,
//! 32 bytes, salt and hash in PHC's B64 (base64 without padding). The cost travels with each
//! entry, so it can be raised later: an entry made at fewer than [`ROUNDS`] iterations still
//! verifies and is re-hashed at [`ROUNDS`] on the next successful login or password change.
//! Lines of the older form `name:salt-hex:hash-hex:home:shell` (4 096 iterations) are read as
//! the same PHC string at `i=4096`. PBKDF2 with SHA-256 is a vetted RustCrypto pair that builds
//! no_std without floats and adds little code; argon2 would resist GPUs better but needs memory
//! the 4 MiB heap cannot spare per login. Salts come from the caller: login and passwd take them
//! from std-shim's `random` (the CPU's RDRAND on the real kernel where it has one, else a mix of
//! time-stamp counter readings, which is guessable by someone who knows roughly when the
//! password was set).
//!
//! # One writer
//!
//! Only the *keeper* writes the users file: a [`Service`] made by [`Service::keeper`], which
//! init serves at [`KEEPER_PATH`] in its own namespace (and so in login's, which inherits it; no
//! session's namespace has it). It takes [`Request`]s from those trusted processes, one at a time
//! (one lock in one process), and replaces the file atomically: the new text goes to
//! `<file>.new`, which is renamed over the file. Where no keeper is mounted (a login started
//! without init's), [`submit`] answers the request in the calling process instead.
//!
//! Every session gets a [`Service::session`] bound to the session's user at [`SERVICE_PATH`]
//! (login serves it): a client opens it read-write, writes one encoded [`Request`] (at most
//! [`MAX_REQUEST`] bytes, in one write), and reads the reply from offset 0: `ok\n` (a change
//! to a users file no disk keeps: [`OK_UNTIL_REBOOT`]), or `error: MESSAGE\n`, or [`BUSY`] when the keeper has no room for it (ask again later, as for a
//! session the service itself refuses, `FsError::Busy`). Each open is one exchange. The session service lets a user change their
//! own password (`change`, with the current one) and root set anyone's (`set`), lets root add
//! and remove accounts (`add`, `delete`, `purge`: the keeper writes the entry, the home and the
//! namespace spec, [`account_paths`]), lets anyone look up a user's number and home (`lookup`,
//! for `id`: a user's namespace has no users file), and hands the request on to the keeper.
//! With a switch ([`Service::with_switch`], login's), it also takes `su`
//! ([`Request::Switch`]), answered by login itself, on the first read. The keeper also counts failed logins per user (`failed`/`passed`,
//! from login), answering `delay SECONDS\n` (see [`delay_after`]).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use pbkdf2::password_hash::{Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use pbkdf2::{Algorithm, Params, Pbkdf2};

use crate::client;
use crate::proto::{Entry, FsError, Kind, Meta, flags};
use crate::server::FileSystem;
use libeurali::sync::Lock;

/// Where the users file lives.
pub const USERS: &str = "/etc/users";

/// PBKDF2 iterations of a new hash. The figure is chosen so that one login on the real kernel
/// stays under a second (README, "Login"; `cargo xtask bench login` times it).
pub const ROUNDS: u32 = 20_000;
/// The iterations of the older hex entries.
pub const LEGACY_ROUNDS: u32 = 4096;
/// Entries asking for more iterations than this (or none) never verify: a users file cannot
/// make login hash for minutes.
pub const MAX_ROUNDS: u32 = 10_000_000;
/// Longest login name.
pub const MAX_NAME: usize = 32;
/// Longest password.
pub const MAX_PASSWORD: usize = 256;

/// One user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// The password field as the file has it: a PHC string, or an older entry's
    /// `salt-hex:hash-hex` (read as its PHC string by [`User::phc`]; the shell, which reads the
    /// file for homes only, never links the PHC code).
    pub hash: String,
    /// The user's number, where the entry gives one (`useradd` writes it); see [`uids`] for
    /// the numbers of entries without one.
    pub uid: Option<u32>,
    pub home: String,
    pub shell: String,
}

/// The password field of an account that has no password yet (`useradd` makes one): no
/// password verifies against it, so nobody can log in until root sets one with `passwd NAME`.
pub const LOCKED: &str = "!";

/// The first number [`Request::Add`] gives an ordinary user (root is 0).
pub const FIRST_UID: u32 = 1000;

/// Each entry's user number: its own where it has one; otherwise root's is 0 and the others
/// get, in file order, the next numbers from [`FIRST_UID`] not taken by an explicit one (the
/// image's `user` is 1000).
pub fn uids(users: &[User]) -> Vec<u32> {
    let mut next = FIRST_UID;
    let taken = |n: u32| users.iter().any(|u| u.uid == Some(n));
    users
        .iter()
        .map(|u| match u.uid {
            Some(n) => n,
            None if u.name == "root" => 0,
            None => {
                while taken(next) {
                    next += 1;
                }
                next += 1;
                next - 1
            }
        })
        .collect()
}

/// Whether `name` may name a new account: 1 to [`MAX_NAME`] bytes of lower-case ASCII
/// letters, digits, `_` and `-`, not starting with a digit or `-` (what Linux's `useradd`
/// takes by default, less upper case); the message says what is wrong.
pub fn check_new_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("a user name is 1 to {MAX_NAME} characters"));
    }
    if !name.chars().all(ok_char) || name.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Err(format!(
            "invalid user name '{}': use a-z, 0-9, '_' and '-', starting with a letter or '_'",
            name.escape_default()
        ));
    }
    Ok(())
}

/// The bytes of an older entry's hex field (either case); `None` if it is not hex.
fn unhex(s: &str) -> Option<Vec<u8>> {
    base16ct::mixed::decode_vec(s).ok()
}

/// The PHC string of `password` under `salt` (3 to 48 bytes) at `rounds` iterations.
pub fn hash_with(password: &[u8], salt: &[u8], rounds: u32) -> Option<String> {
    // Outside 3..=48 bytes, the salt's B64 is outside PHC's 4..=64 characters, which
    // `SaltString` would take and then panic on.
    if rounds == 0 || rounds > MAX_ROUNDS || !(3..=48).contains(&salt.len()) {
        return None;
    }
    let salt = SaltString::encode_b64(salt).ok()?;
    let params = Params {
        rounds,
        output_length: 32,
    };
    let h = Pbkdf2
        .hash_password_customized(
            password,
            Some(Algorithm::Pbkdf2Sha256.ident()),
            None,
            params,
            &salt,
        )
        .ok()?;
    Some(h.to_string())
}

/// The PHC string of `password` under `salt` at [`ROUNDS`]; empty if `salt` is not 3 to 48
/// bytes (an entry that verifies nothing).
pub fn hash(password: &str, salt: &[u8]) -> String {
    hash_with(password.as_bytes(), salt, ROUNDS).unwrap_or_default()
}

/// The cost of a PHC string's hash, if it is one this module verifies.
fn rounds(phc: &str) -> Option<u32> {
    let h = PasswordHash::new(phc).ok()?;
    Algorithm::try_from(h.algorithm).ok()?;
    let p = Params::try_from(&h).ok()?;
    (1..=MAX_ROUNDS).contains(&p.rounds).then_some(p.rounds)
}

/// What checking a password for a name that has no entry costs, so that timing does not tell
/// which names exist.
pub fn check_nobody(password: &[u8]) {
    let _ = hash_with(password, b"no such user....", ROUNDS);
}

impl User {
    /// A user with `password` hashed under `salt`.
    pub fn new(name: &str, password: &str, salt: &[u8], home: &str, shell: &str) -> User {
        User {
            name: name.into(),
            hash: hash(password, salt),
            uid: None,
            home: home.into(),
            shell: shell.into(),
        }
    }

    /// Whether `password` is this user's (compared in constant time, at the entry's own cost).
    pub fn check(&self, password: &str) -> bool {
        self.check_bytes(password.as_bytes())
    }

    /// The PHC string of the password (an older entry's converted); empty if the field is
    /// neither.
    pub fn phc(&self) -> String {
        match self.hash.split_once(':') {
            None => self.hash.clone(),
            Some((salt, hash)) => legacy(salt, hash).unwrap_or_default(),
        }
    }

    /// [`User::check`] for any bytes (a password that is not UTF-8 is never one: none can be
    /// set).
    pub fn check_bytes(&self, password: &[u8]) -> bool {
        let phc = self.phc();
        if rounds(&phc).is_none() || core::str::from_utf8(password).is_err() {
            return false;
        }
        let Ok(h) = PasswordHash::new(&phc) else {
            return false;
        };
        Pbkdf2.verify_password(password, &h).is_ok()
    }

    /// Whether the entry's hash costs less than a new one would (re-hash it at the next chance).
    pub fn needs_upgrade(&self) -> bool {
        rounds(&self.phc()).is_some_and(|r| r < ROUNDS)
    }

    pub fn set_password(&mut self, password: &str, salt: &[u8]) {
        self.hash = hash(password, salt);
    }

    pub fn line(&self) -> String {
        match self.uid {
            Some(uid) => format!(
                "{}:{}:{uid}:{}:{}",
                self.name, self.hash, self.home, self.shell
            ),
            None => format!("{}:{}:{}:{}", self.name, self.hash, self.home, self.shell),
        }
    }
}

/// An older `salt-hex:hash-hex` entry as its PHC string.
fn legacy(salt: &str, hash: &str) -> Option<String> {
    let salt = unhex(salt)?;
    if !(3..=48).contains(&salt.len()) {
        return None;
    }
    let salt = SaltString::encode_b64(&salt).ok()?;
    let out = Output::new(&unhex(hash)?).ok()?;
    Some(format!(
        "${}$i={LEGACY_ROUNDS},l={}${}${}",
        Algorithm::Pbkdf2Sha256.as_str(),
        out.len(),
        salt.as_str(),
        out
    ))
}

/// Parses the users file; malformed lines are skipped. Never panics. The password fields are
/// only checked for their shape here (a PHC string starts with `$`, [`LOCKED`] is `!`, an older
/// entry is hex). An entry is `name:PASSWORD:home:shell` or, with its user number,
/// `name:PASSWORD:UID:home:shell` (an older entry's PASSWORD is two hex fields).
pub fn parse(text: &str) -> Vec<User> {
    let uid = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let modern = |p: &str| p.starts_with('$') || p == LOCKED;
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            let (name, hash, uid, home, shell) = match f.as_slice() {
                [name, phc, home, shell] if modern(phc) => {
                    (*name, String::from(*phc), None, *home, *shell)
                }
                [name, phc, n, home, shell] if modern(phc) => {
                    (*name, String::from(*phc), Some(uid(n)?), *home, *shell)
                }
                [name, salt, hash, home, shell] => {
                    unhex(salt)?;
                    unhex(hash)?;
                    (*name, format!("{salt}:{hash}"), None, *home, *shell)
                }
                [name, salt, hash, n, home, shell] => {
                    unhex(salt)?;
                    unhex(hash)?;
                    (
                        *name,
                        format!("{salt}:{hash}"),
                        Some(uid(n)?),
                        *home,
                        *shell,
                    )
                }
                _ => return None,
            };
            Some(User {
                name: name.into(),
                hash,
                uid,
                home: home.into(),
                shell: shell.into(),
            })
        })
        .collect()
}

/// The users file for `users`.
pub fn render(users: &[User]) -> String {
    let mut s = String::new();
    for u in users {
        s.push_str(&u.line());
        s.push('\n');
    }
    s
}

/// Where login mounts the session's password [`Service`].
pub const SERVICE_PATH: &str = "/dev/passwd";
/// Where init mounts the keeper, the one writer of the users file (see the module doc).
pub const KEEPER_PATH: &str = "/dev/users";
/// The reply of a session service whose keeper is busy: the client may ask again later.
pub const BUSY: &str = "busy\n";
/// A request done.
pub const OK: &str = "ok\n";
/// A change done, to a users file that no disk keeps: it lasts until the system ends
/// ([`Service::until_reboot`]).
pub const OK_UNTIL_REBOOT: &str = "ok until reboot\n";
/// Largest request the services take.
pub const MAX_REQUEST: usize = 1024;
/// Longest delay [`delay_after`] gives, in seconds.
pub const MAX_DELAY: u32 = 16;

/// Seconds to wait after the `failures`th failed login in a row: 1, 2, 4, … up to
/// [`MAX_DELAY`].
pub fn delay_after(failures: u32) -> u32 {
    match failures {
        0 => 0,
        n => 1u32.checked_shl(n - 1).unwrap_or(MAX_DELAY).min(MAX_DELAY),
    }
}

/// Why a password was not changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    NoSuchUser,
    WrongPassword,
    /// A password with a newline, empty, or longer than [`MAX_PASSWORD`].
    BadPassword,
    /// The users file could not be read or written.
    File(FsError),
    /// An account cannot be added or removed: the message says why.
    Refused(String),
}

impl core::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChangeError::NoSuchUser => f.write_str("no such user"),
            ChangeError::WrongPassword => f.write_str("authentication token manipulation error"),
            ChangeError::BadPassword => write!(
                f,
                "a password must be one non-empty line of at most {MAX_PASSWORD} bytes"
            ),
            ChangeError::File(e) => write!(f, "users file: {e}"),
            ChangeError::Refused(m) => f.write_str(m),
        }
    }
}

fn read_file(path: &str) -> Result<String, FsError> {
    let (s, meta) = client::open(path, flags::READ)?;
    let mut buf = alloc::vec![0u8; meta.len as usize];
    let mut at = 0;
    while at < buf.len() {
        match s.read_at(at as u64, &mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    buf.truncate(at);
    String::from_utf8(buf).map_err(|_| FsError::Invalid)
}

/// Replaces the file at `path` with `text`: written to `<path>.new`, renamed over it, and made
/// durable (`sync` of its server, which writes out what else the request changed there too: a
/// new home, a namespace spec) before the change is answered `ok`. On a disk (`fatfs`) the
/// rename sat in the write cache otherwise, and a power cut within the 5 s write-out lost a
/// password `passwd` had reported changed (seen on the real kernel); in memory a sync is a
/// no-op.
fn replace(path: &str, text: &str) -> Result<(), FsError> {
    let tmp = format!("{path}.new");
    let write = || {
        let (s, _) = client::open(&tmp, flags::WRITE | flags::CREATE | flags::TRUNCATE)?;
        let mut at = 0;
        while at < text.len() {
            let (n, _) = s.write_at(at as u64, &text.as_bytes()[at..])?;
            if n == 0 {
                return Err(FsError::NoSpace);
            }
            at += n;
        }
        Ok(())
    };
    let r = write().and_then(|()| client::rename(&tmp, path));
    if r.is_err() {
        let _ = client::remove_file(&tmp);
    }
    r.and_then(|()| client::sync(path))
}

/// Serialises the changes this process makes (the keeper's sessions run in parallel).
static CHANGING: Lock<()> = Lock::new(());

/// Failed logins in a row, per name (at most [`MAX_COUNTED`] names; the rest share one count).
static FAILURES: Lock<Vec<(String, u32)>> = Lock::new(Vec::new());
const MAX_COUNTED: usize = 64;

/// Records a failed login of `name`; the failures in a row so far.
fn count_failure(name: &str) -> u32 {
    let mut all = FAILURES.lock();
    let key = if all.iter().any(|(n, _)| n == name) || all.len() < MAX_COUNTED {
        name
    } else {
        "*"
    };
    match all.iter_mut().find(|(n, _)| n == key) {
        Some((_, c)) => {
            *c = c.saturating_add(1);
            *c
        }
        None => {
            all.push((key.into(), 1));
            1
        }
    }
}

/// Sets `user`'s password to `new` (hashed under `salt`) in the users file at the resolved
/// `path`, after checking `old` when given (root setting another user's gives none). Only the
/// keeper calls this (or [`submit`] where there is none).
pub fn change_password(
    path: &str,
    user: &str,
    old: Option<&str>,
    new: &str,
    salt: &[u8],
) -> Result<(), ChangeError> {
    if new.is_empty() || new.contains('\n') || new.len() > MAX_PASSWORD {
        return Err(ChangeError::BadPassword);
    }
    let _g = CHANGING.lock();
    let mut users = parse(&read_file(path).map_err(ChangeError::File)?);
    let u = users
        .iter_mut()
        .find(|u| u.name == user)
        .ok_or(ChangeError::NoSuchUser)?;
    if old.is_some_and(|old| !u.check(old)) {
        return Err(ChangeError::WrongPassword);
    }
    u.set_password(new, salt);
    replace(path, &render(&users)).map_err(ChangeError::File)
}

/// Whether `password` is `user`'s in the users file at `path` (at its entry's own cost, compared
/// in constant time): `Err(WrongPassword)` if not.
pub fn check_password(path: &str, user: &str, password: &str) -> Result<(), ChangeError> {
    // Not while a change replaces the file (for an instant it is not there).
    let users = {
        let _g = CHANGING.lock();
        parse(&read_file(path).map_err(ChangeError::File)?)
    };
    let u = users
        .iter()
        .find(|u| u.name == user)
        .ok_or(ChangeError::NoSuchUser)?;
    if u.check(password) {
        Ok(())
    } else {
        Err(ChangeError::WrongPassword)
    }
}

/// What a client asks of the password services (see the module doc). Names and passwords are
/// single lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Set `name`'s password to `new` if `old` is its password.
    Change {
        name: &'a str,
        old: &'a str,
        new: &'a str,
    },
    /// Set `name`'s password to `new` (root only).
    Set { name: &'a str, new: &'a str },
    /// Whether `password` is `name`'s (a session asks of its own user only): `passwd` checks
    /// the current password before it asks for a new one.
    Check { name: &'a str, password: &'a str },
    /// Re-hash `password` at [`ROUNDS`] if it is `name`'s and its entry costs less (login,
    /// after a successful login; keeper only).
    Rehash { name: &'a str, password: &'a str },
    /// A failed login of `name` (keeper only): the reply is `delay SECONDS`.
    Failed { name: &'a str },
    /// A successful login of `name` (keeper only): its failures are forgotten.
    Passed { name: &'a str },
    /// A new account `name` (root only): the next free user number, no password yet
    /// ([`LOCKED`]), a home `/home/NAME` and the ordinary user's namespace spec
    /// (`/etc/ns/NAME`, [`crate::image::USER_SPEC`]).
    Add { name: &'a str },
    /// Remove the account `name` and its namespace spec (root only; never root's account); with
    /// `home`, its home directory too.
    Delete { name: &'a str, home: bool },
    /// What the system knows of `name` besides its password (any session): the reply is
    /// `user NAME:UID:HOME:SHELL`.
    Lookup { name: &'a str },
    /// `su`: run `name`'s shell (with `command`, its `-c`) in `name`'s namespace on this
    /// session's console if `password` is `name`'s (root's session needs none), wait for it and
    /// answer `status N`. Only a session service with a switch ([`Service::with_switch`], login's)
    /// takes it; the reply comes with the first read, which waits for the shell's end (the
    /// service is a device: such a read has no time limit).
    Switch {
        name: &'a str,
        password: &'a str,
        command: Option<&'a str>,
    },
}

impl<'a> Request<'a> {
    /// The bytes a client writes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::Change { name, old, new } => format!("change {name}\n{old}\n{new}\n"),
            Request::Set { name, new } => format!("set {name}\n{new}\n"),
            Request::Check { name, password } => format!("check {name}\n{password}\n"),
            Request::Rehash { name, password } => format!("rehash {name}\n{password}\n"),
            Request::Failed { name } => format!("failed {name}\n"),
            Request::Passed { name } => format!("passed {name}\n"),
            Request::Add { name } => format!("add {name}\n"),
            Request::Delete { name, home: false } => format!("delete {name}\n"),
            Request::Delete { name, home: true } => format!("purge {name}\n"),
            Request::Lookup { name } => format!("lookup {name}\n"),
            Request::Switch {
                name,
                password,
                command: None,
            } => format!("su {name}\n{password}\n"),
            Request::Switch {
                name,
                password,
                command: Some(c),
            } => format!("su {name}\n{password}\n{c}\n"),
        }
        .into_bytes()
    }

    /// The request in `bytes`, if they are one.
    pub fn decode(bytes: &'a [u8]) -> Option<Request<'a>> {
        let text = core::str::from_utf8(bytes).ok()?;
        if let Some(rest) = text.strip_prefix("su ") {
            // The command is the rest, newlines and all.
            let (name, rest) = rest.split_once('\n')?;
            let (password, rest) = rest.split_once('\n')?;
            let command = match rest {
                "" => None,
                c => Some(c.strip_suffix('\n')?),
            };
            if name.is_empty() || name.contains(' ') {
                return None;
            }
            return Some(Request::Switch {
                name,
                password,
                command,
            });
        }
        let mut lines = text.strip_suffix('\n')?.split('\n');
        let (verb, name) = lines.next()?.split_once(' ')?;
        let rest: Vec<&str> = lines.collect();
        Some(match (verb, rest.as_slice()) {
            ("change", [old, new]) => Request::Change { name, old, new },
            ("set", [new]) => Request::Set { name, new },
            ("check", [password]) => Request::Check { name, password },
            ("rehash", [password]) => Request::Rehash { name, password },
            ("failed", []) => Request::Failed { name },
            ("passed", []) => Request::Passed { name },
            ("add", []) => Request::Add { name },
            ("delete", []) => Request::Delete { name, home: false },
            ("purge", []) => Request::Delete { name, home: true },
            ("lookup", []) => Request::Lookup { name },
            _ => return None,
        })
    }
}

/// The keeper's answer to `request` (trusted: no check of who asks), the reply's text.
fn keep(users_file: &str, request: &Request<'_>, salt: &[u8]) -> String {
    let done = |r: Result<(), ChangeError>| match r {
        Ok(()) => String::from("ok\n"),
        Err(e) => format!("error: {e}\n"),
    };
    match *request {
        Request::Change { name, old, new } => {
            done(change_password(users_file, name, Some(old), new, salt))
        }
        Request::Set { name, new } => done(change_password(users_file, name, None, new, salt)),
        Request::Check { name, password } => done(check_password(users_file, name, password)),
        Request::Rehash { name, password } => {
            let current = read_file(users_file).map(|t| parse(&t));
            match current {
                Ok(all) if all.iter().any(|u| u.name == name && u.needs_upgrade()) => done(
                    change_password(users_file, name, Some(password), password, salt),
                ),
                Ok(_) => String::from("ok\n"),
                Err(e) => done(Err(ChangeError::File(e))),
            }
        }
        Request::Failed { name } => format!("delay {}\n", delay_after(count_failure(name))),
        Request::Passed { name } => {
            FAILURES.lock().retain(|(n, _)| n != name);
            String::from("ok\n")
        }
        Request::Add { name } => done(add_user(users_file, name)),
        Request::Delete { name, home } => done(delete_user(users_file, name, home)),
        Request::Switch { .. } => String::from("error: su is a session's request\n"),
        Request::Lookup { name } => {
            let all = {
                let _g = CHANGING.lock();
                read_file(users_file).map(|t| parse(&t))
            };
            match all {
                Ok(all) => match all.iter().position(|u| u.name == name) {
                    Some(i) => {
                        let u = &all[i];
                        let uid = uids(&all)[i];
                        format!("user {}:{uid}:{}:{}\n", u.name, u.home, u.shell)
                    }
                    None => done(Err(ChangeError::NoSuchUser)),
                },
                Err(e) => done(Err(ChangeError::File(e))),
            }
        }
    }
}

/// The directory a path is in (`/` for a top-level path).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Where [`Request::Add`] puts `name`'s namespace spec and home, for the users file at
/// `users_file` (`/etc/users`: `/etc/ns/NAME`, `/home/NAME`).
pub fn account_paths(users_file: &str, name: &str) -> (String, String) {
    let etc = parent(users_file);
    let top = parent(etc).trim_end_matches('/');
    (format!("{etc}/ns/{name}"), format!("{top}/home/{name}"))
}

/// [`Request::Add`] in the keeper.
fn add_user(users_file: &str, name: &str) -> Result<(), ChangeError> {
    check_new_name(name).map_err(ChangeError::Refused)?;
    let _g = CHANGING.lock();
    let mut users = parse(&read_file(users_file).map_err(ChangeError::File)?);
    if users.iter().any(|u| u.name == name) {
        return Err(ChangeError::Refused(format!(
            "user '{name}' already exists"
        )));
    }
    let numbers = uids(&users);
    let uid = numbers
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(FIRST_UID - 1)
        + 1;
    let (spec, home) = account_paths(users_file, name);
    match client::mkdir(&home) {
        Ok(()) | Err(FsError::Exists) => {}
        Err(e) => return Err(ChangeError::Refused(format!("{home}: {e}"))),
    }
    replace(&spec, crate::image::USER_SPEC)
        .map_err(|e| ChangeError::Refused(format!("{spec}: {e}")))?;
    // Every entry gets its number written, so that none moves when others come and go.
    for (u, n) in users.iter_mut().zip(numbers) {
        u.uid = Some(n);
    }
    let shell = users
        .first()
        .map_or_else(|| String::from("/bin/sh"), |u| u.shell.clone());
    users.push(User {
        name: name.into(),
        hash: LOCKED.into(),
        uid: Some(uid),
        home,
        shell,
    });
    replace(users_file, &render(&users)).map_err(ChangeError::File)
}

/// [`Request::Delete`] in the keeper.
fn delete_user(users_file: &str, name: &str, with_home: bool) -> Result<(), ChangeError> {
    if name == "root" {
        return Err(ChangeError::Refused(String::from(
            "root's account cannot be removed",
        )));
    }
    let _g = CHANGING.lock();
    let mut users = parse(&read_file(users_file).map_err(ChangeError::File)?);
    let Some(i) = users.iter().position(|u| u.name == name) else {
        return Err(ChangeError::Refused(format!(
            "user '{name}' does not exist"
        )));
    };
    let numbers = uids(&users);
    for (u, n) in users.iter_mut().zip(numbers) {
        u.uid = Some(n);
    }
    let gone = users.remove(i);
    replace(users_file, &render(&users)).map_err(ChangeError::File)?;
    FAILURES.lock().retain(|(n, _)| n != name);
    let (spec, _) = account_paths(users_file, name);
    match client::remove_file(&spec) {
        Ok(()) | Err(FsError::NotFound) => {}
        Err(e) => return Err(ChangeError::Refused(format!("{spec}: {e}"))),
    }
    if with_home {
        // Only a home of its own under /home: never `/` or another user's.
        let (_, own) = account_paths(users_file, name);
        if gone.home != own {
            return Err(ChangeError::Refused(format!(
                "{}: not removed (not {own})",
                gone.home
            )));
        }
        remove_tree(&own).map_err(|e| ChangeError::Refused(format!("{own}: {e}")))?;
    }
    Ok(())
}

/// Removes the directory `top` and everything under it, without recursion (the stack is
/// small): directories are emptied depth first from a list.
fn remove_tree(top: &str) -> Result<(), FsError> {
    let mut pending = alloc::vec![String::from(top)];
    while let Some(dir) = pending.last().cloned() {
        let (s, _) = match client::open(&dir, flags::READ | flags::DIRECTORY) {
            Ok(x) => x,
            Err(FsError::NotFound) if dir == top => return Ok(()),
            Err(e) => return Err(e),
        };
        let entries = s.read_dir()?;
        drop(s);
        let mut deeper = false;
        for e in entries {
            let path = format!("{dir}/{}", e.name);
            if e.kind == Kind::Dir {
                pending.push(path);
                deeper = true;
            } else {
                client::remove_file(&path)?;
            }
        }
        if !deeper {
            client::remove_dir(&dir)?;
            pending.pop();
        }
    }
    Ok(())
}

/// Hands `request` to the keeper at [`KEEPER_PATH`] and returns its reply; where this
/// namespace has no keeper, answers it in this process (with `salt` for a new hash).
pub fn submit(users_file: &str, request: &Request<'_>, salt: impl FnOnce() -> [u8; 16]) -> String {
    match exchange(KEEPER_PATH, &request.encode()) {
        Err(FsError::NotFound) => keep(users_file, request, &salt()),
        Err(FsError::Busy) => String::from(BUSY),
        Err(e) => format!("error: password service: {e}\n"),
        Ok(reply) => reply,
    }
}

/// One exchange with a password service at `path`: `request` written, the reply read.
pub fn exchange(path: &str, request: &[u8]) -> Result<String, FsError> {
    let (s, _) = client::open(path, flags::READ | flags::WRITE)?;
    s.write_at(0, request)?;
    let mut reply = alloc::vec![0u8; 256];
    let mut at = 0;
    while at < reply.len() {
        match s.read_at(at as u64, &mut reply[at..])? {
            0 => break,
            n => at += n,
        }
    }
    reply.truncate(at);
    String::from_utf8(reply).map_err(|_| FsError::Invalid)
}

/// What runs a [`Request::Switch`] for a session service: called with the session's user, the
/// user to switch to, the password given and the command; returns the reply (`status N\n` or
/// `error: MESSAGE\n`). login gives one (it alone can check a password and build another
/// user's namespace).
pub type Switch = Box<dyn Fn(&str, &str, &str, Option<&str>) -> String + Send + Sync>;

/// A password service (see the module doc): a one-file file system.
pub struct Service {
    /// The session's user; `None` for the keeper.
    user: Option<String>,
    /// The keeper's users file is in memory: its answers to changes are [`OK_UNTIL_REBOOT`].
    until_reboot: bool,
    users_file: String,
    salt: Box<dyn Fn() -> [u8; 16] + Send + Sync>,
    switch: Option<Switch>,
}

/// One open of a [`Service`]: the reply of its exchange, or a [`Request::Switch`] waiting for
/// the first read.
#[derive(Default)]
pub struct Exchange {
    reply: Vec<u8>,
    pending: Option<Vec<u8>>,
}

impl Service {
    /// The session service for `user`, handing requests to the keeper (or, without one,
    /// changing the users file at the resolved `users_file` of the serving process's namespace
    /// itself), with salts from `salt`.
    pub fn session(
        user: &str,
        users_file: &str,
        salt: impl Fn() -> [u8; 16] + Send + Sync + 'static,
    ) -> Service {
        Service {
            user: Some(user.into()),
            users_file: users_file.into(),
            salt: Box::new(salt),
            switch: None,
            until_reboot: false,
        }
    }

    /// This session service with `switch` to answer [`Request::Switch`] (`su`).
    pub fn with_switch(mut self, switch: Switch) -> Service {
        self.switch = Some(switch);
        self
    }

    /// The keeper: the one writer of the users file at `users_file` (see the module doc).
    pub fn keeper(
        users_file: &str,
        salt: impl Fn() -> [u8; 16] + Send + Sync + 'static,
    ) -> Service {
        Service {
            user: None,
            users_file: users_file.into(),
            salt: Box::new(salt),
            switch: None,
            until_reboot: false,
        }
    }

    /// This keeper with its users file kept in memory only (`yes`: no disk holds it), so that
    /// a change is answered [`OK_UNTIL_REBOOT`] and `passwd` can say so.
    pub fn until_reboot(mut self, yes: bool) -> Service {
        self.until_reboot = yes;
        self
    }

    fn answer(&self, bytes: &[u8]) -> String {
        let Some(request) = Request::decode(bytes) else {
            return String::from("error: malformed request\n");
        };
        let Some(me) = &self.user else {
            let reply = keep(&self.users_file, &request, &(self.salt)());
            let change = matches!(
                request,
                Request::Change { .. }
                    | Request::Set { .. }
                    | Request::Add { .. }
                    | Request::Delete { .. }
            );
            return if self.until_reboot && change && reply == OK {
                String::from(OK_UNTIL_REBOOT)
            } else {
                reply
            };
        };
        let refusal = match request {
            Request::Change { name, .. } if name != me && me != "root" => {
                "only root may change another user's password"
            }
            Request::Change { .. } => "",
            Request::Check { name, .. } if name != me && me != "root" => {
                "only root may check another user's password"
            }
            Request::Check { .. } => "",
            Request::Set { .. } if me != "root" => "only root may set another user's password",
            Request::Set { .. } => "",
            Request::Add { .. } | Request::Delete { .. } if me != "root" => {
                "Permission denied: only root may add or remove users"
            }
            Request::Add { .. } | Request::Delete { .. } | Request::Lookup { .. } => "",
            Request::Switch {
                name,
                password,
                command,
            } => {
                return match &self.switch {
                    Some(run) => run(me, name, password, command),
                    None => String::from("error: su is not served here\n"),
                };
            }
            _ => "login's requests are not a session's",
        };
        if !refusal.is_empty() {
            return format!("error: {refusal}\n");
        }
        submit(&self.users_file, &request, &self.salt)
    }
}

impl FileSystem for Service {
    /// This open's exchange.
    type Node = Arc<Lock<Exchange>>;

    fn open(&self, path: &[&str], fl: u32) -> Result<Self::Node, FsError> {
        if !path.is_empty() || fl & flags::DIRECTORY != 0 {
            return Err(FsError::NotFound);
        }
        Ok(Arc::new(Lock::new(Exchange::default())))
    }

    /// A device: a client's reads have no time limit, so that the read that answers a
    /// [`Request::Switch`] can wait for the other user's shell to end. Every other reply is
    /// ready when the write returns.
    fn stat(&self, node: &Self::Node) -> Result<Meta, FsError> {
        Ok(Meta {
            kind: Kind::Device,
            len: node.lock().reply.len() as u64,
            readonly: false,
            mount_readonly: false,
        })
    }

    fn read(&self, node: &Self::Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let pending = node.lock().pending.take();
        if let Some(request) = pending {
            // Not under the lock: this waits for a whole session.
            let answer = self.answer(&request);
            node.lock().reply = answer.into_bytes();
        }
        let node = node.lock();
        let reply = &node.reply;
        let start = (offset as usize).min(reply.len());
        let n = buf.len().min(reply.len() - start);
        buf[..n].copy_from_slice(&reply[start..start + n]);
        Ok(n)
    }

    fn write(&self, node: &Self::Node, _: Option<u64>, data: &[u8]) -> Result<u64, FsError> {
        if data.len() > MAX_REQUEST {
            return Err(FsError::Invalid);
        }
        if matches!(Request::decode(data), Some(Request::Switch { .. })) {
            // Answered by the first read (see `stat`): a write has the session's time limit.
            let mut node = node.lock();
            node.reply.clear();
            node.pending = Some(data.to_vec());
            return Ok(data.len() as u64);
        }
        let answer = self.answer(data);
        let mut node = node.lock();
        node.pending = None;
        node.reply = answer.into_bytes();
        Ok(data.len() as u64)
    }

    fn set_len(&self, node: &Self::Node, len: u64) -> Result<(), FsError> {
        if len == 0 {
            let mut node = node.lock();
            node.reply.clear();
            node.pending = None;
        }
        Ok(())
    }

    fn read_dir(&self, _: &Self::Node) -> Result<Vec<Entry>, FsError> {
        Err(FsError::NotDir)
    }
    fn mkdir(&self, _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
    fn remove(&self, _: &[&str], _: bool) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
    fn rename(&self, _: &[&str], _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_entries_verify_and_want_an_upgrade() {
        // The default root entry of earlier images: hex salt and hash at 4 096 iterations.
        let line = "root:657572616c693a64656661756c743a72:\
                    74d5ffe3166c0fabd7f3df503d89245144523ef31ae4dd776bf6822c46f541ef:/:/bin/sh";
        let u = &parse(line)[0];
        assert!(
            u.phc().starts_with("$pbkdf2-sha256$i=4096,l=32$"),
            "{}",
            u.phc()
        );
        assert_eq!(render(core::slice::from_ref(u)), format!("{line}\n"));
        assert!(u.check("root") && !u.check("user"));
        assert!(u.needs_upgrade());
        let mut v = u.clone();
        v.set_password("root", b"0123456789abcdef");
        assert!(v.check("root") && !v.needs_upgrade());
        assert!(
            v.hash
                .starts_with(&format!("$pbkdf2-sha256$i={ROUNDS},l=32$"))
        );
        assert_eq!(v.phc(), v.hash);
        assert_eq!(parse(&render(&[v.clone()])), [v]);
    }

    #[test]
    fn requests_round_trip_and_junk_is_refused() {
        for r in [
            Request::Change {
                name: "u",
                old: "a b",
                new: "c",
            },
            Request::Set {
                name: "u",
                new: "x",
            },
            Request::Rehash {
                name: "u",
                password: "p",
            },
            Request::Check {
                name: "u",
                password: "p q",
            },
            Request::Failed { name: "u" },
            Request::Passed { name: "u" },
            Request::Add { name: "u" },
            Request::Delete {
                name: "u",
                home: false,
            },
            Request::Delete {
                name: "u",
                home: true,
            },
            Request::Lookup { name: "u" },
            Request::Switch {
                name: "root",
                password: "p w",
                command: None,
            },
            Request::Switch {
                name: "u",
                password: "",
                command: Some("echo a\necho b"),
            },
            Request::Switch {
                name: "u",
                password: "x",
                command: Some(""),
            },
        ] {
            assert_eq!(Request::decode(&r.encode()), Some(r.clone()));
        }
        for junk in [
            &b""[..],
            b"change u\na\n",
            b"set u\n",
            b"\xff\n",
            b"set u\na\nb\n",
        ] {
            assert_eq!(Request::decode(junk), None, "{junk:?}");
        }
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 6, 40].map(delay_after),
            [0, 1, 2, 4, 8, 16, 16, 16]
        );
    }

    #[test]
    fn the_keeper_counts_failures_per_user_until_a_login_passes() {
        let ask = |r: Request<'_>| keep("/nowhere", &r, b"0123456789abcdef");
        for want in ["delay 1\n", "delay 2\n", "delay 4\n"] {
            assert_eq!(ask(Request::Failed { name: "counted" }), want);
        }
        assert_eq!(ask(Request::Failed { name: "other" }), "delay 1\n");
        assert_eq!(ask(Request::Passed { name: "counted" }), "ok\n");
        assert_eq!(ask(Request::Failed { name: "counted" }), "delay 1\n");
    }

    #[test]
    fn a_session_asks_only_what_its_user_may() {
        let user = Service::session("user", "/nowhere", || [7; 16]);
        for (r, why) in [
            (
                Request::Set {
                    name: "root",
                    new: "x",
                },
                "only root may set",
            ),
            (
                Request::Change {
                    name: "root",
                    old: "a",
                    new: "b",
                },
                "only root may change",
            ),
            (Request::Passed { name: "user" }, "not a session's"),
            (Request::Add { name: "eve" }, "Permission denied"),
            (
                Request::Delete {
                    name: "user",
                    home: true,
                },
                "Permission denied",
            ),
            (Request::Failed { name: "root" }, "not a session's"),
            (
                Request::Switch {
                    name: "root",
                    password: "root",
                    command: None,
                },
                "not served here",
            ),
        ] {
            let reply = user.answer(&r.encode());
            assert!(
                reply.starts_with("error: ") && reply.contains(why),
                "{r:?}: {reply}"
            );
        }
        assert_eq!(user.answer(b"junk"), "error: malformed request\n");
    }

    #[test]
    fn absurd_costs_never_verify() {
        for i in ["0", "10000001", "99999999999"] {
            let u = User {
                name: "x".into(),
                hash: format!(
                    "$pbkdf2-sha256$i={i},l=32$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                ),
                uid: None,
                home: "/".into(),
                shell: "/bin/sh".into(),
            };
            assert!(!u.check("x") && !u.needs_upgrade());
        }
    }

    #[test]
    fn round_trip_and_check() {
        let u = User::new("root", "root", b"0123456789abcdef", "/", "/bin/shell");
        let users = parse(&render(&[
            u.clone(),
            User::new("user", "user", b"salt", "/home/user", "/bin/shell"),
        ]));
        assert_eq!(users[0], u);
        assert!(users[0].check("root") && !users[0].check("user") && !users[0].check(""));
        assert!(users[1].check("user"));
        assert!(parse("a:zz:00:/:/x\nbad\n::::\n").len() == 1); // "::::" parses (empty fields)
        assert!(!parse("::::\n")[0].check(""));
        let mut v = users[1].clone();
        v.set_password("new", b"s2s");
        assert!(v.check("new") && !v.check("user"));
    }

    #[test]
    fn numbers_are_kept_or_given_in_order_and_locked_entries_never_verify() {
        let text = "root:$pbkdf2-sha256$i=1,l=32$c2FsdA$AAAA:/home/root:/bin/sh\n\
                    user:657572:9e49:/home/user:/bin/sh\n\
                    bob:!:1000:/home/bob:/bin/sh\n\
                    amy:6575:9e49:1007:/home/amy:/bin/sh\n\
                    bad:!:x1:/home/bad:/bin/sh\n";
        let users = parse(text);
        assert_eq!(users.len(), 4, "{users:?}");
        assert_eq!(uids(&users), [0, 1001, 1000, 1007]);
        assert_eq!(users[2].hash, LOCKED);
        assert!(!users[2].check("") && !users[2].check("!"));
        assert_eq!(parse(&render(&users)), users);
        assert_eq!(
            users[3].line(),
            "amy:6575:9e49:1007:/home/amy:/bin/sh",
            "an older entry keeps its form"
        );
    }

    #[test]
    fn new_names_are_checked_and_accounts_have_their_places() {
        for good in ["bob", "_x", "a-b_9", "z"] {
            assert_eq!(check_new_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Bob",
            "9a",
            "-a",
            "a:b",
            "a b",
            "a/b",
            "é",
            &"a".repeat(33),
        ] {
            assert!(check_new_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            account_paths("/etc/users", "bob"),
            ("/etc/ns/bob".into(), "/home/bob".into())
        );
    }
}
