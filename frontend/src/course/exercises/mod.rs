//! The course's exercises: what each asks of the learner, and its check. A check reads only the
//! session's transcript (the calls, the relay's replies and events) and, where the exercise asks
//! the learner to report something, the typed answer; it never looks at which buttons were pressed.
//! It judges what the kernel (or the relay's policy) answered.
//!
//! Here: the catalogue (`Exercise { id, title, task, ask }`, `Ask { prompt, choices }`) of lessons
//! 1-10, and `all()`, which chains it with the three parts; `exercise(id)`, `check(id, transcript,
//! answer) -> Verdict { passed, evidence, hint }` (lessons 1-10's checks in `checks`, then each
//! part's own), and `judged_on_the_kernel(id)`. `ports_in_use` (lessons 11-15), `addresses` (16-17)
//! and `scanning` (18-20) hold their exercises with their checks. `widget` draws an exercise in a
//! lesson; `socket_model` replays the kernel's answers for the checks.
//!
//! Every check is tested on sessions recorded from the real relay (`fixtures/*.jsonl`, written by
//! `tests/it/course_recordings.rs`; see `tests`) and on near misses (`near_miss_tests`). A new
//! exercise is a catalogue entry, its check, a recorded passing session and a near miss recorded
//! for real.

pub(crate) mod addresses;
#[cfg(test)]
mod addresses_tests;
pub(crate) mod checks;
#[cfg(test)]
mod near_miss_tests;
pub(crate) mod ports_in_use;
pub(crate) mod scanning;
#[cfg(test)]
mod scanning_tests;
pub(crate) mod socket_model;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
pub(crate) mod widget;

use crate::session::transcript::Entry;

/// What an exercise asks the learner to type or pick, besides doing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ask {
    /// The question next to the input.
    pub(crate) prompt: &'static str,
    /// The choices to pick from; empty means free text.
    pub(crate) choices: &'static [&'static str],
}

/// One exercise of the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exercise {
    /// Stable id, as lessons write it: `{{exercise bind-port-zero}}`.
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    /// The task, in a sentence or two.
    pub(crate) task: &'static str,
    pub(crate) ask: Option<Ask>,
}

/// How a check judged the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Verdict {
    pub(crate) passed: bool,
    /// What the kernel did that passed, quoting its real answers.
    pub(crate) evidence: Option<String>,
    /// What is still missing, when not passed.
    pub(crate) hint: Option<String>,
}

impl Verdict {
    pub(crate) fn pass(evidence: String) -> Verdict {
        Verdict {
            passed: true,
            evidence: Some(evidence),
            hint: None,
        }
    }

    pub(crate) fn miss(hint: impl Into<String>) -> Verdict {
        Verdict {
            passed: false,
            evidence: None,
            hint: Some(hint.into()),
        }
    }
}

/// The three answers a bind to port 80 can get, as the exercise offers them.
pub(crate) const PORT_80_EACCES: &str = "EACCES";
pub(crate) const PORT_80_REFUSED: &str = "refused by the relay's policy";
pub(crate) const PORT_80_WORKED: &str = "it worked";

/// Every exercise, in course order.
pub(crate) fn all() -> impl Iterator<Item = &'static Exercise> {
    FIRST
        .iter()
        .chain(ports_in_use::EXERCISES)
        .chain(addresses::EXERCISES)
        .chain(scanning::EXERCISES)
}

/// The exercises of lessons 1-10 (their checks are in `checks`).
const FIRST: &[Exercise] = &[
    Exercise {
        id: "two-programs-one-address",
        title: "Two listeners, one address",
        task: "Make two TCP sockets listen on the same IP address at the same time, each on its own port.",
        ask: None,
    },
    Exercise {
        id: "bind-port-zero",
        title: "Let the kernel choose",
        task: "Bind a socket to port 0, then report the port the kernel chose.",
        ask: Some(Ask {
            prompt: "Which port did the kernel choose?",
            choices: &[],
        }),
    },
    Exercise {
        id: "ports-in-two-ranges",
        title: "A port in each upper range",
        task: "Bind one socket to a port in the registered range (1024-49151) and one to a port in the dynamic range (49152-65535).",
        ask: None,
    },
    Exercise {
        id: "talk-to-a-service",
        title: "Talk to a service",
        task: "Connect a TCP socket to the relay's echo service (echo_tcp), send some bytes and receive the same bytes back.",
        ask: None,
    },
    Exercise {
        id: "bind-port-80",
        title: "Try port 80",
        task: "Try to bind a socket to port 80, then say what happened.",
        ask: Some(Ask {
            prompt: "What happened to your bind() to port 80?",
            choices: &[PORT_80_EACCES, PORT_80_REFUSED, PORT_80_WORKED],
        }),
    },
    Exercise {
        id: "descriptor-reuse",
        title: "Descriptors are reused",
        task: "Close a socket, then create a new one: it gets the closed socket's descriptor number, the lowest free one.",
        ask: None,
    },
    Exercise {
        id: "accept-two-clients",
        title: "Accept two clients",
        task: "Accept two clients on one listening socket: two accept() calls that each return a new connected socket, while the listener keeps listening.",
        ask: None,
    },
    Exercise {
        id: "client-round-trip",
        title: "A client's whole life",
        task: "On one TCP socket: socket(), connect() to an echo peer, send() some bytes, recv() the same bytes back, close().",
        ask: None,
    },
    Exercise {
        id: "two-connections-differ",
        title: "Same server, two connections",
        task: "Keep two connections to the same server address and port open at once, and compare their 5-tuples.",
        ask: None,
    },
    Exercise {
        id: "three-datagrams",
        title: "Three datagrams",
        task: "Send three datagrams with sendto() and receive them with three recvfrom() calls on one socket, each returning one datagram.",
        ask: None,
    },
];

/// Whether the exercise is judged on what the kernel answered (all but a few knowledge
/// exercises, which are judged on the typed answer alone).
pub(crate) fn judged_on_the_kernel(id: &str) -> bool {
    !addresses::ANSWER_ONLY.contains(&id)
}

/// The exercise with this id, if the course has one.
pub(crate) fn exercise(id: &str) -> Option<&'static Exercise> {
    all().find(|exercise| exercise.id == id)
}

/// Judges the transcript (and the typed answer, for exercises that ask one) for exercise `id`.
pub(crate) fn check(id: &str, transcript: &[Entry], answer: Option<&str>) -> Verdict {
    match id {
        "two-programs-one-address" => checks::two_programs_one_address(transcript),
        "bind-port-zero" => checks::bind_port_zero(transcript, answer),
        "ports-in-two-ranges" => checks::ports_in_two_ranges(transcript),
        "talk-to-a-service" => checks::talk_to_a_service(transcript),
        "bind-port-80" => checks::bind_port_80(transcript, answer),
        "descriptor-reuse" => checks::descriptor_reuse(transcript),
        "accept-two-clients" => checks::accept_two_clients(transcript),
        "client-round-trip" => checks::client_round_trip(transcript),
        "two-connections-differ" => checks::two_connections_differ(transcript),
        "three-datagrams" => checks::three_datagrams(transcript),
        other => ports_in_use::check(other, transcript, answer)
            .or_else(|| addresses::check(other, transcript, answer))
            .or_else(|| scanning::check(other, transcript, answer))
            .unwrap_or_else(|| Verdict::miss(format!("the course has no exercise named {other}"))),
    }
}
