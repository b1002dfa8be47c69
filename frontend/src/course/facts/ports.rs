//! The three port number ranges of RFC 6335 (section 6, "Port Number Ranges"), which the IANA
//! "Service Name and Transport Protocol Port Number Registry" uses (`PortRange`, `range_of`), and
//! what a given port means on the learner's machine: `may_bind`, from the machine's
//! `unprivileged_port_start`; `parse_port`. The facts are tested against RFC 6335's numbers.

use socketlab_shared::Machine;

/// One of RFC 6335's three ranges. RFC 6335 section 6: "the System Ports, also known as the
/// Well Known Ports, from 0-1023 (assigned by IANA); the User Ports, also known as the
/// Registered Ports, from 1024-49151 (assigned by IANA); the Dynamic Ports, also known as the
/// Private or Ephemeral Ports, from 49152-65535 (never assigned)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortRange {
    System,
    User,
    Dynamic,
}

impl PortRange {
    #[cfg(test)]
    pub(crate) const ALL: [PortRange; 3] = [PortRange::System, PortRange::User, PortRange::Dynamic];

    /// The first and last port of the range, inclusive.
    pub(crate) fn bounds(self) -> (u16, u16) {
        match self {
            PortRange::System => (0, 1023),
            PortRange::User => (1024, 49151),
            PortRange::Dynamic => (49152, 65535),
        }
    }

    /// RFC 6335's name and its older alias (RFC 1700's words, still common in teaching).
    pub(crate) fn name(self) -> &'static str {
        match self {
            PortRange::System => "system (well-known) ports",
            PortRange::User => "user (registered) ports",
            PortRange::Dynamic => "dynamic (private, ephemeral) ports",
        }
    }

    /// What the range is for, in one sentence, true to RFC 6335.
    pub(crate) fn about(self) -> &'static str {
        match self {
            PortRange::System => {
                "IANA assigns these only by IETF Review or IESG Approval (RFC 6335 section 8.1.2); Unix systems traditionally let only privileged programs bind them."
            }
            PortRange::User => {
                "IANA assigns (registers) these to services on request; a registration is a convention, not a lock: any program may bind a free one."
            }
            PortRange::Dynamic => {
                "Never assigned by IANA; meant for ports a kernel hands out to clients and for private use (Linux's own ephemeral range is a sysctl and differs)."
            }
        }
    }
}

/// The range `port` falls in.
pub(crate) fn range_of(port: u16) -> PortRange {
    match port {
        0..=1023 => PortRange::System,
        1024..=49151 => PortRange::User,
        49152..=u16::MAX => PortRange::Dynamic,
    }
}

/// Whether an unprivileged program on the relay's machine may bind `port`, as far as the
/// machine's facts tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MayBind {
    /// Port 0 is not a port to bind to: binding it asks the kernel to choose one.
    KernelChooses,
    /// At or above the machine's `net.ipv4.ip_unprivileged_port_start`.
    Yes { unprivileged_from: u16 },
    /// Below it: an unprivileged bind gets EACCES (root or CAP_NET_BIND_SERVICE may).
    NeedsPrivilege { unprivileged_from: u16 },
    /// The machine has no such setting (not Linux): the classic Unix rule is 1024, Windows
    /// has no privileged ports; the relay could not say which applies.
    Unknown,
}

/// What this machine lets an unprivileged program do with `port`.
pub(crate) fn may_bind(port: u16, machine: Option<&Machine>) -> MayBind {
    if port == 0 {
        return MayBind::KernelChooses;
    }
    match machine.and_then(|m| m.unprivileged_port_start) {
        Some(start) if port >= start => MayBind::Yes {
            unprivileged_from: start,
        },
        Some(start) => MayBind::NeedsPrivilege {
            unprivileged_from: start,
        },
        None => MayBind::Unknown,
    }
}

/// Reads a port typed by the learner: a whole number from 0 to 65535.
pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Type a port number.".into());
    }
    match text.parse::<u32>() {
        Ok(n) if n <= u32::from(u16::MAX) => Ok(n as u16),
        Ok(n) => Err(format!(
            "{n} is too big: a port is a 16-bit number, 0 to 65535."
        )),
        Err(_) => Err(format!("{text:?} is not a whole number from 0 to 65535.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6335 section 6's numbers, at every edge.
    #[test]
    fn ranges_match_rfc_6335_section_6() {
        assert_eq!(PortRange::System.bounds(), (0, 1023));
        assert_eq!(PortRange::User.bounds(), (1024, 49151));
        assert_eq!(PortRange::Dynamic.bounds(), (49152, 65535));
        for (port, range) in [
            (0, PortRange::System),
            (1023, PortRange::System),
            (1024, PortRange::User),
            (49151, PortRange::User),
            (49152, PortRange::Dynamic),
            (65535, PortRange::Dynamic),
        ] {
            assert_eq!(range_of(port), range, "port {port}");
        }
    }

    #[test]
    fn the_ranges_cover_all_65536_ports_without_overlap() {
        let total: u32 = PortRange::ALL
            .iter()
            .map(|r| {
                let (first, last) = r.bounds();
                u32::from(last) - u32::from(first) + 1
            })
            .sum();
        assert_eq!(total, 65_536);
        for range in PortRange::ALL {
            let (first, last) = range.bounds();
            assert_eq!(range_of(first), range);
            assert_eq!(range_of(last), range);
        }
    }

    fn linux(start: Option<u16>) -> Machine {
        Machine {
            os: "linux".into(),
            root: false,
            unprivileged_port_start: start,
            ephemeral_ports: None,
            ephemeral_source: None,
            pid: 1,
            user: None,
            namespace_thread: None,
        }
    }

    #[test]
    fn binding_is_judged_by_this_machines_unprivileged_port_start() {
        let classic = linux(Some(1024));
        assert_eq!(
            may_bind(80, Some(&classic)),
            MayBind::NeedsPrivilege {
                unprivileged_from: 1024
            }
        );
        assert_eq!(
            may_bind(1024, Some(&classic)),
            MayBind::Yes {
                unprivileged_from: 1024
            }
        );
        // Some systems (rootless containers, recent distributions) lower it to 0 or 80.
        assert_eq!(
            may_bind(80, Some(&linux(Some(80)))),
            MayBind::Yes {
                unprivileged_from: 80
            }
        );
        assert_eq!(may_bind(80, Some(&linux(None))), MayBind::Unknown);
        assert_eq!(may_bind(80, None), MayBind::Unknown);
        assert_eq!(may_bind(0, Some(&classic)), MayBind::KernelChooses);
    }

    #[test]
    fn typed_ports_are_16_bit_numbers() {
        assert_eq!(parse_port(" 8080 "), Ok(8080));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
        assert!(parse_port("http").is_err());
        assert!(parse_port("").is_err());
    }
}
