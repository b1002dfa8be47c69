//! Every exercise against recorded sessions: sessions recorded from the real relay
//! (`tests/it/course_recordings.rs` and its modules `ports_in_use`, `addresses`, `scanning`,
//! `hurried`, `leftovers` write `fixtures/*.jsonl`) must pass, and near misses must not. A near
//! miss is either recorded for real (`*.near-miss.jsonl`) or a copy of a passing recording edited
//! minimally in the test, each edit said in a comment. Each part's own tests file
//! (`ports_in_use_tests`, `addresses_tests`, `scanning_tests`) does the same for its exercises.

use socketlab_shared::{Done, FromRelay, Op, Outcome, Payload, SysError};

use crate::course::exercises::test_support::{as_udp, bind_local, fails, load, nth_reply, passes};
use crate::course::exercises::{
    PORT_80_EACCES, PORT_80_REFUSED, PORT_80_WORKED, all, check, exercise,
};
use crate::session::transcript::{Entry, port_of};

fn outcome_mut(entry: &mut Entry) -> &mut Outcome {
    match entry {
        Entry::Message(FromRelay::Reply { outcome, .. }) => outcome,
        other => panic!("not a reply: {other:?}"),
    }
}

#[test]
fn every_exercise_is_known_and_an_empty_session_passes_none() {
    let mut ids = std::collections::BTreeSet::new();
    for exercise in all() {
        assert!(ids.insert(exercise.id), "{} is listed twice", exercise.id);
        assert_eq!(
            crate::course::exercises::exercise(exercise.id),
            Some(exercise)
        );
        fails(exercise.id, &[], Some("1"));
    }
    assert!(exercise("no-such-exercise").is_none());
    fails("no-such-exercise", &[], None);
}

#[test]
fn two_listeners_on_one_address_pass_only_at_the_same_time() {
    let id = "two-programs-one-address";
    passes(
        id,
        &load(include_str!("fixtures/two-programs-one-address.jsonl")),
        None,
    );
    // Recorded for real: the first listener was closed before the second listened.
    let near = load(include_str!(
        "fixtures/two-programs-one-address.near-miss.jsonl"
    ));
    fails(id, &near, None);
}

#[test]
fn bind_port_zero_passes_with_the_kernels_port_only() {
    let id = "bind-port-zero";
    let transcript = load(include_str!("fixtures/bind-port-zero.jsonl"));
    // The answer is read off the recording's own bind() reply: what the learner reads.
    let local = bind_local(&transcript, 0);
    let port = port_of(&local).expect("a port");
    passes(id, &transcript, Some(&port.to_string()));
    passes(id, &transcript, Some(&format!(" {port} ")));
    fails(id, &transcript, None);
    fails(id, &transcript, Some("0"));
    fails(id, &transcript, Some(&port.wrapping_add(1).to_string()));
    fails(id, &transcript, Some("port"));
    // Edited copy: the bind asked for that very port instead of 0, so the kernel chose nothing.
    let mut edited = transcript.clone();
    for entry in &mut edited {
        if let Entry::Call {
            op: Op::Bind { address, .. },
            ..
        } = entry
        {
            *address = local.clone();
        }
    }
    fails(id, &edited, Some(&port.to_string()));
}

#[test]
fn binds_in_both_upper_ranges_pass_and_one_range_does_not() {
    let id = "ports-in-two-ranges";
    let transcript = load(include_str!("fixtures/ports-in-two-ranges.jsonl"));
    passes(id, &transcript, None);
    // The near miss, recorded for real: binds to port 0 until the kernel's choices landed in
    // both ranges. Ports the learner did not ask for do not count.
    let luck = load(include_str!("fixtures/ports-in-two-ranges.near-miss.jsonl"));
    fails(id, &luck, None);
    // Edited copy: every bind reply in the dynamic range (49152-65535) removed, as if those
    // binds had never been answered.
    let mut edited = transcript.clone();
    edited.retain(|e| {
        !matches!(e, Entry::Message(FromRelay::Reply { outcome: Outcome::Ok(Done::Bind { local }), .. })
            if port_of(local).is_some_and(|p| p >= 49152))
    });
    fails(id, &edited, None);
}

