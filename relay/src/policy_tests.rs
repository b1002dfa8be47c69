//! The policy's rules, one test per rule, with no socket and no packet: the destination
//! refusals (private, link-local, public addresses, names) are proved here and, through the
//! relay, only inside an empty network namespace (tests/it/security_netns.rs).

use super::*;

const RELAY: &str = "127.0.0.1:7878";

fn facts(root: bool) -> Facts {
    Facts {
        root,
        relay: RELAY.parse().unwrap(),
    }
}

fn ask(
    config: &PolicyConfig,
    root: bool,
    op: Operation,
    kind: SocketType,
    address: &str,
    owner: PortOwner,
) -> Result<(), &'static str> {
    let request = Request {
        op,
        kind,
        address: address.parse().unwrap(),
        owner,
    };
    check(config, &facts(root), &request).map_err(|refusal| {
        assert!(
            refusal.reason.contains("refused by the relay"),
            "{}",
            refusal.reason
        );
        refusal.rule
    })
}

fn bind(address: &str) -> Result<(), &'static str> {
    bind_with(&PolicyConfig::default(), false, address, PortOwner::Nobody)
}

fn bind_with(
    config: &PolicyConfig,
    root: bool,
    address: &str,
    owner: PortOwner,
) -> Result<(), &'static str> {
    ask(
        config,
        root,
        Operation::Bind,
        SocketType::Stream,
        address,
        owner,
    )
}

fn connect(address: &str, owner: PortOwner) -> Result<(), &'static str> {
    connect_with(&PolicyConfig::default(), address, owner)
}

fn connect_with(
    config: &PolicyConfig,
    address: &str,
    owner: PortOwner,
) -> Result<(), &'static str> {
    ask(
        config,
        false,
        Operation::Connect,
        SocketType::Stream,
        address,
        owner,
    )
}

fn grants(list: &[&str]) -> PolicyConfig {
    PolicyConfig {
        allow_connect: list.iter().map(|g| g.parse().unwrap()).collect(),
        ..PolicyConfig::default()
    }
}

use PortOwner::{Nobody, OtherSession, ReleasedByThisSession, ThisSession};

#[test]
fn bind_allows_loopback_of_both_families_and_any_port_from_1024() {
    for address in [
        "127.0.0.1:0",
        "127.0.0.1:1024",
        "127.1.2.3:40000",
        "[::1]:0",
        "[::ffff:127.0.0.1]:8080",
    ] {
        assert_eq!(bind(address), Ok(()), "{address}");
    }
}

#[test]
fn bind_to_the_wildcard_needs_the_operators_flag() {
    assert_eq!(bind("0.0.0.0:0"), Err("bind_wildcard"));
    assert_eq!(bind("[::]:8080"), Err("bind_wildcard"));
    assert_eq!(bind("[::ffff:0.0.0.0]:0"), Err("bind_wildcard"));
    let open = PolicyConfig {
        allow_bind_wildcard: true,
        ..PolicyConfig::default()
    };
    assert_eq!(bind_with(&open, false, "0.0.0.0:0", Nobody), Ok(()));
    assert_eq!(bind_with(&open, false, "[::]:0", Nobody), Ok(()));
    // The wildcard flag opens the wildcard only.
    assert_eq!(
        bind_with(&open, false, "192.168.1.5:0", Nobody),
        Err("bind_not_loopback")
    );
}

#[test]
fn bind_to_another_local_address_needs_it_named_by_flag() {
    assert_eq!(bind("192.168.1.5:0"), Err("bind_not_loopback"));
    assert_eq!(bind("[::ffff:10.0.0.1]:0"), Err("bind_not_loopback"));
    assert_eq!(bind("[fe80::1]:0"), Err("bind_not_loopback"));
    let open = PolicyConfig {
        allow_bind: vec!["192.168.1.5".parse().unwrap()],
        ..PolicyConfig::default()
    };
    assert_eq!(bind_with(&open, false, "192.168.1.5:0", Nobody), Ok(()));
    assert_eq!(
        bind_with(&open, false, "[::ffff:192.168.1.5]:0", Nobody),
        Ok(()),
        "the IPv4-mapped spelling is the same address"
    );
    assert_eq!(
        bind_with(&open, false, "192.168.1.6:0", Nobody),
        Err("bind_not_loopback")
    );
}

#[test]
fn bind_below_1024_goes_to_the_kernel_unless_the_relay_is_root() {
    let config = PolicyConfig::default();
    assert_eq!(bind_with(&config, false, "127.0.0.1:80", Nobody), Ok(()));
    assert_eq!(
        bind_with(&config, true, "127.0.0.1:80", Nobody),
        Err("bind_privileged_port")
    );
    assert_eq!(
        bind_with(&config, true, "[::1]:1023", Nobody),
        Err("bind_privileged_port")
    );
    assert_eq!(bind_with(&config, true, "127.0.0.1:1024", Nobody), Ok(()));
    assert_eq!(bind_with(&config, true, "127.0.0.1:0", Nobody), Ok(()));
}

