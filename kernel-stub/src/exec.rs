//! exec (ABI §4.6) and the in-process "ELF" images.
//!
//! In-process mode runs programs as Rust functions registered by name, so the bytes a program
//! passes to exec (read from /bin like any file) are a small descriptor naming one:
//! [`program_image`]. Everything else follows the kernel, in its order:
//!
//! 1. ELF length 0 → 5, nothing lost.
//! 2. stdin taken (invalid → 3, nothing lost); stdout taken (invalid → 3, stdin lost).
//! 3. The parameter string, item by item: `S`/`C`/`N` select the VFS; `m` takes a handle and
//!    mounts it in the selected VFS; `-` unmounts (not mounted → 5); `A`/`E` set the blocks;
//!    anything else → 5; a non-UTF-8 path → 6; a bad `m` handle → 3. Edits to the caller's own
//!    (shared) VFS stay applied on failure; every handle taken so far is lost.
//! 4. The image: longer than the kernel heap → 9; 1..3 bytes → the kernel panics (a halt here);
//!    not a known program → 8.
//! 5. Args + env larger than one page minus 8 → the kernel writes past the stack page (a halt).
//! 6. The new process: handles 0 and 1, the selected VFS, IOPL only if asked for and the caller
//!    has it. RAX = 0, RDI = the new thread's id.

use crate::mounts::MountTable;
use crate::system::{ExecImage, KERNEL_HEAP, ObjId, Outcome, Pid, System, Tid};
use libeurali::Error;
use libeurali::abi::layout::ARGS_ENV_LIMIT;
use libeurali::abi::{ExecCall, Registers, bits};
use libeurali::params::{ParamItem, ParamParser};

/// The first bytes of an in-process program image.
pub const IMAGE_MAGIC: &[u8] = b"#!eurali-program ";

/// The bytes exec recognises as "run the registered program `name`".
pub fn program_image(name: &str) -> Vec<u8> {
    let mut v = IMAGE_MAGIC.to_vec();
    v.extend_from_slice(name.as_bytes());
    v.push(b'\n');
    v
}

/// The program an image names, if it is one of ours.
pub fn image_program(bytes: &[u8]) -> Option<&str> {
    let rest = bytes.strip_prefix(IMAGE_MAGIC)?;
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    let name = std::str::from_utf8(rest).ok()?;
    (!name.is_empty() && !name.contains('\n')).then_some(name)
}

/// The VFS the parameter string has selected so far.
enum Selected {
    /// The caller's own VFS object (before any selector, or after `S`).
    Caller,
    /// A copy (`C`) or a new empty list (`N`), not yet a VFS object.
    Fresh(MountTable<ObjId>),
}

/// A failed exec step: an error code, or a halt of the machine.
enum Fail {
    Error(Error),
    Halt(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Error(e)
    }
}

