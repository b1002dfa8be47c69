//! Packet capture through the real relay, loopback only: the handshake of a connect, the RST
//! that answers a connect to a closed port, a send and its ACK, UDP datagrams with their
//! length, and that a session's trace holds nothing of another session or of the relay's own
//! WebSocket. Capture needs CAP_NET_RAW (CI runs as root): without it these tests fail and say
//! how to grant it.
//!
//! Without CAP_NET_RAW each test fails with the exact setcap command for the test binary. Pinned
//! here: a connect is SYN (seq 0), SYN-ACK (seq 0 ack 1), ACK (seq 1 ack 1) in order between the
//! right addresses, also over `::1`; a connect to a port the session bound and closed is
//! ECONNREFUSED, its SYN answered by ACK,RST (ack 1); a send of N = 51 bytes is one segment
//! (ACK,PSH, seq 1) of len N with its first 32 bytes as `head`, then its ACK (ack 1 + N); UDP
//! datagrams come with their length and head; two sessions capture while each other's traffic
//! flows, and every address in each trace is that session's own and none is the relay's port; 300
//! sendto calls in a burst while the page reads late each get their reply.

use socketlab_shared::{
    Availability, Done, FromRelay, Op, Packet, Payload, SocketId, TcpFlag, Transport,
};

use crate::support::{Client, Relay};

use TcpFlag::{Ack, Psh, Rst, Syn};

/// A session whose relay says it can capture; fails with what to do when it cannot.
pub(crate) async fn capturing(relay: &Relay) -> Client {
    let client = relay.client().await;
    let Some(FromRelay::Capabilities { capture, .. }) = client.capabilities.clone() else {
        panic!("no capabilities after welcome: {:?}", client.capabilities);
    };
    if let Availability::Unavailable { reason, remedy } = capture {
        panic!(
            "packet capture is unavailable: {reason}. These tests need CAP_NET_RAW: run them as \
             root (as CI does), or grant it to the test binary with `{}`",
            remedy.unwrap_or_else(|| "sudo setcap cap_net_raw+ep <the test binary>".into())
        );
    }
    client
}

/// The next packet of the session's trace.
async fn packet(client: &mut Client, what: &str) -> Packet {
    client
        .wait_for(what, |m| match m {
            FromRelay::Packet { packet } => Some(packet.clone()),
            _ => None,
        })
        .await
}

/// Every packet of the trace up to and including the first that `last` accepts.
pub(crate) async fn packets_until(
    client: &mut Client,
    what: &str,
    last: impl Fn(&Packet) -> bool,
) -> Vec<Packet> {
    let mut trace = Vec::new();
    loop {
        let packet = packet(client, what).await;
        let done = last(&packet);
        trace.push(packet);
        if done {
            return trace;
        }
    }
}

/// connect() from a new socket to `address`: the client's local address.
async fn connect(client: &mut Client, address: &str) -> (SocketId, String) {
    let socket = client.tcp().await;
    let done = client
        .ok(Op::Connect {
            socket,
            address: address.into(),
        })
        .await;
    let Done::Connect { local, .. } = done else {
        panic!("connect returned {done:?}");
    };
    (socket, local)
}

fn summary(trace: &[Packet]) -> Vec<String> {
    trace
        .iter()
        .map(|p| {
            let flags: Vec<&str> = p.flags.iter().map(|f| f.name()).collect();
            format!(
                "{} -> {} [{}] seq {:?} ack {:?} len {}",
                p.src,
                p.dst,
                flags.join(","),
                p.seq,
                p.ack,
                p.len
            )
        })
        .collect()
}

