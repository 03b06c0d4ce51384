//! The server's file system over a disk in memory: what a client sees, what reaches the disk
//! at `sync`, full and damaged volumes.

use libeurali::proto::block::MemDisk;
use vfs::proto::{FsError, Kind, flags};
use vfs::server::FileSystem;

use crate::fs::{Clock, FatFs, MountError, format};

/// A fresh FAT32 volume of `mib` MiB (FAT32 needs at least 65525 clusters: 33 MiB with
/// 512-byte ones).
fn fresh(mib: usize) -> MemDisk {
    format(MemDisk::new(mib << 11), "TEST").unwrap()
}

fn mount(d: MemDisk) -> FatFs<MemDisk> {
    FatFs::mount_with(d, 16, Clock::none()).unwrap()
}

const RW: u32 = flags::READ | flags::WRITE;
const NEW: u32 = RW | flags::CREATE;

fn put<D: crate::Disk>(fs: &FatFs<D>, path: &[&str], data: &[u8]) {
    let n = fs.open(path, NEW | flags::TRUNCATE).unwrap();
    assert_eq!(fs.write(&n, Some(0), data).unwrap(), data.len() as u64);
}

fn get<D: crate::Disk>(fs: &FatFs<D>, path: &[&str]) -> Result<Vec<u8>, FsError> {
    let n = fs.open(path, flags::READ)?;
    let len = fs.stat(&n)?.len as usize;
    let mut buf = vec![0; len + 10];
    let got = fs.read(&n, 0, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

fn names(fs: &FatFs<MemDisk>, path: &[&str]) -> Vec<(String, Kind, u64)> {
    let n = fs.open(path, flags::READ | flags::DIRECTORY).unwrap();
    fs.read_dir(&n)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind, e.len))
        .collect()
}

#[test]
fn files_and_directories_survive_a_sync_and_a_new_mount() {
    let fs = mount(fresh(40));
    fs.mkdir(&["home"]).unwrap();
    fs.mkdir(&["home", "ann"]).unwrap();
    assert_eq!(fs.mkdir(&["home"]), Err(FsError::Exists));
    let long = "A rather long file name, with spaces and more than 8.3.txt";
    put(&fs, &["home", "ann", long], b"long names are kept\n");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    put(&fs, &["big.bin"], &big);
    // Appending and writing past the end (the gap reads as zeros).
    let n = fs.open(&["home", "ann", long], flags::APPEND | RW).unwrap();
    assert_eq!(fs.write(&n, None, b"more\n").unwrap(), 25);
    let n = fs.open(&["gap"], NEW).unwrap();
    assert_eq!(fs.write(&n, Some(5000), b"x").unwrap(), 5001);
    fs.sync().unwrap();
    assert_eq!(fs.dirty_blocks(), 0);

    let disk = fs.unmount().unwrap();
    let fs = mount(disk);
    assert_eq!(
        names(&fs, &[]),
        vec![
            ("big.bin".into(), Kind::File, 300_000),
            ("gap".into(), Kind::File, 5001),
            ("home".into(), Kind::Dir, 0),
        ]
    );
    assert_eq!(
        names(&fs, &["home", "ann"]),
        vec![(long.into(), Kind::File, 25)]
    );
    assert_eq!(
        get(&fs, &["home", "ann", long]).unwrap(),
        b"long names are kept\nmore\n"
    );
    assert_eq!(get(&fs, &["big.bin"]).unwrap(), big);
    let gap = get(&fs, &["gap"]).unwrap();
    assert!(gap[..5000].iter().all(|&b| b == 0) && gap[5000] == b'x');
    // Names compare without case, as FAT's do.
    assert_eq!(get(&fs, &["BIG.BIN"]).unwrap().len(), 300_000);
}

