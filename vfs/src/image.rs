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
//! | `/etc/public/kibi/syntax.d/*.ini` | the editor's syntax highlighting ([`SYNTAX_FILES`]) |
//! | `/usr/share/man/NAME` | the manual pages ([`man_pages`]), read-only for every user |
//! | `/home/root`, `/home/user`, `/tmp` | empty directories |
//!
//! The specs follow the namespace table of the architecture notes: root sees the whole file
//! system read-write; an ordinary user sees only their own home (read-write), `/bin` and the
//! public `/etc` read-only, and a private `/tmp`. Login adds `/dev/console`, `/dev/null` and
//! `/dev/passwd` to every session (and `/net` will come with the network).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

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
bind -r /usr /usr
ramdisk /tmp
";

/// The message of the day, in `/etc/public/motd`.
pub const MOTD: &str = "Welcome to eurali.\n";

/// The coreutils tools and what each does: the names init links into `/bin` (to the one
/// `coreutils` program), `coreutils --help` and the shell's `help`.
pub const TOOLS: &[(&str, &str)] = &[
    (
        "basename",
        "basename PATH [SUFFIX]: the last component of PATH",
    ),
    (
        "cat",
        "cat [-n] [FILE...]: concatenate files (or stdin) to stdout",
    ),
    ("clear", "clear: clear the terminal screen"),
    ("cmp", "cmp [-s] FILE1 [FILE2]: compare files byte by byte"),
    (
        "comm",
        "comm [-123] FILE1 FILE2: lines only in one, the other, or both sorted files",
    ),
    (
        "cp",
        "cp [-r] SRC... DEST: copy files (and directories with -r)",
    ),
    (
        "cut",
        "cut -b|-c|-f LIST [-d C] [-s] [--complement] [FILE...]: select parts of lines",
    ),
    (
        "date",
        "date [-u] [-d @SECONDS] [+FORMAT]: the date and time (UTC)",
    ),
    (
        "df",
        "df [PATH...]: space used and free on each mount's server, and your quota there",
    ),
    (
        "diff",
        "diff [-q] [-u | -U N] FILE1 FILE2: the lines two files differ by",
    ),
    ("dirname", "dirname PATH: PATH without its last component"),
    (
        "du",
        "du [-ahs] [PATH...]: space used under each PATH, in KiB",
    ),
    ("egrep", "egrep ...: grep -E (extended regular expressions)"),
    ("env", "env: print the environment"),
    (
        "expand",
        "expand [-t N] [FILE...]: tabs to spaces (every N columns, 8)",
    ),
    (
        "expr",
        "expr EXPR...: evaluate an expression (arithmetic, compare, STR : REGEX, length...)",
    ),
    ("false", "false: exit with status 1"),
    ("fgrep", "fgrep ...: grep -F (fixed strings)"),
    (
        "find",
        "find [PATH...] [-name P] [-type f|d] [-maxdepth N] [-exec CMD {} ;]...: walk the tree",
    ),
    (
        "fold",
        "fold [-w N] [-s] [-b] [FILE...]: wrap lines at N columns (80)",
    ),
    (
        "free",
        "free [-b|-k|-m|-h]: memory: the processes' heaps, the file servers', the machine's",
    ),
    (
        "grep",
        "grep [-EFGHLchilnoqrsvwx] [-e PAT] [-f FILE] [-m N] PAT [FILE...]: print matching lines",
    ),
    (
        "head",
        "head [-n [-]N] [-c [-]N] [FILE...]: first N lines (10) or bytes",
    ),
    (
        "hexdump",
        "hexdump [FILE...]: canonical hex+ASCII dump (as hexdump -C)",
    ),
    (
        "hostname",
        "hostname [-s]: the machine's name (/etc/hostname's first line, else eurali)",
    ),
    (
        "id",
        "id [-u|-g|-G] [-n] [USER...]: user and group numbers and names",
    ),
    (
        "less",
        "less [FILE...]: show text a screen at a time (keys: SPACE b j k g G /RE n q)",
    ),
    (
        "ls",
        "ls [-1adhlR] [PATH...]: list directories (-R recursively, -d themselves)",
    ),
    (
        "man",
        "man NAME... | man -k WORD: show manual pages, or find them by WORD",
    ),
    ("mkdir", "mkdir [-p] DIR...: make directories"),
    ("more", "more [FILE...]: the pager, as less"),
    ("mv", "mv SRC... DEST: move or rename"),
    (
        "nl",
        "nl [-b a|t|n] [-w N] [-s SEP] [FILE...]: number lines",
    ),
    (
        "od",
        "od [-A d|o|x|n] [-t c|d|o|u|x[1|2|4|8]]... [-bcdox] [-N N] [-j N] [-v] [FILE...]: dump bytes",
    ),
    (
        "paste",
        "paste [-s] [-d LIST] [FILE...]: join lines of files side by side",
    ),
    (
        "printf",
        "printf FORMAT [ARG...]: formatted output (%s %b %c %d %u %o %x %f %e %g, escapes)",
    ),
    (
        "ps",
        "ps: the processes in /proc (pid, user, time since it started, heap in KiB, command)",
    ),
    (
        "quota",
        "quota [PATH]: your use and limits of space and files (at PATH, default $HOME)",
    ),
    (
        "readlink",
        "readlink [-f|-e|-m] [-n] [-qsvz] PATH...: with -f/-e/-m the canonical path (no links exist)",
    ),
    (
        "realpath",
        "realpath [-e|-m] [-qz] PATH...: the canonical absolute path",
    ),
    ("rev", "rev [FILE...]: reverse the characters of each line"),
    (
        "rm",
        "rm [-r] [-f] PATH...: remove files (and directories with -r)",
    ),
    ("rmdir", "rmdir DIR...: remove empty directories"),
    (
        "sed",
        "sed [-nEs] [-i[SUF]] [-e SCRIPT] [-f FILE] [SCRIPT] [FILE...]: stream editor",
    ),
    (
        "seq",
        "seq [FIRST [STEP]] LAST: count from FIRST (1) to LAST",
    ),
    (
        "sha256sum",
        "sha256sum [-c] [FILE...]: print or check SHA-256 checksums",
    ),
    ("sleep", "sleep SECONDS: wait (fractions allowed)"),
    (
        "sort",
        "sort [-bfhnrsu] [-t SEP] [-k KEY]... [FILE...]: sort lines",
    ),
    (
        "stat",
        "stat [-c FORMAT] FILE...: size, type and access of files",
    ),
    ("tac", "tac [FILE...]: lines in reverse order"),
    (
        "sync",
        "sync [PATH...]: write out what file servers hold in memory (each mount's, or PATH's)",
    ),
    (
        "tail",
        "tail [-f] [-n [+]N] [-c [+]N] [FILE...]: last N lines (10) or bytes, or from the Nth",
    ),
    (
        "tar",
        "tar -c|-t|-x [-v] [-f ARCHIVE] [-C DIR] [FILE...]: ustar archives",
    ),
    ("tee", "tee [-a] FILE...: copy stdin to stdout and files"),
    ("touch", "touch FILE...: create empty files if missing"),
    (
        "tr",
        "tr [-cdst] SET1 [SET2]: translate, delete or squeeze bytes",
    ),
    ("true", "true: exit with status 0"),
    (
        "uname",
        "uname [-asnrvm]: the kernel's name, the machine's name, release, hardware",
    ),
    (
        "uniq",
        "uniq [-c] [-d] [-u] [FILE]: drop repeated adjacent lines",
    ),
    ("uptime", "uptime: time since boot"),
    (
        "wc",
        "wc [-lwmc] [FILE...]: count lines, words, characters, bytes",
    ),
    ("whoami", "whoami: the user's name"),
    (
        "xargs",
        "xargs [-0rt] [-n N] [-I STR] [CMD [ARG...]]: run CMD with words from stdin",
    ),
    ("xxd", "xxd [FILE]: hex dump in xxd's format"),
    ("yes", "yes [STRING...]: print STRING (y) forever"),
];

