//! What `ss -tlnp`, `ss -tan`, `netstat -an` and `lsof -nP -i :PORT` would print on Linux for the
//! session's sockets, rendered from the kernel view's rows (the relay reads them from `/proc/net`)
//! with each tool's own column layout, byte for byte as iproute2 6.1, net-tools 2.10 and lsof 4.95
//! print them on Linux 6.18. The process is `socketlab-relay` with the relay's `machine.pid` and
//! `user`, and the socket's fd. Pure; lesson 17's widget (`port_listing_view`) shows the result.
//!
//! Only the session's rows are known, so each listing holds only those lines: on the machine the
//! real commands also list every other program's sockets. `ss` is rendered as it prints when its
//! output is not a terminal (each column as wide as its widest entry); in a terminal it spreads the
//! same columns over the window's width. lsof's DEVICE column is the socket's inode number on
//! Linux, which the kernel view's rows carry.

use socketlab_shared::{KernelSocket, KernelState, Machine, SocketId, Transport};

/// The relay's program name as the kernel keeps it (`/proc/PID/comm`, at most 15 bytes), which
/// `ss -p` shows; `lsof` shows its first 9 characters.
pub(crate) const PROGRAM: &str = "socketlab-relay";

/// One socket the relay holds for the session: what `-p` and lsof need besides the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) socket: SocketId,
    /// The descriptor number in the relay's process.
    pub(crate) fd: i32,
    /// Made with AF_INET6 (lsof's TYPE is IPv6 even for an IPv4-mapped address).
    pub(crate) ipv6: bool,
}

/// One command and what it would print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The command line, as typed.
    pub(crate) command: String,
    /// The output, header included, one string a line.
    pub(crate) lines: Vec<String>,
}

/// An address as the kernel view writes it (`127.0.0.1:41000`, `[::1]:41000`, `0.0.0.0:*`),
/// split into host (brackets kept) and port (`*` for none).
fn split(address: &str) -> (&str, &str) {
    address.rsplit_once(':').unwrap_or((address, ""))
}

/// The IPv4 address inside `[::ffff:a.b.c.d]`, if it is one.
fn mapped(host: &str) -> Option<&str> {
    host.strip_prefix("[::ffff:")
        .and_then(|h| h.strip_suffix(']'))
        .filter(|h| h.contains('.'))
}

fn is_v6(row: &KernelSocket) -> bool {
    row.local.starts_with('[')
}

/// Rows in the order the tools read the kernel's tables: TCP over IPv4, TCP over IPv6, then
/// UDP likewise; the session's order within each.
fn table_order(rows: &[KernelSocket]) -> Vec<&KernelSocket> {
    let mut out: Vec<&KernelSocket> = rows.iter().collect();
    out.sort_by_key(|row| (row.transport == Transport::Udp, is_v6(row)));
    out
}

/// `ss` writes an IPv6 wildcard as `*` when the socket also takes IPv4 (IPV6_V6ONLY off).
/// A socket bound to a specific IPv6 address is made IPv6-only by the kernel, one bound to an
/// IPv4-mapped address cannot be, and one bound to `[::]` is taken as Linux's default
/// (net.ipv6.bindv6only = 0): the page does not know whether IPV6_V6ONLY was set on it.
fn ss_host<'a>(host: &'a str, row: &KernelSocket) -> &'a str {
    let (local_host, _) = split(&row.local);
    let dual = local_host == "[::]" || mapped(local_host).is_some();
    if host == "[::]" && dual { "*" } else { host }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// `ss`'s columns: (header, alignment, left delimiter), Netid left out (one table only).
const SS_COLUMNS: [(&str, Align, &str); 7] = [
    ("State", Align::Left, ""),
    ("Recv-Q", Align::Left, " "),
    ("Send-Q", Align::Left, " "),
    ("Local Address:", Align::Right, " "),
    ("Port", Align::Left, ""),
    ("Peer Address:", Align::Right, " "),
    ("Port", Align::Left, ""),
];

