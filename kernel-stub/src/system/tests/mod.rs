//! The kernel's rules, call by call, without host threads: each test drives [`System`] with
//! register files and checks the registers returned and the wakes posted (ABI §2–§5).

use super::*;
use libeurali::abi::{ExecCall, UserSlice, bits};

const SHORT: RawMessage = RawMessage::short(1, 2, 3);

struct Sys {
    s: System,
}

fn slice(b: &[u8]) -> UserSlice {
    UserSlice {
        ptr: b.as_ptr() as u64,
        len: b.len() as u64,
    }
}

fn send(h: u64, msg: RawMessage) -> Call {
    Call::Send {
        handle: h as u32,
        msg,
    }
}

fn send_receive(h: u64, msg: RawMessage) -> Call {
    Call::SendReceive {
        handle: h as u32,
        msg,
    }
}

fn long(data1: u64, data2: RawWord, data3: RawWord) -> RawMessage {
    RawMessage {
        data1,
        data2,
        data3,
    }
}

/// The registers a thread sees when it gets `m` (with `err` for a message given back).
fn delivered(m: RawMessage, err: Option<Error>) -> Wake {
    message_words(&m, err)
}

fn program(_: EntryRegisters) {}

impl Sys {
    fn new() -> Sys {
        let mut s = System::new();
        s.programs.insert("prog".into(), program as ProgramEntry);
        Sys { s }
    }

    /// A process like init (handle 0 null, handle 1 kernel-held) with one thread.
    fn process(&mut self) -> (Pid, Tid) {
        let pid = self.s.new_init_process("p", true);
        (pid, self.thread(pid))
    }

    fn thread(&mut self, pid: Pid) -> Tid {
        self.s.add_thread(pid, Arc::new(Slot::new()), false)
    }

    fn run(&mut self, tid: Tid, c: Call) -> (Outcome, Registers) {
        let mut r = c.encode();
        let o = self.s.syscall(tid, &mut r, &c);
        self.s.wakes = WakeList::default();
        (o, r)
    }

    #[track_caller]
    fn done(&mut self, tid: Tid, c: Call) -> Registers {
        let (o, r) = self.run(tid, c);
        assert!(matches!(o, Outcome::Done), "{c:?} gave {o:?}");
        r
    }

    #[track_caller]
    fn ok(&mut self, tid: Tid, c: Call) -> Registers {
        let r = self.done(tid, c);
        assert_eq!(r.rax, 0, "{c:?} failed: {:?}", r.error());
        r
    }

    #[track_caller]
    fn err(&mut self, tid: Tid, c: Call) -> Option<Error> {
        self.done(tid, c).error()
    }

    #[track_caller]
    fn blocks(&mut self, tid: Tid, c: Call) {
        let (o, _) = self.run(tid, c);
        assert!(matches!(o, Outcome::Block), "{c:?} gave {o:?}");
    }

    /// What a blocked thread has been posted (Pending if nothing).
    fn wake(&mut self, tid: Tid) -> Wake {
        let slot = self
            .s
            .threads
            .get(&tid)
            .map(|t| t.slot.clone())
            .expect("thread");
        if slot.is_ready() {
            slot.take()
        } else {
            Wake::Pending
        }
    }

    fn rv(&mut self, tid: Tid) -> (u64, u64) {
        let r = self.ok(tid, Call::NewRendezvous);
        (r.rdi, r.rsi)
    }

    fn copy(&mut self, tid: Tid, h: u64) -> Result<u64, Error> {
        let r = self.done(tid, Call::CopyRendezvous { handle: h });
        r.error().map_or(Ok(r.rdi), Err)
    }

    /// Ends every thread of the process (process death).
    fn kill(&mut self, tids: &[Tid]) {
        for &t in tids {
            self.s.thread_ended(t);
        }
    }
}

// ----- §3.2, row by row -------------------------------------------------------------------------

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

// ----- §3.5 close and CLOSED --------------------------------------------------------------------

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

// ----- §2.2–2.4 moving objects ------------------------------------------------------------------

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

// ----- memory -----------------------------------------------------------------------------------

