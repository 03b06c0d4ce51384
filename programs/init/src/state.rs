//! What outlives a boot: with a disk mounted at [`crate::DISK`], the accounts and the homes live
//! on it.
//!
//! | seen at | kept on the disk at | first boot (no `/disk/etc/users`) |
//! |---|---|---|
//! | `/etc` (`users`, `ns/*`, what else root puts there) | `/disk/etc` | seeded from the image's `/etc` |
//! | `/home` | `/disk/home` | seeded from the image's homes |
//! | `/etc/public` | stays the image's (the ramdisk) | — |
//!
//! init mounts the two subtrees of the disk over the ramdisk's `/etc` and `/home` in its own
//! namespace, and the image's `/etc/public` over the disk's, before any login: every login
//! inherits them, root's sessions get the same mounts (`session`), and an ordinary user's spec
//! (`bind $home $home`) binds their own home on the disk, nothing else of it. So `passwd`,
//! `useradd` and the shell's `~/.sh_history` write to the disk, and `/etc/public` (the motd, the
//! editor's syntax files) always comes from the running system's image.
//!
//! Seeding copies files that are missing only, and writes `/disk/etc/users` last (through a
//! rename), so a first boot cut short seeds again at the next one and never clobbers what a
//! user put on the disk (with mtools, say). A disk that is read-only, or on which seeding fails,
//! is left as it is: the accounts and homes stay in memory, and `passwd` says that a change
//! lasts until reboot.

use crate::{DISK, say};

/// The image's `/etc`, and where it is kept on the disk.
const ETC: &str = "/etc";
/// The part of `/etc` an ordinary user sees: always the image's.
const PUBLIC: &str = "/etc/public";
/// The homes.
const HOME: &str = "/home";

fn on_disk(path: &str) -> String {
    format!("{DISK}{path}")
}

/// Keeps the accounts and homes on the disk mounted at [`DISK`] (see the module doc); whether
/// they are there now.
pub(crate) fn keep_on_disk() -> bool {
    match std::fs::metadata(DISK) {
        Ok(m) if m.permissions().readonly() => {
            say(&format!(
                "disk: {DISK} is read-only; accounts and homes stay in memory until reboot"
            ));
            return false;
        }
        Ok(_) => {}
        Err(e) => {
            say(&format!("disk: {DISK}: {e}"));
            return false;
        }
    }
    let users = on_disk(vfs::users::USERS);
    let first = !matches!(std::fs::exists(&users), Ok(true));
    if first {
        if let Err(e) = seed() {
            say(&format!(
                "disk: cannot keep the accounts and homes on {DISK} ({e}); they stay in memory until reboot"
            ));
            return false;
        }
        say(&format!(
            "disk: accounts and homes copied to {DISK} (first boot)"
        ));
    }
    match mount_state() {
        Ok(()) => {
            say(&format!(
                "disk: /etc and /home are kept on {DISK}{}",
                if first { "" } else { " (as it left them)" }
            ));
            true
        }
        Err(e) => {
            say(&format!(
                "disk: cannot mount /etc and /home from {DISK} ({e}); they stay in memory until reboot"
            ));
            false
        }
    }
}

/// The first boot on this disk: the image's `/etc` (but its public part) and homes, copied where
/// missing; `users` last.
fn seed() -> std::io::Result<()> {
    std::fs::create_dir_all(on_disk(ETC))?;
    std::fs::create_dir_all(on_disk(HOME))?;
    copy_missing(ETC, &on_disk(ETC), &[PUBLIC, vfs::users::USERS])?;
    copy_missing(HOME, &on_disk(HOME), &[])?;
    let users = on_disk(vfs::users::USERS);
    let tmp = format!("{users}.new");
    std::fs::copy(vfs::users::USERS, &tmp)?;
    std::fs::rename(&tmp, &users)?;
    vfs::client::sync(DISK).map_err(std::io::Error::from)
}

