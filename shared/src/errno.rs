//! Plain words for the errnos a learner meets: one sentence (per errno, and per syscall where it
//! matters) saying what the kernel's refusal means for the call that got it. The errno name, number
//! and the OS's text travel beside it.

use crate::protocol::Syscall;

/// One sentence for a learner about `errno` (its symbolic name) returned by `call`.
pub fn explain(errno: &str, call: Syscall) -> String {
    let text = match (errno, call) {
        ("EADDRINUSE", Syscall::Listen) => {
            "Another socket is already listening on this address and port, so this one cannot."
        }
        ("EADDRINUSE", _) => {
            "Another socket already holds this address and port for the same protocol; only one may bind it (unless both set SO_REUSEPORT, or SO_REUSEADDR covers a TIME_WAIT leftover)."
        }
        ("EADDRNOTAVAIL", Syscall::Connect) => {
            "The kernel could not find a free local port or address for this connection (the ephemeral range may be exhausted)."
        }
        ("EADDRNOTAVAIL", _) => {
            "That IP address does not belong to any interface of this machine, so nothing can bind to it here."
        }
        ("EACCES", Syscall::Bind) => {
            "Ports below the unprivileged limit (1024 by default on Linux) need root or CAP_NET_BIND_SERVICE."
        }
        ("EACCES", _) => "The kernel says this program is not allowed to do that.",
        ("ECONNREFUSED", _) => {
            "Nothing is listening on that address and port: the other kernel answered the handshake with a reset (RST)."
        }
        ("ECONNRESET", _) => {
            "The peer reset the connection (sent RST), for example by closing with unread data; the connection is gone."
        }
        ("ETIMEDOUT", _) => "No answer came back before the kernel gave up waiting.",
        ("EHOSTUNREACH", _) | ("ENETUNREACH", _) => {
            "The kernel has no route to that address from this machine."
        }
        ("ENOTCONN", _) => {
            "This stream socket has no connection, so there is nobody to send to or receive from: connect() it first (or accept() a connection)."
        }
        ("EISCONN", _) => "This socket is already connected; connect() can only succeed once.",
        ("EALREADY", _) => "A connect() on this socket is already in progress.",
        ("EOPNOTSUPP", Syscall::Listen) | ("EOPNOTSUPP", Syscall::Accept) => {
            "Only stream (TCP) sockets listen and accept; datagram (UDP) sockets have no connections to queue."
        }
        ("EOPNOTSUPP", _) => "This kind of socket does not support that operation.",
        ("EINVAL", Syscall::Bind) => {
            "This socket already has an address (bind() works once), or the address does not fit the socket's family."
        }
        ("EINVAL", Syscall::Accept) => {
            "accept() needs a listening socket: call listen() on it first."
        }
        ("EINVAL", Syscall::Listen) => {
            "This socket cannot listen in its current state (for example it is already connected)."
        }
        ("EINVAL", _) => "The kernel rejected an argument of this call as invalid for this socket.",
        ("EDESTADDRREQ", _) => {
            "This socket has no peer: give a destination address with sendto(), or connect() it first."
        }
        ("EPIPE", _) => {
            "This stream socket has no open connection to send on: it was never connected, this side shut down writing, or the connection was reset. (Linux says EPIPE for a never-connected socket; BSD and macOS say ENOTCONN.)"
        }
        ("EAFNOSUPPORT", _) => {
            "The address is of the other family: an IPv4 socket takes IPv4 addresses, an IPv6 socket IPv6 ones (or IPv4-mapped ::ffff:a.b.c.d)."
        }
        ("EMSGSIZE", _) => "The datagram is larger than the kernel will send in one piece.",
        ("ENOPROTOOPT", _) => "That option does not exist at this level for this kind of socket.",
        ("EMFILE", _) | ("ENFILE", _) => {
            "The process has no descriptors left: too many sockets or files are open."
        }
        ("EAGAIN", _) | ("EWOULDBLOCK", _) => {
            "Nothing is ready yet, and the call would have to wait."
        }
        ("EBADF", _) => "That descriptor is not open.",
        _ => return format!("The kernel refused {call}() with {errno}; see `man 2 {call}`."),
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_errnos_have_their_own_words() {
        assert!(explain("EADDRINUSE", Syscall::Bind).contains("already holds"));
        assert!(explain("ECONNREFUSED", Syscall::Connect).contains("Nothing is listening"));
        assert!(explain("EOPNOTSUPP", Syscall::Listen).contains("Only stream"));
    }

    #[test]
    fn an_unknown_errno_still_gets_a_sentence_pointing_at_the_man_page() {
        assert_eq!(
            explain("ENOSR", Syscall::Send),
            "The kernel refused send() with ENOSR; see `man 2 send`."
        );
    }
}
