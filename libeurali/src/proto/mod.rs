//! Protocols spoken over rendezvous, defined once for clients and servers alike.
//!
//! Each module documents its messages at the top: who sends what, the reply, the errors, and
//! whether a request is idempotent (safe to retry after a transient error).

pub mod console;
pub mod net;
pub mod nic;
pub mod rtc;
pub mod stream;
