//! The policy's checkpoint in front of the kernel: for bind, connect, sendto, and send/recv on
//! a connected datagram socket, it reads the address (IP literals and `localhost` only),
//! gathers the facts (who holds the endpoint, by address as the kernel keys it; whether a
//! destination is this machine; the relay's own address; root or not), asks the pure
//! `policy`, and records in `ownership` what each socket holds after the kernel answered.
//!
//! Every check and the syscall it allows run under the ownership registry's lock, so no bind
//! of another session can come between them: two sessions binding one port at once cannot
//! both pass, and a connect or sendto cannot reach a port that changed hands after its check.
//! Where the registry cannot know (a program outside the relay's sessions), the kernel's own
//! tables are read (`outside`) under the same lock; if they cannot be read, the call is
//! refused (`port_check_failed`), never let through.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use socket2::SockAddr;
use socketlab_shared::{Family, SocketId, SocketType};

use crate::errors::CallError;
use crate::isolation::Network;
use crate::ownership::{Endpoint, Holding, Ports, SessionPorts};
use crate::policy::{self, Facts, Operation, PolicyConfig, PortOwner, Request, Unresolved};
use crate::sockets::SocketHandle;

/// What the checkpoint needs of a session, and nothing more: the policy, the relay's facts
/// and the session's handle on the ownership registry. Cheap to clone: a call that waits
/// takes one along for its retries.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    policy: Arc<PolicyConfig>,
    facts: Facts,
    ports: Arc<SessionPorts>,
    /// Whose tables show the programs outside the relay's sessions: the machine's, or, for an
    /// isolated session, its namespace's (where there are none).
    network: Network,
}

/// The address a call names, as the kernel will get it.
pub(crate) fn resolve(
    handle: &SocketHandle,
    text: &str,
    op: Operation,
) -> Result<SocketAddr, CallError> {
    policy::resolve(text, handle.family, op).map_err(|unresolved| match unresolved {
        Unresolved::Invalid(reason) => CallError::invalid(reason),
        Unresolved::Refused(refusal) => refusal.into(),
    })
}

/// Whether `ip` (a destination as the kernel routes it) is one of this machine's addresses:
/// loopback, the relay's own, or an address of one of its interfaces (read only when the
/// destination is not loopback, so the common case costs nothing).
fn this_machine(facts: &Facts, ip: IpAddr) -> bool {
    ip.is_loopback()
        || ip == policy::normalise(facts.relay).ip()
        || interface_addresses().contains(&ip)
}

/// The addresses of this machine's interfaces, as getifaddrs(3) lists them now. If they cannot
/// be read, none: the destination is then judged as a remote address, which the default policy
/// refuses (`connect_not_loopback`) and only a grant opens.
///
/// Windows: not read (the relay has no reader of its interface list there yet), so the
/// machine's own non-loopback addresses are judged as remote: refused unless an
/// `--allow-connect` grant covers them, and then reached without the checks of this machine's
/// ports (docs/security.md says so).
#[cfg(windows)]
fn interface_addresses() -> Vec<IpAddr> {
    Vec::new()
}

