//! The packet socket: AF_PACKET, SOCK_RAW, bound to the loopback interface and nothing else.
//! Raw syscalls (libc), because no safe wrapper binds a packet socket to one interface, sets
//! PACKET_IGNORE_OUTGOING, or reports a frame's packet type; all of the capture's `unsafe`
//! lives here.
//!
//! Loopback only, from the first moment: the socket is made with protocol 0, which receives
//! nothing, and only `bind` (to `lo`'s index, protocol ETH_P_ALL) starts the flow, so no frame
//! of another interface is ever queued on it. Each frame is checked again on arrival (the
//! interface it came in on), belt and braces.
//!
//! Each packet once: on `lo` a packet passes the capture point twice with ETH_P_ALL, once
//! going out and once coming in. PACKET_IGNORE_OUTGOING (Linux 4.20) drops the outgoing copy
//! in the kernel; on an older kernel that lacks it, the outgoing copies are dropped here by
//! their packet type.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use tokio::io::unix::AsyncFd;

/// One frame read from the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    /// Bytes of the frame in the buffer.
    pub(crate) len: usize,
    /// The frame was longer than the buffer (then it is not read).
    pub(crate) truncated: bool,
    /// Whether this is the copy of a packet going out (each loopback packet also comes in).
    pub(crate) outgoing: bool,
    /// The interface it was seen on.
    pub(crate) ifindex: u32,
}

/// The loopback interface's index.
pub(crate) fn loopback() -> io::Result<u32> {
    nix::net::if_::if_nametoindex("lo").map_err(io::Error::from)
}

/// Opens a packet socket on interface `ifindex` (non-blocking), with `filter` attached before
/// any frame can arrive. EPERM means the relay lacks CAP_NET_RAW.
pub(crate) fn open(ifindex: u32, filter: &[libc::sock_filter]) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: a plain syscall with constant arguments; it returns a new descriptor or -1.
    // Protocol 0: the socket receives nothing until `bind` names the interface.
    let raw = unsafe { libc::socket(libc::AF_PACKET, flags, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor socket() just returned, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };

    let on: libc::c_int = 1;
    // SAFETY: PACKET_IGNORE_OUTGOING reads one c_int from the pointer, which points at `on`
    // with its size; the descriptor is open (owned by `fd`).
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            (&raw const on).cast(),
            socklen::<libc::c_int>(),
        )
    };
    if rc < 0 {
        // An older kernel: `recv` reports outgoing copies, which the caller drops.
        tracing::debug!(err = %io::Error::last_os_error(), "no PACKET_IGNORE_OUTGOING");
    }

    let program = libc::sock_fprog {
        len: u16::try_from(filter.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "filter too long"))?,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: SO_ATTACH_FILTER reads one sock_fprog, which points at `filter.len()`
    // instructions; the kernel copies them during the call, so borrowing `filter` suffices.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const program).cast(),
            socklen::<libc::sock_fprog>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }

    // SAFETY: sockaddr_ll is plain data; all zeros is a valid value for every field.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as libc::sa_family_t;
    address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    address.sll_ifindex = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index too big"))?;
    // SAFETY: the pointer and length describe `address`, a sockaddr_ll alive for the call.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const address).cast(),
            socklen::<libc::sockaddr_ll>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // Room for what gathers between reads (`GATHER`): a cut frame takes about 1 KiB of
    // buffer, so 1 MiB holds a thousand (the kernel caps it at net.core.rmem_max).
    if let Err(err) = socket2::SockRef::from(&fd).set_recv_buffer_size(RECEIVE_BUFFER) {
        tracing::debug!(%err, "the packet socket keeps its default receive buffer");
    }
    Ok(fd)
}

/// The receive buffer asked for.
const RECEIVE_BUFFER: usize = 1 << 20;

