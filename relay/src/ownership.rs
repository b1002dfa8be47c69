//! Which session holds which endpoint: one registry shared by every session of the relay, so
//! that the policy can keep sessions from connecting to, binding over, or capturing each
//! other's sockets, and can tell a session's own sockets from programs outside the relay.
//!
//! The key is what the kernel keys a port on: the protocol and the **address the socket
//! holds**, with the kernel's own wildcard and dual-stack rules ([`Endpoint::covers`] for
//! where a connection or datagram lands, [`Endpoint::overlaps`] for what two binds share). So
//! a session that binds `[::1]:P` holds `[::1]:P` only: `127.0.0.1:P` stays whoever's it was,
//! and `0.0.0.0:P` covers every IPv4 address of the machine. An endpoint is recorded from the
//! kernel's answer (getsockname after bind, listen, connect, the first sendto, accept), with
//! the socket's IPV6_V6ONLY and its inode, so the outside-program check (`outside`) can tell
//! the relay's sessions' sockets from everyone else's.
//!
//! When a socket lets go of its endpoint (close), the endpoint becomes "released by" its
//! session, which may still connect to it (that is how a learner sees ECONNREFUSED) while no
//! one else holds it: `checkpoint` asks the kernel's tables before allowing that. A session
//! keeps at most [`MAX_RELEASED`](crate::limits::MAX_RELEASED) released endpoints, the
//! oldest forgotten first, so a sweep of bind+close over the port range leaves almost nothing
//! behind. Everything of a session goes when its [`SessionPorts`] is dropped (the session
//! ended).
//!
//! Several sessions can hold overlapping endpoints at once only when the kernel put them there
//! (outgoing connections may share an ephemeral port); `bind` can never make that happen,
//! because it checks and binds under the registry's lock ([`SessionPorts::locked`]), and so
//! do connect and sendto, so no bind of another session can slip between a destination's
//! check and the syscall it allowed.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use socketlab_shared::{SocketId, SocketType};

use crate::limits::MAX_RELEASED;
use crate::policy::{self, PortOwner};

/// The socket id under which a port the relay holds for a session (its knock door, lesson 19)
/// is recorded: the session's own connects may reach it, other sessions' are refused, and it
/// goes with the session. Beyond every id the socket table hands out (they count up from 1).
pub(crate) const RELAY_HELD: SocketId = SocketId(u32::MAX);

/// What one socket holds in the kernel: its protocol and local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Endpoint {
    pub(crate) kind: SocketType,
    /// The local address, IPv4-mapped IPv6 as plain IPv4 (a dual-stack socket bound to
    /// `::ffff:127.0.0.1` holds 127.0.0.1 for the kernel too).
    pub(crate) address: SocketAddr,
    /// For the IPv6 wildcard `[::]`: whether IPV6_V6ONLY keeps IPv4 out. Ignored otherwise.
    pub(crate) v6only: bool,
}

impl Endpoint {
    pub(crate) fn new(kind: SocketType, address: SocketAddr, v6only: bool) -> Self {
        Endpoint {
            kind,
            address: policy::normalise(address),
            v6only,
        }
    }

    /// Whether a connection or datagram of protocol `kind` sent to `to` lands on a socket
    /// bound here. `to` is a destination as the kernel routes it (`policy::destination`:
    /// normalised, the unspecified address as loopback), and `this_machine` says whether it
    /// is one of this machine's addresses: a wildcard covers exactly those.
    pub(crate) fn covers(&self, kind: SocketType, to: SocketAddr, this_machine: bool) -> bool {
        if self.kind != kind || self.address.port() != to.port() {
            return false;
        }
        let to_ip = policy::normalise(to).ip();
        match self.address.ip() {
            ip if ip == to_ip => true,
            IpAddr::V4(ip) if ip.is_unspecified() => to_ip.is_ipv4() && this_machine,
            IpAddr::V6(ip) if ip.is_unspecified() => {
                (to_ip.is_ipv6() || !self.v6only) && this_machine
            }
            _ => false,
        }
    }

