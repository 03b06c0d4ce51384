//! The network interface on the host: a Linux TAP device served as `/dev/nic`
//! (`libeurali::proto::nic`), so that eurali's TCP stack talks to Linux's over a real Ethernet
//! link.
//!
//! [`Tap::open`] attaches to a TAP interface by name, optionally inside a network namespace
//! (`NAME@NETNS`, a name under `/run/netns` as `ip netns add` makes): the attach happens on a
//! short-lived host thread that enters the namespace, so the stub itself stays where it is.
//! The interface is created if it does not exist (it then goes away when the stub closes it);
//! tests create it beforehand with `ip tuntap add … mode tap` and give it its address.
//! `kernel_stub::boot` opens the device named by `EURALI_NIC` and mounts it at `/dev/nic`.
//!
//! Our side of the link has its own MAC address ([`Tap::mac`]): the TAP interface's is Linux's.
//! Frames are read and written whole (no packet-information header, `IFF_NO_PI`); frames above
//! 1514 bytes from Linux are dropped.
//!
//! Like a NIC's transmit ring, sending is asynchronous: `NIC_SEND` is answered once the frame is
//! queued ([`TX_RING`] frames at most; a full ring holds the sender up), and a host thread writes
//! the queue to the TAP device. Writing a frame into Linux is where Linux does its own work for
//! it (an ACK from us makes Linux's sender transmit its next segments, all inside that write), so
//! the writer runs beside the reader instead of in turn with it. The descriptor is non-blocking:
//! frames already waiting are read without a poll each.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use libeurali::proto::nic::{self, MAX_FRAME, Request};
use libeurali::{Error, Handle, Message, receive, send};

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// The MAC address eurali's side of the link uses unless told otherwise (locally administered).
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x45, 0x55, 0x52, 0x41, 0x4c];

/// Frames queued for the writer thread at most (a transmit ring's worth).
pub const TX_RING: usize = 256;

/// An attached TAP interface.
#[derive(Debug)]
pub struct Tap {
    fd: Arc<OwnedFd>,
    mac: [u8; 6],
    name: String,
}

/// What a non-blocking read found.
#[derive(Debug, PartialEq)]
pub(crate) enum Read {
    /// A frame of this many bytes.
    Frame(usize),
    /// A frame too big for the link, dropped.
    Dropped,
    /// Nothing waiting.
    Empty,
}

