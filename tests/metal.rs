//! init's real-kernel boot (`init::metal`) on a stub that plays Merriwig: init is exec'd with an
//! empty namespace, a null handle 0 and the VIDEO_MEMORY message waiting on handle 1, as the
//! kernel starts it (ABI §4.1). The stub has no ports, so `drivers` is played by a stand-in that
//! serves the real console code (`drivers::server::ConsoleServer`: terminals, line discipline,
//! the COM1 terminal polled as on the machine) on an in-memory screen and a modelled 16550,
//! serves the real CMOS code on a modelled clock, a 1 MiB disk in memory at `/dev/disk0`, a NIC on which no DHCP server ever answers,
//! and lists a PCI bus. A typist then uses it as a person would: logs in over the serial line
//! (a headless `-serial stdio`), then switches to terminal 2 with Alt+F2 and logs in there on
//! the keyboard, as scancodes through the real decoder, editing a command line with the cursor
//! keys. Terminal 1 holds the log alone.

use std::sync::Arc;
use std::sync::Mutex as HostMutex;
use std::time::{Duration, Instant};

use drivers::console::{COLS, Consoles, ROWS};
use drivers::keyboard::Decoder;
use drivers::port::PortIo;
use drivers::serial::Uart;
use drivers::server::ConsoleServer;
use drivers::vt::Display;
use kernel_stub::Kernel;
use libeurali::params::ExecParams;
use libeurali::proto::console::{self, VIDEO_MEMORY_SIZE};
use libeurali::{MemoryChunk, new_rendezvous};

/// The stand-in VGA text buffer (what the active terminal shows).
static SCREEN: HostMutex<Vec<u16>> = HostMutex::new(Vec::new());
/// The modelled COM1: bytes the machine sent, bytes waiting to be received.
static SERIAL_TX: HostMutex<Vec<u8>> = HostMutex::new(Vec::new());
static SERIAL_RX: HostMutex<std::collections::VecDeque<u8>> =
    HostMutex::new(std::collections::VecDeque::new());

/// A 16550 at COM1: transmitter always ready, a receive queue.
struct Com1 {
    lcr: u8,
}

impl PortIo for Com1 {
    fn inb(&mut self, port: u16) -> u8 {
        match port - drivers::serial::COM1 {
            0 => SERIAL_RX.lock().unwrap().pop_front().unwrap_or(0),
            5 => 0x60 | !SERIAL_RX.lock().unwrap().is_empty() as u8,
            r => panic!("COM1 register {r} read"),
        }
    }
    fn outb(&mut self, port: u16, v: u8) {
        match port - drivers::serial::COM1 {
            0 if self.lcr & 0x80 == 0 => SERIAL_TX.lock().unwrap().push(v),
            3 => self.lcr = v,
            _ => {}
        }
    }
}

/// A CMOS clock that says 2026-12-06 21:39:58 (BCD, 24-hour, century register).
struct Cmos {
    index: u8,
}

impl PortIo for Cmos {
    fn inb(&mut self, _: u16) -> u8 {
        match self.index {
            0x00 => 0x58,
            0x02 => 0x39,
            0x04 => 0x21,
            0x07 => 0x06,
            0x08 => 0x12,
            0x09 => 0x26,
            0x32 => 0x20,
            0x0B => 0x02,
            _ => 0,
        }
    }
    fn outb(&mut self, _: u16, v: u8) {
        self.index = v;
    }
}

/// Terminal 1's text (the log), shown or not.
fn log_text(s: &ConsoleServer<Vga, Com1>) -> String {
    let c = s.consoles.lock().unwrap();
    let screen = &c.vt(0).term.screen;
    (0..screen.rows())
        .map(|r| screen.row_text(r))
        .collect::<Vec<_>>()
        .join("\n")
}

fn serial_text() -> String {
    String::from_utf8_lossy(&SERIAL_TX.lock().unwrap()).into_owned()
}

/// Set-1 make codes of the keys the typist uses (release = make | 0x80).
fn make_code(c: char) -> Option<(bool, u8)> {
    const ROWS: [(&str, u8); 4] = [
        ("1234567890-=", 0x02),
        ("qwertyuiop[]", 0x10),
        ("asdfghjkl;'", 0x1E),
        ("zxcvbnm,./", 0x2C),
    ];
    const SHIFTED: [(&str, u8); 4] = [
        ("!@#$%^&*()_+", 0x02),
        ("QWERTYUIOP{}", 0x10),
        ("ASDFGHJKL:\"", 0x1E),
        ("ZXCVBNM<>?", 0x2C),
    ];
    match c {
        ' ' => return Some((false, 0x39)),
        '\r' => return Some((false, 0x1C)),
        '\\' => return Some((false, 0x2B)),
        '|' => return Some((true, 0x2B)),
        _ => {}
    }
    for (shift, table) in [(false, ROWS), (true, SHIFTED)] {
        for (keys, first) in table {
            if let Some(i) = keys.chars().position(|k| k == c) {
                return Some((shift, first + i as u8));
            }
        }
    }
    None
}