#[test]
fn open_flags_remove_and_errors() {
    let fs = mount(fresh(40));
    assert_eq!(
        fs.open(&["nope"], flags::READ).unwrap_err(),
        FsError::NotFound
    );
    put(&fs, &["f"], b"12345");
    assert_eq!(
        fs.open(&["f"], NEW | flags::EXCLUSIVE).unwrap_err(),
        FsError::Exists
    );
    assert_eq!(
        fs.open(&["f", "x"], flags::READ).unwrap_err(),
        FsError::NotDir
    );
    assert_eq!(
        fs.open(&["f"], flags::READ | flags::DIRECTORY).unwrap_err(),
        FsError::NotDir
    );
    fs.mkdir(&["d"]).unwrap();
    assert_eq!(fs.open(&["d"], RW).unwrap_err(), FsError::IsDir);
    assert_eq!(fs.open(&[], RW).unwrap_err(), FsError::IsDir);
    put(&fs, &["d", "inner"], b"i");
    assert_eq!(fs.remove(&["d"], true), Err(FsError::NotEmpty));
    assert_eq!(fs.remove(&["d"], false), Err(FsError::IsDir));
    assert_eq!(fs.remove(&["f"], true), Err(FsError::NotDir));
    // A file open in a session reads NotFound once removed.
    let n = fs.open(&["f"], flags::READ).unwrap();
    fs.remove(&["f"], false).unwrap();
    assert_eq!(fs.stat(&n), Err(FsError::NotFound));
    assert_eq!(get(&fs, &["f"]), Err(FsError::NotFound));
    // Truncate at open, set_len down and up.
    put(&fs, &["t"], b"abcdef");
    let n = fs.open(&["t"], RW).unwrap();
    fs.set_len(&n, 3).unwrap();
    assert_eq!(get(&fs, &["t"]).unwrap(), b"abc");
    fs.set_len(&n, 5).unwrap();
    assert_eq!(get(&fs, &["t"]).unwrap(), b"abc\0\0");
    // (A truncating open waits for no writer: the one above is closed first.)
    drop(n);
    fs.open(&["t"], RW | flags::TRUNCATE).unwrap();
    assert_eq!(get(&fs, &["t"]).unwrap(), b"");
    // Names FAT cannot hold are refused, not mangled.
    assert!(fs.open(&["a:b"], NEW).is_err());
    assert!(fs.open(&["q?"], NEW).is_err());
}

#[test]
fn rename_moves_open_files_and_replaces_as_unix_does() {
    let fs = mount(fresh(40));
    fs.mkdir(&["a"]).unwrap();
    fs.mkdir(&["b"]).unwrap();
    put(&fs, &["a", "one"], b"first");
    let open = fs.open(&["a", "one"], flags::READ).unwrap();
    fs.rename(&["a", "one"], &["b", "two"]).unwrap();
    assert_eq!(get(&fs, &["a", "one"]), Err(FsError::NotFound));
    assert_eq!(get(&fs, &["b", "two"]).unwrap(), b"first");
    // The open session follows its file.
    let mut buf = [0; 5];
    assert_eq!(fs.read(&open, 0, &mut buf).unwrap(), 5);
    // Onto an existing file: replaced.
    put(&fs, &["b", "three"], b"old");
    fs.rename(&["b", "two"], &["b", "three"]).unwrap();
    assert_eq!(get(&fs, &["b", "three"]).unwrap(), b"first");
    assert_eq!(names(&fs, &["b"]).len(), 1);
    // A directory moves with what it holds, not below itself, not onto a file.
    put(&fs, &["a", "x"], b"x");
    fs.rename(&["a"], &["b", "a2"]).unwrap();
    assert_eq!(get(&fs, &["b", "a2", "x"]).unwrap(), b"x");
    assert_eq!(fs.rename(&["b"], &["b", "a2", "in"]), Err(FsError::Invalid));
    assert_eq!(
        fs.rename(&["b", "a2"], &["b", "three"]),
        Err(FsError::NotDir)
    );
    assert_eq!(fs.rename(&["nope"], &["b", "x"]), Err(FsError::NotFound));
}

#[test]
fn a_full_volume_says_no_space_and_keeps_the_file_whole() {
    let fs = mount(fresh(34));
    put(&fs, &["keep"], b"kept");
    let n = fs.open(&["fill"], NEW).unwrap();
    let chunk = vec![0x5a; 1 << 20];
    let mut len = 0;
    let err = loop {
        match fs.write(&n, None, &chunk) {
            Ok(end) => len = end,
            Err(e) => break e,
        }
        assert!(len < 64 << 20, "the volume never filled");
    };
    assert_eq!(err, FsError::NoSpace);
    // The failed write left nothing: the file has the length of its last whole write.
    assert_eq!(fs.stat(&n).unwrap().len, len);
    assert!(len > 16 << 20);
    let u = fs.usage(None).unwrap();
    assert!(u.disk.bytes <= u.disk.bytes_max && u.disk.bytes_max > 30 << 20);
    fs.sync().unwrap();
    let fs = mount(fs.unmount().unwrap());
    assert_eq!(get(&fs, &["keep"]).unwrap(), b"kept");
    assert_eq!(get(&fs, &["fill"]).unwrap().len() as u64, len);
    // Room again once it is removed.
    fs.remove(&["fill"], false).unwrap();
    put(&fs, &["after"], &chunk);
}

