//! The rendezvous state machine of ABI §3.2–3.5, as pure logic.
//!
//! A [`Rendezvous`] is the state of one kernel object; it knows nothing of handles, processes or
//! host threads. Each method takes the event (a send, a receive, a close) and returns what must
//! happen to the threads involved; the `system` module carries that out (moving objects into tables,
//! waking threads). The message type `M` is generic so that the tests below can use plain values.
//!
//! | State | send by T | send_receive by T | receive by R | close (exactly 2 refs) |
//! |---|---|---|---|---|
//! | Empty | → Sending(T,m); T blocks | → SendRecv(T,m); T blocks | → Receiving(R, any); R blocks | nothing |
//! | Sending(S,m0) | 1 + msg back | 1 + msg back | R gets m0, S gets 0; → Empty | S gets 12 + m0 back; → Empty |
//! | SendRecv(S,m0) | 1 + msg back | 1 + msg back | R gets m0; → Receiving(S, R) | S gets 12 + m0 back; → Empty |
//! | Receiving(W, any) | W gets m, T gets 0; → Empty | W gets m; → Receiving(T, W); T blocks | 2 | W gets 12; → Empty |
//! | Receiving(W, tid) | T = tid: as above; else 2 + msg back | same | 2 | W gets 12; → Empty |

use libeurali::Error;

/// A thread id.
pub type Tid = u64;

/// The state of one rendezvous (§3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Rendezvous<M> {
    /// Nobody waits.
    #[default]
    Empty,
    /// A message waits with its blocked sender (`None`: a kernel send, nobody blocked).
    Sending { sender: Option<Tid>, msg: M },
    /// A send_receive waits to be picked up.
    SendRecv { sender: Tid, msg: M },
    /// A thread waits for a message; with `from` set, only that thread may send (§3.3).
    Receiving { waiter: Tid, from: Option<Tid> },
}

/// What a send or send_receive does.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome<M> {
    /// The message now waits in the rendezvous; the sender blocks until it is picked up (or the
    /// rendezvous is closed).
    Queued,
    /// A receiver was waiting: it gets `msg` and is woken. After a plain send the sender goes on
    /// with status 0; after a send_receive it blocks for `receiver`'s reply (the rendezvous is now
    /// reserved for it).
    Deliver { receiver: Tid, msg: M },
    /// Refused: `error` (1 SEND_BLOCKING or 2 RECV_BLOCKING) and the message goes back to the
    /// sender.
    Refused { error: Error, msg: M },
}

/// What a receive does.
#[derive(Debug, PartialEq, Eq)]
pub enum ReceiveOutcome<M> {
    /// Nothing pending: the receiver blocks.
    Waiting,
    /// A message was pending: the receiver takes it at once. `release` is a plain sender to wake
    /// with status 0; a send_receive sender stays blocked, now waiting for this receiver's reply.
    Take { msg: M, release: Option<Tid> },
    /// Someone already waits, or the rendezvous is reserved for a reply: error 2.
    Busy,
}

/// What a close that leaves exactly one other reference does (§3.5).
#[derive(Debug, PartialEq, Eq)]
pub enum CloseOutcome<M> {
    /// Nobody was waiting.
    Nothing,
    /// The waiting receiver (or a send_receive caller awaiting its reply) gets error 12.
    WakeWaiter(Tid),
    /// The blocked sender gets error 12 and its message back (`None`: a kernel send, the message
    /// is dropped).
    ReturnToSender { sender: Option<Tid>, msg: M },
}

impl<M> Rendezvous<M> {
    /// `send` (`reply = false`) or `send_receive` (`reply = true`) of `msg` by thread `t`.
    pub fn send(&mut self, t: Tid, msg: M, reply: bool) -> SendOutcome<M> {
        match core::mem::take(self) {
            Rendezvous::Empty => {
                *self = if reply {
                    Rendezvous::SendRecv { sender: t, msg }
                } else {
                    Rendezvous::Sending {
                        sender: Some(t),
                        msg,
                    }
                };
                SendOutcome::Queued
            }
            busy @ (Rendezvous::Sending { .. } | Rendezvous::SendRecv { .. }) => {
                *self = busy;
                SendOutcome::Refused {
                    error: Error::SendBlocking,
                    msg,
                }
            }
            Rendezvous::Receiving { waiter, from } => {
                if from.is_some_and(|only| only != t) {
                    *self = Rendezvous::Receiving { waiter, from };
                    return SendOutcome::Refused {
                        error: Error::RecvBlocking,
                        msg,
                    };
                }
                if reply {
                    *self = Rendezvous::Receiving {
                        waiter: t,
                        from: Some(waiter),
                    };
                }
                SendOutcome::Deliver {
                    receiver: waiter,
                    msg,
                }
            }
        }
    }

