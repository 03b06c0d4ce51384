//! `libeurali::elf`: the loader rules the hosted stub (and `xtask check-elf`) apply to an ELF a
//! program hands to exec. Whatever `parse` accepts, the guest loader's arithmetic and slicing
//! must be safe: segments inside the window, inside the file, no overflow.
#![no_main]

use libeurali::abi::layout;
use libeurali::elf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(image) = elf::parse(data) else {
        return;
    };
    let loads = image.loads();
    assert!(!loads.is_empty());
    elf::check_loads(loads, data.len() as u64).expect("parse accepted what check_loads refuses");
    let _ = image.entry_segment();
    for l in loads {
        // What kernel-stub/src/hosted/guest.rs does with an accepted segment.
        let start = l.vaddr & !(layout::PAGE_SIZE - 1);
        let end = l
            .vaddr
            .checked_add(l.memsz)
            .expect("segment end overflows")
            .div_ceil(layout::PAGE_SIZE)
            * layout::PAGE_SIZE;
        assert!(start >= layout::ELF_WINDOW_START && end <= layout::KERNEL_INFO);
        assert!(l.filesz <= l.memsz);
        let file_end = l.offset.checked_add(l.filesz).expect("offset + filesz overflows");
        let _ = &data[l.offset as usize..file_end as usize];
        assert!(l.pages().is_some());
    }
});
