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
//!
//! Windows: iphlpapi's `GetExtendedTcpTable` and `GetExtendedUdpTable` (what `netstat -ano`
//! shows), each row with its owning process. A row counts when a process owns it (TIME_WAIT
//! rows belong to process 0) and no session holds exactly its local address.
//!
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

/// Windows: both families' tables, parsed by [`parse_owner_pid_table`].
#[cfg(windows)]
pub(crate) fn sockets_on(_network: Network, kind: SocketType, port: u16) -> io::Result<Vec<Seen>> {
    let mut seen = Vec::new();
    for v6 in [false, true] {
        let bytes = windows_table(kind, v6)?;
        seen.extend(
            parse_owner_pid_table(&bytes, kind, v6)
                .into_iter()
                .filter(|row| row.local.port() == port && row.counts())
                .map(|row| Seen {
                    local: row.local,
                    inode: None,
                }),
        );
    }
    Ok(seen)
}

/// One table of the kernel's, as iphlpapi hands it over: `dwNumEntries`, then the rows.
#[cfg(windows)]
#[allow(unsafe_code)] // iphlpapi's calls: no safe wrapper in the crates the relay uses.
fn windows_table(kind: SocketType, v6: bool) -> io::Result<Vec<u8>> {
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        GetExtendedTcpTable, GetExtendedUdpTable, TCP_TABLE_OWNER_PID_ALL, UDP_TABLE_OWNER_PID,
    };
    use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
    /// Winsock's ERROR_INSUFFICIENT_BUFFER: the table grew; `size` says how big it is now.
    const TOO_SMALL: u32 = 122;
    let family = u32::from(if v6 { AF_INET6 } else { AF_INET });
    let mut size: u32 = 0;
    for _ in 0..8 {
        // u32 words, so the rows (all u32 fields and byte arrays) are aligned.
        let words = usize::try_from(size).map_err(io::Error::other)?.div_ceil(4);
        let mut buffer = vec![0_u32; words.max(1)];
        // SAFETY: the buffer is `size` bytes or more, writable and alive for the call; the
        // call writes at most `size` bytes and updates `size`; no other pointer is kept.
        let rc = unsafe {
            match kind {
                SocketType::Stream => GetExtendedTcpTable(
                    buffer.as_mut_ptr().cast(),
                    &raw mut size,
                    0,
                    family,
                    TCP_TABLE_OWNER_PID_ALL,
                    0,
                ),
                SocketType::Datagram => GetExtendedUdpTable(
                    buffer.as_mut_ptr().cast(),
                    &raw mut size,
                    0,
                    family,
                    UDP_TABLE_OWNER_PID,
                    0,
                ),
            }
        };
        match rc {
            0 => {
                let len = usize::try_from(size).map_err(io::Error::other)?;
                return Ok(buffer
                    .iter()
                    .flat_map(|w| w.to_ne_bytes())
                    .take(len)
                    .collect());
            }
            TOO_SMALL => continue,
            code => {
                return Err(io::Error::from_raw_os_error(
                    i32::try_from(code).unwrap_or(i32::MAX),
                ));
            }
        }
    }
    Err(io::Error::other(
        "the kernel's socket table kept growing while it was read",
    ))
}

/// One row of a Windows table: the local address, the owning process and (TCP) the state.
#[cfg(any(windows, test))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OwnedRow {
    local: SocketAddr,
    pid: u32,
    state: Option<u32>,
}

#[cfg(any(windows, test))]
impl OwnedRow {
    /// A process holds it: not process 0 (TIME_WAIT rows, which no descriptor holds), and not
    /// in TIME_WAIT (11) or being deleted (12).
    fn counts(&self) -> bool {
        self.pid != 0 && !matches!(self.state, Some(11 | 12))
    }
}

/// The rows of a `MIB_TCPTABLE_OWNER_PID`, `MIB_TCP6TABLE_OWNER_PID`, `MIB_UDPTABLE_OWNER_PID`
/// or `MIB_UDP6TABLE_OWNER_PID` (the layouts windows-sys declares): a u32 count, then rows of
/// u32 fields (little-endian, as on every Windows target) and 16-byte IPv6 addresses. Ports
/// are in network order in a field's first two bytes; IPv4 addresses are four bytes in network
/// order. A table shorter than its count says is read as far as it goes.
#[cfg(any(windows, test))]
fn parse_owner_pid_table(bytes: &[u8], kind: SocketType, v6: bool) -> Vec<OwnedRow> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    let word = |at: &[u8], offset: usize| -> Option<u32> {
        let four: [u8; 4] = at.get(offset..offset + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(four))
    };
    let port = |at: &[u8], offset: usize| -> Option<u16> {
        let two: [u8; 2] = at.get(offset..offset + 2)?.try_into().ok()?;
        Some(u16::from_be_bytes(two))
    };
    let v4 = |at: &[u8], offset: usize| -> Option<IpAddr> {
        let four: [u8; 4] = at.get(offset..offset + 4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(four)))
    };
    let v6addr = |at: &[u8], offset: usize| -> Option<IpAddr> {
        let sixteen: [u8; 16] = at.get(offset..offset + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(sixteen)))
    };
    // (row size, local address at, local port at, state at, pid at)
    let (size, address_at, port_at, state_at, pid_at) = match (kind, v6) {
        (SocketType::Stream, false) => (24, 4, 8, Some(0), 20),
        (SocketType::Stream, true) => (56, 0, 20, Some(48), 52),
        (SocketType::Datagram, false) => (12, 0, 4, None, 8),
        (SocketType::Datagram, true) => (28, 0, 20, None, 24),
    };
    let Some(count) = word(bytes, 0) else {
        return Vec::new();
    };
    let rows = bytes.get(4..).unwrap_or_default();
    rows.chunks_exact(size)
        .take(usize::try_from(count).unwrap_or(usize::MAX))
        .filter_map(|row| {
            let ip = if v6 {
                v6addr(row, address_at)?
            } else {
                v4(row, address_at)?
            };
            Some(OwnedRow {
                local: SocketAddr::new(ip, port(row, port_at)?),
                pid: word(row, pid_at)?,
                state: match state_at {
                    Some(at) => Some(word(row, at)?),
                    None => None,
                },
            })
        })
        .collect()
}