#[test]
fn the_echo_service_must_really_send_the_same_bytes_back() {
    let id = "talk-to-a-service";
    let transcript = load(include_str!("fixtures/talk-to-a-service.jsonl"));
    passes(id, &transcript, None);
    // Edited copy: the recv() reply carries one byte changed, as if the peer were no echo.
    let mut edited = transcript.clone();
    let at = nth_reply(&edited, 0, |o| matches!(o, Outcome::Ok(Done::Recv { .. })));
    *outcome_mut(&mut edited[at]) = Outcome::Ok(Done::Recv {
        data: Payload::from("hello, echO"),
    });
    fails(id, &edited, None);
    // Edited copy: the relay announced echo_tcp on another port, so the socket talked to
    // something else.
    let mut elsewhere = transcript.clone();
    for entry in &mut elsewhere {
        if let Entry::Message(FromRelay::Machine { services, .. }) = entry {
            for service in services.iter_mut().filter(|s| s.name == "echo_tcp") {
                let port = port_of(&service.address).expect("a port");
                service.address = format!("127.0.0.1:{}", port.wrapping_add(1));
            }
        }
    }
    fails(id, &elsewhere, None);
}

#[test]
fn bind_port_80_passes_only_with_what_the_relay_answered() {
    let id = "bind-port-80";
    // Recorded as root: the relay's policy refused the bind and the kernel was never asked.
    let transcript = load(include_str!("fixtures/bind-port-80.jsonl"));
    passes(id, &transcript, Some(PORT_80_REFUSED));
    fails(id, &transcript, Some(PORT_80_EACCES));
    fails(id, &transcript, Some(PORT_80_WORKED));
    fails(id, &transcript, None);
    // Edited copy: the reply is the kernel's EACCES, as an unprivileged relay gets it.
    let mut user = transcript.clone();
    let at = nth_reply(&user, 0, |o| matches!(o, Outcome::Refused { .. }));
    *outcome_mut(&mut user[at]) = Outcome::Error(SysError {
        errno: "EACCES".into(),
        code: 13,
        message: "Permission denied".into(),
        explanation: "Ports below 1024 need privilege.".into(),
    });
    passes(id, &user, Some(PORT_80_EACCES));
    fails(id, &user, Some(PORT_80_REFUSED));
    // Edited copy: the bind went to port 8080, not 80.
    let mut other = transcript.clone();
    for entry in &mut other {
        if let Entry::Call {
            op: Op::Bind { address, .. },
            ..
        } = entry
        {
            *address = "127.0.0.1:8080".into();
        }
    }
    fails(id, &other, Some(PORT_80_REFUSED));
    // Edited copy: the kernel said EADDRINUSE (the session already held 80 there): the hint
    // leads somewhere.
    let mut taken = transcript.clone();
    let at = nth_reply(&taken, 0, |o| matches!(o, Outcome::Refused { .. }));
    *outcome_mut(&mut taken[at]) = Outcome::Error(SysError {
        errno: "EADDRINUSE".into(),
        code: 98,
        message: "Address already in use".into(),
        explanation: "Another socket already holds this address and port.".into(),
    });
    let hint = fails(id, &taken, Some(PORT_80_REFUSED));
    assert!(hint.contains("127.0.0.2:80"), "{hint}");
}

#[test]
fn a_closed_descriptor_number_is_given_to_the_next_socket() {
    let id = "descriptor-reuse";
    let transcript = load(include_str!("fixtures/descriptor-reuse.jsonl"));
    passes(id, &transcript, None);
    // Edited copy: the last socket() reply carries a different descriptor number.
    let mut edited = transcript.clone();
    let at = nth_reply(&edited, 2, |o| {
        matches!(o, Outcome::Ok(Done::Socket { .. }))
    });
    if let Outcome::Ok(Done::Socket { fd, .. }) = outcome_mut(&mut edited[at]) {
        *fd += 10;
    }
    fails(id, &edited, None);
    // Edited copy: the close() reply removed, so the socket was never closed.
    let mut unclosed = transcript.clone();
    let at = nth_reply(&unclosed, 0, |o| matches!(o, Outcome::Ok(Done::Close)));
    unclosed.remove(at);
    fails(id, &unclosed, None);
}

