//! The services table widget (`{{services-table}}`): the course's well-known ports with their
//! transports and notes, each next to what this machine's `/etc/services` says about the port,
//! and the machine's whole list below.

use std::rc::Rc;

use socketlab_shared::ServiceName;
use yew::prelude::*;

use crate::course::facts::services::{WELL_KNOWN, on_this_machine, transports_label};

#[derive(Properties, PartialEq)]
pub(crate) struct ServicesTableProps {
    /// This machine's services list from the relay; empty until it arrives (or with no relay).
    pub(crate) service_names: Rc<[ServiceName]>,
}

/// How this machine names a port: `ssh/tcp`, or a dash.
fn local_names(port: u16, names: &[ServiceName]) -> String {
    let found = on_this_machine(port, names);
    if found.is_empty() {
        return "—".into();
    }
    found
        .iter()
        .map(|s| format!("{}/{}", s.name, s.transport.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
pub(crate) fn ServicesTable(props: &ServicesTableProps) -> Html {
    let known = !props.service_names.is_empty();
    let rows = WELL_KNOWN.iter().map(|row| {
        html! {
            <tr data-port={row.port.to_string()}>
                <td data-col="port">{ row.port }</td>
                <td data-col="protocol">{ row.protocol }</td>
                <td data-col="name"><code>{ row.name }</code></td>
                <td data-col="transport">{ transports_label(row.transports) }</td>
                if known {
                    <td data-col="this-machine">{ local_names(row.port, &props.service_names) }</td>
                }
                <td data-col="note" class="note">{ row.note.unwrap_or("") }</td>
            </tr>
        }
    });
    let all = props.service_names.iter().map(|s| {
        html! {
            <tr>
                <td>{ s.port }</td>
                <td>{ s.transport.name() }</td>
                <td><code>{ s.name.clone() }</code></td>
                <td>{ s.aliases.join(", ") }</td>
            </tr>
        }
    });
    html! {
        <section class="widget services-table" data-testid="services-table">
            <table>
                <thead>
                    <tr>
                        <th>{ "Port" }</th>
                        <th>{ "Service" }</th>
                        <th>{ "IANA name" }</th>
                        <th>{ "Transport" }</th>
                        if known { <th>{ "This machine's /etc/services" }</th> }
                        <th>{ "Note" }</th>
                    </tr>
                </thead>
                <tbody>{ for rows }</tbody>
            </table>
            <p class="caption">
                { "Source: the IANA Service Name and Transport Protocol Port Number Registry (RFC 6335). IANA often registers a number for both TCP and UDP; the transport column says what the protocol really uses." }
            </p>
            if known {
                <details>
                    <summary>{ format!("This machine's whole /etc/services ({} lines)", props.service_names.len()) }</summary>
                    <table>
                        <thead><tr><th>{ "Port" }</th><th>{ "Transport" }</th><th>{ "Name" }</th><th>{ "Aliases" }</th></tr></thead>
                        <tbody>{ for all }</tbody>
                    </table>
                </details>
            } else {
                <p class="caption">{ "Connect the lab to the relay to see this machine's own /etc/services next to the table." }</p>
            }
        </section>
    }
}
