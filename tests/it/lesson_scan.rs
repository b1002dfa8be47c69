//! The port-scanning lesson's targets through the real relay: `machine.scan` names eight
//! consecutive loopback ports; a connect scan made by a session finds three open (connect
//! succeeds), four closed (the kernel's ECONNREFUSED) and one filtered (no answer at all: the
//! connect is still waiting long after the others answered, until the learner closes the
//! socket); every session may scan them; a datagram to their numbers stays refused; and the
//! targets end with the relay.
//!
//! "Filtered" is measured, not assumed: the connect is still waiting after 1.5 s while the others
//! answered at once, and `cancelled` when the learner closes it.

use std::time::Duration;

use socketlab_shared::{FromRelay, Op, Outcome, Payload, ScanTargets, SocketId};

use crate::support::{Client, Relay, tcp_port_is_free, within};

/// How long a connect to the filtered port must stay unanswered. The other ports answer in
/// microseconds on loopback; a dropped SYN is only resent after one second, and Linux then
/// waits some two minutes in all, so 1.5 s with no reply is "no response" beyond doubt. This
/// is the one wait in these tests that is meant to run out.
const NO_ANSWER: Duration = Duration::from_millis(1500);

/// What a connect scan saw at one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Open,
    Closed,
    Filtered,
}

fn targets(client: &Client) -> ScanTargets {
    match client.machine.clone() {
        Some(FromRelay::Machine {
            scan: Some(scan), ..
        }) => scan,
        other => panic!("no scan targets in machine: {other:?}"),
    }
}

fn addresses(scan: &ScanTargets) -> Vec<String> {
    (scan.ports.first..=scan.ports.last)
        .map(|port| format!("{}:{port}", scan.host))
        .collect()
}

/// A connect scan through the session, all ports at once, as nmap -sT does: each port's
/// connect succeeds (open), is refused by the kernel (closed) or is still waiting after
/// [`NO_ANSWER`] (filtered; then its socket is closed, which cancels the waiting connect).
async fn connect_scan(c: &mut Client, scan: &ScanTargets) -> Vec<Seen> {
    let mut calls: Vec<(SocketId, _)> = Vec::new();
    for address in addresses(scan) {
        let socket = c.tcp().await;
        let id = c.call(Op::Connect { socket, address }).await;
        calls.push((socket, id));
    }
    let mut seen = Vec::new();
    for (socket, id) in calls {
        let result = match tokio::time::timeout(NO_ANSWER, c.reply(id)).await {
            Ok(Outcome::Ok(_)) => Seen::Open,
            Ok(Outcome::Error(err)) if err.errno == "ECONNREFUSED" => Seen::Closed,
            Ok(other) => panic!("connect to a scan target answered {other:?}"),
            Err(_) => Seen::Filtered,
        };
        c.close(socket).await;
        if result == Seen::Filtered {
            match c.reply(id).await {
                Outcome::Cancelled { .. } => {}
                other => panic!("the waiting connect ended with {other:?}, not cancelled"),
            }
        }
        seen.push(result);
    }
    seen
}

#[tokio::test]
async fn a_connect_scan_finds_three_open_four_closed_and_one_filtered_port() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let scan = targets(&c);
    assert_eq!(scan.host, "127.0.0.1");
    assert_eq!(scan.ports.last - scan.ports.first, 7, "{scan:?}");
    assert!(
        scan.ports.first >= 20_000 && scan.ports.last < 32_768,
        "below the ephemeral range: {scan:?}"
    );
    let seen = connect_scan(&mut c, &scan).await;
    let count = |kind| seen.iter().filter(|s| **s == kind).count();
    assert_eq!(
        (
            count(Seen::Open),
            count(Seen::Closed),
            count(Seen::Filtered)
        ),
        (3, 4, 1),
        "{seen:?}"
    );
    // A second session scans the same ports and sees the same: the targets are shared, and
    // one session's scan changes nothing for the next.
    let mut other = relay.client().await;
    assert_eq!(targets(&other), scan);
    assert_eq!(connect_scan(&mut other, &scan).await, seen);
    relay.stop().await;
}

#[tokio::test]
async fn the_scan_targets_are_tcp_only_held_by_the_relay_and_end_with_it() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let scan = targets(&c);
    let udp = c.udp().await;
    for address in addresses(&scan) {
        // Held: no one else can take them (the closed ones included).
        assert!(
            !tcp_port_is_free(&address),
            "{address} is held by the relay"
        );
        let id = c
            .call(Op::Sendto {
                socket: udp,
                data: Payload::from("x"),
                address: address.clone(),
            })
            .await;
        match c.reply(id).await {
            Outcome::Refused { rule, .. } => assert_eq!(rule, "connect_not_owned"),
            other => panic!("a datagram to scan target {address}: {other:?}"),
        }
    }
    drop(c);
    relay.stop().await;
    // After the relay stopped, every port is free again (an open target's accepted
    // connections were closed by the relay first, so TIME_WAIT may linger there; those
    // are checked for a listener only).
    for address in addresses(&scan) {
        let refused = within(
            "a connect to a stopped scan target",
            tokio::net::TcpStream::connect(address.as_str()),
        )
        .await;
        assert!(
            refused.is_err(),
            "{address} still answers after the relay stopped"
        );
    }
}
