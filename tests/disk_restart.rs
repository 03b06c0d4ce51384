//! When the disk's file server fails (issue 20): init starts fatfs again on the same `/disk`,
//! the new one replays the journal, and init mounts `/etc` and `/home` from it again, so the
//! next login works and finds what was synced before the failure.
//!
//! In-process, with a stand-in for `/bin/fatfs`: the real one, plus a thread that ends its
//! process (`exit_all(101)`, as a panic of its main thread does) once `/tmp/fail-fatfs` exists. The
//! scripted console session writes and syncs a file as root, makes fatfs fail, reads the file
//! in the same session (its `/home` is init's view of `/disk`, which the new fatfs serves),
//! logs out, logs in again (login reads `/etc/users` through the new fatfs) and writes files,
//! as root and as user; at the end Linux's fsck and mtools check the image.

#[path = "common/fat.rs"]
mod fat;

use eurali_std as shim;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

/// How often `/bin/fatfs` has been started.
static STARTS: AtomicUsize = AtomicUsize::new(0);
/// The real fatfs's entry.
static REAL: OnceLock<kernel_stub::ProgramEntry> = OnceLock::new();

/// `/bin/fatfs`: at its first start, the real one with a thread that ends the process when
/// asked; the real one after that.
fn failing_fatfs(regs: libeurali::EntryRegisters) {
    if STARTS.fetch_add(1, SeqCst) == 0 {
        shim::rt::start(regs, fatfs_that_fails)
    }
    (REAL.get().expect("the real fatfs"))(regs)
}

fn fatfs_that_fails() {
    shim::thread::spawn(|| {
        loop {
            shim::thread::sleep(Duration::from_millis(20));
            libeurali::yield_now();
            if shim::fs::metadata("/tmp/fail-fatfs").is_ok() {
                shim::rt::exit_all(101);
            }
        }
    });
    fatfs::main()
}

#[test]
fn init_starts_a_failed_fatfs_again_and_logins_go_on() {
    let d = fat::dir("restart", "fatfs");
    let img = d.join("disk.img");
    // SAFETY: this test binary has this one test; nothing else reads the environment now.
    unsafe { std::env::set_var("EURALI_DISK", &img) };
    let mut progs = eurali::programs();
    for p in progs.iter_mut().filter(|(n, _)| *n == "fatfs") {
        let _ = REAL.set(p.1);
        p.1 = failing_fatfs;
    }
    let r = eurali_host::boot::run_system_captured(
        &progs,
        &[],
        b"root\nroot\n\
          echo before > ~/before.txt; sync; echo synced=$?\n\
          touch /tmp/fail-fatfs; sleep 2; rm /tmp/fail-fatfs\n\
          cat ~/before.txt; echo same-session=$?\n\
          exit\n\
          root\nroot\n\
          cat ~/before.txt\n\
          echo after > ~/after.txt; sync; echo synced2=$?\n\
          ls /disk/home\n\
          exit\n\
          user\nuser\n\
          echo mine > ~/u.txt; cat ~/u.txt\n\
          exit\n",
        Duration::from_secs(120),
    );
    let all = format!("stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(STARTS.load(SeqCst), 2, "{all}");
    assert!(
        r.stderr
            .contains("init: disk: fatfs ended (exit status: 101); starting it again"),
        "{all}"
    );
    assert!(
        r.stderr.contains("init: disk: fatfs serves /disk again"),
        "{all}"
    );
    let out = &r.stdout;
    assert!(out.contains("synced=0"), "{all}");
    assert!(out.contains("before\nsame-session=0\n"), "{all}");
    assert_eq!(out.matches("before\n").count(), 2, "{all}");
    assert!(out.contains("synced2=0"), "{all}");
    assert!(out.contains("root\n") && out.contains("user\n"), "{all}");
    assert!(out.contains("mine\n"), "{all}");
    assert!(!out.contains("Login incorrect"), "{all}");

    // The image as Linux sees it: consistent, with the files of both fatfs.
    fat::fsck(&img);
    assert_eq!(fat::mcopy_out(&img, "/home/root/before.txt"), b"before\n");
    assert_eq!(fat::mcopy_out(&img, "/home/root/after.txt"), b"after\n");
    assert_eq!(fat::mcopy_out(&img, "/home/user/u.txt"), b"mine\n");
}
