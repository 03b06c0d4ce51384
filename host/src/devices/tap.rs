//! The network interface on the host: a Linux TAP device served as `/dev/nic`
//! (`libeurali::proto::nic`), so that eurali's TCP stack talks to Linux's over a real Ethernet
//! link.
//!
//! [`Tap::open`] attaches to a TAP interface by name, optionally inside a network namespace
//! (`NAME@NETNS`, a name under `/run/netns` as `ip netns add` makes): the attach happens on a
//! short-lived host thread that enters the namespace, so the stub itself stays where it is.
//! The interface is created if it does not exist (it then goes away when the stub closes it);
//! tests create it beforehand with `ip tuntap add … mode tap` and give it its address.
//! `eurali_host::boot` opens the device named by `EURALI_NIC` and mounts it at `/dev/nic`.
//!
//! Our side of the link has its own MAC address ([`Tap::mac`]): the TAP interface's is Linux's.
//! Frames are read and written whole (no packet-information header, `IFF_NO_PI`); frames above
//! 1514 bytes from Linux are dropped.
//!
//! The descriptor is non-blocking: frames already waiting are read without a poll each.
//!
//! The descriptor carries a virtio-net header before each frame (`IFF_VNET_HDR`) and offers
//! Linux checksum and TCP segmentation offload (`TUN_F_CSUM | TUN_F_TSO4`), as a NIC with TSO
//! does: Linux then hands over a TCP packet of up to 64 KiB in one read, and this side cuts it
//! into the frames the wire would carry (each with its own IP and TCP headers and checksums,
//! `cut_tcp4`) and completes checksums Linux left partial (`fill_checksum`). What `/dev/nic`
//! delivers is the same standard frames of at most 1514 bytes as without offload; one read of
//! 64 KiB instead of 45 reads of a frame each is what the offload saves.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use libeurali::proto::nic::{self, MAX_FRAME};
use libeurali::{Error, Handle};
use smoltcp::wire::{
    ETHERNET_HEADER_LEN, EthernetFrame, EthernetProtocol, IPV4_HEADER_LEN, IpAddress, IpProtocol,
    Ipv4Packet, TCP_HEADER_LEN, TcpPacket, checksum,
};

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUN_F_CSUM: libc::c_ulong = 0x01;
const TUN_F_TSO4: libc::c_ulong = 0x02;

/// The virtio-net header before each frame on the descriptor (the legacy 10-byte layout:
/// flags, GSO type, header length, GSO size, checksum start, checksum offset; little-endian).
const VNET_HDR: usize = 10;
const VNET_F_NEEDS_CSUM: u8 = 1;
const VNET_GSO_NONE: u8 = 0;
const VNET_GSO_TCPV4: u8 = 1;
const VNET_GSO_ECN: u8 = 0x80;
/// Room for the largest packet Linux hands over (64 KiB of IP and more), its Ethernet header
/// and the virtio-net header.
const READ_BUF: usize = 128 * 1024;

/// The MAC address eurali's side of the link uses unless told otherwise (locally administered).
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x45, 0x55, 0x52, 0x41, 0x4c];

/// An attached TAP interface.
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    mac: [u8; 6],
    name: String,
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
        flags: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
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
    // Safety: TUNSETOFFLOAD takes the offload flags as its argument. Without it Linux sends
    // whole frames with full checksums, which works the same, only slower.
    unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) };
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
            fd,
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

    /// Reads one packet (virtio-net header first) if one is waiting; its length.
    fn read_packet(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        // Safety: reads into a live buffer.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            ) {
                return Ok(None);
            }
            return Err(e);
        }
        if n == 0 {
            // A TAP device always has a packet for a read it calls readable.
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Some(n as usize))
    }
}

