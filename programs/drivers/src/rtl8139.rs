//! The Realtek RTL8139 NIC (QEMU's `-nic ...,model=rtl8139`), polled: its IRQ cannot be awaited
//! (only IRQ 1 can, ABI §4.10), so the interrupt mask stays 0 and the driver reads the command
//! register's buffer-empty bit.
//!
//! DMA memory comes from a [`Dma`] allocator (on the real kernel `malloc` with a physical-address
//! bound of 4 GiB, since the chip takes 32-bit addresses): one receive ring of 8 KiB (+16 bytes,
//! +1.5 KiB of overflow room, because with WRAP set the chip writes a frame past the ring's end
//! rather than wrapping it) and four 2 KiB transmit buffers used round-robin.

use crate::port::PortIo;

pub const VENDOR: u16 = 0x10EC;
pub const DEVICE: u16 = 0x8139;

/// Register offsets from the I/O base (BAR 0).
pub mod reg {
    pub const IDR0: u16 = 0x00; // MAC address, 6 bytes
    pub const TSD0: u16 = 0x10; // transmit status of descriptor 0..3 (4 bytes apart)
    pub const TSAD0: u16 = 0x20; // transmit start address of descriptor 0..3
    pub const RBSTART: u16 = 0x30; // receive buffer start (physical)
    pub const CR: u16 = 0x37; // command
    pub const CAPR: u16 = 0x38; // current address of packet read (minus 16)
    pub const CBR: u16 = 0x3A; // current buffer address (the chip's write position)
    pub const IMR: u16 = 0x3C; // interrupt mask
    pub const ISR: u16 = 0x3E; // interrupt status (write 1 to clear)
    pub const TCR: u16 = 0x40; // transmit configuration
    pub const RCR: u16 = 0x44; // receive configuration
    pub const CONFIG1: u16 = 0x52;
}

/// CR bits.
pub const CR_RESET: u8 = 0x10;
pub const CR_RX_ENABLE: u8 = 0x08;
pub const CR_TX_ENABLE: u8 = 0x04;
pub const CR_BUFFER_EMPTY: u8 = 0x01;
/// RCR: accept broadcast, multicast, physical match; WRAP (frames run past the ring's end);
/// ring length 8K + 16 (RBLEN = 0); DMA burst unlimited; no receive FIFO threshold.
pub const RCR_VALUE: u32 = 0x8 | 0x4 | 0x2 | 0x80 | 0x7 << 8 | 0x7 << 13;
/// TSD bits.
pub const TSD_OWN: u32 = 1 << 13;
pub const TSD_TOK: u32 = 1 << 15;
/// Receive header status: frame received OK.
pub const RX_OK: u16 = 0x0001;
/// ISR bits the driver clears.
pub const ISR_ALL: u16 = 0xFFFF;

/// The ring's length as the chip counts it.
pub const RX_RING: usize = 8192;
/// The ring's allocation: 8K + 16 + room for the longest frame the driver accepts past the end
/// (header and CRC included), so that no read of a frame leaves the buffer.
pub const RX_ALLOC: usize = RX_RING + 16 + MAX_FRAME + 16;
/// Largest frame the driver sends or returns (without CRC).
pub const MAX_FRAME: usize = 1792;
/// Smallest frame on the wire (the chip does not pad).
pub const MIN_FRAME: usize = 60;
/// Transmit buffers.
pub const TX_SLOTS: usize = 4;
pub const TX_SLOT_SIZE: usize = 2048;

/// Physically contiguous memory the NIC can reach by DMA.
pub trait DmaBuf {
    /// Its physical address (below 4 GiB).
    fn phys(&self) -> u32;
    fn read(&self, offset: usize, out: &mut [u8]);
    fn write(&mut self, offset: usize, data: &[u8]);
}

/// An allocator of [`DmaBuf`]s.
pub trait Dma {
    type Buf: DmaBuf;
    /// `len` bytes, physically contiguous, below 4 GiB, written over (never unwritten memory).
    fn alloc(&mut self, len: usize) -> Option<Self::Buf>;
}

/// Why the NIC could not be brought up.
#[derive(Debug, PartialEq, Eq)]
pub enum InitError {
    /// The chip did not leave reset.
    ResetTimeout,
    /// No DMA memory.
    NoMemory,
}

/// Why a frame was not sent.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// Longer than [`MAX_FRAME`] or empty.
    BadLength,
    /// All transmit descriptors are still owned by the chip.
    Busy,
}

pub struct Rtl8139<B: DmaBuf> {
    base: u16,
    mac: [u8; 6],
    rx: B,
    rx_offset: usize,
    tx: B,
    tx_next: usize,
    /// Frames dropped because the chip reported a bad one (the ring was reset).
    pub rx_errors: u64,
}

/// Polls of the command register while waiting for the reset to end.
const RESET_SPINS: usize = 1_000_000;

