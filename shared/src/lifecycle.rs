//! The socket lifecycle as the lessons draw it: the states (`SocketState`: fresh, bound, listening,
//! connecting, connected, peer closed, closed; datagram sockets too), which calls make sense in
//! each (`allows`, which drives the buttons), `while_waiting`, the state after a successful reply
//! (`after`) and after an event (`on_event`); and `Path` / `Step`, the lifecycle diagrams as the
//! lessons draw them. Descriptive only: it never stops a call, and the relay passes an "odd" call
//! to the kernel anyway, because the kernel's refusal is the lesson.

use serde::{Deserialize, Serialize};

use crate::protocol::{Done, Event, SocketType, Syscall};

/// Where a socket is in its life, as far as its calls and events tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketState {
    /// `socket()` returned it: no address yet.
    Fresh,
    /// It has a local address (by `bind()`, or the kernel bound it implicitly).
    Bound,
    /// `listen()` succeeded: the kernel completes handshakes and queues connections for `accept()`.
    Listening,
    /// `connect()` is waiting for the handshake to finish.
    Connecting,
    /// A stream with an established connection, or a datagram socket with a default peer.
    Connected,
    /// The peer closed its sending side; this side may still send.
    PeerClosed,
    /// `close()` succeeded: the descriptor is gone.
    Closed,
}

impl SocketState {
    /// A short lowercase label for tables and diagrams.
    pub fn label(self) -> &'static str {
        match self {
            SocketState::Fresh => "fresh",
            SocketState::Bound => "bound",
            SocketState::Listening => "listening",
            SocketState::Connecting => "connecting",
            SocketState::Connected => "connected",
            SocketState::PeerClosed => "peer closed",
            SocketState::Closed => "closed",
        }
    }

    /// Whether `call` is one a program would normally make on a socket of this kind in this
    /// state. This drives which buttons the lab offers; it does not stop a call.
    pub fn allows(self, kind: SocketType, call: Syscall) -> bool {
        use SocketState as S;
        use Syscall as C;
        match call {
            C::Socket => false,
            C::Close => self != S::Closed,
            C::Setsockopt | C::Getsockopt | C::Getsockname => self != S::Closed,
            C::Getpeername => matches!(self, S::Connected | S::PeerClosed),
            C::Bind => self == S::Fresh,
            C::Listen => kind == SocketType::Stream && matches!(self, S::Fresh | S::Bound),
            C::Accept => self == S::Listening,
            C::Connect => match kind {
                SocketType::Stream => matches!(self, S::Fresh | S::Bound),
                SocketType::Datagram => matches!(self, S::Fresh | S::Bound | S::Connected),
            },
            C::Send | C::Recv => matches!(self, S::Connected | S::PeerClosed),
            C::Shutdown => {
                kind == SocketType::Stream && matches!(self, S::Connected | S::PeerClosed)
            }
            C::Sendto => kind == SocketType::Datagram && self != S::Closed,
            C::Recvfrom => kind == SocketType::Datagram && matches!(self, S::Bound | S::Connected),
        }
    }

    /// The state while `call` is waiting in the kernel, if waiting changes what we draw.
    pub fn while_waiting(self, kind: SocketType, call: Syscall) -> SocketState {
        if call == Syscall::Connect && kind == SocketType::Stream {
            SocketState::Connecting
        } else {
            self
        }
    }

    /// The state after the kernel answered `done` on this socket.
    pub fn after(self, kind: SocketType, done: &Done) -> SocketState {
        use SocketState as S;
        match done {
            Done::Socket { .. } => S::Fresh,
            Done::Bind { .. } => S::Bound,
            Done::Listen { .. } => S::Listening,
            Done::Connect { .. } => S::Connected,
            // An unbound datagram socket gets an ephemeral port from its first sendto.
            Done::Sendto { .. } if self == S::Fresh => S::Bound,
            // Zero bytes from a stream is end of stream: the peer has closed.
            Done::Recv { data } if data.is_empty() && kind == SocketType::Stream => S::PeerClosed,
            Done::Close => S::Closed,
            _ => match self {
                // A failed connect leaves the socket as it was; a reply other than connect
                // while the connect waits does not change it either.
                S::Connecting => S::Connecting,
                other => other,
            },
        }
    }

    /// The state after an event on this socket.
    pub fn on_event(self, event: &Event) -> SocketState {
        match event {
            Event::PeerClosed if self == SocketState::Connected => SocketState::PeerClosed,
            _ => self,
        }
    }
}

