//! The exercises of lessons 18-20 against sessions recorded from the real relay
//! (`tests/it/course_recordings/scanning.rs` writes `fixtures/*.jsonl`): each recording passes,
//! each near miss recorded for real fails, and so does each minimal edit said in a comment.

use socketlab_shared::{Done, FromRelay, Op, Outcome, Payload};

use crate::course::exercises::check;
use crate::course::exercises::test_support::{fails, load, passes};
use crate::course::widgets::port_probes::{PortState, scan_report, sessions};
use crate::session::transcript::Entry;

/// The ports of the recording's scan range in `state`, as the recording's replies say.
fn ports_in(transcript: &[Entry], state: PortState) -> Vec<u16> {
    let scan = sessions(transcript)[0]
        .scan
        .clone()
        .expect("the recording has scan targets");
    scan_report(transcript, 0, &scan)
        .into_iter()
        .filter(|r| r.state() == Some(state))
        .map(|r| r.port)
        .collect()
}

fn scan_range(transcript: &[Entry]) -> std::ops::RangeInclusive<u16> {
    let scan = sessions(transcript)[0]
        .scan
        .clone()
        .expect("the recording has scan targets");
    scan.ports.first..=scan.ports.last
}

#[test]
fn a_complete_scan_passes_with_the_filtered_port_only() {
    let id = "scan-the-targets";
    let transcript = load(include_str!("fixtures/scan-the-targets.jsonl"));
    // The recording is what the relay really set up: some open, some closed, one filtered.
    let filtered = ports_in(&transcript, PortState::Filtered);
    assert_eq!(filtered.len(), 1, "one filtered port");
    assert!(!ports_in(&transcript, PortState::Open).is_empty());
    assert!(!ports_in(&transcript, PortState::Closed).is_empty());
    let port = filtered[0];
    passes(id, &transcript, Some(&port.to_string()));
    passes(id, &transcript, Some(&format!("{port}/tcp")));
    fails(id, &transcript, None);
    fails(id, &transcript, Some("filtered"));
    for open in ports_in(&transcript, PortState::Open) {
        fails(id, &transcript, Some(&open.to_string()));
        fails(id, &transcript, Some(&format!("{port}, {open}")));
    }
    for closed in ports_in(&transcript, PortState::Closed) {
        fails(id, &transcript, Some(&closed.to_string()));
    }
    fails(
        id,
        &transcript,
        Some(&(scan_range(&transcript).end() + 1).to_string()),
    );
}

#[test]
fn a_scan_that_left_out_a_port_does_not_pass_whatever_is_typed() {
    let id = "scan-the-targets";
    // Recorded for real: the last port of the range was never scanned.
    let near = load(include_str!("fixtures/scan-the-targets.near-miss.jsonl"));
    for port in scan_range(&near) {
        fails(id, &near, Some(&port.to_string()));
    }
}

#[test]
fn a_connect_cancelled_without_closing_its_socket_is_no_answer() {
    let id = "scan-the-targets";
    let transcript = load(include_str!("fixtures/scan-the-targets.jsonl"));
    let port = ports_in(&transcript, PortState::Filtered)[0];
    // Edited copy: the close() call that ended the silent connect removed, so its
    // `cancelled` reads as the session ending, which says nothing about the port.
    let mut edited = transcript.clone();
    let socket = edited
        .iter()
        .find_map(|e| match e {
            Entry::Call {
                op: Op::Connect { socket, address },
                ..
            } if address.ends_with(&format!(":{port}")) => Some(*socket),
            _ => None,
        })
        .expect("the recording connects to the filtered port");
    edited
        .retain(|e| !matches!(e, Entry::Call { op: Op::Close { socket: s }, .. } if *s == socket));
    fails(id, &edited, Some(&port.to_string()));
}

