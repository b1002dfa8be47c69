//! Recorders of the fixtures for the exercises of lessons 11-15 (see the parent's header):
//! ephemeral ports, connections closed by either end first, a server restarted with and without
//! SO_REUSEADDR, an IPv6-only server and a port conflict, each with a near miss recorded for real.
//! Run with `cargo test -p socketlab-tests --test it course_recordings::ports_in_use --
//! --test-threads=1`.

use socketlab_shared::{Done, Family, Op, Outcome, SockOpt, SocketId, SocketType};

use super::{Recorder, record};

/// The errno of a reply that must be an error.
fn errno(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Error(err) => &err.errno,
        other => panic!("expected an errno, got {other:?}"),
    }
}

fn port(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("an address with a port")
}

async fn socket_of(r: &mut Recorder, family: Family, kind: SocketType) -> SocketId {
    match r.ok(Op::Socket { family, kind }).await {
        Done::Socket { socket, .. } => socket,
        other => panic!("socket() returned {other:?}"),
    }
}

async fn reuse(r: &mut Recorder, socket: SocketId) {
    let op = Op::Setsockopt {
        socket,
        option: SockOpt::SoReuseaddr,
        value: 1,
    };
    assert!(matches!(r.ok(op).await, Done::Setsockopt { value: 1, .. }));
}

/// A call whose reply is returned as it is (an error is the point).
async fn attempt(r: &mut Recorder, op: Op) -> Outcome {
    let id = r.call(op).await;
    r.reply(id).await
}

async fn listen(r: &mut Recorder, socket: SocketId) -> String {
    match r
        .ok(Op::Listen {
            socket,
            backlog: 16,
        })
        .await
    {
        Done::Listen { local } => local,
        other => panic!("listen() returned {other:?}"),
    }
}

#[tokio::test]
async fn record_ephemeral_ports_watched() {
    record("ephemeral-ports-watched", async |r| {
        let echo = r.echo_tcp();
        for _ in 0..3 {
            let (socket, _) = r.socket(SocketType::Stream).await;
            r.connect(socket, &echo).await;
        }
    })
    .await;
    // The near miss, for real: two unbound sockets connect, the third was bound to port 0
    // first, so its port came from bind(), not from connect().
    record("ephemeral-ports-watched.near-miss", async |r| {
        let echo = r.echo_tcp();
        for _ in 0..2 {
            let (socket, _) = r.socket(SocketType::Stream).await;
            r.connect(socket, &echo).await;
        }
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, "127.0.0.1:0").await;
        r.connect(socket, &echo).await;
    })
    .await;
}

/// A server on a fresh port (SO_REUSEADDR on the listener when `listener_reuse`) that accepts
/// one client and closes; `server_first` says which end closes first. Returns the port.
async fn serve_once(r: &mut Recorder, listener_reuse: bool, server_first: bool) -> u16 {
    let (listener, _) = r.socket(SocketType::Stream).await;
    if listener_reuse {
        reuse(r, listener).await;
    }
    r.bind(listener, "127.0.0.1:0").await;
    let address = listen(r, listener).await;
    let (client, _) = r.socket(SocketType::Stream).await;
    let accept = r.call(Op::Accept { socket: listener }).await;
    r.connect(client, &address).await;
    let accepted = match r.done(accept).await {
        Done::Accept { socket, .. } => socket,
        other => panic!("accept() returned {other:?}"),
    };
    let (first, second) = if server_first {
        (accepted, client)
    } else {
        (client, accepted)
    };
    r.close(first).await;
    // The other end reads the end of the stream (the FIN arrived), then closes too.
    match r
        .ok(Op::Recv {
            socket: second,
            max: 1024,
        })
        .await
    {
        Done::Recv { data } => assert!(data.is_empty(), "end of stream expected"),
        other => panic!("recv() returned {other:?}"),
    }
    r.close(second).await;
    r.close(listener).await;
    port(&address)
}

#[tokio::test]
async fn record_restart_with_reuseaddr() {
    record("restart-with-reuseaddr", async |r| {
        let port = serve_once(r, true, true).await;
        let again = format!("127.0.0.1:{port}");
        let (socket, _) = r.socket(SocketType::Stream).await;
        let bind = Op::Bind {
            socket,
            address: again.clone(),
        };
        assert_eq!(errno(&attempt(r, bind.clone()).await), "EADDRINUSE");
        reuse(r, socket).await;
        r.bind(socket, &again).await;
        listen(r, socket).await;
    })
    .await;
    // The near miss, for real: the old listener had no SO_REUSEADDR, so its TIME_WAIT keeps
    // the port from every new socket, with or without the option.
    record("restart-with-reuseaddr.near-miss", async |r| {
        let port = serve_once(r, false, true).await;
        let again = format!("127.0.0.1:{port}");
        let (socket, _) = r.socket(SocketType::Stream).await;
        let bind = Op::Bind {
            socket,
            address: again.clone(),
        };
        assert_eq!(errno(&attempt(r, bind.clone()).await), "EADDRINUSE");
        reuse(r, socket).await;
        assert_eq!(errno(&attempt(r, bind).await), "EADDRINUSE");
    })
    .await;
    // A second near miss, for real: the client closes first, so the TIME_WAIT is on the
    // client's side and the server's port is free at once, even without the option.
    record("restart-with-reuseaddr.client-first.near-miss", async |r| {
        let port = serve_once(r, true, false).await;
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, &format!("127.0.0.1:{port}")).await;
        listen(r, socket).await;
    })
    .await;
}

