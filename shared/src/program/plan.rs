//! From what happened in a session to the steps of a program, the same for every language:
//! which calls run where (now, started on a thread because the lab's call waited while later
//! calls went on, or joined where its reply came), what each socket is called, which ports the
//! kernel chose (the program asks for 0 and reads the port back), and what each step printed
//! in the lab (`expected`), so a test can hold the program's output against the relay's record.

use std::collections::{BTreeMap, HashMap};

use crate::{
    CallId, Done, Family, FromRelay, LessonService, Op, Outcome, SocketId, SocketType, SysError,
    Transport,
};

/// One thing that happened in a session, in order: a call the page sent, the relay's reply, or
/// the relay's word on its lesson services (its `machine` message), so an address of one of
/// them is written as that service's port, not as a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened<'a> {
    Call { id: CallId, op: &'a Op },
    Reply { id: CallId, outcome: &'a Outcome },
    Services(&'a [LessonService]),
}

impl<'a> Happened<'a> {
    /// What a message from the relay says that a program needs: a reply, or the lesson
    /// services (`machine`); nothing for any other message.
    pub fn of_message(message: &'a FromRelay) -> Option<Happened<'a>> {
        match message {
            FromRelay::Reply { id, outcome } => Some(Happened::Reply { id: *id, outcome }),
            FromRelay::Machine { services, .. } => Some(Happened::Services(services)),
            _ => None,
        }
    }
}

/// A lesson service of the relay the session reached: the program names its port as a
/// constant (`ECHO_TCP_PORT`), since the relay's kernel chose it and another run of the relay
/// gets another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Service {
    /// The service's name, as the lessons say it (`echo_tcp`).
    pub(super) name: String,
    pub(super) transport: Transport,
    pub(super) ip: String,
    pub(super) port: u16,
}

impl Service {
    /// The constant the program names its port by: `ECHO_TCP_PORT`.
    pub(super) fn constant(&self) -> String {
        format!("{}_PORT", self.name.to_ascii_uppercase())
    }

    /// The comment the constant's declaration carries, the same in every language: two lines.
    pub(super) fn about(&self) -> [String; 2] {
        [
            format!(
                "The relay's {} lesson service, on the port its kernel chose:",
                self.name
            ),
            "it answers while that relay runs (started again, the relay gets another port).".into(),
        ]
    }
}

/// A socket of the program: the session's id, the variable's name, what `socket()` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sock {
    pub(super) name: String,
    pub(super) family: Family,
    pub(super) kind: SocketType,
}

/// A port in the program: the one the learner typed, or the one the kernel chose for a socket
/// of the session (the program reads it back from that socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Port {
    Typed(u16),
    ChosenFor(SocketId),
    /// The port of the relay's lesson service at this index of `Plan::services`.
    Service(usize),
    /// A port the kernel chose for a socket of the other program (the server's, in the
    /// client): the program's command-line argument at this index of `Plan::arguments`.
    Argument(usize),
}

/// An address argument: the IP as typed (`127.0.0.1`, `::1`) and its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Address {
    pub(super) ip: String,
    pub(super) v6: bool,
    pub(super) port: Port,
}

/// How a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// A blocking call, answered before the next call was made.
    Now,
    /// The lab's call waited while later calls were made: the program starts it on thread N.
    Start(usize),
    /// Where thread N's call was answered: the program waits for it and prints its result.
    Join(usize),
}

/// One call of the program, with what the kernel answered in the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Step {
    pub(super) id: CallId,
    pub(super) op: Op,
    pub(super) when: When,
    pub(super) answer: Result<Done, SysError>,
    /// The kernel chose this socket's port in this step and a later address uses it: the
    /// program keeps it (`listener_port`), so it is known even after the socket is closed.
    pub(super) keeps_port: Option<SocketId>,
}

