//! The editor (kibi, ported) at a real terminal, in tmux: the whole system booted as `cargo run`
//! boots it (in-process) and as `cargo xtask run` does (hosted, the real ELFs). Log in,
//! `edit notes.txt`, type, save (Ctrl-S), quit (Ctrl-Q), `cat` it; a file the user may not write
//! shows kibi's error on its status bar and a directory an error message, not a crash; then kibi's
//! other keys on a Rust file: go to line, duplicate, remove, cut, copy, paste, find, a shell
//! command's output inserted (Ctrl-E), syntax colours, line numbers and a resize.

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/tmux.rs"]
mod tmux;
use std::time::Duration;
use tmux::Pane;

/// Kibi's prompt (Ctrl-G, Ctrl-F, Ctrl-E): the key, the text, Enter.
fn prompt(s: &Pane, key: &str, shown: &str, answer: &str) {
    s.keys(&[key]);
    s.wait_for(shown);
    s.text(answer);
    s.keys(&["Enter"]);
}

fn login(s: &Pane) {
    s.wait_for("login:");
    s.keys(&["user", "Enter"]);
    s.wait_for("password:");
    s.keys(&["user", "Enter"]);
    s.wait_for("user:~$");
}

/// Type, save, quit, cat; a read-only file; a directory.
fn save_and_errors(s: &Pane) {
    s.keys(&["edit notes.txt", "Enter"]);
    // kibi's screen: line numbers, its status bar with the file name, its help line.
    let pane = s.wait_for("^S save");
    assert!(pane.contains("notes.txt"), "{pane}");
    assert!(pane.contains("1 │"), "{pane}");
    s.text("Hello from kibi, ünïcödé");
    s.keys(&["Enter"]);
    s.text("second line");
    s.keys(&["Enter"]);
    s.wait_for("notes.txt (modified)");
    s.keys(&["C-s"]);
    s.wait_for("written to notes.txt");
    s.keys(&["C-q"]);
    s.wait_for("user:~$ edit notes.txt");
    s.keys(&["cat notes.txt", "Enter"]);
    let pane = s.wait_for("second line\nuser:~$");
    assert!(
        pane.contains("user:~$ cat notes.txt\nHello from kibi, ünïcödé\nsecond line\n"),
        "{pane}"
    );

    // /etc is read-only for an ordinary user: kibi opens the file, and saving fails with its
    // own message on the status bar, not a crash; Ctrl-Q twice leaves it unsaved.
    s.keys(&["edit /etc/motd", "Enter"]);
    s.wait_for("Welcome to eurali.");
    s.wait_for("^S save");
    s.keys(&["X", "C-s"]);
    let pane = s.wait_for("Can't save! I/O error:");
    assert!(pane.contains("permission denied"), "{pane}");
    s.keys(&["C-q"]);
    s.wait_for("Press Ctrl+Q 1 more time to quit");
    s.keys(&["C-q"]);
    s.wait_for("user:~$ edit /etc/motd\nuser:~$");
    // A directory is refused, with a message (not kibi's error's Debug), and the shell goes on.
    s.keys(&["edit /etc; echo status $?", "Enter"]);
    let pane = s.wait_for("status 1");
    assert!(pane.contains("edit: /etc: Is a directory\n"), "{pane}");
    s.keys(&["cat /etc/motd", "Enter"]);
    s.wait_for("user:~$ cat /etc/motd\nWelcome to eurali.\nuser:~$");
}

