//! The HTTP connections: the accept loop behind `server::run`. Each connection is served by
//! hyper's HTTP/1 builder with a deadline for the request head, so a half-open request (or an
//! idle keep-alive connection) is dropped after `limits.handshake_timeout`, and at most
//! `limits.max_connections` are served at once: at the cap the loop stops accepting, the
//! kernel's backlog holds newcomers, and the deadline frees a slot soon.
//!
//! A WebSocket upgrade hands the connection over to its session (tracked and ended by the
//! tokens, see `session`), which frees the connection's slot; sessions have their own cap.
//!
//! A request head may be at most 32 KiB (else 431): hyper's read buffer bounds a head that
//! trickles in, and [`head_limit`], the router's outermost layer, every parsed head however it
//! was segmented. Shutdown gives each connection [`SHUTDOWN_GRACE`]; an accept error such as
//! EMFILE pauses the loop for [`ACCEPT_ERROR_PAUSE`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
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
/// The longest request head served (request line, headers, the blank line). No request of the
/// lab comes near it. It is hyper's read buffer (400 KiB by default), so with
/// `max_connections` it bounds what half-open requests can make the relay hold (1024 x 32 KiB
/// = 32 MiB at the defaults, plus one read each); hyper answers 431 when a head trickles past
/// it. A head that arrives in one large read can still parse beyond it, so [`head_limit`]
/// measures every parsed head too: a longer one gets 431, whatever the segmentation.
pub(crate) const MAX_HEAD_BYTES: usize = 32 * 1024;
/// The pause after an accept error such as EMFILE, so the loop does not spin while the
/// process is out of descriptors (the connection stays in the backlog meanwhile).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The router's outermost layer: a request whose head is longer than [`MAX_HEAD_BYTES`] gets
/// 431 before anything else sees it.
pub(crate) async fn head_limit(request: Request, next: Next) -> Response {
    if head_bytes(&request) > MAX_HEAD_BYTES {
        return (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request head is longer than the relay reads ({MAX_HEAD_BYTES} bytes)\n"),
        )
            .into_response();
    }
    next.run(request).await
}

/// The bytes of a request's head as HTTP/1.1 writes it: `METHOD TARGET HTTP/1.1\r\n`, then
/// `name: value\r\n` for each header, then `\r\n`. Optional whitespace the client added is
/// not counted, so this is at most what was sent.
fn head_bytes<B>(request: &axum::http::Request<B>) -> usize {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |target| target.as_str().len());
    let line = request.method().as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    line + headers + 2
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_measured_as_http_1_1_writes_it() {
        let request = axum::http::Request::get("/ws?x=1")
            .header("host", "127.0.0.1:7878")
            .header("x-junk", "jjj")
            .body(())
            .expect("a request");
        let written = "GET /ws?x=1 HTTP/1.1\r\nhost: 127.0.0.1:7878\r\nx-junk: jjj\r\n\r\n";
        assert_eq!(head_bytes(&request), written.len());
    }
}
