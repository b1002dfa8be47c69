//! What the session's connect() calls found, read from the transcript: each relay session's lesson
//! facts (scan targets, knock door, services), each connect to a port and what the kernel answered,
//! the port states a scanner reports (with nmap's reasons: ok is open/syn-ack, ECONNREFUSED
//! closed/conn-refused, `cancelled` after the page's own close or ETIMEDOUT filtered/no-response),
//! the scan report, and how far the knock sequence got, counted with the relay's own rule. Pure:
//! the scan and knock widgets draw from it and the lesson 18-20 checks judge with it, so what the
//! page shows and what the exercise accepts can never disagree.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use socketlab_shared::{
    CallId, Done, FromRelay, KnockDoor, LessonService, Op, Outcome, ScanTargets, SocketId,
};

use crate::session::transcript::Entry;

/// What a connect scan concludes about one TCP port, as nmap names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PortState {
    /// The handshake completed: something listens there.
    Open,
    /// The kernel answered the SYN with a RST: nothing listens there.
    Closed,
    /// No answer at all: the SYN was dropped (a full accept queue, or a firewall's DROP).
    Filtered,
}

impl PortState {
    /// nmap's word for the state.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
        }
    }

    /// nmap's `--reason` for a connect scan (`-sT`).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            PortState::Open => "syn-ack",
            PortState::Closed => "conn-refused",
            PortState::Filtered => "no-response",
        }
    }
}

/// The lesson facts one relay session announced in its `machine` message.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SessionFacts {
    pub(crate) scan: Option<ScanTargets>,
    pub(crate) knock: Option<KnockDoor>,
    pub(crate) services: Vec<LessonService>,
}

impl SessionFacts {
    /// The address of the lesson service `name`, if this session's relay runs it.
    pub(crate) fn service(&self, name: &str) -> Option<SocketAddr> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.address.parse().ok())
    }
}

/// How a connect() ended, in the terms of a scan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// Still waiting for the kernel: no reply yet.
    Waiting,
    /// The kernel connected the socket.
    Connected,
    /// The kernel refused: ECONNREFUSED (a RST came back).
    Refused,
    /// Ended without any answer from the kernel: the socket was closed while connect() waited
    /// (`cancelled`), or the kernel gave up after its own retries (ETIMEDOUT).
    NoResponse,
    /// Anything else: another errno, the relay's policy or a limit, a bad address. Says nothing
    /// about the port.
    Other(String),
}

impl Answer {
    /// The state a scanner reports for this answer, when it is a definite one.
    pub(crate) fn state(&self) -> Option<PortState> {
        match self {
            Answer::Connected => Some(PortState::Open),
            Answer::Refused => Some(PortState::Closed),
            Answer::NoResponse => Some(PortState::Filtered),
            Answer::Waiting | Answer::Other(_) => None,
        }
    }
}

/// One connect() of a session: where to, on which socket, and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Connect {
    /// The relay session (counted by `welcome`, as `transcript::answered` counts).
    pub(crate) session: usize,
    pub(crate) call: CallId,
    pub(crate) socket: SocketId,
    /// The address asked for, parsed; `None` when it is not an IP:port literal.
    pub(crate) target: Option<SocketAddr>,
    pub(crate) answer: Answer,
    /// Where the call is in the transcript: the order the relay made the calls in.
    pub(crate) called: usize,
    /// Where the reply is in the transcript (where the call is while it waits): the order the
    /// kernel answered in.
    pub(crate) at: usize,
}

/// A connect's address as the relay reads it: an IP literal with a port, or `localhost:PORT`
/// (which the relay's policy takes as loopback).
fn target_of(address: &str) -> Option<SocketAddr> {
    if let Some(port) = address.strip_prefix("localhost:") {
        return port
            .parse::<u16>()
            .ok()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
    }
    address.parse().ok()
}

