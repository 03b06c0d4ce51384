//! The `/dev/disk0` protocol: `proto::block::parse_request` (what a block server makes of any
//! message) and `proto::block::handle` (its answer, over a disk in memory), fed the same bytes.
//! Claimed counts are trusted only up to `MAX_SECTORS`; nothing past the disk's end is read or
//! written; a malformed request is answered, never a panic.
#![no_main]

use libeurali::proto::block::{
    self, BlockDevice, MAX_BYTES, MAX_SECTORS, MemDisk, Request, SECTOR_SIZE, pack_where,
    unpack_where,
};
use libeurali::{MemoryChunk, Message, Word, msgtype};
use libfuzzer_sys::fuzz_target;

mod msgs;
use msgs::{forget, word};

/// The disk's size: small, so that ranges past its end are common.
const SECTORS: usize = 64;

fuzz_target!(|data: &[u8]| {
    msgs::allow_only_free();
    // The bytes after the 25 header bytes stand for the chunk's contents (the rest zeros).
    let mut backing = vec![0u8; MAX_BYTES];
    let body = data.get(25..).unwrap_or(&[]);
    let n = body.len().min(MAX_BYTES);
    backing[..n].copy_from_slice(&body[..n]);
    let base = backing.as_mut_ptr() as u64;
    let sel = data.first().copied().unwrap_or(0);
    let tag = match sel & 7 {
        0 => block::BLOCK_READ,
        1 => block::BLOCK_WRITE,
        2 => block::BLOCK_INFO,
        3 => block::BLOCK_FLUSH,
        _ => word(data, 0),
    };
    let (a, b) = (word(data, 1), word(data, 2));
    let mk = |kind: u8, v: u64| match kind & 1 {
        // Handles are never made here (dropping one would be a system call).
        0 => Word::Value(v),
        // Safety: points at `backing`; taken back with `into_raw`, never freed.
        _ => Word::Chunk(unsafe { MemoryChunk::from_raw(base) }),
    };
    let msg = if sel & 8 == 0 {
        Message::Short(tag, a, b)
    } else {
        Message::Long(tag, mk(sel >> 4, a), mk(sel >> 5, b))
    };
    // The where word round-trips whenever it is well formed.
    if let Some((lba, count)) = unpack_where(a) {
        assert!((1..=MAX_SECTORS).contains(&count));
        assert_eq!(pack_where(lba, count), Some(a));
    }
    let mut disk = MemDisk::new(SECTORS);
    disk.read_only = sel & 0x40 != 0;
    let before = disk.data.clone();
    let request = block::parse_request(msg);
    let mut expect_write = None;
    match &request {
        Request::Read { count, lent, .. } => {
            assert!((1..=MAX_SECTORS).contains(count));
            if let Some(c) = lent {
                assert_eq!(c.len(), count * SECTOR_SIZE);
            }
        }
        Request::Write { lba, data } => {
            assert!(data.len() <= MAX_BYTES && data.len() % SECTOR_SIZE == 0 && !data.is_empty());
            let ok = !disk.read_only
                && disk.info().contains(*lba, (data.len() / SECTOR_SIZE) as u64);
            if ok {
                expect_write = Some((*lba as usize * SECTOR_SIZE, data.as_slice().to_vec()));
            }
        }
        _ => {}
    }
    // A read into a chunk of the server's own takes `malloc`, which this stub kernel refuses:
    // that request is answered on the stub (tests), not here.
    let reply = match request {
        Request::Read { lent: None, .. } => None,
        Request::Unknown(Message::Long(_, x, y)) => {
            forget(x);
            forget(y);
            None
        }
        r => block::handle(&mut disk, r),
    };
    match reply {
        Some(Message::Long(t, x, y)) => {
            assert!(t == msgtype::DATA || t == msgtype::OK);
            if let (msgtype::DATA, Word::Value(n)) = (t, &x) {
                assert!(*n as usize <= MAX_BYTES && *n > 0);
            }
            forget(x);
            forget(y);
        }
        Some(Message::Short(t, code, _)) => {
            assert!(
                [msgtype::OK, msgtype::ERROR, msgtype::ERROR_UNKNOWN_MESSAGE, block::BLOCK_GEOMETRY]
                    .contains(&t),
                "reply {t:#x} {code}"
            );
        }
        None => {}
    }
    // The disk changed only where a write in range, on a writable disk, put its bytes.
    match expect_write {
        Some((at, bytes)) => {
            assert_eq!(&disk.data[at..at + bytes.len()], &bytes[..]);
            assert_eq!(&disk.data[..at], &before[..at]);
            assert_eq!(&disk.data[at + bytes.len()..], &before[at + bytes.len()..]);
        }
        None => assert_eq!(disk.data, before),
    }
    drop(backing);
});
