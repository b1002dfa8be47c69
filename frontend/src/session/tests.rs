//! The session reducer's rules, each pinned by the messages a real relay sends.

use socketlab_shared::{Done, Event, Family, Outcome, Path, SocketId, SocketType, SysError};

use super::*;

fn s(n: u32) -> SocketId {
    SocketId(n)
}

fn welcome() -> Action {
    Action::Received {
        msg: FromRelay::Welcome {
            version: PROTOCOL_VERSION,
            relay: "0.1.0".into(),
            os: "linux".into(),
        },
        at: 1.0,
    }
}

fn live() -> Session {
    let mut session = Session::default();
    session.apply(welcome());
    session
}

fn sent(session: &mut Session, id: u64, op: Op, slot: Option<Slot>) {
    session.apply(Action::CallSent {
        id: CallId(id),
        op,
        slot,
        at: id as f64 * 10.0,
    });
}

fn ok(session: &mut Session, id: u64, done: Done) {
    session.apply(Action::Received {
        msg: FromRelay::Reply {
            id: CallId(id),
            outcome: Outcome::Ok(done),
        },
        at: id as f64 * 10.0 + 1.0,
    });
}

fn stream_socket(session: &mut Session, id: u64, socket: u32, slot: Slot) {
    sent(
        session,
        id,
        Op::Socket {
            family: Family::Ipv4,
            kind: SocketType::Stream,
        },
        Some(slot),
    );
    ok(
        session,
        id,
        Done::Socket {
            socket: s(socket),
            fd: 10 + socket as i32,
            family: Family::Ipv4,
            kind: SocketType::Stream,
        },
    );
}

/// A server socket s1 bound to 127.0.0.1:41000 and listening.
fn listening_server() -> Session {
    let mut session = live();
    stream_socket(&mut session, 1, 1, Slot::Server);
    let bind = Op::Bind {
        socket: s(1),
        address: "127.0.0.1:0".into(),
    };
    sent(&mut session, 2, bind, None);
    ok(
        &mut session,
        2,
        Done::Bind {
            local: "127.0.0.1:41000".into(),
        },
    );
    let listen = Op::Listen {
        socket: s(1),
        backlog: 16,
    };
    sent(&mut session, 3, listen, None);
    ok(
        &mut session,
        3,
        Done::Listen {
            local: "127.0.0.1:41000".into(),
        },
    );
    session
}

#[test]
fn welcome_makes_the_link_live() {
    let session = live();
    assert_eq!(session.link.status(), "live");
    assert_eq!(session.sessions, 1);
}

#[test]
fn a_reply_to_socket_adds_a_fresh_socket_to_its_panel() {
    let mut session = live();
    stream_socket(&mut session, 1, 1, Slot::Server);
    let view = session.socket(s(1)).expect("socket s1");
    assert_eq!(view.state, SocketState::Fresh);
    assert_eq!(view.fd, 11);
    assert_eq!(view.role, Role::Server);
    assert_eq!(session.panels[0].socket, Some(s(1)));
    assert!(session.pending.is_empty());
}

#[test]
fn socket_for_a_new_panel_adds_a_panel() {
    let mut session = live();
    stream_socket(&mut session, 1, 4, Slot::New);
    assert_eq!(session.panels.len(), 3);
    assert_eq!(session.panels[2].socket, Some(s(4)));
    assert_eq!(session.socket(s(4)).map(|v| v.role), Some(Role::Extra));
}

#[test]
fn bind_to_port_zero_shows_the_port_the_kernel_chose() {
    let session = listening_server();
    let view = session.socket(s(1)).expect("s1");
    assert_eq!(view.local.as_deref(), Some("127.0.0.1:41000"));
    assert_eq!(view.state, SocketState::Listening);
    assert!(view.has_listened);
    let bind = &view.results[&Syscall::Bind];
    assert!(bind.ok);
    assert!(
        bind.text.contains("the kernel chose port 41000"),
        "{}",
        bind.text
    );
}

