//! The packets on the wire ("Packets on the wire") as a sequence diagram of one conversation: the
//! newest packet's, or the one the learner picked in the tabs shown when there are several (the
//! component's only state). The sender of the first packet is on the left; each packet is a row
//! with its time in ms since the conversation's first, an arrow between the two lifelines, flag
//! chips, relative seq/ack, length and the first bytes as escaped text, and a few words on what it
//! does: handshake 1/3, 2/3, 3/3, data, "ACK: got everything before byte N", FIN, RST. The newest
//! row is scrolled into view; it says how many older packets were let go.

use socketlab_shared::{Availability, Packet, SocketState, TcpFlag, Transport};
use yew::prelude::*;

use crate::session::SocketView;
use crate::session::journal::Journal;
use crate::session::kernel_watch::{conversation, flags_text};
use crate::ui::capability_note::CapabilityNote;

#[derive(Properties, PartialEq)]
pub(crate) struct PacketViewProps {
    pub(crate) packets: Journal<Packet>,
    /// Older packets the page let go.
    pub(crate) dropped: u64,
    /// `None` until the relay has said whether it can capture.
    pub(crate) availability: Option<Availability>,
    /// The session's sockets, to name the two ends.
    pub(crate) sockets: Vec<SocketView>,
}

type Conversation = (Transport, String, String);

/// A few words on what the packet at `i` does, given the packets of its conversation.
pub(crate) fn note(packets: &[&Packet], i: usize) -> String {
    let Some(p) = packets.get(i) else {
        return String::new();
    };
    if p.transport == Transport::Udp {
        return format!("a datagram of {} bytes", p.len);
    }
    let has = |f: TcpFlag| p.flags.contains(&f);
    let only_ack = p
        .flags
        .iter()
        .all(|f| *f == TcpFlag::Ack || *f == TcpFlag::Psh);
    if has(TcpFlag::Rst) {
        return "RST: torn down at once: nobody listens there (connect refused), or aborted (e.g. close() with unread data)"
            .into();
    }
    if has(TcpFlag::Syn) && has(TcpFlag::Ack) {
        return "handshake 2/3: the server agrees (SYN,ACK)".into();
    }
    if has(TcpFlag::Syn) {
        return "handshake 1/3: connect() asks to open (SYN)".into();
    }
    if has(TcpFlag::Fin) {
        return "FIN: this side sends no more (close or shutdown)".into();
    }
    if p.len > 0 {
        return format!("{} bytes of data, from send()", p.len);
    }
    let after_syn_ack = i
        .checked_sub(1)
        .and_then(|j| packets.get(j))
        .is_some_and(|prev| {
            prev.flags.contains(&TcpFlag::Syn)
                && prev.flags.contains(&TcpFlag::Ack)
                && prev.dst == p.src
        });
    if only_ack && after_syn_ack {
        return "handshake 3/3: connected (ESTABLISHED)".into();
    }
    match p.ack {
        Some(ack) => format!("ACK: got everything before byte {ack}"),
        None => String::new(),
    }
}

/// "s2 (client)" for the end at `address` of the conversation with `other`.
fn lane_name(sockets: &[SocketView], address: &str, other: &str) -> String {
    let connected = sockets
        .iter()
        .rev()
        .find(|s| s.local.as_deref() == Some(address) && s.peer.as_deref() == Some(other));
    let listening = sockets
        .iter()
        .rev()
        .find(|s| s.local.as_deref() == Some(address) && s.state == SocketState::Listening);
    match (connected, listening) {
        (Some(s), _) => format!("{} ({})", s.id, s.role_label()),
        (None, Some(s)) => format!("{}'s port", s.id),
        (None, None) => String::new(),
    }
}

fn chip(flag: TcpFlag) -> Html {
    html! { <span class={classes!("flag", format!("f-{}", flag.name().to_lowercase()))}>{ flag.name() }</span> }
}

