//! `edit` (kibi on std-shim) driven by scripted keys on the in-process stub, its console acting as
//! a terminal (`eurali_host::boot::run_on_terminal`): typing and saving, the end of the input,
//! no terminal at all, and kibi's command line.

use std::time::Duration;

use eurali_host::boot::{Capture, Console, run_captured, run_on_terminal};
use eurali_std as shim;
use kernel_stub::Kernel;

/// The booting program: a ramdisk at `/` with `/bin/edit`, then `edit ARGS` in `/home`; prints
/// its status and, if it exists, `/home/notes.txt` between markers.
fn session() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(16 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::create_dir_all("/bin").unwrap();
    shim::fs::create_dir_all("/home").unwrap();
    shim::fs::write("/bin/edit", Kernel::program_image("edit")).unwrap();
    shim::env::set_current_dir("/home").unwrap();
    let args: Vec<String> = shim::env::args().skip(1).collect();
    let status = shim::process::Command::new("/bin/edit")
        .args(&args)
        .status()
        .unwrap();
    shim::println!("\n[edit exited {:?}]", status.code());
    if let Ok(text) = shim::fs::read_to_string("/home/notes.txt") {
        shim::println!("[notes.txt]{text}[end]");
    }
}

/// [`session`], with `/home` a ramdisk of 100 bytes: a save that does not fit.
fn session_full() {
    let (m, c) = libeurali::new_rendezvous().unwrap();
    vfs::server::Server::new(vfs::ramdisk::Ramdisk::new(16 << 20))
        .spawn(m)
        .unwrap();
    libeurali::mount("/", c).unwrap();
    shim::fs::create_dir_all("/bin").unwrap();
    shim::fs::write("/bin/edit", Kernel::program_image("edit")).unwrap();
    let small = vfs::server::start(vfs::ramdisk::Ramdisk::new(100)).unwrap();
    libeurali::mount("/home", small).unwrap();
    shim::fs::write("/home/notes.txt", "old\n").unwrap();
    shim::env::set_current_dir("/home").unwrap();
    let status = shim::process::Command::new("/bin/edit")
        .arg("notes.txt")
        .status()
        .unwrap();
    shim::println!("\n[edit exited {:?}]", status.code());
    shim::println!(
        "[notes.txt: {:?}]",
        shim::fs::read_to_string("/home/notes.txt").map_err(|e| e.kind())
    );
}

fn programs() -> [(&'static str, kernel_stub::ProgramEntry); 3] {
    [
        shim::program_entry!("session", session),
        shim::program_entry!("session-full", session_full),
        shim::program_entry!("edit", edit::main),
    ]
}

/// Runs `edit ARGS` at a scripted terminal typing `keys`: (status, stdout, stderr).
fn at_terminal(args: &[&str], keys: &[u8]) -> (i32, String, String) {
    session_at_terminal("session", args, keys)
}

/// [`at_terminal`] with the session program `session`.
fn session_at_terminal(session: &str, args: &[&str], keys: &[u8]) -> (i32, String, String) {
    let (out, err) = (Capture::default(), Capture::default());
    let console = Console {
        stdin: Box::new(std::io::Cursor::new(keys.to_vec())),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
    };
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let session = session.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_on_terminal(&programs(), &session, &args, console));
    });
    let code = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("edit did not finish; screen so far: {:?}", out.text()));
    (code, out.text(), err.text())
}

#[test]
fn typing_saving_and_quitting() {
    // Type two lines (UTF-8 in the second), Backspace once, save, quit.
    let (code, out, err) = at_terminal(&["notes.txt"], "hello\rwörldd\x7f\x13\x11".as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[edit exited Some(0)]"), "{out}");
    assert!(out.contains("[notes.txt]hello\nwörld[end]"), "{out}");
    // kibi's screen: the alternate screen, the file name on the status bar, the save message.
    assert!(out.contains("\x1b[?1049h"), "{out}");
    assert!(out.contains("notes.txt"), "{out}");
    assert!(out.contains("12B written to notes.txt"), "{out}");
}

#[test]
fn the_end_of_the_input_ends_kibi_with_an_error_not_a_spin() {
    let (code, out, err) = at_terminal(&["notes.txt"], b"unsaved");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[edit exited Some(1)]"), "{out}");
    assert!(err.contains("end of the terminal's input"), "{err}");
    // The terminal was given back (main screen) and nothing was saved.
    assert!(out.contains("\x1b[?1049l"), "{out}");
    assert!(!out.contains("[notes.txt]"), "{out}");
}

#[test]
fn without_a_terminal_kibi_says_so() {
    let r = run_captured(
        &programs(),
        "session",
        &["notes.txt".to_string()],
        b"typed",
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("[edit exited Some(1)]"), "{}", r.stdout);
    assert!(
        r.stderr.contains("standard input is not a terminal"),
        "{}",
        r.stderr
    );
}

#[test]
fn kibis_command_line() {
    let (_, out, _) = at_terminal(&["--version"], b"");
    assert!(out.contains("kibi 0.3.3\n"), "{out}");
    assert!(out.contains("[edit exited Some(0)]"), "{out}");
    let (_, out, err) = at_terminal(&["-x"], b"");
    assert!(out.contains("[edit exited Some(1)]"), "{out}");
    assert!(
        err.contains("edit: unrecognized option '-x'\nusage: edit [--version] [FILE]\n"),
        "{err}"
    );
    let (_, out, err) = at_terminal(&["a", "b"], b"");
    assert!(out.contains("[edit exited Some(1)]"), "{out}");
    assert!(
        err.contains("edit: too many arguments\nusage: edit"),
        "{err}"
    );
}

#[test]
fn a_new_buffer_is_saved_under_the_name_asked_for() {
    // No file named: Ctrl-S asks for one.
    let (code, out, err) = at_terminal(&[], b"new text\x13notes.txt\r\x11");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Save as: notes.txt"), "{out}");
    assert!(out.contains("[notes.txt]new text[end]"), "{out}");
    assert!(out.contains("[edit exited Some(0)]"), "{out}");
}

#[test]
fn ctrl_e_reports_a_command_that_cannot_run() {
    let (code, out, err) = at_terminal(&["notes.txt"], b"\x05no-such-command\r\x11");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Command to execute: no-such-command"), "{out}");
    assert!(out.contains("[edit exited Some(0)]"), "{out}");
    let shown = out
        .split("Command to execute: no-such-command")
        .last()
        .unwrap();
    assert!(shown.contains("not found"), "{shown}");
}

/// A save that does not fit its file system says so on kibi's status bar, and the buffer stays
/// unsaved (kibi asks again before quitting).
#[test]
fn a_save_into_a_full_ramdisk_says_so() {
    let keys = [&[b'y'; 200][..], b"\x13\x11\x11\x11"].concat();
    let (code, out, err) = session_at_terminal("session-full", &[], &keys);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Can't save! I/O error: no space left on device"),
        "{out}"
    );
    assert!(out.contains("[edit exited Some(0)]"), "{out}");
    // kibi truncates the file before it writes (as on Linux); nothing of the new text is there.
    assert!(out.contains("[notes.txt: Ok(\"\")]"), "{out}");
}
