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
//! a writable directory, as the suite's own runner sets them.
//! Cases calling other helpers are counted like any other. Per-file results go to stdout; each
//! disagreement (script, both outputs) to `target/oils-report.txt`.

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
        // The expectations are left out: `## …` lines, and the expected output between a
        // `## … STDOUT:` (or `STDERR:`) line and `## END`, whose lines would run as commands
        // (`yes` among them, which would never end).
        let mut in_expected = false;
        let script: String = body
            .lines()
            .filter(|l| {
                let expectation = l.starts_with("## ");
                if expectation && (l.ends_with("STDOUT:") || l.ends_with("STDERR:")) {
                    in_expected = true;
                } else if *l == "## END" {
                    in_expected = false;
                    return false;
                }
                !expectation && !in_expected
            })
            .map(|l| format!("{l}\n"))
            .collect();
        out.push(Case {
            name: name.trim().into(),
            script,
        });
    }
    out
}

fn dash(script: &str) -> (String, i32) {
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
        .args(["10", "dash", "-c"])
        .arg(format!("SH=dash\nTMP=$PWD\n{script}"))
        .env("PATH", path)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("dash runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
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
    let mut report = String::new();
    let (mut total, mut agreed) = (0, 0);
    for f in &files {
        let path = Path::new(&dir).join(format!("{f}.test.sh"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let cs = cases(&text);
        let mut ok = 0;
        for c in &cs {
            let (dout, dcode) = dash(&c.script);
            let (out, err, code) = common::sh(
                &format!("SH=sh\nTMP=/tmp\n{}{}", install_helpers("/bin"), c.script),
                "",
            );
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
