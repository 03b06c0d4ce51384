//! vfs-client: the file protocol and its client side, for every program (std-shim's `fs` is a
//! client of [`client`]); the file servers live above, in `vfs`.
//!
//! The kernel keeps a mount table per process and matches paths byte-wise, with no notion of
//! `.`, `..` or `//` (ABI document §5.1). So everything a user types is resolved here, in the
//! client, before the kernel sees it: [`path::resolve`] turns a path relative to a working
//! directory into the one absolute, normal spelling the mount table is matched against, and can
//! never climb above the root.
//!
//! Layers, bottom up:
//! - [`path`]: resolution and the byte rules of names.
//! - [`proto`]: the file protocol's wire (tags, postcard bodies, typed errors), documented there.
//! - [`client`]: opening through the mount table, sessions, one-shot operations.
//! - [`ns`]: mount/umount/list/bind for this process, the namespace spec format, and the
//!   builder that turns a spec into an exec parameter string (the servers a spec starts come
//!   from above, through [`ns::Servers`]).
//!
//! It depends only on libeurali and no_std crates.
#![no_std]

extern crate alloc;

pub mod client;
pub mod ns;
pub mod path;
pub mod proto;
