//! Linux only: the kernel's socket tables read from `/proc/net/{tcp,tcp6,udp,udp6}` (through
//! the `procfs` crate) into `Row`s, and a listener's maximum backlog (TCP_INFO's
//! `tcpi_sacked`, this module's one `unsafe` function). A missing table (IPv6 off) is empty;
//! NEW_SYN_RECV shows as SYN_RECV; a UDP socket without a peer is UNCONN, with one ESTABLISHED.

use std::io;
use std::os::fd::AsRawFd as _;

use procfs::net::{TcpNetEntry, TcpState, UdpNetEntry, UdpState};
use procfs::{ProcError, ProcResult};
use socketlab_shared::{KernelState, Transport};

use super::rows::Row;
use crate::isolation::Network;

/// Reads the tables asked for, of `network` (the machine's, or a session's namespace's). A
/// table that does not exist (IPv6 disabled) is empty.
pub(super) fn read(network: Network, tcp: bool, udp: bool) -> io::Result<Vec<Row>> {
    let mut rows = Vec::new();
    if tcp {
        for table in network.tcp() {
            rows.extend(present(table)?.iter().map(tcp_row));
        }
    }
    if udp {
        for table in network.udp() {
            rows.extend(present(table)?.iter().map(udp_row));
        }
    }
    Ok(rows)
}

fn present<T>(table: ProcResult<Vec<T>>) -> io::Result<Vec<T>> {
    match table {
        Ok(entries) => Ok(entries),
        Err(ProcError::NotFound(_)) => Ok(Vec::new()),
        Err(err) => Err(io::Error::other(err.to_string())),
    }
}

fn tcp_row(entry: &TcpNetEntry) -> Row {
    let state = match entry.state {
        TcpState::Established => KernelState::Established,
        TcpState::SynSent => KernelState::SynSent,
        // NEW_SYN_RECV is how the kernel keeps a half-open connection of a listener; `ss`
        // and `/proc` both call it SYN_RECV.
        TcpState::SynRecv | TcpState::NewSynRecv => KernelState::SynRecv,
        TcpState::FinWait1 => KernelState::FinWait1,
        TcpState::FinWait2 => KernelState::FinWait2,
        TcpState::TimeWait => KernelState::TimeWait,
        TcpState::Close => KernelState::Close,
        TcpState::CloseWait => KernelState::CloseWait,
        TcpState::LastAck => KernelState::LastAck,
        TcpState::Listen => KernelState::Listen,
        TcpState::Closing => KernelState::Closing,
    };
    Row {
        transport: Transport::Tcp,
        state,
        local: entry.local_address,
        remote: entry.remote_address,
        recv_q: entry.rx_queue,
        send_q: entry.tx_queue,
        inode: entry.inode,
    }
}

fn udp_row(entry: &UdpNetEntry) -> Row {
    let state = match entry.state {
        // A connected datagram socket (it has a peer); `ss -uan` says ESTAB.
        UdpState::Established => KernelState::Established,
        UdpState::Close => KernelState::Unconn,
    };
    Row {
        transport: Transport::Udp,
        state,
        local: entry.local_address,
        remote: entry.remote_address,
        recv_q: entry.rx_queue,
        send_q: entry.tx_queue,
        inode: entry.inode,
    }
}

/// The accept-queue size the kernel allows a listening TCP socket (the `listen()` backlog,
/// capped at `net.core.somaxconn`): what `ss` prints as a listener's Send-Q, read the way `ss`
/// gets it, from TCP_INFO. `None` when the socket does not listen.
#[allow(unsafe_code)]
pub(super) fn max_backlog(socket: &socket2::Socket) -> Option<u32> {
    // SAFETY: tcp_info is a plain C struct of integers, for which all zero bytes are valid.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = libc::socklen_t::try_from(size_of::<libc::tcp_info>()).ok()?;
    // SAFETY: getsockopt writes at most `len` bytes to `info`, which is alive, writable and
    // `len` bytes long for the whole call, and stores the length it wrote in `len`; the
    // descriptor is open because `socket` borrows it.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    // For a listener Linux fills tcpi_unacked with the accept queue's length and tcpi_sacked
    // with its maximum (tcp_get_info); the state is TCP_LISTEN = 10.
    const TCP_LISTEN: u8 = 10;
    (rc == 0 && info.tcpi_state == TCP_LISTEN).then_some(info.tcpi_sacked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_in_the_tables_under_its_descriptors_inode_with_its_backlog() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let socket = socket2::Socket::from(listener);
        let inode = crate::kernel::inode(&socket).unwrap();
        let rows = read(Network::Host, true, false).unwrap();
        let row = rows.iter().find(|row| row.inode == inode).unwrap();
        assert_eq!((row.state, row.local), (KernelState::Listen, local));
        // std listens with a backlog of 128; the kernel caps it at somaxconn (>= 128 since 5.4,
        // 4096 by default).
        let backlog = max_backlog(&socket).unwrap();
        assert!((1..=128).contains(&backlog), "{backlog}");
    }

    #[test]
    fn a_socket_that_does_not_listen_has_no_backlog() {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None);
        assert_eq!(max_backlog(&socket.unwrap()), None);
    }
}
