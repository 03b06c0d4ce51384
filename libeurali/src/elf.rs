//! The kernel's ELF loader rules (ABI §4.5), as one parser shared by every loader we have: the
//! hosted stub's exec and guest loader, and `cargo xtask check-elf`.
//!
//! [`parse`] accepts what Merriwig loads: ELF64, little-endian, x86-64, `ET_EXEC`; every PT_LOAD
//! segment inside `[0x20_0000, 0x04FF_F000)` (below the KernelInfo page and the kernel image),
//! with `p_filesz <= p_memsz` and its file bytes inside the file; no two segments touching the
//! same 4 KiB page. Other program headers are ignored, as the kernel ignores them. It never
//! panics on any input. [`Image::entry_segment`] is the one rule the kernel does not check (it
//! jumps to `e_entry` wherever it points) but `check-elf` does.

use crate::abi::layout::{ELF_WINDOW_START, KERNEL_INFO, PAGE_SIZE};

/// At most this many PT_LOAD segments are returned (the toolchain emits three or four).
pub const MAX_LOADS: usize = 16;

const PT_LOAD: u32 = 1;
const ET_EXEC: u16 = 2;
const EM_X86_64: u16 = 62;
/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;

/// One PT_LOAD segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    pub vaddr: u64,
    pub memsz: u64,
    pub filesz: u64,
    pub offset: u64,
    pub flags: u32,
    /// Where its program header is in the file (for a tool that rewrites the header).
    pub header: u64,
}

impl Load {
    /// First and last page number the segment touches (`None` for an empty or wrapping one).
    pub fn pages(&self) -> Option<(u64, u64)> {
        let last = self.vaddr.checked_add(self.memsz)?.checked_sub(1)?;
        Some((self.vaddr / PAGE_SIZE, last / PAGE_SIZE))
    }
}

/// What the loader needs of an accepted file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    pub entry: u64,
    loads: [Load; MAX_LOADS],
    count: usize,
}

impl Image {
    pub fn loads(&self) -> &[Load] {
        &self.loads[..self.count]
    }

    /// The executable segment whose file bytes hold the entry point, if one does. The kernel
    /// does not check this: an entry anywhere else runs garbage (or .bss) and soon halts the
    /// machine.
    pub fn entry_segment(&self) -> Option<usize> {
        self.loads().iter().position(|l| {
            l.flags & PF_X != 0 && self.entry >= l.vaddr && self.entry - l.vaddr < l.filesz
        })
    }
}

/// Why the kernel refuses a file (exec returns 8, THREAD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    BadMagic,
    TooShort,
    NotElf64,
    NotLittleEndian,
    NotX86_64(u16),
    NotExec(u16),
    BadProgramHeaders,
    NoLoad,
    TooManyLoads,
    /// Segment index: outside the window, or empty/wrapping.
    OutsideWindow(usize),
    /// Segment index: `p_filesz > p_memsz`.
    FileSizeAboveMemSize(usize),
    /// Segment index: its bytes run past the end of the file.
    PastEndOfFile(usize),
    /// Two segment indexes touching one page, and the page's address.
    SharedPage(usize, usize, u64),
}

impl core::fmt::Display for ElfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ElfError::BadMagic => write!(f, "not an ELF file (bad magic)"),
            ElfError::TooShort => write!(f, "too short for an ELF header"),
            ElfError::NotElf64 => write!(f, "not ELF64"),
            ElfError::NotLittleEndian => write!(f, "not little-endian"),
            ElfError::NotX86_64(m) => write!(f, "machine is {m}, not x86-64 (62)"),
            ElfError::NotExec(t) => write!(f, "type is {t}, not ET_EXEC (2)"),
            ElfError::BadProgramHeaders => write!(f, "bad program headers"),
            ElfError::NoLoad => write!(f, "no PT_LOAD segment"),
            ElfError::TooManyLoads => write!(f, "more than {MAX_LOADS} PT_LOAD segments"),
            ElfError::OutsideWindow(i) => write!(
                f,
                "PT_LOAD {i} is empty or outside the ELF window [{ELF_WINDOW_START:#x}, {KERNEL_INFO:#x})"
            ),
            ElfError::FileSizeAboveMemSize(i) => write!(f, "PT_LOAD {i} has p_filesz > p_memsz"),
            ElfError::PastEndOfFile(i) => write!(f, "PT_LOAD {i} reads past the end of the file"),
            ElfError::SharedPage(i, j, page) => {
                write!(f, "PT_LOAD {i} and {j} touch the same 4 KiB page {page:#x}")
            }
        }
    }
}

