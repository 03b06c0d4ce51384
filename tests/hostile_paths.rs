//! Hostile paths, generated: `user` tries well over 100 000 path operations built to escape the
//! namespace (`..` chains, `//`, `.`, names of 256 and 70 000 bytes, non-UTF-8 paths sent
//! straight to the servers, NULs, newlines, `$home`), with every kind of operation (open and
//! read, create, truncate, append, opens like kibi's — read-write-create, set_len, write —,
//! mkdir, rmdir, remove, rename, stat, listings) and mount games in its own namespace (a view
//! mounted at `/`, read-only views mounted under the home, views unmounted, sub-views served
//! with `bind`'s Serve, read-only or asking for write). The driver, as root, plants secrets
//! in root-only files first and snapshots the whole tree (every name and every byte outside
//! `/home/user`, `/proc` and `/dev`) before and after. No byte of a root-only file may reach
//! `user` (checked on everything it reads and lists), and nothing outside its home may change.
//! The seed is random per run and printed; `EURALI_HOSTILE_SEED` replays one.

use std::collections::BTreeMap;
use std::time::Duration;

use eurali_host::boot::run_system_captured;
use eurali_std as shim;
use libeurali::timeout::{self, Kind};
use libeurali::{Message, Word, new_rendezvous};
use shim::io::{Read as _, Seek as _, Write as _};
use vfs::proto::{self as fs, Op, OpenRequest, flags};

#[path = "common/rng.rs"]
mod rng;

use rng::Rng;

const HOME: &str = "/home/user";
/// Where the hostile program's own files go (a bounded tree: a few names, a few levels).
const PLAY: &str = "/home/user/h";
/// Path operations the hostile program makes (each is one path, or two for a rename).
const PATHS: usize = 104_000;

/// An operation taking longer than this is a hang cut short by a deadline.
const SLOW: Duration = Duration::from_secs(3);

/// Root-only places the driver plants a secret in.
const SECRETS: &[&str] = &["/home/root/secret", "/etc/secret", "/tmp/secret", "/secret"];

/// One path component: half the time one that names something (or `..`, `.`, nothing), so
/// that paths resolve and the operations get past the first check; else anything.
fn component(r: &mut Rng) -> String {
    const PLAIN: &[&str] = &[
        "..", "..", "..", ".", "", "etc", "users", "secret", "ns", "user", "root", "home", "bin",
        "sh", "tmp", "proc", "1", "new", "dev", "console", "passwd", "null", "rtc", "public",
        "motd", "h", "a", "b", "c",
    ];
    const ODD: &[&str] = &[
        "$home", "a b", "#", "\n", "*", "\\", "\0", "é", "\u{202e}", "...", "..\0", "~", " ..",
        ".. ", "%2e%2e",
    ];
    match r.below(800) {
        0 => "L".repeat(70_000),
        1..=8 => "n".repeat(256),
        9..=16 => "x".repeat(255),
        17..=199 => ODD[r.below(ODD.len() as u64) as usize].to_string(),
        _ => PLAIN[r.below(PLAIN.len() as u64) as usize].to_string(),
    }
}

fn path(r: &mut Rng) -> String {
    const STARTS: &[&str] = &[
        "/",
        "//",
        "",
        "/home/user/",
        "/home/user/h/",
        "/home/user/h/",
        "/tmp/",
        "/etc/",
        "/bin/",
        "/dev/",
        "/proc/",
        "/home/",
        "./",
        "/home/user/h/a/../",
    ];
    let mut p = STARTS[r.below(STARTS.len() as u64) as usize].to_string();
    let depth = 1 + r.below(7);
    for i in 0..depth {
        if i > 0 {
            p.push_str(if r.below(6) == 0 { "//" } else { "/" });
        }
        p.push_str(&component(r));
    }
    if r.below(10) == 0 {
        p.push('/');
    }
    p
}

/// What the hostile program saw.
#[derive(Default)]
struct Seen {
    paths: usize,
    accepted: usize,
    bytes: usize,
    leaks: Vec<String>,
    /// Operations slower than [`SLOW`]: a refusal must come at once, never after a deadline.
    slow: Vec<String>,
}

