//! `cargo xtask check-elf`: will the Merriwig kernel load this file, and can it run it?
//!
//! The loader (ABI document §4.5) takes ELF64 x86-64 little-endian `ET_EXEC` files, applies no
//! relocations, runs no interpreter, sets up no TLS, maps each PT_LOAD segment's pages inside
//! the window `[0x20_0000, 0x04FF_F000)` and fails when two segments share a page; the whole
//! file is copied into the 1 MiB kernel heap. The kernel never enables SSE (and does not save
//! x87 state), so any instruction on MMX/XMM/YMM/ZMM/mask/x87 registers, or on the SSE control
//! state, halts the machine or corrupts other threads.
//!
//! The loader's own rules (header, PT_LOAD window, shared pages, file bytes, and an entry inside
//! an executable segment) are `libeurali::elf`'s, the very parser the hosted stub loads with;
//! this module adds what only a build check can see: no PT_INTERP/PT_DYNAMIC/PT_TLS, no
//! relocation or dynamic sections, the instruction scan, and the size limit.
//!
//! [`check`] returns every problem of one file's bytes; it never panics on any input.

use crate::Result;
use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, InstructionInfoFactory, IntelFormatter,
    Mnemonic, Register,
};
use libeurali::elf::ElfError;
use object::LittleEndian as LE;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
use std::path::PathBuf;

/// Files of this size or more are refused: exec copies the whole file into the kernel heap in
/// one piece. Measured on the real kernel (docs/design.md, "The kernel's heap"): the largest
/// free piece is some 580 KiB at the login prompt and 460 KiB at a shell prompt (the shell's
/// threads), so a file must stay well below the latter; big programs are packed.
pub const MAX_FILE_SIZE: usize = 384 * 1024;
/// How many offending instructions a report shows per file.
const MAX_REPORTED_INSTRUCTIONS: usize = 8;

/// Bytes of each kind of loaded segment, for the size table.
pub struct SegmentSizes {
    /// Executable segments (ELF headers included when they share the segment).
    pub code: u64,
    /// Read-only, non-executable segments.
    pub rodata: u64,
    /// Writable segments, `.bss` included.
    pub data: u64,
}

/// Checks each file and prints a line per file plus its problems; fails if any file has one.
pub fn check_files(files: &[PathBuf]) -> Result<()> {
    let mut bad = 0;
    for f in files {
        let problems = match std::fs::read(f) {
            Ok(bytes) => check(&bytes),
            Err(e) => vec![format!("cannot read: {e}")],
        };
        if problems.is_empty() {
            println!("ok    {}", f.display());
        } else {
            bad += 1;
            println!("FAIL  {}", f.display());
            for p in &problems {
                println!("        {p}");
            }
        }
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(format!(
            "{bad} of {} ELF files failed the checks",
            files.len()
        ))
    }
}

/// Every reason the kernel would refuse, or fail to run, this file. Empty means it is fine.
pub fn check(bytes: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if bytes.len() >= MAX_FILE_SIZE {
        problems.push(format!(
            "file is {} bytes; must be below {MAX_FILE_SIZE} (exec copies it into the kernel heap)",
            bytes.len()
        ));
    }
    if libeurali::sfx::packed_header(bytes).is_some() {
        check_packed(bytes, &mut problems);
    } else if let Err(e) = check_structure(bytes, &mut problems) {
        problems.push(e);
    }
    problems
}

/// A packed program (`libeurali::sfx`): the loader's rules and the entry; its code was checked
/// before it was packed (`cargo xtask build`), and the unpacker's with the rest.
fn check_packed(bytes: &[u8], problems: &mut Vec<String>) {
    match libeurali::elf::parse(bytes) {
        Ok(image) if image.entry_segment().is_none() => problems.push(format!(
            "entry {:#x} is not inside the file bytes of an executable PT_LOAD",
            image.entry
        )),
        Ok(_) => {}
        Err(e) => problems.push(format!("the kernel's loader refuses it: {e}")),
    }
}

/// [`check`] for init, which the kernel loads from its own image rather than exec'ing (ABI
/// §4.1): every rule but the size limit of exec's copy into the kernel heap.
pub fn check_init(bytes: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = check_structure(bytes, &mut problems) {
        problems.push(e);
    }
    problems
}

