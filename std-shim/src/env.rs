//! `std::env`: the args and environment the parent passed at exec (the kernel's args/env blocks).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

fn snapshot_args() -> Vec<String> {
    crate::sys::runtime()
        .map(|rt| rt.args.clone())
        .unwrap_or_default()
}

fn snapshot_vars() -> Vec<(String, String)> {
    crate::sys::runtime()
        .and_then(|rt| rt.env.lock().ok().map(|e| e.clone()))
        .unwrap_or_default()
}

/// The arguments, `args[0]` being the program's name as the parent gave it.
pub struct Args {
    inner: alloc::vec::IntoIter<String>,
}

impl Iterator for Args {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Args {}

impl DoubleEndedIterator for Args {
    fn next_back(&mut self) -> Option<String> {
        self.inner.next_back()
    }
}

pub fn args() -> Args {
    Args {
        inner: snapshot_args().into_iter(),
    }
}

/// The environment's `(key, value)` pairs, in the order the parent gave them.
pub struct Vars {
    inner: alloc::vec::IntoIter<(String, String)>,
}

impl Iterator for Vars {
    type Item = (String, String);
    fn next(&mut self) -> Option<(String, String)> {
        self.inner.next()
    }
}

pub fn vars() -> Vars {
    Vars {
        inner: snapshot_vars().into_iter(),
    }
}

/// Why [`var`] found no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarError {
    NotPresent,
    NotUnicode(String),
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarError::NotPresent => f.write_str("environment variable not found"),
            VarError::NotUnicode(s) => {
                write!(f, "environment variable was not valid unicode: {s:?}")
            }
        }
    }
}

impl core::error::Error for VarError {}

pub fn var<K: AsRef<str>>(key: K) -> Result<String, VarError> {
    let key = key.as_ref();
    snapshot_vars()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or(VarError::NotPresent)
}

/// Sets a variable for this process (and the children it starts afterwards).
///
/// # Safety
/// As in std (2024 edition): other threads may be reading the environment. Here the store is
/// locked, so this is sound; the `unsafe` keeps std's signature.
pub unsafe fn set_var<K: AsRef<str>, V: AsRef<str>>(key: K, value: V) {
    if let Some(rt) = crate::sys::runtime()
        && let Ok(mut env) = rt.env.lock()
    {
        let (key, value) = (key.as_ref(), value.as_ref());
        match env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = String::from(value),
            None => env.push((String::from(key), String::from(value))),
        }
    }
}

/// Removes a variable.
///
/// # Safety
/// As [`set_var`].
pub unsafe fn remove_var<K: AsRef<str>>(key: K) {
    if let Some(rt) = crate::sys::runtime()
        && let Ok(mut env) = rt.env.lock()
    {
        env.retain(|(k, _)| k != key.as_ref());
    }
}

/// The working directory (kept in `PWD`, which children inherit); `/` if unset or relative.
pub(crate) fn cwd_string() -> String {
    match var("PWD") {
        Ok(p) if p.starts_with('/') => p,
        _ => String::from("/"),
    }
}

/// The working directory, resolved and absolute.
pub fn current_dir() -> crate::io::Result<crate::path::PathBuf> {
    Ok(crate::path::PathBuf::from(cwd_string()))
}

/// Changes the working directory to `path` (relative to the current one), which must be a
/// directory this process can open.
pub fn set_current_dir<P: AsRef<crate::path::Path>>(path: P) -> crate::io::Result<()> {
    let p = crate::fs::resolve(path.as_ref())?;
    if !crate::fs::metadata(crate::path::Path::new(&p))?.is_dir() {
        return Err(crate::io::ErrorKind::NotADirectory.into());
    }
    // Safety: the environment store is locked (see `set_var`).
    unsafe { set_var("PWD", &p) };
    Ok(())
}

/// The value of `key`, as an [`OsString`](crate::ffi::OsString); `None` if unset.
pub fn var_os<K: AsRef<crate::ffi::OsStr>>(key: K) -> Option<crate::ffi::OsString> {
    var(key.as_ref().as_str())
        .ok()
        .map(crate::ffi::OsString::from)
}

/// The directory for temporary files: `TMPDIR` if set, else `/tmp`.
pub fn temp_dir() -> crate::path::PathBuf {
    match var("TMPDIR") {
        Ok(d) if !d.is_empty() => crate::path::PathBuf::from(d),
        _ => crate::path::PathBuf::from("/tmp"),
    }
}