#[test]
fn a_pending_accept_waits_and_its_reply_adds_a_new_connected_socket() {
    let mut session = listening_server();
    sent(&mut session, 4, Op::Accept { socket: s(1) }, None);
    assert_eq!(session.pending_on(s(1)), vec![Syscall::Accept]);
    assert_eq!(
        session.socket(s(1)).map(|v| v.state),
        Some(SocketState::Listening)
    );
    ok(
        &mut session,
        4,
        Done::Accept {
            socket: s(3),
            fd: 14,
            local: "127.0.0.1:41000".into(),
            peer: "127.0.0.1:53712".into(),
        },
    );
    let new = session.socket(s(3)).expect("accepted socket");
    assert_eq!(new.state, SocketState::Connected);
    assert_eq!(new.role, Role::Accepted { from: s(1) });
    assert_eq!(new.peer.as_deref(), Some("127.0.0.1:53712"));
    assert_eq!(new.path(), Path::Accepted);
    let listener = session.socket(s(1)).expect("s1");
    assert_eq!(
        listener.state,
        SocketState::Listening,
        "the listener keeps listening"
    );
    assert_eq!(listener.accepted, vec![s(3)]);
    assert!(
        session
            .panels
            .iter()
            .any(|p| p.socket == Some(s(3)) && p.slot == Slot::New)
    );
    assert!(session.pending.is_empty());
}

#[test]
fn connect_pending_shows_connecting_and_its_reply_the_ephemeral_port() {
    let mut session = listening_server();
    stream_socket(&mut session, 4, 2, Slot::Client);
    let connect = Op::Connect {
        socket: s(2),
        address: "127.0.0.1:41000".into(),
    };
    sent(&mut session, 5, connect, None);
    assert_eq!(
        session.socket(s(2)).map(|v| v.state),
        Some(SocketState::Connecting)
    );
    ok(
        &mut session,
        5,
        Done::Connect {
            local: "127.0.0.1:53712".into(),
            peer: "127.0.0.1:41000".into(),
        },
    );
    let client = session.socket(s(2)).expect("s2");
    assert_eq!(client.state, SocketState::Connected);
    assert_eq!(client.local.as_deref(), Some("127.0.0.1:53712"));
    assert!(
        client.results[&Syscall::Connect]
            .text
            .contains("port 53712")
    );
}

#[test]
fn a_refused_connect_leaves_the_socket_as_it_was_and_explains() {
    let mut session = live();
    stream_socket(&mut session, 1, 2, Slot::Client);
    let connect = Op::Connect {
        socket: s(2),
        address: "127.0.0.1:9".into(),
    };
    sent(&mut session, 2, connect, None);
    session.apply(Action::Received {
        msg: FromRelay::Reply {
            id: CallId(2),
            outcome: Outcome::Error(SysError {
                errno: "ECONNREFUSED".into(),
                code: 111,
                message: "Connection refused".into(),
                explanation: "Nothing is listening on that address and port.".into(),
            }),
        },
        at: 30.0,
    });
    let client = session.socket(s(2)).expect("s2");
    assert_eq!(client.state, SocketState::Fresh);
    let last = session.log.last().expect("a log entry");
    assert_eq!(last.kind, LogKind::Error);
    assert_eq!(
        last.headline,
        "connect() failed: ECONNREFUSED (111, Connection refused)"
    );
    assert_eq!(
        last.detail.as_deref(),
        Some(
            "Nothing is listening on that address and port. Elsewhere: macOS: 61; Windows: \
             WSAECONNREFUSED, 10061."
        ),
        "the explanation, then what the relay's platform (Linux) does not say"
    );
    assert!(!client.results[&Syscall::Connect].ok);
}

