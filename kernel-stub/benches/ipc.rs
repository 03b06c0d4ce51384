//! The stub's IPC round trip against two host baselines, measured in the same run.
//!
//! - ours: a client process calls `send_receive` with three value words; a server process
//!   (exec'd from a registered program) answers each with `send`. Logging is off.
//! - futex: two host threads ping-pong through two `AtomicU32`s with raw `FUTEX_WAIT` /
//!   `FUTEX_WAKE`.
//! - pipe: two host threads ping-pong one byte through two pipes.
//!
//! Each figure is the median over several rounds of many round trips. Where the two threads run
//! decides most of the cost on a small VM (a wake-up across CPUs is far dearer than a switch on
//! one CPU), so all three are measured with the threads left to the scheduler (the `RESULT`
//! lines) and, for information, pinned to one CPU and to two CPUs. The last two lines are
//!   RESULT ipc_vs_futex=<ns>ns baseline=<ns>ns ratio=<ours/baseline>
//!   RESULT ipc_vs_pipe=<ns>ns baseline=<ns>ns ratio=<ours/baseline>

use kernel_stub::Kernel;
use libeurali::{
    EntryRegisters, Handle, Message, exec, new_rendezvous, receive, send, send_receive,
};
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

const WARMUP: u32 = 2_000;
const ITERS: u32 = 10_000;
const ROUNDS: usize = 7;

/// `cargo bench` passes `--bench`; without it (`cargo test --benches`) one short smoke run.
fn quick() -> bool {
    static QUICK: OnceLock<bool> = OnceLock::new();
    *QUICK.get_or_init(|| !std::env::args().any(|a| a == "--bench"))
}

