//! The port-knocking lesson through the real relay: each session's `knock_door` answer names three
//! knock addresses and the session's own door, made when the session asks. The door refuses connections (the kernel's
//! ECONNREFUSED) until this session's connects hit the knock ports in order; then it greets
//! each connection with one line, for `open_secs`, and closes again on the same port. Knocks
//! out of order, knocks by another session or by a program outside the relay never open it;
//! another session cannot even connect to it (the policy's refusal); it goes with the session.
//! The kernel view of a session lists none of the relay's own scan, knock or door sockets.
//!
//! The door stays open for `open_secs`, 1 s in the test.

use std::collections::BTreeSet;
use std::time::Duration;

use socketlab_relay::{Config, LessonConfig};
use socketlab_shared::{Done, FromRelay, KernelSocket, KnockDoor, Op, Outcome, ScanTargets};

use crate::support::{Client, Relay, STEP, eventually, tcp_connect_is_refused, tcp_port_is_free};

/// The session's door, asked for as the knock widget does (the relay makes it then).
async fn door(client: &mut Client) -> KnockDoor {
    client
        .knock_door()
        .await
        .expect("the relay answers knock_door with this session's door")
}

fn scan(client: &Client) -> ScanTargets {
    match client.machine.clone() {
        Some(FromRelay::Machine {
            scan: Some(scan), ..
        }) => scan,
        other => panic!("no scan targets in machine: {other:?}"),
    }
}

/// A connect through the session on a fresh socket; the reply.
async fn connect(c: &mut Client, address: &str) -> (socketlab_shared::SocketId, Outcome) {
    let socket = c.tcp().await;
    let id = c
        .call(Op::Connect {
            socket,
            address: address.into(),
        })
        .await;
    (socket, c.reply(id).await)
}

/// A knock: the kernel refuses it (nothing listens on a knock port).
async fn knock(c: &mut Client, address: &str) {
    let (socket, outcome) = connect(c, address).await;
    match outcome {
        Outcome::Error(err) => assert_eq!(err.errno, "ECONNREFUSED", "knock on {address}"),
        other => panic!("a knock on {address} answered {other:?}"),
    }
    c.close(socket).await;
}

async fn knock_in_order(c: &mut Client, door: &KnockDoor, order: &[usize]) {
    for i in order {
        knock(c, &door.knocks[*i]).await;
    }
}

/// The door is closed: the kernel refuses a connect to it.
async fn assert_closed(c: &mut Client, door: &KnockDoor, why: &str) {
    let (socket, outcome) = connect(c, &door.door).await;
    match outcome {
        Outcome::Error(err) => assert_eq!(err.errno, "ECONNREFUSED", "{why}"),
        other => panic!("{why}: the door answered {other:?}"),
    }
    c.close(socket).await;
}

/// The door is open: the connect succeeds and the first recv is the door's line.
async fn assert_open(c: &mut Client, door: &KnockDoor) {
    let (socket, outcome) = connect(c, &door.door).await;
    assert!(
        matches!(outcome, Outcome::Ok(Done::Connect { .. })),
        "{outcome:?}"
    );
    match c.ok(Op::Recv { socket, max: 1024 }).await {
        Done::Recv { data } => {
            let line = String::from_utf8_lossy(data.as_bytes()).into_owned();
            assert!(
                line.starts_with("door opened by your knock sequence") && line.ends_with('\n'),
                "{line:?}"
            );
        }
        other => panic!("recv on the door returned {other:?}"),
    }
    c.close(socket).await;
}

#[tokio::test]
async fn the_door_refuses_before_the_knocks_and_greets_after_the_right_sequence() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let door = door(&mut c).await;
    assert_eq!(door.knocks.len(), 3);
    assert_eq!(door.open_secs, 30);
    let mut all: BTreeSet<&str> = door.knocks.iter().map(String::as_str).collect();
    all.insert(&door.door);
    assert_eq!(all.len(), 4, "four different addresses: {door:?}");
    assert_closed(&mut c, &door, "before any knock").await;
    knock_in_order(&mut c, &door, &[0, 1, 2]).await;
    assert_open(&mut c, &door).await;
    // Open for every connection of the session while it lasts, not just one.
    assert_open(&mut c, &door).await;
    relay.stop().await;
}

