//! What the learner's sockets may do, through the real relay: sessions cannot connect to or
//! bind over each other's ports (SO_REUSEPORT included), the relay's own port and the
//! browsers' bad ports are refused before the kernel, binds stay on loopback unless the
//! operator says otherwise, and the kernel's own lessons (ECONNREFUSED, EACCES) still come
//! through. Loopback only: destinations off the machine are in security_netns.rs.
//!
//! Pinned here: another session cannot connect to, send to, or bind over a session's ports
//! (SO_REUSEPORT, SO_REUSEADDR, the wildcards; 127.0.0.2 on the same number is another endpoint,
//! and neither reaches the other; kernel-chosen ports, with the wildcard allowed); ports are freed
//! on close and at session end; concurrent binds; the relay's own port; bad ports refused before
//! the kernel (the socket stays unbound); outside programs refused unless granted; an outside
//! program's port refused to bind, sharing or not; a wildcard bind by flag; ports below 1024 by
//! euid; ECONNREFUSED on the session's own released port; `localhost` without DNS.

use socketlab_relay::{Config, PolicyConfig};
use socketlab_shared::{Done, Family, Op, Outcome, Payload, SockOpt, SocketId, SocketType};

use crate::support::{Client, Relay};

/// The reply to `id`, which must be a policy refusal: its rule, after checking the reason
/// reads as one.
pub(crate) async fn refused(c: &mut Client, id: socketlab_shared::CallId) -> String {
    match c.reply(id).await {
        Outcome::Refused { rule, reason } => {
            assert!(reason.contains("refused by the relay"), "{reason}");
            rule
        }
        other => panic!("call {id} should have been refused by the policy: {other:?}"),
    }
}

pub(crate) async fn connect(
    c: &mut Client,
    socket: SocketId,
    address: &str,
) -> socketlab_shared::CallId {
    c.call(Op::Connect {
        socket,
        address: address.into(),
    })
    .await
}

pub(crate) async fn bind_call(
    c: &mut Client,
    socket: SocketId,
    address: &str,
) -> socketlab_shared::CallId {
    c.call(Op::Bind {
        socket,
        address: address.into(),
    })
    .await
}

pub(crate) async fn share_port(c: &mut Client, socket: SocketId, option: SockOpt) {
    c.ok(Op::Setsockopt {
        socket,
        option,
        value: 1,
    })
    .await;
}

/// The socket's local address: proof that a refused call never reached the kernel (a connect
/// or sendto that did would have bound the socket to a port).
pub(crate) async fn local(c: &mut Client, socket: SocketId) -> String {
    match c.ok(Op::Getsockname { socket }).await {
        Done::Getsockname { address } => address,
        other => panic!("{other:?}"),
    }
}

pub(crate) fn port(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("an address with a port")
}

#[tokio::test]
async fn another_session_cannot_connect_to_a_listener() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let (_, address) = a.listener().await;
    let client = b.tcp().await;
    let id = connect(&mut b, client, &address).await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    assert_eq!(
        local(&mut b, client).await,
        "0.0.0.0:0",
        "never reached the kernel"
    );
    // The same port spelled as localhost or IPv4-mapped IPv6 is still A's.
    let id = connect(&mut b, client, &format!("localhost:{}", port(&address))).await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    let v6 = b.socket(Family::Ipv6, SocketType::Stream).await;
    let id = connect(
        &mut b,
        v6,
        &format!("[::ffff:127.0.0.1]:{}", port(&address)),
    )
    .await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    // A itself still can.
    let own = a.tcp().await;
    a.ok(Op::Connect {
        socket: own,
        address,
    })
    .await;
    relay.stop().await;
}

#[tokio::test]
async fn another_session_cannot_send_datagrams_to_a_bound_udp_port() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let receiver = a.udp().await;
    let address = a.bind(receiver, "127.0.0.1:0").await;
    let sender = b.udp().await;
    let id = b
        .call(Op::Sendto {
            socket: sender,
            data: Payload::from("hi"),
            address: address.clone(),
        })
        .await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    let id = connect(&mut b, sender, &address).await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    relay.stop().await;
}

