//! `login`: asks for a user name and password on the console, and runs the user's shell in the
//! user's own namespace; when the shell ends, asks again. Ends (status 0) when its input ends,
//! or (status 1) after [`MAX_TRIES`] wrong passwords in a row.
//!
//! A session, for an account of `/etc/users` ([`vfs::users`]):
//!
//! - the namespace is built from `/etc/ns/<user>` ([`vfs::ns`], `$user` and `$home` replaced),
//!   plus `/dev/console` (this login's own stdin and stdout), `/dev/null` and `/dev/passwd` (the
//!   password service bound to this user, [`vfs::users::Service`], which also takes `su`: see
//!   `switch`), all served by this process,
//!   and init's `/proc` (for any user but root, the part of it that user may see,
//!   `vfs::procfs`), `/net` and `/dev/rtc` where there are;
//! - the shell (a path in login's namespace, from the users file) runs in it with only `HOME`,
//!   `USER`, `PATH=/bin` and `PWD=$HOME` in its environment, on login's stdin and stdout, with
//!   its exit status and stderr passed as eurali's runtime expects (`std::process::Command`);
//! - when it ends, the servers started for the session end too ([`vfs::ns::Reclaim`]), once the
//!   shell's process has really gone ([`NAMESPACE_END_WAIT_MS`]).
//!
//! Input is read a line at a time without reading ahead, so type-ahead meant for the shell
//! stays in the console for it. At a terminal the password is read in raw mode, not echoed
//! (`std::term::read_password_bounded`). Names and passwords are bytes: a name longer than
//! [`users::MAX_NAME`] bytes, a password longer than [`users::MAX_PASSWORD`] or either not
//! UTF-8 is read to its line end (past the limit in large reads, without keeping it) and is a
//! failed login like a wrong password.
//!
//! After a failed login, the next prompt waits [`users::delay_after`] seconds: 1, 2, 4, … (at
//! most [`users::MAX_DELAY`]), counted by this terminal's failures in a row and by the user's
//! on every terminal (the keeper counts those, `vfs::users`), whichever is more; other
//! terminals' logins go on meanwhile (each is a process of its own). A successful login
//! re-hashes a password stored at an older, cheaper cost ([`users::User::needs_upgrade`]).
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::Command;

use vfs::device::{self, Console, Null};
use vfs::ns::Namespace;
use vfs::users::{self, User};

/// Wrong passwords in a row before login gives up.
pub const MAX_TRIES: u32 = 3;
/// login's status when it gave up after [`MAX_TRIES`] (init starts a new login, also on input
/// that is not a terminal, where any other end of login is the end of the input and its status
/// the last session's: EX_TEMPFAIL, which a shell's own exit would rarely be).
pub const GAVE_UP: i32 = 75;
/// The users file.
pub const USERS: &str = vfs::users::USERS;

