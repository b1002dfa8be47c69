//! Two looks at a socket's kernel state that no safe wrapper offers: its read level with
//! POLLRDHUP (nix drops flags it does not know) and its receive queue length (FIONREAD). Both
//! only look; neither reads, peeks, or clears anything. The only unsafe code of the relay's
//! socket handling beyond the epoll registration lives here, with one call to the allocator
//! (`give_memory_back`, glibc's malloc_trim) after sessions end.
#![allow(unsafe_code)]

use std::io;
#[cfg(unix)]
use std::os::fd::AsRawFd as _;

/// The socket's read side right now, as level-triggered poll(2) sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level {
    /// A read would not wait: data, a connection to accept, end of stream, or an error.
    pub(crate) readable: bool,
    /// The read side is finished: the peer sent FIN (POLLRDHUP) or the socket hung up.
    pub(crate) hung_up: bool,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const POLLRDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const POLLRDHUP: libc::c_short = 0;

#[cfg(unix)]
pub(crate) fn level(os: &socket2::Socket) -> io::Result<Level> {
    let mut pollfd = libc::pollfd {
        fd: os.as_raw_fd(),
        events: libc::POLLIN | POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, passed with its count of 1; timeout 0 so poll does not block.
    // The descriptor is open because `os` borrows it.
    let rc = unsafe { libc::poll(&mut pollfd, 1, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let hung_up = pollfd.revents & (POLLRDHUP | libc::POLLHUP) != 0;
    Ok(Level {
        readable: hung_up || pollfd.revents & libc::POLLIN != 0,
        hung_up,
    })
}

/// Windows: WSAPoll, level-triggered like poll(2); it has no POLLRDHUP, and reports a peer's
/// FIN as POLLHUP.
#[cfg(windows)]
pub(crate) fn level(os: &socket2::Socket) -> io::Result<Level> {
    use std::os::windows::io::AsRawSocket as _;
    use windows_sys::Win32::Networking::WinSock as ws;
    let mut pollfd = ws::WSAPOLLFD {
        fd: usize::try_from(os.as_raw_socket()).map_err(io::Error::other)?,
        events: ws::POLLRDNORM,
        revents: 0,
    };
    // SAFETY: one valid WSAPOLLFD, passed with its count of 1; timeout 0 so it does not block.
    // The socket is open because `os` borrows it.
    let rc = unsafe { ws::WSAPoll(&mut pollfd, 1, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let hung_up = pollfd.revents & ws::POLLHUP != 0;
    Ok(Level {
        readable: hung_up || pollfd.revents & ws::POLLRDNORM != 0,
        hung_up,
    })
}

/// Bytes in the receive queue (FIONREAD, also called SIOCINQ): for a stream all queued bytes,
/// for a datagram socket the size of the next datagram.
#[cfg(unix)]
pub(crate) fn queued(os: &socket2::Socket) -> u32 {
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `queued`, alive and
    // writable for the whole call; the descriptor is open because `os` borrows it.
    let rc = unsafe { libc::ioctl(os.as_raw_fd(), libc::FIONREAD, &mut queued) };
    if rc < 0 {
        return 0;
    }
    u32::try_from(queued).unwrap_or(0)
}

/// Windows: ioctlsocket(FIONREAD), the same count.
#[cfg(windows)]
pub(crate) fn queued(os: &socket2::Socket) -> u32 {
    use std::os::windows::io::AsRawSocket as _;
    use windows_sys::Win32::Networking::WinSock as ws;
    let Ok(socket) = usize::try_from(os.as_raw_socket()) else {
        return 0;
    };
    let mut queued: u32 = 0;
    // SAFETY: FIONREAD writes one u32 through the pointer, which points at `queued`, alive and
    // writable for the whole call; the socket is open because `os` borrows it.
    let rc = unsafe { ws::ioctlsocket(socket, ws::FIONREAD, &mut queued) };
    if rc != 0 {
        return 0;
    }
    queued
}

/// The socket's inode (fstat), which is how the kernel's socket tables name it.
#[cfg(unix)]
pub(crate) fn inode(os: &socket2::Socket) -> Option<u64> {
    nix::sys::stat::fstat(os).ok().map(|stat| stat.st_ino)
}

/// Windows' sockets have no inode.
#[cfg(windows)]
pub(crate) fn inode(_: &socket2::Socket) -> Option<u64> {
    None
}

/// Gives the heap's free memory back to the operating system (glibc's `malloc_trim(0)`: every
/// arena's free pages at the top and in the middle are released), so the relay's resident size
/// falls again after a peak of sessions. Where the allocator is not glibc's, nothing to do.
/// Returns whether any memory was released.
pub(crate) fn give_memory_back() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes a plain size_t and touches only the allocator's own state,
        // under its own locks; it is safe to call from any thread at any time.
        unsafe { libc::malloc_trim(0) != 0 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn memory_freed_after_a_peak_goes_back_to_the_system() {
        // Many small blocks, as sessions leave them (each below the mmap threshold, so they
        // live in the heap and stay there after free() unless trimmed).
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 2048]).collect();
        drop(blocks);
        assert!(super::give_memory_back(), "malloc_trim released nothing");
    }

    use super::*;
    use std::io::Write as _;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn looking_at_a_socket_does_not_consume_its_data() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let server = socket2::Socket::from(server);
        assert_eq!(
            level(&server).unwrap(),
            Level {
                readable: false,
                hung_up: false
            }
        );
        client.write_all(b"hello").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        // Wait (bounded) until the FIN is in: a blocking poll on the same level.
        let mut pollfd = libc::pollfd {
            fd: server.as_raw_fd(),
            events: POLLRDHUP,
            revents: 0,
        };
        // SAFETY: as in `level`, with a 5 s timeout.
        assert_eq!(unsafe { libc::poll(&mut pollfd, 1, 5000) }, 1);
        let seen = level(&server).unwrap();
        assert!(seen.readable && seen.hung_up, "{seen:?}");
        assert_eq!(queued(&server), 5);
        assert_eq!(queued(&server), 5, "looking twice still finds the bytes");
    }
}
