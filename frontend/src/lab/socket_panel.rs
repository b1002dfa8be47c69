//! One socket's card: its name and role, its lifecycle diagram, a hint for the next step, and its
//! call controls, with the "show every call" toggle. The server and client cards exist before their
//! socket does and then offer socket() itself. A lesson's `StepFocus` (`lab::focus`) may outline
//! one of its buttons.

use socketlab_shared::{Family, Op, Path, SocketState, SocketType, Syscall};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::lab::call_controls::CallControls;
use crate::lab::focus::{Place, StepFocus};
use crate::lab::lifecycle_diagram::LifecycleDiagram;
use crate::session::narration;
use crate::session::{Slot, SocketView};

#[derive(Properties, PartialEq)]
pub(crate) struct SocketPanelProps {
    pub(crate) slot: Slot,
    pub(crate) socket: Option<SocketView>,
    /// Calls on this socket still waiting for their reply.
    pub(crate) pending: Vec<Syscall>,
    /// A socket() for this panel is on its way.
    pub(crate) creating: bool,
    /// The sockets accept() on this one returned.
    pub(crate) accepted: Vec<SocketView>,
    pub(crate) suggested_peer: Option<String>,
    pub(crate) live: bool,
    pub(crate) on_call: Callback<Op>,
    pub(crate) on_create: Callback<(Family, SocketType)>,
}

fn title(slot: Slot, socket: Option<&SocketView>) -> (String, &'static str) {
    match (slot, socket) {
        (Slot::Server, _) => (
            "Server".into(),
            "Waits for clients: bind() an address, listen(), then accept() each connection.",
        ),
        (Slot::Client, _) => (
            "Client".into(),
            "Starts a conversation: connect() to the server's address, then send() and recv().",
        ),
        (Slot::New, Some(s)) => match s.role {
            crate::session::Role::Accepted { .. } => (
                format!("{} — {}", s.id, s.role_label()),
                "accept() made this socket for one client. The listening socket keeps listening for more.",
            ),
            _ if s.kind == SocketType::Datagram => (
                format!("{} — UDP socket", s.id),
                "Datagrams: no connection. sendto() an address, recvfrom() whatever arrives, with its sender.",
            ),
            _ => (
                format!("{} — TCP socket", s.id),
                "Another stream socket: make it a second client, or a second server.",
            ),
        },
        (Slot::New, None) => ("New socket".into(), ""),
    }
}

fn testid(slot: Slot, socket: Option<&SocketView>) -> String {
    match (slot, socket) {
        (Slot::Server, _) => "panel-server".into(),
        (Slot::Client, _) => "panel-client".into(),
        (Slot::New, Some(s)) => format!("panel-socket-{}", s.id.0),
        (Slot::New, None) => "panel-new".into(),
    }
}

