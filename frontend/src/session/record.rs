//! What the course keeps of one relay session (`CourseRecord`, `Session::course`): the machine
//! facts (`machine`), the lesson `services`, `scan` and `knock` the relay announced, this machine's
//! `service_names` (`/etc/services`), and the transcript exercises are checked against.
//!
//! The transcript (a `session::journal::Journal<Entry>`, at most `TRANSCRIPT_CAP` = 4000 entries)
//! keeps every call sent and every message received except `packet`, `kernel` and `service_names`
//! (the services list is kept beside it as an `Rc<[ServiceName]>`, the kernel's tables in
//! `Session::kernel`); when it is full the oldest `TRANSCRIPT_DROP` = 500 go at once, but never a
//! `welcome` or `machine`. `appended` counts what was added, so a widget or a lesson page re-checks
//! only what came since.

use std::rc::Rc;

use socketlab_shared::{
    CallId, FromRelay, KnockDoor, LessonService, Machine, Op, ScanTargets, ServiceName,
};

use crate::session::journal::Journal;
use crate::session::transcript::Entry;

/// The most transcript entries kept; the oldest go first. Exercises look at a few dozen calls,
/// and a learner who leaves the lab running must not grow the page's memory without end.
pub(crate) const TRANSCRIPT_CAP: usize = 4000;

/// How many of the oldest entries go at once when the transcript is full, so that dropping is
/// one pass over the list every `TRANSCRIPT_CAP / 8` appends, not one per append.
pub(crate) const TRANSCRIPT_DROP: usize = TRANSCRIPT_CAP / 8;

/// The course's part of the session state.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CourseRecord {
    /// The relay's machine, once it said so (after `capabilities`).
    pub(crate) machine: Option<Machine>,
    /// The lesson services the relay runs on loopback (echo over TCP and UDP).
    pub(crate) services: Vec<LessonService>,
    /// The port-scanning lesson's targets, as the relay announced them.
    pub(crate) scan: Option<ScanTargets>,
    /// This session's knock-guarded door, as the relay answered `knock_door`.
    pub(crate) knock: Option<KnockDoor>,
    /// Whether the relay answered `knock_door` in this relay session (a `null` door too).
    pub(crate) knock_answered: bool,
    /// This machine's `/etc/services`, as the relay read it; `None` until it arrives.
    pub(crate) service_names: Option<Rc<[ServiceName]>>,
    /// Every call sent and every message received, in order (packets excepted: they are many,
    /// and no exercise is judged on them). A `Journal`, because the reducer clones the whole
    /// session on every action: the clone copies a pointer, and an append writes in place.
    pub(crate) transcript: Journal<Entry>,
    /// How many entries were ever appended: changes exactly when the transcript does, so a
    /// widget can skip re-checking an exercise when nothing new happened.
    pub(crate) appended: u64,
    /// Whether this relay keeps a class (`class`, class mode): the page asks for a name.
    pub(crate) class: bool,
    /// The name this relay session joined the class as (`joined`).
    pub(crate) joined: Option<String>,
}

impl CourseRecord {
    /// A call the page sent.
    pub(crate) fn call(&mut self, id: CallId, op: &Op) {
        self.push(Entry::Call { id, op: op.clone() });
    }

    /// A message from the relay. A later `welcome` stays in the transcript: the checks count
    /// relay sessions by it and never mix ids of two sessions.
    pub(crate) fn received(&mut self, msg: &FromRelay) {
        match msg {
            FromRelay::Machine {
                machine,
                services,
                scan,
            } => {
                self.machine = Some(machine.clone());
                self.services = services.clone();
                self.scan = scan.clone();
                // A new relay session: its door is asked for again, and it joins again.
                self.knock = None;
                self.knock_answered = false;
                self.class = false;
                self.joined = None;
            }
            FromRelay::Class {} => {
                self.class = true;
                return;
            }
            FromRelay::Joined { name } => {
                self.joined = Some(name.clone());
                return;
            }
            // Kept in the transcript too: the knock exercise reads the door from it.
            FromRelay::KnockDoor { knock } => {
                self.knock = knock.clone();
                self.knock_answered = true;
            }
            // Kept beside the transcript, not in it: no exercise is judged on this machine's
            // services list (tens of kilobytes), on the kernel's tables or on packets.
            FromRelay::ServiceNames { names } => {
                self.service_names = Some(names.as_slice().into());
                return;
            }
            FromRelay::Packet { .. } | FromRelay::Kernel { .. } => return,
            _ => {}
        }
        self.push(Entry::Message(msg.clone()));
    }

