//! Job control: the builtins `jobs`, `wait`, `fg`, `bg` and `kill`, and what the shell does
//! with its background jobs before a prompt ([`Shell::notify_jobs`]) and before it exits
//! ([`Shell::finish_jobs`]). The jobs themselves are [`crate::jobs`].

use std::io::Write;

use super::{Shell, Streams};

/// How long a non-interactive shell lets its background jobs that run on its threads finish
/// before it hangs them up and exits ([`Shell::finish_jobs`]).
pub const FINISH_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// Unix's SIGHUP, which a shell's end sends its jobs that cannot outlive it.
const SIGHUP: u64 = 1;

impl Shell {
    /// `jobs`, `wait`, `fg`, `bg`, `kill`.
    pub(super) fn job_builtin(&mut self, name: &str, args: &[String], io: &mut Streams) -> i32 {
        let jobs = self.jobs.clone();
        let mut table = jobs.lock().unwrap_or_else(|e| e.into_inner());
        match name {
            "jobs" => {
                for l in table.report_all() {
                    let _ = writeln!(io.stdout, "{l}");
                }
                0
            }
            "bg" => {
                let spec = args.first().map(String::as_str).unwrap_or("%%");
                match table.find(spec) {
                    Some(j) => {
                        let _ = writeln!(
                            io.stderr,
                            "{}: job {} already in background",
                            self.name, j.n
                        );
                        0
                    }
                    None => {
                        let _ = writeln!(io.stderr, "{}: bg: {spec}: no such job", self.name);
                        1
                    }
                }
            }
            "wait" => {
                // With no operand, every job, and 0 (POSIX); else the last one's status.
                let all = args.is_empty();
                let specs: Vec<String> = if all {
                    table.numbers().iter().map(|n| format!("%{n}")).collect()
                } else {
                    args.to_vec()
                };
                let mut status = 0;
                for spec in specs {
                    let Some(n) = table.find(&spec).map(|j| j.n) else {
                        // As dash: a job (`%N`) that does not exist is an error (2); a process
                        // id that is not a job's waits for nothing and gives 127 (POSIX), or
                        // the status of a job collected already.
                        let known = spec.starts_with('%');
                        if known || spec.parse::<u32>().is_err() {
                            let why = match known {
                                true => "no such job",
                                false => "not a process id",
                            };
                            let _ = writeln!(io.stderr, "{}: wait: {spec}: {why}", self.name);
                            return 2;
                        }
                        status = spec
                            .parse::<u32>()
                            .ok()
                            .and_then(|id| table.waited_status(id))
                            .unwrap_or(127);
                        continue;
                    };
                    let Some(mut job) = table.take(n) else {
                        continue;
                    };
                    // Waiting must not hold the table (the job may start jobs of its own).
                    drop(table);
                    *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = job.ctl.clone();
                    status = job.wait();
                    *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = self.job.clone();
                    table = jobs.lock().unwrap_or_else(|e| e.into_inner());
                    table.waited(job.id, status);
                }
                if all { 0 } else { status }
            }
            "fg" => {
                let spec = args.first().map(String::as_str).unwrap_or("%%");
                let Some(n) = table.find(spec).map(|j| j.n) else {
                    let _ = writeln!(io.stderr, "{}: fg: {spec}: no such job", self.name);
                    return 1;
                };
                let Some(mut job) = table.take(n) else {
                    return 1;
                };
                drop(table);
                let _ = writeln!(io.stdout, "{}", job.text.trim_end_matches(" &"));
                let _ = io.stdout.flush();
                *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = job.ctl.clone();
                let status = job.wait();
                *self.foreground.lock().unwrap_or_else(|e| e.into_inner()) = self.job.clone();
                status
            }
            _ => {
                // kill [-s SIG | -SIG] target...
                let mut sig = std::process::SIGTERM;
                let mut rest = args;
                match rest.first().map(String::as_str) {
                    Some("-l") => {
                        let names: Vec<&str> =
                            crate::jobs::SIGNALS.iter().map(|(n, _)| *n).collect();
                        let _ = writeln!(io.stdout, "{}", names.join(" "));
                        return 0;
                    }
                    Some("-s") => match rest.get(1).and_then(|s| crate::jobs::parse_signal(s)) {
                        Some(s) => {
                            sig = s;
                            rest = &rest[2..];
                        }
                        None => {
                            let _ = writeln!(io.stderr, "{}: kill: bad signal", self.name);
                            return 2;
                        }
                    },
                    Some(s) if s.starts_with('-') && s.len() > 1 => {
                        match crate::jobs::parse_signal(&s[1..]) {
                            Some(v) => {
                                sig = v;
                                rest = &rest[1..];
                            }
                            None => {
                                let _ = writeln!(io.stderr, "{}: kill: {s}: bad signal", self.name);
                                return 2;
                            }
                        }
                    }
                    _ => {}
                }
                if rest.is_empty() {
                    let _ = writeln!(
                        io.stderr,
                        "{}: kill: usage: kill [-s SIGNAL | -SIGNAL] %JOB | ID ...",
                        self.name
                    );
                    return 2;
                }
                let mut status = 0;
                for spec in rest {
                    match table.find(spec) {
                        Some(j) => j.ctl.signal(sig),
                        None => {
                            let _ = writeln!(
                                io.stderr,
                                "{}: kill: {spec}: no such job (eurali's kill reaches the shell's own jobs)",
                                self.name
                            );
                            status = 1;
                        }
                    }
                }
                status
            }
        }
    }