/// Prints `prompt` and reads a line (without its line end); `None` at the end of input.
pub fn prompt(prompt: &str) -> Option<String> {
    prompt_bytes(prompt).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Prints `prompt` and reads a line of any bytes, at most [`users::MAX_NAME`] + 1 of them (a
/// longer line is read to its end and cut); `None` at the end of input.
pub fn prompt_bytes(prompt: &str) -> Option<Vec<u8>> {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    std::io::stdin()
        .read_line_bounded(users::MAX_NAME)
        .ok()
        .flatten()
}

/// The account `name` if `password` is its password: a name or password past its length limit
/// ([`users::MAX_NAME`], [`users::MAX_PASSWORD`]) or not UTF-8 never is. An unknown name costs
/// the same hashing as a known one, so that timing does not tell which names exist.
pub fn authenticate(all: &[User], name: &[u8], password: &[u8]) -> Option<User> {
    let name = std::str::from_utf8(name)
        .ok()
        .filter(|n| n.len() <= users::MAX_NAME);
    let password = &password[..password.len().min(users::MAX_PASSWORD + 1)];
    match name.and_then(|n| all.iter().find(|u| u.name == n)) {
        Some(u) if password.len() <= users::MAX_PASSWORD && u.check_bytes(password) => {
            Some(u.clone())
        }
        Some(_) => None,
        None => {
            users::check_nobody(password);
            None
        }
    }
}

/// What a failed login costs before the next prompt: the larger of this terminal's delay
/// (failures in a row here) and the user's (failures in a row on every terminal, counted by the
/// keeper), in seconds ([`users::delay_after`]).
fn failure_delay(name: &[u8], here: u32) -> u32 {
    let name = std::str::from_utf8(name)
        .ok()
        .filter(|n| n.len() <= users::MAX_NAME && !n.contains('\n'))
        .unwrap_or("*");
    let reply = users::submit(
        USERS,
        &users::Request::Failed { name },
        std::random::array::<16>,
    );
    let theirs = reply
        .strip_prefix("delay ")
        .and_then(|d| d.trim_end().parse().ok())
        .unwrap_or(users::MAX_DELAY);
    users::delay_after(here).max(theirs)
}

/// `login --help`.
const HELP: &str = "Usage: login\n\
Ask for a user name and password on the console and start that user's shell\n\
in the user's namespace. Three wrong passwords end it with status 75.\n\
  --help  show this help and exit\n\
";

/// Finished threads login keeps for the next session ([`std::thread::set_idle_limit`]; the
/// default is 2). A session starts its servers on threads of this process (console, null, the
/// password service, and the watchdog of its bounded calls), which end with it; on Merriwig a
/// thread that ends burns its stack slot for good (64 per process life), so with the default
/// login ran out of threads at about the 24th session ("resource temporarily unavailable: 64
/// threads"). Kept, they are the next session's: each costs 8 KiB of the kernel's heap while
/// it waits, in a login that has had a session.
pub const IDLE_THREADS: usize = 6;

pub fn main() {
    std::thread::set_idle_limit(IDLE_THREADS);
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let mut failures = 0;
    // The last session's status: login's own at the end of its input, so that a piped session
    // (`printf 'root\nroot\nexit 3\n' | cargo run`) ends with what it ended with.
    let mut last = 0;
    loop {
        let Some(name) = prompt_bytes("login: ") else {
            std::process::exit(last);
        };
        if name.is_empty() {
            continue;
        }
        print!("password: ");
        let password = match std::term::read_password_bounded(users::MAX_PASSWORD) {
            Ok(Some(p)) => p,
            Ok(None) => std::process::exit(last),
            // Ctrl-C: start over.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("login: cannot read the password: {e}");
                std::process::exit(1);
            }
        };
        let all = match std::fs::read_to_string(USERS) {
            Ok(t) => users::parse(&t),
            Err(e) => {
                eprintln!("login: cannot read {USERS}: {e}");
                std::process::exit(1);
            }
        };
        match authenticate(&all, &name, &password) {
            Some(user) => {
                failures = 0;
                let _ = users::submit(
                    USERS,
                    &users::Request::Passed { name: &user.name },
                    std::random::array::<16>,
                );
                if user.needs_upgrade()
                    && let Ok(password) = std::str::from_utf8(&password)
                {
                    // A hash of an older, cheaper cost: the keeper re-hashes it now.
                    let request = users::Request::Rehash {
                        name: &user.name,
                        password,
                    };
                    let reply = users::submit(USERS, &request, std::random::array::<16>);
                    if reply != "ok\n" {
                        eprintln!("login: {}", reply.trim_end());
                    }
                }
                last = session(&user);
            }
            None => {
                failures += 1;
                let delay = failure_delay(&name, failures);
                std::thread::sleep(std::time::Duration::from_secs(delay.into()));
                println!("Login incorrect");
                if failures >= MAX_TRIES {
                    println!("login: {MAX_TRIES} failed attempts, giving up");
                    std::process::exit(GAVE_UP);
                }
            }
        }
    }
}

/// The account that sees the whole process table.
pub const ROOT: &str = "root";

/// The process table as `user` sees it (`vfs::procfs`, "Whose entries"): their own entries
/// only, and what they register is theirs.
fn proc_view(user: &str) -> Result<libeurali::Handle, vfs::proto::FsError> {
    let path = format!("{}/{}/{user}", std::rt::PROC_PATH, vfs::procfs::AS);
    vfs::client::serve_subtree(&path, true)
}

/// Where the network server is mounted (by init).
pub const NET: &str = "/net";

/// Where init mounts the disk's file system.
pub const DISK: &str = "/disk";

/// The user's namespace: their spec, and the session's devices; with the probe of the session's
/// [`users::SERVICE_PATH`] server (see [`NAMESPACE_END_WAIT_MS`]).
fn namespace(user: &User) -> Result<(Namespace, vfs::server::Probe), String> {
    let path = format!("/etc/ns/{}", user.name);
    let spec = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let items =
        vfs::ns::parse(&spec, &user.name, &user.home).map_err(|e| format!("{path}: {e}"))?;
    // root's sessions are the system's (the servers' reserve); anyone else's are charged to
    // their account on the servers their binds reach (a share of the sessions, quotas).
    let built = match user.name.as_str() {
        "root" => vfs::ns::from_spec(&items),
        name => vfs::ns::from_spec_as(&items, name),
    };
    let mut ns = built.map_err(|(p, e)| format!("{path}: {p}: {e}"))?;
    let console = Console::new(std::rt::stdin_handle(), std::rt::stdout_handle());
    let dev = |what: &str, h: Result<libeurali::Handle, libeurali::Error>| {
        h.map_err(|e| format!("cannot start {what}: {e}"))
    };
    ns.add("/dev/console", dev("/dev/console", device::spawn(console))?);
    ns.add("/dev/null", dev("/dev/null", device::spawn(Null))?);
    // Shared with everyone where init has them: the process table (what `ps` reads), the
    // network, the wall clock.
    for path in [std::rt::PROC_PATH, NET, libeurali::proto::rtc::PATH] {
        if let Ok((h, n)) = libeurali::open(path)
            && n == path.len()
        {
            if path == std::rt::PROC_PATH && user.name != ROOT {
                // Never the whole table: without their view the user's session has none.
                match proc_view(&user.name) {
                    Ok(view) => ns.add(path, view),
                    Err(e) => eprintln!("login: {path}: {e} (no process table in this session)"),
                }
            } else {
                ns.add(path, h);
            }
        }
    }
    // For root's sessions, the disk (init's /disk, `fatfs`), whole, and what init keeps on it
    // (`/etc`, `/home`: root's spec mounts only the root ramdisk, which they cover in init's
    // namespace), and the real kernel's program server at /bin — each where init has it as a
    // mount of its own and the spec did not mount it (a spec kept on a disk may come from a
    // system that had no /bin mount).
    if user.name == ROOT {
        for path in [DISK, "/etc", "/etc/public", "/home", "/bin"] {
            if ns.paths().any(|p| p == path) {
                continue;
            }
            if let Ok((h, n)) = libeurali::open(path)
                && n == path.len()
            {
                ns.add(path, h);
            }
        }
    }
    let service = users::Service::session(&user.name, USERS, std::random::array::<16>)
        .with_switch(Box::new(switch));
    let (service, probe) = vfs::server::start_probed(service)
        .map_err(|e| format!("cannot start {}: {e}", users::SERVICE_PATH))?;
    ns.add(users::SERVICE_PATH, service);
    Ok((ns, probe))
}

/// How long, at most, a session's end waits for the shell's process to be gone before it ends
/// the session's servers, in milliseconds. A process of the session that lives on (a background
/// program) keeps the namespace; its servers are then left running, as before.
///
/// Why wait: the shell reports its status before its process ends (its other threads end
/// after it, and only then does the kernel drop its namespace). Closing the
/// [`vfs::ns::Reclaim`] spares at once leaves at least three references on each mount, so the
/// close wakes nobody (ABI §3.5); when the namespace goes a moment later, every server of the
/// session stays blocked in `receive` for ever on a rendezvous that only its own handle
/// references. On Merriwig each such thread keeps its 8 KiB kernel stack in the kernel's 1 MiB
/// heap: about 50 KiB per login and logout (this process's console, null and password
/// servers, init's `/proc` view and the ramdisk's bind sessions), and the kernel panicked on
/// the 12th login. So the session's end polls the password service's [`vfs::server::Probe`]
/// (no spare of that mount is kept) every 10 ms until the server's own handle is the last
/// reference, which also ends that server, and only then closes the spares.
pub const NAMESPACE_END_WAIT_MS: u64 = 3000;

/// Polls `probe` until the session's namespace is gone (true) or [`NAMESPACE_END_WAIT_MS`] passed.
fn wait_for_namespace_end(probe: &mut vfs::server::Probe) -> bool {
    let start = std::time::Instant::now();
    loop {
        if probe.unreferenced() {
            return true;
        }
        if start.elapsed() >= std::time::Duration::from_millis(NAMESPACE_END_WAIT_MS) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `su` (a [`users::Request::Switch`] on the session service of `me`'s session): if `password`
/// is `target`'s (root needs none), runs `target`'s shell (with `command` as its `-c`) in
/// `target`'s own namespace on login's console, as a login would (`run_shell`, `run_script`),
/// waits for it and answers `status N`. A wrong password costs the delay a failed login costs
/// (counted by the keeper for `target`, as at `login:`) and answers `error: authentication
/// failure`. Runs on a session thread of the service, in login's process: the caller's `su`
/// waits in its read meanwhile, and its shell goes on when this ends.
fn switch(me: &str, target: &str, password: &str, command: Option<&str>) -> String {
    let all = match std::fs::read_to_string(USERS) {
        Ok(t) => users::parse(&t),
        Err(e) => return format!("error: cannot read {USERS}: {e}\n"),
    };
    let user = if me == ROOT {
        match all.iter().find(|u| u.name == target) {
            Some(u) => u.clone(),
            None => return format!("error: user '{target}' does not exist\n"),
        }
    } else {
        match authenticate(&all, target.as_bytes(), password.as_bytes()) {
            Some(u) => {
                let _ = users::submit(
                    USERS,
                    &users::Request::Passed { name: &u.name },
                    std::random::array::<16>,
                );
                u
            }
            None => {
                let delay = failure_delay(target.as_bytes(), 1);
                std::thread::sleep(std::time::Duration::from_secs(delay.into()));
                return String::from("error: authentication failure\n");
            }
        }
    };
    let status = match command {
        Some(c) => run_script(&user, c),
        None => run_shell(&user, &[]),
    };
    format!("status {status}\n")
}

/// Runs the user's shell in their namespace, waits for it, and returns its exit status.
fn session(user: &User) -> i32 {
    if let Ok(motd) = std::fs::read_to_string("/etc/public/motd") {
        print!("{motd}");
    }
    run_shell(user, &[])
}

/// Runs `user`'s shell with `args` in the user's namespace, as a session does, and returns its
/// exit status (125 if it could not start). What init's `-c` mode uses: no password is asked.
pub fn run_shell(user: &User, args: &[String]) -> i32 {
    run_shell_with(user, args, Vec::new())
}

/// Scripts longer than this do not go to the shell as `-c SCRIPT` but as a file (see
/// [`run_script`]): exec's arguments and environment share one page (ABI §4.2, at most
/// [`libeurali::abi::layout::ARGS_ENV_LIMIT`] bytes), and the environment needs its part.
pub const LONG_SCRIPT: usize = 2048;

/// Where the shell finds a script too long for its arguments: a read-only file of its
/// namespace, served by this process.
pub const SCRIPT_PATH: &str = "/dev/script";

/// Runs `script` in `user`'s shell as `sh -c SCRIPT` would, and returns its exit status. A
/// script longer than [`LONG_SCRIPT`] bytes is served as the read-only file [`SCRIPT_PATH`]
/// of the session's namespace, and the shell runs `sh -c '. /dev/script'`: the same commands in
/// the same shell (`$0` is `sh` either way).
pub fn run_script(user: &User, script: &str) -> i32 {
    if script.len() <= LONG_SCRIPT {
        return run_shell(user, &["-c".to_string(), script.to_string()]);
    }
    let file = match vfs::blob::start(script.as_bytes().to_vec()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("login: cannot serve the script for {}: {e}", user.name);
            return 125;
        }
    };
    run_shell_with(
        user,
        &["-c".to_string(), format!(". {SCRIPT_PATH}")],
        vec![(SCRIPT_PATH, file)],
    )
}

/// [`run_shell`], with `extra` mounted in the session's namespace besides the usual.
fn run_shell_with(user: &User, args: &[String], extra: Vec<(&str, libeurali::Handle)>) -> i32 {
    let (mut ns, mut probe) = match namespace(user) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("login: no session for {}: {e}", user.name);
            return 125;
        }
    };
    for (path, h) in extra {
        ns.add(path, h);
    }
    let reclaim = ns.reclaim_except(users::SERVICE_PATH);
    let status = Command::new(&user.shell)
        .args(args)
        .namespace(ns)
        .env_clear()
        // The system's own knobs (EURALI_NOPOOL, EURALI_NOFORK: see docs/design.md) reach
        // every session.
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("EURALI_")))
        .env("HOME", &user.home)
        .env("USER", &user.name)
        .env("PATH", "/bin")
        .current_dir(&user.home)
        .status();
    // Also when exec failed: the kernel dropped the namespace's handles then (ABI §9.13).
    wait_for_namespace_end(&mut probe);
    drop(reclaim);
    match status {
        Ok(s) => s.code().unwrap_or(125),
        Err(e) => {
            eprintln!("login: cannot start the shell of {}: {e}", user.name);
            125
        }
    }
}
