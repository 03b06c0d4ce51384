//! Booting a userland on the in-process stub: what `cargo run` does.
//!
//! [`run`] makes a kernel, registers the programs, and plays the part that init and the drivers
//! play on a real machine for one program: a `boot` process serves the console (host stdin,
//! stdout, stderr), the debug log (`/dev/log`, [`crate::devices::debuglog`]) and the wall clock
//! (`/dev/rtc`, [`crate::devices::rtc`]) and execs the program in a new namespace holding only
//! its status, stderr, `/dev/log` and `/dev/rtc` mounts (see
//! `eurali_std::rt`). It returns the program's exit status, or 125 if the program's
//! process ended without one (it was ended by a fault) — after shutting the system down.

use std::io::Write;
use std::time::Duration;

use libeurali::params::ExecParams;
use libeurali::{Handle, Message, msgtype, new_rendezvous, receive};

use crate::devices::{console, debuglog, rtc};
use kernel_stub::{Kernel, ProgramEntry};

/// Where the child's status and stderr handles are mounted (must match `eurali_std::rt`).
const STATUS_PATH: &str = "/.eurali/status";
const STDERR_PATH: &str = "/.eurali/stderr";
/// Where the debug log device is mounted for the program.
pub const LOG_PATH: &str = "/dev/log";
/// Where the wall clock is mounted for the program.
pub const RTC_PATH: &str = libeurali::proto::rtc::PATH;
/// Where the network interface is mounted for the program, when `EURALI_NIC` names one.
pub const NIC_PATH: &str = "/dev/nic";
/// The host environment variable naming the TAP interface for `/dev/nic`: `NAME` or
/// `NAME@NETNS` (see [`crate::devices::tap`]). Unset: no `/dev/nic`.
pub const NIC_ENV: &str = "EURALI_NIC";
/// The host environment variable whose value init passes to the `tcp` server as its arguments
/// (for example `--static 10.7.0.2/24 --gateway 10.7.0.1`); unset: DHCP. Given to init as the
/// environment variable `NET_CONFIG`.
pub const NET_ENV: &str = "EURALI_NET";

/// The TAP device `EURALI_NIC` asks for, served on a new rendezvous; `Ok(None)` when unset.
fn nic_device() -> Result<Option<Handle>, String> {
    let Ok(spec) = std::env::var(NIC_ENV) else {
        return Ok(None);
    };
    let tap = crate::devices::tap::Tap::open(&spec)
        .map_err(|e| format!("cannot make /dev/nic from {NIC_ENV}={spec}: {e}"))?;
    let (srv, cli) = new_rendezvous().map_err(|e| format!("rendezvous: {e}"))?;
    spawn_stub_thread(move || crate::devices::tap::serve(&srv, tap))
        .map_err(|e| format!("nic thread: {e}"))?;
    Ok(Some(cli))
}

/// Where the disk is mounted for the program, when `EURALI_DISK` names an image.
pub const DISK_PATH: &str = libeurali::proto::block::PATH;

/// The disk image `EURALI_DISK` names (created if missing), served on a new rendezvous;
/// `Ok(None)` when unset.
fn disk_device() -> Result<Option<Handle>, String> {
    let Some((_, disk)) = crate::devices::disk::ImageDisk::from_env()? else {
        return Ok(None);
    };
    let (srv, cli) = new_rendezvous().map_err(|e| format!("rendezvous: {e}"))?;
    spawn_stub_thread(move || crate::devices::disk::serve(&srv, disk))
        .map_err(|e| format!("disk thread: {e}"))?;
    Ok(Some(cli))
}

/// Status reported when the program's process vanished without reporting one.
pub const NO_STATUS: i32 = 125;

/// Runs a closure on a new stub thread of the current process.
pub fn spawn_stub_thread(f: impl FnOnce() + Send + 'static) -> Result<u64, libeurali::Error> {
    libeurali::spawn_fn(f)
}

/// The host side of the console: where the program's stdin comes from and its output goes.
pub struct Console {
    pub stdin: Box<dyn std::io::Read + Send>,
    pub stdout: Box<dyn std::io::Write + Send>,
    pub stderr: Box<dyn std::io::Write + Send>,
}

