//! `sh`: eurali's shell: [`parse`] reads POSIX sh syntax into an [`ast`], [`expand`] and [`pattern`] expand
//! words, [`interp`] runs scripts, [`line`] edits lines interactively (with [`complete`] for
//! Tab and [`prompt`] for `PS1`/`PS2`), [`test_expr`] is `test`.

pub mod applet;
pub mod arith;
pub mod ast;
pub mod complete;
pub mod expand;
pub mod help;
pub mod interp;
pub mod jobs;
pub mod line;
pub mod names;
pub mod nsbuiltins;
pub mod parse;
pub mod pattern;
pub mod prompt;
pub mod test_expr;
pub mod textio;
pub mod unparse;

/// Stack a recursive parser (script syntax, arithmetic, `test`) keeps below itself: past it,
/// nesting fails as too deep instead of overflowing the 28 KiB thread stack into its guard page
/// (which halts the real machine). Measured with `cargo xtask bench budgets`.
pub const PARSE_STACK_RESERVE: usize = 6 * 1024;

/// Whether less than `reserve` bytes of stack are left (never on host stacks).
pub fn stack_low(reserve: usize) -> bool {
    std::thread::stack_remaining().is_some_and(|r| r < reserve)
}

/// Runs `f` on a new thread of the shell and waits for it: a fresh 28 KiB stack, so that deep
/// recursion (functions calling functions) goes on there instead of failing or running into the
/// guard page. `None` if no thread could be started (the kernel's 64 per process).
pub fn on_fresh_stack<R: Send>(f: impl FnOnce() -> R + Send) -> Option<R> {
    let mut slot: Option<R> = None;
    let out = &mut slot as *mut Option<R> as usize;
    let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
        let r = f();
        // Safety: `slot` outlives the thread: we join it before returning (below).
        unsafe { *(out as *mut Option<R>) = Some(r) };
    });
    // Safety: the thread is joined before this function returns, so everything `f` borrows
    // lives at least as long as the thread (the reasoning of std's scoped threads).
    let job: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(job) };
    let handle = std::thread::Builder::new()
        .name("deeper".into())
        .spawn(job)
        .ok()?;
    if handle.join().is_err() {
        panic!("the shell's deeper thread panicked");
    }
    slot
}

use std::io::Write;

/// `sh [-c COMMANDS [NAME [ARGS...]] | FILE [ARGS...]]`; with neither, commands from stdin
/// (the prompt goes to stderr, as POSIX says).
pub fn main() {
    // A pipeline takes a thread per stage and two per pipe, and the coreutils run on threads
    // (applet.rs): keep that many for the next command line instead of ending them (a thread's
    // end gives frames back to the kernel, and its stack slot is never reused).
    std::thread::set_idle_limit(12);
    // A builtin writing into a pipe nobody reads (`echo hi | true`) runs in this process: the
    // shell reports it as the builtin's status (or ends the subshell, see `interp`) rather than
    // die of it.
    std::rt::set_broken_pipe(std::rt::BrokenPipe::Error);
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--help") {
        print!("{}", help::SH);
        let _ = std::io::stdout().flush();
        std::process::exit(0);
    }
    let mut sh = interp::Shell::new();
    let mut io = interp::Streams::inherit();
    let (mode, i) = match options(&mut sh, &args) {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("sh: {msg}");
            std::process::exit(2);
        }
    };
    // A script or `-c` text run on a terminal (`eurali -c CMDS` at a prompt) takes Ctrl-C as
    // dash does: the command running ends, and so does the script, with status 130. (An
    // interactive shell subscribes in `interactive`.)
    let scripted = mode == 'c' || (mode != 's' && args.get(i).is_some());
    let interrupts = if scripted && std::term::stdin_terminal().is_some() {
        start_interrupt_thread(&sh)
    } else {
        None
    };
    let given = run_given(&mut sh, mode, i, &args, &mut io);
    if let Some(ints) = interrupts {
        ints.wake();
    }
    let code = match given {
        Some(code) => code,
        None => {
            if mode == 's' {
                sh.set_positional(args[i..].to_vec());
            }
            repl(&mut sh, &mut io)
        }
    };
    if sh.interactive {
        sh.hang_up_jobs();
    } else {
        sh.finish_jobs();
    }
    let code = sh.run_exit_trap(code, &mut io);
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// Runs what `sh ARGS` names once its options are read (`mode` and the index `i` of the first
/// operand, see [`options`]): the `-c` text or a script file; `None` when neither, the commands
/// then come from stdin. Errors go to `io`'s stderr, with dash's statuses.
fn run_given(
    sh: &mut interp::Shell,
    mode: char,
    i: usize,
    args: &[String],
    io: &mut interp::Streams,
) -> Option<i32> {
    if mode == 'c' {
        let Some(src) = args.get(i) else {
            let _ = writeln!(io.stderr, "sh: -c requires an argument");
            return Some(2);
        };
        if let Some(n) = args.get(i + 1) {
            sh.name = n.clone();
        }
        sh.set_positional(args.iter().skip(i + 2).cloned().collect());
        return Some(sh.run_script(src, io).0);
    }
    let file = args.get(i).filter(|_| mode != 's')?;
    let src = match interp::read_script(&sh.path(file)) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.stderr, "sh: {file}: {}", std::io::describe(&e));
            return Some(127);
        }
    };
    sh.name = file.to_string();
    sh.set_positional(args.iter().skip(i + 1).cloned().collect());
    sh.verbose(&src, io);
    Some(sh.run_script(&src, io).0)
}

