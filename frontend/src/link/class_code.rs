//! The class-code form: in a classroom the teacher gives a class code, not the relay's launch
//! key, so a page without a key (or whose code was refused) asks for it. The code goes into the
//! page's own fragment (`#class=K7QM-2XRP`), where the link reads it like a key and offers it as
//! `socketlab.class.CODE`; links keep the fragment, so the rest of the course keeps it too.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::link::RelayHandle;
use crate::link::page_address::{fragment_with_class_code, normal_class_code, shown_class_code};

#[derive(Properties, PartialEq)]
pub(crate) struct ClassCodeFormProps {
    /// What the field starts with (the refused code, shown as on the board), or nothing.
    #[prop_or_default]
    pub(crate) initial: String,
}

#[component]
pub(crate) fn ClassCodeForm(props: &ClassCodeFormProps) -> Html {
    let relay = use_context::<RelayHandle>();
    let typed = use_state(|| shown_class_code(&props.initial));
    let problem = use_state(|| None::<&'static str>);
    let oninput = {
        let (typed, problem) = (typed.clone(), problem.clone());
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                typed.set(input.value());
                problem.set(None);
            }
        })
    };
    let onsubmit = {
        let (typed, problem) = (typed.clone(), problem.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(code) = normal_class_code(&typed) else {
                problem.set(Some(
                    "A class code is letters and digits, like K7QM-2XRP (case and dashes do not matter).",
                ));
                return;
            };
            let Some(location) = web_sys::window().map(|w| w.location()) else {
                return;
            };
            let fragment = location.hash().unwrap_or_default();
            let _ = location.set_hash(&fragment_with_class_code(&fragment, &code));
            // The same code typed again after a refusal changes no fragment, so no
            // `hashchange` comes: ask the link to read the address now.
            if let Some(relay) = &relay {
                relay.use_address();
            }
        })
    };
    html! {
        <form class="class-code" data-testid="class-code" onsubmit={onsubmit}>
            <label>
                { "Class code " }
                <input type="text" maxlength="40" autocomplete="off" spellcheck="false"
                    placeholder="K7QM-2XRP" data-testid="class-code-input"
                    value={(*typed).clone()} oninput={oninput} />
            </label>
            <button type="submit" data-testid="class-code-button">{ "Join the class" }</button>
            if let Some(problem) = *problem {
                <span class="problem" role="alert">{ problem }</span>
            }
        </form>
    }
}
