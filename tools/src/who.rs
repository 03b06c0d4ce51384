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
    let user = match io.env {
        Some(env) => env
            .iter()
            .rev()
            .find(|(k, _)| k == "USER")
            .map(|(_, v)| v.clone()),
        None => std::env::var("USER").ok(),
    };
    match user.filter(|u| !u.is_empty()) {
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
