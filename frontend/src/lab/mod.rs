//! The lab's layout: the link status on top, the socket panels side by side with the socket table
//! and the kernel's table under them, and the event log beside them; below, across the page
//! (`.observe`, two columns, one under 1100 px), the TCP state diagram and the packets on the wire
//! side by side. Under the kernel's table, the Code view: the session as a program, its lines
//! and the log's entries lit together for the hovered call. It reads the two contexts (the session and the relay handle), as the course's live
//! widgets do, and hands each leaf plain props. It computes the client's suggested connect address
//! from the server's real bound address. Its `embedded` prop is set where the same lab is placed in
//! a lesson (`{{lab}}`).
//!
//! An unavailable instrument (no kernel view, no capture) replaces only its own box with a
//! `ui::capability_note::CapabilityNote`; the rest of the lab is unchanged.

pub(crate) mod add_socket;
pub(crate) mod call_controls;
pub(crate) mod code_listing;
pub(crate) mod code_view;
pub(crate) mod event_log;
pub(crate) mod focus;
pub(crate) mod lifecycle_diagram;
pub(crate) mod socket_panel;
pub(crate) mod socket_table;
pub(crate) mod typed_bytes;

use socketlab_shared::{Family, SocketId, SocketState, SocketType};
use yew::prelude::*;

use crate::kernel::packet_view::PacketView;
use crate::kernel::table::KernelTable;
use crate::kernel::tcp_state_diagram::TcpStateDiagram;
use crate::lab::add_socket::AddSocket;
use crate::lab::code_view::CodeView;
use crate::lab::event_log::EventLog;
use crate::lab::socket_panel::SocketPanel;
use crate::lab::socket_table::SocketTable;
use crate::link::RelayHandle;
use crate::link::status::LinkStatus;
use crate::session::context::SessionContext;
use crate::session::{Panel, Session, Slot, SocketView};

/// An address to send to for one a socket is bound to: the wildcard (`0.0.0.0` or `[::]`) means
/// "every local address", so suggest loopback on the same port instead.
fn reachable(local: String) -> String {
    if let Some(port) = local.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = local.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        local
    }
}

/// The address a panel's connect/sendto field suggests: for the client, the server's real
/// address; for any other socket, the newest other socket of its kind that has an address.
fn suggested_peer(session: &Session, panel: &Panel) -> Option<String> {
    let server = session
        .server()
        .and_then(|s| s.local.clone())
        .map(reachable);
    let own = panel.socket.and_then(|id| session.socket(id));
    match (panel.slot, own) {
        (Slot::Server, _) => None,
        (Slot::Client, _) | (_, None) => server,
        (_, Some(own)) => session
            .sockets
            .values()
            .rev()
            .find(|s| {
                s.id != own.id
                    && s.kind == own.kind
                    && s.family == own.family
                    && s.state != SocketState::Closed
                    && s.peer.is_none()
                    && s.local.is_some()
            })
            .and_then(|s| s.local.clone())
            .map(reachable)
            .or(server),
    }
}

fn panel_key(panel: &Panel, index: usize) -> String {
    match (panel.slot, panel.socket) {
        (Slot::Server, _) => "server".into(),
        (Slot::Client, _) => "client".into(),
        (_, Some(SocketId(n))) => format!("socket-{n}"),
        (_, None) => format!("panel-{index}"),
    }
}

#[derive(Properties, PartialEq, Default)]
pub(crate) struct LabProps {
    /// Inside a lesson (`{{lab}}`): the lesson has its own title, so the lab's is left out.
    #[prop_or_default]
    pub(crate) embedded: bool,
}

