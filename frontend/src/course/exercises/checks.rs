//! One pure check per exercise of lessons 1-10, over the transcript's answered calls. Each replays
//! the kernel's successful answers into a small model of the session's sockets (`socket_model`) and
//! looks for the moment the exercise's condition really held; the evidence quotes the kernel's own
//! numbers.
//!
//! Rules that are easy to get wrong: `ports-in-two-ranges` counts only ports the learner typed,
//! never bind(0)'s; `client-round-trip` counts only a TCP socket made with socket(), never an
//! accepted one, and passes on any such socket closed after its bytes came back, so an earlier
//! lesson's echoed socket left open does not hide a later one; `talk-to-a-service` counts only a
//! TCP socket, since echo_udp runs on echo_tcp's address and port number; `bind-port-80`'s
//! EADDRINUSE hint points to 127.0.0.2:80.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use socketlab_shared::{Done, Op, Outcome, SocketId, SocketType, Transport};

use crate::course::exercises::socket_model::{Model, Sock};

use crate::course::exercises::{PORT_80_EACCES, PORT_80_REFUSED, PORT_80_WORKED, Verdict};
use crate::course::facts::ports::{PortRange, range_of};
use crate::session::transcript::{Entry, answered, machine, port_of};

fn addr(text: &str) -> Option<SocketAddr> {
    text.parse().ok()
}

/// l01: two TCP sockets listening on the same IP, on different ports, at the same time.
pub(super) fn two_programs_one_address(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    for call in answered(transcript) {
        model.apply(&call);
        let listening: Vec<(SocketId, SocketAddr)> = model
            .sockets
            .iter()
            .filter(|(_, s)| s.open && s.listening && s.kind == Some(SocketType::Stream))
            .filter_map(|(id, s)| s.local.as_deref().and_then(addr).map(|a| (*id, a)))
            .collect();
        for (i, (a, a_addr)) in listening.iter().enumerate() {
            for (b, b_addr) in &listening[i + 1..] {
                if a_addr.ip() == b_addr.ip() && a_addr.port() != b_addr.port() {
                    return Verdict::pass(format!(
                        "{a} listened on {a_addr} while {b} listened on {b_addr}: one IP address, two ports, two listeners at once."
                    ));
                }
            }
        }
    }
    Verdict::miss(
        "Not yet seen: two TCP sockets listening at the same time on the same IP address with different ports (bind each, then listen on each, without closing the first).",
    )
}

/// l02: a bind to port 0 succeeded, and the typed port is the one the kernel chose.
pub(super) fn bind_port_zero(transcript: &[Entry], answer: Option<&str>) -> Verdict {
    let chosen: Vec<u16> = answered(transcript)
        .iter()
        .filter_map(|call| match (call.op, call.outcome) {
            (Op::Bind { address, .. }, Outcome::Ok(Done::Bind { local }))
                if port_of(address) == Some(0) =>
            {
                port_of(local)
            }
            _ => None,
        })
        .collect();
    if chosen.is_empty() {
        return Verdict::miss(
            "Not yet seen: a successful bind() to port 0 (an address like 127.0.0.1:0).",
        );
    }
    let Some(answer) = answer.map(str::trim).filter(|a| !a.is_empty()) else {
        return Verdict::miss(
            "The bind worked. Now type the port the kernel chose: it is in bind()'s reply, the local address after the colon.",
        );
    };
    match answer.parse::<u16>() {
        Ok(port) if chosen.contains(&port) => Verdict::pass(format!(
            "bind() to port 0 came back with port {port}: the kernel chose it, and you read it right."
        )),
        Ok(0) => Verdict::miss(
            "0 is what you asked for, not what you got: the kernel replaced it. Read the local address in bind()'s reply.",
        ),
        Ok(port) => Verdict::miss(format!(
            "The kernel did not give port {port} to a bind() to port 0 in this session. Read the local address in bind()'s reply."
        )),
        Err(_) => Verdict::miss("Type the port as a number from 1 to 65535."),
    }
}

