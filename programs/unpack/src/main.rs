//! `unpack`: the head of every packed program (`libeurali::sfx`). Not a program of `/bin`:
//! `cargo xtask build` puts it in front of each program.
//!
//! At the kernel's entry it keeps the registers the program's entry reads (RAX heap start, RCX
//! heap size, RDX args block, RDI env block) and the stack pointer, inflates the payload at
//! `PAYLOAD_ADDR` into the program's memory, puts them back and jumps to the program's entry.
//! A head exec'd without its payload (`libeurali::sfx::split`: `CHUNK_MAGIC` at
//! `PAYLOAD_ADDR`) receives the payload in a chunk on the rendezvous mounted at `PAYLOAD_PATH`
//! instead, after taking that mount out of the namespace the program will see.
//! A payload that does not inflate to exactly the program's memory, Adler-32 included, is
//! reported on the kernel's debug line and the thread ends: nothing of it runs.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod head {
    use libeurali::sfx::{CHUNK_MAGIC, HEADER_LEN, Header, MAGIC, PAYLOAD_ADDR, PAYLOAD_PATH};
    use libeurali::{Message, Word, msgtype};
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

    // The entry: callee-saved registers keep the entry registers and the stack pointer across
    // the call; the stack is aligned for it; the program starts as the kernel would start it.
    core::arch::global_asm!(
        ".globl _start",
        "_start:",
        "mov r12, rax",
        "mov r13, rcx",
        "mov r14, rdx",
        "mov r15, rdi",
        "mov rbx, rsp",
        "and rsp, -16",
        "call {unpack}",
        "mov r11, rax",
        "mov rax, r12",
        "mov rcx, r13",
        "mov rdx, r14",
        "mov rdi, r15",
        "mov rsp, rbx",
        "jmp r11",
        unpack = sym unpack,
    );

    fn fail(why: &str) -> ! {
        libeurali::debug_write(why);
        libeurali::exit_thread()
    }

    /// The payload a split head's parent sends: the chunk's bytes, mapped for the process's
    /// life (the chunk is never freed: a process gives no frame back before its end).
    fn received_payload() -> &'static [u8] {
        let h = match libeurali::open(PAYLOAD_PATH) {
            // Only the mount itself: a shorter prefix is some server's, not ours to receive on.
            Ok((h, prefix)) if prefix == PAYLOAD_PATH.len() => h,
            _ => fail("unpack: no payload channel"),
        };
        let _ = libeurali::umount(PAYLOAD_PATH);
        let m = libeurali::receive(&h);
        drop(h);
        match m {
            Ok(Message::Long(msgtype::SFX_PAYLOAD, Word::Value(len), Word::Chunk(c))) => {
                let c = core::mem::ManuallyDrop::new(c);
                // Safety: the chunk stays mapped (never dropped) and its first `len` bytes are
                // the payload the parent copied in. The kernel does not say a chunk's size: the
                // parent that exec'd us is trusted for it, as for the file itself.
                unsafe { core::slice::from_raw_parts(c.base() as *const u8, len as usize) }
            }
            _ => fail("unpack: no payload came"),
        }
    }

    /// Inflates the program into its memory; returns its entry point.
    extern "C" fn unpack() -> u64 {
        // Safety: the packer put a payload segment at PAYLOAD_ADDR of HEADER_LEN bytes or
        // more, or `sfx::split` one of CHUNK_SEGMENT_LEN: its first 8 bytes are mapped.
        let magic = unsafe { core::slice::from_raw_parts(PAYLOAD_ADDR as *const u8, 8) };
        let payload: &[u8] = if magic == MAGIC {
            // Safety: a payload segment that starts with MAGIC is the packer's: HEADER_LEN
            // bytes, then packed_len more, checked below before the stream is read.
            let head =
                unsafe { core::slice::from_raw_parts(PAYLOAD_ADDR as *const u8, HEADER_LEN) };
            let Some(h) = Header::from_bytes(head) else {
                fail("unpack: no packed program in this file");
            };
            // Safety: as above.
            unsafe {
                core::slice::from_raw_parts(
                    PAYLOAD_ADDR as *const u8,
                    HEADER_LEN + h.packed_len as usize,
                )
            }
        } else if magic == CHUNK_MAGIC {
            // Safety: a split head's segment is CHUNK_SEGMENT_LEN bytes: the magic, then the
            // header the payload must carry.
            let own = unsafe {
                core::slice::from_raw_parts((PAYLOAD_ADDR as *const u8).add(8), HEADER_LEN)
            };
            let payload = received_payload();
            if payload.get(..HEADER_LEN) != Some(own) {
                fail("unpack: the payload is another program's");
            }
            payload
        } else {
            fail("unpack: no packed program in this file");
        };
        let Some(h) = Header::from_bytes(payload) else {
            fail("unpack: no packed program in the payload");
        };
        let Some(stream) = payload.get(HEADER_LEN..HEADER_LEN + h.packed_len as usize) else {
            fail("unpack: the payload is cut short");
        };
        // Safety: the packer made the segment [dest, dest + dest_len) with nothing else in it:
        // ours to write.
        let memory =
            unsafe { core::slice::from_raw_parts_mut(h.dest as *mut u8, h.dest_len as usize) };
        let mut state = DecompressorOxide::new();
        let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
            | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
            | inflate_flags::TINFL_FLAG_COMPUTE_ADLER32;
        let (status, _, written) = decompress(&mut state, stream, memory, 0, flags);
        if status != TINFLStatus::Done || written != memory.len() {
            fail("unpack: the packed program is damaged");
        }
        h.entry
    }

    /// libeurali brings the `alloc` crate, which wants an allocator; the unpacker allocates
    /// nothing (the program's heap is the program's), so every request fails.
    struct NoHeap;

    // Safety: returning null is how a GlobalAlloc says "no memory"; dealloc is never reached.
    unsafe impl core::alloc::GlobalAlloc for NoHeap {
        unsafe fn alloc(&self, _: core::alloc::Layout) -> *mut u8 {
            core::ptr::null_mut()
        }
        unsafe fn dealloc(&self, _: *mut u8, _: core::alloc::Layout) {}
    }

    #[global_allocator]
    static HEAP: NoHeap = NoHeap;

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        fail("unpack: panic")
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("unpack: the head of packed programs; it runs only as one, on the real kernel");
    std::process::exit(2);
}
