//! What the page knows about one socket (`SocketView`: id, fd, family, type, lifecycle state,
//! local, peer, role, accepted children, the last successful call, the last result of each call,
//! event flags) and where it is shown (`Panel`, `Slot`, `Role`, `CallResult`): plain data that the
//! session reducer fills from replies and events.

use std::collections::BTreeMap;

use socketlab_shared::{Family, Path, SocketId, SocketState, SocketType, Syscall};

/// Which panel a `socket()` call fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Server,
    Client,
    /// A panel of its own, added by "+ add socket".
    New,
}

/// What a socket is for, as the lab names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
    /// Returned by `accept()` on the listening socket `from`.
    Accepted {
        from: SocketId,
    },
    /// Added with "+ add socket".
    Extra,
}

/// One panel of the lab: the two fixed ones exist before their socket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Panel {
    pub(crate) slot: Slot,
    pub(crate) socket: Option<SocketId>,
}

/// The last reply to one syscall on a socket, in words, for its row in the panel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallResult {
    pub(crate) ok: bool,
    pub(crate) text: String,
}

/// Everything the page knows about one socket, all of it from real replies and events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SocketView {
    pub(crate) id: SocketId,
    pub(crate) fd: i32,
    pub(crate) family: Family,
    pub(crate) kind: SocketType,
    pub(crate) state: SocketState,
    pub(crate) local: Option<String>,
    pub(crate) peer: Option<String>,
    pub(crate) role: Role,
    pub(crate) has_listened: bool,
    /// The last syscall that succeeded on it, which places it on its lifecycle diagram.
    pub(crate) last_ok: Option<Syscall>,
    /// Sockets that `accept()` on this one created, oldest first.
    pub(crate) accepted: Vec<SocketId>,
    /// Bytes waiting in the receive queue, from the last `data_waiting` event.
    pub(crate) data_waiting: Option<u32>,
    /// A connection waits in the accept queue (`connection_waiting` event).
    pub(crate) connection_waiting: bool,
    pub(crate) peer_closed_seen: bool,
    pub(crate) results: BTreeMap<Syscall, CallResult>,
}

impl SocketView {
    /// The lifecycle this socket is drawn on: its role decides where its calls cannot yet.
    pub(crate) fn path(&self) -> Path {
        match (self.kind, self.role) {
            (SocketType::Datagram, _) => Path::Datagram,
            (SocketType::Stream, Role::Accepted { .. }) => Path::Accepted,
            (SocketType::Stream, Role::Server) => Path::Server,
            (SocketType::Stream, Role::Client) if !self.has_listened => Path::Client,
            _ => Path::of(self.kind, false, self.has_listened, self.state),
        }
    }

    /// "server", "client", "accepted from s1", "socket s4".
    pub(crate) fn role_label(&self) -> String {
        match self.role {
            Role::Server => "server".into(),
            Role::Client => "client".into(),
            Role::Accepted { from } => format!("accepted from {from}"),
            Role::Extra => format!("socket {}", self.id),
        }
    }

    /// "tcp/v4", as a short `ss` column.
    pub(crate) fn type_label(&self) -> String {
        let v = match self.family {
            Family::Ipv4 => "v4",
            Family::Ipv6 => "v6",
        };
        format!("{}/{v}", self.kind.protocol())
    }
}

/// A socket as `socket()` or `accept()` returned it: fresh, no addresses yet.
pub(crate) fn new_view(
    id: SocketId,
    fd: i32,
    family: Family,
    kind: SocketType,
    role: Role,
) -> SocketView {
    SocketView {
        id,
        fd,
        family,
        kind,
        state: SocketState::Fresh,
        local: None,
        peer: None,
        role,
        has_listened: false,
        last_ok: Some(Syscall::Socket),
        accepted: Vec::new(),
        data_waiting: None,
        connection_waiting: false,
        peer_closed_seen: false,
        results: BTreeMap::new(),
    }
}
