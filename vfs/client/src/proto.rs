//! The file protocol: how a client talks to a file server. Defined once, here, for both sides.
//!
//! # Opening
//!
//! The kernel's `open(path)` gives a handle `M` to the rendezvous mounted at the longest matching
//! prefix, and the prefix length; the remainder (already normal, see [`crate::path::resolve`]) is
//! the server-relative path, `""` or `/a/b`. The client then
//!
//! 1. makes a fresh rendezvous `(a, b)`,
//! 2. **sends** (plain `send`, no reply) `Long(FS_OPEN, handle a, chunk)` on `M`, the chunk
//!    holding an [`OpenRequest`] in postcard at its start (at most [`MAX_NAME_MSG`] bytes),
//! 3. keeps `b` as its *session*: every later request goes there, and the first reply says
//!    whether the open worked (the server answers every request of a failed open with the open's
//!    error, then ends the session). The client's first request is `Short(FS_STAT, 0, 0)`: the
//!    reply is `Short(FS_META, ..)` for an open file, directory or subtree, `Short(FS_OK, 0, 0)`
//!    for a one-shot operation that worked, or the error.
//!
//! The server's thread on `M` only ever receives: it never replies on `M`, so no client, dead or
//! alive, can block it. Each open gets its own server thread, receiving on `a`: one open file,
//! directory or operation per session. (Upstream replied on `M` with a new session handle; the
//! reply is a blocking send, which a client dying at the wrong moment turns into a wedged server.)
//!
//! An [`OpenRequest`] carries an [`Op`]: `Open` keeps the session for I/O; `Mkdir`, `Remove`,
//! `Rmdir`, `Rename` and `Stat`-only opens are answered once and end; `Serve` turns the session
//! into a mount-protocol handle for the subtree at the path (what `bind` mounts elsewhere).
//!
//! # Session requests (all `send_receive`, one reply each)
//!
//! | Request | Reply | Idempotent |
//! |---|---|---|
//! | `Short(FS_STAT, 0, 0)` | `Short(FS_META, kind \| readonly << 8, len)` ([`Meta::to_words`]) | yes |
//! | `Short(FS_READ, offset, max)`, `max <= MAX_IO` | `Long(FS_DATA, n, chunk)`, `1 <= n <= min(max, MAX_SERVER_READ)`, bytes at offset 0; `Short(FS_OK, 0, 0)` at end of file | yes |
//! | `Long(FS_READ_INTO, offset, chunk)`: the client's chunk, `max: u64 LE` (`<= MAX_IO`) in its first 8 bytes, at least `max(8, max)` bytes long | `Long(FS_DATA, n, the same chunk)`, `0 <= n <= max` bytes at offset 0; `n = 0` at end of file | yes |
//! | `Long(FS_WRITE, offset, chunk)`: chunk = `len: u64 LE` then `len <= MAX_IO` bytes | `Long(FS_WRITTEN, end, the same chunk)`: all `len` bytes written, `end` = offset after them (append-mode sessions ignore `offset` and write at the end) | no |
//! | `Long(FS_REQ, len, chunk)`: a [`Request`] in postcard, `len <= MAX_NAME_MSG` | `Long(FS_REPLY, len, chunk)`: a [`Reply`], `len <= MAX_REPLY` | Stat, ReadDir, Sync: yes; SetLen: yes |
//! | `Short(FS_CLOSE, 0, 0)`, plain `send` | none: the session ends | yes |
//!
//! Chunks come back: a write's chunk returns with its reply, and a read can bring its own
//! chunk (`FS_READ_INTO`) to be filled and returned, so that a client moving many megabytes
//! reuses one chunk instead of making (and the kernel mapping and unmapping) one per message.
//! The open's chunk comes back with the session's first reply, in the chunk-returning form of
//! `FS_META`, `FS_OK` and `FS_ERR` ([`with_open_chunk`]: `Long(FS_META, len | a << 48, chunk)`,
//! `Long(FS_OK, v, chunk)`, `Long(FS_ERR, code, chunk)`). A freed chunk gives its frames back
//! to the kernel, which Merriwig's frame allocator mishandles (ABI §9.23): with every chunk
//! coming back, a process's chunk pool (`libeurali::pool`) keeps it for the next request.
//! A client trusts that the chunk it gets back is the one it sent.
//!
//! Any request may instead be answered `Short(FS_ERR, code, 0)`, `code` = [`FsError::code`].
//! A malformed or unknown request gets `Short(FS_ERR, Invalid)` and the session goes on.
//!
//! # Sizes
//! The kernel does not convey a chunk's size, so each receiver checks the sender's claimed
//! length against the maximum for that message ([`MAX_IO`], [`MAX_NAME_MSG`], [`MAX_REPLY`]) and
//! trusts the sender (a protocol rule) that the chunk is at least that long.
//!
//! # Invariants
//! [`decode`] never panics on any bytes; [`encode_chunk`] never panics.

