//! The relay's machine facts and lesson services (issue 5): `machine` and `service_names`
//! follow `capabilities` with this machine's real values; the echo services answer over TCP
//! and UDP through the relay's own sockets, for every session; the port forward relays to
//! echo_tcp over a second connection; the policy opens exactly their ports; and they end with
//! the relay. The scan targets and the knock door have their own files (`lesson_scan.rs`,
//! `lesson_knock.rs`).
//!
//! Pinned here: `machine` and `service_names` follow `capabilities` with this machine's real
//! `/proc` values and euid, and the first tcp/udp line of `/etc/services`; echo over TCP and UDP
//! for two sessions at once; `forward_tcp` relays to echo; the policy opens the service ports and
//! still refuses an outside loopback listener (`connect_not_owned`, for connect and sendto); the
//! services' ports are free again after `stop`.

use socketlab_shared::{
    Done, FromRelay, LessonService, Machine, Op, Outcome, Payload, PortRange, ServiceName,
    SocketId, Transport,
};

use crate::support::{Client, Relay, tcp_connect_is_refused};

/// The machine facts and lesson services a client was sent after capabilities.
fn machine(client: &Client) -> (Machine, Vec<LessonService>) {
    match client.machine.clone() {
        Some(FromRelay::Machine {
            machine, services, ..
        }) => (machine, services),
        other => panic!("no machine message after capabilities: {other:?}"),
    }
}

pub(crate) fn service(client: &Client, name: &str, transport: Transport) -> String {
    let (_, services) = machine(client);
    let service = services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} in {services:?}"));
    assert_eq!(service.transport, transport, "{service:?}");
    let address: std::net::SocketAddr = service.address.parse().expect("an address");
    assert!(address.ip().is_loopback(), "{service:?} is on loopback");
    assert_ne!(address.port(), 0, "{service:?} has a real port");
    service.address.clone()
}

/// This process's effective uid, from /proc/self/status (`Uid: real effective saved fs`).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux has /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("a Uid: line");
    line.split_whitespace()
        .nth(2)
        .expect("an effective uid")
        .parse()
        .expect("a number")
}

/// The first tcp or udp entry of /etc/services, read independently of the relay's parser.
fn first_services_entry() -> Option<(String, u16, Transport)> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|line| {
        let mut words = line.split('#').next()?.split_whitespace();
        let name = words.next()?;
        let (port, protocol) = words.next()?.split_once('/')?;
        let transport = match protocol {
            "tcp" => Transport::Tcp,
            "udp" => Transport::Udp,
            _ => return None,
        };
        Some((name.to_owned(), port.parse().ok()?, transport))
    })
}

#[tokio::test]
async fn machine_follows_capabilities_and_service_names_answer_a_request_with_this_machines_values()
{
    let relay = Relay::start().await;
    // `hello` insists on welcome, capabilities, machine in that order; no services list until
    // the page asks for it.
    let mut client = relay.client().await;
    assert!(client.service_names.is_none());
    let (facts, services) = machine(&client);
    assert_eq!(facts.os, std::env::consts::OS);
    assert_eq!(facts.root, effective_uid() == 0);
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .expect("Linux has net.ipv4.ip_unprivileged_port_start (kernel 4.11 or later)");
    assert_eq!(
        facts.unprivileged_port_start,
        Some(start.trim().parse().expect("a port"))
    );
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .expect("Linux has net.ipv4.ip_local_port_range");
    let ends: Vec<u16> = range
        .split_whitespace()
        .map(|w| w.parse().expect("a port"))
        .collect();
    assert_eq!(
        facts.ephemeral_ports,
        Some(PortRange {
            first: ends[0],
            last: ends[1]
        })
    );
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["echo_tcp", "echo_udp", "forward_tcp"]);
    service(&client, "echo_tcp", Transport::Tcp);
    service(&client, "echo_udp", Transport::Udp);
    service(&client, "forward_tcp", Transport::Tcp);

    // A call's reply comes through the same outbox after anything sent before it, so once it
    // is here a list sent unasked would be too: a session that does not ask carries no list.
    client.udp().await;
    assert!(
        !client.has_buffered(|m| matches!(m, FromRelay::ServiceNames { .. })),
        "service_names sent unasked"
    );
    let names = client.service_names().await;
    match first_services_entry() {
        Some((name, port, transport)) => assert!(
            names.iter().any(|n: &ServiceName| n.name == name
                && n.port == port
                && n.transport == transport),
            "/etc/services starts with {name} {port}/{transport:?}, missing from {names:?}"
        ),
        None => assert!(names.is_empty(), "no /etc/services, yet {names:?}"),
    }
    relay.stop().await;
}

/// socket, connect to echo_tcp, send, recv until the same bytes came back.
async fn tcp_round_trip(c: &mut Client, echo: &str, text: &str) -> SocketId {
    let socket = c.tcp().await;
    match c
        .ok(Op::Connect {
            socket,
            address: echo.into(),
        })
        .await
    {
        Done::Connect { peer, .. } => assert_eq!(peer, echo),
        other => panic!("connect returned {other:?}"),
    }
    c.ok(Op::Send {
        socket,
        data: Payload::from(text),
    })
    .await;
    let mut echoed = Vec::new();
    while echoed.len() < text.len() {
        match c.ok(Op::Recv { socket, max: 1024 }).await {
            Done::Recv { data } => {
                assert!(!data.as_bytes().is_empty(), "echo_tcp closed early");
                echoed.extend_from_slice(data.as_bytes());
            }
            other => panic!("recv returned {other:?}"),
        }
    }
    assert_eq!(echoed, text.as_bytes());
    socket
}

