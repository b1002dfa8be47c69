//! Lesson 13's port-pool experiment as a pure state machine, run by the `{{port-pool}}` widget
//! (`port_pool.rs`): a pool of `POOL_SIZE` (4) client ports, each made by socket(),
//! bind(127.0.0.1:0) (the kernel picks the port), connect() to the relay's echo service and close()
//! (the client closes first, so each port is left in TIME_WAIT); then one more socket tries to bind
//! each pool port in turn. It shows bind() refused ports held in TIME_WAIT (EADDRINUSE), not
//! connect() running out of the ephemeral range (EADDRNOTAVAIL): the lesson says why that cannot be
//! shown safely here. Every step is a real call; this file only decides the next call from the
//! kernel's last answer (each reply read from the transcript by its `CallId`) and keeps what it
//! said, so it is tested natively without a relay. It ends `AllHeld`, `OneFree(port)` or `Failed`,
//! which is also how it ends when a new relay session (`welcome`) comes before an awaited reply.

use socketlab_shared::{CallId, Done, FromRelay, Op, Outcome, SocketId, SocketType};

use crate::session::narration;
use crate::session::transcript::{Entry, port_of};

/// How many client ports the pool has: small on purpose (a handful of sockets, one run at a
/// time), enough to see the pattern.
pub(crate) const POOL_SIZE: usize = 4;

/// Where the run is: which call comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    PoolSocket(usize),
    PoolBind(usize),
    PoolConnect(usize),
    PoolClose(usize),
    ProbeSocket,
    ProbeBind(usize),
    ProbeClose,
    Finished,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Every pool port was refused to the new socket's bind(): EADDRINUSE each time, every
    /// port still held in TIME_WAIT.
    AllHeld,
    /// The kernel let the new socket bind a pool port (the TIME_WAIT was gone already, or
    /// something else differs): said as it happened.
    OneFree(u16),
    /// A call failed or could not be made; the sentence says which and why.
    Failed(String),
}

/// One call of the run and, once it came, the kernel's answer in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) call: String,
    /// `(ok, text)`; `None` while the reply is awaited.
    pub(crate) result: Option<(bool, String)>,
}

/// One run of the experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolRun {
    echo: String,
    stage: Stage,
    /// The socket the current step works on.
    socket: Option<SocketId>,
    /// The call whose reply the run waits for.
    waiting: Option<CallId>,
    /// The pool's ports, as bind() reported them.
    pub(crate) ports: Vec<u16>,
    /// Pool ports the new socket was refused (EADDRINUSE), in order.
    pub(crate) refused: Vec<u16>,
    pub(crate) lines: Vec<Line>,
    pub(crate) end: Option<End>,
}

impl PoolRun {
    /// A run that will connect its pool to `echo` (the relay's `echo_tcp` address).
    pub(crate) fn new(echo: String) -> PoolRun {
        PoolRun {
            echo,
            stage: Stage::PoolSocket(0),
            socket: None,
            waiting: None,
            ports: Vec::new(),
            refused: Vec::new(),
            lines: Vec::new(),
            end: None,
        }
    }

    /// Whether the run still has calls to make or replies to wait for (the verdict, `end`,
    /// can be known before the new socket is closed).
    pub(crate) fn running(&self) -> bool {
        self.stage != Stage::Finished
    }

    /// The call the run wants made now, if it waits for none.
    pub(crate) fn next_op(&self) -> Option<Op> {
        if self.waiting.is_some() {
            return None;
        }
        let socket = self.socket;
        let stream = || Op::Socket {
            family: socketlab_shared::Family::Ipv4,
            kind: SocketType::Stream,
        };
        match self.stage {
            Stage::PoolSocket(_) | Stage::ProbeSocket => Some(stream()),
            Stage::PoolBind(_) => socket.map(|socket| Op::Bind {
                socket,
                address: "127.0.0.1:0".into(),
            }),
            Stage::PoolConnect(_) => socket.map(|socket| Op::Connect {
                socket,
                address: self.echo.clone(),
            }),
            Stage::ProbeBind(i) => socket
                .zip(self.ports.get(i))
                .map(|(socket, port)| Op::Bind {
                    socket,
                    address: format!("127.0.0.1:{port}"),
                }),
            Stage::PoolClose(_) | Stage::ProbeClose => socket.map(|socket| Op::Close { socket }),
            Stage::Finished => None,
        }
    }

    /// The page made `op` (the call `next_op` asked for); `id` is `None` when it could not
    /// be sent, which ends the run.
    pub(crate) fn sent(&mut self, op: &Op, id: Option<CallId>) {
        self.lines.push(Line {
            call: narration::call(op),
            result: None,
        });
        match id {
            Some(id) => self.waiting = Some(id),
            None => self.fail("the call could not be sent: the relay is not connected".into()),
        }
    }

    /// Reads the awaited reply from the transcript, if it came, and moves on. Returns whether
    /// the run changed (then `next_op` may have a new call).
    pub(crate) fn pump(&mut self, transcript: &[Entry]) -> bool {
        let Some(id) = self.waiting else {
            return false;
        };
        match reply_to(transcript, id) {
            Reply::Awaited => false,
            Reply::Lost => {
                self.waiting = None;
                self.fail("the relay session ended before the reply came".into());
                true
            }
            Reply::Came(op, outcome) => {
                self.waiting = None;
                self.answer(&op, &outcome);
                true
            }
        }
    }

