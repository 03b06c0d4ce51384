//! The VFS objects and their mount tables (ABI §5.1): open, mount, umount and list_mounts.

use super::{ObjId, Outcome, Pid, System, Vfs, VfsId};
use crate::mounts::MountTable;
use libeurali::Error;
use libeurali::abi::Registers;
use libeurali::abi::layout::PAGE_SIZE;

impl System {
    pub(super) fn new_vfs(&mut self, table: MountTable<ObjId>) -> VfsId {
        self.vfs.insert(Vfs { refs: 1, table })
    }

    pub(crate) fn release_vfs(&mut self, id: VfsId) {
        let Some(v) = self.vfs.get_mut(id) else {
            return;
        };
        v.refs -= 1;
        if v.refs == 0
            && let Some(mut v) = self.vfs.remove(id)
        {
            for p in v.table.paths() {
                self.kheap.path_removed(p);
            }
            let objs: Vec<_> = v.table.drain().collect();
            for o in objs {
                self.release(o);
            }
        }
    }

    /// Reads a path argument: `Err(Outcome::Halt)` for a bad pointer, `Ok(Err(6))` for bytes that
    /// are not UTF-8.
    fn read_path(&self, pid: Pid, ptr: u64, len: u64) -> Result<Result<String, Error>, Outcome> {
        let bytes = self
            .read_user(pid, ptr, len)
            .map_err(|bad| Outcome::Halt(bad.to_string()))?;
        Ok(String::from_utf8(bytes).map_err(|_| Error::Utf8))
    }

    pub(super) fn open(&mut self, pid: Pid, ptr: u64, len: u64, regs: &mut Registers) -> Outcome {
        if len == 0 {
            regs.set_error(Error::Param);
            return Outcome::Done;
        }
        let path = match self.read_path(pid, ptr, len) {
            Err(halt) => return halt,
            Ok(Err(e)) => {
                regs.set_error(e);
                return Outcome::Done;
            }
            Ok(Ok(p)) => p,
        };
        let Some(p) = self.procs.get(&pid) else {
            return Outcome::Done;
        };
        let found = self
            .vfs
            .get(p.vfs)
            .and_then(|v| v.table.lookup(&path))
            .map(|(&o, n)| (o, n));
        match found {
            None => regs.set_error(Error::NotFound),
            Some((obj, prefix)) => {
                self.add_ref(obj);
                if let Some(p) = self.procs.get_mut(&pid) {
                    regs.rdi = p.handles.insert(obj);
                }
                regs.rsi = prefix as u64;
                regs.set_ok();
            }
        }
        Outcome::Done
    }

    pub(super) fn mount(
        &mut self,
        pid: Pid,
        handle: u64,
        ptr: u64,
        len: u64,
        regs: &mut Registers,
    ) -> Outcome {
        let path = match self.read_path(pid, ptr, len) {
            Err(halt) => return halt,
            Ok(Err(e)) => {
                regs.set_error(e);
                return Outcome::Done;
            }
            Ok(Ok(p)) => p,
        };
        let Some(p) = self.procs.get_mut(&pid) else {
            return Outcome::Done;
        };
        let Some(obj) = p.handles.take(handle) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        let vfs = p.vfs;
        if let Some(v) = self.vfs.get_mut(vfs) {
            v.table.mount(&path, obj);
        }
        regs.set_ok();
        Outcome::Done
    }

    pub(super) fn umount(&mut self, pid: Pid, ptr: u64, len: u64, regs: &mut Registers) -> Outcome {
        let path = match self.read_path(pid, ptr, len) {
            Err(halt) => return halt,
            Ok(Err(e)) => {
                regs.set_error(e);
                return Outcome::Done;
            }
            Ok(Ok(p)) => p,
        };
        let Some(vfs) = self.procs.get(&pid).map(|p| p.vfs) else {
            return Outcome::Done;
        };
        match self.vfs.get_mut(vfs).and_then(|v| v.table.umount(&path)) {
            Some(obj) => {
                self.kheap.path_removed(&path);
                self.release(obj);
                regs.set_ok();
            }
            None => regs.set_error(Error::NotFound),
        }
        Outcome::Done
    }

    pub(super) fn list_mounts(&mut self, pid: Pid, regs: &mut Registers) -> Outcome {
        let Some(vfs) = self.procs.get(&pid).map(|p| p.vfs) else {
            return Outcome::Done;
        };
        let text = self
            .vfs
            .get(vfs)
            .map(|v| v.table.list_text())
            .unwrap_or_else(|| "[]".into());
        let pages = (text.len() as u64).div_ceil(PAGE_SIZE).max(1);
        let Some(p) = self.procs.get_mut(&pid) else {
            return Outcome::Done;
        };
        match p.chunks.alloc_with(pages, None, text.as_bytes()) {
            Ok(addr) => {
                regs.set_ok();
                regs.rdi = addr;
                regs.rsi = text.len() as u64;
            }
            Err(e) => regs.set_error(e),
        }
        Outcome::Done
    }
}
