//! Which session holds which port: one registry shared by every session of the relay, so that
//! the policy can keep sessions from connecting to, or binding over, each other's ports.
//!
//! A port is recorded from the kernel's answer (getsockname after bind, listen, connect, the
//! first sendto, accept), per socket, keyed by protocol and port number only (so 127.0.0.2:P
//! and 127.0.0.1:P are the same port to the policy: the stricter reading). When a session's
//! last socket on a port lets go of it, the port becomes "released by" that session, which may
//! still connect to it: that is how a learner sees ECONNREFUSED. Everything of a session goes
//! when its [`SessionPorts`] is dropped (the session ended).
//!
//! Several sessions can hold one port at once only when the kernel put them there (outgoing
//! connections may share an ephemeral port); `bind` can never make that happen, because it
//! checks and binds under the registry's lock ([`SessionPorts::locked`]), so two sessions
//! binding the same port at the same moment cannot both pass the check.
//!
//! Memory: per session at most one entry per (protocol, port), so at most 2 x 65536 released
//! entries however long a session binds and closes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use socketlab_shared::{SocketId, SocketType};

use crate::policy::PortOwner;
use crate::sockets::lock;

/// A port as the registry keys it.
type Port = (SocketType, u16);

/// The socket id under which a port the relay holds for a session (its knock door, lesson 18)
/// is recorded: the session's own connects may reach it, other sessions' are refused, and it
/// goes with the session. Beyond every id the socket table hands out (they count up from 1).
pub(crate) const RELAY_HELD: SocketId = SocketId(u32::MAX);

/// The registry of every session's ports.
#[derive(Debug, Default)]
pub(crate) struct Ownership {
    state: Mutex<State>,
    sessions: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Who holds each port, with how many sockets.
    holders: HashMap<Port, HashMap<u64, u32>>,
    /// The port each socket holds now.
    sockets: HashMap<(u64, SocketId), Port>,
    /// Ports a session held and let go of.
    released: HashMap<u64, HashSet<Port>>,
}

impl Ownership {
    /// A new session's view of the registry. Dropping it forgets everything of that session.
    pub(crate) fn session(self: &Arc<Self>) -> SessionPorts {
        SessionPorts {
            registry: self.clone(),
            session: self.sessions.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }
}

/// One session's handle on the registry.
#[derive(Debug)]
pub(crate) struct SessionPorts {
    registry: Arc<Ownership>,
    session: u64,
}

impl SessionPorts {
    /// The registry locked for this session: hold it across a check and the bind it allows.
    pub(crate) fn locked(&self) -> Ports<'_> {
        Ports {
            state: lock(&self.registry.state),
            session: self.session,
        }
    }

    /// Who holds `port` of protocol `kind`, as seen from this session.
    pub(crate) fn owner(&self, kind: SocketType, port: u16) -> PortOwner {
        self.locked().owner(kind, port)
    }

    /// Records the port `socket` holds now (`None` or port 0: none), from the kernel's answer.
    pub(crate) fn record(&self, socket: SocketId, kind: SocketType, port: Option<u16>) {
        self.locked().record(socket, kind, port);
    }
}

impl Drop for SessionPorts {
    fn drop(&mut self) {
        self.end();
    }
}

impl SessionPorts {
    /// The session ended: it holds and held nothing any more. Also done on drop.
    pub(crate) fn end(&self) {
        let mut state = lock(&self.registry.state);
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
        state.released.remove(&session);
    }
}

/// The registry, locked, as one session sees it.
#[derive(Debug)]
pub(crate) struct Ports<'a> {
    state: MutexGuard<'a, State>,
    session: u64,
}

impl Ports<'_> {
    pub(crate) fn owner(&self, kind: SocketType, port: u16) -> PortOwner {
        let key = (kind, port);
        let holders = self.state.holders.get(&key);
        let other = holders.is_some_and(|h| h.keys().any(|s| *s != self.session));
        let mine = holders.is_some_and(|h| h.contains_key(&self.session));
        let released = self
            .state
            .released
            .get(&self.session)
            .is_some_and(|r| r.contains(&key));
        match (other, mine, released) {
            (true, _, _) => PortOwner::OtherSession,
            (false, true, _) => PortOwner::ThisSession,
            (false, false, true) => PortOwner::ReleasedByThisSession,
            (false, false, false) => PortOwner::Nobody,
        }
    }

    pub(crate) fn record(&mut self, socket: SocketId, kind: SocketType, port: Option<u16>) {
        let session = self.session;
        let port = port.filter(|p| *p != 0).map(|p| (kind, p));
        if self.state.sockets.get(&(session, socket)) == port.as_ref() {
            return;
        }
        self.state.release(session, socket);
        if let Some(port) = port {
            self.state.sockets.insert((session, socket), port);
            *self
                .state
                .holders
                .entry(port)
                .or_default()
                .entry(session)
                .or_default() += 1;
        }
    }

    /// The socket no longer holds a port (it was closed).
    pub(crate) fn release(&mut self, socket: SocketId) {
        let session = self.session;
        self.state.release(session, socket);
    }
}

