//! Lessons 16-17's exercises against sessions recorded from the real relay
//! (`tests/it/course_recordings/addresses.rs` writes the fixtures) and near misses: recorded for
//! real (`mapped-peer.near-miss.jsonl`) or a copy of a passing recording edited minimally in
//! the test, each edit said in a comment. `ip-conversions` is judged on the typed answer only.

use socketlab_shared::{Done, Family, FromRelay, Op, Outcome};

use crate::course::exercises::test_support::{fails, load, passes};
use crate::session::transcript::Entry;

#[test]
fn four_canonical_forms_pass_and_each_broken_rule_is_named() {
    let id = "ip-conversions";
    let right = "2001:db8::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1";
    let evidence = passes(id, &[], Some(right));
    assert!(evidence.contains("::ffff:192.0.2.1"));
    // Commas and extra spaces separate as well.
    passes(
        id,
        &[],
        Some(" 2001:db8::1, 2001:db8::1:0:0:1,2001:db8:0:1:1:1:1:1 ,::ffff:192.0.2.1 "),
    );
    assert!(fails(id, &[], None).contains("four canonical forms"));
    assert!(fails(id, &[], Some("2001:db8::1")).contains("this has 1"));
    // Near misses, one rule each: the right address, written against one rule.
    let hint = fails(
        id,
        &[],
        Some("2001:DB8::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1"),
    );
    assert!(hint.starts_with("(1)") && hint.contains("4.3"), "{hint}");
    let hint = fails(
        id,
        &[],
        Some("2001:db8::1 2001:db8:0:0:1::1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1"),
    );
    assert!(hint.starts_with("(2)") && hint.contains("4.2.3"), "{hint}");
    let hint = fails(
        id,
        &[],
        Some("2001:db8::1 2001:db8::1:0:0:1 2001:db8::1:1:1:1:1 ::ffff:192.0.2.1"),
    );
    assert!(hint.starts_with("(3)") && hint.contains("4.2.2"), "{hint}");
    let hint = fails(
        id,
        &[],
        Some("2001:db8::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:c000:201"),
    );
    assert!(
        hint.starts_with("(4)") && hint.contains("RFC 5952 5"),
        "{hint}"
    );
    let hint = fails(
        id,
        &[],
        Some("2001:0db8::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1"),
    );
    assert!(hint.contains("4.1"), "{hint}");
    // A different address, and one that does not parse.
    let hint = fails(
        id,
        &[],
        Some("2001:db8::2 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1"),
    );
    assert!(hint.contains("different address"), "{hint}");
    let hint = fails(
        id,
        &[],
        Some("2001:db8::1::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1"),
    );
    assert!(hint.contains("only once"), "{hint}");
}

/// The accept() reply of a recording, to edit.
fn accept_peer(transcript: &mut [Entry]) -> &mut String {
    transcript
        .iter_mut()
        .find_map(|e| match e {
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Accept { peer, .. }),
                ..
            }) => Some(peer),
            _ => None,
        })
        .expect("the recording has an accept() reply")
}

#[test]
fn an_ipv4_client_seen_mapped_by_an_ipv6_listener_passes() {
    let id = "mapped-peer";
    let transcript = load(include_str!("fixtures/mapped-peer.jsonl"));
    let evidence = passes(id, &transcript, None);
    assert!(evidence.contains("[::ffff:127.0.0.1]:"), "{evidence}");
    // Recorded for real: an IPv6 client over [::1]; its peer is plain IPv6.
    let near = load(include_str!("fixtures/mapped-peer.near-miss.jsonl"));
    assert!(fails(id, &near, None).contains("IPv6 client"));
    // Edited copy: the client socket made with AF_INET6 instead of AF_INET (a v6 socket
    // connecting to a mapped address), so no IPv4 socket connected from that address.
    let mut v6_client = transcript.clone();
    for entry in &mut v6_client {
        match entry {
            Entry::Call {
                op: Op::Socket { family, .. },
                ..
            } => *family = Family::Ipv6,
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Socket { family, .. }),
                ..
            }) => *family = Family::Ipv6,
            _ => {}
        }
    }
    assert!(fails(id, &v6_client, None).contains("AF_INET (IPv4)"));
    // Edited copy: the accepted peer's port changed by one, so it is nobody's client.
    let mut other = transcript.clone();
    let peer = accept_peer(&mut other);
    let (ip, port) = peer.rsplit_once(':').expect("a port");
    let port: u16 = port.parse().expect("a number");
    *peer = format!("{ip}:{}", port.wrapping_add(1));
    fails(id, &other, None);
    // Edited copy: the listener (the socket accept() was called on) made with AF_INET, its
    // replies otherwise as recorded.
    let mut v4_listener = transcript.clone();
    let listener = v4_listener
        .iter()
        .find_map(|e| match e {
            Entry::Call {
                op: Op::Accept { socket },
                ..
            } => Some(*socket),
            _ => None,
        })
        .expect("the recording calls accept()");
    for entry in &mut v4_listener {
        if let Entry::Message(FromRelay::Reply {
            outcome: Outcome::Ok(Done::Socket { socket, family, .. }),
            ..
        }) = entry
            && *socket == listener
        {
            *family = Family::Ipv4;
        }
    }
    assert!(fails(id, &v4_listener, None).contains("AF_INET6"));
}

/// The client's own address in the recording: connect()'s `local`.
fn client_address(transcript: &[Entry]) -> String {
    transcript
        .iter()
        .find_map(|e| match e {
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Connect { local, .. }),
                ..
            }) => Some(local.clone()),
            _ => None,
        })
        .expect("the recording has a connect() reply")
}

fn listener_address(transcript: &[Entry]) -> String {
    transcript
        .iter()
        .find_map(|e| match e {
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Listen { local }),
                ..
            }) => Some(local.clone()),
            _ => None,
        })
        .expect("the recording has a listen() reply")
}

#[test]
fn the_peer_of_the_servers_line_is_the_clients_ephemeral_port() {
    let id = "read-the-ss-line";
    let transcript = load(include_str!("fixtures/read-the-ss-line.jsonl"));
    // The answer is read off the recording, as the learner reads it off the listing.
    let client = client_address(&transcript);
    let port = client.rsplit_once(':').expect("a port").1.to_owned();
    passes(id, &transcript, Some(&client));
    passes(id, &transcript, Some(&port));
    assert!(fails(id, &transcript, None).contains("Now read"));
    // The near miss a newcomer makes: the listener's own port (the Local column).
    let listener = listener_address(&transcript);
    assert!(fails(id, &transcript, Some(&listener)).contains("listener's own port"));
    let wrong = format!(
        "127.0.0.1:{}",
        port.parse::<u16>().expect("a number").wrapping_add(1)
    );
    fails(id, &transcript, Some(&wrong));
    // Edited copy: without the connect() and accept() replies there is no connection.
    let mut alone = transcript.clone();
    alone.retain(|e| {
        !matches!(
            e,
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Connect { .. } | Done::Accept { .. }),
                ..
            })
        )
    });
    assert!(fails(id, &alone, Some(&client)).contains("Not yet seen"));
}
