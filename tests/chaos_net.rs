//! Chaos with the network in the workload: the whole system booted as a user gets it (`init`
//! starting `tcp` on the TAP link to a Linux namespace where gophernicus serves the fixture
//! tree, see `common/netlink.rs`), and rounds of shell workers, each looping over a Gopher
//! download of a 64 KiB binary to a file, a Gopher fetch of a text or a menu, a file write it
//! acknowledges and a pipe chain. Meanwhile workers are killed at random moments (mid-call:
//! std-shim's cooperative kill, which reaches the `gopher` or `sort` they are running too), and
//! so is `tcp`, which init starts again on the same `/net`.
//!
//! What must hold: every worker ends within its bound, killed (137) or finished (0) — none
//! hangs; a survivor did all its iterations; every fetch a worker reported as done has exactly
//! the fixture's bytes (a connection cut by the kill never passes for a whole download); every
//! fetch that failed says why in one clear line; a fetch waiting in a read (from the Linux
//! side's silent server, connected before each tcp kill) ends at once with "connection reset",
//! not at its timeout; init started tcp again after each kill (its message per kill, and the
//! number of starts); a fetch after the chaos works, and so do more fetches than tcp holds
//! sockets (no session of a killed client is kept for good); every write a worker acknowledged
//! is there with the right contents.
//!
//! tcp is killed the way init would kill it: `Short(SIGNAL, 9)` on the control channel init
//! mounted for it, sent by a thread the test plants in each tcp it starts (`killable_tcp`): no
//! other process holds that channel, and init exposes no kill. The rest of tcp is the real one.
//!
//! Like `tests/net.rs`, this needs root and the Linux-side servers; `EURALI_SKIP_NET=1` skips it.
//! `EURALI_CHAOS_SEED=N` replays one schedule of kills (the seed is printed).

#[path = "common/netlink.rs"]
mod netlink;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use eurali_std as shim;
use netlink::{LINUX, blob, link, static_config, with_link_env};
use shim::io::Read as _;
use shim::process::{Command, Stdio};
use shim::time::Instant;

#[path = "common/rng.rs"]
mod rng;
#[path = "common/workers.rs"]
mod workers;

use rng::Rng;

const ROUNDS: usize = 3;
const WORKERS: usize = 4;
const ITERATIONS: usize = 15;
/// tcp kills per round (init starts tcp again at most 5 times a minute: 4 in all).
const TCP_KILLS_PER_ROUND: [usize; ROUNDS] = [1, 1, 2];
/// Kills happen within this long of a round's start.
const SPAN_MS: u64 = 5000;
/// `gopher --timeout`: how long a fetch waits for a connection or for the next bytes.
const FETCH_TIMEOUT_S: u64 = 10;
/// No worker, killed or not, may take longer than this to be reaped.
const BOUND: Duration = Duration::from_secs(50);
/// How long a tcp kill or restart may take to be seen.
const TCP_BOUND: Duration = Duration::from_secs(15);

const TEXT: &str = "Hello from gophernicus.\nSecond line.\n";

/// The seed of this run's schedule, set by the test.
static SEED: AtomicU64 = AtomicU64::new(1);
/// How many tcps have started (each one is a start by init).
static TCP_STARTS: AtomicUsize = AtomicUsize::new(0);
/// Set to ask the running tcp to be killed; the planted thread takes it.
static KILL_TCP: AtomicBool = AtomicBool::new(false);
/// Kills sent to a tcp.
static TCP_KILLS: AtomicUsize = AtomicUsize::new(0);
/// Fetches waiting in a read when tcp was killed that ended at once with a reset.
static RESETS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The control channel of the tcp starting on this (host) thread, from its entry to its
    /// `main`.
    static CONTROL: RefCell<Option<libeurali::Handle>> = const { RefCell::new(None) };
}

