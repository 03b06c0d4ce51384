//! `/proc`: the process table, as a file server (the kernel keeps none that userland can read).
//!
//! Every program built on std-shim registers itself as it starts and removes its entry as it
//! ends (see std-shim's runtime); `ps` lists the directory. A process that dies without ending
//! (a fault: on the real kernel that halts the machine anyway) leaves its entry behind.
//!
//! | Path | Operation | Meaning |
//! |---|---|---|
//! | `/` | read_dir | one entry per process, named by its pid |
//! | `/new` | open with CREATE+WRITE (+READ) | allocates a pid; write `USER\tCOMMAND LINE`, read back `PID\n` |
//! | `/PID` | read | `PID\tUSER\tSTART_US\tHEAP\tCOMMAND LINE\n` (start: microseconds since boot; heap: `USED/CLAIMED` bytes as the process last reported them, `0/0` before it has) |
//! | `/PID` | open with WRITE, write `heap USED CLAIMED` | the process reports its heap (std-shim's runtime, see below) |
//! | `/PID` | remove | the process ended |
//! | `/memory` | read | the table's totals: `key value` lines (see [`ProcFs::memory_text`]) |
//! | `/limit` | read | `N\n`, or `N ALL\n`: the most processes one user may have, and all users but root together ([`ProcFs::with_user_limit`], [`ProcFs::with_users_limit`]) |
//! | `/as/USER` | `Serve` (bind) | the table as `USER` sees it: see below |
//!
//! Nothing else is allowed (Denied). The table holds at most [`MAX_PROCS`] entries, each line at
//! most [`MAX_LINE`] bytes (longer writes are cut), so no client can make the server hold more.
//!
//! # Memory
//!
//! The kernel gives userland no memory figures, so each process says what its heap holds: its
//! runtime (std-shim) writes `heap USED CLAIMED` into its own entry, USED the bytes its
//! allocator has handed out and not had back, CLAIMED what the allocator has taken of the 4 MiB
//! heap (and of chunks past it): the pages it has written, RSS-like. It reports when it
//! registers and then at its blocking points (sleep, reads of stdin), when
//! the figure has moved by at least 64 KiB (and an eighth) since the last report and a quarter
//! of a second has passed: no thread and no system call per allocation. A process that computes
//! without blocking keeps its last figure meanwhile. A figure is what the process says: a
//! client can only write its own entries (in its view), so a user can misstate only their own.
//! `/memory` sums them (`ps` and `free` show them).
//!
//! # Whose entries
//!
//! The kernel cannot tell clients apart, so who a client is comes from where it opens: the whole
//! table (what init mounts, and login gives root's sessions) is the system's view, where a
//! registration names its user itself and every entry may be read and removed. Login gives an
//! ordinary user's session the subtree `/as/USER` instead (a `Serve` open, as `bind` makes),
//! which is the table as that user sees it:
//!
//! - a registration there belongs to `USER`, whatever user its text names;
//! - the listing holds that user's entries only (Linux's `hidepid=invisible`), and another
//!   user's entry can be neither read nor removed (`Denied`: a pid is no secret, pids are
//!   handed out in order, but what ran there is).
//!
//! A session cannot leave its subtree (the server framework keeps it under its root), so no
//! process of the user can reach the system's view or another user's.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::proto::{Entry, FsError, Kind, Meta, flags};
use crate::server::FileSystem;
use libeurali::sync::Lock;

