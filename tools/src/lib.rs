//! `coreutils`: the classic small tools in one multi-call binary. Run as `/bin/NAME` (args[0]
//! names the tool; /bin holds one copy per name) or as `coreutils NAME ARGS...`.
//!
//! Every tool is a function of its arguments and an [`Io`] (stdin, stdout, stderr), returning the
//! exit status GNU users expect (0 success, 1 failure; grep: 1 no match, 2 trouble). Messages
//! read `tool: operand: reason`. A failed write of the output ends a tool with
//! `tool: write error: reason` and status 1 (2 for grep, sort and ls), as GNU's do.
//!
//! The shell links this crate (its tools run inside the shell, see `shell::applet`), so every
//! byte here is a byte of `sh` too: tools are written for size (ASCII character classes, no
//! Unicode tables), and each tool's entry point is `#[inline(never)]`, so that `nm
//! --size-sort` on a build with symbols shows what each costs.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};

mod args;
mod bytes;
mod date;
mod diff;
mod expr;
mod files;
mod find;
#[cfg(test)]
mod gnu_tests;
mod grep;
pub mod help;
mod info;
mod input;
mod lines;
mod output;
pub mod pager;
pub mod printf;
mod regex;
mod sed;
mod space;
mod sum;
mod tar;
mod text;
mod who;

pub(crate) use output::write_error;

/// The standard streams a tool works on (real ones in `main`, buffers in tests, the command's
/// own streams when the shell runs a tool inside its process), and what else differs there.
pub struct Io<'a> {
    pub stdin: &'a mut dyn BufRead,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// The command's environment, when it is not this process's (a tool run inside the shell).
    pub env: Option<&'a [(String, String)]>,
    /// Whether the command has been interrupted (Ctrl-C, `kill`): a tool run inside the shell
    /// cannot be ended from outside, so whatever waits long (sleep) asks this, and stops.
    pub interrupted: &'a dyn Fn() -> bool,
    /// The command's working directory, when it is not this process's (a tool run inside the
    /// shell, whose subshells each have their own): relative paths are resolved against it
    /// ([`Io::at`]).
    pub cwd: Option<&'a str>,
    /// Which of the command's streams are the terminal (the pager's question).
    pub tty: Tty,
}

/// Which of a command's standard streams are the terminal that the process's stdin reads (a
/// tool in the shell: the shell's own streams, when the shell is at a terminal). A tool run as
/// its own process cannot tell a terminal stdout from a pipe (the console's output stream does
/// not answer terminal requests on the stub), so there both are `false`: `man` and `less` then
/// copy their text through.
#[derive(Clone, Copy, Default, Debug)]
pub struct Tty {
    pub stdin: bool,
    pub stdout: bool,
}

/// How much a tool reads at a time from a pipe or its stdin (its `BufReader`'s size): one
/// message per this many bytes, so it decides what a pipeline's data costs in messages. A pipe
/// holds no more than this (`std::pipe::CAPACITY`).
pub const READ_BUF: usize = 64 * 1024;

/// How much a tool reads at a time from a file: a file server's largest read
/// (`vfs::client::CLIENT_IO`), so one request per 256 KiB. Each request moves a chunk between
/// processes (on the stub, a remap that costs every core a TLB flush): with 64 KiB reads,
/// `cat` of 64 MiB spent most of its time there (`cargo xtask bench pipe`: 3.7x dash, 1.4x with
/// these). A tool reads one file at a time, so this is one buffer per tool.
pub const FILE_READ_BUF: usize = vfs::client::CLIENT_IO;

fn never() -> bool {
    false
}

