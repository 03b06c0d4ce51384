//! Packed programs: an ELF that carries its program compressed and unpacks it in place.
//!
//! The real kernel copies the whole file of every exec into its 1 MiB heap, in one piece, next
//! to every thread's 8 KiB kernel stack (ABI §4.5). The shell, which carries the coreutils,
//! was 510 KB: after a logout had split the heap, the next login could not start it. So every
//! program in `/bin` is packed (`cargo xtask build`): the file the kernel copies is the
//! unpacker's few KiB and the program deflated, well under half its size.
//!
//! A packed file has the unpacker's own segments (`programs/unpack`, linked at
//! [`UNPACKER_BASE`]), one read-only segment at [`PAYLOAD_ADDR`] holding a [`Header`] and the
//! zlib stream, and one segment with no file bytes covering the program's memory
//! (`[dest, dest + dest_len)`, read-write-execute as the kernel maps every page). The entry is
//! the unpacker's: it keeps the entry registers (heap, args, env), inflates the stream into
//! the program's memory (text, data and zeroed .bss alike, so every page is written), checks
//! the Adler-32, puts the registers and the stack pointer back and jumps to the program's
//! entry. The payload and the unpacker stay mapped (a process gives no frame back before its
//! end: docs/design.md, "Frames").
//!
//! Exec without the payload: the kernel copies the whole file through its heap, in one piece,
//! and a 296 KB shell needed a piece that size; the heap's free space, split by the kernel
//! stacks of the threads alive, often has none (a user's background jobs were enough to keep
//! root from logging in). So a parent splits a packed file ([`split`]): it execs the head (the
//! ELF, the unpacker and a payload segment of [`CHUNK_MAGIC`] only: 12 KB) and sends the
//! payload in a memory chunk, whose frames are not the kernel's heap, on a rendezvous mounted
//! at [`PAYLOAD_PATH`] in the child's namespace (`msgtype::SFX_PAYLOAD`). The unpacker takes
//! the mount away, receives the chunk and inflates from it. A packed file exec'd whole (by
//! another userland, or by hand) still unpacks from its own payload segment.

/// Where a split head's unpacker receives its payload.
pub const PAYLOAD_PATH: &str = "/.eurali/payload";
/// The payload segment of a split head starts so, and then holds the payload's [`Header`]: the
/// payload comes in a chunk, and must carry that same header (a payload of another program is
/// refused rather than inflated over memory the head does not have).
pub const CHUNK_MAGIC: [u8; 8] = *b"EURALCHK";
/// Bytes of a split head's payload segment: [`CHUNK_MAGIC`], then the [`Header`].
pub const CHUNK_SEGMENT_LEN: usize = 8 + HEADER_LEN;

/// Splits a packed file for exec: the head to exec (the file up to its payload, whose segment
/// then holds [`CHUNK_MAGIC`] and the payload's header) and the payload bytes to send. `None`
/// if `elf` is not a packed file whose payload is its last bytes (as [`pack`] makes it).
#[cfg(feature = "alloc")]
pub fn split(elf: &[u8]) -> Option<(alloc::vec::Vec<u8>, &[u8])> {
    let image = crate::elf::parse(elf).ok()?;
    let l = image.loads().iter().find(|l| l.vaddr == PAYLOAD_ADDR)?;
    let (offset, ph) = (
        usize::try_from(l.offset).ok()?,
        usize::try_from(l.header).ok()?,
    );
    if l.offset.checked_add(l.filesz)? != elf.len() as u64 || ph + 56 > offset {
        return None;
    }
    let payload = &elf[offset..];
    Header::from_bytes(payload)?;
    let mut head = alloc::vec::Vec::with_capacity(offset + CHUNK_SEGMENT_LEN);
    head.extend_from_slice(&elf[..offset]);
    head.extend_from_slice(&CHUNK_MAGIC);
    head.extend_from_slice(&payload[..HEADER_LEN]);
    let len = (CHUNK_SEGMENT_LEN as u64).to_le_bytes();
    head[ph + 32..ph + 40].copy_from_slice(&len); // p_filesz
    head[ph + 40..ph + 48].copy_from_slice(&len); // p_memsz
    Some((head, payload))
}

