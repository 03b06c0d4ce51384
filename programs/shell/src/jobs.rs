//! Jobs: the foreground job that Ctrl-C interrupts, and background jobs (`&`, `jobs`, `wait`,
//! `fg`, `bg`, `kill`).
//!
//! eurali has no signals and no process groups. A job is what the shell runs for one command
//! line (or one `… &`): a [`JobCtl`] collects the [`Killer`]s of every program the job starts,
//! and an interrupted flag that the shell's own loops check (so `while true; do sleep 1; done`
//! stops at Ctrl-C like a Unix shell's loop does). The terminal reports Ctrl-C to the shell's
//! interrupt thread (std's `term::Interrupts`), which interrupts the job in the foreground slot.
//!
//! A background job runs on a thread of the shell with a copy of the shell's state, its stdin
//! null (POSIX, for a shell without job control), and its own `JobCtl`. `$!` names it with a
//! number that `wait`, `kill` and `fg` accept, as they accept `%n`. Jobs cannot be stopped
//! (there is no SIGSTOP), so `bg` only reports.

use std::process::Killer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The signals `kill` knows, by name and number.
pub const SIGNALS: &[(&str, u64)] = &[("HUP", 1), ("INT", 2), ("KILL", 9), ("TERM", 15)];

/// One job's programs and its interrupted flag.
#[derive(Default)]
pub struct JobCtl {
    /// The signal the job was ended with; 0 while it runs.
    signal: AtomicU64,
    killers: Mutex<Vec<Killer>>,
    /// Signals the job ignores (bit `n` for signal `n`: `trap '' INT`): they reach neither its
    /// loops nor its programs, as a Unix child inherits an ignored signal.
    ignored: AtomicU64,
}

impl JobCtl {
    pub fn new() -> Arc<JobCtl> {
        Arc::new(JobCtl::default())
    }

    /// A program of this job started; a job interrupted meanwhile ends it at once.
    pub fn add(&self, k: Killer) {
        let mut ks = self.killers.lock().unwrap_or_else(|e| e.into_inner());
        match self.signal.load(Ordering::Acquire) {
            0 => {}
            sig => k.signal(sig),
        }
        ks.push(k);
    }

    /// A program of this job was waited for.
    pub fn remove(&self, id: u32) {
        let mut ks = self.killers.lock().unwrap_or_else(|e| e.into_inner());
        ks.retain(|k| k.id() != id);
    }

    /// Ends the job: its loops stop, its programs get `sig` (unless the job ignores it).
    pub fn signal(&self, sig: u64) {
        if sig < 64 && self.ignored.load(Ordering::Acquire) & (1 << sig) != 0 {
            return;
        }
        let ks = self.killers.lock().unwrap_or_else(|e| e.into_inner());
        self.signal.store(sig.max(1), Ordering::Release);
        for k in ks.iter() {
            k.signal(sig);
        }
    }

    /// Whether a program of the job is running (a tool inside the shell is not a program).
    pub fn has_programs(&self) -> bool {
        !self
            .killers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Which signals the job ignores from now on (bit `n` for signal `n`).
    pub fn set_ignored(&self, mask: u64) {
        self.ignored.store(mask, Ordering::Release);
    }

    /// The signal that ended the job, if it was ended.
    pub fn interrupted(&self) -> Option<u64> {
        match self.signal.load(Ordering::Acquire) {
            0 => None,
            s => Some(s),
        }
    }

    /// Ready for the next command line.
    pub fn reset(&self) {
        self.signal.store(0, Ordering::Release);
    }
}

/// A background job.
pub struct BgJob {
    /// `%n`.
    pub n: usize,
    /// What `$!` gave for it.
    pub id: u32,
    pub text: String,
    pub ctl: Arc<JobCtl>,
    thread: Option<JoinHandle<i32>>,
    status: Option<i32>,
}

impl BgJob {
    /// Its status if it has ended (collecting it from the thread).
    pub fn poll(&mut self) -> Option<i32> {
        if self.status.is_none() && self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            self.status = self.thread.take().map(|t| t.join().unwrap_or(1));
        }
        self.status
    }

    /// Waits for it to end.
    pub fn wait(&mut self) -> i32 {
        if let Some(t) = self.thread.take() {
            self.status = Some(t.join().unwrap_or(1));
        }
        self.status.unwrap_or(127)
    }

