//! The session's sockets as the kernel's successful replies describe them, replayed call by call:
//! what each exercise check asks about (which sockets are open, listening, connected, which were
//! accepted, their kind, addresses and descriptor numbers) "at the moment" each reply arrived.

use std::collections::BTreeMap;

use socketlab_shared::{Done, Outcome, SocketId, SocketType};

use crate::session::transcript::Answered;

/// One socket of the session, as the kernel's successful replies describe it.
#[derive(Debug, Clone, Default)]
pub(super) struct Sock {
    pub(super) kind: Option<SocketType>,
    pub(super) fd: i32,
    pub(super) local: Option<String>,
    pub(super) peer: Option<String>,
    pub(super) listening: bool,
    pub(super) open: bool,
    /// Made by accept() (a server's end), not by socket().
    pub(super) accepted: bool,
}

/// The session's sockets after each reply. A new relay session starts an empty model.
#[derive(Debug, Default)]
pub(super) struct Model {
    pub(super) session: usize,
    pub(super) sockets: BTreeMap<SocketId, Sock>,
}

impl Model {
    pub(super) fn apply(&mut self, call: &Answered<'_>) {
        if call.session != self.session {
            self.session = call.session;
            self.sockets.clear();
        }
        let Outcome::Ok(done) = call.outcome else {
            return;
        };
        let target = call.op.socket();
        match done {
            Done::Socket {
                socket, fd, kind, ..
            } => {
                self.sockets.insert(
                    *socket,
                    Sock {
                        kind: Some(*kind),
                        fd: *fd,
                        open: true,
                        ..Sock::default()
                    },
                );
            }
            Done::Accept {
                socket,
                fd,
                local,
                peer,
            } => {
                self.sockets.insert(
                    *socket,
                    Sock {
                        kind: Some(SocketType::Stream),
                        fd: *fd,
                        local: Some(local.clone()),
                        peer: Some(peer.clone()),
                        listening: false,
                        open: true,
                        accepted: true,
                    },
                );
            }
            _ => {
                let Some(sock) = target.and_then(|id| self.sockets.get_mut(&id)) else {
                    return;
                };
                match done {
                    Done::Bind { local } => sock.local = Some(local.clone()),
                    Done::Listen { local } => {
                        sock.local = Some(local.clone());
                        sock.listening = true;
                    }
                    Done::Connect { local, peer } => {
                        sock.local = Some(local.clone());
                        sock.peer = Some(peer.clone());
                    }
                    Done::Sendto { local, .. } => sock.local = Some(local.clone()),
                    Done::Close => {
                        sock.open = false;
                        sock.listening = false;
                    }
                    _ => {}
                }
            }
        }
    }

    pub(super) fn get(&self, id: SocketId) -> Option<&Sock> {
        self.sockets.get(&id)
    }
}
