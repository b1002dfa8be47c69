//! The relay's lesson services: small servers the lessons talk to, started with the relay on
//! 127.0.0.1 at ports the kernel chose, advertised to every session in `machine`, and put in
//! the policy's service ports so every session may connect or send to them (and to nothing
//! else it does not own). Today: `echo_tcp` and `echo_udp`.
//!
//! Bounded, because any program on the machine can reach them, not only sessions: at most
//! [`Bounds::max_connections`] TCP connections at once (one more is accepted and closed at
//! once, so its recv sees the end of the stream rather than hanging), at most
//! [`Bounds::max_bytes`] echoed per connection (then it is closed), and a connection idle (no
//! read, or a write the peer does not take) for [`Bounds::idle`] is closed. UDP echoes one
//! datagram at a time from one fixed buffer. Every task runs in the relay's tracker and ends
//! when the server token is cancelled, so shutdown waits for them and they never outlive `run`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use socketlab_shared::{LessonService, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The largest UDP payload, so no datagram is cut.
const DATAGRAM_BYTES: usize = 64 * 1024;
/// How many bytes one TCP read takes at most.
const CHUNK_BYTES: usize = 16 * 1024;
/// After a failed accept (EMFILE...), wait this long before the next try instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How far the echo services go for one peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) max_connections: usize,
    pub(crate) max_bytes: u64,
    pub(crate) idle: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_connections: 32,
            max_bytes: 1024 * 1024,
            idle: Duration::from_secs(5 * 60),
        }
    }
}

/// Binds and starts every lesson service. A service that cannot bind is logged and left out
/// (the lab works without it; the lessons see it missing from `machine.services`).
pub(crate) async fn start(
    bounds: Bounds,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> Vec<LessonService> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut services = Vec::new();
    match TcpListener::bind(loopback).await.and_then(|l| {
        let local = l.local_addr()?;
        Ok((l, local))
    }) {
        Ok((listener, local)) => {
            tracker.spawn(echo_tcp(listener, bounds, token.clone(), tracker.clone()));
            services.push(LessonService {
                name: "echo_tcp".into(),
                transport: Transport::Tcp,
                address: local.to_string(),
                about: format!(
                    "Sends back every byte a TCP connection sends it (up to {} KiB per connection; \
                     a connection idle for {} minutes is closed).",
                    bounds.max_bytes / 1024,
                    bounds.idle.as_secs().div_ceil(60)
                ),
            });
        }
        Err(err) => tracing::warn!(%err, "cannot start the echo_tcp lesson service"),
    }
    // echo_udp takes echo_tcp's port number when it is free for UDP (TCP and UDP ports are
    // separate, so it usually is): the policy keys service ports by number only, so then
    // both numbers it opens lead to the relay's own services. Otherwise any free port.
    let same_port = services
        .first()
        .and_then(|s| s.address.parse::<SocketAddr>().ok())
        .map(|a| a.port());
    let udp = match same_port {
        Some(port) => match UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(socket) => Ok(socket),
            Err(_) => UdpSocket::bind(loopback).await,
        },
        None => UdpSocket::bind(loopback).await,
    };
    match udp.and_then(|s| {
        let local = s.local_addr()?;
        Ok((s, local))
    }) {
        Ok((socket, local)) => {
            tracker.spawn(echo_udp(socket, token.clone()));
            services.push(LessonService {
                name: "echo_udp".into(),
                transport: Transport::Udp,
                address: local.to_string(),
                about: "Sends every datagram back, unchanged, to the address it came from.".into(),
            });
        }
        Err(err) => tracing::warn!(%err, "cannot start the echo_udp lesson service"),
    }
    tracing::info!(?services, "lesson services started");
    services
}

/// The ports of `services`, for the policy.
pub(crate) fn ports(services: &[LessonService]) -> impl Iterator<Item = u16> + '_ {
    services
        .iter()
        .filter_map(|s| s.address.parse::<SocketAddr>().ok())
        .map(|a| a.port())
}

async fn echo_tcp(
    listener: TcpListener,
    bounds: Bounds,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(bounds.max_connections));
    loop {
        let accepted = tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(%err, "echo_tcp: accept failed");
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "echo_tcp: at its connection limit; closing the new one");
            drop(stream);
            continue;
        };
        let token = token.clone();
        tracker.spawn(async move {
            echo_connection(stream, bounds, token).await;
            drop(permit);
        });
    }
}

/// Echoes one connection until the peer ends its side, the byte budget is spent, it idles,
/// or the relay stops; then closes it (by dropping it).
async fn echo_connection(mut stream: TcpStream, bounds: Bounds, token: CancellationToken) {
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut left = bounds.max_bytes;
    while left > 0 {
        let read = tokio::select! {
            () = token.cancelled() => return,
            read = tokio::time::timeout(bounds.idle, stream.read(&mut buffer)) => read,
        };
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        let n = n.min(usize::try_from(left).unwrap_or(usize::MAX));
        let wrote = tokio::select! {
            () = token.cancelled() => return,
            wrote = tokio::time::timeout(bounds.idle, stream.write_all(&buffer[..n])) => wrote,
        };
        if !matches!(wrote, Ok(Ok(()))) {
            return;
        }
        left -= n as u64;
    }
    tracing::debug!("echo_tcp: a connection used its byte budget; closing it");
}

async fn echo_udp(socket: UdpSocket, token: CancellationToken) {
    let mut buffer = vec![0; DATAGRAM_BYTES];
    loop {
        let received = tokio::select! {
            () = token.cancelled() => return,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (n, from) = match received {
            Ok(received) => received,
            Err(err) => {
                tracing::debug!(%err, "echo_udp: recv_from failed");
                continue;
            }
        };
        let sent = tokio::select! {
            () = token.cancelled() => return,
            sent = socket.send_to(&buffer[..n], from) => sent,
        };
        if let Err(err) = sent {
            tracing::debug!(%err, %from, "echo_udp: send_to failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let services = start(Bounds::default(), &token, &tracker).await;
        assert_eq!(services.len(), 2);
        for service in &services {
            let addr: SocketAddr = service.address.parse().unwrap();
            assert!(addr.ip().is_loopback(), "{service:?}");
            assert_ne!(addr.port(), 0);
        }
        assert_eq!(ports(&services).count(), 2);
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
        let services = start(bounds, &token, &tracker).await;
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
        let services = start(bounds, &token, &tracker).await;
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
        let services = start(bounds, &token, &tracker).await;
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
        let services = start(Bounds::default(), &token, &tracker).await;
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
}
