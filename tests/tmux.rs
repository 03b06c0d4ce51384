//! The shell at a real terminal: `eurali sh` in tmux, typed at with send-keys, read back with
//! capture-pane — line editing, history, completion, continuation lines, cooked `read`, exit.

#[path = "common/tmux.rs"]
mod tmux;
use std::time::Duration;
use tmux::Pane;

#[test]
fn interactive_shell_in_tmux() {
    let cmd = format!("{} sh", env!("CARGO_BIN_EXE_eurali"));
    let Some(s) = Pane::start("test", &cmd, 100, 30) else {
        return;
    };
    s.wait_for("root:/$");
    // Editing: type, move left, delete, insert.
    s.keys(&[
        "echo hello wurld",
        "Left",
        "Left",
        "Left",
        "BSpace",
        "o",
        "Enter",
    ]);
    s.wait_for("hello world\n");
    // Completion of a builtin, then history (Up) re-runs the last line.
    s.keys(&["ech", "Tab", "again", "Enter"]);
    s.wait_for("\nagain\n");
    s.keys(&["Up", "Enter"]);
    let pane = s.wait_for("again\nroot:/$ echo again\nagain\n");
    assert!(pane.contains("root:/$ echo again"), "{pane}");
    // A loop over two lines, and a cooked read (the console echoes what is typed).
    s.keys(&["for i in 1 2; do", "Enter", "echo n$i; done", "Enter"]);
    s.wait_for("n1\nn2\n");
    // A here-document typed line by line: its lines are the body, not commands.
    // Each line waits for its prompt: keys typed early are echoed wherever the cursor is.
    s.keys(&["read hd <<EOF", "Enter"]);
    s.wait_for("read hd <<EOF\n>");
    s.keys(&["echo body", "Enter"]);
    s.wait_for("> echo body\n>");
    s.keys(&["EOF", "Enter"]);
    s.wait_for("> EOF\nroot:/$");
    s.keys(&["echo \"[$hd]\"", "Enter"]);
    s.wait_for("> EOF\nroot:/$ echo \"[$hd]\"\n[echo body]\n");
    // An error that ends a script abandons only the line in an interactive shell.
    s.keys(&[
        "echo $((1/0)); echo dropped",
        "Enter",
        "echo still here",
        "Enter",
    ]);
    s.wait_for("\nstill here\n");
    s.keys(&["read x; echo got $x", "Enter"]);
    s.wait_for("echo got $x\n");
    s.keys(&["typed line", "Enter"]);
    s.wait_for("got typed line");
    // Ctrl-C drops the line being typed.
    s.keys(&["echo never", "C-c"]);
    s.wait_for("echo never^C");
    // A trap on INT: Ctrl-C runs it instead of abandoning the command line.
    s.keys(&[
        "trap 'echo caught-int; stop=1' INT; stop=; while [ -z \"$stop\" ]; do :; done; echo went-on",
        "Enter",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    s.keys(&["C-c"]);
    s.wait_for("caught-int\nwent-on\n");
    // A loop of builtins only, interrupted: its status is the interrupt's, as dash's.
    s.keys(&["trap - INT; while true; do :; done", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    s.keys(&["C-c"]);
    s.keys(&["echo busy=$?", "Enter"]);
    s.wait_for("\nbusy=130\n");
    s.keys(&["exit 3", "Enter"]);
    let pane = s.wait_for("EXITED");
    drop(s);
    assert!(pane.contains("EXITED 3"), "{pane}");
    assert!(!pane.contains("\nnever"), "{pane}");
    assert!(!pane.contains("\ndropped"), "{pane}");
}

/// The whole system as `cargo run` starts it: init, login, the user's shell. Logs in, uses
/// history, completion and jobs, interrupts a program and a loop with Ctrl-C, logs out (init
/// starts login again) and logs in again to find the history kept.
#[test]
fn login_session_in_tmux() {
    let cmd = env!("CARGO_BIN_EXE_eurali");
    let Some(s) = Pane::start("login", cmd, 100, 40) else {
        return;
    };
    s.wait_for("login:");
    // Ctrl-C at the name prompt drops what was typed there, nothing more: the system stays up
    // (it shut down when no shell listened for Ctrl-C).
    s.keys(&["nobody", "C-c"]);
    s.wait_for("login: nobody^C");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!s.pane().contains("EXITED"), "{}", s.pane());
    s.keys(&["user", "Enter"]);
    s.wait_for("password:");
    s.keys(&["user", "Enter"]);
    s.wait_for("user:~$");
    // The user's namespace: `/` lists its mount points; a path completes with Tab.
    s.keys(&["ls /", "Enter"]);
    let pane = s.wait_for("tmp\n");
    for d in ["bin", "dev", "etc", "home"] {
        assert!(pane.contains(&format!("\n{d}\n")), "{pane}");
    }
    s.keys(&["echo made > notes.txt", "Enter"]);
    s.keys(&["cat no", "Tab", "Enter"]);
    s.wait_for("cat notes.txt\nmade\n");
    // Ctrl-C ends the foreground program, not the shell; and a loop of the shell's own.
    s.keys(&["sleep 100", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    s.keys(&["C-c"]);
    s.keys(&["echo status=$?", "Enter"]);
    s.wait_for("status=130");
    s.keys(&["while true; do sleep 1; done", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    s.keys(&["C-c"]);
    s.keys(&["echo loop=$?", "Enter"]);
    s.wait_for("loop=130");
    // A background job, listed, then waited for.
    s.keys(&["sleep 1 && echo job-finished &", "Enter"]);
    s.wait_for("[1] ");
    s.keys(&["jobs", "Enter"]);
    s.wait_for("Running");
    s.keys(&["wait; echo waited", "Enter"]);
    s.wait_for("job-finished\nwaited\n");
    // History: Up brings back the last line.
    s.keys(&["echo remembered", "Enter"]);
    s.wait_for("\nremembered\n");
    // Log out: init starts login again; log in again and find the history kept.
    s.keys(&["exit", "Enter"]);
    s.wait_for("$ exit\nlogin:");
    s.clear_history();
    s.keys(&["user", "Enter"]);
    s.wait_for("exit\nlogin: user\npassword:");
    s.keys(&["user", "Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    s.keys(&["Up", "Up"]);
    s.wait_for("user:~$ echo remembered");
    // The history builtin lists the earlier session's lines too.
    s.keys(&["C-u", "history", "Enter"]);
    let pane = s.wait_for("  echo remembered\n");
    assert!(pane.contains("  echo made > notes.txt\n"), "{pane}");
    drop(s);
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
    const PROMPT: &str = "root:/$ ";
    let cmd = format!("{} sh", env!("CARGO_BIN_EXE_eurali"));
    let Some(s) = Pane::start("wrap", &cmd, 40, 20) else {
        return;
    };
    // Waits until the rows from the last prompt on are `line` wrapped, then only blank ones,
    // and the line's first row is on the pane `times` times in all (more: a row drawn twice).
    let wait_line = |line: &str, times: usize| {
        let rows = wrapped(&format!("{PROMPT}{line}"), 40);
        s.wait_until(&format!("the rows {rows:#?} alone"), |p| {
            let lines: Vec<&str> = p.lines().map(str::trim_end).collect();
            let at = lines.iter().rposition(|l| l.starts_with(PROMPT.trim_end()));
            let shown = at.map(|i| &lines[i..]).unwrap_or_default();
            shown.len() >= rows.len()
                && shown.iter().zip(&rows).all(|(a, b)| *a == b.trim_end())
                && shown[rows.len()..].iter().all(|l| l.is_empty())
                && p.matches(rows[0].as_str()).count() == times
        });
    };
    s.wait_for(PROMPT.trim_end());
    // 8 + 5 + 90 = 103 columns: three rows.
    let mut line: Vec<char> = format!("echo {}", "0123456789".repeat(9)).chars().collect();
    s.keys(&[&line.iter().collect::<String>()]);
    wait_line(&line.iter().collect::<String>(), 1);
    // Back across the second wrap, delete two and insert three; to the start and the end.
    let mut edit = vec!["Left"; 30];
    edit.extend(["BSpace", "BSpace", "a", "b", "c", "Home", "End"]);
    s.keys(&edit);
    let at = line.len() - 30;
    line.splice(at - 2..at, "abc".chars());
    let edited: String = line.iter().collect();
    wait_line(&edited, 1);
    // Ctrl-U from the middle of the second row: the rest moves up, no row is left behind.
    s.keys(&["Home"]);
    s.keys(&vec!["Right"; 45]);
    s.keys(&["C-u"]);
    wait_line(&edited[45..], 1);
    // Ctrl-Y puts it back; run it: the whole line stays above its output.
    s.keys(&["C-y", "End", "Enter"]);
    let output = wrapped(&edited["echo ".len()..], 40).join("\n");
    let command = wrapped(&format!("{PROMPT}{edited}"), 40).join("\n");
    s.wait_for(&format!("{command}\n{output}\nroot:/$"));
    // History: Up brings the three rows back under the new prompt; editing at its first row.
    s.keys(&["Up"]);
    wait_line(&edited, 2);
    s.keys(&["Home", "Right", "Right", "Right", "Right", "Delete"]);
    wait_line(&format!("echo{}", &edited[5..]), 1);
    s.keys(&["C-c", "exit", "Enter"]);
    let p = s.wait_for("EXITED");
    drop(s);
    assert!(p.contains("EXITED 0"), "{p}");
}

/// What the issue asked of the interactive shell, as a user types it: Ctrl-R, word keys, Tab
/// completion of awkward names, variables and redirections, listed candidates, PS1/PS2, and
/// output without a final newline kept on the screen.
#[test]
fn search_words_completion_and_prompts_in_tmux() {
    let cmd = format!("{} -c sh --user user", env!("CARGO_BIN_EXE_eurali"));
    let Some(s) = Pane::start("features", &cmd, 70, 30) else {
        return;
    };
    s.wait_for("user:~$");
    // Keys with escapes or Tab wait for the prompt: typed while a command runs they go
    // through the console's cooked mode.
    let at_prompt = || s.wait_last_row("user:/tmp$");
    s.keys(&[
        "cd /tmp && mkdir 'my dir' && echo inside > 'my dir/a file'",
        "Enter",
    ]);
    s.keys(&["touch item1 item2 item3 other", "Enter"]);
    // Output without a final newline: kept, marked, the prompt below it.
    s.keys(&["printf 'no newline'", "Enter"]);
    s.wait_for("\nno newline%\nuser:/tmp$");
    // Completion: a name with a space is escaped, a directory gets its slash, then the file.
    s.keys(&["cat my", "Tab"]);
    s.wait_last_row("user:/tmp$ cat my\\ dir/");
    s.keys(&["Tab"]);
    s.wait_last_row("user:/tmp$ cat my\\ dir/a\\ file");
    s.keys(&["Enter"]);
    s.wait_for("a\\ file\ninside\n");
    at_prompt();
    // A word begun with a quote is completed in it and the quote closed.
    s.keys(&["cat 'my dir/a", "Tab", "Enter"]);
    s.wait_for("cat 'my dir/a file'\ninside\n");
    at_prompt();
    // Several candidates: their common prefix first; then listed in columns under the line,
    // the line drawn again below.
    s.keys(&["ls it", "Tab"]);
    s.wait_last_row("user:/tmp$ ls item");
    s.keys(&["Tab"]);
    s.wait_for("\nitem1  item2  item3\nuser:/tmp$ ls item");
    s.keys(&["C-u", "MYVARIABLE=42", "Enter"]);
    s.wait_for("$ MYVARIABLE=42\nuser:/tmp$");
    // After `>` a file, after `;` and `|` a command; $VARIABLES.
    s.keys(&["echo $MYVAR", "Tab", "> ot", "Tab"]);
    s.wait_last_row("user:/tmp$ echo $MYVARIABLE > other");
    s.keys(&["; ech", "Tab", "$MYVARIABLE | ca", "Tab", "Enter"]);
    s.wait_for("echo $MYVARIABLE | cat\n42\n");
    // Word keys: Alt-b twice, Ctrl-W, Alt-f, Alt-d, Ctrl-Left, Home/End.
    at_prompt();
    s.keys(&["echo one two three four"]);
    s.keys(&["M-b", "M-b", "C-w", "End", "C-Left", "M-BSpace"]);
    s.wait_last_row("user:/tmp$ echo one four");
    s.keys(&["Home", "M-f", "M-d", "End", "!", "Enter"]);
    s.wait_for("user:/tmp$ echo four!\nfour!\n");
    at_prompt();
    // Ctrl-R: the newest line with "i", Ctrl-R again for an older one, more text, Backspace.
    s.keys(&["C-r", "i"]);
    s.wait_last_row("(reverse-i-search)`i': cat 'my dir/a file'");
    s.keys(&["C-r"]);
    s.wait_last_row("(reverse-i-search)`i': cat my\\ dir/a\\ file");
    s.keys(&["nsi"]);
    s.wait_for("\n(reverse-i-search)`insi': cd /tmp && mkdir");
    s.keys(&["C-r"]);
    s.wait_for("\n(failed reverse-i-search)`insi': cd /tmp && mkdir");
    s.keys(&["BSpace", "BSpace", "BSpace"]);
    s.wait_last_row("(reverse-i-search)`i': cat 'my dir/a file'");
    // Esc ends the search keeping the line; editing goes on from there.
    s.keys(&["Escape"]);
    s.wait_last_row("user:/tmp$ cat 'my dir/a file'");
    s.keys(&["End", " /dev/null", "Enter"]);
    s.wait_for("cat 'my dir/a file' /dev/null\ninside\n");
    // Ctrl-C drops a failed search.
    at_prompt();
    s.keys(&["C-r", "nothing like it"]);
    s.wait_last_row("(failed reverse-i-search)`nothing like it': printf 'no newline'");
    s.keys(&["C-c"]);
    s.wait_for("^C\nuser:/tmp$");
    // `history` lists what Up recalls, numbered.
    s.keys(&["history", "Enter"]);
    s.wait_for("    3  printf 'no newline'\n");
    // PS1 and PS2.
    s.keys(&["PS1='[\\W]\\$ '; PS2='more> '", "Enter"]);
    s.wait_for("\n[tmp]$");
    s.keys(&["for i in a b; do", "Enter"]);
    s.wait_for("\nmore>");
    s.keys(&["echo $i; done", "Enter"]);
    s.wait_for("more> echo $i; done\na\nb\n[tmp]$");
    s.keys(&["exit 4", "Enter"]);
    let pane = s.wait_for("EXITED");
    drop(s);
    assert!(pane.contains("EXITED 4"), "{pane}");
}

/// `eurali -c 'echo hi'` at a terminal ends when its commands do: the console's key reader,
/// which nobody needed, no longer keeps the stub waiting (it gave up after ten seconds, with
/// "shutdown gave up waiting" on the screen).
#[test]
fn a_command_at_a_terminal_ends_at_once() {
    let cmd = format!("{} -c 'echo hi'", env!("CARGO_BIN_EXE_eurali"));
    let Some(s) = Pane::start("dash-c", &cmd, 100, 20) else {
        return;
    };
    let pane = s.wait_for("EXITED");
    assert!(pane.contains("hi\n"), "{pane}");
    assert!(pane.contains("EXITED 0"), "{pane}");
    // The stub says so when it had to give up on a thread (after ten seconds).
    assert!(!pane.contains("gave up"), "{pane}");
}

/// Ctrl-C under `eurali -c` at a terminal ends the command running and the script after it,
/// with status 130, as `dash -c` does (issue 19: it did nothing until the command ended). A
/// program of its own (`cat` here runs as the coreutils' applet, `edit` would be a process)
/// and the shell's own loops alike.
#[test]
fn ctrl_c_ends_a_command_run_with_dash_c() {
    for script in [
        "echo started; sleep 30; echo after=$?",
        "echo started; while :; do :; done; echo after=$?",
        "echo started; cat; echo after=$?",
    ] {
        let cmd = format!("{} -c '{script}'", env!("CARGO_BIN_EXE_eurali"));
        let Some(s) = Pane::start("ctrl-c", &cmd, 100, 20) else {
            return;
        };
        s.wait_for("started\n");
        std::thread::sleep(Duration::from_millis(300));
        s.keys(&["C-c"]);
        let pane = s.wait_for("EXITED");
        assert!(pane.contains("EXITED 130"), "{script}: {pane}");
        assert!(!pane.contains("after="), "{script}: {pane}");
    }
}
