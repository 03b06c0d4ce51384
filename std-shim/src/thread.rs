//! `std::thread`: threads made with the kernel's fork_thread, joined over a rendezvous.
//!
//! Joining needs a way to sleep until the thread ends, and the kernel's only sleep is a blocking
//! receive. Each spawned thread shares a small state word with its [`JoinHandle`] and holds one
//! handle of a fresh rendezvous; the joiner holds the other. The joiner moves the state from
//! RUNNING to WAITING and then receives; the ending thread moves it to DONE and sends only if it
//! saw WAITING. So a thread nobody joins never blocks at its end, and a joiner never sleeps
//! through the end of a thread. A thread that panics ends with no result, and `join` returns
//! `Err`. The last `JoinHandle` dropped detaches the thread.

use alloc::boxed::Box;
use alloc::string::String;
use core::any::Any;
use core::sync::atomic::{AtomicU8, Ordering};
use core::time::Duration;

use libeurali::{Handle, Message};

use crate::io;
use crate::sync::{Arc, Mutex};

/// `std::thread::Result`.
pub type Result<T> = core::result::Result<T, Box<dyn Any + Send + 'static>>;

const RUNNING: u8 = 0;
const WAITING: u8 = 1;
const DONE: u8 = 2;

/// What a spawned thread shares with its joiner.
pub(crate) struct Shared {
    state: AtomicU8,
    /// The thread's end of the join rendezvous.
    notify: Mutex<Option<Handle>>,
    name: Option<String>,
}

impl Shared {
    /// Called as the thread ends (normally, by a panic, or by `process::exit`); idempotent.
    pub(crate) fn finish(&self) {
        if self.state.swap(DONE, Ordering::AcqRel) == WAITING {
            let h = self.notify.lock().ok().and_then(|mut n| n.take());
            if let Some(h) = h {
                let _ = libeurali::call_send(&h, Message::Short(0, 0, 0));
            }
        }
    }
}

struct Start {
    shared: Arc<Shared>,
    body: Box<dyn FnOnce() + Send>,
    context: crate::sys::InheritedContext,
}

/// Runs a spawned thread: called from `rt::thread_main` with the boxed [`Start`]. After its
/// body the thread waits in its process's [`Pool`] for the next [`Builder::spawn`], and ends
/// only when the pool has no room for it or closes (the process ends or is killed).
pub(crate) fn run_spawned(arg: u64) -> ! {
    // Safety: `arg` is the `Box<Start>` leaked by `Builder::spawn` for exactly this thread.
    let mut next = Some(unsafe { Box::from_raw(arg as *mut Start) });
    while let Some(start) = next.take() {
        let Start {
            shared,
            body,
            context,
        } = *start;
        crate::sys::enter_thread(context, shared.clone());
        let pool = crate::sys::runtime()
            .filter(|rt| !rt.no_pool.load(core::sync::atomic::Ordering::Relaxed))
            .map(|rt| rt.pool.clone());
        let ok = crate::sys::run_main_boxed(body).is_ok();
        shared.finish();
        crate::sys::leave_thread();
        drop(shared);
        if !ok {
            break;
        }
        if let Some(pool) = pool {
            next = pool.park();
        }
    }
    libeurali::exit_thread()
}

/// Most threads a process keeps waiting for work ([`Pool`]) unless it says otherwise
/// ([`set_idle_limit`]). Each costs the kernel 8 KiB of its 1 MiB heap while it waits (the
/// heap that also holds every exec's copy of its ELF), so the pool is small; a thread beyond it
/// ends as before.
pub const MAX_IDLE: usize = 2;

/// Sets how many finished threads this process keeps for later spawns (eurali extension; the
/// default is [`MAX_IDLE`]). The shell, whose pipelines need a thread per stage and two per
/// pipe, keeps more. Threads already waiting beyond a lower limit stay until they are used.
pub fn set_idle_limit(n: usize) {
    if let Some(rt) = crate::sys::runtime() {
        rt.pool
            .limit
            .store(n, core::sync::atomic::Ordering::Relaxed);
    }
}

