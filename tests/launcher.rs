//! `cargo run -- -c SCRIPT` itself: the `eurali` binary started as cargo starts it, with
//! scripts longer than exec's argument page and with bytes that are not UTF-8.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

#[path = "common/run.rs"]
mod run;
use run::{Run, eurali_run};

/// Runs `eurali ARGS` with no input; gives up (and fails) after a minute.
fn eurali(args: &[OsString]) -> Run {
    eurali_run(args, [], &[], Duration::from_secs(60))
}

fn c(script: impl Into<Vec<u8>>) -> Vec<OsString> {
    vec!["-c".into(), OsString::from_vec(script.into())]
}

fn no_crash(r: &Run) {
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("MACHINE HALT"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_60k_script_runs_whole() {
    // 60 KB: past one page (exec's limit for args and env) and past 16 bits of nothing else.
    let mut s = String::from("n=0\n");
    while s.len() < 60_000 {
        s.push_str("n=$((n+1)); : 'padding to make the script long, in a quoted string'\n");
    }
    s.push_str("echo \"lines: $n\"; echo \"\\$0 is $0\"; exit 3\n");
    let lines = s.lines().count() - 2;
    let r = eurali(&c(s));
    no_crash(&r);
    assert_eq!(
        r.stdout,
        format!("lines: {lines}\n$0 is sh\n"),
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(3));
}

#[test]
fn scripts_around_the_page_size_run() {
    for len in [2000, 2100, 4000, 4100, 8200] {
        let pad = "x".repeat(len);
        let r = eurali(&c(format!("v='{pad}'; echo ${{#v}}")));
        no_crash(&r);
        assert_eq!(r.stdout, format!("{len}\n"), "stderr: {}", r.stderr);
        assert_eq!(r.code, Some(0));
    }
}

#[test]
fn bytes_that_are_not_utf8_do_not_crash_the_launcher() {
    // Invalid UTF-8 in a quoted string: replaced (U+FFFD), the rest unchanged.
    let r = eurali(&c(b"echo 'a\xffb\xc3'; echo done".to_vec()));
    no_crash(&r);
    assert_eq!(
        r.stdout, "a\u{FFFD}b\u{FFFD}\ndone\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
    // Long too (the script then goes through a file).
    let mut long = b"echo '\xfe'\n".to_vec();
    long.extend(b": padding\n".repeat(1000));
    long.extend(b"echo end\n");
    let r = eurali(&c(long));
    no_crash(&r);
    assert_eq!(r.stdout, "\u{FFFD}\nend\n", "stderr: {}", r.stderr);
}

#[test]
fn a_long_script_runs_as_an_ordinary_user_too() {
    let mut args = c(format!(
        "{}whoami_is=$USER; echo $whoami_is; pwd",
        ": pad\n".repeat(1000)
    ));
    args.extend(["--user".into(), "user".into()]);
    let r = eurali(&args);
    no_crash(&r);
    assert_eq!(r.stdout, "user\n/home/user\n", "stderr: {}", r.stderr);
}

#[test]
fn over_long_exec_args_are_an_error_not_a_halt() {
    // Inside the system: a program's arguments past one page reach it (in a chunk); past
    // ARGS_MAX (128 KiB), E2BIG.
    let r = eurali(&c(
        "a=x; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do a=$a$a; done; /bin/echo $a | wc -c; \
         for i in 1 2 3 4 5; do a=$a$a; done; /bin/echo $a; echo status $?",
    ));
    no_crash(&r);
    assert!(r.stderr.contains("Argument list too long"), "{}", r.stderr);
    assert_eq!(r.stdout, "8193\nstatus 126\n");
    // The launcher's own arguments for init past one page (a user name, here).
    let r = eurali(&[
        "--user".into(),
        "u".repeat(5000).into(),
        "-c".into(),
        "true".into(),
    ]);
    no_crash(&r);
    assert!(r.stderr.contains("too long"), "{}", r.stderr);
    assert_ne!(r.code, Some(0));
}
