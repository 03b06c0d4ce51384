//! Hosted mode for tests: `cargo xtask build`'s freestanding ELFs, run as host processes through
//! `eurali-guest`, as the real kernel would run them.

use std::path::PathBuf;

/// `target/eurali/bin` and the guest loader, when the ELFs named in `need` are built and
/// `eurali-guest` is there. Without them the test says why on stderr and `None` lets it pass,
/// unless `CI` is set: then it fails, since CI builds both.
pub fn elfs(need: &[&str]) -> Option<(PathBuf, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/eurali/bin");
    let built = need.iter().all(|p| dir.join(p).is_file());
    let guest = kernel_stub::hosted::guest_loader();
    let why = match (built, guest) {
        (true, Some(g)) => return Some((dir, g)),
        (true, None) => "no eurali-guest binary (cargo build -p kernel-stub --bin eurali-guest)",
        (false, _) => "no freestanding ELFs in target/eurali/bin (cargo xtask build)",
    };
    if std::env::var_os("CI").is_some() {
        panic!("hosted test under CI: {why}");
    }
    eprintln!("skipping hosted test: {why}");
    None
}
