//! A script run as `user` on the whole system (the stub's boot, login's session for `user`).

use std::time::Duration;

use eurali_host::boot::{Captured, run_system_captured};

/// Runs `script` as `user` on the whole system; fails on anything sent to the debug line.
pub fn as_user(script: &str) -> Captured {
    let r = run_system_captured(
        &eurali::programs(),
        &["-c".into(), script.into(), "--user".into(), "user".into()],
        b"",
        Duration::from_secs(120),
    );
    assert_eq!(r.debug, "", "output went to the kernel's debug line");
    r
}