impl Seen {
    fn check(&mut self, what: &str, bytes: &[u8], markers: &[Vec<u8>]) {
        self.bytes += bytes.len();
        for m in markers {
            if bytes.windows(m.len()).any(|w| w == m.as_slice()) {
                self.leaks.push(format!("{what:?} gave root-only bytes"));
            }
        }
    }
}

/// One operation on `p` (and a second path for a rename).
fn operate(r: &mut Rng, p: &str, seen: &mut Seen, markers: &[Vec<u8>]) {
    seen.paths += 1;
    let kind = r.below(13);
    let t0 = shim::time::Instant::now();
    let ok = match kind {
        0 | 1 => match shim::fs::File::open(p) {
            Ok(mut f) => {
                let mut buf = vec![0u8; 4096];
                if let Ok(n) = f.read(&mut buf) {
                    seen.check(p, &buf[..n], markers);
                }
                true
            }
            Err(_) => false,
        },
        2 => match shim::fs::read_dir(p) {
            Ok(d) => {
                for e in d.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    seen.check(p, name.as_bytes(), markers);
                }
                true
            }
            Err(_) => false,
        },
        3 => shim::fs::write(p, format!("pwned {}", seen.paths)).is_ok(),
        4 => shim::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .and_then(|mut f| f.write_all(b"pwned"))
            .is_ok(),
        5 => {
            // As kibi saves: read-write-create, the new length, the bytes from the start.
            shim::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .open(p)
                .and_then(|mut f| {
                    f.set_len(5)?;
                    f.seek(shim::io::SeekFrom::Start(0))?;
                    f.write_all(b"kibi!")?;
                    f.flush()
                })
                .is_ok()
        }
        6 => shim::fs::create_dir(p).is_ok(),
        7 => shim::fs::create_dir_all(p).is_ok(),
        8 => shim::fs::remove_file(p).is_ok(),
        9 => shim::fs::remove_dir(p).is_ok(),
        10 => {
            let other = path(r);
            let (a, b) = if r.below(2) == 0 {
                (p, other.as_str())
            } else {
                (other.as_str(), p)
            };
            shim::fs::rename(a, b).is_ok()
        }
        11 => shim::fs::metadata(p).is_ok(),
        _ => raw_open(r, p),
    };
    let dt = t0.elapsed();
    if dt > SLOW {
        let shown: String = p.chars().take(120).collect();
        seen.slow.push(format!(
            "operation {kind} on {shown:?} ({} bytes) took {dt:?}",
            p.len()
        ));
    }
    if ok {
        seen.accepted += 1;
    }
}

/// An `FS_OPEN` sent straight to the server `p` resolves to, its path made not UTF-8 (every
/// `~` becomes 0xFF, and a 0xC3 is put before the end), with random flags and operation.
fn raw_open(r: &mut Rng, p: &str) -> bool {
    let Ok((mount, prefix)) = libeurali::open(p) else {
        return false;
    };
    let rest = p.get(prefix..).unwrap_or("");
    let op = match r.below(6) {
        0 => Op::Mkdir,
        1 => Op::Remove,
        2 => Op::Rename(format!("{rest}/..~")),
        3 => Op::Serve,
        _ => Op::Open,
    };
    let req = OpenRequest {
        path: format!("{rest}~/..~"),
        flags: r.below(128) as u32,
        op,
        token: 0,
    };
    let Ok((mut c, n)) = fs::encode_chunk(&req, fs::MAX_NAME_MSG) else {
        return false;
    };
    let bytes = &mut c.as_mut_slice()[..n];
    for b in bytes.iter_mut() {
        if *b == b'~' {
            *b = 0xFF;
        }
    }
    let Ok((a, b)) = new_rendezvous() else {
        return false;
    };
    if vfs::client::send_retrying(
        &mount,
        Message::Long(fs::FS_OPEN, Word::Handle(a), Word::Chunk(c)),
    )
    .is_err()
    {
        return false;
    }
    let reply = timeout::call(
        &b,
        Message::Short(fs::FS_STAT, 0, 0),
        Kind::SendReceive,
        Some(2_000_000),
    );
    let accepted = matches!(reply, Ok(Message::Short(fs::FS_META | fs::FS_OK, _, _)));
    let _ = libeurali::send(&b, Message::Short(fs::FS_CLOSE, 0, 0));
    accepted
}

