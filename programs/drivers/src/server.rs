//! The driver processes: the threads and rendezvous around the logic modules, generic over the
//! device access so that the protocol side runs on the stub against device models too.

use alloc::vec::Vec;
use std::sync::{Arc, Mutex, Notify};

use libeurali::proto::{self, console, nic, stream};
use libeurali::{Error, Handle, new_rendezvous, receive, send};

use crate::console::Consoles;
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
            let reply = match console::parse_request(m) {
                console::Request::Open(n) => match self.clients.get(n) {
                    Some((i, o)) => match (i.try_clone(), o.try_clone()) {
                        (Ok(i), Ok(o)) => console::streams_reply(i, o),
                        (Err(e), _) | (_, Err(e)) => proto::error_reply(e),
                    },
                    None => proto::error_reply(Error::NotFound),
                },
                console::Request::VideoMemory(_) | console::Request::Unknown(_) => {
                    proto::unknown_reply()
                }
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

    /// Tells each interrupted terminal's newest subscriber (`TERM_INTERRUPT`,
    /// `stream::interrupt_newest`) on a thread of its own, so that a subscriber slow to receive
    /// never holds up the keyboard; those still there are subscribed again.
    pub fn notify(&self, notes: Vec<(usize, Vec<Handle>)>) {
        if notes.is_empty() {
            return;
        }
        let consoles = self.consoles.clone();
        let r = libeurali::spawn_fn(move || {
            for (vt, subs) in notes {
                let (kept, _) = stream::interrupt_newest(subs);
                lock(&consoles).resubscribe(vt, kept);
            }
        });
        // Without a thread the subscribers are dropped: the interrupt still ends the READ.
        let _ = r;
    }
}

/// Terminal `vt`'s input as the stream protocol's terminal loop drives it.
struct VtInput<'a, D: Display, P: PortIo> {
    vt: usize,
    c: &'a Mutex<Consoles<D, P>>,
    wakes: &'a [Notify],
}

impl<D: Display, P: PortIo> stream::TerminalInput for VtInput<'_, D, P> {
    fn info(&mut self) -> stream::TermInfo {
        let c = lock(self.c);
        let (rows, cols) = c.size(self.vt);
        stream::TermInfo {
            raw: c.raw(self.vt),
            rows,
            cols,
        }
    }

    fn set_raw(&mut self, raw: bool) {
        lock(self.c).set_raw(self.vt, raw);
    }

    fn subscribe(&mut self, h: Handle) {
        lock(self.c).subscribe(self.vt, h);
    }

    fn begin_read(&mut self) -> u64 {
        let mut g = lock(self.c);
        g.begin_read(self.vt);
        g.interrupts(self.vt)
    }

    fn end_read(&mut self) {
        lock(self.c).end_read(self.vt);
    }

    fn look<R>(&mut self, f: impl FnOnce(stream::InputState<'_>) -> R) -> R {
        // (Keys typed ahead are taken first, a Ctrl-C among them included.)
        lock(self.c).look(self.vt, f)
    }

    fn wait(&mut self) {
        self.wakes[self.vt].wait();
    }
}

fn serve_input<D: Display, P: PortIo>(
    h: &Handle,
    vt: usize,
    c: &Mutex<Consoles<D, P>>,
    wakes: &[Notify],
) {
    stream::serve_terminal_input(h, &mut VtInput { vt, c, wakes });
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
                Ok(stream::TermRequest::Get) => {
                    let c = lock(c);
                    let (rows, cols) = c.size(vt);
                    stream::TermInfo {
                        raw: c.raw(vt),
                        rows,
                        cols,
                    }
                    .reply()
                }
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

/// The rtl8139 as [`nic::serve`] drives it: the chip, its ports, and a frame buffer.
struct Rtl<'a, B: DmaBuf, IO: PortIo> {
    io: &'a mut IO,
    dev: &'a mut Rtl8139<B>,
    frame: [u8; crate::rtl8139::MAX_FRAME],
}

impl<B: DmaBuf, IO: PortIo> nic::NicDevice for Rtl<'_, B, IO> {
    fn mac(&self) -> [u8; 6] {
        self.dev.mac()
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), Error> {
        send_frame(self.io, self.dev, frame)
    }

    /// Only IRQ 1 can be awaited: a wait polls the ring, yielding between looks.
    fn recv(&mut self, wait_us: Option<u64>) -> Result<Option<&[u8]>, Error> {
        let start = std::time::Instant::now();
        loop {
            if let Some(n) = self.dev.receive(self.io, &mut self.frame) {
                return Ok(Some(&self.frame[..n.min(nic::MAX_FRAME)]));
            }
            match wait_us {
                Some(us) if start.elapsed().as_micros() as u64 >= us => return Ok(None),
                _ => libeurali::yield_now(),
            }
        }
    }

    fn try_recv(&mut self) -> Result<Option<&[u8]>, Error> {
        Ok(self
            .dev
            .receive(self.io, &mut self.frame)
            .map(|n| &self.frame[..n.min(nic::MAX_FRAME)]))
    }
}

/// Serves the NIC protocol (`libeurali::proto::nic`) on `h` until the handle fails.
pub fn serve_nic<B: DmaBuf>(h: &Handle, io: &mut impl PortIo, nic_dev: &mut Rtl8139<B>) {
    nic::serve(
        h,
        &mut Rtl {
            io,
            dev: nic_dev,
            frame: [0u8; crate::rtl8139::MAX_FRAME],
        },
    );
}

#[cfg(test)]
mod tests;