/// Elsewhere than Linux, macOS and Windows the relay has no reader of the kernel's socket
/// tables yet.
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
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

/// The Windows reader's parser, on tables laid out as iphlpapi lays them out (it runs only
/// there).
#[cfg(test)]
mod windows_table_tests {
    use super::*;

    fn u32le(value: u32) -> [u8; 4] {
        value.to_le_bytes()
    }

    /// A port as iphlpapi stores it: network order in the field's first two bytes.
    fn port_field(port: u16) -> [u8; 4] {
        let [hi, lo] = port.to_be_bytes();
        [hi, lo, 0, 0]
    }

    fn tcp4_row(state: u32, local: [u8; 4], port: u16, pid: u32) -> Vec<u8> {
        let mut row = Vec::new();
        row.extend(u32le(state));
        row.extend(local);
        row.extend(port_field(port));
        row.extend([127, 0, 0, 1]);
        row.extend(port_field(50_000));
        row.extend(u32le(pid));
        row
    }

    #[test]
    fn tcp_rows_give_address_port_state_and_owner() {
        let mut table = u32le(3).to_vec();
        table.extend(tcp4_row(2, [127, 0, 0, 1], 8080, 4242)); // LISTEN
        table.extend(tcp4_row(11, [127, 0, 0, 1], 8080, 0)); // TIME_WAIT
        table.extend(tcp4_row(2, [0, 0, 0, 0], 445, 4)); // System's SMB listener
        let rows = parse_owner_pid_table(&table, SocketType::Stream, false);
        assert_eq!(
            rows,
            [
                OwnedRow {
                    local: "127.0.0.1:8080".parse().unwrap(),
                    pid: 4242,
                    state: Some(2)
                },
                OwnedRow {
                    local: "127.0.0.1:8080".parse().unwrap(),
                    pid: 0,
                    state: Some(11)
                },
                OwnedRow {
                    local: "0.0.0.0:445".parse().unwrap(),
                    pid: 4,
                    state: Some(2)
                },
            ]
        );
        let counted: Vec<bool> = rows.iter().map(OwnedRow::counts).collect();
        assert_eq!(
            counted,
            [true, false, true],
            "TIME_WAIT belongs to no process"
        );
    }

    #[test]
    fn ipv6_and_udp_rows_and_a_short_table() {
        let mut tcp6 = u32le(1).to_vec();
        let mut loopback = [0_u8; 16];
        loopback[15] = 1;
        tcp6.extend(loopback);
        tcp6.extend(u32le(0)); // scope
        tcp6.extend(port_field(7878));
        tcp6.extend([0_u8; 16]);
        tcp6.extend(u32le(0));
        tcp6.extend(port_field(0));
        tcp6.extend(u32le(2)); // LISTEN
        tcp6.extend(u32le(99));
        assert_eq!(
            parse_owner_pid_table(&tcp6, SocketType::Stream, true),
            [OwnedRow {
                local: "[::1]:7878".parse().unwrap(),
                pid: 99,
                state: Some(2)
            }]
        );

        let mut udp4 = u32le(2).to_vec();
        udp4.extend([127, 0, 0, 1]);
        udp4.extend(port_field(5353));
        udp4.extend(u32le(7));
        // The count says two rows, the table holds one: read as far as it goes.
        assert_eq!(
            parse_owner_pid_table(&udp4, SocketType::Datagram, false),
            [OwnedRow {
                local: "127.0.0.1:5353".parse().unwrap(),
                pid: 7,
                state: None
            }]
        );

        let mut udp6 = u32le(1).to_vec();
        udp6.extend([0_u8; 16]);
        udp6.extend(u32le(0));
        udp6.extend(port_field(5353));
        udp6.extend(u32le(8));
        assert_eq!(
            parse_owner_pid_table(&udp6, SocketType::Datagram, true),
            [OwnedRow {
                local: "[::]:5353".parse().unwrap(),
                pid: 8,
                state: None
            }]
        );
        assert!(parse_owner_pid_table(&[], SocketType::Datagram, true).is_empty());
    }
}
