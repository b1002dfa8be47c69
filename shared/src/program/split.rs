//! One session as two programs, a server and its client, run side by side: the learner's other
//! choice beside one program with threads. Each socket belongs to one side (a listener and the
//! sockets it accepted, or a datagram socket that received before it sent, serve; a socket that
//! connected, or sent first, is a client; any other goes with the side active when it was
//! made), and each program makes its side's calls in the lab's order.
//!
//! Two programs keep the lab's order between them only where the kernel keeps it: a call that
//! waits for the other side (accept, recv, recvfrom) and the calls the server makes before the
//! client starts (the client is started once the server printed them). So a session splits only
//! when everything else the server does after the client began is something the client can only
//! notice by waiting for it (send, sendto, shutdown, close, or a look such as getsockname), and the
//! client, after such a call, only sends, receives, looks or closes. Otherwise [`Split`] is not
//! made, and the reason names the call that would lose its place. A port the kernel chose for the
//! server that the client uses is the client's command-line argument (the server prints it);
//! the server never needs one of the client's.

use std::collections::BTreeMap;

use super::plan::{Address, Happened, Plan, Port, Step, When, op_address};
use super::{Half, Language, Program, command, write_plan};
use crate::{CallId, Done, Op, SocketId, SocketType};

/// Which program a socket's calls go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// The session as a server and a client program, and how to run them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub server: Program,
    pub client: Program,
    pub guide: Guide,
    /// How each is built and run, as the learner types it (server, client).
    pub commands: [String; 2],
}

/// How the two programs are run together: the server first; the client once the server has
/// printed `ready_after` lines, with `arguments` from those lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guide {
    /// How many lines the server prints before the client may start.
    pub ready_after: usize,
    /// The client's arguments, in order.
    pub arguments: Vec<Argument>,
    /// Whether the server waits for Enter at its end, keeping its sockets while the client
    /// still makes calls that need them.
    pub server_waits: bool,
}

/// One command-line argument of the client: a port the kernel chose for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// Its variable in the client (`listener_port`), upper-cased in the usage line.
    pub name: String,
    /// The line of the server's output (from 0) whose address ends with this port.
    pub printed_on: usize,
}

/// What each program prints, as the lab's record says each call went (server, client).
pub type Printed = (Vec<String>, Vec<String>);

/// The two halves' plans and the guide, or why the session does not split.
struct Halves {
    server: Plan,
    client: Plan,
    guide: Guide,
}

