//! The socket protocol of `/net`: TCP and UDP over IPv4, and name resolution, served by the
//! `tcp` program (smoltcp on `/dev/nic`) and spoken by std-shim's `net`.
//!
//! Every request is a `send_receive` ([`crate::timeout::rcall_watched`]: a session whose tcp
//! died without answering wakes its caller with `CLOSED`) and gets exactly one reply. Addresses
//! travel packed in one word ([`pack_addr`]): the IPv4 address in bits 16..48 (most significant
//! octet highest), the port in bits 0..16.
//!
//! **On the mount handle** (`/net`) only:
//!
//! | Request | Reply |
//! |---|---|
//! | `Short(NET_SOCKET, 0, 0)` | `Long(COMM_HANDLE, session, 0)`: a new socket session, not yet TCP or UDP |
//!
//! **On a session** (served by its own thread of the server; one request at a time):
//!
//! | Request | Reply |
//! |---|---|
//! | `Short(NET_CONNECT, addr, timeout_ms)` (TCP; 0 = the server's default, 75 s) | `Short(OK, local addr, 0)` once established |
//! | `Short(NET_LISTEN, addr, backlog)` (TCP; address 0.0.0.0 = any, port 0 refused) | `Short(OK, local addr, 0)` |
//! | `Short(NET_ACCEPT, 0, timeout_ms)` on a listening session (0 = no timeout) | `Long(COMM_HANDLE, new session, Value(peer addr))`: an established connection |
//! | `Short(NET_UDP_BIND, addr, 0)` (port 0 = an ephemeral port) | `Short(OK, local addr, 0)` |
//! | `Short(READ, timeout_ms, max)` (TCP; 0 = no timeout; `max` cut to [`MAX_READ`]) | `Long(DATA, n, chunk)`, `1 <= n <= max`; `Short(EOF, 0, 0)` once the peer has closed its side and every byte was read |
//! | `Long(WRITE, n, chunk)` (TCP) | `Short(OK, accepted, 0)`, `1 <= accepted <= n` |
//! | `Long(NET_SEND_TO, n << 48 \| addr, chunk)` (UDP) | `Short(OK, n, 0)` |
//! | `Short(NET_RECV_FROM, timeout_ms, max)` (UDP; 0 = no timeout) | `Long(NET_DATAGRAM, n << 48 \| source addr, chunk)`, truncated to `max` |
//! | `Short(NET_SHUTDOWN, how, 0)`: 0 read, 1 write (sends FIN), 2 both | `Short(OK, 0, 0)` |
//! | `Short(NET_ADDRS, 0, 0)` | `Short(NET_ADDRESS, local addr, peer addr)` (0 when none) |
//! | `Long(NET_RESOLVE, n, chunk)`: a host name of `n <= 253` bytes | `Short(NET_ADDRESS, ipv4 << 16, 0)` (port 0) |
//! | `Short(CLOSE, 0, 0)` | `Short(OK, 0, 0)`; the session ends (a TCP connection is closed gracefully; unread data is dropped) |
//! | anything else | `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)` |
//!
//! Errors are `Short(ERROR, code, 0)` with a [`NetError`] code (64 and up) or a kernel
//! [`crate::Error`] code (below 64). A client that drops its session handle without `CLOSE`
//! leaves the connection to the server's idle reaping: always close.
//!
//! The same `READ`/`WRITE`/`EOF` messages as the stream protocol ([`super::stream`]), so a
//! connected TCP session is also a stream (with `data2` of `READ` as a timeout).

use crate::error::Error;
use crate::message::{Message, Word};
use crate::msgtype;
use crate::object::{Handle, MemoryChunk};
use crate::proto::stream::{EOF, MAX_TRANSFER};
use crate::timeout::rcall_watched;

/// Largest `DATA` a TCP session's `READ` brings: more than a stream's [`MAX_TRANSFER`], so that
/// a bulk download takes fewer round trips (a stream client, asking for at most that, still
/// gets at most what it asked for). The server gives no more than its buffer holds.
pub const MAX_READ: usize = 256 * 1024;

