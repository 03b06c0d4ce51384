//! The system image: what a fresh root file system holds at boot, and the two default accounts.
//!
//! [`populate`] fills the (empty) file server mounted at a path of the caller's namespace:
//!
//! | path | contents |
//! |---|---|
//! | `/bin/<name>` | the programs given (ELFs on the real kernel, program descriptors on the stub) |
//! | `/etc/users` | `root` (password `root`, home `/home/root`) and `user` (password `user`, home `/home/user`) |
//! | `/etc/ns/root`, `/etc/ns/user` | their namespace specs ([`ROOT_SPEC`], [`USER_SPEC`]) |
//! | `/etc/public/motd` | the public part of `/etc`, what an ordinary user sees as `/etc` |
//! | `/home/root`, `/home/user`, `/tmp` | empty directories |
//!
//! The specs follow the namespace table of the architecture notes: root sees the whole file
//! system read-write; an ordinary user sees only their own home (read-write), `/bin` and the
//! public `/etc` read-only, and a private `/tmp`. Login adds `/dev/console`, `/dev/null` and
//! `/dev/passwd` to every session (and `/net` will come with the network).

use alloc::format;
use alloc::string::String;

use crate::client;
use crate::path::resolve;
use crate::proto::{FsError, flags};

/// root's namespace: the whole root file system, read-write.
pub const ROOT_SPEC: &str = "\
# root: the whole root file system, read-write (login adds /dev)
mount / /
";

/// An ordinary user's namespace.
pub const USER_SPEC: &str = "\
# an ordinary user: their own home read-write, /bin and the public part of /etc
# read-only, a private /tmp (login adds /dev)
bind $home $home
bind -r /bin /bin
bind -r /etc/public /etc
ramdisk /tmp
";

/// The message of the day, in `/etc/public/motd`.
pub const MOTD: &str = "Welcome to eurali.\n";

/// What goes into an image besides the fixed files.
pub struct Image<'a> {
    /// `(name, bytes)` of each program for `/bin`.
    pub programs: &'a [(&'a str, &'a [u8])],
    /// Every account's shell (a path), e.g. `/bin/shell`.
    pub shell: &'a str,
}

fn at(root: &str, p: &str) -> Result<String, FsError> {
    resolve(root, p).map_err(|_| FsError::Invalid)
}

fn mkdir(path: &str) -> Result<(), FsError> {
    match client::mkdir(path) {
        Err(FsError::Exists) => Ok(()),
        r => r,
    }
}

/// Writes `data` to the resolved `path`, replacing what was there.
pub fn write_file(path: &str, data: &[u8]) -> Result<(), FsError> {
    let (s, _) = client::open(path, flags::WRITE | flags::CREATE | flags::TRUNCATE)?;
    let mut done = 0;
    while done < data.len() {
        let (n, _) = s.write_at(done as u64, &data[done..])?;
        if n == 0 {
            return Err(FsError::NoSpace);
        }
        done += n;
    }
    Ok(())
}

/// The image's two accounts, their password their name, as `(name, salt, PBKDF2 hash)` in hex:
/// hashed once here rather than at every boot (4096 rounds of HMAC-SHA256 per account took
/// about a fifth of a second each on QEMU's emulated CPU, the longest step of a boot). These
/// passwords are public (README), so a salt known in advance hides nothing a fresh one would;
/// `passwd` gives a changed password a fresh salt. A test checks each hash against its password.
pub const DEFAULT_ACCOUNTS: [(&str, &str, &str); 2] = [
    (
        "root",
        "657572616c693a64656661756c743a72",
        "74d5ffe3166c0fabd7f3df503d89245144523ef31ae4dd776bf6822c46f541ef",
    ),
    (
        "user",
        "657572616c693a64656661756c743a75",
        "9e499350d868ad516809b50b4e00e982d76bc77521833cd773088727be45e23b",
    ),
];

/// Fills the file server mounted at `root` (see the module doc) with the image's accounts
/// ([`DEFAULT_ACCOUNTS`]). Existing directories are kept, files replaced.
pub fn populate(root: &str, image: &Image<'_>) -> Result<(), FsError> {
    for d in [
        "bin",
        "etc",
        "etc/ns",
        "etc/public",
        "home",
        "home/root",
        "home/user",
        "tmp",
    ] {
        mkdir(&at(root, d)?)?;
    }
    for (name, bytes) in image.programs {
        write_file(&at(root, &format!("bin/{name}"))?, bytes)?;
    }
    let text: String = DEFAULT_ACCOUNTS
        .iter()
        .map(|(name, salt, hash)| format!("{name}:{salt}:{hash}:/home/{name}:{}\n", image.shell))
        .collect();
    write_file(&at(root, "etc/users")?, text.as_bytes())?;
    write_file(&at(root, "etc/ns/root")?, ROOT_SPEC.as_bytes())?;
    write_file(&at(root, "etc/ns/user")?, USER_SPEC.as_bytes())?;
    write_file(&at(root, "etc/public/motd")?, MOTD.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod accounts {
    use super::DEFAULT_ACCOUNTS;

    #[test]
    fn each_default_account_takes_its_own_name_as_password() {
        let text: alloc::string::String = DEFAULT_ACCOUNTS
            .iter()
            .map(|(n, s, h)| alloc::format!("{n}:{s}:{h}:/home/{n}:/bin/sh\n"))
            .collect();
        let users = crate::users::parse(&text);
        assert_eq!(users.len(), 2);
        for u in &users {
            assert!(u.check(&u.name), "{} does not take its name", u.name);
            assert!(!u.check("wrong"));
        }
    }
}
