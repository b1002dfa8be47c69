//! What the learner's sockets may do: every address rule for bind, connect and sendto, as pure
//! functions of the address, the socket, the relay's facts and who owns the port. Unit-tested
//! here; `syscalls`/`blocking` call them before the kernel and `ownership` supplies the owners.
//!
//! A refusal is the relay's one [`Refusal`] (a stable rule name and a sentence for the learner that names the
//! flag that would allow it); it becomes `Outcome::Refused`, never a fake errno. Everything the
//! policy allows goes to the kernel, whose answer stays the lesson (EACCES, ECONNREFUSED...).
//!
//! Who holds a port is keyed on what the kernel keys it on: the protocol and the address the
//! socket holds, with the wildcard and dual-stack rules (`ownership::Endpoint`). The
//! checkpoint works out the owner ([`PortOwner`]) and whether a destination is one of this
//! machine's addresses; the rules here only judge.
//!
//! Order of the destination rules (connect, sendto, and send/recv on a connected datagram
//! socket, whose peer is checked again at every call), first match wins:
//! 1. a host name other than `localhost` (refused while parsing: [`resolve`]);
//! 2. the relay's own port on any address of this machine (never overridden, not even by a
//!    grant);
//! 3. an endpoint held by another session, on any address of this machine (never overridden);
//! 4. an `--allow-connect` grant that covers the address and port allows it (a browser "bad
//!    port" only when the grant names its ports explicitly);
//! 5. a browser "bad port";
//! 6. an address that is not loopback;
//! 7. an endpoint this session holds; or one it held, or whose port number it holds at another
//!    address, while no one else holds it now; or a lesson service's (protocol, address):
//!    allowed;
//! 8. one of those that a program outside the relay's sessions holds now;
//! 9. anything else on loopback.
//!
//! A call that would make the kernel bind a socket to the wildcard address on its own (listen
//! or the first sendto of a socket never bound) is judged by [`check_autobind`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socketlab_shared::{Family, SocketType};

pub use crate::connect_grant::ConnectGrant;
use crate::refusal::Refusal;

/// Destination and binding rules. `Default` is the safe default: loopback only, own ports only.
#[derive(Debug, Clone, Default)]
pub struct PolicyConfig {
    /// Let sockets bind the wildcard address (0.0.0.0 or ::), which listens on every interface.
    pub allow_bind_wildcard: bool,
    /// Local addresses other than loopback that sockets may bind.
    pub allow_bind: Vec<IpAddr>,
    /// More destinations for connect and sendto (an instructor's machines, a lab network).
    pub allow_connect: Vec<ConnectGrant>,
    /// The relay's own lesson services, as (protocol, address): every session may reach
    /// exactly these, and none may bind their (protocol, port number) on any address. `run`
    /// adds the services it starts (`lesson_services`) to what is here.
    pub lesson_services: Vec<(SocketType, SocketAddr)>,
}

/// The policy flags of `socketlab-relay`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// Let the learner's sockets bind the wildcard address (0.0.0.0 or ::), i.e. every
    /// interface, so other machines can reach them. Off by default.
    #[arg(long, default_value_t = false)]
    pub allow_bind_wildcard: bool,
    /// A local address other than loopback that the learner's sockets may bind (repeatable).
    /// By default only 127.0.0.0/8 and ::1.
    #[arg(long = "allow-bind", value_name = "ADDR")]
    pub allow_bind: Vec<IpAddr>,
    /// Open more destinations for connect and sendto (repeatable): CIDR[:PORTS], e.g.
    /// 10.0.0.0/8, 192.168.1.5:80, [2001:db8::/32]:8000-8100, 10.1.2.3/32:80,443. By default
    /// only loopback ports the session itself holds or held.
    #[arg(long = "allow-connect", value_name = "CIDR[:PORTS]")]
    pub allow_connect: Vec<ConnectGrant>,
}

impl From<PolicyArgs> for PolicyConfig {
    fn from(args: PolicyArgs) -> Self {
        PolicyConfig {
            allow_bind_wildcard: args.allow_bind_wildcard,
            allow_bind: args.allow_bind,
            allow_connect: args.allow_connect,
            lesson_services: Vec::new(),
        }
    }
}

/// The operations the policy judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Bind,
    Listen,
    Connect,
    Sendto,
    /// send() on a connected datagram socket: its peer is a destination like sendto's.
    Send,
    /// recv() or recvfrom() on a connected datagram socket: its peer is checked the same way.
    Recv,
    Recvfrom,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Bind => "bind",
            Operation::Listen => "listen",
            Operation::Connect => "connect",
            Operation::Sendto => "sendto",
            Operation::Send => "send",
            Operation::Recv => "recv",
            Operation::Recvfrom => "recvfrom",
        })
    }
}

