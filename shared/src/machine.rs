//! Facts about the relay's machine that lessons read live (its privileged-port limit, its
//! ephemeral port range, its own services list) and the lesson services the relay runs for
//! the session on loopback.

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
    /// Linux's `net.ipv4.ip_local_port_range`. `None` where it could not be read.
    pub ephemeral_ports: Option<PortRange>,
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

/// A service the relay runs on loopback for the lessons, on a port the kernel chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonService {
    /// Stable name lessons use, e.g. `echo_tcp`, `echo_udp`.
    pub name: String,
    pub transport: Transport,
    /// Where it listens, e.g. `127.0.0.1:40123`.
    pub address: String,
    /// One sentence on what it does.
    pub about: String,
}
