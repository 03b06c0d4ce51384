//! `drivers`: eurali's ring-3 device drivers for the real Merriwig kernel, one multi-call
//! program (the drivers share most of their code, so one ELF is smaller than several).
//!
//! ```text
//! drivers ata       the first ATA disk that is not the boot disk, serving
//!                   libeurali::proto::block on stdin (mount it at /dev/disk0)
//! drivers console   the console: VGA text terminals, PS/2 keyboard, COM1 (control protocol:
//!                   libeurali::proto::console, on stdin)
//! drivers nic       the rtl8139 NIC, serving libeurali::proto::nic on stdin (mount it at /dev/nic)
//! drivers pci       lists the PCI functions
//! drivers rtc       the CMOS clock, serving libeurali::proto::rtc on stdin (mount it at /dev/rtc)
//! ```
//!
//! Each needs I/O privilege (init starts them with it). Each driver's logic reaches its device
//! only through [`port::PortIo`] (and, for DMA, [`rtl8139::Dma`]), so it is unit-tested on the
//! host against a model of the device; [`server`] wires the logic to rendezvous, generically, so
//! the protocols are tested on the stub against the same models.

extern crate alloc;

pub mod ata;
pub mod console;
pub mod keyboard;
pub mod pci;
pub mod port;
pub mod rtc;
pub mod rtl8139;
pub mod serial;
pub mod server;
/// The line discipline, shared with the stub's console.
pub use libeurali::tty;
pub mod vt;

use libeurali::proto::console as console_proto;
use libeurali::{Error, Handle, MemoryChunk};

use port::Hw;

/// Virtual terminals on the screen (Alt+F1..F3): the log on F1, logins on the others (and on
/// COM1). Each login costs threads on the real kernel, and the kernel's 1 MiB heap holds every
/// thread's kernel stack (ABI §4.8).
pub const TERMINALS: usize = 3;

const USAGE: &str =
    "usage: drivers ata|console|nic|pci|rtc   (started by init, with I/O privilege)";

/// `drivers --help`.
const HELP: &str = "Usage: drivers ata|console|nic|pci|rtc\n\
The real kernel's ring-3 drivers (init starts them with I/O privilege).\n\
  --help  show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("ata") => ata(),
        Some("console") => console(),
        Some("nic") => nic(),
        Some("pci") => pci(),
        Some("rtc") => rtc(),
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

fn hardware(what: &str) -> Option<Hw> {
    let hw = Hw::new();
    if hw.is_none() {
        eprintln!("drivers {what}: no port I/O here (only on the real kernel, started by init)");
    }
    hw
}

/// The VGA text buffer in the VIDEO_MEMORY chunk, and the CRT controller for the cursor.
pub struct Vga {
    chunk: MemoryChunk,
    io: Hw,
}

impl vt::Display for Vga {
    fn put(&mut self, i: usize, cell: u16) {
        if i < console::ROWS * console::COLS {
            let at = self.chunk.base() as usize + vt::VGA_TEXT_OFFSET + 2 * i;
            // Safety: the chunk maps the 128 KiB VGA window (checked when it arrived), and the
            // text buffer's 4000 bytes lie inside it; device memory is written volatile.
            unsafe { (at as *mut u16).write_volatile(cell) };
        }
    }
    fn cursor(&mut self, at: Option<usize>) {
        vt::crtc_cursor(&mut self.io, at);
    }
}

fn console() -> i32 {
    let (Some(kbd), Some(mut com), Some(crtc)) = (
        hardware("console"),
        hardware("console"),
        hardware("console"),
    ) else {
        return 1;
    };
    let Some(control) = std::rt::take_stdin_handle() else {
        eprintln!("drivers console: no control handle on stdin");
        return 1;
    };
    // First the video memory (libeurali::proto::console).
    let chunk = match libeurali::receive(&control).map(console_proto::parse_request) {
        Ok(console_proto::Request::VideoMemory(c)) => c,
        Ok(_) => {
            let _ = libeurali::send(
                &control,
                libeurali::proto::stream::error_reply(Error::Param),
            );
            eprintln!("drivers console: the first message was not VIDEO_MEMORY");
            return 1;
        }
        Err(e) => {
            eprintln!("drivers console: control handle: {e}");
            return 1;
        }
    };
    // COM1, if there is one, is a terminal of its own (a headless login).
    let serial = serial::Uart::present(&mut com, serial::COM1).then(|| {
        let uart = serial::Uart::init(&mut com, serial::COM1);
        (uart, com)
    });
    let consoles = console::Consoles::new(TERMINALS, Vga { chunk, io: crtc }, serial);
    let (vga, serials) = (consoles.vga(), consoles.count() - consoles.vga());
    let server = match server::ConsoleServer::start(consoles) {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => {
            let _ = libeurali::send(&control, libeurali::proto::stream::error_reply(e));
            eprintln!("drivers console: cannot start: {e}");
            return 1;
        }
    };
    let k = server.clone();
    if let Err(e) = std::thread::Builder::new()
        .name("keyboard".into())
        .spawn(move || k.keyboard_loop(kbd))
    {
        eprintln!("drivers console: no keyboard thread: {e}");
    }
    let s = server.clone();
    if let Err(e) = std::thread::Builder::new()
        .name("serial".into())
        .spawn(move || {
            loop {
                s.poll_serial();
                // Only IRQ 1 can be awaited: COM1 is polled between other threads' work (a
                // yield with nothing else to run costs one timer tick, ~55 ms).
                libeurali::yield_now();
            }
        })
    {
        eprintln!("drivers console: no serial thread: {e}");
    }
    let _ = libeurali::send(&control, console_proto::ready_reply(vga, serials));
    server.serve_control(&control);
    0
}

