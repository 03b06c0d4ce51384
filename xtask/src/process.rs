//! Running other programs: the host cargo, and a clean environment for the target toolchain.

use crate::Result;
use std::ffi::OsString;
use std::process::Command;

/// The cargo that runs this xtask (the rustup one), for host builds and tests.
pub fn host_cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command with inherited stdio; fails unless it exits with success.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(cmd)))
    }
}

/// `program arg arg ...`, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Whether a variable of the outer `cargo xtask` run must not reach the target build.
///
/// `cargo run` under rustup sets `RUSTUP_TOOLCHAIN`, `CARGO`, `RUSTC`-related and per-package
/// `CARGO_*` variables; any of them would make Debian's cargo use rustup's compiler, the outer
/// target directory or the outer flags. Registry, network and terminal settings pass through.
pub fn leaks_into_target_build(name: &str) -> bool {
    const KEEP: &[&str] = &[
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    if name.starts_with("CARGO") {
        return !KEEP
            .iter()
            .any(|k| name == *k || (k.ends_with('_') && name.starts_with(k)));
    }
    if name.starts_with("RUSTUP") {
        return true;
    }
    if name.starts_with("RUST") {
        return !matches!(name, "RUST_BACKTRACE" | "RUST_LOG");
    }
    false
}

/// `PATH` without rustup's toolchain directories (rustup prepends the active toolchain's `bin`).
pub fn path_without_rustup(path: &OsString) -> OsString {
    let dirs = std::env::split_paths(path)
        .filter(|d| !d.to_string_lossy().contains("/.rustup/toolchains/"));
    std::env::join_paths(dirs).unwrap_or_else(|_| path.clone())
}

/// A command with the outer build's environment scrubbed (see [`leaks_into_target_build`]).
pub fn clean_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if leaks_into_target_build(&name.to_string_lossy()) {
            cmd.env_remove(&name);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path_without_rustup(&path));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustup_and_outer_cargo_variables_are_dropped() {
        for v in [
            "RUSTUP_TOOLCHAIN",
            "RUSTUP_HOME",
            "CARGO",
            "RUSTC",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "RUST_RECURSION_COUNT",
            "CARGO_MAKEFLAGS",
        ] {
            assert!(leaks_into_target_build(v), "{v}");
        }
    }

    #[test]
    fn registry_network_and_ordinary_variables_pass() {
        for v in [
            "CARGO_HOME",
            "CARGO_NET_OFFLINE",
            "CARGO_HTTP_PROXY",
            "CARGO_TERM_COLOR",
            "RUST_BACKTRACE",
            "HOME",
            "PATH",
        ] {
            assert!(!leaks_into_target_build(v), "{v}");
        }
    }

    #[test]
    fn rustup_toolchain_dirs_leave_path() {
        let p = OsString::from(
            "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin:/root/.cargo/bin:/usr/bin",
        );
        assert_eq!(
            path_without_rustup(&p),
            OsString::from("/root/.cargo/bin:/usr/bin")
        );
    }
}
