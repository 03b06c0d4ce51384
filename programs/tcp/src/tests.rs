//! The session core against a second smoltcp interface, in-process: the two are joined by an
//! in-memory Ethernet link and polled in turn on a simulated clock (1 ms a step), so a run is
//! deterministic and needs neither root nor TAP. `tests/net.rs` covers the real link.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use libeurali::proto::net::{NetError, pack_addr};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};

use crate::session::{Outcome, Reply, Req, Session};
use crate::stack::{MAX_SOCKETS, Sizes, Stack};
use crate::{Settings, parse_args};

const US: [u8; 4] = [10, 7, 0, 2];
const PEER: [u8; 4] = [10, 7, 0, 1];
/// An address on the link that nobody answers.
const NOBODY: [u8; 4] = [10, 7, 0, 9];

/// One direction of the link: frames in order.
#[derive(Clone, Default)]
struct Wire(Rc<RefCell<VecDeque<Vec<u8>>>>);

/// One end of the link: smoltcp's device.
struct End {
    rx: Wire,
    tx: Wire,
}

fn link() -> (End, End) {
    let (a, b) = (Wire::default(), Wire::default());
    (
        End {
            rx: a.clone(),
            tx: b.clone(),
        },
        End { rx: b, tx: a },
    )
}

struct RxTok(Vec<u8>);
struct TxTok(Wire);

impl phy::RxToken for RxTok {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxTok {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        self.0.0.borrow_mut().push_back(frame);
        r
    }
}

impl Device for End {
    type RxToken<'a> = RxTok;
    type TxToken<'a> = TxTok;

    fn receive(&mut self, _t: Instant) -> Option<(RxTok, TxTok)> {
        let frame = self.rx.0.borrow_mut().pop_front()?;
        Some((RxTok(frame), TxTok(self.tx.clone())))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxTok> {
        Some(TxTok(self.tx.clone()))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = libeurali::proto::nic::MAX_FRAME;
        caps
    }
}

/// Our stack and a peer on one link, and the clock.
struct Net {
    now: Instant,
    stack: Stack,
    dev: End,
    peer: Interface,
    peer_sockets: SocketSet<'static>,
    peer_dev: End,
    /// A peer socket whose received bytes are taken at every step, and those bytes.
    sink: Option<(SocketHandle, Vec<u8>)>,
    /// The peer's DNS server: its socket, the queries it got, whether it answers.
    dns: Option<(SocketHandle, u32, bool)>,
}

fn quiet(_: &str) {}

impl Net {
    /// Our stack at 10.7.0.2/24 (`args` as tcp's command line) with `sizes`; the peer at
    /// 10.7.0.1.
    fn with(args: &str, sizes: Sizes) -> Net {
        let args: Vec<String> = args.split_whitespace().map(String::from).collect();
        let settings: Settings = parse_args(&args).unwrap();
        let now = Instant::from_secs(1);
        let (mut dev, mut peer_dev) = link();
        let stack = Stack::new(
            [2, 0, 0, 0, 0, 2],
            &mut dev,
            now,
            &settings,
            sizes,
            0,
            quiet,
        );
        let cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress([
            2, 0, 0, 0, 0, 1,
        ])));
        let mut peer = Interface::new(cfg, &mut peer_dev, now);
        peer.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::Ipv4(Ipv4Cidr::new(
                Ipv4Address::from_octets(PEER),
                24,
            )));
        });
        Net {
            now,
            stack,
            dev,
            peer,
            peer_sockets: SocketSet::new(Vec::new()),
            peer_dev,
            sink: None,
            dns: None,
        }
    }

    fn new() -> Net {
        Net::with("--static 10.7.0.2/24", Sizes::for_heap(Some(4 << 20)))
    }

    /// Both sides poll once, then the clock moves 1 ms.
    fn step(&mut self) {
        self.stack.poll(self.now, &mut self.dev);
        self.peer
            .poll(self.now, &mut self.peer_dev, &mut self.peer_sockets);
        if let Some((h, got)) = &mut self.sink {
            let s = self.peer_sockets.get_mut::<tcp::Socket>(*h);
            while s.can_recv() {
                let _ = s.recv(|b| {
                    got.extend_from_slice(b);
                    (b.len(), ())
                });
            }
        }
        if let Some((h, queries, answers)) = &mut self.dns {
            let s = self.peer_sockets.get_mut::<udp::Socket>(*h);
            while let Ok((q, meta)) = s.recv() {
                *queries += 1;
                let (q, from) = (q.to_vec(), meta.endpoint);
                if *answers {
                    s.send_slice(&dns_answer(&q), from).unwrap();
                }
            }
        }
        self.now += Duration::from_millis(1);
    }

    /// A DNS server on the peer (10.7.0.1:53), answering as [`dns_answer`] does.
    fn serve_dns(&mut self) {
        let s = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 2048]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 2048]),
        );
        let h = self.peer_sockets.add(s);
        self.peer_sockets
            .get_mut::<udp::Socket>(h)
            .bind(53)
            .unwrap();
        self.dns = Some((h, 0, true));
    }

    fn dns_queries(&self) -> u32 {
        self.dns.map_or(0, |(_, n, _)| n)
    }

    fn run(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    /// Runs until `done` holds (at most a simulated minute).
    fn until(&mut self, mut done: impl FnMut(&mut Net) -> bool) {
        for _ in 0..60_000 {
            if done(self) {
                return;
            }
            self.step();
        }
        panic!("still not done after a minute");
    }

    /// `req` on `s` as the server would answer it: asked again after every step while it
    /// waits (at most a simulated 100 s).
    fn ask(&mut self, s: &mut Session, req: Req<'_>) -> Reply {
        for _ in 0..100_000 {
            match s.handle(&mut self.stack, &req, self.now) {
                Outcome::Done(r) => return r,
                Outcome::Wait(_) => self.step(),
            }
        }
        panic!("{req:?} still waits after 100 s");
    }

    /// A READ's bytes (as the server takes them into its reply's chunk).
    fn read(&mut self, s: &mut Session, max: usize, timeout_ms: u64) -> Result<Vec<u8>, Reply> {
        match self.ask(s, Req::Read { max, timeout_ms }) {
            Reply::Data(n) => {
                assert!((1..=max).contains(&n), "DATA of {n} for a READ of {max}");
                let mut b = vec![0; n];
                let got = s.take(&mut self.stack, &mut b).unwrap();
                assert_eq!(got, n, "the bytes announced are there");
                Ok(b)
            }
            other => Err(other),
        }
    }

    fn peer_tcp(&mut self, rx: usize, tx: usize) -> SocketHandle {
        let s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; rx]),
            tcp::SocketBuffer::new(vec![0; tx]),
        );
        self.peer_sockets.add(s)
    }

    fn peer_listen(&mut self, port: u16) -> SocketHandle {
        let h = self.peer_tcp(64 * 1024, 256 * 1024);
        self.peer_sockets
            .get_mut::<tcp::Socket>(h)
            .listen(port)
            .unwrap();
        h
    }

    fn peer(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.peer_sockets.get_mut::<tcp::Socket>(h)
    }

    /// What the peer has received on `h` so far.
    fn peer_recv(&mut self, h: SocketHandle) -> Vec<u8> {
        let mut v = Vec::new();
        let s = self.peer(h);
        while s.can_recv() {
            let _ = s.recv(|b| {
                v.extend_from_slice(b);
                (b.len(), ())
            });
        }
        v
    }

    /// A session connected to the peer's `port` (listening), and the peer's socket.
    fn connected(&mut self, port: u16) -> (Session, SocketHandle) {
        let p = self.peer_listen(port);
        let mut s = Session::new();
        let r = self.ask(
            &mut s,
            Req::Connect {
                addr: pack_addr(PEER, port),
                timeout_ms: 0,
            },
        );
        assert!(matches!(r, Reply::Ok(_)), "{r:?}");
        self.until(|n| n.peer(p).state() == tcp::State::Established);
        (s, p)
    }
}

