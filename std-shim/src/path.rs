//! `std::path`: `Path` and `PathBuf`, over UTF-8 strings (the kernel's paths are UTF-8; a path
//! that is not cannot be named on eurali). Behaviour follows std's for `/`-separated paths:
//! `join` with an absolute path replaces, `parent` of `/` is `None`, `file_name` of `..` is
//! `None`, `extension` ignores a leading dot.

use alloc::borrow::{Borrow, ToOwned};
use alloc::string::String;
use core::fmt;
use core::ops::Deref;

pub use crate::ffi::OsStr;

pub const MAIN_SEPARATOR: char = '/';
pub const MAIN_SEPARATOR_STR: &str = "/";

/// A borrowed path.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Path {
    inner: str,
}

/// An owned path.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathBuf {
    inner: String,
}

/// One piece of a path, as [`Path::components`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component<'a> {
    RootDir,
    CurDir,
    ParentDir,
    Normal(&'a OsStr),
}

impl<'a> Component<'a> {
    pub fn as_os_str(self) -> &'a OsStr {
        match self {
            Component::RootDir => OsStr::new("/"),
            Component::CurDir => OsStr::new("."),
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(s) => s,
        }
    }
}

impl Path {
    pub fn new<S: AsRef<str> + ?Sized>(s: &S) -> &Path {
        // Safety: Path is a transparent wrapper of str.
        unsafe { &*(s.as_ref() as *const str as *const Path) }
    }
    pub fn as_str(&self) -> &str {
        &self.inner
    }
    pub fn to_str(&self) -> Option<&str> {
        Some(&self.inner)
    }
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::new(&self.inner)
    }
    pub fn to_string_lossy(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::borrow::Cow::Borrowed(&self.inner)
    }
    pub fn to_path_buf(&self) -> PathBuf {
        PathBuf {
            inner: String::from(&self.inner),
        }
    }
    pub fn display(&self) -> Display<'_> {
        Display(self)
    }
    pub fn is_absolute(&self) -> bool {
        self.inner.starts_with('/')
    }
    pub fn is_relative(&self) -> bool {
        !self.is_absolute()
    }
    pub fn has_root(&self) -> bool {
        self.is_absolute()
    }
    pub fn components(&self) -> alloc::vec::IntoIter<Component<'_>> {
        let mut v = alloc::vec::Vec::new();
        if self.is_absolute() {
            v.push(Component::RootDir);
        }
        for (i, c) in self.inner.split('/').enumerate() {
            match c {
                "" => {}
                // std keeps a `.` only at the very start of a relative path.
                "." if i == 0 => v.push(Component::CurDir),
                "." => {}
                ".." => v.push(Component::ParentDir),
                c => v.push(Component::Normal(OsStr::new(c))),
            }
        }
        v.into_iter()
    }
    /// The path without its final component; `None` for `/` and `""`.
    pub fn parent(&self) -> Option<&Path> {
        let mut comps = self.components();
        let last = comps.next_back()?;
        if last == Component::RootDir {
            return None;
        }
        let mut trimmed = self.inner.trim_end_matches('/');
        while let Some(t) = trimmed.strip_suffix("/.") {
            trimmed = t.trim_end_matches('/');
        }
        let cut = match trimmed.rfind('/') {
            Some(0) => 1,
            Some(i) => i,
            None => 0,
        };
        let p = trimmed[..cut].trim_end_matches('/');
        Some(Path::new(if p.is_empty() && cut == 1 { "/" } else { p }))
    }
    pub fn file_name(&self) -> Option<&OsStr> {
        match self.components().next_back()? {
            Component::Normal(s) => Some(s),
            _ => None,
        }
    }
    fn name_split(&self) -> Option<(&str, Option<&str>)> {
        let name = self.file_name()?.to_str()?;
        if name == ".." {
            return None;
        }
        match name.rfind('.') {
            Some(0) | None => Some((name, None)),
            Some(i) => Some((&name[..i], Some(&name[i + 1..]))),
        }
    }
    pub fn file_stem(&self) -> Option<&OsStr> {
        self.name_split().map(|(s, _)| OsStr::new(s))
    }
    pub fn extension(&self) -> Option<&OsStr> {
        self.name_split()?.1.map(OsStr::new)
    }
    pub fn join<P: AsRef<Path>>(&self, p: P) -> PathBuf {
        let mut b = self.to_path_buf();
        b.push(p);
        b
    }
    pub fn with_extension<S: AsRef<str>>(&self, ext: S) -> PathBuf {
        let mut b = self.to_path_buf();
        b.set_extension(ext);
        b
    }
    pub fn starts_with<P: AsRef<Path>>(&self, base: P) -> bool {
        let mut a = self.components();
        base.as_ref().components().all(|c| a.next() == Some(c))
    }
    pub fn ends_with<P: AsRef<Path>>(&self, child: P) -> bool {
        let mut a = self.components().rev();
        child
            .as_ref()
            .components()
            .rev()
            .all(|c| a.next() == Some(c))
    }
    pub fn strip_prefix<P: AsRef<Path>>(&self, base: P) -> Result<&Path, StripPrefixError> {
        let base = base.as_ref();
        if !self.starts_with(base) {
            return Err(StripPrefixError(()));
        }
        if base.components().next().is_none() {
            let t = trim_tail(&self.inner);
            return Ok(Path::new(if t.is_empty() {
                &self.inner[..self.inner.len().min(1)]
            } else {
                t
            }));
        }
        let s = &self.inner;
        let mut i = 0;
        for c in base.components() {
            if c == Component::RootDir {
                i = 1;
                continue;
            }
            // Skip separators and `.` pieces, then one component.
            loop {
                let rest = &s[i..];
                let t = rest.trim_start_matches('/');
                i += rest.len() - t.len();
                if t == "." || t.starts_with("./") {
                    i += 1;
                } else {
                    break;
                }
            }
            i += s[i..].find('/').unwrap_or(s.len() - i);
        }
        let r = trim_tail(s[i..].trim_start_matches('/'));
        Ok(Path::new(if r == "." { "" } else { r }))
    }
    pub fn exists(&self) -> bool {
        crate::fs::metadata(self).is_ok()
    }
    pub fn is_file(&self) -> bool {
        crate::fs::metadata(self).is_ok_and(|m| m.is_file())
    }
    pub fn is_dir(&self) -> bool {
        crate::fs::metadata(self).is_ok_and(|m| m.is_dir())
    }
    pub fn metadata(&self) -> crate::io::Result<crate::fs::Metadata> {
        crate::fs::metadata(self)
    }
    pub fn read_dir(&self) -> crate::io::Result<crate::fs::ReadDir> {
        crate::fs::read_dir(self)
    }
}