#[tokio::test]
async fn another_session_cannot_bind_over_a_port_even_with_so_reuseport() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let listener = a.tcp().await;
    share_port(&mut a, listener, SockOpt::SoReuseport).await;
    let address = a.bind(listener, "127.0.0.1:0").await;
    a.listen(listener).await;

    // With SO_REUSEPORT on both sockets (same user) the kernel would let B join A's port
    // group and take a share of A's connections: the relay refuses before the kernel sees it.
    let thief = b.tcp().await;
    share_port(&mut b, thief, SockOpt::SoReuseport).await;
    let id = bind_call(&mut b, thief, &address).await;
    assert_eq!(refused(&mut b, id).await, "bind_other_session");
    assert_eq!(local(&mut b, thief).await, "0.0.0.0:0");
    // The wildcards include A's address, so they are A's port too (with the flag that lets
    // a wildcard through at all).
    for wildcard in ["0.0.0.0", "[::]"] {
        let family = if wildcard == "0.0.0.0" {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let wide = b.socket(family, SocketType::Stream).await;
        share_port(&mut b, wide, SockOpt::SoReuseport).await;
        let id = bind_call(&mut b, wide, &format!("{wildcard}:{}", port(&address))).await;
        assert_eq!(refused(&mut b, id).await, "bind_wildcard");
    }
    // Another loopback address on the same number is another endpoint, for the kernel and
    // for the policy: B may hold it, and neither session reaches the other's.
    let beside = format!("127.0.0.2:{}", port(&address));
    assert_eq!(b.bind(thief, &beside).await, beside);
    b.listen(thief).await;
    let probe = a.tcp().await;
    let id = connect(&mut a, probe, &beside).await;
    assert_eq!(refused(&mut a, id).await, "connect_other_session");
    let probe = b.tcp().await;
    let id = connect(&mut b, probe, &address).await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");

    // UDP: SO_REUSEADDR alone lets datagram sockets share a port on Linux.
    let udp = a.udp().await;
    share_port(&mut a, udp, SockOpt::SoReuseaddr).await;
    let udp_address = a.bind(udp, "127.0.0.1:0").await;
    let udp_thief = b.udp().await;
    share_port(&mut b, udp_thief, SockOpt::SoReuseaddr).await;
    let id = bind_call(&mut b, udp_thief, &udp_address).await;
    assert_eq!(refused(&mut b, id).await, "bind_other_session");

    // Within one session, sharing is the kernel's lesson and works.
    let second = a.tcp().await;
    share_port(&mut a, second, SockOpt::SoReuseport).await;
    assert_eq!(a.bind(second, &address).await, address);
    relay.stop().await;
}

#[tokio::test]
async fn a_port_is_free_for_other_sessions_once_its_session_closes_it_or_ends() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let (listener, address) = a.listener().await;
    a.close(listener).await;
    let socket = b.tcp().await;
    assert_eq!(b.bind(socket, &address).await, address);
    b.hang_up().await;
    // B's session ended (its close frame came after its ports were given up): A may take it.
    let again = a.tcp().await;
    let id = bind_call(&mut a, again, &address).await;
    let outcome = a.reply(id).await;
    assert!(
        matches!(outcome, Outcome::Ok(Done::Bind { .. })),
        "{outcome:?}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn two_sessions_binding_one_port_at_once_cannot_both_win() {
    let relay = Relay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    for _ in 0..20 {
        let address = {
            let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("address").to_string()
        };
        let (sa, sb) = (a.udp().await, b.udp().await);
        share_port(&mut a, sa, SockOpt::SoReuseport).await;
        share_port(&mut b, sb, SockOpt::SoReuseport).await;
        let (ia, ib) = (
            bind_call(&mut a, sa, &address).await,
            bind_call(&mut b, sb, &address).await,
        );
        let (ra, rb) = (a.reply(ia).await, b.reply(ib).await);
        let won = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Outcome::Ok(_)))
            .count();
        assert!(won <= 1, "both sessions bound {address}: {ra:?} {rb:?}");
        a.close(sa).await;
        b.close(sb).await;
    }
    relay.stop().await;
}

#[tokio::test]
async fn the_relays_own_port_is_refused() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let client = c.tcp().await;
    for address in [
        relay.addr.to_string(),
        format!("localhost:{}", relay.addr.port()),
        format!("0.0.0.0:{}", relay.addr.port()),
    ] {
        let id = connect(&mut c, client, &address).await;
        assert_eq!(refused(&mut c, id).await, "connect_relay_port", "{address}");
    }
    assert_eq!(local(&mut c, client).await, "0.0.0.0:0");
    relay.stop().await;
}

