//! Host threads as kernel threads: the dispatcher libeurali calls, blocking and waking, thread
//! start and end.
//!
//! - Every syscall arrives at [`syscall_entry`] (installed with `libeurali::raw::install_stub`).
//!   The calling kernel, process and thread come from a host thread-local [`Ctx`], set for
//!   threads the stub starts and for the duration of `Kernel::run_as_process`.
//! - One `Mutex<System>` per kernel guards all state. A call that blocks arms its thread's
//!   [`Slot`] under the lock, releases it, yield-polls briefly, then parks. Whoever completes the
//!   rendezvous posts the result to the slot under the lock and unparks the thread after
//!   releasing it.
//! - The stub ends a thread (exit_thread, a halt, shutdown, a destroyed rendezvous) by unwinding
//!   it with a private payload caught at the thread's root; no lock is held then. While a thread
//!   unwinds that way its destructors' system calls do nothing, as on the kernel, where an exited
//!   thread runs no more code.

use crate::fault::{Fault, Stopped};
use crate::log::LogEntry;
use crate::system::{Outcome, Pid, Spawn, Start, System, Tid};
use libeurali::Error;
use libeurali::abi::{Call, Registers};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long a blocked thread yield-polls before it parks.
const YIELD_FOR: Duration = Duration::from_micros(50);

/// The longest a `yield` with an idle hint blocks its thread: a sleeping program asks again
/// (its runtime sleeps in slices of 20 ms and checks for a kill between them; the liveness
/// watcher of an idle process sleeps 250 ms at once), and a system shutting down waits no
/// longer than this for the thread.
const IDLE_MAX: Duration = Duration::from_millis(100);

/// `yield`: a plain one gives the processor away; one whose caller says it has nothing to do
/// for `idle_us` microseconds (a sleep: the real kernel has no timers, so a program sleeps by
/// yielding until its deadline) blocks the thread for that long, up to [`IDLE_MAX`], so that
/// an idle system costs no processor time here (a yield on an idle host returns at once).
fn idle(idle_us: u64) {
    if idle_us == 0 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(idle_us).min(IDLE_MAX));
    }
}

/// What a blocked thread finds when it is woken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Wake {
    /// Nothing yet (never seen by a woken thread).
    #[default]
    Pending,
    /// Return with the registers as they went in (await_interrupt).
    Unchanged,
    /// Return with this RAX, other registers unchanged.
    Status(u64),
    /// Return with RAX, RDI, RSI, RDX set (a message).
    Message([u64; 4]),
    /// End the thread.
    Stop(Stopped),
}

/// Where one thread waits.
#[derive(Debug, Default)]
pub struct Slot {
    ready: AtomicBool,
    wake: Mutex<Wake>,
    thread: OnceLock<Thread>,
}

impl Slot {
    pub fn new() -> Slot {
        Slot::default()
    }

    /// A slot for the calling host thread.
    pub fn for_current() -> Slot {
        let s = Slot::new();
        let _ = s.thread.set(std::thread::current());
        s
    }

    /// Before blocking (under the system lock).
    pub fn arm(&self) {
        self.ready.store(false, Ordering::Relaxed);
        *self.wake.lock().unwrap_or_else(PoisonError::into_inner) = Wake::Pending;
    }

    /// Hands the woken thread its result (under the system lock).
    pub fn post(&self, w: Wake) {
        *self.wake.lock().unwrap_or_else(PoisonError::into_inner) = w;
        self.ready.store(true, Ordering::Release);
    }

    fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Waits for [`Slot::post`]: yields for a while, then parks.
    ///
    /// Yielding rather than spinning suits both placements of two threads in a conversation: on
    /// another CPU the peer answers within a microsecond or so while we poll; on the same CPU the
    /// yield hands it the CPU at once (a busy spin would only burn the peer's time). Parking
    /// costs a futex wake-up, which on this VM is slow across CPUs.
    pub fn wait(&self) -> Wake {
        if !self.ready.load(Ordering::Acquire) {
            let start = Instant::now();
            while !self.ready.load(Ordering::Acquire) && start.elapsed() < YIELD_FOR {
                std::thread::yield_now();
            }
            while !self.ready.load(Ordering::Acquire) {
                std::thread::park();
            }
        }
        self.take()
    }

