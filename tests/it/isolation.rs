//! Classroom isolation (`--isolate-sessions`, issue 14) through the real relay: each session in
//! a network namespace of its own. Two sessions both bind 127.0.0.1:8080 (a fixed port on
//! purpose: each namespace is new, so 8080 is free in it whatever the machine runs, and the
//! lessons suggest that number); each kernel view shows exactly its own sockets, TIME_WAIT
//! included; neither reaches the other's port nor a program of the machine (the kernel answers
//! ECONNREFUSED: no route leads there, so no policy is needed to refuse it); each has its own
//! lesson services, in its namespace. The relay binary started with the flag, measured from
//! outside: a session's namespace (a thread in it, its descriptors) is gone when the session
//! ends. These tests need root (CAP_SYS_ADMIN), as CI runs them; without it they fail saying so.

use socketlab_relay::{Config, Isolation, PolicyConfig};
use socketlab_shared::{
    Detached, Done, Family, FromRelay, KernelSocket, KernelState, Op, Outcome, Payload, SocketId,
    SocketType,
};

use crate::kernel_view::kernel_until;
use crate::support::{Client, Relay, within};

async fn isolated_relay() -> Relay {
    isolated_relay_with(PolicyConfig::default()).await
}

async fn isolated_relay_with(policy: PolicyConfig) -> Relay {
    Relay::start_with(Config {
        isolation: Isolation { sessions: true },
        policy,
        ..Config::default()
    })
    .await
}

/// A session of `relay` (a relay that could not make its namespace says why in a goodbye,
/// which `hello` shows: run the tests as root, as CI does).
async fn session(relay: &Relay) -> Client {
    relay.client().await
}

/// A TCP socket of `client` listening on `address`; its id.
async fn listener_on(client: &mut Client, address: &str) -> SocketId {
    let socket = client.socket(Family::Ipv4, SocketType::Stream).await;
    assert_eq!(client.bind(socket, address).await, address);
    client.listen(socket).await;
    socket
}

fn only(sockets: &[KernelSocket], ids: &[SocketId]) -> bool {
    sockets
        .iter()
        .all(|row| row.socket.is_some_and(|s| ids.contains(&s)) || row.detached.is_some())
}

#[tokio::test]
async fn two_isolated_sessions_both_bind_8080_and_each_sees_only_its_own_sockets() {
    let relay = isolated_relay().await;
    let mut a = session(&relay).await;
    let mut b = session(&relay).await;
    let at = "127.0.0.1:8080";
    let listener_a = listener_on(&mut a, at).await;
    let listener_b = listener_on(&mut b, at).await;

    // A connects to its own 8080, accepts, and its client closes first: TIME_WAIT on A's side.
    let client_a = a.socket(Family::Ipv4, SocketType::Stream).await;
    let connect = a
        .ok(Op::Connect {
            socket: client_a,
            address: at.into(),
        })
        .await;
    let Done::Connect { local, .. } = connect else {
        panic!("connect() returned {connect:?}")
    };
    let accepted = match a.ok(Op::Accept { socket: listener_a }).await {
        Done::Accept { socket, .. } => socket,
        other => panic!("accept() returned {other:?}"),
    };
    a.close(client_a).await;
    a.close(accepted).await;
    let seen_a = kernel_until(&mut a, "A's TIME_WAIT beside its listener", |rows| {
        rows.iter().any(|row| {
            row.state == KernelState::TimeWait
                && row.detached == Some(Detached::Closed)
                && row.local == local
        })
    })
    .await;
    assert!(only(&seen_a, &[listener_a]), "{seen_a:#?}");
    assert!(
        seen_a
            .iter()
            .any(|row| row.socket == Some(listener_a) && row.state == KernelState::Listen),
        "{seen_a:#?}"
    );

    // B's view, after a change of its own: its listener and a new UDP socket, nothing of A's
    // (A's rows are on the same 127.0.0.1:8080).
    let udp_b = b.socket(Family::Ipv4, SocketType::Datagram).await;
    b.bind(udp_b, "127.0.0.1:0").await;
    let seen_b = kernel_until(&mut b, "B's listener and its UDP socket", |rows| {
        rows.iter().any(|row| row.socket == Some(udp_b))
            && rows.iter().any(|row| row.socket == Some(listener_b))
    })
    .await;
    assert_eq!(seen_b.len(), 2, "only B's two sockets: {seen_b:#?}");
    assert!(
        !seen_b.iter().any(|row| row.state == KernelState::TimeWait),
        "A's TIME_WAIT shows in B's view: {seen_b:#?}"
    );
    relay.stop().await;
}

