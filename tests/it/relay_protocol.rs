//! The protocol's promises at its edges, through the real relay (issue 9): exactly one reply
//! for every call whose id can be read (nested too deep, sent in a binary frame), a text frame
//! that is not UTF-8 closed with 1007 after a goodbye that says why, `max: 0` refused, every
//! frame charged to the rate limit, the request-head limit whatever the segmentation, and the
//! ranges docs/protocol.md states (backlog, option values).
//!
//! Pinned here: a call nested 10,000 deep (its id before or after the op) gets `invalid` for its
//! id; a binary frame with a call gets `invalid` and makes nothing (the same call as text makes
//! socket 1: the control); a text frame that is not UTF-8 gets a goodbye naming UTF-8 and close
//! 1007, its socket closed, another session unaffected; `max: 0` is invalid; a frame that does not
//! decode takes a rate-limit token (the next call is `rate_limit`; a fresh session's call is the
//! control); request heads of 32 KiB + 1, 40,000 and 47 KiB in one write get 431, 32 KiB is served;
//! a negative backlog, `TCP_NODELAY` 7 reading back 1, a negative size and an out-of-range i32 are
//! `invalid`.

use futures_util::SinkExt as _;
use socketlab_relay::{Config, Limits};
use socketlab_shared::{CallId, Done, FromRelay, Op, Outcome, SockOpt, SocketId};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::security_limits::wire::Wire;
use crate::support::{Relay, within};

/// The next reply, skipping anything else.
async fn reply(wire: &mut Wire) -> (CallId, Outcome) {
    loop {
        match wire.message().await {
            Some(FromRelay::Reply { id, outcome }) => return (id, outcome),
            Some(_) => continue,
            None => panic!("the relay closed the session before a reply"),
        }
    }
}