/// The receive side: packets read from the TAP descriptor, turned into frames; the frames cut
/// from one GSO packet wait here (as records) until taken. Used by the serving thread only.
struct Reader {
    buf: Vec<u8>,
    cut: Vec<u8>,
    at: usize,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            buf: vec![0; READ_BUF],
            cut: Vec::new(),
            at: 0,
        }
    }

    /// Whether frames cut earlier wait.
    fn pending(&self) -> bool {
        nic::next_record(&self.cut, self.at).is_some()
    }

    /// The next frame, if one is there now.
    fn frame(&mut self, tap: &Tap) -> std::io::Result<Option<&[u8]>> {
        loop {
            if let Some((_, next)) = nic::next_record(&self.cut, self.at) {
                let start = self.at + 2;
                self.at = next;
                return Ok(Some(&self.cut[start..next]));
            }
            self.cut.clear();
            self.at = 0;
            let Some(n) = tap.read_packet(&mut self.buf)? else {
                return Ok(None);
            };
            match packet(&mut self.buf[..n], &mut self.cut) {
                Packet::Frame => return Ok(Some(&self.buf[VNET_HDR..n])),
                Packet::Cut | Packet::Dropped => {}
            }
        }
    }

    /// Waits up to `wait` (forever if `None`) until a frame is there; `false` if none came.
    /// Between host waits it makes a system call, so a shut-down system ends this thread.
    fn wait(&mut self, tap: &Tap, wait: Option<Duration>) -> bool {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            if self.pending() {
                return true;
            }
            let slice = match deadline {
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(200)),
                None => Duration::from_millis(200),
            };
            if tap.readable(slice) {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            // Lets the stub stop this thread at shutdown.
            libeurali::yield_now();
        }
    }

    /// The next frame within `wait` (forever if `None`).
    fn next(&mut self, tap: &Tap, wait: Option<Duration>) -> std::io::Result<Option<&[u8]>> {
        let deadline = wait.map(|w| Instant::now() + w);
        loop {
            // A frame already there is taken without a poll first.
            if self.pending() || self.peek(tap)? {
                return self.frame(tap);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if !self.wait(tap, left) {
                return Ok(None);
            }
        }
    }

    /// Reads packets until a frame is pending or nothing is left; `true` if one is.
    fn peek(&mut self, tap: &Tap) -> std::io::Result<bool> {
        loop {
            let Some(n) = tap.read_packet(&mut self.buf)? else {
                return Ok(false);
            };
            self.cut.clear();
            self.at = 0;
            match packet(&mut self.buf[..n], &mut self.cut) {
                Packet::Frame => {
                    // Kept as the one pending record.
                    let frame = self.buf[VNET_HDR..n].to_vec();
                    nic::push_record(&mut self.cut, &frame, usize::MAX);
                    return Ok(true);
                }
                Packet::Cut => return Ok(true),
                Packet::Dropped => {}
            }
        }
    }
}

/// What [`packet`] made of a packet read from the descriptor.
#[derive(Debug, PartialEq)]
enum Packet {
    /// One frame, at `VNET_HDR..` of the packet (its checksum completed if Linux left it).
    Frame,
    /// A GSO packet, cut into frames appended to `cut` as records.
    Cut,
    /// Nothing the link carries (too big, malformed, an offload not offered).
    Dropped,
}

/// Turns a packet read from the descriptor (virtio-net header first) into frames.
fn packet(pkt: &mut [u8], cut: &mut Vec<u8>) -> Packet {
    if pkt.len() < VNET_HDR + nic::MIN_FRAME {
        return Packet::Dropped;
    }
    let flags = pkt[0];
    let gso = pkt[1] & !VNET_GSO_ECN;
    let gso_size = u16::from_le_bytes([pkt[4], pkt[5]]) as usize;
    let csum_start = u16::from_le_bytes([pkt[6], pkt[7]]) as usize;
    let csum_offset = u16::from_le_bytes([pkt[8], pkt[9]]) as usize;
    let frame = &mut pkt[VNET_HDR..];
    match gso {
        VNET_GSO_NONE => {
            if frame.len() > MAX_FRAME
                || (flags & VNET_F_NEEDS_CSUM != 0
                    && !fill_checksum(frame, csum_start, csum_offset))
            {
                return Packet::Dropped;
            }
            Packet::Frame
        }
        VNET_GSO_TCPV4 if cut_tcp4(frame, gso_size, cut) => Packet::Cut,
        _ => Packet::Dropped,
    }
}