fn sizes() -> (u32, u32, usize) {
    if quick() {
        (10, 100, 1)
    } else {
        (WARMUP, ITERS, ROUNDS)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Placement {
    /// Left to the scheduler.
    Free = 0,
    /// Both threads on CPU 0.
    Same = 1,
    /// Client on CPU 0, server on CPU 1.
    Split = 2,
}

static PLACEMENT: AtomicU8 = AtomicU8::new(0);

fn placement() -> Placement {
    match PLACEMENT.load(Ordering::Relaxed) {
        1 => Placement::Same,
        2 => Placement::Split,
        _ => Placement::Free,
    }
}

/// The CPUs this process may use at start.
fn all_cpus() -> libc::cpu_set_t {
    static ALL: OnceLock<[u8; std::mem::size_of::<libc::cpu_set_t>()]> = OnceLock::new();
    let bytes = ALL.get_or_init(|| {
        // Safety: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
            std::mem::transmute::<libc::cpu_set_t, [u8; std::mem::size_of::<libc::cpu_set_t>()]>(
                set,
            )
        }
    });
    // Safety: the bytes came from a cpu_set_t.
    unsafe {
        std::mem::transmute::<[u8; std::mem::size_of::<libc::cpu_set_t>()], libc::cpu_set_t>(*bytes)
    }
}

/// Places the calling thread for its role (0 = client, 1 = server).
fn pin(role: usize) {
    let mut set = all_cpus();
    let cpu = match placement() {
        Placement::Free => None,
        Placement::Same => Some(0),
        Placement::Split => Some(role),
    };
    if let Some(cpu) = cpu {
        // Safety: a zeroed cpu_set_t is a valid empty set.
        set = unsafe { std::mem::zeroed() };
        // Safety: `cpu` is 0 or 1, inside the set.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // Safety: a valid set of the right size for the calling thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Times ROUNDS rounds of ITERS calls after a warm-up; ns per call, per round.
fn rounds(mut call: impl FnMut()) -> Vec<f64> {
    let (warmup, iters, rounds) = sizes();
    for _ in 0..warmup {
        call();
    }
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                call();
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect()
}

/// Calls the baselines' servers answer: warm-up plus all rounds.
fn total_calls() -> u32 {
    let (warmup, iters, rounds) = sizes();
    warmup + rounds as u32 * iters
}

fn server(_: EntryRegisters) {
    pin(1);
    // Safety: handle 0 is this process's stdin, given by exec.
    let h = unsafe { Handle::from_raw(0) };
    while let Ok(m) = receive(&h) {
        let (a, b, c) = m.values();
        if send(&h, Message::Short(a + 1, b, c)).is_err() {
            break;
        }
    }
}

fn stub() -> Vec<f64> {
    let k = Kernel::new();
    k.set_logging(false);
    k.register_program("server", server);
    let k2 = k.clone();
    let r = k.run_as_process("client", move || {
        pin(0);
        let (mine, theirs) = new_rendezvous().unwrap();
        let (_, out) = new_rendezvous().unwrap();
        exec(&Kernel::program_image("server"), theirs, out, b"", false).unwrap();
        let mut i = 0;
        let r = rounds(|| {
            i += 1;
            let reply = send_receive(&mine, Message::Short(i, 7, 9)).unwrap();
            debug_assert_eq!(reply, Message::Short(i + 1, 7, 9));
        });
        // Close once the server waits again: that wakes it with 12 and it ends.
        while k2.blocked_threads() == 0 {
            std::thread::yield_now();
        }
        drop(mine);
        r
    });
    k.wait_idle(std::time::Duration::from_secs(5));
    r
}

fn futex_wait(word: &AtomicU32, expected: u32) {
    // Safety: FUTEX_WAIT on a live, aligned u32; returns at once if the value differs.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

fn futex_wake(word: &AtomicU32) {
    // Safety: FUTEX_WAKE on a live, aligned u32.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        )
    };
}

fn futex() -> Vec<f64> {
    let req = Arc::new(AtomicU32::new(0));
    let resp = Arc::new(AtomicU32::new(0));
    let total = total_calls();
    let (rq, rs) = (req.clone(), resp.clone());
    let server = std::thread::spawn(move || {
        pin(1);
        let mut last = 0;
        while last < total {
            let mut v = rq.load(Ordering::Acquire);
            while v == last {
                futex_wait(&rq, last);
                v = rq.load(Ordering::Acquire);
            }
            last = v;
            rs.store(v, Ordering::Release);
            futex_wake(&rs);
        }
    });
    pin(0);
    let mut seq = 0u32;
    let r = rounds(|| {
        seq += 1;
        req.store(seq, Ordering::Release);
        futex_wake(&req);
        while resp.load(Ordering::Acquire) != seq {
            futex_wait(&resp, seq - 1);
        }
    });
    server.join().unwrap();
    r
}

fn pipe_pair() -> (i32, i32) {
    let mut fds = [0i32; 2];
    // Safety: a two-element array, as pipe needs.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

fn byte(read: bool, fd: i32) {
    let mut b = [0u8; 1];
    // Safety: one byte to or from a live local buffer.
    let n = unsafe {
        if read {
            libc::read(fd, b.as_mut_ptr().cast(), 1)
        } else {
            libc::write(fd, b.as_ptr().cast(), 1)
        }
    };
    assert_eq!(n, 1);
}

fn pipe() -> Vec<f64> {
    let (to_r, to_w) = pipe_pair();
    let (back_r, back_w) = pipe_pair();
    let total = total_calls();
    let server = std::thread::spawn(move || {
        pin(1);
        for _ in 0..total {
            byte(true, to_r);
            byte(false, back_w);
        }
    });
    pin(0);
    let r = rounds(|| {
        byte(false, to_w);
        byte(true, back_r);
    });
    server.join().unwrap();
    for fd in [to_r, to_w, back_r, back_w] {
        // Safety: closing our own descriptors.
        unsafe { libc::close(fd) };
    }
    r
}

fn main() {
    let _ = all_cpus();
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut free = (0.0, 0.0, 0.0);
    let placements: &[Placement] = if quick() {
        &[Placement::Free]
    } else {
        &[Placement::Same, Placement::Split, Placement::Free]
    };
    for &p in placements {
        PLACEMENT.store(p as u8, Ordering::Relaxed);
        let (o, f, q) = (stub(), futex(), pipe());
        println!("{p:?}: stub  round trip ns per round: {}", fmt(&o));
        println!("{p:?}: futex round trip ns per round: {}", fmt(&f));
        println!("{p:?}: pipe  round trip ns per round: {}", fmt(&q));
        let m = (median(o), median(f), median(q));
        println!(
            "{p:?}: medians stub={:.0}ns futex={:.0}ns pipe={:.0}ns (ratios {:.2} / {:.2})",
            m.0,
            m.1,
            m.2,
            m.0 / m.1,
            m.0 / m.2
        );
        free = m;
    }
    PLACEMENT.store(Placement::Free as u8, Ordering::Relaxed);
    pin(0);
    let (o, f, p) = free;
    println!(
        "RESULT ipc_vs_futex={o:.0}ns baseline={f:.0}ns ratio={:.2}",
        o / f
    );
    println!(
        "RESULT ipc_vs_pipe={o:.0}ns baseline={p:.0}ns ratio={:.2}",
        o / p
    );
}
