//! Bounded calls (`libeurali::timeout`, std-shim's watchdog) on the in-process stub: a peer that
//! holds a request without answering times out; a peer process that ends mid-call wakes the
//! caller with CLOSED; a file session whose server hangs fails with `TimedOut` and stays dead.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use libeurali::timeout::{self, CallError, Kind};
use libeurali::{Error, Message, new_rendezvous};
use shim::process::Command;
use shim::time::Instant;

fn boot(parent: (&'static str, kernel_stub::ProgramEntry)) -> (String, String, i32) {
    let r = run_captured(
        &[parent, shim::program_entry!("peer", peer)],
        parent.0,
        &[],
        b"",
        Duration::from_secs(60),
    );
    (r.stdout, r.stderr, r.code)
}

/// A ramdisk at `/` with `/bin/peer`.
fn setup() {
    let (m, c) = new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(4 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::create_dir("/bin").unwrap();
    shim::fs::write("/bin/peer", kernel_stub::Kernel::program_image("peer")).unwrap();
}

/// Takes the rendezvous mounted at `/peer`, receives one request and ends without answering:
/// the process and its handles vanish without any close processing (ABI §3.5).
fn peer() {
    let (h, _) = libeurali::open("/peer").unwrap();
    libeurali::umount("/peer").unwrap();
    let m = libeurali::receive(&h).unwrap();
    shim::println!("peer got {}", m.tag());
    // Dies holding it: a process's death drops its handles without the close that would wake
    // the caller (a drop of `h` here would close it, and that close would wake the caller).
    core::mem::forget(h);
}

fn hung_peer_times_out() {
    let (a, b) = new_rendezvous().unwrap();
    // A thread of ours takes the request and never answers (it keeps `a` open).
    let _holder = shim::thread::spawn(move || {
        let m = libeurali::receive(&a).unwrap();
        shim::thread::sleep(Duration::from_secs(6));
        drop(m);
        drop(a);
    });
    let t = Instant::now();
    let r = timeout::call(
        &b,
        Message::Short(7, 0, 0),
        Kind::SendReceive,
        Some(300_000),
    );
    let took = t.elapsed();
    assert_eq!(r, Err(CallError::TimedOut));
    // The handle's number is closed: give it up.
    let _ = b.into_raw();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    // Well before the holder would let go (a loaded machine may delay the watchdog a little).
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A call that is answered in time is untouched.
    let (a, b) = new_rendezvous().unwrap();
    let server = shim::thread::spawn(move || {
        let m = libeurali::receive(&a).unwrap();
        libeurali::send(&a, Message::Short(m.tag() + 1, 0, 0)).unwrap();
        a
    });
    let r = timeout::call(
        &b,
        Message::Short(41, 0, 0),
        Kind::SendReceive,
        Some(5_000_000),
    );
    assert_eq!(r, Ok(Message::Short(42, 0, 0)));
    drop(server.join().unwrap());
    shim::println!("ok");
}

#[test]
fn a_call_held_past_its_deadline_times_out() {
    let (out, err, code) = boot(shim::program_entry!("parent", hung_peer_times_out));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

fn dead_peer_wakes_the_caller() {
    setup();
    let (a, b) = new_rendezvous().unwrap();
    let mut child = Command::new("peer").mount("/peer", a).spawn().unwrap();
    // The call waits on a thread of its own: the child, a zombie until reaped, keeps its handles
    // (and so the call's rendezvous) until its status is taken.
    let caller = shim::thread::spawn(move || {
        // No deadline: only the peer's death can end this call.
        let r = timeout::call(&b, Message::Short(9, 0, 0), Kind::SendReceive, None);
        (r, Instant::now())
    });
    assert!(child.wait().unwrap().success());
    let reaped = Instant::now();
    let (r, woken) = caller.join().unwrap();
    match r {
        Err(CallError::Send(e)) => assert_eq!(e.error, Error::Closed),
        other => panic!("expected CLOSED, got {other:?}"),
    }
    let took = woken.duration_since(reaped);
    assert!(took < Duration::from_secs(5), "{took:?}");
    shim::println!("ok");
}

#[test]
fn a_peer_that_dies_mid_call_wakes_the_caller_with_closed() {
    let (out, err, code) = boot(shim::program_entry!("parent", dead_peer_wakes_the_caller));
    assert_eq!((code, out.as_str()), (0, "peer got 9\nok\n"), "{err}");
}

/// The ramdisk, except that reads hang (as a server stuck on something else would).
struct Stuck(vfs::ramdisk::Ramdisk);

impl vfs::server::FileSystem for Stuck {
    type Node = <vfs::ramdisk::Ramdisk as vfs::server::FileSystem>::Node;
    fn open(&self, p: &[&str], f: u32) -> Result<Self::Node, vfs::proto::FsError> {
        self.0.open(p, f)
    }
    fn stat(&self, n: &Self::Node) -> Result<vfs::proto::Meta, vfs::proto::FsError> {
        self.0.stat(n)
    }
    fn read(&self, _: &Self::Node, _: u64, _: &mut [u8]) -> Result<usize, vfs::proto::FsError> {
        shim::thread::sleep(Duration::from_secs(6));
        Err(vfs::proto::FsError::Busy)
    }
    fn write(&self, n: &Self::Node, o: Option<u64>, d: &[u8]) -> Result<u64, vfs::proto::FsError> {
        self.0.write(n, o, d)
    }
    fn set_len(&self, n: &Self::Node, l: u64) -> Result<(), vfs::proto::FsError> {
        self.0.set_len(n, l)
    }
    fn read_dir(&self, n: &Self::Node) -> Result<Vec<vfs::proto::Entry>, vfs::proto::FsError> {
        self.0.read_dir(n)
    }
    fn mkdir(&self, p: &[&str]) -> Result<(), vfs::proto::FsError> {
        self.0.mkdir(p)
    }
    fn remove(&self, p: &[&str], d: bool) -> Result<(), vfs::proto::FsError> {
        self.0.remove(p, d)
    }
    fn rename(&self, f: &[&str], t: &[&str]) -> Result<(), vfs::proto::FsError> {
        self.0.rename(f, t)
    }
}

fn stuck_file_server() {
    let (m, c) = new_rendezvous().unwrap();
    vfs::server::Server::new(Stuck(vfs::ramdisk::Ramdisk::new(1 << 20)))
        .spawn(m)
        .unwrap();
    libeurali::mount("/stuck", c).unwrap();
    // For the whole test binary: the other tests here do only small file operations.
    vfs::client::set_call_limit_ms(500);
    shim::fs::write("/stuck/f", "data").unwrap();
    let mut f = shim::fs::File::open("/stuck/f").unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 4];
    let e = shim::io::Read::read(&mut f, &mut buf).unwrap_err();
    assert_eq!(e.kind(), shim::io::ErrorKind::TimedOut, "{e}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // The session is dead: the next request fails at once, and dropping it is safe.
    let t = Instant::now();
    assert_eq!(
        shim::io::Read::read(&mut f, &mut buf).unwrap_err().kind(),
        shim::io::ErrorKind::TimedOut
    );
    assert!(t.elapsed() < Duration::from_millis(100));
    drop(f);
    vfs::client::set_call_limit_ms(vfs::proto::CALL_LIMIT_MS);
    // The server's other sessions are fine: writes and metadata still work.
    shim::fs::write("/stuck/g", "more").unwrap();
    assert_eq!(shim::fs::metadata("/stuck/g").unwrap().len(), 4);
    shim::println!("ok");
}

/// Held by the tests that change the process-wide call limit, so that one does not put the
/// limit back while the other still counts on it.
static CALL_LIMIT_USERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_file_session_whose_server_hangs_times_out() {
    let _limit = CALL_LIMIT_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let (out, err, code) = boot(shim::program_entry!("parent", stuck_file_server));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

/// Two mount-table references to a rendezvous nobody receives on (as when several namespaces
/// mount a server that died): no close can wake an open's sender there, the rescue must.
fn dead_mount() {
    setup();
    let (a, b) = new_rendezvous().unwrap();
    libeurali::mount("/dead", a).unwrap();
    libeurali::mount("/dead2", b).unwrap();
    vfs::client::set_call_limit_ms(300);
    for _ in 0..2 {
        let t = Instant::now();
        let e = shim::fs::File::open("/dead/f").unwrap_err();
        assert_eq!(e.kind(), shim::io::ErrorKind::TimedOut, "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
    }
    let e = shim::fs::write("/dead/g", "x").unwrap_err();
    assert_eq!(e.kind(), shim::io::ErrorKind::TimedOut, "{e}");
    vfs::client::set_call_limit_ms(vfs::proto::CALL_LIMIT_MS);
    // A server started on the same rendezvous (as init starts one again) serves the next opens:
    // the timed-out ones left nothing in its way.
    let (h, _) = libeurali::open("/dead2").unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(1 << 20))
        .spawn(h)
        .unwrap();
    shim::fs::write("/dead/h", "served").unwrap();
    assert_eq!(shim::fs::read_to_string("/dead/h").unwrap(), "served");
    shim::println!("ok");
}

#[test]
fn an_open_on_a_dead_servers_mount_times_out() {
    let _limit = CALL_LIMIT_USERS.lock().unwrap_or_else(|e| e.into_inner());
    let (out, err, code) = boot(shim::program_entry!("parent", dead_mount));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

/// An `FS_OPEN` on `h` with `token`, from a thread of its own (it blocks until received).
fn open_message(token: u64) -> Message {
    let req = vfs::proto::OpenRequest {
        path: "/x".into(),
        flags: 0,
        op: vfs::proto::Op::Open,
        token,
    };
    let (c, _) = vfs::proto::encode_chunk(&req, vfs::proto::MAX_NAME_MSG).unwrap();
    let (s, _keep) = new_rendezvous().unwrap();
    core::mem::forget(_keep);
    Message::Long(
        vfs::proto::FS_OPEN,
        libeurali::Word::Handle(s),
        libeurali::Word::Chunk(c),
    )
}

fn token_of(m: Message) -> u64 {
    let Message::Long(vfs::proto::FS_OPEN, _, libeurali::Word::Chunk(mut c)) = m else {
        panic!("not an open: {}", m.tag());
    };
    let b = vfs::proto::chunk_bytes(
        &mut c,
        vfs::proto::MAX_NAME_MSG as u64,
        vfs::proto::MAX_NAME_MSG,
    )
    .unwrap();
    vfs::proto::decode::<vfs::proto::OpenRequest>(b)
        .unwrap()
        .token
}

fn rescues() {
    let (m, srv) = new_rendezvous().unwrap();
    let m = std::sync::Arc::new(m);
    // Its own waiting open: taken and dropped, its sender released.
    let m1 = m.clone();
    let sender = shim::thread::spawn(move || libeurali::send(&m1, open_message(7)).is_ok());
    shim::thread::sleep(Duration::from_millis(50));
    assert!(vfs::client::rescue_open(m.try_clone().unwrap(), 7));
    assert!(sender.join().unwrap());
    // Another sender's open: sent on, so the server still gets it, with its token.
    let m2 = m.clone();
    let sender = shim::thread::spawn(move || libeurali::send(&m2, open_message(8)).is_ok());
    shim::thread::sleep(Duration::from_millis(50));
    let copy = m.try_clone().unwrap();
    let rescue = shim::thread::spawn(move || vfs::client::rescue_open(copy, 9));
    assert!(sender.join().unwrap());
    assert_eq!(token_of(libeurali::receive(&srv).unwrap()), 8);
    assert!(!rescue.join().unwrap());
    shim::println!("ok");
}

#[test]
fn a_rescue_takes_only_its_own_open() {
    let (out, err, code) = boot(shim::program_entry!("parent", rescues));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

/// A stream read whose server takes the request and dies: the stream protocol's client calls
/// are watched, so the reader is woken with CLOSED instead of waiting for ever.
fn dead_stream_server() {
    setup();
    let (a, b) = new_rendezvous().unwrap();
    let mut child = Command::new("peer").mount("/peer", a).spawn().unwrap();
    let reader = shim::thread::spawn(move || {
        let mut buf = [0u8; 16];
        libeurali::proto::stream::read(&b, &mut buf).err()
    });
    assert!(child.wait().unwrap().success());
    assert_eq!(reader.join().unwrap(), Some(Error::Closed));
    shim::println!("ok");
}

#[test]
fn a_stream_reader_whose_server_dies_gets_closed() {
    let (out, err, code) = boot(shim::program_entry!("parent", dead_stream_server));
    let read = libeurali::msgtype::READ;
    assert_eq!(
        (code, out.as_str()),
        (0, format!("peer got {read}\nok\n").as_str()),
        "{err}"
    );
}
