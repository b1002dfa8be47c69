//! The exercises of lessons 11-15 (ephemeral ports, TIME_WAIT, restarting a server, binding
//! addresses, port conflicts) and their checks: pure functions of the session's transcript. Each
//! replays the kernel's successful answers (`socket_model`) and looks for the moment the exercise's
//! condition really held; the evidence quotes the kernel's own addresses and errnos.
//!
//! - `ephemeral-ports-watched` counts TCP connects only.
//! - `whoever-closes-first`: connections whose both ends are the session's, paired by mirrored
//!   addresses: one closed by the client first, one by the accepted socket first, and the typed
//!   answer that the second's TIME_WAIT is on the listener's port.
//! - `restart-with-reuseaddr` follows Linux's rule: the old listener's SO_REUSEADDR counts, and the
//!   server side must close first (no peer_closed event or end-of-stream recv before its close).
//! - `ipv6-only-server`.
//! - `conflict-then-share`: the EADDRINUSE counts only while another open socket of the same type
//!   holds that address and port, not a TIME_WAIT leftover.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use socketlab_shared::{
    Done, Event, Family, FromRelay, Op, Outcome, SockOpt, SocketId, SocketType,
};

use crate::course::exercises::socket_model::Model;
use crate::course::exercises::{Ask, Exercise, Verdict};
use crate::session::transcript::{Answered, Entry, answered, machine, port_of};

/// The two answers `whoever-closes-first` offers.
pub(crate) const TIME_WAIT_ON_SERVER: &str = "the server's port, the listener's P";
pub(crate) const TIME_WAIT_ON_CLIENT: &str = "the client's ephemeral port";

/// This part's exercises, in course order.
pub(super) const EXERCISES: &[Exercise] = &[
    Exercise {
        id: "ephemeral-ports-watched",
        title: "Watch the kernel pick client ports",
        task: "Make at least three TCP connections from sockets you did not bind first (socket(), then straight to connect()). The kernel picks each one's local port: all three must be different and inside this machine's ephemeral range.",
        ask: None,
    },
    Exercise {
        id: "whoever-closes-first",
        title: "Whoever closes first keeps the TIME_WAIT",
        task: "With one listener, end two connections: one closed by the client first, one closed by the server first (its accepted socket calls close() before the client does). Then say where the second one's TIME_WAIT is.",
        ask: Some(Ask {
            prompt: "After the server closed first, which port is the TIME_WAIT row's local port?",
            choices: &[TIME_WAIT_ON_SERVER, TIME_WAIT_ON_CLIENT],
        }),
    },
    Exercise {
        id: "restart-with-reuseaddr",
        title: "Restart a server both ways",
        task: "In one session: a listener with SO_REUSEADDR=1 on port P accepts a connection; the server's end closes first (TIME_WAIT lands on the server's side); the listener closes. Then a new socket WITHOUT SO_REUSEADDR must get EADDRINUSE binding port P, and a socket WITH SO_REUSEADDR=1 must bind port P and listen. (On Linux both the old listener and the new socket need the option.)",
        ask: None,
    },
    Exercise {
        id: "ipv6-only-server",
        title: "A server only IPv6 can reach",
        task: "Make an AF_INET6 TCP socket listen on a port P so that, while it listens, a connect() to [::1]:P succeeds and a connect() to 127.0.0.1:P gets ECONNREFUSED.",
        ask: None,
    },
    Exercise {
        id: "conflict-then-share",
        title: "A conflict, then a shared number",
        task: "Get EADDRINUSE from a bind(). Then have a TCP socket and a UDP socket bound to the same port number at the same time (both open).",
        ask: None,
    },
];

/// The verdict for exercise `id`, or `None` when `id` is not one of this part's.
pub(super) fn check(id: &str, transcript: &[Entry], answer: Option<&str>) -> Option<Verdict> {
    Some(match id {
        "ephemeral-ports-watched" => ephemeral_ports_watched(transcript),
        "whoever-closes-first" => whoever_closes_first(transcript, answer),
        "restart-with-reuseaddr" => restart_with_reuseaddr(transcript),
        "ipv6-only-server" => ipv6_only_server(transcript),
        "conflict-then-share" => conflict_then_share(transcript),
        _ => return None,
    })
}

fn addr(text: &str) -> Option<SocketAddr> {
    text.parse().ok()
}

