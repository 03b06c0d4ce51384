//! Issue 18, "Missing": `free`, and `ps`'s HEAP column: each process reports its heap to
//! `/proc`, and what a program really allocates shows there. In hosted mode (the freestanding
//! programs, with their own allocator each, as on the real kernel) and in-process (where
//! programs share the host's allocator and report nothing).

#[path = "common/hosted.rs"]
mod hosted;
#[path = "common/run.rs"]
mod run;

use std::time::Duration;

use run::eurali_run;

const LIMIT: Duration = Duration::from_secs(120);

/// The HEAP column (KiB) of the `ps` line whose command ends with `cmd`.
fn ps_heap(ps: &str, cmd: &str) -> Option<u64> {
    let line = ps.lines().find(|l| l.ends_with(cmd))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// `free -b`'s row `name`: (used, claimed).
fn free_row(free: &str, name: &str) -> (u64, u64) {
    let line = free
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} row in\n{free}"));
    let mut w = line[name.len()..].split_whitespace();
    let used = w.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let claimed = w.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (used, claimed)
}

/// A shell that holds 1.3 MB in a variable shows at least 1 MiB more heap in `ps` than one
/// that holds nothing, and `free`'s processes row holds both; the ramdisk's files count too
/// (a 589 KB file in /tmp).
#[test]
fn hosted_heap_figures_follow_what_programs_allocate() {
    let Some((dir, _)) = hosted::elfs(&["init", "login", "sh", "coreutils", "ramdisk"]) else {
        return;
    };
    let dir = dir.to_string_lossy().into_owned();
    let script = "free -b > /tmp/before
        sh -c 'x=$(seq 1 200000); sleep 6; echo ${#x}' &
        sh -c 'x=; sleep 6' &
        sleep 3
        ps > /tmp/ps
        free -b > /tmp/during
        seq 1 100000 > /tmp/file
        free -b > /tmp/after
        wait
        echo '=='ps; cat /tmp/ps; echo '=='before; cat /tmp/before; echo '=='during
        cat /tmp/during; echo '=='after; cat /tmp/after";
    let r = eurali_run(
        &["--hosted", &dir, "-c", script, "--user", "root"],
        b"",
        &[],
        LIMIT,
    );
    let out = &r.stdout;
    // (The markers are quoted in the script, which init's and sh's command lines in ps show.)
    assert!(out.starts_with("1288894\n==ps\n"), "{out}\n{}", r.stderr);
    let part = |from: &str, to: &str| {
        let a = out.find(from).unwrap() + from.len();
        let b = out[a..].find(to).map_or(out.len(), |b| a + b);
        out[a..b].to_string()
    };
    let ps = part("==ps\n", "==before");
    let big = ps_heap(&ps, "sh -c x=$(seq 1 200000); sleep 6; echo ${#x}")
        .unwrap_or_else(|| panic!("no heap for the big shell in\n{ps}"));
    let small = ps_heap(&ps, "sh -c x=; sleep 6")
        .unwrap_or_else(|| panic!("no heap for the small shell in\n{ps}"));
    assert!(big >= small + 1024, "{big} KiB vs {small} KiB:\n{ps}");
    let (before, during, after) = (
        part("==before\n", "==during"),
        part("==during\n", "==after"),
        part("==after\n", "\u{0}"),
    );
    let (b_used, b_claimed) = free_row(&before, "processes");
    let (d_used, d_claimed) = free_row(&during, "processes");
    // (Not `during` against `before`: other processes' figures move meanwhile, init's above
    // all, which holds the image's programs while it seeds the file systems.)
    assert!(d_used >= (big + small - 2) * 1024, "{during}\n{ps}");
    assert!(
        d_claimed >= d_used && b_claimed >= b_used,
        "{before}\n{during}"
    );
    // 588 895 bytes more in /tmp's ramdisk.
    let (files_during, _) = free_row(&during, "ramdisk files");
    let (files_after, _) = free_row(&after, "ramdisk files");
    assert!(files_after >= files_during + 588_895, "{during}\n{after}");
    let (total, _) = free_row(&after, "total");
    let (p_used, _) = free_row(&after, "processes");
    assert_eq!(total, p_used + files_after, "{after}");
    // The stub's machine is the host's: free says it does not know it.
    assert!(after.contains("machine: not known here"), "{after}");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// In-process, programs share the host's allocator: no process reports a heap (ps shows `-`,
/// free counts none of them), and free says so rather than invent figures; options and help.
#[test]
fn free_without_heap_figures_and_its_options() {
    let r = eurali_run(
        &[
            "-c",
            "free; echo rc=$?; free -m | head -n 1; ps | grep -c '  [-] init -c '; \
             free -x; echo rc=$?; free --help | head -n 1",
            "--user",
            "root",
        ],
        b"",
        &[],
        LIMIT,
    );
    let out = &r.stdout;
    assert!(out.starts_with("KiB"), "{out}");
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("processes"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..6],
        ["processes", "0", "0", "heaps", "of", "0"],
        "{out}"
    );
    assert!(out.contains("\nmachine: not known here"), "{out}");
    assert!(out.contains("\nrc=0\nMiB "), "{out}");
    assert!(
        out.contains("\n1\nrc=2\nUsage: free [-b|-k|-m|-h]"),
        "{out}"
    );
    assert!(
        r.stderr.contains("free: usage: free [-b|-k|-m|-h]"),
        "{}",
        r.stderr
    );
}
