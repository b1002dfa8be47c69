//! The root component: shows the page the address names (the lab, the course index or a lesson)
//! under the nav bar, inside `SessionScope`, which makes the session and the relay link. Every page
//! shares that one session: a lesson's embedded lab is the same lab, with the same sockets, as the
//! Lab page.

use yew::prelude::*;

use crate::course::pages::course_page::CoursePage;
use crate::lab::Lab;
use crate::link::class_join::ClassJoin;
use crate::link::page_address::on_hash_change;
use crate::link::scope::SessionScope;
use crate::route::{self, Route};
use crate::teacher::TeacherPage;
use crate::ui::nav_bar::NavBar;

#[component]
pub(crate) fn App() -> Html {
    // Every page is a full load, so the route is read once; the fragment can change without
    // one (a newly printed URL pasted into the tab, a class code typed), and the links that
    // keep it follow it.
    let place = use_memo((), |_| route::current());
    let route = place.0.clone();
    let fragment = use_state(|| place.1.clone());
    {
        let fragment = fragment.clone();
        use_effect_with((), move |_| {
            let listener = on_hash_change(move || fragment.set(route::current().1));
            move || drop(listener)
        });
    }
    let fragment = (*fragment).clone();
    let page = match &route {
        Route::Lab => html! { <Lab /> },
        Route::Course | Route::Lesson(_) => {
            html! { <CoursePage route={route.clone()} fragment={fragment.clone()} /> }
        }
        // The teacher's key reads the board and opens no relay session.
        Route::Teacher => return html! { <TeacherPage fragment={fragment} /> },
    };
    html! {
        <SessionScope>
            <NavBar route={route} fragment={fragment} />
            <ClassJoin />
            { page }
        </SessionScope>
    }
}
