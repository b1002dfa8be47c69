//! Test support: the relay started in-process on 127.0.0.1:0, and a WebSocket client that
//! speaks the protocol. Every await is bounded by a timeout that fails with what was awaited.
//!
//! `Relay::start()` / `start_with(config)` / `stop()` (in-process, 127.0.0.1:0, CancellationToken
//! shutdown); a `Relay` carries the relay's key (`token`, from the config it started),
//! `ws_request()` (the handshake with the key as subprotocol, no Origin) and `page_url()`. `Client`
//! (tokio-tungstenite; `connect_with(request)` for handshakes a test shapes, with TCP_NODELAY as
//! browsers do, so a call sent while another waits does not sit out the relay's delayed ACK) has
//! `hello` (which also takes the `capabilities` and `machine` that must follow `welcome`, kept
//! in `capabilities` and `machine`; `service_names()` asks for the services list), `call -> CallId`, `reply(id)`
//! (buffering everything else), `done`, `errno`, `event(socket)`, `has_reply`, and `wait_for(what,
//! pick)`: the first message `pick` accepts, which is how tests wait for `kernel` and `packet`
//! (`next_message` skips those, since they come whenever the kernel moves). `within` (10 s, with a
//! message) bounds every await; `eventually` is a bounded retry; and there are checks of a port
//! from outside the relay.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use socketlab_relay::Config;
use socketlab_shared::{
    CallId, Done, Event, Family, FromRelay, KnockDoor, Op, Outcome, PROTOCOL_VERSION, ServiceName,
    SocketId, SocketType, SysError, ToRelay,
};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long any single step may take before the test fails. Generous: CI machines are slow.
pub(crate) const STEP: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`STEP`].
pub(crate) async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {STEP:?} waiting for {what}"),
    }
}

/// A relay running in this test process.
pub(crate) struct Relay {
    pub(crate) addr: SocketAddr,
    /// This relay's key, read from the config it was started with.
    pub(crate) token: String,
    stop: CancellationToken,
    task: JoinHandle<Result<(), socketlab_relay::RunError>>,
}

impl Relay {
    pub(crate) async fn start() -> Relay {
        Relay::start_with(Config::default()).await
    }

    /// A relay whose operator allowed wildcard binds (`--allow-bind-wildcard`).
    pub(crate) async fn allowing_wildcard() -> Relay {
        Relay::start_with(Config {
            policy: socketlab_relay::PolicyConfig {
                allow_bind_wildcard: true,
                ..Default::default()
            },
            ..Config::default()
        })
        .await
    }

    pub(crate) async fn start_with(config: Config) -> Relay {
        let listener = within(
            "binding 127.0.0.1:0",
            tokio::net::TcpListener::bind("127.0.0.1:0"),
        )
        .await
        .expect("bind 127.0.0.1:0 for the relay");
        let addr = listener.local_addr().expect("listener address");
        let token = config.access.token().to_owned();
        let stop = CancellationToken::new();
        let shutdown = stop.clone().cancelled_owned();
        let task = tokio::spawn(socketlab_relay::run(listener, config, shutdown));
        Relay {
            addr,
            token,
            stop,
            task,
        }
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The URL a learner opens: the page, with the key in the fragment.
    pub(crate) fn page_url(&self) -> String {
        format!("http://{}/#token={}", self.addr, self.token)
    }

    /// The WebSocket handshake request a non-browser client makes: no Origin, the key as a
    /// subprotocol next to `socketlab.v1`, as the page offers it.
    pub(crate) fn ws_request(&self) -> Request {
        let mut request = self.ws_url().into_client_request().expect("a ws:// URL");
        let protocols = format!("socketlab.v1, socketlab.token.{}", self.token);
        request.headers_mut().insert(
            "sec-websocket-protocol",
            protocols.parse().expect("a header value"),
        );
        request
    }

    /// A client that has said hello and got welcome.
    pub(crate) async fn client(&self) -> Client {
        let mut client = Client::connect(self).await;
        client.hello().await;
        client
    }

    /// Shuts the relay down and waits for `run` to return.
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        within("the relay to stop", self.task)
            .await
            .expect("relay task joined")
            .expect("relay run returned Ok");
    }
}

/// One browser session, as a test drives it.
pub(crate) struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Messages that arrived while the test waited for something else.
    buffered: VecDeque<FromRelay>,
    /// What the relay said it can observe (its `capabilities` message, right after welcome).
    pub(crate) capabilities: Option<FromRelay>,
    /// The relay's `machine` message (its port facts and lesson services), after capabilities.
    pub(crate) machine: Option<FromRelay>,
    /// The relay's `service_names` message (its /etc/services), after machine.
    pub(crate) service_names: Option<FromRelay>,
}

impl Client {
    pub(crate) async fn connect(relay: &Relay) -> Client {
        Client::connect_with(relay.ws_request()).await
    }

