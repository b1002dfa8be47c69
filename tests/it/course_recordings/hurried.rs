//! Recorders of the near misses of lessons 1-10's exercises (see the parent's header): the path a
//! learner in a hurry takes, recorded for real, which the exercise must not pass. The frontend's
//! `course::exercises::near_miss_tests::NEAR_MISSES` lists each with what the learner did and the
//! answer they would type. Run with `cargo test -p socketlab-tests --test it
//! course_recordings::hurried -- --test-threads=1`.

use socketlab_shared::{Done, Op, Payload, SocketType};

use super::{free_port_in, record, send_three_datagrams};

#[tokio::test]
async fn record_bind_port_zero_near_miss() {
    // The near miss, for real: a port typed into bind() instead of 0 (the learner then types
    // that port back). The kernel chose nothing.
    record("bind-port-zero.near-miss", async |r| {
        let port = free_port_in(1024..=49151);
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, &format!("127.0.0.1:{port}")).await;
    })
    .await;
}

#[tokio::test]
async fn record_talk_to_a_service_near_misses() {
    // The near miss, for real: connected to echo_tcp and sent, but never called recv().
    record("talk-to-a-service.near-miss", async |r| {
        let echo = r.echo_tcp();
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.connect(socket, &echo).await;
        r.ok(Op::Send {
            socket,
            data: Payload::from("hello\n"),
        })
        .await;
    })
    .await;
    // The near miss, for real: the same round trip on a UDP socket with echo_udp, which the
    // relay runs on echo_tcp's port number: the task says a TCP socket and echo_tcp.
    record("talk-to-a-service.udp.near-miss", async |r| {
        let echo = r
            .services
            .get("echo_udp")
            .cloned()
            .expect("the relay advertises echo_udp in its machine message");
        let (socket, _) = r.socket(SocketType::Datagram).await;
        // As lesson 10 says: the relay refuses a datagram socket's traffic before it is bound.
        r.bind(socket, "127.0.0.1:0").await;
        r.connect(socket, &echo).await;
        let data = b"hello\n";
        r.ok(Op::Send {
            socket,
            data: Payload::from(data.to_vec()),
        })
        .await;
        match r.ok(Op::Recv { socket, max: 1024 }).await {
            Done::Recv { data: got } => assert_eq!(got.as_bytes(), data, "echo_udp echoes"),
            other => panic!("recv() returned {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn record_bind_port_80_near_miss() {
    // The near miss, for real: the learner typed the alternative HTTP port (8080 in lesson 4's
    // table; here a port from the registered range that this test found free) instead of 80,
    // and it worked. No bind to port 80 was tried.
    record("bind-port-80.near-miss", async |r| {
        let port = free_port_in(1024..=49151);
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, &format!("127.0.0.1:{port}")).await;
    })
    .await;
}

#[tokio::test]
async fn record_descriptor_reuse_near_miss() {
    // The near miss, for real: the new socket was made before the old one was closed, so it
    // got another number; nothing was created after the close. Only the outcomes are compared,
    // never the descriptor numbers, so other tests' descriptors cannot change it.
    record("descriptor-reuse.near-miss", async |r| {
        let (old, _) = r.socket(SocketType::Stream).await;
        r.socket(SocketType::Stream).await;
        r.close(old).await;
    })
    .await;
}

#[tokio::test]
async fn record_accept_two_clients_near_miss() {
    // The near miss, for real: two clients connected, but accept() was called once; the second
    // connection still waits in the listener's queue.
    record("accept-two-clients.near-miss", async |r| {
        let (listener, address) = r.listener().await;
        for _ in 0..2 {
            let (client, _) = r.socket(SocketType::Stream).await;
            r.connect(client, &address).await;
        }
        let accept = r.call(Op::Accept { socket: listener }).await;
        r.done(accept).await;
    })
    .await;
}

#[tokio::test]
async fn record_client_round_trip_near_miss() {
    // The near miss, for real: the whole round trip with echo_tcp, but the socket never closed.
    record("client-round-trip.near-miss", async |r| {
        let echo = r.echo_tcp();
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.connect(socket, &echo).await;
        let data = b"hello\n";
        r.send_and_recv(socket, data).await;
    })
    .await;
}

#[tokio::test]
async fn record_three_datagrams_near_miss() {
    // The near miss, for real: three datagrams sent, then one recvfrom() with a big buffer, as
    // if it would return them all (it returns the first datagram only).
    record("three-datagrams.near-miss", async |r| {
        let receiver = send_three_datagrams(r).await;
        match r
            .ok(Op::Recvfrom {
                socket: receiver,
                max: 4096,
            })
            .await
        {
            Done::Recvfrom { data, .. } => assert_eq!(data.as_bytes(), b"one", "one datagram"),
            other => panic!("recvfrom() returned {other:?}"),
        }
    })
    .await;
}
