//! The "+ add socket" form: picks a family and a type and calls socket() for a new panel.

use socketlab_shared::{Family, SocketType};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::lab::focus::{Place, StepFocus};

#[derive(Properties, PartialEq)]
pub(crate) struct AddSocketProps {
    pub(crate) live: bool,
    pub(crate) on_add: Callback<(Family, SocketType)>,
}

#[component]
pub(crate) fn AddSocket(props: &AddSocketProps) -> Html {
    let lit = use_context::<StepFocus>().and_then(|focus| focus.call_on(Place::Add))
        == Some(socketlab_shared::Syscall::Socket);
    let family = use_node_ref();
    let kind = use_node_ref();
    let onclick = {
        let (family, kind, on_add) = (family.clone(), kind.clone(), props.on_add.clone());
        Callback::from(move |_: MouseEvent| {
            let read = |node: &NodeRef| {
                node.cast::<HtmlSelectElement>()
                    .map(|s| s.value())
                    .unwrap_or_default()
            };
            let family = match read(&family).as_str() {
                "ipv6" => Family::Ipv6,
                _ => Family::Ipv4,
            };
            let kind = match read(&kind).as_str() {
                "datagram" => SocketType::Datagram,
                _ => SocketType::Stream,
            };
            on_add.emit((family, kind));
        })
    };
    html! {
        <div class="add-socket" data-testid="add-socket">
            <h2>{ "Another socket" }</h2>
            <p class="hint">
                { "Add a third socket: a second client, or a UDP (datagram) socket to try sendto() and recvfrom()." }
            </p>
            <div class="row">
                <select ref={family} data-arg="family" aria-label="address family">
                    <option value="ipv4" selected=true>{ "IPv4 (AF_INET)" }</option>
                    <option value="ipv6">{ "IPv6 (AF_INET6)" }</option>
                </select>
                <select ref={kind} data-arg="type" aria-label="socket type">
                    <option value="stream">{ "TCP stream (SOCK_STREAM)" }</option>
                    <option value="datagram" selected=true>{ "UDP datagram (SOCK_DGRAM)" }</option>
                </select>
                <button class={classes!("add", lit.then_some("step-target"))} disabled={!props.live} onclick={onclick}>
                    { "+ add socket" }
                </button>
            </div>
        </div>
    }
}
