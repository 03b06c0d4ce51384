//! Byte formats the kernel reads or writes besides registers: the exec parameter string (§4.6),
//! the args/env blocks at process entry (§4.2) and the `list_mounts` text (§5.1).
//!
//! Each format has its writer and its reader here, used by programs and by `kernel-stub` alike.
//! Readers take any bytes and never panic.

use crate::error::Error;

/// Separator of args and of env records inside their blocks (upstream convention, kept so that
/// upstream programs and ours read each other's blocks).
pub const FIELD_SEP: u8 = 0x03;

/// Most bytes of arguments and environment a program can be started with (each arg and each
/// `KEY=VALUE` record counted with one separator byte): Linux's per-string `MAX_ARG_STRLEN`.
/// Past [`ARGS_ENV_LIMIT`](crate::abi::layout::ARGS_ENV_LIMIT) (what exec's page holds) they
/// travel in a chunk ([`crate::msgtype::EXEC_ARGS`]); past this, starting the program fails
/// with E2BIG ("argument list too long"). A child copies them into its 4 MiB heap.
pub const ARGS_MAX: usize = 128 * 1024;

/// Length of each of the heap fence's two mount paths (see [`heap_fence_path`]).
pub const HEAP_FENCE_LEN: usize = 8 * 1024;

/// One of the heap fence's paths, `which` 0 or 1, [`HEAP_FENCE_LEN`] bytes.
#[cfg(feature = "alloc")]
fn fence_path(which: u8) -> alloc::string::String {
    let mut s = alloc::string::String::with_capacity(HEAP_FENCE_LEN);
    s.push_str("/.eurali/fence-");
    s.push(char::from(b'a' + which));
    while s.len() < HEAP_FENCE_LEN {
        s.push('f');
    }
    s
}

/// The mount path the heap fence leaves in the child's namespace; the child's runtime removes
/// it first thing.
///
/// Why: the real kernel copies the ELF into its 1 MiB heap (first fit, in one piece) and then
/// takes the new thread's 8 KiB kernel stack from the same heap, where it lands right above the
/// copy unless a free piece of 8 KiB lies lower. Freed, the copy leaves a hole under a stack
/// that lives as long as the process: each long-lived process split the heap so, and once the
/// largest piece was smaller than the shell's ELF, login could not start the shell ("MEMORY").
///
/// The fence ([`ExecParams::heap_fence`]) is three items at the end of the parameter string:
/// mount a handle at path A, another at path B, remove A. The kernel gathers each path into a
/// vector that doubles up to 8 KiB and keeps an exact copy of it in the mount table. A's copy
/// may land in the hole the vector's growth left (in a heap without small holes it does); B's
/// then cannot (that hole is A's now), so it lands above B's vector, whose free leaves 8 KiB or
/// more under it; removing A frees more under B. The ELF (bigger) goes above all of them, the
/// stack into a piece below B's copy. A model of the heap (`kernel-stub`'s `kheap`) checks it
/// in fresh and fragmented heaps; docs/design.md, "The kernel's heap". It costs an exec 24 KiB
/// of the heap while it runs.
#[cfg(feature = "alloc")]
pub fn heap_fence_path() -> alloc::string::String {
    fence_path(1)
}

/// One item of an exec parameter string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamItem<'a> {
    /// `S`: the caller's VFS object itself.
    Share,
    /// `C`: a copy of the caller's mount list.
    Copy,
    /// `N`: a new, empty VFS.
    New,
    /// `m` digits delim path: move caller handle `handle` to `path` in the selected VFS. Digits
    /// that overflow saturate, which then names no handle.
    Mount { handle: u64, path: &'a [u8] },
    /// `-` path: remove `path` from the selected VFS.
    Umount { path: &'a [u8] },
    /// `A` bytes: the args block.
    Args(&'a [u8]),
    /// `E` bytes: the env block.
    Env(&'a [u8]),
}

/// Reads an exec parameter string item by item, as the kernel does, left to right. An unknown
/// item byte yields `Err(Error::Param)` and ends the iteration.
pub struct ParamParser<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> ParamParser<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        ParamParser {
            rest: bytes,
            failed: false,
        }
    }

    fn take_path(&mut self) -> &'a [u8] {
        let end = self
            .rest
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(self.rest.len());
        let path = &self.rest[..end];
        self.rest = &self.rest[(end + 1).min(self.rest.len())..];
        path
    }

    fn take_block(&mut self) -> &'a [u8] {
        let end = self
            .rest
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.rest.len());
        let block = &self.rest[..end];
        self.rest = &self.rest[(end + 1).min(self.rest.len())..];
        block
    }
}

