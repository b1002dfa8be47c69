//! The calls that block in C (accept, connect, send, sendto, recv, recvfrom). Each first goes
//! to the kernel at once, in the session loop, so the kernel sees the learner's order. Only if
//! the kernel says it would block (EAGAIN, or EINPROGRESS for a connect) does it continue in a
//! task of its socket, waiting on tokio readiness and retrying, and reply when the kernel
//! completes it. That is why a pending accept never holds up the session, and a pending recv
//! never holds up a send on the same socket (read and write readiness are waited on apart).
//! connect and sendto pass the policy's `checkpoint` first, and record the port the kernel
//! gave the socket afterwards. A connect the kernel took is told to the context's connect
//! observer (the session wires up its knock door there), so no lesson logic sits on this path.

use std::future::Future;
use std::io::{self, Read as _};
use std::net::SocketAddr;

use futures_util::FutureExt as _;
use socket2::SockAddr;
use socketlab_shared::{CallId, Done, Payload, SocketType, Syscall};
use tokio::io::Interest;
use tracing::Instrument as _;

use super::Context;
use crate::arguments::{check_max, check_payload};
use crate::checkpoint;
use crate::errors::{CallError, CallResult, outcome, would_block};
use crate::os_codes;
use crate::policy::Operation;
use crate::sockets::{Entry, ReadCall, SocketHandle, WatchMode, ip_address};

/// `send` never raises SIGPIPE in the relay: a closed connection is an EPIPE reply instead.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: libc::c_int = 0;

/// Hands a waiting call to a task of its socket. The task replies exactly once: the kernel's
/// answer, or `cancelled` when the socket is closed or the session ends first.
fn wait(
    ctx: &Context,
    entry: &Entry,
    id: CallId,
    syscall: Syscall,
    work: impl Future<Output = CallResult> + Send + 'static,
) {
    let ctx = ctx.clone();
    let token = entry.token.clone();
    let socket = entry.handle.id;
    let task = async move {
        let work = std::panic::AssertUnwindSafe(work).catch_unwind();
        let result = tokio::select! {
            biased;
            _ = token.cancelled() => Err(CallError::Cancelled(if ctx.session.is_cancelled() {
                format!("the session ended while {syscall}() was waiting")
            } else {
                format!("socket {socket} was closed while {syscall}() was waiting")
            })),
            result = work => result.unwrap_or_else(|_| {
                tracing::error!("a waiting call panicked");
                Err(CallError::Cancelled(format!(
                    "the relay failed while {syscall}() was waiting (a bug: see the relay's log)"
                )))
            }),
        };
        let outcome = outcome(result, syscall);
        tracing::debug!(?outcome, "reply after waiting");
        ctx.outbox.reply(id, outcome).await;
    };
    entry
        .tracker
        .spawn(task.instrument(tracing::Span::current()));
}

/// Retries `attempt` each time the kernel says the socket is ready in `interest`, until it does
/// not say EAGAIN. This is the wait a blocking C call does inside the kernel.
async fn wait_io<R>(
    handle: &SocketHandle,
    interest: Interest,
    mut attempt: impl FnMut(&socket2::Socket) -> io::Result<R>,
) -> io::Result<R> {
    loop {
        let reactor = handle.reactor()?;
        let mut guard = reactor.ready(interest).await?;
        // Read before try_io: a failed attempt clears the guard's readiness.
        let ready = guard.ready();
        match guard.try_io(|fd| attempt(&fd.get_ref().0)) {
            Ok(result) => return result,
            Err(_would_block) => {
                // A direction the kernel reports closed stays "ready" forever; if the call
                // still says EAGAIN there (a datagram socket after shutdown(SHUT_RD)), waiting
                // cannot end, so the kernel's EAGAIN is the answer.
                if (interest.is_readable() && ready.is_read_closed())
                    || (interest.is_writable() && ready.is_write_closed())
                {
                    return Err(io::Error::from_raw_os_error(crate::os_codes::EAGAIN));
                }
            }
        }
        // tokio's readiness futures do not count against the task budget; this does, so even
        // a run of spurious wakeups lets the other tasks of the runtime go first.
        tokio::task::consume_budget().await;
    }
}

