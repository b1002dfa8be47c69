//! One lesson: its title, its text with the widgets in place, and previous / All lessons / next
//! links. The lab and the numbered steps right above it (`course::steps::arrange`) are one piece, a
//! `section.practice`: the steps (`LessonSteps`) beside the lab, marked done from the transcript
//! entries appended since the page opened (`CourseRecord::appended` at mount), so earlier lessons'
//! calls in the same session do not tick them, and the control the current step names lit in the
//! lab (through the [`StepFocus`] context). Where the lesson began in the transcript is the
//! [`LessonStart`] context, which the exercises' "program for this exercise" reads.

use yew::prelude::*;

use crate::course::lesson::{Block, Lesson, keep_key};
use crate::course::lesson_start::LessonStart;
use crate::course::pages::lesson_steps::LessonSteps;
use crate::course::pages::lesson_widget::LessonWidget;
use crate::course::steps::{Piece, arrange, progress};
use crate::lab::focus::StepFocus;
use crate::link::RelayHandle;
use crate::route::Route;
use crate::session::context::SessionContext;

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
    let session = use_context::<SessionContext>();
    // Steps count what happened since the page opened: earlier lessons' calls in the same
    // session do not tick this lesson's steps. (The course page keys this component by slug,
    // so another lesson starts again.)
    let origin = {
        let appended = session.as_ref().map_or(0, |s| s.course.appended);
        *use_state(move || appended)
    };
    let lesson = &props.lesson;
    {
        // Class mode: the relay's class hears which lesson is open, once joined, in each relay
        // session.
        let relay = use_context::<RelayHandle>();
        let joined = session.as_ref().is_some_and(|s| s.course.joined.is_some());
        let relay_session = session.as_ref().map_or(0, |s| s.sessions);
        let slug = lesson.slug.clone();
        use_effect_with((joined, relay_session, slug), move |(joined, _, slug)| {
            if *joined && let Some(relay) = relay {
                relay.lesson_opened(slug);
            }
        });
    }
    let text = |html: &str| {
        // The lesson files are the instructor's own, rendered by the relay that serves the page.
        Html::from_html_unchecked(AttrValue::from(keep_key(html, &props.fragment)))
    };
    let pieces = arrange(&lesson.blocks).into_iter().map(|piece| match piece {
        Piece::Flow(Block::Text(block)) => text(&block.html),
        Piece::Text(html) => text(html),
        Piece::Flow(Block::Widget(widget)) => html! {
            <LessonWidget widget={widget.clone()} />
        },
        Piece::Practice { steps, notes, lab } => {
            let entries = session.as_ref().map(|s| s.course.transcript.entries());
            let (live, since) = match (&session, &entries) {
                (Some(s), Some(transcript)) => {
                    let new = usize::try_from(s.course.appended.saturating_sub(origin))
                        .unwrap_or(usize::MAX);
                    let from = transcript.len().saturating_sub(new);
                    (s.link.is_live(), &transcript[from..])
                }
                _ => (false, &[][..]),
            };
            let progress = progress(&steps, live, since);
            let focus = StepFocus(progress.focus);
            let beside = !steps.is_empty();
            html! {
                <section class={classes!("practice", beside.then_some("with-steps"))} data-testid="practice">
                    if beside {
                        <LessonSteps steps={steps} notes={notes.to_owned()} progress={progress} fragment={props.fragment.clone()} />
                    }
                    <div class="practice-lab">
                        <ContextProvider<StepFocus> context={focus}>
                            <LessonWidget widget={lab.clone()} />
                        </ContextProvider<StepFocus>>
                    </div>
                </section>
            }
        }
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
            <ContextProvider<LessonStart> context={LessonStart(origin)}>
                <div class="lesson-body">{ for pieces }</div>
            </ContextProvider<LessonStart>>
            { pager }
        </main>
    }
}
