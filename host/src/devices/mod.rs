//! Host devices: servers that give stub processes what a real machine's drivers give them, over
//! the same protocols (libeurali's [`libeurali::proto`]). They are written against libeurali's
//! safe API like any eurali server and run as threads of a stub process.

pub mod console;
pub mod debuglog;
pub mod disk;
pub mod rtc;
pub mod tap;
pub mod terminal;
