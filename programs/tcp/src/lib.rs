//! `tcp`: eurali's TCP/IP server. smoltcp runs on the Ethernet frames of `/dev/nic`
//! (`libeurali::proto::nic`) and clients get sockets through `libeurali::proto::net`, which
//! std's `net` speaks.
//!
//! ```text
//! tcp [--static ADDR/PREFIX] [--gateway IP] [--dns IP]...
//! ```
//! Without `--static` the address, gateway and DNS servers come from DHCP. The server answers
//! on its standard input handle: init makes a rendezvous, mounts one end at `/net` and starts
//! `tcp` with the other as stdin (so `tcp` is not a command to run by hand).
//!
//! Threads: one **poll thread** owns the device and runs smoltcp (`Interface::poll`), then
//! waits for the next frame for at most smoltcp's poll delay (and a short cap, so that requests
//! made meanwhile go out promptly: the NIC protocol cannot be interrupted); one thread serves
//! the mount handle (it only makes sessions); one thread per **session** serves that client's
//! requests. A session works on the shared smoltcp state under a lock and, when it must wait
//! (a connect, a read with nothing to read, a full send buffer, a DNS answer), sleeps on its
//! own `Notify`, which the poll thread rings when anything happened or the session's deadline
//! passed. DNS answers (A records) are cached for five minutes, failures for thirty seconds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Notify};
use std::time::Duration;

use libeurali::proto::net::{self, NetError, Request};
use libeurali::proto::{nic, stream};
use libeurali::{Handle, Message, Word, msgtype, receive, send};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, dns, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    DnsQueryType, EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint,
    IpListenEndpoint, Ipv4Address, Ipv4Cidr,
};

/// Receive buffer (the window we offer): large on the host, modest in the real kernel's fixed
/// 4 MiB heap.
#[cfg(not(target_os = "none"))]
const TCP_RX: usize = 1024 * 1024;
#[cfg(target_os = "none")]
const TCP_RX: usize = 64 * 1024;
const TCP_TX: usize = 32 * 1024;
const UDP_BUF: usize = 16 * 1024;
const DEFAULT_CONNECT_MS: u64 = 75_000;
const DNS_TIMEOUT_MS: u64 = 10_000;
const DNS_TTL: Duration = Duration::from_secs(300);
const DNS_NEG_TTL: Duration = Duration::from_secs(30);
/// Longest wait for a frame while sessions exist or were recently busy / after a quiet while
/// (requests made meanwhile wait for the poll thread's next round).
const CAP_ACTIVE: Duration = Duration::from_micros(250);
const CAP_IDLE: Duration = Duration::from_millis(10);
/// How long the server stays quick after the last activity.
const QUIET_AFTER: Duration = Duration::from_secs(3);
/// A closing socket that has not finished closing by then is aborted.
const LINGER: Duration = Duration::from_secs(30);
/// Most TCP and UDP sockets at once, lingering ones and listen backlogs included. Each TCP
/// socket holds its buffers from the start (96 KiB on the real kernel: 64 KiB in, 32 KiB out),
/// so 24 of them are 2.3 MiB of the server's fixed 4 MiB heap; one client could otherwise open
/// sockets until the allocator fails, which halts the machine. Beyond it: `Exhausted`.
const MAX_SOCKETS: usize = 24;
/// Most names in the DNS cache (expired ones go first, then the one expiring soonest).
const DNS_CACHE_MAX: usize = 64;

fn now() -> Instant {
    Instant::from_micros(std::time::uptime().as_micros() as i64)
}

fn say(msg: &str) {
    eprintln!("tcp: {msg}");
}

/// The configuration from the command line.
#[derive(Debug, Default, PartialEq)]
pub struct Settings {
    pub address: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Address>,
    pub dns: Vec<Ipv4Address>,
}

/// Parses the arguments (see the crate doc).
pub fn parse_args(args: &[String]) -> Result<Settings, String> {
    let mut s = Settings::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs {what}"))
        };
        match a.as_str() {
            "--static" => {
                let v = value("ADDR/PREFIX")?;
                let (ip, len) = v
                    .split_once('/')
                    .ok_or_else(|| format!("--static {v}: expected ADDR/PREFIX"))?;
                let ip: Ipv4Address = ip.parse().map_err(|_| format!("bad address {ip:?}"))?;
                let len: u8 = len
                    .parse()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(|| format!("bad prefix length {len:?}"))?;
                s.address = Some(Ipv4Cidr::new(ip, len));
            }
            "--gateway" => {
                let v = value("IP")?;
                s.gateway = Some(v.parse().map_err(|_| format!("bad gateway {v:?}"))?);
            }
            "--dns" => {
                let v = value("IP")?;
                s.dns
                    .push(v.parse().map_err(|_| format!("bad DNS server {v:?}"))?);
            }
            "dhcp" | "--dhcp" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if s.address.is_none() && (s.gateway.is_some()) {
        return Err("--gateway needs --static".into());
    }
    Ok(s)
}

/// The most bytes of received frames one request brings: large on the host, modest in the real
/// kernel's heap (where the window is no larger either).
#[cfg(not(target_os = "none"))]
const RX_BATCH: usize = nic::MAX_BATCH;
#[cfg(target_os = "none")]
const RX_BATCH: usize = 64 * 1024;

/// Received frames not yet given to smoltcp, as records (`nic::frames`).
enum Inbox {
    Empty,
    /// A reply's chunk, used where it landed.
    Chunk(libeurali::MemoryChunk),
    /// Frames copied (a device without batches, or batches that met).
    Copied(Vec<u8>),
}

