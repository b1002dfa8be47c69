//! All state of one lab session in one pure reducer (`yew::Reducible`): the link to the relay, the
//! sockets and their panels, the calls still waiting for their reply, and the log. It does no IO,
//! so every rule of the page is a plain function of (state, action) and is unit-tested natively
//! (`tests`). Components keep only form inputs and UI choices; everything that outlives a click is
//! here.
//!
//! - The link: `Connecting` / `Live` / `Lost` (with attempt and retry time) / `NoKey` /
//!   `KeyRefused`; the actions `LinkNoKey` and `LinkKeyRefused` each log one note. Socket ids
//!   belong to one relay session: when the link is lost, pending calls end in the log and sockets
//!   are shown closed (the relay closes them with the session); the next `welcome` starts a clean
//!   table and the two fixed panels.
//! - The sockets (`SocketView`, in `socket_view`) and the panels: two fixed ones, server and
//!   client, plus one per added or accepted socket. A socket made without a panel slot (by a lesson
//!   widget through `RelayHandle::call`) gets no panel; it is in the table and the log. State
//!   changes go through `shared::SocketState::{while_waiting, after, on_event}`; `SocketView::path`
//!   picks the `shared::Path` a socket is drawn on. What the page shows about a socket comes only
//!   from the relay's replies and events; nothing is blocked here (with "show every call" any call
//!   goes to the relay, because the kernel's refusal is the lesson).
//! - The log, a `journal::Journal` of at most `LOG_CAP` (1000) entries: the oldest are dropped and
//!   counted, and the event log says how many. A reply with `Outcome::Refused` is
//!   `LogKind::Refused`. `capabilities` goes to the kernel watch and one log line ("Kernel view on,
//!   packet capture off" and the reasons); `kernel` to the watch and, when a state changed, a
//!   `LogKind::Kernel` line ("In the kernel: s2 is ESTABLISHED"); `packet` to the watch only, never
//!   the log. `welcome` starts a fresh watch (a new relay session); a lost link clears its rows and
//!   ends every track.
//! - `kernel`, the `KernelWatch` (`kernel_watch`), and `course`, the `CourseRecord` (`record`):
//!   `Action::CallSent` and every `Received` also go to `CourseRecord::call` / `received`;
//!   `machine` and `service_names` are kept there for the course's widgets and add no log line.
//!
//! The reducer clones the session on every action, so the long, growing lists (the log, the
//! transcript, the packets) are `Journal`s (`journal`): a clone copies a pointer and an append
//! writes in place. The replies and events are handled in `replies` (a child module of the same
//! reducer); `narration` has the words; `context` is the leaf that components read the session
//! from.

pub(crate) mod context;
pub(crate) mod journal;
pub(crate) mod kernel_watch;
pub(crate) mod narration;
pub(crate) mod record;
pub(crate) mod socket_view;
pub(crate) mod tcp_graph;
pub(crate) mod transcript;

use std::collections::BTreeMap;
use std::rc::Rc;

use socketlab_shared::{
    CallId, FromRelay, Op, PROTOCOL_VERSION, Payload, SocketId, SocketState, Syscall,
};

use crate::session::journal::Journal;
use crate::session::record::CourseRecord;
use yew::Reducible;

use crate::session::kernel_watch::{KernelWatch, capabilities_note};
pub(crate) use crate::session::socket_view::{CallResult, Panel, Role, Slot, SocketView};

/// Milliseconds since the page started (`performance.now()` in the browser).
pub(crate) type Millis = f64;

/// How the page's WebSocket to the relay is doing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Link {
    /// A WebSocket is opening, or open and waiting for `welcome`. `attempt` counts from 1.
    Connecting { attempt: u32 },
    /// The relay said `welcome`: calls can be made.
    Live { relay: String, os: String },
    /// No WebSocket: the next attempt starts at `retry_at`.
    Lost {
        attempt: u32,
        retry_at: Millis,
        reason: String,
    },
    /// The page's address carries no key (`#token=...`), so the relay would refuse it: no
    /// WebSocket is opened until the learner opens the URL the relay printed.
    NoKey,
    /// The relay refused this page's key (it restarted with a new one, or the key was
    /// mistyped): no retries until a new key is in the address or the learner asks.
    KeyRefused,
    /// The relay refused the class code the page offered (`code`, in its normal form): no
    /// retries until the learner types another.
    ClassCodeRefused { code: String },
}

