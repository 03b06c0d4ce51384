//! The stack: smoltcp's interface and sockets, DHCP, the DNS cache, lingering closes. No I/O
//! of its own: time comes in as an argument and frames through whatever `phy::Device` the
//! caller passes to [`Stack::poll`] (`/dev/nic` in the server, an in-memory link in the tests).

use std::collections::BTreeMap;
use std::time::Duration;

use smoltcp::iface::{Config, Context, Interface, PollResult, Route, SocketHandle, SocketSet};
use smoltcp::phy::{Device, Loopback, Medium};
use smoltcp::socket::{dhcpv4, dns, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};

use libeurali::proto::net::NetError;

use crate::Settings;

/// A closing socket that has not finished closing by then is aborted.
const LINGER: Duration = Duration::from_secs(30);
/// Most TCP and UDP sockets at once, lingering ones and listen backlogs included. Each TCP
/// socket holds its buffers from the start (96 KiB on the real kernel: 64 KiB in, 32 KiB out),
/// so 24 of them are 2.3 MiB of the server's fixed 4 MiB heap; one client could otherwise open
/// sockets until the allocator fails, which halts the machine. Beyond it: `Exhausted`.
pub(crate) const MAX_SOCKETS: usize = 24;
/// Most names in the DNS cache (expired ones go first, then the one expiring soonest).
const DNS_CACHE_MAX: usize = 64;

/// Buffer sizes: the numbers that differ between a small fixed heap and the host. The program
/// does not know its backend; `main` fills this from the heap the runtime reports
/// ([`Sizes::for_heap`]), tests as they like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// A TCP socket's receive buffer (the window we offer).
    pub tcp_rx: usize,
    /// A TCP socket's send buffer.
    pub tcp_tx: usize,
    /// A UDP socket's buffer each way (and the largest datagram sent).
    pub udp_buf: usize,
    /// The most bytes of received frames one `/dev/nic` request brings.
    pub rx_batch: usize,
}

impl Sizes {
    /// Sizes for a heap of `heap` bytes (`None`: not bounded, as on the host). The receive
    /// window and the frame batch are a 64th of the heap each (64 KiB of the real kernel's
    /// 4 MiB), at most 1 MiB and [`libeurali::proto::nic::MAX_BATCH`], the send buffer half
    /// that, at most 256 KiB; without a bound, those largest.
    pub fn for_heap(heap: Option<u64>) -> Sizes {
        const MAX_RX: usize = 1024 * 1024;
        const MAX_TX: usize = 256 * 1024;
        let share = heap.map(|h| usize::try_from(h / 64).unwrap_or(usize::MAX));
        Sizes {
            tcp_rx: share.map_or(MAX_RX, |s| s.clamp(4 * 1024, MAX_RX)),
            // Half the receive share (32 KiB of the real kernel's heap, as before); on the
            // host 256 KiB: a 32 KiB send window held a server (gopherd) to a fifth of what
            // the link carries, each write waiting for the ACKs of the last.
            tcp_tx: share.map_or(MAX_TX, |s| (s / 2).clamp(4 * 1024, MAX_TX)),
            udp_buf: 16 * 1024,
            rx_batch: share.map_or(libeurali::proto::nic::MAX_BATCH, |s| {
                s.clamp(
                    libeurali::proto::nic::MAX_FRAME + 2,
                    libeurali::proto::nic::MAX_BATCH,
                )
            }),
        }
    }
}

/// A TCP socket and the interface whose socket set holds it: the link's, or the loopback
/// interface's (connections to 127/8 and to our own address, and the listeners' sockets for
/// them). Two sets, because an interface polls every socket of the set it is given: the link's
/// would route a loopback connection's SYN to the gateway, and a failed dispatch by the other
/// interface silences a socket for a second (smoltcp's `neighbor_missing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tcp {
    pub(crate) h: SocketHandle,
    pub(crate) lo: bool,
}

/// The smoltcp state every session works on (in the server, under one lock).
pub struct Stack {
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    /// The loopback interface (medium IP over smoltcp's `Loopback`: 127.0.0.1/8 and our own
    /// address), its device and its sockets.
    lo: Interface,
    lo_dev: Loopback,
    pub(crate) lo_sockets: SocketSet<'static>,
    dhcp: Option<SocketHandle>,
    pub(crate) dns: SocketHandle,
    pub(crate) configured: bool,
    next_port: u16,
    closing: Vec<(Tcp, Instant)>,
    pub(crate) dns_cache: BTreeMap<String, (Option<Ipv4Address>, Instant)>,
    /// The DNS answers' codes, for why a lookup failed.
    pub(crate) dns_answers: crate::dnswatch::Answers,
    /// Who spoke ARP on the link lately, for "host unreachable" ([`Stack::next_hop`]).
    pub(crate) neighbors: crate::dnswatch::Neighbors,
    /// The default gateway, if any.
    gateway: Option<Ipv4Address>,
    pub(crate) sizes: Sizes,
    /// Where the stack's news go (address configured, lease lost): a line without the `tcp: `.
    log: fn(&str),
}