#[test]
fn malloc_and_free_codes() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    assert_eq!(
        k.err(t, Call::Free { addr: 0x1000 }),
        Some(Error::Memory),
        "never had chunks"
    );
    let r = k.done(
        t,
        Call::Malloc {
            pages: 0,
            max_physaddr: 0,
        },
    );
    assert_eq!((r.rax, r.rdi, r.rsi, r.rdx), (9, 0, 0, 0));
    assert_eq!(
        k.err(
            t,
            Call::Malloc {
                pages: MAX_CHUNK_PAGES + 1,
                max_physaddr: 0
            }
        ),
        Some(Error::Memory)
    );
    let r = k.ok(
        t,
        Call::Malloc {
            pages: 1,
            max_physaddr: 0,
        },
    );
    assert_eq!(r.rsi, 0);
    // Safety: one page at r.rdi.
    assert_eq!(
        // SAFETY: one page is mapped at r.rdi.
        unsafe { *(r.rdi as *const u8) },
        crate::memory::GARBAGE,
        "never zeroed"
    );
    let dma = k.ok(
        t,
        Call::Malloc {
            pages: 2,
            max_physaddr: 0xFFFF_FFFF,
        },
    );
    assert!(dma.rsi != 0 && dma.rsi + 8192 <= 0xFFFF_FFFF);
    assert_eq!(
        k.err(
            t,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0x1000
            }
        ),
        Some(Error::Memory)
    );
    assert_eq!(k.err(t, Call::Free { addr: r.rdi + 5 }), None);
    assert_eq!(
        k.err(t, Call::Free { addr: r.rdi }),
        Some(Error::DoubleFree)
    );
    assert_eq!(k.err(t, Call::Free { addr: 0x1000 }), Some(Error::Param));
    assert_eq!(k.err(t, Call::Free { addr: dma.rdi }), None);
}

// ----- §5.1 VFS ---------------------------------------------------------------------------------

impl Sys {
    fn open(&mut self, t: Tid, path: &[u8]) -> Result<(u64, u64), Error> {
        let r = self.done(t, Call::Open(slice(path)));
        r.error().map_or(Ok((r.rdi, r.rsi)), Err)
    }

    fn mount(&mut self, t: Tid, path: &[u8], h: u64) -> Option<Error> {
        self.err(
            t,
            Call::Mount {
                handle: h as u32,
                path: slice(path),
            },
        )
    }

    fn list(&mut self, t: Tid) -> String {
        let r = self.ok(t, Call::ListMounts);
        // Safety: the kernel mapped r.rsi bytes of text at r.rdi.
        let text = unsafe { std::slice::from_raw_parts(r.rdi as *const u8, r.rsi as usize) };
        let s = String::from_utf8(text.to_vec()).unwrap();
        self.ok(t, Call::Free { addr: r.rdi });
        s
    }
}

#[test]
fn vfs_examples_of_the_document() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    assert_eq!(k.list(t), "[]");
    let (root, _) = k.rv(t);
    let (x, _) = k.rv(t);
    assert_eq!(k.mount(t, b"/", root), None);
    assert_eq!(k.mount(t, b" /dev/x// ", x), None);
    assert_eq!(k.list(t), r#"["","/dev/x",]"#);
    assert_eq!(
        k.copy(t, root),
        Err(Error::InvalidHandle),
        "mount moves the handle"
    );
    let (h, n) = k.open(t, b"/abc").unwrap();
    assert_eq!(n, 0);
    assert_eq!(k.open(t, b"/dev/x").unwrap().1, 6);
    assert_eq!(k.open(t, b"/dev/x/y").unwrap().1, 6);
    assert_eq!(k.open(t, b"/dev/xy").unwrap().1, 0);
    // rel -> 7 with RDI/RSI unchanged; empty -> 5.
    let r = k.done(t, Call::Open(slice(b"rel")));
    assert_eq!(r.rax, 7);
    assert_eq!(r.rsi, 3);
    assert_eq!(k.open(t, b""), Err(Error::Param));
    // open returns a new handle to the mounted rendezvous itself.
    assert_eq!(
        k.s.refs_of(p, h),
        Some(4),
        "the other handle, the mount, two opens of the root"
    );
    // umount is byte-exact.
    assert_eq!(
        k.err(t, Call::Umount(slice(b"/dev/x/"))),
        Some(Error::NotFound)
    );
    assert_eq!(k.err(t, Call::Umount(slice(b"/dev/x"))), None);
    assert_eq!(k.list(t), r#"["",]"#);
    assert_eq!(k.err(t, Call::Umount(slice(b""))), None);
    assert_eq!(k.list(t), "[]");
}

#[test]
fn vfs_utf8_and_handle_errors() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    let (a, _) = k.rv(t);
    assert_eq!(k.open(t, b"/\xFF"), Err(Error::Utf8));
    assert_eq!(k.mount(t, b"/\xFF", a), Some(Error::Utf8));
    assert!(k.copy(t, a).is_ok(), "6 leaves the handle with the caller");
    assert_eq!(k.mount(t, b"/ok", 99), Some(Error::InvalidHandle));
    assert_eq!(k.err(t, Call::Umount(slice(b"\xC0"))), Some(Error::Utf8));
    assert_eq!(
        k.err(t, Call::Umount(slice(b"/nope"))),
        Some(Error::NotFound)
    );
}

