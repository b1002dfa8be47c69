//! The pure part of the kernel view: which rows of the kernel's socket tables belong to the
//! session ([`attribute`]: by inode; or, TCP rows without one, `accept_queue` on a listener's
//! address and `closed` leftovers on a port the session holds or held; a listener's Send-Q is
//! its kernel backlog; a stable order), how each address is written for the page ([`address`],
//! as `ss` writes it: `0.0.0.0:*`, `[::]:*`), and whether a new sample differs from the last one
//! sent ([`Snapshot`]: only a change is sent, the change to empty included).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use socketlab_shared::{Detached, KernelSocket, KernelState, SocketId, Transport};

/// One row of `/proc/net/{tcp,tcp6,udp,udp6}`, as the kernel wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) transport: Transport,
    pub(crate) state: KernelState,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) recv_q: u32,
    pub(crate) send_q: u32,
    /// The socket's inode; 0 when no file refers to it (queued before `accept()`, or left
    /// after `close()`).
    pub(crate) inode: u64,
}

/// What the session holds, as the attribution needs it.
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// The inode of each of the session's descriptors, with the socket it is.
    pub(crate) inodes: HashMap<u64, Descriptor>,
}

/// One of the session's descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub(crate) socket: SocketId,
    /// The backlog the kernel uses for this socket when it listens (what `ss` prints as a
    /// listener's Send-Q; `/proc/net/tcp` prints 0 there).
    pub(crate) max_backlog: Option<u32>,
}

/// The kernel's rows that belong to the session, in a stable order (the session's sockets by
/// id, then detached rows by address), so that two samples of the same state compare equal.
///
/// - A row whose inode is one of the session's descriptors is that socket.
/// - A TCP row with no inode, ESTABLISHED or SYN_RECV, whose local address is one of the
///   session's listening sockets' (the same port, and the same IP unless the listener is bound
///   to the wildcard), is a connection in that listener's accept queue.
/// - A TCP row with no inode in a state that only follows `close()` (FIN_WAIT1, FIN_WAIT2,
///   CLOSING, LAST_ACK, TIME_WAIT), whose local address the session holds or held
///   (`held_address`: by address, as the ownership registry keys it), is what is left of one
///   of its connections.
///
/// Everything else (other programs, other sessions) is not the session's and is left out.
pub(crate) fn attribute(
    rows: &[Row],
    held: &Held,
    held_address: impl Fn(Transport, SocketAddr) -> bool,
) -> Vec<KernelSocket> {
    let mut mine = Vec::new();
    let mut listeners = Vec::new();
    for row in rows.iter().filter(|row| row.inode != 0) {
        let Some(descriptor) = held.inodes.get(&row.inode) else {
            continue;
        };
        let mut send_q = row.send_q;
        if row.state == KernelState::Listen {
            listeners.push((row.local, descriptor.socket));
            send_q = descriptor.max_backlog.unwrap_or(send_q);
        }
        mine.push(socket_row(row, Some(descriptor.socket), None, send_q));
    }
    for row in rows
        .iter()
        .filter(|row| row.inode == 0 && row.transport == Transport::Tcp)
    {
        let queued = matches!(row.state, KernelState::Established | KernelState::SynRecv);
        let listener = listeners
            .iter()
            .find(|(address, _)| queued && serves(*address, row.local));
        let detached = match listener {
            Some((_, listener)) => Detached::AcceptQueue {
                listener: *listener,
            },
            None if after_close(row.state) && held_address(row.transport, row.local) => {
                Detached::Closed
            }
            None => continue,
        };
        mine.push(socket_row(row, None, Some(detached), row.send_q));
    }
    mine.sort_by(|a, b| order(a).cmp(&order(b)));
    mine
}

/// Whether a listener bound to `listener` receives connections addressed to `local`.
fn serves(listener: SocketAddr, local: SocketAddr) -> bool {
    listener.port() == local.port()
        && (listener.ip().is_unspecified() || canonical(listener.ip()) == canonical(local.ip()))
}

/// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, how `tcp6` shows IPv4 peers of a
/// dual-stack socket) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// States a TCP connection reaches only after its side called `close()` (or, for LAST_ACK,
/// closed after the peer did): with no descriptor, they are leftovers of a closed socket.
fn after_close(state: KernelState) -> bool {
    matches!(
        state,
        KernelState::FinWait1
            | KernelState::FinWait2
            | KernelState::Closing
            | KernelState::LastAck
            | KernelState::TimeWait
    )
}

fn socket_row(
    row: &Row,
    socket: Option<SocketId>,
    detached: Option<Detached>,
    send_q: u32,
) -> KernelSocket {
    KernelSocket {
        socket,
        detached,
        transport: row.transport,
        state: row.state,
        local: address(row.local),
        remote: address(row.remote),
        recv_q: row.recv_q,
        send_q,
        inode: row.inode,
    }
}