impl<'a> Io<'a> {
    /// The streams of a tool that runs as its own process: this process's environment, and no
    /// interruption but the process's own end.
    pub fn new(
        stdin: &'a mut dyn BufRead,
        stdout: &'a mut dyn Write,
        stderr: &'a mut dyn Write,
    ) -> Io<'a> {
        Io {
            stdin,
            stdout,
            stderr,
            env: None,
            interrupted: &never,
            cwd: None,
            tty: Tty::default(),
        }
    }

    /// The path by which to reach `path` (an operand as the user gave it): relative paths are
    /// resolved against the command's working directory. Messages keep naming the operand.
    pub fn at(&self, path: &str) -> std::path::PathBuf {
        input::at(self.cwd, path)
    }

    /// The user the command runs as: `USER` of the command's environment (the shell's
    /// applets), else of the process; `None` when unset or empty.
    pub fn user(&self) -> Option<String> {
        match self.env {
            Some(env) => env
                .iter()
                .rev()
                .find(|(k, _)| k == "USER")
                .map(|(_, v)| v.clone()),
            None => std::env::var("USER").ok(),
        }
        .filter(|u| !u.is_empty())
    }
}

/// The tools and what they do, for `coreutils --help` and the shell's `help` (kept with the
/// system image, which links each into `/bin`).
pub use vfs::image::TOOLS;

/// The tool called `name`, if there is one. The shell runs every tool on its own threads
/// ([`run_in_shell`]): on the real kernel a process's end gives its frames back at once, which
/// the stock kernel mishandles (README, "the frame-allocator bug"), so no tool is a process of
/// its own there. (The shell's ELF, which carries them, is packed: `libeurali::sfx`.)
pub fn tool_name(name: &str) -> Option<&'static str> {
    TOOLS.iter().map(|(n, _)| *n).find(|n| *n == name)
}

/// Runs tool `name` with `args` (without the tool name).
pub fn run(name: &str, args: &[String], io: &mut Io) -> i32 {
    run_tool(name, args, io)
}

/// Runs tool `name` if there is one; `None` otherwise.
pub fn run_in_shell(name: &str, args: &[String], io: &mut Io) -> Option<i32> {
    tool_name(name).map(|_| run_tool(name, args, io))
}