/// Completes a checksum Linux left partial (`VIRTIO_NET_HDR_F_NEEDS_CSUM`): the sum from
/// `start` to the end (which includes the pseudo-header sum Linux put in the field) goes into
/// the field at `start + offset`. `false` if those lie outside the frame.
fn fill_checksum(frame: &mut [u8], start: usize, offset: usize) -> bool {
    let at = start + offset;
    if start >= frame.len() || at + 2 > frame.len() {
        return false;
    }
    let c = match !checksum::data(&frame[start..]) {
        // As Linux does: a computed 0 goes out as 0xFFFF (0 means "none" for UDP).
        0 => 0xFFFF,
        c => c,
    };
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    true
}

/// Cuts a TCP/IPv4 GSO packet (Ethernet frame of up to 64 KiB) into frames of at most `mss`
/// bytes of payload, as a NIC's segmentation offload does: each gets the headers, its IP total
/// length, IP identification (incremented per frame) and header checksum, its sequence number,
/// FIN and PSH only on the last frame, CWR only on the first, and a full TCP checksum. Appended
/// to `cut` as records; `false` (nothing appended) if the packet is not that or a frame would
/// exceed [`MAX_FRAME`]. The headers are read and written with `smoltcp::wire`'s views.
fn cut_tcp4(frame: &[u8], mss: usize, cut: &mut Vec<u8>) -> bool {
    const ETH: usize = ETHERNET_HEADER_LEN;
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    if eth.ethertype() != EthernetProtocol::Ipv4 || frame.len() < ETH + IPV4_HEADER_LEN {
        return false;
    }
    let ip = Ipv4Packet::new_unchecked(&frame[ETH..]);
    let ihl = ip.header_len() as usize;
    if ip.version() != 4
        || ihl < IPV4_HEADER_LEN
        || ip.next_header() != IpProtocol::Tcp
        || frame.len() < ETH + ihl + TCP_HEADER_LEN
    {
        return false;
    }
    let tcp = TcpPacket::new_unchecked(&frame[ETH + ihl..]);
    let thl = tcp.header_len() as usize;
    let hdr = ETH + ihl + thl;
    if thl < TCP_HEADER_LEN || frame.len() < hdr || mss == 0 || hdr + mss > MAX_FRAME {
        return false;
    }
    let (id, src, dst) = (ip.ident(), ip.src_addr(), ip.dst_addr());
    let seq = tcp.seq_number();
    let (src, dst) = (IpAddress::Ipv4(src), IpAddress::Ipv4(dst));
    let payload = &frame[hdr..];
    let count = payload.len().div_ceil(mss).max(1);
    for i in 0..count {
        let data = &payload[(i * mss).min(payload.len())..((i + 1) * mss).min(payload.len())];
        let len = hdr + data.len();
        let start = cut.len() + 2;
        cut.extend_from_slice(&(len as u16).to_le_bytes());
        cut.extend_from_slice(&frame[..hdr]);
        cut.extend_from_slice(data);
        let f = &mut cut[start..];
        let mut ip = Ipv4Packet::new_unchecked(&mut f[ETH..]);
        ip.set_total_len((ihl + thl + data.len()) as u16);
        ip.set_ident(id.wrapping_add(i as u16));
        ip.fill_checksum();
        let mut tcp = TcpPacket::new_unchecked(&mut f[ETH + ihl..]);
        tcp.set_seq_number(seq + i * mss);
        if i + 1 < count {
            tcp.set_fin(false);
            tcp.set_psh(false);
        }
        if i > 0 {
            tcp.set_cwr(false);
        }
        tcp.fill_checksum(&src, &dst);
    }
    true
}

