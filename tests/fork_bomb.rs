//! Unbounded processes and threads (issue 16, item 8): a user's fork bomb stops at the per-user
//! process limit (`vfs::procfs::MAX_USER_PROCS`) and the per-process thread limit with "resource
//! temporarily unavailable" (EAGAIN), never "out of memory" or MEMALLOC; root still logs in and
//! `ps` works while it runs; the error lines of the bomb's parallel jobs come out whole.

#[path = "common/mod.rs"]
mod common;
#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/session.rs"]
mod session;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use session::Session;

const MINUTE: Duration = Duration::from_secs(60);

/// The lines the bomb may write: each whole, one of these.
const EXPECTED: &[&str] = &[
    "b.sh: sh: resource temporarily unavailable: 32 processes",
    "sh: cannot start a background job: resource temporarily unavailable: 64 threads",
];

#[test]
fn a_users_fork_bomb_stops_at_the_limit_and_root_still_logs_in() {
    let mut s = Session::boot_with(&[], true);
    // The most processes and threads the kernel held at once, sampled while the bomb runs.
    let (procs, threads) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (k, p, t, d) = (
            s.kernel.clone(),
            procs.clone(),
            threads.clone(),
            done.clone(),
        );
        std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                p.fetch_max(k.process_count(), Ordering::Relaxed);
                t.fetch_max(k.thread_count(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    s.wait_for("login: ", MINUTE);
    s.type_line("user");
    s.wait_for("password: ", MINUTE);
    s.type_line("user");
    s.wait_for("user:~$ ", MINUTE);
    // b.sh runs itself twice in the background, again and again until told to stop: the bomb
    // keeps the user at the limit.
    s.type_line(
        "echo 'while [ ! -e /home/user/stop ]; do sh b.sh & sh b.sh & wait; sleep 1; done' > b.sh",
    );
    // (Saying it is root's changes nothing: a process counts against its parent's user.)
    s.type_line("USER=root sh b.sh 2> bomb.err & sleep 2; ps | grep -c 'sh b.sh'");
    s.type_line("exit");
    s.wait_for("login: ", MINUTE);
    // Root logs in and lists every process while the bomb goes on.
    s.type_line("root");
    s.wait_for("password: ", MINUTE);
    s.type_line("root");
    s.wait_for("root:~$ ", MINUTE);
    s.type_line("ps | grep -c 'sh b.sh'; echo ps ok $((6 * 7))");
    s.wait_for("ps ok 42", MINUTE);
    let bomb_procs = procs.load(Ordering::Relaxed);
    // Let it run a little longer at the limit, then stop it and read what it wrote.
    s.type_line("sleep 2; touch /home/user/stop; sleep 3");
    s.type_line("sort /home/user/bomb.err | uniq -c; echo listed $((40 + 2))");
    let out = s.wait_for("listed 42", MINUTE);
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let threads = threads.load(Ordering::Relaxed);
    eprintln!("{out}\n{bomb_procs} processes, {threads} threads at most");
    // The limit was reached and said so, every line whole, and never as lack of memory.
    let counted: Vec<(usize, String)> = out
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (n, text) = l.split_once(' ')?;
            Some((n.parse().ok()?, text.trim_end().to_string()))
        })
        .collect();
    assert!(!counted.is_empty(), "no errors from the bomb: {out}");
    for (_, line) in &counted {
        assert!(EXPECTED.contains(&line.as_str()), "{line:?} in {out}");
    }
    assert!(
        counted
            .iter()
            .any(|(n, l)| *n > 0 && l.ends_with("32 processes")),
        "{out}"
    );
    // The user's 32, then init, the servers, login and root's shell: nothing near the thousands
    // of processes the bomb made before.
    assert!(bomb_procs <= 32 + 16, "{bomb_procs} processes at once");
    assert!(threads <= 48 * 64, "{threads} threads at once");
    s.type_line("exit");
    s.wait_for("login: ", MINUTE);
    s.finish();
}

/// Host processes whose parent is `pid`, and their threads with `pid`'s own.
fn host_tree(pid: u32) -> (usize, usize) {
    let threads_of = |p: &str| {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|n| n.trim().parse::<usize>().ok())
            })
            .unwrap_or(0)
    };
    let (mut procs, mut threads) = (0, threads_of(&pid.to_string()));
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the fields after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            procs += 1;
            threads += threads_of(&name);
        }
    }
    (procs, threads)
}

/// The same bomb in hosted mode (`cargo xtask build`'s ELFs as host processes, which share no
/// statics): it stops at the limit, says so in whole lines, and the host's processes and threads
/// stay bounded. Without the ELFs it says so and passes, unless `CI` is set (as tests/hosted.rs).
#[test]
fn a_fork_bomb_is_bounded_in_hosted_mode() {
    let Some((dir, guest)) = hosted::elfs(&["sh"]) else {
        return;
    };
    let input = "user\nuser\n\
        echo 'while [ ! -e /home/user/stop ]; do sh b.sh & sh b.sh & wait; sleep 1; done' > b.sh\n\
        sh b.sh 2> bomb.err &\n\
        sleep 4; ps | wc -l; echo ps ok $((6 * 7))\n\
        touch stop; wait; sort bomb.err | uniq -c; echo listed $((40 + 2))\n";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_eurali"))
        .args(["--hosted", dir.to_str().unwrap()])
        .env("EURALI_GUEST", guest)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start eurali");
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
    drop(stdin);
    let (mut procs, mut threads) = (0, 0);
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > 2 * MINUTE {
            let _ = child.kill();
            panic!("the hosted system did not end");
        }
        let (p, t) = host_tree(child.id());
        procs = procs.max(p);
        threads = threads.max(t);
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}\n{procs} host processes, {threads} host threads at most");
    assert!(text.contains("ps ok 42"), "{text}");
    let listed = text.split("listed 42").next().unwrap_or("");
    let lines: Vec<&str> = listed
        .lines()
        .skip_while(|l| !l.contains("ps ok 42"))
        .skip(1)
        .map(|l| l.trim_start().trim_start_matches("user:~$ "))
        .filter(|l| !l.is_empty())
        .collect();
    assert!(!lines.is_empty(), "{text}");
    for l in &lines {
        let (n, msg) = l.trim_start().split_once(' ').unwrap_or(("", l));
        assert!(n.parse::<usize>().is_ok(), "{l:?} in {text}");
        assert!(EXPECTED.contains(&msg.trim_end()), "{l:?} in {text}");
    }
    assert!(procs <= 32 + 16, "{procs} host processes");
    assert!(threads <= 48 * 64, "{threads} host threads");
}

/// Threads: a script that runs itself in the foreground nests shells on threads of one process
/// until the kernel's 64 are used, then says so as EAGAIN, and the outer shells go on.
#[test]
fn nested_shells_stop_at_the_thread_limit() {
    let (out, err, code) = common::sh("echo 'sh b.sh' > b.sh; sh b.sh; echo after $?", "");
    assert!(
        err.contains("b.sh: sh: resource temporarily unavailable: 64 threads\n"),
        "{err}"
    );
    assert!(
        !err.contains("memory") && !err.contains("MEMALLOC"),
        "{err}"
    );
    assert_eq!(out, "after 126\n", "{err}");
    assert_eq!(code, 0);
}
