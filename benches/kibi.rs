//! `cargo xtask bench kibi`: kibi opening and saving a 50,000-line file — ours (kibi's code on
//! std-shim, as `/bin/edit` on the in-process stub, the file on a ramdisk) against upstream kibi
//! 0.3.3 on Linux (built for the host from the same registry source, a dev-dependency, run in a
//! pseudo-terminal, the file on tmpfs `/dev/shm`), same run.
//!
//! Each run starts the editor on the file and types Ctrl-S (save) then Ctrl-Q (quit); the file
//! must come out unchanged. The figure is that run's time minus the time of opening a file that
//! does not exist and quitting at once (starting the editor, its first screen and quitting),
//! median of 5 rounds, on each side. Ours is timed inside the stub around the editor's process
//! (spawn to exit status); upstream's around its process (spawn to wait).

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const LINES: usize = 50_000;
/// Ctrl-S, Ctrl-Q.
const SAVE_QUIT: &[u8] = b"\x13\x11";
/// Ctrl-Q.
const QUIT: &[u8] = b"\x11";

fn content() -> String {
    (0..LINES)
        .map(|i| {
            format!(
                "{i:05}: fn line_{i}() -> u32 {{ {} }} // the quick brown fox jumps over the lazy dog\n",
                i * 7919 % 1000
            )
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// ---- ours: /bin/edit on the in-process stub ----

/// The editor's time in the last run of [`bench_init`], in nanoseconds.
static OURS_NANOS: AtomicU64 = AtomicU64::new(0);

/// The stub's init for one run: a ramdisk at `/` with `/bin/edit` and (for `full`) the file,
/// then the editor on it, timed; checks the file after.
fn bench_init() {
    use eurali_std as shim;
    let mode = shim::env::args().nth(1).unwrap_or_default();
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(64 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::create_dir_all("/bin").unwrap();
    shim::fs::write("/bin/edit", kernel_stub::Kernel::program_image("edit")).unwrap();
    let text = content();
    let file = if mode == "full" {
        shim::fs::write("/big.txt", &text).unwrap();
        "/big.txt"
    } else {
        "/new.txt"
    };
    let t = shim::time::Instant::now();
    let status = shim::process::Command::new("/bin/edit")
        .arg(file)
        .status()
        .unwrap();
    let took = t.elapsed();
    assert!(status.success(), "edit: {status:?}");
    if mode == "full" {
        assert!(
            shim::fs::read_to_string("/big.txt").unwrap() == text,
            "the saved file differs"
        );
    }
    OURS_NANOS.store(took.as_nanos() as u64, Ordering::Relaxed);
}

fn ours(full: bool) -> Duration {
    let console = eurali_host::boot::Console {
        stdin: Box::new(std::io::Cursor::new(
            if full { SAVE_QUIT } else { QUIT }.to_vec(),
        )),
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::stderr()),
    };
    let programs = [
        eurali_std::program_entry!("init", bench_init),
        eurali_std::program_entry!("edit", edit::main),
    ];
    let mode = if full { "full" } else { "empty" }.to_string();
    let code = eurali_host::boot::run_on_terminal(&programs, "init", &[mode], console);
    assert_eq!(code, 0, "the stub's run failed");
    Duration::from_nanos(OURS_NANOS.load(Ordering::Relaxed))
}

// ---- upstream: kibi 0.3.3 for Linux, in a pty ----

/// A pseudo-terminal of 24x80 in raw mode: (master, slave).
fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let ws = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // Safety: openpty fills two descriptors we then own; tcgetattr/tcsetattr on the slave with
    // a local termios.
    unsafe {
        assert_eq!(
            libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws),
            0,
            "openpty"
        );
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(s, &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(s, libc::TCSANOW, &t);
        (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s))
    }
}

fn upstream(path: &str, keys: &[u8]) -> Duration {
    let (master, slave) = open_pty();
    let mut to_kibi = std::fs::File::from(master.try_clone().unwrap());
    let mut from_kibi = std::fs::File::from(master);
    // Keys wait in the pty until kibi reads them.
    to_kibi.write_all(keys).unwrap();
    let drain = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while matches!(from_kibi.read(&mut buf), Ok(n) if n > 0) {}
    });
    let t = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--upstream-kibi", path])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let took = t.elapsed();
    assert!(status.success(), "upstream kibi: {status:?}");
    drop(to_kibi);
    let _ = drain.join();
    took
}

fn measure(f: &dyn Fn(bool) -> Duration, rounds: usize) -> (Duration, Duration) {
    let _warm_up = (f(false), f(true));
    let empty = median((0..rounds).map(|_| f(false)).collect());
    let full = median((0..rounds).map(|_| f(true)).collect());
    (empty, full)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--upstream-kibi") {
        // Upstream kibi's own `main`, for the file given.
        let r = kibi::stdin()
            .map_err(kibi::Error::from)
            .and_then(|mut input| kibi::run(args.get(2).map(String::as_str), &mut input));
        if let Err(e) = r {
            eprintln!("Error: {e:?}");
            std::process::exit(1);
        }
        return;
    }
    let rounds = if args.iter().any(|a| a == "--bench") {
        5
    } else {
        1
    };
    // RAM against RAM: upstream's file on tmpfs (its sync_all is then no disk flush), as ours
    // is on a ramdisk.
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("eurali-kibi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.txt");
    let new = dir.join("new.txt");
    let text = content();
    let up = |full: bool| {
        if full {
            std::fs::write(&big, &text).unwrap();
            let d = upstream(big.to_str().unwrap(), SAVE_QUIT);
            assert!(
                std::fs::read_to_string(&big).unwrap() == text,
                "upstream saved a different file"
            );
            d
        } else {
            let _ = std::fs::remove_file(&new);
            upstream(new.to_str().unwrap(), QUIT)
        }
    };
    println!(
        "file: {LINES} lines, {} bytes; {rounds} round(s)",
        text.len()
    );
    let (o_empty, o_full) = measure(&ours, rounds);
    println!(
        "ours:     open a new file and quit {o_empty:?}; open, save and quit the file {o_full:?}"
    );
    let (u_empty, u_full) = measure(&up, rounds);
    println!(
        "upstream: open a new file and quit {u_empty:?}; open, save and quit the file {u_full:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let o = o_full.saturating_sub(o_empty).as_secs_f64() * 1e3;
    let u = u_full.saturating_sub(u_empty).as_secs_f64() * 1e3;
    println!(
        "RESULT kibi_open_save_50k_lines={o:.1}ms baseline={u:.1}ms ratio={:.2}",
        o / u
    );
}
