//! Space on the file servers: `df` and `quota`, from the file protocol's `Usage` request
//! (`vfs::proto::Usage`): what a server holds and may hold, and the part of it charged to the
//! asking session's account (an ordinary user's binds are charged to that user, see
//! `vfs::ramdisk`'s quotas). Both run as programs, not inside the shell.

use vfs::proto::{FsError, Space, Usage};

use crate::Io;
use crate::output::write_error;

/// `n` bytes in KiB, rounded up (as df's 1K-blocks).
fn kib(n: u64) -> u64 {
    n.div_ceil(1024)
}

fn percent(used: u64, max: u64) -> u64 {
    match max {
        0 => 0,
        m => (used.saturating_mul(100)).div_ceil(m),
    }
}

/// The usage the server at `path` (resolved against the command's directory) reports.
fn usage_of(io: &Io, path: &str) -> Result<Usage, FsError> {
    let at = io.at(path);
    vfs::client::usage(&at.to_string_lossy())
}

/// The paths `args` names or, with none, every file server's mount of this process but `skip`:
/// devices and the network speak protocols of their own (a file open there may go unanswered
/// until the protocol's time limit). `None` (said on stderr, as `tool`) if the mounts cannot be
/// listed.
fn paths_or_mounts(tool: &str, args: &[String], skip: &[&str], io: &mut Io) -> Option<Vec<String>> {
    if !args.is_empty() {
        return Some(args.to_vec());
    }
    match vfs::ns::list() {
        Ok(l) => Some(
            l.into_iter()
                .filter(|p| !p.starts_with("/dev/") && p != "/net" && !skip.contains(&p.as_str()))
                .collect(),
        ),
        Err(e) => {
            let _ = writeln!(io.stderr, "{tool}: cannot list the mounts: {e}");
            None
        }
    }
}

/// `df [PATH...]`: each path's server (every mount of this process without one): its size,
/// use and nodes, and the quota of the account the path is charged to. Mounts whose server
/// keeps no figures (/proc) and devices (`/dev/...`, `/net`) are left out of the list; named,
/// they are an error.
#[inline(never)]
pub fn df(args: &[String], io: &mut Io) -> i32 {
    if let Some(a) = args.iter().find(|a| a.starts_with('-') && a.len() > 1) {
        let _ = writeln!(io.stderr, "df: unknown option {a} (usage: df [PATH...])");
        return 2;
    }
    let named = !args.is_empty();
    let Some(paths) = paths_or_mounts("df", args, &[], io) else {
        return 1;
    };
    let head = writeln!(
        io.stdout,
        "{:<16} {:>10} {:>10} {:>10} {:>4} {:>7} {:>7}",
        "Mounted on", "1K-blocks", "Used", "Available", "Use%", "Nodes", "NUsed"
    );
    if let Err(e) = head {
        return write_error(io.stderr, "df", &e);
    }
    let mut status = 0;
    for p in &paths {
        let u = match usage_of(io, p) {
            Ok(u) => u,
            Err(FsError::Invalid) if !named => continue,
            Err(FsError::Invalid) => {
                let _ = writeln!(io.stderr, "df: {p}: its server keeps no space figures");
                status = 1;
                continue;
            }
            Err(e) => {
                let _ = writeln!(io.stderr, "df: {p}: {e}");
                status = 1;
                continue;
            }
        };
        let d = u.disk;
        let mut r = writeln!(
            io.stdout,
            "{:<16} {:>10} {:>10} {:>10} {:>3}% {:>7} {:>7}",
            p,
            kib(d.bytes_max),
            kib(d.bytes),
            kib(d.bytes_max.saturating_sub(d.bytes)),
            percent(d.bytes, d.bytes_max),
            d.nodes_max,
            d.nodes
        );
        if let (Ok(()), Some((name, q))) = (&r, &u.account) {
            r = writeln!(io.stdout, "  quota of {name}: {}", quota_text(q));
        }
        if let Err(e) = r {
            return write_error(io.stderr, "df", &e);
        }
    }
    status
}

/// `sync [PATH...]`: asks each path's server (every file server mounted, without one) to write
/// out what it holds in memory (`Request::Sync`); a disk's server (`fatfs`) writes its cache and
/// flushes the disk. Servers in memory have nothing to write and answer at once.
#[inline(never)]
pub fn sync(args: &[String], io: &mut Io) -> i32 {
    if let Some(a) = args.iter().find(|a| a.starts_with('-') && a.len() > 1) {
        let _ = writeln!(
            io.stderr,
            "sync: unknown option {a} (usage: sync [PATH...])"
        );
        return 2;
    }
    let named = !args.is_empty();
    let Some(paths) = paths_or_mounts("sync", args, &["/proc"], io) else {
        return 1;
    };
    let mut status = 0;
    for p in &paths {
        let at = io.at(p);
        match vfs::client::sync(&at.to_string_lossy()) {
            Ok(()) => {}
            // A mount this process cannot open (another's home, say) holds nothing of its.
            Err(FsError::Denied | FsError::NotFound) if !named => {}
            Err(e) => {
                let _ = writeln!(io.stderr, "sync: {p}: {e}");
                status = 1;
            }
        }
    }
    status
}

fn quota_text(q: &Space) -> String {
    format!(
        "{}K of {}K used ({}%), {} of {} files and directories",
        kib(q.bytes),
        kib(q.bytes_max),
        percent(q.bytes, q.bytes_max),
        q.nodes,
        q.nodes_max
    )
}