/// Most processes in the table. The server lives in init's 4 MiB heap: each entry holds at
/// most [`MAX_LINE`] bytes of text and about 100 bytes of bookkeeping, so a full table holds
/// under 320 KiB, and a listing of it (one at a time, see `crate::server`) about 30 KiB. The
/// real kernel runs about 100 threads in all (its heap holds their kernel stacks), so 512 live
/// processes cannot exist; a full table means a client registered entries for nothing, and
/// the next registration gets `NoSpace`.
pub const MAX_PROCS: usize = 512;
/// Most processes of one user other than `root` (and the system's, registered with no user or
/// none named):
/// a registration past it is refused with [`FsError::Again`], and std-shim's `Command` registers
/// a child before it starts it, so a user's fork bomb stops there while root can still log in
/// and `ps` (docs/design.md, "Processes and threads per user").
pub const MAX_USER_PROCS: usize = 32;
/// The user limit init's real-kernel boot sets (`init::metal`). The kernel's 1 MiB heap holds
/// every thread's 8 KiB kernel stack (and each exec's copy of its file: 12 KB since packed
/// programs are exec'd as their head, `libeurali::sfx::split`), and the kernel panics when a
/// thread's stack finds no room. Measured on the real kernel (gdb on its allocator, QEMU): 585
/// KiB free at the login prompt; a user's login session takes about 105 KiB (login's servers and
/// the shell), each process of a fork bomb's `sh b.sh & sh b.sh & wait` about 68 KiB (eight
/// threads: a background job costs its parent two); root's login and a nested `sh -c` during
/// the bomb about 120 KiB. The worst case these limits allow, one user's bomb at 3 and a second
/// user's session beside it, leaves about 90 KiB when root has logged in and run a command.
pub const METAL_USER_PROCS: usize = 3;
/// All users but root together, on the real kernel (`init::metal`): see [`METAL_USER_PROCS`].
pub const METAL_USERS_PROCS: usize = 5;
/// What is known of the real kernel's memory (init's `/memory` `machine` line there). The kernel
/// reports nothing; its frame allocator hands out the one usable region above its image, which
/// under QEMU's `-m 128` is 0x44_C000..0x7FE_0000 (ABI §7): about 120 MiB. An estimate: another
/// machine size or kernel build moves it.
pub const METAL_MACHINE: &str = "about 120 MiB of page frames (an estimate: QEMU -m 128)";
/// Longest `USER\tCOMMAND` text kept per process.
pub const MAX_LINE: usize = 512;

struct Proc {
    /// The owner: the user the entry is shown as.
    user: String,
    cmd: String,
    start_us: u64,
    /// The heap as last reported: bytes in use and bytes claimed (0 before any report: a
    /// heap claims its first piece at once).
    heap: (u64, u64),
}

struct Table {
    procs: BTreeMap<u32, Proc>,
    next: u32,
}

/// The `/proc` file system. `clock` gives microseconds since boot.
pub struct ProcFs {
    table: Lock<Table>,
    clock: fn() -> u64,
    user_limit: usize,
    users_limit: Option<usize>,
    /// What is known of the machine's memory (init says), for `/memory`'s `machine` line.
    machine: Option<&'static str>,
}

/// What an open names. `String`s are the user a `/as/USER` path speaks for.
#[derive(Clone, Debug)]
pub enum Node {
    /// The table's directory: all of it, or one user's view.
    Root(Option<String>),
    /// A registration in progress (the session that opened `/new`), and the user it is forced
    /// to in a user's view.
    New(u32, Option<String>),
    Proc(u32),
    /// `/PID` opened to write: a heap report.
    Report(u32),
    /// `/limit`.
    Limit,
    /// `/memory`.
    Memory,
}

/// The directory of the user views (`/as/USER`).
pub const AS: &str = "as";

/// Splits a server path into the user it speaks for (`/as/USER/...`) and the rest.
fn viewer<'a>(path: &'a [&'a str]) -> Result<(Option<&'a str>, &'a [&'a str]), FsError> {
    match path {
        [AS, user, rest @ ..] => {
            if user.contains(['\t', '\n', '\r']) {
                return Err(FsError::NotFound);
            }
            Ok((Some(user), rest))
        }
        [AS] => Err(FsError::NotFound),
        _ => Ok((None, path)),
    }
}

impl ProcFs {
    /// A table whose first pid is `first` (init registers as 1).
    pub fn new(first: u32, clock: fn() -> u64) -> ProcFs {
        ProcFs {
            table: Lock::new(Table {
                procs: BTreeMap::new(),
                next: first.max(1),
            }),
            clock,
            user_limit: MAX_USER_PROCS,
            users_limit: None,
            machine: None,
        }
    }

