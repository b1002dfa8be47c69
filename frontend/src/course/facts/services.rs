//! The well-known services table lessons teach: port, IANA service name, protocol and the transport
//! it really uses, with a note where common teaching material is loose (194 vs 6667, 465's history,
//! HTTPS over TCP and QUIC apart on 443/udp, DNS over TCP; 162, 445, 546/547 and 8080 too). Source:
//! the IANA "Service Name and Transport Protocol Port Number Registry" (RFC 6335) and the RFCs
//! named in the notes; lookups also read this machine's own `/etc/services` from the relay. Tested
//! against the IANA names; the quiz answers HTTPS as TCP.

use socketlab_shared::{ServiceName, Transport};

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WellKnown {
    pub(crate) port: u16,
    /// The IANA service name (what `/etc/services` calls it).
    pub(crate) name: &'static str,
    /// What a newcomer calls it.
    pub(crate) protocol: &'static str,
    /// The transports the protocol really runs over. IANA often registers a port for both TCP
    /// and UDP even where the protocol only uses one; this lists the one(s) in use.
    pub(crate) transports: &'static [Transport],
    /// The truth where teaching material is loose.
    pub(crate) note: Option<&'static str>,
}

const TCP: &[Transport] = &[Transport::Tcp];
const UDP: &[Transport] = &[Transport::Udp];
const BOTH: &[Transport] = &[Transport::Tcp, Transport::Udp];

const fn row(
    port: u16,
    name: &'static str,
    protocol: &'static str,
    transports: &'static [Transport],
    note: Option<&'static str>,
) -> WellKnown {
    WellKnown {
        port,
        name,
        protocol,
        transports,
        note,
    }
}

/// The table, by port. Numbers and service names: the IANA registry (Debian's /etc/services,
/// generated from it, spells them the same). Transports: the protocols' own RFCs (DNS over TCP:
/// RFC 7766; DHCP: RFC 2131; NTP: RFC 5905; SNMP: RFC 3417; HTTP/3 over QUIC: RFC 9000,
/// RFC 9114; submission: RFC 6409; implicit TLS for mail: RFC 8314; IRC over TLS: RFC 7194;
/// DHCPv6: RFC 8415). IANA names 162 `snmptrap`, which Debian spells `snmp-trap` (with
/// `snmptrap` as its alias).
pub(crate) const WELL_KNOWN: &[WellKnown] = &[
    row(
        20,
        "ftp-data",
        "FTP data",
        TCP,
        Some(
            "Only active-mode FTP uses port 20 (the server connects from it); passive mode uses a port the server picks.",
        ),
    ),
    row(21, "ftp", "FTP control", TCP, None),
    row(22, "ssh", "SSH", TCP, None),
    row(
        23,
        "telnet",
        "Telnet",
        TCP,
        Some("Unencrypted: passwords cross the network in clear text; SSH replaced it."),
    ),
    row(
        25,
        "smtp",
        "SMTP (mail between servers)",
        TCP,
        Some("Servers relay mail to each other on 25; mail programs should submit on 587 or 465."),
    ),
    row(
        53,
        "domain",
        "DNS",
        BOTH,
        Some(
            "UDP for most queries; TCP for zone transfers and answers too big for a datagram (RFC 7766 requires TCP support).",
        ),
    ),
    row(
        67,
        "bootps",
        "DHCP server (BOOTP)",
        UDP,
        Some("DHCP uses two ports: the server listens on 67, the client on 68."),
    ),
    row(68, "bootpc", "DHCP client (BOOTP)", UDP, None),
    row(80, "http", "HTTP", TCP, None),
    row(110, "pop3", "POP3", TCP, None),
    row(119, "nntp", "NNTP (Usenet news)", TCP, None),
    row(123, "ntp", "NTP (time)", UDP, None),
    row(143, "imap", "IMAP", TCP, None),
    row(
        161,
        "snmp",
        "SNMP",
        UDP,
        Some("Agents listen on 161; traps go to the manager on 162."),
    ),
    row(
        162,
        "snmptrap",
        "SNMP traps",
        UDP,
        Some("The managing station listens here for the alerts devices send (RFC 3417)."),
    ),
    row(
        194,
        "irc",
        "IRC",
        TCP,
        Some(
            "IANA assigns 194 to IRC, but IRC servers almost all use 6667 (and 6697 for IRC over TLS, RFC 7194): 194 is a system port, which would need privilege to bind.",
        ),
    ),
    row(
        443,
        "https",
        "HTTPS (HTTP over TLS)",
        TCP,
        Some(
            "HTTPS is HTTP over TLS, which runs over TCP. UDP 443 is registered too and carries QUIC, the transport of HTTP/3 (RFC 9000, RFC 9114): QUIC uses TLS 1.3's handshake, but it is not TLS records over UDP.",
        ),
    ),
    row(
        445,
        "microsoft-ds",
        "SMB (Windows file sharing)",
        TCP,
        Some("SMB straight over TCP, without the NetBIOS ports 137-139 it once needed."),
    ),
    row(
        465,
        "submissions",
        "Mail submission over TLS (SMTPS)",
        TCP,
        Some(
            "IANA assigned 465 to SMTP over SSL in the late 1990s, soon revoked it in favour of STARTTLS and gave the number to another service, yet mail programs kept using it; RFC 8314 (2018) made it official again as message submission over implicit TLS, not server-to-server mail.",
        ),
    ),
    row(
        546,
        "dhcpv6-client",
        "DHCPv6 client",
        UDP,
        Some("IPv6's DHCP (RFC 8415): clients listen on 546, servers and relays on 547."),
    ),
    row(547, "dhcpv6-server", "DHCPv6 server", UDP, None),
    row(
        587,
        "submission",
        "Mail submission",
        TCP,
        Some(
            "Where mail programs hand outgoing mail to their server (RFC 6409), upgraded to TLS with STARTTLS.",
        ),
    ),
    row(993, "imaps", "IMAP over TLS", TCP, None),
    row(995, "pop3s", "POP3 over TLS", TCP, None),
    row(3306, "mysql", "MySQL", TCP, None),
    row(
        3389,
        "ms-wbt-server",
        "RDP (Remote Desktop)",
        BOTH,
        Some("RDP runs over TCP 3389; newer clients add a UDP channel on the same port."),
    ),
    row(5432, "postgresql", "PostgreSQL", TCP, None),
    row(6379, "redis", "Redis", TCP, None),
    row(
        8080,
        "http-alt",
        "HTTP (the usual alternative port)",
        TCP,
        Some("Not a system port, so a development server needs no privilege to bind it."),
    ),
    row(27017, "mongodb", "MongoDB", TCP, None),
];

