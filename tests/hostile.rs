//! A hostile program on the whole system (init, its /proc, login's /dev/console, /dev/null and
//! /dev/passwd, the ramdisk and its read-only views), next to a well-behaved one: `hostile`
//! forges handle numbers, sends every message type with random payloads to every server it can
//! reach (mount handles and sessions), hoards handles, chunks and server sessions up to the
//! limits, and opens paths built to escape its namespace. `steady` does file I/O the whole time;
//! a pipe chain runs after. Every server must go on serving, the system must stay up, and no
//! escape may succeed.

use std::time::Duration;

use eurali_host::boot::run_system_captured;
use eurali_std as shim;
use libeurali::timeout::{self, CallError, Kind};
use libeurali::{Handle, MemoryChunk, Message, Word, msgtype, new_rendezvous, proto::stream};
use shim::io::Write as _;
use vfs::proto::{self as fs, Op, OpenRequest, flags};

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn value(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(16),
            1 => self.below(70_000),
            2 => u64::MAX - self.below(4),
            _ => self.next(),
        }
    }
}

const TAGS: &[u64] = &[
    msgtype::READ,
    msgtype::WRITE,
    msgtype::CHAR,
    msgtype::JSON,
    msgtype::OPEN,
    msgtype::CLOSE,
    msgtype::OK,
    msgtype::ERROR,
    msgtype::EXIT_STATUS,
    msgtype::SIGNAL,
    msgtype::CONTROL_END,
    stream::TERM_GET,
    stream::TERM_INFO,
    stream::TERM_SET,
    stream::TERM_NOTIFY,
    stream::TERM_INTERRUPT,
    fs::FS_OPEN,
    fs::FS_REQ,
    fs::FS_READ,
    fs::FS_WRITE,
    fs::FS_DATA,
    fs::FS_OK,
    fs::FS_ERR,
    fs::FS_REPLY,
    fs::FS_CLOSE,
    fs::FS_STAT,
    fs::FS_META,
    fs::FS_READ_INTO,
    fs::FS_WRITTEN,
];

/// A chunk of random bytes whose size covers any length the message claims (the protocols
/// trust senders on that one point, which no receiver can check: the kernel does not convey
/// chunk sizes). Length headers inside are kept within the chunk for the same reason.
fn chunk(r: &mut Rng, claim: u64) -> Option<MemoryChunk> {
    let size = (claim.min(64 * 1024) as usize).max(4096) + 8;
    let mut bytes: Vec<u8> = (0..size).map(|_| r.next() as u8).collect();
    let header = r.below(size as u64 - 8);
    bytes[..8].copy_from_slice(&header.to_le_bytes());
    MemoryChunk::from_bytes(&bytes).ok()
}

fn word(r: &mut Rng, claim: u64) -> Word {
    match r.below(4) {
        0 | 1 => Word::Value(r.value()),
        2 => chunk(r, claim).map_or(Word::Value(0), Word::Chunk),
        _ => match new_rendezvous() {
            Ok((a, _b)) => Word::Handle(a),
            Err(_) => Word::Value(1),
        },
    }
}

fn message(r: &mut Rng) -> Message {
    let tag = if r.below(8) == 0 {
        r.next()
    } else {
        TAGS[r.below(TAGS.len() as u64) as usize]
    };
    if r.below(3) == 0 {
        Message::Short(tag, r.value(), r.value())
    } else {
        let a = word(r, 0);
        let claim = a.value().unwrap_or(4096);
        let b = word(r, claim);
        // An honest claim for a chunk in the second word (see `chunk`).
        let a = match (&a, &b) {
            (Word::Value(v), Word::Chunk(_)) if *v > 64 * 1024 => Word::Value(*v % 4096),
            _ => a,
        };
        Message::Long(tag, a, b)
    }
}

/// A bounded call; a handle whose number the watchdog closed is given up.
fn poke(h: Handle, m: Message, kind: Kind) -> Option<Handle> {
    match timeout::call(&h, m, kind, Some(500_000)) {
        Err(CallError::TimedOut) => {
            let _ = h.into_raw();
            None
        }
        _ => Some(h),
    }
}

/// Every server this user can reach, by a path in its namespace.
const SERVERS: &[&str] = &[
    "/",
    "/tmp/hostile",
    "/home/user/hostile",
    "/bin/sh",
    "/etc/users",
    "/proc/new",
    "/proc/1",
    "/dev/console",
    "/dev/null",
    "/dev/passwd",
];

