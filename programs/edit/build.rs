//! Finds the source of the pinned kibi crate (a build-dependency, so cargo has downloaded and
//! unpacked it; `cargo metadata` says where) and writes `kibi.rs` into OUT_DIR: one `#[path]` module per
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

/// kibi's `src` directory, from the manifest path `cargo metadata` gives for the pinned kibi
/// (this crate's build-dependency, so cargo has already downloaded and unpacked it).
fn find_kibi() -> Result<PathBuf, String> {
    println!("cargo:rerun-if-env-changed=KIBI_SRC");
    if let Some(dir) = std::env::var_os("KIBI_SRC") {
        return Ok(PathBuf::from(dir));
    }
    let manifest = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR")?)
        .join("Cargo.toml");
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.manifest_path(&manifest)
        .other_options(vec!["--offline".into()]);
    if let Some(cargo) = std::env::var_os("CARGO") {
        cmd.cargo_path(cargo);
    }
    let meta = cmd.exec().map_err(|e| {
        format!("cargo metadata failed ({e}); set KIBI_SRC to a directory holding {KIBI}'s src/")
    })?;
    let (name, version) = KIBI.split_once('-').expect("KIBI is name-version");
    meta.packages
        .iter()
        .find(|p| p.name.as_str() == name && p.version.to_string() == version)
        .and_then(|p| p.manifest_path.parent())
        .map(|dir| dir.join("src").into_std_path_buf())
        .ok_or_else(|| format!("cargo metadata lists no {KIBI}: this crate pins kibi =0.3.3"))
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