fn errno_is(outcome: &Outcome, name: &str) -> bool {
    matches!(outcome, Outcome::Error(err) if err.errno == name)
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// l11: three successful connect() calls from unbound sockets, three different local ports,
/// all inside the machine's ephemeral range.
fn ephemeral_ports_watched(transcript: &[Entry]) -> Verdict {
    let Some((range, source)) = machine(transcript)
        .and_then(|(m, _)| m.ephemeral_ports.map(|r| (r, m.ephemeral_source.clone())))
    else {
        return Verdict::miss(
            "The relay has not told this page the machine's ephemeral port range (it reads it on Linux, macOS and Windows), so the ports cannot be checked against it. Reload the page once the relay is connected.",
        );
    };
    let source = match source {
        Some(socketlab_shared::FactSource::Setting { name }) => name,
        Some(socketlab_shared::FactSource::DocumentedDefault { .. }) => {
            "the platform's documented default".to_owned()
        }
        None => "net.ipv4.ip_local_port_range".to_owned(),
    };
    let inside = |port: u16| (range.first..=range.last).contains(&port);
    let mut model = Model::default();
    let mut picked: Vec<u16> = Vec::new();
    let mut outside: Vec<u16> = Vec::new();
    let mut bound_first = 0;
    for call in answered(transcript) {
        // Whether the socket had an address before this call: a connect() from a socket bound
        // first keeps the bound port, so the kernel chose nothing at connect time.
        let had_address = call
            .op
            .socket()
            .and_then(|id| model.get(id))
            .is_some_and(|s| s.local.is_some());
        // The task says TCP connections: a UDP connect() picks a port too, but sends nothing.
        let tcp = call
            .op
            .socket()
            .and_then(|id| model.get(id))
            .is_some_and(|s| s.kind == Some(SocketType::Stream));
        model.apply(&call);
        let (Op::Connect { .. }, Outcome::Ok(Done::Connect { local, .. })) =
            (call.op, call.outcome)
        else {
            continue;
        };
        if !tcp {
            continue;
        }
        let Some(port) = port_of(local) else { continue };
        if had_address {
            bound_first += 1;
        } else if !inside(port) {
            outside.push(port);
        } else if !picked.contains(&port) {
            picked.push(port);
            if picked.len() == 3 {
                return Verdict::pass(format!(
                    "Three connect() calls from unbound sockets got local ports {}: all different, all inside this machine's ephemeral range {}-{} ({source}).",
                    list(&picked),
                    range.first,
                    range.last
                ));
            }
        }
    }
    let mut hint = format!(
        "Seen so far: {} of 3 different ports picked by connect() from unbound sockets, inside {}-{}{}.",
        picked.len(),
        range.first,
        range.last,
        if picked.is_empty() {
            String::new()
        } else {
            format!(" ({})", list(&picked))
        }
    );
    if bound_first > 0 {
        hint.push_str(" Connects from sockets that were bound first do not count: the port came from bind(), not from connect(). Use socket() and then connect() directly.");
    }
    if !outside.is_empty() {
        hint.push_str(&format!(
            " Ports {} are outside the range: is the relay's range up to date?",
            list(&outside)
        ));
    }
    Verdict::miss(hint)
}

/// The peer-closed signs per socket: a `peer_closed` event or a `recv()` returning end of
/// stream, by (relay session, socket), with where in the transcript it was first seen.
fn peer_closed(transcript: &[Entry], calls: &[Answered<'_>]) -> BTreeMap<(usize, SocketId), usize> {
    let mut seen = BTreeMap::new();
    let mut session = 0;
    let mut welcomed = false;
    for (at, entry) in transcript.iter().enumerate() {
        match entry {
            Entry::Message(FromRelay::Welcome { .. }) => {
                if welcomed {
                    session += 1;
                }
                welcomed = true;
            }
            Entry::Message(FromRelay::Event {
                socket,
                event: Event::PeerClosed,
            }) => {
                seen.entry((session, *socket)).or_insert(at);
            }
            _ => {}
        }
    }
    for call in calls {
        if let (Op::Recv { socket, .. }, Outcome::Ok(Done::Recv { data })) = (call.op, call.outcome)
            && data.is_empty()
        {
            let first = seen.entry((call.session, *socket)).or_insert(call.at);
            *first = (*first).min(call.at);
        }
    }
    seen
}

/// A connection accepted on a listening port, as the restart exercise follows it.
#[derive(Debug, Clone)]
struct Accepted {
    listener: SocketId,
    /// The listener's SO_REUSEADDR when it accepted: the accepted socket inherits it, and so
    /// does the TIME_WAIT it leaves behind.
    listener_reuse: bool,
    port: u16,
    local: String,
    peer: String,
}

/// What the restart exercise has seen on one port, in one session.
#[derive(Debug, Default, Clone)]
struct Restart {
    /// The accepted connection whose server end closed first, and its listener's flag.
    server_closed_first: Option<(SocketId, Accepted)>,
    /// A bind to the port refused with EADDRINUSE on a socket without SO_REUSEADDR, after the
    /// server closed first and no listener was left on the port.
    refused_without: Option<SocketId>,
    /// A socket with SO_REUSEADDR=1 that bound the port after that refusal, not yet listening.
    bound_with: Option<SocketId>,
}

/// One connection of the session seen from both ends: a client socket's connect() and the
/// accepted socket whose addresses mirror it, with where each end's close() was answered.
struct Ends {
    client: SocketId,
    server: SocketId,
    /// The client's local address (its ephemeral port) and the server's (the listener's port).
    client_local: String,
    server_local: String,
    client_closed: Option<usize>,
    server_closed: Option<usize>,
}

/// Every connection whose two ends are both the session's, per relay session.
fn connections(transcript: &[Entry]) -> Vec<Ends> {
    let mut clients: Vec<(usize, SocketId, String, String)> = Vec::new();
    let mut ends: Vec<(usize, Ends)> = Vec::new();
    let mut closes: Vec<(usize, SocketId, usize)> = Vec::new();
    for call in answered(transcript) {
        match (call.op, call.outcome) {
            (Op::Connect { socket, .. }, Outcome::Ok(Done::Connect { local, peer })) => {
                clients.push((call.session, *socket, local.clone(), peer.clone()));
            }
            (
                Op::Accept { .. },
                Outcome::Ok(Done::Accept {
                    socket,
                    local,
                    peer,
                    ..
                }),
            ) => {
                // The client's connect() reply can come after the accept()'s: paired below.
                ends.push((
                    call.session,
                    Ends {
                        client: SocketId(0),
                        server: *socket,
                        client_local: peer.clone(),
                        server_local: local.clone(),
                        client_closed: None,
                        server_closed: None,
                    },
                ));
            }
            (Op::Close { socket }, Outcome::Ok(Done::Close)) => {
                closes.push((call.session, *socket, call.at));
            }
            _ => {}
        }
    }
    let closed = |session: usize, socket: SocketId| {
        closes
            .iter()
            .find(|(s, id, _)| *s == session && *id == socket)
            .map(|(_, _, at)| *at)
    };
    ends.into_iter()
        .filter_map(|(session, mut end)| {
            let (_, client, _, _) = clients.iter().find(|(s, _, local, peer)| {
                *s == session
                    && addr(local) == addr(&end.client_local)
                    && addr(peer) == addr(&end.server_local)
            })?;
            end.client = *client;
            end.client_closed = closed(session, end.client);
            end.server_closed = closed(session, end.server);
            Some(end)
        })
        .collect()
}

/// l12: one connection closed by the client first, one by the server first, and where the
/// second one's TIME_WAIT is.
fn whoever_closes_first(transcript: &[Entry], answer: Option<&str>) -> Verdict {
    let ends = connections(transcript);
    let first = |client_first: bool| {
        ends.iter()
            .find(|e| match (e.client_closed, e.server_closed) {
                (Some(c), Some(s)) => (c < s) == client_first,
                _ => false,
            })
    };
    let Some(by_client) = first(true) else {
        return Verdict::miss(
            "Not yet seen: a connection whose client end calls close() first, then the accepted socket (steps 3 to 5).",
        );
    };
    let Some(by_server) = first(false) else {
        return Verdict::miss(format!(
            "{} closed before {}: the client's side keeps that TIME_WAIT. Now the other way round: a new connection whose accepted socket calls close() first (steps 6 to 8).",
            by_client.client, by_client.server
        ));
    };
    match answer.map(str::trim) {
        Some(TIME_WAIT_ON_SERVER) => Verdict::pass(format!(
            "{} closed first, so its end {} kept the TIME_WAIT on the client's port; then {} (accepted) closed before {}, so the server's end {} kept it, on the listener's port.",
            by_client.client,
            by_client.client_local,
            by_server.server,
            by_server.client,
            by_server.server_local
        )),
        Some(TIME_WAIT_ON_CLIENT) => Verdict::miss(format!(
            "Look again at What the kernel has: the TIME_WAIT row of the connection the server closed first has local address {}, the listener's port. The active closer keeps it.",
            by_server.server_local
        )),
        _ => Verdict::miss(
            "Both ways done. Now pick the answer: which port did the TIME_WAIT row have after the server closed first?",
        ),
    }
}

/// l13: the restart of a server on the same port, without and then with SO_REUSEADDR.
fn restart_with_reuseaddr(transcript: &[Entry]) -> Verdict {
    let calls = answered(transcript);
    let closed_by_peer = peer_closed(transcript, &calls);
    let mut model = Model::default();
    let mut reuse: BTreeSet<SocketId> = BTreeSet::new();
    let mut accepted: BTreeMap<SocketId, Accepted> = BTreeMap::new();
    let mut restarts: BTreeMap<u16, Restart> = BTreeMap::new();
    // The most telling thing that went wrong, for the hint.
    let mut problem: Option<String> = None;
    for call in &calls {
        if call.session != model.session {
            reuse.clear();
            accepted.clear();
            restarts.clear();
        }
        let before = call.op.socket().and_then(|id| model.get(id)).cloned();
        model.apply(call);
        match (call.op, call.outcome) {
            (
                Op::Setsockopt {
                    socket,
                    option: SockOpt::SoReuseaddr,
                    ..
                },
                Outcome::Ok(Done::Setsockopt { value, .. }),
            ) => {
                if *value != 0 {
                    reuse.insert(*socket);
                } else {
                    reuse.remove(socket);
                }
            }
            (
                Op::Accept { socket },
                Outcome::Ok(Done::Accept {
                    socket: new,
                    local,
                    peer,
                    ..
                }),
            ) => {
                if let Some(port) = port_of(local) {
                    accepted.insert(
                        *new,
                        Accepted {
                            listener: *socket,
                            listener_reuse: reuse.contains(socket),
                            port,
                            local: local.clone(),
                            peer: peer.clone(),
                        },
                    );
                }
            }
            (Op::Close { socket }, Outcome::Ok(Done::Close)) => {
                let Some(conn) = accepted.get(socket) else {
                    continue;
                };
                if before.is_none_or(|s| !s.open) {
                    continue;
                }
                // The peer closed first if its FIN was seen on this socket, or if the peer is a
                // socket of this session that was closed already.
                let fin_seen = closed_by_peer
                    .get(&(call.session, *socket))
                    .is_some_and(|at| *at < call.at);
                let peer_gone = model.sockets.values().any(|s| {
                    !s.open
                        && s.local.as_deref() == Some(conn.peer.as_str())
                        && s.peer.as_deref() == Some(conn.local.as_str())
                });
                if fin_seen || peer_gone {
                    problem.get_or_insert(format!(
                        "{socket}'s peer closed first, so the TIME_WAIT is on the client's side and port {} is free for the server again. Close the accepted socket ({socket}) BEFORE the client.",
                        conn.port
                    ));
                } else {
                    restarts.entry(conn.port).or_default().server_closed_first =
                        Some((*socket, conn.clone()));
                }
            }
            (Op::Bind { socket, address }, outcome) => {
                let Some(port) = port_of(address) else {
                    continue;
                };
                let Some(restart) = restarts.get_mut(&port) else {
                    continue;
                };
                let Some((_, conn)) = restart.server_closed_first.clone() else {
                    continue;
                };
                let listening_there = model.sockets.values().any(|s| {
                    s.open && s.listening && s.local.as_deref().and_then(port_of) == Some(port)
                });
                if listening_there {
                    continue;
                }
                let with = reuse.contains(socket);
                match outcome {
                    Outcome::Error(_) if errno_is(outcome, "EADDRINUSE") => {
                        if !with {
                            restart.refused_without.get_or_insert(*socket);
                        } else if !conn.listener_reuse {
                            problem = Some(format!(
                                "{socket} had SO_REUSEADDR and still got EADDRINUSE on port {port}: the old listener {} did not have it, and on Linux the TIME_WAIT keeps the old socket's flag. Both need it. Start over on a new port: set SO_REUSEADDR=1 on the listener before its bind().",
                                conn.listener
                            ));
                        }
                    }
                    Outcome::Ok(Done::Bind { .. }) => {
                        if with && restart.refused_without.is_some() {
                            if conn.listener_reuse {
                                restart.bound_with = Some(*socket);
                            } else {
                                problem = Some(format!(
                                    "{socket} bound port {port}, but the old listener {} had no SO_REUSEADDR: Linux allows that bind only once the old connection's TIME_WAIT is over (60 s), so it does not show what the option does. Start over on a new port with SO_REUSEADDR=1 on the listener too.",
                                    conn.listener
                                ));
                            }
                        } else if restart.refused_without.is_none() {
                            problem = Some(format!(
                                "{socket} bound port {port} before any bind there was refused: first try a new socket WITHOUT SO_REUSEADDR (it must get EADDRINUSE), then one with it."
                            ));
                        }
                    }
                    _ => {}
                }
            }
            (Op::Listen { socket, .. }, Outcome::Ok(Done::Listen { local })) => {
                let Some(port) = port_of(local) else { continue };
                let Some(restart) = restarts.get(&port) else {
                    continue;
                };
                if let (Some((closed, conn)), Some(refused), Some(bound)) = (
                    &restart.server_closed_first,
                    restart.refused_without,
                    restart.bound_with,
                ) && bound == *socket
                {
                    return Verdict::pass(format!(
                        "{} (SO_REUSEADDR=1) listened on port {port}; its accepted {closed} closed first, so the TIME_WAIT was on the server's side; {} closed. Then bind() of {refused} without SO_REUSEADDR got EADDRINUSE, and {socket} with SO_REUSEADDR=1 bound {local} and listened.",
                        conn.listener, conn.listener
                    ));
                }
            }
            _ => {}
        }
    }
    let seen = restarts
        .values()
        .find_map(|r| r.server_closed_first.clone());
    if let Some(problem) = problem {
        return Verdict::miss(problem);
    }
    Verdict::miss(match seen {
        None => "Not yet seen: a listener accepting a connection whose server end (the accepted socket) is closed before the client's. Set SO_REUSEADDR=1 on the server socket before bind(), then bind, listen, connect a client, accept, and close the accepted socket first.".to_owned(),
        Some((closed, conn)) => format!(
            "{closed} on port {} closed first (TIME_WAIT on the server's side). Next: close the listener {}, then bind() port {} on a new socket without SO_REUSEADDR (EADDRINUSE), then with SO_REUSEADDR=1 bind and listen.",
            conn.port, conn.listener, conn.port
        ),
    })
}

/// l13: an AF_INET6 listener reachable at `[::1]:P` but refused at `127.0.0.1:P`.
fn ipv6_only_server(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    let mut family: BTreeMap<SocketId, Family> = BTreeMap::new();
    // Per (listener, port): the IPv6 connect that worked and the IPv4 one that was refused.
    let mut seen: BTreeMap<(usize, SocketId), (Option<String>, Option<String>)> = BTreeMap::new();
    for call in answered(transcript) {
        if call.session != model.session {
            family.clear();
        }
        model.apply(&call);
        if let Outcome::Ok(Done::Socket {
            socket, family: f, ..
        }) = call.outcome
        {
            family.insert(*socket, *f);
        }
        let Op::Connect { address, .. } = call.op else {
            continue;
        };
        let Some(target) = addr(address) else {
            continue;
        };
        let ok = matches!(call.outcome, Outcome::Ok(Done::Connect { .. }));
        let refused = errno_is(call.outcome, "ECONNREFUSED");
        let v6_loopback = target.ip() == std::net::Ipv6Addr::LOCALHOST;
        let v4_loopback = target.ip() == std::net::Ipv4Addr::LOCALHOST;
        if !((ok && v6_loopback) || (refused && v4_loopback)) {
            continue;
        }
        // Every AF_INET6 TCP socket listening on that port right now.
        let listeners: Vec<SocketId> = model
            .sockets
            .iter()
            .filter(|(id, s)| {
                s.open
                    && s.listening
                    && s.kind == Some(SocketType::Stream)
                    && family.get(id) == Some(&Family::Ipv6)
                    && s.local.as_deref().and_then(port_of) == Some(target.port())
            })
            .map(|(id, _)| *id)
            .collect();
        for listener in listeners {
            let entry = seen.entry((call.session, listener)).or_default();
            if ok {
                entry.0.get_or_insert(address.clone());
            } else {
                entry.1.get_or_insert(address.clone());
            }
            if let (Some(v6), Some(v4)) = entry.clone() {
                let local = model
                    .get(listener)
                    .and_then(|s| s.local.clone())
                    .unwrap_or_default();
                return Verdict::pass(format!(
                    "{listener} (AF_INET6) listened on {local}: connect() to {v6} succeeded, connect() to {v4} got ECONNREFUSED while it listened. Reachable over IPv6 loopback only."
                ));
            }
        }
    }
    if let Some((v6, v4)) = seen.values().next() {
        return Verdict::miss(match (v6, v4) {
            (Some(v6), _) => format!(
                "connect() to {v6} worked. Now, while the listener still listens, connect to 127.0.0.1 on the same port from an AF_INET socket: it must be refused."
            ),
            (_, _) => "127.0.0.1 was refused. Now, while the listener still listens, connect() to [::1] on the same port from an AF_INET6 socket.".to_owned(),
        });
    }
    Verdict::miss(
        "Not yet seen: an AF_INET6 TCP socket listening on a port P, with a connect() to [::1]:P that succeeds and a connect() to 127.0.0.1:P that gets ECONNREFUSED, both while it listens.",
    )
}

/// l14: a bind refused with EADDRINUSE because another open socket of the same type held that
/// address and port (not a TIME_WAIT leftover of lesson 12, which no socket holds), and a TCP
/// and a UDP socket bound to one port number at the same time.
fn conflict_then_share(transcript: &[Entry]) -> Verdict {
    let mut model = Model::default();
    let mut conflict: Option<String> = None;
    let mut shared: Option<String> = None;
    for call in answered(transcript) {
        model.apply(&call);
        if let (Op::Bind { socket, address }, outcome) = (call.op, call.outcome)
            && errno_is(outcome, "EADDRINUSE")
            && conflict.is_none()
        {
            let kind = model.sockets.get(socket).and_then(|s| s.kind);
            let wanted = address.parse::<SocketAddr>().ok();
            let holder = model.sockets.iter().find(|(id, s)| {
                *id != socket
                    && s.open
                    && s.kind == kind
                    && s.local
                        .as_deref()
                        .and_then(|l| l.parse::<SocketAddr>().ok())
                        .zip(wanted)
                        .is_some_and(|(held, wanted)| overlaps(held, wanted))
            });
            if let Some((holder, held)) = holder {
                let at = held.local.as_deref().unwrap_or_default();
                conflict = Some(format!(
                    "bind({socket}, {address}) got EADDRINUSE while {holder} held {at}"
                ));
            }
        }
        if shared.is_some() || !matches!(call.outcome, Outcome::Ok(Done::Bind { .. })) {
            continue;
        }
        let bound = |kind: SocketType| -> Vec<(SocketId, String)> {
            model
                .sockets
                .iter()
                .filter(|(_, s)| s.open && s.kind == Some(kind))
                .filter_map(|(id, s)| s.local.clone().map(|l| (*id, l)))
                .collect()
        };
        let udp = bound(SocketType::Datagram);
        'tcp: for (t, tl) in bound(SocketType::Stream) {
            for (u, ul) in &udp {
                if port_of(&tl).is_some_and(|p| p != 0) && port_of(&tl) == port_of(ul) {
                    shared = Some(format!(
                        "TCP {t} on {tl} and UDP {u} on {ul} were bound at the same time"
                    ));
                    break 'tcp;
                }
            }
        }
    }
    match (conflict, shared) {
        (Some(c), Some(s)) => Verdict::pass(format!(
            "{c}: one address, port and protocol, one socket. And {s}: one port number, two protocols, no conflict."
        )),
        (Some(c), None) => Verdict::miss(format!(
            "{c}. Still missing: a TCP socket and a UDP socket bound to the same port number, both open at the same time."
        )),
        (None, Some(s)) => Verdict::miss(format!(
            "{s}. Still missing: a bind() refused with EADDRINUSE while another open socket of the same type holds that address and port (a TIME_WAIT leftover does not count: bind a second socket to a port a socket still holds)."
        )),
        (None, None) => Verdict::miss(
            "Not yet seen: a bind() refused with EADDRINUSE, nor a TCP and a UDP socket bound to the same port number at once.",
        ),
    }
}

/// Whether a socket bound at `held` conflicts with a bind to `wanted` as the kernel sees it:
/// the same port, and the same address or a wildcard on either side.
fn overlaps(held: SocketAddr, wanted: SocketAddr) -> bool {
    held.port() == wanted.port()
        && (held.ip() == wanted.ip() || held.ip().is_unspecified() || wanted.ip().is_unspecified())
}

#[cfg(test)]
#[path = "ports_in_use_tests.rs"]
mod tests;