fn garbage_to_servers(r: &mut Rng) -> (usize, usize) {
    let (mut sent, mut sessions) = (0, 0);
    for path in SERVERS {
        // The mount handle: anything at all, as plain sends (the mount thread only receives).
        if let Ok((m, _)) = libeurali::open(path) {
            let mut m = Some(m);
            for _ in 0..20 {
                let Some(h) = m.take() else { break };
                m = poke(h, message(r), Kind::Send);
                sent += 1;
            }
            // Opens with random flags and operations, then random requests on the session.
            for _ in 0..6 {
                let Some(mh) = m.as_ref() else { break };
                let Ok((a, b)) = new_rendezvous() else { break };
                let op = match r.below(7) {
                    0 => Op::Mkdir,
                    1 => Op::Remove,
                    2 => Op::Rmdir,
                    3 => Op::Rename("/../../x".into()),
                    4 => Op::Serve,
                    _ => Op::Open,
                };
                let req = OpenRequest {
                    path: ["", "/x", "/..", "/a/../../b"][r.below(4) as usize].into(),
                    flags: r.below(128) as u32,
                    op,
                    token: 0,
                };
                let Ok((c, _)) = fs::encode_chunk(&req, fs::MAX_NAME_MSG) else {
                    break;
                };
                if vfs::client::send_retrying(
                    mh,
                    Message::Long(fs::FS_OPEN, Word::Handle(a), Word::Chunk(c)),
                )
                .is_err()
                {
                    break;
                }
                sessions += 1;
                let mut s = Some(b);
                for _ in 0..8 {
                    let Some(h) = s.take() else { break };
                    s = poke(h, message(r), Kind::SendReceive);
                    sent += 1;
                }
                if let Some(h) = s {
                    let _ = libeurali::send(&h, Message::Short(fs::FS_CLOSE, 0, 0));
                }
            }
        }
    }
    // Our own stdout (a stream server): garbage, but only messages that cannot block it.
    if let Some(out) = shim::rt::stdout_handle() {
        let _ = poke(
            out,
            Message::Short(stream::TERM_GET, r.value(), r.value()),
            Kind::SendReceive,
        )
        .map(Handle::into_raw);
    }
    // A pipe of our own: garbage to its server, then a read that must still end.
    if let Ok((rd, wr)) = shim::pipe::pipe()
        && let (Ok(rh), Ok(wh)) = (rd.into_handle(), wr.into_handle())
    {
        let mut w = Some(wh);
        for _ in 0..10 {
            let Some(h) = w.take() else { break };
            w = poke(h, message(r), Kind::SendReceive);
            sent += 1;
        }
        drop(w);
        let mut buf = [0u8; 16];
        let _ = stream::read(&rh, &mut buf);
    }
    (sent, sessions)
}

fn forged_handles(r: &mut Rng) -> usize {
    let mut refused = 0;
    for raw in [77u32, 500, 4095, 65_535, 1 << 20, u32::MAX - 1] {
        // SAFETY: these numbers are in no table of the test's process.
        let h = core::mem::ManuallyDrop::new(unsafe { Handle::from_raw(raw) });
        if libeurali::send(&h, message(r)).is_err() {
            refused += 1;
        }
        if libeurali::send_receive(&h, Message::Short(1, 0, 0)).is_err() {
            refused += 1;
        }
        if libeurali::receive(&h).is_err() {
            refused += 1;
        }
        if h.try_clone().is_err() {
            refused += 1;
        }
        // A forged handle inside a message to a real server.
        if let Ok(s) = vfs::client::open("/dev/null", flags::READ | flags::WRITE) {
            drop(s);
        }
        if let Ok((m, _)) = libeurali::open("/dev/null") {
            // SAFETY: a number in no table of ours, sent as a handle to see it refused.
            let forged = unsafe { Handle::from_raw(raw) };
            if let Err(e) = libeurali::send(
                &m,
                Message::Long(fs::FS_OPEN, Word::Handle(forged), Word::Value(0)),
            ) {
                refused += 1;
                // Never close a number we do not own.
                if let Some(Message::Long(_, Word::Handle(h), _)) = e.message {
                    let _ = h.into_raw();
                }
            }
        }
    }
    refused
}

