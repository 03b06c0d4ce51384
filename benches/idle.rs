//! `cargo xtask bench idle`: what an idle system costs the host. The whole system sits at
//! `login:`, then (logged in as user) at the shell prompt, in-process (`eurali`) and hosted
//! (`eurali --hosted target/eurali/bin`), each in a tmux pane; the processor time of the pane's
//! process tree (the stub and every guest process, Linux's per-thread `schedstat`) over
//! [`WINDOW`] is the figure, as a share of one core. Goal: at most 1 %.
//!
//! Baseline: dash sitting at its prompt in a tmux pane, measured the same way: what a Unix
//! shell waiting in `read` costs (nothing measurable). A baseline below the measurement's
//! resolution would make the ratio meaningless, so the ratio divides by at least 0.01 % of a
//! core (10 µs a second), the resolution this bench claims.
//!
//! `RESULT idle_<mode>_<where>=<percent>% baseline=<percent>% ratio=<ours/baseline>`.
//!
//! QEMU running the real kernel (TCG, as README's "Booting on the real kernel" starts it) is
//! measured when given boot disks built by hand as the README says (nothing here builds the
//! kernel): `EURALI_QEMU_BOOT` (the kernel with eurali's init) at `login:` on COM1 and at user's
//! prompt, against `EURALI_QEMU_UPSTREAM` (the same kernel with upstream's own userland, which
//! shows nothing on COM1: measured after [`QEMU_BOOT`]) idle at its prompt:
//! `RESULT idle_qemu_<where>=… baseline=… ratio=…`. The real kernel has no timers: a sleeping
//! thread yields until its deadline, so both keep the emulated CPU busy; the figures say by how
//! much each keeps the host's. Without the two variables it says so and measures the stubs only.

#[path = "../tests/common/hosted.rs"]
mod hosted;
#[path = "../tests/common/idle.rs"]
mod idle;
#[path = "../tests/common/tmux.rs"]
mod tmux;

use std::time::Duration;
use tmux::Pane;

const WINDOW: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(2);
/// The smallest share the ratio divides by (see the module doc).
const RESOLUTION: f64 = 0.0001;

/// dash at its prompt.
fn baseline() -> Option<f64> {
    if std::process::Command::new("dash")
        .args(["-c", "true"])
        .status()
        .is_err()
    {
        eprintln!("idle: no dash on this machine: no baseline");
        return None;
    }
    let s = Pane::start("idle-dash", "env -i PS1='$ ' dash -i", 100, 30)?;
    s.wait_for("$");
    let pid = s.pid()?;
    std::thread::sleep(SETTLE);
    Some(idle::share(pid, WINDOW))
}

/// (at `login:`, at the prompt) for the system that `cmd` boots.
fn system(tag: &str, cmd: &str) -> Option<(f64, f64)> {
    let s = Pane::start(tag, cmd, 100, 30)?;
    let pid = s.pid()?;
    Some(at_login_and_prompt(&s, pid))
}

/// The share of a core `pid`'s tree takes idle at `login:` in pane `s`, then logged in as user
/// at the shell prompt.
fn at_login_and_prompt(s: &Pane, pid: u32) -> (f64, f64) {
    s.wait_for("login:");
    std::thread::sleep(SETTLE);
    let at_login = idle::share(pid, WINDOW);
    s.keys(&["user", "Enter"]);
    s.wait_for("password:");
    s.keys(&["user", "Enter"]);
    s.wait_for("user:~$");
    std::thread::sleep(SETTLE);
    (at_login, idle::share(pid, WINDOW))
}

/// How long upstream's userland is given to boot before it is measured (it logs nothing on
/// COM1 to wait for).
const QEMU_BOOT: Duration = Duration::from_secs(30);

/// QEMU (TCG, 128 MiB, the rtl8139 the kernel expects, COM1 on the pane, no display) on `disk`.
fn qemu_command(disk: &str) -> String {
    format!(
        "qemu-system-x86_64 -machine pc -accel tcg -cpu Skylake-Client-v3 -m 128M \
         -drive format=raw,file={disk} -nic user,model=rtl8139 -serial stdio -display none"
    )
}

/// The real kernel in QEMU: eurali's (at `login:`, at user's prompt) against upstream's userland.
fn qemu() {
    let (Ok(ours), Ok(upstream)) = (
        std::env::var("EURALI_QEMU_BOOT"),
        std::env::var("EURALI_QEMU_UPSTREAM"),
    ) else {
        println!(
            "idle: EURALI_QEMU_BOOT and EURALI_QEMU_UPSTREAM (boot disks of the real kernel with \
             eurali's init and with upstream's userland, built by hand: README) not both set: \
             no real-kernel figures"
        );
        return;
    };
    let Some(s) = Pane::start("idle-qemu-upstream", &qemu_command(&upstream), 100, 30) else {
        return;
    };
    let Some(pid) = s.pid() else { return };
    std::thread::sleep(QEMU_BOOT);
    let base = idle::share(pid, WINDOW);
    drop(s);
    let Some(s) = Pane::start("idle-qemu-eurali", &qemu_command(&ours), 100, 30) else {
        return;
    };
    let Some(pid) = s.pid() else { return };
    let (at_login, at_prompt) = at_login_and_prompt(&s, pid);
    for (at, share) in [("login", at_login), ("prompt", at_prompt)] {
        println!(
            "RESULT idle_qemu_{at}={:.1}% baseline={:.1}% ratio={:.2}",
            share * 100.0,
            base * 100.0,
            share / base.max(RESOLUTION)
        );
    }
}

fn main() {
    qemu();
    let base = baseline();
    if let Some(b) = base {
        println!("dash at its prompt: {:.3} % of a core", b * 100.0);
    }
    let mut modes = vec![("inprocess", env!("CARGO_BIN_EXE_eurali").to_string())];
    match hosted::elfs(&["init", "login", "sh", "ramdisk"]) {
        Some((bin, guest)) => modes.push(("hosted", idle::hosted_command(&bin, &guest))),
        None => eprintln!("idle: no hosted figures (see above)"),
    }
    for (mode, cmd) in modes {
        let Some((login, prompt)) = system(&format!("idle-{mode}"), &cmd) else {
            eprintln!("idle: no tmux: nothing measured");
            std::process::exit(1);
        };
        for (at, share) in [("login", login), ("prompt", prompt)] {
            let ours = share * 100.0;
            match base {
                Some(b) => println!(
                    "RESULT idle_{mode}_{at}={ours:.3}% baseline={:.3}% ratio={:.1}",
                    b * 100.0,
                    share / b.max(RESOLUTION)
                ),
                None => println!("RESULT idle_{mode}_{at}={ours:.3}%"),
            }
        }
    }
}
