//! Unit tests of the ownership registry: the address -> owner mapping with the kernel's
//! wildcard and dual-stack rules, released endpoints and their cap, and a session's end.

use super::*;

const TCP: SocketType = SocketType::Stream;
const UDP: SocketType = SocketType::Datagram;

fn at(text: &str) -> SocketAddr {
    text.parse().expect("a socket address")
}

fn holding(kind: SocketType, address: &str, v6only: bool) -> Option<Holding> {
    Some(Holding {
        endpoint: Endpoint::new(kind, at(address), v6only),
        inode: None,
    })
}

fn tcp(address: &str) -> Option<Holding> {
    holding(TCP, address, false)
}

/// Who `session` reaches at `to` (on this machine), released endpoints of any age counted.
fn reached(session: &SessionPorts, kind: SocketType, to: &str) -> PortOwner {
    session.locked().reached(kind, at(to), true, None)
}

#[test]
fn an_endpoint_is_reached_at_its_own_address_only() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), tcp("[::1]:5000"));
    assert_eq!(reached(&a, TCP, "[::1]:5000"), PortOwner::ThisSession);
    assert_eq!(reached(&b, TCP, "[::1]:5000"), PortOwner::OtherSession);
    // The same number at another address is not A's: an outside program may hold it.
    for other in [
        "127.0.0.1:5000",
        "127.0.0.2:5000",
        "[::ffff:127.0.0.1]:5000",
    ] {
        assert_eq!(reached(&a, TCP, other), PortOwner::Nobody, "{other}");
        assert_eq!(reached(&b, TCP, other), PortOwner::Nobody, "{other}");
    }
    assert_eq!(
        reached(&b, UDP, "[::1]:5000"),
        PortOwner::Nobody,
        "protocols apart"
    );
    assert_eq!(reached(&b, TCP, "[::1]:5001"), PortOwner::Nobody);
}

#[test]
fn the_ipv4_wildcard_covers_every_ipv4_address_of_the_machine() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), tcp("0.0.0.0:5100"));
    for to in [
        "127.0.0.1:5100",
        "127.9.9.9:5100",
        "[::ffff:127.0.0.1]:5100",
    ] {
        assert_eq!(reached(&b, TCP, to), PortOwner::OtherSession, "{to}");
    }
    assert_eq!(
        reached(&b, TCP, "[::1]:5100"),
        PortOwner::Nobody,
        "not IPv6"
    );
    // An address that is not this machine's never reaches a local wildcard.
    let off_machine = b.locked().reached(TCP, at("10.0.0.1:5100"), false, None);
    assert_eq!(off_machine, PortOwner::Nobody);
    let lan = b.locked().reached(TCP, at("10.0.0.1:5100"), true, None);
    assert_eq!(lan, PortOwner::OtherSession, "this machine's LAN address");
}

#[test]
fn the_ipv6_wildcard_covers_ipv4_too_unless_v6only() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), holding(UDP, "[::]:5200", false));
    assert_eq!(reached(&b, UDP, "[::1]:5200"), PortOwner::OtherSession);
    assert_eq!(reached(&b, UDP, "127.0.0.1:5200"), PortOwner::OtherSession);
    a.record(SocketId(2), holding(UDP, "[::]:5201", true));
    assert_eq!(reached(&b, UDP, "[::1]:5201"), PortOwner::OtherSession);
    assert_eq!(reached(&b, UDP, "127.0.0.1:5201"), PortOwner::Nobody);
}

#[test]
fn binds_overlap_as_the_kernel_sees_them() {
    let e = |address: &str, v6only: bool| Endpoint::new(TCP, at(address), v6only);
    let overlapping = [
        (e("127.0.0.1:80", false), e("127.0.0.1:80", false)),
        (e("0.0.0.0:80", false), e("127.0.0.2:80", false)),
        (e("[::]:80", false), e("127.0.0.1:80", false)),
        (e("[::]:80", false), e("0.0.0.0:80", false)),
        (e("[::]:80", true), e("[::1]:80", false)),
        (e("[::ffff:127.0.0.1]:80", false), e("127.0.0.1:80", false)),
    ];
    for (x, y) in overlapping {
        assert!(x.overlaps(&y) && y.overlaps(&x), "{x:?} and {y:?}");
    }
    let apart = [
        (e("127.0.0.1:80", false), e("127.0.0.2:80", false)),
        (e("127.0.0.1:80", false), e("[::1]:80", false)),
        (e("[::]:80", true), e("127.0.0.1:80", false)),
        (e("[::]:80", true), e("0.0.0.0:80", false)),
        (e("0.0.0.0:80", false), e("[::1]:80", false)),
        (e("127.0.0.1:80", false), e("127.0.0.1:81", false)),
    ];
    for (x, y) in apart {
        assert!(!x.overlaps(&y) && !y.overlaps(&x), "{x:?} and {y:?}");
    }
    assert!(!e("127.0.0.1:80", false).overlaps(&Endpoint::new(UDP, at("127.0.0.1:80"), false)));
}

