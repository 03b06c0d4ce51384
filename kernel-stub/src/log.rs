//! The syscall log and fault injection, after libtock-rs's fake kernel (`syscall_log.rs`,
//! `expected_syscall.rs`): tests take the log of typed entries and compare, or make the Nth call
//! of a kind fail.

use libeurali::Error;
use libeurali::abi::{Call, Registers};
use std::collections::VecDeque;

/// One completed system call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub pid: u64,
    pub tid: u64,
    pub program: String,
    /// The call as decoded from the caller's registers.
    pub call: Call,
    /// The registers as the call returned them (for exit_thread: as they went in).
    pub result: Registers,
}

/// Entries kept; older ones are dropped first.
pub const LOG_CAPACITY: usize = 100_000;

/// A bounded log. Entries are appended when a call completes, so a blocking call appears after
/// the call that released it.
#[derive(Debug, Default)]
pub struct SyscallLog {
    entries: VecDeque<LogEntry>,
}

impl SyscallLog {
    pub fn push(&mut self, e: LogEntry) {
        if self.entries.len() == LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(e);
    }

    pub fn take(&mut self) -> Vec<LogEntry> {
        self.entries.drain(..).collect()
    }
}

#[derive(Clone, Copy, Debug)]
struct Injection {
    nr: u8,
    remaining: usize,
    error: Error,
}

/// Pending injected failures.
#[derive(Debug, Default)]
pub struct Injections {
    list: Vec<Injection>,
}

impl Injections {
    /// The `nth` call of number `nr` from now (1 = the next one; 0 counts as 1) fails with
    /// `error`.
    pub fn add(&mut self, nr: u8, nth: usize, error: Error) {
        self.list.push(Injection {
            nr,
            remaining: nth.max(1),
            error,
        });
    }

    /// Counts a call of `nr`; the error to fail it with, if an injection fires.
    pub fn check(&mut self, nr: u8) -> Option<Error> {
        if self.list.is_empty() {
            return None;
        }
        let mut fired = None;
        for inj in self.list.iter_mut().filter(|i| i.nr == nr) {
            inj.remaining -= 1;
            if inj.remaining == 0 && fired.is_none() {
                fired = Some(inj.error);
            }
        }
        self.list.retain(|i| i.remaining > 0);
        fired
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_call_of_a_kind_fails_once() {
        let mut inj = Injections::default();
        inj.add(4, 3, Error::Closed);
        inj.add(3, 1, Error::InvalidHandle);
        assert_eq!(inj.check(4), None);
        assert_eq!(inj.check(3), Some(Error::InvalidHandle));
        assert_eq!(inj.check(3), None);
        assert_eq!(inj.check(4), None);
        assert_eq!(inj.check(4), Some(Error::Closed));
        assert_eq!(inj.check(4), None);
        assert!(inj.is_empty());
        inj.add(9, 0, Error::Param);
        assert_eq!(inj.check(9), Some(Error::Param));
    }

    #[test]
    fn log_is_bounded() {
        let mut log = SyscallLog::default();
        let e = |tid| LogEntry {
            pid: 1,
            tid,
            program: "p".into(),
            call: Call::Yield,
            result: Registers::default(),
        };
        for t in 0..LOG_CAPACITY as u64 + 5 {
            log.push(e(t));
        }
        let all = log.take();
        assert_eq!(all.len(), LOG_CAPACITY);
        assert_eq!(all[0].tid, 5);
        assert!(log.take().is_empty());
    }
}
