//! The device adapter: smoltcp's `phy::Device` over `/dev/nic` (`libeurali::proto::nic`).
//! Only the poll thread uses it, and only outside the stack's lock (see `Nic::exchange`).

use std::time::Duration;

use libeurali::Handle;
use libeurali::proto::nic;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::say;

/// Received frames not yet given to smoltcp, as records (`nic::frames`).
enum Inbox {
    Empty,
    /// A reply's chunk, used where it landed.
    Chunk(libeurali::MemoryChunk),
    /// Frames copied (a device without batches, or batches that met).
    Copied(Vec<u8>),
}

impl Inbox {
    fn records(&self) -> &[u8] {
        match self {
            Inbox::Empty => &[],
            Inbox::Chunk(c) => c.as_slice(),
            Inbox::Copied(v) => v,
        }
    }
}

/// How long a busy `/dev/nic` is waited for at the start. The device has one client, but a tcp
/// that was killed lets go of it only when the exchange its poll thread was in comes back (its
/// wait is short, yet init starts the next tcp as soon as the status comes); the new tcp, which
/// gave up at once, failed five times within milliseconds, and init stopped starting it.
const NIC_BUSY_WAIT: Duration = Duration::from_secs(5);

/// The device's MAC address, waiting up to [`NIC_BUSY_WAIT`] while the device is busy.
pub(crate) fn mac_address(h: &Handle) -> Result<[u8; 6], libeurali::Error> {
    let start = std::time::Instant::now();
    loop {
        match nic::mac_address(h) {
            Err(e) if e.is_transient() && start.elapsed() < NIC_BUSY_WAIT => {
                std::thread::sleep(Duration::from_millis(2));
            }
            r => return r,
        }
    }
}

/// The smoltcp device: frames over `/dev/nic`. Used by the poll thread only.
pub(crate) struct Nic {
    h: Handle,
    /// Received frames, from offset `at` of its records on.
    inbox: Inbox,
    at: usize,
    /// One frame, for a device without batches.
    buf: Vec<u8>,
    dead: bool,
    /// Whether the device answers `NIC_POLL_MANY` (until it says it does not).
    batches: bool,
    /// Whether the device answers `NIC_SEND_POLL_MANY` (until it says it does not).
    exchanges: bool,
    /// Frames smoltcp produced, as records, to send once the lock is released.
    out: Vec<u8>,
    /// The most bytes of received frames one request brings ([`crate::Sizes::rx_batch`]).
    rx_batch: usize,
}

impl Nic {
    /// The device behind `h`, fetching at most `rx_batch` bytes of frames per request.
    pub(crate) fn new(h: Handle, rx_batch: usize) -> Nic {
        Nic {
            h,
            inbox: Inbox::Empty,
            at: 0,
            buf: vec![0u8; nic::MAX_FRAME],
            dead: false,
            batches: true,
            exchanges: true,
            out: Vec::new(),
            rx_batch,
        }
    }

    /// Whether received frames wait for smoltcp.
    pub(crate) fn has_rx(&self) -> bool {
        nic::next_record(self.inbox.records(), self.at).is_some()
    }

    /// Takes a reply's records in: used in place, or after what is still waiting.
    fn accept(&mut self, records: libeurali::MemoryChunk) {
        if self.has_rx() {
            let mut v = self.inbox.records()[self.at..].to_vec();
            v.extend_from_slice(records.as_slice());
            self.inbox = Inbox::Copied(v);
        } else {
            self.inbox = Inbox::Chunk(records);
        }
        self.at = 0;
    }

    fn failed(&mut self, e: libeurali::Error) {
        if e.is_transient() {
            // Busy: a tcp killed just before this one started may still be in its last
            // exchange (see [`NIC_BUSY_WAIT`]). The frames to send are lost, as on a wire (TCP
            // sends them again); the next round tries again.
            self.out.clear();
            return;
        }
        say(&format!("/dev/nic failed: {e}; the network is down"));
        self.dead = true;
        self.out.clear();
    }

