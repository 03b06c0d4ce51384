//! The Merriwig register ABI, written once (ABI document §1, §2, §4.6).
//!
//! Plain data and pure functions, no `asm!`: the [`Registers`] a `syscall` instruction sees, the typed
//! [`Call`] they encode, and the words a call returns. Both the asm backend (through
//! [`crate::raw`]) and `kernel-stub` (which decodes the same [`Registers`] with [`Call::decode`])
//! use this module, so the encoding cannot drift between the real kernel and the stub.
//!
//! Invariants: [`Call::decode`] accepts every register file (unknown numbers become
//! [`Call::Unknown`]) and never panics; `Call::decode(&call.encode()) == call` for every call whose
//! fields fit their bit widths (checked by the tests at the bottom).

use crate::error::Error;

/// Syscall numbers (RAX bits 0..7).
pub mod nr {
    pub const FORK_THREAD: u8 = 0;
    pub const EXIT_THREAD: u8 = 1;
    pub const DEBUG_WRITE: u8 = 2;
    pub const RECEIVE: u8 = 3;
    pub const SEND: u8 = 4;
    pub const SEND_RECEIVE: u8 = 5;
    pub const OPEN: u8 = 6;
    pub const MALLOC: u8 = 7;
    pub const FREE: u8 = 8;
    pub const YIELD: u8 = 9;
    pub const NEW_RENDEZVOUS: u8 = 10;
    pub const COPY_RENDEZVOUS: u8 = 11;
    pub const EXEC: u8 = 12;
    pub const MOUNT: u8 = 13;
    pub const LIST_MOUNTS: u8 = 14;
    pub const UMOUNT: u8 = 15;
    pub const CLOSE: u8 = 16;
    pub const AWAIT_INTERRUPT: u8 = 17;
    /// Names, indexed by number.
    pub const NAMES: [&str; 18] = [
        "fork_thread",
        "exit_thread",
        "debug_write",
        "receive",
        "send",
        "send_receive",
        "open",
        "malloc",
        "free",
        "yield",
        "new_rendezvous",
        "copy_rendezvous",
        "exec",
        "mount",
        "list_mounts",
        "umount",
        "close",
        "await_interrupt",
    ];
}

/// Message control bits (RAX bits 8..12) and status bits (§1.3, §2.1).
pub mod bits {
    /// The message carries at least one handle, chunk or error word.
    pub const LONG: u64 = 0x100;
    pub const DATA2_SHIFT: u32 = 9;
    pub const DATA3_SHIFT: u32 = 11;
    /// All control bits of a message.
    pub const CONTROL_MASK: u64 = 0x1F00;
    /// Error code in a status word.
    pub const ERROR_MASK: u64 = 0x7F;
    /// The status word comes with the caller's message given back (§2.4).
    pub const CONTAINS_MESSAGE: u64 = 0x80;
    /// exec flag: child gets IOPL 3 (only if the caller has it).
    pub const EXEC_PERM_IO: u8 = 1;
}

