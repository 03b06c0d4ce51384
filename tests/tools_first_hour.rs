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
