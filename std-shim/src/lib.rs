//! eurali-std: a partial `std` for eurali programs, on libeurali.
//!
//! Shaped like `std` so that code written for std ports by swapping the crate: a program names
//! this crate `std` in its Cargo.toml (`std = { package = "eurali-std", ... }`) and its `use
//! std::...` lines, the prelude and the macros (`println!`, `vec!`, `format!`) resolve here.
//!
//! Layers: [`rt`] is the program runtime (entry, per-process state, exit, panics, thread start);
//! `sys` is the only backend-aware module (the real kernel's `_start`, allocator and panic
//! handler; or the host stub's glue). Everything else ([`io`], [`env`], [`process`], [`thread`],
//! [`sync`], [`time`]) is written once over libeurali and runs unchanged on both.
#![no_std]

extern crate alloc;
#[cfg(not(target_os = "none"))]
extern crate std as host;

mod command;
mod cursor;
pub mod env;
pub mod ffi;
pub mod fs;
pub mod io;
pub mod net;
pub mod panic;
pub mod path;
pub mod pipe;
pub mod process;
pub mod random;
pub mod rt;
pub mod stream;
pub mod sync;
mod sys;
pub mod term;
pub mod thread;
pub mod time;
mod watchdog;

/// The prelude rustc injects into a program that names this crate `std`.
pub mod prelude {
    pub mod rust_2024 {
        pub use alloc::borrow::ToOwned;
        pub use alloc::boxed::Box;
        pub use alloc::string::{String, ToString};
        pub use alloc::vec::Vec;
        pub use core::prelude::rust_2024::*;
        // rustc finds a `std`'s macros through its prelude.
        pub use crate::{dbg, eprint, eprintln, format, print, println, vec};
    }
    pub mod rust_2021 {
        pub use super::rust_2024::*;
    }
    pub mod v1 {
        pub use super::rust_2024::*;
    }
}

// std's re-exports of core and alloc, so `std::fmt`, `std::vec::Vec` and friends resolve.
pub use alloc::{borrow, boxed, fmt, format, rc, slice, str, string, vec};
pub use core::{
    any, array, ascii, cell, char, clone, cmp, convert, default, hash, hint, iter, marker, mem,
    num, ops, option, pin, primitive, ptr, result,
};
pub use core::{
    assert_eq, assert_ne, debug_assert, debug_assert_eq, debug_assert_ne, matches, todo,
    unimplemented, unreachable, write, writeln,
};

/// Collections: alloc's, under std's names, and hashbrown's hash maps and sets as
/// `HashMap`/`HashSet` (with its default hasher, so `HashMap::new()` works as in std).
pub mod collections {
    pub use alloc::collections::*;
    pub use hashbrown::{HashMap, HashSet};
    /// `std::collections::hash_map`.
    pub mod hash_map {
        pub use hashbrown::hash_map::*;
    }
    /// `std::collections::hash_set`.
    pub mod hash_set {
        pub use hashbrown::hash_set::*;
    }
}

/// `std::error`.
pub mod error {
    pub use core::error::Error;
}

/// Prints to the standard output (buffered: written out at each newline and at exit).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::_print(::core::format_args!($($arg)*)) };
}

/// Prints a line to the standard output.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::io::_print(::core::format_args!("{}\n", ::core::format_args!($($arg)*))) };
}

/// Prints to the standard error.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::io::_eprint(::core::format_args!($($arg)*)) };
}

/// Prints a line to the standard error.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::eprint!("\n") };
    ($($arg:tt)*) => { $crate::io::_eprint(::core::format_args!("{}\n", ::core::format_args!($($arg)*))) };
}

/// Prints and returns the value of an expression, like std's.
#[macro_export]
macro_rules! dbg {
    () => {
        $crate::eprintln!(
            "[{}:{}:{}]",
            ::core::file!(),
            ::core::line!(),
            ::core::column!()
        )
    };
    ($val:expr $(,)?) => {
        match $val {
            tmp => {
                $crate::eprintln!(
                    "[{}:{}:{}] {} = {:#?}",
                    ::core::file!(),
                    ::core::line!(),
                    ::core::column!(),
                    ::core::stringify!($val),
                    &tmp
                );
                tmp
            }
        }
    };
}

/// Declares a program's entry point: `std::program!(my_crate::main);` in `src/main.rs`.
///
/// On the real kernel it defines the symbol `_start` calls; on the host it defines `fn main`,
/// which calls `eurali_host::host_main`: that boots the in-process kernel stub with this one
/// program as init, attached to the terminal, and exits with the program's status. So a program
/// crate names eurali-host among its host dependencies (eurali-std itself does not know it: it
/// reaches the kernel only through libeurali's raw seam).
#[macro_export]
macro_rules! program {
    ($main:path) => {
        #[cfg(target_os = "none")]
        #[unsafe(no_mangle)]
        pub fn __eurali_main() {
            $main()
        }
        #[cfg(not(target_os = "none"))]
        fn main() {
            fn entry(regs: $crate::rt::EntryRegisters) {
                $crate::rt::start(regs, $main)
            }
            ::eurali_host::host_main(::core::env!("CARGO_PKG_NAME"), entry)
        }
    };
}

/// A program entry as the kernel stub registers it: `(name, entry)` built from a `main` path.
/// `std::program_entry!("hello", hello::main)`.
#[macro_export]
macro_rules! program_entry {
    ($name:expr, $main:path) => {{
        fn entry(regs: $crate::rt::EntryRegisters) {
            $crate::rt::start(regs, $main)
        }
        ($name, entry as fn($crate::rt::EntryRegisters))
    }};
}