#[tokio::test]
async fn knocks_out_of_order_do_not_open_the_door_and_a_wrong_one_starts_over() {
    // Thirteen connects in a row: more than the scan brake allows in a second.
    let relay = Relay::start_with(Config {
        limits: socketlab_relay::Limits {
            connects_per_second: 0,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let mut c = relay.client().await;
    let door = door(&mut c).await;
    knock_in_order(&mut c, &door, &[0, 2, 1]).await;
    assert_closed(&mut c, &door, "after 0 2 1").await;
    knock_in_order(&mut c, &door, &[1, 2]).await;
    assert_closed(&mut c, &door, "after 0 2 1 1 2").await;
    // A knock on the first port after a wrong one counts as the first.
    knock_in_order(&mut c, &door, &[0, 1, 0, 1, 2]).await;
    assert_open(&mut c, &door).await;
    relay.stop().await;
}

#[tokio::test]
async fn another_session_can_neither_reach_nor_open_this_sessions_door() {
    let relay = Relay::start().await;
    let mut mine = relay.client().await;
    let mut other = relay.client().await;
    let my_door = door(&mut mine).await;
    let their_door = door(&mut other).await;
    assert_eq!(
        my_door.knocks, their_door.knocks,
        "the knock ports are shared"
    );
    assert_ne!(
        my_door.door, their_door.door,
        "each session has its own door"
    );
    // The other session knocks the right sequence: its own door opens, mine stays shut.
    knock_in_order(&mut other, &their_door, &[0, 1, 2]).await;
    assert_open(&mut other, &their_door).await;
    assert_closed(&mut mine, &my_door, "after another session's knocks").await;
    // A program outside the relay knocks too: the kernel refuses it, and nothing opens.
    for knock in &my_door.knocks {
        assert!(tcp_connect_is_refused(knock), "{knock} is closed");
    }
    assert_closed(&mut mine, &my_door, "after an outside program's knocks").await;
    // The other session may not even try my door: the policy refuses it, closed or open.
    for state in ["closed", "open"] {
        if state == "open" {
            knock_in_order(&mut mine, &my_door, &[0, 1, 2]).await;
            assert_open(&mut mine, &my_door).await;
        }
        let (_, outcome) = connect(&mut other, &my_door.door).await;
        match outcome {
            Outcome::Refused { rule, .. } => assert_eq!(rule, "connect_other_session"),
            other => panic!("another session's connect to my {state} door: {other:?}"),
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_door_closes_again_after_open_secs_on_the_same_port_and_can_reopen() {
    let relay = Relay::start_with(Config {
        lessons: LessonConfig {
            door_open: Duration::from_secs(1),
        },
        ..Config::default()
    })
    .await;
    let mut c = relay.client().await;
    let door = door(&mut c).await;
    assert_eq!(door.open_secs, 1);
    knock_in_order(&mut c, &door, &[0, 1, 2]).await;
    assert_open(&mut c, &door).await;
    // Polled from outside the relay (any local program can reach the door while it is open),
    // so the session's connect-rate brake stays out of it: each try is a real connect.
    eventually("the door closes again", || {
        tcp_connect_is_refused(&door.door)
    })
    .await;
    assert_closed(&mut c, &door, "after open_secs").await;
    // Still held by the relay for this session: nobody else can bind it.
    assert!(!tcp_port_is_free(&door.door), "{} is still held", door.door);
    knock_in_order(&mut c, &door, &[0, 1, 2]).await;
    assert_open(&mut c, &door).await;
    relay.stop().await;
}

#[tokio::test]
async fn the_door_goes_with_its_session_closed_or_open() {
    let relay = Relay::start().await;
    // Never opened: once the session is over, its port is free for anyone.
    let mut c = relay.client().await;
    let never_opened = door(&mut c).await;
    assert!(!tcp_port_is_free(&never_opened.door));
    c.hang_up().await;
    assert!(
        tcp_port_is_free(&never_opened.door),
        "{} is still held after the session ended",
        never_opened.door
    );
    // Open when the session ends: the relay stops listening there at once.
    let mut c = relay.client().await;
    let open = door(&mut c).await;
    knock_in_order(&mut c, &open, &[0, 1, 2]).await;
    assert_open(&mut c, &open).await;
    c.hang_up().await;
    assert!(
        tcp_connect_is_refused(&open.door),
        "{} still answers after its session ended",
        open.door
    );
    relay.stop().await;
}

/// Reads `kernel` messages until one lists `socket`; returns that list.
async fn kernel_with(c: &mut Client, socket: socketlab_shared::SocketId) -> Vec<KernelSocket> {
    let found = tokio::time::timeout(STEP, async {
        loop {
            let sockets = c
                .wait_for("a kernel message", |message| match message {
                    FromRelay::Kernel { sockets } => Some(sockets.clone()),
                    _ => None,
                })
                .await;
            if sockets.iter().any(|row| row.socket == Some(socket)) {
                return sockets;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no kernel message listed socket {socket}"))
}

/// The port of an address as `ss` writes it (`127.0.0.1:5000`, `[::1]:5000`, `0.0.0.0:*`);
/// 0 for `*`.
fn port(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_sessions_kernel_view_lists_none_of_the_relays_own_lesson_sockets() {
    let relay = Relay::start_with(Config {
        limits: socketlab_relay::Limits {
            connects_per_second: 0,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let mut mine = relay.client().await;
    let mut other = relay.client().await;
    let targets = scan(&mine);
    let my_door = door(&mut mine).await;
    // The other session opens its door, and both scan the open targets (the relay accepts
    // and closes those connections itself, leaving its own TIME_WAITs on the scan ports).
    let their_door = door(&mut other).await;
    knock_in_order(&mut other, &their_door, &[0, 1, 2]).await;
    assert_open(&mut other, &their_door).await;
    knock_in_order(&mut mine, &my_door, &[0, 1, 2]).await;
    assert_open(&mut mine, &my_door).await;
    let mut relays_own: BTreeSet<u16> = (targets.ports.first..=targets.ports.last).collect();
    relays_own.extend(my_door.knocks.iter().map(|k| port(k)));
    for c in [&mut mine, &mut other] {
        for target in targets.ports.first..=targets.ports.last {
            // One at a time: closed and open ports answer at once; the filtered one is left
            // waiting (its socket stays open and shows as SYN_SENT).
            let socket = c.tcp().await;
            c.call(Op::Connect {
                socket,
                address: format!("127.0.0.1:{target}"),
            })
            .await;
        }
    }
    // A listener of each session, which a kernel message must list.
    let (mine_last, _) = mine.listener().await;
    let (other_last, _) = other.listener().await;
    for (c, socket, not_mine) in [
        (&mut mine, mine_last, their_door.door.as_str()),
        (&mut other, other_last, my_door.door.as_str()),
    ] {
        let rows = kernel_with(c, socket).await;
        let mut forbidden = relays_own.clone();
        forbidden.insert(port(not_mine));
        for row in &rows {
            assert!(
                !forbidden.contains(&port(&row.local)),
                "a relay's socket in a session's kernel view: {row:?} in {rows:#?}"
            );
            // Another session's door is not even a remote end of this session's rows.
            assert_ne!(port(&row.remote), port(not_mine), "{row:?}");
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_door_is_made_when_first_asked_for_and_asking_again_gives_the_same_one() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let first = door(&mut c).await;
    assert!(
        !tcp_port_is_free(&first.door),
        "the door's port is held once asked for"
    );
    let again = door(&mut c).await;
    assert_eq!(first, again, "one door per session");
    c.hang_up().await;
    relay.stop().await;
}
