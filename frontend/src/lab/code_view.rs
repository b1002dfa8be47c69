//! The Code view ("As a program"): the calls of this relay session so far as a complete program
//! in C, Python or Rust (`socketlab_shared::program`), with Copy and Download. Each line of a
//! call carries its call id: hovering it lights the call's entries in the log, and hovering a
//! log entry lights its lines here (the lab holds the lit call, `LabProps` → `lit`).
//!
//! Only the current relay session counts (after the transcript's last `welcome`): call ids
//! start again in each, and the sockets of an earlier one are gone. A lesson's exercise shows the
//! same view over only what came since the lesson page opened (`since`): "the program for this
//! exercise", saved under the exercise's name.

use socketlab_shared::program::{self, Half, Happened, Language, Split};
use socketlab_shared::{CallId, FromRelay, LessonService};
use yew::prelude::*;

use crate::lab::code_listing::CodeListing;
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

/// What a program needs of `transcript`'s last relay session (the whole slice when it holds
/// no `welcome`), with `services` known from the start.
fn happened_of<'a>(transcript: &'a [Entry], services: &'a [LessonService]) -> Vec<Happened<'a>> {
    let start = transcript
        .iter()
        .rposition(|e| matches!(e, Entry::Message(FromRelay::Welcome { .. })))
        .map_or(0, |at| at + 1);
    std::iter::once(Happened::Services(services))
        .chain(transcript[start..].iter().filter_map(|entry| match entry {
            Entry::Call { id, op } => Some(Happened::Call { id: *id, op }),
            Entry::Message(message) => Happened::of_message(message),
        }))
        .collect()
}

/// The program of `transcript`'s last relay session, in `language`.
#[cfg(test)]
pub(crate) fn program_of(
    transcript: &[Entry],
    services: &[LessonService],
    language: Language,
) -> program::Program {
    program::write(language, &happened_of(transcript, services))
}

/// The session as one program, or as a server and a client (or why it does not split), with
/// the server's line that carries the client's port, as the guide shows it.
#[derive(Debug, Clone, PartialEq)]
enum Written {
    One(program::Program),
    Two {
        split: Box<Split>,
        /// The server's lines before the client may start, as the lab printed them.
        ready: Vec<String>,
    },
    Whole(String),
}

fn written(
    entries: &[Entry],
    services: &[LessonService],
    language: Language,
    two: bool,
    name: Option<&str>,
) -> Written {
    let happened = happened_of(entries, services);
    if !two {
        return Written::One(match name {
            Some(name) => program::write_named(language, &happened, name),
            None => program::write(language, &happened),
        });
    }
    match (
        program::split(language, &happened),
        program::expected_split(&happened),
    ) {
        (Ok(split), Ok((server, _))) => Written::Two {
            ready: server.into_iter().take(split.guide.ready_after).collect(),
            split: Box::new(split),
        },
        (Err(why), _) | (_, Err(why)) => Written::Whole(why),
    }
}

