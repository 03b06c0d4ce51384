//! The shell on the in-process stub (see `common`): scripts, their output and status.

mod common;
use common::sh;

#[test]
fn words_variables_and_substitution() {
    let (out, err, code) = sh(
        "x=5; echo $x \"$x\"'$x'; y=$(echo inner   words); echo \"got $y\"; echo $(echo a; echo b)",
        "",
    );
    assert_eq!(out, "5 5$x\ngot inner words\na b\n", "{err}");
    assert_eq!(code, 0);
}

#[test]
fn pipelines_and_redirections() {
    let script = "echo hello | cat; printf_missing=1; echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f | wc -l; \
                  wc -l < /tmp/f; sort < /tmp/f | head -n 1; ls /bin | grep -c .; echo err 1>&2 2>/tmp/null";
    let (out, err, code) = sh(script, "");
    // /bin: every coreutils tool, echo, sh and ramdisk.
    let in_bin = tools::TOOLS.len() + 3;
    assert_eq!(
        out,
        format!("hello\n2\n2\none\n{in_bin}\n"),
        "stderr: {err}"
    );
    assert_eq!(code, 0);
}

#[test]
fn control_flow_functions_and_status() {
    let script = r#"
for i in 1 2 3; do echo -n $i; done; echo
if test -d /bin; then echo yes; else echo no; fi
[ -f /bin ] || echo "not a file"
f() { echo "f:$1:$#"; return 3; }
f a b; echo "status $?"
n=0; while [ $n -lt 3 ]; do n=$(echo $n | wc -c); echo "n=$n"; break; done
case abc in x*) echo no;; a*) echo matched;; esac
false || echo alt; true && echo both; ! false && echo negated
nosuch; echo "missing: $?"
exit 4
echo unreachable
"#;
    let (out, err, code) = sh(script, "");
    assert_eq!(
        out,
        "123\nyes\nnot a file\nf:a:2\nstatus 3\nn=2\nmatched\nalt\nboth\nnegated\nmissing: 127\n",
        "stderr: {err}"
    );
    assert!(err.contains("sh: nosuch: not found"), "{err}");
    assert_eq!(code, 4);
}

#[test]
fn read_loop_cd_and_globbing() {
    let script = "mkdir /tmp/d; cd /tmp/d; pwd; echo a > x.txt; echo b > y.txt; echo *.txt; echo *.none; \
                  cat *.txt | while read line; do echo \"[$line]\"; done; cd; pwd";
    let (out, err, _) = sh(script, "");
    assert_eq!(
        out, "/tmp/d\nx.txt y.txt\n*.none\n[a]\n[b]\n/\n",
        "stderr: {err}"
    );
}

#[test]
fn syntax_errors_are_reported() {
    let (out, err, code) = sh("echo ok; if then fi", "");
    assert_eq!(out, "");
    assert!(err.contains("syntax error"), "{err}");
    assert_eq!(code, 2);
}

#[test]
fn scripts_run_by_exec() {
    // `#!` names the interpreter; a text file without one is a shell script; both see $0, $@.
    let script = r#"
printf '#!/bin/sh\necho "script $0: $# args: $*"\nexit 3\n' > /tmp/s.sh
/tmp/s.sh a 'b c'; echo "status $?"
printf 'echo "plain $1"\n' > /tmp/p; cd /tmp; ./p x
printf '#!/bin/nowhere\n' > /tmp/n; /tmp/n; echo "bad interpreter: $?"
"#;
    let (out, err, code) = sh(script, "");
    assert_eq!(
        out, "script /tmp/s.sh: 2 args: a b c\nstatus 3\nplain x\nbad interpreter: 126\n",
        "{err}"
    );
    assert!(err.contains("bad interpreter /bin/nowhere"), "{err}");
    assert_eq!(code, 0);
}

/// Several writers on one pipe (a background job and the foreground, stdout and stderr of one
/// job) while the reader is slow to start: the pipe is full, its writer side holds one writer's
/// WRITE until the reader makes room, and the others wait their turn for as long as that takes
/// — every byte arrives (after 100 busy tries a writer lost its write before).
#[test]
fn concurrent_writers_on_one_pipe_lose_nothing() {
    let script = "s=xxxxxxxxxx; s=$s$s$s$s$s$s$s$s$s$s; s=$s$s$s$s$s$s$s$s$s$s; s=$s$s$s$s$s$s$s$s$s$s; \
                  { for i in 1 2 3 4 5 6 7 8; do echo $s; done & \
                    for i in 1 2 3 4 5 6 7 8; do echo $s; done; wait; } | { sleep 1; wc -c; }; \
                  { for i in 1 2 3 4 5 6 7 8; do echo $s; done & \
                    for i in 1 2 3 4 5 6 7 8; do echo $s >&2; done; wait; } 2>&1 | { sleep 1; wc -c; }";
    let (out, err, code) = sh(script, "");
    // 16 lines of 10 000 x and a newline, each time.
    assert_eq!(out, "160016\n160016\n", "stderr: {err}");
    assert_eq!(err, "");
    assert_eq!(code, 0);
}
