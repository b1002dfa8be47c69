//! `forward_tcp`: a userspace port forward, like `ssh -L` or `socat TCP-LISTEN:... TCP:...`.
//! Each connection to it is relayed, byte for byte and both ways, to `echo_tcp` over a second
//! connection the relay makes. So there are two TCP connections: the client's to the forward
//! port, and the relay's own to the echo service, which sees the relay as its peer.
//!
//! Half-closes travel through (a FIN from one side becomes a `shutdown(SHUT_WR)` towards the
//! other), as socat does. Bounded like the echo service: [`Bounds::max_connections`] at once
//! (one more is accepted and closed at once), [`Bounds::max_bytes`] per direction, and a
//! connection with no traffic either way for [`Bounds::idle`] is closed.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use socketlab_shared::{LessonService, Transport};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Bounds, CHUNK_BYTES, accept_bounded};
use crate::isolation::Place;

/// Binds `forward_tcp` on 127.0.0.1 at a port the kernel chooses, forwarding to `echo`.
pub(super) async fn start(
    echo: SocketAddr,
    bounds: Bounds,
    place: &Place,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> std::io::Result<LessonService> {
    let listener = place.listen_tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let local = listener.local_addr()?;
    tracker.spawn(serve(
        listener,
        echo,
        bounds,
        place.clone(),
        token.clone(),
        tracker.clone(),
    ));
    Ok(LessonService {
        name: "forward_tcp".into(),
        transport: Transport::Tcp,
        address: local.to_string(),
        about: format!(
            "A port forward (like ssh -L or socat): each connection to it is relayed, byte for \
             byte, over a second connection the relay makes to echo_tcp at {echo}."
        ),
    })
}

async fn serve(
    listener: TcpListener,
    echo: SocketAddr,
    bounds: Bounds,
    place: Place,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    accept_bounded(
        "forward_tcp",
        listener,
        bounds,
        token,
        tracker,
        move |client, token| {
            // The second connection starts where echo_tcp is: in the same network.
            let place = place.clone();
            async move {
                tokio::select! {
                    () = token.cancelled() => {}
                    () = forward(client, echo, bounds, &place) => {}
                }
            }
        },
    )
    .await;
}

/// Why one direction of a forwarded connection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The sender closed its side (the FIN was passed on): the other direction goes on.
    Finished,
    /// A read or write failed, the byte budget is spent, or nothing moved for too long: the
    /// whole connection ends.
    Over,
}

/// Relays one client connection to `echo` until both sides finished, or one direction is over.
/// When a byte last moved either way, shared by a connection's two directions.
#[derive(Debug)]
struct LastMoved(Mutex<Instant>);

impl LastMoved {
    fn lock(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn touch(&self) {
        *self.lock() = Instant::now();
    }

    fn elapsed(&self) -> std::time::Duration {
        self.lock().elapsed()
    }
}

async fn forward(mut client: TcpStream, echo: SocketAddr, bounds: Bounds, place: &Place) {
    let upstream = tokio::time::timeout(bounds.idle, place.connect(echo)).await;
    let Ok(Ok(mut upstream)) = upstream else {
        tracing::debug!(
            ?upstream,
            "forward_tcp: cannot reach echo_tcp; closing the client"
        );
        return;
    };
    let (mut client_in, mut client_out) = client.split();
    let (mut echo_in, mut echo_out) = upstream.split();
    let last = LastMoved(Mutex::new(Instant::now()));
    let up = pipe(&mut client_in, &mut echo_out, bounds, &last);
    let down = pipe(&mut echo_in, &mut client_out, bounds, &last);
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        let end = tokio::select! {
            end = &mut up, if !up_done => { up_done = true; end }
            end = &mut down, if !down_done => { down_done = true; end }
        };
        if end == End::Over {
            return;
        }
    }
}

