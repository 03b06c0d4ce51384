//! Bytes are bytes (issue 16, item 7): the shell takes any byte sequence, at its console (read
//! by line or by the line editor), in `-c` scripts, script files, `read`, `$(…)`, here-documents
//! and file names, and gives the same bytes back at its output, to programs and as paths.

#[path = "common/mod.rs"]
mod common;
#[path = "common/session.rs"]
mod session;

#[path = "common/hosted.rs"]
mod hosted;

use std::time::Duration;

use eurali_host::boot::run_system_captured;

/// A session of `user` at a console that is not a terminal, typed `lines` (not UTF-8 in part).
fn user_session(lines: &[u8]) -> (String, i32) {
    let mut input = b"user\nuser\n".to_vec();
    input.extend_from_slice(lines);
    let r = run_system_captured(&eurali::programs(), &[], &input, Duration::from_secs(120));
    (format!("{}{}", r.stdout, r.stderr), r.code)
}

#[test]
fn a_byte_that_is_not_utf8_does_not_end_the_session() {
    let (out, _) = user_session(
        b"echo caf\xe9\necho caf\xe9 | od -c\nprintf '\\351' > f; od -c f\n\
          echo after; echo $?\n",
    );
    // The byte came back (octal 351), and the same session ran the next lines: login never
    // asked again.
    assert!(out.contains("c   a   f 351  \\n"), "{out}");
    assert!(out.contains("0000000 351\n"), "{out}");
    assert!(out.contains("after\n0\n"), "{out}");
    assert_eq!(out.matches("login:").count(), 2, "logged out: {out}");
}

#[test]
fn the_line_editor_takes_any_byte() {
    let mut s = session::Session::boot_with(&[], true);
    s.wait_for("login: ", Duration::from_secs(60));
    s.type_line("user");
    s.wait_for("password: ", Duration::from_secs(60));
    s.type_line("user");
    s.wait_for("user:~$ ", Duration::from_secs(60));
    // Split inside the byte's would-be character, as a slow terminal could send it.
    s.type_bytes(b"echo x\xe9");
    s.type_bytes(b"\xa9y\xff | od -b\n");
    // (`wait_for` panics, with the console's output, if the bytes do not come back.)
    s.wait_for("0000000 170 351 251 171 377 012", Duration::from_secs(60));
    // The same session goes on.
    s.type_line("echo still $((40 + 2))");
    s.wait_for("still 42", Duration::from_secs(60));
    // The history file keeps the line's bytes.
    s.type_line("od -b .sh_history | head -n 1");
    s.wait_for(
        "0000000 145 143 150 157 040 170 351 251 171 377 040 174 040 157 144 040",
        Duration::from_secs(60),
    );
    s.type_line("exit");
    s.wait_for("login: ", Duration::from_secs(60));
    s.finish();
}

#[test]
fn words_names_and_scripts_hold_any_byte() {
    let (out, err, code) = common::sh(
        r#"n=$(printf 'caf\351'); echo data > "$n"; cat "$n"
for f in caf*; do printf %s "$f" | od -b | head -n 1; done
ls | od -b | head -n 1
printf 'echo "$#" s\351\n' > s.sh; sh s.sh a b | od -b | head -n 1; . ./s.sh | od -c | head -n 1
printf 'x\351y z\n' | { read v w; printf '%s|%s' "$v" "$w" | od -b | head -n 1; }
cat <<EOF | od -b | head -n 1
$n
EOF
v=${n}é; echo ${#v}; case $n in caf?) echo one byte one char;; esac
od -c "$n" | head -n 1
printf '%c|%d\n' "${n#caf}" "'${n#caf}" | od -c | head -n 1
# Messages name it as the bytes it is: the shell's own, and a program's (od is a process).
$n 2>&1 | od -c | sed -n 1p; od "$n.x" 2>&1 | od -c | sed -n 1p
rm "$n"; ls; echo done"#,
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let want = [
        "data",
        "0000000 143 141 146 351",
        "0000000 143 141 146 351 012",
        "0000000 062 040 163 351 012",
        "0000000   0       s 351  \\n",
        "0000000 170 351 171 174 172",
        "0000000 143 141 146 351 012",
        "5",
        "one byte one char",
        // od is a process: the name went through exec's parameters and back.
        "0000000   d   a   t   a  \\n",
        // %c and a character's code ('c) take the byte.
        "0000000 351   |   2   3   3  \\n",
        "0000000   s   h   :       c   a   f 351   :       n   o   t       f   o",
        "0000000   o   d   :       c   a   f 351   .   x   :       N   o       s",
        "s.sh",
        "done",
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, want, "{err}");
}

/// Hosted mode (`cargo xtask build`'s ELFs as host processes): a `-c` script given as host
/// bytes that are not UTF-8 reaches the shell, its programs and a file name as those bytes.
/// Without the ELFs it says so and passes, unless `CI` is set (as tests/hosted.rs).
#[test]
fn hosted_arguments_carry_any_byte() {
    use std::os::unix::ffi::OsStrExt;
    let Some((dir, guest)) = hosted::elfs(&["sh", "coreutils"]) else {
        return;
    };
    let script: &[u8] =
        b"echo caf\xe9 | od -b | head -n 1; echo x > caf\xe9; od -c caf\xe9* | head -n 1";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eurali"))
        .arg("--hosted")
        .arg(&dir)
        .arg("-c")
        .arg(std::ffi::OsStr::from_bytes(script))
        .args(["--user", "user"])
        .env("EURALI_GUEST", guest)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("start eurali");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "0000000 143 141 146 351 012\n0000000   x  \\n\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
