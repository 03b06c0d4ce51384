//! The process's watchdog for bounded calls (`libeurali::timeout`): one thread per process,
//! started by the first bounded call and ended after a second with nothing to watch.
//!
//! Every [`SWEEP_MS`] (every [`SLOW_SWEEP_MS`] while every watched call is a long wait with no
//! deadline near) it takes a spare copy of each watched handle and closes it (waking the
//! caller with CLOSED once the peer's references are all gone); past an entry's deadline it
//! sweeps once more and closes the caller's handle number, which wakes the caller while the peer
//! still holds its end (see `libeurali::timeout` for the contract that follows) — or, for a call
//! with a [`Rescue`], starts the rescue on a thread of its own and leaves the number alone.

use crate::sync::Mutex;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use libeurali::timeout::{CallError, Kind, Rescue, unbounded};
use libeurali::{Handle, Message};

/// How often the watchdog sweeps: the delay before a caller notices a dead peer.
pub const SWEEP_MS: u64 = 20;
/// Sweeps with nothing to watch before the thread ends.
const IDLE_SWEEPS: u32 = 50;

/// How often the watchdog sweeps once every watched call has waited [`SETTLED_MS`] and no
/// deadline is near: a process waiting in one long call (login and the shell reading the
/// console) should cost the machine nothing, and every sweep wakes a sleeping thread (hosted
/// mode: trapped system calls). A dead peer is then noticed within this long.
pub const SLOW_SWEEP_MS: u64 = 250;

/// How long a call is watched at [`SWEEP_MS`] before it counts as settled.
const SETTLED_MS: u64 = 1000;

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
    /// When the call began (µs, the runtime's clock).
    since: u64,
    deadline: Option<u64>,
    /// The watchdog closed `raw`.
    closed: bool,
    /// Run past the deadline instead of closing `raw`, with the caller's token.
    rescue: Option<(Rescue, u64)>,
    verdict: Verdict,
}

/// Where an entry's rescue stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Not started (no deadline passed, or no rescue).
    None,
    /// Its thread runs.
    Running,
    /// It took the caller's message: the call timed out.
    Taken,
    /// It found another sender's message, or none: the caller's was taken by its receiver.
    NotTaken,
}

/// How long a caller whose `send` returned while its rescue runs waits for the rescue's verdict.
/// A rescue that took the caller's message decides within microseconds; one that found the
/// rendezvous empty (the caller's message was received normally, an instant before) waits in
/// `receive` for the next sender and never decides for this caller.
const VERDICT_WAIT_MS: u64 = 200;

pub(crate) type Shared = Mutex<State>;

/// The hook std-shim installs into libeurali.
pub(crate) fn bounded_call(
    h: &Handle,
    m: Message,
    kind: Kind,
    limit_us: Option<u64>,
    rescue: Option<(Rescue, u64)>,
) -> Result<Message, CallError> {
    let Some(rt) = crate::sys::runtime() else {
        return unbounded(h, m, kind);
    };
    let since = crate::sys::now_micros();
    let deadline = limit_us.map(|l| since.saturating_add(l));
    let id = {
        let mut st = rt.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        st.next_id += 1;
        let id = st.next_id;
        st.entries.push(Entry {
            id,
            raw: h.raw(),
            since,
            deadline,
            closed: false,
            rescue,
            verdict: Verdict::None,
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
    let waited_from = crate::sys::now_micros();
    let (closed, verdict) = loop {
        let mut st = rt.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        let Some(i) = st.entries.iter().position(|e| e.id == id) else {
            break (false, Verdict::None);
        };
        let e = &st.entries[i];
        if e.verdict == Verdict::Running
            && crate::sys::now_micros().saturating_sub(waited_from) < VERDICT_WAIT_MS * 1000
        {
            drop(st);
            crate::sys::sleep_micros(1_000);
            continue;
        }
        let e = st.entries.swap_remove(i);
        break (e.closed, e.verdict);
    };
    if closed || verdict == Verdict::Taken {
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
    let mut pause_ms = SWEEP_MS;
    loop {
        crate::sys::sleep_micros(pause_ms * 1000);
        pause_ms = SWEEP_MS;
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
        let settled = st.entries.iter().all(|e| {
            now.saturating_sub(e.since) >= SETTLED_MS * 1000
                && e.deadline
                    .is_none_or(|d| d.saturating_sub(now) > 2 * SLOW_SWEEP_MS * 1000)
        });
        if settled {
            pause_ms = SLOW_SWEEP_MS;
        }
        for e in st.entries.iter_mut().filter(|e| !e.closed) {
            // Safety: a listed entry's handle stays open until its caller removes the entry
            // under this lock; we borrow the number and close only copies (or, past the
            // deadline, the number itself, which the caller then gives up).
            let h = ManuallyDrop::new(unsafe { Handle::from_raw(e.raw) });
            if let Ok(copy) = h.try_clone() {
                drop(copy);
            }
            if e.deadline.is_none_or(|d| now < d) {
                continue;
            }
            match e.rescue {
                None => {
                    e.closed = true;
                    drop(ManuallyDrop::into_inner(h));
                }
                Some((rescue, token)) if e.verdict == Verdict::None => {
                    e.verdict = Verdict::Running;
                    let id = e.id;
                    let started = h.try_clone().ok().and_then(|copy| {
                        crate::thread::Builder::new()
                            .name("rescue".into())
                            .spawn(move || {
                                let taken = rescue(copy, token);
                                decide(id, taken);
                            })
                            .ok()
                    });
                    if started.is_none() {
                        // No handle or thread to spare: try again at the next sweep.
                        e.verdict = Verdict::None;
                    }
                }
                Some(_) => {}
            }
        }
    }
}

/// Records a rescue's verdict for its caller (gone already if it stopped waiting).
fn decide(id: u64, taken: bool) {
    let Some(rt) = crate::sys::runtime() else {
        return;
    };
    let mut st = rt.watchdog.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = st.entries.iter_mut().find(|e| e.id == id) {
        e.verdict = if taken {
            Verdict::Taken
        } else {
            Verdict::NotTaken
        };
    }
}
