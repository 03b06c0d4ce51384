//! The shell conformance corpus (`tests/spec/*.test`, Oils' format: `#### name`, the script,
//! `## stdout: LINE` or `## STDOUT:` … `## END`, `## status: N`). Each case runs in our `sh` on
//! the stub (in /tmp of a ramdisk, /bin holding the coreutils) and in dash on the host (in a fresh
//! temporary directory); both must give the expected stdout and status. A case marked
//! `## difference: WHY` is checked against ours only, with the reason kept in the corpus.

mod common;

use std::path::Path;
use std::process::Command;

struct Case {
    file: String,
    name: String,
    script: String,
    stdout: String,
    status: i32,
    difference: Option<String>,
}

fn load() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "test"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        let file = f.file_name().unwrap().to_string_lossy().into_owned();
        for block in text.split("#### ").skip(1) {
            let (name, body) = block.split_once('\n').unwrap();
            let mut case = Case {
                file: file.clone(),
                name: name.trim().into(),
                script: String::new(),
                stdout: String::new(),
                status: 0,
                difference: None,
            };
            let lines = body.lines();
            let mut in_stdout = false;
            for l in lines {
                if in_stdout {
                    if l == "## END" {
                        in_stdout = false;
                    } else {
                        case.stdout.push_str(l);
                        case.stdout.push('\n');
                    }
                } else if let Some(v) = l.strip_prefix("## stdout: ") {
                    case.stdout = format!("{v}\n");
                } else if l == "## STDOUT:" {
                    in_stdout = true;
                } else if let Some(v) = l.strip_prefix("## status: ") {
                    case.status = v.trim().parse().unwrap();
                } else if let Some(v) = l.strip_prefix("## difference: ") {
                    case.difference = Some(v.into());
                } else if !l.starts_with("## ") {
                    case.script.push_str(l);
                    case.script.push('\n');
                }
            }
            cases.push(case);
        }
    }
    cases
}

fn dash(script: &str) -> (String, i32) {
    let dir = std::env::temp_dir().join(format!(
        "eurali-spec-{}-{:x}",
        std::process::id(),
        rand_u64()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("dash")
        .arg("-c")
        .arg(script)
        .current_dir(&dir)
        .output()
        .expect("dash runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

#[test]
fn corpus_passes_in_ours_and_agrees_with_dash() {
    let cases = load();
    assert!(cases.len() >= 40, "corpus too small: {}", cases.len());
    let have_dash = Command::new("dash").arg("-c").arg("true").status().is_ok();
    assert!(
        have_dash || std::env::var_os("CI").is_none(),
        "dash is needed under CI (apt-get install dash)"
    );
    let mut failures = Vec::new();
    let (mut ours_ok, mut dash_ok, mut differences) = (0, 0, 0);
    for c in &cases {
        let (out, err, code) = common::sh(&c.script, "");
        if out == c.stdout && code == c.status {
            ours_ok += 1;
        } else {
            failures.push(format!(
                "{}: {}: ours gave status {code}, stdout {out:?} (want {} {:?}); stderr {err:?}",
                c.file, c.name, c.status, c.stdout
            ));
        }
        if let Some(_why) = &c.difference {
            differences += 1;
            continue;
        }
        if have_dash {
            let (dout, dcode) = dash(&c.script);
            if dout == c.stdout && dcode == c.status {
                dash_ok += 1;
            } else {
                failures.push(format!(
                    "{}: {}: dash gave status {dcode}, stdout {dout:?} (want {} {:?})",
                    c.file, c.name, c.status, c.stdout
                ));
            }
        }
    }
    println!(
        "spec: {} cases; ours {ours_ok} passed; dash {dash_ok} agreed; {differences} documented differences",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
