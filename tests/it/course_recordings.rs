//! The recorder of the course's exercise fixtures: real sessions with the real relay (started
//! in-process by `support`), one per exercise and one per near miss recorded for real, written as
//! the page's transcript would hold them, one JSON object a line, to
//! `frontend/src/course/exercises/fixtures/`. The frontend's exercise tests replay them. The
//! modules: `ports_in_use` (lessons 11-15), `addresses` (16-17), `scanning` (18-20), `hurried`
//! (lessons 1-10's hurried paths) and `leftovers` (sessions that follow the earlier lessons' steps
//! first, named `*.after-lessons-*`, with a passing control).
//!
//! In every test run each recording is made again and checked against its committed fixture
//! ([`signature`]: every line decodes as `Op` / `FromRelay`, and the sorted calls, socket ids and
//! kernel-chosen ports left out, have the same outcomes: ok, the errno, the rule), so a change to
//! the relay or the protocol that would make a fixture say something the relay no longer says fails
//! here, not silently in the course. Four recordings cannot be compared (their outcome depends on
//! the machine or on chance: who runs the relay, which ports the kernel picks, other tests'
//! descriptors, the scan targets' shuffle) and stay `#[ignore]`: `bind-port-80`,
//! `descriptor-reuse`, and the near misses of `ports-in-two-ranges` and of the scan.
//!
//! To write the files again, after a change that this check caught, review and commit them:
//! `SOCKETLAB_RECORD_FIXTURES=1 cargo test -p socketlab-tests --test it course_recordings --
//! --include-ignored --test-threads=1`
//!
//! The transcript format is the frontend's `session::transcript::Entry`:
//! `{"call":{"id":N,"op":{...}}}` for a call sent, `{"message":{...}}` for a message received. Like
//! the page, the recorder leaves out `packet` messages; it also leaves out `service_names` (this
//! machine's whole /etc/services: no exercise reads it, and it would put tens of kilobytes of one
//! machine's file into every fixture).

mod addresses;
mod hurried;
mod leftovers;
mod ports_in_use;
mod scanning;

use std::collections::HashMap;
use std::path::PathBuf;

use socketlab_shared::{
    CallId, Done, Family, FromRelay, Op, Outcome, PROTOCOL_VERSION, Payload, SocketId, SocketType,
    ToRelay,
};

use crate::support::{Client, Relay, within};

/// One session being recorded.
struct Recorder {
    client: Client,
    lines: Vec<String>,
    /// Replies read while waiting for another one.
    replies: HashMap<CallId, Outcome>,
    /// The relay's lesson services by name, from its `machine` message.
    services: HashMap<String, String>,
}

impl Recorder {
    /// Opens a session: hello, then everything the relay sends up to its machine message (the
    /// services list comes only when asked, and the page's lessons under test do not ask).
    async fn open(relay: &Relay) -> Recorder {
        let mut recorder = Recorder {
            client: Client::connect(relay).await,
            lines: Vec::new(),
            replies: HashMap::new(),
            services: HashMap::new(),
        };
        recorder
            .client
            .send(&ToRelay::Hello {
                version: PROTOCOL_VERSION,
            })
            .await;
        loop {
            let message = recorder.read().await;
            if let FromRelay::Machine { services, .. } = &message {
                for service in services {
                    recorder
                        .services
                        .insert(service.name.clone(), service.address.clone());
                }
                return recorder;
            }
        }
    }

    /// The next message, recorded (except packets and the services list, see the header).
    async fn read(&mut self) -> FromRelay {
        let message = within("a message from the relay", self.client.read())
            .await
            .expect("the relay closed the session");
        if !matches!(
            message,
            FromRelay::Packet { .. } | FromRelay::ServiceNames { .. }
        ) {
            let line = serde_json::json!({ "message": message });
            self.lines.push(line.to_string());
        }
        if let FromRelay::Reply { id, outcome } = &message {
            self.replies.insert(*id, outcome.clone());
        }
        message
    }

    async fn call(&mut self, op: Op) -> CallId {
        let id = self.client.call(op.clone()).await;
        let line = serde_json::json!({ "call": { "id": id, "op": op } });
        self.lines.push(line.to_string());
        id
    }

    async fn reply(&mut self, id: CallId) -> Outcome {
        loop {
            if let Some(outcome) = self.replies.remove(&id) {
                return outcome;
            }
            self.read().await;
        }
    }

    async fn done(&mut self, id: CallId) -> Done {
        match self.reply(id).await {
            Outcome::Ok(done) => done,
            other => panic!("call {id} failed: {other:?}"),
        }
    }

