//! Rendezvous rules (ABI §3) through libeurali's safe API, with real blocking threads and
//! several processes.

mod common;

use common::{run, spawn, wait_for};
use kernel_stub::Kernel;
use libeurali::{
    Error, Handle, Message, SendError, Word, exec, new_rendezvous, rcall, receive, send,
    send_receive,
};
use std::sync::mpsc;
use std::time::Duration;

/// Answers Short(t, b, c) with Short(t + 1, b, c) on handle 0 until the rendezvous fails.
fn echo_server(_: libeurali::EntryRegisters) {
    // Safety: handle 0 is this process's stdin, given by exec.
    let h = unsafe { Handle::from_raw(0) };
    while let Ok(m) = receive(&h) {
        let (t, b, c) = m.values();
        if send(&h, Message::Short(t + 1, b, c)).is_err() {
            break;
        }
    }
}

/// Receives Long(t, Handle(h), _) on handle 0, sends Short(42, t, 0) on h, replies Short(0, 0, 0).
fn forwarder(_: libeurali::EntryRegisters) {
    // Safety: as above.
    let h = unsafe { Handle::from_raw(0) };
    if let Ok(Message::Long(t, Word::Handle(other), _)) = receive(&h) {
        let _ = send(&other, Message::Short(42, t, 0));
        let _ = send(&h, Message::Short(0, 0, 0));
    }
}

/// Ends at once: its handles go without close processing.
fn quitter(_: libeurali::EntryRegisters) {}

fn kernel() -> Kernel {
    let k = Kernel::new();
    k.register_program("echo_server", echo_server);
    k.register_program("forwarder", forwarder);
    k.register_program("quitter", quitter);
    k
}

fn start(name: &str, stdin: Handle) {
    let (_, out) = new_rendezvous().unwrap();
    exec(&Kernel::program_image(name), stdin, out, b"", false).unwrap();
}

#[test]
fn rpc_between_two_processes() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "client", move || {
        let (mine, theirs) = new_rendezvous().unwrap();
        start("echo_server", theirs);
        for i in 0..1000 {
            assert_eq!(
                rcall(&mine, Message::Short(i, 2, 3)).unwrap(),
                Message::Short(i + 1, 2, 3)
            );
        }
        // Two references (ours and the server's): once the server waits again, our close wakes
        // its receive with 12 and it ends. (A close while nobody waits wakes nobody.)
        wait_for("the server to wait", || k2.blocked_threads() == 1);
        drop(mine);
    });
    assert!(k.wait_idle(common::TIMEOUT));
    assert!(k.panics().is_empty());
}

#[test]
fn second_receiver_gets_recv_blocking() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let b2 = b.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&b)).unwrap());
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        assert_eq!(receive(&b2), Err(Error::RecvBlocking));
        send(&a, Message::Short(5, 6, 7)).unwrap();
        assert_eq!(rx.recv().unwrap(), Ok(Message::Short(5, 6, 7)));
    });
}

#[test]
fn second_sender_gets_its_message_back() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let a2 = a.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(send(&a2, Message::Short(1, 1, 1)).is_ok()).unwrap());
        wait_for("the sender to block", || k2.blocked_threads() == 1);
        let (x, _y) = new_rendezvous().unwrap();
        let xn = x.raw();
        let err = send(&a, Message::Long(9, Word::Handle(x), Word::Value(3))).unwrap_err();
        assert_eq!(err.error, Error::SendBlocking);
        let Some(Message::Long(9, Word::Handle(back), Word::Value(3))) = err.message else {
            panic!("{err:?}")
        };
        assert_eq!(
            back.raw(),
            xn,
            "re-inserted at the lowest free slot: the one it left"
        );
        assert_eq!(receive(&b).unwrap(), Message::Short(1, 1, 1));
        assert!(rx.recv().unwrap());
    });
}

#[test]
fn send_receive_reserves_for_the_receiving_thread() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let b2 = b.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(send_receive(&a, Message::Short(1, 0, 0))).unwrap());
        wait_for("the caller to block", || k2.blocked_threads() == 1);
        assert_eq!(receive(&b).unwrap(), Message::Short(1, 0, 0));
        // Reserved for this thread: another thread of the process gets 2 with its message back.
        let (tx2, rx2) = mpsc::channel();
        spawn(move || {
            let r = send(&b2, Message::Short(66, 0, 0));
            let back = matches!(
                &r,
                Err(SendError {
                    error: Error::RecvBlocking,
                    message: Some(Message::Short(66, 0, 0))
                })
            );
            let r2 = receive(&b2);
            tx2.send((back, r2)).unwrap();
        });
        assert_eq!(rx2.recv().unwrap(), (true, Err(Error::RecvBlocking)));
        send(&b, Message::Short(2, 0, 0)).unwrap();
        assert_eq!(rx.recv().unwrap(), Ok(Message::Short(2, 0, 0)));
    });
}

#[test]
fn close_wakes_a_waiting_receiver_with_closed() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&b)).unwrap());
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        drop(a);
        assert_eq!(rx.recv().unwrap(), Err(Error::Closed));
    });
}

