//! TCP through the relay: the server path (socket, bind, listen, accept) and the client path
//! (socket, connect) in one session, data both ways, end of stream, and stream semantics.
//!
//! Pinned here: an accept waits, then connect and accept both complete, with accept's peer equal to
//! connect's local; data both ways and end of stream; a pending recv does not block a send; two
//! sends arrive as one recv (waiting on `data_waiting{queued:4}`); the `peer_closed` and
//! `connection_waiting` events; IPv6 loopback; a send into full buffers waits until the peer reads.

use socketlab_shared::{Done, Event, Op, Outcome, Payload};

use crate::support::{Client, Relay};

/// A connected pair in one session: (listener, server side from accept, client).
async fn connected_pair(
    client: &mut Client,
) -> (
    socketlab_shared::SocketId,
    socketlab_shared::SocketId,
    socketlab_shared::SocketId,
) {
    let (listener, address) = client.listener().await;
    let accept = client.call(Op::Accept { socket: listener }).await;
    let tcp = client.tcp().await;
    client
        .ok(Op::Connect {
            socket: tcp,
            address,
        })
        .await;
    let Done::Accept { socket, .. } = client.done(accept).await else {
        panic!("accept returned something else");
    };
    (listener, socket, tcp)
}

#[tokio::test]
async fn accept_waits_until_a_client_connects_and_both_ends_talk() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;

    let (listener, address) = c.listener().await;
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "{address}"
    );

    // accept waits in the kernel: later calls of the session are answered first.
    let accept = c.call(Op::Accept { socket: listener }).await;
    let client = c.tcp().await;
    let name = c.ok(Op::Getsockname { socket: listener }).await;
    assert_eq!(
        name,
        Done::Getsockname {
            address: address.clone()
        }
    );
    assert!(
        !c.has_reply(accept),
        "accept returned before any client connected"
    );

    let connect = c
        .call(Op::Connect {
            socket: client,
            address: address.clone(),
        })
        .await;
    let Done::Connect {
        local: client_local,
        peer,
    } = c.done(connect).await
    else {
        panic!("connect returned something else");
    };
    assert_eq!(peer, address);
    let Done::Accept {
        socket: server,
        fd,
        local,
        peer: accepted_peer,
    } = c.done(accept).await
    else {
        panic!("accept returned something else");
    };
    assert!(fd >= 0);
    assert!(
        server != listener && server != client,
        "accept made a new socket"
    );
    assert_eq!(local, address);
    assert_eq!(
        accepted_peer, client_local,
        "accept's peer is the client's own address"
    );

    // Data both ways.
    let sent = c
        .ok(Op::Send {
            socket: client,
            data: Payload::from("ping"),
        })
        .await;
    assert_eq!(sent, Done::Send { sent: 4 });
    let got = c
        .ok(Op::Recv {
            socket: server,
            max: 100,
        })
        .await;
    assert_eq!(
        got,
        Done::Recv {
            data: Payload::from("ping")
        }
    );
    c.ok(Op::Send {
        socket: server,
        data: Payload::from("pong"),
    })
    .await;
    let got = c
        .ok(Op::Recv {
            socket: client,
            max: 100,
        })
        .await;
    assert_eq!(
        got,
        Done::Recv {
            data: Payload::from("pong")
        }
    );

    // The client closes; the server's recv sees end of stream (empty data).
    c.close(client).await;
    let got = c
        .ok(Op::Recv {
            socket: server,
            max: 100,
        })
        .await;
    assert_eq!(
        got,
        Done::Recv {
            data: Payload::default()
        }
    );

    // The listener keeps listening after accept.
    let again = c.ok(Op::Getsockname { socket: listener }).await;
    assert_eq!(again, Done::Getsockname { address });
    relay.stop().await;
}

#[tokio::test]
async fn a_pending_recv_does_not_block_a_send_on_the_same_socket() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (_listener, server, client) = connected_pair(&mut c).await;

    let recv = c
        .call(Op::Recv {
            socket: server,
            max: 100,
        })
        .await;
    // While the server's recv waits, the server sends.
    let sent = c
        .ok(Op::Send {
            socket: server,
            data: Payload::from("hello"),
        })
        .await;
    assert_eq!(sent, Done::Send { sent: 5 });
    assert!(!c.has_reply(recv), "recv returned with nothing sent to it");
    let echoed = c
        .ok(Op::Recv {
            socket: client,
            max: 100,
        })
        .await;
    assert_eq!(
        echoed,
        Done::Recv {
            data: Payload::from("hello")
        }
    );

    c.ok(Op::Send {
        socket: client,
        data: Payload::from("back"),
    })
    .await;
    assert_eq!(
        c.done(recv).await,
        Done::Recv {
            data: Payload::from("back")
        }
    );
    relay.stop().await;
}