/// DMA memory from the kernel: `malloc` with a 4 GiB physical bound (contiguous, eagerly
/// mapped, so reading it first is safe).
pub struct KernelDma;

pub struct KernelBuf {
    chunk: MemoryChunk,
    phys: u32,
}

impl rtl8139::DmaBuf for KernelBuf {
    fn phys(&self) -> u32 {
        self.phys
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        // The driver stays inside what it allocated; a bad offset reads nothing rather than
        // outside the chunk.
        if offset + out.len() > self.chunk.len() {
            out.fill(0);
            return;
        }
        let base = self.chunk.base() as usize + offset;
        for (i, b) in out.iter_mut().enumerate() {
            // Safety: inside the chunk (the driver's offsets stay within what it allocated);
            // the NIC writes this memory behind the compiler's back, hence volatile.
            *b = unsafe { ((base + i) as *const u8).read_volatile() };
        }
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        if let Some(dest) = self
            .chunk
            .as_mut_slice()
            .get_mut(offset..offset + data.len())
        {
            dest.copy_from_slice(data);
        }
    }
}

impl rtl8139::Dma for KernelDma {
    type Buf = KernelBuf;
    fn alloc(&mut self, len: usize) -> Option<KernelBuf> {
        let (chunk, phys) = MemoryChunk::alloc_contiguous(len, 0xFFFF_FFFF).ok()?;
        let phys = u32::try_from(phys).ok()?;
        Some(KernelBuf { chunk, phys })
    }
}

fn nic() -> i32 {
    let Some(mut io) = hardware("nic") else {
        return 1;
    };
    let Some(h) = std::rt::take_stdin_handle() else {
        eprintln!("drivers nic: no handle on stdin to serve on");
        return 1;
    };
    // The bus, for the log (what `drivers pci` prints; init starts no process that ends).
    for d in pci::scan(&mut io) {
        println!("pci: {}", pci::describe(&d));
    }
    let Some(dev) = pci::find(&mut io, rtl8139::VENDOR, rtl8139::DEVICE) else {
        eprintln!("drivers nic: no rtl8139 on the PCI bus");
        return 1;
    };
    let pci::Bar::Io(base) = pci::bar(&mut io, dev.at, 0) else {
        eprintln!(
            "drivers nic: rtl8139 at {}: BAR 0 is not an I/O port",
            dev.at
        );
        return 1;
    };
    pci::enable(&mut io, dev.at, pci::COMMAND_IO | pci::COMMAND_BUS_MASTER);
    let mut nic = match rtl8139::Rtl8139::init(&mut io, base, &mut KernelDma) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("drivers nic: rtl8139 at {}: {e:?}", dev.at);
            return 1;
        }
    };
    println!(
        "drivers nic: rtl8139 at {} (I/O {base:#x}), MAC {}",
        dev.at,
        rtl8139::format_mac(&nic.mac())
    );
    let h: Handle = h;
    server::serve_nic(&h, &mut io, &mut nic);
    0
}

/// `drivers ata`: probes the three positions that are not the boot disk's, logs what it finds,
/// and serves the first ATA disk. With none, it answers every request `ERROR 7` (NOTFOUND) and
/// never ends: a process that ends gives its frames back to the kernel, which Merriwig's frame
/// allocator mishandles (ABI §9.23), and most boots have no data disk.
fn ata() -> i32 {
    let Some(mut io) = hardware("ata") else {
        return 1;
    };
    let Some(h) = std::rt::take_stdin_handle() else {
        eprintln!("drivers ata: no handle on stdin to serve on");
        return 1;
    };
    let mut waiter = ata::KernelWaiter::new();
    let mut first = None;
    for (pos, found) in ata::probe(&mut io, &mut waiter) {
        match found {
            Ok(d) => {
                println!(
                    "drivers ata: {pos}: {:?}, {} sectors ({} MiB){}",
                    d.model,
                    d.sectors,
                    d.sectors / 2048,
                    if d.lba48 { ", LBA48" } else { "" }
                );
                if first.is_none() {
                    first = Some(d);
                }
            }
            Err(ata::AtaError::NoDevice) => {}
            Err(e) => println!("drivers ata: {pos}: {e}"),
        }
    }
    let Some(drive) = first else {
        println!("drivers ata: no disk besides the boot disk");
        loop {
            match libeurali::receive(&h) {
                Ok(libeurali::Message::Long(_, libeurali::Word::Handle(_), _)) => {}
                Ok(_) => {
                    let _ = libeurali::send(&h, libeurali::proto::error_reply(Error::NotFound));
                }
                Err(_) => return 1,
            }
        }
    };
    println!("drivers ata: serving {} as /dev/disk0", drive.pos);
    let mut disk = ata::AtaDisk {
        io: &mut io,
        waiter,
        drive,
    };
    libeurali::proto::block::serve(&h, &mut disk);
    0
}

fn pci() -> i32 {
    let Some(mut io) = hardware("pci") else {
        return 1;
    };
    for d in pci::scan(&mut io) {
        println!("{}", pci::describe(&d));
    }
    0
}

fn rtc() -> i32 {
    let Some(mut io) = hardware("rtc") else {
        return 1;
    };
    let Some(h) = std::rt::take_stdin_handle() else {
        eprintln!("drivers rtc: no handle on stdin to serve on");
        return 1;
    };
    libeurali::proto::rtc::serve(&h, || rtc::now(&mut io));
    0
}
