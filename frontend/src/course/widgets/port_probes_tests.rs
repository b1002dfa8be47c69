//! `port_probes` (how connects read as scan results and knocks) and `probe_run` (the calls the
//! scan and knock widgets make), on small hand-made transcripts in the relay's real shapes.

use socketlab_shared::{
    CallId, Done, Family, FromRelay, KnockDoor, Machine, Op, Outcome, PortRange, ScanTargets,
    SocketId, SocketType, SysError,
};

use crate::course::widgets::port_probes::{
    Answer, PortState, connects, knock_progress, scan_report, sessions,
};
use crate::course::widgets::probe_run::{AT_ONCE, NO_RESPONSE_MS, ProbeRun, Target};
use crate::session::transcript::Entry;

fn welcome() -> Entry {
    Entry::Message(FromRelay::Welcome {
        version: 2,
        relay: "test".into(),
        os: "linux".into(),
    })
}

fn door() -> KnockDoor {
    KnockDoor {
        knocks: vec![
            "127.0.0.1:41010".into(),
            "127.0.0.1:41011".into(),
            "127.0.0.1:41012".into(),
        ],
        door: "127.0.0.1:41013".into(),
        open_secs: 30,
        about: "knock".into(),
    }
}

fn targets() -> ScanTargets {
    ScanTargets {
        host: "127.0.0.1".into(),
        ports: PortRange {
            first: 41000,
            last: 41002,
        },
        about: "three ports".into(),
    }
}

fn machine() -> Entry {
    Entry::Message(FromRelay::Machine {
        machine: Machine {
            os: "linux".into(),
            root: false,
            unprivileged_port_start: Some(1024),
            ephemeral_ports: None,
            ephemeral_source: None,
            pid: 1,
            user: None,
            namespace_thread: None,
        },
        services: vec![],
        scan: Some(targets()),
    })
}

/// The relay's answer to the knock widget's `knock_door`.
fn knock_answer() -> Entry {
    Entry::Message(FromRelay::KnockDoor {
        knock: Some(door()),
    })
}

fn connect(id: u64, socket: u32, address: &str) -> Entry {
    Entry::Call {
        id: CallId(id),
        op: Op::Connect {
            socket: SocketId(socket),
            address: address.into(),
        },
    }
}

fn close(id: u64, socket: u32) -> Entry {
    Entry::Call {
        id: CallId(id),
        op: Op::Close {
            socket: SocketId(socket),
        },
    }
}

fn reply(id: u64, outcome: Outcome) -> Entry {
    Entry::Message(FromRelay::Reply {
        id: CallId(id),
        outcome,
    })
}

fn refused() -> Outcome {
    Outcome::Error(SysError {
        errno: "ECONNREFUSED".into(),
        code: 111,
        message: "Connection refused".into(),
        explanation: "nothing listens there".into(),
    })
}

fn connected() -> Outcome {
    Outcome::Ok(Done::Connect {
        local: "127.0.0.1:50000".into(),
        peer: "127.0.0.1:41000".into(),
    })
}

fn cancelled() -> Outcome {
    Outcome::Cancelled {
        reason: "the socket was closed".into(),
    }
}

/// A knock (connect to knock address `n`, 0-based) with call and socket id `id`, refused.
fn knock(id: u64, n: usize) -> [Entry; 2] {
    [
        connect(id, id as u32, &door().knocks[n]),
        reply(id, refused()),
    ]
}

#[test]
fn a_scan_reads_open_closed_and_filtered_from_the_kernels_answers() {
    let transcript = vec![
        welcome(),
        machine(),
        knock_answer(),
        connect(1, 1, "127.0.0.1:41000"),
        connect(2, 2, "127.0.0.1:41001"),
        connect(3, 3, "127.0.0.1:41002"),
        reply(1, connected()),
        reply(2, refused()),
        close(4, 3),
        reply(3, cancelled()),
    ];
    let report = scan_report(&transcript, 0, &targets());
    let states: Vec<_> = report.iter().map(|r| r.state()).collect();
    assert_eq!(
        states,
        [
            Some(PortState::Open),
            Some(PortState::Closed),
            Some(PortState::Filtered)
        ]
    );
    assert_eq!(PortState::Filtered.reason(), "no-response");
}