pub const NET_SOCKET: u64 = 0x1400;
pub const NET_CONNECT: u64 = 0x1401;
pub const NET_LISTEN: u64 = 0x1402;
pub const NET_ACCEPT: u64 = 0x1403;
pub const NET_UDP_BIND: u64 = 0x1404;
pub const NET_SEND_TO: u64 = 0x1405;
pub const NET_RECV_FROM: u64 = 0x1406;
pub const NET_DATAGRAM: u64 = 0x1407;
pub const NET_SHUTDOWN: u64 = 0x1408;
pub const NET_ADDRS: u64 = 0x1409;
pub const NET_ADDRESS: u64 = 0x140A;
pub const NET_RESOLVE: u64 = 0x140B;

/// Largest UDP payload in one datagram.
pub const MAX_DATAGRAM: usize = 65507;
/// Longest host name.
pub const MAX_NAME: usize = 253;

/// Errors of the socket protocol (codes from 64, clear of the kernel's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The peer answered the SYN with a reset.
    Refused,
    /// The connection was reset.
    Reset,
    /// Nothing happened in time (connect, read, accept, a DNS query).
    TimedOut,
    /// No route: the interface has no address yet, or the address is not reachable.
    Unreachable,
    /// The local port is taken.
    AddrInUse,
    /// The request needs a connection (or a bound socket) the session does not have.
    NotConnected,
    /// A bad argument (port 0, an address of the wrong kind, a request for the wrong socket type).
    InvalidInput,
    /// DNS: no such name, or no A record.
    NameNotFound,
    /// The server is out of sockets or buffers.
    Exhausted,
    /// The session already has a socket.
    AlreadyConnected,
    /// DNS: the name server refused to answer (REFUSED), or failed (SERVFAIL).
    NameServerRefused,
    /// DNS: no name server answered.
    NameServerSilent,
    /// The peer (or the gateway to it) never answered ARP: nobody on the link has its address.
    HostUnreachable,
    /// A kernel error (below 64).
    Kernel(Error),
}

impl NetError {
    pub const fn code(self) -> u64 {
        match self {
            NetError::Refused => 64,
            NetError::Reset => 65,
            NetError::TimedOut => 66,
            NetError::Unreachable => 67,
            NetError::AddrInUse => 68,
            NetError::NotConnected => 69,
            NetError::InvalidInput => 70,
            NetError::NameNotFound => 71,
            NetError::Exhausted => 72,
            NetError::AlreadyConnected => 73,
            NetError::NameServerRefused => 74,
            NetError::NameServerSilent => 75,
            NetError::HostUnreachable => 76,
            NetError::Kernel(e) => e.code() as u64,
        }
    }

    pub fn from_code(code: u64) -> NetError {
        match code {
            64 => NetError::Refused,
            65 => NetError::Reset,
            66 => NetError::TimedOut,
            67 => NetError::Unreachable,
            68 => NetError::AddrInUse,
            69 => NetError::NotConnected,
            70 => NetError::InvalidInput,
            71 => NetError::NameNotFound,
            72 => NetError::Exhausted,
            73 => NetError::AlreadyConnected,
            74 => NetError::NameServerRefused,
            75 => NetError::NameServerSilent,
            76 => NetError::HostUnreachable,
            c => NetError::Kernel(Error::from_code(c.min(255) as u8).unwrap_or(Error::Other(0))),
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            NetError::Refused => "connection refused",
            NetError::Reset => "connection reset",
            NetError::TimedOut => "timed out",
            NetError::Unreachable => "network unreachable",
            NetError::AddrInUse => "address in use",
            NetError::NotConnected => "not connected",
            NetError::InvalidInput => "invalid argument",
            NetError::NameNotFound => "name not found",
            NetError::Exhausted => "out of sockets or buffers",
            NetError::AlreadyConnected => "already connected",
            NetError::NameServerRefused => "the name server refused or failed to answer",
            NetError::NameServerSilent => "no name server answered",
            NetError::HostUnreachable => "host unreachable",
            NetError::Kernel(_) => "kernel error",
        }
    }
}