/// Both layers: the policy refuses a connect to a port the session does not hold (as without
/// isolation), and where an instructor's grant lets it through to the kernel, the namespace
/// leaves it nowhere to go.
#[tokio::test]
async fn an_isolated_session_reaches_neither_another_session_nor_a_program_of_the_machine() {
    // On the IPv6 wildcard, dual-stack: on the machine, every loopback address reaches it.
    let host = std::net::TcpListener::bind("[::]:0").expect("a listener on the host");
    let host_port = host.local_addr().expect("its address").port();
    let host_address = format!("127.0.0.1:{host_port}");
    // The control: on the machine's own network it is there.
    std::net::TcpStream::connect(&host_address).expect("the host's listener answers the host");
    // The first layer, the policy, as without isolation.
    let relay = isolated_relay().await;
    let mut a = session(&relay).await;
    let probe = a.socket(Family::Ipv4, SocketType::Stream).await;
    let id = a
        .call(Op::Connect {
            socket: probe,
            address: host_address.clone(),
        })
        .await;
    match a.reply(id).await {
        Outcome::Refused { rule, .. } => assert_eq!(rule, "connect_not_owned"),
        other => panic!("the policy let a connect to the host's program through: {other:?}"),
    }
    relay.stop().await;

    // The second layer: all of loopback granted, the kernel answers.
    let relay = isolated_relay_with(PolicyConfig {
        allow_connect: vec![
            "127.0.0.0/8".parse().expect("a grant"),
            "::1/128".parse().expect("a grant"),
        ],
        ..PolicyConfig::default()
    })
    .await;
    let mut a = session(&relay).await;
    let mut b = session(&relay).await;
    let listener = a.socket(Family::Ipv4, SocketType::Stream).await;
    let address = a.bind(listener, "127.0.0.1:0").await;
    a.listen(listener).await;

    // The control: A's own client reaches its listener.
    let own = a.socket(Family::Ipv4, SocketType::Stream).await;
    a.ok(Op::Connect {
        socket: own,
        address: address.clone(),
    })
    .await;

    // B, at the same address: nothing listens there in B's namespace. The kernel answers,
    // not the policy.
    let stranger = b.socket(Family::Ipv4, SocketType::Stream).await;
    let id = b
        .call(Op::Connect {
            socket: stranger,
            address: address.clone(),
        })
        .await;
    assert_eq!(b.errno(id).await.errno, "ECONNREFUSED");

    // A program of the machine, listening on the host's loopback: unreachable too, by every
    // spelling of loopback.
    for (family, address) in [
        (Family::Ipv4, host_address.clone()),
        (Family::Ipv4, format!("127.0.0.2:{host_port}")),
        (Family::Ipv6, format!("[::1]:{host_port}")),
    ] {
        // The control: on the machine's own network that spelling reaches it.
        std::net::TcpStream::connect(&address).expect("the host's listener answers the host");
        let probe = a.socket(family, SocketType::Stream).await;
        let id = a
            .call(Op::Connect {
                socket: probe,
                address: address.clone(),
            })
            .await;
        assert_eq!(a.errno(id).await.errno, "ECONNREFUSED", "{address}");
    }

    // A datagram from B to A's UDP port goes nowhere. A's own, sent after it, is the first A
    // reads (the control: a datagram to that port does arrive when sent inside A).
    let inbox = a.socket(Family::Ipv4, SocketType::Datagram).await;
    let inbox_address = a.bind(inbox, "127.0.0.1:0").await;
    let from_b = b.socket(Family::Ipv4, SocketType::Datagram).await;
    b.bind(from_b, "127.0.0.1:0").await;
    b.ok(Op::Sendto {
        socket: from_b,
        data: Payload::from("from B"),
        address: inbox_address.clone(),
    })
    .await;
    let from_a = a.socket(Family::Ipv4, SocketType::Datagram).await;
    a.bind(from_a, "127.0.0.1:0").await;
    a.ok(Op::Sendto {
        socket: from_a,
        data: Payload::from("from A"),
        address: inbox_address,
    })
    .await;
    match a
        .ok(Op::Recvfrom {
            socket: inbox,
            max: 64,
        })
        .await
    {
        Done::Recvfrom { data, .. } => assert_eq!(data.as_bytes(), b"from A"),
        other => panic!("recvfrom() returned {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn each_isolated_session_talks_to_its_own_echo_service() {
    let relay = isolated_relay().await;
    for _ in 0..2 {
        let mut client = session(&relay).await;
        let echo = match &client.machine {
            Some(FromRelay::Machine { services, .. }) => services
                .iter()
                .find(|s| s.name == "echo_tcp")
                .map(|s| s.address.clone())
                .expect("echo_tcp in the session's machine message"),
            other => panic!("no machine message: {other:?}"),
        };
        let socket = client.socket(Family::Ipv4, SocketType::Stream).await;
        client
            .ok(Op::Connect {
                socket,
                address: echo,
            })
            .await;
        client
            .ok(Op::Send {
                socket,
                data: Payload::from("hello\n"),
            })
            .await;
        let mut got = Vec::new();
        while got.len() < 6 {
            match client.ok(Op::Recv { socket, max: 64 }).await {
                Done::Recv { data } => got.extend_from_slice(data.as_bytes()),
                other => panic!("recv() returned {other:?}"),
            }
        }
        assert_eq!(got, b"hello\n");
    }
    relay.stop().await;
}

/// The network namespaces the tasks of process `pid` are in, by inode: the relay's own and its
/// sessions'. (Its seed namespace, which it makes the sessions' from and keeps, is left out:
/// its one thread is `socketlab-seed`.)
fn namespaces_of(pid: u32) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the relay's tasks")
        .filter_map(|task| {
            let task = task.ok()?.path();
            let name = std::fs::read_to_string(task.join("comm")).ok()?;
            (name.trim() != "socketlab-seed").then_some(())?;
            std::fs::read_link(task.join("ns/net")).ok()
        })
        .map(|link| link.display().to_string())
        .collect()
}

#[tokio::test]
async fn an_isolated_sessions_namespace_is_gone_when_it_ends() {
    use crate::security_limits::child::ChildRelay;
    let relay = ChildRelay::start(&[
        "--isolate-sessions",
        "--max-sessions",
        "64",
        "--max-connections",
        "128",
    ])
    .await;
    let pid = relay.pid();
    let before = namespaces_of(pid);
    assert_eq!(
        before.len(),
        1,
        "the relay alone is in the machine's: {before:?}"
    );
    // At most as many as before each session (one the relay opened at start may close meanwhile);
    // a leak would add one or more each round.
    let descriptors = relay.descriptors();
    for round in 0..20 {
        let mut client = Client::connect_with(relay.request()).await;
        client.hello().await;
        let socket = client.socket(Family::Ipv4, SocketType::Stream).await;
        client.bind(socket, "127.0.0.1:8080").await;
        let during = namespaces_of(pid);
        assert_eq!(
            during.len(),
            2,
            "round {round}: the session's own: {during:?}"
        );
        // The control of the count at the end: a session has one namespace thread.
        assert_eq!(namespace_threads(pid), 1, "round {round}");
        within("the session's end", client.hang_up()).await;
        let gone = tokio::time::timeout(crate::support::STEP, async {
            loop {
                if namespaces_of(pid) == before && relay.descriptors() <= descriptors {
                    return;
                }
                // Polling another process's /proc: nothing to wait on instead.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            gone.is_ok(),
            "round {round}: the session's namespace or descriptors are still there: \
             namespaces {:?} (before {before:?}), {} descriptors (before {descriptors})",
            namespaces_of(pid),
            relay.descriptors()
        );
    }
    // Then 1,000 more, 50 at a time: nothing of theirs is left either, not one namespace
    // thread.
    for wave in 0..20 {
        let mut sessions = Vec::new();
        for _ in 0..50 {
            let request = relay.request();
            sessions.push(tokio::spawn(async move {
                let mut client = Client::connect_with(request).await;
                client.hello().await;
                let socket = client.socket(Family::Ipv4, SocketType::Stream).await;
                client.bind(socket, "127.0.0.1:8080").await;
                client.listen(socket).await;
                within("the session's end", client.hang_up()).await;
            }));
        }
        for session in sessions {
            within(&format!("wave {wave}"), session)
                .await
                .expect("a session of the wave");
        }
    }
    let gone = tokio::time::timeout(crate::support::STEP, async {
        loop {
            if namespaces_of(pid) == before
                && relay.descriptors() <= descriptors
                && namespace_threads(pid) == 0
            {
                return;
            }
            // Polling another process's /proc: nothing to wait on instead.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "after 1,020 sessions: namespaces {:?} (before {before:?}), {} descriptors (before \
         {descriptors}), {} namespace threads",
        namespaces_of(pid),
        relay.descriptors(),
        namespace_threads(pid)
    );
}

/// How many of process `pid`'s threads are a session's namespace thread.
fn namespace_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the relay's tasks")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "socketlab-netns")
        .count()
}

/// A TCP connection of `client` to its own listener at `at`, with `marker` sent over it.
async fn marked_connection(client: &mut Client, at: &str, marker: &str) {
    let socket = client.socket(Family::Ipv4, SocketType::Stream).await;
    client
        .ok(Op::Connect {
            socket,
            address: at.into(),
        })
        .await;
    client
        .ok(Op::Send {
            socket,
            data: Payload::from(marker),
        })
        .await;
}

#[tokio::test]
async fn each_isolated_session_captures_its_own_loopback_only() {
    let relay = isolated_relay().await;
    let mut a = crate::capture::capturing(&relay).await;
    let mut b = crate::capture::capturing(&relay).await;
    let at = "127.0.0.1:8080";
    listener_on(&mut a, at).await;
    listener_on(&mut b, at).await;
    // B's connection first: were its packets on A's loopback, A's trace would hold them before
    // its own marker.
    marked_connection(&mut b, at, "from-b").await;
    marked_connection(&mut a, at, "from-a").await;
    let marked = |marker: &'static str| {
        move |p: &socketlab_shared::Packet| p.head.as_bytes() == marker.as_bytes()
    };
    let trace_a =
        crate::capture::packets_until(&mut a, "A's marked segment", marked("from-a")).await;
    assert!(
        !trace_a.iter().any(marked("from-b")),
        "B's segment is in A's trace: {trace_a:#?}"
    );
    // The control: B's own trace has it, with its handshake first.
    let trace_b =
        crate::capture::packets_until(&mut b, "B's marked segment", marked("from-b")).await;
    assert!(
        trace_b
            .iter()
            .any(|p| p.flags == [socketlab_shared::TcpFlag::Syn]),
        "B's trace has its SYN: {trace_b:#?}"
    );
    relay.stop().await;
}

/// The `ss` line the page offers an isolated session, run for real: `nsenter -t THREAD -n`
/// into the thread the `machine` message names shows the session's listener (beside its own
/// lesson services) and nothing of the machine's network.
#[tokio::test]
async fn nsenter_into_the_named_thread_shows_the_sessions_own_sockets() {
    let relay = isolated_relay().await;
    let mut client = session(&relay).await;
    let thread = match &client.machine {
        Some(FromRelay::Machine { machine, .. }) => machine
            .namespace_thread
            .expect("an isolated session is told its namespace's thread"),
        other => panic!("no machine message: {other:?}"),
    };
    listener_on(&mut client, "127.0.0.1:8080").await;
    let output = std::process::Command::new("nsenter")
        .args(["-t", &thread.to_string(), "-n", "ss", "-Htan"])
        .output()
        .expect("nsenter and ss (apt-get install util-linux iproute2)");
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("LISTEN") && l.contains("127.0.0.1:8080 ")),
        "the session's listener: {lines:?}"
    );
    // Nothing of the machine's network: not the relay's own listener, which the machine's `ss`
    // shows (the control). The session's lesson services are in its namespace, so they show.
    let relay_port = format!(":{} ", relay.addr.port());
    assert!(
        !lines.iter().any(|l| l.contains(&relay_port)),
        "the machine's sockets inside the session's namespace: {lines:?}"
    );
    let host = std::process::Command::new("ss")
        .args(["-Htln"])
        .output()
        .expect("ss");
    assert!(
        String::from_utf8_lossy(&host.stdout).contains(&relay_port),
        "the relay's listener on the machine's network: {host:?}"
    );
    // The control: a session of a relay without isolation is on the machine's network.
    let shared = Relay::start().await;
    let client = shared.client().await;
    match &client.machine {
        Some(FromRelay::Machine { machine, .. }) => assert_eq!(machine.namespace_thread, None),
        other => panic!("no machine message: {other:?}"),
    }
    shared.stop().await;
    relay.stop().await;
}

