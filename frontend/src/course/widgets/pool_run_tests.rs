//! The port-pool run against a scripted kernel: the calls it makes in order, how it reads
//! each reply from the transcript, and how it ends (every port held, one free, failed, lost).

use socketlab_shared::{CallId, Done, FromRelay, Op, Outcome, SocketId, SysError};

use crate::course::widgets::pool_run::{End, POOL_SIZE, PoolRun};
use crate::session::transcript::Entry;

const ECHO: &str = "127.0.0.1:7007";

fn errno(name: &str, code: i32) -> Outcome {
    Outcome::Error(SysError {
        errno: name.into(),
        code,
        message: "Address already in use".into(),
        explanation: String::new(),
    })
}

/// A scripted kernel: sockets count from 1, bind to port 0 gives odd ports from 33001, and
/// `answer` may override any reply.
struct Kernel {
    next_socket: u32,
    next_port: u16,
    transcript: Vec<Entry>,
    next_id: u64,
}

impl Kernel {
    fn new() -> Kernel {
        Kernel {
            next_socket: 1,
            next_port: 33001,
            transcript: vec![Entry::Message(FromRelay::Welcome {
                version: 2,
                relay: "test".into(),
                os: "linux".into(),
            })],
            next_id: 1,
        }
    }

    fn usual(&mut self, op: &Op) -> Outcome {
        Outcome::Ok(match op {
            Op::Socket { family, kind } => {
                let socket = SocketId(self.next_socket);
                self.next_socket += 1;
                Done::Socket {
                    socket,
                    fd: 10 + socket.0 as i32,
                    family: *family,
                    kind: *kind,
                }
            }
            Op::Bind { address, .. } if address.ends_with(":0") => {
                let port = self.next_port;
                self.next_port += 2;
                Done::Bind {
                    local: format!("127.0.0.1:{port}"),
                }
            }
            Op::Bind { .. } => return errno("EADDRINUSE", 98),
            Op::Connect { .. } => Done::Connect {
                local: format!("127.0.0.1:{}", self.next_port - 2),
                peer: ECHO.into(),
            },
            Op::Close { .. } => Done::Close,
            other => panic!("the pool run made an unexpected call: {other:?}"),
        })
    }

    /// Runs `run` to its end; `answer` may replace the usual reply to a call.
    fn drive(&mut self, run: &mut PoolRun, mut answer: impl FnMut(&Op) -> Option<Outcome>) {
        for _ in 0..100 {
            let Some(op) = run.next_op() else {
                assert!(!run.running(), "a running run always has a call to make");
                return;
            };
            let id = CallId(self.next_id);
            self.next_id += 1;
            self.transcript.push(Entry::Call { id, op: op.clone() });
            run.sent(&op, Some(id));
            assert!(run.next_op().is_none(), "one call at a time");
            assert!(!run.pump(&self.transcript), "no reply yet");
            let outcome = answer(&op).unwrap_or_else(|| self.usual(&op));
            self.transcript
                .push(Entry::Message(FromRelay::Reply { id, outcome }));
            assert!(run.pump(&self.transcript));
        }
        panic!("the run never ended");
    }
}

#[test]
fn a_pool_in_time_wait_refuses_every_bind_of_the_next_socket() {
    let mut kernel = Kernel::new();
    let mut run = PoolRun::new(ECHO.into());
    kernel.drive(&mut run, |_| None);
    assert_eq!(run.end, Some(End::AllHeld));
    assert_eq!(run.ports, vec![33001, 33003, 33005, 33007]);
    assert_eq!(run.refused, run.ports);
    // Four calls per pool port, then socket, one bind per pool port, close.
    assert_eq!(run.lines.len(), POOL_SIZE * 4 + 1 + POOL_SIZE + 1);
    assert!(run.lines.iter().all(|l| l.result.is_some()));
    let calls: Vec<&str> = run.lines.iter().map(|l| l.call.as_str()).collect();
    assert_eq!(calls[0], "socket(AF_INET, SOCK_STREAM)");
    assert_eq!(calls[1], "bind(s1, 127.0.0.1:0)");
    assert_eq!(calls[2], format!("connect(s1, {ECHO})"));
    assert_eq!(calls[3], "close(s1)");
    assert_eq!(calls[17], "bind(s5, 127.0.0.1:33001)");
    assert_eq!(calls.last(), Some(&"close(s5)"));
    assert!(!run.running());
    // A pool socket's close() is not said to free its port: TIME_WAIT keeps it.
    let closed = run.lines[3].result.as_ref().expect("answered");
    assert!(closed.0 && closed.1.contains("TIME_WAIT"), "{closed:?}");
    let refused = run.lines[17].result.as_ref().expect("answered");
    assert!(
        !refused.0 && refused.1.starts_with("→ EADDRINUSE (98)"),
        "{refused:?}"
    );
}