    /// Connects with a handshake request the test has shaped (Origin, key).
    pub(crate) async fn connect_with(request: Request) -> Client {
        let (ws, _) = within(
            "the WebSocket handshake",
            // No Nagle, as browsers do: a call sent while an earlier one waits would otherwise sit
            // out the relay's delayed ACK (40 ms).
            tokio_tungstenite::connect_async_with_config(request, None, true),
        )
        .await
        .expect("WebSocket connects to the relay");
        Client {
            ws,
            next_id: 0,
            buffered: VecDeque::new(),
            capabilities: None,
            machine: None,
            service_names: None,
        }
    }

    pub(crate) async fn send(&mut self, message: &ToRelay) {
        let json = serde_json::to_string(message).expect("encode");
        self.send_text(&json).await;
    }

    pub(crate) async fn send_text(&mut self, text: &str) {
        within("sending a frame", self.ws.send(Message::Text(text.into())))
            .await
            .expect("send a frame");
    }

    pub(crate) async fn send_frame(&mut self, message: Message) {
        within("sending a frame", self.ws.send(message))
            .await
            .expect("send a frame");
    }

    pub(crate) async fn hello(&mut self) {
        self.send(&ToRelay::Hello {
            version: PROTOCOL_VERSION,
        })
        .await;
        match self.next_message().await {
            FromRelay::Welcome { version, .. } => assert_eq!(version, PROTOCOL_VERSION),
            other => panic!("expected welcome, got {other:?}"),
        }
        match self.next_message().await {
            capabilities @ FromRelay::Capabilities { .. } => {
                self.capabilities = Some(capabilities);
            }
            other => panic!("expected capabilities right after welcome, got {other:?}"),
        }
        // Issue 5: the machine's facts and lesson services (the services list only when
        // asked: `service_names`).
        match self.next_message().await {
            machine @ FromRelay::Machine { .. } => self.machine = Some(machine),
            other => panic!("expected machine right after capabilities, got {other:?}"),
        }
    }

    /// Whether a message `pick` accepts arrived and waits in the buffer.
    pub(crate) fn has_buffered(&self, pick: impl Fn(&FromRelay) -> bool) -> bool {
        self.buffered.iter().any(pick)
    }

    /// Asks for the machine's services list and waits for it (kept in `service_names`).
    pub(crate) async fn service_names(&mut self) -> Vec<ServiceName> {
        self.send(&ToRelay::ServiceNames).await;
        loop {
            match self.next_message().await {
                FromRelay::ServiceNames { names } => {
                    self.service_names = Some(FromRelay::ServiceNames {
                        names: names.clone(),
                    });
                    return names;
                }
                other => self.buffered.push_back(other),
            }
        }
    }

    /// Asks for this session's knock door (the relay makes it now); its answer.
    pub(crate) async fn knock_door(&mut self) -> Option<KnockDoor> {
        self.send(&ToRelay::KnockDoor).await;
        loop {
            match self.next_message().await {
                FromRelay::KnockDoor { knock } => return knock,
                other => self.buffered.push_back(other),
            }
        }
    }

