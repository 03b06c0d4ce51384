//! `std::net`: TCP and UDP over IPv4, through the `tcp` server mounted at `/net`
//! (`libeurali::proto::net`). The address types are core's.
//!
//! Each socket is a session of the server (its own rendezvous and server thread); dropping a
//! socket closes it. A session serves one request at a time, so a read blocked on one thread
//! holds up a write from another: there is no `try_clone`. IPv6 addresses are refused with
//! `InvalidInput` (the stack speaks IPv4 only).

use alloc::string::String;
use core::time::Duration;

use libeurali::Handle;
use libeurali::proto::net::{self as proto, NetError};

pub use core::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6,
};

use crate::io::{self, ErrorKind};

/// Where the network server is mounted.
pub const NET_PATH: &str = "/net";

/// Which halves of a connection to shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

fn kind(e: NetError) -> ErrorKind {
    match e {
        NetError::Refused => ErrorKind::ConnectionRefused,
        NetError::Reset => ErrorKind::ConnectionReset,
        NetError::TimedOut => ErrorKind::TimedOut,
        NetError::Unreachable => ErrorKind::Other,
        NetError::AddrInUse => ErrorKind::AlreadyExists,
        NetError::NotConnected => ErrorKind::BrokenPipe,
        NetError::InvalidInput => ErrorKind::InvalidInput,
        NetError::NameNotFound => ErrorKind::NotFound,
        NetError::Exhausted => ErrorKind::OutOfMemory,
        NetError::AlreadyConnected => ErrorKind::AlreadyExists,
        NetError::NameServerRefused => ErrorKind::Other,
        NetError::NameServerSilent => ErrorKind::Other,
        NetError::HostUnreachable => ErrorKind::Other,
        NetError::Kernel(libeurali::Error::Closed) => ErrorKind::ConnectionReset,
        NetError::Kernel(k) => io::Error::from(k).kind(),
    }
}

/// An `io::Error` for a protocol error; its message says what happened on the network.
///
/// A session whose server is gone (`CLOSED`: tcp ended or was killed, and every connection with
/// it) is a reset connection, not a kernel detail (it read "broken pipe (os error 12)").
pub fn error(e: NetError) -> io::Error {
    match e {
        NetError::Kernel(libeurali::Error::Closed) => io::Error::const_msg(
            ErrorKind::ConnectionReset,
            "connection reset (the network server ended)",
        ),
        NetError::Kernel(k) => io::Error::from(k),
        other => io::Error::const_msg(kind(other), other.message()),
    }
}

/// A new session from the server at [`NET_PATH`], waiting up to `limit_ms` for the server to
/// take the request (0: the session limit of the file protocol, `vfs_client::client::call_limit_ms`).
fn new_session(limit_ms: u64) -> io::Result<Handle> {
    let limit_ms = match limit_ms {
        0 => vfs_client::client::call_limit_ms(),
        ms => ms,
    };
    match libeurali::open(NET_PATH) {
        Ok((h, n)) if n == NET_PATH.len() => {
            proto::socket(&h, limit_ms.saturating_mul(1000)).map_err(error)
        }
        _ => Err(io::Error::const_msg(
            ErrorKind::NotFound,
            "no network (nothing is mounted at /net)",
        )),
    }
}

fn pack(a: &SocketAddr) -> io::Result<u64> {
    match a {
        SocketAddr::V4(v4) => Ok(proto::pack_addr(v4.ip().octets(), v4.port())),
        SocketAddr::V6(_) => Err(io::Error::const_msg(
            ErrorKind::InvalidInput,
            "IPv6 is not supported",
        )),
    }
}

