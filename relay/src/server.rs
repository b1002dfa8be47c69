//! The server: [`run`] (the whole relay, as in tokio's mini-redis: it takes a bound listener,
//! so the binary and the tests start it the same way, on any port including 0) and the HTTP
//! side. One port serves the WebSocket at `/ws`, the course rendered at `/course.json`
//! (`course`), and the lab page (`page`: a built `dist/` folder, or the page compiled into the
//! binary) everywhere else, with the single-page fallback to `index.html`. Every route sits behind
//! `access::guard` (Host for every request; Origin and key for sessions).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::services::{ServeDir, ServeFile};

use crate::access;
use crate::limits::WS_BUFFER_BYTES;
use crate::page::Page;
use crate::relay::{Config, Relay};
use crate::session;

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
) -> Result<(), RunError> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let local = listener.local_addr().map_err(RunError::ListenerAddress)?;
    tracing::info!(%local, page = ?config.page, "relay listening");
    let limits = config.limits.clone();
    // The lesson services start first, so their ports are in the policy before any session.
    let mut config = config;
    // With isolated sessions each session gets its own, in its namespace (`session`): none
    // run on the machine's network, where no session could reach them.
    let started = if config.isolation.sessions {
        crate::lesson_services::Started::default()
    } else {
        crate::lesson_services::start(
            crate::lesson_services::Bounds::default(),
            &config.lessons,
            &crate::isolation::Place::default(),
            &token,
            &tracker,
        )
        .await
    };
    config.policy.lesson_services.extend(&started.endpoints);
    // Class mode's store first: a relay that cannot keep the class does not start.
    let class = match &config.class {
        Some(class) => Some(Arc::new(crate::class::Class::open(class).map_err(
            |err| RunError::Class {
                path: class.db.clone(),
                reason: err.to_string(),
            },
        )?)),
        None => None,
    };
    let mut relay = Relay::new(config, local, &token, &tracker);
    relay.class = class;
    relay.services = started.services;
    relay.scan = started.scan;
    relay.knock = started.knock;
    relay.service_names = crate::machine::service_names();
    let relay = Arc::new(relay);
    let app = router(Server::new(token.clone(), tracker.clone(), relay.clone()));

    let stop = token.clone();
    let signal = tokio::spawn(async move {
        tokio::select! {
            () = shutdown => {}
            () = stop.cancelled() => {}
        }
        stop.cancel();
    });
    crate::connections::serve(listener, app, &limits, &token, &tracker).await;
    token.cancel();
    signal.abort();
    tracker.close();
    tracker.wait().await;
    tracing::info!("relay stopped");
    Ok(())
}

/// Why [`run`] could not serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The listener's own address could not be read.
    #[error("reading the listener's address: {0}")]
    ListenerAddress(#[source] std::io::Error),
    /// Class mode's store could not be opened (`--class-db`).
    #[error("cannot open the class's store {path}: {reason}")]
    Class { path: PathBuf, reason: String },
}

/// What every WebSocket handler needs: the server's token (parent of every session's) and the
/// tracker that lets shutdown wait for sessions to finish.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub(crate) token: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) relay: Arc<Relay>,
    sessions: Arc<AtomicU64>,
}