/// A lifecycle as a lesson draws it: the steps in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// socket -> bind -> listen -> accept -> recv/send -> close
    Server,
    /// socket -> connect -> send/recv -> close
    Client,
    /// socket -> bind -> sendto/recvfrom -> close
    Datagram,
    /// The socket accept returned: born connected, recv/send -> close.
    Accepted,
}

/// One box of a lifecycle diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The label drawn, e.g. "recv()/send()".
    pub label: &'static str,
    /// The calls that belong to this step.
    pub calls: &'static [Syscall],
}

impl Path {
    /// The steps of this path, in order.
    pub fn steps(self) -> &'static [Step] {
        const SOCKET: Step = Step {
            label: "socket()",
            calls: &[Syscall::Socket, Syscall::Setsockopt, Syscall::Getsockopt],
        };
        const BIND: Step = Step {
            label: "bind()",
            calls: &[Syscall::Bind],
        };
        const CLOSE: Step = Step {
            label: "close()",
            calls: &[Syscall::Close],
        };
        const IO: Step = Step {
            label: "send()/recv()",
            calls: &[Syscall::Send, Syscall::Recv, Syscall::Shutdown],
        };
        match self {
            Path::Server => &[
                SOCKET,
                BIND,
                Step {
                    label: "listen()",
                    calls: &[Syscall::Listen],
                },
                Step {
                    label: "accept()",
                    calls: &[Syscall::Accept],
                },
                Step {
                    label: "recv()/send()",
                    calls: &[Syscall::Recv, Syscall::Send],
                },
                CLOSE,
            ],
            Path::Client => &[
                SOCKET,
                Step {
                    label: "connect()",
                    calls: &[Syscall::Connect],
                },
                IO,
                CLOSE,
            ],
            Path::Datagram => &[
                SOCKET,
                BIND,
                Step {
                    label: "sendto()/recvfrom()",
                    calls: &[Syscall::Sendto, Syscall::Recvfrom, Syscall::Connect],
                },
                CLOSE,
            ],
            Path::Accepted => &[
                Step {
                    label: "accept() returned",
                    calls: &[Syscall::Accept],
                },
                IO,
                CLOSE,
            ],
        }
    }

    /// Which path a socket is on, from its type, how it was born and its calls so far.
    pub fn of(kind: SocketType, accepted: bool, has_listened: bool, state: SocketState) -> Path {
        match kind {
            SocketType::Datagram => Path::Datagram,
            SocketType::Stream if accepted => Path::Accepted,
            SocketType::Stream if has_listened || state == SocketState::Listening => Path::Server,
            SocketType::Stream => match state {
                SocketState::Connecting | SocketState::Connected | SocketState::PeerClosed => {
                    Path::Client
                }
                // A fresh or bound stream socket could still become either: show the server
                // path once bound (bind is what servers do), the client path before.
                SocketState::Bound => Path::Server,
                _ => Path::Client,
            },
        }
    }

    /// Which step the socket is at, given its state and the last call that succeeded on it.
    pub fn current_step(self, state: SocketState, last: Option<Syscall>) -> usize {
        let steps = self.steps();
        if state == SocketState::Closed {
            return steps.len() - 1;
        }
        let by_state = match (self, state) {
            (Path::Server, SocketState::Listening) => Some(2),
            (Path::Server, SocketState::Bound) => Some(1),
            (Path::Client, SocketState::Connecting) => Some(1),
            (_, SocketState::Fresh) => Some(0),
            _ => None,
        };
        if let Some(step) = by_state {
            return step;
        }
        last.and_then(|call| steps.iter().rposition(|s| s.calls.contains(&call)))
            .unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;
    use crate::protocol::SocketId;

    #[test]
    fn a_server_goes_fresh_bound_listening() {
        let s = SocketState::Fresh;
        let s = s.after(
            SocketType::Stream,
            &Done::Bind {
                local: "127.0.0.1:1".into(),
            },
        );
        assert_eq!(s, SocketState::Bound);
        let s = s.after(
            SocketType::Stream,
            &Done::Listen {
                local: "127.0.0.1:1".into(),
            },
        );
        assert_eq!(s, SocketState::Listening);
        assert!(s.allows(SocketType::Stream, Syscall::Accept));
        assert!(!s.allows(SocketType::Stream, Syscall::Send));
    }

    #[test]
    fn accept_does_not_change_the_listening_socket() {
        let done = Done::Accept {
            socket: SocketId(2),
            fd: 9,
            local: "127.0.0.1:1".into(),
            peer: "127.0.0.1:2".into(),
        };
        assert_eq!(
            SocketState::Listening.after(SocketType::Stream, &done),
            SocketState::Listening
        );
    }

    #[test]
    fn a_client_is_connecting_while_connect_waits() {
        let s = SocketState::Fresh.while_waiting(SocketType::Stream, Syscall::Connect);
        assert_eq!(s, SocketState::Connecting);
        let s = s.after(
            SocketType::Stream,
            &Done::Connect {
                local: "127.0.0.1:50000".into(),
                peer: "127.0.0.1:1".into(),
            },
        );
        assert_eq!(s, SocketState::Connected);
        assert!(s.allows(SocketType::Stream, Syscall::Send));
    }

    #[test]
    fn empty_recv_on_a_stream_means_the_peer_closed() {
        let eof = Done::Recv {
            data: Payload::default(),
        };
        assert_eq!(
            SocketState::Connected.after(SocketType::Stream, &eof),
            SocketState::PeerClosed
        );
        assert_eq!(
            SocketState::Connected.on_event(&Event::PeerClosed),
            SocketState::PeerClosed
        );
    }

    #[test]
    fn an_empty_datagram_is_not_end_of_stream() {
        let empty = Done::Recv {
            data: Payload::default(),
        };
        assert_eq!(
            SocketState::Connected.after(SocketType::Datagram, &empty),
            SocketState::Connected
        );
    }

    #[test]
    fn first_sendto_binds_a_fresh_datagram_socket() {
        let done = Done::Sendto {
            sent: 2,
            local: "0.0.0.0:40000".into(),
        };
        assert_eq!(
            SocketState::Fresh.after(SocketType::Datagram, &done),
            SocketState::Bound
        );
    }

    #[test]
    fn datagram_sockets_never_listen_or_accept() {
        for state in [SocketState::Fresh, SocketState::Bound] {
            assert!(!state.allows(SocketType::Datagram, Syscall::Listen));
            assert!(!state.allows(SocketType::Datagram, Syscall::Accept));
        }
        assert!(SocketState::Bound.allows(SocketType::Datagram, Syscall::Recvfrom));
    }

    #[test]
    fn nothing_but_nothing_after_close() {
        for call in Syscall::ALL {
            assert!(
                !SocketState::Closed.allows(SocketType::Stream, call),
                "{call}"
            );
        }
    }

    #[test]
    fn paths_follow_the_lessons() {
        let labels = |p: Path| p.steps().iter().map(|s| s.label).collect::<Vec<_>>();
        assert_eq!(
            labels(Path::Server),
            [
                "socket()",
                "bind()",
                "listen()",
                "accept()",
                "recv()/send()",
                "close()"
            ]
        );
        assert_eq!(
            labels(Path::Client),
            ["socket()", "connect()", "send()/recv()", "close()"]
        );
        assert_eq!(
            labels(Path::Datagram),
            ["socket()", "bind()", "sendto()/recvfrom()", "close()"]
        );
    }

    #[test]
    fn the_current_step_follows_state_and_last_call() {
        assert_eq!(
            Path::Server.current_step(SocketState::Listening, Some(Syscall::Listen)),
            2
        );
        assert_eq!(
            Path::Server.current_step(SocketState::Listening, Some(Syscall::Accept)),
            2
        );
        assert_eq!(
            Path::Client.current_step(SocketState::Connected, Some(Syscall::Send)),
            2
        );
        assert_eq!(
            Path::Client.current_step(SocketState::Connected, Some(Syscall::Connect)),
            1
        );
        assert_eq!(
            Path::Datagram.current_step(SocketState::Bound, Some(Syscall::Sendto)),
            2
        );
        assert_eq!(Path::Client.current_step(SocketState::Closed, None), 3);
        assert_eq!(
            Path::of(SocketType::Stream, false, true, SocketState::Listening),
            Path::Server
        );
        assert_eq!(
            Path::of(SocketType::Stream, true, false, SocketState::Connected),
            Path::Accepted
        );
    }
}
