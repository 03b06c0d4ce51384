//! Linux system calls for code that may run where libc must not: in the guest's signal handlers
//! and on guest threads created with a bare `clone` (they share the loader thread's TLS, so
//! nothing that touches `errno` or any thread-local may run there). Results are the kernel's: a
//! negative value is `-errno`.
//!
//! What rustix offers in its stable API goes through rustix, whose `linux_raw` backend (the
//! default on x86_64 Linux; this crate never enables `use-libc`) makes the `syscall` itself and
//! keeps no `errno`. The calls rustix has only in its unstable `runtime` module or not at all
//! (`exit` of one thread, `exit_group`, `rt_sigprocmask`, `sigaltstack`, `mincore`,
//! `process_vm_readv`, the bare `clone`) go through [`syscall6`].

use core::arch::asm;

/// `syscall` with up to six arguments.
///
/// # Safety
/// The call must be valid for its arguments (pointers, descriptors), as for any system call.
#[inline(always)]
pub unsafe fn syscall6(nr: i64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // Safety: the caller's contract; `syscall` clobbers RCX and R11 only.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// # Safety
/// As for [`syscall6`].
#[inline(always)]
pub unsafe fn syscall3(nr: i64, a: u64, b: u64, c: u64) -> i64 {
    // SAFETY: the caller keeps `syscall6`'s contract for these arguments.
    unsafe { syscall6(nr, [a, b, c, 0, 0, 0]) }
}

use rustix::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use rustix::io::Errno;
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;

/// A rustix result as the kernel's: the value, or `-errno`.
fn raw(r: Result<usize, Errno>) -> i64 {
    match r {
        Ok(n) => n as i64,
        Err(e) => -(e.raw_os_error() as i64),
    }
}

/// `fd`, borrowed for one call.
///
/// # Safety
/// `fd` must be open (not -1) and stay open for the borrow (every caller here holds its
/// descriptor until the call returns).
unsafe fn borrow(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: the caller's contract.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// `mmap`: anonymous when `fd` is negative (`MAP_ANONYMOUS` in `flags` is implied then).
pub fn mmap(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, off: u64) -> i64 {
    let prot = ProtFlags::from_bits_retain(prot as u32);
    let flags = MapFlags::from_bits_retain((flags & !libc::MAP_ANONYMOUS) as u32);
    let ptr = addr as *mut core::ffi::c_void;
    let len = len as usize;
    let r = if fd < 0 {
        // SAFETY: callers own the range they map (MAP_FIXED) or let the kernel choose it.
        unsafe { rustix::mm::mmap_anonymous(ptr, len, prot, flags) }
    } else {
        // SAFETY: as above; `fd` is open for the call (its owner closes it after).
        unsafe { rustix::mm::mmap(ptr, len, prot, flags, borrow(fd), off) }
    };
    raw(r.map(|p| p as usize))
}

pub fn mprotect(addr: u64, len: u64, prot: i32) -> i64 {
    let prot = MprotectFlags::from_bits_retain(prot as u32);
    // SAFETY: callers change the protection of pages of their own areas only.
    raw(unsafe { rustix::mm::mprotect(addr as *mut _, len as usize, prot) }.map(|()| 0))
}

pub fn munmap(addr: u64, len: u64) -> i64 {
    // SAFETY: callers unmap mappings of their own that nothing uses any more.
    raw(unsafe { rustix::mm::munmap(addr as *mut _, len as usize) }.map(|()| 0))
}

/// Writes `bytes` to `fd` once (no retry of a short write).
pub fn write(fd: i32, bytes: &[u8]) -> i64 {
    // SAFETY: callers pass a descriptor open for the call.
    raw(rustix::io::write(unsafe { borrow(fd) }, bytes))
}

/// Writes `bytes` to `fd` at `off`, once.
pub fn pwrite(fd: i32, bytes: &[u8], off: u64) -> i64 {
    // SAFETY: callers pass a descriptor open for the call.
    raw(rustix::io::pwrite(unsafe { borrow(fd) }, bytes, off))
}

pub fn close(fd: i32) {
    // SAFETY: the caller owns `fd` and uses it no more.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
}

pub fn exit_thread(code: i32) -> ! {
    loop {
        // SAFETY: ends the calling thread only.
        unsafe { syscall3(libc::SYS_exit, code as u64, 0, 0) };
    }
}

pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: ends the process.
        unsafe { syscall3(libc::SYS_exit_group, code as u64, 0, 0) };
    }
}

pub fn sched_yield() {
    rustix::thread::sched_yield();
}

/// Sends `bytes` as one datagram on a SOCK_SEQPACKET socket, with `fd` attached if >= 0.
pub fn send_packet(sock: i32, bytes: &[u8], fd: i32) -> i64 {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    if fd >= 0 {
        // SAFETY: the caller holds `fd` open until this returns.
        fds = [unsafe { borrow(fd) }];
        if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
            return -(libc::ENOBUFS as i64);
        }
    }
    loop {
        // SAFETY: the caller holds `sock` open.
        let sock = unsafe { borrow(sock) };
        let r = rustix::net::sendmsg(
            sock,
            &[IoSlice::new(bytes)],
            &mut control,
            SendFlags::NOSIGNAL,
        );
        if r != Err(Errno::INTR) {
            return raw(r);
        }
    }
}

/// Receives one datagram into `buf`, waiting for it unless `dontwait`; returns (bytes, attached
/// fd or -1). 0 bytes = EOF.
pub fn recv_packet(sock: i32, buf: &mut [u8], dontwait: bool) -> (i64, i32) {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut flags = RecvFlags::CMSG_CLOEXEC;
    if dontwait {
        flags |= RecvFlags::DONTWAIT;
    }
    let r = loop {
        // SAFETY: the caller holds `sock` open.
        let sock = unsafe { borrow(sock) };
        let r = rustix::net::recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut control, flags);
        if r.as_ref().err() != Some(&Errno::INTR) {
            break r;
        }
    };
    let mut fd = -1;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg
            && let Some(f) = fds.next()
            && fd < 0
        {
            fd = f.into_raw_fd();
        }
    }
    (raw(r.map(|m| m.bytes)), fd)
}

/// [`recv_packet`] that first polls without blocking up to `spins` times, yielding between polls: a peer on another CPU
/// usually answers within microseconds, and a blocked reader's wake-up across CPUs costs far
/// more than that on a small VM.
pub fn recv_packet_spin(sock: i32, buf: &mut [u8], spins: u32) -> (i64, i32) {
    for _ in 0..spins {
        let r = recv_packet(sock, buf, true);
        if r.0 != -(libc::EAGAIN as i64) {
            return r;
        }
        // Yield rather than spin: on the same CPU the peer needs this time to answer.
        sched_yield();
    }
    recv_packet(sock, buf, false)
}
