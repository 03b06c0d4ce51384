//! The users file (`/etc/users`): one user per line,
//!
//! ```text
//! name:salt-hex:hash-hex:home:shell
//! ```
//!
//! `hash` = PBKDF2-HMAC-SHA256(password, salt, [`ROUNDS`]), 32 bytes. PBKDF2 with SHA-256 is a
//! vetted RustCrypto pair that builds no_std without floats and adds little code; argon2 would
//! resist GPUs better but needs memory the 4 MiB heap cannot spare per login. Salts (16 bytes)
//! come from the caller: login and passwd take them from std-shim's `random` (the CPU's RDRAND
//! on the real kernel where it has one, else a mix of time-stamp counter readings, which is
//! guessable by someone who knows roughly when the password was set).
//!
//! # Changing a password
//!
//! [`change_password`] rewrites the file (to `<file>.new`, then renamed over it). An ordinary
//! user's namespace has no `/etc/users`, so login mounts a [`Service`] bound to the session's
//! user at [`SERVICE_PATH`] in every session: a client opens it read-write, writes
//! [`change_request`]`(old, new)` (at most [`MAX_REQUEST`] bytes, in one write), and reads the
//! reply from offset 0: `ok\n`, or `error: MESSAGE\n`. Each open is one exchange.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::client;
use crate::proto::{Entry, FsError, Kind, Meta, flags};
use crate::server::FileSystem;
use crate::sync::Lock;

/// PBKDF2 iterations.
pub const ROUNDS: u32 = 4096;

/// One user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
    pub home: String,
    pub shell: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The password hash for `salt`.
pub fn hash(password: &str, salt: &[u8]) -> Vec<u8> {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, ROUNDS, &mut out);
    out.to_vec()
}

impl User {
    /// A user with `password` hashed under `salt`.
    pub fn new(name: &str, password: &str, salt: &[u8], home: &str, shell: &str) -> User {
        User {
            name: name.into(),
            salt: salt.to_vec(),
            hash: hash(password, salt),
            home: home.into(),
            shell: shell.into(),
        }
    }

    /// Whether `password` is this user's (compared in constant time).
    pub fn check(&self, password: &str) -> bool {
        let h = hash(password, &self.salt);
        h.len() == self.hash.len()
            && h.iter().zip(&self.hash).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    }

    pub fn set_password(&mut self, password: &str, salt: &[u8]) {
        self.salt = salt.to_vec();
        self.hash = hash(password, salt);
    }

    pub fn line(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}",
            self.name,
            hex(&self.salt),
            hex(&self.hash),
            self.home,
            self.shell
        )
    }
}

/// Parses the users file; malformed lines are skipped. Never panics.
pub fn parse(text: &str) -> Vec<User> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            let [name, salt, hash, home, shell] = f.as_slice() else {
                return None;
            };
            Some(User {
                name: (*name).into(),
                salt: unhex(salt)?,
                hash: unhex(hash)?,
                home: (*home).into(),
                shell: (*shell).into(),
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
/// Largest request the service takes.
pub const MAX_REQUEST: usize = 1024;

/// Why a password was not changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    NoSuchUser,
    WrongPassword,
    /// A password with a newline, or empty.
    BadPassword,
    /// The users file could not be read or written.
    File(FsError),
}

impl core::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChangeError::NoSuchUser => f.write_str("no such user"),
            ChangeError::WrongPassword => f.write_str("authentication token manipulation error"),
            ChangeError::BadPassword => f.write_str("a password must be one non-empty line"),
            ChangeError::File(e) => write!(f, "users file: {e}"),
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

/// Serialises changes made by this process (the service's sessions run in parallel).
static CHANGING: Lock<()> = Lock::new(());

/// Sets `user`'s password to `new` (hashed under `salt`) in the users file at the resolved
/// `path`, after checking `old` when given (root changing another user's gives none).
pub fn change_password(
    path: &str,
    user: &str,
    old: Option<&str>,
    new: &str,
    salt: &[u8],
) -> Result<(), ChangeError> {
    if new.is_empty() || new.contains('\n') {
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
    let text = render(&users);
    let tmp = format!("{path}.new");
    let (s, _) = client::open(&tmp, flags::WRITE | flags::CREATE | flags::TRUNCATE)
        .map_err(ChangeError::File)?;
    let mut at = 0;
    while at < text.len() {
        let (n, _) = s
            .write_at(at as u64, &text.as_bytes()[at..])
            .map_err(ChangeError::File)?;
        at += n;
    }
    drop(s);
    client::rename(&tmp, path).map_err(ChangeError::File)
}

/// The bytes a client writes to the service.
pub fn change_request(old: &str, new: &str) -> Vec<u8> {
    format!("{old}\n{new}\n").into_bytes()
}

/// The password service of one session (see the module doc): a one-file file system.
pub struct Service {
    user: String,
    users_file: String,
    salt: Box<dyn Fn() -> [u8; 16] + Send + Sync>,
}

impl Service {
    /// The service for `user`, changing the users file at the resolved `users_file` of the
    /// serving process's namespace, with salts from `salt`.
    pub fn new(
        user: &str,
        users_file: &str,
        salt: impl Fn() -> [u8; 16] + Send + Sync + 'static,
    ) -> Service {
        Service {
            user: user.into(),
            users_file: users_file.into(),
            salt: Box::new(salt),
        }
    }

    fn answer(&self, request: &[u8]) -> String {
        let text = core::str::from_utf8(request).unwrap_or("");
        let mut lines = text.split('\n');
        let (Some(old), Some(new), Some(""), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return String::from("error: malformed request\n");
        };
        let salt = (self.salt)();
        match change_password(&self.users_file, &self.user, Some(old), new, &salt) {
            Ok(()) => String::from("ok\n"),
            Err(e) => format!("error: {e}\n"),
        }
    }
}

impl FileSystem for Service {
    /// The reply of this open's exchange.
    type Node = Arc<Lock<Vec<u8>>>;

    fn open(&self, path: &[&str], fl: u32) -> Result<Self::Node, FsError> {
        if !path.is_empty() || fl & flags::DIRECTORY != 0 {
            return Err(FsError::NotFound);
        }
        Ok(Arc::new(Lock::new(Vec::new())))
    }

    fn stat(&self, node: &Self::Node) -> Result<Meta, FsError> {
        Ok(Meta {
            kind: Kind::File,
            len: node.lock().len() as u64,
            readonly: false,
        })
    }

    fn read(&self, node: &Self::Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let reply = node.lock();
        let start = (offset as usize).min(reply.len());
        let n = buf.len().min(reply.len() - start);
        buf[..n].copy_from_slice(&reply[start..start + n]);
        Ok(n)
    }

    fn write(&self, node: &Self::Node, _: Option<u64>, data: &[u8]) -> Result<u64, FsError> {
        if data.len() > MAX_REQUEST {
            return Err(FsError::Invalid);
        }
        let answer = self.answer(data);
        *node.lock() = answer.into_bytes();
        Ok(data.len() as u64)
    }

    fn set_len(&self, node: &Self::Node, len: u64) -> Result<(), FsError> {
        if len == 0 {
            node.lock().clear();
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
        let mut v = users[1].clone();
        v.set_password("new", b"s2");
        assert!(v.check("new") && !v.check("user"));
    }
}
