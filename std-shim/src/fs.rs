//! `std::fs` over vfs's file protocol ([`vfs_client::client`]).
//!
//! A path is resolved against the working directory ([`crate::env::current_dir`]) by
//! [`vfs_client::path::resolve`] before the kernel sees it, so `.`, `..`, `//` and trailing slashes never
//! reach a server and never climb above `/`. A [`File`] is one server session plus a position
//! kept here (seek is a client matter); reads and writes move up to 1 MiB per message.

use alloc::string::String;
use alloc::vec::Vec;

use vfs_client::client::{self, Session};
use vfs_client::proto::{Entry, FsError, Kind, Meta, flags};

use crate::io::{self, Read, Seek, SeekFrom, Write};
use crate::path::{Path, PathBuf};

/// The absolute, normal spelling of `p` for this process.
pub(crate) fn resolve(p: &Path) -> io::Result<String> {
    let cwd = crate::env::cwd_string();
    vfs_client::path::resolve(&cwd, p.as_str())
        .map_err(|_| io::Error::const_msg(io::ErrorKind::InvalidInput, "invalid path"))
}

fn err(e: FsError) -> io::Error {
    io::Error::from(e)
}

/// An open file (or directory).
#[derive(Debug)]
pub struct File {
    s: Session,
    /// The path it was opened by (resolved), for messages.
    path: String,
    /// The position, shared by `&File` readers, writers and seekers as in std.
    pos: core::sync::atomic::AtomicU64,
    append: bool,
    /// Whether small writes are gathered: for regular files only (a device's writes go at once).
    gather: bool,
    /// Small sequential writes not yet sent to the server (see [`WriteBuf`]).
    pending: crate::sync::Mutex<WriteBuf>,
}

/// Sequential writes smaller than this are gathered into one message.
const WRITE_GATHER: usize = 64 << 10;

/// Writes waiting to go to the server as one message: `data` belongs at `start`. A write that is
/// not where the last one ended, any read, seek, metadata, `set_len`, `flush`, `sync_all` and the
/// drop of the file send it first (as a page cache would, a write's error can so show at one of
/// those; at the drop it is reported on stderr, naming the file, and the program's exit status
/// of 0 becomes 1, see `crate::rt`). Append-mode writes and writes to devices are never
/// gathered.
#[derive(Debug, Default)]
struct WriteBuf {
    start: u64,
    data: Vec<u8>,
}

/// Metadata of a file or directory.
#[derive(Clone, Debug)]
pub struct Metadata {
    meta: Meta,
}

/// A file's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileType {
    kind: Kind,
}

/// Permissions: only read-only-ness exists, and it is the mount's (`Meta::mount_readonly`: a
/// read-only mount or view, a file system that writes nothing), as std's is the file's mode,
/// whatever a descriptor was opened for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions {
    readonly: bool,
}

impl Permissions {
    pub fn readonly(&self) -> bool {
        self.readonly
    }
    pub fn set_readonly(&mut self, r: bool) {
        self.readonly = r;
    }
}

impl FileType {
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }
    pub fn is_symlink(&self) -> bool {
        false
    }
    /// A device such as `/dev/null` or `/dev/console` (Unix's `is_char_device`).
    pub fn is_device(&self) -> bool {
        self.kind == Kind::Device
    }
}

impl Metadata {
    pub fn len(&self) -> u64 {
        self.meta.len
    }
    pub fn is_empty(&self) -> bool {
        self.meta.len == 0
    }
    pub fn is_dir(&self) -> bool {
        self.meta.kind == Kind::Dir
    }
    pub fn is_file(&self) -> bool {
        self.meta.kind == Kind::File
    }
    pub fn is_symlink(&self) -> bool {
        false
    }
    pub fn file_type(&self) -> FileType {
        FileType {
            kind: self.meta.kind,
        }
    }
    pub fn permissions(&self) -> Permissions {
        Permissions {
            readonly: self.meta.mount_readonly,
        }
    }
}

/// How to open a file, as std's.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
}

