//! The lesson 18-19 widgets (`{{port-scan}}`, `{{knock}}`) rendered natively with yew's server
//! renderer inside the app's contexts: with no relay they say how to start it; with a session
//! recorded from the real relay (the exercise fixtures) they show what its connects found, in
//! nmap's layout (PORT STATE SERVICE REASON) and as the knock sequence. Their tables come from the
//! transcript, so calls made by hand in the lab count too.

use yew::LocalServerRenderer;
use yew::prelude::*;

use crate::course::widgets::knock_widget::KnockWidget;
use crate::course::widgets::port_probes::sessions;
use crate::course::widgets::port_scan::PortScan;
use crate::link::scope::SessionScope;
use crate::session::Session;
use crate::session::transcript::from_json_lines;

#[derive(Properties, PartialEq)]
struct HarnessProps {
    knock: bool,
    session: Session,
}

#[component]
fn Harness(props: &HarnessProps) -> Html {
    html! {
        <SessionScope start={props.session.clone()}>
            if props.knock { <KnockWidget /> } else { <PortScan /> }
        </SessionScope>
    }
}

async fn render(knock: bool, session: Session) -> String {
    LocalServerRenderer::<Harness>::with_props(HarnessProps { knock, session })
        .render()
        .await
}

/// A session holding a recorded transcript and the lesson facts its relay announced.
fn recorded(text: &str) -> Session {
    let transcript = from_json_lines(text).expect("a fixture reads as a transcript");
    let facts = sessions(&transcript).remove(0);
    let mut session = Session::default();
    session.course.scan = facts.scan;
    session.course.knock = facts.knock;
    session.course.services = facts.services;
    session.course.transcript = transcript.into_iter().collect();
    session
}

#[tokio::test]
async fn without_a_relay_both_widgets_say_how_to_start_it() {
    for knock in [false, true] {
        let html = render(knock, Session::default()).await;
        assert!(html.contains("cargo xtask serve"), "{html}");
        assert!(!html.contains("<button"), "nothing to press yet: {html}");
    }
}

#[tokio::test]
async fn the_scan_table_shows_each_port_as_nmap_would() {
    let session = recorded(include_str!("../exercises/fixtures/scan-the-targets.jsonl"));
    let scan = session.course.scan.clone().expect("scan targets");
    let html = render(false, session).await;
    assert!(
        html.contains(&format!(
            "Scan {}:{}-{}",
            scan.host, scan.ports.first, scan.ports.last
        )),
        "{html}"
    );
    assert!(html.contains("PORT"), "{html}");
    assert!(html.contains("SERVICE"), "{html}");
    for (state, reason) in [
        ("open", "syn-ack"),
        ("closed", "conn-refused"),
        ("filtered", "no-response"),
    ] {
        assert!(html.contains(reason), "{reason}: {html}");
        assert!(html.contains(&format!("data-state=\"{state}\"")), "{html}");
    }
    assert!(html.contains("8 of 8 ports answered"), "{html}");
    assert!(
        html.contains("/tcp open     unknown syn-ack"),
        "nmap's columns: {html}"
    );
}

#[tokio::test]
async fn the_knock_widget_shows_the_refusals_and_the_greeting() {
    let session = recorded(include_str!("../exercises/fixtures/knock-knock.jsonl"));
    let html = render(true, session).await;
    assert_eq!(
        html.matches("data-answer=\"ECONNREFUSED\"").count(),
        4,
        "{html}"
    );
    assert!(html.contains("the door is closed"), "{html}");
    assert!(
        html.contains("the third right knock: the door opens"),
        "{html}"
    );
    assert!(
        html.contains("recv() got \"door opened") && !html.contains("\\n\""),
        "{html}"
    );
    assert!(html.contains("data-in-order=\"0\""), "{html}");
}

#[tokio::test]
async fn knocks_out_of_order_show_the_sequence_starting_again() {
    let session = recorded(include_str!(
        "../exercises/fixtures/knock-knock.near-miss.jsonl"
    ));
    let html = render(true, session).await;
    assert!(
        html.contains("out of order: the sequence starts again"),
        "{html}"
    );
    assert!(!html.contains("the door opens"), "{html}");
}
