//! [`Kernel`]: one stub system, as tests and `cargo run` see it.

use crate::ProgramEntry;
use crate::fault::{Fault, Stopped};
use crate::log::LogEntry;
use crate::system::{Spawn, Start};
use crate::threads::{self, Ctx, Shared, Slot, StubUnwind};
use libeurali::Error;
use libeurali::params::{ExecParams, ParamItem, ParamParser};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long shutdown waits for the stub's host threads to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// One in-process Merriwig system. Clones share it; dropping the last clone shuts it down (and
/// fails the test if the system halted on a fault nobody looked at). Several kernels may exist at
/// once; each host thread belongs to at most one.
#[derive(Clone)]
pub struct Kernel {
    owner: Arc<Owner>,
}

struct Owner {
    shared: Arc<Shared>,
    /// The debug log device's bytes (`eurali_host::devices::debuglog`, mounted at `/dev/log` by
    /// `eurali_host::boot`).
    log: crate::DebugLog,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sys = self.owner.shared.lock();
        f.debug_struct("Kernel")
            .field("processes", &sys.process_count())
            .field("objects", &sys.object_count())
            .field("stopped", &sys.stopped)
            .finish()
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new()
    }
}

impl Kernel {
    /// A new, empty system, and the stub installed as libeurali's kernel. Set `EURALI_DEBUG` to
    /// echo debug_write and the debug log device to stderr.
    pub fn new() -> Kernel {
        libeurali::raw::install_stub(threads::syscall_entry);
        let echo = std::env::var_os("EURALI_DEBUG").is_some_and(|v| !v.is_empty());
        let kernel = Kernel {
            owner: Arc::new(Owner {
                shared: Arc::new(Shared::new(echo)),
                log: crate::DebugLog::new(echo),
            }),
        };
        {
            let mut sys = kernel.shared().lock();
            for (name, frames) in crate::frames::built_images() {
                sys.frames.set_image(name, *frames);
            }
        }
        kernel
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.owner.shared
    }

    /// Makes `name` a program exec can start (see [`Kernel::program_image`]).
    pub fn register_program(&self, name: &str, entry: ProgramEntry) {
        self.shared()
            .lock()
            .programs
            .insert(name.to_string(), entry);
    }

    /// Hosted mode: exec of an ELF image starts it in a guest process launched with `loader`
    /// (`eurali-guest`; see [`crate::hosted`]). Without it, exec refuses ELFs (8).
    pub fn set_guest_loader(&self, loader: std::path::PathBuf) {
        self.shared().lock().guest_loader = Some(loader);
    }

    /// The image bytes that exec recognises as the registered program `name` (what `/bin/name`
    /// holds in in-process mode).
    pub fn program_image(name: &str) -> Vec<u8> {
        crate::exec::program_image(name)
    }

    /// Runs `f` on the calling host thread as the first thread of a new process that has init's
    /// handles (0: a fresh rendezvous, 1: one the kernel also holds), an empty VFS and IOPL.
    /// Threads the process starts may outlive `f`; the process ends with its last thread.
    ///
    /// # Panics
    /// If the thread does not finish `f` (the system halted or was shut down meanwhile, `f`
    /// called exit_thread, or its rendezvous was destroyed: see [`Kernel::try_run_as_process`]),
    /// if the calling host thread is already a stub thread, and with `f`'s own panics.
    pub fn run_as_process<R>(&self, name: &str, f: impl FnOnce() -> R) -> R {
        match self.try_run_as_process(name, f) {
            Ok(r) => r,
            Err(why) => panic!("kernel-stub: run_as_process({name:?}) did not finish: {why}"),
        }
    }

    /// [`Kernel::run_as_process`], telling why the stub ended the thread instead of panicking.
    pub fn try_run_as_process<R>(&self, name: &str, f: impl FnOnce() -> R) -> Result<R, Stopped> {
        if threads::current().is_some() {
            panic!(
                "kernel-stub: run_as_process({name:?}) on a host thread that already is a stub thread"
            );
        }
        let shared = self.shared().clone();
        let slot = Arc::new(Slot::for_current());
        let (pid, tid) = {
            let mut sys = shared.lock();
            if let Some(why) = sys.stopped.clone() {
                return Err(why);
            }
            let pid = sys.new_init_process(name, true);
            let tid = sys.add_thread(pid, slot.clone(), false);
            (pid, tid)
        };
        let ctx = Ctx {
            shared: shared.clone(),
            pid,
            tid,
            program: name.into(),
            slot,
        };
        let info = Ctx {
            shared: shared.clone(),
            pid,
            tid,
            program: name.into(),
            slot: ctx.slot.clone(),
        };
        threads::set_current(Some(ctx));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        threads::set_current(None);
        shared.thread_done(&info, None);
        match result {
            Ok(r) => Ok(r),
            Err(p) => match p.downcast::<StubUnwind>() {
                Ok(u) => Err(u.0),
                Err(p) => std::panic::resume_unwind(p),
            },
        }
    }

