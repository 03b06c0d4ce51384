//! Namespaces: this process's mount table, `bind`, the namespace spec format, and the builder
//! that turns a spec into mounts for an exec'd child.
//!
//! # Spec format (`/etc/ns/<user>`), one item per line, like Plan 9's namespace files
//!
//! ```text
//! # comment
//! mount [-r] SOURCE TARGET    the server mounted at SOURCE (or the subtree there) at TARGET
//! bind  [-r] SOURCE TARGET    the directory SOURCE (served by a file server) at TARGET
//! ramdisk [-s BYTES] TARGET   a new, private, empty ramdisk at TARGET
//! ```
//! SOURCE names a path in the namespace of the process that builds (login's); TARGET a path in
//! the new one. `-r` makes the mount read-only (a read-only view, `vfs::view`, in front for `mount`, a
//! read-only subtree session for `bind`). `$user` and `$home` are replaced in each word (after
//! the line is split into words). Paths are resolved ([`crate::path::resolve`]) before use, so a
//! spec cannot name anything through `..`. [`parse`] never panics; errors name the line.
//!
//! [`item`] builds one item from words already split (what a line's words are, and what the
//! shell's `mount` and `bind` builtins pass from their arguments, so that a path there is one
//! word whatever bytes it holds: no text is ever assembled from paths).
//!
//! The child sees exactly what its spec mounts (exec `N`, then one `m` item per mount): no
//! other part of the builder's namespace is reachable, because every path a child opens is
//! resolved by the client and matched by the kernel against the child's own table.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use libeurali::params::ExecParams;
use libeurali::{Error, Handle};

use crate::client;
use crate::path::resolve;
use crate::proto::FsError;

/// One item of a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Mount {
        source: String,
        target: String,
        readonly: bool,
    },
    Bind {
        source: String,
        target: String,
        readonly: bool,
    },
    Ramdisk {
        target: String,
        size: usize,
    },
}

/// Default, and largest, size of a `ramdisk` line's disk (bytes of file data). Such a disk is
/// served by a thread of the process that applies the spec (login, for a session's `/tmp`):
/// its data takes up to this much of the machine's memory (in chunks of that process), and its
/// tree under 0.5 MiB of that process's 4 MiB heap (`vfs::ramdisk::Limits::heap`).
pub const DEFAULT_RAMDISK: usize = 2 << 20;

