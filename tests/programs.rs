//! System tests: boot the userland on the in-process stub as `cargo run` does, run a program as a
//! user would, and check what comes out and the exit status.

use std::time::Duration;

#[path = "common/run.rs"]
mod run;
use run::{Run, eurali_run};

/// Runs `eurali ARGS` with `input` on stdin, failing the test if it takes over 30 s.
fn eurali(args: &[&str], input: &str) -> Run {
    eurali_run(args, input, &[], Duration::from_secs(30))
}

#[test]
fn echo_prints_its_arguments() {
    let r = eurali(&["echo", "hello,", "eurali", "a  b"], "");
    assert_eq!(r.stdout, "hello, eurali a  b\n", "stderr: {}", r.stderr);
    assert_eq!(r.code, Some(0));
    let r = eurali(&["echo", "-n", "no newline"], "");
    assert_eq!(r.stdout, "no newline");
    let r = eurali(&["echo", "-e", "tab\\there"], "");
    assert_eq!(r.stdout, "tab\there\n");
    let r = eurali(&["echo"], "");
    assert_eq!(r.stdout, "\n");
}

#[test]
fn hello_prints_args_and_env() {
    let r = eurali(&["hello", "one", "two words"], "");
    assert_eq!(
        r.stdout,
        "Hello from eurali!\narg[0] = hello\narg[1] = one\narg[2] = two words\nenv PWD=/\nenv HOME=/\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
}

#[test]
fn default_boots_the_system_to_a_login_prompt() {
    let r = eurali(&[], "");
    assert_eq!(r.stdout, "login: ", "stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("init: root file system ready"),
        "{}",
        r.stderr
    );
    assert_eq!(r.code, Some(0));
}

#[test]
fn logging_in_runs_the_shell_in_the_users_home() {
    let r = eurali(&[], "root\nroot\necho I am $USER in $(pwd)\nexit 5\n");
    assert!(
        r.stdout
            .contains("Welcome to eurali.\nI am root in /home/root\n"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    // After the shell, login asks again; the end of input ends the system, with the last
    // session's status.
    assert!(r.stdout.ends_with("login: "), "{}", r.stdout);
    assert_eq!(r.code, Some(5));
    let r = eurali(&[], "user\nwrong\nuser\nuser\necho $HOME\n");
    assert!(r.stdout.contains("Login incorrect"), "{}", r.stdout);
    assert!(r.stdout.contains("/home/user\n"), "{}", r.stdout);
}

#[test]
fn dash_c_runs_commands_as_root_or_a_user() {
    let r = eurali(
        &[
            "-c",
            "echo $USER $HOME; ls /; cat /etc/users | wc -l; exit 3",
        ],
        "",
    );
    assert_eq!(
        r.stdout, "root /home/root\nbin\ndev\netc\nhome\nproc\ntmp\nusr\n2\n",
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.code, Some(3));
    let r = eurali(
        &[
            "-c",
            "echo $USER; cat /etc/users; ls /etc; echo x > /bin/new; echo mine > f; cat f; ls /home",
            "--user",
            "user",
        ],
        "",
    );
    // /etc/kibi: the editor's syntax files (public). `/home` is no server's in the user's
    // namespace, but lists the mount below it.
    assert_eq!(
        r.stdout, "user\nkibi\nmotd\nmine\nuser\n",
        "stderr: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("cat: /etc/users: No such file or directory"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("sh: /bin/new: Permission denied"),
        "{}",
        r.stderr
    );
    let r = eurali(&["-c", "true", "--user", "nobody"], "");
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("no user named \"nobody\""),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_codes_reach_the_host() {
    let r = eurali(&["hello", "--exit", "3"], "");
    assert_eq!(r.code, Some(3));
    assert!(r.stdout.contains("arg[2] = 3"));
    let r = eurali(&["hello", "--exit", "nope"], "");
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("hello: --exit needs a number"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_panic_is_reported_with_status_101() {
    let r = eurali(&["hello", "--panic"], "");
    assert_eq!(r.code, Some(101), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("asked to panic"), "{}", r.stderr);
    // What was printed before the panic is not lost.
    assert!(r.stdout.starts_with("Hello from eurali!"), "{}", r.stdout);
}

#[test]
fn unknown_program_is_a_clear_error() {
    let r = eurali(&["nosuch"], "");
    assert_eq!(r.code, Some(127));
    assert!(
        r.stderr.contains("no program named \"nosuch\""),
        "{}",
        r.stderr
    );
}

#[test]
fn the_shell_leaves_the_rest_of_its_input_to_the_programs_it_runs() {
    let r = eurali(&[], "root\nroot\ncat\nthis line is for cat\n");
    assert!(
        r.stdout
            .contains("Welcome to eurali.\nthis line is for cat\n"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn ps_lists_what_runs_and_forgets_what_ended() {
    let r = eurali(
        &[
            "-c",
            "sleep 5 & n=0; until [ $(ps | grep -c 'user *[0-9:]* sleep 5$') = 1 ] || [ $n = 200 ]; \
             do n=$((n + 1)); sleep 0.01; done; ps | grep -c ' sleep 5$'; \
             kill %1; wait; ps | grep -c ' sleep 5$'; \
             ps | head -n 1; ps | grep -c '^ *1 root .* init'; echo $$ | grep -c '^[0-9][0-9]*$'",
            "--user",
            "user",
        ],
        "",
    );
    assert_eq!(
        // A user's ps shows their own processes only: not root's init (tests/ownership.rs).
        r.stdout,
        "1\n0\n  PID USER      ELAPSED   HEAP CMD\n0\n1\n",
        "stderr: {}",
        r.stderr
    );
}