/// `sh -c …` or `sh FILE …` run by a shell: a new shell (the command's environment, directory
/// and streams; nothing of the caller's state) on a thread of the caller, as its tools run
/// (applet.rs): on the real kernel a process costs frames at its end, and exec copies the
/// shell's whole ELF through the kernel's heap, which has not room for two while one runs.
/// `Err(Some)` gives the streams back when the command is to be a process (`sh` reading its
/// commands from stdin, a terminal maybe); `Err(None)`: no thread could be started.
pub(crate) fn embedded(
    argv: &[String],
    env: &[(String, String)],
    cwd: &str,
    job: std::sync::Arc<jobs::JobCtl>,
    mut io: interp::Streams,
) -> Result<applet::Running, Option<interp::Streams>> {
    if argv.get(1).is_some_and(|a| a == "--help") {
        return applet::Running::start("sh", move || {
            let _ = io.stdout.write_all(help::SH.as_bytes());
            match io.stdout.flush() {
                Ok(()) => 0,
                Err(_) => 1,
            }
        })
        .map_err(|_| None);
    }
    let mut sh = interp::Shell::with_env(env, cwd);
    sh.job = job;
    let (mode, i) = match options(&mut sh, argv) {
        Ok((mode, i)) if mode == 'c' || (mode == ' ' && argv.len() > i) => (mode, i),
        Ok(_) => return Err(Some(io)),
        Err(msg) => (' ', {
            let _ = writeln!(io.stderr, "sh: {msg}");
            usize::MAX
        }),
    };
    let args = argv.to_vec();
    applet::Running::start("sh", move || {
        if i == usize::MAX {
            return 2;
        }
        let code = run_given(&mut sh, mode, i, &args, &mut io).unwrap_or(0);
        sh.finish_jobs();
        let code = sh.run_exit_trap(code, &mut io);
        let _ = io.stdout.flush();
        code
    })
    .map_err(|_| None)
}

/// The shell's variables and special parameters, for [`prompt`].
fn prompt_var(sh: &interp::Shell, name: &str) -> Option<String> {
    match name {
        "?" => Some(sh.status.to_string()),
        "$" => Some(std::process::id().max(1).to_string()),
        "0" => Some(sh.name.clone()),
        // The shell's own directory (a subshell's `cd` or a plain `PWD=` assignment aside).
        "PWD" => Some(sh.cwd().to_string()),
        _ => sh.var(name).map(str::to_string),
    }
}

