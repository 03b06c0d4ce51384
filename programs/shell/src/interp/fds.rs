//! Descriptors and redirections: the table of a command's open descriptors (0 to 9), the
//! redirections that change it, and `exec`.
//!
//! Redirections apply left to right, each as a dup2 would: `N>&M` makes `N` another name of
//! what `M` is *now*, so `>f 2>&1` sends both to `f` and `2>&1 >f` only stdout. A descriptor is
//! what it reads or writes ([`In`] or [`Out`]); one opened with `<>` is a file both ways, and
//! a file's reading and writing ends share one offset (one [`Target`]). Closing 0 leaves it
//! reading nothing; closing 1 or 2 makes writes fail ("Bad file descriptor"); 3 to 9 are simply
//! gone. Naming one that is not open (`>&7`) fails the command with status 2, as in dash (a
//! special builtin's failed redirection ends a script); `N>&N` does nothing, open or not.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};

use super::{Flow, In, Out, Shell, Streams, Target, To};
use crate::ast::{Redirect, RedirectOp, Word};
use std::io::describe;

/// Past the highest descriptor (POSIX requires 0 to 9; dash has no more).
const FDS: u32 = 10;

/// One open descriptor: what reading or writing it reaches.
pub enum Fd {
    In(In),
    Out(Out),
}

impl Fd {
    fn try_clone(&self) -> io::Result<Fd> {
        Ok(match self {
            Fd::In(i) => Fd::In(i.try_clone()?),
            Fd::Out(o) => Fd::Out(o.try_clone()?),
        })
    }

    /// As a descriptor to read: a file any way it was opened, else nothing.
    fn into_in(self) -> In {
        match self {
            Fd::In(i) => i,
            Fd::Out(Out {
                to: To::File(t), ..
            }) => In::File(t),
            Fd::Out(_) => In::Null,
        }
    }

    /// As a descriptor to write: a file any way it was opened (its writes fail if it was
    /// opened to read), else closed.
    fn into_out(self) -> Out {
        match self {
            Fd::Out(o) => o,
            Fd::In(In::File(t)) => Out::file(t),
            Fd::In(_) => Out::to(To::Closed),
        }
    }
}

/// A closed descriptor given to a program as its stdout or stderr (std-shim passes no closed
/// one): its writes fail, as they would in a Unix program.
pub(super) struct Closed;

impl std::stream::StreamIo for Closed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(bad_fd())
    }
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(bad_fd())
    }
}

/// The error of a write to a closed descriptor.
pub(super) fn bad_fd() -> io::Error {
    io::Error::other("Bad file descriptor")
}

impl Streams {
    /// Copies of descriptors 3 to 9 (for a subshell or a stage of a pipeline).
    pub(super) fn more_clone(&self) -> io::Result<Vec<(u32, Fd)>> {
        self.more
            .iter()
            .map(|(n, f)| Ok((*n, f.try_clone()?)))
            .collect()
    }

    /// A copy of descriptor `n`; `None` if it is not open.
    fn dup(&self, n: u32) -> io::Result<Option<Fd>> {
        Ok(match n {
            0 => Some(Fd::In(self.stdin.try_clone()?)),
            1 | 2 => {
                let o = if n == 1 { &self.stdout } else { &self.stderr };
                match o.to {
                    To::Closed => None,
                    _ => Some(Fd::Out(o.try_clone()?)),
                }
            }
            _ => match self.more.iter().find(|(m, _)| *m == n) {
                Some((_, f)) => Some(f.try_clone()?),
                None => None,
            },
        })
    }

    /// Makes descriptor `n` reach `fd` (closes it if `None`).
    fn set(&mut self, n: u32, fd: Option<Fd>) {
        match (n, fd) {
            (0, fd) => self.stdin = fd.map_or(In::Null, Fd::into_in),
            (1, fd) => self.stdout = fd.map_or(Out::to(To::Closed), Fd::into_out),
            (2, fd) => self.stderr = fd.map_or(Out::to(To::Closed), Fd::into_out),
            (n, fd) => {
                self.more.retain(|(m, _)| *m != n);
                if let Some(fd) = fd {
                    self.more.push((n, fd));
                }
            }
        }
    }
}

impl Shell {
    /// Opens a command's redirections on top of `io`; the error in words (status 2 for the
    /// command, as in dash).
    #[inline(never)]
    pub(super) fn redirect(
        &mut self,
        redirects: &[Redirect],
        io: &Streams,
    ) -> Result<Streams, String> {
        let mut s = io.try_clone().map_err(|e| e.to_string())?;
        for r in redirects {
            self.redirect_one(r, &mut s)?;
        }
        Ok(s)
    }

