//! `tcp`: eurali's TCP/IP server. smoltcp runs on the Ethernet frames of `/dev/nic`
//! (`libeurali::proto::nic`) and clients get sockets through `libeurali::proto::net`, which
//! std's `net` speaks.
//!
//! ```text
//! tcp [--static ADDR/PREFIX] [--gateway IP] [--dns IP]... [--mac MAC]
//! ```
//! Without `--static` the address, gateway and DNS servers come from DHCP. `--mac` replaces the
//! device's hardware address (two systems on one link whose devices have the same one). The server answers
//! on its standard input handle: init makes a rendezvous, mounts one end at `/net` and starts
//! `tcp` with the other as stdin (so `tcp` is not a command to run by hand).
//!
//! Threads: one **poll thread** owns the device and runs smoltcp (`Interface::poll`), then
//! waits for the next frame for at most smoltcp's poll delay (and a short cap, so that requests
//! made meanwhile go out promptly: the NIC protocol cannot be interrupted); one thread serves
//! the mount handle (it only makes sessions); one thread per **session** serves that client's
//! requests. A session works on the shared smoltcp state under a lock and, when it must wait
//! (a connect, a read with nothing to read, a full send buffer, a DNS answer), sleeps on its
//! own `Notify`, which the poll thread rings when anything happened or the session's deadline
//! passed. DNS answers (A records) are cached for five minutes, failures for thirty seconds.
//!
//! The modules, from the bottom up:
//!
//! - [`args`]: the command line.
//! - [`stack`]: smoltcp's interface and sockets, DHCP, the DNS cache; buffer [`Sizes`] as
//!   given (from the heap the runtime reports, not from the backend). No I/O: time is an
//!   argument, frames come through any `phy::Device`.
//! - [`session`]: one client's requests, `handle(request, now) -> answer or wait`, no I/O
//!   either; tested in-process against a second smoltcp interface (`tests`).
//! - `device`: smoltcp's device over `/dev/nic`.
//! - `server`: the threads, messages in and out, sleeping and waking, the kill.

pub mod args;
mod device;
mod dnswatch;
mod server;
pub mod session;
pub mod stack;
#[cfg(test)]
mod tests;

pub use args::{Settings, parse_args};
pub use server::main;
pub use stack::{Sizes, Stack};

/// A line on standard error, as `tcp: ...`.
fn say(msg: &str) {
    eprintln!("tcp: {msg}");
}
