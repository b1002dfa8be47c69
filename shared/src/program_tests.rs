//! The program writer against recorded sessions (the course's fixtures, real relay sessions):
//! golden programs in each language (`program/golden/`, rewritten with
//! `SOCKETLAB_BLESS_PROGRAMS=1`), and the plan's rules. Each program is also compiled and run
//! on loopback beside a live relay, its output held against what that relay recorded (port
//! numbers aside): `tests/it/programs.rs`, which needs the relay.

use super::*;
use crate::{FromRelay, Op};

/// A recorded session: its calls and the relay's messages, in order.
struct Recorded {
    calls: Vec<(CallId, Op)>,
    messages: Vec<FromRelay>,
    /// In order: (is a call, index into `calls` or `messages`).
    order: Vec<(bool, usize)>,
}

impl Recorded {
    fn read(name: &str) -> Recorded {
        let path = format!(
            "{}/../frontend/src/course/exercises/fixtures/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut recorded = Recorded {
            calls: Vec::new(),
            messages: Vec::new(),
            order: Vec::new(),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            if let Some(call) = value.get("call") {
                let id: CallId = serde_json::from_value(call["id"].clone()).expect("an id");
                let op: Op = serde_json::from_value(call["op"].clone()).expect("an op");
                recorded.order.push((true, recorded.calls.len()));
                recorded.calls.push((id, op));
            } else if let Some(message) = value.get("message") {
                let message: FromRelay =
                    serde_json::from_value(message.clone()).expect("a message");
                recorded.order.push((false, recorded.messages.len()));
                recorded.messages.push(message);
            }
        }
        recorded
    }

    fn happened(&self) -> Vec<Happened<'_>> {
        self.order
            .iter()
            .filter_map(|&(call, at)| {
                if call {
                    let (id, op) = &self.calls[at];
                    Some(Happened::Call { id: *id, op })
                } else {
                    Happened::of_message(&self.messages[at])
                }
            })
            .collect()
    }
}

/// The lifecycle lessons' sessions: a server and its clients, UDP, EADDRINUSE, ECONNREFUSED (an
/// IPv4 client at an IPv6-only server's port), a restart with SO_REUSEADDR.
const SESSIONS: [&str; 6] = [
    "accept-two-clients",
    "client-round-trip.after-lessons-1-7",
    "three-datagrams",
    "conflict-then-share",
    "ipv6-only-server",
    "restart-with-reuseaddr",
];

fn golden_path(session: &str, language: Language) -> std::path::PathBuf {
    let extension = match language {
        Language::C => "c",
        Language::Python => "py",
        Language::Rust => "rs",
    };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/program/golden")
        .join(format!("{session}.{extension}"))
}

/// Holds `text` against the golden program `name` in `language`, or writes it there when
/// `SOCKETLAB_BLESS_PROGRAMS` is set. `what` names it in a failure.
fn assert_golden(name: &str, language: Language, text: &str, what: &str) {
    let path = golden_path(name, language);
    if std::env::var_os("SOCKETLAB_BLESS_PROGRAMS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&path, text).expect("write the golden program");
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (write it with SOCKETLAB_BLESS_PROGRAMS=1 cargo test -p socketlab-shared program)",
            path.display()
        )
    });
    assert_eq!(text, golden, "{what} in {}", language.name());
}

#[test]
fn each_recorded_session_is_written_as_its_golden_program() {
    for session in SESSIONS {
        let recorded = Recorded::read(session);
        for language in Language::ALL {
            let text = write(language, &recorded.happened()).text();
            assert_golden(session, language, &text, session);
        }
    }
}

#[test]
fn every_line_of_a_call_names_it_and_the_frame_names_none() {
    let recorded = Recorded::read("accept-two-clients");
    for language in Language::ALL {
        let program = write(language, &recorded.happened());
        let calls: std::collections::BTreeSet<CallId> =
            program.lines.iter().filter_map(|l| l.call).collect();
        let asked: std::collections::BTreeSet<CallId> =
            recorded.calls.iter().map(|(id, _)| *id).collect();
        assert_eq!(calls, asked, "{}: every call has lines", language.name());
        assert!(program.lines.first().is_some_and(|l| l.call.is_none()));
    }
}