impl Server {
    pub(crate) fn new(token: CancellationToken, tracker: TaskTracker, relay: Arc<Relay>) -> Self {
        Server {
            token,
            tracker,
            relay,
            sessions: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// The router. With no usable page (unset, or a folder without index.html), `/` explains how
/// to build the frontend instead of failing with a bare 404.
pub(crate) fn router(server: Server) -> Router {
    let relay = server.relay.clone();
    let page = relay.config.page.as_ref();
    let mut app = Router::new()
        .route(access::WS_PATH, get(upgrade))
        .route(crate::course::COURSE_PATH, get(course))
        .with_state(server);
    if let Some(class) = &relay.class {
        app = app.merge(crate::class::teacher_routes(class.clone()));
    }
    if let Some(page) = page.filter(|page| !page.is_built()) {
        tracing::warn!(page = %page.describe(), "no index.html there yet: `/` says how to build the page until it is built");
    }
    let app = match page {
        // Looked at on each request: a relay started before the page is built (the dev loop's,
        // beside trunk's first build) serves it once it is there.
        Some(Page::Folder(dist)) => {
            let index: PathBuf = dist.join("index.html");
            let files = ServeDir::new(dist).fallback(ServeFile::new(&index));
            app.fallback(move |request: axum::extract::Request| {
                let (index, mut files) = (index.clone(), files.clone());
                async move {
                    if !index.is_file() {
                        return not_built(request.uri().clone()).await;
                    }
                    match files.try_call(request).await {
                        Ok(response) => response.into_response(),
                        Err(err) => {
                            tracing::warn!(%err, "reading the page folder failed");
                            StatusCode::INTERNAL_SERVER_ERROR.into_response()
                        }
                    }
                }
            })
        }
        Some(Page::Embedded(_)) => app.fallback(crate::page::serve_embedded),
        None => app.fallback(not_built),
    };
    // Last, so that it wraps every route and the fallback: nothing is served unchecked; and
    // outside it, the head's length, so an oversized head is refused before any check reads it.
    let gate = access::Gate {
        access: relay.config.access.clone(),
        class_code: relay.config.class.as_ref().map(|class| class.code.clone()),
        local: relay.local,
    };
    app.layer(axum::middleware::from_fn_with_state(
        Arc::new(gate),
        access::guard,
    ))
    .layer(axum::middleware::from_fn(crate::connections::head_limit))
}

async fn course(State(server): State<Server>, headers: HeaderMap) -> Response {
    crate::course::answer(&server.relay.config, &headers).await
}

async fn upgrade(State(server): State<Server>, ws: WebSocketUpgrade) -> Response {
    let id = server.sessions.fetch_add(1, Ordering::Relaxed) + 1;
    // The page offers `socketlab.v1` and its key as subprotocols; answering with
    // `socketlab.v1` (never the key) is what browsers require of a handshake that offered some.
    ws.protocols([access::PROTOCOL])
        .max_message_size(server.relay.config.limits.max_message_bytes)
        .max_frame_size(server.relay.config.limits.max_message_bytes)
        .read_buffer_size(WS_BUFFER_BYTES)
        .write_buffer_size(WS_BUFFER_BYTES)
        .on_failed_upgrade(
            move |err| tracing::info!(session = id, %err, "websocket upgrade failed"),
        )
        .on_upgrade(move |socket| {
            // axum runs this in a detached task: the tracker lets shutdown wait for it, and the
            // session's token (a child of the server's) is what really ends it.
            let session = session::serve(
                socket,
                id,
                server.token.clone(),
                server.tracker.clone(),
                server.relay.clone(),
            );
            server.tracker.track_future(session)
        })
}

/// The page at `/` when there is no page to serve: `what` says what is missing, `remedy` how
/// to get it.
fn not_built_page(what: &str, remedy: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>socketlab relay</title>
<style>code {{ white-space: nowrap }}</style>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>socketlab relay is running</h1>
<p>The relay is up and its WebSocket is at <code>/ws</code>, but {what}, so there is nothing to
show here yet.</p>
{remedy}
</body>
</html>
"#
    )
}

/// A relay without the page inside it (built from the checkout).
const NOT_BUILT: &str = r#"the lab page (the frontend) is not built"#;
const BUILD_IT: &str = r#"<p>Build it and serve it with one command, from the socketlab checkout:</p>
<pre>cargo xtask serve</pre>"#;

/// A relay that carries the page inside it (the release tarball's), started with a `--dist`
/// folder that holds no page.
const NO_PAGE_IN_FOLDER: &str =
    r#"the folder given with <code>--dist</code> holds no lab page (no <code>index.html</code>)"#;
const USE_THE_BUILT_IN: &str = r#"<p>This relay carries the page inside it: start it without
<code>--dist</code> to serve that one, or give <code>--dist</code> a folder that
<code>socketlab-relay --write-page DIR</code> wrote.</p>"#;

async fn not_built(uri: Uri) -> Response {
    if uri.path() == "/" || uri.path() == "/index.html" {
        Html(if Page::embedded().is_some() {
            not_built_page(NO_PAGE_IN_FOLDER, USE_THE_BUILT_IN)
        } else {
            not_built_page(NOT_BUILT, BUILD_IT)
        })
        .into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            "not found (the frontend is not built: run `cargo xtask serve`)\n",
        )
            .into_response()
    }
}
