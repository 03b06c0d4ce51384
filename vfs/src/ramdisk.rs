//! The ramdisk: an in-memory tree served with the file protocol.
//!
//! Nodes live in a hashbrown map from inode number to node; a directory maps names to inode
//! numbers in a `BTreeMap`, so listings come out sorted (deterministic). One lock guards the
//! tree; every operation holds it briefly (a 1 MiB read copies under it). Writes land at their
//! offset (a write past the end fills the gap with zeros). File data counts against a size limit;
//! going over it is `NoSpace` and writes nothing.
//!
//! An open file is named by its inode number: removing or renaming it under an open session is
//! allowed; after a remove the session's requests fail with `NotFound` (the data is freed at once,
//! unlike Unix, which keeps it until the last close).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use hashbrown::HashMap;

use crate::proto::{Entry, FsError, Kind, Meta, flags};
use crate::server::FileSystem;
use crate::sync::Lock;

enum Node {
    File(Vec<u8>),
    Dir(BTreeMap<String, u64>),
}

struct Tree {
    nodes: HashMap<u64, Node>,
    next: u64,
    used: usize,
}

/// An in-memory file system.
pub struct Ramdisk {
    tree: Lock<Tree>,
    limit: usize,
}

const ROOT: u64 = 1;

impl Ramdisk {
    /// An empty ramdisk holding at most `limit` bytes of file data.
    pub fn new(limit: usize) -> Ramdisk {
        let mut nodes = HashMap::new();
        nodes.insert(ROOT, Node::Dir(BTreeMap::new()));
        Ramdisk {
            tree: Lock::new(Tree {
                nodes,
                next: ROOT + 1,
                used: 0,
            }),
            limit,
        }
    }

    /// Bytes of file data held.
    pub fn used(&self) -> usize {
        self.tree.lock().used
    }
}

impl Tree {
    fn lookup(&self, path: &[&str]) -> Result<u64, FsError> {
        let mut id = ROOT;
        for c in path {
            match self.nodes.get(&id) {
                Some(Node::Dir(d)) => id = *d.get(*c).ok_or(FsError::NotFound)?,
                Some(Node::File(_)) => return Err(FsError::NotDir),
                None => return Err(FsError::NotFound),
            }
        }
        Ok(id)
    }

    /// The parent directory's id and the last name.
    fn parent<'p>(&self, path: &[&'p str]) -> Result<(u64, &'p str), FsError> {
        let (last, dir) = path.split_last().ok_or(FsError::Invalid)?;
        let id = self.lookup(dir)?;
        match self.nodes.get(&id) {
            Some(Node::Dir(_)) => Ok((id, last)),
            Some(Node::File(_)) => Err(FsError::NotDir),
            None => Err(FsError::NotFound),
        }
    }

    fn dir_mut(&mut self, id: u64) -> &mut BTreeMap<String, u64> {
        match self.nodes.get_mut(&id) {
            Some(Node::Dir(d)) => d,
            _ => unreachable!("checked by parent()"),
        }
    }

    fn add(&mut self, parent: u64, name: &str, node: Node) -> u64 {
        let id = self.next;
        self.next += 1;
        self.nodes.insert(id, node);
        self.dir_mut(parent).insert(String::from(name), id);
        id
    }

    fn free(&mut self, id: u64) {
        if let Some(Node::File(d)) = self.nodes.remove(&id) {
            self.used -= d.len();
        }
    }

    /// Appends `data` to a file: one copy (the common case of a write, where `resize` and a
    /// copy would write the bytes twice).
    fn append(&mut self, id: u64, data: &[u8], limit: usize) -> Result<(), FsError> {
        let used = self.used;
        match self.nodes.get_mut(&id) {
            Some(Node::File(d)) => {
                if used + data.len() > limit {
                    return Err(FsError::NoSpace);
                }
                d.try_reserve(data.len()).map_err(|_| FsError::NoSpace)?;
                d.extend_from_slice(data);
                self.used = used + data.len();
                Ok(())
            }
            Some(Node::Dir(_)) => Err(FsError::IsDir),
            None => Err(FsError::NotFound),
        }
    }

    fn resize(&mut self, id: u64, len: usize, limit: usize) -> Result<&mut Vec<u8>, FsError> {
        let used = self.used;
        match self.nodes.get_mut(&id) {
            Some(Node::File(d)) => {
                if len > d.len() {
                    let grow = len - d.len();
                    if used + grow > limit {
                        return Err(FsError::NoSpace);
                    }
                    d.try_reserve(grow).map_err(|_| FsError::NoSpace)?;
                    d.resize(len, 0);
                    self.used = used + grow;
                } else {
                    self.used = used - (d.len() - len);
                    d.truncate(len);
                }
                Ok(d)
            }
            Some(Node::Dir(_)) => Err(FsError::IsDir),
            None => Err(FsError::NotFound),
        }
    }
}