impl Link {
    /// The `data-status` the DOM contract names: connecting, live or lost.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Link::Connecting { .. } => "connecting",
            Link::Live { .. } => "live",
            Link::Lost { .. } => "lost",
            Link::NoKey => "no-key",
            Link::KeyRefused => "key-refused",
            Link::ClassCodeRefused { .. } => "code-refused",
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        matches!(self, Link::Live { .. })
    }
}

/// A call sent that has no reply yet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pending {
    pub(crate) op: Op,
    pub(crate) at: Millis,
    pub(crate) slot: Option<Slot>,
    /// The socket's state before the call, restored if a connect fails.
    pub(crate) state_before: Option<SocketState>,
}

/// What kind of line the log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogKind {
    Call,
    Reply,
    /// The kernel's errno, an invalid argument, or a cancelled call.
    Error,
    /// The relay's policy refused the call: the kernel was never asked, there is no errno.
    Refused,
    Event,
    /// A socket's state changed in the kernel (the kernel view).
    Kernel,
    /// Link and session notices.
    Link,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogEntry {
    pub(crate) at: Millis,
    pub(crate) kind: LogKind,
    pub(crate) call: Option<CallId>,
    pub(crate) socket: Option<SocketId>,
    pub(crate) headline: String,
    /// A second line: the plain-language explanation of an error, an event's meaning.
    pub(crate) detail: Option<String>,
    /// Bytes sent or received, shown as text and hex.
    pub(crate) data: Option<Payload>,
}

/// The most log entries kept: the oldest go first, and the log says how many went. A lab left
/// running for hours must not grow the page's memory without end.
pub(crate) const LOG_CAP: usize = 1000;

/// The whole session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Session {
    pub(crate) link: Link,
    pub(crate) sockets: BTreeMap<SocketId, SocketView>,
    pub(crate) panels: Vec<Panel>,
    pub(crate) pending: BTreeMap<CallId, Pending>,
    /// The log, newest last; at most `LOG_CAP` entries, the oldest dropped (and counted).
    pub(crate) log: Journal<LogEntry>,
    /// The highest call id sent so far; the relay handle counts on from it.
    pub(crate) last_call: Option<CallId>,
    /// How many times the relay said welcome: each one is a fresh relay session.
    pub(crate) sessions: u32,
    /// Why the last attempt to reach the relay failed; cleared by welcome.
    pub(crate) last_failure: Option<String>,
    /// The kernel's own view of the session and the packets on loopback.
    pub(crate) kernel: KernelWatch,
    /// What the course reads: the relay's machine facts and services, and the transcript of
    /// this relay session that exercises are checked against.
    pub(crate) course: CourseRecord,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            link: Link::Connecting { attempt: 1 },
            sockets: BTreeMap::new(),
            panels: fixed_panels(),
            pending: BTreeMap::new(),
            log: Journal::default(),
            last_call: None,
            sessions: 0,
            last_failure: None,
            kernel: KernelWatch::default(),
            course: CourseRecord::default(),
        }
    }
}

fn fixed_panels() -> Vec<Panel> {
    vec![
        Panel {
            slot: Slot::Server,
            socket: None,
        },
        Panel {
            slot: Slot::Client,
            socket: None,
        },
    ]
}

/// Everything that can happen to a session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// The hook is opening a WebSocket: attempt `attempt` since the last welcome. (The relay's
    /// `welcome` arrives as `Received` and makes the link live.)
    LinkConnecting { attempt: u32, at: Millis },
    /// The page's address has no key: the hook opens no WebSocket.
    LinkNoKey { at: Millis },
    /// The relay answered that it refuses this page's key.
    LinkKeyRefused { at: Millis },
    /// The relay answered that it refuses this page's class code, `code`.
    LinkClassCodeRefused { code: String, at: Millis },
    /// The WebSocket closed, or never opened; the hook tries again at `retry_at`.
    LinkLost {
        attempt: u32,
        retry_at: Millis,
        reason: String,
        at: Millis,
    },
    /// The hook sent this call to the relay.
    CallSent {
        id: CallId,
        op: Op,
        slot: Option<Slot>,
        at: Millis,
    },
    /// A call could not be sent at all (no live link).
    CallNotSent { op: Op, reason: String, at: Millis },
    /// Any message from the relay, decoded.
    Received { msg: FromRelay, at: Millis },
    /// A text frame that did not decode as a relay message.
    Undecodable { error: String, at: Millis },
}

