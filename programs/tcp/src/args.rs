//! The command line (see the crate doc).

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

/// The configuration from the command line.
#[derive(Debug, Default, PartialEq)]
pub struct Settings {
    pub address: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Address>,
    pub dns: Vec<Ipv4Address>,
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
    }
}
