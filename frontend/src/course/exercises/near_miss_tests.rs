//! Every exercise's near misses, in one list (`NEAR_MISSES`): sessions recorded from the real relay
//! (`tests/it/course_recordings.rs` and its modules `hurried`, `leftovers`, ...) of the path a
//! hurried learner takes, some after doing the earlier lessons in the same session (with their
//! passing control), each with what that learner did and the answers they would type (for
//! `ip-conversions`, judged on the typed answer alone, wrong answers only). Each must fail its
//! exercise; every exercise judged on the kernel has at least one recorded for real; and every
//! `*.near-miss.jsonl` in `fixtures/` is listed here (the folder is read at test time), so a
//! recording cannot be left unchecked.

use socketlab_shared::{Done, FromRelay, Op, Outcome};

use crate::course::exercises::test_support::{bind_local, fails, load, nth_reply, passes};
use crate::course::exercises::{PORT_80_WORKED, all, check, exercise};
use crate::session::transcript::{Entry, port_of};

/// The answers a hurried learner would type for one near miss: each is tried, and none may pass.
type Answers = fn(&[Entry]) -> Vec<Option<String>>;

/// One near miss of the course: a session that must not pass its exercise.
struct NearMiss {
    exercise: &'static str,
    /// The fixture's name in `fixtures/` (without `.jsonl`), recorded from the real relay; `None`
    /// for an exercise judged on the typed answer alone.
    fixture: Option<&'static str>,
    /// The fixture's text (empty without a fixture).
    text: &'static str,
    /// What the hurried learner did.
    did: &'static str,
    answers: Answers,
}

/// A near miss recorded for real as `fixtures/NAME.jsonl`.
macro_rules! recorded {
    ($exercise:literal, $name:literal, $did:literal, $answers:expr) => {
        NearMiss {
            exercise: $exercise,
            fixture: Some($name),
            text: include_str!(concat!("fixtures/", $name, ".jsonl")),
            did: $did,
            answers: $answers,
        }
    };
}

/// No answer: the exercise asks none.
fn no_answer(_: &[Entry]) -> Vec<Option<String>> {
    vec![None]
}

/// The port of the recording's first successful bind, as the learner reads it off the reply.
fn the_bound_port(transcript: &[Entry]) -> Vec<Option<String>> {
    let port = port_of(&bind_local(transcript, 0)).expect("a port");
    vec![Some(port.to_string())]
}

/// The listener's own address (and port): the Local column of the server's lines, or the Peer
/// column of the client's line.
fn the_listeners_address(transcript: &[Entry]) -> Vec<Option<String>> {
    let at = nth_reply(transcript, 0, |o| {
        matches!(o, Outcome::Ok(Done::Listen { .. }))
    });
    let Entry::Message(FromRelay::Reply {
        outcome: Outcome::Ok(Done::Listen { local }),
        ..
    }) = &transcript[at]
    else {
        unreachable!("picked a listen reply")
    };
    let port = port_of(local).expect("a port");
    vec![Some(local.clone()), Some(port.to_string())]
}

fn it_worked(_: &[Entry]) -> Vec<Option<String>> {
    vec![Some(PORT_80_WORKED.into()), None]
}

/// Both answers whoever-closes-first offers.
fn time_wait_answers(_: &[Entry]) -> Vec<Option<String>> {
    use crate::course::exercises::ports_in_use::{TIME_WAIT_ON_CLIENT, TIME_WAIT_ON_SERVER};
    vec![
        Some(TIME_WAIT_ON_SERVER.to_owned()),
        Some(TIME_WAIT_ON_CLIENT.to_owned()),
    ]
}

/// Every port of the scan range: whatever the learner types.
fn every_scanned_port(transcript: &[Entry]) -> Vec<Option<String>> {
    let scan = transcript
        .iter()
        .find_map(|e| match e {
            Entry::Message(FromRelay::Machine {
                scan: Some(scan), ..
            }) => Some(scan.clone()),
            _ => None,
        })
        .expect("the recording announces the scan targets");
    (scan.ports.first..=scan.ports.last)
        .map(|port| Some(port.to_string()))
        .collect()
}

/// ip-conversions' four addresses, written in a hurry: uppercase kept, the first run of zeros
/// shortened instead of the longest, one zero group shortened, the mapped IPv4 left in hex.
fn hurried_conversions(_: &[Entry]) -> Vec<Option<String>> {
    vec![
        Some("2001:DB8::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1".into()),
        Some("2001:db8::1 2001:db8:0:0:1::1 2001:db8:0:1:1:1:1:1 ::ffff:192.0.2.1".into()),
        Some("2001:db8::1 2001:db8::1:0:0:1 2001:db8::1:1:1:1:1 ::ffff:192.0.2.1".into()),
        Some("2001:db8::1 2001:db8::1:0:0:1 2001:db8:0:1:1:1:1:1 ::ffff:c000:201".into()),
    ]
}