impl Console {
    /// The host process's own stdin, stdout and stderr.
    pub fn terminal() -> Console {
        Console {
            stdin: Box::new(crate::devices::terminal::HostStdin),
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
        }
    }
}

/// Boots `programs` on a fresh stub and runs `init` with `args` on the host terminal. Returns the
/// exit status.
pub fn run(programs: &[(&str, ProgramEntry)], init: &str, args: &[String]) -> i32 {
    let kernel = kernel_with(programs);
    let image = Kernel::program_image(init);
    boot(
        &kernel,
        init,
        image,
        args,
        Console::terminal(),
        stdin_is_terminal(),
        &[],
    )
}

/// A fresh kernel with `programs` registered.
fn kernel_with(programs: &[(&str, ProgramEntry)]) -> Kernel {
    let kernel = Kernel::new();
    for (name, entry) in programs {
        kernel.register_program(name, *entry);
    }
    kernel
}

/// The one boot sequence: (at a terminal, raw mode on the host and the console's line
/// discipline), a `boot` process that serves the console and execs `init`, then shutdown; the
/// exit status, or [`NO_STATUS`] after reporting a halt.
fn boot(
    kernel: &Kernel,
    init: &str,
    image: Vec<u8>,
    args: &[String],
    console: Console,
    terminal: bool,
    boot_files: &[(String, Vec<u8>)],
) -> i32 {
    let raw = terminal.then(crate::devices::terminal::RawMode::enable);
    let code = kernel.run_as_process("boot", || {
        start_and_wait(kernel, init, image, args, console, terminal, boot_files)
    });
    kernel.shutdown();
    drop(raw);
    if let Some(f) = kernel.take_fault() {
        eprintln!("eurali: the system halted: {f}");
        return NO_STATUS;
    }
    code
}

/// Whether the host's stdin is a terminal.
pub fn stdin_is_terminal() -> bool {
    // Safety: isatty on fd 0 reads nothing of ours.
    unsafe { libc::isatty(0) == 1 }
}

/// As [`run`], with the console bound to `console` (never a terminal).
pub fn run_on(
    programs: &[(&str, ProgramEntry)],
    init: &str,
    args: &[String],
    console: Console,
) -> i32 {
    run_with(&kernel_with(programs), init, args, console)
}

/// As [`run_on`], on a kernel the caller made (and registered the programs in), so that it can
/// look at the kernel afterwards (its debug log, say). Shuts the kernel down.
pub fn run_with(kernel: &Kernel, init: &str, args: &[String], console: Console) -> i32 {
    boot(
        kernel,
        init,
        Kernel::program_image(init),
        args,
        console,
        false,
        &[],
    )
}

/// As [`run_on`], with the console acting as a terminal (its line discipline, raw mode on
/// `TERM_SET`, `TERM_INFO` with the host's size or 24x80) although `console` is no terminal and
/// the host's own terminal is left alone: for driving full-screen programs from a script or a
/// benchmark.
pub fn run_on_terminal(
    programs: &[(&str, ProgramEntry)],
    init: &str,
    args: &[String],
    console: Console,
) -> i32 {
    let kernel = kernel_with(programs);
    let image = Kernel::program_image(init);
    let code = kernel.run_as_process("boot", || {
        start_and_wait(&kernel, init, image, args, console, true, &[])
    });
    kernel.shutdown();
    if let Some(f) = kernel.take_fault() {
        eprintln!("eurali: the system halted: {f}");
        return NO_STATUS;
    }
    code
}

/// Hosted mode: boots the freestanding ELF `bin_dir/init` (from `cargo xtask build`) in a guest
/// process started with `loader` (`eurali-guest`), with the same console and exit status as
/// [`run_on`].
pub fn run_hosted(
    loader: &std::path::Path,
    bin_dir: &std::path::Path,
    init: &str,
    args: &[String],
    console: Console,
) -> i32 {
    let image = match std::fs::read(bin_dir.join(init)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("eurali: cannot read {}: {e}", bin_dir.join(init).display());
            return NO_STATUS;
        }
    };
    let kernel = Kernel::new();
    kernel.set_guest_loader(loader.to_path_buf());
    boot(
        &kernel,
        init,
        image,
        args,
        console,
        stdin_is_terminal(),
        &[],
    )
}

