//! Port I/O behind a small trait, so that every driver's logic runs on the host against a model
//! of its device ([`crate::model`] in tests) and on the real kernel against the hardware ([`Hw`]).

/// x86 port I/O: what a driver does to its device's registers.
pub trait PortIo {
    fn inb(&mut self, port: u16) -> u8;
    fn outb(&mut self, port: u16, value: u8);
    fn inw(&mut self, port: u16) -> u16;
    fn outw(&mut self, port: u16, value: u16);
    fn inl(&mut self, port: u16) -> u32;
    fn outl(&mut self, port: u16, value: u32);
}

/// The 16- and 32-bit accesses of a device model that has byte registers only (a test's UART,
/// CMOS clock, CRT controller): any such access is a driver bug, and fails the test.
#[macro_export]
macro_rules! byte_ports_only {
    () => {
        fn inw(&mut self, port: u16) -> u16 {
            unreachable!("16-bit read of port {port:#x} on a byte-wide model")
        }
        fn outw(&mut self, port: u16, _: u16) {
            unreachable!("16-bit write of port {port:#x} on a byte-wide model")
        }
        fn inl(&mut self, port: u16) -> u32 {
            unreachable!("32-bit read of port {port:#x} on a byte-wide model")
        }
        fn outl(&mut self, port: u16, _: u32) {
            unreachable!("32-bit write of port {port:#x} on a byte-wide model")
        }
    };
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
    // A `Hw` is never made on the host ([`super::Hw::new`] returns `None`).
    impl super::PortIo for super::Hw {
        fn inb(&mut self, _: u16) -> u8 {
            unreachable!("no port I/O on the host")
        }
        fn outb(&mut self, _: u16, _: u8) {
            unreachable!("no port I/O on the host")
        }
        fn inw(&mut self, _: u16) -> u16 {
            unreachable!("no port I/O on the host")
        }
        fn outw(&mut self, _: u16, _: u16) {
            unreachable!("no port I/O on the host")
        }
        fn inl(&mut self, _: u16) -> u32 {
            unreachable!("no port I/O on the host")
        }
        fn outl(&mut self, _: u16, _: u32) {
            unreachable!("no port I/O on the host")
        }
    }
}