/// The editor's syntax highlighting files (kibi's INI format), in the image at [`SYNTAX_DIR`]:
/// `(file name, contents)`. The files stay in the editor's crate (`programs/edit/syntax.d`),
/// where kibi's own tests read them; the image takes their bytes, not the crate.
pub const SYNTAX_FILES: &[(&str, &[u8])] = &[
    (
        "c.ini",
        include_bytes!("../../programs/edit/syntax.d/c.ini"),
    ),
    (
        "ini.ini",
        include_bytes!("../../programs/edit/syntax.d/ini.ini"),
    ),
    (
        "python.ini",
        include_bytes!("../../programs/edit/syntax.d/python.ini"),
    ),
    (
        "rust.ini",
        include_bytes!("../../programs/edit/syntax.d/rust.ini"),
    ),
    (
        "sh.ini",
        include_bytes!("../../programs/edit/syntax.d/sh.ini"),
    ),
];

/// Every `tools/man/NAME.txt` and `programs/*/man/NAME.txt`, found by `vfs/build.rs` (a new page
/// needs no registration), deflated: per page its name, NUL, its length (u32 LE) and its text.
const MAN_BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/man_pages.deflate"));
/// [`MAN_BLOB`]'s size inflated.
const MAN_BLOB_SIZE: usize = include!(concat!(env!("OUT_DIR"), "/man_pages_size.rs"));

