//! The event log ("What happened"): every call, reply and event of the session in order, with its
//! time. Errors come with their errno, number, the OS's text and the plain-language explanation; a
//! refusal by the relay's policy has its own amber RELAY POLICY badge (`k-policy`), its reason, and
//! no errno; kernel lines have their own badge (`k-kernel`); bytes are shown as text and as hex.
//! The session keeps the newest `LOG_CAP` entries; above them a line says how many older ones were
//! dropped. An entry of a call lights with the call's lines in the Code view (`lit`, `on_hover`).

use socketlab_shared::CallId;
use yew::prelude::*;

use crate::session::journal::Journal;
use crate::session::{LOG_CAP, LogEntry, LogKind, Millis};

#[derive(Properties, PartialEq)]
pub(crate) struct EventLogProps {
    pub(crate) entries: Journal<LogEntry>,
    /// The call whose entries are lit (hovered here or in the Code view).
    #[prop_or_default]
    pub(crate) lit: Option<CallId>,
    /// Hovering an entry of a call names it; leaving it, `None`.
    #[prop_or_default]
    pub(crate) on_hover: Callback<Option<CallId>>,
}

/// `mm:ss.mmm` since the page started.
pub(crate) fn clock(at: Millis) -> String {
    let ms = at.max(0.0) as u64;
    format!(
        "{:02}:{:02}.{:03}",
        ms / 60_000,
        (ms / 1000) % 60,
        ms % 1000
    )
}

fn badge(kind: LogKind) -> (&'static str, &'static str) {
    match kind {
        LogKind::Call => ("call", "k-call"),
        LogKind::Reply => ("reply", "k-reply"),
        LogKind::Error => ("error", "k-error"),
        LogKind::Refused => ("relay policy", "k-policy"),
        LogKind::Event => ("event", "k-event"),
        LogKind::Kernel => ("kernel", "k-kernel"),
        LogKind::Link => ("relay", "k-relay"),
    }
}

/// The line above the oldest entry kept, once older ones were dropped.
pub(crate) fn dropped_line(dropped: u64) -> String {
    let entries = if dropped == 1 { "entry" } else { "entries" };
    format!("{dropped} older {entries} dropped: the log keeps the newest {LOG_CAP}.")
}

#[component]
pub(crate) fn EventLog(props: &EventLogProps) -> Html {
    let list = use_node_ref();
    {
        // Keep the newest line in view as the log grows.
        let list = list.clone();
        let appended = props.entries.dropped() + props.entries.len() as u64;
        use_effect_with(appended, move |_| {
            if let Some(el) = list.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    let shown = props.entries.entries();
    let entries = shown.iter().map(|e| {
        let (label, class) = badge(e.kind);
        let lit = e.call.is_some() && e.call == props.lit;
        let enter = e.call.map(|id| {
            let on_hover = props.on_hover.clone();
            Callback::from(move |_: MouseEvent| on_hover.emit(Some(id)))
        });
        let leave = e.call.map(|_| {
            let on_hover = props.on_hover.clone();
            Callback::from(move |_: MouseEvent| on_hover.emit(None))
        });
        html! {
            <li data-testid="log-entry" class={classes!("entry", class, lit.then_some("lit"))}
                data-call={e.call.map(|id| id.0.to_string())} onmouseenter={enter} onmouseleave={leave}>
                <span class="time">{ clock(e.at) }</span>
                <span class={classes!("kind", class)}>{ label }</span>
                if let Some(id) = e.call {
                    <span class="call-id" title="the call id: its reply carries the same one">{ id.to_string() }</span>
                }
                <span class="headline">{ e.headline.clone() }</span>
                if let Some(detail) = &e.detail {
                    <div class="detail">{ detail.clone() }</div>
                }
                if let Some(data) = &e.data {
                    <div class="bytes">
                        <div><span class="bytes-label">{ "text" }</span><code>{ format!("\"{}\"", data.to_text()) }</code></div>
                        <div><span class="bytes-label">{ "hex" }</span><code>{ if data.is_empty() { "(no bytes)".to_owned() } else { data.to_hex() } }</code></div>
                    </div>
                }
            </li>
        }
    });
    html! {
        <section class="log-box">
            <h2>{ "What happened" }</h2>
            <p class="caption">{ "Every call the page made, the kernel's reply, and events nobody asked for, in order. Times are since the page opened." }</p>
            <ol class="log" data-testid="event-log" ref={list}>
                if props.entries.dropped() > 0 {
                    <li class="dropped" data-testid="log-dropped">{ dropped_line(props.entries.dropped()) }</li>
                }
                if props.entries.is_empty() {
                    <li class="empty">{ "Nothing yet." }</li>
                }
                { for entries }
            </ol>
        </section>
    }
}
