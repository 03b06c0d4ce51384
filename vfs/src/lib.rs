//! vfs: per-process namespaces for eurali.
//!
//! The kernel keeps a mount table per process and matches paths byte-wise, with no notion of
//! `.`, `..` or `//` (ABI document §5.1). So everything a user types is resolved here, in the
//! client, before the kernel sees it: [`path::resolve`] turns a path relative to a working
//! directory into the one absolute, normal spelling the mount table is matched against, and can
//! never climb above the root. The file protocol, server framework, ramdisk and namespace specs
//! grow here with the VFS work.
#![no_std]

extern crate alloc;

pub mod path;
