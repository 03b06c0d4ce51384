//! The read-only view, the devices, and reclaiming a namespace's servers, on the stub.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kernel_stub::Kernel;
use libeurali::new_rendezvous;
use vfs::client::{self, Session};
use vfs::device;
use vfs::ns;
use vfs::proto::{FsError, Kind, flags};
use vfs::ramdisk::Ramdisk;
use vfs::server::Server;

const RW: u32 = flags::READ | flags::WRITE;
const NEW: u32 = flags::READ | flags::WRITE | flags::CREATE;

fn put(path: &str, data: &[u8]) {
    let (s, _) = client::open(path, NEW | flags::TRUNCATE).unwrap();
    s.write_at(0, data).unwrap();
}

fn get(path: &str) -> Result<Vec<u8>, FsError> {
    let (s, _) = client::open(path, flags::READ)?;
    let mut b = vec![0u8; 4096];
    let n = s.read_at(0, &mut b)?;
    b.truncate(n);
    Ok(b)
}

/// A ramdisk at `/` holding /data/{a,sub/b} and an empty /out.
fn ramdisk_root() -> Server<Ramdisk> {
    let (m, c) = new_rendezvous().unwrap();
    let server = Server::new(Ramdisk::new(1 << 22));
    server.spawn(m).unwrap();
    ns::mount("/", c).unwrap();
    for d in ["/data", "/data/sub", "/out"] {
        client::mkdir(d).unwrap();
    }
    put("/data/a", b"alpha");
    put("/data/sub/b", b"beta");
    server
}

/// Every way to change something through `root` (a path to a read-only view) is denied; reads
/// work. Returns the failures, one a line.
fn check_readonly(root: &str) -> String {
    let mut bad = String::new();
    let mut check = |what: &str, ok: bool| {
        if !ok {
            bad.push_str(what);
            bad.push('\n');
        }
    };
    let p = |s: &str| format!("{root}{s}");
    check("read", get(&p("/data/a")).as_deref() == Ok(b"alpha"));
    check(
        "read deep",
        get(&p("/data/sub/b")).as_deref() == Ok(b"beta"),
    );
    check(
        "stat says read-only",
        client::stat(&p("/data/a")).is_ok_and(|m| m.readonly && m.kind == Kind::File),
    );
    let names: Vec<String> = client::open(&p("/data"), flags::READ | flags::DIRECTORY)
        .and_then(|(s, _)| s.read_dir())
        .map(|v| v.into_iter().map(|e| e.name).collect())
        .unwrap_or_default();
    check("read_dir", names == ["a", "sub"]);
    for (what, fl) in [
        ("open for write", RW),
        ("create", NEW),
        ("truncate", RW | flags::TRUNCATE),
        ("append", flags::APPEND),
    ] {
        check(
            what,
            client::open(&p("/data/a"), fl).err() == Some(FsError::Denied),
        );
    }
    check(
        "create new",
        client::open(&p("/data/new"), NEW).err() == Some(FsError::Denied),
    );
    check(
        "mkdir",
        client::mkdir(&p("/data/d")) == Err(FsError::Denied),
    );
    check(
        "remove",
        client::remove_file(&p("/data/a")) == Err(FsError::Denied),
    );
    check(
        "rmdir",
        client::remove_dir(&p("/data/sub")) == Err(FsError::Denied),
    );
    check(
        "rename",
        client::rename(&p("/data/a"), &p("/data/c")) == Err(FsError::Denied),
    );
    // A session opened for reading refuses writes and set_len.
    if let Ok((s, _)) = client::open(&p("/data/a"), flags::READ) {
        check("write on a read session", s.write_at(0, b"x").is_err());
        check("set_len on a read session", s.set_len(0).is_err());
    }
    // A writable subtree asked of the view comes back read-only.
    match client::serve_subtree(&p("/data"), true) {
        Ok(h) => {
            ns::mount("/sub-of-view", h).unwrap();
            check(
                "subtree of a view stays read-only",
                client::open("/sub-of-view/a", RW).err() == Some(FsError::Denied),
            );
            check(
                "subtree of a view reads",
                get("/sub-of-view/sub/b").as_deref() == Ok(b"beta"),
            );
            ns::umount("/sub-of-view").unwrap();
        }
        Err(e) => check(&format!("serve_subtree: {e}"), false),
    }
    bad
}