fn unpack(v: u64) -> SocketAddr {
    let (ip, port) = proto::unpack_addr(v);
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn millis(d: Option<Duration>) -> u64 {
    match d {
        None => 0,
        Some(d) => (d.as_millis().min(u64::MAX as u128) as u64).max(1),
    }
}

fn check_timeout(d: Option<Duration>) -> io::Result<()> {
    if d == Some(Duration::ZERO) {
        return Err(io::Error::const_msg(
            ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(())
}

/// Resolves a host name to its IPv4 address (a dotted quad is taken as it is; names go to the
/// server's DNS resolver, which caches answers).
pub fn lookup_host(host: &str) -> io::Result<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(ip);
    }
    let s = new_session(0)?;
    // The error does not repeat the host: the caller names what it looked up, once.
    let r = proto::resolve(&s, host).map(Ipv4Addr::from).map_err(error);
    let _ = proto::close(&s);
    r
}

/// Things that name one or more socket addresses, as std's trait.
pub trait ToSocketAddrs {
    type Iter: Iterator<Item = SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

impl ToSocketAddrs for SocketAddr {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(*self).into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(SocketAddr::V4(*self)).into_iter())
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(SocketAddr::new(self.0, self.1)).into_iter())
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    type Iter = core::option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(SocketAddr::V4(SocketAddrV4::new(self.0, self.1))).into_iter())
    }
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        let ip = lookup_host(self.0)?;
        Ok(alloc::vec![SocketAddr::V4(SocketAddrV4::new(ip, self.1))].into_iter())
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Ok(alloc::vec![a].into_iter());
        }
        let (host, port) = self.rsplit_once(':').ok_or_else(|| {
            io::Error::const_msg(ErrorKind::InvalidInput, "invalid socket address")
        })?;
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::const_msg(ErrorKind::InvalidInput, "invalid port value"))?;
        (host, port).to_socket_addrs()
    }
}

impl ToSocketAddrs for String {
    type Iter = alloc::vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        self.as_str().to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = core::iter::Cloned<core::slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().cloned())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (**self).to_socket_addrs()
    }
}

/// Tries `f` on each address; the last error if none worked.
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(&a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::const_msg(
            ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// A TCP connection.
#[derive(Debug)]
pub struct TcpStream {
    s: Handle,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl TcpStream {
    /// Connects to the first of `addr`'s addresses that answers.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| TcpStream::connect_ms(a, 0))
    }

    /// Connects, giving up with `TimedOut` after `timeout`.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        check_timeout(Some(timeout))?;
        TcpStream::connect_ms(addr, millis(Some(timeout)))
    }

    fn connect_ms(addr: &SocketAddr, ms: u64) -> io::Result<TcpStream> {
        let packed = pack(addr)?;
        let s = new_session(ms)?;
        match proto::connect(&s, packed, ms) {
            Ok(_) => Ok(TcpStream {
                s,
                read_timeout: None,
                write_timeout: None,
            }),
            Err(e) => {
                let _ = proto::close(&s);
                Err(error(e))
            }
        }
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        proto::addrs(&self.s).map(|(_, p)| unpack(p)).map_err(error)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        proto::addrs(&self.s).map(|(l, _)| unpack(l)).map_err(error)
    }

    /// Shuts down a half: `Write` sends FIN (the peer reads its end of file).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => 0,
            Shutdown::Write => 1,
            Shutdown::Both => 2,
        };
        proto::shutdown(&self.s, how).map_err(error)
    }

    /// A read waits at most this long, then fails with `TimedOut` (`None`: forever).
    pub fn set_read_timeout(&mut self, d: Option<Duration>) -> io::Result<()> {
        check_timeout(d)?;
        self.read_timeout = d;
        Ok(())
    }

    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.read_timeout)
    }

    /// Kept for std's API; writes wait for buffer space without a bound.
    pub fn set_write_timeout(&mut self, d: Option<Duration>) -> io::Result<()> {
        check_timeout(d)?;
        self.write_timeout = d;
        Ok(())
    }

    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.write_timeout)
    }

    /// The server sends without Nagle's delay already.
    pub fn set_nodelay(&self, _on: bool) -> io::Result<()> {
        Ok(())
    }

    fn do_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        proto::read(&self.s, buf, millis(self.read_timeout)).map_err(error)
    }

    fn do_write(&self, buf: &[u8]) -> io::Result<usize> {
        proto::write(&self.s, buf).map_err(error)
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_read(buf)
    }
}

impl io::Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_read(buf)
    }
}

impl io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.do_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.do_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let _ = proto::close(&self.s);
    }
}

/// A TCP listening socket.
#[derive(Debug)]
pub struct TcpListener {
    s: Handle,
    local: SocketAddr,
}

