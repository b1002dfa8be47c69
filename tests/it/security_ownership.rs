//! The ways around the policy that key on the wrong thing, tried through the real relay as an
//! attacker would (issue 9): a port owned by its number alone, a wildcard bind the kernel makes
//! on its own, a connected datagram socket whose peer port changed hands, a sweep of released
//! ports, and the lesson services' numbers. Loopback only; the "program outside the relay" is
//! this test process's own socket, which no session holds.
//!
//! Pinned here: an outside program's port on one loopback address is refused on every other
//! (127.0.0.2, ::1, v4-mapped; sharing or not; UDP too), and bindable once it is gone; a session
//! holding `[::1]:P` neither reaches `127.0.0.1:P` (an outside program) nor captures its packets
//! (its own connection is the control); the lesson services' numbers cannot be bound on any address
//! and are reached only at their address; listen / sendto on a socket never bound are refused
//! (`autobind_wildcard`, still unbound) while connect binds loopback; a connected UDP socket's send
//! / recv / recvfrom are refused once its peer port is another session's (B's own datagram first in
//! B's queue is the control); a released port an outside program took is `connect_port_taken`
//! (ECONNREFUSED before: the control); only the latest 64 released ports are kept; 0.0.0.0 and
//! ::ffff:0.0.0.0 destinations are loopback for every rule; an outside program's TIME_WAIT is the
//! kernel's to judge (EADDRINUSE without SO_REUSEADDR, bound with it).

use std::net::{TcpListener, TcpStream, UdpSocket};

use socketlab_relay::{Config, Limits};
use socketlab_shared::{
    CallId, Done, Family, Op, Payload, SockOpt, SocketId, SocketType, Transport,
};

use crate::capture::{capturing, packets_until};
use crate::lesson_services::service;
use crate::security_policy::{bind_call, connect, local, port, refused, share_port};
use crate::support::{Client, Relay};

async fn sendto_call(c: &mut Client, socket: SocketId, address: &str) -> CallId {
    c.call(Op::Sendto {
        socket,
        data: Payload::from("x"),
        address: address.into(),
    })
    .await
}