    /// A send by the kernel itself (§3.6): never blocks. Into a busy rendezvous (or one reserved
    /// for a reply) the message is refused, and the kernel drops it.
    pub fn kernel_send(&mut self, msg: M) -> SendOutcome<M> {
        match core::mem::take(self) {
            Rendezvous::Empty => {
                *self = Rendezvous::Sending { sender: None, msg };
                SendOutcome::Queued
            }
            Rendezvous::Receiving { waiter, from: None } => SendOutcome::Deliver {
                receiver: waiter,
                msg,
            },
            busy => {
                let error = if matches!(busy, Rendezvous::Receiving { .. }) {
                    Error::RecvBlocking
                } else {
                    Error::SendBlocking
                };
                *self = busy;
                SendOutcome::Refused { error, msg }
            }
        }
    }

    /// `receive` by thread `r`.
    pub fn receive(&mut self, r: Tid) -> ReceiveOutcome<M> {
        match core::mem::take(self) {
            Rendezvous::Empty => {
                *self = Rendezvous::Receiving {
                    waiter: r,
                    from: None,
                };
                ReceiveOutcome::Waiting
            }
            Rendezvous::Sending { sender, msg } => ReceiveOutcome::Take {
                msg,
                release: sender,
            },
            Rendezvous::SendRecv { sender, msg } => {
                *self = Rendezvous::Receiving {
                    waiter: sender,
                    from: Some(r),
                };
                ReceiveOutcome::Take { msg, release: None }
            }
            busy @ Rendezvous::Receiving { .. } => {
                *self = busy;
                ReceiveOutcome::Busy
            }
        }
    }

    /// A close that leaves exactly one other reference: wake whoever waits, back to Empty.
    pub fn close(&mut self) -> CloseOutcome<M> {
        match core::mem::take(self) {
            Rendezvous::Empty => CloseOutcome::Nothing,
            Rendezvous::Sending { sender, msg } => CloseOutcome::ReturnToSender { sender, msg },
            Rendezvous::SendRecv { sender, msg } => CloseOutcome::ReturnToSender {
                sender: Some(sender),
                msg,
            },
            Rendezvous::Receiving { waiter, .. } => CloseOutcome::WakeWaiter(waiter),
        }
    }

    /// The object loses its last reference: the blocked thread (if any) is destroyed with it and
    /// a pending message is dropped (§3.5, last point).
    pub fn destroy(self) -> (Option<Tid>, Option<M>) {
        match self {
            Rendezvous::Empty => (None, None),
            Rendezvous::Sending { sender, msg } => (sender, Some(msg)),
            Rendezvous::SendRecv { sender, msg } => (Some(sender), Some(msg)),
            Rendezvous::Receiving { waiter, .. } => (Some(waiter), None),
        }
    }

