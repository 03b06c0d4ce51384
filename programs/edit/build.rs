//! Finds the source of the pinned kibi crate (a build-dependency, so cargo has downloaded and
//! unpacked it into its registry) and writes `kibi.rs` into OUT_DIR: one `#[path]` module per
//! kibi source file this crate compiles. kibi's files are used as published, never copied.
//!
//! `KIBI_SRC` (a directory holding kibi's `src/*.rs`) overrides the search.

use std::path::{Path, PathBuf};

/// The kibi release this crate is written against (Cargo.toml pins the same).
const KIBI: &str = "kibi-0.3.3";

/// kibi's modules compiled here (its `sys` modules for other systems and `lib.rs`/`main.rs` are
/// not: `src/lib.rs` and `src/sys.rs` of this crate take their place).
const MODULES: &[(&str, &str)] = &[
    ("pub", "ansi_escape"),
    ("", "config"),
    ("", "editor"),
    ("", "error"),
    ("", "row"),
    ("", "syntax"),
    ("", "terminal"),
    ("", "xdg"),
];

fn cargo_home() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        return Some(h.into());
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo"))
}

/// `$CARGO_HOME/registry/src/<index>/kibi-0.3.3/src`, in any index directory.
fn find_kibi() -> Result<PathBuf, String> {
    println!("cargo:rerun-if-env-changed=KIBI_SRC");
    println!("cargo:rerun-if-env-changed=CARGO_HOME");
    if let Some(dir) = std::env::var_os("KIBI_SRC") {
        return Ok(PathBuf::from(dir));
    }
    let home = cargo_home().ok_or("neither CARGO_HOME nor HOME is set")?;
    let registry = home.join("registry").join("src");
    let mut found = Vec::new();
    if let Ok(indexes) = std::fs::read_dir(&registry) {
        for index in indexes.flatten() {
            let src = index.path().join(KIBI).join("src");
            if src.join("editor.rs").is_file() {
                found.push(src);
            }
        }
    }
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        format!(
            "the source of {KIBI} is not under {}/*/{KIBI}: fetch it with `cargo fetch` \
             (this crate's build-dependency on kibi =0.3.3 makes cargo download it), or set \
             KIBI_SRC to a directory holding kibi 0.3.3's src/",
            registry.display()
        )
    })
}

fn main() {
    let src = match find_kibi() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let mut out = String::new();
    for (vis, m) in MODULES {
        let file = src.join(format!("{m}.rs"));
        if !file.is_file() {
            eprintln!(
                "error: {} is missing: not a {KIBI} source tree",
                file.display()
            );
            std::process::exit(1);
        }
        println!("cargo:rerun-if-changed={}", file.display());
        if *m == "xdg" {
            // Its Unix `conf_dirs`/`data_dirs` are replaced by eurali's in `sys`.
            out.push_str("#[allow(dead_code)]\n");
        }
        out.push_str(&format!(
            "#[path = {:?}]\n{vis} mod {m};\n",
            file.display().to_string()
        ));
    }
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("kibi.rs");
    std::fs::write(&dest, out).expect("cannot write kibi.rs");
}
