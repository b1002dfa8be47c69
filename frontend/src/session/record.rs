//! What the course keeps of one relay session: the machine facts and lesson services the relay
//! announced, this machine's services list, and the transcript exercises are checked against.

use std::rc::Rc;

use socketlab_shared::{
    CallId, FromRelay, KnockDoor, LessonService, Machine, Op, ScanTargets, ServiceName,
};

use crate::session::transcript::Entry;

/// The most transcript entries kept; the oldest go first. Exercises look at a few dozen calls,
/// and a learner who leaves the lab running must not grow the page's memory without end.
pub(crate) const TRANSCRIPT_CAP: usize = 4000;

/// The course's part of the session state.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CourseRecord {
    /// The relay's machine, once it said so (after `capabilities`).
    pub(crate) machine: Option<Machine>,
    /// The lesson services the relay runs on loopback (echo over TCP and UDP).
    pub(crate) services: Vec<LessonService>,
    /// The port-scanning lesson's targets, as the relay announced them.
    pub(crate) scan: Option<ScanTargets>,
    /// This session's knock-guarded door, as the relay announced it.
    pub(crate) knock: Option<KnockDoor>,
    /// This machine's `/etc/services`, as the relay read it; `None` until it arrives.
    pub(crate) service_names: Option<Vec<ServiceName>>,
    /// Every call sent and every message received, in order (packets excepted: they are many,
    /// and no exercise is judged on them). Shared, because the reducer clones the whole session
    /// on every action: a packet, the most frequent one, then copies a pointer, not thousands
    /// of entries; only an action that appends copies the list.
    pub(crate) transcript: Rc<Vec<Entry>>,
    /// How many entries were ever appended: changes exactly when the transcript does, so a
    /// widget can skip re-checking an exercise when nothing new happened.
    pub(crate) appended: u64,
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
                knock,
            } => {
                self.machine = Some(machine.clone());
                self.services = services.clone();
                self.scan = scan.clone();
                self.knock = knock.clone();
            }
            // Kept beside the transcript, not in it: no exercise is judged on this machine's
            // services list (tens of kilobytes), on the kernel's tables or on packets.
            FromRelay::ServiceNames { names } => {
                self.service_names = Some(names.clone());
                return;
            }
            FromRelay::Packet { .. } | FromRelay::Kernel { .. } => return,
            _ => {}
        }
        self.push(Entry::Message(msg.clone()));
    }

    fn push(&mut self, entry: Entry) {
        let transcript = Rc::make_mut(&mut self.transcript);
        if transcript.len() >= TRANSCRIPT_CAP {
            // The oldest entry goes, except a session's `welcome` and `machine`: checks need
            // them to tell relay sessions apart and to find the lesson services.
            let keep = |entry: &Entry| {
                matches!(
                    entry,
                    Entry::Message(FromRelay::Welcome { .. } | FromRelay::Machine { .. })
                )
            };
            if let Some(oldest) = transcript.iter().position(|entry| !keep(entry)) {
                transcript.remove(oldest);
            }
        }
        transcript.push(entry);
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
                pid: 4242,
                user: None,
            },
            services: vec![LessonService {
                name: "echo_tcp".into(),
                transport: Transport::Tcp,
                address: "127.0.0.1:40000".into(),
                about: "echo".into(),
            }],
            scan: None,
            knock: None,
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
        assert_eq!(course.service_names.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            session.log.len(),
            lines,
            "the log does not list machine facts"
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
        let transcript = &session.course.transcript;
        assert_eq!(transcript.len(), 3);
        assert!(matches!(
            transcript[0],
            Entry::Message(FromRelay::Welcome { .. })
        ));
        assert_eq!(transcript[1], Entry::Call { id: CallId(1), op });
        assert_eq!(transcript[2], Entry::Message(reply));
    }

    #[test]
    fn the_transcript_keeps_only_the_newest_entries() {
        let mut record = CourseRecord::default();
        for n in 0..(TRANSCRIPT_CAP as u64 + 5) {
            record.call(
                CallId(n),
                &Op::Close {
                    socket: SocketId(1),
                },
            );
        }
        assert_eq!(record.transcript.len(), TRANSCRIPT_CAP);
        assert!(matches!(
            record.transcript[0],
            Entry::Call { id: CallId(5), .. }
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
        let transcript = &record.transcript;
        assert_eq!(transcript.len(), TRANSCRIPT_CAP);
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
            transcript[TRANSCRIPT_CAP - 1],
            Entry::Call { id: CallId(n), .. } if n == TRANSCRIPT_CAP as u64 + 9
        ));
    }
}
