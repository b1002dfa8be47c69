//! Unit tests of the lesson services as `start` runs them: each on loopback, each bound, each
//! ended by the token.

use super::*;
use crate::isolation::Place;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};

const STEP: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn address(services: &[LessonService], name: &str) -> SocketAddr {
    let service = services.iter().find(|s| s.name == name).unwrap();
    service.address.parse().unwrap()
}

#[tokio::test]
async fn the_services_listen_on_loopback_and_end_with_the_token() {
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let services = start(
        Bounds::default(),
        &LessonConfig::default(),
        &Place::default(),
        &token,
        &tracker,
    )
    .await
    .services;
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["echo_tcp", "echo_udp", "forward_tcp"]);
    for service in &services {
        let addr: SocketAddr = service.address.parse().unwrap();
        assert!(addr.ip().is_loopback(), "{service:?}");
        assert_ne!(addr.port(), 0);
    }
    assert_eq!(endpoints(&services).count(), 3);
    let tcp = address(&services, "echo_tcp");
    let open = within("connect", TcpStream::connect(tcp)).await.unwrap();
    token.cancel();
    tracker.close();
    within("the services to end", tracker.wait()).await;
    drop(open);
    let refused = within("connect after shutdown", TcpStream::connect(tcp)).await;
    assert!(refused.is_err(), "the listener is closed after shutdown");
}

#[tokio::test]
async fn a_connection_is_closed_after_its_byte_budget() {
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let bounds = Bounds {
        max_bytes: 4,
        ..Bounds::default()
    };
    let services = start(
        bounds,
        &LessonConfig::default(),
        &Place::default(),
        &token,
        &tracker,
    )
    .await
    .services;
    let mut stream = within(
        "connect",
        TcpStream::connect(address(&services, "echo_tcp")),
    )
    .await
    .unwrap();
    within("write", stream.write_all(b"abcdef")).await.unwrap();
    let mut echoed = Vec::new();
    within("the echo and its end", stream.read_to_end(&mut echoed))
        .await
        .unwrap();
    assert_eq!(echoed, b"abcd");
    token.cancel();
}

#[tokio::test]
async fn one_connection_over_the_limit_is_closed_at_once() {
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let bounds = Bounds {
        max_connections: 1,
        ..Bounds::default()
    };
    let services = start(
        bounds,
        &LessonConfig::default(),
        &Place::default(),
        &token,
        &tracker,
    )
    .await
    .services;
    let tcp = address(&services, "echo_tcp");
    let mut first = within("connect", TcpStream::connect(tcp)).await.unwrap();
    // The first connection is being echoed (so it holds the one permit) before the second.
    within("write", first.write_all(b"x")).await.unwrap();
    let mut one = [0; 1];
    within("echo", first.read_exact(&mut one)).await.unwrap();
    let mut second = within("connect", TcpStream::connect(tcp)).await.unwrap();
    let mut rest = Vec::new();
    let end = within("the second to be closed", second.read_to_end(&mut rest)).await;
    assert!(rest.is_empty(), "{end:?}");
    token.cancel();
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let bounds = Bounds {
        idle: Duration::from_millis(50),
        ..Bounds::default()
    };
    let services = start(
        bounds,
        &LessonConfig::default(),
        &Place::default(),
        &token,
        &tracker,
    )
    .await
    .services;
    let mut stream = within(
        "connect",
        TcpStream::connect(address(&services, "echo_tcp")),
    )
    .await
    .unwrap();
    let mut rest = Vec::new();
    within(
        "the idle connection to be closed",
        stream.read_to_end(&mut rest),
    )
    .await
    .unwrap();
    assert!(rest.is_empty());
    token.cancel();
}

#[tokio::test]
async fn udp_datagrams_come_back_one_by_one() {
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let services = start(
        Bounds::default(),
        &LessonConfig::default(),
        &Place::default(),
        &token,
        &tracker,
    )
    .await
    .services;
    let udp = address(&services, "echo_udp");
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for datagram in [&b"one"[..], b"two", b"three"] {
        within("sendto", socket.send_to(datagram, udp))
            .await
            .unwrap();
    }
    let mut buffer = [0; 64];
    for datagram in [&b"one"[..], b"two", b"three"] {
        let (n, from) = within("recvfrom", socket.recv_from(&mut buffer))
            .await
            .unwrap();
        assert_eq!((&buffer[..n], from), (datagram, udp));
    }
    token.cancel();
}