impl Inbox {
    fn records(&self) -> &[u8] {
        match self {
            Inbox::Empty => &[],
            Inbox::Chunk(c) => c.as_slice(),
            Inbox::Copied(v) => v,
        }
    }
}

/// How long a busy `/dev/nic` is waited for at the start. The device has one client, but a tcp
/// that was killed lets go of it only when the exchange its poll thread was in comes back (its
/// wait is short, yet init starts the next tcp as soon as the status comes); the new tcp, which
/// gave up at once, failed five times within milliseconds, and init stopped starting it.
const NIC_BUSY_WAIT: Duration = Duration::from_secs(5);

/// The device's MAC address, waiting up to [`NIC_BUSY_WAIT`] while the device is busy.
fn mac_address(h: &Handle) -> Result<[u8; 6], libeurali::Error> {
    let start = std::time::Instant::now();
    loop {
        match nic::mac_address(h) {
            Err(e) if e.is_transient() && start.elapsed() < NIC_BUSY_WAIT => {
                std::thread::sleep(Duration::from_millis(2));
            }
            r => return r,
        }
    }
}

/// The smoltcp device: frames over `/dev/nic`. Used by the poll thread only.
struct Nic {
    h: Handle,
    /// Received frames, from offset `at` of its records on.
    inbox: Inbox,
    at: usize,
    /// One frame, for a device without batches.
    buf: Vec<u8>,
    dead: bool,
    /// Whether the device answers `NIC_POLL_MANY` (until it says it does not).
    batches: bool,
    /// Whether the device answers `NIC_SEND_POLL_MANY` (until it says it does not).
    exchanges: bool,
    /// Frames smoltcp produced, as records, to send once the lock is released.
    out: Vec<u8>,
}

impl Nic {
    /// Whether received frames wait for smoltcp.
    fn has_rx(&self) -> bool {
        nic::next_record(self.inbox.records(), self.at).is_some()
    }

    /// Takes a reply's records in: used in place, or after what is still waiting.
    fn accept(&mut self, records: libeurali::MemoryChunk) {
        if self.has_rx() {
            let mut v = self.inbox.records()[self.at..].to_vec();
            v.extend_from_slice(records.as_slice());
            self.inbox = Inbox::Copied(v);
        } else {
            self.inbox = Inbox::Chunk(records);
        }
        self.at = 0;
    }

    fn failed(&mut self, e: libeurali::Error) {
        if e.is_transient() {
            // Busy: a tcp killed just before this one started may still be in its last
            // exchange (see [`NIC_BUSY_WAIT`]). The frames to send are lost, as on a wire (TCP
            // sends them again); the next round tries again.
            self.out.clear();
            return;
        }
        say(&format!("/dev/nic failed: {e}; the network is down"));
        self.dead = true;
        self.out.clear();
    }

    /// Sends the frames smoltcp queued, then waits up to `wait` for frames (0: only those
    /// already there) and takes them in for smoltcp. Sending and receiving go in one request
    /// where the device allows: one round trip, rather than one per frame sent and one more.
    fn exchange(&mut self, wait: Duration) {
        if self.dead {
            self.out.clear();
            std::thread::sleep(wait);
            return;
        }
        let wait_us = wait.as_micros().min(u64::MAX as u128) as u64;
        let mut sent = 0;
        while self.exchanges && sent < self.out.len() {
            // As many whole records as one request carries.
            let mut end = sent;
            while let Some((_, next)) = nic::next_record(&self.out, end) {
                if next - sent > nic::MAX_BATCH {
                    break;
                }
                end = next;
            }
            if end == sent {
                // Not a record (TxTok makes none such): what is left is dropped.
                self.out.truncate(sent);
                break;
            }
            // Only the last request waits.
            let us = if end == self.out.len() { wait_us } else { 0 };
            match nic::send_poll_many(&self.h, &self.out[sent..end], RX_BATCH, us) {
                Ok(nic::Received::Records(c)) => self.accept(c),
                Ok(nic::Received::Empty) => {}
                // Nothing of this request was sent: the rest goes the plain way.
                Ok(nic::Received::Unsupported) => {
                    self.exchanges = false;
                    break;
                }
                Err(e) => return self.failed(e),
            }
            sent = end;
            if sent == self.out.len() {
                self.out.clear();
                return;
            }
        }
        // One NIC_SEND per frame; a frame the device refuses is lost, as on a wire.
        for f in nic::frames(&self.out[sent..]) {
            let _ = nic::send(&self.h, f);
        }
        self.out.clear();
        self.fetch(wait_us);
    }

    /// Frames that come within `wait_us` (0: only those already there), taken in for smoltcp.
    fn fetch(&mut self, wait_us: u64) {
        if self.batches {
            match nic::poll_many(&self.h, RX_BATCH, wait_us) {
                Ok(nic::Received::Records(c)) => return self.accept(c),
                Ok(nic::Received::Empty) => return,
                Ok(nic::Received::Unsupported) => self.batches = false,
                Err(e) => return self.failed(e),
            }
        }
        match nic::recv(&self.h, &mut self.buf, Some(wait_us)) {
            Ok(Some(n)) => {
                let mut v = self.inbox.records()[self.at..].to_vec();
                nic::push_record(&mut v, &self.buf[..n], usize::MAX);
                self.inbox = Inbox::Copied(v);
                self.at = 0;
            }
            Ok(None) => {}
            Err(e) => self.failed(e),
        }
    }
}

