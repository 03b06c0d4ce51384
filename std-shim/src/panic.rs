//! `std::panic`: panic hooks, shaped like std's (`set_hook`, `take_hook`, `PanicHookInfo`).
//!
//! A hook belongs to the process that set it (on the host stub, processes share one address
//! space, so hooks are kept per runtime). The default hook is the runtime's report
//! (`panicked at FILE:LINE:COL:` and the message, on stderr); a hook set with [`set_hook`]
//! replaces it, and [`take_hook`] hands back whichever is in force, so a program can chain to
//! the previous one, as kibi does to restore the terminal before the message is printed. What
//! happens after the hook (the thread ends; `main` exits 101) does not change.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt;

pub use core::panic::{AssertUnwindSafe, Location, RefUnwindSafe, UnwindSafe};

use crate::sync::Mutex;

/// What a panic hook is told about a panic.
pub struct PanicHookInfo<'a> {
    payload: &'a (dyn Any + Send),
    message: Option<&'a dyn fmt::Display>,
    location: Option<&'a Location<'a>>,
}

impl<'a> PanicHookInfo<'a> {
    pub(crate) fn new(
        payload: &'a (dyn Any + Send),
        message: Option<&'a dyn fmt::Display>,
        location: Option<&'a Location<'a>>,
    ) -> Self {
        PanicHookInfo {
            payload,
            message,
            location,
        }
    }
    /// The panic's payload: a `&'static str` or a `String` for `panic!` with a message.
    pub fn payload(&self) -> &(dyn Any + Send) {
        self.payload
    }
    /// The payload, if it is a string.
    pub fn payload_as_str(&self) -> Option<&str> {
        if let Some(s) = self.payload.downcast_ref::<&str>() {
            Some(s)
        } else {
            self.payload
                .downcast_ref::<alloc::string::String>()
                .map(|s| s.as_str())
        }
    }
    /// Where the panic happened.
    pub fn location(&self) -> Option<&Location<'_>> {
        self.location
    }
}

impl fmt::Display for PanicHookInfo<'_> {
    /// `panicked at FILE:LINE:COL:` and the message on the next line, as std prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("panicked")?;
        if let Some(l) = self.location {
            write!(f, " at {}:{}:{}", l.file(), l.line(), l.column())?;
        }
        match (self.message, self.payload_as_str()) {
            (Some(m), _) => write!(f, ":\n{m}"),
            (None, Some(s)) => write!(f, ":\n{s}"),
            (None, None) => f.write_str(":\nBox<dyn Any>"),
        }
    }
}

impl fmt::Debug for PanicHookInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicHookInfo")
            .field("payload", &self.payload_as_str())
            .field("location", &self.location)
            .finish()
    }
}

/// The type of a panic hook.
type Hook = dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static;

/// The hooks set, one per process: `(the process's runtime, its hook)`.
static HOOKS: Mutex<Vec<(ProcessKey, Arc<Hook>)>> = Mutex::new(Vec::new());

/// Which process a hook belongs to.
#[cfg(not(target_os = "none"))]
type ProcessKey = alloc::sync::Weak<crate::rt::Runtime>;
/// Which process a hook belongs to (one process per address space on the real kernel).
#[cfg(target_os = "none")]
type ProcessKey = ();

#[cfg(not(target_os = "none"))]
fn this_process() -> Option<ProcessKey> {
    crate::sys::runtime().map(|rt| Arc::downgrade(&rt))
}
#[cfg(not(target_os = "none"))]
fn same(a: &ProcessKey, b: &ProcessKey) -> bool {
    a.ptr_eq(b) && a.strong_count() > 0
}
#[cfg(target_os = "none")]
fn this_process() -> Option<ProcessKey> {
    Some(())
}
#[cfg(target_os = "none")]
fn same(_: &ProcessKey, _: &ProcessKey) -> bool {
    true
}

/// The runtime's own report of a panic, on stderr (the default hook).
fn default_hook(info: &PanicHookInfo<'_>) {
    use core::fmt::Write as _;
    let mut line = crate::rt::FixedBuf::new();
    let _ = writeln!(line, "{info}");
    let _ = crate::rt::stdout_flush();
    let _ = crate::rt::stderr_write(line.as_bytes());
}

/// Makes `hook` this process's panic hook, replacing the one in force.
pub fn set_hook(hook: Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>) {
    let Some(me) = this_process() else { return };
    let mut hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    #[cfg(not(target_os = "none"))]
    hooks.retain(|(k, _)| k.strong_count() > 0);
    hooks.retain(|(k, _)| !same(k, &me));
    hooks.push((me, Arc::from(hook)));
}

/// Removes this process's panic hook and returns it (the default hook if none was set).
pub fn take_hook() -> Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static> {
    let taken = this_process().and_then(|me| {
        let mut hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
        let i = hooks.iter().position(|(k, _)| same(k, &me))?;
        Some(hooks.swap_remove(i).1)
    });
    match taken {
        Some(h) => Box::new(move |info: &PanicHookInfo<'_>| h(info)),
        None => Box::new(default_hook),
    }
}

/// Reports a panic of this process: through its hook, or the default report.
pub(crate) fn report(info: &PanicHookInfo<'_>) {
    let hook = this_process().and_then(|me| {
        let hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
        hooks
            .iter()
            .find(|(k, _)| same(k, &me))
            .map(|(_, h)| h.clone())
    });
    match hook {
        Some(h) => h(info),
        None => default_hook(info),
    }
}

/// Whether this process has a hook of its own (otherwise the runtime reports as it always did).
pub(crate) fn has_hook() -> bool {
    this_process().is_some_and(|me| {
        HOOKS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(k, _)| same(k, &me))
    })
}
