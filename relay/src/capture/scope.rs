//! Which packets on `lo` belong to a session: the rule, as a pure function of who holds each
//! end of the packet (the relay's ownership registry, by address as the kernel keys it).
//!
//! A packet is the session's when one of its two ends (address and port) is held by the
//! session, or was held and released by it within [`RELEASED_IN_SCOPE`] (the RST that answers
//! a connect to a port the session closed, the last ACK of a teardown after close), and
//! neither end is held by another session, nor is the relay's own port (its WebSocket, on
//! TCP). Everything else on loopback (other programs, other sessions, the page's own
//! connection) is never shown: a session that binds `[::1]:P` sees nothing of a program on
//! `127.0.0.1:P`, because it holds `[::1]:P` only.
//!
//! Two cases are read the cautious way: when the kernel gives two sessions' outgoing
//! connections the same ephemeral port and address (to different destinations, which Linux
//! allows), the registry reports it as another session's, so those packets are left out of
//! both traces rather than risk showing one session's traffic to the other; and an endpoint
//! the session released stays in its scope for one TIME_WAIT after the close, so a program
//! outside the relay that binds it within that minute would be seen (only ever on loopback, and
//! only on an address and port this session used a moment before).

use std::net::SocketAddr;
use std::time::Duration;

use socketlab_shared::{SocketType, Transport};

use crate::policy::PortOwner;

/// How long a released endpoint stays in a session's capture: Linux's TIME_WAIT
/// (TCP_TIMEWAIT_LEN, 60 s), the longest that the kernel still sends or answers packets of a
/// closed connection on it.
pub(crate) const RELEASED_IN_SCOPE: Duration = Duration::from_secs(60);

/// Whether a packet between `ends` (source, destination) of `transport` belongs to the
/// session. `owner` says who holds an end as this session sees it; `relay_port` is the
/// relay's own TCP port.
pub(crate) fn belongs(
    transport: Transport,
    ends: [SocketAddr; 2],
    relay_port: u16,
    owner: impl Fn(SocketType, SocketAddr) -> PortOwner,
) -> bool {
    if transport == Transport::Tcp && ends.iter().any(|end| end.port() == relay_port) {
        return false;
    }
    let kind = match transport {
        Transport::Tcp => SocketType::Stream,
        Transport::Udp => SocketType::Datagram,
    };
    let owners = ends.map(|end| owner(kind, end));
    let ours = owners
        .iter()
        .any(|o| matches!(o, PortOwner::ThisSession | PortOwner::ReleasedByThisSession));
    let theirs = owners.contains(&PortOwner::OtherSession);
    ours && !theirs
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAY: u16 = 7878;

    /// This session holds 127.0.0.1:1000 (TCP) and 127.0.0.1:1001 (UDP) and released
    /// 127.0.0.1:1002 (TCP); another session holds 127.0.0.1:2000 (TCP).
    fn owner(kind: SocketType, end: SocketAddr) -> PortOwner {
        if end.ip() != SocketAddr::from(([127, 0, 0, 1], 0)).ip() {
            return PortOwner::Nobody;
        }
        match (kind, end.port()) {
            (SocketType::Stream, 1000) | (SocketType::Datagram, 1001) => PortOwner::ThisSession,
            (SocketType::Stream, 1002) => PortOwner::ReleasedByThisSession,
            (SocketType::Stream, 2000) => PortOwner::OtherSession,
            _ => PortOwner::Nobody,
        }
    }

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn tcp(ports: [u16; 2]) -> bool {
        belongs(Transport::Tcp, ports.map(at), RELAY, owner)
    }

    #[test]
    fn a_packet_to_or_from_an_end_of_the_session_is_kept_either_way() {
        assert!(tcp([50000, 1000]), "a SYN to the session's listener");
        assert!(tcp([1000, 50000]), "its SYN-ACK");
        assert!(tcp([50000, 1002]), "a SYN to a port the session closed");
        assert!(tcp([1002, 50000]), "the RST that answers it");
        assert!(belongs(Transport::Udp, [at(50000), at(1001)], RELAY, owner));
    }

    #[test]
    fn ends_are_told_apart_by_protocol_and_address() {
        assert!(!belongs(
            Transport::Udp,
            [at(50000), at(1000)],
            RELAY,
            owner
        ));
        assert!(!tcp([50000, 1001]));
        let elsewhere = |port| SocketAddr::from(([127, 0, 0, 2], port));
        assert!(
            !belongs(
                Transport::Tcp,
                [elsewhere(50000), elsewhere(1000)],
                RELAY,
                owner
            ),
            "the session's port number at another address is a program outside"
        );
    }

    #[test]
    fn other_programs_other_sessions_and_the_relay_are_never_shown() {
        assert!(!tcp([50000, 50001]), "two programs outside the relay");
        assert!(!tcp([50000, 2000]), "another session's connection");
        assert!(!tcp([1000, 2000]), "a port shared with another session");
        assert!(!tcp([50000, RELAY]), "the page's WebSocket");
        assert!(
            !tcp([RELAY, 1000]),
            "the relay's port, even next to one of ours"
        );
    }

    #[test]
    fn the_relay_port_matters_only_for_tcp() {
        let udp_owner = |_, end: SocketAddr| {
            if end.port() == RELAY {
                PortOwner::ThisSession
            } else {
                PortOwner::Nobody
            }
        };
        assert!(belongs(
            Transport::Udp,
            [at(50000), at(RELAY)],
            RELAY,
            udp_owner
        ));
    }
}
