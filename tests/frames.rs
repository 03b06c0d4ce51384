//! The real kernel's frame allocator, as the stub models it (`kernel_stub::frames`): booting,
//! idling and running the coreutils must give no frame back to the kernel, so that no return
//! can take Merriwig's broken overflow path (ABI §9.23; docs/design.md, "Frames").
//!
//! The stub's own boot process (its host devices: the console, the /boot server) has no
//! process runtime and is not part of the real system; its frees are left out.

#[path = "common/session.rs"]
mod session;

use kernel_stub::frames::FrameStats;
use session::Session;
use std::time::Duration;

/// The stub's boot process, which stands for the boot loader and the host's devices.
const STUB: &str = "boot";

/// Frames the userland gave back in `s` (the stub's boot process left out), and by whom.
fn returned(s: &FrameStats) -> (u64, String) {
    (
        s.returned_except(STUB),
        format!(
            "{}\nchunk frees by process: {:?}\nthread ends by process: {:?}\nprocess exits: {:?}",
            s.summary(),
            s.frees_by_process,
            s.thread_exits_by_process,
            s.exits
        ),
    )
}

fn assert_none_returned(what: &str, s: &FrameStats) {
    let (n, why) = returned(s);
    assert_eq!(n, 0, "{what} gave {n} frames back to the kernel:\n{why}");
    assert_eq!(s.overflow, 0, "{what}: overflow returns:\n{why}");
}

/// Logs in as `user` on a booted system and waits for the shell's prompt.
fn login(s: &mut Session, user: &str) {
    s.type_line(user);
    s.wait_for("password: ", Duration::from_secs(30));
    s.command(user, "$ ");
}

#[test]
fn boot_idle_and_the_coreutils_give_no_frame_back() {
    let mut s = Session::boot(&[]);
    s.wait_for("login: ", Duration::from_secs(60));
    s.settle();
    assert_none_returned("booting to the login prompt", &s.kernel.frame_stats());
    s.kernel.reset_frame_counts();
    std::thread::sleep(Duration::from_secs(3));
    assert_none_returned("3 s idle at the login prompt", &s.kernel.frame_stats());
    login(&mut s, "root");
    for (cmd, want) in [
        ("ls /", "bin\n"),
        ("cat /etc/public/motd", "Welcome to eurali."),
        ("seq 1 1000 | grep 7 | wc -l", "271\n"),
        (
            "echo a b > /tmp/f; cat /tmp/f /tmp/f | sort -u | wc -w",
            "2\n",
        ),
        (
            "mkdir -p /tmp/d/e; cp /tmp/f /tmp/d/e/g; ls -l /tmp/d/e",
            "g\n",
        ),
        ("rm -r /tmp/d; ls /tmp", "f\n"),
        ("printf '%s-%d\\n' x 5 | tee /tmp/p | xxd", "x-5"),
        ("head -n 2 /etc/users | tail -n 1 | wc -l", "1\n"),
        ("env | grep -c HOME; ps | head -n 1", "PID"),
        (
            "for i in 1 2 3; do basename /a/b$i; done | uniq | tail -n 1",
            "b3\n",
        ),
    ] {
        s.kernel.reset_frame_counts();
        let out = s.command(cmd, "$ ");
        assert!(out.contains(want), "{cmd:?} printed {out:?}");
        assert_none_returned(cmd, &s.kernel.frame_stats());
    }
    s.kernel.reset_frame_counts();
    std::thread::sleep(Duration::from_secs(2));
    assert_none_returned("2 s idle at the shell prompt", &s.kernel.frame_stats());
    // The kernel never gives a stack slot out twice: 64 thread starts per process life. A
    // shell that started threads for each pipeline would run out within the hour.
    s.kernel.reset_frame_counts();
    for i in 0..40 {
        let out = s.command(&format!("seq 1 {i} | grep -c 1 | wc -l"), "$ ");
        assert!(out.contains("1\n"), "{out:?}");
    }
    let st = s.kernel.frame_stats();
    assert_eq!(st.slot_refusals, 0, "{}", st.summary());
    assert!(
        st.threads_started < 20,
        "40 pipelines started {} threads: they should come from the pool\n{}",
        st.threads_started,
        st.summary()
    );
    assert_none_returned("40 pipelines", &st);
    // Logout ends the shell's process: that does give frames back (README: what remains).
    s.kernel.reset_frame_counts();
    s.type_line("exit");
    s.wait_for("login: ", Duration::from_secs(30));
    s.settle();
    let exits = s.kernel.frame_stats().exits;
    assert!(
        exits.iter().any(|e| e.name == "sh" && e.returned > 0),
        "the model saw the shell end: {exits:?}"
    );
    assert_eq!(s.finish(), 0);
}

#[test]
fn with_the_pools_off_the_same_commands_do_give_frames_back() {
    // The switches the bench's baseline uses: proof that the test above measures something.
    let mut s = Session::boot_env(&[], &[("EURALI_NOPOOL", "1"), ("EURALI_NOFORK", "0")]);
    s.wait_for("login: ", Duration::from_secs(60));
    login(&mut s, "root");
    s.kernel.reset_frame_counts();
    s.command("ls /", "$ ");
    let st = s.kernel.frame_stats();
    assert!(
        st.exits.iter().any(|e| e.name == "coreutils"),
        "ls ran as a process: {st:?}"
    );
    assert!(returned(&st).0 > 0, "{}", st.summary());
    s.type_line("exit");
    s.wait_for("login: ", Duration::from_secs(30));
    assert_eq!(s.finish(), 0);
}