/// `sh`'s options (`-c`, `-s`, `-e`, `+x`, `-o errexit`, `-i`, `--`): `'c'` (commands from the
/// first argument), `'s'` (from stdin, the arguments are the parameters) or `' '` (a script
/// file if an argument names one, else stdin), and the index of the first argument after them.
fn options(sh: &mut interp::Shell, args: &[String]) -> Result<(char, usize), String> {
    let mut i = 1;
    let mut mode = ' ';
    while let Some(a) = args.get(i) {
        let on = a.starts_with('-');
        if !(on || a.starts_with('+')) || a.len() < 2 {
            if a == "-" {
                i += 1;
            }
            break;
        }
        i += 1;
        if a == "--" {
            break;
        }
        for c in a[1..].chars() {
            match c {
                'c' | 's' if on => mode = c,
                'c' | 's' => {}
                // Interactive: as the terminal has it.
                'i' => {}
                'o' => {
                    let Some(name) = args.get(i) else {
                        return Err(format!("{a}: option requires an argument"));
                    };
                    i += 1;
                    if !sh.set_named_option(name, on) {
                        return Err(format!("Illegal option -o {name}"));
                    }
                }
                _ if sh.set_option(c, on) => {}
                _ => return Err(format!("Illegal option -{c}")),
            }
        }
    }
    Ok((mode, i))
}

/// The prompt before a command: `$PS1` or the default (see [`prompt`]).
fn prompt(sh: &interp::Shell) -> String {
    prompt::primary(&|n: &str| prompt_var(sh, n))
}

/// The prompt before a further line of a command: `$PS2`.
fn continuation_prompt(sh: &interp::Shell) -> String {
    prompt::continuation(&|n: &str| prompt_var(sh, n))
}

/// Where the history is kept for this user.
fn history_path(sh: &interp::Shell) -> Option<String> {
    let home = sh.var("HOME")?;
    Some(format!("{}/.sh_history", home.trim_end_matches('/')))
}

/// The history file's lines, the last [`line::HISTORY_MAX`] (the file is rewritten with just
/// those when it has more, so it stays about that long).
fn load_history(path: &str) -> Vec<String> {
    // Any bytes: a line typed with a byte that is not UTF-8 is kept as that byte.
    let Ok(text) = std::fs::read(path).map(|b| std::ffi::text_from_bytes(&b)) else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut lines = 0;
    for l in text.lines() {
        lines += 1;
        line::push_history(&mut kept, l);
    }
    if lines > line::HISTORY_MAX {
        let mut text = kept.join("\n");
        text.push('\n');
        let _ = std::fs::write(path, std::ffi::bytes_from_text(&text));
    }
    kept
}

/// Adds a command to the history and, when it is not a repeat of the last, to the history file.
fn remember(sh: &mut interp::Shell, file: Option<&str>, src: &str) {
    let entry = history_entry(src);
    if line::push_history(std::sync::Arc::make_mut(&mut sh.history), &entry)
        && let Some(p) = file
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
    {
        let _ = writeln!(f, "{entry}");
    }
}

/// A command of several lines as one line for the history (as bash's `cmdhist` keeps it), so
/// that Up brings it back whole and the history file keeps it as one: the lines joined with
/// `; `, or a space after a word that continues the command (`do`, `then`, `{`, `|`, `&&`…).
/// Kept as typed when joining could change it: a here-document, a comment, a line continued
/// with `\` or ending inside quotes, or a result that does not parse.
fn history_entry(src: &str) -> String {
    let text = src.trim_end();
    if !text.contains('\n') || text.contains("<<") || text.contains('#') {
        return text.to_string();
    }
    const GOES_ON: &[&str] = &["do", "then", "else", "{", "|", "&&", "||", "(", ";", "!"];
    let mut out = String::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if l.ends_with('\\') || complete::in_quotes(&out) {
            return text.to_string();
        }
        if !out.is_empty() {
            let last = out.rsplit([' ', '\t']).next().unwrap_or("");
            let goes_on = GOES_ON
                .iter()
                .any(|w| last == *w || (!w.starts_with(char::is_alphabetic) && last.ends_with(w)));
            out.push_str(if goes_on { " " } else { "; " });
        }
        out.push_str(l);
    }
    if complete::in_quotes(&out) || parse::parse(&out).is_err() {
        return text.to_string();
    }
    out
}

/// What completion sees of the shell.
struct ShellWorld<'a>(&'a interp::Shell);

