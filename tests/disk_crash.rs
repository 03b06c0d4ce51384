//! Crash consistency of fatfs's write-out (issue 20, "Nothing lost"): the FAT file system over a
//! disk that records every device write, replayed as a kill after each of them would have left
//! the disk; each such disk mounted again (fatfs replays its journal) and checked against what
//! the completed `sync`s acknowledged, and by Linux's `fsck.fat -n` (dosfstools).

use fatfs::fs::Clock;
use fatfs::{FatFs, format};
use libeurali::proto::block::{BlockDevice, BlockError, Info, MemDisk};
use vfs::proto::{FsError, flags};
use vfs::server::FileSystem;

const NEW: u32 = flags::READ | flags::WRITE | flags::CREATE;

fn mount(d: MemDisk) -> FatFs<MemDisk> {
    FatFs::mount_with(d, 16, Clock::none()).unwrap()
}

fn get<D: fatfs::Disk>(fs: &FatFs<D>, path: &[&str]) -> Result<Vec<u8>, FsError> {
    let n = fs.open(path, flags::READ)?;
    let len = fs.stat(&n)?.len as usize;
    let mut buf = vec![0; len + 10];
    let got = fs.read(&n, 0, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

fn names<D: fatfs::Disk>(fs: &FatFs<D>, path: &[&str]) -> Vec<String> {
    let n = fs.open(path, flags::READ | flags::DIRECTORY).unwrap();
    let mut v: Vec<String> = fs
        .read_dir(&n)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    v.sort();
    v
}

/// The device writes so far: where, what.
type Log = std::sync::Arc<std::sync::Mutex<Vec<(u64, Vec<u8>)>>>;

/// A disk that records every write it is given, in order, so that a test can rebuild the disk
/// as a kill after any of them left it.
#[derive(Clone)]
struct Recording {
    disk: MemDisk,
    log: Log,
}

impl BlockDevice for Recording {
    fn info(&self) -> Info {
        self.disk.info()
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.disk.read(lba, buf)
    }
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        self.log.lock().unwrap().push((lba, data.to_vec()));
        self.disk.write(lba, data)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        self.disk.flush()
    }
}

/// `fsck.fat -n` (dosfstools) on the image `data`: its report when it finds anything to repair.
fn fsck(data: &[u8], name: &str) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!("fatfs-unit-{}-{name}.img", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let out = std::process::Command::new("fsck.fat")
        .arg("-n")
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.expect("fsck.fat is missing: install dosfstools (apt-get install dosfstools)");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Directories made in epoch 1: only metadata goes through the journal (a file's data goes
/// home before the commit), so these fill it past its half and the server writes out between
/// requests (the write-outs whose descriptor's clearing waits for the next flush).
const MKDIRS: usize = 1000;

fn content(epoch: usize, i: usize) -> Vec<u8> {
    // File 5 of each epoch is large: past the cache, so that its data goes home between its
    // requests, before the epoch's commit.
    let len = if i == 5 {
        900_000
    } else {
        (3000 + 7919 * i) % 60_000
    };
    (0..len).map(|k| (k * 31 + epoch * 7 + i) as u8).collect()
}

/// A kill at any moment — after any one of the device writes a run of requests made, syncs and
/// the write-outs of a full cache included — leaves a volume that the next mount makes whole:
/// every file a completed `sync` acknowledged is there byte for byte, nothing of a write-out
/// that was not committed is, and fsck.fat finds nothing to repair (no lost clusters, no bad
/// chain, no wrong free count, no dirty flag).
#[test]
fn a_kill_after_any_device_write_loses_nothing_synced_and_leaves_a_clean_volume() {
    // FAT16, 12 MiB: a small journal (the cache of 16 blocks spills into it often).
    let base = format(MemDisk::new(12 << 11), "CRASH").unwrap();
    let fs = mount(base);

    fs.mkdir(&["d"]).unwrap();
    fs.sync().unwrap();
    let base = fs.unmount().unwrap();
    assert!(fsck(&base.data, "base").is_ok());

    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = Recording {
        disk: base.clone(),
        log: log.clone(),
    };
    let fs = FatFs::mount_with(rec, 16, Clock::none()).unwrap();
    // Epochs: files written (some in many requests, past the cache), one removed, then a sync;
    // `synced[e]` is how many device writes had been made when epoch e's sync returned.
    let mut synced = Vec::new();
    let epochs = 4;
    for e in 0..epochs {
        for i in 0..6 {
            let data = content(e, i);
            let n = fs
                .open(&["d", &format!("e{e}f{i}")], NEW | flags::TRUNCATE)
                .unwrap();
            for (k, c) in data.chunks(5000).enumerate() {
                fs.write(&n, Some(k as u64 * 5000), c).unwrap();
            }
        }
        if e > 0 {
            fs.remove(&["d", &format!("e{}f0", e - 1)], false).unwrap();
        }
        if e == 1 {
            fs.mkdir(&["m"]).unwrap();
            for k in 0..MKDIRS {
                fs.mkdir(&["m", &format!("k{k}")]).unwrap();
            }
        }
        fs.sync().unwrap();
        synced.push(log.lock().unwrap().len());
    }
    assert_eq!(fs.unjournaled(), 0, "a write-out went around the journal");
    assert!(
        fs.write_outs() > epochs as u64,
        "no write-out between requests: {}",
        fs.write_outs()
    );
    let log = log.lock().unwrap().clone();
    assert!(log.len() > 100, "only {} device writes", log.len());

    // What epoch e's sync acknowledged: its files and the earlier ones not removed since.
    let expect = |done: usize| -> Vec<(String, Vec<u8>)> {
        let mut v = Vec::new();
        for e in 0..done {
            for i in 0..6 {
                if i == 0 && e + 1 < done {
                    continue;
                }
                v.push((format!("e{e}f{i}"), content(e, i)));
            }
        }
        v
    };
    let mut disk = base.clone();
    let mut checked = 0;
    for k in 0..=log.len() {
        if k > 0 {
            let (lba, data) = &log[k - 1];
            let at = *lba as usize * 512;
            disk.data[at..at + data.len()].copy_from_slice(data);
        }
        let done = synced.iter().filter(|&&s| s <= k).count();
        // Every write near a sync's end, and a sample of the others (each check mounts a copy).
        let near = synced.iter().any(|&s| k + 40 >= s && k <= s + 2);
        if !near && k % 7 != 0 {
            continue;
        }
        checked += 1;
        let fs = mount(disk.clone());
        let names = names(&fs, &["d"]);
        // What the last completed sync acknowledged is there, byte for byte; of the epoch in
        // progress (its requests write out between them when the journal fills) a file is
        // there or not, and one that is holds a beginning of its bytes, never others. Only the
        // file that epoch removes may be gone.
        for (name, data) in expect(done) {
            let removed_next = done < epochs && name == format!("e{}f0", done.saturating_sub(1));
            match get(&fs, &["d", &name]) {
                Ok(got) => assert!(
                    got == data,
                    "after write {k}: {name} has {} bytes, not its {} synced ones",
                    got.len(),
                    data.len()
                ),
                Err(FsError::NotFound) if removed_next => {}
                Err(e) => panic!("after write {k}: synced {name}: {e:?}"),
            }
        }
        for name in &names {
            let Some(i) = name
                .strip_prefix(&format!("e{done}f"))
                .and_then(|i| i.parse::<usize>().ok())
            else {
                assert!(
                    expect(done).iter().any(|(n, _)| n == name),
                    "after write {k}: {name} was never synced nor is being written"
                );
                continue;
            };
            let got = get(&fs, &["d", name]).unwrap();
            let want = content(done, i);
            assert!(
                got.len() <= want.len() && got[..] == want[..got.len()],
                "after write {k}: {name}, being written, holds other bytes than its own"
            );
        }
        let img = fs.unmount().unwrap();
        if let Err(report) = fsck(&img.data, "crash") {
            panic!("after write {k} of {}: fsck.fat -n:\n{report}", log.len());
        }
    }
    assert!(checked > 50, "{checked}");
    println!("{} device writes, {checked} kill points checked", log.len());
}
