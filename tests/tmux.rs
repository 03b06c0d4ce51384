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
    // A trap on INT: Ctrl-C runs it instead of abandoning the command line.
    keys(&[
        "trap 'echo caught-int; stop=1' INT; stop=; while [ -z \"$stop\" ]; do :; done; echo went-on",
        "Enter",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    keys(&["C-c"]);
    wait_for(&session, "caught-int\nwent-on\n");
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

/// `text` as a pane `cols` wide shows it: cut into rows.
fn wrapped(text: &str, cols: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(cols).map(|c| c.iter().collect()).collect()
}

/// A line longer than the pane is wide: the editor wraps it onto the rows below and redraws it
/// in place while it is edited across the wrap (no row drawn twice, none left behind), runs it
/// whole, and the history brings it back the same way.
#[test]
fn long_lines_wrap_in_a_narrow_pane() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
        eprintln!("skipping: no tmux");
        return;
    }
    const PROMPT: &str = "root:/$ ";
    let session = format!("eurali-wrap-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_eurali");
    let cmd = format!("{bin} sh; echo EXITED $?; sleep 60");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "40",
        "-y",
        "20",
        &cmd,
    ]);
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", session.as_str()];
        a.extend_from_slice(k);
        tmux(&a);
    };
    // Waits until the rows from the last prompt on are `line` wrapped, then only blank ones,
    // and the line's first row is on the pane `times` times in all (more: a row drawn twice).
    let wait_line = |line: &str, times: usize| {
        let rows = wrapped(&format!("{PROMPT}{line}"), 40);
        let start = Instant::now();
        loop {
            let p = tmux(&["capture-pane", "-t", &session, "-p"]);
            let lines: Vec<&str> = p.lines().map(str::trim_end).collect();
            let at = lines.iter().rposition(|l| l.starts_with(PROMPT.trim_end()));
            let shown = at.map(|i| &lines[i..]).unwrap_or_default();
            let ok = shown.len() >= rows.len()
                && shown.iter().zip(&rows).all(|(a, b)| *a == b.trim_end())
                && shown[rows.len()..].iter().all(|l| l.is_empty())
                && p.matches(rows[0].as_str()).count() == times;
            if ok {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the pane never showed {rows:#?} alone:\n{p}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(&session, PROMPT.trim_end());
    // 8 + 5 + 90 = 103 columns: three rows.
    let mut line: Vec<char> = format!("echo {}", "0123456789".repeat(9)).chars().collect();
    keys(&[&line.iter().collect::<String>()]);
    wait_line(&line.iter().collect::<String>(), 1);
    // Back across the second wrap, delete two and insert three; to the start and the end.
    let mut edit = vec!["Left"; 30];
    edit.extend(["BSpace", "BSpace", "a", "b", "c", "Home", "End"]);
    keys(&edit);
    let at = line.len() - 30;
    line.splice(at - 2..at, "abc".chars());
    let edited: String = line.iter().collect();
    wait_line(&edited, 1);
    // Ctrl-U from the middle of the second row: the rest moves up, no row is left behind.
    keys(&["Home"]);
    keys(&vec!["Right"; 45]);
    keys(&["C-u"]);
    wait_line(&edited[45..], 1);
    // Ctrl-Y puts it back; run it: the whole line stays above its output.
    keys(&["C-y", "End", "Enter"]);
    let output = wrapped(&edited["echo ".len()..], 40).join("\n");
    let command = wrapped(&format!("{PROMPT}{edited}"), 40).join("\n");
    wait_for(&session, &format!("{command}\n{output}\nroot:/$"));
    // History: Up brings the three rows back under the new prompt; editing at its first row.
    keys(&["Up"]);
    wait_line(&edited, 2);
    keys(&["Home", "Right", "Right", "Right", "Right", "Delete"]);
    wait_line(&format!("echo{}", &edited[5..]), 1);
    keys(&["C-c", "exit", "Enter"]);
    let p = wait_for(&session, "EXITED");
    tmux(&["kill-session", "-t", &session]);
    assert!(p.contains("EXITED 0"), "{p}");
}