#[test]
fn two_accepts_on_one_listener_pass_and_one_does_not() {
    let id = "accept-two-clients";
    let transcript = load(include_str!("fixtures/accept-two-clients.jsonl"));
    passes(id, &transcript, None);
    // Edited copy: the second accept() reply removed (the call still waiting).
    let mut one = transcript.clone();
    let at = nth_reply(&one, 1, |o| matches!(o, Outcome::Ok(Done::Accept { .. })));
    one.remove(at);
    fails(id, &one, None);
    // Edited copy: the second accept() reports the first one's peer again.
    let mut same = transcript.clone();
    let first = nth_reply(&same, 0, |o| matches!(o, Outcome::Ok(Done::Accept { .. })));
    let second = nth_reply(&same, 1, |o| matches!(o, Outcome::Ok(Done::Accept { .. })));
    let Outcome::Ok(Done::Accept {
        peer: first_peer, ..
    }) = outcome_mut(&mut same[first]).clone()
    else {
        unreachable!("picked an accept reply")
    };
    if let Outcome::Ok(Done::Accept { peer, .. }) = outcome_mut(&mut same[second]) {
        *peer = first_peer;
    }
    fails(id, &same, None);
}

#[test]
fn a_client_round_trip_needs_the_close_too() {
    let id = "client-round-trip";
    let transcript = load(include_str!("fixtures/client-round-trip.jsonl"));
    passes(id, &transcript, None);
    // Edited copy: the close() reply removed.
    let mut unclosed = transcript.clone();
    let at = nth_reply(&unclosed, 0, |o| matches!(o, Outcome::Ok(Done::Close)));
    unclosed.remove(at);
    fails(id, &unclosed, None);
    // Edited copy: the recv() brought back other bytes.
    let mut other = transcript.clone();
    let at = nth_reply(&other, 0, |o| matches!(o, Outcome::Ok(Done::Recv { .. })));
    *outcome_mut(&mut other[at]) = Outcome::Ok(Done::Recv {
        data: Payload::from("pong"),
    });
    fails(id, &other, None);
    // Edited copy: the same calls on a UDP socket (socket() answered as a datagram socket),
    // which is not the task's TCP client.
    fails(id, &as_udp(&transcript), None);
}

#[test]
fn two_connections_to_one_server_pass_only_when_open_together() {
    let id = "two-connections-differ";
    passes(
        id,
        &load(include_str!("fixtures/two-connections-differ.jsonl")),
        None,
    );
    // Recorded for real: the first connection was closed before the second was made.
    let near = load(include_str!(
        "fixtures/two-connections-differ.near-miss.jsonl"
    ));
    fails(id, &near, None);
}

#[test]
fn three_datagrams_pass_and_two_do_not() {
    let id = "three-datagrams";
    let transcript = load(include_str!("fixtures/three-datagrams.jsonl"));
    passes(id, &transcript, None);
    // Edited copy: the third recvfrom() reply removed.
    let mut two = transcript.clone();
    let at = nth_reply(&two, 2, |o| matches!(o, Outcome::Ok(Done::Recvfrom { .. })));
    two.remove(at);
    fails(id, &two, None);
    // Edited copy: the third recvfrom() says the datagram was cut short (`truncated`).
    let mut cut = transcript.clone();
    if let Outcome::Ok(Done::Recvfrom { truncated, .. }) = outcome_mut(&mut cut[at]) {
        *truncated = true;
    }
    fails(id, &cut, None);
}

#[test]
fn evidence_quotes_what_the_kernel_answered() {
    let transcript = load(include_str!("fixtures/bind-port-zero.jsonl"));
    let port = port_of(&bind_local(&transcript, 0)).expect("a port");
    let verdict = check("bind-port-zero", &transcript, Some(&port.to_string()));
    assert!(
        verdict
            .evidence
            .as_deref()
            .is_some_and(|e| e.contains(&port.to_string())),
        "{verdict:?}"
    );
    let transcript = load(include_str!("fixtures/two-connections-differ.jsonl"));
    let verdict = check("two-connections-differ", &transcript, None);
    let evidence = verdict.evidence.expect("passed");
    assert_eq!(
        evidence.matches("(TCP, 127.0.0.1, ").count(),
        2,
        "{evidence}"
    );
    let transcript = load(include_str!("fixtures/talk-to-a-service.jsonl"));
    let verdict = check("talk-to-a-service", &transcript, None);
    assert!(
        verdict
            .evidence
            .as_deref()
            .is_some_and(|e| e.contains("\"hello, echo\"")),
        "{verdict:?}"
    );
}

#[test]
fn only_knowledge_exercises_are_judged_without_the_kernel() {
    use crate::course::exercises::judged_on_the_kernel;
    assert!(!judged_on_the_kernel("ip-conversions"));
    for id in [
        "bind-port-zero",
        "restart-with-reuseaddr",
        "scan-the-targets",
        "mapped-peer",
    ] {
        assert!(exercise(id).is_some(), "{id}");
        assert!(judged_on_the_kernel(id), "{id}");
    }
}