use alloc::string::String;
use alloc::vec::Vec;
use libeurali::{Error, MemoryChunk, Message, Word};
use serde::{Deserialize, Serialize};

/// `Long(FS_OPEN, handle, chunk(OpenRequest))`, plain send on a mount handle.
pub const FS_OPEN: u64 = 0x1100;
/// `Long(FS_REQ, len, chunk(Request))` on a session.
pub const FS_REQ: u64 = 0x1101;
/// `Short(FS_READ, offset, max)`.
pub const FS_READ: u64 = 0x1102;
/// `Long(FS_WRITE, offset, chunk(len, bytes))`.
pub const FS_WRITE: u64 = 0x1103;
/// `Long(FS_DATA, n, chunk)`: read data.
pub const FS_DATA: u64 = 0x1104;
/// `Short(FS_OK, value, value)`.
pub const FS_OK: u64 = 0x1105;
/// `Short(FS_ERR, code, 0)`.
pub const FS_ERR: u64 = 0x1106;
/// `Long(FS_REPLY, len, chunk(Reply))`.
pub const FS_REPLY: u64 = 0x1107;
/// `Short(FS_CLOSE, 0, 0)`: plain send; ends the session.
pub const FS_CLOSE: u64 = 0x1108;
/// `Short(FS_STAT, 0, 0)`: metadata, answered in registers.
pub const FS_STAT: u64 = 0x1109;
/// `Short(FS_META, kind | readonly << 8, len)`: the reply to `FS_STAT`.
pub const FS_META: u64 = 0x110A;
/// `Long(FS_READ_INTO, offset, chunk(max, room))`: a read into the client's chunk.
pub const FS_READ_INTO: u64 = 0x110B;
/// `Long(FS_WRITTEN, end, chunk)`: the reply to `FS_WRITE`, with the chunk given back.
pub const FS_WRITTEN: u64 = 0x110C;

/// How long a client waits for the reply to one session request (stat, read, write, request)
/// before it gives the session up with [`FsError::TimedOut`] (`libeurali::timeout`). A file
/// server answers from memory; one that takes this long is hung. Reads on a device session
/// ([`Kind::Device`]) have no limit (a console read waits for the user); a server that dies is
/// noticed within a sweep (20 ms) whatever the limit.
pub const CALL_LIMIT_MS: u64 = 30_000;

/// Largest READ or WRITE payload in one message.
pub const MAX_IO: usize = 1 << 20;
/// Most bytes a server puts in the chunk it makes for one `FS_READ` (less than asked is a
/// short read, which the protocol allows). That chunk stays with the server until the client
/// takes the reply, and a client that sends `FS_READ` with a plain `send` never does: each of
/// the `vfs::server::MAX_SESSIONS` sessions can hold one, so this caps what one client can
/// make a server hold at 56 x 64 KiB. Bulk readers bring their own chunk (`FS_READ_INTO`, what
/// [`crate::client`] uses), which costs the server nothing.
pub const MAX_SERVER_READ: usize = 64 * 1024;
/// Largest request carrying names (one page).
pub const MAX_NAME_MSG: usize = 4096;
/// Largest postcard reply (a directory listing). A listing that would not fit is refused with
/// [`FsError::TooBig`]; servers bound their directories well below it (the ramdisk's
/// `vfs::ramdisk::MAX_DIR_ENTRIES` entries and `vfs::ramdisk::MAX_DIR_NAMES` bytes of
/// names take under 200 KiB).
pub const MAX_REPLY: usize = 1 << 20;
/// Longest path component (bytes), as on Unix: longer ones are refused with
/// [`FsError::NameTooLong`] by the server framework before any file system sees them.
pub const MAX_NAME: usize = 255;

