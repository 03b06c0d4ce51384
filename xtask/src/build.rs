//! `cargo xtask build`: every program under `programs/` as a freestanding ELF for Merriwig.
//!
//! The target is `xtask/x86_64-eurali.json` (soft-float, no red zone, panic=abort, static
//! non-PIE), linked by `ld.lld` with `xtask/eurali.ld`. The build runs Debian's cargo and rustc
//! (see [`crate::toolchain`]) with `-Zbuild-std`, in release mode with size optimisation, LTO
//! and stripped symbols, in its own target directory (`target/eurali/cargo`) so that it never
//! invalidates or locks the host build.

use crate::process::{self, describe};
use crate::{Result, elfcheck, section, toolchain};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const TARGET_JSON: &str = "xtask/x86_64-eurali.json";
const LINKER_SCRIPT: &str = "xtask/eurali.ld";
const CARGO_TARGET_DIR: &str = "target/eurali/cargo";
pub const BIN_DIR: &str = "target/eurali/bin";

/// Profile settings of the target build, given on the command line so that they override the
/// workspace's `[profile.release]` (which host builds use) without editing it.
const PROFILE: &[&str] = &[
    "profile.release.opt-level=\"z\"",
    "profile.release.lto=true",
    "profile.release.codegen-units=1",
    "profile.release.panic=\"abort\"",
    "profile.release.debug=false",
    "profile.release.strip=\"symbols\"",
    "profile.release.incremental=false",
    // A login's cost is SHA-256 compressions (PBKDF2, `vfs::users::ROUNDS`): optimised for
    // speed they are several times faster than at "z", for a few KiB in login, passwd and init.
    "profile.release.package.sha2.opt-level=3",
];

/// A program crate to build: its package and binary names.
#[derive(Debug, PartialEq, Eq)]
pub struct Program {
    pub package: String,
    pub bins: Vec<String>,
}

pub fn build(root: &Path) -> Result<()> {
    build_with_toolchain(root).map(|_| ())
}

/// [`build`], returning the toolchain it used.
pub fn build_with_toolchain(root: &Path) -> Result<toolchain::Toolchain> {
    section("toolchain");
    let tc = toolchain::ensure()?;
    println!("rustc: {} ({})", tc.rustc.display(), tc.rustc_version);
    println!(
        "cargo: {}   linker: {}",
        tc.cargo.display(),
        tc.lld.display()
    );

    let programs = discover_programs(root)?;
    if programs.is_empty() {
        return Err("no program crates with a binary under programs/".into());
    }
    // edit's build script finds kibi's sources with `cargo metadata --offline`, which needs every
    // package of the lock file downloaded; a target build alone downloads only its own, so on a
    // fresh machine (an empty registry cache) it failed. A no-op when all are there.
    process::run(
        process::clean_command(&tc.cargo.to_string_lossy())
            .args(["fetch", "--locked", "--quiet"])
            .current_dir(root),
    )?;
    let names: Vec<&str> = programs.iter().map(|p| p.package.as_str()).collect();
    section(&format!("build {} for x86_64-eurali", names.join(", ")));
    let built = cargo_build(root, &tc, &programs)?;

    let (heads, mut built): (Vec<_>, Vec<_>) = built.into_iter().partition(|(n, _)| n == UNPACKER);
    let head = heads
        .into_iter()
        .next()
        .ok_or("the unpacker (programs/unpack) was not built")?
        .1;
    built.sort();
    section("check-elf (as linked, before packing)");
    let mut linked: Vec<PathBuf> = built.iter().map(|(_, p)| p.clone()).collect();
    linked.push(head.clone());
    let mut bad = Vec::new();
    for f in &linked {
        let bytes = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        // The size limit is the packed file's (below); init is never exec'd.
        let problems = elfcheck::check_init(&bytes);
        if problems.is_empty() {
            println!("ok    {}", f.display());
        } else {
            bad.push(format!("{}: {}", f.display(), problems.join("; ")));
        }
    }
    if !bad.is_empty() {
        return Err(bad.join("\n"));
    }

    let unpacker =
        std::fs::read(&head).map_err(|e| format!("cannot read {}: {e}", head.display()))?;
    // Beside /bin's programs, not among them (the hosted tests pack programs with it).
    let kept = root.join(UNPACKER_PATH);
    std::fs::write(&kept, &unpacker)
        .map_err(|e| format!("cannot write {}: {e}", kept.display()))?;
    let bin_dir = root.join(BIN_DIR);
    std::fs::create_dir_all(&bin_dir)
        .map_err(|e| format!("cannot create {}: {e}", bin_dir.display()))?;
    let mut copied = Vec::new();
    section("pack (libeurali::sfx: what exec copies through the kernel's heap)");
    println!("{:<16} {:>10} {:>10}", "program", "linked", "packed");
    for (name, exe) in built {
        let dest = bin_dir.join(&name);
        let raw = std::fs::read(&exe).map_err(|e| format!("cannot read {}: {e}", exe.display()))?;
        // init is loaded by the kernel from its own image, never exec'd: it stays as linked;
        // so do programs below PACK_FROM.
        let out = if name == "init" || raw.len() < PACK_FROM {
            raw.clone()
        } else {
            libeurali::sfx::pack(&raw, &unpacker, |m| {
                miniz_oxide::deflate::compress_to_vec_zlib(m, 10)
            })
            .map_err(|e| format!("packing {name}: {e}"))?
        };
        println!("{name:<16} {:>10} {:>10}", raw.len(), out.len());
        std::fs::write(&dest, &out).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        copied.push(dest);
    }
    copied.sort();
    // What an earlier build left there and this one did not make (a program renamed or gone,
    // as the shell's ELF once was `shell`) would go into /bin and the image: removed.
    if let Ok(entries) = std::fs::read_dir(&bin_dir) {
        for e in entries.flatten() {
            if !copied.contains(&e.path()) {
                println!("gone  {}", e.path().display());
                std::fs::remove_file(e.path())
                    .map_err(|err| format!("cannot remove {}: {err}", e.path().display()))?;
            }
        }
    }

    section("sizes");
    print_sizes(&copied)?;
    section("check-elf");
    elfcheck::check_files(&copied)?;
    Ok(tc)
}

