//! Issue 18, "Defects": a background job at a shell's end, and `ls -l` on read-only mounts,
//! driven as a user would, compared with dash where it has a peer.

#[path = "common/as_user.rs"]
mod as_user;
#[path = "common/run.rs"]
mod run;

use as_user::as_user;
use run::eurali_run;
use std::time::{Duration, Instant};

/// `eurali -c 'sleep 5 & echo hi'`: prints `hi` and ends with status 0 at once, as dash's
/// `sh -c` does (there the `sleep` process lives on; here it is a thread of the shell, hung up
/// at its end), without the stub's "gave up waiting" line. A quick background job still
/// finishes its output.
#[test]
fn a_background_job_does_not_hold_the_shells_end() {
    let limit = Duration::from_secs(120);
    let start = Instant::now();
    let plain = eurali_run(&["-c", "echo hi"], [], &[], limit);
    let plain_took = start.elapsed();
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    let start = Instant::now();
    let r = eurali_run(&["-c", "sleep 5 & echo hi"], [], &[], limit);
    let took = start.elapsed();
    // dash, its background sleep's output not holding the pipe.
    let dash = std::process::Command::new("dash")
        .args(["-c", "sleep 5 >/dev/null & echo hi"])
        .output();
    if let Ok(d) = dash {
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (d.status.code(), String::from_utf8_lossy(&d.stdout).as_ref())
        );
    }
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "hi\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("gave up"), "{}", r.stderr);
    assert!(
        took < plain_took + Duration::from_secs(1),
        "took {took:?}, a plain run {plain_took:?}"
    );
    // A short job finishes; a loop is hung up; the shell's status is its own.
    let r = eurali_run(
        &["-c", "echo quick & while :; do :; done & sleep 5 & exit 3"],
        [],
        &[],
        limit,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(3), "quick\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("gave up"), "{}", r.stderr);
}

/// `ls -l` shows `r--` where nobody may write through the mount (`/bin` for a user, a
/// `bind -r` view, a file opened for reading only changes nothing) and `rw-` where the user
/// may (the home, /tmp), for a file named and for a directory's entries alike.
#[test]
fn ls_l_shows_read_only_mounts() {
    let r = as_user(
        "cd; echo x > f; mkdir d; echo y > d/g
         ls -l f; ls -l d; ls -l /bin/sh
         ls -l /bin | grep -c '^-rw'; ls -l /bin | grep -c '^-r--'
         bind -r ~/d /tmp/ro; ls -l /tmp/ro; ls -l /tmp/ro/g
         echo z > /tmp/ro/g; echo rc=$?
         echo t > /tmp/t; ls -l /tmp/t",
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "-rw-          2 f", "{}\n{}", r.stdout, r.stderr);
    assert_eq!(lines[1], "-rw-          2 g", "{}", r.stdout);
    assert!(
        lines[2].starts_with("-r-- ") && lines[2].ends_with(" /bin/sh"),
        "{}",
        r.stdout
    );
    assert_eq!(lines[3], "0", "{}", r.stdout);
    assert!(lines[4].parse::<u32>().unwrap() > 10, "{}", r.stdout);
    assert_eq!(lines[5], "-r--          2 g", "{}", r.stdout);
    assert_eq!(lines[6], "-r--          2 /tmp/ro/g", "{}", r.stdout);
    // A redirection that cannot open its file: status 2, as dash gives.
    assert_eq!(lines[7], "rc=2", "{}", r.stdout);
    assert_eq!(lines[8], "-rw-          2 /tmp/t", "{}", r.stdout);
}