    async fn ok(&mut self, op: Op) -> Done {
        let id = self.call(op).await;
        self.done(id).await
    }

    async fn socket(&mut self, kind: SocketType) -> (SocketId, i32) {
        match self
            .ok(Op::Socket {
                family: Family::Ipv4,
                kind,
            })
            .await
        {
            Done::Socket { socket, fd, .. } => (socket, fd),
            other => panic!("socket() returned {other:?}"),
        }
    }

    async fn bind(&mut self, socket: SocketId, address: &str) -> String {
        let op = Op::Bind {
            socket,
            address: address.into(),
        };
        match self.ok(op).await {
            Done::Bind { local } => local,
            other => panic!("bind() returned {other:?}"),
        }
    }

    /// socket, bind 127.0.0.1:0, listen: (socket, address).
    async fn listener(&mut self) -> (SocketId, String) {
        let (socket, _) = self.socket(SocketType::Stream).await;
        self.bind(socket, "127.0.0.1:0").await;
        match self
            .ok(Op::Listen {
                socket,
                backlog: 16,
            })
            .await
        {
            Done::Listen { local } => (socket, local),
            other => panic!("listen() returned {other:?}"),
        }
    }

    async fn connect(&mut self, socket: SocketId, address: &str) -> Done {
        let op = Op::Connect {
            socket,
            address: address.into(),
        };
        self.ok(op).await
    }

    async fn close(&mut self, socket: SocketId) {
        assert_eq!(self.ok(Op::Close { socket }).await, Done::Close);
    }

    /// Receives on a stream socket until `want` bytes came.
    /// Sends `data` on `socket` and receives the same bytes back.
    async fn send_and_recv(&mut self, socket: SocketId, data: &[u8]) {
        self.ok(Op::Send {
            socket,
            data: Payload::from(data.to_vec()),
        })
        .await;
        self.recv_exactly(socket, data).await;
    }

    async fn recv_exactly(&mut self, socket: SocketId, want: &[u8]) {
        let mut got = Vec::new();
        while got.len() < want.len() {
            match self.ok(Op::Recv { socket, max: 1024 }).await {
                Done::Recv { data } if !data.is_empty() => got.extend_from_slice(data.as_bytes()),
                other => panic!("recv() returned {other:?} after {got:?}"),
            }
        }
        assert_eq!(got, want);
    }

    fn echo_tcp(&self) -> String {
        self.services
            .get("echo_tcp")
            .cloned()
            .expect("the relay advertises echo_tcp in its machine message")
    }
}

/// Writes the recording to `frontend/src/course/exercises/fixtures/NAME.jsonl`.
fn save(name: &str, lines: &[String]) {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/src/course/exercises/fixtures");
    std::fs::create_dir_all(&dir).expect("create the fixtures folder");
    let path = dir.join(format!("{name}.jsonl"));
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap_or_else(|err| panic!("write {path:?}: {err}"));
}

/// Makes the recording `name`: writes it with `SOCKETLAB_RECORD_FIXTURES` set, else checks it
/// against the committed fixture.
/// A lifecycle lesson's session (`programs::LIFECYCLE`) is also written as a program in each
/// language and run while its relay still runs, after the session ended (`programs`).
async fn record(name: &str, session: impl AsyncFnOnce(&mut Recorder)) {
    let relay = Relay::start().await;
    let mut recorder = Recorder::open(&relay).await;
    session(&mut recorder).await;
    let Recorder { client, lines, .. } = recorder;
    client.hang_up().await;
    if crate::programs::LIFECYCLE.contains(&name) {
        let (name_, lines_) = (name.to_owned(), lines.clone());
        tokio::task::spawn_blocking(move || crate::programs::run_each_language(&name_, &lines_))
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    }
    relay.stop().await;
    if std::env::var_os("SOCKETLAB_RECORD_FIXTURES").is_some() {
        save(name, &lines);
        return;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../frontend/src/course/exercises/fixtures/{name}.jsonl"
    ));
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("the fixture {}: {err}", path.display()));
    let committed: Vec<String> = committed.lines().map(str::to_owned).collect();
    assert_eq!(
        signature(&lines),
        signature(&committed),
        "the fixture {name} no longer matches what the relay says (left: today's relay, right: \
         the committed file). Record it again (see this file's header), review and commit it"
    );
}

