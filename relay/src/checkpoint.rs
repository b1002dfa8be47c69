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

use socket2::SockAddr;
use socketlab_shared::{Family, SocketType};

use crate::errors::CallError;
use crate::ownership::{Endpoint, Holding, Ports};
use crate::policy::{self, Facts, Operation, PortOwner, Refusal, Request, Unresolved};
use crate::session::Session;
use crate::sockets::SocketHandle;

impl From<Refusal> for CallError {
    fn from(refusal: Refusal) -> Self {
        CallError::Refused {
            rule: refusal.rule,
            reason: refusal.reason,
        }
    }
}

fn facts(session: &Session) -> Facts {
    Facts {
        root: session.relay.root,
        relay: session.relay.local,
    }
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
fn this_machine(session: &Session, ip: IpAddr) -> bool {
    ip.is_loopback()
        || ip == policy::normalise(session.relay.local).ip()
        || interface_addresses().contains(&ip)
}

/// The addresses of this machine's interfaces, as getifaddrs(3) lists them now. If they cannot
/// be read, none: the destination is then judged as a remote address, which the default policy
/// refuses (`connect_not_loopback`) and only a grant opens.
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
fn outside(ports: &Ports<'_>, kind: SocketType, port: u16) -> Result<Vec<SocketAddr>, String> {
    let seen = crate::outside::sockets_on(kind, port).map_err(|err| err.to_string())?;
    Ok(seen
        .into_iter()
        .filter(|s| !ports.is_sessions(kind, port, s.inode))
        .map(|s| policy::normalise(s.local))
        .collect())
}

/// bind(): the policy's check (with the kernel's tables for a fixed port), the kernel's bind
/// and the record of what it gave, all under the ownership lock.
pub(crate) fn bind(session: &Session, handle: &SocketHandle, text: &str) -> Result<(), CallError> {
    let address = resolve(handle, text, Operation::Bind)?;
    let wanted = Endpoint::new(handle.kind, address, v6only(handle));
    let mut ports = session.ports.locked();
    let mut request = Request {
        op: Operation::Bind,
        kind: handle.kind,
        address,
        owner: ports.bound(&wanted),
        this_machine: true,
    };
    let (config, facts) = (&session.relay.config.policy, facts(session));
    policy::check(config, &facts, &request)?;
    let port = wanted.address.port();
    if port != 0 {
        // A program outside the relay's sessions on this number, at an address this bind
        // would share or on loopback or a wildcard (where a session's socket could reach or
        // capture its traffic), whatever address the session names.
        let held = outside(&ports, handle.kind, port)
            .map_err(|err| policy::unverified(Operation::Bind, address, &err))?;
        let near = |at: &SocketAddr| {
            at.ip().is_loopback()
                || at.ip().is_unspecified()
                || Endpoint::new(handle.kind, *at, false).overlaps(&wanted)
        };
        if held.iter().any(near) {
            request.owner = PortOwner::Outside;
            policy::check(config, &facts, &request)?;
        }
    }
    handle.os.bind(&SockAddr::from(address))?;
    ports.record(handle.id, holding(handle));
    Ok(())
}

/// Whether an IPv6 socket has IPV6_V6ONLY set (false for IPv4, or if it cannot be read).
fn v6only(handle: &SocketHandle) -> bool {
    handle.family == Family::Ipv6 && handle.os.only_v6().unwrap_or(false)
}

/// A destination call (connect, sendto; send or recv on a connected datagram socket): the
/// policy's check of `to`, then `syscall` and the record of what the socket holds after it,
/// all under the ownership lock.
pub(crate) fn towards<R>(
    session: &Session,
    handle: &SocketHandle,
    op: Operation,
    to: SocketAddr,
    syscall: impl FnOnce(&SockAddr) -> R,
) -> Result<R, CallError> {
    let routed = policy::destination(to);
    let this_machine = this_machine(session, routed.ip());
    let mut ports = session.ports.locked();
    let mut owner = ports.reached(handle.kind, routed, this_machine, None);
    if owner == PortOwner::Nobody && ports.has_number(handle.kind, routed.port()) {
        owner = PortOwner::ThisSessionsNumber;
    }
    if matches!(
        owner,
        PortOwner::ReleasedByThisSession | PortOwner::ThisSessionsNumber
    ) {
        // No session holds it here: reachable only while no outside program does either.
        let held = outside(&ports, handle.kind, routed.port())
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
    policy::check(&session.relay.config.policy, &facts(session), &request)?;
    if op == Operation::Sendto && handle.kind == SocketType::Datagram {
        // The first sendto of a datagram socket never bound would bind it to the wildcard.
        autobind(session, handle, op)?;
    }
    let result = syscall(&SockAddr::from(to));
    // Even a connect still in progress (or refused) has bound the socket to a port.
    ports.record(handle.id, holding(handle));
    Ok(result)
}

/// The peer of a connected datagram socket, if it has one: send and recv there reach it, so
/// they are checked like a sendto to it, at every call.
pub(crate) fn datagram_peer(handle: &SocketHandle) -> Option<SocketAddr> {
    if handle.kind != SocketType::Datagram {
        return None;
    }
    handle.os.peer_addr().ok().and_then(|a| a.as_socket())
}

/// listen(), or sendto() on a datagram socket: refused if the socket was never bound, since
/// the kernel would bind it to the wildcard address on its own (`policy::check_autobind`).
pub(crate) fn autobind(
    session: &Session,
    handle: &SocketHandle,
    op: Operation,
) -> Result<(), CallError> {
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
    Ok(policy::check_autobind(
        &session.relay.config.policy,
        op,
        local,
    )?)
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

/// Records what the socket holds now, as the kernel reports it (after listen and accept).
pub(crate) fn record(session: &Session, handle: &SocketHandle) {
    session.ports.record(handle.id, holding(handle));
}
