//! The `/net` socket protocol: `proto::net::parse_request` (what tcp's sessions make of any
//! message), the error codes and packed addresses a client reads back from any reply. Claimed
//! lengths are trusted only up to `MAX_TRANSFER`, `MAX_DATAGRAM` and `MAX_NAME`.
#![no_main]

use libeurali::proto::net::{
    self, MAX_DATAGRAM, MAX_NAME, MAX_READ, NetError, Request, pack_addr, unpack_addr,
};
use libeurali::proto::stream::MAX_TRANSFER;
use libeurali::{MemoryChunk, Message, Word, msgtype};
use libfuzzer_sys::fuzz_target;

mod msgs;
use msgs::{forget, word};

fuzz_target!(|data: &[u8]| {
    msgs::allow_only_free();
    // A buffer of MAX_TRANSFER bytes stands for whatever the client sent.
    let mut backing = vec![0u8; MAX_TRANSFER];
    let base = backing.as_mut_ptr() as u64;
    let sel = data.first().copied().unwrap_or(0);
    let tags = [
        net::NET_SOCKET,
        net::NET_CONNECT,
        net::NET_LISTEN,
        net::NET_ACCEPT,
        net::NET_UDP_BIND,
        net::NET_SEND_TO,
        net::NET_RECV_FROM,
        net::NET_SHUTDOWN,
        net::NET_ADDRS,
        net::NET_RESOLVE,
        msgtype::READ,
        msgtype::WRITE,
        msgtype::CLOSE,
    ];
    let tag = tags
        .get((sel & 15) as usize)
        .copied()
        .unwrap_or_else(|| word(data, 0));
    let (a, b) = (word(data, 1), word(data, 2));
    let mk = |kind: u8, v: u64| match kind & 1 {
        // Handles are never made here (dropping one would be a syscall): values and chunks.
        0 => Word::Value(v),
        // Safety: points at `backing`; taken back with `into_raw`, never freed.
        _ => Word::Chunk(unsafe { MemoryChunk::from_raw(base) }),
    };
    let msg = if sel & 16 == 0 {
        Message::Short(tag, a, b)
    } else {
        Message::Long(tag, mk(sel >> 5, a), mk(sel >> 6, b))
    };
    match net::parse_request(msg) {
        Request::Read { max, .. } => assert!(max >= 1 && max <= MAX_READ),
        Request::RecvFrom { max, .. } => assert!(max >= 1 && max <= MAX_DATAGRAM),
        Request::Write(c) => {
            assert!(c.len() >= 1 && c.len() <= MAX_TRANSFER);
            c.into_raw();
        }
        Request::SendTo { data, addr } => {
            assert!(data.len() <= MAX_DATAGRAM && addr >> 48 == 0);
            data.into_raw();
        }
        Request::Resolve(c) => {
            assert!(c.len() >= 1 && c.len() <= MAX_NAME);
            c.into_raw();
        }
        Request::Shutdown(how) => assert!(how <= 2),
        Request::Unknown(Message::Long(_, x, y)) => {
            forget(x);
            forget(y);
        }
        _ => {}
    }
    // Any code a reply carries maps to an error that maps back to a code (never panics).
    let e = NetError::from_code(a);
    let _ = e.message();
    assert_eq!(NetError::from_code(e.code()), e);
    // Packed addresses survive the round trip.
    let (ip, port) = unpack_addr(b);
    assert_eq!(pack_addr(ip, port), b & 0xFFFF_FFFF_FFFF);
    drop(backing);
});
