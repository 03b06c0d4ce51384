//! A register-level RTL8139 for host tests: the registers the driver touches, a physical
//! memory the "chip" reads and writes by DMA, frames delivered into the receive ring as the
//! chip lays them out (header, frame, CRC, dword-aligned, WRAP mode) and frames taken from the
//! transmit descriptors.

use super::*;
use std::cell::RefCell;
use std::rc::Rc;

/// Physical memory: one region from `base`.
pub struct Phys {
    pub base: u32,
    pub bytes: Vec<u8>,
}

pub type Memory = Rc<RefCell<Phys>>;

pub fn memory(base: u32, len: usize) -> Memory {
    // Filled with a pattern, as unzeroed frames are on the real kernel.
    Rc::new(RefCell::new(Phys {
        base,
        bytes: vec![0xAB; len],
    }))
}

/// A bump allocator of DMA buffers over [`Phys`].
pub struct TestDma {
    pub mem: Memory,
    pub next: u32,
    pub limit_allocs: usize,
}

pub struct Buf {
    mem: Memory,
    phys: u32,
    len: usize,
}

impl DmaBuf for Buf {
    fn phys(&self) -> u32 {
        self.phys
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        assert!(offset + out.len() <= self.len, "read past a DMA buffer");
        let m = self.mem.borrow();
        let at = (self.phys - m.base) as usize + offset;
        out.copy_from_slice(&m.bytes[at..at + out.len()]);
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        assert!(offset + data.len() <= self.len, "write past a DMA buffer");
        let mut m = self.mem.borrow_mut();
        let at = (self.phys - m.base) as usize + offset;
        m.bytes[at..at + data.len()].copy_from_slice(data);
    }
}

impl Dma for TestDma {
    type Buf = Buf;
    fn alloc(&mut self, len: usize) -> Option<Buf> {
        if self.limit_allocs == 0 {
            return None;
        }
        self.limit_allocs -= 1;
        let phys = self.next;
        // Page-aligned, as malloc's are.
        self.next += (len as u32).div_ceil(4096) * 4096;
        let m = self.mem.borrow();
        assert!(
            ((self.next - m.base) as usize) <= m.bytes.len(),
            "model memory too small"
        );
        Some(Buf {
            mem: self.mem.clone(),
            phys,
            len,
        })
    }
}

pub const BASE: u16 = 0xC000;

pub struct Chip {
    pub mem: Memory,
    pub mac: [u8; 6],
    pub cr: u8,
    pub config1: u8,
    capr: u16,
    cbr: u16,
    pub imr: u16,
    pub isr: u16,
    pub tcr: u32,
    pub rcr: u32,
    pub rbstart: u32,
    pub tsad: [u32; 4],
    pub tsd: [u32; 4],
    /// Polls of CR for which the reset bit stays set.
    pub reset_polls: usize,
    /// Leave transmitted descriptors owned by the chip (a stalled transmitter).
    pub hold_tx: bool,
    pub sent: Vec<Vec<u8>>,
    pub dropped: usize,
}

impl Chip {
    pub fn new(mem: Memory) -> Chip {
        Chip {
            mem,
            mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            cr: CR_BUFFER_EMPTY,
            config1: 0x60,
            capr: 0xFFF0,
            cbr: 0,
            imr: 0,
            isr: 0,
            tcr: 0,
            rcr: 0,
            rbstart: 0,
            tsad: [0; 4],
            tsd: [TSD_OWN; 4],
            reset_polls: 3,
            hold_tx: false,
            sent: Vec::new(),
            dropped: 0,
        }
    }

    fn read_pos(&self) -> usize {
        (self.capr.wrapping_add(16)) as usize % RX_RING
    }

    fn poke(&mut self, phys: u32, data: &[u8]) {
        let mut m = self.mem.borrow_mut();
        let at = (phys - m.base) as usize;
        m.bytes[at..at + data.len()].copy_from_slice(data);
    }

    /// A frame arrives from the wire: written into the ring as the chip does, or dropped (ring
    /// full, receiver off, not programmed).
    pub fn deliver(&mut self, frame: &[u8]) -> bool {
        self.deliver_with_status(frame, RX_OK)
    }

