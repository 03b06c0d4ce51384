//! An idle system blocks: sitting at `login:` and at the shell prompt, the whole system (the
//! stub and, hosted, every guest process) uses less than [`BOUND`] of one processor over
//! [`WINDOW`]. Hosted mode once used two whole cores there (every sleeping thread yielded in a
//! loop, and the stub's `yield` returned at once); `cargo xtask bench idle` reports the figures.

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/idle.rs"]
mod idle;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::Duration;
use tmux::Pane;

/// A generous bound (the goal is 1 %): a loaded test machine's noise stays below it, a thread
/// that spins does not.
const BOUND: f64 = 0.05;
const WINDOW: Duration = Duration::from_secs(5);

/// Boots `cmd` in a pane, measures at `login:`, logs in as user, measures at the prompt.
fn idle_at_login_and_prompt(tag: &str, cmd: &str) {
    let Some(s) = Pane::start(tag, cmd, 100, 30) else {
        return;
    };
    s.wait_for("login:");
    let pid = s.pid().expect("the pane's pid");
    // Boot's last threads settle (init's pool, the watchdog's idle second).
    std::thread::sleep(Duration::from_secs(2));
    let at_login = idle::share(pid, WINDOW);
    s.keys(&["user", "Enter"]);
    s.wait_for("password:");
    s.keys(&["user", "Enter"]);
    s.wait_for("user:~$");
    std::thread::sleep(Duration::from_secs(2));
    let at_prompt = idle::share(pid, WINDOW);
    eprintln!(
        "{tag}: idle at login: {:.2} % of a core, at the prompt: {:.2} %",
        at_login * 100.0,
        at_prompt * 100.0
    );
    assert!(
        at_login < BOUND,
        "{tag}: idle at login: {:.1} % of a core",
        at_login * 100.0
    );
    assert!(
        at_prompt < BOUND,
        "{tag}: idle at the prompt: {:.1} % of a core",
        at_prompt * 100.0
    );
    // Still alive and answering.
    s.keys(&["echo still-here", "Enter"]);
    s.wait_for("\nstill-here\n");
}

#[test]
fn hosted_idle_system_blocks() {
    let Some((bin, guest)) = hosted::elfs(&["init", "login", "sh", "ramdisk"]) else {
        return;
    };
    idle_at_login_and_prompt("idle-hosted", &idle::hosted_command(&bin, &guest));
}

#[test]
fn in_process_idle_system_blocks() {
    idle_at_login_and_prompt("idle-inproc", env!("CARGO_BIN_EXE_eurali"));
}