#[test]
fn bad_pointers_halt() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    for c in [
        Call::DebugWrite(UserSlice { ptr: 0x10, len: 4 }),
        Call::Open(UserSlice { ptr: 0x10, len: 4 }),
        Call::Mount {
            handle: 0,
            path: UserSlice { ptr: 0x10, len: 4 },
        },
        Call::Umount(UserSlice { ptr: 8, len: 1 }),
        Call::DebugWrite(UserSlice {
            ptr: 0x1000,
            len: u64::MAX,
        }),
    ] {
        let (o, _) = k.run(t, c);
        assert!(
            matches!(&o, Outcome::Halt(w) if w.contains("page fault")),
            "{c:?}: {o:?}"
        );
    }
    // Length 0 reads nothing: no fault.
    k.done(t, Call::DebugWrite(UserSlice { ptr: 0x10, len: 0 }));
    assert_eq!(
        k.err(t, Call::Open(UserSlice { ptr: 0x10, len: 0 })),
        Some(Error::Param)
    );
    // debug_write: captured, invalid UTF-8 ignored, RAX keeps 2.
    let r = k.done(t, Call::DebugWrite(slice(b"hi ")));
    assert_eq!(r.rax, 2);
    k.done(t, Call::DebugWrite(slice(b"\xFF")));
    k.done(t, Call::DebugWrite(slice("there".as_bytes())));
    assert_eq!(k.s.debug, "hi there");
}

#[test]
fn calls_without_status_keep_rax() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    assert_eq!(k.done(t, Call::Yield).rax, 9);
    assert_eq!(k.done(t, Call::Close { handle: 7 }).rax, 16);
    assert_eq!(
        k.done(t, Call::Unknown { rax: 0x1234_0042 }).rax,
        0x1234_0042
    );
    let (o, r) = k.run(t, Call::AwaitInterrupt);
    assert!(matches!(o, Outcome::Block));
    assert_eq!(r.rax, 17);
    assert_eq!(k.s.raise_irq(), 1);
    assert_eq!(k.wake(t), Wake::Unchanged);
    assert_eq!(
        k.s.raise_irq(),
        0,
        "an interrupt with nobody waiting is lost"
    );
}

// ----- threads ----------------------------------------------------------------------------------

#[test]
fn sixty_four_threads_per_process() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let mut started = vec![];
    for _ in 1..MAX_THREADS {
        let (o, r) = k.run(t, Call::ForkThread { r8: 0x1234, r9: 5 });
        let Outcome::Spawn(s) = o else {
            panic!("{o:?}")
        };
        assert_eq!(r.rdi, s.tid);
        assert!(matches!(
            s.start,
            Start::Thread {
                entry: 0x1234,
                arg: 5
            }
        ));
        started.push(s.tid);
    }
    assert_eq!(
        k.err(t, Call::ForkThread { r8: 0x1234, r9: 5 }),
        Some(Error::MemAlloc)
    );
    k.s.thread_ended(started[0]);
    assert!(matches!(
        k.run(t, Call::ForkThread { r8: 0x1234, r9: 5 }).0,
        Outcome::Spawn(_)
    ));
    // Entry point 0 would halt the machine.
    k.s.thread_ended(started[1]);
    assert!(matches!(
        k.run(t, Call::ForkThread { r8: 0, r9: 5 }).0,
        Outcome::Halt(_)
    ));
    assert!(k.s.process(p).is_some());
}

#[test]
fn the_last_thread_takes_the_process_with_it() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let u = k.thread(p);
    let dma = Call::Malloc {
        pages: 1,
        max_physaddr: 0xFFFF_FFFF,
    };
    let phys = k.ok(t, dma).rsi;
    k.kill(&[t]);
    assert!(k.s.process(p).is_some());
    k.kill(&[u]);
    assert!(k.s.process(p).is_none());
    // Its handles are gone (only the kernel-held rendezvous is left) and its chunks freed (the
    // fake physical range is free again).
    assert_eq!(k.s.object_count(), 1);
    let (_, t2) = k.process();
    assert_eq!(k.ok(t2, dma).rsi, phys);
}

// ----- §4.6 exec --------------------------------------------------------------------------------

fn exec(elf: &[u8], stdin: u32, stdout: u32, params: &[u8], flags: u8) -> Call {
    Call::Exec(ExecCall {
        flags,
        elf: slice(elf),
        stdin,
        stdout,
        param: slice(params),
    })
}

