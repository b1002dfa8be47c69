//! The port-knocking lesson: three knock ports shared by every session ([`KnockPorts`]: bound
//! by the relay at start, never listening, so a connect to one is refused by the kernel) and,
//! per session, a door ([`Door`]: a TCP socket bound to its own port, not listening, so closed).
//!
//! A knock is a connect() the relay makes for the session to a knock port: the door hears of
//! every connect of its session as the session's `syscalls::ConnectObserver` (wired up by the
//! session, so the syscall layer knows nothing of knocks), as soon as the kernel has taken the
//! connect and sent its SYN. The session's [`Progress`] advances when it is the
//! next knock of the sequence; any other knock port starts it over (a knock on the first one
//! then counts as the first). Connects elsewhere do not touch it. After the third right knock
//! the relay calls listen() on the door and, for `open_for`, accepts each connection, writes
//! one line and closes it; then it closes the door again with shutdown(SHUT_RD), which on
//! Linux takes a listener back to a bound, non-listening socket on the same port (the door
//! is bound to its port explicitly, so the port stays held; SO_REUSEADDR, on only while it
//! listens, lets it listen again while its greeted connections sit in TIME_WAIT).
//!
//! Only this session's connects reach its progress, so other sessions' knocks (and any other
//! program's) never open its door; the door's port is recorded as this session's in the
//! ownership registry, so the policy refuses other sessions' connects to it. Everything of the
//! door ends with the session ([`Door::close`]).

use crate::isolation::Place;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use socketlab_shared::{KnockDoor, SocketType};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::syscalls::ConnectObserver;

/// How many knocks the sequence has.
pub(crate) const KNOCKS: usize = 3;
/// How long writing the greeting may take (it is one short line to a fresh connection).
const GREET_WAIT: Duration = Duration::from_secs(1);

/// The shared knock ports, as every session's door needs them.
#[derive(Debug, Clone)]
pub(crate) struct KnockPorts {
    knocks: [SocketAddr; KNOCKS],
    open_for: Duration,
    /// Where the knock ports are, and so where each door is made.
    place: Place,
}

impl KnockPorts {
    /// Binds three ports on 127.0.0.1 (kernel's choice, no listen), held until the token is
    /// cancelled.
    pub(super) fn start(
        open_for: Duration,
        place: &Place,
        token: &CancellationToken,
        tracker: &TaskTracker,
    ) -> io::Result<KnockPorts> {
        let mut sockets = Vec::new();
        let mut knocks = [SocketAddr::from((Ipv4Addr::LOCALHOST, 0)); KNOCKS];
        for knock in &mut knocks {
            let socket = place.socket(Domain::IPV4, Type::STREAM)?;
            socket.bind(&SockAddr::from(*knock))?;
            *knock = local(&socket)?;
            sockets.push(socket);
        }
        let token = token.clone();
        tracker.spawn(async move {
            token.cancelled().await;
            drop(sockets);
        });
        Ok(KnockPorts {
            knocks,
            open_for,
            place: place.clone(),
        })
    }

    pub(super) fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.knocks.iter().copied()
    }
}

fn local(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("a socket without an IP address"))
}

/// How far a session got in the knock sequence: the pure part, unit-tested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// How many knocks of the sequence were made in order since the last wrong one.
    pub(crate) done: usize,
}

impl Progress {
    /// A knock on `knock`, the index of a knock port. Returns whether it completed the sequence
    /// (then the progress starts over).
    pub(crate) fn knock(&mut self, knock: usize) -> bool {
        self.done = if knock == self.done {
            self.done + 1
        } else if knock == 0 {
            1
        } else {
            0
        };
        if self.done == KNOCKS {
            self.done = 0;
            return true;
        }
        false
    }
}

/// One session's door.
#[derive(Debug)]
pub(crate) struct Door {
    ports: KnockPorts,
    address: SocketAddr,
    /// Shared with the open door's task, which puts the socket back when it closes the door.
    state: Arc<Shared>,
    /// A child of the session's token: ends the open door's task with the session.
    token: CancellationToken,
    tracker: TaskTracker,
}

/// The door's state, shared by the door and its open task.
#[derive(Debug)]
struct Shared(Mutex<DoorState>);

