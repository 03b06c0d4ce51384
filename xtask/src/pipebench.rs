//! `cargo xtask bench pipe`: data through pipelines, our system as `cargo run` boots it against
//! dash with the host's coreutils, in the same run.
//!
//! Ours is the `eurali` binary of the profile `cargo run` uses (`dev`), built first and started
//! as `eurali -c SCRIPT`: a booted system (init fills the root file system, then root's shell
//! runs SCRIPT), so what a person typing `cargo run -- -c …` waits for. dash runs the same script
//! with Linux's `cat`, `seq`, `sort`, `tail`, `wc`.
//!
//! - `pipe_cat_64m`: a 1 MiB file (made by the script by doubling a 64-byte line) named 64 times
//!   on `cat`'s command line, through `| cat | cat | wc -c`: 64 MiB through three pipes;
//! - `pipe_sort_1m`: `seq 1 1000000 | sort -n | tail -1`.
//!
//! Each figure is the median over rounds of the script's time minus the median time of its
//! setup alone (for ours that includes booting the system), so it is the pipeline's own time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;
use crate::process;

/// Makes `a`, 1 MiB: a 64-byte line doubled 14 times.
const MAKE_1M: &str = "echo 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde > a; \
     i=0; while [ $i -lt 14 ]; do cat a a > b; mv b a; i=$((i+1)); done";

struct Case {
    name: &'static str,
    setup: String,
    pipeline: String,
    expect: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "pipe_cat_64m",
            setup: MAKE_1M.to_string(),
            pipeline: format!("cat{} | cat | cat | wc -c", " a".repeat(64)),
            expect: "67108864",
        },
        Case {
            name: "pipe_sort_1m",
            setup: "true".to_string(),
            pipeline: "seq 1 1000000 | sort -n | tail -1".to_string(),
            expect: "1000000",
        },
    ]
}

/// Who runs a script, in a directory of its own.
enum Side<'a> {
    Ours(&'a Path),
    Dash(&'a Path),
}

impl Side<'_> {
    /// Runs `script`; its stdout, trimmed.
    fn run(&self, script: &str) -> Result<(Duration, String)> {
        let t = Instant::now();
        let out = match self {
            // root's shell starts in its home; the scratch files go to /tmp.
            Side::Ours(bin) => Command::new(bin)
                .arg("-c")
                .arg(format!("cd /tmp && {{ {script}; }}"))
                .output(),
            Side::Dash(dir) => Command::new("dash")
                .arg("-c")
                .arg(script)
                .current_dir(dir)
                .output(),
        }
        .map_err(|e| format!("cannot run the script: {e}"))?;
        let took = t.elapsed();
        if !out.status.success() {
            return Err(format!(
                "{script:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok((
            took,
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    }

    /// The pipeline's own time: median of `rounds` runs of setup + pipeline, minus the median
    /// of setup alone.
    fn measure(&self, case: &Case, rounds: usize) -> Result<Duration> {
        let full = format!("{}; {}", case.setup, case.pipeline);
        let mut base = Vec::new();
        let mut with = Vec::new();
        for _ in 0..rounds {
            base.push(self.run(&case.setup)?.0);
            let (t, out) = self.run(&full)?;
            let got = out.lines().last().unwrap_or("").trim();
            if got != case.expect {
                return Err(format!(
                    "{}: printed {got:?}, expected {:?}",
                    case.name, case.expect
                ));
            }
            with.push(t);
        }
        let (b, w) = (median(base), median(with));
        eprintln!("  {}: setup {b:?}, setup + pipeline {w:?}", case.name);
        Ok(w.saturating_sub(b))
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The `eurali` binary of the `dev` profile, built now.
fn build_ours(root: &Path) -> Result<PathBuf> {
    process::run(
        process::host_cargo()
            .args(["build", "-p", "eurali", "--bin", "eurali"])
            .current_dir(root),
    )?;
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(dir.join("debug").join("eurali"))
}

pub fn run() -> Result<()> {
    let root = crate::workspace_root();
    let ours = build_ours(&root)?;
    let scratch = std::env::temp_dir().join(format!("eurali-pipe-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let rounds = 3;
    let result = (|| {
        for case in cases() {
            let o = Side::Ours(&ours).measure(&case, rounds)?;
            let d = Side::Dash(&scratch).measure(&case, rounds)?;
            println!(
                "RESULT {}={}ms baseline={}ms ratio={:.2}",
                case.name,
                o.as_millis(),
                d.as_millis(),
                o.as_secs_f64() / d.as_secs_f64().max(1e-6)
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
