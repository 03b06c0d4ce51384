//! The remaining system calls as safe functions (the message calls are in [`crate::message`], the
//! object calls on [`Handle`] and [`MemoryChunk`]).

use crate::abi::{Call, ExecCall, UserSlice};
use crate::error::{Error, Result};
use crate::object::{Handle, MemoryChunk, call, checked};
use crate::raw;

fn slice(b: &[u8]) -> UserSlice {
    UserSlice {
        ptr: b.as_ptr() as u64,
        len: b.len() as u64,
    }
}

/// `debug_write`: the kernel's own screen line. Nothing is written for an empty string.
pub fn debug_write(s: &str) {
    if !s.is_empty() {
        call(Call::DebugWrite(slice(s.as_bytes())));
    }
}

/// `exit_thread`: ends the calling thread; the process ends with its last thread.
pub fn exit_thread() -> ! {
    call(Call::ExitThread);
    // The kernel never returns from exit_thread; a stub that did would be a stub bug.
    #[allow(clippy::empty_loop)]
    loop {}
}

/// `await_interrupt`: block until the next keyboard IRQ.
pub fn await_interrupt() {
    call(Call::AwaitInterrupt);
}

/// `open`: a new handle to the rendezvous mounted at the longest matching prefix of `path`, and
/// that prefix's length (the rest of the path, from there, goes to the server).
pub fn open(path: &str) -> Result<(Handle, usize)> {
    let r = checked(Call::Open(slice(path.as_bytes())))?;
    // Safety: a successful open gives us a new handle.
    Ok((unsafe { Handle::from_raw(r.rdi as u32) }, r.rsi as usize))
}

/// `mount`: moves `handle` into this process's mount table at `path`. On error 6 (the path is
/// not UTF-8; not possible from a `&str`) the kernel keeps the handle out of the table; on error 3
/// it names no handle. Either way the handle comes back.
pub fn mount(path: &str, handle: Handle) -> core::result::Result<(), (Error, Handle)> {
    let r = call(Call::Mount {
        handle: handle.raw(),
        path: slice(path.as_bytes()),
    });
    match r.error() {
        None => {
            handle.into_raw();
            Ok(())
        }
        Some(e) => Err((e, handle)),
    }
}

/// `umount`: removes the first mount whose stored path equals `path` byte for byte.
pub fn umount(path: &str) -> Result<()> {
    checked(Call::Umount(slice(path.as_bytes()))).map(|_| ())
}

/// `list_mounts`: the kernel's text of this process's mount table (§5.1).
pub fn list_mounts_raw() -> Result<MemoryChunk> {
    let r = checked(Call::ListMounts)?;
    // Safety: the kernel hands us a chunk of RSI bytes, contiguous and written.
    let mut c = unsafe { MemoryChunk::from_raw(r.rdi) };
    // SAFETY: the kernel wrote RSI bytes into the chunk.
    unsafe { c.set_len(r.rsi as usize) };
    Ok(c)
}

/// `list_mounts`, parsed into paths (the root mount is `""`).
#[cfg(feature = "alloc")]
pub fn list_mounts() -> Result<alloc::vec::Vec<alloc::string::String>> {
    let c = list_mounts_raw()?;
    crate::params::parse_mount_list(c.as_slice())
}

/// `exec`: starts `elf` as a new process with `stdin`/`stdout` as its handles 0 and 1 and the
/// parameter string `params` (see [`crate::params::ExecParams`]). Returns the new thread's id.
///
/// The handles are consumed whatever happens: the kernel loses them on most failures (§4.6). An
/// empty ELF or an over-long parameter string is refused here, before the kernel sees (and loses)
/// anything.
pub fn exec(
    elf: &[u8],
    stdin: Handle,
    stdout: Handle,
    params: &[u8],
    perm_io: bool,
) -> Result<u64> {
    if elf.is_empty()
        || elf.len() > u32::MAX as usize
        || params.len() > crate::abi::layout::MAX_PARAM_LEN
    {
        return Err(Error::Param);
    }
    let c = Call::Exec(ExecCall {
        flags: if perm_io {
            crate::abi::bits::EXEC_PERM_IO
        } else {
            0
        },
        elf: slice(elf),
        stdin: stdin.into_raw(),
        stdout: stdout.into_raw(),
        param: slice(params),
    });
    checked(c).map(|r| r.rdi)
}