    fn fail(&mut self, why: String) {
        self.stage = Stage::Finished;
        self.end = Some(End::Failed(why));
    }

    /// The kernel's answer to the current step.
    fn answer(&mut self, op: &Op, outcome: &Outcome) {
        let text = match outcome {
            // The lab's words for close() cover every socket; a pool socket closed first for
            // sure, so here the point of the experiment is said plainly.
            Outcome::Ok(Done::Close) if matches!(self.stage, Stage::PoolClose(_)) => (
                true,
                "→ closed: the descriptor is free, but the port stays taken while the connection is in TIME_WAIT".to_owned(),
            ),
            Outcome::Ok(done) => (true, narration::result(op, done)),
            Outcome::Error(err) => (
                false,
                format!("→ {} ({}): {}", err.errno, err.code, err.message),
            ),
            Outcome::Refused { rule, reason } => (
                false,
                format!("→ refused by the relay's policy ({rule}): {reason}"),
            ),
            Outcome::Invalid { reason } | Outcome::Cancelled { reason } => (false, format!("→ {reason}")),
        };
        if let Some(line) = self.lines.last_mut() {
            line.result = Some(text.clone());
        }
        let failed = |step: &str| format!("{step} failed: {}", text.1);
        self.stage = match (self.stage, outcome) {
            (Stage::PoolSocket(i), Outcome::Ok(Done::Socket { socket, .. })) => {
                self.socket = Some(*socket);
                Stage::PoolBind(i)
            }
            (Stage::PoolBind(i), Outcome::Ok(Done::Bind { local })) => {
                if let Some(port) = port_of(local) {
                    self.ports.push(port);
                }
                Stage::PoolConnect(i)
            }
            (Stage::PoolConnect(i), Outcome::Ok(Done::Connect { .. })) => Stage::PoolClose(i),
            (Stage::PoolClose(i), Outcome::Ok(Done::Close)) => {
                self.socket = None;
                if i + 1 < POOL_SIZE {
                    Stage::PoolSocket(i + 1)
                } else {
                    Stage::ProbeSocket
                }
            }
            (Stage::ProbeSocket, Outcome::Ok(Done::Socket { socket, .. })) => {
                self.socket = Some(*socket);
                Stage::ProbeBind(0)
            }
            (Stage::ProbeBind(i), Outcome::Error(err)) if err.errno == "EADDRINUSE" => {
                if let Some(port) = self.ports.get(i) {
                    self.refused.push(*port);
                }
                if i + 1 < self.ports.len() {
                    Stage::ProbeBind(i + 1)
                } else {
                    self.end = Some(End::AllHeld);
                    Stage::ProbeClose
                }
            }
            (Stage::ProbeBind(i), Outcome::Ok(Done::Bind { .. })) => {
                let port = self.ports.get(i).copied().unwrap_or_default();
                self.end = Some(End::OneFree(port));
                Stage::ProbeClose
            }
            (Stage::ProbeClose, Outcome::Ok(Done::Close)) => {
                self.socket = None;
                Stage::Finished
            }
            // A pool socket that failed is closed before the run ends.
            (Stage::PoolBind(_) | Stage::PoolConnect(_) | Stage::ProbeBind(_), _) => {
                self.end = Some(End::Failed(failed(match self.stage {
                    Stage::PoolBind(_) => "bind()",
                    Stage::PoolConnect(_) => "connect() to the echo service",
                    _ => "bind() of the new socket",
                })));
                Stage::ProbeClose
            }
            (Stage::ProbeClose, _) => Stage::Finished,
            (Stage::PoolSocket(_) | Stage::ProbeSocket, _) => {
                self.end = Some(End::Failed(failed("socket()")));
                Stage::Finished
            }
            (Stage::PoolClose(_), _) => {
                self.end = Some(End::Failed(failed("close()")));
                Stage::Finished
            }
            (Stage::Finished, _) => Stage::Finished,
        };
        if self.stage == Stage::ProbeClose && self.socket.is_none() {
            self.stage = Stage::Finished;
        }
    }
}

/// What the transcript says about a call.
enum Reply {
    Awaited,
    Came(Op, Outcome),
    /// A new relay session began after the call: its reply will never come.
    Lost,
}

/// Looks back from the newest entry: the reply to `id`, or the call still waiting, or a new
/// session since (ids start again in every session, so nothing older is read).
fn reply_to(transcript: &[Entry], id: CallId) -> Reply {
    let mut outcome = None;
    for entry in transcript.iter().rev() {
        match entry {
            Entry::Message(FromRelay::Reply {
                id: got,
                outcome: o,
            }) if *got == id => {
                outcome = Some(o.clone());
            }
            Entry::Call { id: got, op } if *got == id => {
                return match outcome {
                    Some(outcome) => Reply::Came(op.clone(), outcome),
                    None => Reply::Awaited,
                };
            }
            Entry::Message(FromRelay::Welcome { .. }) => return Reply::Lost,
            _ => {}
        }
    }
    // The call is no longer in the transcript (it keeps the newest entries only).
    Reply::Lost
}
