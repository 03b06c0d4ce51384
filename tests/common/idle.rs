//! What an idle system costs the host: the processor time of a process and all its descendants
//! (the stub's supervisor and, in hosted mode, every guest process), from Linux's per-thread
//! `schedstat` (nanoseconds on a processor), over a stretch of wall-clock time. For
//! `tests/idle.rs` and `cargo xtask bench idle`.

#![allow(dead_code)] // each user (the test, the bench) uses a part

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The parent of each process on the host.
fn parents() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return map;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            map.insert(pid, ppid);
        }
    }
    map
}

/// `root` and every process below it.
pub fn tree(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut all = vec![root];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        all.extend(parents.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    all
}

/// Nanoseconds on a processor of every thread of `pid` (0 once it is gone).
fn process_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The processor time of `root`'s tree over `window`, as a share of one processor (1.0: a
/// whole core). The tree is taken at the start: an idle system starts no process meanwhile.
pub fn share(root: u32, window: Duration) -> f64 {
    let pids = tree(root);
    let before: u64 = pids.iter().map(|&p| process_ns(p)).sum();
    let start = Instant::now();
    std::thread::sleep(window);
    let after: u64 = pids.iter().map(|&p| process_ns(p)).sum();
    let took = start.elapsed().as_secs_f64();
    after.saturating_sub(before) as f64 / 1e9 / took
}

/// The command line that runs the system in hosted mode (`eurali --hosted DIR`), with the
/// loader it needs, for a tmux pane.
pub fn hosted_command(bin: &std::path::Path, guest: &std::path::Path) -> String {
    format!(
        "EURALI_GUEST={} {} --hosted {}",
        guest.display(),
        env!("CARGO_BIN_EXE_eurali"),
        bin.display()
    )
}