/// Any tool (127 with a message for a name that is none). `--help` as the first argument
/// shows the tool's help ([`help`]) whatever the tool.
fn run_tool(name: &str, args: &[String], io: &mut Io) -> i32 {
    if args.first().map(String::as_str) == Some("--help") && tool_name(name).is_some() {
        return help::show(name, io);
    }
    match name {
        "cat" => text::cat(args, io),
        "less" | "more" => pager::less(name, args, io),
        "man" => pager::man(args, io),
        "head" => text::head_tail(args, io, false),
        "tail" => text::head_tail(args, io, true),
        "wc" => text::wc(args, io),
        "grep" | "egrep" | "fgrep" => grep::grep(name, args, io),
        "sort" => text::sort(args, io),
        "uniq" => text::uniq(args, io),
        "tee" => text::tee(args, io),
        "sed" => sed::sed(args, io),
        "tr" => bytes::tr(args, io),
        "cut" => bytes::cut(args, io),
        "expr" => expr::expr(args, io),
        "tac" => lines::tac(args, io),
        "yes" => lines::yes(args, io),
        "ls" => files::ls(args, io),
        "mkdir" => files::mkdir(args, io),
        "rmdir" => files::rmdir(args, io),
        "rm" => files::rm(args, io),
        "touch" => files::touch(args, io),
        "cp" => files::cp(args, io),
        "mv" => files::mv(args, io),
        "true" => 0,
        "false" => 1,
        "env" => {
            let vars: Vec<(String, String)> = match io.env {
                Some(env) => env.to_vec(),
                None => std::env::vars().collect(),
            };
            for (k, v) in vars {
                if let Err(e) = writeln!(io.stdout, "{k}={v}") {
                    return write_error(io.stderr, "env", &e);
                }
            }
            0
        }
        "sleep" => text::sleep(args, io),
        "printf" => printf::printf(args, io),
        "basename" => match args {
            [p] | [p, _] => {
                let t = p.trim_end_matches('/');
                let mut base = if t.is_empty() && !p.is_empty() {
                    "/"
                } else {
                    t.rsplit('/').next().unwrap_or(t)
                };
                if let [_, suffix] = args
                    && base != suffix.as_str()
                    && let Some(b) = base.strip_suffix(suffix.as_str())
                {
                    base = b;
                }
                match writeln!(io.stdout, "{base}") {
                    Ok(()) => 0,
                    Err(e) => write_error(io.stderr, "basename", &e),
                }
            }
            _ => {
                let _ = writeln!(io.stderr, "basename: usage: basename PATH [SUFFIX]");
                1
            }
        },
        "dirname" => match args {
            [p] => {
                let t = p.trim_end_matches('/');
                let dir = match t.rfind('/') {
                    _ if t.is_empty() && p.starts_with('/') => "/",
                    Some(i) => match t[..i].trim_end_matches('/') {
                        "" => "/",
                        d => d,
                    },
                    None => ".",
                };
                match writeln!(io.stdout, "{dir}") {
                    Ok(()) => 0,
                    Err(e) => write_error(io.stderr, "dirname", &e),
                }
            }
            _ => {
                let _ = writeln!(io.stderr, "dirname: usage: dirname PATH");
                1
            }
        },
        "seq" => {
            let nums: Result<Vec<i64>, _> = args.iter().map(|a| a.parse::<i64>()).collect();
            let (first, step, last) = match nums.as_deref() {
                Ok([l]) => (1, 1, *l),
                Ok([f, l]) => (*f, 1, *l),
                Ok([f, s, l]) if *s != 0 => (*f, *s, *l),
                _ => {
                    let _ = writeln!(
                        io.stderr,
                        "seq: usage: seq [FIRST [STEP]] LAST (integers, STEP not 0)"
                    );
                    return 1;
                }
            };
            let mut i = first;
            while (step > 0 && i <= last) || (step < 0 && i >= last) {
                if let Err(e) = writeln!(io.stdout, "{i}") {
                    return write_error(io.stderr, "seq", &e);
                }
                i += step;
            }
            0
        }
        "hexdump" => text::hexdump(args, io, false),
        "xxd" => text::hexdump(args, io, true),
        "whoami" => who::whoami(args, io),
        "id" => who::id(args, io),
        "tar" => tar::tar(args, io),
        "hostname" => who::hostname(args, io),
        "ps" => ps(args, io),
        "clear" => match io.stdout.write_all(b"\x1b[H\x1b[2J") {
            Ok(()) => 0,
            Err(e) => write_error(io.stderr, "clear", &e),
        },
        "date" => date::date(args, io),
        "uptime" => {
            let s = std::time::uptime().as_secs();
            let r = writeln!(
                io.stdout,
                "up {:02}:{:02}:{:02} since boot",
                s / 3600,
                s / 60 % 60,
                s % 60
            );
            match r {
                Ok(()) => 0,
                Err(e) => write_error(io.stderr, name, &e),
            }
        }
        "od" => bytes::od(args, io),
        "rev" => lines::rev(args, io),
        "nl" => lines::nl(args, io),
        "paste" => lines::paste(args, io),
        "fold" => lines::fold(args, io),
        "expand" => lines::expand(args, io),
        "comm" => lines::comm(args, io),
        "cmp" => lines::cmp(args, io),
        "readlink" | "realpath" => files::resolve_paths(name, args, io),
        "df" => space::df(args, io),
        "sync" => space::sync(args, io),
        "quota" => space::quota(args, io),
        "free" => space::free(args, io),
        "find" => find::find(args, io),
        "xargs" => find::xargs(args, io),
        "diff" => diff::diff(args, io),
        "sha256sum" => sum::sha256sum(args, io),
        "stat" => info::stat(args, io),
        "du" => info::du(args, io),
        "uname" => info::uname(args, io),
        _ => {
            let _ = writeln!(
                io.stderr,
                "coreutils: {name}: no such tool (try coreutils --help)"
            );
            127
        }
    }
}

