//! `std::io`: errors, the `Read`/`Write`/`BufRead` traits, and the standard streams.
//!
//! The standard streams speak libeurali's stream protocol ([`libeurali::proto::stream`]) on the
//! handles the runtime found at start. Standard output is line-buffered (written out at each
//! newline, on `flush` and at exit), so a `print!` is not one message. A write to stdout or
//! stderr whose reader is gone ends the process (status 141, as SIGPIPE) unless the program
//! chose otherwise (`std::rt::set_broken_pipe`); a failed write to stdout fails the process's
//! exit (see `std::rt`). The streams also implement
//! `embedded_io`'s traits, for no_std crates written against those.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::rt;

pub use crate::cursor::Cursor;
pub use crate::pipe::{PipeReader, PipeWriter, pipe};

/// std's error kinds that mean something on eurali.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    NotFound,
    PermissionDenied,
    ConnectionRefused,
    ConnectionReset,
    BrokenPipe,
    AlreadyExists,
    WouldBlock,
    NotADirectory,
    IsADirectory,
    DirectoryNotEmpty,
    InvalidInput,
    InvalidData,
    TimedOut,
    WriteZero,
    StorageFull,
    /// The account's quota on a file server is used up (std's `QuotaExceeded`).
    QuotaExceeded,
    /// A file would grow past what its server allows for one file (std's `FileTooLarge`).
    FileTooLarge,
    /// A path component the server refuses (too long; std's `InvalidFilename`).
    InvalidFilename,
    /// The file is in use where it cannot be changed: a mount point (std's `ResourceBusy`).
    ResourceBusy,
    /// Arguments and environment too long to start a program with (E2BIG).
    ArgumentListTooLong,
    /// A rename from one file server to another (std's `CrossesDevices`, EXDEV).
    CrossesDevices,
    Interrupted,
    Unsupported,
    UnexpectedEof,
    OutOfMemory,
    Other,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "entity not found",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::ConnectionRefused => "connection refused",
            ErrorKind::ConnectionReset => "connection reset",
            ErrorKind::BrokenPipe => "broken pipe",
            ErrorKind::AlreadyExists => "entity already exists",
            ErrorKind::WouldBlock => "operation would block",
            ErrorKind::NotADirectory => "not a directory",
            ErrorKind::IsADirectory => "is a directory",
            ErrorKind::DirectoryNotEmpty => "directory not empty",
            ErrorKind::InvalidInput => "invalid input parameter",
            ErrorKind::InvalidData => "invalid data",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::WriteZero => "write zero",
            ErrorKind::StorageFull => "no space left on device",
            ErrorKind::QuotaExceeded => "disk quota exceeded",
            ErrorKind::FileTooLarge => "file too large",
            ErrorKind::InvalidFilename => "invalid filename",
            ErrorKind::ResourceBusy => "resource busy",
            ErrorKind::ArgumentListTooLong => "argument list too long",
            ErrorKind::CrossesDevices => "cross-device link or rename",
            ErrorKind::Interrupted => "operation interrupted",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::UnexpectedEof => "unexpected end of file",
            ErrorKind::OutOfMemory => "out of memory",
            ErrorKind::Other => "other error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How Linux's C library words an error (`strerror`), as GNU coreutils and dash print it:
/// "No such file or directory", "Permission denied". The one table of these words, for every
/// program that reports errors the way the classic tools do; a kind with no such fixed wording
/// reads as the error's own message (its `Display`).
pub fn describe(e: &Error) -> String {
    let words = match e.kind() {
        ErrorKind::NotFound => "No such file or directory",
        ErrorKind::PermissionDenied => "Permission denied",
        ErrorKind::AlreadyExists => "File exists",
        ErrorKind::NotADirectory => "Not a directory",
        ErrorKind::IsADirectory => "Is a directory",
        ErrorKind::DirectoryNotEmpty => "Directory not empty",
        ErrorKind::StorageFull => "No space left on device",
        ErrorKind::QuotaExceeded => "Disk quota exceeded",
        ErrorKind::FileTooLarge => "File too large",
        ErrorKind::InvalidFilename => "File name too long",
        ErrorKind::InvalidInput => "Invalid argument",
        ErrorKind::BrokenPipe => "Broken pipe",
        ErrorKind::ArgumentListTooLong => "Argument list too long",
        ErrorKind::CrossesDevices => "Invalid cross-device link",
        _ => return alloc::string::ToString::to_string(e),
    };
    String::from(words)
}