impl OpenOptions {
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }
    pub fn read(&mut self, v: bool) -> &mut Self {
        self.read = v;
        self
    }
    pub fn write(&mut self, v: bool) -> &mut Self {
        self.write = v;
        self
    }
    pub fn append(&mut self, v: bool) -> &mut Self {
        self.append = v;
        self
    }
    pub fn truncate(&mut self, v: bool) -> &mut Self {
        self.truncate = v;
        self
    }
    pub fn create(&mut self, v: bool) -> &mut Self {
        self.create = v;
        self
    }
    pub fn create_new(&mut self, v: bool) -> &mut Self {
        self.create_new = v;
        self
    }

    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        self.open_path(path.as_ref())
    }

    /// [`OpenOptions::open`] past the conversion: one copy whatever the caller's path type
    /// (as std does it, and for the same reason: the code is not repeated per type).
    fn open_path(&self, path: &Path) -> io::Result<File> {
        let writes = self.write || self.append;
        if !self.read && !writes {
            return Err(io::Error::const_msg(
                io::ErrorKind::InvalidInput,
                "no access mode",
            ));
        }
        if (self.create || self.create_new || self.truncate) && !writes {
            return Err(io::Error::const_msg(
                io::ErrorKind::InvalidInput,
                "create or truncate needs write access",
            ));
        }
        let mut f = 0;
        if self.read {
            f |= flags::READ;
        }
        if self.write {
            f |= flags::WRITE;
        }
        if self.append {
            f |= flags::APPEND | flags::WRITE;
        }
        if self.truncate && !self.append {
            f |= flags::TRUNCATE;
        }
        if self.create || self.create_new {
            f |= flags::CREATE;
        }
        if self.create_new {
            f |= flags::EXCLUSIVE;
        }
        let p = resolve(path)?;
        let (s, meta) = client::open(&p, f).map_err(err)?;
        Ok(File {
            s,
            path: p,
            pos: core::sync::atomic::AtomicU64::new(0),
            append: self.append,
            gather: meta.kind == Kind::File,
            pending: crate::sync::Mutex::new(WriteBuf::default()),
        })
    }
}

impl File {
    /// Opens for reading.
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().read(true).open(path)
    }
    /// Opens for writing, creating or truncating.
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }
    /// Creates a new file; fails if it exists.
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
    }
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }
    pub fn metadata(&self) -> io::Result<Metadata> {
        self.send_pending()?;
        self.s.stat().map(|meta| Metadata { meta }).map_err(err)
    }
    pub fn set_len(&self, len: u64) -> io::Result<()> {
        self.send_pending()?;
        self.s.set_len(len).map_err(err)
    }
    pub fn sync_all(&self) -> io::Result<()> {
        self.send_pending()?;
        self.s.sync().map_err(err)
    }
    pub fn sync_data(&self) -> io::Result<()> {
        self.sync_all()
    }
}

impl File {
    fn pos(&self) -> u64 {
        self.pos.load(core::sync::atomic::Ordering::Relaxed)
    }
    fn set_pos(&self, p: u64) {
        self.pos.store(p, core::sync::atomic::Ordering::Relaxed)
    }
    /// Sends the gathered writes, if any.
    fn send_pending(&self) -> io::Result<()> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        self.send_locked(&mut p)
    }
    fn send_locked(&self, p: &mut WriteBuf) -> io::Result<()> {
        let data = core::mem::take(&mut p.data);
        let mut done = 0;
        while done < data.len() {
            let sent = match self.s.write_at(p.start + done as u64, &data[done..]) {
                Ok((0, _)) => Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok((n, _)) => Ok(n),
                Err(e) => Err(err(e)),
            };
            match sent {
                Ok(n) => done += n,
                Err(e) => {
                    // What was not written is lost: the position goes back to the end of what
                    // was (if it still stands at the end of the gathered writes), so that the
                    // next write continues the file instead of leaving a hole past its end.
                    if self.pos() == p.start + data.len() as u64 {
                        self.set_pos(p.start + done as u64);
                    }
                    return Err(e);
                }
            }
        }
        // Keep the allocation for the next writes.
        p.data = data;
        p.data.clear();
        Ok(())
    }
    /// Sends `buf` now, at the position.
    fn write_now(&self, buf: &[u8]) -> io::Result<usize> {
        let pos = self.pos();
        let (n, end) = self.s.write_at(pos, buf).map_err(err)?;
        self.set_pos(if self.append { end } else { pos + n as u64 });
        Ok(n)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let Err(e) = self.send_pending() {
            // Nobody can be told but the user, and the program's status.
            let msg = alloc::format!(
                "{}: {}: write error (as the file was closed): {e}\n",
                crate::rt::program_name(),
                self.path
            );
            let _ = crate::rt::stderr_write(msg.as_bytes());
            crate::rt::note_lost_write();
        }
    }
}

