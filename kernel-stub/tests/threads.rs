//! Threads and process lifetime (ABI §4.8, §4.10): the 64-thread limit, exit_thread, process
//! end with the last thread, panics recorded, await_interrupt, shutdown.

mod common;

use common::{run, spawn, wait_for};
use kernel_stub::Kernel;
use libeurali::{Error, Handle, Message, new_rendezvous, receive, send};
use std::sync::mpsc;

extern "C-unwind" fn wait_on(handle: u64) -> ! {
    // Safety: the spawner passes a live handle of this process and keeps its peer.
    let h = unsafe { Handle::from_raw(handle as u32) };
    let _ = receive(&h);
    h.into_raw();
    libeurali::exit_thread()
}

fn panicker(_: libeurali::EntryRegisters) {
    panic!("boom");
}

fn blocker(_: libeurali::EntryRegisters) {
    // Safety: handle 0 is this process's null rendezvous: nobody else holds it.
    let h = unsafe { Handle::from_raw(0) };
    let _ = receive(&h);
}

fn waiter(_: libeurali::EntryRegisters) {
    libeurali::await_interrupt();
    libeurali::debug_write("key!");
}

#[test]
fn sixty_four_threads_per_process() {
    let k = Kernel::new();
    let k2 = k.clone();
    run(&k, "p", move || {
        let mut peers = Vec::new();
        // This thread is the first of 64.
        for _ in 1..64 {
            let (a, b) = new_rendezvous().unwrap();
            // Safety: `wait_on` only receives on `b` and exits.
            unsafe { libeurali::spawn_thread(wait_on, b.into_raw() as u64) }.unwrap();
            peers.push(a);
        }
        wait_for("63 threads to block", || k2.blocked_threads() == 63);
        // Safety: as above; the entry is never run.
        assert_eq!(
            // SAFETY: `wait_on` is a thread entry; this spawn fails, so it never runs.
            unsafe { libeurali::spawn_thread(wait_on, 0) }.unwrap_err(),
            Error::MemAlloc
        );
        send(&peers[0], Message::Short(0, 0, 0)).unwrap();
        wait_for("a thread to end", || k2.blocked_threads() == 62);
        let (a, b) = new_rendezvous().unwrap();
        let b = b.into_raw() as u64;
        // The woken thread frees its slot when it has ended, a moment later.
        // Safety: as above.
        wait_for("a free thread slot", || {
            // SAFETY: `wait_on` is a thread entry that only waits on the handle `b` names.
            unsafe { libeurali::spawn_thread(wait_on, b) }.is_ok()
        });
        peers.push(a);
        for p in &peers[1..] {
            send(p, Message::Short(0, 0, 0)).unwrap();
        }
    });
    assert!(k.wait_idle(common::TIMEOUT));
}

#[test]
fn a_process_ends_with_its_last_thread() {
    let k = Kernel::new();
    let (tx, rx) = mpsc::channel::<()>();
    let tids = run(&k, "p", move || {
        let (a, b) = new_rendezvous().unwrap();
        let t = spawn(move || {
            let _ = receive(&b);
            tx.send(()).unwrap();
        });
        (t, a.into_raw())
    });
    // The spawned thread outlives run_as_process: the process lives on.
    assert_eq!(k.process_count(), 1);
    assert!(tids.0 > 0);
    k.shutdown();
    assert!(
        rx.try_recv().is_err(),
        "the thread was ended, not woken with a message"
    );
    assert_eq!(k.process_count(), 0);
}

#[test]
fn exit_thread_ends_only_the_calling_thread() {
    let k = Kernel::new();
    let k2 = k.clone();
    run(&k, "p", move || {
        let (tx, rx) = mpsc::channel();
        spawn(move || {
            tx.send(1).unwrap();
            libeurali::exit_thread();
        });
        assert_eq!(rx.recv().unwrap(), 1);
        wait_for("the thread to end", || {
            k2.take_log()
                .iter()
                .any(|e| e.call == libeurali::abi::Call::ExitThread)
        });
    });
    assert!(k.panics().is_empty());
    assert!(k.wait_idle(common::TIMEOUT));
    let r = k.try_run_as_process("q", || libeurali::exit_thread());
    assert_eq!(r.unwrap_err(), kernel_stub::Stopped::Exited);
}

#[test]
fn a_panicking_program_is_recorded() {
    let k = Kernel::new();
    k.register_program("panicker", panicker);
    let tid = k.start_init("panicker", &[], &[]).unwrap();
    assert!(k.wait_idle(common::TIMEOUT));
    let panics = k.panics();
    assert_eq!(panics.len(), 1);
    assert!(
        panics[0].starts_with("program panicker (pid "),
        "{panics:?}"
    );
    assert!(
        panics[0].ends_with(&format!("thread {tid}) panicked: boom")),
        "{panics:?}"
    );
}

#[test]
fn await_interrupt_wakes_on_the_keyboard_irq() {
    let k = Kernel::new();
    k.register_program("waiter", waiter);
    k.start_init("waiter", &[], &[]).unwrap();
    k.start_init("waiter", &[], &[]).unwrap();
    wait_for("both to wait", || k.interrupt_waiters() == 2);
    k.raise_keyboard_irq();
    assert!(k.wait_idle(common::TIMEOUT));
    assert_eq!(k.debug_output(), "key!key!");
    // Nobody waiting: lost.
    k.raise_keyboard_irq();
}

#[test]
fn shutdown_ends_blocked_threads() {
    let k = Kernel::new();
    k.register_program("blocker", blocker);
    for _ in 0..3 {
        k.start_init("blocker", &[], &[]).unwrap();
    }
    wait_for("all to block", || k.blocked_threads() == 3);
    assert!(!k.wait_idle(std::time::Duration::from_millis(20)));
    k.shutdown();
    assert_eq!(k.process_count(), 0);
    assert!(k.halted().is_none());
    assert_eq!(k.start_init("blocker", &[], &[]), Err(Error::Closed));
    assert_eq!(
        k.try_run_as_process("late", || ()).unwrap_err(),
        kernel_stub::Stopped::ShutDown
    );
}

#[test]
fn dropping_the_last_kernel_shuts_down() {
    let k = Kernel::new();
    k.register_program("blocker", blocker);
    k.start_init("blocker", &[], &[]).unwrap();
    wait_for("it to block", || k.blocked_threads() == 1);
    drop(k);
}

#[test]
fn thread_ids_increase() {
    let k = Kernel::new();
    let k2 = k.clone();
    run(&k, "p", move || {
        let a = spawn(|| {});
        let b = spawn(|| {});
        assert!(b > a);
        wait_for("threads to end", || k2.process_count() == 1);
    });
}
