//! One loopback frame read as a packet: the Ethernet, IP and TCP/UDP headers parsed by
//! etherparse, reduced to what the trace shows: addresses, TCP flags in the fixed order SYN,
//! ACK, FIN, RST, PSH, URG, the absolute seq (ack only with ACK set), window, payload length and
//! the payload's first bytes; `None` for anything not TCP or UDP over IP. Pure; the capture
//! socket hands the bytes in, cut to [`SNAP_BYTES`] (the lengths are read from the headers).

use std::net::{IpAddr, SocketAddr};

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use socketlab_shared::{TcpFlag, Transport};

/// How many payload bytes a packet of the trace carries (`Packet::head`).
pub(crate) const HEAD_BYTES: usize = 32;

/// How much of a frame the trace needs: the Ethernet header, the longest IPv4 header (60; an
/// IPv6 header without extensions is 40), the longest TCP header (60) and [`HEAD_BYTES`].
/// The packet socket's filter cuts every frame to this, so a busy loopback costs the relay a
/// copy of its headers only.
pub(crate) const SNAP_BYTES: usize = 14 + 60 + 60 + HEAD_BYTES;

/// What the trace needs of one TCP or UDP packet, before its numbers are made relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) transport: Transport,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    /// The TCP header's numbers and flags; `None` for UDP.
    pub(crate) tcp: Option<Segment>,
    /// Payload length: the TCP segment's data, or the UDP datagram's data.
    pub(crate) len: u32,
    /// The first [`HEAD_BYTES`] bytes of the payload.
    pub(crate) head: Vec<u8>,
}

/// The TCP header fields of a frame, absolute as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// In the order the protocol's `TcpFlag` lists them (SYN, ACK, FIN, RST, PSH, URG), which
    /// is also the order the page prints them in (`SYN,ACK`).
    pub(crate) flags: Vec<TcpFlag>,
    pub(crate) seq: u32,
    /// The acknowledgement number, only when the ACK flag is set (otherwise it means nothing).
    pub(crate) ack: Option<u32>,
    pub(crate) window: u16,
}

impl Segment {
    pub(crate) fn has(&self, flag: TcpFlag) -> bool {
        self.flags.contains(&flag)
    }
}

/// Reads one frame as the loopback interface carries it (a 14-byte Ethernet header with zero
/// addresses, then IPv4 or IPv6), whole or cut short after [`SNAP_BYTES`] (the packet
/// socket's filter keeps only that much): the lengths come from the headers, the payload's
/// first bytes from what is there. `None` for anything that is not TCP or UDP over IP (ARP,
/// ICMP, a frame cut inside its headers): the trace has nothing to say about it.
pub(crate) fn parse(bytes: &[u8]) -> Option<Frame> {
    let packet = LaxSlicedPacket::from_ethernet(bytes).ok()?;
    // What the IP header says follows its headers (the extensions included).
    let (src_ip, dst_ip, ip_payload): (IpAddr, IpAddr, usize) = match packet.net? {
        LaxNetSlice::Ipv4(ip) => {
            let extensions = ip.extensions().auth.map_or(0, |auth| auth.slice().len());
            (
                ip.header().source_addr().into(),
                ip.header().destination_addr().into(),
                usize::from(ip.header().payload_len().ok()?).checked_sub(extensions)?,
            )
        }
        LaxNetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
            usize::from(ip.header().payload_length()).checked_sub(ip.extensions().slice().len())?,
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    let frame = match packet.transport? {
        TransportSlice::Tcp(tcp) => {
            let flags = [
                (tcp.syn(), TcpFlag::Syn),
                (tcp.ack(), TcpFlag::Ack),
                (tcp.fin(), TcpFlag::Fin),
                (tcp.rst(), TcpFlag::Rst),
                (tcp.psh(), TcpFlag::Psh),
                (tcp.urg(), TcpFlag::Urg),
            ]
            .into_iter()
            .filter_map(|(set, flag)| set.then_some(flag))
            .collect();
            Frame {
                transport: Transport::Tcp,
                src: SocketAddr::new(src_ip, tcp.source_port()),
                dst: SocketAddr::new(dst_ip, tcp.destination_port()),
                tcp: Some(Segment {
                    flags,
                    seq: tcp.sequence_number(),
                    ack: tcp.ack().then(|| tcp.acknowledgment_number()),
                    window: tcp.window_size(),
                }),
                len: payload_len(ip_payload.checked_sub(tcp.header_slice().len())?),
                head: head(tcp.payload()),
            }
        }
        TransportSlice::Udp(udp) => Frame {
            transport: Transport::Udp,
            src: SocketAddr::new(src_ip, udp.source_port()),
            dst: SocketAddr::new(dst_ip, udp.destination_port()),
            tcp: None,
            len: payload_len(ip_payload.checked_sub(udp.header_slice().len())?),
            head: head(udp.payload()),
        },
        TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_) | TransportSlice::Igmp(_) => {
            return None;
        }
    };
    Some(frame)
}

