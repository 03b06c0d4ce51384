//! The 16550 UART on COM1 (0x3F8), polled: only IRQ 1 reaches user space (ABI §4.10), so input
//! is read by polling the line status register.

use crate::port::PortIo;

/// COM1's base port.
pub const COM1: u16 = 0x3F8;

/// Register offsets from the base.
mod reg {
    pub const DATA: u16 = 0; // THR (write) / RBR (read); divisor low with DLAB
    pub const IER: u16 = 1; // interrupt enable; divisor high with DLAB
    pub const FCR: u16 = 2; // FIFO control
    pub const LCR: u16 = 3; // line control
    pub const MCR: u16 = 4; // modem control
    pub const LSR: u16 = 5; // line status
}

/// LSR bits.
const DATA_READY: u8 = 0x01;
const THR_EMPTY: u8 = 0x20;
/// LCR: divisor latch access.
const DLAB: u8 = 0x80;

/// How many status polls a byte may wait for room while output flows (a byte leaves in about
/// 87 µs at 115200 baud; a poll of a real UART's port takes about 1 µs).
const SEND_SPINS: usize = 10_000;
/// How long a byte that found no room within [`SEND_SPINS`] still waits for it, yielding the
/// processor between looks, before the line counts as stalled: a terminal program (QEMU's
/// chardev, a slow reader on a socket) drains in bursts, and bytes dropped then were seen to cut
/// lines of the shell's output in half on a busy host.
const STALL_WAIT_US: u128 = 200_000;
/// How many polls a byte gets while the line is stalled: one look, so that a UART that never
/// drains (nothing attached with flow control, a broken chip) costs the console next to nothing.
const STALLED_SPINS: usize = 1;

/// A 16550-compatible UART at `base`.
pub struct Uart {
    base: u16,
    /// A byte found no room within [`SEND_SPINS`]: later bytes get [`STALLED_SPINS`] each until
    /// one goes out.
    stalled: bool,
    /// Bytes dropped since the line stalled.
    dropped: u64,
    /// Bytes dropped in a stall that has ended, not yet reported ([`Uart::take_recovered`]).
    recovered: Option<u64>,
}

impl Uart {
    /// Programs the UART: 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on,
    /// interrupts off (nobody could await them).
    pub fn init(io: &mut impl PortIo, base: u16) -> Uart {
        io.outb(base + reg::IER, 0x00);
        io.outb(base + reg::LCR, DLAB);
        io.outb(base + reg::DATA, 0x01); // divisor 1 = 115200 baud
        io.outb(base + reg::IER, 0x00);
        io.outb(base + reg::LCR, 0x03); // 8N1, DLAB off
        io.outb(base + reg::FCR, 0xC7); // enable and clear FIFOs, 14-byte threshold
        io.outb(base + reg::MCR, 0x03); // DTR, RTS (OUT2 off: no interrupts)
        Uart {
            base,
            stalled: false,
            dropped: 0,
            recovered: None,
        }
    }

    /// Whether a UART answers at `base` (nothing there reads 0xFF).
    pub fn present(io: &mut impl PortIo, base: u16) -> bool {
        io.inb(base + reg::LSR) != 0xFF
    }

    /// Sends one byte, waiting (bounded) for room in the transmitter. Returns false if there
    /// was none: the byte is dropped and counted, and until a byte goes out again each byte
    /// gets a single look ([`STALLED_SPINS`]), so a stalled line never holds the console up.
    pub fn send(&mut self, io: &mut impl PortIo, byte: u8) -> bool {
        let spins = if self.stalled {
            STALLED_SPINS
        } else {
            SEND_SPINS
        };
        let ready = (0..spins).any(|_| io.inb(self.base + reg::LSR) & THR_EMPTY != 0)
            || (!self.stalled && self.wait_for_room(io));
        if ready {
            io.outb(self.base + reg::DATA, byte);
            if self.stalled {
                self.stalled = false;
                let n = core::mem::take(&mut self.dropped);
                *self.recovered.get_or_insert(0) += n;
            }
            return true;
        }
        self.stalled = true;
        self.dropped += 1;
        false
    }