/// The user ids of process `pid` (real, effective), as the machine sees them.
fn uids_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the relay's status")
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .expect("a Uid: line")
}

/// An ordinary user's relay: it moves into a user namespace of its own at start, and isolates
/// sessions from there, with capture; on the machine it stays that user.
#[tokio::test]
async fn an_ordinary_users_relay_isolates_sessions_from_a_user_namespace_of_its_own() {
    use crate::security_limits::child::ChildRelay;
    let relay = ChildRelay::start_as_nobody(&["--isolate-sessions"]).await;
    let pid = relay.pid();
    // setpriv execs the relay: the child is the relay itself.
    assert_eq!(
        uids_of(pid),
        "65534 65534",
        "the relay runs as nobody on the machine"
    );
    let ours = std::fs::read_link("/proc/self/ns/user").expect("our user namespace");
    let its = std::fs::read_link(format!("/proc/{pid}/ns/user")).expect("its user namespace");
    assert_ne!(ours, its, "the relay has a user namespace of its own");
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect_with(relay.request()).await;
        client.hello().await;
        let socket = client.socket(Family::Ipv4, SocketType::Stream).await;
        assert_eq!(
            client.bind(socket, "127.0.0.1:8080").await,
            "127.0.0.1:8080"
        );
        client.listen(socket).await;
        match &client.machine {
            Some(FromRelay::Machine { machine, .. }) => {
                assert!(machine.namespace_thread.is_some(), "{machine:?}");
                assert_eq!(machine.user.as_deref(), Some("nobody"), "{machine:?}");
            }
            other => panic!("no machine message: {other:?}"),
        }
        match &client.capabilities {
            Some(FromRelay::Capabilities { capture, .. }) => assert_eq!(
                *capture,
                socketlab_shared::Availability::Available,
                "capture in the session's namespace, which the relay's user namespace owns"
            ),
            other => panic!("no capabilities: {other:?}"),
        }
        sessions.push(client);
    }
    // The control: each session has its own namespace, so both binds stood at once.
    assert_eq!(namespaces_of(pid).len(), 3, "{:?}", namespaces_of(pid));
}

/// A classroom relay isolates its sessions or does not start: `--expose-to-network` without
/// `--isolate-sessions` is refused before anything listens, saying what to add. (The address is
/// a loopback one, so nothing is exposed even if the rule broke; the flag alone is what is
/// judged.)
#[tokio::test]
async fn exposing_the_relay_without_isolating_sessions_is_refused_at_start() {
    let binary = within(
        "building the relay",
        tokio::task::spawn_blocking(crate::relay_binary::relay_binary),
    )
    .await
    .expect("build task");
    let run = |flags: &'static [&'static str]| {
        let binary = binary.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(binary)
                .args(["--listen", "127.0.0.1:0", "--dist", "/nonexistent"])
                .args(flags)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .output()
                .expect("run the relay")
        })
    };
    let refused = within("the refusal", run(&["--expose-to-network"]))
        .await
        .expect("run task");
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("--expose-to-network without --isolate-sessions"),
        "{said}"
    );
    // The control: with both flags it starts and prints its URL (`ChildRelay` waits for it
    // and stops the relay when dropped).
    let relay = crate::security_limits::child::ChildRelay::start(&[
        "--expose-to-network",
        "--isolate-sessions",
    ])
    .await;
    assert!(relay.pid() > 0);
}
