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
    let address: SocketAddr = address.parse().unwrap();
    let request = Request {
        op,
        kind,
        address,
        owner,
        this_machine: destination(address).ip().is_loopback(),
    };
    judge(config, root, &request)
}

fn judge(config: &PolicyConfig, root: bool, request: &Request) -> Result<(), &'static str> {
    check(config, &facts(root), request).map_err(|refusal| {
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

use PortOwner::{
    Nobody, OtherSession, Outside, ReleasedByThisSession, ThisSession, ThisSessionsNumber,
};

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

fn services() -> PolicyConfig {
    PolicyConfig {
        lesson_services: vec![
            (SocketType::Stream, "127.0.0.1:40001".parse().unwrap()),
            (SocketType::Datagram, "127.0.0.1:40001".parse().unwrap()),
            (SocketType::Stream, "127.0.0.1:40002".parse().unwrap()),
        ],
        ..PolicyConfig::default()
    }
}

#[test]
fn lesson_services_are_reachable_by_every_session_at_their_own_address() {
    let config = services();
    assert_eq!(connect_with(&config, "127.0.0.1:40001", Nobody), Ok(()));
    assert_eq!(
        connect_with(&config, "0.0.0.0:40001", Nobody),
        Ok(()),
        "as Linux routes it"
    );
    assert_eq!(
        connect_with(&config, "[::ffff:127.0.0.1]:40001", Nobody),
        Ok(())
    );
    for elsewhere in ["127.0.0.2:40001", "[::1]:40001"] {
        assert_eq!(
            connect_with(&config, elsewhere, Nobody),
            Err("connect_not_owned"),
            "the service's number at another address may be an outside program: {elsewhere}"
        );
    }
    assert_eq!(
        connect_with(&config, "10.0.0.1:40001", Nobody),
        Err("connect_not_loopback")
    );
}

#[test]
fn tcp_only_lesson_services_are_reachable_over_tcp_only() {
    let config = services();
    assert_eq!(connect_with(&config, "127.0.0.1:40002", Nobody), Ok(()));
    for op in [Operation::Connect, Operation::Sendto, Operation::Send] {
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
fn no_session_binds_a_lesson_services_number_on_any_address() {
    let config = services();
    for address in [
        "127.0.0.1:40001",
        "127.0.0.2:40001",
        "[::1]:40001",
        "[::1]:40002",
    ] {
        assert_eq!(
            bind_with(&config, false, address, Nobody),
            Err("bind_lesson_service_port"),
            "{address}"
        );
    }
    let udp = ask(
        &config,
        false,
        Operation::Bind,
        SocketType::Datagram,
        "[::1]:40002",
        Nobody,
    );
    assert_eq!(udp, Ok(()), "40002 is a TCP-only service");
}

#[test]
fn a_port_a_program_outside_the_relay_holds_is_refused_for_bind_and_for_a_released_connect() {
    assert_eq!(
        bind_with(&PolicyConfig::default(), false, "[::1]:40100", Outside),
        Err("bind_port_in_use_outside")
    );
    assert_eq!(
        bind_with(&PolicyConfig::default(), false, "127.0.0.1:0", Outside),
        Ok(()),
        "port 0 is the kernel's to choose"
    );
    assert_eq!(
        connect("127.0.0.1:40100", Outside),
        Err("connect_port_taken")
    );
    assert_eq!(connect("127.0.0.1:40100", ReleasedByThisSession), Ok(()));
    assert_eq!(
        connect("127.0.0.1:40100", ThisSessionsNumber),
        Ok(()),
        "its number elsewhere"
    );
    let grant = grants(&["127.0.0.1/32:40100"]);
    assert_eq!(
        connect_with(&grant, "127.0.0.1:40100", Outside),
        Ok(()),
        "granted"
    );
}

#[test]
fn a_failed_check_refuses_and_says_it_was_the_relays_own() {
    let refusal = unverified(
        Operation::Bind,
        "127.0.0.1:40200".parse().unwrap(),
        "EMFILE",
    );
    assert_eq!(refusal.rule, "port_check_failed");
    assert!(
        refusal.reason.contains("refused by the relay"),
        "{}",
        refusal.reason
    );
    assert!(
        refusal.reason.contains("not the kernel's answer"),
        "{}",
        refusal.reason
    );
}

#[test]
fn listen_or_sendto_on_a_socket_never_bound_is_refused_unless_the_wildcard_is_allowed() {
    let unbound_v4: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let unbound_v6: SocketAddr = "[::]:0".parse().unwrap();
    let default = PolicyConfig::default();
    for (op, local) in [
        (Operation::Listen, unbound_v4),
        (Operation::Sendto, unbound_v6),
    ] {
        let refusal = check_autobind(&default, op, local).unwrap_err();
        assert_eq!(refusal.rule, "autobind_wildcard");
        assert!(refusal.reason.contains("bind()"), "{}", refusal.reason);
        assert!(
            refusal.reason.contains("--allow-bind-wildcard"),
            "{}",
            refusal.reason
        );
    }
    let bound: SocketAddr = "127.0.0.1:40300".parse().unwrap();
    assert_eq!(check_autobind(&default, Operation::Listen, bound), Ok(()));
    let open = PolicyConfig {
        allow_bind_wildcard: true,
        ..PolicyConfig::default()
    };
    assert_eq!(check_autobind(&open, Operation::Sendto, unbound_v4), Ok(()));
}

#[test]
fn every_address_of_this_machine_keeps_the_relay_port_and_other_sessions_apart() {
    // 192.168.1.20 is this machine's LAN address here, and a grant opens its network.
    let config = grants(&["192.168.1.0/24"]);
    let on_lan = |port: u16, owner| Request {
        op: Operation::Connect,
        kind: SocketType::Stream,
        address: SocketAddr::from(([192, 168, 1, 20], port)),
        owner,
        this_machine: true,
    };
    assert_eq!(
        judge(&config, false, &on_lan(7878, Nobody)),
        Err("connect_relay_port")
    );
    assert_eq!(
        judge(&config, false, &on_lan(5000, OtherSession)),
        Err("connect_other_session")
    );
    assert_eq!(
        judge(&config, false, &on_lan(5000, Nobody)),
        Ok(()),
        "granted"
    );
    let remote = Request {
        this_machine: false,
        address: SocketAddr::from(([192, 168, 1, 30], 7878)),
        ..on_lan(7878, Nobody)
    };
    assert_eq!(
        judge(&config, false, &remote),
        Ok(()),
        "another machine's port 7878"
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
        this_machine: false,
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
    assert!(config.lesson_services.is_empty());
    let default = PolicyConfig::from(Cli::try_parse_from(["relay"]).unwrap().policy);
    assert!(!default.allow_bind_wildcard && default.allow_connect.is_empty());
    assert!(Cli::try_parse_from(["relay", "--allow-connect", "10.0.0.0/33"]).is_err());
}