/// The built-in row for `port`, if the table has one.
pub(crate) fn well_known(port: u16) -> Option<&'static WellKnown> {
    WELL_KNOWN.iter().find(|row| row.port == port)
}

/// The names this machine's `/etc/services` gives `port`, one per transport line.
pub(crate) fn on_this_machine(port: u16, names: &[ServiceName]) -> Vec<&ServiceName> {
    names.iter().filter(|name| name.port == port).collect()
}

/// How the transports read in a table: `TCP`, `UDP` or `TCP and UDP`.
pub(crate) fn transports_label(transports: &[Transport]) -> String {
    transports
        .iter()
        .map(|t| t.name().to_uppercase())
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every port the issue names is in the table, once, in port order.
    #[test]
    fn the_table_has_every_port_the_course_teaches_in_order() {
        let ports: Vec<u16> = WELL_KNOWN.iter().map(|row| row.port).collect();
        assert_eq!(
            ports,
            [
                20, 21, 22, 23, 25, 53, 67, 68, 80, 110, 119, 123, 143, 161, 162, 194, 443, 445,
                465, 546, 547, 587, 993, 995, 3306, 3389, 5432, 6379, 8080, 27017
            ]
        );
    }

    /// IANA's service names (as Debian's /etc/services, taken from the registry, spells them)
    /// and the transports each protocol really uses.
    #[test]
    fn names_and_transports_match_the_iana_registry() {
        for (port, name, transports) in [
            (22, "ssh", TCP),
            (53, "domain", BOTH),
            (67, "bootps", UDP),
            (68, "bootpc", UDP),
            (123, "ntp", UDP),
            (161, "snmp", UDP),
            (162, "snmptrap", UDP),
            // HTTPS is HTTP over TLS over TCP; QUIC on UDP 443 is HTTP/3's own transport.
            (443, "https", TCP),
            (445, "microsoft-ds", TCP),
            (546, "dhcpv6-client", UDP),
            (547, "dhcpv6-server", UDP),
            (8080, "http-alt", TCP),
            (465, "submissions", TCP),
            (587, "submission", TCP),
            (3389, "ms-wbt-server", BOTH),
        ] {
            let row = well_known(port).expect("in the table");
            assert_eq!(
                (row.name, row.transports),
                (name, transports),
                "port {port}"
            );
        }
    }

    #[test]
    fn loose_teaching_is_corrected_in_a_note() {
        let irc = well_known(194).and_then(|r| r.note).expect("a note on IRC");
        assert!(irc.contains("6667"));
        let smtps = well_known(465).and_then(|r| r.note).expect("a note on 465");
        assert!(smtps.contains("RFC 8314"));
        let https = well_known(443).and_then(|r| r.note).expect("a note on 443");
        assert!(https.contains("QUIC"));
    }

    #[test]
    fn this_machines_names_are_found_by_port() {
        let names = vec![
            ServiceName {
                name: "domain".into(),
                port: 53,
                transport: Transport::Tcp,
                aliases: vec![],
            },
            ServiceName {
                name: "domain".into(),
                port: 53,
                transport: Transport::Udp,
                aliases: vec![],
            },
            ServiceName {
                name: "ssh".into(),
                port: 22,
                transport: Transport::Tcp,
                aliases: vec![],
            },
        ];
        assert_eq!(on_this_machine(53, &names).len(), 2);
        assert!(on_this_machine(80, &names).is_empty());
        assert_eq!(transports_label(BOTH), "TCP and UDP");
    }
}
