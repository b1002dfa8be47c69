//! Sockets of programs outside the relay's sessions: which sockets the kernel has on a port,
//! read from its own tables, so the policy can refuse to let a session bind a port such a
//! program holds (on any address), or reach a port it released that such a program took.
//!
//! Linux: `/proc/net/{tcp,tcp6}` or `/proc/net/{udp,udp6}` (the tables `ss` and `netstat`
//! read), or a session's namespace's own (`isolation::Network`): there only its own sockets
//! exist. A row counts when it has an inode, i.e. an open descriptor in some process: a
//! TIME_WAIT leftover or a connection still in a listener's accept queue has none, and belongs
//! to no program. The caller leaves out the inodes of the relay's sessions' own sockets
//! (`ownership::Ports::is_sessions`).
//!
//! macOS: what `netstat -an -p tcp` (or `udp`) prints, the kernel's own table (netstat reads it
//! with the sysctl `net.inet.tcp.pcblist_n`, no privilege needed). It shows no inode, so a row
//! counts unless a session of the relay holds exactly its local address
//! (`ownership::Ports::is_sessions_at`), and a TCP row counts only in a state a descriptor
//! still holds (not TIME_WAIT, LAST_ACK or CLOSING, which a closed socket leaves behind).
//! Elsewhere the relay cannot read such a table yet, and says so: the caller refuses rather
//! than guess (fail closed).

use std::io;
use std::net::SocketAddr;

use socketlab_shared::SocketType;

use crate::isolation::Network;

/// One socket of the kernel's tables: its local address and, where the table shows it, inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) local: SocketAddr,
    pub(crate) inode: Option<u64>,
}

/// Every socket of protocol `kind` whose local port is `port` and that a process holds open.
#[cfg(target_os = "linux")]
pub(crate) fn sockets_on(network: Network, kind: SocketType, port: u16) -> io::Result<Vec<Seen>> {
    use procfs::{ProcError, ProcResult};

    fn present<T>(table: ProcResult<Vec<T>>) -> io::Result<Vec<T>> {
        match table {
            Ok(entries) => Ok(entries),
            // IPv6 disabled: no tcp6/udp6 table, so nothing there.
            Err(ProcError::NotFound(_)) => Ok(Vec::new()),
            Err(err) => Err(io::Error::other(err.to_string())),
        }
    }
    fn rows<T>(
        tables: [ProcResult<Vec<T>>; 2],
        row: impl Fn(&T) -> (SocketAddr, u64),
    ) -> io::Result<Vec<(SocketAddr, u64)>> {
        let mut rows = Vec::new();
        for table in tables {
            rows.extend(present(table)?.iter().map(&row));
        }
        Ok(rows)
    }
    let rows = match kind {
        SocketType::Stream => rows(network.tcp(), |e| (e.local_address, e.inode))?,
        SocketType::Datagram => rows(network.udp(), |e| (e.local_address, e.inode))?,
    };
    Ok(rows
        .into_iter()
        .filter(|(local, inode)| local.port() == port && *inode != 0)
        .map(|(local, inode)| Seen {
            local,
            inode: Some(inode),
        })
        .collect())
}

/// macOS: `netstat -an -p PROTO`, read by [`parse_netstat`].
#[cfg(target_os = "macos")]
pub(crate) fn sockets_on(_network: Network, kind: SocketType, port: u16) -> io::Result<Vec<Seen>> {
    let protocol = match kind {
        SocketType::Stream => "tcp",
        SocketType::Datagram => "udp",
    };
    let output = std::process::Command::new("/usr/sbin/netstat")
        .args(["-an", "-p", protocol])
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "netstat -an -p {protocol} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(parse_netstat(
        &String::from_utf8_lossy(&output.stdout),
        kind,
        port,
    ))
}

/// The rows of macOS's `netstat -an -p tcp|udp` whose local port is `port`: the protocol
/// (`tcp4`, `tcp6`, `tcp46`, `udp4`, ...), two queue sizes, the local and foreign address as
/// `ADDRESS.PORT` (`*` for the wildcard or an unbound port; IPv6 with an optional `%scope`),
/// and for TCP the state. A dual-stack wildcard (`tcp46 *.80`) is read as `[::]:80`.
#[cfg(any(target_os = "macos", test))]
fn parse_netstat(text: &str, kind: SocketType, port: u16) -> Vec<Seen> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    let prefix = match kind {
        SocketType::Stream => "tcp",
        SocketType::Datagram => "udp",
    };
    let mut seen = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(proto), Some(local)) = (words.first(), words.get(3)) else {
            continue;
        };
        let Some(version) = proto.strip_prefix(prefix) else {
            continue;
        };
        if kind == SocketType::Stream {
            // Left behind by a closed socket: no program holds these.
            if matches!(
                words.get(5).copied(),
                Some("TIME_WAIT" | "LAST_ACK" | "CLOSING") | None
            ) {
                continue;
            }
        }
        let Some((address, number)) = local.rsplit_once('.') else {
            continue;
        };
        if number.parse::<u16>().ok() != Some(port) {
            continue;
        }
        let ip = if address == "*" {
            match version {
                "4" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                _ => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            }
        } else {
            let address = address.split('%').next().unwrap_or(address);
            let Ok(ip) = address.parse::<IpAddr>() else {
                continue;
            };
            ip
        };
        seen.push(Seen {
            local: SocketAddr::new(ip, port),
            inode: None,
        });
    }
    seen
}

