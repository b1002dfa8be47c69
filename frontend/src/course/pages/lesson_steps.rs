//! A lesson's "Try it" steps beside its lab: each marked done when the transcript shows it, the
//! current one lit, with the notes that followed them. Beside the lab on a wide screen, stuck to
//! the top of the window above it on a narrow one, with a fold button (style.css); it keeps the
//! current step in view inside its own scroll box and never scrolls the page.
//!
//! DOM: `data-testid="steps"`, each `li[data-step=N][data-state=done|current|open|look]`, and
//! `steps-count` ("D of M done", and ", N to read" for steps without a marker).

use yew::prelude::*;

use crate::course::lesson::keep_key;
use crate::course::steps::{Progress, Step};

#[derive(Properties, PartialEq)]
pub(crate) struct LessonStepsProps {
    pub(crate) steps: Vec<Step>,
    pub(crate) notes: String,
    pub(crate) progress: Progress,
    pub(crate) fragment: String,
}

/// What a step is, for its class and `data-state`.
fn state(progress: &Progress, index: usize, step: &Step) -> &'static str {
    if progress.done.get(index).copied().unwrap_or(false) {
        "done"
    } else if progress.current == Some(index) {
        "current"
    } else if step.goals.is_empty() {
        // Look at this, compare that: nothing in the transcript shows it, so never marked.
        "look"
    } else {
        "open"
    }
}

/// "D of M done", and how many steps are only to read (no marker: nothing in the transcript
/// can show them done), so a list of 7 counting to 6 does not puzzle.
fn count(done: usize, marked: usize, all: usize) -> String {
    match all - marked {
        0 => format!("{done} of {marked} done"),
        read => format!("{done} of {marked} done, {read} to read"),
    }
}

#[component]
pub(crate) fn LessonSteps(props: &LessonStepsProps) -> Html {
    let list = use_node_ref();
    // On a narrow screen the list can fold down to the current step (the button shows there
    // only, style.css).
    let folded = use_state(|| false);
    let fold = {
        let folded = folded.clone();
        Callback::from(move |_: MouseEvent| folded.set(!*folded))
    };
    {
        // Keep the current step visible inside the list's own scroll box (the list is capped
        // in height on a narrow screen), without moving the page.
        let list = list.clone();
        use_effect_with(props.progress.current, move |current| {
            if let (Some(current), Some(list)) = (current, list.cast::<web_sys::Element>())
                && let Ok(Some(item)) =
                    list.query_selector(&format!("[data-step=\"{}\"]", current + 1))
            {
                let (outer, inner) = (
                    list.get_bounding_client_rect(),
                    item.get_bounding_client_rect(),
                );
                if inner.top() < outer.top() || inner.bottom() > outer.bottom() {
                    let top = f64::from(list.scroll_top()) + inner.top() - outer.top() - 8.0;
                    list.set_scroll_top(top.max(0.0) as i32);
                }
            }
        });
    }
    let marked = props.steps.iter().filter(|s| !s.goals.is_empty()).count();
    let done = props.progress.done.iter().filter(|d| **d).count();
    let items = props.steps.iter().enumerate().map(|(index, step)| {
        let state = state(&props.progress, index, step);
        let html = keep_key(&step.html, &props.fragment);
        let mark = if state == "done" {
            "✓".to_owned()
        } else {
            (index + 1).to_string()
        };
        let label = match state {
            "done" => "done: the kernel's answers show it",
            "current" => "the step you are on",
            "look" => "a step to look and compare: nothing to mark",
            _ => "not done yet",
        };
        html! {
            <li class={classes!("step", state)} data-step={(index + 1).to_string()} data-state={state}>
                <span class="step-mark" title={label} aria-label={label}>{ mark }</span>
                <div class="step-text">
                    { Html::from_html_unchecked(AttrValue::from(html)) }
                    if let Some(problem) = &step.problem {
                        <div class="widget-error" data-testid="widget-error">
                            { format!("step {}: {problem}", index + 1) }
                        </div>
                    }
                </div>
            </li>
        }
    });
    html! {
        <aside class={classes!("steps", folded.then_some("folded"))} data-testid="steps" aria-label="The steps of this lesson">
            <header class="steps-head">
                <h2>{ "Steps" }</h2>
                <button class="steps-fold" data-testid="steps-fold" aria-pressed={folded.to_string()} onclick={fold}>
                    { if *folded { "all steps" } else { "only the current step" } }
                </button>
                <span class="steps-count" data-testid="steps-count">
                    { count(done, marked, props.steps.len()) }
                </span>
            </header>
            <ol class="step-list" ref={list}>{ for items }</ol>
            if !props.notes.is_empty() {
                <div class="step-notes">
                    { Html::from_html_unchecked(AttrValue::from(keep_key(&props.notes, &props.fragment))) }
                </div>
            }
            <p class="steps-legend">
                { "✓ marks a step the kernel's answers show done, counted from when you opened this lesson. The control to press next is outlined in the lab." }
            </p>
        </aside>
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn the_count_says_how_many_steps_are_only_to_read() {
        assert_eq!(count(1, 3, 3), "1 of 3 done");
        assert_eq!(count(2, 6, 7), "2 of 6 done, 1 to read");
    }
}