    /// Whether two sockets bound at these endpoints would share traffic: the same protocol
    /// and port, and the same address, or a wildcard that includes the other's address (the
    /// IPv6 wildcard includes IPv4 unless IPV6_V6ONLY).
    pub(crate) fn overlaps(&self, other: &Endpoint) -> bool {
        if self.kind != other.kind || self.address.port() != other.address.port() {
            return false;
        }
        let includes = |wide: &Endpoint, narrow: &Endpoint| match wide.address.ip() {
            IpAddr::V4(ip) => ip.is_unspecified() && narrow.address.is_ipv4(),
            IpAddr::V6(ip) => ip.is_unspecified() && (narrow.address.is_ipv6() || !wide.v6only),
        };
        self.address.ip() == other.address.ip() || includes(self, other) || includes(other, self)
    }
}

/// What a socket holds, as recorded: its endpoint and its inode (how the kernel's tables name
/// it), when fstat could read one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Holding {
    pub(crate) endpoint: Endpoint,
    pub(crate) inode: Option<u64>,
}

/// The registry of every session's endpoints.
#[derive(Debug, Default)]
pub(crate) struct Ownership {
    state: Mutex<State>,
    sessions: AtomicU64,
}

/// A port as the index keys it: what one bucket of the kernel's bind table holds.
type Port = (SocketType, u16);

#[derive(Debug)]
struct Holder {
    session: u64,
    socket: SocketId,
    holding: Holding,
}

#[derive(Debug, Default)]
struct State {
    /// Who holds what on each (protocol, port).
    by_port: HashMap<Port, Vec<Holder>>,
    /// The port each socket holds now, to find it in `by_port`.
    sockets: HashMap<(u64, SocketId), Port>,
    /// Per session, the endpoints it let go of, oldest first, at most `MAX_RELEASED`.
    released: HashMap<u64, VecDeque<(Endpoint, Instant)>>,
    /// The sessions in `released` by port, once per released endpoint: which sessions' scopes
    /// a packet on a port may be in, without going through every session ([`Everyone`]).
    released_on: HashMap<Port, Vec<u64>>,
}

impl Ownership {
    /// The registry's state, locked (even if a panicking task poisoned it).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session's view of the registry. Dropping it forgets everything of that session.
    pub(crate) fn session(self: &Arc<Self>) -> SessionPorts {
        SessionPorts {
            registry: self.clone(),
            session: self.sessions.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// The registry locked, to ask about every session at once: whose a packet is (the
    /// relay's one packet capture serves every session).
    pub(crate) fn everyone(&self) -> Everyone<'_> {
        Everyone(Ports {
            state: self.lock(),
            // Session numbers count from 1: until `as_seen_by`, the view is no session's.
            session: 0,
        })
    }
}

/// The registry locked, seen by any session in turn.
#[derive(Debug)]
pub(crate) struct Everyone<'a>(Ports<'a>);

impl<'a> Everyone<'a> {
    /// The sessions that hold or released an endpoint of protocol `kind` on `port`, at any
    /// address: the only sessions whose scope a packet on that port can be in. A session may
    /// be named more than once.
    pub(crate) fn on_port(&self, kind: SocketType, port: u16) -> impl Iterator<Item = u64> + '_ {
        let state = &self.0.state;
        let holding = state.by_port.get(&(kind, port)).into_iter().flatten();
        let released = state.released_on.get(&(kind, port)).into_iter().flatten();
        holding.map(|h| h.session).chain(released.copied())
    }

    /// The registry as `session` sees it (what [`SessionPorts::locked`] gives that session).
    pub(crate) fn as_seen_by(&mut self, session: u64) -> &Ports<'a> {
        self.0.session = session;
        &self.0
    }
}

/// One session's handle on the registry.
#[derive(Debug)]
pub(crate) struct SessionPorts {
    registry: Arc<Ownership>,
    session: u64,
}