#[test]
fn what_is_not_a_fat_volume_is_refused_at_mount() {
    let zero = FatFs::mount_with(MemDisk::new(1 << 16), 16, Clock::none());
    assert!(
        matches!(zero, Err(MountError::NotFat(_))),
        "{:?}",
        zero.err()
    );
    let mut noise = MemDisk::new(1 << 16);
    let mut x = 0x1234_5678u32;
    for b in noise.data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    assert!(matches!(
        FatFs::mount_with(noise, 16, Clock::none()),
        Err(MountError::NotFat(_))
    ));
    // A boot sector that claims more sectors than the device has.
    let mut d = fresh(40);
    d.data.truncate(1 << 20);
    let r = FatFs::mount_with(d, 16, Clock::none());
    assert!(r.is_err(), "a truncated volume was mounted");
    // A dead drive.
    let mut dead = fresh(40);
    dead.failing = true;
    assert_eq!(
        FatFs::mount_with(dead, 16, Clock::none()).err(),
        Some(MountError::Io)
    );
}

#[test]
fn a_sync_leaves_a_clean_volume_and_writes_wait_for_it() {
    let fs = mount(fresh(40));
    put(&fs, &["a"], b"hello");
    assert!(fs.dirty_blocks() > 0);
    fs.sync().unwrap();
    assert_eq!(fs.dirty_blocks(), 0);
    let disk = fs.unmount().unwrap();
    // The FAT32 boot sector's dirty flag (offset 0x41, bit 0) is clear.
    assert_eq!(disk.data[0x41] & 1, 0);
    assert_eq!(&disk.data[510..512], &[0x55, 0xaa]);
    // A drive that fails: the next mount says so, nothing panics.
    let mut dead = disk;
    dead.failing = true;
    assert_eq!(
        FatFs::mount_with(dead, 16, Clock::none()).err(),
        Some(MountError::Io)
    );
}

#[test]
fn a_small_disk_gets_a_smaller_fat() {
    let fs = mount(format(MemDisk::new(4 << 11), "SMALL").unwrap());
    put(&fs, &["small"], b"fits");
    fs.sync().unwrap();
    let fs = mount(fs.unmount().unwrap());
    assert_eq!(get(&fs, &["small"]).unwrap(), b"fits");
}

/// Damage in the tables and directories (not the boot sector) gives errors or wrong bytes,
/// never a panic (a panic halts the real kernel) and never a hang: random bytes over the FAT
/// and the first directory clusters, then every operation a client can ask.
#[test]
fn damaged_tables_give_errors_not_panics() {
    let mut base = fresh(34);
    {
        let fs = mount(base);
        fs.mkdir(&["dir"]).unwrap();
        for i in 0..20 {
            put(
                &fs,
                &["dir", &format!("file number {i}.txt")],
                &vec![i as u8; 3000 * i],
            );
        }
        put(&fs, &["top"], b"top");
        base = fs.unmount().unwrap();
    }
    let reserved = u16::from_le_bytes([base.data[14], base.data[15]]) as usize * 512;
    let mut x = 0x2545_f491u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    for round in 0..40 {
        let mut d = base.clone();
        // The FATs and the data area's first 600 KiB.
        let span = reserved + (2 << 20);
        for _ in 0..(1 + round % 40) * 8 {
            let at = reserved + rnd() % (span - reserved);
            d.data[at] = rnd() as u8;
        }
        // A panic fails the test here; the round says which damage it was.
        eprintln!("round {round}");
        {
            let Ok(fs) = FatFs::mount_with(d, 16, Clock::none()) else {
                continue;
            };
            let _ = fs
                .open(&["dir"], flags::READ | flags::DIRECTORY)
                .map(|n| fs.read_dir(&n));
            for i in 0..20 {
                let p = format!("file number {i}.txt");
                let _ = get(&fs, &["dir", &p]);
                if let Ok(n) = fs.open(&["dir", &p], RW) {
                    let _ = fs.write(&n, Some(100), b"overwrite");
                    let _ = fs.write(&n, None, &[7; 5000]);
                    let _ = fs.set_len(&n, 10);
                }
            }
            let _ = fs.rename(&["top"], &["dir", "top"]);
            let _ = fs.remove(&["dir", "file number 3.txt"], false);
            let _ = fs.mkdir(&["new"]);
            let _ = fs
                .open(&["new", "f"], NEW)
                .map(|n| fs.write(&n, None, &[1; 10000]));
            let _ = fs.usage(None);
            let _ = fs.sync();
        }
    }
}