struct RxTok<'a>(&'a [u8]);
struct TxTok<'a>(&'a mut Vec<u8>);

impl phy::RxToken for RxTok<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxTok<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if !(nic::MIN_FRAME..=nic::MAX_FRAME).contains(&len) {
            // A frame the device would refuse is lost, as on a wire (smoltcp makes none).
            return f(&mut vec![0u8; len]);
        }
        // Appended as a record, sent by the poll thread once it has let go of the lock (see
        // `Nic::exchange`).
        let at = self.0.len();
        self.0.extend_from_slice(&(len as u16).to_le_bytes());
        self.0.resize(at + 2 + len, 0);
        f(&mut self.0[at + 2..])
    }
}

impl Device for Nic {
    type RxToken<'a> = RxTok<'a>;
    type TxToken<'a> = TxTok<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxTok<'_>, TxTok<'_>)> {
        let Nic { inbox, at, out, .. } = self;
        let (f, next) = nic::next_record(inbox.records(), *at)?;
        *at = next;
        Some((RxTok(f), TxTok(out)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxTok<'_>> {
        (!self.dead).then_some(TxTok(&mut self.out))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = nic::MAX_FRAME;
        caps
    }
}

struct Waiter {
    id: u64,
    notify: Arc<Notify>,
    deadline: Option<Instant>,
}

/// The smoltcp state every thread works on, under one lock.
struct Stack {
    iface: Interface,
    sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    dns: SocketHandle,
    configured: bool,
    next_port: u16,
    waiters: Vec<Waiter>,
    closing: Vec<(SocketHandle, Instant)>,
    dns_cache: BTreeMap<String, (Option<Ipv4Address>, Instant)>,
    sessions: usize,
    /// Handle numbers the server's threads receive on: `/net`'s and every session's (for a
    /// kill to wake them; see [`killed`]).
    receivers: Vec<u32>,
}

type Shared = Arc<Mutex<Stack>>;

impl Stack {
    /// `Exhausted` unless `n` more data sockets fit under [`MAX_SOCKETS`].
    fn room_for(&self, n: usize) -> Result<(), NetError> {
        let used = self
            .sockets
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s,
                    smoltcp::socket::Socket::Tcp(_) | smoltcp::socket::Socket::Udp(_)
                )
            })
            .count();
        if used + n > MAX_SOCKETS {
            Err(NetError::Exhausted)
        } else {
            Ok(())
        }
    }

    /// Caches a lookup's answer, keeping the cache within [`DNS_CACHE_MAX`] names.
    fn cache_name(&mut self, name: String, entry: (Option<Ipv4Address>, Instant)) {
        if !self.dns_cache.contains_key(&name) && self.dns_cache.len() >= DNS_CACHE_MAX {
            let t = now();
            self.dns_cache.retain(|_, (_, until)| *until > t);
            if self.dns_cache.len() >= DNS_CACHE_MAX
                && let Some(k) = self
                    .dns_cache
                    .iter()
                    .min_by_key(|(_, (_, until))| *until)
                    .map(|(k, _)| k.clone())
            {
                self.dns_cache.remove(&k);
            }
        }
        self.dns_cache.insert(name, entry);
    }

    /// The next port of 49152..=65535 that no socket uses.
    fn ephemeral_port(&mut self) -> u16 {
        let in_use = |st: &Stack, port: u16| {
            st.sockets.iter().any(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => {
                    t.local_endpoint().is_some_and(|e| e.port == port)
                        || t.listen_endpoint().port == port
                }
                smoltcp::socket::Socket::Udp(u) => u.endpoint().port == port,
                _ => false,
            })
        };
        let mut p = self.next_port;
        for _ in 0..16384 {
            p = if p == u16::MAX || p < 49152 {
                49152
            } else {
                p + 1
            };
            if !in_use(self, p) {
                break;
            }
        }
        self.next_port = p;
        p
    }

    fn apply(&mut self, address: Ipv4Cidr, gateway: Option<Ipv4Address>, dns: &[Ipv4Address]) {
        self.iface.update_ip_addrs(|a| {
            a.clear();
            let _ = a.push(IpCidr::Ipv4(address));
        });
        match gateway {
            Some(gw) => {
                let _ = self.iface.routes_mut().add_default_ipv4_route(gw);
            }
            None => {
                self.iface.routes_mut().remove_default_ipv4_route();
            }
        }
        let servers: Vec<IpAddress> = dns.iter().map(|d| IpAddress::Ipv4(*d)).collect();
        self.sockets
            .get_mut::<dns::Socket>(self.dns)
            .update_servers(&servers);
        self.configured = true;
        let dns_text: Vec<String> = dns.iter().map(|d| d.to_string()).collect();
        say(&format!(
            "address {address}, gateway {}, DNS {}",
            gateway
                .map(|g| g.to_string())
                .unwrap_or_else(|| "none".into()),
            if dns_text.is_empty() {
                "none".to_string()
            } else {
                dns_text.join(" ")
            }
        ));
    }

    fn local_v4(&self) -> Option<Ipv4Address> {
        self.iface.ipv4_addr()
    }

    /// DHCP events, finished closes.
    fn maintain(&mut self, t: Instant) {
        if let Some(h) = self.dhcp {
            let ev = match self.sockets.get_mut::<dhcpv4::Socket>(h).poll() {
                Some(dhcpv4::Event::Configured(c)) => {
                    Some(Some((c.address, c.router, c.dns_servers.to_vec())))
                }
                Some(dhcpv4::Event::Deconfigured) => Some(None),
                None => None,
            };
            match ev {
                Some(Some((a, r, d))) => self.apply(a, r, &d),
                // smoltcp says "deconfigured" at its first poll too, before any lease: only a
                // lease that was held can be lost.
                Some(None) => {
                    self.iface.update_ip_addrs(|a| a.clear());
                    self.iface.routes_mut().remove_default_ipv4_route();
                    if core::mem::replace(&mut self.configured, false) {
                        say("DHCP lease lost");
                    }
                }
                None => {}
            }
        }
        let mut i = 0;
        while i < self.closing.len() {
            let (h, since) = self.closing[i];
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            let done = matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait);
            if done || t - since > smoltcp::time::Duration::from_secs(LINGER.as_secs()) {
                s.abort();
                self.sockets.remove(h);
                self.closing.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
}

fn to_ep(addr: u64) -> (Ipv4Address, u16) {
    let (ip, port) = net::unpack_addr(addr);
    (Ipv4Address::from_octets(ip), port)
}

fn pack_ep(ep: IpEndpoint) -> u64 {
    match ep.addr {
        IpAddress::Ipv4(a) => net::pack_addr(a.octets(), ep.port),
    }
}

fn tcp_socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_RX]),
        tcp::SocketBuffer::new(vec![0; TCP_TX]),
    );
    s.set_nagle_enabled(false);
    s
}

