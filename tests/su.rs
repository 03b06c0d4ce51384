//! Issue 18, "Missing": `su`, driven as a user would: `cargo run -- -c` as root and as a user
//! with the password piped in, and the console in tmux (where the password must not echo and
//! the user's shell must come back when the other user's ends).

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/run.rs"]
mod run;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::Duration;

use run::{Run, eurali_run};
use tmux::Pane;

const LIMIT: Duration = Duration::from_secs(120);

fn run_as(user: &str, script: &str, input: &[u8]) -> Run {
    eurali_run(&["-c", script, "--user", user], input, &[], LIMIT)
}

/// root switches to anyone without a password, into their namespace, home and number; the
/// other shell's status comes back; an unknown user, a bad option and a missing value are
/// refused with a message and a non-zero status.
#[test]
fn root_switches_without_a_password() {
    let r = run_as(
        "root",
        "su -c 'id; whoami; pwd; echo $HOME; ls /home' user; echo rc=$?
         su -c 'exit 7' user; echo rc=$?
         su nobody_here; echo rc=$?
         su -x; echo rc=$?
         su -c; echo rc=$?
         su a b; echo rc=$?
         su --help | head -n 1; whoami",
        b"",
    );
    assert_eq!(
        r.stdout,
        "uid=1000(user) gid=1000(user) groups=1000(user)\nuser\n/home/user\n/home/user\nuser\n\
         rc=0\nrc=7\nrc=1\nrc=2\nrc=2\nrc=2\nusage: su [-] [-c COMMAND] [USER]\nroot\n",
        "{}",
        r.stderr
    );
    let usage = "usage: su [-] [-c COMMAND] [USER]\n";
    for want in [
        "su: user 'nobody_here' does not exist\n",
        "su: invalid option '-x'\n",
        "su: option '-c' requires an argument\n",
        "su: one user name only\n",
    ] {
        assert!(r.stderr.contains(want), "{want:?} in\n{}", r.stderr);
    }
    assert_eq!(r.stderr.matches(usage).count(), 3, "{}", r.stderr);
    assert_eq!(r.code, Some(0));
}

/// An ordinary user must give the other user's password: a wrong one is "authentication
/// failure" with status 1 (and nothing runs), the right one runs root's shell, whose status
/// comes back; the user's own shell goes on as the user.
#[test]
fn a_user_needs_the_password() {
    let r = run_as(
        "user",
        "su -c 'echo ran; whoami'; echo rc=$?
         su -c 'whoami; id -u; exit 4' root; echo rc=$?
         whoami",
        b"wrong\nroot\n",
    );
    assert_eq!(
        r.stdout, "Password: rc=1\nPassword: root\n0\nrc=4\nuser\n",
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr, "su: authentication failure\n");
}