/// `/bin/tcp`: the real one, with a copy of the control channel init mounted for it taken
/// before the runtime takes (and unmounts) it.
fn killable_tcp(regs: libeurali::EntryRegisters) {
    TCP_STARTS.fetch_add(1, SeqCst);
    let path = shim::rt::CONTROL_PATH;
    let control = match libeurali::open(path) {
        Ok((h, n)) if n == path.len() => Some(h),
        _ => None,
    };
    CONTROL.with(|c| *c.borrow_mut() = control);
    shim::rt::start(regs, tcp_with_killer)
}

/// tcp's `main`, with a thread that sends the kill when the test asks. It ends with the process
/// (its sleep is a checkpoint) or the system (the stub ends a thread at a system call: the
/// yield).
fn tcp_with_killer() {
    let control = CONTROL
        .with(|c| c.borrow_mut().take())
        .expect("init mounts a control channel for tcp");
    shim::thread::spawn(move || {
        loop {
            shim::thread::sleep(Duration::from_millis(5));
            libeurali::yield_now();
            if KILL_TCP
                .compare_exchange(true, false, SeqCst, SeqCst)
                .is_ok()
            {
                TCP_KILLS.fetch_add(1, SeqCst);
                let signal = libeurali::Message::Short(
                    libeurali::msgtype::SIGNAL,
                    libeurali::msgtype::SIGKILL,
                    0,
                );
                let _ = libeurali::call_send(&control, signal);
                return;
            }
        }
    });
    tcp::main()
}

/// Waits (at most [`TCP_BOUND`]) until `f` holds; false if it never did.
fn wait_until(f: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while !f() {
        if t0.elapsed() > TCP_BOUND {
            return false;
        }
        shim::thread::sleep(Duration::from_millis(5));
        libeurali::yield_now(); // a system call: where the stub ends a thread at shutdown
    }
    true
}