#[test]
fn a_policy_refusal_is_logged_apart_from_kernel_errors_with_its_reason_and_no_errno() {
    let mut session = live();
    stream_socket(&mut session, 1, 2, Slot::Client);
    let connect = Op::Connect {
        socket: s(2),
        address: "127.0.0.1:6000".into(),
    };
    sent(&mut session, 2, connect, None);
    session.apply(Action::Received {
        msg: FromRelay::Reply {
            id: CallId(2),
            outcome: Outcome::Refused {
                rule: "connect_bad_port".into(),
                reason: "port 6000 is on the browsers' list of bad ports".into(),
            },
        },
        at: 30.0,
    });
    let client = session.socket(s(2)).expect("s2");
    assert_eq!(client.state, SocketState::Fresh);
    let last = session.log.last().expect("a log entry");
    assert_eq!(last.kind, LogKind::Refused);
    assert!(
        last.headline.contains("connect_bad_port"),
        "{}",
        last.headline
    );
    assert!(
        last.headline.contains("kernel was not asked"),
        "{}",
        last.headline
    );
    assert!(!last.headline.contains("errno") && !last.headline.contains("failed"));
    assert_eq!(
        last.detail.as_deref(),
        Some("port 6000 is on the browsers' list of bad ports")
    );
    assert!(!client.results[&Syscall::Connect].ok);
}

#[test]
fn a_cancelled_accept_leaves_the_listener_and_ends_the_wait() {
    let mut session = listening_server();
    sent(&mut session, 4, Op::Accept { socket: s(1) }, None);
    sent(&mut session, 5, Op::Close { socket: s(1) }, None);
    session.apply(Action::Received {
        msg: FromRelay::Reply {
            id: CallId(4),
            outcome: Outcome::Cancelled {
                reason: "socket s1 was closed while accept() was waiting".into(),
            },
        },
        at: 51.0,
    });
    assert_eq!(
        session.socket(s(1)).map(|v| v.state),
        Some(SocketState::Listening)
    );
    ok(&mut session, 5, Done::Close);
    assert_eq!(
        session.socket(s(1)).map(|v| v.state),
        Some(SocketState::Closed)
    );
    assert!(session.pending.is_empty());
}

#[test]
fn events_update_the_socket_they_name() {
    let mut session = listening_server();
    session.apply(Action::Received {
        msg: FromRelay::Event {
            socket: s(1),
            event: Event::ConnectionWaiting,
        },
        at: 40.0,
    });
    assert!(session.socket(s(1)).is_some_and(|v| v.connection_waiting));
    stream_socket(&mut session, 4, 2, Slot::Client);
    // Make s2 connected, then the peer closes.
    sent(
        &mut session,
        5,
        Op::Connect {
            socket: s(2),
            address: "127.0.0.1:41000".into(),
        },
        None,
    );
    ok(
        &mut session,
        5,
        Done::Connect {
            local: "127.0.0.1:50000".into(),
            peer: "127.0.0.1:41000".into(),
        },
    );
    session.apply(Action::Received {
        msg: FromRelay::Event {
            socket: s(2),
            event: Event::PeerClosed,
        },
        at: 60.0,
    });
    assert_eq!(
        session.socket(s(2)).map(|v| v.state),
        Some(SocketState::PeerClosed)
    );
    assert_eq!(session.log.last().map(|e| e.kind), Some(LogKind::Event));
}

