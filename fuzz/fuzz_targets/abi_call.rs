//! `abi::Call::decode` and the message words of any register file: every bit pattern is some
//! call, and decoding what `encode` wrote gives the same call back.
#![no_main]

use libeurali::abi::{Call, RawMessage, Registers};
use libfuzzer_sys::fuzz_target;

fn word(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(i * 8..) {
        let n = s.len().min(8);
        w[..n].copy_from_slice(&s[..n]);
    }
    u64::from_le_bytes(w)
}

fuzz_target!(|data: &[u8]| {
    let r = Registers {
        rax: word(data, 0),
        rdi: word(data, 1),
        rsi: word(data, 2),
        rdx: word(data, 3),
        r8: word(data, 4),
        r9: word(data, 5),
    };
    let call = Call::decode(&r);
    let _ = call.name();
    let _ = call.returns_no_status();
    assert_eq!(Call::decode(&call.encode()), call, "encode/decode round trip");
    let _ = r.error();
    let _ = r.contains_message();

    // A received message delivers back to the same message.
    let m = RawMessage::from_received(&r);
    let mut back = Registers::default();
    m.deliver(&mut back, None);
    let again = RawMessage::from_received(&back);
    assert_eq!(again.data1, m.data1);
    assert_eq!(again.data2.bits, m.data2.bits);
    assert_eq!(again.data3.bits, m.data3.bits);
    assert_eq!(again.carries_objects(), m.carries_objects());
    if m.carries_objects() {
        assert_eq!(again, m);
    }
    // A sent message re-encoded keeps its words and kinds.
    let s = RawMessage::from_send(&r);
    let mut sent = Registers {
        rax: s.send_control(),
        rdi: s.data1,
        rsi: s.data2.bits,
        rdx: s.data3.bits,
        ..Registers::default()
    };
    sent.rax |= r.rax & 0xff;
    let s2 = RawMessage::from_send(&sent);
    assert_eq!(s2.data1, s.data1);
    assert_eq!((s2.data2.bits, s2.data3.bits), (s.data2.bits, s.data3.bits));
    if s.carries_objects() {
        assert_eq!(s2, s);
    }
});
