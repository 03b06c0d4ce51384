//! Memory chunks (ABI §2.3) through the safe API: data moves between processes, the sender's slot
//! is emptied, 511 slots per process, NOMEMSLOTS inside a received message.

mod common;

use common::{run, wait_for};
use kernel_stub::Kernel;
use libeurali::abi::{Call, layout};
use libeurali::{
    Error, Handle, MemoryChunk, Message, Word, exec, new_rendezvous, rcall, receive, send,
};

/// Receives Long(t, len, Chunk), reverses the first len bytes and sends the chunk back.
fn reverser(_: libeurali::EntryRegisters) {
    // Safety: handle 0 is this process's stdin.
    let h = unsafe { Handle::from_raw(0) };
    while let Ok(Message::Long(t, Word::Value(len), Word::Chunk(mut c))) = receive(&h) {
        // Safety: the sender says `len` bytes are written.
        unsafe { c.set_len(len as usize) };
        c.as_mut_slice().reverse();
        if send(&h, Message::Long(t, Word::Value(len), Word::Chunk(c))).is_err() {
            break;
        }
    }
}

/// Fills every chunk slot, then receives a chunk and reports how the word arrived.
fn hoarder(_: libeurali::EntryRegisters) {
    // Safety: handle 0 is this process's stdin.
    let h = unsafe { Handle::from_raw(0) };
    let mut held = Vec::new();
    while let Ok(c) = MemoryChunk::alloc(1) {
        held.push(c);
    }
    let report = match receive(&h) {
        Ok(Message::Long(_, _, Word::Error(code))) => Message::Short(held.len() as u64, code, 0),
        _ => Message::Short(held.len() as u64, 0, 0),
    };
    let _ = send(&h, report);
}

fn kernel() -> Kernel {
    let k = Kernel::new();
    k.register_program("reverser", reverser);
    k.register_program("hoarder", hoarder);
    k
}

fn start(name: &str, stdin: Handle) {
    let (_, out) = new_rendezvous().unwrap();
    exec(&Kernel::program_image(name), stdin, out, b"", false).unwrap();
}

#[test]
fn chunk_data_moves_and_the_senders_slot_is_emptied() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "client", move || {
        let (mine, theirs) = new_rendezvous().unwrap();
        start("reverser", theirs);
        let mut c = MemoryChunk::alloc(10_000).unwrap();
        c.as_mut_slice()[..5].copy_from_slice(b"hello");
        let base = c.base();
        send(&mine, Message::Long(1, Word::Value(5), Word::Chunk(c))).unwrap();
        assert!(
            kernel_stub::uaccess::read(base, 1).is_err(),
            "sent chunk no longer mapped here"
        );
        let reply = receive(&mine).unwrap();
        let Message::Long(1, Word::Value(5), Word::Chunk(mut back)) = reply else {
            panic!("{reply:?}")
        };
        // Safety: the reverser wrote 5 bytes.
        unsafe { back.set_len(5) };
        assert_eq!(back.as_slice(), b"olleh");
        assert_eq!(back.base(), base, "our lowest free slot again");
        // Wake the reverser with 12 once it waits again (process death alone would leave it
        // waiting, and a close while it is not waiting wakes nobody).
        wait_for("the reverser to wait", || k2.blocked_threads() == 1);
        drop(mine);
    });
    assert!(k.wait_idle(common::TIMEOUT));
}

#[test]
fn five_hundred_eleven_slots_per_process() {
    let k = kernel();
    run(&k, "p", || {
        let mut held = Vec::new();
        for _ in 0..layout::CHUNK_SLOTS {
            held.push(MemoryChunk::alloc(1).unwrap());
        }
        assert_eq!(MemoryChunk::alloc(1).unwrap_err(), Error::Memory);
        // list_mounts needs a slot too.
        assert_eq!(libeurali::list_mounts().unwrap_err(), Error::Memory);
        held.pop();
        assert_eq!(libeurali::list_mounts().unwrap(), Vec::<String>::new());
    });
}

#[test]
fn a_receiver_with_no_free_slot_gets_nomemslots() {
    let k = kernel();
    run(&k, "client", || {
        let (mine, theirs) = new_rendezvous().unwrap();
        start("hoarder", theirs);
        let c = MemoryChunk::alloc(1).unwrap();
        let reply = rcall(&mine, Message::Long(1, Word::Value(1), Word::Chunk(c))).unwrap();
        assert_eq!(
            reply,
            Message::Short(511, Error::NoMemSlots.code() as u64, 0)
        );
    });
    assert!(k.wait_idle(common::TIMEOUT));
}

#[test]
fn memory_is_never_zeroed_and_contiguous_chunks_have_a_physical_address() {
    let k = kernel();
    run(&k, "p", || {
        let mut r = Call::Malloc {
            pages: 3,
            max_physaddr: 0,
        }
        .encode();
        // Safety: malloc reads no memory.
        unsafe { libeurali::raw::syscall(&mut r) };
        assert_eq!(r.rax, 0);
        // Safety: three pages are mapped at r.rdi.
        let bytes = unsafe { std::slice::from_raw_parts(r.rdi as *const u8, 3 * 4096) };
        assert!(bytes.iter().all(|&b| b == kernel_stub::memory::GARBAGE));
        // Safety: the chunk is ours.
        drop(unsafe { MemoryChunk::from_raw(r.rdi) });
        let (c, phys) = MemoryChunk::alloc_contiguous(8192, 0xFFFF_FFFF).unwrap();
        assert!(phys != 0 && phys + 8192 <= 0xFFFF_FFFF);
        assert_eq!(c.len(), 8192);
        let (_c2, phys2) = MemoryChunk::alloc_contiguous(4096, 0xFFFF_FFFF).unwrap();
        assert!(phys2 >= phys + 8192, "ranges do not overlap");
    });
}