/// `quota [PATH]`: the use and limits of the account the user's files at PATH (default: the
/// home, `$HOME`) are charged to; root's (the system's) have no quota, nor has anyone's on a
/// disk (fatfs keeps no accounts).
#[inline(never)]
pub fn quota(args: &[String], io: &mut Io) -> i32 {
    let home = || match io.env {
        Some(env) => env
            .iter()
            .rev()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| v.clone()),
        None => std::env::var("HOME").ok(),
    };
    let path = match args {
        [] => home()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "/".into()),
        [p] if !p.starts_with('-') || p == "-" => p.clone(),
        _ => {
            let _ = writeln!(io.stderr, "quota: usage: quota [PATH]   (default: $HOME)");
            return 2;
        }
    };
    let u = match usage_of(io, &path) {
        Ok(u) => u,
        Err(FsError::Invalid) => {
            let _ = writeln!(
                io.stderr,
                "quota: {path}: its server keeps no space figures"
            );
            return 1;
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "quota: {path}: {e}");
            return 1;
        }
    };
    let r = match &u.account {
        Some((name, q)) => writeln!(io.stdout, "{name} on {path}: {}", quota_text(q)),
        // A server that counts no files (a disk's, fatfs) keeps no accounts at all.
        None if u.disk.nodes_max == 0 => writeln!(
            io.stdout,
            "{path}: no quota (this disk keeps none per user: every account shares its {}K, \
             {}K used, {}%)",
            kib(u.disk.bytes_max),
            kib(u.disk.bytes),
            percent(u.disk.bytes, u.disk.bytes_max)
        ),
        None => writeln!(
            io.stdout,
            "{path}: the system's (no quota; the server keeps a reserve for it)"
        ),
    };
    match r {
        Ok(()) => 0,
        Err(e) => write_error(io.stderr, "quota", &e),
    }
}

/// `free [-b|-k|-m|-h]`: memory as userland can know it (the kernel gives no figures): the
/// heaps the processes report to `/proc` (`/proc/memory`'s sums, `vfs::procfs`), the part of
/// the file servers, the files the ramdisks hold (their `Usage`, outside their heaps), and
/// what init said of the machine.
#[inline(never)]
pub fn free(args: &[String], io: &mut Io) -> i32 {
    let unit = match args {
        [] => "-k",
        [a] if matches!(a.as_str(), "-b" | "-k" | "-m" | "-h") => a.as_str(),
        _ => {
            let _ = writeln!(io.stderr, "free: usage: free [-b|-k|-m|-h]");
            return 2;
        }
    };
    let show = |n: u64| match unit {
        "-b" => n.to_string(),
        "-m" => n.div_ceil(1 << 20).to_string(),
        "-h" if n >= 1 << 20 => format!("{}.{}M", n >> 20, ((n & 0xF_FFFF) * 10) >> 20),
        "-h" => format!("{}K", n.div_ceil(1024)),
        _ => kib(n).to_string(),
    };
    // This process's figure (the shell's, when free runs inside it) as it is now.
    std::rt::report_heap();
    let text = match std::fs::read_to_string("/proc/memory") {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(io.stderr, "free: /proc/memory: {e} (no process table here)");
            return 1;
        }
    };
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or("")
    };
    let num = |key: &str| field(key).parse::<u64>().unwrap_or(0);
    // The ramdisks' files: each file system once (binds of one server answer the same), only
    // those that count nodes (a disk's server, fatfs, counts none: its files are on the disk).
    let mut seen: Vec<(u64, u64, u64, u64)> = Vec::new();
    for p in vfs::ns::list().unwrap_or_default() {
        if p.starts_with("/dev/") || p == "/net" || p == "/proc" {
            continue;
        }
        if let Ok(u) = vfs::client::usage(&p) {
            let d = u.disk;
            let key = (d.bytes, d.bytes_max, d.nodes, d.nodes_max);
            if d.nodes_max > 0 && !seen.contains(&key) {
                seen.push(key);
            }
        }
    }
    let files: u64 = seen.iter().map(|s| s.0).sum();
    let (used, claimed) = (num("heap_used"), num("heap_claimed"));
    let unit_name = match unit {
        "-b" => "bytes",
        "-m" => "MiB",
        "-h" => "",
        _ => "KiB",
    };
    let machine = match field("machine") {
        "" => "not known here (the kernel gives userland no memory figures)",
        m => m,
    };
    let r = write!(
        io.stdout,
        "{unit_name:<14} {:>9} {:>9}\n\
         {:<14} {:>9} {:>9}  heaps of {} of {} processes\n\
         {:<14} {:>9} {:>9}  heaps of ramdisk and fatfs (their data, caches)\n\
         {:<14} {:>9} {:>9}  in {} file systems in memory\n\
         {:<14} {:>9} {:>9}\n\
         machine: {machine}\n",
        "used",
        "claimed",
        "processes",
        show(used),
        show(claimed),
        num("reporting"),
        num("processes"),
        "file servers",
        show(num("files_heap_used")),
        show(num("files_heap_claimed")),
        "ramdisk files",
        show(files),
        "-",
        seen.len(),
        "total",
        show(used + files),
        show(claimed + files),
    );
    match r {
        Ok(()) => 0,
        Err(e) => write_error(io.stderr, "free", &e),
    }
}
