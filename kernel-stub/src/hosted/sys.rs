//! Raw Linux system calls for code that may run where libc must not: in the guest's signal
//! handlers and on guest threads created with a bare `clone` (they share the loader thread's TLS,
//! so nothing that touches `errno` or any thread-local may run there). Results are the kernel's:
//! a negative value is `-errno`.

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

pub fn mmap(addr: u64, len: u64, prot: i32, flags: i32, fd: i32, off: u64) -> i64 {
    // Safety: mmap takes no pointer it dereferences; MAP_FIXED callers own the range.
    unsafe {
        syscall6(
            libc::SYS_mmap,
            [addr, len, prot as u64, flags as u64, fd as i64 as u64, off],
        )
    }
}

pub fn mprotect(addr: u64, len: u64, prot: i32) -> i64 {
    // Safety: no pointer is dereferenced.
    unsafe { syscall3(libc::SYS_mprotect, addr, len, prot as u64) }
}

pub fn close(fd: i32) {
    // Safety: closing a descriptor.
    unsafe { syscall3(libc::SYS_close, fd as u64, 0, 0) };
}

pub fn exit_thread(code: i32) -> ! {
    loop {
        // Safety: ends the calling thread only.
        unsafe { syscall3(libc::SYS_exit, code as u64, 0, 0) };
    }
}

pub fn exit_group(code: i32) -> ! {
    loop {
        // Safety: ends the process.
        unsafe { syscall3(libc::SYS_exit_group, code as u64, 0, 0) };
    }
}

pub fn sched_yield() {
    // Safety: no arguments.
    unsafe { syscall3(libc::SYS_sched_yield, 0, 0, 0) };
}

/// Sends `bytes` as one datagram on a SOCK_SEQPACKET socket, with `fd` attached if >= 0.
pub fn send_packet(sock: i32, bytes: &[u8], fd: i32) -> i64 {
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let mut cbuf = [0u64; 4];
    // Safety: a zeroed msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if fd >= 0 {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        // Safety: CMSG_SPACE is arithmetic.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
        // Safety: the control buffer has CMSG_SPACE(4) <= 32 bytes, 8-byte aligned.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
            (libc::CMSG_DATA(c) as *mut i32).write_unaligned(fd);
        }
    }
    loop {
        // Safety: `msg` points at live buffers for the call.
        let r = unsafe {
            syscall3(
                libc::SYS_sendmsg,
                sock as u64,
                &msg as *const libc::msghdr as u64,
                libc::MSG_NOSIGNAL as u64,
            )
        };
        if r != -(libc::EINTR as i64) {
            return r;
        }
    }
}

/// Receives one datagram into `buf`; returns (bytes, attached fd or -1). 0 bytes = EOF.
pub fn recv_packet(sock: i32, buf: &mut [u8], flags: i32) -> (i64, i32) {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 4];
    // Safety: a zeroed msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = core::mem::size_of_val(&cbuf);
    let r = loop {
        // Safety: `msg` points at live buffers for the call.
        let r = unsafe {
            syscall3(
                libc::SYS_recvmsg,
                sock as u64,
                &mut msg as *mut libc::msghdr as u64,
                (flags | libc::MSG_CMSG_CLOEXEC) as u64,
            )
        };
        if r != -(libc::EINTR as i64) {
            break r;
        }
    };
    let mut fd = -1;
    if r > 0 && msg.msg_controllen > 0 {
        // Safety: the kernel filled the control buffer with well-formed headers.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if !c.is_null()
                && (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == libc::SCM_RIGHTS
            {
                fd = (libc::CMSG_DATA(c) as *const i32).read_unaligned();
            }
        }
    }
    (r, fd)
}

/// [`recv_packet`] that first polls without blocking up to `spins` times, yielding between polls: a peer on another CPU
/// usually answers within microseconds, and a blocked reader's wake-up across CPUs costs far
/// more than that on a small VM.
pub fn recv_packet_spin(sock: i32, buf: &mut [u8], spins: u32) -> (i64, i32) {
    for _ in 0..spins {
        let r = recv_packet(sock, buf, libc::MSG_DONTWAIT);
        if r.0 != -(libc::EAGAIN as i64) {
            return r;
        }
        // Yield rather than spin: on the same CPU the peer needs this time to answer.
        sched_yield();
    }
    recv_packet(sock, buf, 0)
}
