//! The server's threads and their I/O: the poll thread (the stack on `/dev/nic`), the mount's
//! thread and one thread per session, which turns messages into [`Req`]s for its
//! [`Session`] and its [`Reply`]s back into messages, and sleeps on its `Notify` while a
//! request waits.

use std::sync::{Arc, Mutex, Notify};
use std::time::Duration;

use libeurali::proto::net::{self, NetError, Request};
use libeurali::proto::stream;
use libeurali::{Handle, Message, Word, msgtype, receive, send};
use smoltcp::time::Instant;

use crate::device::{self, Nic};
use crate::session::{Outcome, Reply, Req, Session};
use crate::stack::{Sizes, Stack};
use crate::{parse_args, say};

/// Longest wait for a frame while sessions exist or were recently busy / after a quiet while
/// (requests made meanwhile wait for the poll thread's next round).
const CAP_ACTIVE: Duration = Duration::from_micros(250);
const CAP_IDLE: Duration = Duration::from_millis(10);
/// How long the server stays quick after the last activity.
const QUIET_AFTER: Duration = Duration::from_secs(3);

fn now() -> Instant {
    Instant::from_micros(std::time::uptime().as_micros() as i64)
}

struct Waiter {
    id: u64,
    notify: Arc<Notify>,
    deadline: Option<Instant>,
}

/// What every thread works on, under one lock: the stack and who waits on it.
struct State {
    stack: Stack,
    waiters: Vec<Waiter>,
    sessions: usize,
    /// Handle numbers the server's threads receive on: `/net`'s and every session's (for a
    /// kill to wake them; see [`killed`]).
    receivers: Vec<u32>,
}

type Shared = Arc<Mutex<State>>;

fn lk(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The session's view of a request (the chunks' bytes borrowed).
fn req_of(r: &Request) -> Req<'_> {
    match r {
        Request::Socket => Req::Socket,
        Request::Connect { addr, timeout_ms } => Req::Connect {
            addr: *addr,
            timeout_ms: *timeout_ms,
        },
        Request::Listen { addr, backlog } => Req::Listen {
            addr: *addr,
            backlog: *backlog,
        },
        Request::Accept { timeout_ms } => Req::Accept {
            timeout_ms: *timeout_ms,
        },
        Request::UdpBind { addr } => Req::UdpBind { addr: *addr },
        Request::Read { max, timeout_ms } => Req::Read {
            max: *max,
            timeout_ms: *timeout_ms,
        },
        Request::Write(c) => Req::Write(c.as_slice()),
        Request::SendTo { data, addr } => Req::SendTo {
            data: data.as_slice(),
            addr: *addr,
        },
        Request::RecvFrom { max, timeout_ms } => Req::RecvFrom {
            max: *max,
            timeout_ms: *timeout_ms,
        },
        Request::Shutdown(how) => Req::Shutdown(*how),
        Request::Addrs => Req::Addrs,
        Request::Resolve(c) => Req::Resolve(c.as_slice()),
        Request::Close => Req::Close,
        Request::Invalid => Req::Invalid,
        Request::Unknown(_) => Req::Unknown,
    }
}

/// A session's server side: its [`Session`] and what its thread sleeps on.
struct Served {
    shared: Shared,
    notify: Arc<Notify>,
    id: u64,
    session: Session,
}

impl Served {
    /// The session's answer to `req`, sleeping while it waits for the network; `None` for
    /// CLOSE (answered by the caller, which then ends).
    fn answer(&mut self, req: &Req<'_>) -> Option<Message> {
        let reply = loop {
            {
                let mut guard = lk(&self.shared);
                let st = &mut *guard;
                st.waiters.retain(|w| w.id != self.id);
                let outcome = if libeurali::kill::doomed() {
                    // The server was killed: so is the connection.
                    Outcome::Done(self.session.interrupt(
                        &mut st.stack,
                        req,
                        now(),
                        NetError::Reset,
                    ))
                } else {
                    self.session.handle(&mut st.stack, req, now())
                };
                match outcome {
                    Outcome::Done(Reply::Data(n)) => {
                        drop(guard);
                        // Straight from the socket's buffer into the reply's chunk.
                        match self.data(n) {
                            Ok(Some(m)) => return Some(m),
                            Ok(None) => continue, // nothing after all: wait again
                            Err(e) => break Reply::Error(e),
                        }
                    }
                    Outcome::Done(r) => break r,
                    Outcome::Wait(deadline) => st.waiters.push(Waiter {
                        id: self.id,
                        notify: self.notify.clone(),
                        deadline,
                    }),
                }
            }
            self.notify.wait();
        };
        let r: Result<Message, NetError> = match reply {
            Reply::Ok(v) => Ok(net::ok_reply(v)),
            Reply::Data(_) => unreachable!("taken above"),
            Reply::Eof => Ok(stream::eof_reply()),
            Reply::Accepted(session, peer) => {
                lk(&self.shared).sessions += 1;
                match spawn_session(self.shared.clone(), session) {
                    Ok(c) => Ok(Message::Long(
                        msgtype::COMM_HANDLE,
                        Word::Handle(c),
                        Word::Value(peer),
                    )),
                    Err((e, mut session)) => {
                        let mut st = lk(&self.shared);
                        st.sessions -= 1;
                        session.abort(&mut st.stack);
                        Err(e)
                    }
                }
            }
            Reply::Datagram(data, from) => net::datagram_reply(&data, from).map_err(NetError::from),
            Reply::Address(l, p) => Ok(Message::Short(net::NET_ADDRESS, l, p)),
            Reply::Closed => return None,
            Reply::Unknown => Ok(stream::unknown_reply()),
            Reply::Error(e) => Err(e),
        };
        Some(r.unwrap_or_else(net::error_reply))
    }

