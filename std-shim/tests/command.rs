//! `std::process::Command` on the in-process stub: a parent program with a ramdisk at `/` whose
//! `/bin` holds the images of small child programs registered with the kernel.

use std::time::Duration;

use eurali_host::boot::run_captured;
use eurali_std as shim;
use shim::io::{BufRead, ErrorKind, Read, Write};
use shim::process::{Command, NamespaceMode, Stdio};

// ---- the children ----

/// `exit_with CODE`
fn exit_with() {
    let code = shim::env::args()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    shim::process::exit(code);
}

/// Upper-cases stdin to stdout.
fn upcase() {
    let mut s = String::new();
    shim::io::stdin().read_to_string(&mut s).unwrap();
    shim::print!("{}", s.to_uppercase());
}

/// Writes a line to each of stdout and stderr, then exits 3.
fn both() {
    shim::println!("to stdout");
    shim::eprintln!("to stderr");
    shim::process::exit(3);
}

/// Prints its args, some variables and its working directory.
fn show_env() {
    let args: Vec<String> = shim::env::args().collect();
    shim::println!("args={}", args.join(","));
    for k in ["FOO", "BAR", "HOME"] {
        shim::println!("{k}={}", shim::env::var(k).unwrap_or_else(|_| "-".into()));
    }
    shim::println!("cwd={}", shim::env::current_dir().unwrap().as_str());
    shim::println!("vars={}", shim::env::vars().count());
}

/// `sleeper MS [nested]`: sleeps (in a child `sleeper` of its own when nested), prints "woke".
fn sleeper() {
    let args: Vec<String> = shim::env::args().collect();
    let ms: u64 = args[1].parse().unwrap();
    if args.get(2).is_some_and(|a| a == "nested") {
        let s = Command::new("sleeper").arg(&args[1]).status().unwrap();
        shim::println!("child ended: {s}");
    } else {
        shim::thread::sleep(core::time::Duration::from_millis(ms));
    }
    shim::println!("woke");
}

fn panicker() {
    panic!("child panics on purpose");
}

/// Dies without a status: a program not built on std-shim's runtime (as upstream's are), which
/// writes to its stdout (handle 1) and ends its only thread.
fn vanish(_regs: libeurali::EntryRegisters) {
    // Safety: handle 1 is the stdout this new process was given.
    let out = unsafe { libeurali::Handle::from_raw(1) };
    let _ = libeurali::proto::stream::write(&out, b"vanishing\n");
    out.into_raw();
    libeurali::exit_thread();
}

/// `gen N`: the numbers 1..=N, one a line.
fn gen_numbers() {
    let n: u32 = shim::env::args().nth(1).unwrap().parse().unwrap();
    let mut out = shim::io::stdout();
    for i in 1..=n {
        writeln!(out, "{i}").unwrap();
    }
}

/// `grep PATTERN`: lines of stdin containing PATTERN.
fn grep() {
    let pat = shim::env::args().nth(1).unwrap();
    for line in shim::io::stdin().lock().lines() {
        let line = line.unwrap();
        if line.contains(&pat) {
            shim::println!("{line}");
        }
    }
}

/// Counts the lines of stdin.
fn count() {
    let n = shim::io::stdin().lock().lines().count();
    shim::println!("{n} lines");
}

/// Writes a lot to both streams, interleaved (a parent reading them one after the other would
/// stall it once a pipe is full).
fn flood() {
    let line = "x".repeat(99);
    for i in 0..3000 {
        shim::println!("{line}");
        if i % 2 == 0 {
            shim::eprintln!("{line}");
        }
    }
}

/// Lists what it can open, one line each.
fn probe_ns() {
    for p in ["/bin/upcase", "/extra/file", "/shared-note"] {
        shim::println!("{p}: {}", shim::fs::metadata(p).is_ok());
    }
}

/// Mounts a new ramdisk at /made-by-child (visible to the parent when the namespace is shared).
fn mount_something() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(1 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/made-by-child", c).unwrap();
    shim::fs::write("/made-by-child/hello", "from the child").unwrap();
}

