//! vfs: eurali's file servers, on the protocol of `vfs-client` (re-exported here as [`proto`],
//! [`client`], [`path`] and [`ns`], so a server and its tests name one crate).
//!
//! Layers, bottom up (below them, in `vfs-client`: the path rules, the wire, the client, the
//! namespace builder):
//! - [`server`]: the file-server framework (a [`server::FileSystem`] trait and one loop), and
//!   [`ramdisk`], [`view`] (a read-only proxy), [`device`] (`/dev/null`, `/dev/console`),
//!   [`procfs`] (`/proc`) and [`blob`] (one read-only file) on it.
//! - [`ns`]: `vfs-client`'s namespaces, with [`ns::from_spec`] starting a spec's ramdisks and
//!   read-only views here.
//! - [`users`]: the users file, its salted password hashes, and the password service.
//! - [`image`]: the files of a fresh system (`/bin`, `/etc`, `/home`, `/tmp`) and the default
//!   accounts.
//!
//! Servers run in any program (init, login, the `ramdisk` program, a test), so this crate too
//! depends only on libeurali and no_std crates.
#![no_std]

extern crate alloc;

pub mod blob;
pub mod device;
pub mod image;
pub mod ns;
pub mod procfs;
pub mod ramdisk;
pub mod server;
pub mod users;
pub mod view;

pub use vfs_client::{client, path, proto};
