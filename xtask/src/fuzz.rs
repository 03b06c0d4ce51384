//! `cargo xtask fuzz [TARGET] [SECONDS]`: runs the cargo-fuzz targets in `fuzz/` (its own
//! workspace, built with rustup's nightly and AddressSanitizer) for a while each and reports how
//! many inputs each one ran.
//!
//! - `--list` prints the targets, one a line, and runs nothing.
//! - `--long` is the weekly-style run: each target until [`LONG_RUNS`] inputs or
//!   [`LONG_SECONDS`], whichever comes first (a SECONDS argument lowers that cap, to try it out),
//!   going on past a target that crashes; it reports execs and crashes per target (the inputs
//!   libFuzzer saved: it stops a target at its first crash, so that is 0 or 1 a target).
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

/// `--long`: inputs per target.
pub const LONG_RUNS: u64 = 10_000_000;

/// `--long`: the time cap per target when no SECONDS is given.
pub const LONG_SECONDS: u64 = 600;

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
    /// Inputs libFuzzer saved under `fuzz/artifacts/TARGET` during this run (crashes, leaks,
    /// timeouts, out-of-memory).
    crashes: usize,
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
struct Plan {
    list: bool,
    long: bool,
    /// The time cap per target.
    seconds: u64,
    /// The input cap per target (`--long`).
    runs: Option<u64>,
    chosen: Vec<String>,
}

fn plan(args: &[String], all: &[String]) -> Result<Plan> {
    let (mut list, mut long, mut seconds, mut chosen) = (false, false, None, Vec::new());
    for a in args {
        match a.as_str() {
            "--list" => list = true,
            "--long" => long = true,
            _ => {
                if let Ok(s) = a.parse::<u64>() {
                    seconds = Some(s.max(1));
                } else if all.contains(a) {
                    chosen = vec![a.clone()];
                } else {
                    return Err(format!(
                        "unknown fuzz target `{a}`; targets: {} (or --list, --long)",
                        all.join(", ")
                    ));
                }
            }
        }
    }
    if chosen.is_empty() {
        chosen = all.to_vec();
    }
    let default = if long { LONG_SECONDS } else { DEFAULT_SECONDS };
    Ok(Plan {
        list,
        long,
        seconds: seconds.unwrap_or(default),
        runs: long.then_some(LONG_RUNS),
        chosen,
    })
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
    let Plan {
        list,
        long,
        seconds,
        runs,
        chosen,
    } = plan(args, &all)?;
    if list {
        for t in &chosen {
            println!("{t}");
        }
        return Ok(());
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
        match runs {
            Some(n) => section(&format!("fuzz {t} for {n} execs or {seconds} s")),
            None => section(&format!("fuzz {t} for {seconds} s")),
        }
        match run_one(&root, t, seconds, runs) {
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
                "{:<16} {:>10} execs in {:>4.0} s ({:>8.0}/s), corpus {}, crashes {}",
                o.target,
                n,
                o.seconds,
                n as f64 / o.seconds.max(1.0),
                o.corpus,
                o.crashes
            ),
            None => println!("{:<16} (no exec count reported)", o.target),
        }
    }
    for t in &failed {
        println!("{t:<16} FAILED (its input is under fuzz/artifacts/{t}/)");
    }
    if long && let Some(n) = runs {
        let short: Vec<&str> = results
            .iter()
            .filter(|o| o.runs.is_some_and(|r| r < n))
            .map(|o| o.target.as_str())
            .collect();
        if !short.is_empty() {
            println!(
                "under {n} execs (stopped by the {seconds} s cap): {}",
                short.join(", ")
            );
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

/// The files in `dir` (none if it is not there).
fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn run_one(root: &Path, target: &str, seconds: u64, runs: Option<u64>) -> Result<Outcome> {
    let artifacts = root.join("fuzz/artifacts").join(target);
    let saved_before = files_in(&artifacts);
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
    if let Some(n) = runs {
        cmd.arg(format!("-runs={n}"));
    }
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
    let crashes = files_in(&artifacts).saturating_sub(saved_before);
    // libFuzzer's own progress is long; keep its last lines and every line about a failure.
    let lines: Vec<&str> = log.lines().collect();
    for l in lines.iter().rev().take(12).rev() {
        eprintln!("{l}");
    }
    if !out.status.success() {
        return Err(format!(
            "fuzz target {target} failed ({}; {crashes} inputs saved): {}",
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
    Ok(Outcome {
        target: target.into(),
        runs,
        seconds: seconds_run,
        corpus: files_in(&corpus),
        crashes,
    })
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_SECONDS, LONG_RUNS, LONG_SECONDS, Plan, plan};

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_command_line_chooses_list_long_seconds_and_target() {
        let all = args(&["a", "b"]);
        let p = |a: &[&str]| plan(&args(a), &all);
        assert_eq!(
            p(&[]).unwrap(),
            Plan {
                list: false,
                long: false,
                seconds: DEFAULT_SECONDS,
                runs: None,
                chosen: all.clone()
            }
        );
        assert!(p(&["--list"]).unwrap().list);
        let long = p(&["--long"]).unwrap();
        assert_eq!(
            (long.seconds, long.runs, long.chosen.len()),
            (LONG_SECONDS, Some(LONG_RUNS), 2)
        );
        let short = p(&["--long", "3", "b"]).unwrap();
        assert_eq!(
            (short.seconds, short.runs, short.chosen),
            (3, Some(LONG_RUNS), args(&["b"]))
        );
        let e = p(&["--lst"]).unwrap_err();
        assert!(
            e.contains("unknown fuzz target `--lst`") && e.contains("a, b"),
            "{e}"
        );
    }

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