/// What a transcript says, in a form two runs share: every call (its op, with socket ids and
/// kernel-chosen ports, from 1024 up, left out) with its outcome (`ok SYSCALL`, the errno, the
/// policy's rule, `invalid`, `cancelled`), sorted, since replies and the calls that follow them
/// may come in another order. Every line must also decode as the protocol's types: a call's op
/// as `Op`, a message as `FromRelay`.
fn signature(lines: &[String]) -> Vec<String> {
    let mut calls = Vec::new();
    let mut outcomes = HashMap::new();
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("a transcript line that is not JSON ({err}): {line}"));
        if let Some(call) = value.get("call") {
            serde_json::from_value::<Op>(call["op"].clone()).unwrap_or_else(|err| {
                panic!("a call the protocol no longer reads ({err}): {line}")
            });
            calls.push((call["id"].as_u64(), normalised(call["op"].clone())));
        } else if let Some(message) = value.get("message") {
            let message =
                serde_json::from_value::<FromRelay>(message.clone()).unwrap_or_else(|err| {
                    panic!("a message the protocol no longer reads ({err}): {line}")
                });
            if let FromRelay::Reply { id, outcome } = message {
                outcomes.insert(id.0, kind_of(&outcome));
            }
        } else {
            panic!("a transcript line that is neither a call nor a message: {line}");
        }
    }
    let mut signature: Vec<String> = calls
        .into_iter()
        .map(|(id, op)| {
            let outcome = id
                .and_then(|id| outcomes.get(&id))
                .map_or("no reply", String::as_str);
            format!("{op} -> {outcome}")
        })
        .collect();
    signature.sort();
    signature
}

fn kind_of(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(done) => format!("ok {}", done.syscall()),
        Outcome::Error(err) => err.errno.clone(),
        Outcome::Refused { rule, .. } => format!("refused {rule}"),
        Outcome::Invalid { .. } => "invalid".into(),
        Outcome::Cancelled { .. } => "cancelled".into(),
    }
}

/// An op's JSON without what differs from run to run: socket ids, and ports from 1024 up in
/// addresses (the kernel's choice; a port below 1024 is the lesson's own, such as 80).
fn normalised(mut op: serde_json::Value) -> String {
    if let Some(fields) = op.as_object_mut() {
        for (key, value) in fields.iter_mut() {
            if key == "socket" {
                *value = serde_json::Value::from("*");
            } else if let Some(text) = value.as_str()
                && let Ok(address) = text.parse::<std::net::SocketAddr>()
                && address.port() >= 1024
            {
                *value = serde_json::Value::from(format!("{}:*", address.ip()));
            }
        }
    }
    op.to_string()
}

#[tokio::test]
async fn record_two_programs_one_address() {
    record("two-programs-one-address", async |r| {
        r.listener().await;
        r.listener().await;
    })
    .await;
    // The near miss, for real: the first listener is closed before the second listens.
    record("two-programs-one-address.near-miss", async |r| {
        let (first, _) = r.listener().await;
        r.close(first).await;
        r.listener().await;
    })
    .await;
}

#[tokio::test]
async fn record_bind_port_zero() {
    record("bind-port-zero", async |r| {
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, "127.0.0.1:0").await;
    })
    .await;
}

/// A port of `range` that no socket holds right now, found the way a learner would not need to:
/// the kernel picks ports for this test process until one falls in the range. The probe has no
/// SO_REUSEADDR (std's listeners set it), since with it Linux's bind(0) tries only the lower
/// half of the ephemeral range first.
fn free_port_in(range: std::ops::RangeInclusive<u16>) -> u16 {
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("an address");
    for _ in 0..2000 {
        let probe = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        probe.bind(&any.into()).expect("bind 127.0.0.1:0");
        let port = probe
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("an address")
            .port();
        if range.contains(&port) {
            return port;
        }
    }
    panic!("the kernel never chose a port in {range:?}: is ip_local_port_range narrow?")
}

