//! `init`: the first program. It starts the root file system (a ramdisk, served by a thread of
//! init), fills it with the system image ([`vfs::image`]: /bin, /etc with the `root` and `user`
//! accounts and their namespaces, homes, /tmp), then runs `login` on the console and starts it
//! again after three failed logins; the system ends when login ends at the end of the console's
//! input.
//!
//! ```text
//! init [-c COMMANDS | --script FILE] [--user NAME]
//! ```
//! With `-c`, no login: COMMANDS run in NAME's shell (default `root`), in NAME's namespace and
//! home, and init exits with their status (what `cargo run -- -c '…'` does). `--script FILE`
//! takes COMMANDS from FILE (any bytes; not UTF-8 is replaced): how the boot loader passes
//! commands too long for exec's argument page, in a `.`-named file of `/boot` (which init
//! does not install in /bin). A long script reaches the shell as a file too
//! ([`session::run_script`]).
//!
//! The programs for /bin come from `/boot`, a read-only file server the boot loader mounts for
//! init (the stub serves the registered programs there). The coreutils binary goes into /bin
//! once per tool name (`vfs::image::TOOLS`), the editor as `edit` and `kibi`; the system image
//! (`vfs::image::populate`) adds the rest, the editor's syntax files in
//! `/etc/public/kibi/syntax.d`.
//!
//! On the real kernel (recognised by what it gives init: an empty namespace and the
//! VIDEO_MEMORY message on handle 1) init boots the machine instead: [`metal`].

use std::io::Write;

pub mod binfs;
pub mod image;
pub mod metal;
mod state;

/// Size limit of the root ramdisk.
pub const ROOT_SIZE: usize = 64 << 20;

/// Where the boot loader puts the programs.
pub const BOOT: &str = "/boot";

fn say(msg: &str) {
    eprintln!("init: {msg}");
}

/// The programs for /bin: every file of /boot, and the coreutils once per tool.
fn programs() -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(BOOT).map_err(|e| format!("{BOOT}: {e}"))?;
    for e in rd {
        let e = e.map_err(|e| format!("{BOOT}: {e}"))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            // Not a program: the boot loader's `--script` file, say.
            continue;
        }
        let bytes = std::fs::read(e.path()).map_err(|e| format!("{BOOT}/{name}: {e}"))?;
        if name == "coreutils" {
            for (tool, _) in vfs::image::TOOLS {
                // The shell's own `echo` program stays if /boot has one.
                if *tool != "echo" {
                    out.push((tool.to_string(), bytes.clone()));
                }
            }
        }
        if name == "passwd" {
            // Root's account tools and `su` are the same program (`useradd`, `userdel`, `su`).
            for alias in ["useradd", "userdel", "su"] {
                out.push((alias.to_string(), bytes.clone()));
            }
        }
        if name == "edit" {
            // kibi's own name for the editor.
            out.push(("kibi".to_string(), bytes.clone()));
        }
        out.push((name, bytes));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// Starts the process table server and mounts it at `/proc` (see `vfs::procfs`); init is pid 1.
/// A user may have at most `user_limit` processes, and all users but root together at most
/// `users_limit`, if given; `machine` is what is known of the machine's memory (`/proc/memory`).
pub(crate) fn proc_fs(
    user_limit: usize,
    users_limit: Option<usize>,
    machine: Option<&'static str>,
) -> Result<(), String> {
    let (server_end, client_end) =
        libeurali::new_rendezvous().map_err(|e| format!("rendezvous: {e}"))?;
    fn clock() -> u64 {
        std::time::uptime().as_micros() as u64
    }
    vfs::server::Server::new({
        let fs = vfs::procfs::ProcFs::new(1, clock).with_user_limit(user_limit);
        let fs = match machine {
            Some(m) => fs.with_machine(m),
            None => fs,
        };
        match users_limit {
            Some(n) => fs.with_users_limit(n),
            None => fs,
        }
    })
    .spawn(server_end)
    .map_err(|e| format!("/proc: {e}"))?;
    libeurali::mount(std::rt::PROC_PATH, client_end)
        .map_err(|(e, _)| format!("mount /proc: {e}"))?;
    // init runs as root (login sets USER for each session it starts).
    // SAFETY: init is single-threaded here (std 2024's signature).
    unsafe { std::env::set_var("USER", "root") };
    // The real kernel starts init without arguments: name it all the same.
    std::rt::register_process_as("init");
    Ok(())
}