/// Address-space facts of the kernel (§4.3, §4.4).
pub mod layout {
    /// Lowest address a PT_LOAD segment may use.
    pub const ELF_WINDOW_START: u64 = 0x0020_0000;
    /// Segments must end strictly below this.
    pub const ELF_WINDOW_END: u64 = 0x5000_0000;
    /// The read-only KernelInfo page; segments must stay below it.
    pub const KERNEL_INFO: u64 = 0x04FF_F000;
    /// Start of the 64 thread-stack slots.
    pub const STACKS_START: u64 = 0x0000_0280_0000_0000;
    /// Size of one stack slot: a guard page then seven stack pages.
    pub const STACK_SLOT_SIZE: u64 = 0x8000;
    /// Usable stack per thread.
    pub const STACK_SIZE: u64 = 7 * 4096;
    /// Threads per process.
    pub const MAX_THREADS: usize = 64;
    /// Heap start given in RAX at entry.
    pub const HEAP_START: u64 = 0x0000_0280_0060_0000;
    /// Heap size given in RCX at entry.
    pub const HEAP_SIZE: u64 = 0x40_0000;
    /// Base of chunk slot 0 (slot 0 itself is never used).
    pub const CHUNK_AREA: u64 = 0x0000_0280_0000_0000;
    /// One chunk slot.
    pub const CHUNK_SLOT_SIZE: u64 = 0x4000_0000;
    /// Usable chunk slots, numbered 1..=511.
    pub const CHUNK_SLOTS: usize = 511;
    /// Largest chunk in pages (one slot).
    pub const MAX_CHUNK_PAGES: u64 = CHUNK_SLOT_SIZE / PAGE_SIZE;
    /// Page size.
    pub const PAGE_SIZE: u64 = 4096;
    /// Args + env blocks + their two length fields must fit in one page.
    pub const ARGS_ENV_LIMIT: usize = 4096 - 8;
    /// Longest exec parameter string (16-bit field).
    pub const MAX_PARAM_LEN: usize = 0xFFFF;

    /// Base address of chunk slot `k` (1..=511).
    pub const fn chunk_slot_base(k: usize) -> u64 {
        CHUNK_AREA + k as u64 * CHUNK_SLOT_SIZE
    }

    /// The chunk slot an address lies in, if it lies in the chunk area.
    pub const fn chunk_slot_of(addr: u64) -> Option<usize> {
        if addr < chunk_slot_base(1) || addr >= chunk_slot_base(CHUNK_SLOTS + 1) {
            None
        } else {
            Some(((addr - CHUNK_AREA) / CHUNK_SLOT_SIZE) as usize)
        }
    }

    /// The stack slot (thread index) an address lies in, if it lies in the stack area.
    pub const fn stack_slot_of(addr: u64) -> Option<usize> {
        if addr < STACKS_START || addr >= STACKS_START + MAX_THREADS as u64 * STACK_SLOT_SIZE {
            None
        } else {
            Some(((addr - STACKS_START) / STACK_SLOT_SIZE) as usize)
        }
    }
}

/// The register file of one `syscall` (§1.1).
///
/// `rax`, `rdi`, `rsi`, `rdx` are the kernel's inputs and outputs. `r8` and `r9` are not arguments;
/// they are here because `fork_thread` hands every non-result register to the child unchanged, and
/// our thread start passes the child's entry point and argument in them (as upstream does). A
/// backend must preserve them on every other call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Registers {
    pub rax: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r8: u64,
    pub r9: u64,
}

impl Registers {
    /// The syscall number, RAX bits 0..7 (the only bits the kernel dispatches on).
    pub const fn number(&self) -> u8 {
        self.rax as u8
    }

    /// The error in a returned status word, if any.
    pub const fn error(&self) -> Option<Error> {
        Error::from_code((self.rax & bits::ERROR_MASK) as u8)
    }

    /// Whether a returned status word carries a message (CONTAINS_MESSAGE).
    pub const fn contains_message(&self) -> bool {
        self.rax & bits::CONTAINS_MESSAGE != 0
    }

    /// Set a plain error status (other registers unchanged, as the kernel does).
    pub fn set_error(&mut self, e: Error) {
        self.rax = e.code() as u64;
    }

    /// Set success status 0.
    pub fn set_ok(&mut self) {
        self.rax = 0;
    }
}

/// The kind of one message word, as in the 2-bit type fields (§2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WordKind {
    Value = 0,
    Handle = 1,
    Chunk = 2,
    /// Only on receive: the kernel could not map a chunk; the word is an error code.
    Err = 3,
}

impl WordKind {
    const fn from_bits(b: u64) -> WordKind {
        match b & 3 {
            0 => WordKind::Value,
            1 => WordKind::Handle,
            2 => WordKind::Chunk,
            _ => WordKind::Err,
        }
    }
}

/// One message word with its kind, as registers carry it: a handle number, a chunk address, a
/// plain value, or (on receive only) an error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawWord {
    pub kind: WordKind,
    pub bits: u64,
}

