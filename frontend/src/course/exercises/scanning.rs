//! The exercises of lessons 18-20 (port scanning, port knocking, firewalls and port forwarding) and
//! their checks: pure functions of the session's transcript (and the typed answer, where the
//! exercise asks one). They read the connects through `widgets::port_probes`, the same reading the
//! scan and knock widgets draw, and judge each relay session on its own, against the scan targets,
//! door and services that session's relay announced.
//!
//! `scan-the-targets`: every scan port answered or went silent, and the typed filtered port(s)
//! match the silent ones. `knock-knock`: the three knocks in order, each ECONNREFUSED, then the
//! door connected and its recv returned the greeting. `through-the-forward`: bytes sent through
//! `forward_tcp` came back on the same socket.

use std::collections::{BTreeMap, BTreeSet};

use socketlab_shared::{Done, Op, Outcome, SocketId};

use crate::course::exercises::{Ask, Exercise, Verdict};
use crate::course::widgets::port_probes::{
    Answer, PortState, connects, knock_progress, scan_report, sessions,
};
use crate::session::transcript::{Entry, answered};

/// This part's exercises, in course order.
pub(super) const EXERCISES: &[Exercise] = &[
    Exercise {
        id: "scan-the-targets",
        title: "Scan the targets",
        task: "Connect-scan every port of the scan range (the scan box shows it): each must end open, closed or filtered. Then name the filtered port.",
        ask: Some(Ask {
            prompt: "Which port gave no response at all (filtered)?",
            choices: &[],
        }),
    },
    Exercise {
        id: "knock-knock",
        title: "Knock, knock",
        task: "Knock on the three knock ports in order (each connect() is refused), then connect to the door and receive its greeting with recv().",
        ask: None,
    },
    Exercise {
        id: "through-the-forward",
        title: "Through the forward",
        task: "Connect a TCP socket to forward_tcp, send some bytes and receive the same bytes back: they went through the forward to echo_tcp and back.",
        ask: None,
    },
];

/// The verdict for exercise `id`, or `None` when `id` is not one of this part's.
pub(super) fn check(id: &str, transcript: &[Entry], answer: Option<&str>) -> Option<Verdict> {
    match id {
        "scan-the-targets" => Some(scan_the_targets(transcript, answer)),
        "knock-knock" => Some(knock_knock(transcript)),
        "through-the-forward" => Some(through_the_forward(transcript)),
        _ => None,
    }
}

/// The port numbers in a typed answer (`41003`, `41003, 41005`, `port 41003/tcp`).
fn typed_ports(answer: &str) -> BTreeSet<u32> {
    answer
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty() && part.len() <= 6)
        .filter_map(|part| part.parse().ok())
        .collect()
}

