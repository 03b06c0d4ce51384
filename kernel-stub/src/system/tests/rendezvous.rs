//! The rendezvous state machine (ABI §3.2), row by row.

use super::*;

#[test]
fn empty_send_then_receive() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let r = k.thread(p);
    let (a, b) = k.rv(s);
    // Empty -> Sending(S, m); S blocks.
    k.blocks(s, send(a, SHORT));
    assert_eq!(k.wake(s), Wake::Pending);
    // Sending(S, m0) + receive: R gets m0 at once, S gets RAX = 0; -> Empty.
    let got = k.ok(r, Call::Receive { handle: b });
    assert_eq!((got.rdi, got.rsi, got.rdx), (1, 2, 3));
    assert_eq!(k.wake(s), Wake::Status(0));
    k.blocks(r, Call::Receive { handle: b });
}

#[test]
fn empty_receive_then_send() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(w);
    // Empty -> Receiving(W, any); W blocks.
    k.blocks(w, Call::Receive { handle: b });
    // Receiving(W, any) + send: W gets m, T gets RAX = 0 and keeps its registers; -> Empty.
    let r = k.ok(t, send(a, SHORT));
    assert_eq!((r.rdi, r.rsi, r.rdx), (1, 2, 3));
    assert_eq!(k.wake(w), delivered(SHORT, None));
    k.blocks(t, send(a, SHORT));
}

#[test]
fn second_sender_gets_1_with_its_message() {
    let mut k = Sys::new();
    let (p, s) = k.process();
    let t = k.thread(p);
    let (a, _b) = k.rv(s);
    k.blocks(s, send(a, SHORT));
    // Sending + send / send_receive: error 1 and the message back (0x81 for a Short, observed).
    for c in [
        send(a, RawMessage::short(7, 8, 9)),
        send_receive(a, RawMessage::short(7, 8, 9)),
    ] {
        let r = k.done(t, c);
        assert_eq!(r.rax, 0x81);
        assert_eq!((r.rdi, r.rsi, r.rdx), (7, 8, 9));
    }
    // Same from SendRecv.
    let (c, _d) = k.rv(s);
    let u = k.thread(p);
    k.blocks(u, send_receive(c, SHORT));
    for call in [
        send(c, RawMessage::short(4, 5, 6)),
        send_receive(c, RawMessage::short(4, 5, 6)),
    ] {
        let r = k.done(t, call);
        assert_eq!(r.rax, 0x81);
        assert_eq!((r.rdi, r.rsi, r.rdx), (4, 5, 6));
    }
}

#[test]
fn send_receive_reserves_the_rendezvous_for_the_receiving_thread() {
    let mut k = Sys::new();
    let (client, c) = k.process();
    let (server, r) = k.process();
    let r2 = k.thread(server);
    let other = k.thread(client);
    let (a, b) = k.rv(c);
    // Give b to the server: it sits in a pending message the server receives on its handle 1.
    let (x, y) = k.rv(r);
    let _ = (x, y);
    let bh = {
        // Move b by sending it on a rendezvous both hold: simplest is a direct table move.
        let obj = k.s.take_handle(client, b).unwrap();
        k.s.procs.get_mut(&server).unwrap().handles.insert(obj)
    };
    // Empty -> SendRecv(C, m); C blocks.
    k.blocks(c, send_receive(a, SHORT));
    // SendRecv + receive by R: R gets m; -> Receiving(C, R).
    let got = k.ok(r, Call::Receive { handle: bh });
    assert_eq!(got.rdi, 1);
    assert_eq!(k.wake(c), Wake::Pending, "the caller waits for the reply");
    // Reserved: another thread of R's process, another client and any receiver get 2.
    let r2_send = k.done(r2, send(bh, RawMessage::short(9, 9, 9)));
    assert_eq!(r2_send.rax, 0x82, "2 with the message back");
    assert_eq!(k.done(other, send(a, SHORT)).rax, 0x82);
    assert_eq!(
        k.err(other, send_receive(a, SHORT)),
        Some(Error::RecvBlocking)
    );
    assert_eq!(
        k.err(r2, Call::Receive { handle: bh }),
        Some(Error::RecvBlocking)
    );
    assert_eq!(
        k.err(r, Call::Receive { handle: bh }),
        Some(Error::RecvBlocking)
    );
    // R replies with send: C gets the reply; R goes on with 0; -> Empty.
    let reply = RawMessage::short(10, 20, 30);
    k.ok(r, send(bh, reply));
    assert_eq!(k.wake(c), delivered(reply, None));
    k.blocks(other, send(a, SHORT));
}