enum Repr {
    Simple(ErrorKind),
    Kernel(libeurali::Error),
    Message(ErrorKind, &'static str),
    Custom(ErrorKind, Box<dyn core::error::Error + Send + Sync>),
}

/// An I/O error: a kind, and the kernel code or a message behind it.
pub struct Error {
    repr: Repr,
}

/// `std::io::Result`.
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// An error of `kind` carrying any error value (or a string).
    pub fn new<E: Into<Box<dyn core::error::Error + Send + Sync>>>(
        kind: ErrorKind,
        error: E,
    ) -> Error {
        Error {
            repr: Repr::Custom(kind, error.into()),
        }
    }

    /// An `Other` error carrying `error`.
    pub fn other<E: Into<Box<dyn core::error::Error + Send + Sync>>>(error: E) -> Error {
        Error::new(ErrorKind::Other, error)
    }

    /// An error with a fixed message, allocating nothing.
    pub const fn const_msg(kind: ErrorKind, msg: &'static str) -> Error {
        Error {
            repr: Repr::Message(kind, msg),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match &self.repr {
            Repr::Simple(k) | Repr::Message(k, _) | Repr::Custom(k, _) => *k,
            Repr::Kernel(e) => kind_of(*e),
        }
    }

    /// The kernel's error code, where the error came from the kernel (std's "OS error").
    pub fn raw_os_error(&self) -> Option<i32> {
        match &self.repr {
            Repr::Kernel(e) => Some(e.code() as i32),
            _ => None,
        }
    }

    /// The error for a kernel code (std's `from_raw_os_error`).
    pub fn from_raw_os_error(code: i32) -> Error {
        Error::from(
            libeurali::Error::from_code(code.clamp(0, 255) as u8)
                .unwrap_or(libeurali::Error::Other(0)),
        )
    }

    /// A copy of this error (the same kind and code, or message), to keep while the original
    /// goes to the caller.
    pub(crate) fn duplicate(&self) -> Error {
        Error {
            repr: match &self.repr {
                Repr::Simple(k) => Repr::Simple(*k),
                Repr::Kernel(e) => Repr::Kernel(*e),
                Repr::Message(k, m) => Repr::Message(*k, m),
                Repr::Custom(k, e) => {
                    Repr::Custom(*k, alloc::string::ToString::to_string(e).into())
                }
            },
        }
    }

    pub fn get_ref(&self) -> Option<&(dyn core::error::Error + Send + Sync + 'static)> {
        match &self.repr {
            Repr::Custom(_, e) => Some(&**e),
            _ => None,
        }
    }
}

/// How kernel and server error codes read as std kinds (the one place this mapping lives).
fn kind_of(e: libeurali::Error) -> ErrorKind {
    use libeurali::Error as K;
    match e {
        K::NotFound => ErrorKind::NotFound,
        K::Exists => ErrorKind::AlreadyExists,
        K::NotDir => ErrorKind::NotADirectory,
        K::Closed => ErrorKind::BrokenPipe,
        K::SendBlocking | K::RecvBlocking => ErrorKind::WouldBlock,
        K::Param | K::InvalidHandle => ErrorKind::InvalidInput,
        K::Utf8 => ErrorKind::InvalidData,
        K::Memory | K::MemAlloc | K::NoMemSlots => ErrorKind::OutOfMemory,
        K::NotImplemented => ErrorKind::Unsupported,
        K::NoData => ErrorKind::UnexpectedEof,
        K::NoSpace => ErrorKind::StorageFull,
        K::TooBig => ErrorKind::FileTooLarge,
        K::Thread | K::Io | K::DoubleFree | K::Other(_) => ErrorKind::Other,
    }
}

/// The kernel code that best carries `e` over a protocol that only has kernel codes (the stream
/// protocol's `ERROR` reply): its own code if it came from the kernel, else one by kind.
pub(crate) fn kernel_code(e: &Error) -> libeurali::Error {
    use libeurali::Error as K;
    if let Repr::Kernel(k) = &e.repr {
        return *k;
    }
    match e.kind() {
        ErrorKind::NotFound => K::NotFound,
        ErrorKind::AlreadyExists => K::Exists,
        ErrorKind::NotADirectory => K::NotDir,
        ErrorKind::BrokenPipe => K::Closed,
        ErrorKind::WouldBlock => K::SendBlocking,
        ErrorKind::InvalidInput => K::Param,
        ErrorKind::InvalidData => K::Utf8,
        ErrorKind::OutOfMemory => K::Memory,
        ErrorKind::Unsupported => K::NotImplemented,
        ErrorKind::UnexpectedEof => K::NoData,
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => K::NoSpace,
        ErrorKind::FileTooLarge => K::TooBig,
        _ => K::Other(0),
    }
}

impl From<ErrorKind> for Error {
    fn from(k: ErrorKind) -> Error {
        Error {
            repr: Repr::Simple(k),
        }
    }
}

impl From<libeurali::Error> for Error {
    fn from(e: libeurali::Error) -> Error {
        Error {
            repr: Repr::Kernel(e),
        }
    }
}

impl From<libeurali::SendError> for Error {
    fn from(e: libeurali::SendError) -> Error {
        Error::from(e.error)
    }
}

impl From<alloc::string::FromUtf8Error> for Error {
    fn from(_: alloc::string::FromUtf8Error) -> Error {
        Error::const_msg(ErrorKind::InvalidData, "stream did not contain valid UTF-8")
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Simple(k) => f.debug_tuple("Kind").field(k).finish(),
            Repr::Kernel(e) => f
                .debug_struct("Os")
                .field("code", &e.code())
                .field("kind", &self.kind())
                .field("message", &e.name())
                .finish(),
            Repr::Message(k, m) => f
                .debug_struct("Error")
                .field("kind", k)
                .field("message", m)
                .finish(),
            Repr::Custom(k, e) => f
                .debug_struct("Custom")
                .field("kind", k)
                .field("error", e)
                .finish(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Simple(k) => write!(f, "{k}"),
            // eurali's codes for a full file system behind a stream read as the file
            // system's own errors do.
            Repr::Kernel(e @ (libeurali::Error::NoSpace | libeurali::Error::TooBig)) => {
                write!(f, "{}", kind_of(*e))
            }
            Repr::Kernel(libeurali::Error::Io) => f.write_str("input/output error"),
            Repr::Kernel(e) => write!(f, "{} (os error {})", kind_of(*e), e.code()),
            Repr::Message(_, m) => f.write_str(m),
            Repr::Custom(_, e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as E;
        match Error::kind(self) {
            ErrorKind::NotFound => E::NotFound,
            ErrorKind::PermissionDenied => E::PermissionDenied,
            ErrorKind::ConnectionRefused => E::ConnectionRefused,
            ErrorKind::ConnectionReset => E::ConnectionReset,
            ErrorKind::BrokenPipe => E::BrokenPipe,
            ErrorKind::AlreadyExists => E::AlreadyExists,
            ErrorKind::InvalidInput => E::InvalidInput,
            ErrorKind::InvalidData => E::InvalidData,
            ErrorKind::TimedOut => E::TimedOut,
            ErrorKind::WriteZero => E::WriteZero,
            ErrorKind::Interrupted => E::Interrupted,
            ErrorKind::Unsupported => E::Unsupported,
            ErrorKind::OutOfMemory => E::OutOfMemory,
            _ => E::Other,
        }
    }
}

/// `std::io::Read`.
pub trait Read {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize>;

    fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<()> {
        while !buf.is_empty() {
            match self.read(buf) {
                Ok(0) => {
                    return Err(Error::const_msg(
                        ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let start = buf.len();
        let mut chunk = [0u8; 512];
        loop {
            match self.read(&mut chunk) {
                Ok(0) => return Ok(buf.len() - start),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn read_to_string(&mut self, buf: &mut String) -> Result<usize> {
        let mut bytes = Vec::new();
        let n = self.read_to_end(&mut bytes)?;
        buf.push_str(&String::from_utf8(bytes)?);
        Ok(n)
    }

    fn by_ref(&mut self) -> &mut Self
    where
        Self: Sized,
    {
        self
    }

    fn bytes(self) -> Bytes<Self>
    where
        Self: Sized,
    {
        Bytes { inner: self }
    }
}

/// Iterator over the bytes of a reader.
pub struct Bytes<R> {
    inner: R,
}

impl<R: Read> Iterator for Bytes<R> {
    type Item = Result<u8>;
    fn next(&mut self) -> Option<Result<u8>> {
        let mut b = [0u8];
        loop {
            return match self.inner.read(&mut b) {
                Ok(0) => None,
                Ok(_) => Some(Ok(b[0])),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => Some(Err(e)),
            };
        }
    }
}

/// `std::io::Write`.
pub trait Write {
    fn write(&mut self, buf: &[u8]) -> Result<usize>;
    fn flush(&mut self) -> Result<()>;

    fn write_all(&mut self, mut buf: &[u8]) -> Result<()> {
        while !buf.is_empty() {
            match self.write(buf) {
                Ok(0) => {
                    return Err(Error::const_msg(
                        ErrorKind::WriteZero,
                        "failed to write whole buffer",
                    ));
                }
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<()> {
        struct Adapter<'a, W: ?Sized> {
            inner: &'a mut W,
            error: Result<()>,
        }
        impl<W: Write + ?Sized> fmt::Write for Adapter<'_, W> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                // Text out as the bytes it stands for (a name holding a byte that is not UTF-8
                // is printed as that byte, `ffi::bytes_from_text`).
                self.inner
                    .write_all(&crate::ffi::bytes_from_text(s))
                    .map_err(|e| {
                        self.error = Err(e);
                        fmt::Error
                    })
            }
        }
        let mut a = Adapter {
            inner: self,
            error: Ok(()),
        };
        match fmt::write(&mut a, args) {
            Ok(()) => Ok(()),
            Err(_) => a
                .error
                .and(Err(Error::const_msg(ErrorKind::Other, "formatter error"))),
        }
    }

    fn by_ref(&mut self) -> &mut Self
    where
        Self: Sized,
    {
        self
    }
}

/// `std::io::BufRead`, for readers with an internal buffer.
pub trait BufRead: Read {
    fn fill_buf(&mut self) -> Result<&[u8]>;
    fn consume(&mut self, amt: usize);

    /// Reads until `byte` (included) or the end; returns the number of bytes read.
    fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> Result<usize> {
        let mut read = 0;
        loop {
            let available = match self.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(read);
            }
            let (done, used) = match available.iter().position(|&b| b == byte) {
                Some(i) => (true, i + 1),
                None => (false, available.len()),
            };
            buf.extend_from_slice(&available[..used]);
            self.consume(used);
            read += used;
            if done {
                return Ok(read);
            }
        }
    }

    fn read_line(&mut self, buf: &mut String) -> Result<usize> {
        let mut bytes = Vec::new();
        let n = self.read_until(b'\n', &mut bytes)?;
        buf.push_str(&String::from_utf8(bytes)?);
        Ok(n)
    }

    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines { inner: self }
    }

    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split {
            inner: self,
            delim: byte,
        }
    }
}

/// Iterator over lines (without their `\n` or `\r\n`).
pub struct Lines<B> {
    inner: B,
}

impl<B: BufRead> Iterator for Lines<B> {
    type Item = Result<String>;
    fn next(&mut self) -> Option<Result<String>> {
        let mut s = String::new();
        match self.inner.read_line(&mut s) {
            Ok(0) => None,
            Ok(_) => {
                if s.ends_with('\n') {
                    s.pop();
                    if s.ends_with('\r') {
                        s.pop();
                    }
                }
                Some(Ok(s))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Iterator over delimited parts.
pub struct Split<B> {
    inner: B,
    delim: u8,
}

impl<B: BufRead> Iterator for Split<B> {
    type Item = Result<Vec<u8>>;
    fn next(&mut self) -> Option<Result<Vec<u8>>> {
        let mut v = Vec::new();
        match self.inner.read_until(self.delim, &mut v) {
            Ok(0) => None,
            Ok(_) => {
                if v.last() == Some(&self.delim) {
                    v.pop();
                }
                Some(Ok(v))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// A buffering writer: writes gather in memory and reach `inner` when the buffer is full, on
/// [`Write::flush`], and (errors ignored) when it is dropped.
pub struct BufWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    cap: usize,
}

impl<W: Write> BufWriter<W> {
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(8192, inner)
    }
    /// With a capacity of 0 every write goes straight through.
    pub fn with_capacity(cap: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: Vec::with_capacity(cap),
            cap,
        }
    }
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
    /// The bytes written but not yet passed on.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }
    /// Passes on what is buffered; on an error, what was not taken stays buffered.
    fn flush_buf(&mut self) -> Result<()> {
        let mut done = 0;
        let r = loop {
            if done == self.buf.len() {
                break Ok(());
            }
            match self.inner.write(&self.buf[done..]) {
                Ok(0) => {
                    break Err(Error::const_msg(
                        ErrorKind::WriteZero,
                        "failed to write the buffered data",
                    ));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..done);
        r
    }
}

impl<W: Write> Write for BufWriter<W> {
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        if self.buf.len() + data.len() > self.cap {
            self.flush_buf()?;
        }
        if data.len() >= self.cap {
            return self.inner.write(data);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for BufWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush_buf();
    }
}

/// A buffering reader.
pub struct BufReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl<R: Read> BufReader<R> {
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(8192, inner)
    }
    pub fn with_capacity(cap: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: alloc::vec![0; cap.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
        }
    }
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for BufReader<R> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for BufReader<R> {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

impl Read for &[u8] {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let n = self.len().min(buf.len());
        buf[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

impl BufRead for &[u8] {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        Ok(self)
    }
    fn consume(&mut self, amt: usize) {
        *self = &self[amt.min(self.len())..];
    }
}

impl Write for Vec<u8> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<R: Read + ?Sized> Read for &mut R {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        (**self).read(buf)
    }
}

impl<W: Write + ?Sized> Write for &mut W {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        (**self).write(buf)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}

impl<R: Read + ?Sized> Read for Box<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        (**self).read(buf)
    }
}

impl<W: Write + ?Sized> Write for Box<W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        (**self).write(buf)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}

/// A reader at EOF and a writer that discards (`std::io::empty` / `sink`).
pub struct Empty;
pub struct Sink;
pub const fn empty() -> Empty {
    Empty
}
pub const fn sink() -> Sink {
    Sink
}
impl Read for Empty {
    fn read(&mut self, _: &mut [u8]) -> Result<usize> {
        Ok(0)
    }
}
impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Copies a reader to a writer until EOF; returns the bytes copied.
pub fn copy<R: Read + ?Sized, W: Write + ?Sized>(r: &mut R, w: &mut W) -> Result<u64> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// The standard input of this process.
pub struct Stdin {
    _p: (),
}

/// Locked standard input (the lock is per call here; kept for std's shape).
pub struct StdinLock<'a> {
    _p: core::marker::PhantomData<&'a ()>,
}

pub fn stdin() -> Stdin {
    Stdin { _p: () }
}

impl Stdin {
    pub fn lock(&self) -> StdinLock<'static> {
        StdinLock {
            _p: core::marker::PhantomData,
        }
    }
    /// Reads a line (with its `\n`) into `buf`; 0 at EOF.
    pub fn read_line(&self, buf: &mut String) -> Result<usize> {
        self.lock().read_line(buf)
    }
    pub fn lines(self) -> Lines<StdinLock<'static>> {
        self.lock().lines()
    }
    /// Reads a line (with its `\n`) into `buf` without reading ahead of it, so that the rest of
    /// the input stays for the next reader of the stream (a child started afterwards); 0 at EOF.
    /// Slower than [`Stdin::read_line`]: one request per byte (eurali's addition, for login and
    /// the shell). Any bytes: what is not UTF-8 comes as [`crate::ffi::text_from_bytes`] maps it.
    pub fn read_line_unbuffered(&self, buf: &mut String) -> Result<usize> {
        let mut bytes = Vec::new();
        let n = rt::stdin_read_line_unbuffered(&mut bytes)?;
        buf.push_str(&crate::ffi::text_from_bytes(&bytes));
        Ok(n)
    }
    /// Reads a line of any bytes as [`Stdin::read_line_unbuffered`] does, without its line end
    /// (`\n` or `\r\n`), keeping at most `max + 1` bytes: a longer line is still read to its
    /// end, past `max` in large requests (what they bring beyond the line stays buffered in this
    /// process, for its next reads), and comes back cut to `max + 1` bytes, so that
    /// `len() > max` tells it was too long. `None` at the end of input (eurali's addition, for
    /// login: a line of megabytes costs neither memory nor a request per byte).
    pub fn read_line_bounded(&self, max: usize) -> Result<Option<Vec<u8>>> {
        let _ = rt::stdout_flush();
        let mut line = Vec::new();
        while line.len() <= max {
            match rt::stdin_byte_unbuffered()? {
                None if line.is_empty() => return Ok(None),
                None => return Ok(Some(line)),
                Some(b'\n') => {
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(Some(line));
                }
                Some(b) => line.push(b),
            }
        }
        loop {
            let ahead = rt::stdin_fill_buf()?;
            if ahead.is_empty() {
                return Ok(Some(line));
            }
            match ahead.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    rt::stdin_consume(i + 1);
                    return Ok(Some(line));
                }
                None => rt::stdin_consume(ahead.len()),
            }
        }
    }
}

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.lock().read(buf)
    }
}

impl Read for StdinLock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        rt::stdin_read(buf)
    }
}

impl BufRead for StdinLock<'_> {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        rt::stdin_fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        rt::stdin_consume(amt)
    }
}

/// The standard output of this process (line-buffered).
pub struct Stdout {
    _p: (),
}

pub struct StdoutLock<'a> {
    _p: core::marker::PhantomData<&'a ()>,
}

pub fn stdout() -> Stdout {
    Stdout { _p: () }
}

impl Stdout {
    pub fn lock(&self) -> StdoutLock<'static> {
        StdoutLock {
            _p: core::marker::PhantomData,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        rt::after_write(rt::stdout_write(buf))
    }
    fn flush(&mut self) -> Result<()> {
        rt::after_write(rt::stdout_flush())
    }
}

impl Write for StdoutLock<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        rt::after_write(rt::stdout_write(buf))
    }
    fn flush(&mut self) -> Result<()> {
        rt::after_write(rt::stdout_flush())
    }
}

