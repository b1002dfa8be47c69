//! The reducer's answers to the relay: a call's one reply (success, errno, invalid, cancelled,
//! refused), updating the socket views and their panels, and an event about a socket. Part of
//! `session`, split out to keep each file to one concern; the state is `Session`'s.

use socketlab_shared::{CallId, Done, Event, Outcome, SocketId, SocketState, Syscall};

use crate::session::narration;
use crate::session::socket_view::new_view;
use crate::session::{CallResult, LogKind, Millis, Panel, Pending, Role, Session, Slot};

impl Session {
    pub(super) fn reply(&mut self, id: CallId, outcome: Outcome, at: Millis) {
        let Some(call) = self.pending.remove(&id) else {
            let headline = format!("A reply to call {id}, which this page is not waiting for");
            self.push(at, LogKind::Error, Some(id), None, headline, None, None);
            return;
        };
        let syscall = call.op.syscall();
        let took = at - call.at;
        match outcome {
            Outcome::Ok(done) => self.ok(id, &call, done, at, took),
            Outcome::Error(err) => {
                let headline = format!(
                    "{syscall}() failed: {} ({}, {})",
                    err.errno, err.code, err.message
                );
                // The numbers are the relay's platform's own; say what the others call it.
                let os = match &self.link {
                    crate::session::Link::Live { os, .. } => os.as_str(),
                    _ => "",
                };
                let detail = match socketlab_shared::errno::elsewhere(&err.errno, os) {
                    Some(others) => format!("{} Elsewhere: {others}", err.explanation),
                    None => err.explanation,
                };
                self.failed(id, &call, LogKind::Error, headline, Some(detail), at);
            }
            Outcome::Invalid { reason } => {
                let headline = format!("{syscall}() was not made: {reason}");
                self.failed(id, &call, LogKind::Error, headline, None, at);
            }
            Outcome::Cancelled { reason } => {
                let headline = format!("{syscall}() was cancelled: {reason}");
                self.failed(id, &call, LogKind::Error, headline, None, at);
            }
            Outcome::Refused { rule, reason } => {
                let headline = narration::refused(syscall, &rule);
                self.failed(id, &call, LogKind::Refused, headline, Some(reason), at);
            }
        }
    }

    fn failed(
        &mut self,
        id: CallId,
        call: &Pending,
        kind: LogKind,
        headline: String,
        detail: Option<String>,
        at: Millis,
    ) {
        let socket = call.op.socket();
        if let Some(view) = socket.and_then(|s| self.sockets.get_mut(&s)) {
            // A failed call leaves the socket as it was (a failed connect is no longer connecting).
            if let Some(before) = call.state_before
                && view.state == SocketState::Connecting
                && call.op.syscall() == Syscall::Connect
            {
                view.state = before;
            }
            let mut text = headline.clone();
            if let Some(detail) = &detail {
                text = format!("{text} — {detail}");
            }
            view.results
                .insert(call.op.syscall(), CallResult { ok: false, text });
        }
        self.push(at, kind, Some(id), socket, headline, detail, None);
    }

    fn ok(&mut self, id: CallId, call: &Pending, done: Done, at: Millis, took: Millis) {
        let syscall = call.op.syscall();
        let mut socket = call.op.socket();
        let text = narration::result(&call.op, &done);
        let mut data = None;
        match &done {
            Done::Socket {
                socket: new,
                fd,
                family,
                kind,
            } => {
                socket = Some(*new);
                let slot = call.slot.unwrap_or(Slot::New);
                let role = match slot {
                    Slot::Server => Role::Server,
                    Slot::Client => Role::Client,
                    Slot::New => Role::Extra,
                };
                let mut view = new_view(*new, *fd, *family, *kind, role);
                view.results.insert(
                    Syscall::Socket,
                    CallResult {
                        ok: true,
                        text: text.clone(),
                    },
                );
                self.sockets.insert(*new, view);
                // A socket a lesson widget made (a scan probe, a pool client) has no panel: it
                // shows in the table and the log, and the widget shows its results.
                if call.slot.is_some() {
                    self.place(slot, *new);
                }
            }
            Done::Accept {
                socket: new,
                fd,
                local,
                peer,
            } => {
                if let Some(from) = socket.and_then(|s| self.sockets.get(&s)).cloned() {
                    let mut view = new_view(
                        *new,
                        *fd,
                        from.family,
                        from.kind,
                        Role::Accepted { from: from.id },
                    );
                    view.state = SocketState::Connected;
                    view.local = Some(local.clone());
                    view.peer = Some(peer.clone());
                    view.last_ok = Some(Syscall::Accept);
                    self.sockets.insert(*new, view);
                    self.panels.push(Panel {
                        slot: Slot::New,
                        socket: Some(*new),
                    });
                }
            }
            Done::Recv { data: d } | Done::Recvfrom { data: d, .. } => data = Some(d.clone()),
            _ => {}
        }
        if let Some(view) = socket.and_then(|s| self.sockets.get_mut(&s)) {
            if syscall != Syscall::Socket {
                view.state = view.state.after(view.kind, &done);
            }
            view.last_ok = Some(syscall);
            match &done {
                Done::Bind { local } | Done::Listen { local } | Done::Sendto { local, .. } => {
                    view.local = Some(local.clone());
                }
                Done::Connect { local, peer } => {
                    view.local = Some(local.clone());
                    view.peer = Some(peer.clone());
                }
                Done::Getsockname { address } => view.local = Some(address.clone()),
                Done::Getpeername { address } => view.peer = Some(address.clone()),
                Done::Accept { socket: new, .. } => {
                    view.accepted.push(*new);
                    view.connection_waiting = false;
                }
                Done::Recv { .. } | Done::Recvfrom { .. } => view.data_waiting = None,
                _ => {}
            }
            if syscall == Syscall::Listen {
                view.has_listened = true;
            }
            view.results.insert(
                syscall,
                CallResult {
                    ok: true,
                    text: text.clone(),
                },
            );
        }
        let mut headline = format!("{syscall}() {text}");
        if syscall.may_wait() && took >= 500.0 {
            headline.push_str(&format!(" (waited {:.1} s)", took / 1000.0));
        }
        self.push(at, LogKind::Reply, Some(id), socket, headline, None, data);
    }

    pub(super) fn event(&mut self, socket: SocketId, event: Event, at: Millis) {
        let kind = self.sockets.get(&socket).map(|view| view.kind);
        let (headline, detail) = narration::event(socket, kind, &event);
        if let Some(view) = self.sockets.get_mut(&socket) {
            view.state = view.state.on_event(&event);
            match event {
                Event::DataWaiting { queued } => view.data_waiting = Some(queued),
                Event::ConnectionWaiting => view.connection_waiting = true,
                Event::PeerClosed => view.peer_closed_seen = true,
            }
        }
        self.push(
            at,
            LogKind::Event,
            None,
            Some(socket),
            headline,
            Some(detail),
            None,
        );
    }

    /// Gives the new socket its panel: the fixed panel it was made for, or a new one.
    fn place(&mut self, slot: Slot, socket: SocketId) {
        let fixed = self
            .panels
            .iter_mut()
            .find(|p| slot != Slot::New && p.slot == slot);
        match fixed {
            Some(panel) => panel.socket = Some(socket),
            None => self.panels.push(Panel {
                slot: Slot::New,
                socket: Some(socket),
            }),
        }
    }
}