    /// The thread blocked in this rendezvous, if any.
    pub fn blocked_thread(&self) -> Option<Tid> {
        match self {
            Rendezvous::Empty => None,
            Rendezvous::Sending { sender, .. } => *sender,
            Rendezvous::SendRecv { sender, .. } => Some(*sender),
            Rendezvous::Receiving { waiter, .. } => Some(*waiter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Rendezvous::*;

    type Rv = Rendezvous<&'static str>;

    #[test]
    fn row_empty() {
        let mut r = Rv::Empty;
        assert_eq!(r.send(1, "m", false), SendOutcome::Queued);
        assert_eq!(
            r,
            Sending {
                sender: Some(1),
                msg: "m"
            }
        );
        let mut r = Rv::Empty;
        assert_eq!(r.send(1, "m", true), SendOutcome::Queued);
        assert_eq!(
            r,
            SendRecv {
                sender: 1,
                msg: "m"
            }
        );
        let mut r = Rv::Empty;
        assert_eq!(r.receive(2), ReceiveOutcome::Waiting);
        assert_eq!(
            r,
            Receiving {
                waiter: 2,
                from: None
            }
        );
        let mut r = Rv::Empty;
        assert_eq!(r.close(), CloseOutcome::Nothing);
        assert_eq!(r, Empty);
    }

    #[test]
    fn row_sending() {
        let s = || Rv::Sending {
            sender: Some(1),
            msg: "m0",
        };
        for reply in [false, true] {
            let mut r = s();
            assert_eq!(
                r.send(3, "m", reply),
                SendOutcome::Refused {
                    error: Error::SendBlocking,
                    msg: "m"
                }
            );
            assert_eq!(r, s());
        }
        let mut r = s();
        assert_eq!(
            r.receive(2),
            ReceiveOutcome::Take {
                msg: "m0",
                release: Some(1)
            }
        );
        assert_eq!(r, Empty);
        let mut r = s();
        assert_eq!(
            r.close(),
            CloseOutcome::ReturnToSender {
                sender: Some(1),
                msg: "m0"
            }
        );
        assert_eq!(r, Empty);
    }

    #[test]
    fn row_send_recv() {
        let s = || Rv::SendRecv {
            sender: 1,
            msg: "m0",
        };
        for reply in [false, true] {
            let mut r = s();
            assert_eq!(
                r.send(3, "m", reply),
                SendOutcome::Refused {
                    error: Error::SendBlocking,
                    msg: "m"
                }
            );
            assert_eq!(r, s());
        }
        let mut r = s();
        assert_eq!(
            r.receive(2),
            ReceiveOutcome::Take {
                msg: "m0",
                release: None
            }
        );
        assert_eq!(
            r,
            Receiving {
                waiter: 1,
                from: Some(2)
            }
        );
        let mut r = s();
        assert_eq!(
            r.close(),
            CloseOutcome::ReturnToSender {
                sender: Some(1),
                msg: "m0"
            }
        );
        assert_eq!(r, Empty);
    }

    #[test]
    fn row_receiving_any() {
        let w = || Rv::Receiving {
            waiter: 1,
            from: None,
        };
        let mut r = w();
        assert_eq!(
            r.send(3, "m", false),
            SendOutcome::Deliver {
                receiver: 1,
                msg: "m"
            }
        );
        assert_eq!(r, Empty);
        let mut r = w();
        assert_eq!(
            r.send(3, "m", true),
            SendOutcome::Deliver {
                receiver: 1,
                msg: "m"
            }
        );
        assert_eq!(
            r,
            Receiving {
                waiter: 3,
                from: Some(1)
            }
        );
        let mut r = w();
        assert_eq!(r.receive(2), ReceiveOutcome::Busy);
        assert_eq!(r, w());
        let mut r = w();
        assert_eq!(r.close(), CloseOutcome::WakeWaiter(1));
        assert_eq!(r, Empty);
    }

    #[test]
    fn row_receiving_tid() {
        let w = || Rv::Receiving {
            waiter: 1,
            from: Some(7),
        };
        // The reserved thread: as the row above.
        let mut r = w();
        assert_eq!(
            r.send(7, "m", false),
            SendOutcome::Deliver {
                receiver: 1,
                msg: "m"
            }
        );
        assert_eq!(r, Empty);
        let mut r = w();
        assert_eq!(
            r.send(7, "m", true),
            SendOutcome::Deliver {
                receiver: 1,
                msg: "m"
            }
        );
        assert_eq!(
            r,
            Receiving {
                waiter: 7,
                from: Some(1)
            }
        );
        // Anyone else: 2 with the message back.
        for reply in [false, true] {
            let mut r = w();
            assert_eq!(
                r.send(8, "m", reply),
                SendOutcome::Refused {
                    error: Error::RecvBlocking,
                    msg: "m"
                }
            );
            assert_eq!(r, w());
        }
        let mut r = w();
        assert_eq!(r.receive(7), ReceiveOutcome::Busy);
        let mut r = w();
        assert_eq!(r.close(), CloseOutcome::WakeWaiter(1));
        assert_eq!(r, Empty);
    }

    #[test]
    fn kernel_sends_never_block() {
        let mut r = Rv::Empty;
        assert_eq!(r.kernel_send("v"), SendOutcome::Queued);
        assert_eq!(
            r,
            Sending {
                sender: None,
                msg: "v"
            }
        );
        assert_eq!(
            r.receive(1),
            ReceiveOutcome::Take {
                msg: "v",
                release: None
            }
        );
        let mut r = Rv::Receiving {
            waiter: 1,
            from: None,
        };
        assert_eq!(
            r.kernel_send("v"),
            SendOutcome::Deliver {
                receiver: 1,
                msg: "v"
            }
        );
        assert_eq!(r, Empty);
        let mut r = Rv::Receiving {
            waiter: 1,
            from: Some(2),
        };
        assert!(matches!(
            r.kernel_send("v"),
            SendOutcome::Refused {
                error: Error::RecvBlocking,
                ..
            }
        ));
        let mut r = Rv::Sending {
            sender: None,
            msg: "a",
        };
        assert!(matches!(
            r.kernel_send("v"),
            SendOutcome::Refused {
                error: Error::SendBlocking,
                ..
            }
        ));
        assert_eq!(
            r.close(),
            CloseOutcome::ReturnToSender {
                sender: None,
                msg: "a"
            }
        );
    }

    #[test]
    fn destruction_takes_the_blocked_thread() {
        assert_eq!(Rv::Empty.destroy(), (None, None));
        assert_eq!(
            Rv::Sending {
                sender: Some(1),
                msg: "m"
            }
            .destroy(),
            (Some(1), Some("m"))
        );
        assert_eq!(
            Rv::SendRecv {
                sender: 1,
                msg: "m"
            }
            .destroy(),
            (Some(1), Some("m"))
        );
        assert_eq!(
            Rv::Receiving {
                waiter: 2,
                from: Some(1)
            }
            .destroy(),
            (Some(2), None)
        );
        assert_eq!(
            Rv::Receiving {
                waiter: 2,
                from: None
            }
            .blocked_thread(),
            Some(2)
        );
        assert_eq!(
            Rv::Sending {
                sender: None,
                msg: "m"
            }
            .blocked_thread(),
            None
        );
    }
}
