//! Why a lookup failed, which smoltcp's DNS socket does not say: it reports every failure alike
//! (a name that does not exist, a name server that refused or failed, one that never answered).
//! The stack's device is watched on its way into smoltcp ([`Watched`]): each DNS answer's code
//! is noted by the name it answers (smoltcp's wire views parse it), and a failed lookup asks
//! [`Answers::why`]. The same watch notes who answered ARP ([`Neighbors`]), which smoltcp does
//! not say either: a connection whose next hop never did is "host unreachable", not a timeout.
//! Nothing here changes a frame.

use std::collections::BTreeMap;

use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpPacket, ArpRepr, DnsPacket, DnsQuestion, DnsRcode, EthernetFrame, EthernetProtocol,
    IpProtocol, Ipv4Address, Ipv4Packet, UdpPacket,
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

/// When each address last spoke ARP on the link (a few: the gateway and the link's peers).
#[derive(Default)]
pub(crate) struct Neighbors(BTreeMap<Ipv4Address, Instant>);

/// How many addresses are kept (the oldest goes first).
const NEIGHBORS_KEPT: usize = 64;

impl Neighbors {
    /// When `ip` last sent an ARP request or reply, if it did lately.
    pub(crate) fn heard(&self, ip: Ipv4Address) -> Option<Instant> {
        self.0.get(&ip).copied()
    }

    fn note(&mut self, frame: &[u8], now: Instant) {
        let Some(ip) = arp_sender(frame) else {
            return;
        };
        if self.0.len() >= NEIGHBORS_KEPT
            && !self.0.contains_key(&ip)
            && let Some(oldest) = self.0.iter().min_by_key(|(_, t)| **t).map(|(a, _)| *a)
        {
            self.0.remove(&oldest);
        }
        self.0.insert(ip, now);
    }
}

/// The sender's address of an ARP packet (request or reply) in an Ethernet frame.
fn arp_sender(frame: &[u8]) -> Option<Ipv4Address> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Arp {
        return None;
    }
    let arp = ArpPacket::new_checked(eth.payload()).ok()?;
    match ArpRepr::parse(&arp).ok()? {
        ArpRepr::EthernetIpv4 {
            source_protocol_addr,
            ..
        } if !source_protocol_addr.is_unspecified() => Some(source_protocol_addr),
        _ => None,
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
    pub(crate) neighbors: &'a mut Neighbors,
    pub(crate) now: Instant,
}

/// A received frame, noted when smoltcp takes it.
pub(crate) struct WatchedRx<'a, R> {
    rx: R,
    answers: &'a mut Answers,
    neighbors: &'a mut Neighbors,
    now: Instant,
}

impl<R: phy::RxToken> phy::RxToken for WatchedRx<'_, R> {
    fn consume<T, F: FnOnce(&[u8]) -> T>(self, f: F) -> T {
        let (answers, neighbors, now) = (self.answers, self.neighbors, self.now);
        self.rx.consume(|frame| {
            answers.note(frame);
            neighbors.note(frame, now);
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
        let Watched {
            dev,
            answers,
            neighbors,
            now,
        } = self;
        let (rx, tx) = dev.receive(t)?;
        Some((
            WatchedRx {
                rx,
                answers,
                neighbors,
                now: *now,
            },
            tx,
        ))
    }

    fn transmit(&mut self, t: Instant) -> Option<Self::TxToken<'_>> {
        self.dev.transmit(t)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.dev.capabilities()
    }
}