impl From<Error> for NetError {
    fn from(e: Error) -> NetError {
        NetError::Kernel(e)
    }
}

impl From<crate::message::SendError> for NetError {
    fn from(e: crate::message::SendError) -> NetError {
        NetError::Kernel(e.error)
    }
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NetError::Kernel(e) => write!(f, "{e}"),
            other => f.write_str(other.message()),
        }
    }
}

/// An IPv4 address and port packed in one word.
pub const fn pack_addr(ip: [u8; 4], port: u16) -> u64 {
    ((u32::from_be_bytes(ip) as u64) << 16) | port as u64
}

/// The address and port in a word made by [`pack_addr`] (bits above 48 ignored).
pub const fn unpack_addr(v: u64) -> ([u8; 4], u16) {
    (((v >> 16) as u32).to_be_bytes(), v as u16)
}

/// A reply's error.
fn reply_error(m: &Message) -> NetError {
    match m.values() {
        (msgtype::ERROR, code, _) => NetError::from_code(code),
        _ => NetError::Kernel(Error::Param),
    }
}

fn short(h: &Handle, m: Message) -> Result<(u64, u64, u64), NetError> {
    let r = rcall_watched(h, m)?;
    match r.values() {
        (msgtype::ERROR, _, _) => Err(reply_error(&r)),
        v => Ok(v),
    }
}

fn ok_value(h: &Handle, m: Message) -> Result<u64, NetError> {
    match short(h, m)? {
        (msgtype::OK, v, _) => Ok(v),
        _ => Err(NetError::Kernel(Error::Param)),
    }
}

/// Client: a new socket session from the server mounted at `mount`, waiting up to `limit_us`
/// microseconds for a turn.
///
/// The mount is one rendezvous for every client of the server: while the server answers one
/// client's `NET_SOCKET` (it starts a session thread), another's send finds it reserved for that
/// reply (`RECV_BLOCKING`), or finds a request already waiting (`SEND_BLOCKING`): while the
/// server is being started again, the first client's request waits there until the new server
/// takes it. Both only mean "wait your turn", retried for `limit_us` on the runtime's clock
/// ([`crate::retry_busy_for`]; a count of tries ran out on a fast host while init was starting
/// tcp again). Still busy after that: [`NetError::TimedOut`].
pub fn socket(mount: &Handle, limit_us: u64) -> Result<Handle, NetError> {
    let reply = crate::message::retry_busy_for(
        mount,
        Message::Short(NET_SOCKET, 0, 0),
        limit_us,
        crate::message::send_receive,
    )
    .map_err(|e| {
        if e.error.is_transient() {
            NetError::TimedOut
        } else {
            NetError::from(e)
        }
    })?;
    match reply {
        Message::Long(msgtype::COMM_HANDLE, Word::Handle(h), _) => Ok(h),
        other => Err(reply_error(&other)),
    }
}

/// Client: connects a session over TCP; returns the local address.
pub fn connect(s: &Handle, addr: u64, timeout_ms: u64) -> Result<u64, NetError> {
    ok_value(s, Message::Short(NET_CONNECT, addr, timeout_ms))
}

/// Client: makes a session a TCP listener; returns the local address.
pub fn listen(s: &Handle, addr: u64, backlog: u64) -> Result<u64, NetError> {
    ok_value(s, Message::Short(NET_LISTEN, addr, backlog))
}

/// Client: the next connection on a listening session, and the peer's address.
pub fn accept(s: &Handle, timeout_ms: u64) -> Result<(Handle, u64), NetError> {
    match rcall_watched(s, Message::Short(NET_ACCEPT, 0, timeout_ms))? {
        Message::Long(msgtype::COMM_HANDLE, Word::Handle(h), Word::Value(peer)) => Ok((h, peer)),
        other => Err(reply_error(&other)),
    }
}

