//! Packets on the loopback interface that belong to a session: whether this relay may capture
//! at all ([`availability`]), and one capture per session that streams `FromRelay::Packet`.
//!
//! Shape: the session makes one [`Capture`] from the handles it needs (the session's socket
//! table, its ports in the ownership registry, its outbox, its token and the relay's tracker)
//! and calls [`Capture::follow`] before each call it performs. Once the session has a
//! socket, that opens a packet socket on `lo` (synchronously, so it is in place before the
//! call that may send the first packet: no packet can flow before a socket exists and a second
//! call binds, connects or sends with it) and spawns the session's capture task. The task
//! reads every frame on `lo`, keeps those whose ports belong to the session (`scope`), parses
//! them with etherparse (`frame`), numbers TCP segments as Wireshark does (`numbering`) and
//! offers each to the session's outbox. It ends with the session, or once the session has had
//! no socket for [`LINGER`] (long enough for the last ACK of a teardown after close); the next
//! call with a socket starts a new one. A session without sockets costs nothing.
//!
//! Never blocking the session: a packet goes into the outbox only if that leaves
//! [`SPARE_SLOTS`] free for replies and events; otherwise it is dropped and counted (there is
//! no message for "packets were dropped": the count is logged, and the trace simply has a
//! gap). A slow browser thus loses packets, never replies, and never holds up the session.
//!
//! Loopback only, always: the packet socket is bound to `lo`'s index and each frame's
//! interface is checked again (`socket`). The capture never sees another interface. A classic
//! BPF program (`filter`) lets the kernel drop, before any copy, what is not TCP or UDP over IP
//! and the relay's own TCP port (the pages' WebSockets carry the traces: without it, every
//! packet streamed would wake every capture once more).
//!
//! The task reads at most 64 frames per wakeup, then yields; it skips outgoing copies (also
//! dropped in the kernel by PACKET_IGNORE_OUTGOING), frames of another interface and truncated
//! ones. A packet's `at_us` is taken when the relay reads the frame (not the kernel's
//! timestamp): microseconds since the session's first capture started.

// Elsewhere than Linux only `availability` (unavailable) and a `follow` that does nothing
// remain; the parsing and numbering stay compiled so they keep being checked.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

#[cfg(target_os = "linux")]
mod filter;
mod frame;
mod numbering;
mod scope;
#[cfg(target_os = "linux")]
mod socket;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use socketlab_shared::{Availability, FromRelay, Packet, Payload};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::outbox::Outbox;
use crate::ownership::SessionPorts;
use crate::sockets::Sockets;

/// How long a capture goes on after the session's last socket is closed: the frames of the
/// teardown (FIN, the last ACK, an RST) follow close() within milliseconds on loopback.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// How often a running capture checks whether the session still has sockets.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Outbox slots a packet must leave free, so that replies and events always find room.
pub(crate) const SPARE_SLOTS: usize = 16;

/// The largest frame `lo` carries: its MTU (65536, also the most a segmentation-offloaded
/// segment holds) plus the Ethernet header, with room to spare.
#[cfg(target_os = "linux")]
const FRAME_BYTES: usize = 65536 + 256;

/// Frames read per wakeup before the task lets others run.
#[cfg(target_os = "linux")]
const BATCH: usize = 64;

/// Whether this relay can capture packets, checked once: open a packet socket on `lo` and close
/// it. Without CAP_NET_RAW the answer names the exact command that grants it to this program.
pub(crate) fn availability() -> Availability {
    static CHECKED: OnceLock<Availability> = OnceLock::new();
    CHECKED.get_or_init(check).clone()
}

#[cfg(target_os = "linux")]
fn check() -> Availability {
    match socket::loopback().and_then(|lo| socket::open(lo, &filter::program(0))) {
        Ok(_) => Availability::Available,
        Err(err) if matches!(err.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
            Availability::Unavailable {
                reason: "capturing packets needs CAP_NET_RAW, which this relay does not have"
                    .into(),
                remedy: Some(remedy(std::env::current_exe().ok().as_deref())),
            }
        }
        Err(err) => Availability::Unavailable {
            reason: format!(
                "the relay could not open a packet socket on the loopback interface: {err}"
            ),
            remedy: None,
        },
    }
}

