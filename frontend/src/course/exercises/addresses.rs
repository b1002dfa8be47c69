//! The exercises of lessons 16-17 (IP addresses, looking at ports) and their checks: pure functions
//! of the session's transcript (and the typed answer, where the exercise asks one).
//! `ip-conversions` is judged on the typed answer alone (`ANSWER_ONLY`: four addresses, each broken
//! rule named, by `facts::ip_address`); `mapped-peer` on the kernel's accept() and connect()
//! replies (an AF_INET6 listener accepted `[::ffff:a.b.c.d]:p` from the session's AF_INET socket);
//! `read-the-ss-line` on the typed Peer Address:Port, which must be a client end of a connection to
//! one of the session's listeners, against the connect() and accept() replies, since the kernel
//! view's rows (what the listings are drawn from) are not in the transcript.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use socketlab_shared::{Done, Family, Op, Outcome, SocketId};

use crate::course::exercises::{Ask, Exercise, Verdict};
use crate::course::facts::ip_address::{Address, canonical, canonical_problems, parse};
use crate::session::transcript::{Entry, answered};

/// This part's exercises judged on the typed answer alone, with no call to the kernel.
pub(super) const ANSWER_ONLY: &[&str] = &["ip-conversions"];

/// The addresses `ip-conversions` asks about, in order, each showing one rule.
pub(crate) const CONVERSIONS: [&str; 4] = [
    "2001:0DB8:0000:0000:0000:0000:0000:0001",
    "2001:db8:0:0:1:0:0:1",
    "2001:db8:0:1:1:1:1:1",
    "0:0:0:0:0:ffff:c000:0201",
];

/// This part's exercises, in course order.
pub(super) const EXERCISES: &[Exercise] = &[
    Exercise {
        id: "ip-conversions",
        title: "Four addresses, canonically",
        task: "Write each of these IPv6 addresses in its canonical form (RFC 5952), in this order: (1) 2001:0DB8:0000:0000:0000:0000:0000:0001 (2) 2001:db8:0:0:1:0:0:1 (3) 2001:db8:0:1:1:1:1:1 (4) 0:0:0:0:0:ffff:c000:0201",
        ask: Some(Ask {
            prompt: "The four canonical forms, in order, separated by spaces:",
            choices: &[],
        }),
    },
    Exercise {
        id: "mapped-peer",
        title: "An IPv4 client, seen by an IPv6 socket",
        task: "Make an AF_INET6 listener with IPV6_V6ONLY set to 0, bound to [::ffff:127.0.0.1]:0. Connect an AF_INET (IPv4) socket to 127.0.0.1 and that port, and accept() the connection: the listener must see its peer as an IPv4-mapped address.",
        ask: None,
    },
    Exercise {
        id: "read-the-ss-line",
        title: "Read the ss line",
        task: "Make a listening socket and connect a client to it. In the ss -tan listing, find the server's end of the connection: the ESTAB line whose Local Address:Port is the listener's address. Type its Peer Address:Port.",
        ask: Some(Ask {
            prompt: "Peer Address:Port of the server's ESTAB line:",
            choices: &[],
        }),
    },
];

/// The verdict for exercise `id`, or `None` when `id` is not one of this part's.
pub(super) fn check(id: &str, transcript: &[Entry], answer: Option<&str>) -> Option<Verdict> {
    match id {
        "ip-conversions" => Some(ip_conversions(answer)),
        "mapped-peer" => Some(mapped_peer(transcript)),
        "read-the-ss-line" => Some(read_the_ss_line(transcript, answer)),
        _ => None,
    }
}

/// l15: the four addresses of `CONVERSIONS`, each written exactly canonically.
fn ip_conversions(answer: Option<&str>) -> Verdict {
    let Some(answer) = answer.map(str::trim).filter(|a| !a.is_empty()) else {
        return Verdict::miss(
            "Type the four canonical forms, in order, separated by spaces. The IP address widget above shows each rule applied, step by step.",
        );
    };
    let typed: Vec<&str> = answer
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .collect();
    if typed.len() != CONVERSIONS.len() {
        return Verdict::miss(format!(
            "Four answers are needed, one per address, separated by spaces; this has {}.",
            typed.len()
        ));
    }
    let mut wrong = Vec::new();
    let mut right = Vec::new();
    for (n, (given, asked)) in typed.iter().zip(CONVERSIONS).enumerate() {
        let Ok(Address::V6(want)) = parse(asked) else {
            return Verdict::miss("The exercise's own address does not parse (a bug).");
        };
        let canon = canonical(&want);
        let number = n + 1;
        match parse(given) {
            Ok(Address::V6(groups)) if groups == want => {
                let problems = canonical_problems(given, &groups);
                if problems.is_empty() {
                    right.push(format!("({number}) {canon}"));
                } else {
                    wrong.push(format!(
                        "({number}) {given} is the right address, but: {}.",
                        problems.join("; ")
                    ));
                }
            }
            Ok(_) => wrong.push(format!(
                "({number}) {given} is a different address from {asked}: check which groups are zero."
            )),
            Err(why) => wrong.push(format!("({number}) {given}: {why}")),
        }
    }
    if wrong.is_empty() {
        Verdict::pass(format!("All four canonical: {}.", right.join(", ")))
    } else {
        Verdict::miss(wrong.join(" "))
    }
}

/// The families of the sockets `socket()` made, by (relay session, id).
fn families(transcript: &[Entry]) -> BTreeMap<(usize, SocketId), Family> {
    answered(transcript)
        .iter()
        .filter_map(|call| match call.outcome {
            Outcome::Ok(Done::Socket { socket, family, .. }) => {
                Some(((call.session, *socket), *family))
            }
            _ => None,
        })
        .collect()
}

