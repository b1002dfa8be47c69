//! The kernel's refusals reach the browser as its errno, untouched; arguments the kernel could
//! not even be given are `invalid` replies instead, never fake errnos.
//!
//! Pinned here: EADDRINUSE; ECONNREFUSED (to the port of a socket bound and closed in the session),
//! and a reconnect after the refusal; send on an unconnected TCP socket (EPIPE on Linux, where BSD
//! says ENOTCONN); recv unconnected (ENOTCONN); listen on UDP (EOPNOTSUPP); a family mismatch
//! reaches the kernel; a bad address, an unknown socket id and a too-large max are `invalid`;
//! setsockopt reads back (SO_RCVBUF doubled); UDP shutdown needs a connection (ENOTCONN); recvfrom
//! after SHUT_RD answers at once (EAGAIN, the known deviation from a blocking call's 0 bytes).

use socketlab_shared::{Done, Family, Op, Outcome, Payload, SocketId, SocketType};

use crate::support::{Relay, tcp_port_is_free};

#[tokio::test]
async fn bind_twice_reports_eaddrinuse() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (_, address) = c.listener().await;
    let second = c.tcp().await;
    let bind = c
        .call(Op::Bind {
            socket: second,
            address,
        })
        .await;
    let err = c.errno(bind).await;
    assert_eq!(err.errno, "EADDRINUSE");
    #[cfg(target_os = "linux")]
    assert_eq!(
        (err.code, err.message.as_str()),
        (98, "Address already in use")
    );
    assert!(!err.explanation.is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn connect_to_a_closed_port_reports_econnrefused() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    // A port that was just free: bind it in this session, note it, let it go. (The relay's
    // policy lets a session reach only ports it holds or held, so the port must be its own.)
    let probe = c.tcp().await;
    let closed = c.bind(probe, "127.0.0.1:0").await;
    c.close(probe).await;
    let client = c.tcp().await;
    let connect = c
        .call(Op::Connect {
            socket: client,
            address: closed,
        })
        .await;
    let err = c.errno(connect).await;
    assert_eq!(err.errno, "ECONNREFUSED");
    assert!(
        err.explanation.contains("Nothing is listening"),
        "{}",
        err.explanation
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_refused_socket_can_connect_again_once_someone_listens() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let listener = c.tcp().await;
    let address = c.bind(listener, "127.0.0.1:0").await;
    // Bound but not listening: the kernel refuses connections to it.
    let client = c.tcp().await;
    let first = c
        .call(Op::Connect {
            socket: client,
            address: address.clone(),
        })
        .await;
    assert_eq!(c.errno(first).await.errno, "ECONNREFUSED");
    c.listen(listener).await;
    let second = c
        .call(Op::Connect {
            socket: client,
            address: address.clone(),
        })
        .await;
    // Linux lets a refused socket try again, and this time the handshake completes. The
    // relay must not be confused by what it remembers of the first, failed attempt.
    match c.reply(second).await {
        Outcome::Ok(Done::Connect { peer, .. }) => assert_eq!(peer, address),
        #[cfg(not(target_os = "linux"))]
        Outcome::Error(_) => {}
        other => panic!("{other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn send_on_an_unconnected_stream_reports_the_kernels_errno() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let tcp = c.tcp().await;
    let send = c
        .call(Op::Send {
            socket: tcp,
            data: Payload::from("x"),
        })
        .await;
    let err = c.errno(send).await;
    // Linux answers EPIPE here (BSD and macOS say ENOTCONN); the relay passes on what it got.
    #[cfg(target_os = "linux")]
    assert_eq!(err.errno, "EPIPE");
    #[cfg(not(target_os = "linux"))]
    assert!(
        ["ENOTCONN", "EPIPE"].contains(&err.errno.as_str()),
        "{err:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn recv_on_an_unconnected_stream_reports_enotconn() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let tcp = c.tcp().await;
    let recv = c
        .call(Op::Recv {
            socket: tcp,
            max: 10,
        })
        .await;
    assert_eq!(c.errno(recv).await.errno, "ENOTCONN");
    let peer = c.call(Op::Getpeername { socket: tcp }).await;
    assert_eq!(c.errno(peer).await.errno, "ENOTCONN");
    relay.stop().await;
}

#[tokio::test]
async fn listen_on_a_datagram_socket_reports_the_kernels_errno() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let udp = c.udp().await;
    let listen = c
        .call(Op::Listen {
            socket: udp,
            backlog: 4,
        })
        .await;
    let err = c.errno(listen).await;
    #[cfg(target_os = "linux")]
    assert_eq!(err.errno, "EOPNOTSUPP");
    assert!(
        err.explanation.contains("Only stream"),
        "{}",
        err.explanation
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_family_mismatch_goes_to_the_kernel() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let v6 = c.socket(Family::Ipv6, SocketType::Stream).await;
    // An IPv4 address on an IPv6 socket is the kernel's to judge, not the relay's.
    let bind = c
        .call(Op::Bind {
            socket: v6,
            address: "127.0.0.1:0".into(),
        })
        .await;
    assert!(matches!(c.reply(bind).await, Outcome::Error(_)));
    relay.stop().await;
}

#[tokio::test]
async fn a_bad_address_is_invalid_not_an_errno() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let tcp = c.tcp().await;
    let bind = c
        .call(Op::Bind {
            socket: tcp,
            address: "127.0.0.1".into(),
        })
        .await;
    assert_eq!(
        c.reply(bind).await,
        Outcome::Invalid {
            reason:
                r#""127.0.0.1" is not an address with a port, such as 127.0.0.1:8080 or [::1]:8080"#
                    .into()
        }
    );
    let huge = c
        .call(Op::Recv {
            socket: tcp,
            max: 1 << 20,
        })
        .await;
    assert!(matches!(c.reply(huge).await, Outcome::Invalid { .. }));
    // The socket is untouched: it can still bind.
    let local = c.bind(tcp, "127.0.0.1:0").await;
    assert!(!tcp_port_is_free(&local), "the port is held after bind");
    relay.stop().await;
}

#[tokio::test]
async fn an_unknown_socket_id_is_invalid() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let listen = c
        .call(Op::Listen {
            socket: SocketId(7),
            backlog: 1,
        })
        .await;
    assert_eq!(
        c.reply(listen).await,
        Outcome::Invalid {
            reason: "this session has no socket s7".into()
        }
    );
    relay.stop().await;
}

#[tokio::test]
async fn setsockopt_reads_the_value_back_from_the_kernel() {
    use socketlab_shared::SockOpt;
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let tcp = c.tcp().await;
    let set = c
        .ok(Op::Setsockopt {
            socket: tcp,
            option: SockOpt::SoReuseaddr,
            value: 1,
        })
        .await;
    assert_eq!(
        set,
        Done::Setsockopt {
            option: SockOpt::SoReuseaddr,
            value: 1
        }
    );
    let set = c
        .ok(Op::Setsockopt {
            socket: tcp,
            option: SockOpt::SoRcvbuf,
            value: 8192,
        })
        .await;
    let Done::Setsockopt { value, .. } = set else {
        panic!("{set:?}")
    };
    // Linux doubles the size for its bookkeeping and the reply shows what the kernel says.
    #[cfg(target_os = "linux")]
    assert_eq!(value, 16384);
    let get = c
        .ok(Op::Getsockopt {
            socket: tcp,
            option: SockOpt::TcpNodelay,
        })
        .await;
    assert_eq!(
        get,
        Done::Getsockopt {
            option: SockOpt::TcpNodelay,
            value: 0
        }
    );
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_needs_a_connection_even_for_udp() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let udp = c.udp().await;
    c.bind(udp, "127.0.0.1:0").await;
    let shutdown = c
        .call(Op::Shutdown {
            socket: udp,
            how: socketlab_shared::Shutdown::Read,
        })
        .await;
    assert_eq!(c.errno(shutdown).await.errno, "ENOTCONN");
    relay.stop().await;
}

#[tokio::test]
async fn recvfrom_after_shutdown_read_answers_at_once() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let udp = c.udp().await;
    let address = c.bind(udp, "127.0.0.1:0").await;
    c.ok(Op::Connect {
        socket: udp,
        address,
    })
    .await;
    c.ok(Op::Shutdown {
        socket: udp,
        how: socketlab_shared::Shutdown::Read,
    })
    .await;
    // The read side is closed, so the wait could never end: the relay hands back the
    // non-blocking kernel's answer instead of waiting (or spinning) forever.
    let recv = c
        .call(Op::Recvfrom {
            socket: udp,
            max: 10,
        })
        .await;
    #[cfg(target_os = "linux")]
    assert_eq!(c.errno(recv).await.errno, "EAGAIN");
    #[cfg(not(target_os = "linux"))]
    let _ = c.reply(recv).await;
    relay.stop().await;
}
