//! `cargo xtask bench NAME`: one table of benchmarks, each a function that runs it and lets its
//! output (the `RESULT` lines) through.

use crate::Result;
use crate::process;

/// One benchmark.
pub struct Bench {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn() -> Result<()>,
}

/// Every benchmark `bench` knows.
pub const BENCHES: &[Bench] = &[
    Bench {
        name: "idle",
        about: "CPU of an idle system at login: and at the shell prompt, in-process and hosted, \
                over 10 s vs dash at its prompt (goal: at most 1 % of a core)",
        run: || hosted_bench("idle"),
    },
    Bench {
        name: "ipc",
        about: "IPC round trip through the in-process kernel stub (kernel-stub's `ipc` bench)",
        run: || cargo_bench("kernel-stub", "ipc"),
    },
    Bench {
        name: "hosted",
        about: "hosted mode: trapped syscall vs getpid, IPC between two hosted ELFs vs in-process",
        run: || {
            crate::build::build(&crate::workspace_root())?;
            cargo_bench("kernel-stub", "hosted")
        },
    },
    Bench {
        name: "shell",
        about: "sh on the stub vs dash: a 1000-iteration builtin loop, 100 spawns of /bin/true",
        run: || cargo_bench("eurali", "shell"),
    },
    Bench {
        name: "pipe",
        about: "64 MiB through `cat | cat | wc -c`, `seq 1 1000000 | sort -n | tail -1`: ours as \
                `cargo run -- -c` boots it (dev profile) vs dash with Linux's coreutils",
        run: crate::pipebench::run,
    },
    Bench {
        name: "net",
        about: "10 MiB Gopher download, TCP connect, gopherd serving: our stack over TAP vs curl/gophernicus over veth (root)",
        run: || cargo_bench("eurali", "net"),
    },
    Bench {
        name: "fs",
        about: "std-shim fs on a ramdisk on the stub vs std on tmpfs: 16 MiB write/read, small files",
        run: || cargo_bench("eurali-std", "fs"),
    },
    Bench {
        name: "disk",
        about: "16 MiB written+synced and read through /disk (fatfs on EURALI_DISK) on the stub vs \
                mtools on a FAT32 image",
        run: || cargo_bench("eurali", "disk"),
    },
    Bench {
        name: "budgets",
        about: "each program's deepest stack (hosted mode, painted stacks) vs the 28 KiB budget",
        run: || hosted_bench("budgets"),
    },
    Bench {
        name: "frames",
        about: "the real kernel's frame returns and overflow-path returns (the stub's model) for \
                boot, idle, login, commands, gopher, kibi, a session: ours vs the pools off",
        run: || cargo_bench("eurali", "frames"),
    },
    Bench {
        name: "login",
        about: "one password hash at vfs::users::ROUNDS in the real ELFs (hosted) vs Python's \
                hashlib.pbkdf2_hmac (OpenSSL) on the host",
        run: || hosted_bench("login"),
    },
    Bench {
        name: "kibi",
        about: "edit (kibi on std-shim) on the stub vs upstream kibi on Linux: open+save 50k lines",
        run: || cargo_bench("eurali", "kibi"),
    },
];

/// Runs the benchmark `name`; without a known name, lists the benchmarks.
pub fn run(name: Option<&str>) -> Result<()> {
    match name.and_then(|n| BENCHES.iter().find(|b| b.name == n)) {
        Some(b) => {
            crate::section(&format!("bench {}", b.name));
            (b.run)()
        }
        None => Err(match name {
            Some(n) => format!("unknown benchmark `{n}`\n{}", list()),
            None => format!("usage: cargo xtask bench NAME\n{}", list()),
        }),
    }
}

fn list() -> String {
    let mut s = String::from("benchmarks:");
    for b in BENCHES {
        s.push_str(&format!("\n  {:<10} {}", b.name, b.about));
    }
    s
}

/// A bench of the root package that boots the freestanding ELFs in hosted mode: builds them,
/// and the loader its `eurali` finds next to it (release), which a bench of the root package
/// does not build by itself.
fn hosted_bench(bench: &str) -> Result<()> {
    crate::build::build(&crate::workspace_root())?;
    crate::process::run(
        crate::process::host_cargo()
            .args([
                "build",
                "--release",
                "-p",
                "kernel-stub",
                "--bin",
                "eurali-guest",
            ])
            .current_dir(crate::workspace_root()),
    )?;
    cargo_bench("eurali", bench)
}

/// `cargo bench -p PACKAGE --bench BENCH` on the host toolchain, output passed through.
fn cargo_bench(package: &str, bench: &str) -> Result<()> {
    process::run(
        process::host_cargo()
            .args(["bench", "-p", package, "--bench", bench])
            .current_dir(crate::workspace_root()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_listed() {
        for (i, b) in BENCHES.iter().enumerate() {
            assert!(
                BENCHES[i + 1..].iter().all(|o| o.name != b.name),
                "duplicate {}",
                b.name
            );
            assert!(list().contains(b.name));
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = run(Some("no-such-bench")).unwrap_err();
        assert!(e.contains("unknown benchmark `no-such-bench`"));
        assert!(e.contains("ipc"));
        assert!(run(None).unwrap_err().contains("ipc"));
    }
}