impl FileSystem for Ramdisk {
    type Node = u64;

    fn open(&self, path: &[&str], fl: u32) -> Result<u64, FsError> {
        let mut t = self.tree.lock();
        let id = match t.lookup(path) {
            Ok(id) => {
                if fl & flags::CREATE != 0 && fl & flags::EXCLUSIVE != 0 {
                    return Err(FsError::Exists);
                }
                id
            }
            Err(FsError::NotFound) if fl & flags::CREATE != 0 && !path.is_empty() => {
                let (parent, name) = t.parent(path)?;
                t.add(parent, name, Node::File(Vec::new()))
            }
            Err(e) => return Err(e),
        };
        let is_dir = matches!(t.nodes.get(&id), Some(Node::Dir(_)));
        if is_dir && fl & flags::WRITE != 0 {
            return Err(FsError::IsDir);
        }
        if !is_dir && fl & flags::DIRECTORY != 0 {
            return Err(FsError::NotDir);
        }
        if !is_dir && fl & flags::TRUNCATE != 0 {
            t.resize(id, 0, self.limit)?;
        }
        Ok(id)
    }

    fn stat(&self, id: &u64) -> Result<Meta, FsError> {
        let t = self.tree.lock();
        match t.nodes.get(id) {
            Some(Node::File(d)) => Ok(Meta {
                kind: Kind::File,
                len: d.len() as u64,
                readonly: false,
            }),
            Some(Node::Dir(d)) => Ok(Meta {
                kind: Kind::Dir,
                len: d.len() as u64,
                readonly: false,
            }),
            None => Err(FsError::NotFound),
        }
    }

    fn read(&self, id: &u64, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let t = self.tree.lock();
        match t.nodes.get(id) {
            Some(Node::File(d)) => {
                let start = (offset.min(d.len() as u64)) as usize;
                let n = buf.len().min(d.len() - start);
                buf[..n].copy_from_slice(&d[start..start + n]);
                Ok(n)
            }
            Some(Node::Dir(_)) => Err(FsError::IsDir),
            None => Err(FsError::NotFound),
        }
    }

    fn write(&self, id: &u64, offset: Option<u64>, data: &[u8]) -> Result<u64, FsError> {
        let mut t = self.tree.lock();
        let cur = match t.nodes.get(id) {
            Some(Node::File(d)) => d.len(),
            Some(Node::Dir(_)) => return Err(FsError::IsDir),
            None => return Err(FsError::NotFound),
        };
        let at = match offset {
            Some(o) => usize::try_from(o).map_err(|_| FsError::NoSpace)?,
            None => cur,
        };
        let end = at.checked_add(data.len()).ok_or(FsError::NoSpace)?;
        if at == cur {
            t.append(*id, data, self.limit)?;
        } else {
            let d = t.resize(*id, end.max(cur), self.limit)?;
            d[at..end].copy_from_slice(data);
        }
        Ok(end as u64)
    }

    fn set_len(&self, id: &u64, len: u64) -> Result<(), FsError> {
        let len = usize::try_from(len).map_err(|_| FsError::NoSpace)?;
        self.tree.lock().resize(*id, len, self.limit).map(|_| ())
    }

    fn read_dir(&self, id: &u64) -> Result<Vec<Entry>, FsError> {
        let t = self.tree.lock();
        match t.nodes.get(id) {
            Some(Node::Dir(d)) => Ok(d
                .iter()
                .map(|(name, c)| {
                    let (kind, len) = match t.nodes.get(c) {
                        Some(Node::File(f)) => (Kind::File, f.len() as u64),
                        _ => (Kind::Dir, 0),
                    };
                    Entry {
                        name: name.clone(),
                        kind,
                        len,
                    }
                })
                .collect()),
            Some(Node::File(_)) => Err(FsError::NotDir),
            None => Err(FsError::NotFound),
        }
    }