/// Every relay session's facts, indexed by session number (a transcript without any `welcome`
/// still has session 0).
pub(crate) fn sessions(transcript: &[Entry]) -> Vec<SessionFacts> {
    let mut out = vec![SessionFacts::default()];
    let mut seen_welcome = false;
    for entry in transcript {
        match entry {
            Entry::Message(FromRelay::Welcome { .. }) => {
                if seen_welcome {
                    out.push(SessionFacts::default());
                }
                seen_welcome = true;
            }
            Entry::Message(FromRelay::Machine { services, scan, .. }) => {
                if let Some(last) = out.last_mut() {
                    last.scan = scan.clone();
                    last.services = services.clone();
                }
            }
            Entry::Message(FromRelay::KnockDoor { knock }) => {
                if let Some(last) = out.last_mut() {
                    last.knock = knock.clone();
                }
            }
            _ => {}
        }
    }
    out
}

fn answer_of(outcome: &Outcome, closed_first: bool) -> Answer {
    match outcome {
        Outcome::Ok(Done::Connect { .. }) => Answer::Connected,
        Outcome::Ok(other) => Answer::Other(format!("an unexpected reply {other:?}")),
        Outcome::Error(err) if err.errno == "ECONNREFUSED" => Answer::Refused,
        Outcome::Error(err) if err.errno == "ETIMEDOUT" => Answer::NoResponse,
        Outcome::Error(err) => Answer::Other(err.errno.clone()),
        // Only a connect whose socket the page closed while it waited is "no answer": a
        // cancel because the session ended says nothing about the port.
        Outcome::Cancelled { .. } if closed_first => Answer::NoResponse,
        Outcome::Cancelled { reason } => Answer::Other(format!("cancelled: {reason}")),
        Outcome::Refused { rule, .. } => Answer::Other(format!("refused by the relay ({rule})")),
        Outcome::Invalid { reason } => Answer::Other(format!("invalid: {reason}")),
    }
}

/// Every stream connect() in the transcript, in the order of the kernel's answers, with the
/// ones still waiting at the end (in the order they were made).
pub(crate) fn connects(transcript: &[Entry]) -> Vec<Connect> {
    let mut session = 0;
    let mut seen_welcome = false;
    // Calls of this session not answered yet: the connect calls, and which sockets the page
    // asked to close (a connect cancelled after its socket's close() was asked got no answer).
    let mut waiting: HashMap<CallId, (SocketId, Option<SocketAddr>, usize)> = HashMap::new();
    let mut closing: Vec<SocketId> = Vec::new();
    let mut out = Vec::new();
    for (at, entry) in transcript.iter().enumerate() {
        match entry {
            Entry::Message(FromRelay::Welcome { .. }) => {
                if seen_welcome {
                    session += 1;
                }
                seen_welcome = true;
                waiting.clear();
                closing.clear();
            }
            Entry::Call {
                id,
                op: Op::Connect { socket, address },
            } => {
                waiting.insert(*id, (*socket, target_of(address), at));
            }
            Entry::Call {
                op: Op::Close { socket },
                ..
            } => closing.push(*socket),
            Entry::Message(FromRelay::Reply { id, outcome }) => {
                if let Some((socket, target, called)) = waiting.remove(id) {
                    out.push(Connect {
                        session,
                        call: *id,
                        socket,
                        target,
                        answer: answer_of(outcome, closing.contains(&socket)),
                        called,
                        at,
                    });
                }
            }
            _ => {}
        }
    }
    let mut still: Vec<Connect> = waiting
        .into_iter()
        .map(|(call, (socket, target, at))| Connect {
            session,
            call,
            socket,
            target,
            answer: Answer::Waiting,
            called: at,
            at,
        })
        .collect();
    still.sort_by_key(|c| c.at);
    out.extend(still);
    out
}

/// The number of the last relay session in the transcript.
pub(crate) fn last_session(transcript: &[Entry]) -> usize {
    sessions(transcript).len().saturating_sub(1)
}

/// What one relay session's connects found at each port of the scan range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PortReport {
    pub(crate) port: u16,
    /// Every definite state seen for this port in the session (usually one).
    pub(crate) seen: Vec<PortState>,
    /// A connect to it is still waiting.
    pub(crate) waiting: bool,
}