fn start_and_wait(
    kernel: &Kernel,
    init: &str,
    image: Vec<u8>,
    args: &[String],
    console: Console,
    terminal: bool,
    boot_files: &[(String, Vec<u8>)],
) -> i32 {
    let Console {
        stdin,
        stdout,
        stderr,
    } = console;
    let devices = nic_device().and_then(|n| Ok((n, disk_device()?)));
    let (nic, disk) = match devices {
        Ok(d) => d,
        Err(e) => {
            let mut stderr = stderr;
            let _ = writeln!(stderr, "eurali: {e}");
            let _ = stderr.flush();
            return NO_STATUS;
        }
    };
    let net_config = std::env::var(NET_ENV).ok();
    let mut argv = vec![init.to_string()];
    argv.extend(args.iter().cloned());
    let mut env = vec![("PWD", "/"), ("HOME", "/")];
    if let Some(c) = &net_config {
        env.push(("NET_CONFIG", c.as_str()));
    }
    // The userland's knobs for comparing with its naive self (docs/design.md, "Frames").
    let mut knobs: Vec<(String, String)> = ["EURALI_NOPOOL", "EURALI_NOFORK"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    knobs.extend(kernel.boot_env());
    for (k, v) in &knobs {
        env.push((k.as_str(), v.as_str()));
    }
    let args_len: usize = argv.iter().map(|a| a.len() + 1).sum();
    let env_len: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    if args_len + env_len > libeurali::abi::layout::ARGS_ENV_LIMIT {
        // The real kernel would copy them past the new thread's stack page and halt (ABI §4.2).
        let mut stderr = stderr;
        let _ = writeln!(
            stderr,
            "eurali: the arguments for {init} are too long: {} bytes with the environment, \
             where exec takes at most {} (one page)",
            args_len + env_len,
            libeurali::abi::layout::ARGS_ENV_LIMIT
        );
        let _ = stderr.flush();
        return NO_STATUS;
    }
    let started = (|| -> Result<Handle, libeurali::Error> {
        let (out_srv, out_cli) = new_rendezvous()?;
        let (err_srv, err_cli) = new_rendezvous()?;
        let (in_srv, in_cli) = new_rendezvous()?;
        let (status, status_child) = new_rendezvous()?;
        let (log_srv, log_cli) = new_rendezvous()?;
        let log = kernel.debug_log_device();
        spawn_stub_thread(move || debuglog::serve(&log_srv, log))?;
        let (rtc_srv, rtc_cli) = new_rendezvous()?;
        spawn_stub_thread(move || rtc::serve(&rtc_srv))?;
        if terminal {
            let out = console::SharedSink::new(stdout);
            let echo = out.clone();
            spawn_stub_thread(move || console::serve_output(&out_srv, out))?;
            // Booting init, Ctrl-C with no shell listening (at `login:`) must not end the
            // system; a program started alone has no other way to stop.
            let orphan_stops = init != "init";
            spawn_stub_thread(move || {
                console::serve_terminal_input(&in_srv, stdin, echo, orphan_stops)
            })?;
        } else {
            spawn_stub_thread(move || console::serve_output(&out_srv, stdout))?;
            spawn_stub_thread(move || console::serve_input(&in_srv, stdin))?;
        }
        spawn_stub_thread(move || console::serve_output(&err_srv, stderr))?;
        let boot_mount = if boot_files.is_empty() {
            None
        } else {
            Some(boot_fs(boot_files)?)
        };
        let params = ExecParams::new()
            .new_namespace()
            .mount(status_child.raw(), STATUS_PATH)?
            .mount(err_cli.raw(), STDERR_PATH)?
            .mount(log_cli.raw(), LOG_PATH)?
            .mount(rtc_cli.raw(), RTC_PATH)?;
        let params = match &boot_mount {
            Some(h) => params.mount(h.raw(), BOOT_PATH)?,
            None => params,
        };
        let params = match &nic {
            Some(h) => params.mount(h.raw(), NIC_PATH)?,
            None => params,
        };
        let params = match &disk {
            Some(h) => params.mount(h.raw(), DISK_PATH)?,
            None => params,
        };
        let params = params.args(&argv)?.env(&env)?.finish()?;
        // The kernel moved these by number out of our table through the parameter string.
        status_child.into_raw();
        err_cli.into_raw();
        log_cli.into_raw();
        rtc_cli.into_raw();
        if let Some(h) = boot_mount {
            h.into_raw();
        }
        if let Some(h) = nic {
            h.into_raw();
        }
        if let Some(h) = disk {
            h.into_raw();
        }
        libeurali::exec(&image, in_cli, out_cli, &params, false)?;
        Ok(status)
    })();
    let status = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eurali: cannot start {init}: {e}");
            return NO_STATUS;
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = spawn_stub_thread(move || {
        let code = match receive(&status) {
            Ok(Message::Short(msgtype::EXIT_STATUS, code, _)) => code as u32 as i32,
            // With a chunk the program kept (std-shim's exit): the status is the low word.
            Ok(Message::Long(msgtype::EXIT_STATUS, libeurali::Word::Value(v), _)) => {
                v as u32 as i32
            }
            _ => NO_STATUS,
        };
        let _ = tx.send(code);
    });
    if waiter.is_err() {
        return NO_STATUS;
    }
    // The program's process is gone when only ours is left; its status may still be in flight.
    loop {
        // Checked 10 times a second: an idle system's supervisor should not wake more often.
        if let Ok(code) = rx.recv_timeout(Duration::from_millis(100)) {
            return code;
        }
        if kernel.halted().is_some() {
            return NO_STATUS;
        }
        if kernel.process_count() <= 1 {
            return rx
                .recv_timeout(Duration::from_millis(100))
                .unwrap_or(NO_STATUS);
        }
    }
}

/// Where the boot loader mounts the programs for init.
pub const BOOT_PATH: &str = "/boot";

/// A ramdisk holding `files`, served by a thread of the boot process; returns a handle to it.
fn boot_fs(files: &[(String, Vec<u8>)]) -> Result<Handle, libeurali::Error> {
    let (m, c) = new_rendezvous()?;
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(256 << 20)).spawn(m)?;
    let spare = c.try_clone()?;
    libeurali::mount(BOOT_PATH, c).map_err(|(e, _)| e)?;
    for (name, bytes) in files {
        vfs::image::write_file(&format!("{BOOT_PATH}/{name}"), bytes)
            .map_err(|_| libeurali::Error::Memory)?;
    }
    libeurali::umount(BOOT_PATH)?;
    Ok(spare)
}