/// A directory with more entries than a listing may hold (made by Linux, say) is TooBig to
/// list, and its files still open by name.
#[test]
fn a_huge_directory_is_too_big_to_list_not_a_full_heap() {
    // The bounds scaled down (the real ones are the ramdisk's: 4096 entries, 128 KiB of names).
    let fs = mount(fresh(40)).with_list_limits(40, 200);
    fs.mkdir(&["many"]).unwrap();
    fs.mkdir(&["long"]).unwrap();
    for i in 0..40 {
        drop(fs.open(&["many", &format!("{i}")], NEW).unwrap());
    }
    for i in 0..4 {
        drop(
            fs.open(&["long", &format!("{i}{}", "x".repeat(60))], NEW)
                .unwrap(),
        );
    }
    let d = fs.open(&["many"], flags::READ | flags::DIRECTORY).unwrap();
    assert_eq!(fs.read_dir(&d).unwrap().len(), 40);
    drop(fs.open(&["many", "40"], NEW).unwrap());
    assert_eq!(fs.read_dir(&d), Err(FsError::TooBig));
    let d = fs.open(&["long"], flags::READ | flags::DIRECTORY).unwrap();
    assert_eq!(fs.read_dir(&d), Err(FsError::TooBig));
    assert_eq!(get(&fs, &["many", "40"]).unwrap(), b"");
}

#[test]
fn the_journal_is_hidden_from_clients() {
    let fs = mount(fresh(40));
    assert!(fs.journaled());
    put(&fs, &["seen"], b"x");
    assert_eq!(names(&fs, &[]), vec![("seen".to_string(), Kind::File, 1)]);
    assert_eq!(
        fs.open(&["eurali.jnl"], flags::READ).err(),
        Some(FsError::Denied)
    );
    assert_eq!(fs.open(&["EURALI.JNL"], NEW).err(), Some(FsError::Denied));
    assert_eq!(fs.remove(&["EURALI.JNL"], false), Err(FsError::NotFound));
    assert_eq!(fs.rename(&["seen"], &["Eurali.Jnl"]), Err(FsError::Denied));
    assert_eq!(fs.rename(&["EURALI.JNL"], &["x"]), Err(FsError::NotFound));
    assert_eq!(fs.mkdir(&["EURALI.JNL"]), Err(FsError::Denied));
    // A second mount finds it and makes no other.
    fs.sync().unwrap();
    let fs = mount(fs.unmount().unwrap());
    assert!(fs.journaled());
    assert_eq!(names(&fs, &[]).len(), 1);
    fs.unmount().unwrap();
}

/// Two sessions replacing one file: the second truncating open is refused while the
/// first is open (EAGAIN), so the file ends as one of them wrote it; appenders share a file.
#[test]
fn one_replacer_at_a_time_writes_a_file() {
    let fs = mount(fresh(40));
    let a = fs.open(&["f"], NEW | flags::TRUNCATE).unwrap();
    fs.write(&a, Some(0), b"first").unwrap();
    assert_eq!(
        fs.open(&["F"], NEW | flags::TRUNCATE).err(),
        Some(FsError::Again)
    );
    assert_eq!(
        fs.open(&["f"], flags::WRITE | flags::APPEND).err(),
        Some(FsError::Again)
    );
    // Readers are welcome.
    assert!(fs.open(&["f"], flags::READ).is_ok());
    drop(a);
    let b = fs.open(&["f"], NEW | flags::TRUNCATE).unwrap();
    fs.write(&b, Some(0), b"second").unwrap();
    drop(b);
    assert_eq!(get(&fs, &["f"]).unwrap(), b"second");
    let w1 = fs.open(&["f"], flags::WRITE | flags::APPEND).unwrap();
    let w2 = fs.open(&["f"], flags::WRITE | flags::APPEND).unwrap();
    assert_eq!(
        fs.open(&["f"], NEW | flags::TRUNCATE).err(),
        Some(FsError::Again)
    );
    drop((w1, w2));
    assert!(fs.open(&["f"], NEW | flags::TRUNCATE).is_ok());
}

/// A disk shared with the test, which looks at what a server killed now would leave.
#[derive(Clone)]
struct Shared(std::sync::Arc<std::sync::Mutex<MemDisk>>);

