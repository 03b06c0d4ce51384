//! What belongs to whom, on the whole system (init, login, the shell, as `cargo run` boots it),
//! used as a user would (issue 16, items 4, 9 and 10):
//!
//! - a mount point (a user's home, their private /tmp) cannot be removed, renamed or replaced
//!   from inside it, and the next login finds the home where it was;
//! - the shell's `mount` and `bind` take each path whole (spaces, `#`, `$home`, line ends),
//!   and nothing in a path becomes another mount;
//! - `/proc` entries belong to the user that made them: a user sees and removes only theirs,
//!   root sees all.

use std::time::Duration;

use eurali_host::boot::{Captured, run_system_captured};

/// `init -c SCRIPT --user USER`, as `cargo run -- -c SCRIPT --user USER` runs.
fn run_as(user: &str, script: &str) -> Captured {
    run_system_captured(
        &eurali::programs(),
        &["-c".into(), script.into(), "--user".into(), user.into()],
        b"",
        Duration::from_secs(60),
    )
}

/// The whole system with `input` typed at its console (login, sessions).
fn typed(input: &str) -> Captured {
    run_system_captured(
        &eurali::programs(),
        &[],
        input.as_bytes(),
        Duration::from_secs(60),
    )
}

fn show(r: &Captured) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        r.code, r.stdout, r.stderr
    )
}

/// Item 4: as user, `rmdir /home/user` (their home, which is empty: a bind of root's
/// /home/user), renaming it, and replacing it with a file all fail with a clear error; so does
/// removing their private /tmp; the next login works, in the same home.
#[test]
fn a_user_cannot_remove_or_replace_their_own_mount_points() {
    let r = typed(
        "user\nuser\n\
         rmdir /home/user; echo rmdir=$?\n\
         echo PWNED > /home/user; echo redirect=$?\n\
         mv /home/user /home/user/moved; echo mv=$?\n\
         rmdir /tmp; echo tmp=$?\n\
         cd /home/user && rmdir .; echo dot=$?\n\
         exit\n\
         user\nuser\n\
         pwd; echo kept > f && cat f; ls /home\n\
         exit\n",
    );
    let out = &r.stdout;
    for line in [
        "rmdir=1",
        "redirect=2",
        "mv=1",
        "tmp=1",
        "dot=1",
        "/home/user\nkept\nuser\n",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{}", show(&r));
    }
    assert!(
        r.stderr
            .contains("rmdir: failed to remove '/home/user': resource busy: is a mount point"),
        "{}",
        show(&r)
    );
    assert!(
        r.stderr
            .contains("mv: cannot move '/home/user': resource busy: is a mount point")
            && r.stderr.contains("'/tmp': resource busy: is a mount point"),
        "{}",
        show(&r)
    );
    assert!(
        r.stderr.contains("sh: /home/user: Is a directory"),
        "{}",
        show(&r)
    );
    assert!(!out.contains("not a directory"), "{}", show(&r));
    assert!(!r.stderr.contains("no session"), "{}", show(&r));
}

/// Item 4, from root's side: root's own view is not a mount at /home/user, so root still
/// manages homes (an empty one can go and come back), while root's `/` cannot be removed.
#[test]
fn root_still_manages_homes_but_not_its_root() {
    let r = run_as(
        "root",
        "rmdir /home/user; echo gone=$?; mkdir /home/user; echo back=$?; \
         rmdir /; echo root=$?; ls /home",
    );
    assert!(
        r.stdout.contains("gone=0\nback=0\nroot=1\nroot\nuser\n"),
        "{}",
        show(&r)
    );
}

