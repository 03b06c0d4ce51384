//! Which builtin a command name runs ([`Shell::builtin`]: the list, POSIX's special ones), and
//! the builtins small enough to be written there (`:`, `echo`, `exit`, `return`, `break`,
//! `read`, `.`, `which`, `help`…); the others are in `builtins.rs`, `cwd.rs`, `options.rs`,
//! `traps.rs`, `jobctl.rs` and `crate::nsbuiltins`.

use std::io::{self, Write};

use super::{Flow, Shell, Streams, cwd, read_script, too_deep};

impl Shell {
    /// Runs builtin `name` (one of [`BUILTINS`]) with `args`; its status is `self.status`.
    #[inline(never)]
    pub(super) fn builtin(&mut self, name: &str, args: &[String], io: &mut Streams) -> Flow {
        let mut status = 0;
        let mut flow = Flow::Next;
        let err = |io: &mut Streams, msg: String| {
            let _ = writeln!(io.stderr, "{msg}");
        };
        // A failure of an earlier command's is not this builtin's (see the end).
        let _ = io.stdout.take_failure();
        let help_asked = args.first().is_some_and(|a| a == "--help");
        match name {
            _ if help_asked && crate::help::answers_help(name) => {
                let _ = io
                    .stdout
                    .write_all(crate::help::builtin(name).unwrap_or_default().as_bytes());
            }
            ":" | "true" => {}
            "false" => status = 1,
            "echo" => {
                // A failure is reported at the end, as every builtin's.
                let _ = io.stdout.write_all(&crate::textio::echo(args));
            }
            "pwd" => {
                let _ = writeln!(io.stdout, "{}", self.cwd);
            }
            "cd" | "chdir" => status = self.cd(args, io),
            "export" | "readonly" => (status, flow) = self.export_builtin(name, args, io),
            "unset" => (status, flow) = self.unset_builtin(args, io),
            "local" => (status, flow) = self.local_builtin(args, io),
            "eval" => (status, flow) = self.eval_builtin(args, io),
            "command" => (status, flow) = self.command_builtin(args, io),
            "trap" => (status, flow) = self.trap_builtin(args, io),
            "getopts" => status = self.getopts_builtin(args, io),
            "alias" | "unalias" => status = self.alias_builtin(name, args, io),
            "hash" => status = self.hash_builtin(args, io),
            "umask" => status = self.umask_builtin(args, io),
            "ulimit" => status = self.ulimit_builtin(args, io),
            "times" => status = self.times_builtin(io),
            "type" => status = self.type_builtin(args, io),
            "exit" => {
                let code = match args.first().map(|a| status_number(a)) {
                    None => self.status,
                    Some(Ok(n)) => n,
                    Some(Err(msg)) => {
                        // A special builtin's error (as dash: `exit -1`, `exit x`).
                        err(io, format!("{}: exit: {msg}", self.name));
                        return self.fatal();
                    }
                };
                flow = Flow::Exit(code & 0xFF);
                status = code & 0xFF;
            }
            "return" => match args.first().map(|a| status_number(a)) {
                None => {
                    status = self.status;
                    flow = Flow::Return;
                }
                Some(Ok(n)) => {
                    // dash keeps the whole number in `$?`.
                    status = n;
                    flow = Flow::Return;
                }
                Some(Err(msg)) => {
                    err(io, format!("{}: return: {msg}", self.name));
                    return self.fatal();
                }
            },
            "break" | "continue" => {
                let n = match args.first().map(|a| illegal_number(a)) {
                    None => 1,
                    Some(Ok(n)) if n > 0 => n,
                    Some(Ok(_)) => {
                        err(io, format!("{}: {name}: Illegal number: 0", self.name));
                        return self.fatal();
                    }
                    Some(Err(msg)) => {
                        err(io, format!("{}: {name}: {msg}", self.name));
                        return self.fatal();
                    }
                };
                if self.loops == 0 {
                    err(io, format!("{name}: only meaningful in a loop"));
                } else {
                    let n = n.min(self.loops);
                    flow = if name == "break" {
                        Flow::Break(n)
                    } else {
                        Flow::Continue(n)
                    };
                }
            }
            "shift" => (status, flow) = self.shift_builtin(args, io),
            "set" => (status, flow) = self.set_builtin(args, io),
            "test" | "[" => {
                let cwd = self.cwd.clone();
                let resolve = |p: &str| cwd::resolve(&cwd, p);
                status = crate::textio::test(name, args, &mut io.stderr, &resolve)
            }
            "printf" => status = crate::textio::printf(args, &mut io.stdout, &mut io.stderr),
            "read" => {
                let ifs = self.vars.get("IFS").cloned();
                let (code, sets) = crate::textio::read(
                    args,
                    crate::textio::ReadIo {
                        stdin: &mut io.stdin,
                        stderr: &mut io.stderr,
                        ifs: ifs.as_deref(),
                    },
                );
                for (k, v) in sets {
                    self.set_var(&k, &v);
                }
                status = code;
            }
            "source" | "." => {
                let (code, f) = self.dot(name, args, io);
                status = code;
                if let Some(f) = f {
                    return f;
                }
            }
            "which" => {
                for a in args {
                    let what = if self.functions.contains_key(a) {
                        Some(format!("{a} is a function"))
                    } else if is_builtin(a) {
                        Some(format!("{a} is a shell builtin"))
                    } else {
                        self.lookup(a).map(|p| {
                            if name == "which" {
                                p
                            } else {
                                format!("{a} is {p}")
                            }
                        })
                    };
                    match what {
                        Some(w) => {
                            let _ = writeln!(io.stdout, "{w}");
                        }
                        None => {
                            err(io, format!("{name}: {a}: not found"));
                            status = 1;
                        }
                    }
                }
            }
            "history" => {
                for (i, h) in self.history.iter().enumerate() {
                    let _ = writeln!(io.stdout, "{:5}  {h}", i + 1);
                }
            }
            "jobs" | "wait" | "fg" | "bg" | "kill" => {
                status = self.job_builtin(name, args, io);
            }
            "ns" | "mount" | "umount" | "bind" => {
                let cwd = self.cwd.clone();
                let mut out = Vec::new();
                let mut errs = Vec::new();
                status = crate::nsbuiltins::run(name, args, &cwd, &mut out, &mut errs);
                let _ = io.stdout.write_all(&out);
                let _ = io.stderr.write_all(&errs);
            }
            "help" => match args {
                [] => {
                    let _ = io.stdout.write_all(crate::help::list().as_bytes());
                }
                names => {
                    for n in names {
                        match crate::help::builtin(n) {
                            Some(h) => {
                                let _ = io.stdout.write_all(h.as_bytes());
                            }
                            None => {
                                let tool = if tools::tool_name(n).is_some() {
                                    format!(" ({n} is a command: try `{n} --help` or `man {n}`)")
                                } else {
                                    String::new()
                                };
                                err(
                                    io,
                                    format!(
                                        "{}: help: no help topics match `{n}'{tool}",
                                        self.name
                                    ),
                                );
                                status = 1;
                            }
                        }
                    }
                }
            },
            _ => {
                err(io, format!("{}: {name}: builtin not handled", self.name));
                status = 2;
            }
        }
        // What the builtin wrote goes out now; a write of it that failed fails the builtin.
        let _ = io.stdout.flush();
        if let Some(e) = io.stdout.take_failure() {
            // Said here, not again as the shell exits (std-shim's close_stdout).
            std::rt::clear_stdout_error();
            if e.kind() == io::ErrorKind::BrokenPipe && io.stdout.is_stream() {
                // Nobody reads any more. A subshell or a script ends, as SIGPIPE ends them
                // (`while :; do echo y; done | head -n 1` must end); the interactive shell
                // goes on, with a failed status.
                if self.subshell || !self.interactive {
                    // A kill of this shell cuts its output too: then the kill's status it is.
                    std::rt::wait_for_pending_kill();
                    self.status = 128 + std::process::SIGPIPE as i32;
                    return Flow::Exit(self.status);
                }
            } else {
                err(io, format!("{name}: write error: {e}"));
            }
            if status == 0 {
                status = 1;
            }
        }
        self.status = status;
        flow
    }

