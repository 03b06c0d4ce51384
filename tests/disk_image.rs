//! The stub's disk (issue 20): `EURALI_DISK=PATH` serves the image file as `/dev/disk0`
//! (`eurali_host::devices::disk`), creating it when it is missing, as a user starts eurali.
//! What is read and written through `/dev/disk0` is tested with the device's own tests and the
//! file-system server's; here, what a user sees at the command line.

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/run.rs"]
mod run;
use run::eurali_run;

use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// A fresh directory for this test's images.
fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("eurali-disk-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_missing_image_is_created_at_the_size_asked() {
    let d = dir("create");
    let img = d.join("disk.img");
    let img_s = img.to_str().unwrap();
    let r = eurali_run(
        &["echo", "hi"],
        "",
        &[("EURALI_DISK", img_s), ("EURALI_DISK_SIZE", "8M")],
        LIMIT,
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.stdout, "hi\n");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 8 << 20);
    // An existing image is used as it is: its size and bytes stay.
    std::fs::write(&img, vec![0x5a; 1 << 20]).unwrap();
    let r = eurali_run(
        &["echo", "again"],
        "",
        &[("EURALI_DISK", img_s), ("EURALI_DISK_SIZE", "8M")],
        LIMIT,
    );
    assert_eq!(r.code, Some(0), "stderr {:?}", r.stderr);
    assert_eq!(std::fs::read(&img).unwrap(), vec![0x5a; 1 << 20]);
    // Without a size, 64 MiB.
    let img2 = d.join("default.img");
    let r = eurali_run(
        &["echo", "hi"],
        "",
        &[("EURALI_DISK", img2.to_str().unwrap())],
        LIMIT,
    );
    assert_eq!(r.code, Some(0), "stderr {:?}", r.stderr);
    assert_eq!(std::fs::metadata(&img2).unwrap().len(), 64 << 20);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_disk_that_cannot_be_made_is_a_clear_error() {
    let d = dir("errors");
    let missing_dir = d.join("no-such-dir/disk.img");
    let (a, b) = (d.join("a.img"), d.join("b.img"));
    let cases = [
        (
            vec![("EURALI_DISK", missing_dir.to_str().unwrap())],
            "cannot make /dev/disk0 from EURALI_DISK=",
        ),
        (
            vec![
                ("EURALI_DISK", a.to_str().unwrap()),
                ("EURALI_DISK_SIZE", "lots"),
            ],
            "EURALI_DISK_SIZE=lots is not a size",
        ),
        (
            vec![
                ("EURALI_DISK", b.to_str().unwrap()),
                ("EURALI_DISK_SIZE", "1000"),
            ],
            "EURALI_DISK_SIZE=1000 is not a size",
        ),
        (
            vec![("EURALI_DISK", d.to_str().unwrap())],
            "cannot make /dev/disk0 from EURALI_DISK=",
        ),
    ];
    for (env, want) in cases {
        let r = eurali_run(&["echo", "hi"], "", &env, LIMIT);
        assert_eq!(
            r.code,
            Some(eurali_host::boot::NO_STATUS),
            "{env:?}: stdout {:?} stderr {:?}",
            r.stdout,
            r.stderr
        );
        assert!(r.stderr.contains(want), "{env:?}: stderr {:?}", r.stderr);
        assert!(r.stdout.is_empty(), "{env:?}: the program never ran");
    }
    // A too-short image is refused and left alone.
    let short = d.join("short.img");
    std::fs::write(&short, b"tiny").unwrap();
    let r = eurali_run(
        &["echo", "hi"],
        "",
        &[("EURALI_DISK", short.to_str().unwrap())],
        LIMIT,
    );
    assert_eq!(r.code, Some(eurali_host::boot::NO_STATUS));
    assert!(
        r.stderr.contains("shorter than one 512-byte sector"),
        "{:?}",
        r.stderr
    );
    assert_eq!(std::fs::read(&short).unwrap(), b"tiny");
    assert!(!a.exists() && !b.exists(), "no image made from a bad size");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn hosted_mode_has_the_disk_too() {
    let Some((bin, _)) = hosted::elfs(&["sh", "coreutils"]) else {
        return;
    };
    let d = dir("hosted");
    let img = d.join("disk.img");
    let bin = bin.to_string_lossy().into_owned();
    let r = eurali_run(
        &["--hosted", &bin, "sh", "-c", "echo hi"],
        "",
        &[
            ("EURALI_DISK", img.to_str().unwrap()),
            ("EURALI_DISK_SIZE", "2M"),
        ],
        LIMIT,
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.stdout, "hi\n");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 2 << 20);
    // And its errors are the same.
    let r = eurali_run(
        &["--hosted", &bin, "sh", "-c", "echo hi"],
        "",
        &[("EURALI_DISK", d.to_str().unwrap())],
        LIMIT,
    );
    assert_eq!(r.code, Some(eurali_host::boot::NO_STATUS), "{:?}", r.stderr);
    assert!(
        r.stderr.contains("cannot make /dev/disk0"),
        "{:?}",
        r.stderr
    );
    std::fs::remove_dir_all(&d).unwrap();
}
