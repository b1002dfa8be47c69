//! The recorder of the course's exercise fixtures: real sessions with the real relay (started
//! in-process by `support`), written as the page's transcript would hold them, one JSON object
//! a line, to `frontend/src/course/fixtures/`. The frontend's exercise tests replay them.
//!
//! Run by hand after a change to the protocol or the relay, then review and commit the files:
//! `cargo test -p socketlab-tests --test it course_recordings -- --ignored --test-threads=1`
//!
//! The transcript format is the frontend's `course::transcript::Entry`:
//! `{"call":{"id":N,"op":{...}}}` for a call sent, `{"message":{...}}` for a message received.
//! Like the page, the recorder leaves out `packet` messages; it also leaves out
//! `service_names` (this machine's whole /etc/services: no exercise reads it, and it would
//! put tens of kilobytes of one machine's file into every fixture).

mod addresses;
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
    /// Opens a session: hello, then everything the relay sends up to its services list.
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
            }
            if matches!(message, FromRelay::ServiceNames { .. }) {
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

    /// Writes the recording to `frontend/src/course/fixtures/NAME.jsonl`.
    fn save(self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/src/course/fixtures");
        std::fs::create_dir_all(&dir).expect("create the fixtures folder");
        let path = dir.join(format!("{name}.jsonl"));
        let mut text = self.lines.join("\n");
        text.push('\n');
        std::fs::write(&path, text).unwrap_or_else(|err| panic!("write {path:?}: {err}"));
    }
}

async fn record(name: &str, session: impl AsyncFnOnce(&mut Recorder)) {
    let relay = Relay::start().await;
    let mut recorder = Recorder::open(&relay).await;
    session(&mut recorder).await;
    recorder.save(name);
    relay.stop().await;
}

#[tokio::test]
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
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
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
async fn record_bind_port_zero() {
    record("bind-port-zero", async |r| {
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.bind(socket, "127.0.0.1:0").await;
    })
    .await;
}

#[tokio::test]
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
async fn record_ports_in_two_ranges() {
    // Tests bind port 0 only, so the kernel picks: Linux's ephemeral range (32768-60999 by
    // default) straddles 49152, so a few binds land in both RFC 6335 ranges.
    record("ports-in-two-ranges", async |r| {
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
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
async fn record_talk_to_a_service() {
    record("talk-to-a-service", async |r| {
        let echo = r.echo_tcp();
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.connect(socket, &echo).await;
        let data = b"hello, echo";
        r.ok(Op::Send {
            socket,
            data: Payload::from(data.to_vec()),
        })
        .await;
        r.recv_exactly(socket, data).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
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
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
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
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
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
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
async fn record_client_round_trip() {
    record("client-round-trip", async |r| {
        let echo = r.echo_tcp();
        let (socket, _) = r.socket(SocketType::Stream).await;
        r.connect(socket, &echo).await;
        let data = b"ping";
        r.ok(Op::Send {
            socket,
            data: Payload::from(data.to_vec()),
        })
        .await;
        r.recv_exactly(socket, data).await;
        r.close(socket).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
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

#[tokio::test]
#[ignore = "writes the course's fixtures; run by hand, see the file's header"]
async fn record_three_datagrams() {
    record("three-datagrams", async |r| {
        let (receiver, _) = r.socket(SocketType::Datagram).await;
        let address = r.bind(receiver, "127.0.0.1:0").await;
        let (sender, _) = r.socket(SocketType::Datagram).await;
        for data in ["one", "two", "three"] {
            let op = Op::Sendto {
                socket: sender,
                data: Payload::from(data),
                address: address.clone(),
            };
            r.ok(op).await;
        }
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
