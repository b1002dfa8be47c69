//! A socket's lifecycle drawn in SVG: one box per step of its `Path` joined by arrows (wrapping to
//! a second row), the current step highlighted, a waiting call pulsing with what it waits for, and
//! the new sockets that accept() returned hanging under the accept() box. Also drawn static by a
//! lesson's `{{diagram server|client|datagram}}`.

use socketlab_shared::{Path, Syscall};
use yew::prelude::*;

use crate::session::narration;

#[derive(Properties, PartialEq)]
pub(crate) struct LifecycleDiagramProps {
    pub(crate) path: Path,
    /// The step the socket is at; `None` before the socket exists.
    pub(crate) current: Option<usize>,
    /// Calls on the socket still waiting for their reply.
    pub(crate) waiting: Vec<Syscall>,
    /// Sockets accept() returned: (name, peer address).
    pub(crate) accepted: Vec<(String, String)>,
}

const CHAR: f64 = 7.3;
const PAD: f64 = 18.0;
const GAP: f64 = 26.0;
const TOP: f64 = 6.0;
const BOX_H: f64 = 30.0;
/// Vertical room between two rows of boxes, for the connector.
const ROW_GAP: f64 = 22.0;
/// The widest a row may get before the path wraps: a panel is about this wide.
const MAX_ROW: f64 = 436.0;

/// Where a box goes.
#[derive(Debug, Clone, Copy)]
struct Place {
    x: f64,
    y: f64,
    w: f64,
}

/// Places the boxes left to right, wrapping to a new row when a row would get too wide for a
/// panel; returns the places and the drawing's width and the height of the boxes.
fn layout(labels: &[&str]) -> (Vec<Place>, f64, f64) {
    let (mut x, mut y, mut width) = (2.0_f64, TOP, 0.0_f64);
    let mut places = Vec::with_capacity(labels.len());
    for label in labels {
        let w = label.chars().count() as f64 * CHAR + PAD;
        if x > 2.0 && x + w > MAX_ROW {
            x = 2.0;
            y += BOX_H + ROW_GAP;
        }
        places.push(Place { x, y, w });
        width = width.max(x + w + 2.0);
        x += w + GAP;
    }
    (places, width, y + BOX_H)
}

/// The arrow from one box to the next: straight within a row, an elbow down to the next row.
fn connector(from: Place, to: Place) -> String {
    if (from.y - to.y).abs() < 1.0 {
        let y = from.y + BOX_H / 2.0;
        format!(
            "M {:.1} {y:.1} L {:.1} {y:.1}",
            from.x + from.w + 2.0,
            to.x - 4.0
        )
    } else {
        let (fx, tx) = (from.x + from.w / 2.0, to.x + to.w / 2.0);
        let mid = from.y + BOX_H + ROW_GAP / 2.0;
        format!(
            "M {fx:.1} {:.1} L {fx:.1} {mid:.1} L {tx:.1} {mid:.1} L {tx:.1} {:.1}",
            from.y + BOX_H + 1.0,
            to.y - 4.0
        )
    }
}

/// A coordinate as the SVG gets it: one decimal is plenty.
fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// The index of the step a waiting call belongs to.
fn step_of(path: Path, call: Syscall) -> Option<usize> {
    if path == Path::Accepted && call == Syscall::Accept {
        return None;
    }
    path.steps().iter().rposition(|s| s.calls.contains(&call))
}