/// Mount games in our own namespace; returns the paths to use while they last.
fn mount_game(r: &mut Rng, round: u64) -> Vec<String> {
    let grab = |p: &str| libeurali::open(p).ok().map(|(h, _)| h);
    match round % 5 {
        0 => {
            // The home's view at `/` as well: `..` from there.
            if let Some(h) = grab(HOME) {
                let _ = libeurali::mount("/", h);
            }
            vec!["/".into(), "/..".into(), "/../etc".into()]
        }
        1 => {
            // The read-only /etc and /bin views under the home, where we may write.
            for (from, at) in [("/etc", "/home/user/e"), ("/bin", "/home/user/h/b")] {
                if let Some(h) = grab(from) {
                    let _ = libeurali::mount(at, h);
                }
            }
            vec!["/home/user/e/".into(), "/home/user/h/b/".into()]
        }
        2 => {
            // A view mounted at a path spelled with `..`, matched as spelled.
            if let Some(h) = grab(HOME) {
                let _ = libeurali::mount("/home/user/../../etc", h);
            }
            vec!["/home/user/../../etc/".into()]
        }
        3 => {
            // Sub-views served as `bind` asks for them, read-only or asking for write.
            let mut at = Vec::new();
            for (i, from) in ["/etc", "/bin", HOME, "/tmp"].iter().enumerate() {
                let Some(m) = grab(from) else { continue };
                let sub = ["", "/..", "/../..", "/../etc", "//"][r.below(5) as usize];
                let req = OpenRequest {
                    path: sub.into(),
                    flags: if r.below(2) == 0 { flags::WRITE } else { 0 },
                    op: Op::Serve,
                    token: 0,
                };
                if let Ok((s, _)) = vfs::client::open_at(&m, &req) {
                    let p = format!("/home/user/h/v{round}-{i}");
                    let _ = libeurali::mount(&p, s.into_handle());
                    at.push(format!("{p}/"));
                }
            }
            at
        }
        _ => {
            // Views gone: nothing mounted where /etc and /bin were.
            let _ = libeurali::umount("/etc");
            let _ = libeurali::umount("/bin");
            vec!["/etc/".into(), "/bin/".into()]
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// `hostile-paths SEED MARKER...` (markers in hex): the user's side.
fn hostile_paths() {
    let args: Vec<String> = shim::env::args().collect();
    let markers: Vec<Vec<u8>> = args[2..].iter().map(|m| unhex(m)).collect();
    assert!(markers.iter().all(|m| m.len() >= 16), "{markers:?}");
    if args[1] == "--scan" {
        // What the shell's games printed, on stdin.
        let mut all = Vec::new();
        shim::io::stdin().read_to_end(&mut all).unwrap();
        let mut seen = Seen::default();
        seen.check("the shell's games", &all, &markers);
        shim::println!(
            "shell games: {} bytes of output, {} leaks",
            all.len(),
            seen.leaks.len()
        );
        shim::process::exit(i32::from(!seen.leaks.is_empty()));
    }
    let seed: u64 = args[1].parse().unwrap();
    let mut r = Rng(seed);
    let mut seen = Seen::default();
    // (create_dir, not create_dir_all: `mkdir -p` of a path in the home fails for user today,
    // issue 16 item 11.)
    shim::fs::create_dir(PLAY).unwrap();
    // The plain namespace first, then a mount game every few thousand paths in a child of ours
    // (the games change only the namespace of the process that plays them).
    let plain = PATHS * 9 / 10;
    for i in 0..plain {
        let p = path(&mut r);
        operate(&mut r, &p, &mut seen, &markers);
        if i % 5000 == 4999 {
            // Keep the home's tree small: what was made there goes.
            let _ = shim::fs::remove_dir_all(PLAY);
            let _ = shim::fs::create_dir(PLAY);
        }
    }
    let mut round = 0;
    while seen.paths < PATHS {
        let prefixes = mount_game(&mut r, round);
        round += 1;
        for _ in 0..2000 {
            let mut p = path(&mut r);
            if !prefixes.is_empty() && r.below(2) == 0 {
                let pre = &prefixes[r.below(prefixes.len() as u64) as usize];
                p = format!("{pre}{}", p.trim_start_matches('/'));
            }
            operate(&mut r, &p, &mut seen, &markers);
        }
    }
    shim::println!(
        "hostile-paths: {} paths, {} operations accepted, {} bytes read, {} mount games, {} slow, \
         {} leaks",
        seen.paths,
        seen.accepted,
        seen.bytes,
        round,
        seen.slow.len(),
        seen.leaks.len()
    );
    for l in seen.leaks.iter().take(20) {
        shim::println!("LEAK: {l}");
    }
    for l in seen.slow.iter().take(20) {
        shim::println!("SLOW: {l}");
    }
    if !seen.leaks.is_empty() || !seen.slow.is_empty() {
        shim::process::exit(1);
    }
}

/// The same games with the shell's namespace builtins, whose output (and errors) must hold no
/// root-only byte either: binds and mounts of what the user reaches, at odd places, with `..`,
/// a newline, `$home` and `#` in their paths, a ramdisk over /etc, the home unmounted.
const SHELL_GAMES: &str = r#"
cd /home/user
bind /etc /home/user/g1; echo pwned > /home/user/g1/users; cat /home/user/g1/users
bind -r /home/user/.. /home/user/g2; echo pwned > /home/user/g2/root/x; ls /home/user/g2
bind /home/user/../.. /home/user/g3; cat /home/user/g3/etc/users /home/user/g3/secret
mount / /home/user/g4; cat /home/user/g4/etc/users; echo pwned > /home/user/g4/etc/users
mount /tmp/../etc /home/user/g5; cat /home/user/g5/users /home/user/g5/secret
bind '/home/user/a
mount / /home/user/g6' /home/user/g7; cat /home/user/g6/etc/users /home/user/g6/secret
bind '/home/user/$home' /home/user/g8; bind '/home/user/#' /home/user/g9
bind /home/user /; cat /etc/../users /../etc/users /../secret; ls / /..
mount -t ramdisk /etc; echo pwned > /etc/users; cat /etc/users
mount -t ramdisk /home/root; echo pwned > /home/root/secret
umount /home/user; ls /home /home/root; cat /home/root/secret /home/user/../root/secret
umount /bin; umount /tmp; cat /secret /tmp/secret /etc/secret
echo games done
"#;

/// Every name and every byte of the root file system as root sees it, but for `/home/user`
/// (the user's to change), `/proc` and `/dev` (live).
fn snapshot() -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![String::from("/")];
    while let Some(dir) = todo.pop() {
        for e in shim::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let p = format!("{}/{name}", dir.trim_end_matches('/'));
            if ["/home/user", "/proc", "/dev"].contains(&p.as_str()) {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                out.insert(p.clone(), None);
                todo.push(p);
            } else {
                let bytes = shim::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
                out.insert(p, Some(bytes));
            }
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hostile-driver SEED`: root's side.
fn driver() {
    let seed: u64 = shim::env::args().nth(1).unwrap().parse().unwrap();
    let mut r = Rng(seed ^ 0x5ec2_e75e_c2e7);
    let mut markers: Vec<Vec<u8>> = Vec::new();
    for p in SECRETS {
        let m = format!(
            "R00T-0NLY-{:016x}-{:016x}",
            r.below(u64::MAX),
            r.below(u64::MAX)
        );
        shim::fs::write(p, format!("top secret\n{m}\n")).unwrap();
        markers.push(m.into_bytes());
    }
    // A root-only name, and root's password hash.
    let name = format!("R00T-NAME-{:016x}", r.below(u64::MAX));
    shim::fs::create_dir(format!("/home/root/{name}")).unwrap();
    markers.push(name.into_bytes());
    let users_text = shim::fs::read_to_string("/etc/users").unwrap();
    let root_hash = users_text
        .lines()
        .find(|l| l.starts_with("root:"))
        .and_then(|l| l.split(':').nth(2))
        .unwrap()
        .to_string();
    assert!(root_hash.len() >= 16, "{root_hash}");
    markers.push(root_hash.into_bytes());
    let before = snapshot();
    let users = vfs::users::parse(&users_text);
    let user = users.iter().find(|u| u.name == "user").unwrap();
    let hexed = markers.iter().map(|m| hex(m)).collect::<Vec<_>>().join(" ");
    let script = format!(
        "hostile-paths {seed} {hexed} || exit 1\n\
         {{ {SHELL_GAMES}\n}} 2>&1 | hostile-paths --scan {hexed}"
    );
    let code = session::run_script(user, &script);
    let after = snapshot();
    let mut changed = Vec::new();
    for (p, b) in &before {
        match after.get(p) {
            None => changed.push(format!("{p} removed")),
            Some(a) if a != b => changed.push(format!("{p} changed")),
            _ => {}
        }
    }
    for p in after.keys() {
        if !before.contains_key(p) {
            changed.push(format!("{p} made"));
        }
    }
    for c in changed.iter().take(20) {
        shim::println!("CHANGED: {c}");
    }
    shim::println!(
        "hostile-driver: user's program ended {code}; {} names outside the home, {} changed",
        before.len(),
        changed.len()
    );
    shim::process::exit(if code == 0 && changed.is_empty() {
        0
    } else {
        1
    });
}

#[test]
fn generated_hostile_paths_reach_no_root_only_byte_and_change_nothing_outside_the_home() {
    let seed = match std::env::var("EURALI_HOSTILE_SEED") {
        Ok(s) => s.parse().expect("EURALI_HOSTILE_SEED: a number"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    };
    let mut programs = eurali::programs();
    programs.push(shim::program_entry!("hostile-paths", hostile_paths));
    programs.push(shim::program_entry!("hostile-driver", driver));
    let r = run_system_captured(
        &programs,
        &["-c".into(), format!("hostile-driver {seed}")],
        b"",
        Duration::from_secs(400),
    );
    let why = format!("seed {seed}\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.code, 0, "{why}");
    // (Its writes to /dev/console, which are the user's to make, come before the line.)
    let line = r
        .stdout
        .split_once("hostile-paths: ")
        .and_then(|(_, rest)| rest.lines().next())
        .map(|l| format!("hostile-paths: {l}"))
        .unwrap_or_else(|| panic!("{why}"));
    let paths: usize = line["hostile-paths: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(paths >= 100_000, "{why}");
    assert!(line.ends_with(" 0 slow, 0 leaks"), "{why}");
    assert!(r.stdout.contains(", 0 changed\n"), "{why}");
    assert!(r.stdout.contains("shell games: "), "{why}");
    assert!(r.stdout.contains(" bytes of output, 0 leaks\n"), "{why}");
    assert!(
        !r.stdout.contains("LEAK") && !r.stdout.contains("CHANGED"),
        "{why}"
    );
    eprintln!("seed {seed}: {}", r.stdout.trim_end());
}

/// Found by the generator: a listing of `/dev` opens every mount point in it with the file
/// protocol, and the clock device answered that open (a send) with a reply nobody received,
/// which held its server for good: the listing took the client's 30 s deadline, and every
/// reading of the clock after it failed.
#[test]
fn listing_dev_leaves_the_clock_working() {
    let t = std::time::Instant::now();
    let r = run_system_captured(
        &eurali::programs(),
        &[
            "-c".into(),
            "ls /dev; date > /dev/null && echo clock ok".into(),
            "--user".into(),
            "user".into(),
        ],
        b"",
        Duration::from_secs(120),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("rtc\nclock ok\n"), "{}", r.stdout);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}