#[test]
fn a_waiting_accept_runs_on_a_thread_joined_where_it_was_answered() {
    let recorded = Recorded::read("accept-two-clients");
    let program = write(Language::Python, &recorded.happened()).text();
    let start = program
        .find("accept_1 = Waiting(")
        .expect("a thread for the accept");
    let connect = program.find(".connect(").expect("the client's connect");
    let join = program.find("accept_1.answer()").expect("joined");
    assert!(start < connect && connect < join, "{program}");
}

#[test]
fn a_lesson_service_is_named_by_a_constant_in_every_language() {
    // Lessons 4 and 8 talk to the relay's echo_tcp: its port is the relay's, not the
    // learner's, so the program names it and says where it comes from.
    let recorded = Recorded::read("client-round-trip.after-lessons-1-7");
    for (language, declaration, use_) in [
        (
            Language::C,
            "#define ECHO_TCP_PORT 46121",
            "make_address(&addr, \"127.0.0.1\", ECHO_TCP_PORT)",
        ),
        (
            Language::Python,
            "ECHO_TCP_PORT = 46121",
            "connect((\"127.0.0.1\", ECHO_TCP_PORT))",
        ),
        (
            Language::Rust,
            "const ECHO_TCP_PORT: u16 = 46121;",
            "at(\"127.0.0.1\", ECHO_TCP_PORT)",
        ),
    ] {
        let text = write(language, &recorded.happened()).text();
        assert_eq!(text.matches(declaration).count(), 1, "{text}");
        assert!(text.contains(use_), "{text}");
        assert!(text.contains("echo_tcp lesson service"), "{text}");
        // Only the service the session reached: echo_udp shares the number, forward_tcp not.
        assert!(!text.contains("ECHO_UDP_PORT") && !text.contains("FORWARD_TCP_PORT"));
        assert!(
            !text.contains("\", 46121)"),
            "no call writes the number: {text}"
        );
    }
}

#[test]
fn a_datagram_to_the_service_port_names_the_udp_service() {
    // echo_tcp and echo_udp share one number: the socket's type says which one it is.
    let mut recorded = Recorded::read("client-round-trip.after-lessons-1-7");
    let machine = recorded
        .messages
        .iter()
        .find(|m| matches!(m, FromRelay::Machine { .. }))
        .cloned()
        .expect("a machine message");
    recorded.calls.clear();
    recorded.messages = vec![machine];
    recorded.order = vec![(false, 0)];
    let socket = Op::Socket {
        family: crate::Family::Ipv4,
        kind: crate::SocketType::Datagram,
    };
    let sendto = Op::Sendto {
        socket: crate::SocketId(1),
        data: crate::Payload::from(b"hi".to_vec()),
        address: "127.0.0.1:46121".into(),
    };
    let socket_done = crate::Outcome::Ok(crate::Done::Socket {
        socket: crate::SocketId(1),
        fd: 20,
        family: crate::Family::Ipv4,
        kind: crate::SocketType::Datagram,
    });
    let sendto_done = crate::Outcome::Ok(crate::Done::Sendto {
        sent: 2,
        local: "127.0.0.1:40000".into(),
    });
    let mut happened = recorded.happened();
    happened.extend([
        Happened::Call {
            id: CallId(1),
            op: &socket,
        },
        Happened::Reply {
            id: CallId(1),
            outcome: &socket_done,
        },
        Happened::Call {
            id: CallId(2),
            op: &sendto,
        },
        Happened::Reply {
            id: CallId(2),
            outcome: &sendto_done,
        },
    ]);
    let text = write(Language::Python, &happened).text();
    assert!(text.contains("ECHO_UDP_PORT = 46121"), "{text}");
    assert!(
        text.contains("sendto(b\"hi\", (\"127.0.0.1\", ECHO_UDP_PORT))"),
        "{text}"
    );
    assert!(!text.contains("ECHO_TCP_PORT"), "{text}");
}