/// Copies the tree at `from` into the directory `to`: the directories and files missing there
/// (`skip`: paths under `from` not to copy). Without recursion: init's stack is small.
fn copy_missing(from: &str, to: &str, skip: &[&str]) -> std::io::Result<()> {
    let mut pending = vec![(String::from(from), String::from(to))];
    while let Some((src, dst)) = pending.pop() {
        for e in std::fs::read_dir(&src)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let (s, d) = (format!("{src}/{name}"), format!("{dst}/{name}"));
            if skip.contains(&s.as_str()) {
                continue;
            }
            if e.file_type()?.is_dir() {
                match std::fs::create_dir(&d) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                pending.push((s, d));
            } else if !matches!(std::fs::exists(&d), Ok(true)) {
                std::fs::copy(&s, &d)?;
            }
        }
    }
    Ok(())
}

/// Mounts the disk's `/etc` and `/home` over the ramdisk's, and the image's `/etc/public` over
/// the disk's. Every handle is taken before the first mount, so that a failure leaves init's
/// namespace as it was.
///
/// `/etc` and `/home` are subtree views of `/disk` served by init (`vfs::view::spawn_subtree`),
/// not fatfs's own subtree sessions: they forward each open to `/disk`'s rendezvous, on which
/// init starts fatfs again when it fails, so they outlive a fatfs, in init's namespace and in
/// every copy of it (login's, root's sessions). An ordinary user's bind of their home is a
/// session of fatfs and ends with it.
fn mount_state() -> Result<(), String> {
    let public = vfs::client::serve_subtree(PUBLIC, true).map_err(|e| format!("{PUBLIC}: {e}"))?;
    let view = |dir: &str| {
        let disk = match libeurali::open(DISK) {
            Ok((h, n)) if n == DISK.len() => h,
            Ok(_) => return Err(format!("{DISK} is not mounted")),
            Err(e) => return Err(format!("{DISK}: {e}")),
        };
        vfs::view::spawn_subtree(disk, String::from(dir)).map_err(|e| format!("{dir}: {e}"))
    };
    let etc = view(ETC)?;
    let home = view(HOME)?;
    // The image's public part first (the same files either way), /etc last.
    for (path, h) in [(PUBLIC, public), (HOME, home), (ETC, etc)] {
        libeurali::mount(path, h).map_err(|(e, _)| format!("mount {path}: {e}"))?;
    }
    Ok(())
}

/// init gave up on fatfs: `/disk` (on `serve`) answers every request with an error from now
/// on, and so do `/etc` and `/home` through their views, rather than leave their clients
/// waiting for a server that never comes. The accounts do not fall back to the image's: that
/// would bring back its passwords. Blocks, serving `/disk`.
pub(crate) fn refuse(serve: &libeurali::Handle, kept: bool) {
    say(&format!(
        "disk: {DISK} fails until reboot{}",
        if kept {
            ", and so do /etc and /home: nobody can log in meanwhile"
        } else {
            ""
        }
    ));
    vfs::server::serve(Gone, serve);
}

/// A file system whose server is gone: every request fails with CLOSED.
struct Gone;

const GONE: vfs::proto::FsError = vfs::proto::FsError::Kernel(libeurali::Error::Closed);

impl vfs::server::FileSystem for Gone {
    type Node = ();

    fn open(&self, _: &[&str], _: u32) -> Result<(), vfs::proto::FsError> {
        Err(GONE)
    }
    fn stat(&self, _: &()) -> Result<vfs::proto::Meta, vfs::proto::FsError> {
        Err(GONE)
    }
    fn read(&self, _: &(), _: u64, _: &mut [u8]) -> Result<usize, vfs::proto::FsError> {
        Err(GONE)
    }
    fn write(&self, _: &(), _: Option<u64>, _: &[u8]) -> Result<u64, vfs::proto::FsError> {
        Err(GONE)
    }
    fn set_len(&self, _: &(), _: u64) -> Result<(), vfs::proto::FsError> {
        Err(GONE)
    }
    fn read_dir(&self, _: &()) -> Result<Vec<vfs::proto::Entry>, vfs::proto::FsError> {
        Err(GONE)
    }
    fn mkdir(&self, _: &[&str]) -> Result<(), vfs::proto::FsError> {
        Err(GONE)
    }
    fn remove(&self, _: &[&str], _: bool) -> Result<(), vfs::proto::FsError> {
        Err(GONE)
    }
    fn rename(&self, _: &[&str], _: &[&str]) -> Result<(), vfs::proto::FsError> {
        Err(GONE)
    }
}