#[test]
fn bind_over_another_sessions_port_is_refused() {
    let config = PolicyConfig::default();
    assert_eq!(
        bind_with(&config, false, "127.0.0.1:40000", OtherSession),
        Err("bind_other_session")
    );
    assert_eq!(
        bind_with(&config, false, "127.0.0.1:40000", ThisSession),
        Ok(()),
        "its own port is the kernel's to judge (EADDRINUSE is a lesson)"
    );
    assert_eq!(bind("127.0.0.1:7878"), Err("bind_relay_port"));
}

#[test]
fn connect_reaches_loopback_ports_the_session_holds_or_held() {
    for owner in [ThisSession, ReleasedByThisSession] {
        assert_eq!(connect("127.0.0.1:40000", owner), Ok(()));
        assert_eq!(connect("[::1]:40000", owner), Ok(()));
        assert_eq!(connect("[::ffff:127.0.0.1]:40000", owner), Ok(()));
        assert_eq!(connect("0.0.0.0:40000", owner), Ok(()));
    }
    assert_eq!(
        connect("127.0.0.1:40000", Nobody),
        Err("connect_not_owned"),
        "a program outside the relay"
    );
    assert_eq!(
        connect("127.0.0.1:40000", OtherSession),
        Err("connect_other_session")
    );
}

#[test]
fn lesson_service_ports_are_reachable_by_every_session() {
    let config = PolicyConfig {
        service_ports: [40001].into(),
        ..PolicyConfig::default()
    };
    assert_eq!(connect_with(&config, "127.0.0.1:40001", Nobody), Ok(()));
    assert_eq!(
        connect_with(&config, "10.0.0.1:40001", Nobody),
        Err("connect_not_loopback")
    );
}

#[test]
fn tcp_only_lesson_service_ports_are_reachable_over_tcp_only() {
    let config = PolicyConfig {
        tcp_service_ports: [40002].into(),
        ..PolicyConfig::default()
    };
    assert_eq!(connect_with(&config, "127.0.0.1:40002", Nobody), Ok(()));
    for op in [Operation::Connect, Operation::Sendto] {
        assert_eq!(
            ask(
                &config,
                false,
                op,
                SocketType::Datagram,
                "127.0.0.1:40002",
                Nobody
            ),
            Err("connect_not_owned"),
            "UDP {op} to a TCP-only service's number"
        );
    }
    assert_eq!(
        connect_with(&config, "127.0.0.1:40002", OtherSession),
        Err("connect_other_session"),
        "a session's own port stays its own"
    );
}

#[test]
fn the_relays_own_port_is_refused_however_it_is_spelled_and_whatever_is_granted() {
    let open = grants(&["0.0.0.0/0", "[::/0]", "127.0.0.1:7878"]);
    for address in [
        "127.0.0.1:7878",
        "127.0.0.2:7878",
        "[::1]:7878",
        "[::ffff:127.0.0.1]:7878",
        "0.0.0.0:7878",
    ] {
        for owner in [ThisSession, Nobody] {
            assert_eq!(
                connect_with(&open, address, owner),
                Err("connect_relay_port"),
                "{address}"
            );
        }
    }
    let sendto = ask(
        &PolicyConfig::default(),
        false,
        Operation::Sendto,
        SocketType::Datagram,
        "127.0.0.1:7878",
        ThisSession,
    );
    assert_eq!(sendto, Err("connect_relay_port"));
}

#[test]
fn destinations_off_this_machine_are_refused_by_default() {
    for address in [
        "10.0.0.1:80",
        "169.254.169.254:80",
        "[::ffff:10.0.0.1]:80",
        "93.184.216.34:443",
        "192.168.1.1:8080",
        "[2001:db8::1]:80",
        "[fe80::1]:80",
        "[::127.0.0.1]:80",
        "255.255.255.255:9999",
        "224.0.0.1:9999",
    ] {
        for owner in [ThisSession, Nobody] {
            assert_eq!(
                connect(address, owner),
                Err("connect_not_loopback"),
                "{address}"
            );
        }
        let sendto = ask(
            &PolicyConfig::default(),
            false,
            Operation::Sendto,
            SocketType::Datagram,
            address,
            Nobody,
        );
        assert_eq!(sendto, Err("connect_not_loopback"), "{address}");
    }
}

