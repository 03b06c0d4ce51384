//! The process's watchdog for bounded calls (`libeurali::timeout`): one thread per process,
//! started by the first bounded call and ended after a second with nothing to watch.
//!
//! Every [`SWEEP_MS`] it takes a spare copy of each watched handle and closes it (waking the
//! caller with CLOSED once the peer's references are all gone); past an entry's deadline it
//! sweeps once more and closes the caller's handle number, which wakes the caller while the peer
//! still holds its end (see `libeurali::timeout` for the contract that follows).

use crate::sync::Mutex;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use libeurali::timeout::{CallError, Kind, unbounded};
use libeurali::{Handle, Message};

/// How often the watchdog sweeps: the delay before a caller notices a dead peer.
pub const SWEEP_MS: u64 = 20;
/// Sweeps with nothing to watch before the thread ends.
const IDLE_SWEEPS: u32 = 50;

#[derive(Default)]
pub(crate) struct State {
    entries: Vec<Entry>,
    next_id: u64,
    running: bool,
    /// The process is ending: the thread ends as soon as nothing is watched (it must not keep
    /// the process alive for its idle second).
    ending: bool,
}

/// The process's main thread is ending (see `rt::exit`).
pub(crate) fn process_ending(shared: &Shared) {
    shared.lock().unwrap_or_else(|e| e.into_inner()).ending = true;
}

struct Entry {
    id: u64,
    raw: u32,
    deadline: Option<u64>,
    /// The watchdog closed `raw`.
    closed: bool,
}

pub(crate) type Shared = Mutex<State>;

/// The hook std-shim installs into libeurali.
pub(crate) fn bounded_call(
    h: &Handle,
    m: Message,
    kind: Kind,
    limit_us: Option<u64>,
) -> Result<Message, CallError> {
    let Some(rt) = crate::sys::runtime() else {
        return unbounded(h, m, kind);
    };
    let deadline = limit_us.map(|l| crate::sys::now_micros().saturating_add(l));
    let id = {
        let mut st = rt.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        st.next_id += 1;
        let id = st.next_id;
        st.entries.push(Entry {
            id,
            raw: h.raw(),
            deadline,
            closed: false,
        });
        if !st.running {
            if crate::thread::Builder::new()
                .name("watchdog".into())
                .spawn(watchdog_main)
                .is_err()
            {
                // No thread to spare (the kernel's 64): run unbounded rather than fail.
                st.entries.retain(|e| e.id != id);
                drop(st);
                return unbounded(h, m, kind);
            }
            st.running = true;
        }
        id
    };
    let r = unbounded(h, m, kind);
    let closed = {
        let mut st = rt.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        let i = st.entries.iter().position(|e| e.id == id);
        i.is_some_and(|i| st.entries.swap_remove(i).closed)
    };
    if closed {
        // Whatever came back (a reply that raced the deadline, or the message returned with
        // CLOSED) is dropped: the caller only learns that the call did not finish in time.
        drop(r);
        return Err(CallError::TimedOut);
    }
    r
}

fn watchdog_main() {
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    let mut idle = 0;
    loop {
        crate::sys::sleep_micros(SWEEP_MS * 1000);
        let mut st = rt.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        if st.entries.is_empty() {
            idle += 1;
            if idle >= IDLE_SWEEPS || st.ending {
                st.running = false;
                return;
            }
            continue;
        }
        idle = 0;
        let now = crate::sys::now_micros();
        for e in st.entries.iter_mut().filter(|e| !e.closed) {
            // Safety: a listed entry's handle stays open until its caller removes the entry
            // under this lock; we borrow the number and close only copies (or, past the
            // deadline, the number itself, which the caller then gives up).
            let h = ManuallyDrop::new(unsafe { Handle::from_raw(e.raw) });
            if let Ok(copy) = h.try_clone() {
                drop(copy);
            }
            if e.deadline.is_some_and(|d| now >= d) {
                e.closed = true;
                drop(ManuallyDrop::into_inner(h));
            }
        }
    }
}
