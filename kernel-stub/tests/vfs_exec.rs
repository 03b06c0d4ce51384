//! The VFS calls (§5.1) and exec (§4.6) through the safe API, with real child processes.

mod common;

use common::{run, wait_for};
use kernel_stub::Kernel;
use libeurali::params::{ExecParams, block_at, env_record, fields};
use libeurali::{
    EntryRegisters, Error, Handle, exec, list_mounts, mount, new_rendezvous, open, umount,
};

/// Writes "args=a,b|env=K=V,..." to the debug output.
fn show(regs: EntryRegisters) {
    // Safety: the stub laid the blocks out for this process.
    let (args, env) = unsafe { (block_at(regs.args), block_at(regs.env)) };
    let args: Vec<_> = fields(args)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let env: Vec<_> = fields(env)
        .map(env_record)
        .map(|(k, v)| {
            format!(
                "{}={}",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    libeurali::debug_write(&format!("args={}|env={}", args.join(","), env.join(",")));
}

/// Writes its mount list to the debug output, then a newline.
fn lister(_: EntryRegisters) {
    let list = list_mounts().unwrap_or_default();
    libeurali::debug_write(&format!("{list:?}\n"));
}

fn kernel() -> Kernel {
    let k = Kernel::new();
    k.register_program("show", show);
    k.register_program("lister", lister);
    k
}

#[test]
fn init_gets_its_args_and_env() {
    let k = kernel();
    k.start_init("show", &["show", "x y", ""], &[("PWD", "/h"), ("E", "")])
        .unwrap();
    assert!(k.wait_idle(common::TIMEOUT));
    assert_eq!(k.debug_output(), "args=show,x y,|env=PWD=/h,E=");
    assert_eq!(k.start_init("nope", &[], &[]), Err(Error::Thread));
    assert_eq!(k.start_init("show", &["a\x03b"], &[]), Err(Error::Param));
}

#[test]
fn mount_table_examples_of_the_document() {
    let k = kernel();
    run(&k, "p", || {
        assert_eq!(list_mounts().unwrap(), Vec::<String>::new());
        let (root, _r) = new_rendezvous().unwrap();
        let (x, _x) = new_rendezvous().unwrap();
        mount("/", root).unwrap();
        mount(" /dev/x// ", x).unwrap();
        assert_eq!(list_mounts().unwrap(), ["", "/dev/x"]);
        let mut raw = libeurali::list_mounts_raw().unwrap();
        assert_eq!(raw.as_slice(), br#"["","/dev/x",]"#);
        // Safety: shrinking the known length only.
        unsafe { raw.set_len(0) };
        for (path, prefix) in [("/abc", 0), ("/dev/x", 6), ("/dev/x/y", 6), ("/dev/xy", 0)] {
            assert_eq!(open(path).unwrap().1, prefix, "{path}");
        }
        assert_eq!(open("rel").unwrap_err(), Error::NotFound);
        assert_eq!(open("").unwrap_err(), Error::Param);
        assert_eq!(umount("/dev/x/").unwrap_err(), Error::NotFound);
        umount("/dev/x").unwrap();
        assert_eq!(list_mounts().unwrap(), [""]);
        assert_eq!(
            // SAFETY: 77 names no handle of ours; mount gives the number back on error.
            mount("/y", unsafe { Handle::from_raw(77) }).map_err(|(e, h)| (e, h.into_raw())),
            Err((Error::InvalidHandle, 77))
        );
    });
}

#[test]
fn open_gives_a_handle_to_the_mounted_server() {
    let k = kernel();
    run(&k, "p", || {
        let (server, mounted) = new_rendezvous().unwrap();
        mount("/srv", mounted).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        common::spawn(move || tx.send(libeurali::receive(&server)).unwrap());
        let (h, prefix) = open("/srv/some/file").unwrap();
        assert_eq!(prefix, 4);
        libeurali::send(&h, libeurali::Message::Short(16, 9, 0)).unwrap();
        assert_eq!(rx.recv().unwrap(), Ok(libeurali::Message::Short(16, 9, 0)));
    });
}

#[test]
fn exec_shares_copies_or_replaces_the_vfs() {
    let k = kernel();
    let k2 = k.clone();
    run(&k, "parent", move || {
        let (a, _a) = new_rendezvous().unwrap();
        mount("/a", a).unwrap();
        let child = |params: &[u8]| {
            let (i, o) = new_rendezvous().unwrap();
            exec(&Kernel::program_image("lister"), i, o, params, false).unwrap();
            wait_for("the child to end", || k2.process_count() == 1);
        };
        child(b"");
        child(b"N");
        let (m, _m) = new_rendezvous().unwrap();
        let p = ExecParams::new()
            .copy()
            .mount(m.into_raw(), "/b")
            .unwrap()
            .finish()
            .unwrap();
        child(&p);
        assert_eq!(list_mounts().unwrap(), ["/a"], "C left our list alone");
        let (m, _m) = new_rendezvous().unwrap();
        let p = ExecParams::new()
            .mount(m.into_raw(), "/shared")
            .unwrap()
            .finish()
            .unwrap();
        child(&p);
        assert_eq!(
            list_mounts().unwrap(),
            ["/a", "/shared"],
            "an m item before any selector edits ours"
        );
    });
    assert_eq!(
        k.debug_output(),
        "[\"/a\"]\n[]\n[\"/a\", \"/b\"]\n[\"/a\", \"/shared\"]\n"
    );
}

#[test]
fn exec_loses_handles_as_observed() {
    let k = kernel();
    run(&k, "p", || {
        let gone = |n: u32| {
            // Safety: probing a number; into_raw keeps it from being closed.
            let h = unsafe { Handle::from_raw(n) };
            let r = h.try_clone().map(Handle::into_raw);
            h.into_raw();
            r == Err(Error::InvalidHandle)
        };
        let img = Kernel::program_image("lister");
        // Bad stdout: 3, and stdin is lost.
        let (i, _i) = new_rendezvous().unwrap();
        let n = i.raw();
        // Safety: 99 names no handle; exec consumes the number.
        assert_eq!(
            // SAFETY: 99 names no handle of ours; exec consumes the number.
            exec(&img, i, unsafe { Handle::from_raw(99) }, b"", false),
            Err(Error::InvalidHandle)
        );
        assert!(gone(n));
        // A bad parameter byte: 5, both lost.
        let (i, o) = new_rendezvous().unwrap();
        let (ni, no) = (i.raw(), o.raw());
        assert_eq!(exec(&img, i, o, b"Sx", false), Err(Error::Param));
        assert!(gone(ni) && gone(no));
        // Unknown program: 8.
        let (i, o) = new_rendezvous().unwrap();
        assert_eq!(
            exec(&Kernel::program_image("nope"), i, o, b"", false),
            Err(Error::Thread)
        );
    });
}
