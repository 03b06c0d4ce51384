//! Memory chunks (ABI §1.4, §4.3): malloc.

use super::{Outcome, Pid, System};
use libeurali::Error;
use libeurali::abi::Registers;
use libeurali::abi::layout::{MAX_CHUNK_PAGES, PAGE_SIZE};

impl System {
    pub(super) fn malloc(
        &mut self,
        pid: Pid,
        pages: u64,
        max_physaddr: u64,
        regs: &mut Registers,
    ) -> Outcome {
        let fail = |regs: &mut Registers| {
            regs.set_error(Error::Memory);
            regs.rdi = 0;
            regs.rsi = 0;
            regs.rdx = 0;
            Outcome::Done
        };
        if pages == 0 || pages > MAX_CHUNK_PAGES {
            return fail(regs);
        }
        let phys = if max_physaddr != 0 {
            match self.phys.alloc(pages * PAGE_SIZE, max_physaddr) {
                Some(p) => Some(p),
                None => return fail(regs),
            }
        } else {
            None
        };
        let Some(p) = self.procs.get_mut(&pid) else {
            return fail(regs);
        };
        match p.chunks.alloc(pages, phys) {
            Ok(addr) => {
                if let Ok(k) = p.chunks.locate(addr) {
                    self.frames.chunk_allocated(pid, k, pages, phys.is_some());
                }
                regs.set_ok();
                regs.rdi = addr;
                regs.rsi = phys.unwrap_or(0);
                Outcome::Done
            }
            Err(_) => {
                if let Some(start) = phys {
                    self.phys.release(start);
                }
                fail(regs)
            }
        }
    }
}