    /// Sends the frames smoltcp queued, then waits up to `wait` for frames (0: only those
    /// already there) and takes them in for smoltcp. Sending and receiving go in one request
    /// where the device allows: one round trip, rather than one per frame sent and one more.
    pub(crate) fn exchange(&mut self, wait: Duration) {
        if self.dead {
            self.out.clear();
            std::thread::sleep(wait);
            return;
        }
        let wait_us = wait.as_micros().min(u64::MAX as u128) as u64;
        let mut sent = 0;
        while self.exchanges && sent < self.out.len() {
            // As many whole records as one request carries.
            let mut end = sent;
            while let Some((_, next)) = nic::next_record(&self.out, end) {
                if next - sent > nic::MAX_BATCH {
                    break;
                }
                end = next;
            }
            if end == sent {
                // Not a record (TxTok makes none such): what is left is dropped.
                self.out.truncate(sent);
                break;
            }
            // Only the last request waits.
            let us = if end == self.out.len() { wait_us } else { 0 };
            match nic::send_poll_many(&self.h, &self.out[sent..end], self.rx_batch, us) {
                Ok(nic::Received::Records(c)) => self.accept(c),
                Ok(nic::Received::Empty) => {}
                // Nothing of this request was sent: the rest goes the plain way.
                Ok(nic::Received::Unsupported) => {
                    self.exchanges = false;
                    break;
                }
                Err(e) => return self.failed(e),
            }
            sent = end;
            if sent == self.out.len() {
                self.out.clear();
                return;
            }
        }
        // One NIC_SEND per frame; a frame the device refuses is lost, as on a wire.
        for f in nic::frames(&self.out[sent..]) {
            let _ = nic::send(&self.h, f);
        }
        self.out.clear();
        self.fetch(wait_us);
    }

    /// Frames that come within `wait_us` (0: only those already there), taken in for smoltcp.
    fn fetch(&mut self, wait_us: u64) {
        if self.batches {
            match nic::poll_many(&self.h, self.rx_batch, wait_us) {
                Ok(nic::Received::Records(c)) => return self.accept(c),
                Ok(nic::Received::Empty) => return,
                Ok(nic::Received::Unsupported) => self.batches = false,
                Err(e) => return self.failed(e),
            }
        }
        match nic::recv(&self.h, &mut self.buf, Some(wait_us)) {
            Ok(Some(n)) => {
                let mut v = self.inbox.records()[self.at..].to_vec();
                nic::push_record(&mut v, &self.buf[..n], usize::MAX);
                self.inbox = Inbox::Copied(v);
                self.at = 0;
            }
            Ok(None) => {}
            Err(e) => self.failed(e),
        }
    }
}

pub(crate) struct RxTok<'a>(&'a [u8]);
pub(crate) struct TxTok<'a>(&'a mut Vec<u8>);

impl phy::RxToken for RxTok<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxTok<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if !(nic::MIN_FRAME..=nic::MAX_FRAME).contains(&len) {
            // A frame the device would refuse is lost, as on a wire (smoltcp makes none).
            return f(&mut vec![0u8; len]);
        }
        // Appended as a record, sent by the poll thread once it has let go of the lock (see
        // `Nic::exchange`).
        let at = self.0.len();
        self.0.extend_from_slice(&(len as u16).to_le_bytes());
        self.0.resize(at + 2 + len, 0);
        f(&mut self.0[at + 2..])
    }
}

impl Device for Nic {
    type RxToken<'a> = RxTok<'a>;
    type TxToken<'a> = TxTok<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(RxTok<'_>, TxTok<'_>)> {
        let Nic { inbox, at, out, .. } = self;
        let (f, next) = nic::next_record(inbox.records(), *at)?;
        *at = next;
        Some((RxTok(f), TxTok(out)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxTok<'_>> {
        (!self.dead).then_some(TxTok(&mut self.out))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = nic::MAX_FRAME;
        caps
    }
}
