//! The kernel view through the real relay: the `kernel` messages show what the kernel's own
//! socket tables say about a session's sockets (states, queues, addresses), including the
//! connections in a listener's accept queue and what TIME_WAIT leaves after close. Linux only:
//! elsewhere these tests check that the relay says the view is unavailable.
//!
//! Pinned here: `capabilities` follows `welcome` (the view available on Linux; elsewhere
//! unavailable, "Linux" in the reason, no remedy); a session with no sockets is sent no `kernel`
//! message (1.5 s of silence after a reply, then, the control, a bound socket is reported); listen,
//! connect, accept, send, the client closes first, the server closes: LISTEN (Send-Q = the
//! backlog), ESTABLISHED on both ends, the 5 bytes in the server's Recv-Q, FIN_WAIT1 or FIN_WAIT2
//! on the active closer (a detached `closed` row) with CLOSE_WAIT on the passive one, then
//! TIME_WAIT on the side that closed first; a connection completed with no accept pending is
//! ESTABLISHED in the listener's accept queue (its Recv-Q counts it) and `accept()` returns that
//! very connection; a bound UDP socket is UNCONN (`ss -uan`), and the list goes empty after close.

use std::time::Duration;

use socketlab_shared::{
    Availability, Detached, Done, FromRelay, KernelSocket, KernelState, Op, Payload, SocketId,
    Transport,
};

use crate::support::{Client, Relay, within};

/// How long a session with no sockets is watched for a `kernel` message that must not come.
/// A bound, not a synchronisation: the relay would look at once after the reply, and 1.5 s is
/// longer than its slowest pause between looks (1 s).
const SILENCE: Duration = Duration::from_millis(1500);

