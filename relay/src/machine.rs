//! What the relay's machine says about ports, for the lessons: the lowest port an unprivileged
//! program may bind and the ephemeral port range, read when a session opens, so a changed
//! setting shows at the next reload (Linux: `/proc/sys/net/ipv4`; macOS: the sysctls
//! `net.inet.ip.portrange.first` and `.last`; Windows: `netsh int ipv4 show dynamicport tcp`,
//! else the documented default, marked as such), and the machine's own services list
//! (`/etc/services`, read once at start, size-capped, hand-parsed).
//!
//! Everything here only reads; a file that is missing or odd gives `None` or an empty list,
//! never an error: the lessons then say the machine did not tell.

use std::io::Read as _;

use socketlab_shared::{FactSource, Machine, PortRange, ServiceName, Transport};

/// The most bytes of `/etc/services` read (Debian's is about 13 KB; a huge file is cut here).
const MAX_SERVICES_BYTES: u64 = 256 * 1024;
/// The most entries sent to the page (each becomes a few dozen bytes of JSON).
const MAX_SERVICE_NAMES: usize = 4096;
/// The most aliases kept per entry, and the longest name kept (longer ones are skipped).
const MAX_ALIASES: usize = 8;
const MAX_NAME_BYTES: usize = 64;

const SERVICES_FILE: &str = "/etc/services";

/// The machine's facts as they are now. `root` is what the relay read at start.
pub(crate) fn machine(root: bool) -> Machine {
    let (ephemeral_ports, ephemeral_source) = match ephemeral_ports() {
        Some((range, source)) => (Some(range), Some(source)),
        None => (None, None),
    };
    Machine {
        os: std::env::consts::OS.into(),
        root,
        unprivileged_port_start: unprivileged_port_start(),
        ephemeral_ports,
        ephemeral_source,
        pid: std::process::id(),
        user: user_name(),
        namespace_thread: None,
    }
}

/// The name of the user the relay runs as (Task Manager's "User name" column).
#[cfg(windows)]
fn user_name() -> Option<String> {
    std::env::var("USERNAME")
        .ok()
        .filter(|name| !name.is_empty())
}

/// The name of the user the relay runs as, from the password database (`lsof`'s USER column).
#[cfg(unix)]
fn user_name() -> Option<String> {
    // In a user namespace of its own (an ordinary user's isolated relay) the relay is uid 0
    // there, but on the machine it is the user who started it: that is who `lsof` shows.
    #[cfg(target_os = "linux")]
    if let Some((uid, _)) = crate::isolation::userns::outside() {
        return nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|user| user.name);
    }
    nix::unistd::User::from_uid(nix::unistd::Uid::effective())
        .ok()
        .flatten()
        .map(|user| user.name)
}

#[cfg(target_os = "linux")]
fn unprivileged_port_start() -> Option<u16> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start").ok()?;
    parse_port(&text)
}

#[cfg(not(target_os = "linux"))]
fn unprivileged_port_start() -> Option<u16> {
    None
}

/// The ephemeral range and where it came from.
#[cfg(target_os = "linux")]
fn ephemeral_ports() -> Option<(PortRange, FactSource)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let range = parse_port_range(&text)?;
    Some((range, setting("net.ipv4.ip_local_port_range")))
}

