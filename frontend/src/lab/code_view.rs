//! The Code view ("As a program"): the calls of this relay session so far as a complete program
//! in C, Python or Rust (`socketlab_shared::program`), with Copy and Download. Each line of a
//! call carries its call id: hovering it lights the call's entries in the log, and hovering a
//! log entry lights its lines here (the lab holds the lit call, `LabProps` → `lit`).
//!
//! Only the current relay session counts (after the transcript's last `welcome`): call ids
//! start again in each, and the sockets of an earlier one are gone.

use socketlab_shared::program::{self, Happened, Language};
use socketlab_shared::{CallId, FromRelay};
use yew::prelude::*;

use crate::session::journal::Journal;
use crate::session::transcript::Entry;

#[derive(Properties, PartialEq)]
pub(crate) struct CodeViewProps {
    pub(crate) transcript: Journal<Entry>,
    /// The call whose lines are lit (hovered here or in the log).
    pub(crate) lit: Option<CallId>,
    pub(crate) on_hover: Callback<Option<CallId>>,
}

/// The program of the transcript's last relay session, in `language`.
pub(crate) fn program_of(transcript: &[Entry], language: Language) -> program::Program {
    let start = transcript
        .iter()
        .rposition(|e| matches!(e, Entry::Message(FromRelay::Welcome { .. })))
        .map_or(0, |at| at + 1);
    let happened: Vec<Happened<'_>> = transcript[start..]
        .iter()
        .filter_map(|entry| match entry {
            Entry::Call { id, op } => Some(Happened::Call { id: *id, op }),
            Entry::Message(FromRelay::Reply { id, outcome }) => {
                Some(Happened::Reply { id: *id, outcome })
            }
            Entry::Message(_) => None,
        })
        .collect();
    program::write(language, &happened)
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
    let program = program_of(&props.transcript.entries(), *language);
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
        let (enter, call) = match line.call {
            Some(id) => {
                let on_hover = props.on_hover.clone();
                (
                    Some(Callback::from(move |_| on_hover.emit(Some(id)))),
                    Some(id.0.to_string()),
                )
            }
            None => (None, None),
        };
        let leave = line.call.map(|_| {
            let on_hover = props.on_hover.clone();
            Callback::from(move |_| on_hover.emit(None))
        });
        html! {
            <span class={classes!("code-line", line.call.is_some().then_some("of-call"), lit.then_some("lit"))}
                data-call={call} onmouseenter={enter} onmouseleave={leave}>
                { format!("{}\n", line.text) }
            </span>
        }
    });
    html! {
        <section class="table-box code-box" data-testid="code-view">
            <h2>{ "As a program" }</h2>
            <p class="caption">
                { "The calls of this session so far, in the same order, as a program you can run. The kernel's answers are comments; a port the kernel chose is 0 here, so the program runs anywhere. Hover a line to find its call in the log." }
            </p>
            <div class="code-bar">
                <div class="code-tabs" role="tablist">{ for tabs }</div>
                <button type="button" class="code-copy" data-testid="code-copy" onclick={on_copy}>
                    { if *copied { "Copied" } else { "Copy" } }
                </button>
                <a class="code-download" data-testid="code-download" href={data_url(&text)}
                    download={language.file_name()}>{ format!("Download {}", language.file_name()) }</a>
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
        let program = program_of(&transcript, Language::Python);
        let calls: Vec<CallId> = program.lines.iter().filter_map(|l| l.call).collect();
        assert!(!calls.is_empty());
        assert!(calls.iter().all(|id| *id == CallId(7)), "{calls:?}");
    }

    #[test]
    fn the_download_link_carries_the_program_byte_for_byte() {
        assert_eq!(
            data_url("a b\n\"é\""),
            "data:text/plain;charset=utf-8,a%20b%0A%22%C3%A9%22"
        );
    }
}
