//! The disk's file system (issue 20): init mounts the FAT volume of `EURALI_DISK`'s image at
//! `/disk` (`fatfs`); what a user writes there is in the image after `sync` and after the
//! system ends, a second boot reads it, and Linux's tools (mtools, fsck.fat from dosfstools)
//! read the same bytes and put files that eurali reads. A full disk and an image that is not
//! FAT are said so, and lose nothing.

#[path = "common/run.rs"]
mod run;
use run::eurali_run;
#[path = "common/fat.rs"]
mod fat;
#[path = "common/hosted.rs"]
mod hosted;
use fat::{fsck, mcopy_out, seq};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Boots with `img` as the disk and runs `cmds` as root; its stdout, stderr and status.
fn boot(img: &Path, cmds: &str, size: Option<&str>) -> run::Run {
    let mut env = vec![("EURALI_DISK", img.to_str().unwrap())];
    if let Some(s) = size {
        env.push(("EURALI_DISK_SIZE", s));
    }
    eurali_run(&["-c", cmds], "", &env, LIMIT)
}

fn dir(name: &str) -> PathBuf {
    fat::dir("fatfs-test", name)
}

#[test]
fn files_in_disk_survive_a_reboot_and_move_between_eurali_and_linux() {
    let d = dir("reboot");
    let img = d.join("disk.img");
    let long_dir = "/disk/Some Directory";
    let long_file = "numbers, with a name FAT keeps as a long name.txt";
    let r = boot(
        &img,
        &format!(
            "echo hello disk > /disk/hello.txt
             mkdir '{long_dir}'
             seq 1 20000 > '{long_dir}/{long_file}'
             echo written
             sync; echo sync=$?"
        ),
        None,
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stderr.contains("disk: /dev/disk0 mounted at /disk"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "written\nsync=0\n", "stderr {:?}", r.stderr);
    // The new image was made FAT32; Linux reads what eurali wrote, byte for byte.
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(&bytes[0x52..0x57], b"FAT32");
    fsck(&img);
    assert_eq!(mcopy_out(&img, "/hello.txt"), b"hello disk\n");
    let numbers = mcopy_out(&img, &format!("/Some Directory/{long_file}"));
    assert_eq!(String::from_utf8(numbers).unwrap(), seq(20000));

    // Linux puts a file (binary, a long name) in; a second boot reads both sides' files.
    let from_linux: Vec<u8> = (0..70_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let host_file = d.join("from linux.bin");
    std::fs::write(&host_file, &from_linux).unwrap();
    let put = Command::new("mcopy")
        .arg("-i")
        .arg(&img)
        .arg(&host_file)
        .arg("::/From Linux.bin")
        .output()
        .unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let r = boot(
        &img,
        &format!(
            "cat /disk/hello.txt
             wc -l '{long_dir}/{long_file}'
             ls /disk
             sha256sum '/disk/From Linux.bin'
             echo after reboot >> /disk/hello.txt"
        ),
        None,
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    let want_sum = {
        let out = Command::new("sha256sum").arg(&host_file).output().unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    assert_eq!(
        r.stdout,
        format!(
            "hello disk\n20000 {long_dir}/{long_file}\nFrom Linux.bin\nSome Directory\netc\nhello.txt\n\
             home\n{want_sum}  /disk/From Linux.bin\n"
        ),
        "stderr {:?}",
        r.stderr
    );
    // No sync this time: the system's end writes the disk out (init syncs /disk).
    fsck(&img);
    assert_eq!(mcopy_out(&img, "/hello.txt"), b"hello disk\nafter reboot\n");
    std::fs::remove_dir_all(&d).unwrap();
}

/// The disk keeps no accounts: `quota` in a home on it says so (not "the system's", which is
/// root's on a ramdisk), with the space every account shares there.
#[test]
fn quota_on_the_disk_says_it_has_none_per_user() {
    let d = dir("quota");
    let img = d.join("disk.img");
    let r = boot(&img, "quota; quota /disk; quota /tmp", None);
    assert_eq!(r.code, Some(0), "{} {}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (l, path) in lines[..2].iter().zip(["/home/root", "/disk"]) {
        assert!(
            l.starts_with(&format!(
                "{path}: no quota (this disk keeps none per user: every account shares its "
            )),
            "{l}"
        );
        assert!(!l.contains("system"), "{l}");
    }
    assert!(
        lines[2].starts_with("/tmp: the system's (no quota"),
        "{}",
        lines[2]
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_full_disk_says_no_space_and_keeps_the_rest() {
    let d = dir("full");
    let img = d.join("small.img");
    // 2 MiB: FAT12 (too small for FAT32), full after a little under 2 MiB of data.
    let r = boot(
        &img,
        "echo kept > /disk/kept.txt
         yes 0123456789abcdef | head -c 3000000 > /disk/big; echo big=$?
         cat /disk/kept.txt
         echo small > /disk/small.txt; echo small=$?
         rm /disk/big; echo again > /disk/again.txt; echo again=$?",
        Some("2M"),
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("big=") && lines[0] != "big=0",
        "{lines:?}"
    );
    assert!(
        r.stderr.contains("No space left on device") || r.stderr.contains("no space left"),
        "{}",
        r.stderr
    );
    assert_eq!(lines[1], "kept", "{lines:?}");
    assert_eq!(lines[3..], ["again=0"], "{lines:?}");
    fsck(&img);
    assert_eq!(mcopy_out(&img, "/kept.txt"), b"kept\n");
    assert_eq!(mcopy_out(&img, "/again.txt"), b"again\n");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_image_that_is_not_fat_is_refused_and_left_as_it_is() {
    let d = dir("corrupt");
    let img = d.join("noise.img");
    let mut x = 0x9e37_79b9u32;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(&img, &noise).unwrap();
    let r = boot(&img, "echo alive; ls /disk; echo ls=$?", None);
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    assert!(r.stdout.starts_with("alive\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("ls=") && !r.stdout.contains("ls=0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("fatfs: /dev/disk0: no FAT file system on it (no boot sector signature)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("init: disk: /dev/disk0 not mounted at /disk"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&img).unwrap(), noise, "the image was changed");
    std::fs::remove_dir_all(&d).unwrap();
}

/// What a user typing the disk's commands wrong sees: `fatfs` by hand is a usage error, the
/// shell's `mount -t fat` of a disk the session has no device for says fatfs's reason and
/// mounts nothing (init's `/dev/disk0` is init's: a session cannot start a second server on
/// the disk init's fatfs serves), `sync` of a path that is not there fails; `sync` of `/disk`
/// works.
#[test]
fn the_disk_commands_at_a_prompt() {
    let d = dir("commands");
    let img = d.join("disk.img");
    let r = boot(
        &img,
        "fatfs; echo fatfs=$?
         mount -t fat /dev/disk0 /mnt; echo mount=$?
         ls /mnt; echo ls=$?
         sync /nowhere; echo nowhere=$?
         echo x > /disk/x; sync /disk; echo sync=$?",
        None,
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "fatfs=2", "{lines:?}");
    assert!(
        r.stderr.contains("usage: fatfs --serve [DEVICE]"),
        "{}",
        r.stderr
    );
    assert_eq!(lines[1], "mount=1", "{lines:?}");
    assert!(
        r.stderr.contains("fatfs: cannot open the disk /dev/disk0"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("mount: /dev/disk0: not mounted"),
        "{}",
        r.stderr
    );
    assert!(lines[2] != "ls=0", "{lines:?}");
    assert_eq!(lines[3], "nowhere=1", "{lines:?}");
    assert!(r.stderr.contains("sync: /nowhere:"), "{}", r.stderr);
    assert_eq!(lines[4], "sync=0", "{lines:?}");
    assert_eq!(mcopy_out(&img, "/x"), b"x\n");
    std::fs::remove_dir_all(&d).unwrap();
}

/// The freestanding ELFs (hosted mode, as the real kernel runs them: fatfs built no_std,
/// soft-float, panic=abort) serve the disk too: what they write, Linux reads.
#[test]
fn hosted_mode_serves_the_disk_with_the_real_elfs() {
    let Some((bin, _)) = hosted::elfs(&["init", "login", "sh", "coreutils", "fatfs"]) else {
        return;
    };
    let d = dir("hosted");
    let img = d.join("disk.img");
    let bin = bin.to_string_lossy().into_owned();
    let r = eurali_run(
        &[
            "--hosted",
            &bin,
            "-c",
            "echo hosted > '/disk/A Hosted File.txt'; seq 1 30000 > /disk/seq; \
             sync /disk; echo sync=$?; wc -l /disk/seq",
        ],
        "",
        &[("EURALI_DISK", img.to_str().unwrap())],
        LIMIT,
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.stdout, "sync=0\n30000 /disk/seq\n", "{}", r.stderr);
    fsck(&img);
    assert_eq!(mcopy_out(&img, "/A Hosted File.txt"), b"hosted\n");
    assert_eq!(
        String::from_utf8(mcopy_out(&img, "/seq")).unwrap(),
        seq(30000)
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// A write acknowledged after a completed `sync` survives the machine's sudden end: the stub
/// killed (SIGKILL, fatfs and all, no unmount) while the session still runs. The image is a
/// clean volume with the synced file whole.
#[test]
fn what_was_synced_survives_a_kill() {
    use std::io::{BufRead, BufReader};
    let d = dir("kill");
    let img = d.join("disk.img");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eurali"));
    cmd.env_remove("EURALI_NIC")
        .env_remove("EURALI_NET")
        .env_remove("EURALI_DISK_SIZE")
        .env("EURALI_DISK", &img)
        .args([
            "-c",
            "seq 1 50000 > /disk/synced; sync /disk; echo synced; sleep 60",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start eurali");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "synced\n");
    child.kill().unwrap();
    child.wait().unwrap();
    fsck(&img);
    let got = String::from_utf8(mcopy_out(&img, "/synced")).unwrap();
    assert_eq!(got, seq(50000));
    std::fs::remove_dir_all(&d).unwrap();
}

/// Two processes replacing one file at once (`… > f & … > f`, each in many writes): the file ends as one of
/// them wrote it, whole, never a mix of their writes. fatfs refuses a truncating open of a file
/// another session is writing (EAGAIN, "resource temporarily unavailable", status 1 for that
/// command): the user sees which one lost.
#[test]
fn two_writers_of_one_file_leave_one_whole_write() {
    let d = dir("two-writers");
    let img = d.join("disk.img");
    let r = boot(
        &img,
        "yes aaaa | head -c 1500000 > /disk/a; yes bbbb | head -c 1500000 > /disk/b; i=0; \
         while [ $i -lt 8 ]; do \
           yes aaaa | head -c 1500000 > /disk/f 2>>/tmp/err & \
           yes bbbb | head -c 1500000 > /disk/f 2>>/tmp/err; wait; \
           if cmp -s /disk/f /disk/a || cmp -s /disk/f /disk/b; then echo whole; \
           else echo MIXED; wc -c /disk/f; fi; \
           i=$((i + 1)); done; \
         cat /tmp/err; sync /disk",
        None,
    );
    assert_eq!(r.code, Some(0), "stdout {}\nstderr {}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.matches("whole\n").count(),
        8,
        "stdout {}\nstderr {}",
        r.stdout,
        r.stderr
    );
    assert!(!r.stdout.contains("MIXED"), "{}", r.stdout);
    // The two did meet (else this tests nothing): the loser was told.
    let busy = r
        .stderr
        .matches("sh: /disk/f: resource temporarily unavailable")
        .count();
    assert!(
        busy >= 1,
        "no writer was refused: {}\n{}",
        r.stdout,
        r.stderr
    );
    println!("{busy} of 8 rounds refused the second writer");
    fsck(&img);
    let f = mcopy_out(&img, "/f");
    assert!(f == mcopy_out(&img, "/a") || f == mcopy_out(&img, "/b"));
    std::fs::remove_dir_all(&d).unwrap();
}