    /// The same, with `text` as what is known of the machine's memory (`/memory`'s `machine`
    /// line: a figure and where it comes from; say "estimate" where it is one).
    pub fn with_machine(mut self, text: &'static str) -> ProcFs {
        self.machine = Some(text);
        self
    }

    /// `/memory`: `key value` lines. `processes N` (entries), `reporting N` (entries with a
    /// heap figure), `heap_used BYTES` and `heap_claimed BYTES` (their sums), `files_heap_used
    /// BYTES` and `files_heap_claimed BYTES` (the part of the file servers, `ramdisk` and
    /// `fatfs`: their data and caches), and `machine TEXT` if init said what it knows. The
    /// whole table's, in every view (as Linux's `free`).
    pub fn memory_text(&self) -> String {
        let t = self.table.lock();
        // processes, reporting, heap used and claimed, the file servers' used and claimed.
        let mut n = [t.procs.len() as u64, 0, 0, 0, 0, 0];
        for p in t.procs.values() {
            let (u, c) = p.heap;
            if c == 0 {
                continue;
            }
            let b = p.cmd.as_bytes();
            let prog = &b[..b.iter().position(|&c| c == b' ').unwrap_or(b.len())];
            let server = prog.ends_with(b"ramdisk") || prog.ends_with(b"fatfs");
            for (i, v) in [
                (1, 1),
                (2, u),
                (3, c),
                (4, u * server as u64),
                (5, c * server as u64),
            ] {
                n[i] = n[i].saturating_add(v);
            }
        }
        let mut text = String::new();
        let keys = [
            "processes ",
            "reporting ",
            "heap_used ",
            "heap_claimed ",
            "files_heap_used ",
            "files_heap_claimed ",
        ];
        for (k, v) in keys.iter().zip(n) {
            text.push_str(k);
            text.push_str(&v.to_string());
            text.push('\n');
        }
        if let Some(m) = self.machine {
            text.push_str("machine ");
            text.push_str(m);
            text.push('\n');
        }
        text
    }

    /// The same, with at most `n` processes per user (other than root and the system's)
    /// instead of [`MAX_USER_PROCS`].
    pub fn with_user_limit(mut self, n: usize) -> ProcFs {
        self.user_limit = n.max(1);
        self
    }

    /// The same, with at most `n` processes of all users other than root (and the system's)
    /// together: what one machine holds, shared by whoever is logged in.
    pub fn with_users_limit(mut self, n: usize) -> ProcFs {
        self.users_limit = Some(n.max(1));
        self
    }

    fn limit_text(&self) -> String {
        match self.users_limit {
            Some(all) => format!("{} {all}\n", self.user_limit),
            None => format!("{}\n", self.user_limit),
        }
    }

    fn line(pid: u32, p: &Proc) -> String {
        let (used, claimed) = p.heap;
        format!(
            "{pid}\t{}\t{}\t{used}/{claimed}\t{}\n",
            p.user, p.start_us, p.cmd
        )
    }
}

/// One parsed `/proc/PID` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    pub user: String,
    pub start_us: u64,
    /// The heap as the process last reported it: bytes in use and claimed.
    pub heap: Option<(u64, u64)>,
    pub cmd: String,
}

/// Parses what `/proc/PID` holds; `None` for anything malformed.
pub fn parse_line(text: &str) -> Option<ProcInfo> {
    let mut f = text.trim_end_matches('\n').splitn(5, '\t');
    let pid = f.next()?.parse().ok()?;
    let user = f.next()?.to_string();
    let start_us = f.next()?.parse().ok()?;
    let (u, c) = f.next()?.split_once('/')?;
    let heap = (u.parse::<u64>().ok()?, c.parse::<u64>().ok()?);
    let heap = (heap.1 != 0).then_some(heap);
    Some(ProcInfo {
        pid,
        user,
        start_us,
        heap,
        cmd: f.next()?.to_string(),
    })
}

