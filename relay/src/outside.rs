//! Sockets of programs outside the relay's sessions: which sockets the kernel has on a port,
//! read from its own tables, so the policy can refuse to let a session bind a port such a
//! program holds (on any address), or reach a port it released that such a program took.
//!
//! Linux: `/proc/net/{tcp,tcp6}` or `/proc/net/{udp,udp6}` (the tables `ss` and `netstat`
//! read), or a session's namespace's own (`isolation::Network`): there only its own sockets
//! exist. A row counts when it has an inode, i.e. an open descriptor in some process: a
//! TIME_WAIT leftover or a connection still in a listener's accept queue has none, and belongs
//! to no program. The caller leaves out the inodes of the relay's sessions' own sockets
//! (`ownership::Ports::is_sessions`). Elsewhere the relay cannot read such a table yet, and
//! says so: the caller refuses rather than guess (fail closed).

use std::io;
use std::net::SocketAddr;

use socketlab_shared::SocketType;

use crate::isolation::Network;

/// One socket of the kernel's tables: its local address and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) local: SocketAddr,
    pub(crate) inode: u64,
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
        .map(|(local, inode)| Seen { local, inode })
        .collect())
}

/// Elsewhere than Linux the relay has no reader of the kernel's socket tables yet.
#[cfg(not(target_os = "linux"))]
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
        assert!(seen.contains(&Seen { local, inode }), "{seen:?}");
        assert!(
            sockets_on(Network::Host, SocketType::Datagram, local.port())
                .expect("read /proc/net")
                .iter()
                .all(|s| s.inode != inode),
            "the UDP tables never show a TCP socket"
        );
        drop(listener);
        let after =
            sockets_on(Network::Host, SocketType::Stream, local.port()).expect("read /proc/net");
        assert!(after.iter().all(|s| s.inode != inode), "{after:?}");
    }
}
