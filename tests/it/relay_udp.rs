//! UDP through the relay: datagrams keep their boundaries, recvfrom names the sender, and a
//! datagram longer than the buffer is reported truncated.
//!
//! Pinned here: two datagrams stay two; recvfrom waits and reports truncation; a queued datagram's
//! event carries its size; the Linux answers that surprise (`sendto` from an unbound socket binds
//! it, with `--allow-bind-wildcard`).

use socketlab_shared::{Done, Event, Op, Payload};

use crate::support::Relay;

/// Also the kernel's own autobind: with the wildcard allowed (`--allow-bind-wildcard`), the
/// first sendto of a socket never bound binds it to 0.0.0.0 and a port the kernel picks.
#[tokio::test]
async fn two_datagrams_stay_two() {
    let relay = Relay::allowing_wildcard().await;
    let mut c = relay.client().await;
    let receiver = c.udp().await;
    let address = c.bind(receiver, "127.0.0.1:0").await;
    let sender = c.udp().await;

    let mut sender_local = String::new();
    for part in ["one", "two"] {
        match c
            .ok(Op::Sendto {
                socket: sender,
                data: Payload::from(part),
                address: address.clone(),
            })
            .await
        {
            Done::Sendto { sent, local } => {
                assert_eq!(sent, 3);
                // The first sendto bound the socket to an ephemeral port, on the wildcard
                // address: the kernel picks the source address per datagram.
                assert!(!local.ends_with(":0"), "{local}");
                assert!(local.starts_with("0.0.0.0:"), "{local}");
                sender_local = local;
            }
            other => panic!("{other:?}"),
        }
    }
    let port = sender_local.rsplit(':').next().expect("a port").to_owned();
    for part in ["one", "two"] {
        let got = c
            .ok(Op::Recvfrom {
                socket: receiver,
                max: 100,
            })
            .await;
        assert_eq!(
            got,
            Done::Recvfrom {
                data: Payload::from(part),
                from: format!("127.0.0.1:{port}"),
                truncated: false,
            },
            "each recvfrom returns exactly one datagram"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn recvfrom_waits_for_a_datagram_and_reports_truncation() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let receiver = c.udp().await;
    let address = c.bind(receiver, "127.0.0.1:0").await;
    let sender = c.udp().await;
    c.bind(sender, "127.0.0.1:0").await;

    let pending = c
        .call(Op::Recvfrom {
            socket: receiver,
            max: 4,
        })
        .await;
    c.ok(Op::Sendto {
        socket: sender,
        data: Payload::from("too long"),
        address,
    })
    .await;
    match c.done(pending).await {
        Done::Recvfrom {
            data, truncated, ..
        } => {
            assert_eq!(data, Payload::from("too "));
            assert!(
                truncated,
                "the rest of the datagram is lost and recvfrom says so"
            );
        }
        other => panic!("{other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_queued_datagram_is_an_event_with_its_size() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let receiver = c.udp().await;
    let address = c.bind(receiver, "127.0.0.1:0").await;
    let sender = c.udp().await;
    c.bind(sender, "127.0.0.1:0").await;
    c.ok(Op::Sendto {
        socket: sender,
        data: Payload::from("12345"),
        address,
    })
    .await;
    assert_eq!(c.event(receiver).await, Event::DataWaiting { queued: 5 });
    relay.stop().await;
}