impl RawWord {
    pub const fn value(v: u64) -> RawWord {
        RawWord {
            kind: WordKind::Value,
            bits: v,
        }
    }
    pub const fn handle(h: u64) -> RawWord {
        RawWord {
            kind: WordKind::Handle,
            bits: h,
        }
    }
    pub const fn chunk(addr: u64) -> RawWord {
        RawWord {
            kind: WordKind::Chunk,
            bits: addr,
        }
    }
    pub const fn err(code: u64) -> RawWord {
        RawWord {
            kind: WordKind::Err,
            bits: code,
        }
    }
}

/// A message as three register words with their kinds (§2.1). data1 is always a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawMessage {
    pub data1: u64,
    pub data2: RawWord,
    pub data3: RawWord,
}

impl RawMessage {
    /// A message of three plain values.
    pub const fn short(data1: u64, data2: u64, data3: u64) -> RawMessage {
        RawMessage {
            data1,
            data2: RawWord::value(data2),
            data3: RawWord::value(data3),
        }
    }

    /// Whether any word is a handle, chunk or error: the kernel's condition for LONG on receive.
    pub const fn carries_objects(&self) -> bool {
        !matches!(self.data2.kind, WordKind::Value) || !matches!(self.data3.kind, WordKind::Value)
    }

    /// Control bits as a sender sets them: LONG plus the type fields (ERR is sent as a value, §2.1).
    pub const fn send_control(&self) -> u64 {
        let k2 = send_kind(self.data2.kind);
        let k3 = send_kind(self.data3.kind);
        if k2 == 0 && k3 == 0 {
            0
        } else {
            bits::LONG | (k2 << bits::DATA2_SHIFT) | (k3 << bits::DATA3_SHIFT)
        }
    }

    /// Control bits as the kernel sets them on delivery: LONG only when some word is not a value
    /// (a Long of values arrives Short, §2.1), type fields including ERR.
    pub const fn receive_control(&self) -> u64 {
        if !self.carries_objects() {
            0
        } else {
            bits::LONG
                | ((self.data2.kind as u64) << bits::DATA2_SHIFT)
                | ((self.data3.kind as u64) << bits::DATA3_SHIFT)
        }
    }

    /// Decode a message from control bits and three words. With LONG clear the type fields are
    /// ignored (§2.1).
    pub const fn from_control(control: u64, rdi: u64, rsi: u64, rdx: u64) -> RawMessage {
        let (k2, k3) = if control & bits::LONG == 0 {
            (WordKind::Value, WordKind::Value)
        } else {
            (
                WordKind::from_bits(control >> bits::DATA2_SHIFT),
                WordKind::from_bits(control >> bits::DATA3_SHIFT),
            )
        };
        RawMessage {
            data1: rdi,
            data2: RawWord {
                kind: k2,
                bits: rsi,
            },
            data3: RawWord {
                kind: k3,
                bits: rdx,
            },
        }
    }

    /// Decode a message as a sender's registers present it (ERR type bits read as values).
    pub const fn from_send(regs: &Registers) -> RawMessage {
        let mut m =
            RawMessage::from_control(regs.rax & bits::CONTROL_MASK, regs.rdi, regs.rsi, regs.rdx);
        if matches!(m.data2.kind, WordKind::Err) {
            m.data2.kind = WordKind::Value;
        }
        if matches!(m.data3.kind, WordKind::Err) {
            m.data3.kind = WordKind::Value;
        }
        m
    }

    /// Decode a message returned by receive / send_receive, or given back with CONTAINS_MESSAGE.
    pub const fn from_received(regs: &Registers) -> RawMessage {
        RawMessage::from_control(regs.rax & bits::CONTROL_MASK, regs.rdi, regs.rsi, regs.rdx)
    }