/// What a session's socket is.
enum Sock {
    None,
    Tcp(SocketHandle),
    Listen { port: u16, pool: Vec<SocketHandle> },
    Udp(SocketHandle),
}

struct Session {
    shared: Shared,
    notify: Arc<Notify>,
    id: u64,
    sock: Sock,
    /// A TCP connection's (local, peer) addresses as last known: smoltcp forgets them once the
    /// connection has closed, but `peer_addr` still names the peer then (as on Unix).
    known: (u64, u64),
}

fn lk(s: &Shared) -> std::sync::MutexGuard<'_, Stack> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn deadline_after(ms: u64) -> Option<Instant> {
    (ms != 0).then(|| now() + smoltcp::time::Duration::from_millis(ms))
}

impl Session {
    /// Runs `check` under the lock until it gives an answer, sleeping between tries; a
    /// `TimedOut` error once `deadline` has passed.
    fn wait<T>(
        &self,
        deadline: Option<Instant>,
        mut check: impl FnMut(&mut Stack) -> Option<Result<T, NetError>>,
    ) -> Result<T, NetError> {
        loop {
            {
                let mut st = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                st.waiters.retain(|w| w.id != self.id);
                if libeurali::kill::doomed() {
                    return Err(NetError::Reset); // the server was killed: so is the connection
                }
                if let Some(r) = check(&mut st) {
                    return r;
                }
                if deadline.is_some_and(|d| now() >= d) {
                    return Err(NetError::TimedOut);
                }
                st.waiters.push(Waiter {
                    id: self.id,
                    notify: self.notify.clone(),
                    deadline,
                });
            }
            self.notify.wait();
        }
    }

    fn connect(&mut self, addr: u64, timeout_ms: u64) -> Result<u64, NetError> {
        if !matches!(self.sock, Sock::None) {
            return Err(NetError::AlreadyConnected);
        }
        let (ip, port) = to_ep(addr);
        if port == 0 || ip.is_unspecified() || ip.is_broadcast() {
            return Err(NetError::InvalidInput);
        }
        let timeout = if timeout_ms == 0 {
            DEFAULT_CONNECT_MS
        } else {
            timeout_ms
        };
        let deadline = deadline_after(timeout);
        // Wait for an address (DHCP may still be at work).
        self.wait(deadline, |st| st.configured.then_some(Ok(())))
            .map_err(|_| NetError::Unreachable)?;
        let h = {
            let mut st = lk(&self.shared);
            st.room_for(1)?;
            let local = st.ephemeral_port();
            let mut s = tcp_socket();
            let Stack { iface, .. } = &mut *st;
            s.connect(iface.context(), (IpAddress::Ipv4(ip), port), local)
                .map_err(|e| match e {
                    tcp::ConnectError::Unaddressable => NetError::Unreachable,
                    tcp::ConnectError::InvalidState => NetError::AlreadyConnected,
                })?;
            st.sockets.add(s)
        };
        self.sock = Sock::Tcp(h);
        let r = self.wait(deadline, |st| {
            let s = st.sockets.get::<tcp::Socket>(h);
            match s.state() {
                tcp::State::SynSent | tcp::State::SynReceived => None,
                tcp::State::Closed => Some(Err(NetError::Refused)),
                _ => s.local_endpoint().map(|e| Ok(pack_ep(e))),
            }
        });
        if r.is_err() {
            let mut st = lk(&self.shared);
            st.sockets.get_mut::<tcp::Socket>(h).abort();
            st.sockets.remove(h);
            self.sock = Sock::None;
        }
        r
    }

