//! The wire protocol between the browser and the relay: every message as a Rust type whose serde
//! form is the JSON on the wire. docs/protocol.md shows each one; `protocol_tests` pins them.
//!
//! `ToRelay` (hello, call) and `FromRelay` (welcome, capabilities, reply, event, kernel, packet,
//! machine, service_names, malformed, goodbye); `Op` (one variant per syscall, tagged `syscall`),
//! `Done` (what each successful syscall returned), `Outcome` (ok / error / invalid / cancelled /
//! refused), `Event`, `SysError`, the id newtypes `SocketId` and `CallId`, and `Syscall`, the names
//! code, labels and lessons share.
//!
//! Messages are internally tagged serde enums with snake_case tags, readable in devtools. Every
//! call gets exactly one reply. Addresses travel as strings and are parsed by the relay, so a bad
//! address is an `invalid` reply, never an undecodable message. Version 1 was the first published
//! form; version 2 (`PROTOCOL_VERSION`) added `pid` and `user` to `Machine`, the `scan` and `knock`
//! lesson services to the `machine` message, and `inode` to `KernelSocket`; version 3 sends
//! `service_names` only when asked; version 4 moves the knock door out of `machine` into the
//! answer to the `knock_door` request (the door is made then); version 5 adds `namespace_thread`
//! to `Machine` (a session's own network namespace, `--isolate-sessions`); version 6 adds class
//! mode's `class`, `join` (answered `joined`), `lesson` and `passed`. Any change to a
//! message's JSON changes a golden test, docs/protocol.md and `PROTOCOL_VERSION`. The kernel view's
//! and capture's messages (`capabilities`, `kernel`, `packet`) only observe: the page can ignore
//! them and every call works the same.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::kernel::{Availability, KernelSocket, Packet};
use crate::machine::{KnockDoor, LessonService, Machine, ScanTargets, ServiceName};
use crate::payload::Payload;

/// Bumped on any change to the JSON of a message. Both sides say theirs in the handshake.
pub const PROTOCOL_VERSION: u32 = 7;

/// A socket of one session. Chosen by the relay, counted from 1, never reused within a session
/// and meaningless in any other session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SocketId(pub u32);

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// A call made by the browser. Chosen by the browser; the relay echoes it in the one reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Address family, the first argument of `socket()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `AF_INET`
    Ipv4,
    /// `AF_INET6`
    Ipv6,
}

impl Family {
    /// The C constant's name, as a learner would write it.
    pub fn c_name(self) -> &'static str {
        match self {
            Family::Ipv4 => "AF_INET",
            Family::Ipv6 => "AF_INET6",
        }
    }
}

/// Socket type, the second argument of `socket()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketType {
    /// `SOCK_STREAM`: TCP, a connected, reliable, ordered byte stream.
    Stream,
    /// `SOCK_DGRAM`: UDP, separate datagrams with their boundaries kept.
    Datagram,
}

impl SocketType {
    /// The C constant's name, as a learner would write it.
    pub fn c_name(self) -> &'static str {
        match self {
            SocketType::Stream => "SOCK_STREAM",
            SocketType::Datagram => "SOCK_DGRAM",
        }
    }

    /// The transport protocol the kernel uses for this type on IP.
    pub fn protocol(self) -> &'static str {
        match self {
            SocketType::Stream => "tcp",
            SocketType::Datagram => "udp",
        }
    }
}

/// The socket options a learner can set and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SockOpt {
    /// Allow binding a port that still has connections in TIME_WAIT.
    SoReuseaddr,
    /// Allow several sockets to bind the very same address and port (Linux load balancing).
    SoReuseport,
    /// An IPv6 socket accepts only IPv6, no IPv4-mapped peers.
    #[serde(rename = "IPV6_V6ONLY")]
    Ipv6V6only,
    /// Send small segments at once instead of waiting to coalesce them (Nagle off).
    TcpNodelay,
    /// Size of the receive buffer, in bytes (Linux reports double what was set).
    SoRcvbuf,
    /// Size of the send buffer, in bytes (Linux reports double what was set).
    SoSndbuf,
}