const CHILDREN: &[&str] = &[
    "exit_with",
    "upcase",
    "both",
    "show_env",
    "panicker",
    "sleeper",
    "vanish",
    "gen",
    "grep",
    "count",
    "flood",
    "probe_ns",
    "mount_something",
];

fn programs(
    parent: (&'static str, kernel_stub::ProgramEntry),
) -> Vec<(&'static str, kernel_stub::ProgramEntry)> {
    vec![
        parent,
        shim::program_entry!("exit_with", exit_with),
        shim::program_entry!("upcase", upcase),
        shim::program_entry!("both", both),
        shim::program_entry!("show_env", show_env),
        shim::program_entry!("panicker", panicker),
        shim::program_entry!("sleeper", sleeper),
        ("vanish", vanish as fn(libeurali::EntryRegisters)),
        shim::program_entry!("gen", gen_numbers),
        shim::program_entry!("grep", grep),
        shim::program_entry!("count", count),
        shim::program_entry!("flood", flood),
        shim::program_entry!("probe_ns", probe_ns),
        shim::program_entry!("mount_something", mount_something),
    ]
}

/// A ramdisk at `/` with `/bin/<child>` for every child, `/tmp` and `/home`.
fn setup() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(16 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    for d in ["/bin", "/tmp", "/home", "/home/u"] {
        shim::fs::create_dir(d).unwrap();
    }
    for name in CHILDREN {
        shim::fs::write(
            format!("/bin/{name}"),
            kernel_stub::Kernel::program_image(name),
        )
        .unwrap();
    }
}

/// Boots `parent` (which calls [`setup`] itself) and returns (stdout, stderr, status).
fn boot(parent: (&'static str, kernel_stub::ProgramEntry)) -> (String, String, i32) {
    let r = run_captured(
        &programs(parent),
        parent.0,
        &[],
        b"console input\n",
        Duration::from_secs(60),
    );
    (r.stdout, r.stderr, r.code)
}

// ---- the parents, one per test ----

fn statuses_and_inherited_stdio() {
    setup();
    for code in [0, 1, 42, 255] {
        let s = Command::new("exit_with")
            .arg(code.to_string())
            .status()
            .unwrap();
        assert_eq!(s.code(), Some(code));
        assert_eq!(s.success(), code == 0);
    }
    // By path, relative to the working directory.
    shim::env::set_current_dir("/bin").unwrap();
    assert_eq!(
        Command::new("./exit_with")
            .arg("5")
            .status()
            .unwrap()
            .code(),
        Some(5)
    );
    assert_eq!(
        Command::new("/bin/exit_with")
            .arg("6")
            .status()
            .unwrap()
            .code(),
        Some(6)
    );
    shim::env::set_current_dir("/").unwrap();
    // Inherited stdout and stderr: straight to the console.
    shim::print!("parent before; ");
    let s = Command::new("both").status().unwrap();
    assert_eq!(s.code(), Some(3));
    assert_eq!(s.to_string(), "exit status: 3");
    // Inherited stdin: the console's input.
    let s = Command::new("upcase").status().unwrap();
    assert!(s.success());
    // A panicking child: 101, its message on our stderr.
    let s = Command::new("panicker").status().unwrap();
    assert_eq!(s.code(), Some(101));
    // kill: the child's runtime ends it (128 + 9); after the end, kill is a harmless Ok.
    let mut c = Command::new("exit_with").spawn().unwrap();
    assert!(c.id() > 0);
    assert!(c.wait().unwrap().success());
    assert!(
        c.wait().unwrap().success(),
        "wait twice gives the same status"
    );
    c.kill().unwrap();
    let mut c = Command::new("sleeper").arg("60000").spawn().unwrap();
    c.kill().unwrap();
    assert_eq!(c.wait().unwrap().code(), Some(137));
    // A killed child's children are killed too; a Killer works from another thread.
    let mut c = Command::new("sleeper")
        .args(["60000", "nested"])
        .spawn()
        .unwrap();
    let k = c.killer();
    shim::thread::spawn(move || {
        shim::thread::sleep(core::time::Duration::from_millis(50));
        k.signal(shim::process::SIGINT);
    });
    assert_eq!(c.wait().unwrap().code(), Some(130));
}

#[test]
fn exit_codes_inherited_stdio_and_panics() {
    let (out, err, code) = boot(shim::program_entry!("parent", statuses_and_inherited_stdio));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "parent before; to stdout\nCONSOLE INPUT\n");
    assert!(err.contains("to stderr\n"), "{err}");
    assert!(err.contains("child panics on purpose"), "{err}");
}

fn pipes_output_and_files() {
    setup();
    // Piped stdin and stdout.
    let mut c = Command::new("upcase")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(b"hello, child\n")
        .unwrap();
    let mut s = String::new();
    c.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "HELLO, CHILD\n");
    assert!(c.wait().unwrap().success());
    // output(): stdout and stderr apart, stdin null.
    let o = Command::new("both").output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(o.stdout, b"to stdout\n");
    assert_eq!(o.stderr, b"to stderr\n");
    let o = Command::new("upcase").output().unwrap();
    assert_eq!(
        (o.stdout.len(), o.status.success()),
        (0, true),
        "null stdin is empty"
    );
    // Lots on both streams at once: read concurrently, no stall.
    let o = Command::new("flood").output().unwrap();
    assert_eq!((o.stdout.len(), o.stderr.len()), (300_000, 150_000));
    // Only stderr piped.
    let mut c = Command::new("both")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(c.stdout.is_none());
    let mut e = String::new();
    c.stderr.take().unwrap().read_to_string(&mut e).unwrap();
    assert_eq!(e, "to stderr\n");
    assert_eq!(c.wait().unwrap().code(), Some(3));
    // Redirections to and from files.
    let f = shim::fs::File::create("/tmp/out").unwrap();
    let s = Command::new("gen").arg("3").stdout(f).status().unwrap();
    assert!(s.success());
    assert_eq!(shim::fs::read_to_string("/tmp/out").unwrap(), "1\n2\n3\n");
    shim::fs::write("/tmp/in", "from a file\n").unwrap();
    let o = Command::new("upcase")
        .stdin(shim::fs::File::open("/tmp/in").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.stdout, b"FROM A FILE\n");
    let log = shim::fs::OpenOptions::new()
        .append(true)
        .open("/tmp/out")
        .unwrap();
    Command::new("both")
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .unwrap();
    assert_eq!(
        shim::fs::read_to_string("/tmp/out").unwrap(),
        "1\n2\n3\nto stderr\n"
    );
    // A pipeline of three: gen 100 | grep 7 | count.
    let mut a = Command::new("gen")
        .arg("100")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut b = Command::new("grep")
        .arg("7")
        .stdin(a.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let o = Command::new("count")
        .stdin(b.stdout.take().unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "19 lines\n");
    // Waited for last stage first, as a shell may: the earlier stages do not hold it up.
    assert!(b.wait().unwrap().success());
    assert!(a.wait().unwrap().success());
    // A std pipe as stdout, read here.
    let (mut r, w) = shim::io::pipe().unwrap();
    let mut c = Command::new("gen").arg("2").stdout(w).spawn().unwrap();
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    assert_eq!(s, "1\n2\n");
    assert!(c.wait().unwrap().success());
    shim::println!("ok");
}

#[test]
fn pipes_output_redirections_and_a_pipeline() {
    let (out, err, code) = boot(shim::program_entry!("parent", pipes_output_and_files));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

fn env_cwd_and_lookup() {
    setup();
    // SAFETY: nothing else in this test's process reads the environment meanwhile.
    unsafe { shim::env::set_var("FOO", "inherited") };
    // SAFETY: as above.
    unsafe { shim::env::set_var("HOME", "/home/u") };
    let o = Command::new("show_env")
        .arg("a b")
        .arg("c")
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("args=show_env,a b,c\nFOO=inherited\nBAR=-\nHOME=/home/u\ncwd=/\n"),
        "{text}"
    );
    let o = Command::new("show_env")
        .env("BAR", "set")
        .env_remove("FOO")
        .current_dir("home/u")
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("args=show_env\nFOO=-\nBAR=set\nHOME=/home/u\ncwd=/home/u\n"),
        "{text}"
    );
    let o = Command::new("/bin/show_env")
        .env_clear()
        .env("BAR", "only")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "args=/bin/show_env\nFOO=-\nBAR=only\nHOME=-\ncwd=/\nvars=1\n"
    );
    // A missing program, a missing directory, a bad working directory.
    let e = Command::new("no-such-program").status().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "no-such-program: program not found (searched PATH=/bin)"
    );
    let e = Command::new("/nope/x").spawn().unwrap_err();
    assert_eq!(
        (e.kind(), e.to_string().as_str()),
        (ErrorKind::NotFound, "/nope/x: no such file")
    );
    let e = Command::new("upcase")
        .env("PATH", "/tmp:/home")
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = Command::new("upcase")
        .current_dir("/nowhere")
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // PATH is searched in order.
    shim::fs::create_dir("/home/u/bin").unwrap();
    shim::fs::write(
        "/home/u/bin/mine",
        kernel_stub::Kernel::program_image("exit_with"),
    )
    .unwrap();
    // SAFETY: nothing else in this test's process reads the environment meanwhile.
    unsafe { shim::env::set_var("PATH", "/nothing:/home/u/bin:/bin") };
    assert_eq!(
        Command::new("mine").arg("9").status().unwrap().code(),
        Some(9)
    );
    // Not a program (binary junk, or too short for the kernel's magic check).
    shim::fs::write("/bin/junk", b"\x00\xde\xad\xbe\xef").unwrap();
    let e = Command::new("junk").spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("not a program"), "{e}");
    // A `#!` script runs its interpreter with its argument, its path and the arguments.
    shim::fs::write("/bin/script", "#!/bin/exit_with 5\nignored\n").unwrap();
    let s = Command::new("script").arg("more").status().unwrap();
    assert_eq!(s.code(), Some(5));
    shim::fs::write("/bin/script", "#!/bin/missing\n").unwrap();
    let e = Command::new("script").spawn().unwrap_err();
    assert!(
        e.to_string().contains("bad interpreter /bin/missing"),
        "{e}"
    );
    // Other text is a shell script (as execvp has it): here there is no /bin/sh.
    shim::fs::write("/bin/script", "echo hi\n").unwrap();
    let e = Command::new("script").spawn().unwrap_err();
    assert!(e.to_string().contains("bad interpreter /bin/sh"), "{e}");
    // More than exec's page holds comes in a chunk (EXEC_ARGS), whatever the namespace mode;
    // past ARGS_MAX, E2BIG.
    let (long, value) = ("x".repeat(5000), "f".repeat(3000));
    for mode in [
        NamespaceMode::Copy,
        NamespaceMode::Share,
        NamespaceMode::New,
    ] {
        let mut cmd = Command::new("show_env");
        if mode == NamespaceMode::New {
            cmd.current_dir("/");
        }
        let o = cmd
            .namespace_mode(mode)
            .args([long.as_str(), "b"])
            .env("FOO", &value)
            .output()
            .unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.starts_with(&format!("args=show_env,{long},b\nFOO={value}\nBAR=-\n")),
            "{mode:?}: {text:.200}"
        );
        assert_eq!(o.status.code(), Some(0), "{mode:?}");
    }
    assert!(shim::fs::metadata("/.eurali/args").is_err());
    let e = Command::new("upcase")
        .arg("x".repeat(libeurali::params::ARGS_MAX))
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ArgumentListTooLong, "{e}");
    assert!(e.to_string().contains("argument list too long"), "{e}");
    shim::println!("ok");
}