/// Starts the keeper of the users file, its one writer (`vfs::users`), at
/// `vfs::users::KEEPER_PATH` in init's namespace: logins inherit it, sessions never see it.
/// `kept`: whether the file is on a disk ([`state`]); if not, the keeper's answers to changes
/// say that they last until reboot.
pub(crate) fn users_keeper(kept: bool) {
    let keeper = vfs::users::Service::keeper(vfs::users::USERS, std::random::array::<16>)
        .until_reboot(!kept);
    let mounted = vfs::server::start(keeper)
        .map_err(|e| e.to_string())
        .and_then(|h| libeurali::mount(vfs::users::KEEPER_PATH, h).map_err(|(e, _)| e.to_string()));
    if let Err(e) = mounted {
        // Not fatal: each login then changes the file itself.
        say(&format!("no keeper of {}: {e}", vfs::users::USERS));
    }
}

/// Starts the ramdisk, mounts it at `/` and fills it.
fn root_fs() -> Result<usize, String> {
    let (server_end, client_end) =
        libeurali::new_rendezvous().map_err(|e| format!("rendezvous: {e}"))?;
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(ROOT_SIZE))
        .spawn(server_end)
        .map_err(|e| format!("ramdisk: {e}"))?;
    libeurali::mount("/", client_end).map_err(|(e, _)| format!("mount /: {e}"))?;
    let progs = programs()?;
    let list: Vec<(&str, &[u8])> = progs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let image = vfs::image::Image {
        programs: &list,
        shell: "/bin/sh",
    };
    vfs::image::populate("/", &image).map_err(|e| format!("filling /: {e}"))?;
    Ok(list.len())
}

/// Where the network server is mounted, for init and every session.
pub const NET: &str = "/net";

/// Starts the network: if the boot loader gave init a `/dev/nic`, `/bin/tcp` on it, serving
/// `/net` (mounted here, so logins hand it on). `NET_CONFIG` from the boot loader holds tcp's
/// arguments (default: DHCP). A network that does not start is reported, not fatal.
pub(crate) fn network() {
    match libeurali::open("/dev/nic") {
        Ok((_, n)) if n == "/dev/nic".len() => {}
        _ => return,
    }
    let (server_end, client_end) = match libeurali::new_rendezvous() {
        Ok(p) => p,
        Err(e) => return say(&format!("network: {e}")),
    };
    let args: Vec<String> = std::env::var("NET_CONFIG")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    // tcp serves on `server_end`; init keeps it and starts tcp again on the same rendezvous
    // when it ends, so that `/net` (mounted once, copied into every session) goes on working.
    let first = match start_tcp(&server_end, &args) {
        Ok(child) => child,
        Err(e) => return say(&format!("network: cannot start /bin/tcp: {e}")),
    };
    if let Err((e, _)) = libeurali::mount(NET, client_end) {
        say(&format!("network: mount {NET}: {e}"));
    }
    let supervise = std::thread::Builder::new()
        .name("tcp-supervisor".into())
        .spawn(move || supervise_tcp(first, server_end, args));
    if let Err(e) = supervise {
        say(&format!("network: tcp will not be restarted: {e}"));
    }
}

fn start_tcp(
    server_end: &libeurali::Handle,
    args: &[String],
) -> std::io::Result<std::process::Child> {
    std::process::Command::new("/bin/tcp")
        .args(args)
        .stdin(server_end.try_clone()?)
        .spawn()
}

/// Restarts within this window count against [`RESTARTS`].
const RESTART_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// A server init owns (tcp, fatfs) is started again at most this many times within
/// [`RESTART_WINDOW`] (one that cannot run, say for a bad `NET_CONFIG`, is not restarted
/// forever).
const RESTARTS: usize = 5;
/// How long init waits before it starts a server again, by the number of restarts already
/// within [`RESTART_WINDOW`]: the first at once, later ones after a growing pause, so that a
/// cause that passes in a moment (a device still busy) does not use up every restart within
/// milliseconds. Clients wait for the new server meanwhile (a request waits for a busy mount by
/// time).
const RESTART_BACKOFF_MS: [u64; RESTARTS] = [0, 100, 200, 400, 800];

/// Waits for `child` (init's `/bin/PROGRAM`, serving `what`) to end and starts it again with
/// `start` (what init owns, it restarts), at most [`RESTARTS`] times a minute; then, or when a
/// start fails, `give_up` answers its clients for good.
fn supervise(
    what: &str,
    program: &str,
    mut child: std::process::Child,
    mut start: impl FnMut() -> Result<std::process::Child, String>,
    give_up: impl FnOnce(),
) {
    let mut recent: Vec<std::time::Instant> = Vec::new();
    loop {
        let status = child.wait();
        let now = std::time::Instant::now();
        recent.retain(|t| now.duration_since(*t) < RESTART_WINDOW);
        let why = match status {
            Ok(s) => format!("{s}"),
            Err(e) => format!("{e}"),
        };
        if recent.len() >= RESTARTS {
            say(&format!(
                "{what}: {program} ended ({why}) {RESTARTS} times within a minute; not starting it again"
            ));
            return give_up();
        }
        say(&format!(
            "{what}: {program} ended ({why}); starting it again"
        ));
        std::thread::sleep(std::time::Duration::from_millis(
            RESTART_BACKOFF_MS[recent.len()],
        ));
        recent.push(now);
        child = match start() {
            Ok(c) => c,
            Err(e) => {
                say(&format!("{what}: cannot start /bin/{program} again: {e}"));
                return give_up();
            }
        };
    }
}

