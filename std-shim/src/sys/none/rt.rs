//! Runtime state on the real kernel: one process per address space, so plain statics; and the
//! current thread found from its stack slot, since the kernel offers no TLS (§9.18).

use alloc::string::String;
use core::sync::atomic::{AtomicPtr, Ordering};

use libeurali::abi::layout;

use crate::io;
use crate::rt::Runtime;
use crate::sync::{Arc, OnceLock};
use crate::thread::Shared;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Spawned threads' shared state, by stack slot.
static THREADS: [AtomicPtr<Shared>; layout::MAX_THREADS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; layout::MAX_THREADS];

pub type InheritedContext = ();

fn my_slot() -> Option<usize> {
    let marker = 0u8;
    layout::stack_slot_of(core::ptr::addr_of!(marker) as u64)
}

/// The stack slot of the thread that ran `rt::start` (the program's main thread).
static MAIN_SLOT: core::sync::atomic::AtomicUsize =
    core::sync::atomic::AtomicUsize::new(usize::MAX);

pub fn set_runtime(rt: Runtime) {
    let _ = RUNTIME.set(rt);
    if let Some(s) = my_slot() {
        MAIN_SLOT.store(s, Ordering::Relaxed);
    }
}

pub fn runtime() -> Option<&'static Runtime> {
    RUNTIME.get()
}

pub fn inherit_context() -> InheritedContext {}

pub fn enter_thread(_: InheritedContext, shared: Arc<Shared>) {
    if let Some(s) = my_slot() {
        let old = THREADS[s].swap(Arc::into_raw(shared) as *mut Shared, Ordering::AcqRel);
        if !old.is_null() {
            // Safety: a leftover from a thread that ended in this slot without leaving.
            drop(unsafe { Arc::from_raw(old) });
        }
    }
}

/// The thread is ending: tell its joiner (idempotent) and drop its shared state.
pub fn leave_thread() {
    if let Some(s) = my_slot() {
        let old = THREADS[s].swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !old.is_null() {
            // Safety: stored by `enter_thread` from `Arc::into_raw`.
            let shared = unsafe { Arc::from_raw(old) };
            shared.finish();
        }
    }
}

/// The spawned thread running on this stack, if any.
pub fn current_shared() -> Option<Arc<Shared>> {
    let p = THREADS[my_slot()?].load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // Safety: the slot holds one strong count until `leave_thread`; only this thread leaves.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

pub fn current_thread_name() -> Option<String> {
    current_shared().and_then(|s| crate::thread::shared_name(&s))
}

pub fn run_main(main: fn()) -> Result<(), ()> {
    main();
    Ok(())
}

pub fn run_main_boxed(body: alloc::boxed::Box<dyn FnOnce() + Send>) -> Result<(), ()> {
    body();
    Ok(())
}

pub fn panicking() -> bool {
    false
}

fn debug(buf: &[u8]) -> io::Result<usize> {
    libeurali::debug_write(&String::from_utf8_lossy(buf));
    Ok(buf.len())
}

pub fn fallback_stdout(buf: &[u8]) -> io::Result<usize> {
    debug(buf)
}

pub fn fallback_stderr(buf: &[u8]) -> io::Result<usize> {
    debug(buf)
}

pub fn relax() {
    libeurali::yield_now();
}

/// The real kernel's panic path (called by the `#[panic_handler]`): report, then end the thread.
/// The main thread ends the process (`exit_all`) with status 101; a spawned thread ends and its joiner sees
/// the panic; any other thread just ends. Never aborts: `ud2` would halt the machine.
pub fn on_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if crate::panic::has_hook() {
        // The program set its own hook (std::panic::set_hook): it reports.
        let message = info.message();
        let payload: &'static str = message.as_str().unwrap_or("");
        let info = crate::panic::PanicHookInfo::new(
            &payload,
            Some(&message),
            crate::rt::known_location(info.location()),
        );
        crate::panic::report(&info);
    } else {
        crate::rt::panic_message(info);
    }
    if my_slot().is_some() && my_slot() == Some(MAIN_SLOT.load(Ordering::Relaxed)) {
        crate::rt::exit_all(crate::rt::PANIC_STATUS)
    }
    leave_thread();
    libeurali::exit_thread()
}
