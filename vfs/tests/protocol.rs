//! The file protocol against the ramdisk, on the in-process stub.

use kernel_stub::Kernel;
use libeurali::{Handle, Message, Word, new_rendezvous};
use vfs::client::{self, Session};
use vfs::proto::{self, FsError, Kind, flags};
use vfs::ramdisk::Ramdisk;
use vfs::server::Server;

const RW: u32 = flags::READ | flags::WRITE;
const NEW: u32 = flags::READ | flags::WRITE | flags::CREATE;

/// Runs `f` in a process with a ramdisk of `limit` bytes mounted at `/`.
fn with_ramdisk<R>(limit: usize, f: impl FnOnce(&Server<Ramdisk>) -> R) -> R {
    let k = Kernel::new();
    let r = k.run_as_process("test", || {
        let (m, c) = new_rendezvous().unwrap();
        let server = Server::new(Ramdisk::new(limit));
        server.spawn(m).unwrap();
        libeurali::mount("/", c).unwrap();
        f(&server)
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
    r
}

fn write_all(s: &Session, mut off: u64, mut data: &[u8]) {
    while !data.is_empty() {
        let (n, _) = s.write_at(off, data).unwrap();
        off += n as u64;
        data = &data[n..];
    }
}

fn read_all(s: &Session) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 3 << 20];
    loop {
        let n = s.read_at(out.len() as u64, &mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn open_read_write_at_offsets() {
    with_ramdisk(1 << 26, |_| {
        assert_eq!(client::open("/f", RW).unwrap_err(), FsError::NotFound);
        let (s, meta) = client::open("/f", NEW).unwrap();
        assert_eq!((meta.kind, meta.len), (Kind::File, 0));
        assert_eq!(s.write_at(0, b"hello world").unwrap(), (11, 11));
        assert_eq!(s.write_at(6, b"WORLD").unwrap(), (5, 11));
        assert_eq!(s.write_at(13, b"!").unwrap(), (1, 14));
        assert_eq!(read_all(&s), b"hello WORLD\0\0!");
        let mut b = [0u8; 4];
        assert_eq!(s.read_at(2, &mut b).unwrap(), 4);
        assert_eq!(&b, b"llo ");
        assert_eq!(s.read_at(100, &mut b).unwrap(), 0);
        s.set_len(5).unwrap();
        assert_eq!(s.stat().unwrap().len, 5);
        s.sync().unwrap();
        drop(s);
        // Exclusive, truncate, append.
        assert_eq!(
            client::open("/f", NEW | flags::EXCLUSIVE).unwrap_err(),
            FsError::Exists
        );
        let (a, _) = client::open("/f", flags::APPEND).unwrap();
        assert_eq!(a.write_at(0, b"++").unwrap(), (2, 7));
        let (r, m) = client::open("/f", flags::READ).unwrap();
        assert!(m.readonly);
        assert_eq!(read_all(&r), b"hello++");
        assert_eq!(r.write_at(0, b"x").unwrap_err(), FsError::Denied);
        let (t, m) = client::open("/f", RW | flags::TRUNCATE).unwrap();
        assert_eq!(m.len, 0);
        assert_eq!(read_all(&t), b"");
    });
}

#[test]
fn large_data_moves_in_big_chunks() {
    with_ramdisk(1 << 26, |_| {
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let (s, _) = client::open("/big", NEW).unwrap();
        let (n, _) = s.write_at(0, &data).unwrap();
        assert_eq!(
            n,
            client::CLIENT_IO,
            "one request carries a whole CLIENT_IO chunk (the most a chunk pool keeps)"
        );
        write_all(&s, n as u64, &data[n..]);
        let mut buf = vec![0u8; 3 << 20];
        assert_eq!(s.read_at(0, &mut buf).unwrap(), client::CLIENT_IO);
        assert_eq!(read_all(&s), data);
    });
}

#[test]
fn directories_and_typed_errors() {
    with_ramdisk(1 << 20, |_| {
        client::mkdir("/d").unwrap();
        assert_eq!(client::mkdir("/d").unwrap_err(), FsError::Exists);
        assert_eq!(client::mkdir("/x/y").unwrap_err(), FsError::NotFound);
        for name in ["c", "a", "b"] {
            client::open(&format!("/d/{name}"), NEW).unwrap();
        }
        client::mkdir("/d/sub").unwrap();
        let (d, m) = client::open("/d", flags::READ).unwrap();
        assert_eq!(m.kind, Kind::Dir);
        let names: Vec<String> = d.read_dir().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["a", "b", "c", "sub"]);
        let mut b = [0u8; 4];
        assert_eq!(d.read_at(0, &mut b).unwrap_err(), FsError::IsDir);
        assert_eq!(client::open("/d", RW).unwrap_err(), FsError::IsDir);
        let (f, _) = client::open("/d/a", flags::READ).unwrap();
        assert_eq!(f.read_dir().unwrap_err(), FsError::NotDir);
        assert_eq!(
            client::open("/d/a", flags::READ | flags::DIRECTORY).unwrap_err(),
            FsError::NotDir
        );
        assert_eq!(
            client::open("/d/a/x", flags::READ).unwrap_err(),
            FsError::NotDir
        );
        assert_eq!(client::remove_dir("/d").unwrap_err(), FsError::NotEmpty);
        assert_eq!(client::remove_file("/d").unwrap_err(), FsError::IsDir);
        assert_eq!(client::remove_dir("/d/a").unwrap_err(), FsError::NotDir);
        client::rename("/d/a", "/d/sub/z").unwrap();
        assert_eq!(client::stat("/d/a").unwrap_err(), FsError::NotFound);
        assert_eq!(client::stat("/d/sub/z").unwrap().kind, Kind::File);
        for p in ["/d/b", "/d/c", "/d/sub/z"] {
            client::remove_file(p).unwrap();
        }
        client::remove_dir("/d/sub").unwrap();
        client::remove_dir("/d").unwrap();
        // The root of a mount is a mount point: it stays (EBUSY).
        assert_eq!(client::remove_dir("/").unwrap_err(), FsError::MountPoint);
    });
}

#[test]
fn size_limit_is_no_space() {
    const B: usize = vfs::ramdisk::BLOCK;
    with_ramdisk(3 * B, |srv| {
        let (s, _) = client::open("/f", NEW).unwrap();
        assert_eq!(s.write_at(0, &[1; B]).unwrap().0, B);
        let (t, _) = client::open("/g", NEW).unwrap();
        assert_eq!(
            t.write_at(0, &[1; 2 * B + 1]).unwrap_err(),
            FsError::NoSpace
        );
        assert_eq!(t.set_len(2 * B as u64 + 1).unwrap_err(), FsError::NoSpace);
        t.set_len(2 * B as u64).unwrap();
        assert_eq!(srv.fs().used(), 3 * B);
        drop(s);
        client::remove_file("/f").unwrap();
        assert_eq!(t.write_at(2 * B as u64, &[1; B]).unwrap().0, B);
        // The blocks are the memory: a byte in a fourth file needs a block of its own.
        client::remove_file("/g").unwrap();
        for name in ["/a", "/b", "/c"] {
            let (f, _) = client::open(name, NEW).unwrap();
            f.write_at(0, b"x").unwrap();
        }
        let (d, _) = client::open("/d", NEW).unwrap();
        assert_eq!(d.write_at(0, b"x").unwrap_err(), FsError::NoSpace);
        assert_eq!((srv.fs().used(), srv.fs().blocks()), (3, 3));
    });
}

/// Every malformed message a client can send: the server answers (or ignores) it and serves on.
#[test]
fn malformed_messages_keep_the_server_serving() {
    with_ramdisk(1 << 20, |_| {
        let (mount, _) = libeurali::open("/").unwrap();
        // On the mount handle: garbage, with and without a reply expected.
        libeurali::send(&mount, Message::Short(0xdead, 1, 2)).unwrap();
        let r = libeurali::send_receive(&mount, Message::Short(proto::FS_READ, 0, 0)).unwrap();
        assert_eq!(r.values().0, proto::FS_ERR);
        let (x, _y) = new_rendezvous().unwrap();
        libeurali::send(
            &mount,
            Message::Long(proto::FS_OPEN, Word::Handle(x), Word::Value(3)),
        )
        .unwrap();
        // A bad OpenRequest body gets an Invalid reply on its session.
        let (a, b) = new_rendezvous().unwrap();
        let mut c = libeurali::MemoryChunk::alloc(10).unwrap();
        c.as_mut_slice()[..4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        libeurali::send(
            &mount,
            Message::Long(proto::FS_OPEN, Word::Handle(a), Word::Chunk(c)),
        )
        .unwrap();
        let r = libeurali::send_receive(&b, Message::Short(proto::FS_READ, 0, 1)).unwrap();
        // The session's first reply brings the open's chunk back (proto::with_open_chunk).
        let (r, back) = proto::without_open_chunk(r);
        assert!(back.is_some(), "the open's chunk comes back");
        assert_eq!(r.values(), (proto::FS_ERR, FsError::Invalid.code(), 0));
        // Paths out of normal form are refused by the server too.
        for bad in ["/a/../b", "//a", "/.", "a", "/a/"] {
            let (s, _) = new_rendezvous().unwrap();
            drop(s);
            let req = proto::OpenRequest {
                path: bad.into(),
                flags: NEW,
                op: proto::Op::Open,
                token: 0,
            };
            assert_eq!(
                client::open_at(&mount, &req).unwrap_err(),
                FsError::Invalid,
                "{bad}"
            );
        }
        // On a session: garbage of every shape.
        let (s, _) = client::open("/f", NEW).unwrap();
        let h: Handle = s.into_handle();
        let garbage = vec![
            Message::Short(0x1234, 0, 0),
            Message::Short(proto::FS_READ, 0, u64::MAX),
            Message::Long(proto::FS_WRITE, Word::Value(0), Word::Value(5)),
            Message::Long(
                proto::FS_REQ,
                Word::Value(u64::MAX),
                Word::Chunk(libeurali::MemoryChunk::alloc(1).unwrap()),
            ),
            Message::Long(
                proto::FS_REQ,
                Word::Value(3),
                Word::Chunk(libeurali::MemoryChunk::alloc(1).unwrap()),
            ),
        ];
        for g in garbage {
            let r = libeurali::send_receive(&h, g).unwrap();
            assert!(
                matches!(r.values().0, proto::FS_ERR | proto::FS_OK | proto::FS_REPLY),
                "{r:?}"
            );
        }
        // A write chunk claiming more than MAX_IO.
        let mut c = libeurali::MemoryChunk::alloc(16).unwrap();
        c.as_mut_slice()[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let r = libeurali::send_receive(
            &h,
            Message::Long(proto::FS_WRITE, Word::Value(0), Word::Chunk(c)),
        )
        .unwrap();
        assert_eq!(r.values(), (proto::FS_ERR, FsError::Invalid.code(), 0));
        drop(h);
        // And the server still works.
        let (s, _) = client::open("/f", RW).unwrap();
        assert_eq!(s.write_at(0, b"ok").unwrap(), (2, 2));
    });
}

/// A client process that opens sessions and dies without closing them: half of them with a
/// request sent by plain `send`, whose reply nobody will ever take.
fn dead_client(_: libeurali::EntryRegisters) {
    for i in 0..20 {
        let Ok((s, _)) = client::open("/f", RW) else {
            return;
        };
        let h = s.into_handle();
        if i % 2 == 0 {
            libeurali::send(&h, Message::Short(proto::FS_READ, 0, 10)).unwrap();
        }
        // Process death drops handles without close processing (ABI §3.5).
        std::mem::forget(h);
    }
}

/// Clients that die mid-session cost no more than a bounded number of threads: sweeps end them.
#[test]
fn dead_clients_never_wedge_the_server() {
    let k = Kernel::new();
    k.register_program("dead_client", dead_client);
    k.run_as_process("test", || {
        let (m, c) = new_rendezvous().unwrap();
        let srv = Server::new(Ramdisk::new(1 << 20));
        srv.spawn(m).unwrap();
        libeurali::mount("/", c).unwrap();
        client::open("/f", NEW).unwrap();
        for _ in 0..10 {
            let (i0, _i1) = new_rendezvous().unwrap();
            let (o0, _o1) = new_rendezvous().unwrap();
            let params = libeurali::params::ExecParams::new()
                .share()
                .finish()
                .unwrap();
            libeurali::exec(
                &Kernel::program_image("dead_client"),
                i0,
                o0,
                &params,
                false,
            )
            .unwrap();
            // Still serving while they come and go (Busy only while live sessions fill it).
            let t0 = std::time::Instant::now();
            let s = loop {
                match client::open("/f", RW) {
                    Err(FsError::Busy) if t0.elapsed().as_secs() < 10 => {
                        std::thread::sleep(std::time::Duration::from_millis(1))
                    }
                    r => break r.unwrap().0,
                }
            };
            assert_eq!(s.write_at(0, b"x").unwrap().0, 1);
        }
        let t0 = std::time::Instant::now();
        while srv.sessions() > 0 && t0.elapsed().as_secs() < 20 {
            srv.sweep();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(
            srv.sessions(),
            0,
            "a sweep ends every dead client's session"
        );
        let (s, _) = client::open("/f", RW).unwrap();
        assert_eq!(s.write_at(0, b"x").unwrap().0, 1);
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}

/// Concurrent writers on disjoint and overlapping ranges, checked against a model.
#[test]
fn concurrent_writers_match_a_model() {
    with_ramdisk(1 << 24, |_| {
        const W: usize = 6;
        const BLOCK: usize = 4096;
        const ROUNDS: usize = 40;
        client::open("/shared", NEW).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for w in 0..W {
            let tx = tx.clone();
            libeurali::spawn_pooled(move || {
                let (s, _) = client::open("/shared", RW).unwrap();
                let (own, _) = client::open(&format!("/own{w}"), NEW).unwrap();
                for r in 0..ROUNDS {
                    // Each writer owns block (r * W + w) of the shared file.
                    let block = vec![(w * 31 + r) as u8; BLOCK];
                    let off = ((r * W + w) * BLOCK) as u64;
                    assert_eq!(s.write_at(off, &block).unwrap().0, BLOCK);
                    own.write_at((r * 3) as u64, &[w as u8, r as u8, 0xAA])
                        .unwrap();
                }
                tx.send(()).unwrap();
            })
            .unwrap();
        }
        for _ in 0..W {
            rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
        }
        let (s, m) = client::open("/shared", flags::READ).unwrap();
        assert_eq!(m.len as usize, W * ROUNDS * BLOCK);
        let data = read_all(&s);
        for r in 0..ROUNDS {
            for w in 0..W {
                let off = (r * W + w) * BLOCK;
                assert!(
                    data[off..off + BLOCK]
                        .iter()
                        .all(|&b| b == (w * 31 + r) as u8)
                );
            }
        }
        for w in 0..W {
            let (o, _) = client::open(&format!("/own{w}"), flags::READ).unwrap();
            let d = read_all(&o);
            let model: Vec<u8> = (0..ROUNDS).flat_map(|r| [w as u8, r as u8, 0xAA]).collect();
            assert_eq!(d, model);
        }
    });
}

/// The server framework's own bounds: names, server-made read chunks, listings (a full
/// directory of the ramdisk lists whole).
#[test]
fn the_framework_bounds_what_a_session_costs() {
    with_ramdisk(16 << 20, |srv| {
        // A name longer than MAX_NAME is refused before the file system sees it.
        let long = format!("/{}", "n".repeat(proto::MAX_NAME + 1));
        assert_eq!(client::open(&long, NEW).unwrap_err(), FsError::NameTooLong);
        assert_eq!(client::mkdir(&long).unwrap_err(), FsError::NameTooLong);
        let ok = format!("/{}", "n".repeat(proto::MAX_NAME));
        drop(client::open(&ok, NEW).unwrap());
        // FS_READ: the server makes at most MAX_SERVER_READ bytes of chunk per reply.
        let (s, _) = client::open("/big", NEW).unwrap();
        write_all(&s, 0, &vec![5u8; 3 * proto::MAX_SERVER_READ]);
        let h: Handle = s.into_handle();
        for max in [proto::MAX_IO as u64, u64::MAX] {
            let r = libeurali::send_receive(&h, Message::Short(proto::FS_READ, 10, max)).unwrap();
            let Message::Long(proto::FS_DATA, Word::Value(n), Word::Chunk(_)) = r else {
                panic!("{r:?}")
            };
            assert_eq!(n as usize, proto::MAX_SERVER_READ);
        }
        // A full directory lists whole.
        client::mkdir("/d").unwrap();
        for i in 0..vfs::ramdisk::MAX_DIR_ENTRIES {
            drop(client::open(&format!("/d/{i:0>5}"), NEW).unwrap());
        }
        assert_eq!(
            client::open("/d/one-more", NEW).unwrap_err(),
            FsError::NoSpace
        );
        let (d, _) = client::open("/d", flags::READ).unwrap();
        assert_eq!(d.read_dir().unwrap().len(), vfs::ramdisk::MAX_DIR_ENTRIES);
        assert_eq!(srv.fs().nodes(), vfs::ramdisk::MAX_DIR_ENTRIES + 4);
    });
}
