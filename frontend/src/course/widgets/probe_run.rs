//! The calls the scan and knock widgets make, as a pure plan: each probe is socket(), then
//! connect() to its target, then (for a door) recv() of the greeting, then close(), at most
//! `AT_ONCE` (3) probes at once. A connect that gets no answer within `NO_RESPONSE_MS` (2 s) is
//! ended by closing its socket, as a scanner does: the relay then answers the waiting connect with
//! `cancelled`. The widget feeds the plan the transcript and the time, sends the calls it asks for,
//! and tells it their ids; the plan never sends anything itself, so it is tested natively.

use std::collections::HashMap;

use socketlab_shared::{CallId, Done, Family, FromRelay, Op, Outcome, SocketId, SocketType};

use crate::session::transcript::Entry;

/// How long a connect may wait for the kernel before the probe gives up on it, in ms. nmap's
/// own timeouts adapt to the network; on loopback an answer takes microseconds, so two seconds
/// of silence means none is coming.
pub(crate) const NO_RESPONSE_MS: f64 = 2000.0;

/// How many probes may wait for the kernel at once: a few, never a flood (the relay also brakes
/// connect() calls per second).
pub(crate) const AT_ONCE: usize = 3;

/// One probe's target and what to do once connected.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    pub(crate) address: String,
    /// recv() once after connecting (a door that greets), before closing.
    pub(crate) read: bool,
}

/// Where one probe is.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// Not started yet (waits for a free place among `AT_ONCE`).
    Queued,
    /// socket() sent.
    Creating(CallId),
    /// connect() sent at `since` (ms).
    Connecting {
        socket: SocketId,
        call: CallId,
        since: f64,
    },
    /// recv() sent on the connected socket.
    Reading { socket: SocketId, call: CallId },
    /// close() sent.
    Closing { socket: SocketId, call: CallId },
    /// Nothing more to do.
    Done,
}

/// The probes of one widget, in one relay session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeRun {
    /// The relay session (counted by `welcome`) the run's calls belong to: call and socket ids
    /// mean nothing in another one.
    session: usize,
    probes: Vec<(Target, Stage)>,
    /// Why a probe stopped early, by probe (the relay was not connected, a call was refused).
    problems: HashMap<usize, String>,
}

/// A call the widget should send now for probe `probe`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub(crate) probe: usize,
    pub(crate) op: Op,
}

/// The replies of the transcript's relay session `session`, by call id.
fn replies(transcript: &[Entry], session: usize) -> HashMap<CallId, &Outcome> {
    let mut current = 0;
    let mut seen_welcome = false;
    let mut out = HashMap::new();
    for entry in transcript {
        match entry {
            Entry::Message(FromRelay::Welcome { .. }) => {
                if seen_welcome {
                    current += 1;
                }
                seen_welcome = true;
            }
            Entry::Message(FromRelay::Reply { id, outcome }) if current == session => {
                out.insert(*id, outcome);
            }
            _ => {}
        }
    }
    out
}

impl ProbeRun {
    /// An empty run in relay session `session`.
    pub(crate) fn new(session: usize) -> ProbeRun {
        ProbeRun {
            session,
            probes: Vec::new(),
            problems: HashMap::new(),
        }
    }

    pub(crate) fn session(&self) -> usize {
        self.session
    }

    /// Adds a probe; it starts at the next `pump`.
    pub(crate) fn add(&mut self, target: Target) {
        self.probes.push((target, Stage::Queued));
    }

    /// Every probe has finished.
    pub(crate) fn finished(&self) -> bool {
        self.probes.iter().all(|(_, stage)| *stage == Stage::Done)
    }

    /// Probes started and not finished.
    fn active(&self) -> usize {
        self.probes
            .iter()
            .filter(|(_, s)| !matches!(s, Stage::Queued | Stage::Done))
            .count()
    }

