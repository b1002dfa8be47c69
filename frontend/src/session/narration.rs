//! How the lab tells calls, replies and events to a learner: the call as C (`bind(s1,
//! 127.0.0.1:0)`), the result in words (`→ 127.0.0.1:41234 — the kernel chose port 41234`), an
//! event, what a waiting call waits for, each call's purpose (tooltips), the next-step hint, and
//! the headline of a policy refusal ("... refused by the relay's policy (RULE): the kernel was not
//! asked"). Pure text, shared by the reducer (log, panel results) and the components.

use socketlab_shared::{Done, Event, Op, Path, SocketId, SocketState, SocketType, Syscall};

/// The call as a C programmer would write it: `bind(s1, 127.0.0.1:0)`.
pub(crate) fn call(op: &Op) -> String {
    match op {
        Op::Socket { family, kind } => format!("socket({}, {})", family.c_name(), kind.c_name()),
        Op::Setsockopt {
            socket,
            option,
            value,
        } => format!(
            "setsockopt({socket}, {}, {}, {value})",
            option.level(),
            option.c_name()
        ),
        Op::Getsockopt { socket, option } => {
            format!(
                "getsockopt({socket}, {}, {})",
                option.level(),
                option.c_name()
            )
        }
        Op::Bind { socket, address } => format!("bind({socket}, {address})"),
        Op::Listen { socket, backlog } => format!("listen({socket}, {backlog})"),
        Op::Accept { socket } => format!("accept({socket})"),
        Op::Connect { socket, address } => format!("connect({socket}, {address})"),
        Op::Send { socket, data } => format!("send({socket}, {})", bytes(data.len())),
        Op::Recv { socket, max } => format!("recv({socket}, max {max})"),
        Op::Sendto {
            socket,
            data,
            address,
        } => format!("sendto({socket}, {}, {address})", bytes(data.len())),
        Op::Recvfrom { socket, max } => format!("recvfrom({socket}, max {max})"),
        Op::Shutdown { socket, how } => format!("shutdown({socket}, {})", how.c_name()),
        Op::Close { socket } => format!("close({socket})"),
        Op::Getsockname { socket } => format!("getsockname({socket})"),
        Op::Getpeername { socket } => format!("getpeername({socket})"),
    }
}

fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// The headline of a policy refusal: plainly not the kernel's answer, so no errno.
pub(crate) fn refused(call: Syscall, rule: &str) -> String {
    format!("{call}() refused by the relay's policy ({rule}): the kernel was not asked")
}

/// The port of an address string such as `127.0.0.1:41234` or `[::1]:41234`.
pub(crate) fn port(address: &str) -> Option<&str> {
    address.rsplit_once(':').map(|(_, port)| port)
}

/// A successful reply in words, starting with an arrow: `→ 127.0.0.1:41234 — the kernel chose…`.
pub(crate) fn result(op: &Op, done: &Done) -> String {
    match done {
        Done::Socket {
            socket, fd, kind, ..
        } => format!(
            "→ {socket} (fd {fd}): a new {} socket with no address yet",
            kind.protocol().to_uppercase()
        ),
        Done::Setsockopt { option, value } => {
            format!("→ {} set; reading it back gives {value}", option.c_name())
        }
        Done::Getsockopt { option, value } => format!("→ {} = {value}", option.c_name()),
        Done::Bind { local } => {
            let asked_port_zero =
                matches!(op, Op::Bind { address, .. } if port(address) == Some("0"));
            match port(local) {
                Some(p) if asked_port_zero => {
                    format!("→ {local} — the kernel chose port {p}")
                }
                _ => format!("→ {local} — this socket now owns that address"),
            }
        }
        Done::Listen { local } => format!(
            "→ listening on {local}: the kernel now answers handshakes and queues connections for accept()"
        ),
        Done::Accept {
            socket, fd, peer, ..
        } => {
            let listener = op.socket().map(|s| s.to_string()).unwrap_or_default();
            format!(
                "→ new socket {socket} (fd {fd}) connected to {peer}; {listener} keeps listening"
            )
        }
        Done::Connect { local, peer } => match port(local) {
            Some(p) => {
                format!("→ {local} → {peer}: connected; the kernel picked port {p} for this side")
            }
            None => format!("→ {local} → {peer}: connected"),
        },
        Done::Send { sent } => format!(
            "→ {} taken into the kernel's send buffer",
            bytes(*sent as usize)
        ),
        Done::Recv { data } if data.is_empty() => {
            "→ 0 bytes: end of stream, the peer closed its side".into()
        }
        Done::Recv { data } => format!("→ {}: \"{}\"", bytes(data.len()), data.to_text()),
        Done::Sendto { sent, local } => {
            format!(
                "→ {} sent as one datagram from {local}",
                bytes(*sent as usize)
            )
        }
        Done::Recvfrom {
            data,
            from,
            truncated,
        } => {
            let cut = if *truncated {
                " (truncated: the rest of the datagram is lost)"
            } else {
                ""
            };
            format!(
                "→ {} from {from}: \"{}\"{cut}",
                bytes(data.len()),
                data.to_text()
            )
        }
        Done::Shutdown => match op {
            Op::Shutdown { how, .. } if how.c_name() == "SHUT_RD" => {
                "→ done: this side will read no more".into()
            }
            _ => "→ done: a FIN went to the peer, whose recv() will see end of stream".into(),
        },
        Done::Close => "→ closed: the descriptor is free again (a TCP connection this side closed first stays in TIME_WAIT, holding its port, for 60 s)".into(),
        Done::Getsockname { address } => format!("→ {address} (this side)"),
        Done::Getpeername { address } => format!("→ {address} (the other side)"),
    }
}

