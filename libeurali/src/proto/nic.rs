//! The raw-frame protocol of `/dev/nic`: one Ethernet interface, frames in and out.
//!
//! Served by the rtl8139 driver on the real kernel and by kernel-stub's TAP device on the host;
//! spoken by the `tcp` server. The device handle is the rendezvous mounted at `/dev/nic`; every
//! request is a `send_receive` ([`crate::rcall`]) and gets exactly one reply.
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Long(NIC_SEND, n, chunk)`: transmit the first `n` bytes of the chunk, one Ethernet frame without FCS, `14 <= n <= MAX_FRAME` | `Short(OK, n, 0)`; `Short(ERROR, code, 0)` | no |
//! | `Short(NIC_RECV, 0, 0)`: the next received frame, waiting as long as it takes | `Long(DATA, n, chunk)` (the frame at offset 0, no FCS, `n <= MAX_FRAME`); `Short(ERROR, code, 0)` | no |
//! | `Short(NIC_POLL, 0, wait_us)`: the next frame if one arrives within `wait_us` microseconds (0: only one already there) | `Long(DATA, n, chunk)`; `Short(EMPTY, 0, 0)` when none came; `Short(ERROR, code, 0)` | no |
//! | `Short(NIC_POLL_MANY, max, wait_us)`: as `NIC_POLL`, but every frame already there too, up to `max` bytes of records (`max <= MAX_BATCH`) | `Long(NIC_FRAMES, n, chunk)`: `n` bytes of records, each a 2-byte little-endian frame length and the frame, at least one; `Short(EMPTY, 0, 0)`; `Short(ERROR, code, 0)` | no |
//! | `Short(NIC_GET_MAC_ADDRESS, 0, 0)` | `Short(NIC_MAC_ADDRESS, mac, 0)`: byte 0 of the MAC in bits 0..7 | yes |
//! | anything else | `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)`; the server goes on serving | |
//!
//! Rules:
//! - A frame is at most [`MAX_FRAME`] = 1514 bytes (Ethernet header and a 1500-byte payload).
//!   A server refuses a `NIC_SEND` whose `n` is below 14 or above `MAX_FRAME` with `ERROR 5`
//!   (PARAM) before it reads the chunk; a client refuses a `DATA` claiming more.
//! - The server drops received frames it cannot hold (a bounded queue), as hardware does; TCP
//!   recovers. A `NIC_POLL`'s wait is a bound, not a promise of promptness: the real kernel's
//!   driver polls its ring with `yield`, whose granularity is a timer tick.
//! - `NIC_POLL_MANY` is optional: a server without it answers `ERROR_UNKNOWN_MESSAGE` and the
//!   client falls back to `NIC_POLL` ([`recv_many`] does). It exists because moving a chunk is
//!   the dearest part of a frame's trip; a batch moves one chunk for many frames.
//! - `ERROR` codes are [`crate::Error`] codes: 5 PARAM (bad length), 12 CLOSED (the interface is
//!   gone), 14 NOT_IMPLEMENTED.
//! - The chunk of a `NIC_SEND` goes to the server (the client allocates it); the `DATA` chunk
//!   comes to the client. Both sides write every byte they send.
//! - Message types are eurali's (0x1300..); `NIC_GET_MAC_ADDRESS`/`NIC_MAC_ADDRESS` keep
//!   upstream's numbers (ABI §6.6).

use crate::error::Error;
use crate::message::{Message, Word, rcall};
use crate::msgtype;
use crate::object::{Handle, MemoryChunk};

/// Transmit one frame.
pub const NIC_SEND: u64 = 0x1300;
/// Receive one frame, blocking.
pub const NIC_RECV: u64 = 0x1301;
/// Receive one frame if one comes within a bound.
pub const NIC_POLL: u64 = 0x1302;
/// Receive every frame there is (at least one, waiting as `NIC_POLL` does), packed.
pub const NIC_POLL_MANY: u64 = 0x1303;
/// The reply to `NIC_POLL_MANY`.
pub const NIC_FRAMES: u64 = 0x1304;
pub use msgtype::{NIC_GET_MAC_ADDRESS, NIC_MAC_ADDRESS};

/// Largest batch of `NIC_POLL_MANY`.
pub const MAX_BATCH: usize = 64 * 1024;

/// Largest frame: 14-byte Ethernet header plus a 1500-byte payload, no FCS.
pub const MAX_FRAME: usize = 1514;
/// Smallest frame: an Ethernet header.
pub const MIN_FRAME: usize = 14;

/// A MAC address packed into a word: byte 0 in bits 0..7.
pub fn pack_mac(mac: [u8; 6]) -> u64 {
    let mut v = 0u64;
    for (i, b) in mac.iter().enumerate() {
        v |= (*b as u64) << (8 * i);
    }
    v
}

/// The MAC address in a word made by [`pack_mac`].
pub fn unpack_mac(v: u64) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, b) in m.iter_mut().enumerate() {
        *b = (v >> (8 * i)) as u8;
    }
    m
}

fn error_from(code: u64) -> Error {
    Error::from_code(code.min(255) as u8).unwrap_or(Error::Other(0))
}

/// Client side: transmits `frame`.
pub fn send(h: &Handle, frame: &[u8]) -> Result<(), Error> {
    if frame.len() < MIN_FRAME || frame.len() > MAX_FRAME {
        return Err(Error::Param);
    }
    let chunk = MemoryChunk::from_bytes(frame)?;
    let n = frame.len() as u64;
    match rcall(
        h,
        Message::Long(NIC_SEND, Word::Value(n), Word::Chunk(chunk)),
    )?
    .values()
    {
        (msgtype::OK, _, _) => Ok(()),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// Client side: the next frame, copied into `buf` (at least [`MAX_FRAME`] bytes); `Ok(None)`
/// when `wait` is `Some(us)` and nothing came in time. `wait = None` blocks until a frame comes.
pub fn recv(h: &Handle, buf: &mut [u8], wait: Option<u64>) -> Result<Option<usize>, Error> {
    let req = match wait {
        None => Message::Short(NIC_RECV, 0, 0),
        Some(us) => Message::Short(NIC_POLL, 0, us),
    };
    match rcall(h, req)? {
        Message::Long(msgtype::DATA, Word::Value(n), Word::Chunk(mut c))
            if (n as usize) <= MAX_FRAME && (n as usize) <= buf.len() =>
        {
            // Safety: the server wrote `n <= MAX_FRAME` bytes of this chunk (protocol rule).
            unsafe { c.set_len(n as usize) };
            buf[..n as usize].copy_from_slice(c.as_slice());
            Ok(Some(n as usize))
        }
        Message::Short(msgtype::EMPTY, _, _) => Ok(None),
        Message::Short(msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// What [`recv_many`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    /// `n` bytes of records in the buffer (see [`frames`]).
    Frames(usize),
    /// Nothing came within the wait.
    Empty,
    /// The server does not batch: use [`recv`].
    Unsupported,
}

/// Client side: every frame there is, packed as records into `buf` (at most
/// [`MAX_BATCH`] bytes), waiting up to `wait_us` for the first.
pub fn recv_many(h: &Handle, buf: &mut [u8], wait_us: u64) -> Result<Batch, Error> {
    let max = buf.len().min(MAX_BATCH);
    match rcall(h, Message::Short(NIC_POLL_MANY, max as u64, wait_us))? {
        Message::Long(NIC_FRAMES, Word::Value(n), Word::Chunk(mut c)) if (n as usize) <= max => {
            // Safety: the server wrote `n <= max` bytes of this chunk (protocol rule).
            unsafe { c.set_len(n as usize) };
            buf[..n as usize].copy_from_slice(c.as_slice());
            Ok(Batch::Frames(n as usize))
        }
        Message::Short(msgtype::EMPTY, _, _) => Ok(Batch::Empty),
        Message::Short(msgtype::ERROR_UNKNOWN_MESSAGE, _, _) => Ok(Batch::Unsupported),
        Message::Short(msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// The frames of a batch's records; a record that runs past the end, is shorter than
/// [`MIN_FRAME`] or longer than [`MAX_FRAME`] ends the batch.
pub fn frames(records: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = records;
    core::iter::from_fn(move || {
        if rest.len() < 2 {
            return None;
        }
        let n = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        if !(MIN_FRAME..=MAX_FRAME).contains(&n) || rest.len() < 2 + n {
            rest = &[];
            return None;
        }
        let f = &rest[2..2 + n];
        rest = &rest[2 + n..];
        Some(f)
    })
}

#[cfg(feature = "alloc")]
/// Appends `frame` to a batch as a record, if it fits in `max` bytes; `false` if it does not.
pub fn push_record(batch: &mut alloc::vec::Vec<u8>, frame: &[u8], max: usize) -> bool {
    let n = frame.len().min(MAX_FRAME);
    if batch.len() + 2 + n > max {
        return false;
    }
    batch.extend_from_slice(&(n as u16).to_le_bytes());
    batch.extend_from_slice(&frame[..n]);
    true
}

/// Server side: the reply carrying a batch of records.
pub fn frames_reply(records: &[u8]) -> Result<Message, Error> {
    let n = records.len().min(MAX_BATCH);
    let c = MemoryChunk::from_bytes(&records[..n])?;
    Ok(Message::Long(
        NIC_FRAMES,
        Word::Value(n as u64),
        Word::Chunk(c),
    ))
}

/// Client side: the interface's MAC address.
pub fn mac_address(h: &Handle) -> Result<[u8; 6], Error> {
    match rcall(h, Message::Short(NIC_GET_MAC_ADDRESS, 0, 0))?.values() {
        (NIC_MAC_ADDRESS, mac, _) => Ok(unpack_mac(mac)),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// A request as a NIC server sees it, checked against the protocol.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// A frame to transmit (the chunk's length set to the frame's).
    Send(MemoryChunk),
    /// Wait for a frame: `None` for as long as it takes, `Some(us)` at most that long.
    Recv(Option<u64>),
    /// Wait up to `wait_us` for a frame, then take all there are, up to `max` bytes of records.
    RecvMany { max: usize, wait_us: u64 },
    /// The MAC address.
    Mac,
    /// A `NIC_SEND` with a bad length: answer `error_reply(Error::Param)`.
    BadLength,
    /// Anything else: answer [`unknown_reply`].
    Unknown(Message),
}

/// Server side: classifies a received message. Never panics.
pub fn parse_request(m: Message) -> Request {
    match m {
        Message::Long(NIC_SEND, Word::Value(n), Word::Chunk(mut c)) => {
            let n = n as usize;
            if !(MIN_FRAME..=MAX_FRAME).contains(&n) {
                return Request::BadLength;
            }
            // Safety: the client allocated at least `n <= MAX_FRAME` bytes (protocol rule).
            unsafe { c.set_len(n) };
            Request::Send(c)
        }
        Message::Short(NIC_RECV, _, _) => Request::Recv(None),
        Message::Short(NIC_POLL, _, us) => Request::Recv(Some(us)),
        Message::Short(NIC_POLL_MANY, max, us) => Request::RecvMany {
            max: (max as usize).min(MAX_BATCH),
            wait_us: us,
        },
        Message::Short(NIC_GET_MAC_ADDRESS, _, _) => Request::Mac,
        other => Request::Unknown(other),
    }
}

/// Server side: the reply carrying a received frame.
pub fn frame_reply(frame: &[u8]) -> Result<Message, Error> {
    let n = frame.len().min(MAX_FRAME);
    let c = MemoryChunk::from_bytes(&frame[..n])?;
    Ok(Message::Long(
        msgtype::DATA,
        Word::Value(n as u64),
        Word::Chunk(c),
    ))
}

/// Server side: no frame came within the wait.
pub const fn empty_reply() -> Message {
    Message::Short(msgtype::EMPTY, 0, 0)
}

/// Server side: a frame was sent.
pub const fn sent_reply(n: usize) -> Message {
    Message::Short(msgtype::OK, n as u64, 0)
}

/// Server side: the MAC address.
pub const fn mac_reply(mac: [u8; 6]) -> Message {
    let mut v = 0u64;
    let mut i = 0;
    while i < 6 {
        v |= (mac[i] as u64) << (8 * i);
        i += 1;
    }
    Message::Short(NIC_MAC_ADDRESS, v, 0)
}

/// Server side: an error reply.
pub const fn error_reply(e: Error) -> Message {
    Message::Short(msgtype::ERROR, e.code() as u64, 0)
}

/// Server side: the reply to a request the server does not understand.
pub const fn unknown_reply() -> Message {
    Message::Short(msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_packing_round_trips() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        assert_eq!(pack_mac(mac), 0x5634_1200_5452);
        assert_eq!(unpack_mac(pack_mac(mac)), mac);
        assert_eq!(mac_reply(mac).values(), (NIC_MAC_ADDRESS, pack_mac(mac), 0));
    }

    #[test]
    fn batches_round_trip_and_stop_at_junk() {
        let a = [1u8; 60];
        let b = [2u8; MAX_FRAME];
        let mut batch = alloc::vec::Vec::new();
        assert!(push_record(&mut batch, &a, MAX_BATCH));
        assert!(push_record(&mut batch, &b, MAX_BATCH));
        let full = batch.len() + 10;
        assert!(!push_record(&mut batch, &b, full));
        let got: alloc::vec::Vec<&[u8]> = frames(&batch).collect();
        assert_eq!(got, [&a[..], &b[..]]);
        // A cut record, a too-short one, and garbage end the batch without a panic.
        assert_eq!(frames(&batch[..batch.len() - 1]).count(), 1);
        assert_eq!(frames(&[5, 0, 1, 2, 3, 4, 5]).count(), 0);
        assert_eq!(frames(&[0xff]).count(), 0);
    }

    #[test]
    fn short_requests_parse() {
        assert_eq!(
            parse_request(Message::Short(NIC_RECV, 0, 0)),
            Request::Recv(None)
        );
        assert_eq!(
            parse_request(Message::Short(NIC_POLL, 0, 7)),
            Request::Recv(Some(7))
        );
        assert_eq!(
            parse_request(Message::Short(NIC_GET_MAC_ADDRESS, 0, 0)),
            Request::Mac
        );
        assert!(matches!(
            parse_request(Message::Short(99, 0, 0)),
            Request::Unknown(_)
        ));
        // A SEND without a chunk is not a SEND.
        assert!(matches!(
            parse_request(Message::Short(NIC_SEND, 60, 0)),
            Request::Unknown(_)
        ));
    }
}