    fn push(&mut self, entry: Entry) {
        if self.transcript.len() >= TRANSCRIPT_CAP {
            // The oldest `TRANSCRIPT_DROP` entries go, except every session's `welcome`,
            // `machine` and `knock_door`: checks need them to tell relay sessions apart and to
            // find the lesson services and the door.
            let mut to_drop = TRANSCRIPT_DROP;
            self.transcript.retain(|entry| {
                let kept = matches!(
                    entry,
                    Entry::Message(
                        FromRelay::Welcome { .. }
                            | FromRelay::Machine { .. }
                            | FromRelay::KnockDoor { .. }
                    )
                );
                if kept || to_drop == 0 {
                    return true;
                }
                to_drop -= 1;
                false
            });
        }
        self.transcript.push(entry);
        self.appended += 1;
    }
}

#[cfg(test)]
mod tests {
    use socketlab_shared::{
        Done, Family, LessonService, Machine, Outcome, PortRange, ServiceName, SocketId,
        SocketType, Transport,
    };

    use super::*;
    use crate::session::{Action, Session};

    fn received(session: &mut Session, msg: FromRelay) {
        session.apply(Action::Received { msg, at: 1.0 });
    }

    fn machine() -> FromRelay {
        FromRelay::Machine {
            machine: Machine {
                os: "linux".into(),
                root: false,
                unprivileged_port_start: Some(1024),
                ephemeral_ports: Some(PortRange {
                    first: 32768,
                    last: 60999,
                }),
                ephemeral_source: None,
                pid: 4242,
                user: None,
                namespace_thread: None,
            },
            services: vec![LessonService {
                name: "echo_tcp".into(),
                transport: Transport::Tcp,
                address: "127.0.0.1:40000".into(),
                about: "echo".into(),
            }],
            scan: None,
        }
    }

    #[test]
    fn machine_and_service_names_are_kept_for_the_widgets_without_a_log_line() {
        let mut session = Session::default();
        let lines = session.log.len();
        received(&mut session, machine());
        received(
            &mut session,
            FromRelay::ServiceNames {
                names: vec![ServiceName {
                    name: "ssh".into(),
                    port: 22,
                    transport: Transport::Tcp,
                    aliases: vec![],
                }],
            },
        );
        let course = &session.course;
        assert_eq!(
            course
                .machine
                .as_ref()
                .and_then(|m| m.unprivileged_port_start),
            Some(1024)
        );
        assert_eq!(course.services[0].address, "127.0.0.1:40000");
        assert_eq!(course.service_names.as_deref().map(<[_]>::len), Some(1));
        assert_eq!(
            session.log.len(),
            lines,
            "the log does not list machine facts"
        );
    }

    #[test]
    fn the_knock_door_is_kept_until_a_new_relay_session_asks_again() {
        let mut session = Session::default();
        received(&mut session, machine());
        assert!(!session.course.knock_answered, "not asked yet");
        let door = socketlab_shared::KnockDoor {
            knocks: vec!["127.0.0.1:41010".into()],
            door: "127.0.0.1:41013".into(),
            open_secs: 30,
            about: "a door".into(),
        };
        received(
            &mut session,
            FromRelay::KnockDoor {
                knock: Some(door.clone()),
            },
        );
        assert_eq!(session.course.knock.as_ref(), Some(&door));
        assert!(session.course.knock_answered);
        assert!(
            session
                .course
                .transcript
                .entries()
                .iter()
                .any(|e| matches!(e, Entry::Message(FromRelay::KnockDoor { .. }))),
            "the exercise reads the door from the transcript"
        );
        // The next relay session has a door of its own, asked for again.
        received(&mut session, machine());
        assert_eq!(session.course.knock, None);
        assert!(!session.course.knock_answered);
        received(&mut session, FromRelay::KnockDoor { knock: None });
        assert!(
            session.course.knock_answered,
            "a relay without a door answered too"
        );
    }