/// The answer to a DNS query: `gopher.test` is 10.7.0.1, no other name exists.
fn dns_answer(q: &[u8]) -> Vec<u8> {
    // The question ends after its name's labels and its type and class.
    let mut end = 12;
    while q[end] != 0 {
        end += 1 + q[end] as usize;
    }
    end += 1 + 4;
    let mut r = q[..end].to_vec();
    r[6..12].fill(0); // no answers (yet), authority or additional records
    let name = &q[12..end - 4];
    if name == b"\x07refused\x04test\x00" {
        r[2..4].copy_from_slice(&0x8185u16.to_be_bytes()); // refused
    } else if name == b"\x08servfail\x04test\x00" {
        r[2..4].copy_from_slice(&0x8182u16.to_be_bytes()); // server failure
    } else if name == b"\x06gopher\x04test\x00" {
        r[2..4].copy_from_slice(&0x8180u16.to_be_bytes()); // a response, no error
        r[7] = 1;
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]); // A, IN, 60 s
        r.extend_from_slice(&PEER);
    } else {
        r[2..4].copy_from_slice(&0x8183u16.to_be_bytes()); // no such name
    }
    r
}

fn err(r: Reply) -> NetError {
    match r {
        Reply::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn sizes_follow_the_heap() {
    // The real kernel's (and the hosted ELFs') 4 MiB heap: the numbers tcp had there.
    let small = Sizes::for_heap(Some(4 << 20));
    assert_eq!(small.tcp_rx, 64 * 1024);
    assert_eq!(small.rx_batch, 64 * 1024);
    assert_eq!((small.tcp_tx, small.udp_buf), (32 * 1024, 16 * 1024));
    // No bound (a host build): the host's.
    let host = Sizes::for_heap(None);
    assert_eq!(host.tcp_rx, 1024 * 1024);
    assert_eq!(host.rx_batch, libeurali::proto::nic::MAX_BATCH);
    assert_eq!((host.tcp_tx, host.udp_buf), (256 * 1024, 16 * 1024));
    // Never below a frame's batch or a useful window, never above the most.
    let tiny = Sizes::for_heap(Some(4096));
    assert!(tiny.rx_batch > libeurali::proto::nic::MAX_FRAME);
    assert!(tiny.tcp_rx >= 4096);
    assert_eq!(Sizes::for_heap(Some(u64::MAX)), host);
}

#[test]
fn connect_send_receive() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    let Reply::Address(local, peer) = net.ask(&mut s, Req::Addrs) else {
        panic!("no addresses")
    };
    assert_eq!(peer, pack_addr(PEER, 70));
    let (ip, port) = libeurali::proto::net::unpack_addr(local);
    assert_eq!(ip, US);
    assert!(port >= 49152, "an ephemeral port: {port}");

    assert!(matches!(
        net.ask(&mut s, Req::Write(b"hello")),
        Reply::Ok(5)
    ));
    net.until(|n| n.peer(p).recv_queue() == 5);
    assert_eq!(net.peer_recv(p), b"hello");

    net.peer(p).send_slice(b"world").unwrap();
    assert_eq!(net.read(&mut s, 100, 0).unwrap(), b"world");
    // A READ gets no more than it asks for, and the rest stays.
    net.peer(p).send_slice(b"abcdef").unwrap();
    net.until(|n| n.peer(p).send_queue() == 0);
    assert_eq!(net.read(&mut s, 4, 0).unwrap(), b"abcd");
    assert_eq!(net.read(&mut s, 4, 0).unwrap(), b"ef");
}

#[test]
fn peer_close_is_eof_and_the_peer_stays_known() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    net.peer(p).send_slice(b"bye").unwrap();
    net.peer(p).close();
    assert_eq!(net.read(&mut s, 100, 0).unwrap(), b"bye");
    assert!(matches!(net.read(&mut s, 100, 0), Err(Reply::Eof)));
    assert!(matches!(net.read(&mut s, 100, 0), Err(Reply::Eof)));
    // Our side may still send (half-close), then close.
    assert!(matches!(net.ask(&mut s, Req::Write(b"ok")), Reply::Ok(2)));
    assert!(matches!(net.ask(&mut s, Req::Close), Reply::Closed));
    net.until(|n| !n.stack.closing());
    assert_eq!(net.peer_recv(p), b"ok");
}