#[cfg(not(target_os = "linux"))]
fn check() -> Availability {
    Availability::Unavailable {
        reason: format!(
            "capturing packets uses Linux's packet sockets (AF_PACKET); this relay runs on {}",
            std::env::consts::OS
        ),
        remedy: None,
    }
}

/// `sudo setcap cap_net_raw+ep /abs/path/to/socketlab-relay`, for the program that runs now.
fn remedy(exe: Option<&std::path::Path>) -> String {
    let path = exe.map_or_else(
        || "/path/to/socketlab-relay".to_owned(),
        |p| p.display().to_string(),
    );
    let quoted = if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        path
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    };
    format!("sudo setcap cap_net_raw+ep {quoted}")
}

/// A session's capture: what it follows (the session's sockets and ports), where packets go,
/// whether one runs, when the first started (packet times count from it), and how many packets
/// a slow browser made it drop.
#[derive(Debug)]
pub(crate) struct Capture {
    table: Arc<Sockets>,
    ports: Arc<SessionPorts>,
    outbox: Outbox,
    /// The relay's own port: its WebSocket traffic is never part of a trace.
    relay_port: u16,
    /// The session's token, parent of each capture task's.
    session: CancellationToken,
    /// The relay's tracker, so shutdown waits for the capture too.
    tracker: TaskTracker,
    /// The running capture task's token; `None` (or cancelled) when none runs.
    running: Mutex<Option<CancellationToken>>,
    started: OnceLock<Instant>,
    dropped: AtomicU64,
}

impl Capture {
    pub(crate) fn new(
        table: Arc<Sockets>,
        ports: Arc<SessionPorts>,
        outbox: Outbox,
        relay_port: u16,
        session: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        Capture {
            table,
            ports,
            outbox,
            relay_port,
            session,
            tracker,
            running: Mutex::default(),
            started: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Starts the session's capture if it has sockets, capture is available, and none runs.
    /// Called by the session before each call, so the capture is in place before that call's
    /// packets.
    pub(crate) fn follow(self: &Arc<Self>) {
        let mut running = self.running();
        if running.as_ref().is_some_and(|token| !token.is_cancelled()) {
            return;
        }
        if self.table.lock().load().sockets == 0 || availability() != Availability::Available {
            return;
        }
        start(self, &mut running);
    }

    /// The running capture's token, locked (even if a panicking task poisoned it).
    fn running(&self) -> std::sync::MutexGuard<'_, Option<CancellationToken>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Packets dropped because the browser's outbox was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(target_os = "linux")]
fn start(capture: &Arc<Capture>, running: &mut Option<CancellationToken>) {
    let filter = filter::program(capture.relay_port);
    let opened =
        socket::loopback().and_then(|lo| Ok((lo, socket::register(socket::open(lo, &filter)?)?)));
    let (lo, fd) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(%err, "could not start packet capture for this session");
            return;
        }
    };
    let token = capture.session.child_token();
    *running = Some(token.clone());
    capture.started.get_or_init(Instant::now);
    tracing::debug!("packet capture started");
    let task = Task {
        capture: capture.clone(),
        token,
        lo,
        numbering: numbering::Numbering::default(),
    };
    // In the relay's tracker like every session task, so shutdown waits for it too.
    capture
        .tracker
        .spawn(task.run(fd).instrument(tracing::Span::current()));
}

#[cfg(not(target_os = "linux"))]
fn start(_: &Arc<Capture>, _: &mut Option<CancellationToken>) {}

/// One running capture of a session.
#[cfg(target_os = "linux")]
struct Task {
    capture: Arc<Capture>,
    token: CancellationToken,
    lo: u32,
    numbering: numbering::Numbering,
}

