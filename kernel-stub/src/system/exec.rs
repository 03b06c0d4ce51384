//! Helpers for exec ([`crate::exec`], ABI §4.6, §5.2): taking handles, selecting, copying or
//! sharing a VFS, and starting the new process.

use super::{ExecImage, ObjId, Pid, Spawn, Start, System, Tid, VfsId, entry_blocks};
use crate::handles::HandleTable;
use crate::hosted::GuestProc;
use crate::memory::ChunkArea;
use crate::mounts::MountTable;
use crate::threads::Slot;
use libeurali::Error;
use std::sync::Arc;

impl System {
    pub(crate) fn take_handle(&mut self, pid: Pid, n: u64) -> Option<ObjId> {
        self.procs.get_mut(&pid).and_then(|p| p.handles.take(n))
    }

    pub(crate) fn drop_ref(&mut self, obj: ObjId) {
        self.release(obj);
    }

    pub(crate) fn vfs_of(&self, pid: Pid) -> Option<VfsId> {
        self.procs.get(&pid).map(|p| p.vfs)
    }

    pub(crate) fn vfs_table_mut(&mut self, id: VfsId) -> Option<&mut MountTable<ObjId>> {
        self.vfs.get_mut(id).map(|v| &mut v.table)
    }

    /// A copy of a VFS's mount list, each entry holding a new reference.
    pub(crate) fn copy_vfs_table(&mut self, id: VfsId) -> MountTable<ObjId> {
        let table = self
            .vfs
            .get(id)
            .map(|v| v.table.clone())
            .unwrap_or_default();
        let objs: Vec<_> = table.objects().copied().collect();
        for o in objs {
            self.add_ref(o);
        }
        for p in table.paths() {
            self.kheap.path_mounted(p);
        }
        table
    }

    /// Drops a mount list that never became a VFS object.
    pub(crate) fn drop_table(&mut self, mut table: MountTable<ObjId>) {
        for p in table.paths() {
            self.kheap.path_removed(p);
        }
        let objs: Vec<_> = table.drain().collect();
        for o in objs {
            self.release(o);
        }
    }

    pub(crate) fn share_vfs(&mut self, id: VfsId) -> VfsId {
        if let Some(v) = self.vfs.get_mut(id) {
            v.refs += 1;
        }
        id
    }

    pub(crate) fn install_vfs(&mut self, table: MountTable<ObjId>) -> VfsId {
        self.new_vfs(table)
    }

    /// A new process with handles 0 and 1, its args/env blocks and a first thread to start.
    pub(crate) fn spawn_process(
        &mut self,
        name: &str,
        handles: [ObjId; 2],
        vfs: VfsId,
        iopl: bool,
        (args, env): (&[u8], &[u8]),
        image: ExecImage,
    ) -> Result<Spawn, Error> {
        let mut table = HandleTable::new();
        table.insert(handles[0]);
        table.insert(handles[1]);
        let (pid, start) = match image {
            ExecImage::Program(entry) => {
                let (page, regs) = entry_blocks(args, env);
                let pid = self.new_process(name, table, vfs, iopl, Some(page), None);
                (pid, Start::Program { entry, regs })
            }
            ExecImage::Elf(bytes) => {
                let loader = self.guest_loader.clone().ok_or(Error::Thread)?;
                let (guest, chan) =
                    GuestProc::new(&loader, name, &bytes, args, env).map_err(|_| Error::Memory)?;
                let guest = Arc::new(guest);
                let image_frames = crate::frames::image_frames(&bytes);
                let pid = self.new_process(name, table, vfs, iopl, None, image_frames);
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.chunks = ChunkArea::hosted(guest.clone());
                    p.guest = Some(guest.clone());
                }
                (pid, Start::Guest { guest, chan })
            }
        };
        let slot = Arc::new(Slot::new());
        let tid = self.add_thread(pid, slot.clone(), true);
        Ok(Spawn {
            pid,
            tid,
            program: name.into(),
            slot,
            start,
        })
    }

    /// Undoes a spawn whose host thread could not be started.
    pub fn abort_spawn(&mut self, tid: Tid) {
        self.thread_ended(tid);
    }

    pub(crate) fn iopl(&self, pid: Pid) -> bool {
        self.procs.get(&pid).is_some_and(|p| p.iopl)
    }

    /// Test hook: the reference count of the object a handle names.
    #[cfg(test)]
    pub(crate) fn refs_of(&self, pid: Pid, handle: u64) -> Option<usize> {
        let obj = self.procs.get(&pid)?.handles.get(handle)?;
        Some(self.refs(obj))
    }
}
