//! PCI configuration space through the legacy mechanism #1 ports (0xCF8 address, 0xCFC data,
//! 32-bit accesses): enumeration, BARs, bus mastering.

use alloc::vec::Vec;

use crate::port::PortIo;

pub const CONFIG_ADDRESS: u16 = 0xCF8;
pub const CONFIG_DATA: u16 = 0xCFC;

/// A function's place on the buses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl Location {
    /// The CONFIG_ADDRESS value for register `offset` (rounded down to a dword).
    pub const fn address(self, offset: u8) -> u32 {
        0x8000_0000
            | (self.bus as u32) << 16
            | (self.device as u32 & 0x1F) << 11
            | (self.function as u32 & 7) << 8
            | (offset as u32 & 0xFC)
    }
}

impl core::fmt::Display for Location {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// One function found by [`scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    pub at: Location,
    pub vendor: u16,
    pub device: u16,
    pub class: u8,
    pub subclass: u8,
}

/// A base address register, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    /// I/O space at this port.
    Io(u16),
    /// Memory space at this physical address (64-bit BARs take two slots).
    Memory { address: u64, prefetchable: bool },
    /// Unused.
    None,
}

pub fn read(io: &mut impl PortIo, at: Location, offset: u8) -> u32 {
    io.outl(CONFIG_ADDRESS, at.address(offset));
    io.inl(CONFIG_DATA)
}

pub fn write(io: &mut impl PortIo, at: Location, offset: u8, value: u32) {
    io.outl(CONFIG_ADDRESS, at.address(offset));
    io.outl(CONFIG_DATA, value);
}

/// Every function on every bus (brute force over 256 buses x 32 devices; functions 1..7 only of
/// multi-function devices).
pub fn scan(io: &mut impl PortIo) -> Vec<Device> {
    let mut found = Vec::new();
    for bus in 0..=255u8 {
        for device in 0..32u8 {
            let at = Location {
                bus,
                device,
                function: 0,
            };
            let Some(d) = probe(io, at) else { continue };
            found.push(d);
            let header = read(io, at, 0x0C) >> 16 & 0xFF;
            if header & 0x80 != 0 {
                for function in 1..8 {
                    if let Some(d) = probe(io, Location { function, ..at }) {
                        found.push(d);
                    }
                }
            }
        }
    }
    found
}

fn probe(io: &mut impl PortIo, at: Location) -> Option<Device> {
    let id = read(io, at, 0);
    if id & 0xFFFF == 0xFFFF {
        return None;
    }
    let class = read(io, at, 0x08);
    Some(Device {
        at,
        vendor: id as u16,
        device: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
    })
}

/// The first function with this vendor and device ID.
pub fn find(io: &mut impl PortIo, vendor: u16, device: u16) -> Option<Device> {
    scan(io)
        .into_iter()
        .find(|d| d.vendor == vendor && d.device == device)
}

/// BAR `n` (0..=5) of a type-0 header.
pub fn bar(io: &mut impl PortIo, at: Location, n: u8) -> Bar {
    if n > 5 {
        return Bar::None;
    }
    let offset = 0x10 + 4 * n;
    let v = read(io, at, offset);
    if v == 0 {
        return Bar::None;
    }
    if v & 1 == 1 {
        return Bar::Io((v & 0xFFFC) as u16);
    }
    let prefetchable = v & 0x8 != 0;
    let low = (v & 0xFFFF_FFF0) as u64;
    let address = if v >> 1 & 3 == 2 && n < 5 {
        low | (read(io, at, offset + 4) as u64) << 32
    } else {
        low
    };
    Bar::Memory {
        address,
        prefetchable,
    }
}

/// Command register bits.
pub const COMMAND_IO: u16 = 1;
pub const COMMAND_MEMORY: u16 = 2;
pub const COMMAND_BUS_MASTER: u16 = 4;

/// Sets bits in the command register (keeping the others; the status half is written as 0,
/// which clears nothing: its bits are write-1-to-clear).
pub fn enable(io: &mut impl PortIo, at: Location, bits: u16) {
    let v = read(io, at, 0x04) & 0xFFFF;
    write(io, at, 0x04, v | bits as u32);
}

/// What `drivers pci` prints for a device: `00:03.0 10ec:8139 class 02.00`.
pub fn describe(d: &Device) -> alloc::string::String {
    alloc::format!(
        "{} {:04x}:{:04x} class {:02x}.{:02x}",
        d.at,
        d.vendor,
        d.device,
        d.class,
        d.subclass
    )
}

#[cfg(test)]
pub mod model {
    //! A configuration-space model: functions with 256-byte config spaces behind 0xCF8/0xCFC.
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub struct Bus {
        pub functions: BTreeMap<Location, [u32; 64]>,
        latch: u32,
        pub accesses: usize,
    }

