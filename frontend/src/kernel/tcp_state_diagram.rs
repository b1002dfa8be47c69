//! The TCP state diagram of RFC 793 (figure 6) in SVG: the eleven states plus a second CLOSED box
//! at the end, as in the RFC; every arrow labelled with what makes it happen, rare ones dashed. The
//! states where a live track is now are `lit`, with a tag per connection (filled when the relay
//! holds its socket, hollow when queued or after close). Each of the newest 6 tracks is drawn over
//! the arrows in its own colour as it happens, unseen steps dotted, gone tracks faded; a legend
//! gives each track's ends and path in words, unseen states in brackets, "gone" when it ended
//! without an arrow to CLOSED.

use socketlab_shared::KernelState;
use yew::prelude::*;

use crate::session::kernel_watch::{self, Track};
use crate::session::tcp_graph::TRANSITIONS;

#[derive(Properties, PartialEq)]
pub(crate) struct TcpStateDiagramProps {
    pub(crate) tracks: Vec<Track>,
}

const WIDTH: f64 = 740.0;
const HEIGHT: f64 = 600.0;
const NODE_W: f64 = 118.0;
const NODE_H: f64 = 30.0;
/// How many connections' paths are drawn (the newest); the legend lists them.
const DRAWN: usize = 6;

/// The colours of the paths, calm and far apart; the legend repeats them.
pub(crate) const COLOURS: [&str; 6] = [
    "#2357c6", "#1b7f45", "#c0641f", "#7a3fb0", "#0f7c8c", "#a0306a",
];

/// Where a state's box is, by its centre. CLOSED is drawn twice, as in the RFC: where a socket
/// starts (top) and where a connection ends (bottom right).
fn centre(state: KernelState, end: bool) -> (f64, f64) {
    use KernelState as K;
    match state {
        K::Close | K::Unconn if end => (610.0, 565.0),
        K::Close | K::Unconn => (360.0, 30.0),
        K::Listen => (110.0, 115.0),
        K::SynRecv => (110.0, 215.0),
        K::SynSent => (610.0, 215.0),
        K::Established => (360.0, 300.0),
        K::FinWait1 => (110.0, 395.0),
        K::CloseWait => (610.0, 395.0),
        K::Closing => (360.0, 395.0),
        K::FinWait2 => (110.0, 480.0),
        K::TimeWait => (360.0, 480.0),
        K::LastAck => (610.0, 480.0),
    }
}

/// CLOSED at the end of an arrow from a closing state is the bottom box.
fn ends_at_bottom(from: KernelState, to: KernelState) -> bool {
    to == KernelState::Close && matches!(from, KernelState::TimeWait | KernelState::LastAck)
}

/// Where the line from `a` towards `b` leaves `a`'s box.
fn border(a: (f64, f64), b: (f64, f64), gap: f64) -> (f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let tx = if dx.abs() > 1e-6 {
        (NODE_W / 2.0 + gap) / dx.abs()
    } else {
        f64::INFINITY
    };
    let ty = if dy.abs() > 1e-6 {
        (NODE_H / 2.0 + gap) / dy.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty);
    (a.0 + dx * t, a.1 + dy * t)
}

