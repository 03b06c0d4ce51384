//! What a hostile client can make the ramdisk hold, measured: the heap of this test process
//! (the in-process stub, the ramdisk server and its client) is counted by a wrapping allocator,
//! and the ramdisk, with the limits the `ramdisk` program gives the root ramdisk of the real
//! kernel (64 MiB), is filled every way a client can (one file, as many files as it takes, the
//! longest names, a listing of the fullest directory). The live heap above what it was before
//! may never pass what `vfs::ramdisk::Limits` promises (`heap`, `listing_heap`) plus a small
//! allowance for the sessions: the file data itself is in memory chunks, not in the heap. One
//! test in its own binary: nothing else allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use kernel_stub::Kernel;
use libeurali::new_rendezvous;
use vfs::client;
use vfs::proto::{FsError, MAX_NAME, flags};
use vfs::ramdisk::{Limits, Ramdisk};
use vfs::server::Server;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// Safety: every call goes to System unchanged; the counters only watch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged, under GlobalAlloc's contract.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded unchanged, under GlobalAlloc's contract.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged, under GlobalAlloc's contract.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            // Counted as the allocator must hold it: old and new at once while it copies.
            let now = LIVE.fetch_add(new, Ordering::Relaxed) + new;
            PEAK.fetch_max(now, Ordering::Relaxed);
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Room for what the sessions, the stub and the client allocate while the test runs.
const ALLOWANCE: usize = 256 * 1024;

#[test]
fn a_full_ramdisk_holds_no_more_heap_than_its_limits_say() {
    let limits: Limits = ramdisk::limits(64 << 20);
    let bound = limits.heap() + limits.listing_heap() + ALLOWANCE;
    let k = Kernel::new();
    // The stub's syscall log (100 000 entries) would be most of what is measured.
    k.set_logging(false);
    let report = k.run_as_process("hog", move || {
        let (m, c) = new_rendezvous().unwrap();
        let server = Server::new(Ramdisk::with_limits(limits));
        server.spawn(m).unwrap();
        libeurali::mount("/", c).unwrap();
        let piece = vec![0x5au8; 256 * 1024];
        // Warm up the sessions' threads and the stub's tables, then measure from here.
        for _ in 0..8 {
            drop(client::open("/warm", flags::READ | flags::WRITE | flags::CREATE).unwrap());
        }
        client::remove_file("/warm").unwrap();
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let over = |what: &str, out: &mut Vec<String>| {
            let grew = PEAK.load(Ordering::Relaxed).saturating_sub(base);
            out.push(format!("{what}: peak {} KiB above the start", grew >> 10));
            grew
        };
        let mut lines = Vec::new();
        let mut worst = 0;
        // One file, 256 KiB at a time, until refused.
        let (s, _) = client::open("/huge", flags::READ | flags::WRITE | flags::CREATE).unwrap();
        let mut at = 0u64;
        let e = loop {
            match s.write_at(at, &piece) {
                Ok((n, _)) => at += n as u64,
                Err(e) => break e,
            }
        };
        assert_eq!(e, FsError::NoSpace);
        assert_eq!(at as usize, limits.bytes);
        worst = worst.max(over("one 64 MiB file", &mut lines));
        lines.push(format!(
            "chunk memory for it: {} KiB",
            server.fs().chunk_memory() >> 10
        ));
        assert_eq!(server.fs().chunk_memory(), limits.data_memory());
        drop(s);
        client::remove_file("/huge").unwrap();
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        // Files with the longest names, 255 to a directory, until refused (their names made
        // again when needed: a list of them would be heap of this test's own).
        let name_of = |i: usize| format!("/d{}/{i:0>w$}", i / 255, w = MAX_NAME);
        let mut files = 0;
        let e = 'fill: loop {
            let dir = format!("/d{}", files / 255);
            if files % 255 == 0 {
                match client::mkdir(&dir) {
                    Ok(()) => {}
                    Err(e) => break 'fill e,
                }
            }
            match client::open(&name_of(files), flags::WRITE | flags::CREATE) {
                Ok((s, _)) => {
                    // A byte each: every file holds a block (and a block list).
                    s.write_at(0, b"x").unwrap();
                    files += 1;
                }
                Err(e) => break e,
            }
        };
        assert_eq!(e, FsError::NoSpace);
        worst = worst.max(over(
            &format!("{files} files with 255-byte names"),
            &mut lines,
        ));
        // The fullest directory listed, by a few sessions in a row (a listing is built and
        // dropped each time: the peak grows by one listing at most).
        for _ in 0..4 {
            let (d, _) = client::open("/d0", flags::READ).unwrap();
            assert_eq!(d.read_dir().unwrap().len(), 255);
        }
        worst = worst.max(over("and listed", &mut lines));
        for i in 0..files {
            client::remove_file(&name_of(i)).unwrap();
        }
        lines.push(format!(
            "used after removing them all: {}",
            server.fs().used()
        ));
        assert_eq!(server.fs().used(), 0);
        assert_eq!(server.fs().blocks(), 0);
        (worst, lines)
    });
    k.shutdown();
    let (worst, lines) = report;
    for l in &lines {
        println!("{l}");
    }
    println!(
        "bound: {} KiB (tree {} KiB, listing {} KiB, allowance {} KiB)",
        bound >> 10,
        limits.heap() >> 10,
        limits.listing_heap() >> 10,
        ALLOWANCE >> 10
    );
    assert!(worst <= bound, "peak {worst} above the bound {bound}");
}
