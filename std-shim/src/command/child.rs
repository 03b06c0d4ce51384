//! A started child ([`Child`]): waiting for its status ([`ExitStatus`]), killing it
//! ([`Killer`]), collecting its output.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use libeurali::{Handle, Message, Word, msgtype, receive, send};

use super::Output;
use super::stdio::{ChildStderr, ChildStdin, ChildStdout};
use crate::io::{self, Read};
use crate::pipe::PipeCut;
use crate::rt::Watch;
use crate::sync::{Arc, Mutex};
use crate::thread::JoinHandle;

/// How a child ended.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExitStatus(pub(super) Option<i32>);

impl ExitStatus {
    /// The code the child exited with; `None` if it died without reporting one.
    pub fn code(&self) -> Option<i32> {
        self.0
    }
    /// Exited with 0.
    pub fn success(&self) -> bool {
        self.0 == Some(0)
    }
}

impl Default for ExitStatus {
    fn default() -> Self {
        ExitStatus(Some(0))
    }
}

impl fmt::Debug for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => write!(f, "ExitStatus(code: {c})"),
            None => f.write_str("ExitStatus(killed)"),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => write!(f, "exit status: {c}"),
            None => f.write_str("killed"),
        }
    }
}

pub(super) enum WaitState {
    /// Not waited for yet: the status rendezvous, watched for the child's death.
    Channel(Arc<Handle>, Watch),
    /// A thread waits (started by `try_wait`).
    Background(JoinHandle<ExitStatus>),
    Done(ExitStatus),
    /// Transient, while a state is being moved.
    Empty,
}

/// A running (or ended, not yet waited for) child process.
pub struct Child {
    /// The parent's end of a piped stdin.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of a piped stdout.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of a piped stderr.
    pub stderr: Option<ChildStderr>,
    pub(super) tid: u64,
    /// Our end of the child's control channel (kill).
    pub(super) control: Arc<Handle>,
    /// The pipes we gave the child, cut when we kill it.
    pub(super) cuts: Arc<[PipeCut]>,
    pub(super) wait: Mutex<WaitState>,
}

/// A way to kill a child from another thread while its [`Child`] is busy waiting (eurali's
/// addition: a shell's Ctrl-C handler ends the foreground job with it).
#[derive(Clone)]
pub struct Killer {
    id: u64,
    control: Arc<Handle>,
    cuts: Arc<[PipeCut]>,
}

impl Killer {
    /// Sends the Unix signal number `sig` (2 interrupt, 9 kill, 15 terminate): the child ends
    /// with status `128 + sig`. Never waits for the child. The pipes the child was given by
    /// this parent end as soon as the child has the signal, as a killed Unix process's
    /// descriptors close: what the child wrote before can still be read, then EOF (see
    /// [`crate::pipe`]).
    pub fn signal(&self, sig: u64) {
        // Cut once the child has the signal: a write of the child's that fails on the cut
        // then finds the process ending by the signal, and reports its status, not a broken
        // pipe's (see `rt::wait_for_pending_kill`).
        let cuts = self.cuts.clone();
        crate::rt::signal_handle_then(&self.control, sig, move || {
            for c in cuts.iter() {
                c.cut();
            }
        });
    }

    /// The id of the child it kills (as [`Child::id`]).
    pub fn id(&self) -> u32 {
        u32::try_from(self.id).unwrap_or(u32::MAX)
    }
}

impl fmt::Debug for Killer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Killer {{ id: {} }}", self.id)
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Child {{ id: {} }}", self.tid)
    }
}

/// Receives the child's status; CLOSED (the watcher saw every other reference go) means it died
/// without one.
fn receive_status(h: &Handle) -> ExitStatus {
    loop {
        match receive(h) {
            Ok(Message::Short(msgtype::EXIT_STATUS, code, _)) => {
                return ExitStatus(Some(code as u32 as i32));
            }
            Ok(Message::Long(msgtype::EXIT_STATUS, Word::Value(v), Word::Chunk(mut c))) => {
                // The child handed us a chunk it kept, for our pool (see rt's exit_message).
                // Safety: the child's runtime states the pages it had written (ours to trust,
                // as every parent trusts its child's runtime), bounded to what a pool keeps.
                unsafe { c.set_pages((v >> 32).min(libeurali::pool::MAX_KEPT_PAGES)) };
                drop(c);
                return ExitStatus(Some(v as u32 as i32));
            }
            Ok(_) => {} // not a status: ignore
            Err(libeurali::Error::RecvBlocking) => {
                // What we ignored was a send_receive, which now waits for our reply.
                let _ = send(h, Message::Short(msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0));
            }
            Err(_) => return ExitStatus(None),
        }
    }
}