#[tokio::test]
async fn a_port_held_outside_the_relay_on_one_loopback_address_cannot_be_bound_on_any() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let outside = TcpListener::bind("127.0.0.1:0").expect("an outside listener");
    let p = outside.local_addr().expect("its address").port();
    for (family, address, share) in [
        (Family::Ipv4, format!("127.0.0.1:{p}"), false),
        (Family::Ipv4, format!("127.0.0.2:{p}"), false),
        (Family::Ipv4, format!("127.0.0.2:{p}"), true),
        (Family::Ipv6, format!("[::1]:{p}"), false),
        (Family::Ipv6, format!("[::1]:{p}"), true),
        (Family::Ipv6, format!("[::ffff:127.0.0.3]:{p}"), false),
    ] {
        let socket = c.socket(family, SocketType::Stream).await;
        if share {
            share_port(&mut c, socket, SockOpt::SoReuseaddr).await;
            share_port(&mut c, socket, SockOpt::SoReuseport).await;
        }
        let id = bind_call(&mut c, socket, &address).await;
        assert_eq!(
            refused(&mut c, id).await,
            "bind_port_in_use_outside",
            "{address}"
        );
        assert!(local(&mut c, socket).await.ends_with(":0"), "unbound");
        c.close(socket).await;
    }
    // UDP alike: an outside program on [::1]:Q keeps 127.0.0.1:Q from the session.
    let outside_udp = UdpSocket::bind("[::1]:0").expect("an outside UDP socket");
    let q = outside_udp.local_addr().expect("its address").port();
    let udp = c.udp().await;
    let id = bind_call(&mut c, udp, &format!("127.0.0.1:{q}")).await;
    assert_eq!(refused(&mut c, id).await, "bind_port_in_use_outside");
    // The control: once the outside program lets go, the same binds go through.
    drop((outside, outside_udp));
    let v6 = c.socket(Family::Ipv6, SocketType::Stream).await;
    let bound = c.bind(v6, &format!("[::1]:{p}")).await;
    assert_eq!(bound, format!("[::1]:{p}"));
    assert_eq!(
        c.bind(udp, &format!("127.0.0.1:{q}")).await,
        format!("127.0.0.1:{q}")
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_session_holds_the_address_it_bound_not_the_port_number() {
    let relay = Relay::start().await;
    let mut a = capturing(&relay).await;
    let mut b = relay.client().await;
    let server = a.socket(Family::Ipv6, SocketType::Stream).await;
    let own = a.bind(server, "[::1]:0").await;
    a.listen(server).await;
    let p = port(&own);
    let theirs = format!("127.0.0.1:{p}");
    // While nothing holds 127.0.0.1:P, A's connect there is the kernel's lesson (an IPv6
    // server is not reached over IPv4: ECONNREFUSED); B has no business with the number.
    let first = a.tcp().await;
    let id = connect(&mut a, first, &theirs).await;
    assert_eq!(a.errno(id).await.errno, "ECONNREFUSED");
    let stranger = b.tcp().await;
    let id = connect(&mut b, stranger, &theirs).await;
    assert_eq!(refused(&mut b, id).await, "connect_not_owned");
    // A program outside the relay takes the same number on 127.0.0.1: the kernel allows it.
    let outside = TcpListener::bind(("127.0.0.1", p)).expect("the number is free on 127.0.0.1");

    // Neither session reaches it: A holds [::1]:P, not P.
    let client = a.tcp().await;
    let id = connect(&mut a, client, &theirs).await;
    assert_eq!(refused(&mut a, id).await, "connect_port_taken", "{theirs}");
    let client = b.tcp().await;
    let id = connect(&mut b, client, &theirs).await;
    assert_eq!(refused(&mut b, id).await, "connect_not_owned", "{theirs}");
    let v6 = b.socket(Family::Ipv6, SocketType::Stream).await;
    let id = connect(&mut b, v6, &own).await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session", "{own}");

    // A's capture shows none of that program's traffic, first bytes included. The outside
    // connection goes first; A's own connection after it is the control: its packets arrive,
    // in order, after everything the outside one made.
    let mut stream = TcpStream::connect(&theirs).expect("connect to the outside listener");
    let (mut accepted, _) = outside.accept().expect("accept");
    std::io::Write::write_all(&mut stream, b"secret").expect("write");
    let mut buf = [0; 6];
    std::io::Read::read_exact(&mut accepted, &mut buf).expect("read");
    let client = a.socket(Family::Ipv6, SocketType::Stream).await;
    a.ok(Op::Connect {
        socket: client,
        address: own.clone(),
    })
    .await;
    let trace = packets_until(&mut a, "A's own SYN-ACK", |packet| {
        packet.src == own && packet.flags.len() == 2
    })
    .await;
    // (A's own refused connect to 127.0.0.1:P before is A's: its SYN and RST may be there.)
    let outside_client = stream.local_addr().expect("its address").to_string();
    assert!(
        trace.iter().all(|packet| packet.src != outside_client
            && packet.dst != outside_client
            && packet.head.0 != b"secret"),
        "{trace:?}"
    );
    assert!(
        trace.iter().any(|packet| packet.dst == own),
        "A's SYN: {trace:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn the_lesson_services_numbers_cannot_be_bound_on_any_address() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let echo = service(&a, "echo_tcp", Transport::Tcp);
    let forward = service(&a, "forward_tcp", Transport::Tcp);
    for address in [
        format!("[::1]:{}", port(&echo)),
        format!("127.0.0.2:{}", port(&echo)),
        format!("[::1]:{}", port(&forward)),
    ] {
        let family = if address.starts_with('[') {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        let socket = a.socket(family, SocketType::Stream).await;
        share_port(&mut a, socket, SockOpt::SoReuseport).await;
        let id = bind_call(&mut a, socket, &address).await;
        assert_eq!(
            refused(&mut a, id).await,
            "bind_lesson_service_port",
            "{address}"
        );
    }
    let udp = a.socket(Family::Ipv6, SocketType::Datagram).await;
    let id = bind_call(&mut a, udp, &format!("[::1]:{}", port(&echo))).await;
    assert_eq!(
        refused(&mut a, id).await,
        "bind_lesson_service_port",
        "echo_udp's number"
    );
    // The control: every session still reaches the service at its address.
    let client = b.tcp().await;
    b.ok(Op::Connect {
        socket: client,
        address: echo.clone(),
    })
    .await;
    // ... and only there: the same number at another address is not the service.
    let elsewhere = b.socket(Family::Ipv6, SocketType::Stream).await;
    let id = connect(&mut b, elsewhere, &format!("[::1]:{}", port(&echo))).await;
    assert_eq!(refused(&mut b, id).await, "connect_not_owned");
    relay.stop().await;
}

#[tokio::test]
async fn listen_or_sendto_on_a_socket_never_bound_is_refused_but_connect_binds_loopback() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    for family in [Family::Ipv4, Family::Ipv6] {
        let stream = c.socket(family, SocketType::Stream).await;
        let id = c
            .call(Op::Listen {
                socket: stream,
                backlog: 4,
            })
            .await;
        assert_eq!(refused(&mut c, id).await, "autobind_wildcard");
        assert!(local(&mut c, stream).await.ends_with(":0"), "never bound");
    }
    let (_, server) = c.listener().await;
    let receiver = c.udp().await;
    let to = c.bind(receiver, "127.0.0.1:0").await;
    let sender = c.udp().await;
    let id = sendto_call(&mut c, sender, &to).await;
    assert_eq!(refused(&mut c, id).await, "autobind_wildcard");
    assert_eq!(local(&mut c, sender).await, "0.0.0.0:0", "never bound");
    // listen() on a datagram socket binds nothing: the kernel's EOPNOTSUPP stays the lesson.
    let id = c
        .call(Op::Listen {
            socket: sender,
            backlog: 4,
        })
        .await;
    assert_eq!(c.errno(id).await.errno, "EOPNOTSUPP");
    // The controls: connect() on a socket never bound binds the loopback source, and is let
    // through, for TCP and UDP; so does sendto() once the socket is bound.
    let client = c.tcp().await;
    let Done::Connect {
        local: tcp_local, ..
    } = c
        .ok(Op::Connect {
            socket: client,
            address: server,
        })
        .await
    else {
        panic!("connect returned something else");
    };
    assert!(tcp_local.starts_with("127.0.0.1:"), "{tcp_local}");
    let connected = c.udp().await;
    let Done::Connect {
        local: udp_local, ..
    } = c
        .ok(Op::Connect {
            socket: connected,
            address: to.clone(),
        })
        .await
    else {
        panic!("connect returned something else");
    };
    assert!(udp_local.starts_with("127.0.0.1:"), "{udp_local}");
    c.bind(sender, "127.0.0.1:0").await;
    let id = sendto_call(&mut c, sender, &to).await;
    assert!(matches!(c.done(id).await, Done::Sendto { sent: 1, .. }));
    relay.stop().await;
}

#[tokio::test]
async fn a_connected_datagram_socket_cannot_reach_its_peer_port_once_another_session_holds_it() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let peer = a.udp().await;
    let x = a.bind(peer, "127.0.0.1:0").await;
    let s = a.udp().await;
    a.bind(s, "127.0.0.1:0").await;
    a.ok(Op::Connect {
        socket: s,
        address: x.clone(),
    })
    .await;
    // The control: while X is A's, send() on S reaches it.
    let sent = a
        .call(Op::Send {
            socket: s,
            data: Payload::from("to X"),
        })
        .await;
    assert!(matches!(a.done(sent).await, Done::Send { sent: 4 }));
    let got = a
        .ok(Op::Recvfrom {
            socket: peer,
            max: 16,
        })
        .await;
    assert!(matches!(got, Done::Recvfrom { ref data, .. } if *data == Payload::from("to X")));
    a.close(peer).await;
    // B takes X; A's connected socket may no longer send there, nor read from it.
    let thief = b.udp().await;
    assert_eq!(b.bind(thief, &x).await, x);
    let id = a
        .call(Op::Send {
            socket: s,
            data: Payload::from("to B?"),
        })
        .await;
    assert_eq!(refused(&mut a, id).await, "connect_other_session");
    let id = a.call(Op::Recv { socket: s, max: 16 }).await;
    assert_eq!(refused(&mut a, id).await, "connect_other_session");
    let id = a.call(Op::Recvfrom { socket: s, max: 16 }).await;
    assert_eq!(refused(&mut a, id).await, "connect_other_session");
    // Nothing reached B. The control: B's own datagram to that socket arrives, and it is the
    // first in its queue (a datagram of A's would have been queued before it).
    let own = b.udp().await;
    b.bind(own, "127.0.0.1:0").await;
    let id = b
        .call(Op::Sendto {
            socket: own,
            data: Payload::from("control"),
            address: x.clone(),
        })
        .await;
    b.done(id).await;
    let got = b
        .ok(Op::Recvfrom {
            socket: thief,
            max: 16,
        })
        .await;
    assert!(
        matches!(got, Done::Recvfrom { ref data, .. } if *data == Payload::from("control")),
        "{got:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_released_port_that_another_program_took_is_no_longer_reachable() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, address) = c.listener().await;
    c.close(listener).await;
    // The control: released and free, it is the session's ECONNREFUSED lesson.
    let first = c.tcp().await;
    let id = connect(&mut c, first, &address).await;
    assert_eq!(c.errno(id).await.errno, "ECONNREFUSED");
    // A program outside the relay binds it: the session may not reach that program.
    let outside = TcpListener::bind(&address).expect("the released port is free");
    let second = c.tcp().await;
    let id = connect(&mut c, second, &address).await;
    assert_eq!(refused(&mut c, id).await, "connect_port_taken");
    assert_eq!(
        local(&mut c, second).await,
        "0.0.0.0:0",
        "never reached the kernel"
    );
    drop(outside);
    relay.stop().await;
}

#[tokio::test]
async fn a_session_keeps_only_its_latest_released_ports() {
    const KEPT: usize = 64;
    let relay = Relay::start_with(Config {
        limits: Limits {
            calls_per_second: 10_000,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut c = relay.client().await;
    // The relay keeps the newest KEPT, a port released again counting as new; the kernel may
    // hand out a port it chose before, so mirror that until KEPT + 1 distinct ports are known.
    let mut released: Vec<String> = Vec::new();
    for attempt in 0.. {
        if released.len() > KEPT {
            break;
        }
        assert!(
            attempt < 10 * KEPT,
            "the kernel kept choosing the same ports: {released:?}"
        );
        let socket = c.udp().await;
        let address = c.bind(socket, "127.0.0.1:0").await;
        c.close(socket).await;
        released.retain(|seen| *seen != address);
        released.push(address);
    }
    let sender = c.udp().await;
    c.bind(sender, "127.0.0.1:0").await;
    let oldest = sendto_call(&mut c, sender, &released[0]).await;
    assert_eq!(
        refused(&mut c, oldest).await,
        "connect_not_owned",
        "forgotten"
    );
    for kept in &released[1..] {
        let id = sendto_call(&mut c, sender, kept).await;
        assert!(
            matches!(c.done(id).await, Done::Sendto { .. }),
            "{kept} still its own"
        );
    }
    relay.stop().await;
}

/// The relay's own port, and another session's, stay apart on every address: the same rule
/// spelled through the v4-mapped and unspecified addresses.
#[tokio::test]
async fn the_unspecified_destination_is_loopback_for_every_rule() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let (_, address) = a.listener().await;
    let p = port(&address);
    for spelled in [format!("0.0.0.0:{p}"), format!("[::ffff:0.0.0.0]:{p}")] {
        let family = if spelled.starts_with('[') {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        let socket = b.socket(family, SocketType::Stream).await;
        let id = connect(&mut b, socket, &spelled).await;
        assert_eq!(
            refused(&mut b, id).await,
            "connect_other_session",
            "{spelled}"
        );
    }
    let relay_port = relay.addr.port();
    let socket = b.tcp().await;
    let id = connect(&mut b, socket, &format!("0.0.0.0:{relay_port}")).await;
    assert_eq!(refused(&mut b, id).await, "connect_relay_port");
    relay.stop().await;
}

/// What the kernel's tables count as "held by a program": a socket with a descriptor. A
/// TIME_WAIT an outside program left behind has none, so it is the kernel's to judge (the
/// SO_REUSEADDR lesson), not the relay's.
#[tokio::test]
async fn a_time_wait_left_by_another_program_is_the_kernels_to_judge() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    // An outside server that closes first leaves its end in TIME_WAIT on 127.0.0.1:P.
    let listener = TcpListener::bind("127.0.0.1:0").expect("an outside listener");
    let address = listener.local_addr().expect("its address").to_string();
    let mut client = TcpStream::connect(&address).expect("connect");
    let (served, _) = listener.accept().expect("accept");
    drop(served);
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut client, &mut rest).expect("the server's FIN");
    drop(client);
    drop(listener);
    // Without SO_REUSEADDR the kernel refuses (its errno); with it, the bind goes through.
    let plain = c.tcp().await;
    let id = bind_call(&mut c, plain, &address).await;
    assert_eq!(
        c.errno(id).await.errno,
        "EADDRINUSE",
        "the TIME_WAIT holds it"
    );
    let reusing = c.tcp().await;
    share_port(&mut c, reusing, SockOpt::SoReuseaddr).await;
    assert_eq!(c.bind(reusing, &address).await, address);
    relay.stop().await;
}