/// The Linux side's namespace, for [`established_silent`].
static NS: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Connections established with the Linux side's silent server (port 7070, which accepts and
/// never answers), as Linux counts them (a host command: the chaos program runs in-process).
fn established_silent() -> usize {
    let ns = NS.lock().unwrap().clone();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns, "ss", "-Htn", "state", "established"])
        .arg("( sport = :7070 )")
        .output()
        .expect("ss runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Kills the running tcp (once init has started one since the last kill) while a fetch from
/// the silent server waits in a read: that fetch must end at once with a clear error (not at
/// its timeout).
fn kill_tcp() {
    let kills = TCP_KILLS.load(SeqCst);
    assert!(
        wait_until(|| TCP_STARTS.load(SeqCst) > kills),
        "init did not start tcp again within {TCP_BOUND:?} ({kills} kills, {} starts)",
        TCP_STARTS.load(SeqCst)
    );
    let before = established_silent();
    let mut waiting = Command::new("/bin/gopher")
        .args(["--print", "--timeout", "40"])
        .arg(format!("gopher://{LINUX}:7070/1/"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(|| established_silent() > before),
        "a fetch from the silent server never connected"
    );
    KILL_TCP.store(true, SeqCst);
    assert!(
        wait_until(|| TCP_KILLS.load(SeqCst) > kills),
        "the kill did not reach tcp within {TCP_BOUND:?}"
    );
    let killed_at = Instant::now();
    let mut err = String::new();
    let _ = waiting.stderr.take().unwrap().read_to_string(&mut err);
    let status = waiting.wait().unwrap();
    assert!(
        status.code() == Some(1)
            && err == format!("gopher: {LINUX}:7070: connection reset by the server\n"),
        "a fetch waiting when tcp was killed: {:?}, {err:?}",
        status.code()
    );
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "a fetch waiting when tcp was killed took {:?} to end",
        killed_at.elapsed()
    );
    RESETS.fetch_add(1, SeqCst);
}

fn gopher(url: &str) -> String {
    format!("gopher --print --timeout {FETCH_TIMEOUT_S} gopher://{LINUX}/{url}")
}

fn script(id: usize) -> String {
    let blob = gopher("9/blob.bin");
    let text = gopher("0/hello.txt");
    let menu = gopher("1/");
    format!(
        "i=0; while [ $i -lt {ITERATIONS} ]; do \
           echo \"data {id} $i\" > /tmp/chaos/w-{id}-$i && echo \"ack {id} $i\"; \
           if {blob} -o /tmp/chaos/b-{id}-$i 2> /tmp/chaos/be-{id}-$i; \
             then echo \"blob-ok {id} $i\"; else echo \"blob-fail {id} $i\"; fi; \
           if [ $((i % 2)) -eq 0 ]; then \
             if {text} > /tmp/chaos/t-{id}-$i 2> /tmp/chaos/te-{id}-$i; \
               then echo \"text-ok {id} $i\"; else echo \"text-fail {id} $i\"; fi; \
           else \
             if {menu} > /tmp/chaos/t-{id}-$i 2> /tmp/chaos/te-{id}-$i; \
               then echo \"menu-ok {id} $i\"; else echo \"menu-fail {id} $i\"; fi; \
           fi; \
           seq 1 300 | sort -r | head -n 5 | wc -l; \
           i=$((i + 1)); done"
    )
}

/// A failed fetch's stderr must be one clear line saying what went wrong where.
fn check_failure(path: &str, failures: &mut Vec<String>) {
    let err = shim::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = err.trim_end();
    let clear = [
        "connection reset by the server",
        "timed out (the server is slow or gone)",
    ];
    assert!(
        !line.contains('\n')
            && line.starts_with(&format!("gopher: {LINUX}:70: "))
            && clear.iter().any(|c| line.ends_with(c)),
        "{path}: a failed fetch said {err:?}"
    );
    failures.push(line.to_string());
}

/// Runs `cmd` in a shell; its stdout, or a panic with what it said.
fn sh(cmd: &str) -> String {
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.code() == Some(0),
        "{cmd}: {:?}\nstdout: {o}\nstderr: {e}",
        out.status.code()
    );
    o
}

/// Prints what still runs if a round has not ended within [`BOUND`] (the test's own timeout
/// then reports what every thread is doing).
fn watch_round(round: usize, done: std::sync::Arc<AtomicBool>) {
    shim::thread::spawn(move || {
        let t0 = Instant::now();
        while !done.load(SeqCst) {
            if t0.elapsed() > BOUND + Duration::from_secs(5) {
                shim::println!("HANG: round {round}: workers still running after {BOUND:?}");
                let _ = Command::new("/bin/ps").status();
                return;
            }
            shim::thread::sleep(Duration::from_millis(100));
            libeurali::yield_now(); // ends here at shutdown (the sleep is no system call)
        }
    });
}

enum Kill {
    Worker(usize),
    Tcp,
}