impl Shared {
    /// Locked, even if a panicking task poisoned it.
    fn lock(&self) -> std::sync::MutexGuard<'_, DoorState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct DoorState {
    progress: Progress,
    /// The door while it is closed; `None` while it is open (its task holds it) and once the
    /// session ended.
    socket: Option<Socket>,
    ended: bool,
}

impl Door {
    /// A new door on a port of the kernel's choice, bound to it explicitly: a probe socket
    /// binds port 0, the kernel names a free port, the probe is closed (it never connected, so
    /// it leaves nothing behind) and the door binds that port by number. The explicit bind is
    /// what keeps the port through shutdown(SHUT_RD) later: Linux lets go of a port bound as
    /// 0 when its listener is taken down. Should another program take the port in between,
    /// the bind says EADDRINUSE and the next probe names another.
    ///
    /// SO_REUSEADDR is on only while the door listens: it lets listen() succeed again while
    /// greeted connections sit in TIME_WAIT on the port (they keep the flag of the listener
    /// they came from), and off while the door is closed, so no other socket, even one with
    /// SO_REUSEADDR, can bind the port and listen there.
    pub(crate) fn new(ports: &KnockPorts, session: &CancellationToken) -> io::Result<Door> {
        let mut tries = 0;
        let (door, address) = loop {
            let probe = ports.place.socket(Domain::IPV4, Type::STREAM)?;
            probe.bind(&SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))?;
            let address = local(&probe)?;
            drop(probe);
            let door = ports.place.socket(Domain::IPV4, Type::STREAM)?;
            door.set_nonblocking(true)?;
            match door.bind(&SockAddr::from(address)) {
                Ok(()) => break (door, address),
                Err(err) if err.kind() == io::ErrorKind::AddrInUse && tries < 8 => tries += 1,
                Err(err) => return Err(err),
            }
        };
        Ok(Door {
            ports: ports.clone(),
            address,
            state: Arc::new(Shared(Mutex::new(DoorState {
                progress: Progress::default(),
                socket: Some(door),
                ended: false,
            }))),
            token: session.child_token(),
            tracker: TaskTracker::new(),
        })
    }

    /// The door's address, which the session holds in the ownership registry.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// The door as `machine` advertises it.
    pub(crate) fn advertise(&self) -> KnockDoor {
        let open_secs = u32::try_from(self.ports.open_for.as_secs()).unwrap_or(u32::MAX);
        let knocks: Vec<String> = self.ports.knocks.iter().map(|k| k.to_string()).collect();
        KnockDoor {
            about: format!(
                "Your own door at {}: closed until this session connects to {} in this order; \
                 then it listens for {open_secs} seconds and greets each connection with one \
                 line. A knock out of order starts the sequence again.",
                self.address,
                knocks.join(", then ")
            ),
            knocks,
            door: self.address.to_string(),
            open_secs,
        }
    }

    /// A connect of this session to `to` went out: a knock if `to` is a knock port (on any
    /// loopback address, as the policy reads ports by number). Opens the door on the last
    /// right one.
    fn knock(&self, to: SocketAddr) {
        let to = crate::policy::normalise(to);
        if !to.ip().is_loopback() {
            return;
        }
        let Some(index) = self.ports.knocks.iter().position(|k| k.port() == to.port()) else {
            return;
        };
        let mut state = self.state.lock();
        let complete = state.progress.knock(index);
        tracing::debug!(knock = index, progress = ?state.progress, complete, "knock");
        if complete {
            self.open(&mut state);
        }
    }

    /// listen() on the door, and a task that greets for `open_for`, then closes it again. A
    /// door already open stays as it is.
    fn open(&self, state: &mut DoorState) {
        let Some(socket) = state.socket.take() else {
            return;
        };
        if let Err(err) = socket
            .set_reuse_address(true)
            .and_then(|()| socket.listen(16))
        {
            tracing::warn!(%err, door = %self.address, "the knock door cannot listen");
            let _ = socket.set_reuse_address(false);
            state.socket = Some(socket);
            return;
        }
        let listener = match TcpListener::from_std(socket.into()) {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(%err, "the knock door cannot be watched; it is gone");
                return;
            }
        };
        tracing::info!(door = %self.address, "the knock door is open");
        let ports: Vec<String> = self
            .ports
            .addresses()
            .map(|a| a.port().to_string())
            .collect();
        let line = format!(
            "door opened by your knock sequence {}: welcome in. It closes again {} s after \
             it opened.\n",
            ports.join(", "),
            self.ports.open_for.as_secs()
        );
        let open = Open {
            listener,
            line,
            until: tokio::time::Instant::now() + self.ports.open_for,
            state: self.state.clone(),
            token: self.token.clone(),
        };
        self.tracker.spawn(open.greet());
    }

    /// The session ended: the door is closed for good (its descriptor too), and its task has
    /// finished when this returns.
    pub(crate) async fn close(&self) {
        {
            let mut state = self.state.lock();
            state.ended = true;
            state.socket = None;
        }
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// An open door.
struct Open {
    listener: TcpListener,
    line: String,
    until: tokio::time::Instant,
    state: Arc<Shared>,
    token: CancellationToken,
}

impl Open {
    /// Greets each connection until `until`, then closes the door again: shutdown(SHUT_RD)
    /// takes the listener back to a bound socket (connections still in its queue are reset),
    /// and the socket goes back into the door's state, unless the session ended meanwhile.
    async fn greet(self) {
        let Open {
            listener,
            line,
            until,
            state,
            token,
        } = self;
        loop {
            let accepted = tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep_until(until) => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((mut stream, peer)) => {
                    tracing::debug!(%peer, "the knock door greets");
                    let greeting =
                        tokio::time::timeout(GREET_WAIT, stream.write_all(line.as_bytes()));
                    if !matches!(greeting.await, Ok(Ok(()))) {
                        tracing::debug!(%peer, "the knock door's greeting did not go out");
                    }
                }
                Err(err) => {
                    tracing::debug!(%err, "the knock door: accept failed");
                    tokio::select! {
                        () = token.cancelled() => return,
                        () = tokio::time::sleep(super::ACCEPT_BACKOFF) => {}
                    }
                }
            }
        }
        let socket = match listener.into_std() {
            Ok(listener) => Socket::from(listener),
            Err(err) => {
                tracing::warn!(%err, "the knock door cannot be closed again; it is gone");
                return;
            }
        };
        let closed = socket
            .shutdown(std::net::Shutdown::Read)
            .and_then(|()| socket.set_reuse_address(false));
        if let Err(err) = closed {
            tracing::warn!(%err, "the knock door cannot stop listening; it is gone");
            return;
        }
        tracing::info!("the knock door is closed again");
        let mut state = state.lock();
        if !state.ended {
            state.socket = Some(socket);
        }
    }
}

