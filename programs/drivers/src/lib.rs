//! `drivers`: eurali's ring-3 device drivers for the real Merriwig kernel.
//!
//! Each driver's logic reaches its device only through [`port::PortIo`] (and, for DMA, the
//! [`rtl8139::Dma`] trait), so that it is unit-tested on the host against a model of the device.

extern crate alloc;

pub mod console;
pub mod keyboard;
pub mod pci;
pub mod port;
pub mod rtl8139;
pub mod serial;
pub mod tty;
pub mod vt;

pub fn main() {}
