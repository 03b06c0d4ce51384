//! Messages and rendezvous (ABI §2, §3): taking a payload out of the sender's tables,
//! delivering it into the receiver's, and receive, send, send_receive and close.

use super::{Item, Msg, ObjId, Outcome, Pid, System, Tid};
use crate::rendezvous::{CloseOutcome, ReceiveOutcome, SendOutcome};
use crate::threads::Wake;
use libeurali::Error;
use libeurali::abi::{RawMessage, RawWord, Registers, WordKind};

fn set_regs_message(regs: &mut Registers, m: &RawMessage, err: Option<Error>) {
    m.deliver(regs, err);
}

pub(super) fn message_words(m: &RawMessage, err: Option<Error>) -> Wake {
    let mut r = Registers::default();
    m.deliver(&mut r, err);
    Wake::Message([r.rax, r.rdi, r.rsi, r.rdx])
}

impl System {
    /// Takes a message's payload out of the sender's tables: all words are checked before
    /// anything moves (3 for a bad handle, 5/9/10 for a bad chunk address, in word order).
    fn take_payload(&mut self, pid: Pid, raw: &RawMessage) -> Result<Msg, Error> {
        let p = self.procs.get_mut(&pid).ok_or(Error::InvalidHandle)?;
        let words = [raw.data2, raw.data3];
        let mut slots = [None, None];
        for (i, w) in words.iter().enumerate() {
            match w.kind {
                WordKind::Handle => {
                    p.handles.get(w.bits).ok_or(Error::InvalidHandle)?;
                }
                WordKind::Chunk => {
                    let k = p.chunks.locate(w.bits)?;
                    if slots[0] == Some(k) {
                        // The same chunk twice: the second word finds the slot already taken.
                        return Err(Error::DoubleFree);
                    }
                    slots[i] = Some(k);
                }
                WordKind::Value | WordKind::Err => {}
            }
        }
        // Handles: one counted reference per word, then the slots are emptied (a number named
        // twice gives the receiver two handles, §2.2).
        let mut items = [Item::Value(0), Item::Value(0)];
        let mut taken = [None, None];
        for (i, w) in words.iter().enumerate() {
            items[i] = match w.kind {
                WordKind::Value | WordKind::Err => Item::Value(w.bits),
                WordKind::Handle => {
                    let obj = p.handles.get(w.bits).ok_or(Error::InvalidHandle)?;
                    taken[i] = Some(w.bits);
                    Item::Handle(obj)
                }
                WordKind::Chunk => match p.chunks.take(w.bits) {
                    Ok(mut pages) => {
                        if let Some(k) = slots[i] {
                            pages.frames = self.frames.chunk_taken(pid, k);
                        }
                        Item::Chunk(pages)
                    }
                    Err(e) => {
                        // Only a host failure gets here: put back what was taken.
                        if let Item::Chunk(pages) = std::mem::replace(&mut items[0], Item::Value(0))
                        {
                            // With no slot free the pages are simply unmapped.
                            let _ = p.chunks.put(pages);
                        }
                        return Err(e);
                    }
                },
            };
        }
        let objs: Vec<ObjId> = items
            .iter()
            .filter_map(|it| {
                if let Item::Handle(o) = it {
                    Some(*o)
                } else {
                    None
                }
            })
            .collect();
        for o in objs {
            self.add_ref(o);
        }
        let p = self.procs.get_mut(&pid).ok_or(Error::InvalidHandle)?;
        let mut removed = Vec::new();
        for n in taken.into_iter().flatten() {
            if let Some(o) = p.handles.take(n) {
                removed.push(o);
            }
        }
        for o in removed {
            self.release(o);
        }
        let [data2, data3] = items;
        Ok(Msg {
            data1: raw.data1,
            data2,
            data3,
        })
    }