#[tokio::test]
async fn a_connect_shows_syn_syn_ack_ack_in_order_with_relative_numbers() {
    let relay = Relay::start().await;
    let mut c = capturing(&relay).await;
    let (_listener, server) = c.listener().await;
    let (_client, client) = connect(&mut c, &server).await;

    let syn = packet(&mut c, "the SYN").await;
    let syn_ack = packet(&mut c, "the SYN-ACK").await;
    let ack = packet(&mut c, "the ACK").await;
    let trace = summary(&[syn.clone(), syn_ack.clone(), ack.clone()]);

    assert_eq!(
        (syn.src.as_str(), syn.dst.as_str()),
        (client.as_str(), server.as_str()),
        "{trace:?}"
    );
    assert_eq!(
        (&syn.flags[..], syn.seq, syn.ack),
        (&[Syn][..], Some(0), None),
        "{trace:?}"
    );
    assert_eq!(
        (syn_ack.src.as_str(), syn_ack.dst.as_str()),
        (server.as_str(), client.as_str()),
        "{trace:?}"
    );
    assert_eq!(
        (&syn_ack.flags[..], syn_ack.seq, syn_ack.ack),
        (&[Syn, Ack][..], Some(0), Some(1)),
        "{trace:?}"
    );
    assert_eq!(
        (ack.src.as_str(), ack.dst.as_str()),
        (client.as_str(), server.as_str()),
        "{trace:?}"
    );
    assert_eq!(
        (&ack.flags[..], ack.seq, ack.ack, ack.len),
        (&[Ack][..], Some(1), Some(1), 0),
        "{trace:?}"
    );
    assert!(
        syn.transport == Transport::Tcp && syn.window.is_some() && syn.at_us <= ack.at_us,
        "{syn:?} {ack:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_connect_to_a_closed_port_is_a_syn_answered_by_rst() {
    let relay = Relay::start().await;
    let mut c = capturing(&relay).await;
    // A closed port of this session: bound by the kernel, then closed.
    let gone = c.tcp().await;
    let closed = c.bind(gone, "127.0.0.1:0").await;
    c.close(gone).await;

    let socket = c.tcp().await;
    let connect = c
        .call(Op::Connect {
            socket,
            address: closed.clone(),
        })
        .await;
    assert_eq!(c.errno(connect).await.errno, "ECONNREFUSED");

    let syn = packet(&mut c, "the SYN to the closed port").await;
    let rst = packet(&mut c, "the RST that answers it").await;
    let trace = summary(&[syn.clone(), rst.clone()]);
    assert_eq!(syn.dst, closed, "{trace:?}");
    assert_eq!(
        (&syn.flags[..], syn.seq),
        (&[Syn][..], Some(0)),
        "{trace:?}"
    );
    assert_eq!(
        (rst.src.as_str(), rst.dst.as_str()),
        (closed.as_str(), syn.src.as_str()),
        "{trace:?}"
    );
    assert_eq!(
        (&rst.flags[..], rst.ack),
        (&[Ack, Rst][..], Some(1)),
        "the RST acknowledges the SYN: {trace:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_send_of_n_bytes_is_a_segment_of_n_bytes_and_its_ack() {
    let relay = Relay::start().await;
    let mut c = capturing(&relay).await;
    let (listener, server) = c.listener().await;
    let accept = c.call(Op::Accept { socket: listener }).await;
    let (client, local) = connect(&mut c, &server).await;
    c.done(accept).await;
    packets_until(&mut c, "the handshake's last ACK", |p| {
        p.src == local && p.flags == [Ack]
    })
    .await;

    let data = b"hello, kernel! 0123456789abcdefghijklmnopqrstuvwxyz".to_vec();
    let n = u32::try_from(data.len()).unwrap();
    let sent = c
        .ok(Op::Send {
            socket: client,
            data: Payload(data.clone()),
        })
        .await;
    assert_eq!(sent, Done::Send { sent: n });

    let segment = packet(&mut c, "the data segment").await;
    let trace = summary(std::slice::from_ref(&segment));
    assert_eq!(
        (segment.src.as_str(), segment.dst.as_str()),
        (local.as_str(), server.as_str()),
        "{trace:?}"
    );
    assert_eq!(segment.len, n, "{trace:?}");
    assert_eq!(segment.head.as_bytes(), &data[..32], "the first 32 bytes");
    assert_eq!(
        (&segment.flags[..], segment.seq),
        (&[Ack, Psh][..], Some(1)),
        "{trace:?}"
    );
    let ack = packet(&mut c, "the ACK of the data").await;
    assert_eq!(
        (ack.src.as_str(), &ack.flags[..], ack.ack, ack.len),
        (server.as_str(), &[Ack][..], Some(1 + n), 0),
        "{:?}",
        summary(&[segment, ack.clone()])
    );
    relay.stop().await;
}

#[tokio::test]
async fn udp_datagrams_are_shown_with_their_length() {
    let relay = Relay::start().await;
    let mut c = capturing(&relay).await;
    let receiver = c.udp().await;
    let to = c.bind(receiver, "127.0.0.1:0").await;
    let sender = c.udp().await;
    c.bind(sender, "127.0.0.1:0").await;
    for data in [&b"ping"[..], &[7_u8; 100][..]] {
        let done = c
            .ok(Op::Sendto {
                socket: sender,
                data: Payload(data.to_vec()),
                address: to.clone(),
            })
            .await;
        let Done::Sendto { local, .. } = done else {
            panic!("sendto returned {done:?}");
        };
        let datagram = packet(&mut c, "the datagram").await;
        assert_eq!(datagram.transport, Transport::Udp);
        // An unbound sender's local address is the wildcard with the port sendto gave it; the
        // packet shows the address it really left from.
        let port = local.rsplit(':').next().unwrap();
        assert_eq!(datagram.src, format!("127.0.0.1:{port}"), "{local}");
        assert_eq!(datagram.dst, to);
        assert_eq!(datagram.len, u32::try_from(data.len()).unwrap());
        assert_eq!(datagram.head.as_bytes(), &data[..data.len().min(32)]);
        assert!(datagram.flags.is_empty() && datagram.seq.is_none() && datagram.ack.is_none());
    }
    relay.stop().await;
}

/// A connected pair of the session: (the client socket, its address and the server's).
async fn pair(c: &mut Client, listener: SocketId, server: String) -> (SocketId, Vec<String>) {
    let accept = c.call(Op::Accept { socket: listener }).await;
    let (client, local) = connect(c, &server).await;
    c.done(accept).await;
    (client, vec![server, local])
}

/// Sends `marker` and returns the trace up to the segment that carries it.
async fn mark(c: &mut Client, socket: SocketId, marker: &[u8]) -> Vec<Packet> {
    c.ok(Op::Send {
        socket,
        data: Payload(marker.to_vec()),
    })
    .await;
    packets_until(c, "the marker segment", |p| p.head.as_bytes() == marker).await
}

#[tokio::test]
async fn a_trace_holds_no_packet_of_another_session_nor_of_the_relays_websocket() {
    let relay = Relay::start().await;
    let mut one = capturing(&relay).await;
    let mut two = capturing(&relay).await;

    // Each session's capture runs while the other's traffic flows, and while the relay streams
    // both traces over the two WebSockets: one listens first (its capture starts), two
    // connects and sends, then one does, then two sends again.
    let (listener, server) = one.listener().await;
    let (two_listener, two_server) = two.listener().await;
    let (two_client, theirs) = pair(&mut two, two_listener, two_server).await;
    let mut their_trace = mark(&mut two, two_client, b"session two, first").await;
    let (client, ours) = pair(&mut one, listener, server).await;
    let our_trace = mark(&mut one, client, b"session one").await;
    their_trace.extend(mark(&mut two, two_client, b"session two, last").await);

    let relay_port = relay.addr.port().to_string();
    for (trace, own, other) in [(&our_trace, &ours, &theirs), (&their_trace, &theirs, &ours)] {
        let lines = summary(trace);
        assert!(
            trace.iter().any(|p| p.flags == [Syn]),
            "the trace has the session's own handshake: {lines:?}"
        );
        for p in trace {
            for address in [&p.src, &p.dst] {
                assert!(
                    own.contains(address),
                    "{address} is not this session's ({own:?}; the other's: {other:?}): {lines:?}"
                );
                assert!(!address.ends_with(&format!(":{relay_port}")), "{lines:?}");
            }
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn packets_never_crowd_out_replies_when_the_page_reads_late() {
    let relay = Relay::start_with(socketlab_relay::Config {
        limits: socketlab_relay::Limits {
            calls_per_second: 100_000,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = capturing(&relay).await;
    let receiver = c.udp().await;
    let to = c.bind(receiver, "127.0.0.1:0").await;
    let sender = c.udp().await;
    c.bind(sender, "127.0.0.1:0").await;
    // Many calls at once, each making a packet, while this page reads nothing: the outbox
    // fills with packets, and still every call gets its reply (packets beyond the room left
    // for replies are dropped, never waited for).
    let mut calls = Vec::new();
    for i in 0..300_u32 {
        let op = Op::Sendto {
            socket: sender,
            data: Payload(i.to_be_bytes().to_vec()),
            address: to.clone(),
        };
        calls.push(c.call(op).await);
    }
    for id in calls {
        assert!(matches!(c.done(id).await, Done::Sendto { sent: 4, .. }));
    }
    relay.stop().await;
}

#[tokio::test]
async fn an_ipv6_handshake_on_the_loopback_is_traced_too() {
    let relay = Relay::start().await;
    let mut c = capturing(&relay).await;
    let listener = c
        .socket(
            socketlab_shared::Family::Ipv6,
            socketlab_shared::SocketType::Stream,
        )
        .await;
    c.bind(listener, "[::1]:0").await;
    let server = c.listen(listener).await;
    let client = c
        .socket(
            socketlab_shared::Family::Ipv6,
            socketlab_shared::SocketType::Stream,
        )
        .await;
    let done = c
        .ok(Op::Connect {
            socket: client,
            address: server.clone(),
        })
        .await;
    let Done::Connect { local, .. } = done else {
        panic!("connect returned {done:?}");
    };
    let trace = [
        packet(&mut c, "the SYN").await,
        packet(&mut c, "the SYN-ACK").await,
        packet(&mut c, "the ACK").await,
    ];
    let seen: Vec<_> = trace
        .iter()
        .map(|p| (p.src.as_str(), p.flags.as_slice(), p.seq, p.ack))
        .collect();
    assert_eq!(
        seen,
        [
            (local.as_str(), &[Syn][..], Some(0), None),
            (server.as_str(), &[Syn, Ack][..], Some(0), Some(1)),
            (local.as_str(), &[Ack][..], Some(1), Some(1)),
        ],
        "{:?}",
        summary(&trace)
    );
    relay.stop().await;
}