impl Reducible for Session {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}

impl Session {
    /// Applies one action in place; `reduce` wraps it for yew.
    pub(crate) fn apply(&mut self, action: Action) {
        match action {
            // Retries are counted in the status box, not logged one by one.
            Action::LinkConnecting { attempt, .. } => self.link = Link::Connecting { attempt },
            Action::LinkNoKey { at } => {
                self.link = Link::NoKey;
                let headline = "Not connecting: this page's address has no key".to_owned();
                let detail =
                    "Open the exact URL the relay printed: it ends with #token= and a long key.";
                self.note(at, headline, Some(detail.to_owned()));
            }
            Action::LinkKeyRefused { at } => {
                self.link = Link::KeyRefused;
                let headline = "The relay refused this page's key".to_owned();
                let detail = "The relay makes a new key every time it starts. Open the URL it printed this time; pasting it into this tab is enough.";
                self.note(at, headline, Some(detail.to_owned()));
            }
            Action::LinkClassCodeRefused { code, at } => {
                let headline = format!(
                    "The relay refused the class code {}",
                    socketlab_shared::class::shown_code(&code)
                );
                let detail = "Check the code with your teacher and type it again.";
                self.link = Link::ClassCodeRefused { code };
                self.note(at, headline, Some(detail.to_owned()));
            }
            Action::LinkLost {
                attempt,
                retry_at,
                reason,
                at,
            } => self.link_lost(attempt, retry_at, reason, at),
            Action::CallSent { id, op, slot, at } => self.call_sent(id, op, slot, at),
            Action::CallNotSent { op, reason, at } => {
                let headline = format!("{} was not sent: {reason}", narration::call(&op));
                self.push(at, LogKind::Error, None, op.socket(), headline, None, None);
            }
            Action::Received { msg, at } => self.received(msg, at),
            Action::Undecodable { error, at } => {
                let headline = "A message from the relay could not be read".to_owned();
                self.push(at, LogKind::Error, None, None, headline, Some(error), None);
            }
        }
    }

    /// The panel's socket, if it has one.
    pub(crate) fn socket(&self, id: SocketId) -> Option<&SocketView> {
        self.sockets.get(&id)
    }

    /// Calls on `socket` that wait for their reply, oldest first.
    pub(crate) fn pending_on(&self, socket: SocketId) -> Vec<Syscall> {
        self.pending
            .values()
            .filter(|p| p.op.socket() == Some(socket))
            .map(|p| p.op.syscall())
            .collect()
    }

    /// A `socket()` call that waits to fill `slot`.
    pub(crate) fn creating(&self, slot: Slot) -> bool {
        self.pending.values().any(|p| p.slot == Some(slot))
    }

    /// The socket in the server panel.
    pub(crate) fn server(&self) -> Option<&SocketView> {
        self.panels
            .iter()
            .find(|p| p.slot == Slot::Server)
            .and_then(|p| p.socket)
            .and_then(|id| self.sockets.get(&id))
    }

    fn link_lost(&mut self, attempt: u32, retry_at: Millis, reason: String, at: Millis) {
        let was_live = self.link.is_live();
        self.last_failure = Some(reason.clone());
        self.link = Link::Lost {
            attempt,
            retry_at,
            reason: reason.clone(),
        };
        if !was_live && attempt > 1 {
            return; // One line for the first failure is enough; the status box counts on.
        }
        let detail = if was_live {
            "The relay closes every socket of a session when its WebSocket closes, so the sockets below are gone. The page reconnects by itself.".to_owned()
        } else {
            "Is a relay running? Start one with: cargo xtask serve. The page retries by itself."
                .to_owned()
        };
        self.note(at, format!("Lost the relay: {reason}"), Some(detail));
        let pending = std::mem::take(&mut self.pending);
        for (id, call) in pending {
            let headline = format!(
                "{} got no reply: the link to the relay closed",
                narration::call(&call.op)
            );
            self.push(
                at,
                LogKind::Error,
                Some(id),
                call.op.socket(),
                headline,
                None,
                None,
            );
        }
        for socket in self.sockets.values_mut() {
            socket.state = SocketState::Closed;
        }
        self.kernel.lost();
    }

