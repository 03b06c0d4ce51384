//! The real kernel's frame allocator, as the stub models it (`kernel_stub::frames`): what
//! booting, idling and using the system would make Merriwig do, and above all how many frame
//! returns would take its broken overflow path (ABI §9.23).

#[path = "common/session.rs"]
mod session;

use session::Session;
use std::time::Duration;

#[test]
fn print_frames() {
    let mut s = Session::boot(&[]);
    s.wait_for("login: ", Duration::from_secs(60));
    s.settle();
    eprintln!("boot: {}", s.kernel.frame_stats().summary());
    for e in &s.kernel.frame_stats().exits {
        eprintln!("  exit {e:?}");
    }
    s.kernel.reset_frame_counts();
    s.type_line("root");
    s.wait_for("password: ", Duration::from_secs(20));
    s.command("root", "$ ");
    eprintln!("login: {}", s.kernel.frame_stats().summary());
    for cmd in [
        "ls /",
        "cat /etc/public/motd",
        "seq 1 1000 | grep 7 | wc -l",
        "echo hi",
    ] {
        s.kernel.reset_frame_counts();
        let out = s.command(cmd, "$ ");
        eprintln!(
            "{cmd:?} -> {out:?}\n   {}",
            s.kernel.frame_stats().summary()
        );
        for e in &s.kernel.frame_stats().exits {
            eprintln!("  exit {e:?}");
        }
    }
    s.type_line("exit");
    eprintln!("status {}", s.finish());
}