/// Open flags ([`OpenRequest::flags`]).
pub mod flags {
    pub const READ: u32 = 1;
    pub const WRITE: u32 = 2;
    /// Create the file if missing (needs WRITE).
    pub const CREATE: u32 = 4;
    /// Cut the file to 0 bytes (needs WRITE).
    pub const TRUNCATE: u32 = 8;
    /// Every write goes to the end (implies WRITE).
    pub const APPEND: u32 = 16;
    /// With CREATE: fail with `Exists` if the name exists.
    pub const EXCLUSIVE: u32 = 32;
    /// The path must be a directory.
    pub const DIRECTORY: u32 = 64;
    /// The flags that change anything (what a read-only view refuses).
    pub const MUTATING: u32 = WRITE | CREATE | TRUNCATE | APPEND;
    /// Set by a read-only view on the opens it forwards: the server reports the session's
    /// files as `Meta::mount_readonly` (the view, not the server, makes the mount read-only).
    pub const VIEWED: u32 = 128;
}

/// What an open is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Open the file or directory for I/O: the session lives until closed.
    Open,
    /// Create a directory at the path.
    Mkdir,
    /// Remove the file at the path.
    Remove,
    /// Remove the empty directory at the path.
    Rmdir,
    /// Rename the path to this server-relative path (same server).
    Rename(String),
    /// Serve the subtree at the path on this session with the mount protocol (for `bind`);
    /// read-only unless `flags` has WRITE.
    Serve,
    /// As `Serve`, with every session opened through the subtree charged to this account (its
    /// share of the server's sessions, and the owner of the files it creates, for quotas): what
    /// login asks for an ordinary user's binds. Honoured on the server's own mount (the
    /// system's); on a subtree already charged to an account, only that account's name is
    /// accepted (anything else is `Denied`), so nobody sheds or changes their account.
    ServeAs(String),
}

impl Op {
    /// Whether the operation changes the file system (what a read-only view denies).
    pub fn mutates(&self, flags: u32) -> bool {
        match self {
            Op::Open | Op::Serve | Op::ServeAs(_) => flags & flags::MUTATING != 0,
            _ => true,
        }
    }
}

/// The body of `FS_OPEN`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRequest {
    /// Server-relative path: `""` (the server's root) or `/a/b`.
    pub path: String,
    pub flags: u32,
    pub op: Op,
    /// Chosen by the client (`libeurali::timeout::fresh_token`), ignored by servers: lets the
    /// client's deadline rescue tell its own waiting `FS_OPEN` from another client's (see
    /// `client::open_at`). Clients that do not care put 0.
    pub token: u64,
}

/// The body of `FS_REQ`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Metadata of the open file or directory.
    Stat,
    /// The open directory's entries, sorted by name.
    ReadDir,
    /// Cut or extend (with zeros) the open file.
    SetLen(u64),
    /// Make every write so far durable (std's `sync_all`, the `sync` tool): a disk's server
    /// (`fatfs`) writes its cache out and flushes the disk; nothing to do in memory.
    Sync,
    /// What the file system holds and may hold, and the asking session's account's part and
    /// quota ([`Usage`]); servers without figures answer `Invalid`.
    Usage,
}

/// The body of `FS_REPLY`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Stat(Meta),
    Entries(Vec<Entry>),
    Done,
    Usage(Usage),
}

/// Space used and allowed: bytes of file data (counted in the server's blocks) and nodes
/// (files and directories).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    pub bytes: u64,
    pub bytes_max: u64,
    pub nodes: u64,
    pub nodes_max: u64,
}

/// The answer to [`Request::Usage`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The whole file system.
    pub disk: Space,
    /// The account the asking session is charged to ([`Op::ServeAs`]), and its use and quota;
    /// `None` for the system's own sessions (root and the services: no quota, and the
    /// reserve that accounts cannot take).
    pub account: Option<(String, Space)>,
}

/// File, directory or device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    File,
    Dir,
    /// A character device (`vfs::device`): reads ignore the offset, may block, and return
    /// at most [`MAX_DEVICE_IO`] bytes; an empty read is the end of its stream.
    Device,
}

/// Largest read a device session answers in one message.
pub const MAX_DEVICE_IO: usize = 64 * 1024;