impl Sys {
    /// Runs an exec; returns the spawn on success (its thread is then ended again).
    fn exec(&mut self, t: Tid, c: Call) -> Result<Spawn, Error> {
        let (o, r) = self.run(t, c);
        match o {
            Outcome::Spawn(s) => {
                assert_eq!((r.rax, r.rdi), (0, s.tid));
                Ok(s)
            }
            Outcome::Done => Err(r.error().expect("an error")),
            o => panic!("{o:?}"),
        }
    }

    fn list_of(&mut self, pid: Pid) -> String {
        let v = self.s.procs[&pid].vfs;
        self.s.vfs.get(v).unwrap().table.list_text()
    }
}

#[test]
fn exec_starts_a_registered_program() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let img = crate::exec::program_image("prog");
    let (a, b) = k.rv(t);
    let (m, _) = k.rv(t);
    let s = k
        .exec(
            t,
            exec(&img, a as u32, b as u32, b"Cm4|/srv:Aprog\x03x\0Ek=v\0", 1),
        )
        .unwrap();
    let child = &k.s.procs[&s.pid];
    assert!(child.iopl, "IOPL asked for, and the caller has it");
    assert_eq!(child.handles.count(), 2);
    assert_eq!(&*child.name, "prog");
    let Start::Program { regs, .. } = s.start else {
        panic!()
    };
    // Safety: the blocks live in the child's page.
    unsafe {
        assert_eq!(libeurali::params::block_at(regs.args), b"prog\x03x");
        assert_eq!(libeurali::params::block_at(regs.env), b"k=v");
    }
    assert_eq!(
        regs.env + 4 + 3,
        regs.args,
        "env directly below the args (§4.2)"
    );
    assert_eq!(k.list_of(s.pid), r#"["/srv",]"#);
    assert_eq!(k.list_of(p), "[]", "C: the parent's list is untouched");
    assert_eq!(
        k.copy(t, m),
        Err(Error::InvalidHandle),
        "m moved the handle"
    );
    assert_eq!(k.copy(t, a), Err(Error::InvalidHandle), "stdin moved");
}

#[test]
fn exec_iopl_only_if_the_caller_has_it() {
    let mut k = Sys::new();
    let pid = k.s.new_init_process("user", false);
    let t = k.thread(pid);
    let (a, b) = k.rv(t);
    let s = k
        .exec(
            t,
            exec(
                &crate::exec::program_image("prog"),
                a as u32,
                b as u32,
                b"",
                1,
            ),
        )
        .unwrap();
    assert!(!k.s.procs[&s.pid].iopl);
}

#[test]
fn exec_failures_and_lost_handles() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let img = crate::exec::program_image("prog");
    let lost = |k: &mut Sys, h: u64| k.copy(t, h) == Err(Error::InvalidHandle);

    // elf_len 0: 5, everything intact.
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(b"", a as u32, b as u32, b"", 0)).err(),
        Some(Error::Param)
    );
    assert!(!lost(&mut k, a) && !lost(&mut k, b));
    // Invalid stdin: 3, everything intact.
    assert_eq!(
        k.exec(t, exec(&img, 99, b as u32, b"", 0)).err(),
        Some(Error::InvalidHandle)
    );
    assert!(!lost(&mut k, b));
    // Invalid stdout: 3, stdin lost (observed).
    assert_eq!(
        k.exec(t, exec(&img, a as u32, 99, b"", 0)).err(),
        Some(Error::InvalidHandle)
    );
    assert!(lost(&mut k, a));
    // Bad parameter byte: 5, both lost (observed).
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, b"Sx", 0)).err(),
        Some(Error::Param)
    );
    assert!(lost(&mut k, a) && lost(&mut k, b));
    // `-` of a path not mounted: 5.
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, b"-/nope:", 0))
            .err(),
        Some(Error::Param)
    );
    // Non-UTF-8 path in m: 6; a bad m handle: 3.
    let (a, b) = k.rv(t);
    let (m, _) = k.rv(t);
    let params = format!("m{m}|")
        .into_bytes()
        .into_iter()
        .chain([0xFF])
        .collect::<Vec<u8>>();
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, &params, 0)).err(),
        Some(Error::Utf8)
    );
    assert!(!lost(&mut k, m), "the handle is checked after the path");
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, b"m77|/x", 0))
            .err(),
        Some(Error::InvalidHandle)
    );
    // Unknown program or foreign bytes: 8; m handles taken before are lost, and edits to the
    // shared VFS stay.
    let (a, b) = k.rv(t);
    let params = format!("m{m}|/kept:");
    let bad = crate::exec::program_image("nope");
    assert_eq!(
        k.exec(t, exec(&bad, a as u32, b as u32, params.as_bytes(), 0))
            .err(),
        Some(Error::Thread)
    );
    assert!(lost(&mut k, m));
    assert_eq!(
        k.list_of(p),
        r#"["/kept",]"#,
        "m before any selector edits the caller's VFS"
    );
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(b"\x7fELF\x02\x01\x01", a as u32, b as u32, b"", 0))
            .err(),
        Some(Error::Thread)
    );
    // Too large for the kernel heap: 9.
    let (a, b) = k.rv(t);
    let huge = vec![0u8; KERNEL_HEAP as usize + 1];
    assert_eq!(
        k.exec(t, exec(&huge, a as u32, b as u32, b"", 0)).err(),
        Some(Error::Memory)
    );
    // The same handle as stdin and stdout: the second take finds it gone.
    let (a, _) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, a as u32, b"", 0)).err(),
        Some(Error::InvalidHandle)
    );
    assert!(lost(&mut k, a));
}