/// A scripted session as `printf … | cargo run` gives it: user logs in, `su`, root's password,
/// root's shell runs the next lines, `exit 3` comes back to the user's shell with status 3.
fn scripted_session(args: &[&str]) {
    let r = eurali_run(
        args,
        b"user\nuser\nsu\nroot\nwhoami\npwd\nexit 3\necho back=$?\nwhoami\nexit\n",
        &[],
        LIMIT,
    );
    assert!(
        r.stdout
            .contains("Password: root\n/home/root\nback=3\nuser\nlogin: "),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert!(!r.stderr.contains("su:"), "{}", r.stderr);
}

#[test]
fn su_in_a_scripted_session() {
    scripted_session(&[]);
}

#[test]
fn hosted_su_in_a_scripted_session() {
    // The same with the freestanding ELFs (`cargo xtask build`), as the real kernel runs them.
    let Some((dir, _)) = hosted::elfs(&["login", "sh", "passwd"]) else {
        return;
    };
    scripted_session(&["--hosted", dir.to_str().unwrap()]);
}

/// At the console: the user types `su` and root's password (not echoed), `whoami` says root,
/// `exit` returns to the user's shell (`whoami` says user again); a wrong password fails with
/// status 1 and the user's shell stays.
#[test]
fn su_at_the_console() {
    let cmd = env!("CARGO_BIN_EXE_eurali");
    let Some(s) = Pane::start("su", cmd, 100, 40) else {
        return;
    };
    s.wait_for("login:");
    s.keys(&["user", "Enter"]);
    s.wait_for("password:");
    s.keys(&["user", "Enter"]);
    s.wait_for("user:~$");
    s.keys(&["su", "Enter"]);
    s.wait_for("Password:");
    s.keys(&["root", "Enter"]);
    let pane = s.wait_for("root:~$");
    assert!(!pane.contains("Password: root"), "echoed:\n{pane}");
    s.keys(&["whoami; pwd", "Enter"]);
    let pane = s.wait_for("\n/home/root\n");
    assert!(pane.contains("\nroot\n/home/root\n"), "{pane}");
    s.keys(&["exit 5", "Enter"]);
    s.wait_until("the user's prompt again", |p| {
        p.matches("user:~$").count() == 2
    });
    s.keys(&["echo rc=$?; whoami", "Enter"]);
    let pane = s.wait_for("\nrc=5\n");
    s.wait_until("whoami", |p| p.contains("\nrc=5\nuser\n"));
    assert!(!pane.contains("login:\n"), "{pane}");
    s.keys(&["su root", "Enter"]);
    s.wait_until("the second password prompt", |p| {
        p.matches("Password:").count() == 2
    });
    s.keys(&["nope", "Enter"]);
    s.wait_for("su: authentication failure");
    s.keys(&["echo rc=$?; whoami", "Enter"]);
    let pane = s.wait_until("the status", |p| p.contains("\nrc=1\nuser\n"));
    assert!(!pane.contains("nope"), "echoed:\n{pane}");
    s.keys(&["exit", "Enter"]);
    s.wait_until("the login prompt again", |p| {
        p.matches("login:").count() == 2
    });
}

/// Ctrl-C at the console reaches the newest shell only: root logs in, `su user`, `sleep 100`,
/// C-c gives user's prompt back (not root's) with status 130, and `exit` comes back to root's
/// shell, whose job (su) was not interrupted; the same with a nested `sh`.
fn ctrl_c_in_the_newest_shell(tag: &str, cmd: &str) {
    let Some(s) = Pane::start(tag, cmd, 100, 50) else {
        return;
    };
    let count = |p: &str, prompt: &str| p.matches(prompt).count();
    s.wait_for("login:");
    s.keys(&["root", "Enter"]);
    s.wait_for("password:");
    s.keys(&["root", "Enter"]);
    s.wait_for("root:~$");
    s.keys(&["su user", "Enter"]);
    s.wait_for("user:~$");
    s.keys(&["sleep 100", "Enter"]);
    // The shell runs it (cooked mode) before the key comes.
    std::thread::sleep(Duration::from_secs(1));
    s.keys(&["C-c"]);
    let pane = s.wait_until("user's prompt after C-c", |p| count(p, "user:~$") == 2);
    assert_eq!(
        count(&pane, "root:~$"),
        1,
        "root's prompt came back:\n{pane}"
    );
    s.keys(&["echo rc=$?; whoami", "Enter"]);
    s.wait_until("the status", |p| p.contains("\nrc=130\nuser\n"));
    s.keys(&["exit", "Enter"]);
    s.wait_until("root's prompt again", |p| count(p, "root:~$") == 2);
    s.keys(&["echo su=$?; whoami", "Enter"]);
    s.wait_until("su's status", |p| p.contains("\nsu=0\nroot\n"));
    // A nested sh: C-c ends its job, not the nested sh.
    s.keys(&["sh", "Enter"]);
    s.wait_until("the nested prompt", |p| count(p, "root:~$") == 4);
    s.keys(&["sleep 100", "Enter"]);
    std::thread::sleep(Duration::from_secs(1));
    s.keys(&["C-c"]);
    s.wait_until("the nested prompt after C-c", |p| count(p, "root:~$") == 5);
    s.keys(&["echo nested=$?", "Enter"]);
    s.wait_for("\nnested=130\n");
    s.keys(&["exit 4", "Enter"]);
    s.wait_until("the outer prompt", |p| count(p, "root:~$") == 7);
    s.keys(&["echo outer=$?", "Enter"]);
    let pane = s.wait_for("\nouter=4\n");
    // And the outer shell has Ctrl-C again now that the nested one is gone.
    s.keys(&["sleep 100", "Enter"]);
    std::thread::sleep(Duration::from_secs(1));
    s.keys(&["C-c"]);
    s.wait_until("the outer prompt after C-c", |p| count(p, "root:~$") == 9);
    s.keys(&["echo again=$?", "Enter"]);
    s.wait_for("\nagain=130\n");
    assert!(!pane.contains("EXITED"), "{pane}");
}

#[test]
fn ctrl_c_reaches_the_newest_shell_at_the_console() {
    ctrl_c_in_the_newest_shell("su-ctrl-c", env!("CARGO_BIN_EXE_eurali"));
}

#[test]
fn hosted_ctrl_c_reaches_the_newest_shell_at_the_console() {
    let Some((dir, _)) = hosted::elfs(&["login", "sh", "passwd"]) else {
        return;
    };
    let cmd = format!(
        "{} --hosted {}",
        env!("CARGO_BIN_EXE_eurali"),
        dir.display()
    );
    ctrl_c_in_the_newest_shell("su-ctrl-c-hosted", &cmd);
}