    fn listen(&mut self, addr: u64, backlog: u64) -> Result<u64, NetError> {
        if !matches!(self.sock, Sock::None) {
            return Err(NetError::AlreadyConnected);
        }
        let (ip, port) = to_ep(addr);
        if port == 0 {
            return Err(NetError::InvalidInput);
        }
        let n = backlog.clamp(1, 8) as usize;
        let mut st = lk(&self.shared);
        let taken = st.sockets.iter().any(|(_, s)| match s {
            smoltcp::socket::Socket::Tcp(t) => {
                t.listen_endpoint().port == port && t.state() == tcp::State::Listen
            }
            _ => false,
        });
        if taken {
            return Err(NetError::AddrInUse);
        }
        st.room_for(n)?;
        let mut pool = Vec::new();
        for _ in 0..n {
            let mut s = tcp_socket();
            s.listen(port).map_err(|_| NetError::InvalidInput)?;
            pool.push(st.sockets.add(s));
        }
        self.sock = Sock::Listen { port, pool };
        Ok(net::pack_addr(ip.octets(), port))
    }

    fn accept(&mut self, timeout_ms: u64) -> Result<(Handle, u64), NetError> {
        let Sock::Listen { port, pool } = &mut self.sock else {
            return Err(NetError::NotConnected);
        };
        let port = *port;
        let deadline = deadline_after(timeout_ms);
        let pool_now = pool.clone();
        let (h, peer) = self.wait(deadline, |st| {
            pool_now.iter().find_map(|h| {
                let s = st.sockets.get::<tcp::Socket>(*h);
                match s.state() {
                    tcp::State::Listen | tcp::State::SynReceived => None,
                    _ => Some(Ok((*h, s.remote_endpoint().map(pack_ep).unwrap_or(0)))),
                }
            })
        })?;
        let mut st = lk(&self.shared);
        // The accepted socket leaves the backlog; a fresh one takes its place while sockets
        // are to be had (else the backlog shrinks, down to the last one).
        let refill = st.room_for(1).is_ok() || pool_now.len() <= 1;
        let nh = refill.then(|| {
            let mut fresh = tcp_socket();
            let _ = fresh.listen(port);
            st.sockets.add(fresh)
        });
        if let Sock::Listen { pool, .. } = &mut self.sock {
            pool.retain(|x| *x != h);
            pool.extend(nh);
        }
        st.sessions += 1;
        drop(st);
        match spawn_session(self.shared.clone(), Sock::Tcp(h)) {
            Ok(c) => Ok((c, peer)),
            Err(e) => {
                let mut st = lk(&self.shared);
                st.sessions -= 1;
                st.sockets.get_mut::<tcp::Socket>(h).abort();
                st.sockets.remove(h);
                Err(e)
            }
        }
    }