/// Finished threads of one process, kept for the next spawn instead of ending.
///
/// On Merriwig a thread's end is dear: it gives its stack frames back to the kernel's frame
/// allocator (ABI §9.23: returns past its 32-entry stack corrupt kernel memory), and its stack
/// slot is never given out again (a process can start 64 threads in its whole life). A thread
/// that waits here costs neither.
pub(crate) struct Pool {
    idle: Mutex<alloc::vec::Vec<Idle>>,
    closed: core::sync::atomic::AtomicBool,
    limit: core::sync::atomic::AtomicUsize,
}

impl Default for Pool {
    fn default() -> Pool {
        Pool {
            idle: Mutex::new(alloc::vec::Vec::new()),
            closed: Default::default(),
            limit: core::sync::atomic::AtomicUsize::new(MAX_IDLE),
        }
    }
}

/// A waiting thread: the job slot it reads when woken, and the handle that wakes it.
struct Idle {
    job: Arc<Mutex<Option<Box<Start>>>>,
    wake: Handle,
}

impl Pool {
    /// Waits (as an idle thread) for the next job; `None` when the pool is full or closes.
    fn park(&self) -> Option<Box<Start>> {
        use core::sync::atomic::Ordering::Acquire;
        if self.closed.load(Acquire) {
            return None;
        }
        let (mine, wake) = libeurali::new_rendezvous().ok()?;
        let job = Arc::new(Mutex::new(None));
        {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let limit = self.limit.load(core::sync::atomic::Ordering::Relaxed);
            if idle.len() >= limit || self.closed.load(Acquire) {
                return None;
            }
            idle.push(Idle {
                job: job.clone(),
                wake,
            });
        }
        // A job comes with a message; the pool closing closes `wake`, which wakes us with
        // CLOSED (two references were left: ours and that one).
        libeurali::receive(&mine).ok()?;
        job.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Hands `start` to a waiting thread; gives it back if none takes it.
    fn hand_over(&self, mut start: Box<Start>) -> core::result::Result<(), Box<Start>> {
        loop {
            let Some(idle) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
                return Err(start);
            };
            *idle.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(start);
            // The thread is in its receive or on its way there: this waits for it.
            if libeurali::send(&idle.wake, Message::Short(0, 0, 0)).is_ok() {
                return Ok(());
            }
            // Gone (its process is ending): take the job back and try the next one.
            match idle.job.lock().unwrap_or_else(|e| e.into_inner()).take() {
                Some(s) => start = s,
                None => return Ok(()),
            }
        }
    }

    /// Lets every waiting thread end, and later finishers too (the process is ending).
    pub(crate) fn close(&self) {
        self.closed
            .store(true, core::sync::atomic::Ordering::Release);
        let idle = match self.idle.try_lock() {
            Some(mut i) => core::mem::take(&mut *i),
            None => return,
        };
        drop(idle);
    }
}

/// An owned permission to join a thread.
pub struct JoinHandle<T> {
    shared: Arc<Shared>,
    joiner: Handle,
    result: Arc<Mutex<Option<T>>>,
    thread: Thread,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to end; `Err` if it panicked.
    pub fn join(self) -> Result<T> {
        if self
            .shared
            .state
            .compare_exchange(RUNNING, WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // The thread sends exactly once after seeing WAITING. A receive error means the
            // rendezvous is gone, which can only happen if the thread's process was torn down.
            let _ = libeurali::receive(&self.joiner);
        }
        let value = self.result.lock().ok().and_then(|mut r| r.take());
        value.ok_or_else(|| Box::new("thread panicked") as Box<dyn Any + Send>)
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == DONE
    }

    pub fn thread(&self) -> &Thread {
        &self.thread
    }
}

/// A thread's name, as far as eurali keeps one.
#[derive(Clone, Debug)]
pub struct Thread {
    name: Option<String>,
}

impl Thread {
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The current thread (its name, if it was spawned with one).
pub fn current() -> Thread {
    Thread {
        name: crate::sys::current_thread_name(),
    }
}

/// Thread factory, for a name.
#[derive(Default)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// Accepted for std's shape; every eurali thread has the kernel's fixed 28 KiB stack.
    pub fn stack_size(self, _size: usize) -> Builder {
        self
    }

