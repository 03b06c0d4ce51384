//! `std::process`: starting children ([`Command`], see `command.rs`) and ending this process with
//! a status.
//!
//! The kernel keeps no exit status; [`exit`] reports the code to the parent over the status
//! handle the parent mounted (see [`crate::rt::exit`]), and [`Child::wait`] receives it.

pub use crate::command::{
    Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Killer, NamespaceMode,
    Output, Stdio,
};

/// Signal numbers for [`Killer::signal`] (eurali's cooperative kill; Unix's numbers).
pub use libeurali::msgtype::{SIGINT, SIGKILL, SIGPIPE, SIGTERM};

/// This process's id: its pid in `/proc` (the kernel has no process ids; std-shim's runtime
/// registers every program there), or 0 where no `/proc` is mounted.
pub fn id() -> u32 {
    crate::rt::pid()
}

/// An entry in `/proc` for a task that runs inside this process as if it were a program of its
/// own (eurali extension: the shell runs the coreutils on its threads, and `ps` should show a
/// long `sleep` all the same). The entry goes when this is dropped.
pub struct ProcEntry(u32);

impl ProcEntry {
    /// Registers `command` (its command line) run by `user`; `None` where there is no `/proc`.
    pub fn register(user: &str, command: &str) -> Option<ProcEntry> {
        crate::rt::register_entry(user, command).map(ProcEntry)
    }

    /// The task's pid in `/proc`.
    pub fn id(&self) -> u32 {
        self.0
    }
}

impl Drop for ProcEntry {
    fn drop(&mut self) {
        crate::rt::remove_entry(self.0);
    }
}

/// Ends the process with `code`: flushes stdout, reports `code` to the parent, ends this thread.
///
/// The kernel cannot stop other threads; they run on until they end by themselves.
pub fn exit(code: i32) -> ! {
    crate::rt::exit(code)
}

/// Ends the process abnormally (status 134, as SIGABRT would give on Unix), every thread of it
/// ([`crate::rt::exit_all`]).
pub fn abort() -> ! {
    crate::rt::exit_all(134)
}

/// A status to return from `main`, shaped like std's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCode(u8);

impl ExitCode {
    pub const SUCCESS: ExitCode = ExitCode(0);
    pub const FAILURE: ExitCode = ExitCode(1);

    /// Ends the process with this code.
    pub fn exit_process(self) -> ! {
        exit(self.0 as i32)
    }
}

impl From<u8> for ExitCode {
    fn from(c: u8) -> ExitCode {
        ExitCode(c)
    }
}