/// macOS: the two sysctls (`sysctl net.inet.ip.portrange`), else the documented default.
#[cfg(target_os = "macos")]
fn ephemeral_ports() -> Option<(PortRange, FactSource)> {
    /// A sysctl that holds a C int, by name.
    #[allow(unsafe_code)] // sysctlbyname(3): no safe wrapper in the crates the relay uses.
    fn int(name: &std::ffi::CStr) -> Option<i32> {
        let mut value: libc::c_int = 0;
        let mut size = std::mem::size_of::<libc::c_int>();
        // SAFETY: sysctlbyname writes at most `size` bytes into `value`, which is that big and
        // alive for the call; the name is NUL-terminated; nothing is set (new is null).
        let rc = unsafe {
            libc::sysctlbyname(
                name.as_ptr(),
                (&raw mut value).cast(),
                &raw mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        (rc == 0 && size == std::mem::size_of::<libc::c_int>()).then_some(value)
    }
    let read = int(c"net.inet.ip.portrange.first")
        .zip(int(c"net.inet.ip.portrange.last"))
        .and_then(|(first, last)| port_range_of(first, last));
    Some(match read {
        Some(range) => (
            range,
            setting("net.inet.ip.portrange.first and net.inet.ip.portrange.last"),
        ),
        None => (
            IANA_DYNAMIC,
            documented("macOS's default, the IANA dynamic range (sysctl net.inet.ip.portrange)"),
        ),
    })
}

/// Windows: `netsh int ipv4 show dynamicport tcp` (the tool Microsoft documents for it), else
/// the documented default.
#[cfg(windows)]
fn ephemeral_ports() -> Option<(PortRange, FactSource)> {
    let shown = std::process::Command::new("netsh")
        .args(["int", "ipv4", "show", "dynamicport", "tcp"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| parse_netsh_dynamic_ports(&String::from_utf8_lossy(&output.stdout)));
    Some(match shown {
        Some(range) => (range, setting("netsh int ipv4 show dynamicport tcp")),
        None => (
            IANA_DYNAMIC,
            documented("Microsoft KB 929851: Windows Vista and later"),
        ),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn ephemeral_ports() -> Option<(PortRange, FactSource)> {
    None
}

/// The range IANA reserves for dynamic ports (RFC 6335), macOS's and Windows' default.
#[cfg(any(target_os = "macos", windows, test))]
const IANA_DYNAMIC: PortRange = PortRange {
    first: 49152,
    last: 65535,
};

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
fn setting(name: &str) -> FactSource {
    FactSource::Setting { name: name.into() }
}

#[cfg(any(target_os = "macos", windows))]
fn documented(reference: &str) -> FactSource {
    FactSource::DocumentedDefault {
        reference: reference.into(),
    }
}

/// Two sysctl values as a range: both ports, the first not above the last.
#[cfg(any(target_os = "macos", test))]
fn port_range_of(first: i32, last: i32) -> Option<PortRange> {
    let first = u16::try_from(first).ok()?;
    let last = u16::try_from(last).ok()?;
    (first > 0 && first <= last).then_some(PortRange { first, last })
}

/// What `netsh int ipv4 show dynamicport tcp` prints, in any language: two lines of
/// `label : number`, the start port and then the number of ports (English: "Start Port" and
/// "Number of Ports"), so the numbers are taken in order rather than by their labels.
#[cfg(any(windows, test))]
fn parse_netsh_dynamic_ports(text: &str) -> Option<PortRange> {
    let mut numbers = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter_map(|(_, value)| value.trim().parse::<u32>().ok());
    let start = numbers.next()?;
    let count = numbers.next()?;
    if numbers.next().is_some() || count == 0 {
        return None;
    }
    let first = u16::try_from(start).ok()?;
    let last = u16::try_from(start + count - 1).ok()?;
    (first > 0).then_some(PortRange { first, last })
}

/// One port number, as a sysctl file holds it (`1024\n`).
#[cfg(any(target_os = "linux", test))]
fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse().ok()
}

/// Two port numbers separated by white space (`32768\t60999\n`), the first not above the last.
#[cfg(any(target_os = "linux", test))]
fn parse_port_range(text: &str) -> Option<PortRange> {
    let mut words = text.split_whitespace();
    let first = words.next()?.parse().ok()?;
    let last = words.next()?.parse().ok()?;
    (words.next().is_none() && first <= last).then_some(PortRange { first, last })
}

/// This machine's services list, or an empty list where there is none.
pub(crate) fn service_names() -> Vec<ServiceName> {
    let mut text = String::new();
    let read = std::fs::File::open(SERVICES_FILE).and_then(|file| {
        let mut bytes = Vec::new();
        file.take(MAX_SERVICES_BYTES).read_to_end(&mut bytes)?;
        text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(())
    });
    if let Err(err) = read {
        tracing::info!(%err, file = SERVICES_FILE, "no services list to send");
        return Vec::new();
    }
    parse_services(&text)
}

/// The services(5) format: `name port/protocol [aliases...] [# comment]`, one per line. Lines
/// for protocols other than tcp and udp (sctp, ddp) and lines that do not parse are skipped;
/// at most [`MAX_SERVICE_NAMES`] entries are kept.
fn parse_services(text: &str) -> Vec<ServiceName> {
    text.lines()
        .filter_map(parse_service_line)
        .take(MAX_SERVICE_NAMES)
        .collect()
}

fn parse_service_line(line: &str) -> Option<ServiceName> {
    let line = line.split('#').next().unwrap_or_default();
    let mut words = line.split_whitespace();
    let name = words.next().filter(|n| n.len() <= MAX_NAME_BYTES)?;
    let (port, protocol) = words.next()?.split_once('/')?;
    let transport = match protocol.to_ascii_lowercase().as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        _ => return None,
    };
    Some(ServiceName {
        name: name.into(),
        port: port.parse().ok()?,
        transport,
        aliases: words
            .filter(|a| a.len() <= MAX_NAME_BYTES)
            .take(MAX_ALIASES)
            .map(Into::into)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netsh_dynamic_ports_in_english_and_german() {
        let english = "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\nStart Port      : 49152\r\nNumber of Ports : 16384\r\n\r\n";
        assert_eq!(
            parse_netsh_dynamic_ports(english),
            Some(PortRange {
                first: 49152,
                last: 65535
            })
        );
        let german = "\r\nProtokoll tcp Dynamischer Portbereich\r\n---------------------------------\r\nStartport       : 10000\r\nAnzahl der Ports: 1000\r\n";
        assert_eq!(
            parse_netsh_dynamic_ports(german),
            Some(PortRange {
                first: 10000,
                last: 10999
            })
        );
        // Nothing sensible: no range rather than a wrong one.
        assert_eq!(parse_netsh_dynamic_ports(""), None);
        assert_eq!(parse_netsh_dynamic_ports("Start Port : 49152\n"), None);
        assert_eq!(
            parse_netsh_dynamic_ports("Start Port : 60000\nNumber of Ports : 16384\n"),
            None,
            "beyond port 65535"
        );
        assert_eq!(
            parse_netsh_dynamic_ports("Start Port : 49152\nNumber of Ports : 0\n"),
            None
        );
    }

    #[test]
    fn macos_portrange_sysctls_make_a_range_only_when_sensible() {
        assert_eq!(
            port_range_of(49152, 65535),
            Some(PortRange {
                first: 49152,
                last: 65535
            })
        );
        assert_eq!(port_range_of(0, 65535), None);
        assert_eq!(port_range_of(60000, 50000), None);
        assert_eq!(port_range_of(49152, 70000), None);
        assert_eq!(port_range_of(-1, 10), None);
        assert_eq!(IANA_DYNAMIC.last - IANA_DYNAMIC.first + 1, 16384);
    }

    fn entry(name: &str, port: u16, transport: Transport, aliases: &[&str]) -> ServiceName {
        ServiceName {
            name: name.into(),
            port,
            transport,
            aliases: aliases.iter().map(|a| (*a).into()).collect(),
        }
    }

    #[test]
    fn a_services_file_gives_name_port_transport_and_aliases() {
        let text = "# Network services, Internet style\n\
                    \n\
                    tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer\n\
                    ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\n\
                    domain\t\t53/udp\n\
                    smtp\t\t25/tcp\t\tmail\n\
                    http\t\t80/tcp\t\twww www-http\t# WorldWideWeb HTTP\n";
        assert_eq!(
            parse_services(text),
            vec![
                entry("tcpmux", 1, Transport::Tcp, &[]),
                entry("ssh", 22, Transport::Tcp, &[]),
                entry("domain", 53, Transport::Udp, &[]),
                entry("smtp", 25, Transport::Tcp, &["mail"]),
                entry("http", 80, Transport::Tcp, &["www", "www-http"]),
            ]
        );
    }

    #[test]
    fn other_protocols_and_broken_lines_are_skipped() {
        let text = "sctp-thing 9/sctp\n\
                    noport tcp\n\
                    badport 70000/tcp\n\
                    letters abc/udp\n\
                    lonely\n\
                    \t# only a comment\n\
                    echo 7/TCP\n";
        assert_eq!(
            parse_services(text),
            vec![entry("echo", 7, Transport::Tcp, &[])]
        );
    }

    #[test]
    fn a_huge_services_list_is_cut_at_the_cap() {
        let text = "x 1/tcp a b c d e f g h i j k\n".repeat(MAX_SERVICE_NAMES + 10);
        let names = parse_services(&text);
        assert_eq!(names.len(), MAX_SERVICE_NAMES);
        assert_eq!(names[0].aliases.len(), MAX_ALIASES);
    }

    #[test]
    fn sysctl_port_files_parse() {
        assert_eq!(parse_port("1024\n"), Some(1024));
        assert_eq!(parse_port("0\n"), Some(0));
        assert_eq!(parse_port("99999\n"), None);
        assert_eq!(
            parse_port_range("32768\t60999\n"),
            Some(PortRange {
                first: 32768,
                last: 60999
            })
        );
        assert_eq!(parse_port_range("60999 32768\n"), None);
        assert_eq!(parse_port_range("32768\n"), None);
        assert_eq!(parse_port_range("1 2 3\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_machine_facts_are_this_machines_proc_values() {
        let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .expect("Linux has /proc/sys/net/ipv4/ip_unprivileged_port_start (kernel 4.11+)");
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .expect("Linux has /proc/sys/net/ipv4/ip_local_port_range");
        let facts = machine(false);
        assert_eq!(facts.os, "linux");
        assert_eq!(facts.unprivileged_port_start, start.trim().parse().ok());
        let words: Vec<u16> = range
            .split_whitespace()
            .map(|w| w.parse().expect("a port"))
            .collect();
        assert_eq!(
            facts.ephemeral_ports,
            Some(PortRange {
                first: words[0],
                last: words[1]
            })
        );
    }
}
