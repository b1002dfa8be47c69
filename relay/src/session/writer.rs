//! The session's writer task: the one place that writes to the WebSocket. It drains the
//! session's outbox, pings, gives up on a page that stops reading, and on the way out flushes
//! the cancelled replies and the goodbye within a bounded grace, then sends the close frame.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt as _;
use futures_util::stream::SplitSink;
use socketlab_shared::FromRelay;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{CLOSE_GRACE, Farewell};
use crate::limits::{capped, from_now};
use crate::outbox::Queued;

/// The writer: drains the outbox into the WebSocket. When the session ends it waits until every
/// socket of the session is closed, flushes what is queued (a goodbye, cancelled replies), then
/// sends a close frame: a browser that sees the close knows the session's ports are free.
pub(super) async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut inbox: mpsc::Receiver<Queued>,
    ending: Ending,
    limits: crate::limits::Limits,
) {
    let Ending {
        token,
        sockets_closed,
        farewell,
    } = ending;
    let ping_every = capped(limits.ping_interval.max(Duration::from_millis(1)));
    // A page that reads nothing for as long as it may stay silent is not taking part any more:
    // without this, a tab that never reads would hold its session (and its slot) for good,
    // since the session loop waits on the full outbox and so never sees its own timeouts.
    let stall = capped(limits.idle_timeout);
    let mut ping = tokio::time::interval_at(from_now(ping_every), ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Once the session ends, every write left (the one in flight, the cancelled replies, the
    // close frame) shares one grace period, so a browser that stopped reading holds the
    // teardown (and the relay's shutdown) for at most CLOSE_GRACE in all.
    let mut deadline = None;
    loop {
        let (frame, last) = tokio::select! {
            biased;
            message = inbox.recv() => match message {
                Some(message) => {
                    let last = matches!(*message, FromRelay::Goodbye { .. });
                    (encode(&message), last)
                }
                None => break,
            },
            _ = token.cancelled() => break,
            _ = ping.tick() => (Message::Ping(Default::default()), false),
        };
        // A message already on its way gets a bounded grace when the session ends meanwhile
        // (it may be the goodbye); only a browser that stopped reading loses it.
        let mut sending = std::pin::pin!(sink.send(frame));
        let sent = tokio::select! {
            sent = &mut sending => sent,
            () = tokio::time::sleep(stall) => {
                tracing::info!(?stall, "the page reads nothing; ending the session");
                token.cancel();
                break;
            }
            _ = token.cancelled() => {
                let until = *deadline.get_or_insert_with(|| Instant::now() + CLOSE_GRACE);
                match tokio::time::timeout_at(until, sending).await {
                    Ok(sent) => sent,
                    Err(_) => break,
                }
            }
        };
        if let Err(err) = sent {
            tracing::info!(%err, "websocket write failed");
            token.cancel();
            return;
        }
        if last {
            token.cancel();
            break;
        }
    }
    // Keep draining while the sockets close (their cancelled replies are queued meanwhile), so
    // no socket task waits on a full outbox; every write is bounded, so a browser that stopped
    // reading cannot hold the teardown.
    let deadline = deadline.unwrap_or_else(|| Instant::now() + CLOSE_GRACE);
    let mut open = true;
    loop {
        let message = tokio::select! {
            biased;
            _ = sockets_closed.cancelled() => break,
            message = inbox.recv() => message,
        };
        match message {
            Some(message) if open => {
                open = send_within(&mut sink, encode(&message), deadline).await;
            }
            Some(_) => {}
            None => break,
        }
    }
    while let Ok(message) = inbox.try_recv() {
        if open {
            open = send_within(&mut sink, encode(&message), deadline).await;
        }
    }
    let close = Message::Close(Some(farewell.frame()));
    if !send_within(&mut sink, close, deadline).await {
        // The browser closed first: tungstenite has queued its close reply; flushing sends it.
        let _ = tokio::time::timeout_at(deadline, sink.close()).await;
    }
}

/// What tells the writer the session is ending, and how to say goodbye.
#[derive(Debug)]
pub(super) struct Ending {
    pub(super) token: CancellationToken,
    pub(super) sockets_closed: CancellationToken,
    pub(super) farewell: Arc<Farewell>,
}

/// Sends one message, giving up at `deadline` (a message that can go out at once still does).
/// Returns whether it went out.
async fn send_within(
    sink: &mut SplitSink<WebSocket, Message>,
    message: Message,
    deadline: Instant,
) -> bool {
    matches!(
        tokio::time::timeout_at(deadline, sink.send(message)).await,
        Ok(Ok(()))
    )
}

pub(super) fn encode(message: &FromRelay) -> Message {
    match serde_json::to_string(message) {
        Ok(json) => Message::Text(json.into()),
        // Our own types always serialize; if that ever breaks, the browser hears about it.
        Err(err) => Message::Text(
            format!(r#"{{"type":"malformed","reason":"relay could not encode a message: {err}"}}"#)
                .into(),
        ),
    }
}
