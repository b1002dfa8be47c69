//! A calm note for a lab instrument this relay cannot offer: the relay's reason, the exact remedy
//! command in a block that selects as a whole on click, an alternative ("Or start the relay as
//! root" for capture, when a remedy exists), and "Everything else in the lab still works without
//! it."

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub(crate) struct CapabilityNoteProps {
    /// `kernel-view-unavailable` or `capture-unavailable`.
    pub(crate) testid: &'static str,
    pub(crate) title: String,
    /// The relay's own reason.
    pub(crate) reason: String,
    /// The command to run, if there is one.
    pub(crate) remedy: Option<String>,
    /// Another way, in words ("or run the relay as root").
    pub(crate) alternative: Option<String>,
}

#[component]
pub(crate) fn CapabilityNote(props: &CapabilityNoteProps) -> Html {
    html! {
        <div class="capability-note" data-testid={props.testid}>
            <p class="capability-title">{ props.title.clone() }</p>
            <p class="capability-reason">{ props.reason.clone() }{ "." }</p>
            if let Some(remedy) = &props.remedy {
                <p>{ "To turn it on, run this once in a terminal, then restart the relay:" }</p>
                <pre class="copyable" title="click to select the whole command, then copy it"><code>{ remedy.clone() }</code></pre>
            }
            if let Some(alternative) = &props.alternative {
                <p>{ alternative.clone() }</p>
            }
            <p class="capability-fine">{ "Everything else in the lab still works without it." }</p>
        </div>
    }
}
