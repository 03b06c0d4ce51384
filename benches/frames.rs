//! `cargo xtask bench frames`: what the real kernel's frame allocator would do, as the stub
//! models it (`kernel_stub::frames`), for the things a user does; ours against the same
//! userland with its frame-saving off (`EURALI_NOPOOL=1`: no thread or chunk pool;
//! `EURALI_NOFORK=0`: the coreutils as processes), both booted in this run.
//!
//! For each scenario: `RESULT frames_<name>=<N>overflows` (returns that would take Merriwig's
//! broken overflow path, ABI §9.23), and `RESULT frames_<name>_returned=<N>frames` (all frames
//! given back; none given back means none can overflow, whatever the allocator's state).
//! Scenarios: boot to the login prompt (the stub's boot: init, its servers and login; the
//! stub's own boot process, standing for the boot loader and host devices, is left out), idle at
//! the prompt (`EURALI_BENCH_IDLE` seconds, default 60), a login and logout, `ls /`, `cat FILE`,
//! `seq 1 1000 | grep 7 | wc -l`, a Gopher fetch (needs the test network: root and its
//! packages; skipped with a note otherwise), a kibi open-edit-save-quit, and a 20-command
//! session.

#[path = "../tests/common/netlink.rs"]
mod netlink;
#[path = "../tests/common/session.rs"]
mod session;

use kernel_stub::frames::FrameStats;
use session::Session;
use std::time::Duration;

/// The stub's boot process: not part of the real system.
const STUB: &str = "boot";

const NAIVE: &[(&str, &str)] = &[("EURALI_NOPOOL", "1"), ("EURALI_NOFORK", "0")];

/// (overflow returns, frames returned), the stub's boot process left out.
fn figures(s: &FrameStats) -> (u64, u64) {
    (s.overflow, s.returned_except(STUB))
}

fn measure(s: &mut Session, f: impl FnOnce(&mut Session)) -> (u64, u64) {
    s.kernel.reset_frame_counts();
    f(s);
    s.settle();
    figures(&s.kernel.frame_stats())
}

const T: Duration = Duration::from_secs(60);

fn login(s: &mut Session, user: &str) {
    s.type_line(user);
    s.wait_for("password: ", T);
    s.command(user, "$ ");
}

fn logout(s: &mut Session) {
    s.type_line("exit");
    s.wait_for("login: ", T);
}

/// The twenty commands of the scripted session.
const SESSION: &[&str] = &[
    "cd /tmp",
    "mkdir -p work/notes",
    "echo first line > work/notes/a.txt",
    "printf 'b\\na\\nc\\n' >> work/notes/a.txt",
    "cat work/notes/a.txt",
    "sort work/notes/a.txt | uniq | wc -l",
    "grep -n a work/notes/a.txt",
    "cp work/notes/a.txt work/b.txt",
    "mv work/b.txt work/c.txt",
    "ls -l work",
    "head -n 2 work/c.txt; tail -n 1 work/c.txt",
    "xxd work/c.txt | head -n 1",
    "seq 1 200 | tail -n 3",
    "ps | head -n 3",
    "env | grep -c HOME",
    "date; uptime",
    "for f in work/*; do basename $f; done",
    "x=$(cat work/c.txt | wc -l); echo $x",
    "rm -r work",
    "cd; pwd",
];

/// Every scenario on one freshly booted system; (name, overflows, returned) each.
fn scenarios(env: &[(&str, &str)], net: Option<&netlink::Link>) -> Vec<(&'static str, u64, u64)> {
    let mut out = Vec::new();
    let mut s = Session::start_env(&[], false, env);
    let boot = {
        s.wait_for("login: ", T);
        s.settle();
        figures(&s.kernel.frame_stats())
    };
    out.push(("boot", boot.0, boot.1));
    let idle: u64 = std::env::var("EURALI_BENCH_IDLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let r = measure(&mut s, |_| std::thread::sleep(Duration::from_secs(idle)));
    out.push(("idle", r.0, r.1));
    let r = measure(&mut s, |s| {
        login(s, "user");
        logout(s);
    });
    out.push(("login_logout", r.0, r.1));
    login(&mut s, "root");
    for (name, cmd) in [
        ("ls", "ls /"),
        ("cat", "cat /etc/public/motd"),
        ("pipeline", "seq 1 1000 | grep 7 | wc -l"),
    ] {
        let r = measure(&mut s, |s| {
            s.command(cmd, "$ ");
        });
        out.push((name, r.0, r.1));
    }
    let r = measure(&mut s, |s| {
        for c in SESSION {
            s.command(c, "$ ");
        }
    });
    out.push(("session20", r.0, r.1));
    if let Some(link) = net {
        let url = format!("gopher://{}/0/hello.txt", netlink::LINUX);
        let r = measure(&mut s, |s| {
            let got = s.command(
                &format!("gopher --raw {url} > /tmp/g; grep -c Second /tmp/g"),
                "$ ",
            );
            assert!(got.contains("1\n"), "the fetch printed {got:?}");
        });
        let _ = link;
        out.push(("gopher", r.0, r.1));
    }
    logout(&mut s);
    let _ = s.finish();
    // kibi needs a terminal: a system of its own.
    let mut s = Session::start_env(&[], true, env);
    s.wait_for("login: ", T);
    login(&mut s, "root");
    let r = measure(&mut s, |s| {
        s.type_keys("edit /tmp/k.txt\n");
        s.wait_for("^S save", T);
        s.type_keys("hello from kibi");
        std::thread::sleep(Duration::from_millis(300));
        s.type_keys("\x13");
        s.wait_for("written", T);
        s.type_keys("\x11");
        s.wait_for("$ ", T);
        // The line editor echoes what is typed: wait for what only the command prints.
        s.type_line("cat /tmp/k.txt; echo $((6 * 7))-done");
        let got = s.wait_for("42-done", T);
        assert!(got.contains("hello from kibi"), "kibi saved {got:?}");
    });
    out.push(("kibi", r.0, r.1));
    logout(&mut s);
    let _ = s.finish();
    out
}

fn ratio(ours: u64, base: u64) -> String {
    match (ours, base) {
        (0, 0) => "1.000".into(),
        (_, 0) => "inf".into(),
        _ => format!("{:.3}", ours as f64 / base as f64),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let link = if std::env::var_os("EURALI_SKIP_NET").is_some() || !is_root() {
        println!("note: no test network (needs root; EURALI_SKIP_NET unset): no gopher scenario");
        None
    } else {
        netlink::link()
    };
    let nic_env: Vec<(String, String)> = match &link {
        Some(l) => vec![
            ("EURALI_NIC".into(), format!("tap0@{}", l.ns)),
            ("EURALI_NET".into(), netlink::static_config()),
        ],
        None => Vec::new(),
    };
    // The stub reads the NIC from this process's environment when a system boots.
    for (k, v) in &nic_env {
        // Safety: the bench is single-threaded here, before any system boots.
        unsafe { std::env::set_var(k, v) };
    }
    let ours = scenarios(&[], link.as_ref());
    let base = scenarios(NAIVE, link.as_ref());
    for ((name, o, or), (_, b, br)) in ours.iter().zip(base.iter()) {
        println!(
            "RESULT frames_{name}={o}overflows baseline={b}overflows ratio={}",
            ratio(*o, *b)
        );
        println!(
            "RESULT frames_{name}_returned={or}frames baseline={br}frames ratio={}",
            ratio(*or, *br)
        );
    }
}

fn is_root() -> bool {
    // Safety: geteuid reads nothing of ours.
    unsafe { libc::geteuid() == 0 }
}
