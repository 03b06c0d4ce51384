//! `fatfs --serve [DEVICE]`: the FAT32 file server. It serves vfs's file protocol, on the handle
//! it was given as its stdin (as `ramdisk --serve` does), from the FAT volume on the block
//! device mounted at DEVICE (default `/dev/disk0`, `libeurali::proto::block`'s client).
//! `fatfs --format [DEVICE]` makes DEVICE one empty FAT32 volume, labelled EURALI.
//!
//! Whoever starts it makes a rendezvous, gives one end as stdin and mounts the other (the
//! shell's `mount -t fat DEVICE DIR`, init's `/disk`) once fatfs says it serves: its one line on
//! stdout (`fatfs: serving DEVICE`) comes once the volume is mounted; a volume it refuses ends
//! it (status 1, the reason on stderr) without that line. (Probing the mount instead waited for
//! the file protocol's 30 s limit when fatfs had refused: its handle's close does not wake a
//! request already sent.)
//!
//! ```text
//! let (serve, mount) = new_rendezvous()?;
//! Command::new("/bin/fatfs").args(["--serve", "/dev/disk0"]).stdin(serve).spawn()?;
//! libeurali::mount("/disk", mount)?;
//! ```
//!
//! The FAT engine is lamfat ([`fs`]'s doc, docs/design.md "The disk"); between it and the device
//! a write-back cache of 4 KiB blocks ([`cache`]). What is written stays in the cache until a
//! client's `sync` (std's `File::sync_all`, the `sync` tool), the cache's own need for room, the
//! periodic write-back ([`WRITE_BACK`], 5 s), or the server's end (its mount gone), each of
//! which writes everything out and leaves a clean volume. A
//! volume that is not FAT (an unformatted disk, another file system, a damaged boot sector) is
//! refused at start with a message, and the program ends with status 1.
#![forbid(unsafe_code)]

pub mod cache;
pub mod fs;
pub mod journal;

pub use cache::{Cache, DEFAULT_BLOCKS, Disk, DiskError};
pub use fs::{FatFs, MountError, format};

use libeurali::proto::block;

/// How often the cache is written out when it holds writes (besides `sync`).
pub const WRITE_BACK: std::time::Duration = std::time::Duration::from_secs(5);

/// `fatfs --help`.
const HELP: &str = "Usage: fatfs --serve [DEVICE]   or   fatfs --format [DEVICE]\n\
A FAT32 file server for the block device DEVICE (default /dev/disk0), on the\n\
handle given as stdin. At a prompt use `mount -t fat DEVICE DIR` instead.\n\
  --serve    serve the volume on DEVICE on the handle that is stdin\n\
  --format   make DEVICE one empty FAT32 volume (everything on it is lost)\n\
  --help     show this help and exit\n\
";

const USAGE: &str = "usage: fatfs --serve [DEVICE] | fatfs --format [DEVICE]   (serves the file \
                     protocol on the handle its starter gives as stdin; at a prompt: mount -t fat \
                     DEVICE DIR)";

fn open(dev: &str) -> block::Disk {
    match block::Disk::open(dev) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("fatfs: cannot open the disk {dev}: {e}");
            std::process::exit(1);
        }
    }
}

/// The device as a killed fatfs sees it: once its process is killed, none of its threads writes
/// or flushes any more (they fail with an I/O error), so that a fatfs started again on the same
/// disk right after the kill is its only writer. (A request sent just before the kill still
/// lands; the device serves one request at a time, so it lands before the new server's first.)
pub struct Mortal<D>(pub D);

impl<D: block::BlockDevice> block::BlockDevice for Mortal<D> {
    fn info(&self) -> block::Info {
        self.0.info()
    }
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), block::BlockError> {
        self.0.read(lba, buf)
    }
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), block::BlockError> {
        if libeurali::kill::doomed() {
            return Err(block::BlockError::Io);
        }
        self.0.write(lba, data)
    }
    fn flush(&mut self) -> Result<(), block::BlockError> {
        if libeurali::kill::doomed() {
            return Err(block::BlockError::Io);
        }
        self.0.flush()
    }
}

pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mode, dev) = match args.as_slice() {
        ["--help"] => {
            print!("{HELP}");
            std::process::exit(0);
        }
        [m @ ("--serve" | "--format")] => (*m, block::PATH),
        [m @ ("--serve" | "--format"), dev] if !dev.starts_with('-') => (*m, *dev),
        [] => {
            eprintln!("fatfs: a file server, started with a rendezvous as its stdin");
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if mode == "--format" {
        match format(open(dev), "EURALI") {
            Ok(_) => println!("fatfs: {dev} is now an empty FAT32 volume"),
            Err(e) => {
                eprintln!("fatfs: cannot format {dev}: {}", e.as_str());
                std::process::exit(1);
            }
        }
        return;
    }
    // The handle first: a volume refused below closes it at once, which wakes the starter's
    // first request (it reads the mount as closed) instead of leaving it to its time limit.
    let Some(h) = std::rt::take_stdin_handle() else {
        eprintln!("fatfs: no stdin handle to serve on");
        std::process::exit(1);
    };
    let disk = match block::Disk::open(dev) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("fatfs: cannot open the disk {dev}: {e}");
            drop(h);
            std::process::exit(1);
        }
    };
    let fs = match FatFs::mount(Mortal(disk)) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("fatfs: {dev}: {e}; not mounted");
            drop(h);
            std::process::exit(1);
        }
    };
    // As ramdisk: the watcher wakes the server once nobody else holds the rendezvous.
    let h = std::sync::Arc::new(h);
    let watch = std::rt::watch(h.clone());
    // Ready: one line on stdout tells the starter to mount (init and the shell read it; a
    // refusal above is the end of stdout without it). Nothing else is written there.
    println!("fatfs: serving {dev}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let server = vfs::server::Server::new(fs);
    // Write-back every WRITE_BACK while anything is dirty, as Linux's flusher does: on the real
    // kernel the machine's end is its power going, with no unmount.
    let flusher = server.clone();
    let started = std::thread::Builder::new()
        .name("fatfs-flush".into())
        .spawn(move || {
            loop {
                // In slices, each ending in a kernel call: a system shutting down (the stub's)
                // ends its threads at their next call, and a plain sleep makes none.
                let start = std::time::Instant::now();
                while start.elapsed() < WRITE_BACK {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    libeurali::yield_now();
                }
                if flusher.fs().dirty_blocks() > 0 {
                    let _ = vfs::server::FileSystem::sync(flusher.fs());
                }
            }
        });
    if let Err(e) = started {
        eprintln!("fatfs: no periodic write-back ({e}): only sync writes the cache out");
    }
    server.serve(&h);
    if let Ok(w) = watch {
        w.stop();
    }
    if libeurali::kill::doomed() {
        // Killed: no write-out (the next fatfs may be starting on the disk already, and the
        // journal keeps the volume whole); the mount goes with us, so clients see it closed.
        drop(h);
        return;
    }
    // Unmounted: everything out, the volume left clean.
    if let Err(e) = vfs::server::FileSystem::sync(server.fs()) {
        eprintln!(
            "fatfs: {dev}: writing out at unmount failed: {}",
            e.as_str()
        );
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests;