/// Boots the whole system on the in-process stub: `init ARGS` with every program in /boot
/// (`cargo run`). The console is the host terminal (raw, with the console's line discipline, when
/// stdin is one).
///
/// `boot_extra` are files for /boot besides the programs (init's `--script` file, say).
pub fn run_system(
    programs: &[(&str, ProgramEntry)],
    init_args: &[String],
    boot_extra: Vec<(String, Vec<u8>)>,
) -> i32 {
    let mut files: Vec<(String, Vec<u8>)> = programs
        .iter()
        .map(|(n, _)| (n.to_string(), Kernel::program_image(n)))
        .collect();
    files.extend(boot_extra);
    let kernel = kernel_with(programs);
    let image = Kernel::program_image("init");
    boot(
        &kernel,
        "init",
        image,
        init_args,
        Console::terminal(),
        stdin_is_terminal(),
        &files,
    )
}

/// [`run_system`] on a kernel the caller made (with the programs registered) and `console`
/// (acting as a terminal if `terminal`: the console's line discipline and raw mode, without
/// touching the host's terminal): for tests and benchmarks that watch the kernel while they type
/// (its frame counts, say). Shuts the kernel down at the end.
pub fn run_system_with(
    kernel: &Kernel,
    programs: &[&str],
    init_args: &[String],
    console: Console,
    terminal: bool,
) -> i32 {
    let files: Vec<(String, Vec<u8>)> = programs
        .iter()
        .map(|n| (n.to_string(), Kernel::program_image(n)))
        .collect();
    let image = Kernel::program_image("init");
    let code = kernel.run_as_process("boot", || {
        start_and_wait(kernel, "init", image, init_args, console, terminal, &files)
    });
    kernel.shutdown();
    if let Some(f) = kernel.take_fault() {
        eprintln!("eurali: the system halted: {f}");
        return NO_STATUS;
    }
    code
}