    fn udp_bind(&mut self, addr: u64) -> Result<u64, NetError> {
        if !matches!(self.sock, Sock::None) {
            return Err(NetError::AlreadyConnected);
        }
        let (ip, mut port) = to_ep(addr);
        let mut st = lk(&self.shared);
        st.room_for(1)?;
        if port == 0 {
            port = st.ephemeral_port();
        }
        let mut s = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 32], vec![0; UDP_BUF]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 32], vec![0; UDP_BUF]),
        );
        let ep = if ip.is_unspecified() {
            IpListenEndpoint { addr: None, port }
        } else {
            IpListenEndpoint {
                addr: Some(IpAddress::Ipv4(ip)),
                port,
            }
        };
        s.bind(ep).map_err(|_| NetError::AddrInUse)?;
        let h = st.sockets.add(s);
        self.sock = Sock::Udp(h);
        Ok(net::pack_addr(ip.octets(), port))
    }

    fn read(&mut self, max: usize, timeout_ms: u64) -> Result<Message, NetError> {
        let Sock::Tcp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        let deadline = deadline_after(timeout_ms);
        loop {
            // Wait for data (how much is there), or for the end: what recv says with nothing to
            // receive into.
            let there = self.wait(deadline, |st| {
                let s = st.sockets.get_mut::<tcp::Socket>(h);
                if s.can_recv() {
                    return Some(Ok(s.recv_queue()));
                }
                match s.recv_slice(&mut []) {
                    Ok(_) => None,
                    Err(tcp::RecvError::Finished) => Some(Ok(0)),
                    Err(tcp::RecvError::InvalidState) => Some(Err(NetError::Reset)),
                }
            })?;
            if there == 0 {
                return Ok(stream::eof_reply());
            }
            // Straight from the socket's buffer into the reply's chunk, no bigger than what is
            // there (only this session reads the socket, so that much stays there).
            let shared = self.shared.clone();
            let chunk = libeurali::MemoryChunk::alloc_with(max.min(there), |b| {
                lk(&shared)
                    .sockets
                    .get_mut::<tcp::Socket>(h)
                    .recv_slice(b)
                    .map_err(|_| NetError::Reset)
            })??;
            let n = chunk.len();
            if n > 0 {
                return Ok(Message::Long(
                    msgtype::DATA,
                    Word::Value(n as u64),
                    Word::Chunk(chunk),
                ));
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, NetError> {
        let Sock::Tcp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        self.wait(None, |st| {
            let s = st.sockets.get_mut::<tcp::Socket>(h);
            if !s.may_send() {
                return Some(Err(if s.state() == tcp::State::Closed {
                    NetError::Reset
                } else {
                    NetError::NotConnected
                }));
            }
            match s.send_slice(data) {
                Ok(0) => None,
                Ok(n) => Some(Ok(n)),
                Err(_) => Some(Err(NetError::Reset)),
            }
        })
    }

    fn send_to(&mut self, data: &[u8], addr: u64) -> Result<usize, NetError> {
        let Sock::Udp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        let (ip, port) = to_ep(addr);
        if port == 0 {
            return Err(NetError::InvalidInput);
        }
        if data.len() > UDP_BUF {
            return Err(NetError::InvalidInput);
        }
        self.wait(None, |st| {
            let s = st.sockets.get_mut::<udp::Socket>(h);
            match s.send_slice(data, (IpAddress::Ipv4(ip), port)) {
                Ok(()) => Some(Ok(data.len())),
                Err(udp::SendError::BufferFull) => None,
                Err(udp::SendError::Unaddressable) => Some(Err(NetError::Unreachable)),
            }
        })
    }

    fn recv_from(&mut self, max: usize, timeout_ms: u64) -> Result<Message, NetError> {
        let Sock::Udp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        let (data, from) = self.wait(deadline_after(timeout_ms), |st| {
            let s = st.sockets.get_mut::<udp::Socket>(h);
            match s.recv() {
                Ok((d, meta)) => {
                    let n = d.len().min(max);
                    Some(Ok((d[..n].to_vec(), pack_ep(meta.endpoint))))
                }
                Err(_) => None,
            }
        })?;
        Ok(net::datagram_reply(&data, from)?)
    }

    fn shutdown(&mut self, how: u64) -> Result<u64, NetError> {
        let Sock::Tcp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        if how >= 1 {
            lk(&self.shared).sockets.get_mut::<tcp::Socket>(h).close();
        }
        Ok(0)
    }

    fn addrs(&mut self) -> (u64, u64) {
        let st = lk(&self.shared);
        match &self.sock {
            Sock::Tcp(h) => {
                let s = st.sockets.get::<tcp::Socket>(*h);
                if let Some(l) = s.local_endpoint() {
                    self.known.0 = pack_ep(l);
                }
                if let Some(p) = s.remote_endpoint() {
                    self.known.1 = pack_ep(p);
                }
                self.known
            }
            Sock::Listen { port, .. } => (
                net::pack_addr(st.local_v4().map(|a| a.octets()).unwrap_or([0; 4]), *port),
                0,
            ),
            Sock::Udp(h) => {
                let ep = st.sockets.get::<udp::Socket>(*h).endpoint();
                let ip = match ep.addr {
                    Some(IpAddress::Ipv4(a)) => a.octets(),
                    None => st.local_v4().map(|a| a.octets()).unwrap_or([0; 4]),
                };
                (net::pack_addr(ip, ep.port), 0)
            }
            Sock::None => (0, 0),
        }
    }

    fn resolve(&mut self, name: &str) -> Result<Ipv4Address, NetError> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = name.parse::<Ipv4Address>() {
            return Ok(ip);
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return Err(NetError::NameNotFound);
        }
        let deadline = deadline_after(DNS_TIMEOUT_MS);
        {
            let mut st = lk(&self.shared);
            let t = now();
            if let Some((ip, until)) = st.dns_cache.get(&name) {
                if *until > t {
                    return ip.ok_or(NetError::NameNotFound);
                }
                st.dns_cache.remove(&name);
            }
        }
        self.wait(deadline, |st| st.configured.then_some(Ok(())))
            .map_err(|_| NetError::Unreachable)?;
        let q = {
            let mut st = lk(&self.shared);
            let dns_h = st.dns;
            let Stack { iface, sockets, .. } = &mut *st;
            sockets
                .get_mut::<dns::Socket>(dns_h)
                .start_query(iface.context(), &name, DnsQueryType::A)
                .map_err(|e| match e {
                    dns::StartQueryError::NoFreeSlot => NetError::Exhausted,
                    _ => NetError::NameNotFound,
                })?
        };
        let r = self.wait(deadline, |st| {
            let dns_h = st.dns;
            match st.sockets.get_mut::<dns::Socket>(dns_h).get_query_result(q) {
                Err(dns::GetQueryResultError::Pending) => None,
                Err(dns::GetQueryResultError::Failed) => Some(Ok(None)),
                Ok(addrs) => Some(Ok(addrs
                    .iter()
                    .map(|a| match a {
                        IpAddress::Ipv4(v) => *v,
                    })
                    .next())),
            }
        });
        let mut st = lk(&self.shared);
        match r {
            Ok(found) => {
                let ttl = if found.is_some() {
                    DNS_TTL
                } else {
                    DNS_NEG_TTL
                };
                let until = now() + smoltcp::time::Duration::from_secs(ttl.as_secs());
                st.cache_name(name, (found, until));
                found.ok_or(NetError::NameNotFound)
            }
            Err(e) => {
                let dns_h = st.dns;
                st.sockets.get_mut::<dns::Socket>(dns_h).cancel_query(q);
                Err(e)
            }
        }
    }

    /// Closes the socket; a TCP connection finishes closing in the background.
    fn close(&mut self) {
        let mut st = lk(&self.shared);
        st.waiters.retain(|w| w.id != self.id);
        let t = now();
        match std::mem::replace(&mut self.sock, Sock::None) {
            Sock::Tcp(h) => {
                st.sockets.get_mut::<tcp::Socket>(h).close();
                st.closing.push((h, t));
            }
            Sock::Listen { pool, .. } => {
                for h in pool {
                    st.sockets.get_mut::<tcp::Socket>(h).abort();
                    st.sockets.remove(h);
                }
            }
            Sock::Udp(h) => {
                st.sockets.get_mut::<udp::Socket>(h).close();
                st.sockets.remove(h);
            }
            Sock::None => {}
        }
    }

    /// Answers one request; `None` for CLOSE (answered by the caller, which then ends).
    fn handle(&mut self, req: Request) -> Option<Message> {
        let r: Result<Message, NetError> = match req {
            Request::Socket => Err(NetError::InvalidInput),
            Request::Connect { addr, timeout_ms } => {
                self.connect(addr, timeout_ms).map(net::ok_reply)
            }
            Request::Listen { addr, backlog } => self.listen(addr, backlog).map(net::ok_reply),
            Request::Accept { timeout_ms } => self.accept(timeout_ms).map(|(h, peer)| {
                Message::Long(msgtype::COMM_HANDLE, Word::Handle(h), Word::Value(peer))
            }),
            Request::UdpBind { addr } => self.udp_bind(addr).map(net::ok_reply),
            Request::Read { max, timeout_ms } => self.read(max, timeout_ms),
            Request::Write(c) => self.write(c.as_slice()).map(|n| net::ok_reply(n as u64)),
            Request::SendTo { data, addr } => self
                .send_to(data.as_slice(), addr)
                .map(|n| net::ok_reply(n as u64)),
            Request::RecvFrom { max, timeout_ms } => self.recv_from(max, timeout_ms),
            Request::Shutdown(how) => self.shutdown(how).map(net::ok_reply),
            Request::Addrs => {
                let (l, p) = self.addrs();
                Ok(Message::Short(net::NET_ADDRESS, l, p))
            }
            Request::Resolve(c) => match core::str::from_utf8(c.as_slice()) {
                Ok(name) => self
                    .resolve(name)
                    .map(|ip| Message::Short(net::NET_ADDRESS, net::pack_addr(ip.octets(), 0), 0)),
                Err(_) => Err(NetError::NameNotFound),
            },
            Request::Close => return None,
            Request::Invalid => Err(NetError::InvalidInput),
            Request::Unknown(_) => Ok(stream::unknown_reply()),
        };
        Some(r.unwrap_or_else(net::error_reply))
    }
}

static NEXT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// A new session on a new rendezvous, served by a new thread; returns the client's end. The
/// caller has counted it in `sessions`.
fn spawn_session(shared: Shared, sock: Sock) -> Result<Handle, NetError> {
    let (srv, cli) = libeurali::new_rendezvous()?;
    let notify = Arc::new(Notify::new().map_err(|_| NetError::Exhausted)?);
    let (raw, shared2) = (srv.raw(), shared.clone());
    lk(&shared).receivers.push(raw);
    let mut s = Session {
        shared,
        notify,
        id: NEXT_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
        sock,
        known: (0, 0),
    };
    let started = std::thread::Builder::new().spawn(move || {
        loop {
            if libeurali::kill::doomed() {
                break;
            }
            let Ok(m) = receive(&srv) else { break };
            if libeurali::kill::doomed() {
                break; // unanswered: the session closes with the server
            }
            // Keep the connection's addresses while smoltcp still knows them.
            let _ = s.addrs();
            let reply = s.handle(net::parse_request(m));
            let _ = s.addrs();
            match reply {
                Some(reply) => {
                    // A reply that cannot be delivered means the client is gone (it died
                    // mid-request): its socket is closed rather than kept forever.
                    if send(&srv, reply).is_err() {
                        break;
                    }
                }
                None => {
                    s.close();
                    let _ = send(&srv, net::ok_reply(0));
                    break;
                }
            }
        }
        s.close();
        let mut st = lk(&s.shared);
        st.sessions -= 1;
        st.receivers.retain(|&n| n != srv.raw());
        drop(srv); // closed under the lock: a kill never copies a reused number
    });
    if started.is_err() {
        // The closure, and the session's handle in it, is gone: take the number off the list.
        lk(&shared2).receivers.retain(|&n| n != raw);
        return Err(NetError::Exhausted);
    }
    Ok(cli)
}

/// Serves the mount handle: every `NET_SOCKET` gets a new session (replies only when owed:
/// see [`net::serve_mount`]).
fn serve_mount(shared: Shared, h: Handle) {
    // A killed tcp still answers the request it took (its client waits for that reply), and
    // serves no more.
    net::serve_mount(&h, libeurali::kill::doomed, |m| {
        if libeurali::kill::doomed() {
            // `/net` outlives this tcp (init keeps it for the next one): a send_receive left
            // unanswered held it for good, its client waiting for ever and every other client
            // refused (RECV_BLOCKING), the next tcp included. The kill's own wake-up is a plain
            // send: no answer.
            if matches!(m, Message::Short(msgtype::KILL_WAKE, _, _)) {
                return net::Turn::Stop;
            }
            return net::Turn::Last(net::error_reply(NetError::Kernel(libeurali::Error::Closed)));
        }
        net::Turn::Reply(match net::parse_request(m) {
            Request::Socket => {
                shared.lock().unwrap_or_else(|e| e.into_inner()).sessions += 1;
                match spawn_session(shared.clone(), Sock::None) {
                    Ok(c) => Message::Long(msgtype::COMM_HANDLE, Word::Handle(c), Word::Value(0)),
                    Err(e) => {
                        shared.lock().unwrap_or_else(|e| e.into_inner()).sessions -= 1;
                        net::error_reply(e)
                    }
                }
            }
            _ => stream::unknown_reply(),
        })
    });
    let mut st = lk(&shared);
    st.receivers.retain(|&n| n != h.raw());
    drop(h); // closed under the lock: a kill never copies a reused number
}

pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_args(&args) {
        Ok(s) => s,
        Err(e) => {
            say(&format!(
                "{e}\nusage: tcp [--static ADDR/PREFIX] [--gateway IP] [--dns IP]..."
            ));
            std::process::exit(2);
        }
    };
    let nic_h = match libeurali::open("/dev/nic") {
        Ok((h, n)) if n == "/dev/nic".len() => h,
        _ => {
            say("no /dev/nic: no network");
            std::process::exit(1);
        }
    };
    let mac = match mac_address(&nic_h) {
        Ok(m) => m,
        Err(e) => {
            say(&format!("/dev/nic: {e}"));
            std::process::exit(1);
        }
    };
    let Some(serve_h) = std::rt::stdin_handle() else {
        say("no handle to serve on (tcp is started by init, with /net's server end as stdin)");
        std::process::exit(2);
    };
    let mut dev = Nic {
        h: nic_h,
        inbox: Inbox::Empty,
        at: 0,
        buf: vec![0u8; nic::MAX_FRAME],
        dead: false,
        batches: true,
        exchanges: true,
        out: Vec::new(),
    };
    let cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    let iface = Interface::new(cfg, &mut dev, now());
    let mut sockets = SocketSet::new(Vec::new());
    let dns = sockets.add(dns::Socket::new(&[], vec![None, None, None, None]));
    let dhcp = settings
        .address
        .is_none()
        .then(|| sockets.add(dhcpv4::Socket::new()));
    let mut stack = Stack {
        iface,
        sockets,
        dhcp,
        dns,
        configured: false,
        next_port: 49152 + (std::time::uptime().as_micros() % 16000) as u16,
        waiters: Vec::new(),
        closing: Vec::new(),
        dns_cache: BTreeMap::new(),
        sessions: 0,
        receivers: Vec::new(),
    };
    if let Some(a) = settings.address {
        stack.apply(a, settings.gateway, &settings.dns);
    }
    stack.receivers.push(serve_h.raw());
    let shared: Shared = Arc::new(Mutex::new(stack));
    let weak = Arc::downgrade(&shared);
    let _on_kill = libeurali::kill::on_kill(Arc::new(move || {
        if let Some(shared) = weak.upgrade() {
            killed(&shared);
        }
    }));
    let s2 = shared.clone();
    if std::thread::Builder::new()
        .spawn(move || serve_mount(s2, serve_h))
        .is_err()
    {
        say("cannot start the server thread");
        std::process::exit(1);
    }
    poll_loop(&shared, &mut dev);
}

