//! Bounded calls (`libeurali::timeout`, std-shim's watchdog) on the in-process stub: a peer that
//! holds a request without answering times out; a peer process that ends mid-call wakes the
//! caller with CLOSED; a file session whose server hangs fails with `TimedOut` and stays dead.

use std::time::Duration;

use eurali_std as shim;
use kernel_stub::boot::run_captured;
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
    let t = Instant::now();
    // No deadline: only the peer's death can end this call.
    let r = timeout::call(&b, Message::Short(9, 0, 0), Kind::SendReceive, None);
    let took = t.elapsed();
    match r {
        Err(CallError::Send(e)) => assert_eq!(e.error, Error::Closed),
        other => panic!("expected CLOSED, got {other:?}"),
    }
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(child.wait().unwrap().success());
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

#[test]
fn a_file_session_whose_server_hangs_times_out() {
    let (out, err, code) = boot(shim::program_entry!("parent", stuck_file_server));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}