impl Step {
    /// What the kernel chose in the lab, for the comment above the call: the address a bind to
    /// port 0 got, the local address a connect got.
    pub(super) fn kernel_chose(&self) -> Option<String> {
        match (&self.op, &self.answer) {
            (Op::Bind { address, .. }, Ok(Done::Bind { local }))
                if split(address).is_some_and(|(_, port)| port == 0) =>
            {
                Some(format!("in the lab the kernel chose {local}"))
            }
            (Op::Connect { .. }, Ok(Done::Connect { local, .. })) => {
                Some(format!("in the lab the kernel gave it {local}"))
            }
            _ => None,
        }
    }
}

/// What the program does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    Step(Step),
    /// A call the program leaves out, and why (a comment in its place).
    Left {
        id: CallId,
        op: Op,
        why: String,
    },
}

/// The plan of a program.
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    pub(super) sockets: BTreeMap<SocketId, Sock>,
    pub(super) items: Vec<Item>,
    /// The sockets whose port the kernel chose, by that port as the lab saw it. By number
    /// alone: a learner who typed it for a socket of the other protocol (lesson 5's TCP and
    /// UDP on one port) meant that number.
    chosen: HashMap<u16, SocketId>,
    /// How many threads the program starts.
    pub(super) threads: usize,
    /// The relay's lesson services, as its `machine` message named them.
    pub(super) services: Vec<Service>,
    /// Ports the kernel chose for sockets of the other program, by number: the program takes
    /// them as arguments (`Split`), in this order, each with its variable (`listener_port`).
    pub(super) outside: Vec<(u16, String)>,
    /// Which program this is: the whole session, or its server or client.
    pub(super) half: super::Half,
    /// The server waits for Enter at its end, keeping its sockets for the client.
    pub(super) waits_at_end: bool,
    /// The name the whole program is saved under (`accept-two-clients`), if not `session`.
    pub(super) name: Option<String>,
}

/// Where each chosen port was learned: (step id, socket).
type Learned = Vec<(CallId, SocketId)>;

