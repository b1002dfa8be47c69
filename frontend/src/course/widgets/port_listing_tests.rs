//! The port listings against what the real tools printed on Linux 6.18 (iproute2 6.1's `ss`,
//! net-tools 2.10's `netstat`, lsof 4.95) for one set of real sockets, held by a program named
//! `socketlab-relay` (pid 1712, user root): an IPv4 listener with an accepted connection and
//! one still in the accept queue, a listener on `[::1]` with a connection, a listener on
//! `[::ffff:127.0.0.1]` with an IPv4 client, a TIME_WAIT left by a client that closed first,
//! and a UDP socket. The rows are those sockets as the relay's kernel view sends them, in the
//! order `ss` printed them (IPv4 first, then IPv6); the expected lines are the tools' output,
//! copied byte for byte (trailing spaces included), only this session's lines kept.

use socketlab_shared::{Detached, KernelSocket, KernelState, Machine, SocketId, Transport};

use crate::course::widgets::port_listing::{
    Held, lsof_port, lsof_ports, netstat_all, ss_all, ss_listening,
};

fn row(
    socket: Option<u32>,
    state: KernelState,
    queues: (u32, u32),
    local: &str,
    remote: &str,
) -> KernelSocket {
    KernelSocket {
        socket: socket.map(SocketId),
        detached: match (socket, state) {
            (Some(_), _) => None,
            (None, KernelState::TimeWait) => Some(Detached::Closed),
            (None, _) => Some(Detached::AcceptQueue {
                listener: SocketId(1),
            }),
        },
        transport: if state == KernelState::Unconn {
            Transport::Udp
        } else {
            Transport::Tcp
        },
        state,
        local: local.to_owned(),
        remote: remote.to_owned(),
        recv_q: queues.0,
        send_q: queues.1,
        inode: socket.map_or(0, inode_of),
    }
}

/// The inodes the kernel gave the sockets when the expected outputs below were printed (lsof
/// shows them in its DEVICE column); s5-s7 were not in an lsof listing, and follow on.
fn inode_of(socket: u32) -> u64 {
    match socket {
        1..=7 => 1_302_048 + u64::from(socket),
        9..=11 => 1_302_047 + u64::from(socket),
        12 => 1_302_062,
        _ => 0,
    }
}

fn rows() -> Vec<KernelSocket> {
    use KernelState::*;
    vec![
        row(Some(1), Listen, (1, 16), "127.0.0.1:48483", "0.0.0.0:*"),
        row(
            Some(2),
            Established,
            (0, 0),
            "127.0.0.1:49010",
            "127.0.0.1:48483",
        ),
        row(
            Some(4),
            Established,
            (0, 0),
            "127.0.0.1:49020",
            "127.0.0.1:48483",
        ),
        row(
            Some(10),
            Established,
            (0, 0),
            "127.0.0.1:39762",
            "127.0.0.1:35975",
        ),
        row(None, TimeWait, (0, 0), "127.0.0.1:60296", "127.0.0.1:45387"),
        row(
            Some(3),
            Established,
            (5, 0),
            "127.0.0.1:48483",
            "127.0.0.1:49010",
        ),
        row(
            None,
            Established,
            (0, 0),
            "127.0.0.1:48483",
            "127.0.0.1:49020",
        ),
        row(
            Some(9),
            Listen,
            (0, 5),
            "[::ffff:127.0.0.1]:35975",
            "[::]:*",
        ),
        row(Some(5), Listen, (0, 5), "[::1]:55031", "[::]:*"),
        row(Some(7), Established, (0, 0), "[::1]:55031", "[::1]:48388"),
        row(Some(6), Established, (0, 0), "[::1]:48388", "[::1]:55031"),
        row(
            Some(11),
            Established,
            (0, 0),
            "[::ffff:127.0.0.1]:35975",
            "[::ffff:127.0.0.1]:39762",
        ),
        row(Some(12), Unconn, (0, 0), "127.0.0.1:44990", "0.0.0.0:*"),
    ]
}

/// The relay's descriptors for the session's sockets: (socket id, fd, AF_INET6).
fn held() -> Vec<Held> {
    [
        (1, 3, false),
        (2, 4, false),
        (3, 5, false),
        (4, 6, false),
        (5, 7, true),
        (6, 8, true),
        (7, 9, true),
        (9, 11, true),
        (10, 12, false),
        (11, 13, true),
        (12, 14, false),
    ]
    .into_iter()
    .map(|(socket, fd, ipv6)| Held {
        socket: SocketId(socket),
        fd,
        ipv6,
    })
    .collect()
}