/// kibi's editing keys on a Rust file.
fn editing_keys(s: &Pane) {
    s.keys(&["edit a.rs", "Enter"]);
    s.wait_for("^S save");
    s.text("fn main() {");
    s.keys(&["Enter"]);
    s.text("    let word = 1;");
    s.keys(&["Enter"]);
    s.text("}");
    let pane = s.wait_for("3 │}");
    assert!(
        pane.contains("1 │fn main() {\n2 │    let word = 1;\n3 │}"),
        "{pane}"
    );
    // Go to line 2, duplicate it, remove the copy.
    prompt(s, "C-g", "Enter line number", "2");
    s.wait_for("| 2:");
    s.keys(&["C-d"]);
    s.wait_for("4 │}");
    s.keys(&["C-r"]);
    s.wait_for("1 │fn main() {\n2 │    let word = 1;\n3 │}\n~");
    // Cut line 1, paste it below the new line 1, cut line 1 again and paste it back below.
    prompt(s, "C-g", "Enter line number", "1");
    s.keys(&["C-x"]);
    s.wait_for("1 │    let word = 1;\n2 │}\n~");
    s.keys(&["C-v"]);
    s.wait_for("1 │    let word = 1;\n2 │fn main() {\n3 │}");
    prompt(s, "C-g", "Enter line number", "1");
    s.keys(&["C-x", "C-v"]);
    s.wait_for("1 │fn main() {\n2 │    let word = 1;\n3 │}\n~");
    // Copy line 3 and paste it twice, then remove both copies.
    prompt(s, "C-g", "Enter line number", "3");
    s.keys(&["C-c", "C-v", "C-v"]);
    s.wait_for("5 │}");
    s.keys(&["C-r", "C-r"]);
    s.wait_for("1 │fn main() {\n2 │    let word = 1;\n3 │}\n~");
    // Find: the cursor lands on the match (line 2, column 9).
    prompt(s, "C-f", "Search", "word");
    s.wait_for("| 2:9");
    // Ctrl-E: a command's output goes in at the cursor (a new line after line 3).
    prompt(s, "C-g", "Enter line number", "3");
    s.keys(&["End", "Enter"]);
    s.wait_for("4 │\n");
    prompt(s, "C-e", "Command to execute", "echo // from the shell");
    let pane = s.wait_for("4 │// from the shell");
    assert!(
        pane.contains("Rust"),
        "the status bar names the syntax: {pane}"
    );
    // Colours from /etc/kibi/syntax.d/rust.ini: keywords yellow, numbers red, comments blue.
    let colours = s.pane_with_colours();
    for want in [
        "\x1b[33mfn",
        "\x1b[33mlet",
        "\x1b[31m1",
        "\x1b[34m// from the shell",
    ] {
        assert!(colours.contains(want), "no {want:?} in:\n{colours}");
    }
    // A resize is seen at the next key (Ctrl-L redraws): the status bar spans the new width.
    s.resize(60, 20);
    std::thread::sleep(Duration::from_millis(200));
    s.keys(&["C-l"]);
    s.wait_until("a status bar spanning 60 columns", |pane| {
        pane.lines()
            .find(|l| l.starts_with("a.rs (modified)"))
            .is_some_and(|l| l.chars().count() == 60)
    });
    s.keys(&["C-s"]);
    s.wait_for("written to a.rs");
    s.keys(&["C-q"]);
    s.wait_for("user:~$ edit a.rs");
    s.keys(&["cat a.rs; echo END-$((1+1))", "Enter"]);
    let pane = s.wait_for("END-2\n");
    assert!(
        pane.contains("fn main() {\n    let word = 1;\n}\n// from the shell\nEND-2"),
        "{pane}"
    );
}

fn exercise(tag: &str, cmd: &str) {
    let Some(s) = Pane::start(&format!("edit-{tag}"), cmd, 90, 24) else {
        return;
    };
    login(&s);
    save_and_errors(&s);
    editing_keys(&s);
    s.keys(&["exit", "Enter"]);
    s.wait_for("login:");
}

#[test]
fn edit_in_process_in_tmux() {
    exercise("inproc", env!("CARGO_BIN_EXE_eurali"));
}

#[test]
fn edit_hosted_in_tmux() {
    let Some((dir, guest)) = hosted::elfs(&["edit"]) else {
        return;
    };
    let cmd = format!(
        "env EURALI_GUEST={} {} --hosted {}",
        guest.display(),
        env!("CARGO_BIN_EXE_eurali"),
        dir.display()
    );
    exercise("hosted", &cmd);
}