impl SessionPorts {
    /// The registry locked for this session: hold it across a check and the syscall it allows.
    pub(crate) fn locked(&self) -> Ports<'_> {
        Ports {
            state: self.registry.lock(),
            session: self.session,
        }
    }

    /// The registry locked for this session if no one holds the lock now (for tests of who
    /// holds it when).
    #[cfg(test)]
    pub(crate) fn try_locked(&self) -> Option<Ports<'_>> {
        Some(Ports {
            state: self.registry.state.try_lock().ok()?,
            session: self.session,
        })
    }

    /// Records what `socket` holds now (`None`: nothing), from the kernel's answer.
    pub(crate) fn record(&self, socket: SocketId, holding: Option<Holding>) {
        self.locked().record(socket, holding);
    }

    /// The socket was closed: its endpoint is released.
    pub(crate) fn release(&self, socket: SocketId) {
        self.locked().release(socket);
    }

    /// The session's number in the registry, as [`Everyone::on_port`] names it.
    pub(crate) fn id(&self) -> u64 {
        self.session
    }

    /// The session ended: it holds and held nothing any more. Also done on drop.
    pub(crate) fn end(&self) {
        let mut state = self.registry.lock();
        let session = self.session;
        let mine: Vec<SocketId> = state
            .sockets
            .keys()
            .filter(|(s, _)| *s == session)
            .map(|(_, id)| *id)
            .collect();
        for socket in mine {
            state.release(session, socket);
        }
        for (endpoint, _) in state.released.remove(&session).unwrap_or_default() {
            state.unindex_released(session, &endpoint);
        }
    }
}

impl Drop for SessionPorts {
    fn drop(&mut self) {
        self.end();
    }
}

/// The registry, locked, as one session sees it.
#[derive(Debug)]
pub(crate) struct Ports<'a> {
    state: MutexGuard<'a, State>,
    session: u64,
}

impl Ports<'_> {
    /// Who a connection or datagram to `to` would reach, as far as the relay's sessions go
    /// (`to` and `this_machine` as for [`Endpoint::covers`]). A released endpoint counts only
    /// if it was released within `released_within` (`None`: however long ago).
    pub(crate) fn reached(
        &self,
        kind: SocketType,
        to: SocketAddr,
        this_machine: bool,
        released_within: Option<Duration>,
    ) -> PortOwner {
        let covering = self
            .holders(kind, to.port())
            .filter(|h| h.holding.endpoint.covers(kind, to, this_machine));
        if let Some(held) = self.held_by(covering) {
            return held;
        }
        let released = self.released().any(|(endpoint, at)| {
            endpoint.covers(kind, to, this_machine)
                && released_within.is_none_or(|within| at.elapsed() <= within)
        });
        if released {
            PortOwner::ReleasedByThisSession
        } else {
            PortOwner::Nobody
        }
    }

    /// Whether this session holds, or released, an endpoint of protocol `kind` on `port`, at
    /// any address.
    pub(crate) fn has_number(&self, kind: SocketType, port: u16) -> bool {
        self.holders(kind, port).any(|h| h.session == self.session)
            || self
                .released()
                .any(|(e, _)| e.kind == kind && e.address.port() == port)
    }

    /// Who holds an endpoint that a bind at `endpoint` would share (overlap) with.
    pub(crate) fn bound(&self, endpoint: &Endpoint) -> PortOwner {
        let overlapping = self
            .holders(endpoint.kind, endpoint.address.port())
            .filter(|h| h.holding.endpoint.overlaps(endpoint));
        self.held_by(overlapping).unwrap_or(PortOwner::Nobody)
    }

    /// Another session if any of `holders` is another session's, else this one if any.
    fn held_by<'h>(&self, holders: impl Iterator<Item = &'h Holder>) -> Option<PortOwner> {
        let mut owner = None;
        for holder in holders {
            if holder.session != self.session {
                return Some(PortOwner::OtherSession);
            }
            owner = Some(PortOwner::ThisSession);
        }
        owner
    }

    /// Whether `inode` is a socket some session of the relay holds on (`kind`, `port`): such a
    /// row of the kernel's tables is not an outside program.
    pub(crate) fn is_sessions(&self, kind: SocketType, port: u16, inode: u64) -> bool {
        self.holders(kind, port)
            .any(|h| h.holding.inode == Some(inode))
    }

    /// Whether a session of the relay holds exactly `local` for protocol `kind`: for a table
    /// of the kernel that shows no inodes (macOS's netstat), the one way to tell its row apart.
    pub(crate) fn is_sessions_at(&self, kind: SocketType, local: SocketAddr) -> bool {
        let local = crate::policy::normalise(local);
        self.holders(kind, local.port())
            .any(|h| crate::policy::normalise(h.holding.endpoint.address) == local)
    }

    fn holders(&self, kind: SocketType, port: u16) -> impl Iterator<Item = &Holder> + '_ {
        self.state.by_port.get(&(kind, port)).into_iter().flatten()
    }

    fn released(&self) -> impl Iterator<Item = &(Endpoint, Instant)> + '_ {
        self.state.released.get(&self.session).into_iter().flatten()
    }

    pub(crate) fn record(&mut self, socket: SocketId, holding: Option<Holding>) {
        let session = self.session;
        let holding = holding.filter(|h| h.endpoint.address.port() != 0);
        if self.state.holding(session, socket) == holding {
            return;
        }
        self.state.release(session, socket);
        if let Some(holding) = holding {
            let port = (holding.endpoint.kind, holding.endpoint.address.port());
            self.state.sockets.insert((session, socket), port);
            self.state.by_port.entry(port).or_default().push(Holder {
                session,
                socket,
                holding,
            });
        }
    }

    /// The socket no longer holds anything (it was closed).
    pub(crate) fn release(&mut self, socket: SocketId) {
        let session = self.session;
        self.state.release(session, socket);
    }
}

