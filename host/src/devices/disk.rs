//! The disk on the host: an image file served as `/dev/disk0` (`libeurali::proto::block`), as
//! `drivers ata` serves a drive on the real kernel. The same image file is what QEMU attaches
//! with `-drive file=PATH,format=raw,if=ide,index=1`, and what Linux tools (mtools, a loop
//! mount) read.
//!
//! `eurali_host::boot` opens the file named by `EURALI_DISK` ([`DISK_ENV`]) and mounts it at
//! `/dev/disk0` for init. A missing file is created, [`DISK_SIZE_ENV`] bytes long (default
//! [`DEFAULT_SIZE`], 64 MiB), sparse, and formatted as one FAT32 volume labelled EURALI
//! ([`format_new`]: lamfat's format, as `fatfs --format` does on a disk of the real kernel), so
//! that init's `fatfs` mounts it at `/disk` and Linux's mtools read it. An image that exists is
//! never formatted: one fatfs refuses stays as it is. A file
//! that cannot be opened for writing (its mode, a read-only mount) is served read-only. The
//! disk is the file's whole 512-byte sectors; a file shorter than one sector is refused.
//!
//! Reads and writes go straight to the file (`pread`/`pwrite`, through the host's page cache);
//! `BLOCK_FLUSH` is `fdatasync`, so what was written before a flush survives a host crash too.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use libeurali::Handle;
use libeurali::proto::block::{self, BlockDevice, BlockError, Info, SECTOR_SIZE};

/// The host environment variable naming the disk image for `/dev/disk0`. Unset: no disk.
pub const DISK_ENV: &str = "EURALI_DISK";
/// The host environment variable giving the size of a disk image that [`DISK_ENV`] names and
/// that does not exist yet: bytes, or a number with `K`, `M` or `G` (binary units).
pub const DISK_SIZE_ENV: &str = "EURALI_DISK_SIZE";
/// The size of a new image when [`DISK_SIZE_ENV`] is unset: 64 MiB.
pub const DEFAULT_SIZE: u64 = 64 << 20;

/// A disk image file.
#[derive(Debug)]
pub struct ImageDisk {
    file: File,
    info: Info,
}

/// The bytes a size such as `64M`, `1G`, `4096` or `512k` says; `None` for anything else, a
/// size of 0 or one that is not whole sectors.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let bytes = n.checked_mul(1 << shift)?;
    (bytes > 0 && bytes.is_multiple_of(SECTOR_SIZE as u64)).then_some(bytes)
}

impl ImageDisk {
    /// Opens the image at `path`, creating it `size_if_new` bytes long (zeros) if it does not
    /// exist; read-only if it exists but cannot be opened for writing.
    pub fn open(path: &Path, size_if_new: u64) -> io::Result<ImageDisk> {
        let (file, read_only) = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => (f, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(path)?;
                f.set_len(size_if_new)?;
                format_new(&f)?;
                f.sync_all()?;
                (f, false)
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                (OpenOptions::new().read(true).open(path)?, true)
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let sectors = meta.len() / SECTOR_SIZE as u64;
        if sectors == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the image is shorter than one 512-byte sector",
            ));
        }
        Ok(ImageDisk {
            file,
            info: Info { sectors, read_only },
        })
    }

    /// Opens the image `EURALI_DISK` names (creating it as [`DISK_SIZE_ENV`] says); `Ok(None)`
    /// when it is unset. The error says what went wrong, for the user.
    pub fn from_env() -> Result<Option<(String, ImageDisk)>, String> {
        let Some(path) = std::env::var_os(DISK_ENV) else {
            return Ok(None);
        };
        let shown = path.to_string_lossy().into_owned();
        if path.is_empty() {
            return Err(format!("{DISK_ENV} is empty: name a disk image file"));
        }
        let size = match std::env::var(DISK_SIZE_ENV) {
            Ok(s) => parse_size(&s).ok_or_else(|| {
                format!(
                    "{DISK_SIZE_ENV}={s} is not a size: bytes (a multiple of 512) or a number with K, M or G"
                )
            })?,
            Err(_) => DEFAULT_SIZE,
        };
        let disk = ImageDisk::open(Path::new(&path), size)
            .map_err(|e| format!("cannot make /dev/disk0 from {DISK_ENV}={shown}: {e}"))?;
        Ok(Some((shown, disk)))
    }

    /// The byte offset of `lba`, checked against the image for `len` bytes.
    fn offset(&self, lba: u64, len: usize) -> Result<u64, BlockError> {
        block::check_range(&self.info, lba, len)?;
        Ok(lba * SECTOR_SIZE as u64)
    }
}