#[component]
pub(crate) fn LifecycleDiagram(props: &LifecycleDiagramProps) -> Html {
    let steps = props.path.steps();
    let labels: Vec<&str> = steps.iter().map(|s| s.label).collect();
    let (places, width, boxes_bottom) = layout(&labels);
    let waiting: Vec<(usize, Syscall)> = props
        .waiting
        .iter()
        .filter_map(|call| step_of(props.path, *call).map(|i| (i, *call)))
        .collect();
    // The sockets accept() returned hang below the accept() box as boxes of their own: in the
    // row under it when that spot is free, else under everything.
    let accept_place = (props.path == Path::Server)
        .then(|| places.get(3).copied())
        .flatten();
    let children: Vec<(Place, String)> = accept_place
        .map(|accept| {
            let labels: Vec<String> = props
                .accepted
                .iter()
                .map(|(name, _)| format!("new {name}"))
                .collect();
            let widths: Vec<f64> = labels
                .iter()
                .map(|l| l.chars().count() as f64 * CHAR + PAD)
                .collect();
            let total: f64 = widths.iter().map(|w| w + 8.0).sum();
            let under = accept.y + BOX_H + ROW_GAP;
            let free = !places.iter().any(|p| {
                (p.y - under).abs() < 1.0 && p.x + p.w + 8.0 > accept.x && p.x < accept.x + total
            });
            let y = if free { under } else { boxes_bottom + ROW_GAP };
            // The first child hangs straight under the right part of accept(), the rest beside it.
            let mut x = widths
                .first()
                .map_or(accept.x, |w| accept.x + accept.w * 0.8 - w / 2.0);
            labels
                .into_iter()
                .zip(widths)
                .map(|(label, w)| {
                    let place = Place { x, y, w };
                    x += w + 8.0;
                    (place, label)
                })
                .collect()
        })
        .unwrap_or_default();
    let bottom = children
        .iter()
        .map(|(p, _)| p.y + BOX_H)
        .fold(boxes_bottom, f64::max);
    let width = children
        .iter()
        .map(|(p, _)| p.x + p.w + 2.0)
        .fold(width, f64::max);
    let height = bottom + 4.0;

    let nodes = steps.iter().enumerate().map(|(i, step)| {
        let Place { x, y, w } = places[i];
        let is_waiting = waiting.iter().any(|(w, _)| *w == i);
        let class = classes!(
            "step",
            (props.current == Some(i)).then_some("current"),
            is_waiting.then_some("waiting"),
            props.current.is_some_and(|c| i < c).then_some("done"),
            (props.current.is_none() && i == 0).then_some("next"),
        );
        let arrow = places.get(i + 1).map(|next| {
            html! {
                <path class="arrow" d={connector(places[i], *next)} fill="none" marker-end="url(#arrowhead)" />
            }
        });
        html! {
            <>
                <g class={class} data-step={step.label}>
                    <rect x={px(x)} y={px(y)} width={px(w)} height={px(BOX_H)} rx="6" />
                    <text x={px(x + w / 2.0)} y={px(y + BOX_H / 2.0 + 4.0)} text-anchor="middle">
                        { step.label }
                    </text>
                </g>
                { for arrow }
            </>
        }
    });

    let child_nodes = accept_place.into_iter().flat_map(|accept| {
        children.iter().enumerate().map(move |(i, (place, label))| {
            // Each child's arrow leaves the accept() box a little further right than the last.
            let from_x = accept.x + accept.w * (0.8 + 0.06 * (i.min(3) as f64));
            let to_x = place.x + place.w / 2.0;
            let d = format!(
                "M {from_x:.1} {:.1} L {from_x:.1} {:.1} L {to_x:.1} {:.1} L {to_x:.1} {:.1}",
                accept.y + BOX_H + 1.0,
                place.y - 8.0,
                place.y - 8.0,
                place.y - 4.0
            );
            html! {
                <>
                    <path class="arrow child-arrow" d={d} fill="none" marker-end="url(#arrowhead)" />
                    <g class="step child" data-step={label.clone()}>
                        <rect x={px(place.x)} y={px(place.y)} width={px(place.w)} height={px(BOX_H)} rx="6" />
                        <text x={px(place.x + place.w / 2.0)} y={px(place.y + BOX_H / 2.0 + 4.0)} text-anchor="middle">
                            { label.clone() }
                        </text>
                    </g>
                </>
            }
        })
    });

    // What waits and what accept() made, in words under the drawing.
    let waiting_note = waiting
        .first()
        .map(|(_, call)| format!("{}…", narration::waiting(*call)));
    let accepted_note = (accept_place.is_some() && !props.accepted.is_empty()).then(|| {
        let names: Vec<String> = props
            .accepted
            .iter()
            .map(|(name, peer)| format!("{name} (peer {peer})"))
            .collect();
        format!(
            "accept() returned a NEW connected socket each time: {}. This socket stays at listen(), ready for the next client.",
            names.join(", ")
        )
    });

    let summary = format!("Lifecycle: {}", labels.join(" → "));
    html! {
        <figure class="diagram">
        <svg class="lifecycle" data-testid="lifecycle" role="img" aria-label={summary.clone()}
            viewBox={format!("0 0 {width:.0} {height:.0}")} width={format!("{width:.0}")} height={format!("{height:.0}")}>
            <title>{ summary }</title>
            <defs>
                <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
                </marker>
            </defs>
            { for nodes }
            { for child_nodes }
        </svg>
        if let Some(note) = waiting_note {
            <figcaption class="waiting-note">{ note }</figcaption>
        }
        if let Some(note) = accepted_note {
            <figcaption class="branch-note">{ note }</figcaption>
        }
        </figure>
    }
}
