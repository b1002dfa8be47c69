//! Destinations off this machine (private, link-local/cloud metadata, IPv4-mapped, public, a
//! name) are refused by the real relay, proved inside a network namespace that has nothing but
//! `lo`, so that even a policy bug could never send a packet off the machine.
//!
//! The outer test re-runs this test binary under `unshare --net` (after `ip link set lo up`,
//! and giving `lo` one more address, 192.0.2.1 from TEST-NET-1, as a stand-in for a LAN address
//! of this machine) with only the inner, `#[ignore]`d tests selected. Each inner test first
//! checks that it really is in such a namespace and fails otherwise; it never runs in the
//! machine's own namespace. Needs `unshare` (util-linux) and `ip` (iproute2), and root or
//! unprivileged user namespaces.
//!
//! The second inner test is issue 9's point 5: an operator who opens a LAN address
//! (`--allow-bind`, `--allow-connect`) must not open a way between sessions or to the relay.
//! 192.0.2.1 is on `lo` here, so what is sent to it stays in this namespace.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use socketlab_shared::{Family, Op, Outcome, Payload, SocketType};

use crate::support::Relay;

const INNER: &str = "security_netns::inner_destinations_off_the_machine_are_refused";
const INNER_LAN: &str = "security_netns::inner_a_lan_address_of_this_machine_keeps_sessions_apart";
/// The stand-in for one of this machine's LAN addresses, on `lo` inside the namespace.
const LAN: &str = "192.0.2.1";
/// Tells the inner test which namespace the outer one ran in (it must be another one).
const OUTER_NETNS: &str = "SOCKETLAB_OUTER_NETNS";
const DEADLINE: Duration = Duration::from_secs(120);

fn netns() -> String {
    std::fs::read_link("/proc/self/ns/net")
        .map(|p| p.display().to_string())
        .expect("read /proc/self/ns/net")
}

fn find(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .expect("an effective uid in /proc/self/status")
}

#[test]
fn destinations_off_the_machine_are_refused_inside_an_empty_network_namespace() {
    let unshare = find("unshare").expect(
        "this test needs `unshare` (package util-linux) to make a network namespace with only lo",
    );
    let ip = find("ip").expect("this test needs `ip` (package iproute2) to bring lo up");
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(unshare);
    command.arg("--net");
    if euid() != 0 {
        // Without root, a user namespace gives the right to make a network namespace.
        command.arg("--map-root-user");
    }
    let script = format!(
        "{ip} link set lo up && {ip} addr add {LAN}/32 dev lo && \
         exec \"$0\" --exact {INNER} {INNER_LAN} --ignored --nocapture --test-threads=1",
        ip = ip.display()
    );
    command
        .args(["--", "sh", "-c", &script])
        .arg(&exe)
        .env(OUTER_NETNS, netns())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .expect("start unshare (util-linux) for the namespaced test");
    let pid = child.id();
    let (done, outcome) = std::sync::mpsc::channel();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = done.send((child.wait(), out, err));
    });
    let (status, out, err) = match outcome.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the namespaced test did not finish within {DEADLINE:?}");
        }
    };
    let status = status.expect("wait for unshare");
    assert!(
        status.success(),
        "the namespaced test failed ({status}). If unshare says \"Operation not permitted\", \
         run as root (as CI does) or enable unprivileged user namespaces.\n\
         --- stdout\n{out}\n--- stderr\n{err}"
    );
    // A filter that matched nothing would pass with 0 tests: make sure both inner tests ran.
    assert!(
        out.contains("2 passed"),
        "the inner tests did not run:\n{out}\n{err}"
    );
}