#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn attach(name: &str) -> Result<OwnedFd, String> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(format!("bad interface name {name:?}"));
    }
    // Safety: a NUL-terminated constant path.
    let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!(
            "cannot open /dev/net/tun: {}",
            std::io::Error::last_os_error()
        ));
    }
    // Safety: `fd` was just opened and is ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: IFF_TAP | IFF_NO_PI,
        _pad: [0; 22],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // Safety: TUNSETIFF reads and writes one `struct ifreq`, which `IfReq` lays out (40 bytes).
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) } < 0 {
        return Err(format!(
            "cannot attach TAP interface {name}: {} (are you root, or does {name} belong to someone else?)",
            std::io::Error::last_os_error()
        ));
    }
    // Safety: F_GETFL/F_SETFL on our own descriptor.
    let nonblocking = unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
    };
    if !nonblocking {
        return Err(format!(
            "cannot make the TAP descriptor non-blocking: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(fd)
}

fn enter_netns(ns: &str) -> Result<(), String> {
    if ns.is_empty() || ns.contains('/') {
        return Err(format!("bad network namespace name {ns:?}"));
    }
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path)
        .map_err(|e| format!("no network namespace {ns:?} ({path}: {e})"))?;
    // Safety: setns on a namespace file we hold; it changes only this (short-lived) thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!(
            "cannot enter network namespace {ns}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

impl Tap {
    /// Attaches to the TAP interface `spec` = `NAME` or `NAME@NETNS`.
    ///
    /// # Errors
    /// A message that says what failed (no `/dev/net/tun`, not root, no such namespace, …).
    pub fn open(spec: &str) -> Result<Tap, String> {
        let (name, ns) = match spec.split_once('@') {
            Some((n, ns)) => (n.to_string(), Some(ns.to_string())),
            None => (spec.to_string(), None),
        };
        let n = name.clone();
        let fd = std::thread::spawn(move || -> Result<OwnedFd, String> {
            if let Some(ns) = ns {
                enter_netns(&ns)?;
            }
            // The previous user of the interface (a system just shut down) may still be letting
            // go of it: a TAP interface takes one reader at a time.
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                match attach(&n) {
                    Err(e) if e.contains("busy") && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    r => return r,
                }
            }
        })
        .join()
        .map_err(|_| "the TAP attach thread panicked".to_string())??;
        Ok(Tap {
            fd: Arc::new(fd),
            mac: DEFAULT_MAC,
            name,
        })
    }

    /// Our side's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes one frame (waiting while Linux cannot take it).
    pub fn write_frame(&self, frame: &[u8]) -> std::io::Result<()> {
        write_frame(&self.fd, frame)
    }

    /// Waits up to `wait` for the fd to be readable; `true` if it is.
    pub(crate) fn readable(&self, wait: Duration) -> bool {
        ready(&self.fd, libc::POLLIN, wait)
    }

    /// Reads one frame if one is waiting (this thread is the fd's only reader).
    pub(crate) fn read_frame(&self, buf: &mut [u8]) -> std::io::Result<Read> {
        // Safety: reads into a live buffer.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            ) {
                return Ok(Read::Empty);
            }
            return Err(e);
        }
        if n == 0 {
            // A TAP device always has a frame for a read it calls readable.
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(if (n as usize) <= MAX_FRAME {
            Read::Frame(n as usize)
        } else {
            Read::Dropped
        })
    }

    /// The next frame within `wait` (forever if `None`). Between host waits it makes a
    /// system call, so a shut-down system ends this thread.
    fn next_frame(&self, buf: &mut [u8], wait: Option<Duration>) -> std::io::Result<Option<usize>> {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            // A frame already there is read without a poll first.
            match self.read_frame(buf)? {
                Read::Frame(n) => return Ok(Some(n)),
                Read::Dropped => continue,
                Read::Empty => {}
            }
            let slice = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(200)),
                None => Duration::from_millis(200),
            };
            if self.readable(slice) {
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            // Lets the stub stop this thread at shutdown.
            libeurali::yield_now();
        }
    }
}

/// Waits up to `wait` for `events` on `fd`; `true` if one came.
fn ready(fd: &OwnedFd, events: libc::c_short, wait: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: wait.as_secs() as libc::time_t,
        tv_nsec: wait.subsec_nanos() as libc::c_long,
    };
    // Safety: one pollfd, a valid timespec, no signal mask.
    let r = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    r > 0 && pfd.revents & events != 0
}

