//! Issue 18: `--help` for every tool, builtin and program, `help NAME`, `man NAME` and the
//! pager `less` as a user meets them (the terminal cases are in `man_less_at_a_terminal`,
//! driven through tmux).

#[path = "common/as_user.rs"]
mod as_user;
#[path = "common/run.rs"]
mod run;
#[path = "common/tmux.rs"]
mod tmux;

use as_user::as_user;
use run::eurali_run;
use std::time::Duration;
use tmux::Pane;

fn sh(script: &str) -> run::Run {
    eurali_run(&["-c", script], [], &[], Duration::from_secs(120))
}

/// Every coreutils tool answers `--help` as its first argument: status 0, a usage line naming
/// it on stdout, nothing on stderr (`ls --help` was "invalid option -- '-'", `date --help`
/// printed the date).
#[test]
fn every_tool_answers_help() {
    let mut script = String::new();
    for (t, _) in vfs::image::TOOLS {
        // (By path: `true`, `false` and `printf` are builtins too.)
        script.push_str(&format!(
            "/bin/{t} --help > /tmp/h; echo \"{t} rc=$?\"; head -n 1 /tmp/h\n"
        ));
    }
    let r = sh(&script);
    assert_eq!(r.stderr, "", "{}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2 * vfs::image::TOOLS.len(), "{}", r.stdout);
    for (k, (t, _)) in vfs::image::TOOLS.iter().enumerate() {
        assert_eq!(lines[2 * k], format!("{t} rc=0"), "{}", r.stdout);
        assert!(
            lines[2 * k + 1].starts_with(&format!("Usage: {t} "))
                || lines[2 * k + 1] == format!("Usage: {t}"),
            "{t}: {}",
            lines[2 * k + 1]
        );
    }
    // The options are the tool's own.
    let r = sh("ls --help; grep --help | grep -c -e '-i  ignore case'");
    assert!(r.stdout.contains("  -l  long format"), "{}", r.stdout);
    assert!(r.stdout.ends_with("\n1\n"), "{}", r.stdout);
    assert!(!r.stdout.contains("invalid option"), "{}", r.stdout);
}

/// `help` lists the builtins; `help NAME` and `NAME --help` show each (bash's way), except
/// where POSIX gives `--help` to the command as data (echo prints it, as in bash and dash);
/// `help nosuch` fails with 1.
#[test]
fn every_builtin_answers_help() {
    let r = sh("help");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let names: Vec<String> = r
        .stdout
        .lines()
        .skip_while(|l| !l.is_empty())
        .flat_map(|l| l.split("  "))
        .flat_map(|n| n.split(", "))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    for b in [
        "cd", "chdir", "export", "jobs", "fg", "bg", "ns", "mount", "bind", "help", ".",
    ] {
        assert!(names.iter().any(|n| n == b), "{b} not in {names:?}");
    }
    let data = [":", "true", "false", "echo", "test", "["];
    let mut script = String::new();
    for n in &names {
        script.push_str(&format!("help '{n}' | head -n 1; echo \"rc=$?\"\n"));
        if !data.contains(&n.as_str()) {
            script.push_str(&format!("'{n}' --help | head -n 1; echo \"rc=$?\"\n"));
        }
    }
    let r = sh(&script);
    assert_eq!(r.stderr, "", "{}", r.stdout);
    let mut lines = r.stdout.lines();
    for n in &names {
        let times = if data.contains(&n.as_str()) { 1 } else { 2 };
        for _ in 0..times {
            let usage = lines.next().unwrap_or_default();
            assert!(usage.starts_with("Usage: "), "{n}: {usage}\n{}", r.stdout);
            assert_eq!(lines.next(), Some("rc=0"), "{n}\n{}", r.stdout);
        }
    }
    let r = sh("help cd; cd --help >/dev/null; echo rc=$?; echo --help; help nosuch; echo rc=$?");
    assert!(
        r.stdout.starts_with("Usage: cd [-L|-P] [DIR | -]\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("rc=0\n--help\nrc=1\n"), "{}", r.stdout);
    assert_eq!(r.stderr, "sh: help: no help topics match `nosuch'\n");
    // `sh --help` and `exec --help` too (exec is not run).
    let r = sh("exec --help | head -n 1; sh --help | head -n 1");
    assert_eq!(
        r.stdout,
        "Usage: exec [COMMAND [ARG...]]\nUsage: sh [-eunvxC] [-o OPTION] [-c COMMANDS [NAME [ARG...]] | FILE [ARG...]]\n"
    );
}

/// The programs in /bin answer `--help` too, without doing their job (ramdisk does not wait
/// for requests, passwd asks for nothing, init boots nothing).
#[test]
fn every_program_answers_help() {
    let r = sh(
        "for p in init login passwd edit gopher tcp ramdisk fatfs drivers hello echo coreutils; do \
         /bin/$p --help < /dev/null > /tmp/h; echo \"$p rc=$?\"; head -n 1 /tmp/h; done",
    );
    assert_eq!(r.stderr, "", "{}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 24, "{}", r.stdout);
    for pair in lines.chunks(2) {
        let p = pair[0].split(' ').next().unwrap_or_default();
        assert_eq!(pair[0], format!("{p} rc=0"), "{}", r.stdout);
        assert!(
            pair[1]
                .to_ascii_lowercase()
                .starts_with(&format!("usage: {p}")),
            "{p}: {}",
            pair[1]
        );
    }
}

/// `man NAME` off a terminal is the page as text (`man ls | head`), for an ordinary user
/// too (/usr/share/man is in every namespace, read-only); `man nosuch` says so with status 16
/// as man-db; `man -k` searches the NAME lines; `less` copies through when not at a terminal.
#[test]
fn man_pages_and_the_pager_off_a_terminal() {
    let r = as_user(
        "man ls | head -n 2; echo rc=$?
         man nosuch; echo rc=$?
         man -k directory
         ls /usr/share/man | grep -c .
         touch /usr/share/man/x; echo rc=$?
         printf 'a\\nb\\n' | less; less /usr/share/man/cd | head -n 1
         man sh | grep -c '^DESCRIPTION'",
    );
    let (out, err) = (&r.stdout, &r.stderr);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("NAME"), "{out}\n{err}");
    assert_eq!(lines.next(), Some("    ls - list directory contents"));
    assert_eq!(lines.next(), Some("rc=0"));
    assert_eq!(lines.next(), Some("rc=16"));
    let rest: Vec<&str> = lines.collect();
    assert!(rest.contains(&"ls - list directory contents"), "{out}");
    assert!(rest.contains(&"cd - change the working directory"), "{out}");
    let pages: usize = rest
        .iter()
        .find_map(|l| l.parse().ok())
        .expect("a count of pages");
    assert!(pages > vfs::image::TOOLS.len(), "{out}");
    assert!(rest.ends_with(&["rc=1", "a", "b", "NAME", "1"]), "{out}");
    assert!(err.starts_with("No manual entry for nosuch\n"), "{err}");
    assert!(
        err.contains("Permission denied") || err.contains("Read-only"),
        "{err}"
    );
}

/// Every page installed follows the layout: sections in capitals at column 0, NAME first with
/// `name - what`, lines at most 78 columns, ASCII.
#[test]
fn every_page_has_the_layout() {
    let pages = vfs::image::man_pages().expect("the pages inflate");
    assert!(pages.iter().count() > 100, "pages missing");
    for (name, text) in pages.iter() {
        let text = std::str::from_utf8(text).expect("ASCII");
        assert!(text.is_ascii(), "{name}");
        assert!(text.starts_with(&format!("NAME\n    {name} - ")), "{name}");
        assert!(text.contains("\nDESCRIPTION\n"), "{name}");
        for l in text.lines() {
            assert!(l.len() <= 78, "{name}: {l}");
            assert!(
                l.is_empty()
                    || l.starts_with("    ")
                    || l.chars().all(|c| c.is_ascii_uppercase() || c == ' '),
                "{name}: {l}"
            );
        }
    }
    for (t, _) in vfs::image::TOOLS {
        assert!(pages.iter().any(|(n, _)| n == *t), "no page for {t}");
    }
}

/// `man ls` at a terminal: the pager, paged with Space and b, searched with /, left with q;
/// the prompt is back and works. `cat FILE | less` reads keys from the terminal, not the pipe,
/// and Ctrl-C leaves it too.
#[test]
fn man_less_at_a_terminal() {
    let cmd = format!("{} --user user", env!("CARGO_BIN_EXE_eurali"));
    let Some(s) = Pane::start("man", &cmd, 80, 12) else {
        return;
    };
    s.wait_for("~$");
    s.keys(&["man ls", "Enter"]);
    let first = s.wait_for("Manual page ls lines 1-11/");
    assert!(
        first.starts_with("NAME\n    ls - list directory contents"),
        "{first}"
    );
    s.keys(&["Space"]);
    let second = s.wait_for("Manual page ls lines 12-");
    assert!(
        !second.contains("    ls - list directory contents"),
        "{second}"
    );
    s.keys(&["b"]);
    s.wait_for("Manual page ls lines 1-11/");
    s.keys(&["j"]);
    s.wait_for("Manual page ls lines 2-12/");
    s.keys(&["/", "OPTIONS", "Enter"]);
    // The whole screen, status line included (the pager draws it top to bottom).
    let found = s.wait_until("the OPTIONS section at the top", |p| {
        p.starts_with("OPTIONS") && p.contains("Manual page ls lines")
    });
    assert!(found.contains("-l\n        Long format"), "{found}");
    s.keys(&["g"]);
    s.wait_for("Manual page ls lines 1-11/");
    s.keys(&["G"]);
    s.wait_for("(END)");
    s.keys(&["q"]);
    s.wait_until("the prompt back", |p| {
        !p.contains("(END)") && p.contains("$ man ls")
    });
    s.keys(&["echo alive", "Enter"]);
    s.wait_for("\nalive\n");
    // From a pipe: the keys still come from the terminal.
    s.keys(&["seq 1 100 | less", "Enter"]);
    s.wait_for("lines 1-11/100");
    s.keys(&["Space"]);
    let p = s.wait_for("lines 12-22/100");
    assert!(p.starts_with("12\n13\n"), "{p}");
    s.keys(&["C-c"]);
    s.wait_until("the prompt after C-c", |p| p.contains("$ seq 1 100 | less"));
    s.keys(&["echo still $?", "Enter"]);
    s.wait_for("\nstill 0\n");
}
