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
//! | `Long(NIC_SEND_POLL_MANY, n + (max << 20) + (wait_us << 40), chunk)`: transmit the frames of the first `n` bytes of the chunk (records as `NIC_FRAMES` has them; `n <= MAX_BATCH`), in order, then as `NIC_POLL_MANY(max, wait_us)` (`wait_us` below 2^24) | as `NIC_POLL_MANY`; `Short(ERROR, 5, 0)` (PARAM) and nothing sent if the records are malformed | no |
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
//! - `NIC_SEND_POLL_MANY` is optional too (a server without it answers `ERROR_UNKNOWN_MESSAGE`
//!   and has sent nothing; [`send_poll_many`] then says [`Received::Unsupported`]). It saves a
//!   client that has frames to send and then waits for frames (TCP's ACKs, then the next
//!   segments) one round trip each time: a round trip costs two thread wake-ups.
//! - `ERROR` codes are [`crate::Error`] codes: 5 PARAM (bad length), 12 CLOSED (the interface is
//!   gone), 14 NOT_IMPLEMENTED.
//! - The chunk of a `NIC_SEND` goes to the server (the client allocates it); the `DATA` chunk
//!   comes to the client. Both sides write every byte they send.
//! - Message types are eurali's (0x1300..); `NIC_GET_MAC_ADDRESS`/`NIC_MAC_ADDRESS` keep
//!   upstream's numbers (ABI §6.6).

/// The replies every protocol shares, here too for this protocol's servers.
pub use super::{error_reply, unknown_reply};
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
/// The reply to `NIC_POLL_MANY` and `NIC_SEND_POLL_MANY`.
pub const NIC_FRAMES: u64 = 0x1304;
/// Transmit a batch of frames, then receive as `NIC_POLL_MANY`.
pub const NIC_SEND_POLL_MANY: u64 = 0x1305;
/// Longest wait a `NIC_SEND_POLL_MANY` can carry, in microseconds (24 bits; about 16.7 s).
pub const MAX_SEND_POLL_WAIT: u64 = (1 << 24) - 1;
pub use msgtype::{NIC_GET_MAC_ADDRESS, NIC_MAC_ADDRESS};

/// Largest batch of `NIC_POLL_MANY`.
pub const MAX_BATCH: usize = 256 * 1024;

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
    Ok(match poll_many(h, buf.len(), wait_us)? {
        Received::Records(c) => {
            buf[..c.len()].copy_from_slice(c.as_slice());
            Batch::Frames(c.len())
        }
        Received::Empty => Batch::Empty,
        Received::Unsupported => Batch::Unsupported,
    })
}

/// What [`poll_many`] and [`send_poll_many`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The records (see [`frames`]), in the reply's chunk (its length set to theirs).
    Records(MemoryChunk),
    /// Nothing came within the wait.
    Empty,
    /// The server does not know the request (and did nothing).
    Unsupported,
}

/// Client side: [`recv_many`] without the copy: at most `max` bytes of records (cut to
/// [`MAX_BATCH`]) in the reply's chunk.
pub fn poll_many(h: &Handle, max: usize, wait_us: u64) -> Result<Received, Error> {
    let max = max.min(MAX_BATCH);
    received(
        rcall(h, Message::Short(NIC_POLL_MANY, max as u64, wait_us))?,
        max,
    )
}

/// Client side: transmits the frames packed as records in `out` (at most [`MAX_BATCH`] bytes;
/// see [`push_record`]), in order, then receives as [`poll_many`] does (the wait is cut to
/// [`MAX_SEND_POLL_WAIT`]). [`Received::Unsupported`] means the server has no
/// `NIC_SEND_POLL_MANY` and sent nothing.
pub fn send_poll_many(h: &Handle, out: &[u8], max: usize, wait_us: u64) -> Result<Received, Error> {
    if out.len() > MAX_BATCH || !records_valid(out) {
        return Err(Error::Param);
    }
    let max = max.min(MAX_BATCH);
    let chunk = MemoryChunk::from_bytes(out)?;
    let word = out.len() as u64 | (max as u64) << 20 | wait_us.min(MAX_SEND_POLL_WAIT) << 40;
    received(
        rcall(
            h,
            Message::Long(NIC_SEND_POLL_MANY, Word::Value(word), Word::Chunk(chunk)),
        )?,
        max,
    )
}

