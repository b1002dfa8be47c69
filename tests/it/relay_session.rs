//! Sessions: the handshake, per-session socket ids, bad messages, closing a socket with a call
//! waiting, and closing the WebSocket, which closes every socket of the session.
//!
//! Pinned here: closing the WebSocket frees every port (checked from outside); close while accept
//! waits (`cancelled`, then the close, the port free at once); ids are per session; malformed JSON,
//! an unknown syscall, a binary frame and a second hello each get an answer and the session goes
//! on; a wrong version gets goodbye and close; the first message must be hello; relay shutdown
//! closes sessions and sockets.

use socketlab_shared::{CallId, Done, FromRelay, Op, Outcome, SocketId, ToRelay};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, Relay, eventually, tcp_connect_is_refused, tcp_port_is_free, within};

#[tokio::test]
async fn closing_the_websocket_frees_every_port() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, listening) = c.listener().await;
    let _accept = c.call(Op::Accept { socket: listener }).await;
    let udp = c.udp().await;
    let datagram = c.bind(udp, "127.0.0.1:0").await;
    let _recvfrom = c
        .call(Op::Recvfrom {
            socket: udp,
            max: 10,
        })
        .await;
    assert!(!tcp_port_is_free(&listening), "the listener holds its port");
    assert!(
        std::net::UdpSocket::bind(&datagram).is_err(),
        "the UDP socket holds its port"
    );

    c.hang_up().await;
    // The relay closes the session's sockets before its close frame, but check from outside
    // with a bounded retry rather than trusting that.
    eventually("the listener's port is free", || {
        tcp_port_is_free(&listening)
    })
    .await;
    assert!(
        tcp_connect_is_refused(&listening),
        "nothing listens there any more"
    );
    eventually("the UDP port is free", || {
        std::net::UdpSocket::bind(&datagram).is_ok()
    })
    .await;
    relay.stop().await;
}

#[tokio::test]
async fn close_while_accept_waits_cancels_the_accept_and_frees_the_port() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, address) = c.listener().await;
    let accept = c.call(Op::Accept { socket: listener }).await;
    let close = c.call(Op::Close { socket: listener }).await;
    assert_eq!(
        c.reply(accept).await,
        Outcome::Cancelled {
            reason: "socket s1 was closed while accept() was waiting".into()
        }
    );
    assert_eq!(c.done(close).await, Done::Close);
    // The close reply comes after the descriptor is closed: no retry needed.
    assert!(
        tcp_port_is_free(&address),
        "the port is free once close() has replied"
    );
    assert!(tcp_connect_is_refused(&address));
    let again = c
        .call(Op::Listen {
            socket: listener,
            backlog: 1,
        })
        .await;
    assert!(matches!(c.reply(again).await, Outcome::Invalid { .. }));
    relay.stop().await;
}

#[tokio::test]
async fn socket_ids_are_per_session() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    assert_eq!(a.tcp().await, SocketId(1));
    assert_eq!(a.tcp().await, SocketId(2));
    assert_eq!(b.tcp().await, SocketId(1), "each session counts from 1");
    a.close(SocketId(2)).await;
    assert_eq!(a.tcp().await, SocketId(3), "ids are never reused");

    // A's socket 3 does not exist in B.
    let call = b
        .call(Op::Getsockname {
            socket: SocketId(3),
        })
        .await;
    assert_eq!(
        b.reply(call).await,
        Outcome::Invalid {
            reason: "this session has no socket s3".into()
        }
    );
    relay.stop().await;
}

#[tokio::test]
async fn malformed_json_gets_an_error_reply_and_the_session_goes_on() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let mut bystander = relay.client().await;
    let (listener, _) = bystander.listener().await;

    c.send_text("{not json").await;
    assert!(matches!(
        c.next_message().await,
        FromRelay::Malformed { .. }
    ));
    c.send_text(r#"{"type":"call","id":41,"op":{"syscall":"teleport"}}"#)
        .await;
    match c.next_message().await {
        FromRelay::Reply {
            id,
            outcome: Outcome::Invalid { reason },
        } => {
            assert_eq!(id.0, 41);
            assert!(reason.contains("teleport"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    c.send_frame(Message::Binary(vec![1, 2, 3].into())).await;
    assert!(matches!(
        c.next_message().await,
        FromRelay::Malformed { .. }
    ));
    // A call in a binary frame still gets its one reply (`invalid`, it was not made).
    let call =
        r#"{"type":"call","id":43,"op":{"syscall":"socket","family":"ipv4","type":"stream"}}"#;
    c.send_frame(Message::Binary(call.as_bytes().to_vec().into()))
        .await;
    assert!(matches!(
        c.next_message().await,
        FromRelay::Reply {
            id: CallId(43),
            outcome: Outcome::Invalid { .. }
        }
    ));
    c.send(&ToRelay::Hello { version: 1 }).await;
    assert!(matches!(
        c.next_message().await,
        FromRelay::Malformed { .. }
    ));

    // The next valid call works, and the other session never noticed.
    assert_eq!(c.tcp().await, SocketId(1));
    let name = bystander.ok(Op::Getsockname { socket: listener }).await;
    assert!(matches!(name, Done::Getsockname { .. }));
    relay.stop().await;
}

#[tokio::test]
async fn a_wrong_protocol_version_gets_goodbye_and_a_close() {
    let relay = Relay::start().await;
    let mut c = Client::connect(&relay).await;
    c.send(&ToRelay::Hello { version: 999 }).await;
    match c.read().await {
        Some(FromRelay::Goodbye { reason }) => assert!(reason.contains("reload"), "{reason}"),
        other => panic!("expected goodbye, got {other:?}"),
    }
    assert!(c.read().await.is_none(), "the relay closes the session");
    relay.stop().await;
}

#[tokio::test]
async fn the_first_message_must_be_hello() {
    let relay = Relay::start().await;
    let mut c = Client::connect(&relay).await;
    c.send_text(
        r#"{"type":"call","id":1,"op":{"syscall":"socket","family":"ipv4","type":"stream"}}"#,
    )
    .await;
    assert!(matches!(c.read().await, Some(FromRelay::Goodbye { .. })));
    assert!(c.read().await.is_none());
    relay.stop().await;
}

#[tokio::test]
async fn shutting_down_the_relay_closes_every_session_and_socket() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, address) = c.listener().await;
    let accept = c.call(Op::Accept { socket: listener }).await;
    relay.stop().await;
    // Whatever was queued arrives, then the close frame; by then the socket is closed.
    loop {
        match c.read().await {
            Some(FromRelay::Reply { id, outcome }) if id == accept => {
                assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
            }
            Some(_) => {}
            None => break,
        }
    }
    assert!(
        tcp_port_is_free(&address),
        "run() returned after closing every socket"
    );
    let _ = within("nothing", async {}).await;
}
