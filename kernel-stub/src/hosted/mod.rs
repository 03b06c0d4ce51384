//! Hosted mode: the exact freestanding ELFs of `cargo xtask build`, each Merriwig process in a
//! Linux process of its own, driven by this crate's one kernel.
//!
//! The supervisor is the host process holding the [`crate::Kernel`]. For each hosted Merriwig
//! process it starts `eurali-guest` ([`guest`]), which lays the ELF out as the kernel does and runs
//! it with Syscall User Dispatch: every `syscall` of guest code raises SIGSYS in the guest, whose
//! handler sends the register file over a per-thread socket ([`wire`]). In the supervisor each
//! guest thread has a proxy host thread that runs the call through the very dispatcher and
//! `System` logic in-process threads use (`threads`), then sends back the registers. What
//! differs between the modes sits behind small seams chosen once per process:
//!
//! - reading user memory: `process_vm_readv` on the guest's pid (`System::read_user`);
//! - chunk memory: memfd-backed pages that the guest's agent thread maps at the slot address and
//!   unmaps again on the supervisor's instruction (the [`crate::memory::Mapper`] of
//!   [`GuestProc`]); a chunk moves between processes as its memfd;
//! - starting a thread: fork_thread's reply tells the guest to `clone` a real thread on a free
//!   stack slot, attached to a new channel served by a new proxy;
//! - ending a process: SIGKILL once its last thread is gone; a guest fault is reported by the
//!   guest's fault handler and halts the stub system as it would halt the real machine.

pub mod guest;
pub mod sys;
pub mod wire;

use crate::memory::Mapper;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use wire::*;

/// A connected SOCK_SEQPACKET pair (close-on-exec).
pub fn socket_pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // Safety: `fds` is a two-element array as socketpair requires.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Safety: two fresh descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A new memfd of `len` bytes.
pub fn memfd(name: &std::ffi::CStr, len: u64) -> std::io::Result<OwnedFd> {
    // Safety: a plain call with a valid C string.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Safety: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Safety: resizing our own memfd.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), len as i64) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// Writes all of `bytes` at `off` of `fd`.
pub fn pwrite_all(fd: RawFd, mut bytes: &[u8], mut off: u64) -> bool {
    while !bytes.is_empty() {
        // Safety: writes from a live slice.
        let n = unsafe { libc::pwrite(fd, bytes.as_ptr().cast(), bytes.len(), off as i64) };
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
        off += n as u64;
    }
    true
}

/// TSC ticks per PIT tick, measured once.
fn tsc_per_pit() -> u64 {
    static RATE: OnceLock<u64> = OnceLock::new();
    *RATE.get_or_init(|| {
        // Safety: rdtsc has no preconditions.
        let t0 = unsafe { core::arch::x86_64::_rdtsc() };
        let start = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        // Safety: as above.
        let t1 = unsafe { core::arch::x86_64::_rdtsc() };
        let ns = start.elapsed().as_nanos().max(1);
        // PIT: 3 579 545 / 3 Hz.
        let per_sec = (t1 - t0) as u128 * 1_000_000_000 / ns;
        ((per_sec * 3 / 3_579_545) as u64).max(1)
    })
}

/// Where `eurali-guest` is: `$EURALI_GUEST`, else next to the running executable or one
/// directory up (test binaries live in `target/*/deps`).
pub fn guest_loader() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EURALI_GUEST") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir, dir.parent()?]
        .iter()
        .map(|d| d.join("eurali-guest"))
        .find(|p| p.is_file())
}

/// What launching a guest needs, until it is launched.
#[derive(Debug)]
struct Launch {
    agent_end: OwnedFd,
    chan_end: OwnedFd,
    boot: OwnedFd,
}

/// One hosted Merriwig process: the guest Linux process and its agent channel.
#[derive(Debug)]
pub struct GuestProc {
    pub name: String,
    loader: PathBuf,
    pid: AtomicI32,
    agent: Mutex<OwnedFd>,
    launch: Mutex<Option<Launch>>,
    /// Set once the supervisor ends the process (so that its channels' EOF is expected).
    ending: AtomicBool,
}