#[component]
pub(crate) fn Lab(props: &LabProps) -> Html {
    let Some(session) = use_context::<SessionContext>() else {
        return html! { <p>{ "socketlab: the session is missing (a bug)." }</p> };
    };
    let Some(relay) = use_context::<RelayHandle>() else {
        return html! { <p>{ "socketlab: the relay link is missing (a bug)." }</p> };
    };
    let live = session.link.is_live();
    // The call lit in both the log and the Code view, while one of its lines is hovered.
    let lit = use_state(|| None::<socketlab_shared::CallId>);
    let on_hover = {
        let lit = lit.clone();
        Callback::from(move |call| lit.set(call))
    };

    let on_retry = {
        let relay = relay.clone();
        Callback::from(move |()| relay.retry_now())
    };
    let on_add = {
        let relay = relay.clone();
        Callback::from(move |(family, kind): (Family, SocketType)| {
            relay.create(Slot::New, family, kind)
        })
    };

    let on_call = {
        let relay = relay.clone();
        Callback::from(move |op| {
            relay.call(op);
        })
    };
    let on_create = |slot: Slot| {
        let relay = relay.clone();
        Callback::from(move |(family, kind): (Family, SocketType)| relay.create(slot, family, kind))
    };

    let panels = session.panels.iter().enumerate().map(|(index, panel)| {
        let socket: Option<SocketView> = panel.socket.and_then(|id| session.socket(id)).cloned();
        let pending = panel
            .socket
            .map(|id| session.pending_on(id))
            .unwrap_or_default();
        let accepted: Vec<SocketView> = socket
            .as_ref()
            .map(|s| {
                s.accepted
                    .iter()
                    .filter_map(|id| session.socket(*id).cloned())
                    .collect()
            })
            .unwrap_or_default();
        let key = panel_key(panel, index);
        html! {
            <SocketPanel
                key={key}
                slot={panel.slot}
                socket={socket}
                pending={pending}
                creating={session.creating(panel.slot) && panel.slot != Slot::New}
                accepted={accepted}
                suggested_peer={suggested_peer(&session, panel)}
                live={live}
                on_call={on_call.clone()}
                on_create={on_create(panel.slot)}
            />
        }
    });

    let sockets: Vec<SocketView> = session.sockets.values().cloned().collect();
    let kernel = &session.kernel;

    html! {
        <div class={classes!("page", props.embedded.then_some("embedded"))}>
            <header class="top">
                if !props.embedded {
                    <div class="title">
                        <h1>{ "socketlab" }</h1>
                        <p class="tagline">
                            { "Every button below makes a real system call on a real socket, in the relay program on your machine. The answers are the kernel's." }
                        </p>
                    </div>
                }
                <LinkStatus link={session.link.clone()} last_failure={session.last_failure.clone()} on_retry={on_retry} />
            </header>
            <main class="lab">
                // The log sticks beside the workbench while it scrolls; its own grid keeps it
                // from sliding over the kernel's views below.
                <div class="lab-top">
                    <section class="workbench">
                        <ol class="howto">
                            <li>{ "Server: " }<code>{ "socket()" }</code>{ " → " }<code>{ "bind()" }</code>{ " → " }<code>{ "listen()" }</code>{ " → " }<code>{ "accept()" }</code>{ " (it waits)." }</li>
                            <li>{ "Client: " }<code>{ "socket()" }</code>{ " → " }<code>{ "connect()" }</code>{ " to the server's address. accept() returns a new socket." }</li>
                            <li>{ "Then " }<code>{ "send()" }</code>{ " on one side and " }<code>{ "recv()" }</code>{ " on the other; watch the table and the log." }</li>
                        </ol>
                        <div class="panels">
                            { for panels }
                            <AddSocket live={live} on_add={on_add} />
                        </div>
                        <SocketTable sockets={sockets.clone()} />
                        <KernelTable rows={kernel.rows.clone()} availability={kernel.kernel_view.clone()}
                            namespace_thread={session.course.machine.as_ref().and_then(|m| m.namespace_thread)} />
                        <CodeView transcript={session.course.transcript.clone()} services={session.course.services.clone()}
                            lit={*lit} on_hover={Some(on_hover.clone())} />
                    </section>
                    <aside class="side">
                        <EventLog entries={session.log.clone()} lit={*lit} on_hover={on_hover} />
                    </aside>
                </div>
                <section class="observe">
                    <TcpStateDiagram tracks={kernel.tracks.clone()} />
                    <PacketView packets={kernel.packets.clone()} dropped={kernel.packets.dropped()}
                        availability={kernel.capture.clone()} sockets={sockets} />
                </section>
            </main>
        </div>
    }
}