#[test]
fn the_peer_address_outlives_the_connection() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    let _ = s.addrs(&net.stack); // the server looks before and after every request
    net.peer(p).abort();
    net.run(10);
    assert_eq!(
        err(net.ask(
            &mut s,
            Req::Read {
                max: 10,
                timeout_ms: 0
            }
        )),
        NetError::Reset
    );
    let Reply::Address(_, peer) = net.ask(&mut s, Req::Addrs) else {
        panic!("no addresses")
    };
    assert_eq!(peer, pack_addr(PEER, 70));
}

#[test]
fn reset_by_the_peer() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    // A read waiting when the reset comes, and every call after it.
    let req = Req::Read {
        max: 10,
        timeout_ms: 0,
    };
    assert!(matches!(
        s.handle(&mut net.stack, &req, net.now),
        Outcome::Wait(None)
    ));
    net.peer(p).abort();
    assert_eq!(err(net.ask(&mut s, req)), NetError::Reset);
    assert_eq!(err(net.ask(&mut s, Req::Write(b"x"))), NetError::Reset);
}

#[test]
fn refused_connect() {
    let mut net = Net::new();
    let mut s = Session::new();
    let connect = |port| Req::Connect {
        addr: pack_addr(PEER, port),
        timeout_ms: 0,
    };
    assert_eq!(err(net.ask(&mut s, connect(71))), NetError::Refused);
    // The session is free again, and its socket gone.
    assert_eq!(net.stack.sockets.iter().count(), 1, "only the DNS socket");
    net.peer_listen(70);
    assert!(matches!(net.ask(&mut s, connect(70)), Reply::Ok(_)));
}