impl Stack {
    /// A stack on `dev` with hardware address `mac`: a static address as `settings` says, else
    /// DHCP. `first_port` seeds the ephemeral ports (49152..=65535).
    pub fn new<D: Device + ?Sized>(
        mac: [u8; 6],
        dev: &mut D,
        now: Instant,
        settings: &Settings,
        sizes: Sizes,
        first_port: u16,
        log: fn(&str),
    ) -> Stack {
        let cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        let iface = Interface::new(cfg, dev, now);
        let mut lo_dev = Loopback::new(Medium::Ip);
        let mut lo = Interface::new(Config::new(HardwareAddress::Ip), &mut lo_dev, now);
        lo.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        });
        // All of 127/8 is this machine, as on Linux: smoltcp takes packets for addresses
        // it does not have when a route to them goes through one it has.
        lo.set_any_ip(true);
        lo.routes_mut().update(|r| {
            let _ = r.push(Route {
                cidr: IpCidr::new(IpAddress::v4(127, 0, 0, 0), 8),
                via_router: IpAddress::v4(127, 0, 0, 1),
                preferred_until: None,
                expires_at: None,
            });
        });
        let mut sockets = SocketSet::new(Vec::new());
        let dns = sockets.add(dns::Socket::new(&[], vec![None, None, None, None]));
        let dhcp = settings
            .address
            .is_none()
            .then(|| sockets.add(dhcpv4::Socket::new()));
        let mut stack = Stack {
            iface,
            sockets,
            lo,
            lo_dev,
            lo_sockets: SocketSet::new(Vec::new()),
            dhcp,
            dns,
            configured: false,
            next_port: first_port,
            closing: Vec::new(),
            dns_cache: BTreeMap::new(),
            dns_answers: Default::default(),
            neighbors: Default::default(),
            gateway: None,
            sizes,
            log,
        };
        if let Some(a) = settings.address {
            stack.apply(a, settings.gateway, &settings.dns);
        }
        stack
    }

    /// One round of smoltcp at `now` on `dev`, then DHCP events and finished closes. Whether a
    /// socket's state changed (sessions waiting on the stack should look again).
    pub fn poll<D: Device + ?Sized>(&mut self, now: Instant, dev: &mut D) -> bool {
        let mut dev = crate::dnswatch::Watched {
            dev,
            answers: &mut self.dns_answers,
            neighbors: &mut self.neighbors,
            now,
        };
        let r = self.iface.poll(now, &mut dev, &mut self.sockets);
        // Loopback: what one round sends is received in the next; a few rounds carry a
        // handshake or a reply through at once.
        let mut lo_changed = false;
        for round in 0..8 {
            let changed = self.lo.poll(now, &mut self.lo_dev, &mut self.lo_sockets)
                == PollResult::SocketStateChanged;
            lo_changed |= changed;
            // The second round takes in what the first sent; later ones go on while things
            // change.
            if round >= 1 && !changed {
                break;
            }
        }
        self.maintain(now);
        r == PollResult::SocketStateChanged || lo_changed
    }

    /// How long until smoltcp wants to be polled again (`None`: not before the next frame).
    pub fn poll_delay(&mut self, now: Instant) -> Option<Duration> {
        let link = self.iface.poll_delay(now, &self.sockets);
        let lo = self.lo.poll_delay(now, &self.lo_sockets);
        let d = match (link, lo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        d.map(|d| Duration::from_micros(d.total_micros()))
    }

    /// The socket set of the link (`false`) or of loopback (`true`).
    pub(crate) fn set(&self, lo: bool) -> &SocketSet<'static> {
        if lo { &self.lo_sockets } else { &self.sockets }
    }

    pub(crate) fn set_mut(&mut self, lo: bool) -> &mut SocketSet<'static> {
        if lo {
            &mut self.lo_sockets
        } else {
            &mut self.sockets
        }
    }

    pub(crate) fn tcp(&self, t: Tcp) -> &tcp::Socket<'static> {
        self.set(t.lo).get::<tcp::Socket>(t.h)
    }

    pub(crate) fn tcp_mut(&mut self, t: Tcp) -> &mut tcp::Socket<'static> {
        self.set_mut(t.lo).get_mut::<tcp::Socket>(t.h)
    }

    pub(crate) fn add_tcp(&mut self, s: tcp::Socket<'static>, lo: bool) -> Tcp {
        Tcp {
            h: self.set_mut(lo).add(s),
            lo,
        }
    }

    /// The interface context a connection from `lo`'s set is made with.
    pub(crate) fn context(&mut self, lo: bool) -> &mut Context {
        if lo {
            self.lo.context()
        } else {
            self.iface.context()
        }
    }

    /// Whether `ip` is this machine (127/8 or our own address): served by the loopback
    /// interface, never the link.
    pub(crate) fn is_local(&self, ip: Ipv4Address) -> bool {
        ip.is_loopback() || self.local_v4() == Some(ip)
    }

    /// Whether a TCP socket of either set listens on `port`.
    pub(crate) fn listened(&self, port: u16) -> bool {
        [&self.sockets, &self.lo_sockets].iter().any(|set| {
            set.iter().any(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => {
                    t.state() == tcp::State::Listen && t.listen_endpoint().port == port
                }
                _ => false,
            })
        })
    }

    /// Whether connections are still closing in the background.
    pub fn closing(&self) -> bool {
        !self.closing.is_empty()
    }

    /// `Exhausted` unless `n` more data sockets fit under [`MAX_SOCKETS`].
    pub(crate) fn room_for(&self, n: usize) -> Result<(), NetError> {
        let used = self
            .sockets
            .iter()
            .chain(self.lo_sockets.iter())
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

    /// Caches a lookup's answer, keeping the cache within [`DNS_CACHE_MAX`] names (`now` to
    /// find the expired ones).
    pub(crate) fn cache_name(
        &mut self,
        name: String,
        entry: (Option<Ipv4Address>, Instant),
        now: Instant,
    ) {
        if !self.dns_cache.contains_key(&name) && self.dns_cache.len() >= DNS_CACHE_MAX {
            self.dns_cache.retain(|_, (_, until)| *until > now);
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
    pub(crate) fn ephemeral_port(&mut self) -> u16 {
        let in_use = |st: &Stack, port: u16| {
            st.sockets
                .iter()
                .chain(st.lo_sockets.iter())
                .any(|(_, s)| match s {
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

    /// A new TCP socket with this stack's buffer sizes.
    pub(crate) fn tcp_socket(&self) -> tcp::Socket<'static> {
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; self.sizes.tcp_rx]),
            tcp::SocketBuffer::new(vec![0; self.sizes.tcp_tx]),
        );
        s.set_nagle_enabled(false);
        s
    }

    /// A connection closes in the background from now on (aborted after [`LINGER`]).
    pub(crate) fn linger(&mut self, t: Tcp, now: Instant) {
        self.tcp_mut(t).close();
        self.closing.push((t, now));
    }

    /// Aborts and forgets a TCP socket.
    pub(crate) fn drop_tcp(&mut self, t: Tcp) {
        self.tcp_mut(t).abort();
        self.set_mut(t.lo).remove(t.h);
    }

    /// Closes and forgets a UDP socket.
    pub(crate) fn drop_udp(&mut self, h: SocketHandle) {
        self.sockets.get_mut::<udp::Socket>(h).close();
        self.sockets.remove(h);
    }

    fn apply(&mut self, address: Ipv4Cidr, gateway: Option<Ipv4Address>, dns: &[Ipv4Address]) {
        self.gateway = gateway;
        self.lo_addresses(Some(address.address()));
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
        (self.log)(&format!(
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

    /// Why a TCP connection to `ip` cannot be made, if it cannot: a broadcast or multicast
    /// address (the subnet's broadcast too) is no TCP peer. (Loopback and our own address go
    /// to the loopback interface, never the wire: [`Stack::is_local`].)
    pub(crate) fn no_peer(&self, ip: Ipv4Address) -> Option<NetError> {
        let subnet_broadcast = self.iface.ip_addrs().iter().any(|c| match c {
            IpCidr::Ipv4(c) => c.broadcast() == Some(ip),
            #[allow(unreachable_patterns)]
            _ => false,
        });
        if ip.is_multicast() || ip.is_broadcast() || subnet_broadcast {
            return Some(NetError::InvalidInput);
        }
        None
    }

    /// The loopback interface's addresses: 127.0.0.1/8 and our own, if we have one.
    fn lo_addresses(&mut self, own: Option<Ipv4Address>) {
        self.lo.update_ip_addrs(|a| {
            a.clear();
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
            if let Some(own) = own {
                let _ = a.push(IpCidr::new(IpAddress::Ipv4(own), 32));
            }
        });
    }

    /// Who must answer ARP for a packet to `ip` to leave: `ip` itself on our subnet, else the
    /// gateway (`None`: no route).
    pub(crate) fn next_hop(&self, ip: Ipv4Address) -> Option<Ipv4Address> {
        let on_link = self.iface.ip_addrs().iter().any(|c| match c {
            IpCidr::Ipv4(c) => c.contains_addr(&ip),
            #[allow(unreachable_patterns)]
            _ => false,
        });
        if on_link { Some(ip) } else { self.gateway }
    }

    pub(crate) fn local_v4(&self) -> Option<Ipv4Address> {
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
                    self.lo_addresses(None);
                    self.iface.routes_mut().remove_default_ipv4_route();
                    if core::mem::replace(&mut self.configured, false) {
                        (self.log)("DHCP lease lost");
                    }
                }
                None => {}
            }
        }
        let mut i = 0;
        while i < self.closing.len() {
            let (h, since) = self.closing[i];
            let s = self.tcp_mut(h);
            let done = matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait);
            if done || t - since > smoltcp::time::Duration::from_secs(LINGER.as_secs()) {
                s.abort();
                self.set_mut(h.lo).remove(h.h);
                self.closing.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
}
