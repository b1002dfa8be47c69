//! What goes to the browser: each session's one bounded channel to its writer task
//! (`session/writer.rs`). Every part that speaks to the page (the session loop, the syscall
//! layer, the socket tasks, the event watchers, the kernel view, the capture) holds a clone of
//! the session's [`Outbox`], never the session, so a slow browser slows only its own session.
//!
//! Messages travel boxed ([`Queued`]): a slot of the channel is then a pointer, not the largest
//! `FromRelay` (144 bytes), and the channel's first block of 32 slots, allocated when the session
//! opens, costs an idle session 256 bytes instead of 4.6 KiB.
//!
//! The outbox also tells the session's kernel view when to look: every reply and event may
//! leave the kernel in a new state, so each one sent wakes it ([`Outbox::sent`]).

use std::sync::Arc;

use socketlab_shared::{CallId, Done, Event, FromRelay, Outcome, SocketId};
use tokio::sync::{Notify, mpsc};

/// A message on its way to the writer.
pub(crate) type Queued = Box<FromRelay>;

/// Told of every reply a session sends (class mode's count of refused calls).
pub(crate) trait ReplyWatcher: std::fmt::Debug + Send + Sync {
    fn replied(&self, outcome: &Outcome);
}

/// A session's sending end towards its writer.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    sender: mpsc::Sender<Queued>,
    /// Notified after every reply and event.
    sent: Arc<Notify>,
    /// Told of every reply, once a learner of a class joined (`watch_replies`).
    watcher: Arc<std::sync::OnceLock<Arc<dyn ReplyWatcher>>>,
}

impl Outbox {
    pub(crate) fn new(sender: mpsc::Sender<Queued>) -> Self {
        Outbox {
            sender,
            sent: Arc::default(),
            watcher: Arc::default(),
        }
    }

    /// From now on `watcher` is told of every reply of this session (set once).
    pub(crate) fn watch_replies(&self, watcher: Arc<dyn ReplyWatcher>) {
        let _ = self.watcher.set(watcher);
    }

    /// Queues a message for the browser. When the writer is gone the session is over and the
    /// message has nobody to go to, so it is dropped.
    pub(crate) async fn send(&self, message: FromRelay) {
        let wakes = may_follow_a_change(&message);
        if self.sender.send(Box::new(message)).await.is_err() {
            tracing::debug!("browser gone; message dropped");
        }
        if wakes {
            self.sent.notify_one();
        }
    }

    /// Queues a message only if that leaves `spare` slots free, never waiting: for what may be
    /// dropped when the browser reads slowly (packets). Returns whether it was queued.
    pub(crate) fn offer(&self, message: FromRelay, spare: usize) -> bool {
        self.sender.capacity() > spare && self.sender.try_send(Box::new(message)).is_ok()
    }

    /// The one reply to call `id`.
    pub(crate) async fn reply(&self, id: CallId, outcome: Outcome) {
        if let Some(watcher) = self.watcher.get() {
            watcher.replied(&outcome);
        }
        self.send(FromRelay::Reply { id, outcome }).await;
    }

    pub(crate) async fn event(&self, socket: SocketId, event: Event) {
        self.send(FromRelay::Event { socket, event }).await;
    }

    /// Completes once a reply or an event has been sent since the last time it completed. Never
    /// lost: one sent while nobody waits makes the next wait complete at once. For the session's
    /// one kernel view (a second waiter would take the first's wakeups).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // The kernel view's, on Linux.
    pub(crate) async fn sent(&self) {
        self.sent.notified().await;
    }
}

/// Whether the kernel's tables may have changed before `message`, so the kernel view should
/// look: after every reply and event, except the reply of a call that only reads
/// (getsockname, getpeername, getsockopt), which leaves the tables as they were. (The view's
/// own timer still follows what the kernel does on its own meanwhile.)
fn may_follow_a_change(message: &FromRelay) -> bool {
    match message {
        FromRelay::Reply {
            outcome:
                Outcome::Ok(
                    Done::Getsockname { .. } | Done::Getpeername { .. } | Done::Getsockopt { .. },
                ),
            ..
        } => false,
        FromRelay::Reply { .. } | FromRelay::Event { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_reply_wakes_the_next_wait_and_a_packet_does_not_take_the_last_slots() {
        let (sender, mut inbox) = mpsc::channel(4);
        let outbox = Outbox::new(sender);
        outbox
            .reply(CallId(1), Outcome::Invalid { reason: "x".into() })
            .await;
        let woken = tokio::time::timeout(Duration::from_secs(5), outbox.sent()).await;
        assert!(woken.is_ok(), "a reply sent before the wait wakes it");
        let malformed = || FromRelay::Malformed { reason: "y".into() };
        assert!(outbox.offer(malformed(), 2), "3 free, 2 kept spare");
        assert!(!outbox.offer(malformed(), 2), "2 free, 2 kept spare");
        assert!(inbox.try_recv().is_ok());
    }

    #[test]
    fn every_reply_and_event_wakes_the_view_but_a_read_only_calls_reply() {
        let reply = |done| FromRelay::Reply {
            id: CallId(1),
            outcome: Outcome::Ok(done),
        };
        let name = || "127.0.0.1:5000".to_owned();
        assert!(may_follow_a_change(&reply(Done::Close)));
        assert!(may_follow_a_change(&reply(Done::Bind { local: name() })));
        assert!(may_follow_a_change(&FromRelay::Reply {
            id: CallId(2),
            outcome: Outcome::Invalid { reason: "x".into() },
        }));
        for read_only in [
            Done::Getsockname { address: name() },
            Done::Getpeername { address: name() },
        ] {
            assert!(!may_follow_a_change(&reply(read_only)));
        }
        assert!(!may_follow_a_change(&FromRelay::Malformed {
            reason: "y".into()
        }));
    }
}
