//! `trap`: actions the shell runs at its exit (`EXIT`, `0`) or when it is signalled.
//!
//! eurali has no signals: what reaches a shell is the terminal's Ctrl-C (an interactive shell's
//! foreground job, see [`crate::jobs`]) and `kill` of a background job, both as a signalled
//! [`crate::jobs::JobCtl`]. The shell looks for that between commands: with a trap on the
//! signal, the action runs and the shell goes on instead of abandoning the command line (the
//! job's programs were ended all the same, as the signal reached them). With `trap '' SIG` the
//! job ignores the signal altogether: neither its loops nor its programs see it, as a Unix child
//! inherits an ignored signal. `HUP`, `QUIT` and the others can be trapped and listed, but
//! nothing delivers them to a shell yet.
//!
//! The EXIT trap runs when the shell ends (the end of its script, `exit`, a fatal error) and when
//! a subshell ends; a subshell starts with the traps reset (ignored ones stay ignored), as POSIX
//! has it.

use std::io::Write;

use super::options::quote;
use super::{Flow, Shell, Streams};

/// The conditions `trap` knows by name (Linux's signal numbers; any number up to 64 is taken
/// too).
const CONDITIONS: &[(&str, u32)] = &[
    ("EXIT", 0),
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// `EXIT`, `0`, `INT`, `int` (no `SIG` prefix, as in dash): its number.
fn condition(s: &str) -> Option<u32> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u32>().ok().filter(|n| *n <= 64);
    }
    CONDITIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
}

fn name_of(n: u32) -> String {
    CONDITIONS
        .iter()
        .find(|(_, v)| *v == n)
        .map_or_else(|| n.to_string(), |(name, _)| name.to_string())
}

impl Shell {
    /// A copy of the shell for a subshell: traps reset (ignored ones stay ignored).
    #[inline(never)]
    pub(super) fn subshell_copy(&self) -> Shell {
        let mut sub = self.clone();
        sub.subshell = true;
        sub.x.traps.retain(|(_, a)| a.is_empty());
        sub
    }

    /// After a subshell that shares this shell's job (`( … )`, `$( … )`, a pipeline's stages)
    /// ended: the job ignores what this shell ignores again, whatever the subshell's `trap` set.
    pub(super) fn restore_ignored(&self) {
        self.job.set_ignored(self.ignored_signals());
    }

    /// The signals `trap ''` ignores, as a mask for [`crate::jobs::JobCtl::set_ignored`].
    pub(super) fn ignored_signals(&self) -> u64 {
        self.x
            .traps
            .iter()
            .filter(|(n, a)| a.is_empty() && (1..64).contains(n))
            .fold(0, |m, (n, _)| m | 1 << n)
    }

    /// `trap` (list), `trap ACTION COND...`, `trap - COND...` / `trap COND...` (reset),
    /// `trap '' COND...` (ignore), `trap -l` (the condition names).
    #[inline(never)]
    pub(super) fn trap_builtin(&mut self, args: &[String], io: &mut Streams) -> (i32, Flow) {
        let args = match args.first().map(String::as_str) {
            Some("--") => &args[1..],
            _ => args,
        };
        match args.first().map(String::as_str) {
            None => {
                for (n, a) in &self.x.traps {
                    let _ = writeln!(io.stdout, "trap -- {} {}", quote(a), name_of(*n));
                }
                return (0, Flow::Next);
            }
            Some(a) if a.len() > 1 && a.starts_with('-') && a != "-l" => {
                let _ = writeln!(io.stderr, "{}: trap: Illegal option {a}", self.name);
                return (2, self.special_error());
            }
            Some("-l") => {
                let names: Vec<&str> = CONDITIONS.iter().skip(1).map(|(n, _)| *n).collect();
                let _ = writeln!(io.stdout, "{}", names.join(" "));
                return (0, Flow::Next);
            }
            _ => {}
        }
        // A first operand that is a condition number (or the only operand) resets.
        let reset_all =
            args.len() == 1 || (!args[0].is_empty() && args[0].bytes().all(|b| b.is_ascii_digit()));
        let (action, conds) = if reset_all {
            (None, args)
        } else if args[0] == "-" {
            (None, &args[1..])
        } else {
            (Some(args[0].as_str()), &args[1..])
        };
        let mut status = 0;
        for c in conds {
            let Some(n) = condition(c) else {
                let _ = writeln!(io.stderr, "trap: {c}: bad trap");
                status = 1;
                continue;
            };
            self.x.traps.retain(|(m, _)| *m != n);
            if let Some(a) = action {
                let at = self.x.traps.partition_point(|(m, _)| *m < n);
                self.x.traps.insert(at, (n, a.to_string()));
            }
        }
        // The job this shell runs for ignores what the shell ignores (Ctrl-C with
        // `trap '' INT` then reaches neither the shell's loops nor its programs).
        self.job.set_ignored(self.ignored_signals());
        (status, Flow::Next)
    }

    /// The shell (or a subshell) ends with `code`: its EXIT trap runs, once, with `$?` the
    /// status; an `exit` in it gives the status to end with.
    #[inline(never)]
    pub fn run_exit_trap(&mut self, code: i32, io: &mut Streams) -> i32 {
        let Some(i) = self.x.traps.iter().position(|(n, _)| *n == 0) else {
            return code;
        };
        let (_, action) = self.x.traps.remove(i);
        if action.is_empty() {
            return code;
        }
        self.status = code;
        match self.parse_script(&action) {
            Ok(list) => match self.list(&list, io) {
                Flow::Exit(c) => c,
                _ => code,
            },
            Err(e) => {
                let _ = writeln!(io.stderr, "{}: trap: {e}", self.name);
                2
            }
        }
    }

    /// The job was interrupted by `sig`: with a trap on it, the trap's action runs (`$?` kept)
    /// and the shell goes on (`Some(flow)`, an `exit` in the action ends it); `None` without one.
    #[inline(never)]
    pub(super) fn run_signal_trap(&mut self, sig: u64, io: &mut Streams) -> Option<Flow> {
        let action = self
            .x
            .traps
            .iter()
            .find(|(n, _)| u64::from(*n) == sig)?
            .1
            .clone();
        self.job.reset();
        if action.is_empty() {
            return Some(Flow::Next);
        }
        let saved = self.status;
        let flow = match self.parse_script(&action) {
            Ok(list) => self.list(&list, io),
            Err(_) => Flow::Next,
        };
        self.status = saved;
        Some(match flow {
            Flow::Exit(c) => Flow::Exit(c),
            _ => Flow::Next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions() {
        assert_eq!(condition("EXIT"), Some(0));
        assert_eq!(condition("0"), Some(0));
        assert_eq!(condition("int"), Some(2));
        assert_eq!(condition("SIGINT"), None);
        assert_eq!(condition("40"), Some(40));
        assert_eq!(condition("TERM"), Some(15));
        assert_eq!(condition("BOGUS"), None);
        assert_eq!(condition("99"), None);
        assert_eq!(name_of(40), "40");
        assert_eq!(name_of(1), "HUP");
    }
}
