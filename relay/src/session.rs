//! One browser session: the handshake, the loop that reads calls in order, the writer that
//! sends replies and events, and the teardown that closes every socket of the session.
//!
//! Shape: the session task reads frames and performs each call in arrival order. Calls that
//! finish at once reply at once; calls that must wait hand over to a task of their socket
//! (`syscalls`), which replies later. Everything the browser is sent goes through one bounded
//! channel ([`Outbox`]) to one writer task (`session/writer.rs`), so a slow browser slows only
//! its own session.
//!
//! Handles, not the session: `Session::new` wires each part up with what it needs and nothing
//! more. The syscall layer gets a `syscalls::Context` (the socket table, a `Checkpoint` made of
//! the policy, the relay's facts and the session's ports, the outbox, the session's token, and
//! the knock door as its connect observer, once the page asked for the door); the capture and the kernel view get the table, the
//! ports and the outbox. None of them names `Session`, and none calls back into it.
//!
//! Handshake: `hello` with the protocol version, then `welcome`, `capabilities` (whether the
//! kernel view and capture are available), `machine` (the machine's port facts, the lesson
//! services and the scan targets). `service_names` and `knock_door` come only when the page asks;
//! the knock door is made then (`Session::knock_door`), its port held in the ownership registry
//! under `ownership::RELAY_HELD`, so an idle session holds one descriptor, its WebSocket.
//!
//! Decoding: the top-level `id` is read first, so a call that does not decode, however deeply
//! nested, gets `invalid` for its id, else the frame is `malformed`; a binary frame holding a
//! call gets `invalid` too. Every frame that is not an admitted call costs a rate-limit token as
//! well. A read error is told apart by tungstenite's own error type, found through
//! `std::error::Error::source` under axum's (`broken`), never by its text.
//!
//! Limits (see `limits`): each call is admitted or refused (rate, scan brake, sockets, waiting
//! calls) before it reaches the kernel; a page that sends nothing for `idle_timeout`, or a
//! session older than `max_session`, is told goodbye; a message over `max_message_bytes` ends
//! the session with close code 1009; the writer pings every `ping_interval`; and one session
//! more than `max_sessions` is told goodbye and closed with 1013 (try again later).
//!
//! Ending: the session's `CancellationToken` (a child of the server's) is cancelled when the
//! WebSocket closes, fails, or the server shuts down. Every socket token is its child, so all
//! waiting calls and watchers end; then the table is drained and each descriptor closed, the
//! knock door closed, the session's ports forgotten, and only then the close frame sent.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::SplitStream;
use futures_util::{FutureExt as _, StreamExt as _};
use socketlab_shared::{CallId, FromRelay, Outcome, PROTOCOL_VERSION, SocketType, ToRelay};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::capture::Capture;
use crate::checkpoint::Checkpoint;
use crate::isolation::Place;
use crate::lesson_services::knock::Door;
use crate::limits::{Admission, OUTBOX_CAPACITY, from_now};
use crate::outbox::Outbox;
use crate::ownership::{Endpoint, Holding, SessionPorts};
use crate::relay::Relay;
use crate::sockets::Sockets;
use crate::syscalls;

/// How long the writer tries, in all, to flush and say goodbye when the session ends.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// One session, as its loop sees it. Its parts get the narrow handles they need (the syscall
/// layer its `Context`, the capture and the kernel view the table, the ports and the outbox),
/// never this struct.
#[derive(Debug)]
struct Session {
    token: CancellationToken,
    /// The relay this session runs in: its configuration, its own address, its lesson services.
    relay: Arc<Relay>,
    table: Arc<Sockets>,
    /// This session's ports in the relay's ownership registry; dropping it releases them all.
    ports: Arc<SessionPorts>,
    outbox: Outbox,
    /// What every call runs with.
    calls: syscalls::Context,
    /// Packet capture (issue 4): started by `Capture::follow` once the session has a socket.
    capture: Arc<Capture>,
    /// This session's knock door (lesson 19), made when the page first asks (`knock_door`).
    door: Arc<LazyDoor>,
    /// Whether this session may have a door: admitted (not one over `max_sessions`).
    admitted: bool,
    /// The close frame the writer ends with.
    farewell: Arc<Farewell>,
    /// Where its sockets are made: the machine's network, or (isolated) its own namespace,
    /// which lives while this and its sockets do.
    place: Place,
    /// An isolated session's own lesson services, in its namespace (`None`: the relay's).
    lessons: Option<crate::lesson_services::Started>,
    /// Class mode: the learner this session is, once it joined.
    attendance: OnceLock<Arc<crate::class::Attendance>>,
}