// Offsets come from the file: `at + n` may overflow (found by fuzzing), so it is checked.
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Checks `bytes` against the loader's rules and returns the entry point and PT_LOAD segments.
pub fn parse(bytes: &[u8]) -> Result<Image, ElfError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(ElfError::BadMagic);
    }
    if bytes.len() < 64 {
        return Err(ElfError::TooShort);
    }
    if bytes[4] != 2 {
        return Err(ElfError::NotElf64);
    }
    if bytes[5] != 1 {
        return Err(ElfError::NotLittleEndian);
    }
    let short = ElfError::TooShort;
    let e_type = u16_at(bytes, 16).ok_or(short)?;
    let machine = u16_at(bytes, 18).ok_or(short)?;
    if machine != EM_X86_64 {
        return Err(ElfError::NotX86_64(machine));
    }
    if e_type != ET_EXEC {
        return Err(ElfError::NotExec(e_type));
    }
    let entry = u64_at(bytes, 24).ok_or(short)?;
    let phoff = u64_at(bytes, 32).ok_or(short)?;
    let phentsize = u16_at(bytes, 54).ok_or(short)? as u64;
    let phnum = u16_at(bytes, 56).ok_or(short)? as u64;
    if phnum > 0 && phentsize < 56 {
        return Err(ElfError::BadProgramHeaders);
    }
    let mut image = Image {
        entry,
        loads: [Load::default(); MAX_LOADS],
        count: 0,
    };
    for i in 0..phnum {
        let at = phoff
            .checked_add(i * phentsize)
            .and_then(|a| usize::try_from(a).ok())
            .filter(|a| a.checked_add(48).is_some())
            .ok_or(ElfError::BadProgramHeaders)?;
        let bad = ElfError::BadProgramHeaders;
        if u32_at(bytes, at).ok_or(bad)? != PT_LOAD {
            continue;
        }
        if image.count == MAX_LOADS {
            return Err(ElfError::TooManyLoads);
        }
        image.loads[image.count] = Load {
            flags: u32_at(bytes, at + 4).ok_or(bad)?,
            offset: u64_at(bytes, at + 8).ok_or(bad)?,
            vaddr: u64_at(bytes, at + 16).ok_or(bad)?,
            filesz: u64_at(bytes, at + 32).ok_or(bad)?,
            memsz: u64_at(bytes, at + 40).ok_or(bad)?,
            header: at as u64,
        };
        image.count += 1;
    }
    check_loads(image.loads(), bytes.len() as u64)?;
    Ok(image)
}

