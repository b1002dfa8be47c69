//! The socketlab relay: performs, for real, the socket calls a learner makes in the browser,
//! and streams the kernel's answers back over one WebSocket per browser session.
//!
//! # Shape and why
//!
//! - [`run`] is the whole server (as in tokio's mini-redis): it takes a bound listener, so the
//!   binary and the tests start it the same way, on any port including 0.
//! - `connections`: the accept loop (hyper's HTTP/1 per connection, a deadline for the request
//!   head, a cap on connections). `server`: the axum router; `/ws` upgrades to a session,
//!   everything else is the built frontend. `access`: the one guard in front of every request
//!   (Host allowlist; Origin allowlist and the per-launch key for every session request).
//! - `session`: one task per browser session reads calls in order; one writer task per session
//!   drains a bounded channel into the WebSocket.
//! - `syscalls` and `blocking`: each call goes to the kernel at once, in arrival order, on the
//!   socket's one descriptor. Only a call the kernel says would block (EAGAIN, EINPROGRESS)
//!   continues in a task of its socket (`blocking`), waiting on tokio readiness (`AsyncFd`) and
//!   retrying. So the kernel sees the learner's order, the session never blocks, and a pending
//!   recv never delays a send. (The design sketch had one actor per socket and split TCP
//!   halves; readiness waits on one shared `AsyncFd` give the same independence of the two
//!   directions with less machinery, and keep every call on the very descriptor `socket()`
//!   returned.)
//! - `sockets`: the per-session table (ids from 1, never reused, never shared between sessions)
//!   and per-socket state. `events`: a watcher per socket reports what no call asked for,
//!   without reading anything. `errors`: the kernel's errno as data. `arguments`: the pure
//!   checks (address syntax, size limits) made before anything reaches the kernel. `kernel`:
//!   the two read-only looks (poll level, FIONREAD) that need `unsafe`.
//! - Safety: `policy` holds every address rule (pure), `checkpoint` puts it in front of bind,
//!   connect and sendto, `ownership` records which session holds which endpoint (protocol and
//!   address), `outside` looks up other programs' sockets in the kernel's tables, `limits` holds the
//!   counts, sizes, rates and timeouts. Their refusals are `refused` replies, never errnos.
//! - The course (issue 5): `machine` reads the machine's port facts and `/etc/services` for
//!   the lessons; `lesson_services` runs the services on loopback that every session may
//!   reach (echo, a port forward, scan targets, knock ports: their (protocol, address) are the
//!   policy's `lesson_services`), and each session's knock door.
//! - What the kernel sees (observation only, never a change to a socket): `kernel_view` reads
//!   the kernel's socket tables for the session's sockets and sends them when they change;
//!   `capture` follows the session's packets on the loopback interface (needs CAP_NET_RAW).
//!
//! # Cancellation tree
//!
//! server token -> one child per session -> one child per socket, with `TaskTracker`s at each
//! level. `connections` serves each HTTP connection in a tracked task and hands an upgraded one
//! to a session task (also tracked); the tokens are what end sessions: shutdown cancels the
//! server token, every session sends a close frame and closes every socket,
//! and [`run`] returns once all session tasks have finished. Closing a socket cancels its token,
//! waits for its tasks (each waiting call replies `cancelled`, exactly once), then closes the fd.
//!
//! # Failure tiers
//!
//! A refused syscall is a normal reply, and so is a refusal by the policy or a limit. A message that cannot be decoded gets an `invalid` reply
//! (if it has an id) or `malformed`, and the session goes on. A bug (panic) or a broken
//! transport ends that one session, whose sockets are closed; never the process.

mod access;
mod arguments;
mod blocking;
mod capture;
mod checkpoint;
mod connect_grant;
mod connections;
mod errors;
mod events;
mod kernel;
mod kernel_view;
mod lesson_services;
mod limits;
mod machine;
mod outside;
mod ownership;
mod policy;
mod refusal;
mod server;
mod session;
mod sockets;
mod syscalls;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

pub use access::{AccessArgs, AccessConfig, AccessError, AllowedHost, Origin, Token};
use anyhow::Context as _;
pub use lesson_services::LessonConfig;
pub use limits::{LimitArgs, Limits, raise_descriptor_limit};
pub use policy::{ConnectGrant, PolicyArgs, PolicyConfig};
pub use session::decode_message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the relay serves. Every field has a default, so tests can start from `Config::default()`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The built frontend (trunk's `dist/`). `None`, or a directory without `index.html`,
    /// makes `/` a page that says how to build it.
    pub dist: Option<PathBuf>,
    /// Who may open a session (token, Origin, Host).
    pub access: AccessConfig,
    /// What the learner's sockets may bind and reach.
    pub policy: PolicyConfig,
    /// Sizes, counts, rates and timeouts.
    pub limits: Limits,
    /// The lesson services' settings that have no flag (tests shorten the knock door's time).
    pub lessons: LessonConfig,
}

