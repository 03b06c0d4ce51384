//! Writes that fail, on the in-process stub: a reader that is gone (the writer ends as with
//! SIGPIPE, status 141, unless it chose to see the error), a full ramdisk behind stdout or a
//! file (the program fails, saying so, and what was written before stays), and never a byte of
//! it on the kernel's debug line.

use std::time::Duration;

use eurali_host::boot::{Captured, run_captured};
use eurali_std as shim;
use shim::io::{Read, Write};
use shim::process::{Command, Stdio};

// ---- the children ----

/// `endless [error]`: numbered lines on stdout for ever, with `println!`; with `error`, it
/// chooses to see a broken pipe and ends with status 3, naming the error on stderr.
fn endless() {
    if shim::env::args().nth(1).as_deref() == Some("error") {
        shim::rt::set_broken_pipe(shim::rt::BrokenPipe::Error);
        let mut out = shim::io::stdout();
        for i in 0.. {
            if let Err(e) = writeln!(out, "{i}") {
                shim::eprintln!("endless saw: {:?}", e.kind());
                shim::process::exit(3);
            }
        }
    }
    for i in 0.. {
        shim::println!("{i}");
    }
}

/// `lines N`: N lines of 99 bytes and a newline with `println!`, whose errors it never sees;
/// then exits 0.
fn lines() {
    let n: usize = shim::env::args().nth(1).unwrap().parse().unwrap();
    let line = "y".repeat(99);
    for _ in 0..n {
        shim::println!("{line}");
    }
}

/// `gather PATH N`: N bytes into PATH in small writes (gathered by the file), dropped without
/// a flush; exits 0.
fn gather() {
    let args: Vec<String> = shim::env::args().collect();
    let n: usize = args[2].parse().unwrap();
    let mut f = shim::fs::File::create(&args[1]).unwrap();
    for _ in 0..n / 10 {
        f.write_all(b"0123456789").unwrap();
    }
}

const CHILDREN: &[&str] = &["endless", "lines", "gather"];

fn programs(
    parent: (&'static str, kernel_stub::ProgramEntry),
) -> Vec<(&'static str, kernel_stub::ProgramEntry)> {
    vec![
        parent,
        shim::program_entry!("endless", endless),
        shim::program_entry!("lines", lines),
        shim::program_entry!("gather", gather),
    ]
}

/// A ramdisk at `/` with the children in `/bin`, and a ramdisk of 16 KiB at `/full`.
fn setup() {
    let root = vfs::server::start(vfs::ramdisk::Ramdisk::new(16 << 20)).unwrap();
    libeurali::mount("/", root).unwrap();
    shim::fs::create_dir("/bin").unwrap();
    for name in CHILDREN {
        shim::fs::write(
            format!("/bin/{name}"),
            kernel_stub::Kernel::program_image(name),
        )
        .unwrap();
    }
    let small = vfs::server::start(vfs::ramdisk::Ramdisk::new(16 << 10)).unwrap();
    libeurali::mount("/full", small).unwrap();
}

fn boot(parent: (&'static str, kernel_stub::ProgramEntry)) -> Captured {
    run_captured(
        &programs(parent),
        parent.0,
        &[],
        b"",
        Duration::from_secs(60),
    )
}

// ---- the parents ----

/// Reads `lines` of a child's piped stdout, drops the pipe, and waits: the child must end.
fn read_then_close(args: &[&str], lines: usize) -> (String, Option<i32>, String) {
    let mut c = Command::new("endless")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while got.iter().filter(|&&b| b == b'\n').count() < lines {
        assert_eq!(out.read(&mut b).unwrap(), 1);
        got.push(b[0]);
    }
    drop(out);
    let t = shim::time::Instant::now();
    let status = c.wait().unwrap();
    let waited = t.elapsed();
    assert!(waited < core::time::Duration::from_secs(5), "{waited:?}");
    let mut err = String::new();
    c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (String::from_utf8(got).unwrap(), status.code(), err)
}

fn broken_pipes() {
    setup();
    let (first, code, err) = read_then_close(&[], 2);
    shim::println!("read {first:?}; the writer ended with {code:?} {err:?}");
    let (first, code, err) = read_then_close(&["error"], 1);
    shim::println!("read {first:?}; the writer ended with {code:?} {err:?}");
}

#[test]
fn a_writer_whose_reader_is_gone_ends_as_with_sigpipe() {
    let r = boot(shim::program_entry!("parent", broken_pipes));
    assert_eq!(
        r.stdout,
        "read \"0\\n1\\n\"; the writer ended with Some(141) \"\"\n\
         read \"0\\n\"; the writer ended with Some(3) \"endless saw: BrokenPipe\\n\"\n",
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.debug, "", "nothing goes to the kernel's debug line");
}

fn full_disks() {
    setup();
    // 300 lines of 100 bytes into a 16 KiB ramdisk: the program never sees the errors of its
    // prints, and fails at its exit, saying why.
    let f = shim::fs::File::create("/full/out").unwrap();
    let o = Command::new("lines")
        .arg("300")
        .stdout(f)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let kept = shim::fs::read_to_string("/full/out").unwrap();
    shim::println!(
        "lines: {:?} {:?}; kept {} whole lines of 100 bytes: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr),
        kept.len() / 100,
        kept.len().is_multiple_of(100) && kept.lines().all(|l| l == "y".repeat(99))
    );
    shim::fs::remove_file("/full/out").unwrap();
    // Writes gathered by a file and lost at its drop: named, and the status is 1.
    let o = Command::new("gather")
        .args(["/full/gathered", "20000"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    shim::println!(
        "gather: {:?} {:?}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    shim::fs::remove_file("/full/gathered").unwrap();
    // fs::write says so itself (its last, gathered, part included).
    shim::fs::write("/full/a", vec![1u8; 10_000]).unwrap();
    let e = shim::fs::write("/full/b", vec![2u8; 10_000]).unwrap_err();
    shim::println!("fs::write: {:?}: {e}", e.kind());
    shim::println!(
        "the first file is whole: {}",
        shim::fs::read("/full/a").unwrap() == vec![1u8; 10_000]
    );
}

#[test]
fn a_full_disk_fails_the_writer_and_keeps_what_was_written() {
    let r = boot(shim::program_entry!("parent", full_disks));
    assert_eq!(
        r.stdout,
        "lines: Some(1) \"lines: write error: no space left on device\\n\"; \
         kept 163 whole lines of 100 bytes: true\n\
         gather: Some(1) \"gather: /full/gathered: write error (as the file was closed): \
         no space left on device\\n\"\n\
         fs::write: StorageFull: no space left on device\n\
         the first file is whole: true\n",
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.debug, "", "nothing goes to the kernel's debug line");
}