/// Who holds a port (of the socket's protocol), as the ownership registry sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortOwner {
    /// A socket of this session holds it now.
    ThisSession,
    /// This session held it and let it go, and no session holds it now (connecting to it is
    /// how a learner sees ECONNREFUSED).
    ReleasedByThisSession,
    /// No session holds this address, but this session holds or held the same port number at
    /// another address (an IPv6-only server on `[::1]:P`, and a connect to `127.0.0.1:P`):
    /// the kernel's answer there is the lesson, while no outside program holds it.
    ThisSessionsNumber,
    /// A socket of another session holds it (whether or not this one does too).
    OtherSession,
    /// No session holds it, and the kernel's tables show a socket of a program outside the
    /// relay's sessions there (checked for a bind to a fixed port, and before a session
    /// reaches an endpoint it released).
    Outside,
    /// No session holds it: free, or a program outside the relay (not looked up).
    Nobody,
}

/// What the relay knows about itself, read once at start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    /// The relay runs with effective uid 0.
    pub(crate) root: bool,
    /// The relay's own listening address.
    pub(crate) relay: SocketAddr,
}

/// The question put to the policy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub(crate) op: Operation,
    pub(crate) kind: SocketType,
    /// The address as the kernel would get it (IPv4-mapped IPv6 included).
    pub(crate) address: SocketAddr,
    /// Who holds the endpoint (for bind: one the bind would share; for a destination: the
    /// one it reaches). Ignored for port 0.
    pub(crate) owner: PortOwner,
    /// For a destination: whether it is one of this machine's addresses (loopback, the
    /// unspecified address, or an address of one of its interfaces).
    pub(crate) this_machine: bool,
}

/// Whether the relay runs as root (effective uid 0). Read once, at start.
#[cfg(unix)]
pub(crate) fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Windows has no privileged ports, so no privilege of the relay's can be more than the
/// learner's there: the rule this answer drives (refuse ports below 1024 as root) never applies.
#[cfg(windows)]
pub(crate) fn running_as_root() -> bool {
    false
}

/// The address with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) turned into plain IPv4, so
/// that no rule can be dodged by spelling an IPv4 address as IPv6.
pub(crate) fn normalise(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), address.port()),
            None => address,
        },
        IpAddr::V4(_) => address,
    }
}

