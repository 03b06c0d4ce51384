//! Limits that must say the right thing (issue 16, item 11), as `user` meets them on the whole
//! system: arguments and environment past exec's one page (4 088 bytes) reach a program (they
//! travel in a chunk, `EXEC_ARGS`), and past `ARGS_MAX` starting it fails with E2BIG ("Argument
//! list too long", status 126) instead of running it with less; a name past what an open
//! carries is "File name too long" (ENAMETOOLONG); `mkdir -p` works inside the only directory a
//! user's namespace holds. The chunk is checked in hosted mode too, with the freestanding ELFs,
//! where it crosses real host processes.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/as_user.rs"]
mod as_user;
#[path = "common/hosted.rs"]
mod hosted;

use as_user::as_user;
use libeurali::abi::layout::ARGS_ENV_LIMIT;
use libeurali::params::ARGS_MAX;

/// A script that makes 120 files with 60-byte names in the home (about 8 KiB of arguments, two
/// pages), each holding its number, and sets them as `$@`.
const MANY_FILES: &str = "set --; for i in $(seq 1 120); do \
     p=/home/user/a_file_name_long_enough_to_fill_a_page_quickly_$i; \
     echo $i > $p; set -- \"$@\" $p; done; ";

/// `seq 1 n`.
fn seq(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

#[test]
fn arguments_and_environment_past_one_page_reach_the_program() {
    // EURALI_NOFORK=0 makes the tools processes (they run inside the shell otherwise).
    // BIG is an environment variable of 8 893 bytes beside the 8 KiB of arguments.
    let script = String::from(MANY_FILES)
        + "EURALI_NOFORK=0 rev \"$@\" | EURALI_NOFORK=0 rev > /tmp/rev; echo \"rev $?\"; \
           EURALI_NOFORK=0 cat \"$@\" > /tmp/cat; echo \"cat $?\"; \
           export BIG=\"$(seq 1 2000)\"; \
           EURALI_NOFORK=0 env | grep -c .; \
           EURALI_NOFORK=0 env > /tmp/env; echo \"env $?\"; \
           EURALI_NOFORK=0 cat \"$@\" | wc -l; \
           EURALI_NOFORK=0 od -c \"$@\" | grep -c 'n'; \
           cat /tmp/rev; echo ==; cat /tmp/cat; echo ==; grep -c '^' /tmp/env";
    let r = as_user(&script);
    let (out, err) = (&r.stdout, &r.stderr);
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(err, "", "{out}");
    let args_len: usize = (1..=120)
        .map(|i| format!("/home/user/a_file_name_long_enough_to_fill_a_page_quickly_{i}").len() + 1)
        .sum();
    assert!(args_len > ARGS_ENV_LIMIT + 3000, "{args_len}");
    let (head, rest) = out.split_once("==\n").unwrap();
    let (cat, env_lines) = rest.split_once("==\n").unwrap();
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "rev 0", "{out}");
    assert_eq!(lines[1], "cat 0", "{out}");
    // env printed BIG whole: its 2000 lines plus the other variables.
    let env_count: usize = lines[2].parse().unwrap();
    assert!(env_count > 2000, "{out}");
    assert_eq!(lines[3], "env 0", "{out}");
    assert_eq!(lines[4], "120", "{out}");
    // od -c of all 120 files: a line per file's digits-and-newline, at least.
    assert!(lines[5].parse::<u32>().unwrap() > 0, "{out}");
    // Every file, in order, by every program.
    assert_eq!(&head[head.find("1\n").unwrap()..], seq(120), "{out}");
    assert_eq!(cat, seq(120));
    assert_eq!(env_lines.trim().parse::<usize>().unwrap(), env_count);
}

#[test]
fn past_args_max_a_program_is_not_started_e2big() {
    // 30 000 numbers: 168 894 bytes of arguments, past ARGS_MAX (128 KiB). The shell goes on.
    let script = "EURALI_NOFORK=0 rev $(seq 1 30000); echo \"rev $?\"; \
                  EURALI_NOFORK=0 cat $(seq 1 30000); echo \"cat $?\"; \
                  export HUGE=\"$(seq 1 30000)\"; EURALI_NOFORK=0 od -c /dev/null; echo \"od $?\"; \
                  unset HUGE; EURALI_NOFORK=0 od -c /dev/null; echo \"after $?\"";
    const { assert!(168_894 > ARGS_MAX) };
    let r = as_user(script);
    let (out, err) = (&r.stdout, &r.stderr);
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(out, "rev 126\ncat 126\nod 126\n0000000\nafter 0\n", "{err}");
    assert_eq!(
        err,
        "sh: rev: Argument list too long\nsh: cat: Argument list too long\n\
         sh: od: Argument list too long\n"
    );
}