impl complete::World for ShellWorld<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.0.var(name).map(str::to_string)
    }

    fn var_names(&self) -> Vec<String> {
        self.0.var_names()
    }

    fn commands(&self, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = interp::BUILTINS
            .iter()
            .filter(|b| b.starts_with(prefix))
            .map(|b| b.to_string())
            .collect();
        out.extend(
            self.0
                .function_names()
                .into_iter()
                .filter(|f| f.starts_with(prefix)),
        );
        for dir in self.0.var("PATH").unwrap_or("/bin").split(':') {
            if let Ok(rd) = std::fs::read_dir(self.0.path(if dir.is_empty() { "." } else { dir })) {
                out.extend(
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.starts_with(prefix)),
                );
            }
        }
        out
    }

    fn read_dir(&self, dir: &str) -> Option<Vec<(String, bool)>> {
        let rd = std::fs::read_dir(self.0.path(dir)).ok()?;
        Some(
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let is_dir = e.metadata().map(|m| m.is_dir()).unwrap_or(false);
                    (e.file_name().to_string_lossy().into_owned(), is_dir)
                })
                .collect(),
        )
    }

    /// From `/etc/users` where the namespace has it, else the directories in `/home`.
    fn users(&self) -> Vec<(String, String)> {
        if let Ok(text) = std::fs::read_to_string("/etc/users") {
            return text
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    Some((f.first()?.to_string(), f.get(3)?.to_string()))
                })
                .collect();
        }
        std::fs::read_dir("/home")
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        let home = format!("/home/{n}");
                        (n, home)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The interactive loop on a terminal: raw mode and the line editor while reading a line,
/// cooked mode while commands run; history kept in `$HOME/.sh_history`.
fn interactive(sh: &mut interp::Shell, io: &mut interp::Streams) -> i32 {
    sh.interactive = true;
    let interrupts = start_interrupt_thread(sh);
    let code = interactive_loop(sh, io);
    if let Some(i) = interrupts {
        i.wake();
    }
    code
}

/// Subscribes to the terminal's Ctrl-C and starts the thread that interrupts the foreground
/// job with it (see [`jobs`]); `None` if the terminal does not offer interrupts.
fn start_interrupt_thread(sh: &interp::Shell) -> Option<std::sync::Arc<std::term::Interrupts>> {
    let ints = std::sync::Arc::new(std::term::Interrupts::subscribe().ok()?);
    let waiter = ints.clone();
    let fg = sh.foreground.clone();
    std::thread::Builder::new()
        .name("interrupts".into())
        .spawn(move || {
            while waiter.wait() {
                let job = fg.lock().unwrap_or_else(|e| e.into_inner()).clone();
                job.signal(std::process::SIGINT);
            }
        })
        .ok()?;
    Some(ints)
}

fn interactive_loop(sh: &mut interp::Shell, io: &mut interp::Streams) -> i32 {
    use std::io::Read;
    let mut ed = line::Editor::new();
    let hist = history_path(sh);
    // One history: the editor's while a line is read, the shell's (`history`) while it runs.
    sh.history = std::sync::Arc::new(hist.as_deref().map(load_history).unwrap_or_default());
    let mut dec = line::KeyDecoder::default();
    let mut queued: std::collections::VecDeque<line::Key> = std::collections::VecDeque::new();
    let mut pending = String::new();
    let mut buf = [0u8; 256];
    loop {
        if pending.is_empty() {
            sh.notify_jobs();
        }
        let _ = std::term::set_stdin_raw(true);
        // The width now (a terminal may have been resized since the last line).
        ed.set_width(std::term::stdin_terminal().map(|t| t.cols as usize));
        ed.set_history(std::mem::take(std::sync::Arc::make_mut(&mut sh.history)));
        if pending.is_empty() {
            ed.fresh_line();
        }
        ed.start(&if pending.is_empty() {
            prompt(sh)
        } else {
            continuation_prompt(sh)
        });
        let line = 'read: loop {
            // Keys typed ahead (a paste, a fast typist) stay queued for the next line.
            while let Some(k) = queued.pop_front() {
                let world = ShellWorld(sh);
                match ed.key(k, &mut |l: &str, c: usize| complete::complete(&world, l, c)) {
                    line::Event::Continue => {}
                    line::Event::Line(l) => break 'read Some(l),
                    line::Event::Interrupted => {
                        pending.clear();
                        show(&mut ed);
                        ed.start(&prompt(sh));
                    }
                    line::Event::Eof => break 'read None,
                }
            }
            show(&mut ed);
            let _ = std::io::stdout().flush();
            match std::io::stdin().read(&mut buf) {
                Ok(0) | Err(_) => break 'read None,
                Ok(n) => queued.extend(dec.feed(&buf[..n])),
            }
        };
        show(&mut ed);
        let _ = std::io::stdout().flush();
        let _ = std::term::set_stdin_raw(false);
        sh.history = std::sync::Arc::new(ed.take_history());
        let Some(line) = line else { return sh.status };
        pending.push_str(&line);
        pending.push('\n');
        if matches!(parse::parse(&pending), Err(e) if e.is_incomplete()) {
            continue;
        }
        let src = std::mem::take(&mut pending);
        remember(sh, hist.as_deref(), &src);
        let (code, exited) = sh.run_script(&src, io);
        sh.job.reset();
        if exited {
            return code;
        }
    }
}

