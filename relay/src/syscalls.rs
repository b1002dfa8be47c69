//! Performing each call for real, on the socket's one descriptor, in the order the learner made
//! it: the dispatch, and the calls that never wait (socket, setsockopt, getsockopt, bind,
//! listen, shutdown, close, getsockname, getpeername). The calls that can block in C live in
//! `blocking`. Both run with the [`Context`] the session hands over (its socket table, policy
//! checkpoint, outbox, token and connect observer) and send each call's one reply to the
//! outbox; neither knows the session.
//!
//! Nothing is pre-judged: listen on a datagram socket, send on an unconnected stream, a family
//! mismatch, all reach the kernel and its errno is the reply. The one exception is the relay's
//! safety policy: bind, connect and sendto first pass `checkpoint`, which may answer
//! `refused` (never a fake errno) before the kernel is asked.

mod blocking;
mod context;

use socket2::{Domain, Type};
use socketlab_shared::{CallId, Done, Family, Op, Shutdown, SockOpt, SocketId, SocketType};
use tracing::Instrument as _;

pub(crate) use self::context::{ConnectObserver, Context};
use crate::arguments::check_option_value;
use crate::errors::{CallError, CallResult, outcome};
use crate::policy::Operation;
use crate::sockets::{SocketHandle, WatchMode};

/// Performs one call and sends its one reply, now or (for a call that waits) later.
pub(crate) async fn call(ctx: &Context, id: CallId, op: Op) {
    let syscall = op.syscall();
    let span = tracing::info_span!(
        "call",
        call = id.0,
        %syscall,
        socket = op.socket().map(|s| s.0)
    );
    async {
        match perform(ctx, id, op).await {
            Some(result) => {
                let outcome = outcome(result, syscall);
                tracing::debug!(?outcome, "reply");
                ctx.outbox.reply(id, outcome).await;
            }
            None => tracing::debug!("waiting in the kernel"),
        }
    }
    .instrument(span)
    .await;
}

/// `None` when a task of the socket took the call over and will reply.
async fn perform(ctx: &Context, id: CallId, op: Op) -> Option<CallResult> {
    let socket = match op {
        Op::Socket { family, kind } => return Some(socket(ctx, family, kind)),
        Op::Close { socket } => return Some(close(ctx, socket).await),
        _ => op.socket()?,
    };
    let entry = {
        let table = ctx.table.lock();
        match table.get(socket) {
            Some(entry) => entry,
            None => return Some(Err(CallError::invalid(table.describe_missing(socket)))),
        }
    };
    let handle = &entry.handle;
    match op {
        Op::Socket { .. } | Op::Close { .. } => None,
        Op::Setsockopt { option, value, .. } => Some(setsockopt(handle, option, value)),
        Op::Getsockopt { option, .. } => {
            Some(get_option(&handle.os, option).map(|value| Done::Getsockopt { option, value }))
        }
        Op::Bind { address, .. } => Some(bind(ctx, handle, &address)),
        Op::Listen { backlog, .. } => Some(listen(ctx, handle, backlog)),
        Op::Accept { .. } => blocking::accept(ctx, &entry, id),
        Op::Connect { address, .. } => blocking::connect(ctx, &entry, id, &address),
        Op::Send { data, .. } => blocking::send(ctx, &entry, id, data, None),
        Op::Sendto { data, address, .. } => blocking::send(ctx, &entry, id, data, Some(address)),
        Op::Recv { max, .. } => blocking::recv(ctx, &entry, id, max),
        Op::Recvfrom { max, .. } => blocking::recvfrom(ctx, &entry, id, max),
        Op::Shutdown { how, .. } => Some(shutdown(handle, how)),
        Op::Getsockname { .. } => Some(handle.local().map(|address| Done::Getsockname { address })),
        Op::Getpeername { .. } => Some(handle.peer().map(|address| Done::Getpeername { address })),
    }
}

fn socket(ctx: &Context, family: Family, kind: SocketType) -> CallResult {
    let domain = match family {
        Family::Ipv4 => Domain::IPV4,
        Family::Ipv6 => Domain::IPV6,
    };
    let ty = match kind {
        SocketType::Stream => Type::STREAM,
        SocketType::Datagram => Type::DGRAM,
    };
    // socket(family, type, 0) with close-on-exec, in the session's network (its own namespace
    // when isolated); then non-blocking, so that waiting calls wait on tokio instead of a thread.
    let os = ctx.place.socket(domain, ty)?;
    os.set_nonblocking(true)?;
    let entry = ctx.register(os, family, kind)?;
    Ok(Done::Socket {
        socket: entry.handle.id,
        fd: entry.handle.fd(),
        family,
        kind,
    })
}

