//! `cargo xtask bench budgets`: each program's worst stack depth against its 28 KiB thread stack.
//!
//! Boots the freestanding ELFs of `cargo xtask build` in hosted mode (stack slots laid out as the
//! kernel does: a guard page and 28 KiB of on-demand pages, fresh pages full of garbage) with
//! `EURALI_STACK_REPORT` set, so that each guest reports how deep each of its threads wrote into
//! its stack (the garbage is the paint). The workload: the system booting to a login and a user's
//! session, then scripts as root and as a user that run every coreutils tool and the shell's
//! constructs, nested as deep as the shell allows. One `RESULT` line per program: bytes of stack
//! used by its deepest thread, against the 28 KiB budget.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const BUDGET: u64 = 28 * 1024;

fn run(bin: &std::path::Path, report: &std::path::Path, args: &[&str], input: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eurali"));
    cmd.arg("--hosted").arg(bin).args(args);
    cmd.env("EURALI_STACK_REPORT", report);
    if let Some(g) = kernel_stub::hosted::guest_loader() {
        cmd.env("EURALI_GUEST", g);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eurali");
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().expect("eurali");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("MACHINE HALT"),
        "eurali {args:?} halted:\n{err}"
    );
}

const TOOLS: &str = "cd /tmp; seq 1 3000 > n; sort -r n | head -n 3; tail -n 2 n; wc -l n; \
    grep -c 1 n; uniq n | wc -l; cp n m; mv m k; cat -n k | tail -n 1; hexdump n | head -n 1; \
    xxd n | head -n 1; ls -l /bin | head -n 2; mkdir -p d/e; rmdir d/e; touch t; rm t; \
    basename /a/b.c .c; dirname /a/b; env | head -n 1; date; uptime; printf '%s %d %x\\n' x 5 255; \
    tee x < n > /dev/null; ps; true; false || echo no; sleep 0.01; cp -r /tmp/d /tmp/d2; ls /proc";

const SHELL: &str = "f() { echo fn $1; }; f a; for i in 1 2 3; do echo $i; done | sort -r; \
    (echo sub; echo shell) | cat; x=$(echo cmd $(echo nested $(echo deeper))); echo $x; \
    r() { if [ $1 -gt 0 ]; then r $(($1-1)); else ls / | wc -l; echo $((1+(2*(3+(4*(5+6)))))); fi; }; \
    r 100 2>/dev/null; echo $(( ((((((((((1)))))))))) )); \
    case abc in a*) echo glob;; esac; [ ! -z x ] && echo test; \
    i=0; while [ $i -lt 20 ]; do i=$((i+1)); done; echo $i; \
    { { { { { { { { echo braces; }; }; }; }; }; }; }; }; \
    sleep 1 & jobs; wait; echo done";

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/eurali/bin");
    if !bin.join("init").is_file() || kernel_stub::hosted::guest_loader().is_none() {
        eprintln!("budgets: needs `cargo xtask build` and the eurali-guest loader");
        std::process::exit(1);
    }
    let report = std::env::temp_dir().join(format!("eurali-stacks-{}", std::process::id()));
    let _ = std::fs::remove_file(&report);
    // The system to a login prompt, a user's session, and out.
    run(&bin, &report, &[], "user\nuser\necho hello; ls\nexit\n");
    run(&bin, &report, &["-c", TOOLS], "");
    run(&bin, &report, &["-c", SHELL], "");
    run(&bin, &report, &["-c", TOOLS, "--user", "user"], "");
    run(&bin, &report, &["-c", SHELL, "--user", "user"], "");
    run(&bin, &report, &["-c", "passwd"], "root\nnew\nnew\n");
    run(&bin, &report, &["abi-probe"], "");
    run(&bin, &report, &["hello", "a", "b"], "");
    run(&bin, &report, &["echo", "a", "b"], "");

    let text = std::fs::read_to_string(&report).expect("no stack report written");
    let _ = std::fs::remove_file(&report);
    let mut peak: BTreeMap<String, u64> = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(name), Some(_slot), Some(bytes)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(bytes) = bytes.parse::<u64>() else {
            continue;
        };
        let e = peak.entry(name.to_string()).or_default();
        *e = (*e).max(bytes);
    }
    for (name, used) in &peak {
        let headroom = BUDGET.saturating_sub(*used);
        if headroom < 4096 {
            eprintln!("budgets: {name} leaves only {headroom} bytes of its stack");
        }
    }
    for (name, used) in &peak {
        println!(
            "RESULT stack_{}={used}B baseline={BUDGET}B ratio={:.2}",
            name.replace(['-', '/'], "_"),
            *used as f64 / BUDGET as f64
        );
    }
}
