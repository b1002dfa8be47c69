//! How a call can fail ([`CallError`]; a call's [`CallResult`]), and how each failure becomes
//! the `outcome` of its one reply: the kernel's errno (its name from nix, number, the OS's own
//! strerror text, plain words from `shared::errno::explain`), an invalid argument, a cancelled
//! wait, or a [`Refusal`] by the relay's policy or a limit.
//!
//! Kernel answers that surprise learners, each pinned by a test in `tests/it/relay_errors.rs`
//! or `relay_udp.rs`, and passed on as they are:
//!
//! - `send` on a never-connected TCP socket: Linux answers EPIPE (BSD/macOS say ENOTCONN);
//!   `recv` and `getpeername` there answer ENOTCONN.
//! - `listen` on a datagram socket: EOPNOTSUPP. `shutdown` of an unconnected UDP socket:
//!   ENOTCONN.
//! - `sendto` from an unbound UDP socket binds it to `0.0.0.0:PORT` (the reply's `local`; the
//!   relay lets it through only with `--allow-bind-wildcard`, else `autobind_wildcard`); the
//!   receiver's `from` shows `127.0.0.1:PORT`.
//! - Known deviation: `recvfrom` on a UDP socket after `shutdown(SHUT_RD)` with an empty queue
//!   answers EAGAIN (the non-blocking kernel answer); a blocking C call would return 0 bytes.

use std::io;

use socketlab_shared::errno::explain;
use socketlab_shared::{Done, Outcome, SysError, Syscall};

use crate::refusal::Refusal;

/// What one call comes to: done, or why not.
pub(crate) type CallResult = Result<Done, CallError>;

/// The outcome of a call's one reply.
pub(crate) fn outcome(result: CallResult, syscall: Syscall) -> Outcome {
    match result {
        Ok(done) => Outcome::Ok(done),
        Err(err) => err.into_outcome(syscall),
    }
}

/// Why a call did not return a `Done`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// The call never reached the kernel: its arguments could not be understood.
    #[error("{0}")]
    Invalid(String),
    /// The kernel refused it. This is lesson content, not a relay failure.
    #[error(transparent)]
    Kernel(#[from] io::Error),
    /// The call was waiting and its socket or session went away first.
    #[error("{0}")]
    Cancelled(String),
    /// The relay's policy (or a limit) refused it; the kernel was never asked.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl CallError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        CallError::Invalid(reason.into())
    }

    /// The outcome the browser sees for a failed `call`.
    pub(crate) fn into_outcome(self, call: Syscall) -> Outcome {
        match self {
            CallError::Invalid(reason) => Outcome::Invalid { reason },
            CallError::Cancelled(reason) => Outcome::Cancelled { reason },
            CallError::Refused(refusal) => refusal.into(),
            CallError::Kernel(err) => match sys_error(&err, call) {
                Some(sys) => Outcome::Error(sys),
                // Every error the relay passes on comes from a syscall and has an errno. If one
                // ever does not, saying so beats inventing an errno the kernel never returned.
                None => Outcome::Invalid {
                    reason: format!(
                        "the relay could not read the kernel's answer to {call}(): {err}"
                    ),
                },
            },
        }
    }
}

/// The kernel's refusal as the protocol carries it, or `None` if `err` carries no errno.
pub(crate) fn sys_error(err: &io::Error, call: Syscall) -> Option<SysError> {
    let code = err.raw_os_error()?;
    let errno = errno_name(code);
    Some(SysError {
        explanation: explain(&errno, call),
        errno,
        code,
        message: strerror(code),
    })
}

/// The symbolic name of an errno number on this OS, e.g. `EADDRINUSE` for 98 on Linux.
#[cfg(unix)]
pub(crate) fn errno_name(code: i32) -> String {
    let errno = nix::errno::Errno::from_raw(code);
    if errno == nix::errno::Errno::UnknownErrno {
        format!("errno {code}")
    } else {
        format!("{errno:?}")
    }
}

/// Windows: Winsock's name for its code, `WSAEADDRINUSE` for 10048.
#[cfg(windows)]
pub(crate) fn errno_name(code: i32) -> String {
    socketlab_shared::errno::windows_name(code).unwrap_or_else(|| format!("error {code}"))
}

/// The OS's own text for an errno (`strerror`), without std's " (os error N)" suffix.
pub(crate) fn strerror(code: i32) -> String {
    let text = io::Error::from_raw_os_error(code).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Whether `err` is the kernel saying "this would have to wait" (EAGAIN / EWOULDBLOCK).
pub(crate) fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn errno_numbers_get_their_symbolic_names() {
        assert_eq!(errno_name(libc::EADDRINUSE), "EADDRINUSE");
        assert_eq!(errno_name(libc::ECONNREFUSED), "ECONNREFUSED");
        assert_eq!(errno_name(libc::ENOTCONN), "ENOTCONN");
        assert_eq!(errno_name(-12345), "errno -12345");
    }

    #[test]
    fn the_os_text_loses_the_os_error_suffix() {
        let text = strerror(libc::EADDRINUSE);
        assert!(!text.contains("os error"), "{text}");
        assert!(!text.is_empty());
        #[cfg(target_os = "linux")]
        assert_eq!(text, "Address already in use");
    }

    #[test]
    fn a_kernel_error_becomes_an_error_outcome_with_plain_words() {
        let err = CallError::from(io::Error::from_raw_os_error(libc::ECONNREFUSED));
        let Outcome::Error(sys) = err.into_outcome(Syscall::Connect) else {
            panic!("expected an error outcome");
        };
        assert_eq!(sys.errno, "ECONNREFUSED");
        assert_eq!(sys.code, libc::ECONNREFUSED);
        assert!(sys.explanation.contains("Nothing is listening"));
    }

    #[test]
    fn an_error_without_errno_is_not_dressed_up_as_one() {
        let err = CallError::from(io::Error::other("odd"));
        assert!(matches!(
            err.into_outcome(Syscall::Bind),
            Outcome::Invalid { .. }
        ));
    }
}