impl<'a> Iterator for ParamParser<'a> {
    type Item = Result<ParamItem<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(Ok(match first {
            b'S' => ParamItem::Share,
            b'C' => ParamItem::Copy,
            b'N' => ParamItem::New,
            b'm' => {
                let digits = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let handle = self.rest[..digits].iter().fold(0u64, |n, d| {
                    n.saturating_mul(10).saturating_add((d - b'0') as u64)
                });
                // One delimiter byte (any non-digit), if there is one.
                self.rest = &self.rest[(digits + 1).min(self.rest.len())..];
                ParamItem::Mount {
                    handle,
                    path: self.take_path(),
                }
            }
            b'-' => ParamItem::Umount {
                path: self.take_path(),
            },
            b'A' => ParamItem::Args(self.take_block()),
            b'E' => ParamItem::Env(self.take_block()),
            _ => {
                self.failed = true;
                return Some(Err(Error::Param));
            }
        }))
    }
}

/// Splits a block into its fields (args, or `KEY=VALUE` env records). An empty block has none.
pub fn fields(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut it = block.split(|&b| b == FIELD_SEP);
    let empty = block.is_empty();
    core::iter::from_fn(move || if empty { None } else { it.next() })
}

/// Splits an env record at its first `=`; a record without one is a key with an empty value.
pub fn env_record(record: &[u8]) -> (&[u8], &[u8]) {
    match record.iter().position(|&b| b == b'=') {
        Some(i) => (&record[..i], &record[i + 1..]),
        None => (record, &[]),
    }
}

/// The bytes of a block at an entry-register address: a 4-byte signed length, then the bytes.
/// A null address (or a negative length) is an empty block.
///
/// # Safety
/// `addr` is 0 or points at a block laid out by the kernel (or the stub) that stays alive.
pub unsafe fn block_at<'a>(addr: u64) -> &'a [u8] {
    if addr == 0 {
        return &[];
    }
    // Safety: the caller promises a kernel-written block; the length field may be unaligned.
    unsafe {
        let n = core::ptr::read_unaligned(addr as *const i32);
        if n <= 0 {
            return &[];
        }
        core::slice::from_raw_parts((addr + 4) as *const u8, n as usize)
    }
}

/// Where the kernel puts the args and env blocks below a stack top (§4.2): args end exactly at
/// the top, their length field just below them, then the env bytes and the env length field.
/// Returns (args block address, env block address, entry RSP); a missing block is address 0.
pub fn block_layout(stack_top: u64, args_len: usize, env_len: usize) -> (u64, u64, u64) {
    let mut sp = stack_top;
    let mut args = 0;
    if args_len > 0 {
        sp -= args_len as u64 + 4;
        args = sp;
    }
    let mut env = 0;
    if env_len > 0 {
        sp -= env_len as u64 + 4;
        env = sp;
    }
    (args, env, sp)
}

/// The args and env of an exec parameter string that holds only those, as
/// `ExecParams::new().args(..).env(..)` writes them (`A` args NUL `E` env NUL): what
/// [`crate::msgtype::EXEC_ARGS`] carries. A reader for that one shape, smaller than
/// [`ParamParser`] (every program's runtime carries it); `None` for any other bytes.
pub fn args_and_env(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut items = bytes.split(|&b| b == 0);
    let args = items.next()?.strip_prefix(b"A")?;
    let env = items.next()?.strip_prefix(b"E")?;
    Some((args, env))
}

