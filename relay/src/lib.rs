//! The socketlab relay: performs, for real, the socket calls a learner makes in the browser,
//! and streams the kernel's answers back over one WebSocket per browser session.
//!
//! # Shape and why
//!
//! - [`run`] is the whole server (as in tokio's mini-redis): it takes a bound listener, so the
//!   binary and the tests start it the same way, on any port including 0.
//! - `server`: axum router; `/ws` upgrades to a session, everything else is the built frontend.
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
//!
//! # Cancellation tree
//!
//! server token -> one child per session -> one child per socket, with `TaskTracker`s at each
//! level. axum's `on_upgrade` runs sessions in detached tasks, so tokens are what end them:
//! shutdown cancels the server token, every session sends a close frame and closes every socket,
//! and [`run`] returns once all session tasks have finished. Closing a socket cancels its token,
//! waits for its tasks (each waiting call replies `cancelled`, exactly once), then closes the fd.
//!
//! # Failure tiers
//!
//! A refused syscall is a normal reply. A message that cannot be decoded gets an `invalid` reply
//! (if it has an id) or `malformed`, and the session goes on. A bug (panic) or a broken
//! transport ends that one session, whose sockets are closed; never the process.

mod arguments;
mod blocking;
mod errors;
mod events;
mod kernel;
mod server;
mod session;
mod sockets;
mod syscalls;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the relay serves. Every field has a default, so tests can start from `Config::default()`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The built frontend (trunk's `dist/`). `None`, or a directory without `index.html`,
    /// makes `/` a page that says how to build it.
    pub dist: Option<PathBuf>,
}

/// Serves HTTP and WebSocket sessions on `listener` until `shutdown` completes, then closes
/// every session (each gets a close frame, each of its sockets is closed) and returns.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let app = server::router(
        server::Server::new(token.clone(), tracker.clone()),
        config.dist.as_deref(),
    );
    let local = listener
        .local_addr()
        .context("reading the listener's address")?;
    tracing::info!(%local, dist = ?config.dist, "relay listening");

    let stop = token.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.cancelled() => {}
            }
            stop.cancel();
        })
        .await;
    token.cancel();
    tracker.close();
    tracker.wait().await;
    tracing::info!("relay stopped");
    served.context("serving HTTP")
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
