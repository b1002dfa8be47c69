//! The relay binary as a child process, for what only its own process can show honestly: its
//! memory (VmRSS, VmHWM in /proc/PID/status), its descriptors (/proc/PID/fd) and SIGTERM. Also
//! the kernel's socket tables (/proc/net/tcp, tcp6, udp, udp6) and the open-files limit.
//!
//! The child relay starts plain, with lowered open-files limits (util-linux's `prlimit`) or with
//! its `trace` log to a file; its URL and key are read from its stdout. Also `Footprint` (exact
//! matching of a lesson's sockets; TIME_WAIT left out of the tables) and raising the test process's
//! own open-files limit.

use std::collections::HashSet;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request;

use crate::relay_binary::relay_binary;
use crate::support::{STEP, within};

/// A `socketlab-relay` child on 127.0.0.1:0, killed when dropped.
pub(crate) struct ChildRelay {
    child: Option<Child>,
    pub(crate) addr: SocketAddr,
    token: String,
}

impl ChildRelay {
    /// Builds (if needed) and starts the binary with `args` after `--listen 127.0.0.1:0`, and
    /// reads the URL it prints: `http://127.0.0.1:PORT/#token=KEY`.
    pub(crate) async fn start(args: &[&str]) -> ChildRelay {
        ChildRelay::launch(args, None, None, false).await
    }

    /// As [`start`](Self::start), as the ordinary user `nobody` (65534), by util-linux's
    /// `setpriv` (this process must be root): the binary is copied where that user can run it.
    pub(crate) async fn start_as_nobody(args: &[&str]) -> ChildRelay {
        ChildRelay::launch(args, None, None, true).await
    }

    /// As [`start`](Self::start), with the relay's log at `RUST_LOG=trace` written to `log`.
    pub(crate) async fn start_logged(args: &[&str], log: &std::path::Path) -> ChildRelay {
        ChildRelay::launch(args, None, Some(log), false).await
    }

    /// As [`start`](Self::start), with the relay's soft open-files limit lowered to `soft`
    /// when it starts (by util-linux's `prlimit`; the hard limit stays this process's), so a
    /// test can see whether the relay raises it itself rather than inheriting a raised one.
    pub(crate) async fn start_with_open_files(args: &[&str], soft: u64) -> ChildRelay {
        use nix::sys::resource::{Resource, getrlimit};
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
        assert!(soft < hard, "a soft limit below the hard one ({hard})");
        ChildRelay::launch(args, Some((soft, hard)), None, false).await
    }

    /// As [`start`](Self::start), with both open-files limits at `limit`, which the relay
    /// cannot raise: for what it does when it runs out of descriptors.
    pub(crate) async fn start_with_open_files_at_most(args: &[&str], limit: u64) -> ChildRelay {
        ChildRelay::launch(args, Some((limit, limit)), None, false).await
    }

    async fn launch(
        args: &[&str],
        open_files: Option<(u64, u64)>,
        log: Option<&std::path::Path>,
        as_nobody: bool,
    ) -> ChildRelay {
        let binary = tokio::time::timeout(STEP * 30, tokio::task::spawn_blocking(relay_binary))
            .await
            .expect("building the relay took too long")
            .expect("build task");
        let mut command = match open_files {
            None if as_nobody => {
                use std::os::unix::fs::PermissionsExt as _;
                // Where the user can reach it: the checkout may sit under a folder it cannot.
                let dir = std::env::temp_dir()
                    .join(format!("socketlab-relay-for-nobody-{}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("a folder for the copy");
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod 755");
                let copy = dir.join("socketlab-relay");
                std::fs::copy(&binary, &copy).expect("copy the relay binary");
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod 755");
                let mut command = Command::new("setpriv");
                command
                    .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                    .arg(copy)
                    .current_dir(&dir);
                command
            }
            None => Command::new(&binary),
            Some((soft, hard)) => {
                let mut command = Command::new("prlimit");
                command
                    .arg(format!("--nofile={soft}:{hard}"))
                    .arg("--")
                    .arg(&binary);
                command
            }
        };
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--dist"])
            .arg(std::env::temp_dir().join("socketlab-no-such-dist"))
            .args(args)
            .env("RUST_LOG", if log.is_some() { "trace" } else { "warn" })
            .stdout(Stdio::piped())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("a log file")),
                None => Stdio::null(),
            })
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start socketlab-relay{}: {err}",
                    if open_files.is_some() {
                        " under prlimit (install util-linux)"
                    } else if as_nobody {
                        " under setpriv (install util-linux; run the tests as root)"
                    } else {
                        ""
                    }
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let url = within(
            "the relay to print its URL",
            tokio::task::spawn_blocking(move || {
                std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .find(|line| line.starts_with("http://"))
            }),
        )
        .await
        .expect("reader thread")
        .expect("the relay printed no http:// line");
        let (base, token) = url
            .split_once("/#token=")
            .unwrap_or_else(|| panic!("no #token= in {url:?}"));
        let addr: SocketAddr = base
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{url:?} is not http://ADDR/#token=KEY"));
        assert!(addr.ip().is_loopback());
        let relay = ChildRelay {
            child: Some(child),
            addr,
            token: token.to_owned(),
        };
        relay.served().await;
        relay
    }

    /// Waits until `run` answers a request: the URL is printed before `run` starts, and `run`
    /// starts the lesson services (two sockets) before it serves, so a descriptor count taken
    /// after this includes them.
    async fn served(&self) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = within(
            "connecting to the relay",
            tokio::net::TcpStream::connect(self.addr),
        )
        .await
        .expect("connect to the relay");
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        within("sending a request", stream.write_all(request.as_bytes()))
            .await
            .expect("send a request");
        let mut response = Vec::new();
        within(
            "the relay's first answer",
            stream.read_to_end(&mut response),
        )
        .await
        .expect("read the answer");
        assert!(response.starts_with(b"HTTP/1.1 "), "{response:?}");
    }

    /// The key the relay printed.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The handshake a non-browser client makes: the key as a subprotocol, no Origin.
    pub(crate) fn request(&self) -> Request {
        let mut request = format!("ws://{}/ws", self.addr)
            .into_client_request()
            .expect("a ws:// URL");
        let protocols = format!("socketlab.v1, socketlab.token.{}", self.token);
        request.headers_mut().insert(
            "sec-websocket-protocol",
            protocols.parse().expect("a header value"),
        );
        request
    }

    /// A line of /proc/PID/status in KiB, e.g. `VmRSS` (now) or `VmHWM` (the peak so far).
    pub(crate) fn memory_kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status of the relay");
        status
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/PID/status"))
    }

    /// How many descriptors the relay holds (entries of /proc/PID/fd).
    pub(crate) fn descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("/proc/PID/fd of the relay")
            .count()
    }

    /// The relay's open-files limit, (soft, hard), from /proc/PID/limits.
    pub(crate) fn open_files_limit(&self) -> (String, String) {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid()))
            .expect("/proc/PID/limits of the relay");
        let line = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .expect("a Max open files line");
        let mut fields = line["Max open files".len()..].split_whitespace();
        match (fields.next(), fields.next()) {
            (Some(soft), Some(hard)) => (soft.to_owned(), hard.to_owned()),
            _ => panic!("cannot read {line:?}"),
        }
    }

    pub(crate) fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).expect("a pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
    }

    /// Waits for the child to exit, at most `limit`. One that does not is killed before the
    /// test fails, so the waiting thread ends and the test process does not hang on it.
    pub(crate) async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
        let waiting = tokio::task::spawn_blocking(move || child.wait());
        match tokio::time::timeout(limit, waiting).await {
            Ok(status) => status.expect("wait thread").expect("wait for the relay"),
            Err(_) => {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                panic!("the relay did not exit within {limit:?} (killed)")
            }
        }
    }
}