/// A destination as the kernel routes it: normalised, and the unspecified address as the
/// loopback address of its family (Linux connects to 0.0.0.0 as 127.0.0.1 and to :: as ::1).
pub(crate) fn destination(address: SocketAddr) -> SocketAddr {
    let address = normalise(address);
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

/// The browser's "bad ports" (the Fetch standard's port blocking list): ports of services a
/// stray request could harm, such as SMTP, IRC or X11.
pub(crate) const BAD_PORTS: &[u16] = &[
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
    103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
    512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
    995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
    6669, 6679, 6697, 10080,
];

pub(crate) fn is_bad_port(port: u16) -> bool {
    BAD_PORTS.binary_search(&port).is_ok()
}

/// Ports below this need privilege (the classic Unix rule).
const PRIVILEGED_BELOW: u16 = 1024;

/// Judges one bind, connect or sendto. `Ok` means: hand it to the kernel.
pub(crate) fn check(
    config: &PolicyConfig,
    facts: &Facts,
    request: &Request,
) -> Result<(), Refusal> {
    match request.op {
        Operation::Bind => check_bind(config, facts, request),
        // listen() names no address: its only rule is `check_autobind`.
        Operation::Listen => Ok(()),
        Operation::Connect
        | Operation::Sendto
        | Operation::Send
        | Operation::Recv
        | Operation::Recvfrom => check_destination(config, facts, request),
    }
}

/// listen() or the first sendto() of a socket that was never bound (`local` still has port
/// 0): the kernel would bind it on its own, to the wildcard address (0.0.0.0 or [::]), every
/// interface, which a bind() to that address is refused for. The relay never binds on the
/// learner's behalf; it refuses and says to bind first. (connect() binds to the source address
/// of its route, loopback for a loopback destination, so it is not judged here.)
pub(crate) fn check_autobind(
    config: &PolicyConfig,
    op: Operation,
    local: SocketAddr,
) -> Result<(), Refusal> {
    if config.allow_bind_wildcard || local.port() != 0 {
        return Ok(());
    }
    let (wildcard, loopback) = match local {
        SocketAddr::V4(_) => ("0.0.0.0", "127.0.0.1:0"),
        SocketAddr::V6(_) => ("[::]", "[::1]:0"),
    };
    Err(Refusal::new(
        "autobind_wildcard",
        format!(
            "{op}() on a socket that was never bound was refused by the relay: the kernel would bind it on its own to {wildcard} and a port it picks, which listens on every network interface, so other machines could reach it. Call bind() with {loopback} first (port 0 still lets the kernel pick the port); the relay's operator can allow it with --allow-bind-wildcard."
        ),
    ))
}

/// Why the relay could not tell whether a program outside its sessions holds a port: the bind
/// (or the connect to a released port) is refused, never let through unchecked.
pub(crate) fn unverified(op: Operation, address: SocketAddr, error: &str) -> Refusal {
    Refusal::new(
        "port_check_failed",
        format!(
            "{op}() to {address} was refused by the relay: it could not check whether a program outside this relay's sessions holds port {} ({error}; this is the relay's own check, not the kernel's answer to this call), and it never lets a call through unchecked. Try again, or use port 0.",
            address.port()
        ),
    )
}

fn check_bind(config: &PolicyConfig, facts: &Facts, request: &Request) -> Result<(), Refusal> {
    let address = normalise(request.address);
    let (ip, port) = (address.ip(), address.port());
    if ip.is_unspecified() {
        if !config.allow_bind_wildcard {
            return Err(Refusal::new(
                "bind_wildcard",
                format!(
                    "bind() to {} was refused by the relay: the wildcard address listens on every network interface, so other machines could reach this socket. Bind 127.0.0.1 or ::1 instead; the relay's operator can allow it with --allow-bind-wildcard.",
                    request.address
                ),
            ));
        }
    } else if !ip.is_loopback() && !config.allow_bind.contains(&ip) {
        return Err(Refusal::new(
            "bind_not_loopback",
            format!(
                "bind() to {} was refused by the relay: by default sockets bind only loopback addresses (127.0.0.0/8 and ::1), which no other machine can reach. The relay's operator can allow this address with --allow-bind {ip}.",
                request.address
            ),
        ));
    }
    if port == 0 {
        return Ok(());
    }
    if port == facts.relay.port() {
        return Err(Refusal::new(
            "bind_relay_port",
            format!(
                "bind() to {} was refused by the relay: port {port} is the relay's own port. Use port 0 to let the kernel choose a free one.",
                request.address
            ),
        ));
    }
    if request.owner == PortOwner::OtherSession {
        return Err(other_session(request, "bind_other_session"));
    }
    if config
        .lesson_services
        .iter()
        .any(|(kind, service)| *kind == request.kind && service.port() == port)
    {
        return Err(Refusal::new(
            "bind_lesson_service_port",
            format!(
                "bind() to {} was refused by the relay: {} port {port} is one of the relay's lesson services, which every session reaches, so no session may bind that number on any address. Use another port, or port 0.",
                request.address,
                protocol(request.kind)
            ),
        ));
    }
    if request.owner == PortOwner::Outside {
        return Err(Refusal::new(
            "bind_port_in_use_outside",
            format!(
                "bind() to {} was refused by the relay: {} port {port} is in use on this machine by a program outside this relay's sessions (on this or another address), and a socket of this session on that number could reach or capture that program's traffic. Use another port, or port 0. No flag allows this.",
                request.address,
                protocol(request.kind)
            ),
        ));
    }
    if port < PRIVILEGED_BELOW && facts.root {
        return Err(Refusal::new(
            "bind_privileged_port",
            format!(
                "bind() to {} was refused by the relay: ports below 1024 need root, and this relay runs as root, so the kernel would allow it; a web page never gets more privilege than the learner has. Use a port from 1024 up, or run the relay as an ordinary user to see the kernel's EACCES.",
                request.address
            ),
        ));
    }
    Ok(())
}

fn other_session(request: &Request, rule: &'static str) -> Refusal {
    let port = request.address.port();
    Refusal::new(
        rule,
        format!(
            "{}() to {} was refused by the relay: {} port {port} belongs to another session (another browser tab or another learner), and sessions cannot touch each other's sockets. No flag allows this.",
            request.op,
            request.address,
            protocol(request.kind)
        ),
    )
}

fn protocol(kind: SocketType) -> &'static str {
    match kind {
        SocketType::Stream => "TCP",
        SocketType::Datagram => "UDP",
    }
}

