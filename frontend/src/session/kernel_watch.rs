//! What the kernel says about the session, as the page keeps it (`Session::kernel`): which
//! instruments the relay offers (the two `Availability`s from `capabilities`, `None` until they
//! arrive), the kernel's rows for the session's sockets (the last full list), each TCP connection's
//! path through the RFC 793 states (one `Track` per endpoint, kept as it happens), and the packets
//! captured on loopback. Pure data and rules; the session reducer feeds it. Tests in
//! `kernel_watch_tests`, fed with the golden JSON.
//!
//! `kernel(rows)` matches each TCP row to a track by socket id (while the relay holds it) or by its
//! four ends (local, remote), so one track follows a connection from the accept queue into
//! `accept()`'s socket, and from a socket into what lingers after `close()`. A new track starts at
//! CLOSED (a listener, or a connect in SYN_SENT or ESTABLISHED) or at its listener's LISTEN
//! (accepted connections, recognised by `Detached::AcceptQueue` or by sharing a LISTEN row's local
//! address). States the kernel passed through between two looks are filled in from
//! `tcp_graph::between` and marked `seen: false`; the page never invents a state at the end of a
//! path. A track whose row disappears is `gone`; it gets a CLOSED step only along a real arrow
//! (TIME_WAIT timeout, LAST_ACK, LISTEN or SYN_SENT closed), otherwise it just ends. A row missing
//! from one list that comes back with the same four ends (before reaching CLOSED) continues its
//! track. `kernel` returns the state changes in words for the log.
//!
//! Bounds: at most `MAX_PACKETS` (300) packets (a `Journal`), oldest first, the older ones counted
//! by `packets.dropped()` (the packet view says so); beyond `MAX_TRACKS` (12) the oldest gone
//! tracks are forgotten. Also `lit`, `flags_text` (`SYN,ACK`), `conversation` (both directions of a
//! connection share a key) and `capabilities_note` (the log line).

use socketlab_shared::{
    Availability, Detached, KernelSocket, KernelState, Packet, SocketId, TcpFlag, Transport,
};

use crate::session::journal::Journal;
use crate::session::tcp_graph;

/// The page keeps this many packets; older ones are let go (and counted).
pub(crate) const MAX_PACKETS: usize = 300;
/// The page keeps the paths of this many connections; the oldest finished ones go first.
pub(crate) const MAX_TRACKS: usize = 12;

/// One state on a connection's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrackStep {
    pub(crate) state: KernelState,
    /// The relay saw the kernel in this state. `false` for a state the kernel must have passed
    /// through between two samples (SYN_RECV lasts a fraction of a millisecond on loopback).
    pub(crate) seen: bool,
}

/// One endpoint of a TCP connection (or a listening socket) through its life in the kernel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Track {
    /// Counts from 1 in the session: keys and colours.
    pub(crate) number: u32,
    /// The session's socket this is or was.
    pub(crate) socket: Option<SocketId>,
    /// The relay holds its descriptor now.
    pub(crate) held: bool,
    /// The listening socket whose accept queue it came out of.
    pub(crate) listener: Option<SocketId>,
    pub(crate) local: String,
    pub(crate) remote: String,
    /// The path so far; the last step is the state now.
    pub(crate) steps: Vec<TrackStep>,
    /// The kernel has let it go: no row any more.
    pub(crate) gone: bool,
}

impl Track {
    /// The state it is in now.
    pub(crate) fn state(&self) -> Option<KernelState> {
        self.steps.last().map(|s| s.state)
    }

    /// How the page names it: "s2", "s2 after close()", "in s1's accept queue".
    pub(crate) fn name(&self) -> String {
        match (self.socket, self.held, self.listener) {
            (Some(id), true, _) => id.to_string(),
            (Some(id), false, _) => format!("{id} after close()"),
            (None, _, Some(listener)) => format!("in {listener}'s accept queue"),
            (None, _, None) => "a closed connection".into(),
        }
    }
}

