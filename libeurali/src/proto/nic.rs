//! The raw-frame protocol of a network interface (`/dev/nic`): Ethernet frames in and out, and
//! the interface's MAC address. Served by the rtl8139 driver on the real kernel and by the stub's
//! TAP-backed device on the host; the tcp server (smoltcp) is its client.
//!
//! Requests are made on the handle `open("/dev/nic")` gives (the mount itself: an exact open,
//! no file-protocol session) with `send_receive` ([`crate::rcall`]); each gets one reply.
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Long(NIC_SEND, n, chunk)`: one frame, the chunk's first `n` bytes (destination MAC first, no CRC; `1 <= n <=` [`MAX_FRAME`]) | `Short(OK, n, 0)` once the frame is queued for the wire; `Short(ERROR, code, 0)`: 5 PARAM (bad length), 1 SEND_BLOCKING (the transmitter stayed busy: retry later) | no |
//! | `Short(NIC_RECV, 0, 0)` | `Long(NIC_FRAME, n, chunk)`: the oldest received frame (no CRC); `Short(NIC_EMPTY, 0, 0)` if none is waiting (it never blocks) | no |
//! | `Short(NIC_INFO, 0, 0)` | `Short(NIC_MAC, mac, mtu)`: `mac` holds the address's byte 0 in bits 0..7 (upstream's order), `mtu` the largest frame the interface takes | yes |
//! | anything else | `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)`; the server goes on | |
//!
//! Message numbers 0x1300.. (the file protocol has 0x1100.., the console driver 0x1200..).
//!
//! A client polls: receiving never blocks, so one client thread can interleave sends and
//! receives. Frames that arrive while nobody asks are kept by the device up to its own buffer
//! (the rtl8139's 8 KiB ring), then dropped, as on a wire.

use crate::error::Error;
use crate::message::{Message, Word, rcall};
use crate::msgtype;
use crate::object::{Handle, MemoryChunk};

/// Send a frame.
pub const NIC_SEND: u64 = 0x1300;
/// Ask for the oldest received frame.
pub const NIC_RECV: u64 = 0x1301;
/// A received frame (reply to [`NIC_RECV`]).
pub const NIC_FRAME: u64 = 0x1302;
/// No frame waiting (reply to [`NIC_RECV`]).
pub const NIC_EMPTY: u64 = 0x1303;
/// Ask for the MAC address and MTU.
pub const NIC_INFO: u64 = 0x1304;
/// The reply to [`NIC_INFO`].
pub const NIC_MAC: u64 = 0x1305;

/// Largest frame (without CRC) in either direction.
pub const MAX_FRAME: usize = 1792;
/// The usual Ethernet frame limit (1500-byte payload + 14-byte header), what devices report as
/// their `mtu` unless they take more.
pub const ETHERNET_FRAME: usize = 1514;

/// A MAC address as the `mac` word carries it: byte 0 in bits 0..7.
pub fn mac_to_word(mac: [u8; 6]) -> u64 {
    let mut b = [0u8; 8];
    b[..6].copy_from_slice(&mac);
    u64::from_le_bytes(b)
}

/// The inverse of [`mac_to_word`].
pub fn mac_from_word(w: u64) -> [u8; 6] {
    let b = w.to_le_bytes();
    [b[0], b[1], b[2], b[3], b[4], b[5]]
}

fn error_from(code: u64) -> Error {
    Error::from_code(code.min(255) as u8).unwrap_or(Error::Other(0))
}

/// Client: sends one frame.
pub fn send(h: &Handle, frame: &[u8]) -> Result<(), Error> {
    if frame.is_empty() || frame.len() > MAX_FRAME {
        return Err(Error::Param);
    }
    let chunk = MemoryChunk::from_bytes(frame)?;
    let reply = rcall(
        h,
        Message::Long(
            NIC_SEND,
            Word::Value(frame.len() as u64),
            Word::Chunk(chunk),
        ),
    )?;
    match reply.values() {
        (msgtype::OK, _, _) => Ok(()),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::NotImplemented),
    }
}

/// Client: the oldest received frame into `buf` (at least [`MAX_FRAME`] bytes long); its length,
/// or `None` if none is waiting.
pub fn receive(h: &Handle, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    match rcall(h, Message::Short(NIC_RECV, 0, 0))? {
        Message::Long(NIC_FRAME, Word::Value(n), Word::Chunk(mut c))
            if n as usize <= MAX_FRAME && n as usize <= buf.len() =>
        {
            // Safety: bounded by MAX_FRAME; the server wrote `n` bytes (protocol rule).
            unsafe { c.set_len(n as usize) };
            buf[..n as usize].copy_from_slice(c.as_slice());
            Ok(Some(n as usize))
        }
        Message::Short(NIC_EMPTY, _, _) => Ok(None),
        Message::Short(msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::Param),
    }
}

/// Client: the interface's MAC address and MTU.
pub fn info(h: &Handle) -> Result<([u8; 6], usize), Error> {
    match rcall(h, Message::Short(NIC_INFO, 0, 0))?.values() {
        (NIC_MAC, mac, mtu) => Ok((mac_from_word(mac), mtu as usize)),
        (msgtype::ERROR, code, _) => Err(error_from(code)),
        _ => Err(Error::NotImplemented),
    }
}

/// A request as a NIC server sees it, checked against the protocol.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// A frame to send (the chunk's length set to the claimed, checked `n`).
    Send(MemoryChunk),
    /// A SEND with a length of 0 or above [`MAX_FRAME`]: answer `error_reply(Error::Param)`.
    BadSend,
    Receive,
    Info,
    /// Anything else: answer [`crate::proto::stream::unknown_reply`].
    Unknown(Message),
}

/// Server: classifies a received message. Never panics.
pub fn parse_request(m: Message) -> Request {
    match m {
        Message::Long(NIC_SEND, Word::Value(n), Word::Chunk(mut c))
            if (1..=MAX_FRAME as u64).contains(&n) =>
        {
            // Safety: bounded by MAX_FRAME; the client allocated at least `n` bytes (protocol).
            unsafe { c.set_len(n as usize) };
            Request::Send(c)
        }
        Message::Long(NIC_SEND, _, _) => Request::BadSend,
        Message::Short(NIC_RECV, _, _) => Request::Receive,
        Message::Short(NIC_INFO, _, _) => Request::Info,
        other => Request::Unknown(other),
    }
}

/// Server: the reply carrying a received frame (1..=MAX_FRAME bytes).
pub fn frame_reply(frame: &[u8]) -> Result<Message, Error> {
    let n = frame.len().min(MAX_FRAME);
    let c = MemoryChunk::from_bytes(&frame[..n])?;
    Ok(Message::Long(
        NIC_FRAME,
        Word::Value(n as u64),
        Word::Chunk(c),
    ))
}

/// Server: nothing received.
pub const fn empty_reply() -> Message {
    Message::Short(NIC_EMPTY, 0, 0)
}

/// Server: the reply to [`NIC_INFO`].
pub fn info_reply(mac: [u8; 6], mtu: usize) -> Message {
    Message::Short(NIC_MAC, mac_to_word(mac), mtu as u64)
}

/// Server: a sent frame's reply.
pub const fn sent_reply(n: usize) -> Message {
    Message::Short(msgtype::OK, n as u64, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_words_keep_upstreams_byte_order() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        assert_eq!(mac_to_word(mac), 0x5634_1200_5452);
        assert_eq!(mac_from_word(mac_to_word(mac)), mac);
    }

    #[test]
    fn short_requests_are_classified() {
        assert_eq!(
            parse_request(Message::Short(NIC_RECV, 0, 0)),
            Request::Receive
        );
        assert_eq!(parse_request(Message::Short(NIC_INFO, 7, 7)), Request::Info);
        assert_eq!(
            parse_request(Message::Short(NIC_SEND, 10, 0)),
            Request::Unknown(Message::Short(NIC_SEND, 10, 0))
        );
        assert_eq!(
            info_reply([1, 2, 3, 4, 5, 6], ETHERNET_FRAME).values(),
            (NIC_MAC, 0x0605_0403_0201, 1514)
        );
    }
}