/// Hosted mode's [`run_system`]: `init ARGS` from `bin_dir`, with every ELF of `bin_dir` in /boot
/// (the shell's ELF, `shell`, as `sh`), and `boot_extra`.
pub fn run_hosted_system(
    loader: &std::path::Path,
    bin_dir: &std::path::Path,
    init_args: &[String],
    boot_extra: Vec<(String, Vec<u8>)>,
) -> i32 {
    let mut files = boot_extra;
    let entries = match std::fs::read_dir(bin_dir) {
        Ok(rd) => rd,
        Err(e) => {
            eprintln!("eurali: cannot read {}: {e}", bin_dir.display());
            return NO_STATUS;
        }
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        match std::fs::read(e.path()) {
            Ok(bytes) => files.push((name, bytes)),
            Err(err) => eprintln!("eurali: skipping {}: {err}", e.path().display()),
        }
    }
    let Some(image) = files
        .iter()
        .find(|(n, _)| n == "init")
        .map(|(_, b)| b.clone())
    else {
        eprintln!("eurali: no init in {}", bin_dir.display());
        return NO_STATUS;
    };
    let kernel = Kernel::new();
    kernel.set_guest_loader(loader.to_path_buf());
    boot(
        &kernel,
        "init",
        image,
        init_args,
        Console::terminal(),
        stdin_is_terminal(),
        &files,
    )
}

/// Console output kept in memory (a test's view of the console); clones share the bytes.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// What was written, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What [`run_captured`] saw.
#[derive(Debug)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    /// What went to the kernel's debug line (`debug_write`: on the real kernel, over the
    /// screen).
    pub debug: String,
}

/// [`run_on`] with `input` as the console's input and its output captured, for tests: panics
/// (naming `init`) if the system has not ended within `timeout`.
pub fn run_captured(
    programs: &[(&'static str, ProgramEntry)],
    init: &str,
    args: &[String],
    input: &[u8],
    timeout: Duration,
) -> Captured {
    let (init_name, args) = (init.to_string(), args.to_vec());
    captured(programs, input, timeout, init, move |kernel, console| {
        run_with(kernel, &init_name, &args, console)
    })
}

/// [`run_system`] with `input` as the console's input (not a terminal) and its output captured,
/// for system tests that need the whole system (init's /proc, login's /dev, the password
/// service): panics if the system has not ended within `timeout`.
pub fn run_system_captured(
    programs: &[(&'static str, ProgramEntry)],
    init_args: &[String],
    input: &[u8],
    timeout: Duration,
) -> Captured {
    let names: Vec<&'static str> = programs.iter().map(|(n, _)| *n).collect();
    let args = init_args.to_vec();
    captured(
        programs,
        input,
        timeout,
        "the system",
        move |kernel, console| {
            let files: Vec<(String, Vec<u8>)> = names
                .iter()
                .map(|n| (n.to_string(), Kernel::program_image(n)))
                .collect();
            let image = Kernel::program_image("init");
            boot(kernel, "init", image, &args, console, false, &files)
        },
    )
}

/// Runs `start` on a kernel with `programs` registered and a console fed `input` whose output
/// is captured; panics (naming `what`, with the output so far and [`Kernel::dump`]) if it has
/// not returned within `timeout`.
fn captured(
    programs: &[(&'static str, ProgramEntry)],
    input: &[u8],
    timeout: Duration,
    what: &str,
    start: impl FnOnce(&Kernel, Console) -> i32 + Send + 'static,
) -> Captured {
    let (out, err) = (Capture::default(), Capture::default());
    let console = Console {
        stdin: Box::new(std::io::Cursor::new(input.to_vec())),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let kernel = kernel_with(programs);
    let system = kernel.clone();
    std::thread::spawn(move || {
        let _ = tx.send(start(&kernel, console));
    });
    let code = match rx.recv_timeout(timeout) {
        Ok(c) => c,
        Err(_) => panic!(
            "{what} did not finish in {timeout:?}; stdout so far: {:?}\nstderr so far: {:?}\n\
             what each process is doing:\n{}",
            out.text(),
            err.text(),
            system.dump()
        ),
    };
    let debug = system.debug_output();
    drop(system);
    Captured {
        stdout: out.text(),
        stderr: err.text(),
        code,
        debug,
    }
}