fn chaos_net() {
    let seed = SEED.load(SeqCst);
    shim::println!("chaos-net: seed {seed}");
    let mut r = Rng(seed);
    let t_start = Instant::now();
    shim::fs::create_dir_all("/tmp/chaos").unwrap();
    let data = blob();
    // The network works before the chaos; the menu as printed then is what every menu fetch
    // must print.
    assert_eq!(sh(&gopher("0/hello.txt")), TEXT);
    let menu = sh(&gopher("1/"));
    assert!(menu.contains("1. [TXT] Hello text"), "{menu}");
    let (mut killed, mut finished, mut fetched) = (0, 0, 0);
    let mut acked: Vec<(String, String)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (round, tcp_kills) in TCP_KILLS_PER_ROUND.into_iter().enumerate() {
        let mut workers = workers::start_round(round, WORKERS, script);
        let started = Instant::now();
        let done = std::sync::Arc::new(AtomicBool::new(false));
        watch_round(round, done.clone());
        // Between one and all but one of the workers are killed, and tcp, at random moments.
        let mut plan: Vec<(u64, Kill)> = Vec::new();
        let mut pool: Vec<usize> = (0..WORKERS).collect();
        for _ in 0..1 + r.below(WORKERS as u64 - 1) {
            let w = pool.remove(r.below(pool.len() as u64) as usize);
            // Early in the round: with pipes that wait for no watcher, a worker can finish in
            // a second, and a kill that comes after its end kills nothing.
            plan.push((r.below(SPAN_MS / 4), Kill::Worker(w)));
        }
        for _ in 0..tcp_kills {
            plan.push((r.below(SPAN_MS), Kill::Tcp));
        }
        plan.sort_by_key(|p| p.0);
        let mut victims = Vec::new();
        for (at, kill) in plan {
            let at = Duration::from_millis(at);
            if let Some(wait) = at.checked_sub(started.elapsed()) {
                shim::thread::sleep(wait);
            }
            match kill {
                Kill::Worker(w) => {
                    workers[w].1.kill().unwrap();
                    victims.push(w);
                }
                Kill::Tcp => kill_tcp(),
            }
        }
        for (w, (id, mut child)) in workers.into_iter().enumerate() {
            let mut out = String::new();
            let mut stdout = child.stdout.take().unwrap();
            let _ = stdout.read_to_string(&mut out);
            let status = child.wait().unwrap();
            assert!(
                started.elapsed() < BOUND,
                "worker {id} took {:?}",
                started.elapsed()
            );
            let mut pipes = 0;
            let mut fetches = 0;
            for line in out.lines() {
                if line == "5" {
                    pipes += 1;
                    continue;
                }
                let mut words = line.split(' ');
                let (what, wid, i) = match (words.next(), words.next(), words.next()) {
                    (Some(a), Some(b), Some(c)) => (a, b, c),
                    _ => panic!("worker {id} printed {line:?}:\n{out}"),
                };
                assert_eq!(wid, id.to_string(), "{out}");
                let at = |p: &str| format!("/tmp/chaos/{p}-{id}-{i}");
                let read =
                    |p: &str| shim::fs::read(at(p)).unwrap_or_else(|e| panic!("{}: {e}", at(p)));
                match what {
                    "ack" => {
                        let path = at("w");
                        let got = shim::fs::read_to_string(&path)
                            .unwrap_or_else(|e| panic!("acknowledged {path} lost: {e}"));
                        let want = format!("data {id} {i}\n");
                        assert_eq!(got, want, "{path}");
                        acked.push((path, want));
                    }
                    "blob-ok" => {
                        let got = read("b");
                        // Where it differs, with gopher's own words and when (a short one is an
                        // end of file that came early: from the peer, or made up on our side).
                        assert!(
                            got == data,
                            "{}: a download reported done has {} bytes, not the fixture's {} \
                             (first difference at {:?}); gopher said {:?}; {:?} into round \
                             {round}, after {} tcp kills",
                            at("b"),
                            got.len(),
                            data.len(),
                            got.iter().zip(&data).position(|(a, b)| a != b),
                            String::from_utf8_lossy(&read("be")),
                            started.elapsed(),
                            TCP_KILLS.load(SeqCst)
                        );
                        let err = String::from_utf8_lossy(&read("be")).into_owned();
                        assert_eq!(err, format!("gopher: saved 65536 bytes to {}\n", at("b")));
                    }
                    "text-ok" => assert_eq!(String::from_utf8_lossy(&read("t")), TEXT),
                    "menu-ok" => assert_eq!(String::from_utf8_lossy(&read("t")), menu),
                    "blob-fail" => check_failure(&at("be"), &mut failures),
                    "text-fail" | "menu-fail" => check_failure(&at("te"), &mut failures),
                    _ => panic!("worker {id} printed {line:?}:\n{out}"),
                }
                if what != "ack" {
                    fetches += 1;
                    if what.ends_with("-ok") {
                        fetched += 1;
                    }
                }
            }
            match status.code() {
                Some(0) => {
                    // A survivor did all its work, and its pipe chains gave the right answer.
                    assert_eq!(pipes, ITERATIONS, "worker {id}:\n{out}");
                    assert_eq!(fetches, 2 * ITERATIONS, "worker {id}:\n{out}");
                    assert_eq!(out.lines().last(), Some("5"), "worker {id}:\n{out}");
                    finished += 1;
                }
                Some(137) if victims.contains(&w) => killed += 1,
                other => panic!(
                    "worker {id} ended with {other:?} (killed: {}):\n{out}",
                    victims.contains(&w)
                ),
            }
        }
        done.store(true, SeqCst);
        shim::println!("chaos-net: round {round} took {:?}", started.elapsed());
    }
    // tcp is there again after the last kill: a download works, and so do more fetches than tcp
    // holds sockets at once (no session of a killed client stays).
    let kills = TCP_KILLS.load(SeqCst);
    assert!(
        wait_until(|| TCP_STARTS.load(SeqCst) > kills),
        "init did not start tcp again after the last kill"
    );
    sh(&format!("{} -o /tmp/chaos/final", gopher("9/blob.bin")));
    assert!(shim::fs::read("/tmp/chaos/final").unwrap() == data);
    let many = sh(&format!(
        "i=0; while [ $i -lt 30 ]; do {} || exit 1; i=$((i + 1)); done",
        gopher("0/hello.txt")
    ));
    assert_eq!(many, TEXT.repeat(30));
    // And every acknowledged write is still there.
    for (path, want) in &acked {
        assert_eq!(&shim::fs::read_to_string(path).unwrap(), want, "{path}");
    }
    assert!(
        killed > 0 && finished > 0,
        "killed {killed}, finished {finished}"
    );
    let failed = failures.len();
    failures.sort();
    failures.dedup();
    shim::println!(
        "chaos-net: {finished} finished, {killed} killed, {fetched} fetches right, {failed} failed \
         clearly ({failures:?}), tcp killed {kills} times (each time a waiting fetch reset: {}) \
         and started {} times, {} acknowledged writes intact, in {:?}",
        RESETS.load(SeqCst),
        TCP_STARTS.load(SeqCst),
        acked.len(),
        t_start.elapsed()
    );
}