/// Programs linked this big or bigger are packed (`libeurali::sfx`). Smaller ones stay as
/// linked: their exec copy is small anyway, and a packed program keeps its payload's pages
/// until it ends, when they go back to the kernel with the rest; on the stock kernel every
/// frame given back past its 32-entry stack is a bit flipped in its heap (README, "the
/// frame-allocator bug"), so a program that ends should give back no more than it must.
pub const PACK_FROM: usize = 128 * 1024;

/// The unpacker's binary (`programs/unpack`): the head of every packed program, not a program
/// of `/bin`.
pub const UNPACKER: &str = "unpack";
/// Where `build` leaves a copy of the unpacker.
pub const UNPACKER_PATH: &str = "target/eurali/unpack";

/// The binaries a previous build left in `target/eurali/bin`.
pub fn built_binaries(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join(BIN_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Packages under `programs/` that have a binary target, from `cargo metadata` (host cargo).
fn discover_programs(root: &Path) -> Result<Vec<Program>> {
    let mut cmd = process::host_cargo();
    cmd.args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .stderr(Stdio::inherit());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", describe(&cmd), out.status));
    }
    let meta: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata: bad JSON: {e}"))?;
    Ok(programs_in_metadata(&meta, &root.join("programs")))
}

/// The program crates in `cargo metadata` output: packages whose manifest lies in a direct
/// subdirectory of `programs_dir` and that have at least one `bin` target.
pub fn programs_in_metadata(meta: &Value, programs_dir: &Path) -> Vec<Program> {
    let mut programs = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let manifest = Path::new(pkg["manifest_path"].as_str().unwrap_or_default());
        let in_programs = manifest.parent().and_then(Path::parent) == Some(programs_dir);
        if !in_programs {
            continue;
        }
        let bins: Vec<String> = pkg["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
            })
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect();
        if let (false, Some(name)) = (bins.is_empty(), pkg["name"].as_str()) {
            programs.push(Program {
                package: name.to_string(),
                bins,
            });
        }
    }
    programs.sort_by(|a, b| a.package.cmp(&b.package));
    programs
}

/// Runs the target build and returns `(binary name, executable path)` for each binary.
fn cargo_build(
    root: &Path,
    tc: &toolchain::Toolchain,
    programs: &[Program],
) -> Result<Vec<(String, PathBuf)>> {
    let mut cmd = target_cargo(root, tc)?;
    for p in programs {
        cmd.args(["-p", &p.package]);
    }
    run_target_build(cmd)
}

/// The target build of one package with `features` and extra environment (`cargo xtask image`
/// builds init this way); returns its binaries.
pub fn cargo_build_package(
    root: &Path,
    tc: &toolchain::Toolchain,
    package: &str,
    features: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Vec<(String, PathBuf)>> {
    let mut cmd = target_cargo(root, tc)?;
    cmd.args(["-p", package, "--features", features]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_target_build(cmd)
}

/// `cargo build` for the target, without the packages to build.
fn target_cargo(root: &Path, tc: &toolchain::Toolchain) -> Result<std::process::Command> {
    let mut cmd = process::clean_command(&tc.cargo.to_string_lossy());
    cmd.current_dir(root)
        .env("RUSTC", &tc.rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags(root)?)
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg(root.join(TARGET_JSON))
        .arg("--target-dir")
        .arg(root.join(CARGO_TARGET_DIR))
        .args([
            "-Zjson-target-spec",
            "-Zbuild-std=core,alloc,compiler_builtins",
        ])
        .args([
            // optimize_for_size: core's and alloc's smaller variants (sorts, integer
            // formatting, no float-parsing fast path); same results, less code.
            "-Zbuild-std-features=compiler-builtins-mem,optimize_for_size",
            "--message-format=json-render-diagnostics",
        ]);
    for setting in PROFILE {
        cmd.args(["--config", setting]);
    }
    Ok(cmd)
}

fn run_target_build(mut cmd: std::process::Command) -> Result<Vec<(String, PathBuf)>> {
    cmd.arg("--bins")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());

    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", describe(&cmd)))?;
    let mut built = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading cargo output: {e}"))?;
            if let Some(artifact) = executable_artifact(&line) {
                built.push(artifact);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "target build failed ({status}): {}",
            describe(&cmd)
        ));
    }
    built.sort();
    Ok(built)
}