/// Writes one frame to the non-blocking `fd`, waiting while Linux cannot take it.
fn write_frame(fd: &OwnedFd, frame: &[u8]) -> std::io::Result<()> {
    loop {
        // Safety: writes from a live slice.
        let n = unsafe { libc::write(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
        if n >= 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        match e.kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock => {
                ready(fd, libc::POLLOUT, Duration::from_millis(100));
            }
            _ => return Err(e),
        }
    }
}

/// The transmit side: frames queued by [`serve`], written in order by a host thread until the
/// queue's sender goes away. A failed write marks the device broken (later sends are refused).
struct Transmitter {
    queue: SyncSender<Vec<u8>>,
    broken: Arc<AtomicBool>,
}

impl Transmitter {
    fn start(fd: Arc<OwnedFd>) -> std::io::Result<Transmitter> {
        let (queue, frames): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) = sync_channel(TX_RING);
        let broken = Arc::new(AtomicBool::new(false));
        let b = broken.clone();
        std::thread::Builder::new()
            .name("tap-tx".into())
            .spawn(move || {
                for f in frames {
                    if write_frame(&fd, &f).is_err() {
                        b.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            })?;
        Ok(Transmitter { queue, broken })
    }

    /// Queues a frame; `false` if the device is gone.
    fn send(&self, frame: &[u8]) -> bool {
        !self.broken.load(Ordering::Relaxed) && self.queue.send(frame.to_vec()).is_ok()
    }
}

/// The reply to a `NIC_POLL_MANY`: the first frame within `wait_us`, then every frame already
/// waiting, as long as the batch has room for a whole one (a frame that does not fit waits for
/// the next request).
fn recv_many(tap: &Tap, buf: &mut [u8], batch: &mut Vec<u8>, max: usize, wait_us: u64) -> Message {
    if max < 2 + MAX_FRAME {
        // Too small for a whole frame: a frame must never be taken and then dropped.
        return nic::error_reply(Error::Param);
    }
    match tap.next_frame(buf, Some(Duration::from_micros(wait_us))) {
        Ok(Some(n)) => {
            batch.clear();
            nic::push_record(batch, &buf[..n], max);
            while batch.len() + 2 + MAX_FRAME <= max {
                match tap.read_frame(buf) {
                    Ok(Read::Frame(n)) => {
                        nic::push_record(batch, &buf[..n], max);
                    }
                    Ok(Read::Dropped) => {}
                    Ok(Read::Empty) | Err(_) => break,
                }
            }
            nic::frames_reply(batch).unwrap_or_else(nic::error_reply)
        }
        Ok(None) => nic::empty_reply(),
        Err(_) => nic::error_reply(Error::Closed),
    }
}

/// Serves `/dev/nic` on `h` from `tap` until the rendezvous fails.
pub fn serve(h: &Handle, tap: Tap) {
    // Room for an oversized frame, which is then dropped rather than cut.
    let mut buf = vec![0u8; 65536];
    let mut batch = Vec::with_capacity(nic::MAX_BATCH);
    let tx = match Transmitter::start(tap.fd.clone()) {
        Ok(tx) => Some(tx),
        Err(e) => {
            eprintln!(
                "tap {}: no transmit thread ({e}); frames are written in turn",
                tap.name
            );
            None
        }
    };
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match nic::parse_request(m) {
            Request::Send(chunk) => {
                let sent = match &tx {
                    Some(tx) => tx.send(chunk.as_slice()),
                    None => tap.write_frame(chunk.as_slice()).is_ok(),
                };
                if sent {
                    nic::sent_reply(chunk.len())
                } else {
                    nic::error_reply(Error::Closed)
                }
            }
            Request::Recv(wait) => {
                let wait = wait.map(Duration::from_micros);
                match tap.next_frame(&mut buf, wait) {
                    Ok(Some(n)) => nic::frame_reply(&buf[..n]).unwrap_or_else(nic::error_reply),
                    Ok(None) => nic::empty_reply(),
                    Err(_) => nic::error_reply(Error::Closed),
                }
            }
            Request::RecvMany { max, wait_us } => {
                recv_many(&tap, &mut buf, &mut batch, max, wait_us)
            }
            Request::SendRecvMany {
                records,
                max,
                wait_us,
            } => {
                let sent = nic::frames(records.as_slice()).all(|f| match &tx {
                    Some(tx) => tx.send(f),
                    None => tap.write_frame(f).is_ok(),
                });
                if sent {
                    recv_many(&tap, &mut buf, &mut batch, max, wait_us)
                } else {
                    nic::error_reply(Error::Closed)
                }
            }
            Request::Mac => nic::mac_reply(tap.mac()),
            Request::BadLength => nic::error_reply(Error::Param),
            Request::Unknown(_) => nic::unknown_reply(),
        };
        let _ = send(h, reply);
    }
}
