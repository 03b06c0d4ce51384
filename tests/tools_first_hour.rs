//! Issue 18, "Missing": the options and tools a Unix user reaches for in the first hour, run
//! as a user types them (`sh -c` on the in-process stub, a ramdisk at `/`) and compared with
//! GNU coreutils, findutils and diffutils run by the host's `sh` on the same script.

mod common;
use common::sh;

#[path = "common/as_user.rs"]
mod as_user;
use as_user::as_user;

/// The host's answer to `script` (stdout, status), run in a fresh directory with `LC_ALL=C`,
/// or `None` when the host has no `sh` (then only eurali's own expectations are checked).
fn gnu(script: &str) -> Option<(String, i32)> {
    let dir = std::env::temp_dir().join(format!(
        "eurali-first-hour-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).ok()?;
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(&dir)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .ok();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    ))
}

/// Runs `script` on eurali and on the host; their stdout and status must agree. Returns
/// eurali's stdout and stderr.
fn same_as_gnu(script: &str) -> (String, String) {
    let (out, err, code) = sh(script, "");
    if let Some((g_out, g_code)) = gnu(script) {
        assert_eq!(
            (out.as_str(), code),
            (g_out.as_str(), g_code),
            "script: {script}\neurali stderr: {err}"
        );
    }
    (out, err)
}

#[test]
fn ls_recursive_directories_all_human() {
    let setup = "mkdir -p t/b/c t/a; echo x > t/f; echo y > t/a/g; echo z > t/b/c/h; : > t/.dot; ";
    for cmd in [
        "ls -R t",
        "ls -R t/b t/f",
        "ls -d t t/f",
        "ls -a t",
        "ls -aR t/b",
        "ls -d t/a/",
        "ls -1 t/a t/b",
    ] {
        same_as_gnu(&format!("{setup}{cmd}; echo rc=$?"));
    }
    let (out, _, _) = sh(
        "printf '%01536d' 0 > k; printf '%03000000d' 0 > m; echo s > b; ls -lh k m b",
        "",
    );
    let sizes: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(sizes, ["2", "1.5K", "2.9M"], "{out}");
}

#[test]
fn grep_options_and_recursion() {
    let setup = "mkdir -p d/s; printf 'Alpha beta\\ngamma\\nalphabet\\n' > d/one; \
                 printf 'beta\\nALPHA\\n' > d/s/two; printf 'a.c\\nabc\\n' > lit; ";
    for cmd in [
        "grep -r alpha d | sort",
        "grep -ri alpha d | sort",
        "grep -rl beta d | sort",
        "grep -rc beta d | sort",
        "grep -rn -w alpha d | sort",
        "grep -rh -o -i 'al[a-z]*' d | sort",
        "cd d; grep -r gamma; cd ..",
        "grep -r beta d/one",
        "grep -v -c beta d/one",
        "grep -E 'al(pha)+' d/one",
        "grep -F a.c lit",
        "grep a.c lit",
        "grep x d",
        "grep -r nothing d",
        "grep -rsq alpha d nowhere",
    ] {
        same_as_gnu(&format!("{setup}{cmd}; echo rc=$?"));
    }
}

#[test]
fn sort_keys_separators_and_human_numbers() {
    let setup = "printf 'b 2 x\\na 10 y\\nc 1 z\\na 2 w\\n' > f; \
                 printf 'x:3:k\\ny:1:m\\nz:2:k\\nw:1:a\\n' > c; \
                 printf '2K\\n1M\\n900\\n3G\\n1.5K\\n-1K\\n0\\n' > h; ";
    for cmd in [
        "sort -k2 f",
        "sort -k2n f",
        "sort -n -k2 f",
        "sort -k2,2n -k3 f",
        "sort -k1,1 -u f",
        "sort -r -k1,1 -k2,2n f",
        "sort -t: -k2 c",
        "sort -t: -k2,2n -k1,1r c",
        "sort -t: -k3,3 -u c",
        "sort -h h",
        "sort -hr h",
        "sort -k1.2 c",
        "sort -k 0 f",
        "sort -t ab f",
        "sort -un -k2 f",
    ] {
        same_as_gnu(&format!("{setup}{cmd}; echo rc=$?"));
    }
}