/// An address as `ss` writes it: `127.0.0.1:41000`, `[::1]:41000`, and `*` for port 0 (no
/// peer, or not bound to a port): `0.0.0.0:*`, `[::]:*`.
pub(crate) fn address(address: SocketAddr) -> String {
    if address.port() != 0 {
        return address.to_string();
    }
    match address.ip() {
        IpAddr::V4(ip) => format!("{ip}:*"),
        IpAddr::V6(ip) => format!("[{ip}]:*"),
    }
}

fn order(row: &KernelSocket) -> (u32, &'static str, &str, &str, &'static str) {
    (
        row.socket.map_or(u32::MAX, |socket| socket.0),
        row.transport.name(),
        &row.local,
        &row.remote,
        row.state.name(),
    )
}

/// The last list the page was sent. Starts empty: the page assumes no kernel sockets until
/// told otherwise, so a session that never has any is never sent a `kernel` message.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    sent: Vec<KernelSocket>,
}

impl Snapshot {
    /// The list to send, if `sample` differs from the last one sent (which it then becomes).
    pub(crate) fn update(&mut self, sample: Vec<KernelSocket>) -> Option<Vec<KernelSocket>> {
        if sample == self.sent {
            return None;
        }
        self.sent = sample;
        Some(self.sent.clone())
    }

    /// Whether the kernel still shows something of the session (so it must be looked at again,
    /// e.g. until a TIME_WAIT expires, even when the session holds no socket).
    pub(crate) fn lingering(&self) -> bool {
        !self.sent.is_empty()
    }

    /// Whether a TCP or a UDP row was in the last list.
    pub(crate) fn shows(&self, transport: Transport) -> bool {
        self.sent.iter().any(|row| row.transport == transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn tcp(state: KernelState, local: &str, remote: &str, inode: u64) -> Row {
        Row {
            transport: Transport::Tcp,
            state,
            local: addr(local),
            remote: addr(remote),
            recv_q: 0,
            send_q: 0,
            inode,
        }
    }

    fn held(pairs: &[(u64, u32)]) -> Held {
        Held {
            inodes: pairs
                .iter()
                .map(|&(inode, id)| {
                    let descriptor = Descriptor {
                        socket: SocketId(id),
                        max_backlog: None,
                    };
                    (inode, descriptor)
                })
                .collect(),
        }
    }

    fn nothing_held(_: Transport, _: SocketAddr) -> bool {
        false
    }

    #[test]
    fn rows_join_the_sessions_descriptors_by_inode_and_others_are_left_out() {
        let rows = [
            tcp(KernelState::Listen, "127.0.0.1:5000", "0.0.0.0:0", 11),
            tcp(KernelState::Listen, "127.0.0.1:6000", "0.0.0.0:0", 99),
            tcp(KernelState::TimeWait, "127.0.0.1:7000", "127.0.0.1:80", 0),
        ];
        let mine = attribute(&rows, &held(&[(11, 1)]), nothing_held);
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0].socket, Some(SocketId(1)));
        assert_eq!(mine[0].detached, None);
        assert_eq!(mine[0].local, "127.0.0.1:5000");
        assert_eq!(mine[0].remote, "0.0.0.0:*");
    }

    #[test]
    fn a_listeners_kernel_backlog_is_its_send_q_as_ss_shows_it() {
        let rows = [tcp(KernelState::Listen, "127.0.0.1:5000", "0.0.0.0:0", 11)];
        let mut held = held(&[(11, 1)]);
        held.inodes.get_mut(&11).unwrap().max_backlog = Some(16);
        assert_eq!(attribute(&rows, &held, nothing_held)[0].send_q, 16);
    }

    #[test]
    fn an_established_row_without_inode_on_a_listeners_address_is_in_its_accept_queue() {
        let rows = [
            tcp(KernelState::Listen, "127.0.0.1:5000", "0.0.0.0:0", 11),
            tcp(
                KernelState::Established,
                "127.0.0.1:5000",
                "127.0.0.1:41000",
                0,
            ),
            tcp(KernelState::SynRecv, "127.0.0.1:5000", "127.0.0.1:41001", 0),
            // Another program's connection on another port: not the session's.
            tcp(
                KernelState::Established,
                "127.0.0.1:5001",
                "127.0.0.1:41002",
                0,
            ),
        ];
        let mine = attribute(&rows, &held(&[(11, 1)]), nothing_held);
        let queued: Vec<_> = mine.iter().filter(|row| row.detached.is_some()).collect();
        assert_eq!(queued.len(), 2, "{mine:?}");
        for row in queued {
            assert_eq!(
                row.detached,
                Some(Detached::AcceptQueue {
                    listener: SocketId(1)
                })
            );
            assert_eq!(row.local, "127.0.0.1:5000");
        }
    }

