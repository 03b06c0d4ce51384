//! The kernel's mount table (ABI §5.1), as pure logic over a generic mounted object.
//!
//! - mount trims surrounding whitespace and every trailing `/` (`" /dev/x// "` → `/dev/x`,
//!   `/` → `""`, the root mount); duplicates are kept, in order.
//! - umount removes the first entry equal byte for byte (no trimming) and moves the last entry
//!   into the hole.
//! - open picks, among entries that are a prefix of the path followed by `/` or the end, the
//!   longest (the earliest among equals). The root `""` therefore matches only paths starting
//!   with `/`.
//! - list_mounts is `[` + `"path",` per entry + `]`.

/// An ordered list of (path, object) entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountTable<H> {
    entries: Vec<(String, H)>,
}

impl<H> Default for MountTable<H> {
    fn default() -> Self {
        MountTable {
            entries: Vec::new(),
        }
    }
}

/// The path a mount stores: surrounding whitespace and all trailing `/` removed.
pub fn trim_mount_path(path: &str) -> &str {
    path.trim().trim_end_matches('/')
}

impl<H> MountTable<H> {
    pub fn new() -> Self {
        Self::default()
    }

    /// mount: appends (trimmed `path`, `obj`).
    pub fn mount(&mut self, path: &str, obj: H) {
        self.entries.push((trim_mount_path(path).to_string(), obj));
    }

    /// umount: removes the first entry whose stored path is `path` exactly; the last entry takes
    /// its place. `None` if no entry matches.
    pub fn umount(&mut self, path: &str) -> Option<H> {
        let i = self.entries.iter().position(|(p, _)| p == path)?;
        Some(self.entries.swap_remove(i).1)
    }

    /// open: the entry mounted at the longest prefix of `path` that ends at a component boundary,
    /// and that prefix's length.
    pub fn lookup(&self, path: &str) -> Option<(&H, usize)> {
        let mut best: Option<(&H, usize)> = None;
        for (p, obj) in &self.entries {
            let matches = path.as_bytes().starts_with(p.as_bytes())
                && matches!(path.as_bytes().get(p.len()), None | Some(b'/'));
            if matches && best.is_none_or(|(_, len)| p.len() > len) {
                best = Some((obj, p.len()));
            }
        }
        best
    }

    /// The stored paths, in list order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(p, _)| p.as_str())
    }

    /// The entries (path, object), in list order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &H)> {
        self.entries.iter().map(|(p, o)| (p.as_str(), o))
    }

    /// The objects, in list order.
    pub fn objects(&self) -> impl Iterator<Item = &H> {
        self.entries.iter().map(|(_, o)| o)
    }

    /// list_mounts's text (§5.1).
    pub fn list_text(&self) -> String {
        libeurali::params::mount_list_text(self.paths())
    }

    /// Removes every entry, returning the objects (a VFS object that dies drops its references).
    pub fn drain(&mut self) -> impl Iterator<Item = H> + '_ {
        self.entries.drain(..).map(|(_, o)| o)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_trims_whitespace_and_trailing_slashes() {
        assert_eq!(trim_mount_path(" /dev/x// "), "/dev/x");
        assert_eq!(trim_mount_path("/"), "");
        assert_eq!(trim_mount_path("///"), "");
        assert_eq!(trim_mount_path("\t/a/b/\n"), "/a/b");
        assert_eq!(trim_mount_path("/a//b"), "/a//b");
        let mut t = MountTable::new();
        t.mount(" /dev/x// ", 1);
        t.mount("/", 2);
        assert_eq!(t.paths().collect::<Vec<_>>(), ["/dev/x", ""]);
    }

    #[test]
    fn open_examples_of_the_document() {
        // Mounts "" and "/dev/x" (§5.1, observed).
        let mut t = MountTable::new();
        t.mount("/", 'r');
        t.mount("/dev/x", 'x');
        assert_eq!(t.lookup("/abc"), Some((&'r', 0)));
        assert_eq!(t.lookup("/dev/x"), Some((&'x', 6)));
        assert_eq!(t.lookup("/dev/x/y"), Some((&'x', 6)));
        assert_eq!(t.lookup("/dev/xy"), Some((&'r', 0)));
        assert_eq!(t.lookup("rel"), None);
        // No normalisation: `//` and `..` pass through to the longest byte prefix.
        assert_eq!(t.lookup("/dev/x//../y"), Some((&'x', 6)));
        assert_eq!(t.lookup("/DEV/x"), Some((&'r', 0)));
    }

    #[test]
    fn relative_mounts_and_longest_prefix() {
        let mut t = MountTable::new();
        t.mount("foo", 1);
        t.mount("/a", 2);
        t.mount("/a/b", 3);
        assert_eq!(t.lookup("foo/bar"), Some((&1, 3)));
        assert_eq!(t.lookup("foo"), Some((&1, 3)));
        assert_eq!(t.lookup("/a/b/c"), Some((&3, 4)));
        assert_eq!(t.lookup("/a/bc"), Some((&2, 2)));
        assert_eq!(t.lookup("/x"), None);
        // Without a root mount nothing outside the entries matches.
        assert_eq!(t.lookup("/"), None);
    }

    #[test]
    fn duplicates_earlier_entry_wins() {
        let mut t = MountTable::new();
        t.mount("/d", 1);
        t.mount("/d/", 2);
        assert_eq!(t.lookup("/d/f"), Some((&1, 2)));
        assert_eq!(t.umount("/d"), Some(1));
        assert_eq!(t.lookup("/d/f"), Some((&2, 2)));
    }

    #[test]
    fn umount_is_byte_exact_and_moves_the_last_entry() {
        let mut t = MountTable::new();
        t.mount("/a", 1);
        t.mount(" /dev/x// ", 2);
        t.mount("/c", 3);
        t.mount("/d", 4);
        assert_eq!(t.umount("/dev/x/"), None);
        assert_eq!(t.umount(" /dev/x"), None);
        assert_eq!(t.umount("/dev/x"), Some(2));
        assert_eq!(t.paths().collect::<Vec<_>>(), ["/a", "/d", "/c"]);
        assert_eq!(t.umount("/d"), Some(4));
        assert_eq!(t.umount("/d"), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn list_text() {
        let mut t = MountTable::new();
        assert_eq!(t.list_text(), "[]");
        t.mount("/", ());
        t.mount("/dev/x", ());
        assert_eq!(t.list_text(), r#"["","/dev/x",]"#);
        assert_eq!(t.drain().count(), 2);
        assert!(t.is_empty());
    }
}