#[test]
fn received_bytes_are_logged_with_their_data() {
    let mut session = listening_server();
    sent(
        &mut session,
        4,
        Op::Recv {
            socket: s(1),
            max: 4096,
        },
        None,
    );
    ok(
        &mut session,
        4,
        Done::Recv {
            data: Payload::from("hi\n"),
        },
    );
    let last = session.log.last().expect("entry");
    assert_eq!(last.data, Some(Payload::from("hi\n")));
    assert!(last.headline.contains(r#""hi\n""#), "{}", last.headline);
}

#[test]
fn the_log_keeps_every_call_reply_and_event_in_order() {
    let mut session = listening_server();
    let kinds: Vec<LogKind> = session.log.entries().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            LogKind::Link,
            LogKind::Call,
            LogKind::Reply,
            LogKind::Call,
            LogKind::Reply,
            LogKind::Call,
            LogKind::Reply
        ]
    );
    let times: Vec<Millis> = session.log.entries().iter().map(|e| e.at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    session.apply(Action::Received {
        msg: FromRelay::Malformed {
            reason: "expected value".into(),
        },
        at: 99.0,
    });
    assert_eq!(session.log.len(), 8);
}

#[test]
fn a_reply_nobody_waits_for_is_logged_not_applied() {
    let mut session = live();
    ok(
        &mut session,
        42,
        Done::Bind {
            local: "127.0.0.1:1".into(),
        },
    );
    assert!(session.sockets.is_empty());
    assert_eq!(session.log.last().map(|e| e.kind), Some(LogKind::Error));
}

#[test]
fn losing_the_link_ends_pending_calls_and_a_new_session_starts_clean() {
    let mut session = listening_server();
    sent(&mut session, 4, Op::Accept { socket: s(1) }, None);
    session.apply(Action::LinkLost {
        attempt: 1,
        retry_at: 600.0,
        reason: "the WebSocket closed (code 1006)".into(),
        at: 100.0,
    });
    assert_eq!(session.link.status(), "lost");
    assert!(session.pending.is_empty());
    assert_eq!(
        session.socket(s(1)).map(|v| v.state),
        Some(SocketState::Closed)
    );
    session.apply(Action::LinkConnecting {
        attempt: 2,
        at: 600.0,
    });
    assert_eq!(session.link.status(), "connecting");
    session.apply(welcome());
    assert!(session.sockets.is_empty());
    assert_eq!(session.panels, fixed_panels());
    assert_eq!(session.sessions, 2);
}

#[test]
fn a_call_that_could_not_be_sent_is_logged_as_an_error() {
    let mut session = Session::default();
    session.apply(Action::CallNotSent {
        op: Op::Accept { socket: s(1) },
        reason: "the relay is not connected".into(),
        at: 5.0,
    });
    assert!(session.pending.is_empty());
    assert_eq!(
        session.log.last().map(|e| e.headline).as_deref(),
        Some("accept(s1) was not sent: the relay is not connected")
    );
}

#[test]
fn an_accepted_socket_starts_at_accept_returned() {
    let mut session = listening_server();
    sent(&mut session, 4, Op::Accept { socket: s(1) }, None);
    ok(
        &mut session,
        4,
        Done::Accept {
            socket: s(3),
            fd: 14,
            local: "127.0.0.1:41000".into(),
            peer: "127.0.0.1:53712".into(),
        },
    );
    let new = session.socket(s(3)).expect("s3");
    assert_eq!(new.path().current_step(new.state, new.last_ok), 0);
    let server = session.socket(s(1)).expect("s1");
    assert_eq!(server.path().current_step(server.state, server.last_ok), 2);
}

#[test]
fn capabilities_kernel_rows_and_packets_reach_the_kernel_watch() {
    let mut session = live();
    let capabilities = r#"{"type":"capabilities","kernel_view":{"status":"available"},"capture":{"status":"unavailable","reason":"capturing packets needs CAP_NET_RAW, which this relay does not have","remedy":"sudo setcap cap_net_raw+ep /usr/local/bin/socketlab-relay"}}"#;
    let kernel = r#"{"type":"kernel","sockets":[{"socket":1,"detached":null,"transport":"tcp","state":"LISTEN","local":"127.0.0.1:41000","remote":"0.0.0.0:*","recv_q":0,"send_q":16}]}"#;
    let packet = r#"{"type":"packet","packet":{"at_us":1042,"transport":"tcp","src":"127.0.0.1:53712","dst":"127.0.0.1:41000","flags":["SYN"],"seq":0,"ack":null,"window":65495,"len":0,"head":""}}"#;
    for (i, json) in [capabilities, kernel, packet].into_iter().enumerate() {
        let msg: FromRelay = serde_json::from_str(json).unwrap();
        session.apply(Action::Received {
            msg,
            at: 100.0 + i as f64,
        });
    }
    assert_eq!(
        session.kernel.kernel_view,
        Some(socketlab_shared::Availability::Available)
    );
    assert!(matches!(
        session.kernel.capture,
        Some(socketlab_shared::Availability::Unavailable { .. })
    ));
    assert_eq!(session.kernel.rows.len(), 1);
    assert_eq!(session.kernel.packets.len(), 1);
    let kinds: Vec<LogKind> = session.log.entries().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [LogKind::Link, LogKind::Link, LogKind::Kernel],
        "welcome, capabilities, one state change; no line per packet"
    );
    assert_eq!(
        session.log.entries()[1].headline,
        "Kernel view on, packet capture off"
    );
    assert_eq!(
        session.log.entries()[2].headline,
        "In the kernel: s1 is LISTEN"
    );

    // A new relay session starts with nothing the kernel said about the last one.
    session.apply(welcome());
    assert_eq!(
        session.kernel,
        crate::session::kernel_watch::KernelWatch::default()
    );
}

