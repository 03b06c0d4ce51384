//! Chaos on the whole system: rounds of shell workers doing file I/O and a pipe chain, some of
//! them killed at random moments mid-call (std-shim's cooperative kill, which reaches the
//! worker's own children too), and in most rounds the scratch file server they also use killed
//! and started again (its clients' failures there are tolerated: they must not hang). Every worker ends within its bound (killed: status 137), the
//! survivors finish their work with correct output, and every write a worker acknowledged
//! (`ack` printed after the redirect closed) is there with the right contents. The file server
//! (the system's ramdisk) keeps serving throughout, including sessions clients abandoned by
//! dying.

use std::time::Duration;

use eurali_host::boot::run_system_captured;
use eurali_std as shim;
use shim::io::Read as _;
use shim::process::Command;
use shim::time::Instant;

#[path = "common/rng.rs"]
mod rng;
#[path = "common/workers.rs"]
mod workers;

use rng::Rng;

const ROUNDS: usize = 4;
const WORKERS: usize = 4;
/// No worker, killed or not, may take longer than this to be reaped.
const BOUND: Duration = Duration::from_secs(20);

fn script(id: usize) -> String {
    format!(
        "i=0; while [ $i -lt 25 ]; do \
           echo \"data {id} $i\" > /tmp/chaos/w-{id}-$i && echo \"ack {id} $i\"; \
           cat /tmp/chaos/w-{id}-$i > /dev/null; \
           echo scratch > /scratch/s-{id}-$i 2>/dev/null; cat /scratch/s-{id}-$i > /dev/null 2>&1; \
           i=$((i + 1)); done; \
         seq 1 300 | sort -r | head -n 5 | wc -l"
    )
}

/// The scratch file server the workers also use, started (again) on the same rendezvous as init
/// restarts what it owns, so that `/scratch` stays mounted.
fn start_scratch(srv: &libeurali::Handle) -> shim::process::Child {
    Command::new("/bin/ramdisk")
        .arg("--serve")
        .stdin(srv.try_clone().unwrap())
        .spawn()
        .unwrap()
}

fn chaos() {
    let mut r = Rng(0x000c_4a05);
    shim::fs::create_dir_all("/tmp/chaos").unwrap();
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let mut scratch = start_scratch(&srv);
    libeurali::mount("/scratch", cli).unwrap();
    let (mut acked, mut killed, mut finished, mut server_kills) = (0, 0, 0, 0);
    for round in 0..ROUNDS {
        let mut workers = workers::start_round(round, WORKERS, script);
        // Kill about half of them at random moments.
        let started = Instant::now();
        let mut victims: Vec<usize> = (0..WORKERS).filter(|_| r.below(2) == 0).collect();
        // And the scratch server in most rounds, at a random moment among them: it must end
        // (137), and one started again serves the workers that go on.
        let mut kill_server_at = (r.below(4) != 0).then(|| r.below(victims.len() as u64 + 1));
        loop {
            if kill_server_at == Some(0) {
                kill_server_at = None;
                scratch.kill().unwrap();
                let code = scratch.wait().unwrap().code();
                assert_eq!(code, Some(137), "the scratch server ended with {code:?}");
                scratch = start_scratch(&srv);
                server_kills += 1;
            }
            kill_server_at = kill_server_at.map(|n| n - 1);
            if victims.is_empty() && kill_server_at.is_none() {
                break;
            }
            shim::thread::sleep(Duration::from_millis(r.below(60)));
            if !victims.is_empty() {
                let i = victims.remove(r.below(victims.len() as u64) as usize);
                workers[i].1.kill().unwrap();
            }
        }
        for (id, mut child) in workers {
            let mut out = String::new();
            let mut stdout = child.stdout.take().unwrap();
            let _ = stdout.read_to_string(&mut out);
            let status = child.wait().unwrap();
            assert!(
                started.elapsed() < BOUND,
                "worker {id} took {:?}",
                started.elapsed()
            );
            for line in out.lines() {
                if let Some(rest) = line.strip_prefix("ack ") {
                    let (wid, i) = rest.split_once(' ').unwrap();
                    assert_eq!(wid, id.to_string());
                    let path = format!("/tmp/chaos/w-{id}-{i}");
                    let got = shim::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("acknowledged {path} lost: {e}"));
                    assert_eq!(got, format!("data {id} {i}\n"), "{path}");
                    acked += 1;
                }
            }
            match status.code() {
                Some(0) => {
                    // A survivor did all its work, and its pipe chain gave the right answer.
                    assert_eq!(out.lines().filter(|l| l.starts_with("ack ")).count(), 25);
                    assert_eq!(out.lines().last(), Some("5"), "worker {id}: {out}");
                    finished += 1;
                }
                Some(137) => killed += 1,
                other => panic!("worker {id} ended with {other:?}: {out}"),
            }
        }
    }
    // The server still serves, and no session leak makes it refuse; so does the scratch
    // server last started.
    for i in 0..80 {
        shim::fs::write(format!("/tmp/chaos/after-{i}"), "x").unwrap();
    }
    shim::fs::write("/scratch/after", "x").unwrap();
    assert_eq!(shim::fs::read_to_string("/scratch/after").unwrap(), "x");
    assert!(
        killed > 0 && finished > 0 && server_kills > 0,
        "killed {killed}, finished {finished}, server kills {server_kills}"
    );
    scratch.kill().unwrap();
    let _ = scratch.wait();
    shim::println!(
        "chaos: {finished} finished, {killed} killed, {acked} acknowledged writes intact, \
         the scratch server killed {server_kills} times"
    );
}