/// Reads the session's `kernel` messages in the order they came, skipping earlier ones, until
/// one shows what `wanted` looks for; fails with `what` (and the last list seen) otherwise.
pub(crate) async fn kernel_until(
    client: &mut Client,
    what: &str,
    wanted: impl Fn(&[KernelSocket]) -> bool,
) -> Vec<KernelSocket> {
    let mut last = Vec::new();
    let found = tokio::time::timeout(crate::support::STEP, async {
        loop {
            let sockets = client
                .wait_for(what, |message| match message {
                    FromRelay::Kernel { sockets } => Some(sockets.clone()),
                    _ => None,
                })
                .await;
            if wanted(&sockets) {
                return sockets;
            }
            last = sockets;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no kernel message showed {what}; the last was {last:#?}"))
}

/// The row of the session's socket `socket`.
fn row(sockets: &[KernelSocket], socket: SocketId) -> Option<&KernelSocket> {
    sockets.iter().find(|row| row.socket == Some(socket))
}

/// Whether the session's socket `socket` is in `state` between `local` and `remote`.
fn shows(
    sockets: &[KernelSocket],
    socket: SocketId,
    state: KernelState,
    local: &str,
    remote: &str,
) -> bool {
    row(sockets, socket)
        .is_some_and(|row| row.state == state && row.local == local && row.remote == remote)
}

/// The detached row (no descriptor) of `why` from `local` to `remote`, if any.
fn detached<'a>(
    sockets: &'a [KernelSocket],
    why: &Detached,
    local: &str,
    remote: &str,
) -> Option<&'a KernelSocket> {
    sockets.iter().find(|row| {
        row.socket.is_none()
            && row.detached.as_ref() == Some(why)
            && row.local == local
            && row.remote == remote
    })
}

/// Whether a row is a connection in some listener's accept queue. (Tests look for these, not
/// for any detached row: a TIME_WAIT left by another test on a port this session's client now
/// uses would count as this session's, see the relay's `kernel_view` docs.)
fn queued(row: &KernelSocket) -> bool {
    matches!(row.detached, Some(Detached::AcceptQueue { .. }))
}

async fn connect(client: &mut Client, socket: SocketId, address: &str) -> String {
    let op = Op::Connect {
        socket,
        address: address.into(),
    };
    match client.ok(op).await {
        Done::Connect { local, .. } => local,
        other => panic!("connect returned {other:?}"),
    }
}

async fn accept(client: &mut Client, listener: SocketId) -> (SocketId, String) {
    match client.ok(Op::Accept { socket: listener }).await {
        Done::Accept { socket, peer, .. } => (socket, peer),
        other => panic!("accept returned {other:?}"),
    }
}

#[tokio::test]
async fn capabilities_follow_welcome_and_say_the_kernel_view_is_linux_only() {
    let relay = Relay::start().await;
    let client = relay.client().await;
    let Some(FromRelay::Capabilities { kernel_view, .. }) = &client.capabilities else {
        panic!("no capabilities after welcome: {:?}", client.capabilities);
    };
    if cfg!(target_os = "linux") {
        assert_eq!(kernel_view, &Availability::Available);
    } else {
        let Availability::Unavailable { reason, remedy } = kernel_view else {
            panic!("the kernel view is Linux only, yet {kernel_view:?}");
        };
        assert!(reason.contains("Linux"), "{reason}");
        assert_eq!(remedy, &None);
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_session_with_no_sockets_is_sent_no_kernel_message() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    // A reply nudges the view; with no socket it must find nothing to say.
    let call = c
        .call(Op::Close {
            socket: SocketId(1),
        })
        .await;
    c.reply(call).await;
    let heard = tokio::time::timeout(
        SILENCE,
        c.wait_for("a kernel message", |message| match message {
            FromRelay::Kernel { sockets } => Some(sockets.clone()),
            _ => None,
        }),
    )
    .await;
    assert!(heard.is_err(), "a session with no sockets got {heard:?}");
    // The control: in the same session, a socket in the kernel is reported at once, so the
    // silence above was the view having nothing to say, not a view that says nothing.
    let udp = c.udp().await;
    c.bind(udp, "127.0.0.1:0").await;
    kernel_until(&mut c, "the bound socket", |sockets| sockets.len() == 1).await;
    relay.stop().await;
}

/// listen; connect; accept; send; the client closes first; the server closes. The kernel
/// view shows, in this order: LISTEN; ESTABLISHED on both ends; FIN_WAIT on the active closer
/// (now a detached `closed` row) with CLOSE_WAIT on the passive one; then TIME_WAIT on the
/// side that closed first.
///
/// FIN_WAIT1 or FIN_WAIT2: after `close()` the client is in FIN_WAIT1 until the server's
/// kernel acknowledges the FIN, which on loopback takes microseconds, usually less than the
/// time between the close reply and the relay's look. Which of the two the view catches is a
/// race the test must not depend on; FIN_WAIT2 then lasts until the server closes.
#[tokio::test]
#[cfg(target_os = "linux")]
async fn a_connection_goes_through_the_tcp_states_in_order() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, address) = c.listener().await;
    // A listener's Send-Q is its backlog (16, from `Client::listen`), as `ss` shows it.
    let seen = kernel_until(&mut c, "the listener in LISTEN with its backlog", |s| {
        shows(s, listener, KernelState::Listen, &address, "0.0.0.0:*")
            && row(s, listener).is_some_and(|row| row.send_q == 16)
    })
    .await;
    let listening = row(&seen, listener).expect("the listener's row");
    assert!(listening.ss_line().starts_with("LISTEN"), "{listening:?}");

    let client = c.tcp().await;
    let client_address = connect(&mut c, client, &address).await;
    let (server, peer) = accept(&mut c, listener).await;
    assert_eq!(peer, client_address);
    kernel_until(&mut c, "ESTABLISHED on both ends", |s| {
        shows(
            s,
            client,
            KernelState::Established,
            &client_address,
            &address,
        ) && shows(
            s,
            server,
            KernelState::Established,
            &address,
            &client_address,
        )
    })
    .await;

    let data = Payload::from("hello");
    let sent = c
        .ok(Op::Send {
            socket: client,
            data,
        })
        .await;
    assert_eq!(sent, Done::Send { sent: 5 });
    kernel_until(&mut c, "5 bytes in the server's Recv-Q", |s| {
        row(s, server).is_some_and(|row| row.recv_q == 5)
    })
    .await;
    let received = c
        .ok(Op::Recv {
            socket: server,
            max: 64,
        })
        .await;
    assert_eq!(
        received,
        Done::Recv {
            data: "hello".into()
        }
    );

    c.close(client).await;
    let closed = Detached::Closed;
    let seen = kernel_until(
        &mut c,
        "FIN_WAIT on the client, CLOSE_WAIT on the server",
        |s| {
            let fin_wait = detached(s, &closed, &client_address, &address).is_some_and(|row| {
                matches!(row.state, KernelState::FinWait1 | KernelState::FinWait2)
            });
            fin_wait && shows(s, server, KernelState::CloseWait, &address, &client_address)
        },
    )
    .await;
    assert!(
        row(&seen, client).is_none(),
        "the closed client has no descriptor: {seen:#?}"
    );

    c.close(server).await;
    let seen = kernel_until(&mut c, "TIME_WAIT on the client's side", |s| {
        detached(s, &closed, &client_address, &address)
            .is_some_and(|row| row.state == KernelState::TimeWait)
    })
    .await;
    assert!(
        detached(&seen, &closed, &address, &client_address).is_none(),
        "the side that closed second leaves no TIME_WAIT: {seen:#?}"
    );
    relay.stop().await;
}

/// With no accept pending, a connection the kernel completes waits in the listener's accept
/// queue: the view shows it ESTABLISHED with no descriptor, and the listener's Recv-Q counts
/// it. accept() then returns that very connection, and its row becomes the new socket's.
#[tokio::test]
#[cfg(target_os = "linux")]
async fn a_connection_waits_in_the_accept_queue_until_accept_takes_it() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, address) = c.listener().await;
    let client = c.tcp().await;
    let client_address = connect(&mut c, client, &address).await;
    let queue = Detached::AcceptQueue { listener };
    let seen = kernel_until(&mut c, "the connection in the accept queue", |s| {
        let in_queue = detached(s, &queue, &address, &client_address)
            .is_some_and(|row| row.state == KernelState::Established);
        in_queue
            && row(s, listener).is_some_and(|row| row.recv_q == 1)
            && shows(
                s,
                client,
                KernelState::Established,
                &client_address,
                &address,
            )
    })
    .await;
    assert_eq!(
        seen.iter().filter(|row| queued(row)).count(),
        1,
        "one connection queued: {seen:#?}"
    );

    let (server, peer) = accept(&mut c, listener).await;
    assert_eq!(peer, client_address, "accept returns the queued connection");
    // The listener and the connections are separate lines of /proc/net/tcp, read one after
    // the other: one look may see the accepted socket and still the old queue length, so the
    // test waits for a look that shows both.
    let seen = kernel_until(&mut c, "the accepted socket and an empty queue", |s| {
        shows(
            s,
            server,
            KernelState::Established,
            &address,
            &client_address,
        ) && row(s, listener).is_some_and(|row| row.recv_q == 0)
    })
    .await;
    assert!(
        !seen.iter().any(queued),
        "nothing left in the queue: {seen:#?}"
    );
    relay.stop().await;
}

#[tokio::test]
#[cfg(target_os = "linux")]
async fn a_bound_datagram_socket_shows_as_unconn_and_then_goes() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let socket = c.udp().await;
    let local = c.bind(socket, "127.0.0.1:0").await;
    let seen = kernel_until(&mut c, "the UDP socket UNCONN", |s| {
        shows(s, socket, KernelState::Unconn, &local, "0.0.0.0:*")
    })
    .await;
    assert_eq!(seen[0].transport, Transport::Udp);
    assert_eq!(seen[0].ss_command(), "ss -uan");
    c.close(socket).await;
    within(
        "the empty list after close",
        kernel_until(&mut c, "an empty list", <[KernelSocket]>::is_empty),
    )
    .await;
    relay.stop().await;
}