/// Issue 19: broadcast and multicast addresses are no TCP peers, and loopback and our own
/// address never go out on the link: they are served by the loopback interface (refused where
/// nothing listens, connected where something does), with no SYN to the gateway and no ARP for
/// ourselves.
#[test]
fn local_and_broadcast_destinations_never_reach_the_wire() {
    let mut net = Net::new();
    for ip in [[10, 7, 0, 255], [224, 0, 0, 1], [255, 255, 255, 255]] {
        let mut s = Session::new();
        let r = s.handle(
            &mut net.stack,
            &Req::Connect {
                addr: pack_addr(ip, 70),
                timeout_ms: 0,
            },
            net.now,
        );
        assert!(
            matches!(r, Outcome::Done(Reply::Error(NetError::InvalidInput))),
            "{ip:?}: {r:?}"
        );
    }
    let wire = |net: &Net| net.peer_dev.rx.0.borrow().len();
    let before = wire(&net);
    // Nothing listens on port 70 here: refused (loopback's reset), within a poll.
    for ip in [[127, 0, 0, 1], [127, 1, 2, 3], US] {
        let mut s = Session::new();
        let start = net.now;
        let r = net.ask(
            &mut s,
            Req::Connect {
                addr: pack_addr(ip, 70),
                timeout_ms: 0,
            },
        );
        assert_eq!(err(r), NetError::Refused, "{ip:?}");
        assert!(net.now - start < Duration::from_millis(10), "{ip:?}");
    }
    // A listener here is reached through loopback, both ways, at 127.0.0.1 and at our address.
    let mut l = Session::new();
    let r = net.ask(
        &mut l,
        Req::Listen {
            addr: 0,
            backlog: 2,
        }
        .with_port(7000),
    );
    assert!(matches!(r, Reply::Ok(_)), "{r:?}");
    for ip in [[127, 0, 0, 1], US] {
        let mut c = Session::new();
        let r = net.ask(
            &mut c,
            Req::Connect {
                addr: pack_addr(ip, 7000),
                timeout_ms: 0,
            },
        );
        assert!(matches!(r, Reply::Ok(_)), "{ip:?}: {r:?}");
        let Reply::Accepted(mut a, peer) = net.ask(&mut l, Req::Accept { timeout_ms: 0 }) else {
            panic!("{ip:?}: no connection to accept")
        };
        assert_eq!(
            libeurali::proto::net::unpack_addr(peer).0,
            ip,
            "the peer's address"
        );
        assert!(matches!(net.ask(&mut c, Req::Write(b"ping")), Reply::Ok(4)));
        assert_eq!(net.read(&mut a, 10, 1000).unwrap(), b"ping");
        assert!(matches!(
            net.ask(&mut a, Req::Write(b"pong!")),
            Reply::Ok(5)
        ));
        assert_eq!(net.read(&mut c, 10, 1000).unwrap(), b"pong!");
        // The client closes: the accepted side reads the end.
        c.close(&mut net.stack, net.now);
        assert!(matches!(
            net.ask(
                &mut a,
                Req::Read {
                    max: 10,
                    timeout_ms: 1000
                }
            ),
            Reply::Eof
        ));
        a.close(&mut net.stack, net.now);
    }
    for _ in 0..50 {
        net.step();
    }
    assert_eq!(
        wire(&net),
        before,
        "a frame for this machine went out on the link"
    );
}

#[test]
fn timeouts() {
    let mut net = Net::new();
    // A connect to an address nobody answers, within its timeout.
    let mut s = Session::new();
    let start = net.now;
    let r = net.ask(
        &mut s,
        Req::Connect {
            addr: pack_addr(NOBODY, 70),
            timeout_ms: 300,
        },
    );
    assert_eq!(err(r), NetError::TimedOut);
    assert!(net.now - start >= Duration::from_millis(300));
    assert!(net.now - start < Duration::from_millis(310));
    assert_eq!(net.stack.sockets.iter().count(), 1, "the socket is gone");

    // Without a timeout of its own: nobody answers ARP for it, so after ARP's time (3 s, as
    // Linux) the connect says "host unreachable" rather than waiting out its 75 s.
    let mut s = Session::new();
    let start = net.now;
    let r = net.ask(
        &mut s,
        Req::Connect {
            addr: pack_addr(NOBODY, 70),
            timeout_ms: 0,
        },
    );
    assert_eq!(err(r), NetError::HostUnreachable);
    assert!(net.now - start >= Duration::from_secs(3));
    assert!(net.now - start < Duration::from_millis(3010));
    assert_eq!(net.stack.sockets.iter().count(), 1, "the socket is gone");

    // A read that gets nothing, then one that does.
    let (mut c, p) = net.connected(70);
    let req = Req::Read {
        max: 10,
        timeout_ms: 50,
    };
    let Outcome::Wait(Some(deadline)) = c.handle(&mut net.stack, &req, net.now) else {
        panic!("a read with a timeout waits until its deadline")
    };
    assert_eq!(deadline, net.now + Duration::from_millis(50));
    assert_eq!(err(net.ask(&mut c, req)), NetError::TimedOut);
    net.peer(p).send_slice(b"late").unwrap();
    assert_eq!(net.read(&mut c, 10, 50).unwrap(), b"late");

    // An accept nobody comes to.
    let mut l = Session::new();
    let r = net.ask(
        &mut l,
        Req::Listen {
            addr: 0,
            backlog: 1,
        }
        .with_port(7000),
    );
    assert!(matches!(r, Reply::Ok(_)), "{r:?}");
    assert_eq!(
        err(net.ask(&mut l, Req::Accept { timeout_ms: 20 })),
        NetError::TimedOut
    );

    // A datagram nobody sends.
    let mut u = Session::new();
    assert!(matches!(
        net.ask(&mut u, Req::UdpBind { addr: 0 }),
        Reply::Ok(_)
    ));
    let r = net.ask(
        &mut u,
        Req::RecvFrom {
            max: 10,
            timeout_ms: 20,
        },
    );
    assert_eq!(err(r), NetError::TimedOut);
}

