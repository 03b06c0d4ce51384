//! Unit tests of eurali programs as processes on the in-process kernel stub: what
//! `eurali-test-macros`' `#[test]` expands to (a crate that uses it names eurali-host as a host
//! dev-dependency).
//!
//! [`run`] boots a fresh stub whose one program runs the test's body. Before the body, that
//! process mounts a ramdisk at `/` with an empty `/tmp`, and copies the package directory the
//! test runs in (cargo runs unit tests in the package's root) into the ramdisk under the same
//! path, which becomes the working directory: a test that reads `./some/fixture` or writes
//! to `std::env::temp_dir()` finds the same as with Rust's std. Hidden entries and `target`
//! are not copied, nor files over [`MAX_COPIED_FILE`]. The body's panic (or an `Err` it returns)
//! fails the test, with the process's stdout and stderr in the message.

use std::time::Duration;

/// Files bigger than this are not copied into the test's ramdisk.
pub const MAX_COPIED_FILE: u64 = 1 << 20;
/// The test's ramdisk size.
const RAMDISK: usize = 64 << 20;
/// A test that has not ended by then fails.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The bodies of the tests under way, by number (the number is the process's argument).
static BODIES: std::sync::Mutex<Bodies> = std::sync::Mutex::new(Vec::new());

/// Test bodies by number (`None` once run).
type Bodies = Vec<Option<fn()>>;

/// A test body's result: `()` passes; `Err(e)` fails with `e` (as std's `Termination`).
pub trait Report {
    fn report(self);
}

impl Report for () {
    fn report(self) {}
}

impl<E: core::fmt::Debug> Report for Result<(), E> {
    fn report(self) {
        if let Err(e) = self {
            panic!("Error: {e:?}");
        }
    }
}

/// Runs `body` as a process on a fresh in-process stub (see the module doc); panics, naming the
/// test and showing the process's output, if the body failed.
pub fn run(name: &str, body: fn()) {
    let id = {
        let mut b = BODIES.lock().unwrap_or_else(|e| e.into_inner());
        b.push(Some(body));
        b.len() - 1
    };
    let r = crate::boot::run_captured(
        &[eurali_std::program_entry!("unit-test", test_main)],
        "unit-test",
        &[id.to_string()],
        b"",
        TIMEOUT,
    );
    BODIES.lock().unwrap_or_else(|e| e.into_inner())[id] = None;
    if r.code != 0 {
        panic!(
            "{name}: the test's process ended with status {}\n--- its stdout:\n{}--- its stderr:\n{}",
            r.code, r.stdout, r.stderr
        );
    }
    // Passed: show the output as a test's own (cargo shows it with --nocapture).
    print!("{}", r.stdout);
    eprint!("{}", r.stderr);
}

fn test_main() {
    let id: usize = match eurali_std::env::args().nth(1).and_then(|a| a.parse().ok()) {
        Some(i) => i,
        None => panic!("unit-test: no test number"),
    };
    let body = BODIES.lock().unwrap_or_else(|e| e.into_inner())[id].expect("test body");
    if let Err(e) = prepare() {
        panic!("unit-test: cannot prepare the test's file system: {e}");
    }
    body();
    let _ = eurali_std::io::Write::flush(&mut eurali_std::io::stdout());
}

/// The ramdisk at `/`, `/tmp`, and the package directory as the working directory.
fn prepare() -> Result<(), String> {
    let (m, c) = libeurali::new_rendezvous().map_err(|e| e.to_string())?;
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(RAMDISK))
        .spawn(m)
        .map_err(|e| e.to_string())?;
    libeurali::mount("/", c).map_err(|(e, _)| e.to_string())?;
    eurali_std::fs::create_dir_all("/tmp").map_err(|e| e.to_string())?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let Some(cwd_str) = cwd.to_str() else {
        return Ok(());
    };
    eurali_std::fs::create_dir_all(cwd_str).map_err(|e| format!("{cwd_str}: {e}"))?;
    copy_tree(&cwd, cwd_str)?;
    eurali_std::env::set_current_dir(cwd_str).map_err(|e| format!("{cwd_str}: {e}"))
}

fn copy_tree(from: &std::path::Path, to: &str) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        let dest = format!("{to}/{name}");
        if meta.is_dir() {
            eurali_std::fs::create_dir_all(&dest).map_err(|err| format!("{dest}: {err}"))?;
            copy_tree(&e.path(), &dest)?;
        } else if meta.is_file() && meta.len() <= MAX_COPIED_FILE {
            let bytes = std::fs::read(e.path()).map_err(|err| format!("{name}: {err}"))?;
            eurali_std::fs::write(&dest, bytes).map_err(|err| format!("{dest}: {err}"))?;
        }
    }
    Ok(())
}
