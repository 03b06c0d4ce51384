//! `ramdisk --serve [SIZE] [--quota BYTES,NODES]`: an in-memory file system, served with vfs's
//! file protocol on the handle this program was given as its stdin. `--serve` says that stdin is
//! such a handle: typed at a prompt without it (stdin the terminal), ramdisk says what it is and
//! how to get one (`mount -t ramdisk DIR`) instead of taking the terminal's messages for
//! requests, which wedged the console.
//!
//! The upstream convention for servers: whoever starts one makes a rendezvous, gives one handle
//! to the server as its stdin and mounts the other where the files should appear:
//!
//! ```text
//! let (serve, mount) = new_rendezvous()?;
//! let child = Command::new("/bin/ramdisk").args(["--serve", "1M"]).stdin(serve).spawn()?;
//! libeurali::mount("/data", mount)?;
//! ```
//!
//! SIZE caps the bytes of file data (plain bytes, or with a `K`, `M` or `G` suffix; default
//! [`DEFAULT_SIZE`], at most [`MAX_SIZE`]), and the memory they take in 4 KiB blocks; beyond it
//! writes fail with "no space left". The data is kept outside the heap, in memory chunks taken
//! as the data grows (on the real kernel a page costs a frame only once written), so SIZE is
//! what the files may take of the machine's memory. The other bounds follow from it
//! ([`limits`]: 1024 files and directories for 2 MiB, at most [`MAX_FILES`]; a directory holds
//! at most 4096 entries and 128 KiB of names; names of 255 bytes), so that no client can make
//! the server hold more than its heap. The program ends (status 0) once every other reference
//! to its rendezvous is gone (unmounted, closed, or held only by processes that died), and the
//! files with it.
//!
//! Quotas (`vfs::ramdisk`'s module doc): what sessions charged to an account (an ordinary
//! user's binds, made by login) create is held to BYTES of data and NODES files and
//! directories per account; by default half the size and half the nodes each, and accounts
//! together always leave an eighth of both to the system (root and the services).
#![forbid(unsafe_code)]

use vfs::ramdisk::{Limits, Ramdisk};
use vfs::server::Server;

/// The largest SIZE: what the heap's block lists allow (see [`limits`]). Memory for the data
/// is the machine's; init sizes the root ramdisk for it.
pub const MAX_SIZE: usize = 512 << 20;
/// The size cap without an argument.
pub const DEFAULT_SIZE: usize = 2 << 20;
/// Most files and directories, whatever the size. On the real kernel this server's heap is
/// 4 MiB and a failed allocation halts the machine. The budget ([`Limits::heap`] of
/// [`MAX_SIZE`], about 2.6 MiB): 4096 nodes with names of up to 255 bytes and their map slots,
/// and the block lists of 512 MiB of data (4 bytes a 4 KiB block); one directory listing at a
/// time, under 400 KiB; 56 sessions, a few KiB each while they open (their paths are at most
/// 4 KiB); the rest is left for the program itself and the allocator's slack.
pub const MAX_FILES: usize = 4096;

/// The limits of a ramdisk of `size` bytes: [`Limits::for_bytes`], with at most [`MAX_FILES`]
/// nodes.
pub const fn limits(size: usize) -> Limits {
    let mut l = Limits::for_bytes(size);
    if l.nodes > MAX_FILES {
        l.nodes = MAX_FILES;
        l = l.with_quotas(l.account_bytes, MAX_FILES / 2);
    }
    l
}

/// `--quota BYTES,NODES`'s value: each account's quota (BYTES as SIZE is written).
pub fn parse_quota(s: &str) -> Option<(usize, usize)> {
    let (b, n) = s.split_once(',')?;
    Some((parse_size(b)?, n.parse().ok()?))
}

/// `16M` -> 16 MiB; plain numbers are bytes; `None` for anything else (or an overflow).
pub fn parse_size(s: &str) -> Option<usize> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_mul(1 << shift)
}

