//! The kernel table ("What the kernel has"): every row the kernel's own socket tables have for this
//! session, with who holds it (`s1`, `queued on s1`, `after close()`), its TCP state, the exact `ss
//! -tan` line (`KernelSocket::ss_line`) under an `ss` header in the same columns, and what it means
//! in a sentence. The rows no descriptor holds are explained: connections waiting in a listener's
//! accept queue, and what lingers after close(). Under it a copyable `ss -tan '( sport = :P or ...
//! )'` (and `ss -uan` for UDP) for the session's ports, entering the session's own network
//! namespace first where it has one (`sudo nsenter -t THREAD -n`). The rows shown are exactly the
//! last `kernel` list.

use socketlab_shared::{Availability, Detached, KernelSocket, KernelState, Transport};
use yew::prelude::*;

use crate::ui::capability_note::CapabilityNote;

#[derive(Properties, PartialEq)]
pub(crate) struct KernelTableProps {
    pub(crate) rows: Vec<KernelSocket>,
    /// `None` until the relay has said whether it can.
    pub(crate) availability: Option<Availability>,
    /// The relay's thread in this session's own network namespace (`--isolate-sessions`): the
    /// `ss` command then enters it first (`sudo nsenter -t THREAD -n`).
    #[prop_or_default]
    pub(crate) namespace_thread: Option<u32>,
}

/// The note's title: with no remedy the reason is the OS (the relay is not on Linux); with
/// one, something on this Linux machine is in the way.
fn kernel_view_title(fixable: bool) -> String {
    if fixable {
        "The kernel view is off on this relay".into()
    } else {
        "The kernel view is Linux only".into()
    }
}

/// Who holds the row: "s1", or why nobody does.
fn holder(row: &KernelSocket) -> String {
    match (&row.socket, &row.detached) {
        (Some(id), _) => id.to_string(),
        (None, Some(Detached::AcceptQueue { listener })) => format!("queued on {listener}"),
        (None, Some(Detached::Closed)) => "after close()".into(),
        (None, None) => "no descriptor".into(),
    }
}

fn bytes(n: u32) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// What the row means, in a sentence for someone who has never read `ss`.
pub(crate) fn meaning(row: &KernelSocket) -> String {
    use KernelState as K;
    if let Some(detached) = &row.detached {
        return match (detached, row.state) {
            (Detached::AcceptQueue { listener }, K::SynRecv) => format!(
                "in the accept queue of {listener}, half open: the kernel answered SYN,ACK and waits for the client's ACK"
            ),
            (Detached::AcceptQueue { listener }, _) => format!(
                "in the accept queue of {listener}: the handshake is done, accept() has not taken it yet"
            ),
            (Detached::Closed, K::TimeWait) => "TIME_WAIT: left after close(), the kernel keeps it ~60 s so that late packets of this connection cannot land in a new one".into(),
            (Detached::Closed, K::FinWait1 | K::FinWait2) => "left after close(): the kernel still finishes the goodbye, waiting for the peer's FIN".into(),
            (Detached::Closed, K::LastAck) => "left after close(): the kernel waits for the ACK of its FIN".into(),
            (Detached::Closed, _) => "left after close(), until the kernel lets it go".into(),
        };
    }
    let mut text: String = match (row.transport, row.state) {
        (Transport::Udp, K::Unconn) => "UDP, no peer: takes datagrams sent to its address".into(),
        (Transport::Udp, _) => "UDP with a default peer (connect() sent no packet)".into(),
        (_, K::Listen) => {
            let waiting = match row.recv_q {
                0 => "no connection waits".to_owned(),
                1 => "1 connection waits for accept()".to_owned(),
                n => format!("{n} connections wait for accept()"),
            };
            format!("listening: {waiting} (Recv-Q); the backlog allows {} (Send-Q)", row.send_q)
        }
        (_, K::SynSent) => "connect() sent SYN and waits for SYN,ACK".into(),
        (_, K::SynRecv) => "got SYN, answered SYN,ACK, waits for the ACK".into(),
        (_, K::Established) => "connected: both sides may send".into(),
        (_, K::FinWait1) => "sent FIN (close or shutdown), waits for its ACK".into(),
        (_, K::FinWait2) => "its FIN is acknowledged; waits for the peer to close too".into(),
        (_, K::CloseWait) => "the peer closed its side (FIN arrived): recv() returns end of stream; close() when done".into(),
        (_, K::Closing) => "both sides sent FIN at once; waits for the last ACK".into(),
        (_, K::LastAck) => "closed after the peer did; waits for the ACK of its FIN".into(),
        (_, K::TimeWait) => "waits ~60 s before the kernel forgets the connection".into(),
        (_, K::Close | K::Unconn) => "closed in the kernel".into(),
    };
    if row.state != K::Listen {
        if row.recv_q > 0 {
            text.push_str(&format!(
                "; {} arrived, not read by recv() yet",
                bytes(row.recv_q)
            ));
        }
        if row.send_q > 0 {
            text.push_str(&format!(
                "; {} sent, not acknowledged yet",
                bytes(row.send_q)
            ));
        }
    }
    text
}