/// Where the unpacker is linked: above any program (programs start at 0x40_0000 and are well
/// under 8 MiB of memory), below the payload.
pub const UNPACKER_BASE: u64 = 0x0400_0000;
/// Where the payload ([`Header`] then the zlib stream) is loaded.
pub const PAYLOAD_ADDR: u64 = 0x0420_0000;
/// First bytes of the payload.
pub const MAGIC: [u8; 8] = *b"EURALSFX";
/// Bytes of a [`Header`] in the payload.
pub const HEADER_LEN: usize = 40;

/// What the unpacker needs to know, at the start of the payload (little-endian u64s after
/// [`MAGIC`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The program's memory: first address (page-aligned) and length (whole pages).
    pub dest: u64,
    pub dest_len: u64,
    /// The program's entry point.
    pub entry: u64,
    /// Bytes of the zlib stream after the header.
    pub packed_len: u64,
}

impl Header {
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(&MAGIC);
        for (i, v) in [self.dest, self.dest_len, self.entry, self.packed_len]
            .into_iter()
            .enumerate()
        {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// The header at the start of `b`, if `b` starts with [`MAGIC`].
    pub fn from_bytes(b: &[u8]) -> Option<Header> {
        if b.len() < HEADER_LEN || b[..8] != MAGIC {
            return None;
        }
        let at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[8 + 8 * i..16 + 8 * i]);
            u64::from_le_bytes(w)
        };
        Some(Header {
            dest: at(0),
            dest_len: at(1),
            entry: at(2),
            packed_len: at(3),
        })
    }
}

/// Why a program cannot be packed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackError {
    /// The program or the unpacker breaks the loader's rules.
    Elf(&'static str, crate::elf::ElfError),
    /// The program's memory reaches the unpacker, or the payload the KernelInfo page.
    Layout(&'static str),
    /// The program is already packed.
    AlreadyPacked,
}

impl core::fmt::Display for PackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PackError::Elf(which, e) => write!(f, "{which}: {e}"),
            PackError::Layout(why) => write!(f, "{why}"),
            PackError::AlreadyPacked => write!(f, "already packed"),
        }
    }
}

/// The header of a packed file, if `elf` is one (a PT_LOAD at [`PAYLOAD_ADDR`] starting with
/// [`MAGIC`]).
pub fn packed_header(elf: &[u8]) -> Option<Header> {
    let image = crate::elf::parse(elf).ok()?;
    let l = image.loads().iter().find(|l| l.vaddr == PAYLOAD_ADDR)?;
    let start = usize::try_from(l.offset).ok()?;
    Header::from_bytes(elf.get(start..start.checked_add(l.filesz as usize)?)?)
}

#[cfg(feature = "alloc")]
const PAGE: u64 = crate::abi::layout::PAGE_SIZE;