    /// `DATA` with up to `n` received bytes; `None` if there were none after all.
    fn data(&mut self, n: usize) -> Result<Option<Message>, NetError> {
        let (shared, session) = (&self.shared, &mut self.session);
        let chunk =
            libeurali::MemoryChunk::alloc_with(n, |b| session.take(&mut lk(shared).stack, b))??;
        let n = chunk.len();
        Ok(
            (n > 0)
                .then(|| Message::Long(msgtype::DATA, Word::Value(n as u64), Word::Chunk(chunk))),
        )
    }

    fn note_addrs(&mut self) {
        let st = lk(&self.shared);
        let _ = self.session.addrs(&st.stack);
    }
}

static NEXT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// A new session on a new rendezvous, served by a new thread; returns the client's end (or
/// the error and the session back). The caller has counted it in `sessions`.
fn spawn_session(shared: Shared, session: Session) -> Result<Handle, (NetError, Session)> {
    let (srv, cli) = match libeurali::new_rendezvous() {
        Ok(p) => p,
        Err(e) => return Err((e.into(), session)),
    };
    let notify = match Notify::new() {
        Ok(n) => Arc::new(n),
        Err(_) => return Err((NetError::Exhausted, session)),
    };
    let (raw, shared2) = (srv.raw(), shared.clone());
    lk(&shared).receivers.push(raw);
    // The thread takes its session from here; if it cannot start, the caller gets it back.
    let slot = Arc::new(Mutex::new(Some(Served {
        shared,
        notify,
        id: NEXT_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
        session,
    })));
    let slot2 = slot.clone();
    let started = std::thread::Builder::new().spawn(move || {
        let taken = slot2.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(mut s) = taken else { return };
        loop {
            if libeurali::kill::doomed() {
                break;
            }
            let Ok(m) = receive(&srv) else { break };
            if libeurali::kill::doomed() {
                break; // unanswered: the session closes with the server
            }
            // Keep the connection's addresses while smoltcp still knows them.
            s.note_addrs();
            let request = net::parse_request(m);
            let reply = s.answer(&req_of(&request));
            s.note_addrs();
            match reply {
                Some(reply) => {
                    // A reply that cannot be delivered means the client is gone (it died
                    // mid-request): its socket is closed rather than kept forever.
                    if send(&srv, reply).is_err() {
                        break;
                    }
                }
                None => {
                    let _ = send(&srv, net::ok_reply(0));
                    break;
                }
            }
        }
        let mut st = lk(&s.shared);
        st.waiters.retain(|w| w.id != s.id);
        s.session.close(&mut st.stack, now());
        st.sessions -= 1;
        st.receivers.retain(|&n| n != srv.raw());
        drop(srv); // closed under the lock: a kill never copies a reused number
    });
    if started.is_err() {
        // The closure, and the session's handle in it, is gone: take the number off the list.
        lk(&shared2).receivers.retain(|&n| n != raw);
        let served = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        return Err((
            NetError::Exhausted,
            served.map(|s| s.session).unwrap_or_default(),
        ));
    }
    Ok(cli)
}

/// Serves the mount handle: every `NET_SOCKET` gets a new session (replies only when owed:
/// see [`net::serve_mount`]).
fn serve_mount(shared: Shared, h: Handle) {
    // A killed tcp still answers the request it took (its client waits for that reply), and
    // serves no more.
    net::serve_mount(&h, libeurali::kill::doomed, |m| {
        if libeurali::kill::doomed() {
            // `/net` outlives this tcp (init keeps it for the next one): a send_receive left
            // unanswered held it for good, its client waiting for ever and every other client
            // refused (RECV_BLOCKING), the next tcp included. The kill's own wake-up is a plain
            // send: no answer.
            if matches!(m, Message::Short(msgtype::KILL_WAKE, _, _)) {
                return net::Turn::Stop;
            }
            return net::Turn::Last(net::error_reply(NetError::Kernel(libeurali::Error::Closed)));
        }
        net::Turn::Reply(match net::parse_request(m) {
            Request::Socket => {
                lk(&shared).sessions += 1;
                match spawn_session(shared.clone(), Session::new()) {
                    Ok(c) => Message::Long(msgtype::COMM_HANDLE, Word::Handle(c), Word::Value(0)),
                    Err((e, _)) => {
                        lk(&shared).sessions -= 1;
                        net::error_reply(e)
                    }
                }
            }
            _ => stream::unknown_reply(),
        })
    });
    let mut st = lk(&shared);
    st.receivers.retain(|&n| n != h.raw());
    drop(h); // closed under the lock: a kill never copies a reused number
}