#[test]
fn a_call_on_a_socket_made_before_the_part_written_is_left_out_and_says_so() {
    // The program of an exercise starts where the lesson page opened; a socket of an earlier
    // lesson is not in it, so its calls cannot be written (there is no variable to call).
    let recorded = Recorded::read("accept-two-clients");
    let all = recorded.happened();
    // From the second socket() on: the listener (s1) was made before.
    let from = all
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            matches!(
                h,
                Happened::Call {
                    op: Op::Socket { .. },
                    ..
                }
            )
        })
        .nth(1)
        .map(|(at, _)| at)
        .expect("a second socket()");
    for language in Language::ALL {
        let text = write(language, &all[from..]).text();
        assert!(
            text.contains("accept left out: it uses s1, a socket made before"),
            "{}: {text}",
            language.name()
        );
        assert!(!text.contains("listener"), "{text}");
    }
}

/// The sessions that split into a server and a client program, and how (golden programs
/// `SESSION.server.EXT` and `SESSION.client.EXT`).
const SPLIT: [&str; 3] = ["accept-two-clients", "three-datagrams", "ipv6-only-server"];

#[test]
fn each_session_that_splits_is_written_as_its_golden_server_and_client() {
    for session in SPLIT {
        let recorded = Recorded::read(session);
        for language in Language::ALL {
            let halves = split(language, &recorded.happened())
                .unwrap_or_else(|why| panic!("{session} does not split: {why}"));
            for (half, program) in [("server", &halves.server), ("client", &halves.client)] {
                let name = format!("{session}.{half}");
                assert_golden(
                    &name,
                    language,
                    &program.text(),
                    &format!("{session}'s {half}"),
                );
            }
        }
    }
}

#[test]
fn a_split_says_when_to_start_the_client_and_which_line_holds_its_port() {
    let recorded = Recorded::read("accept-two-clients");
    let halves = split(Language::C, &recorded.happened()).expect("it splits");
    // The server's socket, bind and listen come before the client's first call; the port
    // the client connects to is the bind's.
    assert_eq!(halves.guide.ready_after, 3);
    assert_eq!(
        halves.guide.arguments,
        vec![Argument {
            name: "listener_port".into(),
            printed_on: 1
        }]
    );
    // Its last call is an accept, after the client's last connect: it need not wait.
    assert!(!halves.guide.server_waits);
    let (server, client) = expected_split(&recorded.happened()).expect("it splits");
    assert_eq!(server[1], "bind: 127.0.0.1:50771");
    assert!(server.iter().filter(|l| l.starts_with("accept")).count() == 2);
    assert!(client.iter().all(|l| !l.starts_with("accept")));
    // The accept waited for the client in the lab: in the server alone it is just a call.
    let text = halves.server.text();
    assert!(!text.contains("pthread"), "{text}");
    assert!(
        halves
            .client
            .text()
            .contains("int listener_port = atoi(argv[1]);")
    );

    // An IPv6-only server: the client's last connect is refused after the server's last
    // call, so the server keeps its socket until Enter.
    let recorded = Recorded::read("ipv6-only-server");
    let halves = split(Language::Python, &recorded.happened()).expect("it splits");
    assert!(halves.guide.server_waits);
    assert!(halves.server.text().contains("sys.stdin.readline()"));
}

#[test]
fn a_session_whose_order_two_programs_would_lose_stays_one_program_and_says_why() {
    for (session, why) in [
        // The restarted server's socket() comes after the client began.
        (
            "restart-with-reuseaddr",
            "the server's socket() (call 12) came after the client began",
        ),
        // No client and server at all: two binds and a conflict.
        ("conflict-then-share", "nothing listens"),
        // Lesson 8's client talks to the relay's echo service: the earlier lessons' listener
        // came after it.
        (
            "client-round-trip.after-lessons-1-7",
            "came after the client began",
        ),
    ] {
        let recorded = Recorded::read(session);
        for language in Language::ALL {
            let error = split(language, &recorded.happened())
                .expect_err(&format!("{session} must not split"));
            assert!(error.contains(why), "{session}: {error}");
        }
        assert!(expected_split(&Recorded::read(session).happened()).is_err());
    }
}