#[test]
fn killing_workers_mid_call_loses_nothing_acknowledged_and_hangs_nothing() {
    let mut programs = eurali::programs();
    programs.push(shim::program_entry!("chaos", chaos));
    let r = run_system_captured(
        &programs,
        &["-c".into(), "chaos && echo done".into()],
        b"",
        Duration::from_secs(240),
    );
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("chaos: "), "{}", r.stdout);
    assert!(r.stdout.ends_with("done\n"), "{}\n{}", r.stdout, r.stderr);
    print!("{}", r.stdout);
}

/// A file server killed while clients hold sessions on it and write through them: the kill
/// reaches the server's threads waiting in `receive` (std-shim runs the file-server framework's
/// kill hook), so the server stops serving at once and its process really ends — a zombie that
/// went on serving was what the cooperative kill left before. Its clients' writes fail with a
/// clear error instead of hanging, and the parent gets status 137.
fn kill_server() {
    use shim::io::{Seek as _, Write as _};
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let spare = cli.try_clone().unwrap();
    let mut server = Command::new("/bin/ramdisk")
        .arg("--serve")
        .stdin(srv)
        .spawn()
        .unwrap();
    libeurali::mount("/scratch", cli).unwrap();
    shim::fs::write("/scratch/before", "x").unwrap();
    // Clients: threads writing through open files, as fast as they can.
    let writers: Vec<_> = (0..3)
        .map(|id| {
            let mut f = shim::fs::File::create(format!("/scratch/w{id}")).unwrap();
            shim::thread::spawn(move || {
                let mut n = 0u64;
                loop {
                    // Over and over at the start: the ramdisk never fills.
                    let r = f
                        .seek(shim::io::SeekFrom::Start(0))
                        .and_then(|_| f.write_all(b"0123456789abcdef"));
                    match r {
                        Ok(()) => n += 1,
                        Err(e) => return (n, e.kind()),
                    }
                }
            })
        })
        .collect();
    shim::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    server.kill().unwrap();
    let status = server.wait().unwrap();
    for w in writers {
        let (n, kind) = w.join().unwrap();
        assert!(n > 0, "a writer wrote nothing before the kill");
        shim::println!("writer: {kind:?} after the kill");
    }
    assert!(t0.elapsed() < BOUND, "the writers took {:?}", t0.elapsed());
    // The server's process is gone: with our mount removed, the spare handle is the last
    // reference to the server's rendezvous, which a live (zombie) server would still hold.
    libeurali::umount("/scratch").unwrap();
    let t1 = Instant::now();
    let gone = loop {
        match libeurali::send(&spare, libeurali::Message::Short(0x7777, 0, 0)) {
            Err(e) if e.error == libeurali::Error::Closed => break true,
            _ if t1.elapsed() > Duration::from_secs(10) => break false,
            // Still there (or busy): look again shortly.
            _ => shim::thread::sleep(Duration::from_millis(10)),
        }
    };
    shim::println!("server: {:?}, process ended: {gone}", status.code());
}

#[test]
fn a_killed_file_server_ends_and_its_clients_get_errors() {
    let mut programs = eurali::programs();
    programs.push(shim::program_entry!("kill-server", kill_server));
    let r = run_system_captured(
        &programs,
        &["-c".into(), "kill-server && echo done".into()],
        b"",
        Duration::from_secs(120),
    );
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("server: Some(137), process ended: true"),
        "stdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert_eq!(r.stdout.matches("writer: ").count(), 3, "{}", r.stdout);
    assert!(r.stdout.ends_with("done\n"), "{}\n{}", r.stdout, r.stderr);
    print!("{}", r.stdout);
}

/// `libeurali::kill::wake`, which a killed server's hook sends to each of its threads waiting in
/// `receive`: to a thread on its way there the wake-up arrives; to one that has just left for
/// good (the race a kill hook cannot avoid: it copies the handle under a lock and sends after)
/// the wake-up is let go of, so that it neither waits for ever nor leaves the session busy for
/// its client, whose last call then finds the server gone at once.
fn wake_probe() {
    use libeurali::{Message, msgtype};
    // A thread on its way to `receive`.
    let (srv, _cli) = libeurali::new_rendezvous().unwrap();
    let copy = srv.try_clone().unwrap();
    let t = shim::thread::spawn(move || {
        shim::thread::sleep(Duration::from_millis(50));
        libeurali::receive(&srv).map(|m| m.values().0)
    });
    libeurali::kill::wake(copy);
    let got = t.join().unwrap();
    shim::println!("on its way: {}", got == Ok(msgtype::KILL_WAKE));
    // A thread that left: only the copy and the client's end are there.
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    let copy = srv.try_clone().unwrap();
    drop(srv);
    let t0 = Instant::now();
    libeurali::kill::wake(copy);
    let woke_in = t0.elapsed();
    let t1 = Instant::now();
    let close = libeurali::rcall(&cli, Message::Short(msgtype::CLOSE, 0, 0)).map(|_| ());
    shim::println!(
        "left: wake ended within 2 s: {}, close: {:?} within 1 s: {}",
        woke_in < Duration::from_secs(2),
        close.map_err(|e| e.error),
        t1.elapsed() < Duration::from_secs(1)
    );
}

#[test]
fn a_kill_wake_up_reaches_a_thread_on_its_way_and_lets_go_of_one_that_left() {
    let mut programs = eurali::programs();
    programs.push(shim::program_entry!("wake-probe", wake_probe));
    let r = run_system_captured(
        &programs,
        &["-c".into(), "wake-probe".into()],
        b"",
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout,
        "on its way: true\nleft: wake ended within 2 s: true, close: Err(Closed) within 1 s: true\n",
        "stderr: {}",
        r.stderr
    );
}