impl State {
    fn holding(&self, session: u64, socket: SocketId) -> Option<Holding> {
        let port = self.sockets.get(&(session, socket))?;
        self.by_port
            .get(port)?
            .iter()
            .find(|h| h.session == session && h.socket == socket)
            .map(|h| h.holding)
    }

    fn release(&mut self, session: u64, socket: SocketId) {
        let Some(port) = self.sockets.remove(&(session, socket)) else {
            return;
        };
        let Some(holders) = self.by_port.get_mut(&port) else {
            return;
        };
        let Some(index) = holders
            .iter()
            .position(|h| h.session == session && h.socket == socket)
        else {
            return;
        };
        let endpoint = holders.swap_remove(index).holding.endpoint;
        let still_held = holders
            .iter()
            .any(|h| h.session == session && h.holding.endpoint == endpoint);
        if holders.is_empty() {
            self.by_port.remove(&port);
        }
        if still_held {
            return;
        }
        let released = self.released.entry(session).or_default();
        let before = released.len();
        released.retain(|(e, _)| *e != endpoint);
        // Released again: it keeps its one entry in the index and moves to the back.
        let again = released.len() < before;
        let forgotten = if released.len() >= MAX_RELEASED {
            released.pop_front()
        } else {
            None
        };
        released.push_back((endpoint, Instant::now()));
        if let Some((oldest, _)) = forgotten {
            self.unindex_released(session, &oldest);
        }
        if !again {
            self.released_on
                .entry((endpoint.kind, endpoint.address.port()))
                .or_default()
                .push(session);
        }
    }

    /// Takes one entry of `session` for `endpoint` out of `released_on`.
    fn unindex_released(&mut self, session: u64, endpoint: &Endpoint) {
        let port = (endpoint.kind, endpoint.address.port());
        let Some(sessions) = self.released_on.get_mut(&port) else {
            return;
        };
        if let Some(index) = sessions.iter().position(|s| *s == session) {
            sessions.swap_remove(index);
        }
        if sessions.is_empty() {
            self.released_on.remove(&port);
        }
    }
}

#[cfg(test)]
#[path = "ownership_tests.rs"]
mod tests;
