//! Facts about the relay's machine that lessons read live, and the lesson services the relay runs
//! for the session on loopback: `Machine` (os, root, pid, user, `unprivileged_port_start`, the
//! ephemeral range as a `PortRange` and where it came from, a `FactSource`; `None` where unknown), `LessonService` (a service's name,
//! transport and address), `ScanTargets` (the scan lesson's run of ports), `KnockDoor` (a session's
//! knock sequence and door) and `ServiceName` (one `/etc/services` entry: name, port, transport,
//! aliases).

use serde::{Deserialize, Serialize};

use crate::kernel::Transport;

/// What the relay's machine says about ports, read when the session opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The relay's operating system (`linux`, `macos`, ...).
    pub os: String,
    /// Whether the relay runs as root (then its policy refuses ports below 1024).
    pub root: bool,
    /// Linux's `net.ipv4.ip_unprivileged_port_start`: the lowest port an unprivileged program
    /// may bind. `None` where the system has no such setting.
    pub unprivileged_port_start: Option<u16>,
    /// The ephemeral (local) port range the kernel picks client ports from, inclusive:
    /// Linux's `net.ipv4.ip_local_port_range`, macOS's `net.inet.ip.portrange.first`/`.last`,
    /// Windows' dynamic port range. `None` where it could not be read and there is no
    /// documented default.
    pub ephemeral_ports: Option<PortRange>,
    /// Where `ephemeral_ports` came from: the setting read now, or the platform's documented
    /// default where the relay could not read the setting (protocol 7).
    #[serde(default)]
    pub ephemeral_source: Option<FactSource>,
    /// The relay's process id, as `ss -p`, `netstat -p` and `lsof` show the owner of the
    /// learner's sockets (the relay holds them).
    #[serde(default)]
    pub pid: u32,
    /// The user the relay runs as (`lsof`'s USER column). `None` where it could not be read.
    #[serde(default)]
    pub user: Option<String>,
    /// With `--isolate-sessions`: the relay's thread inside this session's own network
    /// namespace, so a terminal on the relay's machine can look in with `nsenter -t THREAD -n`
    /// (as root). `None` when the session shares the machine's network.
    #[serde(default)]
    pub namespace_thread: Option<u32>,
}

/// Where a fact about the machine came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FactSource {
    /// Read from the machine when the session opened: the setting, as its tool names it
    /// (`net.ipv4.ip_local_port_range`, `netsh int ipv4 show dynamicport tcp`).
    Setting { name: String },
    /// Not read: the platform's documented default, and where it is documented.
    DocumentedDefault { reference: String },
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

/// One line of the machine's services list (`/etc/services`): a name for a port and protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceName {
    pub name: String,
    pub port: u16,
    pub transport: Transport,
    /// Other names on the same line.
    pub aliases: Vec<String>,
}

/// The port-scanning lesson's targets: a small run of consecutive loopback ports that the relay
/// holds, some listening (open), some not (closed: the kernel answers a SYN with RST), and
/// one listener whose accept queue the relay keeps full, so the kernel drops new SYNs
/// (filtered: no response). Which port is which is not said: finding out is the lesson.
/// Shared by all sessions; nothing a session does changes what another one sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanTargets {
    /// The loopback address they are on, `127.0.0.1`.
    pub host: String,
    /// The ports, inclusive; every one of them may be connected to by every session.
    pub ports: PortRange,
    /// One sentence on what is there.
    pub about: String,
}

/// The port-knocking lesson's door, this session's own: a TCP port that is closed (bound by
/// the relay, not listening) until the session's connect() calls, made through the relay,
/// reach the knock ports in order; then the relay listens on the door for `open_secs`
/// seconds, greets whoever of this session connects, and closes it again. Another session
/// can neither see this door open nor reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnockDoor {
    /// The closed ports to knock on, in order, as addresses (`127.0.0.1:41001`). A knock is a
    /// connect() to one of them (the kernel refuses it: nothing listens there). A knock out of
    /// order starts the sequence again.
    pub knocks: Vec<String>,
    /// The door's address, e.g. `127.0.0.1:41004`.
    pub door: String,
    /// How long the door stays open after the last right knock.
    pub open_secs: u32,
    /// One sentence on what it does.
    pub about: String,
}

/// A service the relay runs on loopback for the lessons, on a port the kernel chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonService {
    /// Stable name lessons use: `echo_tcp`, `echo_udp`, `forward_tcp` (a port forward: every
    /// connection to it is relayed to `echo_tcp` over a second connection the relay makes).
    pub name: String,
    pub transport: Transport,
    /// Where it listens, e.g. `127.0.0.1:40123`.
    pub address: String,
    /// One sentence on what it does.
    pub about: String,
}