/// Packs `program` behind `unpacker` (both ELF files the loader accepts), compressing the
/// program's memory image with `zlib` (a zlib stream the unpacker inflates).
#[cfg(feature = "alloc")]
pub fn pack(
    program: &[u8],
    unpacker: &[u8],
    zlib: impl FnOnce(&[u8]) -> alloc::vec::Vec<u8>,
) -> Result<alloc::vec::Vec<u8>, PackError> {
    use alloc::vec::Vec;
    if packed_header(program).is_some() {
        return Err(PackError::AlreadyPacked);
    }
    let prog = crate::elf::parse(program).map_err(|e| PackError::Elf("program", e))?;
    let head = crate::elf::parse(unpacker).map_err(|e| PackError::Elf("unpacker", e))?;
    let lo = prog.loads().iter().map(|l| l.vaddr).min().unwrap_or(0) & !(PAGE - 1);
    let hi = prog
        .loads()
        .iter()
        .map(|l| (l.vaddr + l.memsz).div_ceil(PAGE) * PAGE)
        .max()
        .unwrap_or(0);
    if hi > UNPACKER_BASE {
        return Err(PackError::Layout(
            "the program's memory reaches the unpacker's",
        ));
    }
    let head_end = head
        .loads()
        .iter()
        .map(|l| l.vaddr + l.memsz)
        .max()
        .unwrap_or(0);
    if head.loads().iter().any(|l| l.vaddr < UNPACKER_BASE) || head_end > PAYLOAD_ADDR {
        return Err(PackError::Layout(
            "the unpacker is not linked at UNPACKER_BASE",
        ));
    }
    // The program's memory as the kernel would leave it, with zeros where it leaves garbage.
    let mut memory = alloc::vec![0u8; (hi - lo) as usize];
    for l in prog.loads() {
        let at = (l.vaddr - lo) as usize;
        let bytes = &program[l.offset as usize..(l.offset + l.filesz) as usize];
        memory[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let stream = zlib(&memory);
    drop(memory);
    let header = Header {
        dest: lo,
        dest_len: hi - lo,
        entry: prog.entry,
        packed_len: stream.len() as u64,
    };
    let payload_len = (HEADER_LEN + stream.len()) as u64;
    if PAYLOAD_ADDR + payload_len > crate::abi::layout::KERNEL_INFO {
        return Err(PackError::Layout("the payload reaches the KernelInfo page"));
    }

    // Segments: (vaddr, memsz, flags, file bytes).
    let mut segs: Vec<(u64, u64, u32, Vec<u8>)> = Vec::new();
    segs.push((lo, hi - lo, 7, Vec::new()));
    for l in head.loads() {
        let bytes = unpacker[l.offset as usize..(l.offset + l.filesz) as usize].to_vec();
        segs.push((l.vaddr, l.memsz, l.flags, bytes));
    }
    let mut payload = Vec::with_capacity(payload_len as usize);
    payload.extend_from_slice(&header.to_bytes());
    payload.extend_from_slice(&stream);
    segs.push((PAYLOAD_ADDR, payload_len, 4, payload));

    // ELF header, program headers, then each segment's bytes in turn. (Offsets are not kept
    // congruent with addresses modulo the page size: the kernel and the hosted loader copy
    // segments, they never map the file, and padding would be copied through the kernel's heap.)
    const EHDR: usize = 64;
    const PHDR: usize = 56;
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&62u16.to_le_bytes()); // x86-64
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&head.entry.to_le_bytes());
    out.extend_from_slice(&(EHDR as u64).to_le_bytes()); // phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // shoff
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&(EHDR as u16).to_le_bytes());
    out.extend_from_slice(&(PHDR as u16).to_le_bytes());
    out.extend_from_slice(&(segs.len() as u16).to_le_bytes());
    out.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    out.extend_from_slice(&0u16.to_le_bytes()); // shnum
    out.extend_from_slice(&0u16.to_le_bytes()); // shstrndx
    let mut offset = (EHDR + PHDR * segs.len()) as u64;
    for (vaddr, memsz, flags, bytes) in &segs {
        let off = if bytes.is_empty() { 0 } else { offset };
        out.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&vaddr.to_le_bytes());
        out.extend_from_slice(&vaddr.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&memsz.to_le_bytes());
        out.extend_from_slice(&PAGE.to_le_bytes());
        offset += bytes.len() as u64;
    }
    for (_, _, _, bytes) in &segs {
        out.extend_from_slice(bytes);
    }
    crate::elf::parse(&out).map_err(|e| PackError::Elf("packed file", e))?;
    Ok(out)
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_refusals() {
        let h = Header {
            dest: 0x40_0000,
            dest_len: 0x8_0000,
            entry: 0x40_1234,
            packed_len: 99,
        };
        assert_eq!(Header::from_bytes(&h.to_bytes()), Some(h));
        assert_eq!(Header::from_bytes(&h.to_bytes()[..HEADER_LEN - 1]), None);
        let mut bad = h.to_bytes();
        bad[0] = b'X';
        assert_eq!(Header::from_bytes(&bad), None);
        assert_eq!(packed_header(b"not an elf"), None);
    }
}
