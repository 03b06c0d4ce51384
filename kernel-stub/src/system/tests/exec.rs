//! exec (ABI §4.6).

use super::*;

fn exec(elf: &[u8], stdin: u32, stdout: u32, params: &[u8], flags: u8) -> Call {
    Call::Exec(ExecCall {
        flags,
        elf: slice(elf),
        stdin,
        stdout,
        param: slice(params),
    })
}

impl Sys {
    /// Runs an exec; returns the spawn on success (its thread is then ended again).
    fn exec(&mut self, t: Tid, c: Call) -> Result<Spawn, Error> {
        let (o, r) = self.run(t, c);
        match o {
            Outcome::Spawn(s) => {
                assert_eq!((r.rax, r.rdi), (0, s.tid));
                Ok(s)
            }
            Outcome::Done => Err(r.error().expect("an error")),
            o => panic!("{o:?}"),
        }
    }

    fn list_of(&mut self, pid: Pid) -> String {
        let v = self.s.procs[&pid].vfs;
        self.s.vfs.get(v).unwrap().table.list_text()
    }
}

#[test]
fn exec_starts_a_registered_program() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let img = crate::exec::program_image("prog");
    let (a, b) = k.rv(t);
    let (m, _) = k.rv(t);
    let s = k
        .exec(
            t,
            exec(&img, a as u32, b as u32, b"Cm4|/srv:Aprog\x03x\0Ek=v\0", 1),
        )
        .unwrap();
    let child = &k.s.procs[&s.pid];
    assert!(child.iopl, "IOPL asked for, and the caller has it");
    assert_eq!(child.handles.count(), 2);
    assert_eq!(&*child.name, "prog");
    let Start::Program { regs, .. } = s.start else {
        panic!()
    };
    // Safety: the blocks live in the child's page.
    unsafe {
        assert_eq!(libeurali::params::block_at(regs.args), b"prog\x03x");
        assert_eq!(libeurali::params::block_at(regs.env), b"k=v");
    }
    assert_eq!(
        regs.env + 4 + 3,
        regs.args,
        "env directly below the args (§4.2)"
    );
    assert_eq!(k.list_of(s.pid), r#"["/srv",]"#);
    assert_eq!(k.list_of(p), "[]", "C: the parent's list is untouched");
    assert_eq!(
        k.copy(t, m),
        Err(Error::InvalidHandle),
        "m moved the handle"
    );
    assert_eq!(k.copy(t, a), Err(Error::InvalidHandle), "stdin moved");
}

#[test]
fn exec_iopl_only_if_the_caller_has_it() {
    let mut k = Sys::new();
    let pid = k.s.new_init_process("user", false);
    let t = k.thread(pid);
    let (a, b) = k.rv(t);
    let s = k
        .exec(
            t,
            exec(
                &crate::exec::program_image("prog"),
                a as u32,
                b as u32,
                b"",
                1,
            ),
        )
        .unwrap();
    assert!(!k.s.procs[&s.pid].iopl);
}

