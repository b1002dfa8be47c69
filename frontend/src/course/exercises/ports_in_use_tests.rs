//! The exercises of lessons 11-15 against sessions recorded from the real relay
//! (`tests/it/course_recordings/ports_in_use.rs` writes `fixtures/*.jsonl`): each recording
//! passes, each near miss recorded for real fails, and minimal edits of a passing copy (each
//! said in a comment) fail for the reason the rule names.

use socketlab_shared::{Done, Family, FromRelay, Op, Outcome, PortRange, SockOpt, SocketId};

use crate::course::exercises::test_support::{as_udp, fails, load, passes};
use crate::session::transcript::{Entry, port_of};

/// Sets the ephemeral range of every `machine` message.
fn with_range(transcript: &[Entry], range: Option<PortRange>) -> Vec<Entry> {
    let mut edited = transcript.to_vec();
    for entry in &mut edited {
        if let Entry::Message(FromRelay::Machine { machine, .. }) = entry {
            machine.ephemeral_ports = range;
        }
    }
    edited
}

/// The local ports of the successful connect() replies, in order.
fn connect_ports(transcript: &[Entry]) -> Vec<u16> {
    transcript
        .iter()
        .filter_map(|e| match e {
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Connect { local, .. }),
                ..
            }) => port_of(local),
            _ => None,
        })
        .collect()
}

#[test]
fn three_connects_from_unbound_sockets_in_the_range_pass() {
    let id = "ephemeral-ports-watched";
    let transcript = load(include_str!("fixtures/ephemeral-ports-watched.jsonl"));
    let evidence = passes(id, &transcript, None);
    let ports = connect_ports(&transcript);
    assert_eq!(ports.len(), 3);
    for port in &ports {
        assert!(evidence.contains(&port.to_string()), "{evidence}");
    }
    assert!(
        evidence.contains("32768-60999"),
        "the range is quoted: {evidence}"
    );

    // Recorded for real: the third socket was bound to port 0 before its connect().
    let near = load(include_str!(
        "fixtures/ephemeral-ports-watched.near-miss.jsonl"
    ));
    let hint = fails(id, &near, None);
    assert!(hint.contains("bound first"), "{hint}");

    // Edited copy: the relay did not know the range (not Linux).
    let hint = fails(id, &with_range(&transcript, None), None);
    assert!(hint.contains("ephemeral port range"), "{hint}");

    // Edited copy: a range that leaves out the highest of the three ports.
    let highest = *ports.iter().max().expect("three ports");
    let narrow = PortRange {
        first: 1024,
        last: highest - 1,
    };
    let hint = fails(id, &with_range(&transcript, Some(narrow)), None);
    assert!(hint.contains("outside the range"), "{hint}");

    // Edited copy: the same calls on UDP sockets (every socket() answered as a datagram
    // socket). A UDP connect() picks a port too, but the task is TCP connections.
    fails(id, &as_udp(&transcript), None);
}

#[test]
fn a_restart_passes_only_after_a_refusal_without_and_a_listen_with_the_option() {
    let id = "restart-with-reuseaddr";
    let transcript = load(include_str!("fixtures/restart-with-reuseaddr.jsonl"));
    let evidence = passes(id, &transcript, None);
    assert!(evidence.contains("EADDRINUSE"), "{evidence}");

    // Recorded for real: the old listener had no SO_REUSEADDR, so even the new socket with the
    // option got EADDRINUSE.
    let near = load(include_str!(
        "fixtures/restart-with-reuseaddr.near-miss.jsonl"
    ));
    let hint = fails(id, &near, None);
    assert!(hint.contains("old listener"), "{hint}");

    // Recorded for real: the client closed first; the server's port was free at once.
    let client_first = load(include_str!(
        "fixtures/restart-with-reuseaddr.client-first.near-miss.jsonl"
    ));
    let hint = fails(id, &client_first, None);
    assert!(hint.contains("closed first"), "{hint}");

    // Edited copy: the refused bind() (and its reply) removed, so only the way with the
    // option was tried.
    let refused_at = transcript
        .iter()
        .position(|e| {
            matches!(e, Entry::Message(FromRelay::Reply { outcome: Outcome::Error(err), .. }) if err.errno == "EADDRINUSE")
        })
        .expect("the recording has the refusal");
    let mut one_way = transcript.clone();
    one_way.remove(refused_at);
    one_way.remove(refused_at - 1);
    fails(id, &one_way, None);

    // Edited copy: the listener's setsockopt(SO_REUSEADDR) (call and reply) removed: the
    // later bind is then not SO_REUSEADDR's doing (the kernel would not have allowed it).
    let set_at = transcript
        .iter()
        .position(|e| {
            matches!(
                e,
                Entry::Call {
                    op: Op::Setsockopt {
                        socket: SocketId(1),
                        option: SockOpt::SoReuseaddr,
                        ..
                    },
                    ..
                }
            )
        })
        .expect("the listener sets SO_REUSEADDR");
    let mut listener_without = transcript.clone();
    listener_without.drain(set_at..set_at + 2);
    let hint = fails(id, &listener_without, None);
    assert!(hint.contains("old listener"), "{hint}");

    // Edited copy: the last listen() removed: a bind alone is not yet a restarted server.
    let last_listen = transcript
        .iter()
        .rposition(|e| {
            matches!(
                e,
                Entry::Call {
                    op: Op::Listen { .. },
                    ..
                }
            )
        })
        .expect("the recording listens");
    let mut no_listen = transcript.clone();
    no_listen.truncate(last_listen);
    fails(id, &no_listen, None);
}