/// Everything the kernel view and the capture told the page in this relay session.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct KernelWatch {
    /// `None` until the relay says (right after welcome).
    pub(crate) kernel_view: Option<Availability>,
    pub(crate) capture: Option<Availability>,
    /// The kernel's rows for the session, as last sent.
    pub(crate) rows: Vec<KernelSocket>,
    pub(crate) tracks: Vec<Track>,
    /// Oldest first, at most `MAX_PACKETS`; `packets.dropped()` counts those let go to keep
    /// the list short.
    pub(crate) packets: Journal<Packet>,
    next_track: u32,
}

/// An address with a real peer, not `0.0.0.0:*`.
fn concrete(remote: &str) -> bool {
    !remote.ends_with(":*")
}

impl KernelWatch {
    pub(crate) fn capabilities(&mut self, kernel_view: Availability, capture: Availability) {
        self.kernel_view = Some(kernel_view);
        self.capture = Some(capture);
    }

    /// Takes a new full list of rows; returns what changed state, in words, for the log
    /// ("s2 is ESTABLISHED").
    pub(crate) fn kernel(&mut self, rows: Vec<KernelSocket>) -> Vec<String> {
        let mut changes = Vec::new();
        let mut matched = vec![false; self.tracks.len()];
        let listeners: Vec<(String, Option<SocketId>)> = rows
            .iter()
            .filter(|r| r.transport == Transport::Tcp && r.state == KernelState::Listen)
            .map(|r| (r.local.clone(), r.socket))
            .collect();
        for row in rows.iter().filter(|r| r.transport == Transport::Tcp) {
            let same_ends =
                |t: &Track| concrete(&row.remote) && t.local == row.local && t.remote == row.remote;
            // A row that went missing from one list and is back (same four ends, and it had not
            // reached CLOSED) is the same connection: its path goes on.
            let found = self
                .tracks
                .iter()
                .position(|t| {
                    !t.gone
                        && ((row.socket.is_some() && t.socket == row.socket && t.held)
                            || same_ends(t))
                })
                .or_else(|| {
                    self.tracks.iter().rposition(|t| {
                        t.gone && same_ends(t) && t.state() != Some(KernelState::Close)
                    })
                });
            match found {
                Some(i) => {
                    if let Some(seen) = matched.get_mut(i) {
                        *seen = true;
                    }
                    let track = &mut self.tracks[i];
                    track.gone = false;
                    track.held = row.socket.is_some();
                    track.socket = row.socket.or(track.socket);
                    track.local.clone_from(&row.local);
                    track.remote.clone_from(&row.remote);
                    if track.state() != Some(row.state) {
                        if let Some(now) = track.state() {
                            track.steps.extend(
                                tcp_graph::between(now, row.state)
                                    .into_iter()
                                    .map(|state| TrackStep { state, seen: false }),
                            );
                        }
                        track.steps.push(TrackStep {
                            state: row.state,
                            seen: true,
                        });
                        changes.push(format!("{} is {}", track.name(), row.state));
                    }
                }
                None => {
                    let track = self.new_track(row, &listeners);
                    changes.push(format!("{} is {}", track.name(), row.state));
                    self.tracks.push(track);
                    matched.push(true);
                }
            }
        }
        for (track, seen) in self.tracks.iter_mut().zip(&matched) {
            if *seen || track.gone {
                continue;
            }
            track.gone = true;
            track.held = false;
            // Only an arrow the diagram has is drawn: TIME_WAIT times out, LAST_ACK gets its
            // ACK, a listener or a refused connect is closed. Anything else (an RST that aborts
            // a connection) simply ends.
            if let Some(now) = track.state()
                && now != KernelState::Close
                && tcp_graph::transition(now, KernelState::Close).is_some()
            {
                track.steps.push(TrackStep {
                    state: KernelState::Close,
                    seen: true,
                });
            }
            changes.push(format!("{} is gone from the kernel", track.name()));
        }
        self.forget_old_tracks();
        self.rows = rows;
        changes
    }

