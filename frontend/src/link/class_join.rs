//! Class mode's join bar: when the relay keeps a class (`class`), a learner whose session has
//! not joined gives a name and presses **Join class**; the name is remembered in this browser
//! (localStorage `socketlab.class.name`), so a reload, or the relay's next session, joins again
//! by itself. Once joined it says as whom. Nothing shows on a relay without a class.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::link::RelayHandle;
use crate::session::context::SessionContext;
use crate::ui::storage::local as storage;

/// Where this browser remembers the name it joined as.
const NAME_KEY: &str = "socketlab.class.name";

fn remembered() -> Option<String> {
    storage()
        .and_then(|s| s.get_item(NAME_KEY).ok().flatten())
        .filter(|name| !name.trim().is_empty())
}

#[component]
pub(crate) fn ClassJoin() -> Html {
    let session = use_context::<SessionContext>();
    let relay = use_context::<RelayHandle>();
    let typed = use_state(|| remembered().unwrap_or_default());
    let (class, joined, relay_session) = session.as_ref().map_or((false, None, 0), |s| {
        (s.course.class, s.course.joined.clone(), s.sessions)
    });
    {
        // A name remembered from before joins by itself, once per relay session.
        let relay = relay.clone();
        use_effect_with(
            (class, joined.is_some(), relay_session),
            move |&(class, joined, _)| {
                if class
                    && !joined
                    && let (Some(relay), Some(name)) = (relay, remembered())
                {
                    relay.join(&name);
                }
            },
        );
    }
    if !class {
        return html! {};
    }
    if let Some(name) = joined {
        return html! {
            <div class="class-bar joined" data-testid="class-joined">
                { "In the class as " }<strong>{ name }</strong>
            </div>
        };
    }
    let oninput = {
        let typed = typed.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                typed.set(input.value());
            }
        })
    };
    let onsubmit = {
        let typed = typed.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = typed.trim().to_owned();
            if name.is_empty() {
                return;
            }
            if let Some(storage) = storage() {
                let _ = storage.set_item(NAME_KEY, &name);
            }
            if let Some(relay) = &relay {
                relay.join(&name);
            }
        })
    };
    html! {
        <form class="class-bar" data-testid="class-join" onsubmit={onsubmit}>
            <label>
                { "This relay keeps a class. Your name: " }
                <input type="text" maxlength="40" data-testid="class-name" value={(*typed).clone()} oninput={oninput} />
            </label>
            <button type="submit" data-testid="class-join-button">{ "Join class" }</button>
            <span class="caption">{ "Your teacher sees which lesson you are on, the exercises you finished, and how many of your calls in a lesson were refused." }</span>
        </form>
    }
}
