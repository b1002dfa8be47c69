//! Classroom isolation (`--isolate-sessions`, issue 14): each session in a network namespace of
//! its own, with only `lo` ([`netns::Namespace`], Linux). Inside it a session may bind any
//! loopback port, another student's 8080 too; its kernel view and the policy's look at "other
//! programs" read that namespace's own tables ([`Network`]), so it sees exactly its own
//! sockets, TIME_WAIT included, with no attribution by port; nothing outside it (another
//! session, a program of the machine) can be reached, because no route leads there. The policy
//! stays in front of the kernel as the second layer (docs/security.md).
//!
//! Required with `--expose-to-network` (a classroom relay); optional on a laptop, where the
//! learner's own `ss` in a terminal must see the lab's sockets. As root the relay makes the
//! namespaces itself; as an ordinary user it first moves into a user namespace of its own
//! ([`prepare`], `userns`), where the kernel allows that. Where namespaces cannot be made the
//! relay refuses the flag at start with the kernel's reason ([`check`]), never falling back to
//! the shared network silently.

#[cfg(target_os = "linux")]
pub(crate) mod netns;
#[cfg(target_os = "linux")]
pub(crate) mod userns;

/// Prepares an ordinary user's relay for `--isolate-sessions`: moves the process into a user
/// namespace of its own, where it may make network namespaces (`userns`). Call it before any
/// other thread starts (the kernel allows it only then); as root it does nothing. The error
/// names what refused it.
pub fn prepare(isolation: Isolation) -> Result<(), IsolationError> {
    if !isolation.sessions || crate::policy::running_as_root() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    return userns::enter().map_err(IsolationError::Unavailable);
    #[cfg(not(target_os = "linux"))]
    return Err(IsolationError::Unavailable(format!(
        "network namespaces are Linux's, and this relay runs on {}",
        std::env::consts::OS
    )));
}

/// The isolation flags of `socketlab-relay`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IsolationArgs {
    /// Give each session a network namespace of its own, with only loopback: students can
    /// each bind the same port and never see or reach each other's sockets or the machine's
    /// programs. Linux: as root, or as an ordinary user where the kernel allows unprivileged
    /// user namespaces. Required with --expose-to-network.
    #[arg(long, default_value_t = false)]
    pub isolate_sessions: bool,
}

/// Whether sessions are isolated. Off by default: on a laptop the learner's own tools see
/// the lab's sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Isolation {
    pub sessions: bool,
}

impl From<IsolationArgs> for Isolation {
    fn from(args: IsolationArgs) -> Self {
        Isolation {
            sessions: args.isolate_sessions,
        }
    }
}

/// Why the relay will not start with these isolation settings.
#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    #[error(
        "refusing --expose-to-network without --isolate-sessions: students on one shared \
         network would see and reach each other's sockets. Add --isolate-sessions (Linux, as \
         root)"
    )]
    Needed,
    #[error("refusing --isolate-sessions: {0}")]
    Unavailable(String),
}