    /// Puts a message's objects into process `pid`'s tables (lowest free slots) and returns it
    /// as the registers will show it. A chunk that finds no free slot becomes an ERR word
    /// holding 11 (NOMEMSLOTS) and its memory is gone (§2.1).
    fn deliver_to(&mut self, pid: Pid, m: Msg) -> RawMessage {
        let Some(p) = self.procs.get_mut(&pid) else {
            self.drop_message(m);
            return RawMessage::short(0, 0, 0);
        };
        let mut lost = Vec::new();
        let frames = &mut self.frames;
        let mut word = |item: Item| match item {
            Item::Value(v) => RawWord::value(v),
            Item::Handle(o) => RawWord::handle(p.handles.insert(o)),
            Item::Chunk(mut pages) => {
                let f = std::mem::take(&mut pages.frames);
                match p.chunks.put(pages) {
                    Ok(addr) => {
                        if let Ok(k) = p.chunks.locate(addr) {
                            frames.chunk_placed(pid, k, f);
                        }
                        RawWord::chunk(addr)
                    }
                    Err(pages) => {
                        lost.push(pages);
                        RawWord::err(Error::NoMemSlots.code() as u64)
                    }
                }
            }
        };
        let data2 = word(m.data2);
        let data3 = word(m.data3);
        for pages in lost {
            self.drop_pages(pages);
        }
        RawMessage {
            data1: m.data1,
            data2,
            data3,
        }
    }

    /// Delivers `m` to a blocked thread with status `err` (none for a received message) and wakes
    /// it.
    fn deliver_and_wake(&mut self, t: Tid, m: Msg, err: Option<Error>) {
        match self.pid_of(t) {
            Some(pid) => {
                let raw = self.deliver_to(pid, m);
                self.wake(t, message_words(&raw, err));
            }
            None => self.drop_message(m),
        }
    }

    pub(super) fn receive(
        &mut self,
        tid: Tid,
        pid: Pid,
        handle: u64,
        regs: &mut Registers,
    ) -> Outcome {
        let Some(obj) = self.procs.get(&pid).and_then(|p| p.handles.get(handle)) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        let Some(o) = self.objects.get_mut(obj) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        match o.state.receive(tid) {
            ReceiveOutcome::Waiting => self.block(tid),
            ReceiveOutcome::Busy => {
                regs.set_error(Error::RecvBlocking);
                Outcome::Done
            }
            ReceiveOutcome::Take { msg, release } => {
                let raw = self.deliver_to(pid, msg);
                set_regs_message(regs, &raw, None);
                if let Some(s) = release {
                    self.wake(s, Wake::Status(0));
                }
                Outcome::Done
            }
        }
    }

    pub(super) fn send(
        &mut self,
        tid: Tid,
        pid: Pid,
        handle: u64,
        raw: &RawMessage,
        reply: bool,
        regs: &mut Registers,
    ) -> Outcome {
        let Some(obj) = self.procs.get(&pid).and_then(|p| p.handles.get(handle)) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        if self.refs(obj) <= 1 {
            regs.set_error(Error::Closed);
            return Outcome::Done;
        }
        let msg = match self.take_payload(pid, raw) {
            Ok(m) => m,
            Err(e) => {
                regs.set_error(e);
                return Outcome::Done;
            }
        };
        let Some(o) = self.objects.get_mut(obj) else {
            // Sending a handle to itself cannot free the target (the message holds a reference).
            self.drop_message(msg);
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        match o.state.send(tid, msg, reply) {
            SendOutcome::Queued => self.block(tid),
            SendOutcome::Deliver { receiver, msg } => {
                self.deliver_and_wake(receiver, msg, None);
                if reply {
                    self.block(tid)
                } else {
                    regs.set_ok();
                    Outcome::Done
                }
            }
            SendOutcome::Refused { error, msg } => {
                let back = self.deliver_to(pid, msg);
                set_regs_message(regs, &back, Some(error));
                Outcome::Done
            }
        }
    }

    /// close (§3.5): with exactly two references before the close, whoever waits is woken with
    /// 12 (a blocked sender with its message back); then the reference goes.
    pub fn close(&mut self, pid: Pid, handle: u64) {
        let Some(obj) = self
            .procs
            .get_mut(&pid)
            .and_then(|p| p.handles.take(handle))
        else {
            return;
        };
        if self.refs(obj) == 2 {
            let outcome = match self.objects.get_mut(obj) {
                Some(o) => o.state.close(),
                None => CloseOutcome::Nothing,
            };
            match outcome {
                CloseOutcome::Nothing => {}
                CloseOutcome::WakeWaiter(w) => {
                    self.wake(w, Wake::Status(Error::Closed.code() as u64))
                }
                CloseOutcome::ReturnToSender {
                    sender: Some(s),
                    msg,
                } => {
                    self.deliver_and_wake(s, msg, Some(Error::Closed));
                }
                CloseOutcome::ReturnToSender { sender: None, msg } => self.drop_message(msg),
            }
        }
        self.release(obj);
    }
}
