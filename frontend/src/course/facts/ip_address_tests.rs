//! Lesson 16's address rules against their sources: RFC 5952's canonical forms on the RFC's own
//! examples (sections 2, 4 and 5), a cross-check of the by-hand rules against the standard library
//! (whose `Ipv6Addr` `Display` follows RFC 5952) on all 256 patterns of zero groups and on 5000
//! random addresses, the parser against the standard library's on the forms people type, errors in
//! words, and the special-purpose ranges with their RFCs.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::course::facts::ip_address::{
    Address, canonical, canonical_problems, canonical_steps, expanded, kinds, parse, parse_v6,
    v4_binary, v4_number,
};

fn canon(text: &str) -> String {
    match parse(text) {
        Ok(Address::V6(groups)) => canonical(&groups),
        other => panic!("{text} should parse as IPv6: {other:?}"),
    }
}

#[test]
fn rfc_5952_section_4_rules_give_the_rfcs_canonical_forms() {
    // 4.1: leading zeros MUST be suppressed; a 16-bit 0 field is written 0.
    assert_eq!(canon("2001:0db8::0001"), "2001:db8::1");
    assert_eq!(canon("2001:db8:0000:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
    // 4.2.1: :: MUST be used to its maximum capability (the whole run).
    assert_eq!(canon("2001:db8:0:0:0:0:2:1"), "2001:db8::2:1");
    assert_eq!(canon("2001:db8::0:1"), "2001:db8::1");
    // 4.2.2: :: MUST NOT be used to shorten just one 16-bit 0 field.
    assert_eq!(canon("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
    assert_eq!(canon("2001:db8::1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
    // 4.2.3: the longest run is shortened; of equal runs, the first.
    assert_eq!(canon("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
    assert_eq!(canon("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
    // 4.3: lowercase.
    assert_eq!(canon("2001:DB8::ABCD"), "2001:db8::abcd");
    // Section 5: an IPv4-mapped address ends in dotted decimal.
    assert_eq!(canon("::ffff:c000:0201"), "::ffff:192.0.2.1");
    assert_eq!(canon("0:0:0:0:0:FFFF:192.0.2.1"), "::ffff:192.0.2.1");
}

#[test]
fn rfc_5952_section_2_variants_all_become_one_text() {
    // Section 2: one address, many ways to write it; all are the same 128 bits.
    for text in [
        "2001:db8:0:0:1:0:0:1",
        "2001:0db8:0:0:1:0:0:1",
        "2001:db8::1:0:0:1",
        "2001:db8::0:1:0:0:1",
        "2001:0db8::1:0:0:1",
        "2001:db8:0:0:1::1",
        "2001:db8:0000:0:1::1",
        "2001:DB8:0:0:1::1",
    ] {
        assert_eq!(canon(text), "2001:db8::1:0:0:1", "{text}");
    }
    // 2.1: leading zeros.
    for text in [
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:001",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:01",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1",
    ] {
        assert_eq!(canon(text), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", "{text}");
    }
    // 2.2: zero compression, including :: for one group (valid input, not canonical).
    assert_eq!(
        canon("2001:db8:aaaa:bbbb:cccc:dddd::1"),
        "2001:db8:aaaa:bbbb:cccc:dddd:0:1"
    );
    for text in [
        "2001:db8:0:0:0::1",
        "2001:db8:0:0::1",
        "2001:db8:0::1",
        "2001:db8::1",
    ] {
        assert_eq!(canon(text), "2001:db8::1", "{text}");
    }
    assert_eq!(canon("2001:db8::aaaa:0:0:1"), "2001:db8::aaaa:0:0:1");
    assert_eq!(canon("2001:db8:0:0:aaaa::1"), "2001:db8::aaaa:0:0:1");
    // 2.3: case.
    for text in [
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:AAAA",
        "2001:db8:aaaa:bbbb:cccc:dddd:eeee:AaAa",
    ] {
        assert_eq!(
            canon(text),
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
            "{text}"
        );
    }
}

#[test]
fn the_hand_rules_agree_with_std_on_every_pattern_of_zero_groups() {
    // Every one of the 256 ways eight groups can be zero or not, with several non-zero
    // values (0xffff makes IPv4-mapped addresses appear, 0x0a00 leading zeros).
    for value in [1u16, 0x0a00, 0xabcd, 0xffff] {
        for pattern in 0u32..256 {
            let mut groups = [0u16; 8];
            for (i, group) in groups.iter_mut().enumerate() {
                if pattern & (1 << i) != 0 {
                    *group = value.wrapping_add(i as u16);
                }
            }
            let std = Ipv6Addr::from(groups).to_string();
            assert_eq!(canonical(&groups), std, "groups {groups:x?}");
            // The text reads back as the same address, by our parser and by std's.
            assert_eq!(parse_v6(&std), Ok(groups), "{std}");
            assert_eq!(parse_v6(&expanded(&groups)), Ok(groups));
            let steps = canonical_steps(&groups, &std);
            assert_eq!(steps.len(), 4);
            assert_eq!(steps[3].result, std);
        }
    }
    // And on many scattered addresses (xorshift, seeded).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..5000 {
        let mut groups = [0u16; 8];
        for group in &mut groups {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Zero half of the time, so runs of zeros are common.
            *group = if x & 1 == 0 { 0 } else { (x >> 8) as u16 };
        }
        assert_eq!(canonical(&groups), Ipv6Addr::from(groups).to_string());
    }
}

#[test]
fn the_forms_people_type_parse_as_std_reads_them() {
    for text in [
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "FE80::1",
        "fe80:0000:0000:0000:0000:0000:0000:0001",
        "2001:DB8:0:0:8:800:200C:417A",
        "::ffff:192.0.2.1",
        "::FFFF:127.0.0.1",
        "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:1.2.3.4",
        "0:0:0:0:0:0:0:0",
    ] {
        let ours = parse_v6(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let std: Ipv6Addr = text.parse().expect("std reads it");
        assert_eq!(Ipv6Addr::from(ours), std, "{text}");
    }
    for text in ["127.0.0.1", "0.0.0.0", "255.255.255.255", "192.0.2.1"] {
        let Ok(Address::V4(ours)) = parse(text) else {
            panic!("{text} should parse as IPv4")
        };
        assert_eq!(Ipv4Addr::from(ours), text.parse::<Ipv4Addr>().expect("std"));
    }
}

/// The error for `text`, which must not parse (and std must refuse it too).
fn refused(text: &str) -> String {
    assert!(
        text.parse::<std::net::IpAddr>().is_err(),
        "std reads {text}, so it is no error case"
    );
    parse(text).expect_err(text)
}

#[test]
fn invalid_input_is_refused_with_what_is_wrong_in_words() {
    let e = refused("2001:db8::1::1");
    assert!(e.contains("only once"), "{e}");
    let e = refused("1:2:3:4:5:6:7:8:9");
    assert!(e.contains("9 groups") && e.contains("eight"), "{e}");
    let e = refused("2001:db8::10000");
    assert!(e.contains("5 hex digits") && e.contains("ffff"), "{e}");
    let e = refused("192.168.1.256");
    assert!(e.contains("256") && e.contains("255"), "{e}");
    let e = refused("01.2.3.4");
    assert!(e.contains("leading zero") && e.contains("octal"), "{e}");
    let e = refused("1.2.3");
    assert!(e.contains("four numbers") && e.contains("3 numbers"), "{e}");
    let e = refused("1:2:3:4:5:6:7");
    assert!(e.contains("Only 7 groups"), "{e}");
    let e = refused("1:2:3:4:5:6:7:8::");
    assert!(e.contains("at least one zero group"), "{e}");
    let e = refused("2001:db8::g");
    assert!(e.contains("not a hex digit"), "{e}");
    let e = refused(":::1");
    assert!(e.contains("Three colons"), "{e}");
    let e = refused(":1:2:3:4:5:6:7");
    assert!(e.contains("empty group"), "{e}");
    let e = refused("::1.2.3.4:5");
    assert!(e.contains("very end"), "{e}");
    let e = refused("::ffff:1.2.3.400");
    assert!(e.contains("IPv4 part") && e.contains("255"), "{e}");
    let e = refused("[::1]");
    assert!(e.contains("brackets"), "{e}");
    let e = refused("fe80::1%eth0");
    assert!(e.contains("zone"), "{e}");
    let e = refused("3232235777");
    assert!(e.contains("neither dots"), "{e}");
    let e = refused("");
    assert!(e.contains("Type an address"), "{e}");
    let e = refused("1.2.3.x");
    assert!(e.contains("decimal digits"), "{e}");
}

#[test]
fn each_step_says_which_rule_did_what() {
    let Ok(Address::V6(groups)) = parse("2001:0DB8:0000:0000:0000:FF00:0042:8329") else {
        panic!("parses")
    };
    assert_eq!(expanded(&groups), "2001:0db8:0000:0000:0000:ff00:0042:8329");
    let steps = canonical_steps(&groups, "2001:0DB8:0000:0000:0000:FF00:0042:8329");
    let rules: Vec<&str> = steps.iter().map(|s| s.rule).collect();
    assert_eq!(
        rules,
        ["RFC 5952 4.1", "RFC 5952 4.2", "RFC 5952 4.3", "RFC 5952 5"]
    );
    assert_eq!(steps[0].result, "2001:db8:0:0:0:ff00:42:8329");
    assert!(
        steps[1].says.contains("groups 3-5 (3 groups)"),
        "{}",
        steps[1].says
    );
    assert_eq!(steps[1].result, "2001:db8::ff00:42:8329");
    assert!(steps[2].says.contains("capitals"));
    assert_eq!(steps[3].result, "2001:db8::ff00:42:8329");
    // A single zero group: 4.2.2 is named.
    let Ok(Address::V6(single)) = parse("2001:db8:0:1:1:1:1:1") else {
        panic!()
    };
    assert!(canonical_steps(&single, "")[1].says.contains("4.2.2"));
    // A tie: 4.2.3 is named.
    let Ok(Address::V6(tie)) = parse("2001:db8:0:0:1:0:0:1") else {
        panic!()
    };
    let says = &canonical_steps(&tie, "")[1].says;
    assert!(
        says.contains("4.2.3") && says.contains("groups 3-4"),
        "{says}"
    );
    // Mapped: section 5 writes the IPv4 address.
    let Ok(Address::V6(mapped)) = parse("::ffff:7f00:1") else {
        panic!()
    };
    let last = &canonical_steps(&mapped, "")[3];
    assert!(last.says.contains("127.0.0.1"));
    assert_eq!(last.result, "::ffff:127.0.0.1");
}

#[test]
fn a_right_address_written_wrongly_names_the_broken_rule() {
    let problems = |typed: &str| {
        let Ok(Address::V6(groups)) = parse(typed) else {
            panic!("{typed}")
        };
        canonical_problems(typed, &groups).join("; ")
    };
    assert_eq!(problems("2001:db8::1"), "");
    assert!(problems("2001:DB8::1").contains("4.3"));
    assert!(problems("2001:0db8::1").contains("4.1"));
    assert!(problems("2001:db8::1:1:1:1:1").contains("4.2.2"));
    assert!(problems("2001:db8:0:0:0:0:0:1").contains("4.2.1"));
    assert!(problems("2001:db8:0:0:1::1").contains("4.2.3"));
    assert!(problems("2001:0:0:1::1:0:1").contains("LONGEST"));
    // "The longest run" is RFC 5952 4.2.3; 4.2.1 is "shorten as much as possible".
    assert!(problems("2001:0:0:1::1:0:1").contains("4.2.3"));
    assert!(problems("2001:db8:0::1").contains("next to ::"));
    assert!(problems("2001:db8::0:1").contains("next to ::"));
    assert!(problems("::0:ffff:192.0.2.1").contains("next to ::"));
    assert_eq!(problems("::ffff:192.0.2.1"), "");
    assert!(problems("::ffff:c000:201").contains("RFC 5952 5"));
}

#[test]
fn kinds_follow_their_rfcs() {
    let kind_of = |text: &str| -> Vec<(&'static str, &'static str)> {
        kinds(&parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))
            .iter()
            .map(|k| (k.name, k.source))
            .collect()
    };
    let cases: &[(&str, &str, &str)] = &[
        ("127.0.0.1", "loopback", "RFC 1122 3.2.1.3"),
        ("127.255.255.254", "loopback", "RFC 1122 3.2.1.3"),
        ("10.1.2.3", "private", "RFC 1918"),
        ("172.16.0.1", "private", "RFC 1918"),
        ("172.31.255.255", "private", "RFC 1918"),
        (
            "172.32.0.1",
            "public",
            "IANA, through the regional registries",
        ),
        ("192.168.1.10", "private", "RFC 1918"),
        ("169.254.10.20", "link-local", "RFC 3927"),
        ("100.64.0.1", "shared", "RFC 6598"),
        ("100.127.255.255", "shared", "RFC 6598"),
        (
            "100.128.0.1",
            "public",
            "IANA, through the regional registries",
        ),
        ("192.0.2.1", "documentation", "RFC 5737"),
        ("198.51.100.7", "documentation", "RFC 5737"),
        ("203.0.113.200", "documentation", "RFC 5737"),
        ("224.0.0.1", "multicast", "RFC 5771"),
        ("239.255.255.250", "multicast", "RFC 5771"),
        ("0.0.0.0", "unspecified", "RFC 1122 3.2.1.3"),
        ("255.255.255.255", "broadcast", "RFC 919"),
        ("8.8.8.8", "public", "IANA, through the regional registries"),
        ("::1", "loopback", "RFC 4291 2.5.3"),
        ("::", "unspecified", "RFC 4291 2.5.2"),
        ("fe80::1", "link-local", "RFC 4291 2.5.6"),
        ("febf::1", "link-local", "RFC 4291 2.5.6"),
        ("fd12:3456::1", "unique local", "RFC 4193"),
        ("fc00::1", "unique local", "RFC 4193"),
        ("ff02::1", "multicast", "RFC 4291 2.7"),
        ("2001:db8::1", "documentation", "RFC 3849"),
        ("2606:4700::1111", "global unicast", "RFC 4291 2.4, IANA"),
        ("3fff::1", "global unicast", "RFC 4291 2.4, IANA"),
    ];
    for (text, name, source) in cases {
        assert_eq!(kind_of(text), vec![(*name, *source)], "{text}");
    }
    // Mapped: its own kind, then its IPv4 address's.
    assert_eq!(
        kind_of("::ffff:127.0.0.1"),
        vec![
            ("IPv4-mapped", "RFC 4291 2.5.5.2"),
            ("loopback", "RFC 1122 3.2.1.3")
        ]
    );
    assert_eq!(kind_of("::ffff:192.168.0.1")[1], ("private", "RFC 1918"));
    // std agrees where it has a stable answer.
    for text in [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.1.1",
        "224.0.0.1",
        "8.8.8.8",
    ] {
        let ip: Ipv4Addr = text.parse().expect("std");
        let ours = kind_of(text)[0].0;
        assert_eq!(ip.is_loopback(), ours == "loopback", "{text}");
        assert_eq!(ip.is_private(), ours == "private", "{text}");
        assert_eq!(ip.is_link_local(), ours == "link-local", "{text}");
        assert_eq!(ip.is_multicast(), ours == "multicast", "{text}");
    }
}

#[test]
fn ipv4_is_one_32_bit_number() {
    let Ok(Address::V4(octets)) = parse("192.168.1.10") else {
        panic!()
    };
    assert_eq!(v4_number(&octets), 3_232_235_786);
    assert_eq!(
        v4_number(&octets),
        u32::from(Ipv4Addr::new(192, 168, 1, 10))
    );
    assert_eq!(v4_binary(&octets), "11000000.10101000.00000001.00001010");
}

#[test]
fn only_the_canonical_text_has_no_problem() {
    for pattern in 0u32..256 {
        let mut groups = [0u16; 8];
        for (i, group) in groups.iter_mut().enumerate() {
            if pattern & (1 << i) != 0 {
                *group = 0x0a0b;
            }
        }
        let canonical_text = Ipv6Addr::from(groups).to_string();
        assert!(
            canonical_problems(&canonical_text, &groups).is_empty(),
            "{canonical_text}"
        );
        let long = expanded(&groups);
        assert!(!canonical_problems(&long, &groups).is_empty(), "{long}");
        let upper = canonical_text.to_ascii_uppercase();
        if upper != canonical_text {
            assert!(
                canonical_problems(&upper, &groups)
                    .join(" ")
                    .contains("4.3"),
                "{upper}"
            );
        }
    }
}
