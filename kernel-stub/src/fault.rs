//! What ends threads besides their own code: the machine halting on a fault the real kernel
//! cannot survive, a shutdown, exit_thread, and an object destroyed under a blocked thread.

use core::fmt;

/// Something a program did that halts the real machine (a bad pointer or length handed to the
/// kernel, an args/env block too large, an ELF of 1..3 bytes, a thread entry at address 0). The
/// stub halts its whole system instead of crashing the test binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub program: String,
    pub pid: u64,
    pub tid: u64,
    /// The system call that faulted.
    pub call: &'static str,
    /// What happened and what the real machine would do.
    pub what: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "program {:?} (pid {}, thread {}) in `{}`: {}",
            self.program, self.pid, self.tid, self.call, self.what
        )
    }
}

impl std::error::Error for Fault {}

/// Why the stub ended a thread that was not finished with its own code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The machine halted (the fault, when known).
    Halted(Option<Fault>),
    /// `Kernel::shutdown` (or the last `Kernel` dropped).
    ShutDown,
    /// The thread called exit_thread.
    Exited,
    /// The rendezvous the thread was blocked in lost its last reference (§3.5): the kernel
    /// destroys the thread with it.
    Destroyed,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Halted(Some(fault)) => write!(f, "the machine halted: {fault}"),
            Stopped::Halted(None) => write!(f, "the machine halted"),
            Stopped::ShutDown => write!(f, "the system was shut down"),
            Stopped::Exited => write!(f, "the thread called exit_thread"),
            Stopped::Destroyed => write!(f, "the rendezvous the thread waited in was destroyed"),
        }
    }
}
