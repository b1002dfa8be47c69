//! The Code view ("As a program"): the calls of this relay session so far as a complete program
//! in C, Python or Rust (`socketlab_shared::program`), with Copy and Download. Each line of a
//! call carries its call id: hovering it lights the call's entries in the log, and hovering a
//! log entry lights its lines here (the lab holds the lit call, `LabProps` → `lit`).
//!
//! Only the current relay session counts (after the transcript's last `welcome`): call ids
//! start again in each, and the sockets of an earlier one are gone. A lesson's exercise shows the
//! same view over only what came since the lesson page opened (`since`): "the program for this
//! exercise", saved under the exercise's name.

use socketlab_shared::program::{self, Happened, Language};
use socketlab_shared::{CallId, FromRelay, LessonService};
use yew::prelude::*;

use crate::session::journal::Journal;
use crate::session::transcript::Entry;

#[derive(Properties, PartialEq)]
pub(crate) struct CodeViewProps {
    pub(crate) transcript: Journal<Entry>,
    /// The relay's lesson services, so the program names their ports (`ECHO_TCP_PORT`) even
    /// when their `machine` message came before the part written.
    #[prop_or_default]
    pub(crate) services: Vec<LessonService>,
    /// Only what was appended after this many entries ever (`CourseRecord::appended` when a
    /// lesson page opened); 0 for the whole session.
    #[prop_or_default]
    pub(crate) since: u64,
    /// How many entries were ever appended (`CourseRecord::appended` now), with `since`.
    #[prop_or_default]
    pub(crate) appended: u64,
    /// The call whose lines are lit (hovered here or in the log).
    #[prop_or_default]
    pub(crate) lit: Option<CallId>,
    /// Told the call of a hovered line; none where no log lights with it.
    #[prop_or_default]
    pub(crate) on_hover: Option<Callback<Option<CallId>>>,
    /// The exercise the program is for: its heading, caption and file name say so.
    #[prop_or_default]
    pub(crate) exercise: Option<AttrValue>,
}

/// The program of `transcript`'s last relay session (the whole slice when it holds no
/// `welcome`), in `language`, with `services` known from the start.
pub(crate) fn program_of(
    transcript: &[Entry],
    services: &[LessonService],
    language: Language,
) -> program::Program {
    let start = transcript
        .iter()
        .rposition(|e| matches!(e, Entry::Message(FromRelay::Welcome { .. })))
        .map_or(0, |at| at + 1);
    let happened: Vec<Happened<'_>> = std::iter::once(Happened::Services(services))
        .chain(transcript[start..].iter().filter_map(|entry| match entry {
            Entry::Call { id, op } => Some(Happened::Call { id: *id, op }),
            Entry::Message(message) => Happened::of_message(message),
        }))
        .collect();
    program::write(language, &happened)
}

/// Where the part written begins in a transcript of `len` entries: the entries appended after
/// the first `since` of the `appended` ever (the transcript drops its oldest, so counted from
/// its end); all of it when `since` is 0.
fn written_from(len: usize, since: u64, appended: u64) -> usize {
    if since == 0 {
        return 0;
    }
    let new = usize::try_from(appended.saturating_sub(since)).unwrap_or(usize::MAX);
    len.saturating_sub(new)
}

/// The file a program is saved as: `session.c`, or the exercise's `accept-two-clients.c`;
/// Rust's is always `main.rs`, the file of a cargo crate.
fn file_name(exercise: Option<&str>, language: Language) -> String {
    match (exercise, language) {
        (Some(id), Language::C) => format!("{id}.c"),
        (Some(id), Language::Python) => format!("{id}.py"),
        _ => language.file_name().to_owned(),
    }
}

