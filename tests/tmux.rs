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
    // A here-document typed line by line: its lines are the body, not commands.
    keys(&[
        "read hd <<EOF",
        "Enter",
        "echo body",
        "Enter",
        "EOF",
        "Enter",
    ]);
    keys(&["echo \"[$hd]\"", "Enter"]);
    wait_for(&session, "> EOF\nroot:/$ echo \"[$hd]\"\n[echo body]\n");
    // An error that ends a script abandons only the line in an interactive shell.
    keys(&[
        "echo $((1/0)); echo dropped",
        "Enter",
        "echo still here",
        "Enter",
    ]);
    wait_for(&session, "\nstill here\n");
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
    assert!(!pane.contains("\ndropped"), "{pane}");
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
    wait_for(&session, "user:~$ echo remembered");
    // The history builtin lists the earlier session's lines too.
    keys(&["C-u", "history", "Enter"]);
    let pane = wait_for(&session, "  echo remembered\n");
    assert!(pane.contains("  echo made > notes.txt\n"), "{pane}");
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

/// Starts `eurali ARGS` in a new tmux session `cols` wide; returns the session's name.
fn start_session(tag: &str, args: &str, cols: usize) -> Option<String> {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tmux is needed under CI");
        eprintln!("skipping: no tmux");
        return None;
    }
    let session = format!("eurali-{tag}-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_eurali");
    let cmd = format!("{bin} {args}; echo EXITED $?; sleep 60");
    let cols = cols.to_string();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        &cols,
        "-y",
        "30",
        &cmd,
    ]);
    Some(session)
}

/// The pane's last non-blank row, trimmed.
fn last_row(session: &str) -> String {
    let pane = tmux(&["capture-pane", "-t", session, "-p"]);
    pane.lines()
        .map(str::trim_end)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Waits until the pane's last non-blank row is `want`.
fn wait_last_row(session: &str, want: &str) {
    let start = Instant::now();
    while last_row(session) != want {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the last row never was {want:?}:\n{}",
            tmux(&["capture-pane", "-t", session, "-p"])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the issue asked of the interactive shell, as a user types it: Ctrl-R, word keys, Tab
/// completion of awkward names, variables and redirections, listed candidates, PS1/PS2, and
/// output without a final newline kept on the screen.
#[test]
fn search_words_completion_and_prompts_in_tmux() {
    let Some(session) = start_session("features", "-c sh --user user", 70) else {
        return;
    };
    let s = session.as_str();
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", s];
        a.extend_from_slice(k);
        tmux(&a);
    };
    wait_for(s, "user:~$");
    // Keys with escapes or Tab wait for the prompt: typed while a command runs they go
    // through the console's cooked mode.
    let at_prompt = || wait_last_row(s, "user:/tmp$");
    keys(&[
        "cd /tmp && mkdir 'my dir' && echo inside > 'my dir/a file'",
        "Enter",
    ]);
    keys(&["touch item1 item2 item3 other", "Enter"]);
    // Output without a final newline: kept, marked, the prompt below it.
    keys(&["printf 'no newline'", "Enter"]);
    wait_for(s, "\nno newline%\nuser:/tmp$");
    // Completion: a name with a space is escaped, a directory gets its slash, then the file.
    keys(&["cat my", "Tab"]);
    wait_last_row(s, "user:/tmp$ cat my\\ dir/");
    keys(&["Tab"]);
    wait_last_row(s, "user:/tmp$ cat my\\ dir/a\\ file");
    keys(&["Enter"]);
    wait_for(s, "a\\ file\ninside\n");
    at_prompt();
    // A word begun with a quote is completed in it and the quote closed.
    keys(&["cat 'my dir/a", "Tab", "Enter"]);
    wait_for(s, "cat 'my dir/a file'\ninside\n");
    at_prompt();
    // Several candidates: their common prefix first; then listed in columns under the line,
    // the line drawn again below.
    keys(&["ls it", "Tab"]);
    wait_last_row(s, "user:/tmp$ ls item");
    keys(&["Tab"]);
    wait_for(s, "\nitem1  item2  item3\nuser:/tmp$ ls item");
    keys(&["C-u", "MYVARIABLE=42", "Enter"]);
    wait_for(s, "$ MYVARIABLE=42\nuser:/tmp$");
    // After `>` a file, after `;` and `|` a command; $VARIABLES.
    keys(&["echo $MYVAR", "Tab", "> ot", "Tab"]);
    wait_last_row(s, "user:/tmp$ echo $MYVARIABLE > other");
    keys(&["; ech", "Tab", "$MYVARIABLE | ca", "Tab", "Enter"]);
    wait_for(s, "echo $MYVARIABLE | cat\n42\n");
    // Word keys: Alt-b twice, Ctrl-W, Alt-f, Alt-d, Ctrl-Left, Home/End.
    at_prompt();
    keys(&["echo one two three four"]);
    keys(&["M-b", "M-b", "C-w", "End", "C-Left", "M-BSpace"]);
    wait_last_row(s, "user:/tmp$ echo one four");
    keys(&["Home", "M-f", "M-d", "End", "!", "Enter"]);
    wait_for(s, "user:/tmp$ echo four!\nfour!\n");
    at_prompt();
    // Ctrl-R: the newest line with "i", Ctrl-R again for an older one, more text, Backspace.
    keys(&["C-r", "i"]);
    wait_last_row(s, "(reverse-i-search)`i': cat 'my dir/a file'");
    keys(&["C-r"]);
    wait_last_row(s, "(reverse-i-search)`i': cat my\\ dir/a\\ file");
    keys(&["nsi"]);
    wait_for(s, "\n(reverse-i-search)`insi': cd /tmp && mkdir");
    keys(&["C-r"]);
    wait_for(s, "\n(failed reverse-i-search)`insi': cd /tmp && mkdir");
    keys(&["BSpace", "BSpace", "BSpace"]);
    wait_last_row(s, "(reverse-i-search)`i': cat 'my dir/a file'");
    // Esc ends the search keeping the line; editing goes on from there.
    keys(&["Escape"]);
    wait_last_row(s, "user:/tmp$ cat 'my dir/a file'");
    keys(&["End", " /dev/null", "Enter"]);
    wait_for(s, "cat 'my dir/a file' /dev/null\ninside\n");
    // Ctrl-C drops a failed search.
    at_prompt();
    keys(&["C-r", "nothing like it"]);
    wait_last_row(
        s,
        "(failed reverse-i-search)`nothing like it': printf 'no newline'",
    );
    keys(&["C-c"]);
    wait_for(s, "^C\nuser:/tmp$");
    // `history` lists what Up recalls, numbered.
    keys(&["history", "Enter"]);
    wait_for(s, "    3  printf 'no newline'\n");
    // PS1 and PS2.
    keys(&["PS1='[\\W]\\$ '; PS2='more> '", "Enter"]);
    wait_for(s, "\n[tmp]$");
    keys(&["for i in a b; do", "Enter"]);
    wait_for(s, "\nmore>");
    keys(&["echo $i; done", "Enter"]);
    wait_for(s, "more> echo $i; done\na\nb\n[tmp]$");
    keys(&["exit 4", "Enter"]);
    let pane = wait_for(s, "EXITED");
    tmux(&["kill-session", "-t", s]);
    assert!(pane.contains("EXITED 4"), "{pane}");
}
