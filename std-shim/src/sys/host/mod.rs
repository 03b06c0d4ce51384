//! The host backend: programs run as processes of the in-process kernel stub.
//!
//! Stub processes share one host address space, so per-process and per-thread runtime state is
//! kept in a host thread-local and handed to each new thread ([`InheritedContext`]). Panics are
//! std's unwinding panics: a hook (installed once) reports them on the process's own stderr and
//! marks the thread, and [`run_main_boxed`] turns them into an exit status. Other unwinds (the
//! stub ending a thread for `exit_thread` or shutdown) pass through untouched.

use alloc::boxed::Box;
use alloc::string::String;
use host::cell::RefCell;
use host::panic::{self, AssertUnwindSafe};

use crate::io;
use crate::rt::Runtime;
use crate::sync::Arc;
use crate::thread::Shared;

#[derive(Default)]
struct Context {
    rt: Option<Arc<Runtime>>,
    thread: Option<Arc<Shared>>,
    panicked: bool,
}

impl Drop for Context {
    fn drop(&mut self) {
        // Reached only when the host thread is torn down without `leave_thread` (the stub ended
        // it): the stub's own context may be gone already, so the handles inside cannot be
        // closed through it. Leave them to the stub, which drops the process's tables.
        core::mem::forget(self.rt.take());
        core::mem::forget(self.thread.take());
    }
}

host::thread_local! {
    static CONTEXT: RefCell<Context> = RefCell::new(Context::default());
}

/// What a new thread takes over from the thread that spawns it.
pub type InheritedContext = Option<Arc<Runtime>>;

/// The thread entry handed to fork_thread: the stub calls it on a new host thread.
pub const THREAD_ENTRY: libeurali::raw::ThreadEntry = crate::rt::thread_main;

pub fn set_runtime(rt: Runtime) {
    install_panic_hook();
    CONTEXT.with(|c| c.borrow_mut().rt = Some(Arc::new(rt)));
}

pub fn runtime() -> Option<Arc<Runtime>> {
    CONTEXT.try_with(|c| c.borrow().rt.clone()).ok().flatten()
}

pub fn inherit_context() -> InheritedContext {
    runtime()
}

pub fn enter_thread(rt: InheritedContext, shared: Arc<Shared>) {
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        c.rt = rt;
        c.thread = Some(shared);
        c.panicked = false;
    });
}

pub fn leave_thread() {
    // Drop our references while the stub still knows this thread (closing handles needs it).
    let taken = CONTEXT.try_with(|c| {
        let mut c = c.borrow_mut();
        (c.rt.take(), c.thread.take())
    });
    if let Ok((rt, thread)) = taken {
        if let Some(t) = &thread {
            t.finish(); // tell the joiner (idempotent)
        }
        drop((thread, rt));
    }
}

pub fn current_thread_name() -> Option<String> {
    CONTEXT
        .try_with(|c| {
            c.borrow()
                .thread
                .as_ref()
                .and_then(|s| crate::thread::shared_name(s))
        })
        .ok()
        .flatten()
}

pub fn run_main(main: fn()) -> Result<(), ()> {
    run_main_boxed(Box::new(main))
}

/// Runs a program's `main` or a thread body; `Err` if it panicked.
pub fn run_main_boxed(body: Box<dyn FnOnce() + Send>) -> Result<(), ()> {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => Ok(()),
        Err(payload) => {
            let ours = CONTEXT
                .try_with(|c| core::mem::take(&mut c.borrow_mut().panicked))
                .unwrap_or(false);
            if ours {
                Err(())
            } else {
                // Not a panic of the program: the stub is ending this thread. Let it.
                panic::resume_unwind(payload)
            }
        }
    }
}

fn install_panic_hook() {
    static HOOK: crate::sync::Once = crate::sync::Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_program = CONTEXT
                .try_with(|c| c.borrow().rt.is_some())
                .unwrap_or(false);
            if !in_program {
                return default(info);
            }
            let _ = CONTEXT.try_with(|c| c.borrow_mut().panicked = true);
            if crate::panic::has_hook() {
                // The program set its own hook (std::panic::set_hook): it reports.
                let info = crate::panic::PanicHookInfo::new(info.payload(), None, info.location());
                return crate::panic::report(&info);
            }
            let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                String::from(*s)
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                String::from("Box<dyn Any>")
            };
            let text = match info.location() {
                Some(l) => alloc::format!(
                    "panicked at {}:{}:{}:\n{}\n",
                    l.file(),
                    l.line(),
                    l.column(),
                    msg
                ),
                None => alloc::format!("panicked:\n{msg}\n"),
            };
            let _ = crate::rt::stdout_flush();
            let _ = crate::rt::stderr_write(text.as_bytes());
        }));
    });
}

pub fn panicking() -> bool {
    host::thread::panicking()
}

pub fn fallback_stdout(buf: &[u8]) -> io::Result<usize> {
    use host::io::Write;
    host::io::stdout()
        .write_all(buf)
        .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
    Ok(buf.len())
}

pub fn fallback_stderr(buf: &[u8]) -> io::Result<usize> {
    use host::io::Write;
    host::io::stderr()
        .write_all(buf)
        .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
    Ok(buf.len())
}

pub fn relax() {
    host::thread::yield_now();
}

pub fn now_micros() -> u64 {
    static START: host::sync::OnceLock<host::time::Instant> = host::sync::OnceLock::new();
    START
        .get_or_init(host::time::Instant::now)
        .elapsed()
        .as_micros() as u64
}

/// No figures on the host: a stub process shares the host program's allocator with all the
/// others.
pub fn heap_stats() -> Option<(u64, u64)> {
    None
}

pub fn sleep_micros(us: u64) {
    host::thread::sleep(core::time::Duration::from_micros(us));
}

/// Fills `buf` from the host's `/dev/urandom`; `true` if that worked (else a clock mix).
pub fn fill_random(buf: &mut [u8]) -> bool {
    use host::io::Read;
    if host::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_ok()
    {
        return true;
    }
    let mut x = now_micros() ^ 0x9e37_79b9_7f4a_7c15;
    for b in buf.iter_mut() {
        x = x
            .wrapping_mul(0x5851_f42d_4c95_7f2d)
            .wrapping_add(now_micros());
        *b = (x >> 33) as u8;
    }
    false
}

pub fn abort_process(_msg: &str) -> ! {
    libeurali::exit_thread()
}
