//! `{{knock}}`: this session's knock door. One button per knock address makes a real
//! connect() to it through the relay (the kernel refuses it: nothing listens there), and one
//! tries the door (connect, then recv of its greeting). What the widget shows, the sequence
//! so far and each answer, is read from the transcript (`port_probes::knock_progress`), so
//! knocks made by hand in the lab count the same. The door itself is made by the relay when this
//! widget first asks for it (`knock_door`), so a session that never opens lesson 19 has none.

use std::net::SocketAddr;

use socketlab_shared::{Done, KnockDoor, Op, Outcome};
use yew::prelude::*;

use crate::course::widgets::port_probes::{Answer, connects, knock_progress, last_session};
use crate::course::widgets::probe_driver::use_probes;
use crate::course::widgets::probe_run::Target;
use crate::course::widgets::relay_ask::use_relay_ask;
use crate::link::RelayHandle;
use crate::session::context::SessionContext;
use crate::session::transcript::{Entry, answered};

/// An answer in a few words.
fn said(answer: &Answer) -> String {
    match answer {
        Answer::Waiting => "waiting...".to_owned(),
        Answer::Connected => "connected".to_owned(),
        Answer::Refused => "ECONNREFUSED".to_owned(),
        Answer::NoResponse => "no answer".to_owned(),
        Answer::Other(text) => text.clone(),
    }
}

/// One line per connect to a knock address or the door in `session`, oldest first.
fn history(transcript: &[Entry], session: usize, door: &KnockDoor) -> Vec<Html> {
    let knocks: Vec<Option<SocketAddr>> = door.knocks.iter().map(|k| k.parse().ok()).collect();
    let door_address: Option<SocketAddr> = door.door.parse().ok();
    let progress = knock_progress(transcript, session, door);
    let greetings: Vec<_> = answered(transcript)
        .into_iter()
        .filter(|c| c.session == session)
        .filter_map(|c| match (c.op, c.outcome) {
            (Op::Recv { socket, .. }, Outcome::Ok(Done::Recv { data })) => {
                let line = data.as_bytes().trim_ascii_end().to_vec();
                Some((*socket, socketlab_shared::Payload::from(line).to_text()))
            }
            _ => None,
        })
        .collect();
    let mut list: Vec<_> = connects(transcript)
        .into_iter()
        .filter(|c| c.session == session && c.target.is_some())
        .collect();
    list.sort_by_key(|c| c.called);
    list.into_iter()
        .filter_map(|c| {
            let target = c.target?;
            if let Some(index) = knocks.iter().position(|k| *k == Some(target)) {
                let verdict = match progress.knocks.iter().find(|k| k.called == c.called) {
                    Some(k) if k.opened => "the third right knock: the door opens".to_owned(),
                    Some(k) if k.right => format!("knock {} in order", index + 1),
                    Some(_) => "out of order: the sequence starts again".to_owned(),
                    None => String::new(),
                };
                Some(html! {
                    <li data-knock={(index + 1).to_string()} data-answer={said(&c.answer)}>
                        { format!("{}: connect({target}) → {}", c.socket, said(&c.answer)) }
                        if !verdict.is_empty() { <span class="knock-verdict">{ format!(" — {verdict}") }</span> }
                    </li>
                })
            } else if Some(target) == door_address {
                let greeting = greetings
                    .iter()
                    .find(|(s, text)| *s == c.socket && !text.is_empty())
                    .map(|(_, text)| text.clone());
                let what = match (&c.answer, greeting) {
                    (Answer::Refused, _) => " — the door is closed".to_owned(),
                    (Answer::Connected, Some(text)) => format!(" — recv() got \"{text}\""),
                    (Answer::Connected, None) => " — the door is open".to_owned(),
                    _ => String::new(),
                };
                Some(html! {
                    <li data-door="" data-answer={said(&c.answer)}>
                        { format!("{}: connect({target}) (the door) → {}{what}", c.socket, said(&c.answer)) }
                    </li>
                })
            } else {
                None
            }
        })
        .collect()
}

#[component]
pub(crate) fn KnockWidget() -> Html {
    let session = use_context::<SessionContext>();
    let probes = use_probes();
    // The relay makes the door when first asked (once per relay session).
    let unanswered = session.as_ref().is_some_and(|s| !s.course.knock_answered);
    use_relay_ask(session.as_ref(), unanswered, RelayHandle::ask_knock_door);
    let Some(session) = session else {
        return html! { <p>{ "socketlab: the session is missing (a bug)." }</p> };
    };
    let live = session.link.is_live();
    let Some(door) = session.course.knock.clone() else {
        return html! {
            <div class="knock" data-testid="knock">
                if live && session.course.knock_answered {
                    <p>{ "This relay has no knock door for this session: it was started without knock ports, or could not set one up (its log says why)." }</p>
                } else if live {
                    <p>{ "Asking the relay for your knock door..." }</p>
                } else {
                    <p>{ "This box knocks on the relay's knock ports and tries its door. Waiting for the relay: start it with " }<code>{ "cargo xtask serve" }</code>{ " and open the address it prints." }</p>
                }
            </div>
        };
    };
    let transcript = session.course.transcript.entries();
    let current = last_session(&transcript);
    let progress = knock_progress(&transcript, current, &door);
    let busy = probes.busy();
    let probe = |address: String, read: bool| {
        let probes = probes.clone();
        Callback::from(move |_: MouseEvent| {
            probes.add(vec![Target {
                address: address.clone(),
                read,
            }])
        })
    };
    let buttons = door.knocks.iter().enumerate().map(|(i, address)| {
        html! {
            <button data-testid={format!("knock-{}", i + 1)} disabled={!live || busy}
                onclick={probe(address.clone(), false)}>
                { format!("Knock {}: connect to {address}", i + 1) }
            </button>
        }
    });
    let dots = (0..door.knocks.len()).map(|i| {
        let done = i < progress.in_order;
        html! { <span class={classes!("knock-dot", done.then_some("done"))}>{ if done { "●" } else { "○" } }</span> }
    });
    let lines = history(&transcript, current, &door);
    html! {
        <div class="knock" data-testid="knock">
            <p class="knock-buttons">
                { for buttons }
                <button data-testid="knock-door" disabled={!live || busy}
                    onclick={probe(door.door.clone(), true)}>
                    { format!("Try the door: connect to {} and recv()", door.door) }
                </button>
            </p>
            <p class="knock-progress" data-testid="knock-progress" data-in-order={progress.in_order.to_string()}>
                { "Knocks in order so far: " }{ for dots }
                { format!(" ({} of {})", progress.in_order, door.knocks.len()) }
                if progress.opened_at.is_some() {
                    { format!(". Your last complete sequence opened the door for {} s.", door.open_secs) }
                }
            </p>
            if lines.is_empty() {
                <p class="knock-empty">{ "No knock yet in this relay session." }</p>
            } else {
                <ol class="knock-history" data-testid="knock-history">{ for lines }</ol>
            }
            { for probes.problems().into_iter().map(|p| html! { <p class="scan-problem">{ p }</p> }) }
        </div>
    }
}