fn setsockopt(handle: &SocketHandle, option: SockOpt, value: i32) -> CallResult {
    check_option_value(option, value).map_err(CallError::invalid)?;
    let os = &handle.os;
    let on = value != 0;
    let size = usize::try_from(value).unwrap_or(0);
    match option {
        SockOpt::SoReuseaddr => os.set_reuse_address(on),
        #[cfg(unix)]
        SockOpt::SoReuseport => set_reuse_port(os, on),
        #[cfg(windows)]
        SockOpt::SoReuseport => return Err(no_reuse_port()),
        SockOpt::Ipv6V6only => os.set_only_v6(on),
        SockOpt::TcpNodelay => os.set_tcp_nodelay(on),
        SockOpt::SoRcvbuf => os.set_recv_buffer_size(size),
        SockOpt::SoSndbuf => os.set_send_buffer_size(size),
    }?;
    let value = get_option(os, option)?;
    Ok(Done::Setsockopt { option, value })
}

/// SO_REUSEPORT, where the platform has it (Linux, the BSDs, macOS).
#[cfg(unix)]
fn set_reuse_port(os: &socket2::Socket, on: bool) -> std::io::Result<()> {
    os.set_reuse_port(on)
}

#[cfg(unix)]
fn reuse_port(os: &socket2::Socket) -> std::io::Result<bool> {
    os.reuse_port()
}

/// Windows has no SO_REUSEPORT, so there is no option for the kernel to be asked about: the
/// call is `invalid` (never an errno the kernel did not give), saying what Windows has.
#[cfg(windows)]
fn no_reuse_port() -> CallError {
    CallError::invalid(
        "Windows has no SO_REUSEPORT. There, SO_REUSEADDR lets a second socket bind a port in \
         use, and SO_EXCLUSIVEADDRUSE keeps others off a port.",
    )
}

/// getsockopt: flags as 0/1, sizes as the kernel reports them (Linux doubles what was set).
fn get_option(os: &socket2::Socket, option: SockOpt) -> Result<i32, CallError> {
    let flag = |on: bool| i32::from(on);
    let size = |bytes: usize| i32::try_from(bytes).unwrap_or(i32::MAX);
    Ok(match option {
        SockOpt::SoReuseaddr => flag(os.reuse_address()?),
        #[cfg(unix)]
        SockOpt::SoReuseport => flag(reuse_port(os)?),
        #[cfg(windows)]
        SockOpt::SoReuseport => return Err(no_reuse_port()),
        SockOpt::Ipv6V6only => flag(os.only_v6()?),
        SockOpt::TcpNodelay => flag(os.tcp_nodelay()?),
        SockOpt::SoRcvbuf => size(os.recv_buffer_size()?),
        SockOpt::SoSndbuf => size(os.send_buffer_size()?),
    })
}

/// bind: the relay's policy first (`checkpoint`), then the kernel.
fn bind(ctx: &Context, handle: &SocketHandle, address: &str) -> CallResult {
    ctx.checkpoint.bind(handle, address)?;
    if handle.kind == SocketType::Datagram {
        handle.watch.set_mode(WatchMode::Datagram);
    }
    Ok(Done::Bind {
        local: handle.local()?,
    })
}

fn listen(ctx: &Context, handle: &SocketHandle, backlog: i32) -> CallResult {
    // listen() on a stream socket never bound would bind it to the wildcard address. (On a
    // datagram socket the kernel's EOPNOTSUPP is the lesson, and it binds nothing.)
    if handle.kind == SocketType::Stream {
        ctx.checkpoint.autobind(handle, Operation::Listen)?;
    }
    let listened = handle.os.listen(backlog);
    // listen() on an unbound socket (allowed by --allow-bind-wildcard) binds it to an
    // ephemeral port: the session holds that too.
    ctx.checkpoint.record(handle);
    listened?;
    handle.watch.set_mode(WatchMode::Listening);
    Ok(Done::Listen {
        local: handle.local()?,
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
async fn close(ctx: &Context, socket: SocketId) -> CallResult {
    let entry = {
        let mut table = ctx.table.lock();
        match table.remove(socket) {
            Some(entry) => entry,
            None => return Err(CallError::invalid(table.describe_missing(socket))),
        }
    };
    entry.close().await;
    ctx.checkpoint.release(socket);
    Ok(Done::Close)
}
