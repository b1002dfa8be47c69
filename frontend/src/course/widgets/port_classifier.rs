//! The port classifier widget (`{{port-classifier}}`): the learner types a port and sees its
//! RFC 6335 range, the services registered for it (the built-in table and this machine's
//! `/etc/services`), and whether an unprivileged program may bind it on the relay's machine.

use std::rc::Rc;

use socketlab_shared::{Machine, ServiceName};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::course::facts::ports::{MayBind, may_bind, parse_port, range_of};
use crate::course::facts::services::{on_this_machine, transports_label, well_known};

#[derive(Properties, PartialEq)]
pub(crate) struct PortClassifierProps {
    /// The relay's machine facts; `None` until the relay sent them (or with no relay).
    pub(crate) machine: Option<Machine>,
    /// This machine's services list from the relay; empty until it arrives.
    pub(crate) service_names: Rc<[ServiceName]>,
}

fn bind_line(port: u16, machine: Option<&Machine>) -> String {
    let root = machine.is_some_and(|m| m.root);
    let base = match may_bind(port, machine) {
        MayBind::KernelChooses => {
            "Port 0 is not bound as such: bind() to port 0 asks the kernel to choose a free port.".to_owned()
        }
        MayBind::Yes { unprivileged_from } => format!(
            "Yes: this machine lets any program bind ports from {unprivileged_from} up (net.ipv4.ip_unprivileged_port_start = {unprivileged_from}), if the port is free."
        ),
        MayBind::NeedsPrivilege { unprivileged_from } => format!(
            "No: below {unprivileged_from} (net.ipv4.ip_unprivileged_port_start) an unprivileged bind() gets EACCES; root or CAP_NET_BIND_SERVICE may."
        ),
        MayBind::Unknown => {
            "The relay did not report a limit: classic Unix needs privilege below 1024; Windows has no privileged ports.".to_owned()
        }
    };
    if root && port != 0 && port < 1024 {
        format!(
            "{base} This relay runs as root, so its policy refuses ports below 1024 for a web page."
        )
    } else {
        base
    }
}

#[component]
pub(crate) fn PortClassifier(props: &PortClassifierProps) -> Html {
    let text = use_state(|| "8080".to_owned());
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                text.set(input.value());
            }
        })
    };
    let result = match parse_port(&text) {
        Err(problem) => html! { <p class="classifier-error">{ problem }</p> },
        Ok(port) => {
            let range = range_of(port);
            let (first, last) = range.bounds();
            let table = well_known(port).map(|row| {
                html! {
                    <li>
                        { format!("{} ({}), {}", row.protocol, row.name, transports_label(row.transports)) }
                        if let Some(note) = row.note { <span class="note">{ format!(" {note}") }</span> }
                    </li>
                }
            });
            let local = on_this_machine(port, &props.service_names);
            let local_items = local.iter().map(|s| {
                let aliases = if s.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" (also {})", s.aliases.join(", "))
                };
                html! { <li>{ format!("{}/{}: {}{aliases}", s.port, s.transport.name(), s.name) }</li> }
            });
            html! {
                <dl class="classifier-result">
                    <dt>{ "Range" }</dt>
                    <dd data-testid="classifier-range">
                        { format!("{first}-{last}, {}. {}", range.name(), range.about()) }
                    </dd>
                    <dt>{ "Registered services (course table)" }</dt>
                    <dd>
                        if table.is_some() { <ul>{ for table }</ul> } else { { "none in the course's table" } }
                    </dd>
                    <dt>{ "This machine's /etc/services" }</dt>
                    <dd>
                        if props.service_names.is_empty() {
                            { "not known yet (the relay sends it when the lab is connected)" }
                        } else if local.is_empty() {
                            { "no entry" }
                        } else {
                            <ul>{ for local_items }</ul>
                        }
                    </dd>
                    <dt>{ "May an unprivileged program bind it here?" }</dt>
                    <dd data-testid="classifier-bind">{ bind_line(port, props.machine.as_ref()) }</dd>
                </dl>
            }
        }
    };
    html! {
        <section class="widget port-classifier" data-testid="port-classifier">
            <label>
                { "Port: " }
                <input type="text" inputmode="numeric" value={(*text).clone()} {oninput} data-arg="port" />
            </label>
            { result }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bind_line_follows_this_machine() {
        let machine = Machine {
            os: "linux".into(),
            root: false,
            unprivileged_port_start: Some(1024),
            ephemeral_ports: None,
            ephemeral_source: None,
            pid: 1,
            user: None,
            namespace_thread: None,
        };
        assert!(bind_line(80, Some(&machine)).starts_with("No"));
        assert!(bind_line(8080, Some(&machine)).starts_with("Yes"));
        let root = Machine {
            root: true,
            ..machine
        };
        assert!(bind_line(80, Some(&root)).contains("policy refuses"));
        assert!(bind_line(80, None).contains("Windows"));
    }
}
