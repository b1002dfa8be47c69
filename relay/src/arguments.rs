//! The rules a call's arguments must meet before the relay hands them to the kernel: address
//! syntax and the relay's size limits. Pure functions, so they are unit-tested here.
//!
//! These checks only catch what the kernel could not even be asked (text that is not an
//! address, a buffer larger than the relay will hold). Anything the kernel can judge, such as a
//! family mismatch or a port in use, goes to the kernel, because its answer is the lesson.

use std::net::{IpAddr, SocketAddr};

use socketlab_shared::SockOpt;

pub(crate) use crate::limits::MAX_IO_BYTES;

const EXAMPLE: &str = "such as 127.0.0.1:8080 or [::1]:8080";

/// Why an address text is not an IP address with a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddressError {
    /// Not an address: the reason, for an `invalid` reply.
    Invalid(String),
    /// A host name with a valid port. Whether a name may be used is the policy's call
    /// (`policy::resolve`: `localhost` only, never looked up).
    Name { host: String, port: u16 },
}

/// Parses an address as the browser typed it: an IP literal and a port, or a name and a port.
pub(crate) fn parse_address(text: &str) -> Result<SocketAddr, AddressError> {
    parse_literal(text).map_err(|reason| match name_and_port(text) {
        Some((host, port)) => AddressError::Name { host, port },
        None => AddressError::Invalid(reason),
    })
}

/// `host:port` where host is a DNS-style name (letters, digits, `-`, `.`) with a letter in it.
fn name_and_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.trim().rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let name_like = !host.is_empty()
        && host.chars().any(|c| c.is_ascii_alphabetic())
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    name_like.then(|| (host.to_owned(), port))
}

fn parse_literal(text: &str) -> Result<SocketAddr, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!(
            "the address is empty: give an IP address and a port, {EXAMPLE}"
        ));
    }
    if let Ok(address) = trimmed.parse::<SocketAddr>() {
        return Ok(address);
    }
    match trimmed.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => {
            return Err(format!("{text:?} is not an address with a port, {EXAMPLE}"));
        }
        // "::1:8080" is itself a valid IPv6 address, so the port may be hiding in it.
        Ok(IpAddr::V6(_)) => {
            return Err(format!(
                "{text:?} is not an address with a port, {EXAMPLE} (an IPv6 address with a port needs brackets)"
            ));
        }
        Err(_) => {}
    }
    if let Some((host, port)) = trimmed.rsplit_once(':') {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().is_ok() {
            return Err(match port.parse::<u64>() {
                Ok(_) => format!("{text:?}: the port must be between 0 and 65535"),
                Err(_) => format!("{text:?}: {port:?} is not a port number (0 to 65535)"),
            });
        }
        if !host.is_empty() && host.chars().any(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "{text:?} names a host, but the relay takes only IP addresses and localhost (it does not look names up): {EXAMPLE}"
            ));
        }
    }
    Err(format!("{text:?} is not an address with a port, {EXAMPLE}"))
}

/// Checks the `max` of a `recv`/`recvfrom` against the relay's limit.
pub(crate) fn check_max(max: u32) -> Result<usize, String> {
    if max == 0 {
        // A reply of no bytes means end of stream (recv) or an empty datagram (recvfrom); a
        // call that asks for none could not be told from those.
        return Err(
            "max 0 asks for no bytes, and a reply of no bytes would read as end of stream: ask for at least 1".into(),
        );
    }
    if max > MAX_IO_BYTES {
        return Err(format!(
            "max {max} is more than the relay receives in one call ({MAX_IO_BYTES} bytes, the largest UDP datagram)"
        ));
    }
    usize::try_from(max).map_err(|_| format!("max {max} does not fit this machine"))
}

