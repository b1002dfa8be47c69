//! The session's transcript: every call the page sent and every message the relay sent back, in the
//! order they happened. Exercise checks read nothing else, so a check is a pure function of what
//! really happened.
//!
//! `Entry` is `Call { id, op }` or `Message(FromRelay)`, serialized one JSON object a line
//! (`{"call":...}` / `{"message":...}`): the fixtures' format. `answered()` pairs each reply with
//! its call per relay session (counted by `welcome`: ids restart after a reconnect); `machine()` is
//! the latest `machine` message.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use socketlab_shared::{CallId, FromRelay, LessonService, Machine, Op, Outcome};

/// One line of the transcript. The reducer appends one per call sent and one per message
/// received. Serialized (one JSON object a line) for the recorded sessions the tests replay:
/// `{"call":{"id":1,"op":{...}}}` or `{"message":{"type":...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Entry {
    /// A call the page sent.
    Call { id: CallId, op: Op },
    /// A message the relay sent.
    Message(FromRelay),
}

/// A call together with its one reply, as the relay answered it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Answered<'a> {
    /// Which relay session (counted by `welcome` messages, from 0) the call belongs to: socket
    /// and call ids start again in every session, so they are only compared within one.
    pub(crate) session: usize,
    /// Where the reply is in the transcript; replies are in the order the kernel answered.
    pub(crate) at: usize,
    pub(crate) op: &'a Op,
    pub(crate) outcome: &'a Outcome,
}

/// Every answered call, in the order of the replies. A reply whose call is not in the
/// transcript (the page was reloaded in between) is left out: without the call, nobody knows
/// what was asked.
pub(crate) fn answered(transcript: &[Entry]) -> Vec<Answered<'_>> {
    let mut session = 0;
    let mut seen_welcome = false;
    let mut asked: HashMap<CallId, &Op> = HashMap::new();
    let mut out = Vec::new();
    for (at, entry) in transcript.iter().enumerate() {
        match entry {
            Entry::Call { id, op } => {
                asked.insert(*id, op);
            }
            Entry::Message(FromRelay::Welcome { .. }) => {
                if seen_welcome {
                    session += 1;
                }
                seen_welcome = true;
                asked.clear();
            }
            Entry::Message(FromRelay::Reply { id, outcome }) => {
                if let Some(op) = asked.remove(id) {
                    out.push(Answered {
                        session,
                        at,
                        op,
                        outcome,
                    });
                }
            }
            Entry::Message(_) => {}
        }
    }
    out
}

/// The relay's machine facts and lesson services, from the latest `machine` message.
pub(crate) fn machine(transcript: &[Entry]) -> Option<(&Machine, &[LessonService])> {
    transcript.iter().rev().find_map(|entry| match entry {
        Entry::Message(FromRelay::Machine {
            machine, services, ..
        }) => Some((machine, services.as_slice())),
        _ => None,
    })
}

/// The port of an address as the relay writes it (`127.0.0.1:4000`, `[::1]:4000`).
pub(crate) fn port_of(address: &str) -> Option<u16> {
    address
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.port())
}

/// Reads a recorded session: one [`Entry`] per non-empty line (the fixtures' format).
#[cfg(test)]
pub(crate) fn from_json_lines(text: &str) -> Result<Vec<Entry>, serde_json::Error> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketlab_shared::{Done, Family, SocketId, SocketType};

    fn welcome() -> Entry {
        Entry::Message(FromRelay::Welcome {
            version: 1,
            relay: "test".into(),
            os: "linux".into(),
        })
    }

    fn socket_call(id: u64) -> Entry {
        Entry::Call {
            id: CallId(id),
            op: Op::Socket {
                family: Family::Ipv4,
                kind: SocketType::Stream,
            },
        }
    }

    fn socket_reply(id: u64, fd: i32) -> Entry {
        Entry::Message(FromRelay::Reply {
            id: CallId(id),
            outcome: Outcome::Ok(Done::Socket {
                socket: SocketId(1),
                fd,
                family: Family::Ipv4,
                kind: SocketType::Stream,
            }),
        })
    }

    #[test]
    fn replies_pair_with_their_calls_within_one_session() {
        let transcript = vec![
            welcome(),
            socket_call(1),
            socket_reply(1, 7),
            welcome(),
            // The call ids start again after a reconnect; a reply to a call of the old
            // session is not paired with anything.
            socket_reply(1, 8),
            socket_call(1),
            socket_reply(1, 9),
        ];
        let got = answered(&transcript);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].session, got[0].at), (0, 2));
        assert_eq!((got[1].session, got[1].at), (1, 6));
    }

    #[test]
    fn entries_round_trip_through_json_lines() {
        let transcript = vec![welcome(), socket_call(3), socket_reply(3, 5)];
        let text: String = transcript
            .iter()
            .map(|e| serde_json::to_string(e).expect("encodes") + "\n")
            .collect();
        assert!(text.starts_with("{\"message\":{\"type\":\"welcome\""));
        assert!(text.contains("{\"call\":{\"id\":3,\"op\":{\"syscall\":\"socket\""));
        assert_eq!(from_json_lines(&text).expect("decodes"), transcript);
    }

    #[test]
    fn ports_are_read_from_both_address_families() {
        assert_eq!(port_of("127.0.0.1:4000"), Some(4000));
        assert_eq!(port_of("[::1]:0"), Some(0));
        assert_eq!(port_of("localhost:80"), None);
    }
}
