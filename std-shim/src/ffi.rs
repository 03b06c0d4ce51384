//! `std::ffi`: `OsStr` over UTF-8 (eurali's names are UTF-8), and C string types from core.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

pub use alloc::ffi::CString;
pub use core::ffi::*;

/// A borrowed OS string: on eurali, always UTF-8.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct OsStr {
    inner: str,
}

/// An owned OS string (UTF-8 on eurali), shaped like std's: it derefs to [`OsStr`].
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OsString {
    inner: String,
}

impl OsString {
    pub fn new() -> OsString {
        OsString::default()
    }
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::new(&self.inner)
    }
    /// Always `Ok` on eurali (names are UTF-8).
    pub fn into_string(self) -> Result<String, OsString> {
        Ok(self.inner)
    }
    pub fn push<T: AsRef<OsStr>>(&mut self, s: T) {
        self.inner.push_str(s.as_ref().as_str());
    }
}

impl core::ops::Deref for OsString {
    type Target = OsStr;
    fn deref(&self) -> &OsStr {
        self.as_os_str()
    }
}

impl fmt::Debug for OsString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl From<String> for OsString {
    fn from(s: String) -> OsString {
        OsString { inner: s }
    }
}

impl From<&str> for OsString {
    fn from(s: &str) -> OsString {
        OsString {
            inner: String::from(s),
        }
    }
}

impl AsRef<OsStr> for OsString {
    fn as_ref(&self) -> &OsStr {
        self.as_os_str()
    }
}

impl AsRef<crate::path::Path> for OsString {
    fn as_ref(&self) -> &crate::path::Path {
        crate::path::Path::new(&self.inner)
    }
}

impl AsRef<str> for OsString {
    fn as_ref(&self) -> &str {
        &self.inner
    }
}

impl PartialEq<str> for OsString {
    fn eq(&self, o: &str) -> bool {
        self.inner == o
    }
}

impl PartialEq<&str> for OsString {
    fn eq(&self, o: &&str) -> bool {
        self.inner == *o
    }
}

impl core::borrow::Borrow<OsStr> for OsString {
    fn borrow(&self) -> &OsStr {
        self.as_os_str()
    }
}

impl OsStr {
    pub fn new<S: AsRef<str> + ?Sized>(s: &S) -> &OsStr {
        // Safety: OsStr is a transparent wrapper of str.
        unsafe { &*(s.as_ref() as *const str as *const OsStr) }
    }
    pub fn as_str(&self) -> &str {
        &self.inner
    }
    pub fn to_str(&self) -> Option<&str> {
        Some(&self.inner)
    }
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.inner)
    }
    pub fn to_os_string(&self) -> OsString {
        OsString::from(&self.inner)
    }
    pub fn len(&self) -> usize {
        self.inner.len()
    }
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
    pub fn as_encoded_bytes(&self) -> &[u8] {
        self.inner.as_bytes()
    }
    pub fn display(&self) -> &str {
        &self.inner
    }
}

impl fmt::Debug for OsStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl AsRef<OsStr> for OsStr {
    fn as_ref(&self) -> &OsStr {
        self
    }
}
impl AsRef<OsStr> for str {
    fn as_ref(&self) -> &OsStr {
        OsStr::new(self)
    }
}
impl AsRef<OsStr> for String {
    fn as_ref(&self) -> &OsStr {
        OsStr::new(self)
    }
}
impl AsRef<str> for OsStr {
    fn as_ref(&self) -> &str {
        &self.inner
    }
}
impl PartialEq<str> for OsStr {
    fn eq(&self, o: &str) -> bool {
        &self.inner == o
    }
}
impl PartialEq<&str> for OsStr {
    fn eq(&self, o: &&str) -> bool {
        &self.inner == *o
    }
}
impl PartialEq<OsStr> for str {
    fn eq(&self, o: &OsStr) -> bool {
        self == &o.inner
    }
}

/// Any bytes through text and back (eurali's addition; docs/design.md, "Bytes that are not
/// UTF-8"): defined with the exec parameters' encoding (libeurali), which carries them.
pub use libeurali::text::{bytes_from_text, is_escaped_byte, text_from_bytes};
