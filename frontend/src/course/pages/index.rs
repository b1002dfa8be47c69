//! The course index: every lesson with its number, title, summary and whether its exercises are
//! done in this browser (a lesson is done when every exercise placed in it is done in the
//! progress).

use std::rc::Rc;

use yew::prelude::*;

use crate::course::lesson::Lesson;
use crate::course::progress::Progress;
use crate::route::Route;

#[derive(Properties, PartialEq)]
pub(crate) struct CourseIndexProps {
    pub(crate) lessons: Rc<Vec<Lesson>>,
    pub(crate) progress: Progress,
    pub(crate) fragment: String,
}

#[component]
pub(crate) fn CourseIndex(props: &CourseIndexProps) -> Html {
    let done_count = props
        .lessons
        .iter()
        .filter(|l| props.progress.lesson_done(&l.exercises()))
        .count();
    let items = props.lessons.iter().map(|lesson| {
        let done = props.progress.lesson_done(&lesson.exercises());
        let href = Route::Lesson(lesson.slug.clone()).href(&props.fragment);
        html! {
            <li class={classes!("lesson-item", done.then_some("done"))} data-lesson={lesson.slug.clone()} data-done={done.to_string()}>
                <span class="lesson-number">{ lesson.number }</span>
                <div class="lesson-text">
                    <a href={href}>{ &lesson.title }</a>
                    <p>{ &lesson.summary }</p>
                </div>
                <span class="lesson-status">{ if done { "done ✓" } else { "not done" } }</span>
            </li>
        }
    });
    html! {
        <main class="course" data-testid="course-index">
            <h1>{ "The course: ports and sockets" }</h1>
            <p class="course-lead">
                { "Each lesson explains one idea, lets you try it on your own machine in the lab, and ends with an exercise the kernel checks: it turns green only when the kernel really did the thing. " }
                { format!("Done: {done_count} of {}.", props.lessons.len()) }
            </p>
            <ol class="lesson-list">{ for items }</ol>
        </main>
    }
}
