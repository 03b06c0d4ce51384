//! Threads (ABI §4.8): registering and ending them, blocking and waking, fork_thread, and
//! stopping the whole system.

use super::{Outcome, Pid, Spawn, Start, System, ThreadRec, Tid, next_id};
use crate::fault::Stopped;
use crate::threads::{Slot, Wake};
use libeurali::Error;
use libeurali::abi::Registers;
use libeurali::abi::layout::MAX_THREADS;
use std::sync::Arc;

impl System {
    /// Posts `wake` to thread `t` (if it still exists) and queues it for unparking.
    pub(super) fn wake(&mut self, t: Tid, wake: Wake) {
        if let Some(rec) = self.threads.get_mut(&t) {
            rec.blocked = false;
            rec.slot.post(wake);
            self.wakes.push(rec.slot.clone());
        }
    }

    pub(super) fn block(&mut self, t: Tid) -> Outcome {
        if let Some(rec) = self.threads.get_mut(&t) {
            rec.blocked = true;
            rec.slot.arm();
        }
        Outcome::Block
    }

    /// Registers a thread of process `pid` (counted against its 64).
    pub fn add_thread(&mut self, pid: Pid, slot: Arc<Slot>, stub_started: bool) -> Tid {
        let tid = next_id();
        if let Some(p) = self.procs.get_mut(&pid) {
            p.threads += 1;
        }
        self.frames.thread_started(pid, tid);
        if stub_started {
            self.live_stub_threads += 1;
            // (Host threads run as processes, `run_as_process`, stand for the boot loader.)
            self.kheap.thread_started(tid);
        }
        self.threads.insert(
            tid,
            ThreadRec {
                pid,
                slot,
                blocked: false,
                stub_started,
            },
        );
        tid
    }

    /// A thread has ended (returned, exited, was ended by the stub, or never started). The last
    /// thread of a process takes the process with it (§4.8): its handles are dropped without
    /// close processing, its chunks freed, its VFS reference dropped.
    pub fn thread_ended(&mut self, tid: Tid) {
        let Some(rec) = self.threads.remove(&tid) else {
            return;
        };
        if rec.stub_started {
            self.live_stub_threads -= 1;
        }
        self.kheap.thread_ended(tid);
        self.irq_waiters.retain(|&t| t != tid);
        let last = match self.procs.get_mut(&rec.pid) {
            Some(p) => {
                p.threads -= 1;
                p.threads == 0
            }
            None => false,
        };
        if last {
            self.frames.process_ended(rec.pid, tid);
            self.process_died(rec.pid);
        } else {
            self.frames.thread_ended(tid);
        }
    }

    /// The process a thread belongs to.
    pub fn pid_of(&self, tid: Tid) -> Option<Pid> {
        self.threads.get(&tid).map(|t| t.pid)
    }

    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// Whether `tid` is a live thread the stub started on a host thread of its own.
    pub fn is_stub_thread(&self, tid: Tid) -> bool {
        self.threads.get(&tid).is_some_and(|t| t.stub_started)
    }

    /// Threads blocked in a system call.
    pub fn blocked_count(&self) -> usize {
        self.threads.values().filter(|t| t.blocked).count()
    }

    /// Halts or shuts down: every blocked thread is woken to end. The first reason sticks.
    pub fn stop(&mut self, why: Stopped) {
        if self.stopped.is_some() {
            return;
        }
        self.stopped = Some(why.clone());
        let blocked: Vec<Tid> = self
            .threads
            .iter()
            .filter(|(_, r)| r.blocked)
            .map(|(&t, _)| t)
            .collect();
        for t in blocked {
            self.wake(t, Wake::Stop(why.clone()));
        }
        self.irq_waiters.clear();
        // Guests running code are not blocked here: end their Linux processes.
        for p in self.procs.values() {
            if let Some(g) = &p.guest {
                g.end();
            }
        }
    }

    pub(super) fn fork_thread(
        &mut self,
        pid: Pid,
        r8: u64,
        r9: u64,
        regs: &mut Registers,
    ) -> Outcome {
        let Some(p) = self.procs.get(&pid) else {
            return Outcome::Done;
        };
        if p.threads >= MAX_THREADS {
            regs.set_error(Error::MemAlloc);
            return Outcome::Done;
        }
        if p.guest.is_some() {
            let Ok((chan, child)) = crate::hosted::socket_pair() else {
                regs.set_error(Error::MemAlloc);
                return Outcome::Done;
            };
            let program = p.name.clone();
            let slot = Arc::new(Slot::new());
            let tid = self.add_thread(pid, slot.clone(), true);
            regs.set_ok();
            regs.rdi = tid;
            return Outcome::Spawn(Spawn {
                pid,
                tid,
                program,
                slot,
                start: Start::GuestThread { chan, child },
            });
        }
        if r8 == 0 {
            return Outcome::Halt(
                "fork_thread with entry point 0 in R8: the child thread jumps to address 0 and page-faults"
                    .into(),
            );
        }
        let program = p.name.clone();
        let slot = Arc::new(Slot::new());
        let tid = self.add_thread(pid, slot.clone(), true);
        regs.set_ok();
        regs.rdi = tid;
        Outcome::Spawn(Spawn {
            pid,
            tid,
            program,
            slot,
            start: Start::Thread { entry: r8, arg: r9 },
        })
    }
}
