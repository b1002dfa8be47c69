//! The HTTP connections: the accept loop behind [`crate::run`]. Each connection is served by
//! hyper's HTTP/1 builder with a deadline for the request head, so a half-open request (or an
//! idle keep-alive connection) is dropped after `limits.handshake_timeout`, and at most
//! `limits.max_connections` are served at once: at the cap the loop stops accepting, the
//! kernel's backlog holds newcomers, and the deadline frees a slot soon.
//!
//! A WebSocket upgrade hands the connection over to its session (tracked and ended by the
//! tokens, see `session`), which frees the connection's slot; sessions have their own cap.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::limits::Limits;

/// How long a connection still being served (a file download, a response being written) may
/// take to finish once the relay shuts down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The most a request head may take in memory (hyper's read buffer, 400 KiB by default). No
/// request of the lab comes near it; with `max_connections` it bounds what half-open requests
/// can make the relay hold (1024 x 32 KiB = 32 MiB at the defaults). A longer head gets 431.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// The pause after an accept error such as EMFILE, so the loop does not spin while the
/// process is out of descriptors (the connection stays in the backlog meanwhile).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Accepts and serves connections until `token` is cancelled. Every connection task is spawned
/// on `tracker`, so the caller can wait for them.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    token: &CancellationToken,
    tracker: &TaskTracker,
) {
    // At least one, or nothing would ever be served.
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .max_buf_size(MAX_HEAD_BYTES)
        .header_read_timeout(crate::limits::capped(limits.handshake_timeout));
    loop {
        let permit = tokio::select! {
            () = token.cancelled() => return,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Per-connection failures (the client reset before accept) need no pause;
                // running out of descriptors or memory does.
                if !matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) {
                    tracing::warn!(%err, "accept failed; pausing");
                    tokio::select! {
                        () = token.cancelled() => return,
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                    }
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()))
            .with_upgrades();
        let token = token.clone();
        tracker.spawn(async move {
            let _slot = permit;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => if let Err(err) = served {
                    tracing::debug!(%peer, %err, "connection ended");
                },
                () = token.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
                }
            }
        });
    }
}