/// `ss`'s compact layout (iproute2's `render` when stdout is not a terminal): each column is
/// as wide as its widest entry, plus its delimiter; every field is padded, so lines end in
/// spaces; the Process column comes last, headed `Process` even without `-p`.
fn ss_render(fields: Vec<[String; 8]>) -> Vec<String> {
    let header: [String; 8] = [
        SS_COLUMNS[0].0.to_owned(),
        SS_COLUMNS[1].0.to_owned(),
        SS_COLUMNS[2].0.to_owned(),
        SS_COLUMNS[3].0.to_owned(),
        SS_COLUMNS[4].0.to_owned(),
        SS_COLUMNS[5].0.to_owned(),
        SS_COLUMNS[6].0.to_owned(),
        "Process".to_owned(),
    ];
    let mut all = vec![header];
    all.extend(fields);
    let columns: Vec<(Align, &str)> = SS_COLUMNS
        .iter()
        .map(|(_, align, delim)| (*align, *delim))
        .chain([(Align::Left, "")])
        .collect();
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            let max = all.iter().map(|f| f[c].len()).max().unwrap_or(0);
            if c > 0 && max > 0 {
                max + columns[c].1.len()
            } else {
                max
            }
        })
        .collect();
    all.iter()
        .map(|f| {
            let mut line = String::new();
            for (c, (align, delim)) in columns.iter().enumerate() {
                let mut printed = 0;
                if c > 0 {
                    line.push_str(delim);
                    printed = delim.len();
                }
                if *align == Align::Right {
                    let pad = widths[c].saturating_sub(f[c].len() + printed);
                    line.push_str(&" ".repeat(pad));
                    printed += pad;
                }
                line.push_str(&f[c]);
                printed += f[c].len();
                if *align == Align::Left {
                    line.push_str(&" ".repeat(widths[c].saturating_sub(printed)));
                }
            }
            line
        })
        .collect()
}

fn ss_fields(row: &KernelSocket, process: String) -> [String; 8] {
    let (local_host, local_port) = split(&row.local);
    let (peer_host, peer_port) = split(&row.remote);
    [
        row.state.ss_name().to_owned(),
        format!("{:<6}", row.recv_q),
        format!("{:<6}", row.send_q),
        format!("{}:", ss_host(local_host, row)),
        local_port.to_owned(),
        format!("{}:", ss_host(peer_host, row)),
        peer_port.to_owned(),
        process,
    ]
}

fn fd_of(held: &[Held], socket: Option<SocketId>) -> Option<&Held> {
    socket.and_then(|id| held.iter().find(|h| h.socket == id))
}

/// `ss -tlnp`: listening TCP sockets, numeric, with the process holding each.
pub(crate) fn ss_listening(
    rows: &[KernelSocket],
    held: &[Held],
    machine: Option<&Machine>,
) -> Listing {
    let fields = table_order(rows)
        .into_iter()
        .filter(|row| row.transport == Transport::Tcp && row.state == KernelState::Listen)
        .map(|row| {
            let process = match (fd_of(held, row.socket), machine) {
                (Some(h), Some(m)) => format!(" users:((\"{PROGRAM}\",pid={},fd={}))", m.pid, h.fd),
                _ => String::new(),
            };
            ss_fields(row, process)
        })
        .collect();
    Listing {
        command: "ss -tlnp".to_owned(),
        lines: ss_render(fields),
    }
}

/// `ss -tan`: every TCP socket, numeric.
pub(crate) fn ss_all(rows: &[KernelSocket]) -> Listing {
    let fields = table_order(rows)
        .into_iter()
        .filter(|row| row.transport == Transport::Tcp)
        .map(|row| ss_fields(row, String::new()))
        .collect();
    Listing {
        command: "ss -tan".to_owned(),
        lines: ss_render(fields),
    }
}

/// An address as netstat writes it: no brackets, IPv4-mapped as plain IPv4, `:::*` for the
/// IPv6 wildcard.
fn netstat_address(address: &str) -> String {
    let (host, port) = split(address);
    let host = match mapped(host) {
        Some(v4) => v4,
        None => host.trim_start_matches('[').trim_end_matches(']'),
    };
    format!("{host}:{port}")
}

/// `netstat -an`'s Internet part (net-tools): fixed columns of 23 for the addresses; a UDP
/// socket without a peer has an empty State. Its UNIX-socket part is left out.
pub(crate) fn netstat_all(rows: &[KernelSocket]) -> Listing {
    let mut lines = vec![
        "Active Internet connections (servers and established)".to_owned(),
        format!(
            "{:<5} {:>6} {:>6} {:<23} {:<23} {:<11}",
            "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State"
        ),
    ];
    for row in table_order(rows) {
        let proto = format!(
            "{}{}",
            row.transport.name(),
            if is_v6(row) { "6" } else { "" }
        );
        let state = match row.state {
            KernelState::Unconn => "",
            state => state.name(),
        };
        // netstat reads /proc/net/tcp, where a listener's send queue is 0; ss asks the kernel
        // over netlink, which reports the backlog there instead.
        let send_q = if row.state == KernelState::Listen {
            0
        } else {
            row.send_q
        };
        lines.push(format!(
            "{proto:<4}  {:>6} {:>6} {:<23} {:<23} {state:<11}",
            row.recv_q,
            send_q,
            netstat_address(&row.local),
            netstat_address(&row.remote),
        ));
    }
    Listing {
        command: "netstat -an".to_owned(),
        lines,
    }
}