/// Every exercise's near misses: the path a hurried learner takes, and sessions that did the
/// earlier lessons first (`after-lessons-*`), whose leftovers must not pass the later exercise.
/// Recorded from the real relay by `tests/it/course_recordings.rs` and its modules.
const NEAR_MISSES: &[NearMiss] = &[
    recorded!(
        "two-programs-one-address",
        "two-programs-one-address.near-miss",
        "closed the first listener before the second listened",
        no_answer
    ),
    recorded!(
        "bind-port-zero",
        "bind-port-zero.near-miss",
        "typed a port into bind() instead of 0, then typed that port back",
        the_bound_port
    ),
    recorded!(
        "ports-in-two-ranges",
        "ports-in-two-ranges.near-miss",
        "bound port 0 until the kernel's choices landed in both ranges",
        no_answer
    ),
    recorded!(
        "ports-in-two-ranges",
        "ports-in-two-ranges.after-lessons-1-2.near-miss",
        "after lessons 1-2 (three ports the kernel chose), typed a registered port and left the second bind() at 127.0.0.1:0",
        no_answer
    ),
    recorded!(
        "talk-to-a-service",
        "talk-to-a-service.near-miss",
        "connected to echo_tcp and sent, but never called recv()",
        no_answer
    ),
    recorded!(
        "talk-to-a-service",
        "talk-to-a-service.udp.near-miss",
        "did the round trip on a UDP socket with echo_udp (same address and port number)",
        no_answer
    ),
    recorded!(
        "bind-port-80",
        "bind-port-80.near-miss",
        "bound a typed port above 1024 (the 8080 habit), not 80, and picked what happened",
        it_worked
    ),
    recorded!(
        "descriptor-reuse",
        "descriptor-reuse.near-miss",
        "made the new socket before closing the old one",
        no_answer
    ),
    recorded!(
        "accept-two-clients",
        "accept-two-clients.near-miss",
        "connected two clients but called accept() once",
        no_answer
    ),
    recorded!(
        "accept-two-clients",
        "accept-two-clients.after-lessons-1-6.near-miss",
        "after lessons 1-6, one client and one accept() on each of lesson 1's two listeners",
        no_answer
    ),
    recorded!(
        "client-round-trip",
        "client-round-trip.near-miss",
        "connect, send, recv of the same bytes, but no close()",
        no_answer
    ),
    recorded!(
        "client-round-trip",
        "client-round-trip.after-lessons-1-7.near-miss",
        "after lessons 1-7 (lesson 4's echoed socket still open), lesson 8's round trip without close()",
        no_answer
    ),
    recorded!(
        "two-connections-differ",
        "two-connections-differ.near-miss",
        "closed the first connection before making the second",
        no_answer
    ),
    recorded!(
        "three-datagrams",
        "three-datagrams.near-miss",
        "sent three datagrams, then one recvfrom() with a big buffer",
        no_answer
    ),
    recorded!(
        "ephemeral-ports-watched",
        "ephemeral-ports-watched.near-miss",
        "bound the third socket to port 0 before its connect()",
        no_answer
    ),
    recorded!(
        "whoever-closes-first",
        "whoever-closes-first.near-miss",
        "let the client close first both times, then picked an answer",
        time_wait_answers
    ),
    recorded!(
        "restart-with-reuseaddr",
        "restart-with-reuseaddr.near-miss",
        "the old listener had no SO_REUSEADDR",
        no_answer
    ),
    recorded!(
        "restart-with-reuseaddr",
        "restart-with-reuseaddr.client-first.near-miss",
        "the client closed first, so the server's port was free at once",
        no_answer
    ),
    recorded!(
        "ipv6-only-server",
        "ipv6-only-server.near-miss",
        "a dual-stack listener on the IPv4-mapped loopback address",
        no_answer
    ),
    recorded!(
        "conflict-then-share",
        "conflict-then-share.near-miss",
        "closed the TCP socket before the UDP socket bound the number",
        no_answer
    ),
    NearMiss {
        exercise: "ip-conversions",
        fixture: None,
        text: "",
        did: "wrote each address against one rule of RFC 5952",
        answers: hurried_conversions,
    },
    recorded!(
        "mapped-peer",
        "mapped-peer.near-miss",
        "connected an IPv6 client over [::1], whose peer is not mapped",
        no_answer
    ),
    recorded!(
        "read-the-ss-line",
        "read-the-ss-line.near-miss",
        "read the client's line and typed its Peer Address:Port, the listener's own",
        the_listeners_address
    ),
    recorded!(
        "read-the-ss-line",
        "read-the-ss-line",
        "typed the server's Local Address:Port instead of its Peer",
        the_listeners_address
    ),
    recorded!(
        "scan-the-targets",
        "scan-the-targets.near-miss",
        "left the last port of the range unscanned, then typed any port",
        every_scanned_port
    ),
    recorded!(
        "knock-knock",
        "knock-knock.near-miss",
        "knocked in the wrong order",
        no_answer
    ),
    recorded!(
        "through-the-forward",
        "through-the-forward.near-miss",
        "sent the bytes straight to echo_tcp, not through forward_tcp",
        no_answer
    ),
];