/// socket, sendto echo_udp, recvfrom: the same datagram, from the service.
async fn udp_round_trip(c: &mut Client, echo: &str, text: &str) {
    let socket = c.udp().await;
    c.bind(socket, "127.0.0.1:0").await;
    c.ok(Op::Sendto {
        socket,
        data: Payload::from(text),
        address: echo.into(),
    })
    .await;
    let got = c.ok(Op::Recvfrom { socket, max: 1024 }).await;
    assert_eq!(
        got,
        Done::Recvfrom {
            data: Payload::from(text),
            from: echo.into(),
            truncated: false,
        }
    );
}

#[tokio::test]
async fn echo_services_answer_every_session_through_the_relays_sockets() {
    let relay = Relay::start().await;
    let mut first = relay.client().await;
    let mut second = relay.client().await;
    let echo_tcp = service(&first, "echo_tcp", Transport::Tcp);
    let echo_udp = service(&first, "echo_udp", Transport::Udp);
    assert_eq!(machine(&first).1, machine(&second).1, "one set of services");

    // The first session keeps its connection open while the second makes its own.
    let held = tcp_round_trip(&mut first, &echo_tcp, "hello, echo").await;
    tcp_round_trip(&mut second, &echo_tcp, "and me").await;
    udp_round_trip(&mut first, &echo_udp, "one datagram").await;
    udp_round_trip(&mut second, &echo_udp, "another").await;
    first.close(held).await;
    relay.stop().await;
}

#[tokio::test]
async fn forward_tcp_relays_a_sessions_bytes_to_echo_tcp_over_a_second_connection() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let forward = service(&c, "forward_tcp", Transport::Tcp);
    let echo_tcp = service(&c, "echo_tcp", Transport::Tcp);
    assert_ne!(forward, echo_tcp);
    // The bytes come back through the forward: the session's one connection is to the
    // forward's port, and the echo answered over the relay's own second connection.
    let socket = tcp_round_trip(&mut c, &forward, "through the forward").await;
    match c.ok(Op::Getpeername { socket }).await {
        Done::Getpeername { address } => assert_eq!(address, forward),
        other => panic!("getpeername returned {other:?}"),
    }
    // The forward passes the learner's FIN on: shutdown(SHUT_WR) reaches echo_tcp, which
    // closes, and that end comes back as the end of the stream.
    c.ok(Op::Shutdown {
        socket,
        how: socketlab_shared::Shutdown::Write,
    })
    .await;
    assert_eq!(
        c.ok(Op::Recv { socket, max: 64 }).await,
        Done::Recv {
            data: Payload::from("")
        }
    );
    // forward_tcp is TCP only: a datagram to its number stays refused.
    let udp = c.udp().await;
    let id = c
        .call(Op::Sendto {
            socket: udp,
            data: Payload::from("x"),
            address: forward.clone(),
        })
        .await;
    match c.reply(id).await {
        Outcome::Refused { rule, .. } => assert_eq!(rule, "connect_not_owned"),
        other => panic!("sendto forward_tcp's number over UDP: {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_policy_opens_the_service_ports_and_nothing_else() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    // A program outside the relay, on loopback: still not reachable by a session.
    let outside = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let outside = outside.local_addr().expect("an address").to_string();
    let socket = c.tcp().await;
    let id = c
        .call(Op::Connect {
            socket,
            address: outside.clone(),
        })
        .await;
    match c.reply(id).await {
        Outcome::Refused { rule, .. } => assert_eq!(rule, "connect_not_owned"),
        other => panic!("connect to {outside} outside the relay: {other:?}"),
    }
    let udp = c.udp().await;
    let id = c
        .call(Op::Sendto {
            socket: udp,
            data: Payload::from("x"),
            address: outside.clone(),
        })
        .await;
    match c.reply(id).await {
        Outcome::Refused { rule, .. } => assert_eq!(rule, "connect_not_owned"),
        other => panic!("sendto {outside} outside the relay: {other:?}"),
    }
    // The services themselves are reachable.
    let echo_tcp = service(&c, "echo_tcp", Transport::Tcp);
    tcp_round_trip(&mut c, &echo_tcp, "still here").await;
    relay.stop().await;
}

#[tokio::test]
async fn the_services_end_with_the_relay() {
    let relay = Relay::start().await;
    let c = relay.client().await;
    let echo_tcp = service(&c, "echo_tcp", Transport::Tcp);
    let echo_udp = service(&c, "echo_udp", Transport::Udp);
    drop(c);
    relay.stop().await;
    assert!(
        tcp_connect_is_refused(&echo_tcp),
        "echo_tcp still listens on {echo_tcp} after the relay stopped"
    );
    assert!(
        std::net::UdpSocket::bind(&echo_udp).is_ok(),
        "echo_udp still holds {echo_udp} after the relay stopped"
    );
}
