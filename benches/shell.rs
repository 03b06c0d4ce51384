//! `cargo xtask bench shell`: our `sh` on the in-process stub against dash on Linux, same run.
//!
//! - builtins: a 1000-iteration loop of builtins (three nested `for` loops assigning a variable
//!   and testing it with `[`), run 200 times in one shell (so that the ~50 ms steps in which a
//!   booted system's end is seen stay small against it), reported per 1000 iterations;
//! - spawn: 100 runs of the external `/bin/true` (our coreutils on the stub, which the shell runs
//!   on a thread of its own, see `programs/shell/src/applet.rs`; dash runs Linux's);
//! - spawn_process: 100 runs of `/bin/echo` as a process of its own (our echo program; dash runs
//!   Linux's), what a program that is not one of the shell's tools costs.
//!
//! Each figure is the script's time minus the time of an empty script on the same side (booting
//! our system, or starting dash), median of 5 rounds.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

const DIGITS: &str = "0 1 2 3 4 5 6 7 8 9";

/// Repetitions of the 1000-iteration loop per run (the figure is per 1000 iterations), so that
/// the loop's time stands well above the noise of starting a system.
const REPEAT: u32 = 200;

fn builtins() -> String {
    let one = format!(
        "for a in {DIGITS}; do for b in {DIGITS}; do for c in {DIGITS}; do x=$a$b$c; [ $x = 999 ] && y=1; done; done; done"
    );
    format!(
        "for r in {}; do {one}; done",
        (0..REPEAT)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn spawns() -> String {
    format!("for a in {DIGITS}; do for b in {DIGITS}; do /bin/true; done; done")
}

fn process_spawns() -> String {
    format!("for a in {DIGITS}; do for b in {DIGITS}; do /bin/echo >/dev/null; done; done")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ours(script: &str) -> Duration {
    let t = Instant::now();
    let (out, err, code) = common::sh(script, "");
    assert_eq!(code, 0, "{out}{err}");
    t.elapsed()
}

fn dash(script: &str) -> Duration {
    let t = Instant::now();
    let s = std::process::Command::new("dash")
        .arg("-c")
        .arg(script)
        .output()
        .expect("dash");
    assert!(s.status.success());
    t.elapsed()
}

fn measure(f: fn(&str) -> Duration, script: &str) -> Duration {
    let rounds = if std::env::args().any(|a| a == "--bench") {
        5
    } else {
        1
    };
    let _warm_up = f("true");
    let empty = median((0..rounds).map(|_| f("true")).collect());
    let full = median((0..rounds).map(|_| f(script)).collect());
    eprintln!("  empty script {empty:?}, full script {full:?}");
    full.saturating_sub(empty)
}

fn main() {
    for (name, script, per) in [
        ("shell_builtin_loop", builtins(), REPEAT),
        ("shell_spawn_100", spawns(), 1),
        ("shell_spawn_process_100", process_spawns(), 1),
    ] {
        let o = measure(ours, &script) / per;
        let d = measure(dash, &script) / per;
        println!(
            "RESULT {name}={}us baseline={}us ratio={:.2}",
            o.as_micros(),
            d.as_micros(),
            o.as_secs_f64() / d.as_secs_f64().max(1e-9)
        );
    }
}