impl libeurali::proto::block::BlockDevice for Shared {
    fn info(&self) -> libeurali::proto::block::Info {
        self.0.lock().unwrap().info()
    }
    fn read(
        &mut self,
        lba: u64,
        buf: &mut [u8],
    ) -> Result<(), libeurali::proto::block::BlockError> {
        self.0.lock().unwrap().read(lba, buf)
    }
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), libeurali::proto::block::BlockError> {
        self.0.lock().unwrap().write(lba, data)
    }
    fn flush(&mut self) -> Result<(), libeurali::proto::block::BlockError> {
        self.0.lock().unwrap().flush()
    }
}

/// Ordered mode (docs/design.md, "The disk"): a file's data goes home before the commit, but
/// not into a cluster freed since the last write-out, which the committed volume still gives
/// to its old file: a kill before the commit must leave that file whole.
#[test]
fn data_in_clusters_freed_since_the_last_sync_waits_for_the_commit() {
    let disk = Shared(std::sync::Arc::new(std::sync::Mutex::new(
        format(MemDisk::new(12 << 11), "T").unwrap(),
    )));
    let fs = FatFs::mount_with(disk.clone(), 16, Clock::none()).unwrap();
    assert!(fs.journaled());
    let a: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    put(&fs, &["a"], &a);
    let u = fs.usage(None).unwrap().disk;
    let filler = vec![7u8; (u.bytes_max - u.bytes - 100_000) as usize];
    put(&fs, &["filler"], &filler);
    fs.sync().unwrap();
    // `a` removed, then `b` written: past the 100 KB left, its clusters are a's (the volume has
    // no others), and past the cache, its blocks leave it before any write-out.
    fs.remove(&["a"], false).unwrap();
    let b = vec![9u8; 250_000];
    put(&fs, &["b"], &b);
    assert!(fs.dirty_blocks() < 250_000 / 4096);
    // Killed here: the next mount has the last sync's volume, `a` whole.
    let left = disk.0.lock().unwrap().clone();
    let after = mount(left);
    assert!(
        get(&after, &["a"]).unwrap() == a,
        "a synced file was overwritten"
    );
    assert_eq!(get(&after, &["b"]), Err(FsError::NotFound));
    // And once synced, `b` is there and `a` gone.
    fs.sync().unwrap();
    let after = mount(disk.0.lock().unwrap().clone());
    assert!(get(&after, &["b"]).unwrap() == b, "b not synced whole");
    assert_eq!(get(&after, &["a"]), Err(FsError::NotFound));
}

/// Reads follow the cluster chain from where the session's last read ended: in order, back
/// and forth, and after the file was cut and written again (its clusters changed) the same.
#[test]
fn reads_in_order_back_and_after_the_chain_changed() {
    let fs = mount(fresh(40));
    // Another file's clusters between this one's: the chain is not contiguous.
    let a: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let n = fs.open(&["a"], NEW).unwrap();
    let o = fs.open(&["o"], NEW).unwrap();
    for (k, c) in a.chunks(70_000).enumerate() {
        fs.write(&n, Some(k as u64 * 70_000), c).unwrap();
        fs.write(&o, None, &[k as u8; 3000]).unwrap();
    }
    let r = fs.open(&["a"], flags::READ).unwrap();
    let mut back = Vec::new();
    let mut buf = vec![0u8; 7000];
    loop {
        let got = fs.read(&r, back.len() as u64, &mut buf).unwrap();
        if got == 0 {
            break;
        }
        back.extend_from_slice(&buf[..got]);
    }
    assert!(back == a, "read in order differs");
    for at in [250_000u64, 3, 100_000, 299_999, 0, 140_001] {
        let got = fs.read(&r, at, &mut buf).unwrap();
        assert_eq!(got, buf.len().min(a.len() - at as usize));
        assert!(buf[..got] == a[at as usize..at as usize + got], "at {at}");
    }
    drop(n);
    // Cut, then written again: the session's remembered cluster is gone.
    let w = fs.open(&["a"], RW | flags::TRUNCATE).unwrap();
    let b: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 253) as u8).collect();
    fs.write(&o, None, &[9; 5000]).unwrap();
    fs.write(&w, Some(0), &b).unwrap();
    let got = fs.read(&r, 150_000, &mut buf).unwrap();
    assert!(buf[..got] == b[150_000..150_000 + got]);
    fs.sync().unwrap();
    let got = fs.read(&r, 190_000, &mut buf).unwrap();
    assert_eq!(got, 10_000.min(buf.len()));
    assert!(buf[..got] == b[190_000..190_000 + got]);
}
