//! Namespaces (`vfs_client::ns`, re-exported whole), realised with this crate's servers: a
//! spec's ramdisks and read-only views run as threads of the calling process.

pub use vfs_client::ns::*;

use alloc::string::String;
use libeurali::Handle;

use crate::proto::FsError;

/// The servers of this crate, as threads of this process.
pub struct Local;

impl Servers for Local {
    fn ramdisk(&self, size: usize) -> Result<Handle, FsError> {
        crate::server::start(crate::ramdisk::Ramdisk::new(size)).map_err(FsError::from)
    }

    fn readonly(&self, inner: Handle) -> Result<Handle, FsError> {
        crate::view::spawn_readonly(inner).map_err(FsError::from)
    }
}

/// [`Local`] with ramdisks started by `ramdisk` (of that many bytes; the handle to mount): the
/// shell starts the `ramdisk` program instead of serving one itself, which keeps a file server
/// out of its ELF (exec copies a whole ELF through the kernel's 1 MiB heap).
pub struct WithRamdisk<'a>(pub &'a dyn Fn(usize) -> Result<Handle, FsError>);

impl Servers for WithRamdisk<'_> {
    fn ramdisk(&self, size: usize) -> Result<Handle, FsError> {
        (self.0)(size)
    }

    fn readonly(&self, inner: Handle) -> Result<Handle, FsError> {
        Local.readonly(inner)
    }
}

/// Realises a parsed spec: opens, binds and starts what it names (ramdisks and read-only views
/// run as threads of this process, which must outlive the child).
pub fn from_spec(items: &[Item]) -> Result<Namespace, (String, FsError)> {
    Namespace::build_with(items, &Local, None)
}

/// As [`from_spec`], with `ramdisk` starting each `ramdisk` item's server ([`WithRamdisk`]).
pub fn from_spec_with(
    items: &[Item],
    ramdisk: &dyn Fn(usize) -> Result<Handle, FsError>,
) -> Result<Namespace, (String, FsError)> {
    Namespace::build_with(items, &WithRamdisk(ramdisk), None)
}

/// As [`from_spec`], for an ordinary user's session: what its items open is charged to
/// `account` on their servers (see [`Namespace::build_with`]).
pub fn from_spec_as(items: &[Item], account: &str) -> Result<Namespace, (String, FsError)> {
    Namespace::build_with(items, &Local, Some(account))
}