    /// Write this message into `regs` as the kernel delivers it, with status `error` (0 for a
    /// successful receive; an error plus CONTAINS_MESSAGE for a message given back, §2.4).
    pub fn deliver(&self, regs: &mut Registers, error: Option<Error>) {
        let status = match error {
            None => 0,
            Some(e) => e.code() as u64 | bits::CONTAINS_MESSAGE,
        };
        regs.rax = self.receive_control() | status;
        regs.rdi = self.data1;
        regs.rsi = self.data2.bits;
        regs.rdx = self.data3.bits;
    }
}

const fn send_kind(k: WordKind) -> u64 {
    match k {
        WordKind::Handle => 1,
        WordKind::Chunk => 2,
        WordKind::Value | WordKind::Err => 0,
    }
}

/// A pointer and a length into the caller's memory, as the kernel reads them (never checked by the
/// real kernel, §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserSlice {
    pub ptr: u64,
    pub len: u64,
}

/// The stdio handles and flags of an exec (§4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecCall {
    pub flags: u8,
    pub elf: UserSlice,
    pub stdin: u32,
    pub stdout: u32,
    /// Parameter string; `len` is at most 65535 (16-bit field).
    pub param: UserSlice,
}

/// One system call, decoded from (or to be encoded into) a [`Registers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// 0. The child starts with `r8`/`r9` as the parent had them.
    ForkThread { r8: u64, r9: u64 },
    /// 1.
    ExitThread,
    /// 2.
    DebugWrite(UserSlice),
    /// 3. The handle is the whole of RDI.
    Receive { handle: u64 },
    /// 4. The handle is RAX bits 32..63.
    Send { handle: u32, msg: RawMessage },
    /// 5.
    SendReceive { handle: u32, msg: RawMessage },
    /// 6.
    Open(UserSlice),
    /// 7.
    Malloc { pages: u64, max_physaddr: u64 },
    /// 8.
    Free { addr: u64 },
    /// 9.
    ///
    /// RDI is a hint the real kernel ignores (it reads no register of `yield`): how many
    /// microseconds the caller has nothing to do (it sleeps), 0 for a plain yield. kernel-stub
    /// lets the thread block for up to that long instead of running it again at once.
    Yield { idle_us: u64 },
    /// 10.
    NewRendezvous,
    /// 11.
    CopyRendezvous { handle: u64 },
    /// 12.
    Exec(ExecCall),
    /// 13. The handle is RAX bits 32..63.
    Mount { handle: u32, path: UserSlice },
    /// 14.
    ListMounts,
    /// 15.
    Umount(UserSlice),
    /// 16.
    Close { handle: u64 },
    /// 17. RDI is ignored by the kernel.
    AwaitInterrupt,
    /// Any number above 17: the kernel prints a line and leaves RAX unchanged.
    Unknown { rax: u64 },
}

impl Call {
    /// Decode the call a thread's registers make. Never fails: every bit pattern is some call.
    pub const fn decode(r: &Registers) -> Call {
        let hi32 = (r.rax >> 32) as u32;
        match r.number() {
            nr::FORK_THREAD => Call::ForkThread { r8: r.r8, r9: r.r9 },
            nr::EXIT_THREAD => Call::ExitThread,
            nr::DEBUG_WRITE => Call::DebugWrite(UserSlice {
                ptr: r.rdi,
                len: r.rsi,
            }),
            nr::RECEIVE => Call::Receive { handle: r.rdi },
            nr::SEND => Call::Send {
                handle: hi32,
                msg: RawMessage::from_send(r),
            },
            nr::SEND_RECEIVE => Call::SendReceive {
                handle: hi32,
                msg: RawMessage::from_send(r),
            },
            nr::OPEN => Call::Open(UserSlice {
                ptr: r.rdi,
                len: r.rsi,
            }),
            nr::MALLOC => Call::Malloc {
                pages: r.rdi,
                max_physaddr: r.rsi,
            },
            nr::FREE => Call::Free { addr: r.rdi },
            nr::YIELD => Call::Yield { idle_us: r.rdi },
            nr::NEW_RENDEZVOUS => Call::NewRendezvous,
            nr::COPY_RENDEZVOUS => Call::CopyRendezvous { handle: r.rdi },
            nr::EXEC => Call::Exec(ExecCall {
                flags: (r.rax >> 8) as u8,
                elf: UserSlice {
                    ptr: r.rdi,
                    len: hi32 as u64,
                },
                stdin: (r.rsi >> 32) as u32,
                stdout: r.rsi as u32,
                param: UserSlice {
                    ptr: r.rdx,
                    len: (r.rax >> 16) as u16 as u64,
                },
            }),
            nr::MOUNT => Call::Mount {
                handle: hi32,
                path: UserSlice {
                    ptr: r.rdi,
                    len: r.rsi,
                },
            },
            nr::LIST_MOUNTS => Call::ListMounts,
            nr::UMOUNT => Call::Umount(UserSlice {
                ptr: r.rdi,
                len: r.rsi,
            }),
            nr::CLOSE => Call::Close { handle: r.rdi },
            nr::AWAIT_INTERRUPT => Call::AwaitInterrupt,
            _ => Call::Unknown { rax: r.rax },
        }
    }