impl Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.send_pending()?;
        let pos = self.pos();
        let n = self.s.read_at(pos, buf).map_err(err)?;
        self.set_pos(pos + n as u64);
        Ok(n)
    }
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        // Room for what is left in one go (bounded), then up to 1 MiB per message, appended
        // straight from the server's chunk.
        self.send_pending()?;
        let start = buf.len();
        let hint = self
            .metadata()
            .map(|m| m.len().saturating_sub(self.pos()) as usize)
            .unwrap_or(0);
        let _ = buf.try_reserve(hint.min(64 << 20));
        loop {
            let want = buf.capacity().saturating_sub(buf.len()).max(4096);
            let pos = self.pos();
            match self.s.read_append(pos, want, buf).map_err(err)? {
                0 => return Ok(buf.len() - start),
                n => self.set_pos(pos + n as u64),
            }
        }
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.append || !self.gather || buf.len() >= WRITE_GATHER {
            self.send_pending()?;
            return self.write_now(buf);
        }
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let pos = self.pos();
        if !p.data.is_empty()
            && (p.start + p.data.len() as u64 != pos || p.data.len() + buf.len() > WRITE_GATHER)
        {
            self.send_locked(&mut p)?;
        }
        if p.data.is_empty() {
            p.start = pos;
        }
        p.data.extend_from_slice(buf);
        self.set_pos(pos + buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.send_pending()?;
        let new = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos().checked_add_signed(d),
            SeekFrom::End(d) => self.metadata()?.len().checked_add_signed(d),
        };
        match new {
            Some(n) => {
                self.set_pos(n);
                Ok(n)
            }
            None => Err(io::Error::const_msg(
                io::ErrorKind::InvalidInput,
                "seek to a negative position",
            )),
        }
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    fn metadata(path: &Path) -> io::Result<Metadata> {
        let p = resolve(path)?;
        client::stat(&p).map(|meta| Metadata { meta }).map_err(err)
    }
    metadata(path.as_ref())
}

/// Same as [`metadata`]: there are no symbolic links.
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    metadata(path)
}

pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    fn read(path: &Path) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        File::open(path)?.read_to_end(&mut v)?;
        Ok(v)
    }
    read(path.as_ref())
}

pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    fn read_to_string(path: &Path) -> io::Result<String> {
        let v = read(path)?;
        String::from_utf8(v)
            .map_err(|_| io::Error::const_msg(io::ErrorKind::InvalidData, "not valid UTF-8"))
    }
    read_to_string(path.as_ref())
}

/// Writes `contents` as the whole file (created or truncated); the error of any part of it,
/// the last one included, is this call's.
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(contents.as_ref())?;
    f.flush()
}

pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    client::mkdir(&resolve(path.as_ref())?).map_err(err)
}

pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    create_dir_all_path(path.as_ref())
}

/// `mkdir -p`, as std does it: from the deepest directory up to the first one that can be made
/// (or exists), then down again. Directories that already exist are never asked for, so a user
/// whose namespace holds only `/home/user` (where `/home` cannot be made, nor seen as made) can
/// make `/home/user/a/b`. On the way up a path too long to send counts as not there yet (its
/// parent may be short enough); on the way down every error is the answer. A loop, not std's
/// recursion (small stacks).
fn create_dir_all_path(path: &Path) -> io::Result<()> {
    let p = resolve(path)?;
    let make = |at: &str| match client::mkdir(at) {
        Err(_) if client::stat(at).is_ok_and(|m| m.kind == Kind::Dir) => Ok(()),
        r => r,
    };
    // Up: `p[..end]` is the deepest prefix that exists or could be made.
    let mut end = p.len();
    let mut first = None;
    loop {
        if end <= 1 {
            return first.map_or(Ok(()), |e| Err(err(e)));
        }
        match make(&p[..end]) {
            Ok(()) => break,
            Err(e @ (FsError::NotFound | FsError::NameTooLong)) => {
                first.get_or_insert(e);
                end = p[..end].rfind('/').unwrap_or(0);
            }
            Err(e) => return Err(err(e)),
        }
    }
    // Down: the rest, each parent now there (`p` is resolved: no `//`, no trailing `/`).
    while end < p.len() {
        end = p[end + 1..].find('/').map_or(p.len(), |i| end + 1 + i);
        make(&p[..end]).map_err(err)?;
    }
    Ok(())
}

pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    client::remove_file(&resolve(path.as_ref())?).map_err(err)
}

pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    client::remove_dir(&resolve(path.as_ref())?).map_err(err)
}

pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    remove_dir_all_path(path.as_ref())
}

fn remove_dir_all_path(path: &Path) -> io::Result<()> {
    let p = resolve(path)?;
    for e in list(&p)? {
        let child = if p == "/" {
            alloc::format!("/{}", e.name)
        } else {
            alloc::format!("{p}/{}", e.name)
        };
        match e.kind {
            Kind::Dir => remove_dir_all_path(Path::new(&child))?,
            Kind::File | Kind::Device => client::remove_file(&child).map_err(err)?,
        }
    }
    client::remove_dir(&p).map_err(err)
}

pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    fn rename(from: &Path, to: &Path) -> io::Result<()> {
        let (a, b) = (resolve(from)?, resolve(to)?);
        client::rename(&a, &b).map_err(err)
    }
    rename(from.as_ref(), to.as_ref())
}

/// Copies a file; returns the bytes copied.
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    fn copy(from: &Path, to: &Path) -> io::Result<u64> {
        let data = read(from)?;
        write(to, &data)?;
        Ok(data.len() as u64)
    }
    copy(from.as_ref(), to.as_ref())
}

pub fn exists<P: AsRef<Path>>(path: P) -> io::Result<bool> {
    match metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The canonical form of a path that exists: resolved and absolute (there are no links).
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let p = resolve(path.as_ref())?;
    client::stat(&p).map_err(err)?;
    Ok(PathBuf::from(p))
}

fn list(p: &str) -> io::Result<Vec<Entry>> {
    list_dir(p).map(|(entries, _)| entries)
}

/// The entries of the resolved directory `p` and whether its mount is read-only
/// (`Meta::mount_readonly`, which its entries share unless they are mount points).
fn list_dir(p: &str) -> io::Result<(Vec<Entry>, bool)> {
    let mut mount_readonly = true;
    let served = match client::open(p, flags::READ | flags::DIRECTORY) {
        Ok((_, meta)) if meta.kind != Kind::Dir => {
            return Err(io::ErrorKind::NotADirectory.into());
        }
        Ok((s, meta)) => {
            mount_readonly = meta.mount_readonly;
            s.read_dir()
        }
        Err(e) => Err(e),
    };
    // Mount points show as entries of the directories above them.
    client::list_with_mounts(p, served)
        .map(|e| (e, mount_readonly))
        .map_err(err)
}

/// A directory listing (sorted by name), as std's `ReadDir`.
pub struct ReadDir {
    dir: PathBuf,
    entries: alloc::vec::IntoIter<Entry>,
    /// The directory's `Meta::mount_readonly`.
    mount_readonly: bool,
    /// The entries that are mount points (of another mount, so with a mount of their own).
    mounts: Vec<String>,
}

/// One entry of a [`ReadDir`].
#[derive(Debug)]
pub struct DirEntry {
    path: PathBuf,
    entry: Entry,
    mount_readonly: bool,
    mount_point: bool,
}

impl DirEntry {
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }
    pub fn file_name(&self) -> crate::ffi::OsString {
        crate::ffi::OsString::from(self.entry.name.clone())
    }
    /// The entry's kind and length from the listing; whether it is read-only is its
    /// directory's mount's (a mount point is asked itself).
    pub fn metadata(&self) -> io::Result<Metadata> {
        if self.mount_point {
            return metadata(&self.path);
        }
        Ok(Metadata {
            meta: Meta {
                kind: self.entry.kind,
                len: self.entry.len,
                readonly: self.mount_readonly,
                mount_readonly: self.mount_readonly,
            },
        })
    }
    pub fn file_type(&self) -> io::Result<FileType> {
        Ok(FileType {
            kind: self.entry.kind,
        })
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.entries.next()?;
        Some(Ok(DirEntry {
            path: self.dir.join(entry.name.as_str()),
            mount_point: self.mounts.contains(&entry.name),
            mount_readonly: self.mount_readonly,
            entry,
        }))
    }
}

pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    read_dir_path(path.as_ref())
}

fn read_dir_path(path: &Path) -> io::Result<ReadDir> {
    let p = resolve(path)?;
    let (entries, mount_readonly) = list_dir(&p)?;
    Ok(ReadDir {
        dir: path.to_path_buf(),
        entries: entries.into_iter(),
        mount_readonly,
        mounts: client::mount_children(&p),
    })
}