/// tcp's [`supervise`]: a tcp that ended takes its connections with it, but later opens of
/// `/net` reach the new one.
fn supervise_tcp(child: std::process::Child, server_end: libeurali::Handle, args: Vec<String>) {
    supervise(
        "network",
        "tcp",
        child,
        || start_tcp(&server_end, &args).map_err(|e| e.to_string()),
        || refuse_net(&server_end),
    );
}

/// With no tcp any more, init answers `/net` itself: every request gets "the network server
/// ended" (a reset connection to std's `net`), so that no client waits for ever on a `/net`
/// nobody serves — a connect whose request waited in `/net` when tcp ended for the last time
/// included.
fn refuse_net(server_end: &libeurali::Handle) {
    use libeurali::proto::net;
    net::serve_mount(
        server_end,
        || false,
        |_| {
            net::Turn::Reply(net::error_reply(net::NetError::Kernel(
                libeurali::Error::Closed,
            )))
        },
    );
}

/// Where init mounts the disk's file system.
pub const DISK: &str = "/disk";

/// Mounts the disk: if init has a block device at `/dev/disk0` (the ATA driver's on the real
/// kernel, `EURALI_DISK`'s image on the stub), `/bin/fatfs` serves its FAT volume at [`DISK`],
/// which root's sessions get (login), and the accounts and homes are kept there ([`state`]).
/// A disk fatfs refuses (not FAT, damaged) is reported with fatfs's own message and left
/// unmounted; the system runs on without it. Whether `/etc` and `/home` are on the disk.
pub(crate) fn disk() -> bool {
    use libeurali::proto::block;
    match libeurali::open(block::PATH) {
        Ok((_, n)) if n == block::PATH.len() => {}
        _ => return false,
    }
    let fail = |msg: String| {
        say(&msg);
        false
    };
    let (serve, mount) = match libeurali::new_rendezvous() {
        Ok(p) => p,
        Err(e) => return fail(format!("disk: {e}")),
    };
    let child = match start_fatfs(&serve) {
        Ok(c) => c,
        Err(e) => return fail(format!("disk: {e}")),
    };
    if let Err((e, _)) = libeurali::mount(DISK, mount) {
        return fail(format!("disk: mount {DISK}: {e}"));
    }
    say(&format!("disk: {} mounted at {DISK}", block::PATH));
    let kept = state::keep_on_disk();
    let supervise = std::thread::Builder::new()
        .name("disk-supervisor".into())
        .spawn(move || supervise_fatfs(child, serve, kept));
    if let Err(e) = supervise {
        say(&format!("disk: fatfs will not be restarted: {e}"));
    }
    kept
}

/// Starts `/bin/fatfs` on the disk, serving on `serve` (init keeps it, so that a fatfs started
/// again serves the same `/disk`), and waits for its line saying it serves.
fn start_fatfs(serve: &libeurali::Handle) -> Result<std::process::Child, String> {
    use libeurali::proto::block;
    let mut child = std::process::Command::new("/bin/fatfs")
        .args(["--serve", block::PATH])
        .killable(false)
        .stdin(serve.try_clone().map_err(|e| e.to_string())?)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start /bin/fatfs: {e}"))?;
    // fatfs says one line once it serves; a volume it refuses ends it without one.
    if !first_line(child.stdout.take()) {
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        return Err(format!(
            "{} not mounted at {DISK} (fatfs {status})",
            block::PATH
        ));
    }
    Ok(child)
}

/// fatfs's [`supervise`]. fatfs ends only when it fails (it is not killable, and serves for
/// the machine's life; `exit` ends all of a process's threads, so none of the old one writes
/// on): the new one replays the journal at its mount, so the disk is as the last completed
/// write-out left it, and serves the same `/disk`, and with it init's views at `/etc` and
/// `/home` ([`state`]). Files open at the failure and ordinary users' binds of their homes were
/// sessions of the old one: they fail from then on (the user logs in again).
fn supervise_fatfs(child: std::process::Child, serve: libeurali::Handle, kept: bool) {
    supervise(
        "disk",
        "fatfs",
        child,
        || {
            let child = start_fatfs(&serve)?;
            say(&format!("disk: fatfs serves {DISK} again"));
            Ok(child)
        },
        || state::refuse(&serve, kept),
    );
}