    /// Encode the call into a register file (registers a call does not use are zero).
    ///
    /// Fields wider than their register field are truncated exactly as the bit layout demands
    /// (exec's param length to 16 bits, its ELF length to 32 bits).
    pub const fn encode(&self) -> Registers {
        let mut r = Registers {
            rax: 0,
            rdi: 0,
            rsi: 0,
            rdx: 0,
            r8: 0,
            r9: 0,
        };
        match *self {
            Call::ForkThread { r8, r9 } => {
                r.rax = nr::FORK_THREAD as u64;
                r.r8 = r8;
                r.r9 = r9;
            }
            Call::ExitThread => r.rax = nr::EXIT_THREAD as u64,
            Call::DebugWrite(s) => {
                r.rax = nr::DEBUG_WRITE as u64;
                r.rdi = s.ptr;
                r.rsi = s.len;
            }
            Call::Receive { handle } => {
                r.rax = nr::RECEIVE as u64;
                r.rdi = handle;
            }
            Call::Send { handle, msg } | Call::SendReceive { handle, msg } => {
                let n = if matches!(self, Call::Send { .. }) {
                    nr::SEND
                } else {
                    nr::SEND_RECEIVE
                };
                r.rax = n as u64 | msg.send_control() | ((handle as u64) << 32);
                r.rdi = msg.data1;
                r.rsi = msg.data2.bits;
                r.rdx = msg.data3.bits;
            }
            Call::Open(s) => {
                r.rax = nr::OPEN as u64;
                r.rdi = s.ptr;
                r.rsi = s.len;
            }
            Call::Malloc {
                pages,
                max_physaddr,
            } => {
                r.rax = nr::MALLOC as u64;
                r.rdi = pages;
                r.rsi = max_physaddr;
            }
            Call::Free { addr } => {
                r.rax = nr::FREE as u64;
                r.rdi = addr;
            }
            Call::Yield { idle_us } => {
                r.rax = nr::YIELD as u64;
                r.rdi = idle_us;
            }
            Call::NewRendezvous => r.rax = nr::NEW_RENDEZVOUS as u64,
            Call::CopyRendezvous { handle } => {
                r.rax = nr::COPY_RENDEZVOUS as u64;
                r.rdi = handle;
            }
            Call::Exec(e) => {
                r.rax = nr::EXEC as u64
                    | (e.flags as u64) << 8
                    | ((e.param.len as u16 as u64) << 16)
                    | ((e.elf.len as u32 as u64) << 32);
                r.rdi = e.elf.ptr;
                r.rsi = ((e.stdin as u64) << 32) | e.stdout as u64;
                r.rdx = e.param.ptr;
            }
            Call::Mount { handle, path } => {
                r.rax = nr::MOUNT as u64 | ((handle as u64) << 32);
                r.rdi = path.ptr;
                r.rsi = path.len;
            }
            Call::ListMounts => r.rax = nr::LIST_MOUNTS as u64,
            Call::Umount(s) => {
                r.rax = nr::UMOUNT as u64;
                r.rdi = s.ptr;
                r.rsi = s.len;
            }
            Call::Close { handle } => {
                r.rax = nr::CLOSE as u64;
                r.rdi = handle;
            }
            Call::AwaitInterrupt => r.rax = nr::AWAIT_INTERRUPT as u64,
            Call::Unknown { rax } => r.rax = rax,
        }
        r
    }

