//! init's real-kernel boot (`init::metal`) on a stub that plays Merriwig: init is exec'd with an
//! empty namespace, a null handle 0 and the VIDEO_MEMORY message waiting on handle 1, as the
//! kernel starts it (ABI §4.1). The stub has no ports, so `drivers` is played by a stand-in that
//! serves the real console code (`drivers::server::ConsoleServer`, the terminals and line
//! discipline) on an in-memory screen and types on it like a user, says what a machine without
//! an rtl8139 says, and lists a PCI bus. The test watches the screen: init's log, a login on
//! terminal 1 with a shell command, and a login prompt on terminal 2.

use std::sync::Arc;
use std::sync::Mutex as HostMutex;
use std::time::{Duration, Instant};

use drivers::console::{COLS, Consoles, ROWS};
use drivers::keyboard::Input;
use drivers::port::PortIo;
use drivers::serial::Uart;
use drivers::server::ConsoleServer;
use drivers::vt::Display;
use kernel_stub::Kernel;
use libeurali::params::ExecParams;
use libeurali::proto::console::VIDEO_MEMORY_SIZE;
use libeurali::{MemoryChunk, Message, Word, msgtype, new_rendezvous};

/// The stand-in VGA text buffer (what the active terminal shows).
static SCREEN: HostMutex<Vec<u16>> = HostMutex::new(Vec::new());
/// Terminal 1 as it was when the stand-in switched to terminal 2.
static TERMINAL_1: HostMutex<String> = HostMutex::new(String::new());
/// Every terminal switch and key the stand-in typed, for the failure message.
static TYPED: HostMutex<Vec<String>> = HostMutex::new(Vec::new());

struct Vga;

impl Display for Vga {
    fn put(&mut self, i: usize, cell: u16) {
        let mut s = SCREEN.lock().unwrap();
        if s.len() < ROWS * COLS {
            s.resize(ROWS * COLS, 0x0720);
        }
        s[i] = cell;
    }
    fn cursor(&mut self, _: Option<usize>) {}
}

struct NoPorts;

impl PortIo for NoPorts {
    fn inb(&mut self, _: u16) -> u8 {
        unreachable!()
    }
    fn outb(&mut self, _: u16, _: u8) {
        unreachable!()
    }
    fn inw(&mut self, _: u16) -> u16 {
        unreachable!()
    }
    fn outw(&mut self, _: u16, _: u16) {
        unreachable!()
    }
    fn inl(&mut self, _: u16) -> u32 {
        unreachable!()
    }
    fn outl(&mut self, _: u16, _: u32) {
        unreachable!()
    }
}

