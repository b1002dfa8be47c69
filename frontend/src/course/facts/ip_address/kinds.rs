//! The kind of an address: the special-purpose ranges of IPv4 and IPv6, each with the RFC
//! that sets it aside, most specific first, and for an IPv4-mapped address also the kind of the
//! IPv4 address inside.

use crate::course::facts::ip_address::{Address, mapped_v4};

/// A special-purpose range an address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// Short name: `loopback`, `private`, ...
    pub(crate) name: &'static str,
    /// The range, as a prefix.
    pub(crate) range: &'static str,
    /// Where it is set aside.
    pub(crate) source: &'static str,
    /// What it means, in a sentence.
    pub(crate) about: &'static str,
}

const fn kind(
    name: &'static str,
    range: &'static str,
    source: &'static str,
    about: &'static str,
) -> Kind {
    Kind {
        name,
        range,
        source,
        about,
    }
}

/// IPv4 ranges: (first address as a number, prefix length, kind), most specific first.
const V4_KINDS: &[(u32, u32, Kind)] = &[
    (
        0x0000_0000,
        32,
        kind(
            "unspecified",
            "0.0.0.0/32",
            "RFC 1122 3.2.1.3",
            "\"No address\": bind() to it means every address of this machine; it is never a destination.",
        ),
    ),
    (
        0xffff_ffff,
        32,
        kind(
            "broadcast",
            "255.255.255.255/32",
            "RFC 919",
            "Limited broadcast: every host on this link; routers never forward it.",
        ),
    ),
    (
        0x7f00_0000,
        8,
        kind(
            "loopback",
            "127.0.0.0/8",
            "RFC 1122 3.2.1.3",
            "This machine itself: packets never leave it (the lo interface).",
        ),
    ),
    (
        0x0a00_0000,
        8,
        kind(
            "private",
            "10.0.0.0/8",
            "RFC 1918",
            "Private network: free for anyone to use inside a network, never routed on the Internet.",
        ),
    ),
    (
        0xac10_0000,
        12,
        kind(
            "private",
            "172.16.0.0/12",
            "RFC 1918",
            "Private network: free for anyone to use inside a network, never routed on the Internet.",
        ),
    ),
    (
        0xc0a8_0000,
        16,
        kind(
            "private",
            "192.168.0.0/16",
            "RFC 1918",
            "Private network: free for anyone to use inside a network, never routed on the Internet.",
        ),
    ),
    (
        0x6440_0000,
        10,
        kind(
            "shared",
            "100.64.0.0/10",
            "RFC 6598",
            "Shared address space for carrier-grade NAT, between an ISP and its customers' routers.",
        ),
    ),
    (
        0xa9fe_0000,
        16,
        kind(
            "link-local",
            "169.254.0.0/16",
            "RFC 3927",
            "Link-local: picked by a host itself when no DHCP server answers; valid on one link only.",
        ),
    ),
    (
        0xc000_0200,
        24,
        kind(
            "documentation",
            "192.0.2.0/24",
            "RFC 5737",
            "TEST-NET-1, for examples in documentation: never used on a real network.",
        ),
    ),
    (
        0xc633_6400,
        24,
        kind(
            "documentation",
            "198.51.100.0/24",
            "RFC 5737",
            "TEST-NET-2, for examples in documentation: never used on a real network.",
        ),
    ),
    (
        0xcb00_7100,
        24,
        kind(
            "documentation",
            "203.0.113.0/24",
            "RFC 5737",
            "TEST-NET-3, for examples in documentation: never used on a real network.",
        ),
    ),
    (
        0xc000_0000,
        24,
        kind(
            "protocol assignments",
            "192.0.0.0/24",
            "RFC 6890",
            "Set aside for IETF protocol assignments.",
        ),
    ),
    (
        0xc612_0000,
        15,
        kind(
            "benchmarking",
            "198.18.0.0/15",
            "RFC 2544",
            "For testing network equipment in a lab.",
        ),
    ),
    (
        0xe000_0000,
        4,
        kind(
            "multicast",
            "224.0.0.0/4",
            "RFC 5771",
            "Multicast: a group address; a packet sent to it reaches every member of the group.",
        ),
    ),
    (
        0xf000_0000,
        4,
        kind(
            "reserved",
            "240.0.0.0/4",
            "RFC 1112",
            "Reserved for future use: most systems refuse to use it.",
        ),
    ),
    (
        0x0000_0000,
        8,
        kind(
            "this network",
            "0.0.0.0/8",
            "RFC 1122 3.2.1.3",
            "\"This network\": only valid as a source while a host learns its own address.",
        ),
    ),
];