#[cfg(target_os = "linux")]
impl Task {
    async fn run(mut self, fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>) {
        let mut buf = vec![0_u8; FRAME_BYTES];
        let mut check = tokio::time::interval_at(Instant::now() + CHECK_EVERY, CHECK_EVERY);
        let mut empty_since = None;
        loop {
            let ready = tokio::select! {
                _ = self.token.cancelled() => break,
                _ = check.tick() => {
                    if self.done(&mut empty_since) {
                        break;
                    }
                    continue;
                }
                ready = fd.readable() => ready,
            };
            let mut guard = match ready {
                Ok(guard) => guard,
                Err(err) => {
                    tracing::warn!(%err, "packet capture failed");
                    break;
                }
            };
            for _ in 0..BATCH {
                match guard.try_io(|fd| socket::recv(fd.get_ref(), &mut buf)) {
                    Ok(Ok(received)) => {
                        if received.outgoing || received.ifindex != self.lo || received.truncated {
                            continue;
                        }
                        if let Some(packet) = self.packet(&buf[..received.len]) {
                            self.offer(packet);
                        }
                    }
                    Ok(Err(err)) => {
                        tracing::warn!(%err, "reading the packet socket failed");
                        self.token.cancel();
                        break;
                    }
                    Err(_would_block) => break,
                }
            }
            tokio::task::yield_now().await;
        }
        self.token.cancel();
        tracing::debug!(dropped = self.capture.dropped(), "packet capture stopped");
    }

    /// Whether the capture should end: the session has had no socket for [`LINGER`]. Decided
    /// under the same lock `follow` takes, so a capture is never left stopped while it thinks
    /// one runs.
    fn done(&self, empty_since: &mut Option<Instant>) -> bool {
        let mut running = self.capture.running();
        if self.capture.table.lock().load().sockets > 0 {
            *empty_since = None;
            return false;
        }
        if empty_since.get_or_insert_with(Instant::now).elapsed() < LINGER {
            return false;
        }
        self.token.cancel();
        *running = None;
        true
    }

    /// The frame as a packet of the trace, if it is TCP or UDP between ports of the session.
    fn packet(&mut self, bytes: &[u8]) -> Option<Packet> {
        let frame = frame::parse(bytes)?;
        let relay_port = self.capture.relay_port;
        let ports = self.capture.ports.locked();
        let ours = scope::belongs(
            frame.transport,
            [frame.src, frame.dst],
            relay_port,
            |kind, end| {
                // Everything on `lo` is this machine's.
                ports.reached(kind, end, true, Some(scope::RELEASED_IN_SCOPE))
            },
        );
        drop(ports);
        if !ours {
            return None;
        }
        let started = self.capture.started.get_or_init(Instant::now);
        let (seq, ack) = match &frame.tcp {
            Some(segment) => {
                let (seq, ack) = self.numbering.relative(frame.src, frame.dst, segment);
                (Some(seq), ack)
            }
            None => (None, None),
        };
        Some(Packet {
            at_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            transport: frame.transport,
            src: frame.src.to_string(),
            dst: frame.dst.to_string(),
            flags: frame
                .tcp
                .as_ref()
                .map(|s| s.flags.clone())
                .unwrap_or_default(),
            seq,
            ack,
            window: frame.tcp.as_ref().map(|s| s.window),
            len: frame.len,
            head: Payload(frame.head),
        })
    }

    /// Queues the packet if the outbox has room to spare; otherwise drops and counts it.
    fn offer(&self, packet: Packet) {
        if self
            .capture
            .outbox
            .offer(FromRelay::Packet { packet }, SPARE_SLOTS)
        {
            return;
        }
        let dropped = self.capture.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::info!(
                dropped,
                "the browser reads slowly; packets dropped from its trace"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remedy_names_this_program_exactly_and_quotes_only_when_needed() {
        let plain = std::path::Path::new("/usr/local/bin/socketlab-relay");
        assert_eq!(
            remedy(Some(plain)),
            "sudo setcap cap_net_raw+ep /usr/local/bin/socketlab-relay"
        );
        let spaced = std::path::Path::new("/home/ann/my code/socketlab-relay");
        assert_eq!(
            remedy(Some(spaced)),
            "sudo setcap cap_net_raw+ep '/home/ann/my code/socketlab-relay'"
        );
        assert!(remedy(None).ends_with("/path/to/socketlab-relay"));
    }
}