impl<B: DmaBuf> Rtl8139<B> {
    /// Resets the chip at I/O `base` and starts receiving and transmitting (bus mastering must
    /// already be on: see [`crate::pci::enable`]).
    pub fn init<D: Dma<Buf = B>>(
        io: &mut impl PortIo,
        base: u16,
        dma: &mut D,
    ) -> Result<Self, InitError> {
        io.outb(base + reg::CONFIG1, 0x00); // power on (LWAKE + LWPTN low)
        io.outb(base + reg::CR, CR_RESET);
        let mut spins = 0;
        while io.inb(base + reg::CR) & CR_RESET != 0 {
            spins += 1;
            if spins == RESET_SPINS {
                return Err(InitError::ResetTimeout);
            }
        }
        let rx = dma.alloc(RX_ALLOC).ok_or(InitError::NoMemory)?;
        let tx = dma
            .alloc(TX_SLOTS * TX_SLOT_SIZE)
            .ok_or(InitError::NoMemory)?;
        let mut mac = [0u8; 6];
        for (i, b) in mac.iter_mut().enumerate() {
            *b = io.inb(base + reg::IDR0 + i as u16);
        }
        io.outl(base + reg::RBSTART, rx.phys());
        for i in 0..TX_SLOTS as u16 {
            io.outl(
                base + reg::TSAD0 + 4 * i,
                tx.phys() + (i as u32) * TX_SLOT_SIZE as u32,
            );
        }
        io.outw(base + reg::IMR, 0); // polled: nobody could await the NIC's IRQ
        io.outw(base + reg::ISR, ISR_ALL);
        io.outb(base + reg::CR, CR_RX_ENABLE | CR_TX_ENABLE);
        io.outl(base + reg::RCR, RCR_VALUE);
        io.outl(base + reg::TCR, 0x03 << 24); // standard inter-frame gap
        io.outw(base + reg::CAPR, (0u16).wrapping_sub(16));
        Ok(Rtl8139 {
            base,
            mac,
            rx,
            rx_offset: 0,
            tx,
            tx_next: 0,
            rx_errors: 0,
        })
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Queues `frame` (an Ethernet frame without CRC; short frames are padded to 60 bytes).
    pub fn send(&mut self, io: &mut impl PortIo, frame: &[u8]) -> Result<(), SendError> {
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(SendError::BadLength);
        }
        let slot = self.tx_next;
        let tsd = self.base + reg::TSD0 + 4 * slot as u16;
        // OWN set: the chip has finished with this descriptor (it is set after reset too).
        if io.inl(tsd) & TSD_OWN == 0 {
            return Err(SendError::Busy);
        }
        let offset = slot * TX_SLOT_SIZE;
        self.tx.write(offset, frame);
        let len = frame.len().max(MIN_FRAME);
        if frame.len() < MIN_FRAME {
            self.tx.write(
                offset + frame.len(),
                &[0u8; MIN_FRAME][..MIN_FRAME - frame.len()],
            );
        }
        // Writing the size clears OWN and starts the transmission.
        io.outl(tsd, len as u32);
        self.tx_next = (slot + 1) % TX_SLOTS;
        Ok(())
    }

    /// The next received frame (without its CRC) into `out`; its length, or `None` if the ring
    /// is empty. A frame the chip marked bad, or a length that makes no sense, resets the ring
    /// (frames in it are lost, counted in `rx_errors`).
    pub fn receive(&mut self, io: &mut impl PortIo, out: &mut [u8; MAX_FRAME]) -> Option<usize> {
        loop {
            if io.inb(self.base + reg::CR) & CR_BUFFER_EMPTY != 0 {
                return None;
            }
            let mut header = [0u8; 4];
            self.rx.read(self.rx_offset, &mut header);
            let status = u16::from_le_bytes([header[0], header[1]]);
            let len = u16::from_le_bytes([header[2], header[3]]) as usize;
            if status & RX_OK == 0 || !(4 + 14..=MAX_FRAME + 4).contains(&len) {
                self.rx_errors += 1;
                self.reset_rx(io);
                return None;
            }
            let n = len - 4;
            self.rx.read(self.rx_offset + 4, &mut out[..n]);
            // Next frame: header + data + CRC, dword-aligned, modulo the ring.
            self.rx_offset = (self.rx_offset + len + 4 + 3) & !3;
            self.rx_offset %= RX_RING;
            io.outw(
                self.base + reg::CAPR,
                (self.rx_offset as u16).wrapping_sub(16),
            );
            io.outw(self.base + reg::ISR, ISR_ALL);
            if n > 0 {
                return Some(n);
            }
        }
    }

    fn reset_rx(&mut self, io: &mut impl PortIo) {
        io.outb(self.base + reg::CR, CR_TX_ENABLE);
        io.outl(self.base + reg::RBSTART, self.rx.phys());
        self.rx_offset = 0;
        io.outb(self.base + reg::CR, CR_RX_ENABLE | CR_TX_ENABLE);
        io.outl(self.base + reg::RCR, RCR_VALUE);
        io.outw(self.base + reg::CAPR, (0u16).wrapping_sub(16));
        io.outw(self.base + reg::ISR, ISR_ALL);
    }
}

/// `52:54:00:12:34:56`.
pub fn format_mac(mac: &[u8; 6]) -> alloc::string::String {
    alloc::format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5]
    )
}

#[cfg(test)]
pub mod model;

#[cfg(test)]
mod tests;