fn hoard() -> (usize, usize, usize) {
    let mut handles = Vec::new();
    // The kernel has no handle limit but its 1 MiB heap (ABI §2.2): a few thousand.
    while handles.len() < 2048 {
        match new_rendezvous() {
            Ok(p) => handles.push(p),
            Err(_) => break,
        }
    }
    let nh = handles.len() * 2;
    handles.clear();
    shim::println!("hostile: {nh} handles");
    let mut chunks = Vec::new();
    while chunks.len() < 1000 {
        match MemoryChunk::alloc(4096) {
            Ok(c) => chunks.push(c),
            Err(_) => break,
        }
    }
    let nc = chunks.len();
    // (Nothing can be printed while every chunk slot is taken: a write needs a chunk.)
    drop(chunks);
    shim::println!("hostile: {nc} chunks");
    // Sessions on the ramdisk (all its session threads, if we can): held for a while.
    let mut sessions = Vec::new();
    while sessions.len() < 200 {
        match vfs::client::open("/tmp/hoard", flags::READ | flags::WRITE | flags::CREATE) {
            Ok((s, _)) => sessions.push(s),
            Err(e) => {
                shim::println!("hostile: session hoard ends: {e}");
                break;
            }
        }
    }
    let ns = sessions.len();
    shim::thread::sleep(Duration::from_millis(300));
    drop(sessions);
    (nh, nc, ns)
}

const ESCAPES: &[&str] = &[
    "/../etc/users",
    "/tmp/../etc/users",
    "/tmp/../../../etc/users",
    "/home/user/../root/secret",
    "/home/user/../../home/root/pwned",
    "//etc//users",
    "/bin/../etc/ns/user",
    "/proc/../etc/users",
    "/dev/../etc/users",
    "/tmp/./../bin/sh",
    "/bin/pwned",
    "/etc/pwned",
    "/home/root/pwned",
    "/proc/1/../../etc/users",
];

fn escapes() -> usize {
    let mut accepted = 0;
    for p in ESCAPES {
        let opts = shim::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .clone();
        if let Ok(mut f) = opts.open(p)
            && f.write_all(b"pwned").is_ok()
        {
            shim::println!("hostile: wrote {p}");
            accepted += 1;
        }
        if shim::fs::rename("/tmp/hostile-x", p).is_ok() {
            accepted += 1;
        }
        if shim::fs::create_dir(format!("{p}.d")).is_ok() && !p.starts_with("/tmp") {
            shim::println!("hostile: made {p}.d");
            accepted += 1;
        }
    }
    accepted
}

fn hostile() {
    let seed = shim::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut r = Rng(seed | 1);
    let _ = shim::fs::write("/tmp/hostile-x", "x");
    shim::println!("hostile: forging");
    let refused = forged_handles(&mut r);
    shim::println!("hostile: garbage");
    let (sent, sessions) = garbage_to_servers(&mut r);
    shim::println!("hostile: hoarding");
    let (nh, nc, ns) = hoard();
    shim::println!("hostile: garbage again");
    let (sent2, _) = garbage_to_servers(&mut r);
    shim::println!("hostile: escapes");
    let accepted = escapes();
    shim::println!(
        "hostile: {refused} forged refused, {} messages over {sessions} sessions, hoarded {nh} \
         handles {nc} chunks {ns} sessions, {accepted} escapes accepted",
        sent + sent2
    );
}