fn machine() -> Machine {
    Machine {
        os: "linux".into(),
        root: true,
        unprivileged_port_start: Some(1024),
        ephemeral_ports: None,
        ephemeral_source: None,
        pid: 1712,
        user: Some("root".into()),
        namespace_thread: None,
    }
}

const SS_TAN: &[&str] = &[
    "State     Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process",
    "LISTEN    1      16              127.0.0.1:48483            0.0.0.0:*           ",
    "ESTAB     0      0               127.0.0.1:49010          127.0.0.1:48483       ",
    "ESTAB     0      0               127.0.0.1:49020          127.0.0.1:48483       ",
    "ESTAB     0      0               127.0.0.1:39762          127.0.0.1:35975       ",
    "TIME-WAIT 0      0               127.0.0.1:60296          127.0.0.1:45387       ",
    "ESTAB     5      0               127.0.0.1:48483          127.0.0.1:49010       ",
    "ESTAB     0      0               127.0.0.1:48483          127.0.0.1:49020       ",
    "LISTEN    0      5      [::ffff:127.0.0.1]:35975                  *:*           ",
    "LISTEN    0      5                   [::1]:55031               [::]:*           ",
    "ESTAB     0      0                   [::1]:55031              [::1]:48388       ",
    "ESTAB     0      0                   [::1]:48388              [::1]:55031       ",
    "ESTAB     0      0      [::ffff:127.0.0.1]:35975 [::ffff:127.0.0.1]:39762       ",
];

const SS_TLNP: &[&str] = &[
    "State  Recv-Q Send-Q      Local Address:Port  Peer Address:PortProcess                                    ",
    "LISTEN 1      16              127.0.0.1:48483      0.0.0.0:*    users:((\"socketlab-relay\",pid=1712,fd=3)) ",
    "LISTEN 0      5      [::ffff:127.0.0.1]:35975            *:*    users:((\"socketlab-relay\",pid=1712,fd=11))",
    "LISTEN 0      5                   [::1]:55031         [::]:*    users:((\"socketlab-relay\",pid=1712,fd=7)) ",
];

const NETSTAT_AN: &[&str] = &[
    "Active Internet connections (servers and established)",
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State      ",
    "tcp        1      0 127.0.0.1:48483         0.0.0.0:*               LISTEN     ",
    "tcp        0      0 127.0.0.1:49010         127.0.0.1:48483         ESTABLISHED",
    "tcp        0      0 127.0.0.1:49020         127.0.0.1:48483         ESTABLISHED",
    "tcp        0      0 127.0.0.1:39762         127.0.0.1:35975         ESTABLISHED",
    "tcp        0      0 127.0.0.1:60296         127.0.0.1:45387         TIME_WAIT  ",
    "tcp        5      0 127.0.0.1:48483         127.0.0.1:49010         ESTABLISHED",
    "tcp        0      0 127.0.0.1:48483         127.0.0.1:49020         ESTABLISHED",
    "tcp6       0      0 127.0.0.1:35975         :::*                    LISTEN     ",
    "tcp6       0      0 ::1:55031               :::*                    LISTEN     ",
    "tcp6       0      0 ::1:55031               ::1:48388               ESTABLISHED",
    "tcp6       0      0 ::1:48388               ::1:55031               ESTABLISHED",
    "tcp6       0      0 127.0.0.1:35975         127.0.0.1:39762         ESTABLISHED",
    "udp        0      0 127.0.0.1:44990         0.0.0.0:*                          ",
];

const LSOF_LP: &[&str] = &[
    "COMMAND    PID USER   FD   TYPE  DEVICE SIZE/OFF NODE NAME",
    "socketlab 1712 root    3u  IPv4 1302049      0t0  TCP 127.0.0.1:48483 (LISTEN)",
    "socketlab 1712 root    4u  IPv4 1302050      0t0  TCP 127.0.0.1:49010->127.0.0.1:48483 (ESTABLISHED)",
    "socketlab 1712 root    5u  IPv4 1302051      0t0  TCP 127.0.0.1:48483->127.0.0.1:49010 (ESTABLISHED)",
    "socketlab 1712 root    6u  IPv4 1302052      0t0  TCP 127.0.0.1:49020->127.0.0.1:48483 (ESTABLISHED)",
];