/// The scancodes of typing `text` on a US keyboard.
fn scancodes(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in text.chars() {
        let (shift, code) = make_code(c).unwrap_or_else(|| panic!("no key for {c:?}"));
        if shift {
            out.push(0x2A);
        }
        out.extend([code, code | 0x80]);
        if shift {
            out.push(0xAA);
        }
    }
    out
}

/// Left arrow (extended).
const LEFT: [u8; 4] = [0xE0, 0x4B, 0xE0, 0xCB];
/// Alt+F2.
const ALT_F2: [u8; 4] = [0x38, 0x3C, 0xBC, 0xB8];

/// Terminal 1 (the log) as it was when the typist switched to terminal 2.
static TERMINAL_1: HostMutex<String> = HostMutex::new(String::new());
/// Every terminal switch and key the stand-in typed, for the failure message.
static TYPED: HostMutex<Vec<String>> = HostMutex::new(Vec::new());
/// Terminal 2 as it was after root's `echo Hello` there.
static TERMINAL_2: HostMutex<String> = HostMutex::new(String::new());
/// The kernel, for the typist's look at its heap.
static KERNEL: std::sync::OnceLock<Arc<Kernel>> = std::sync::OnceLock::new();
/// The kernel's heap before the fork bomb: the boot and two sessions.
static HEAP_BEFORE_BOMB: HostMutex<Option<kernel_stub::kheap::HeapStats>> = HostMutex::new(None);
/// Set when the typist is done.
static TYPIST_DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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
        Some("nic") => {
            // The real `drivers nic` lists the PCI bus in the log first (init starts no
            // `drivers pci`: a process that ends gives its frames back, docs/design.md).
            eurali_std::println!("pci: 00:03.0 10ec:8139 class 02.00");
            silent_nic()
        }
        Some("ata") => {
            // A data disk at index 1, as QEMU's `-drive ...,if=ide,index=1` gives: the real
            // driver's protocol loop over a disk in memory (the ATA code itself is tested
            // against a model of the task file, programs/drivers/src/ata/tests.rs).
            eurali_std::println!("drivers ata: serving primary slave (index 1) as /dev/disk0");
            let h = eurali_std::rt::take_stdin_handle().expect("a handle to serve on");
            let mut disk = libeurali::proto::block::MemDisk::new(2048);
            libeurali::proto::block::serve(&h, &mut disk);
        }
        Some("rtc") => {
            let h = eurali_std::rt::take_stdin_handle().expect("a handle to serve on");
            libeurali::proto::rtc::serve(&h, || drivers::rtc::now(&mut Cmos { index: 0 }));
        }
        _ => eurali_std::process::exit(2),
    }
}

/// A NIC that sends what it is given and never receives anything (no DHCP server answers).
struct SilentNic;

impl libeurali::proto::nic::NicDevice for SilentNic {
    fn mac(&self) -> [u8; 6] {
        [0x52, 0x54, 0, 0x12, 0x34, 0x56]
    }
    fn send(&mut self, _: &[u8]) -> Result<(), libeurali::Error> {
        Ok(())
    }
    fn recv(&mut self, _: Option<u64>) -> Result<Option<&[u8]>, libeurali::Error> {
        eurali_std::thread::sleep(Duration::from_millis(5));
        Ok(None)
    }
    fn try_recv(&mut self) -> Result<Option<&[u8]>, libeurali::Error> {
        Ok(None)
    }
}

fn silent_nic() {
    let h = eurali_std::rt::take_stdin_handle().expect("a handle to serve on");
    libeurali::proto::nic::serve(&h, &mut SilentNic);
}