/// Client: binds a session as a UDP socket; returns the local address.
pub fn udp_bind(s: &Handle, addr: u64) -> Result<u64, NetError> {
    ok_value(s, Message::Short(NET_UDP_BIND, addr, 0))
}

/// Client: reads up to `buf.len()` bytes (at most [`MAX_READ`]); `Ok(0)` at the end.
pub fn read(s: &Handle, buf: &mut [u8], timeout_ms: u64) -> Result<usize, NetError> {
    let max = buf.len().min(MAX_READ);
    if max == 0 {
        return Ok(0);
    }
    match rcall_watched(s, Message::Short(msgtype::READ, timeout_ms, max as u64))? {
        Message::Long(msgtype::DATA, Word::Value(n), Word::Chunk(mut c))
            if n as usize <= max && n > 0 =>
        {
            // Safety: the server wrote `n <= max` bytes of this chunk (protocol rule).
            unsafe { c.set_len(n as usize) };
            buf[..n as usize].copy_from_slice(c.as_slice());
            Ok(n as usize)
        }
        Message::Short(EOF, _, _) => Ok(0),
        other => Err(reply_error(&other)),
    }
}

/// Client: writes up to [`MAX_TRANSFER`] bytes of `buf`; returns how many were accepted.
pub fn write(s: &Handle, buf: &[u8]) -> Result<usize, NetError> {
    let n = buf.len().min(MAX_TRANSFER);
    if n == 0 {
        return Ok(0);
    }
    let c = MemoryChunk::from_bytes(&buf[..n])?;
    let r = rcall_watched(
        s,
        Message::Long(msgtype::WRITE, Word::Value(n as u64), Word::Chunk(c)),
    )?;
    match r.values() {
        (msgtype::OK, k, _) if k as usize <= n && k > 0 => Ok(k as usize),
        _ => Err(reply_error(&r)),
    }
}

/// Client: sends one datagram to `addr`.
pub fn send_to(s: &Handle, buf: &[u8], addr: u64) -> Result<usize, NetError> {
    if buf.len() > MAX_DATAGRAM {
        return Err(NetError::InvalidInput);
    }
    let c = MemoryChunk::from_bytes(buf)?;
    let word = ((buf.len() as u64) << 48) | (addr & 0xFFFF_FFFF_FFFF);
    ok_value(
        s,
        Message::Long(NET_SEND_TO, Word::Value(word), Word::Chunk(c)),
    )
    .map(|n| n as usize)
}

/// Client: receives one datagram into `buf` (truncated to fit); its length and source.
pub fn recv_from(s: &Handle, buf: &mut [u8], timeout_ms: u64) -> Result<(usize, u64), NetError> {
    let max = buf.len().min(MAX_DATAGRAM) as u64;
    match rcall_watched(s, Message::Short(NET_RECV_FROM, timeout_ms, max))? {
        Message::Long(NET_DATAGRAM, Word::Value(w), Word::Chunk(mut c)) if (w >> 48) <= max => {
            let n = (w >> 48) as usize;
            // Safety: the server wrote `n <= max` bytes (protocol rule).
            unsafe { c.set_len(n) };
            buf[..n].copy_from_slice(c.as_slice());
            Ok((n, w & 0xFFFF_FFFF_FFFF))
        }
        other => Err(reply_error(&other)),
    }
}

/// Client: shuts down the read (0), write (1) or both (2) halves.
pub fn shutdown(s: &Handle, how: u64) -> Result<(), NetError> {
    ok_value(s, Message::Short(NET_SHUTDOWN, how, 0)).map(|_| ())
}

/// Client: the session's local and peer addresses.
pub fn addrs(s: &Handle) -> Result<(u64, u64), NetError> {
    match short(s, Message::Short(NET_ADDRS, 0, 0))? {
        (NET_ADDRESS, local, peer) => Ok((local, peer)),
        _ => Err(NetError::Kernel(Error::Param)),
    }
}

