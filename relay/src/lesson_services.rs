//! The relay's lesson services: small servers the lessons talk to, started with the relay on
//! 127.0.0.1, advertised to every session in `machine`, and put in the policy's service ports
//! so every session may connect or send to them (and to nothing else it does not own).
//!
//! - `echo`: `echo_tcp` and `echo_udp`, which send back what they get.
//! - `forward`: `forward_tcp`, a userspace port forward (like `ssh -L` or socat): each
//!   connection to it is relayed byte for byte to `echo_tcp` over a second connection the
//!   relay makes.
//! - `scan`: the port-scanning lesson's targets, a run of eight consecutive ports, some open,
//!   some closed, one filtered (a listener whose full accept queue makes the kernel drop SYNs).
//! - `knock`: the port-knocking lesson: three shared knock ports (held, never listening) and,
//!   per session, a door that opens when that session's connect() calls hit them in order.
//!
//! Bounded, because any program on the machine can reach them, not only sessions: at most
//! [`Bounds::max_connections`] TCP connections at once per service (one more is accepted and
//! closed at once, so its recv sees the end of the stream rather than hanging), at most
//! [`Bounds::max_bytes`] echoed or forwarded per connection and direction (then it is closed),
//! and a connection idle (no read, or a write the peer does not take) for [`Bounds::idle`] is
//! closed. UDP echoes one datagram at a time from one fixed buffer. The scan targets close each
//! connection at once and the knock door greets and closes, so neither keeps anything per peer.
//! Every task runs in the relay's tracker and ends when the server token is cancelled, so
//! shutdown waits for them and they never outlive `run`; idle, they only wait on the kernel.

mod echo;
mod forward;
pub(crate) mod knock;
mod scan;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socketlab_shared::{LessonService, ScanTargets, SocketType, Transport};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::isolation::Place;

/// How many bytes one TCP read takes at most.
const CHUNK_BYTES: usize = 16 * 1024;
/// After a failed accept (EMFILE...), wait this long before the next try instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The accept loop of the TCP services (`echo_tcp`, `forward_tcp`): at most
/// `bounds.max_connections` connections at once (one more is accepted and closed at once, so
/// its peer sees the end of the stream rather than hanging), a failed accept backs off instead
/// of spinning, and each connection is `serve`d in a task of the relay's tracker. Ends when
/// `token` is cancelled; `serve` gets the token too, to end its connection then.
async fn accept_bounded<F, Fut>(
    name: &'static str,
    listener: TcpListener,
    bounds: Bounds,
    token: CancellationToken,
    tracker: TaskTracker,
    serve: F,
) where
    F: Fn(TcpStream, CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(bounds.max_connections));
    loop {
        let accepted = tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(%err, "{name}: accept failed");
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "{name}: at its connection limit; closing the new one");
            drop(stream);
            continue;
        };
        let connection = serve(stream, token.clone());
        tracker.spawn(async move {
            connection.await;
            drop(permit);
        });
    }
}

/// How far the echo and forward services go for one peer.
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

/// The lesson services' settings that have no flag, for tests to shorten.
#[derive(Debug, Clone)]
pub struct LessonConfig {
    /// How long a session's knock door stays open after the last right knock (30 s).
    pub door_open: Duration,
}

impl Default for LessonConfig {
    fn default() -> Self {
        LessonConfig {
            door_open: Duration::from_secs(30),
        }
    }
}

/// What `start` got running.
#[derive(Debug, Default)]
pub(crate) struct Started {
    /// The plain services, advertised in `machine.services`.
    pub(crate) services: Vec<LessonService>,
    /// The scan targets, if a free run of ports was found.
    pub(crate) scan: Option<ScanTargets>,
    /// The knock ports, if they could be bound; each session gets its door from them.
    pub(crate) knock: Option<knock::KnockPorts>,
    /// Every service's (protocol, address), for the policy: every session may reach exactly
    /// these, and none may bind their numbers (echo over TCP and UDP; forward, scan targets and
    /// knock ports over TCP only).
    pub(crate) endpoints: Vec<(SocketType, SocketAddr)>,
}

/// Binds and starts every lesson service. A service that cannot start is logged and left out
/// (the lab works without it; the lessons see it missing from `machine`).
pub(crate) async fn start(
    bounds: Bounds,
    config: &LessonConfig,
    place: &Place,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> Started {
    let mut started = Started::default();
    let echo_tcp = match echo::start_tcp(bounds, place, token, tracker).await {
        Ok(service) => Some(service),
        Err(err) => {
            tracing::warn!(%err, "cannot start the echo_tcp lesson service");
            None
        }
    };
    let echo_address = echo_tcp
        .as_ref()
        .and_then(|s| s.address.parse::<SocketAddr>().ok());
    started.services.extend(echo_tcp);
    match echo::start_udp(echo_address.map(|a| a.port()), place, token, tracker).await {
        Ok(service) => started.services.push(service),
        Err(err) => tracing::warn!(%err, "cannot start the echo_udp lesson service"),
    }
    if let Some(echo) = echo_address {
        match forward::start(echo, bounds, place, token, tracker).await {
            Ok(service) => started.services.push(service),
            Err(err) => tracing::warn!(%err, "cannot start the forward_tcp lesson service"),
        }
    }
    started.endpoints.extend(endpoints(&started.services));
    if let Some((targets, addresses)) = scan::start(place, token, tracker).await {
        let tcp = addresses.into_iter().map(|a| (SocketType::Stream, a));
        started.endpoints.extend(tcp);
        started.scan = Some(targets);
    }
    match knock::KnockPorts::start(config.door_open, place, token, tracker) {
        Ok(knock) => {
            let tcp = knock.addresses().map(|a| (SocketType::Stream, a));
            started.endpoints.extend(tcp);
            started.knock = Some(knock);
        }
        Err(err) => tracing::warn!(%err, "cannot bind the knock ports"),
    }
    tracing::info!(
        services = ?started.services,
        scan = ?started.scan,
        knock = ?started.knock,
        "lesson services started"
    );
    started
}

/// The (protocol, address) of each of `services`.
fn endpoints(services: &[LessonService]) -> impl Iterator<Item = (SocketType, SocketAddr)> + '_ {
    services.iter().filter_map(|s| {
        let kind = match s.transport {
            Transport::Tcp => SocketType::Stream,
            Transport::Udp => SocketType::Datagram,
        };
        Some((kind, s.address.parse::<SocketAddr>().ok()?))
    })
}

#[cfg(test)]
mod tests;
