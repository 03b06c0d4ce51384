//! Limits per client on a shared file server (issue 16, items 2 and 3).
//!
//! - Sessions: the kernel names no sender, so a server tells clients apart by the subtree
//!   session their opens come through: login opens an ordinary user's binds charged to that
//!   user (`Op::ServeAs`). A subtree has at most `SCOPE_SESSIONS`, an account
//!   `ACCOUNT_SESSIONS`, and accounts together leave `RESERVED_SESSIONS` to the system (root,
//!   init, login and its password service, which use the server's own mount). A client past
//!   its share reads "server busy", never "not found".
//! - Space: what an account's sessions create is the account's; the ramdisk holds each account
//!   to its quota of bytes and nodes ("disk quota exceeded") and all accounts together to the
//!   disk less a reserve that is root's.

use std::time::Duration;

use eurali_host::boot::{run_captured, run_system_captured};
use eurali_std as shim;
use shim::io::Write as _;
use vfs::client;
use vfs::proto::{FsError, flags};
use vfs::server::{ACCOUNT_SESSIONS, MAX_SESSIONS, RESERVED_SESSIONS, SCOPE_SESSIONS};

/// Opens `path` (a file, created if `create`) until the server refuses; the sessions and the
/// error.
fn hoard(path: &dyn Fn(usize) -> String, create: bool) -> (Vec<client::Session>, FsError) {
    let fl = match create {
        true => flags::READ | flags::WRITE | flags::CREATE,
        false => flags::READ,
    };
    let mut held = Vec::new();
    loop {
        match client::open(&path(held.len()), fl) {
            Ok((s, _)) => held.push(s),
            Err(e) => return (held, e),
        }
        assert!(held.len() <= MAX_SESSIONS, "no limit at all");
    }
}

/// On a ramdisk of its own: subtrees charged to accounts `u` and `v`, hoarded to their limits,
/// and the system's own mount, which keeps its reserve.
fn sessions() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(1 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    for d in ["/home", "/home/u", "/home/v", "/bin"] {
        client::mkdir(d).unwrap();
    }
    vfs::image::write_file("/bin/prog", b"a program").unwrap();
    let bind = |src: &str, dst: &str, rw: bool, who: &str| {
        let h = vfs::ns::bind_handle_as(src, !rw, Some(who)).unwrap();
        vfs::ns::mount(dst, h).unwrap();
    };
    // u's session: its home and /bin (two subtree sessions of u's).
    bind("/home/u", "/u/home", true, "u");
    bind("/bin", "/u/bin", false, "u");
    // u cannot shed its account: a subtree of its own is u's, and naming another is refused.
    let other = vfs::ns::bind_handle_as("/u/home", false, Some("v"));
    shim::println!("u binds as v: {:?}", other.err());
    let own = vfs::ns::bind_handle_as("/u/home", false, Some("u"));
    shim::println!("u binds as u: {:?}", own.err());
    let (home, e) = hoard(&|i| format!("/u/home/f{i}"), true);
    shim::println!("u home: {} then {e}", home.len());
    // Through another subtree u still runs programs (what a shell's exec reads).
    let (bin, e) = hoard(&|_| "/u/bin/prog".into(), false);
    shim::println!("u bin: {} then {e}", bin.len());
    // Another account gets what accounts together may have.
    bind("/home/v", "/v/home", true, "v");
    let (vs, e) = hoard(&|i| format!("/v/home/g{i}"), true);
    shim::println!("v home: {} then {e}", vs.len());
    // The system (root, login, the password service) has the reserve.
    let (sys, e) = hoard(&|_| "/bin/prog".into(), false);
    shim::println!("system: {} then {e}", sys.len());
    drop(sys);
    // What was refused reads as busy, and stops being refused once given back.
    let busy = shim::fs::read_to_string("/u/home/f0").unwrap_err();
    shim::println!("u reads: {busy}");
    drop(home);
    let mut back = None;
    for _ in 0..200 {
        back = shim::fs::write("/u/home/later", "x").err();
        if back.is_none() {
            break;
        }
        shim::thread::sleep(Duration::from_millis(5));
    }
    shim::println!("u writes after: {back:?}");
    drop((bin, vs));
}