/// Client side: what a `NIC_POLL_MANY`/`NIC_SEND_POLL_MANY` reply says, for a request of at
/// most `max` bytes of records. Never panics; a batch longer than `max` is `Err(Param)`.
pub fn received(reply: Message, max: usize) -> Result<Received, Error> {
    match reply {
        Message::Long(NIC_FRAMES, Word::Value(n), Word::Chunk(mut c)) if (n as usize) <= max => {
            // Safety: the server wrote `n <= max` bytes of this chunk (protocol rule).
            unsafe { c.set_len(n as usize) };
            Ok(Received::Records(c))
        }
        Message::Short(msgtype::EMPTY, _, _) => Ok(Received::Empty),
        Message::Short(msgtype::ERROR_UNKNOWN_MESSAGE, _, _) => Ok(Received::Unsupported),
        Message::Short(msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// Whether `records` is a whole number of well-formed records (each frame
/// [`MIN_FRAME`]..=[`MAX_FRAME`] bytes), as a batch to transmit must be.
pub fn records_valid(records: &[u8]) -> bool {
    let mut at = 0;
    while at < records.len() {
        match next_record(records, at) {
            Some((_, next)) => at = next,
            None => return false,
        }
    }
    true
}

/// The frame of the record at offset `at` of `records` and the offset of the next record;
/// `None` at the end, or if the record runs past the end, is shorter than [`MIN_FRAME`] or
/// longer than [`MAX_FRAME`].
pub fn next_record(records: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = records.get(at..)?;
    if rest.len() < 2 {
        return None;
    }
    let n = u16::from_le_bytes([rest[0], rest[1]]) as usize;
    if !(MIN_FRAME..=MAX_FRAME).contains(&n) || rest.len() < 2 + n {
        return None;
    }
    Some((&rest[2..2 + n], at + 2 + n))
}

/// The frames of a batch's records; a record that runs past the end, is shorter than
/// [`MIN_FRAME`] or longer than [`MAX_FRAME`] ends the batch.
pub fn frames(records: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    core::iter::from_fn(move || {
        let (f, next) = next_record(records, at)?;
        at = next;
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
    /// Transmit the frames of these records ([`frames`]; checked whole), then as `RecvMany`.
    SendRecvMany {
        records: MemoryChunk,
        max: usize,
        wait_us: u64,
    },
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
        Message::Long(NIC_SEND_POLL_MANY, Word::Value(w), Word::Chunk(mut c)) => {
            let n = (w & 0xF_FFFF) as usize;
            let max = ((w >> 20) & 0xF_FFFF) as usize;
            if n > MAX_BATCH {
                return Request::BadLength;
            }
            // Safety: bounded by MAX_BATCH; the client allocated at least `n` bytes (protocol
            // rule, as for NIC_SEND).
            unsafe { c.set_len(n) };
            if !records_valid(c.as_slice()) {
                return Request::BadLength;
            }
            Request::SendRecvMany {
                records: c,
                max: max.min(MAX_BATCH),
                wait_us: w >> 40,
            }
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

/// A network interface as [`serve`] drives it: the rtl8139 driver's chip on the real kernel,
/// kernel-stub's TAP device on the host. Each method is one thing the protocol asks of the
/// hardware; the protocol itself (parsing, batching, replies) is [`serve`]'s.
pub trait NicDevice {
    /// The interface's MAC address.
    fn mac(&self) -> [u8; 6];
    /// Transmits one frame of [`MIN_FRAME`]..=[`MAX_FRAME`] bytes.
    ///
    /// # Errors
    /// The `ERROR` code to answer with (the frame was not sent).
    fn send(&mut self, frame: &[u8]) -> Result<(), Error>;
    /// The next received frame (at most [`MAX_FRAME`] bytes), waiting up to `wait_us`
    /// microseconds for it (`None`: as long as it takes); `Ok(None)` if none came in time.
    ///
    /// # Errors
    /// The `ERROR` code to answer with (the interface is gone).
    fn recv(&mut self, wait_us: Option<u64>) -> Result<Option<&[u8]>, Error>;
    /// A received frame already there, without waiting (`Ok(None)`: none).
    ///
    /// # Errors
    /// As [`NicDevice::recv`]; [`serve`] takes an error here as "no more for this batch".
    fn try_recv(&mut self) -> Result<Option<&[u8]>, Error>;
}

/// Server side: serves this protocol on `h` from `dev` until the handle fails (the one loop of
/// every NIC server).
#[cfg(feature = "alloc")]
pub fn serve(h: &Handle, dev: &mut impl NicDevice) {
    let mut batch = alloc::vec::Vec::new();
    loop {
        let Ok(m) = crate::message::receive(h) else {
            return;
        };
        let reply = match parse_request(m) {
            Request::Send(chunk) => match dev.send(chunk.as_slice()) {
                Ok(()) => sent_reply(chunk.len()),
                Err(e) => error_reply(e),
            },
            Request::BadLength => error_reply(Error::Param),
            Request::Recv(wait) => match dev.recv(wait) {
                Ok(Some(f)) => frame_reply(f).unwrap_or_else(error_reply),
                Ok(None) => empty_reply(),
                Err(e) => error_reply(e),
            },
            Request::RecvMany { max, wait_us } => serve_recv_many(dev, &mut batch, max, wait_us),
            Request::SendRecvMany {
                records,
                max,
                wait_us,
            } => {
                // In order; a frame that cannot go out ends the request with its error (the
                // frames before it were sent, as with one NIC_SEND each).
                match frames(records.as_slice()).try_for_each(|f| dev.send(f)) {
                    Ok(()) => serve_recv_many(dev, &mut batch, max, wait_us),
                    Err(e) => error_reply(e),
                }
            }
            Request::Mac => mac_reply(dev.mac()),
            Request::Unknown(_) => unknown_reply(),
        };
        let _ = crate::message::send(h, reply);
    }
}

/// The reply to a `NIC_POLL_MANY`: the first frame within `wait_us`, then every frame already
/// waiting, as long as the batch has room for a whole one (a frame that does not fit waits for
/// the next request).
#[cfg(feature = "alloc")]
fn serve_recv_many(
    dev: &mut impl NicDevice,
    batch: &mut alloc::vec::Vec<u8>,
    max: usize,
    wait_us: u64,
) -> Message {
    if max < 2 + MAX_FRAME {
        // Too small for a whole frame: a frame must never be taken and then dropped.
        return error_reply(Error::Param);
    }
    batch.clear();
    match dev.recv(Some(wait_us)) {
        Ok(Some(f)) => {
            push_record(batch, f, max);
        }
        Ok(None) => return empty_reply(),
        Err(e) => return error_reply(e),
    }
    while batch.len() + 2 + MAX_FRAME <= max {
        match dev.try_recv() {
            Ok(Some(f)) => {
                push_record(batch, f, max);
            }
            Ok(None) | Err(_) => break,
        }
    }
    frames_reply(batch).unwrap_or_else(error_reply)
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
    fn records_to_send_are_checked_whole() {
        let mut batch = alloc::vec::Vec::new();
        assert!(records_valid(&batch));
        assert!(push_record(&mut batch, &[3u8; MIN_FRAME], MAX_BATCH));
        assert!(push_record(&mut batch, &[4u8; MAX_FRAME], MAX_BATCH));
        assert!(records_valid(&batch));
        let (f, next) = next_record(&batch, 0).unwrap();
        assert_eq!(f, &[3u8; MIN_FRAME]);
        let (g, end) = next_record(&batch, next).unwrap();
        assert_eq!(g.len(), MAX_FRAME);
        assert_eq!(end, batch.len());
        assert_eq!(next_record(&batch, end), None);
        assert_eq!(next_record(&batch, end + 5), None);
        // Cut short, a stray byte, a frame too short: refused.
        assert!(!records_valid(&batch[..batch.len() - 1]));
        let mut stray = batch.clone();
        stray.push(0);
        assert!(!records_valid(&stray));
        assert!(!records_valid(&[2, 0, 1, 2]));
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