/// Reads one frame into `buf` without waiting (EAGAIN when there is none).
pub(crate) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: plain data; zeros are valid.
    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut from_len = socklen::<libc::sockaddr_ll>();
    // SAFETY: `buf` is writable for `buf.len()` bytes; `from`/`from_len` describe a
    // sockaddr_ll the kernel may fill; the descriptor is open (borrowed from `fd`).
    // MSG_TRUNC makes the result the frame's real length, even when `buf` is shorter.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            (&raw mut from).cast(),
            &raw mut from_len,
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    Ok(Received {
        len: n.min(buf.len()),
        truncated: n > buf.len(),
        outgoing: from.sll_pkttype == libc::PACKET_OUTGOING,
        ifindex: u32::try_from(from.sll_ifindex).unwrap_or(0),
    })
}

/// Registers the socket with tokio's reactor, for reading.
pub(crate) fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `AsyncFd` owns the `OwnedFd`, so the descriptor stays open and names the same
    // socket for the registration's whole life, and `as_raw_fd` always returns that one.
    let registered = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) };
    registered.map_err(io::Error::from)
}

fn socklen<T>() -> libc::socklen_t {
    // The structures passed here are a few dozen bytes: always within socklen_t.
    libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains what is queued on the socket: the incoming frames, and whether any frame came
    /// from another interface.
    fn drain(fd: &OwnedFd) -> (Vec<Vec<u8>>, bool) {
        let mut buf = vec![0_u8; 65536 + 256];
        let (mut frames, mut other_interface) = (Vec::new(), false);
        while let Ok(received) = recv(fd, &mut buf) {
            other_interface |= received.ifindex != loopback().unwrap();
            if !received.outgoing {
                frames.push(buf[..received.len].to_vec());
            }
        }
        (frames, other_interface)
    }

    #[test]
    fn the_packet_socket_sees_a_loopback_datagram_once_and_never_the_relay_port() {
        use std::io::Write as _;
        // A stand-in for the relay's own port: its TCP traffic must never reach the socket.
        let relay = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let relay_port = relay.local_addr().unwrap().port();
        let filter = super::super::filter::program(relay_port);
        let fd = loopback()
            .and_then(|lo| open(lo, &filter))
            .unwrap_or_else(|err| {
                panic!(
                    "opening a packet socket failed ({err}): run the tests as root (CI does), \
                     or `sudo setcap cap_net_raw+ep` the test binary"
                )
            });

        let hidden = b"socketlab capture unit test: relay port";
        let mut page = std::net::TcpStream::connect(relay.local_addr().unwrap()).unwrap();
        let (mut served, _) = relay.accept().unwrap();
        page.write_all(hidden).unwrap();
        let mut got = [0_u8; 64];
        std::io::Read::read_exact(&mut served, &mut got[..hidden.len()]).unwrap();

        let shown = b"socketlab capture unit test: datagram";
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(shown, receiver.local_addr().unwrap())
            .unwrap();
        assert_eq!(receiver.recv(&mut got).unwrap(), shown.len());

        // The packet socket gets its copies before the receiving socket does (the outgoing
        // one at transmit, the incoming one before IP delivers it), so all are queued by now.
        let (frames, other_interface) = drain(&fd);
        let copies = |marker: &[u8]| {
            frames
                .iter()
                .filter(|f| f.windows(marker.len()).any(|w| w == marker))
                .count()
        };
        assert_eq!(
            copies(shown),
            1,
            "each loopback packet once (the incoming copy)"
        );
        assert_eq!(
            copies(hidden),
            0,
            "the relay's port is filtered out in the kernel"
        );
        assert!(!other_interface, "only frames of lo");

        // A long datagram reaches the relay cut to its headers and first bytes.
        let long = [b'L'; 4000];
        sender
            .send_to(&long, receiver.local_addr().unwrap())
            .unwrap();
        let mut whole = [0_u8; 4096];
        assert_eq!(receiver.recv(&mut whole).unwrap(), long.len());
        let (frames, _) = drain(&fd);
        let lengths: Vec<usize> = frames.iter().map(Vec::len).collect();
        assert_eq!(
            lengths,
            vec![super::super::frame::SNAP_BYTES],
            "one copy, cut"
        );
    }
}