/// See the Windows twin above.
#[cfg(unix)]
fn interface_addresses() -> Vec<IpAddr> {
    let Ok(addresses) = nix::ifaddrs::getifaddrs() else {
        tracing::warn!("cannot list this machine's addresses (getifaddrs)");
        return Vec::new();
    };
    addresses
        .filter_map(|interface| interface.address)
        .filter_map(|address| {
            if let Some(v4) = address.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .map(|ip| policy::normalise(SocketAddr::new(ip, 0)).ip())
        .collect()
}

/// The sockets of programs outside the relay's sessions that hold (`kind`, `port`), by their
/// local addresses; an `Err` says why the kernel's tables could not be read.
fn outside(
    network: Network,
    ports: &Ports<'_>,
    kind: SocketType,
    port: u16,
) -> Result<Vec<SocketAddr>, String> {
    let seen = crate::outside::sockets_on(network, kind, port).map_err(|err| err.to_string())?;
    Ok(seen
        .into_iter()
        .filter(|s| match s.inode {
            Some(inode) => !ports.is_sessions(kind, port, inode),
            // A table without inodes (macOS): a session's own socket is the one at its address.
            None => !ports.is_sessions_at(kind, s.local),
        })
        .map(|s| policy::normalise(s.local))
        .collect())
}

/// bind(): the policy's check (with the kernel's tables for a fixed port), the kernel's bind
/// and the record of what it gave, all under the ownership lock.
impl Checkpoint {
    pub(crate) fn new(
        policy: Arc<PolicyConfig>,
        facts: Facts,
        ports: Arc<SessionPorts>,
        network: Network,
    ) -> Self {
        Checkpoint {
            policy,
            facts,
            ports,
            network,
        }
    }

    pub(crate) fn bind(&self, handle: &SocketHandle, text: &str) -> Result<(), CallError> {
        let address = resolve(handle, text, Operation::Bind)?;
        let wanted = Endpoint::new(handle.kind, address, v6only(handle));
        let mut ports = self.ports.locked();
        let mut request = Request {
            op: Operation::Bind,
            kind: handle.kind,
            address,
            owner: ports.bound(&wanted),
            this_machine: true,
        };
        let (config, facts) = (&*self.policy, &self.facts);
        policy::check(config, facts, &request)?;
        let port = wanted.address.port();
        if port != 0 {
            // A program outside the relay's sessions on this number, at an address this bind
            // would share or on loopback or a wildcard (where a session's socket could reach or
            // capture its traffic), whatever address the session names.
            let held = outside(self.network, &ports, handle.kind, port)
                .map_err(|err| policy::unverified(Operation::Bind, address, &err))?;
            let near = |at: &SocketAddr| {
                at.ip().is_loopback()
                    || at.ip().is_unspecified()
                    || Endpoint::new(handle.kind, *at, false).overlaps(&wanted)
            };
            if held.iter().any(near) {
                request.owner = PortOwner::Outside;
                policy::check(config, facts, &request)?;
            }
        }
        handle.os.bind(&SockAddr::from(address))?;
        ports.record(handle.id, holding(handle));
        Ok(())
    }

    /// A destination call (connect, sendto; send or recv on a connected datagram socket): the
    /// policy's check of `to`, then `syscall` and the record of what the socket holds after it,
    /// all under the ownership lock.
    pub(crate) fn towards<R>(
        &self,
        handle: &SocketHandle,
        op: Operation,
        to: SocketAddr,
        syscall: impl FnOnce(&SockAddr) -> R,
    ) -> Result<R, CallError> {
        let routed = policy::destination(to);
        let this_machine = this_machine(&self.facts, routed.ip());
        let mut ports = self.ports.locked();
        let mut owner = ports.reached(handle.kind, routed, this_machine, None);
        if owner == PortOwner::Nobody && ports.has_number(handle.kind, routed.port()) {
            owner = PortOwner::ThisSessionsNumber;
        }
        if matches!(
            owner,
            PortOwner::ReleasedByThisSession | PortOwner::ThisSessionsNumber
        ) {
            // No session holds it here: reachable only while no outside program does either.
            let held = outside(self.network, &ports, handle.kind, routed.port())
                .map_err(|err| policy::unverified(op, to, &err))?;
            if held
                .iter()
                .any(|at| Endpoint::new(handle.kind, *at, false).covers(handle.kind, routed, true))
            {
                owner = PortOwner::Outside;
            }
        }
        let request = Request {
            op,
            kind: handle.kind,
            address: to,
            owner,
            this_machine,
        };
        policy::check(&self.policy, &self.facts, &request)?;
        if op == Operation::Sendto && handle.kind == SocketType::Datagram {
            // The first sendto of a datagram socket never bound would bind it to the wildcard.
            self.autobind(handle, op)?;
        }
        let result = syscall(&SockAddr::from(to));
        // Even a connect still in progress (or refused) has bound the socket to a port.
        ports.record(handle.id, holding(handle));
        Ok(result)
    }

    /// listen(), or sendto() on a datagram socket: refused if the socket was never bound, since
    /// the kernel would bind it to the wildcard address on its own (`policy::check_autobind`).
    pub(crate) fn autobind(&self, handle: &SocketHandle, op: Operation) -> Result<(), CallError> {
        let local = handle
            .os
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| {
                let ip = match handle.family {
                    Family::Ipv4 => IpAddr::from([0, 0, 0, 0]),
                    Family::Ipv6 => IpAddr::from([0u16; 8]),
                };
                SocketAddr::new(ip, 0)
            });
        Ok(policy::check_autobind(&self.policy, op, local)?)
    }

    /// Records what the socket holds now, as the kernel reports it (after listen and accept).
    pub(crate) fn record(&self, handle: &SocketHandle) {
        self.ports.record(handle.id, holding(handle));
    }

    /// The socket was closed: what it held is released.
    pub(crate) fn release(&self, socket: SocketId) {
        self.ports.release(socket);
    }
}

/// Whether an IPv6 socket has IPV6_V6ONLY set (false for IPv4, or if it cannot be read).
fn v6only(handle: &SocketHandle) -> bool {
    handle.family == Family::Ipv6 && handle.os.only_v6().unwrap_or(false)
}

/// The peer of a connected datagram socket, if it has one: send and recv there reach it, so
/// they are checked like a sendto to it, at every call.
pub(crate) fn datagram_peer(handle: &SocketHandle) -> Option<SocketAddr> {
    if handle.kind != SocketType::Datagram {
        return None;
    }
    handle.os.peer_addr().ok().and_then(|a| a.as_socket())
}

/// What the socket holds now, as the kernel reports it.
pub(crate) fn holding(handle: &SocketHandle) -> Option<Holding> {
    let local = handle.os.local_addr().ok()?.as_socket()?;
    if local.port() == 0 {
        return None;
    }
    Some(Holding {
        endpoint: Endpoint::new(handle.kind, local, v6only(handle)),
        inode: crate::kernel::inode(&handle.os),
    })
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use socketlab_shared::Family;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::ownership::Ownership;
    use crate::sockets::SocketTable;

    /// A UDP socket of a session's table, bound to 127.0.0.1 and recorded as the session's.
    fn bound_udp(ports: &SessionPorts) -> Arc<SocketHandle> {
        let os = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
            .expect("a socket");
        let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        os.bind(&any.into()).expect("bind");
        let mut table = SocketTable::new(4);
        let entry = table
            .insert(
                os,
                Family::Ipv4,
                SocketType::Datagram,
                &CancellationToken::new(),
            )
            .expect("room in the table");
        ports.record(entry.handle.id, holding(&entry.handle));
        entry.handle
    }

    /// Issue 9, point 6: another session's bind needs the registry's lock, and a destination's
    /// check keeps it until its syscall is made, so no bind can come between the two: the
    /// check and the syscall are one step for every other session.
    #[test]
    fn a_destination_check_and_its_syscall_are_one_step_for_other_sessions() {
        let registry = Arc::new(Ownership::default());
        let (a, b) = (Arc::new(registry.session()), registry.session());
        let facts = Facts {
            root: false,
            relay: "127.0.0.1:1".parse().expect("an address"),
        };
        let checkpoint = Checkpoint::new(Arc::default(), facts, a.clone(), Network::Host);
        let socket = bound_udp(&a);
        let peer = UdpSocket::bind("127.0.0.1:0").expect("a peer");
        let to = peer.local_addr().expect("its address");
        // The peer's port is A's own (recorded as a second socket of A's).
        let mut own = holding(&socket).expect("bound");
        own.endpoint = Endpoint::new(SocketType::Datagram, to, false);
        a.record(socketlab_shared::SocketId(2), Some(own));
        let mut during = None;
        checkpoint
            .towards(&socket, Operation::Sendto, to, |address| {
                during = Some(b.try_locked().is_none());
                socket.os.send_to(b"x", address)
            })
            .expect("allowed")
            .expect("sent");
        assert_eq!(
            during,
            Some(true),
            "the registry was locked during the syscall"
        );
        assert!(b.try_locked().is_some(), "and free again after it");
        let mut buf = [0; 4];
        assert_eq!(peer.recv(&mut buf).expect("the datagram"), 1);
    }
}
