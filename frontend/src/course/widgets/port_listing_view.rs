//! The port listing widget (`{{port-listing}}`): what `ss -tlnp`, `ss -tan`, `netstat -an` and
//! `lsof -i :PORT` would print for the lab's sockets right now (rendered by `port_listing` from
//! the kernel view's rows), each with how to read its columns. Without a relay, or before the
//! session has a socket, it says what to do to see lines.

use socketlab_shared::{Availability, Family, KernelSocket, Machine};
use yew::prelude::*;

use crate::course::widgets::port_listing::{
    Held, Listing, lsof_port, lsof_ports, netstat_all, ss_all, ss_listening,
};
use crate::session::context::SessionContext;

/// One column (or option) and how to read it.
type Column = (&'static str, &'static str);

const SS_TLNP_COLUMNS: &[Column] = &[
    (
        "-t -l -n -p",
        "TCP sockets only, only those listening, numbers instead of names, and the process that holds each.",
    ),
    ("State", "LISTEN: waiting for clients."),
    (
        "Recv-Q",
        "For a listener: connections the kernel finished (the handshake is done) waiting in the accept queue for accept().",
    ),
    (
        "Send-Q",
        "For a listener: the backlog, how many finished connections the queue may hold (listen()'s backlog, capped by net.core.somaxconn).",
    ),
    (
        "Local Address:Port",
        "Where it listens. 127.0.0.1 or [::1]: this machine only. 0.0.0.0 or *: every address of the machine.",
    ),
    (
        "Peer Address:Port",
        "0.0.0.0:* (or *:*, [::]:*): a listener has no peer; each client gets a new socket from accept().",
    ),
    (
        "Process",
        "users:((\"name\",pid=N,fd=F)): the program, its process id and the descriptor number. The relay makes your sockets, so it is socketlab-relay, and fd is the number the lab shows. (Into a pipe, ss prints this header right after the last Port: PortProcess is two headers.)",
    ),
];

const SS_TAN_COLUMNS: &[Column] = &[
    (
        "-t -a -n",
        "TCP sockets in every state (not only connected ones), numbers instead of names.",
    ),
    (
        "State",
        "The TCP state, spelled with dashes: LISTEN, ESTAB, TIME-WAIT, FIN-WAIT-2...",
    ),
    (
        "Recv-Q",
        "Bytes that arrived and no recv() has read yet (for a listener: connections waiting for accept()).",
    ),
    (
        "Send-Q",
        "Bytes sent that the peer has not acknowledged yet (for a listener: its backlog).",
    ),
    ("Local Address:Port", "This end of the connection."),
    (
        "Peer Address:Port",
        "The other end. On loopback each connection shows twice, once from each end: the client's line has the server's port as Peer, the server's line has the client's ephemeral port as Peer.",
    ),
];

const NETSTAT_COLUMNS: &[Column] = &[
    (
        "-a -n",
        "Every socket (listening too), numbers instead of names. netstat comes from net-tools, which Linux distributions replaced with ss; it may need installing (apt install net-tools).",
    ),
    (
        "Proto",
        "tcp or udp; tcp6/udp6 for an AF_INET6 socket, even one that talks IPv4 through a mapped address.",
    ),
    (
        "Recv-Q / Send-Q",
        "As in ss, except a listener's Send-Q: netstat reads /proc/net/tcp, which has 0 there, where ss shows the backlog.",
    ),
    (
        "Local Address / Foreign Address",
        "No brackets around IPv6 (::1:55031 is address ::1, port 55031); :::* is the IPv6 wildcard; an IPv4-mapped address is written as plain IPv4.",
    ),
    (
        "State",
        "With underscores (TIME_WAIT); empty for a UDP socket without a peer. netstat -an also lists UNIX domain sockets after these lines (not shown).",
    ),
];

const LSOF_COLUMNS: &[Column] = &[
    (
        "-i :PORT -n -P",
        "Internet sockets with PORT at either end; -n and -P keep numbers (without them lsof writes 127.0.0.1 as localhost and port 80 as http).",
    ),
    (
        "COMMAND, PID, USER",
        "The program (its first 9 characters: socketlab), its process id and the user it runs as.",
    ),
    (
        "FD",
        "The descriptor number, then u: open for reading and writing.",
    ),
    (
        "TYPE",
        "IPv4 or IPv6: the socket's family (AF_INET6 even when its address is IPv4-mapped).",
    ),
    (
        "DEVICE",
        "On Linux, the socket's inode number: the N in /proc/PID/fd/FD -> socket:[N], and ss -e shows it as ino:N.",
    ),
    ("SIZE/OFF", "0t0: offset 0; a socket has no size."),
    ("NODE", "The protocol: TCP or UDP."),
    (
        "NAME",
        "local->remote (STATE). lsof lists open files, so a connection still in the accept queue or in TIME_WAIT, which no descriptor holds, has no line.",
    ),
];

