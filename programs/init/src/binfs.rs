//! `/bin` on the real kernel: a read-only file server over the programs init carries in its
//! image, in init's memory, each inflated the first time it is read (a boot needs only the
//! drivers, the servers, login and the shell: inflating the rest took boot time and heap).
//! Names may share bytes (every coreutils tool is one binary), which a copy per name in the
//! ramdisk could not afford in a 4 MiB heap.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// A program's bytes: packed in init's image until first read, or given as they are.
pub struct Program {
    size: usize,
    name: String,
    packed: Cow<'static, [u8]>,
    bytes: OnceLock<Result<Vec<u8>, String>>,
}

impl Program {
    /// A program packed in an image (zlib, `size` bytes inflated).
    pub fn packed(name: &str, size: usize, packed: Cow<'static, [u8]>) -> Program {
        Program {
            size,
            name: name.into(),
            packed,
            bytes: OnceLock::new(),
        }
    }

    /// Its length (known without inflating it).
    pub fn len(&self) -> usize {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Its bytes, inflated now if not yet; an error if the image is corrupt.
    pub fn bytes(&self) -> Result<&[u8], &str> {
        self.bytes
            .get_or_init(|| {
                let e = bootimage::Entry {
                    name: &self.name,
                    size: self.size,
                    packed: &self.packed,
                };
                e.unpack().map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|e| e.as_str())
    }
}

impl From<Vec<u8>> for Program {
    fn from(v: Vec<u8>) -> Program {
        let bytes = OnceLock::new();
        let size = v.len();
        let _ = bytes.set(Ok(v));
        Program {
            size,
            name: String::new(),
            packed: Cow::Borrowed(&[]),
            bytes,
        }
    }
}

use vfs::proto::{Entry, FsError, Kind, Meta, flags};
use vfs::server::FileSystem;

/// Programs by name; several names may share one program's bytes.
pub struct BinFs {
    /// Sorted by name.
    files: Vec<(String, Arc<Program>)>,
}

/// An open node: the directory, or file `i`.
#[derive(Clone)]
pub enum Node {
    Dir,
    File(usize),
}

impl BinFs {
    pub fn new(mut files: Vec<(String, Arc<Program>)>) -> BinFs {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        BinFs { files }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.files.binary_search_by(|f| f.0.as_str().cmp(name)).ok()
    }
}

impl FileSystem for BinFs {
    type Node = Node;

    fn open(&self, path: &[&str], fl: u32) -> Result<Node, FsError> {
        let writes = flags::WRITE | flags::CREATE | flags::TRUNCATE;
        match path {
            [] if fl & writes != 0 => Err(FsError::Denied),
            [] => Ok(Node::Dir),
            [name] => match self.find(name) {
                Some(_) if fl & writes != 0 => Err(FsError::Denied),
                Some(_) if fl & flags::DIRECTORY != 0 => Err(FsError::NotDir),
                Some(i) => Ok(Node::File(i)),
                None if fl & flags::CREATE != 0 => Err(FsError::Denied),
                None => Err(FsError::NotFound),
            },
            [name, ..] => Err(if self.find(name).is_some() {
                FsError::NotDir
            } else {
                FsError::NotFound
            }),
        }
    }

    fn stat(&self, node: &Node) -> Result<Meta, FsError> {
        Ok(match node {
            Node::Dir => Meta {
                kind: Kind::Dir,
                len: self.files.len() as u64,
                readonly: true,
                mount_readonly: true,
            },
            Node::File(i) => Meta {
                kind: Kind::File,
                len: self.files[*i].1.len() as u64,
                readonly: true,
                mount_readonly: true,
            },
        })
    }

    fn read(&self, node: &Node, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let Node::File(i) = node else {
            return Err(FsError::IsDir);
        };
        // A corrupt image entry (its checksum failed): nothing to give (init logged nothing,
        // the reader sees a failed read).
        let data = self.files[*i]
            .1
            .bytes()
            .map_err(|_| FsError::Kernel(libeurali::Error::Param))?;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write(&self, _: &Node, _: Option<u64>, _: &[u8]) -> Result<u64, FsError> {
        Err(FsError::Denied)
    }

    fn set_len(&self, _: &Node, _: u64) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn read_dir(&self, node: &Node) -> Result<Vec<Entry>, FsError> {
        match node {
            Node::Dir => Ok(self
                .files
                .iter()
                .map(|(name, p)| Entry {
                    name: name.clone(),
                    kind: Kind::File,
                    len: p.len() as u64,
                })
                .collect()),
            Node::File(_) => Err(FsError::NotDir),
        }
    }

    fn mkdir(&self, _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn remove(&self, _: &[&str], _: bool) -> Result<(), FsError> {
        Err(FsError::Denied)
    }

    fn rename(&self, _: &[&str], _: &[&str]) -> Result<(), FsError> {
        Err(FsError::Denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs() -> BinFs {
        let core = Arc::new(Program::from(b"core".to_vec()));
        BinFs::new(vec![
            (
                "sh".into(),
                Arc::new(Program::from(b"shell bytes".to_vec())),
            ),
            ("ls".into(), core.clone()),
            ("cat".into(), core),
        ])
    }

    #[test]
    fn lists_and_reads_shared_programs() {
        let fs = fs();
        let names: Vec<String> = fs
            .read_dir(&Node::Dir)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["cat", "ls", "sh"]);
        let n = fs.open(&["sh"], flags::READ).unwrap();
        assert_eq!(fs.stat(&n).unwrap().len, 11);
        let mut buf = [0u8; 8];
        assert_eq!(fs.read(&n, 6, &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"bytes");
        assert_eq!(fs.read(&n, 99, &mut buf).unwrap(), 0);
        let ls = fs.open(&["ls"], flags::READ).unwrap();
        assert_eq!(fs.read(&ls, 0, &mut buf).unwrap(), 4);
    }

    #[test]
    fn is_read_only() {
        let fs = fs();
        assert_eq!(fs.open(&["sh"], flags::WRITE).err(), Some(FsError::Denied));
        assert_eq!(
            fs.open(&["new"], flags::WRITE | flags::CREATE).err(),
            Some(FsError::Denied)
        );
        assert_eq!(
            fs.open(&["nope"], flags::READ).err(),
            Some(FsError::NotFound)
        );
        assert_eq!(
            fs.open(&["sh", "x"], flags::READ).err(),
            Some(FsError::NotDir)
        );
        assert_eq!(fs.mkdir(&["d"]), Err(FsError::Denied));
        assert_eq!(fs.remove(&["sh"], false), Err(FsError::Denied));
        assert_eq!(fs.rename(&["sh"], &["x"]), Err(FsError::Denied));
        let n = fs.open(&["sh"], flags::READ).unwrap();
        assert_eq!(fs.write(&n, Some(0), b"x"), Err(FsError::Denied));
        assert!(fs.stat(&n).unwrap().readonly);
    }
}