/// The target build's rustflags: link with `xtask/eurali.ld`. Cargo does not track the script's
/// contents, so a hash of them goes into a symbol definition: editing the script changes the
/// flags, and cargo relinks (and rebuilds) everything.
///
/// `-Zlocation-detail=none` leaves the file, line and column of every panic site out of the
/// binaries (they were a large part of their read-only data): a panic on the real kernel
/// still reports its message, without where it happened. `--icf=all` has the linker keep one
/// copy of functions whose machine code came out identical (generic code for types of the
/// same layout, mostly); Rust promises no distinct function addresses, so nothing can tell.
fn rustflags(root: &Path) -> Result<String> {
    let script = root.join(LINKER_SCRIPT);
    let text =
        std::fs::read(&script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let hash = text.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let flags = [
        format!("-Clink-arg=-T{}", script.display()),
        format!("-Clink-arg=--defsym=__eurali_ld_{hash:016x}=0"),
        "-Zlocation-detail=none".to_string(),
        "-Clink-arg=--icf=all".to_string(),
    ];
    Ok(flags.join("\x1f"))
}

/// `(name, path)` of the executable in one line of cargo's JSON messages, if it announces one.
pub fn executable_artifact(line: &str) -> Option<(String, PathBuf)> {
    let msg: Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" {
        return None;
    }
    let exe = msg["executable"].as_str()?;
    let name = msg["target"]["name"].as_str()?;
    Some((name.to_string(), PathBuf::from(exe)))
}

pub fn print_sizes(files: &[PathBuf]) -> Result<()> {
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10}",
        "program", "file", "code", "rodata", "data+bss"
    );
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        if let Some(h) = libeurali::sfx::packed_header(&bytes) {
            println!(
                "{name:<16} {:>10} {:>10}",
                bytes.len(),
                format!("(packed: {} of memory)", h.dest_len)
            );
            continue;
        }
        match elfcheck::segment_sizes(&bytes) {
            Some(s) => println!(
                "{name:<16} {:>10} {:>10} {:>10} {:>10}",
                bytes.len(),
                s.code,
                s.rodata,
                s.data
            ),
            None => println!("{name:<16} {:>10} {:>10}", bytes.len(), "(not an ELF64)"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn programs_are_packages_with_bins_directly_under_programs() {
        let meta = json!({ "packages": [
            { "name": "hello", "manifest_path": "/w/programs/hello/Cargo.toml",
              "targets": [ { "name": "hello", "kind": ["lib"] }, { "name": "hello", "kind": ["bin"] } ] },
            { "name": "echo", "manifest_path": "/w/programs/echo/Cargo.toml",
              "targets": [ { "name": "echo", "kind": ["bin"] }, { "name": "echo2", "kind": ["bin"] } ] },
            { "name": "libonly", "manifest_path": "/w/programs/libonly/Cargo.toml",
              "targets": [ { "name": "libonly", "kind": ["lib"] } ] },
            { "name": "deep", "manifest_path": "/w/programs/x/deep/Cargo.toml",
              "targets": [ { "name": "deep", "kind": ["bin"] } ] },
            { "name": "xtask", "manifest_path": "/w/xtask/Cargo.toml",
              "targets": [ { "name": "xtask", "kind": ["bin"] } ] }
        ]});
        let p = programs_in_metadata(&meta, Path::new("/w/programs"));
        assert_eq!(
            p,
            vec![
                Program {
                    package: "echo".into(),
                    bins: vec!["echo".into(), "echo2".into()]
                },
                Program {
                    package: "hello".into(),
                    bins: vec!["hello".into()]
                },
            ]
        );
    }

    #[test]
    fn executables_are_picked_from_cargo_messages() {
        let bin = r#"{"reason":"compiler-artifact","target":{"name":"hello","kind":["bin"]},"executable":"/t/hello"}"#;
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"hello","kind":["lib"]},"executable":null}"#;
        let other = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_artifact(bin),
            Some(("hello".into(), PathBuf::from("/t/hello")))
        );
        assert_eq!(executable_artifact(lib), None);
        assert_eq!(executable_artifact(other), None);
        assert_eq!(executable_artifact("not json"), None);
    }
}