/// Parses a heap report, `heap USED CLAIMED`.
fn parse_report(data: &[u8]) -> Option<(u64, u64)> {
    let text = core::str::from_utf8(data).ok()?;
    let mut w = text.split_ascii_whitespace();
    if w.next()? != "heap" {
        return None;
    }
    let used = w.next()?.parse().ok()?;
    let claimed = w.next()?.parse().ok()?;
    w.next().is_none().then_some((used, claimed))
}

impl FileSystem for ProcFs {
    type Node = Node;

    fn open(&self, path: &[&str], fl: u32) -> Result<Node, FsError> {
        let mutating = fl & flags::MUTATING != 0;
        let (who, path) = viewer(path)?;
        match path {
            [] if mutating => Err(FsError::Denied),
            [] => Ok(Node::Root(who.map(String::from))),
            ["new"] => {
                if fl & flags::CREATE == 0 || fl & flags::WRITE == 0 {
                    return Err(FsError::Denied);
                }
                let mut t = self.table.lock();
                if t.procs.len() >= MAX_PROCS {
                    return Err(FsError::NoSpace);
                }
                // The next free pid (wrapping past u32::MAX, skipping live ones).
                let mut pid = t.next;
                while t.procs.contains_key(&pid) || pid == 0 {
                    pid = pid.wrapping_add(1);
                }
                t.next = pid.wrapping_add(1);
                let start_us = (self.clock)();
                t.procs.insert(
                    pid,
                    Proc {
                        user: String::new(),
                        cmd: String::new(),
                        start_us,
                        heap: (0, 0),
                    },
                );
                Ok(Node::New(pid, who.map(String::from)))
            }
            ["limit" | "memory"] if mutating => Err(FsError::Denied),
            ["limit"] => Ok(Node::Limit),
            ["memory"] => Ok(Node::Memory),
            [name] => {
                // A heap report is a plain WRITE (nothing created, cut or appended).
                let report = fl & flags::WRITE != 0;
                if mutating
                    && (!report || fl & (flags::CREATE | flags::TRUNCATE | flags::APPEND) != 0)
                {
                    return Err(FsError::Denied);
                }
                let pid: u32 = name.parse().map_err(|_| FsError::NotFound)?;
                match self.table.lock().procs.get(&pid) {
                    Some(p) if who.is_none_or(|u| u == p.user) => Ok(if report {
                        Node::Report(pid)
                    } else {
                        Node::Proc(pid)
                    }),
                    Some(_) => Err(FsError::Denied),
                    None => Err(FsError::NotFound),
                }
            }
            _ => Err(FsError::NotFound),
        }
    }

    fn stat(&self, node: &Node) -> Result<Meta, FsError> {
        let len = match node {
            Node::Root(_) => {
                return Ok(Meta {
                    kind: Kind::Dir,
                    len: 0,
                    readonly: true,
                    mount_readonly: true,
                });
            }
            Node::New(pid, _) => format!("{pid}\n").len(),
            Node::Limit => self.limit_text().len(),
            Node::Memory => self.memory_text().len(),
            Node::Proc(pid) | Node::Report(pid) => {
                let t = self.table.lock();
                let p = t.procs.get(pid).ok_or(FsError::NotFound)?;
                ProcFs::line(*pid, p).len()
            }
        };
        Ok(Meta {
            kind: Kind::File,
            len: len as u64,
            readonly: !matches!(node, Node::New(..)),
            mount_readonly: !matches!(node, Node::New(..)),
        })
    }

