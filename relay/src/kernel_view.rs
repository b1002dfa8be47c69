//! The kernel view: what the kernel's own socket tables say about the session's sockets (state,
//! Recv-Q, Send-Q, addresses, as `ss -tan` shows them), streamed to the page as `kernel`
//! messages whenever it changes. Linux only; elsewhere it is `unavailable` and nothing else
//! changes.
//!
//! # Where the rows come from, and why `/proc/net`
//!
//! The relay reads `/proc/net/{tcp,tcp6,udp,udp6}` (parsed by the `procfs` crate) rather than
//! asking netlink `sock_diag` as `ss` does. Both are the kernel's own tables and both list what
//! the lab needs: every TCP state including TIME_WAIT and the half-open SYN_RECV, Recv-Q, Send-Q,
//! and the socket's inode. `/proc` needs no privilege, no netlink socket kept per session, and
//! no hand-built request structs (the netlink crates are lower level and heavier); the one
//! number it lacks, a listener's maximum backlog (`ss`'s Send-Q for LISTEN), is read per
//! listener with TCP_INFO, as `ss` itself gets it. The cost is reading the whole table of the
//! relay's network namespace, which on a learner's machine is a few hundred rows, and it is
//! read rarely (below). Both files follow the reading thread's network namespace, so the view
//! is the relay's own.
//!
//! # Whose rows
//!
//! A row belongs to the session when its inode is one of the session's descriptors' (fstat),
//! or, for TCP rows that no descriptor refers to (inode 0): a completed connection queued on
//! one of the session's listeners before `accept()` (`detached: accept_queue`), and what is
//! left after `close()` on a port the session holds or held (`detached: closed`, until it
//! expires). The rules and their tests are in `rows`.
//!
//! The last rule goes by port alone (the ownership registry keys ports so): a closing row of
//! another program whose local port the session also uses or used (an ephemeral port the
//! kernel gave a connect of the session while that program's TIME_WAIT to another peer still
//! held it) is shown as the session's. It is rare, harmless (read-only, and only a row), and
//! ends when that row expires.
//!
//! # When it looks
//!
//! The session's outbox wakes the view after every reply and event sent (`Outbox::sent`),
//! except the reply of a call that only reads (getsockname, getpeername, getsockopt: the
//! tables are as they were), and the view looks at once, so every state a call leaves behind
//! is seen. Between nudges it looks again
//! after 100 ms, doubling up to 1 s while nothing changes (the kernel moves on its own: a
//! handshake completes, FIN_WAIT1 becomes FIN_WAIT2, TIME_WAIT expires). A session with no
//! sockets and nothing lingering in the kernel has no timer at all: it costs nothing until its
//! next call. A message goes out only when the list changed, and once when it becomes empty.
//!
//! # One look
//!
//! Which tables are needed (TCP if the session has a stream socket or the last list shows a
//! TCP row, UDP likewise; none: an empty list without reading anything); read them in
//! `spawn_blocking`; then fstat every descriptor of the session (and TCP_INFO for each
//! listener) under the table lock, so no descriptor is held beyond it and `close` still finds
//! its fd unshared; then `rows::attribute` with the ownership registry. `kernel` always carries
//! the full list, sorted (the session's sockets by id, then detached rows by address). The
//! tables are read before the descriptors: a socket made meanwhile is only missing from this
//! look (its reply nudges the next), never attributed wrongly. /proc's lines are read one after
//! another, so one look can be inconsistent across rows (a listener's Recv-Q from before an
//! accept, the accepted socket after); the next look, 100 ms later since the list changed, is
//! consistent. A failed read is logged once per session and retried at the next pause.
// Elsewhere only `availability` and a `watch` that returns at once are used; the rest is
// still compiled and unit-tested there, so it is allowed to be unused.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

mod rows;
mod shared_reads;
#[cfg(target_os = "linux")]
mod tables;

use std::time::Duration;

use std::sync::Arc;

use socketlab_shared::Availability;
use tokio_util::sync::CancellationToken;

use crate::outbox::Outbox;
use crate::ownership::SessionPorts;
use crate::sockets::Sockets;

