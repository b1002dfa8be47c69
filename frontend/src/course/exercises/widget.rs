//! An exercise in a lesson: the task, the answer it asks for (a text field or radio choices), and
//! the verdict of its check on this session's transcript, live (re-checked only when the transcript
//! or the answer changed: `CourseRecord::appended`), with the evidence when passed and the hint
//! when not. Its footnote says whether it is judged on the kernel's answers or, for
//! `ip-conversions`, on the rules alone. A pass is saved once in the browser's progress, so the
//! exercise stays done after a reload ("(earlier)" and the evidence of that time). An exercise
//! judged on the kernel offers "the program for this exercise": the lab's Code view over the
//! calls made since the lesson page opened (`LessonStart`), folded until asked for.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::course::exercises::{Ask, check, exercise, judged_on_the_kernel};
use crate::course::lesson_start::LessonStart;
use crate::course::progress;
use crate::lab::code_view::CodeView;
use crate::link::RelayHandle;
use crate::session::context::SessionContext;

#[derive(Properties, PartialEq)]
pub(crate) struct ExerciseWidgetProps {
    pub(crate) id: String,
}

/// The input for the answer an exercise asks for: a text field, or one radio button per choice.
fn answer_input(id: &str, ask: &Ask, answer: &str, on_answer: &Callback<String>) -> Html {
    if ask.choices.is_empty() {
        let on_answer = on_answer.clone();
        let oninput = Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                on_answer.emit(input.value());
            }
        });
        return html! {
            <label class="exercise-answer">
                { ask.prompt }{ " " }
                <input type="text" data-testid="exercise-answer" value={answer.to_owned()} {oninput} />
            </label>
        };
    }
    let choices = ask.choices.iter().map(|choice| {
        let on_answer = on_answer.clone();
        let value = (*choice).to_owned();
        let onchange = Callback::from(move |_: Event| on_answer.emit(value.clone()));
        html! {
            <label class="exercise-choice">
                <input type="radio" name={format!("answer-{id}")} data-answer={*choice}
                    checked={answer == *choice} {onchange} />
                { *choice }
            </label>
        }
    });
    html! {
        <fieldset class="exercise-answer">
            <legend>{ ask.prompt }</legend>
            { for choices }
        </fieldset>
    }
}

#[component]
pub(crate) fn ExerciseWidget(props: &ExerciseWidgetProps) -> Html {
    let session = use_context::<SessionContext>();
    let start = use_context::<LessonStart>();
    let answer = use_state(String::new);
    let saved = use_state(|| progress::load().done.get(&props.id).cloned());
    let found = exercise(&props.id);
    // Re-checked only when the transcript or the answer changed, not on every packet.
    let verdict = {
        let transcript = session.as_ref().map(|s| s.course.transcript.clone());
        let appended = session.as_ref().map(|s| s.course.appended);
        let id = props.id.clone();
        use_memo((id, appended, (*answer).clone()), move |(id, _, answer)| {
            let exercise = exercise(id)?;
            let transcript = transcript?;
            let typed = answer.trim();
            let given = (exercise.ask.is_some() && !typed.is_empty()).then_some(typed);
            Some(check(id, &transcript.entries(), given))
        })
    };
    {
        // A pass is saved once; what passed it is what the index and a reload show.
        let id = props.id.clone();
        let saved = saved.clone();
        let passed = (*verdict)
            .as_ref()
            .filter(|v| v.passed)
            .map(|v| v.evidence.clone().unwrap_or_default());
        use_effect_with(passed, move |passed| {
            if let Some(evidence) = passed
                && saved.is_none()
            {
                progress::record(&id, evidence);
                saved.set(Some(evidence.clone()));
            }
        });
    }
    {
        // Class mode: a pass seen in this relay session goes to the class, once joined.
        let relay = use_context::<RelayHandle>();
        let joined = session.as_ref().is_some_and(|s| s.course.joined.is_some());
        let relay_session = session.as_ref().map_or(0, |s| s.sessions);
        let passed = (*verdict)
            .as_ref()
            .filter(|v| v.passed)
            .map(|v| v.evidence.clone().unwrap_or_default());
        let id = props.id.clone();
        use_effect_with(
            (passed, joined, relay_session),
            move |(passed, joined, _)| {
                if *joined && let (Some(evidence), Some(relay)) = (passed, relay) {
                    relay.exercise_passed(&id, evidence);
                }
            },
        );
    }
    let Some(exercise) = found else {
        return html! {
            <div class="widget-error" data-testid="widget-error">
                { format!("unknown exercise {}", props.id) }
            </div>
        };
    };
    let on_answer = {
        let answer = answer.clone();
        Callback::from(move |value: String| answer.set(value))
    };
    let passed_now = (*verdict).as_ref().is_some_and(|v| v.passed);
    let done = passed_now || saved.is_some();
    let status = match (&*verdict, &*saved) {
        (Some(v), _) if v.passed => html! {
            <p class="verdict pass" data-testid="verdict">
                <strong>{ "Done ✓ " }</strong>{ v.evidence.clone().unwrap_or_default() }
            </p>
        },
        (_, Some(evidence)) => html! {
            <p class="verdict pass" data-testid="verdict">
                <strong>{ "Done ✓ " }</strong>{ "(earlier) " }{ evidence.clone() }
            </p>
        },
        (Some(v), None) => html! {
            <p class="verdict open" data-testid="verdict">
                <strong>{ "Not yet. " }</strong>{ v.hint.clone().unwrap_or_default() }
            </p>
        },
        (None, None) => html! {
            <p class="verdict open" data-testid="verdict">{ "Checked live once the relay is connected." }</p>
        },
    };
    html! {
        <section class={classes!("exercise", done.then_some("done"))} data-testid="exercise"
            data-exercise={exercise.id} data-done={done.to_string()}>
            <h3>{ "Exercise: " }{ exercise.title }</h3>
            <p class="task">{ exercise.task }</p>
            if let Some(ask) = &exercise.ask {
                { answer_input(exercise.id, ask, &answer, &on_answer) }
            }
            { status }
            if judged_on_the_kernel(exercise.id)
                && let Some(session) = &session
            {
                <details class="exercise-program" data-testid="exercise-program">
                    <summary>{ "The program for this exercise" }</summary>
                    <CodeView transcript={session.course.transcript.clone()}
                        services={session.course.services.clone()}
                        since={start.map_or(0, |s| s.0)} appended={session.course.appended}
                        exercise={AttrValue::from(exercise.id)} />
                </details>
            }
            <p class="exercise-note">{
                if judged_on_the_kernel(exercise.id) {
                    "Checked against what the kernel really answered in this session, not against the buttons you pressed."
                } else {
                    "Checked against the rules themselves (no relay needed): each answer is compared with what the rules give."
                }
            }</p>
        </section>
    }
}
