//! Who and where: whoami, hostname.

use crate::Io;
use crate::args::parse;
use crate::output::write_error;

fn print(io: &mut Io, tool: &str, text: &str) -> i32 {
    match writeln!(io.stdout, "{text}") {
        Ok(()) => 0,
        Err(e) => write_error(io.stderr, tool, &e),
    }
}

/// `whoami`: the command's `USER` (eurali's users have names, not numbers).
#[inline(never)]
pub fn whoami(args: &[String], io: &mut Io) -> i32 {
    if let Some(a) = args.first() {
        let _ = writeln!(io.stderr, "whoami: extra operand '{a}'");
        return 1;
    }
    match io.user() {
        Some(u) => print(io, "whoami", &u),
        None => {
            let _ = writeln!(io.stderr, "whoami: no user name (USER is not set)");
            1
        }
    }
}

/// Where the machine's name is kept; without it the machine is `eurali` (the kernel has no
/// host name of its own).
const HOSTNAME_FILE: &str = "/etc/hostname";

/// `hostname [-s]`: the machine's name (`-s`: up to the first dot). Setting it is refused.
#[inline(never)]
pub fn hostname(args: &[String], io: &mut Io) -> i32 {
    let p = match parse(args, "s", "") {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(io.stderr, "hostname: {m}");
            return 1;
        }
    };
    if !p.operands.is_empty() {
        let _ = writeln!(
            io.stderr,
            "hostname: the name is set by editing {HOSTNAME_FILE}"
        );
        return 1;
    }
    let name = host_name();
    let name = if p.has('s') {
        name.split('.').next().unwrap_or_default().to_string()
    } else {
        name
    };
    print(io, "hostname", &name)
}

/// The machine's name: /etc/hostname's first line, else `eurali` (also `uname -n`).
pub fn host_name() -> String {
    let text = std::fs::read_to_string(HOSTNAME_FILE).unwrap_or_default();
    match text.lines().next().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "eurali".to_string(),
    }
}

/// `name`'s user number and name, from the session's password service (`lookup`, see
/// `vfs::users`), or from the users file where there is no service (a namespace without
/// logins). `Err(None)`: no such user; `Err(Some(message))`: nobody could say.
fn lookup(name: &str) -> Result<(u32, String), Option<String>> {
    use vfs::users::{self, Request};
    let request = Request::Lookup { name }.encode();
    let mut tries = 0;
    let reply = loop {
        match users::exchange(users::SERVICE_PATH, &request) {
            Ok(r) if r == users::BUSY && tries < 50 => {}
            Err(vfs::proto::FsError::Busy) if tries < 50 => {}
            Err(vfs::proto::FsError::NotFound) => {
                let text = std::fs::read_to_string(users::USERS).map_err(|e| {
                    Some(format!(
                        "no password service at {} and {}: {e}",
                        users::SERVICE_PATH,
                        users::USERS
                    ))
                })?;
                let all = users::parse(&text);
                let i = all.iter().position(|u| u.name == name).ok_or(None)?;
                return Ok((users::uids(&all)[i], name.to_string()));
            }
            Err(e) => return Err(Some(format!("{}: {e}", users::SERVICE_PATH))),
            Ok(r) => break r,
        }
        tries += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    if let Some(entry) = reply.strip_prefix("user ") {
        let mut f = entry.trim_end().split(':');
        if let (Some(n), Some(uid)) = (f.next(), f.next().and_then(|u| u.parse().ok())) {
            return Ok((uid, n.to_string()));
        }
    }
    match reply.trim_end().strip_prefix("error: ") {
        Some("no such user") => Err(None),
        Some(m) => Err(Some(m.to_string())),
        None => Err(Some(format!("unexpected reply {:?}", reply.trim_end()))),
    }
}

pub(crate) const ID_HELP: &str = "\
Usage: id [-u|-g|-G] [-n] [-r] [USER...]
Print the user and group numbers and names of USER (default: you).
eurali has no groups: each user's group is its own, numbered as the user.
  -u      the user number only     -g  the group number only
  -G      all group numbers        -n  names instead of numbers (with -u/-g/-G)
  -r      real numbers (the same: there is no setuid)
  --help  show this help and exit
";

/// `id [-ugGnr] [USER...]`: what the system knows of a user's numbers (eurali has no groups:
/// a user's group is the user's own, numbered and named as the user).
#[inline(never)]
pub fn id(args: &[String], io: &mut Io) -> i32 {
    if args.first().is_some_and(|a| a == "--help") {
        return print(io, "id", ID_HELP.trim_end());
    }
    let p = match parse(args, "ugGnr", "") {
        Ok(p) => p,
        Err(m) => {
            let _ = writeln!(io.stderr, "id: {m}\nTry 'id --help' for more information.");
            return 1;
        }
    };
    let only = ['u', 'g', 'G'].iter().filter(|c| p.has(**c)).count();
    if only > 1 {
        let _ = writeln!(
            io.stderr,
            "id: cannot print \"only\" of more than one choice"
        );
        return 1;
    }
    if only == 0 && (p.has('n') || p.has('r')) {
        let _ = writeln!(
            io.stderr,
            "id: cannot print only names or real IDs in default format"
        );
        return 1;
    }
    let names = if p.operands.is_empty() {
        match io.user() {
            Some(u) => vec![u],
            None => {
                let _ = writeln!(io.stderr, "id: cannot tell who you are (USER is not set)");
                return 1;
            }
        }
    } else {
        p.operands.clone()
    };
    let mut status = 0;
    for name in &names {
        let (uid, n) = match lookup(name) {
            Ok(x) => x,
            Err(None) => {
                let _ = writeln!(io.stderr, "id: '{name}': no such user");
                status = 1;
                continue;
            }
            Err(Some(m)) => {
                let _ = writeln!(io.stderr, "id: '{name}': {m}");
                status = 1;
                continue;
            }
        };
        let line = match (only, p.has('n')) {
            (0, _) => format!("uid={uid}({n}) gid={uid}({n}) groups={uid}({n})"),
            (_, true) => n,
            (_, false) => uid.to_string(),
        };
        if print(io, "id", &line) != 0 {
            return 1;
        }
    }
    status
}

/// `name`'s user number, if the system knows it.
pub fn uid_of(name: &str) -> Option<u32> {
    lookup(name).ok().map(|(uid, _)| uid)
}