/// Moves a segment sideways (to the right of its direction) by `by`, so that two arrows
/// between the same boxes, or two connections' paths, do not cover each other.
fn shifted(a: (f64, f64), b: (f64, f64), by: f64) -> ((f64, f64), (f64, f64)) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (nx, ny) = (-dy / len * by, dx / len * by);
    ((a.0 + nx, a.1 + ny), (b.0 + nx, b.1 + ny))
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// One arrow of the diagram with its label.
fn arrow(from: KernelState, to: KernelState, label: &str, common: bool) -> Html {
    let a = centre(from, false);
    let b = centre(to, ends_at_bottom(from, to));
    let reverse = TRANSITIONS.iter().any(|t| t.from == to && t.to == from);
    let (a, b) = if reverse { shifted(a, b, 7.0) } else { (a, b) };
    let (x1, y1) = border(a, b, 1.0);
    let (x2, y2) = border(b, a, 4.0);
    // The label sits beside the middle of the arrow: above a level one, on the inner side of
    // an upright one (so it stays inside the drawing), else on the arrow's right-hand side.
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
    // SYN_RECV -> FIN_WAIT1 runs down the left edge between two other labels: its words run
    // along it, on its outer side.
    let along = (from, to) == (KernelState::SynRecv, KernelState::FinWait1);
    let (lx, ly, anchor) = if along {
        (mx - 6.0, my, "middle")
    } else if dy.abs() < 1.0 {
        (mx, my - 6.0, "middle")
    } else if dx.abs() < 1.0 {
        if mx > WIDTH / 2.0 {
            (mx - 8.0, my + 4.0, "end")
        } else {
            (mx + 8.0, my + 4.0, "start")
        }
    } else {
        let (nx, ny) = (-dy / len, dx / len);
        let anchor = if nx > 0.3 {
            "start"
        } else if nx < -0.3 {
            "end"
        } else {
            "middle"
        };
        (mx + nx * 9.0, my + ny * 9.0 + 4.0, anchor)
    };
    html! {
        <g class={classes!("transition", (!common).then_some("rare"))}>
            <line x1={px(x1)} y1={px(y1)} x2={px(x2)} y2={px(y2)} marker-end="url(#tcp-arrowhead)" />
            <text x={px(lx)} y={px(ly)} text-anchor={anchor}
                transform={along.then(|| format!("rotate(-90 {} {})", px(lx), px(ly)))}>{ label }</text>
        </g>
    }
}