/// The ports worth an `lsof -i :PORT`: each listening socket's, else the first row's.
pub(crate) fn lsof_ports(rows: &[KernelSocket]) -> Vec<u16> {
    let port = |row: &KernelSocket| split(&row.local).1.parse::<u16>().ok();
    let mut ports: Vec<u16> = rows
        .iter()
        .filter(|row| row.state == KernelState::Listen)
        .filter_map(port)
        .collect();
    ports.dedup();
    if ports.is_empty() {
        ports.extend(rows.iter().filter(|r| r.socket.is_some()).find_map(port));
    }
    ports
}

/// An address as `lsof -n -P` writes it: IPv4-mapped as plain IPv4, a wildcard as `*`.
fn lsof_address(address: &str) -> String {
    let (host, port) = split(address);
    let host = match mapped(host) {
        Some(v4) => v4,
        None if host == "0.0.0.0" || host == "[::]" => "*",
        None => host,
    };
    format!("{host}:{port}")
}

/// `lsof -nP -i :PORT`: the open files (here: sockets) of every process whose local or remote
/// port is PORT, one line per descriptor, in descriptor order. Rows without a descriptor (an
/// accept queue, TIME_WAIT) are in no process's files, so lsof cannot show them.
pub(crate) fn lsof_port(
    rows: &[KernelSocket],
    held: &[Held],
    machine: Option<&Machine>,
    port: u16,
) -> Listing {
    let wanted = port.to_string();
    let mut found: Vec<(&Held, &KernelSocket)> = rows
        .iter()
        .filter(|row| split(&row.local).1 == wanted || split(&row.remote).1 == wanted)
        .filter_map(|row| fd_of(held, row.socket).map(|h| (h, row)))
        .collect();
    found.sort_by_key(|(h, _)| h.fd);
    let command: String = PROGRAM.chars().take(9).collect();
    let pid = machine.map_or("?".to_owned(), |m| m.pid.to_string());
    let user = machine
        .and_then(|m| m.user.clone())
        .unwrap_or_else(|| "?".to_owned());
    let cells: Vec<[String; 9]> = found
        .iter()
        .map(|(h, row)| {
            let name = if row.remote.ends_with(":*") {
                lsof_address(&row.local)
            } else {
                format!(
                    "{}->{}",
                    lsof_address(&row.local),
                    lsof_address(&row.remote)
                )
            };
            let name = match row.transport {
                Transport::Tcp => format!("{name} ({})", row.state.name()),
                Transport::Udp => format!("{name} "),
            };
            [
                command.clone(),
                pid.clone(),
                user.clone(),
                format!("{}u ", h.fd),
                if h.ipv6 { "IPv6" } else { "IPv4" }.to_owned(),
                row.inode.to_string(),
                "0t0".to_owned(),
                row.transport.name().to_ascii_uppercase(),
                name,
            ]
        })
        .collect();
    let mut lines = Vec::new();
    if !cells.is_empty() {
        // lsof's columns: COMMAND left, PID right, USER left, FD right (number at least 4
        // wide, then the access mode `u` and a lock column), TYPE left, DEVICE, SIZE/OFF and
        // NODE right, NAME left; one space between columns.
        let header = [
            "COMMAND", "PID", "USER", "FD  ", "TYPE", "DEVICE", "SIZE/OFF", "NODE", "NAME",
        ];
        let right = [false, true, false, true, false, true, true, true, false];
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        widths[3] = 6;
        for row in &cells {
            for (c, cell) in row.iter().enumerate() {
                widths[c] = widths[c].max(cell.len());
            }
        }
        let line = |cells: Vec<&str>| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c + 1 == cells.len() {
                        (*cell).to_owned()
                    } else if right[c] {
                        format!("{cell:>w$}", w = widths[c])
                    } else {
                        format!("{cell:<w$}", w = widths[c])
                    }
                })
                .collect();
            parts.join(" ")
        };
        lines.push(line(header.to_vec()));
        for row in &cells {
            lines.push(line(row.iter().map(String::as_str).collect()));
        }
    }
    Listing {
        command: format!("lsof -nP -i :{port}"),
        lines,
    }
}