    fn redirect_one(&mut self, r: &Redirect, s: &mut Streams) -> Result<(), String> {
        if r.fd >= FDS {
            return Err(format!("{}: Bad file descriptor", r.fd));
        }
        // (A here-document's word is its delimiter, not a path: never expanded.)
        let target = match r.op {
            RedirectOp::HereDoc => String::new(),
            _ => self.expand_single_in(&r.target, Some(s)),
        };
        let path = self.path(&target);
        // `/dev/stdin`, `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` name the shell's own
        // descriptors (eurali's file systems have no such nodes), as bash does where the
        // system lacks them: a duplicate of that descriptor.
        if !matches!(r.op, RedirectOp::Dup | RedirectOp::HereDoc)
            && let Some(n) = dev_fd(&path)
            && std::fs::metadata(&path).is_err()
        {
            let Some(fd) = s.dup(n).map_err(|e| e.to_string())? else {
                return Err(format!("{target}: Bad file descriptor"));
            };
            s.set(r.fd, Some(fd));
            return Ok(());
        }
        let opened = |f: io::Result<File>| {
            f.map(|f| Target::new(f, &target))
                .map_err(|e| format!("{target}: {}", describe(&e)))
        };
        let fd = match r.op {
            RedirectOp::Read => Fd::In(In::File(opened(File::open(&path))?)),
            // `set -C`: `>` does not overwrite an existing file (`>|` does).
            RedirectOp::Write if self.noclobber(&path) => {
                return Err(format!("cannot create {target}: File exists"));
            }
            RedirectOp::Write | RedirectOp::Clobber => {
                Fd::Out(Out::file(opened(File::create(&path))?))
            }
            RedirectOp::Append => Fd::Out(Out::file(opened(
                OpenOptions::new().append(true).create(true).open(&path),
            )?)),
            RedirectOp::ReadWrite => {
                let t = opened(
                    OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&path),
                )?;
                Fd::Out(Out::file(t))
            }
            RedirectOp::HereDoc => Fd::In(self.here_doc(r, s).map_err(|e| e.to_string())?),
            RedirectOp::Dup => {
                if target == "-" {
                    s.set(r.fd, None);
                    return Ok(());
                }
                let n = target
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n < FDS && target.bytes().all(|b| b.is_ascii_digit()));
                let Some(n) = n else {
                    return Err(format!("{target}: Bad file descriptor"));
                };
                if n == r.fd {
                    // `3>&3`: nothing to do, open or not (as dash).
                    return Ok(());
                }
                match s.dup(n).map_err(|e| e.to_string())? {
                    Some(fd) => fd,
                    None => return Err(format!("{n}: Bad file descriptor")),
                }
            }
        };
        s.set(r.fd, Some(fd));
        Ok(())
    }

    /// `exec [COMMAND [ARG...]]` with the command's assignments and redirections. Without a
    /// command, the redirections (and assignments) stay in the shell; a redirection that fails
    /// ends a script with 2. With one, there being no fork, the command runs (a program or a
    /// coreutils tool: no function nor builtin, as in dash) and the shell, or the subshell,
    /// then ends with its status (127 if not found).
    #[inline(never)]
    pub(super) fn exec(
        &mut self,
        argv: &[String],
        assignments: &[(String, Word)],
        redirects: &[Redirect],
        io: &mut Streams,
    ) -> Flow {
        let streams = match self.redirect(redirects, io) {
            Ok(s) => s,
            Err(msg) => {
                let _ = writeln!(io.stderr, "{}: exec: {msg}", self.name);
                self.status = 2;
                return match self.interactive {
                    true => Flow::Next,
                    false => Flow::Exit(2),
                };
            }
        };
        let assigns = self.assignments(assignments, &streams);
        if let Some(f) = self.expansion_failed() {
            return f;
        }
        if argv.is_empty() {
            for (k, v) in &assigns {
                self.set_var(k, v);
            }
            let _ = io.stdout.flush();
            let _ = io.stderr.flush();
            *io = streams;
            self.status = 0;
            return Flow::Next;
        }
        let env = self.child_env(&assigns);
        let status = match self.spawn(argv, &env, streams) {
            Ok(j) => j.wait(),
            Err(code) => code,
        };
        self.status = status;
        Flow::Exit(status)
    }
}

/// The descriptor a `/dev/std…` or `/dev/fd/N` path names.
fn dev_fd(path: &str) -> Option<u32> {
    match path {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => path
            .strip_prefix("/dev/fd/")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n < FDS),
    }
}
