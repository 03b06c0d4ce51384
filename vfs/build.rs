//! Finds every manual page (`tools/man/NAME.txt`, `programs/*/man/NAME.txt`) and writes them,
//! deflated in one blob, for `vfs::image::man_pages` (a new page needs no registration). Two
//! pages of one name are an error. Deflated, the pages take a third of the room in init's ELF
//! (which must stay under 384 KiB: exec copies it through the kernel's heap); init already
//! links miniz_oxide's inflater for the program image.

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
    // Each page: its name, NUL, its length (u32, little-endian), its text.
    let mut blob = Vec::new();
    for (name, path) in &pages {
        let text = std::fs::read(path).expect("read a manual page");
        blob.extend_from_slice(name.as_bytes());
        blob.push(0);
        blob.extend_from_slice(
            &u32::try_from(text.len())
                .expect("a page under 4 GiB")
                .to_le_bytes(),
        );
        blob.extend_from_slice(&text);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let packed = miniz_oxide::deflate::compress_to_vec(&blob, 10);
    std::fs::write(out.join("man_pages.deflate"), packed).expect("write man_pages.deflate");
    let mut size = String::new();
    let _ = write!(size, "{}", blob.len());
    std::fs::write(out.join("man_pages_size.rs"), size).expect("write man_pages_size.rs");
}