impl SockOpt {
    /// Every option, in the order a menu shows them.
    pub const ALL: [SockOpt; 6] = [
        SockOpt::SoReuseaddr,
        SockOpt::SoReuseport,
        SockOpt::Ipv6V6only,
        SockOpt::TcpNodelay,
        SockOpt::SoRcvbuf,
        SockOpt::SoSndbuf,
    ];

    /// The C constant's name.
    pub fn c_name(self) -> &'static str {
        match self {
            SockOpt::SoReuseaddr => "SO_REUSEADDR",
            SockOpt::SoReuseport => "SO_REUSEPORT",
            SockOpt::Ipv6V6only => "IPV6_V6ONLY",
            SockOpt::TcpNodelay => "TCP_NODELAY",
            SockOpt::SoRcvbuf => "SO_RCVBUF",
            SockOpt::SoSndbuf => "SO_SNDBUF",
        }
    }

    /// The protocol level the option lives at, the second argument of `setsockopt()`.
    pub fn level(self) -> &'static str {
        match self {
            SockOpt::Ipv6V6only => "IPPROTO_IPV6",
            SockOpt::TcpNodelay => "IPPROTO_TCP",
            _ => "SOL_SOCKET",
        }
    }

    /// Whether the option is an on/off flag (0 or 1) rather than a size.
    pub fn is_flag(self) -> bool {
        !matches!(self, SockOpt::SoRcvbuf | SockOpt::SoSndbuf)
    }
}

/// Which direction `shutdown()` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// `SHUT_RD`
    Read,
    /// `SHUT_WR`: sends a FIN; the peer's recv sees end of stream.
    Write,
    /// `SHUT_RDWR`
    Both,
}

impl Shutdown {
    /// The C constant's name.
    pub fn c_name(self) -> &'static str {
        match self {
            Shutdown::Read => "SHUT_RD",
            Shutdown::Write => "SHUT_WR",
            Shutdown::Both => "SHUT_RDWR",
        }
    }
}

/// One system call the browser asks the relay to make, named after the syscall.
///
/// Addresses are strings such as `127.0.0.1:8080` or `[::1]:8080`; the relay parses them, so a
/// bad one is an `invalid` reply rather than a message that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "syscall", rename_all = "snake_case")]
pub enum Op {
    /// `socket(family, type, 0)`: a new, unbound socket.
    Socket {
        family: Family,
        #[serde(rename = "type")]
        kind: SocketType,
    },
    /// `setsockopt(fd, level, option, &value, sizeof value)`
    Setsockopt {
        socket: SocketId,
        option: SockOpt,
        value: i32,
    },
    /// `getsockopt(fd, level, option, ...)`
    Getsockopt { socket: SocketId, option: SockOpt },
    /// `bind(fd, address)`
    Bind { socket: SocketId, address: String },
    /// `listen(fd, backlog)`
    Listen { socket: SocketId, backlog: i32 },
    /// `accept(fd)`: waits until a connection is queued, returns a new connected socket.
    Accept { socket: SocketId },
    /// `connect(fd, address)`: waits for the handshake (stream) or sets the peer (datagram).
    Connect { socket: SocketId, address: String },
    /// `send(fd, data, 0)`
    Send { socket: SocketId, data: Payload },
    /// `recv(fd, buf, max, 0)`: waits until data (or end of stream) is there.
    Recv { socket: SocketId, max: u32 },
    /// `sendto(fd, data, 0, address)`
    Sendto {
        socket: SocketId,
        data: Payload,
        address: String,
    },
    /// `recvfrom(fd, buf, max, 0, &from)`: waits for one datagram.
    Recvfrom { socket: SocketId, max: u32 },
    /// `shutdown(fd, how)`
    Shutdown { socket: SocketId, how: Shutdown },
    /// `close(fd)`: also ends any call still waiting on this socket.
    Close { socket: SocketId },
    /// `getsockname(fd)`: the local address the kernel has for the socket.
    Getsockname { socket: SocketId },
    /// `getpeername(fd)`: the peer's address.
    Getpeername { socket: SocketId },
}