/// l15: an AF_INET6 listener accepted a connection whose peer is IPv4-mapped, and that peer is
/// the local address of an AF_INET socket of the same session that connected.
fn mapped_peer(transcript: &[Entry]) -> Verdict {
    let calls = answered(transcript);
    let families = families(transcript);
    // Every IPv4 client's own address, as connect() reported it.
    let clients: BTreeMap<(usize, SocketAddr), SocketId> = calls
        .iter()
        .filter_map(|call| match (call.op, call.outcome) {
            (Op::Connect { socket, .. }, Outcome::Ok(Done::Connect { local, .. }))
                if families.get(&(call.session, *socket)) == Some(&Family::Ipv4) =>
            {
                local.parse().ok().map(|a| ((call.session, a), *socket))
            }
            _ => None,
        })
        .collect();
    let mut seen: Option<String> = None;
    for call in &calls {
        let (Op::Accept { socket: listener }, Outcome::Ok(Done::Accept { socket, peer, .. })) =
            (call.op, call.outcome)
        else {
            continue;
        };
        if families.get(&(call.session, *listener)) != Some(&Family::Ipv6) {
            seen.get_or_insert(format!(
                "{listener} is an AF_INET socket, so it sees IPv4 peers as IPv4 ({peer}). The listener must be made with AF_INET6."
            ));
            continue;
        }
        let mapped = match peer.parse::<SocketAddr>() {
            Ok(SocketAddr::V6(v6)) => v6
                .ip()
                .to_ipv4_mapped()
                .map(|v4| SocketAddr::new(v4.into(), v6.port())),
            _ => None,
        };
        let Some(v4) = mapped else {
            seen = Some(format!(
                "{listener} accepted {peer}: an IPv6 client. Connect an AF_INET (IPv4) socket to 127.0.0.1 and the listener's port instead."
            ));
            continue;
        };
        match clients.get(&(call.session, v4)) {
            Some(client) => {
                return Verdict::pass(format!(
                    "The AF_INET6 listener {listener} accepted {socket} with peer {peer}: that is the IPv4 client {client} at {v4}, written as an IPv4-mapped IPv6 address (::ffff:0:0/96)."
                ));
            }
            None => {
                seen = Some(format!(
                    "{listener} accepted {peer}, an IPv4-mapped peer, but no AF_INET socket of this session connected from {v4}. Make the client with AF_INET (IPv4)."
                ));
            }
        }
    }
    Verdict::miss(seen.unwrap_or_else(|| {
        "Not yet seen: accept() on an AF_INET6 listener returning a connection. Make the listener (AF_INET6, setsockopt IPV6_V6ONLY 0, bind [::ffff:127.0.0.1]:0, listen), connect an IPv4 client to 127.0.0.1 and its port, then accept().".to_owned()
    }))
}

/// l16: the typed Peer Address:Port of the server's end is the address connect() gave a client
/// of one of the session's listeners (the client's ephemeral port), or an accepted peer.
fn read_the_ss_line(transcript: &[Entry], answer: Option<&str>) -> Verdict {
    let calls = answered(transcript);
    let listeners: Vec<(usize, SocketAddr)> = calls
        .iter()
        .filter_map(|call| match call.outcome {
            Outcome::Ok(Done::Listen { local }) => local.parse().ok().map(|a| (call.session, a)),
            _ => None,
        })
        .collect();
    // The client ends of connections to those listeners: connect()'s local address, and
    // accept()'s peer (the same address, seen from the server).
    let mut clients: Vec<SocketAddr> = Vec::new();
    for call in &calls {
        let found = match call.outcome {
            Outcome::Ok(Done::Connect { local, peer }) => peer
                .parse::<SocketAddr>()
                .ok()
                .filter(|p| listeners.contains(&(call.session, *p)))
                .and_then(|_| local.parse().ok()),
            Outcome::Ok(Done::Accept { peer, .. }) => peer.parse().ok(),
            _ => None,
        };
        if let Some(address) = found.filter(|a| !clients.contains(a)) {
            clients.push(address);
        }
    }
    if listeners.is_empty() || clients.is_empty() {
        return Verdict::miss(
            "Not yet seen: a listening socket and a client connected to it. In the Server panel press socket(), bind(), listen(); in the Client panel socket() and connect().",
        );
    }
    let Some(answer) = answer.map(str::trim).filter(|a| !a.is_empty()) else {
        return Verdict::miss(
            "The connection is there. Now read the server's ESTAB line in the ss -tan listing and type its Peer Address:Port.",
        );
    };
    let typed_port: Option<u16> = answer
        .parse::<SocketAddr>()
        .ok()
        .map(|a| a.port())
        .or_else(|| answer.parse().ok());
    let exact = answer.parse::<SocketAddr>().ok();
    let matched = clients.iter().find(|c| match exact {
        Some(exact) => **c == exact,
        None => Some(c.port()) == typed_port,
    });
    if let Some(client) = matched {
        return Verdict::pass(format!(
            "{client} is the client's end: the kernel picked ephemeral port {} for its connect(), and the server's line shows it as Peer Address:Port.",
            client.port()
        ));
    }
    if listeners.iter().any(|(_, l)| Some(l.port()) == typed_port) {
        return Verdict::miss(
            "That is the listener's own port, the server's Local Address:Port. The Peer column of the server's ESTAB line holds the other end: the client's port, which the kernel chose.",
        );
    }
    Verdict::miss(
        "That is not the client end of a connection to your listener in this session. Type it as ss shows it, for example 127.0.0.1:51234.",
    )
}
