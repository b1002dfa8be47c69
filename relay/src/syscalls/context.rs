//! What the syscall layer is handed by its session, as mini-redis hands a connection its `Db`:
//! the session's socket table, its policy checkpoint, its outbox, its token (every socket's
//! token is a child), whoever wants to hear of its connects, and the place its sockets are made
//! in (its own network namespace, when isolated). Nothing else of the session.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use socketlab_shared::{Family, SocketType};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::checkpoint::Checkpoint;
use crate::errors::CallError;
use crate::isolation::Place;
use crate::outbox::Outbox;
use crate::sockets::{Entry, Sockets};

/// Told of each connect() a session's socket made, right after the kernel took it (its first
/// answer: done, EINPROGRESS, or an error). The session wires one up (the knock door of
/// lesson 19); the syscall layer knows nothing of what it does with it.
pub(crate) trait ConnectObserver: fmt::Debug + Send + Sync {
    fn connect_made(&self, kind: SocketType, to: SocketAddr, result: &io::Result<()>);
}

/// The handles one session's calls run with. Cheap to clone: a call that waits takes one
/// along into its socket's task.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(super) table: Arc<Sockets>,
    pub(super) checkpoint: Checkpoint,
    pub(super) outbox: Outbox,
    /// The session's token: cancelled when the session ends; every socket's token is a child.
    pub(super) session: CancellationToken,
    pub(super) connects: Option<Arc<dyn ConnectObserver>>,
    /// Where `socket()` makes its sockets: the machine's network, or the session's namespace.
    pub(super) place: Place,
}

impl Context {
    pub(crate) fn new(
        table: Arc<Sockets>,
        checkpoint: Checkpoint,
        outbox: Outbox,
        session: CancellationToken,
        connects: Option<Arc<dyn ConnectObserver>>,
        place: Place,
    ) -> Self {
        Context {
            table,
            checkpoint,
            outbox,
            session,
            connects,
            place,
        }
    }

    /// Adds a socket to the session's table and starts its event watcher. A full table
    /// (`--max-sockets`) refuses it, and the socket is closed.
    pub(super) fn register(
        &self,
        os: socket2::Socket,
        family: Family,
        kind: SocketType,
    ) -> Result<Entry, CallError> {
        let entry = self.table.lock().insert(os, family, kind, &self.session)?;
        let span =
            tracing::info_span!("socket", socket = entry.handle.id.0, fd = entry.handle.fd());
        tracing::debug!(parent: &span, "registered");
        let watcher = crate::events::watch(
            self.outbox.clone(),
            entry.handle.clone(),
            entry.token.clone(),
        );
        entry.tracker.spawn(watcher.instrument(span));
        Ok(entry)
    }

    /// Tells the observer, if any, of a connect the kernel took.
    pub(super) fn connect_made(&self, kind: SocketType, to: SocketAddr, result: &io::Result<()>) {
        if let Some(observer) = &self.connects {
            observer.connect_made(kind, to, result);
        }
    }
}