#[test]
fn head_tail_bytes_and_wc_chars() {
    let setup = "printf 'h\\xc3\\xa9llo w\\xc3\\xb6rld\\nline2\\nlast' > u; ";
    for cmd in [
        "head -c 5 u | od -c",
        "head -c -3 u",
        "tail -c 4 u",
        "tail -c +7 u",
        "wc -m u",
        "wc -m -c u",
        "wc -lwmc u u",
        "wc -m < u",
    ] {
        same_as_gnu(&format!("{setup}{cmd}; echo rc=$?"));
    }
}

/// `tail -f` prints what is appended, until interrupted: here `kill` of the background job
/// (a tool run inside the shell stops at its interruption, as `sleep` does).
#[test]
fn tail_follows_a_growing_file_until_killed() {
    let (out, err, code) = sh(
        "printf '1\\n2\\n' > log; tail -f -n 1 log > seen & \
         sleep 0.5; echo 3 >> log; sleep 0.6; printf '4\\n' >> log; sleep 0.6; \
         kill $!; wait $!; echo status=$?; cat seen",
        "",
    );
    assert_eq!(
        (out.as_str(), code),
        ("status=143\n2\n3\n4\n", 0),
        "stderr: {err}"
    );
}

/// `mkdir -p` names the component it could not make, as GNU's does.
#[test]
fn mkdir_p_names_the_failing_component() {
    same_as_gnu("touch file; mkdir -p file/x/y; echo rc=$?; mkdir -p file; echo rc=$?");
    let (_, err, _) = sh("touch file; mkdir -p file/x/y; mkdir -p a/b/c; ls a/b", "");
    assert_eq!(
        err,
        "mkdir: cannot create directory 'file': Not a directory\n"
    );
    let r = as_user("mkdir -p /a/b; echo rc=$?; mkdir -p /home/user/n/m; echo rc=$?");
    assert_eq!(r.stdout, "rc=1\nrc=0\n", "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "mkdir: cannot create directory '/a': Permission denied\n"
    );
}

#[test]
fn find_walks_and_runs_commands() {
    let setup = "mkdir -p t/sub/deep t/empty; echo one > t/a.txt; echo two > t/sub/B.TXT; \
                 printf '%01535d\\n' 0 > t/sub/deep/big; : > t/nil; ";
    for cmd in [
        "find t | sort",
        "find t/ -maxdepth 1 | sort",
        "find t -name '*.txt' | sort",
        "find t -iname '*.txt' | sort",
        "find t -type d | sort",
        "find t -mindepth 2 -type f | sort",
        "find t -maxdepth 1 -type f -name 'a*'",
        "find t -name a.txt -o -name big | sort",
        "find t ! -name '*.txt' -type f | sort",
        "find t \\( -name 'a*' -o -name 'b*' \\) -print | sort",
        "find t -size +1k -type f",
        "find t -size -1 -type f | sort",
        "find t -empty | sort",
        "find t -type f -exec cat {} \\; | sort",
        "find t -name '*.txt' -exec echo found {} \\; | sort",
        "find t -type f -exec echo {} + | tr ' ' '\\n' | sort",
        "find nope",
        "find t -bogus",
        "find t -type q",
        "cd t; find . -name '[ab]*' | sort",
    ] {
        same_as_gnu(&format!("{setup}{cmd}; echo rc=$?"));
    }
}

#[test]
fn xargs_runs_commands_with_words() {
    for cmd in [
        "printf 'a b\\nc\\n' | xargs echo",
        "printf 'a b\\nc\\n' | xargs",
        "printf 'a b\\nc\\n' | xargs -n 1 echo x",
        "printf 'a b\\nc\\n' | xargs -n2",
        "printf 'one\\n  two words\\n' | xargs -I X echo [X]",
        "printf 'a b\\0c\\0' | xargs -0 -n 1 echo",
        "printf \"'q w' \\\"e r\\\" s\\\\ t\\n\" | xargs -n 1",
        "printf '' | xargs echo hi",
        "printf '' | xargs -r echo hi",
        "echo x | xargs false",
        "echo x | xargs nosuchcommand",
        "mkdir d; touch d/1 d/2; find d -type f | sort | xargs rm; ls d",
        "printf 'f1\\nf2\\n' | xargs touch; ls f1 f2",
        "echo a b | xargs sh -c 'echo \"$@\"' x",
        "echo \"it's\" | xargs echo",
    ] {
        same_as_gnu(&format!("{cmd}; echo rc=$?"));
    }
}