/// Checks the isolation settings before the relay listens: `--expose-to-network` needs
/// `--isolate-sessions`, and that needs namespaces this relay can make (one is made and let go).
pub fn check(isolation: Isolation, expose_to_network: bool) -> Result<(), IsolationError> {
    if expose_to_network && !isolation.sessions {
        return Err(IsolationError::Needed);
    }
    if isolation.sessions {
        available().map_err(IsolationError::Unavailable)?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn available() -> Result<(), String> {
    netns::available()
}

#[cfg(not(target_os = "linux"))]
fn available() -> Result<(), String> {
    Err(format!(
        "network namespaces are Linux's, and this relay runs on {}",
        std::env::consts::OS
    ))
}

/// Where a session's sockets are made: the machine's network (the default), or the session's
/// own namespace. Cheap to clone; the namespace lives while any clone does.
#[derive(Debug, Clone, Default)]
pub(crate) struct Place {
    #[cfg(target_os = "linux")]
    namespace: Option<std::sync::Arc<netns::Namespace>>,
}

impl Place {
    /// A new namespace of the session's own.
    #[cfg(target_os = "linux")]
    pub(crate) fn isolated() -> std::io::Result<Place> {
        Ok(Place {
            namespace: Some(std::sync::Arc::new(netns::Namespace::new()?)),
        })
    }

    /// Namespaces are Linux's; `check` refuses the flag at start elsewhere.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn isolated() -> std::io::Result<Place> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "network namespaces are Linux's",
        ))
    }

    /// `socket(domain, type, 0)` here (close-on-exec).
    pub(crate) fn socket(
        &self,
        domain: socket2::Domain,
        ty: socket2::Type,
    ) -> std::io::Result<socket2::Socket> {
        #[cfg(target_os = "linux")]
        if let Some(namespace) = &self.namespace {
            return namespace.socket(domain, ty);
        }
        socket2::Socket::new(domain, ty, None)
    }

    /// Runs `job` here: in the namespace's thread, or at once on the machine's network.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<T> {
        #[cfg(target_os = "linux")]
        if let Some(namespace) = &self.namespace {
            return namespace.run(job);
        }
        Ok(job())
    }

    /// A TCP listener here on `at` (SO_REUSEADDR, as tokio's own bind; backlog 1024), driven
    /// by tokio.
    pub(crate) fn listen_tcp(
        &self,
        at: std::net::SocketAddr,
    ) -> std::io::Result<tokio::net::TcpListener> {
        let socket = self.socket(socket2::Domain::for_address(at), socket2::Type::STREAM)?;
        socket.set_nonblocking(true)?;
        socket.set_reuse_address(true)?;
        socket.bind(&at.into())?;
        socket.listen(1024)?;
        tokio::net::TcpListener::from_std(socket.into())
    }

    /// A UDP socket here bound to `at`, driven by tokio.
    pub(crate) fn bind_udp(
        &self,
        at: std::net::SocketAddr,
    ) -> std::io::Result<tokio::net::UdpSocket> {
        let socket = self.socket(socket2::Domain::for_address(at), socket2::Type::DGRAM)?;
        socket.set_nonblocking(true)?;
        socket.bind(&at.into())?;
        tokio::net::UdpSocket::from_std(socket.into())
    }

    /// A TCP connection from here to `to`.
    pub(crate) async fn connect(
        &self,
        to: std::net::SocketAddr,
    ) -> std::io::Result<tokio::net::TcpStream> {
        let socket = self.socket(socket2::Domain::for_address(to), socket2::Type::STREAM)?;
        socket.set_nonblocking(true)?;
        tokio::net::TcpSocket::from_std_stream(socket.into())
            .connect(to)
            .await
    }

    /// Whose socket tables to read.
    pub(crate) fn network(&self) -> Network {
        #[cfg(target_os = "linux")]
        if let Some(namespace) = &self.namespace {
            return Network::Namespace {
                tid: namespace.tid(),
            };
        }
        Network::Host
    }

    /// Whether this is a session's own namespace.
    pub(crate) fn is_isolated(&self) -> bool {
        self.network() != Network::Host
    }

    /// The thread inside the namespace (`nsenter -t THREAD -n` looks in), if it is one.
    pub(crate) fn namespace_thread(&self) -> Option<u32> {
        match self.network() {
            Network::Namespace { tid } => u32::try_from(tid).ok(),
            Network::Host => None,
        }
    }

    /// The namespace's inode (as `/proc/PID/ns/net` names it), for the logs and the tests.
    pub(crate) fn namespace_inode(&self) -> Option<u64> {
        #[cfg(target_os = "linux")]
        if let Some(namespace) = &self.namespace {
            return Some(namespace.inode());
        }
        None
    }
}

/// Which network a session's sockets live in, for reading its socket tables: the machine's
/// (`/proc/net/...`, shared by every program) or a session's namespace (`/proc/<tid>/net/...`,
/// the tables as the namespace's thread sees them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Network {
    #[default]
    Host,
    /// The namespace whose thread is `tid` (Linux's network namespaces only).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Namespace { tid: i32 },
}

#[cfg(target_os = "linux")]
impl Network {
    /// The TCP rows (IPv4 and IPv6) of this network's tables.
    pub(crate) fn tcp(self) -> [procfs::ProcResult<Vec<procfs::net::TcpNetEntry>>; 2] {
        match self {
            Network::Host => [procfs::net::tcp(), procfs::net::tcp6()],
            Network::Namespace { tid } => match procfs::process::Process::new(tid) {
                Ok(thread) => [thread.tcp(), thread.tcp6()],
                Err(err) => [Err(err), Ok(Vec::new())],
            },
        }
    }

    /// The UDP rows (IPv4 and IPv6) of this network's tables.
    pub(crate) fn udp(self) -> [procfs::ProcResult<Vec<procfs::net::UdpNetEntry>>; 2] {
        match self {
            Network::Host => [procfs::net::udp(), procfs::net::udp6()],
            Network::Namespace { tid } => match procfs::process::Process::new(tid) {
                Ok(thread) => [thread.udp(), thread.udp6()],
                Err(err) => [Err(err), Ok(Vec::new())],
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposing_the_relay_needs_isolated_sessions() {
        let err = check(Isolation { sessions: false }, true).expect_err("refused");
        assert!(err.to_string().contains("--isolate-sessions"), "{err}");
        // A laptop's relay needs neither.
        check(Isolation { sessions: false }, false).expect("the default");
    }
}