/// The header `ss` prints over its lines, in the same columns as `KernelSocket::ss_line`.
fn ss_header() -> String {
    format!(
        "{:<10} {:<6} {:<6} {:<22} {}",
        "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    )
}

/// An `ss` command that lists exactly the session's ports, for the learner's terminal; in the
/// session's own network namespace when it has one (`nsenter` needs root on the relay's machine).
pub(crate) fn ss_filter(rows: &[KernelSocket], namespace_thread: Option<u32>) -> Option<String> {
    let enter = namespace_thread
        .map(|thread| format!("sudo nsenter -t {thread} -n "))
        .unwrap_or_default();
    let mut ports: Vec<(Transport, &str)> = rows
        .iter()
        .filter_map(|r| r.local.rsplit_once(':').map(|(_, p)| (r.transport, p)))
        .filter(|(_, p)| *p != "0" && *p != "*")
        .collect();
    ports.sort_by_key(|(t, p)| (t.name(), p.parse::<u32>().unwrap_or(0)));
    ports.dedup();
    let command = |transport: Transport, flag: &str| {
        let list: Vec<String> = ports
            .iter()
            .filter(|(t, _)| *t == transport)
            .map(|(_, p)| format!("sport = :{p}"))
            .collect();
        (!list.is_empty()).then(|| format!("{enter}ss -{flag}an '( {} )'", list.join(" or ")))
    };
    let commands: Vec<String> = [command(Transport::Tcp, "t"), command(Transport::Udp, "u")]
        .into_iter()
        .flatten()
        .collect();
    (!commands.is_empty()).then(|| commands.join("; "))
}

#[component]
pub(crate) fn KernelTable(props: &KernelTableProps) -> Html {
    let unavailable = match &props.availability {
        Some(Availability::Unavailable { reason, remedy }) => html! {
            <CapabilityNote
                testid="kernel-view-unavailable"
                title={kernel_view_title(remedy.is_some())}
                reason={reason.clone()}
                remedy={remedy.clone()}
                alternative={None::<String>}
            />
        },
        _ => html! {},
    };
    let rows = props.rows.iter().map(|row| {
        let detached = row.socket.is_none();
        html! {
            <tr data-kernel-state={row.state.name()} class={classes!(detached.then_some("detached"))}>
                <td data-col="holder">{ holder(row) }</td>
                <td data-col="kstate"><span class={classes!("kstate", format!("ks-{}", row.state.name().to_lowercase()))}>{ row.state.name() }</span></td>
                <td data-col="ss"><code class="copyable" title={format!("this line is in the output of `{}`", row.ss_command())}>{ row.ss_line() }</code></td>
                <td data-col="meaning" class="note">{ meaning(row) }</td>
            </tr>
        }
    });
    let filter = ss_filter(&props.rows, props.namespace_thread);
    html! {
        <section class="table-box kernel-box" data-testid="kernel-table">
            <h2>{ "What the kernel has" }</h2>
            if matches!(props.availability, Some(Availability::Unavailable { .. })) {
                { unavailable }
            } else {
                <p class="caption">
                    { "The kernel's own socket tables, for this session only. Each line is what " }
                    <code>{ "ss -tan" }</code>
                    { " prints in a terminal on this machine. Rows with no socket are held by the kernel alone: connections waiting in an accept queue, and what lingers after close()." }
                </p>
                <table class="sockets kernel">
                    <thead>
                        <tr>
                            <th title="the session's socket, or why there is none">{ "socket" }</th>
                            <th title="the TCP state, as RFC 793 and /proc/net/tcp name it">{ "TCP state" }</th>
                            <th class="ss-head" title="the columns of ss -tan: copy a line, or run the command below"><code>{ ss_header() }</code></th>
                            <th>{ "what it means" }</th>
                        </tr>
                    </thead>
                    <tbody>
                        if props.rows.is_empty() {
                            <tr class="empty"><td colspan="4">{
                                if props.availability.is_none() { "Waiting for the relay…" } else { "Nothing in the kernel yet: a socket shows here once it is bound and listening or connected." }
                            }</td></tr>
                        }
                        { for rows }
                    </tbody>
                </table>
                if let Some(filter) = filter {
                    <p class="caption try">
                        { "Try it: " }
                        <code class="copyable" title="click to select, then copy into a terminal">{ filter }</code>
                    </p>
                }
            }
        </section>
    }
}
