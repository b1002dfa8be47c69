//! The relay link's status: connecting, live, or lost with a countdown to the next try; when no
//! relay answers, a box saying how to start one.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::relay_link::now;
use crate::session::Link;

#[derive(Properties, PartialEq)]
pub(crate) struct LinkStatusProps {
    pub(crate) link: Link,
    /// Why the last attempt failed, while the page keeps trying.
    pub(crate) last_failure: Option<String>,
    pub(crate) on_retry: Callback<()>,
}

#[component]
pub(crate) fn LinkStatus(props: &LinkStatusProps) -> Html {
    // A ticking clock, only while a retry is counted down.
    let clock = use_state(|| 0.0);
    {
        let clock = clock.clone();
        let lost = matches!(props.link, Link::Lost { .. });
        use_effect_with(lost, move |lost| {
            let ticker = lost.then(|| {
                clock.set(now());
                Interval::new(250, move || clock.set(now()))
            });
            move || drop(ticker)
        });
    }
    // Once an attempt has failed, the help box stays until the relay answers, so it does not
    // blink in and out with every retry.
    let trouble = match &props.link {
        Link::Lost {
            reason, attempt, ..
        } => Some((reason.clone(), *attempt)),
        Link::Connecting { attempt } if *attempt > 1 => Some((
            props
                .last_failure
                .clone()
                .unwrap_or_else(|| "it did not answer the last try".to_owned()),
            attempt - 1,
        )),
        _ => None,
    };
    let retry = props.on_retry.reform(|_: MouseEvent| ());
    let status = props.link.status();
    let (text, detail) = match &props.link {
        Link::Connecting { attempt } if *attempt <= 1 => {
            ("Connecting to the relay…".to_owned(), None)
        }
        Link::Connecting { attempt } => (
            "No relay yet".to_owned(),
            Some(format!("trying again (try {attempt})…")),
        ),
        Link::Live { relay, os } => (
            "Live".to_owned(),
            Some(format!("relay {relay} on {os}: calls are real syscalls")),
        ),
        Link::Lost { retry_at, .. } => {
            let left = ((retry_at - *clock) / 1000.0).ceil().max(0.0);
            (
                "No relay".to_owned(),
                Some(if left > 0.0 {
                    format!("retrying in {left:.0} s")
                } else {
                    "retrying now…".to_owned()
                }),
            )
        }
    };
    html! {
        <div class="link">
            <div data-testid="link-status" data-status={status} class={classes!("link-status", status)}>
                <span class="dot" />
                <strong>{ text }</strong>
                if let Some(detail) = detail {
                    <span class="link-detail">{ detail }</span>
                }
            </div>
            if let Some((reason, attempt)) = trouble {
                <div class="no-relay" role="alert">
                    <h2>{ "The page cannot reach the relay" }</h2>
                    <p>
                        { "The relay is the small program that makes the real socket calls for this page. It is not answering (" }
                        { reason }{ ")." }
                    </p>
                    <p>{ "Start it from the socketlab folder, in a terminal:" }</p>
                    <pre><code>{ "cargo xtask serve" }</code></pre>
                    <p class="small">
                        { "It builds the page, starts the relay and prints the address to open. This page keeps retrying by itself" }
                        { format!(" (tried {attempt} time{}).", if attempt == 1 { "" } else { "s" }) }
                    </p>
                    <p class="small">
                        { "Working on the page with " }<code>{ "trunk serve" }</code>
                        { "? Run a relay next to it: " }<code>{ "cargo run -p socketlab-relay" }</code>
                        { " (trunk passes /ws on to 127.0.0.1:7878)." }
                    </p>
                    <button onclick={retry}>{ "Try again now" }</button>
                </div>
            }
        </div>
    }
}