/// The loader's rules (`libeurali::elf`), then the program header, section and instruction
/// checks of a build. `Err` for a file that cannot be parsed far enough to go on.
fn check_structure(bytes: &[u8], problems: &mut Vec<String>) -> std::result::Result<(), String> {
    match libeurali::elf::parse(bytes) {
        Ok(image) => {
            if image.entry_segment().is_none() {
                problems.push(format!(
                    "entry {:#x} is not inside the file bytes of an executable PT_LOAD",
                    image.entry
                ));
            }
        }
        // Not an ELF64 little-endian file at all: nothing more can be read.
        Err(
            e @ (ElfError::BadMagic
            | ElfError::TooShort
            | ElfError::NotElf64
            | ElfError::NotLittleEndian),
        ) => return Err(e.to_string()),
        Err(e) => problems.push(format!("the kernel's loader refuses it: {e}")),
    }
    let header =
        elf::FileHeader64::<LE>::parse(bytes).map_err(|e| format!("bad ELF header: {e}"))?;
    let e = LE;
    let phdrs = header
        .program_headers(e, bytes)
        .map_err(|err| format!("bad program headers: {err}"))?;
    for ph in phdrs {
        match ph.p_type(e) {
            elf::PT_INTERP => problems.push("has PT_INTERP (no dynamic loader exists)".into()),
            elf::PT_DYNAMIC => problems.push("has PT_DYNAMIC (no dynamic linking exists)".into()),
            elf::PT_TLS => {
                problems.push("has PT_TLS (the kernel sets up no thread-local storage)".into())
            }
            _ => {}
        }
    }

    let sections = header
        .sections(e, bytes)
        .map_err(|err| format!("bad section headers: {err}"))?;
    let mut scanned_code = false;
    for sh in sections.iter() {
        let name = sections
            .section_name(e, sh)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        match sh.sh_type(e) {
            elf::SHT_REL | elf::SHT_RELA | elf::SHT_RELR => problems.push(format!(
                "relocation section `{name}` (the kernel applies no relocations)"
            )),
            elf::SHT_DYNAMIC | elf::SHT_DYNSYM => {
                problems.push(format!("dynamic-linking section `{name}`"))
            }
            elf::SHT_PROGBITS if sh.sh_flags(e).0 & elf::SHF_EXECINSTR.0 != 0 => {
                let data = sh
                    .data(e, bytes)
                    .map_err(|err| format!("section `{name}`: {err}"))?;
                scan_code(&name, data, sh.sh_addr(e), problems);
                scanned_code = true;
            }
            _ => {}
        }
    }
    if !scanned_code {
        problems
            .push("no executable section headers, so the code cannot be checked for SSE".into());
    }
    Ok(())
}

/// Decodes `code` (loaded at `addr`) and records instructions the kernel cannot run.
fn scan_code(section: &str, code: &[u8], addr: u64, problems: &mut Vec<String>) {
    let offenders = simd_instructions(code, addr);
    if offenders.is_empty() {
        return;
    }
    problems.push(format!(
        "`{section}` has {} instruction(s) using SSE/AVX/MMX/x87 state (the kernel enables none of it):",
        offenders.len()
    ));
    for (ip, text) in offenders.iter().take(MAX_REPORTED_INSTRUCTIONS) {
        problems.push(format!("  {ip:#x}: {text}"));
    }
    if offenders.len() > MAX_REPORTED_INSTRUCTIONS {
        problems.push(format!(
            "  ... and {} more",
            offenders.len() - MAX_REPORTED_INSTRUCTIONS
        ));
    }
}

/// `(address, Intel syntax)` of every instruction in `code` that touches a vector, mask, MMX or
/// x87 register (explicitly or implicitly), or the SSE/x87 control and save state.
pub fn simd_instructions(code: &[u8], addr: u64) -> Vec<(u64, String)> {
    let mut decoder = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    let mut info = InstructionInfoFactory::new();
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_hex_prefix("0x");
    formatter.options_mut().set_hex_suffix("");
    formatter.options_mut().set_uppercase_hex(false);
    let mut instr = Instruction::default();
    let mut found = Vec::new();
    while decoder.can_decode() {
        decoder.decode_out(&mut instr);
        if instr.is_invalid() {
            continue;
        }
        let uses_state = matches!(
            instr.mnemonic(),
            Mnemonic::Ldmxcsr
                | Mnemonic::Stmxcsr
                | Mnemonic::Vldmxcsr
                | Mnemonic::Vstmxcsr
                | Mnemonic::Fxsave
                | Mnemonic::Fxsave64
                | Mnemonic::Fxrstor
                | Mnemonic::Fxrstor64
                | Mnemonic::Emms
                | Mnemonic::Femms
        );
        if uses_state
            || info
                .info(&instr)
                .used_registers()
                .iter()
                .any(|u| forbidden(u.register()))
        {
            let mut text = String::new();
            formatter.format(&instr, &mut text);
            found.push((instr.ip(), text));
        }
    }
    found
}