/// Where a session runs: the place its sockets are made in, and (isolated) its own lesson
/// services there.
#[derive(Debug, Default)]
struct Surroundings {
    place: Place,
    lessons: Option<crate::lesson_services::Started>,
}

/// The code and reason of the session's close frame: 1001 (going away) unless something
/// more precise was said first (1009 message too big, 1013 try again later).
#[derive(Debug, Default)]
struct Farewell(Mutex<Option<(u16, Cow<'static, str>)>>);

impl Farewell {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u16, Cow<'static, str>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, code: u16, reason: impl Into<Cow<'static, str>>) {
        self.lock().get_or_insert((code, reason.into()));
    }

    fn frame(&self) -> CloseFrame {
        let (code, reason) = self
            .lock()
            .clone()
            .unwrap_or((close_code::AWAY, "socketlab session ended".into()));
        CloseFrame {
            code,
            reason: reason.as_ref().into(),
        }
    }
}

impl Session {
    /// Wires up the handles of a new session: its table, its ports (with its knock door's,
    /// when it has one), the checkpoint and connect observer of its calls, and its capture.
    fn new(
        relay: Arc<Relay>,
        token: CancellationToken,
        outbox: Outbox,
        farewell: Arc<Farewell>,
        admitted: bool,
        surroundings: Surroundings,
        tracker: &TaskTracker,
    ) -> Self {
        let Surroundings { place, lessons } = surroundings;
        let table = Arc::new(Sockets::new(relay.config.limits.max_sockets));
        // An isolated session is alone in its namespace: its own registry and its own capture
        // of its own `lo`. Otherwise the relay's, shared with every session.
        let (ownership, captures) = if place.is_isolated() {
            let ownership = Arc::<crate::ownership::Ownership>::default();
            let captures = Arc::new(crate::capture::Captures::new(
                ownership.clone(),
                relay.local.port(),
                token.clone(),
                tracker.clone(),
                place.clone(),
            ));
            (ownership, captures)
        } else {
            (relay.ownership.clone(), relay.captures.clone())
        };
        let ports = Arc::new(ownership.session());
        // Its own lesson services are the ones it may reach (and never bind).
        let policy = match &lessons {
            Some(lessons) => {
                let mut policy = relay.policy.as_ref().clone();
                policy.lesson_services.extend(&lessons.endpoints);
                Arc::new(policy)
            }
            None => relay.policy.clone(),
        };
        let checkpoint = Checkpoint::new(policy, relay.facts(), ports.clone(), place.network());
        // Lesson 19's knock door watches every connect, once it exists (`Session::knock_door`).
        let door = Arc::new(LazyDoor::default());
        let connects = Some(door.clone() as Arc<dyn syscalls::ConnectObserver>);
        let calls = syscalls::Context::new(
            table.clone(),
            checkpoint,
            outbox.clone(),
            token.clone(),
            connects,
            place.clone(),
        );
        let capture = Arc::new(Capture::new(
            captures,
            &ports,
            table.clone(),
            outbox.clone(),
            token.clone(),
        ));
        Session {
            token,
            relay,
            table,
            ports,
            outbox,
            calls,
            capture,
            door,
            admitted,
            farewell,
            place,
            lessons,
            attendance: OnceLock::new(),
        }
    }

    /// The lesson services this session reaches: its own (isolated), or the relay's.
    fn services(&self) -> &[socketlab_shared::LessonService] {
        match &self.lessons {
            Some(lessons) => &lessons.services,
            None => &self.relay.services,
        }
    }

    fn scan(&self) -> Option<&socketlab_shared::ScanTargets> {
        match &self.lessons {
            Some(lessons) => lessons.scan.as_ref(),
            None => self.relay.scan.as_ref(),
        }
    }

    fn knock(&self) -> Option<&crate::lesson_services::knock::KnockPorts> {
        match &self.lessons {
            Some(lessons) => lessons.knock.as_ref(),
            None => self.relay.knock.as_ref(),
        }
    }

    /// The session's knock door, made the first time it is asked for, its port recorded as the
    /// session's own (`ownership::RELAY_HELD`). `None` if the relay has no knock ports, the
    /// session was not admitted, or the door could not be made (asking again tries again).
    fn knock_door(&self) -> Option<&Arc<Door>> {
        if let Some(door) = self.door.0.get() {
            return Some(door);
        }
        let knock = self.knock().filter(|_| self.admitted)?;
        let door = Door::new(knock, &self.token)
            .inspect_err(|err| tracing::warn!(%err, "no knock door for this session"))
            .ok()?;
        let endpoint = Endpoint::new(SocketType::Stream, door.address(), false);
        self.ports.record(
            crate::ownership::RELAY_HELD,
            Some(Holding {
                endpoint,
                inode: None,
            }),
        );
        // The session loop is the only caller, so nothing else sets it in between.
        Some(self.door.0.get_or_init(|| Arc::new(door)))
    }
}

/// The knock door of a session, once the page asked for it: until then the session holds no
/// door socket (an idle session's one descriptor is its WebSocket), and connects are no knocks.
#[derive(Debug, Default)]
struct LazyDoor(OnceLock<Arc<Door>>);

impl syscalls::ConnectObserver for LazyDoor {
    fn connect_made(&self, kind: SocketType, to: SocketAddr, result: &std::io::Result<()>) {
        if let Some(door) = self.0.get() {
            door.connect_made(kind, to, result);
        }
    }
}

/// Runs a session on an upgraded WebSocket until it ends. Never panics outward: a bug in one
/// session is logged and ends that session only.
pub(crate) async fn serve(
    socket: WebSocket,
    id: u64,
    server: CancellationToken,
    tracker: TaskTracker,
    relay: Arc<Relay>,
) {
    let token = server.child_token();
    let span = tracing::info_span!("session", session = id);
    let (sink, stream) = socket.split();
    let (sender, inbox) = mpsc::channel(OUTBOX_CAPACITY);
    let sockets_closed = CancellationToken::new();
    let farewell = Arc::new(Farewell::default());
    let writer = writer::write(
        sink,
        inbox,
        writer::Ending {
            token: token.clone(),
            sockets_closed: sockets_closed.clone(),
            farewell: farewell.clone(),
        },
        relay.config.limits.clone(),
    );
    tracker.spawn(writer.instrument(span.clone()));
    // Held until every socket of the session is closed.
    let slot = relay.sessions.clone().try_acquire_owned().ok();
    let outbox = Outbox::new(sender);
    // An isolated session's namespace, made before anything of the session exists. If it
    // cannot be made, the session is told why and ends: never on the shared network instead.
    let (place, no_place) = match (relay.config.isolation.sessions, slot.is_some()) {
        // Off the runtime's threads: unshare() waits on the kernel's network-namespace lock,
        // which a class opening at once would otherwise hold every worker on.
        (true, true) => match tokio::task::spawn_blocking(Place::isolated)
            .await
            .unwrap_or_else(|err| Err(std::io::Error::other(err)))
        {
            Ok(place) => (place, None),
            Err(err) => (Place::default(), Some(err)),
        },
        _ => (Place::default(), None),
    };
    // Its lesson services, in its namespace, ending with it.
    let lessons = if place.is_isolated() {
        let started = crate::lesson_services::start(
            crate::lesson_services::Bounds::default(),
            &relay.config.lessons,
            &place,
            &token,
            &tracker,
        )
        .instrument(span.clone())
        .await;
        Some(started)
    } else {
        None
    };
    // In the session's span: what its capture logs later is logged in it (`Capture::new`).
    let session = span.in_scope(|| {
        Session::new(
            relay,
            token.clone(),
            outbox,
            farewell,
            slot.is_some() && no_place.is_none(),
            Surroundings { place, lessons },
            &tracker,
        )
    });
    // Kernel view: one task per session, idle until the session has something in the kernel.
    let view = crate::kernel_view::View {
        table: session.table.clone(),
        ports: session.ports.clone(),
        outbox: session.outbox.clone(),
        token: token.clone(),
        network: session.place.network(),
    };
    tracker.spawn(crate::kernel_view::watch(view).instrument(span.clone()));
    async {
        if let Some(err) = no_place {
            no_namespace(&session, &err).await;
        } else if let Some(_slot) = slot {
            tracing::info!(namespace = ?session.place.namespace_inode(), "session opened");
            let run = std::panic::AssertUnwindSafe(read(stream, &session)).catch_unwind();
            if run.await.is_err() {
                tracing::error!("session task panicked; closing its sockets");
            }
            token.cancel();
            session.capture.end();
            close_all(&session).await;
            if let Some(door) = session.door.0.get() {
                door.close().await;
            }
            // Before the close frame: a browser that sees it knows the ports are free for all.
            session.ports.end();
        } else {
            too_many_sessions(&session).await;
        }
        sockets_closed.cancel();
        tracing::info!("session closed");
        session.relay.after_session();
    }
    .instrument(span)
    .await;
}

/// Class mode's messages (`class`): `join` makes the session a learner's (answered `joined`
/// or `malformed`), `lesson` and `passed` go to the class's store. Without `--class`, or before
/// `join`, they are `malformed` with what to do.
async fn class_message(session: &Session, message: ToRelay) {
    let refuse = |reason: String| FromRelay::Malformed { reason };
    let Some(class) = session.relay.class.clone() else {
        let reason = "this relay keeps no class (start it with --class)".to_owned();
        return session.outbox.send(refuse(reason)).await;
    };
    let answer = match message {
        ToRelay::Join { name } => match crate::class::valid_name(&name) {
            Err(reason) => Some(refuse(reason)),
            Ok(_) if session.attendance.get().is_some() => Some(refuse(
                "this session already joined the class; reload the page to join as someone else"
                    .into(),
            )),
            Ok(name) => match tokio::task::spawn_blocking({
                let reset = reset_by_teacher(session);
                move || class.join(&name, reset)
            })
            .await
            {
                Ok(Ok(attendance)) => {
                    let attendance = Arc::new(attendance);
                    let name = attendance.name.clone();
                    if session.attendance.set(attendance.clone()).is_ok() {
                        session.outbox.watch_replies(attendance);
                    }
                    tracing::info!(learner = %name, "joined the class");
                    Some(FromRelay::Joined { name })
                }
                other => {
                    tracing::error!(?other, "cannot record a learner in the class's store");
                    Some(refuse("the relay cannot write the class's store".into()))
                }
            },
        },
        ToRelay::Lesson { slug } => {
            record(session, crate::class::store::Happening::Lesson { slug }).await
        }
        ToRelay::Passed { exercise, evidence } => {
            record(
                session,
                crate::class::store::Happening::Passed { exercise, evidence },
            )
            .await
        }
        _ => None,
    };
    if let Some(answer) = answer {
        session.outbox.send(answer).await;
    }
}

/// The token the teacher's reset of this learner cancels: the session then says goodbye with
/// why, and ends (the page starts a new one, and joins again).
fn reset_by_teacher(session: &Session) -> CancellationToken {
    let reset = CancellationToken::new();
    let (watch, token, outbox) = (reset.clone(), session.token.clone(), session.outbox.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = token.cancelled() => {}
            () = watch.cancelled() => {
                let reason = "your teacher reset this session: its sockets are closed, and the \
                              page starts a new one"
                    .to_owned();
                outbox.send(FromRelay::Goodbye { reason }).await;
                token.cancel();
            }
        }
    });
    reset
}

