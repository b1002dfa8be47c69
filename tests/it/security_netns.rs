//! Destinations off this machine (private, link-local/cloud metadata, IPv4-mapped, public, a
//! name) are refused by the real relay, proved inside a network namespace that has nothing but
//! `lo`, so that even a policy bug could never send a packet off the machine.
//!
//! The outer test re-runs this test binary under `unshare --net` (after `ip link set lo up`)
//! with only the inner, `#[ignore]`d test selected. The inner test first checks that it really
//! is in such a namespace and fails otherwise; it never runs in the machine's own namespace.
//! Needs `unshare` (util-linux) and `ip` (iproute2), and root or unprivileged user namespaces.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use socketlab_shared::{Family, Op, Outcome, Payload, SocketType};

use crate::support::Relay;

const INNER: &str = "security_netns::inner_destinations_off_the_machine_are_refused";
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
        "{} link set lo up && exec \"$0\" --exact {INNER} --ignored --nocapture --test-threads=1",
        ip.display()
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
    // A filter that matched nothing would pass with 0 tests: make sure the inner test ran.
    assert!(
        out.contains("1 passed"),
        "the inner test did not run:\n{out}\n{err}"
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
