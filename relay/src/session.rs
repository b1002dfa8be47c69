//! One browser session: the handshake, the loop that reads calls in order, the writer that
//! sends replies and events, and the teardown that closes every socket of the session.
//!
//! Shape: the session task reads frames and performs each call in arrival order. Calls that
//! finish at once reply from here; calls that must wait hand over to a task of their socket
//! (`syscalls`), which replies later. Everything the browser is sent goes through one bounded
//! channel to one writer task, so a slow browser slows only its own session.
//!
//! Ending: the session's `CancellationToken` (a child of the server's) is cancelled when the
//! WebSocket closes, fails, or the server shuts down. Every socket token is its child, so all
//! waiting calls and watchers end; then the table is drained and each descriptor closed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use socketlab_shared::{CallId, Event, FromRelay, Outcome, PROTOCOL_VERSION, SocketId, ToRelay};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::sockets::{SocketTable, lock};

/// How many messages may wait for the writer before senders wait too.
const OUTBOX_CAPACITY: usize = 256;
/// How long the writer tries to flush and say goodbye when the session ends.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The state of one session, shared by its loop, its socket tasks and its watchers.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) token: CancellationToken,
    pub(crate) table: Mutex<SocketTable>,
    outbox: mpsc::Sender<FromRelay>,
}

impl Session {
    /// Queues a message for the browser. When the writer is gone the session is over and the
    /// message has nobody to go to, so it is dropped.
    pub(crate) async fn send(&self, message: FromRelay) {
        if self.outbox.send(message).await.is_err() {
            tracing::debug!("browser gone; message dropped");
        }
    }

    pub(crate) async fn reply(&self, id: CallId, outcome: Outcome) {
        self.send(FromRelay::Reply { id, outcome }).await;
    }

    pub(crate) async fn event(&self, socket: SocketId, event: Event) {
        self.send(FromRelay::Event { socket, event }).await;
    }
}

/// Runs a session on an upgraded WebSocket until it ends. Never panics outward: a bug in one
/// session is logged and ends that session only.
pub(crate) async fn serve(
    socket: WebSocket,
    id: u64,
    server: CancellationToken,
    tracker: TaskTracker,
) {
    let token = server.child_token();
    let span = tracing::info_span!("session", session = id);
    let (sink, stream) = socket.split();
    let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
    let sockets_closed = CancellationToken::new();
    let writer = write(sink, inbox, token.clone(), sockets_closed.clone());
    tracker.spawn(writer.instrument(span.clone()));

    let session = Arc::new(Session {
        token: token.clone(),
        table: Mutex::new(SocketTable::default()),
        outbox,
    });
    async {
        tracing::info!("session opened");
        let run = std::panic::AssertUnwindSafe(read(stream, session.clone())).catch_unwind();
        if run.await.is_err() {
            tracing::error!("session task panicked; closing its sockets");
        }
        token.cancel();
        close_all(&session).await;
        sockets_closed.cancel();
        tracing::info!("session closed");
    }
    .instrument(span)
    .await;
}

/// Closes every socket of the session. Loops because an accept that completed while the
/// session was ending may have added a socket meanwhile.
async fn close_all(session: &Session) {
    loop {
        let entries = lock(&session.table).drain();
        if entries.is_empty() {
            return;
        }
        for entry in entries {
            entry.close().await;
        }
    }
}

/// The session loop: handshake, then every call in arrival order.
async fn read(mut stream: SplitStream<WebSocket>, session: Arc<Session>) {
    let mut greeted = false;
    loop {
        let frame = tokio::select! {
            _ = session.token.cancelled() => return,
            frame = stream.next() => frame,
        };
        let text = match frame {
            None | Some(Ok(Message::Close(_))) => return,
            Some(Err(err)) => {
                tracing::info!(%err, "websocket failed");
                return;
            }
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                session
                    .send(FromRelay::Malformed {
                        reason: "binary frames are not part of the protocol: send JSON text".into(),
                    })
                    .await;
                continue;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
        };
        match decode(text.as_str()) {
            Decoded::Message(ToRelay::Hello { version }) if !greeted => {
                if version != PROTOCOL_VERSION {
                    return goodbye(
                        &session,
                        format!(
                            "this relay speaks protocol version {PROTOCOL_VERSION}, the page speaks {version}: reload the page"
                        ),
                    )
                    .await;
                }
                greeted = true;
                session
                    .send(FromRelay::Welcome {
                        version: PROTOCOL_VERSION,
                        relay: env!("CARGO_PKG_VERSION").into(),
                        os: std::env::consts::OS.into(),
                    })
                    .await;
            }
            _ if !greeted => {
                return goodbye(
                    &session,
                    "the first message of a session must be hello".into(),
                )
                .await;
            }
            Decoded::Message(ToRelay::Hello { .. }) => {
                session
                    .send(FromRelay::Malformed {
                        reason: "this session already said hello".into(),
                    })
                    .await;
            }
            Decoded::Message(ToRelay::Call { id, op }) => {
                crate::syscalls::call(&session, id, op).await;
            }
            Decoded::Invalid { id, reason } => {
                session.reply(id, Outcome::Invalid { reason }).await;
            }
            Decoded::Malformed(reason) => {
                session.send(FromRelay::Malformed { reason }).await;
            }
        }
    }
}

