//! Finds every manual page (`tools/man/NAME.txt`, `programs/*/man/NAME.txt`) and writes the
//! list `vfs::image::MAN_PAGES` includes: a new page needs no registration. Two pages of one
//! name are an error.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn pages_in(dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if let (Some(stem), Some("txt")) = (
            p.file_stem().and_then(|s| s.to_str()),
            p.extension().and_then(|s| s.to_str()),
        ) {
            println!("cargo:rerun-if-changed={}", p.display());
            out.push((stem.to_string(), p.canonicalize().expect("a page's path")));
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("..");
    let mut pages = Vec::new();
    pages_in(&root.join("tools/man"), &mut pages);
    let programs = root.join("programs");
    println!("cargo:rerun-if-changed={}", programs.display());
    if let Ok(entries) = std::fs::read_dir(&programs) {
        for e in entries.flatten() {
            pages_in(&e.path().join("man"), &mut pages);
        }
    }
    pages.sort();
    for w in pages.windows(2) {
        assert!(
            w[0].0 != w[1].0,
            "two manual pages named {}: {} and {}",
            w[0].0,
            w[0].1.display(),
            w[1].1.display()
        );
    }
    let mut src = String::from("&[\n");
    for (name, path) in &pages {
        let _ = writeln!(
            src,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    src.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("man_pages.rs");
    std::fs::write(out, src).expect("write man_pages.rs");
}