#[test]
fn a_pool_port_that_binds_again_is_said_and_the_socket_closed() {
    let mut kernel = Kernel::new();
    let mut run = PoolRun::new(ECHO.into());
    kernel.drive(&mut run, |op| match op {
        Op::Bind { address, .. } if address.ends_with(":33005") => Some(Outcome::Ok(Done::Bind {
            local: address.clone(),
        })),
        _ => None,
    });
    assert_eq!(run.end, Some(End::OneFree(33005)));
    assert_eq!(run.refused, vec![33001, 33003]);
    assert_eq!(run.lines.last().map(|l| l.call.as_str()), Some("close(s5)"));
}

#[test]
fn a_refused_connect_ends_the_run_and_closes_its_socket() {
    let mut kernel = Kernel::new();
    let mut run = PoolRun::new(ECHO.into());
    kernel.drive(&mut run, |op| {
        matches!(op, Op::Connect { .. }).then(|| Outcome::Refused {
            rule: "connect_not_allowed".into(),
            reason: "not a port of this session".into(),
        })
    });
    let Some(End::Failed(why)) = &run.end else {
        panic!("expected a failure, got {:?}", run.end);
    };
    assert!(
        why.contains("connect() to the echo service failed"),
        "{why}"
    );
    assert!(why.contains("connect_not_allowed"), "{why}");
    let calls: Vec<&str> = run.lines.iter().map(|l| l.call.as_str()).collect();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[3], "close(s1)");
    assert!(!run.running());
}

#[test]
fn a_new_relay_session_or_a_call_not_sent_ends_the_run() {
    let mut run = PoolRun::new(ECHO.into());
    let op = run.next_op().expect("the first call");
    let mut transcript = vec![Entry::Call {
        id: CallId(1),
        op: op.clone(),
    }];
    run.sent(&op, Some(CallId(1)));
    assert!(!run.pump(&transcript));
    transcript.push(Entry::Message(FromRelay::Welcome {
        version: 2,
        relay: "test".into(),
        os: "linux".into(),
    }));
    assert!(run.pump(&transcript));
    assert!(matches!(run.end, Some(End::Failed(_))));
    assert!(!run.running() && run.next_op().is_none());

    let mut unsent = PoolRun::new(ECHO.into());
    let op = unsent.next_op().expect("the first call");
    unsent.sent(&op, None);
    assert!(matches!(&unsent.end, Some(End::Failed(why)) if why.contains("not connected")));
    assert!(!unsent.running());
}

#[test]
fn the_widget_names_what_it_shows_and_what_it_does_not() {
    // bind(2): EADDRINUSE, the address is in use; connect(2): EADDRNOTAVAIL, no ephemeral
    // port left. The pool's refusals are the first, never the second.
    use crate::course::widgets::port_pool::{all_held, description};
    let before = description();
    assert!(
        before.contains("bind() (EADDRINUSE)") || before.contains("refusing a bind() (EADDRINUSE)"),
        "{before}"
    );
    assert!(
        before.contains("does not show connect() running out of ephemeral ports (EADDRNOTAVAIL)"),
        "{before}"
    );
    let (headline, why) = all_held(4, 4);
    let verdict = format!("{headline}{why}");
    assert!(
        !verdict.contains("exhausted"),
        "the verdict calls held ports an exhausted range: {verdict}"
    );
    assert!(
        headline.contains("EADDRINUSE 4 times out of 4"),
        "{headline}"
    );
    assert!(
        why.contains("not the ephemeral range running out") && why.contains("EADDRNOTAVAIL"),
        "{why}"
    );
}