    #[test]
    fn a_wildcard_listener_queues_connections_to_any_of_its_addresses() {
        let rows = [
            tcp(KernelState::Listen, "[::]:5000", "[::]:0", 11),
            tcp(
                KernelState::Established,
                "[::ffff:127.0.0.1]:5000",
                "[::ffff:127.0.0.1]:41000",
                0,
            ),
        ];
        let mine = attribute(&rows, &held(&[(11, 4)]), nothing_held);
        assert_eq!(
            mine[1].detached,
            Some(Detached::AcceptQueue {
                listener: SocketId(4)
            })
        );
        assert_eq!(mine[0].remote, "[::]:*");
        assert_eq!(mine[1].local, "[::ffff:127.0.0.1]:5000");
    }

    #[test]
    fn closing_rows_on_a_port_the_session_holds_or_held_are_closed_leftovers() {
        let rows = [
            tcp(
                KernelState::TimeWait,
                "127.0.0.1:41000",
                "127.0.0.1:5000",
                0,
            ),
            tcp(
                KernelState::FinWait2,
                "127.0.0.1:41001",
                "127.0.0.1:5000",
                0,
            ),
            tcp(
                KernelState::TimeWait,
                "127.0.0.1:42000",
                "127.0.0.1:5000",
                0,
            ),
            // ESTABLISHED without inode and no listener: not a leftover of close().
            tcp(
                KernelState::Established,
                "127.0.0.1:41000",
                "127.0.0.1:5001",
                0,
            ),
        ];
        let mine = attribute(&rows, &Held::default(), |transport, local| {
            transport == Transport::Tcp
                && local.ip() == addr("127.0.0.1:0").ip()
                && (local.port() == 41000 || local.port() == 41001)
        });
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert!(
            mine.iter()
                .all(|row| row.detached == Some(Detached::Closed))
        );
        assert_eq!(mine[0].local, "127.0.0.1:41000");
        assert_eq!(mine[0].state, KernelState::TimeWait);
        assert_eq!(mine[1].state, KernelState::FinWait2);
    }

    #[test]
    fn the_order_is_stable_whatever_order_the_kernel_lists_rows_in() {
        let mut rows = vec![
            tcp(
                KernelState::TimeWait,
                "127.0.0.1:41000",
                "127.0.0.1:5000",
                0,
            ),
            tcp(
                KernelState::Established,
                "127.0.0.1:5000",
                "127.0.0.1:41001",
                12,
            ),
            tcp(KernelState::Listen, "127.0.0.1:5000", "0.0.0.0:0", 11),
        ];
        let held = held(&[(11, 1), (12, 2)]);
        let first = attribute(&rows, &held, |_, _| true);
        rows.reverse();
        assert_eq!(attribute(&rows, &held, |_, _| true), first);
        let sockets: Vec<_> = first.iter().map(|row| row.socket).collect();
        assert_eq!(sockets, [Some(SocketId(1)), Some(SocketId(2)), None]);
    }

    #[test]
    fn addresses_are_written_as_ss_writes_them() {
        assert_eq!(address(addr("127.0.0.1:80")), "127.0.0.1:80");
        assert_eq!(address(addr("0.0.0.0:0")), "0.0.0.0:*");
        assert_eq!(address(addr("[::1]:80")), "[::1]:80");
        assert_eq!(address(addr("[::]:0")), "[::]:*");
    }

    #[test]
    fn only_a_change_is_sent_including_the_change_to_empty() {
        let row = attribute(
            &[tcp(KernelState::Listen, "127.0.0.1:5000", "0.0.0.0:0", 11)],
            &held(&[(11, 1)]),
            nothing_held,
        );
        let mut snapshot = Snapshot::default();
        assert_eq!(snapshot.update(Vec::new()), None, "nothing to say at first");
        assert!(!snapshot.lingering());
        assert_eq!(snapshot.update(row.clone()), Some(row.clone()));
        assert!(snapshot.lingering() && snapshot.shows(Transport::Tcp));
        assert!(!snapshot.shows(Transport::Udp));
        assert_eq!(snapshot.update(row.clone()), None, "same state, no message");
        let mut fuller = row.clone();
        fuller[0].recv_q = 1;
        assert_eq!(snapshot.update(fuller.clone()), Some(fuller));
        assert_eq!(snapshot.update(Vec::new()), Some(Vec::new()), "once empty");
        assert_eq!(snapshot.update(Vec::new()), None);
    }
}
