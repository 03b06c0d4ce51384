//! `proto::stream::parse_request`: what a stream server (console, pipes, log, file sessions)
//! makes of any message. A WRITE's claimed length is trusted only up to `MAX_TRANSFER`.
#![no_main]

use libeurali::proto::stream::{self, MAX_TRANSFER, Request};
use libeurali::{MemoryChunk, Message, Word, msgtype};
use libfuzzer_sys::fuzz_target;

mod msgs;
use msgs::{forget, word};

fuzz_target!(|data: &[u8]| {
    msgs::allow_only_free();
    // A page-rounded chunk of MAX_TRANSFER bytes stands for whatever the client sent.
    let mut backing = vec![0u8; MAX_TRANSFER];
    let sel = data.first().copied().unwrap_or(0);
    let tag = match sel & 3 {
        0 => msgtype::WRITE,
        1 => msgtype::READ,
        _ => word(data, 0),
    };
    let (a, b) = (word(data, 1), word(data, 2));
    let mk = |kind: u8, v: u64, base: u64| match kind & 3 {
        // Handles are never dropped here (that would be a syscall): only values and chunks.
        0 | 1 | 3 => Word::Value(v),
        // Safety: points at `backing`; taken back with `into_raw` below, never freed.
        _ => Word::Chunk(unsafe { MemoryChunk::from_raw(base) }),
    };
    let base = backing.as_mut_ptr() as u64;
    let msg = if sel & 4 == 0 {
        Message::Short(tag, a, b)
    } else {
        Message::Long(tag, mk(sel >> 3, a, base), mk(sel >> 5, b, base))
    };
    match stream::parse_request(msg) {
        Request::Write(c) => {
            assert!(c.len() <= MAX_TRANSFER);
            assert_eq!(c.as_slice().len(), c.len());
            c.into_raw();
        }
        Request::Read(n) => assert!(n >= 1 && n <= MAX_TRANSFER),
        Request::Unknown(Message::Long(_, x, y)) => {
            forget(x);
            forget(y);
        }
        Request::Unknown(Message::Short(..)) => {}
    }
    let _ = stream::term_request(Message::Short(tag, a, b));
    drop(backing);
});