#[tokio::test]
async fn record_ipv6_only_server() {
    record("ipv6-only-server", async |r| {
        let listener = socket_of(r, Family::Ipv6, SocketType::Stream).await;
        r.bind(listener, "[::1]:0").await;
        let local = listen(r, listener).await;
        let port = port(&local);
        let v6 = socket_of(r, Family::Ipv6, SocketType::Stream).await;
        r.connect(v6, &format!("[::1]:{port}")).await;
        let v4 = socket_of(r, Family::Ipv4, SocketType::Stream).await;
        let op = Op::Connect {
            socket: v4,
            address: format!("127.0.0.1:{port}"),
        };
        assert_eq!(errno(&attempt(r, op).await), "ECONNREFUSED");
    })
    .await;
    // The near miss, for real: the dual-stack experiment. IPV6_V6ONLY=0 and the IPv4-mapped
    // loopback address: IPv4 reaches it (the peer shows as ::ffff:127.0.0.1), [::1] does not.
    record("ipv6-only-server.near-miss", async |r| {
        let listener = socket_of(r, Family::Ipv6, SocketType::Stream).await;
        let op = Op::Setsockopt {
            socket: listener,
            option: SockOpt::Ipv6V6only,
            value: 0,
        };
        r.ok(op).await;
        r.bind(listener, "[::ffff:127.0.0.1]:0").await;
        let local = listen(r, listener).await;
        let port = port(&local);
        let v4 = socket_of(r, Family::Ipv4, SocketType::Stream).await;
        let accept = r.call(Op::Accept { socket: listener }).await;
        r.connect(v4, &format!("127.0.0.1:{port}")).await;
        match r.done(accept).await {
            Done::Accept { peer, .. } => assert!(peer.starts_with("[::ffff:127.0.0.1]:"), "{peer}"),
            other => panic!("accept() returned {other:?}"),
        }
        let v6 = socket_of(r, Family::Ipv6, SocketType::Stream).await;
        let op = Op::Connect {
            socket: v6,
            address: format!("[::1]:{port}"),
        };
        assert_eq!(errno(&attempt(r, op).await), "ECONNREFUSED");
    })
    .await;
}

#[tokio::test]
async fn record_conflict_then_share() {
    record("conflict-then-share", async |r| {
        let (tcp, _) = r.socket(SocketType::Stream).await;
        let local = r.bind(tcp, "127.0.0.1:0").await;
        let (second, _) = r.socket(SocketType::Stream).await;
        let op = Op::Bind {
            socket: second,
            address: local.clone(),
        };
        assert_eq!(errno(&attempt(r, op).await), "EADDRINUSE");
        let (udp, _) = r.socket(SocketType::Datagram).await;
        r.bind(udp, &local).await;
    })
    .await;
    // The near miss, for real: the conflict, then the TCP socket is closed before the UDP
    // socket binds the number, so the two were never bound at the same time.
    record("conflict-then-share.near-miss", async |r| {
        let (tcp, _) = r.socket(SocketType::Stream).await;
        let local = r.bind(tcp, "127.0.0.1:0").await;
        let (second, _) = r.socket(SocketType::Stream).await;
        let op = Op::Bind {
            socket: second,
            address: local.clone(),
        };
        assert_eq!(errno(&attempt(r, op).await), "EADDRINUSE");
        r.close(tcp).await;
        r.close(second).await;
        let (udp, _) = r.socket(SocketType::Datagram).await;
        r.bind(udp, &local).await;
    })
    .await;
}

/// Lesson 12's connection, ended by the client first (`client_first`) or by the server: a new
/// client connects to `address`, `listener` accepts it, the first closer closes, the other
/// reads the end of stream and closes too.
async fn one_connection_closed(
    r: &mut Recorder,
    listener: SocketId,
    address: &str,
    client_first: bool,
) {
    let (client, _) = r.socket(SocketType::Stream).await;
    r.connect(client, address).await;
    let accepted = match r.ok(Op::Accept { socket: listener }).await {
        Done::Accept { socket, .. } => socket,
        other => panic!("accept() returned {other:?}"),
    };
    let (first, second) = if client_first {
        (client, accepted)
    } else {
        (accepted, client)
    };
    r.close(first).await;
    match r
        .ok(Op::Recv {
            socket: second,
            max: 4096,
        })
        .await
    {
        Done::Recv { data } => assert!(data.as_bytes().is_empty(), "the end of stream"),
        other => panic!("recv() returned {other:?}"),
    }
    r.close(second).await;
}

#[tokio::test]
async fn record_whoever_closes_first() {
    // Lesson 12's steps: one listener; a connection the client closes first, then one the
    // server (its accepted socket) closes first.
    record("whoever-closes-first", async |r| {
        let (listener, address) = r.listener().await;
        one_connection_closed(r, listener, &address, true).await;
        one_connection_closed(r, listener, &address, false).await;
    })
    .await;
    // The near miss, for real: in a hurry, the client closes first both times.
    record("whoever-closes-first.near-miss", async |r| {
        let (listener, address) = r.listener().await;
        one_connection_closed(r, listener, &address, true).await;
        one_connection_closed(r, listener, &address, true).await;
    })
    .await;
}
