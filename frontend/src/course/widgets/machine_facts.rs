//! `{{machine-facts}}`, the relay's machine, live from its `machine` message: the port from which
//! an unprivileged program may bind (or why there is no limit), the ephemeral range the kernel
//! picks from and its size, whether the relay runs as root (and that the relay's policy then
//! refuses ports below 1024), and the lesson services with their addresses.

use socketlab_shared::{FactSource, Machine};
use yew::prelude::*;

use crate::session::context::SessionContext;

/// The sentence about privileged ports on this machine.
pub(crate) fn privileged_ports(machine: &Machine) -> String {
    match (machine.unprivileged_port_start, machine.os.as_str()) {
        (Some(0), _) => {
            "Any program may bind any port here: net.ipv4.ip_unprivileged_port_start is 0."
                .to_owned()
        }
        (Some(start), _) => format!(
            "A program without privilege may bind ports {start} and up; ports 1 to {} need root or CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start = {start}).",
            start - 1
        ),
        (None, "macos") => "macOS has no setting for it: since 10.14 (Mojave) an ordinary program may bind a port below 1024 on the wildcard address (0.0.0.0:80), while a bind to one address, such as 127.0.0.1:80, still needs root.".to_owned(),
        (None, "windows") => {
            "Windows does not restrict low ports: any program may bind port 80 if it is free."
                .to_owned()
        }
        (None, os) => format!(
            "The relay found no net.ipv4.ip_unprivileged_port_start on {os} (that setting is Linux's). Most Unix systems keep ports below 1024 for root; Windows does not restrict them."
        ),
    }
}

/// The sentence about the ephemeral range, and where it came from.
pub(crate) fn ephemeral_ports(machine: &Machine) -> String {
    let Some(range) = machine.ephemeral_ports else {
        return format!(
            "The relay could not read the ephemeral port range on {}. Windows and macOS use 49152-65535, the IANA dynamic range, unless it was changed.",
            machine.os
        );
    };
    let count = u32::from(range.last).saturating_sub(u32::from(range.first)) + 1;
    match &machine.ephemeral_source {
        Some(FactSource::DocumentedDefault { reference }) => format!(
            "The relay could not read this machine's setting, so here is the documented default ({reference}): the kernel picks ephemeral ports (for connect() and bind to port 0) from {} to {}, {count} ports.",
            range.first, range.last
        ),
        Some(FactSource::Setting { name }) => format!(
            "The kernel picks ephemeral ports (for connect() and bind to port 0) from {} to {} ({name}): {count} ports.",
            range.first, range.last
        ),
        // A relay older than protocol 7 read it on Linux, the only place it could.
        None => format!(
            "The kernel picks ephemeral ports (for connect() and bind to port 0) from {} to {} (net.ipv4.ip_local_port_range): {count} ports.",
            range.first, range.last
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

#[cfg(test)]
mod tests {
    use socketlab_shared::{FactSource, Machine, PortRange};

    use super::{ephemeral_ports, privileged_ports};

    fn machine(os: &str, source: Option<FactSource>) -> Machine {
        Machine {
            os: os.into(),
            root: false,
            unprivileged_port_start: None,
            ephemeral_ports: Some(PortRange {
                first: 49152,
                last: 65535,
            }),
            ephemeral_source: source,
            pid: 1,
            user: None,
            namespace_thread: None,
        }
    }

    #[test]
    fn each_platform_gets_its_own_rule_for_low_ports() {
        let mac = privileged_ports(&machine("macos", None));
        assert!(
            mac.contains("10.14") && mac.contains("127.0.0.1:80"),
            "{mac}"
        );
        let windows = privileged_ports(&machine("windows", None));
        assert!(windows.contains("does not restrict"), "{windows}");
    }

    #[test]
    fn the_range_says_which_setting_it_was_read_from_or_that_it_is_a_default() {
        let read = ephemeral_ports(&machine(
            "macos",
            Some(FactSource::Setting {
                name: "net.inet.ip.portrange.first and net.inet.ip.portrange.last".into(),
            }),
        ));
        assert!(
            read.contains("from 49152 to 65535 (net.inet.ip.portrange.first"),
            "{read}"
        );
        assert!(read.contains("16384 ports"), "{read}");
        let default = ephemeral_ports(&machine(
            "windows",
            Some(FactSource::DocumentedDefault {
                reference: "Microsoft KB 929851: Windows Vista and later".into(),
            }),
        ));
        assert!(
            default.starts_with("The relay could not read this machine's setting")
                && default.contains("KB 929851"),
            "{default}"
        );
    }
}