pub(crate) fn accept(ctx: &Context, entry: &Entry, id: CallId) -> Option<CallResult> {
    let reading = ReadCall::begin(&entry.handle);
    match entry.handle.os.accept() {
        Err(err) if would_block(&err) => {}
        result => return Some(accepted(ctx, &entry.handle, result)),
    }
    let (ctx_, handle) = (ctx.clone(), entry.handle.clone());
    wait(ctx, entry, id, Syscall::Accept, async move {
        let _reading = reading;
        let result = wait_io(&handle, Interest::READABLE, |os| os.accept()).await;
        accepted(&ctx_, &handle, result)
    });
    None
}

/// The new connected socket joins the table with its own id; the listener keeps listening.
fn accepted(
    ctx: &Context,
    listener: &SocketHandle,
    result: io::Result<(socket2::Socket, SockAddr)>,
) -> CallResult {
    let (os, from) = result?;
    // Everything that can fail happens before the socket joins the table, so a failure never
    // leaves a socket behind that the browser was not told about.
    os.set_nonblocking(true)?;
    let local = ip_address(os.local_addr()?)?;
    let peer = ip_address(from)?;
    let entry = ctx.register(os, listener.family, SocketType::Stream)?;
    ctx.checkpoint.record(&entry.handle);
    entry.handle.watch.set_mode(WatchMode::Stream);
    Ok(Done::Accept {
        socket: entry.handle.id,
        fd: entry.handle.fd(),
        local,
        peer,
    })
}

pub(crate) fn connect(
    ctx: &Context,
    entry: &Entry,
    id: CallId,
    address: &str,
) -> Option<CallResult> {
    let handle = &entry.handle;
    let checked = checkpoint::resolve(handle, address, Operation::Connect).and_then(|to| {
        ctx.checkpoint
            .towards(handle, Operation::Connect, to, |to| {
                if handle.kind == SocketType::Stream {
                    handle.forget_readiness();
                }
                (to.clone(), handle.os.connect(to))
            })
    });
    let (address, result) = match checked {
        Ok(done) => done,
        Err(err) => return Some(Err(err)),
    };
    // Whoever the session wired up to hear of connects (the knock door of lesson 19).
    if let Some(to) = address.as_socket() {
        ctx.connect_made(handle.kind, to, &result);
    }
    match result {
        Ok(()) => return Some(connected(handle)),
        Err(err) if err.raw_os_error() == Some(crate::os_codes::CONNECT_BEGUN) => {}
        Err(err) => return Some(Err(err.into())),
    }
    let (ctx_, handle) = (ctx.clone(), handle.clone());
    wait(ctx, entry, id, Syscall::Connect, async move {
        let result = finish_connect(&handle, &address).await;
        ctx_.checkpoint.record(&handle);
        result
    });
    None
}

/// The second half of a non-blocking connect: wait until the socket is writable, then ask the
/// kernel with connect() on the same address, which is what a blocking connect does in the
/// kernel after its wait. It answers 0 (connected), EALREADY (still going), or the handshake's
/// error, and in that last case it also resets the socket so the learner may connect again,
/// exactly as after a failed blocking connect. (Reading SO_ERROR instead would leave the socket
/// "connecting" and make the learner's next connect fail with ECONNABORTED.)
async fn finish_connect(handle: &SocketHandle, address: &SockAddr) -> CallResult {
    loop {
        let reactor = handle.reactor()?;
        let write_closed = {
            let mut guard = reactor.writable().await?;
            match handle.os.connect(address) {
                Ok(()) => return connected(handle),
                Err(err) if err.raw_os_error() == Some(os_codes::EISCONN) => {
                    return connected(handle);
                }
                Err(err) if err.raw_os_error().is_some_and(os_codes::still_connecting) => {
                    // Still connecting: this readiness was left over. A "closed" readiness
                    // cannot be cleared, so start again from a fresh registration.
                    let closed = guard.ready().is_write_closed();
                    if !closed {
                        guard.clear_ready();
                    }
                    closed
                }
                Err(err) => return Err(err.into()),
            }
        };
        if write_closed {
            drop(reactor);
            handle.forget_readiness();
            tokio::task::yield_now().await;
        }
    }
}