    fn call_sent(&mut self, id: CallId, op: Op, slot: Option<Slot>, at: Millis) {
        self.course.call(id, &op);
        self.last_call = Some(self.last_call.map_or(id, |last| last.max(id)));
        let socket = op.socket();
        let mut state_before = None;
        if let Some(view) = socket.and_then(|s| self.sockets.get_mut(&s)) {
            state_before = Some(view.state);
            view.state = view.state.while_waiting(view.kind, op.syscall());
        }
        let data = match &op {
            Op::Send { data, .. } | Op::Sendto { data, .. } => Some(data.clone()),
            _ => None,
        };
        let headline = narration::call(&op);
        self.push(at, LogKind::Call, Some(id), socket, headline, None, data);
        self.pending.insert(
            id,
            Pending {
                op,
                at,
                slot,
                state_before,
            },
        );
    }

    fn received(&mut self, msg: FromRelay, at: Millis) {
        self.course.received(&msg);
        match msg {
            FromRelay::Welcome { version, relay, os } => self.welcome(version, relay, os, at),
            FromRelay::Reply { id, outcome } => self.reply(id, outcome, at),
            FromRelay::Event { socket, event } => self.event(socket, event, at),
            FromRelay::Capabilities {
                kernel_view,
                capture,
            } => {
                let (headline, detail) = capabilities_note(&kernel_view, &capture);
                self.kernel.capabilities(kernel_view, capture);
                self.note(at, headline, detail);
            }
            FromRelay::Kernel { sockets } => {
                let changes = self.kernel.kernel(sockets);
                if !changes.is_empty() {
                    let headline = format!("In the kernel: {}", changes.join("; "));
                    self.push(at, LogKind::Kernel, None, None, headline, None, None);
                }
            }
            // Packets have their own view; the log would drown in ACKs.
            FromRelay::Packet { packet } => self.kernel.packet(packet),
            FromRelay::Malformed { reason } => {
                let headline = "The relay could not read a message from this page".to_owned();
                self.push(at, LogKind::Error, None, None, headline, Some(reason), None);
            }
            // Kept in `course` (above) for the lesson widgets; nothing for the log to say.
            FromRelay::Machine { .. }
            | FromRelay::ServiceNames { .. }
            | FromRelay::KnockDoor { .. }
            | FromRelay::Class {} => {}
            FromRelay::Joined { name } => {
                let headline = format!("Joined the class as {name}");
                self.push(at, LogKind::Link, None, None, headline, None, None);
            }
            FromRelay::Goodbye { reason } => {
                let headline = "The relay ended the session".to_owned();
                self.push(at, LogKind::Error, None, None, headline, Some(reason), None);
            }
        }
    }

    fn welcome(&mut self, version: u32, relay: String, os: String, at: Millis) {
        self.sessions += 1;
        // What the kernel said belongs to the last relay session.
        self.kernel = KernelWatch::default();
        if !self.sockets.is_empty() || !self.pending.is_empty() {
            // Socket ids belong to one relay session; a new session starts from s1 again.
            self.sockets.clear();
            self.pending.clear();
            self.panels = fixed_panels();
            self.note(
                at,
                "New relay session: the sockets of the last one were closed, start again from socket()".into(),
                None,
            );
        }
        let mut headline = format!("Connected to the relay {relay} on {os}");
        let detail = (version != PROTOCOL_VERSION).then(|| {
            format!("It speaks protocol version {version}, this page {PROTOCOL_VERSION}: reload the page.")
        });
        if detail.is_none() {
            headline.push_str(": every call below is a real system call on that machine");
        }
        self.note(at, headline, detail);
        self.last_failure = None;
        self.link = Link::Live { relay, os };
    }

    fn note(&mut self, at: Millis, headline: String, detail: Option<String>) {
        self.push(at, LogKind::Link, None, None, headline, detail, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: Millis,
        kind: LogKind,
        call: Option<CallId>,
        socket: Option<SocketId>,
        headline: String,
        detail: Option<String>,
        data: Option<Payload>,
    ) {
        self.log.push(LogEntry {
            at,
            kind,
            call,
            socket,
            headline,
            detail,
            data,
        });
        if self.log.len() > LOG_CAP {
            self.log.drop_oldest(self.log.len() - LOG_CAP);
        }
    }
}

mod replies;

#[cfg(test)]
mod tests;
