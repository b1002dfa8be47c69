//! Which packets on `lo` belong to a session: the rule, as a pure function of who holds each
//! side's port (the relay's ownership registry, as the policy reads it).
//!
//! A packet is the session's when one of its two ports is held by the session, or was held and
//! released by it (the RST that answers a connect to a port the session closed, the last ACK of
//! a teardown after close), and neither port is held by another session, nor is the relay's own
//! port (its WebSocket, on TCP). Everything else on loopback (other programs, other sessions,
//! the page's own connection) is never shown.
//!
//! Ports are compared by number and protocol only, like the registry. Two cases are read the
//! cautious way: when the kernel gives two sessions' outgoing connections the same ephemeral
//! port (to different destinations, which Linux allows), the registry reports it as another
//! session's, so those packets are left out of both traces rather than risk showing one
//! session's traffic to the other; and a port the session released stays in its scope until
//! another session takes it, so a program outside the relay that binds it meanwhile would be
//! seen (only ever on loopback, and only on a port this session used).

use socketlab_shared::{SocketType, Transport};

use crate::policy::PortOwner;

/// Whether a packet between `ports` (source, destination) of `transport` belongs to the
/// session. `owner` says who holds a port as this session sees it; `relay_port` is the
/// relay's own TCP port.
pub(crate) fn belongs(
    transport: Transport,
    ports: [u16; 2],
    relay_port: u16,
    owner: impl Fn(SocketType, u16) -> PortOwner,
) -> bool {
    if transport == Transport::Tcp && ports.contains(&relay_port) {
        return false;
    }
    let kind = match transport {
        Transport::Tcp => SocketType::Stream,
        Transport::Udp => SocketType::Datagram,
    };
    let owners = ports.map(|port| owner(kind, port));
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

    /// This session holds 1000 (TCP) and 1001 (UDP) and released 1002 (TCP); another session
    /// holds 2000 (TCP).
    fn owner(kind: SocketType, port: u16) -> PortOwner {
        match (kind, port) {
            (SocketType::Stream, 1000) | (SocketType::Datagram, 1001) => PortOwner::ThisSession,
            (SocketType::Stream, 1002) => PortOwner::ReleasedByThisSession,
            (SocketType::Stream, 2000) => PortOwner::OtherSession,
            _ => PortOwner::Nobody,
        }
    }

    fn tcp(ports: [u16; 2]) -> bool {
        belongs(Transport::Tcp, ports, RELAY, owner)
    }

    #[test]
    fn a_packet_to_or_from_a_port_of_the_session_is_kept_either_way() {
        assert!(tcp([50000, 1000]), "a SYN to the session's listener");
        assert!(tcp([1000, 50000]), "its SYN-ACK");
        assert!(tcp([50000, 1002]), "a SYN to a port the session closed");
        assert!(tcp([1002, 50000]), "the RST that answers it");
        assert!(belongs(Transport::Udp, [50000, 1001], RELAY, owner));
    }

    #[test]
    fn ports_are_told_apart_by_protocol() {
        assert!(!belongs(Transport::Udp, [50000, 1000], RELAY, owner));
        assert!(!tcp([50000, 1001]));
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
        let udp_owner = |_, port| {
            if port == RELAY {
                PortOwner::ThisSession
            } else {
                PortOwner::Nobody
            }
        };
        assert!(belongs(Transport::Udp, [50000, RELAY], RELAY, udp_owner));
    }
}
