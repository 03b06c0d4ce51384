//! `cargo xtask fuzz [TARGET] [SECONDS]`: runs the cargo-fuzz targets in `fuzz/` (its own
//! workspace, built with rustup's nightly and AddressSanitizer) for a while each and reports how
//! many inputs each one ran.
//!
//! Every target runs with its corpus in `fuzz/corpus/TARGET` (kept between runs, not in git) and
//! the seeds in `fuzz/seeds/TARGET` when there are any. A crash fails the command and names the
//! input libFuzzer saved under `fuzz/artifacts/TARGET/`: reproduce it with
//! `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...`, then turn it into a
//! regression test next to the code it found the bug in.

use crate::process::{describe, leaks_into_target_build};
use crate::{Result, section};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Seconds per target when none is given (CI's smoke run).
pub const DEFAULT_SECONDS: u64 = 10;

/// Largest input libFuzzer makes: enough for every format here (a script, a spec, a session of
/// messages), small enough to keep inputs fast.
const MAX_LEN: usize = 4096;

/// The targets declared in `fuzz/Cargo.toml` (`[[bin]]` names), in file order.
pub fn targets(root: &Path) -> Result<Vec<String>> {
    let manifest = root.join("fuzz/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(v) = line.strip_prefix("name") {
            let name = v
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// One target's result.
struct Outcome {
    target: String,
    runs: Option<u64>,
    seconds: f64,
    corpus: usize,
}

/// `cargo +nightly fuzz ...` in `root`, with none of the outer cargo's variables (they would
/// pin the stable toolchain or the workspace's target directory).
fn cargo_fuzz(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && leaks_into_target_build(k)
        {
            cmd.env_remove(k);
        }
    }
    cmd.arg("+nightly").arg("fuzz").current_dir(root);
    cmd
}

pub fn run(args: &[String]) -> Result<()> {
    let root = crate::workspace_root();
    let all = targets(&root)?;
    let mut chosen: Vec<String> = all.clone();
    let mut seconds = DEFAULT_SECONDS;
    for a in args {
        if let Ok(s) = a.parse::<u64>() {
            seconds = s.max(1);
        } else if all.contains(a) {
            chosen = vec![a.clone()];
        } else {
            return Err(format!(
                "unknown fuzz target `{a}`; targets: {}",
                all.join(", ")
            ));
        }
    }
    check_cargo_fuzz()?;
    section("cargo +nightly fuzz build (AddressSanitizer)");
    let mut build = cargo_fuzz(&root);
    build.arg("build");
    if chosen.len() == 1 {
        build.arg(&chosen[0]);
    }
    crate::process::run(&mut build)?;

    let mut results = Vec::new();
    let mut failed = Vec::new();
    for t in &chosen {
        section(&format!("fuzz {t} for {seconds} s"));
        match run_one(&root, t, seconds) {
            Ok(o) => results.push(o),
            Err(e) => {
                eprintln!("{e}");
                failed.push(t.clone());
            }
        }
    }
    section("fuzz results");
    for o in &results {
        match o.runs {
            Some(n) => println!(
                "{:<16} {:>10} execs in {:>4.0} s ({:>8.0}/s), corpus {}",
                o.target,
                n,
                o.seconds,
                n as f64 / o.seconds.max(1.0),
                o.corpus
            ),
            None => println!("{:<16} (no exec count reported)", o.target),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets failed: {} (inputs under fuzz/artifacts/)",
            failed.join(", ")
        ))
    }
}

fn check_cargo_fuzz() -> Result<()> {
    let ok = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(
            "cargo-fuzz on rustup's nightly is needed: `rustup toolchain install nightly` and \
             `cargo install cargo-fuzz --locked`"
                .into(),
        )
    }
}

fn run_one(root: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .map_err(|e| format!("cannot make {}: {e}", corpus.display()))?;
    let mut cmd = cargo_fuzz(root);
    cmd.args(["run", target]).arg(&corpus);
    let seeds = root.join("fuzz/seeds").join(target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg("-rss_limit_mb=3072")
        .arg("-timeout=20")
        .arg("-print_final_stats=1");
    if target == "vfs_session" {
        // Each input boots a stub whose host threads (detached, as the stub's are) still hold
        // their std bookkeeping when LeakSanitizer looks: not leaks of the code under test.
        cmd.arg("-detect_leaks=0");
    }
    cmd.stdout(Stdio::inherit()).stderr(Stdio::piped());
    let started = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(&cmd)))?;
    let elapsed = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    // libFuzzer's own progress is long; keep its last lines and every line about a failure.
    let lines: Vec<&str> = log.lines().collect();
    for l in lines.iter().rev().take(12).rev() {
        eprintln!("{l}");
    }
    if !out.status.success() {
        return Err(format!(
            "fuzz target {target} failed ({}): {}",
            out.status,
            lines
                .iter()
                .filter(|l| l.contains("panicked") || l.contains("Test unit written"))
                .copied()
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    // "Done 12345 runs in 10 second(s)", or the final stats' "stat::number_of_executed_units".
    let runs = lines.iter().find_map(|l| {
        l.strip_prefix("Done ")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .or_else(|| {
                l.strip_prefix("stat::number_of_executed_units:")
                    .and_then(|n| n.trim().parse().ok())
            })
    });
    let seconds_run = lines
        .iter()
        .find_map(|l| {
            let rest = l.strip_prefix("Done ")?;
            let after = rest.split(" in ").nth(1)?;
            after.split_whitespace().next()?.parse::<f64>().ok()
        })
        .unwrap_or(elapsed);
    let corpus_len = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    Ok(Outcome {
        target: target.into(),
        runs,
        seconds: seconds_run,
        corpus: corpus_len,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_target_has_a_source_file() {
        let root = crate::workspace_root();
        let targets = super::targets(&root).unwrap();
        assert!(targets.len() >= 10, "{targets:?}");
        for t in targets {
            assert!(
                root.join("fuzz/fuzz_targets")
                    .join(format!("{t}.rs"))
                    .is_file(),
                "{t}"
            );
        }
    }
}