    /// Before a non-interactive shell exits: its background jobs that run on its threads
    /// (builtins, loops, the coreutils tools of [`crate::applet`]) would end with the process,
    /// so it lets them finish for up to [`FINISH_GRACE`] (`echo done &` prints), then hangs
    /// them up (SIGHUP: their loops stop, `sleep` returns) and waits for them to end. A job
    /// that is waiting for a program is left: the program goes on by itself, as dash and bash
    /// leave background processes running. So `sh -c 'sleep 5 & echo hi'` prints `hi` and ends
    /// at once with status 0, as dash does (there the `sleep` process lives on; here it is a
    /// thread of the shell and cannot).
    pub fn finish_jobs(&mut self) {
        self.end_jobs(FINISH_GRACE);
    }

    /// Before an interactive shell exits (`exit`, Ctrl-D): hangs up its background jobs that
    /// run on its threads at once, as a terminal's hang-up ends a login shell's jobs, and waits
    /// for them to end; jobs waiting for programs are left, as in [`Shell::finish_jobs`].
    pub fn hang_up_jobs(&mut self) {
        self.end_jobs(std::time::Duration::ZERO);
    }

    fn end_jobs(&mut self, grace: std::time::Duration) {
        let start = std::time::Instant::now();
        let mut hung_up = false;
        loop {
            let job = {
                let mut table = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
                let mut running = false;
                let mut done = None;
                for n in table.numbers() {
                    let Some(j) = table.find(&format!("%{n}")) else {
                        continue;
                    };
                    if j.poll().is_some() {
                        done = Some(n);
                        break;
                    }
                    if !j.ctl.has_programs() {
                        running = true;
                        if hung_up {
                            done = Some(n);
                            break;
                        }
                    }
                }
                match done {
                    Some(n) => table.take(n),
                    None if !running => return,
                    None => {
                        if start.elapsed() >= grace {
                            for n in table.numbers() {
                                if let Some(j) = table.find(&format!("%{n}"))
                                    && !j.ctl.has_programs()
                                {
                                    j.ctl.signal(SIGHUP);
                                }
                            }
                            hung_up = true;
                        }
                        None
                    }
                }
            };
            match job {
                Some(mut job) => {
                    job.wait();
                }
                None if !hung_up => std::thread::sleep(std::time::Duration::from_millis(5)),
                None => {}
            }
        }
    }

    /// Reports background jobs that ended (an interactive shell does, before its prompt).
    pub fn notify_jobs(&mut self) {
        let lines = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report_done();
        for l in lines {
            eprintln!("{l}");
        }
    }
}