fn connected(handle: &SocketHandle) -> CallResult {
    handle.watch.set_mode(match handle.kind {
        SocketType::Stream => WatchMode::Stream,
        SocketType::Datagram => WatchMode::Datagram,
    });
    Ok(Done::Connect {
        local: handle.local()?,
        peer: handle.peer()?,
    })
}

pub(crate) fn send(
    ctx: &Context,
    entry: &Entry,
    id: CallId,
    data: Payload,
    to: Option<String>,
) -> Option<CallResult> {
    if let Err(reason) = check_payload(data.len()) {
        return Some(Err(CallError::invalid(reason)));
    }
    let handle = &entry.handle;
    let target = match to {
        Some(text) => checkpoint::resolve(handle, &text, Operation::Sendto)
            .map(|to| (Operation::Sendto, Some(to))),
        // send() on a connected datagram socket reaches its peer: checked like a sendto.
        None => Ok((Operation::Send, checkpoint::datagram_peer(handle))),
    };
    let (op, to) = match target {
        Ok(target) => target,
        Err(err) => return Some(Err(err)),
    };
    let is_sendto = op == Operation::Sendto;
    let syscall = if is_sendto {
        Syscall::Sendto
    } else {
        Syscall::Send
    };
    // Each attempt (the first, and each retry after EAGAIN) is checked and made under the
    // ownership lock, so it never reaches a port that changed hands since the last check.
    let (ctx_, handle_) = (ctx.clone(), handle.clone());
    let attempt = move |os: &socket2::Socket| -> io::Result<Result<usize, CallError>> {
        let send = |address: &SockAddr| {
            if is_sendto {
                os.send_to_with_flags(data.as_bytes(), address, SEND_FLAGS)
            } else {
                os.send_with_flags(data.as_bytes(), SEND_FLAGS)
            }
        };
        match to {
            None => os.send_with_flags(data.as_bytes(), SEND_FLAGS).map(Ok),
            Some(to) => match ctx_.checkpoint.towards(&handle_, op, to, send) {
                Ok(sent) => sent.map(Ok),
                Err(refused) => Ok(Err(refused)),
            },
        }
    };
    match attempt(&handle.os) {
        Err(err) if would_block(&err) => {}
        result => return Some(sent(handle, result, is_sendto)),
    }
    let handle = handle.clone();
    wait(ctx, entry, id, syscall, async move {
        let result = wait_io(&handle, Interest::WRITABLE, attempt).await;
        sent(&handle, result, is_sendto)
    });
    None
}

fn sent(
    handle: &SocketHandle,
    result: io::Result<Result<usize, CallError>>,
    is_sendto: bool,
) -> CallResult {
    let sent = u32::try_from(result??).unwrap_or(u32::MAX);
    if !is_sendto {
        return Ok(Done::Send { sent });
    }
    if handle.kind == SocketType::Datagram {
        handle.watch.set_mode(WatchMode::Datagram);
    }
    Ok(Done::Sendto {
        sent,
        local: handle.local()?,
    })
}

/// recv() or recvfrom() on a connected datagram socket receives from its peer only: the peer
/// is checked like a sendto to it, so a port that changed hands is not read from either.
fn check_peer(ctx: &Context, handle: &SocketHandle, op: Operation) -> Result<(), CallError> {
    match checkpoint::datagram_peer(handle) {
        Some(peer) => ctx.checkpoint.towards(handle, op, peer, |_| ()),
        None => Ok(()),
    }
}