impl PortReport {
    /// The state to report: a real answer (open or closed) beats a missing one, since a port
    /// that ever answered did not drop the SYN.
    pub(crate) fn state(&self) -> Option<PortState> {
        self.seen.iter().copied().min()
    }
}

/// The scan range's ports in `session`, each with what the connects to it found.
pub(crate) fn scan_report(
    transcript: &[Entry],
    session: usize,
    scan: &ScanTargets,
) -> Vec<PortReport> {
    let host = scan.host.parse::<std::net::IpAddr>().ok();
    let mut by_port: BTreeMap<u16, PortReport> = (scan.ports.first..=scan.ports.last)
        .map(|port| {
            (
                port,
                PortReport {
                    port,
                    seen: Vec::new(),
                    waiting: false,
                },
            )
        })
        .collect();
    for connect in connects(transcript) {
        let Some(target) = connect.target else {
            continue;
        };
        if connect.session != session || Some(target.ip()) != host {
            continue;
        }
        let Some(report) = by_port.get_mut(&target.port()) else {
            continue;
        };
        match connect.answer.state() {
            Some(state) if !report.seen.contains(&state) => report.seen.push(state),
            Some(_) => {}
            None => report.waiting |= connect.answer == Answer::Waiting,
        }
    }
    by_port.into_values().collect()
}

/// Where the knock sequence stands, replayed from one session's connects in the order the
/// relay made them, as the relay counts: a connect to a knock port (by port number, on a
/// loopback address) that reached the kernel is a knock; the next knock of the sequence
/// advances, another knock port starts again (counting as the first knock if it is the first
/// port), and the third right knock opens the door and starts over.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct KnockProgress {
    /// Right knocks in a row so far (0 to 2; the third opens the door and resets this).
    pub(crate) in_order: usize,
    /// Where in the transcript the call is that last opened the door.
    pub(crate) opened_at: Option<usize>,
    /// Each knock in order, with whether it counted as the next one.
    pub(crate) knocks: Vec<Knock>,
}

/// One connect to a knock port.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Knock {
    /// Which knock port (0, 1, 2).
    pub(crate) index: usize,
    pub(crate) answer: Answer,
    /// It was the next one in the sequence (or the first port, which always starts one).
    pub(crate) right: bool,
    /// This knock completed the sequence.
    pub(crate) opened: bool,
    /// Where the call is in the transcript.
    pub(crate) called: usize,
}

/// The knock sequence of `session`, against its door `door`.
pub(crate) fn knock_progress(
    transcript: &[Entry],
    session: usize,
    door: &KnockDoor,
) -> KnockProgress {
    let ports: Vec<Option<u16>> = door
        .knocks
        .iter()
        .map(|k| k.parse::<SocketAddr>().ok().map(|a| a.port()))
        .collect();
    let mut progress = KnockProgress::default();
    let mut list: Vec<Connect> = connects(transcript)
        .into_iter()
        .filter(|c| c.session == session)
        .collect();
    list.sort_by_key(|c| c.called);
    for connect in list {
        // The relay counts a knock when the kernel took the connect: a call the relay
        // refused (a limit) or could not read never reached it, and neither did one the
        // kernel refused with another errno before sending a SYN.
        if matches!(connect.answer, Answer::Other(_)) {
            continue;
        }
        let Some(index) = connect
            .target
            .filter(|t| t.ip().is_loopback())
            .and_then(|t| ports.iter().position(|p| *p == Some(t.port())))
        else {
            continue;
        };
        let right = index == progress.in_order;
        progress.in_order = if right {
            progress.in_order + 1
        } else if index == 0 {
            1
        } else {
            0
        };
        let opened = progress.in_order == ports.len();
        if opened {
            progress.in_order = 0;
            progress.opened_at = Some(connect.called);
        }
        progress.knocks.push(Knock {
            index,
            answer: connect.answer.clone(),
            right: right || index == 0,
            opened,
            called: connect.called,
        });
    }
    progress
}