/// Parses a spec with `$user`/`$home` replaced. Never panics.
///
/// A line is split into words at white space first and the names replaced in each word after,
/// so a replacement never adds words or lines.
pub fn parse(text: &str, user: &str, home: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<String> = line
            .split_whitespace()
            .map(|w| w.replace("$user", user).replace("$home", home))
            .collect();
        if words.is_empty() {
            continue;
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        out.push(item(&words).map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    Ok(out)
}

/// One item from its words: a spec line's, or a command's arguments (the shell's `mount` and
/// `bind`), which is why each word is taken whole: a path may hold any byte but NUL (spaces,
/// `#`, `$`, line ends), and nothing in it is replaced or read as syntax. Paths are resolved
/// from `/` ([`resolve`]). Never panics.
pub fn item(words: &[&str]) -> Result<Item, String> {
    let Some((&cmd, mut args)) = words.split_first() else {
        return Err("empty item".to_string());
    };
    let readonly = args.first() == Some(&"-r");
    if readonly {
        args = &args[1..];
    }
    let path = |s: &str| resolve("/", s).map_err(|_| format!("bad path {s:?}"));
    Ok(match (cmd, args) {
        ("mount", [s, t]) => Item::Mount {
            source: path(s)?,
            target: path(t)?,
            readonly,
        },
        ("bind", [s, t]) => Item::Bind {
            source: path(s)?,
            target: path(t)?,
            readonly,
        },
        ("ramdisk", [t]) if !readonly => Item::Ramdisk {
            target: path(t)?,
            size: DEFAULT_RAMDISK,
        },
        ("ramdisk", ["-s", n, t]) if !readonly => Item::Ramdisk {
            target: path(t)?,
            size: n
                .parse()
                .ok()
                .filter(|&n| n <= DEFAULT_RAMDISK)
                .ok_or_else(|| format!("bad size (bytes, at most {DEFAULT_RAMDISK})"))?,
        },
        ("mount" | "bind" | "ramdisk", _) => return Err("wrong arguments".to_string()),
        _ => return Err(format!("unknown command {cmd:?}")),
    })
}

/// Mounts `h` at `path` (resolved) in this process's table.
pub fn mount(path: &str, h: Handle) -> Result<(), FsError> {
    let p = resolve("/", path).map_err(|_| FsError::Invalid)?;
    libeurali::mount(&p, h).map_err(|(e, _)| FsError::Kernel(e))
}

/// Removes the mount at `path` (resolved; `/` is the root mount).
pub fn umount(path: &str) -> Result<(), FsError> {
    let p = resolve("/", path).map_err(|_| FsError::Invalid)?;
    let p = if p == "/" { "" } else { p.as_str() };
    libeurali::umount(p).map_err(FsError::from)
}

/// This process's mounts, the root mount as `/`.
pub fn list() -> Result<Vec<String>, FsError> {
    Ok(libeurali::list_mounts()?
        .into_iter()
        .map(|p| if p.is_empty() { "/".to_string() } else { p })
        .collect())
}

/// A handle for the directory `source` (resolved) that serves the mount protocol for that
/// subtree: what [`bind`] mounts.
pub fn bind_handle(source: &str, readonly: bool) -> Result<Handle, FsError> {
    client::serve_subtree(source, !readonly)
}

/// [`bind_handle`], its sessions charged to `account` ([`crate::proto::Op::ServeAs`]).
pub fn bind_handle_as(
    source: &str,
    readonly: bool,
    account: Option<&str>,
) -> Result<Handle, FsError> {
    client::serve_subtree_as(source, !readonly, account)
}

/// `bind source target`: the subtree at `source` appears at `target` in this process too.
pub fn bind(source: &str, target: &str, readonly: bool) -> Result<(), FsError> {
    let s = resolve("/", source).map_err(|_| FsError::Invalid)?;
    mount(target, bind_handle(&s, readonly)?)
}

/// The handle a `mount` item names: the mount at exactly `source` itself, or the subtree there.
fn mount_handle(
    source: &str,
    readonly: bool,
    account: Option<&str>,
    servers: &dyn Servers,
) -> Result<Handle, FsError> {
    let (h, prefix) = libeurali::open(source).map_err(FsError::from)?;
    let exact = prefix == source.len() || (source == "/" && prefix == 0);
    let h = if exact {
        h
    } else {
        bind_handle_as(source, false, account)?
    };
    if readonly { servers.readonly(h) } else { Ok(h) }
}

/// Spare references to a namespace's mount handles ([`Namespace::reclaim`]). Drop it after the
/// process given the namespace has ended: the servers this process started for the namespace
/// (ramdisks, read-only views, devices, bind sessions) then hold the last reference to their
/// mount rendezvous, and closing the spare wakes each one to end (ABI §3.5), instead of leaving
/// it blocked forever on a rendezvous whose clients died without closing anything. A server
/// whose clients live on (a background process of the session) is not disturbed.
#[derive(Debug)]
pub struct Reclaim(Vec<Handle>);

impl Drop for Reclaim {
    fn drop(&mut self) {
        self.0.clear(); // closes the spares
    }
}

/// What a spec's items start: file servers, which live above this crate (`vfs`).
pub trait Servers {
    /// A ramdisk of `size` bytes; the handle to mount.
    fn ramdisk(&self, size: usize) -> Result<Handle, FsError>;
    /// A read-only view in front of the mount `inner`; the handle to mount.
    fn readonly(&self, inner: Handle) -> Result<Handle, FsError>;
}

/// Mounts for a child, built in this process.
#[derive(Debug, Default)]
pub struct Namespace {
    mounts: Vec<(String, Handle)>,
}

impl Namespace {
    pub fn new() -> Namespace {
        Namespace::default()
    }

    /// Realises a parsed spec: opens and binds what it names, and has `servers` start its
    /// ramdisks and read-only views (threads or programs that must outlive the child). The
    /// servers' crate (`vfs`) gives the usual ones: `vfs::ns::from_spec`. With `account`, for an
    /// ordinary user's session: the subtrees its `bind` (and subtree `mount`) items open are
    /// charged to `account` on their servers ([`crate::proto::Op::ServeAs`]: a share of the
    /// server's sessions, quotas); a `mount` of a whole server hands on this process's own
    /// handle, uncharged.
    pub fn build_with(
        items: &[Item],
        servers: &dyn Servers,
        account: Option<&str>,
    ) -> Result<Namespace, (String, FsError)> {
        Namespace::build(items, servers, account)
    }

    fn build(
        items: &[Item],
        servers: &dyn Servers,
        account: Option<&str>,
    ) -> Result<Namespace, (String, FsError)> {
        let mut ns = Namespace::new();
        for it in items {
            let (target, h) = match it {
                Item::Mount {
                    source,
                    target,
                    readonly,
                } => (
                    target,
                    mount_handle(source, *readonly, account, servers)
                        .map_err(|e| (source.clone(), e))?,
                ),
                Item::Bind {
                    source,
                    target,
                    readonly,
                } => (
                    target,
                    bind_handle_as(source, *readonly, account).map_err(|e| (source.clone(), e))?,
                ),
                Item::Ramdisk { target, size } => (
                    target,
                    servers.ramdisk(*size).map_err(|e| (target.clone(), e))?,
                ),
            };
            ns.add(target, h);
        }
        Ok(ns)
    }

    /// Adds a mount of `h` at `path` (resolved).
    pub fn add(&mut self, path: &str, h: Handle) {
        let p = resolve("/", path).unwrap_or_else(|_| String::from("/"));
        self.mounts.push((p, h));
    }

    /// Spare references to the mount handles, to drop once the process given this namespace
    /// has ended (see [`Reclaim`]).
    pub fn reclaim(&self) -> Reclaim {
        Reclaim(
            self.mounts
                .iter()
                .filter_map(|(_, h)| h.try_clone().ok())
                .collect(),
        )
    }

    /// [`Namespace::reclaim`] without spares of the mounts at `keep` (resolved): for a mount
    /// whose server the caller watches and ends itself (login's probe of the session's end).
    pub fn reclaim_except(&self, keep: &str) -> Reclaim {
        let keep = resolve("/", keep).unwrap_or_else(|_| String::from("/"));
        Reclaim(
            self.mounts
                .iter()
                .filter(|(p, _)| *p != keep)
                .filter_map(|(_, h)| h.try_clone().ok())
                .collect(),
        )
    }

    /// The mount paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.mounts.iter().map(|(p, _)| p.as_str())
    }

    /// Appends `N` and one `m` item per mount to `params`, and gives up the handles (the kernel
    /// takes them by number at exec, and loses them if exec fails, ABI §4.6).
    pub fn into_exec_params(self, params: ExecParams) -> Result<ExecParams, Error> {
        let mut params = params.new_namespace();
        for (p, h) in &self.mounts {
            params = params.mount(h.raw(), p)?;
        }
        for (_, h) in self.mounts {
            h.into_raw();
        }
        Ok(params)
    }

    /// The mounts, as (resolved path, handle) pairs, in order (for std-shim's `Command`).
    pub fn into_mounts(self) -> Vec<(String, Handle)> {
        self.mounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_lines() {
        let t = "# user namespace\nmount /dev/console /dev/console\nbind -r /bin /bin\n\
                 bind $home $home  # own home\nramdisk -s 1000 /tmp\nramdisk /scratch\n\n";
        let items = parse(t, "user", "/home/user").unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(
            items[2],
            Item::Bind {
                source: "/home/user".into(),
                target: "/home/user".into(),
                readonly: false
            }
        );
        assert_eq!(
            items[3],
            Item::Ramdisk {
                target: "/tmp".into(),
                size: 1000
            }
        );
        // `..` cannot climb in a spec either.
        let i = parse("bind /home/$user/../../etc /x", "../..", "").unwrap();
        assert_eq!(
            i[0],
            Item::Bind {
                source: "/etc".into(),
                target: "/x".into(),
                readonly: false
            }
        );
        for bad in [
            "mount /a",
            "frob /a /b",
            "ramdisk -r /t",
            "ramdisk -s x /t",
            "bind a\0 b",
        ] {
            assert!(parse(bad, "u", "/h").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_item_takes_each_word_whole() {
        // What the shell's builtins pass: any bytes but NUL stay in the one path.
        let odd = "/home/user/a b#c$home\nramdisk /r";
        assert_eq!(
            item(&["bind", "-r", odd, "/x y"]),
            Ok(Item::Bind {
                source: odd.into(),
                target: "/x y".into(),
                readonly: true
            })
        );
        assert_eq!(
            item(&["ramdisk", "-s", "4096", "/q #1"]),
            Ok(Item::Ramdisk {
                target: "/q #1".into(),
                size: 4096
            })
        );
        for bad in [
            &[][..],
            &["mount"],
            &["mount", "-r", "/a"],
            &["bind", "/a", "/b", "/c"],
            &["ramdisk", "-s", "99999999", "/t"],
            &["mount", "/a\0", "/b"],
            &["frob", "/a", "/b"],
        ] {
            assert!(item(bad).is_err(), "{bad:?}");
        }
        // In a spec, a name replaced inside a word stays one word.
        let i = parse("bind $home /h\n", "u", "/home/a user").unwrap();
        assert_eq!(
            i,
            [Item::Bind {
                source: "/home/a user".into(),
                target: "/h".into(),
                readonly: false
            }]
        );
    }

    #[test]
    fn parse_never_panics() {
        let pieces = [
            "mount", "bind", "ramdisk", "-r", "-s", "/a", "..", "$user", "#", "\n", " ", "\0", "é",
            "1",
        ];
        let mut x = 7u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(pieces[(x % pieces.len() as u64) as usize]);
                s.push(' ');
            }
            let _ = parse(&s, "u", "/h");
        }
    }
}
