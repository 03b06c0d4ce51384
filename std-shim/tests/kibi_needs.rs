//! What kibi needs of std-shim beyond the basics, in a program on the stub: reading, writing and
//! seeking through `&File` (one shared position), small writes gathered and still visible to
//! every later operation, `BufReader::split`, `io::Cursor`, `HashMap`, `env::var_os`, and
//! per-process panic hooks.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use shim::fs::{self, File, OpenOptions};
use shim::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom, Write};

fn boot(entry: (&'static str, kernel_stub::ProgramEntry)) -> eurali_host::boot::Captured {
    run_captured(&[entry], entry.0, &[], b"", Duration::from_secs(60))
}

fn mount_ramdisk() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(16 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
}

fn files_program() {
    mount_ramdisk();
    // Many small writes (gathered), then everything that must see them.
    let mut f = File::create("/lines.txt").unwrap();
    for i in 0..10_000 {
        f.write_all(format!("line {i}").as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    let expected: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(f.metadata().unwrap().len(), expected.len() as u64);
    f.sync_all().unwrap();
    drop(f);
    assert_eq!(fs::read_to_string("/lines.txt").unwrap(), expected);
    // A write elsewhere (after a seek) and a read back through the same file.
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/lines.txt")
        .unwrap();
    f.write_all(b"LINE").unwrap();
    f.seek(SeekFrom::Start(7)).unwrap();
    f.write_all(b"LINE").unwrap();
    f.rewind().unwrap();
    let mut first = [0u8; 14];
    f.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"LINE 0\nLINE 1\n");
    // Not flushed explicitly: dropping the file sends what is gathered.
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(b"tail\n").unwrap();
    drop(f);
    assert!(
        fs::read_to_string("/lines.txt")
            .unwrap()
            .ends_with("line 9999\ntail\n")
    );
    // kibi's load: BufReader over &File, split on '\n', then seek and read the last byte
    // through the file itself.
    let mut file = File::open("/lines.txt").unwrap();
    let rows: Vec<Vec<u8>> = BufReader::new(&file)
        .split(b'\n')
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 10_001);
    assert_eq!(rows[1], b"LINE 1");
    file.seek(SeekFrom::End(-1)).unwrap();
    assert_eq!((&file).bytes().next().transpose().unwrap(), Some(b'\n'));
    // A read-only file refuses writes, with an error.
    let mut ro = File::open("/lines.txt").unwrap();
    let refused = ro.write_all(b"x").and_then(|_| ro.flush());
    assert!(refused.is_err(), "a write to a file opened for reading");

    // Cursor: read, BufRead, seek, write past the end (zero-filled).
    let mut c = Cursor::new(b"ab\ncd".to_vec());
    let mut line = String::new();
    c.read_line(&mut line).unwrap();
    assert_eq!(line, "ab\n");
    c.seek(SeekFrom::End(2)).unwrap();
    c.write_all(b"!").unwrap();
    assert_eq!(c.get_ref(), b"ab\ncd\0\0!");
    assert!(c.seek(SeekFrom::Current(-100)).is_err());

    // HashMap and env::var_os.
    let mut m = shim::collections::HashMap::new();
    m.insert("k", 1);
    *m.entry("k").or_insert(0) += 1;
    assert_eq!(m["k"], 2);
    // Safety: one thread.
    unsafe { shim::env::set_var("KIBI_TEST", "v") };
    assert_eq!(shim::env::var_os("KIBI_TEST").unwrap(), "v");
    assert!(shim::env::var_os("NOT_SET").is_none());
}

#[test]
fn files_cursor_maps_and_env_as_kibi_uses_them() {
    let r = boot(shim::program_entry!("files", files_program));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn hook_program() {
    let prev = shim::panic::take_hook();
    shim::panic::set_hook(Box::new(move |info| {
        shim::eprintln!(
            "hook: {:?} at line {}",
            info.payload_as_str(),
            info.location().unwrap().line()
        );
        prev(info);
    }));
    panic!("boom");
}

#[test]
fn a_panic_hook_runs_and_chains_to_the_default_report() {
    let r = boot(shim::program_entry!("hook", hook_program));
    assert_eq!(r.code, 101, "{}", r.stderr);
    assert!(
        r.stderr.contains("hook: Some(\"boom\") at line"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("panicked at") && r.stderr.contains("boom"),
        "{}",
        r.stderr
    );
}

fn no_hook_program() {
    panic!("plain");
}

#[test]
fn without_a_hook_the_report_is_unchanged_and_hooks_stay_per_process() {
    // Run beside a process that has a hook: this one's report is the default.
    let t = std::thread::spawn(|| boot(shim::program_entry!("hook", hook_program)));
    let r = boot(shim::program_entry!("plain", no_hook_program));
    let _ = t.join();
    assert_eq!(r.code, 101);
    assert!(!r.stderr.contains("hook:"), "{}", r.stderr);
    assert!(r.stderr.contains("plain"), "{}", r.stderr);
}