#[test]
fn an_ipv6_listener_on_loopback_passes_and_a_mapped_one_does_not() {
    let id = "ipv6-only-server";
    let transcript = load(include_str!("fixtures/ipv6-only-server.jsonl"));
    let evidence = passes(id, &transcript, None);
    assert!(
        evidence.contains("[::1]:") && evidence.contains("ECONNREFUSED"),
        "{evidence}"
    );

    // Recorded for real: IPV6_V6ONLY=0 on ::ffff:127.0.0.1: IPv4 got in, [::1] was refused.
    let near = load(include_str!("fixtures/ipv6-only-server.near-miss.jsonl"));
    fails(id, &near, None);

    // Edited copy: the listener's socket() reply says AF_INET: not an IPv6 server.
    let mut v4 = transcript.clone();
    for entry in &mut v4 {
        if let Entry::Message(FromRelay::Reply {
            outcome: Outcome::Ok(Done::Socket { socket, family, .. }),
            ..
        }) = entry
            && *socket == SocketId(1)
        {
            *family = Family::Ipv4;
        }
    }
    fails(id, &v4, None);

    // Edited copy: the IPv4 connect's reply removed: only half the proof.
    let mut half = transcript.clone();
    half.retain(|e| {
        !matches!(e, Entry::Message(FromRelay::Reply { outcome: Outcome::Error(err), .. }) if err.errno == "ECONNREFUSED")
    });
    let hint = fails(id, &half, None);
    assert!(hint.contains("127.0.0.1"), "{hint}");
}

#[test]
fn a_conflict_and_a_shared_number_pass_only_at_the_same_time() {
    let id = "conflict-then-share";
    let transcript = load(include_str!("fixtures/conflict-then-share.jsonl"));
    let evidence = passes(id, &transcript, None);
    assert!(
        evidence.contains("EADDRINUSE") && evidence.contains("UDP"),
        "{evidence}"
    );

    // Recorded for real: the TCP socket was closed before the UDP socket bound the number.
    let near = load(include_str!("fixtures/conflict-then-share.near-miss.jsonl"));
    let hint = fails(id, &near, None);
    assert!(hint.contains("Still missing"), "{hint}");

    // Edited copy: the refused bind's reply removed: sharing alone is half the exercise.
    let mut shared_only = transcript.clone();
    shared_only.retain(|e| {
        !matches!(e, Entry::Message(FromRelay::Reply { outcome: Outcome::Error(err), .. }) if err.errno == "EADDRINUSE")
    });
    let hint = fails(id, &shared_only, None);
    assert!(hint.contains("EADDRINUSE"), "{hint}");

    // Both recorded for real, one page's two sessions: lesson 13's restart (its EADDRINUSE
    // is a TIME_WAIT leftover that no socket holds), then only the sharing half of this one.
    // The TIME_WAIT refusal does not count as a conflict.
    let mut leftovers = load(include_str!("fixtures/restart-with-reuseaddr.jsonl"));
    leftovers.extend(shared_only);
    let hint = fails(id, &leftovers, None);
    assert!(hint.contains("TIME_WAIT leftover does not count"), "{hint}");
}

#[test]
fn whoever_closes_first_needs_both_orders_and_the_servers_port() {
    use crate::course::exercises::ports_in_use::{TIME_WAIT_ON_CLIENT, TIME_WAIT_ON_SERVER};
    let id = "whoever-closes-first";
    let transcript = load(include_str!("fixtures/whoever-closes-first.jsonl"));
    let evidence = passes(id, &transcript, Some(TIME_WAIT_ON_SERVER));
    assert!(evidence.contains("listener's port"), "{evidence}");
    // Both ways done, the wrong answer: the server's end kept the TIME_WAIT, not the client's.
    let hint = fails(id, &transcript, Some(TIME_WAIT_ON_CLIENT));
    assert!(hint.contains("active closer"), "{hint}");
    assert!(fails(id, &transcript, None).contains("pick the answer"));
    // Recorded for real: the client closed first both times.
    let near = load(include_str!(
        "fixtures/whoever-closes-first.near-miss.jsonl"
    ));
    let hint = fails(id, &near, Some(TIME_WAIT_ON_SERVER));
    assert!(hint.contains("the other way round"), "{hint}");
    // Edited copy: every close() of an accepted socket removed, so no connection ever had
    // both ends closed.
    let accepted: Vec<SocketId> = transcript
        .iter()
        .filter_map(|e| match e {
            Entry::Message(FromRelay::Reply {
                outcome: Outcome::Ok(Done::Accept { socket, .. }),
                ..
            }) => Some(*socket),
            _ => None,
        })
        .collect();
    let mut unclosed = transcript.clone();
    unclosed.retain(
        |e| !matches!(e, Entry::Call { op: Op::Close { socket }, .. } if accepted.contains(socket)),
    );
    assert!(fails(id, &unclosed, Some(TIME_WAIT_ON_SERVER)).contains("Not yet seen"));
}
