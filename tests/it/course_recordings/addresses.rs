//! Recorders of the fixtures for the exercises of lessons 16-17 (see the parent's header): an IPv4
//! client accepted by an AF_INET6 listener on `[::ffff:127.0.0.1]` (the peer is written
//! IPv4-mapped), with a near miss recorded for real (an IPv6 client over `[::1]`: its peer is plain
//! IPv6), and a listener with a connected client, whose ports lesson 17's listing shows (with a
//! near miss recorded for real: the client's line read instead of the server's). `ip-conversions`
//! is judged on the typed answer alone and needs no recording. Run with `cargo test -p
//! socketlab-tests --test it course_recordings::addresses -- --test-threads=1`.

use socketlab_shared::{Done, Family, Op, SockOpt, SocketId, SocketType};

use super::{Recorder, record};

async fn socket_of(r: &mut Recorder, family: Family) -> SocketId {
    match r
        .ok(Op::Socket {
            family,
            kind: SocketType::Stream,
        })
        .await
    {
        Done::Socket { socket, .. } => socket,
        other => panic!("socket() returned {other:?}"),
    }
}

/// An AF_INET6 listener on `address` (IPV6_V6ONLY set to `v6only` first): (socket, port).
async fn ipv6_listener(r: &mut Recorder, address: &str, v6only: i32) -> (SocketId, u16) {
    let socket = socket_of(r, Family::Ipv6).await;
    let op = Op::Setsockopt {
        socket,
        option: SockOpt::Ipv6V6only,
        value: v6only,
    };
    assert!(matches!(r.ok(op).await, Done::Setsockopt { .. }));
    r.bind(socket, address).await;
    match r
        .ok(Op::Listen {
            socket,
            backlog: 16,
        })
        .await
    {
        Done::Listen { local } => {
            if address.contains("ffff") {
                assert!(
                    local.starts_with("[::ffff:127.0.0.1]:"),
                    "dotted at the end: {local}"
                );
            }
            let port = local
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a port");
            (socket, port)
        }
        other => panic!("listen() returned {other:?}"),
    }
}

#[tokio::test]
async fn record_mapped_peer() {
    // Lesson 16's experiment: the long form of ::1 first (the reply writes it canonically),
    // then the listener bound through the hex form of ::ffff:127.0.0.1.
    record("mapped-peer", async |r| {
        let long = socket_of(r, Family::Ipv6).await;
        let local = r.bind(long, "[0:0:0:0:0:0:0:1]:0").await;
        assert!(local.starts_with("[::1]:"), "written canonically: {local}");
        r.close(long).await;
        let (listener, port) = ipv6_listener(r, "[::ffff:7f00:1]:0", 0).await;
        let client = socket_of(r, Family::Ipv4).await;
        let accept = r.call(Op::Accept { socket: listener }).await;
        let connected = r.connect(client, &format!("127.0.0.1:{port}")).await;
        let Done::Connect { local, .. } = connected else {
            panic!("connect() returned {connected:?}")
        };
        match r.done(accept).await {
            Done::Accept { peer, .. } => {
                let (ip, port) = local.rsplit_once(':').expect("an address with a port");
                assert_eq!(
                    peer,
                    format!("[::ffff:{ip}]:{port}"),
                    "the IPv4 client, mapped"
                );
            }
            other => panic!("accept() returned {other:?}"),
        }
    })
    .await;
    // The near miss, for real: the client is IPv6 too, over [::1], so the peer is not mapped.
    record("mapped-peer.near-miss", async |r| {
        let (listener, port) = ipv6_listener(r, "[::1]:0", 0).await;
        let client = socket_of(r, Family::Ipv6).await;
        let accept = r.call(Op::Accept { socket: listener }).await;
        r.connect(client, &format!("[::1]:{port}")).await;
        r.done(accept).await;
    })
    .await;
}

#[tokio::test]
async fn record_read_the_ss_line() {
    // Lesson 17's experiment: a listener, a client connected to it, the connection accepted.
    record("read-the-ss-line", async |r| {
        let (listener, address) = r.listener().await;
        let (client, _) = r.socket(SocketType::Stream).await;
        let accept = r.call(Op::Accept { socket: listener }).await;
        r.connect(client, &address).await;
        r.done(accept).await;
    })
    .await;
}

#[tokio::test]
async fn record_read_the_ss_line_near_miss() {
    // The near miss, for real: a listener and a connected client (not yet accepted: the
    // server's ESTAB line is there all the same); the learner then reads the client's line, whose
    // Peer Address:Port is the listener's own address, and types that.
    record("read-the-ss-line.near-miss", async |r| {
        let (_, address) = r.listener().await;
        let (client, _) = r.socket(SocketType::Stream).await;
        r.connect(client, &address).await;
    })
    .await;
}
