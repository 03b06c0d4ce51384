//! Moving handles and chunks in messages (ABI §2.2–2.4).

use super::*;

#[test]
fn handles_move_to_the_receivers_lowest_free_slot() {
    let mut k = Sys::new();
    let (p1, s) = k.process();
    let (p2, r) = k.process();
    let (a, b) = k.rv(s);
    let obj = k.s.take_handle(p1, b).unwrap();
    let b2 = k.s.procs.get_mut(&p2).unwrap().handles.insert(obj);
    let (x, _) = k.rv(s);
    // The receiver closed its handle 0, so that is its lowest free slot.
    k.done(r, Call::Close { handle: 0 });
    k.blocks(r, Call::Receive { handle: b2 });
    k.ok(s, send(a, long(9, RawWord::value(1), RawWord::handle(x))));
    assert_eq!(
        k.copy(s, x),
        Err(Error::InvalidHandle),
        "moved out of the sender"
    );
    assert_eq!(
        k.wake(r),
        delivered(long(9, RawWord::value(1), RawWord::handle(0)), None)
    );
}

#[test]
fn a_long_of_values_arrives_short() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let r = k.thread(p);
    let (a, b) = k.rv(s);
    k.blocks(r, Call::Receive { handle: b });
    let mut regs = Call::Send {
        handle: a as u32,
        msg: SHORT,
    }
    .encode();
    regs.rax |= 0x100 | 0x600 | 0x1800; // LONG with ERR types: read as values
    let c = Call::decode(&regs);
    let o = k.s.syscall(s, &mut regs, &c);
    assert!(matches!(o, Outcome::Done));
    assert_eq!(k.wake(r), Wake::Message([0, 1, 2, 3]));
}

#[test]
fn bad_payload_fails_before_transfer_and_moves_nothing() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let r = k.thread(p);
    let (a, b) = k.rv(s);
    let (x, _y) = k.rv(s);
    k.blocks(r, Call::Receive { handle: b });
    // A bad payload handle: 3, no message back, x still ours, receiver still waiting.
    let m = long(1, RawWord::handle(x), RawWord::handle(77));
    let regs = k.done(s, send(a, m));
    assert_eq!(regs.rax, 3);
    assert_eq!((regs.rsi, regs.rdx), (x, 77));
    assert!(k.copy(s, x).is_ok());
    // Bad chunk words: 9 before the process ever had a chunk, then 5 outside the area and 10
    // for an empty slot.
    assert_eq!(
        k.err(
            s,
            send(a, long(1, RawWord::chunk(0x1000), RawWord::value(0)))
        ),
        Some(Error::Memory)
    );
    let c = k
        .ok(
            s,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0,
            },
        )
        .rdi;
    assert_eq!(
        k.err(
            s,
            send(a, long(1, RawWord::chunk(0x1000), RawWord::value(0)))
        ),
        Some(Error::Param)
    );
    // A slot that held a chunk and is empty again.
    let empty = k
        .ok(
            s,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0,
            },
        )
        .rdi;
    k.ok(s, Call::Free { addr: empty });
    assert_eq!(
        k.err(
            s,
            send(a, long(1, RawWord::handle(x), RawWord::chunk(empty)))
        ),
        Some(Error::DoubleFree)
    );
    assert!(k.copy(s, x).is_ok(), "nothing moved");
    // The same chunk twice finds its slot taken the second time.
    assert_eq!(
        k.err(
            s,
            send(a, long(1, RawWord::chunk(c), RawWord::chunk(c + 8)))
        ),
        Some(Error::DoubleFree)
    );
    // An invalid target handle: 3.
    assert_eq!(k.err(s, send(55, SHORT)), Some(Error::InvalidHandle));
    assert_eq!(k.wake(r), Wake::Pending);
    k.ok(s, send(a, long(1, RawWord::chunk(c), RawWord::value(0))));
}

#[test]
fn same_handle_twice_gives_the_receiver_two() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let r = k.thread(p);
    let (a, b) = k.rv(s);
    let (x, y) = k.rv(s);
    k.blocks(r, Call::Receive { handle: b });
    k.ok(s, send(a, long(1, RawWord::handle(x), RawWord::handle(x))));
    let Wake::Message([_, _, h1, h2]) = k.wake(r) else {
        panic!()
    };
    assert_ne!(h1, h2);
    assert_eq!(k.s.refs_of(p, y), Some(3));
}

#[test]
fn chunks_move_and_the_senders_slot_is_unmapped() {
    let mut k = Sys::new();
    let (p1, s) = k.process();
    let (p2, r) = k.process();
    let (a, b) = k.rv(s);
    let obj = k.s.take_handle(p1, b).unwrap();
    let b2 = k.s.procs.get_mut(&p2).unwrap().handles.insert(obj);
    let c = k
        .ok(
            s,
            Call::Malloc {
                pages: 2,
                max_physaddr: 0,
            },
        )
        .rdi;
    // Safety: two pages mapped at c.
    unsafe { std::ptr::copy_nonoverlapping(b"payload".as_ptr(), (c + 4096) as *mut u8, 7) };
    k.blocks(r, Call::Receive { handle: b2 });
    k.ok(
        s,
        send(a, long(2, RawWord::value(7), RawWord::chunk(c + 4096))),
    );
    let Wake::Message([rax, _, _, d]) = k.wake(r) else {
        panic!()
    };
    assert_eq!(rax, 0x100 | 0x1000);
    assert_eq!(Some(d), k.s.procs[&p2].chunks.slot_base(1));
    // Safety: the chunk now lives at d.
    assert_eq!(
        // SAFETY: the chunk now lives at d, and its second page is mapped.
        unsafe { std::slice::from_raw_parts((d + 4096) as *const u8, 7) },
        b"payload"
    );
    assert!(
        crate::uaccess::read(c, 1).is_err(),
        "the sender's slot is inaccessible"
    );
    assert_eq!(k.err(s, Call::Free { addr: c }), Some(Error::DoubleFree));
    assert_eq!(k.err(r, Call::Free { addr: d }), None);
}

#[test]
fn a_receiver_without_free_slots_gets_err_11() {
    let mut k = Sys::new();
    let (p1, s) = k.process();
    let (p2, r) = k.process();
    let (a, b) = k.rv(s);
    let obj = k.s.take_handle(p1, b).unwrap();
    let b2 = k.s.procs.get_mut(&p2).unwrap().handles.insert(obj);
    for _ in 0..511 {
        k.ok(
            r,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0,
            },
        );
    }
    assert_eq!(
        k.err(
            r,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0
            }
        ),
        Some(Error::Memory)
    );
    let c = k
        .ok(
            s,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0,
            },
        )
        .rdi;
    k.blocks(r, Call::Receive { handle: b2 });
    k.ok(s, send(a, long(2, RawWord::value(7), RawWord::chunk(c))));
    assert_eq!(
        k.wake(r),
        delivered(long(2, RawWord::value(7), RawWord::err(11)), None)
    );
}