impl Req<'_> {
    /// A LISTEN on `port` of any address.
    fn with_port(self, port: u16) -> Self {
        match self {
            Req::Listen { backlog, .. } => Req::Listen {
                addr: pack_addr([0; 4], port),
                backlog,
            },
            other => other,
        }
    }
}

#[test]
fn no_address_yet() {
    // DHCP, and nobody to answer it: a connect and a lookup wait for an address, then give up.
    let mut net = Net::with("", Sizes::for_heap(None));
    let mut s = Session::new();
    let r = net.ask(
        &mut s,
        Req::Connect {
            addr: pack_addr(PEER, 70),
            timeout_ms: 200,
        },
    );
    assert_eq!(err(r), NetError::Unreachable);
    let start = net.now;
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b"example.org"))),
        NetError::Unreachable
    );
    assert!(
        net.now - start >= Duration::from_secs(10),
        "DNS's own timeout"
    );
}

#[test]
fn listen_and_accept() {
    let mut net = Net::new();
    let mut l = Session::new();
    let listen = Req::Listen {
        addr: 0,
        backlog: 2,
    }
    .with_port(7000);
    assert!(matches!(net.ask(&mut l, listen), Reply::Ok(a) if a == pack_addr([0; 4], 7000)));
    let Reply::Address(local, 0) = net.ask(&mut l, Req::Addrs) else {
        panic!("no address")
    };
    assert_eq!(local, pack_addr(US, 7000));
    // The port is taken now.
    assert_eq!(
        err(net.ask(&mut Session::new(), listen)),
        NetError::AddrInUse
    );

    // Two clients: both get through the backlog of two.
    let mut peers = Vec::new();
    for i in 0..2u16 {
        let p = net.peer_tcp(4096, 4096);
        let ctx = net.peer.context();
        net.peer_sockets
            .get_mut::<tcp::Socket>(p)
            .connect(
                ctx,
                (IpAddress::Ipv4(Ipv4Address::from_octets(US)), 7000),
                40000 + i,
            )
            .unwrap();
        peers.push(p);
    }
    for (i, p) in peers.into_iter().enumerate() {
        let Reply::Accepted(mut a, from) = net.ask(&mut l, Req::Accept { timeout_ms: 0 }) else {
            panic!("no connection")
        };
        let port = libeurali::proto::net::unpack_addr(from).1;
        assert_eq!(from, pack_addr(PEER, port));
        assert!(port == 40000 || port == 40001, "{port}");
        net.until(|n| n.peer(p).may_send());
        let words = format!("client {i}");
        net.peer(p).send_slice(words.as_bytes()).unwrap();
        // Which client came first is smoltcp's business: the bytes say.
        let got = String::from_utf8(net.read(&mut a, 100, 0).unwrap()).unwrap();
        assert!(got.starts_with("client "), "{got}");
        assert!(matches!(net.ask(&mut a, Req::Write(b"hi")), Reply::Ok(2)));
        a.close(&mut net.stack, net.now);
    }
    // The backlog was refilled: still two listening sockets, and one more client gets in.
    let p = net.peer_tcp(4096, 4096);
    let ctx = net.peer.context();
    net.peer_sockets
        .get_mut::<tcp::Socket>(p)
        .connect(
            ctx,
            (IpAddress::Ipv4(Ipv4Address::from_octets(US)), 7000),
            40002,
        )
        .unwrap();
    assert!(matches!(
        net.ask(&mut l, Req::Accept { timeout_ms: 0 }),
        Reply::Accepted(..)
    ));
    // Closing the listener frees the port.
    l.close(&mut net.stack, net.now);
    assert!(matches!(net.ask(&mut Session::new(), listen), Reply::Ok(_)));
}