/// Writes exec parameter strings. Fails with [`Error::Param`] for bytes the format cannot carry
/// (a `:` in a path, NUL or the field separator inside an arg or env record, an `=` in a key)
/// and when the string would exceed the 16-bit length field.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecParams {
    bytes: alloc::vec::Vec<u8>,
}

#[cfg(feature = "alloc")]
impl ExecParams {
    pub fn new() -> Self {
        Self::default()
    }

    /// `S`: share the caller's VFS.
    pub fn share(mut self) -> Self {
        self.bytes.push(b'S');
        self
    }

    /// `C`: copy the caller's mount list.
    pub fn copy(mut self) -> Self {
        self.bytes.push(b'C');
        self
    }

    /// `N`: start from an empty VFS.
    pub fn new_namespace(mut self) -> Self {
        self.bytes.push(b'N');
        self
    }

    /// `m`: move handle number `handle` to `path` in the selected VFS.
    pub fn mount(mut self, handle: u32, path: &str) -> Result<Self, Error> {
        check_path(path)?;
        self.bytes
            .extend_from_slice(alloc::format!("m{handle}|{path}:").as_bytes());
        Ok(self)
    }

    /// The heap fence ([`heap_fence_path`]): `handles` mounted at its two paths, the first
    /// removed again. It must come last (the args, env and other mounts, gathered after it,
    /// could take the free piece it leaves for the stack).
    pub fn heap_fence(self, handles: [u32; 2]) -> Result<Self, Error> {
        let first = fence_path(0);
        self.mount(handles[0], &first)?
            .mount(handles[1], &heap_fence_path())?
            .umount(&first)
    }

    /// `-`: remove `path` (exact spelling) from the selected VFS.
    pub fn umount(mut self, path: &str) -> Result<Self, Error> {
        check_path(path)?;
        self.bytes.push(b'-');
        self.bytes.extend_from_slice(path.as_bytes());
        self.bytes.push(b':');
        Ok(self)
    }

    /// `A`: the args (args[0] is the program name by convention), each as the bytes it stands
    /// for ([`crate::text::bytes_from_text`]: the child's runtime makes the same text of them).
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Result<Self, Error> {
        self.bytes.push(b'A');
        for (i, a) in args.iter().enumerate() {
            let a = crate::text::bytes_from_text(a.as_ref());
            check_field(&a)?;
            if i > 0 {
                self.bytes.push(FIELD_SEP);
            }
            self.bytes.extend_from_slice(&a);
        }
        self.bytes.push(0);
        Ok(self)
    }

    /// `E`: the environment as `KEY=VALUE` records (bytes as for [`ExecParams::args`]).
    pub fn env<K: AsRef<str>, V: AsRef<str>>(mut self, vars: &[(K, V)]) -> Result<Self, Error> {
        self.bytes.push(b'E');
        for (i, (k, v)) in vars.iter().enumerate() {
            let (k, v) = (
                k.as_ref().as_bytes(),
                crate::text::bytes_from_text(v.as_ref()),
            );
            let v = &*v;
            check_field(k)?;
            check_field(v)?;
            if k.is_empty() || k.contains(&b'=') {
                return Err(Error::Param);
            }
            if i > 0 {
                self.bytes.push(FIELD_SEP);
            }
            self.bytes.extend_from_slice(k);
            self.bytes.push(b'=');
            self.bytes.extend_from_slice(v);
        }
        self.bytes.push(0);
        Ok(self)
    }

    /// The string so far, unchecked (for [`crate::msgtype::EXEC_ARGS`], which carries args and
    /// env items past the 16-bit length field).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The finished string; `Err(Param)` if it is longer than the kernel's 16-bit length field.
    /// (Args and env past [`ARGS_ENV_LIMIT`](crate::abi::layout::ARGS_ENV_LIMIT) pass: the
    /// kernel halts on them, and the ABI probe must be able to ask for that; std's `Command`
    /// and the stub's boot refuse them before they get here.)
    pub fn finish(self) -> Result<alloc::vec::Vec<u8>, Error> {
        if self.bytes.len() > crate::abi::layout::MAX_PARAM_LEN {
            return Err(Error::Param);
        }
        Ok(self.bytes)
    }
}