/// l03: one successful bind to a port the learner typed in the registered range, and one in
/// the dynamic range. Ports the kernel chose (bind to port 0, earlier lessons' binds) do not
/// count: its ephemeral range straddles 49152, so they would pass the exercise by luck.
pub(super) fn ports_in_two_ranges(transcript: &[Entry]) -> Verdict {
    let mut user = None;
    let mut dynamic = None;
    let mut chosen_by_kernel = false;
    for call in answered(transcript) {
        if let (Op::Bind { address, .. }, Outcome::Ok(Done::Bind { local })) =
            (call.op, call.outcome)
        {
            if port_of(address) == Some(0) {
                chosen_by_kernel = true;
                continue;
            }
            match port_of(local).map(range_of) {
                Some(PortRange::User) => user = user.or(Some(local.clone())),
                Some(PortRange::Dynamic) => dynamic = dynamic.or(Some(local.clone())),
                _ => {}
            }
        }
    }
    match (user, dynamic) {
        (Some(u), Some(d)) => Verdict::pass(format!(
            "The kernel bound {u} (user/registered range, 1024-49151) and {d} (dynamic/private range, 49152-65535)."
        )),
        (Some(u), None) => Verdict::miss(format!(
            "{u} is in the registered range. Still missing: a bind to a port from 49152 to 65535."
        )),
        (None, Some(d)) => Verdict::miss(format!(
            "{d} is in the dynamic range. Still missing: a bind to a port from 1024 to 49151."
        )),
        (None, None) if chosen_by_kernel => Verdict::miss(
            "Ports the kernel chose (a bind to port 0) do not count here: type a port from 1024 to 49151 into one bind() field, and one from 49152 to 65535 into another.",
        ),
        (None, None) => Verdict::miss(
            "Not yet seen: a successful bind() to a port from 1024 to 49151, and one to a port from 49152 to 65535.",
        ),
    }
}

/// The bytes a socket sent and received, for echo checks.
#[derive(Debug, Default)]
struct Flow {
    sent: Vec<u8>,
    received: Vec<u8>,
}

/// A socket that got back exactly the bytes it sent.
#[derive(Debug)]
struct Echo {
    session: usize,
    /// Where in the transcript the last byte came back.
    at: usize,
    socket: SocketId,
    bytes: Vec<u8>,
}

/// Replays the transcript and returns the first socket (with the model at that moment) whose
/// received bytes equal its sent bytes, non-empty, and for which `wanted` holds.
fn echoed(
    transcript: &[Entry],
    wanted: impl FnMut(&Model, SocketId, &Sock) -> bool,
) -> Option<Echo> {
    echoes(transcript, wanted).into_iter().next()
}

