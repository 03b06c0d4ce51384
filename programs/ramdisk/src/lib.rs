//! `ramdisk [SIZE]`: an in-memory file system, served with vfs's file protocol on the handle
//! this program was given as its stdin.
//!
//! The upstream convention for servers: whoever starts one makes a rendezvous, gives one handle
//! to the server as its stdin and mounts the other where the files should appear:
//!
//! ```text
//! let (serve, mount) = new_rendezvous()?;
//! let child = Command::new("/bin/ramdisk").arg("16M").stdin(serve).spawn()?;
//! libeurali::mount("/data", mount)?;
//! ```
//!
//! SIZE caps the bytes of file data (plain bytes, or with a `K`, `M` or `G` suffix; default
//! [`DEFAULT_SIZE`]); beyond it writes fail with "no space left". The program ends (status 0)
//! once every other reference to its rendezvous is gone (unmounted, closed, or held only by
//! processes that died), and the files with it.

use vfs::ramdisk::Ramdisk;
use vfs::server::Server;

/// The size cap without an argument.
pub const DEFAULT_SIZE: usize = 32 << 20;

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

pub fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = match args.get(1).map(String::as_str) {
        None => DEFAULT_SIZE,
        Some(s) => match parse_size(s) {
            Some(n) => n,
            None => {
                eprintln!("ramdisk: bad size {s:?} (bytes, or a number with K, M or G)");
                eprintln!("usage: ramdisk [SIZE]   (serves on the handle given as stdin)");
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
    Server::new(Ramdisk::new(size)).serve(&h);
    if let Ok(w) = watch {
        w.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