/// Records what the learner's page said, or says why it cannot (`malformed`).
async fn record(session: &Session, what: crate::class::store::Happening) -> Option<FromRelay> {
    let Some(attendance) = session.attendance.get().cloned() else {
        return Some(FromRelay::Malformed {
            reason: "join the class first (join, with your name)".into(),
        });
    };
    match tokio::task::spawn_blocking(move || attendance.record(&what)).await {
        Ok(Ok(())) => None,
        other => {
            tracing::error!(?other, "cannot record progress in the class's store");
            Some(FromRelay::Malformed {
                reason: "the relay cannot write the class's store".into(),
            })
        }
    }
}

/// An isolated session whose namespace could not be made (`--isolate-sessions`): goodbye with
/// the kernel's reason, then close code 1011 (the server met an error). It has no sockets.
async fn no_namespace(session: &Session, err: &std::io::Error) {
    tracing::warn!(%err, "cannot make the session's network namespace");
    session
        .farewell
        .set(close_code::ERROR, "no network namespace");
    goodbye(
        session,
        format!(
            "the relay could not make this session's own network namespace ({err}), and it \
             isolates every session (--isolate-sessions): reload to try again, or tell whoever \
             runs the relay"
        ),
    )
    .await;
}

/// One session more than `max_sessions`: goodbye, then close code 1013 (try again later). It
/// has no sockets; the writer ends once the goodbye is out (or its grace is over).
async fn too_many_sessions(session: &Session) {
    let max = session.relay.config.limits.max_sessions;
    tracing::warn!(max, "too many sessions; refusing one");
    session.farewell.set(close_code::AGAIN, "too many sessions");
    goodbye(
        session,
        format!(
            "the relay already has {max} sessions open, the most it allows (--max-sessions): \
             close another socketlab tab, then reload"
        ),
    )
    .await;
}

