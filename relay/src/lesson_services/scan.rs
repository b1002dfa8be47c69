//! The port-scanning lesson's targets: a run of [`RUN`] consecutive ports on 127.0.0.1, all
//! bound by the relay (without SO_REUSEADDR) so nobody else can take them, in three roles the
//! relay shuffles at every start, so the page cannot know them in advance:
//!
//! - open ([`OPEN`] of them): listening; each accepted connection is closed at once, so the
//!   accept queue never fills. A connect succeeds (nmap: `open`, reason `syn-ack`).
//! - closed ([`CLOSED`]): bound but not listening. No listener matches, so the kernel answers a
//!   SYN with RST and connect fails with ECONNREFUSED (`closed`, `conn-refused`).
//! - filtered (one): listening with backlog 0, and the relay itself fills its accept queue
//!   (Linux queues one connection at backlog 0) and never accepts. With the queue full the
//!   kernel drops every new SYN without an answer, so a connect waits while the client resends
//!   its SYN for about two minutes (`filtered`, `no-response`), exactly what a firewall's DROP
//!   looks like to a scanner. The queued connection stays in the queue until accepted, even if
//!   its client end is reset, so the port stays filtered for the relay's life.
//!
//! Idle, all of it is a few sockets in the kernel and three tasks waiting in accept().

use crate::isolation::Place;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use socketlab_shared::{PortRange, ScanTargets};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ACCEPT_BACKOFF;

/// How many ports the run has.
pub(crate) const RUN: u16 = 8;
/// How many of them are open.
pub(crate) const OPEN: usize = 3;
/// How many are closed (the one left is filtered).
pub(crate) const CLOSED: usize = 4;
/// Where a run may start: below Linux's usual ephemeral range (32768 up), so the kernel's
/// choice of client ports seldom competes with it.
const FIRST_BASE: u16 = 20_000;
const LAST_BASE: u16 = 32_000 - RUN;
/// How many random bases to try before giving up.
const TRIES: usize = 64;
/// How long a filler connect may take before the relay concludes its SYN was dropped, i.e.
/// the queue is full. On loopback a queued connect completes in microseconds.
const FILL_WAIT: Duration = Duration::from_secs(1);
/// At most this many fillers (Linux needs one at backlog 0; a kernel that queued more would
/// still end up full).
const MAX_FILLERS: usize = 4;

/// What one port of the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Open,
    Closed,
    Filtered,
}

/// A random number from the OS-seeded keys of std's hasher: good enough to shuffle the roles
/// and pick a base, which hide nothing secret.
fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

/// The roles of the run's ports in order: [`OPEN`] open, [`CLOSED`] closed and one filtered,
/// shuffled (Fisher-Yates) with `random`.
pub(crate) fn roles(mut random: impl FnMut() -> u64) -> [Role; RUN as usize] {
    let mut roles = [Role::Closed; RUN as usize];
    roles[..OPEN].fill(Role::Open);
    roles[OPEN + CLOSED] = Role::Filtered;
    for i in (1..roles.len()).rev() {
        let j = usize::try_from(random() % (i as u64 + 1)).unwrap_or(0);
        roles.swap(i, j);
    }
    roles
}

/// Binds and starts the targets. `None` (logged) when no free run was found.
pub(super) async fn start(
    place: &Place,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> Option<(ScanTargets, Vec<SocketAddr>)> {
    let (first, sockets) = match find_run(place, random) {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(%err, "no free run of ports for the scan targets");
            return None;
        }
    };
    let last = first + (RUN - 1);
    let roles = roles(random);
    tracing::debug!(first, ?roles, "scan targets");
    let mut held = Vec::new();
    let mut filtered = None;
    for (socket, role) in sockets.into_iter().zip(roles) {
        match role {
            Role::Closed => held.push(socket),
            Role::Open => match open(socket) {
                Ok(listener) => {
                    tracker.spawn(close_each(listener, token.clone()));
                }
                Err(err) => tracing::warn!(%err, "a scan target cannot listen"),
            },
            Role::Filtered => {
                let address = socket.local_addr().ok().and_then(|a| a.as_socket());
                match (socket.listen(0), address) {
                    (Ok(()), Some(address)) => filtered = Some((socket, address)),
                    (result, _) => tracing::warn!(?result, "the filtered scan target failed"),
                }
            }
        }
    }
    // The first filler is in the queue before any session can connect; the rest of the fill
    // (the check that one more is not answered) goes on in the background.
    let mut fillers = Vec::new();
    if let Some((_, address)) = &filtered {
        match tokio::time::timeout(FILL_WAIT, place.connect(*address)).await {
            Ok(Ok(filler)) => fillers.push(filler),
            other => tracing::warn!(?other, "the first filler of the filtered target failed"),
        }
    }
    let token = token.clone();
    let place = place.clone();
    tracker.spawn(async move {
        if let Some((_, address)) = &filtered {
            tokio::select! {
                () = token.cancelled() => return,
                () = fill(&place, *address, &mut fillers) => {}
            }
        }
        // Held until the relay stops: the closed ports, the filtered listener, its fillers.
        token.cancelled().await;
        drop((held, filtered, fillers));
    });
    let targets = ScanTargets {
        host: Ipv4Addr::LOCALHOST.to_string(),
        ports: PortRange { first, last },
        about: format!(
            "Eight ports in a row on 127.0.0.1, {first} to {last}, that the relay holds for the \
             port-scanning lesson: some open, some closed, one filtered. Which is which is yours \
             to find out."
        ),
    };
    let addresses = (first..=last).map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    Some((targets, addresses.collect()))
}