#[tokio::test]
async fn a_browser_bad_port_is_refused_without_reaching_the_kernel() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let client = c.tcp().await;
    let id = connect(&mut c, client, "127.0.0.1:6000").await;
    assert_eq!(refused(&mut c, id).await, "connect_bad_port");
    let udp = c.udp().await;
    let id = c
        .call(Op::Sendto {
            socket: udp,
            data: Payload::from("x"),
            address: "127.0.0.1:25".into(),
        })
        .await;
    assert_eq!(refused(&mut c, id).await, "connect_bad_port");
    // A connect or sendto that reached the kernel would have bound an ephemeral port.
    assert_eq!(local(&mut c, client).await, "0.0.0.0:0");
    assert_eq!(local(&mut c, udp).await, "0.0.0.0:0");
    relay.stop().await;
}

#[tokio::test]
async fn ports_of_programs_outside_the_relay_are_refused_unless_granted() {
    // A program outside the relay, listening on loopback: the test itself.
    let outside = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an outside listener");
    let address = outside.local_addr().expect("address");
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let client = c.tcp().await;
    let id = connect(&mut c, client, &address.to_string()).await;
    assert_eq!(refused(&mut c, id).await, "connect_not_owned");
    relay.stop().await;

    let grant = format!("127.0.0.1/32:{}", address.port());
    let relay = Relay::start_with(Config {
        policy: PolicyConfig {
            allow_connect: vec![grant.parse().expect("a grant")],
            ..PolicyConfig::default()
        },
        ..Config::default()
    })
    .await;
    let mut c = relay.client().await;
    let client = c.tcp().await;
    let done = c
        .ok(Op::Connect {
            socket: client,
            address: address.to_string(),
        })
        .await;
    assert!(matches!(done, Done::Connect { .. }), "{done:?}");
    relay.stop().await;
}

#[tokio::test]
async fn sharing_a_port_with_a_program_outside_the_relay_is_refused() {
    // An outside listener that shares its port (SO_REUSEPORT), as a server may: the kernel
    // would let a socket of the same user join it and take some of its connections.
    let outside =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    outside.set_reuse_port(true).expect("SO_REUSEPORT");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    outside.bind(&any.into()).expect("bind");
    outside.listen(4).expect("listen");
    let address = outside
        .local_addr()
        .expect("address")
        .as_socket()
        .expect("an IP address")
        .to_string();

    let relay = Relay::start().await;
    let mut c = relay.client().await;
    // Whether the session's socket shares or not: a port a program outside the relay holds is
    // never the session's to bind (without sharing the kernel would say EADDRINUSE anyway).
    let plain = c.tcp().await;
    let id = bind_call(&mut c, plain, &address).await;
    assert_eq!(refused(&mut c, id).await, "bind_port_in_use_outside");
    let thief = c.tcp().await;
    share_port(&mut c, thief, SockOpt::SoReuseport).await;
    let id = bind_call(&mut c, thief, &address).await;
    assert_eq!(refused(&mut c, id).await, "bind_port_in_use_outside");
    assert_eq!(
        local(&mut c, thief).await,
        "0.0.0.0:0",
        "never reached the kernel"
    );
    relay.stop().await;
}

#[tokio::test]
async fn binding_the_wildcard_needs_the_operators_flag() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let socket = c.tcp().await;
    let id = bind_call(&mut c, socket, "0.0.0.0:0").await;
    assert_eq!(refused(&mut c, id).await, "bind_wildcard");
    let v6 = c.socket(Family::Ipv6, SocketType::Datagram).await;
    let id = bind_call(&mut c, v6, "[::]:0").await;
    assert_eq!(refused(&mut c, id).await, "bind_wildcard");
    relay.stop().await;

    let relay = Relay::allowing_wildcard().await;
    let mut c = relay.client().await;
    let socket = c.tcp().await;
    let local = c.bind(socket, "0.0.0.0:0").await;
    assert!(
        local.starts_with("0.0.0.0:") && !local.ends_with(":0"),
        "{local}"
    );
    relay.stop().await;
}

/// The effective uid of this process, from /proc (the tests crate has no libc).
fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .expect("an effective uid in /proc/self/status")
}