/// Closes every socket of the session. Loops because an accept that completed while the
/// session was ending may have added a socket meanwhile.
async fn close_all(session: &Session) {
    loop {
        let entries = session.table.lock().drain();
        if entries.is_empty() {
            return;
        }
        for entry in entries {
            entry.close().await;
        }
    }
}

/// The session loop: handshake, then every call in arrival order.
async fn read(mut stream: SplitStream<WebSocket>, session: &Session) {
    let limits = session.relay.config.limits.clone();
    let mut greeted = false;
    let mut admission = Admission::new(&limits, Instant::now());
    let ends_at = from_now(limits.max_session);
    let mut idle_at = from_now(limits.idle_timeout);
    loop {
        let frame = tokio::select! {
            _ = session.token.cancelled() => return,
            () = tokio::time::sleep_until(idle_at) => {
                let minutes = limits.idle_timeout.as_secs().div_ceil(60);
                return goodbye(session, format!(
                    "the page sent nothing for {minutes} minute(s), so the relay closed this \
                     session and its sockets: reload the page to start again"
                )).await;
            }
            () = tokio::time::sleep_until(ends_at) => {
                let hours = limits.max_session.as_secs_f64() / 3600.0;
                return goodbye(session, format!(
                    "this session reached the relay's limit of {hours:.1} hour(s) \
                     (--max-session-secs), so it was closed with its sockets: reload the page"
                )).await;
            }
            frame = stream.next() => frame,
        };
        if let Some(Ok(Message::Text(_) | Message::Binary(_))) = &frame {
            idle_at = from_now(limits.idle_timeout);
        }
        let text = match frame {
            None | Some(Ok(Message::Close(_))) => return,
            Some(Err(err)) => return broken(session, &err).await,
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(bytes))) => {
                // Not part of the protocol, but a call in it still gets its one reply.
                let decoded = match std::str::from_utf8(&bytes) {
                    Ok(text) => decode(text),
                    Err(_) => Decoded::Malformed(String::new()),
                };
                let reason =
                    "binary frames are not part of the protocol: send the JSON as a text frame";
                let decoded = match decoded.id() {
                    Some(id) => Decoded::Invalid {
                        id,
                        reason: reason.into(),
                    },
                    None => Decoded::Malformed(reason.into()),
                };
                answer(session, &mut admission, decoded).await;
                continue;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
        };
        match decode(text.as_str()) {
            Decoded::Message(ToRelay::Hello { version }) if !greeted => {
                if version != PROTOCOL_VERSION {
                    return goodbye(
                        session,
                        format!(
                            "this relay speaks protocol version {PROTOCOL_VERSION}, the page speaks {version}: reload the page"
                        ),
                    )
                    .await;
                }
                greeted = true;
                session
                    .outbox
                    .send(FromRelay::Welcome {
                        version: PROTOCOL_VERSION,
                        relay: env!("CARGO_PKG_VERSION").into(),
                        os: std::env::consts::OS.into(),
                    })
                    .await;
                // Issue 4: which instruments this relay has, right after welcome.
                session
                    .outbox
                    .send(FromRelay::Capabilities {
                        kernel_view: crate::kernel_view::availability(),
                        capture: session.capture.availability(),
                    })
                    .await;
                // Issue 5: the machine's port facts (two tiny /proc reads, now, so a changed
                // sysctl shows at the next reload) with the lesson services. The services list
                // only when asked (`service_names`). An isolated session's sysctls are its
                // namespace's own, so they are read there.
                let root = session.relay.root;
                let machine = match session.place.run(move || crate::machine::machine(root)) {
                    Ok(machine) => socketlab_shared::Machine {
                        namespace_thread: session.place.namespace_thread(),
                        ..machine
                    },
                    Err(err) => {
                        // Only a namespace whose thread is gone (a bug): its sysctls are
                        // unknown, not the machine's.
                        tracing::error!(%err, "cannot read the namespace's sysctls");
                        socketlab_shared::Machine {
                            unprivileged_port_start: None,
                            ephemeral_ports: None,
                            ..crate::machine::machine(root)
                        }
                    }
                };
                session
                    .outbox
                    .send(FromRelay::Machine {
                        machine,
                        services: session.services().to_vec(),
                        scan: session.scan().cloned(),
                    })
                    .await;
                if session.relay.class.is_some() {
                    session.outbox.send(FromRelay::Class {}).await;
                }
            }
            _ if !greeted => {
                return goodbye(
                    session,
                    "the first message of a session must be hello".into(),
                )
                .await;
            }
            Decoded::Message(ToRelay::Hello { .. }) => {
                let again = Decoded::Malformed("this session already said hello".into());
                answer(session, &mut admission, again).await;
            }
            Decoded::Message(ToRelay::ServiceNames) => match admission.charge(Instant::now()) {
                Ok(()) => {
                    let names = session.relay.service_names.clone();
                    session.outbox.send(FromRelay::ServiceNames { names }).await;
                }
                Err(refused) => {
                    let reason = refused.reason;
                    session.outbox.send(FromRelay::Malformed { reason }).await;
                }
            },
            Decoded::Message(ToRelay::KnockDoor) => match admission.charge(Instant::now()) {
                Ok(()) => {
                    let knock = session.knock_door().map(|door| door.advertise());
                    session.outbox.send(FromRelay::KnockDoor { knock }).await;
                }
                Err(refused) => {
                    let reason = refused.reason;
                    session.outbox.send(FromRelay::Malformed { reason }).await;
                }
            },
            Decoded::Message(
                message @ (ToRelay::Join { .. } | ToRelay::Lesson { .. } | ToRelay::Passed { .. }),
            ) => match admission.charge(Instant::now()) {
                Ok(()) => class_message(session, message).await,
                Err(refused) => {
                    let reason = refused.reason;
                    session.outbox.send(FromRelay::Malformed { reason }).await;
                }
            },
            Decoded::Message(ToRelay::Call { id, op }) => {
                let load = session.table.lock().load();
                match admission.admit(&op, load, Instant::now()) {
                    Ok(()) => {
                        // Packet capture (issue 4): in place before this call's packets.
                        session.capture.follow();
                        syscalls::call(&session.calls, id, op).await;
                    }
                    Err(refused) => {
                        tracing::debug!(call = id.0, rule = refused.rule, "refused by a limit");
                        session.outbox.reply(id, refused.into()).await;
                    }
                }
            }
            unread @ (Decoded::Invalid { .. } | Decoded::Malformed(_)) => {
                answer(session, &mut admission, unread).await;
            }
        }
    }
}