#[tokio::test]
async fn two_tcp_sends_can_arrive_as_one_recv() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (_listener, server, client) = connected_pair(&mut c).await;

    for part in ["ab", "cd"] {
        c.ok(Op::Send {
            socket: client,
            data: Payload::from(part),
        })
        .await;
    }
    // The watcher reports the receive queue as it grows; wait until both sends are in it.
    loop {
        match c.event(server).await {
            Event::DataWaiting { queued: 4 } => break,
            Event::DataWaiting { queued } => assert!(queued < 4, "queued {queued}"),
            other => panic!("unexpected event {other:?}"),
        }
    }
    let got = c
        .ok(Op::Recv {
            socket: server,
            max: 100,
        })
        .await;
    assert_eq!(
        got,
        Done::Recv {
            data: Payload::from("abcd")
        },
        "a stream keeps no message boundaries"
    );
    relay.stop().await;
}

#[tokio::test]
async fn the_peer_closing_is_an_event_and_then_end_of_stream() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, server, client) = connected_pair(&mut c).await;
    // A second connection waiting in the queue shows as an event on the listener.
    let other = c.tcp().await;
    let address = match c.ok(Op::Getsockname { socket: listener }).await {
        Done::Getsockname { address } => address,
        other => panic!("{other:?}"),
    };
    c.ok(Op::Connect {
        socket: other,
        address,
    })
    .await;
    assert_eq!(c.event(listener).await, Event::ConnectionWaiting);

    c.ok(Op::Shutdown {
        socket: client,
        how: socketlab_shared::Shutdown::Write,
    })
    .await;
    assert_eq!(c.event(server).await, Event::PeerClosed);
    assert_eq!(
        c.ok(Op::Recv {
            socket: server,
            max: 10
        })
        .await,
        Done::Recv {
            data: Payload::default()
        }
    );
    // Half-closed: the server can still send, and the client still receives.
    c.ok(Op::Send {
        socket: server,
        data: Payload::from("bye"),
    })
    .await;
    assert_eq!(
        c.ok(Op::Recv {
            socket: client,
            max: 10
        })
        .await,
        Done::Recv {
            data: Payload::from("bye")
        }
    );
    relay.stop().await;
}

#[tokio::test]
async fn an_ipv6_loopback_connection_works_too() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let listener = c
        .socket(
            socketlab_shared::Family::Ipv6,
            socketlab_shared::SocketType::Stream,
        )
        .await;
    let address = c.bind(listener, "[::1]:0").await;
    assert!(address.starts_with("[::1]:"), "{address}");
    c.listen(listener).await;
    let accept = c.call(Op::Accept { socket: listener }).await;
    let client = c
        .socket(
            socketlab_shared::Family::Ipv6,
            socketlab_shared::SocketType::Stream,
        )
        .await;
    let connect = c
        .call(Op::Connect {
            socket: client,
            address,
        })
        .await;
    match c.reply(connect).await {
        Outcome::Ok(Done::Connect { local, .. }) => {
            let Done::Accept { peer, .. } = c.done(accept).await else {
                panic!("accept returned something else")
            };
            assert_eq!(peer, local);
        }
        other => panic!("IPv6 loopback connect failed (is ::1 configured?): {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_send_into_a_full_buffer_waits_until_the_peer_reads() {
    use socketlab_shared::SockOpt;
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (_listener, server, client) = connected_pair(&mut c).await;
    for (socket, option) in [(client, SockOpt::SoSndbuf), (server, SockOpt::SoRcvbuf)] {
        c.ok(Op::Setsockopt {
            socket,
            option,
            value: 4096,
        })
        .await;
    }
    let chunk = Payload(vec![b'x'; 65536]);
    // Fill the buffers: each send takes what fits, until one has to wait. A getsockname after
    // each send tells, by reply order, whether the send came back at once.
    let mut pending = None;
    for _ in 0..1000 {
        let send = c
            .call(Op::Send {
                socket: client,
                data: chunk.clone(),
            })
            .await;
        c.ok(Op::Getsockname { socket: client }).await;
        if !c.has_reply(send) {
            pending = Some(send);
            break;
        }
        c.done(send).await;
    }
    let send = pending.expect("a send into full buffers should wait");
    // The peer reads; the waiting send then completes with what the kernel took.
    loop {
        c.ok(Op::Recv {
            socket: server,
            max: 65536,
        })
        .await;
        c.ok(Op::Getsockname { socket: server }).await;
        if c.has_reply(send) {
            break;
        }
    }
    match c.done(send).await {
        Done::Send { sent } => assert!(sent > 0 && sent <= 65536, "{sent}"),
        other => panic!("{other:?}"),
    }
    relay.stop().await;
}