/// An event in words: a headline and what it means.
/// `kind` is the socket's type when the page knows the socket.
pub(crate) fn event(socket: SocketId, kind: Option<SocketType>, event: &Event) -> (String, String) {
    match event {
        Event::DataWaiting { queued } if kind == Some(SocketType::Datagram) => (
            format!("{socket}: a datagram of {} is waiting to be read", bytes(*queued as usize)),
            "It is in the kernel's receive queue; recvfrom() returns it at once, with its sender's address.".into(),
        ),
        Event::DataWaiting { queued } => (
            format!("{socket}: {} waiting to be read", bytes(*queued as usize)),
            "The data is in the kernel's receive queue; recv() returns it at once.".into(),
        ),
        Event::ConnectionWaiting => (
            format!("{socket}: a client connected and waits in the accept queue"),
            "The kernel finished the handshake by itself; accept() hands the connection over as a new socket.".into(),
        ),
        Event::PeerClosed => (
            format!("{socket}: the peer closed its side (a FIN arrived)"),
            "After any queued data, recv() returns 0 bytes: end of stream. This side can still send.".into(),
        ),
    }
}

/// What a call that waits in the kernel is waiting for.
pub(crate) fn waiting(call: Syscall) -> &'static str {
    match call {
        Syscall::Accept => "accept() is waiting for a client to connect",
        Syscall::Connect => "connect() is waiting for the handshake",
        Syscall::Recv => "recv() is waiting for data",
        Syscall::Recvfrom => "recvfrom() is waiting for a datagram",
        Syscall::Send | Syscall::Sendto => "waiting for room in the send buffer",
        _ => "waiting for the reply",
    }
}

/// One sentence on what a call does, for its button's tooltip and the help line.
pub(crate) fn purpose(call: Syscall) -> &'static str {
    match call {
        Syscall::Socket => "Ask the kernel for a new socket: a descriptor with no address yet.",
        Syscall::Bind => {
            "Give the socket its local address. Port 0 lets the kernel choose a free port."
        }
        Syscall::Listen => {
            "Turn a stream socket into a server: the kernel starts accepting handshakes and queues them (backlog = queue length)."
        }
        Syscall::Accept => {
            "Take one connection from the queue: returns a NEW socket for that client. Waits if none is there yet."
        }
        Syscall::Connect => {
            "Stream: do the three-way handshake with a listening socket. Datagram: just remember a default peer."
        }
        Syscall::Send => "Hand bytes to the kernel to send on the connection.",
        Syscall::Recv => {
            "Read up to max bytes that arrived. Waits if nothing is there; 0 bytes means the peer closed."
        }
        Syscall::Sendto => "Send one datagram to the address given.",
        Syscall::Recvfrom => "Read one datagram and learn who sent it. Waits if none is there.",
        Syscall::Shutdown => {
            "Close one direction: SHUT_WR sends a FIN, so the peer reads end of stream."
        }
        Syscall::Close => {
            "Give the descriptor back; a waiting call on it is cancelled. The port is free again, unless a connection this side closed first lingers in TIME_WAIT."
        }
        Syscall::Setsockopt => "Change an option of the socket.",
        Syscall::Getsockopt => "Read an option of the socket.",
        Syscall::Getsockname => "Ask which local address and port the socket has.",
        Syscall::Getpeername => "Ask which address and port the other side has.",
    }
}

/// What to try next on a socket, as a learner's hint; `None` when there is nothing obvious.
/// `waiting` is the calls still waiting on it, `accepted` how many sockets accept() made.
pub(crate) fn next_step(
    path: Path,
    kind: SocketType,
    state: SocketState,
    waiting: &[Syscall],
    accepted: usize,
) -> Option<&'static str> {
    use SocketState as S;
    if waiting.contains(&Syscall::Accept) {
        return Some(if accepted == 0 {
            "accept() is blocked until a client connects. Now, in the Client panel: socket(), then connect() to this server's address."
        } else {
            "accept() waits for the next client. Any stream socket that connect()s to this address will do."
        });
    }
    if waiting.contains(&Syscall::Recv) || waiting.contains(&Syscall::Recvfrom) {
        return Some(
            "The receive call is blocked until data arrives: send something from the other side.",
        );
    }
    Some(match (path, state) {
        (_, S::Closed) => "This socket is closed. Its row stays in the table as history.",
        (Path::Server, S::Fresh) => {
            "Next: bind() it to an address. Port 0 means: kernel, pick a free port."
        }
        (Path::Server, S::Bound) => "Next: listen(), so the kernel starts queueing connections.",
        (Path::Server, S::Listening) if accepted > 0 => {
            "The connection lives in the new socket's own panel: recv() and send() there. accept() again for another client."
        }
        (Path::Server, S::Listening) => "Next: accept(). It waits until a client connects.",
        (Path::Client, S::Fresh) => {
            "Next: connect() to the server's address (bind first is optional: the kernel picks a port)."
        }
        (Path::Client, S::Connecting) => "The handshake is in progress…",
        (Path::Datagram, S::Fresh) => {
            "Next: bind() it (127.0.0.1:0: the kernel picks the port). A sendto() before bind would make the kernel bind 0.0.0.0, every interface, so the relay refuses it."
        }
        (Path::Datagram, _) => {
            "sendto() a datagram to another UDP socket's address, recvfrom() to read one."
        }
        (_, S::Connected) if kind == SocketType::Stream => {
            "Connected: send() bytes, recv() what the other side sent, close() when done."
        }
        (_, S::PeerClosed) => {
            "The peer closed its side: recv() returns what is left, then 0 bytes. close() when done."
        }
        _ => return None,
    })
}