impl System {
    pub(crate) fn exec(
        &mut self,
        _tid: Tid,
        pid: Pid,
        e: &ExecCall,
        regs: &mut Registers,
    ) -> Outcome {
        if e.elf.len == 0 {
            regs.set_error(Error::Param);
            return Outcome::Done;
        }
        let Some(stdin) = self.take_handle(pid, e.stdin as u64) else {
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        let Some(stdout) = self.take_handle(pid, e.stdout as u64) else {
            self.drop_ref(stdin);
            regs.set_error(Error::InvalidHandle);
            return Outcome::Done;
        };
        let mut selected = Selected::Caller;
        match self.exec_rest(pid, e, [stdin, stdout], &mut selected) {
            Ok(spawn) => {
                regs.set_ok();
                regs.rdi = spawn.tid;
                Outcome::Spawn(spawn)
            }
            Err(fail) => {
                self.drop_ref(stdin);
                self.drop_ref(stdout);
                if let Selected::Fresh(t) = selected {
                    self.drop_table(t);
                }
                match fail {
                    Fail::Error(err) => {
                        regs.set_error(err);
                        Outcome::Done
                    }
                    Fail::Halt(what) => Outcome::Halt(what),
                }
            }
        }
    }

    fn exec_rest(
        &mut self,
        pid: Pid,
        e: &ExecCall,
        stdio: [ObjId; 2],
        selected: &mut Selected,
    ) -> Result<crate::system::Spawn, Fail> {
        let params = self
            .read_user(pid, e.param.ptr, e.param.len)
            .map_err(|bad| Fail::Halt(bad.to_string()))?;
        let caller_vfs = self.vfs_of(pid).ok_or(Error::Thread)?;
        let mut args: &[u8] = &[];
        let mut env: &[u8] = &[];
        for item in ParamParser::new(&params) {
            match item? {
                ParamItem::Share => self.select(selected, Selected::Caller),
                ParamItem::Copy => {
                    let copy = self.copy_vfs_table(caller_vfs);
                    self.select(selected, Selected::Fresh(copy));
                }
                ParamItem::New => self.select(selected, Selected::Fresh(MountTable::new())),
                ParamItem::Mount { handle, path } => {
                    let path = std::str::from_utf8(path).map_err(|_| Error::Utf8)?;
                    let obj = self.take_handle(pid, handle).ok_or(Error::InvalidHandle)?;
                    self.kheap.path_mounted(path.trim().trim_end_matches('/'));
                    match selected {
                        Selected::Caller => {
                            if let Some(t) = self.vfs_table_mut(caller_vfs) {
                                t.mount(path, obj);
                            }
                        }
                        Selected::Fresh(t) => t.mount(path, obj),
                    }
                }
                ParamItem::Umount { path } => {
                    let path = std::str::from_utf8(path).map_err(|_| Error::Utf8)?;
                    let removed = match selected {
                        Selected::Caller => {
                            self.vfs_table_mut(caller_vfs).and_then(|t| t.umount(path))
                        }
                        Selected::Fresh(t) => t.umount(path),
                    };
                    self.drop_ref(removed.ok_or(Error::Param)?);
                    self.kheap.path_unmounted_by_exec(path);
                }
                ParamItem::Args(a) => args = a,
                ParamItem::Env(v) => env = v,
            }
        }
        if e.elf.len > KERNEL_HEAP {
            return Err(Error::Memory.into());
        }
        let image = self
            .read_user(pid, e.elf.ptr, e.elf.len)
            .map_err(|bad| Fail::Halt(bad.to_string()))?;
        if image.len() < 4 {
            return Err(Fail::Halt(format!(
                "exec of a {}-byte ELF image: the kernel reads the 4 magic bytes unchecked and panics (§4.5)",
                image.len()
            )));
        }
        let (name, exec_image) = match image_program(&image) {
            Some(name) => {
                let entry = *self.programs.get(name).ok_or(Error::Thread)?;
                (name.to_string(), ExecImage::Program(entry))
            }
            None if self.guest_loader.is_some() => {
                if let Err(e) = libeurali::elf::parse(&image) {
                    eprintln!("sys_exec error: {e}");
                    return Err(Error::Thread.into());
                }
                // Processes have no names on the kernel; the stub reports args[0].
                let name = args
                    .split(|&b| b == libeurali::params::FIELD_SEP)
                    .next()
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .filter(|a| !a.is_empty())
                    .unwrap_or("elf")
                    .to_string();
                (name, ExecImage::Elf(image))
            }
            None => return Err(Error::Thread.into()),
        };
        if args.len() + env.len() > ARGS_ENV_LIMIT {
            return Err(Fail::Halt(format!(
                "exec with {} bytes of args and {} of env, more than one page minus 8 ({ARGS_ENV_LIMIT}): the \
                 kernel writes past the stack page (§4.2)",
                args.len(),
                env.len()
            )));
        }
        // The kernel's copy of the file, held while the process is made (crate::kheap).
        let file_len = match &exec_image {
            ExecImage::Elf(bytes) => bytes.len() as u64,
            ExecImage::Program(_) => crate::kheap::built_len(&name),
        };
        let copy = self
            .kheap
            .copy_taken(file_len)
            .map_err(|()| Error::Memory)?;
        let iopl = e.flags & bits::EXEC_PERM_IO != 0 && self.iopl(pid);
        let vfs = match std::mem::replace(selected, Selected::Caller) {
            Selected::Caller => self.share_vfs(caller_vfs),
            Selected::Fresh(t) => self.install_vfs(t),
        };
        let made = self.spawn_process(&name, stdio, vfs, iopl, (args, env), exec_image);
        self.kheap.copy_done(copy);
        match made {
            Ok(spawn) => Ok(spawn),
            Err(e) => {
                self.release_vfs(vfs);
                Err(e.into())
            }
        }
    }

    fn select(&mut self, selected: &mut Selected, new: Selected) {
        if let Selected::Fresh(old) = std::mem::replace(selected, new) {
            self.drop_table(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_name_programs() {
        assert_eq!(program_image("echo"), b"#!eurali-program echo\n");
        assert_eq!(image_program(&program_image("echo")), Some("echo"));
        assert_eq!(image_program(b"#!eurali-program sh"), Some("sh"));
        assert_eq!(image_program(b"#!eurali-program \n"), None);
        assert_eq!(image_program(b"\x7fELF...."), None);
        assert_eq!(image_program(b"#!eurali-program a\nb"), None);
    }
}
