//! vfs: per-process namespaces for eurali.
//!
//! The kernel keeps a mount table per process and matches paths byte-wise, with no notion of
//! `.`, `..` or `//` (ABI document §5.1). So everything a user types is resolved here, in the
//! client, before the kernel sees it: [`path::resolve`] turns a path relative to a working
//! directory into the one absolute, normal spelling the mount table is matched against, and can
//! never climb above the root.
//!
//! Layers, bottom up:
//! - [`proto`]: the file protocol's wire (tags, postcard bodies, typed errors), documented there.
//! - [`client`]: opening through the mount table, sessions, one-shot operations.
//! - [`server`]: the file-server framework (a [`server::FileSystem`] trait and one loop), and
//!   [`ramdisk`], [`view`] (a read-only proxy), [`device`] (`/dev/null`, `/dev/console`) and
//!   [`blob`] (one read-only file) on it.
//! - [`ns`]: mount/umount/list/bind for this process, the namespace spec format, and the
//!   builder that turns a spec into an exec parameter string.
//! - [`users`]: the users file, its salted password hashes, and the password service.
//! - [`image`]: the files of a fresh system (`/bin`, `/etc`, `/home`, `/tmp`) and the default
//!   accounts.
//!
//! This crate sits *below* std-shim (std-shim's `fs` is a client of [`client`]), so it depends
//! only on libeurali and no_std crates.
#![no_std]

extern crate alloc;

pub mod blob;
pub mod client;
pub mod device;
pub mod image;
pub mod ns;
pub mod path;
pub mod procfs;
pub mod proto;
pub mod ramdisk;
pub mod server;
pub mod users;
pub mod view;