#[test]
fn a_connect_cancelled_without_a_close_or_still_waiting_is_no_result() {
    let transcript = vec![
        welcome(),
        machine(),
        knock_answer(),
        connect(1, 1, "127.0.0.1:41000"),
        // The session ending cancels it, not the scanner: says nothing about the port.
        reply(1, cancelled()),
        connect(2, 2, "127.0.0.1:41001"),
    ];
    let report = scan_report(&transcript, 0, &targets());
    assert_eq!(report[0].state(), None);
    assert!(!report[0].waiting);
    assert_eq!(report[1].state(), None);
    assert!(report[1].waiting);
    assert_eq!(connects(&transcript)[1].answer, Answer::Waiting);
}

#[test]
fn an_answer_beats_a_silence_on_the_same_port() {
    let transcript = vec![
        welcome(),
        machine(),
        knock_answer(),
        connect(1, 1, "127.0.0.1:41000"),
        close(2, 1),
        reply(1, cancelled()),
        connect(3, 3, "127.0.0.1:41000"),
        reply(3, refused()),
    ];
    assert_eq!(
        scan_report(&transcript, 0, &targets())[0].state(),
        Some(PortState::Closed)
    );
}

#[test]
fn connects_of_another_relay_session_do_not_count() {
    let transcript = vec![
        welcome(),
        machine(),
        knock_answer(),
        connect(1, 1, "127.0.0.1:41000"),
        reply(1, connected()),
        welcome(),
        machine(),
        knock_answer(),
    ];
    assert_eq!(sessions(&transcript).len(), 2);
    assert_eq!(
        scan_report(&transcript, 0, &targets())[0].state(),
        Some(PortState::Open)
    );
    assert_eq!(scan_report(&transcript, 1, &targets())[0].state(), None);
}

#[test]
fn knocks_in_order_open_the_door_and_a_wrong_one_starts_again() {
    let mut transcript = vec![welcome(), machine(), knock_answer()];
    transcript.extend(knock(1, 0));
    transcript.extend(knock(2, 1));
    let progress = knock_progress(&transcript, 0, &door());
    assert_eq!(progress.in_order, 2);
    // A wrong knock (the first again counts as a first knock).
    transcript.extend(knock(3, 0));
    assert_eq!(knock_progress(&transcript, 0, &door()).in_order, 1);
    transcript.extend(knock(4, 2));
    assert_eq!(knock_progress(&transcript, 0, &door()).in_order, 0);
    transcript.extend(knock(5, 0));
    transcript.extend(knock(6, 1));
    transcript.extend(knock(7, 2));
    let progress = knock_progress(&transcript, 0, &door());
    assert_eq!(progress.in_order, 0);
    assert!(progress.opened_at.is_some());
    assert_eq!(progress.knocks.iter().filter(|k| k.opened).count(), 1);
    assert!(!progress.knocks[3].right);
}

#[test]
fn a_knock_the_relay_refused_never_reached_the_kernel_and_does_not_count() {
    let mut transcript = vec![welcome(), machine(), knock_answer()];
    transcript.extend(knock(1, 0));
    transcript.push(connect(2, 2, &door().knocks[1]));
    transcript.push(reply(
        2,
        Outcome::Refused {
            rule: "connect_rate".into(),
            reason: "too fast".into(),
        },
    ));
    assert_eq!(knock_progress(&transcript, 0, &door()).in_order, 1);
}

fn socket_reply(id: u64, socket: u32) -> Entry {
    reply(
        id,
        Outcome::Ok(Done::Socket {
            socket: SocketId(socket),
            fd: 3,
            family: Family::Ipv4,
            kind: SocketType::Stream,
        }),
    )
}

/// Sends what the run asks for at `now`, numbering calls from `next`; returns the ops sent.
fn step(run: &mut ProbeRun, transcript: &mut Vec<Entry>, next: &mut u64, now: f64) -> Vec<Op> {
    let requests = run.pump(transcript, now);
    let mut ops = Vec::new();
    for request in requests {
        let id = CallId(*next);
        *next += 1;
        transcript.push(Entry::Call {
            id,
            op: request.op.clone(),
        });
        run.sent(&request, Some(id), now);
        ops.push(request.op);
    }
    ops
}