/// The session as two programs in `language`, or why it cannot be split faithfully.
pub fn split(language: Language, happened: &[Happened<'_>]) -> Result<Split, String> {
    let halves = halves(happened)?;
    Ok(Split {
        server: write_plan(language, &halves.server),
        client: write_plan(language, &halves.client),
        guide: halves.guide,
        commands: [
            command(&halves.server, language),
            command(&halves.client, language),
        ],
    })
}

/// What the two programs print, as the lab's record says (see [`super::expected`]).
pub fn expected_split(happened: &[Happened<'_>]) -> Result<Printed, String> {
    let halves = halves(happened)?;
    Ok((
        super::plan::expected(&halves.server),
        super::plan::expected(&halves.client),
    ))
}

fn halves(happened: &[Happened<'_>]) -> Result<Halves, String> {
    let whole = Plan::new(happened);
    let sides = sides(&whole)?;
    let side_of = |socket: SocketId| sides.get(&socket).copied();
    // Each step of the whole plan with its side (a socket() by the socket it made).
    let stepped: Vec<(&Step, Side)> = whole
        .steps_and_starts()
        .filter_map(|step| step_socket(step).and_then(side_of).map(|side| (step, side)))
        .collect();
    let first_client = stepped
        .iter()
        .position(|(_, side)| *side == Side::Client)
        .ok_or("no call here is a client's")?;
    order_kept(&stepped, first_client)?;

    // The ports the client needs from the server, in the order it first uses them.
    let mut outside: Vec<(u16, String, SocketId)> = Vec::new();
    for (step, side) in &stepped {
        let Some((socket, text)) = op_address(&step.op) else {
            continue;
        };
        let Some(Address {
            port: Port::ChosenFor(owner),
            ..
        }) = whole.address(socket, text)
        else {
            continue;
        };
        match (side, side_of(owner)) {
            (Side::Server, Some(Side::Client)) => {
                return Err(format!(
                    "the server's {}() (call {}) uses the port the kernel chose for the client, which the server cannot know before the client runs",
                    step.op.syscall(),
                    step.id.0
                ));
            }
            (Side::Client, Some(Side::Server)) => {
                if let Some(port) = whole.chosen_port_of(owner)
                    && !outside.iter().any(|(p, _, _)| *p == port)
                {
                    outside.push((port, argument_name(whole.var(owner)), owner));
                }
            }
            _ => {}
        }
    }

    // The server's lines before the client's first call: the client starts after them.
    let server_lines: Vec<&Step> = stepped
        .iter()
        .filter(|(step, side)| *side == Side::Server && !matches!(step.when, When::Start(_)))
        .map(|(step, _)| *step)
        .collect();
    let ready_after = stepped[..first_client]
        .iter()
        .filter(|(step, side)| *side == Side::Server && !matches!(step.when, When::Start(_)))
        .count();
    let mut arguments = Vec::new();
    for (_, name, owner) in &outside {
        let printed_on = server_lines
            .iter()
            .position(|step| reveals_port(step, *owner))
            .filter(|at| *at < ready_after)
            .ok_or_else(|| {
                format!(
                    "the client needs the port of the server's {}, which the server learns only after the client began",
                    whole.var(*owner)
                )
            })?;
        arguments.push(Argument {
            name: name.clone(),
            printed_on,
        });
    }
    let last = |wanted: Side| {
        stepped
            .iter()
            .rposition(|(step, side)| *side == wanted && !matches!(step.when, When::Start(_)))
    };
    let server_waits = last(Side::Server) < last(Side::Client);

    // Each side's part of what happened, planned on its own: a call that waited only for the
    // other side is an ordinary blocking call there, not a thread.
    let part = |wanted: Side| -> Vec<Happened<'_>> {
        let mut calls: BTreeMap<CallId, bool> = BTreeMap::new();
        let mut made: BTreeMap<CallId, SocketId> = BTreeMap::new();
        for happening in happened {
            if let Happened::Reply {
                id,
                outcome: crate::Outcome::Ok(Done::Socket { socket, .. }),
            } = happening
            {
                made.insert(*id, *socket);
            }
        }
        for happening in happened {
            if let Happened::Call { id, op } = happening {
                let socket = op.socket().or_else(|| made.get(id).copied());
                // A call of no known socket (a socket() that failed) goes with the server.
                let side = socket.and_then(side_of).unwrap_or(Side::Server);
                calls.insert(*id, side == wanted);
            }
        }
        happened
            .iter()
            .filter(|happening| match happening {
                Happened::Call { id, .. } | Happened::Reply { id, .. } => {
                    calls.get(id).copied().unwrap_or(false)
                }
                Happened::Services(_) => true,
            })
            .copied()
            .collect()
    };
    let mut server = Plan::new(&part(Side::Server));
    server.half = Half::Server;
    server.waits_at_end = server_waits;
    let mut client = Plan::with_outside(
        &part(Side::Client),
        outside
            .iter()
            .map(|(port, name, _)| (*port, name.clone()))
            .collect(),
    );
    client.half = Half::Client;
    Ok(Halves {
        server,
        client,
        guide: Guide {
            ready_after,
            arguments,
            server_waits,
        },
    })
}

/// The socket a step is about: its socket, or the one `socket()` made.
fn step_socket(step: &Step) -> Option<SocketId> {
    match (&step.op, &step.answer) {
        (Op::Socket { .. }, Ok(Done::Socket { socket, .. })) => Some(*socket),
        (op, _) => op.socket(),
    }
}

/// Which side each socket is on (see the module's docs), or why there are not two.
fn sides(plan: &Plan) -> Result<BTreeMap<SocketId, Side>, String> {
    let mut sides = BTreeMap::new();
    let steps: Vec<&Step> = plan.steps_and_starts().collect();
    for step in &steps {
        match (&step.op, &step.answer) {
            (Op::Listen { socket, .. }, _) => {
                sides.insert(*socket, Side::Server);
            }
            (Op::Accept { .. }, Ok(Done::Accept { socket, .. })) => {
                sides.insert(*socket, Side::Server);
            }
            _ => {}
        }
    }
    for (socket, sock) in &plan.sockets {
        if sides.contains_key(socket) {
            continue;
        }
        // The first call that says what it does: receiving first serves, reaching out is a
        // client's.
        let role = steps
            .iter()
            .filter(|step| step.op.socket() == Some(*socket))
            .find_map(|step| match &step.op {
                Op::Connect { .. } => Some(Side::Client),
                Op::Send { .. } | Op::Sendto { .. } if sock.kind == SocketType::Datagram => {
                    Some(Side::Client)
                }
                Op::Recv { .. } | Op::Recvfrom { .. } if sock.kind == SocketType::Datagram => {
                    Some(Side::Server)
                }
                _ => None,
            });
        if let Some(role) = role {
            sides.insert(*socket, role);
        }
    }
    if !sides.values().any(|s| *s == Side::Server) {
        return Err("no socket here serves: nothing listens, and no datagram socket receives before it sends".into());
    }
    if !sides.values().any(|s| *s == Side::Client) {
        return Err("no socket here is a client: nothing connects, and no datagram socket sends before it receives".into());
    }
    // The others go with the side whose socket was made last before them.
    let mut current = Side::Server;
    for step in &steps {
        if let Some(socket) = step_socket(step) {
            match sides.get(&socket) {
                Some(side) => current = *side,
                None => {
                    sides.insert(socket, current);
                }
            }
        }
    }
    Ok(sides)
}

/// Whether two programs keep the lab's order (see the module's docs); the call that would lose
/// its place if not.
fn order_kept(stepped: &[(&Step, Side)], first_client: usize) -> Result<(), String> {
    let answered = |step: &Step| !matches!(step.when, When::Start(_));
    for (at, (step, side)) in stepped.iter().enumerate().skip(first_client) {
        if *side != Side::Server || !answered(step) {
            continue;
        }
        match step.op {
            // Waits for the client: the kernel keeps the order.
            Op::Accept { .. } | Op::Recv { .. } | Op::Recvfrom { .. } => {}
            Op::Send { .. }
            | Op::Sendto { .. }
            | Op::Shutdown { .. }
            | Op::Close { .. }
            | Op::Getsockname { .. }
            | Op::Getpeername { .. }
            | Op::Getsockopt { .. } => {
                if let Some((later, _)) = stepped[at + 1..].iter().find(|(later, side)| {
                    *side == Side::Client
                        && !matches!(
                            later.op,
                            Op::Send { .. }
                                | Op::Sendto { .. }
                                | Op::Recv { .. }
                                | Op::Recvfrom { .. }
                                | Op::Shutdown { .. }
                                | Op::Close { .. }
                                | Op::Getsockname { .. }
                                | Op::Getpeername { .. }
                                | Op::Getsockopt { .. }
                        )
                }) {
                    return Err(format!(
                        "the client's {}() (call {}) came after the server's {}() (call {}), and as two programs nothing would make it wait for that",
                        later.op.syscall(),
                        later.id.0,
                        step.op.syscall(),
                        step.id.0
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "the server's {}() (call {}) came after the client began, and as two programs nothing would make it wait for the client's calls before it",
                    step.op.syscall(),
                    step.id.0
                ));
            }
        }
    }
    Ok(())
}

/// Whether `step` prints an address that ends with the port the kernel chose for `socket`.
fn reveals_port(step: &Step, socket: SocketId) -> bool {
    step.op.socket() == Some(socket)
        && matches!(step.answer, Ok(Done::Bind { .. } | Done::Listen { .. }))
}

/// The client's variable for the port of the server's socket `var`: `listener_port`, or
/// `server_udp_port` (so it never meets a variable of the client's own sockets).
fn argument_name(var: &str) -> String {
    if var.starts_with("listener") {
        format!("{var}_port")
    } else {
        format!("server_{var}_port")
    }
}