/// Index of the `socket()` call that made the socket of the `n`th (from 0) connect to
/// `address`: where the part of the recording about that socket starts.
fn socket_of_connect(transcript: &[Entry], n: usize, address: &str) -> usize {
    let connect = transcript
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(e, Entry::Call { op: Op::Connect { address: a, .. }, .. } if a == address)
        })
        .nth(n)
        .map(|(at, _)| at)
        .expect("the recording has that connect");
    (0..connect)
        .rev()
        .find(|at| {
            matches!(
                transcript[*at],
                Entry::Call {
                    op: Op::Socket { .. },
                    ..
                }
            )
        })
        .expect("a socket() call before it")
}

#[test]
fn knocks_in_order_then_the_doors_greeting_pass() {
    let id = "knock-knock";
    let transcript = load(include_str!("fixtures/knock-knock.jsonl"));
    passes(id, &transcript, None);
    // Recorded for real: knocks 2, 1, 3, and the door still refused.
    let near = load(include_str!("fixtures/knock-knock.near-miss.jsonl"));
    fails(id, &near, None);
}

#[test]
fn knocks_out_of_order_do_not_pass_even_if_the_door_had_answered() {
    let id = "knock-knock";
    let transcript = load(include_str!("fixtures/knock-knock.jsonl"));
    let door = sessions(&transcript)[0]
        .knock
        .clone()
        .expect("a knock door");
    // Edited copy: the first two knocks' addresses swapped (2, 1, 3), everything else, the
    // door's answer and greeting included, left as recorded.
    let mut edited = transcript.clone();
    for entry in &mut edited {
        if let Entry::Call {
            op: Op::Connect { address, .. },
            ..
        } = entry
        {
            if *address == door.knocks[0] {
                *address = door.knocks[1].clone();
            } else if *address == door.knocks[1] {
                *address = door.knocks[0].clone();
            }
        }
    }
    fails(id, &edited, None);
}

#[test]
fn a_door_that_answered_before_the_knocks_does_not_count() {
    let id = "knock-knock";
    let transcript = load(include_str!("fixtures/knock-knock.jsonl"));
    let door = sessions(&transcript)[0]
        .knock
        .clone()
        .expect("a knock door");
    // Edited copy: everything from the first knock's socket() up to the door's successful
    // connect moved after the door's part, so the door answered before any knock.
    let first_knock = socket_of_connect(&transcript, 0, &door.knocks[0]);
    let last_door = socket_of_connect(&transcript, 1, &door.door);
    assert!(first_knock < last_door);
    let mut edited: Vec<Entry> = transcript[..first_knock].to_vec();
    edited.extend_from_slice(&transcript[last_door..]);
    edited.extend_from_slice(&transcript[first_knock..last_door]);
    fails(id, &edited, None);
}

#[test]
fn the_door_must_really_greet() {
    let id = "knock-knock";
    let transcript = load(include_str!("fixtures/knock-knock.jsonl"));
    // Edited copy: every recv() reply empty (end of stream), as if the door said nothing.
    let mut edited = transcript.clone();
    for entry in &mut edited {
        if let Entry::Message(FromRelay::Reply {
            outcome: Outcome::Ok(Done::Recv { data }),
            ..
        }) = entry
        {
            *data = Payload::from(Vec::new());
        }
    }
    fails(id, &edited, None);
}

#[test]
fn bytes_through_the_forward_pass_and_straight_to_echo_do_not() {
    let id = "through-the-forward";
    let transcript = load(include_str!("fixtures/through-the-forward.jsonl"));
    passes(id, &transcript, None);
    // Recorded for real: the same round trip straight to echo_tcp.
    let near = load(include_str!("fixtures/through-the-forward.near-miss.jsonl"));
    let verdict = check(id, &near, None);
    assert!(!verdict.passed);
    assert!(
        verdict
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("straight to echo_tcp")),
        "{verdict:?}"
    );
    // Edited copy: the recv() reply carries one byte changed, as if the peer were no echo.
    let mut edited = transcript.clone();
    for entry in &mut edited {
        if let Entry::Message(FromRelay::Reply {
            outcome: Outcome::Ok(Done::Recv { data }),
            ..
        }) = entry
        {
            let mut bytes = data.as_bytes().to_vec();
            if let Some(first) = bytes.first_mut() {
                *first ^= 0x20;
            }
            *data = Payload::from(bytes);
        }
    }
    fails(id, &edited, None);
}