#[test]
fn a_probe_run_goes_socket_connect_close_a_few_at_a_time() {
    let mut run = ProbeRun::new(0);
    for port in 41000..41005 {
        run.add(Target {
            address: format!("127.0.0.1:{port}"),
            read: false,
        });
    }
    let mut transcript = vec![welcome(), machine(), knock_answer()];
    let mut next = 1;
    let ops = step(&mut run, &mut transcript, &mut next, 0.0);
    assert_eq!(ops.len(), AT_ONCE, "only a few sockets at once");
    assert!(ops.iter().all(|op| matches!(op, Op::Socket { .. })));
    // The kernel makes the first socket: the run connects it.
    transcript.push(socket_reply(1, 1));
    let ops = step(&mut run, &mut transcript, &mut next, 10.0);
    assert_eq!(
        ops,
        [Op::Connect {
            socket: SocketId(1),
            address: "127.0.0.1:41000".into()
        }]
    );
    // Refused at once: the run closes it, and once closed a queued probe starts.
    transcript.push(reply(4, refused()));
    let ops = step(&mut run, &mut transcript, &mut next, 20.0);
    assert_eq!(
        ops,
        [Op::Close {
            socket: SocketId(1)
        }]
    );
    transcript.push(reply(5, Outcome::Ok(Done::Close)));
    let ops = step(&mut run, &mut transcript, &mut next, 30.0);
    assert_eq!(ops.len(), 1);
    assert!(matches!(ops[0], Op::Socket { .. }));
    assert!(!run.finished());
}

#[test]
fn a_connect_with_no_answer_is_given_up_by_closing_its_socket_after_the_timeout() {
    let mut run = ProbeRun::new(0);
    run.add(Target {
        address: "127.0.0.1:41002".into(),
        read: false,
    });
    let mut transcript = vec![welcome(), machine(), knock_answer()];
    let mut next = 1;
    step(&mut run, &mut transcript, &mut next, 0.0);
    transcript.push(socket_reply(1, 7));
    step(&mut run, &mut transcript, &mut next, 0.0);
    // Silence: nothing to do before the timeout...
    assert!(step(&mut run, &mut transcript, &mut next, NO_RESPONSE_MS - 1.0).is_empty());
    // ...then close, which the relay answers by cancelling the connect.
    let ops = step(&mut run, &mut transcript, &mut next, NO_RESPONSE_MS);
    assert_eq!(
        ops,
        [Op::Close {
            socket: SocketId(7)
        }]
    );
    transcript.push(reply(2, cancelled()));
    transcript.push(reply(3, Outcome::Ok(Done::Close)));
    step(&mut run, &mut transcript, &mut next, NO_RESPONSE_MS + 10.0);
    assert!(run.finished());
    let report = scan_report(&transcript, 0, &targets());
    assert_eq!(report[2].state(), Some(PortState::Filtered));
}

#[test]
fn a_door_probe_reads_once_before_closing() {
    let mut run = ProbeRun::new(0);
    run.add(Target {
        address: door().door,
        read: true,
    });
    let mut transcript = vec![welcome(), machine(), knock_answer()];
    let mut next = 1;
    step(&mut run, &mut transcript, &mut next, 0.0);
    transcript.push(socket_reply(1, 1));
    step(&mut run, &mut transcript, &mut next, 0.0);
    transcript.push(reply(2, connected()));
    let ops = step(&mut run, &mut transcript, &mut next, 0.0);
    assert_eq!(
        ops,
        [Op::Recv {
            socket: SocketId(1),
            max: 256
        }]
    );
}

#[test]
fn a_call_that_could_not_be_sent_ends_the_probe_and_says_why() {
    let mut run = ProbeRun::new(0);
    run.add(Target {
        address: "127.0.0.1:41000".into(),
        read: false,
    });
    let transcript = vec![welcome()];
    let requests = run.pump(&transcript, 0.0);
    run.sent(&requests[0], None, 0.0);
    assert!(run.finished());
    assert_eq!(run.problems().len(), 1);
}

#[test]
fn a_connect_the_relay_refused_is_said_next_to_the_table() {
    let mut run = ProbeRun::new(0);
    run.add(Target {
        address: "127.0.0.1:41000".into(),
        read: false,
    });
    let mut transcript = vec![welcome(), machine(), knock_answer()];
    let mut next = 1;
    step(&mut run, &mut transcript, &mut next, 0.0);
    transcript.push(socket_reply(1, 1));
    step(&mut run, &mut transcript, &mut next, 0.0);
    transcript.push(reply(
        2,
        Outcome::Refused {
            rule: "connect_rate".into(),
            reason: "too many connect() calls in a second".into(),
        },
    ));
    let ops = step(&mut run, &mut transcript, &mut next, 0.0);
    assert_eq!(
        ops,
        [Op::Close {
            socket: SocketId(1)
        }]
    );
    assert_eq!(run.problems().len(), 1);
    assert!(
        run.problems()[0].contains("connect_rate"),
        "{:?}",
        run.problems()
    );
}