#[test]
fn a_full_receive_buffer_loses_nothing() {
    // A window of 4 KiB, and 200 KiB coming: the peer waits for room, nothing is lost.
    let sizes = Sizes {
        tcp_rx: 4096,
        ..Sizes::for_heap(Some(4 << 20))
    };
    let mut net = Net::with("--static 10.7.0.2/24", sizes);
    let (mut s, p) = net.connected(70);
    let data: Vec<u8> = (0..200 * 1024u32)
        .map(|i| (i * 7 + i / 251) as u8)
        .collect();
    let mut sent = 0;
    let mut got = Vec::new();
    while got.len() < data.len() {
        if sent < data.len() {
            sent += net.peer(p).send_slice(&data[sent..]).unwrap();
        }
        // Let the window fill before reading, now and then.
        if got.len() % 3 == 0 {
            net.run(20);
        }
        let b = net.read(&mut s, 3000, 0).unwrap();
        assert!(b.len() <= 4096, "more than the window at once: {}", b.len());
        got.extend_from_slice(&b);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes came in order, none lost");
}

#[test]
fn a_full_send_buffer_waits_for_room() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    net.sink = Some((p, Vec::new()));
    let data: Vec<u8> = (0..300 * 1024u32).map(|i| (i % 253) as u8).collect();
    let mut sent = 0;
    while sent < data.len() {
        match net.ask(&mut s, Req::Write(&data[sent..])) {
            Reply::Ok(n) => {
                assert!(n >= 1 && n as usize <= 32 * 1024, "{n}");
                sent += n as usize;
            }
            other => panic!("{other:?}"),
        }
    }
    net.until(|n| n.sink.as_ref().is_some_and(|(_, g)| g.len() == data.len()));
    assert!(net.sink.take().unwrap().1 == data);
}

#[test]
fn udp() {
    let mut net = Net::new();
    let ps = net.peer_sockets.add(udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
    ));
    net.peer_sockets
        .get_mut::<udp::Socket>(ps)
        .bind(5353)
        .unwrap();
    let mut s = Session::new();
    let Reply::Ok(bound) = net.ask(&mut s, Req::UdpBind { addr: 0 }) else {
        panic!("not bound")
    };
    let port = libeurali::proto::net::unpack_addr(bound).1;
    assert!(port >= 49152);
    let Reply::Address(local, 0) = net.ask(&mut s, Req::Addrs) else {
        panic!("no address")
    };
    assert_eq!(local, pack_addr(US, port));
    let to = pack_addr(PEER, 5353);
    assert!(matches!(
        net.ask(
            &mut s,
            Req::SendTo {
                data: b"ping",
                addr: to
            }
        ),
        Reply::Ok(4)
    ));
    net.until(|n| n.peer_sockets.get_mut::<udp::Socket>(ps).can_recv());
    let (d, meta) = net.peer_sockets.get_mut::<udp::Socket>(ps).recv().unwrap();
    assert_eq!(d, b"ping");
    let from = meta.endpoint;
    assert_eq!(from.port, port);
    net.peer_sockets
        .get_mut::<udp::Socket>(ps)
        .send_slice(b"pong!", from)
        .unwrap();
    // Truncated to what the request asks.
    let r = net.ask(
        &mut s,
        Req::RecvFrom {
            max: 4,
            timeout_ms: 0,
        },
    );
    assert!(
        matches!(r, Reply::Datagram(ref d, a) if d == b"pong" && a == to),
        "{r:?}"
    );
}

#[test]
fn out_of_sockets() {
    let mut net = Net::new();
    let mut listeners = Vec::new();
    // Each listener takes 8 sockets: a backlog of 7 on the link, one on loopback.
    for i in 0..(MAX_SOCKETS / 8) as u16 {
        let mut l = Session::new();
        let r = net.ask(
            &mut l,
            Req::Listen {
                addr: 0,
                backlog: 7,
            }
            .with_port(7000 + i),
        );
        assert!(matches!(r, Reply::Ok(_)), "{r:?}");
        listeners.push(l);
    }
    let mut s = Session::new();
    assert_eq!(
        err(net.ask(&mut s, Req::UdpBind { addr: 0 })),
        NetError::Exhausted
    );
    assert_eq!(
        err(net.ask(
            &mut s,
            Req::Listen {
                addr: 0,
                backlog: 1
            }
            .with_port(8000)
        )),
        NetError::Exhausted
    );
    net.peer_listen(70);
    let connect = Req::Connect {
        addr: pack_addr(PEER, 70),
        timeout_ms: 0,
    };
    assert_eq!(err(net.ask(&mut s, connect)), NetError::Exhausted);
    // One listener fewer: room again.
    listeners.pop().unwrap().close(&mut net.stack, net.now);
    assert!(matches!(net.ask(&mut s, connect), Reply::Ok(_)));
}

#[test]
fn close_is_graceful() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    assert!(matches!(
        net.ask(&mut s, Req::Write(b"last words")),
        Reply::Ok(10)
    ));
    assert!(matches!(net.ask(&mut s, Req::Close), Reply::Closed));
    // The connection finishes closing in the background: the peer gets it all, then EOF.
    net.until(|n| n.peer(p).state() == tcp::State::CloseWait);
    assert_eq!(net.peer_recv(p), b"last words");
    assert!(net.stack.closing());
    net.peer(p).close();
    net.until(|n| !n.stack.closing());
    assert_eq!(net.stack.sockets.iter().count(), 1, "only the DNS socket");
    // The session is like new.
    assert!(matches!(net.ask(&mut s, Req::Addrs), Reply::Address(0, 0)));
}

