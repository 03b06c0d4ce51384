//! A FAT disk image for the system tests, as Linux's tools see it: a fresh directory for the
//! images, `fsck.fat -n` (dosfstools) and mtools' `mcopy` out of the image. A missing tool
//! fails the test with the package to install (CI installs both).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty directory for this test's images (`tag` tells the test files apart).
#[allow(dead_code)] // each test file uses a part
pub fn dir(tag: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("eurali-{tag}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `fsck.fat -n IMG`: the volume is consistent, nothing to repair.
#[allow(dead_code)]
pub fn fsck(img: &Path) {
    let out = Command::new("fsck.fat")
        .arg("-n")
        .arg(img)
        .output()
        .expect("fsck.fat must be installed (apt-get install dosfstools)");
    assert!(
        out.status.success(),
        "fsck.fat -n: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The bytes of `path` on the image, as mtools' `mcopy -i IMG ::PATH -` reads them.
#[allow(dead_code)]
pub fn mcopy_out(img: &Path, path: &str) -> Vec<u8> {
    let out = Command::new("mcopy")
        .arg("-i")
        .arg(img)
        .arg(format!("::{path}"))
        .arg("-")
        .output()
        .expect("mtools must be installed (apt-get install mtools)");
    assert!(
        out.status.success(),
        "mcopy {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `seq 1 N`'s output.
#[allow(dead_code)]
pub fn seq(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}
