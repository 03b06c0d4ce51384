//! The kernel's rules, call by call, without host threads: each test drives [`System`] with
//! register files and checks the registers returned and the wakes posted (ABI §2–§5).

use super::messages::message_words;
use super::*;
use crate::threads::Wake;
use libeurali::abi::layout::{MAX_CHUNK_PAGES, MAX_THREADS};
use libeurali::abi::{ExecCall, UserSlice, bits};
use libeurali::abi::{RawMessage, RawWord};

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

// The VFS calls (§5.1), for the mounts and exec tests.
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

mod close;
mod exec;
mod memory;
mod messages;
mod mounts;
mod rendezvous;
mod threads;