    /// Starts the thread; fails if the kernel has no thread slot left (64 per process).
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let result = Arc::new(Mutex::new(None));
        let slot = result.clone();
        let body: Box<dyn FnOnce() + Send> = Box::new(move || {
            let v = f();
            if let Ok(mut r) = slot.lock() {
                *r = Some(v);
            }
        });
        let (shared, joiner, thread) = self.spawn_boxed(body)?;
        Ok(JoinHandle {
            shared,
            joiner,
            result,
            thread,
        })
    }

    /// [`Builder::spawn`] past its closure: one copy for every kind of thread, where the generic
    /// `spawn` keeps only what depends on the closure's types.
    fn spawn_boxed(
        self,
        body: Box<dyn FnOnce() + Send>,
    ) -> io::Result<(Arc<Shared>, Handle, Thread)> {
        let (child_end, joiner) = libeurali::new_rendezvous()?;
        let shared = Arc::new(Shared {
            state: AtomicU8::new(RUNNING),
            notify: Mutex::new(Some(child_end)),
            name: self.name.clone(),
        });
        let start = Box::new(Start {
            shared: shared.clone(),
            body,
            context: crate::sys::inherit_context(),
        });
        let thread = Thread { name: self.name };
        let pool = crate::sys::runtime().map(|rt| rt.pool.clone());
        let start = match pool {
            Some(p) => match p.hand_over(start) {
                Ok(()) => return Ok((shared, joiner, thread)),
                Err(start) => start,
            },
            None => start,
        };
        let arg = Box::into_raw(start) as u64;
        // Safety: THREAD_ENTRY runs `rt::thread_main(arg)`, which takes back the box exactly once.
        match unsafe { libeurali::spawn_thread(crate::sys::THREAD_ENTRY, arg) } {
            Ok(_) => Ok((shared, joiner, thread)),
            Err(e) => {
                // Safety: the thread was not started, so the box is still ours.
                drop(unsafe { Box::from_raw(arg as *mut Start) });
                // MEMALLOC: no stack slot left (or no frame for one): EAGAIN, as Linux's
                // pthread_create says it.
                Err(match e {
                    libeurali::Error::MemAlloc => io::Error::new(
                        io::ErrorKind::WouldBlock,
                        alloc::format!(
                            "resource temporarily unavailable: {} threads",
                            libeurali::abi::layout::MAX_THREADS
                        ),
                    ),
                    e => e.into(),
                })
            }
        }
    }
}

/// Starts a thread running `f`.
///
/// # Panics
/// If the kernel cannot start another thread (64 per process), like std's `spawn`.
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().spawn(f) {
        Ok(h) => h,
        Err(e) => panic!("failed to spawn thread: {e}"),
    }
}

/// Gives up the processor (the kernel's `yield`).
/// Bytes of stack left below the caller (eurali extension): on a Merriwig stack slot (the real
/// kernel and hosted mode: 28 KiB per thread above a guard page, whose touch halts the machine),
/// how far the caller is from the guard page; `None` where threads run on host stacks (the
/// in-process stub). Deeply recursive code (the shell's interpreter) checks it before it goes
/// deeper, so that it fails with an error instead of halting the machine.
pub fn stack_remaining() -> Option<usize> {
    use libeurali::abi::layout;
    let marker = 0u8;
    let addr = core::hint::black_box(&marker) as *const u8 as u64;
    let slot = layout::stack_slot_of(addr)?;
    let lowest = layout::STACKS_START + slot as u64 * layout::STACK_SLOT_SIZE + layout::PAGE_SIZE;
    Some(addr.saturating_sub(lowest) as usize)
}

pub fn yield_now() {
    crate::rt::checkpoint();
    crate::sys::relax();
}

/// Sleeps at least `d`. The kernel has no timers: on the real kernel this yields until the clock
/// passes the deadline.
///
/// A killed process's thread ends during the sleep (see [`crate::rt::checkpoint`]).
pub fn sleep(d: Duration) {
    crate::rt::sleep(d.as_micros().min(u64::MAX as u128) as u64);
}

/// Whether the current thread is unwinding from a panic (never on the real kernel).
pub fn panicking() -> bool {
    crate::sys::panicking()
}

pub(crate) fn shared_name(s: &Shared) -> Option<String> {
    s.name.clone()
}