fn list(ports: &BTreeSet<u32>) -> String {
    ports
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// l17: every port of the scan range got a definite answer in one relay session, and the typed
/// port(s) are exactly those whose connect got no response and never an answer.
pub(super) fn scan_the_targets(transcript: &[Entry], answer: Option<&str>) -> Verdict {
    let facts = sessions(transcript);
    // The newest session with a complete scan; otherwise the newest one with scan targets, to
    // say what is missing there.
    let mut partial = None;
    let mut complete = None;
    for (session, fact) in facts.iter().enumerate().rev() {
        let Some(scan) = &fact.scan else { continue };
        let report = scan_report(transcript, session, scan);
        if report.iter().all(|r| r.state().is_some()) {
            complete = Some((scan, report));
            break;
        }
        partial = partial.or(Some((scan, report)));
    }
    let Some((scan, report)) = complete else {
        return match partial {
            None => Verdict::miss(
                "The relay has not announced scan targets in this session: connect the lab to the relay first (and make sure it is a relay that runs them).",
            ),
            Some((scan, report)) => {
                let missing: Vec<String> = report
                    .iter()
                    .filter(|r| r.state().is_none())
                    .map(|r| r.port.to_string())
                    .collect();
                let answered = report.len() - missing.len();
                Verdict::miss(format!(
                    "{answered} of {} ports of {}:{}-{} have a definite answer so far; still to scan: {}. A connect that waits with no answer counts once you close its socket.",
                    report.len(),
                    scan.host,
                    scan.ports.first,
                    scan.ports.last,
                    missing.join(", ")
                ))
            }
        };
    };
    let filtered: BTreeSet<u32> = report
        .iter()
        .filter(|r| r.state() == Some(PortState::Filtered))
        .map(|r| u32::from(r.port))
        .collect();
    let count = |state: PortState| report.iter().filter(|r| r.state() == Some(state)).count();
    let summary = format!(
        "{}:{}-{}: {} open (syn-ack), {} closed (conn-refused), {} filtered (no-response)",
        scan.host,
        scan.ports.first,
        scan.ports.last,
        count(PortState::Open),
        count(PortState::Closed),
        count(PortState::Filtered)
    );
    let Some(typed) = answer.map(str::trim).filter(|a| !a.is_empty()) else {
        return Verdict::miss(format!(
            "Your scan is complete ({summary}). Now type the filtered port: the one whose connect() never got an answer."
        ));
    };
    let typed = typed_ports(typed);
    if typed.is_empty() {
        return Verdict::miss("Type the port as a number, for example 27004.");
    }
    if typed == filtered {
        return Verdict::pass(format!(
            "{summary}. Port {} never answered the SYN: filtered, exactly as you said.",
            list(&filtered)
        ));
    }
    let by_port: BTreeMap<u32, PortState> = report
        .iter()
        .filter_map(|r| r.state().map(|s| (u32::from(r.port), s)))
        .collect();
    if let Some((port, state)) = typed.iter().find_map(|p| {
        by_port
            .get(p)
            .filter(|s| **s != PortState::Filtered)
            .map(|s| (p, s))
    }) {
        return Verdict::miss(format!(
            "Port {port} did answer: it is {} ({}). The filtered port is the one that said nothing at all.",
            state.name(),
            state.reason()
        ));
    }
    if typed.is_subset(&filtered) {
        return Verdict::miss("Right, but not all of them: name every filtered port.");
    }
    Verdict::miss(format!(
        "{} is not in the scan range {}-{}.",
        list(&typed.difference(&filtered).copied().collect()),
        scan.ports.first,
        scan.ports.last
    ))
}

/// What each recv() returned, by (relay session, socket): where the reply is, and the bytes.
type Reads = BTreeMap<(usize, SocketId), Vec<(usize, Vec<u8>)>>;

/// The bytes each socket got from recv() in each session, in order.
fn received(transcript: &[Entry]) -> Reads {
    let mut out = Reads::new();
    for call in answered(transcript) {
        if let (Op::Recv { socket, .. }, Outcome::Ok(Done::Recv { data })) = (call.op, call.outcome)
        {
            out.entry((call.session, *socket))
                .or_default()
                .push((call.at, data.as_bytes().to_vec()));
        }
    }
    out
}

fn shown(bytes: &[u8]) -> String {
    socketlab_shared::Payload::from(bytes.to_vec()).to_text()
}

/// l18: in one relay session, the three knocks in order (each refused by the kernel), then a
/// connect to the door that succeeded and a recv on it that returned the door's line.
pub(super) fn knock_knock(transcript: &[Entry]) -> Verdict {
    let facts = sessions(transcript);
    let all_connects = connects(transcript);
    let reads = received(transcript);
    let mut best_hint = None;
    for (session, fact) in facts.iter().enumerate().rev() {
        let Some(door) = &fact.knock else { continue };
        let door_address = door.door.parse().ok();
        let progress = knock_progress(transcript, session, door);
        // The door's connects in this session, in the kernel's order.
        let door_connects: Vec<_> = all_connects
            .iter()
            .filter(|c| c.session == session && c.target.is_some() && c.target == door_address)
            .collect();
        // Each complete sequence, with its three knocks refused by the kernel.
        let openings: Vec<usize> = progress
            .knocks
            .iter()
            .enumerate()
            .filter(|(_, k)| k.opened)
            .filter(|(i, _)| {
                *i + 1 >= door.knocks.len()
                    && progress.knocks[*i + 1 - door.knocks.len()..=*i]
                        .iter()
                        .all(|k| k.answer == Answer::Refused)
            })
            .map(|(_, k)| k.called)
            .collect();
        for opened in &openings {
            for connect in door_connects
                .iter()
                .filter(|c| c.called > *opened && c.answer == Answer::Connected)
            {
                let greeting = reads.get(&(session, connect.socket)).and_then(|r| {
                    r.iter()
                        .find(|(at, data)| *at > connect.at && !data.is_empty())
                });
                if let Some((_, data)) = greeting {
                    return Verdict::pass(format!(
                        "Knocks on {} in order, each refused (ECONNREFUSED); then {} connected to the door {} and received \"{}\".",
                        door.knocks.join(", then "),
                        connect.socket,
                        door.door,
                        shown(data.trim_ascii_end())
                    ));
                }
                best_hint.get_or_insert(format!(
                    "{} connected to the door {}. Last step: recv() on {} to read the door's greeting.",
                    connect.socket, door.door, connect.socket
                ));
            }
        }
        if best_hint.is_none() {
            let early_door = door_connects
                .iter()
                .any(|c| c.answer == Answer::Refused && openings.iter().all(|o| c.called < *o));
            best_hint = Some(if let Some(opened) = openings.last() {
                let late = door_connects
                    .iter()
                    .any(|c| c.called > *opened && c.answer == Answer::Refused);
                if late {
                    format!(
                        "Your knocks opened the door, but it had closed again by the time you connected (it stays open {} s). Knock again and connect to {} right after.",
                        door.open_secs, door.door
                    )
                } else {
                    format!(
                        "The knocks are right: the door {} is open for {} s. Connect to it now, then recv().",
                        door.door, door.open_secs
                    )
                }
            } else if progress.knocks.is_empty() && early_door {
                format!(
                    "The door {} refused you: it stays closed until you knock on {} in that order.",
                    door.door,
                    door.knocks.join(", ")
                )
            } else {
                format!(
                    "Knocks in order so far: {} of {}. Knock on {} in exactly that order (a wrong one starts again).",
                    progress.in_order,
                    door.knocks.len(),
                    door.knocks.join(", then ")
                )
            });
        }
    }
    Verdict::miss(best_hint.unwrap_or_else(|| {
        "The relay has not announced a knock door in this session: connect the lab to the relay first.".to_owned()
    }))
}

/// l19: a socket connected to forward_tcp, sent bytes and got the same bytes back.
pub(super) fn through_the_forward(transcript: &[Entry]) -> Verdict {
    let facts = sessions(transcript);
    if facts.iter().all(|f| f.service("forward_tcp").is_none()) {
        return Verdict::miss(
            "The relay has not said where forward_tcp is in this session: connect the lab to the relay first.",
        );
    }
    // Sockets connected to forward_tcp (or, for the hint, straight to echo_tcp).
    let mut forwarded: BTreeSet<(usize, SocketId)> = BTreeSet::new();
    let mut direct = false;
    for connect in connects(transcript) {
        let fact = &facts[connect.session.min(facts.len() - 1)];
        if connect.answer != Answer::Connected || connect.target.is_none() {
            continue;
        }
        if connect.target == fact.service("forward_tcp") {
            forwarded.insert((connect.session, connect.socket));
        } else if connect.target == fact.service("echo_tcp") {
            direct = true;
        }
    }
    let mut flows: BTreeMap<(usize, SocketId), (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    for call in answered(transcript) {
        let Some(socket) = call.op.socket() else {
            continue;
        };
        if !forwarded.contains(&(call.session, socket)) {
            continue;
        }
        let (sent, got) = flows.entry((call.session, socket)).or_default();
        match (call.op, call.outcome) {
            (Op::Send { data, .. }, Outcome::Ok(Done::Send { sent: n })) => {
                let n = (*n as usize).min(data.len());
                sent.extend_from_slice(&data.as_bytes()[..n]);
            }
            (Op::Recv { .. }, Outcome::Ok(Done::Recv { data })) => {
                got.extend_from_slice(data.as_bytes());
                if !got.is_empty() && got == sent {
                    let address = facts[call.session.min(facts.len() - 1)]
                        .service("forward_tcp")
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    return Verdict::pass(format!(
                        "{socket} connected to forward_tcp at {address}, sent \"{}\" and received the same bytes: the forward carried them to echo_tcp and back.",
                        shown(got)
                    ));
                }
            }
            _ => {}
        }
    }
    if let Some((_, socket)) = forwarded.iter().next() {
        return Verdict::miss(format!(
            "{socket} is connected to forward_tcp. Now send() some bytes on it and recv() until the same bytes are back."
        ));
    }
    if direct {
        return Verdict::miss(
            "That connection goes straight to echo_tcp. Connect to forward_tcp's address instead: the forward makes the second connection to echo_tcp for you.",
        );
    }
    Verdict::miss(
        "Not yet seen: a TCP socket connected to forward_tcp (its address is in the box above), a send() and a recv() of the same bytes.",
    )
}