impl TcpListener {
    /// Listens on `addr` (a port other than 0).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            let packed = pack(a)?;
            let s = new_session(0)?;
            match proto::listen(&s, packed, 8) {
                Ok(l) => Ok(TcpListener {
                    s,
                    local: unpack(l),
                }),
                Err(e) => {
                    let _ = proto::close(&s);
                    Err(error(e))
                }
            }
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// Waits for the next connection.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (h, peer) = proto::accept(&self.s, 0).map_err(error)?;
        Ok((
            TcpStream {
                s: h,
                read_timeout: None,
                write_timeout: None,
            },
            unpack(peer),
        ))
    }

    /// The connections, as they come.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming(self)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let _ = proto::close(&self.s);
    }
}

/// Iterator of [`TcpListener::incoming`].
pub struct Incoming<'a>(&'a TcpListener);

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.0.accept().map(|(s, _)| s))
    }
}

/// A UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    s: Handle,
    read_timeout: Option<Duration>,
    peer: Option<SocketAddr>,
}

impl UdpSocket {
    /// Binds to `addr` (port 0: an ephemeral port).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |a| {
            let packed = pack(a)?;
            let s = new_session(0)?;
            match proto::udp_bind(&s, packed) {
                Ok(_) => Ok(UdpSocket {
                    s,
                    read_timeout: None,
                    peer: None,
                }),
                Err(e) => {
                    let _ = proto::close(&s);
                    Err(error(e))
                }
            }
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        proto::addrs(&self.s).map(|(l, _)| unpack(l)).map_err(error)
    }

    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let a = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::const_msg(ErrorKind::InvalidInput, "no address to send to")
        })?;
        proto::send_to(&self.s, buf, pack(&a)?).map_err(error)
    }

    /// One datagram (cut to `buf`'s length) and where it came from.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        proto::recv_from(&self.s, buf, millis(self.read_timeout))
            .map(|(n, a)| (n, unpack(a)))
            .map_err(error)
    }

    /// Sets the default peer for [`UdpSocket::send`] and filters [`UdpSocket::recv`] to it.
    pub fn connect<A: ToSocketAddrs>(&mut self, addr: A) -> io::Result<()> {
        self.peer = addr.to_socket_addrs()?.next();
        Ok(())
    }

    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let p = self
            .peer
            .ok_or_else(|| io::Error::const_msg(ErrorKind::BrokenPipe, "not connected"))?;
        self.send_to(buf, p)
    }

    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (n, from) = self.recv_from(buf)?;
            if self.peer.is_none_or(|p| p == from) {
                return Ok(n);
            }
        }
    }

    pub fn set_read_timeout(&mut self, d: Option<Duration>) -> io::Result<()> {
        check_timeout(d)?;
        self.read_timeout = d;
        Ok(())
    }

    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.read_timeout)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let _ = proto::close(&self.s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_convert() {
        let a: SocketAddr = "10.7.0.1:70".parse().unwrap();
        assert_eq!(unpack(pack(&a).unwrap()), a);
        let v6: SocketAddr = "[::1]:70".parse().unwrap();
        assert_eq!(pack(&v6).unwrap_err().kind(), ErrorKind::InvalidInput);
        let v: alloc::vec::Vec<SocketAddr> = "10.0.0.1:7".to_socket_addrs().unwrap().collect();
        assert_eq!(v, alloc::vec!["10.0.0.1:7".parse::<SocketAddr>().unwrap()]);
        assert_eq!(
            "nohost".to_socket_addrs().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(millis(Some(Duration::from_micros(10))), 1);
        assert!(check_timeout(Some(Duration::ZERO)).is_err());
    }

    #[test]
    fn errors_have_kinds() {
        assert_eq!(
            error(NetError::Refused).kind(),
            ErrorKind::ConnectionRefused
        );
        assert_eq!(error(NetError::TimedOut).kind(), ErrorKind::TimedOut);
        assert_eq!(error(NetError::Reset).kind(), ErrorKind::ConnectionReset);
        assert_eq!(error(NetError::NameNotFound).kind(), ErrorKind::NotFound);
        let gone = error(NetError::Kernel(libeurali::Error::Closed));
        assert_eq!(gone.kind(), ErrorKind::ConnectionReset);
        assert_eq!(
            alloc::format!("{gone}"),
            "connection reset (the network server ended)"
        );
    }
}