/// Writes what the line editor drew: bytes that are not UTF-8 typed into the line are shown as
/// those bytes (`std::ffi::bytes_from_text`).
fn show(ed: &mut line::Editor) {
    let _ = std::io::stdout().write_all(&std::ffi::bytes_from_text(&ed.take_output()));
}

/// Reads commands line by line until the end of input or `exit`.
fn repl(sh: &mut interp::Shell, io: &mut interp::Streams) -> i32 {
    if std::term::stdin_terminal().is_some() {
        return interactive(sh, io);
    }
    // Read exactly one line at a time: what follows belongs to the programs the commands run
    // (`printf 'passwd\nold\nnew\n' | sh` must leave the passwords for passwd).
    let stdin = std::io::stdin();
    let mut pending = String::new();
    // The input's line where `pending` starts.
    let mut line_no = 1;
    loop {
        eprint!(
            "{}",
            if pending.is_empty() {
                prompt(sh)
            } else {
                continuation_prompt(sh)
            }
        );
        let mut line = String::new();
        match stdin.read_line_unbuffered(&mut line) {
            Ok(0) | Err(_) => {
                if !pending.is_empty() {
                    // An unfinished construct is a syntax error; a here-document ends here.
                    let (code, _) = sh.run_script_at(&pending, line_no, io);
                    return code;
                }
                return sh.status;
            }
            Ok(_) => {}
        }
        pending.push_str(&line);
        match parse::parse(&pending) {
            Err(e) if e.is_incomplete() => continue,
            _ => {}
        }
        let src = std::mem::take(&mut pending);
        let trimmed = src.trim_end_matches('\n');
        if !trimmed.trim().is_empty() {
            std::sync::Arc::make_mut(&mut sh.history).push(trimmed.to_string());
        }
        sh.verbose(&src, io);
        let (code, exited) = sh.run_script_at(&src, line_no, io);
        line_no += src.matches('\n').count();
        if exited {
            return code;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::history_entry;

    #[test]
    fn commands_of_several_lines_are_one_history_entry() {
        let one = |src: &str| history_entry(src);
        assert_eq!(one("echo hi\n"), "echo hi");
        assert_eq!(
            one("for i in 1 2; do\necho $i\ndone\n"),
            "for i in 1 2; do echo $i; done"
        );
        assert_eq!(
            one("if true\nthen\n  echo a\nfi\n"),
            "if true; then echo a; fi"
        );
        assert_eq!(one("f() {\necho x\n}\n"), "f() { echo x; }");
        assert_eq!(one("ls |\nwc -l &&\necho ok\n"), "ls | wc -l && echo ok");
        assert_eq!(one("echo undo\necho b\n"), "echo undo; echo b");
        // Kept as typed.
        for src in [
            "echo 'a\nb'\n",
            "cat <<E\nx\nE\n",
            "echo a \\\nb\n",
            "echo a # c\necho b\n",
        ] {
            assert_eq!(one(src), src.trim_end());
        }
    }
}