impl Op {
    /// Which syscall this is, without its arguments.
    pub fn syscall(&self) -> Syscall {
        match self {
            Op::Socket { .. } => Syscall::Socket,
            Op::Setsockopt { .. } => Syscall::Setsockopt,
            Op::Getsockopt { .. } => Syscall::Getsockopt,
            Op::Bind { .. } => Syscall::Bind,
            Op::Listen { .. } => Syscall::Listen,
            Op::Accept { .. } => Syscall::Accept,
            Op::Connect { .. } => Syscall::Connect,
            Op::Send { .. } => Syscall::Send,
            Op::Recv { .. } => Syscall::Recv,
            Op::Sendto { .. } => Syscall::Sendto,
            Op::Recvfrom { .. } => Syscall::Recvfrom,
            Op::Shutdown { .. } => Syscall::Shutdown,
            Op::Close { .. } => Syscall::Close,
            Op::Getsockname { .. } => Syscall::Getsockname,
            Op::Getpeername { .. } => Syscall::Getpeername,
        }
    }

    /// The socket the call acts on; `None` for `socket()`, which makes one.
    pub fn socket(&self) -> Option<SocketId> {
        match self {
            Op::Socket { .. } => None,
            Op::Setsockopt { socket, .. }
            | Op::Getsockopt { socket, .. }
            | Op::Bind { socket, .. }
            | Op::Listen { socket, .. }
            | Op::Accept { socket }
            | Op::Connect { socket, .. }
            | Op::Send { socket, .. }
            | Op::Recv { socket, .. }
            | Op::Sendto { socket, .. }
            | Op::Recvfrom { socket, .. }
            | Op::Shutdown { socket, .. }
            | Op::Close { socket }
            | Op::Getsockname { socket }
            | Op::Getpeername { socket } => Some(*socket),
        }
    }
}

/// The syscalls by name: what code, UI labels and lessons call them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Syscall {
    Socket,
    Setsockopt,
    Getsockopt,
    Bind,
    Listen,
    Accept,
    Connect,
    Send,
    Recv,
    Sendto,
    Recvfrom,
    Shutdown,
    Close,
    Getsockname,
    Getpeername,
}

impl Syscall {
    /// Every syscall, in the order a learner meets them.
    pub const ALL: [Syscall; 15] = [
        Syscall::Socket,
        Syscall::Setsockopt,
        Syscall::Getsockopt,
        Syscall::Bind,
        Syscall::Listen,
        Syscall::Accept,
        Syscall::Connect,
        Syscall::Send,
        Syscall::Recv,
        Syscall::Sendto,
        Syscall::Recvfrom,
        Syscall::Shutdown,
        Syscall::Close,
        Syscall::Getsockname,
        Syscall::Getpeername,
    ];