#[tokio::test]
async fn record_ports_in_two_ranges() {
    // Ports the learner types (the kernel's own choices do not count): one free port of each
    // RFC 6335 range, found by this test process first.
    record("ports-in-two-ranges", async |r| {
        for range in [1024..=49151, 49152..=65535] {
            let port = free_port_in(range);
            let (socket, _) = r.socket(SocketType::Stream).await;
            r.bind(socket, &format!("127.0.0.1:{port}")).await;
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "how many binds it takes is the kernel's choice: recorded by hand only (see the file's header)"]
async fn record_ports_in_two_ranges_near_miss() {
    // The near miss, for real: binds to port 0 only, until the kernel's choices (Linux's
    // ephemeral range, 32768-60999 by default, straddles 49152) land in both ranges.
    record("ports-in-two-ranges.near-miss", async |r| {
        let (mut user, mut dynamic) = (false, false);
        for _ in 0..200 {
            let (socket, _) = r.socket(SocketType::Stream).await;
            let local = r.bind(socket, "127.0.0.1:0").await;
            let port: u16 = local
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a port");
            let in_user = (1024..=49151).contains(&port);
            // A second port in a range already seen is not needed: close it again.
            if (in_user && user) || (!in_user && dynamic) {
                r.close(socket).await;
            }
            if in_user {
                user = true;
            } else {
                dynamic = true;
            }
            if user && dynamic {
                return;
            }
        }
        panic!(
            "200 binds to port 0 never gave a port in both ranges: is ip_local_port_range narrow?"
        );
    })
    .await;
}

#[tokio::test]
async fn record_talk_to_a_service() {
    record("talk-to-a-service", async |r| {
        let echo = r.echo_tcp();
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.connect(socket, &echo).await;
        let data = b"hello, echo";
        r.send_and_recv(socket, data).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "its outcome depends on who runs the relay (root or not): recorded by hand only (see the file's header)"]
async fn record_bind_port_80() {
    // The one fixed port of the recordings: trying port 80 is the exercise. As root the
    // relay's policy refuses it (the kernel is never asked); as a user the kernel says EACCES.
    record("bind-port-80", async |r| {
        let (socket, _) = r.socket(SocketType::Stream).await;
        let id = r
            .call(Op::Bind {
                socket,
                address: "127.0.0.1:80".into(),
            })
            .await;
        r.reply(id).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "other tests of this process open descriptors meanwhile: recorded by hand only (see the file's header)"]
async fn record_descriptor_reuse() {
    record("descriptor-reuse", async |r| {
        let (first, fd) = r.socket(SocketType::Stream).await;
        r.socket(SocketType::Stream).await;
        r.close(first).await;
        let (_, again) = r.socket(SocketType::Stream).await;
        assert_eq!(again, fd, "the lowest free descriptor comes back");
    })
    .await;
}

#[tokio::test]
async fn record_accept_two_clients() {
    record("accept-two-clients", async |r| {
        let (listener, address) = r.listener().await;
        for _ in 0..2 {
            let (client, _) = r.socket(SocketType::Stream).await;
            let accept = r.call(Op::Accept { socket: listener }).await;
            r.connect(client, &address).await;
            r.done(accept).await;
        }
    })
    .await;
}

#[tokio::test]
async fn record_client_round_trip() {
    record("client-round-trip", async |r| {
        let echo = r.echo_tcp();
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.connect(socket, &echo).await;
        let data = b"ping";
        r.send_and_recv(socket, data).await;
        r.close(socket).await;
    })
    .await;
}

#[tokio::test]
async fn record_two_connections_differ() {
    record("two-connections-differ", async |r| {
        let (_, address) = r.listener().await;
        for _ in 0..2 {
            let (client, _) = r.socket(SocketType::Stream).await;
            r.connect(client, &address).await;
        }
    })
    .await;
    // The near miss, for real: the first connection is closed before the second is made.
    record("two-connections-differ.near-miss", async |r| {
        let (_, address) = r.listener().await;
        let (first, _) = r.socket(SocketType::Stream).await;
        r.connect(first, &address).await;
        r.close(first).await;
        let (second, _) = r.socket(SocketType::Stream).await;
        r.connect(second, &address).await;
    })
    .await;
}

/// Lesson 10's datagrams: a bound receiver, a bound sender (the relay refuses a sendto from a
/// socket never bound, as the lesson says), and "one", "two", "three" sent to the receiver.
/// Returns the receiver.
async fn send_three_datagrams(r: &mut Recorder) -> SocketId {
    let (receiver, _) = r.socket(SocketType::Datagram).await;
    let address = r.bind(receiver, "127.0.0.1:0").await;
    let (sender, _) = r.socket(SocketType::Datagram).await;
    r.bind(sender, "127.0.0.1:0").await;
    for data in ["one", "two", "three"] {
        let op = Op::Sendto {
            socket: sender,
            data: Payload::from(data),
            address: address.clone(),
        };
        r.ok(op).await;
    }
    receiver
}

#[tokio::test]
async fn record_three_datagrams() {
    record("three-datagrams", async |r| {
        let receiver = send_three_datagrams(r).await;
        for data in ["one", "two", "three"] {
            match r
                .ok(Op::Recvfrom {
                    socket: receiver,
                    max: 1024,
                })
                .await
            {
                Done::Recvfrom {
                    data: got,
                    truncated: false,
                    ..
                } => {
                    assert_eq!(got.as_bytes(), data.as_bytes());
                }
                other => panic!("recvfrom() returned {other:?}"),
            }
        }
    })
    .await;
}
