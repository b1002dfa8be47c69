//! Plain words for the errnos a learner meets: one sentence (per errno, and per syscall where it
//! matters) saying what the kernel's refusal means for the call that got it. The errno name, number
//! and the OS's text travel beside it.
//!
//! The names and numbers are each platform's own: EADDRINUSE is 98 on Linux and 48 on macOS, and
//! Windows' sockets say WSAEADDRINUSE, 10048 ([`PLATFORMS`], from the libc and windows-sys
//! crates' definitions; [`elsewhere`] says it in a sentence, [`windows_name`] names a Windows
//! code). [`explain`] takes either spelling.

use crate::protocol::Syscall;

/// An errno's numbers on the three platforms the relay builds for: (name, Linux, macOS,
/// Windows' `WSAE…` code when Windows' sockets have one). Linux's are the generic
/// architectures' (x86, ARM, RISC-V), macOS's `<sys/errno.h>`, Windows' `<winsock2.h>`.
pub const PLATFORMS: &[(&str, i32, i32, Option<i32>)] = &[
    ("EPERM", 1, 1, None),
    ("EINTR", 4, 4, Some(10004)),
    ("EBADF", 9, 9, Some(10009)),
    ("EAGAIN", 11, 35, Some(10035)),
    ("ENOMEM", 12, 12, None),
    ("EACCES", 13, 13, Some(10013)),
    ("EFAULT", 14, 14, Some(10014)),
    ("EINVAL", 22, 22, Some(10022)),
    ("EMFILE", 24, 24, Some(10024)),
    ("EPIPE", 32, 32, None),
    ("EINPROGRESS", 115, 36, Some(10036)),
    ("EALREADY", 114, 37, Some(10037)),
    ("ENOTSOCK", 88, 38, Some(10038)),
    ("EDESTADDRREQ", 89, 39, Some(10039)),
    ("EMSGSIZE", 90, 40, Some(10040)),
    ("EPROTOTYPE", 91, 41, Some(10041)),
    ("ENOPROTOOPT", 92, 42, Some(10042)),
    ("EPROTONOSUPPORT", 93, 43, Some(10043)),
    ("EOPNOTSUPP", 95, 102, Some(10045)),
    ("EAFNOSUPPORT", 97, 47, Some(10047)),
    ("EADDRINUSE", 98, 48, Some(10048)),
    ("EADDRNOTAVAIL", 99, 49, Some(10049)),
    ("ENETDOWN", 100, 50, Some(10050)),
    ("ENETUNREACH", 101, 51, Some(10051)),
    ("ENETRESET", 102, 52, Some(10052)),
    ("ECONNABORTED", 103, 53, Some(10053)),
    ("ECONNRESET", 104, 54, Some(10054)),
    ("ENOBUFS", 105, 55, Some(10055)),
    ("EISCONN", 106, 56, Some(10056)),
    ("ENOTCONN", 107, 57, Some(10057)),
    ("ESHUTDOWN", 108, 58, Some(10058)),
    ("ETIMEDOUT", 110, 60, Some(10060)),
    ("ECONNREFUSED", 111, 61, Some(10061)),
    ("EHOSTDOWN", 112, 64, Some(10064)),
    ("EHOSTUNREACH", 113, 65, Some(10065)),
];

/// The name in [`PLATFORMS`] of `errno` as any platform spells it: `WSAEADDRINUSE` and
/// `EWOULDBLOCK` (Linux's and macOS's other name for EAGAIN; Windows' only one) included.
fn row(errno: &str) -> Option<&'static (&'static str, i32, i32, Option<i32>)> {
    let name = errno.strip_prefix("WSA").unwrap_or(errno);
    let name = if name == "EWOULDBLOCK" {
        "EAGAIN"
    } else {
        name
    };
    PLATFORMS.iter().find(|row| row.0 == name)
}

/// Windows' name for a Winsock error code (`WSAEADDRINUSE` for 10048), where [`PLATFORMS`]
/// has it. EAGAIN's code is `WSAEWOULDBLOCK`, Windows' only name for it.
pub fn windows_name(code: i32) -> Option<String> {
    let row = PLATFORMS.iter().find(|row| row.3 == Some(code))?;
    Some(match row.0 {
        "EAGAIN" => "WSAEWOULDBLOCK".to_owned(),
        name => format!("WSA{name}"),
    })
}

/// What the platforms other than `os` (`std::env::consts::OS`: `linux`, `macos`, `windows`)
/// call `errno`, in a sentence: for EADDRINUSE on Linux, "macOS: 48; Windows: WSAEADDRINUSE,
/// 10048." `None` for an errno [`PLATFORMS`] does not have.
pub fn elsewhere(errno: &str, os: &str) -> Option<String> {
    let &(name, linux, macos, windows) = row(errno)?;
    let mut parts = Vec::new();
    if os != "linux" {
        parts.push(format!("Linux: {name}, {linux}"));
    }
    if os != "macos" {
        parts.push(if os == "linux" {
            format!("macOS: {macos}")
        } else {
            format!("macOS: {name}, {macos}")
        });
    }
    if os != "windows" {
        parts.push(match (windows, windows_name(windows.unwrap_or(0))) {
            (Some(code), Some(windows_name)) => format!("Windows: {windows_name}, {code}"),
            _ => "Windows' sockets have no such error".to_owned(),
        });
    }
    Some(format!("{}.", parts.join("; ")))
}