const V4_PUBLIC: Kind = kind(
    "public",
    "any other",
    "IANA, through the regional registries",
    "In no special-purpose range: an ordinary public (globally routable) address.",
);

/// The kind of an IPv4 address.
pub(crate) fn kind_v4(octets: &[u8; 4]) -> Kind {
    let value = u32::from_be_bytes(*octets);
    V4_KINDS
        .iter()
        .find(|(first, len, _)| value & mask32(*len) == *first)
        .map(|(_, _, kind)| *kind)
        .unwrap_or(V4_PUBLIC)
}

fn mask32(len: u32) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

/// IPv6 ranges: (prefix as a number, prefix length, kind), most specific first.
const V6_KINDS: &[(u128, u32, Kind)] = &[
    (
        0,
        128,
        kind(
            "unspecified",
            "::/128",
            "RFC 4291 2.5.2",
            "\"No address\": bind() to it means every address of this machine; it is never a destination.",
        ),
    ),
    (
        1,
        128,
        kind(
            "loopback",
            "::1/128",
            "RFC 4291 2.5.3",
            "This machine itself, like 127.0.0.1 in IPv4. IPv6 has one loopback address, not a whole range.",
        ),
    ),
    (
        0xffff_0000_0000,
        96,
        kind(
            "IPv4-mapped",
            "::ffff:0:0/96",
            "RFC 4291 2.5.5.2",
            "An IPv4 address in IPv6 clothes: how an IPv6 socket (with IPV6_V6ONLY off) sees an IPv4 peer. It never travels in an IPv6 packet.",
        ),
    ),
    (
        0x0064_ff9b << 96,
        96,
        kind(
            "NAT64",
            "64:ff9b::/96",
            "RFC 6052",
            "An IPv4 address reached through a NAT64 translator from an IPv6-only network.",
        ),
    ),
    (
        0x2001_0db8 << 96,
        32,
        kind(
            "documentation",
            "2001:db8::/32",
            "RFC 3849",
            "For examples in documentation: never used on a real network.",
        ),
    ),
    (
        0xfe80 << 112,
        10,
        kind(
            "link-local",
            "fe80::/10",
            "RFC 4291 2.5.6",
            "Link-local: every IPv6 interface has one; valid on one link only (so it needs a zone, %eth0, to be used).",
        ),
    ),
    (
        0xfc00 << 112,
        7,
        kind(
            "unique local",
            "fc00::/7",
            "RFC 4193",
            "Unique local: IPv6's private addresses, for use inside a site, never routed on the Internet.",
        ),
    ),
    (
        0xff00 << 112,
        8,
        kind(
            "multicast",
            "ff00::/8",
            "RFC 4291 2.7",
            "Multicast: a group address (IPv6 has no broadcast; multicast does that job).",
        ),
    ),
    (
        0x2000 << 112,
        3,
        kind(
            "global unicast",
            "2000::/3",
            "RFC 4291 2.4, IANA",
            "Global unicast: an ordinary public IPv6 address, routed on the Internet.",
        ),
    ),
    (
        0,
        96,
        kind(
            "IPv4-compatible",
            "::/96",
            "RFC 4291 2.5.5.1",
            "The old IPv4-compatible form, deprecated: no longer used.",
        ),
    ),
];

const V6_OTHER: Kind = kind(
    "reserved",
    "any other",
    "RFC 4291 2.4, IANA",
    "Not assigned for use yet (IANA's IPv6 address space registry).",
);

/// The kind of an IPv6 address.
pub(crate) fn kind_v6(groups: &[u16; 8]) -> Kind {
    let value = groups
        .iter()
        .fold(0u128, |acc, g| acc << 16 | u128::from(*g));
    V6_KINDS
        .iter()
        .find(|(first, len, _)| value & mask128(*len) == *first)
        .map(|(_, _, kind)| *kind)
        .unwrap_or(V6_OTHER)
}

fn mask128(len: u32) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

/// The kinds of an address: its own, and for an IPv4-mapped one also its IPv4 address's.
pub(crate) fn kinds(address: &Address) -> Vec<Kind> {
    match address {
        Address::V4(octets) => vec![kind_v4(octets)],
        Address::V6(groups) => {
            let mut out = vec![kind_v6(groups)];
            if let Some(v4) = mapped_v4(groups) {
                out.push(kind_v4(&v4));
            }
            out
        }
    }
}
