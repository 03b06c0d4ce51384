//! The kernel mount table (ABI §5.1): open, mount, umount, list_mounts; bad pointers.

use super::*;

#[test]
fn vfs_examples_of_the_document() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    assert_eq!(k.list(t), "[]");
    let (root, _) = k.rv(t);
    let (x, _) = k.rv(t);
    assert_eq!(k.mount(t, b"/", root), None);
    assert_eq!(k.mount(t, b" /dev/x// ", x), None);
    assert_eq!(k.list(t), r#"["","/dev/x",]"#);
    assert_eq!(
        k.copy(t, root),
        Err(Error::InvalidHandle),
        "mount moves the handle"
    );
    let (h, n) = k.open(t, b"/abc").unwrap();
    assert_eq!(n, 0);
    assert_eq!(k.open(t, b"/dev/x").unwrap().1, 6);
    assert_eq!(k.open(t, b"/dev/x/y").unwrap().1, 6);
    assert_eq!(k.open(t, b"/dev/xy").unwrap().1, 0);
    // rel -> 7 with RDI/RSI unchanged; empty -> 5.
    let r = k.done(t, Call::Open(slice(b"rel")));
    assert_eq!(r.rax, 7);
    assert_eq!(r.rsi, 3);
    assert_eq!(k.open(t, b""), Err(Error::Param));
    // open returns a new handle to the mounted rendezvous itself.
    assert_eq!(
        k.s.refs_of(p, h),
        Some(4),
        "the other handle, the mount, two opens of the root"
    );
    // umount is byte-exact.
    assert_eq!(
        k.err(t, Call::Umount(slice(b"/dev/x/"))),
        Some(Error::NotFound)
    );
    assert_eq!(k.err(t, Call::Umount(slice(b"/dev/x"))), None);
    assert_eq!(k.list(t), r#"["",]"#);
    assert_eq!(k.err(t, Call::Umount(slice(b""))), None);
    assert_eq!(k.list(t), "[]");
}

#[test]
fn vfs_utf8_and_handle_errors() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    let (a, _) = k.rv(t);
    assert_eq!(k.open(t, b"/\xFF"), Err(Error::Utf8));
    assert_eq!(k.mount(t, b"/\xFF", a), Some(Error::Utf8));
    assert!(k.copy(t, a).is_ok(), "6 leaves the handle with the caller");
    assert_eq!(k.mount(t, b"/ok", 99), Some(Error::InvalidHandle));
    assert_eq!(k.err(t, Call::Umount(slice(b"\xC0"))), Some(Error::Utf8));
    assert_eq!(
        k.err(t, Call::Umount(slice(b"/nope"))),
        Some(Error::NotFound)
    );
}

#[test]
fn bad_pointers_halt() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    for c in [
        Call::DebugWrite(UserSlice { ptr: 0x10, len: 4 }),
        Call::Open(UserSlice { ptr: 0x10, len: 4 }),
        Call::Mount {
            handle: 0,
            path: UserSlice { ptr: 0x10, len: 4 },
        },
        Call::Umount(UserSlice { ptr: 8, len: 1 }),
        Call::DebugWrite(UserSlice {
            ptr: 0x1000,
            len: u64::MAX,
        }),
    ] {
        let (o, _) = k.run(t, c);
        assert!(
            matches!(&o, Outcome::Halt(w) if w.contains("page fault")),
            "{c:?}: {o:?}"
        );
    }
    // Length 0 reads nothing: no fault.
    k.done(t, Call::DebugWrite(UserSlice { ptr: 0x10, len: 0 }));
    assert_eq!(
        k.err(t, Call::Open(UserSlice { ptr: 0x10, len: 0 })),
        Some(Error::Param)
    );
    // debug_write: captured, invalid UTF-8 ignored, RAX keeps 2.
    let r = k.done(t, Call::DebugWrite(slice(b"hi ")));
    assert_eq!(r.rax, 2);
    k.done(t, Call::DebugWrite(slice(b"\xFF")));
    k.done(t, Call::DebugWrite(slice("there".as_bytes())));
    assert_eq!(k.s.debug, "hi there");
}

#[test]
fn calls_without_status_keep_rax() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    assert_eq!(k.done(t, Call::Yield { idle_us: 0 }).rax, 9);
    assert_eq!(k.done(t, Call::Close { handle: 7 }).rax, 16);
    assert_eq!(
        k.done(t, Call::Unknown { rax: 0x1234_0042 }).rax,
        0x1234_0042
    );
    let (o, r) = k.run(t, Call::AwaitInterrupt);
    assert!(matches!(o, Outcome::Block));
    assert_eq!(r.rax, 17);
    assert_eq!(k.s.raise_irq(), 1);
    assert_eq!(k.wake(t), Wake::Unchanged);
    assert_eq!(
        k.s.raise_irq(),
        0,
        "an interrupt with nobody waiting is lost"
    );
}

#[test]
fn mount_entries_and_opens_are_references() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let (a, b) = k.rv(t);
    assert_eq!(k.mount(t, b"/srv", b), None);
    // a and the mount entry: a send on a is not refused with 12.
    k.blocks(t, send(a, SHORT));
    let u = k.thread(p);
    let (h, n) = k.open(u, b"/srv/file").unwrap();
    assert_eq!(n, 4);
    let got = k.ok(u, Call::Receive { handle: h });
    assert_eq!(got.rdi, 1);
    assert_eq!(k.wake(t), Wake::Status(0));
    k.done(u, Call::Close { handle: h });
    // Without the mount entry a is the only reference.
    assert_eq!(k.err(u, Call::Umount(slice(b"/srv"))), None);
    assert_eq!(k.err(u, send(a, SHORT)), Some(Error::Closed));
}
