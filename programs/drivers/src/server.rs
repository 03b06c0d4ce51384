//! The driver processes: the threads and rendezvous around the logic modules, generic over the
//! device access so that the protocol side runs on the stub against device models too.

use alloc::vec::Vec;
use std::sync::{Arc, Mutex, Notify};

use libeurali::proto::console::{CONSOLE_OPEN, CONSOLE_STREAMS};
use libeurali::proto::{nic, stream};
use libeurali::{Error, Handle, Message, Word, msgtype, new_rendezvous, receive, send};

use crate::console::{COLS, Consoles, ROWS, ReadOut};
use crate::keyboard::{self, Decoder};
use crate::port::PortIo;
use crate::rtl8139::{DmaBuf, Rtl8139, SendError};
use crate::vt::Display;

/// The consoles, shared by the stream servers, the keyboard and the serial poller.
pub type Shared<D, P> = Arc<Mutex<Consoles<D, P>>>;

/// A running console: what its threads share, and the client ends of each terminal's streams.
pub struct ConsoleServer<D: Display, P: PortIo> {
    pub consoles: Shared<D, P>,
    /// One wake-up per terminal, for its reader waiting for input.
    pub wakes: Arc<Vec<Notify>>,
    /// (input, output) stream handles of each terminal, to hand out copies of.
    pub clients: Vec<(Handle, Handle)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn wake_all(wakes: &[Notify]) {
    for w in wakes {
        w.notify();
    }
}

impl<D, P> ConsoleServer<D, P>
where
    D: Display + Send + 'static,
    P: PortIo + Send + 'static,
{
    /// Starts the input and output server threads of every terminal.
    pub fn start(consoles: Consoles<D, P>) -> Result<Self, Error> {
        let count = consoles.count();
        let consoles = Arc::new(Mutex::new(consoles));
        let mut wakes = Vec::new();
        for _ in 0..count {
            wakes.push(Notify::new().map_err(|_| Error::Memory)?);
        }
        let wakes = Arc::new(wakes);
        let mut clients = Vec::new();
        for vt in 0..count {
            let (in_srv, in_cli) = new_rendezvous()?;
            let (out_srv, out_cli) = new_rendezvous()?;
            let (c, w) = (consoles.clone(), wakes.clone());
            libeurali::spawn_fn(move || serve_input(&in_srv, vt, &c, &w))?;
            let (c, w) = (consoles.clone(), wakes.clone());
            libeurali::spawn_fn(move || serve_output(&out_srv, vt, &c, &w))?;
            clients.push((in_cli, out_cli));
        }
        Ok(ConsoleServer {
            consoles,
            wakes,
            clients,
        })
    }

    /// Hands out terminals' streams on the control handle (the part of the console protocol
    /// after VIDEO_MEMORY) until the handle fails.
    pub fn serve_control(&self, control: &Handle) {
        loop {
            let Ok(m) = receive(control) else { return };
            let reply = match m {
                Message::Short(CONSOLE_OPEN, n, _) => match self.clients.get(n as usize) {
                    Some((i, o)) => match (i.try_clone(), o.try_clone()) {
                        (Ok(i), Ok(o)) => {
                            Message::Long(CONSOLE_STREAMS, Word::Handle(i), Word::Handle(o))
                        }
                        (Err(e), _) | (_, Err(e)) => stream::error_reply(e),
                    },
                    None => stream::error_reply(Error::NotFound),
                },
                _ => stream::unknown_reply(),
            };
            let _ = send(control, reply);
        }
    }

    /// The keyboard driver: drains the controller, then waits for IRQ 1, forever.
    pub fn keyboard_loop(&self, mut io: impl PortIo) -> ! {
        let mut decoder = Decoder::new();
        loop {
            let mut inputs = Vec::new();
            keyboard::drain(&mut io, &mut decoder, |i| inputs.push(i));
            if !inputs.is_empty() {
                let mut c = lock(&self.consoles);
                for i in inputs {
                    c.key(i);
                }
                let notes = c.take_notifications();
                drop(c);
                wake_all(&self.wakes);
                self.notify(notes);
            }
            libeurali::await_interrupt();
        }
    }

    /// One poll of the serial line: types what arrived into terminal 0. Returns whether
    /// anything did.
    pub fn poll_serial(&self) -> bool {
        let mut c = lock(&self.consoles);
        let mut got = Vec::new();
        if let Some((uart, io)) = c.serial() {
            while got.len() < 256 {
                match uart.try_receive(io) {
                    Some(b) => got.push(b),
                    None => break,
                }
            }
        }
        if got.is_empty() {
            return false;
        }
        c.serial_input(&got);
        let notes = c.take_notifications();
        drop(c);
        wake_all(&self.wakes);
        self.notify(notes);
        true
    }

    /// Tells interrupted terminals' subscribers (`TERM_INTERRUPT`) on a thread of its own, so
    /// that a subscriber slow to receive never holds up the keyboard; those still there are
    /// subscribed again.
    pub fn notify(&self, notes: Vec<(usize, Vec<Handle>)>) {
        if notes.is_empty() {
            return;
        }
        let consoles = self.consoles.clone();
        let r = libeurali::spawn_fn(move || {
            for (vt, subs) in notes {
                for sub in subs {
                    let m = Message::Short(stream::TERM_INTERRUPT, 0, 0);
                    if libeurali::call_send(&sub, m).is_ok() {
                        lock(&consoles).subscribe(vt, sub);
                    }
                }
            }
        });
        // Without a thread the subscribers are dropped: the interrupt still ends the READ.
        let _ = r;
    }
}

fn serve_input<D: Display, P: PortIo>(
    h: &Handle,
    vt: usize,
    c: &Mutex<Consoles<D, P>>,
    wakes: &[Notify],
) {
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::term_request(m) {
            Ok(stream::TermRequest::Get) => stream::TermInfo {
                raw: lock(c).raw(vt),
                rows: ROWS as u16,
                cols: COLS as u16,
            }
            .reply(),
            Ok(stream::TermRequest::SetRaw(r)) => {
                lock(c).set_raw(vt, r);
                Message::Short(msgtype::OK, 0, 0)
            }
            Ok(stream::TermRequest::Notify(h)) => {
                lock(c).subscribe(vt, h);
                Message::Short(msgtype::OK, 0, 0)
            }
            Err(m) => match stream::parse_request(m) {
                stream::Request::Read(max) => {
                    let seen = {
                        let mut g = lock(c);
                        g.begin_read(vt);
                        g.interrupts(vt)
                    };
                    let reply = loop {
                        let mut g = lock(c);
                        // (The read takes keys typed ahead, a Ctrl-C among them included.)
                        let got = g.read(vt, max);
                        if g.interrupts(vt) != seen {
                            break stream::interrupted_reply();
                        }
                        drop(g);
                        match got {
                            Some(ReadOut::Data(d)) => {
                                break stream::data_reply(&d).unwrap_or_else(stream::error_reply);
                            }
                            Some(ReadOut::Eof) => break stream::eof_reply(),
                            None => wakes[vt].wait(),
                        }
                    };
                    lock(c).end_read(vt);
                    reply
                }
                stream::Request::Write(_) => stream::error_reply(Error::NotImplemented),
                stream::Request::Unknown(_) => stream::unknown_reply(),
            },
        };
        let _ = send(h, reply);
    }
}