    /// `[1]+  Running    sleep 5 &`.
    pub fn line(&mut self, current: bool) -> String {
        let state = match self.poll() {
            None => "Running".to_string(),
            Some(0) => "Done".to_string(),
            Some(c) if c > 128 => format!("Killed ({})", signal_name(c as u64 - 128)),
            Some(c) => format!("Done({c})"),
        };
        let mark = if current { '+' } else { ' ' };
        format!("[{}]{mark}  {state:<22}{}", self.n, self.text)
    }
}

/// The shell's table of background jobs (shared by its copies, like the terminal is).
#[derive(Default)]
pub struct Jobs {
    list: Vec<BgJob>,
    next_id: u32,
    /// The last few jobs `wait` collected, by id, with their status: waiting for one again by
    /// its id gives that status, as in dash (`false & wait $! $!` is 1).
    waited: Vec<(u32, i32)>,
}

impl Jobs {
    pub fn new() -> Arc<Mutex<Jobs>> {
        Arc::new(Mutex::new(Jobs {
            list: Vec::new(),
            next_id: 1000,
            waited: Vec::new(),
        }))
    }

    /// Registers a started job; its `(n, id)`.
    pub fn add(&mut self, text: String, ctl: Arc<JobCtl>, thread: JoinHandle<i32>) -> (usize, u32) {
        let n = self.list.iter().map(|j| j.n).max().unwrap_or(0) + 1;
        self.next_id += 1;
        let id = self.next_id;
        self.list.push(BgJob {
            n,
            id,
            text,
            ctl,
            thread: Some(thread),
            status: None,
        });
        (n, id)
    }

    /// The job a `wait`/`kill`/`fg` operand names (`%n`, `%%`, `%+`, `%-`, or `$!`'s number).
    pub fn find(&mut self, spec: &str) -> Option<&mut BgJob> {
        let idx = match spec {
            "%%" | "%+" | "%" => self.list.len().checked_sub(1)?,
            "%-" => self.list.len().checked_sub(2)?,
            s => {
                if let Some(n) = s.strip_prefix('%') {
                    let n: usize = n.parse().ok()?;
                    self.list.iter().position(|j| j.n == n)?
                } else {
                    let id: u32 = s.parse().ok()?;
                    self.list.iter().position(|j| j.id == id)?
                }
            }
        };
        self.list.get_mut(idx)
    }

    /// Keeps the status of job `id` that `wait` collected (see `waited`).
    pub fn waited(&mut self, id: u32, status: i32) {
        if self.waited.len() >= 16 {
            self.waited.remove(0);
        }
        self.waited.push((id, status));
    }

    /// The status of job `id` if `wait` collected it lately.
    pub fn waited_status(&self, id: u32) -> Option<i32> {
        self.waited
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| *s)
    }

    /// Takes a job out of the table (after `wait` or `fg` collected it).
    pub fn take(&mut self, n: usize) -> Option<BgJob> {
        let i = self.list.iter().position(|j| j.n == n)?;
        Some(self.list.remove(i))
    }

    /// Every job, for `jobs` (ended ones are reported once and then forgotten).
    pub fn report_all(&mut self) -> Vec<String> {
        let last = self.list.len().saturating_sub(1);
        let lines = self
            .list
            .iter_mut()
            .enumerate()
            .map(|(i, j)| j.line(i == last))
            .collect();
        self.list.retain_mut(|j| j.poll().is_none());
        lines
    }

    /// Jobs that ended since the last look, reported and forgotten (before a prompt).
    pub fn report_done(&mut self) -> Vec<String> {
        let last = self.list.len().saturating_sub(1);
        let mut lines = Vec::new();
        for (i, j) in self.list.iter_mut().enumerate() {
            if j.poll().is_some() {
                lines.push(j.line(i == last));
            }
        }
        self.list.retain_mut(|j| j.poll().is_none());
        lines
    }

    /// Every job's number, oldest first.
    pub fn numbers(&self) -> Vec<usize> {
        self.list.iter().map(|j| j.n).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// `INT` for 2, or the number.
pub fn signal_name(sig: u64) -> String {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == sig)
        .map(|(name, _)| format!("SIG{name}"))
        .unwrap_or_else(|| format!("signal {sig}"))
}

/// A signal given as `9`, `KILL`, `SIGKILL` (any case).
pub fn parse_signal(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    SIGNALS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("kill"), Some(9));
        assert_eq!(parse_signal("SIGTERM"), Some(15));
        assert_eq!(parse_signal("INT"), Some(2));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("BOGUS"), None);
        assert_eq!(signal_name(2), "SIGINT");
        assert_eq!(signal_name(33), "signal 33");
    }
}
