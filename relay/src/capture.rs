//! Packets on the loopback interface that belong to a session: whether this relay may capture
//! at all ([`availability`]), and one capture for the whole relay ([`Captures`]) that gives each
//! session ([`Capture`]) the packets of its own sockets as `FromRelay::Packet`.
//!
//! Shape: the relay holds one [`Captures`]; each session makes a [`Capture`] from it and from
//! the handles it needs (its number in the ownership registry, its socket table, its outbox,
//! its token) and calls [`Capture::follow`] before each call it performs. Once the session has
//! a socket, that makes it a follower of the relay's capture and, if none runs, opens the
//! relay's packet socket on `lo` (synchronously, so it is in place before the call that may
//! send the first packet: no packet can flow before a socket exists and a second call binds,
//! connects or sends with it) and spawns the capture task. The task reads every frame on `lo`
//! once, parses it with etherparse (`frame`), asks the ownership registry once which sessions
//! it belongs to (`scope`: only the sessions that hold or released one of its ports are
//! asked), numbers TCP segments as Wireshark does, per session (`numbering`), and offers each
//! to its session's outbox. A session stops following with its end, or once it has had no
//! socket for [`LINGER`] (long enough for the last ACK of a teardown after close); the next
//! call with a socket follows again. The task ends when no session follows: a relay whose
//! sessions have no sockets captures nothing, and a session without sockets costs nothing.
//!
//! One packet socket for the relay, not one per session: the kernel copies each frame once
//! (a socket per session had it copy every frame to every capturing session, and wake each,
//! which with a thousand busy sessions cost more than their traffic).
//!
//! Never blocking a session: a packet goes into the outbox only if that leaves
//! [`SPARE_SLOTS`] free for replies and events; otherwise it is dropped and counted (there is
//! no message for "packets were dropped": the count is logged, and the trace simply has a
//! gap). A slow browser thus loses packets, never replies, and never holds up the session or
//! another session's trace.
//!
//! Loopback only, always: the packet socket is bound to `lo`'s index and each frame's
//! interface is checked again (`socket`). The capture never sees another interface. A classic
//! BPF program (`filter`) lets the kernel drop, before any copy, what is not TCP or UDP over IP
//! and the relay's own TCP port (the pages' WebSockets carry the traces: without it, every
//! packet streamed would wake the capture once more), and cut what it keeps to its headers and
//! first bytes (`frame::SNAP_BYTES`), so a busy loopback program elsewhere costs the relay a
//! small copy per frame.
//!
//! The task reads what has gathered (at most 1024 frames), then lets frames gather for 2 ms
//! before it reads again, so a busy loopback wakes it once per 2 ms, not once per frame; it
//! skips outgoing copies (also dropped in the kernel by PACKET_IGNORE_OUTGOING) and frames of
//! another interface. A
//! packet's `at_us` is taken when the relay reads the frame (not the kernel's timestamp):
//! microseconds since the session's first capture started.

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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use socketlab_shared::{Availability, FromRelay, Packet, Payload};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::isolation::Place;
use crate::outbox::Outbox;
use crate::ownership::{Ownership, SessionPorts};
use crate::sockets::Sockets;

/// How long a capture goes on after the session's last socket is closed: the frames of the
/// teardown (FIN, the last ACK, an RST) follow close() within milliseconds on loopback.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// How often a running capture checks whether the session still has sockets.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Outbox slots a packet must leave free, so that replies and events always find room.
pub(crate) const SPARE_SLOTS: usize = 16;

/// Frames read per wakeup at most, before the task lets others run.
#[cfg(target_os = "linux")]
const BATCH: usize = 1024;

/// How long the task lets frames gather in the socket after reading some: a trace shows its
/// packets at most this much later, and a busy loopback costs the relay a wakeup per `GATHER`
/// instead of one per frame (with 1 Gbit/s on `lo`, half the CPU; with small frames, more:
/// the bench's WebSocket echo ran 70% slower beside a capture that woke for each of its
/// frames, 20-30% with this).
#[cfg(target_os = "linux")]
const GATHER: Duration = Duration::from_millis(2);

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

/// The relay's packet capture: which sessions follow it, and the task that reads `lo` while
/// any does.
#[derive(Debug)]
pub(crate) struct Captures {
    ownership: Arc<Ownership>,
    /// The relay's own port: its WebSocket traffic is never part of a trace.
    relay_port: u16,
    /// The server's token: the task ends with the server.
    shutdown: CancellationToken,
    /// The relay's tracker, so shutdown waits for the task too.
    tracker: TaskTracker,
    /// Whose `lo` it reads: the machine's (one capture for every session), or an isolated
    /// session's namespace's (that session's own capture).
    place: Place,
    state: Mutex<Following>,
}

