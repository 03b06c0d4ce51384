//! The panic handler of real-kernel programs.
//!
//! A panic prints `panicked at FILE:LINE: MESSAGE` on the kernel's screen line (debug_write,
//! which needs no handle and no allocation) and then goes to [`crate::rt::on_panic`], which
//! reports it on stderr and the status channel and ends the thread. Nothing here aborts: a
//! `ud2` halts the whole machine (ABI §4.9). Allocation failure arrives here too (alloc's
//! default error handler panics, through `core::panicking::panic_nounwind_fmt` when it cannot
//! unwind), so an out-of-memory thread prints and ends like any other panic.

use core::fmt::{self, Write};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};
use libeurali::abi::layout;

/// Per stack slot (= per live thread): whether that thread is inside the panic handler. There
/// is no thread-local storage on this kernel, but a thread's stack slot identifies it.
static PANICKING: [AtomicBool; layout::MAX_THREADS] =
    [const { AtomicBool::new(false) }; layout::MAX_THREADS];

/// Clears the panic flag of the calling thread's slot (a slot is reused by later threads).
pub(super) fn thread_started() {
    if let Some(slot) = super::current_stack_slot() {
        PANICKING[slot].store(false, Ordering::Relaxed);
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let nested = match super::current_stack_slot() {
        Some(slot) => PANICKING[slot].swap(true, Ordering::Relaxed),
        None => false,
    };
    if nested {
        // The report itself panicked: do not recurse into it again.
        super::abort_process("panicked while panicking; thread ended\n");
    }
    let mut line = LineBuf::new();
    match info.location() {
        Some(loc) => {
            let _ = write!(
                line,
                "panicked at {}:{}: {}",
                loc.file(),
                loc.line(),
                info.message()
            );
        }
        None => {
            let _ = write!(line, "panicked: {}", info.message());
        }
    }
    libeurali::debug_write(line.finish());
    crate::rt::on_panic(info)
}

/// A line of at most `LineBuf::CAP` bytes on the stack, newline included; longer text is cut at
/// a char boundary.
struct LineBuf {
    buf: [u8; LineBuf::CAP],
    len: usize,
}

impl LineBuf {
    const CAP: usize = 240;

    fn new() -> LineBuf {
        LineBuf {
            buf: [0; LineBuf::CAP],
            len: 0,
        }
    }

    /// The text with a newline after it.
    fn finish(&mut self) -> &str {
        self.buf[self.len] = b'\n';
        // Only whole UTF-8 characters are ever copied in (see write_str).
        core::str::from_utf8(&self.buf[..self.len + 1]).unwrap_or("panicked\n")
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // One byte stays free for the newline.
        let room = LineBuf::CAP - 1 - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