/// Drops trailing separators and `/.` pieces (which std's components ignore).
fn trim_tail(s: &str) -> &str {
    let mut r = s.trim_end_matches('/');
    while let Some(t) = r.strip_suffix("/.") {
        r = t.trim_end_matches('/');
    }
    r
}

/// `Path::strip_prefix`'s error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripPrefixError(());

impl fmt::Display for StripPrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("prefix not found")
    }
}

/// `Path::display`.
pub struct Display<'a>(&'a Path);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.inner, f)
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Debug for PathBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl PathBuf {
    pub fn new() -> PathBuf {
        PathBuf::default()
    }
    pub fn as_path(&self) -> &Path {
        Path::new(&self.inner)
    }
    /// Appends `p`; an absolute `p` replaces the whole path (as in std).
    pub fn push<P: AsRef<Path>>(&mut self, p: P) {
        let p = &p.as_ref().inner;
        if p.starts_with('/') {
            self.inner.clear();
        } else if !self.inner.is_empty() && !self.inner.ends_with('/') {
            self.inner.push('/');
        }
        self.inner.push_str(p);
    }
    pub fn pop(&mut self) -> bool {
        match self.as_path().parent().map(|p| p.inner.len()) {
            Some(n) => {
                self.inner.truncate(n);
                true
            }
            None => false,
        }
    }
    pub fn set_file_name<S: AsRef<str>>(&mut self, name: S) {
        if self.as_path().file_name().is_some() {
            self.pop();
        }
        self.push(name.as_ref());
    }
    pub fn set_extension<S: AsRef<str>>(&mut self, ext: S) -> bool {
        let Some((stem, _)) = self.as_path().name_split() else {
            return false;
        };
        let name_len = self.as_path().file_name().map_or(0, |n| n.len());
        let end = trim_tail(&self.inner).len();
        let stem_end = end - name_len + stem.len();
        self.inner.truncate(stem_end);
        let ext = ext.as_ref();
        if !ext.is_empty() {
            self.inner.push('.');
            self.inner.push_str(ext);
        }
        true
    }
    pub fn into_os_string(self) -> crate::ffi::OsString {
        crate::ffi::OsString::from(self.inner)
    }
}