/// Told of each connect of the session right after the kernel took it: a knock, if it is TCP
/// and its SYN went out (the kernel answered at once, or said EINPROGRESS or ECONNREFUSED).
impl ConnectObserver for Door {
    fn connect_made(&self, kind: SocketType, to: SocketAddr, result: &io::Result<()>) {
        let sent = match result {
            Ok(()) => true,
            Err(err) => matches!(
                err.raw_os_error(),
                Some(crate::os_codes::CONNECT_BEGUN | crate::os_codes::ECONNREFUSED)
            ),
        };
        if sent && kind == SocketType::Stream {
            self.knock(to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds knocks (knock port indexes) and returns after which ones the door opened.
    fn opened_after(knocks: &[usize]) -> Vec<usize> {
        let mut progress = Progress::default();
        knocks
            .iter()
            .enumerate()
            .filter_map(|(i, k)| progress.knock(*k).then_some(i))
            .collect()
    }

    #[test]
    fn the_door_opens_on_the_three_knocks_in_order_only() {
        assert_eq!(opened_after(&[0, 1, 2]), [2]);
        assert!(opened_after(&[0, 2, 1]).is_empty());
        assert!(opened_after(&[2, 1, 0]).is_empty());
        assert!(
            opened_after(&[0, 1, 1, 2]).is_empty(),
            "a repeat is a wrong knock"
        );
    }

    #[test]
    fn a_wrong_knock_starts_over_and_the_first_port_then_counts_as_first() {
        // 0 1 | 0 1 2: the wrong knock (0 where 2 was due) is the start of a new sequence.
        assert_eq!(opened_after(&[0, 1, 0, 1, 2]), [4]);
        // 0 2 | 1 2: after a wrong knock on 2, knocks 1 and 2 are not a sequence.
        assert!(opened_after(&[0, 2, 1, 2]).is_empty());
        // After opening, it starts over: three more right knocks open it again.
        assert_eq!(opened_after(&[0, 1, 2, 0, 1, 2]), [2, 5]);
    }
}
