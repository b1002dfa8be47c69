//! The services quiz widget (`{{quiz services}}`): five questions drawn from the well-known
//! table, one at a time; each answer is marked right or wrong with the fact behind it, and a new
//! quiz draws again.

use yew::prelude::*;

use crate::course::widgets::quiz::{Question, questions};

/// How many questions one quiz asks.
const QUESTIONS: usize = 5;

#[derive(Properties, PartialEq)]
pub(crate) struct QuizWidgetProps {
    /// Which quiz (`services` is the only one so far), as the lesson names it.
    #[prop_or_else(|| "services".to_owned())]
    pub(crate) topic: String,
}

/// A random seed from the browser, or a fixed one where there is no JavaScript (tests).
fn seed() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Math::random() * (u64::MAX as f64)) as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        1
    }
}

#[derive(Clone, PartialEq)]
struct Quiz {
    questions: Vec<Question>,
    /// The choice picked for each question answered so far.
    picked: Vec<usize>,
}

impl Quiz {
    fn new() -> Quiz {
        Quiz {
            questions: questions(seed(), QUESTIONS),
            picked: Vec::new(),
        }
    }

    fn score(&self) -> usize {
        self.picked
            .iter()
            .zip(&self.questions)
            .filter(|(picked, q)| **picked == q.answer)
            .count()
    }
}

#[component]
pub(crate) fn QuizWidget(props: &QuizWidgetProps) -> Html {
    let quiz = use_state(Quiz::new);
    if props.topic != "services" {
        return html! {
            <p class="widget-error">{ format!("unknown quiz {}: the course has a quiz on services", props.topic) }</p>
        };
    }
    let answered = quiz.picked.iter().zip(&quiz.questions).map(|(picked, q)| {
        let right = *picked == q.answer;
        html! {
            <li class={classes!(if right { "quiz-right" } else { "quiz-wrong" })}>
                <strong>{ q.text.clone() }</strong>
                { format!(" {}: {}. ", if right { "Right" } else { "Not quite" }, q.choices[q.answer]) }
                <span class="note">{ q.explanation.clone() }</span>
            </li>
        }
    });
    let current = quiz.questions.get(quiz.picked.len()).map(|q| {
        let buttons = q.choices.iter().enumerate().map(|(i, choice)| {
            let quiz = quiz.clone();
            let onclick = Callback::from(move |_| {
                let mut next = (*quiz).clone();
                next.picked.push(i);
                quiz.set(next);
            });
            html! { <button class="quiz-choice" data-choice={i.to_string()} {onclick}>{ choice.clone() }</button> }
        });
        html! {
            <div class="quiz-question" data-testid="quiz-question">
                <p>{ q.text.clone() }</p>
                { for buttons }
            </div>
        }
    });
    let again = {
        let quiz = quiz.clone();
        Callback::from(move |_| quiz.set(Quiz::new()))
    };
    let finished = current.is_none();
    html! {
        <section class="widget quiz" data-testid="quiz-services">
            <ol class="quiz-answered">{ for answered }</ol>
            { for current }
            if finished {
                <p data-testid="quiz-score">
                    { format!("{} of {} right. ", quiz.score(), quiz.questions.len()) }
                    <button onclick={again}>{ "Another quiz" }</button>
                </p>
            }
        </section>
    }
}