#[test]
fn diff_normal_unified_quiet() {
    let setup = "printf 'a\\nb\\nc\\nd\\ne\\nf\\ng\\nh\\ni\\nj\\n' > x; \
                 printf 'a\\nB\\nc\\nd\\ne\\nf\\ng\\nh\\nj\\nk\\n' > y; \
                 printf 'a\\nb' > nonl; printf 'a\\nc\\n' > nl; \
                 seq 1 300 > s1; seq 1 300 | grep -v 7 > s2; seq 1 300 | sed 's/5$/five/' > s3; ";
    for cmd in [
        "diff x y",
        "diff -u x y | tail -n +3",
        "diff -U 1 x y | tail -n +3",
        "diff -U0 x y | tail -n +3",
        "diff -q x y",
        "diff x x",
        "diff nonl nl",
        "diff -u nonl nl | tail -n +3",
        "diff /dev/null x",
        "diff s1 s2",
        "diff -u s1 s3 | tail -n +3",
        "diff -u s2 s3 | tail -n +3",
        "diff x nope",
        "diff x",
        "cat y | diff x -",
    ] {
        same_as_gnu(&format!("{setup}{cmd}; echo rc=$?"));
    }
    let (out, _, _) = sh("printf '1\\n' > p; printf '2\\n' > q; diff -u p q", "");
    assert_eq!(out, "--- p\n+++ q\n@@ -1 +1 @@\n-1\n+2\n");
}

#[test]
fn sha256sum_prints_and_checks() {
    for cmd in [
        "printf abc > f; sha256sum f",
        "printf abc | sha256sum",
        "printf abc | sha256sum -",
        ": > e; sha256sum e f nope",
        "printf abc > f; sha256sum f > s; sha256sum -c s",
        "printf abc > f; sha256sum f > s; echo x >> f; sha256sum -c s",
        "printf abc > f; sha256sum f > s; rm f; sha256sum -c s",
        "printf abc > f; sha256sum f > s; sha256sum -c --quiet s",
        "printf abc > f; sha256sum f > s; echo x >> f; sha256sum -c --status s",
        "echo garbage > g; sha256sum -c g",
    ] {
        same_as_gnu(&format!("{cmd}; echo rc=$?"));
    }
    let (_, err, _) = sh(
        "printf abc > f; sha256sum f > s; echo x >> f; sha256sum -c s",
        "",
    );
    assert_eq!(
        err,
        "sha256sum: WARNING: 1 computed checksum did NOT match\n"
    );
}

#[test]
fn stat_du_uname() {
    for cmd in [
        "printf hello > f; : > e; stat -c '%n %s %F' f e",
        "mkdir d; stat -c '%n: %F, 100%%' d",
        "stat nope",
        "stat",
        "uname -m",
        "uname -p -q",
    ] {
        same_as_gnu(&format!("{cmd}; echo rc=$?"));
    }
    let (out, err, code) = sh(
        "mkdir -p t/a t/b; printf '%01536d' 0 > t/a/k; printf 123456789 > t/a/s; \
         echo ab > t/b/f; du t; du -s t; du -a t/b; du -sh t t/a/k; du nope; echo rc=$?; \
         stat t/a/k | grep -v Access; uname; uname -a; uname -snrm; uname -n",
        "",
    );
    // (A directory counts what is under it, rounded up to KiB once: t holds 1548 bytes.)
    assert_eq!(
        out,
        "2\tt/a\n1\tt/b\n2\tt\n2\tt\n1\tt/b/f\n1\tt/b\n1.6K\tt\n1.5K\tt/a/k\nrc=1\n\
         \x20 File: t/a/k\n  Size: 1536            regular file\n\
         Merriwig\nMerriwig eurali 0.1.0 eurali x86_64\nMerriwig eurali 0.1.0 x86_64\neurali\n",
        "{err}"
    );
    assert_eq!(
        (err.as_str(), code),
        ("du: cannot access 'nope': No such file or directory\n", 0)
    );
}

/// Each new tool answers `--help` on stdout with status 0, its usage first.
#[test]
fn new_tools_have_help() {
    for t in ["find", "xargs", "diff", "sha256sum", "stat", "du", "uname"] {
        let (out, err, code) = sh(&format!("{t} --help"), "");
        assert_eq!(code, 0, "{t}: {err}");
        assert!(out.starts_with(&format!("Usage: {t}")), "{t}: {out}");
        assert!(out.lines().count() >= 3, "{t}: {out}");
    }
}