#[test]
fn every_near_miss_fails_its_exercise() {
    for near in NEAR_MISSES {
        assert!(exercise(near.exercise).is_some(), "{}", near.exercise);
        let transcript = match near.fixture {
            Some(_) => load(near.text),
            None => Vec::new(),
        };
        let answers = (near.answers)(&transcript);
        assert!(!answers.is_empty(), "{}: no answer tried", near.did);
        for answer in answers {
            let verdict = check(near.exercise, &transcript, answer.as_deref());
            assert!(
                !verdict.passed,
                "{} passed on {:?} ({}) with the answer {answer:?}: {verdict:?}",
                near.exercise, near.fixture, near.did
            );
        }
    }
}

#[test]
fn every_exercise_judged_on_the_kernel_has_a_near_miss_recorded_for_real() {
    use crate::course::exercises::judged_on_the_kernel;
    for exercise in all() {
        let listed: Vec<&NearMiss> = NEAR_MISSES
            .iter()
            .filter(|n| n.exercise == exercise.id)
            .collect();
        if judged_on_the_kernel(exercise.id) {
            assert!(
                listed
                    .iter()
                    .any(|n| n.fixture.is_some_and(|f| f.ends_with(".near-miss"))),
                "{} has no near miss recorded from the real relay in NEAR_MISSES",
                exercise.id
            );
        } else {
            assert!(!listed.is_empty(), "{} has no near miss", exercise.id);
        }
    }
}

#[test]
fn every_recorded_near_miss_is_in_the_table() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/course/exercises/fixtures");
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).expect("the fixtures folder") {
        let name = entry.expect("a folder entry").file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name.strip_suffix(".near-miss.jsonl") else {
            continue;
        };
        found += 1;
        let fixture = format!("{stem}.near-miss");
        assert!(
            NEAR_MISSES
                .iter()
                .any(|n| n.fixture == Some(fixture.as_str())),
            "fixtures/{name} is not listed in NEAR_MISSES"
        );
    }
    let listed = NEAR_MISSES
        .iter()
        .filter(|n| n.fixture.is_some_and(|f| f.ends_with(".near-miss")))
        .count();
    assert_eq!(found, listed, "each near-miss fixture is listed once");
}

#[test]
fn lesson_8_done_whole_after_lessons_1_to_7_passes() {
    // The control of the leftovers near miss: the same session with the close(). Lesson 4's
    // socket also got its bytes back and was never closed; it does not hide lesson 8's.
    let id = "client-round-trip";
    let transcript = load(include_str!(
        "fixtures/client-round-trip.after-lessons-1-7.jsonl"
    ));
    let evidence = passes(id, &transcript, None);
    assert!(evidence.contains("ping"), "{evidence}");
    let near = load(include_str!(
        "fixtures/client-round-trip.after-lessons-1-7.near-miss.jsonl"
    ));
    let hint = fails(id, &near, None);
    assert!(hint.contains("close()"), "{hint}");
}

#[test]
fn kernel_chosen_leftovers_in_the_dynamic_range_do_not_count() {
    let id = "ports-in-two-ranges";
    let near = load(include_str!(
        "fixtures/ports-in-two-ranges.after-lessons-1-2.near-miss.jsonl"
    ));
    // Edited copy: every port the kernel chose (lessons 1-2's binds and the default
    // 127.0.0.1:0) moved into the dynamic range, which the kernel's choices often are.
    let mut dynamic = near.clone();
    let mut port_zero = Vec::new();
    for entry in &dynamic {
        if let Entry::Call {
            id,
            op: Op::Bind { address, .. },
        } = entry
            && port_of(address) == Some(0)
        {
            port_zero.push(*id);
        }
    }
    assert_eq!(port_zero.len(), 5, "four leftovers and the default bind");
    for entry in &mut dynamic {
        if let Entry::Message(FromRelay::Reply {
            id,
            outcome: Outcome::Ok(Done::Bind { local }),
        }) = entry
            && port_zero.contains(id)
        {
            *local = format!("127.0.0.1:{}", 50000 + id.0);
        }
    }
    let hint = fails(id, &dynamic, None);
    assert!(hint.contains("49152"), "{hint}");
    // With a typed dynamic port instead of the default, it passes: the hurried part is what
    // was missing.
    let mut typed = dynamic.clone();
    let last = *port_zero.last().expect("the default bind");
    for entry in &mut typed {
        if let Entry::Call {
            id,
            op: Op::Bind { address, .. },
        } = entry
            && *id == last
        {
            *address = format!("127.0.0.1:{}", 50000 + id.0);
        }
    }
    passes(id, &typed, None);
}