/// What the kernel view of one session is handed: the session's socket table (whose
/// descriptors to look for), its ports in the ownership registry (whose closed rows to keep),
/// its outbox (where the view goes, and what wakes it) and its token (when to stop).
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) table: Arc<Sockets>,
    pub(crate) ports: Arc<SessionPorts>,
    pub(crate) outbox: Outbox,
    pub(crate) token: CancellationToken,
    /// Whose tables: the machine's (read once for every session that asked, and sorted out by
    /// who holds which port), or the session's own namespace's (every row is its own).
    pub(crate) network: crate::isolation::Network,
}

/// The session's kernel view, until the session ends.
pub(crate) async fn watch(view: View) {
    #[cfg(target_os = "linux")]
    linux::watch(view).await;
    // Not Linux: there is nothing to look at, and `availability` said so.
    #[cfg(not(target_os = "linux"))]
    drop(view);
}

/// Whether this relay has the kernel view.
pub(crate) fn availability() -> Availability {
    if cfg!(not(target_os = "linux")) {
        return Availability::Unavailable {
            reason: format!(
                "the kernel view reads Linux's socket tables; this relay runs on {}",
                std::env::consts::OS
            ),
            remedy: Some(
                "The same sockets are in the kernel's table on this machine too: in a terminal, \
                 `netstat -an -p tcp` on macOS, `netstat -ano -p tcp` on Windows."
                    .into(),
            ),
        };
    }
    match std::fs::File::open("/proc/net/tcp") {
        Ok(_) => Availability::Available,
        Err(err) => Availability::Unavailable {
            reason: format!("the kernel view reads /proc/net/tcp, which the relay cannot: {err}"),
            remedy: Some("mount -t proc proc /proc".into()),
        },
    }
}

/// The first pause between looks after a change or a nudge.
const QUICK: Duration = Duration::from_millis(100);
/// The longest pause while something of the session is in the kernel and nothing changes.
const SLOW: Duration = Duration::from_secs(1);

/// When to look next on the view's own: soon after a change, then less and less often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schedule {
    pause: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { pause: QUICK }
    }
}

impl Schedule {
    /// How long to wait before looking unasked; `None` (only when nudged) when the session has
    /// nothing in the kernel to follow.
    fn pause(self, active: bool) -> Option<Duration> {
        active.then_some(self.pause)
    }

    fn nudged(&mut self) {
        self.pause = QUICK;
    }

    fn looked(&mut self, changed: bool) {
        self.pause = if changed {
            QUICK
        } else {
            (self.pause * 2).min(SLOW)
        };
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::time::Instant;

    use socketlab_shared::{FromRelay, KernelSocket, SocketType, Transport};

    use super::rows::{self, Descriptor, Held, Snapshot};
    use super::shared_reads::SharedReads;
    use super::{Schedule, View, tables};
    use crate::isolation::Network;

    /// The relay's reads of the kernel's tables, shared by every session's view.
    static READS: std::sync::LazyLock<SharedReads> = std::sync::LazyLock::new(SharedReads::default);
    use crate::policy::PortOwner;
    use crate::sockets::{Sockets, WatchMode};

    pub(super) async fn watch(view: View) {
        let mut snapshot = Snapshot::default();
        let mut schedule = Schedule::default();
        let mut warned = false;
        loop {
            let active = snapshot.lingering() || view.table.lock().load().sockets > 0;
            let pause = schedule.pause(active);
            tokio::select! {
                _ = view.token.cancelled() => return,
                () = view.outbox.sent() => schedule.nudged(),
                () = sleep(pause) => {}
            }
            let sample = match look(&view, &snapshot).await {
                Ok(sample) => sample,
                Err(err) => {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!(%err, "cannot read the kernel's socket tables");
                    }
                    schedule.looked(false);
                    continue;
                }
            };
            let changed = match snapshot.update(sample) {
                Some(sockets) => {
                    tokio::select! {
                        _ = view.token.cancelled() => return,
                        () = view.outbox.send(FromRelay::Kernel { sockets }) => {}
                    }
                    true
                }
                None => false,
            };
            schedule.looked(changed);
        }
    }