/// A `data:` URL of the text, for the Download link: every byte but the unreserved ones of
/// RFC 3986 percent-encoded (what `encodeURIComponent` does, without asking the browser).
fn data_url(text: &str) -> String {
    let mut url = String::from("data:text/plain;charset=utf-8,");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

#[component]
pub(crate) fn CodeView(props: &CodeViewProps) -> Html {
    let language = use_state(|| Language::C);
    let copied = use_state(|| false);
    let program = {
        let entries = props.transcript.entries();
        let from = written_from(entries.len(), props.since, props.appended);
        program_of(&entries[from..], &props.services, *language)
    };
    let file = file_name(props.exercise.as_deref(), *language);
    let text = program.text();
    let has_calls = program.lines.iter().any(|l| l.call.is_some());

    let tabs = Language::ALL.iter().map(|&each| {
        let onclick = {
            let language = language.clone();
            let copied = copied.clone();
            Callback::from(move |_| {
                language.set(each);
                copied.set(false);
            })
        };
        let selected = each == *language;
        html! {
            <button type="button" role="tab" aria-selected={selected.to_string()}
                class={classes!("code-tab", selected.then_some("selected"))}
                data-testid={format!("code-tab-{}", each.name().to_lowercase())}
                onclick={onclick}>{ each.name() }</button>
        }
    });
    let on_copy = {
        let text = text.clone();
        let copied = copied.clone();
        Callback::from(move |_| {
            if let Some(window) = web_sys::window() {
                // A promise; a refused copy (no permission) leaves the button as it was.
                let _ = window.navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        })
    };
    let lines = program.lines.iter().map(|line| {
        let lit = line.call.is_some() && line.call == props.lit;
        let hover = props.on_hover.as_ref().zip(line.call);
        let enter = hover.map(|(on_hover, id)| {
            let on_hover = on_hover.clone();
            Callback::from(move |_| on_hover.emit(Some(id)))
        });
        let leave = hover.map(|(on_hover, _)| {
            let on_hover = on_hover.clone();
            Callback::from(move |_| on_hover.emit(None))
        });
        let call = line.call.map(|id| id.0.to_string());
        html! {
            <span class={classes!("code-line", line.call.is_some().then_some("of-call"), lit.then_some("lit"))}
                data-call={call} onmouseenter={enter} onmouseleave={leave}>
                { format!("{}\n", line.text) }
            </span>
        }
    });
    html! {
        <section class="table-box code-box" data-testid="code-view">
            if props.exercise.is_some() {
                <p class="caption">
                    { "The calls you made since you opened this lesson, in the same order, as a program you can run. The kernel's answers are comments; a port the kernel chose is 0 here, so the program runs anywhere. A call on a socket made before this lesson is a comment: reload the page to start a clean session." }
                </p>
            } else {
                <h2>{ "As a program" }</h2>
                <p class="caption">
                    { "The calls of this session so far, in the same order, as a program you can run. The kernel's answers are comments; a port the kernel chose is 0 here, so the program runs anywhere. Hover a line to find its call in the log." }
                </p>
            }
            <div class="code-bar">
                <div class="code-tabs" role="tablist">{ for tabs }</div>
                <button type="button" class="code-copy" data-testid="code-copy" onclick={on_copy}>
                    { if *copied { "Copied" } else { "Copy" } }
                </button>
                <a class="code-download" data-testid="code-download" href={data_url(&text)}
                    download={file.clone()}>{ format!("Download {file}") }</a>
            </div>
            if !has_calls {
                <p class="empty">{ "No calls yet: make one above and it appears here." }</p>
            }
            <pre class="code" data-testid="code-text"><code>{ for lines }</code></pre>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use socketlab_shared::{Done, Family, Op, Outcome, SocketId, SocketType};

    use super::*;

    fn welcome() -> Entry {
        Entry::Message(FromRelay::Welcome {
            version: socketlab_shared::PROTOCOL_VERSION,
            relay: "0.1.0".into(),
            os: "linux".into(),
        })
    }

    fn socket_call(id: u64) -> [Entry; 2] {
        [
            Entry::Call {
                id: CallId(id),
                op: Op::Socket {
                    family: Family::Ipv4,
                    kind: SocketType::Datagram,
                },
            },
            Entry::Message(FromRelay::Reply {
                id: CallId(id),
                outcome: Outcome::Ok(Done::Socket {
                    socket: SocketId(1),
                    fd: 20,
                    family: Family::Ipv4,
                    kind: SocketType::Datagram,
                }),
            }),
        ]
    }

    #[test]
    fn only_the_last_relay_session_is_written() {
        let mut transcript = vec![welcome()];
        transcript.extend(socket_call(1));
        transcript.push(welcome());
        transcript.extend(socket_call(7));
        let program = program_of(&transcript, &[], Language::Python);
        let calls: Vec<CallId> = program.lines.iter().filter_map(|l| l.call).collect();
        assert!(!calls.is_empty());
        assert!(calls.iter().all(|id| *id == CallId(7)), "{calls:?}");
    }

    #[test]
    fn an_exercise_program_begins_where_the_lesson_page_opened() {
        // Ten entries ever, the lesson opened after the sixth: the last four.
        assert_eq!(written_from(10, 6, 10), 6);
        // The transcript dropped its oldest (4000 kept of 4500 ever): still the last four.
        assert_eq!(written_from(4000, 4496, 4500), 3996);
        // Nothing since the lesson opened: an empty part, not the whole session.
        assert_eq!(written_from(10, 10, 10), 10);
        // No lesson: the whole session.
        assert_eq!(written_from(10, 0, 10), 0);
    }

    #[test]
    fn the_exercise_program_leaves_out_an_earlier_lessons_socket_and_is_saved_by_its_name() {
        let mut transcript = vec![welcome()];
        transcript.extend(socket_call(1));
        let close = Entry::Call {
            id: CallId(2),
            op: Op::Close {
                socket: SocketId(1),
            },
        };
        transcript.push(close);
        transcript.push(Entry::Message(FromRelay::Reply {
            id: CallId(2),
            outcome: Outcome::Ok(Done::Close),
        }));
        // The lesson opened after the socket() (three entries in).
        let from = written_from(transcript.len(), 3, 5);
        let program = program_of(&transcript[from..], &[], Language::C).text();
        assert!(
            program.contains("close left out: it uses s1, a socket made before"),
            "{program}"
        );
        assert!(!program.contains("socket(AF_INET"), "{program}");
        assert_eq!(
            file_name(Some("accept-two-clients"), Language::C),
            "accept-two-clients.c"
        );
        assert_eq!(
            file_name(Some("accept-two-clients"), Language::Rust),
            "main.rs"
        );
        assert_eq!(file_name(None, Language::Python), "session.py");
    }

    #[test]
    fn the_download_link_carries_the_program_byte_for_byte() {
        assert_eq!(
            data_url("a b\n\"é\""),
            "data:text/plain;charset=utf-8,a%20b%0A%22%C3%A9%22"
        );
    }
}
