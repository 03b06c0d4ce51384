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

/// An owned OS string.
pub type OsString = String;

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
        String::from(&self.inner)
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
