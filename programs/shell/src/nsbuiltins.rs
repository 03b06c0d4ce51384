//! The namespace builtins: `ns` (this process's mount table), `mount`, `bind`, `umount`.
//!
//! They change the shell's own namespace, which the programs it starts copy (std's `Command`
//! default). The syntax is the namespace spec's (`vfs::ns`, `/etc/ns/<user>`), so a line of a
//! spec can be tried at the prompt; but the mount is built from the arguments, each path one
//! argument whatever it holds (`vfs::ns::item`), not from a line of text:
//!
//! ```text
//! mount [-r] SOURCE TARGET    the server (or subtree) at SOURCE, also at TARGET
//! bind  [-r] SOURCE TARGET    the directory SOURCE at TARGET
//! mount -t ramdisk [-s BYTES] TARGET   a new empty ramdisk at TARGET
//! mount -t fat DEVICE TARGET  the FAT volume on the block device DEVICE at TARGET (`fatfs`)
//! umount TARGET               remove the mount at TARGET
//! ns                          list the mounts, one per line (`/` is the root mount)
//! ```
//! Mounting needs no privilege: a process can only mount what its namespace already reaches.

use std::io::Write;

/// Runs one of the builtins; its exit status. Messages go to `err`, listings to `out`.
pub fn run(
    name: &str,
    args: &[String],
    cwd: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match (name, args) {
        ("ns", []) | ("mount", []) => match libeurali::list_mounts() {
            Ok(list) => {
                for m in list {
                    let shown = if m.is_empty() { "/" } else { m.as_str() };
                    let _ = writeln!(out, "{shown}");
                }
                0
            }
            Err(e) => {
                let _ = writeln!(err, "{name}: cannot read the mount table: {}", e.name());
                1
            }
        },
        ("ns", _) => {
            let _ = writeln!(err, "ns: usage: ns (prints this process's namespace)");
            2
        }
        ("umount", [target]) => {
            let Ok(p) = vfs::path::resolve(cwd, target) else {
                let _ = writeln!(err, "umount: {target}: bad path");
                return 1;
            };
            let key = if p == "/" { "" } else { p.as_str() };
            match libeurali::umount(key) {
                Ok(()) => 0,
                Err(_) => {
                    let _ = writeln!(err, "umount: {p}: not mounted");
                    1
                }
            }
        }
        ("umount", _) => {
            let _ = writeln!(err, "umount: usage: umount TARGET");
            2
        }
        _ => mount_or_bind(name, args, cwd, err),
    }
}

