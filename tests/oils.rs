//! Our shell against dash on the public Oils spec tests (a measuring tool, not part of CI: the
//! suite is not ours to copy into the repo, so it is read from a checkout given at run time).
//!
//! ```text
//! git -C "$OILS_REPO" archive HEAD spec | tar -x -C /tmp/oils
//! EURALI_OILS=/tmp/oils/spec cargo test --test oils -- --ignored --nocapture
//! EURALI_OILS=/tmp/oils/spec EURALI_OILS_FILES=here-doc,errexit cargo test --test oils -- --ignored --nocapture
//! ```
//!
//! Each case (`#### name` up to the next `####`; the `## …` expectations are not used) runs in
//! our `sh` on the stub (as `tests/spec.rs` runs its corpus) and in `dash -c` on the host, in a
//! fresh directory with stdin empty. A case counts when both give the same stdout and exit
//! status. The suite's Python helpers are given to both shells as the same shell scripts (in
//! /bin on the stub, on PATH on the host), so that a case is not counted as agreement merely because both lack a helper:
//! `argv.py` (prints its arguments as Python's `repr` of a list does, for printable ASCII),
//! `printenv.py`, `stdout_stderr.py`, `read_from_fd.py`. `$SH` names the shell under test and `$TMP`
//! a writable directory, as the suite's own runner sets them. Ours runs as `dash` too (a copy of
//! our `sh` at /bin/dash): many cases branch on `case $SH in dash)` to expect what dash does,
//! and what is measured is doing what dash does.
//! Cases calling other helpers are counted like any other. Per-file results go to stdout; each
//! disagreement (script, both outputs) to `target/oils-report.txt`. `EURALI_OILS_AGAINST="busybox
//! ash"` runs that host shell in place of ours, to compare another shell with dash the same way.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The twelve files issue 15 measures first, then the wider POSIX-relevant ones.
const DEFAULT_FILES: &[&str] = &[
    "smoke",
    "quote",
    "pipeline",
    "redirect",
    "exit-status",
    "loop",
    "case_",
    "command-sub",
    "var-sub",
    "comments",
    "if_",
    "builtin-echo",
];

/// The suite's helper programs, as shell scripts both shells run (`#!/bin/sh`: dash on the host,
/// ours on the stub): `(name, script)`.
const HELPERS: &[(&str, &str)] = &[
    (
        "argv.py",
        r#"#!/bin/sh
out='['; sep=''
for a in "$@"; do
  case $a in
    *\'*) case $a in *\"*) q=\';; *) q=\";; esac;;
    *) q=\';;
  esac
  r=''; s=$a
  while [ -n "$s" ]; do
    c=${s%"${s#?}"}; s=${s#?}
    case $c in
      \\) r="$r\\\\";;
      "$q") r="$r\\$c";;
      "$(printf '\t')") r="$r\\t";;
      *) r="$r$c";;
    esac
  done
  out="$out$sep$q$r$q"; sep=', '
done
printf '%s]\n' "$out"
"#,
    ),
    (
        "printenv.py",
        r#"#!/bin/sh
for n in "$@"; do
  v=$(env | while IFS= read -r l; do case $l in "$n="*) printf 'x%s' "${l#*=}";; esac; done)
  if [ -n "$v" ]; then printf '%s\n' "${v#x}"; else echo None; fi
done
"#,
    ),
    (
        "stdout_stderr.py",
        "#!/bin/sh\necho \"${1-STDOUT}\"; echo \"${2-STDERR}\" >&2; exit \"${3-0}\"\n",
    ),
    (
        "read_from_fd.py",
        "#!/bin/sh\nfor fd in \"$@\"; do printf '%s: ' \"$fd\"; cat <&\"$fd\"; done\n",
    ),
];

/// Shell words that write the helpers into `dir`.
fn install_helpers(dir: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut out = String::new();
    for (name, text) in HELPERS {
        let _ = writeln!(out, "printf '%s' {} > {dir}/{name}", quote(text));
    }
    out
}

struct Case {
    name: String,
    script: String,
}

fn cases(text: &str) -> Vec<Case> {
    let mut out = Vec::new();
    for block in text.split("\n#### ").skip(1) {
        let (name, body) = block.split_once('\n').unwrap_or((block, ""));
        // `## …` lines are expectations; one ending in `:` (`## STDOUT:`, `## OK dash STDOUT:`)
        // opens a block of expected output that runs to `## END` and is not script either.
        let mut script = String::new();
        let mut in_block = false;
        for l in body.lines() {
            if in_block {
                in_block = l != "## END";
            } else if l.starts_with("## ") {
                in_block = l.ends_with(':');
            } else {
                script.push_str(l);
                script.push('\n');
            }
        }
        out.push(Case {
            name: name.trim().into(),
            script,
        });
    }
    out
}

/// Runs `script` in a shell on the host (`shell`: its command words, e.g. `["dash"]`).
fn host(shell: &[String], script: &str) -> (String, String, i32) {
    let dir = std::env::temp_dir().join(format!("eurali-oils-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = dir.with_extension("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    for (name, text) in HELPERS {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("timeout")
        .arg("10")
        .args(shell)
        .arg("-c")
        .arg(format!("SH='{}'\nTMP=$PWD\n{script}", shell.join(" ")))
        .env("PATH", path)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("the host shell runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
#[ignore = "needs a checkout of the Oils spec tests: EURALI_OILS=DIR (see the module doc)"]
fn oils_spec_against_dash() {
    let dir = std::env::var("EURALI_OILS").expect("EURALI_OILS=DIR of the Oils *.test.sh files");
    let files: Vec<String> = match std::env::var("EURALI_OILS_FILES") {
        Ok(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        Err(_) => DEFAULT_FILES.iter().map(|s| s.to_string()).collect(),
    };
    // Another host shell in place of ours, to compare it with dash the same way.
    let against: Option<Vec<String>> = std::env::var("EURALI_OILS_AGAINST")
        .ok()
        .map(|s| s.split_whitespace().map(str::to_string).collect());
    let mut report = String::new();
    let (mut total, mut agreed) = (0, 0);
    for f in &files {
        let path = Path::new(&dir).join(format!("{f}.test.sh"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let cs = cases(&text);
        let mut ok = 0;
        for c in &cs {
            if std::env::var_os("EURALI_OILS_VERBOSE").is_some() {
                eprintln!("case {f}: {}", c.name);
            }
            let (dout, _, dcode) = host(&["dash".to_string()], &c.script);
            let (out, err, code) = match &against {
                Some(shell) => host(shell, &c.script),
                None => common::sh(
                    &format!(
                        "cp /bin/sh /bin/dash\nSH=dash\nTMP=/tmp\n{}{}",
                        install_helpers("/bin"),
                        c.script
                    ),
                    "",
                ),
            };
            if out == dout && code == dcode {
                ok += 1;
            } else {
                let _ = writeln!(
                    report,
                    "=== {f}: {}\n{}--- dash: status {dcode}\n{dout}--- ours: status {code}\n{out}--- ours stderr:\n{err}",
                    c.name, c.script
                );
            }
        }
        println!("OILS {f}: {ok}/{}", cs.len());
        total += cs.len();
        agreed += ok;
    }
    println!("OILS total: {agreed}/{total}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/oils-report.txt");
    std::fs::write(&out, report).unwrap();
    println!("disagreements: {}", out.display());
}
