//! Rendezvous objects and their reference counts (ABI §3.1, §3.5): taking and dropping
//! references, and destroying an object with its blocked thread and pending message.

use super::{Item, Msg, ObjId, Object, System};
use crate::fault::Stopped;
use crate::memory::Pages;
use crate::rendezvous::Rendezvous;
use crate::threads::Wake;

impl System {
    pub(super) fn new_object(&mut self, refs: usize) -> ObjId {
        self.objects.insert(Object {
            refs,
            state: Rendezvous::Empty,
        })
    }

    pub(super) fn add_ref(&mut self, obj: ObjId) {
        if let Some(o) = self.objects.get_mut(obj) {
            o.refs += 1;
        }
    }

    pub(super) fn refs(&self, obj: ObjId) -> usize {
        self.objects.get(obj).map_or(0, |o| o.refs)
    }

    /// Drops one reference, without close processing. An object that loses its last reference
    /// is destroyed with its blocked thread and its pending message (§3.5).
    pub(super) fn release(&mut self, obj: ObjId) {
        let Some(o) = self.objects.get_mut(obj) else {
            return;
        };
        o.refs -= 1;
        if o.refs > 0 {
            return;
        }
        let mut dead = vec![obj];
        while let Some(id) = dead.pop() {
            let Some(o) = self.objects.remove(id) else {
                continue;
            };
            let (thread, msg) = o.state.destroy();
            if let Some(t) = thread {
                self.wake(t, Wake::Stop(Stopped::Destroyed));
            }
            if let Some(m) = msg {
                for item in [m.data2, m.data3] {
                    match item {
                        Item::Handle(h) => {
                            if let Some(o) = self.objects.get_mut(h) {
                                o.refs -= 1;
                                if o.refs == 0 {
                                    dead.push(h);
                                }
                            }
                        }
                        Item::Chunk(p) => self.drop_pages(p),
                        Item::Value(_) => {}
                    }
                }
            }
        }
    }

    pub(super) fn drop_pages(&mut self, p: Pages) {
        if let Some(phys) = p.phys {
            self.phys.release(phys);
        }
    }

    pub(super) fn drop_message(&mut self, m: Msg) {
        for item in [m.data2, m.data3] {
            match item {
                Item::Handle(h) => self.release(h),
                Item::Chunk(p) => self.drop_pages(p),
                Item::Value(_) => {}
            }
        }
    }

    pub fn object_count(&self) -> usize {
        self.objects.len()
    }
}