/// The answer to a frame that is not a call the relay could read: `invalid` for its call id
/// when one could be read (exactly one reply per id), else `malformed`. Each costs a token of
/// the rate limit like a call; over it, the id's reply is the limit's refusal.
async fn answer(session: &Session, admission: &mut Admission, unread: Decoded) {
    let charged = admission.charge(Instant::now());
    match (unread, charged) {
        (Decoded::Invalid { id, reason }, Ok(())) => {
            session.outbox.reply(id, Outcome::Invalid { reason }).await;
        }
        (Decoded::Invalid { id, .. }, Err(refused)) => {
            session.outbox.reply(id, refused.into()).await;
        }
        (Decoded::Malformed(reason), Ok(())) => {
            session.outbox.send(FromRelay::Malformed { reason }).await;
        }
        (Decoded::Malformed(_), Err(refused)) => {
            session
                .outbox
                .send(FromRelay::Malformed {
                    reason: refused.reason,
                })
                .await;
        }
        // Readable messages are answered by the loop itself.
        (Decoded::Message(_), _) => {}
    }
}

/// The WebSocket failed while reading. A message over `max_message_bytes` is closed with 1009;
/// a text frame that is not UTF-8 (RFC 6455 says to fail the connection) gets a goodbye that
/// says so and close 1007; anything else (a reset, a protocol error) just ends the session.
/// Told apart by tungstenite's own error, which axum wraps.
async fn broken(session: &Session, err: &axum::Error) {
    use tungstenite::error::{CapacityError, Error};
    let cause = std::error::Error::source(err).and_then(|e| e.downcast_ref::<Error>());
    match cause {
        Some(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
            tracing::warn!(%err, "message over the size limit; closing with 1009");
            session.farewell.set(close_code::SIZE, "message too big");
        }
        Some(Error::Utf8(_)) => {
            tracing::info!(%err, "a text frame that is not UTF-8; closing with 1007");
            session
                .farewell
                .set(close_code::INVALID, "text frame not UTF-8");
            goodbye(
                session,
                "the page sent a text frame that is not valid UTF-8, which ends a WebSocket \
                 (RFC 6455): every message is JSON text. The relay closed this session and its \
                 sockets; reload the page"
                    .into(),
            )
            .await;
        }
        _ => tracing::info!(%err, "websocket failed"),
    }
}