const LSOF_MP: &[&str] = &[
    "COMMAND    PID USER   FD   TYPE  DEVICE SIZE/OFF NODE NAME",
    "socketlab 1712 root   11u  IPv6 1302056      0t0  TCP 127.0.0.1:35975 (LISTEN)",
    "socketlab 1712 root   12u  IPv4 1302057      0t0  TCP 127.0.0.1:39762->127.0.0.1:35975 (ESTABLISHED)",
    "socketlab 1712 root   13u  IPv6 1302058      0t0  TCP 127.0.0.1:35975->127.0.0.1:39762 (ESTABLISHED)",
];

const LSOF_UP: &[&str] = &[
    "COMMAND    PID USER   FD   TYPE  DEVICE SIZE/OFF NODE NAME",
    "socketlab 1712 root   14u  IPv4 1302062      0t0  UDP 127.0.0.1:44990 ",
];

#[test]
fn ss_tan_is_laid_out_as_ss_prints_it() {
    let listing = ss_all(&rows());
    assert_eq!(listing.command, "ss -tan");
    // The UDP socket is not in `ss -tan` (TCP only).
    assert_eq!(listing.lines, SS_TAN);
}

#[test]
fn ss_tlnp_shows_listeners_with_the_relay_as_their_process() {
    let listing = ss_listening(&rows(), &held(), Some(&machine()));
    assert_eq!(listing.command, "ss -tlnp");
    assert_eq!(listing.lines, SS_TLNP);
    // Without the machine facts there is no process to name; the columns stay.
    let bare = ss_listening(&rows(), &held(), None);
    assert_eq!(bare.lines.len(), SS_TLNP.len());
    assert!(!bare.lines.concat().contains("users:"));
}

#[test]
fn netstat_an_has_fixed_columns_and_writes_mapped_addresses_as_ipv4() {
    let listing = netstat_all(&rows());
    assert_eq!(listing.command, "netstat -an");
    assert_eq!(listing.lines, NETSTAT_AN);
}

#[test]
fn lsof_lists_the_relays_descriptors_on_that_port_only() {
    let (rows, held, machine) = (rows(), held(), machine());
    assert_eq!(lsof_ports(&rows), vec![48483, 35975, 55031]);
    let listing = lsof_port(&rows, &held, Some(&machine), 48483);
    assert_eq!(listing.command, "lsof -nP -i :48483");
    // The queued connection (no descriptor yet) is not among any process's open files.
    assert_eq!(listing.lines, LSOF_LP);
    // An AF_INET6 socket on an IPv4-mapped address: TYPE IPv6, the address written as IPv4.
    assert_eq!(
        lsof_port(&rows, &held, Some(&machine), 35975).lines,
        LSOF_MP
    );
    assert_eq!(
        lsof_port(&rows, &held, Some(&machine), 44990).lines,
        LSOF_UP
    );
    // The TIME_WAIT's ports belong to no descriptor: lsof prints nothing at all.
    assert!(
        lsof_port(&rows, &held, Some(&machine), 45387)
            .lines
            .is_empty()
    );
}

#[test]
fn with_no_rows_the_tools_print_only_their_headers() {
    assert_eq!(
        ss_all(&[]).lines,
        ["State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess"]
    );
    assert_eq!(netstat_all(&[]).lines.len(), 2);
    assert!(lsof_ports(&[]).is_empty());
}

#[derive(yew::Properties, PartialEq)]
struct ListingsProps {
    rows: Vec<KernelSocket>,
}

/// The listings as the widget draws them, for the server renderer.
#[yew::component]
fn Listings(props: &ListingsProps) -> yew::Html {
    crate::course::widgets::port_listing_view::listings(&props.rows, &held(), Some(&machine()))
}

#[tokio::test]
async fn the_widget_draws_every_command_with_its_columns_explained() {
    let html = yew::LocalServerRenderer::<Listings>::with_props(ListingsProps { rows: rows() })
        .render()
        .await;
    for command in [
        "ss -tlnp",
        "ss -tan",
        "netstat -an",
        "lsof -nP -i :48483",
        "lsof -nP -i :35975",
        "lsof -nP -i :55031",
    ] {
        assert!(
            html.contains(&format!(r#"data-command="{command}""#)),
            "{command}: {html}"
        );
    }
    assert_eq!(html.matches("How to read each column").count(), 6);
    assert!(html.contains("socketlab-relay") && html.contains("DEVICE"));
}
