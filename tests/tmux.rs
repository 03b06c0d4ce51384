//! The shell at a real terminal: `eurali sh` in tmux, typed at with send-keys, read back with
//! capture-pane — line editing, history, completion, continuation lines, cooked `read`, exit.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the pane shows `want` (30 s at most); returns the pane.
fn wait_for(session: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-t", session, "-p"]);
        if pane.contains(want) {
            return pane;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "pane never showed {want:?}:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn interactive_shell_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
        eprintln!("skipping: no tmux");
        return;
    }
    let session = format!("eurali-test-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_eurali");
    let cmd = format!("{bin} sh; echo EXITED $?; sleep 60");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", session.as_str()];
        a.extend_from_slice(k);
        tmux(&a);
    };
    wait_for(&session, "root:/$");
    // Editing: type, move left, delete, insert.
    keys(&[
        "echo hello wurld",
        "Left",
        "Left",
        "Left",
        "BSpace",
        "o",
        "Enter",
    ]);
    wait_for(&session, "hello world\n");
    // Completion of a builtin, then history (Up) re-runs the last line.
    keys(&["ech", "Tab", "again", "Enter"]);
    wait_for(&session, "\nagain\n");
    keys(&["Up", "Enter"]);
    let pane = wait_for(&session, "again\nroot:/$ echo again\nagain\n");
    assert!(pane.contains("root:/$ echo again"), "{pane}");
    // A loop over two lines, and a cooked read (the console echoes what is typed).
    keys(&["for i in 1 2; do", "Enter", "echo n$i; done", "Enter"]);
    wait_for(&session, "n1\nn2\n");
    keys(&["read x; echo got $x", "Enter"]);
    wait_for(&session, "echo got $x\n");
    keys(&["typed line", "Enter"]);
    wait_for(&session, "got typed line");
    // Ctrl-C drops the line being typed.
    keys(&["echo never", "C-c"]);
    wait_for(&session, "echo never^C");
    keys(&["exit 3", "Enter"]);
    let pane = wait_for(&session, "EXITED");
    tmux(&["kill-session", "-t", &session]);
    assert!(pane.contains("EXITED 3"), "{pane}");
    assert!(!pane.contains("\nnever"), "{pane}");
}

/// The whole system as `cargo run` starts it: init, login, the user's shell. Logs in, uses
/// history, completion and jobs, interrupts a program and a loop with Ctrl-C, logs out (init
/// starts login again) and logs in again to find the history kept.
#[test]
fn login_session_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
        eprintln!("skipping: no tmux");
        return;
    }
    let session = format!("eurali-login-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_eurali");
    let cmd = format!("{bin}; echo EXITED $?; sleep 60");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "40",
        &cmd,
    ]);
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", session.as_str()];
        a.extend_from_slice(k);
        tmux(&a);
    };
    let clear = || tmux(&["clear-history", "-t", &session]);
    wait_for(&session, "login:");
    keys(&["user", "Enter"]);
    wait_for(&session, "password:");
    keys(&["user", "Enter"]);
    wait_for(&session, "user:~$");
    // The user's namespace: `/` lists its mount points; a path completes with Tab.
    keys(&["ls /", "Enter"]);
    let pane = wait_for(&session, "tmp\n");
    for d in ["bin", "dev", "etc", "home"] {
        assert!(pane.contains(&format!("\n{d}\n")), "{pane}");
    }
    keys(&["echo made > notes.txt", "Enter"]);
    keys(&["cat no", "Tab", "Enter"]);
    wait_for(&session, "cat notes.txt\nmade\n");
    // Ctrl-C ends the foreground program, not the shell; and a loop of the shell's own.
    keys(&["sleep 100", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    keys(&["C-c"]);
    keys(&["echo status=$?", "Enter"]);
    wait_for(&session, "status=130");
    keys(&["while true; do sleep 1; done", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    keys(&["C-c"]);
    keys(&["echo loop=$?", "Enter"]);
    wait_for(&session, "loop=130");
    // A background job, listed, then waited for.
    keys(&["sleep 1 && echo job-finished &", "Enter"]);
    wait_for(&session, "[1] ");
    keys(&["jobs", "Enter"]);
    wait_for(&session, "Running");
    keys(&["wait; echo waited", "Enter"]);
    wait_for(&session, "job-finished\nwaited\n");
    // History: Up brings back the last line.
    keys(&["echo remembered", "Enter"]);
    wait_for(&session, "\nremembered\n");
    // Log out: init starts login again; log in again and find the history kept.
    keys(&["exit", "Enter"]);
    wait_for(&session, "$ exit\nlogin:");
    clear();
    keys(&["user", "Enter"]);
    wait_for(&session, "exit\nlogin: user\npassword:");
    keys(&["user", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    keys(&["Up", "Up"]);
    let pane = wait_for(&session, "user:~$ echo remembered");
    tmux(&["kill-session", "-t", &session]);
    assert!(!pane.contains("EXITED"), "the system must not stop: {pane}");
}
