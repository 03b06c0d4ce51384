//! The kernel's error codes (ABI document §1.3), as one enum that maps both ways onto the numbers.

use core::fmt;

/// An error code as returned in bits 0..6 of RAX, or carried in a server's `ERROR` reply.
///
/// Codes 1..=12 are produced by the kernel; 13..=19 are conventions of server replies. Any other
/// number converts to [`Error::Other`], so a code from a newer kernel or a foreign server still
/// round-trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// 1: the rendezvous already holds a pending send.
    SendBlocking,
    /// 2: another thread waits on it, or it is reserved for a reply from another thread.
    RecvBlocking,
    /// 3: handle slot empty or out of range.
    InvalidHandle,
    /// 4: fork_thread found no stack slot or frame.
    MemAlloc,
    /// 5: bad parameter.
    Param,
    /// 6: a path or string is not valid UTF-8.
    Utf8,
    /// 7: no mount matches (open) / path not mounted (umount).
    NotFound,
    /// 8: exec could not load the ELF.
    Thread,
    /// 9: chunk slots exhausted, frames exhausted, or the kernel heap too small for an exec copy.
    Memory,
    /// 10: the chunk slot is already empty.
    DoubleFree,
    /// 11: the receiver had no free chunk slot (only inside a received message).
    NoMemSlots,
    /// 12: the rendezvous has no other reference, or a close woke the waiter.
    Closed,
    /// 13: (server convention) the name exists already.
    Exists,
    /// 14: (server convention) not implemented.
    NotImplemented,
    /// 15: (server convention) not a directory.
    NotDir,
    /// 16: (server convention) no data.
    NoData,
    /// 17: (eurali's convention) no space left where the data goes (a stream that writes into a
    /// full file system).
    NoSpace,
    /// 18: (eurali's convention) the data would make a file larger than its server allows.
    TooBig,
    /// 19: (eurali's convention) a stream could not write where it writes for another reason
    /// (a redirection whose file server ended): an I/O error, not a reader gone.
    Io,
    /// Any other code, kept as it came.
    Other(u8),
}

impl Error {
    /// The numeric code of this error.
    pub const fn code(self) -> u8 {
        match self {
            Error::SendBlocking => 1,
            Error::RecvBlocking => 2,
            Error::InvalidHandle => 3,
            Error::MemAlloc => 4,
            Error::Param => 5,
            Error::Utf8 => 6,
            Error::NotFound => 7,
            Error::Thread => 8,
            Error::Memory => 9,
            Error::DoubleFree => 10,
            Error::NoMemSlots => 11,
            Error::Closed => 12,
            Error::Exists => 13,
            Error::NotImplemented => 14,
            Error::NotDir => 15,
            Error::NoData => 16,
            Error::NoSpace => 17,
            Error::TooBig => 18,
            Error::Io => 19,
            Error::Other(c) => c,
        }
    }

    /// The error for a non-zero code; `None` for 0 (success).
    pub const fn from_code(code: u8) -> Option<Error> {
        Some(match code {
            0 => return None,
            1 => Error::SendBlocking,
            2 => Error::RecvBlocking,
            3 => Error::InvalidHandle,
            4 => Error::MemAlloc,
            5 => Error::Param,
            6 => Error::Utf8,
            7 => Error::NotFound,
            8 => Error::Thread,
            9 => Error::Memory,
            10 => Error::DoubleFree,
            11 => Error::NoMemSlots,
            12 => Error::Closed,
            13 => Error::Exists,
            14 => Error::NotImplemented,
            15 => Error::NotDir,
            16 => Error::NoData,
            17 => Error::NoSpace,
            18 => Error::TooBig,
            19 => Error::Io,
            c => Error::Other(c),
        })
    }

    /// The kernel's name for the code.
    pub const fn name(self) -> &'static str {
        match self {
            Error::SendBlocking => "SEND_BLOCKING",
            Error::RecvBlocking => "RECV_BLOCKING",
            Error::InvalidHandle => "INVALID_HANDLE",
            Error::MemAlloc => "MEMALLOC",
            Error::Param => "PARAM",
            Error::Utf8 => "UTF8",
            Error::NotFound => "NOTFOUND",
            Error::Thread => "THREAD",
            Error::Memory => "MEMORY",
            Error::DoubleFree => "DOUBLEFREE",
            Error::NoMemSlots => "NOMEMSLOTS",
            Error::Closed => "CLOSED",
            Error::Exists => "EXISTS",
            Error::NotImplemented => "NOT_IMPLEMENTED",
            Error::NotDir => "NOT_DIR",
            Error::NoData => "NO_DATA",
            Error::NoSpace => "NO_SPACE",
            Error::TooBig => "TOO_BIG",
            Error::Io => "IO",
            Error::Other(_) => "UNKNOWN",
        }
    }

    /// Errors that a retry after a yield may cure (single-slot rendezvous busy, §3.3).
    pub const fn is_transient(self) -> bool {
        matches!(self, Error::SendBlocking | Error::RecvBlocking)
    }
}

impl From<Error> for u8 {
    fn from(e: Error) -> u8 {
        e.code()
    }
}

impl TryFrom<u8> for Error {
    type Error = ();
    /// Fails only for 0, which is success.
    fn try_from(code: u8) -> core::result::Result<Self, ()> {
        Error::from_code(code).ok_or(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl core::error::Error for Error {}

/// Result with the kernel's error.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        assert_eq!(Error::from_code(0), None);
        for c in 1..=255u8 {
            let e = Error::from_code(c).unwrap();
            assert_eq!(e.code(), c);
            assert_eq!(u8::from(e), c);
            assert_eq!(Error::try_from(c), Ok(e));
            if c <= 19 {
                assert!(!matches!(e, Error::Other(_)), "code {c} has a name");
            } else {
                assert_eq!(e, Error::Other(c));
            }
        }
        assert_eq!(Error::Closed.code(), 12);
        assert!(Error::SendBlocking.is_transient() && Error::RecvBlocking.is_transient());
        assert!(!Error::Closed.is_transient());
    }
}