/// `ramdisk --help`.
const HELP: &str = "Usage: ramdisk --serve [SIZE] [--quota BYTES,NODES]\n\
An in-memory file server on the handle given as stdin. At a prompt use\n\
`mount -t ramdisk DIR` instead.\n\
  --serve              stdin is the handle to serve\n\
  --quota BYTES,NODES  limits per user\n\
  --help               show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let mut args: Vec<String> = std::env::args().collect();
    let usage = "usage: ramdisk --serve [SIZE] [--quota BYTES,NODES]   (serves the file protocol \
                 on the handle its starter gives as stdin; at a prompt: mount -t ramdisk DIR)";
    match args.iter().position(|a| a == "--serve") {
        Some(i) => {
            args.remove(i);
        }
        None => {
            eprintln!("ramdisk: a file server, started with a rendezvous as its stdin");
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
    let quota = match args.iter().position(|a| a == "--quota") {
        None => None,
        Some(i) => match args.get(i + 1).and_then(|q| parse_quota(q)) {
            Some(q) => {
                args.drain(i..i + 2);
                Some(q)
            }
            None => {
                eprintln!("ramdisk: --quota wants BYTES,NODES (each account's share)");
                eprintln!("{usage}");
                std::process::exit(2);
            }
        },
    };
    let size = match args.get(1).map(String::as_str) {
        None => DEFAULT_SIZE,
        Some(s) => match parse_size(s) {
            Some(n) if n <= MAX_SIZE => n,
            Some(_) => {
                eprintln!(
                    "ramdisk: size {s} is more than {} MiB (the server's heap must hold its lists)",
                    MAX_SIZE >> 20
                );
                std::process::exit(2);
            }
            None => {
                eprintln!("ramdisk: bad size {s:?} (bytes, or a number with K, M or G)");
                eprintln!("{usage}");
                std::process::exit(2);
            }
        },
    };
    let Some(h) = std::rt::take_stdin_handle() else {
        eprintln!("ramdisk: no stdin handle to serve on");
        std::process::exit(1);
    };
    // The liveness watcher wakes the server once nobody else holds the rendezvous, also when
    // the holders went away without a close (an unmount, a process that died).
    let h = std::sync::Arc::new(h);
    let watch = std::rt::watch(h.clone());
    let mut l = limits(size);
    if let Some((bytes, nodes)) = quota {
        l = l.with_quotas(bytes, nodes);
    }
    Server::new(Ramdisk::with_limits(l)).serve(&h);
    if let Ok(w) = watch {
        w.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_ramdisk_fits_its_heap() {
        const HEAP: usize = 4 << 20;
        let tree = limits(MAX_SIZE).heap();
        let listing = limits(MAX_SIZE).listing_heap();
        let sessions = vfs::server::MAX_SESSIONS * 2 * vfs::proto::MAX_NAME_MSG;
        assert!(
            tree + listing + sessions < HEAP * 7 / 8,
            "{tree} {listing} {sessions}"
        );
        const { assert!(DEFAULT_SIZE <= MAX_SIZE) };
        assert_eq!(limits(64 << 20).nodes, MAX_FILES);
        // Quotas follow the capped node count: half each, an eighth reserved.
        assert_eq!(limits(64 << 20).account_nodes, MAX_FILES / 2);
        assert_eq!(limits(64 << 20).reserve_nodes, MAX_FILES / 8);
        assert_eq!(parse_quota("8M,100"), Some((8 << 20, 100)));
        for bad in ["8M", "8M,", ",1", "x,1", "1,-1"] {
            assert_eq!(parse_quota(bad), None, "{bad:?}");
        }
        assert_eq!(limits(2 << 20), Limits::for_bytes(2 << 20));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("4K"), Some(4096));
        assert_eq!(parse_size("16M"), Some(16 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        for bad in [
            "",
            "M",
            "-1",
            "1.5M",
            "12X",
            "99999999999999999999",
            "18446744073709551615K",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}