/// The segment rules alone (for a caller that parsed the headers itself).
pub fn check_loads(loads: &[Load], file_len: u64) -> Result<(), ElfError> {
    if loads.is_empty() {
        return Err(ElfError::NoLoad);
    }
    for (i, l) in loads.iter().enumerate() {
        match l.vaddr.checked_add(l.memsz) {
            Some(end) if l.memsz > 0 && l.vaddr >= ELF_WINDOW_START && end <= KERNEL_INFO => {}
            _ => return Err(ElfError::OutsideWindow(i)),
        }
        if l.filesz > l.memsz {
            return Err(ElfError::FileSizeAboveMemSize(i));
        }
        if l.offset.checked_add(l.filesz).is_none_or(|e| e > file_len) {
            return Err(ElfError::PastEndOfFile(i));
        }
    }
    for (i, a) in loads.iter().enumerate() {
        for (j, b) in loads.iter().enumerate().skip(i + 1) {
            if let (Some((a0, a1)), Some((b0, b1))) = (a.pages(), b.pages())
                && a0 <= b1
                && b0 <= a1
            {
                return Err(ElfError::SharedPage(i, j, a0.max(b0) * PAGE_SIZE));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A minimal ELF with the given segments (vaddr, memsz, filesz).
    fn elf(segs: &[(u64, u64, u64)]) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56 * segs.len() + 0x100];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[24..32].copy_from_slice(&0x40_1000u64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (i, &(v, m, f)) in segs.iter().enumerate() {
            let at = 64 + 56 * i;
            b[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&5u32.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&v.to_le_bytes());
            b[at + 32..at + 40].copy_from_slice(&f.to_le_bytes());
            b[at + 40..at + 48].copy_from_slice(&m.to_le_bytes());
        }
        b
    }

    #[test]
    fn accepts_the_kernels_files_and_refuses_the_rest() {
        let ok = parse(&elf(&[(0x40_0000, 0x100, 0x100), (0x40_1000, 0x2000, 0)])).unwrap();
        assert_eq!(ok.entry, 0x40_1000);
        assert_eq!(ok.loads().len(), 2);
        assert_eq!(parse(b"\x7fEL"), Err(ElfError::BadMagic));
        assert_eq!(parse(b"\x7fELF"), Err(ElfError::TooShort));
        let mut b = elf(&[(0x40_0000, 0x100, 0x100)]);
        b[4] = 1;
        assert_eq!(parse(&b), Err(ElfError::NotElf64));
        let mut b = elf(&[(0x40_0000, 0x100, 0x100)]);
        b[18] = 3;
        assert_eq!(parse(&b), Err(ElfError::NotX86_64(3)));
        let mut b = elf(&[(0x40_0000, 0x100, 0x100)]);
        b[16] = 3;
        assert_eq!(parse(&b), Err(ElfError::NotExec(3)));
        assert_eq!(parse(&elf(&[])), Err(ElfError::NoLoad));
        assert_eq!(
            parse(&elf(&[(0x1000, 0x100, 0)])),
            Err(ElfError::OutsideWindow(0))
        );
        assert_eq!(
            parse(&elf(&[(0x04FF_E000, 0x2000, 0)])),
            Err(ElfError::OutsideWindow(0))
        );
        assert_eq!(
            parse(&elf(&[(0x40_0000, 0x100, 0x200)])),
            Err(ElfError::FileSizeAboveMemSize(0))
        );
        assert_eq!(
            parse(&elf(&[(0x40_0000, 0x100000, 0x100000)])),
            Err(ElfError::PastEndOfFile(0))
        );
        assert_eq!(
            parse(&elf(&[(0x40_0000, 0x100, 0), (0x40_0800, 0x100, 0)])),
            Err(ElfError::SharedPage(0, 1, 0x40_0000))
        );
    }

    #[test]
    fn the_entry_must_lie_in_an_executable_segments_file_bytes() {
        let mut b = elf(&[(0x40_1000, 0x100, 0x80)]);
        assert_eq!(parse(&b).unwrap().entry_segment(), Some(0));
        b[24..32].copy_from_slice(&0x40_1080u64.to_le_bytes()); // in .bss
        assert_eq!(parse(&b).unwrap().entry_segment(), None);
        let mut b = elf(&[(0x40_1000, 0x100, 0x80)]);
        b[64 + 4] = 4; // read-only
        assert_eq!(parse(&b).unwrap().entry_segment(), None);
    }
}

#[cfg(test)]
mod fuzz_findings {
    /// Found by `cargo xtask fuzz elf_loader`: a program header offset near `u64::MAX` made
    /// `at + 8` overflow (a panic, in the hosted stub's loader and in check-elf).
    #[test]
    fn huge_program_header_offsets_are_refused() {
        let bytes = include_bytes!("../tests/data/elf-phoff-overflow.bin");
        assert_eq!(
            super::parse(bytes).unwrap_err(),
            super::ElfError::BadProgramHeaders
        );
    }
}
