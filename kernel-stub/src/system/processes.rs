//! Processes (ABI §4.1, §4.8): init-like processes, their user memory, and what a process's
//! death releases.

use super::{ObjId, Pid, Process, System, VfsId, next_id};
use crate::handles::HandleTable;
use crate::hosted::GuestProc;
use crate::memory::ChunkArea;
use crate::mounts::MountTable;
use std::sync::Arc;

impl System {
    /// Reads user memory of process `pid`: its own address space in-process, the guest's in
    /// hosted mode.
    pub fn read_user(
        &self,
        pid: Pid,
        ptr: u64,
        len: u64,
    ) -> Result<Vec<u8>, crate::uaccess::BadRange> {
        match self.procs.get(&pid).and_then(|p| p.guest.as_ref()) {
            Some(g) => crate::uaccess::read_from(g.pid(), ptr, len),
            None => crate::uaccess::read(ptr, len),
        }
    }

    pub(super) fn process_died(&mut self, pid: Pid) {
        let Some(mut p) = self.procs.remove(&pid) else {
            return;
        };
        if let Some(g) = &p.guest {
            g.end();
        }
        let objs: Vec<_> = p.handles.drain().collect();
        for o in objs {
            self.release(o);
        }
        let phys: Vec<_> = p.chunks.phys_ranges().map(|(start, _)| start).collect();
        for start in phys {
            self.phys.release(start);
        }
        self.release_vfs(p.vfs);
        // `p.chunks` unmaps the whole area as it drops.
    }

    /// The guest of a hosted process.
    pub fn guest_of(&self, pid: Pid) -> Option<Arc<GuestProc>> {
        self.procs.get(&pid).and_then(|p| p.guest.clone())
    }

    #[cfg(test)]
    pub fn process(&self, pid: Pid) -> Option<&Process> {
        self.procs.get(&pid)
    }

    pub fn process_count(&self) -> usize {
        self.procs.len()
    }

    /// A process as the kernel starts init (§4.1): handle 0 a fresh rendezvous nobody else
    /// references, handle 1 a rendezvous the kernel references forever, an empty VFS.
    pub fn new_init_process(&mut self, name: &str, iopl: bool) -> Pid {
        let mut handles = HandleTable::new();
        let null = self.new_object(1);
        let kernel = self.new_object(2);
        handles.insert(null);
        handles.insert(kernel);
        let vfs = self.new_vfs(MountTable::new());
        self.new_process(name, handles, vfs, iopl, None, None)
    }

    pub(super) fn new_process(
        &mut self,
        name: &str,
        handles: HandleTable<ObjId>,
        vfs: VfsId,
        iopl: bool,
        blocks: Option<Box<[u64; 512]>>,
        image_frames: Option<u64>,
    ) -> Pid {
        let pid = next_id();
        self.frames.process_started(pid, name, image_frames);
        let p = Process {
            name: name.into(),
            handles,
            chunks: ChunkArea::new(),
            vfs,
            threads: 0,
            iopl,
            blocks,
            guest: None,
        };
        self.procs.insert(pid, p);
        pid
    }

    /// Gives a process's args/env page to it (for init started by the harness).
    pub fn set_blocks(&mut self, pid: Pid, page: Box<[u64; 512]>) {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.blocks = Some(page);
        }
    }
}