fn screen_text() -> String {
    let s = SCREEN.lock().unwrap();
    s.chunks(COLS)
        .map(|row| {
            let t: String = row.iter().map(|&v| (v & 0xFF) as u8 as char).collect();
            t.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `drivers` on the stub.
fn stand_in_drivers() {
    let args: Vec<String> = eurali_std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("console") => stand_in_console(),
        Some("pci") => {
            eurali_std::println!("00:03.0 10ec:8139 class 02.00");
        }
        Some("nic") => eurali_std::process::exit(1),
        _ => eurali_std::process::exit(2),
    }
}

fn stand_in_console() {
    let control = eurali_std::rt::take_stdin_handle().expect("control handle");
    match libeurali::receive(&control) {
        Ok(Message::Long(
            msgtype::VIDEO_MEMORY,
            Word::Value(VIDEO_MEMORY_SIZE),
            Word::Chunk(_),
        )) => {}
        other => panic!("the console's first message: {other:?}"),
    }
    let consoles: Consoles<Vga, NoPorts> = Consoles::new(2, Vga, None::<(Uart, NoPorts)>);
    let server = Arc::new(ConsoleServer::start(consoles).unwrap());
    libeurali::send(&control, Message::Short(msgtype::OK, 2, 0)).unwrap();
    let s = server.clone();
    libeurali::spawn_fn(move || typist(&s)).unwrap();
    server.serve_control(&control);
}

/// Types like a user: waits for `prompt` on the screen, then types `keys`.
fn typist(s: &ConsoleServer<Vga, NoPorts>) {
    let key = |i: Input| {
        TYPED.lock().unwrap().push(format!("{i:?}"));
        s.consoles.lock().unwrap().key(i);
        for w in s.wakes.iter() {
            w.notify();
        }
    };
    let wait_for = |text: &str| {
        let start = Instant::now();
        while !screen_text().contains(text) {
            if start.elapsed() > Duration::from_secs(60) {
                return false;
            }
            eurali_std::thread::sleep(Duration::from_millis(10));
        }
        true
    };
    for (prompt, keys) in [
        ("login:", "root\r"),
        ("password:", "root\r"),
        ("root:~$", "echo hello from terminal 1\r"),
    ] {
        if !wait_for(prompt) {
            return;
        }
        key(Input::Bytes(keys.as_bytes().to_vec()));
    }
    // The output, and the prompt after it (the shell is ready again).
    if wait_for("\nhello from terminal 1\nroot:~$") {
        *TERMINAL_1.lock().unwrap() = screen_text();
        key(Input::Switch(1));
    }
}

/// init, told where its programs are: the stub's, in an image as `cargo xtask image` makes
/// one.
fn metal_init() {
    let m = init::metal::detect().expect("init did not recognise the machine");
    init::metal::boot_with(m, || {
        let mut out = Vec::new();
        for (name, _) in eurali::programs() {
            if name == "init" {
                continue;
            }
            let bytes = Arc::new(Kernel::program_image(name));
            if name == "coreutils" {
                for (tool, _) in coreutils::TOOLS {
                    out.push((tool.to_string(), bytes.clone()));
                }
            }
            out.push((name.to_string(), bytes));
        }
        Ok(out)
    });
}

#[test]
fn init_boots_the_machine_on_a_stub_playing_merriwig() {
    let k = Arc::new(Kernel::new());
    for (name, entry) in eurali::programs() {
        if name != "drivers" {
            k.register_program(name, entry);
        }
    }
    let (name, entry) = eurali_std::program_entry!("drivers", stand_in_drivers);
    k.register_program(name, entry);
    let (name, entry) = eurali_std::program_entry!("init-metal", metal_init);
    k.register_program(name, entry);

    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let kernel = k.clone();
    let machine = std::thread::spawn(move || {
        kernel.run_as_process("merriwig", || {
            // Handle 0: a fresh rendezvous nobody else holds; handle 1: one the kernel keeps.
            let (null, _) = new_rendezvous().unwrap();
            let (kernel_end, h1) = new_rendezvous().unwrap();
            let params = ExecParams::new().new_namespace().finish().unwrap();
            libeurali::exec(
                &Kernel::program_image("init-metal"),
                null,
                h1,
                &params,
                true,
            )
            .unwrap();
            let video = MemoryChunk::alloc(VIDEO_MEMORY_SIZE as usize).unwrap();
            libeurali::send(
                &kernel_end,
                Message::Long(
                    msgtype::VIDEO_MEMORY,
                    Word::Value(VIDEO_MEMORY_SIZE),
                    Word::Chunk(video),
                ),
            )
            .unwrap();
            // The kernel never lets go of handle 1.
            let _ = stop_rx.recv_timeout(Duration::from_secs(120));
            drop(kernel_end);
        })
    });

    let start = Instant::now();
    let mut seen = String::new();
    // Terminal 2's login prompt is the last thing the stand-in waits for.
    while start.elapsed() < Duration::from_secs(90) {
        seen = screen_text();
        if TYPED.lock().unwrap().iter().any(|t| t.contains("Switch")) && seen.contains("login:") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let on_terminal_2 = seen.clone();
    let _ = stop_tx.send(());
    k.shutdown();
    let _ = machine.join();
    assert!(k.take_fault().is_none());
    assert!(
        TYPED.lock().unwrap().iter().any(|t| t.contains("Switch")),
        "the session on terminal 1 did not get through; typed {:?}; screen:\n{seen}",
        TYPED.lock().unwrap()
    );
    assert_eq!(
        on_terminal_2.trim(),
        "login:",
        "terminal 2:\n{on_terminal_2}"
    );
    let t1 = TERMINAL_1.lock().unwrap().clone();
    for line in [
        "init: /bin: ",
        "init: console: 2 terminals (Alt+F1..F2); terminal 1 is mirrored on COM1",
        "init: root file system ready",
        "00:03.0 10ec:8139 class 02.00",
        "init: the NIC driver ended (exit status: 1)",
        "init: login started on 2 terminals",
        "login: root",
        "Welcome to eurali.",
        "root:~$ echo hello from terminal 1\nhello from terminal 1\nroot:~$",
    ] {
        assert!(t1.contains(line), "terminal 1 lacks {line:?}:\n{t1}");
    }
    // The console driver serves as long as init holds its control handle.
    assert!(!t1.contains("console driver ended"), "{t1}");
}