/// One sentence for a learner about `errno` (its symbolic name, as any platform spells it:
/// `WSAEADDRINUSE` reads as EADDRINUSE) returned by `call`.
pub fn explain(errno: &str, call: Syscall) -> String {
    let errno = errno.strip_prefix("WSA").unwrap_or(errno);
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
    fn each_platform_has_its_own_numbers_and_windows_its_own_names() {
        assert_eq!(
            elsewhere("EADDRINUSE", "linux").as_deref(),
            Some("macOS: 48; Windows: WSAEADDRINUSE, 10048.")
        );
        assert_eq!(
            elsewhere("EADDRINUSE", "macos").as_deref(),
            Some("Linux: EADDRINUSE, 98; Windows: WSAEADDRINUSE, 10048.")
        );
        assert_eq!(
            elsewhere("WSAECONNREFUSED", "windows").as_deref(),
            Some("Linux: ECONNREFUSED, 111; macOS: ECONNREFUSED, 61.")
        );
        assert_eq!(
            elsewhere("EPIPE", "linux").as_deref(),
            Some("macOS: 32; Windows' sockets have no such error.")
        );
        assert_eq!(elsewhere("ENOSR", "linux"), None);
        assert_eq!(windows_name(10048).as_deref(), Some("WSAEADDRINUSE"));
        assert_eq!(windows_name(10035).as_deref(), Some("WSAEWOULDBLOCK"));
        assert_eq!(windows_name(98), None);
        assert_eq!(
            explain("WSAEADDRINUSE", Syscall::Bind),
            explain("EADDRINUSE", Syscall::Bind)
        );
    }

    #[test]
    fn the_table_has_each_name_once_and_distinct_numbers_per_platform() {
        for (i, row) in PLATFORMS.iter().enumerate() {
            for other in &PLATFORMS[i + 1..] {
                assert_ne!(row.0, other.0);
                assert_ne!(row.1, other.1, "{} and {} on Linux", row.0, other.0);
                assert_ne!(row.2, other.2, "{} and {} on macOS", row.0, other.0);
                if row.3.is_some() {
                    assert_ne!(row.3, other.3, "{} and {} on Windows", row.0, other.0);
                }
            }
        }
    }

    /// The Linux column against this machine's own definitions (the libc crate's, for the
    /// target the test runs on). macOS's and Windows' columns were read from the libc crate's
    /// `unix/bsd/apple` and windows-sys's `WSAE…` definitions; no test can run on those
    /// platforms here.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_linux_column_is_this_kernels() {
        let named: &[(&str, i32)] = &[
            ("EPERM", libc::EPERM),
            ("EINTR", libc::EINTR),
            ("EBADF", libc::EBADF),
            ("EAGAIN", libc::EAGAIN),
            ("ENOMEM", libc::ENOMEM),
            ("EACCES", libc::EACCES),
            ("EFAULT", libc::EFAULT),
            ("EINVAL", libc::EINVAL),
            ("EMFILE", libc::EMFILE),
            ("EPIPE", libc::EPIPE),
            ("EINPROGRESS", libc::EINPROGRESS),
            ("EALREADY", libc::EALREADY),
            ("ENOTSOCK", libc::ENOTSOCK),
            ("EDESTADDRREQ", libc::EDESTADDRREQ),
            ("EMSGSIZE", libc::EMSGSIZE),
            ("EPROTOTYPE", libc::EPROTOTYPE),
            ("ENOPROTOOPT", libc::ENOPROTOOPT),
            ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
            ("EOPNOTSUPP", libc::EOPNOTSUPP),
            ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
            ("EADDRINUSE", libc::EADDRINUSE),
            ("EADDRNOTAVAIL", libc::EADDRNOTAVAIL),
            ("ENETDOWN", libc::ENETDOWN),
            ("ENETUNREACH", libc::ENETUNREACH),
            ("ENETRESET", libc::ENETRESET),
            ("ECONNABORTED", libc::ECONNABORTED),
            ("ECONNRESET", libc::ECONNRESET),
            ("ENOBUFS", libc::ENOBUFS),
            ("EISCONN", libc::EISCONN),
            ("ENOTCONN", libc::ENOTCONN),
            ("ESHUTDOWN", libc::ESHUTDOWN),
            ("ETIMEDOUT", libc::ETIMEDOUT),
            ("ECONNREFUSED", libc::ECONNREFUSED),
            ("EHOSTDOWN", libc::EHOSTDOWN),
            ("EHOSTUNREACH", libc::EHOSTUNREACH),
        ];
        assert_eq!(named.len(), PLATFORMS.len());
        for (name, number) in named {
            assert_eq!(row(name).map(|r| r.1), Some(*number), "{name}");
        }
    }

    #[test]
    fn an_unknown_errno_still_gets_a_sentence_pointing_at_the_man_page() {
        assert_eq!(
            explain("ENOSR", Syscall::Send),
            "The kernel refused send() with ENOSR; see `man 2 send`."
        );
    }
}