#[test]
fn a_bind_sees_overlapping_endpoints_of_this_and_other_sessions() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), tcp("127.0.0.1:5300"));
    let bound =
        |s: &SessionPorts, address: &str| s.locked().bound(&Endpoint::new(TCP, at(address), false));
    assert_eq!(bound(&b, "127.0.0.1:5300"), PortOwner::OtherSession);
    assert_eq!(bound(&b, "0.0.0.0:5300"), PortOwner::OtherSession);
    assert_eq!(bound(&b, "[::]:5300"), PortOwner::OtherSession);
    assert_eq!(bound(&b, "127.0.0.2:5300"), PortOwner::Nobody);
    assert_eq!(bound(&a, "127.0.0.1:5300"), PortOwner::ThisSession);
}

#[test]
fn a_released_endpoint_stays_reachable_for_its_session_only() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), holding(UDP, "127.0.0.1:6001", false));
    a.release(SocketId(1));
    assert_eq!(
        reached(&a, UDP, "127.0.0.1:6001"),
        PortOwner::ReleasedByThisSession
    );
    assert_eq!(reached(&a, UDP, "127.0.0.2:6001"), PortOwner::Nobody);
    assert_eq!(reached(&b, UDP, "127.0.0.1:6001"), PortOwner::Nobody);
    // Counted only within a window when one is given (capture's TIME_WAIT window).
    let now = a
        .locked()
        .reached(UDP, at("127.0.0.1:6001"), true, Some(Duration::ZERO));
    assert_eq!(
        now,
        PortOwner::Nobody,
        "released longer ago than zero seconds"
    );
    // Once another session takes it, it is theirs.
    b.record(SocketId(1), holding(UDP, "127.0.0.1:6001", false));
    assert_eq!(reached(&a, UDP, "127.0.0.1:6001"), PortOwner::OtherSession);
}

#[test]
fn a_session_keeps_only_its_latest_released_endpoints() {
    let registry = Arc::new(Ownership::default());
    let a = registry.session();
    let total = u16::try_from(MAX_RELEASED).expect("a small cap") + 10;
    for port in 0..total {
        a.record(SocketId(1), tcp(&format!("127.0.0.1:{}", 10_000 + port)));
        a.release(SocketId(1));
    }
    assert_eq!(
        reached(&a, TCP, "127.0.0.1:10000"),
        PortOwner::Nobody,
        "forgotten"
    );
    let last = format!("127.0.0.1:{}", 10_000 + total - 1);
    assert_eq!(reached(&a, TCP, &last), PortOwner::ReleasedByThisSession);
    assert_eq!(registry.lock().released[&1].len(), MAX_RELEASED);
    // The by-port index forgot the same endpoints: one entry per remembered one.
    let everyone = registry.everyone();
    assert_eq!(everyone.on_port(TCP, 10_000).count(), 0, "forgotten");
    assert_eq!(everyone.on_port(TCP, 10_000 + total - 1).count(), 1);
    let indexed: usize = (0..total)
        .map(|port| everyone.on_port(TCP, 10_000 + port).count())
        .sum();
    assert_eq!(indexed, MAX_RELEASED);
}

#[test]
fn everyone_names_the_sessions_that_hold_or_released_a_port_and_sees_as_each() {
    let registry = Arc::new(Ownership::default());
    let (a, b, c) = (registry.session(), registry.session(), registry.session());
    a.record(SocketId(1), tcp("127.0.0.1:7400"));
    b.record(SocketId(1), tcp("[::1]:7400"));
    b.release(SocketId(1));
    // Released twice: still one entry.
    b.record(SocketId(2), tcp("[::1]:7400"));
    b.release(SocketId(2));
    c.record(SocketId(1), holding(UDP, "127.0.0.1:7400", false));

    let mut everyone = registry.everyone();
    let mut named: Vec<u64> = everyone.on_port(TCP, 7400).collect();
    named.sort_unstable();
    assert_eq!(
        named,
        vec![a.id(), b.id()],
        "TCP 7400: A holds it, B released it"
    );
    assert_eq!(
        everyone.on_port(UDP, 7400).collect::<Vec<_>>(),
        vec![c.id()]
    );
    assert_eq!(everyone.on_port(TCP, 7401).count(), 0);

    let to = at("127.0.0.1:7400");
    let seen = |everyone: &mut Everyone<'_>, session: u64| {
        everyone.as_seen_by(session).reached(TCP, to, true, None)
    };
    assert_eq!(seen(&mut everyone, a.id()), PortOwner::ThisSession);
    assert_eq!(seen(&mut everyone, b.id()), PortOwner::OtherSession);
    let v6 = everyone
        .as_seen_by(b.id())
        .reached(TCP, at("[::1]:7400"), true, None);
    assert_eq!(v6, PortOwner::ReleasedByThisSession);
}