    /// The C name, as in `man 2 bind`.
    pub fn name(self) -> &'static str {
        match self {
            Syscall::Socket => "socket",
            Syscall::Setsockopt => "setsockopt",
            Syscall::Getsockopt => "getsockopt",
            Syscall::Bind => "bind",
            Syscall::Listen => "listen",
            Syscall::Accept => "accept",
            Syscall::Connect => "connect",
            Syscall::Send => "send",
            Syscall::Recv => "recv",
            Syscall::Sendto => "sendto",
            Syscall::Recvfrom => "recvfrom",
            Syscall::Shutdown => "shutdown",
            Syscall::Close => "close",
            Syscall::Getsockname => "getsockname",
            Syscall::Getpeername => "getpeername",
        }
    }

    /// Whether the call can wait in the kernel (block, in C) until something arrives.
    pub fn may_wait(self) -> bool {
        matches!(
            self,
            Syscall::Accept
                | Syscall::Connect
                | Syscall::Recv
                | Syscall::Recvfrom
                | Syscall::Send
                | Syscall::Sendto
        )
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a successful call returned, per syscall. Addresses are as the kernel reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "syscall", rename_all = "snake_case")]
pub enum Done {
    /// The new socket and the real descriptor number the kernel gave the relay for it.
    Socket {
        socket: SocketId,
        fd: i32,
        family: Family,
        #[serde(rename = "type")]
        kind: SocketType,
    },
    /// The option is set; `value` is what `getsockopt` reads back right after.
    Setsockopt {
        option: SockOpt,
        value: i32,
    },
    Getsockopt {
        option: SockOpt,
        value: i32,
    },
    /// `local` is `getsockname()` right after: with port 0 it shows the port the kernel chose.
    Bind {
        local: String,
    },
    /// `local` is `getsockname()` right after: listen on an unbound socket picks a port.
    Listen {
        local: String,
    },
    /// The new connected socket that accept created; the listening socket keeps listening.
    Accept {
        socket: SocketId,
        fd: i32,
        local: String,
        peer: String,
    },
    /// `local` shows the ephemeral port the kernel picked for the client.
    Connect {
        local: String,
        peer: String,
    },
    /// How many bytes the kernel took into its send buffer.
    Send {
        sent: u32,
    },
    /// The bytes received; empty means end of stream (the peer closed its side).
    Recv {
        data: Payload,
    },
    Sendto {
        sent: u32,
        local: String,
    },
    /// One datagram and who sent it. `truncated` when it was longer than `max`.
    Recvfrom {
        data: Payload,
        from: String,
        truncated: bool,
    },
    Shutdown,
    Close,
    Getsockname {
        address: String,
    },
    Getpeername {
        address: String,
    },
}

impl Done {
    /// Which syscall this answers.
    pub fn syscall(&self) -> Syscall {
        match self {
            Done::Socket { .. } => Syscall::Socket,
            Done::Setsockopt { .. } => Syscall::Setsockopt,
            Done::Getsockopt { .. } => Syscall::Getsockopt,
            Done::Bind { .. } => Syscall::Bind,
            Done::Listen { .. } => Syscall::Listen,
            Done::Accept { .. } => Syscall::Accept,
            Done::Connect { .. } => Syscall::Connect,
            Done::Send { .. } => Syscall::Send,
            Done::Recv { .. } => Syscall::Recv,
            Done::Sendto { .. } => Syscall::Sendto,
            Done::Recvfrom { .. } => Syscall::Recvfrom,
            Done::Shutdown => Syscall::Shutdown,
            Done::Close => Syscall::Close,
            Done::Getsockname { .. } => Syscall::Getsockname,
            Done::Getpeername { .. } => Syscall::Getpeername,
        }
    }
}

/// A syscall that the kernel refused: its errno, exactly as the OS returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysError {
    /// The errno's symbolic name, e.g. `EADDRINUSE`.
    pub errno: String,
    /// The errno's number on the relay's OS, e.g. 98 on Linux.
    pub code: i32,
    /// The OS's own text (`strerror`), e.g. "Address already in use".
    pub message: String,
    /// One plain sentence for a learner: what this means for this call.
    pub explanation: String,
}

/// How a call ended. Exactly one per call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The kernel did it.
    Ok(Done),
    /// The kernel refused it with an errno.
    Error(SysError),
    /// The call never reached the kernel because its arguments could not be understood
    /// (an address that does not parse, a socket id this session does not have).
    Invalid { reason: String },
    /// The call was waiting and was ended without an answer from the kernel: its socket was
    /// closed, or the session is ending.
    Cancelled { reason: String },
    /// The relay's safety policy or a limit refused the call; the kernel was never asked.
    /// `rule` names the rule (stable, for lessons and tests), `reason` says why in words.
    /// Never disguised as an errno.
    Refused { rule: String, reason: String },
}