/// Elsewhere than Linux and macOS the relay has no reader of the kernel's socket tables yet.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub(crate) fn sockets_on(
    _network: Network,
    _kind: SocketType,
    _port: u16,
) -> io::Result<Vec<Seen>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "this relay cannot read the socket tables of {}",
            std::env::consts::OS
        ),
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_listener_of_this_process_is_seen_with_its_inode_and_a_free_port_is_empty() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let local = listener.local_addr().expect("address");
        let inode = nix::sys::stat::fstat(&listener).expect("fstat").st_ino;
        let seen =
            sockets_on(Network::Host, SocketType::Stream, local.port()).expect("read /proc/net");
        assert!(
            seen.contains(&Seen {
                local,
                inode: Some(inode)
            }),
            "{seen:?}"
        );
        assert!(
            sockets_on(Network::Host, SocketType::Datagram, local.port())
                .expect("read /proc/net")
                .iter()
                .all(|s| s.inode != Some(inode)),
            "the UDP tables never show a TCP socket"
        );
        drop(listener);
        let after =
            sockets_on(Network::Host, SocketType::Stream, local.port()).expect("read /proc/net");
        assert!(after.iter().all(|s| s.inode != Some(inode)), "{after:?}");
    }
}

/// The macOS reader's parser, on text in the form macOS's netstat prints (it runs only there).
#[cfg(test)]
mod netstat_tests {
    use super::*;

    const TCP: &str = "\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
tcp4       0      0  127.0.0.1.8080         127.0.0.1.52100        ESTABLISHED
tcp4       0      0  127.0.0.1.52100        127.0.0.1.8080         ESTABLISHED
tcp4       0      0  127.0.0.1.8080         *.*                    LISTEN
tcp46      0      0  *.8080                 *.*                    LISTEN
tcp6       0      0  ::1.8080               *.*                    LISTEN
tcp6       0      0  fe80::1%lo0.8080       *.*                    LISTEN
tcp4       0      0  127.0.0.1.8080         127.0.0.1.52099        TIME_WAIT
tcp4       0      0  127.0.0.1.8081         *.*                    LISTEN
tcp4       0      0  192.168.1.20.8080      *.*                    CLOSED
";

    const UDP: &str = "\
Active Internet connections (including servers)
Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
udp4       0      0  127.0.0.1.5353         *.*
udp46      0      0  *.5353                 *.*
udp4       0      0  *.*                    *.*
udp6       0      0  ::1.5354               *.*
";

    fn at(text: &str) -> SocketAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn tcp_rows_on_the_port_in_states_a_descriptor_holds() {
        let seen: Vec<SocketAddr> = parse_netstat(TCP, SocketType::Stream, 8080)
            .into_iter()
            .map(|s| {
                assert_eq!(s.inode, None);
                s.local
            })
            .collect();
        assert_eq!(
            seen,
            [
                at("127.0.0.1:8080"),
                at("127.0.0.1:8080"),
                at("[::]:8080"),
                at("[::1]:8080"),
                at("[fe80::1]:8080"),
                at("192.168.1.20:8080"),
            ],
            "the connection's server side and the listeners; not the client on 52100, \
             not the TIME_WAIT leftover, not port 8081"
        );
        assert!(parse_netstat(TCP, SocketType::Stream, 9).is_empty());
        assert!(
            parse_netstat(TCP, SocketType::Datagram, 8080).is_empty(),
            "UDP reads only udp rows"
        );
    }

    #[test]
    fn udp_rows_on_the_port_including_the_dual_stack_wildcard() {
        let seen: Vec<SocketAddr> = parse_netstat(UDP, SocketType::Datagram, 5353)
            .into_iter()
            .map(|s| s.local)
            .collect();
        assert_eq!(seen, [at("127.0.0.1:5353"), at("[::]:5353")]);
        assert!(parse_netstat(UDP, SocketType::Stream, 5353).is_empty());
        assert!(parse_netstat("", SocketType::Datagram, 5353).is_empty());
    }
}
