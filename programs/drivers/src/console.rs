//! The console: virtual terminals on the VGA text screen, typed on with the PS/2 keyboard, and a
//! terminal on COM1 — everything except the threads and rendezvous that serve it
//! (`crate::server`), so that it is tested on the host.
//!
//! - Each virtual terminal has a [`Terminal`] (what programs wrote) and a [`LineDiscipline`]
//!   (what was typed). Only the active one is drawn; switching redraws the whole screen.
//! - Keys go to the active terminal; Alt+F`n` makes terminal `n` active. A terminal takes typed
//!   bytes into its line discipline only while someone reads it or listens for Ctrl-C (a shell
//!   subscribed to interrupts), as the stub's console does: keys typed ahead with nobody at the
//!   terminal wait for the next reader's mode (a password typed before the prompt switched to
//!   raw mode is not echoed).
//! - Terminal 0 is the system console, where init writes the log (F1, as upstream has it).
//! - With a serial line, one more terminal after the VGA ones is the serial terminal (COM1, a
//!   headless login): what is written to it goes down the line (as written: a serial terminal
//!   interprets the same escape sequences), and bytes from the line are typed into it. It is
//!   emulated like the others, so that it answers `ESC [ 6 n` at once; the reports coming back
//!   from the real serial terminal are dropped. It is never drawn on the screen.
//! - Terminal 0's output goes down the serial line too until the serial terminal first writes
//!   (its login prompt): a headless machine shows its boot log, and no log line lands in the
//!   serial session afterwards.
//! - A terminal's answers to `ESC [ 6 n` and the like are readable on its input at once.

use alloc::vec::Vec;

use libeurali::proto::stream::InputState;

use crate::keyboard::Input;
use crate::port::PortIo;
use crate::serial::Uart;
use crate::tty::LineDiscipline;
use crate::vt::{Display, Terminal, draw};

pub const ROWS: usize = 25;
pub const COLS: usize = 80;
/// The serial terminal's rows: a VT100's 24 (what a terminal on the line has at least; the
/// screen's 25 made a full-screen program's top row scroll off an 80x24 one).
pub const SERIAL_ROWS: usize = 24;

pub struct Vt {
    pub term: Terminal,
    pub ld: LineDiscipline,
    /// Ctrl-C interrupts so far (a READ waiting across a change is answered INTERRUPTED).
    interrupts: u64,
    /// Handles subscribed to interrupts (`TERM_NOTIFY`: a shell).
    subscribers: Vec<libeurali::Handle>,
    /// Typed, not yet taken by the line discipline (nobody was reading or listening).
    pending: Vec<u8>,
    /// READs waiting now.
    readers: usize,
}

/// What a READ gets now.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOut {
    Data(Vec<u8>),
    Eof,
}

/// The terminal that holds the log (its output also goes down the serial line for a while).
pub const LOG: usize = 0;

pub struct Consoles<D: Display, P: PortIo> {
    vts: Vec<Vt>,
    /// Terminals drawn on the screen (0..vga); the serial terminal, if any, is `vga`.
    vga: usize,
    active: usize,
    display: D,
    shown: Vec<u16>,
    serial: Option<(Uart, P)>,
    /// The serial terminal has written: the log stays off the line from now on.
    serial_started: bool,
    filter: ReportFilter,
    /// Interrupted terminals' subscribers, to be told (outside the lock: a send may block).
    to_notify: Vec<(usize, Vec<libeurali::Handle>)>,
}

impl<D: Display, P: PortIo> Consoles<D, P> {
    /// `vga` terminals (at least one) on `display`, and a serial terminal after them on
    /// `serial` if given.
    pub fn new(vga: usize, display: D, serial: Option<(Uart, P)>) -> Self {
        let vga = vga.max(1);
        let vts = (0..vga + serial.is_some() as usize)
            .map(|i| Vt {
                term: Terminal::new(if i < vga { ROWS } else { SERIAL_ROWS }, COLS),
                ld: LineDiscipline::default(),
                interrupts: 0,
                subscribers: Vec::new(),
                pending: Vec::new(),
                readers: 0,
            })
            .collect();
        let mut c = Consoles {
            vts,
            vga,
            active: 0,
            display,
            shown: Vec::new(),
            serial,
            serial_started: false,
            filter: ReportFilter::default(),
            to_notify: Vec::new(),
        };
        c.redraw(true);
        c
    }

