//! Events: what happens to a socket that no call asked about (a connection or data waiting,
//! the peer closing). One small watcher task per socket reports them.
//!
//! The watcher must never change what the learner's next call sees, so it only looks: a
//! zero-timeout poll(2) for the level (readable, hung up) and ioctl FIONREAD for how much is
//! queued. It never reads or peeks, which could consume data or a pending socket error.
//!
//! It keeps quiet while a reading call (accept, recv, recvfrom) waits, because that call's reply
//! tells the story. It looks again when something may have changed: a new readiness edge from
//! epoll (new data, a new connection, a FIN) or the end of a reading call. It never spins: each
//! look is paid for by an edge or a call, and a hung-up socket (whose readiness tokio keeps
//! forever) is looked at again only after a reading call.

use std::io;
use std::sync::Arc;

use socketlab_shared::Event;
use tokio_util::sync::CancellationToken;

use crate::kernel::{level, queued};
use crate::outbox::Outbox;
use crate::sockets::{SocketHandle, WatchMode};

/// Runs until the socket's token is cancelled (close, or the session ends), sending each event
/// to the session's outbox.
pub(crate) async fn watch(outbox: Outbox, handle: Arc<SocketHandle>, token: CancellationToken) {
    tokio::select! {
        _ = token.cancelled() => {}
        result = run(&outbox, &handle) => if let Err(err) = result {
            tracing::warn!(%err, "event watcher stopped");
        },
    }
}

/// What has been said since the last reading call, so that a look that finds nothing new
/// stays quiet.
#[derive(Debug, Default)]
struct Told {
    queued: Option<u32>,
    connection: bool,
    peer_closed: bool,
}

async fn run(outbox: &Outbox, handle: &SocketHandle) -> io::Result<()> {
    let mut told = Told::default();
    let mut reads_seen = 0;
    // Set when tokio's readiness says "read closed": it never clears, so edges are over.
    let mut edges_over = false;
    loop {
        // Readiness futures are not budgeted by tokio; this keeps the watcher cooperative.
        tokio::task::consume_budget().await;
        let state = handle
            .watch
            .until(|s| s.mode.is_some() && s.readers == 0)
            .await;
        if state.reads != reads_seen {
            reads_seen = state.reads;
            told.queued = None;
            told.connection = false;
        }
        let Some(mode) = state.mode else { continue };

        let level = level(&handle.os)?;
        let mut events = Vec::new();
        match mode {
            WatchMode::Listening => {
                if level.readable && !told.connection {
                    told.connection = true;
                    events.push(Event::ConnectionWaiting);
                }
            }
            WatchMode::Stream | WatchMode::Datagram => {
                let queued = if level.readable {
                    queued(&handle.os)
                } else {
                    0
                };
                // A datagram of zero bytes is still a datagram; an empty stream queue is nothing,
                // and neither is a datagram socket that only looks readable because its read
                // side was shut down.
                let empty_datagram = mode == WatchMode::Datagram && !level.hung_up;
                let data = level.readable && (queued > 0 || empty_datagram);
                if data && told.queued != Some(queued) {
                    told.queued = Some(queued);
                    events.push(Event::DataWaiting { queued });
                }
                if mode == WatchMode::Stream
                    && level.hung_up
                    && !told.peer_closed
                    && !state.read_shut
                {
                    told.peer_closed = true;
                    events.push(Event::PeerClosed);
                }
            }
        }
        for event in events {
            tracing::debug!(?event, "event");
            outbox.event(handle.id, event).await;
        }

        // Wait for a reason to look again.
        let reads = state.reads;
        let next_read = handle.watch.until(move |s| s.reads != reads);
        if edges_over || level.hung_up {
            next_read.await;
            continue;
        }
        let reactor = handle.reactor()?;
        tokio::select! {
            _ = next_read => {}
            ready = reactor.readable() => {
                let mut guard = ready?;
                edges_over = guard.ready().is_read_closed();
                // Consume this edge; the next arrival makes a new one. If one came in since
                // the guard was taken, tokio keeps it (the clear is tick-checked). But never
                // while a reading call waits: the readiness is shared, and clearing it there
                // would take the edge from that call, which then waits forever on a
                // connection or data already queued. (A call that begins after this check
                // makes its first attempt after the edge, so it sees what arrived.)
                if handle.watch.state().readers == 0 {
                    guard.clear_ready();
                }
            }
        }
    }
}