/// Copies one direction until the sender finishes (then half-closes the receiver), a call
/// fails, the budget is spent, or no byte moved either way (`last`) for `bounds.idle`.
async fn pipe<R, W>(from: &mut R, to: &mut W, bounds: Bounds, last: &LastMoved) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut left = bounds.max_bytes;
    loop {
        let n = match tokio::time::timeout(bounds.idle, from.read(&mut buffer)).await {
            // Quiet this way; the connection is idle only if the other way is quiet too.
            Err(_) if last.elapsed() < bounds.idle => continue,
            Err(_) | Ok(Err(_)) => return End::Over,
            Ok(Ok(0)) => {
                let _ = tokio::time::timeout(bounds.idle, to.shutdown()).await;
                return End::Finished;
            }
            Ok(Ok(n)) => n,
        };
        let n = n.min(usize::try_from(left).unwrap_or(usize::MAX));
        let wrote = tokio::time::timeout(bounds.idle, to.write_all(&buffer[..n])).await;
        if !matches!(wrote, Ok(Ok(()))) {
            return End::Over;
        }
        last.touch();
        left -= n as u64;
        if left == 0 {
            tracing::debug!("forward_tcp: a connection used its byte budget; closing it");
            return End::Over;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const STEP: Duration = Duration::from_secs(10);

    async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(STEP, future)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// A stand-in for echo_tcp that accepts one connection and hands it to the test.
    async fn upstream() -> (TcpListener, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        (listener, address)
    }

    async fn forward_to(echo: SocketAddr, bounds: Bounds) -> (SocketAddr, CancellationToken) {
        let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
        let service = start(echo, bounds, &Place::default(), &token, &tracker)
            .await
            .unwrap();
        (service.address.parse().unwrap(), token)
    }

    #[tokio::test]
    async fn bytes_and_the_fin_travel_both_ways_over_a_second_connection() {
        let (listener, echo) = upstream().await;
        let (address, token) = forward_to(echo, Bounds::default()).await;
        let mut client = within("connect", TcpStream::connect(address))
            .await
            .unwrap();
        let (mut server, peer) = within("the relay's connection", listener.accept())
            .await
            .unwrap();
        // The server's peer is the relay's second connection, not the client.
        assert_ne!(peer, client.local_addr().unwrap());
        within("write", client.write_all(b"ping")).await.unwrap();
        let mut got = [0; 4];
        within("forwarded", server.read_exact(&mut got))
            .await
            .unwrap();
        assert_eq!(&got, b"ping");
        within("write back", server.write_all(b"pong"))
            .await
            .unwrap();
        within("back", client.read_exact(&mut got)).await.unwrap();
        assert_eq!(&got, b"pong");
        // The client's FIN reaches the server; the server can still answer after it.
        within("half-close", client.shutdown()).await.unwrap();
        let mut rest = Vec::new();
        within("the FIN", server.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(rest.is_empty());
        within("a last word", server.write_all(b"bye"))
            .await
            .unwrap();
        drop(server);
        within("the last word and the end", client.read_to_end(&mut rest))
            .await
            .unwrap();
        assert_eq!(rest, b"bye");
        token.cancel();
    }

    #[tokio::test]
    async fn a_forwarded_connection_is_closed_after_its_byte_budget() {
        let (listener, echo) = upstream().await;
        let bounds = Bounds {
            max_bytes: 4,
            ..Bounds::default()
        };
        let (address, token) = forward_to(echo, bounds).await;
        let mut client = within("connect", TcpStream::connect(address))
            .await
            .unwrap();
        let (mut server, _) = within("accept", listener.accept()).await.unwrap();
        within("write", client.write_all(b"abcdef")).await.unwrap();
        let mut got = Vec::new();
        within("the budget and the end", server.read_to_end(&mut got))
            .await
            .unwrap();
        assert_eq!(got, b"abcd");
        token.cancel();
    }

    #[tokio::test]
    async fn an_idle_forwarded_connection_is_closed() {
        let (listener, echo) = upstream().await;
        let bounds = Bounds {
            idle: Duration::from_millis(50),
            ..Bounds::default()
        };
        let (address, token) = forward_to(echo, bounds).await;
        let mut client = within("connect", TcpStream::connect(address))
            .await
            .unwrap();
        let (_server, _) = within("accept", listener.accept()).await.unwrap();
        let mut rest = Vec::new();
        within("the idle end", client.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(rest.is_empty());
        token.cancel();
    }

    #[tokio::test]
    async fn one_connection_over_the_limit_is_closed_at_once() {
        let (listener, echo) = upstream().await;
        let bounds = Bounds {
            max_connections: 1,
            ..Bounds::default()
        };
        let (address, token) = forward_to(echo, bounds).await;
        let mut first = within("connect", TcpStream::connect(address))
            .await
            .unwrap();
        let (mut server, _) = within("accept", listener.accept()).await.unwrap();
        // The first is being forwarded (it holds the one permit) before the second comes.
        within("write", first.write_all(b"x")).await.unwrap();
        let mut one = [0; 1];
        within("forwarded", server.read_exact(&mut one))
            .await
            .unwrap();
        let mut second = within("connect", TcpStream::connect(address))
            .await
            .unwrap();
        let mut rest = Vec::new();
        let end = within("the second to be closed", second.read_to_end(&mut rest)).await;
        assert!(rest.is_empty(), "{end:?}");
        token.cancel();
    }
}