/// Whether a line came on `out` (a server's "serving" line) before its end.
fn first_line(out: Option<std::process::ChildStdout>) -> bool {
    use std::io::Read;
    let Some(mut out) = out else {
        return false;
    };
    let mut b = [0u8; 1];
    loop {
        match out.read(&mut b) {
            Ok(1) if b[0] == b'\n' => return true,
            Ok(1) => {}
            _ => return false,
        }
    }
}

/// Writes out the disk's cache (`sync /disk`) before the system ends: the stub's shutdown ends
/// every process, fatfs too, without its unmount.
pub(crate) fn sync_disk() {
    match libeurali::open(DISK) {
        Ok((_, n)) if n == DISK.len() => {}
        _ => return,
    }
    if let Err(e) = vfs::client::sync(DISK) {
        say(&format!("disk: writing out {DISK} failed: {e}"));
    }
}

/// Finished threads init keeps for later (std's pool; the default is 2). init serves for the
/// machine's life: the users keeper's and the file servers' workers and the watchdog of its
/// bounded calls finish and start again around every login, and a thread that ends gives its
/// frames back to the kernel (docs/design.md, "Frames"). With 2, one ended a second after a
/// root login (CI saw 3 frames returned, 2 on the stock kernel's broken path).
pub const IDLE_THREADS: usize = 6;

/// `init --help`.
const HELP: &str = "Usage: init [-c COMMANDS | --script FILE] [--user NAME]\n\
The first program: fills / with the system image and runs login on the console.\n\
  -c COMMANDS    no login: run COMMANDS in NAME's session, end with their status\n\
  --script FILE  the same, COMMANDS from FILE\n\
  --user NAME    whose session -c runs (root)\n\
  --help         show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    std::thread::set_idle_limit(IDLE_THREADS);
    if let Some(machine) = metal::detect() {
        metal::boot(machine);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut command = None;
    let mut user = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" => match it.next() {
                Some(c) => command = Some(c),
                None => {
                    say("-c needs COMMANDS");
                    std::process::exit(2);
                }
            },
            "--script" => {
                // A script too long for exec's argument page: the boot loader put it in a file.
                let Some(path) = it.next() else {
                    say("--script needs a file");
                    std::process::exit(2);
                };
                match std::fs::read(&path) {
                    Ok(b) => command = Some(String::from_utf8_lossy(&b).into_owned()),
                    Err(e) => {
                        say(&format!("{path}: {e}"));
                        std::process::exit(1);
                    }
                }
            }
            "--user" => match it.next() {
                Some(u) => user = Some(u),
                None => {
                    say("--user needs a NAME");
                    std::process::exit(2);
                }
            },
            other => {
                say(&format!(
                    "unknown argument {other:?}; usage: init [-c COMMANDS | --script FILE] [--user NAME]"
                ));
                std::process::exit(2);
            }
        }
    }
    // The stub's machine is the host's, which userland cannot see: no `machine` figure.
    if let Err(e) = proc_fs(vfs::procfs::MAX_USER_PROCS, None, None) {
        // Not fatal: only `ps` needs it.
        say(&format!("no process table: {e}"));
    }
    let count = match root_fs() {
        Ok(n) => n,
        Err(e) => {
            say(&format!("cannot start the root file system: {e}"));
            std::process::exit(1);
        }
    };
    network();
    let kept = disk();
    users_keeper(kept);
    if command.is_some() || user.is_some() {
        // No login: COMMANDS in the user's shell (root's by default), or with `--user` alone
        // the user's interactive shell; init exits with its status.
        let user = user.unwrap_or_else(|| String::from("root"));
        let users = std::fs::read_to_string(vfs::users::USERS)
            .map(|t| vfs::users::parse(&t))
            .unwrap_or_default();
        let Some(u) = users.into_iter().find(|u| u.name == user) else {
            say(&format!("no user named {user:?}"));
            std::process::exit(1);
        };
        let code = match command {
            Some(cmds) => session::run_script(&u, &cmds),
            None => session::run_shell(&u, &[]),
        };
        let _ = std::io::stdout().flush();
        sync_disk();
        std::process::exit(code);
    }
    say(&format!(
        "root file system ready ({count} programs in /bin); starting login"
    ));
    loop {
        match std::process::Command::new("/bin/login").status() {
            Ok(s) if s.success() => return sync_disk(),
            // Input that is not a terminal (a pipe, a script) has ended: nobody is left to log
            // in, and the system ends with the last session's status, which login passes on.
            Ok(s)
                if s.code() != Some(session::GAVE_UP) && std::term::stdin_terminal().is_none() =>
            {
                sync_disk();
                std::process::exit(s.code().unwrap_or(1))
            }
            Ok(s) => say(&format!("login ended with {s}; starting it again")),
            Err(e) => {
                say(&format!("cannot start login: {e}"));
                std::process::exit(1);
            }
        }
    }
}
