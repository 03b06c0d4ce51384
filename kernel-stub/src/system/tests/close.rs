//! close and CLOSED (ABI §3.5).

use super::*;

#[test]
fn send_on_the_only_reference_is_closed() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    // init's handle 0: nobody else references it.
    let r = k.done(t, send(0, SHORT));
    assert_eq!(r.rax, 12, "12 without a message");
    assert_eq!(k.err(t, send_receive(0, SHORT)), Some(Error::Closed));
    // Receive does not check: it blocks forever.
    k.blocks(t, Call::Receive { handle: 0 });
}

#[test]
fn kernel_reference_keeps_handle_1_open() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    let u = k.thread(k.s.pid_of(t).unwrap());
    // Handle 1 is also held by the kernel: a send blocks instead of failing with 12.
    k.blocks(t, send(1, SHORT));
    let got = k.ok(u, Call::Receive { handle: 1 });
    assert_eq!(got.rdi, 1);
    // Closing handle 1 leaves only the kernel's reference; nobody waits, nothing happens.
    k.done(u, Call::Close { handle: 1 });
}

#[test]
fn close_with_two_refs_wakes_a_receiver_with_12() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(w);
    k.blocks(w, Call::Receive { handle: b });
    let r = k.done(t, Call::Close { handle: a });
    assert_eq!(
        r.rax,
        nr(Call::Close { handle: 0 }),
        "close returns no status"
    );
    assert_eq!(k.wake(w), Wake::Status(12));
    // Afterwards the object is Empty with one reference.
    assert_eq!(k.s.refs_of(p, b), Some(1));
}

fn nr(c: Call) -> u64 {
    c.encode().rax
}

#[test]
fn close_with_three_refs_only_drops_the_handle() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(w);
    let c = k.copy(t, a).unwrap();
    k.blocks(w, Call::Receive { handle: b });
    k.done(t, Call::Close { handle: a });
    assert_eq!(k.wake(w), Wake::Pending);
    // Now exactly two: the next close wakes.
    k.done(t, Call::Close { handle: c });
    assert_eq!(k.wake(w), Wake::Status(12));
}

#[test]
fn close_with_nobody_waiting_does_nothing_else() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let (a, b) = k.rv(t);
    k.done(t, Call::Close { handle: a });
    assert_eq!(k.s.refs_of(p, b), Some(1));
    assert_eq!(k.err(t, send(b, SHORT)), Some(Error::Closed));
    // Invalid handles are silently ignored (RAX keeps 16).
    let r = k.done(t, Call::Close { handle: 99 });
    assert_eq!(r.rax, 16);
}

#[test]
fn close_returns_a_blocked_senders_message_with_renumbered_objects() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(s); // 2, 3
    let (x, y) = k.rv(s); // 4, 5
    assert_eq!((a, b, x, y), (2, 3, 4, 5));
    let chunk = k
        .ok(
            s,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0,
            },
        )
        .rdi;
    // S sends handle x and a chunk; both leave its tables when the message is accepted.
    let m = long(7, RawWord::handle(x), RawWord::chunk(chunk + 100));
    k.blocks(s, send(a, m));
    assert_eq!(k.copy(t, x), Err(Error::InvalidHandle));
    // Meanwhile slot 4 and the first chunk slot are taken by others.
    let (n1, n2) = k.rv(t);
    assert_eq!((n1, n2), (4, 6));
    let c2 = k
        .ok(
            t,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0,
            },
        )
        .rdi;
    assert_eq!(c2, chunk, "the sender's slot was emptied at acceptance");
    // Close b with exactly two references: S gets 12 and its message back, re-inserted at new
    // numbers and addresses.
    k.done(t, Call::Close { handle: b });
    let Wake::Message([rax, rdi, rsi, rdx]) = k.wake(s) else {
        panic!("no message back")
    };
    assert_eq!(rax & 0x7F, 12);
    assert_ne!(rax & bits::CONTAINS_MESSAGE, 0);
    assert_eq!(rax & bits::CONTROL_MASK, 0x100 | 0x200 | 0x1000);
    assert_eq!(rdi, 7);
    assert_eq!(
        rsi, 3,
        "lowest free slot now (b's slot was freed by the close)"
    );
    assert_eq!(
        rdx,
        k.s.procs[&p].chunks.slot_base(2).unwrap(),
        "chunk base, offset lost"
    );
    assert_eq!(k.copy(t, rsi), Ok(7));
}

#[test]
fn close_returns_a_send_receive_message_too() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(s);
    k.blocks(s, send_receive(a, SHORT));
    k.done(t, Call::Close { handle: b });
    assert_eq!(k.wake(s), delivered(SHORT, Some(Error::Closed)));
}

#[test]
fn process_death_drops_handles_without_close_processing() {
    let mut k = Sys::new();
    let (p1, w) = k.process();
    let w2 = k.thread(p1);
    let (p2, t2) = k.process();
    let (a, b) = k.rv(w);
    // Move a to process 2.
    let obj = k.s.take_handle(p1, a).unwrap();
    k.s.procs.get_mut(&p2).unwrap().handles.insert(obj);
    k.blocks(w, Call::Receive { handle: b });
    k.kill(&[t2]);
    assert!(k.s.process(p2).is_none());
    // W stays blocked; the next send on the object gets 12.
    assert_eq!(k.wake(w), Wake::Pending);
    assert_eq!(k.s.refs_of(p1, b), Some(1));
    assert_eq!(k.err(w2, send(b, SHORT)), Some(Error::Closed));
}

#[test]
fn losing_the_last_reference_destroys_the_blocked_thread() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let t = k.thread(p);
    // Handle 0 has one reference; W blocks in it; a sibling closes it.
    k.blocks(w, Call::Receive { handle: 0 });
    k.done(t, Call::Close { handle: 0 });
    assert_eq!(k.wake(w), Wake::Stop(Stopped::Destroyed));
    // A blocked sender's message goes with it (its objects are released).
    let (a, b) = k.rv(t);
    let (x, _y) = k.rv(t);
    let s = k.thread(p);
    k.blocks(s, send(a, long(1, RawWord::handle(x), RawWord::value(0))));
    k.done(t, Call::Close { handle: b });
    let _ = k.wake(s); // 12 + message back (two references before the close)
    let before = k.s.object_count();
    k.done(t, Call::Close { handle: a });
    assert_eq!(k.s.object_count(), before - 1);
}

#[test]
fn a_message_in_flight_holds_a_reference() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(s);
    let (x, y) = k.rv(s);
    // x travels inside a pending message on a: y plus the in-flight x = 2 references.
    k.blocks(s, send(a, long(1, RawWord::handle(x), RawWord::value(0))));
    assert_eq!(k.s.refs_of(p, y), Some(2));
    let got = k.done(t, Call::Receive { handle: b });
    assert_eq!(got.rax, 0x100 | 0x200);
    assert_eq!(got.rsi, x, "lowest free slot: the one x left");
    assert_eq!(k.s.refs_of(p, y), Some(2));
}