/// The manual pages, inflated ([`man_pages`]).
pub struct ManPages(Vec<u8>);

impl ManPages {
    /// Each page, `(name, text)`, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let mut rest = self.0.as_slice();
        core::iter::from_fn(move || {
            let nul = rest.iter().position(|&b| b == 0)?;
            let name = core::str::from_utf8(&rest[..nul]).ok()?;
            let len = rest.get(nul + 1..nul + 5)?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let text = rest.get(nul + 5..nul + 5 + len)?;
            rest = &rest[nul + 5 + len..];
            Some((name, text))
        })
    }
}

/// The manual pages installed in [`MAN_DIR`]; `None` if they could not be inflated (no memory).
pub fn man_pages() -> Option<ManPages> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(MAN_BLOB, MAN_BLOB_SIZE)
        .ok()
        .map(ManPages)
}

/// Where [`man_pages`] go, one file per page named as its command (`man` reads them there).
pub const MAN_DIR: &str = "/usr/share/man";

/// Where [`SYNTAX_FILES`] go (an ordinary user sees it as `/etc/kibi/syntax.d`).
pub const SYNTAX_DIR: &str = "/etc/public/kibi/syntax.d";

/// What goes into an image besides the fixed files.
pub struct Image<'a> {
    /// `(name, bytes)` of each program for `/bin`.
    pub programs: &'a [(&'a str, &'a [u8])],
    /// Every account's shell (a path), e.g. `/bin/sh`.
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
        "etc/public/kibi",
        "etc/public/kibi/syntax.d",
        "home",
        "home/root",
        "home/user",
        "tmp",
        "usr",
        "usr/share",
        "usr/share/man",
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
    for (name, bytes) in SYNTAX_FILES {
        // (SYNTAX_DIR less its leading `/`: a path under `root`.)
        write_file(&at(root, &format!("{}/{name}", &SYNTAX_DIR[1..]))?, bytes)?;
    }
    let pages = man_pages().ok_or(FsError::NoSpace)?;
    for (name, text) in pages.iter() {
        write_file(&at(root, &format!("{}/{name}", &MAN_DIR[1..]))?, text)?;
    }
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