fn mount_or_bind(name: &str, args: &[String], cwd: &str, err: &mut dyn Write) -> i32 {
    let usage = |err: &mut dyn Write| {
        let _ = writeln!(
            err,
            "{name}: usage: {name} [-r] SOURCE TARGET{}",
            if name == "mount" {
                ", or mount -t ramdisk [-s BYTES] TARGET, or mount -t fat DEVICE TARGET"
            } else {
                ""
            }
        );
        2
    };
    // The item is built from the arguments as they are (`vfs::ns::item`), never from text: a
    // path may hold spaces, `#`, `$` or line ends and stays one path. Relative paths are
    // resolved against the working directory here (a resolved path starts with `/`, so it is
    // never taken for an option).
    let abs = |p: &str| vfs::path::resolve(cwd, p).map_err(|_| format!("{p:?}: bad path"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let words = match (name, args.as_slice()) {
        ("mount", ["-t", "ramdisk", "-s", size, target]) => {
            abs(target).map(|t| vec!["ramdisk".into(), "-s".into(), size.to_string(), t])
        }
        ("mount", ["-t", "ramdisk", target]) => abs(target).map(|t| vec!["ramdisk".into(), t]),
        ("mount", ["-t", "fat", device, target]) => {
            return match (abs(device), abs(target)) {
                (Ok(d), Ok(t)) => mount_fat(&d, &t, err),
                (Err(e), _) | (_, Err(e)) => {
                    let _ = writeln!(err, "{name}: {e}");
                    1
                }
            };
        }
        ("mount", ["-t", ..]) => return usage(err),
        (_, ["-r", source, target]) => {
            abs(source).and_then(|s| Ok(vec![name.into(), "-r".into(), s, abs(target)?]))
        }
        (_, [source, target]) if !source.starts_with('-') => {
            abs(source).and_then(|s| Ok(vec![name.into(), s, abs(target)?]))
        }
        _ => return usage(err),
    };
    let item = words.and_then(|w| {
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        vfs::ns::item(&w)
    });
    let items = match item {
        Ok(item) => [item],
        Err(e) => {
            let _ = writeln!(err, "{name}: {e}");
            return 1;
        }
    };
    let ns = match vfs::ns::from_spec_with(&items, &start_ramdisk) {
        Ok(ns) => ns,
        Err((what, e)) => {
            let _ = writeln!(err, "{name}: {what}: {e}");
            return 1;
        }
    };
    let mut status = 0;
    for (path, h) in ns.into_mounts() {
        let key = if path == "/" {
            String::new()
        } else {
            path.clone()
        };
        if let Err((e, _)) = libeurali::mount(&key, h) {
            let _ = writeln!(err, "{name}: cannot mount at {path}: {}", e.name());
            status = 1;
        }
    }
    status
}

/// `mount -t fat DEVICE TARGET`: the `fatfs` program serving DEVICE's volume, on one end of a
/// rendezvous whose other end is mounted at TARGET (as a ramdisk's) once fatfs says it serves
/// (its line on stdout). A volume fatfs refuses (not FAT, damaged, no such disk) ends it with
/// its own message, and nothing is mounted.
fn mount_fat(device: &str, target: &str, err: &mut dyn Write) -> i32 {
    let started = libeurali::new_rendezvous()
        .map_err(|e| e.name().to_string())
        .and_then(|(serve, mount)| {
            std::process::Command::new("/bin/fatfs")
                .args(["--serve", device])
                .killable(false)
                .stdin(serve)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .map(|child| (child, mount))
                .map_err(|e| e.to_string())
        });
    let (mut child, h) = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "mount: cannot start fatfs: {e}");
            return 1;
        }
    };
    // fatfs says one line once it serves; a volume it refuses ends it without one (its reason
    // on stderr).
    let mut serving = false;
    if let Some(mut out) = child.stdout.take() {
        let mut b = [0u8; 1];
        while let Ok(1) = std::io::Read::read(&mut out, &mut b) {
            if b[0] == b'\n' {
                serving = true;
                break;
            }
        }
    }
    if !serving {
        let status = child.wait().ok().and_then(|s| s.code());
        let _ = writeln!(
            err,
            "mount: {device}: not mounted (fatfs ended with status {})",
            status.map_or("unknown".to_string(), |c| c.to_string())
        );
        return 1;
    }
    let key = if target == "/" { "" } else { target };
    if let Err((e, _)) = libeurali::mount(key, h) {
        let _ = writeln!(err, "mount: cannot mount at {target}: {}", e.name());
        return 1;
    }
    0
}

/// A `ramdisk` item's server: the `ramdisk` program, started on one end of a rendezvous whose
/// other end is mounted (as init starts the root's). Not a server of the shell's own: that would
/// carry a file server in the shell's ELF, which exec copies whole through the kernel's 1 MiB
/// heap. The ramdisk serves as long as the mount lives; it is never killed and ends with the
/// last reference to it.
fn start_ramdisk(size: usize) -> Result<libeurali::Handle, vfs::proto::FsError> {
    let (serve, mount) = libeurali::new_rendezvous()?;
    std::process::Command::new("/bin/ramdisk")
        .args(["--serve".to_string(), size.to_string()])
        .killable(false)
        .stdin(serve)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => vfs::proto::FsError::NotFound,
            _ => vfs::proto::FsError::Kernel(libeurali::Error::Memory),
        })?;
    Ok(mount)
}
