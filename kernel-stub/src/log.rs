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
    /// Only calls of this thread count (`None`: any thread's).
    tid: Option<u64>,
    /// Calls that still go through before the failures.
    skip: usize,
    /// Calls still to fail.
    count: usize,
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
        self.add_run(None, nr, nth, 1, error);
    }

    /// From the `nth` call of number `nr` on (by thread `tid` only, if given), `count` calls in
    /// a row fail with `error`.
    pub fn add_run(&mut self, tid: Option<u64>, nr: u8, nth: usize, count: usize, error: Error) {
        self.list.push(Injection {
            nr,
            tid,
            skip: nth.max(1) - 1,
            count,
            error,
        });
    }

    /// Counts a call of `nr` by thread `tid`; the error to fail it with, if an injection fires
    /// (the first one added, when several would).
    pub fn check(&mut self, nr: u8, tid: u64) -> Option<Error> {
        if self.list.is_empty() {
            return None;
        }
        let mut fired = None;
        for inj in self
            .list
            .iter_mut()
            .filter(|i| i.nr == nr && i.tid.is_none_or(|t| t == tid))
        {
            if inj.skip > 0 {
                inj.skip -= 1;
            } else if inj.count > 0 {
                inj.count -= 1;
                fired = fired.or(Some(inj.error));
            }
        }
        self.list.retain(|i| i.count > 0);
        fired
    }

    /// The failures still to come of the injections that count thread `tid`'s calls only.
    pub fn pending(&self, tid: u64) -> usize {
        self.list
            .iter()
            .filter(|i| i.tid == Some(tid))
            .map(|i| i.count)
            .sum()
    }

    /// Drops the injections that count thread `tid`'s calls only.
    pub fn clear(&mut self, tid: u64) {
        self.list.retain(|i| i.tid != Some(tid));
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
        assert_eq!(inj.check(4, 1), None);
        assert_eq!(inj.check(3, 1), Some(Error::InvalidHandle));
        assert_eq!(inj.check(3, 1), None);
        assert_eq!(inj.check(4, 1), None);
        assert_eq!(inj.check(4, 1), Some(Error::Closed));
        assert_eq!(inj.check(4, 1), None);
        assert!(inj.is_empty());
        inj.add(9, 0, Error::Param);
        assert_eq!(inj.check(9, 1), Some(Error::Param));
    }

    #[test]
    fn a_run_fails_one_threads_calls_in_a_row() {
        let mut inj = Injections::default();
        inj.add_run(Some(7), 4, 2, 3, Error::SendBlocking);
        // Other threads' calls neither fail nor count.
        assert_eq!(inj.check(4, 8), None);
        assert_eq!(inj.check(4, 7), None);
        assert_eq!(inj.check(4, 8), None);
        for _ in 0..3 {
            assert_eq!(inj.check(4, 7), Some(Error::SendBlocking));
        }
        assert_eq!(inj.check(4, 7), None);
        assert!(inj.is_empty());
    }

    #[test]
    fn log_is_bounded() {
        let mut log = SyscallLog::default();
        let e = |tid| LogEntry {
            pid: 1,
            tid,
            program: "p".into(),
            call: Call::Yield { idle_us: 0 },
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
