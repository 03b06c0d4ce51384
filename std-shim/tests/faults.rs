//! The paths a program takes when the kernel says no, driven by the stub's fault injection
//! (`kernel_stub::inject_in_this_thread`: the calling thread's next calls of a kind fail with a
//! chosen error) rather than by load, with std-shim's runtime in place (clock, watchdog, chunk
//! pool): a busy rendezvous tried again (`retry_busy_for`, `clock::Wait`) and given up after
//! its limit with the message handed back; an open the file server refused tried again, and
//! reported `Busy` when refused for good; a write whose chunk the kernel cannot give failing
//! alone, losing nothing.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use kernel_stub::inject_in_this_thread as inject;
use libeurali::abi::nr;
use libeurali::{Error, Message, SendError, new_rendezvous, receive, send};
use shim::time::Instant;
use vfs::client;
use vfs::proto::{FsError, flags};

const NEW: u32 = flags::READ | flags::WRITE | flags::CREATE;

/// Runs `test` as a program on a fresh stub; it prints `ok` when all its checks held.
fn boot(test: (&'static str, kernel_stub::ProgramEntry)) {
    let r = run_captured(&[test], test.0, &[], b"", Duration::from_secs(60));
    assert_eq!((r.code, r.stdout.as_str()), (0, "ok\n"), "{}", r.stderr);
}

/// A ramdisk at `/`.
fn ramdisk() {
    let (m, c) = new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(8 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
}

fn busy_then_free() {
    let (a, b) = new_rendezvous().unwrap();
    let receiver = shim::thread::spawn(move || receive(&b));
    // Our next three sends find the rendezvous busy, as when another client's message sits
    // there.
    assert!(inject(nr::SEND, 1, 3, Error::SendBlocking));
    libeurali::retry_busy_for(&a, Message::Short(7, 8, 9), 1_000_000, send)
        .expect("sent on the fourth try");
    assert_eq!(kernel_stub::injections_pending_in_this_thread(), 0);
    assert_eq!(receiver.join().unwrap(), Ok(Message::Short(7, 8, 9)));
    shim::println!("ok");
}

#[test]
fn a_busy_rendezvous_is_tried_again_and_the_message_arrives_whole() {
    boot(shim::program_entry!("busy_then_free", busy_then_free));
}

fn busy_for_good() {
    let (a, _b) = new_rendezvous().unwrap();
    assert!(inject(nr::SEND, 1, usize::MAX, Error::SendBlocking));
    let start = Instant::now();
    let r = libeurali::retry_busy_for(&a, Message::Short(1, 2, 3), 20_000, send);
    let waited = start.elapsed();
    kernel_stub::clear_injections_in_this_thread();
    // Given up after the limit on the runtime's clock, with the kernel's error and the message,
    // which the caller can send again or report.
    assert!(
        waited >= Duration::from_millis(20),
        "gave up after {waited:?}"
    );
    assert_eq!(
        r,
        Err(SendError {
            error: Error::SendBlocking,
            message: Some(Message::Short(1, 2, 3)),
        })
    );
    shim::println!("ok");
}

#[test]
fn a_rendezvous_busy_past_the_limit_gives_the_message_back() {
    boot(shim::program_entry!("busy_for_good", busy_for_good));
}

fn wait_until_limit() {
    let mut w = libeurali::clock::Wait::new(10_000, 5);
    let start = Instant::now();
    let mut tries = 0;
    while !w.over() {
        w.pause();
        tries += 1;
    }
    let waited = start.elapsed();
    // With a clock the limit is time, not `max_tries` (5) tries.
    assert!(waited >= Duration::from_millis(10), "over after {waited:?}");
    assert!(tries > 5, "{tries} tries");
    shim::println!("ok");
}

#[test]
fn a_wait_with_a_clock_lasts_its_time() {
    boot(shim::program_entry!("wait_until_limit", wait_until_limit));
}

fn busy_mount_then_opened() {
    ramdisk();
    // The mount is busy (another client's open sits there) for our next three FS_OPEN sends.
    assert!(inject(nr::SEND, 1, 3, Error::SendBlocking));
    let (s, _) = client::open("/f", NEW).expect("opened on the fourth try");
    assert_eq!(kernel_stub::injections_pending_in_this_thread(), 0);
    s.write_at(0, b"kept").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(s.read_at(0, &mut buf).unwrap(), 4);
    shim::println!("ok");
}

#[test]
fn an_open_on_a_busy_mount_is_tried_again() {
    boot(shim::program_entry!(
        "busy_mount_then_opened",
        busy_mount_then_opened
    ));
}

fn refused_then_opened() {
    ramdisk();
    // A server with no thread for a session closes it unopened: the client's first request
    // on it gets Closed. The next two opens are refused so.
    assert!(inject(nr::SEND_RECEIVE, 1, 2, Error::Closed));
    let (s, meta) = client::open("/f", NEW).expect("opened on the third try");
    assert_eq!(kernel_stub::injections_pending_in_this_thread(), 0);
    assert_eq!(meta.len, 0);
    s.write_at(0, b"kept").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(s.read_at(0, &mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"kept");
    shim::println!("ok");
}

#[test]
fn an_open_the_server_refused_is_tried_again() {
    boot(shim::program_entry!(
        "refused_then_opened",
        refused_then_opened
    ));
}

fn refused_for_good() {
    ramdisk();
    assert!(inject(nr::SEND_RECEIVE, 1, usize::MAX, Error::Closed));
    let start = Instant::now();
    let r = client::open("/f", NEW).map(|_| ());
    let waited = start.elapsed();
    kernel_stub::clear_injections_in_this_thread();
    assert_eq!(r.unwrap_err(), FsError::Busy);
    // Tried again for a fraction of a second, not for the session limit (30 s).
    let least = Duration::from_micros(client::REFUSED_RETRY_US);
    assert!(
        waited >= least && waited < 10 * least,
        "Busy after {waited:?}"
    );
    shim::println!("ok");
}

#[test]
fn an_open_refused_for_good_is_busy_soon() {
    boot(shim::program_entry!("refused_for_good", refused_for_good));
}

fn write_without_memory() {
    ramdisk();
    let (s, _) = client::open("/f", NEW).unwrap();
    s.write_at(0, b"before ").unwrap();
    // A big write needs a chunk of its own: the kernel has no memory for it.
    assert!(inject(nr::MALLOC, 1, 1, Error::Memory));
    let r = s.write_at(7, &vec![b'x'; 100_000]);
    assert_eq!(kernel_stub::injections_pending_in_this_thread(), 0);
    assert_eq!(r.unwrap_err(), FsError::Kernel(Error::Memory));
    // The session goes on, and the failed write left nothing behind.
    assert_eq!(s.write_at(7, b"after").unwrap().0, 5);
    let mut buf = vec![0u8; 200_000];
    let n = s.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"before after");
    shim::println!("ok");
}

#[test]
fn a_write_without_memory_fails_alone_and_loses_nothing() {
    boot(shim::program_entry!(
        "write_without_memory",
        write_without_memory
    ));
}