#[test]
fn a_name_too_long_to_send_is_file_name_too_long() {
    // 4 095 bytes: one name past what an open carries (4 KiB with its path), and a 300-byte one
    // the server refuses; both ENAMETOOLONG, whichever tool or redirection meets them.
    let script = "n=$(printf '%04095d' 0); m=$(printf '%0300d' 0); \
                  touch $n; echo \"touch $?\"; echo hi > $n; echo \"redirect $?\"; \
                  cat $n; echo \"cat $?\"; mkdir -p $n/x; echo \"mkdir $?\"; \
                  cd /tmp/$n; echo \"cd $?\"; touch $m; echo \"touch $?\"; ls; echo done";
    let r = as_user(script);
    let (out, err) = (&r.stdout, &r.stderr);
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        out, "touch 1\nredirect 2\ncat 1\nmkdir 1\ncd 2\ntouch 1\ndone\n",
        "{err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 6, "{err}");
    for l in lines {
        assert!(l.ends_with(": File name too long"), "{l:.100}…");
        assert!(!l.contains("nvalid"), "{l:.100}…");
    }
}

#[test]
fn mkdir_p_works_inside_a_users_home() {
    let script = "mkdir -p /home/user/q/w; echo \"abs $?\"; cd /home/user; \
                  mkdir -p a/b/c ./a/b/d a//e/../f; echo \"rel $?\"; \
                  mkdir -p /home/user /home/user/q/w q; echo \"existing $?\"; \
                  cd /tmp; mkdir -p deep/1/2/3/4/5/6/7/8/9; echo \"tmp $?\"; \
                  ls /home/user/q /home/user/a /home/user/a/b; ls -R /tmp/deep | grep -c .; \
                  touch /home/user/file; mkdir -p /home/user/file/x; echo \"file $?\"; \
                  mkdir -p /nowhere/x; echo \"outside $?\"; mkdir -p /etc/x; echo \"etc $?\"";
    let r = as_user(script);
    let (out, err) = (&r.stdout, &r.stderr);
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..4],
        ["abs 0", "rel 0", "existing 0", "tmp 0"],
        "{out}\n{err}"
    );
    assert!(out.contains("w\n"), "{out}");
    // `a//e/../f` makes `a/e` on its way, as GNU's mkdir -p does.
    assert!(out.contains("b\ne\nf\n"), "{out}");
    assert!(out.contains("c\nd\n"), "{out}");
    assert_eq!(
        lines[lines.len() - 3..],
        ["file 1", "outside 1", "etc 1"],
        "{out}\n{err}"
    );
    for line in [
        "mkdir: cannot create directory '/home/user/file': Not a directory\n",
        // `/` of a user's namespace is made by mounts: nothing can be created in it (as
        // Linux says for a directory one may not write).
        "mkdir: cannot create directory '/nowhere': Permission denied\n",
    ] {
        assert!(err.contains(line), "{line:?} not in\n{err}");
    }
    assert!(
        err.contains("mkdir: cannot create directory '/etc/x': "),
        "{err}"
    );
}

/// Hosted mode: the freestanding ELFs in `target/eurali/bin` (of `cargo xtask build`) run as
/// host processes, so the chunk crosses real processes. Without the ELFs, says so and passes
/// unless `CI` is set (as tests/hosted.rs does).
#[test]
fn hosted_arguments_past_one_page_reach_the_program() {
    let Some((dir, guest)) = hosted::elfs(&["coreutils", "sh"]) else {
        return;
    };
    let script = String::from(MANY_FILES)
        + "EURALI_NOFORK=0 rev \"$@\" | EURALI_NOFORK=0 rev | wc -l; \
           EURALI_NOFORK=0 cat \"$@\" | tail -n 1; \
           EURALI_NOFORK=0 rev $(seq 1 30000); echo \"e2big $?\"";
    let mut child = Command::new(env!("CARGO_BIN_EXE_eurali"))
        .env("EURALI_GUEST", guest)
        .args(["--hosted", dir.to_str().unwrap(), "-c", &script])
        .args(["--user", "user"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eurali");
    drop(child.stdin.take());
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("hosted eurali did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let _ = std::io::stderr().write_all(b"");
    assert_eq!(stdout, "120\n120\ne2big 126\n", "{stderr}");
    assert!(
        stderr.contains("sh: rev: Argument list too long"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