#[test]
fn the_read_only_view_denies_writes_and_serves_reads() {
    let k = Kernel::new();
    k.run_as_process("init", || {
        ramdisk_root();
        let (root, _) = libeurali::open("/").unwrap();
        ns::mount("/ro", vfs::view::spawn_readonly(root).unwrap()).unwrap();
        assert_eq!(check_readonly("/ro"), "");
        // Nothing changed underneath; the writable path still writes.
        assert_eq!(get("/data/a").unwrap(), b"alpha");
        put("/data/a", b"ALPHA");
        assert_eq!(get("/ro/data/a").unwrap(), b"ALPHA", "a view, not a copy");
        put("/data/a", b"alpha");
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}

/// The subtree view: opens under its directory, nothing past it, its root not removable, a
/// rename inside it (`tests/disk_restart.rs` has it outlive its server).
#[test]
fn the_subtree_view_serves_one_directory() {
    let k = Kernel::new();
    k.run_as_process("init", || {
        ramdisk_root();
        let (root, _) = libeurali::open("/").unwrap();
        ns::mount(
            "/v",
            vfs::view::spawn_subtree(root, "/data".into()).unwrap(),
        )
        .unwrap();
        assert_eq!(get("/v/a").unwrap(), b"alpha");
        assert_eq!(get("/v/sub/b").unwrap(), b"beta");
        put("/v/new", b"through the view");
        assert_eq!(get("/data/new").unwrap(), b"through the view");
        client::rename("/v/new", "/v/sub/moved").unwrap();
        assert_eq!(get("/data/sub/moved").unwrap(), b"through the view");
        client::remove_file("/v/sub/moved").unwrap();
        let names: Vec<String> = client::open("/v", flags::READ | flags::DIRECTORY)
            .and_then(|(s, _)| s.read_dir())
            .map(|v| v.into_iter().map(|e| e.name).collect())
            .unwrap();
        assert_eq!(names, ["a", "sub"]);
        assert_eq!(client::remove_dir("/v"), Err(FsError::MountPoint));
        assert_eq!(client::rename("/v", "/v/x"), Err(FsError::MountPoint));
        assert_eq!(client::rename("/v/a", "/v"), Err(FsError::MountPoint));

        // Requests not in normal form never reach past the directory.
        let (v, _) = libeurali::open("/v").unwrap();
        for bad in ["/../out", "out", "/sub/../../out", "//a"] {
            let req = vfs::proto::OpenRequest {
                path: bad.into(),
                flags: flags::READ,
                op: vfs::proto::Op::Open,
                token: 0,
            };
            let r = client::open_at(&v, &req);
            assert_eq!(r.err(), Some(FsError::Invalid), "{bad}");
        }
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}

/// Checks the view from inside an exec'd child whose namespace is `mount -r / /` plus a private `/tmp` and a
/// writable `/out`, and writes the result to `/out/report`.
fn view_child(_: libeurali::EntryRegisters) {
    let mut report = check_readonly("");
    let mounts = ns::list().unwrap();
    if mounts != ["/", "/out", "/tmp"] {
        report.push_str(&format!("mounts {mounts:?}\n"));
    }
    report.push_str("done\n");
    put("/out/report", report.as_bytes());
}

/// The contents of `path` once it exists and has been written.
fn wait_for(path: &str) -> Vec<u8> {
    let t0 = Instant::now();
    loop {
        // The file exists from the child's create on, empty until its write: wait for both.
        if let Ok(r) = get(path)
            && !r.is_empty()
        {
            return r;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no {path}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_view_through_a_namespace_and_its_servers_reclaimed() {
    let k = Kernel::new();
    k.register_program("child", view_child);
    k.run_as_process("init", || {
        let root = ramdisk_root();
        // Threads blocked for good, not counting the root server's idle session threads.
        let blocked = || k.blocked_threads().saturating_sub(root.idle_threads());
        // The root server's mount loop alone, once it is back in `receive` (under load it may
        // still be on its way after the setup's last open, and an idle worker may be listed
        // before it waits).
        let t0 = Instant::now();
        while blocked() != 1 {
            assert!(t0.elapsed() < Duration::from_secs(10), "{}", k.dump());
            std::thread::sleep(Duration::from_millis(2));
        }
        let baseline = 1;
        let items = ns::parse("mount -r / /\nbind /out /out\nramdisk /tmp\n", "u", "/").unwrap();
        let nsp = vfs::ns::from_spec(&items).unwrap();
        let reclaim = nsp.reclaim();
        let params = nsp
            .into_exec_params(libeurali::params::ExecParams::new())
            .unwrap()
            .finish()
            .unwrap();
        let (i0, _i1) = new_rendezvous().unwrap();
        let (o0, _o1) = new_rendezvous().unwrap();
        libeurali::exec(&Kernel::program_image("child"), i0, o0, &params, false).unwrap();
        let report = String::from_utf8(wait_for("/out/report")).unwrap();
        assert_eq!(report, "done\n");
        // Once the child is gone, dropping the spares ends the view, the /tmp ramdisk and the
        // /out bind session: back to the threads we had before. (The root ramdisk's session
        // for the subtree the child mounted and unmounted again is woken by a sweep: umount,
        // like process death, drops a reference without waking anyone.)
        let t0 = Instant::now();
        while k.process_count() > 1 {
            assert!(t0.elapsed() < Duration::from_secs(10), "child still there");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(blocked() > baseline, "the namespace's servers wait");
        drop(reclaim);
        let t0 = Instant::now();
        while blocked() > baseline {
            root.sweep();
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{} threads still blocked, {baseline} before:\n{}",
                blocked(),
                k.dump()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_to_end(s: &Session) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = vec![0u8; 1 << 20];
    loop {
        match s.read_at(0, &mut b).unwrap() {
            0 => return out,
            n => out.extend_from_slice(&b[..n]),
        }
    }
}

#[test]
fn dev_null_and_dev_console() {
    let k = Kernel::new();
    let sink = Sink::default();
    let seen = sink.clone();
    k.run_as_process("init", move || {
        // The console's streams: served here as the stub's console serves a terminal.
        let (in_srv, in_cli) = new_rendezvous().unwrap();
        let (out_srv, out_cli) = new_rendezvous().unwrap();
        eurali_host::boot::spawn_stub_thread(move || {
            eurali_host::devices::console::serve_input(
                &in_srv,
                std::io::Cursor::new(b"typed line\nmore".to_vec()),
            )
        })
        .unwrap();
        eurali_host::boot::spawn_stub_thread(move || {
            eurali_host::devices::console::serve_output(&out_srv, sink)
        })
        .unwrap();
        let console = device::Console::new(Some(in_cli), Some(out_cli));
        ns::mount("/dev/console", device::spawn(console).unwrap()).unwrap();
        ns::mount("/dev/null", device::spawn(device::Null).unwrap()).unwrap();

        // /dev/null: empty reads, writes vanish, create/truncate accepted, nothing below it.
        let (s, meta) = client::open("/dev/null", NEW | flags::TRUNCATE).unwrap();
        assert_eq!((meta.kind, meta.len), (Kind::Device, 0));
        assert_eq!(s.write_at(0, &[7u8; 100_000]).unwrap().0, 100_000);
        assert_eq!(s.read_at(0, &mut [0u8; 10]).unwrap(), 0);
        assert_eq!(s.set_len(0), Ok(()));
        assert_eq!(
            client::open("/dev/null/x", flags::READ).unwrap_err(),
            FsError::NotFound
        );
        assert_eq!(
            client::open("/dev/null", flags::READ | flags::DIRECTORY).unwrap_err(),
            FsError::NotDir
        );
        assert_eq!(client::mkdir("/dev/null/d"), Err(FsError::Denied));
        // A mount point, as every device is: it stays (EBUSY).
        assert_eq!(client::remove_file("/dev/null"), Err(FsError::MountPoint));
        // Many opens at once: one session each.
        let many: Vec<Session> = (0..20)
            .map(|_| client::open("/dev/null", RW).unwrap().0)
            .collect();
        for s in &many {
            assert_eq!(s.write_at(0, b"x").unwrap().0, 1);
        }
        drop(many);

        // /dev/console: writes reach the output stream; reads come from the input stream,
        // whatever the offset, then end.
        let (c, _) = client::open("/dev/console", RW).unwrap();
        assert_eq!(c.write_at(12345, b"hello, console\n").unwrap().0, 15);
        assert_eq!(read_to_end(&c), b"typed line\nmore");
        assert_eq!(client::stat("/dev/console").unwrap().kind, Kind::Device);
    });
    assert_eq!(seen.0.lock().unwrap().as_slice(), b"hello, console\n");
    k.shutdown();
    assert!(k.take_fault().is_none());
}

/// A client that opens what a read-only view denies, over and over, and never sends a request
/// on those sessions: the view keeps at most `MAX_REFUSING` threads for them (the process's
/// other servers keep theirs), answers the rest `Busy`, and serves reads all along.
#[test]
fn refused_opens_hold_a_bounded_number_of_threads() {
    use libeurali::{Message, Word};
    use vfs::proto::{self, Op, OpenRequest};
    use vfs::server::{MAX_REFUSING, Refusals};
    let k = Kernel::new();
    k.run_as_process("init", || {
        ramdisk_root();
        let (root, _) = libeurali::open("/").unwrap();
        let (outer, mount) = new_rendezvous().unwrap();
        let refusals = Refusals::new();
        let watched = refusals.clone();
        libeurali::spawn_pooled(move || vfs::view::serve_readonly_with(&root, &outer, &refusals))
            .unwrap();
        ns::mount("/ro", mount).unwrap();
        let refusing = || watched.len();
        let (view, _) = libeurali::open("/ro").unwrap();
        let mut held = Vec::new();
        for i in 0..100 {
            let (a, b) = new_rendezvous().unwrap();
            let req = OpenRequest {
                path: format!("/out/x{i}"),
                flags: NEW,
                op: Op::Open,
                token: 0,
            };
            let (c, _) = proto::encode_chunk(&req, proto::MAX_NAME_MSG).unwrap();
            libeurali::send(
                &view,
                Message::Long(proto::FS_OPEN, Word::Handle(a), Word::Chunk(c)),
            )
            .unwrap();
            held.push(b);
            assert!(refusing() <= MAX_REFUSING, "{} refusing", refusing());
        }
        // Reads through the view, and a refusal by an honest client: Busy while the hoard
        // lasts (its sessions are alive), Denied after.
        assert_eq!(get("/ro/data/a").unwrap(), b"alpha");
        let e = client::open("/ro/out/y", NEW).unwrap_err();
        assert!(matches!(e, FsError::Busy | FsError::Denied), "{e:?}");
        drop(held);
        let t0 = Instant::now();
        while refusing() > 0 && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(refusing(), 0);
        assert_eq!(client::open("/ro/out/y", NEW).unwrap_err(), FsError::Denied);
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}