#[component]
pub(crate) fn TcpStateDiagram(props: &TcpStateDiagramProps) -> Html {
    let drawn: Vec<(usize, &Track)> = props
        .tracks
        .iter()
        .enumerate()
        .rev()
        .take(DRAWN)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let colour = |track: &Track| COLOURS[(track.number as usize - 1) % COLOURS.len()];

    let arrows = TRANSITIONS
        .iter()
        .map(|t| arrow(t.from, t.to, t.label, t.common));

    // Each connection's path, over the arrows and under the boxes, a little apart from the
    // others so that two connections on the same arrow both show.
    let paths = drawn.iter().enumerate().map(|(slot, (_, track))| {
        let offset = (slot as f64 - (drawn.len() as f64 - 1.0) / 2.0) * 4.0;
        let segments = track.steps.windows(2).map(|pair| {
            let (from, to) = (pair[0], pair[1]);
            let a = centre(from.state, false);
            let b = centre(to.state, ends_at_bottom(from.state, to.state));
            let (a, b) = shifted(a, b, offset);
            html! {
                <line x1={px(a.0)} y1={px(a.1)} x2={px(b.0)} y2={px(b.1)}
                    class={classes!("track-step", (!to.seen).then_some("unseen"))} />
            }
        });
        html! {
            <g class={classes!("track", track.gone.then_some("gone"))} stroke={colour(track)}
               data-track={track.name()}>
                { for segments }
            </g>
        }
    });

    let node = |state: KernelState, end: bool| {
        let (cx, cy) = centre(state, end);
        // Who is here now: a small tag per live connection, in its colour.
        // A live connection in CLOSE has not started yet: the top box, never the bottom one.
        let here: Vec<&Track> = drawn
            .iter()
            .map(|(_, t)| *t)
            .filter(|t| !t.gone && t.state() == Some(state) && !end)
            .collect();
        let lit = !end && kernel_watch::lit(&props.tracks, state);
        // A connection no descriptor holds (queued, or left after close) has a hollow tag.
        let tags = here.iter().enumerate().map(|(i, track)| {
            let x = cx + NODE_W / 2.0 + 4.0 + i as f64 * 30.0;
            let (text, fill, ink) = match (track.held, track.socket, track.listener) {
                (true, Some(id), _) => (id.to_string(), colour(track), "#fff"),
                (false, Some(id), _) => (id.to_string(), "#fff", colour(track)),
                (false, None, Some(_)) => ("q".to_owned(), "#fff", colour(track)),
                _ => ("–".to_owned(), "#fff", colour(track)),
            };
            html! {
                <g class="here">
                    <title>{ track.name() }</title>
                    <rect x={px(x)} y={px(cy - 9.0)} width="27" height="18" rx="4" fill={fill} stroke={colour(track)} stroke-width="1.5" />
                    <text x={px(x + 13.5)} y={px(cy + 4.0)} text-anchor="middle" fill={ink}>{ text }</text>
                </g>
            }
        });
        let name = if state == KernelState::Close {
            "CLOSED"
        } else {
            state.name()
        };
        html! {
            <g class={classes!("tstate", lit.then_some("lit"))} data-state={state.name()}
               data-end={end.then_some("true")}>
                <rect x={px(cx - NODE_W / 2.0)} y={px(cy - NODE_H / 2.0)} width={px(NODE_W)} height={px(NODE_H)} rx="15" />
                <text x={px(cx)} y={px(cy + 4.5)} text-anchor="middle">{ name }</text>
                { for tags }
            </g>
        }
    };
    let nodes = KernelState::TCP
        .into_iter()
        .map(|s| node(s, false))
        .chain(std::iter::once(node(KernelState::Close, true)));

    let legend = drawn.iter().map(|(_, track)| {
        let steps = track.steps.iter().enumerate().map(|(i, step)| {
            let name = if step.state == KernelState::Close {
                "CLOSED"
            } else {
                step.state.name()
            };
            html! {
                <>
                    if i > 0 { <span class="sep">{ " → " }</span> }
                    <span class={classes!("step", (!step.seen).then_some("unseen"))}>
                        { if step.seen { name.to_owned() } else { format!("({name})") } }
                    </span>
                </>
            }
        });
        // Gone without reaching CLOSED: the kernel dropped it between two looks (an RST, or
        // LAST_ACK answered within microseconds); nothing is invented for it.
        let vanished = track.gone && track.state() != Some(KernelState::Close);
        html! {
            <li class={classes!(track.gone.then_some("gone"))}>
                <span class="swatch" style={format!("background:{}", colour(track))}></span>
                <strong>{ track.name() }</strong>
                <span class="ends">{ format!(" {} → {}", track.local, track.remote) }</span>
                <div class="path">
                    { for steps }
                    if vanished { <span class="sep">{ " → " }</span><span class="step unseen">{ "gone" }</span> }
                </div>
            </li>
        }
    });

    html! {
        <section class="table-box tcp-box">
            <h2>{ "TCP states (RFC 793)" }</h2>
            <p class="caption">
                { "Every connection end is one of these states in the kernel. Lit: where your connections are now. Coloured lines: the way each one came, as it happens. Arrows read " }
                <em>{ "event / what the kernel sends" }</em>{ "." }
            </p>
            <svg class="tcp-states" data-testid="tcp-states" role="img"
                aria-label="The TCP state diagram of RFC 793 with the session's connections"
                viewBox={format!("0 0 {WIDTH} {HEIGHT}")}>
                <defs>
                    <marker id="tcp-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="tcp-arrowhead" />
                    </marker>
                </defs>
                <g class="transitions">{ for arrows }</g>
                <g class="tracks">{ for paths }</g>
                <g class="states">{ for nodes }</g>
            </svg>
            if drawn.is_empty() {
                <p class="caption">{ "No TCP connection yet: listen() or connect() and watch." }</p>
            } else {
                <ul class="track-legend">{ for legend }</ul>
                <p class="caption small">{ "(In brackets: a state the kernel passed through faster than the relay looks; on loopback SYN_RECV lasts well under a millisecond. \"gone\": the kernel let it go between two looks, after an RST or a last ACK.)" }</p>
            }
        </section>
    }
}
