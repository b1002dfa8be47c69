//! The TCP state machine of RFC 793 (figure 6) as data: `TRANSITIONS`, 18 arrows, each with the
//! words the RFC writes on it in socket-call terms (`rcv SYN / snd SYN,ACK`, `close() / snd FIN`,
//! `timeout 2MSL (~60 s)`). The figure's LISTEN -> SYN_SENT arrow (a send on a listener, which the
//! sockets API cannot make) is left out, and SYN_SENT -> CLOSED reads `rcv RST, or close()`, a
//! refused connect being what a learner meets first. `common` marks the usual client and server
//! arrows. `transition(from, to)`, and `between(from, to)`: the states on the shortest way along
//! common arrows (never through CLOSED), which fills in the states the kernel passed through faster
//! than the relay could sample them. Pure, unit-tested.

use std::collections::VecDeque;

use socketlab_shared::KernelState;

/// One arrow of the diagram: `from` -> `to`, labelled with what makes it happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) from: KernelState,
    pub(crate) to: KernelState,
    pub(crate) label: &'static str,
    /// One of the two ways a connection normally goes (client and server, open and close);
    /// the rarer arrows (simultaneous open and close) are drawn fainter.
    pub(crate) common: bool,
}

const fn t(from: KernelState, to: KernelState, label: &'static str, common: bool) -> Transition {
    Transition {
        from,
        to,
        label,
        common,
    }
}

use KernelState::{
    Close, CloseWait, Closing, Established, FinWait1, FinWait2, LastAck, Listen, SynRecv, SynSent,
    TimeWait,
};

/// The transitions of RFC 793's figure 6 that the sockets API can produce, with Linux's answer
/// to a refused connect (an RST in SYN_SENT) added because it is what a learner meets first.
/// Left out: LISTEN -> SYN_SENT ("SEND" on a listening socket), which BSD sockets never do.
pub(crate) const TRANSITIONS: [Transition; 18] = [
    t(Close, Listen, "listen()", true),
    t(Close, SynSent, "connect() / snd SYN", true),
    t(Listen, SynRecv, "rcv SYN / snd SYN,ACK", true),
    t(Listen, Close, "close()", false),
    t(SynSent, SynRecv, "rcv SYN / snd ACK", false),
    t(SynSent, Established, "rcv SYN,ACK / snd ACK", true),
    t(SynSent, Close, "rcv RST, or close()", false),
    t(SynRecv, Established, "rcv ACK of SYN", true),
    t(SynRecv, FinWait1, "close() / snd FIN", false),
    t(Established, FinWait1, "close() / snd FIN", true),
    t(Established, CloseWait, "rcv FIN / snd ACK", true),
    t(FinWait1, FinWait2, "rcv ACK of FIN", true),
    t(FinWait1, Closing, "rcv FIN / snd ACK", false),
    t(FinWait2, TimeWait, "rcv FIN / snd ACK", true),
    t(Closing, TimeWait, "rcv ACK of FIN", false),
    t(CloseWait, LastAck, "close() / snd FIN", true),
    t(LastAck, Close, "rcv ACK of FIN", true),
    t(TimeWait, Close, "timeout 2MSL (~60 s)", true),
];

/// The transition from `from` to `to`, if the diagram has that arrow.
pub(crate) fn transition(from: KernelState, to: KernelState) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.from == from && t.to == to)
}

/// The states strictly between `from` and `to` on the shortest way along the diagram's arrows:
/// empty when there is a direct arrow (or no way at all, e.g. an RST that aborts a connection,
/// which the RFC draws as no arrow). Only the common arrows are used, so ESTABLISHED ->
/// TIME_WAIT goes through FIN_WAIT1 and FIN_WAIT2, the way it nearly always goes; and never
/// through CLOSED.
pub(crate) fn between(from: KernelState, to: KernelState) -> Vec<KernelState> {
    if from == to || transition(from, to).is_some() {
        return Vec::new();
    }
    // Breadth first over 11 states: the first time `to` is reached is a shortest route.
    let mut came_from: Vec<(KernelState, KernelState)> = Vec::new();
    let mut queue = VecDeque::from([from]);
    while let Some(state) = queue.pop_front() {
        for next in TRANSITIONS
            .iter()
            .filter(|t| t.common && t.from == state)
            .map(|t| t.to)
        {
            if next == from || came_from.iter().any(|(s, _)| *s == next) {
                continue;
            }
            came_from.push((next, state));
            if next == to {
                let mut route = Vec::new();
                let mut at = state;
                while at != from {
                    route.push(at);
                    at = came_from
                        .iter()
                        .find(|(s, _)| *s == at)
                        .map_or(from, |(_, prev)| *prev);
                }
                route.reverse();
                return route;
            }
            // CLOSED ends a life: a route never goes through it into a new one.
            if next != Close {
                queue.push_back(next);
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_arrow_needs_no_states_between() {
        assert!(between(SynSent, Established).is_empty());
        assert!(between(TimeWait, Close).is_empty());
    }

    #[test]
    fn a_missed_syn_recv_is_filled_in_for_a_server_connection() {
        assert_eq!(between(Listen, Established), vec![SynRecv]);
        assert_eq!(between(Close, Established), vec![SynSent]);
    }

    #[test]
    fn the_active_close_goes_through_both_fin_waits() {
        assert_eq!(between(Established, TimeWait), vec![FinWait1, FinWait2]);
        assert_eq!(between(Established, FinWait2), vec![FinWait1]);
        assert_eq!(between(CloseWait, Close), vec![LastAck]);
    }

    #[test]
    fn no_route_means_nothing_is_invented() {
        assert!(between(Established, Listen).is_empty());
    }

    #[test]
    fn every_tcp_state_has_an_arrow_in_or_out() {
        for state in KernelState::TCP {
            assert!(
                TRANSITIONS.iter().any(|t| t.from == state || t.to == state),
                "{state}"
            );
        }
    }
}