#[test]
fn browser_bad_ports_are_refused_even_on_the_sessions_own_port() {
    assert_eq!(
        BAD_PORTS.windows(2).filter(|w| w[0] >= w[1]).count(),
        0,
        "sorted"
    );
    for port in [1, 22, 25, 6000, 6667, 10080] {
        assert_eq!(
            connect(&format!("127.0.0.1:{port}"), ThisSession),
            Err("connect_bad_port"),
            "{port}"
        );
    }
    assert!(!is_bad_port(80) && !is_bad_port(8080) && !is_bad_port(6670));
}

#[test]
fn a_grant_opens_its_network_and_ports_but_bad_ports_only_when_named() {
    let config = grants(&["10.0.0.0/8:80,8000-8100", "192.168.1.0/24", "10.9.9.9:25"]);
    assert_eq!(connect_with(&config, "10.1.2.3:80", Nobody), Ok(()));
    assert_eq!(
        connect_with(&config, "[::ffff:10.1.2.3]:8050", Nobody),
        Ok(())
    );
    assert_eq!(
        connect_with(&config, "10.1.2.3:81", Nobody),
        Err("connect_not_loopback")
    );
    assert_eq!(connect_with(&config, "192.168.1.7:4444", Nobody), Ok(()));
    assert_eq!(
        connect_with(&config, "192.168.1.7:25", Nobody),
        Err("connect_bad_port")
    );
    assert_eq!(connect_with(&config, "10.9.9.9:25", Nobody), Ok(()));
}

#[test]
fn a_grant_on_loopback_opens_outside_programs_but_never_other_sessions() {
    let config = grants(&["127.0.0.1/32:5432"]);
    assert_eq!(connect_with(&config, "127.0.0.1:5432", Nobody), Ok(()));
    assert_eq!(
        connect_with(&config, "127.0.0.1:5432", OtherSession),
        Err("connect_other_session")
    );
    assert_eq!(
        connect_with(&config, "127.0.0.1:5433", Nobody),
        Err("connect_not_owned")
    );
}

#[test]
fn names_other_than_localhost_are_refused_and_never_looked_up() {
    let v4 = resolve("localhost:8080", Family::Ipv4, Operation::Connect);
    assert_eq!(v4, Ok("127.0.0.1:8080".parse().unwrap()));
    let v6 = resolve("LocalHost.:8080", Family::Ipv6, Operation::Connect);
    assert_eq!(v6, Ok("[::1]:8080".parse().unwrap()));
    for name in [
        "example.com:80",
        "evil.localhost:80",
        "localhost.evil:80",
        "metadata:80",
    ] {
        match resolve(name, Family::Ipv4, Operation::Connect) {
            Err(Unresolved::Refused(refusal)) => {
                assert_eq!(refusal.rule, "address_is_a_name", "{name}");
                assert!(refusal.reason.contains("never looks names up"));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(
        resolve("127.0.0.1", Family::Ipv4, Operation::Bind),
        Err(Unresolved::Invalid(_))
    ));
}

#[test]
fn every_refusal_names_a_way_forward() {
    let request = Request {
        op: Operation::Connect,
        kind: SocketType::Stream,
        address: "10.0.0.1:80".parse().unwrap(),
        owner: Nobody,
    };
    let refusal = check(&PolicyConfig::default(), &facts(false), &request).unwrap_err();
    assert!(
        refusal.reason.contains("--allow-connect"),
        "{}",
        refusal.reason
    );
    let request = Request {
        op: Operation::Bind,
        address: "0.0.0.0:0".parse().unwrap(),
        ..request
    };
    let refusal = check(&PolicyConfig::default(), &facts(false), &request).unwrap_err();
    assert!(
        refusal.reason.contains("--allow-bind-wildcard"),
        "{}",
        refusal.reason
    );
}

#[test]
fn the_flags_become_the_config() {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        policy: PolicyArgs,
    }
    let cli = Cli::try_parse_from([
        "relay",
        "--allow-bind-wildcard",
        "--allow-bind",
        "192.168.1.5",
        "--allow-connect",
        "10.0.0.0/8:80",
        "--allow-connect",
        "[2001:db8::/32]",
    ])
    .unwrap();
    let config = PolicyConfig::from(cli.policy);
    assert!(config.allow_bind_wildcard);
    assert_eq!(
        config.allow_bind,
        vec!["192.168.1.5".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(config.allow_connect.len(), 2);
    assert!(config.service_ports.is_empty());
    assert!(config.tcp_service_ports.is_empty());
    let default = PolicyConfig::from(Cli::try_parse_from(["relay"]).unwrap().policy);
    assert!(!default.allow_bind_wildcard && default.allow_connect.is_empty());
    assert!(Cli::try_parse_from(["relay", "--allow-connect", "10.0.0.0/33"]).is_err());
}
