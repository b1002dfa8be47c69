//! Relative sequence and acknowledgement numbers, as Wireshark shows them: per connection and
//! direction, counted from that direction's initial sequence number (ISN), so a handshake reads
//! SYN seq 0; SYN-ACK seq 0 ack 1; ACK seq 1 ack 1, whatever random ISNs the kernel chose.
//!
//! The ISN of a direction is the SYN's sequence number. When the SYN was not seen (capture
//! started mid-connection), the first sequence number seen in that direction is its base, or,
//! if the other side acknowledged first, the number it acknowledged: either way the first
//! segment seen reads 0 and the numbers stay consistent between the two directions. A new SYN
//! on the same addresses (a port reused after TIME_WAIT) starts over. At [`MAX_DIRECTIONS`]
//! directions it forgets them all, so a long session's memory stays bounded.

use std::collections::HashMap;
use std::net::SocketAddr;

use socketlab_shared::TcpFlag;

use super::frame::Segment;

/// Directions remembered at most; beyond it the oldest knowledge is forgotten all at once (a
/// connection then restarts from its next segment), so a long session's memory stays bounded.
const MAX_DIRECTIONS: usize = 4096;

/// The base (ISN) of each direction seen, keyed by (sender, receiver).
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    base: HashMap<(SocketAddr, SocketAddr), u32>,
}

impl Numbering {
    /// The segment's (seq, ack) relative to the bases of its two directions.
    pub(crate) fn relative(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        segment: &Segment,
    ) -> (u32, Option<u32>) {
        if self.base.len() >= MAX_DIRECTIONS {
            self.base.clear();
        }
        let forward = (src, dst);
        let reverse = (dst, src);
        if segment.has(TcpFlag::Syn) {
            self.base.insert(forward, segment.seq);
            if !segment.has(TcpFlag::Ack) {
                // A new connection's first SYN: whatever the other direction was, it is over.
                self.base.remove(&reverse);
            }
        }
        let seq_base = *self.base.entry(forward).or_insert(segment.seq);
        let ack = segment
            .ack
            .map(|ack| ack.wrapping_sub(*self.base.entry(reverse).or_insert(ack)));
        (segment.seq.wrapping_sub(seq_base), ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(flags: &[TcpFlag], seq: u32, ack: Option<u32>) -> Segment {
        Segment {
            flags: flags.to_vec(),
            seq,
            ack,
            window: 512,
        }
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    use TcpFlag::{Ack, Fin, Psh, Syn};

    #[test]
    fn a_handshake_data_and_teardown_read_as_wireshark_shows_them() {
        let (c, s) = (addr(53712), addr(41000));
        let (ci, si) = (4_000_000_000_u32, 17_u32);
        let mut n = Numbering::default();
        assert_eq!(n.relative(c, s, &segment(&[Syn], ci, None)), (0, None));
        assert_eq!(
            n.relative(s, c, &segment(&[Syn, Ack], si, Some(ci.wrapping_add(1)))),
            (0, Some(1))
        );
        assert_eq!(
            n.relative(c, s, &segment(&[Ack], ci.wrapping_add(1), Some(si + 1))),
            (1, Some(1))
        );
        // 5 bytes from the client (its ISN wraps past u32::MAX on the way), then their ACK.
        assert_eq!(
            n.relative(
                c,
                s,
                &segment(&[Ack, Psh], ci.wrapping_add(1), Some(si + 1))
            ),
            (1, Some(1))
        );
        assert_eq!(
            n.relative(s, c, &segment(&[Ack], si + 1, Some(ci.wrapping_add(6)))),
            (1, Some(6))
        );
        assert_eq!(
            n.relative(
                c,
                s,
                &segment(&[Ack, Fin], ci.wrapping_add(6), Some(si + 1))
            ),
            (6, Some(1))
        );
    }

    #[test]
    fn without_the_syn_the_first_numbers_seen_are_the_base() {
        let (c, s) = (addr(1000), addr(2000));
        let mut n = Numbering::default();
        // The server acknowledges first: the client's base is what it acknowledged.
        assert_eq!(
            n.relative(s, c, &segment(&[Ack], 900, Some(5000))),
            (0, Some(0))
        );
        assert_eq!(
            n.relative(c, s, &segment(&[Ack, Psh], 5000, Some(900))),
            (0, Some(0))
        );
        assert_eq!(
            n.relative(s, c, &segment(&[Ack], 900, Some(5010))),
            (0, Some(10))
        );
    }

    #[test]
    fn an_rst_answering_a_syn_acknowledges_one() {
        let (c, s) = (addr(3000), addr(4000));
        let mut n = Numbering::default();
        assert_eq!(n.relative(c, s, &segment(&[Syn], 777, None)), (0, None));
        let rst = segment(&[Ack, TcpFlag::Rst], 0, Some(778));
        assert_eq!(n.relative(s, c, &rst), (0, Some(1)));
    }

    #[test]
    fn a_new_syn_on_the_same_addresses_starts_over() {
        let (c, s) = (addr(5000), addr(6000));
        let mut n = Numbering::default();
        n.relative(c, s, &segment(&[Syn], 100, None));
        n.relative(s, c, &segment(&[Syn, Ack], 200, Some(101)));
        assert_eq!(n.relative(c, s, &segment(&[Syn], 9000, None)), (0, None));
        assert_eq!(
            n.relative(s, c, &segment(&[Syn, Ack], 70, Some(9001))),
            (0, Some(1))
        );
    }
}