    /// The posted result (tests read it without waiting).
    pub fn take(&self) -> Wake {
        std::mem::take(&mut *self.wake.lock().unwrap_or_else(PoisonError::into_inner))
    }

    #[cfg(test)]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// Slots to unpark once the system lock is released (two inline: enough for every syscall).
#[derive(Debug, Default)]
pub struct WakeList {
    first: [Option<Arc<Slot>>; 2],
    more: Vec<Arc<Slot>>,
}

impl WakeList {
    pub fn push(&mut self, s: Arc<Slot>) {
        match self.first.iter_mut().find(|x| x.is_none()) {
            Some(free) => *free = Some(s),
            None => self.more.push(s),
        }
    }

    pub fn unpark_all(self) {
        for s in self.first.iter().flatten().chain(self.more.iter()) {
            s.unpark();
        }
    }
}

/// The shared part of one kernel: what its threads hold.
#[derive(Debug)]
pub struct Shared {
    pub sys: Mutex<System>,
    /// Signalled when a thread or process ends.
    pub changed: Condvar,
    /// Mirrors `System::stopped.is_some()` for a check without the lock.
    pub stopped: AtomicBool,
    pub logging: AtomicBool,
}

/// The stub thread running on this host thread.
pub struct Ctx {
    pub shared: Arc<Shared>,
    pub pid: Pid,
    pub tid: Tid,
    pub program: Arc<str>,
    pub slot: Arc<Slot>,
}

thread_local! {
    static CTX: RefCell<Option<Rc<Ctx>>> = const { RefCell::new(None) };
    /// Set while the stub unwinds this thread to end it.
    static ENDING: Cell<bool> = const { Cell::new(false) };
}

/// The payload the stub unwinds a thread with.
pub struct StubUnwind(pub Stopped);

/// The stub context of the calling host thread.
pub fn current() -> Option<Rc<Ctx>> {
    CTX.try_with(|c| c.borrow().clone()).ok().flatten()
}

pub fn set_current(ctx: Option<Ctx>) {
    let _ = CTX.try_with(|c| *c.borrow_mut() = ctx.map(Rc::new));
    let _ = ENDING.try_with(|e| e.set(false));
}

/// The function libeurali's host backend calls for every system call.
pub fn syscall_entry(regs: &mut Registers) {
    match current() {
        Some(ctx) => ctx.shared.syscall(&ctx, regs),
        None => no_context(regs),
    }
}

/// A system call from a host thread that is no stub thread: a harness bug. Panics, unless the
/// thread is already unwinding (a second panic would abort the test binary): then the call fails
/// with 12 after the report.
fn no_context(regs: &mut Registers) {
    let call = Call::decode(regs);
    let me = std::thread::current();
    let name = me.name().unwrap_or("<unnamed>");
    eprintln!(
        "\n*** kernel-stub: system call `{}` on host thread {name:?}, which is no thread of any stub \
         process ***",
        call.name()
    );
    if std::thread::panicking() {
        if !call.returns_no_status() {
            regs.set_error(Error::Closed);
        }
        return;
    }
    panic!(
        "kernel-stub: `{}` was called on host thread {name:?}, which belongs to no stub process (a harness \
         bug): run program code inside Kernel::run_as_process, or start it with exec or Kernel::start_init",
        call.name()
    );
}

/// Ends the calling thread by unwinding, unless it is already panicking (in a panic hook or a
/// destructor during unwinding, where a second unwind would abort the test binary): then the
/// call just fails with 12 and the thread ends when its unwinding does.
fn end_thread(why: Stopped, regs: &mut Registers) {
    if std::thread::panicking() {
        regs.set_error(Error::Closed);
        return;
    }
    let _ = ENDING.try_with(|e| e.set(true));
    std::panic::resume_unwind(Box::new(StubUnwind(why)));
}

impl Shared {
    pub fn new(echo_debug: bool) -> Shared {
        let mut sys = System::new();
        sys.echo_debug = echo_debug;
        Shared {
            sys: Mutex::new(sys),
            changed: Condvar::new(),
            stopped: AtomicBool::new(false),
            logging: AtomicBool::new(true),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, System> {
        self.sys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log(&self, sys: &mut System, ctx: &Ctx, call: Call, result: &Registers) {
        sys.log.push(LogEntry {
            pid: ctx.pid,
            tid: ctx.tid,
            program: ctx.program.to_string(),
            call,
            result: *result,
        });
    }

    fn syscall(self: &Arc<Self>, ctx: &Ctx, regs: &mut Registers) {
        if ENDING.try_with(Cell::get).unwrap_or(true) {
            // This thread is being ended: nothing more happens for it.
            if !Call::decode(regs).returns_no_status() {
                regs.set_error(Error::Closed);
            }
            return;
        }
        let call = Call::decode(regs);
        let mut sys = self.lock();
        if let Some(why) = sys.stopped.clone() {
            drop(sys);
            return end_thread(why, regs);
        }
        let logging = self.logging.load(Ordering::Relaxed);
        if let Some(e) = sys.injections.check(regs.number(), ctx.tid) {
            regs.set_error(e);
            if logging {
                self.log(&mut sys, ctx, call, regs);
            }
            return;
        }
        let outcome = sys.syscall(ctx.tid, regs, &call);
        let wakes = std::mem::take(&mut sys.wakes);
        match outcome {
            Outcome::Done => {
                if logging {
                    self.log(&mut sys, ctx, call, regs);
                }
                drop(sys);
                wakes.unpark_all();
                if let Call::Yield { idle_us } = call {
                    idle(idle_us);
                }
            }
            Outcome::Block => {
                drop(sys);
                wakes.unpark_all();
                match ctx.slot.wait() {
                    Wake::Pending | Wake::Unchanged => {}
                    Wake::Status(rax) => regs.rax = rax,
                    Wake::Message([rax, rdi, rsi, rdx]) => {
                        regs.rax = rax;
                        regs.rdi = rdi;
                        regs.rsi = rsi;
                        regs.rdx = rdx;
                    }
                    Wake::Stop(why) => return end_thread(why, regs),
                }
                if self.logging.load(Ordering::Relaxed) {
                    let mut sys = self.lock();
                    self.log(&mut sys, ctx, call, regs);
                }
            }
            Outcome::Spawn(spawn) => {
                drop(sys);
                wakes.unpark_all();
                let tid = spawn.tid;
                let is_exec = matches!(spawn.start, Start::Program { .. });
                let started = start_thread(self.clone(), spawn);
                let mut sys = self.lock();
                if started.is_err() {
                    sys.abort_spawn(tid);
                    regs.set_error(if is_exec {
                        Error::Memory
                    } else {
                        Error::MemAlloc
                    });
                }
                if logging {
                    self.log(&mut sys, ctx, call, regs);
                }
            }
            Outcome::Exit => {
                if logging {
                    self.log(&mut sys, ctx, call, regs);
                }
                drop(sys);
                wakes.unpark_all();
                end_thread(Stopped::Exited, regs)
            }
            Outcome::Halt(what) => {
                let fault = Fault {
                    program: ctx.program.to_string(),
                    pid: ctx.pid,
                    tid: ctx.tid,
                    call: call.name(),
                    what: format!("{what}: the real machine would halt"),
                };
                self.halt_with(&mut sys, fault.clone());
                let wakes2 = std::mem::take(&mut sys.wakes);
                drop(sys);
                wakes.unpark_all();
                wakes2.unpark_all();
                end_thread(Stopped::Halted(Some(fault)), regs)
            }
        }
    }

    /// Records the fault, reports it loudly and stops every thread.
    fn halt_with(&self, sys: &mut System, fault: Fault) {
        eprintln!(
            "\n==================== kernel-stub: MACHINE HALT ====================\n{fault}\n\
             Every thread of this stub system is being stopped.\n\
             ===================================================================="
        );
        if sys.fault.is_none() && sys.stopped.is_none() {
            sys.fault = Some(fault.clone());
        }
        sys.stop(Stopped::Halted(Some(fault)));
        self.stopped.store(true, Ordering::Release);
        self.changed.notify_all();
    }

    /// A thread (of any kind) has finished; `panicked` holds its panic message.
    pub fn thread_done(&self, ctx: &Ctx, panicked: Option<String>) {
        let mut sys = self.lock();
        if let Some(msg) = panicked {
            sys.panics.push(format!(
                "program {} (pid {}, thread {}) panicked: {msg}",
                ctx.program, ctx.pid, ctx.tid
            ));
        }
        sys.thread_ended(ctx.tid);
        let wakes = std::mem::take(&mut sys.wakes);
        drop(sys);
        wakes.unpark_all();
        self.changed.notify_all();
    }

    /// Stops the whole system (shutdown): every blocked thread wakes and ends.
    pub fn stop(&self, why: Stopped) {
        let mut sys = self.lock();
        sys.stop(why);
        self.stopped.store(true, Ordering::Release);
        let wakes = std::mem::take(&mut sys.wakes);
        drop(sys);
        wakes.unpark_all();
        self.changed.notify_all();
    }
}

/// The text of a panic payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

/// Starts a stub thread on a new host thread (for a hosted process: its proxy, after launching
/// the guest for exec, or with the child's channel handed to the parent's reply for
/// fork_thread).
pub fn start_thread(shared: Arc<Shared>, mut spawn: Spawn) -> std::io::Result<()> {
    let name = format!("{}#{}", spawn.program, spawn.tid);
    match std::mem::replace(&mut spawn.start, Start::Thread { entry: 0, arg: 0 }) {
        Start::Guest { guest, chan } => {
            guest.launch()?;
            std::thread::Builder::new()
                .name(name)
                .spawn(move || guest_thread_root(shared, spawn, chan))
                .map(|_| ())
        }
        Start::GuestThread { chan, child } => {
            std::thread::Builder::new()
                .name(name)
                .spawn(move || guest_thread_root(shared, spawn, chan))?;
            let _ = FORK_CHILD.try_with(|f| *f.borrow_mut() = Some(child));
            Ok(())
        }
        start => {
            spawn.start = start;
            std::thread::Builder::new()
                .name(name)
                .spawn(move || thread_root(shared, spawn))
                .map(|_| ())
        }
    }
}

thread_local! {
    /// The guest end of a new thread's channel, for the fork_thread reply the proxy sends next.
    static FORK_CHILD: RefCell<Option<std::os::fd::OwnedFd>> = const { RefCell::new(None) };
}

/// A hosted thread's proxy: receives each trapped syscall from the guest thread, runs it like
/// any stub thread's (same dispatcher, same blocking), and sends back the registers.
fn guest_thread_root(shared: Arc<Shared>, spawn: Spawn, chan: std::os::fd::OwnedFd) {
    use crate::hosted::{sys, wire::*};
    use std::os::fd::AsRawFd;
    let _ = spawn.slot.thread.set(std::thread::current());
    let guest = shared.lock().guest_of(spawn.pid);
    let ctx = Ctx {
        shared: shared.clone(),
        pid: spawn.pid,
        tid: spawn.tid,
        program: spawn.program.clone(),
        slot: spawn.slot.clone(),
    };
    let info = ctx_copy(&ctx);
    set_current(Some(ctx));
    let fd = chan.as_raw_fd();
    let mut buf = [0u8; core::mem::size_of::<Up>()];
    loop {
        let (n, _) = sys::recv_packet_spin(fd, &mut buf, 200);
        if n <= 0 {
            // The guest process is gone. Expected if the stub ended it; otherwise it died in a
            // way its fault handler could not report.
            if let Some(g) = &guest
                && !g.is_ending()
                && !shared.stopped.load(Ordering::Acquire)
            {
                let fault = Fault {
                    program: info.program.to_string(),
                    pid: info.pid,
                    tid: info.tid,
                    call: "exception",
                    what:
                        "the guest process died without a report; this would halt the real machine"
                            .into(),
                };
                let mut sys = shared.lock();
                shared.halt_with(&mut sys, fault);
                let wakes = std::mem::take(&mut sys.wakes);
                drop(sys);
                wakes.unpark_all();
            }
            break;
        }
        let up: Up = from_bytes(&buf[..n as usize]);
        if up.kind == UP_FAULT {
            let (call, what) = crate::hosted::describe_fault(&up);
            let fault = Fault {
                program: info.program.to_string(),
                pid: info.pid,
                tid: info.tid,
                call,
                what,
            };
            let mut sys = shared.lock();
            shared.halt_with(&mut sys, fault);
            let wakes = std::mem::take(&mut sys.wakes);
            drop(sys);
            wakes.unpark_all();
            break;
        }
        let [rax, rdi, rsi, rdx, r8, r9, _rip] = up.regs;
        let mut regs = Registers {
            rax,
            rdi,
            rsi,
            rdx,
            r8,
            r9,
        };
        let before = regs;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| syscall_entry(&mut regs)));
        static TRACE: OnceLock<bool> = OnceLock::new();
        if *TRACE.get_or_init(|| std::env::var_os("EURALI_TRACE").is_some_and(|v| !v.is_empty())) {
            eprintln!(
                "[{} t{}] {:?} -> {:x?} {}",
                info.program,
                info.tid,
                Call::decode(&before),
                regs,
                r.is_ok()
            );
        }
        let _ = ENDING.try_with(|e| e.set(false));
        let child = FORK_CHILD
            .try_with(|f| f.borrow_mut().take())
            .ok()
            .flatten();
        let down = match r {
            Ok(()) => Down {
                kind: if child.is_some() {
                    DOWN_FORK
                } else {
                    DOWN_RESUME
                },
                regs: [regs.rax, regs.rdi, regs.rsi, regs.rdx],
            },
            Err(p) => {
                if !p.is::<StubUnwind>() {
                    eprintln!(
                        "kernel-stub: proxy of {} panicked: {}",
                        info.program,
                        panic_message(&*p)
                    );
                }
                let d = Down {
                    kind: DOWN_EXIT,
                    regs: [0; 4],
                };
                sys::send_packet(fd, bytes_of(&d), -1);
                break;
            }
        };
        let child_fd = child.as_ref().map_or(-1, |c| c.as_raw_fd());
        if sys::send_packet(fd, bytes_of(&down), child_fd) < 0 {
            break;
        }
    }
    set_current(None);
    shared.thread_done(&info, None);
}

fn thread_root(shared: Arc<Shared>, spawn: Spawn) {
    let _ = spawn.slot.thread.set(std::thread::current());
    let ctx = Ctx {
        shared: shared.clone(),
        pid: spawn.pid,
        tid: spawn.tid,
        program: spawn.program.clone(),
        slot: spawn.slot.clone(),
    };
    let info = ctx_copy(&ctx);
    set_current(Some(ctx));
    let start = spawn.start;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || match start {
        Start::Thread { entry, arg } => {
            // Safety: fork_thread's contract (§1.4, `libeurali::raw::spawn_thread`): R8 holds the
            // child's entry point, a `ThreadEntry`. The real kernel would jump there just as
            // blindly; 0 was refused as a fault before getting here.
            let f: libeurali::raw::ThreadEntry = unsafe {
                std::mem::transmute::<usize, libeurali::raw::ThreadEntry>(entry as usize)
            };
            f(arg)
        }
        Start::Program { entry, regs } => entry(regs),
        Start::Guest { .. } | Start::GuestThread { .. } => {
            unreachable!("hosted threads start in guest_thread_root")
        }
    }));
    set_current(None);
    let panicked = match result {
        Ok(()) => None,
        Err(p) if p.is::<StubUnwind>() => None,
        Err(p) => Some(panic_message(&*p)),
    };
    shared.thread_done(&info, panicked);
}

fn ctx_copy(c: &Ctx) -> Ctx {
    Ctx {
        shared: c.shared.clone(),
        pid: c.pid,
        tid: c.tid,
        program: c.program.clone(),
        slot: c.slot.clone(),
    }
}