async fn goodbye(session: &Session, reason: String) {
    tracing::info!(%reason, "goodbye");
    session.send(FromRelay::Goodbye { reason }).await;
}

/// What a text frame turned out to be.
#[derive(Debug, PartialEq)]
enum Decoded {
    Message(ToRelay),
    /// Not a valid call, but it has a call id, so it gets its one reply.
    Invalid {
        id: CallId,
        reason: String,
    },
    /// Nothing to answer to.
    Malformed(String),
}

fn decode(text: &str) -> Decoded {
    let err = match serde_json::from_str::<ToRelay>(text) {
        Ok(message) => return Decoded::Message(message),
        Err(err) => err,
    };
    let id = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| value.get("id").and_then(serde_json::Value::as_u64));
    match id {
        Some(id) => Decoded::Invalid {
            id: CallId(id),
            reason: format!("this call could not be read: {err}"),
        },
        None => Decoded::Malformed(err.to_string()),
    }
}

/// The writer: drains the outbox into the WebSocket. When the session ends it waits until every
/// socket of the session is closed, flushes what is queued (a goodbye, cancelled replies), then
/// sends a close frame: a browser that sees the close knows the session's ports are free.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut inbox: mpsc::Receiver<FromRelay>,
    token: CancellationToken,
    sockets_closed: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            biased;
            message = inbox.recv() => message,
            _ = token.cancelled() => break,
        };
        let Some(message) = message else { break };
        // A message already on its way gets a bounded grace when the session ends meanwhile
        // (it may be the goodbye); only a browser that stopped reading loses it.
        let mut sending = std::pin::pin!(sink.send(encode(&message)));
        let sent = tokio::select! {
            sent = &mut sending => sent,
            _ = token.cancelled() => match tokio::time::timeout(CLOSE_GRACE, sending).await {
                Ok(sent) => sent,
                Err(_) => break,
            },
        };
        if let Err(err) = sent {
            tracing::info!(%err, "websocket write failed");
            token.cancel();
            return;
        }
        if matches!(message, FromRelay::Goodbye { .. }) {
            token.cancel();
            break;
        }
    }
    // Keep draining while the sockets close (their cancelled replies are queued meanwhile), so
    // no socket task waits on a full outbox; every write is bounded, so a browser that stopped
    // reading cannot hold the teardown.
    let mut open = true;
    loop {
        let message = tokio::select! {
            biased;
            _ = sockets_closed.cancelled() => break,
            message = inbox.recv() => message,
        };
        match message {
            Some(message) if open => open = send_within(&mut sink, encode(&message)).await,
            Some(_) => {}
            None => break,
        }
    }
    while let Ok(message) = inbox.try_recv() {
        if open {
            open = send_within(&mut sink, encode(&message)).await;
        }
    }
    let close = Message::Close(Some(CloseFrame {
        code: close_code::AWAY,
        reason: "socketlab session ended".into(),
    }));
    if !send_within(&mut sink, close).await {
        // The browser closed first: tungstenite has queued its close reply; flushing sends it.
        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
    }
}

/// Sends one message, giving up after [`CLOSE_GRACE`]. Returns whether it went out.
async fn send_within(sink: &mut SplitSink<WebSocket, Message>, message: Message) -> bool {
    matches!(
        tokio::time::timeout(CLOSE_GRACE, sink.send(message)).await,
        Ok(Ok(()))
    )
}

fn encode(message: &FromRelay) -> Message {
    match serde_json::to_string(message) {
        Ok(json) => Message::Text(json.into()),
        // Our own types always serialize; if that ever breaks, the browser hears about it.
        Err(err) => Message::Text(
            format!(r#"{{"type":"malformed","reason":"relay could not encode a message: {err}"}}"#)
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_call_decodes() {
        let decoded = decode(r#"{"type":"call","id":3,"op":{"syscall":"close","socket":1}}"#);
        assert!(matches!(
            decoded,
            Decoded::Message(ToRelay::Call { id: CallId(3), .. })
        ));
    }

    #[test]
    fn a_broken_call_with_an_id_gets_an_invalid_reply() {
        let decoded = decode(r#"{"type":"call","id":9,"op":{"syscall":"fly"}}"#);
        let Decoded::Invalid { id, reason } = decoded else {
            panic!("expected invalid, got {decoded:?}");
        };
        assert_eq!(id, CallId(9));
        assert!(reason.contains("fly"), "{reason}");
    }

    #[test]
    fn text_that_is_not_json_is_malformed() {
        assert!(matches!(decode("{nope"), Decoded::Malformed(_)));
        assert!(matches!(decode(r#"{"id":"x"}"#), Decoded::Malformed(_)));
        assert!(matches!(decode(r#"{"id":-1}"#), Decoded::Malformed(_)));
    }
}
