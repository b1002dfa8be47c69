//! `{{port-scan}}`: a real connect scan of the relay's scan targets. One button scans every
//! port of the range through the relay (socket, connect, close, a few ports at a time, a
//! connect with no answer in 2 s given up by closing its socket); the table shows, in nmap's
//! layout, what this relay session's connects to those ports found, whoever made them (the
//! button or the learner by hand in the lab).

use socketlab_shared::{ScanTargets, ServiceName, Transport};
use yew::prelude::*;

use crate::course::widgets::port_probes::{PortReport, PortState, last_session, scan_report};
use crate::course::widgets::probe_driver::use_probes;
use crate::course::widgets::probe_run::{NO_RESPONSE_MS, Target};
use crate::course::widgets::service_names::use_service_names;
use crate::session::context::SessionContext;
use crate::session::transcript::Entry;

/// The SERVICE column: the machine's `/etc/services` name for the TCP port, else `unknown`,
/// as nmap writes a port its own list does not name.
fn service(names: &[ServiceName], port: u16) -> String {
    names
        .iter()
        .find(|n| n.port == port && n.transport == Transport::Tcp)
        .map_or_else(|| "unknown".to_owned(), |n| n.name.clone())
}

/// The report as nmap prints it (`nmap -sT --reason`): PORT STATE SERVICE REASON. Ports not
/// scanned yet are left out; a port still waiting says so.
pub(crate) fn nmap_lines(report: &[PortReport], names: &[ServiceName]) -> Vec<String> {
    let rows: Vec<(String, &str, String, &str)> = report
        .iter()
        .filter_map(|r| {
            let port = format!("{}/tcp", r.port);
            match r.state() {
                Some(state) => Some((port, state.name(), service(names, r.port), state.reason())),
                None if r.waiting => Some((port, "...", service(names, r.port), "(no answer yet)")),
                None => None,
            }
        })
        .collect();
    let port_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4) + 1;
    let service_width = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(7) + 1;
    let mut lines = vec![format!(
        "{:port_width$}{:9}{:service_width$}{}",
        "PORT", "STATE", "SERVICE", "REASON"
    )];
    for (port, state, service, reason) in rows {
        lines.push(format!(
            "{port:port_width$}{state:9}{service:service_width$}{reason}"
        ));
    }
    lines
}

/// What one state means, for the lines under the table.
fn meaning(state: PortState) -> &'static str {
    match state {
        PortState::Open => {
            "open: the kernel completed the handshake (SYN, SYN-ACK, ACK): a program listens there."
        }
        PortState::Closed => {
            "closed: the kernel answered the SYN with a RST, so connect() failed with ECONNREFUSED: nothing listens there."
        }
        PortState::Filtered => {
            "filtered: no answer at all, so after 2 s the scanner gave up and closed its socket (the waiting connect() came back cancelled). Here the SYN was dropped by a listener whose accept queue is full; a firewall that drops packets looks exactly the same."
        }
    }
}

fn waiting_box() -> Html {
    html! {
        <div class="port-scan waiting" data-testid="port-scan">
            <p>{ "This box scans the relay's scan targets: eight ports on 127.0.0.1 that the relay holds for this lesson. Waiting for the relay: start it with " }<code>{ "cargo xtask serve" }</code>{ " and open the address it prints." }</p>
        </div>
    }
}

fn table(scan: &ScanTargets, transcript: &[Entry], session: usize, names: &[ServiceName]) -> Html {
    let report = scan_report(transcript, session, scan);
    let mut lines = nmap_lines(&report, names);
    if lines.len() == 1 {
        lines.push("(no port scanned yet in this relay session)".to_owned());
    }
    let scanned = report.iter().filter(|r| r.state().is_some()).count();
    let mut states: Vec<PortState> = report.iter().filter_map(PortReport::state).collect();
    states.sort();
    states.dedup();
    let rows = report.iter().map(|r| {
        let state = r.state();
        html! {
            <li data-port={r.port.to_string()}
                data-state={state.map_or(if r.waiting { "waiting" } else { "" }, PortState::name)}>
            </li>
        }
    });
    html! {
        <>
            <pre class="nmap" data-testid="scan-report">
                { format!("$ nmap -sT --reason -p {}-{} {}\n", scan.ports.first, scan.ports.last, scan.host) }
                { lines.join("\n") }
            </pre>
            <ul class="scan-states" hidden=true>{ for rows }</ul>
            <p class="scan-count">{ format!("{scanned} of {} ports answered so far in this relay session.", report.len()) }</p>
            if !states.is_empty() {
                <ul class="scan-meanings">
                    { for states.iter().map(|s| html! { <li>{ meaning(*s) }</li> }) }
                </ul>
            }
        </>
    }
}

#[component]
pub(crate) fn PortScan() -> Html {
    let session = use_context::<SessionContext>();
    let probes = use_probes();
    let names = use_service_names();
    let Some(session) = session else {
        return html! { <p>{ "socketlab: the session is missing (a bug)." }</p> };
    };
    let Some(scan) = session.course.scan.clone() else {
        if session.link.is_live() {
            return html! {
                <div class="port-scan" data-testid="port-scan">
                    <p>{ "This relay did not announce scan targets (an older relay, or it found no 8 free ports in a row). Restart it with " }<code>{ "cargo xtask serve" }</code>{ "." }</p>
                </div>
            };
        }
        return waiting_box();
    };
    let transcript = session.course.transcript.entries();
    let current = last_session(&transcript);
    let live = session.link.is_live();
    let busy = probes.busy();
    let onclick = {
        let probes = probes.clone();
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            let targets = (scan.ports.first..=scan.ports.last)
                .map(|port| Target {
                    address: format!("{}:{port}", scan.host),
                    read: false,
                })
                .collect();
            probes.add(targets);
        })
    };
    html! {
        <div class="port-scan" data-testid="port-scan">
            <p>
                <button data-testid="scan-button" disabled={!live || busy} {onclick}>
                    { format!("Scan {}:{}-{}", scan.host, scan.ports.first, scan.ports.last) }
                </button>
                { " " }
                if busy {
                    <span class="scan-busy">{ "scanning: three ports at a time; a port with no answer is given up after " }{ NO_RESPONSE_MS / 1000.0 }{ " s" }</span>
                } else if !live {
                    <span>{ "The relay is not connected (see the lab's status below)." }</span>
                }
            </p>
            { table(&scan, &transcript, current, &names) }
            { for probes.problems().into_iter().map(|p| html! { <p class="scan-problem">{ p }</p> }) }
        </div>
    }
}