    pub fn deliver_with_status(&mut self, frame: &[u8], status: u16) -> bool {
        if self.cr & CR_RX_ENABLE == 0 || self.rcr == 0 || self.rbstart == 0 {
            self.dropped += 1;
            return false;
        }
        let len = frame.len() + 4; // with CRC
        let need = (4 + len + 3) & !3;
        let used = (self.cbr as usize + RX_RING - self.read_pos()) % RX_RING;
        if used + need >= RX_RING {
            self.dropped += 1;
            self.isr |= 0x10; // RXOVW
            return false;
        }
        let at = self.rbstart + self.cbr as u32;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&status.to_le_bytes());
        bytes.extend_from_slice(&(len as u16).to_le_bytes());
        bytes.extend_from_slice(frame);
        bytes.extend_from_slice(&[0xC0, 0xC1, 0xC2, 0xC3]); // "CRC"
        self.poke(at, &bytes); // WRAP: runs past the ring's end
        self.cbr = ((self.cbr as usize + need) % RX_RING) as u16;
        self.cr &= !CR_BUFFER_EMPTY;
        self.isr |= 1;
        true
    }

    fn update_empty(&mut self) {
        if self.cbr as usize == self.read_pos() {
            self.cr |= CR_BUFFER_EMPTY;
        } else {
            self.cr &= !CR_BUFFER_EMPTY;
        }
    }

    fn transmit(&mut self, slot: usize, v: u32) {
        let size = (v & 0x1FFF) as usize;
        if self.cr & CR_TX_ENABLE == 0 {
            self.tsd[slot] = v & !TSD_OWN;
            return;
        }
        let m = self.mem.borrow();
        let at = (self.tsad[slot] - m.base) as usize;
        let frame = m.bytes[at..at + size].to_vec();
        drop(m);
        self.sent.push(frame);
        self.tsd[slot] = if self.hold_tx {
            size as u32
        } else {
            size as u32 | TSD_OWN | TSD_TOK
        };
    }
}

impl PortIo for Chip {
    fn inb(&mut self, port: u16) -> u8 {
        match port - BASE {
            r @ 0..=5 => self.mac[r as usize],
            reg::CR => {
                if self.cr & CR_RESET != 0 {
                    if self.reset_polls == 0 {
                        self.cr = CR_BUFFER_EMPTY;
                        self.cbr = 0;
                        self.capr = 0xFFF0;
                        self.tsd = [TSD_OWN; 4];
                    } else {
                        self.reset_polls -= 1;
                    }
                }
                self.cr
            }
            r => panic!("inb of register {r:#x}"),
        }
    }
    fn outb(&mut self, port: u16, v: u8) {
        match port - BASE {
            reg::CR => {
                if v & CR_RESET != 0 {
                    self.cr = CR_RESET;
                    self.rcr = 0;
                    self.imr = 0;
                } else {
                    self.cr = self.cr & CR_BUFFER_EMPTY | v & (CR_RX_ENABLE | CR_TX_ENABLE);
                    if v & CR_RX_ENABLE == 0 {
                        // Receiver off: the ring's pointers restart.
                        self.cbr = 0;
                        self.capr = 0xFFF0;
                        self.cr |= CR_BUFFER_EMPTY;
                    }
                }
            }
            reg::CONFIG1 => self.config1 = v,
            r => panic!("outb of register {r:#x}"),
        }
    }
    fn inw(&mut self, port: u16) -> u16 {
        match port - BASE {
            reg::CAPR => self.capr,
            reg::CBR => self.cbr,
            reg::ISR => self.isr,
            reg::IMR => self.imr,
            r => panic!("inw of register {r:#x}"),
        }
    }
    fn outw(&mut self, port: u16, v: u16) {
        match port - BASE {
            reg::CAPR => {
                self.capr = v;
                self.update_empty();
            }
            reg::ISR => self.isr &= !v,
            reg::IMR => self.imr = v,
            r => panic!("outw of register {r:#x}"),
        }
    }
    fn inl(&mut self, port: u16) -> u32 {
        match port - BASE {
            r @ (0x10 | 0x14 | 0x18 | 0x1C) => self.tsd[(r as usize - 0x10) / 4],
            reg::RCR => self.rcr,
            reg::TCR => self.tcr,
            r => panic!("inl of register {r:#x}"),
        }
    }
    fn outl(&mut self, port: u16, v: u32) {
        match port - BASE {
            r @ (0x10 | 0x14 | 0x18 | 0x1C) => self.transmit((r as usize - 0x10) / 4, v),
            r @ (0x20 | 0x24 | 0x28 | 0x2C) => self.tsad[(r as usize - 0x20) / 4] = v,
            reg::RBSTART => self.rbstart = v,
            reg::RCR => self.rcr = v,
            reg::TCR => self.tcr = v,
            r => panic!("outl of register {r:#x}"),
        }
    }
}