/// tcp was killed: every thread waiting for a client (in `receive`) or for the network (on its
/// `Notify`) is woken, sees the kill and ends; clients waiting for a reply get `Reset`, later
/// calls find the session closed. The poll thread ends at its next turn.
fn killed(shared: &Shared) {
    let copies: Vec<Handle> = {
        let st = lk(shared);
        for w in &st.waiters {
            w.notify.notify();
        }
        st.receivers
            .iter()
            // Safety: listed numbers stay open while listed (each is closed under the lock
            // after being taken off the list).
            .filter_map(|&raw| unsafe { Handle::copy_raw(raw) }.ok())
            .collect()
    };
    for h in copies {
        libeurali::kill::wake(h);
    }
}

/// The poll thread: smoltcp, wake-ups, then a bounded wait for the next frame.
fn poll_loop(shared: &Shared, dev: &mut Nic) {
    let mut last_busy = std::time::Instant::now();
    loop {
        std::rt::checkpoint(); // a killed tcp ends here
        let t = now();
        let wait = {
            let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
            let st = &mut *guard;
            let r = st.iface.poll(t, dev, &mut st.sockets);
            st.maintain(t);
            let activity = r == smoltcp::iface::PollResult::SocketStateChanged;
            let mut nearest: Option<Instant> = None;
            for w in &st.waiters {
                if activity || w.deadline.is_some_and(|d| d <= t) {
                    w.notify.notify();
                } else if let Some(d) = w.deadline {
                    nearest = Some(nearest.map_or(d, |n: Instant| n.min(d)));
                }
            }
            if activity || st.sessions > 0 || !st.closing.is_empty() || !st.waiters.is_empty() {
                last_busy = std::time::Instant::now();
            }
            let cap = if last_busy.elapsed() < QUIET_AFTER {
                CAP_ACTIVE
            } else {
                CAP_IDLE
            };
            let mut wait = st
                .iface
                .poll_delay(t, &st.sockets)
                .map(|d| Duration::from_micros(d.total_micros()))
                .unwrap_or(cap)
                .min(cap);
            if let Some(n) = nearest {
                wait = wait.min(Duration::from_micros((n - t).total_micros()));
            }
            wait
        };
        // The device is used only here, outside the lock: sessions are never held up by it.
        dev.exchange(if dev.has_rx() { Duration::ZERO } else { wait });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_args(&[]).unwrap(), Settings::default());
        let s = parse_args(&args(
            "--static 10.7.0.2/24 --gateway 10.7.0.1 --dns 10.7.0.1",
        ))
        .unwrap();
        assert_eq!(
            s.address,
            Some(Ipv4Cidr::new(Ipv4Address::new(10, 7, 0, 2), 24))
        );
        assert_eq!(s.gateway, Some(Ipv4Address::new(10, 7, 0, 1)));
        assert_eq!(s.dns, vec![Ipv4Address::new(10, 7, 0, 1)]);
        assert!(parse_args(&args("--static 10.7.0.2")).is_err());
        assert!(parse_args(&args("--static 10.7.0.2/33")).is_err());
        assert!(parse_args(&args("--gateway 1.2.3.4")).is_err());
        assert!(parse_args(&args("--bogus")).is_err());
    }
}
