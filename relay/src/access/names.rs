//! The names in Host and Origin headers, parsed and normalised: IP literals (IPv6 in
//! brackets), host names (lowercase, without the trailing dot of `localhost.`), ports.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A host as the allowlists compare it: an IP literal or a normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHost {
    Ip(IpAddr),
    /// Lowercase, without a trailing dot.
    Name(String),
}

impl AllowedHost {
    /// A `--allow-host` value: a name, or an IP literal (IPv6 with or without brackets).
    pub fn parse(value: &str) -> Result<AllowedHost, String> {
        let bare = value.trim();
        let bare = bare
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(bare);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(AllowedHost::Ip(ip));
        }
        name(bare).ok_or_else(|| {
            format!("{value:?} is not a host name (letters, digits, '-' and '.') or an IP address")
        })
    }

    /// Loopback, always allowed: 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z), `localhost`.
    pub(crate) fn is_loopback(&self) -> bool {
        match self {
            AllowedHost::Ip(IpAddr::V4(ip)) => ip.is_loopback(),
            AllowedHost::Ip(IpAddr::V6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            AllowedHost::Name(name) => name == "localhost",
        }
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            AllowedHost::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            AllowedHost::Name(name) => f.write_str(name),
        }
    }
}

/// A host name: labels of letters, digits, `-` and `_`, lowercased, one trailing dot dropped.
fn name(value: &str) -> Option<AllowedHost> {
    let value = value.strip_suffix('.').unwrap_or(value);
    let valid = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    valid.then(|| AllowedHost::Name(value.to_ascii_lowercase()))
}

/// `host[:port]` as in a Host header or an origin's authority: `127.0.0.1:7878`,
/// `[::1]:7878`, `localhost.`, `Example.COM:80`. `None` for anything else (an unbracketed
/// IPv6 address, user info, a path, an empty or non-numeric port).
pub(crate) fn host_and_port(value: &str) -> Option<(AllowedHost, Option<u16>)> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = inside.parse().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (AllowedHost::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        };
        let host = match host.parse::<Ipv4Addr>() {
            Ok(ip) => AllowedHost::Ip(IpAddr::V4(ip)),
            Err(_) => name(host)?,
        };
        (host, port)
    };
    let port = match port {
        None => None,
        Some(digits) => {
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some(digits.parse::<u16>().ok()?)
        }
    };
    Some((host, port))
}

/// The host of a Host header value, ignoring its port.
pub(crate) fn host_of(value: &str) -> Option<AllowedHost> {
    host_and_port(value).map(|(host, _)| host)
}

/// A web origin, normalised as browsers serialise it: `http://127.0.0.1:8080`,
/// `http://localhost:7878`, `https://example.org` (default port left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    /// An origin from an `Origin` header or an `--allow-origin` value (a trailing `/` is
    /// forgiven). `null` is never an origin that can be allowed.
    pub fn parse(value: &str) -> Result<Origin, String> {
        let trimmed = value.trim();
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.eq_ignore_ascii_case("null") {
            return Err(
                "`null` is the origin of sandboxed frames and local files; it is never allowed"
                    .into(),
            );
        }
        let bad = || format!("{value:?} is not an origin like http://127.0.0.1:8080");
        let (scheme, authority) = trimmed.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(format!("{value:?}: only http and https origins exist here")),
        };
        let (host, port) = host_and_port(authority).ok_or_else(bad)?;
        Ok(Origin::new(&scheme, &host, port.unwrap_or(default_port)))
    }

    fn new(scheme: &str, host: &AllowedHost, port: u16) -> Origin {
        let default = matches!((scheme, port), ("http", 80) | ("https", 443));
        if default {
            Origin(format!("{scheme}://{host}"))
        } else {
            Origin(format!("{scheme}://{host}:{port}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The relay's own origins for its listen address `local`: the address itself (loopback
/// 127.0.0.1 / ::1 for a wildcard) and `localhost`, with the relay's port.
pub(crate) fn own_origins(local: SocketAddr) -> Vec<Origin> {
    let port = local.port();
    let ip = local.ip();
    let mut hosts = Vec::new();
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => hosts.push(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(v6) if v6.is_unspecified() => {
            hosts.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
            hosts.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
        }
        ip => hosts.push(ip),
    }
    let mut origins: Vec<Origin> = hosts
        .into_iter()
        .map(|ip| Origin::new("http", &AllowedHost::Ip(ip), port))
        .collect();
    if ip.is_loopback() || ip.is_unspecified() {
        origins.push(Origin::new(
            "http",
            &AllowedHost::Name("localhost".into()),
            port,
        ));
    }
    origins
}