fn block(listing: &Listing, columns: &'static [Column], empty: &'static str) -> Html {
    let output = if listing.lines.is_empty() {
        html! { <pre class="listing-output empty">{ empty }</pre> }
    } else {
        html! { <pre class="listing-output">{ listing.lines.join("\n") }</pre> }
    };
    html! {
        <div class="listing" data-testid="listing" data-command={listing.command.clone()}>
            <pre class="listing-command">{ format!("$ {}", listing.command) }</pre>
            { output }
            <details class="listing-columns" open=true>
                <summary>{ "How to read each column" }</summary>
                <dl>
                    { for columns.iter().map(|(name, says)| html! {
                        <><dt><code>{ *name }</code></dt><dd>{ *says }</dd></>
                    }) }
                </dl>
            </details>
        </div>
    }
}

/// Every listing for these rows, in the lesson's order.
pub(crate) fn listings(rows: &[KernelSocket], held: &[Held], machine: Option<&Machine>) -> Html {
    let ports = lsof_ports(rows);
    let waiting = ports.is_empty().then(|| {
        let listing = Listing {
            command: "lsof -nP -i :PORT".to_owned(),
            lines: Vec::new(),
        };
        block(
            &listing,
            LSOF_COLUMNS,
            "(shown for your listening socket's port once there is one)",
        )
    });
    let lsof = ports.into_iter().take(3).map(|port| {
        block(
            &lsof_port(rows, held, machine, port),
            LSOF_COLUMNS,
            "(nothing: no open descriptor uses this port; lsof prints no header then)",
        )
    });
    html! {
        <>
            { block(&ss_listening(rows, held, machine), SS_TLNP_COLUMNS, "") }
            { block(&ss_all(rows), SS_TAN_COLUMNS, "") }
            { block(&netstat_all(rows), NETSTAT_COLUMNS, "") }
            { for lsof }
            { for waiting }
        </>
    }
}

#[component]
pub(crate) fn PortListingView() -> Html {
    let Some(session) = use_context::<SessionContext>() else {
        return html! { <p>{ "socketlab: the session is missing (a bug)." }</p> };
    };
    let kernel = &session.kernel;
    let machine = session.course.machine.as_ref();
    let held: Vec<Held> = session
        .sockets
        .values()
        .map(|s| Held {
            socket: s.id,
            fd: s.fd,
            ipv6: s.family == Family::Ipv6,
        })
        .collect();
    let intro = html! {
        <p class="listing-intro">
            { "What these commands would print right now for the lab's sockets, built from the kernel's own tables. Only the lab's lines are shown: in a terminal the real commands also list every other program's sockets. (ss is shown as it prints into a pipe; in a terminal it spreads the same columns wider.)" }
        </p>
    };
    // A lost link has no session: its rows went with it.
    let body = if !session.link.is_live() {
        html! {
            <p class="listing-waiting">{ "Waiting for the relay: start it with " }<code>{ "cargo xtask serve" }</code>{ " and open the address it prints. The listings are built from the kernel's socket tables, which the relay reads." }</p>
        }
    } else if let Some(Availability::Unavailable { reason, .. }) = &kernel.kernel_view {
        html! {
            <p class="listing-waiting" data-testid="listing-unavailable">{ format!("No listings: the relay cannot read the kernel's socket tables ({reason}). ss, netstat and lsof as shown here are Linux's.") }</p>
        }
    } else if kernel.rows.is_empty() {
        html! {
            <>
                <p class="listing-waiting" data-testid="listing-empty">{ "No sockets yet, so every command would print only its header. Make some in the lab above: in the Server panel press socket(), bind() and listen(), then in the Client panel socket() and connect(). The lines appear here as the kernel makes them." }</p>
                { listings(&[], &held, machine) }
            </>
        }
    } else {
        listings(&kernel.rows, &held, machine)
    };
    html! {
        <section class="widget port-listing" data-testid="port-listing">
            { intro }
            { body }
        </section>
    }
}
