//! Readiness on Windows, where tokio has no `AsyncFd`: the socket's second handle (Winsock's
//! `WSADuplicateSocketW`, through socket2's `try_clone`) is given to a tokio `TcpStream` or
//! `UdpSocket`, whose `ready` and `try_io` follow the same socket through mio's AFD polling.
//! Closing that handle (when the registration goes) leaves the session's own handle open, as
//! on Unix the registration's `Arc` keeps the descriptor open. The guard mirrors the part of
//! `AsyncFdReadyGuard` the calls that wait use: `ready`, `try_io` and `clear_ready`.

use std::io;

use socketlab_shared::SocketType;
use tokio::io::{Interest, Ready};

use super::SharedFd;

/// tokio's object for the second handle.
#[derive(Debug)]
enum Io {
    Stream(tokio::net::TcpStream),
    Datagram(tokio::net::UdpSocket),
}

/// A socket registered for readiness.
#[derive(Debug)]
pub(crate) struct Registration {
    io: Io,
    socket: SharedFd,
}

/// The wait returned nothing usable: the kernel said "would block" after all.
#[derive(Debug)]
pub(crate) struct WouldBlock;

impl Registration {
    pub(crate) fn register(socket: SharedFd, kind: SocketType) -> io::Result<Registration> {
        let second = socket.0.try_clone()?;
        second.set_nonblocking(true)?;
        let io = match kind {
            SocketType::Stream => Io::Stream(tokio::net::TcpStream::from_std(
                std::net::TcpStream::from(second),
            )?),
            SocketType::Datagram => Io::Datagram(tokio::net::UdpSocket::from_std(
                std::net::UdpSocket::from(second),
            )?),
        };
        Ok(Registration { io, socket })
    }

    /// The socket, as the calls that wait use it.
    pub(crate) fn get_ref(&self) -> &SharedFd {
        &self.socket
    }

    /// Waits until the socket is ready in `interest`.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Guard<'_>> {
        let ready = match &self.io {
            Io::Stream(io) => io.ready(interest).await?,
            Io::Datagram(io) => io.ready(interest).await?,
        };
        Ok(Guard {
            registration: self,
            interest,
            ready,
        })
    }

    /// Waits until the socket is readable.
    pub(crate) async fn readable(&self) -> io::Result<Guard<'_>> {
        self.ready(Interest::READABLE).await
    }

    /// Waits until the socket is writable.
    pub(crate) async fn writable(&self) -> io::Result<Guard<'_>> {
        self.ready(Interest::WRITABLE).await
    }

    fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        match &self.io {
            Io::Stream(io) => io.try_io(interest, f),
            Io::Datagram(io) => io.try_io(interest, f),
        }
    }
}

/// Readiness the socket had when the wait ended.
#[derive(Debug)]
pub(crate) struct Guard<'a> {
    registration: &'a Registration,
    interest: Interest,
    ready: Ready,
}

impl Guard<'_> {
    pub(crate) fn ready(&self) -> Ready {
        self.ready
    }

    /// Makes the call; a "would block" clears the readiness (tokio's `try_io` does) and is
    /// `Err(WouldBlock)`, as `AsyncFdReadyGuard::try_io` has it.
    pub(crate) fn try_io<R>(
        &mut self,
        f: impl FnOnce(&Registration) -> io::Result<R>,
    ) -> Result<io::Result<R>, WouldBlock> {
        let registration = self.registration;
        match registration.try_io(self.interest, || f(registration)) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Err(WouldBlock),
            result => Ok(result),
        }
    }

    /// Forgets this readiness, so the next wait waits for a new one.
    pub(crate) fn clear_ready(&mut self) {
        let _ = self.registration.try_io(self.interest, || {
            Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
        });
    }
}