fn stand_in_console() {
    let control = eurali_std::rt::take_stdin_handle().expect("control handle");
    match libeurali::receive(&control).map(console::parse_request) {
        Ok(console::Request::VideoMemory(_)) => {}
        other => panic!("the console's first message: {other:?}"),
    }
    let mut com1 = Com1 { lcr: 0 };
    let uart = Uart::init(&mut com1, drivers::serial::COM1);
    // Two terminals on the screen and COM1, as the driver replies.
    let consoles: Consoles<Vga, Com1> = Consoles::new(2, Vga, Some((uart, com1)));
    let server = Arc::new(ConsoleServer::start(consoles).unwrap());
    libeurali::send(&control, console::ready_reply(2, 1)).unwrap();
    let s = server.clone();
    libeurali::spawn_fn(move || {
        loop {
            if !s.poll_serial() {
                // As the driver does (a yield is also where the stub ends the thread at
                // shutdown), plus a pause: the stub's yield returns at once.
                libeurali::yield_now();
                eurali_std::thread::sleep(Duration::from_millis(2));
            }
        }
    })
    .unwrap();
    let s = server.clone();
    libeurali::spawn_fn(move || typist(&s)).unwrap();
    server.serve_control(&control);
}

/// Waits (up to a minute) until `text()` contains `want`.
fn wait_until(text: impl Fn() -> String, want: &str) -> bool {
    let start = Instant::now();
    while !text().contains(want) {
        if start.elapsed() > Duration::from_secs(60) {
            return false;
        }
        eurali_std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Uses the machine: terminal 1 over the serial line, terminal 2 on the keyboard.
fn typist(s: &ConsoleServer<Vga, Com1>) {
    let mut decoder = Decoder::new();
    let mut press = |codes: &[u8]| {
        for &b in codes {
            if let Some(i) = decoder.feed(b) {
                TYPED.lock().unwrap().push(format!("{i:?}"));
                s.consoles.lock().unwrap().key(i);
                for w in s.wakes.iter() {
                    w.notify();
                }
            }
        }
    };
    let log = || log_text(s);
    // The log is up to the logins before the typing starts (the serial side has it until the
    // serial login's prompt).
    if !wait_until(log, "init: login started on") {
        return;
    }
    for (prompt, line) in [
        ("login:", "root\r"),
        ("password:", "root\r"),
        ("root:~$", "echo hello from serial\r"),
    ] {
        if !wait_until(serial_text, prompt) {
            return;
        }
        SERIAL_RX.lock().unwrap().extend(line.bytes());
    }
    // The output, then the shell's next prompt (after the line editor's fresh-line mark, in
    // case the output had not ended its line).
    let after_hello = || {
        let t = serial_text();
        t.split_once("\r\nhello from serial\r\n")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    };
    if !wait_until(after_hello, "root:~$") {
        return;
    }
    // The process table: init is pid 1, under its name although the kernel gave it no args.
    SERIAL_RX.lock().unwrap().extend(b"ps\r");
    let after_ps = || {
        let t = serial_text();
        t.split_once("root:~$ ps\r\r\n")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    };
    if !wait_until(after_ps, "root:~$") {
        return;
    }
    // The wall clock, from the CMOS clock through `drivers rtc` at /dev/rtc.
    SERIAL_RX.lock().unwrap().extend(b"date\r");
    if !wait_until(serial_text, "date\r\r\nSun Dec  6 21:39:58 UTC 2026\r\n") {
        return;
    }
    *TERMINAL_1.lock().unwrap() = log_text(s);
    press(&ALT_F2);
    for (prompt, line) in [("login:", "root\r"), ("password:", "root\r")] {
        if !wait_until(screen_text, prompt) {
            return;
        }
        press(&scancodes(line));
    }
    if !wait_until(screen_text, "root:~$") {
        return;
    }
    // "echo Helo", Left, Left, "l", Enter: the line editor gets the cursor keys' sequences.
    let mut keys = scancodes("echo Helo");
    keys.extend(LEFT);
    keys.extend(LEFT);
    keys.extend(scancodes("l\r"));
    press(&keys);
    if !wait_until(screen_text, "\nHello\n") {
        return;
    }
    *TERMINAL_2.lock().unwrap() = screen_text();
    *HEAP_BEFORE_BOMB.lock().unwrap() = KERNEL.get().map(|k| k.kernel_heap());
    fork_bomb(&mut press);
    TYPIST_DONE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The text after the last `mark` of `text()`.
fn after_last(text: impl Fn() -> String, mark: &str) -> impl Fn() -> String {
    let mark = mark.to_string();
    move || {
        let t = text();
        t.rsplit_once(&mark)
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    }
}

/// `user` logs in over the serial line and starts a fork bomb; root logs out of terminal 2
/// and in again while it runs (exec finds room in the kernel's heap for the shell: the user's
/// processes are limited to `vfs::procfs::METAL_USER_PROCS`), lists the processes and stops
/// the bomb; the user reads what it said.
fn fork_bomb(press: &mut impl FnMut(&[u8])) {
    let serial = |line: &str| SERIAL_RX.lock().unwrap().extend(line.bytes());
    serial("exit\r");
    for (prompt, line) in [
        ("login: ", "user\r"),
        ("password: ", "user\r"),
        (
            "user:~$ ",
            "echo 'while [ ! -e /home/user/stop ]; do sh b.sh & sh b.sh & wait; sleep 1; done' > b.sh\r",
        ),
        ("user:~$ ", "sh b.sh 2> bomb.err &\r"),
    ] {
        if !wait_until(after_last(serial_text, "\r\n"), prompt) {
            return;
        }
        serial(line);
    }
    // The bomb reaches the limit.
    eurali_std::thread::sleep(Duration::from_secs(3));
    press(&scancodes("exit\r"));
    for (prompt, line) in [("login:", "root\r"), ("password:", "root\r")] {
        if !wait_until(after_last(screen_text, "root:~$ exit"), prompt) {
            return;
        }
        press(&scancodes(line));
    }
    if !wait_until(after_last(screen_text, "Welcome"), "root:~$") {
        return;
    }
    press(&scancodes("ps | grep -c 'sh b.sh'; echo root is in\r"));
    if !wait_until(screen_text, "\nroot is in\n") {
        return;
    }
    press(&scancodes("touch /home/user/stop\r"));
    serial("wait; sort bomb.err | uniq -c; echo bomb over\r");
    wait_until(serial_text, "\r\nbomb over\r\n");
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
            let bytes = Arc::new(init::binfs::Program::from(Kernel::program_image(name)));
            if name == "coreutils" {
                for (tool, _) in tools::TOOLS {
                    out.push((tool.to_string(), bytes.clone()));
                }
            }
            out.push((name.to_string(), bytes));
        }
        Ok(out)
    });
}

