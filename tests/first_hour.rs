//! Issue 18, "the first hour at the prompt": what a Unix user reaches for, as a user types it,
//! compared with what GNU coreutils and dash print. (The console cases are in tests/tmux.rs.)

#[path = "common/as_user.rs"]
mod as_user;
use as_user::as_user;

/// `mv` from the user's home to the private /tmp (two file servers): copied and removed, a
/// directory whole, as coreutils' mv between file systems; a missing source is "cannot stat";
/// a destination the user may not write leaves the source where it was.
#[test]
fn mv_moves_across_file_servers() {
    let r = as_user(
        "cd; echo x > a; mkdir d; echo y > d/f
         mv a /tmp/; echo rc=$?; cat /tmp/a; ls
         mv d /tmp/dd; echo rc=$?; cat /tmp/dd/f; ls
         echo old > /tmp/over; echo new > c; mv c /tmp/over; echo rc=$?; cat /tmp/over
         mv nothere /tmp/; echo rc=$?
         echo z > b; mv b /bin/; echo rc=$?; cat b",
    );
    assert_eq!(
        r.stdout, "rc=0\nx\nd\nrc=0\ny\nrc=0\nnew\nrc=1\nrc=1\nz\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "mv: cannot stat 'nothere': No such file or directory\n\
         mv: cannot create regular file '/bin/b': Permission denied\n"
    );
}

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/run.rs"]
mod run;
use run::eurali_run;
use std::time::Duration;

/// `cargo run`'s command line: a coreutils tool runs by its own name, as in /bin; `-c` and
/// `--user` without their value (or twice) are a usage error, not a login prompt; `--user NAME`
/// alone is that user's shell without login.
#[test]
fn the_launchers_command_line() {
    let limit = Duration::from_secs(60);
    let r = eurali_run(&["basename", "/a/b.txt", ".txt"], [], &[], limit);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "b\n"),
        "{}",
        r.stderr
    );
    for bad in [
        &["-c"][..],
        &["--user"],
        &["-c", "true", "-c", "false"],
        &["--user", "user", "extra"],
    ] {
        let r = eurali_run(bad, [], &[], limit);
        assert_eq!(r.code, Some(2), "{bad:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.starts_with("usage: eurali"),
            "{bad:?}: {}",
            r.stderr
        );
        assert!(!r.stdout.contains("login:"), "{bad:?}: {}", r.stdout);
    }
    let r = eurali_run(
        &["--user", "user"],
        "echo I am $USER in $HOME\nexit 4\n",
        &[],
        limit,
    );
    assert_eq!(r.code, Some(4), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("I am user in /home/user\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("login:"), "{}", r.stdout);
}

/// The same names and statuses with the freestanding ELFs (`cargo xtask run`, `eurali --hosted`):
/// the shell is `sh` there too, and a program that is not there is 127, as in-process.
#[test]
fn the_launchers_names_are_the_same_hosted() {
    let limit = Duration::from_secs(60);
    let r = eurali_run(&["nosuchprog"], [], &[], limit);
    assert_eq!(r.code, Some(127), "{}", r.stderr);
    assert!(
        r.stderr.contains("no program named \"nosuchprog\""),
        "{}",
        r.stderr
    );
    let Some((dir, _)) = hosted::elfs(&["sh", "coreutils"]) else {
        return;
    };
    let dir = dir.to_string_lossy().into_owned();
    let r = eurali_run(
        &["--hosted", &dir, "sh", "-c", "echo hi; exit 3"],
        [],
        &[],
        limit,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(3), "hi\n"),
        "{}",
        r.stderr
    );
    let r = eurali_run(&["--hosted", &dir, "nosuchprog"], [], &[], limit);
    assert_eq!(r.code, Some(127), "{}", r.stderr);
    assert!(
        r.stderr.contains("no program named \"nosuchprog\""),
        "{}",
        r.stderr
    );
    let r = eurali_run(
        &["--hosted", &dir, "basename", "/a/b.txt", ".txt"],
        [],
        &[],
        limit,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "b\n"),
        "{}",
        r.stderr
    );
}

/// Creating where only mounts make the directory (`/`, `/home` of a user's namespace) is
/// "Permission denied", as for a directory one may not write, not "No such file or directory";
/// a missing parent is still that.
#[test]
fn creating_beside_the_mounts_is_permission_denied() {
    let r = as_user(
        "touch /newf; echo rc=$?; mkdir /newdir; echo rc=$?; mkdir /home/user2; echo rc=$?
         mkdir /nonexist/x; echo rc=$?; echo x > /f2; echo rc=$?; cat /nofile; echo rc=$?",
    );
    assert_eq!(
        r.stdout, "rc=1\nrc=1\nrc=1\nrc=1\nrc=2\nrc=1\n",
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr,
        "touch: cannot touch '/newf': Permission denied\n\
         mkdir: cannot create directory '/newdir': Permission denied\n\
         mkdir: cannot create directory '/home/user2': Permission denied\n\
         mkdir: cannot create directory '/nonexist/x': No such file or directory\n\
         sh: /f2: Permission denied\n\
         cat: /nofile: No such file or directory\n"
    );
}

/// A piped session ends with its last shell's status, as a script would (it was always 0).
#[test]
fn a_piped_session_ends_with_its_status() {
    let limit = Duration::from_secs(60);
    let r = eurali_run::<&str>(&[], "root\nroot\necho hi\nexit 3\n", &[], limit);
    assert_eq!(r.code, Some(3), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("hi\n"), "{}", r.stdout);
    let r = eurali_run::<&str>(&[], "root\nroot\nfalse\n", &[], limit);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let r = eurali_run::<&str>(&[], "root\nroot\ntrue\n", &[], limit);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}