    fn mkdir(&self, path: &[&str]) -> Result<(), FsError> {
        let mut t = self.tree.lock();
        if path.is_empty() || t.lookup(path).is_ok() {
            return Err(FsError::Exists);
        }
        let (parent, name) = t.parent(path)?;
        t.add(parent, name, Node::Dir(BTreeMap::new()));
        Ok(())
    }

    fn remove(&self, path: &[&str], dir: bool) -> Result<(), FsError> {
        let mut t = self.tree.lock();
        if path.is_empty() {
            return Err(FsError::Denied);
        }
        let (parent, name) = t.parent(path)?;
        let id = t.lookup(path)?;
        match (t.nodes.get(&id), dir) {
            (Some(Node::File(_)), true) => return Err(FsError::NotDir),
            (Some(Node::Dir(_)), false) => return Err(FsError::IsDir),
            (Some(Node::Dir(d)), true) if !d.is_empty() => return Err(FsError::NotEmpty),
            _ => {}
        }
        t.dir_mut(parent).remove(name);
        t.free(id);
        Ok(())
    }

    fn rename(&self, from: &[&str], to: &[&str]) -> Result<(), FsError> {
        let mut t = self.tree.lock();
        if from.is_empty() || to.is_empty() {
            return Err(FsError::Denied);
        }
        // A directory cannot move below itself.
        if to.len() > from.len() && to[..from.len()] == *from {
            return Err(FsError::Invalid);
        }
        let (fp, fname) = t.parent(from)?;
        let id = t.lookup(from)?;
        let (tp, tname) = t.parent(to)?;
        if from == to {
            return Ok(());
        }
        let src_dir = matches!(t.nodes.get(&id), Some(Node::Dir(_)));
        if let Ok(old) = t.lookup(to) {
            match (t.nodes.get(&old), src_dir) {
                (Some(Node::Dir(_)), false) => return Err(FsError::IsDir),
                (Some(Node::File(_)), true) => return Err(FsError::NotDir),
                (Some(Node::Dir(d)), true) if !d.is_empty() => return Err(FsError::NotEmpty),
                _ => {}
            }
            t.free(old);
        }
        t.dir_mut(fp).remove(fname);
        t.dir_mut(tp).insert(String::from(tname), id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_operations_without_a_kernel() {
        let r = Ramdisk::new(100);
        let w = flags::WRITE | flags::CREATE;
        r.mkdir(&["d"]).unwrap();
        assert_eq!(r.mkdir(&["d"]), Err(FsError::Exists));
        let f = r.open(&["d", "f"], w).unwrap();
        assert_eq!(r.write(&f, Some(5), b"abc").unwrap(), 8);
        let mut b = [9u8; 10];
        assert_eq!(r.read(&f, 0, &mut b).unwrap(), 8);
        assert_eq!(&b[..8], b"\0\0\0\0\0abc");
        assert_eq!(r.write(&f, Some(1), b"X").unwrap(), 2);
        assert_eq!(r.stat(&f).unwrap().len, 8);
        assert_eq!(r.write(&f, None, b"Z").unwrap(), 9);
        assert_eq!(r.write(&f, Some(0), &[0; 200]), Err(FsError::NoSpace));
        assert_eq!(r.used(), 9);
        assert_eq!(
            r.open(&["d", "f"], w | flags::EXCLUSIVE),
            Err(FsError::Exists)
        );
        assert_eq!(r.open(&["d", "f", "x"], 0), Err(FsError::NotDir));
        assert_eq!(r.open(&["d"], flags::WRITE), Err(FsError::IsDir));
        assert_eq!(r.remove(&["d"], true), Err(FsError::NotEmpty));
        assert_eq!(r.remove(&["d"], false), Err(FsError::IsDir));
        r.rename(&["d", "f"], &["g"]).unwrap();
        assert_eq!(r.rename(&["d"], &["d", "e"]), Err(FsError::Invalid));
        let names: Vec<String> = r
            .read_dir(&ROOT)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["d", "g"]);
        r.remove(&["d"], true).unwrap();
        r.remove(&["g"], false).unwrap();
        assert_eq!(r.used(), 0);
    }
}
