//! Port I/O behind a small trait, so that every driver's logic runs on the host against a model
//! of its device ([`crate::model`] in tests) and on the real kernel against the hardware ([`Hw`]).

/// x86 port I/O: what a driver does to its device's registers.
///
/// Every access has a default that panics: a device model implements the widths its device
/// has (a UART, the CMOS clock and the CRT controller bytes only, the PCI configuration ports
/// dwords), and any other access is a driver bug that fails its test. The real ports ([`Hw`])
/// implement all six.
pub trait PortIo {
    fn inb(&mut self, port: u16) -> u8 {
        no_port("8-bit read", port)
    }
    fn outb(&mut self, port: u16, _value: u8) {
        no_port("8-bit write", port)
    }
    fn inw(&mut self, port: u16) -> u16 {
        no_port("16-bit read", port)
    }
    fn outw(&mut self, port: u16, _value: u16) {
        no_port("16-bit write", port)
    }
    fn inl(&mut self, port: u16) -> u32 {
        no_port("32-bit read", port)
    }
    fn outl(&mut self, port: u16, _value: u32) {
        no_port("32-bit write", port)
    }
}

/// The default accesses' panic.
#[cold]
#[track_caller]
fn no_port(access: &str, port: u16) -> ! {
    panic!("{access} of port {port:#x}, which this device (or model) does not have")
}

/// The machine's own ports (needs I/O privilege: `exec` with `EXEC_PERM_IO`; without it the
/// first access is a #GP that halts the real machine). Only on the real kernel: on the host,
/// [`Hw::new`] returns `None` and the drivers say they have no hardware to drive.
pub struct Hw {
    _private: (),
}

impl Hw {
    /// Access to the machine's ports, where there are any to access.
    pub fn new() -> Option<Hw> {
        if cfg!(target_os = "none") {
            Some(Hw { _private: () })
        } else {
            None
        }
    }
}

#[cfg(target_os = "none")]
mod imp {
    use x86_64::instructions::port::Port;

    // Safety (all six): a `Hw` exists only on the real kernel, in a process that was started
    // with I/O privilege (init gives it to drivers); what a write does to a device is the
    // driver's business, which is why the trait is the drivers' only way to the hardware.
    impl super::PortIo for super::Hw {
        fn inb(&mut self, port: u16) -> u8 {
            unsafe { Port::<u8>::new(port).read() }
        }
        fn outb(&mut self, port: u16, value: u8) {
            unsafe { Port::<u8>::new(port).write(value) }
        }
        fn inw(&mut self, port: u16) -> u16 {
            unsafe { Port::<u16>::new(port).read() }
        }
        fn outw(&mut self, port: u16, value: u16) {
            unsafe { Port::<u16>::new(port).write(value) }
        }
        fn inl(&mut self, port: u16) -> u32 {
            unsafe { Port::<u32>::new(port).read() }
        }
        fn outl(&mut self, port: u16, value: u32) {
            unsafe { Port::<u32>::new(port).write(value) }
        }
    }
}

#[cfg(not(target_os = "none"))]
mod imp {
    // A `Hw` is never made on the host ([`super::Hw::new`] returns `None`): every access is the
    // trait's panic.
    impl super::PortIo for super::Hw {}
}
