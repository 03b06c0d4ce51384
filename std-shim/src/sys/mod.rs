//! The platform layer: the only part of std-shim that knows which backend it runs on.
//!
//! Both backends offer the same items (kibi-style), used by `rt`, `io`, `thread`, `time`:
//! runtime storage (`set_runtime`, `runtime`, `inherit_context`, `enter_thread`, `leave_thread`,
//! `current_thread_name`), running bodies (`run_main`, `run_main_boxed`, `panicking`), output
//! before a runtime exists (`fallback_stdout`, `fallback_stderr`), time and scheduling
//! (`relax`, `now_micros`, `sleep_micros`, `abort_process`, `THREAD_ENTRY`), and randomness
//! (`fill_random`).
//!
//! `none` (the real kernel) also owns `_start`, the global allocator and the panic handler (which
//! calls `on_panic`); its `rt` module keeps the runtime state there.

#[cfg(target_os = "none")]
mod none;
#[cfg(target_os = "none")]
pub use none::*;

#[cfg(not(target_os = "none"))]
mod host;
#[cfg(not(target_os = "none"))]
pub use host::*;