impl Plan {
    pub(super) fn new(happened: &[Happened<'_>]) -> Plan {
        Plan::with_outside(happened, Vec::new())
    }

    /// The plan of one of two programs: `outside` are the ports the kernel chose for the other
    /// program's sockets that this one's calls use, with their variables, in argument order.
    pub(super) fn with_outside(happened: &[Happened<'_>], outside: Vec<(u16, String)>) -> Plan {
        let mut plan = Plan {
            outside,
            ..Plan::default()
        };
        // Where each call's reply is, and what it says.
        let mut replies: HashMap<CallId, (usize, &Outcome)> = HashMap::new();
        for (at, happening) in happened.iter().enumerate() {
            if let Happened::Reply { id, outcome } = happening {
                replies.entry(*id).or_insert((at, outcome));
            }
        }
        let calls_between = |from: usize, to: usize| {
            happened[from + 1..to]
                .iter()
                .any(|h| matches!(h, Happened::Call { .. }))
        };
        // Threads to join, by the position of the reply that ends them.
        let mut joins: BTreeMap<usize, Step> = BTreeMap::new();
        let mut learned = Learned::new();
        for (at, happening) in happened.iter().enumerate() {
            if let Some(step) = joins.remove(&at) {
                plan.learn(&step, &mut learned);
                plan.items.push(Item::Step(step));
            }
            let (id, op) = match happening {
                Happened::Call { id, op } => (id, *op),
                Happened::Services(services) => {
                    plan.learn_services(services);
                    continue;
                }
                Happened::Reply { .. } => continue,
            };
            // A socket the program never made: the part of the session it is written from
            // began after that socket's socket() (an exercise's part, or a transcript whose
            // oldest entries were dropped).
            if let Some(socket) = op.socket()
                && !plan.sockets.contains_key(&socket)
            {
                plan.left(
                    *id,
                    op,
                    format!(
                        "it uses s{}, a socket made before the part of the session this program is written from",
                        socket.0
                    ),
                );
                continue;
            }
            let Some(&(answered_at, outcome)) = replies.get(id) else {
                plan.items.push(Item::Left {
                    id: *id,
                    op: (*op).clone(),
                    why: "it had no answer yet when the program was written".into(),
                });
                continue;
            };
            let answer = match outcome {
                Outcome::Ok(done) => Ok(done.clone()),
                Outcome::Error(error) => Err(error.clone()),
                Outcome::Invalid { reason } => {
                    plan.left(*id, op, format!("the relay could not read it ({reason})"));
                    continue;
                }
                Outcome::Cancelled { reason } => {
                    plan.left(
                        *id,
                        op,
                        format!("it was still waiting when it ended ({reason})"),
                    );
                    continue;
                }
                Outcome::Refused { rule, reason } => {
                    plan.left(
                        *id,
                        op,
                        format!("the relay refused it ({rule}: {reason}); the kernel never saw it"),
                    );
                    continue;
                }
            };
            plan.name(op, &answer);
            if calls_between(at, answered_at) {
                plan.threads += 1;
                let thread = plan.threads;
                let start = Step {
                    id: *id,
                    op: (*op).clone(),
                    when: When::Start(thread),
                    answer: answer.clone(),
                    keeps_port: None,
                };
                plan.items.push(Item::Step(start));
                joins.insert(
                    answered_at,
                    Step {
                        id: *id,
                        op: (*op).clone(),
                        when: When::Join(thread),
                        answer,
                        keeps_port: None,
                    },
                );
            } else {
                let step = Step {
                    id: *id,
                    op: (*op).clone(),
                    when: When::Now,
                    answer,
                    keeps_port: None,
                };
                plan.learn(&step, &mut learned);
                plan.items.push(Item::Step(step));
            }
        }
        plan.keep_ports(&learned);
        plan
    }

    fn left(&mut self, id: CallId, op: &Op, why: String) {
        self.items.push(Item::Left {
            id,
            op: op.clone(),
            why,
        });
    }

    /// Names the sockets a call makes: `socket()`'s, and the one `accept()` returns.
    fn name(&mut self, op: &Op, answer: &Result<Done, SysError>) {
        match (op, answer) {
            (
                Op::Socket { .. },
                Ok(Done::Socket {
                    socket,
                    family,
                    kind,
                    ..
                }),
            ) => {
                let role = match kind {
                    SocketType::Datagram => "udp",
                    SocketType::Stream => "sock",
                };
                self.add(*socket, role, *family, *kind);
            }
            (Op::Accept { socket: listener }, Ok(Done::Accept { socket, .. })) => {
                let family = self
                    .sockets
                    .get(listener)
                    .map_or(Family::Ipv4, |s| s.family);
                self.add(*socket, "conn", family, SocketType::Stream);
            }
            (Op::Listen { socket, .. }, Ok(_)) => self.rename(*socket, "listener"),
            // Only a socket still named by its type: a listener stays one.
            (Op::Connect { socket, .. }, Ok(_)) => self.rename(*socket, "client"),
            _ => {}
        }
    }

    fn add(&mut self, id: SocketId, role: &str, family: Family, kind: SocketType) {
        let name = self.free_name(role);
        self.sockets.insert(id, Sock { name, family, kind });
    }

    /// Gives a socket named by its type a name by its role (`listener`, `client`).
    fn rename(&mut self, id: SocketId, role: &str) {
        let name = self.free_name(role);
        if let Some(sock) = self.sockets.get_mut(&id)
            && sock.name.starts_with("sock")
        {
            sock.name = name;
        }
    }

    /// `role`, or `role2`, `role3`... if taken.
    fn free_name(&self, role: &str) -> String {
        let taken = |name: &str| self.sockets.values().any(|s| s.name == name);
        if !taken(role) {
            return role.to_owned();
        }
        (2..)
            .map(|n| format!("{role}{n}"))
            .find(|name| !taken(name))
            .unwrap_or_default()
    }

    /// Remembers the ports the kernel chose in this step (a bind to port 0, a listen or connect
    /// that bound implicitly, a first sendto), so a later address with that port names it.
    fn learn(&mut self, step: &Step, learned: &mut Learned) {
        let (socket, asked, local) = match (&step.op, &step.answer) {
            (Op::Bind { socket, address }, Ok(Done::Bind { local })) => {
                (*socket, split(address).map(|(_, port)| port), local)
            }
            (Op::Listen { socket, .. }, Ok(Done::Listen { local }))
            | (Op::Connect { socket, .. }, Ok(Done::Connect { local, .. }))
            | (Op::Sendto { socket, .. }, Ok(Done::Sendto { local, .. })) => (*socket, None, local),
            _ => return,
        };
        if let Some((_, port)) = split(local)
            && asked.is_none_or(|asked| asked == 0)
            && port != 0
            && !self.chosen.contains_key(&port)
        {
            self.chosen.insert(port, socket);
            learned.push((step.id, socket));
        }
    }

    /// Marks the steps whose chosen port a later address uses (`Step::keeps_port`).
    fn keep_ports(&mut self, learned: &Learned) {
        let mut used = std::collections::BTreeSet::new();
        for item in &self.items {
            let Item::Step(step) = item else { continue };
            let Some((socket, text)) = op_address(&step.op) else {
                continue;
            };
            if let Some(Address {
                port: Port::ChosenFor(other),
                ..
            }) = self.address(socket, text)
            {
                used.insert(other);
            }
        }
        for item in &mut self.items {
            if let Item::Step(step) = item
                && !matches!(step.when, When::Start(_))
                && let Some((_, socket)) = learned.iter().find(|(id, _)| *id == step.id)
                && used.contains(socket)
            {
                step.keeps_port = Some(*socket);
            }
        }
    }

    /// An address argument of socket `socket`'s call: the learner's IP, and their port unless
    /// the kernel chose it for one of the session's sockets, or it is the port of the relay's
    /// lesson service at that IP for the socket's transport.
    pub(super) fn address(&self, socket: SocketId, text: &str) -> Option<Address> {
        let (ip, port) = split(text)?;
        let transport = match self.sockets.get(&socket).map(|s| s.kind) {
            Some(SocketType::Datagram) => Transport::Udp,
            _ => Transport::Tcp,
        };
        let service = self
            .services
            .iter()
            .position(|s| s.port == port && s.ip == ip && s.transport == transport);
        let argument = self.outside.iter().position(|(number, _)| *number == port);
        let port = match (self.chosen.get(&port), argument, service) {
            (Some(socket), _, _) => Port::ChosenFor(*socket),
            (None, Some(argument), _) => Port::Argument(argument),
            (None, None, Some(service)) => Port::Service(service),
            (None, None, None) => Port::Typed(port),
        };
        Some(Address {
            v6: ip.contains(':'),
            ip,
            port,
        })
    }

    /// A port as the program writes it: the number typed, or the variable that kept the port
    /// the kernel chose (`listener_port`).
    pub(super) fn port_text(&self, port: Port) -> String {
        match port {
            Port::Typed(port) => port.to_string(),
            Port::ChosenFor(other) => format!("{}_port", self.var(other)),
            Port::Service(at) => self
                .services
                .get(at)
                .map_or_else(|| "0".to_owned(), Service::constant),
            Port::Argument(at) => self
                .outside
                .get(at)
                .map_or_else(|| "0".to_owned(), |(_, name)| name.clone()),
        }
    }

    /// The port the kernel chose for socket `socket` in the lab (a bind to port 0, or an
    /// implicit bind), if it chose one.
    pub(super) fn chosen_port_of(&self, socket: SocketId) -> Option<u16> {
        self.chosen
            .iter()
            .find(|(_, of)| **of == socket)
            .map(|(port, _)| *port)
    }

    /// Remembers the relay's lesson services (the last word counts: a relay session names
    /// them once).
    fn learn_services(&mut self, services: &[LessonService]) {
        self.services = services
            .iter()
            .filter_map(|service| {
                let (ip, port) = split(&service.address)?;
                Some(Service {
                    name: service.name.clone(),
                    transport: service.transport,
                    ip,
                    port,
                })
            })
            .collect();
    }

    /// The lesson services whose port the program uses, in the order the relay named them:
    /// each is declared once at the top, as a constant.
    pub(super) fn services_used(&self) -> Vec<&Service> {
        let mut used = std::collections::BTreeSet::new();
        for step in self.steps_and_starts() {
            if let Some((socket, text)) = op_address(&step.op)
                && let Some(Address {
                    port: Port::Service(at),
                    ..
                }) = self.address(socket, text)
            {
                used.insert(at);
            }
        }
        used.into_iter()
            .filter_map(|at| self.services.get(at))
            .collect()
    }

    /// Every step, started ones too.
    pub(super) fn steps_and_starts(&self) -> impl Iterator<Item = &Step> {
        self.items.iter().filter_map(|item| match item {
            Item::Step(step) => Some(step),
            Item::Left { .. } => None,
        })
    }

    /// The variable of socket `id`.
    pub(super) fn var(&self, id: SocketId) -> &str {
        self.sockets.get(&id).map_or("sock", |s| s.name.as_str())
    }

    /// The errno names the program must know (those the lab got), sorted, with their numbers.
    pub(super) fn errnos(&self) -> BTreeMap<&str, i32> {
        self.steps()
            .filter_map(|step| step.answer.as_ref().err())
            .map(|error| (error.errno.as_str(), error.code))
            .collect()
    }

    /// The steps that print (a started call prints where it is joined).
    pub(super) fn steps(&self) -> impl Iterator<Item = &Step> {
        self.items.iter().filter_map(|item| match item {
            Item::Step(step) if !matches!(step.when, When::Start(_)) => Some(step),
            _ => None,
        })
    }
}

/// The socket and the address text of a bind, connect or sendto.
pub(super) fn op_address(op: &Op) -> Option<(SocketId, &str)> {
    match op {
        Op::Bind { socket, address }
        | Op::Connect { socket, address }
        | Op::Sendto {
            socket, address, ..
        } => Some((*socket, address)),
        _ => None,
    }
}

/// `127.0.0.1:80` or `[::1]:80` as (IP, port).
fn split(text: &str) -> Option<(String, u16)> {
    let address: std::net::SocketAddr = text.parse().ok()?;
    Some((address.ip().to_string(), address.port()))
}

/// What the program prints for each call, as the lab's record says it went: one line a call,
/// `name: result`, the same in every language (`bind: 127.0.0.1:41234`, `bind: EADDRINUSE`,
/// `recv: 5 bytes 68656c6c6f`). Compared with the program's output modulo port numbers.
pub(super) fn expected(plan: &Plan) -> Vec<String> {
    plan.steps().map(printed).collect()
}

fn printed(step: &Step) -> String {
    let name = step.op.syscall().to_string();
    let result = match &step.answer {
        Err(error) => error.errno.clone(),
        Ok(done) => match done {
            Done::Socket { .. } | Done::Shutdown | Done::Close => "ok".into(),
            Done::Setsockopt { option, value } | Done::Getsockopt { option, value } => {
                format!("{} = {value}", option.c_name())
            }
            Done::Bind { local } | Done::Listen { local } => local.clone(),
            Done::Accept { peer, .. } => format!("peer {peer}"),
            Done::Connect { local, .. } => format!("local {local}"),
            Done::Send { sent } => format!("{sent} bytes"),
            Done::Sendto { sent, .. } => format!("{sent} bytes"),
            Done::Recv { data } => format!("{} bytes {}", data.len(), hex(data.as_bytes())),
            Done::Recvfrom { data, from, .. } => {
                format!("{} bytes {} from {from}", data.len(), hex(data.as_bytes()))
            }
            Done::Getsockname { address } | Done::Getpeername { address } => address.clone(),
        },
    };
    format!("{name}: {result}")
}

/// The bytes as hex digits, two a byte, nothing between (as Python's `bytes.hex()`).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The option's level's C name.
pub(super) fn level_name(option: crate::SockOpt) -> &'static str {
    use crate::SockOpt;
    match option {
        SockOpt::Ipv6V6only => "IPPROTO_IPV6",
        SockOpt::TcpNodelay => "IPPROTO_TCP",
        _ => "SOL_SOCKET",
    }
}

/// A byte string literal as Python and Rust both write it (`b"..."`): printable ASCII as is,
/// quotes and backslashes escaped, the rest as `\n`, `\r`, `\t` or `\xNN`.
pub(super) fn byte_string(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}