impl Drop for Tap {
    /// Takes the offloads back: the interface may outlive us (made with `ip tuntap add`), and a
    /// later reader without the virtio-net header would get GSO packets it cannot use.
    fn drop(&mut self) {
        // Safety: TUNSETOFFLOAD takes the offload flags as its argument.
        unsafe { libc::ioctl(self.fd.as_raw_fd(), TUNSETOFFLOAD, 0 as libc::c_ulong) };
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

/// Writes one frame to the non-blocking `fd` (after an empty virtio-net header: no offload),
/// waiting while Linux cannot take it.
fn write_frame(fd: &OwnedFd, frame: &[u8]) -> std::io::Result<()> {
    let hdr = [0u8; VNET_HDR];
    let iov = [
        libc::iovec {
            iov_base: hdr.as_ptr() as *mut libc::c_void,
            iov_len: hdr.len(),
        },
        libc::iovec {
            iov_base: frame.as_ptr() as *mut libc::c_void,
            iov_len: frame.len(),
        },
    ];
    loop {
        // Safety: two iovecs over live slices, which writev only reads.
        let n = unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr(), 2) };
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

/// The TAP interface as [`nic::serve`] drives it: the descriptor and its receive side.
struct TapNic {
    tap: Tap,
    rx: Reader,
}

impl nic::NicDevice for TapNic {
    fn mac(&self) -> [u8; 6] {
        self.tap.mac()
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), Error> {
        self.tap.write_frame(frame).map_err(|_| Error::Closed)
    }

    fn recv(&mut self, wait_us: Option<u64>) -> Result<Option<&[u8]>, Error> {
        let wait = wait_us.map(Duration::from_micros);
        self.rx.next(&self.tap, wait).map_err(|_| Error::Closed)
    }

    fn try_recv(&mut self) -> Result<Option<&[u8]>, Error> {
        self.rx.frame(&self.tap).map_err(|_| Error::Closed)
    }
}

/// Serves `/dev/nic` on `h` from `tap` until the rendezvous fails.
pub fn serve(h: &Handle, tap: Tap) {
    nic::serve(
        h,
        &mut TapNic {
            tap,
            rx: Reader::new(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet/IPv4/TCP frame (20-byte IP header, `opts` bytes of TCP options) with
    /// `payload`, checksums left zero.
    fn tcp_frame(payload: &[u8], flags: u8, opts: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        let ip_len = 20 + 20 + opts + payload.len();
        f.extend_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0x12,
            0x34,
            0x40,
            0,
        ]);
        f.extend_from_slice(&[64, 6, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2]);
        f.extend_from_slice(&[0, 70, 0xC0, 0x01, 0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0]);
        f.push((((20 + opts) / 4) << 4) as u8);
        f.push(flags);
        f.extend_from_slice(&[0xFF, 0xFF, 0, 0, 0, 0]);
        f.extend(std::iter::repeat_n(1u8, opts));
        f.extend_from_slice(payload);
        f
    }

    /// The TCP checksum of `tcp_frame(b"hello", 0x18, 0)`, computed by hand (RFC 1071, not with
    /// this crate's or smoltcp's code).
    const TCP_HELLO_CHECKSUM: [u8; 2] = [0x87, 0x11];

    /// Whether the frame's IP and TCP checksums verify (smoltcp's check, not the code under
    /// test; the packets test also compares with checksums computed by hand).
    fn checksums_ok(f: &[u8]) -> bool {
        let Ok(ip) = Ipv4Packet::new_checked(&f[14..]) else {
            return false;
        };
        let (src, dst) = (
            IpAddress::Ipv4(ip.src_addr()),
            IpAddress::Ipv4(ip.dst_addr()),
        );
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return false;
        };
        ip.verify_checksum() && tcp.verify_checksum(&src, &dst)
    }

    #[test]
    fn a_gso_packet_is_cut_into_wire_frames() {
        let payload: Vec<u8> = (0..4000u32).map(|i| (i * 7) as u8).collect();
        // ACK|PSH|FIN|CWR.
        let packet = tcp_frame(&payload, 0x10 | 0x08 | 0x01 | 0x80, 12);
        let mut cut = Vec::new();
        assert!(cut_tcp4(&packet, 1448, &mut cut));
        let frames: Vec<&[u8]> = nic::frames(&cut).collect();
        assert_eq!(frames.len(), 3);
        // Each frame's IP and TCP checksums, worked out by hand (RFC 1071).
        let by_hand: [[u8; 4]; 3] = [
            [0x0E, 0x4C, 0x01, 0x60],
            [0x0E, 0x4B, 0x19, 0x55],
            [0x0F, 0xA2, 0x48, 0xE3],
        ];
        let mut data = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            assert!(f.len() <= MAX_FRAME);
            assert!(checksums_ok(f), "frame {i}");
            assert_eq!(f[24..26], by_hand[i][..2], "frame {i}'s IP checksum");
            assert_eq!(f[50..52], by_hand[i][2..], "frame {i}'s TCP checksum");
            let ip_len = u16::from_be_bytes([f[16], f[17]]) as usize;
            assert_eq!(ip_len, f.len() - 14);
            assert_eq!(u16::from_be_bytes([f[18], f[19]]), 0x1234 + i as u16);
            let seq = u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
            assert_eq!(seq, 0x1000 + (i * 1448) as u32);
            let flags = f[47];
            assert_eq!(flags & 0x10, 0x10);
            assert_eq!(flags & 0x09 != 0, i == 2, "FIN/PSH on the last only");
            assert_eq!(flags & 0x80 != 0, i == 0, "CWR on the first only");
            data.extend_from_slice(&f[66..]);
        }
        assert_eq!(data, payload);
        // Not TCP/IPv4, or segments too big for the link: refused, nothing appended.
        let mut none = Vec::new();
        assert!(!cut_tcp4(&packet, 1500, &mut none));
        let mut udp = packet.clone();
        udp[23] = 17;
        assert!(!cut_tcp4(&udp, 1448, &mut none));
        assert!(!cut_tcp4(&packet[..40], 1448, &mut none));
        assert!(none.is_empty());
    }

    #[test]
    fn packets_from_the_descriptor_become_frames() {
        // A small frame whose TCP checksum Linux left partial: the pseudo-header sum in place.
        let mut f = tcp_frame(b"hello", 0x18, 0);
        // Linux's partial sum: 10.77.0.1 + 10.77.0.2 + protocol 6 + TCP length 25, folded.
        let partial: u16 = 0x0a4d + 0x0001 + 0x0a4d + 0x0002 + 6 + 25;
        f[50..52].copy_from_slice(&partial.to_be_bytes());
        // The IP header checksum, worked out by hand (RFC 1071) for this header.
        f[24..26].copy_from_slice(&[0x13, 0xFB]);
        let mut pkt = vec![VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 0, 0, 0, 0, 34, 0, 16, 0];
        pkt.extend_from_slice(&f);
        let mut cut = Vec::new();
        assert_eq!(packet(&mut pkt, &mut cut), Packet::Frame);
        assert!(checksums_ok(&pkt[VNET_HDR..]));
        // The TCP checksum as worked out by hand (RFC 1071 over the pseudo-header and segment).
        assert_eq!(pkt[VNET_HDR + 50..VNET_HDR + 52], TCP_HELLO_CHECKSUM);
        // A GSO packet.
        let big = tcp_frame(&[9u8; 3000], 0x10, 0);
        let mut pkt = vec![0, VNET_GSO_TCPV4, 54, 0, 0xB4, 0x05, 34, 0, 16, 0];
        pkt.extend_from_slice(&big);
        assert_eq!(packet(&mut pkt, &mut cut), Packet::Cut);
        assert_eq!(nic::frames(&cut).count(), 3);
        // Too big without GSO, a checksum outside the frame, an offload not offered, too short.
        let mut pkt = vec![0u8; VNET_HDR];
        pkt.extend_from_slice(&big);
        assert_eq!(packet(&mut pkt, &mut cut), Packet::Dropped);
        let mut pkt = vec![VNET_F_NEEDS_CSUM, 0, 0, 0, 0, 0, 0xFF, 0, 16, 0];
        pkt.extend_from_slice(&f);
        assert_eq!(packet(&mut pkt, &mut cut), Packet::Dropped);
        let mut pkt = vec![0, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        pkt.extend_from_slice(&f);
        assert_eq!(packet(&mut pkt, &mut cut), Packet::Dropped);
        assert_eq!(packet(&mut [0u8; 12], &mut cut), Packet::Dropped);
    }
}