    impl Bus {
        /// QEMU's i440FX machine with an rtl8139 (ABI §7), plus a multi-function device on bus 1.
        pub fn qemu() -> Bus {
            let mut b = Bus::default();
            let at = |bus, device, function| Location {
                bus,
                device,
                function,
            };
            b.add(at(0, 0, 0), 0x8086, 0x1237, 0x0600_0000, 0, &[]);
            b.add(at(0, 1, 0), 0x8086, 0x7000, 0x0601_0000, 0x80, &[]);
            b.add(
                at(0, 1, 1),
                0x8086,
                0x7010,
                0x0101_8000,
                0,
                &[0, 0, 0, 0, 0xC041],
            );
            b.add(at(0, 2, 0), 0x1234, 0x1111, 0x0300_0000, 0, &[0xFD00_0008]);
            b.add(
                at(0, 3, 0),
                0x10EC,
                0x8139,
                0x0200_0000,
                0,
                &[0xC001, 0xFEBF_1000],
            );
            b.add(
                at(1, 4, 0),
                0x1AF4,
                0x1000,
                0x0200_0000,
                0,
                &[0xC0A1, 0x0000_000C, 0x1],
            );
            b
        }

        pub fn add(
            &mut self,
            at: Location,
            vendor: u16,
            device: u16,
            class: u32,
            header: u8,
            bars: &[u32],
        ) {
            let mut space = [0u32; 64];
            space[0] = vendor as u32 | (device as u32) << 16;
            space[1] = 0x0280_0000; // status bits set (must not be written back as 1s)
            space[2] = class;
            space[3] = (header as u32) << 16;
            for (i, b) in bars.iter().enumerate() {
                space[4 + i] = *b;
            }
            self.functions.insert(at, space);
        }

        pub fn command(&self, at: Location) -> u16 {
            self.functions[&at][1] as u16
        }

        fn selected(&self) -> Option<(Location, usize)> {
            if self.latch & 0x8000_0000 == 0 {
                return None;
            }
            let at = Location {
                bus: (self.latch >> 16) as u8,
                device: (self.latch >> 11 & 0x1F) as u8,
                function: (self.latch >> 8 & 7) as u8,
            };
            Some((at, (self.latch as usize & 0xFC) / 4))
        }
    }

    impl PortIo for Bus {
        fn inl(&mut self, port: u16) -> u32 {
            self.accesses += 1;
            match port {
                CONFIG_ADDRESS => self.latch,
                CONFIG_DATA => match self.selected() {
                    Some((at, r)) => self.functions.get(&at).map_or(0xFFFF_FFFF, |s| s[r]),
                    None => 0xFFFF_FFFF,
                },
                _ => panic!("inl {port:#x}"),
            }
        }
        fn outl(&mut self, port: u16, v: u32) {
            self.accesses += 1;
            match port {
                CONFIG_ADDRESS => self.latch = v,
                CONFIG_DATA => {
                    if let Some((at, r)) = self.selected()
                        && let Some(s) = self.functions.get_mut(&at)
                    {
                        match r {
                            // Command register writable; status bits are write-1-to-clear.
                            1 => s[1] = (s[1] & !(v & 0xFFFF_0000)) & 0xFFFF_0000 | (v & 0x07FF),
                            0 | 2 | 3 => {} // read-only
                            _ => s[r] = v,
                        }
                    }
                }
                _ => panic!("outl {port:#x}"),
            }
        }
        // Byte and word accesses: the trait's panics (configuration space is accessed in
        // dwords).
    }
}

#[cfg(test)]
mod tests {
    use super::model::Bus;
    use super::*;

    #[test]
    fn scan_finds_every_function_including_multi_function_ones() {
        let mut bus = Bus::qemu();
        let found = scan(&mut bus);
        let names: Vec<_> = found.iter().map(describe).collect();
        assert_eq!(
            names,
            [
                "00:00.0 8086:1237 class 06.00",
                "00:01.0 8086:7000 class 06.01",
                "00:01.1 8086:7010 class 01.01",
                "00:02.0 1234:1111 class 03.00",
                "00:03.0 10ec:8139 class 02.00",
                "01:04.0 1af4:1000 class 02.00",
            ]
        );
    }

    #[test]
    fn find_and_bars() {
        let mut bus = Bus::qemu();
        let nic = find(&mut bus, 0x10EC, 0x8139).expect("rtl8139");
        assert_eq!(
            nic.at.address(0),
            0x8000_1800,
            "as upstream's /pci reports it (ABI §6.5)"
        );
        assert_eq!(bar(&mut bus, nic.at, 0), Bar::Io(0xC000));
        assert_eq!(
            bar(&mut bus, nic.at, 1),
            Bar::Memory {
                address: 0xFEBF_1000,
                prefetchable: false
            }
        );
        assert_eq!(bar(&mut bus, nic.at, 2), Bar::None);
        assert_eq!(bar(&mut bus, nic.at, 6), Bar::None);
        assert_eq!(find(&mut bus, 0x10EC, 0x8168), None);
        // A 64-bit prefetchable BAR spans two registers.
        let v = find(&mut bus, 0x1AF4, 0x1000).unwrap();
        assert_eq!(
            bar(&mut bus, v.at, 1),
            Bar::Memory {
                address: 0x1_0000_0000,
                prefetchable: true
            }
        );
    }

    #[test]
    fn bus_mastering_keeps_other_command_bits_and_clears_no_status() {
        let mut bus = Bus::qemu();
        let at = find(&mut bus, 0x10EC, 0x8139).unwrap().at;
        enable(&mut bus, at, COMMAND_IO);
        enable(&mut bus, at, COMMAND_BUS_MASTER);
        assert_eq!(bus.command(at), COMMAND_IO | COMMAND_BUS_MASTER);
        assert_eq!(bus.functions[&at][1] >> 16, 0x0280, "status untouched");
    }
}