impl Deref for PathBuf {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.as_path()
    }
}

impl AsRef<Path> for Path {
    fn as_ref(&self) -> &Path {
        self
    }
}
impl AsRef<Path> for PathBuf {
    fn as_ref(&self) -> &Path {
        self.as_path()
    }
}
impl AsRef<Path> for str {
    fn as_ref(&self) -> &Path {
        Path::new(self)
    }
}
impl AsRef<Path> for String {
    fn as_ref(&self) -> &Path {
        Path::new(self)
    }
}
impl AsRef<Path> for OsStr {
    fn as_ref(&self) -> &Path {
        Path::new(self.as_str())
    }
}
impl AsRef<Path> for alloc::borrow::Cow<'_, str> {
    fn as_ref(&self) -> &Path {
        Path::new(&**self)
    }
}
impl AsRef<str> for Path {
    fn as_ref(&self) -> &str {
        &self.inner
    }
}
impl AsRef<OsStr> for Path {
    fn as_ref(&self) -> &OsStr {
        self.as_os_str()
    }
}
impl AsRef<OsStr> for PathBuf {
    fn as_ref(&self) -> &OsStr {
        self.as_os_str()
    }
}
impl Borrow<Path> for PathBuf {
    fn borrow(&self) -> &Path {
        self.as_path()
    }
}
impl ToOwned for Path {
    type Owned = PathBuf;
    fn to_owned(&self) -> PathBuf {
        self.to_path_buf()
    }
}
impl From<String> for PathBuf {
    fn from(s: String) -> PathBuf {
        PathBuf { inner: s }
    }
}
impl From<&str> for PathBuf {
    fn from(s: &str) -> PathBuf {
        PathBuf { inner: s.into() }
    }
}
impl<T: ?Sized + AsRef<Path>> From<&T> for PathBuf
where
    T: NotStr,
{
    fn from(s: &T) -> PathBuf {
        s.as_ref().to_path_buf()
    }
}
/// Keeps `From<&T>` from overlapping `From<&str>`.
pub trait NotStr {}
impl NotStr for Path {}
impl NotStr for PathBuf {}
impl NotStr for String {}

impl<P: AsRef<Path>> FromIterator<P> for PathBuf {
    fn from_iter<I: IntoIterator<Item = P>>(iter: I) -> PathBuf {
        let mut b = PathBuf::new();
        for p in iter {
            b.push(p);
        }
        b
    }
}
impl core::str::FromStr for PathBuf {
    type Err = core::convert::Infallible;
    fn from_str(s: &str) -> Result<PathBuf, Self::Err> {
        Ok(PathBuf::from(s))
    }
}
impl PartialEq<Path> for PathBuf {
    fn eq(&self, o: &Path) -> bool {
        self.as_path() == o
    }
}
impl PartialEq<PathBuf> for Path {
    fn eq(&self, o: &PathBuf) -> bool {
        self == o.as_path()
    }
}
impl PartialEq<&Path> for PathBuf {
    fn eq(&self, o: &&Path) -> bool {
        self.as_path() == *o
    }
}
