//! The syscall log and fault injection.

mod common;

use common::{run, spawn, wait_for};
use kernel_stub::Kernel;
use libeurali::abi::{Call, nr};
use libeurali::{Error, Message, new_rendezvous, receive, send};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn the_log_holds_typed_entries() {
    let k = Kernel::new();
    run(&k, "logger", || {
        let (a, b) = new_rendezvous().unwrap();
        let c = a.try_clone().unwrap();
        drop((a, b, c));
    });
    let log = k.take_log();
    let calls: Vec<_> = log.iter().map(|e| e.call).collect();
    assert_eq!(
        calls,
        [
            Call::NewRendezvous,
            Call::CopyRendezvous { handle: 2 },
            Call::Close { handle: 2 },
            Call::Close { handle: 3 },
            Call::Close { handle: 4 },
        ]
    );
    assert_eq!(
        (log[0].result.rax, log[0].result.rdi, log[0].result.rsi),
        (0, 2, 3)
    );
    assert_eq!(log[1].result.rdi, 4);
    assert_eq!(log[2].result.rax, nr::CLOSE as u64);
    assert!(
        log.iter()
            .all(|e| e.program == "logger" && e.pid == log[0].pid && e.tid == log[0].tid)
    );
    assert!(k.take_log().is_empty(), "taken");
    k.set_logging(false);
    run(&k, "quiet", || drop(new_rendezvous()));
    assert!(k.take_log().is_empty());
}

#[test]
fn a_blocking_call_is_logged_when_it_completes() {
    let k = Kernel::new();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || tx.send(receive(&b)).unwrap());
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        send(&a, Message::Short(1, 2, 3)).unwrap();
        rx.recv().unwrap().unwrap();
    });
    let log = k.take_log();
    let recv = log
        .iter()
        .find(|e| matches!(e.call, Call::Receive { .. }))
        .unwrap();
    assert_eq!(
        (recv.result.rdi, recv.result.rsi, recv.result.rdx),
        (1, 2, 3)
    );
    let send_at = log
        .iter()
        .position(|e| matches!(e.call, Call::Send { .. }))
        .unwrap();
    let recv_at = log
        .iter()
        .position(|e| matches!(e.call, Call::Receive { .. }))
        .unwrap();
    assert!(send_at < recv_at || recv.tid != log[send_at].tid);
}

#[test]
fn the_nth_call_of_a_kind_fails_as_injected() {
    let k = Kernel::new();
    let k2 = k.clone();
    k.inject(nr::SEND, 2, Error::Closed);
    run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(move || {
            while let Ok(m) = receive(&b) {
                tx.send(m).unwrap();
            }
        });
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        send(&a, Message::Short(1, 0, 0)).unwrap();
        assert_eq!(rx.recv().unwrap(), Message::Short(1, 0, 0));
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
        // The second send fails without running: nothing arrives.
        let e = send(&a, Message::Short(2, 0, 0)).unwrap_err();
        assert_eq!(
            (e.error, e.message),
            (Error::Closed, Some(Message::Short(2, 0, 0)))
        );
        assert!(rx.recv_timeout(Duration::from_millis(30)).is_err());
        send(&a, Message::Short(3, 0, 0)).unwrap();
        assert_eq!(rx.recv().unwrap(), Message::Short(3, 0, 0));
        wait_for("the receiver to block", || k2.blocked_threads() == 1);
    });
    let injected = k
        .take_log()
        .into_iter()
        .filter(|e| matches!(e.call, Call::Send { .. }))
        .nth(1)
        .unwrap();
    assert_eq!(injected.result.rax, 12);
    k.shutdown();
}
