//! Recorders of sessions that follow the course in one tab (see the parent's header): the
//! earlier lessons' steps first, as their text says, then the hurried path of a later
//! exercise. The earlier lessons leave binds, listeners, connections and closes behind; these
//! recordings show that the later exercise's check does not count them. Lesson 5 (port 80) is
//! left out of every session: its answer is the machine's (root or not), and these recordings
//! are compared in every run. Run with
//! `cargo test -p socketlab-tests --test it course_recordings::leftovers -- --test-threads=1`.

use socketlab_shared::{Done, Op, SocketId, SocketType};

use super::{Recorder, free_port_in, record};

/// Lesson 1's steps: two sockets bound to `127.0.0.1:0`, both listening. Their addresses.
async fn lesson_1(r: &mut Recorder) -> [(SocketId, String); 2] {
    [r.listener().await, r.listener().await]
}

/// Lesson 2's steps: bind to port 0, then close, socket() again and bind to port 0 again.
async fn lesson_2(r: &mut Recorder) {
    let (socket, _) = r.socket(SocketType::Stream).await;
    r.bind(socket, "127.0.0.1:0").await;
    r.close(socket).await;
    let (again, _) = r.socket(SocketType::Stream).await;
    r.bind(again, "127.0.0.1:0").await;
}

/// Lesson 3's steps: one typed port from each upper range (found free by this test).
async fn lesson_3(r: &mut Recorder) {
    for range in [1024..=49151, 49152..=65535] {
        let port = free_port_in(range);
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, &format!("127.0.0.1:{port}")).await;
    }
}

/// Lesson 4's steps: a TCP socket connected to echo_tcp, send, recv, and close only when
/// `close` (its exercise passes without step 6, so a hurried learner skips it).
async fn lesson_4(r: &mut Recorder, close: bool) {
    let echo = r.echo_tcp();
    let (socket, _) = r.socket(SocketType::Stream).await;
    r.connect(socket, &echo).await;
    r.send_and_recv(socket, b"hello\n").await;
    if close {
        r.close(socket).await;
    }
}

/// Lesson 6's steps: a server socket, a client socket, close the server's, socket() again.
async fn lesson_6(r: &mut Recorder) {
    let (server, _) = r.socket(SocketType::Stream).await;
    r.socket(SocketType::Stream).await;
    r.close(server).await;
    r.socket(SocketType::Stream).await;
}

/// Accepts on `listener` the connection of a new client to `address`.
async fn accept_a_client(r: &mut Recorder, listener: SocketId, address: &str) {
    let (client, _) = r.socket(SocketType::Stream).await;
    r.connect(client, address).await;
    match r.ok(Op::Accept { socket: listener }).await {
        Done::Accept { .. } => {}
        other => panic!("accept() returned {other:?}"),
    }
}

/// Lesson 7's steps: a listener, a client connected before accept(), accept(); a second
/// client, accept() again.
async fn lesson_7(r: &mut Recorder) {
    let (listener, address) = r.listener().await;
    for _ in 0..2 {
        accept_a_client(r, listener, &address).await;
    }
}

#[tokio::test]
async fn record_ports_in_two_ranges_after_lessons_1_and_2() {
    // Lessons 1 and 2 leave three ports the kernel chose (port 0), often one in each range.
    // Then lesson 3 in a hurry: a typed port in the registered range, and the client's bind()
    // field left at its default, 127.0.0.1:0. No typed port in the dynamic range.
    record(
        "ports-in-two-ranges.after-lessons-1-2.near-miss",
        async |r| {
            lesson_1(r).await;
            lesson_2(r).await;
            let port = free_port_in(1024..=49151);
            let (server, _) = r.socket(SocketType::Stream).await;
            r.bind(server, &format!("127.0.0.1:{port}")).await;
            let (client, _) = r.socket(SocketType::Stream).await;
            r.bind(client, "127.0.0.1:0").await;
        },
    )
    .await;
}

#[tokio::test]
async fn record_accept_two_clients_after_lessons_1_to_6() {
    // Lessons 1-6 leave lesson 1's two listeners. Lesson 7 in a hurry: one client for each of
    // them, one accept() on each. Two accepts, but never two on one listener.
    record(
        "accept-two-clients.after-lessons-1-6.near-miss",
        async |r| {
            let listeners = lesson_1(r).await;
            lesson_2(r).await;
            lesson_3(r).await;
            lesson_4(r, true).await;
            lesson_6(r).await;
            for (listener, address) in listeners {
                accept_a_client(r, listener, &address).await;
            }
        },
    )
    .await;
}

/// Lessons 1-7 as their steps say, except lesson 4's last step (close), which its exercise does
/// not need: its echoed socket stays open.
async fn lessons_1_to_7(r: &mut Recorder) {
    lesson_1(r).await;
    lesson_2(r).await;
    lesson_3(r).await;
    lesson_4(r, false).await;
    lesson_6(r).await;
    lesson_7(r).await;
}

/// Lesson 8's steps on a new socket: connect to echo_tcp, send, recv, and close when `close`.
async fn lesson_8(r: &mut Recorder, close: bool) {
    let echo = r.echo_tcp();
    let (socket, _) = r.socket(SocketType::Stream).await;
    r.connect(socket, &echo).await;
    r.send_and_recv(socket, b"ping\n").await;
    if close {
        r.close(socket).await;
    }
}

#[tokio::test]
async fn record_client_round_trip_after_lessons_1_to_7() {
    // The control: after lessons 1-7 (lesson 4's echoed socket still open), lesson 8 done
    // whole on a new socket. It must pass: the leftover does not hide it.
    record("client-round-trip.after-lessons-1-7", async |r| {
        lessons_1_to_7(r).await;
        lesson_8(r, true).await;
    })
    .await;
    // The near miss, for real: the same, without the close(). Lesson 4's socket got its bytes
    // back too, but neither was closed.
    record("client-round-trip.after-lessons-1-7.near-miss", async |r| {
        lessons_1_to_7(r).await;
        lesson_8(r, false).await;
    })
    .await;
}
