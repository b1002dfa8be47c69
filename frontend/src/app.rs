//! The root component: creates the session reducer and the relay link, provides both as
//! contexts to everything below, and shows the page the address names (the lab, the course
//! index or a lesson) under the nav bar.

use yew::prelude::*;

use crate::course_page::CoursePage;
use crate::lab::Lab;
use crate::nav_bar::NavBar;
use crate::relay_link::{RelayHandle, use_relay};
use crate::route::{self, Route};
use crate::session::Session;

/// The session as components read it from context.
pub(crate) type SessionContext = UseReducerHandle<Session>;

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

#[component]
pub(crate) fn App() -> Html {
    // Every page is a full load, so the address is read once.
    let place = use_memo((), |_| route::current());
    let (route, fragment) = (*place).clone();
    let page = match &route {
        Route::Lab => html! { <Lab /> },
        Route::Course | Route::Lesson(_) => {
            html! { <CoursePage route={route.clone()} fragment={fragment.clone()} /> }
        }
    };
    html! {
        <SessionScope>
            <NavBar route={route} fragment={fragment} />
            { page }
        </SessionScope>
    }
}