    fn read(&self, node: &Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let text = match node {
            Node::Root(_) => return Err(FsError::IsDir),
            Node::New(pid, _) => format!("{pid}\n"),
            Node::Limit => self.limit_text(),
            Node::Memory => self.memory_text(),
            Node::Proc(pid) | Node::Report(pid) => {
                let t = self.table.lock();
                let p = t.procs.get(pid).ok_or(FsError::NotFound)?;
                ProcFs::line(*pid, p)
            }
        };
        let bytes = text.as_bytes();
        let start = (offset.min(bytes.len() as u64)) as usize;
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    fn write(&self, node: &Node, _offset: Option<u64>, data: &[u8]) -> Result<u64, FsError> {
        if let Node::Report(pid) = node {
            let heap = parse_report(data).ok_or(FsError::Invalid)?;
            let mut t = self.table.lock();
            t.procs.get_mut(pid).ok_or(FsError::NotFound)?.heap = heap;
            return Ok(data.len() as u64);
        }
        let Node::New(pid, who) = node else {
            return Err(FsError::Denied);
        };
        let data = &data[..data.len().min(MAX_LINE)];
        let text = String::from_utf8_lossy(data);
        // Tabs and line ends would break the table's lines.
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        let named = text.contains('\t');
        let (user, cmd) = text.split_once('\t').unwrap_or(("?", &text));
        // In a user's view the entry is theirs, whatever it says.
        let user = clean(who.as_deref().unwrap_or(user));
        let mut t = self.table.lock();
        let limited = |u: &str| !matches!(u, "" | "root");
        if named
            && t.procs.get(pid).is_some_and(|p| p.user != user)
            && limited(&user)
            && (t.procs.values().filter(|p| p.user == user).count() >= self.user_limit
                || self.users_limit.is_some_and(|all| {
                    t.procs.values().filter(|p| limited(&p.user)).count() >= all
                }))
        {
            t.procs.remove(pid);
            return Err(FsError::Again);
        }
        let p = t.procs.get_mut(pid).ok_or(FsError::NotFound)?;
        p.user = user;
        p.cmd = clean(cmd);
        Ok(data.len() as u64)
    }

    fn set_len(&self, _: &Node, _: u64) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn read_dir(&self, node: &Node) -> Result<Vec<Entry>, FsError> {
        let Node::Root(who) = node else {
            return Err(FsError::NotDir);
        };
        let t = self.table.lock();
        let mut v: Vec<Entry> = t
            .procs
            .iter()
            .filter(|(_, p)| who.as_ref().is_none_or(|u| *u == p.user))
            .map(|(pid, p)| Entry {
                name: pid.to_string(),
                kind: Kind::File,
                len: ProcFs::line(*pid, p).len() as u64,
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    fn mkdir(&self, _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn remove(&self, path: &[&str], dir: bool) -> Result<(), FsError> {
        let (who, path) = viewer(path)?;
        match path {
            [name] if !dir => {
                let pid: u32 = name.parse().map_err(|_| FsError::NotFound)?;
                let mut t = self.table.lock();
                let p = t.procs.get(&pid).ok_or(FsError::NotFound)?;
                if who.is_some_and(|u| u != p.user) {
                    return Err(FsError::Denied);
                }
                t.procs.remove(&pid);
                Ok(())
            }
            _ => Err(FsError::Denied),
        }
    }

    fn rename(&self, _: &[&str], _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> u64 {
        42
    }

    #[test]
    fn register_read_list_remove() {
        let fs = ProcFs::new(1, clock);
        let n = fs
            .open(&["new"], flags::WRITE | flags::CREATE | flags::READ)
            .unwrap();
        fs.write(&n, None, b"root\tsh -c 'x\ty'").unwrap();
        let mut buf = [0u8; 64];
        let k = fs.read(&n, 0, &mut buf).unwrap();
        assert_eq!(&buf[..k], b"1\n");
        let p = fs.open(&["1"], flags::READ).unwrap();
        let k = fs.read(&p, 0, &mut buf).unwrap();
        let info = parse_line(core::str::from_utf8(&buf[..k]).unwrap()).unwrap();
        assert_eq!(
            info,
            ProcInfo {
                pid: 1,
                user: "root".into(),
                start_us: 42,
                heap: None,
                cmd: "sh -c 'x y'".into()
            }
        );
        let n2 = fs.open(&["new"], flags::WRITE | flags::CREATE).unwrap();
        assert!(matches!(n2, Node::New(2, None)));
        let names: Vec<String> = fs
            .read_dir(&Node::Root(None))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["1", "2"]);
        fs.remove(&["1"], false).unwrap();
        assert_eq!(fs.open(&["1"], flags::READ).unwrap_err(), FsError::NotFound);
        assert_eq!(fs.remove(&["1"], false).unwrap_err(), FsError::NotFound);
    }

    #[test]
    fn everything_else_is_refused() {
        let fs = ProcFs::new(1, clock);
        assert_eq!(fs.open(&["new"], flags::READ).unwrap_err(), FsError::Denied);
        assert_eq!(fs.open(&[], flags::WRITE).unwrap_err(), FsError::Denied);
        assert_eq!(
            fs.open(&["x", "y"], flags::READ).unwrap_err(),
            FsError::NotFound
        );
        assert_eq!(
            fs.open(&["nope"], flags::READ).unwrap_err(),
            FsError::NotFound
        );
        let n = fs.open(&["new"], flags::WRITE | flags::CREATE).unwrap();
        let p = fs.open(&["1"], flags::READ).unwrap();
        assert_eq!(fs.write(&p, None, b"x").unwrap_err(), FsError::Denied);
        assert_eq!(fs.mkdir(&["d"]).unwrap_err(), FsError::Denied);
        assert_eq!(fs.rename(&["1"], &["2"]).unwrap_err(), FsError::Denied);
        assert_eq!(fs.remove(&[], true).unwrap_err(), FsError::Denied);
        // A long, odd registration is cut and cleaned, never refused.
        let long = alloc::vec![b'\n'; 4 * MAX_LINE];
        fs.write(&n, None, &long).unwrap();
        assert!(parse_line(&ProcFs::line(1, &fs.table.lock().procs[&1])).is_some());
        assert_eq!(parse_line("garbage"), None);
    }

    /// Registers `text` through `path`'s `new`; the pid.
    fn register(fs: &ProcFs, at: &[&str], text: &str) -> u32 {
        let mut path = at.to_vec();
        path.push("new");
        let n = fs.open(&path, flags::WRITE | flags::CREATE).unwrap();
        fs.write(&n, None, text.as_bytes()).unwrap();
        let Node::New(pid, _) = n else { panic!() };
        pid
    }

    fn names(fs: &ProcFs, at: &[&str]) -> Vec<String> {
        let dir = fs.open(at, flags::READ).unwrap();
        fs.read_dir(&dir)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    #[test]
    fn a_user_view_holds_that_users_entries_only() {
        let fs = ProcFs::new(1, clock);
        let u = [AS, "user"];
        let init = register(&fs, &[], "root\tinit");
        // A user's registration is theirs, whatever it claims.
        let sh = register(&fs, &u, "root\tsh -c secret");
        let other = register(&fs, &[AS, "eve"], "\tcat");
        assert_eq!(names(&fs, &[]), ["1", "2", "3"]);
        assert_eq!(names(&fs, &u), [sh.to_string()]);
        let mut buf = [0u8; 64];
        let p = fs.open(&[AS, "user", "2"], flags::READ).unwrap();
        let k = fs.read(&p, 0, &mut buf).unwrap();
        let info = parse_line(core::str::from_utf8(&buf[..k]).unwrap()).unwrap();
        assert_eq!(
            (info.user.as_str(), info.cmd.as_str()),
            ("user", "sh -c secret")
        );
        // Others' entries are not listed for the user, nor theirs to read or remove.
        for pid in [init, other] {
            let name = pid.to_string();
            assert_eq!(
                fs.open(&[AS, "user", &name], flags::READ).unwrap_err(),
                FsError::Denied
            );
            assert_eq!(
                fs.remove(&[AS, "user", &name], false).unwrap_err(),
                FsError::Denied
            );
        }
        assert_eq!(
            fs.remove(&[AS, "user", "99"], false).unwrap_err(),
            FsError::NotFound
        );
        // No view inside a view, and no listing of the views.
        assert_eq!(
            fs.open(&[AS, "user", AS, "eve"], flags::READ).unwrap_err(),
            FsError::NotFound
        );
        assert_eq!(fs.open(&[AS], flags::READ).unwrap_err(), FsError::NotFound);
        // The user removes their own; the system's view removes anyone's.
        fs.remove(&[AS, "user", &sh.to_string()], false).unwrap();
        fs.remove(&[&other.to_string()], false).unwrap();
        assert_eq!(names(&fs, &[]), ["1"]);
        assert!(names(&fs, &u).is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let fs = ProcFs::new(1, clock);
        let new = flags::WRITE | flags::CREATE;
        let long = alloc::vec![b'x'; 4 * MAX_LINE];
        for _ in 0..MAX_PROCS {
            let n = fs.open(&["new"], new).unwrap();
            assert_eq!(fs.write(&n, None, &long).unwrap(), MAX_LINE as u64);
        }
        assert_eq!(fs.open(&["new"], new).unwrap_err(), FsError::NoSpace);
        assert_eq!(fs.read_dir(&Node::Root(None)).unwrap().len(), MAX_PROCS);
        // Every kept line is cut to MAX_LINE bytes of text (and the "?" of a missing user).
        let t = fs.table.lock();
        assert!(
            t.procs
                .values()
                .all(|p| p.user.len() + p.cmd.len() <= MAX_LINE + 1)
        );
        drop(t);
        fs.remove(&["7"], false).unwrap();
        assert!(matches!(fs.open(&["new"], new), Ok(Node::New(..))));
    }

    #[test]
    fn a_user_has_at_most_max_user_procs_but_root_and_the_system_more() {
        let fs = ProcFs::new(1, clock);
        let new = flags::WRITE | flags::CREATE;
        let register = |line: &str| {
            let n = fs.open(&["new"], new).unwrap();
            fs.write(&n, None, line.as_bytes()).map(|_| n)
        };
        let mut mine = Vec::new();
        for i in 0..MAX_USER_PROCS {
            mine.push(register(&format!("user\tsh {i}")).unwrap());
        }
        assert_eq!(register("user\tsh b.sh").unwrap_err(), FsError::Again);
        // The refused entry is gone; others are not counted against user.
        assert_eq!(
            fs.read_dir(&Node::Root(None)).unwrap().len(),
            MAX_USER_PROCS
        );
        for line in ["root\tps", "\tramdisk", "other\tsh"] {
            register(line).unwrap();
        }
        // One of user's ends: room for one more.
        let Node::New(pid, _) = mine[3] else {
            panic!("not a registration")
        };
        fs.remove(&[&format!("{pid}")], false).unwrap();
        register("user\tsh again").unwrap();
        assert_eq!(register("user\tsh over").unwrap_err(), FsError::Again);
    }

    #[test]
    fn the_user_limit_is_set_at_start_and_read_in_limit() {
        let read_limit = |fs: &ProcFs, path: &[&str]| {
            let n = fs.open(path, flags::READ).unwrap();
            let mut buf = [0u8; 16];
            let len = fs.read(&n, 0, &mut buf).unwrap();
            assert_eq!(fs.stat(&n).unwrap().len, len as u64);
            String::from_utf8(buf[..len].to_vec()).unwrap()
        };
        assert_eq!(
            read_limit(&ProcFs::new(1, clock), &["limit"]),
            format!("{MAX_USER_PROCS}\n")
        );
        let fs = ProcFs::new(1, clock).with_user_limit(METAL_USER_PROCS);
        // The same in a user's view; nobody writes or removes it.
        assert_eq!(
            read_limit(&fs, &["as", "user", "limit"]),
            format!("{METAL_USER_PROCS}\n")
        );
        assert_eq!(
            fs.open(&["limit"], flags::WRITE).unwrap_err(),
            FsError::Denied
        );
        assert_eq!(fs.remove(&["limit"], false).unwrap_err(), FsError::NotFound);
        let new = flags::WRITE | flags::CREATE;
        for i in 0..METAL_USER_PROCS {
            let n = fs.open(&["as", "user", "new"], new).unwrap();
            fs.write(&n, None, format!("user\tsh {i}").as_bytes())
                .unwrap();
        }
        let n = fs.open(&["as", "user", "new"], new).unwrap();
        assert_eq!(fs.write(&n, None, b"user\tsh").unwrap_err(), FsError::Again);
        // The listing holds processes only.
        assert_eq!(
            fs.read_dir(&Node::Root(None)).unwrap().len(),
            METAL_USER_PROCS
        );
        let n = fs.open(&["new"], new).unwrap();
        fs.write(&n, None, b"root\tsh").unwrap();
        // All users together: a second user gets what the first left, then no more; root and
        // the system still register.
        let fs = ProcFs::new(1, clock).with_user_limit(3).with_users_limit(4);
        assert_eq!(read_limit(&fs, &["limit"]), "3 4\n");
        let register = |user: &str| {
            let n = fs.open(&["as", user, "new"], new).unwrap();
            fs.write(&n, None, format!("{user}\tsh").as_bytes())
        };
        for _ in 0..3 {
            register("a").unwrap();
        }
        register("b").unwrap();
        assert_eq!(register("b").unwrap_err(), FsError::Again);
        assert_eq!(register("c").unwrap_err(), FsError::Again);
        for line in ["root\tps", "\tramdisk"] {
            let n = fs.open(&["new"], new).unwrap();
            fs.write(&n, None, line.as_bytes()).unwrap();
        }
    }

    fn read_text(fs: &ProcFs, path: &[&str]) -> String {
        let n = fs.open(path, flags::READ).unwrap();
        let mut buf = [0u8; 512];
        let k = fs.read(&n, 0, &mut buf).unwrap();
        assert_eq!(fs.stat(&n).unwrap().len, k as u64);
        String::from_utf8(buf[..k].to_vec()).unwrap()
    }

    #[test]
    fn processes_report_their_heap_and_memory_sums_them() {
        let fs = ProcFs::new(1, clock).with_machine("about 120 MiB (estimate)");
        let sh = register(&fs, &[], "root\tsh");
        let disk = register(&fs, &[], "\t/bin/ramdisk /tmp");
        let other = register(&fs, &[AS, "eve"], "eve\tcat");
        let line = |pid: u32| parse_line(&read_text(&fs, &[&pid.to_string()])).unwrap();
        assert_eq!(line(sh).heap, None);
        assert_eq!(line(sh).cmd, "sh");
        let report = |at: &[&str], text: &str| {
            let n = fs.open(at, flags::WRITE)?;
            fs.write(&n, Some(0), text.as_bytes())
        };
        report(&[&sh.to_string()], "heap 1000 65536").unwrap();
        report(&[&disk.to_string()], "heap 3000 131072\n").unwrap();
        assert_eq!(line(sh).heap, Some((1000, 65536)));
        assert_eq!(line(sh).cmd, "sh");
        // A user reports for their own entries only; nothing but a plain write; nothing odd.
        let mine = [AS, "eve", &other.to_string()];
        report(&mine, "heap 5 4096").unwrap();
        assert_eq!(
            report(&[AS, "eve", &sh.to_string()], "heap 1 1").unwrap_err(),
            FsError::Denied
        );
        for bad in ["heap", "heap 1", "heap x 2", "heap 1 2 3", "mem 1 2", ""] {
            assert_eq!(report(&mine, bad).unwrap_err(), FsError::Invalid, "{bad:?}");
        }
        for fl in [flags::CREATE, flags::TRUNCATE, flags::APPEND] {
            assert_eq!(
                fs.open(&[&sh.to_string()], flags::WRITE | fl).unwrap_err(),
                FsError::Denied
            );
        }
        assert_eq!(
            fs.open(&["memory"], flags::WRITE).unwrap_err(),
            FsError::Denied
        );
        assert_eq!(
            read_text(&fs, &["memory"]),
            "processes 3\nreporting 3\nheap_used 4005\nheap_claimed 200704\n\
             files_heap_used 3000\nfiles_heap_claimed 131072\nmachine about 120 MiB (estimate)\n"
        );
        // The same totals in a user's view (the whole machine's, as free shows them).
        assert!(read_text(&fs, &[AS, "eve", "memory"]).starts_with("processes 3\n"));
        // Not listed as a process.
        assert_eq!(names(&fs, &[]).len(), 3);
        fs.remove(&[&sh.to_string()], false).unwrap();
        assert!(read_text(&fs, &["memory"]).contains("\nheap_used 3005\n"));
    }
}
