//! A lesson's "Try it" steps, as the relay cut them out of its Markdown
//! (`socketlab_shared::lesson::Split`), and how far the learner is with them.
//!
//! The steps are the numbered list that ends the text right above `{{lab}}`; the page shows them
//! beside the lab (`lesson_page`). A step says what shows it done with a marker anywhere in its
//! text, which the page does not show:
//!
//! ```text
//! 2. In the **Server** panel press **socket()**, then **bind()**, then **listen()**.
//!    {{done server:socket server:bind server:listen}}
//! ```
//!
//! Each goal is `[PLACE:]CALL[ANSWER][*N]`: CALL is a syscall's C name (`bind`), ANSWER is nothing
//! (the kernel did it), `!ERRNO` (it refused with that errno, e.g. `bind!EADDRINUSE`), `!refused`
//! (the relay's policy refused it) or `?` (any answer, `cancelled` too), and `*N` asks for N such
//! calls. PLACE (`server`, `client`, `new`, `accepted`, `add`, or `widget` for a lesson widget's
//! own buttons) says where the control is, for the highlight; it does not change what counts.
//! `live` is a goal too: the lab is connected to the relay. A step without a marker (look at this,
//! compare that) is never marked: nothing in the transcript shows it. A marker that does not read
//! is the step's `problem`, shown in the step.
//!
//! `arrange` lifts the steps out of a lesson's blocks into `Piece::Practice { steps, notes, lab }`
//! (widgets may stand between the list and `{{lab}}`). Progress (`progress(steps, live,
//! transcript)`) is a pure function of the transcript since the lesson page opened: every goal
//! takes one answered call of its own, in step order, so "accept" in step 5 and again in step 7
//! needs two accept() calls. `current` is the first step with a goal unmet, and `focus` that step's
//! first unmet goal whose call is not already waiting: the lab outlines its control
//! (`button.step-target`, through `lab::focus::StepFocus::call_on`). `steps_tests` also checks that
//! every shipped lab has steps and that every marker reads.

use socketlab_shared::{Outcome, Syscall};

use crate::course::lesson::{Block, StepSource, Widget};
use crate::lab::focus::{Focus, Place};
use crate::session::transcript::{Entry, answered};

/// Which answer counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The kernel did it.
    Done,
    /// The kernel refused with this errno.
    Errno(String),
    /// The relay's policy refused it; the kernel was never asked.
    Refused,
    /// Any answer at all.
    Any,
}

impl Answer {
    fn accepts(&self, outcome: &Outcome) -> bool {
        match (self, outcome) {
            (Answer::Any, _) | (Answer::Done, Outcome::Ok(_)) => true,
            (Answer::Errno(name), Outcome::Error(e)) => e.errno == *name,
            (Answer::Refused, Outcome::Refused { .. }) => true,
            _ => false,
        }
    }
}

/// One thing a step asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Goal {
    /// The lab is connected to the relay.
    Live,
    /// A call answered so.
    Call {
        call: Syscall,
        answer: Answer,
        place: Option<Place>,
    },
}

/// One step: its HTML (the marker taken out, rendered by the relay) and what shows it done.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub(crate) html: String,
    pub(crate) goals: Vec<Goal>,
    /// What is wrong with the step's marker, for the instructor's error box.
    pub(crate) problem: Option<String>,
}