fn forbidden(r: Register) -> bool {
    r.is_xmm() || r.is_ymm() || r.is_zmm() || r.is_mm() || r.is_k() || r.is_tmm() || r.is_st()
}

/// Loaded bytes by segment kind, or `None` for a file that is not a parsable ELF64.
pub fn segment_sizes(bytes: &[u8]) -> Option<SegmentSizes> {
    let header = elf::FileHeader64::<LE>::parse(bytes).ok()?;
    let mut s = SegmentSizes {
        code: 0,
        rodata: 0,
        data: 0,
    };
    for ph in header.program_headers(LE, bytes).ok()? {
        if ph.p_type(LE) != elf::PT_LOAD {
            continue;
        }
        let flags = ph.p_flags(LE).0;
        let slot = if flags & elf::PF_X.0 != 0 {
            &mut s.code
        } else if flags & elf::PF_W.0 != 0 {
            &mut s.data
        } else {
            &mut s.rodata
        };
        *slot += ph.p_memsz(LE);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libeurali::abi::layout::PAGE_SIZE;

    /// `e_ident`: the positions of the class and data-encoding bytes.
    const EI_CLASS: usize = 4;
    const EI_DATA: usize = 5;

    /// A segment of a hand-made test ELF: `code` bytes at `vaddr` (memsz = len + bss).
    struct Seg {
        vaddr: u64,
        flags: u32,
        bytes: Vec<u8>,
        bss: u64,
        p_type: u32,
    }

    fn load(vaddr: u64, flags: u32, bytes: &[u8]) -> Seg {
        Seg {
            vaddr,
            flags,
            bytes: bytes.to_vec(),
            bss: 0,
            p_type: elf::PT_LOAD.0,
        }
    }

    /// `mov rax, rbx; xor eax, eax; ret` and friends: nothing forbidden.
    const PLAIN: &[u8] = &[0x48, 0x89, 0xD8, 0x31, 0xC0, 0x0F, 0x05, 0xC3];

    /// Writes a minimal ELF64: header, program headers, segment bytes, then section headers
    /// (null, `.text` over the first executable segment, `.shstrtab`).
    fn make_elf(e_type: elf::FileType, entry: u64, segs: &[Seg]) -> Vec<u8> {
        let phoff = 64u64;
        let mut data_off = phoff + 56 * segs.len() as u64;
        let mut out = vec![0u8; data_off as usize];
        let mut ph = Vec::new();
        let mut text = None;
        for s in segs {
            let off = data_off;
            out.extend_from_slice(&s.bytes);
            data_off += s.bytes.len() as u64;
            let memsz = s.bytes.len() as u64 + s.bss;
            ph.push((s.p_type, s.flags, off, s.vaddr, s.bytes.len() as u64, memsz));
            if text.is_none() && s.flags & elf::PF_X.0 != 0 && s.p_type == elf::PT_LOAD.0 {
                text = Some((off, s.vaddr, s.bytes.len() as u64));
            }
        }
        let shstrtab = b"\0.text\0.shstrtab\0";
        let shstr_off = out.len() as u64;
        out.extend_from_slice(shstrtab);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        let shoff = out.len() as u64;
        let mut sh = |name: u32, ty: u32, flags: u64, addr: u64, off: u64, size: u64| {
            let mut b = Vec::new();
            b.extend_from_slice(&name.to_le_bytes());
            b.extend_from_slice(&ty.to_le_bytes());
            b.extend_from_slice(&flags.to_le_bytes());
            b.extend_from_slice(&addr.to_le_bytes());
            b.extend_from_slice(&off.to_le_bytes());
            b.extend_from_slice(&size.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes()); // link
            b.extend_from_slice(&0u32.to_le_bytes()); // info
            b.extend_from_slice(&1u64.to_le_bytes()); // addralign
            b.extend_from_slice(&0u64.to_le_bytes()); // entsize
            out.extend_from_slice(&b);
        };
        sh(0, 0, 0, 0, 0, 0);
        let (toff, taddr, tsize) = text.unwrap_or((0, 0, 0));
        sh(
            1,
            elf::SHT_PROGBITS.0,
            elf::SHF_ALLOC.0 | elf::SHF_EXECINSTR.0,
            taddr,
            toff,
            tsize,
        );
        sh(7, elf::SHT_STRTAB.0, 0, 0, shstr_off, shstrtab.len() as u64);

        let mut h = Vec::new();
        h.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        h.extend_from_slice(&e_type.0.to_le_bytes());
        h.extend_from_slice(&elf::EM_X86_64.0.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&entry.to_le_bytes());
        h.extend_from_slice(&phoff.to_le_bytes());
        h.extend_from_slice(&shoff.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // flags
        h.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        h.extend_from_slice(&56u16.to_le_bytes()); // phentsize
        h.extend_from_slice(&(segs.len() as u16).to_le_bytes());
        h.extend_from_slice(&64u16.to_le_bytes()); // shentsize
        h.extend_from_slice(&3u16.to_le_bytes()); // shnum
        h.extend_from_slice(&2u16.to_le_bytes()); // shstrndx
        out[..64].copy_from_slice(&h);
        for (i, (ty, flags, off, vaddr, filesz, memsz)) in ph.into_iter().enumerate() {
            let at = 64 + 56 * i;
            let mut p = Vec::new();
            p.extend_from_slice(&ty.to_le_bytes());
            p.extend_from_slice(&flags.to_le_bytes());
            p.extend_from_slice(&off.to_le_bytes());
            p.extend_from_slice(&vaddr.to_le_bytes());
            p.extend_from_slice(&vaddr.to_le_bytes());
            p.extend_from_slice(&filesz.to_le_bytes());
            p.extend_from_slice(&memsz.to_le_bytes());
            p.extend_from_slice(&PAGE_SIZE.to_le_bytes());
            out[at..at + 56].copy_from_slice(&p);
        }
        out
    }

    fn good() -> Vec<u8> {
        make_elf(
            elf::ET_EXEC,
            0x40_1000,
            &[
                load(0x40_1000, 5, PLAIN),
                load(0x40_2000, 4, b"rodata"),
                Seg {
                    bss: 0x100,
                    ..load(0x40_3010, 6, b"data")
                },
            ],
        )
    }

    fn problems_mention(bytes: &[u8], needle: &str) -> bool {
        let p = check(bytes);
        assert!(!p.is_empty(), "expected a problem mentioning `{needle}`");
        p.iter().any(|m| m.contains(needle)) || panic!("no problem mentions `{needle}`: {p:?}")
    }

    #[test]
    fn a_well_formed_executable_passes() {
        assert_eq!(check(&good()), Vec::<String>::new());
        let s = segment_sizes(&good()).unwrap();
        assert_eq!(
            (s.code, s.rodata, s.data),
            (PLAIN.len() as u64, 6, 4 + 0x100)
        );
    }

    #[test]
    fn header_fields_are_checked() {
        assert!(problems_mention(
            &make_elf(elf::ET_DYN, 0x40_1000, &[load(0x40_1000, 5, PLAIN)]),
            "ET_EXEC"
        ));
        let mut b = good();
        b[18] = 3; // EM_386
        assert!(problems_mention(&b, "not x86-64"));
        let mut b = good();
        b[EI_CLASS] = elf::ELFCLASS32.0;
        assert!(problems_mention(&b, "not ELF64"));
        let mut b = good();
        b[EI_DATA] = elf::ELFDATA2MSB.0;
        assert!(problems_mention(&b, "little-endian"));
        assert!(problems_mention(b"#!/bin/sh\n", "not an ELF"));
        assert!(problems_mention(b"\x7fELF", "too short"));
    }

    #[test]
    fn truncated_or_garbage_files_never_panic() {
        let g = good();
        for n in 0..g.len() {
            let _ = check(&g[..n]);
        }
        let mut b = g.clone();
        for i in 16..64 {
            b[i] = 0xFF;
            let _ = check(&b);
        }
    }

    #[test]
    fn dynamic_interp_and_tls_are_refused() {
        for (ty, word) in [
            (elf::PT_INTERP, "PT_INTERP"),
            (elf::PT_DYNAMIC, "PT_DYNAMIC"),
            (elf::PT_TLS, "PT_TLS"),
        ] {
            let segs = [
                load(0x40_1000, 5, PLAIN),
                Seg {
                    p_type: ty.0,
                    ..load(0x40_2000, 4, b"x")
                },
            ];
            assert!(problems_mention(
                &make_elf(elf::ET_EXEC, 0x40_1000, &segs),
                word
            ));
        }
    }

    #[test]
    fn segments_must_lie_in_the_window() {
        let below = make_elf(elf::ET_EXEC, 0x1F_F000, &[load(0x1F_F000, 5, PLAIN)]);
        assert!(problems_mention(&below, "outside the ELF window"));
        let on_kernel_info = [
            load(0x40_1000, 5, PLAIN),
            Seg {
                bss: 0x1000,
                ..load(0x04FF_E000, 6, b"d")
            },
        ];
        assert!(problems_mention(
            &make_elf(elf::ET_EXEC, 0x40_1000, &on_kernel_info),
            "outside the ELF window"
        ));
        let just_below = [
            load(0x40_1000, 5, PLAIN),
            Seg {
                bss: 0xFFF,
                ..load(0x04FF_E000, 6, b"d")
            },
        ];
        assert_eq!(
            check(&make_elf(elf::ET_EXEC, 0x40_1000, &just_below)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn segments_may_not_share_a_page() {
        let segs = [load(0x40_1000, 5, PLAIN), load(0x40_1800, 4, b"rodata")];
        assert!(problems_mention(
            &make_elf(elf::ET_EXEC, 0x40_1000, &segs),
            "same 4 KiB page 0x401000"
        ));
        // .bss reaching into the next segment's page counts too.
        let segs = [
            Seg {
                bss: 0x1000,
                ..load(0x40_1000, 5, PLAIN)
            },
            load(0x40_2000, 4, b"r"),
        ];
        assert!(problems_mention(
            &make_elf(elf::ET_EXEC, 0x40_1000, &segs),
            "same 4 KiB page"
        ));
    }

    #[test]
    fn entry_must_be_in_loaded_code() {
        let segs = [load(0x40_1000, 5, PLAIN), load(0x40_2000, 4, b"rodata")];
        assert!(problems_mention(
            &make_elf(elf::ET_EXEC, 0x40_2000, &segs),
            "entry 0x402000"
        ));
        assert!(problems_mention(
            &make_elf(elf::ET_EXEC, 0x40_1000 + PLAIN.len() as u64, &segs),
            "entry"
        ));
    }

    #[test]
    fn big_files_are_refused() {
        let big = vec![0x90u8; MAX_FILE_SIZE];
        assert!(problems_mention(
            &make_elf(elf::ET_EXEC, 0x40_1000, &[load(0x40_1000, 5, &big)]),
            "below 393216"
        ));
    }

    #[test]
    fn vector_and_x87_instructions_are_reported_with_addresses() {
        let cases: &[(&[u8], &str)] = &[
            (&[0x0F, 0x28, 0xC1], "movaps xmm0,xmm1"),
            (&[0x66, 0x0F, 0xEF, 0xC0], "pxor xmm0,xmm0"),
            (&[0x0F, 0xEF, 0xC0], "pxor mm0,mm0"),
            (&[0xC5, 0xFC, 0x28, 0xC1], "vmovaps ymm0,ymm1"),
            (&[0x0F, 0xAE, 0x10], "ldmxcsr"),
            (&[0xD9, 0xC0], "fld st"),
            (&[0x0F, 0x77], "emms"),
            (&[0xF3, 0x0F, 0x7E, 0x04, 0x24], "movq xmm0"),
        ];
        for (bytes, text) in cases {
            let mut code = PLAIN.to_vec();
            code.extend_from_slice(bytes);
            let found = simd_instructions(&code, 0x40_1000);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].0, 0x40_1000 + PLAIN.len() as u64);
            assert!(found[0].1.starts_with(text), "{} vs {text}", found[0].1);
            assert!(problems_mention(
                &make_elf(elf::ET_EXEC, 0x40_1000, &[load(0x40_1000, 5, &code)]),
                "SSE/AVX/MMX/x87"
            ));
        }
    }

    #[test]
    fn plain_integer_code_passes_the_scan() {
        // rep stosb, syscall, rdtsc, lock cmpxchg, int3 padding, ud2.
        let code = [
            0xF3, 0xAA, 0x0F, 0x05, 0x0F, 0x31, 0xF0, 0x48, 0x0F, 0xB1, 0x0A, 0xCC, 0xCC, 0x0F,
            0x0B,
        ];
        assert!(simd_instructions(&code, 0x40_1000).is_empty());
    }
}