    fn new_track(&mut self, row: &KernelSocket, listeners: &[(String, Option<SocketId>)]) -> Track {
        self.next_track += 1;
        let queued_on = match &row.detached {
            Some(Detached::AcceptQueue { listener }) => Some(*listener),
            _ => None,
        };
        // A connection on a listening socket's address that is not the listener itself came
        // out of its queue: accept() may already have taken it before the first sample.
        let listener = queued_on.or_else(|| {
            (row.state != KernelState::Listen && concrete(&row.remote))
                .then(|| listeners.iter().find(|(local, _)| *local == row.local))
                .flatten()
                .and_then(|(_, socket)| *socket)
        });
        let origin = match (row.state, listener) {
            (KernelState::Listen, _) => Some(KernelState::Close),
            (_, Some(_)) => Some(KernelState::Listen),
            (KernelState::SynSent | KernelState::Established, None) => Some(KernelState::Close),
            _ => None,
        };
        let mut steps = Vec::new();
        if let Some(origin) = origin {
            steps.push(TrackStep {
                state: origin,
                seen: true,
            });
            steps.extend(
                tcp_graph::between(origin, row.state)
                    .into_iter()
                    .map(|state| TrackStep { state, seen: false }),
            );
        }
        steps.push(TrackStep {
            state: row.state,
            seen: true,
        });
        Track {
            number: self.next_track,
            socket: row.socket,
            held: row.socket.is_some(),
            listener,
            local: row.local.clone(),
            remote: row.remote.clone(),
            steps,
            gone: false,
        }
    }

    fn forget_old_tracks(&mut self) {
        while self.tracks.len() > MAX_TRACKS {
            match self.tracks.iter().position(|t| t.gone) {
                Some(i) => {
                    self.tracks.remove(i);
                }
                None => break,
            }
        }
    }

    pub(crate) fn packet(&mut self, packet: Packet) {
        self.packets.push(packet);
        if self.packets.len() > MAX_PACKETS {
            self.packets.drop_oldest(self.packets.len() - MAX_PACKETS);
        }
    }

    /// The link is gone and with it the relay's session: no row is current any more.
    pub(crate) fn lost(&mut self) {
        self.rows.clear();
        for track in &mut self.tracks {
            track.gone = true;
            track.held = false;
        }
    }
}

/// Whether any live connection of `tracks` is in `state`: its box in the diagram is lit.
pub(crate) fn lit(tracks: &[Track], state: KernelState) -> bool {
    tracks.iter().any(|t| !t.gone && t.state() == Some(state))
}

/// The packet's flags as the DOM contract writes them: `SYN,ACK`, in the packet's order.
pub(crate) fn flags_text(flags: &[TcpFlag]) -> String {
    flags.iter().map(|f| f.name()).collect::<Vec<_>>().join(",")
}

/// Both ends of the conversation a packet belongs to, in a fixed order (so the packets of one
/// connection, in both directions, share a key).
pub(crate) fn conversation(packet: &Packet) -> (Transport, String, String) {
    let (a, b) = if packet.src <= packet.dst {
        (&packet.src, &packet.dst)
    } else {
        (&packet.dst, &packet.src)
    };
    (packet.transport, a.clone(), b.clone())
}

/// The log line for `capabilities`: which instruments are on, and for one that is off, why.
pub(crate) fn capabilities_note(
    kernel_view: &Availability,
    capture: &Availability,
) -> (String, Option<String>) {
    let on = |a: &Availability| matches!(a, Availability::Available);
    let word = |a: &Availability| if on(a) { "on" } else { "off" };
    let headline = format!(
        "Kernel view {}, packet capture {}",
        word(kernel_view),
        word(capture)
    );
    let why: Vec<String> = [kernel_view, capture]
        .into_iter()
        .filter_map(|a| match a {
            Availability::Available => None,
            Availability::Unavailable { reason, .. } => Some(reason.clone()),
        })
        .collect();
    let detail = (!why.is_empty()).then(|| {
        format!(
            "{}. Everything else works; the boxes below say how to turn it on.",
            why.join(". ")
        )
    });
    (headline, detail)
}

#[cfg(test)]
#[path = "kernel_watch_tests.rs"]
mod tests;
