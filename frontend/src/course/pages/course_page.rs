//! The course's pages (`/lessons` and `/lessons/<slug>`): loads the course files
//! (`course::library`), then shows the index or the lesson, with its neighbours for the
//! previous/next links. When the files cannot be fetched it says how to start the relay; an unknown
//! slug is a message with a link to the index. It keys the lesson page by slug, so each lesson
//! starts its step count afresh.

use yew::prelude::*;

use crate::course::library::{Library, use_library};
use crate::course::pages::index::CourseIndex;
use crate::course::pages::lesson_page::{LessonPage, Neighbour};
use crate::course::progress;
use crate::route::Route;

#[derive(Properties, PartialEq)]
pub(crate) struct CoursePageProps {
    pub(crate) route: Route,
    pub(crate) fragment: String,
}

#[component]
pub(crate) fn CoursePage(props: &CoursePageProps) -> Html {
    let library = use_library();
    let lessons = match library {
        Library::Loading => {
            return html! { <p class="course-note" data-testid="course-loading">{ "Loading the course…" }</p> };
        }
        Library::Failed(error) => {
            return html! {
                <div class="course-note error" data-testid="course-failed">
                    <p>{ "The lessons could not be loaded: " }{ error }</p>
                    <p>{ "The relay serves them with the page: start it with " }<code>{ "cargo xtask serve" }</code>{ " and open the address it prints." }</p>
                </div>
            };
        }
        Library::Loaded(lessons) => lessons,
    };
    let fragment = props.fragment.clone();
    match &props.route {
        Route::Lesson(slug) => {
            let Some(index) = lessons.iter().position(|l| &l.slug == slug) else {
                return html! {
                    <div class="course-note error" data-testid="lesson-missing">
                        <p>{ format!("There is no lesson called \u{201c}{slug}\u{201d}.") }</p>
                        <p><a href={Route::Course.href(&fragment)}>{ "All lessons" }</a></p>
                    </div>
                };
            };
            let neighbour = |i: usize| {
                lessons.get(i).map(|l| Neighbour {
                    slug: l.slug.clone(),
                    title: l.title.clone(),
                })
            };
            html! {
                <LessonPage
                    key={lessons[index].slug.clone()}
                    lesson={lessons[index].clone()}
                    previous={index.checked_sub(1).and_then(neighbour)}
                    next={neighbour(index + 1)}
                    fragment={fragment}
                />
            }
        }
        _ => {
            html! { <CourseIndex lessons={lessons} progress={progress::load()} fragment={fragment} /> }
        }
    }
}
