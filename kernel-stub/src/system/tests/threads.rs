//! Threads (ABI §4.8): 64 per process, and the last one takes the process with it.

use super::*;

#[test]
fn sixty_four_threads_per_process() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let mut started = vec![];
    for _ in 1..MAX_THREADS {
        let (o, r) = k.run(t, Call::ForkThread { r8: 0x1234, r9: 5 });
        let Outcome::Spawn(s) = o else {
            panic!("{o:?}")
        };
        assert_eq!(r.rdi, s.tid);
        assert!(matches!(
            s.start,
            Start::Thread {
                entry: 0x1234,
                arg: 5
            }
        ));
        started.push(s.tid);
    }
    assert_eq!(
        k.err(t, Call::ForkThread { r8: 0x1234, r9: 5 }),
        Some(Error::MemAlloc)
    );
    k.s.thread_ended(started[0]);
    assert!(matches!(
        k.run(t, Call::ForkThread { r8: 0x1234, r9: 5 }).0,
        Outcome::Spawn(_)
    ));
    // Entry point 0 would halt the machine.
    k.s.thread_ended(started[1]);
    assert!(matches!(
        k.run(t, Call::ForkThread { r8: 0, r9: 5 }).0,
        Outcome::Halt(_)
    ));
    assert!(k.s.process(p).is_some());
}

#[test]
fn the_last_thread_takes_the_process_with_it() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let u = k.thread(p);
    let dma = Call::Malloc {
        pages: 1,
        max_physaddr: 0xFFFF_FFFF,
    };
    let phys = k.ok(t, dma).rsi;
    k.kill(&[t]);
    assert!(k.s.process(p).is_some());
    k.kill(&[u]);
    assert!(k.s.process(p).is_none());
    // Its handles are gone (only the kernel-held rendezvous is left) and its chunks freed (the
    // fake physical range is free again).
    assert_eq!(k.s.object_count(), 1);
    let (_, t2) = k.process();
    assert_eq!(k.ok(t2, dma).rsi, phys);
}
