//! `cargo xtask bench login`: what one password hash costs the real ELFs (hosted mode: the
//! freestanding code running natively, only its system calls trapped), the cost of one login,
//! against the same PBKDF2-HMAC-SHA256 on the host (Python's `hashlib.pbkdf2_hmac`, OpenSSL's).
//!
//! Ours: root's `passwd user` sets a password K times (one hash at `vfs::users::ROUNDS` each,
//! in the keeper), less K times `passwd nobody` (the same processes and requests, no hash),
//! divided by K. The real kernel under QEMU's TCG is slower than this by the emulation's factor:
//! the figure to set `ROUNDS` by is timed there (README, "Login").
//! `RESULT login_hash=<ms>ms baseline=<ms>ms ratio=<ours/theirs>`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

const K: usize = 8;

fn hosted(bin: &std::path::Path, script: &str) -> f64 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eurali"));
    cmd.arg("--hosted")
        .arg(bin)
        .args(["-c", script, "--user", "root"]);
    if let Some(g) = kernel_stub::hosted::guest_loader() {
        cmd.env("EURALI_GUEST", g);
    }
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("start eurali");
    let took = start.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("MACHINE HALT"), "halted:\n{err}");
    took
}

fn sets(name: &str) -> String {
    format!(
        "i=0; while [ $i -lt {K} ]; do printf 'pw\\npw\\n' | passwd {name} >/dev/null 2>&1; \
         i=$((i+1)); done"
    )
}

/// Seconds per hash of the host's own PBKDF2 (Python's hashlib, on OpenSSL), if there is one.
fn host_hash() -> Option<f64> {
    let code = format!(
        "import hashlib,time\nt=time.perf_counter()\n\
         for _ in range({K}): hashlib.pbkdf2_hmac('sha256', b'pw', b'0123456789abcdef', {})\n\
         print((time.perf_counter()-t)/{K})",
        vfs::users::ROUNDS
    );
    let out = Command::new("python3").args(["-c", &code]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/eurali/bin");
    if !bin.join("init").is_file() || kernel_stub::hosted::guest_loader().is_none() {
        eprintln!("login: needs `cargo xtask build` and the eurali-guest loader");
        std::process::exit(1);
    }
    // Median of three of each, interleaved.
    let mut with = Vec::new();
    let mut without = Vec::new();
    for _ in 0..3 {
        with.push(hosted(&bin, &sets("user")));
        without.push(hosted(&bin, &sets("nobody")));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let ours = ((median(&mut with) - median(&mut without)) / K as f64).max(0.0) * 1000.0;
    println!(
        "one hash at {} iterations: {ours:.1} ms (hosted, the freestanding ELF's code)",
        vfs::users::ROUNDS
    );
    match host_hash() {
        Some(t) => {
            let theirs = t * 1000.0;
            println!(
                "RESULT login_hash={ours:.1}ms baseline={theirs:.1}ms ratio={:.1}",
                ours / theirs
            );
        }
        None => {
            println!("no python3 for the baseline");
            println!("RESULT login_hash={ours:.1}ms");
        }
    }
}
