//! The `eurali` binary run as a user runs `cargo run`: arguments, environment and standard
//! input given, standard output and error read while it runs (so a chatty run never stalls on a
//! full pipe), and a time limit past which the test fails with what came out so far.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run printed, and how it ended (`None`: killed by a signal).
#[allow(dead_code)] // each test file reads a part
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

/// Runs `eurali ARGS` with `input` on stdin and `env` added, without the caller's network
/// and disk settings (`EURALI_NIC`, `EURALI_NET`, `EURALI_DISK`, `EURALI_DISK_SIZE`: tests that
/// want a link or a disk pass them) and with the guest
/// loader for hosted mode when there is one. Fails the test after `limit`.
pub fn eurali_run<S: AsRef<OsStr>>(
    args: &[S],
    input: impl AsRef<[u8]>,
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eurali"));
    cmd.env_remove("EURALI_NIC")
        .env_remove("EURALI_NET")
        .env_remove("EURALI_DISK")
        .env_remove("EURALI_DISK_SIZE");
    if let Some(g) = kernel_stub::hosted::guest_loader() {
        cmd.env("EURALI_GUEST", g);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eurali");
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.as_ref().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
            panic!(
                "eurali {args:?} did not finish in {limit:?}\nstdout: {}\nstderr: {}",
                text(out.join().unwrap_or_default()),
                text(err.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = feeder.join();
    Run {
        stdout: text(out.join().unwrap_or_default()),
        stderr: text(err.join().unwrap_or_default()),
        code: status.code(),
    }
}