impl Drop for ChildRelay {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// TCP_TIME_WAIT in /proc/net/tcp's `st` column. A TIME_WAIT entry is the kernel remembering
/// a connection that is over (it has no descriptor and belongs to no process), so it is not a
/// socket of the relay.
const TIME_WAIT: u8 = 0x06;
/// TCP_LISTEN.
pub(crate) const LISTEN: u8 = 0x0A;

/// One line of /proc/net/{tcp,tcp6,udp,udp6}: local port, remote port, state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KernelSocket {
    pub(crate) udp: bool,
    pub(crate) local: u16,
    pub(crate) remote: u16,
    pub(crate) state: u8,
}

/// Every socket in the kernel's tables for this network namespace, TIME_WAIT left out.
pub(crate) fn kernel_sockets() -> Vec<KernelSocket> {
    let mut sockets = Vec::new();
    for (table, udp) in [
        ("tcp", false),
        ("tcp6", false),
        ("udp", true),
        ("udp6", true),
    ] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = |field: &str| {
                field
                    .rsplit_once(':')
                    .and_then(|(_, port)| u16::from_str_radix(port, 16).ok())
            };
            let (Some(local), Some(remote), Some(state)) = (
                fields.get(1).and_then(|f| port(f)),
                fields.get(2).and_then(|f| port(f)),
                fields.get(3).and_then(|s| u8::from_str_radix(s, 16).ok()),
            ) else {
                continue;
            };
            if !udp && state == TIME_WAIT {
                continue;
            }
            sockets.push(KernelSocket {
                udp,
                local,
                remote,
                state,
            });
        }
    }
    sockets
}

/// The sockets a lesson made, described so that no other process's socket can match: a TCP
/// listener (LISTEN on its port), TCP connections (both ends' ports), UDP ports.
#[derive(Debug, Default)]
pub(crate) struct Footprint {
    pub(crate) listeners: HashSet<u16>,
    pub(crate) connections: HashSet<(u16, u16)>,
    pub(crate) datagrams: HashSet<u16>,
}

impl Footprint {
    /// The entries of the kernel's tables (TIME_WAIT aside) that are still these sockets.
    pub(crate) fn still_open(&self) -> Vec<KernelSocket> {
        kernel_sockets()
            .into_iter()
            .filter(|s| {
                if s.udp {
                    self.datagrams.contains(&s.local)
                } else if s.state == LISTEN {
                    self.listeners.contains(&s.local)
                } else {
                    self.connections.contains(&(s.local, s.remote))
                        || self.connections.contains(&(s.remote, s.local))
                }
            })
            .collect()
    }
}

/// The port of an `ip:port` the relay reported.
pub(crate) fn port_of(address: &str) -> u16 {
    address
        .parse::<SocketAddr>()
        .unwrap_or_else(|_| panic!("{address:?} is not an address"))
        .port()
}

/// Raises this test process's soft open-files limit to the hard one, for tests that hold
/// a thousand connections (the relay binary does the same at start).
pub(crate) fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit to the hard limit");
    }
}
