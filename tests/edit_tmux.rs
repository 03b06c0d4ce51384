//! The editor (kibi, ported) at a real terminal: the whole system booted as `cargo run` boots it,
//! in tmux; log in, `edit notes.txt`, type, save (Ctrl-S), quit (Ctrl-Q), `cat` the file; then a
//! file the user may not write shows kibi's error on its status bar, and the session goes on.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the pane shows `want` (60 s at most); returns the pane.
fn wait_for(session: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(&["capture-pane", "-t", session, "-p"]);
        if pane.contains(want) {
            return pane;
        }
        if start.elapsed() > Duration::from_secs(60) {
            tmux(&["kill-session", "-t", session]);
            panic!("pane never showed {want:?}:\n{pane}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn edit_save_quit_and_a_denied_file_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
        eprintln!("skipping: no tmux");
        return;
    }
    let session = format!("eurali-edit-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_eurali");
    let cmd = format!("{bin}; echo EXITED $?; sleep 60");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "90",
        "-y",
        "24",
        &cmd,
    ]);
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", session.as_str()];
        a.extend_from_slice(k);
        tmux(&a);
    };
    wait_for(&session, "login:");
    keys(&["user", "Enter"]);
    wait_for(&session, "password:");
    keys(&["user", "Enter"]);
    wait_for(&session, "user:~$");

    keys(&["edit notes.txt", "Enter"]);
    // kibi's screen: line numbers, its status bar with the file name, its help line.
    let pane = wait_for(&session, "^S save");
    assert!(pane.contains("notes.txt"), "{pane}");
    assert!(pane.contains("1 │"), "{pane}");
    keys(&["-l", "Hello from kibi, ünïcödé"]);
    keys(&["Enter"]);
    keys(&["-l", "second line"]);
    keys(&["Enter"]);
    wait_for(&session, "notes.txt (modified)");
    keys(&["C-s"]);
    wait_for(&session, "written to notes.txt");
    keys(&["C-q"]);
    wait_for(&session, "user:~$ edit notes.txt");
    keys(&["cat notes.txt", "Enter"]);
    let pane = wait_for(&session, "second line\nuser:~$");
    assert!(
        pane.contains("user:~$ cat notes.txt\nHello from kibi, ünïcödé\nsecond line\n"),
        "{pane}"
    );

    // /etc is read-only for an ordinary user: kibi opens the file, and saving fails with its
    // own message on the status bar, not a crash; Ctrl-Q twice leaves it unsaved.
    keys(&["edit /etc/motd", "Enter"]);
    wait_for(&session, "Welcome to eurali.");
    wait_for(&session, "^S save");
    keys(&["X", "C-s"]);
    let pane = wait_for(&session, "Can't save! I/O error:");
    assert!(pane.contains("permission denied"), "{pane}");
    keys(&["C-q"]);
    wait_for(&session, "Press Ctrl+Q 1 more time to quit");
    keys(&["C-q"]);
    wait_for(&session, "user:~$ edit /etc/motd\nuser:~$");
    // A directory is refused by kibi with its error, and the shell goes on.
    keys(&["edit /etc; echo status $?", "Enter"]);
    let pane = wait_for(&session, "status 1");
    assert!(pane.contains("Invalid input file type"), "{pane}");

    keys(&["exit", "Enter"]);
    wait_for(&session, "login:");
    tmux(&["kill-session", "-t", &session]);
}