#[test]
fn an_endpoint_held_by_two_sockets_is_released_with_the_last() {
    let registry = Arc::new(Ownership::default());
    let a = registry.session();
    a.record(SocketId(1), tcp("127.0.0.1:7000"));
    a.record(SocketId(2), tcp("127.0.0.1:7000"));
    a.release(SocketId(1));
    assert_eq!(reached(&a, TCP, "127.0.0.1:7000"), PortOwner::ThisSession);
    a.release(SocketId(2));
    assert_eq!(
        reached(&a, TCP, "127.0.0.1:7000"),
        PortOwner::ReleasedByThisSession
    );
}

#[test]
fn recording_a_new_endpoint_lets_go_of_the_old_one() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), tcp("127.0.0.1:7100"));
    a.record(SocketId(1), tcp("127.0.0.1:7100"));
    a.record(SocketId(1), None);
    assert_eq!(reached(&b, TCP, "127.0.0.1:7100"), PortOwner::Nobody);
    assert_eq!(
        reached(&a, TCP, "127.0.0.1:7100"),
        PortOwner::ReleasedByThisSession
    );
}

#[test]
fn a_session_knows_the_numbers_it_holds_or_held_at_any_address() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), tcp("[::1]:7300"));
    a.record(SocketId(2), holding(UDP, "127.0.0.1:7301", false));
    a.release(SocketId(2));
    assert!(a.locked().has_number(TCP, 7300));
    assert!(a.locked().has_number(UDP, 7301), "released");
    assert!(!a.locked().has_number(UDP, 7300) && !a.locked().has_number(TCP, 7301));
    assert!(!b.locked().has_number(TCP, 7300), "another session's");
}

#[test]
fn a_sessions_inodes_are_known_on_their_port_only() {
    let registry = Arc::new(Ownership::default());
    let a = registry.session();
    let mut held = tcp("127.0.0.1:7200");
    if let Some(h) = held.as_mut() {
        h.inode = Some(42);
    }
    a.record(SocketId(1), held);
    let ports = a.locked();
    assert!(ports.is_sessions(TCP, 7200, 42));
    assert!(
        !ports.is_sessions(TCP, 7200, 43),
        "another socket on that port"
    );
    assert!(!ports.is_sessions(TCP, 7201, 42));
    assert!(!ports.is_sessions(UDP, 7200, 42));
}

#[test]
fn without_inodes_a_sessions_socket_is_the_one_at_its_exact_address() {
    let registry = Arc::new(Ownership::default());
    let a = registry.session();
    a.record(SocketId(1), tcp("127.0.0.1:7210"));
    a.record(SocketId(2), tcp("[::]:7211"));
    let ports = a.locked();
    assert!(ports.is_sessions_at(TCP, at("127.0.0.1:7210")));
    assert!(
        ports.is_sessions_at(TCP, at("[::ffff:127.0.0.1]:7210")),
        "the IPv4-mapped spelling of the same address"
    );
    assert!(
        !ports.is_sessions_at(TCP, at("0.0.0.0:7210")),
        "a program on the wildcard of that port is not the session's"
    );
    assert!(!ports.is_sessions_at(TCP, at("127.0.0.2:7210")));
    assert!(!ports.is_sessions_at(UDP, at("127.0.0.1:7210")));
    assert!(ports.is_sessions_at(TCP, at("[::]:7211")));
    assert!(!ports.is_sessions_at(TCP, at("[::1]:7211")));
}

#[test]
fn an_ended_session_leaves_nothing_behind() {
    let registry = Arc::new(Ownership::default());
    let (a, b) = (registry.session(), registry.session());
    a.record(SocketId(1), tcp("127.0.0.1:8000"));
    a.record(SocketId(2), holding(UDP, "127.0.0.1:8001", false));
    a.release(SocketId(2));
    drop(a);
    assert_eq!(reached(&b, TCP, "127.0.0.1:8000"), PortOwner::Nobody);
    let state = registry.lock();
    assert!(state.by_port.is_empty() && state.sockets.is_empty() && state.released.is_empty());
    assert!(state.released_on.is_empty(), "nor in the by-port index");
}