    /// Starts the registered `program` as init: IOPL, an empty VFS, handles 0 and 1 as in
    /// [`Kernel::run_as_process`], and the given args/env blocks (in the upstream encoding).
    /// Returns the thread id.
    ///
    /// # Errors
    /// 8 (THREAD) for an unknown program; 5 (PARAM) for args or env the blocks cannot carry
    /// or larger than one page; 9 if no host thread can be started; 12 once the system stopped.
    pub fn start_init(
        &self,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<u64, Error> {
        let params = ExecParams::new().args(args)?.env(env)?.finish()?;
        let (mut a, mut e): (&[u8], &[u8]) = (&[], &[]);
        for item in ParamParser::new(&params) {
            match item? {
                ParamItem::Args(b) => a = b,
                ParamItem::Env(b) => e = b,
                _ => {}
            }
        }
        if a.len() + e.len() > libeurali::abi::layout::ARGS_ENV_LIMIT {
            return Err(Error::Param);
        }
        let shared = self.shared().clone();
        let spawn = {
            let mut sys = shared.lock();
            if sys.stopped.is_some() {
                return Err(Error::Closed);
            }
            let entry = *sys.programs.get(program).ok_or(Error::Thread)?;
            let pid = sys.new_init_process(program, true);
            let (page, regs) = crate::system::entry_blocks(a, e);
            sys.set_blocks(pid, page);
            let slot = Arc::new(Slot::new());
            let tid = sys.add_thread(pid, slot.clone(), true);
            Spawn {
                pid,
                tid,
                program: program.into(),
                slot,
                start: Start::Program { entry, regs },
            }
        };
        let tid = spawn.tid;
        if threads::start_thread(shared.clone(), spawn).is_err() {
            shared.lock().abort_spawn(tid);
            return Err(Error::Memory);
        }
        Ok(tid)
    }

    /// Waits until no process is left; `false` on timeout.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let shared = self.shared();
        let mut sys = shared.lock();
        while sys.process_count() > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            sys = shared
                .changed
                .wait_timeout(sys, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// What the real kernel's frame allocator would have done so far ([`crate::frames`]).
    pub fn frame_stats(&self) -> crate::frames::FrameStats {
        self.shared().lock().frames.stats().clone()
    }

    /// What the real kernel's own heap would hold now, and what exec met so far
    /// ([`crate::kheap`]).
    pub fn kernel_heap(&self) -> crate::kheap::HeapStats {
        self.shared().lock().kheap.stats()
    }

    /// Makes exec refuse, as the real kernel does, a copy its heap cannot hold (the model
    /// only records by default; [`crate::kheap`]).
    pub fn enforce_kernel_heap(&self) {
        self.shared().lock().kheap.enforce = true;
    }

    /// Variables the boot loader puts into init's environment (besides `PWD`, `HOME` and the
    /// host's `EURALI_NOPOOL`/`EURALI_NOFORK`), for a test that boots a system with knobs of its
    /// own while others run beside it.
    pub fn set_boot_env(&self, env: &[(&str, &str)]) {
        self.shared().lock().boot_env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// The variables [`Kernel::set_boot_env`] set.
    pub fn boot_env(&self) -> Vec<(String, String)> {
        self.shared().lock().boot_env.clone()
    }

    /// Starts the frame counts afresh (the modelled allocator keeps its state), e.g. after boot.
    pub fn reset_frame_counts(&self) {
        self.shared().lock().frames.reset_counts();
    }

    /// Live processes.
    pub fn process_count(&self) -> usize {
        self.shared().lock().process_count()
    }

    /// Live threads, of all processes.
    pub fn thread_count(&self) -> usize {
        self.shared().lock().thread_count()
    }

    /// Ends the whole system: every thread blocked in the stub wakes and ends, later system calls
    /// end their thread, and this waits (up to 5 s) for the stub's host threads to finish.
    pub fn shutdown(&self) {
        shutdown(self.shared());
    }

    /// The fault that halted the system, if one did (it stays halted). Looking counts: a kernel
    /// whose fault was looked at with this or [`Kernel::take_fault`] does not panic when dropped.
    pub fn halted(&self) -> Option<Fault> {
        let mut sys = self.shared().lock();
        sys.fault_seen = true;
        sys.fault.clone()
    }

    /// Takes the fault that halted the system (once; later calls give `None`, though the system
    /// stays halted), marking it as seen by the test.
    pub fn take_fault(&self) -> Option<Fault> {
        let mut sys = self.shared().lock();
        sys.fault_seen = true;
        sys.fault.take()
    }

    /// One line per thread whose code panicked: "program X (pid P, thread T) panicked: msg".
    pub fn panics(&self) -> Vec<String> {
        self.shared().lock().panics.clone()
    }

    /// Everything written with debug_write.
    pub fn debug_output(&self) -> String {
        self.shared().lock().debug.clone()
    }

    /// Everything written to the debug log device (`/dev/log` of a booted program).
    pub fn debug_log(&self) -> String {
        String::from_utf8_lossy(&self.owner.log.contents()).into_owned()
    }

    /// The debug log device's log, for a server to append to.
    pub fn debug_log_device(&self) -> crate::DebugLog {
        self.owner.log.clone()
    }

    /// Keyboard IRQ1: wakes every thread in await_interrupt. With nobody waiting the interrupt
    /// is lost, as on the kernel (§4.10).
    pub fn raise_keyboard_irq(&self) {
        let mut sys = self.shared().lock();
        sys.raise_irq();
        let wakes = std::mem::take(&mut sys.wakes);
        drop(sys);
        wakes.unpark_all();
    }

    /// What every process and thread of the system is doing now (see `System::dump`): for the
    /// report of a test whose system hung.
    pub fn dump(&self) -> String {
        self.shared().lock().dump()
    }

    /// Threads currently blocked in a system call (for tests that wait for a peer to block).
    pub fn blocked_threads(&self) -> usize {
        self.shared().lock().blocked_count()
    }

    /// Threads currently waiting in await_interrupt.
    pub fn interrupt_waiters(&self) -> usize {
        self.shared().lock().irq_waiter_count()
    }

    /// Switches the syscall log on (the default) or off.
    pub fn set_logging(&self, on: bool) {
        self.shared().logging.store(on, Ordering::Relaxed);
    }

    /// Takes the logged calls so far, oldest first.
    pub fn take_log(&self) -> Vec<LogEntry> {
        self.shared().lock().log.take()
    }

    /// Makes the `nth` call of number `nr` from now on (1 = the next; any process) fail with
    /// `error` as a plain status, without running.
    pub fn inject(&self, nr: u8, nth: usize, error: Error) {
        self.shared().lock().injections.add(nr, nth, error);
    }
}

/// From inside a stub process: the calling thread's `nth` call of number `nr` from now on (1 =
/// the next) and the `count - 1` after it fail with `error` as a plain status, without running;
/// other threads' calls neither fail nor count. For tests of a program's own paths (its runtime
/// keeps threads of its own that a system-wide [`Kernel::inject`] would hit too). False outside
/// a stub process.
pub fn inject_in_this_thread(nr: u8, nth: usize, count: usize, error: Error) -> bool {
    match threads::current() {
        Some(ctx) => {
            ctx.shared
                .lock()
                .injections
                .add_run(Some(ctx.tid), nr, nth, count, error);
            true
        }
        None => false,
    }
}

/// From inside a stub process: how many failures [`inject_in_this_thread`] still has pending for
/// the calling thread (so a test can tell that its path met them all).
pub fn injections_pending_in_this_thread() -> usize {
    threads::current().map_or(0, |ctx| ctx.shared.lock().injections.pending(ctx.tid))
}

/// From inside a stub process: drops what [`inject_in_this_thread`] left pending for the
/// calling thread.
pub fn clear_injections_in_this_thread() {
    if let Some(ctx) = threads::current() {
        ctx.shared.lock().injections.clear(ctx.tid);
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        shutdown(&self.shared);
        let sys = self.shared.lock();
        if let Some(fault) = sys.fault.clone()
            && !sys.fault_seen
            && !std::thread::panicking()
        {
            drop(sys);
            panic!(
                "kernel-stub: the system halted and the test never looked (Kernel::take_fault): {fault}"
            );
        }
    }
}

fn shutdown(shared: &Arc<Shared>) {
    shared.stop(Stopped::ShutDown);
    // A stub thread shutting its own system down cannot wait for itself.
    let me = threads::current()
        .filter(|c| Arc::ptr_eq(&c.shared, shared))
        .map(|c| c.tid);
    let deadline = Instant::now() + SHUTDOWN_WAIT;
    let mut sys = shared.lock();
    loop {
        let own = me.is_some_and(|t| sys.is_stub_thread(t)) as usize;
        if sys.live_stub_threads <= own {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            eprintln!(
                "kernel-stub: shutdown gave up waiting for {} thread(s) still running program code",
                sys.live_stub_threads - own
            );
            return;
        }
        sys = shared
            .changed
            .wait_timeout(sys, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}
