//! The command line (see the crate doc).

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// The configuration from the command line.
#[derive(Debug, Default, PartialEq)]
pub struct Settings {
    pub address: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Address>,
    pub dns: Vec<Ipv4Address>,
    /// The hardware address to use instead of the device's (`--mac`): two systems whose
    /// devices share a MAC (the stub's TAP device has one fixed address) on one link.
    pub mac: Option<[u8; 6]>,
}

/// Parses the arguments (see the crate doc).
pub fn parse_args(args: &[String]) -> Result<Settings, String> {
    let mut s = Settings::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs {what}"))
        };
        match a.as_str() {
            "--static" => {
                let v = value("ADDR/PREFIX")?;
                let (ip, len) = v
                    .split_once('/')
                    .ok_or_else(|| format!("--static {v}: expected ADDR/PREFIX"))?;
                let ip: Ipv4Address = ip.parse().map_err(|_| format!("bad address {ip:?}"))?;
                let len: u8 = len
                    .parse()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(|| format!("bad prefix length {len:?}"))?;
                s.address = Some(Ipv4Cidr::new(ip, len));
            }
            "--gateway" => {
                let v = value("IP")?;
                s.gateway = Some(v.parse().map_err(|_| format!("bad gateway {v:?}"))?);
            }
            "--dns" => {
                let v = value("IP")?;
                s.dns
                    .push(v.parse().map_err(|_| format!("bad DNS server {v:?}"))?);
            }
            "--mac" => {
                let v = value("MAC")?;
                let mac: EthernetAddress = v
                    .parse()
                    .map_err(|_| format!("bad MAC address {v:?} (expected 02:00:00:00:00:01)"))?;
                if !mac.is_unicast() {
                    return Err(format!("--mac {v}: not a unicast address"));
                }
                s.mac = Some(mac.0);
            }
            "dhcp" | "--dhcp" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if s.address.is_none() && (s.gateway.is_some()) {
        return Err("--gateway needs --static".into());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_args(&[]).unwrap(), Settings::default());
        let s = parse_args(&args(
            "--static 10.7.0.2/24 --gateway 10.7.0.1 --dns 10.7.0.1",
        ))
        .unwrap();
        assert_eq!(
            s.address,
            Some(Ipv4Cidr::new(Ipv4Address::new(10, 7, 0, 2), 24))
        );
        assert_eq!(s.gateway, Some(Ipv4Address::new(10, 7, 0, 1)));
        assert_eq!(s.dns, vec![Ipv4Address::new(10, 7, 0, 1)]);
        assert!(parse_args(&args("--static 10.7.0.2")).is_err());
        assert!(parse_args(&args("--static 10.7.0.2/33")).is_err());
        assert!(parse_args(&args("--gateway 1.2.3.4")).is_err());
        assert!(parse_args(&args("--bogus")).is_err());
        let s = parse_args(&args("--mac 02:45:55:52:41:02")).unwrap();
        assert_eq!(s.mac, Some([0x02, 0x45, 0x55, 0x52, 0x41, 0x02]));
        assert!(parse_args(&args("--mac 02:45:55:52:41")).is_err());
        assert!(parse_args(&args("--mac zz:45:55:52:41:02")).is_err());
        // Multicast and broadcast addresses are not an interface's.
        assert!(parse_args(&args("--mac 01:00:5e:00:00:01")).is_err());
        assert!(parse_args(&args("--mac ff:ff:ff:ff:ff:ff")).is_err());
        assert!(parse_args(&args("--mac")).is_err());
    }
}