#[component]
pub(crate) fn SocketPanel(props: &SocketPanelProps) -> Html {
    let show_all = use_state(|| false);
    // The control the lesson's current step names, if it is on this card.
    let card = match (props.slot, props.socket.as_ref().map(|s| &s.role)) {
        (Slot::Server, _) => Place::Server,
        (Slot::Client, _) => Place::Client,
        (Slot::New, Some(crate::session::Role::Accepted { .. })) => Place::Accepted,
        (Slot::New, _) => Place::New,
    };
    let lit = use_context::<StepFocus>().and_then(|focus| focus.call_on(card));
    let family = use_node_ref();
    let kind = use_node_ref();
    let socket = props.socket.as_ref();
    let (name, role_hint) = title(props.slot, socket);

    let toggle = {
        let show_all = show_all.clone();
        Callback::from(move |e: Event| {
            let on = e
                .target_dyn_into::<HtmlInputElement>()
                .is_some_and(|input| input.checked());
            show_all.set(on);
        })
    };
    let create = {
        let (family, kind, on_create) = (family.clone(), kind.clone(), props.on_create.clone());
        Callback::from(move |_: MouseEvent| {
            let read = |node: &NodeRef| {
                node.cast::<HtmlSelectElement>()
                    .map(|s| s.value())
                    .unwrap_or_default()
            };
            let family = if read(&family) == "ipv6" {
                Family::Ipv6
            } else {
                Family::Ipv4
            };
            let kind = if read(&kind) == "datagram" {
                SocketType::Datagram
            } else {
                SocketType::Stream
            };
            on_create.emit((family, kind));
        })
    };

    // Where the card is on its lifecycle; a card without a socket shows the path it will take.
    let path = match (socket, props.slot) {
        (Some(s), _) => s.path(),
        (None, Slot::Client) => Path::Client,
        (None, _) => Path::Server,
    };
    let current = socket.map(|s| path.current_step(s.state, s.last_ok));
    let closed = socket.is_some_and(|s| s.state == SocketState::Closed);
    let can_create = props.slot != Slot::New && (socket.is_none() || closed);
    let accepted: Vec<(String, String)> = props
        .accepted
        .iter()
        .map(|a| (a.id.to_string(), a.peer.clone().unwrap_or_default()))
        .collect();

    let state_class = socket.map_or("state-none".to_owned(), |s| {
        format!("state-{}", s.state.label().replace(' ', "-"))
    });
    let next = match socket {
        _ if !props.live => {
            Some("The buttons wake up once the relay is connected (see the top right).")
        }
        Some(s) => {
            narration::next_step(path, s.kind, s.state, &props.pending, props.accepted.len())
        }
        None if props.creating => Some("socket() is on its way…"),
        None => Some("Start here: socket() asks the kernel for a new socket."),
    };

    let create_form = can_create.then(|| {
        let label = if closed { "socket() again" } else { "socket()" };
        html! {
            <div class="call create">
                <button
                    data-call="socket"
                    class={classes!(socket.is_none().then_some("next"), (lit == Some(Syscall::Socket)).then_some("step-target"))}
                    disabled={!props.live || props.creating}
                    title={narration::purpose(Syscall::Socket)}
                    onclick={create}
                >{ label }</button>
                <span class="args">
                    <select ref={family} data-arg="family" aria-label="address family">
                        <option value="ipv4" selected=true>{ "AF_INET (IPv4)" }</option>
                        <option value="ipv6">{ "AF_INET6 (IPv6)" }</option>
                    </select>
                    <select ref={kind} data-arg="type" aria-label="socket type">
                        <option value="stream" selected=true>{ "SOCK_STREAM (TCP)" }</option>
                        <option value="datagram">{ "SOCK_DGRAM (UDP)" }</option>
                    </select>
                </span>
            </div>
        }
    });

    html! {
        <article
            class={classes!("panel", state_class)}
            data-testid={testid(props.slot, socket)}
            data-socket={socket.map(|s| s.id.0.to_string())}
        >
            <header class="panel-head">
                <h2>{ name }</h2>
                if let Some(s) = socket {
                    <span class="ident" title="the socket's id in this session, and the real file descriptor number in the relay's process">
                        { format!("{} · fd {} · {}", s.id, s.fd, s.type_label()) }
                    </span>
                    <span class={classes!("state-badge", format!("badge-{}", s.state.label().replace(' ', "-")))}>
                        { s.state.label() }
                    </span>
                }
            </header>
            <p class="role-hint">{ role_hint }</p>
            <LifecycleDiagram
                path={path}
                current={current}
                waiting={props.pending.clone()}
                accepted={accepted}
            />
            if let Some(next) = next {
                <p class="next-step">{ next }</p>
            }
            { for create_form }
            if let Some(s) = socket.filter(|_| !can_create || closed) {
                <CallControls
                    socket={s.clone()}
                    pending={props.pending.clone()}
                    suggested_peer={props.suggested_peer.clone()}
                    live={props.live}
                    show_all={*show_all}
                    on_call={props.on_call.clone()}
                    lit={lit}
                />
            }
            if socket.is_some() {
                <label class="show-all" title="The lab greys out calls that make no sense in this state. The relay still makes them for real: tick this to see the kernel refuse.">
                    <input type="checkbox" data-arg="show-all" checked={*show_all} onchange={toggle} />
                    { " show every call (also the odd ones: the kernel's refusal is a lesson)" }
                </label>
            }
        </article>
    }
}