#[tokio::test]
async fn a_port_below_1024_is_the_kernels_lesson_unless_the_relay_is_root() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let socket = c.tcp().await;
    // Port 1 (tcpmux) is bound by nothing on a normal machine.
    let id = bind_call(&mut c, socket, "127.0.0.1:1").await;
    if euid() == 0 {
        assert_eq!(refused(&mut c, id).await, "bind_privileged_port");
        assert_eq!(local(&mut c, socket).await, "0.0.0.0:0");
    } else {
        // Unprivileged, the kernel decides; a system may lower the privileged range.
        let start: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1024);
        match c.reply(id).await {
            Outcome::Error(err) if start > 1 => assert_eq!(err.errno, "EACCES"),
            Outcome::Ok(_) if start <= 1 => {}
            other => panic!("unprivileged bind to port 1 (unprivileged from {start}): {other:?}"),
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn connect_to_the_sessions_own_released_port_reports_econnrefused() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let (listener, address) = c.listener().await;
    c.close(listener).await;
    let client = c.tcp().await;
    let id = connect(&mut c, client, &address).await;
    assert_eq!(c.errno(id).await.errno, "ECONNREFUSED");
    relay.stop().await;
}

#[tokio::test]
async fn localhost_is_loopback_without_asking_dns_and_other_names_are_refused() {
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let v4 = c.tcp().await;
    let local4 = c.bind(v4, "localhost:0").await;
    assert!(local4.starts_with("127.0.0.1:"), "{local4}");
    c.listen(v4).await;
    let v6 = c.socket(Family::Ipv6, SocketType::Stream).await;
    let local6 = c.bind(v6, "localhost:0").await;
    assert!(local6.starts_with("[::1]:"), "{local6}");
    let client = c.tcp().await;
    let done = c
        .ok(Op::Connect {
            socket: client,
            address: format!("localhost:{}", port(&local4)),
        })
        .await;
    assert!(matches!(done, Done::Connect { .. }), "{done:?}");
    let other = c.tcp().await;
    let id = connect(&mut c, other, "localhost.localdomain:8080").await;
    assert_eq!(refused(&mut c, id).await, "address_is_a_name");
    relay.stop().await;
}

#[tokio::test]
async fn ports_the_kernel_chose_on_its_own_belong_to_their_session_too() {
    // Binding on its own, the kernel takes the wildcard address: allowed with the flag only
    // (security_ownership.rs shows the refusal without it).
    let relay = Relay::allowing_wildcard().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    // listen() without bind: the kernel binds 0.0.0.0 and an ephemeral port, which covers
    // 127.0.0.1 too.
    let listener = a.tcp().await;
    let listening = a.listen(listener).await;
    let probe = b.tcp().await;
    let id = connect(&mut b, probe, &format!("127.0.0.1:{}", port(&listening))).await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    // The first sendto() of an unbound UDP socket binds it.
    let receiver = a.udp().await;
    let target = a.bind(receiver, "127.0.0.1:0").await;
    let sender = a.udp().await;
    let Done::Sendto { local, .. } = a
        .ok(Op::Sendto {
            socket: sender,
            data: Payload::from("x"),
            address: target,
        })
        .await
    else {
        panic!("sendto returned something else");
    };
    let udp = b.udp().await;
    let id = b
        .call(Op::Sendto {
            socket: udp,
            data: Payload::from("x"),
            address: format!("127.0.0.1:{}", port(&local)),
        })
        .await;
    assert_eq!(refused(&mut b, id).await, "connect_other_session");
    // connect() binds the client's side; accept() hands back a socket on the listener's port.
    let accept = a.call(Op::Accept { socket: listener }).await;
    let client = a.tcp().await;
    let Done::Connect { local, .. } = a
        .ok(Op::Connect {
            socket: client,
            address: format!("127.0.0.1:{}", port(&listening)),
        })
        .await
    else {
        panic!("connect returned something else");
    };
    a.done(accept).await;
    a.close(listener).await;
    let thief = b.tcp().await;
    let id = bind_call(&mut b, thief, &local).await;
    assert_eq!(refused(&mut b, id).await, "bind_other_session");
    let id = bind_call(&mut b, thief, &format!("127.0.0.1:{}", port(&listening))).await;
    assert_eq!(
        refused(&mut b, id).await,
        "bind_other_session",
        "the accepted socket still holds the listener's port"
    );
    relay.stop().await;
}