    /// All terminals, the serial one included.
    pub fn count(&self) -> usize {
        self.vts.len()
    }
    /// Terminals on the screen (Alt+F1..); the serial terminal, if any, is the next one.
    pub fn vga(&self) -> usize {
        self.vga
    }
    /// The serial terminal's number, if there is one.
    pub fn serial_terminal(&self) -> Option<usize> {
        self.serial.is_some().then_some(self.vga)
    }
    pub fn active(&self) -> usize {
        self.active
    }
    /// Terminal `vt`'s size, rows and columns (what `TERM_GET` answers).
    pub fn size(&self, vt: usize) -> (u16, u16) {
        let screen = &self.vts[vt].term.screen;
        (screen.rows() as u16, screen.cols() as u16)
    }
    pub fn vt(&self, i: usize) -> &Vt {
        &self.vts[i]
    }
    pub fn display(&self) -> &D {
        &self.display
    }
    pub fn serial(&mut self) -> Option<&mut (Uart, P)> {
        self.serial.as_mut()
    }

    /// A program wrote `bytes` to terminal `vt`.
    pub fn output(&mut self, vt: usize, bytes: &[u8]) {
        let Some(v) = self.vts.get_mut(vt) else {
            return;
        };
        v.term.write(bytes);
        let answers = v.term.screen.take_responses();
        let mut recovered = None;
        let to_line = match self.serial_terminal() {
            Some(s) if vt == s => {
                self.serial_started = true;
                true
            }
            Some(_) => vt == LOG && !self.serial_started,
            None => false,
        };
        if to_line && let Some((uart, io)) = self.serial.as_mut() {
            uart.write(io, bytes);
            recovered = uart.take_recovered();
        }
        if !answers.is_empty() {
            // Keys typed before the question come before the answer, as on a terminal.
            self.take_typed(vt);
            self.vts[vt].ld.answer(&answers);
        }
        if vt == self.active {
            self.redraw(false);
        }
        if let Some(n) = recovered {
            // In the log, once the line flows again.
            let msg = alloc::format!("drivers console: COM1 output stalled; {n} bytes dropped\n");
            self.output(LOG, msg.as_bytes());
        }
    }

    /// What the keyboard typed.
    pub fn key(&mut self, input: Input) {
        match input {
            Input::Switch(n) if n < self.vga && n != self.active => {
                self.active = n;
                self.redraw(true);
            }
            Input::Switch(_) => {}
            Input::Bytes(b) => self.typed(self.active, &b),
        }
    }

    /// Bytes from the serial line: typed into the serial terminal.
    pub fn serial_input(&mut self, bytes: &[u8]) {
        let Some(vt) = self.serial_terminal() else {
            return;
        };
        let mut kept = Vec::new();
        for &b in bytes {
            self.filter.feed(b, &mut kept);
        }
        if !kept.is_empty() {
            self.typed(vt, &kept);
        }
    }

    fn typed(&mut self, vt: usize, bytes: &[u8]) {
        let v = &mut self.vts[vt];
        let room = crate::tty::MAX_PENDING.saturating_sub(v.pending.len());
        v.pending.extend(bytes.iter().take(room));
        if v.readers > 0 || !v.subscribers.is_empty() {
            self.take_typed(vt);
        }
    }

    /// Feeds what was typed on `vt` to its line discipline, in its present mode.
    fn take_typed(&mut self, vt: usize) {
        let v = &mut self.vts[vt];
        if v.pending.is_empty() {
            return;
        }
        let bytes = core::mem::take(&mut v.pending);
        let echo = v.ld.input(&bytes);
        if v.ld.take_interrupted() {
            v.interrupts += 1;
            let subs = core::mem::take(&mut v.subscribers);
            if !subs.is_empty() {
                self.to_notify.push((vt, subs));
            }
        }
        if !echo.is_empty() {
            self.output(vt, &echo);
        }
    }

    /// Interrupts so far on terminal `vt`.
    pub fn interrupts(&self, vt: usize) -> u64 {
        self.vts.get(vt).map_or(0, |v| v.interrupts)
    }

    /// Subscribes `h` to terminal `vt`'s interrupts.
    pub fn subscribe(&mut self, vt: usize, h: libeurali::Handle) {
        if let Some(v) = self.vts.get_mut(vt) {
            libeurali::proto::stream::add_subscriber(&mut v.subscribers, h);
        }
    }

