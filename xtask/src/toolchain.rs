//! The toolchain for real-kernel binaries: Debian's `rustc-web` (a 1.96 compiler that accepts
//! `RUSTC_BOOTSTRAP=1`), its cargo and library sources (for `-Zbuild-std`; rustup here has no
//! `rust-src`), and `ld.lld`. Host code keeps using rustup's stable toolchain.

use crate::Result;
use crate::process;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const RUSTC: &str = "/usr/bin/rustc";
pub const CARGO: &str = "/usr/bin/cargo";
pub const RUST_SRC: &str = "/usr/lib/rustlib/src/rust/library";
const LLD: &str = "ld.lld";
/// Naked functions (the entry code) are stable from this release on.
const MIN_RUSTC: (u32, u32) = (1, 88);
const APT_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld"];

/// The tools `build` needs, found.
pub struct Toolchain {
    pub cargo: PathBuf,
    pub rustc: PathBuf,
    pub lld: PathBuf,
    pub rustc_version: String,
}

/// Finds the toolchain; as root, installs what is missing with apt-get; otherwise says what to
/// install.
pub fn ensure() -> Result<Toolchain> {
    let missing = missing();
    if !missing.is_empty() {
        let packages = APT_PACKAGES.join(" ");
        if !is_root() {
            return Err(format!(
                "missing for real-kernel builds: {}\n  install with: sudo apt-get install {packages}",
                missing.join(", ")
            ));
        }
        println!(
            "missing: {}; installing {packages} with apt-get",
            missing.join(", ")
        );
        process::run(Command::new("apt-get").arg("update"))?;
        process::run(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends"])
                .args(APT_PACKAGES)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        let still = self::missing();
        if !still.is_empty() {
            return Err(format!(
                "still missing after apt-get install: {}",
                still.join(", ")
            ));
        }
    }
    let lld = find_in_path(LLD).ok_or("ld.lld vanished")?;
    let rustc_version = version_of(RUSTC)?;
    match parse_version(&rustc_version) {
        Some(v) if v >= MIN_RUSTC => {}
        _ => {
            return Err(format!(
                "{RUSTC} is `{rustc_version}`; need {}.{} or newer (install rustc-web)",
                MIN_RUSTC.0, MIN_RUSTC.1
            ));
        }
    }
    Ok(Toolchain {
        cargo: CARGO.into(),
        rustc: RUSTC.into(),
        lld,
        rustc_version,
    })
}

/// What is missing, as `path (package)` items.
fn missing() -> Vec<String> {
    let mut m = Vec::new();
    for (path, package) in [
        (RUSTC, "rustc-web"),
        (CARGO, "cargo-web"),
        (RUST_SRC, "rust-web-src"),
    ] {
        if !Path::new(path).exists() {
            m.push(format!("{path} ({package})"));
        }
    }
    if find_in_path(LLD).is_none() {
        m.push(format!("{LLD} on PATH (lld)"));
    }
    m
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    // Linux: the real uid is the first number of the `Uid:` line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|r| r.split_whitespace().next() == Some("0"))
            })
        })
        .unwrap_or(false)
}

fn version_of(program: &str) -> Result<String> {
    let out = process::clean_command(program)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {program} --version: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `(major, minor)` from `rustc 1.96.0 (ac68faa20 2026-05-25) ...`.
fn parse_version(s: &str) -> Option<(u32, u32)> {
    let v = s.split_whitespace().nth(1)?;
    let mut it = v.split(['.', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)"),
            Some((1, 96))
        );
        assert_eq!(parse_version("rustc 1.63.0"), Some((1, 63)));
        assert_eq!(
            parse_version("rustc 1.90.0-nightly (abc 2025-01-01)"),
            Some((1, 90))
        );
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("rustc 1.63.0").unwrap() < MIN_RUSTC);
    }
}