/// The standard error of this process (unbuffered).
pub struct Stderr {
    _p: (),
}

pub fn stderr() -> Stderr {
    Stderr { _p: () }
}

impl Stderr {
    pub fn lock(&self) -> Stderr {
        Stderr { _p: () }
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        rt::after_write(rt::stderr_write(buf))
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    /// One write per message, as [`_eprint`] (`writeln!(stderr(), …)` is a whole line).
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<()> {
        self.write_all(&crate::ffi::bytes_from_text(&alloc::fmt::format(args)))
    }
}

macro_rules! embedded_io_bridge {
    ($($t:ty),*) => {$(
        impl embedded_io::ErrorType for $t {
            type Error = Error;
        }
    )*};
}
embedded_io_bridge!(Stdin, Stdout, Stderr);

impl embedded_io::Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        Read::read(self, buf)
    }
}

impl embedded_io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Write::write(self, buf)
    }
    fn flush(&mut self) -> Result<()> {
        Write::flush(self)
    }
}

impl embedded_io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        Write::write(self, buf)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    // std panics on a failed print; here a gone reader ends the process as SIGPIPE would (in
    // the write, see `rt`), and any other failure fails the process at its exit (GNU's
    // close_stdout), so the program goes on meanwhile.
    let _ = stdout().write_fmt(args);
}

