//! `{{machine-facts}}`, the relay's machine, live from its `machine` message: the port from which
//! an unprivileged program may bind (or why there is no limit), the ephemeral range the kernel
//! picks from and its size, whether the relay runs as root (and that the relay's policy then
//! refuses ports below 1024), and the lesson services with their addresses.

use socketlab_shared::Machine;
use yew::prelude::*;

use crate::session::context::SessionContext;

/// The sentence about privileged ports on this machine.
pub(crate) fn privileged_ports(machine: &Machine) -> String {
    match machine.unprivileged_port_start {
        Some(0) => "Any program may bind any port here: net.ipv4.ip_unprivileged_port_start is 0."
            .to_owned(),
        Some(start) => format!(
            "A program without privilege may bind ports {start} and up; ports 1 to {} need root or CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start = {start}).",
            start - 1
        ),
        None => format!(
            "The relay found no net.ipv4.ip_unprivileged_port_start on {} (that setting is Linux's). Most Unix systems keep ports below 1024 for root; Windows does not restrict them.",
            machine.os
        ),
    }
}

/// The sentence about the ephemeral range.
pub(crate) fn ephemeral_ports(machine: &Machine) -> String {
    match machine.ephemeral_ports {
        Some(range) => format!(
            "The kernel picks ephemeral ports (for connect() and bind to port 0) from {} to {} (net.ipv4.ip_local_port_range): {} ports.",
            range.first,
            range.last,
            u32::from(range.last).saturating_sub(u32::from(range.first)) + 1
        ),
        None => format!(
            "The relay could not read the ephemeral port range on {}. Windows and macOS use 49152-65535, the IANA dynamic range.",
            machine.os
        ),
    }
}

#[component]
pub(crate) fn MachineFacts() -> Html {
    let Some(session) = use_context::<SessionContext>() else {
        return html! { <p>{ "socketlab: the session is missing (a bug)." }</p> };
    };
    let Some(machine) = &session.course.machine else {
        return html! {
            <div class="machine-facts waiting" data-testid="machine-facts">
                <p>{ "This box shows facts read live from the machine the relay runs on. Waiting for the relay: start it with " }<code>{ "cargo xtask serve" }</code>{ " and open the address it prints." }</p>
            </div>
        };
    };
    let services = session.course.services.iter().map(|s| {
        html! {
            <li><code>{ &s.name }</code>{ format!(" ({}) on ", s.transport.name()) }<code>{ &s.address }</code>{ ": " }{ &s.about }</li>
        }
    });
    html! {
        <div class="machine-facts" data-testid="machine-facts">
            <h3>{ format!("This machine ({})", machine.os) }</h3>
            <ul>
                <li data-fact="unprivileged-port-start">{ privileged_ports(machine) }</li>
                <li data-fact="ephemeral-ports">{ ephemeral_ports(machine) }</li>
                <li data-fact="root">{
                    if machine.root {
                        "The relay runs as root. The kernel would let it bind any port, so the relay's own policy refuses ports below 1024 instead (rule bind_privileged_port): a web page never gets more privilege than you have. Run the relay as an ordinary user to see the kernel's own answer."
                    } else {
                        "The relay runs as a normal user, without privilege."
                    }
                }</li>
            </ul>
            if !session.course.services.is_empty() {
                <p>{ "Lesson services the relay runs on loopback for you:" }</p>
                <ul class="lesson-services">{ for services }</ul>
            }
        </div>
    }
}
