//! A session's logic without I/O: [`Session::handle`] takes a request, the [`Stack`] and the
//! time, and either answers ([`Outcome::Done`]) or says the request must wait for the network
//! ([`Outcome::Wait`]), until when at most. The caller then lets the stack run (in the server:
//! sleeps until the poll thread rings) and calls `handle` again with the *same* request; a
//! waiting request keeps its progress in the session, as a socket of smoltcp does. Time only
//! comes in as `now`, so a test can drive a session against a second smoltcp interface
//! in-process.

use libeurali::proto::net::{self, NetError};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::{dns, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{DnsQueryType, IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};

use crate::stack::{Stack, Tcp};

/// A connect's timeout when the client gives none.
const DEFAULT_CONNECT_MS: u64 = 75_000;
const DNS_TIMEOUT_MS: u64 = 10_000;
/// How long a connect waits for its next hop to answer ARP before it is "host unreachable"
/// (Linux: three probes a second apart).
const ARP_GIVE_UP: Duration = Duration::from_secs(3);
/// How long an ARP answer is taken to be still in smoltcp's neighbour cache (its lifetime is
/// a minute).
const ARP_FRESH: Duration = Duration::from_secs(55);
/// How long DNS answers are cached, and failures.
const DNS_TTL: Duration = Duration::from_secs(300);
const DNS_NEG_TTL: Duration = Duration::from_secs(30);

/// A request as the session sees it: `libeurali::proto::net::Request` with the chunks' bytes
/// borrowed (mount-only and malformed requests included, so that they get their error here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Req<'a> {
    /// `NET_SOCKET`, which only the mount answers.
    Socket,
    Connect {
        addr: u64,
        timeout_ms: u64,
    },
    Listen {
        addr: u64,
        backlog: u64,
    },
    Accept {
        timeout_ms: u64,
    },
    UdpBind {
        addr: u64,
    },
    Read {
        max: usize,
        timeout_ms: u64,
    },
    Write(&'a [u8]),
    SendTo {
        data: &'a [u8],
        addr: u64,
    },
    RecvFrom {
        max: usize,
        timeout_ms: u64,
    },
    Shutdown(u64),
    Addrs,
    Resolve(&'a [u8]),
    Close,
    /// A request with a bad length.
    Invalid,
    /// A message the protocol does not have.
    Unknown,
}

/// An answer, before it becomes a message.
#[derive(Debug)]
pub enum Reply {
    /// `Short(OK, value, 0)`.
    Ok(u64),
    /// `n` bytes (`n >= 1`) are there to read: take them with [`Session::take`] (straight into
    /// the reply's chunk) and send them as `DATA`.
    Data(usize),
    /// The peer closed its side and every byte was read.
    Eof,
    /// A connection came in on a listening session: a new session for it, and the peer's
    /// address.
    Accepted(Session, u64),
    /// A datagram and its source.
    Datagram(Vec<u8>, u64),
    /// `NET_ADDRESS` with two addresses.
    Address(u64, u64),
    /// The session was closed (`CLOSE`): answer OK and end it.
    Closed,
    /// `ERROR_UNKNOWN_MESSAGE`.
    Unknown,
    Error(NetError),
}

/// What [`Session::handle`] made of a request.
#[derive(Debug)]
pub enum Outcome {
    Done(Reply),
    /// Nothing to answer yet: call again with the same request once the stack has run, at the
    /// latest at the deadline (`None`: none; only the network can finish it).
    Wait(Option<Instant>),
}

/// What a session's socket is.
#[derive(Debug)]
enum Sock {
    None,
    Tcp(Tcp),
    /// A listener's backlog: sockets in the link's set, and one in loopback's (refilled as
    /// they are accepted).
    Listen {
        port: u16,
        pool: Vec<Tcp>,
    },
    Udp(SocketHandle),
}

/// A waiting request's progress.
enum Pending {
    /// A connect waits for an address (DHCP may still be at work).
    Configure {
        ip: Ipv4Address,
        port: u16,
        deadline: Option<Instant>,
    },
    /// A connect waits for the handshake, begun at `since`; `hop` must answer ARP for the
    /// SYN to leave.
    Establish {
        deadline: Option<Instant>,
        since: Instant,
        hop: Option<Ipv4Address>,
    },
    Accept {
        deadline: Option<Instant>,
    },
    Read {
        deadline: Option<Instant>,
    },
    Write,
    SendTo,
    RecvFrom {
        deadline: Option<Instant>,
    },
    /// A lookup waits for an address.
    ResolveConfigure {
        name: String,
        deadline: Option<Instant>,
    },
    /// A lookup waits for the answer.
    ResolveAnswer {
        name: String,
        query: dns::QueryHandle,
        deadline: Option<Instant>,
    },
}

/// One client's socket session.
pub struct Session {
    sock: Sock,
    /// A TCP connection's (local, peer) addresses as last known: smoltcp forgets them once the
    /// connection has closed, but `peer_addr` still names the peer then (as on Unix).
    known: (u64, u64),
    pending: Option<Pending>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("sock", &self.sock)
            .field("known", &self.known)
            .field("waiting", &self.pending.is_some())
            .finish()
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

fn deadline_after(now: Instant, ms: u64) -> Option<Instant> {
    (ms != 0).then(|| now + Duration::from_millis(ms))
}

/// One look at what a waiting request waits for: its answer, `TimedOut` once `deadline` has
/// passed, the given error if it is interrupted, or `None` (wait on).
fn look<T>(
    interrupt: Option<NetError>,
    deadline: Option<Instant>,
    now: Instant,
    check: impl FnOnce() -> Option<Result<T, NetError>>,
) -> Option<Result<T, NetError>> {
    if let Some(e) = interrupt {
        return Some(Err(e));
    }
    match check() {
        Some(r) => Some(r),
        None if deadline.is_some_and(|d| now >= d) => Some(Err(NetError::TimedOut)),
        None => None,
    }
}

/// Makes `Err` an error reply, `Ok` a reply.
fn done<T>(r: Result<T, NetError>, f: impl FnOnce(T) -> Reply) -> Outcome {
    Outcome::Done(r.map(f).unwrap_or_else(Reply::Error))
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    /// A new session, not yet TCP or UDP.
    pub fn new() -> Session {
        Session {
            sock: Sock::None,
            known: (0, 0),
            pending: None,
        }
    }

    /// Whether a request waits (its progress kept for the next call).
    pub fn waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Answers `req` at `now`, or says it must wait. Called again after a [`Outcome::Wait`],
    /// `req` must be the same request.
    pub fn handle(&mut self, st: &mut Stack, req: &Req<'_>, now: Instant) -> Outcome {
        self.step(st, req, now, None)
    }

    /// Answers `req` as if what it waits for failed with `e` (the server was killed: `Reset`):
    /// a waiting request ends, undoing what it had begun as its own failure would; a new one
    /// gets its answer up to its first wait, and `e` there (requests that never wait are
    /// answered as by [`Session::handle`]).
    pub fn interrupt(&mut self, st: &mut Stack, req: &Req<'_>, now: Instant, e: NetError) -> Reply {
        match self.step(st, req, now, Some(e)) {
            Outcome::Done(r) => r,
            Outcome::Wait(_) => Reply::Error(e),
        }
    }

    fn step(
        &mut self,
        st: &mut Stack,
        req: &Req<'_>,
        now: Instant,
        interrupt: Option<NetError>,
    ) -> Outcome {
        if let Some(p) = self.pending.take() {
            return self.resume(st, req, p, now, interrupt);
        }
        match *req {
            Req::Socket | Req::Invalid => Outcome::Done(Reply::Error(NetError::InvalidInput)),
            Req::Connect { addr, timeout_ms } => self.connect(st, addr, timeout_ms, now, interrupt),
            Req::Listen { addr, backlog } => done(self.listen(st, addr, backlog), Reply::Ok),
            Req::Accept { timeout_ms } => {
                if !matches!(self.sock, Sock::Listen { .. }) {
                    return Outcome::Done(Reply::Error(NetError::NotConnected));
                }
                let deadline = deadline_after(now, timeout_ms);
                self.resume(st, req, Pending::Accept { deadline }, now, interrupt)
            }
            Req::UdpBind { addr } => done(self.udp_bind(st, addr), Reply::Ok),
            Req::Read { timeout_ms, .. } => {
                if !matches!(self.sock, Sock::Tcp(_)) {
                    return Outcome::Done(Reply::Error(NetError::NotConnected));
                }
                let deadline = deadline_after(now, timeout_ms);
                self.resume(st, req, Pending::Read { deadline }, now, interrupt)
            }
            Req::Write(_) => {
                if !matches!(self.sock, Sock::Tcp(_)) {
                    return Outcome::Done(Reply::Error(NetError::NotConnected));
                }
                self.resume(st, req, Pending::Write, now, interrupt)
            }
            Req::SendTo { data, addr } => {
                if !matches!(self.sock, Sock::Udp(_)) {
                    return Outcome::Done(Reply::Error(NetError::NotConnected));
                }
                let (_, port) = to_ep(addr);
                if port == 0 || data.len() > st.sizes.udp_buf {
                    return Outcome::Done(Reply::Error(NetError::InvalidInput));
                }
                self.resume(st, req, Pending::SendTo, now, interrupt)
            }
            Req::RecvFrom { timeout_ms, .. } => {
                if !matches!(self.sock, Sock::Udp(_)) {
                    return Outcome::Done(Reply::Error(NetError::NotConnected));
                }
                let deadline = deadline_after(now, timeout_ms);
                self.resume(st, req, Pending::RecvFrom { deadline }, now, interrupt)
            }
            Req::Shutdown(how) => done(self.shutdown(st, how), Reply::Ok),
            Req::Addrs => {
                let (l, p) = self.addrs(st);
                Outcome::Done(Reply::Address(l, p))
            }
            Req::Resolve(name) => match core::str::from_utf8(name) {
                Ok(name) => self.resolve(st, name, now, interrupt),
                Err(_) => Outcome::Done(Reply::Error(NetError::NameNotFound)),
            },
            Req::Close => {
                self.close(st, now);
                Outcome::Done(Reply::Closed)
            }
            Req::Unknown => Outcome::Done(Reply::Unknown),
        }
    }

    /// Looks again at what `p` waits for; a `Wait` keeps it.
    fn resume(
        &mut self,
        st: &mut Stack,
        req: &Req<'_>,
        p: Pending,
        now: Instant,
        interrupt: Option<NetError>,
    ) -> Outcome {
        match p {
            Pending::Configure { ip, port, deadline } => {
                // Loopback needs no address of ours.
                let ready = st.configured || ip.is_loopback();
                match look(interrupt, deadline, now, || ready.then_some(Ok(()))) {
                    None => self.wait(Pending::Configure { ip, port, deadline }, deadline),
                    Some(Err(_)) => Outcome::Done(Reply::Error(NetError::Unreachable)),
                    Some(Ok(())) => match self.open_connection(st, ip, port) {
                        Ok(()) => {
                            let p = Pending::Establish {
                                deadline,
                                since: now,
                                // Loopback has no ARP.
                                hop: st.next_hop(ip).filter(|_| !st.is_local(ip)),
                            };
                            self.resume(st, req, p, now, None)
                        }
                        Err(e) => Outcome::Done(Reply::Error(e)),
                    },
                }
            }
            Pending::Establish {
                deadline,
                since,
                hop,
            } => {
                let Sock::Tcp(h) = self.sock else {
                    return Outcome::Done(Reply::Error(NetError::NotConnected));
                };
                // Nobody answered ARP for the next hop since a while before the connect, and
                // the connect has waited as long as Linux waits for ARP: no host has it.
                let give_up = since + ARP_GIVE_UP;
                let unheard = hop.is_some_and(|hop| {
                    st.neighbors
                        .heard(hop)
                        .is_none_or(|t| t + ARP_FRESH < since)
                });
                let r = look(interrupt, deadline, now, || {
                    let s = st.tcp(h);
                    match s.state() {
                        tcp::State::SynSent if unheard && now >= give_up => {
                            Some(Err(NetError::HostUnreachable))
                        }
                        tcp::State::SynSent | tcp::State::SynReceived => None,
                        tcp::State::Closed => Some(Err(NetError::Refused)),
                        _ => s.local_endpoint().map(|e| Ok(pack_ep(e))),
                    }
                });
                match r {
                    None => {
                        // Woken to look again when ARP's time is up.
                        let wake = if unheard && now < give_up {
                            Some(deadline.map_or(give_up, |d| d.min(give_up)))
                        } else {
                            deadline
                        };
                        let p = Pending::Establish {
                            deadline,
                            since,
                            hop,
                        };
                        self.wait(p, wake)
                    }
                    Some(r) => {
                        if r.is_err() {
                            st.drop_tcp(h);
                            self.sock = Sock::None;
                        }
                        done(r, Reply::Ok)
                    }
                }
            }
            Pending::Accept { deadline } => self.accept(st, deadline, now, interrupt),
            Pending::Read { deadline } => {
                let (Sock::Tcp(h), Req::Read { max, .. }) = (&self.sock, req) else {
                    return Outcome::Done(Reply::Error(NetError::InvalidInput));
                };
                let (h, max) = (*h, *max);
                // Wait for data (how much is there), or for the end: what recv says with
                // nothing to receive into.
                let r = look(interrupt, deadline, now, || {
                    let s = st.tcp_mut(h);
                    if s.can_recv() {
                        return Some(Ok(s.recv_queue()));
                    }
                    match s.recv_slice(&mut []) {
                        Ok(_) => None,
                        Err(tcp::RecvError::Finished) => Some(Ok(0)),
                        Err(tcp::RecvError::InvalidState) => Some(Err(NetError::Reset)),
                    }
                });
                match r {
                    None => self.wait(Pending::Read { deadline }, deadline),
                    // No bigger than what is there (only this session reads the socket, so
                    // that much stays there).
                    Some(r) => done(r, |there| {
                        if there == 0 {
                            Reply::Eof
                        } else {
                            Reply::Data(max.min(there))
                        }
                    }),
                }
            }
            Pending::Write => {
                let (Sock::Tcp(h), Req::Write(data)) = (&self.sock, req) else {
                    return Outcome::Done(Reply::Error(NetError::InvalidInput));
                };
                let h = *h;
                let r = look(interrupt, None, now, || {
                    let s = st.tcp_mut(h);
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
                });
                match r {
                    None => self.wait(Pending::Write, None),
                    Some(r) => done(r, |n| Reply::Ok(n as u64)),
                }
            }
            Pending::SendTo => {
                let (Sock::Udp(h), Req::SendTo { data, addr }) = (&self.sock, req) else {
                    return Outcome::Done(Reply::Error(NetError::InvalidInput));
                };
                let (h, (ip, port)) = (*h, to_ep(*addr));
                let r = look(interrupt, None, now, || {
                    let s = st.sockets.get_mut::<udp::Socket>(h);
                    match s.send_slice(data, (IpAddress::Ipv4(ip), port)) {
                        Ok(()) => Some(Ok(data.len())),
                        Err(udp::SendError::BufferFull) => None,
                        Err(udp::SendError::Unaddressable) => Some(Err(NetError::Unreachable)),
                    }
                });
                match r {
                    None => self.wait(Pending::SendTo, None),
                    Some(r) => done(r, |n| Reply::Ok(n as u64)),
                }
            }
            Pending::RecvFrom { deadline } => {
                let (Sock::Udp(h), Req::RecvFrom { max, .. }) = (&self.sock, req) else {
                    return Outcome::Done(Reply::Error(NetError::InvalidInput));
                };
                let (h, max) = (*h, *max);
                let r = look(interrupt, deadline, now, || {
                    let s = st.sockets.get_mut::<udp::Socket>(h);
                    match s.recv() {
                        Ok((d, meta)) => {
                            let n = d.len().min(max);
                            Some(Ok((d[..n].to_vec(), pack_ep(meta.endpoint))))
                        }
                        Err(_) => None,
                    }
                });
                match r {
                    None => self.wait(Pending::RecvFrom { deadline }, deadline),
                    Some(r) => done(r, |(d, from)| Reply::Datagram(d, from)),
                }
            }
            Pending::ResolveConfigure { name, deadline } => {
                match look(interrupt, deadline, now, || st.configured.then_some(Ok(()))) {
                    None => self.wait(Pending::ResolveConfigure { name, deadline }, deadline),
                    Some(Err(_)) => Outcome::Done(Reply::Error(NetError::Unreachable)),
                    Some(Ok(())) => {
                        let dns_h = st.dns;
                        let q = st.sockets.get_mut::<dns::Socket>(dns_h).start_query(
                            st.iface.context(),
                            &name,
                            DnsQueryType::A,
                        );
                        match q {
                            Ok(query) => {
                                let p = Pending::ResolveAnswer {
                                    name,
                                    query,
                                    deadline,
                                };
                                self.resume(st, req, p, now, None)
                            }
                            Err(dns::StartQueryError::NoFreeSlot) => {
                                Outcome::Done(Reply::Error(NetError::Exhausted))
                            }
                            Err(_) => Outcome::Done(Reply::Error(NetError::NameNotFound)),
                        }
                    }
                }
            }
            Pending::ResolveAnswer {
                name,
                query,
                deadline,
            } => {
                let dns_h = st.dns;
                let r = look(interrupt, deadline, now, || {
                    match st
                        .sockets
                        .get_mut::<dns::Socket>(dns_h)
                        .get_query_result(query)
                    {
                        Err(dns::GetQueryResultError::Pending) => None,
                        // Why: the name does not exist (or has no address), or the name
                        // server refused, failed or never answered.
                        Err(dns::GetQueryResultError::Failed) => match st.dns_answers.why(&name) {
                            NetError::NameNotFound => Some(Ok(None)),
                            e => Some(Err(e)),
                        },
                        Ok(addrs) => Some(Ok(addrs
                            .iter()
                            .map(|a| match a {
                                IpAddress::Ipv4(v) => *v,
                            })
                            .next())),
                    }
                });
                match r {
                    None => {
                        let p = Pending::ResolveAnswer {
                            name,
                            query,
                            deadline,
                        };
                        self.wait(p, deadline)
                    }
                    Some(Ok(found)) => {
                        let ttl = if found.is_some() {
                            DNS_TTL
                        } else {
                            DNS_NEG_TTL
                        };
                        st.cache_name(name, (found, now + ttl), now);
                        match found {
                            Some(ip) => Outcome::Done(address_reply(ip)),
                            None => Outcome::Done(Reply::Error(NetError::NameNotFound)),
                        }
                    }
                    // The name server's failure is not the name's: nothing is cached.
                    Some(Err(e @ (NetError::NameServerRefused | NetError::NameServerSilent))) => {
                        Outcome::Done(Reply::Error(e))
                    }
                    Some(Err(e)) => {
                        st.sockets.get_mut::<dns::Socket>(dns_h).cancel_query(query);
                        Outcome::Done(Reply::Error(e))
                    }
                }
            }
        }
    }

    fn wait(&mut self, p: Pending, deadline: Option<Instant>) -> Outcome {
        self.pending = Some(p);
        Outcome::Wait(deadline)
    }

    fn connect(
        &mut self,
        st: &mut Stack,
        addr: u64,
        timeout_ms: u64,
        now: Instant,
        interrupt: Option<NetError>,
    ) -> Outcome {
        if !matches!(self.sock, Sock::None) {
            return Outcome::Done(Reply::Error(NetError::AlreadyConnected));
        }
        let (ip, port) = to_ep(addr);
        if port == 0 || ip.is_unspecified() || ip.is_broadcast() {
            return Outcome::Done(Reply::Error(NetError::InvalidInput));
        }
        if let Some(e) = st.no_peer(ip) {
            return Outcome::Done(Reply::Error(e));
        }
        let timeout = if timeout_ms == 0 {
            DEFAULT_CONNECT_MS
        } else {
            timeout_ms
        };
        let deadline = deadline_after(now, timeout);
        let p = Pending::Configure { ip, port, deadline };
        self.resume(st, &Req::Connect { addr, timeout_ms }, p, now, interrupt)
    }

    /// A connecting socket to `ip:port` from an ephemeral port, as the session's.
    fn open_connection(
        &mut self,
        st: &mut Stack,
        ip: Ipv4Address,
        port: u16,
    ) -> Result<(), NetError> {
        st.room_for(1)?;
        let local = st.ephemeral_port();
        let lo = st.is_local(ip);
        let mut s = st.tcp_socket();
        s.connect(st.context(lo), (IpAddress::Ipv4(ip), port), local)
            .map_err(|e| match e {
                tcp::ConnectError::Unaddressable => NetError::Unreachable,
                tcp::ConnectError::InvalidState => NetError::AlreadyConnected,
            })?;
        self.sock = Sock::Tcp(st.add_tcp(s, lo));
        Ok(())
    }

    fn listen(&mut self, st: &mut Stack, addr: u64, backlog: u64) -> Result<u64, NetError> {
        if !matches!(self.sock, Sock::None) {
            return Err(NetError::AlreadyConnected);
        }
        let (ip, port) = to_ep(addr);
        if port == 0 {
            return Err(NetError::InvalidInput);
        }
        let n = backlog.clamp(1, 8) as usize;
        if st.listened(port) {
            return Err(NetError::AddrInUse);
        }
        // The backlog's sockets on the link, and one more on loopback.
        let link = n;
        st.room_for(link + 1)?;
        let mut pool = Vec::new();
        for lo in core::iter::repeat_n(false, link).chain([true]) {
            let mut s = st.tcp_socket();
            s.listen(port).map_err(|_| NetError::InvalidInput)?;
            pool.push(st.add_tcp(s, lo));
        }
        self.sock = Sock::Listen { port, pool };
        Ok(net::pack_addr(ip.octets(), port))
    }

    fn accept(
        &mut self,
        st: &mut Stack,
        deadline: Option<Instant>,
        now: Instant,
        interrupt: Option<NetError>,
    ) -> Outcome {
        let Sock::Listen { port, pool } = &mut self.sock else {
            return Outcome::Done(Reply::Error(NetError::NotConnected));
        };
        let port = *port;
        let r = look(interrupt, deadline, now, || {
            pool.iter().find_map(|h| {
                let s = st.tcp(*h);
                match s.state() {
                    tcp::State::Listen | tcp::State::SynReceived => None,
                    _ => Some(Ok((*h, s.remote_endpoint().map(pack_ep).unwrap_or(0)))),
                }
            })
        });
        let (h, peer) = match r {
            None => return self.wait(Pending::Accept { deadline }, deadline),
            Some(Err(e)) => return Outcome::Done(Reply::Error(e)),
            Some(Ok(v)) => v,
        };
        // The accepted socket leaves the backlog; a fresh one takes its place while sockets
        // are to be had (else the backlog shrinks, down to the last one).
        // Loopback's one listening socket is always replaced.
        let refill = st.room_for(1).is_ok() || h.lo || pool.iter().filter(|t| !t.lo).count() <= 1;
        pool.retain(|x| *x != h);
        if refill {
            let mut fresh = st.tcp_socket();
            let _ = fresh.listen(port);
            pool.push(st.add_tcp(fresh, h.lo));
        }
        let mut accepted = Session::new();
        accepted.sock = Sock::Tcp(h);
        Outcome::Done(Reply::Accepted(accepted, peer))
    }

    fn udp_bind(&mut self, st: &mut Stack, addr: u64) -> Result<u64, NetError> {
        if !matches!(self.sock, Sock::None) {
            return Err(NetError::AlreadyConnected);
        }
        let (ip, mut port) = to_ep(addr);
        st.room_for(1)?;
        if port == 0 {
            port = st.ephemeral_port();
        }
        let n = st.sizes.udp_buf;
        let mut s = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 32], vec![0; n]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 32], vec![0; n]),
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

    /// Takes received bytes into `buf` (after [`Reply::Data`]): how many.
    pub fn take(&mut self, st: &mut Stack, buf: &mut [u8]) -> Result<usize, NetError> {
        let Sock::Tcp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        st.tcp_mut(h).recv_slice(buf).map_err(|_| NetError::Reset)
    }

    fn shutdown(&mut self, st: &mut Stack, how: u64) -> Result<u64, NetError> {
        let Sock::Tcp(h) = self.sock else {
            return Err(NetError::NotConnected);
        };
        if how >= 1 {
            st.tcp_mut(h).close();
        }
        Ok(0)
    }

    /// The session's (local, peer) addresses (0 when none), remembering a connection's while
    /// smoltcp still knows them: the server looks before and after every request.
    pub fn addrs(&mut self, st: &Stack) -> (u64, u64) {
        match &self.sock {
            Sock::Tcp(h) => {
                let s = st.tcp(*h);
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

    fn resolve(
        &mut self,
        st: &mut Stack,
        name: &str,
        now: Instant,
        interrupt: Option<NetError>,
    ) -> Outcome {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = name.parse::<Ipv4Address>() {
            return Outcome::Done(address_reply(ip));
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return Outcome::Done(Reply::Error(NetError::NameNotFound));
        }
        let deadline = deadline_after(now, DNS_TIMEOUT_MS);
        if let Some((ip, until)) = st.dns_cache.get(&name) {
            if *until > now {
                return Outcome::Done(match ip {
                    Some(ip) => address_reply(*ip),
                    None => Reply::Error(NetError::NameNotFound),
                });
            }
            st.dns_cache.remove(&name);
        }
        let p = Pending::ResolveConfigure { name, deadline };
        self.resume(st, &Req::Addrs, p, now, interrupt)
    }

    /// Closes the socket; a TCP connection finishes closing in the background.
    pub fn close(&mut self, st: &mut Stack, now: Instant) {
        self.pending = None;
        match std::mem::replace(&mut self.sock, Sock::None) {
            Sock::Tcp(h) => st.linger(h, now),
            Sock::Listen { pool, .. } => {
                for h in pool {
                    st.drop_tcp(h);
                }
            }
            Sock::Udp(h) => st.drop_udp(h),
            Sock::None => {}
        }
    }

    /// Drops the session's connection at once (an accepted one that found no server thread).
    pub fn abort(&mut self, st: &mut Stack) {
        self.pending = None;
        if let Sock::Tcp(h) = std::mem::replace(&mut self.sock, Sock::None) {
            st.drop_tcp(h);
        }
    }
}

fn address_reply(ip: Ipv4Address) -> Reply {
    Reply::Address(net::pack_addr(ip.octets(), 0), 0)
}
