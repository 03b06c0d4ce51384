//! The users file (`/etc/users`): one user per line,
//!
//! ```text
//! name:salt-hex:hash-hex:home:shell
//! ```
//!
//! `hash` = PBKDF2-HMAC-SHA256(password, salt, [`ROUNDS`]), 32 bytes. PBKDF2 with SHA-256 is a
//! vetted RustCrypto pair that builds no_std without floats and adds little code; argon2 would
//! resist GPUs better but needs memory the 4 MiB heap cannot spare per login. Salts come from
//! the caller (login and passwd mix the clock and the TSC: guessable by someone who knows when a
//! password was set; there is no better entropy source on Merriwig yet).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

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