#[test]
fn exec_vfs_selection() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let img = crate::exec::program_image("prog");
    let (r, _) = k.rv(t);
    k.mount(t, b"/base", r);
    // Shared (no selector): a later mount by the parent shows in the child's list.
    let (a, b) = k.rv(t);
    let s = k.exec(t, exec(&img, a as u32, b as u32, b"", 0)).unwrap();
    let (x, _) = k.rv(t);
    k.mount(t, b"/later", x);
    assert_eq!(k.list_of(s.pid), r#"["/base","/later",]"#);
    // N: empty, then mounts; `-` applies to the selected VFS.
    let (a, b) = k.rv(t);
    let (m1, _) = k.rv(t);
    let s = k
        .exec(
            t,
            exec(
                &img,
                a as u32,
                b as u32,
                format!("Nm{m1}|/one:-/one:").as_bytes(),
                0,
            ),
        )
        .unwrap();
    assert_eq!(k.list_of(s.pid), "[]");
    // C after N: the N list is dropped, the copy is of the caller's list.
    let (a, b) = k.rv(t);
    let s = k
        .exec(t, exec(&img, a as u32, b as u32, b"NC-/later:", 0))
        .unwrap();
    assert_eq!(k.list_of(s.pid), r#"["/base",]"#);
    assert_eq!(k.list_of(p), r#"["/base","/later",]"#);
    // `-` before a selector removes from the parent's own list.
    let (a, b) = k.rv(t);
    let s = k
        .exec(t, exec(&img, a as u32, b as u32, b"-/later:N", 0))
        .unwrap();
    assert_eq!(k.list_of(p), r#"["/base",]"#);
    assert_eq!(k.list_of(s.pid), "[]");
}

#[test]
fn exec_faults_halt() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    let (a, b) = k.rv(t);
    let (o, _) = k.run(t, exec(b"\x7fE", a as u32, b as u32, b"", 0));
    assert!(
        matches!(&o, Outcome::Halt(w) if w.contains("2-byte")),
        "{o:?}"
    );
    let (a, b) = k.rv(t);
    let big = [b"A".as_slice(), &[b'x'; 4000], b"\0E", &[b'y'; 100]].concat();
    let img = crate::exec::program_image("prog");
    let (o, _) = k.run(t, exec(&img, a as u32, b as u32, &big, 0));
    assert!(
        matches!(&o, Outcome::Halt(w) if w.contains("4000 bytes of args")),
        "{o:?}"
    );
    let (a, b) = k.rv(t);
    let c = Call::Exec(ExecCall {
        flags: 0,
        elf: slice(&img),
        stdin: a as u32,
        stdout: b as u32,
        param: UserSlice { ptr: 0x20, len: 3 },
    });
    assert!(matches!(k.run(t, c).0, Outcome::Halt(_)));
}

#[test]
fn mount_entries_and_opens_are_references() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let (a, b) = k.rv(t);
    assert_eq!(k.mount(t, b"/srv", b), None);
    // a and the mount entry: a send on a is not refused with 12.
    k.blocks(t, send(a, SHORT));
    let u = k.thread(p);
    let (h, n) = k.open(u, b"/srv/file").unwrap();
    assert_eq!(n, 4);
    let got = k.ok(u, Call::Receive { handle: h });
    assert_eq!(got.rdi, 1);
    assert_eq!(k.wake(t), Wake::Status(0));
    k.done(u, Call::Close { handle: h });
    // Without the mount entry a is the only reference.
    assert_eq!(k.err(u, Call::Umount(slice(b"/srv"))), None);
    assert_eq!(k.err(u, send(a, SHORT)), Some(Error::Closed));
}
