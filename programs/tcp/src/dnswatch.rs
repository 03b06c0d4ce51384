//! Why a lookup failed, which smoltcp's DNS socket does not say: it reports every failure alike
//! (a name that does not exist, a name server that refused or failed, one that never answered).
//! The stack's device is watched on its way into smoltcp ([`Watched`]): each DNS answer's code
//! is noted by the name it answers (smoltcp's wire views parse it), and a failed lookup asks
//! [`Answers::why`]. Nothing here changes a frame.

use std::collections::BTreeMap;

use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::time::Instant;
use smoltcp::wire::{
    DnsPacket, DnsQuestion, DnsRcode, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet,
    UdpPacket,
};

use libeurali::proto::net::NetError;

/// The answer codes last seen, by lower-case name without a final dot (a few: lookups are
/// asked one at a time per name and answered within seconds).
#[derive(Default)]
pub(crate) struct Answers(BTreeMap<String, DnsRcode>);

/// How many names' codes are kept.
const KEPT: usize = 16;

impl Answers {
    /// What a failed lookup of `name` means, from the last answer seen for it (taken).
    pub(crate) fn why(&mut self, name: &str) -> NetError {
        match self.0.remove(name) {
            // No such name, or a name without an address.
            Some(DnsRcode::NXDomain) | Some(DnsRcode::NoError) => NetError::NameNotFound,
            Some(_) => NetError::NameServerRefused,
            None => NetError::NameServerSilent,
        }
    }

    fn note(&mut self, frame: &[u8]) {
        let Some((name, code)) = dns_answer(frame) else {
            return;
        };
        if self.0.len() >= KEPT && !self.0.contains_key(&name) {
            self.0.pop_first();
        }
        self.0.insert(name, code);
    }
}

/// The name and code of a DNS answer (UDP from port 53) in an Ethernet frame.
fn dns_answer(frame: &[u8]) -> Option<(String, DnsRcode)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if udp.src_port() != 53 {
        return None;
    }
    let dns = DnsPacket::new_checked(udp.payload()).ok()?;
    let (_, q) = DnsQuestion::parse(dns.payload()).ok()?;
    let mut name = String::new();
    for label in dns.parse_name(q.name) {
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&String::from_utf8_lossy(label.ok()?).to_ascii_lowercase());
    }
    Some((name, dns.rcode()))
}

/// A device whose received frames are noted in `answers` on their way to smoltcp.
pub(crate) struct Watched<'a, D: ?Sized> {
    pub(crate) dev: &'a mut D,
    pub(crate) answers: &'a mut Answers,
}

/// A received frame, noted when smoltcp takes it.
pub(crate) struct WatchedRx<'a, R> {
    rx: R,
    answers: &'a mut Answers,
}

impl<R: phy::RxToken> phy::RxToken for WatchedRx<'_, R> {
    fn consume<T, F: FnOnce(&[u8]) -> T>(self, f: F) -> T {
        let answers = self.answers;
        self.rx.consume(|frame| {
            answers.note(frame);
            f(frame)
        })
    }
}

impl<D: Device + ?Sized> Device for Watched<'_, D> {
    type RxToken<'b>
        = WatchedRx<'b, D::RxToken<'b>>
    where
        Self: 'b;
    type TxToken<'b>
        = D::TxToken<'b>
    where
        Self: 'b;

    fn receive(&mut self, t: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let Watched { dev, answers } = self;
        let (rx, tx) = dev.receive(t)?;
        Some((WatchedRx { rx, answers }, tx))
    }

    fn transmit(&mut self, t: Instant) -> Option<Self::TxToken<'_>> {
        self.dev.transmit(t)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.dev.capabilities()
    }
}
