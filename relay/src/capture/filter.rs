//! The classic BPF program attached to the packet socket, so the kernel itself drops what the
//! trace never shows before it is copied to the relay: frames that are not TCP or UDP over
//! IPv4 or IPv6, and TCP on the relay's own port (the pages' WebSockets, which carry the
//! traces themselves: without this, every packet streamed would wake the capture again). What
//! it keeps, it cuts to [`SNAP_BYTES`](super::frame::SNAP_BYTES): the kernel copies the
//! headers and the payload's first bytes, never a 64 KiB segment.
//!
//! Written out as `tcpdump -d` prints a program (offsets into the loopback frame: a 14-byte
//! Ethernet header, then IP), equivalent to the filter expression
//! `(ip or ip6) and (udp or (tcp and not port RELAY))`. IPv6 extension headers are not
//! followed (the lab's sockets send none); a non-first IPv4 fragment has no ports and passes.

/// The program for a relay listening on TCP port `relay_port`.
pub(crate) fn program(relay_port: u16) -> Vec<libc::sock_filter> {
    let port = u32::from(relay_port);
    let snap = u32::try_from(super::frame::SNAP_BYTES).unwrap_or(u32::MAX);
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    vec![
        /* 00 */ op(0x28, 0, 0, 12), // ldh [12]              ethertype
        /* 01 */ op(0x15, 0, 7, 0x0800), // jeq #0x800  02 / 09   IPv4?
        /* 02 */ op(0x30, 0, 0, 23), // ldb [23]              IPv4 protocol
        /* 03 */ op(0x15, 14, 0, 17), // jeq #17     18 / 04   UDP: keep
        /* 04 */ op(0x15, 0, 14, 6), // jeq #6      05 / 19   TCP, else drop
        /* 05 */ op(0x28, 0, 0, 20), // ldh [20]              flags + fragment offset
        /* 06 */ op(0x45, 11, 0, 0x1fff), // jset #0x1fff 18 / 07  later fragment: keep
        /* 07 */ op(0xb1, 0, 0, 14), // ldxb 4*([14]&0xf)     x = IPv4 header length
        /* 08 */ op(0x05, 0, 0, 5), // ja 14                 to the ports
        /* 09 */ op(0x15, 0, 9, 0x86dd), // jeq #0x86dd 10 / 19   IPv6, else drop
        /* 10 */ op(0x30, 0, 0, 20), // ldb [20]              IPv6 next header
        /* 11 */ op(0x15, 6, 0, 17), // jeq #17     18 / 12   UDP: keep
        /* 12 */ op(0x15, 0, 6, 6), // jeq #6      13 / 19   TCP, else drop
        /* 13 */ op(0x01, 0, 0, 40), // ldx #40               x = IPv6 header length
        /* 14 */ op(0x48, 0, 0, 14), // ldh [x + 14]          TCP source port
        /* 15 */ op(0x15, 3, 0, port), // jeq #RELAY  19 / 16
        /* 16 */ op(0x48, 0, 0, 16), // ldh [x + 16]          TCP destination port
        /* 17 */ op(0x15, 1, 0, port), // jeq #RELAY  19 / 18
        /* 18 */ op(0x06, 0, 0, snap), // ret #SNAP            keep the headers
        /* 19 */ op(0x06, 0, 0, 0), // ret #0                drop
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every jump lands inside the program, and every path ends in a return: what the kernel's
    /// checker demands (it refuses the program otherwise, and `open` would fail).
    #[test]
    fn every_jump_lands_on_an_instruction_of_the_program() {
        let program = program(7878);
        for (at, op) in program.iter().enumerate() {
            let next = at + 1;
            let targets: Vec<usize> = match op.code {
                0x15 | 0x45 => vec![next + usize::from(op.jt), next + usize::from(op.jf)],
                0x05 => vec![next + usize::try_from(op.k).unwrap()],
                0x06 => vec![],
                _ => vec![next],
            };
            for target in targets {
                assert!(target < program.len(), "instruction {at} jumps out");
            }
        }
        assert_eq!(program.last().map(|op| op.code), Some(0x06));
    }
}