async fn goodbye(session: &Session, reason: String) {
    tracing::info!(%reason, "goodbye");
    session.outbox.send(FromRelay::Goodbye { reason }).await;
}

/// What a text frame turned out to be.
#[derive(Debug, PartialEq)]
enum Decoded {
    Message(ToRelay),
    /// Not a valid call, but it has a call id, so it gets its one reply.
    Invalid {
        id: CallId,
        reason: String,
    },
    /// Nothing to answer to.
    Malformed(String),
}

/// What the relay makes of one text frame from the page: the message, or why it cannot be
/// read, with the call id when one could still be found (that call then gets an `invalid`
/// reply). The relay's own decode path, public for the fuzz target and tests.
pub fn decode_message(text: &str) -> Result<ToRelay, (Option<CallId>, String)> {
    match decode(text) {
        Decoded::Message(message) => Ok(message),
        Decoded::Invalid { id, reason } => Err((Some(id), reason)),
        Decoded::Malformed(reason) => Err((None, reason)),
    }
}

impl Decoded {
    /// The call id the frame carries, if one could be read.
    fn id(&self) -> Option<CallId> {
        match self {
            Decoded::Message(ToRelay::Call { id, .. }) | Decoded::Invalid { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Only the top-level `id` of a frame: everything else is skipped unread (serde's
/// `IgnoredAny` skips without a depth limit), so an op nested 10,000 deep, which the full
/// decode refuses, still gives up its id and gets its one reply.
#[derive(serde::Deserialize)]
struct Head {
    id: Option<u64>,
}

fn decode(text: &str) -> Decoded {
    let err = match serde_json::from_str::<ToRelay>(text) {
        Ok(message) => return Decoded::Message(message),
        Err(err) => err,
    };
    let id = serde_json::from_str::<Head>(text)
        .ok()
        .and_then(|head| head.id);
    match id {
        Some(id) => Decoded::Invalid {
            id: CallId(id),
            reason: format!("this call could not be read: {err}"),
        },
        None => Decoded::Malformed(err.to_string()),
    }
}

#[path = "session/writer.rs"]
mod writer;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_call_decodes() {
        let decoded = decode(r#"{"type":"call","id":3,"op":{"syscall":"close","socket":1}}"#);
        assert!(matches!(
            decoded,
            Decoded::Message(ToRelay::Call { id: CallId(3), .. })
        ));
    }

    #[test]
    fn a_request_for_the_service_names_decodes() {
        let decoded = decode(r#"{"type":"service_names"}"#);
        assert!(matches!(decoded, Decoded::Message(ToRelay::ServiceNames)));
    }

    #[test]
    fn a_broken_call_with_an_id_gets_an_invalid_reply() {
        let decoded = decode(r#"{"type":"call","id":9,"op":{"syscall":"fly"}}"#);
        let Decoded::Invalid { id, reason } = decoded else {
            panic!("expected invalid, got {decoded:?}");
        };
        assert_eq!(id, CallId(9));
        assert!(reason.contains("fly"), "{reason}");
    }

    #[test]
    fn a_call_nested_too_deep_still_gives_up_its_id() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for text in [
            format!(r#"{{"type":"call","id":7,"op":{deep}}}"#),
            format!(r#"{{"op":{deep},"type":"call","id":7}}"#),
        ] {
            let decoded = decode(&text);
            assert!(
                matches!(decoded, Decoded::Invalid { id: CallId(7), .. }),
                "{decoded:?}"
            );
        }
    }

    #[test]
    fn text_that_is_not_json_is_malformed() {
        assert!(matches!(decode("{nope"), Decoded::Malformed(_)));
        assert!(matches!(decode(r#"{"id":"x"}"#), Decoded::Malformed(_)));
        assert!(matches!(decode(r#"{"id":-1}"#), Decoded::Malformed(_)));
    }
}
