//! `sh`: eurali's shell: [`parse`] reads POSIX sh syntax, [`expand`] and [`pattern`] expand
//! words, [`interp`] runs scripts, [`line`] edits lines interactively, [`test_expr`] is `test`.

pub mod applet;
pub mod arith;
pub mod expand;
pub mod interp;
pub mod jobs;
pub mod jobs_text;
pub mod line;
pub mod names;
pub mod nsbuiltins;
pub mod parse;
pub mod pattern;
pub mod test_expr;

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
    let mut sh = interp::Shell::new();
    let mut io = interp::Streams::inherit();
    let (mode, i) = match options(&mut sh, &args) {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("sh: {msg}");
            std::process::exit(2);
        }
    };
    let code = if mode == 'c' {
        let Some(src) = args.get(i) else {
            eprintln!("sh: -c requires an argument");
            std::process::exit(2);
        };
        if let Some(n) = args.get(i + 1) {
            sh.name = n.clone();
        }
        sh.set_positional(args.iter().skip(i + 2).cloned().collect());
        sh.run_script(src, &mut io).0
    } else if mode == 's' {
        sh.set_positional(args[i..].to_vec());
        repl(&mut sh, &mut io)
    } else if let Some(file) = args.get(i) {
        let src = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("sh: {file}: {}", interp::describe(&e));
                std::process::exit(127);
            }
        };
        sh.name = file.to_string();
        sh.set_positional(args.iter().skip(i + 1).cloned().collect());
        sh.verbose(&src, &mut io);
        sh.run_script(&src, &mut io).0
    } else {
        repl(&mut sh, &mut io)
    };
    let code = sh.run_exit_trap(code, &mut io);
    let _ = std::io::stdout().flush();
    std::process::exit(code);
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

fn prompt(sh: &interp::Shell) -> String {
    let user = sh.var("USER").unwrap_or("root");
    let cwd = sh.var("PWD").unwrap_or("/");
    let home = sh.var("HOME").unwrap_or("");
    let shown = match cwd.strip_prefix(home) {
        Some(rest)
            if !home.is_empty() && home != "/" && (rest.is_empty() || rest.starts_with('/')) =>
        {
            format!("~{rest}")
        }
        _ => cwd.to_string(),
    };
    format!("{user}:{shown}$ ")
}

/// Where the history is kept for this user.
fn history_path(sh: &interp::Shell) -> Option<String> {
    let home = sh.var("HOME")?;
    Some(format!("{}/.sh_history", home.trim_end_matches('/')))
}

/// Completions of the word before the cursor: commands (builtins and /bin) for the first word,
/// paths otherwise. Each candidate replaces the whole word.
fn complete(sh: &interp::Shell, line: &str, cursor: usize) -> Vec<String> {
    let before = &line[..cursor.min(line.len())];
    let start = before.rfind(' ').map_or(0, |i| i + 1);
    let word = &before[start..];
    let first = before[..start].trim().is_empty();
    let mut out: Vec<String> = Vec::new();
    if first && !word.contains('/') {
        out.extend(
            interp::BUILTINS
                .iter()
                .filter(|b| b.starts_with(word))
                .map(|b| b.to_string()),
        );
        for dir in sh.var("PATH").unwrap_or("/bin").split(':') {
            if let Ok(rd) = std::fs::read_dir(dir) {
                out.extend(
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.starts_with(word)),
                );
            }
        }
    } else {
        let (dir, prefix) = match word.rfind('/') {
            Some(i) => (&word[..=i], &word[i + 1..]),
            None => ("", word),
        };
        let list_dir = if dir.is_empty() { "." } else { dir };
        if let Ok(rd) = std::fs::read_dir(list_dir) {
            for e in rd.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(prefix) && (prefix.starts_with('.') || !name.starts_with('.')) {
                    let slash = if e.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                        "/"
                    } else {
                        ""
                    };
                    out.push(format!("{dir}{name}{slash}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
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
    if let Some(text) = hist.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
        for l in text.lines() {
            ed.add_history(l);
        }
    }
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
        ed.start(&if pending.is_empty() {
            prompt(sh)
        } else {
            "> ".to_string()
        });
        let line = 'read: loop {
            // Keys typed ahead (a paste, a fast typist) stay queued for the next line.
            while let Some(k) = queued.pop_front() {
                let snapshot = sh.clone();
                match ed.key(k, &mut |l: &str, c: usize| complete(&snapshot, l, c)) {
                    line::Event::Continue => {}
                    line::Event::Line(l) => break 'read Some(l),
                    line::Event::Interrupted => {
                        pending.clear();
                        print!("{}", ed.take_output());
                        ed.start(&prompt(sh));
                    }
                    line::Event::Eof => break 'read None,
                }
            }
            print!("{}", ed.take_output());
            let _ = std::io::stdout().flush();
            match std::io::stdin().read(&mut buf) {
                Ok(0) | Err(_) => break 'read None,
                Ok(n) => queued.extend(dec.feed(&buf[..n])),
            }
        };
        print!("{}", ed.take_output());
        let _ = std::io::stdout().flush();
        let _ = std::term::set_stdin_raw(false);
        let Some(line) = line else { return sh.status };
        pending.push_str(&line);
        pending.push('\n');
        if matches!(parse::parse(&pending), Err(e) if e.is_incomplete()) {
            continue;
        }
        let src = std::mem::take(&mut pending);
        let entry = src.trim_end().to_string();
        if !entry.trim().is_empty() {
            ed.add_history(&entry);
            sh.history.push(entry.clone());
            if let Some(p) = &hist
                && let Ok(mut f) = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(p)
            {
                let _ = writeln!(f, "{entry}");
            }
        }
        let (code, exited) = sh.run_script(&src, io);
        sh.job.reset();
        if exited {
            return code;
        }
    }
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
    loop {
        eprint!(
            "{}",
            if pending.is_empty() {
                prompt(sh)
            } else {
                "> ".to_string()
            }
        );
        let mut line = String::new();
        match stdin.read_line_unbuffered(&mut line) {
            Ok(0) | Err(_) => {
                if !pending.is_empty() {
                    eprintln!("sh: syntax error: unexpected end of input");
                    return 2;
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
            sh.history.push(trimmed.to_string());
        }
        sh.verbose(&src, io);
        let (code, exited) = sh.run_script(&src, io);
        if exited {
            return code;
        }
    }
}
