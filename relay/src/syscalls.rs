//! Performing each call for real, on the socket's one descriptor, in the order the learner made
//! it: the dispatch, and the calls that never wait (socket, setsockopt, getsockopt, bind,
//! listen, shutdown, close, getsockname, getpeername). The calls that can block in C live in
//! `blocking`.
//!
//! Nothing is pre-judged: listen on a datagram socket, send on an unconnected stream, a family
//! mismatch, all reach the kernel and its errno is the reply. The one exception is the relay's
//! safety policy: bind, connect and sendto first pass `checkpoint`, which may answer
//! `refused` (never a fake errno) before the kernel is asked.

use std::io;
use std::sync::Arc;

use socket2::{Domain, SockAddr, Type};
use socketlab_shared::{
    CallId, Done, Family, Op, Outcome, Shutdown, SockOpt, SocketId, SocketType, Syscall,
};
use tracing::Instrument as _;

use crate::arguments::check_option_value;
use crate::blocking;
use crate::errors::CallError;
use crate::policy::Operation;
use crate::session::Session;
use crate::sockets::{Entry, SocketHandle, WatchMode};

pub(crate) type CallResult = Result<Done, CallError>;

/// Performs one call and sends its one reply, now or (for a call that waits) later.
pub(crate) async fn call(session: &Arc<Session>, id: CallId, op: Op) {
    let syscall = op.syscall();
    let span = tracing::info_span!(
        "call",
        call = id.0,
        %syscall,
        socket = op.socket().map(|s| s.0)
    );
    async {
        match perform(session, id, op).await {
            Some(result) => {
                let outcome = outcome(result, syscall);
                tracing::debug!(?outcome, "reply");
                session.reply(id, outcome).await;
            }
            None => tracing::debug!("waiting in the kernel"),
        }
    }
    .instrument(span)
    .await;
}

pub(crate) fn outcome(result: CallResult, syscall: Syscall) -> Outcome {
    match result {
        Ok(done) => Outcome::Ok(done),
        Err(err) => err.into_outcome(syscall),
    }
}

/// `None` when a task of the socket took the call over and will reply.
async fn perform(session: &Arc<Session>, id: CallId, op: Op) -> Option<CallResult> {
    let socket = match op {
        Op::Socket { family, kind } => return Some(socket(session, family, kind)),
        Op::Close { socket } => return Some(close(session, socket).await),
        _ => op.socket()?,
    };
    let entry = {
        let table = session.table.lock();
        match table.get(socket) {
            Some(entry) => entry,
            None => return Some(Err(CallError::invalid(table.describe_missing(socket)))),
        }
    };
    let handle = &entry.handle;
    match op {
        Op::Socket { .. } | Op::Close { .. } => None,
        Op::Setsockopt { option, value, .. } => Some(setsockopt(handle, option, value)),
        Op::Getsockopt { option, .. } => Some(
            get_option(&handle.os, option)
                .map(|value| Done::Getsockopt { option, value })
                .map_err(CallError::from),
        ),
        Op::Bind { address, .. } => Some(bind(session, handle, &address)),
        Op::Listen { backlog, .. } => Some(listen(session, handle, backlog)),
        Op::Accept { .. } => blocking::accept(session, &entry, id),
        Op::Connect { address, .. } => blocking::connect(session, &entry, id, &address),
        Op::Send { data, .. } => blocking::send(session, &entry, id, data, None),
        Op::Sendto { data, address, .. } => {
            blocking::send(session, &entry, id, data, Some(address))
        }
        Op::Recv { max, .. } => blocking::recv(session, &entry, id, max),
        Op::Recvfrom { max, .. } => blocking::recvfrom(session, &entry, id, max),
        Op::Shutdown { how, .. } => Some(shutdown(handle, how)),
        Op::Getsockname { .. } => Some(local(handle).map(|address| Done::Getsockname { address })),
        Op::Getpeername { .. } => Some(peer(handle).map(|address| Done::Getpeername { address })),
    }
}

fn socket(session: &Arc<Session>, family: Family, kind: SocketType) -> CallResult {
    let domain = match family {
        Family::Ipv4 => Domain::IPV4,
        Family::Ipv6 => Domain::IPV6,
    };
    let ty = match kind {
        SocketType::Stream => Type::STREAM,
        SocketType::Datagram => Type::DGRAM,
    };
    // socket(family, type, 0) with close-on-exec; then non-blocking, so that waiting calls wait
    // on tokio instead of a thread.
    let os = socket2::Socket::new(domain, ty, None)?;
    os.set_nonblocking(true)?;
    let entry = register(session, os, family, kind)?;
    Ok(Done::Socket {
        socket: entry.handle.id,
        fd: entry.handle.fd(),
        family,
        kind,
    })
}