#[test]
fn killing_workers_and_tcp_mid_fetch_loses_nothing_and_hangs_nothing() {
    let Some(link) = link() else { return };
    let seed = std::env::var("EURALI_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    SEED.store(seed, SeqCst);
    *NS.lock().unwrap() = link.ns.clone();
    let mut progs = eurali::programs();
    for p in progs.iter_mut().filter(|(n, _)| *n == "tcp") {
        p.1 = killable_tcp;
    }
    progs.push(shim::program_entry!("chaos-net", chaos_net));
    let r = with_link_env(&link, Some(&static_config()), || {
        eurali_host::boot::run_system_captured(
            &progs,
            &["-c".into(), "chaos-net && echo done".into()],
            b"",
            Duration::from_secs(200),
        )
    });
    let report = format!(
        "seed {seed} (EURALI_CHAOS_SEED replays it)\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    assert_eq!(r.code, 0, "{report}");
    assert!(r.stdout.ends_with("done\n"), "{report}");
    let kills: usize = TCP_KILLS_PER_ROUND.iter().sum();
    assert_eq!(TCP_KILLS.load(SeqCst), kills, "{report}");
    assert_eq!(TCP_STARTS.load(SeqCst), kills + 1, "{report}");
    assert_eq!(
        r.stderr
            .matches("init: network: tcp ended (exit status: 137); starting it again")
            .count(),
        kills,
        "{report}"
    );
    assert!(!r.stderr.contains("panicked"), "{report}");
    print!("{}", r.stdout);
}