/// Every socket whose received bytes came to equal its sent bytes (non-empty) while `wanted`
/// held, each at the first moment it did, in transcript order: an earlier lesson's socket that
/// got its bytes back does not hide a later one.
fn echoes(
    transcript: &[Entry],
    mut wanted: impl FnMut(&Model, SocketId, &Sock) -> bool,
) -> Vec<Echo> {
    let mut found: Vec<Echo> = Vec::new();
    let mut model = Model::default();
    let mut flows: BTreeMap<(usize, SocketId), Flow> = BTreeMap::new();
    for call in answered(transcript) {
        model.apply(&call);
        let Some(id) = call.op.socket() else { continue };
        let flow = flows.entry((call.session, id)).or_default();
        match (call.op, call.outcome) {
            (Op::Send { data, .. }, Outcome::Ok(Done::Send { sent })) => {
                let sent = (*sent as usize).min(data.len());
                flow.sent.extend_from_slice(&data.as_bytes()[..sent]);
            }
            (Op::Recv { .. }, Outcome::Ok(Done::Recv { data })) => {
                flow.received.extend_from_slice(data.as_bytes());
                let seen = found
                    .iter()
                    .any(|e| e.session == call.session && e.socket == id);
                if !seen
                    && !flow.received.is_empty()
                    && flow.received == flow.sent
                    && let Some(sock) = model.get(id)
                    && wanted(&model, id, sock)
                {
                    found.push(Echo {
                        session: call.session,
                        at: call.at,
                        socket: id,
                        bytes: flow.received.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    found
}

fn shown(bytes: &[u8]) -> String {
    socketlab_shared::Payload::from(bytes.to_vec()).to_text()
}

/// l04: connected to the relay's `echo_tcp`, sent bytes and received the same bytes back.
pub(super) fn talk_to_a_service(transcript: &[Entry]) -> Verdict {
    let Some(echo) = machine(transcript).and_then(|(_, services)| {
        services
            .iter()
            .find(|s| s.name == "echo_tcp" && s.transport == Transport::Tcp)
    }) else {
        return Verdict::miss(
            "The relay has not said where its echo service is yet: connect the lab to the relay first.",
        );
    };
    let service = addr(&echo.address);
    // A TCP socket, as the task says: echo_udp runs on the same address and port number, so a
    // UDP socket connected to it has echo_tcp's address as its peer too.
    let found = echoed(transcript, |_, _, sock| {
        service.is_some()
            && sock.kind == Some(SocketType::Stream)
            && sock.peer.as_deref().and_then(addr) == service
    });
    match found {
        Some(found) => Verdict::pass(format!(
            "{} connected to echo_tcp at {}, sent \"{}\" and received the same bytes back.",
            found.socket,
            echo.address,
            shown(&found.bytes)
        )),
        None => Verdict::miss(format!(
            "Not yet seen: a TCP socket connected to echo_tcp at {}, a send(), and a recv() that returns the same bytes.",
            echo.address
        )),
    }
}

/// What the relay answered a bind to port 80, in the exercise's words.
fn port_80_answer(outcome: &Outcome) -> Option<Result<&'static str, String>> {
    match outcome {
        Outcome::Ok(_) => Some(Ok(PORT_80_WORKED)),
        Outcome::Error(err) if err.errno == "EACCES" => Some(Ok(PORT_80_EACCES)),
        Outcome::Error(err) => Some(Err(err.errno.clone())),
        Outcome::Refused { .. } => Some(Ok(PORT_80_REFUSED)),
        Outcome::Invalid { .. } | Outcome::Cancelled { .. } => None,
    }
}

/// l05: a bind to port 80 was answered, and the learner picked what really happened.
pub(super) fn bind_port_80(transcript: &[Entry], answer: Option<&str>) -> Verdict {
    let last = answered(transcript)
        .into_iter()
        .rev()
        .find_map(|call| match call.op {
            Op::Bind { address, .. } if port_of(address) == Some(80) => {
                port_80_answer(call.outcome)
            }
            _ => None,
        });
    let Some(real) = last else {
        return Verdict::miss("Not yet seen: a bind() to port 80 (for example 127.0.0.1:80).");
    };
    let real = match real {
        Ok(real) => real,
        Err(errno) => {
            return Verdict::miss(format!(
                "The kernel answered {errno}, none of the three choices: {}",
                if errno == "EADDRINUSE" {
                    "a socket of this session already holds port 80 at that address (the relay refuses a port another program holds before the kernel is asked). Close it, or try another loopback address on a fresh socket, 127.0.0.2:80: the whole 127.0.0.0/8 block is this machine."
                } else {
                    "try the bind again on a fresh socket."
                }
            ));
        }
    };
    match answer.map(str::trim).filter(|a| !a.is_empty()) {
        None => Verdict::miss("The relay answered your bind(). Now pick what happened."),
        Some(picked) if picked.eq_ignore_ascii_case(real) => {
            Verdict::pass(format!("Your bind() to port 80 really got: {real}."))
        }
        Some(_) => Verdict::miss(
            "That is not what the relay answered: read the reply to your bind() in the event log again.",
        ),
    }
}

/// l06: a socket was closed, and the next socket created got its descriptor number.
pub(super) fn descriptor_reuse(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    // The descriptor freed by the latest close in this session, until a new socket is made.
    let mut freed: Option<(SocketId, i32)> = None;
    for call in answered(transcript) {
        if call.session != model.session {
            freed = None;
            model.session = call.session;
            model.sockets.clear();
        }
        let before = call.op.socket().and_then(|id| model.get(id)).cloned();
        model.apply(&call);
        match (call.op, call.outcome) {
            (Op::Close { socket }, Outcome::Ok(Done::Close)) => {
                if let Some(sock) = before.filter(|s| s.open) {
                    freed = Some((*socket, sock.fd));
                }
            }
            (_, Outcome::Ok(Done::Socket { socket, fd, .. })) => {
                if let Some((closed, old)) = freed.take()
                    && *fd == old
                {
                    return Verdict::pass(format!(
                        "{closed} had descriptor {old}; after close() the next socket(), {socket}, got descriptor {fd} again: the kernel hands out the lowest free number."
                    ));
                }
            }
            _ => {}
        }
    }
    Verdict::miss(
        "Not yet seen: close() on a socket, then socket() creating a new one with the same descriptor number (watch the fd column).",
    )
}

/// l07: two accept() replies from one listening socket, different peers, the listener still
/// listening after the second.
pub(super) fn accept_two_clients(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    let mut peers: BTreeMap<(usize, SocketId), Vec<(SocketId, String)>> = BTreeMap::new();
    for call in answered(transcript) {
        model.apply(&call);
        if let (
            Op::Accept { socket },
            Outcome::Ok(Done::Accept {
                socket: new, peer, ..
            }),
        ) = (call.op, call.outcome)
        {
            let seen = peers.entry((call.session, *socket)).or_default();
            if !seen.iter().any(|(_, p)| p == peer) {
                seen.push((*new, peer.clone()));
            }
            if seen.len() >= 2 && model.get(*socket).is_some_and(|s| s.listening) {
                let (first, first_peer) = &seen[0];
                let (second, second_peer) = &seen[seen.len() - 1];
                return Verdict::pass(format!(
                    "Listening {socket} accepted {first} (peer {first_peer}) and {second} (peer {second_peer}), and is still listening."
                ));
            }
        }
    }
    if let Some(((_, listener), seen)) = peers.iter().find(|(_, seen)| !seen.is_empty()) {
        if seen.len() >= 2 {
            return Verdict::miss(format!(
                "{listener} accepted two clients but was no longer listening: keep it open."
            ));
        }
        return Verdict::miss(format!(
            "{listener} accepted one client. Connect a second client and call accept() again on {listener}."
        ));
    }
    Verdict::miss(
        "Not yet seen: accept() returning a connection. Make a listening socket, connect a client to it, and accept.",
    )
}

/// l08: on one socket, socket, connect, send, recv of the same bytes, close.
pub(super) fn client_round_trip(transcript: &[Entry]) -> Verdict {
    // A TCP socket this session made with socket() (not one accept() returned) and
    // connected, that got its bytes back: the task's words.
    let client = |sock: &Sock| {
        sock.peer.is_some() && !sock.accepted && sock.kind == Some(SocketType::Stream)
    };
    let found = echoes(transcript, |_, _, sock| client(sock));
    let Some(latest) = found.last() else {
        return Verdict::miss(
            "Not yet seen: one TCP socket you made with socket() that connected, sent bytes and received the same bytes back (an accepted socket or a UDP socket does not count).",
        );
    };
    let calls = answered(transcript);
    // Any of them closed after its bytes came back: an earlier lesson's socket left open does
    // not hide a later socket's whole life.
    let closed = found.iter().find(|echo| {
        calls.iter().any(|call| {
            call.session == echo.session
                && call.at > echo.at
                && matches!(
                    (call.op, call.outcome),
                    (Op::Close { socket }, Outcome::Ok(Done::Close)) if *socket == echo.socket
                )
        })
    });
    match closed {
        Some(echo) => Verdict::pass(format!(
            "{}: socket(), connect(), send() and recv() of \"{}\" from the echo peer, then close().",
            echo.socket,
            shown(&echo.bytes)
        )),
        None => Verdict::miss(format!(
            "{} got its bytes back. Last step: close() it.",
            latest.socket
        )),
    }
}

/// l09: two connections to the same server address and port, open at the same time.
pub(super) fn two_connections_differ(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    for call in answered(transcript) {
        model.apply(&call);
        let connected: Vec<(SocketId, &Sock)> = model
            .sockets
            .iter()
            .filter(|(_, s)| s.open && s.kind == Some(SocketType::Stream) && s.peer.is_some())
            .map(|(id, s)| (*id, s))
            .collect();
        for (i, (a, sa)) in connected.iter().enumerate() {
            for (b, sb) in &connected[i + 1..] {
                if let (Some(pa), Some(pb), Some(la), Some(lb)) = (
                    sa.peer.as_deref().and_then(addr),
                    sb.peer.as_deref().and_then(addr),
                    sa.local.as_deref().and_then(addr),
                    sb.local.as_deref().and_then(addr),
                ) && pa == pb
                    && la != lb
                {
                    return Verdict::pass(format!(
                        "Both reach {pa}: {a} is (TCP, {}, {}, {}, {}) and {b} is (TCP, {}, {}, {}, {}); the local ports differ, so the tuples do.",
                        la.ip(),
                        la.port(),
                        pa.ip(),
                        pa.port(),
                        lb.ip(),
                        lb.port(),
                        pb.ip(),
                        pb.port()
                    ));
                }
            }
        }
    }
    Verdict::miss(
        "Not yet seen: two TCP sockets connected to the same server address and port at the same time (connect a second client before closing the first).",
    )
}

/// l10: three sendto() and three recvfrom() on one socket, each recvfrom one datagram.
pub(super) fn three_datagrams(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    // Datagrams sent, by (session, destination port), not yet matched to a recvfrom.
    let mut in_flight: BTreeMap<(usize, u16), Vec<Vec<u8>>> = BTreeMap::new();
    let mut received: BTreeMap<(usize, SocketId), Vec<Vec<u8>>> = BTreeMap::new();
    for call in answered(transcript) {
        model.apply(&call);
        match (call.op, call.outcome) {
            (Op::Sendto { data, address, .. }, Outcome::Ok(Done::Sendto { .. })) => {
                if let Some(port) = port_of(address) {
                    in_flight
                        .entry((call.session, port))
                        .or_default()
                        .push(data.as_bytes().to_vec());
                }
            }
            (
                Op::Recvfrom { socket, .. },
                Outcome::Ok(Done::Recvfrom {
                    data,
                    truncated: false,
                    ..
                }),
            ) => {
                let Some(port) = model
                    .get(*socket)
                    .and_then(|s| s.local.as_deref())
                    .and_then(port_of)
                else {
                    continue;
                };
                let queue = in_flight.entry((call.session, port)).or_default();
                // Exactly one datagram's bytes, never two run together.
                if let Some(at) = queue.iter().position(|d| d == data.as_bytes()) {
                    let datagram = queue.remove(at);
                    let got = received.entry((call.session, *socket)).or_default();
                    got.push(datagram);
                    if got.len() == 3 {
                        let list = got
                            .iter()
                            .map(|d| format!("\"{}\"", shown(d)))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Verdict::pass(format!(
                            "{socket} received three datagrams with three recvfrom() calls, each one whole datagram as sent: {list}."
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let best = received.values().map(Vec::len).max().unwrap_or(0);
    Verdict::miss(format!(
        "Seen so far: {best} of 3 datagrams sent with sendto() and received whole by recvfrom() on one socket."
    ))
}
