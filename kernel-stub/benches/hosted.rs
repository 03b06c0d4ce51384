//! Hosted mode's costs, each against a baseline measured in the same run:
//!
//! - one trapped system call of a guest (`close` of a handle that does not exist: SIGSYS in the
//!   guest, proxy in the supervisor, the stub's dispatcher, back), against a plain Linux `getpid`;
//! - an IPC round trip between two hosted processes (`send_receive` answered by `send`, both
//!   freestanding `abi-probe` ELFs), against the same round trip between two in-process stub
//!   processes.
//!
//! Needs `target/eurali/bin/abi-probe` (`cargo xtask build`). Ends with
//!   RESULT hosted_syscall=<ns>ns baseline=<ns>ns ratio=<ours/baseline>
//!   RESULT hosted_ipc=<ns>ns baseline=<ns>ns ratio=<ours/baseline>

use kernel_stub::Kernel;
use libeurali::params::ExecParams;
use libeurali::spawn_fn as spawn_stub_thread;
use libeurali::{Message, exec, new_rendezvous, receive, send, send_receive};
use std::path::PathBuf;
use std::time::Instant;

fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn getpid_ns(n: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        // Safety: getpid has no arguments.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// (syscall ns, round trip ns) measured inside a hosted client.
fn hosted(elf: &[u8], n: u64) -> (f64, f64) {
    let kernel = Kernel::new();
    kernel.set_logging(false);
    kernel.set_guest_loader(PathBuf::from(env!("CARGO_BIN_EXE_eurali-guest")));
    let r = kernel.run_as_process("bench", || {
        let (srv, cli) = new_rendezvous().unwrap();
        let srv2 = srv.try_clone().unwrap();
        let (report, report_child) = new_rendezvous().unwrap();
        let p = |args: &[&str]| ExecParams::new().args(args).unwrap().finish().unwrap();
        exec(elf, srv, srv2, &p(&["abi-probe", "--bench-server"]), false).unwrap();
        let count = n.to_string();
        exec(
            elf,
            cli,
            report_child,
            &p(&["abi-probe", "--bench-client", &count]),
            false,
        )
        .unwrap();
        match receive(&report) {
            Ok(Message::Short(0xBE, sys, ipc)) => (sys as f64 / n as f64, ipc as f64 / n as f64),
            other => panic!("no report from the hosted client: {other:?}"),
        }
    });
    kernel.shutdown();
    if let Some(f) = kernel.take_fault() {
        panic!("the hosted system halted: {f}");
    }
    r
}

/// The same round trip between two in-process stub threads.
fn in_process(n: u64) -> f64 {
    let kernel = Kernel::new();
    kernel.set_logging(false);
    let r = kernel.run_as_process("bench", || {
        let (srv, cli) = new_rendezvous().unwrap();
        spawn_stub_thread(move || {
            while receive(&srv).is_ok() {
                let _ = send(&srv, Message::Short(1, 0, 0));
            }
        })
        .unwrap();
        let t = Instant::now();
        for _ in 0..n {
            send_receive(&cli, Message::Short(1, 0, 0)).unwrap();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    });
    kernel.shutdown();
    r
}

fn main() {
    let elf_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/eurali/bin/abi-probe");
    let Ok(elf) = std::fs::read(&elf_path) else {
        eprintln!(
            "hosted bench: no {} (run `cargo xtask build` first)",
            elf_path.display()
        );
        std::process::exit(if quick() { 0 } else { 1 });
    };
    let n = if quick() { 200 } else { 20_000 };
    let rounds = if quick() { 1 } else { 5 };
    let mut sys = Vec::new();
    let mut ipc = Vec::new();
    let mut base_sys = Vec::new();
    let mut base_ipc = Vec::new();
    for round in 0..rounds {
        let (s, i) = hosted(&elf, n);
        let bs = getpid_ns(n * 10);
        let bi = in_process(n);
        println!(
            "round {round}: hosted syscall {s:.0} ns (getpid {bs:.0} ns), hosted IPC round trip {i:.0} ns (in-process {bi:.0} ns)"
        );
        sys.push(s);
        ipc.push(i);
        base_sys.push(bs);
        base_ipc.push(bi);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (s, bs) = (median(&mut sys), median(&mut base_sys));
    let (i, bi) = (median(&mut ipc), median(&mut base_ipc));
    println!(
        "RESULT hosted_syscall={s:.0}ns baseline={bs:.0}ns ratio={:.2}",
        s / bs
    );
    println!(
        "RESULT hosted_ipc={i:.0}ns baseline={bi:.0}ns ratio={:.2}",
        i / bi
    );
}