pub(crate) fn recv(ctx: &Context, entry: &Entry, id: CallId, max: u32) -> Option<CallResult> {
    let max = match check_max(max) {
        Ok(max) => max,
        Err(reason) => return Some(Err(CallError::invalid(reason))),
    };
    if let Err(err) = check_peer(ctx, &entry.handle, Operation::Recv) {
        return Some(Err(err));
    }
    let reading = ReadCall::begin(&entry.handle);
    let mut buf = vec![0; max];
    match (&*entry.handle.os).read(&mut buf) {
        Err(err) if would_block(&err) => {}
        result => return Some(received(buf, result)),
    }
    let handle = entry.handle.clone();
    wait(ctx, entry, id, Syscall::Recv, async move {
        let _reading = reading;
        let result = wait_io(&handle, Interest::READABLE, |mut os| os.read(&mut buf)).await;
        received(buf, result)
    });
    None
}

fn received(mut buf: Vec<u8>, result: io::Result<usize>) -> CallResult {
    buf.truncate(result?);
    Ok(Done::Recv { data: buf.into() })
}

pub(crate) fn recvfrom(ctx: &Context, entry: &Entry, id: CallId, max: u32) -> Option<CallResult> {
    let max = match check_max(max) {
        Ok(max) => max,
        Err(reason) => return Some(Err(CallError::invalid(reason))),
    };
    if let Err(err) = check_peer(ctx, &entry.handle, Operation::Recvfrom) {
        return Some(Err(err));
    }
    let reading = ReadCall::begin(&entry.handle);
    let mut buf = vec![0; max];
    match recv_from_once(&entry.handle.os, &mut buf) {
        Err(err) if would_block(&err) => {}
        result => return Some(datagram(buf, result)),
    }
    let handle = entry.handle.clone();
    wait(ctx, entry, id, Syscall::Recvfrom, async move {
        let _reading = reading;
        let result = wait_io(&handle, Interest::READABLE, |os| {
            recv_from_once(os, &mut buf)
        })
        .await;
        datagram(buf, result)
    });
    None
}

/// One `recvfrom`, made as `recvmsg` (the same kernel receive path) because only recvmsg hands
/// back MSG_TRUNC, which says the datagram was longer than the buffer and its rest is lost.
#[cfg(unix)]
fn recv_from_once(
    os: &socket2::Socket,
    buf: &mut [u8],
) -> io::Result<(usize, Option<SocketAddr>, bool)> {
    use nix::sys::socket::{MsgFlags, SockaddrLike as _, SockaddrStorage};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd as _;

    fn storage_address(storage: &SockaddrStorage) -> Option<SocketAddr> {
        if storage.len() == 0 {
            return None;
        }
        if let Some(v4) = storage.as_sockaddr_in() {
            return Some(SocketAddr::from(*v4));
        }
        storage.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
    }

    let mut iov = [IoSliceMut::new(buf)];
    let message = nix::sys::socket::recvmsg::<SockaddrStorage>(
        os.as_raw_fd(),
        &mut iov,
        None,
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let from = message.address.as_ref().and_then(storage_address);
    Ok((
        message.bytes,
        from,
        message.flags.contains(MsgFlags::MSG_TRUNC),
    ))
}

/// Windows: `WSARecvFrom` through socket2, whose flags say a datagram was cut (Winsock's
/// WSAEMSGSIZE, which socket2 turns into the truncated flag with the bytes that fit).
#[cfg(windows)]
fn recv_from_once(
    os: &socket2::Socket,
    buf: &mut [u8],
) -> io::Result<(usize, Option<SocketAddr>, bool)> {
    // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and the receive only ever
    // writes initialised bytes into it, so `buf` stays initialised.
    #[allow(unsafe_code)]
    let uninit = unsafe { &mut *(std::ptr::from_mut(buf) as *mut [std::mem::MaybeUninit<u8>]) };
    let mut bufs = [socket2::MaybeUninitSlice::new(uninit)];
    let (len, flags, from) = os.recv_from_vectored(&mut bufs)?;
    Ok((len, from.as_socket(), flags.is_truncated()))
}

fn datagram(mut buf: Vec<u8>, result: io::Result<(usize, Option<SocketAddr>, bool)>) -> CallResult {
    let (len, from, truncated) = result?;
    buf.truncate(len);
    Ok(Done::Recvfrom {
        data: buf.into(),
        // A stream socket's recvfrom has no sender address; the peer is getpeername's job.
        from: from.map(|a| a.to_string()).unwrap_or_default(),
        truncated,
    })
}