/// Who follows the capture, and the running task's token (`None`, or cancelled, when none
/// runs). One lock, so a follower is never left with no task while it thinks one runs.
#[derive(Debug, Default)]
struct Following {
    followers: HashMap<u64, Weak<Capture>>,
    running: Option<CancellationToken>,
}

impl Captures {
    pub(crate) fn new(
        ownership: Arc<Ownership>,
        relay_port: u16,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        place: Place,
    ) -> Self {
        Captures {
            ownership,
            relay_port,
            shutdown,
            tracker,
            place,
            state: Mutex::default(),
        }
    }

    /// Whether this capture can run: on the machine's network the relay-wide check; in a
    /// session's own namespace a packet socket opened in such a namespace (a relay in a user
    /// namespace of its own has CAP_NET_RAW over the namespaces it makes, not over the
    /// machine's). Every session's namespace is made alike by the same relay, so that is
    /// checked once, in the first: closing a packet socket waits for an RCU grace period
    /// (`synchronize_net`), tens of milliseconds of a runtime thread per session otherwise.
    pub(crate) fn availability(&self) -> Availability {
        static IN_NAMESPACES: OnceLock<Availability> = OnceLock::new();
        if !self.place.is_isolated() {
            return availability();
        }
        if let Some(known) = IN_NAMESPACES.get() {
            return known.clone();
        }
        match self.place.run(check) {
            Ok(found) => IN_NAMESPACES.get_or_init(|| found).clone(),
            Err(err) => Availability::Unavailable {
                reason: format!("the session's network namespace is gone: {err}"),
                remedy: None,
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Following> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many sessions follow the capture now, and whether its task runs.
    #[cfg(test)]
    fn status(&self) -> (usize, bool) {
        let state = self.lock();
        let running = state.running.as_ref().is_some_and(|t| !t.is_cancelled());
        (state.followers.len(), running)
    }
}

/// A session's part in the relay's capture: whose packets it gets (its number in the ownership
/// registry), what it follows (its socket table), where packets go and, once it followed, when
/// its first capture started (packet times count from it), its TCP numbering, and how many
/// packets a slow browser made it drop.
#[derive(Debug)]
pub(crate) struct Capture {
    captures: Arc<Captures>,
    session: u64,
    table: Arc<Sockets>,
    outbox: Outbox,
    /// The session's token: a cancelled session follows no more.
    token: CancellationToken,
    /// Made the first time the session follows, so a session that never has a socket costs
    /// 16 bytes here, not 150 (10,000 idle sessions: 1.4 MB).
    followed: Mutex<Option<Box<Followed>>>,
}

impl Capture {
    /// Whether this session's packets can be captured (see `Captures::availability`).
    pub(crate) fn availability(&self) -> Availability {
        self.captures.availability()
    }
}

/// What a session that followed the capture keeps.
#[derive(Debug)]
struct Followed {
    /// When the session first followed: packet times count from it.
    started: Instant,
    /// Relative numbers per connection; begun anew each time the session starts following.
    numbering: numbering::Numbering,
    /// Since when the session has had no socket while following (for [`LINGER`]).
    empty_since: Option<Instant>,
    dropped: u64,
    /// The session's span, from its first `follow`: what the capture logs about the session
    /// is logged in it.
    span: tracing::Span,
}

impl Capture {
    pub(crate) fn new(
        captures: Arc<Captures>,
        ports: &SessionPorts,
        table: Arc<Sockets>,
        outbox: Outbox,
        token: CancellationToken,
    ) -> Self {
        Capture {
            captures,
            session: ports.id(),
            table,
            outbox,
            token,
            followed: Mutex::default(),
        }
    }

    /// Follows the relay's capture (starting it if none runs) if the session has sockets,
    /// capture is available, and it does not follow yet. Called by the session before each
    /// call, so the capture is in place before that call's packets.
    pub(crate) fn follow(self: &Arc<Self>) {
        if self.table.lock().load().sockets == 0
            || self.captures.availability() != Availability::Available
        {
            return;
        }
        let captures = &self.captures;
        let mut state = captures.lock();
        let running = state.running.as_ref().is_some_and(|t| !t.is_cancelled());
        if running && state.followers.contains_key(&self.session) {
            return;
        }
        if !running {
            let Some(token) = start(captures) else {
                return;
            };
            state.running = Some(token);
        }
        let mut followed = lock(&self.followed);
        match followed.as_mut() {
            Some(followed) => {
                followed.numbering = numbering::Numbering::default();
                followed.empty_since = None;
            }
            None => {
                *followed = Some(Box::new(Followed {
                    started: Instant::now(),
                    numbering: numbering::Numbering::default(),
                    empty_since: None,
                    dropped: 0,
                    span: tracing::Span::current(),
                }));
            }
        }
        drop(followed);
        state.followers.insert(self.session, Arc::downgrade(self));
        tracing::debug!("following the packet capture");
    }

    /// The session ended: it follows no more, and the relay's capture stops now if it was the
    /// last to follow (its packet socket closed with the session's last descriptor). A session
    /// that ends without calling this is let go at the capture's next check.
    pub(crate) fn end(&self) {
        let mut state = self.captures.lock();
        if state.followers.remove(&self.session).is_none() {
            return;
        }
        if state.followers.is_empty()
            && let Some(running) = state.running.take()
        {
            running.cancel();
        }
    }

    /// Whether the session should stop following: it ended, or has had no socket for
    /// [`LINGER`]. Logged in the session's span when it stops.
    fn done(&self) -> bool {
        let mut followed = lock(&self.followed);
        let Some(followed) = followed.as_mut() else {
            return true;
        };
        let done = self.token.is_cancelled() || {
            if self.table.lock().load().sockets > 0 {
                followed.empty_since = None;
                false
            } else {
                followed
                    .empty_since
                    .get_or_insert_with(Instant::now)
                    .elapsed()
                    >= LINGER
            }
        };
        if done {
            followed.span.in_scope(|| {
                tracing::debug!(
                    dropped = followed.dropped,
                    "stopped following the packet capture"
                );
            });
        }
        done
    }

    /// The frame as a packet of this session's trace, numbered, queued if the outbox has room
    /// to spare; otherwise dropped and counted.
    fn offer(&self, frame: &frame::Frame) {
        let mut followed = lock(&self.followed);
        let Some(followed) = followed.as_mut() else {
            return;
        };
        let (seq, ack) = match &frame.tcp {
            Some(segment) => {
                let (seq, ack) = followed.numbering.relative(frame.src, frame.dst, segment);
                (Some(seq), ack)
            }
            None => (None, None),
        };
        let packet = Packet {
            at_us: u64::try_from(followed.started.elapsed().as_micros()).unwrap_or(u64::MAX),
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
            head: Payload(frame.head.clone()),
        };
        if self.outbox.offer(FromRelay::Packet { packet }, SPARE_SLOTS) {
            return;
        }
        followed.dropped += 1;
        let dropped = followed.dropped;
        if dropped.is_power_of_two() {
            followed.span.in_scope(|| {
                tracing::info!(
                    dropped,
                    "the browser reads slowly; packets dropped from its trace"
                );
            });
        }
    }
}

/// Locks a mutex of a capture even if a panicking task poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens the relay's packet socket and spawns the task that reads it; its token, or `None`
/// (logged) if the socket could not be opened.
#[cfg(target_os = "linux")]
fn start(captures: &Arc<Captures>) -> Option<CancellationToken> {
    let filter = filter::program(captures.relay_port);
    // The packet socket is made where the sessions' sockets are: its `lo` is theirs.
    let opened = captures
        .place
        .run(move || socket::loopback().and_then(|lo| Ok((lo, socket::open(lo, &filter)?))))
        .and_then(|opened| opened)
        .and_then(|(lo, fd)| Ok((lo, socket::register(fd)?)));
    let (lo, fd) = match opened {
        Ok(opened) => opened,
        Err(err) => {
            tracing::warn!(%err, "could not start the packet capture");
            return None;
        }
    };
    let token = captures.shutdown.child_token();
    tracing::debug!("packet capture started");
    let task = Task {
        captures: captures.clone(),
        token: token.clone(),
        lo,
    };
    // In the relay's tracker, so shutdown waits for it too.
    captures.tracker.spawn(task.run(fd));
    Some(token)
}

#[cfg(not(target_os = "linux"))]
fn start(_: &Arc<Captures>) -> Option<CancellationToken> {
    None
}

/// The running capture of the relay.
#[cfg(target_os = "linux")]
struct Task {
    captures: Arc<Captures>,
    token: CancellationToken,
    lo: u32,
}

#[cfg(target_os = "linux")]
impl Task {
    async fn run(self, fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>) {
        let mut buf = vec![0_u8; frame::SNAP_BYTES];
        let mut check = tokio::time::interval_at(Instant::now() + CHECK_EVERY, CHECK_EVERY);
        // Reused for every frame: the sessions it belongs to.
        let mut sessions = Vec::new();
        loop {
            let ready = tokio::select! {
                _ = self.token.cancelled() => break,
                _ = check.tick() => {
                    if self.done() {
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
                        self.deliver(&buf[..received.len], &mut sessions);
                    }
                    Ok(Err(err)) => {
                        tracing::warn!(%err, "reading the packet socket failed");
                        self.token.cancel();
                        break;
                    }
                    Err(_would_block) => break,
                }
            }
            // Let frames gather, so a busy loopback wakes the capture at most once per
            // `GATHER`, not once per frame.
            tokio::time::sleep(GATHER).await;
        }
        self.token.cancel();
        // Closing a packet socket waits for an RCU grace period (`synchronize_net`): off the
        // runtime's threads, which a class's sessions ending at once would otherwise stall.
        let fd = fd.into_inner();
        drop(tokio::task::spawn_blocking(move || drop(fd)));
        tracing::debug!("packet capture stopped");
    }

    /// Lets go of the sessions that are done (`Capture::done`; an ended session's entry is
    /// only a weak reference by then), and decides whether the task should end: no session
    /// follows. Decided under the lock `follow` takes, so no session is left following a task
    /// that ended, nor let go of between its `follow` and its call. (No `Capture` has a `Drop`
    /// that locks, so a follower upgraded here may be dropped under the lock.)
    fn done(&self) -> bool {
        let mut state = self.captures.lock();
        // An ended session's capture is freed here if this was its last reference.
        state
            .followers
            .retain(|_, weak| weak.upgrade().is_some_and(|capture| !capture.done()));
        if !state.followers.is_empty() {
            return false;
        }
        self.token.cancel();
        state.running = None;
        true
    }

    /// Gives the frame to each following session whose trace it belongs in.
    fn deliver(&self, bytes: &[u8], sessions: &mut Vec<u64>) {
        let Some(frame) = frame::parse(bytes) else {
            return;
        };
        whose(
            &self.captures.ownership,
            &frame,
            self.captures.relay_port,
            sessions,
        );
        if sessions.is_empty() {
            return;
        }
        let followers: Vec<Arc<Capture>> = {
            let state = self.captures.lock();
            sessions
                .iter()
                .filter_map(|session| state.followers.get(session)?.upgrade())
                .collect()
        };
        for capture in followers {
            capture.offer(&frame);
        }
    }
}

/// The sessions whose trace `frame` belongs in (into `sessions`, emptied first): of those that
/// hold or released one of its ports, each that `scope::belongs` says it is for, asked as that
/// session sees the registry.
fn whose(ownership: &Ownership, frame: &frame::Frame, relay_port: u16, sessions: &mut Vec<u64>) {
    sessions.clear();
    let kind = match frame.transport {
        socketlab_shared::Transport::Tcp => socketlab_shared::SocketType::Stream,
        socketlab_shared::Transport::Udp => socketlab_shared::SocketType::Datagram,
    };
    let mut everyone = ownership.everyone();
    sessions.extend(everyone.on_port(kind, frame.src.port()));
    sessions.extend(everyone.on_port(kind, frame.dst.port()));
    sessions.sort_unstable();
    sessions.dedup();
    sessions.retain(|&session| {
        let ports = everyone.as_seen_by(session);
        scope::belongs(
            frame.transport,
            [frame.src, frame.dst],
            relay_port,
            |kind, end| {
                // Everything on `lo` is this machine's.
                ports.reached(kind, end, true, Some(scope::RELEASED_IN_SCOPE))
            },
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    mod relay_wide {
        use std::net::{SocketAddr, UdpSocket};

        use socketlab_shared::{Family, SocketType};
        use tokio::sync::mpsc;

        use super::*;
        use crate::outbox::Queued;
        use crate::ownership::{Endpoint, Holding};

        /// A session of the test: its capture, what its outbox received, and its table with one
        /// UDP socket on loopback (recorded as the session's in the registry).
        struct Learner {
            capture: Arc<Capture>,
            inbox: mpsc::Receiver<Queued>,
            table: Arc<Sockets>,
            _ports: SessionPorts,
        }

        fn relay() -> (Arc<Ownership>, Arc<Captures>) {
            assert_eq!(
                availability(),
                Availability::Available,
                "these tests open a packet socket: run them as root (CI does), or \
                 `sudo setcap cap_net_raw+ep` the test binary"
            );
            let ownership = Arc::new(Ownership::default());
            let captures = Arc::new(Captures::new(
                ownership.clone(),
                // No relay listens in these tests: its port is one no test socket gets.
                1,
                CancellationToken::new(),
                TaskTracker::new(),
                Place::default(),
            ));
            (ownership, captures)
        }

        fn learner(ownership: &Arc<Ownership>, captures: &Arc<Captures>) -> Learner {
            let ports = ownership.session();
            let table = Arc::new(Sockets::new(8));
            let os = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
                .expect("a UDP socket");
            os.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
                .expect("bind on loopback");
            let address = os.local_addr().ok().and_then(|a| a.as_socket());
            let token = CancellationToken::new();
            let entry = table
                .lock()
                .insert(os, Family::Ipv4, SocketType::Datagram, &token)
                .expect("room in the table");
            let endpoint =
                Endpoint::new(SocketType::Datagram, address.expect("its address"), false);
            ports.record(
                entry.handle.id,
                Some(Holding {
                    endpoint,
                    inode: None,
                }),
            );
            let (sender, inbox) = mpsc::channel(64);
            let capture = Arc::new(Capture::new(
                captures.clone(),
                &ports,
                table.clone(),
                Outbox::new(sender),
                token,
            ));
            Learner {
                capture,
                inbox,
                table,
                _ports: ports,
            }
        }

        /// Sends `marker` from the learner's socket to `to` and waits until `to` has it: the
        /// frame has then been through `lo`, and the packet socket has its copy.
        fn send(learner: &Learner, marker: &[u8], to: &UdpSocket) {
            let table = learner.table.lock();
            let handle = table.handles().next().expect("its socket");
            let address = to.local_addr().expect("an address");
            handle
                .os
                .send_to(marker, &address.into())
                .expect("sendto on loopback");
            drop(table);
            let mut got = [0_u8; 64];
            assert_eq!(to.recv(&mut got).expect("the datagram"), marker.len());
        }

        /// The payload heads of the learner's packets, waiting up to 5 s for the first.
        async fn heads(learner: &mut Learner) -> Vec<Vec<u8>> {
            let first = tokio::time::timeout(Duration::from_secs(5), learner.inbox.recv())
                .await
                .expect("a packet within 5 s")
                .expect("the outbox open");
            let mut messages = vec![first];
            while let Ok(message) = learner.inbox.try_recv() {
                messages.push(message);
            }
            messages
                .into_iter()
                .map(|message| match *message {
                    FromRelay::Packet { packet } => packet.head.0,
                    other => panic!("not a packet: {other:?}"),
                })
                .collect()
        }

        #[tokio::test]
        async fn one_capture_serves_every_session_each_with_its_own_packets_only() {
            let (ownership, captures) = relay();
            let mut a = learner(&ownership, &captures);
            let mut b = learner(&ownership, &captures);
            a.capture.follow();
            b.capture.follow();
            assert_eq!(captures.status(), (2, true), "two followers, one task");

            // A program outside the relay, and one datagram to it from each session's port.
            let outside = UdpSocket::bind("127.0.0.1:0").expect("bind");
            outside
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("a timeout");
            send(&a, b"from A", &outside);
            send(&b, b"from B", &outside);

            assert_eq!(heads(&mut a).await, vec![b"from A".to_vec()], "A's only");
            assert_eq!(heads(&mut b).await, vec![b"from B".to_vec()], "B's only");
        }

        #[tokio::test(start_paused = true)]
        async fn the_capture_ends_when_no_session_follows_and_starts_again_on_the_next_call() {
            let (ownership, captures) = relay();
            let a = learner(&ownership, &captures);
            let b = learner(&ownership, &captures);
            a.capture.follow();
            b.capture.follow();
            assert_eq!(captures.status(), (2, true));

            // A session that ended is let go at the next check, the other stays.
            drop(b);
            tokio::time::sleep(CHECK_EVERY * 2).await;
            assert_eq!(captures.status(), (1, true), "B ended; A follows still");

            // A's last socket closes: it is let go after LINGER, and the task ends with it.
            let closed = a.table.lock().drain();
            drop(closed);
            tokio::time::sleep(LINGER / 2).await;
            assert_eq!(
                captures.status(),
                (1, true),
                "within LINGER, for the teardown"
            );
            tokio::time::sleep(LINGER + CHECK_EVERY * 2).await;
            assert_eq!(
                captures.status(),
                (0, false),
                "nobody follows: no packet socket"
            );

            // Without a socket, following starts nothing; with one, a new capture.
            a.capture.follow();
            assert_eq!(captures.status(), (0, false));
            let c = learner(&ownership, &captures);
            c.capture.follow();
            assert_eq!(captures.status(), (1, true));

            // A session that ends says so: the capture stops at once, not at the next check.
            c.capture.end();
            assert_eq!(
                captures.status(),
                (0, false),
                "stopped with its last follower"
            );
        }
    }

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