    /// Why probes stopped early, in words.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut list: Vec<(usize, String)> =
            self.problems.iter().map(|(i, p)| (*i, p.clone())).collect();
        list.sort();
        list.into_iter().map(|(_, p)| p).collect()
    }

    /// Reads the replies that arrived, moves each probe on, and returns the calls to send now
    /// (at `now` ms). Call `sent` with each call's id, in the same order.
    pub(crate) fn pump(&mut self, transcript: &[Entry], now: f64) -> Vec<Request> {
        let replies = replies(transcript, self.session);
        let mut requests = Vec::new();
        for probe in 0..self.probes.len() {
            let (target, stage) = &self.probes[probe];
            let next = match stage {
                Stage::Creating(call) => match replies.get(call) {
                    Some(Outcome::Ok(Done::Socket { socket, .. })) => {
                        requests.push(Request {
                            probe,
                            op: Op::Connect {
                                socket: *socket,
                                address: target.address.clone(),
                            },
                        });
                        None
                    }
                    Some(other) => {
                        self.problems
                            .insert(probe, format!("socket() was not made: {}", said(other)));
                        Some(Stage::Done)
                    }
                    None => None,
                },
                Stage::Connecting {
                    socket,
                    call,
                    since,
                } => match replies.get(call) {
                    Some(Outcome::Ok(Done::Connect { .. })) if target.read => {
                        requests.push(Request {
                            probe,
                            op: Op::Recv {
                                socket: *socket,
                                max: 256,
                            },
                        });
                        None
                    }
                    Some(outcome) => {
                        // An answer that says nothing about the port (the relay's brake,
                        // another errno) is worth saying next to the table.
                        let telling = match outcome {
                            Outcome::Ok(_) | Outcome::Cancelled { .. } => true,
                            Outcome::Error(err) => err.errno == "ECONNREFUSED",
                            Outcome::Invalid { .. } | Outcome::Refused { .. } => false,
                        };
                        if !telling {
                            self.problems.insert(
                                probe,
                                format!("connect() to {}: {}", target.address, said(outcome)),
                            );
                        }
                        requests.push(close(probe, *socket));
                        None
                    }
                    // No answer yet: after the timeout, close the socket, which ends the
                    // waiting connect.
                    None if now - since >= NO_RESPONSE_MS => {
                        requests.push(close(probe, *socket));
                        None
                    }
                    None => None,
                },
                Stage::Reading { socket, call } => match replies.get(call) {
                    Some(_) => {
                        requests.push(close(probe, *socket));
                        None
                    }
                    None => None,
                },
                Stage::Closing { call, .. } => replies.get(call).map(|_| Stage::Done),
                Stage::Queued | Stage::Done => None,
            };
            if let Some(next) = next {
                self.probes[probe].1 = next;
            }
        }
        // Start queued probes while there is room (the requests above are all for probes
        // already counted as active).
        let mut room = AT_ONCE.saturating_sub(self.active());
        for probe in 0..self.probes.len() {
            if room == 0 {
                break;
            }
            if self.probes[probe].1 == Stage::Queued {
                requests.push(Request {
                    probe,
                    op: Op::Socket {
                        family: Family::Ipv4,
                        kind: SocketType::Stream,
                    },
                });
                room -= 1;
            }
        }
        requests
    }

    /// The call made for `request` got id `call` (`None`: it could not be sent), at `now` ms.
    pub(crate) fn sent(&mut self, request: &Request, call: Option<CallId>, now: f64) {
        let Some((_, stage)) = self.probes.get_mut(request.probe) else {
            return;
        };
        let Some(call) = call else {
            self.problems.insert(
                request.probe,
                "the relay is not connected, so the call was not sent".to_owned(),
            );
            *stage = Stage::Done;
            return;
        };
        *stage = match &request.op {
            Op::Socket { .. } => Stage::Creating(call),
            Op::Connect { socket, .. } => Stage::Connecting {
                socket: *socket,
                call,
                since: now,
            },
            Op::Recv { socket, .. } => Stage::Reading {
                socket: *socket,
                call,
            },
            Op::Close { socket } => Stage::Closing {
                socket: *socket,
                call,
            },
            _ => Stage::Done,
        };
    }
}

/// A reply that is not what the plan needed, in words.
fn said(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(done) => format!("an unexpected reply to {}()", done.syscall()),
        Outcome::Error(err) => format!("{} ({})", err.errno, err.message),
        Outcome::Invalid { reason } | Outcome::Cancelled { reason } => reason.clone(),
        Outcome::Refused { rule, reason } => format!("refused by the relay ({rule}): {reason}"),
    }
}

fn close(probe: usize, socket: SocketId) -> Request {
    Request {
        probe,
        op: Op::Close { socket },
    }
}