impl GuestProc {
    /// Prepares a guest for `elf` (already checked) with the given args/env block bytes. Returns
    /// the process and the supervisor's end of its first thread's channel.
    pub fn new(
        loader: &Path,
        name: &str,
        elf: &[u8],
        args: &[u8],
        env: &[u8],
    ) -> std::io::Result<(GuestProc, OwnedFd)> {
        let (agent, agent_end) = socket_pair()?;
        let (chan, chan_end) = socket_pair()?;
        let header = BootHeader {
            magic: BOOT_MAGIC,
            args_len: args.len() as u64,
            env_len: env.len() as u64,
            elf_len: elf.len() as u64,
            tsc_per_pit: tsc_per_pit(),
            boot_tsc: boot_tsc(),
            iopl: 0,
        };
        let hb = bytes_of(&header);
        let total = (hb.len() + args.len() + env.len() + elf.len()) as u64;
        let boot = memfd(c"eurali-boot", total)?;
        let mut off = 0;
        for part in [hb, args, env, elf] {
            if !pwrite_all(boot.as_raw_fd(), part, off) {
                return Err(std::io::Error::last_os_error());
            }
            off += part.len() as u64;
        }
        Ok((
            GuestProc {
                name: name.to_string(),
                loader: loader.to_path_buf(),
                pid: AtomicI32::new(0),
                agent: Mutex::new(agent),
                launch: Mutex::new(Some(Launch {
                    agent_end,
                    chan_end,
                    boot,
                })),
                ending: AtomicBool::new(false),
            },
            chan,
        ))
    }