    /// `. FILE`: runs the file's commands in this shell (a name without a slash is looked for
    /// in `$PATH`). A file that cannot be read is a special builtin's error; `Some` flow when
    /// the shell is to stop ([`Shell::fatal`] or `exit`).
    #[inline(never)]
    fn dot(&mut self, name: &str, args: &[String], io: &mut Streams) -> (i32, Option<Flow>) {
        let Some(f) = args.first() else {
            let _ = writeln!(
                io.stderr,
                "{}: {name}: filename argument required",
                self.name
            );
            return (2, Some(self.fatal()));
        };
        let path = if f.contains('/') {
            Some(f.clone())
        } else {
            self.lookup(f)
        };
        let src = match path.map(|p| read_script(&self.path(&p))) {
            Some(Ok(src)) => src,
            Some(Err(e)) => {
                let _ = writeln!(
                    io.stderr,
                    "{}: {name}: cannot open {f}: {}",
                    self.name,
                    io::describe(&e)
                );
                return (2, Some(self.fatal()));
            }
            None => {
                let _ = writeln!(io.stderr, "{}: {name}: {f}: not found", self.name);
                return (2, Some(self.fatal()));
            }
        };
        if too_deep(self.depth) {
            let _ = writeln!(io.stderr, "{}: {name}: nested too deeply", self.name);
            return (2, None);
        }
        self.depth += 1;
        let flow = self.run_text(&src, 1, io);
        self.depth -= 1;
        match flow {
            Flow::Next => (self.status, None),
            other => (self.status, Some(other)),
        }
    }
}

/// A builtin's numeric argument (`break 2`, `shift 3`, `return 1`): a decimal number, or
/// dash's message for one that is not.
fn illegal_number(arg: &str) -> Result<usize, String> {
    match arg.parse::<usize>() {
        Ok(n) if !arg.starts_with('+') => Ok(n),
        _ => Err(format!("Illegal number: {arg}")),
    }
}

/// `exit`'s and `return`'s status argument: a decimal number up to `i32::MAX`, as dash takes it
/// (`-1`, `x`, `2147483648`: "Illegal number").
fn status_number(arg: &str) -> Result<i32, String> {
    illegal_number(arg).and_then(|n| i32::try_from(n).map_err(|_| format!("Illegal number: {arg}")))
}

/// The builtins.
pub const BUILTINS: &[&str] = &[
    ":", ".", "[", "alias", "bg", "bind", "break", "cd", "chdir", "command", "continue", "echo",
    "eval", "exec", "exit", "export", "false", "fg", "getopts", "hash", "help", "history", "jobs",
    "kill", "local", "mount", "ns", "printf", "pwd", "read", "readonly", "return", "set", "shift",
    "source", "test", "times", "trap", "true", "type", "ulimit", "umask", "umount", "unalias",
    "unset", "wait", "which",
];

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// POSIX's special builtins: an error of theirs ends a non-interactive shell.
pub fn is_special(name: &str) -> bool {
    matches!(
        name,
        ":" | "."
            | "break"
            | "continue"
            | "eval"
            | "exec"
            | "exit"
            | "export"
            | "readonly"
            | "return"
            | "set"
            | "shift"
            | "times"
            | "trap"
            | "unset"
    )
}
