//! The small bar on top of every page: Lab | Course, each link keeping the page's fragment.

use yew::prelude::*;

use crate::route::Route;

#[derive(Properties, PartialEq)]
pub(crate) struct NavBarProps {
    pub(crate) route: Route,
    pub(crate) fragment: String,
}

#[component]
pub(crate) fn NavBar(props: &NavBarProps) -> Html {
    let lab = props.route == Route::Lab;
    let class = |here: bool| if here { "here" } else { "" };
    html! {
        <nav class="site-nav" data-testid="nav">
            <span class="brand">{ "socketlab" }</span>
            <a class={class(lab)} href={Route::Lab.href(&props.fragment)} data-nav="lab">{ "Lab" }</a>
            <a class={class(!lab)} href={Route::Course.href(&props.fragment)} data-nav="course">{ "Course" }</a>
        </nav>
    }
}
