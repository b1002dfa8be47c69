//! Where the session and the link are made: `SessionScope` creates the session reducer and the
//! relay link once and provides both as contexts to everything below it (the page, or a
//! prepared session in the render tests).

use yew::prelude::*;

use crate::link::{RelayHandle, use_relay};
use crate::session::Session;
use crate::session::context::SessionContext;

#[derive(Properties, PartialEq)]
pub(crate) struct SessionScopeProps {
    /// The session to start from: empty in the page, a prepared one in the render tests.
    #[prop_or_default]
    pub(crate) start: Session,
    pub(crate) children: Html,
}

/// The session reducer and the relay link, made once and provided as contexts to `children`.
#[component]
pub(crate) fn SessionScope(props: &SessionScopeProps) -> Html {
    let start = props.start.clone();
    let session = use_reducer(move || start);
    let relay = use_relay(session.dispatcher());
    html! {
        <ContextProvider<SessionContext> context={session}>
            <ContextProvider<RelayHandle> context={relay}>
                { props.children.clone() }
            </ContextProvider<RelayHandle>>
        </ContextProvider<SessionContext>>
    }
}