#[test]
fn receiving_any_plus_send_receive_then_ping_pong() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let t = k.thread(p);
    let (a, b) = k.rv(w);
    k.blocks(w, Call::Receive { handle: b });
    // Receiving(W, any) + send_receive by T: W gets m; -> Receiving(T, W); T blocks.
    k.blocks(t, send_receive(a, SHORT));
    assert_eq!(k.wake(w), delivered(SHORT, None));
    // W replies with send_receive: T gets it, W now waits for T's reply (ping-pong).
    let m2 = RawMessage::short(2, 0, 0);
    k.blocks(w, send_receive(b, m2));
    assert_eq!(k.wake(t), delivered(m2, None));
    let m3 = RawMessage::short(3, 0, 0);
    k.ok(t, send(a, m3));
    assert_eq!(k.wake(w), delivered(m3, None));
}

#[test]
fn receiving_tid_refuses_other_senders_by_thread_not_process() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let t = k.thread(p);
    let sibling = k.thread(p);
    let (a, b) = k.rv(w);
    k.blocks(t, send_receive(a, SHORT));
    k.ok(w, Call::Receive { handle: b });
    // Receiving(T, W): a sibling of W in the same process is not W.
    let r = k.done(sibling, send(b, RawMessage::short(5, 5, 5)));
    assert_eq!(r.rax, 0x82);
    assert_eq!((r.rdi, r.rsi, r.rdx), (5, 5, 5));
    let r = k.done(sibling, send_receive(b, RawMessage::short(5, 5, 5)));
    assert_eq!(r.error(), Some(Error::RecvBlocking));
    assert!(r.contains_message());
    // W itself may.
    k.ok(w, send(b, RawMessage::short(6, 0, 0)));
    assert_eq!(k.wake(t), delivered(RawMessage::short(6, 0, 0), None));
}

#[test]
fn second_receiver_gets_2() {
    let mut k = Sys::new();
    let (p, w) = k.process();
    let r = k.thread(p);
    let (a, b) = k.rv(w);
    k.blocks(w, Call::Receive { handle: a });
    assert_eq!(
        k.err(r, Call::Receive { handle: b }),
        Some(Error::RecvBlocking)
    );
    assert_eq!(
        k.err(r, Call::Receive { handle: a }),
        Some(Error::RecvBlocking)
    );
}

#[test]
fn reply_to_a_caller_woken_by_close_becomes_a_pending_message() {
    let mut k = Sys::new();
    let (p, c) = k.process();
    let r = k.thread(p);
    let (a, b) = k.rv(c);
    k.blocks(c, send_receive(a, SHORT));
    k.ok(r, Call::Receive { handle: b });
    // Exactly two references: closing a wakes C (awaiting the reply) with 12, no message.
    let keep = k.copy(r, b).unwrap();
    k.done(r, Call::Close { handle: keep });
    k.done(r, Call::Close { handle: a });
    assert_eq!(k.wake(c), Wake::Status(12));
    // The reservation is gone with the close. With b the only reference, R's reply is refused.
    assert_eq!(k.err(r, send(b, SHORT)), Some(Error::Closed));
    // Once someone else holds the object again, the reply is an ordinary blocking send: it waits
    // as a pending message until somebody receives it (§3.3).
    let b2 = k.copy(r, b).unwrap();
    let reply = RawMessage::short(4, 5, 6);
    k.blocks(r, send(b, reply));
    let other = k.thread(p);
    let got = k.ok(other, Call::Receive { handle: b2 });
    assert_eq!((got.rdi, got.rsi, got.rdx), (4, 5, 6));
    assert_eq!(k.wake(r), Wake::Status(0));
}