/// Client: resolves `name` to an IPv4 address (an A record, or a dotted quad).
pub fn resolve(s: &Handle, name: &str) -> Result<[u8; 4], NetError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(NetError::InvalidInput);
    }
    let c = MemoryChunk::from_bytes(name.as_bytes())?;
    let m = Message::Long(NET_RESOLVE, Word::Value(name.len() as u64), Word::Chunk(c));
    match short(s, m)? {
        (NET_ADDRESS, a, _) => Ok(unpack_addr(a).0),
        _ => Err(NetError::Kernel(Error::Param)),
    }
}

/// Client: closes the session (and its connection).
pub fn close(s: &Handle) -> Result<(), NetError> {
    ok_value(s, Message::Short(msgtype::CLOSE, 0, 0)).map(|_| ())
}

/// A request as a session sees it, checked against the protocol. Never panics to build.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
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
    Write(MemoryChunk),
    SendTo {
        data: MemoryChunk,
        addr: u64,
    },
    RecvFrom {
        max: usize,
        timeout_ms: u64,
    },
    Shutdown(u64),
    Addrs,
    Resolve(MemoryChunk),
    Close,
    /// A request with a bad length: answer [`NetError::InvalidInput`].
    Invalid,
    Unknown(Message),
}

/// Server side: classifies a received message.
pub fn parse_request(m: Message) -> Request {
    match m {
        Message::Short(NET_SOCKET, _, _) => Request::Socket,
        Message::Short(NET_CONNECT, addr, t) => Request::Connect {
            addr,
            timeout_ms: t,
        },
        Message::Short(NET_LISTEN, addr, backlog) => Request::Listen { addr, backlog },
        Message::Short(NET_ACCEPT, _, t) => Request::Accept { timeout_ms: t },
        Message::Short(NET_UDP_BIND, addr, _) => Request::UdpBind { addr },
        Message::Short(msgtype::READ, t, max) if max > 0 => Request::Read {
            max: (max as usize).min(MAX_READ),
            timeout_ms: t,
        },
        Message::Long(msgtype::WRITE, Word::Value(n), Word::Chunk(mut c)) => {
            if n == 0 || n as usize > MAX_TRANSFER {
                return Request::Invalid;
            }
            // Safety: bounded; the client allocated at least `n` bytes (protocol rule).
            unsafe { c.set_len(n as usize) };
            Request::Write(c)
        }
        Message::Long(NET_SEND_TO, Word::Value(w), Word::Chunk(mut c)) => {
            let n = (w >> 48) as usize;
            if n > MAX_DATAGRAM {
                return Request::Invalid;
            }
            // Safety: as for WRITE.
            unsafe { c.set_len(n) };
            Request::SendTo {
                data: c,
                addr: w & 0xFFFF_FFFF_FFFF,
            }
        }
        Message::Short(NET_RECV_FROM, t, max) if max > 0 => Request::RecvFrom {
            max: (max as usize).min(MAX_DATAGRAM),
            timeout_ms: t,
        },
        Message::Short(NET_SHUTDOWN, how, _) if how <= 2 => Request::Shutdown(how),
        Message::Short(NET_ADDRS, _, _) => Request::Addrs,
        Message::Long(NET_RESOLVE, Word::Value(n), Word::Chunk(mut c)) => {
            if n == 0 || n as usize > MAX_NAME {
                return Request::Invalid;
            }
            // Safety: as for WRITE.
            unsafe { c.set_len(n as usize) };
            Request::Resolve(c)
        }
        Message::Short(msgtype::CLOSE, _, _) => Request::Close,
        other => Request::Unknown(other),
    }
}

/// Server side: an error reply.
pub const fn error_reply(e: NetError) -> Message {
    Message::Short(msgtype::ERROR, e.code(), 0)
}

/// What a mount server does with a request it took (see [`serve_mount`]).
pub enum Turn {
    /// Reply with this (if a reply is owed) and go on.
    Reply(Message),
    /// Send this at once and stop serving.
    Last(Message),
    /// Stop serving without a reply.
    Stop,
}