/// A lesson page, arranged: the blocks in order, with the lab and its steps as one piece.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece<'a> {
    /// A block shown as it is.
    Flow(&'a Block),
    /// HTML the arrangement cut out of a block (what came before the steps).
    Text(&'a str),
    /// The lab, with the steps to show beside it (none: the lab alone) and the HTML that came
    /// after the steps (notes such as "Optional: ...").
    Practice {
        steps: Vec<Step>,
        notes: &'a str,
        lab: &'a Widget,
    },
}

/// The goals of one marker's inside (`server:socket bind!EADDRINUSE live`).
pub(crate) fn parse_goals(inside: &str) -> Result<Vec<Goal>, String> {
    let mut goals = Vec::new();
    for word in inside.split_whitespace() {
        if word == "live" {
            goals.push(Goal::Live);
            continue;
        }
        // `connect?*8`: eight such goals.
        let (word, times) = match word.rsplit_once('*') {
            Some((goal, n)) => match n.parse::<usize>() {
                Ok(n @ 1..=64) => (goal, n),
                _ => return Err(format!("{word}: after * comes a count from 1 to 64")),
            },
            None => (word, 1),
        };
        let (place, rest) = match word.split_once(':') {
            Some((place, rest)) => match Place::parse(place) {
                Some(place) => (Some(place), rest),
                None => {
                    return Err(format!(
                        "{word}: {place} is not a place (server, client, new, accepted, add, widget)"
                    ));
                }
            },
            None => (None, word),
        };
        let (name, answer) = if let Some(name) = rest.strip_suffix('?') {
            (name, Answer::Any)
        } else if let Some((name, errno)) = rest.split_once('!') {
            let answer = match errno {
                "refused" => Answer::Refused,
                e if !e.is_empty()
                    && e.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
                {
                    Answer::Errno(e.to_owned())
                }
                _ => {
                    return Err(format!(
                        "{word}: after ! comes an errno name (EADDRINUSE) or refused"
                    ));
                }
            };
            (name, answer)
        } else {
            (rest, Answer::Done)
        };
        let Some(call) = Syscall::ALL.into_iter().find(|c| c.name() == name) else {
            return Err(format!("{word}: {name} is not a call the lab makes"));
        };
        for _ in 0..times {
            goals.push(Goal::Call {
                call,
                answer: answer.clone(),
                place,
            });
        }
    }
    if goals.is_empty() {
        return Err("{{done}} names no goal".to_owned());
    }
    Ok(goals)
}

/// A step as the page keeps it: the relay's HTML, the goals its marker names, and what is wrong
/// with the marker (the relay's reading, or the goals').
fn step(source: &StepSource) -> Step {
    let (goals, problem) = match source.marker.as_deref().map(parse_goals) {
        None => (Vec::new(), None),
        Some(Ok(goals)) => (goals, None),
        Some(Err(problem)) => (Vec::new(), Some(problem)),
    };
    Step {
        html: source.html.clone(),
        goals,
        problem: problem.or_else(|| source.problem.clone()),
    }
}

/// The lesson's blocks, with the steps of `{{lab}}` (the numbered list ending the text right
/// above it, widgets in between allowed) lifted out to be shown beside it.
pub(crate) fn arrange(blocks: &[Block]) -> Vec<Piece<'_>> {
    let lab = blocks
        .iter()
        .position(|b| matches!(b, Block::Widget(w) if w.name == "lab"));
    let Some(lab) = lab else {
        return blocks.iter().map(Piece::Flow).collect();
    };
    let Block::Widget(lab_widget) = &blocks[lab] else {
        return blocks.iter().map(Piece::Flow).collect();
    };
    // The nearest text block above the lab; only widgets may stand between them.
    let text_at = blocks[..lab]
        .iter()
        .rposition(|b| matches!(b, Block::Text(_)));
    let split = text_at.and_then(|at| match &blocks[at] {
        Block::Text(text) => text.steps.as_ref().map(|split| (at, split)),
        Block::Widget(_) => None,
    });
    let mut pieces = Vec::new();
    match split {
        Some((at, split)) => {
            pieces.extend(blocks[..at].iter().map(Piece::Flow));
            if !split.before.is_empty() {
                pieces.push(Piece::Text(&split.before));
            }
            pieces.extend(blocks[at + 1..lab].iter().map(Piece::Flow));
            pieces.push(Piece::Practice {
                steps: split.items.iter().map(step).collect(),
                notes: &split.after,
                lab: lab_widget,
            });
        }
        None => {
            pieces.extend(blocks[..lab].iter().map(Piece::Flow));
            pieces.push(Piece::Practice {
                steps: Vec::new(),
                notes: "",
                lab: lab_widget,
            });
        }
    }
    pieces.extend(blocks[lab + 1..].iter().map(Piece::Flow));
    pieces
}

/// Where the learner is in the steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Per step: the transcript shows every goal of it met.
    pub(crate) done: Vec<bool>,
    /// The first step with goals not all met.
    pub(crate) current: Option<usize>,
    /// The control to press next: the current step's first unmet goal whose call is not already
    /// waiting, or, when all of them wait, the next step's.
    pub(crate) focus: Option<Focus>,
}

/// How far the learner is: `transcript` is what happened since the lesson page opened, `live`
/// whether the lab is connected now.
pub(crate) fn progress(steps: &[Step], live: bool, transcript: &[Entry]) -> Progress {
    let calls = answered(transcript);
    let mut used = vec![false; calls.len()];
    // Calls sent and not answered yet (an accept() waiting for a client): a goal such a call
    // may meet is under way, so the highlight moves on to the next goal.
    let mut waiting = waiting_calls(transcript);
    let mut progress = Progress::default();
    let mut look_further = false;
    for (index, step) in steps.iter().enumerate() {
        let mut unmet = None;
        let mut focus = None;
        for goal in &step.goals {
            let met = match goal {
                Goal::Live => live,
                Goal::Call { call, answer, .. } => {
                    let found = calls.iter().zip(used.iter()).position(|(c, used)| {
                        !used && c.op.syscall() == *call && answer.accepts(c.outcome)
                    });
                    if let Some(at) = found {
                        used[at] = true;
                    }
                    found.is_some()
                }
            };
            if !met && unmet.is_none() {
                unmet = Some(goal);
            }
            if !met
                && focus.is_none()
                && let Goal::Call { call, place, .. } = goal
            {
                match waiting.iter().position(|w| w == call) {
                    Some(at) => {
                        waiting.swap_remove(at);
                    }
                    None => {
                        focus = Some(Focus {
                            call: *call,
                            place: *place,
                        });
                    }
                }
            }
        }
        let done = !step.goals.is_empty() && unmet.is_none();
        progress.done.push(done);
        if progress.current.is_none()
            && let Some(goal) = unmet
        {
            progress.current = Some(index);
            progress.focus = focus;
            // Every unmet goal of this step waits for its answer (an accept() waiting for the
            // client the next step connects): the next step's control is the one to press.
            look_further = focus.is_none() && matches!(goal, Goal::Call { .. });
        } else if look_further && focus.is_some() {
            progress.focus = focus;
            look_further = false;
        }
    }
    progress
}

/// The calls of the transcript still waiting for their reply, one entry each.
fn waiting_calls(transcript: &[Entry]) -> Vec<Syscall> {
    let mut sent: Vec<(socketlab_shared::CallId, Syscall)> = Vec::new();
    for entry in transcript {
        match entry {
            Entry::Call { id, op } => sent.push((*id, op.syscall())),
            Entry::Message(socketlab_shared::FromRelay::Reply { id, .. }) => {
                sent.retain(|(sent_id, _)| sent_id != id);
            }
            // A new relay session: nothing of the old one is still waiting.
            Entry::Message(socketlab_shared::FromRelay::Welcome { .. }) => sent.clear(),
            Entry::Message(_) => {}
        }
    }
    sent.into_iter().map(|(_, call)| call).collect()
}

#[cfg(test)]
#[path = "steps_tests.rs"]
mod tests;