fn serve_output<D: Display, P: PortIo>(
    h: &Handle,
    vt: usize,
    c: &Mutex<Consoles<D, P>>,
    wakes: &[Notify],
) {
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match stream::parse_request(m) {
            stream::Request::Write(chunk) => {
                let data = chunk.as_slice();
                lock(c).output(vt, data);
                // A status report the terminal answered is input for its reader.
                wakes[vt].notify();
                stream::written_reply(data.len(), chunk)
            }
            stream::Request::Read(_) => stream::error_reply(Error::NotImplemented),
            stream::Request::Unknown(m) => match stream::term_request(m) {
                // The terminal requests belong to the input stream; answer TERM_GET here too,
                // so a program asking its stdout learns it is a terminal.
                Ok(stream::TermRequest::Get) => stream::TermInfo {
                    raw: lock(c).raw(vt),
                    rows: ROWS as u16,
                    cols: COLS as u16,
                }
                .reply(),
                _ => stream::unknown_reply(),
            },
        };
        let _ = send(h, reply);
    }
}

/// How often a frame is retried while every transmit descriptor is busy (the chip sends one in
/// microseconds; a yield lets it).
const SEND_TRIES: usize = 64;

/// Transmits one frame, retrying a while when every transmit descriptor is busy.
fn send_frame<B: DmaBuf>(
    io: &mut impl PortIo,
    nic_dev: &mut Rtl8139<B>,
    data: &[u8],
) -> Result<(), Error> {
    let mut tries = 0;
    loop {
        match nic_dev.send(io, data) {
            Ok(()) => return Ok(()),
            Err(SendError::BadLength) => return Err(Error::Param),
            Err(SendError::Busy) if tries < SEND_TRIES => {
                tries += 1;
                libeurali::yield_now();
            }
            Err(SendError::Busy) => return Err(Error::SendBlocking),
        }
    }
}

