//! `std::term::read_password` at a terminal on the stub: raw mode for the line (nothing echoed),
//! Backspace and Ctrl-U, the mode restored, nothing read past the line.

use std::sync::Mutex;
use std::time::Duration;

use eurali_host::boot::{Console, run_on};
use eurali_std as shim;
use shim::io::Read;
use shim::process::{Command, Stdio};

use eurali_host::boot::Capture as Buf;

/// Reads a password from its stdin (a terminal) and reports.
fn pw() {
    shim::print!("pw: ");
    let r = shim::term::read_password();
    shim::println!("{r:?}");
    shim::println!(
        "raw after: {:?}",
        shim::term::stdin_terminal().map(|t| t.raw)
    );
    let mut rest = String::new();
    shim::io::stdin().read_line_unbuffered(&mut rest).unwrap();
    shim::println!("rest: {rest:?}");
}

/// Where the terminal's echo goes (set by the test before it boots `parent`).
static ECHO: Mutex<Option<Buf>> = Mutex::new(None);

fn parent() {
    let echo = ECHO.lock().unwrap().clone().unwrap();
    let root = vfs::server::start(vfs::ramdisk::Ramdisk::new(1 << 20)).unwrap();
    libeurali::mount("/", root).unwrap();
    shim::fs::create_dir("/bin").unwrap();
    shim::fs::write("/bin/pw", kernel_stub::Kernel::program_image("pw")).unwrap();
    let (srv, cli) = libeurali::new_rendezvous().unwrap();
    eurali_host::boot::spawn_stub_thread(move || {
        eurali_host::devices::console::serve_terminal_input(
            &srv,
            std::io::Cursor::new(b"se\x15secret\x7fT\rrest".to_vec()),
            echo,
            true,
        )
    })
    .unwrap();
    let mut c = Command::new("pw")
        .stdin(cli)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(c.wait().unwrap().success());
    shim::print!("{out}");
}

#[test]
fn a_password_is_read_without_echo_at_a_terminal() {
    let (out, err, echo) = (Buf::default(), Buf::default(), Buf::default());
    *ECHO.lock().unwrap() = Some(echo.clone());
    let console = Console {
        stdin: Box::new(std::io::empty()),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let progs = [
            shim::program_entry!("parent", parent),
            shim::program_entry!("pw", pw),
        ];
        let _ = tx.send(run_on(&progs, "parent", &[], console));
    });
    let code = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("parent did not finish");
    let text = |b: &Buf| b.text();
    assert_eq!(
        text(&out),
        "pw: \nOk(Some(\"secreT\"))\nraw after: Some(false)\nrest: \"rest\"\n",
        "{}",
        text(&err)
    );
    assert_eq!(text(&echo), "", "nothing echoed");
    assert_eq!(code, 0, "{}", text(&err));
}