/// Starts a thread running `entry(arg)` (fork_thread with the R8/R9 contract, §1.4).
///
/// # Safety
/// `entry` must be sound to run concurrently on a fresh stack with `arg`, and must end with
/// [`exit_thread`].
pub unsafe fn spawn_thread(entry: raw::ThreadEntry, arg: u64) -> Result<u64> {
    // Safety: forwarded.
    unsafe { raw::spawn_thread(entry, arg) }
        .map_err(|rax| Error::from_code((rax & 0x7F) as u8).unwrap_or(Error::Other(0)))
}

/// Starts a thread running the closure `f`, then `exit_thread`. For servers and tools below
/// std-shim; programs use `std::thread::spawn`, which can also be joined.
#[cfg(feature = "alloc")]
pub fn spawn_fn(f: impl FnOnce() + Send + 'static) -> Result<u64> {
    type Job = alloc::boxed::Box<dyn FnOnce() + Send>;
    extern "C-unwind" fn trampoline(arg: u64) -> ! {
        // Safety: `arg` is the box leaked below, taken back exactly once.
        let f = unsafe { alloc::boxed::Box::from_raw(arg as *mut Job) };
        f();
        exit_thread()
    }
    let arg = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(alloc::boxed::Box::new(f) as Job))
        as u64;
    // Safety: the trampoline takes the box back exactly once; if no thread starts, we do.
    match unsafe { spawn_thread(trampoline, arg) } {
        Ok(t) => Ok(t),
        Err(e) => {
            // SAFETY: no thread started, so the box leaked above is still ours, taken back once.
            drop(unsafe { alloc::boxed::Box::from_raw(arg as *mut Job) });
            Err(e)
        }
    }
}

/// The runtime's thread pool, for [`spawn_pooled`] (std-shim installs it).
#[cfg(feature = "alloc")]
pub struct ThreadPool {
    /// Whether the calling thread's process has a pool to use.
    pub available: fn() -> bool,
    /// Runs the closure on a pooled thread of the calling process.
    pub spawn: fn(alloc::boxed::Box<dyn FnOnce() + Send>) -> Result<()>,
}

#[cfg(feature = "alloc")]
static THREAD_POOL: core::sync::atomic::AtomicPtr<ThreadPool> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Makes `p` the thread pool [`spawn_pooled`] uses (std-shim does, once).
#[cfg(feature = "alloc")]
pub fn install_thread_pool(p: &'static ThreadPool) {
    THREAD_POOL.store(
        p as *const ThreadPool as *mut ThreadPool,
        core::sync::atomic::Ordering::Release,
    );
}

/// As [`spawn_fn`], on a thread of the runtime's pool where there is one: a thread that ends
/// gives its stack frames back to the kernel (ABI §9.23) and its stack slot is never given out
/// again (64 threads per process life), so servers that start a thread per session use this.
#[cfg(feature = "alloc")]
pub fn spawn_pooled(f: impl FnOnce() + Send + 'static) -> Result<()> {
    // Safety: only ever set from a `&'static ThreadPool`.
    let pool = unsafe {
        THREAD_POOL
            .load(core::sync::atomic::Ordering::Acquire)
            .as_ref()
    };
    match pool {
        Some(p) if (p.available)() => (p.spawn)(alloc::boxed::Box::new(f)),
        _ => spawn_fn(f).map(|_| ()),
    }
}

/// What a program finds in its registers at entry (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRegisters {
    /// RAX: heap start.
    pub heap_start: u64,
    /// RCX: heap size.
    pub heap_size: u64,
    /// RDX: args block, or 0.
    pub args: u64,
    /// RDI: env block, or 0.
    pub env: u64,
}