#[test]
fn a_socket_a_lesson_widget_makes_gets_no_panel_but_is_in_the_table() {
    let mut session = live();
    let panels_before = session.panels.len();
    // A lab button makes socket() for a panel (a slot); a widget's socket() has none.
    sent(
        &mut session,
        1,
        Op::Socket {
            family: Family::Ipv4,
            kind: SocketType::Stream,
        },
        None,
    );
    ok(
        &mut session,
        1,
        Done::Socket {
            socket: s(1),
            fd: 11,
            family: Family::Ipv4,
            kind: SocketType::Stream,
        },
    );
    assert_eq!(session.panels.len(), panels_before);
    assert!(session.panels.iter().all(|p| p.socket != Some(s(1))));
    assert!(session.sockets.contains_key(&s(1)));
    // A socket made with "+ add socket" still gets a new panel.
    stream_socket(&mut session, 2, 2, Slot::New);
    assert!(session.panels.iter().any(|p| p.socket == Some(s(2))));
}

#[test]
fn the_log_keeps_the_newest_entries_and_counts_the_ones_it_dropped() {
    let mut session = live();
    let before = session.log.len();
    let extra = 7;
    for n in 0..(LOG_CAP - before + extra) {
        sent(&mut session, n as u64 + 1, Op::Close { socket: s(1) }, None);
    }
    assert_eq!(session.log.len(), LOG_CAP);
    assert_eq!(session.log.dropped(), extra as u64);
    let entries = session.log.entries();
    assert_eq!(
        entries[0].call,
        Some(CallId(extra as u64 - before as u64 + 1))
    );
    assert_eq!(
        entries[LOG_CAP - 1].call,
        Some(CallId((LOG_CAP - before + extra) as u64))
    );
}

#[test]
fn a_reduce_shares_the_long_lists_and_leaves_the_old_session_as_it_was() {
    // The reducer clones the session for yew on every action: the log, the transcript and the
    // packets must be appended in place, not copied, and the old session must keep its own.
    let mut first = live();
    for n in 1..=50 {
        sent(&mut first, n, Op::Close { socket: s(1) }, None);
    }
    let old = Rc::new(first);
    let kept = Rc::clone(&old);
    let next = old.reduce(Action::CallSent {
        id: CallId(51),
        op: Op::Close { socket: s(1) },
        slot: None,
        at: 510.0,
    });
    assert!(next.log.shares_buffer_with(&kept.log), "the log was copied");
    assert!(
        next.course
            .transcript
            .shares_buffer_with(&kept.course.transcript),
        "the transcript was copied"
    );
    assert_eq!(next.log.len(), kept.log.len() + 1);
    assert_eq!(
        next.course.transcript.len(),
        kept.course.transcript.len() + 1
    );
    assert_eq!(kept.log.last().and_then(|e| e.call), Some(CallId(50)));
    assert_eq!(next.log.last().and_then(|e| e.call), Some(CallId(51)));
    assert_ne!(*next, *kept);
}
