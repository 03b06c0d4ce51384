//! `unpack`: the head of every packed program (`libeurali::sfx`). Not a program of `/bin`:
//! `cargo xtask build` puts it in front of each program.
//!
//! At the kernel's entry it keeps the registers the program's entry reads (RAX heap start, RCX
//! heap size, RDX args block, RDI env block) and the stack pointer, inflates the payload at
//! `PAYLOAD_ADDR` into the program's memory, puts them back and jumps to the program's entry.
//! A payload that does not inflate to exactly the program's memory, Adler-32 included, is
//! reported on the kernel's debug line and the thread ends: nothing of it runs.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod head {
    use libeurali::sfx::{HEADER_LEN, Header, PAYLOAD_ADDR};
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

    /// Inflates the program into its memory; returns its entry point.
    extern "C" fn unpack() -> u64 {
        // Safety: the packer put a payload segment at PAYLOAD_ADDR; its first HEADER_LEN bytes
        // are mapped whenever the file is a packed one (checked by the magic, read first).
        let head = unsafe { core::slice::from_raw_parts(PAYLOAD_ADDR as *const u8, HEADER_LEN) };
        let Some(h) = Header::from_bytes(head) else {
            fail("unpack: no packed program in this file");
        };
        // Safety: the packer made the payload segment HEADER_LEN + packed_len bytes long and
        // the segment [dest, dest + dest_len) with nothing else in it: ours to write.
        let (stream, memory) = unsafe {
            (
                core::slice::from_raw_parts(
                    (PAYLOAD_ADDR as *const u8).add(HEADER_LEN),
                    h.packed_len as usize,
                ),
                core::slice::from_raw_parts_mut(h.dest as *mut u8, h.dest_len as usize),
            )
        };
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
