//! Message types (data1) of the protocols (ABI document §6.1). Upstream's numbers are kept where
//! they exist so that upstream servers and ours can talk.

pub const READ: u64 = 1;
pub const WRITE: u64 = 2;
pub const DATA: u64 = 2;
pub const CHAR: u64 = 3;
pub const JSON: u64 = 4;
/// The kernel's one message: the VGA memory chunk, to init's handle 1.
pub const VIDEO_MEMORY: u64 = 5;
pub const COMM_HANDLE: u64 = 6;
pub const QUERY: u64 = 7;
pub const OK: u64 = 8;
/// OPEN + flags (16..=31).
pub const OPEN: u64 = 16;
pub const O_WRITE: u64 = 1;
pub const O_CREATE: u64 = 2;
pub const O_TRUNCATE: u64 = 4;
pub const CLOSE: u64 = 32;
pub const DELETE: u64 = 33;
pub const MKDIR: u64 = 64;
pub const EMPTY: u64 = 128;
pub const ERROR: u64 = 129;
pub const ERROR_INVALID_FORMAT: u64 = 130;
pub const ERROR_INVALID_UTF8: u64 = 131;
pub const ERROR_INVALID_VALUE: u64 = 132;
pub const ERROR_UNKNOWN_MESSAGE: u64 = 133;
pub const ERROR_DENIED: u64 = 134;
pub const PCI_FIND_DEVICE: u64 = 256;
pub const PCI_READ_BAR: u64 = 257;
pub const PCI_ENABLE_BUS_MASTERING: u64 = 258;
pub const NIC_GET_MAC_ADDRESS: u64 = 260;
pub const NIC_MAC_ADDRESS: u64 = 300;
pub const PCI_ADDRESS: u64 = 384;
pub const PCI_NOTFOUND: u64 = 385;
pub const PCI_BAR: u64 = 386;

// eurali's own types live from 0x1000 up, clear of upstream's.

/// Process status channel: Short(EXIT_STATUS, code, 0) (or Long(EXIT_STATUS, code | pages << 32,
/// chunk), handing the parent a chunk the process kept), sent once by a process's runtime as it
/// exits (the kernel has no exit status; see std-shim's `process`).
pub const EXIT_STATUS: u64 = 0x1000;

/// Process control channel (see std-shim's `process`): Short(SIGNAL, signo, 0) asks the child's
/// runtime to end as if killed by that Unix signal number (status 128 + signo). The kernel has no
/// kill; this is the userland's own, honoured by every program built on std-shim.
pub const SIGNAL: u64 = 0x1010;
/// Process control channel: the process's own main thread, ending, tells its control thread to
/// end too (so that the process can end with its last thread).
pub const CONTROL_END: u64 = 0x1011;
/// Sent by a killed process to a rendezvous one of its own threads waits in, to wake that thread
/// so that it sees the kill and ends (see [`crate::kill`]). Anyone else's is an unknown message.
pub const KILL_WAKE: u64 = 0x1012;

/// Exec's arguments and environment when they do not fit exec's page
/// ([`crate::abi::layout::ARGS_ENV_LIMIT`]): `Long(EXEC_ARGS, len, chunk)`, sent once by the
/// parent on the rendezvous it mounted at std-shim's `rt::ARGS_PATH` in the child's namespace;
/// the chunk's first `len` bytes (at most [`crate::params::ARGS_MAX`]) are an exec parameter
/// string of `A` and `E` items only (see [`crate::params`]).
pub const EXEC_ARGS: u64 = 0x1020;

/// A packed program's payload, for a head exec'd without it ([`crate::sfx::split`]):
/// `Long(SFX_PAYLOAD, len, chunk)`, sent once by the parent on the rendezvous it mounted at
/// [`crate::sfx::PAYLOAD_PATH`] in the child's namespace; the chunk's first `len` bytes are the
/// payload segment of the packed file ([`crate::sfx::Header`], then the zlib stream).
pub const SFX_PAYLOAD: u64 = 0x1021;

/// Signal numbers carried by [`SIGNAL`] (Unix's, so that statuses read as shell users expect).
pub const SIGINT: u64 = 2;
pub const SIGKILL: u64 = 9;
/// What a process dies of when it writes to a stream nobody reads any more (std-shim's
/// `rt::BrokenPipe::Die`, the default).
pub const SIGPIPE: u64 = 13;
pub const SIGTERM: u64 = 15;
