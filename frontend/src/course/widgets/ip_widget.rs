//! The IP address widget (`{{ip-address}}`): the learner types any IPv4 or IPv6 address and
//! sees what is wrong with it in words, or its kind (with the RFC that sets the range aside),
//! and for IPv4 the 32-bit number and the octets in binary, for IPv6 the expanded form and
//! RFC 5952's rules applied one after another up to the canonical text. Needs no relay.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::course::facts::ip_address::{
    Address, Kind, canonical_steps, dotted, expanded, kinds, parse, v4_binary, v4_number,
};

/// Addresses to try with one click, each showing a different rule or kind.
const EXAMPLES: &[&str] = &[
    "2001:0DB8:0000:0000:0000:FF00:0042:8329",
    "2001:db8:0:0:1:0:0:1",
    "2001:db8:0:1:1:1:1:1",
    "0:0:0:0:0:ffff:7f00:1",
    "::1",
    "fe80::1",
    "192.168.1.10",
    "127.0.0.1",
    "01.2.3.4",
];

#[derive(Properties, PartialEq)]
pub(crate) struct IpAddressWidgetProps {
    /// The address shown first.
    #[prop_or_else(|| EXAMPLES[0].to_owned())]
    pub(crate) initial: String,
}

fn kind_item(kind: &Kind) -> Html {
    html! {
        <li data-testid="ip-kind" data-kind={kind.name}>
            <strong>{ kind.name }</strong>
            { format!(" ({}, {}): {}", kind.range, kind.source, kind.about) }
        </li>
    }
}

/// What the widget shows for the typed text.
fn result(text: &str) -> Html {
    let address = match parse(text) {
        Ok(address) => address,
        Err(problem) => {
            return html! {
                <p class="ip-error" data-testid="ip-error">{ format!("Not an address: {problem}") }</p>
            };
        }
    };
    let kinds = kinds(&address);
    let kind_list = html! { <ul class="ip-kinds">{ for kinds.iter().map(kind_item) }</ul> };
    match address {
        Address::V4(octets) => html! {
            <dl class="ip-result">
                <dt>{ "IPv4" }</dt>
                <dd>{ "Four octets (8 bits each): 32 bits, so 2^32 = 4,294,967,296 addresses in all." }</dd>
                <dt>{ "Written" }</dt>
                <dd><code data-testid="ip-canonical">{ dotted(&octets) }</code></dd>
                <dt>{ "As one number" }</dt>
                <dd><code data-testid="ip-number">{ v4_number(&octets) }</code>
                    { format!(" (hex 0x{:08x})", v4_number(&octets)) }</dd>
                <dt>{ "In binary" }</dt>
                <dd><code data-testid="ip-binary">{ v4_binary(&octets) }</code></dd>
                <dt>{ "Kind" }</dt>
                <dd>{ kind_list }</dd>
                <dt>{ "Seen by an IPv6 socket" }</dt>
                <dd><code>{ format!("::ffff:{}", dotted(&octets)) }</code>
                    { " (IPv4-mapped: how a dual-stack IPv6 socket shows this IPv4 peer)" }</dd>
            </dl>
        },
        Address::V6(groups) => {
            let steps = canonical_steps(&groups, text);
            let canonical = steps.last().map(|s| s.result.clone()).unwrap_or_default();
            let rows = steps.iter().map(|step| {
                html! {
                    <tr data-testid="ip-step" data-rule={step.rule}>
                        <td class="rule">{ step.rule }<br /><span class="title">{ step.title }</span></td>
                        <td>{ &step.says }</td>
                        <td><code>{ &step.result }</code></td>
                    </tr>
                }
            });
            html! {
                <dl class="ip-result">
                    <dt>{ "IPv6" }</dt>
                    <dd>{ "Eight groups of 16 bits (four hex digits each): 128 bits, so 2^128 addresses (about 3.4 × 10^38)." }</dd>
                    <dt>{ "Expanded" }</dt>
                    <dd><code data-testid="ip-expanded">{ expanded(&groups) }</code></dd>
                    <dt>{ "Step by step" }</dt>
                    <dd>
                        <table class="ip-steps">
                            <thead><tr><th>{ "Rule" }</th><th>{ "What it does here" }</th><th>{ "Result" }</th></tr></thead>
                            <tbody>{ for rows }</tbody>
                        </table>
                    </dd>
                    <dt>{ "Canonical" }</dt>
                    <dd><code data-testid="ip-canonical">{ canonical }</code></dd>
                    <dt>{ "Kind" }</dt>
                    <dd>{ kind_list }</dd>
                </dl>
            }
        }
    }
}

#[component]
pub(crate) fn IpAddressWidget(props: &IpAddressWidgetProps) -> Html {
    let text = use_state(|| props.initial.clone());
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                text.set(input.value());
            }
        })
    };
    let examples = EXAMPLES.iter().map(|example| {
        let text = text.clone();
        let onclick = Callback::from(move |_: MouseEvent| text.set((*example).to_owned()));
        html! { <button type="button" class="ip-example" {onclick}>{ *example }</button> }
    });
    html! {
        <section class="widget ip-address" data-testid="ip-address">
            <label>
                { "Address: " }
                <input type="text" spellcheck="false" value={(*text).clone()} {oninput} data-arg="address" />
            </label>
            <p class="ip-examples">{ "Try: " }{ for examples }</p>
            { result(&text) }
        </section>
    }
}