/// File I/O the whole time the hostile program runs; retries opens the server refuses as busy
/// (a clear error) and reports anything else.
fn steady() {
    let mut ok = 0;
    let mut busy = 0;
    for i in 0..60 {
        let path = format!("/home/user/steady-{}", i % 5);
        let body = format!("line {i}\n").repeat(i + 1);
        let mut tries = 0;
        loop {
            match shim::fs::write(&path, &body).and_then(|()| shim::fs::read_to_string(&path)) {
                Ok(back) => {
                    assert_eq!(back, body, "steady: {path} came back wrong");
                    ok += 1;
                    break;
                }
                Err(e) if e.kind() == shim::io::ErrorKind::WouldBlock && tries < 200 => {
                    busy += 1;
                    tries += 1;
                    shim::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("steady: {path}: {e}"),
            }
        }
        let _ = shim::fs::read_dir("/proc").map(|d| d.count());
        shim::thread::sleep(Duration::from_millis(5));
    }
    shim::println!("steady: {ok} round trips ({busy} busy retries)");
}

#[test]
fn a_hostile_program_leaves_every_server_serving() {
    let mut programs = eurali::programs();
    programs.push(shim::program_entry!("hostile", hostile));
    programs.push(shim::program_entry!("steady", steady));
    let script = String::from(
        "hostile > /tmp/hostile.log 2>&1 & steady; wait; cat /tmp/hostile.log; \
                  printf 'b\\na\\nc\\n' | sort | head -n 2; ls /home; echo done",
    );
    let r = run_system_captured(
        &programs,
        &["-c".into(), script, "--user".into(), "user".into()],
        b"",
        Duration::from_secs(120),
    );
    let out = &r.stdout;
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {}", r.stderr);
    assert!(
        out.contains("steady: 60 round trips"),
        "{out}\n{}",
        r.stderr
    );
    assert!(out.contains(", 0 escapes accepted"), "{out}");
    assert!(
        !out.contains("hostile: wrote") && !out.contains("hostile: made"),
        "{out}"
    );
    // The pipe chain after it, and a namespace still holding only this user's home.
    assert!(out.ends_with("a\nb\nuser\ndone\n"), "{out}");
}

/// Tries to make every server it can reach hold memory without bound, checks that each refuses
/// with a clear error once past its documented limit, and gives everything back. Prints one
/// line per server, which the test reads; a bound not held is a panic (status 101).
fn hog() {
    use shim::io::{ErrorKind, Read as _};
    // The session's /tmp (a ramdisk in login's heap): one huge file until refused.
    let mut f = shim::fs::File::create("/tmp/huge").unwrap();
    let piece = vec![0x5au8; 256 * 1024];
    let mut held = 0usize;
    let e = loop {
        match f.write(&piece) {
            Ok(n) => held += n,
            Err(e) => break e,
        }
        assert!(held <= vfs::ns::DEFAULT_RAMDISK, "/tmp took {held} bytes");
    };
    assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
    shim::println!("hog: /tmp file refused after {held} bytes: {e}");
    drop(f);
    // While it is full: other files still read; a write elsewhere gets the same clear error.
    assert_eq!(
        shim::fs::write("/tmp/more", vec![1u8; 64 * 1024])
            .unwrap_err()
            .kind(),
        ErrorKind::StorageFull
    );
    shim::fs::remove_file("/tmp/huge").unwrap();
    // Files until refused (a name and a map slot each).
    shim::fs::create_dir("/tmp/many").unwrap();
    let mut files = 0;
    let e = loop {
        match shim::fs::File::create(format!("/tmp/many/{files:0>64}")) {
            Ok(_) => files += 1,
            Err(e) => break e,
        }
        assert!(files <= vfs::ramdisk::MAX_NODES, "/tmp took {files} files");
    };
    assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
    let listed = shim::fs::read_dir("/tmp/many").unwrap().count();
    assert_eq!(listed, files);
    shim::println!(
        "hog: /tmp refused file {} ({listed} listed): {e}",
        files + 1
    );
    shim::fs::remove_dir_all("/tmp/many").unwrap();
    // One directory of the root ramdisk (shared with every user): entries until refused.
    shim::fs::create_dir("/home/user/hog").unwrap();
    let mut entries = 0;
    let e = loop {
        match shim::fs::write(format!("/home/user/hog/{entries:0>200}"), "x") {
            Ok(()) => entries += 1,
            Err(e) => break e,
        }
        assert!(
            entries <= vfs::ramdisk::MAX_DIR_ENTRIES,
            "{entries} entries"
        );
        assert!(
            entries * 200 <= vfs::ramdisk::MAX_DIR_NAMES,
            "{entries} names"
        );
    };
    assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
    assert_eq!(
        shim::fs::read_dir("/home/user/hog").unwrap().count(),
        entries
    );
    shim::println!("hog: a directory refused entry {}: {e}", entries + 1);
    shim::fs::remove_dir_all("/home/user/hog").unwrap();
    // Names and paths past the protocol's limits.
    let e = shim::fs::write(format!("/tmp/{}", "n".repeat(300)), "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidFilename, "{e}");
    shim::println!("hog: a 300-byte name: {e}");
    let long = format!("/tmp/{}", ["p"; 40].map(|_| "q".repeat(200)).join("/"));
    let e = shim::fs::write(&long, "x").unwrap_err();
    // Past what an open carries (4 KiB): ENAMETOOLONG, as a path past PATH_MAX on Linux.
    assert_eq!(e.kind(), ErrorKind::InvalidFilename, "{e}");
    shim::println!("hog: an 8 KiB path: {e}");
    // Directories inside directories until refused (each one a node).
    let deep = format!("/tmp/d/{}", ["d"; 3000].join("/"));
    let e = shim::fs::create_dir_all(&deep).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
    shim::println!("hog: 3000 nested directories: {e}");
    shim::fs::remove_dir_all("/tmp/d").unwrap();
    // /proc entries (init's heap) until refused; then given back. In user's view every entry
    // is user's, whatever name it gives, so the refusal is the per-user limit, far below the
    // table's size.
    let mut pids = Vec::new();
    let e = loop {
        let reg = vfs::client::open("/proc/new", flags::READ | flags::WRITE | flags::CREATE)
            .and_then(|(s, _)| {
                let line = format!("hog{}\t{}", pids.len(), "c".repeat(4000));
                s.write_at(0, line.as_bytes())?;
                let mut b = [0u8; 16];
                let n = s.read_at(0, &mut b)?;
                Ok(core::str::from_utf8(&b[..n])
                    .unwrap()
                    .trim()
                    .parse::<u32>()
                    .unwrap())
            });
        match reg {
            Ok(pid) => pids.push(pid),
            Err(e) => break e,
        }
        assert!(
            pids.len() <= vfs::procfs::MAX_PROCS,
            "{} entries",
            pids.len()
        );
    };
    assert_eq!(e, vfs::proto::FsError::Again);
    assert!(
        pids.len() < vfs::procfs::MAX_USER_PROCS,
        "{} entries",
        pids.len()
    );
    let line = shim::fs::read_to_string(format!("/proc/{}", pids[0])).unwrap();
    assert!(line.len() < vfs::procfs::MAX_LINE + 40, "{}", line.len());
    shim::println!("hog: /proc refused entry {}: {e}", pids.len() + 1);
    for pid in &pids {
        vfs::client::remove_file(&format!("/proc/{pid}")).unwrap();
    }
    drop(vfs::client::open("/proc/new", flags::READ | flags::WRITE | flags::CREATE).unwrap());
    // A pipe whose reader never reads: the writer is held up once the buffer is full.
    let (mut rd, mut wr) = shim::pipe::pipe().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let writer = shim::thread::spawn(move || {
        let piece = vec![7u8; 16 * 1024];
        loop {
            match wr.write(&piece) {
                Ok(n) => count.fetch_add(n, std::sync::atomic::Ordering::SeqCst),
                Err(e) => return e.kind(),
            };
        }
    });
    shim::thread::sleep(Duration::from_millis(300));
    let held = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(held <= shim::pipe::CAPACITY, "the pipe took {held} bytes");
    let mut first = [0u8; 4];
    rd.read_exact(&mut first).unwrap();
    drop(rd);
    assert_eq!(writer.join().unwrap(), ErrorKind::BrokenPipe);
    shim::println!("hog: a pipe nobody read held {held} bytes");
    shim::println!("hog: every bound held");
}

#[test]
fn a_client_cannot_make_servers_hold_unbounded_memory() {
    let mut programs = eurali::programs();
    programs.push(shim::program_entry!("hog", hog));
    programs.push(shim::program_entry!("steady", steady));
    // hog's log is not in the /tmp it fills: a line written while /tmp is full would be
    // refused, and hog would end with a write error.
    let script = String::from(
        "hog > /home/user/hog.log 2>&1 & steady; wait; cat /home/user/hog.log; \
         echo after > /tmp/after; cat /tmp/after; rm /home/user/hog.log; ls /home; echo done",
    );
    let r = run_system_captured(
        &programs,
        &["-c".into(), script, "--user".into(), "user".into()],
        b"",
        Duration::from_secs(180),
    );
    let out = &r.stdout;
    assert_eq!(r.code, 0, "stdout: {out}\nstderr: {}", r.stderr);
    assert!(out.contains("hog: every bound held"), "{out}\n{}", r.stderr);
    assert!(
        out.contains("steady: 60 round trips"),
        "{out}\n{}",
        r.stderr
    );
    for line in [
        "hog: /tmp file refused after 2097152 bytes: no space left",
        "hog: /tmp refused file ",
        // 200-byte names: the directory's 128 KiB of names are used up first.
        "hog: a directory refused entry 656: no space left",
        "hog: a 300-byte name: file name too long",
        "hog: an 8 KiB path: file name too long",
        "hog: 3000 nested directories: no space left",
        "hog: /proc refused entry ",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
    // Everything given back: /tmp and /proc serve the programs after it.
    assert!(out.ends_with("after\nuser\ndone\n"), "{out}");
}