/// Tries random bases until all [`RUN`] ports of one are bound.
fn find_run(place: &Place, mut random: impl FnMut() -> u64) -> io::Result<(u16, Vec<Socket>)> {
    let span = u64::from(LAST_BASE - FIRST_BASE) + 1;
    let mut last_error = io::Error::from(io::ErrorKind::AddrInUse);
    for _ in 0..TRIES {
        let base = FIRST_BASE + u16::try_from(random() % span).unwrap_or(0);
        match bind_run(place, base) {
            Ok(sockets) => return Ok((base, sockets)),
            Err(err) if err.kind() == io::ErrorKind::AddrInUse => last_error = err,
            Err(err) => return Err(err),
        }
    }
    Err(last_error)
}

/// Binds 127.0.0.1:base .. base+RUN-1, each without SO_REUSEADDR, so no other socket can
/// share them. Any failure drops (closes) those already bound.
fn bind_run(place: &Place, base: u16) -> io::Result<Vec<Socket>> {
    (0..RUN)
        .map(|offset| {
            let socket = place.socket(Domain::IPV4, Type::STREAM)?;
            socket.set_nonblocking(true)?;
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, base + offset));
            socket.bind(&SockAddr::from(address))?;
            Ok(socket)
        })
        .collect()
}

fn open(socket: Socket) -> io::Result<TcpListener> {
    socket.listen(64)?;
    TcpListener::from_std(socket.into())
}

/// An open target: accepts each connection and closes it at once.
async fn close_each(listener: TcpListener, token: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        if let Err(err) = accepted {
            tracing::debug!(%err, "scan target: accept failed");
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
            }
        }
    }
}

/// Connects fillers to the filtered target until one is not answered within [`FILL_WAIT`]:
/// then the queue is full (that last attempt is dropped, which closes its socket).
async fn fill(place: &Place, address: SocketAddr, fillers: &mut Vec<TcpStream>) {
    while fillers.len() < MAX_FILLERS {
        match tokio::time::timeout(FILL_WAIT, place.connect(address)).await {
            Ok(Ok(filler)) => fillers.push(filler),
            Err(_) => {
                tracing::debug!(
                    fillers = fillers.len(),
                    "the filtered target's queue is full"
                );
                return;
            }
            Ok(Err(err)) => {
                tracing::warn!(%err, "a filler of the filtered target failed");
                return;
            }
        }
    }
    tracing::warn!("the filtered target still answers after {MAX_FILLERS} fillers");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shuffle_has_three_open_four_closed_and_one_filtered() {
        let mut seed = 0u64;
        let mut filtered_at = std::collections::BTreeSet::new();
        for _ in 0..200 {
            // A simple LCG stands in for the OS's randomness, so the test is repeatable.
            let roles = roles(|| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                seed >> 33
            });
            let count = |role| roles.iter().filter(|r| **r == role).count();
            assert_eq!(
                (
                    count(Role::Open),
                    count(Role::Closed),
                    count(Role::Filtered)
                ),
                (OPEN, CLOSED, 1)
            );
            filtered_at.insert(roles.iter().position(|r| *r == Role::Filtered));
        }
        assert_eq!(
            filtered_at.len(),
            RUN as usize,
            "the filtered port moves around"
        );
    }

    /// Whether a connect to `address` is still unanswered after 1.5 s: the kernel dropped its
    /// SYN (and would resend it for two minutes). The wait is meant to run out.
    async fn unanswered(address: SocketAddr) -> bool {
        tokio::time::timeout(Duration::from_millis(1500), TcpStream::connect(address))
            .await
            .is_err()
    }

    #[tokio::test]
    async fn the_filtered_target_stays_silent_even_after_its_fillers_are_reset() {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket
            .bind(&SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
            .unwrap();
        socket.listen(0).unwrap();
        let address = socket.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        fill(&Place::default(), address, &mut fillers).await;
        assert!(!fillers.is_empty(), "at least one connection is queued");
        assert!(unanswered(address).await, "a full queue drops the SYN");
        // The fillers end with a reset (SO_LINGER 0): their queued connections stay in the
        // queue until accept(), which never comes, so the queue stays full.
        for filler in fillers {
            socket2::SockRef::from(&filler)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(filler);
        }
        assert!(
            unanswered(address).await,
            "still full after its fillers are gone"
        );
    }

    #[test]
    fn a_run_is_bound_whole_and_exclusively() {
        let (base, sockets) = find_run(&Place::default(), random).unwrap();
        assert!((FIRST_BASE..=LAST_BASE).contains(&base));
        assert_eq!(sockets.len(), RUN as usize);
        for offset in 0..RUN {
            let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, base + offset));
            assert!(taken.is_err(), "port {} is held", base + offset);
        }
        // A base whose ports are taken fails as a whole with EADDRINUSE.
        let again = bind_run(&Place::default(), base).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AddrInUse);
    }
}
