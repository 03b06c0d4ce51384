//! Namespaces on the stub: bind, the read-only view, a user's namespace built from a spec and
//! exec'd with `N`, and a property test that generated paths never reach outside it.

use kernel_stub::Kernel;
use libeurali::new_rendezvous;
use vfs::client;
use vfs::ns;
use vfs::proto::{FsError, Kind, flags};
use vfs::ramdisk::Ramdisk;
use vfs::server::Server;

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

const USER_SPEC: &str =
    "bind $home $home\nbind -r /bin /bin\nmount -r /etc/public /etc\nramdisk /tmp\n";

/// The user's view, run as an exec'd process with only its spec's mounts.
fn probe(_: libeurali::EntryRegisters) {
    let mut report = String::new();
    let mut check = |what: &str, ok: bool| {
        if !ok {
            report.push_str(what);
            report.push('\n');
        }
    };
    check(
        "own home readable",
        get("/home/user/notes").as_deref() == Ok(b"mine"),
    );
    check(
        "own home writable",
        client::open("/home/user/new", NEW).is_ok(),
    );
    check("bin readable", get("/bin/hello").is_ok());
    check(
        "bin read-only",
        client::open("/bin/evil", NEW).unwrap_err() == FsError::Denied,
    );
    check(
        "bin no mkdir",
        client::mkdir("/bin/d").unwrap_err() == FsError::Denied,
    );
    check("etc public", get("/etc/motd").as_deref() == Ok(b"welcome"));
    check(
        "etc no users",
        get("/etc/users").unwrap_err() == FsError::NotFound,
    );
    check(
        "etc read-only",
        client::remove_file("/etc/motd").unwrap_err() == FsError::Denied,
    );
    check("tmp private", client::open("/tmp/scratch", NEW).is_ok());
    for p in [
        "/home/other/secret",
        "/etc/ns/user",
        "/users",
        "/home/user/../other/secret",
        "/secret",
    ] {
        check(p, get(p).is_err());
    }
    // Property: >= 100k generated paths, resolved as the client does, only ever reach the
    // mounts of this namespace, and never a byte of another user's file.
    let mounts = ns::list().unwrap();
    let pieces: [&[u8]; 14] = [
        b"..",
        b".",
        b"",
        b"home",
        b"user",
        b"other",
        b"etc",
        b"secret",
        b"users",
        b"//",
        b"\xff\xfe",
        b"bin",
        b"tmp",
        b"x",
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut opened = 0;
    for i in 0..100_000 {
        let mut p = Vec::new();
        if i % 2 == 0 {
            p.push(b'/');
        }
        let n = 1 + (x % 12) as usize + if i % 97 == 0 { 300 } else { 0 };
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p.extend_from_slice(pieces[(x % 14) as usize]);
            p.push(b'/');
        }
        let Ok(s) = std::str::from_utf8(&p) else {
            continue;
        }; // non-UTF-8 never reaches the kernel
        let r = vfs::path::resolve("/home/user", s).unwrap();
        if let Ok((_, prefix)) = libeurali::open(&r) {
            let m = &r[..prefix];
            if !mounts
                .iter()
                .any(|mp| mp == m || (mp == "/" && m.is_empty()))
            {
                report.push_str(&format!("{s:?} reached {m:?}\n"));
            }
        }
        if i % 50 == 0 {
            if client::stat(&r).is_ok() {
                opened += 1;
            }
            if let Ok(d) = get(&r)
                && (d == b"other's secret" || d.starts_with(b"root:"))
            {
                report.push_str(&format!("{s:?} read a secret\n"));
            }
        }
    }
    report.push_str(&format!("done {opened}\n"));
    put("/home/user/report", report.as_bytes());
}

#[test]
fn a_user_namespace_from_a_spec() {
    let k = Kernel::new();
    k.register_program("probe", probe);
    k.run_as_process("init", || {
        let (m, c) = new_rendezvous().unwrap();
        Server::new(Ramdisk::new(1 << 24)).spawn(m).unwrap();
        ns::mount("/", c).unwrap();
        for d in [
            "/bin",
            "/etc",
            "/etc/ns",
            "/etc/public",
            "/home",
            "/home/user",
            "/home/other",
            "/tmp",
        ] {
            client::mkdir(d).unwrap();
        }
        put("/bin/hello", &Kernel::program_image("hello"));
        put("/etc/users", b"root:00:00:/:/bin/sh\n");
        put("/etc/public/motd", b"welcome");
        put("/etc/ns/user", USER_SPEC.as_bytes());
        put("/home/user/notes", b"mine");
        put("/home/other/secret", b"other's secret");
        // bind in our own namespace, and umount/list.
        ns::bind("/home/user", "/u", false).unwrap();
        assert_eq!(get("/u/notes").unwrap(), b"mine");
        assert_eq!(ns::list().unwrap(), ["/", "/u"]);
        ns::umount("/u").unwrap();
        assert_eq!(get("/u/notes").unwrap_err(), FsError::NotFound);
        // The user's namespace, from the spec in the ramdisk.
        let spec = String::from_utf8(get("/etc/ns/user").unwrap()).unwrap();
        let items = ns::parse(&spec, "user", "/home/user").unwrap();
        let nsp = vfs::ns::from_spec(&items).unwrap();
        assert_eq!(
            nsp.paths().collect::<Vec<_>>(),
            ["/home/user", "/bin", "/etc", "/tmp"]
        );
        let params = nsp
            .into_exec_params(libeurali::params::ExecParams::new())
            .unwrap()
            .finish()
            .unwrap();
        let (i0, _i1) = new_rendezvous().unwrap();
        let (o0, _o1) = new_rendezvous().unwrap();
        libeurali::exec(&Kernel::program_image("probe"), i0, o0, &params, false).unwrap();
        let t0 = std::time::Instant::now();
        let report = loop {
            // Complete once its line is: the file exists (empty) before it is written.
            if let Ok(r) = get("/home/user/report")
                && r.ends_with(b"\n")
            {
                break String::from_utf8(r).unwrap();
            }
            assert!(t0.elapsed().as_secs() < 120, "probe did not finish");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(report.starts_with("done "), "{report}");
        let opened: u32 = report.trim_start_matches("done ").trim().parse().unwrap();
        assert!(
            opened > 0,
            "some generated paths do name files the user may see"
        );
        // The child's /tmp was private: not in ours.
        assert_eq!(get("/tmp/scratch").unwrap_err(), FsError::NotFound);
        assert_eq!(client::stat("/home/user/new").unwrap().kind, Kind::File);
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}