/// Server side: serves `/net`'s mount handle `h`, each request answered by `answer`, until
/// `stop` (asked whenever no reply is pending) or `answer` says so, or `h` fails.
///
/// A reply goes out only when the kernel says one is owed: after taking a `send_receive`, the
/// rendezvous is reserved for our reply and the next `receive` fails with `RECV_BLOCKING`; after
/// a plain `send` it is free, and a reply sent then would wait for good for a receiver that never
/// comes, with `/net` stuck behind it. A plain send does come: the `KILL_WAKE` a killed tcp's
/// kill hook left on `/net` after that tcp's loop had ended is taken by whoever serves `/net`
/// next. A new request while a reply is pending means nobody waits for that reply; it is
/// dropped (a handle in it is closed).
pub fn serve_mount(h: &Handle, stop: impl Fn() -> bool, mut answer: impl FnMut(Message) -> Turn) {
    let mut pending: Option<Message> = None;
    loop {
        if pending.is_none() && stop() {
            return;
        }
        let m = match crate::message::receive(h) {
            Ok(m) => m,
            Err(Error::RecvBlocking) => {
                let reply = pending
                    .take()
                    .unwrap_or_else(crate::proto::stream::unknown_reply);
                if crate::message::send(h, reply).is_err() {
                    crate::message::yield_now(); // reserved for another thread's reply
                }
                continue;
            }
            Err(_) => return,
        };
        drop(pending.take());
        match answer(m) {
            Turn::Reply(r) => pending = Some(r),
            Turn::Last(r) => {
                let _ = crate::message::send(h, r);
                return;
            }
            Turn::Stop => return,
        }
    }
}

/// Server side: `OK` with a value.
pub const fn ok_reply(v: u64) -> Message {
    Message::Short(msgtype::OK, v, 0)
}

/// Server side: a datagram for `RECV_FROM`.
pub fn datagram_reply(data: &[u8], from: u64) -> Result<Message, Error> {
    let n = data.len().min(MAX_DATAGRAM);
    let c = MemoryChunk::from_bytes(&data[..n])?;
    Ok(Message::Long(
        NET_DATAGRAM,
        Word::Value(((n as u64) << 48) | (from & 0xFFFF_FFFF_FFFF)),
        Word::Chunk(c),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_pack() {
        let w = pack_addr([10, 7, 0, 1], 70);
        assert_eq!(w, 0x0A07_0001_0046);
        assert_eq!(unpack_addr(w), ([10, 7, 0, 1], 70));
        assert_eq!(unpack_addr(w | (5 << 48)), ([10, 7, 0, 1], 70));
    }

    #[test]
    fn error_codes_round_trip() {
        for e in [
            NetError::Refused,
            NetError::Reset,
            NetError::TimedOut,
            NetError::Unreachable,
            NetError::AddrInUse,
            NetError::NotConnected,
            NetError::InvalidInput,
            NetError::NameNotFound,
            NetError::Exhausted,
            NetError::AlreadyConnected,
            NetError::NameServerRefused,
            NetError::NameServerSilent,
            NetError::HostUnreachable,
            NetError::Kernel(Error::Closed),
        ] {
            assert_eq!(NetError::from_code(e.code()), e);
        }
    }

    #[test]
    fn short_requests_parse() {
        assert_eq!(
            parse_request(Message::Short(NET_CONNECT, 9, 100)),
            Request::Connect {
                addr: 9,
                timeout_ms: 100
            }
        );
        assert_eq!(
            parse_request(Message::Short(msgtype::READ, 0, 1 << 40)),
            Request::Read {
                max: MAX_READ,
                timeout_ms: 0
            }
        );
        assert_eq!(
            parse_request(Message::Short(NET_SHUTDOWN, 1, 0)),
            Request::Shutdown(1)
        );
        assert!(matches!(
            parse_request(Message::Short(NET_SHUTDOWN, 3, 0)),
            Request::Unknown(_)
        ));
        assert!(matches!(
            parse_request(Message::Short(msgtype::READ, 0, 0)),
            Request::Unknown(_)
        ));
        assert_eq!(
            parse_request(Message::Short(msgtype::CLOSE, 0, 0)),
            Request::Close
        );
    }
}
