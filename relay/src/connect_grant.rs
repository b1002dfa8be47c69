//! `--allow-connect CIDR[:PORTS]`: one grant of more destinations for connect and sendto, and
//! its parser (std only, unit-tested here).
//!
//! Accepted spellings: `10.0.0.0/8`, `10.0.0.0/8:80`, `192.168.1.5` (a /32),
//! `192.168.1.5:8000-8100`, `10.1.2.3/32:80,443`, `[2001:db8::/32]:80`, `[2001:db8::1]`,
//! `2001:db8::/32` and `2001:db8::/32:80` (the prefix ends the address, so the colon before the
//! ports is not ambiguous). Without ports a grant covers every port. Host bits below the prefix
//! are ignored (`10.1.2.3/8` is `10.0.0.0/8`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Destinations an instructor opened: a network and, optionally, which ports on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectGrant {
    network: IpAddr,
    prefix: u8,
    /// `None` is every port.
    ports: Option<Vec<RangeInclusive<u16>>>,
}

impl ConnectGrant {
    /// Whether `address` (already normalised: IPv4-mapped IPv6 as IPv4) is in this grant.
    pub(crate) fn covers(&self, address: SocketAddr) -> bool {
        let in_network = match (self.network, address.ip()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(u128::from(u32::from(ip)), self.prefix, 32) == u128::from(u32::from(net))
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(u128::from(ip), self.prefix, 128) == u128::from(net)
            }
            _ => false,
        };
        in_network
            && self
                .ports
                .as_ref()
                .is_none_or(|ports| ports.iter().any(|r| r.contains(&address.port())))
    }

    /// Whether the grant lists its ports (rather than covering every port).
    pub(crate) fn names_ports(&self) -> bool {
        self.ports.is_some()
    }
}

impl fmt::Display for ConnectGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.network {
            IpAddr::V4(net) => write!(f, "{net}/{}", self.prefix)?,
            IpAddr::V6(net) => write!(f, "[{net}/{}]", self.prefix)?,
        }
        if let Some(ports) = &self.ports {
            let list: Vec<String> = ports
                .iter()
                .map(|r| {
                    if r.start() == r.end() {
                        r.start().to_string()
                    } else {
                        format!("{}-{}", r.start(), r.end())
                    }
                })
                .collect();
            write!(f, ":{}", list.join(","))?;
        }
        Ok(())
    }
}

impl FromStr for ConnectGrant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}

/// Keeps the top `prefix` bits of a `width`-bit address.
fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let keep = u32::from(width - prefix.min(width));
    (bits >> keep) << keep
}

const SHAPE: &str = "expected CIDR[:PORTS], such as 10.0.0.0/8, 192.168.1.5:80, 10.0.0.0/24:8000-8100 or [2001:db8::/32]:80,443";

pub(crate) fn parse(text: &str) -> Result<ConnectGrant, String> {
    let text = text.trim();
    let (cidr, ports) = split(text).ok_or_else(|| format!("{text:?}: {SHAPE}"))?;
    let (address, prefix) = match cidr.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (cidr, None),
    };
    let network: IpAddr = address
        .parse()
        .map_err(|_| format!("{text:?}: {address:?} is not an IP address; {SHAPE}"))?;
    let width: u8 = if network.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(prefix) => prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= width)
            .ok_or_else(|| {
                format!("{text:?}: the prefix length must be a number from 0 to {width}")
            })?,
    };
    let network = match network {
        IpAddr::V4(ip) => {
            let bits = mask(u128::from(u32::from(ip)), prefix, 32);
            IpAddr::V4(u32::try_from(bits).unwrap_or(0).into())
        }
        IpAddr::V6(ip) => IpAddr::V6(mask(u128::from(ip), prefix, 128).into()),
    };
    let ports = ports
        .map(|ports| parse_ports(ports).map_err(|e| format!("{text:?}: {e}")))
        .transpose()?;
    Ok(ConnectGrant {
        network,
        prefix,
        ports,
    })
}

