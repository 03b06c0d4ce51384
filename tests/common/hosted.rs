//! Hosted mode for tests: `cargo xtask build`'s freestanding ELFs, run as host processes through
//! `eurali-guest`, as the real kernel would run them.

use std::path::PathBuf;

/// `target/eurali/bin` and the guest loader, when the ELFs named in `need` are built and
/// `eurali-guest` is there. Without them the test says why on stderr and `None` lets it pass,
/// unless `CI` is set: then it fails, since CI builds both.
///
/// ELFs, or a loader, older than a source they are built from fail the test wherever it runs: a
/// test of stale programs says nothing of the code (`cargo xtask build` makes the ELFs again,
/// `cargo build -p kernel-stub --bin eurali-guest` the loader).
pub fn elfs(need: &[&str]) -> Option<(PathBuf, PathBuf)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/eurali/bin");
    let built = need.iter().all(|p| dir.join(p).is_file());
    let guest = kernel_stub::hosted::guest_loader();
    let why = match (built, guest) {
        (true, Some(g)) => {
            let oldest = need
                .iter()
                .filter_map(|p| dir.join(p).metadata().and_then(|m| m.modified()).ok())
                .min();
            if let (Some(oldest), Some((newest, source))) =
                (oldest, newest_source(&root, ELF_SOURCES))
            {
                assert!(
                    newest <= oldest,
                    "target/eurali/bin is older than {} (run cargo xtask build)",
                    source.display()
                );
            }
            // The loader is a host binary of kernel-stub's, which a test of this package does
            // not rebuild.
            let loader = g.metadata().and_then(|m| m.modified()).ok();
            if let (Some(loader), Some((newest, source))) =
                (loader, newest_source(&root, GUEST_SOURCES))
            {
                assert!(
                    newest <= loader,
                    "{} is older than {} (run cargo build -p kernel-stub --bin eurali-guest)",
                    g.display(),
                    source.display()
                );
            }
            return Some((dir, g));
        }
        (true, None) => "no eurali-guest binary (cargo build -p kernel-stub --bin eurali-guest)",
        (false, _) => "no freestanding ELFs in target/eurali/bin (cargo xtask build)",
    };
    if std::env::var_os("CI").is_some() {
        panic!("hosted test under CI: {why}");
    }
    eprintln!("skipping hosted test: {why}");
    None
}

/// What the freestanding ELFs are built from: the crates they link, the linker script, the lock
/// file.
const ELF_SOURCES: &[&str] = &[
    "libeurali",
    "std-shim",
    "vfs",
    "programs",
    "tools",
    "session",
    "bootimage",
    "xtask/eurali.ld",
    "Cargo.toml",
    "Cargo.lock",
];

/// What the guest loader `eurali-guest` is built from. Not the lock file: cargo relinks the
/// loader only when its own dependencies change, so a lock file changed for another crate made
/// an up-to-date loader look stale, with no build that would refresh it.
const GUEST_SOURCES: &[&str] = &[
    "kernel-stub/src",
    "kernel-stub/Cargo.toml",
    "libeurali/src",
    "libeurali/Cargo.toml",
];

/// The newest file under `parts` (paths from the root), and when it changed.
fn newest_source(
    root: &std::path::Path,
    parts: &[&str],
) -> Option<(std::time::SystemTime, PathBuf)> {
    fn walk(path: &std::path::Path, newest: &mut Option<(std::time::SystemTime, PathBuf)>) {
        let Ok(meta) = path.metadata() else { return };
        if meta.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "tests")
            {
                return;
            }
            for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&e.path(), newest);
            }
            return;
        }
        let source = path
            .extension()
            .is_some_and(|e| e == "rs" || e == "toml" || e == "ld" || e == "lock");
        if let (true, Ok(t)) = (source, meta.modified())
            && newest.as_ref().is_none_or(|(n, _)| t > *n)
        {
            *newest = Some((t, path.to_path_buf()));
        }
    }
    let mut newest = None;
    for part in parts {
        walk(&root.join(part), &mut newest);
    }
    newest
}