/// Something no call asked for, about one socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Data is waiting in the socket's receive queue: `queued` bytes for a stream, the size
    /// of the next datagram for a datagram socket. A `recv` now returns at once.
    DataWaiting { queued: u32 },
    /// A listening socket has a completed connection in its queue: `accept` returns at once.
    ConnectionWaiting,
    /// The peer closed its sending side (a FIN arrived): after the queued data, `recv`
    /// returns end of stream. This socket can still send.
    PeerClosed,
}

/// Browser -> relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToRelay {
    /// The first message of a session.
    Hello { version: u32 },
    /// Make one syscall; the relay answers with exactly one `reply` carrying the same `id`.
    Call { id: CallId, op: Op },
    /// Ask for this machine's services list: the relay answers with one `service_names`. Sent
    /// by a lesson widget that shows it; a session that never asks never carries the list (it
    /// is tens of kilobytes, and the WebSocket's write buffer would keep that size).
    ServiceNames,
    /// Ask for this session's knock door (lesson 19): the relay makes it the first time (so a
    /// session that never asks holds no door socket) and answers with one `knock_door`.
    KnockDoor,
    /// Class mode (`--class`): the learner joins with a name (the same learner as before for
    /// the same name). The relay answers `joined`, or `malformed` with the reason.
    Join { name: String },
    /// Class mode: the learner opened the lesson `slug`. No answer.
    Lesson { slug: String },
    /// Class mode: the learner passed exercise `exercise`; `evidence` is the page's sentence
    /// for it. No answer.
    Passed { exercise: String, evidence: String },
}

/// Relay -> browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromRelay {
    /// Answer to `hello`: the session is open.
    Welcome {
        version: u32,
        /// The relay program's version.
        relay: String,
        /// The relay's operating system (`linux`, `macos`, ...): errno numbers are its own.
        os: String,
    },
    /// Sent right after `welcome`: which of the lab's instruments this relay can offer.
    Capabilities {
        /// The kernel's own socket tables for the session's sockets (Linux only).
        kernel_view: Availability,
        /// Packets on the loopback interface (needs CAP_NET_RAW or root).
        capture: Availability,
    },
    /// Sent after `capabilities`: facts about the relay's machine that lessons read live, and
    /// the lesson services the relay runs on loopback (which the policy lets sessions reach).
    Machine {
        machine: Machine,
        services: Vec<LessonService>,
        /// The port-scanning lesson's targets, shared by all sessions; `None` if the relay
        /// could not set them up.
        #[serde(default)]
        scan: Option<ScanTargets>,
    },
    /// This session's own knock-guarded door, the answer to `knock_door`; `None` if the relay
    /// has none (no knock ports, or the door could not be set up).
    KnockDoor { knock: Option<KnockDoor> },
    /// Sent after `machine` by a relay in class mode (`--class`): the page asks for the
    /// learner's name and sends `join`.
    Class {},
    /// The answer to `join`: the learner's name as the class keeps it.
    Joined { name: String },
    /// This machine's own services list (`/etc/services`), the answer to `service_names`.
    /// Empty where the file does not exist.
    ServiceNames { names: Vec<ServiceName> },
    /// The one answer to the call with this `id`.
    Reply { id: CallId, outcome: Outcome },
    /// Something that happened to a socket that no call asked for.
    Event { socket: SocketId, event: Event },
    /// The kernel's view of every socket that belongs to the session, sent whenever any of it
    /// changed: the session's own sockets, connections queued for accept(), and what lingers
    /// after close (TIME_WAIT) until the kernel lets it go.
    Kernel { sockets: Vec<KernelSocket> },
    /// One packet on the loopback interface between ports of this session.
    Packet { packet: Packet },
    /// A message that could not be read at all (not JSON, no call id). The session goes on.
    Malformed { reason: String },
    /// The session cannot go on (wrong protocol version, no hello); the relay closes it.
    Goodbye { reason: String },
}

impl FromRelay {
    /// A reply that says the call never reached the kernel.
    pub fn invalid(id: CallId, reason: impl Into<String>) -> Self {
        FromRelay::Reply {
            id,
            outcome: Outcome::Invalid {
                reason: reason.into(),
            },
        }
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
