//! The root component: creates the session reducer and the relay link, and provides both as
//! contexts to everything below.

use yew::prelude::*;

use crate::lab::Lab;
use crate::relay_link::{RelayHandle, use_relay};
use crate::session::Session;

/// The session as components read it from context.
pub(crate) type SessionContext = UseReducerHandle<Session>;

#[component]
pub(crate) fn App() -> Html {
    let session = use_reducer(Session::default);
    let relay = use_relay(session.dispatcher());
    html! {
        <ContextProvider<SessionContext> context={session}>
            <ContextProvider<RelayHandle> context={relay}>
                <Lab />
            </ContextProvider<RelayHandle>>
        </ContextProvider<SessionContext>>
    }
}