impl State {
    fn release(&mut self, session: u64, socket: SocketId) {
        let Some(port) = self.sockets.remove(&(session, socket)) else {
            return;
        };
        let Some(holders) = self.holders.get_mut(&port) else {
            return;
        };
        if let Some(count) = holders.get_mut(&session) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                holders.remove(&session);
                self.released.entry(session).or_default().insert(port);
            }
        }
        if holders.is_empty() {
            self.holders.remove(&port);
        }
    }
}

impl SessionPorts {
    /// The socket was closed: its port is released.
    pub(crate) fn release(&self, socket: SocketId) {
        self.locked().release(socket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: SocketType = SocketType::Stream;
    const UDP: SocketType = SocketType::Datagram;

    #[test]
    fn a_session_owns_what_it_binds_and_others_see_it_as_taken() {
        let registry = Arc::new(Ownership::default());
        let (a, b) = (registry.session(), registry.session());
        a.record(SocketId(1), TCP, Some(5000));
        assert_eq!(a.owner(TCP, 5000), PortOwner::ThisSession);
        assert_eq!(b.owner(TCP, 5000), PortOwner::OtherSession);
        assert_eq!(b.owner(UDP, 5000), PortOwner::Nobody, "protocols apart");
        assert_eq!(b.owner(TCP, 5001), PortOwner::Nobody);
    }

    #[test]
    fn a_released_port_stays_reachable_for_its_session_only() {
        let registry = Arc::new(Ownership::default());
        let (a, b) = (registry.session(), registry.session());
        a.record(SocketId(1), UDP, Some(6001));
        a.release(SocketId(1));
        assert_eq!(a.owner(UDP, 6001), PortOwner::ReleasedByThisSession);
        assert_eq!(b.owner(UDP, 6001), PortOwner::Nobody);
        // Once another session takes it, it is theirs.
        b.record(SocketId(1), UDP, Some(6001));
        assert_eq!(a.owner(UDP, 6001), PortOwner::OtherSession);
    }

    #[test]
    fn a_port_held_by_two_sockets_is_released_with_the_last() {
        let registry = Arc::new(Ownership::default());
        let a = registry.session();
        a.record(SocketId(1), TCP, Some(7000));
        a.record(SocketId(2), TCP, Some(7000));
        a.release(SocketId(1));
        assert_eq!(a.owner(TCP, 7000), PortOwner::ThisSession);
        a.release(SocketId(2));
        assert_eq!(a.owner(TCP, 7000), PortOwner::ReleasedByThisSession);
    }

    #[test]
    fn recording_a_new_port_lets_go_of_the_old_one() {
        let registry = Arc::new(Ownership::default());
        let (a, b) = (registry.session(), registry.session());
        a.record(SocketId(1), TCP, Some(7100));
        a.record(SocketId(1), TCP, Some(7100));
        a.record(SocketId(1), TCP, None);
        assert_eq!(b.owner(TCP, 7100), PortOwner::Nobody);
        assert_eq!(a.owner(TCP, 7100), PortOwner::ReleasedByThisSession);
    }

    #[test]
    fn an_ended_session_leaves_nothing_behind() {
        let registry = Arc::new(Ownership::default());
        let (a, b) = (registry.session(), registry.session());
        a.record(SocketId(1), TCP, Some(8000));
        a.record(SocketId(2), UDP, Some(8001));
        a.release(SocketId(2));
        drop(a);
        assert_eq!(b.owner(TCP, 8000), PortOwner::Nobody);
        let state = lock(&registry.state);
        assert!(state.holders.is_empty() && state.sockets.is_empty() && state.released.is_empty());
    }
}
