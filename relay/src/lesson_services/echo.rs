//! The echo services: `echo_tcp` sends back every byte a connection sends it, `echo_udp` every
//! datagram, to where it came from. Bounded as [`Bounds`] says, because any program on the
//! machine can reach them, not only sessions. Both listen on 127.0.0.1 on ports the kernel
//! chose; echo_udp takes echo_tcp's number when it is free, so one number leads to both.

use std::net::{Ipv4Addr, SocketAddr};

use socketlab_shared::{LessonService, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Bounds, CHUNK_BYTES, accept_bounded};
use crate::isolation::Place;

/// The largest UDP payload, so no datagram is cut.
const DATAGRAM_BYTES: usize = 64 * 1024;

/// Binds and starts `echo_tcp` on 127.0.0.1 at a port the kernel chooses.
pub(super) async fn start_tcp(
    bounds: Bounds,
    place: &Place,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> std::io::Result<LessonService> {
    let listener = place.listen_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let local = listener.local_addr()?;
    tracker.spawn(echo_tcp(listener, bounds, token.clone(), tracker.clone()));
    Ok(LessonService {
        name: "echo_tcp".into(),
        transport: Transport::Tcp,
        address: local.to_string(),
        about: format!(
            "Sends back every byte a TCP connection sends it (up to {} KiB per connection; \
             a connection idle for {} minutes is closed).",
            bounds.max_bytes / 1024,
            bounds.idle.as_secs().div_ceil(60)
        ),
    })
}

/// Binds and starts `echo_udp`, on `same_port` when that number is free for UDP (TCP and UDP
/// ports are separate, so it usually is): the policy keys these service ports by number only,
/// so then both numbers it opens lead to the relay's own services. Otherwise any free port.
pub(super) async fn start_udp(
    same_port: Option<u16>,
    place: &Place,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> std::io::Result<LessonService> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let socket = match same_port {
        Some(port) => match place.bind_udp(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
            Ok(socket) => socket,
            Err(_) => place.bind_udp(loopback)?,
        },
        None => place.bind_udp(loopback)?,
    };
    let local = socket.local_addr()?;
    tracker.spawn(echo_udp(socket, token.clone()));
    Ok(LessonService {
        name: "echo_udp".into(),
        transport: Transport::Udp,
        address: local.to_string(),
        about: "Sends every datagram back, unchanged, to the address it came from.".into(),
    })
}

async fn echo_tcp(
    listener: TcpListener,
    bounds: Bounds,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    accept_bounded(
        "echo_tcp",
        listener,
        bounds,
        token,
        tracker,
        move |stream, token| echo_connection(stream, bounds, token),
    )
    .await;
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
