//! One lesson: its title, its text with the widgets in place, and previous/next links.

use yew::prelude::*;

use crate::course::lesson::{Block, Lesson, markdown_html};
use crate::lesson_widget::LessonWidget;
use crate::route::Route;

/// A lesson next to this one, for the previous/next links.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Neighbour {
    pub(crate) slug: String,
    pub(crate) title: String,
}

#[derive(Properties, PartialEq)]
pub(crate) struct LessonPageProps {
    pub(crate) lesson: Lesson,
    pub(crate) previous: Option<Neighbour>,
    pub(crate) next: Option<Neighbour>,
    pub(crate) fragment: String,
}

#[component]
pub(crate) fn LessonPage(props: &LessonPageProps) -> Html {
    let lesson = &props.lesson;
    let blocks = lesson.blocks.iter().map(|block| match block {
        // The lesson files are the instructor's own, served by the relay with the page.
        Block::Text(markdown) => {
            Html::from_html_unchecked(AttrValue::from(markdown_html(markdown, &props.fragment)))
        }
        Block::Widget(widget) => html! {
            <LessonWidget widget={widget.clone()} />
        },
    });
    let link = |n: &Option<Neighbour>, rel: &'static str, arrow: &'static str| match n {
        Some(n) => html! {
            <a class={rel} rel={rel} href={Route::Lesson(n.slug.clone()).href(&props.fragment)}>
                { if rel == "prev" { format!("{arrow} {}", n.title) } else { format!("{} {arrow}", n.title) } }
            </a>
        },
        None => html! { <span /> },
    };
    let pager = html! {
        <nav class="pager">
            { link(&props.previous, "prev", "←") }
            <a href={Route::Course.href(&props.fragment)}>{ "All lessons" }</a>
            { link(&props.next, "next", "→") }
        </nav>
    };
    html! {
        <main class="lesson" data-testid="lesson" data-slug={lesson.slug.clone()}>
            { pager.clone() }
            <h1><span class="lesson-number">{ format!("Lesson {}", lesson.number) }</span>{ &lesson.title }</h1>
            <div class="lesson-body">{ for blocks }</div>
            { pager }
        </main>
    }
}