/// Formats a new image: one FAT32 volume (no partition table) labelled EURALI; an image too
/// small for FAT32 (under about 33 MiB) gets the FAT type lamfat picks for its size. The same
/// crate and options as `fatfs --format` (programs/fatfs, `fatfs::format`), which this crate
/// cannot link (every program, fatfs too, links this crate on the host).
pub fn format_new(f: &File) -> io::Result<()> {
    let opts = || lamfat::FormatVolumeOptions::new().volume_label(*b"EURALI     ");
    let fat32 = lamfat::format_volume(
        &mut lamfat::StdIoWrapper::new(f),
        opts().fat_type(lamfat::FatType::Fat32),
    );
    let r = match fat32 {
        Err(lamfat::Error::InvalidInput) => {
            let mut at = f;
            io::Seek::rewind(&mut at)?;
            lamfat::format_volume(&mut lamfat::StdIoWrapper::new(f), opts())
        }
        r => r,
    };
    r.map_err(|e| io::Error::other(format!("formatting the new image as FAT: {e}")))
}

impl BlockDevice for ImageDisk {
    fn info(&self) -> Info {
        self.info
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let at = self.offset(lba, buf.len())?;
        // The file may have shrunk under us (another host process): what is gone reads as
        // an I/O error, never as stale bytes.
        self.file.read_exact_at(buf, at).map_err(|_| BlockError::Io)
    }

    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        let at = self.offset(lba, data.len())?;
        if self.info.read_only {
            return Err(BlockError::ReadOnly);
        }
        self.file.write_all_at(data, at).map_err(|_| BlockError::Io)
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        if self.info.read_only {
            return Ok(());
        }
        self.file.sync_data().map_err(|_| BlockError::Io)
    }
}