#[component]
pub(crate) fn PacketView(props: &PacketViewProps) -> Html {
    let pinned = use_state(|| None::<Conversation>);
    let list = use_node_ref();
    {
        // Keep the newest packet in view as the trace grows.
        let list = list.clone();
        let appended = props.packets.dropped() + props.packets.len() as u64;
        use_effect_with(appended, move |_| {
            if let Some(el) = list.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }

    if let Some(Availability::Unavailable { reason, remedy }) = &props.availability {
        return html! {
            <section class="table-box packet-box" data-testid="packet-view">
                <h2>{ "Packets on the wire" }</h2>
                <CapabilityNote
                    testid="capture-unavailable"
                    title="Packet capture is off on this relay"
                    reason={reason.clone()}
                    remedy={remedy.clone()}
                    alternative={remedy.is_some().then(|| "Or start the relay as root (with sudo): root may capture.".to_owned())}
                />
            </section>
        };
    }

    // Conversations in the order they began; the newest packet's is shown unless one is pinned.
    let all = props.packets.entries();
    let mut conversations: Vec<Conversation> = Vec::new();
    for p in all.iter() {
        let key = conversation(p);
        if !conversations.contains(&key) {
            conversations.push(key);
        }
    }
    let newest = all.last().map(conversation);
    let shown = (*pinned)
        .clone()
        .filter(|c| conversations.contains(c))
        .or(newest);
    let packets: Vec<&Packet> = all
        .iter()
        .filter(|p| shown.as_ref() == Some(&conversation(p)))
        .collect();
    // The end that sent first (the client, for a connect) is drawn on the left.
    let (left, right) = match packets.first() {
        Some(first) => (first.src.clone(), first.dst.clone()),
        None => (String::new(), String::new()),
    };
    let start = packets.first().map_or(0, |p| p.at_us);

    let tabs = (conversations.len() > 1).then(|| {
        let buttons = conversations.iter().map(|c| {
            let active = shown.as_ref() == Some(c);
            let onclick = {
                let pinned = pinned.clone();
                let c = c.clone();
                Callback::from(move |_| pinned.set(Some(c.clone())))
            };
            html! {
                <button class={classes!("conversation", active.then_some("active"))} onclick={onclick}>
                    { format!("{} {} ⇄ {}", c.0.name(), c.1, c.2) }
                </button>
            }
        });
        html! { <div class="conversations">{ for buttons }</div> }
    });

    let rows = packets.iter().enumerate().map(|(i, p)| {
        let rightward = p.src == left;
        let flags = p.flags.iter().map(|f| chip(*f));
        let head = (!p.head.is_empty()).then(|| {
            let more = if (p.head.len() as u32) < p.len { "…" } else { "" };
            format!("\"{}{more}\"", p.head.to_text())
        });
        html! {
            <li data-testid="packet" data-flags={flags_text(&p.flags)}
                class={classes!("packet", if rightward { "rightward" } else { "leftward" })}>
                <span class="ptime" title="milliseconds since the first packet shown">
                    { format!("{:.3}", (p.at_us.saturating_sub(start)) as f64 / 1e3) }
                </span>
                <div class="wire">
                    <div class="plabel">
                        if p.transport == Transport::Udp { <span class="flag f-udp">{ "UDP" }</span> }
                        { for flags }
                        if let Some(seq) = p.seq { <span class="num">{ format!("seq {seq}") }</span> }
                        if let Some(ack) = p.ack { <span class="num">{ format!("ack {ack}") }</span> }
                        if p.len > 0 || p.transport == Transport::Udp { <span class="num">{ format!("len {}", p.len) }</span> }
                        if let Some(head) = head { <code class="head">{ head }</code> }
                    </div>
                    <div class="arrow-line"></div>
                </div>
                <span class="pnote">{ note(&packets, i) }</span>
            </li>
        }
    });

    html! {
        <section class="table-box packet-box" data-testid="packet-view">
            <h2>{ "Packets on the wire" }</h2>
            <p class="caption">
                { "Captured on loopback, only between this session's ports. seq and ack count bytes from each side's start (0 = its SYN), as Wireshark shows them." }
            </p>
            { for tabs }
            if packets.is_empty() {
                <p class="empty-trace">{
                    if props.availability.is_none() { "Waiting for the relay…" } else { "No packet yet: connect() makes the first ones." }
                }</p>
            } else {
                <div class="lanes">
                    <span class="ptime">{ "ms" }</span>
                    <div class="ends">
                        <span class="end left"><code>{ left.clone() }</code><small>{ lane_name(&props.sockets, &left, &right) }</small></span>
                        <span class="end right"><code>{ right.clone() }</code><small>{ lane_name(&props.sockets, &right, &left) }</small></span>
                    </div>
                    <span class="pnote"></span>
                </div>
                <ol class="trace" ref={list}>
                    if props.dropped > 0 {
                        <li class="dropped">{ format!("{} older packets are not kept", props.dropped) }</li>
                    }
                    { for rows }
                </ol>
            }
        </section>
    }
}
