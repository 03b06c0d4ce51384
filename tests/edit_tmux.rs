//! The editor (kibi, ported) at a real terminal, in tmux: the whole system booted as `cargo run`
//! boots it (in-process) and as `cargo xtask run` does (hosted, the real ELFs). Log in,
//! `edit notes.txt`, type, save (Ctrl-S), quit (Ctrl-Q), `cat` it; a file the user may not write
//! shows kibi's error on its status bar and a directory kibi's error, not a crash; then kibi's
//! other keys on a Rust file: go to line, duplicate, remove, cut, copy, paste, find, a shell
//! command's output inserted (Ctrl-E), syntax colours, line numbers and a resize.

#[path = "common/hosted.rs"]
mod hosted;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
        eprintln!("skipping: no tmux");
        return false;
    }
    true
}

/// A tmux session running one command, killed on drop.
struct Session(String);

impl Session {
    fn start(tag: &str, cmd: &str) -> Session {
        let name = format!("eurali-edit-{tag}-{}", std::process::id());
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "90",
            "-y",
            "24",
            &format!("{cmd}; echo EXITED $?; sleep 60"),
        ]);
        Session(name)
    }

    fn keys(&self, k: &[&str]) {
        let mut a = vec!["send-keys", "-t", self.0.as_str()];
        a.extend_from_slice(k);
        tmux(&a);
    }

    /// Literal text (no key names). tmux takes an argument ending in `;` for a command
    /// separator, so a trailing `;` goes as `\;`.
    fn text(&self, t: &str) {
        match t.strip_suffix(';') {
            Some(head) => {
                if !head.is_empty() {
                    self.keys(&["-l", head]);
                }
                self.keys(&["\\;"]);
            }
            None => self.keys(&["-l", t]),
        }
    }

    fn pane(&self) -> String {
        tmux(&["capture-pane", "-t", &self.0, "-p"])
    }

    /// The pane with its colours (SGR escapes).
    fn pane_with_colours(&self) -> String {
        tmux(&["capture-pane", "-e", "-t", &self.0, "-p"])
    }

    /// Waits until the pane shows `want` (60 s at most); returns the pane.
    fn wait_for(&self, want: &str) -> String {
        let start = Instant::now();
        loop {
            let pane = self.pane();
            if pane.contains(want) {
                return pane;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "pane never showed {want:?}:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kibi's prompt (Ctrl-G, Ctrl-F, Ctrl-E): the key, the text, Enter.
    fn prompt(&self, key: &str, shown: &str, answer: &str) {
        self.keys(&[key]);
        self.wait_for(shown);
        self.text(answer);
        self.keys(&["Enter"]);
    }

    fn login(&self) {
        self.wait_for("login:");
        self.keys(&["user", "Enter"]);
        self.wait_for("password:");
        self.keys(&["user", "Enter"]);
        self.wait_for("user:~$");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.0]);
    }
}

/// Type, save, quit, cat; a read-only file; a directory.
fn save_and_errors(s: &Session) {
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
    // A directory is refused by kibi with its error, and the shell goes on.
    s.keys(&["edit /etc; echo status $?", "Enter"]);
    let pane = s.wait_for("status 1");
    assert!(pane.contains("Invalid input file type"), "{pane}");
    s.keys(&["cat /etc/motd", "Enter"]);
    s.wait_for("user:~$ cat /etc/motd\nWelcome to eurali.\nuser:~$");
}

/// kibi's editing keys on a Rust file.
fn editing_keys(s: &Session) {
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
    s.prompt("C-g", "Enter line number", "2");
    s.wait_for("| 2:");
    s.keys(&["C-d"]);
    s.wait_for("4 │}");
    s.keys(&["C-r"]);
    s.wait_for("1 │fn main() {\n2 │    let word = 1;\n3 │}\n~");
    // Cut line 1, paste it below the new line 1, cut line 1 again and paste it back below.
    s.prompt("C-g", "Enter line number", "1");
    s.keys(&["C-x"]);
    s.wait_for("1 │    let word = 1;\n2 │}\n~");
    s.keys(&["C-v"]);
    s.wait_for("1 │    let word = 1;\n2 │fn main() {\n3 │}");
    s.prompt("C-g", "Enter line number", "1");
    s.keys(&["C-x", "C-v"]);
    s.wait_for("1 │fn main() {\n2 │    let word = 1;\n3 │}\n~");
    // Copy line 3 and paste it twice, then remove both copies.
    s.prompt("C-g", "Enter line number", "3");
    s.keys(&["C-c", "C-v", "C-v"]);
    s.wait_for("5 │}");
    s.keys(&["C-r", "C-r"]);
    s.wait_for("1 │fn main() {\n2 │    let word = 1;\n3 │}\n~");
    // Find: the cursor lands on the match (line 2, column 9).
    s.prompt("C-f", "Search", "word");
    s.wait_for("| 2:9");
    // Ctrl-E: a command's output goes in at the cursor (a new line after line 3).
    s.prompt("C-g", "Enter line number", "3");
    s.keys(&["End", "Enter"]);
    s.wait_for("4 │\n");
    s.prompt("C-e", "Command to execute", "echo // from the shell");
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
    tmux(&["resize-window", "-t", &s.0, "-x", "60", "-y", "20"]);
    std::thread::sleep(Duration::from_millis(200));
    s.keys(&["C-l"]);
    let start = Instant::now();
    loop {
        let pane = s.pane();
        let status = pane.lines().find(|l| l.starts_with("a.rs (modified)"));
        if status.is_some_and(|l| l.chars().count() == 60) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the status bar never spanned 60 columns:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
    let s = Session::start(tag, cmd);
    s.login();
    save_and_errors(&s);
    editing_keys(&s);
    s.keys(&["exit", "Enter"]);
    s.wait_for("login:");
}

#[test]
fn edit_in_process_in_tmux() {
    if !have_tmux() {
        return;
    }
    exercise("inproc", env!("CARGO_BIN_EXE_eurali"));
}

#[test]
fn edit_hosted_in_tmux() {
    if !have_tmux() {
        return;
    }
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