/// `ps`: the process table every program registers in (`/proc`, see `vfs::procfs`).
fn ps(args: &[String], io: &mut Io) -> i32 {
    if !args.is_empty() {
        let _ = writeln!(io.stderr, "ps: usage: ps (no options)");
        return 2;
    }
    // Be in the table too (short-lived programs register only after a moment), with the heap
    // of this process (the shell's, when ps runs inside it) as it is now.
    std::rt::report_heap();
    let dir = match std::fs::read_dir("/proc") {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(io.stderr, "ps: /proc: {e} (no process table here)");
            return 1;
        }
    };
    // An entry gone since the listing was a process ending meanwhile; any other error is said
    // (a busy server, say), not taken for an empty table.
    let mut status = 0;
    let mut procs: Vec<vfs::procfs::ProcInfo> = Vec::new();
    for e in dir.filter_map(|e| e.ok()) {
        match std::fs::read_to_string(e.path()) {
            Ok(t) => procs.extend(vfs::procfs::parse_line(&t)),
            Err(x) if x.kind() == std::io::ErrorKind::NotFound => {}
            Err(x) => {
                let _ = writeln!(io.stderr, "ps: {}: {x}", e.path().display());
                status = 1;
            }
        }
    }
    procs.sort_by_key(|p| p.pid);
    let now = std::time::uptime().as_micros() as u64;
    // Time since the process started (the kernel keeps no CPU time): ELAPSED, as ps -o etime.
    // HEAP: KiB of heap in use as the process last reported it (as ps -o rss counts KiB).
    let head = writeln!(
        io.stdout,
        "{:>5} {:<8} {:>8} {:>6} CMD",
        "PID", "USER", "ELAPSED", "HEAP"
    );
    if let Err(e) = head {
        return write_error(io.stderr, "ps", &e);
    }
    for p in procs {
        let s = now.saturating_sub(p.start_us) / 1_000_000;
        let heap = p.heap.map_or_else(
            || String::from("-"),
            |(used, _)| used.div_ceil(1024).to_string(),
        );
        let r = writeln!(
            io.stdout,
            "{:>5} {:<8} {:>02}:{:02}:{:02} {heap:>6} {}",
            p.pid,
            if p.user.is_empty() { "-" } else { &p.user },
            s / 3600,
            s / 60 % 60,
            s % 60,
            p.cmd
        );
        if let Err(e) = r {
            return write_error(io.stderr, "ps", &e);
        }
    }
    status
}

pub fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = if args.is_empty() {
        String::from("coreutils")
    } else {
        args.remove(0)
    };
    let mut name = argv0.rsplit('/').next().unwrap_or("coreutils").to_string();
    if name == "coreutils" {
        match args.first().map(String::as_str) {
            None | Some("--help") => {
                println!("usage: coreutils TOOL [ARGS...], or run /bin/TOOL. Tools:");
                for (_, help) in TOOLS {
                    println!("  {help}");
                }
                return;
            }
            Some(_) => name = args.remove(0),
        }
    }
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut code = run(&name, &args, &mut Io::new(&mut lock, &mut out, &mut err));
    // The rest of a line the tool wrote without its newline goes now: its failure is the
    // tool's (the runtime would say so too, in its own words, at the exit).
    if let Err(e) = out.flush()
        && code == 0
    {
        code = write_error(&mut err, &name, &e);
        std::rt::clear_stdout_error();
    }
    std::process::exit(code);
}

#[cfg(test)]
mod in_shell_tests {
    use super::*;

    #[test]
    fn every_tool_runs_in_the_shell_and_nothing_else_does() {
        let (mut i, mut o, mut e): (&[u8], Vec<u8>, Vec<u8>) = (b"", Vec::new(), Vec::new());
        for (t, _) in TOOLS {
            assert_eq!(tool_name(t), Some(*t));
        }
        assert_eq!(
            run_in_shell("true", &[], &mut Io::new(&mut i, &mut o, &mut e)),
            Some(0)
        );
        assert_eq!(
            run_in_shell("rev", &[], &mut Io::new(&mut i, &mut o, &mut e)),
            Some(0)
        );
        assert_eq!(
            run_in_shell("nosuchtool", &[], &mut Io::new(&mut i, &mut o, &mut e)),
            None
        );
        assert_eq!(tool_name("sh"), None);
    }
}