    #[test]
    fn the_transcript_holds_every_call_and_message_in_order_but_no_packets() {
        let mut session = Session::default();
        received(
            &mut session,
            FromRelay::Welcome {
                version: socketlab_shared::PROTOCOL_VERSION,
                relay: "0.1.0".into(),
                os: "linux".into(),
            },
        );
        let op = Op::Socket {
            family: Family::Ipv4,
            kind: SocketType::Stream,
        };
        session.apply(Action::CallSent {
            id: CallId(1),
            op: op.clone(),
            slot: None,
            at: 2.0,
        });
        let reply = FromRelay::Reply {
            id: CallId(1),
            outcome: Outcome::Ok(Done::Socket {
                socket: SocketId(1),
                fd: 7,
                family: Family::Ipv4,
                kind: SocketType::Stream,
            }),
        };
        received(&mut session, reply.clone());
        let transcript = session.course.transcript.entries();
        assert_eq!(transcript.len(), 3);
        assert!(matches!(
            transcript[0],
            Entry::Message(FromRelay::Welcome { .. })
        ));
        assert_eq!(transcript[1], Entry::Call { id: CallId(1), op });
        assert_eq!(transcript[2], Entry::Message(reply));
    }

    #[test]
    fn the_transcript_keeps_only_the_newest_entries_dropping_the_oldest_in_batches() {
        let mut record = CourseRecord::default();
        for n in 0..(TRANSCRIPT_CAP as u64 + 5) {
            record.call(
                CallId(n),
                &Op::Close {
                    socket: SocketId(1),
                },
            );
        }
        // Full at TRANSCRIPT_CAP; the next append dropped the oldest TRANSCRIPT_DROP first.
        assert_eq!(
            record.transcript.len(),
            TRANSCRIPT_CAP - TRANSCRIPT_DROP + 5
        );
        assert_eq!(record.transcript.dropped(), TRANSCRIPT_DROP as u64);
        let transcript = record.transcript.entries();
        assert!(matches!(
            transcript[0],
            Entry::Call { id: CallId(n), .. } if n == TRANSCRIPT_DROP as u64
        ));
        assert!(matches!(
            transcript.last(),
            Some(Entry::Call { id: CallId(n), .. }) if *n == TRANSCRIPT_CAP as u64 + 4
        ));
    }

    #[test]
    fn a_long_session_never_loses_its_welcome_or_machine_from_the_transcript() {
        let mut record = CourseRecord::default();
        record.received(&FromRelay::Welcome {
            version: 1,
            relay: "0.1.0".into(),
            os: "linux".into(),
        });
        record.received(&machine());
        record.received(&FromRelay::ServiceNames { names: Vec::new() });
        for n in 0..(TRANSCRIPT_CAP as u64 + 10) {
            record.call(
                CallId(n),
                &Op::Close {
                    socket: SocketId(1),
                },
            );
        }
        let transcript = record.transcript.entries();
        // The two kept, then the calls: the oldest TRANSCRIPT_DROP of them went when it was full.
        assert_eq!(transcript.len(), 2 + TRANSCRIPT_CAP + 10 - TRANSCRIPT_DROP);
        assert!(matches!(
            transcript[0],
            Entry::Message(FromRelay::Welcome { .. })
        ));
        assert!(matches!(
            transcript[1],
            Entry::Message(FromRelay::Machine { .. })
        ));
        assert!(record.service_names.is_some(), "kept beside the transcript");
        assert!(matches!(
            transcript[2],
            Entry::Call { id: CallId(n), .. } if n == TRANSCRIPT_DROP as u64
        ));
        assert!(matches!(
            transcript.last(),
            Some(Entry::Call { id: CallId(n), .. }) if *n == TRANSCRIPT_CAP as u64 + 9
        ));
    }
}
