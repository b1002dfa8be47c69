//! The policy's checkpoint in front of the kernel: for bind, connect and sendto it reads the
//! address (IP literals and `localhost` only), gathers the facts (socket, owner of the port,
//! the relay's own address, root or not), asks the pure `policy`, and records in `ownership`
//! which port each socket holds after the kernel answered.
//!
//! bind is checked and made under the ownership registry's lock, so two sessions binding the
//! same port at once cannot both pass the check.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockAddr, Type};
use socketlab_shared::SocketType;

use crate::errors::CallError;
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

fn resolve(handle: &SocketHandle, text: &str, op: Operation) -> Result<SocketAddr, CallError> {
    policy::resolve(text, handle.family, op).map_err(|unresolved| match unresolved {
        Unresolved::Invalid(reason) => CallError::invalid(reason),
        Unresolved::Refused(refusal) => refusal.into(),
    })
}

/// The address a connect or sendto may go to, or why not.
pub(crate) fn destination(
    session: &Session,
    handle: &SocketHandle,
    op: Operation,
    text: &str,
) -> Result<SockAddr, CallError> {
    let address = resolve(handle, text, op)?;
    let owner = session
        .ports
        .owner(handle.kind, policy::normalise(address).port());
    let request = Request {
        op,
        kind: handle.kind,
        address,
        owner,
    };
    policy::check(&session.relay.config.policy, &facts(session), &request)?;
    Ok(SockAddr::from(address))
}

/// bind(): the policy's check, the kernel's bind and the record of the port it gave, all under
/// the ownership lock.
pub(crate) fn bind(session: &Session, handle: &SocketHandle, text: &str) -> Result<(), CallError> {
    let address = resolve(handle, text, Operation::Bind)?;
    let port = policy::normalise(address).port();
    let mut ports = session.ports.locked();
    let owner = ports.owner(handle.kind, port);
    let request = Request {
        op: Operation::Bind,
        kind: handle.kind,
        address,
        owner,
    };
    policy::check(&session.relay.config.policy, &facts(session), &request)?;
    if port != 0 && owner != PortOwner::ThisSession && shares_ports(handle)? {
        refuse_if_held_outside(handle, address)?;
    }
    handle.os.bind(&SockAddr::from(address))?;
    ports.record(handle.id, handle.kind, local_port(handle));
    Ok(())
}

/// Whether the socket asked to share its port (SO_REUSEPORT, or for UDP also SO_REUSEADDR,
/// which on Linux lets datagram sockets share a port too).
fn shares_ports(handle: &SocketHandle) -> io::Result<bool> {
    Ok(handle.os.reuse_port()?
        || (handle.kind == SocketType::Datagram && handle.os.reuse_address()?))
}

/// A socket that shares ports could join a port held by a program outside the relay (the
/// kernel allows it when that program shares too), and take its connections or datagrams.
/// Sessions are kept apart by the registry; outside programs by this probe: a fresh socket
/// binds the same address without sharing. If the kernel says EADDRINUSE, someone outside
/// holds the port. (For TCP the probe sets SO_REUSEADDR, so that connections lingering in
/// TIME_WAIT, which SO_REUSEADDR is the lesson about, do not count.)
fn refuse_if_held_outside(handle: &SocketHandle, address: SocketAddr) -> Result<(), CallError> {
    let domain = Domain::for_address(address);
    let ty = match handle.kind {
        SocketType::Stream => Type::STREAM,
        SocketType::Datagram => Type::DGRAM,
    };
    let Ok(probe) = socket2::Socket::new(domain, ty, None) else {
        return Ok(());
    };
    if handle.kind == SocketType::Stream {
        probe.set_reuse_address(true)?;
    }
    if address.is_ipv6() {
        probe.set_only_v6(handle.os.only_v6()?)?;
    }
    match probe.bind(&SockAddr::from(address)) {
        Err(err) if err.raw_os_error() == Some(libc::EADDRINUSE) => Err(CallError::from(Refusal {
            rule: "bind_shared_port_in_use",
            reason: format!(
                "bind() to {address} with SO_REUSEPORT{} was refused by the relay: port {} is in use by a program outside this session, and sharing it would let this socket take that program's traffic. Use another port, or port 0. No flag allows this.",
                if handle.kind == SocketType::Datagram {
                    " or SO_REUSEADDR"
                } else {
                    ""
                },
                address.port()
            ),
        })),
        // Anything else is for the real bind to meet and the kernel to answer.
        _ => Ok(()),
    }
}

fn local_port(handle: &SocketHandle) -> Option<u16> {
    handle
        .os
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.port())
}

/// Records the port the socket holds now, as the kernel reports it (after listen, connect,
/// sendto and accept, which may have bound it to an ephemeral port).
pub(crate) fn record(session: &Session, handle: &SocketHandle) {
    session
        .ports
        .record(handle.id, handle.kind, local_port(handle));
}