    /// The syscall number's name, for logs and fault reports.
    pub const fn name(&self) -> &'static str {
        match self {
            Call::Unknown { .. } => "unknown",
            _ => nr::NAMES[self.encode().number() as usize],
        }
    }

    /// Whether the real kernel leaves RAX holding the call number instead of a status (§9.19).
    pub const fn returns_no_status(&self) -> bool {
        matches!(
            self,
            Call::Close { .. }
                | Call::Yield { .. }
                | Call::DebugWrite(_)
                | Call::AwaitInterrupt
                | Call::Unknown { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn msgs() -> [RawMessage; 6] {
        [
            RawMessage::short(1, 2, 3),
            RawMessage {
                data1: 7,
                data2: RawWord::handle(4),
                data3: RawWord::value(9),
            },
            RawMessage {
                data1: 7,
                data2: RawWord::value(9),
                data3: RawWord::chunk(layout::chunk_slot_base(3)),
            },
            RawMessage {
                data1: u64::MAX,
                data2: RawWord::chunk(layout::chunk_slot_base(1)),
                data3: RawWord::handle(0),
            },
            RawMessage {
                data1: 0,
                data2: RawWord::handle(u32::MAX as u64),
                data3: RawWord::handle(1),
            },
            RawMessage {
                data1: 5,
                data2: RawWord::value(0x20000),
                data3: RawWord::chunk(layout::chunk_slot_base(1)),
            },
        ]
    }

    #[test]
    fn every_call_round_trips() {
        let s = UserSlice {
            ptr: 0x40_1234,
            len: 17,
        };
        let mut calls = vec![
            Call::ForkThread {
                r8: 0x40_1000,
                r9: 42,
            },
            Call::ExitThread,
            Call::DebugWrite(s),
            Call::Receive { handle: 3 },
            Call::Receive { handle: u64::MAX },
            Call::Open(s),
            Call::Malloc {
                pages: 3,
                max_physaddr: 0xFFFF_FFFF,
            },
            Call::Free {
                addr: layout::chunk_slot_base(2) + 5,
            },
            Call::Yield { idle_us: 0 },
            Call::Yield { idle_us: 20_000 },
            Call::NewRendezvous,
            Call::CopyRendezvous { handle: 1 },
            Call::Exec(ExecCall {
                flags: 1,
                elf: UserSlice {
                    ptr: 0x40_0000,
                    len: 0xFFFF_FFFF,
                },
                stdin: 7,
                stdout: u32::MAX,
                param: UserSlice {
                    ptr: 0x41_0000,
                    len: 0xFFFF,
                },
            }),
            Call::Mount { handle: 9, path: s },
            Call::ListMounts,
            Call::Umount(s),
            Call::Close { handle: 2 },
            Call::AwaitInterrupt,
            Call::Unknown { rax: 18 },
            Call::Unknown { rax: 0xFF },
        ];
        for m in msgs() {
            calls.push(Call::Send { handle: 5, msg: m });
            calls.push(Call::SendReceive {
                handle: u32::MAX,
                msg: m,
            });
        }
        for c in calls {
            assert_eq!(Call::decode(&c.encode()), c, "{c:?}");
        }
    }

    #[test]
    fn dispatch_uses_only_the_low_byte() {
        // RAX = 0x100 is fork_thread (§1.2).
        let r = Registers {
            rax: 0x100,
            ..Default::default()
        };
        assert!(matches!(Call::decode(&r), Call::ForkThread { .. }));
        assert_eq!(
            Call::decode(&Registers {
                rax: 0x1_0000_0003,
                rdi: 4,
                ..Default::default()
            }),
            Call::Receive { handle: 4 }
        );
    }

    #[test]
    fn exact_bits_of_the_document() {
        // send on handle 5 of Long(handle in data2, chunk in data3).
        let m = RawMessage {
            data1: 1,
            data2: RawWord::handle(2),
            data3: RawWord::chunk(0x280_4000_0000),
        };
        let r = Call::Send { handle: 5, msg: m }.encode();
        assert_eq!(r.rax, 0x0000_0005_0000_1304);
        assert_eq!(m.send_control(), 0x100 | 0x200 | 0x1000);
        // exec: 12 | flags<<8 | param_len<<16 | elf_len<<32
        let e = Call::Exec(ExecCall {
            flags: 1,
            elf: UserSlice {
                ptr: 1,
                len: 0x1234,
            },
            stdin: 3,
            stdout: 4,
            param: UserSlice { ptr: 2, len: 0x56 },
        })
        .encode();
        assert_eq!(e.rax, 0x0000_1234_0056_010C);
        assert_eq!(e.rsi, 0x0000_0003_0000_0004);
        // The kernel's VIDEO_MEMORY message arrives with RAX = 0x1100 (§4.1).
        let vm = RawMessage {
            data1: 5,
            data2: RawWord::value(0x20000),
            data3: RawWord::chunk(0x280_4000_0000),
        };
        let mut regs = Registers::default();
        vm.deliver(&mut regs, None);
        assert_eq!(regs.rax, 0x1100);
        assert_eq!(RawMessage::from_received(&regs), vm);
        // A message given back with SEND_BLOCKING: 0x81 for a Short (§2.4).
        RawMessage::short(1, 2, 3).deliver(&mut regs, Some(Error::SendBlocking));
        assert_eq!(regs.rax, 0x81);
        assert!(regs.contains_message());
        assert_eq!(regs.error(), Some(Error::SendBlocking));
    }

    #[test]
    fn long_of_values_arrives_short_and_err_is_not_sent() {
        // A sender's ERR type bits are read as a value.
        let r = Registers {
            rax: 4 | 0x100 | 0x600,
            rdi: 1,
            rsi: 2,
            rdx: 3,
            ..Default::default()
        };
        let m = RawMessage::from_send(&r);
        assert_eq!(m, RawMessage::short(1, 2, 3));
        let mut out = Registers::default();
        m.deliver(&mut out, None);
        assert_eq!(out.rax, 0);
        // A received ERR word keeps its kind.
        let e = RawMessage {
            data1: 1,
            data2: RawWord::err(11),
            data3: RawWord::value(0),
        };
        e.deliver(&mut out, None);
        assert_eq!(out.rax, 0x100 | 0x600);
        assert_eq!(RawMessage::from_received(&out), e);
        // With LONG clear the type bits are ignored.
        assert_eq!(
            RawMessage::from_control(0x600, 1, 2, 3),
            RawMessage::short(1, 2, 3)
        );
    }

    #[test]
    fn layout_helpers() {
        assert_eq!(layout::chunk_slot_base(1), 0x0000_0280_4000_0000);
        assert_eq!(layout::chunk_slot_base(511), 0x0000_02FF_C000_0000);
        assert_eq!(layout::chunk_slot_of(0x0000_0280_4000_0000), Some(1));
        assert_eq!(layout::chunk_slot_of(0x0000_02FF_FFFF_FFFF), Some(511));
        assert_eq!(layout::chunk_slot_of(0x0000_0300_0000_0000), None);
        assert_eq!(layout::chunk_slot_of(0x0000_0280_3FFF_FFFF), None);
        assert_eq!(
            layout::stack_slot_of(layout::STACKS_START + 0x8000 * 3 + 5),
            Some(3)
        );
        assert_eq!(layout::stack_slot_of(layout::HEAP_START), None);
    }
}