    /// Starts the Linux process (once).
    pub fn launch(&self) -> std::io::Result<()> {
        let Some(l) = self.launch.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(());
        };
        let fds = [
            l.agent_end.as_raw_fd(),
            l.chan_end.as_raw_fd(),
            l.boot.as_raw_fd(),
        ];
        let mut cmd = std::process::Command::new(&self.loader);
        cmd.args(fds.iter().map(|f| f.to_string()));
        cmd.arg0(format!("eurali-guest:{}", self.name));
        // Safety: only async-signal-safe fcntl calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for fd in fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = spawn_from_launcher(cmd)?;
        self.pid.store(child.id() as i32, Ordering::Release);
        std::thread::Builder::new()
            .name(format!("reap:{}", self.name))
            .spawn(move || {
                let status = child.wait();
                if std::env::var_os("EURALI_TRACE").is_some() {
                    eprintln!("[reaper] guest {:?} ended: {status:?}", child.id());
                }
            })?;
        Ok(())
    }

    pub fn pid(&self) -> i32 {
        self.pid.load(Ordering::Acquire)
    }

    pub fn is_ending(&self) -> bool {
        self.ending.load(Ordering::Acquire)
    }

    /// Ends the Linux process (its last Merriwig thread is gone, or the system stops).
    pub fn end(&self) {
        self.ending.store(true, Ordering::Release);
        let pid = self.pid();
        if pid > 0 {
            // Safety: signals our own child (reaped by its reaper thread, so the pid is not
            // reused before that thread has waited).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }

    fn op(&self, op: Op, fd: Option<RawFd>) -> bool {
        if self.is_ending() {
            return false;
        }
        let agent = self.agent.lock().unwrap_or_else(|e| e.into_inner());
        let a = agent.as_raw_fd();
        if sys::send_packet(a, bytes_of(&op), fd.unwrap_or(-1)) < 0 {
            return false;
        }
        let mut ack = [0u8; 8];
        let (n, _) = sys::recv_packet(a, &mut ack, false);
        n == 8 && u64::from_ne_bytes(ack) == 0
    }
}

impl Mapper for GuestProc {
    fn map(&self, addr: u64, len: u64, fd: RawFd, lazy: bool) -> bool {
        self.op(
            Op {
                kind: if lazy { OP_MAP_LAZY } else { OP_MAP },
                addr,
                len,
            },
            Some(fd),
        )
    }

    fn unmap(&self, addr: u64, len: u64) -> bool {
        self.op(
            Op {
                kind: OP_UNMAP,
                addr,
                len,
            },
            None,
        )
    }
}

use std::os::unix::process::CommandExt;

/// The TSC at the stub's boot: the KernelInfo clock's zero.
fn boot_tsc() -> u64 {
    static T: OnceLock<u64> = OnceLock::new();
    // Safety: rdtsc has no preconditions.
    *T.get_or_init(|| unsafe { core::arch::x86_64::_rdtsc() })
}

/// A guest fault as the stub reports it: what happened, in the kernel's terms.
pub fn describe_fault(up: &Up) -> (&'static str, String) {
    let [kind, addr, rip, sig, code, extra, _] = up.regs;
    let halt = "this would halt the real machine";
    match kind {
        FAULT_READ_BEFORE_WRITE => (
            "page fault",
            format!(
                "read of on-demand page {:#x} before its first write (address {addr:#x}, rip {rip:#x}): \
                 the kernel's next write to it freezes; {halt}",
                addr & !0xFFF
            ),
        ),
        FAULT_GUARD_PAGE => (
            "page fault",
            format!(
                "stack overflow into the guard page of stack slot {} (address {addr:#x}, rip {rip:#x}); {halt}",
                libeurali::abi::layout::stack_slot_of(addr).unwrap_or(0)
            ),
        ),
        FAULT_PAGE => (
            "page fault",
            format!(
                "page fault on a {} of {addr:#x} (error code {extra:#x}, rip {rip:#x}); {halt}",
                if extra & 2 != 0 { "write" } else { "read" }
            ),
        ),
        FAULT_SYSCALL_OUTSIDE_WINDOW => (
            "syscall",
            format!(
                "`syscall` at {addr:#x}, outside the ELF window [0x200000, 0x50000000) (RAX {extra:#x}): \
                 the kernel would return to it in ring 0; {halt}"
            ),
        ),
        FAULT_UNKNOWN_SYSCALL => (
            "syscall",
            format!(
                "system call number {} ({}) at {addr:#x}: not a Merriwig call (the kernel prints \
                 `Unknown syscall`); a Linux system call in guest code is a bug",
                extra & 0xFF,
                linux_name(extra)
            ),
        ),
        FAULT_SIGNAL => {
            let what = match sig as i32 {
                libc::SIGILL => "invalid opcode (ud2, an abort), #UD",
                libc::SIGFPE => "divide error, #DE",
                libc::SIGTRAP => "breakpoint (int3)",
                libc::SIGBUS => "bus error",
                libc::SIGSEGV if extra == 13 => {
                    "general protection fault (privileged instruction: hlt, cli, port I/O without IOPL)"
                }
                _ => "fault",
            };
            (
                "exception",
                format!(
                    "{what} at rip {rip:#x} (signal {sig}, code {code}, address {addr:#x}); {halt}"
                ),
            )
        }
        _ => (
            "loader",
            format!("the guest loader failed (code {extra}, rip {rip:#x})"),
        ),
    }
}

/// Names of Linux system calls a stray libc call would make.
fn linux_name(rax: u64) -> &'static str {
    match rax {
        20 => "Linux writev",
        39 => "Linux getpid",
        60 => "Linux exit",
        186 => "Linux gettid",
        202 => "Linux futex",
        218 => "Linux set_tid_address",
        228 => "Linux clock_gettime",
        231 => "Linux exit_group",
        257 => "Linux openat",
        262 => "Linux newfstatat",
        302 => "Linux prlimit64",
        318 => "Linux getrandom",
        334 => "Linux rseq",
        _ => "unknown",
    }
}

type LaunchRequest = (
    std::process::Command,
    std::sync::mpsc::SyncSender<std::io::Result<std::process::Child>>,
);

/// Starts a guest from one long-lived launcher thread. The guest asks for SIGKILL when its
/// parent dies (`PR_SET_PDEATHSIG`), and Linux means the parent *thread*: a guest spawned by a
/// proxy thread would be killed when that thread ends — when the process that exec'd it ends,
/// long before the child is done. The launcher thread lives as long as this host process.
fn spawn_from_launcher(cmd: std::process::Command) -> std::io::Result<std::process::Child> {
    static LAUNCHER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<LaunchRequest>>> =
        std::sync::OnceLock::new();
    let tx = LAUNCHER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<LaunchRequest>();
        let started = std::thread::Builder::new()
            .name("guest-launcher".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if let Err(e) = started {
            eprintln!("kernel-stub: cannot start the guest launcher thread: {e}");
        }
        std::sync::Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = std::sync::mpsc::sync_channel(1);
    tx.lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("the guest launcher thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("the guest launcher thread is gone"))?
}