#[doc(hidden)]
pub fn _eprint(args: fmt::Arguments<'_>) {
    // One message (one write) per call where it fits, so that lines from several processes
    // sharing a terminal do not interleave mid-line; longer ones go out piece by piece.
    let mut line = crate::rt::FixedBuf::new();
    if fmt::Write::write_fmt(&mut line, args).is_ok() {
        let text = core::str::from_utf8(line.as_bytes()).unwrap_or_default();
        let _ = stderr().write_all(&crate::ffi::bytes_from_text(text));
    } else {
        let _ = stderr().write_fmt(args);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buf_read_lines_and_split() {
        let data: &[u8] = b"one\ntwo\r\nthree";
        let lines: Vec<String> = BufReader::with_capacity(2, data)
            .lines()
            .map(|l| l.unwrap())
            .collect();
        assert_eq!(lines, ["one", "two", "three"]);
        let parts: Vec<Vec<u8>> = BufRead::split(&b"a,b,,c"[..], b',')
            .map(|p| p.unwrap())
            .collect();
        assert_eq!(
            parts,
            [b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c".to_vec()]
        );
        let mut out = Vec::new();
        write!(out, "{}-{}", 1, 2).unwrap();
        assert_eq!(out, b"1-2");
        let mut s = String::new();
        (&b"abc"[..]).read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
        let mut short = [0u8; 4];
        assert_eq!(
            (&b"ab"[..]).read_exact(&mut short).unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn describe_words_errors_as_the_c_library_does() {
        let words = |k: ErrorKind| describe(&Error::from(k));
        assert_eq!(words(ErrorKind::NotFound), "No such file or directory");
        assert_eq!(words(ErrorKind::QuotaExceeded), "Disk quota exceeded");
        assert_eq!(
            words(ErrorKind::ArgumentListTooLong),
            "Argument list too long"
        );
        assert_eq!(
            describe(&Error::from(libeurali::Error::NotFound)),
            "No such file or directory"
        );
        // A kind without fixed words: the error's own message.
        assert_eq!(
            describe(&Error::const_msg(ErrorKind::Other, "its own words")),
            "its own words"
        );
    }

    #[test]
    fn kernel_errors_map_to_kinds() {
        let e = Error::from(libeurali::Error::NotFound);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.raw_os_error(), Some(7));
        assert_eq!(Error::from_raw_os_error(12).kind(), ErrorKind::BrokenPipe);
        assert_eq!(alloc::format!("{e}"), "entity not found (os error 7)");
        assert_eq!(Error::other("boom").kind(), ErrorKind::Other);
        // A full file system behind a stream (a redirection) travels as a code and back.
        for kind in [
            ErrorKind::StorageFull,
            ErrorKind::FileTooLarge,
            ErrorKind::BrokenPipe,
        ] {
            let code = kernel_code(&Error::from(kind));
            assert_eq!(Error::from(code).kind(), kind);
        }
    }
}

/// Where [`Seek::seek`] moves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekFrom {
    Start(u64),
    End(i64),
    Current(i64),
}

/// A cursor that can be moved, as std's.
pub trait Seek {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64>;

    fn rewind(&mut self) -> Result<()> {
        self.seek(SeekFrom::Start(0)).map(|_| ())
    }

    fn stream_position(&mut self) -> Result<u64> {
        self.seek(SeekFrom::Current(0))
    }
}

/// How file-protocol errors read as std kinds (next to [`kind_of`] for kernel codes).
impl From<vfs_client::proto::FsError> for Error {
    fn from(e: vfs_client::proto::FsError) -> Error {
        use vfs_client::proto::FsError as F;
        let kind = match e {
            F::NotFound => ErrorKind::NotFound,
            F::Exists => ErrorKind::AlreadyExists,
            F::NotDir => ErrorKind::NotADirectory,
            F::IsDir => ErrorKind::IsADirectory,
            F::NotEmpty => ErrorKind::DirectoryNotEmpty,
            F::Denied => ErrorKind::PermissionDenied,
            F::Invalid => ErrorKind::InvalidInput,
            F::NoSpace => ErrorKind::StorageFull,
            F::Quota => ErrorKind::QuotaExceeded,
            F::TooBig => ErrorKind::FileTooLarge,
            F::NameTooLong => ErrorKind::InvalidFilename,
            F::MountPoint => ErrorKind::ResourceBusy,
            F::Busy | F::Again => ErrorKind::WouldBlock,
            F::CrossesDevices => ErrorKind::CrossesDevices,
            F::TimedOut => ErrorKind::TimedOut,
            F::Kernel(k) => return Error::from(k),
        };
        Error::const_msg(kind, e.as_str())
    }
}
