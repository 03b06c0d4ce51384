//! Reading "user" memory without trusting it.
//!
//! The real kernel checks no pointer: it reads the caller's memory directly and a bad pointer or
//! length page-faults in kernel mode, halting the machine (§1.1, §9.15). The stub must say so
//! instead of crashing the test binary, so it copies user bytes with `process_vm_readv` on its own
//! process, which fails with `EFAULT` where a plain read would segfault. (If that call is not
//! allowed here, writing the bytes into a pipe serves the same purpose.)

use std::sync::OnceLock;

/// Largest piece copied per host call.
const PIECE: usize = 1 << 20;

/// The range `[ptr, ptr + len)` cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadRange {
    pub ptr: u64,
    pub len: u64,
}

impl core::fmt::Display for BadRange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "kernel page fault reading user pointer {:#x} len {}",
            self.ptr, self.len
        )
    }
}

/// Copies `len` bytes from `ptr`. `len = 0` reads nothing and always succeeds.
pub fn read(ptr: u64, len: u64) -> Result<Vec<u8>, BadRange> {
    let bad = BadRange { ptr, len };
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.checked_add(len).is_none_or(|end| end > i64::MAX as u64) {
        return Err(bad);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(PIECE as u64) as usize;
        out.try_reserve(n).map_err(|_| bad)?;
        let at = out.len();
        let src = ptr + done;
        // Safety: `out` has `n` spare bytes reserved; the copy writes at most that many and we
        // extend the length only by what was written.
        let got = unsafe { copy_piece(src, out.as_mut_ptr().add(at), n) };
        if got != n {
            return Err(bad);
        }
        // Safety: `got` bytes were just initialised.
        unsafe { out.set_len(at + got) };
        done += n as u64;
    }
    Ok(out)
}

/// Copies `len` bytes from `ptr` in another process (a hosted guest), with `process_vm_readv`.
pub fn read_from(pid: i32, ptr: u64, len: u64) -> Result<Vec<u8>, BadRange> {
    let bad = BadRange { ptr, len };
    if len == 0 {
        return Ok(Vec::new());
    }
    if pid <= 0 || ptr.checked_add(len).is_none_or(|end| end > i64::MAX as u64) {
        return Err(bad);
    }
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve(len as usize).map_err(|_| bad)?;
    let mut done = 0usize;
    while done < len as usize {
        let n = (len as usize - done).min(PIECE);
        let local = libc::iovec {
            // Safety: within the reserved capacity.
            iov_base: unsafe { out.as_mut_ptr().add(done) }.cast(),
            iov_len: n,
        };
        let remote = libc::iovec {
            iov_base: (ptr as usize + done) as *mut libc::c_void,
            iov_len: n,
        };
        // Safety: the local iovec lies in reserved capacity; the remote one is only read by the
        // host kernel, which reports a fault as a short count or EFAULT.
        let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if r != n as isize {
            return Err(bad);
        }
        done += n;
        // Safety: `done` bytes are initialised.
        unsafe { out.set_len(done) };
    }
    Ok(out)
}

/// Copies one piece of at most [`PIECE`] bytes; returns how many bytes arrived (short on a
/// fault).
///
/// # Safety
/// `dst` must be writable for `n` bytes.
unsafe fn copy_piece(src: u64, dst: *mut u8, n: usize) -> usize {
    static VM_READV_WORKS: OnceLock<bool> = OnceLock::new();
    if *VM_READV_WORKS.get_or_init(vm_readv_works) {
        let local = libc::iovec {
            iov_base: dst.cast(),
            iov_len: n,
        };
        let remote = libc::iovec {
            iov_base: src as *mut libc::c_void,
            iov_len: n,
        };
        // Safety: the local iovec is writable (caller's contract); the remote one is only read
        // by the host kernel, which reports a fault instead of delivering a signal.
        let r = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
        if r < 0 { 0 } else { r as usize }
    } else {
        // Safety: forwarded.
        unsafe { copy_via_pipe(src, dst, n) }
    }
}

fn vm_readv_works() -> bool {
    let probe = [1u8; 8];
    let mut out = [0u8; 8];
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: 8,
    };
    let remote = libc::iovec {
        iov_base: probe.as_ptr() as *mut libc::c_void,
        iov_len: 8,
    };
    // Safety: both buffers are live locals of 8 bytes.
    let r = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    r == 8 && out == probe
}

/// The fallback: `write` from the user range into a pipe (the host kernel returns `EFAULT` for
/// an unreadable source), then read it back, 64 KiB at a time.
///
/// # Safety
/// `dst` must be writable for `n` bytes.
unsafe fn copy_via_pipe(src: u64, dst: *mut u8, n: usize) -> usize {
    let mut fds = [0i32; 2];
    // Safety: `fds` is a two-element array as pipe2 requires.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return 0;
    }
    let mut done = 0;
    while done < n {
        let want = (n - done).min(1 << 16);
        // Safety: a write from the user range; a bad range fails with EFAULT, nothing else.
        let w = unsafe { libc::write(fds[1], (src as usize + done) as *const libc::c_void, want) };
        if w <= 0 {
            break;
        }
        let mut r = 0usize;
        while r < w as usize {
            // Safety: `dst + done + r` has `w - r` writable bytes left (within `n`).
            let got = unsafe { libc::read(fds[0], dst.add(done + r).cast(), w as usize - r) };
            if got <= 0 {
                break;
            }
            r += got as usize;
        }
        done += r;
        if r != w as usize {
            break;
        }
    }
    // Safety: closing the two descriptors we opened.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_good_ranges_and_reports_bad_ones() {
        let data = b"hello, kernel";
        assert_eq!(read(data.as_ptr() as u64, data.len() as u64).unwrap(), data);
        assert_eq!(read(0, 0).unwrap(), b"");
        assert_eq!(read(0x10, 5), Err(BadRange { ptr: 0x10, len: 5 }));
        assert!(read(data.as_ptr() as u64, u64::MAX).is_err());
        // A range that runs off a mapping.
        let big = vec![7u8; 3 << 20];
        assert_eq!(read(big.as_ptr() as u64, big.len() as u64).unwrap(), big);
        let mut fallback = vec![0u8; 100_000];
        // Safety: `fallback` has room for the copy.
        let n = unsafe { copy_via_pipe(big.as_ptr() as u64, fallback.as_mut_ptr(), 100_000) };
        assert_eq!(n, 100_000);
        assert!(fallback.iter().all(|&b| b == 7));
        // Safety: as above; the source is unmapped so nothing arrives.
        assert_eq!(unsafe { copy_via_pipe(0x10, fallback.as_mut_ptr(), 10) }, 0);
    }
}