/// `tcp --help`.
const HELP: &str = "Usage: tcp [--static ADDR/PREFIX] [--gateway IP] [--dns IP]... [--mac MAC]\n\
The TCP/IP server on /dev/nic, serving /net (init starts it; not for the prompt).\n\
  --static ADDR/PREFIX  a fixed address instead of DHCP\n\
  --gateway IP          the default gateway\n\
  --dns IP              a DNS server (repeatable)\n\
  --mac MAC             this hardware address, not the device's (02:00:00:00:00:01)\n\
  --help                show this help and exit\n\
";

pub fn main() {
    if std::env::args().nth(1).as_deref() == Some("--help") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_args(&args) {
        Ok(s) => s,
        Err(e) => {
            say(&format!(
                "{e}\nusage: tcp [--static ADDR/PREFIX] [--gateway IP] [--dns IP]... [--mac MAC]"
            ));
            std::process::exit(2);
        }
    };
    let nic_h = match libeurali::open("/dev/nic") {
        Ok((h, n)) if n == "/dev/nic".len() => h,
        _ => {
            say("no /dev/nic: no network");
            std::process::exit(1);
        }
    };
    let mac = match device::mac_address(&nic_h) {
        Ok(m) => settings.mac.unwrap_or(m),
        Err(e) => {
            say(&format!("/dev/nic: {e}"));
            std::process::exit(1);
        }
    };
    let Some(serve_h) = std::rt::stdin_handle() else {
        say("no handle to serve on (tcp is started by init, with /net's server end as stdin)");
        std::process::exit(2);
    };
    // The numbers from what the runtime says we have, not from which backend this is.
    let sizes = Sizes::for_heap(std::rt::heap_size());
    let mut dev = Nic::new(nic_h, sizes.rx_batch);
    let first_port = 49152 + (std::time::uptime().as_micros() % 16000) as u16;
    let stack = Stack::new(mac, &mut dev, now(), &settings, sizes, first_port, say);
    let state = State {
        stack,
        waiters: Vec::new(),
        sessions: 0,
        receivers: vec![serve_h.raw()],
    };
    let shared: Shared = Arc::new(Mutex::new(state));
    let weak = Arc::downgrade(&shared);
    let _on_kill = libeurali::kill::on_kill(Arc::new(move || {
        if let Some(shared) = weak.upgrade() {
            killed(&shared);
        }
    }));
    let s2 = shared.clone();
    if std::thread::Builder::new()
        .spawn(move || serve_mount(s2, serve_h))
        .is_err()
    {
        say("cannot start the server thread");
        std::process::exit(1);
    }
    poll_loop(&shared, &mut dev);
}

/// tcp was killed: every thread waiting for a client (in `receive`) or for the network (on its
/// `Notify`) is woken, sees the kill and ends; clients waiting for a reply get `Reset`, later
/// calls find the session closed. The poll thread ends at its next turn.
fn killed(shared: &Shared) {
    let copies: Vec<Handle> = {
        let st = lk(shared);
        for w in &st.waiters {
            w.notify.notify();
        }
        st.receivers
            .iter()
            // SAFETY: listed numbers stay open while listed (each is closed under the lock
            // after being taken off the list).
            .filter_map(|&raw| unsafe { Handle::copy_raw(raw) }.ok())
            .collect()
    };
    for h in copies {
        libeurali::kill::wake(h);
    }
}

/// The poll thread: smoltcp, wake-ups, then a bounded wait for the next frame.
fn poll_loop(shared: &Shared, dev: &mut Nic) {
    let mut last_busy = std::time::Instant::now();
    loop {
        std::rt::checkpoint(); // a killed tcp ends here
        let t = now();
        let wait = {
            let mut guard = lk(shared);
            let st = &mut *guard;
            let activity = st.stack.poll(t, dev);
            let mut nearest: Option<Instant> = None;
            for w in &st.waiters {
                if activity || w.deadline.is_some_and(|d| d <= t) {
                    w.notify.notify();
                } else if let Some(d) = w.deadline {
                    nearest = Some(nearest.map_or(d, |n: Instant| n.min(d)));
                }
            }
            if activity || st.sessions > 0 || st.stack.closing() || !st.waiters.is_empty() {
                last_busy = std::time::Instant::now();
            }
            let cap = if last_busy.elapsed() < QUIET_AFTER {
                CAP_ACTIVE
            } else {
                CAP_IDLE
            };
            let mut wait = st.stack.poll_delay(t).unwrap_or(cap).min(cap);
            if let Some(n) = nearest {
                wait = wait.min(Duration::from_micros((n - t).total_micros()));
            }
            wait
        };
        // The device is used only here, outside the lock: sessions are never held up by it.
        dev.exchange(if dev.has_rx() { Duration::ZERO } else { wait });
    }
}