/// Metadata. Times are not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: Kind,
    pub len: u64,
    /// Writes through this session (or server scope) are denied: a session opened without
    /// write has it.
    pub readonly: bool,
    /// No one writes this file through this mount, however it is opened: a read-only mount or
    /// view, a scope served without write, a file system that writes nothing. What `ls -l`
    /// shows as the file's permission (`readonly` says what this one session may do).
    pub mount_readonly: bool,
}

impl Meta {
    /// The two words of `Short(FS_META, ..)`.
    pub fn to_words(&self) -> (u64, u64) {
        let kind = match self.kind {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Device => 2,
        };
        (
            kind | (self.readonly as u64) << 8 | (self.mount_readonly as u64) << 9,
            self.len,
        )
    }

    /// Reads the words of `Short(FS_META, ..)`; `Invalid` for an unknown kind. Never panics.
    pub fn from_words(kind: u64, len: u64) -> Result<Meta, FsError> {
        let k = match kind & 0xff {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Device,
            _ => return Err(FsError::Invalid),
        };
        Ok(Meta {
            kind: k,
            len,
            readonly: kind & 0x100 != 0,
            mount_readonly: kind & 0x200 != 0,
        })
    }
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    pub len: u64,
}

/// File-protocol errors, as they travel (`Short(FS_ERR, code, 0)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FsError {
    NotFound,
    Exists,
    NotDir,
    IsDir,
    NotEmpty,
    Denied,
    Invalid,
    NoSpace,
    /// The server has no room for another session: its thread limit, or the asking client's
    /// share of it (see `vfs::server`'s limits per client). Never "not found".
    Busy,
    /// The rename crosses servers.
    CrossesDevices,
    /// The server did not answer within the protocol's limit ([`CALL_LIMIT_MS`]); the session
    /// is given up.
    TimedOut,
    /// The file would grow past the server's largest file (`vfs::ramdisk::Limits::file`),
    /// or a reply past its message limit (a directory listing past [`MAX_REPLY`]).
    TooBig,
    /// A path component longer than [`MAX_NAME`] bytes.
    NameTooLong,
    /// The path is the root of what the session serves (a mount point of the client's
    /// namespace, or the root of a `bind`'s subtree): it cannot be removed, renamed or
    /// replaced from inside (Unix's EBUSY).
    MountPoint,
    /// The session's account is at its quota (bytes or nodes, [`Usage`]).
    Quota,
    /// A per-user limit is reached (say `/proc`'s processes per user): EAGAIN, "resource
    /// temporarily unavailable"; it passes when some of the user's own end.
    Again,
    /// A kernel error on the way (12 CLOSED: the server or session is gone).
    Kernel(Error),
}

impl FsError {
    pub fn code(self) -> u64 {
        match self {
            FsError::NotFound => 1,
            FsError::Exists => 2,
            FsError::NotDir => 3,
            FsError::IsDir => 4,
            FsError::NotEmpty => 5,
            FsError::Denied => 6,
            FsError::Invalid => 7,
            FsError::NoSpace => 8,
            FsError::Busy => 9,
            FsError::CrossesDevices => 10,
            FsError::TimedOut => 11,
            FsError::TooBig => 12,
            FsError::NameTooLong => 13,
            FsError::MountPoint => 20,
            FsError::Quota => 14,
            FsError::Again => 15,
            FsError::Kernel(e) => 0x100 + e.code() as u64,
        }
    }

    /// The error for a code; unknown codes read as `Invalid`.
    pub fn from_code(c: u64) -> FsError {
        match c {
            1 => FsError::NotFound,
            2 => FsError::Exists,
            3 => FsError::NotDir,
            4 => FsError::IsDir,
            5 => FsError::NotEmpty,
            6 => FsError::Denied,
            8 => FsError::NoSpace,
            9 => FsError::Busy,
            10 => FsError::CrossesDevices,
            11 => FsError::TimedOut,
            12 => FsError::TooBig,
            13 => FsError::NameTooLong,
            20 => FsError::MountPoint,
            14 => FsError::Quota,
            15 => FsError::Again,
            0x101..=0x1FF => Error::from_code((c - 0x100) as u8)
                .map(FsError::Kernel)
                .unwrap_or(FsError::Invalid),
            _ => FsError::Invalid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FsError::NotFound => "not found",
            FsError::Exists => "exists",
            FsError::NotDir => "not a directory",
            FsError::IsDir => "is a directory",
            FsError::NotEmpty => "directory not empty",
            FsError::Denied => "permission denied",
            FsError::Invalid => "invalid request",
            FsError::NoSpace => "no space left on device",
            FsError::Busy => "server busy",
            FsError::CrossesDevices => "crosses servers",
            FsError::TimedOut => "server timed out",
            FsError::TooBig => "file too large",
            FsError::NameTooLong => "file name too long",
            FsError::MountPoint => "resource busy: is a mount point",
            FsError::Quota => "disk quota exceeded",
            FsError::Again => "resource temporarily unavailable",
            FsError::Kernel(e) => e.name(),
        }
    }
}

