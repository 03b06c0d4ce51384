//! What halts the real machine halts the stub system: a fault is recorded and reported, every
//! thread ends, and a test that never looks at the fault fails.

mod common;

use common::{spawn, wait_for, within};
use kernel_stub::{Kernel, Stopped};
use libeurali::abi::{Call, UserSlice};
use libeurali::params::ExecParams;
use libeurali::{exec, new_rendezvous, receive};

fn bad_open(_: libeurali::EntryRegisters) {
    let mut r = Call::Open(UserSlice { ptr: 0x10, len: 3 }).encode();
    // Safety: deliberately bad: the stub must catch it.
    unsafe { libeurali::raw::syscall(&mut r) };
    libeurali::debug_write("the stub returned from a faulting open");
}

fn nothing(_: libeurali::EntryRegisters) {}

#[test]
fn a_bad_pointer_halts_the_system_and_ends_every_thread() {
    let k = Kernel::new();
    let (k2, k3) = (k.clone(), k.clone());
    let r = within(&k, move || {
        k2.try_run_as_process("faulty", move || {
            let (_a, b) = new_rendezvous().unwrap();
            spawn(move || {
                let _ = receive(&b);
            });
            wait_for("the other thread to block", || k3.blocked_threads() == 1);
            let mut r = Call::DebugWrite(UserSlice { ptr: 0x10, len: 5 }).encode();
            // Safety: deliberately bad.
            unsafe { libeurali::raw::syscall(&mut r) };
            panic!("the stub returned from a faulting debug_write: {r:?}");
        })
    });
    let Err(Stopped::Halted(Some(f))) = r else {
        panic!("{r:?}")
    };
    assert_eq!(f.call, "debug_write");
    assert_eq!(f.program, "faulty");
    assert!(
        f.what.contains("0x10") && f.what.contains("halt"),
        "{}",
        f.what
    );
    assert!(
        k.wait_idle(common::TIMEOUT),
        "the blocked thread was ended too"
    );
    assert_eq!(k.halted(), Some(f.clone()));
    assert_eq!(k.take_fault(), Some(f));
    assert!(k.panics().is_empty());
    // The system stays halted.
    assert!(matches!(
        k.try_run_as_process("late", || ()),
        Err(Stopped::Halted(_))
    ));
}

#[test]
fn a_programs_bad_pointer_names_the_program() {
    let k = Kernel::new();
    k.register_program("bad_open", bad_open);
    let tid = k.start_init("bad_open", &[], &[]).unwrap();
    assert!(k.wait_idle(common::TIMEOUT));
    let f = k.take_fault().expect("a fault");
    assert_eq!(
        (f.program.as_str(), f.tid, f.call),
        ("bad_open", tid, "open")
    );
    assert_eq!(k.debug_output(), "", "never returned to the program");
}

#[test]
fn a_fault_nobody_looked_at_fails_the_test_on_drop() {
    let r = std::panic::catch_unwind(|| {
        let k = Kernel::new();
        k.register_program("bad_open", bad_open);
        k.start_init("bad_open", &[], &[]).unwrap();
        assert!(k.wait_idle(common::TIMEOUT));
        drop(k);
    });
    let msg = kernel_stub_msg(r.unwrap_err());
    assert!(
        msg.contains("never looked") && msg.contains("bad_open"),
        "{msg}"
    );
}

fn kernel_stub_msg(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn exec_args_larger_than_a_page_halt() {
    let k = Kernel::new();
    k.register_program("nothing", nothing);
    let r = k.try_run_as_process("p", || {
        let (a, b) = new_rendezvous().unwrap();
        let params = ExecParams::new()
            .args(&["x".repeat(5000)])
            .unwrap()
            .finish()
            .unwrap();
        let _ = exec(&Kernel::program_image("nothing"), a, b, &params, false);
    });
    assert!(
        matches!(r, Err(Stopped::Halted(Some(ref f))) if f.call == "exec" && f.what.contains("5000")),
        "{r:?}"
    );
    assert!(k.take_fault().is_some());
}

#[test]
fn an_elf_of_two_bytes_halts() {
    let k = Kernel::new();
    let r = k.try_run_as_process("p", || {
        let (a, b) = new_rendezvous().unwrap();
        let _ = exec(b"\x7fE", a, b, b"", false);
    });
    assert!(
        matches!(r, Err(Stopped::Halted(Some(ref f))) if f.what.contains("2-byte")),
        "{r:?}"
    );
    assert!(k.take_fault().is_some());
}

#[test]
fn a_syscall_outside_any_process_is_a_harness_bug() {
    let _k = Kernel::new();
    let r = std::thread::spawn(|| std::panic::catch_unwind(libeurali::yield_now))
        .join()
        .unwrap();
    let msg = kernel_stub_msg(r.unwrap_err());
    assert!(msg.contains("belongs to no stub process"), "{msg}");
}

#[test]
fn nested_run_as_process_is_refused() {
    let k = Kernel::new();
    let k2 = k.clone();
    let r = k.run_as_process("outer", move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            k2.run_as_process("inner", || ())
        }))
    });
    assert!(r.is_err());
}