#[test]
fn one_account_hoarding_sessions_leaves_others_and_the_system_their_share() {
    let progs = [shim::program_entry!("sessions", sessions)];
    let r = run_captured(&progs, "sessions", &[], b"", Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // u: its two subtree sessions, SCOPE_SESSIONS through its home, the rest of its account's
    // share through /bin; v: its subtree and the accounts' share less u's; the system: all
    // the rest, its reserve.
    let u_bin = ACCOUNT_SESSIONS - 2 - SCOPE_SESSIONS;
    let accounts = MAX_SESSIONS - RESERVED_SESSIONS;
    let v_home = (accounts - ACCOUNT_SESSIONS - 1).min(SCOPE_SESSIONS);
    let system = MAX_SESSIONS - ACCOUNT_SESSIONS - 1 - v_home;
    assert_eq!(system, RESERVED_SESSIONS);
    assert_eq!(
        r.stdout,
        format!(
            "u binds as v: Some(Denied)\n\
             u binds as u: None\n\
             u home: {SCOPE_SESSIONS} then server busy\n\
             u bin: {u_bin} then server busy\n\
             v home: {v_home} then server busy\n\
             system: {system} then server busy\n\
             u reads: server busy\n\
             u writes after: None\n"
        ),
        "{}",
        r.stderr
    );
}

/// `hold PATH...`: opens each PATH until refused (files created in a directory; a file opened
/// for reading), says how many, touches `/tmp/held`, and keeps them until `/tmp/release`
/// exists (or 60 s pass).
fn hold() {
    let mut all = Vec::new();
    for p in shim::env::args().skip(1) {
        let dir = client::stat(&p).is_ok_and(|m| m.kind == vfs::proto::Kind::Dir);
        let (held, e) = match dir {
            true => hoard(&|i| format!("{p}/held{i}"), true),
            false => hoard(&|_| p.clone(), false),
        };
        shim::println!("hold: {p}: {} open, then {e}", held.len());
        all.push(held);
    }
    let _ = shim::io::stdout().flush();
    shim::fs::write("/tmp/held", "").unwrap();
    let start = shim::time::Instant::now();
    while !shim::path::Path::new("/tmp/release").exists() && start.elapsed().as_secs() < 60 {
        shim::thread::sleep(Duration::from_millis(10));
    }
    drop(all);
    shim::fs::write("/tmp/released", "").unwrap();
}

fn system(input: &str, extra: Vec<(&'static str, kernel_stub::ProgramEntry)>) -> (String, String) {
    let mut progs = eurali::programs();
    progs.extend(extra);
    let r = run_system_captured(&progs, &[], input.as_bytes(), Duration::from_secs(240));
    (r.stdout, r.stderr)
}

/// The whole system on the console: user hoards sessions of the root file server through
/// their home and /bin, and meanwhile runs programs, changes their password through login's
/// service (root's) and sees "busy" where their share is taken; root then logs in, runs
/// programs and writes as usual.
#[test]
fn a_user_holding_files_open_locks_out_neither_root_nor_login_nor_exec() {
    // Programs start in /tmp: a process's start opens its working directory, and the home's
    // share is what the hoarder takes.
    let input = "user\nuser\n\
        cd /tmp; hold $HOME > /tmp/out1 &\n\
        i=0; until [ -e /tmp/held ] || [ $i -gt 200000 ]; do i=$((i+1)); done; cat /tmp/out1\n\
        cat /etc/motd; echo cat=$?\n\
        ls $HOME > /dev/null; echo ls=$?\n\
        cd; pwd\n\
        passwd\nuser\nn3wpass\nn3wpass\n\
        echo passwd=$?\n\
        rm /tmp/held; hold /bin/sh > /tmp/out2 &\n\
        i=0; until [ -e /tmp/held ] || [ $i -gt 200000 ]; do i=$((i+1)); done; while read -r l; do echo \"$l\"; done < /tmp/out2\n\
        cat /etc/motd; echo cat=$?\n\
        echo hi > /tmp/release; wait; echo released\n\
        cat /etc/motd; echo cat=$?\n\
        exit\n\
        root\nroot\n\
        cat /etc/public/motd; echo root cat=$?\n\
        mkdir /home/root/d && echo written > /home/root/d/f && cat /home/root/d/f\n\
        grep -c . /etc/users\n\
        exit\n\
        user\nn3wpass\necho new password works\nexit\n";
    let (out, err) = system(input, vec![shim::program_entry!("hold", hold)]);
    let all = format!("stdout:\n{out}\nstderr:\n{err}");
    let has = |s: &str| {
        assert!(
            out.contains(s) || err.contains(s),
            "{s:?} missing in\n{all}"
        )
    };
    has(&format!(
        "hold: /home/user: {SCOPE_SESSIONS} open, then server busy"
    ));
    // Other programs run meanwhile: exec reads /bin through another subtree.
    has("Welcome to eurali.\ncat=0");
    // The home's share is taken: busy, not "not found".
    has("ls: /home/user: server busy");
    has("ls=2");
    // Nor can the shell enter it (a program started there could not open its working
    // directory either).
    has("sh: cd: can't cd to /home/user: server busy");
    has("passwd=0");
    // With the account's share all taken, exec is refused as busy, not as "not found".
    // (The account's binds each hold a session: home, /bin, /etc and /usr.)
    let bin = ACCOUNT_SESSIONS - 4 - SCOPE_SESSIONS;
    has(&format!("hold: /bin/sh: {bin} open, then server busy"));
    has("sh: cat: server busy (looking in /bin)");
    has("cat=126");
    assert!(!all.contains("not found"), "{all}");
    has("released\nWelcome to eurali.\ncat=0");
    has("Welcome to eurali.\nroot cat=0");
    has("written\n2\n");
    has("new password works");
}

/// `fill DIR`: creates empty files in DIR until refused; says how many and why.
fn fill() {
    let dir = shim::env::args().nth(1).unwrap_or_default();
    let mut n = 0;
    let e = loop {
        match shim::fs::File::create(format!("{dir}/e{n}")) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    shim::println!("fill: {n} files, then {e}");
}

/// user fills their home with empty files (the 8 100): past their quota they get a
/// clear "disk quota exceeded"; root then writes, makes directories and changes a password;
/// `quota` and `df` show the figures.
#[test]
fn a_user_at_quota_gets_a_clear_error_and_root_still_writes() {
    let input = "user\nuser\n\
        fill $HOME\n\
        touch $HOME/one-more; echo touch=$?\n\
        mkdir $HOME/d; echo mkdir=$?\n\
        echo x > $HOME/r\n\
        quota\n\
        df /home/user /tmp\n\
        rm $HOME/e0 $HOME/e1; touch $HOME/one-more; echo touch=$?\n\
        exit\n\
        root\nroot\n\
        mkdir /home/root/d && echo written > /home/root/d/f && cat /home/root/d/f\n\
        passwd user\nfr3sh\nfr3sh\necho passwd=$?\n\
        fill /home/root/d; rm -r /home/root/d\n\
        quota\n\
        exit\n\
        user\nfr3sh\necho user logs in again\nexit\n";
    let (out, err) = system(input, vec![shim::program_entry!("fill", fill)]);
    let all = format!("stdout:\n{out}\nstderr:\n{err}");
    let has = |s: &str| {
        assert!(
            out.contains(s) || err.contains(s),
            "{s:?} missing in\n{all}"
        )
    };
    let limits = vfs::ramdisk::Limits::for_bytes(init::ROOT_SIZE);
    let quota = limits.account_nodes;
    has(&format!("fill: {quota} files, then disk quota exceeded"));
    has("touch: cannot touch '/home/user/one-more': Disk quota exceeded");
    has("touch=1");
    has("mkdir: cannot create directory '/home/user/d': Disk quota exceeded");
    // The shell's own redirection says so too.
    has("sh: /home/user/r: Disk quota exceeded");
    has(&format!(
        "user on /home/user: 0K of {}K used (0%), {quota} of {quota} files and directories",
        limits.account_bytes / 1024
    ));
    has("  quota of user: 0K of");
    has("touch=0");
    // root: writes, fills, changes user's password (the accounts' share leaves root the rest).
    has("written\n");
    let fill_root = out
        .lines()
        .chain(err.lines())
        .filter_map(|l| l.strip_prefix("fill: "))
        .nth(1)
        .unwrap_or_else(|| panic!("{all}"))
        .to_string();
    let n: usize = fill_root.split(' ').next().unwrap().parse().unwrap();
    assert!(n >= limits.reserve_nodes, "{all}");
    assert!(fill_root.ends_with("no space left on device"), "{all}");
    has("passwd=0");
    has("/home/root: the system's (no quota");
    has("user logs in again");
}