/// Serves `disk` on `h` until the rendezvous fails.
pub fn serve(h: &Handle, mut disk: ImageDisk) {
    block::serve(h, &mut disk);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel_stub::Kernel;
    use libeurali::proto::block::{BLOCK_READ, BLOCK_WRITE, Disk, MAX_BYTES, pack_where};
    use libeurali::{MemoryChunk, Message, Word, msgtype, new_rendezvous, rcall};

    /// A fresh path under the host's temporary directory.
    fn temp_path(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("eurali-disk-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    /// Runs `f` with a client of `disk` served over a rendezvous on a fresh stub kernel.
    fn with_served(disk: ImageDisk, f: impl FnOnce(Handle) + Send) {
        let k = Kernel::new();
        k.run_as_process("disk-test", || {
            let (srv, cli) = new_rendezvous().unwrap();
            libeurali::spawn_fn(move || serve(&srv, disk)).unwrap();
            f(cli);
        });
        k.shutdown();
        assert!(k.take_fault().is_none());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        for bad in [
            "",
            "M",
            "0",
            "100",
            "-1M",
            "1.5M",
            "64MB",
            "99999999999999999999G",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_missing_image_is_created_and_a_short_one_refused() {
        let p = temp_path("new");
        let d = ImageDisk::open(&p, 1 << 20).unwrap();
        assert_eq!(
            d.info(),
            Info {
                sectors: 2048,
                read_only: false
            }
        );
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 1 << 20);
        drop(d);
        // Formatted: a FAT boot sector (FAT12 at this size).
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[510..512], &[0x55, 0xaa]);
        assert_eq!(&bytes[0x36..0x3b], b"FAT12");
        std::fs::remove_file(&p).unwrap();
        let d = ImageDisk::open(&p, 64 << 20).unwrap();
        drop(d);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[0x52..0x57], b"FAT32");
        assert_eq!(&bytes[0x47..0x52], b"EURALI     ");
        std::fs::write(&p, [0u8; 100]).unwrap();
        let e = ImageDisk::open(&p, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("shorter than one"), "{e}");
        // A trailing partial sector is not part of the disk.
        std::fs::write(&p, vec![0u8; 1536 + 7]).unwrap();
        assert_eq!(ImageDisk::open(&p, 0).unwrap().info().sectors, 3);
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn sectors_reach_the_file_over_the_protocol() {
        let p = temp_path("rw");
        // An image that exists (zeros) is served as it is, not formatted.
        std::fs::write(&p, vec![0u8; 4 << 20]).unwrap();
        let disk = ImageDisk::open(&p, 4 << 20).unwrap();
        let path = p.clone();
        with_served(disk, move |h| {
            let mut d = Disk::new(h).unwrap();
            assert_eq!(d.info().sectors, 8192);
            // Larger than one request: split by the client, whole in the file.
            let data: Vec<u8> = (0..MAX_BYTES + 3 * 512).map(|i| (i % 251) as u8).collect();
            d.write(5, &data).unwrap();
            BlockDevice::flush(&mut d).unwrap();
            let file = std::fs::read(&path).unwrap();
            assert_eq!(&file[5 * 512..5 * 512 + data.len()], &data[..]);
            assert!(file[..5 * 512].iter().all(|&b| b == 0));
            let mut back = vec![0u8; data.len()];
            d.read(5, &mut back).unwrap();
            assert_eq!(back, data);
            // The last sector reads; one past it does not, and nothing is written there.
            let mut one = [0u8; 512];
            d.read(8191, &mut one).unwrap();
            assert_eq!(d.read(8192, &mut one), Err(BlockError::OutOfRange));
            assert_eq!(
                block::write(d.handle(), 8191, &[1u8; 1024]),
                Err(BlockError::OutOfRange)
            );
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 4 << 20);
            // Malformed requests get an error and the server goes on.
            let h = d.handle();
            assert_eq!(
                rcall(h, Message::Short(BLOCK_READ, 0, 0)).unwrap().values(),
                (msgtype::ERROR, 5, 0)
            );
            assert_eq!(
                rcall(h, Message::Short(BLOCK_READ, 0, 100_000))
                    .unwrap()
                    .values(),
                (msgtype::ERROR, 5, 0)
            );
            let c = MemoryChunk::from_bytes(&[9u8; 512]).unwrap();
            let bad = (1u64 << 48) * 300; // count 300 > MAX_SECTORS
            assert_eq!(
                rcall(
                    h,
                    Message::Long(BLOCK_WRITE, Word::Value(bad), Word::Chunk(c))
                )
                .unwrap()
                .values(),
                (msgtype::ERROR, 5, 0)
            );
            assert_eq!(
                rcall(h, Message::Short(0x16ff, 1, 2)).unwrap().values(),
                (msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0)
            );
            // A write with the chunk coming back, then a read into a lent chunk.
            let c = MemoryChunk::from_bytes(&[7u8; 1024]).unwrap();
            let w = pack_where(100, 2).unwrap();
            let reply = rcall(
                h,
                Message::Long(BLOCK_WRITE, Word::Value(w), Word::Chunk(c)),
            );
            assert!(matches!(
                reply,
                Ok(Message::Long(msgtype::OK, Word::Value(2), Word::Chunk(_)))
            ));
            let lent = MemoryChunk::alloc(1024).unwrap();
            let reply = rcall(
                h,
                Message::Long(BLOCK_READ, Word::Value(w), Word::Chunk(lent)),
            );
            let Ok(Message::Long(msgtype::DATA, Word::Value(1024), Word::Chunk(mut c))) = reply
            else {
                panic!("{reply:?}")
            };
            // Safety: the server wrote 1024 bytes of our 4 KiB chunk.
            unsafe { c.set_len(1024) };
            assert!(c.as_slice().iter().all(|&b| b == 7));
            d.read(0, &mut one).unwrap();
            assert!(one.iter().all(|&b| b == 0), "still served");
        });
        std::fs::remove_file(&p).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_image_is_served_read_only() {
        use std::os::unix::fs::PermissionsExt;
        let p = temp_path("ro");
        std::fs::write(&p, vec![3u8; 2048]).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
        let disk = ImageDisk::open(&p, 0).unwrap();
        // Root opens it for writing anyway: then it is simply writable.
        let ro = disk.info().read_only;
        with_served(disk, move |h| {
            let d = Disk::new(h).unwrap();
            assert_eq!(d.info().read_only, ro);
            let mut buf = [0u8; 512];
            d.read(3, &mut buf).unwrap();
            assert_eq!(buf, [3u8; 512]);
            if ro {
                assert_eq!(d.write(0, &buf), Err(BlockError::ReadOnly));
                assert_eq!(block::write(d.handle(), 0, &buf), Err(BlockError::ReadOnly));
            }
        });
        std::fs::remove_file(&p).unwrap();
    }
}