#[cfg(feature = "alloc")]
fn check_path(p: &str) -> Result<(), Error> {
    if p.contains(':') || p.contains('\0') {
        Err(Error::Param)
    } else {
        Ok(())
    }
}

#[cfg(feature = "alloc")]
fn check_field(f: &[u8]) -> Result<(), Error> {
    if f.contains(&0) || f.contains(&FIELD_SEP) {
        Err(Error::Param)
    } else {
        Ok(())
    }
}

/// Writes the kernel's `list_mounts` text: `[` then `"path",` per entry then `]` (§5.1; not
/// strict JSON: trailing comma, no escaping).
#[cfg(feature = "alloc")]
pub fn mount_list_text<'a>(paths: impl IntoIterator<Item = &'a str>) -> alloc::string::String {
    let mut s = alloc::string::String::from("[");
    for p in paths {
        s.push('"');
        s.push_str(p);
        s.push_str("\",");
    }
    s.push(']');
    s
}

/// Reads the `list_mounts` text back into paths. Paths are not escaped by the kernel, so an entry
/// ends at the first `",` that is followed by `"` or `]`. Returns `Err(Param)` for text that is
/// not of this form.
#[cfg(feature = "alloc")]
pub fn parse_mount_list(text: &[u8]) -> Result<alloc::vec::Vec<alloc::string::String>, Error> {
    let mut out = alloc::vec::Vec::new();
    let mut rest = text.strip_prefix(b"[").ok_or(Error::Param)?;
    loop {
        if rest == b"]" {
            return Ok(out);
        }
        rest = rest.strip_prefix(b"\"").ok_or(Error::Param)?;
        let end = (0..rest.len())
            .find(|&i| {
                rest[i..].starts_with(b"\",") && matches!(rest.get(i + 2), Some(b'"') | Some(b']'))
            })
            .ok_or(Error::Param)?;
        let path = core::str::from_utf8(&rest[..end]).map_err(|_| Error::Utf8)?;
        out.push(alloc::string::String::from(path));
        rest = &rest[end + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[cfg(feature = "alloc")]
    #[test]
    fn args_and_env_reads_what_exec_params_writes() {
        let p = ExecParams::new()
            .args(&["prog", "a b", ""])
            .unwrap()
            .env(&[("K", "v"), ("PATH", "/bin")])
            .unwrap();
        let (args, env) = args_and_env(p.as_bytes()).unwrap();
        assert_eq!(
            fields(args).collect::<Vec<_>>(),
            [&b"prog"[..], b"a b", b""]
        );
        assert_eq!(
            fields(env).map(env_record).collect::<Vec<_>>()[1],
            (&b"PATH"[..], &b"/bin"[..])
        );
        let p = ExecParams::new()
            .args(&["x"])
            .unwrap()
            .env::<&str, &str>(&[])
            .unwrap();
        assert_eq!(args_and_env(p.as_bytes()), Some((&b"x"[..], &b""[..])));
        for bad in [
            &b""[..],
            b"E\0A\0",
            b"Ax",
            b"Ax\0",
            b"Ax\0Q",
            b"m1|/a:Ax\0E\0",
        ] {
            assert_eq!(args_and_env(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parser_reads_every_item() {
        let s = b"m3|/dev/x:C-/tmp:Ahello\x03world\0Ek=v\0Nm|/a";
        let items: Vec<_> = ParamParser::new(s).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            items,
            [
                ParamItem::Mount {
                    handle: 3,
                    path: b"/dev/x"
                },
                ParamItem::Copy,
                ParamItem::Umount { path: b"/tmp" },
                ParamItem::Args(b"hello\x03world"),
                ParamItem::Env(b"k=v"),
                ParamItem::New,
                ParamItem::Mount {
                    handle: 0,
                    path: b"/a"
                },
            ]
        );
        let bad: Vec<_> = ParamParser::new(b"SxS").collect();
        assert_eq!(bad, [Ok(ParamItem::Share), Err(Error::Param)]);
        let huge: Vec<_> = ParamParser::new(b"m99999999999999999999999|/p").collect();
        assert_eq!(
            huge,
            [Ok(ParamItem::Mount {
                handle: u64::MAX,
                path: b"/p"
            })]
        );
        // Arbitrary bytes never panic.
        for n in 0..=255u8 {
            for m in [0u8, b'm', b'A', b':', b'|', b'9'] {
                let _ = ParamParser::new(&[b'm', n, m, n]).count();
                let _ = ParamParser::new(&[n, m]).count();
            }
        }
    }

    #[test]
    fn builder_output_parses_back() {
        let p = ExecParams::new()
            .copy()
            .mount(4, "/dev/console")
            .unwrap()
            .args(&["echo", "a b", ""])
            .unwrap()
            .env(&[("PWD", "/home"), ("X", "")])
            .unwrap()
            .finish()
            .unwrap();
        let items: Vec<_> = ParamParser::new(&p).collect::<Result<_, _>>().unwrap();
        assert_eq!(items[0], ParamItem::Copy);
        assert_eq!(
            items[1],
            ParamItem::Mount {
                handle: 4,
                path: b"/dev/console"
            }
        );
        let ParamItem::Args(a) = items[2] else {
            panic!()
        };
        assert_eq!(fields(a).collect::<Vec<_>>(), [&b"echo"[..], b"a b", b""]);
        let ParamItem::Env(e) = items[3] else {
            panic!()
        };
        let recs: Vec<_> = fields(e).map(env_record).collect();
        assert_eq!(recs, [(&b"PWD"[..], &b"/home"[..]), (b"X", b"")]);
        assert_eq!(
            ExecParams::new().args(&["a\x03"]).unwrap_err(),
            Error::Param
        );
        assert_eq!(
            ExecParams::new().mount(1, "/a:b").unwrap_err(),
            Error::Param
        );
        assert_eq!(
            ExecParams::new().env(&[("A=B", "c")]).unwrap_err(),
            Error::Param
        );
        assert_eq!(fields(b"").count(), 0);
        let long = "x".repeat(70_000);
        assert_eq!(
            ExecParams::new()
                .args(&[long])
                .unwrap()
                .finish()
                .unwrap_err(),
            Error::Param
        );
    }

    #[test]
    fn blocks_lie_as_the_kernel_puts_them() {
        // 12-byte args and 12-byte env with stack top T gave RDX = T-16, RDI = T-32 (§4.2).
        let t = 0x1000_0000;
        assert_eq!(block_layout(t, 12, 12), (t - 16, t - 32, t - 32));
        assert_eq!(block_layout(t, 0, 0), (0, 0, t));
        assert_eq!(block_layout(t, 1, 0), (t - 5, 0, t - 5));
        let mut mem = [0u8; 20];
        mem[..4].copy_from_slice(&5i32.to_le_bytes());
        mem[4..9].copy_from_slice(b"hello");
        // SAFETY: `mem` holds a block: its 4-byte length (5), then 5 bytes.
        assert_eq!(unsafe { block_at(mem.as_ptr() as u64) }, b"hello");
        // SAFETY: 0 is the empty block, as `block_at` allows.
        assert_eq!(unsafe { block_at(0) }, b"");
    }

    #[test]
    fn mount_list_round_trips() {
        assert_eq!(mount_list_text(["", "/dev/x"]), r#"["","/dev/x",]"#);
        assert_eq!(mount_list_text([]), "[]");
        let paths = ["/ramdisk", "/pci", "", "/a\",b", "/tcp"];
        let text = mount_list_text(paths);
        assert_eq!(parse_mount_list(text.as_bytes()).unwrap(), paths);
        assert!(parse_mount_list(b"[\"x\"]").is_err());
        assert!(parse_mount_list(b"").is_err());
    }
}