/// A line the server printed, its port as `PORT` (the kernel chooses another each run).
fn with_port_named(line: &str) -> String {
    match line.rsplit_once(':') {
        Some((head, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{head}:PORT")
        }
        _ => line.to_owned(),
    }
}

/// How to run the two programs together, as steps.
fn guide(split: &Split, ready: &[String]) -> Html {
    let [server, client] = &split.commands;
    let start_client = match split.guide.arguments.first() {
        Some(argument) => {
            let line = ready
                .get(argument.printed_on)
                .map(|l| with_port_named(l))
                .unwrap_or_default();
            html! {
                <li>{ "When it has printed " }<code>{ line }</code>{ ", run the client with that port: " }<code>{ client.clone() }</code></li>
            }
        }
        None if split.guide.ready_after > 0 => html! {
            <li>{ format!("When it has printed its first {} lines, run the client: ", split.guide.ready_after) }<code>{ client.clone() }</code></li>
        },
        None => html! { <li>{ "Then run the client: " }<code>{ client.clone() }</code></li> },
    };
    html! {
        <ol class="code-guide" data-testid="code-guide">
            <li>{ "In one terminal, run the server: " }<code>{ server.clone() }</code></li>
            { start_client }
            if split.guide.server_waits {
                <li>{ "When the client has ended, press Enter where the server runs: it closes its sockets and ends." }</li>
            }
        </ol>
    }
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

#[component]
pub(crate) fn CodeView(props: &CodeViewProps) -> Html {
    let language = use_state(|| Language::C);
    let two = use_state(|| false);
    let (written, has_calls) = {
        let entries = props.transcript.entries();
        let part = &entries[written_from(entries.len(), props.since, props.appended)..];
        (
            written(
                part,
                &props.services,
                *language,
                *two,
                props.exercise.as_deref(),
            ),
            part.iter().any(|e| matches!(e, Entry::Call { .. })),
        )
    };

    let tabs = Language::ALL.iter().map(|&each| {
        let onclick = {
            let language = language.clone();
            Callback::from(move |_| language.set(each))
        };
        let selected = each == *language;
        html! {
            <button type="button" role="tab" aria-selected={selected.to_string()}
                class={classes!("code-tab", selected.then_some("selected"))}
                data-testid={format!("code-tab-{}", each.name().to_lowercase())}
                onclick={onclick}>{ each.name() }</button>
        }
    });
    let forms = [
        (false, "One program", "one"),
        (true, "Server and client", "two"),
    ]
    .map(|(each, label, id)| {
        let onclick = {
            let two = two.clone();
            Callback::from(move |_| two.set(each))
        };
        let selected = each == *two;
        html! {
            <button type="button" role="tab" aria-selected={selected.to_string()}
                class={classes!("code-tab", selected.then_some("selected"))}
                data-testid={format!("code-form-{id}")} onclick={onclick}>{ label }</button>
        }
    });
    let listing = |program: &program::Program, file: String, part: &'static str, title: bool| {
        html! {
            <CodeListing program={program.clone()} file={AttrValue::from(file.clone())}
                part={part} title={title.then(|| AttrValue::from(file))}
                lit={props.lit} on_hover={props.on_hover.clone()} />
        }
    };
    let body = match &written {
        Written::One(program) => listing(
            program,
            program::file_name(*language, Half::Whole, props.exercise.as_deref()),
            "",
            false,
        ),
        Written::Two { split, ready } => html! {
            <>
                { guide(split, ready) }
                if *language == Language::Rust {
                    <p class="caption">{ "Both files go in src/bin/ of one cargo crate that depends on socket2 = { version = \"0.6\", features = [\"all\"] }." }</p>
                }
                <div class="code-halves">
                    { listing(&split.server, program::file_name(*language, Half::Server, None), "server", true) }
                    { listing(&split.client, program::file_name(*language, Half::Client, None), "client", true) }
                </div>
            </>
        },
        Written::Whole(why) => html! {
            <p class="code-note" data-testid="code-whole">
                <strong>{ "This session stays one program. " }</strong>
                { format!("As two, {why}. ") }
                { "Two programs run side by side keep the lab's order only where one waits for the other (an accept, recv or recvfrom waits for the client); choose One program to see it whole." }
            </p>
        },
    };
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
                <div class="code-tabs" role="tablist" aria-label="language">{ for tabs }</div>
                <div class="code-tabs" role="tablist" aria-label="one program or two">{ for forms.into_iter() }</div>
            </div>
            if !has_calls {
                <p class="empty">{ "No calls yet: make one above and it appears here." }</p>
            }
            { body }
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
        let named = match written(
            &transcript[from..],
            &[],
            Language::C,
            false,
            Some("accept-two-clients"),
        ) {
            Written::One(program) => program.text(),
            other => panic!("one program: {other:?}"),
        };
        assert!(
            named.contains(
                "cc -Wall -o accept-two-clients accept-two-clients.c && ./accept-two-clients"
            ),
            "{named}"
        );
        for (language, name, file) in [
            (
                Language::C,
                Some("accept-two-clients"),
                "accept-two-clients.c",
            ),
            (Language::Rust, Some("accept-two-clients"), "main.rs"),
            (Language::Python, None, "session.py"),
        ] {
            assert_eq!(program::file_name(language, Half::Whole, name), file);
        }
    }
}
