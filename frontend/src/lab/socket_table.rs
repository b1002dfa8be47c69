//! The socket table ("Sockets of this session"), like a small `ss`: one row per socket of the
//! session with its descriptor, type, state and both addresses, under a caption naming the 5-tuple,
//! so each connection's 5-tuple can be read off.

use socketlab_shared::{SocketState, SocketType};
use yew::prelude::*;

use crate::session::{Role, SocketView};

#[derive(Properties, PartialEq)]
pub(crate) struct SocketTableProps {
    pub(crate) sockets: Vec<SocketView>,
}

/// A short note on how this row relates to the others: which socket is its other end.
fn note(socket: &SocketView, all: &[SocketView]) -> String {
    if socket.state == SocketState::Closed {
        return "closed: no descriptor any more (a TIME_WAIT in the kernel view may still hold its port)".into();
    }
    if socket.state == SocketState::Listening {
        return "listening: accepts new connections".into();
    }
    let mirror = all.iter().find(|other| {
        other.id != socket.id
            && other.state != SocketState::Closed
            && other.local.is_some()
            && other.local == socket.peer
            && other.peer == socket.local
    });
    match (mirror, socket.role) {
        (Some(other), _) => format!("other end of the same connection as {}", other.id),
        (None, Role::Accepted { from }) => format!("made by accept() on {from}"),
        (None, _) if socket.kind == SocketType::Datagram && socket.local.is_some() => {
            "receives datagrams sent to its local address".into()
        }
        _ => String::new(),
    }
}

#[component]
pub(crate) fn SocketTable(props: &SocketTableProps) -> Html {
    let rows = props.sockets.iter().map(|s| {
        let closed = s.state == SocketState::Closed;
        let dash = || "—".to_owned();
        html! {
            <tr data-socket={s.id.0.to_string()} class={classes!(closed.then_some("closed"))}>
                <td data-col="id">{ s.id.to_string() }</td>
                <td data-col="fd">{ s.fd }</td>
                <td data-col="type">{ s.type_label() }</td>
                <td data-col="state"><span class={classes!("state-badge", format!("badge-{}", s.state.label().replace(' ', "-")))}>{ s.state.label() }</span></td>
                <td data-col="local">{ if closed { dash() } else { s.local.clone().unwrap_or_else(dash) } }</td>
                <td data-col="peer">{ if closed { dash() } else { s.peer.clone().unwrap_or_else(dash) } }</td>
                <td data-col="role">{ s.role_label() }</td>
                <td data-col="note" class="note">{ note(s, &props.sockets) }</td>
            </tr>
        }
    });
    html! {
        <section class="table-box">
            <h2>{ "Sockets of this session" }</h2>
            <p class="caption">
                { "Like " }<code>{ "ss -tan" }</code>{ ": every socket the relay holds for you. A connection is named by five things, its " }
                <strong>{ "5-tuple" }</strong>
                { ": protocol, local address, local port, peer address, peer port. The client's and the accepted socket's rows are mirror images, and the client's local port is an " }
                <em>{ "ephemeral" }</em>{ " port the kernel picked." }
            </p>
            <table data-testid="socket-table" class="sockets">
                <thead>
                    <tr>
                        <th title="the socket's id in this session">{ "id" }</th>
                        <th title="the real file descriptor number in the relay's process">{ "fd" }</th>
                        <th title="protocol / IP version">{ "type" }</th>
                        <th>{ "state" }</th>
                        <th title="local address:port (getsockname)">{ "local" }</th>
                        <th title="peer address:port (getpeername)">{ "peer" }</th>
                        <th>{ "role" }</th>
                        <th>{ "" }</th>
                    </tr>
                </thead>
                <tbody>
                    if props.sockets.is_empty() {
                        <tr class="empty"><td colspan="8">{ "No sockets yet: press socket() in a panel." }</td></tr>
                    }
                    { for rows }
                </tbody>
            </table>
        </section>
    }
}