#[test]
fn exec_failures_and_lost_handles() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let img = crate::exec::program_image("prog");
    let lost = |k: &mut Sys, h: u64| k.copy(t, h) == Err(Error::InvalidHandle);

    // elf_len 0: 5, everything intact.
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(b"", a as u32, b as u32, b"", 0)).err(),
        Some(Error::Param)
    );
    assert!(!lost(&mut k, a) && !lost(&mut k, b));
    // Invalid stdin: 3, everything intact.
    assert_eq!(
        k.exec(t, exec(&img, 99, b as u32, b"", 0)).err(),
        Some(Error::InvalidHandle)
    );
    assert!(!lost(&mut k, b));
    // Invalid stdout: 3, stdin lost (observed).
    assert_eq!(
        k.exec(t, exec(&img, a as u32, 99, b"", 0)).err(),
        Some(Error::InvalidHandle)
    );
    assert!(lost(&mut k, a));
    // Bad parameter byte: 5, both lost (observed).
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, b"Sx", 0)).err(),
        Some(Error::Param)
    );
    assert!(lost(&mut k, a) && lost(&mut k, b));
    // `-` of a path not mounted: 5.
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, b"-/nope:", 0))
            .err(),
        Some(Error::Param)
    );
    // Non-UTF-8 path in m: 6; a bad m handle: 3.
    let (a, b) = k.rv(t);
    let (m, _) = k.rv(t);
    let params = format!("m{m}|")
        .into_bytes()
        .into_iter()
        .chain([0xFF])
        .collect::<Vec<u8>>();
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, &params, 0)).err(),
        Some(Error::Utf8)
    );
    assert!(!lost(&mut k, m), "the handle is checked after the path");
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, b as u32, b"m77|/x", 0))
            .err(),
        Some(Error::InvalidHandle)
    );
    // Unknown program or foreign bytes: 8; m handles taken before are lost, and edits to the
    // shared VFS stay.
    let (a, b) = k.rv(t);
    let params = format!("m{m}|/kept:");
    let bad = crate::exec::program_image("nope");
    assert_eq!(
        k.exec(t, exec(&bad, a as u32, b as u32, params.as_bytes(), 0))
            .err(),
        Some(Error::Thread)
    );
    assert!(lost(&mut k, m));
    assert_eq!(
        k.list_of(p),
        r#"["/kept",]"#,
        "m before any selector edits the caller's VFS"
    );
    let (a, b) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(b"\x7fELF\x02\x01\x01", a as u32, b as u32, b"", 0))
            .err(),
        Some(Error::Thread)
    );
    // Too large for the kernel heap: 9.
    let (a, b) = k.rv(t);
    let huge = vec![0u8; KERNEL_HEAP as usize + 1];
    assert_eq!(
        k.exec(t, exec(&huge, a as u32, b as u32, b"", 0)).err(),
        Some(Error::Memory)
    );
    // The same handle as stdin and stdout: the second take finds it gone.
    let (a, _) = k.rv(t);
    assert_eq!(
        k.exec(t, exec(&img, a as u32, a as u32, b"", 0)).err(),
        Some(Error::InvalidHandle)
    );
    assert!(lost(&mut k, a));
}

#[test]
fn exec_vfs_selection() {
    let mut k = Sys::new();
    let (p, t) = k.process();
    let img = crate::exec::program_image("prog");
    let (r, _) = k.rv(t);
    k.mount(t, b"/base", r);
    // Shared (no selector): a later mount by the parent shows in the child's list.
    let (a, b) = k.rv(t);
    let s = k.exec(t, exec(&img, a as u32, b as u32, b"", 0)).unwrap();
    let (x, _) = k.rv(t);
    k.mount(t, b"/later", x);
    assert_eq!(k.list_of(s.pid), r#"["/base","/later",]"#);
    // N: empty, then mounts; `-` applies to the selected VFS.
    let (a, b) = k.rv(t);
    let (m1, _) = k.rv(t);
    let s = k
        .exec(
            t,
            exec(
                &img,
                a as u32,
                b as u32,
                format!("Nm{m1}|/one:-/one:").as_bytes(),
                0,
            ),
        )
        .unwrap();
    assert_eq!(k.list_of(s.pid), "[]");
    // C after N: the N list is dropped, the copy is of the caller's list.
    let (a, b) = k.rv(t);
    let s = k
        .exec(t, exec(&img, a as u32, b as u32, b"NC-/later:", 0))
        .unwrap();
    assert_eq!(k.list_of(s.pid), r#"["/base",]"#);
    assert_eq!(k.list_of(p), r#"["/base","/later",]"#);
    // `-` before a selector removes from the parent's own list.
    let (a, b) = k.rv(t);
    let s = k
        .exec(t, exec(&img, a as u32, b as u32, b"-/later:N", 0))
        .unwrap();
    assert_eq!(k.list_of(p), r#"["/base",]"#);
    assert_eq!(k.list_of(s.pid), "[]");
}

#[test]
fn exec_faults_halt() {
    let mut k = Sys::new();
    let (_, t) = k.process();
    let (a, b) = k.rv(t);
    let (o, _) = k.run(t, exec(b"\x7fE", a as u32, b as u32, b"", 0));
    assert!(
        matches!(&o, Outcome::Halt(w) if w.contains("2-byte")),
        "{o:?}"
    );
    let (a, b) = k.rv(t);
    let big = [b"A".as_slice(), &[b'x'; 4000], b"\0E", &[b'y'; 100]].concat();
    let img = crate::exec::program_image("prog");
    let (o, _) = k.run(t, exec(&img, a as u32, b as u32, &big, 0));
    assert!(
        matches!(&o, Outcome::Halt(w) if w.contains("4000 bytes of args")),
        "{o:?}"
    );
    let (a, b) = k.rv(t);
    let c = Call::Exec(ExecCall {
        flags: 0,
        elf: slice(&img),
        stdin: a as u32,
        stdout: b as u32,
        param: UserSlice { ptr: 0x20, len: 3 },
    });
    assert!(matches!(k.run(t, c).0, Outcome::Halt(_)));
}
