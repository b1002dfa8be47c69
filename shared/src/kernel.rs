//! What the kernel itself says about the session's sockets (its socket tables, as `ss` shows them)
//! and the packets it carried on loopback: the relay observes, the page draws.
//!
//! `Availability` (available, or unavailable with a reason and an optional remedy command);
//! `KernelSocket`, one row of the kernel's socket tables: the session's `socket`, or why it has
//! none (`Detached`: in a listener's accept queue, or closed), `Transport`, `KernelState` (the RFC
//! 793 states with Linux's names, plus `UNCONN`), `ss`-style `local` and `remote`, `recv_q`,
//! `send_q`, `inode`; `ss_line()` and `ss_command()` give the `ss -tan` / `ss -uan` line and
//! command. `TcpFlag` and `Packet`, one captured packet: time, addresses, flags in the fixed order
//! SYN, ACK, FIN, RST, PSH, URG, relative seq/ack, window, length, first bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::payload::Payload;
use crate::protocol::SocketId;

/// The transport protocol of a kernel socket or a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// A socket's state as the kernel keeps it: the TCP states of RFC 793 with Linux's names, and
/// `UNCONN` for a UDP socket with no peer (as `ss` prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KernelState {
    Listen,
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Close,
    Unconn,
}

impl KernelState {
    /// Every TCP state, in the order RFC 793's diagram reads.
    pub const TCP: [KernelState; 11] = [
        KernelState::Close,
        KernelState::Listen,
        KernelState::SynSent,
        KernelState::SynRecv,
        KernelState::Established,
        KernelState::FinWait1,
        KernelState::FinWait2,
        KernelState::CloseWait,
        KernelState::Closing,
        KernelState::LastAck,
        KernelState::TimeWait,
    ];

    /// The name as `/proc/net/tcp`'s documentation and the RFC write it (`FIN_WAIT1`).
    pub fn name(self) -> &'static str {
        match self {
            KernelState::Listen => "LISTEN",
            KernelState::SynSent => "SYN_SENT",
            KernelState::SynRecv => "SYN_RECV",
            KernelState::Established => "ESTABLISHED",
            KernelState::FinWait1 => "FIN_WAIT1",
            KernelState::FinWait2 => "FIN_WAIT2",
            KernelState::CloseWait => "CLOSE_WAIT",
            KernelState::Closing => "CLOSING",
            KernelState::LastAck => "LAST_ACK",
            KernelState::TimeWait => "TIME_WAIT",
            KernelState::Close => "CLOSE",
            KernelState::Unconn => "UNCONN",
        }
    }

    /// The name as `ss -tan` prints it (`FIN-WAIT-1`, `ESTAB`, `UNCONN`).
    pub fn ss_name(self) -> &'static str {
        match self {
            KernelState::Listen => "LISTEN",
            KernelState::SynSent => "SYN-SENT",
            KernelState::SynRecv => "SYN-RECV",
            KernelState::Established => "ESTAB",
            KernelState::FinWait1 => "FIN-WAIT-1",
            KernelState::FinWait2 => "FIN-WAIT-2",
            KernelState::CloseWait => "CLOSE-WAIT",
            KernelState::Closing => "CLOSING",
            KernelState::LastAck => "LAST-ACK",
            KernelState::TimeWait => "TIME-WAIT",
            KernelState::Close => "CLOSE",
            KernelState::Unconn => "UNCONN",
        }
    }
}

impl fmt::Display for KernelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a kernel socket of the session has no descriptor of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detached {
    /// A connection the kernel completed (the handshake is done) and queued on a listening
    /// socket, waiting for `accept()` to take it.
    AcceptQueue { listener: SocketId },
    /// What is left of a connection after `close()`: TIME_WAIT (or another closing state)
    /// lingers in the kernel with no descriptor until it expires.
    Closed,
}

/// One row of the kernel's socket tables that belongs to the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSocket {
    /// The session's socket this is, when the relay holds a descriptor for it.
    pub socket: Option<SocketId>,
    /// Why there is no descriptor, when `socket` is `None`.
    pub detached: Option<Detached>,
    pub transport: Transport,
    pub state: KernelState,
    /// Local address as the kernel has it, e.g. `127.0.0.1:41000` or `[::1]:41000`.
    pub local: String,
    /// Remote address; `*` parts when there is none, as `ss` prints (`0.0.0.0:*`, `[::]:*`).
    pub remote: String,
    /// Bytes received and not yet read by the program (Recv-Q); for a listener, connections
    /// waiting in the accept queue.
    pub recv_q: u32,
    /// Bytes sent and not yet acknowledged by the peer (Send-Q); for a listener, the backlog.
    pub send_q: u32,
    /// The socket's inode number, as `ss -e` (`ino:`) and `lsof` (DEVICE) show it; 0 when no
    /// file refers to the socket (queued for accept, or left after close).
    #[serde(default)]
    pub inode: u64,
}

impl KernelSocket {
    /// The line `ss -tan` (or `ss -uan`) prints for this socket:
    /// `State  Recv-Q  Send-Q  Local Address:Port  Peer Address:Port`.
    pub fn ss_line(&self) -> String {
        format!(
            "{:<10} {:<6} {:<6} {:<22} {}",
            self.state.ss_name(),
            self.recv_q,
            self.send_q,
            self.local,
            self.remote
        )
    }

    /// The `ss` command that shows this socket's kind in a terminal.
    pub fn ss_command(&self) -> &'static str {
        match self.transport {
            Transport::Tcp => "ss -tan",
            Transport::Udp => "ss -uan",
        }
    }
}

/// A TCP header flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TcpFlag {
    Syn,
    Ack,
    Fin,
    Rst,
    Psh,
    Urg,
}

impl TcpFlag {
    pub fn name(self) -> &'static str {
        match self {
            TcpFlag::Syn => "SYN",
            TcpFlag::Ack => "ACK",
            TcpFlag::Fin => "FIN",
            TcpFlag::Rst => "RST",
            TcpFlag::Psh => "PSH",
            TcpFlag::Urg => "URG",
        }
    }
}

/// One packet seen on the loopback interface that belongs to the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    /// Microseconds since the session's capture started.
    pub at_us: u64,
    pub transport: Transport,
    /// Sender, e.g. `127.0.0.1:53712`.
    pub src: String,
    /// Receiver.
    pub dst: String,
    /// TCP flags that are set, always listed in the order SYN, ACK, FIN, RST, PSH, URG
    /// (empty for UDP).
    pub flags: Vec<TcpFlag>,
    /// Sequence number relative to the sender's initial one (as Wireshark shows it); TCP only.
    pub seq: Option<u32>,
    /// Acknowledgement number relative to the receiver's initial sequence; TCP with ACK only.
    pub ack: Option<u32>,
    /// Advertised receive window; TCP only.
    pub window: Option<u16>,
    /// Payload length in bytes (TCP segment data, or the UDP datagram's data).
    pub len: u32,
    /// The first bytes of the payload (at most 32).
    pub head: Payload,
}

/// Whether an instrument of the lab works on this relay, and if not, why and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Availability {
    Available,
    Unavailable {
        /// Why, in words: "the kernel view reads Linux's socket tables; this relay runs on macos".
        reason: String,
        /// The exact thing to do about it, if anything, e.g.
        /// `sudo setcap cap_net_raw+ep /path/to/socketlab-relay`.
        remedy: Option<String>,
    },
}