    /// Waits up to [`STALL_WAIT_US`] for room, yielding between looks; whether it came.
    fn wait_for_room(&self, io: &mut impl PortIo) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed().as_micros() < STALL_WAIT_US {
            std::thread::yield_now();
            if io.inb(self.base + reg::LSR) & THR_EMPTY != 0 {
                return true;
            }
        }
        false
    }

    /// Whether output is stalled now (the last byte found no room).
    pub fn stalled(&self) -> bool {
        self.stalled
    }

    /// The number of bytes a stall dropped, once output flows again (once per stall; stalls
    /// that ended since the last call are added up).
    pub fn take_recovered(&mut self) -> Option<u64> {
        self.recovered.take()
    }

    /// Sends `bytes`, with `\n` sent as CR LF (a serial terminal needs both).
    pub fn write(&mut self, io: &mut impl PortIo, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.send(io, b'\r');
            }
            self.send(io, b);
        }
    }

    /// A received byte, if one is waiting.
    pub fn try_receive(&mut self, io: &mut impl PortIo) -> Option<u8> {
        let lsr = io.inb(self.base + reg::LSR);
        // 0xFF: nothing answers at this port (no UART).
        (lsr != 0xFF && lsr & DATA_READY != 0).then(|| io.inb(self.base + reg::DATA))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A register-level 16550: the divisor latch, line control, a transmit log and a receive
    /// queue; `busy` polls of LSR report a full transmitter before each byte is taken.
    #[derive(Default)]
    struct Model {
        lcr: u8,
        divisor: u16,
        ier: u8,
        fcr: u8,
        mcr: u8,
        sent: Vec<u8>,
        rx: VecDeque<u8>,
        busy: usize,
        busy_left: usize,
        absent: bool,
        lsr_reads: usize,
    }

    impl PortIo for Model {
        fn inb(&mut self, port: u16) -> u8 {
            if self.absent {
                return 0xFF;
            }
            match port - COM1 {
                reg::LSR => {
                    self.lsr_reads += 1;
                    let thre = if self.busy_left > 0 {
                        self.busy_left -= 1;
                        0
                    } else {
                        THR_EMPTY
                    };
                    thre | if self.rx.is_empty() { 0 } else { DATA_READY }
                }
                reg::DATA => self.rx.pop_front().unwrap_or(0),
                reg::LCR => self.lcr,
                other => panic!("read of register {other}"),
            }
        }
        fn outb(&mut self, port: u16, v: u8) {
            let dlab = self.lcr & DLAB != 0;
            match (port - COM1, dlab) {
                (reg::DATA, true) => self.divisor = self.divisor & 0xFF00 | v as u16,
                (reg::IER, true) => self.divisor = self.divisor & 0xFF | (v as u16) << 8,
                (reg::DATA, false) => {
                    assert_eq!(
                        self.busy_left, 0,
                        "byte written while the transmitter was full"
                    );
                    self.sent.push(v);
                    self.busy_left = self.busy;
                }
                (reg::IER, false) => self.ier = v,
                (reg::FCR, _) => self.fcr = v,
                (reg::LCR, _) => self.lcr = v,
                (reg::MCR, _) => self.mcr = v,
                (other, _) => panic!("write of register {other}"),
            }
        }
    }

    #[test]
    fn init_programs_115200_8n1_without_interrupts() {
        let mut m = Model::default();
        Uart::init(&mut m, COM1);
        assert_eq!(m.divisor, 1);
        assert_eq!(m.lcr, 0x03);
        assert_eq!(m.ier, 0);
        assert_eq!(m.fcr & 1, 1);
        assert_eq!(
            m.mcr & 0x08,
            0,
            "OUT2 would route the UART's IRQ to the PIC"
        );
    }

    #[test]
    fn output_waits_for_the_transmitter_and_adds_cr() {
        let mut m = Model {
            busy: 3,
            ..Model::default()
        };
        let mut u = Uart::init(&mut m, COM1);
        u.write(&mut m, b"ok\n");
        assert_eq!(m.sent, b"ok\r\n");
    }

    #[test]
    fn input_is_polled() {
        let mut m = Model::default();
        let mut u = Uart::init(&mut m, COM1);
        assert_eq!(u.try_receive(&mut m), None);
        m.rx.extend(b"hi");
        assert_eq!(u.try_receive(&mut m), Some(b'h'));
        assert_eq!(u.try_receive(&mut m), Some(b'i'));
        assert_eq!(u.try_receive(&mut m), None);
    }

    #[test]
    fn a_missing_uart_neither_hangs_nor_invents_input() {
        let mut m = Model {
            absent: true,
            ..Model::default()
        };
        assert!(!Uart::present(&mut m, COM1));
        let mut u = Uart::init(&mut m, COM1);
        assert_eq!(u.try_receive(&mut m), None);
        // 0xFF has THRE set: bytes go nowhere, quickly.
        assert!(u.send(&mut m, b'x'));
    }

    #[test]
    fn a_stall_drops_bytes_cheaply_and_output_resumes() {
        let mut m = Model::default();
        let mut u = Uart::init(&mut m, COM1);
        u.write(&mut m, b"a");
        // The transmitter jams: the first byte waits its bound, later ones one look each.
        m.busy_left = usize::MAX;
        let before = m.lsr_reads;
        assert!(!u.send(&mut m, b'x'));
        assert!(
            m.lsr_reads - before > SEND_SPINS,
            "the first byte spins, then waits a while, yielding"
        );
        assert!(u.stalled());
        let before = m.lsr_reads;
        u.write(&mut m, b"yz\n");
        assert_eq!(m.lsr_reads - before, 4, "one look per byte while stalled");
        assert_eq!(u.take_recovered(), None, "nothing to report while stalled");
        // It drains again: the next byte goes out, and the stall's count is there once.
        m.busy_left = 0;
        u.write(&mut m, b"ok");
        assert_eq!(m.sent, b"aok");
        assert!(!u.stalled());
        assert_eq!(u.take_recovered(), Some(5));
        assert_eq!(u.take_recovered(), None);
        // A second stall is counted afresh.
        m.busy_left = usize::MAX;
        u.write(&mut m, b"12");
        m.busy_left = 0;
        u.write(&mut m, b"3");
        assert_eq!(u.take_recovered(), Some(2));
        assert_eq!(m.sent, b"aok3");
    }
}