/// The least room (largest free piece of the kernel's heap less the file exec copies) any exec
/// of the boot and sessions may see in the stub's model: what a few more threads or a bigger
/// program would take before exec fails on the real kernel.
const MIN_HEAP_ROOM: i64 = 128 * 1024;

#[test]
fn init_boots_the_machine_on_a_stub_playing_merriwig() {
    let k = Arc::new(Kernel::new());
    k.enforce_kernel_heap();
    assert!(KERNEL.set(k.clone()).is_ok());
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
            libeurali::send(&kernel_end, console::video_memory_message(video)).unwrap();
            // The kernel never lets go of handle 1.
            let _ = stop_rx.recv_timeout(Duration::from_secs(200));
            drop(kernel_end);
        })
    });

    let start = Instant::now();
    let mut seen = String::new();
    // The keyboard session's output is the last thing to wait for.
    while start.elapsed() < Duration::from_secs(150) {
        seen = screen_text();
        if TYPIST_DONE.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = stop_tx.send(());
    machine.join().expect("the kernel's stand-in process");
    // The kernel's heap (kernel-stub's model, crate::kheap): every exec of the boot and the two
    // sessions found a free piece for its file with room to spare, and every thread its stack.
    let heap = k.kernel_heap();
    eprintln!("kernel heap: {heap:?}");
    k.shutdown();
    assert!(k.take_fault().is_none());
    // Through the fork bomb too: no exec refused (root's login found room for the shell) and
    // no kernel stack without room (the real kernel panics).
    assert_eq!((heap.exec_refused, heap.stack_failures), (0, 0), "{heap:?}");
    let before = HEAP_BEFORE_BOMB.lock().unwrap().unwrap_or_else(|| {
        panic!(
            "the typist did not get to the bomb; screen:\n{seen}\nCOM1:\n{}",
            serial_text()
        )
    });
    eprintln!("kernel heap before the bomb: {before:?}");
    assert!(before.execs >= 8, "{before:?}");
    assert!(before.least_room >= MIN_HEAP_ROOM, "{before:?}");
    // And in one piece: no long-lived stack split it (exec's heap fence puts each new stack
    // below the copy; without it the free space ended in halves of 272 and 250 KiB).
    assert!(before.largest_free + 32 * 1024 >= before.free, "{before:?}");
    let serial = serial_text();
    let t1 = TERMINAL_1.lock().unwrap().clone();
    // Terminal 1 holds the log alone: no login there.
    for line in [
        "init: /bin: ",
        "init: console: the log on Alt+F1; logins on Alt+F2 and COM1\n",
        "init: /dev/rtc: 2026-12-06 21:39:58 UTC\n",
        "init: root file system ready\n",
        "drivers ata: serving primary slave (index 1) as /dev/disk0\n",
        "init: /dev/disk0: 2048 sectors (1 MiB)\n",
        "pci: 00:03.0 10ec:8139 class 02.00\n",
        "init: /dev/nic: MAC 52:54:00:12:34:56\n",
        "init: login started on 2 terminals\n",
    ] {
        assert!(t1.contains(line), "terminal 1 lacks {line:?}:\n{t1}");
    }
    assert!(
        !t1.contains("login:"),
        "a login on the log's terminal:\n{t1}"
    );
    // tcp ran (DHCP, no server answering) and did not call the lease it never had lost.
    assert!(!t1.contains("DHCP lease lost"), "{t1}");
    // COM1: the boot log up to the serial login's prompt, then the session alone.
    let (boot, session) = serial
        .split_once("login: ")
        .unwrap_or_else(|| panic!("no login on COM1:\n{serial}"));
    for line in [
        "init: /bin: ",
        "init: /dev/rtc: 2026-12-06 21:39:58 UTC\r\n",
        "init: root file system ready\r\n",
        "init: /dev/nic: MAC 52:54:00:12:34:56\r\n",
    ] {
        assert!(
            boot.contains(line),
            "COM1's boot log lacks {line:?}:\n{boot}"
        );
    }
    assert!(
        !session.contains("init:") && !session.contains("tcp:"),
        "the log in the serial session:\n{session}"
    );
    assert!(
        session.starts_with("root\r\npassword: \r\nWelcome to eurali.\r\n"),
        "COM1:\n{session}"
    );
    assert!(
        session.contains("\r\nhello from serial\r\n"),
        "COM1:\n{session}"
    );
    // `ps`: init is pid 1 and shows its name; tcp runs.
    let ps = serial.split("root:~$ ps\r\r\n").nth(1).unwrap_or_default();
    let init = ps.lines().find(|l| l.trim_start().starts_with("1 "));
    assert!(
        init.is_some_and(|l| l.trim_end().ends_with(" init")),
        "ps shows pid 1 as {init:?}:\n{ps}\nCOM1: {serial:?}"
    );
    assert!(ps.contains(" /bin/tcp"), "{ps}");
    assert!(
        serial.contains("date\r\r\nSun Dec  6 21:39:58 UTC 2026\r\n"),
        "date on COM1:\n{serial}"
    );
    // The console driver serves as long as init holds its control handle.
    assert!(!t1.contains("console driver ended"), "{t1}");
    // Terminal 2, on the keyboard: its own login and shell; nothing of it on COM1.
    let t2 = TERMINAL_2.lock().unwrap().clone();
    assert!(!seen.contains("init:"), "terminal 2 shows the log:\n{seen}");
    let seen = t2;
    assert!(
        seen.contains("login: root\npassword:\nWelcome to eurali.\n"),
        "terminal 2:\n{seen}\ntyped: {:?}",
        TYPED.lock().unwrap()
    );
    assert!(
        seen.contains("root:~$ echo Hello\nHello\n"),
        "terminal 2:\n{seen}"
    );
    assert!(!seen.contains("init:"), "terminal 2 shows the log:\n{seen}");
    assert!(
        !serial.contains("Hello"),
        "terminal 2 leaked to COM1:\n{serial}"
    );
    assert!(TYPED.lock().unwrap().contains(&"Switch(1)".to_string()));
    // The fork bomb: root logged in again on terminal 2 while it ran and listed it; the bomb
    // stopped at the user's limit, said so in whole lines, and never as lack of memory.
    let now = screen_text();
    let root_again = now
        .rsplit_once("root:~$ ps | grep -c 'sh b.sh'; echo root is in\n")
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| panic!("root's second login on terminal 2:\n{now}\nCOM1:\n{serial}"));
    assert!(root_again.contains("\nroot is in\n"), "{now}");
    let bomb = serial
        .rsplit_once("echo bomb over\r")
        .and_then(|(_, r)| r.split_once("bomb over\r\n"))
        .map(|(out, _)| out.to_string())
        .unwrap_or_else(|| panic!("the bomb's end on COM1:\n{serial}"));
    let lines: Vec<&str> = bomb
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(!lines.is_empty(), "the bomb said nothing:\n{serial}");
    let want = format!(
        "b.sh: sh: resource temporarily unavailable: {} processes, {} of all users",
        vfs::procfs::METAL_USER_PROCS,
        vfs::procfs::METAL_USERS_PROCS
    );
    for l in &lines {
        let (n, text) = l.split_once(' ').unwrap_or(("", l));
        assert!(
            n.parse::<u32>().is_ok() && text == want,
            "{l:?} of the bomb:\n{bomb}"
        );
    }
}
