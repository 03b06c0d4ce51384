//! Helpers for the integration tests: every test body runs under a timeout so that a broken stub
//! fails the test instead of hanging it.
#![allow(dead_code)]

use kernel_stub::Kernel;
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `f` as the first thread of a new stub process on a fresh host thread; fails the test
/// after [`TIMEOUT`] (shutting the kernel down so that stuck threads end).
pub fn run<R: Send + 'static>(k: &Kernel, name: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let k2 = k.clone();
    let name = name.to_string();
    within(k, move || k2.run_as_process(&name, f))
}

/// Runs `f` on a fresh host thread with the timeout.
pub fn within<R: Send + 'static>(k: &Kernel, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(r)) => {
            let _ = h.join();
            r
        }
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => {
            k.shutdown();
            panic!("test body did not finish within {TIMEOUT:?}");
        }
    }
}

/// Waits (up to the timeout) until `cond` holds.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `f` on a new stub thread of the calling process (fork_thread with a boxed closure).
pub fn spawn(f: impl FnOnce() + Send + 'static) -> u64 {
    libeurali::spawn_fn(f).expect("fork_thread")
}
