//! The `/dev/nic` protocol: `proto::nic::parse_request` (what a NIC server makes of any message),
//! `proto::nic::received` (what tcp makes of any batch reply) and the record decoders that split
//! a batch into frames, fed the same bytes. Claimed lengths are trusted only up to `MAX_BATCH`
//! and each frame only between `MIN_FRAME` and `MAX_FRAME`.
#![no_main]

use libeurali::proto::nic::{
    self, MAX_BATCH, MAX_FRAME, MIN_FRAME, Received, Request, frames, next_record, records_valid,
};
use libeurali::{MemoryChunk, Message, Word};
use libfuzzer_sys::fuzz_target;

mod msgs;
use msgs::{forget, word};

fuzz_target!(|data: &[u8]| {
    msgs::allow_only_free();
    // The bytes after the 25 header bytes stand for the chunk's contents (the rest zeros); a
    // buffer of MAX_BATCH bytes stands for whatever the peer sent.
    let mut backing = vec![0u8; MAX_BATCH];
    let body = data.get(25..).unwrap_or(&[]);
    backing[..body.len().min(MAX_BATCH)].copy_from_slice(&body[..body.len().min(MAX_BATCH)]);
    let base = backing.as_mut_ptr() as u64;
    let sel = data.first().copied().unwrap_or(0);
    let tag = match sel & 7 {
        0 => nic::NIC_SEND,
        1 => nic::NIC_SEND_POLL_MANY,
        2 => nic::NIC_POLL_MANY,
        3 => nic::NIC_FRAMES,
        4 => nic::NIC_POLL,
        _ => word(data, 0),
    };
    let (a, b) = (word(data, 1), word(data, 2));
    let mk = |kind: u8, v: u64| match kind & 1 {
        // Handles are never made here (dropping one would be a syscall): values and chunks.
        0 => Word::Value(v),
        // Safety: points at `backing`; taken back with `into_raw`, never freed.
        _ => Word::Chunk(unsafe { MemoryChunk::from_raw(base) }),
    };
    let msg = |sel: u8| {
        if sel & 8 == 0 {
            Message::Short(tag, a, b)
        } else {
            Message::Long(tag, mk(sel >> 4, a), mk(sel >> 5, b))
        }
    };
    match nic::parse_request(msg(sel)) {
        Request::Send(c) => {
            assert!((MIN_FRAME..=MAX_FRAME).contains(&c.len()));
            c.into_raw();
        }
        Request::SendRecvMany { records, max, .. } => {
            assert!(records.len() <= MAX_BATCH && max <= MAX_BATCH);
            assert!(records_valid(records.as_slice()));
            assert!(frames(records.as_slice()).all(|f| (MIN_FRAME..=MAX_FRAME).contains(&f.len())));
            records.into_raw();
        }
        Request::RecvMany { max, .. } => assert!(max <= MAX_BATCH),
        Request::Unknown(Message::Long(_, x, y)) => {
            forget(x);
            forget(y);
        }
        Request::Recv(_) | Request::Mac | Request::BadLength | Request::Unknown(_) => {}
    }
    let max = (a as usize) % (MAX_BATCH + 1);
    match nic::received(msg(sel), max) {
        Ok(Received::Records(c)) => {
            assert!(c.len() <= max);
            // Whatever the device put there, the frames come out bounded and in order.
            let mut at = 0;
            for f in frames(c.as_slice()) {
                assert!((MIN_FRAME..=MAX_FRAME).contains(&f.len()));
                at += 2 + f.len();
            }
            assert!(at <= c.len());
            c.into_raw();
        }
        Ok(_) => {}
        Err(_) => {}
    }
    // The record decoders on raw bytes: `records_valid` agrees with walking `next_record`.
    let mut at = 0;
    let mut whole = true;
    while at < body.len() {
        match next_record(body, at) {
            Some((f, next)) => {
                assert_eq!(next, at + 2 + f.len());
                at = next;
            }
            None => {
                whole = false;
                break;
            }
        }
    }
    assert_eq!(records_valid(body), whole);
    drop(backing);
});
