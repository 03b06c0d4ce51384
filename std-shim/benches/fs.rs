//! std-shim's `fs` on a ramdisk on the in-process stub, against std's `fs` on Linux tmpfs
//! (`/dev/shm`), measured in the same run.
//!
//! - `fs_write_16m`, `fs_read_16m`: one 16 MiB file written with `fs::write` (1 MiB per message
//!   on our side) and read back with `fs::read`; MB/s.
//! - `fs_small_files`: create, write 100 bytes, close, for many files in one directory; files
//!   per second.
//!
//! Ours runs in a stub process (a ramdisk server thread in the same process, as a namespace's
//! ramdisk is); the baseline on the host thread that runs the bench. Each figure is the median of
//! several rounds, with the threads left to the scheduler; an information line repeats both
//! pinned to one CPU. The last lines are
//!   RESULT fs_write_16m=<MB/s>MB/s baseline=<MB/s>MB/s ratio=<ours/baseline>
//!   RESULT fs_read_16m=<MB/s>MB/s baseline=<MB/s>MB/s ratio=<ours/baseline>
//!   RESULT fs_small_files=<n>/s baseline=<n>/s ratio=<ours/baseline>

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use eurali_std as shim;
use kernel_stub::Kernel;

const BIG: usize = 16 << 20;
const SMALL: &[u8] = &[b'x'; 100];

/// `cargo bench` passes `--bench`; without it (`cargo test --benches`) one short smoke run.
fn quick() -> bool {
    static QUICK: OnceLock<bool> = OnceLock::new();
    *QUICK.get_or_init(|| !std::env::args().any(|a| a == "--bench"))
}

/// (rounds, small files per round)
fn sizes() -> (usize, usize) {
    if quick() { (1, 50) } else { (7, 2000) }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// The three figures, for one side: `write(path, data)`, `read(path)`, `small(dir, i)`.
struct Side<'a> {
    write: &'a dyn Fn(&str, &[u8]),
    read: &'a dyn Fn(&str) -> Vec<u8>,
    small: &'a dyn Fn(&str, usize),
    mkdir: &'a dyn Fn(&str),
    rmdir_all: &'a dyn Fn(&str),
}

fn measure(side: &Side<'_>, root: &str) -> (f64, f64, f64) {
    let (rounds, files) = sizes();
    let data: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    let big = format!("{root}/big");
    (side.write)(&big, &data); // warm up
    let (mut w, mut r, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let t = Instant::now();
        (side.write)(&big, &data);
        w.push(mbps(BIG, t.elapsed()));
        let t = Instant::now();
        let back = (side.read)(&big);
        r.push(mbps(BIG, t.elapsed()));
        assert!(back == data, "read back what was written");
        let dir = format!("{root}/small{round}");
        (side.mkdir)(&dir);
        let t = Instant::now();
        for i in 0..files {
            (side.small)(&dir, i);
        }
        s.push(files as f64 / t.elapsed().as_secs_f64());
        (side.rmdir_all)(&dir);
    }
    (median(w), median(r), median(s))
}

fn ours() -> (f64, f64, f64) {
    let k = Kernel::new();
    let r = k.run_as_process("bench", || {
        let root = vfs::server::start(vfs::ramdisk::Ramdisk::new(64 << 20)).unwrap();
        libeurali::mount("/", root).unwrap();
        shim::fs::create_dir("/bench").unwrap();
        use shim::io::Write;
        let side = Side {
            write: &|p, d| shim::fs::write(p, d).unwrap(),
            read: &|p| shim::fs::read(p).unwrap(),
            small: &|dir, i| {
                let mut f = shim::fs::File::create(format!("{dir}/f{i}")).unwrap();
                f.write_all(SMALL).unwrap();
            },
            mkdir: &|p| shim::fs::create_dir(p).unwrap(),
            rmdir_all: &|p| shim::fs::remove_dir_all(p).unwrap(),
        };
        measure(&side, "/bench")
    });
    k.shutdown();
    r
}

fn baseline() -> Option<(f64, f64, f64)> {
    let root = format!("/dev/shm/eurali-bench-{}", std::process::id());
    if std::fs::create_dir(&root).is_err() {
        return None;
    }
    use std::io::Write;
    let side = Side {
        write: &|p, d| std::fs::write(p, d).unwrap(),
        read: &|p| std::fs::read(p).unwrap(),
        small: &|dir, i| {
            let mut f = std::fs::File::create(format!("{dir}/f{i}")).unwrap();
            f.write_all(SMALL).unwrap();
        },
        mkdir: &|p| std::fs::create_dir(p).unwrap(),
        rmdir_all: &|p| std::fs::remove_dir_all(p).unwrap(),
    };
    let r = measure(&side, &root);
    let _ = std::fs::remove_dir_all(&root);
    Some(r)
}

/// Pins this thread, and the threads it starts from now on, to CPU 0.
fn pin_to_cpu0() {
    // Safety: a zeroed cpu_set_t is valid; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn main() {
    let (ow, or, os) = ours();
    let Some((bw, br, bs)) = baseline() else {
        println!("no /dev/shm: no baseline");
        return;
    };
    println!(
        "ours (std-shim fs, ramdisk on the in-process stub): write {ow:.0} MB/s, read {or:.0} MB/s, \
         {os:.0} small files/s"
    );
    println!(
        "baseline (std fs, Linux tmpfs /dev/shm): write {bw:.0} MB/s, read {br:.0} MB/s, \
         {bs:.0} small files/s"
    );
    if !quick() {
        // For information: client and server threads on one CPU, where no wake-up crosses CPUs
        // (on a small VM most of our cost in the figures above).
        pin_to_cpu0();
        let (pw, pr, ps) = ours();
        let (qw, qr, qs) = baseline().unwrap_or((1.0, 1.0, 1.0));
        println!(
            "pinned to one CPU: ours write {pw:.0} MB/s, read {pr:.0} MB/s, {ps:.0} files/s; \
             baseline write {qw:.0} MB/s, read {qr:.0} MB/s, {qs:.0} files/s; ratios {:.2} {:.2} {:.2}",
            pw / qw,
            pr / qr,
            ps / qs
        );
    }
    println!(
        "RESULT fs_write_16m={ow:.0}MB/s baseline={bw:.0}MB/s ratio={:.2}",
        ow / bw
    );
    println!(
        "RESULT fs_read_16m={or:.0}MB/s baseline={br:.0}MB/s ratio={:.2}",
        or / br
    );
    println!(
        "RESULT fs_small_files={os:.0}/s baseline={bs:.0}/s ratio={:.2}",
        os / bs
    );
}
