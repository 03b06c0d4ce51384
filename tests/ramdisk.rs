//! The ramdisk program on the in-process stub: started with `Command` on one end of a
//! rendezvous as its stdin, the other end mounted; files through it; its size cap; its end.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use shim::io::ErrorKind;
use shim::process::{Command, Stdio};

fn parent() {
    // Our own root: an in-process ramdisk holding /bin/ramdisk.
    let root = vfs::server::start(vfs::ramdisk::Ramdisk::new(1 << 20)).unwrap();
    libeurali::mount("/", root).unwrap();
    shim::fs::create_dir("/bin").unwrap();
    shim::fs::write(
        "/bin/ramdisk",
        kernel_stub::Kernel::program_image("ramdisk"),
    )
    .unwrap();

    let (serve, mount) = libeurali::new_rendezvous().unwrap();
    let mut child = Command::new("ramdisk")
        .args(["--serve", "64K"])
        .stdin(serve)
        .spawn()
        .unwrap();
    libeurali::mount("/data", mount).unwrap();
    shim::fs::create_dir_all("/data/a/b").unwrap();
    shim::fs::write("/data/a/b/f", "through the ramdisk program").unwrap();
    assert_eq!(
        shim::fs::read_to_string("/data/a/b/f").unwrap(),
        "through the ramdisk program"
    );
    let e = shim::fs::write("/data/big", vec![0u8; 100_000]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StorageFull);
    shim::fs::write("/data/fits", vec![1u8; 60_000]).unwrap();
    assert_eq!(shim::fs::metadata("/data/fits").unwrap().len(), 60_000);
    // Unmounted and with no client left, the server's last reference goes; the program ends.
    libeurali::umount("/data").unwrap();
    let mut ended = None;
    for _ in 0..2000 {
        if let Some(s) = child.try_wait().unwrap() {
            ended = Some(s);
            break;
        }
        shim::thread::sleep(Duration::from_millis(5));
    }
    shim::println!("ramdisk ended: {ended:?}");

    // A bad size: a usage message and status 2.
    let o = Command::new("ramdisk")
        .args(["--serve", "lots"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    shim::println!(
        "bad size: {:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .unwrap_or("")
    );

    // Typed by hand (no `--serve`, stdin not a server's rendezvous): what it is, status 2.
    let o = Command::new("ramdisk").output().unwrap();
    shim::println!(
        "by hand: {:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .unwrap_or("")
    );
}

#[test]
fn the_ramdisk_program_serves_files_on_its_stdin() {
    let progs = [
        shim::program_entry!("parent", parent),
        shim::program_entry!("ramdisk", ramdisk::main),
    ];
    let r = run_captured(&progs, "parent", &[], b"", Duration::from_secs(60));
    assert_eq!(
        r.stdout,
        "ramdisk ended: Some(ExitStatus(code: 0))\n\
         bad size: Some(2) ramdisk: bad size \"lots\" (bytes, or a number with K, M or G)\n\
         by hand: Some(2) ramdisk: a file server, started with a rendezvous as its stdin\n",
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}