/// Adds a socket to the session's table and starts its event watcher. A full table
/// (`--max-sockets`) refuses it, and the socket is closed.
pub(crate) fn register(
    session: &Arc<Session>,
    os: socket2::Socket,
    family: Family,
    kind: SocketType,
) -> Result<Entry, CallError> {
    let entry = session
        .table
        .lock()
        .insert(os, family, kind, &session.token)?;
    let span = tracing::info_span!("socket", socket = entry.handle.id.0, fd = entry.handle.fd());
    tracing::debug!(parent: &span, "registered");
    let watcher = crate::events::watch(session.clone(), entry.handle.clone(), entry.token.clone());
    entry.tracker.spawn(watcher.instrument(span));
    Ok(entry)
}

fn setsockopt(handle: &SocketHandle, option: SockOpt, value: i32) -> CallResult {
    check_option_value(option, value).map_err(CallError::invalid)?;
    let os = &handle.os;
    let on = value != 0;
    let size = usize::try_from(value).unwrap_or(0);
    match option {
        SockOpt::SoReuseaddr => os.set_reuse_address(on),
        SockOpt::SoReuseport => os.set_reuse_port(on),
        SockOpt::Ipv6V6only => os.set_only_v6(on),
        SockOpt::TcpNodelay => os.set_tcp_nodelay(on),
        SockOpt::SoRcvbuf => os.set_recv_buffer_size(size),
        SockOpt::SoSndbuf => os.set_send_buffer_size(size),
    }?;
    let value = get_option(os, option)?;
    Ok(Done::Setsockopt { option, value })
}

/// getsockopt: flags as 0/1, sizes as the kernel reports them (Linux doubles what was set).
fn get_option(os: &socket2::Socket, option: SockOpt) -> io::Result<i32> {
    let flag = |on: bool| i32::from(on);
    let size = |bytes: usize| i32::try_from(bytes).unwrap_or(i32::MAX);
    Ok(match option {
        SockOpt::SoReuseaddr => flag(os.reuse_address()?),
        SockOpt::SoReuseport => flag(os.reuse_port()?),
        SockOpt::Ipv6V6only => flag(os.only_v6()?),
        SockOpt::TcpNodelay => flag(os.tcp_nodelay()?),
        SockOpt::SoRcvbuf => size(os.recv_buffer_size()?),
        SockOpt::SoSndbuf => size(os.send_buffer_size()?),
    })
}

/// bind: the relay's policy first (`checkpoint`), then the kernel.
fn bind(session: &Session, handle: &SocketHandle, address: &str) -> CallResult {
    session.checkpoint().bind(handle, address)?;
    if handle.kind == SocketType::Datagram {
        handle.watch.set_mode(WatchMode::Datagram);
    }
    Ok(Done::Bind {
        local: local(handle)?,
    })
}

fn listen(session: &Session, handle: &SocketHandle, backlog: i32) -> CallResult {
    // listen() on a stream socket never bound would bind it to the wildcard address. (On a
    // datagram socket the kernel's EOPNOTSUPP is the lesson, and it binds nothing.)
    if handle.kind == SocketType::Stream {
        session.checkpoint().autobind(handle, Operation::Listen)?;
    }
    let listened = handle.os.listen(backlog);
    // listen() on an unbound socket (allowed by --allow-bind-wildcard) binds it to an
    // ephemeral port: the session holds that too.
    session.checkpoint().record(handle);
    listened?;
    handle.watch.set_mode(WatchMode::Listening);
    Ok(Done::Listen {
        local: local(handle)?,
    })
}

fn shutdown(handle: &SocketHandle, how: Shutdown) -> CallResult {
    handle.os.shutdown(match how {
        Shutdown::Read => std::net::Shutdown::Read,
        Shutdown::Write => std::net::Shutdown::Write,
        Shutdown::Both => std::net::Shutdown::Both,
    })?;
    if how != Shutdown::Write {
        handle.watch.set_read_shut();
    }
    Ok(Done::Shutdown)
}

/// close: the socket leaves the table, its waiting calls reply `cancelled`, and the descriptor
/// is closed before the `close` reply goes out, so the port is free when the browser hears it.
async fn close(session: &Session, socket: SocketId) -> CallResult {
    let entry = {
        let mut table = session.table.lock();
        match table.remove(socket) {
            Some(entry) => entry,
            None => return Err(CallError::invalid(table.describe_missing(socket))),
        }
    };
    entry.close().await;
    session.ports.release(socket);
    Ok(Done::Close)
}

pub(crate) fn local(handle: &SocketHandle) -> Result<String, CallError> {
    ip_address(handle.os.local_addr()?)
}

pub(crate) fn peer(handle: &SocketHandle) -> Result<String, CallError> {
    ip_address(handle.os.peer_addr()?)
}

pub(crate) fn ip_address(address: SockAddr) -> Result<String, CallError> {
    address.as_socket().map(|a| a.to_string()).ok_or_else(|| {
        CallError::invalid("the kernel reported an address that is not IPv4 or IPv6")
    })
}