/// Splits `text` into the CIDR and the optional ports.
fn split(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (cidr, after) = rest.split_once(']')?;
        return match after {
            "" => Some((cidr, None)),
            _ => Some((cidr, Some(after.strip_prefix(':')?))),
        };
    }
    if text.is_empty() {
        return None;
    }
    if let Some(slash) = text.find('/') {
        // The prefix is digits, so a colon after it can only start the ports.
        return Some(match text[slash..].find(':') {
            Some(colon) => (&text[..slash + colon], Some(&text[slash + colon + 1..])),
            None => (text, None),
        });
    }
    if text.parse::<IpAddr>().is_ok() {
        return Some((text, None));
    }
    // A plain IPv4 address with ports (an IPv6 one needs brackets to carry ports).
    let (address, ports) = text.rsplit_once(':')?;
    Some((address, Some(ports)))
}

fn parse_ports(text: &str) -> Result<Vec<RangeInclusive<u16>>, String> {
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port number (0 to 65535)"))
    };
    text.split(',')
        .map(|part| match part.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (port(low)?, port(high)?);
                if low > high {
                    return Err(format!("the port range {part:?} runs backwards"));
                }
                Ok(low..=high)
            }
            None => port(part).map(|p| p..=p),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(text: &str) -> ConnectGrant {
        text.parse().unwrap()
    }

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_network_without_ports_covers_every_port_in_it() {
        let g = grant("10.0.0.0/8");
        assert!(g.covers(at("10.1.2.3:80")));
        assert!(g.covers(at("10.255.255.255:65535")));
        assert!(!g.covers(at("11.0.0.1:80")));
        assert!(!g.names_ports());
        assert_eq!(g.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn a_bare_address_is_a_single_host() {
        let g = grant("192.168.1.5:80");
        assert!(g.covers(at("192.168.1.5:80")));
        assert!(!g.covers(at("192.168.1.5:81")));
        assert!(!g.covers(at("192.168.1.6:80")));
        assert!(g.names_ports());
        assert!(grant("192.168.1.5").covers(at("192.168.1.5:1")));
    }

    #[test]
    fn ports_can_be_lists_and_ranges() {
        let g = grant("10.1.2.3/32:80,443,8000-8100");
        assert!(g.covers(at("10.1.2.3:443")));
        assert!(g.covers(at("10.1.2.3:8050")));
        assert!(!g.covers(at("10.1.2.3:8101")));
        assert_eq!(g.to_string(), "10.1.2.3/32:80,443,8000-8100");
    }

    #[test]
    fn ipv6_grants_take_brackets_or_a_prefix() {
        let g = grant("[2001:db8::/32]:80");
        assert!(g.covers(at("[2001:db8:1::5]:80")));
        assert!(!g.covers(at("[2001:db9::5]:80")));
        assert!(!g.covers(at("10.0.0.1:80")), "families never mix");
        assert_eq!(grant("2001:db8::/32:80"), g);
        assert!(grant("2001:db8::/32").covers(at("[2001:db8::1]:9")));
        assert!(grant("[::1]").covers(at("[::1]:9")));
        assert!(!grant("[::1]").covers(at("[::2]:9")));
    }

    #[test]
    fn host_bits_are_masked_and_prefix_zero_covers_everything() {
        assert_eq!(grant("10.1.2.3/8"), grant("10.0.0.0/8"));
        assert!(grant("0.0.0.0/0").covers(at("93.184.216.34:443")));
        assert!(!grant("0.0.0.0/0").covers(at("[::1]:443")));
    }

    #[test]
    fn malformed_grants_say_what_is_wrong() {
        for (text, needle) in [
            ("", "CIDR[:PORTS]"),
            ("example.com", "CIDR[:PORTS]"),
            ("example.com:80", "not an IP address"),
            ("10.0.0.0/33", "0 to 32"),
            ("[::1]/129", "CIDR[:PORTS]"),
            ("[::/129]", "0 to 128"),
            ("10.0.0.1:99999", "not a port number"),
            ("10.0.0.1:90-80", "backwards"),
            ("10.0.0.1:", "not a port number"),
            ("[::1]80", "CIDR[:PORTS]"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