#[test]
fn environment_working_directory_and_program_lookup() {
    let (out, err, code) = boot(shim::program_entry!("parent", env_cwd_and_lookup));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

fn dead_children() {
    setup();
    // A child that ends without a status: wait returns, with no code.
    let mut c = Command::new("vanish")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let s = c.wait().unwrap();
    assert_eq!((s.code(), s.success()), (None, false));
    assert_eq!(s.to_string(), "killed");
    let mut out = String::new();
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(
        out, "vanishing\n",
        "its output, then EOF though it never closed its stdout"
    );
    // try_wait: None at first (or soon Some), then the status; both for a clean and a dead child.
    for (prog, want) in [("exit_with", Some(0)), ("vanish", None)] {
        let mut c = Command::new(prog).stdout(Stdio::null()).spawn().unwrap();
        let t0 = shim::time::Instant::now();
        let s = loop {
            if let Some(s) = c.try_wait().unwrap() {
                break s;
            }
            assert!(
                t0.elapsed().as_secs() < 10,
                "{prog}: try_wait never saw the end"
            );
            shim::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(s.code(), want, "{prog}");
        assert_eq!(
            c.wait().unwrap().code(),
            want,
            "{prog}: wait after try_wait"
        );
    }
    // A child never waited for: dropping it lets it end (its status send fails).
    for _ in 0..5 {
        drop(Command::new("exit_with").arg("1").spawn().unwrap());
    }
    shim::println!("ok");
}

#[test]
fn a_parent_never_hangs_on_a_dead_child() {
    let (out, err, code) = boot(shim::program_entry!("parent", dead_children));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}

fn namespaces() {
    setup();
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(1 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/extra", c).unwrap();
    shim::fs::write("/extra/file", "x").unwrap();
    // Copy (default): sees our mounts.
    let o = Command::new("probe_ns").output().unwrap();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "/bin/upcase: true\n/extra/file: true\n/shared-note: false\n"
    );
    // New, with one mount: sees only that.
    let (m2, c2) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(1 << 20))
        .spawn(m2)
        .unwrap();
    let o = Command::new("probe_ns")
        .namespace_mode(NamespaceMode::New)
        .mount("/bin", c2)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "/bin/upcase: false\n/extra/file: false\n/shared-note: false\n"
    );
    // Copy with a mount over one of ours: the new one wins.
    let (m3, c3) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(1 << 20))
        .spawn(m3)
        .unwrap();
    let o = Command::new("probe_ns")
        .mount("/extra", c3)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("/extra/file: false")
    );
    assert_eq!(
        shim::fs::read_to_string("/extra/file").unwrap(),
        "x",
        "ours untouched"
    );
    // A namespace built from a spec.
    let items = vfs::ns::parse("bind -r /extra /extra\n", "u", "/home/u").unwrap();
    let ns = vfs::ns::from_spec(&items).unwrap();
    let o = Command::new("/bin/probe_ns").namespace(ns).output();
    // The program is found in our namespace; it runs in the new one (no /bin there).
    let o = o.unwrap();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "/bin/upcase: false\n/extra/file: true\n/shared-note: false\n"
    );
    // Share: the child's mounts appear in ours; its status and stderr mounts do not linger.
    let s = Command::new("mount_something")
        .namespace_mode(NamespaceMode::Share)
        .status()
        .unwrap();
    assert!(s.success());
    assert_eq!(
        shim::fs::read_to_string("/made-by-child/hello").unwrap(),
        "from the child"
    );
    let mounts = vfs::ns::list().unwrap();
    assert!(
        !mounts.iter().any(|m| m.starts_with("/.eurali")),
        "{mounts:?}"
    );
    // Copy and New children did not change ours either (boot mounted /dev/log, the debug log,
    // and /dev/rtc, the wall clock).
    assert_eq!(
        mounts,
        ["/dev/log", "/dev/rtc", "/", "/extra", "/made-by-child"]
    );
    shim::println!("ok");
}

#[test]
fn namespaces_copied_new_built_and_shared() {
    let (out, err, code) = boot(shim::program_entry!("parent", namespaces));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
}