/// What every session may read about the relay it runs in: the configuration and the relay's
/// own address (which, for one, the learner's sockets may never connect to).
#[derive(Debug)]
pub(crate) struct Relay {
    pub(crate) config: Config,
    pub(crate) local: SocketAddr,
    /// One permit per open session (`limits.max_sessions`).
    pub(crate) sessions: std::sync::Arc<tokio::sync::Semaphore>,
    /// Which session holds which port (the policy keeps sessions apart with it).
    pub(crate) ownership: std::sync::Arc<ownership::Ownership>,
    /// Whether the relay runs as root (euid 0), read once at start: the policy then refuses
    /// ports below 1024 itself.
    pub(crate) root: bool,
    /// The lesson services running with this relay (issue 5), advertised in `machine`.
    pub(crate) services: Vec<socketlab_shared::LessonService>,
    /// The port-scanning lesson's targets, if they could be set up.
    pub(crate) scan: Option<socketlab_shared::ScanTargets>,
    /// The knock ports, from which each session gets its own knock door.
    pub(crate) knock: Option<lesson_services::knock::KnockPorts>,
    /// This machine's `/etc/services`, read once at start.
    pub(crate) service_names: Vec<socketlab_shared::ServiceName>,
}

impl Relay {
    pub(crate) fn new(config: Config, local: SocketAddr) -> Self {
        let sessions = std::sync::Arc::new(tokio::sync::Semaphore::new(config.limits.max_sessions));
        Relay {
            config,
            local,
            sessions,
            ownership: Default::default(),
            root: policy::running_as_root(),
            services: Vec::new(),
            scan: None,
            knock: None,
            service_names: Vec::new(),
        }
    }
}

/// Serves HTTP and WebSocket sessions on `listener` until `shutdown` completes, then closes
/// every session (each gets a close frame, each of its sockets is closed) and returns.
///
/// The accept loop is hand-rolled (hyper's HTTP/1 connection builder rather than
/// `axum::serve`) for two limits `axum::serve` cannot set: a deadline for the request head (a
/// half-open request is dropped after `limits.handshake_timeout`) and a cap on connections
/// served at once (`limits.max_connections`; beyond it the loop stops accepting and the
/// kernel's backlog waits).
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let local = listener
        .local_addr()
        .context("reading the listener's address")?;
    tracing::info!(%local, dist = ?config.dist, "relay listening");
    let limits = config.limits.clone();
    // The lesson services start first, so their ports are in the policy before any session.
    let mut config = config;
    let started = lesson_services::start(
        lesson_services::Bounds::default(),
        &config.lessons,
        &token,
        &tracker,
    )
    .await;
    config.policy.lesson_services.extend(&started.endpoints);
    let mut relay = Relay::new(config, local);
    relay.services = started.services;
    relay.scan = started.scan;
    relay.knock = started.knock;
    relay.service_names = machine::service_names();
    let relay = std::sync::Arc::new(relay);
    let app = server::router(server::Server::new(
        token.clone(),
        tracker.clone(),
        relay.clone(),
    ));

    let stop = token.clone();
    let signal = tokio::spawn(async move {
        tokio::select! {
            () = shutdown => {}
            () = stop.cancelled() => {}
        }
        stop.cancel();
    });
    connections::serve(listener, app, &limits, &token, &tracker).await;
    token.cancel();
    signal.abort();
    tracker.close();
    tracker.wait().await;
    tracing::info!("relay stopped");
    Ok(())
}

/// The URL a learner opens for a relay listening on `local`: an unspecified listen address
/// (0.0.0.0 or ::) is reached through loopback.
pub fn browser_url(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(ip, local.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_to_open_uses_loopback_for_an_unspecified_address() {
        assert_eq!(
            browser_url("127.0.0.1:7878".parse().unwrap()),
            "http://127.0.0.1:7878/"
        );
        assert_eq!(
            browser_url("0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80/"
        );
        assert_eq!(browser_url("[::]:9".parse().unwrap()), "http://[::1]:9/");
    }
}
