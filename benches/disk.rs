//! `cargo xtask bench disk`: 16 MiB written (and synced) and read back through the disk's file
//! system, ours on the stub against Linux's mtools on a FAT32 image of the same size, same run.
//!
//! - ours: `cargo run`'s system (bench profile) with a fresh 64 MiB `EURALI_DISK`; in one boot,
//!   a 16 MiB file made in /tmp (the ramdisk) is copied to /disk (`cp`), `sync` writes it out
//!   (fatfs's cache to the image, `fdatasync`), and `cat` reads it back to /dev/null; each
//!   step timed by the shell's `time -p` (so booting is not counted);
//! - baseline: mtools on a 64 MiB FAT32 image made by `mkfs.fat -F 32`: `mcopy` of the same
//!   16 MiB into it, then `sync IMG` (fsync of the image: what our sync's fdatasync does), and
//!   `mcopy` out to /dev/null. A loop mount would need root.
//!
//! Figures are medians of 3 rounds (1 without `--bench`); the goal is a throughput of
//! at least 0.3 times the baseline's, a time ratio of at most 3.3.

#[path = "../tests/common/run.rs"]
mod run;

use std::process::Command;
use std::time::{Duration, Instant};

const SIZE: usize = 16 << 20;
const IMAGE: &str = "64M";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("eurali-bench-disk-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

/// The `real S.CC` lines `time -p` printed, in order.
fn reals(stderr: &str) -> Vec<Duration> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("real "))
        .filter_map(|s| s.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect()
}

/// (write + sync, read) on our system.
fn ours() -> (Duration, Duration) {
    let img = scratch("ours.img");
    let script = format!(
        "yes 0123456789abcdef | head -c {SIZE} > /tmp/src
         time -p cp /tmp/src /disk/big
         time -p sync /disk
         time -p cat /disk/big > /dev/null
         wc -c < /disk/big"
    );
    let r = run::eurali_run(
        &["-c", &script],
        "",
        &[
            ("EURALI_DISK", img.to_str().unwrap()),
            ("EURALI_DISK_SIZE", IMAGE),
        ],
        Duration::from_secs(600),
    );
    assert_eq!(r.code, Some(0), "{} {}", r.stdout, r.stderr);
    assert_eq!(r.stdout.trim(), SIZE.to_string(), "{}", r.stderr);
    let t = reals(&r.stderr);
    assert_eq!(t.len(), 3, "{}", r.stderr);
    let _ = std::fs::remove_file(&img);
    (t[0] + t[1], t[2])
}

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("mtools and dosfstools must be installed");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (write + sync, read) with mtools.
fn baseline(src: &std::path::Path) -> (Duration, Duration) {
    let img = scratch("linux.img");
    run_ok(
        Command::new("mkfs.fat")
            .args(["-F", "32", "-C"])
            .arg(&img)
            .arg("65536"),
    );
    let t = Instant::now();
    run_ok(
        Command::new("mcopy")
            .arg("-i")
            .arg(&img)
            .arg(src)
            .arg("::/big"),
    );
    run_ok(Command::new("sync").arg(&img));
    let write = t.elapsed();
    let t = Instant::now();
    let out = Command::new("mcopy")
        .arg("-i")
        .arg(&img)
        .arg("::/big")
        .arg("-")
        .output()
        .unwrap();
    let read = t.elapsed();
    assert_eq!(out.stdout.len(), SIZE);
    let _ = std::fs::remove_file(&img);
    (write, read)
}

fn main() {
    let rounds = if std::env::args().any(|a| a == "--bench") {
        3
    } else {
        1
    };
    let src = scratch("src");
    let line = b"0123456789abcdef\n";
    let data: Vec<u8> = line.iter().copied().cycle().take(SIZE).collect();
    std::fs::write(&src, &data).unwrap();
    let (mut ow, mut or, mut bw, mut br) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let (w, r) = ours();
        ow.push(w);
        or.push(r);
        let (w, r) = baseline(&src);
        bw.push(w);
        br.push(r);
    }
    let _ = std::fs::remove_file(&src);
    for (name, o, b) in [
        ("disk_write_sync_16m", median(ow), median(bw)),
        ("disk_read_16m", median(or), median(br)),
    ] {
        println!(
            "RESULT {name}={}ms baseline={}ms ratio={:.2}",
            o.as_millis(),
            b.as_millis(),
            o.as_secs_f64() / b.as_secs_f64().max(1e-9)
        );
    }
}
