//! kibi's Esc at a real terminal (tmux), in-process and hosted: a lone Esc is a key at once
//! (it cancels the search prompt without another key), and Esc followed by an arrow key, alone
//! or sent together with it, moves the cursor instead of typing `[C` into the file (the
//! console has no read timeout; kibi's key reader times the wait after an Esc itself).

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/tmux.rs"]
mod tmux;
use std::time::Duration;
use tmux::Pane;

fn lone_esc(tag: &str, cmd: &str) {
    let Some(s) = Pane::start(&format!("esc-{tag}"), cmd, 90, 24) else {
        return;
    };
    s.wait_for("login:");
    s.keys(&["user", "Enter"]);
    s.wait_for("password:");
    s.keys(&["user", "Enter"]);
    s.wait_for("user:~$");
    s.keys(&["edit esc.txt", "Enter"]);
    s.wait_for("^S save");
    s.text("ab");
    s.wait_for("1 │ab");
    // The search prompt goes with a lone Esc, no further key needed.
    s.keys(&["C-f"]);
    s.wait_for("Search (Use ESC/Arrows/Enter):");
    s.keys(&["Escape"]);
    s.wait_until("the search prompt cancelled by Esc alone", |p| {
        !p.contains("Search (Use")
    });
    // Esc, a pause, then Left: the cursor moves.
    s.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(400));
    s.keys(&["Left"]);
    s.text("X");
    s.wait_for("1 │aXb");
    // Esc and Right in one go.
    s.keys(&["Escape", "Right"]);
    s.text("Y");
    s.wait_for("1 │aXbY");
    s.keys(&["C-s"]);
    s.wait_for("written to esc.txt");
    s.keys(&["C-q"]);
    s.wait_for("user:~$ edit esc.txt");
    s.keys(&["cat esc.txt; echo", "Enter"]);
    let pane = s.wait_for("aXbY\nuser:~$");
    assert!(!pane.contains("[C") && !pane.contains("[D"), "{pane}");
}

#[test]
fn lone_esc_in_process() {
    lone_esc("inproc", env!("CARGO_BIN_EXE_eurali"));
}

#[test]
fn lone_esc_hosted() {
    let Some((dir, guest)) = hosted::elfs(&["edit"]) else {
        return;
    };
    let cmd = format!(
        "env EURALI_GUEST={} {} --hosted {}",
        guest.display(),
        env!("CARGO_BIN_EXE_eurali"),
        dir.display()
    );
    lone_esc("hosted", &cmd);
}