#[test]
fn shutdown_sends_fin() {
    let mut net = Net::new();
    let (mut s, p) = net.connected(70);
    assert!(matches!(net.ask(&mut s, Req::Shutdown(0)), Reply::Ok(0)));
    assert!(net.peer(p).may_recv(), "read shutdown sends nothing");
    assert!(matches!(net.ask(&mut s, Req::Shutdown(1)), Reply::Ok(0)));
    net.until(|n| n.peer(p).state() == tcp::State::CloseWait);
    // We still read.
    net.peer(p).send_slice(b"after").unwrap();
    assert_eq!(net.read(&mut s, 100, 0).unwrap(), b"after");
    assert_eq!(
        err(net.ask(&mut s, Req::Write(b"x"))),
        NetError::NotConnected
    );
}

#[test]
fn interrupted_requests_undo_what_they_began() {
    let mut net = Net::new();
    // A connect waiting for its handshake (nobody answers): interrupted, its socket goes.
    let mut s = Session::new();
    let connect = Req::Connect {
        addr: pack_addr(NOBODY, 70),
        timeout_ms: 0,
    };
    assert!(matches!(
        s.handle(&mut net.stack, &connect, net.now),
        Outcome::Wait(Some(_))
    ));
    assert_eq!(net.stack.sockets.iter().count(), 2);
    let r = s.interrupt(&mut net.stack, &connect, net.now, NetError::Reset);
    assert_eq!(err(r), NetError::Reset);
    assert_eq!(net.stack.sockets.iter().count(), 1);
    // A new request interrupted at its first wait.
    let (mut c, _p) = net.connected(70);
    let read = Req::Read {
        max: 1,
        timeout_ms: 0,
    };
    assert_eq!(
        err(c.interrupt(&mut net.stack, &read, net.now, NetError::Reset)),
        NetError::Reset
    );
    // A connect before there is an address: unreachable, as when it times out.
    let mut net = Net::with("", Sizes::for_heap(None));
    let mut s = Session::new();
    let r = s.interrupt(&mut net.stack, &connect, net.now, NetError::Reset);
    assert_eq!(err(r), NetError::Unreachable);
}

#[test]
fn bad_requests_get_errors() {
    let mut net = Net::new();
    let mut s = Session::new();
    let inval = NetError::InvalidInput;
    assert_eq!(err(net.ask(&mut s, Req::Socket)), inval);
    assert_eq!(err(net.ask(&mut s, Req::Invalid)), inval);
    assert!(matches!(net.ask(&mut s, Req::Unknown), Reply::Unknown));
    // Requests for a socket the session does not have.
    let nc = NetError::NotConnected;
    let read = Req::Read {
        max: 1,
        timeout_ms: 0,
    };
    assert_eq!(err(net.ask(&mut s, read)), nc);
    assert_eq!(err(net.ask(&mut s, Req::Write(b"x"))), nc);
    assert_eq!(err(net.ask(&mut s, Req::Accept { timeout_ms: 0 })), nc);
    assert_eq!(err(net.ask(&mut s, Req::Shutdown(2))), nc);
    let send_to = Req::SendTo {
        data: b"x",
        addr: pack_addr(PEER, 9),
    };
    assert_eq!(err(net.ask(&mut s, send_to)), nc);
    let recv_from = Req::RecvFrom {
        max: 1,
        timeout_ms: 0,
    };
    assert_eq!(err(net.ask(&mut s, recv_from)), nc);
    // Bad addresses.
    for addr in [
        pack_addr(PEER, 0),
        pack_addr([0; 4], 70),
        pack_addr([255; 4], 70),
    ] {
        let r = net.ask(
            &mut s,
            Req::Connect {
                addr,
                timeout_ms: 0,
            },
        );
        assert_eq!(err(r), inval);
    }
    let r = net.ask(
        &mut s,
        Req::Listen {
            addr: 0,
            backlog: 1,
        },
    );
    assert_eq!(err(r), inval, "port 0");
    // Names: not UTF-8, not a host name; an address is its own answer.
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b"\xff\xfe"))),
        NetError::NameNotFound
    );
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b"no such!"))),
        NetError::NameNotFound
    );
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b""))),
        NetError::NameNotFound
    );
    let r = net.ask(&mut s, Req::Resolve(b"10.1.2.3."));
    assert!(
        matches!(r, Reply::Address(a, 0) if a == pack_addr([10, 1, 2, 3], 0)),
        "{r:?}"
    );
    assert!(matches!(net.ask(&mut s, Req::Addrs), Reply::Address(0, 0)));
    // A session has one socket.
    let (mut c, _p) = net.connected(70);
    let again = Req::Connect {
        addr: pack_addr(PEER, 70),
        timeout_ms: 0,
    };
    assert_eq!(err(net.ask(&mut c, again)), NetError::AlreadyConnected);
    let listen = Req::Listen {
        addr: 0,
        backlog: 1,
    }
    .with_port(7000);
    assert_eq!(err(net.ask(&mut c, listen)), NetError::AlreadyConnected);
    assert_eq!(
        err(net.ask(&mut c, Req::UdpBind { addr: 0 })),
        NetError::AlreadyConnected
    );
    assert_eq!(err(net.ask(&mut c, send_to)), nc);
    // UDP: port 0, and more than the buffer.
    let mut u = Session::new();
    assert!(matches!(
        net.ask(&mut u, Req::UdpBind { addr: 0 }),
        Reply::Ok(_)
    ));
    let r = net.ask(
        &mut u,
        Req::SendTo {
            data: b"x",
            addr: pack_addr(PEER, 0),
        },
    );
    assert_eq!(err(r), inval);
    let big = vec![0; 16 * 1024 + 1];
    let r = net.ask(
        &mut u,
        Req::SendTo {
            data: &big,
            addr: pack_addr(PEER, 9),
        },
    );
    assert_eq!(err(r), inval);
    assert_eq!(err(net.ask(&mut u, read)), nc);
    // After all that, the sessions still serve.
    assert!(matches!(net.ask(&mut c, Req::Write(b"ok")), Reply::Ok(2)));
}