    /// Gives back terminal `vt`'s subscribers that [`Consoles::take_notifications`] took out
    /// (`stream::interrupt_newest` kept them), below any subscribed meanwhile.
    pub fn resubscribe(&mut self, vt: usize, kept: Vec<libeurali::Handle>) {
        if let Some(v) = self.vts.get_mut(vt) {
            libeurali::proto::stream::resubscribe(&mut v.subscribers, kept);
        }
    }

    /// The subscribers of terminals interrupted since the last call, taken out: the caller tells
    /// the newest (`TERM_INTERRUPT`) and gives back, with [`Consoles::resubscribe`], those still
    /// there.
    pub fn take_notifications(&mut self) -> Vec<(usize, Vec<libeurali::Handle>)> {
        core::mem::take(&mut self.to_notify)
    }

    /// A READ starts waiting on `vt` (keys typed meanwhile are taken at once).
    pub fn begin_read(&mut self, vt: usize) {
        if let Some(v) = self.vts.get_mut(vt) {
            v.readers += 1;
        }
    }

    /// A READ on `vt` was answered.
    pub fn end_read(&mut self, vt: usize) {
        if let Some(v) = self.vts.get_mut(vt) {
            v.readers = v.readers.saturating_sub(1);
        }
    }

    /// Serves a READ of at most `max` bytes on terminal `vt`: `None` if nothing is ready (the
    /// reader waits for the next input). Keys typed ahead are taken now, in the present mode.
    pub fn read(&mut self, vt: usize, max: usize) -> Option<ReadOut> {
        if vt >= self.vts.len() {
            return None;
        }
        self.take_typed(vt);
        let ld = &mut self.vts[vt].ld;
        if ld.take_eof() {
            return Some(ReadOut::Eof);
        }
        ld.take(max).map(ReadOut::Data)
    }

    /// Runs `f` on terminal `vt`'s input as a waiting READ sees it (the stream protocol's
    /// terminal loop), keys typed ahead taken first, in the present mode.
    ///
    /// # Panics
    /// If there is no terminal `vt`.
    pub fn look<R>(&mut self, vt: usize, f: impl FnOnce(InputState<'_>) -> R) -> R {
        self.take_typed(vt);
        let v = &mut self.vts[vt];
        f(InputState {
            ld: &mut v.ld,
            interrupts: v.interrupts,
            at_end: false,
        })
    }

    /// Handles subscribed to `vt`'s interrupts.
    pub fn subscribers(&self, vt: usize) -> usize {
        self.vts.get(vt).map_or(0, |v| v.subscribers.len())
    }

    /// Typed bytes waiting for a reader on `vt`.
    pub fn pending(&self, vt: usize) -> usize {
        self.vts.get(vt).map_or(0, |v| v.pending.len())
    }

    pub fn set_raw(&mut self, vt: usize, raw: bool) {
        if let Some(v) = self.vts.get_mut(vt) {
            v.ld.set_raw(raw);
        }
    }

    pub fn raw(&self, vt: usize) -> bool {
        self.vts.get(vt).is_some_and(|v| v.ld.raw())
    }

    fn redraw(&mut self, force: bool) {
        let screen = &mut self.vts[self.active].term.screen;
        if screen.take_dirty() || force {
            draw(screen, &mut self.shown, &mut self.display, force);
        }
    }
}

/// Drops cursor position reports (`ESC [ digits ; digits R`) from a byte stream; everything
/// else passes (an escape sequence is held back only while it could still be a report).
#[derive(Default)]
pub struct ReportFilter {
    held: Vec<u8>,
}

impl ReportFilter {
    pub fn feed(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.held.is_empty() {
            if b == 0x1B {
                self.held.push(b);
            } else {
                out.push(b);
            }
            return;
        }
        self.held.push(b);
        let h = &self.held[..];
        let could_be = match h.len() {
            2 => b == b'[',
            _ => b.is_ascii_digit() || b == b';' || b == b'R',
        };
        if !could_be {
            out.append(&mut self.held);
            return;
        }
        if b == b'R' {
            let body = &h[2..h.len() - 1];
            let semis = body.iter().filter(|&&c| c == b';').count();
            let is_report = semis == 1 && body.first() != Some(&b';') && body.last() != Some(&b';');
            if is_report {
                self.held.clear(); // dropped
            } else {
                out.append(&mut self.held);
            }
        }
    }
}

#[cfg(test)]
mod tests;