impl From<Error> for FsError {
    fn from(e: Error) -> FsError {
        match e {
            Error::NotFound => FsError::NotFound,
            e => FsError::Kernel(e),
        }
    }
}

impl From<libeurali::SendError> for FsError {
    fn from(e: libeurali::SendError) -> FsError {
        FsError::Kernel(e.error)
    }
}

impl core::fmt::Display for FsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for FsError {}

/// Postcard-encodes `v` at the start of a new chunk; returns the chunk and the byte count. The
/// encoding goes straight into the chunk (measured first): nothing is allocated on the heap,
/// so a large reply costs a server no heap at all. More than `max` bytes is `Invalid`.
pub fn encode_chunk<T: Serialize>(v: &T, max: usize) -> Result<(MemoryChunk, usize), FsError> {
    encode_limited(v, max, FsError::Invalid)
}

/// An open's request in a new chunk ([`encode_chunk`] with [`MAX_NAME_MSG`]): its only part of
/// any length is its path (and a rename's target), so one too long to send is `NameTooLong`
/// (ENAMETOOLONG), as a path past `PATH_MAX` is on Linux.
pub fn encode_open(r: &OpenRequest) -> Result<(MemoryChunk, usize), FsError> {
    encode_limited(r, MAX_NAME_MSG, FsError::NameTooLong)
}

/// As [`encode_chunk`], with `over` as the error for an encoding longer than `max`.
fn encode_limited<T: Serialize>(
    v: &T,
    max: usize,
    over: FsError,
) -> Result<(MemoryChunk, usize), FsError> {
    let n = postcard::serialize_with_flavor(v, postcard::ser_flavors::Size::default())
        .map_err(|_| FsError::Invalid)?;
    if n > max {
        return Err(over);
    }
    let c = MemoryChunk::alloc_with(n, |buf| {
        postcard::to_slice(v, buf)
            .map(|b| b.len())
            .map_err(|_| FsError::Invalid)
    })??;
    Ok((c, n))
}

/// Decodes a postcard value. Never panics.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, FsError> {
    postcard::from_bytes(bytes).map_err(|_| FsError::Invalid)
}

/// Reads `len` claimed bytes of a received chunk, refusing claims above `max`.
pub fn chunk_bytes(c: &mut MemoryChunk, len: u64, max: usize) -> Result<&[u8], FsError> {
    if len as usize > max || len > max as u64 {
        return Err(FsError::Invalid);
    }
    // Safety: bounded by `max`, and the protocol makes the sender allocate at least `len` bytes
    // (a sender that lies can only be caught by the kernel, which does not convey sizes).
    unsafe { c.set_len(len as usize) };
    Ok(c.as_slice())
}

/// As [`chunk_bytes`], for writing into the claimed bytes.
pub fn chunk_bytes_mut(c: &mut MemoryChunk, len: u64, max: usize) -> Result<&mut [u8], FsError> {
    chunk_bytes(c, len, max)?;
    Ok(c.as_mut_slice())
}

/// `Short(FS_ERR, code, 0)`.
pub fn err_msg(e: FsError) -> Message {
    Message::Short(FS_ERR, e.code(), 0)
}

/// Most bytes a file length may have in a packed `FS_META` (2^48: 256 TiB).
const META_LEN_BITS: u32 = 48;

/// The first reply of a session in its chunk-returning form: the open's chunk goes back to the
/// client in data3. `Short(FS_META, a, len)` becomes `Long(FS_META, len | a << 48, chunk)`,
/// `Short(FS_OK, v, _)` becomes `Long(FS_OK, v, chunk)` and `Short(FS_ERR, code, _)` becomes
/// `Long(FS_ERR, code, chunk)`; anything else stays as it is (and the chunk is dropped).
pub fn with_open_chunk(reply: Message, c: MemoryChunk) -> Message {
    match reply {
        Message::Short(FS_META, a, len) if a < 1 << 16 && len < 1 << META_LEN_BITS => {
            Message::Long(
                FS_META,
                Word::Value(len | a << META_LEN_BITS),
                Word::Chunk(c),
            )
        }
        Message::Short(t @ (FS_OK | FS_ERR), v, _) => {
            Message::Long(t, Word::Value(v), Word::Chunk(c))
        }
        other => other,
    }
}

