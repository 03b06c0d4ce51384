//! malloc and free (ABI §1.4).

use super::*;

#[test]
fn malloc_and_free_codes() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    assert_eq!(
        k.err(t, Call::Free { addr: 0x1000 }),
        Some(Error::Memory),
        "never had chunks"
    );
    let r = k.done(
        t,
        Call::Malloc {
            pages: 0,
            max_physaddr: 0,
        },
    );
    assert_eq!((r.rax, r.rdi, r.rsi, r.rdx), (9, 0, 0, 0));
    assert_eq!(
        k.err(
            t,
            Call::Malloc {
                pages: MAX_CHUNK_PAGES + 1,
                max_physaddr: 0
            }
        ),
        Some(Error::Memory)
    );
    let r = k.ok(
        t,
        Call::Malloc {
            pages: 1,
            max_physaddr: 0,
        },
    );
    assert_eq!(r.rsi, 0);
    // Safety: one page at r.rdi.
    assert_eq!(
        // SAFETY: one page is mapped at r.rdi.
        unsafe { *(r.rdi as *const u8) },
        crate::memory::GARBAGE,
        "never zeroed"
    );
    let dma = k.ok(
        t,
        Call::Malloc {
            pages: 2,
            max_physaddr: 0xFFFF_FFFF,
        },
    );
    assert!(dma.rsi != 0 && dma.rsi + 8192 <= 0xFFFF_FFFF);
    assert_eq!(
        k.err(
            t,
            Call::Malloc {
                pages: 1,
                max_physaddr: 0x1000
            }
        ),
        Some(Error::Memory)
    );
    assert_eq!(k.err(t, Call::Free { addr: r.rdi + 5 }), None);
    assert_eq!(
        k.err(t, Call::Free { addr: r.rdi }),
        Some(Error::DoubleFree)
    );
    assert_eq!(k.err(t, Call::Free { addr: 0x1000 }), Some(Error::Param));
    assert_eq!(k.err(t, Call::Free { addr: dma.rdi }), None);
}
