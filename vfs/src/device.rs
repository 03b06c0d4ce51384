//! Devices served with the file protocol: `/dev/null`, `/dev/console`, and any [`Device`].
//!
//! A device is one node of kind [`Kind::Device`] at the mount point itself: `open` of the mount
//! path gives a session like a file's, whose reads ignore the offset and may block (the server
//! framework asks for at most [`crate::proto::MAX_DEVICE_IO`] bytes at a time) and whose writes
//! go through whole. Serving the file protocol rather than the bare stream protocol lets every
//! std program open them (`File::open("/dev/null")`, a shell's `> /dev/null`), and gives each
//! open its own session rendezvous, so that clients never contend for one single-slot
//! rendezvous.
//!
//! - [`Null`]: reads end at once, writes vanish.
//! - [`Console`]: forwards to two stream handles ([`libeurali::proto::stream`]), typically the
//!   serving process's own stdin and stdout, so that login can mount the console it was given
//!   into a user's namespace. Reads are served one at a time, and so are writes (a stream's
//!   rendezvous has room for one request).

use alloc::vec::Vec;

use libeurali::proto::stream;
use libeurali::{Error, Handle};

use crate::proto::{Entry, FsError, Kind, Meta, flags};
use crate::server::FileSystem;
use libeurali::sync::Lock;

/// What a device does with reads and writes.
pub trait Device: Send + Sync + 'static {
    /// Reads into `buf`; 0 is the end of the stream.
    fn read(&self, buf: &mut [u8]) -> Result<usize, FsError>;
    /// Writes some of `data`; returns how much.
    fn write(&self, data: &[u8]) -> Result<usize, FsError>;
}

/// A [`Device`] as a one-node [`FileSystem`].
pub struct DeviceFs<D>(pub D);

impl<D: Device> FileSystem for DeviceFs<D> {
    type Node = ();

    fn open(&self, path: &[&str], fl: u32) -> Result<(), FsError> {
        if !path.is_empty() {
            return Err(if fl & flags::CREATE != 0 {
                FsError::NotDir
            } else {
                FsError::NotFound
            });
        }
        if fl & flags::DIRECTORY != 0 {
            return Err(FsError::NotDir);
        }
        if fl & flags::CREATE != 0 && fl & flags::EXCLUSIVE != 0 {
            return Err(FsError::Exists);
        }
        Ok(())
    }

    fn stat(&self, _: &()) -> Result<Meta, FsError> {
        Ok(Meta {
            kind: Kind::Device,
            len: 0,
            readonly: false,
            mount_readonly: false,
        })
    }

    fn read(&self, _: &(), _offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        self.0.read(buf)
    }

    fn write(&self, _: &(), _offset: Option<u64>, mut data: &[u8]) -> Result<u64, FsError> {
        while !data.is_empty() {
            match self.0.write(data)? {
                0 => return Err(FsError::Kernel(Error::Closed)),
                n => data = &data[n.min(data.len())..],
            }
        }
        Ok(0)
    }

    /// Truncating a device (what `File::create` asks) does nothing, as on Unix.
    fn set_len(&self, _: &(), _len: u64) -> Result<(), FsError> {
        Ok(())
    }

    fn read_dir(&self, _: &()) -> Result<Vec<Entry>, FsError> {
        Err(FsError::NotDir)
    }

    fn mkdir(&self, _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn remove(&self, _: &[&str], _dir: bool) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn rename(&self, _: &[&str], _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
}

/// Starts a server for `d` on a new thread; returns the handle to mount (at `/dev/NAME`, say).
/// The server ends once every other reference to that handle is gone.
pub fn spawn<D: Device>(d: D) -> Result<Handle, Error> {
    crate::server::start(DeviceFs(d))
}

/// `/dev/null`.
pub struct Null;

impl Device for Null {
    fn read(&self, _: &mut [u8]) -> Result<usize, FsError> {
        Ok(0)
    }
    fn write(&self, data: &[u8]) -> Result<usize, FsError> {
        Ok(data.len())
    }
}

/// `/dev/console`: reads from one stream handle, writes to another.
pub struct Console {
    input: Lock<Option<Handle>>,
    output: Lock<Option<Handle>>,
}

impl Console {
    /// A console reading `input` and writing `output` (either may be absent: reads then end at
    /// once, writes fail with CLOSED).
    pub fn new(input: Option<Handle>, output: Option<Handle>) -> Console {
        Console {
            input: Lock::new(input),
            output: Lock::new(output),
        }
    }
}

impl Device for Console {
    fn read(&self, buf: &mut [u8]) -> Result<usize, FsError> {
        let input = self.input.lock();
        let Some(h) = input.as_ref() else {
            return Ok(0);
        };
        loop {
            match stream::read(h, buf)? {
                stream::ReadReply::Data(n) => return Ok(n),
                stream::ReadReply::Eof => return Ok(0),
                // Ctrl-C at the console: the reader that mattered was told; read on.
                stream::ReadReply::Interrupted => {}
            }
        }
    }

    fn write(&self, data: &[u8]) -> Result<usize, FsError> {
        let output = self.output.lock();
        match output.as_ref() {
            Some(h) => Ok(stream::write(h, data)?),
            None => Err(FsError::Kernel(Error::Closed)),
        }
    }
}