/// A first reply back in its register form, and the returned chunk if it brought one (see
/// [`with_open_chunk`]).
pub fn without_open_chunk(reply: Message) -> (Message, Option<MemoryChunk>) {
    match reply {
        Message::Long(FS_META, Word::Value(v), Word::Chunk(c)) => (
            Message::Short(FS_META, v >> META_LEN_BITS, v & ((1 << META_LEN_BITS) - 1)),
            Some(c),
        ),
        Message::Long(t @ (FS_OK | FS_ERR), Word::Value(v), Word::Chunk(c)) => {
            (Message::Short(t, v, 0), Some(c))
        }
        other => (other, None),
    }
}

/// `Long(FS_REPLY, len, chunk)`; a reply longer than [`MAX_REPLY`] is `TooBig`.
pub fn reply_msg(r: &Reply) -> Result<Message, FsError> {
    let (c, n) = encode_limited(r, MAX_REPLY, FsError::TooBig)?;
    Ok(Message::Long(
        FS_REPLY,
        Word::Value(n as u64),
        Word::Chunk(c),
    ))
}

/// Bytes a reply takes encoded (what [`reply_msg`] checks against [`MAX_REPLY`]).
pub fn reply_msg_size(r: &Reply) -> usize {
    postcard::serialize_with_flavor(r, postcard::ser_flavors::Size::default()).unwrap_or(usize::MAX)
}

/// `Long(FS_REQ, len, chunk)`.
pub fn request_msg(r: &Request) -> Result<Message, FsError> {
    let (c, n) = encode_chunk(r, MAX_NAME_MSG)?;
    Ok(Message::Long(FS_REQ, Word::Value(n as u64), Word::Chunk(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        let all = [
            FsError::NotFound,
            FsError::Exists,
            FsError::NotDir,
            FsError::IsDir,
            FsError::NotEmpty,
            FsError::Denied,
            FsError::Invalid,
            FsError::NoSpace,
            FsError::Busy,
            FsError::CrossesDevices,
            FsError::TimedOut,
            FsError::TooBig,
            FsError::NameTooLong,
            FsError::MountPoint,
            FsError::Quota,
            FsError::Again,
            FsError::Kernel(Error::Closed),
        ];
        for e in all {
            assert_eq!(FsError::from_code(e.code()), e);
        }
        assert_eq!(FsError::from_code(999), FsError::Invalid);
    }

    #[test]
    fn meta_in_registers_round_trips() {
        for kind in [Kind::File, Kind::Dir, Kind::Device] {
            for (readonly, mount_readonly) in [(false, false), (true, false), (true, true)] {
                let m = Meta {
                    kind,
                    len: 0x1234_5678_9abc,
                    readonly,
                    mount_readonly,
                };
                let (a, b) = m.to_words();
                assert_eq!(Meta::from_words(a, b), Ok(m));
            }
        }
        assert_eq!(Meta::from_words(3, 0), Err(FsError::Invalid));
        assert_eq!(Meta::from_words(u64::MAX, u64::MAX), Err(FsError::Invalid));
    }

    #[test]
    fn decode_never_panics() {
        let mut x: u64 = 0x1234_5678;
        for len in 0..64 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                let _ = decode::<OpenRequest>(&bytes);
                let _ = decode::<Request>(&bytes);
                let _ = decode::<Reply>(&bytes);
            }
        }
        let r = OpenRequest {
            path: "/a/b".into(),
            flags: flags::READ,
            op: Op::Rename("/c".into()),
            token: 0,
        };
        let b = postcard::to_allocvec(&r).unwrap();
        assert_eq!(decode::<OpenRequest>(&b).unwrap(), r);
        // Trailing bytes (the rest of a page) are ignored.
        let mut padded = b.clone();
        padded.resize(4096, 0);
        assert_eq!(decode::<OpenRequest>(&padded).unwrap(), r);
    }
}
