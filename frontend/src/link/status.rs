//! The relay link's status pill: connecting, live, or lost with a countdown to the next try; when
//! no relay answers, a box saying how to start one (`cargo xtask serve`) and that a restarted relay
//! has a new key (open the URL it printed this time); when the relay refused the page's key, a box
//! saying to open the newly printed URL; when the address carries none, a box saying to open the
//! exact URL the relay printed, or in a class to type the class code; when a class code was
//! refused, a box asking for it again. Its tests pin the DOM contract's `link-status` part (see
//! `dom_contract_tests`).

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::link::class_code::ClassCodeForm;
use crate::link::now;
use crate::link::page_address::shown_class_code;
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
        Link::KeyRefused => (
            "Key refused".to_owned(),
            Some("the relay did not accept this page's key".to_owned()),
        ),
        Link::NoKey => (
            "No key".to_owned(),
            Some("this page's address has no #token=…".to_owned()),
        ),
        Link::ClassCodeRefused { .. } => (
            "Class code refused".to_owned(),
            Some("the relay did not accept this class code".to_owned()),
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
            if matches!(props.link, Link::NoKey) {
                <div class="no-relay" role="alert" data-testid="no-key">
                    <h2>{ "This page has no key for the relay" }</h2>
                    <p>
                        { "Open the exact URL the relay printed — it carries a key (after " }
                        <code>{ "#token=" }</code>
                        { ") that proves this page is yours. Without it the relay refuses to make socket calls, so that no other web page can use it." }
                    </p>
                    <p>{ "The relay prints that URL when it starts; to start it, from the socketlab folder:" }</p>
                    <pre><code>{ "cargo xtask serve" }</code></pre>
                    <h3>{ "In a class?" }</h3>
                    <p>{ "Your teacher's relay opens with the class code your teacher gives you:" }</p>
                    <ClassCodeForm />
                </div>
            }
            if let Link::ClassCodeRefused { code } = &props.link {
                <div class="no-relay" role="alert" data-testid="code-refused">
                    <h2>{ format!("The relay refused the class code {}", shown_class_code(code)) }</h2>
                    <p>
                        { "Check it with your teacher and type it again: it is letters and digits, like " }
                        <code>{ "K7QM-2XRP" }</code>
                        { " (case and dashes do not matter). A relay that keeps no class accepts no class code at all." }
                    </p>
                    <ClassCodeForm initial={code.clone()} />
                </div>
            }
            if matches!(props.link, Link::KeyRefused) {
                <div class="no-relay" role="alert" data-testid="key-refused">
                    <h2>{ "The relay refused this page's key" }</h2>
                    <p>
                        { "The relay makes a new key every time it starts, so a page opened before it restarted holds an old one. Open the URL the relay printed this time (it ends with " }
                        <code>{ "#token=…" }</code>
                        { "); pasting it into this tab is enough." }
                    </p>
                    <button onclick={props.on_retry.reform(|_: MouseEvent| ())}>{ "Try again now" }</button>
                </div>
            }
            if let Some((reason, attempt)) = trouble {
                <div class="no-relay" role="alert">
                    <h2>{ "The page cannot reach the relay" }</h2>
                    <p>
                        { "The relay is the small program that makes the real socket calls for this page. It is not answering (" }
                        { reason }{ ")." }
                    </p>
                    <p>
                        { "If you restarted the relay, it has a new key: open the URL it printed this time (it ends with " }
                        <code>{ "#token=…" }</code>{ ")." }
                    </p>
                    <p>{ "Not running? Start it from the socketlab folder, in a terminal:" }</p>
                    <pre><code>{ "cargo xtask serve" }</code></pre>
                    <p class="small">
                        { "It builds the page, starts the relay and prints the address to open. This page keeps retrying by itself" }
                        { format!(" (tried {attempt} time{}).", if attempt == 1 { "" } else { "s" }) }
                    </p>
                    <p class="small">
                        { "Working on the page with " }<code>{ "trunk serve" }</code>
                        { "? Run a relay next to it: " }
                        <code>{ "cargo run -p socketlab-relay -- --allow-origin http://127.0.0.1:8080" }</code>
                        { " and open the second URL it prints, " }
                        <code>{ "http://127.0.0.1:8080/#token=…&relay=127.0.0.1:7878" }</code>
                        { ": the page then talks to that relay directly." }
                    </p>
                    <button onclick={retry}>{ "Try again now" }</button>
                </div>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use yew::LocalServerRenderer;
    use yew::prelude::*;

    use super::{LinkStatus, LinkStatusProps};
    use crate::session::{Action, Link, Session};

    async fn render(link: Link) -> String {
        LocalServerRenderer::<LinkStatus>::with_props(LinkStatusProps {
            link,
            last_failure: None,
            on_retry: Callback::noop(),
        })
        .render()
        .await
    }

    #[tokio::test]
    async fn a_page_without_a_key_says_to_open_the_printed_url() {
        let mut session = Session::default();
        session.apply(Action::LinkNoKey { at: 1.0 });
        assert_eq!(session.link, Link::NoKey);
        let html = render(session.link).await;
        assert!(html.contains(r#"data-status="no-key""#), "{html}");
        assert!(html.contains(r#"data-testid="no-key""#), "{html}");
        assert!(
            html.contains("Open the exact URL the relay printed") && html.contains("#token="),
            "{html}"
        );
    }

    #[tokio::test]
    async fn a_lost_relay_mentions_that_a_restarted_one_has_a_new_key() {
        let html = render(Link::Lost {
            attempt: 1,
            retry_at: 500.0,
            reason: "no relay answered at ws://127.0.0.1:7878/ws".into(),
        })
        .await;
        assert!(html.contains("it has a new key"), "{html}");
        assert!(html.contains("open the URL it printed this time"), "{html}");
    }

    #[tokio::test]
    async fn a_refused_key_says_to_open_the_newly_printed_url() {
        let mut session = Session::default();
        session.apply(Action::LinkKeyRefused { at: 1.0 });
        assert_eq!(session.link, Link::KeyRefused);
        let html = render(session.link).await;
        assert!(html.contains(r#"data-status="key-refused""#), "{html}");
        assert!(
            html.contains("refused this page&#x27;s key")
                || html.contains("refused this page's key"),
            "{html}"
        );
        assert!(html.contains("new key every time it starts"), "{html}");
    }

    #[tokio::test]
    async fn a_page_without_a_key_offers_the_class_code_form() {
        let html = render(Link::NoKey).await;
        assert!(html.contains("In a class?"), "{html}");
        assert!(html.contains(r#"data-testid="class-code-input""#), "{html}");
        assert!(html.contains("Join the class"), "{html}");
    }

    #[tokio::test]
    async fn a_refused_class_code_is_shown_as_typed_and_asked_for_again() {
        let mut session = Session::default();
        session.apply(Action::LinkClassCodeRefused {
            code: "K7QM2XRQ".into(),
            at: 1.0,
        });
        assert_eq!(
            session.link,
            Link::ClassCodeRefused {
                code: "K7QM2XRQ".into()
            }
        );
        let html = render(session.link).await;
        assert!(html.contains(r#"data-status="code-refused""#), "{html}");
        assert!(html.contains(r#"data-testid="code-refused""#), "{html}");
        assert!(
            html.contains("The relay refused the class code K7QM-2XRQ"),
            "{html}"
        );
        assert!(html.contains(r#"value="K7QM-2XRQ""#), "{html}");
    }
}