/// Item 9: `mount` and `bind` take each path as one argument: spaces, `#`, `$home` and a line
/// end stay in the path, and a line end followed by a spec item adds no mount (spliced into a
/// spec line, `bind '/home/user/l x<newline>ramdisk' /y` was `bind /home/user/l /x` and
/// `ramdisk /y`).
#[test]
fn mount_and_bind_take_paths_whole() {
    let script = r#"
        d='/home/user/a b#c$home'
        mkdir "$d" && echo spaced > "$d/f"
        bind "$d" /s && cat /s/f
        nl="$(printf '/home/user/l x\nramdisk')"
        mkdir "$nl" && echo lined > "$nl/f"
        bind "$nl" /y && cat /y/f
        mount -r "$d" '/m $home' && cat '/m $home/f'
        echo no > '/m $home/g' || echo read-only
        cd '/home/user/a b#c$home' && bind . "./in side" && cat "$d/in side/f"
        ns | grep -c -e '^/x$' -e '^/y$'
        ls /x || echo no-x
        mount -t ramdisk -s 4096 '/q #1' && echo small > '/q #1/f' && cat '/q #1/f'
        bind "$(printf 'a\0b')" /z; echo nul=$?
        bind -r; echo usage=$?
    "#;
    let r = run_as("user", script);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "spaced",
            "lined",
            "spaced",
            "read-only",
            "spaced",
            "1",
            "no-x",
            "small",
            "nul=1",
            "usage=2"
        ],
        "{}",
        show(&r)
    );
}

/// Item 10, as user: `ps` and `ls /proc` show the user's own processes only; root's entries
/// (init is pid 1) can be neither read nor removed (permission denied); the user's own can. An entry the user makes
/// is theirs whatever it claims (`forged` is spelt so that no command line holds it).
#[test]
fn a_user_sees_and_removes_only_their_own_processes() {
    let script = "printf 'root\\tfor%s' ged > /proc/new; \
                  ps; echo ---; ls /proc; echo ---; \
                  cat /proc/1; echo cat=$?; rm /proc/1; echo rm=$?; \
                  n=$(grep -l 'for[g]ed$' /proc/*); rm $n; echo own=$?; \
                  ps | grep -c 'for[g]ed$'";
    let r = run_as("user", script);
    let out = &r.stdout;
    let mut parts = out.split("---\n");
    let ps = parts.next().unwrap_or("");
    let ls = parts.next().unwrap_or("");
    let mut rows = ps.lines();
    assert!(
        rows.next().is_some_and(|h| h.contains("PID")),
        "{}",
        show(&r)
    );
    // PID USER ELAPSED HEAP CMD
    let rows: Vec<Vec<&str>> = rows.map(|l| l.split_whitespace().collect()).collect();
    assert!(
        rows.iter()
            .any(|r| r.get(1) == Some(&"user") && r.get(4) == Some(&"forged")),
        "{}",
        show(&r)
    );
    for row in &rows {
        assert_eq!(row.get(1), Some(&"user"), "{row:?} in\n{}", show(&r));
    }
    assert!(!ls.lines().any(|l| l == "1"), "{}", show(&r));
    assert_eq!(ls.lines().count(), rows.len(), "{}", show(&r));
    // Another's entry is not the user's to read or remove. The user's own goes.
    assert!(out.contains("cat=1\nrm=1\nown=0\n0\n"), "{}", show(&r));
    assert!(
        r.stderr.contains("cat: /proc/1: Permission denied"),
        "{}",
        show(&r)
    );
    assert!(
        r.stderr
            .contains("rm: cannot remove '/proc/1': Permission denied"),
        "{}",
        show(&r)
    );
    assert!(!out.contains("init"), "{}", show(&r));
}

/// Item 10, as root: `ps` shows every user's processes: init's and an entry made through a
/// user's view of the table (which belongs to that user whatever it claims), while that view
/// lists only the user's.
#[test]
fn root_sees_every_users_processes() {
    let script = "bind /proc/as/user /pu; printf 'root\\tsleeper' > /pu/new; \
                  ls /pu | wc -l; ps";
    let r = run_as("root", script);
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("1"), "{}", show(&r));
    let rows: Vec<Vec<&str>> = lines
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let has = |pid: &str, user: &str, cmd: &str| {
        rows.iter().any(|r| {
            (pid.is_empty() || r.first() == Some(&pid))
                && r.get(1) == Some(&user)
                && r.get(4) == Some(&cmd)
        })
    };
    assert!(has("1", "root", "init"), "{}", show(&r));
    assert!(has("", "user", "sleeper"), "{}", show(&r));
}