/// Only inside the namespace made by the test above.
#[tokio::test]
#[ignore = "runs only inside `unshare --net`, started by the test above"]
async fn inner_destinations_off_the_machine_are_refused() {
    assert_only_loopback_here();
    let relay = Relay::start().await;
    let mut c = relay.client().await;
    let tcp4 = c.socket(Family::Ipv4, SocketType::Stream).await;
    let udp4 = c.socket(Family::Ipv4, SocketType::Datagram).await;
    let tcp6 = c.socket(Family::Ipv6, SocketType::Stream).await;
    let udp6 = c.socket(Family::Ipv6, SocketType::Datagram).await;
    let cases = [
        ("10.0.0.1:80", "connect_not_loopback"),
        ("169.254.169.254:80", "connect_not_loopback"),
        ("[::ffff:10.0.0.1]:80", "connect_not_loopback"),
        ("[::ffff:169.254.169.254]:80", "connect_not_loopback"),
        ("93.184.216.34:443", "connect_not_loopback"),
        ("[2001:db8::1]:80", "connect_not_loopback"),
        ("192.168.1.1:8080", "connect_not_loopback"),
        ("example.com:80", "address_is_a_name"),
    ];
    for (address, rule) in cases {
        let v6 = address.starts_with('[');
        let (tcp, udp) = if v6 { (tcp6, udp6) } else { (tcp4, udp4) };
        let connect = c
            .call(Op::Connect {
                socket: tcp,
                address: address.into(),
            })
            .await;
        let sendto = c
            .call(Op::Sendto {
                socket: udp,
                data: Payload::from("x"),
                address: address.into(),
            })
            .await;
        for (what, id) in [("connect", connect), ("sendto", sendto)] {
            match c.reply(id).await {
                Outcome::Refused { rule: got, .. } => {
                    assert_eq!(got, rule, "{what} to {address}");
                }
                other => panic!("{what} to {address} was not refused: {other:?}"),
            }
        }
    }
    relay.stop().await;
}

/// Only inside the namespace made by the outer test, where 192.0.2.1 is an address of `lo`.
#[tokio::test]
#[ignore = "runs only inside `unshare --net`, started by the test above"]
async fn inner_a_lan_address_of_this_machine_keeps_sessions_apart() {
    use socketlab_relay::{Config, PolicyConfig};
    assert_only_loopback_here();
    let relay = Relay::start_with(Config {
        policy: PolicyConfig {
            allow_bind: vec![LAN.parse().expect("an address")],
            allow_connect: vec![format!("{LAN}/32").parse().expect("a grant")],
            allow_bind_wildcard: true,
            ..PolicyConfig::default()
        },
        ..Config::default()
    })
    .await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    let connect = async |c: &mut crate::support::Client, address: String| {
        let socket = c.tcp().await;
        let id = c.call(Op::Connect { socket, address }).await;
        c.reply(id).await
    };
    let rule = |outcome: Outcome| match outcome {
        Outcome::Refused { rule, .. } => rule,
        other => panic!("not refused by the policy: {other:?}"),
    };
    // A listens on the LAN address; B may not reach it there.
    let server = a.tcp().await;
    let on_lan = a.bind(server, &format!("{LAN}:0")).await;
    a.listen(server).await;
    assert_eq!(
        rule(connect(&mut b, on_lan.clone()).await),
        "connect_other_session"
    );
    // The control: A itself reaches its own socket there (the grant opens the address).
    assert!(matches!(connect(&mut a, on_lan).await, Outcome::Ok(_)));
    // A wildcard listener of A's covers the LAN address too.
    let wide = a.tcp().await;
    let wildcard = a.bind(wide, "0.0.0.0:0").await;
    a.listen(wide).await;
    let port = wildcard.rsplit(':').next().expect("a port").to_owned();
    assert_eq!(
        rule(connect(&mut b, format!("{LAN}:{port}")).await),
        "connect_other_session"
    );
    // The relay's own port, on the LAN address: refused, grant or not.
    let relay_port = relay.addr.port();
    assert_eq!(
        rule(connect(&mut b, format!("{LAN}:{relay_port}")).await),
        "connect_relay_port"
    );
    // B may not bind over A's LAN endpoint either.
    let thief = b.tcp().await;
    let id = b
        .call(Op::Bind {
            socket: thief,
            address: format!("{LAN}:{port}"),
        })
        .await;
    assert_eq!(rule(b.reply(id).await), "bind_other_session");
    relay.stop().await;
}

/// Fails unless this process is in a network namespace other than the outer test's, whose
/// only interface is `lo` and which has no IPv4 route off the machine. (/sys/class/net would
/// show the namespace sysfs was mounted in, so the per-process /proc/self/net is read.)
fn assert_only_loopback_here() {
    let outer = std::env::var(OUTER_NETNS).unwrap_or_default();
    let here = netns();
    assert!(
        !outer.is_empty() && outer != here,
        "the inner test must run inside a new network namespace (outer {outer:?}, here {here:?}); \
         run the outer test, never this one directly"
    );
    let devices = std::fs::read_to_string("/proc/self/net/dev").expect("read /proc/self/net/dev");
    let names: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        names,
        ["lo"],
        "this namespace must have only lo, it has {names:?}"
    );
    let routes = std::fs::read_to_string("/proc/self/net/route").unwrap_or_default();
    assert!(
        routes.lines().skip(1).all(|line| line.starts_with("lo")),
        "no route may leave this namespace:\n{routes}"
    );
}