fn check_destination(
    config: &PolicyConfig,
    facts: &Facts,
    request: &Request,
) -> Result<(), Refusal> {
    let address = destination(request.address);
    let (ip, port) = (address.ip(), address.port());
    let op = request.op;
    let relay_ip = normalise(facts.relay).ip();
    if port == facts.relay.port() && (request.this_machine || ip == relay_ip) {
        return Err(Refusal::new(
            "connect_relay_port",
            format!(
                "{op}() to {} was refused by the relay: that is the relay's own port, and a learner's socket may not talk to the relay behind the page's back. No flag allows this.",
                request.address
            ),
        ));
    }
    if request.owner == PortOwner::OtherSession {
        return Err(other_session(request, "connect_other_session"));
    }
    if let Some(grant) = config.allow_connect.iter().find(|g| g.covers(address)) {
        if is_bad_port(port) && !grant.names_ports() {
            return Err(bad_port(request, port));
        }
        return Ok(());
    }
    if is_bad_port(port) {
        return Err(bad_port(request, port));
    }
    if !ip.is_loopback() {
        return Err(Refusal::new(
            "connect_not_loopback",
            format!(
                "{op}() to {} was refused by the relay: by default it reaches only loopback (127.0.0.0/8 and ::1). An instructor can open more with --allow-connect.",
                request.address
            ),
        ));
    }
    let service = config
        .lesson_services
        .iter()
        .any(|(kind, service)| *kind == request.kind && *service == address);
    match request.owner {
        PortOwner::ThisSession
        | PortOwner::ReleasedByThisSession
        | PortOwner::ThisSessionsNumber => Ok(()),
        _ if service => Ok(()),
        PortOwner::Outside => Err(Refusal::new(
            "connect_port_taken",
            format!(
                "{op}() to {} was refused by the relay: this session has no socket on that address (it closed it, or holds port {port} at another address only), and a program outside this relay's sessions holds {} port {port} there, so this session may not reach it. Bind and listen on a port in this session; an instructor can open it with --allow-connect {}/{}:{port}.",
                request.address,
                protocol(request.kind),
                ip,
                if ip.is_ipv4() { 32 } else { 128 }
            ),
        )),
        _ => Err(Refusal::new(
            "connect_not_owned",
            format!(
                "{op}() to {} was refused by the relay: on loopback a session may reach only addresses its own sockets hold or held (and the relay's lesson services), so a web page cannot probe the other programs on this machine. Bind and listen on a port in this session first; an instructor can open more with --allow-connect 127.0.0.1/32:{port}.",
                request.address
            ),
        )),
    }
}

fn bad_port(request: &Request, port: u16) -> Refusal {
    Refusal::new(
        "connect_bad_port",
        format!(
            "{}() to {} was refused by the relay: port {port} is on the browsers' list of \"bad ports\" (services such as mail, IRC or X11 that a stray request could harm). An instructor can allow it with an --allow-connect grant that names port {port} explicitly.",
            request.op, request.address
        ),
    )
}

/// Why an address text could not become a socket address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// Not an address at all: an `invalid` reply with this reason.
    Invalid(String),
    /// A host name other than `localhost`: a policy refusal.
    Refused(Refusal),
}

/// The address a call names, as the kernel will get it: an IP literal, or `localhost` (also
/// `localhost.`), which becomes 127.0.0.1 for an IPv4 socket and ::1 for an IPv6 one, without
/// asking DNS or /etc/hosts. Every other name is refused: no name resolution surprises (DNS
/// rebinding, a hosts file that points somewhere else).
pub(crate) fn resolve(text: &str, family: Family, op: Operation) -> Result<SocketAddr, Unresolved> {
    match crate::arguments::parse_address(text) {
        Ok(address) => Ok(address),
        Err(crate::arguments::AddressError::Invalid(reason)) => Err(Unresolved::Invalid(reason)),
        Err(crate::arguments::AddressError::Name { host, port }) => {
            let name = host.trim_end_matches('.');
            if name.eq_ignore_ascii_case("localhost") && !name.is_empty() {
                let ip = match family {
                    Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                    Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
                };
                return Ok(SocketAddr::new(ip, port));
            }
            Err(Unresolved::Refused(Refusal::new(
                "address_is_a_name",
                format!(
                    "{op}() to {text:?} was refused by the relay: it takes IP addresses and \"localhost\" only and never looks names up, so a name cannot lead somewhere unexpected. Give an IP address, such as 127.0.0.1:{port}."
                ),
            )))
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