    /// The next message from the relay, ignoring the buffer. `None` when the relay closed.
    pub(crate) async fn read(&mut self) -> Option<FromRelay> {
        loop {
            let frame = within("a message from the relay", self.ws.next()).await;
            match frame {
                None | Some(Ok(Message::Close(_))) => return None,
                Some(Err(err)) => panic!("WebSocket failed: {err}"),
                Some(Ok(Message::Text(text))) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .unwrap_or_else(|err| panic!("relay sent {text:?}: {err}")),
                    );
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next message: buffered first, then from the WebSocket. The instruments' streams
    /// (`kernel`, `packet`) come whenever the kernel moves, so this skips them; tests of those
    /// wait for them with [`Client::wait_for`].
    pub(crate) async fn next_message(&mut self) -> FromRelay {
        loop {
            let message = match self.buffered.pop_front() {
                Some(message) => message,
                None => self.read().await.expect("the relay closed the session"),
            };
            if !matches!(message, FromRelay::Kernel { .. } | FromRelay::Packet { .. }) {
                return message;
            }
        }
    }

    /// The first message (buffered or new) that `pick` accepts; others stay buffered in order.
    pub(crate) async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&FromRelay) -> Option<T>,
    ) -> T {
        if let Some(at) = self.buffered.iter().position(|m| pick(m).is_some()) {
            let message = self.buffered.remove(at).expect("position is in range");
            return pick(&message).expect("picked before");
        }
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.read()).await {
                Ok(Some(message)) => message,
                Ok(None) => panic!(
                    "the relay closed the session while waiting for {what}; got {:?}",
                    self.buffered
                ),
                Err(_) => panic!(
                    "timed out waiting for {what}; got meanwhile {:?}",
                    self.buffered
                ),
            };
            if let Some(value) = pick(&message) {
                return value;
            }
            self.buffered.push_back(message);
        }
    }

    /// Sends a call and returns its id without waiting for the reply.
    pub(crate) async fn call(&mut self, op: Op) -> CallId {
        self.next_id += 1;
        let id = CallId(self.next_id);
        self.send(&ToRelay::Call { id, op }).await;
        id
    }

    /// The one reply to `id`.
    pub(crate) async fn reply(&mut self, id: CallId) -> Outcome {
        self.wait_for(&format!("the reply to call {id}"), |m| match m {
            FromRelay::Reply { id: got, outcome } if *got == id => Some(outcome.clone()),
            _ => None,
        })
        .await
    }

    /// Whether a reply to `id` has already arrived (buffered), without waiting.
    pub(crate) fn has_reply(&self, id: CallId) -> bool {
        self.buffered
            .iter()
            .any(|m| matches!(m, FromRelay::Reply { id: got, .. } if *got == id))
    }

    /// The reply to `id`, which must be a success.
    pub(crate) async fn done(&mut self, id: CallId) -> Done {
        match self.reply(id).await {
            Outcome::Ok(done) => done,
            other => panic!("call {id} failed: {other:?}"),
        }
    }

    /// The reply to `id`, which must be the kernel's errno.
    pub(crate) async fn errno(&mut self, id: CallId) -> SysError {
        match self.reply(id).await {
            Outcome::Error(err) => err,
            other => panic!("call {id} should have failed with an errno: {other:?}"),
        }
    }

    /// Makes a call and returns its success.
    pub(crate) async fn ok(&mut self, op: Op) -> Done {
        let id = self.call(op).await;
        self.done(id).await
    }

    /// The next event about `socket`.
    pub(crate) async fn event(&mut self, socket: SocketId) -> Event {
        self.wait_for(&format!("an event about {socket}"), |m| match m {
            FromRelay::Event { socket: s, event } if *s == socket => Some(event.clone()),
            _ => None,
        })
        .await
    }

    pub(crate) async fn socket(&mut self, family: Family, kind: SocketType) -> SocketId {
        match self.ok(Op::Socket { family, kind }).await {
            Done::Socket { socket, fd, .. } => {
                assert!(fd >= 0, "a real descriptor number");
                socket
            }
            other => panic!("socket() returned {other:?}"),
        }
    }

    pub(crate) async fn tcp(&mut self) -> SocketId {
        self.socket(Family::Ipv4, SocketType::Stream).await
    }

    pub(crate) async fn udp(&mut self) -> SocketId {
        self.socket(Family::Ipv4, SocketType::Datagram).await
    }

    /// bind, returning the local address the kernel reports.
    pub(crate) async fn bind(&mut self, socket: SocketId, address: &str) -> String {
        match self
            .ok(Op::Bind {
                socket,
                address: address.into(),
            })
            .await
        {
            Done::Bind { local } => local,
            other => panic!("bind returned {other:?}"),
        }
    }

    pub(crate) async fn listen(&mut self, socket: SocketId) -> String {
        match self
            .ok(Op::Listen {
                socket,
                backlog: 16,
            })
            .await
        {
            Done::Listen { local } => local,
            other => panic!("listen returned {other:?}"),
        }
    }

    /// A listening TCP socket on 127.0.0.1 with a kernel-chosen port: (id, address).
    pub(crate) async fn listener(&mut self) -> (SocketId, String) {
        let socket = self.tcp().await;
        self.bind(socket, "127.0.0.1:0").await;
        let local = self.listen(socket).await;
        (socket, local)
    }

    pub(crate) async fn close(&mut self, socket: SocketId) {
        let done = self.ok(Op::Close { socket }).await;
        assert_eq!(done, Done::Close);
    }

    /// Closes the WebSocket from this side and waits for the relay's close.
    pub(crate) async fn hang_up(mut self) {
        within("closing the WebSocket", self.ws.close(None))
            .await
            .expect("close frame sent");
        while within("the relay's close", self.ws.next()).await.is_some() {}
    }
}

/// Retries `check` until it returns true, failing with `what` after [`STEP`]. For state the
/// relay changes after its own reply (a session's teardown): each try is a real check against
/// the kernel, and the waits between tries are the only pacing.
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    let mut pause = Duration::from_millis(1);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Whether `address` can be bound right now by a fresh TCP socket (no SO_REUSEADDR), i.e. no
/// socket holds it any more.
pub(crate) fn tcp_port_is_free(address: &str) -> bool {
    std::net::TcpListener::bind(address).is_ok()
}

/// Whether a TCP connect to `address` (loopback only) is refused.
pub(crate) fn tcp_connect_is_refused(address: &str) -> bool {
    let addr: SocketAddr = address.parse().expect("an address");
    assert!(addr.ip().is_loopback(), "tests connect only to loopback");
    matches!(
        std::net::TcpStream::connect_timeout(&addr, STEP),
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused
    )
}