impl Child {
    /// The id of the child's first thread (the kernel has no process ids), cut to 32 bits.
    pub fn id(&self) -> u32 {
        u32::try_from(self.tid).unwrap_or(u32::MAX)
    }

    /// Ends the child (signal 9: status 137), as far as the kernel allows: the request goes to
    /// the child's runtime, which reports the status and ends every thread of the child at its
    /// next system service (see [`crate::rt`]). Ok also when the child has already ended.
    pub fn kill(&mut self) -> io::Result<()> {
        let ended = matches!(
            &*self.wait.lock().unwrap_or_else(|e| e.into_inner()),
            WaitState::Done(_)
        );
        if !ended {
            self.killer().signal(msgtype::SIGKILL);
        }
        Ok(())
    }

    /// A [`Killer`] for this child, usable from other threads.
    pub fn killer(&self) -> Killer {
        Killer {
            id: self.tid,
            control: self.control.clone(),
            cuts: self.cuts.clone(),
        }
    }

    /// Waits for the child to end (closing its piped stdin first, as std does). Never hangs on
    /// a child that died: that is an `ExitStatus` without a code.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let mut st = self.wait.lock().unwrap_or_else(|e| e.into_inner());
        let status = match core::mem::replace(&mut *st, WaitState::Empty) {
            WaitState::Channel(h, watch) => {
                let s = receive_status(&h);
                watch.stop();
                s
            }
            WaitState::Background(t) => t.join().unwrap_or(ExitStatus(None)),
            WaitState::Done(s) => s,
            WaitState::Empty => ExitStatus(None),
        };
        *st = WaitState::Done(status);
        crate::rt::remove_child(self.tid);
        crate::rt::hurry_watcher();
        crate::rt::checkpoint();
        Ok(status)
    }

    /// The status if the child has ended, without blocking. The first call starts a thread
    /// that waits in the background.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let mut st = self.wait.lock().unwrap_or_else(|e| e.into_inner());
        match core::mem::replace(&mut *st, WaitState::Empty) {
            WaitState::Channel(h, watch) => {
                let t = crate::thread::Builder::new()
                    .name(String::from("child-waiter"))
                    .spawn(move || {
                        let s = receive_status(&h);
                        watch.stop();
                        s
                    });
                match t {
                    Ok(t) => *st = WaitState::Background(t),
                    Err(e) => return Err(e), // the handle went with the closure: nothing to wait on
                }
                Ok(None)
            }
            WaitState::Background(t) if t.is_finished() => {
                let s = t.join().unwrap_or(ExitStatus(None));
                crate::rt::hurry_watcher();
                *st = WaitState::Done(s);
                Ok(Some(s))
            }
            WaitState::Done(s) => {
                *st = WaitState::Done(s);
                Ok(Some(s))
            }
            other => {
                *st = other;
                Ok(None)
            }
        }
    }

    /// Reads the child's piped stdout and stderr to the end (stderr on a second thread, so
    /// neither pipe can fill up and stall the child), then waits.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let err_reader = self.stderr.take().map(|mut e| {
            crate::thread::Builder::new()
                .name(String::from("stderr-reader"))
                .spawn(move || {
                    let mut v = Vec::new();
                    e.read_to_end(&mut v).map(|_| v)
                })
        });
        let mut stdout = Vec::new();
        let out_result = match self.stdout.take() {
            Some(mut o) => o.read_to_end(&mut stdout).map(|_| ()),
            None => Ok(()),
        };
        let stderr = match err_reader {
            Some(t) => t?.join().map_err(|_| {
                io::Error::const_msg(io::ErrorKind::Other, "stderr reader failed")
            })??,
            None => Vec::new(),
        };
        out_result?;
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Not waited for: closing our end of the status channel lets the child's final status
        // send fail at once (CLOSED) instead of waiting for a parent that never asks.
        let st = self
            .wait
            .get_mut()
            .map(|s| core::mem::replace(s, WaitState::Empty));
        if let Ok(WaitState::Channel(h, watch)) = st {
            watch.stop();
            drop(h);
        }
        crate::rt::remove_child(self.tid);
    }
}