/// Issue 19: why a lookup failed. A name server that refuses or fails is not "name not
/// found" (and is not cached), nor is one that never answers.
#[test]
fn lookups_say_why_they_failed() {
    let mut net = Net::with("--static 10.7.0.2/24 --dns 10.7.0.1", Sizes::for_heap(None));
    net.serve_dns();
    let mut s = Session::new();
    for _ in 0..2 {
        assert_eq!(
            err(net.ask(&mut s, Req::Resolve(b"refused.test"))),
            NetError::NameServerRefused
        );
    }
    assert_eq!(net.dns_queries(), 2, "a refusal is not cached");
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b"ServFail.Test."))),
        NetError::NameServerRefused
    );
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b"nowhere.test"))),
        NetError::NameNotFound
    );
    // A server that never answers: the lookup's time runs out first (smoltcp would say it
    // failed only after trying every server for longer; then the error is NameServerSilent).
    if let Some((_, _, answers)) = &mut net.dns {
        *answers = false;
    }
    assert_eq!(
        err(net.ask(&mut s, Req::Resolve(b"silent.test"))),
        NetError::TimedOut
    );
}

#[test]
fn lookups_and_their_cache() {
    let mut net = Net::with("--static 10.7.0.2/24 --dns 10.7.0.1", Sizes::for_heap(None));
    net.serve_dns();
    let mut s = Session::new();
    let found = |r: Reply| match r {
        Reply::Address(a, 0) => a,
        other => panic!("{other:?}"),
    };
    // Case and a final dot do not matter; the answer is kept five minutes.
    assert_eq!(
        found(net.ask(&mut s, Req::Resolve(b"Gopher.Test."))),
        pack_addr(PEER, 0)
    );
    assert_eq!(net.dns_queries(), 1);
    assert_eq!(
        found(net.ask(&mut s, Req::Resolve(b"gopher.test"))),
        pack_addr(PEER, 0)
    );
    assert_eq!(net.dns_queries(), 1, "cached");
    // A name that does not exist, kept thirty seconds.
    let missing = Req::Resolve(b"nowhere.test");
    assert_eq!(err(net.ask(&mut s, missing)), NetError::NameNotFound);
    assert_eq!(err(net.ask(&mut s, missing)), NetError::NameNotFound);
    assert_eq!(net.dns_queries(), 2, "cached");
    net.run(30_001);
    assert_eq!(err(net.ask(&mut s, missing)), NetError::NameNotFound);
    assert_eq!(net.dns_queries(), 3, "asked again after 30 s");
    assert_eq!(
        found(net.ask(&mut s, Req::Resolve(b"gopher.test"))),
        pack_addr(PEER, 0)
    );
    assert_eq!(net.dns_queries(), 3, "still cached");
    net.run(270_000);
    assert_eq!(
        found(net.ask(&mut s, Req::Resolve(b"gopher.test"))),
        pack_addr(PEER, 0)
    );
    assert_eq!(net.dns_queries(), 4, "asked again after 5 minutes");
    // A server that does not answer: the lookup gives up within its ten seconds.
    net.dns.as_mut().unwrap().2 = false;
    let start = net.now;
    let silent = Req::Resolve(b"silent.test");
    assert_eq!(err(net.ask(&mut s, silent)), NetError::TimedOut);
    assert_eq!(net.now - start, Duration::from_secs(10));
    // A timeout is not an answer: not cached, and its query was given up.
    net.dns.as_mut().unwrap().2 = true;
    let asked = net.dns_queries();
    assert_eq!(err(net.ask(&mut s, silent)), NetError::NameNotFound);
    assert_eq!(net.dns_queries(), asked + 1);
}