fn payload_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn head(payload: &[u8]) -> Vec<u8> {
    payload[..payload.len().min(HEAD_BYTES)].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex with spaces and line breaks, as a dump prints it.
    fn bytes(hex: &str) -> Vec<u8> {
        let digits: Vec<u8> = hex.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// A SYN recorded on `lo` (a packet socket, as the capture reads it): 127.0.0.1:40044 ->
    /// 127.0.0.1:49203, seq 0xa223fb2e, window 65495, options MSS 65495, SACK permitted,
    /// timestamps, window scale 10.
    const RECORDED_SYN: &str = "
        0000 0000 0000 0000 0000 0000 0800 4500 003c 0737 4000 4006 3583 7f00 0001 7f00
        0001 9c6c c033 a223 fb2e 0000 0000 a002 ffd7 fe30 0000 0204 ffd7 0402 080a f70c
        55e2 0000 0000 0103 030a";

    /// The same connection's first data segment, `hi\n`, recorded right after the handshake.
    const RECORDED_DATA: &str = "
        0000 0000 0000 0000 0000 0000 0800 4500 0037 0739 4000 4006 3586 7f00 0001 7f00
        0001 9c6c c033 a223 fb2f b2f9 5054 8018 0040 fe2b 0000 0101 080a f70c 55e2 3079
        1300 6869 0a";

    #[test]
    fn a_recorded_loopback_syn_is_read_with_its_numbers() {
        let frame = parse(&bytes(RECORDED_SYN)).expect("a TCP frame");
        assert_eq!(frame.transport, Transport::Tcp);
        assert_eq!(frame.src, "127.0.0.1:40044".parse().unwrap());
        assert_eq!(frame.dst, "127.0.0.1:49203".parse().unwrap());
        let tcp = frame.tcp.expect("TCP fields");
        assert_eq!(tcp.flags, vec![TcpFlag::Syn]);
        assert_eq!(tcp.seq, 0xa223_fb2e);
        assert_eq!(tcp.ack, None, "no ACK flag, so no acknowledgement number");
        assert_eq!(tcp.window, 65495);
        assert_eq!((frame.len, frame.head), (0, vec![]));
    }

    #[test]
    fn a_recorded_data_segment_has_its_length_and_first_bytes() {
        let frame = parse(&bytes(RECORDED_DATA)).expect("a TCP frame");
        let tcp = frame.tcp.expect("TCP fields");
        assert_eq!(tcp.flags, vec![TcpFlag::Ack, TcpFlag::Psh]);
        assert_eq!((tcp.seq, tcp.ack), (0xa223_fb2f, Some(0xb2f9_5054)));
        assert_eq!((frame.len, frame.head), (3, b"hi\n".to_vec()));
    }

    /// A data segment with ACK and PSH over IPv6 (::1), 3 bytes `hi\n`, written out by hand in
    /// the layout of the recording above (IPv6 header instead of IPv4).
    const RECORDED_V6_DATA: &str = "
        0000 0000 0000 0000 0000 0000 86dd 6000
        0000 0023 0640 0000 0000 0000 0000 0000
        0000 0000 0001 0000 0000 0000 0000 0000
        0000 0000 0001 d1d0 a028 0000 0065 0000
        00c9 8018 0200 0000 0000 0101 080a 0000
        0001 0000 0002 6869 0a";

    #[test]
    fn an_ipv6_data_segment_has_its_length_and_first_bytes() {
        let frame = parse(&bytes(RECORDED_V6_DATA)).expect("a TCP frame");
        assert_eq!(frame.src, "[::1]:53712".parse().unwrap());
        assert_eq!(frame.dst, "[::1]:41000".parse().unwrap());
        let tcp = frame.tcp.expect("TCP fields");
        assert_eq!(tcp.flags, vec![TcpFlag::Ack, TcpFlag::Psh]);
        assert_eq!((tcp.seq, tcp.ack, tcp.window), (0x65, Some(0xc9), 512));
        assert_eq!((frame.len, frame.head), (3, b"hi\n".to_vec()));
    }

    #[test]
    fn a_udp_datagram_has_its_length_and_a_long_payload_only_its_head() {
        let mut frame = Vec::new();
        etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(39000, 41001)
            .write(&mut frame, &[b'x'; 100])
            .unwrap();
        let frame = parse(&frame).expect("a UDP frame");
        assert_eq!(frame.transport, Transport::Udp);
        assert_eq!(frame.tcp, None);
        assert_eq!(frame.len, 100);
        assert_eq!(frame.head, vec![b'x'; HEAD_BYTES]);
    }

    #[test]
    fn what_is_not_tcp_or_udp_over_ip_is_not_a_packet_of_the_trace() {
        let mut icmp = Vec::new();
        etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut icmp, b"ping")
            .unwrap();
        assert_eq!(parse(&icmp), None);
        assert_eq!(parse(&[0; 10]), None, "too short for an Ethernet header");
        assert_eq!(
            parse(&bytes(RECORDED_SYN)[..40]),
            None,
            "cut inside its TCP header"
        );
    }

    /// A frame on `lo` between 127.0.0.1 or ::1 and itself, up to its transport header.
    fn on_loopback(v6: bool) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6]);
        if v6 {
            let one = std::net::Ipv6Addr::LOCALHOST.octets();
            builder.ipv6(one, one, 64)
        } else {
            builder.ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        }
    }

    #[test]
    fn a_frame_cut_to_the_snap_length_keeps_its_lengths_from_the_headers() {
        for v6 in [false, true] {
            let mut segment = Vec::new();
            on_loopback(v6)
                .tcp(40000, 41000, 7, 512)
                .ack(9)
                .write(&mut segment, &[b'y'; 60_000])
                .unwrap();
            let frame = parse(&segment[..SNAP_BYTES]).expect("a TCP frame, cut");
            assert_eq!(frame.len, 60_000, "IPv6: {v6}");
            assert_eq!(frame.head, vec![b'y'; HEAD_BYTES]);
            assert_eq!(frame.tcp.map(|s| (s.seq, s.ack)), Some((7, Some(9))));

            let mut datagram = Vec::new();
            on_loopback(v6)
                .udp(40000, 41001)
                .write(&mut datagram, &[b'z'; 9_000])
                .unwrap();
            let frame = parse(&datagram[..SNAP_BYTES]).expect("a UDP frame, cut");
            assert_eq!((frame.len, frame.head), (9_000, vec![b'z'; HEAD_BYTES]));
        }
    }
}