/// The reply to `NIC_POLL_MANY`: every frame already there, as long as the batch has room for a
/// whole one, waiting up to `wait_us` (polling the ring, yielding between looks) for the first.
fn recv_many<B: DmaBuf>(
    io: &mut impl PortIo,
    nic_dev: &mut Rtl8139<B>,
    frame: &mut [u8; crate::rtl8139::MAX_FRAME],
    max: usize,
    wait_us: u64,
) -> Message {
    if max < 2 + nic::MAX_FRAME {
        // Too small for a whole frame: a frame must never be taken and then dropped.
        return stream::error_reply(Error::Param);
    }
    let start = std::time::Instant::now();
    let mut batch = Vec::new();
    loop {
        while batch.len() + 2 + nic::MAX_FRAME <= max {
            let Some(n) = nic_dev.receive(io, frame) else {
                break;
            };
            nic::push_record(&mut batch, &frame[..n.min(nic::MAX_FRAME)], max);
        }
        if !batch.is_empty() {
            return nic::frames_reply(&batch).unwrap_or_else(stream::error_reply);
        }
        if start.elapsed().as_micros() as u64 >= wait_us {
            return nic::empty_reply();
        }
        libeurali::yield_now();
    }
}

/// Serves the NIC protocol (`libeurali::proto::nic`) on `h` until the handle fails.
pub fn serve_nic<B: DmaBuf>(h: &Handle, io: &mut impl PortIo, nic_dev: &mut Rtl8139<B>) {
    let mut frame = [0u8; crate::rtl8139::MAX_FRAME];
    loop {
        let Ok(m) = receive(h) else { return };
        let reply = match nic::parse_request(m) {
            nic::Request::Send(chunk) => match send_frame(io, nic_dev, chunk.as_slice()) {
                Ok(()) => nic::sent_reply(chunk.len()),
                Err(e) => stream::error_reply(e),
            },
            nic::Request::BadLength => stream::error_reply(Error::Param),
            // Only IRQ 1 can be awaited: a wait polls the ring, yielding between looks.
            nic::Request::Recv(wait) => {
                let start = std::time::Instant::now();
                loop {
                    if let Some(n) = nic_dev.receive(io, &mut frame) {
                        let n = n.min(nic::MAX_FRAME);
                        break nic::frame_reply(&frame[..n]).unwrap_or_else(stream::error_reply);
                    }
                    match wait {
                        Some(us) if start.elapsed().as_micros() as u64 >= us => {
                            break nic::empty_reply();
                        }
                        _ => libeurali::yield_now(),
                    }
                }
            }
            nic::Request::RecvMany { max, wait_us } => {
                recv_many(io, nic_dev, &mut frame, max, wait_us)
            }
            nic::Request::SendRecvMany {
                records,
                max,
                wait_us,
            } => {
                // In order; a frame that cannot go out ends the request with its error (the
                // frames before it were sent, as with one NIC_SEND each).
                match nic::frames(records.as_slice()).try_for_each(|f| send_frame(io, nic_dev, f)) {
                    Ok(()) => recv_many(io, nic_dev, &mut frame, max, wait_us),
                    Err(e) => stream::error_reply(e),
                }
            }
            nic::Request::Mac => nic::mac_reply(nic_dev.mac()),
            nic::Request::Unknown(_) => stream::unknown_reply(),
        };
        let _ = send(h, reply);
    }
}

#[cfg(test)]
mod tests;