#[tokio::test]
async fn a_call_nested_too_deep_still_gets_its_one_reply() {
    let relay = Relay::start().await;
    let mut wire = Wire::open(relay.ws_request()).await;
    for deep in [
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)),
    ] {
        // The id after the op too: it is read wherever it stands.
        for text in [
            format!(r#"{{"type":"call","id":7,"op":{deep}}}"#),
            format!(r#"{{"type":"call","op":{deep},"id":7}}"#),
        ] {
            wire.send_text(text).await;
            match reply(&mut wire).await {
                (CallId(7), Outcome::Invalid { reason }) => {
                    assert!(reason.contains("recursion limit"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_binary_frame_holding_a_call_gets_its_one_reply() {
    let relay = Relay::start().await;
    let mut wire = Wire::open(relay.ws_request()).await;
    let call =
        r#"{"type":"call","id":42,"op":{"syscall":"socket","family":"ipv4","type":"stream"}}"#;
    wire.ws
        .send(Message::Binary(call.as_bytes().to_vec().into()))
        .await
        .expect("send a binary frame");
    match reply(&mut wire).await {
        (CallId(42), Outcome::Invalid { reason }) => {
            assert!(reason.contains("binary frames"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // The control: the same call as a text frame is a call, and nothing was made before it
    // (socket ids count from 1, so the binary one made no socket).
    wire.send_text(call.to_owned()).await;
    match reply(&mut wire).await {
        (CallId(42), Outcome::Ok(Done::Socket { socket, .. })) => assert_eq!(socket, SocketId(1)),
        other => panic!("{other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_ends_the_session_with_a_goodbye_and_1007() {
    let relay = Relay::start().await;
    let mut bystander = relay.client().await;
    let mut wire = Wire::open(relay.ws_request()).await;
    let listening = match wire
        .done(Op::Socket {
            family: socketlab_shared::Family::Ipv4,
            kind: socketlab_shared::SocketType::Stream,
        })
        .await
    {
        Done::Socket { socket, .. } => socket,
        other => panic!("{other:?}"),
    };
    let Done::Bind { local } = wire
        .done(Op::Bind {
            socket: listening,
            address: "127.0.0.1:0".into(),
        })
        .await
    else {
        panic!("bind failed");
    };
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    within(
        "sending a broken text frame",
        wire.ws.send(Message::Frame(frame)),
    )
    .await
    .expect("send the frame");
    let (code, seen) = wire.close_code().await;
    assert_eq!(code, Some(1007), "invalid frame payload data; saw {seen:?}");
    assert!(
        seen.iter()
            .any(|m| matches!(m, FromRelay::Goodbye { reason } if reason.contains("UTF-8"))),
        "a goodbye that says why: {seen:?}"
    );
    assert!(
        crate::support::tcp_port_is_free(&local),
        "its socket is closed"
    );
    // The other session never noticed.
    bystander.tcp().await;
    relay.stop().await;
}

#[tokio::test]
async fn recv_and_recvfrom_asking_for_no_bytes_are_invalid() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let tcp = c.tcp().await;
    let udp = c.udp().await;
    for op in [
        Op::Recv {
            socket: tcp,
            max: 0,
        },
        Op::Recvfrom {
            socket: udp,
            max: 0,
        },
    ] {
        let id = c.call(op).await;
        match c.reply(id).await {
            Outcome::Invalid { reason } => assert!(reason.contains("at least 1"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn frames_that_are_not_calls_cost_a_token_of_the_rate_limit_too() {
    let relay = Relay::start_with(Config {
        limits: Limits {
            calls_per_second: 1,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut wire = Wire::open(relay.ws_request()).await;
    // The one token of the second: an undecodable call takes it...
    wire.send_text(r#"{"type":"call","id":1,"op":{"syscall":"fly"}}"#.into())
        .await;
    assert!(matches!(
        reply(&mut wire).await,
        (CallId(1), Outcome::Invalid { .. })
    ));
    // ... so the next frame, readable or not, is over the limit.
    wire.send_text(r#"{"type":"call","id":2,"op":{"syscall":"fly"}}"#.into())
        .await;
    match reply(&mut wire).await {
        (CallId(2), Outcome::Refused { rule, .. }) => assert_eq!(rule, "rate_limit"),
        other => panic!("{other:?}"),
    }
    let id = wire
        .start(Op::Socket {
            family: socketlab_shared::Family::Ipv4,
            kind: socketlab_shared::SocketType::Stream,
        })
        .await;
    match reply(&mut wire).await {
        (got, Outcome::Refused { rule, .. }) if got == id => assert_eq!(rule, "rate_limit"),
        other => panic!("{other:?}"),
    }
    // The control: a fresh session's first call is admitted.
    let mut fresh = Wire::open(relay.ws_request()).await;
    assert!(matches!(
        fresh
            .call(Op::Socket {
                family: socketlab_shared::Family::Ipv4,
                kind: socketlab_shared::SocketType::Stream,
            })
            .await,
        Outcome::Ok(_)
    ));
    relay.stop().await;
}

/// A request head of `len` bytes in total, written in one piece; the status line answered.
async fn status_for_head_of(relay: &Relay, len: usize) -> String {
    let mut stream = within("connecting", tokio::net::TcpStream::connect(relay.addr))
        .await
        .expect("connect");
    let start = format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Junk: ", relay.addr);
    let end = "\r\nConnection: close\r\n\r\n";
    let head = format!("{start}{}{end}", "j".repeat(len - start.len() - end.len()));
    assert_eq!(head.len(), len);
    let _ = within("writing the head", stream.write_all(head.as_bytes())).await;
    let mut response = Vec::new();
    let _ = within("the response", stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_request_head_limit_holds_for_a_head_written_in_one_piece() {
    let relay = Relay::start().await;
    for len in [32 * 1024 + 1, 40_000, 47 * 1024] {
        let status = status_for_head_of(&relay, len).await;
        assert!(
            status.starts_with("HTTP/1.1 431"),
            "{len} bytes: {status:?}"
        );
    }
    // The control: a head just within the limit is served (the page, or "not built").
    let status = status_for_head_of(&relay, 32 * 1024).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    relay.stop().await;
}

#[tokio::test]
async fn the_ranges_the_protocol_states_hold() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    // A negative backlog goes to the kernel, which (as for any larger than somaxconn) uses
    // net.core.somaxconn.
    let listener = c.tcp().await;
    c.bind(listener, "127.0.0.1:0").await;
    c.ok(Op::Listen {
        socket: listener,
        backlog: -1,
    })
    .await;
    // A flag is any int, as in C: 7 sets it, and it reads back as 1.
    let client = c.tcp().await;
    let done = c
        .ok(Op::Setsockopt {
            socket: client,
            option: SockOpt::TcpNodelay,
            value: 7,
        })
        .await;
    assert_eq!(
        done,
        Done::Setsockopt {
            option: SockOpt::TcpNodelay,
            value: 1
        }
    );
    // A size cannot be negative; a value beyond an i32 does not decode, and its id is answered.
    let id = c
        .call(Op::Setsockopt {
            socket: client,
            option: SockOpt::SoRcvbuf,
            value: -1,
        })
        .await;
    assert!(matches!(c.reply(id).await, Outcome::Invalid { .. }));
    let mut wire = Wire::open(relay.ws_request()).await;
    wire.send_text(
        r#"{"type":"call","id":9,"op":{"syscall":"setsockopt","socket":1,"option":"SO_RCVBUF","value":2147483648}}"#
            .into(),
    )
    .await;
    match reply(&mut wire).await {
        (CallId(9), Outcome::Invalid { reason }) => assert!(reason.contains("i32"), "{reason}"),
        other => panic!("{other:?}"),
    }
    relay.stop().await;
}
