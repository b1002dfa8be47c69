//! The kernel's error codes the relay compares answers against, as this platform numbers them:
//! the C library's errno values on Unix, Winsock's `WSAE…` codes on Windows (a socket call there
//! reports those, never the C library's errno). A non-blocking connect that has begun is
//! EINPROGRESS on Unix and WSAEWOULDBLOCK on Windows: [`CONNECT_BEGUN`].

#[cfg(unix)]
pub(crate) use libc::{EAGAIN, EALREADY, ECONNREFUSED, EINPROGRESS, EISCONN};

/// What a non-blocking connect() answers when the handshake has begun.
#[cfg(unix)]
pub(crate) const CONNECT_BEGUN: i32 = libc::EINPROGRESS;

#[cfg(windows)]
mod winsock {
    use windows_sys::Win32::Networking::WinSock as ws;

    pub(crate) const EAGAIN: i32 = ws::WSAEWOULDBLOCK;
    pub(crate) const EALREADY: i32 = ws::WSAEALREADY;
    pub(crate) const ECONNREFUSED: i32 = ws::WSAECONNREFUSED;
    pub(crate) const EINPROGRESS: i32 = ws::WSAEINPROGRESS;
    pub(crate) const EISCONN: i32 = ws::WSAEISCONN;
    /// Winsock answers a non-blocking connect that has begun with WSAEWOULDBLOCK.
    pub(crate) const CONNECT_BEGUN: i32 = ws::WSAEWOULDBLOCK;
}

#[cfg(windows)]
pub(crate) use winsock::{CONNECT_BEGUN, EAGAIN, EALREADY, ECONNREFUSED, EINPROGRESS, EISCONN};

/// Whether a repeated connect()'s answer says the handshake is still going: EALREADY or
/// EINPROGRESS (Winsock also answers WSAEWOULDBLOCK, its "begun").
pub(crate) fn still_connecting(code: i32) -> bool {
    code == EALREADY || code == EINPROGRESS || code == CONNECT_BEGUN
}