    async fn sleep(pause: Option<std::time::Duration>) {
        match pause {
            Some(pause) => tokio::time::sleep(pause).await,
            None => std::future::pending().await,
        }
    }

    /// One look: the kernel's tables, then the session's descriptors, joined. In this order
    /// a socket made while the tables are read is only missing from this look (the reply that
    /// made it nudges the next one); the other order would attribute rows to an outdated set.
    async fn look(view: &View, snapshot: &Snapshot) -> io::Result<Vec<KernelSocket>> {
        // Every reply this look follows was sent before now: any read that starts later sees
        // what it did, and may be shared with other sessions (`shared_reads`).
        let asked = Instant::now();
        let (tcp, udp) = kinds(&view.table);
        let tcp = tcp || snapshot.shows(Transport::Tcp);
        let udp = udp || snapshot.shows(Transport::Udp);
        if !tcp && !udp {
            return Ok(Vec::new());
        }
        let network = view.network;
        let rows = match network {
            Network::Host => {
                READS
                    .since(asked, tcp, udp, |tcp, udp| {
                        tables::read(Network::Host, tcp, udp)
                    })
                    .await?
            }
            Network::Namespace { .. } => std::sync::Arc::new(
                tokio::task::spawn_blocking(move || tables::read(network, tcp, udp))
                    .await
                    .map_err(io::Error::other)??,
            ),
        };
        let held = descriptors(&view.table);
        let ports = view.ports.locked();
        Ok(rows::attribute(&rows, &held, |transport, local| {
            // In the session's own namespace every socket is the session's: no port needs
            // telling apart.
            if network != Network::Host {
                return true;
            }
            let kind = match transport {
                Transport::Tcp => SocketType::Stream,
                Transport::Udp => SocketType::Datagram,
            };
            matches!(
                ports.reached(kind, local, true, None),
                PortOwner::ThisSession | PortOwner::ReleasedByThisSession
            )
        }))
    }

    /// Whether the session has TCP and UDP sockets: which tables to read.
    fn kinds(table: &Sockets) -> (bool, bool) {
        let table = table.lock();
        let has = |kind| table.handles().any(|handle| handle.kind == kind);
        (has(SocketType::Stream), has(SocketType::Datagram))
    }

    /// The inode of each of the session's descriptors. Made under the table's lock (fstat and
    /// getsockopt do not wait), so no descriptor is held beyond it: closing a socket must find
    /// its descriptor unshared.
    fn descriptors(table: &Sockets) -> Held {
        let table = table.lock();
        let mut held = Held::default();
        for handle in table.handles() {
            let Some(inode) = crate::kernel::inode(&handle.os) else {
                continue;
            };
            let listening = handle.kind == SocketType::Stream
                && handle.watch.state().mode == Some(WatchMode::Listening);
            let max_backlog = listening.then(|| tables::max_backlog(&handle.os)).flatten();
            let descriptor = Descriptor {
                socket: handle.id,
                max_backlog,
            };
            held.inodes.insert(inode, descriptor);
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_session_with_nothing_in_the_kernel_has_no_timer() {
        assert_eq!(Schedule::default().pause(false), None);
    }

    #[test]
    fn the_pause_doubles_while_nothing_changes_up_to_a_second() {
        let mut schedule = Schedule::default();
        let mut pauses = Vec::new();
        for _ in 0..6 {
            pauses.push(schedule.pause(true).unwrap().as_millis());
            schedule.looked(false);
        }
        assert_eq!(pauses, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn a_change_or_a_nudge_makes_the_next_look_quick() {
        let mut schedule = Schedule::default();
        for _ in 0..4 {
            schedule.looked(false);
        }
        schedule.looked(true);
        assert_eq!(schedule.pause(true), Some(QUICK));
        for _ in 0..4 {
            schedule.looked(false);
        }
        schedule.nudged();
        assert_eq!(schedule.pause(true), Some(QUICK));
    }

    #[test]
    fn availability_matches_the_platform() {
        let available = availability() == Availability::Available;
        assert_eq!(available, cfg!(target_os = "linux"), "{:?}", availability());
    }
}