#[test]
fn close_with_three_references_wakes_nobody() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let a2 = a.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&b)).unwrap());
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        drop(a);
        assert!(
            rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "still waiting"
        );
        drop(a2);
        assert_eq!(rx.recv().unwrap(), Err(Error::Closed));
    });
}

#[test]
fn close_gives_a_blocked_sender_its_message_back_renumbered() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let (x, x_peer) = new_rendezvous().unwrap();
        let xn = x.raw();
        let (tx, rx) = mpsc::channel();
        spawn(move || {
            tx.send(send(&a, Message::Long(7, Word::Handle(x), Word::Value(8))))
                .unwrap()
        });
        wait_for("the sender to block", || k2.blocked_threads() == 1);
        // x's slot is free again (moved at acceptance) and is taken now.
        let (c, _d) = new_rendezvous().unwrap();
        assert_eq!(c.raw(), xn);
        drop(b);
        let err = rx.recv().unwrap().unwrap_err();
        assert_eq!(err.error, Error::Closed);
        let Some(Message::Long(7, Word::Handle(back), Word::Value(8))) = err.message else {
            panic!("{err:?}")
        };
        assert_ne!(back.raw(), xn, "renumbered");
        // Still the same object: it reaches x's peer.
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&x_peer)).unwrap());
        send(&back, Message::Short(3, 3, 3)).unwrap();
        assert_eq!(rx.recv().unwrap(), Ok(Message::Short(3, 3, 3)));
    });
}

#[test]
fn send_on_the_only_reference_is_closed_and_receive_would_block() {
    let k = kernel();
    run(&k, "init-like", || {
        // Safety: handle 0 is the fresh rendezvous of an init-like process.
        let null = unsafe { Handle::from_raw(0) };
        assert_eq!(
            send(&null, Message::Short(1, 2, 3)).unwrap_err().error,
            Error::Closed
        );
        null.into_raw();
    });
}

#[test]
fn process_death_is_not_a_close() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let a2 = a.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&a2)).unwrap());
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        start("quitter", b);
        wait_for("the quitter to end", || k2.process_count() == 1);
        // The receiver was not woken by the death.
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        // Only a close that leaves exactly one other reference does (a and a2 are left).
        drop(a);
        assert_eq!(rx.recv().unwrap(), Err(Error::Closed));
    });
    assert!(k.wait_idle(common::TIMEOUT));
}

#[test]
fn next_send_after_peer_death_is_closed() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        start("quitter", b);
        wait_for("the quitter to end", || k2.process_count() == 1);
        assert_eq!(
            send(&a, Message::Short(0, 0, 0)).unwrap_err().error,
            Error::Closed
        );
    });
}

#[test]
fn handles_move_between_processes() {
    let k = kernel();
    run(&k, "client", || {
        let (mine, theirs) = new_rendezvous().unwrap();
        start("forwarder", theirs);
        let (x, x_peer) = new_rendezvous().unwrap();
        let xn = x.raw();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&x_peer)).unwrap());
        assert_eq!(
            rcall(&mine, Message::Long(5, Word::Handle(x), Word::Value(0))).unwrap(),
            Message::Short(0, 0, 0)
        );
        assert_eq!(rx.recv().unwrap(), Ok(Message::Short(42, 5, 0)));
        // The handle left our table when the message was accepted.
        // Safety: probing a number we no longer own; into_raw keeps it from being closed.
        let stale = unsafe { Handle::from_raw(xn) };
        assert_eq!(stale.try_clone().unwrap_err(), Error::InvalidHandle);
        stale.into_raw();
    });
    assert!(k.wait_idle(common::TIMEOUT));
}

#[test]
fn many_round_trips_between_threads() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        spawn(move || {
            while let Ok(m) = receive(&b) {
                let (t, _, _) = m.values();
                if send(&b, Message::Short(t * 2, 0, 0)).is_err() {
                    break;
                }
            }
        });
        for i in 0..20_000 {
            assert_eq!(
                send_receive(&a, Message::Short(i, 0, 0)).unwrap(),
                Message::Short(i * 2, 0, 0)
            );
        }
        // Our close wakes the server only once it waits again.
        wait_for("the server to wait", || k2.blocked_threads() == 1);
    });
    assert!(k.wait_idle(common::TIMEOUT));
}

#[test]
fn kernels_are_independent() {
    let k1 = kernel();
    let k2 = kernel();
    let r1 = run(&k1, "one", || {
        new_rendezvous()
            .map(|(a, b)| (a.into_raw(), b.into_raw()))
            .unwrap()
    });
    let r2 = run(&k2, "two", || {
        new_rendezvous()
            .map(|(a, b)| (a.into_raw(), b.into_raw()))
            .unwrap()
    });
    assert_eq!(r1, (2, 3));
    assert_eq!(r2, (2, 3));
    k1.shutdown();
    run(&k2, "still", || drop(new_rendezvous().unwrap()));
}
