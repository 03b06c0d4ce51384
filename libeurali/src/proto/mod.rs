//! Protocols spoken over rendezvous, defined once for clients and servers alike.
//!
//! Each module documents its messages at the top: who sends what, the reply, the errors, and
//! whether a request is idempotent (safe to retry after a transient error).

pub mod block;
pub mod console;
pub mod net;
pub mod nic;
pub mod rtc;
pub mod stream;

use crate::error::Error;
use crate::message::Message;
use crate::msgtype;

/// Server side, every protocol: `Short(ERROR, code, 0)`, an error reply.
pub const fn error_reply(e: Error) -> Message {
    Message::Short(msgtype::ERROR, e.code() as u64, 0)
}

/// Server side, every protocol: `Short(ERROR_UNKNOWN_MESSAGE, 0, 0)`, the reply to a request
/// the server does not understand (it goes on serving).
pub const fn unknown_reply() -> Message {
    Message::Short(msgtype::ERROR_UNKNOWN_MESSAGE, 0, 0)
}