/// Checks the bytes of a `send`/`sendto` against the relay's limit.
pub(crate) fn check_payload(len: usize) -> Result<(), String> {
    if len > MAX_IO_BYTES as usize {
        return Err(format!(
            "{len} bytes is more than the relay sends in one call ({MAX_IO_BYTES} bytes)"
        ));
    }
    Ok(())
}

/// Checks a `setsockopt` value: flags are any int (0 is off, anything else on, as in C), sizes
/// must not be negative because the relay hands them over as a size.
pub(crate) fn check_option_value(option: SockOpt, value: i32) -> Result<(), String> {
    if !option.is_flag() && value < 0 {
        return Err(format!(
            "{} is a size in bytes and cannot be negative (got {value})",
            option.c_name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> String {
        match parse_address(text) {
            Err(AddressError::Invalid(reason)) => reason,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn addresses_with_a_port_parse_for_both_families() {
        assert_eq!(
            parse_address("127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_address(" [::1]:0 ").unwrap(),
            "[::1]:0".parse().unwrap()
        );
    }

    #[test]
    fn an_address_without_a_port_says_what_is_missing() {
        assert_eq!(
            invalid("127.0.0.1"),
            r#""127.0.0.1" is not an address with a port, such as 127.0.0.1:8080 or [::1]:8080"#
        );
        assert!(invalid("::1").contains("with a port"));
    }

    #[test]
    fn an_ipv6_address_with_a_bare_port_asks_for_brackets() {
        assert!(invalid("::1:8080").contains("brackets"));
    }

    #[test]
    fn a_port_out_of_range_is_named() {
        assert!(invalid("127.0.0.1:70000").contains("between 0 and 65535"));
        assert!(invalid("127.0.0.1:http").contains("not a port number"));
    }

    #[test]
    fn host_names_with_a_port_are_left_to_the_policy() {
        assert_eq!(
            parse_address(" localhost:8080"),
            Err(AddressError::Name {
                host: "localhost".into(),
                port: 8080
            })
        );
        assert!(matches!(
            parse_address("evil.example.:80"),
            Err(AddressError::Name { .. })
        ));
        // A name with a port that is not one stays an invalid address, with the reason.
        assert!(invalid("example.com:99999").contains("only IP addresses"));
        assert!(invalid("example.com").contains("not an address with a port"));
    }

    #[test]
    fn which_spellings_are_literals_names_or_invalid_as_the_protocol_states() {
        assert!(parse_address("[fe80::1%2]:80").is_ok(), "a scope id");
        assert!(matches!(
            parse_address("0x7f.0.0.1:80"),
            Err(AddressError::Name { .. })
        ));
        assert!(matches!(
            parse_address("LOCALHOST.:80"),
            Err(AddressError::Name { .. })
        ));
        for not_an_address in ["127.1:80", "[::1]", "127.0.0.1:", "1.2.3.4.5:80"] {
            assert!(
                matches!(parse_address(not_an_address), Err(AddressError::Invalid(_))),
                "{not_an_address}"
            );
        }
    }

    #[test]
    fn empty_and_garbage_addresses_get_a_reason() {
        assert!(invalid("").contains("empty"));
        assert!(parse_address("12:34:zz").is_err());
    }

    #[test]
    fn receive_sizes_are_capped_at_64_kib() {
        assert_eq!(check_max(4096), Ok(4096));
        assert_eq!(check_max(1), Ok(1));
        assert!(check_max(0).unwrap_err().contains("at least 1"));
        assert_eq!(check_max(MAX_IO_BYTES), Ok(65536));
        assert!(check_max(MAX_IO_BYTES + 1).unwrap_err().contains("65536"));
        assert!(check_payload(70_000).is_err());
        assert!(check_payload(3).is_ok());
    }

    #[test]
    fn buffer_sizes_cannot_be_negative_but_flags_can_be_anything() {
        assert!(check_option_value(SockOpt::SoRcvbuf, -1).is_err());
        assert!(check_option_value(SockOpt::SoReuseaddr, -1).is_ok());
    }
}
